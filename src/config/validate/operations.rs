//! Day-2 settings: rolling upgrade limits, external etcd, etcd snapshot backups.

use super::report::Report;
use crate::config::RkeConfig;
use crate::config::duration::parse_period;
use crate::config::path::{child, index};

pub fn check(cfg: &RkeConfig, r: &mut Report) {
    check_upgrade_strategy(cfg, r);
    check_external_etcd(cfg, r);
    check_snapshot_periods(cfg, r);
    check_backup(cfg, r);
    if cfg.addon_job_timeout < 0 {
        r.error(
            "addon_job_timeout",
            format!(
                "addon_job_timeout {} must not be negative",
                cfg.addon_job_timeout
            ),
        );
    }
}

/// `creation`/`retention` configure the recurring snapshot container, which exits on a bad value.
fn check_snapshot_periods(cfg: &RkeConfig, r: &mut Report) {
    let etcd = &cfg.services.etcd;
    for (key, value) in [("creation", &etcd.creation), ("retention", &etcd.retention)] {
        if value.is_empty() {
            continue;
        }
        // Zero is a Go duration, but no interval at all (and a retention that deletes every
        // snapshot as it is taken), so it stays an error as it always was here.
        let why = match parse_period(value) {
            Ok(period) if period.is_zero() => format!("{value:?} must be longer than zero"),
            Ok(_) => continue,
            Err(why) => why,
        };
        r.error(
            child("services.etcd", key),
            format!("snapshot {key}: {why}"),
        );
    }
}

/// A node count (`2`) or a percentage of nodes (`20%`, 1-100).
pub fn max_unavailable(s: &str) -> Result<(), String> {
    let s = s.trim();
    if let Some(pct) = s.strip_suffix('%') {
        return match pct.parse::<u32>() {
            Ok(n) if (1..=100).contains(&n) => Ok(()),
            Ok(n) => Err(format!("{n}% must be between 1% and 100%")),
            Err(_) => Err(format!("{s:?} is not a percentage such as 20%")),
        };
    }
    match s.parse::<i64>() {
        Ok(n) if n >= 1 => Ok(()),
        Ok(n) => Err(format!("{n} must be at least 1")),
        Err(_) => Err(format!(
            "{s:?} is neither a node count nor a percentage such as 20%"
        )),
    }
}

fn check_upgrade_strategy(cfg: &RkeConfig, r: &mut Report) {
    let Some(u) = &cfg.upgrade_strategy else {
        return;
    };
    for (key, value) in [
        ("max_unavailable_worker", &u.max_unavailable_worker),
        (
            "max_unavailable_controlplane",
            &u.max_unavailable_controlplane,
        ),
    ] {
        if !value.is_empty()
            && let Err(why) = max_unavailable(value)
        {
            r.error(child("upgrade_strategy", key), format!("{key} {why}"));
        }
    }
    if let Some(d) = &u.drain_input
        && d.timeout != 0
        && !(1..=10800).contains(&d.timeout)
    {
        r.error(
            "upgrade_strategy.node_drain_input.timeout",
            format!("drain timeout {} must be 1-10800 seconds", d.timeout),
        );
    }
}

fn check_external_etcd(cfg: &RkeConfig, r: &mut Report) {
    let etcd = &cfg.services.etcd;
    if etcd.external_urls.is_empty() {
        return;
    }
    for (i, url) in etcd.external_urls.iter().enumerate() {
        if !(url.starts_with("https://") || url.starts_with("http://"))
            || url.split("://").nth(1).is_none_or(str::is_empty)
        {
            r.error(
                index("services.etcd.external_urls", i),
                format!("{url:?} is not an etcd URL such as https://10.0.0.5:2379"),
            );
        }
    }
    for (key, value, what) in [
        (
            "ca_cert",
            &etcd.ca_cert,
            "the CA certificate of the external etcd",
        ),
        (
            "cert",
            &etcd.cert,
            "a client certificate for the external etcd",
        ),
        ("key", &etcd.key, "the client certificate's key"),
        ("path", &etcd.path, "the etcd key prefix, e.g. /etcd-test"),
    ] {
        if value.trim().is_empty() {
            r.error(
                child("services.etcd", key),
                format!("{key} is required with external_urls: {what}"),
            );
        }
    }
}

fn check_backup(cfg: &RkeConfig, r: &mut Report) {
    let Some(backup) = &cfg.services.etcd.backup_config else {
        return;
    };
    let base = "services.etcd.backup_config";
    for (key, value) in [
        ("interval_hours", backup.interval_hours),
        ("retention", backup.retention),
        ("timeout", backup.timeout),
    ] {
        if value < 0 {
            r.error(
                child(base, key),
                format!("{key} {value} must not be negative"),
            );
        }
    }
    let Some(s3) = &backup.s3_backup_config else {
        return;
    };
    let s3_path = child(base, "s3backupconfig");
    if s3.bucket_name.trim().is_empty() {
        r.error(
            child(&s3_path, "bucket_name"),
            "bucket_name is required for S3 snapshots",
        );
    }
    if s3.endpoint.trim().is_empty() {
        r.error(
            child(&s3_path, "endpoint"),
            "endpoint is required for S3 snapshots (e.g. s3.amazonaws.com)",
        );
    }
    if !s3.custom_ca.trim().is_empty() && !is_pem_certificate(&s3.custom_ca) {
        r.error(
            child(&s3_path, "custom_ca"),
            "custom_ca is not a PEM certificate (-----BEGIN CERTIFICATE----- ...)",
        );
    }
}

pub(super) fn is_pem_certificate(text: &str) -> bool {
    match x509_parser::pem::parse_x509_pem(text.trim().as_bytes()) {
        Ok((_, pem)) => pem.label == "CERTIFICATE" && pem.parse_x509().is_ok(),
        Err(_) => false,
    }
}
