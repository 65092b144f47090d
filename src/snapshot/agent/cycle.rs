//! One round of the agent: snapshot etcd into `<RFC3339>_etcd.zip` (plus its sidecar), remove
//! recurring snapshots past retention, and, with S3, upload the new archive and remove expired
//! objects. Every step reports its own failure; a failed step does not stop the later ones
//! that can still run (pruning does not need today's snapshot).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use time::OffsetDateTime;

use super::settings::AgentSettings;
use crate::error::{ErrorKind, classified};
use crate::etcd::{EtcdClient, EtcdTls};
use crate::snapshot::naming::{archive_file_name, expired_recurring, recurring_name};
use crate::snapshot::package::{Packaged, package, sidecar_file_name};
use crate::snapshot::s3::{self, S3Store};

/// Deadline for connecting to etcd and for each call but the snapshot stream as a whole.
const ETCD_CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// What one round did, as log lines; `ok` is false when the snapshot was not taken.
#[derive(Debug, Default)]
pub struct Round {
    pub ok: bool,
    pub lines: Vec<String>,
}

impl Round {
    fn step(&mut self, step: &str, result: anyhow::Result<String>) -> bool {
        match result {
            Ok(text) => {
                self.lines.push(format!("{step}: {text}"));
                true
            }
            Err(e) => {
                self.lines.push(format!("{step} failed: {e:#}"));
                false
            }
        }
    }
}

/// Take a snapshot named for `now`, then prune locally and in S3.
pub async fn round(settings: &AgentSettings, now: OffsetDateTime) -> Round {
    let mut round = Round::default();
    let name = recurring_name(now);
    let started = Instant::now();
    let taken = tokio::time::timeout(settings.timeout(), take(settings, &name)).await;
    let packaged = match taken {
        Ok(Ok(p)) => Some(p),
        Ok(Err(e)) => {
            round.step(&format!("snapshot {name}"), Err(e));
            None
        }
        Err(_) => {
            round.step(
                &format!("snapshot {name}"),
                Err(anyhow::anyhow!(
                    "not done within the {} s timeout",
                    settings.timeout_secs
                )),
            );
            None
        }
    };
    if let Some(p) = &packaged {
        round.ok = round.step(
            &format!("snapshot {name}"),
            Ok(format!(
                "saved {} ({} bytes, sha256 {}, {:.1} s)",
                p.zip_path.display(),
                p.size,
                p.sha256,
                started.elapsed().as_secs_f64()
            )),
        );
    }
    let dir = Path::new(&settings.backup_dir);
    let removed = prune_local(dir, now, settings.retention());
    if !removed.is_empty() {
        round.step(
            "local retention",
            Ok(format!("removed {}", removed.join(", "))),
        );
    }
    if let Some(s3) = &settings.s3 {
        let upload = tokio::time::timeout(
            settings.timeout(),
            to_s3(s3, packaged.as_ref(), now, settings.retention()),
        )
        .await
        .unwrap_or_else(|_| {
            Err(anyhow::anyhow!(
                "not done within the {} s timeout",
                settings.timeout_secs
            ))
        });
        round.step("S3", upload);
    }
    round
}

/// Health check, snapshot stream, archive with the state file; the raw database is removed.
async fn take(settings: &AgentSettings, name: &str) -> anyhow::Result<Packaged> {
    let e = &settings.etcd;
    let tls = EtcdTls::from_pem_files(
        Path::new(&e.ca_file),
        Path::new(&e.cert_file),
        Path::new(&e.key_file),
    )?;
    let client = EtcdClient::connect_direct(&e.ip, e.port, tls, ETCD_CALL_TIMEOUT).await?;
    client.health().await?;
    let dir = PathBuf::from(&settings.backup_dir);
    // Hidden while incomplete: listings skip dot files.
    let db = dir.join(format!(".{name}.db"));
    client.snapshot_to(&db).await?;
    // Like RKE1, a snapshot without the state file is still worth keeping.
    let state = match crate::limits::read_file(
        &std::path::PathBuf::from(&settings.state_file),
        crate::limits::STATE_FILE,
    ) {
        Ok(bytes) => Some(bytes),
        Err(e) => {
            println!(
                "{} warning: cluster state {} not readable ({e}); the archive holds the snapshot \
                 only",
                stamp(),
                settings.state_file
            );
            None
        }
    };
    let (db_path, name_owned) = (db.clone(), name.to_string());
    let packaged =
        tokio::task::spawn_blocking(move || package(&db_path, &name_owned, state.as_deref(), &dir))
            .await
            .map_err(|e| classified(ErrorKind::Snapshot, format!("packaging stopped: {e}")));
    let _ = std::fs::remove_file(&db);
    packaged?
}

/// Remove the recurring archives (and their sidecars) past retention; returns their names.
/// Failures to remove are reported in the list rather than stopping the rest.
pub fn prune_local(dir: &Path, now: OffsetDateTime, retention: Duration) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    let mut removed = Vec::new();
    for name in expired_recurring(names.iter().map(String::as_str), now, retention) {
        match std::fs::remove_file(dir.join(name)) {
            Ok(()) => removed.push(name.to_string()),
            Err(e) => removed.push(format!("{name} (not removed: {e})")),
        }
        let _ = std::fs::remove_file(dir.join(sidecar_file_name(name)));
    }
    removed
}

/// Upload the new archive and its sidecar, then delete expired recurring objects.
async fn to_s3(
    settings: &s3::S3Settings,
    packaged: Option<&Packaged>,
    now: OffsetDateTime,
    retention: Duration,
) -> anyhow::Result<String> {
    let store = S3Store::connect(&with_public_roots(settings)).await?;
    let mut done = Vec::new();
    if let Some(p) = packaged {
        let file = p
            .zip_path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        store.put(&file, &p.zip_path).await?;
        let sidecar = sidecar_file_name(&file);
        let sidecar_path = p.zip_path.with_file_name(&sidecar);
        store.put(&sidecar, &sidecar_path).await?;
        done.push(format!("uploaded {file}"));
    }
    let objects: Vec<(String, OffsetDateTime)> = store
        .list()
        .await?
        .into_iter()
        .map(|o| (o.name, o.last_modified))
        .collect();
    for name in s3::expired(&objects, now, retention) {
        store.delete(&name).await?;
        store.delete(&sidecar_file_name(&name)).await?;
        done.push(format!("deleted {name}"));
    }
    if done.is_empty() {
        done.push("nothing to do".into());
    }
    Ok(done.join(", "))
}

/// `settings` as the agent connects with them: without a `custom_ca`, Mozilla's root
/// certificates, which rke-tools' image trusted. The etcd image the agent runs in usually has
/// no CA store, and the TLS client refuses to start without any root (even for plain HTTP).
fn with_public_roots(settings: &s3::S3Settings) -> s3::S3Settings {
    static PUBLIC_ROOTS: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let mut s = settings.clone();
    if s.endpoint_ca.is_none() {
        let roots = PUBLIC_ROOTS.get_or_init(|| {
            webpki_root_certs::TLS_SERVER_ROOT_CERTS
                .iter()
                .map(|der| pem::encode(&pem::Pem::new("CERTIFICATE", der.as_ref().to_vec())))
                .collect()
        });
        s.endpoint_ca = Some(roots.clone());
    }
    s
}

/// The newest recurring snapshot archive in `dir`, by the time in its name.
pub fn newest_recurring(dir: &Path) -> Option<OffsetDateTime> {
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.ends_with(&archive_file_name("")))
        .filter_map(|n| crate::snapshot::naming::recurring_time(&n))
        .max()
}

/// The current time as log lines start with it.
pub fn stamp() -> String {
    crate::snapshot::naming::go_rfc3339(OffsetDateTime::now_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::format_description::well_known::Rfc3339;

    fn t(s: &str) -> OffsetDateTime {
        OffsetDateTime::parse(s, &Rfc3339).unwrap()
    }

    #[test]
    fn pruning_removes_expired_archives_with_their_sidecars_only() {
        let dir = tempfile::tempdir().unwrap();
        let files = [
            "2024-03-10T11:00:00Z_etcd.zip",
            "2024-03-10T11:00:00Z_etcd.zip.sha256",
            "2024-03-10T11:59:50Z_etcd.zip",
            "2024-03-10T11:59:50Z_etcd.zip.sha256",
            "rke_etcd_snapshot_2020-01-01T00:00:00Z.zip",
            "notes.txt",
        ];
        for f in files {
            std::fs::write(dir.path().join(f), b"x").unwrap();
        }
        let now = t("2024-03-10T12:00:00Z");
        let removed = prune_local(dir.path(), now, Duration::from_secs(60));
        assert_eq!(removed, ["2024-03-10T11:00:00Z_etcd.zip"]);
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                "2024-03-10T11:59:50Z_etcd.zip",
                "2024-03-10T11:59:50Z_etcd.zip.sha256",
                "notes.txt",
                "rke_etcd_snapshot_2020-01-01T00:00:00Z.zip",
            ]
        );
        assert_eq!(
            newest_recurring(dir.path()),
            Some(t("2024-03-10T11:59:50Z"))
        );
        assert!(prune_local(&dir.path().join("missing"), now, Duration::ZERO).is_empty());
    }

    #[test]
    fn public_roots_only_without_a_custom_ca() {
        let base = s3::S3Settings {
            endpoint: "http://127.0.0.1:9000".into(),
            endpoint_ca: None,
            access_key: String::new(),
            secret_key: String::new(),
            bucket: "b".into(),
            region: "us-east-1".into(),
            folder: String::new(),
        };
        let with = with_public_roots(&base);
        let bundle = with.endpoint_ca.as_deref().unwrap();
        assert!(bundle.matches("BEGIN CERTIFICATE").count() > 100);
        with.validate("test").unwrap();
        let custom = s3::S3Settings {
            endpoint_ca: Some("MINE".into()),
            ..base
        };
        assert_eq!(
            with_public_roots(&custom).endpoint_ca.as_deref(),
            Some("MINE")
        );
    }

    #[test]
    fn newest_ignores_other_files() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(newest_recurring(dir.path()), None);
        for f in [
            "2024-01-01T00:00:00Z_etcd.zip",
            "2025-01-01T00:00:00Z_etcd.zip.sha256",
            "2026-01-01T00:00:00Z_etcd",
        ] {
            std::fs::write(dir.path().join(f), b"x").unwrap();
        }
        assert_eq!(
            newest_recurring(dir.path()),
            Some(t("2024-01-01T00:00:00Z"))
        );
    }
}
