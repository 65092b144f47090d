//! Which recurring snapshots have outlived their retention (rke-tools `DeleteS3Backups`).

use std::time::Duration;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The creation time in a recurring snapshot's name `<RFC3339>_etcd` or `<RFC3339>_etcd.zip`,
/// or `None` for any other name (a one-off snapshot).
pub fn is_recurring(name: &str) -> Option<OffsetDateTime> {
    let stem = name.strip_suffix(".zip").unwrap_or(name);
    let stamp = stem.strip_suffix("_etcd")?;
    OffsetDateTime::parse(stamp, &Rfc3339).ok()
}

/// Names of recurring snapshots older than `retention` at `now`, in input order.
///
/// `objects` pairs each name with its last-modified time. Like rke-tools, the age of a recurring
/// snapshot is the time in its name; unlike rke-tools, an object modified within the retention
/// window is kept too, so a snapshot copied back into place (e.g. to restore from it) is not
/// deleted at the next tick. One-off snapshots (any other name) are never selected.
pub fn expired(
    objects: &[(String, OffsetDateTime)],
    now: OffsetDateTime,
    retention: Duration,
) -> Vec<String> {
    let cutoff = now - retention;
    objects
        .iter()
        .filter(|(name, modified)| {
            is_recurring(name).is_some_and(|created| created < cutoff && *modified < cutoff)
        })
        .map(|(name, _)| name.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> OffsetDateTime {
        OffsetDateTime::parse(s, &Rfc3339).unwrap()
    }

    const HOUR: Duration = Duration::from_secs(3600);

    #[test]
    fn recognises_rke_tools_names() {
        assert_eq!(
            is_recurring("2018-05-04T18:40:16Z_etcd"),
            Some(t("2018-05-04T18:40:16Z"))
        );
        assert_eq!(
            is_recurring("2018-05-04T20:40:16+02:00_etcd.zip"),
            Some(t("2018-05-04T18:40:16Z"))
        );
        for one_off in [
            "rke_etcd_snapshot_2018-05-04T18:40:16Z.zip",
            "mysnap_etcd.zip",
            "2018-05-04T18-40-16Z_etcd.zip",
            "2018-05-04T18:40:16Z_etcd.tar",
            "2018-05-04T18:40:16Z",
        ] {
            assert_eq!(is_recurring(one_off), None, "{one_off}");
        }
    }

    #[test]
    fn selects_only_old_recurring_snapshots() {
        let now = t("2024-01-10T12:00:00Z");
        let at = |s: &str| (s.to_string(), is_recurring(s).unwrap_or(now - 1000 * HOUR));
        let objects = vec![
            at("2024-01-10T00:00:00Z_etcd.zip"), // 12 h old: kept
            at("2024-01-06T11:00:00Z_etcd.zip"), // 97 h old: expired
            at("2024-01-07T12:00:00Z_etcd"),     // exactly 72 h: kept (not before the cutoff)
            at("2024-01-01T00:00:00Z_etcd"),     // old, no .zip: expired
            at("rke_etcd_snapshot_2024-01-01T00:00:00Z.zip"), // one-off: kept
            at("nightly_etcd.zip"),              // matches *_etcd but no time: kept
        ];
        assert_eq!(
            expired(&objects, now, 72 * HOUR),
            vec!["2024-01-06T11:00:00Z_etcd.zip", "2024-01-01T00:00:00Z_etcd"]
        );
    }

    #[test]
    fn recently_modified_copies_are_kept() {
        let now = t("2024-01-10T12:00:00Z");
        let objects = vec![("2024-01-01T00:00:00Z_etcd.zip".to_string(), now - HOUR)];
        assert!(expired(&objects, now, 72 * HOUR).is_empty());
    }
}
