//! The lock record and the rules read from it (pure): what a lock file on a node says, how a
//! node's answer to a lock attempt is read, and when a lock has expired.

use std::fmt;
use std::time::Duration;

/// How often the holder refreshes its lock files (their modification time).
pub const HEARTBEAT: Duration = Duration::from_secs(5);
/// A lock not refreshed for this long belongs to a run that died: it may be taken over.
pub const STALE_AFTER: Duration = Duration::from_secs(30);

const MAGIC: &str = "rke-cluster-lock v1";

/// Who holds a lock: written into the lock file on every locked node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockRecord {
    /// Unique per run (host, pid and start time), so a holder only ever refreshes or removes
    /// its own lock.
    pub id: String,
    pub host: String,
    pub pid: u32,
    /// The command line's verb, e.g. `rke up`.
    pub command: String,
    /// When the holder took the lock, RFC 3339 UTC.
    pub since: String,
}

impl LockRecord {
    /// The file's contents: one `key=value` per line after a header line.
    pub fn to_text(&self) -> String {
        format!(
            "{MAGIC}\nid={}\nhost={}\npid={}\ncommand={}\nsince={}\n",
            one_line(&self.id),
            one_line(&self.host),
            self.pid,
            one_line(&self.command),
            one_line(&self.since)
        )
    }

    /// Read a lock file; `None` when it is not one rke wrote (then it is shown as it is).
    pub fn parse(text: &str) -> Option<LockRecord> {
        let mut lines = text.lines();
        if lines.next()?.trim() != MAGIC {
            return None;
        }
        let mut record = LockRecord {
            id: String::new(),
            host: String::new(),
            pid: 0,
            command: String::new(),
            since: String::new(),
        };
        for line in lines {
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            match key {
                "id" => record.id = value.to_string(),
                "host" => record.host = value.to_string(),
                "pid" => record.pid = value.parse().ok()?,
                "command" => record.command = value.to_string(),
                "since" => record.since = value.to_string(),
                _ => {}
            }
        }
        (!record.id.is_empty()).then_some(record)
    }

    /// The line a holder refreshes and removes its lock by (`grep -x`).
    pub fn id_line(&self) -> String {
        format!("id={}", one_line(&self.id))
    }
}

impl fmt::Display for LockRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` (pid {} on host {}, since {})",
            self.command, self.pid, self.host, self.since
        )
    }
}

/// A newline would let a value forge another key.
fn one_line(value: &str) -> String {
    value.replace(['\n', '\r'], " ")
}

/// What a node answered to an attempt to create its lock file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// The lock file is ours now.
    Acquired,
    /// The file disappeared between the attempt and reading it: try again.
    Vanished,
    /// Someone else's lock file, `age` since it was last refreshed (node clock).
    Held { age: Duration, text: String },
}

/// Read the answer of the attempt script (see `remote::attempt_script`): `acquired`, or
/// `held`, the node's time, the file's modification time (or `gone`) and the file's text.
pub fn parse_attempt(stdout: &str) -> Result<Attempt, String> {
    let mut lines = stdout.splitn(4, '\n');
    match lines.next().map(str::trim) {
        Some("acquired") => Ok(Attempt::Acquired),
        Some("held") => {
            let now = lines.next().map(str::trim).unwrap_or_default();
            let mtime = lines.next().map(str::trim).unwrap_or_default();
            if mtime == "gone" {
                return Ok(Attempt::Vanished);
            }
            let number = |s: &str| {
                s.parse::<i64>()
                    .map_err(|_| format!("unexpected answer {stdout:?}"))
            };
            let age = (number(now)? - number(mtime)?).max(0);
            Ok(Attempt::Held {
                age: Duration::from_secs(age.unsigned_abs()),
                text: lines.next().unwrap_or_default().to_string(),
            })
        }
        _ => Err(format!("unexpected answer {stdout:?}")),
    }
}

/// Whether a lock last refreshed `age` ago belongs to a run that is gone.
pub fn is_stale(age: Duration, stale_after: Duration) -> bool {
    age > stale_after
}

/// How a held lock is named in the refusal: its record, or the raw text of a file rke did not
/// write in this format.
pub fn describe_holder(text: &str, age: Duration) -> String {
    let who = match LockRecord::parse(text) {
        Some(record) => record.to_string(),
        None => format!("an unknown holder ({:?})", text.trim()),
    };
    format!("{who}, last refreshed {} s ago", age.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> LockRecord {
        LockRecord {
            id: "ci-7-4242-1765000000123".into(),
            host: "ci-7".into(),
            pid: 4242,
            command: "rke up".into(),
            since: "2026-12-06T21:50:03Z".into(),
        }
    }

    #[test]
    fn a_record_round_trips_and_names_the_holder() {
        let r = record();
        let text = r.to_text();
        assert!(text.starts_with("rke-cluster-lock v1\n"), "{text}");
        assert_eq!(LockRecord::parse(&text), Some(r.clone()));
        assert_eq!(
            r.to_string(),
            "`rke up` (pid 4242 on host ci-7, since 2026-12-06T21:50:03Z)"
        );
        assert_eq!(r.id_line(), "id=ci-7-4242-1765000000123");
    }

    #[test]
    fn a_value_cannot_forge_another_key() {
        let mut r = record();
        r.host = "evil\nid=someone-else".into();
        let parsed = LockRecord::parse(&r.to_text()).unwrap();
        assert_eq!(parsed.id, r.id);
        assert_eq!(parsed.host, "evil id=someone-else");
    }

    #[test]
    fn foreign_files_are_not_records() {
        assert_eq!(LockRecord::parse("hello\n"), None);
        assert_eq!(LockRecord::parse(""), None);
        assert_eq!(LockRecord::parse("rke-cluster-lock v1\nhost=x\n"), None);
        let shown = describe_holder("hello\n", Duration::from_secs(3));
        assert_eq!(
            shown,
            "an unknown holder (\"hello\"), last refreshed 3 s ago"
        );
    }

    #[test]
    fn attempts_are_read_from_the_node_answer() {
        assert_eq!(parse_attempt("acquired\n"), Ok(Attempt::Acquired));
        assert_eq!(parse_attempt("held\n100\ngone\n"), Ok(Attempt::Vanished));
        let text = record().to_text();
        let answer = format!("held\n1765000040\n1765000030\n{text}");
        assert_eq!(
            parse_attempt(&answer),
            Ok(Attempt::Held {
                age: Duration::from_secs(10),
                text: text.clone()
            })
        );
        // A file from the node's future (clock set back) counts as fresh, not as negative.
        let answer = format!("held\n100\n160\n{text}");
        assert!(matches!(
            parse_attempt(&answer),
            Ok(Attempt::Held { age, .. }) if age == Duration::ZERO
        ));
        assert!(parse_attempt("").is_err());
        assert!(parse_attempt("held\nnot-a-number\n5\n").is_err());
    }

    #[test]
    fn a_lock_is_stale_only_after_the_limit() {
        assert!(!is_stale(Duration::from_secs(30), STALE_AFTER));
        assert!(is_stale(Duration::from_secs(31), STALE_AFTER));
        assert!(!is_stale(Duration::ZERO, STALE_AFTER));
        // The heartbeat refreshes well within the limit, even with a late tick or two.
        assert!(HEARTBEAT * 3 < STALE_AFTER);
    }
}
