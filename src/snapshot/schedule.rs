//! When recurring etcd snapshots are taken and kept, read from `services.etcd`. `rke up` uses
//! it to decide whether the snapshot agent runs (`up::snapshot_agent`) and to plan the agent's
//! settings (`provision::spec`); the agent itself reads only those settings
//! ([`super::agent`]), so the schedule lives here, beside both users.

use std::time::Duration;

use crate::config::EtcdService;
use crate::config::defaults::DEFAULT_BACKUP_TIMEOUT;
use crate::config::duration::parse_period;
use crate::error::{ErrorKind, classified};
use crate::snapshot::s3::S3Settings;

/// When recurring snapshots are taken and kept, as `services.etcd` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// Time between snapshots (`creation`, or `interval_hours`).
    pub creation: Duration,
    /// Age after which a recurring snapshot is deleted (`retention`, or `retention` ×
    /// `interval_hours`).
    pub retention: Duration,
    /// Longest one snapshot (save, package, upload) may take.
    pub timeout: Duration,
    pub s3: Option<S3Settings>,
}

/// The recurring snapshot schedule of a defaulted `services.etcd`, `None` when recurring
/// snapshots are off (`snapshot: false`, `backup_config.enabled: false`, or external etcd).
///
/// RKE1 (`services/etcd.go` `RunEtcdSnapshotSave`, `configS3BackupImgCmd`): without
/// `backup_config` the container gets `--creation=<creation> --retention=<retention>`; with it,
/// `--creation=<interval_hours>h --retention=<retention × interval_hours>h` and the S3 flags.
pub fn schedule(etcd: &EtcdService) -> anyhow::Result<Option<Schedule>> {
    if etcd.snapshot != Some(true) || !etcd.external_urls.is_empty() {
        return Ok(None);
    }
    let field = |key: &str, value: &str| {
        parse_period(value).map_err(|why| {
            classified(
                ErrorKind::Config,
                format!("cluster.yml: services.etcd.{key}: {why}"),
            )
        })
    };
    let schedule = match &etcd.backup_config {
        Some(backup) if backup.enabled == Some(false) => return Ok(None),
        Some(backup) => {
            let hours = |n: i64, key: &str| {
                u64::try_from(n)
                    .ok()
                    .and_then(|n| n.checked_mul(3600))
                    .map(Duration::from_secs)
                    .ok_or_else(|| {
                        classified(
                            ErrorKind::Config,
                            format!(
                                "cluster.yml: services.etcd.backup_config.{key}: {n} must not be \
                                 negative"
                            ),
                        )
                    })
            };
            let interval = hours(backup.interval_hours, "interval_hours")?;
            let retention = hours(
                backup.retention.saturating_mul(backup.interval_hours),
                "retention",
            )?;
            let timeout = if backup.timeout > 0 {
                backup.timeout
            } else {
                DEFAULT_BACKUP_TIMEOUT
            };
            Schedule {
                creation: interval,
                retention,
                timeout: Duration::from_secs(timeout.unsigned_abs()),
                s3: backup
                    .s3_backup_config
                    .as_ref()
                    .map(S3Settings::from_config),
            }
        }
        None => Schedule {
            creation: field("creation", &etcd.creation)?,
            retention: field("retention", &etcd.retention)?,
            timeout: Duration::from_secs(DEFAULT_BACKUP_TIMEOUT.unsigned_abs()),
            s3: None,
        },
    };
    if schedule.creation.is_zero() {
        return Err(classified(
            ErrorKind::Config,
            "cluster.yml: services.etcd: the recurring snapshot interval (creation or \
             backup_config.interval_hours) must be longer than zero",
        ));
    }
    if let Some(s3) = &schedule.s3 {
        s3.validate("cluster.yml: services.etcd.backup_config.s3backupconfig")?;
    }
    Ok(Some(schedule))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::{BackupConfig, S3BackupConfig};
    use crate::error::kind_of;

    const HOUR: Duration = Duration::from_secs(3600);

    /// `services.etcd` with RKE1's defaults applied, from YAML.
    fn etcd(yaml: &str) -> EtcdService {
        let text = format!(
            "nodes:\n  - address: 10.0.0.1\n    user: rke\n    role: [etcd, controlplane, \
             worker]\n{yaml}"
        );
        let loaded =
            crate::config::load::load_str(&text, Path::new("cluster.yml")).expect("parses");
        loaded.config.services.etcd
    }

    #[test]
    fn rke1_defaults_are_12h_and_72h_without_s3() {
        let s = schedule(&etcd("")).unwrap().unwrap();
        assert_eq!(s.creation, 12 * HOUR);
        assert_eq!(s.retention, 72 * HOUR);
        assert_eq!(s.timeout, Duration::from_secs(300));
        assert_eq!(s.s3, None);
    }

    #[test]
    fn creation_and_retention_are_go_durations() {
        let s = schedule(&etcd(
            "services:\n  etcd:\n    creation: 10s\n    retention: 1h30m\n",
        ))
        .unwrap()
        .unwrap();
        assert_eq!(s.creation, Duration::from_secs(10));
        assert_eq!(s.retention, Duration::from_secs(5400));
    }

    /// The inputs the two old parsers disagreed on read the same here as in validation
    /// (`config::validate` tests `snapshot_periods_are_go_durations`): every micro spelling is a
    /// duration, and `0` is one too but no interval.
    #[test]
    fn micro_spellings_and_zero_read_as_validation_reads_them() {
        for micro in ["3us", "3\u{b5}s", "3\u{3bc}s"] {
            let mut e = etcd("");
            e.retention = micro.into();
            let s = schedule(&e).unwrap().unwrap();
            assert_eq!(s.retention, Duration::from_micros(3), "{micro}");
        }
        for zero in ["0", "0s"] {
            let mut e = etcd("");
            e.creation = zero.into();
            let err = schedule(&e).unwrap_err();
            assert_eq!(kind_of(&err), ErrorKind::Config);
            assert!(
                err.to_string().contains("longer than zero"),
                "{zero}: {err}"
            );
            // A zero retention is a duration to the agent (validation refuses it).
            let mut e = etcd("");
            e.retention = zero.into();
            assert_eq!(schedule(&e).unwrap().unwrap().retention, Duration::ZERO);
        }
    }

    #[test]
    fn backup_config_replaces_creation_and_retention() {
        let s = schedule(&etcd(
            "services:\n  etcd:\n    creation: 10s\n    backup_config:\n      \
             interval_hours: 2\n      retention: 5\n      timeout: 60\n      s3backupconfig:\n        \
             bucket_name: snaps\n        endpoint: http://10.0.0.9:9000\n        access_key: a\n        \
             secret_key: b\n",
        ))
        .unwrap()
        .unwrap();
        assert_eq!(s.creation, 2 * HOUR);
        assert_eq!(s.retention, 10 * HOUR);
        assert_eq!(s.timeout, Duration::from_secs(60));
        let s3 = s.s3.unwrap();
        assert_eq!(s3.bucket, "snaps");
        assert_eq!(s3.endpoint, "http://10.0.0.9:9000");

        // An empty backup_config takes RKE1's defaults: every 12 h, 6 kept.
        let s = schedule(&etcd("services:\n  etcd:\n    backup_config: {}\n"))
            .unwrap()
            .unwrap();
        assert_eq!((s.creation, s.retention), (12 * HOUR, 72 * HOUR));
    }

    #[test]
    fn off_switches() {
        assert_eq!(
            schedule(&etcd("services:\n  etcd:\n    snapshot: false\n")).unwrap(),
            None
        );
        assert_eq!(
            schedule(&etcd(
                "services:\n  etcd:\n    backup_config:\n      enabled: false\n"
            ))
            .unwrap(),
            None
        );
        let mut external = etcd("");
        external.external_urls = vec!["https://10.0.0.5:2379".into()];
        assert_eq!(schedule(&external).unwrap(), None);
    }

    #[test]
    fn bad_values_are_config_errors_naming_the_field() {
        let mut e = etcd("");
        e.creation = "12 hours".into();
        let err = schedule(&e).unwrap_err();
        assert_eq!(kind_of(&err), ErrorKind::Config);
        assert!(err.to_string().contains("services.etcd.creation"), "{err}");

        let mut e = etcd("");
        e.creation = "0s".into();
        assert!(schedule(&e).unwrap_err().to_string().contains("zero"));

        let mut e = etcd("");
        e.backup_config = Some(BackupConfig {
            enabled: Some(true),
            interval_hours: 1,
            retention: 1,
            s3_backup_config: Some(S3BackupConfig::default()),
            ..BackupConfig::default()
        });
        let err = schedule(&e).unwrap_err().to_string();
        assert!(err.contains("bucket"), "{err}");
    }
}
