//! The event model shared by every output mode: what happened, where (command, phase, node,
//! step), its status and how long it took. One [`Event`] renders as one JSON line.

use serde::Serialize;

/// Lifecycle of a phase or step; `info` for an ordinary log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Started,
    Done,
    Failed,
    Skipped,
    Info,
}

impl Status {
    /// The status a tracing field `status = "..."` names; anything else is a plain log line.
    pub fn parse(s: &str) -> Status {
        match s {
            "started" => Status::Started,
            "done" => Status::Done,
            "failed" => Status::Failed,
            "skipped" => Status::Skipped,
            _ => Status::Info,
        }
    }
}

/// One event. Fields a tracing event did not carry are `null`, so every line has the same keys.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    /// Always `"event"` (the closing line has `"result"`).
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// RFC 3339, UTC.
    pub ts: String,
    /// `error`, `warn`, `info`, `debug` or `trace`.
    pub level: &'static str,
    pub command: Option<String>,
    pub phase: Option<String>,
    pub node: Option<String>,
    pub step: Option<String>,
    pub status: Status,
    pub duration_ms: Option<u64>,
    pub message: String,
    /// On a phase's `started` event: how many nodes take part.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nodes: Option<u64>,
}

impl Event {
    /// An event stamped now, with nothing but a level and a message.
    pub fn now(level: &'static str, message: impl Into<String>) -> Event {
        Event {
            kind: "event",
            ts: rfc3339_now(),
            level,
            command: None,
            phase: None,
            node: None,
            step: None,
            status: Status::Info,
            duration_ms: None,
            message: message.into(),
            nodes: None,
        }
    }

    /// The event as one line of JSON (no newline).
    pub fn to_json_line(&self) -> String {
        // Serializing plain strings and numbers cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// The current time as RFC 3339 with millisecond precision, UTC.
pub fn rfc3339_now() -> String {
    let now = time::OffsetDateTime::now_utc();
    let now = now
        .replace_nanosecond(now.millisecond() as u32 * 1_000_000)
        .unwrap_or(now);
    now.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// tracing's level as the event's `level` string.
pub fn level_str(level: &tracing::Level) -> &'static str {
    match *level {
        tracing::Level::ERROR => "error",
        tracing::Level::WARN => "warn",
        tracing::Level::INFO => "info",
        tracing::Level::DEBUG => "debug",
        tracing::Level::TRACE => "trace",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_line_has_every_key_and_parses() {
        let mut e = Event::now("info", "pulled 3 images");
        e.command = Some("up".into());
        e.phase = Some("prepare".into());
        e.node = Some("node1".into());
        e.step = Some("images".into());
        e.status = Status::Done;
        e.duration_ms = Some(1234);
        let v: serde_json::Value = serde_json::from_str(&e.to_json_line()).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "type",
                "ts",
                "level",
                "command",
                "phase",
                "node",
                "step",
                "status",
                "duration_ms",
                "message"
            ]
        );
        assert_eq!(v["type"], "event");
        assert_eq!(v["status"], "done");
        assert_eq!(v["duration_ms"], 1234);
        assert_eq!(v["node"], "node1");
        assert!(!e.to_json_line().contains('\n'));
    }

    #[test]
    fn timestamps_are_rfc3339_utc() {
        let ts = rfc3339_now();
        assert!(
            time::OffsetDateTime::parse(&ts, &time::format_description::well_known::Rfc3339)
                .is_ok(),
            "{ts}"
        );
        assert!(ts.ends_with('Z'), "{ts}");
    }

    #[test]
    fn unknown_status_is_info() {
        assert_eq!(Status::parse("done"), Status::Done);
        assert_eq!(Status::parse("whatever"), Status::Info);
    }
}
