//! Keys RKE1 acted on that rke accepts (an RKE1 cluster.yml must load) but does not act on:
//! a warning each, so nobody believes a setting took effect when it did not.

use super::report::Report;
use crate::config::RkeConfig;

pub fn check(cfg: &RkeConfig, r: &mut Report) {
    let mut inert = |path: &str, instead: &str| {
        r.warning(path, format!("{path} has no effect in rke: {instead}"));
    };
    if cfg.rotate_encryption_key {
        inert(
            "rotate_encryption_key",
            "rke does not rotate the secrets encryption key",
        );
    }
    if cfg.restore.restore {
        inert(
            "restore.restore",
            "restore with `rke etcd snapshot-restore`",
        );
    }
    if cfg.rotate_certificates.is_some() {
        inert("rotate_certificates", "rotate with `rke cert rotate`");
    }
    for (i, registry) in cfg.private_registries.iter().enumerate() {
        if registry.ecr_credential_plugin.is_some() {
            inert(
                &format!("private_registries[{i}].ecr_credential_plugin"),
                "the kubelet is not given an ECR credential provider; give the registry's \
                 user and password",
            );
        }
    }
    if cfg.bastion_host.ignore_proxy_env_vars {
        inert(
            "bastion_host.ignore_proxy_env_vars",
            "rke's SSH connections never go through an HTTP proxy",
        );
    }
    if !cfg.authorization.options.is_empty() {
        inert(
            "authorization.options",
            "authorization has no options besides its mode",
        );
    }
    if cfg
        .services
        .etcd
        .backup_config
        .as_ref()
        .is_some_and(|b| b.safe_timestamp)
    {
        inert(
            "services.etcd.backup_config.safe_timestamp",
            "recurring snapshots are named with RKE1's RFC 3339 time stamp",
        );
    }
}
