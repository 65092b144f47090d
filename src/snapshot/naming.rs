//! Snapshot names as RKE1 makes them, the checks a user-given name must pass, and which local
//! recurring snapshots retention removes.
//!
//! RKE1 facts (rancher/rke `cmd/etcd.go`, rancher/rke-tools `main.go`):
//! - one-off default: `rke_etcd_snapshot_` + Go's `time.Now().Format(time.RFC3339)`, i.e.
//!   `2006-01-02T15:04:05Z07:00`: whole seconds, `Z` for UTC, otherwise `+hh:mm`;
//! - recurring: `<RFC3339>_etcd` (e.g. `2018-05-04T18:40:16Z_etcd`), stored as `<name>.zip`;
//! - rke-tools' retention parses the part of a file name before the first `_` as RFC3339 and
//!   deletes files whose time is before `now - retention`.

use std::time::Duration;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::{ErrorKind, classified};

/// Where every etcd node keeps snapshots, whatever `prefix_path` says (RKE1 binds it to the
/// rke-tools container's `/backup`).
pub const LOCAL_SNAPSHOT_DIR: &str = "/opt/rke/etcd-snapshots";

/// The archive extension rke-tools adds (`compressedExtension`).
pub const ARCHIVE_EXTENSION: &str = "zip";

const ONE_OFF_PREFIX: &str = "rke_etcd_snapshot_";
const RECURRING_SUFFIX: &str = "_etcd";

/// Go's `time.RFC3339` layout for `at`: whole seconds, `Z` for UTC, `+hh:mm` otherwise.
pub fn go_rfc3339(at: OffsetDateTime) -> String {
    let at = at.replace_nanosecond(0).unwrap_or(at);
    // Whole-second times with a valid offset always format; fall back to the Unix time anyway.
    at.format(&Rfc3339)
        .unwrap_or_else(|_| at.unix_timestamp().to_string())
}

/// The name `rke etcd snapshot-save` uses without `--name`: `rke_etcd_snapshot_<RFC3339>`.
pub fn one_off_name(at: OffsetDateTime) -> String {
    format!("{ONE_OFF_PREFIX}{}", go_rfc3339(at))
}

/// The name of a recurring snapshot taken at `at`: `<RFC3339>_etcd`.
pub fn recurring_name(at: OffsetDateTime) -> String {
    format!("{}{RECURRING_SUFFIX}", go_rfc3339(at))
}

/// `<name>.zip`: the file holding snapshot `name` in [`LOCAL_SNAPSHOT_DIR`] (and on S3).
pub fn archive_file_name(name: &str) -> String {
    format!("{name}.{ARCHIVE_EXTENSION}")
}

/// A snapshot name that passed [`check_name`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedName {
    /// The name to use, without `.zip`.
    pub name: String,
    /// Set when the input needed fixing (a `.zip` suffix was removed); print it.
    pub warning: Option<String>,
}

/// Check a user-given snapshot name (`--name`). The name becomes a file name on every etcd
/// node and an S3 object key, so it must be one plain path component. A trailing `.zip` is
/// removed with a warning: RKE1 wants the name without it (rke#2408).
pub fn check_name(input: &str) -> anyhow::Result<CheckedName> {
    let fail = |why: &str| {
        classified(
            ErrorKind::Config,
            format!("invalid snapshot name {input:?}: {why}"),
        )
    };
    let suffix = format!(".{ARCHIVE_EXTENSION}");
    let (name, warning) = match input.strip_suffix(&suffix) {
        Some(stem) => (
            stem,
            Some(format!(
                "snapshot name {input:?} ends with {suffix}; using {stem:?} (give the name \
                 without the extension)"
            )),
        ),
        None => (input, None),
    };
    if name.is_empty() {
        return Err(fail("the name is empty"));
    }
    if name.contains('/') || name.contains('\\') {
        return Err(fail("it must not contain a path separator"));
    }
    if name.contains("..") {
        return Err(fail("it must not contain \"..\""));
    }
    if name.starts_with('.') || name.starts_with('-') {
        return Err(fail("it must not start with '.' or '-'"));
    }
    if name.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(fail("it must not contain whitespace or control characters"));
    }
    Ok(CheckedName {
        name: name.to_string(),
        warning,
    })
}

/// The time of a recurring snapshot from its name or file name (`<RFC3339>_etcd` or
/// `<RFC3339>_etcd.zip`); `None` for any other name, e.g. one-off `rke_etcd_snapshot_...`.
pub fn recurring_time(file_name: &str) -> Option<OffsetDateTime> {
    let stem = file_name
        .strip_suffix(&format!(".{ARCHIVE_EXTENSION}"))
        .unwrap_or(file_name);
    let stamp = stem.strip_suffix(RECURRING_SUFFIX)?;
    // rke-tools parses what comes before the first '_'; a stamp holding '_' is not one of its.
    if stamp.contains('_') {
        return None;
    }
    OffsetDateTime::parse(stamp, &Rfc3339).ok()
}

/// Which of `file_names` (entries of [`LOCAL_SNAPSHOT_DIR`]) retention removes at `now`:
/// recurring snapshots taken before `now - retention`, as rke-tools' `DeleteBackups` does.
/// Unlike rke-tools, a file must also end in `_etcd` or `_etcd.zip`, so files someone placed
/// there under a time-stamped name of their own are kept.
pub fn expired_recurring<'a, I>(
    file_names: I,
    now: OffsetDateTime,
    retention: Duration,
) -> Vec<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let cutoff = now - retention;
    file_names
        .into_iter()
        .filter(|name| recurring_time(name).is_some_and(|at| at < cutoff))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(text: &str) -> OffsetDateTime {
        OffsetDateTime::parse(text, &Rfc3339).unwrap()
    }

    #[test]
    fn names_use_go_rfc3339() {
        let utc = t("2018-05-04T18:40:16.123456Z");
        assert_eq!(recurring_name(utc), "2018-05-04T18:40:16Z_etcd");
        assert_eq!(one_off_name(utc), "rke_etcd_snapshot_2018-05-04T18:40:16Z");
        let east = t("2024-01-02T03:04:05+02:00");
        assert_eq!(
            one_off_name(east),
            "rke_etcd_snapshot_2024-01-02T03:04:05+02:00"
        );
        assert_eq!(archive_file_name("x"), "x.zip");
    }

    #[test]
    fn check_name_strips_zip_with_warning() {
        let checked = check_name("before-upgrade.zip").unwrap();
        assert_eq!(checked.name, "before-upgrade");
        assert!(checked.warning.unwrap().contains("without the extension"));
        let plain = check_name("2018-05-04T18:40:16Z_etcd").unwrap();
        assert_eq!(plain.name, "2018-05-04T18:40:16Z_etcd");
        assert_eq!(plain.warning, None);
    }

    #[test]
    fn check_name_rejects_paths_and_odd_names() {
        for bad in [
            "", ".zip", "a/b", "../x", "a..b", "..", ".hidden", "-rf", "a b", "a\nb", "a\\b",
        ] {
            let err = check_name(bad).unwrap_err().to_string();
            assert!(err.contains("invalid snapshot name"), "{bad:?}: {err}");
        }
    }

    #[test]
    fn recurring_time_parses_only_recurring_names() {
        assert_eq!(
            recurring_time("2018-05-04T18:40:16Z_etcd.zip"),
            Some(t("2018-05-04T18:40:16Z"))
        );
        assert_eq!(
            recurring_time("2018-05-04T20:40:16+02:00_etcd"),
            Some(t("2018-05-04T18:40:16Z"))
        );
        assert_eq!(
            recurring_time("rke_etcd_snapshot_2018-05-04T18:40:16Z"),
            None
        );
        assert_eq!(recurring_time("2018-05-04T18:40:16Z_mine"), None);
        assert_eq!(recurring_time("garbage_etcd.zip"), None);
    }

    #[test]
    fn retention_selects_old_recurring_snapshots_only() {
        let now = t("2024-03-10T12:00:00Z");
        let files = [
            "2024-03-07T11:59:59Z_etcd.zip", // older than 72h: expired
            "2024-03-07T12:00:00Z_etcd.zip", // exactly at the cutoff: kept (not before it)
            "2024-03-10T00:00:00Z_etcd.zip",
            "2020-01-01T00:00:00Z_etcd", // uncompressed leftover: expired
            "rke_etcd_snapshot_2020-01-01T00:00:00Z.zip", // one-off: never by retention
            "2020-01-01T00:00:00Z_mine.zip",
        ];
        let expired = expired_recurring(files, now, Duration::from_secs(72 * 3600));
        assert_eq!(
            expired,
            vec!["2024-03-07T11:59:59Z_etcd.zip", "2020-01-01T00:00:00Z_etcd"]
        );
    }
}
