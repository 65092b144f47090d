//! The agent's loop: a round every `creation`, like rke-tools' ticker (the first one period
//! after start), except that a node whose newest recurring snapshot is already older than
//! `creation` (or has none) gets one at once, so a container restarted more often than
//! `creation` still takes snapshots. A failed round is retried sooner. SIGTERM or SIGINT ends
//! the loop at once, even mid-round.

use std::path::Path;
use std::time::Duration;

use time::OffsetDateTime;
use tokio::signal::unix::{SignalKind, signal};
use tokio::time::Instant;

use super::cycle::{newest_recurring, round, stamp};
use super::settings::AgentSettings;
use crate::error::{ErrorKind, classified};

/// How soon a failed round is tried again (at most `creation`).
const RETRY_AFTER: Duration = Duration::from_secs(60);

/// Run until terminated. Fails only when the settings cannot be read (the container then
/// restarts, and `rke up` warns about it).
pub async fn run(settings_path: &Path) -> anyhow::Result<()> {
    let settings = AgentSettings::load(settings_path)?;
    let mut term = signal(SignalKind::terminate()).map_err(signal_error)?;
    let mut int = signal(SignalKind::interrupt()).map_err(signal_error)?;
    remove_leftovers(Path::new(&settings.backup_dir));
    log(&format!(
        "snapshot agent on {} started: every {} s, kept {} s, to {}{}",
        settings.node,
        settings.creation_secs,
        settings.retention_secs,
        settings.backup_dir,
        settings
            .s3
            .as_ref()
            .map(|s| format!(" and S3 bucket {} at {}", s.bucket, s.endpoint))
            .unwrap_or_default()
    ));
    let creation = settings.creation();
    let newest = newest_recurring(Path::new(&settings.backup_dir));
    let now = OffsetDateTime::now_utc();
    let wait = first_round(newest, now, creation).unwrap_or(Duration::ZERO);
    // Said in the log so an operator (and the takeover test) can see the schedule continue
    // from the newest recurring snapshot, RKE1's included.
    log(&format!(
        "first snapshot at {} (newest recurring snapshot: {})",
        crate::snapshot::naming::go_rfc3339(now + wait),
        newest.map_or_else(|| "none".to_string(), crate::snapshot::naming::go_rfc3339)
    ));
    let mut next = Instant::now() + wait;
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(next) => {}
            _ = term.recv() => break,
            _ = int.recv() => break,
        }
        let done = tokio::select! {
            r = round(&settings, OffsetDateTime::now_utc()) => r,
            _ = term.recv() => break,
            _ = int.recv() => break,
        };
        for line in &done.lines {
            log(line);
        }
        next = next_round(next, Instant::now(), creation, done.ok);
    }
    log("snapshot agent stopped");
    Ok(())
}

/// How long to wait before the first round: `None` for at once (no recurring snapshot yet, or
/// the newest is at least `creation` old), otherwise until one period after the newest, so the
/// schedule goes on across restarts and from RKE1's `etcd-rolling-snapshots` without a gap. A
/// newest snapshot dated in the future (clock skew) waits one full period.
pub fn first_round(
    newest: Option<OffsetDateTime>,
    now: OffsetDateTime,
    creation: Duration,
) -> Option<Duration> {
    let age = Duration::try_from(now - newest?).unwrap_or(Duration::ZERO);
    creation.checked_sub(age).filter(|wait| !wait.is_zero())
}

/// When the round after one scheduled at `scheduled` runs: one period later without drift
/// (never in the past), or [`RETRY_AFTER`] after a failure.
pub fn next_round(scheduled: Instant, now: Instant, creation: Duration, ok: bool) -> Instant {
    if ok {
        (scheduled + creation).max(now)
    } else {
        now + creation.min(RETRY_AFTER)
    }
}

/// Partial files of a round that was cut short (hidden `.<name>.db` and `.part` files).
fn remove_leftovers(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(|e| e.ok()) {
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if name.starts_with('.') && (name.ends_with(".db") || name.ends_with(".part")) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

fn log(line: &str) {
    println!("{} {line}", stamp());
}

fn signal_error(e: std::io::Error) -> anyhow::Error {
    classified(
        ErrorKind::General,
        format!("snapshot agent: cannot handle signals: {e}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::format_description::well_known::Rfc3339;

    fn t(s: &str) -> OffsetDateTime {
        OffsetDateTime::parse(s, &Rfc3339).unwrap()
    }

    const H12: Duration = Duration::from_secs(12 * 3600);

    #[test]
    fn first_round_at_once_unless_a_recent_snapshot_exists() {
        let now = t("2024-03-10T12:00:00Z");
        assert_eq!(first_round(None, now, H12), None);
        assert_eq!(first_round(Some(t("2024-03-09T23:00:00Z")), now, H12), None);
        // Taken 11 h ago: the next is due in 1 h, one period after it.
        assert_eq!(
            first_round(Some(t("2024-03-10T01:00:00Z")), now, H12),
            Some(Duration::from_secs(3600))
        );
        assert_eq!(first_round(Some(t("2024-03-10T00:00:00Z")), now, H12), None);
        assert_eq!(
            first_round(Some(t("2024-03-10T13:00:00Z")), now, H12),
            Some(H12),
            "a snapshot from the future (clock skew) waits one period"
        );
    }

    #[test]
    fn rounds_keep_their_period_and_failures_retry_sooner() {
        let start = Instant::now();
        let creation = Duration::from_secs(600);
        let took = start + Duration::from_secs(5);
        assert_eq!(next_round(start, took, creation, true), start + creation);
        // A round that overran its period: the next one starts at once, not in the past.
        let late = start + Duration::from_secs(700);
        assert_eq!(next_round(start, late, creation, true), late);
        assert_eq!(next_round(start, took, creation, false), took + RETRY_AFTER);
        let short = Duration::from_secs(10);
        assert_eq!(next_round(start, took, short, false), took + short);
    }

    #[test]
    fn leftovers_of_cut_rounds_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        for f in [".a_etcd.db", "..a_etcd.db.part", "a_etcd.zip", ".keep"] {
            std::fs::write(dir.path().join(f), b"x").unwrap();
        }
        remove_leftovers(dir.path());
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(left, [".keep", "a_etcd.zip"]);
    }
}
