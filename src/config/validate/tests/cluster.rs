use super::*;
use crate::config::{
    AwsCloudProvider, BackupConfig, NodeDrainInput, NodeUpgradeStrategy, PrivateRegistry,
    S3BackupConfig, SecretsEncryptionConfig,
};

#[test]
fn unsupported_version_lists_supported_ones() {
    let mut c = valid();
    c.version = "v1.19.16-rancher1-1".into();
    c.enable_cri_dockerd = None;
    c.services.kube_api.pod_security_configuration.clear();
    c.system_images.kubernetes.clear();
    assert_problems(
        &c,
        &[(
            E,
            "kubernetes_version",
            "supported versions: v1.26.15-rancher1-1, v1.27.16-rancher1-1, v1.32.5-rancher1-1",
        )],
    );
    let text = &run(&c)[0].message;
    assert!(text.contains("missing: kubernetes"), "{text}");
}

#[test]
fn unsupported_version_is_fine_with_every_image_given() {
    let mut c = valid();
    c.version = "v1.28.99-custom".into();
    assert_problems(
        &c,
        &[(W, "kubernetes_version", "not in rke's version table")],
    );
}

#[test]
fn malformed_version() {
    let mut c = valid();
    c.version = "1.27".into();
    assert_problems(&c, &[(E, "kubernetes_version", "not a Kubernetes version")]);
    c.version.clear();
    assert_problems(&c, &[(E, "kubernetes_version", "empty")]);
}

#[test]
fn blanked_required_image() {
    let mut c = valid();
    c.system_images.etcd.clear();
    c.system_images.alpine.clear();
    assert_problems(
        &c,
        &[
            (E, "system_images.etcd", "needs it"),
            (E, "system_images.alpine", "needs it"),
        ],
    );
}

#[test]
fn cri_dockerd_bounds() {
    let mut c = valid();
    c.version = "v1.20.15-rancher1-1".into();
    c.enable_cri_dockerd = Some(true);
    c.services.kube_api.pod_security_configuration.clear();
    let found = run(&c);
    assert!(
        found
            .iter()
            .any(|p| p.path == "enable_cri_dockerd" && p.message.contains("1.21 or newer")),
        "{found:#?}"
    );
    // A version table that runs 1.20 on cri-dockerd (the test environment's) allows it.
    let found = run_with_cri_dockerd_from(&c, (1, 20));
    assert!(
        !found.iter().any(|p| p.path == "enable_cri_dockerd"),
        "{found:#?}"
    );
    let mut c = valid();
    c.enable_cri_dockerd = Some(false);
    assert_problems(&c, &[(E, "enable_cri_dockerd", "no dockershim")]);
    c.version = "v1.26.15-rancher1-1".into();
    c.enable_cri_dockerd = None;
    assert_problems(&c, &[]);
}

#[test]
fn cri_dockerd_stream_port() {
    let mut c = valid();
    c.cri_dockerd_stream_server_port = "10010".into();
    assert_problems(&c, &[]);
    c.cri_dockerd_stream_server_port = "port".into();
    assert_problems(&c, &[(E, "cri_dockerd_stream_server_port", "not a port")]);
}

#[test]
fn authentication_strategies() {
    let mut c = valid();
    c.authentication.strategy = "x509|webhook".into();
    assert_problems(&c, &[]);
    c.authentication.strategy = "webhook".into();
    assert_problems(&c, &[(E, "authentication.strategy", "must include x509")]);
    c.authentication.strategy = "x509|oidc".into();
    assert_problems(
        &c,
        &[(E, "authentication.strategy", "\"oidc\" is not supported")],
    );
}

#[test]
fn authorization_mode_and_pod_security() {
    let mut c = valid();
    c.authorization.mode = "abac".into();
    assert_problems(
        &c,
        &[
            (E, "authorization.mode", "expected one of rbac, none"),
            (
                E,
                "services.kube-api.pod_security_configuration",
                "needs authorization mode rbac",
            ),
        ],
    );
    c.authorization.mode = "none".into();
    c.services.kube_api.pod_security_configuration.clear();
    assert_problems(&c, &[]);
}

#[test]
fn pod_security_levels_and_versions() {
    let mut c = valid();
    c.services.kube_api.pod_security_configuration = "baseline".into();
    assert_problems(
        &c,
        &[(
            E,
            "services.kube-api.pod_security_configuration",
            "expected one of privileged, restricted",
        )],
    );
    c.services.kube_api.pod_security_configuration = "restricted".into();
    assert_problems(&c, &[]);
    c.services.kube_api.pod_security_policy = true;
    assert_problems(
        &c,
        &[(
            E,
            "services.kube-api.pod_security_policy",
            "removed in Kubernetes 1.25",
        )],
    );
}

#[test]
fn secrets_encryption_custom_config_needs_enabled() {
    let mut c = valid();
    let custom = Some(serde_json::json!({"kind": "EncryptionConfiguration"}));
    c.services.kube_api.secrets_encryption_config = Some(SecretsEncryptionConfig {
        enabled: false,
        custom_config: custom.clone(),
    });
    assert_problems(
        &c,
        &[(
            W,
            "services.kube-api.secrets_encryption_config.custom_config",
            "ignored",
        )],
    );
    c.services.kube_api.secrets_encryption_config = Some(SecretsEncryptionConfig {
        enabled: true,
        custom_config: custom,
    });
    assert_problems(&c, &[]);
}

#[test]
fn upgrade_strategy_limits() {
    let mut c = valid();
    let strategy = |worker: &str, cp: &str, timeout: i64| {
        Some(NodeUpgradeStrategy {
            max_unavailable_worker: worker.into(),
            max_unavailable_controlplane: cp.into(),
            drain: Some(true),
            drain_input: Some(NodeDrainInput {
                timeout,
                ..Default::default()
            }),
        })
    };
    c.upgrade_strategy = strategy("10%", "1", 120);
    assert_problems(&c, &[]);
    c.upgrade_strategy = strategy("0", "150%", 10801);
    assert_problems(
        &c,
        &[
            (E, "upgrade_strategy.max_unavailable_worker", "at least 1"),
            (
                E,
                "upgrade_strategy.max_unavailable_controlplane",
                "between 1% and 100%",
            ),
            (E, "upgrade_strategy.node_drain_input.timeout", "1-10800"),
        ],
    );
    c.upgrade_strategy = strategy("two", "1", 120);
    assert_problems(
        &c,
        &[(
            E,
            "upgrade_strategy.max_unavailable_worker",
            "neither a node count",
        )],
    );
}

#[test]
fn bastion_host() {
    let mut c = valid();
    c.bastion_host.user = "jump".into();
    assert_problems(&c, &[(E, "bastion_host.address", "no address")]);
    c.bastion_host.address = "bastion.example.com".into();
    c.bastion_host.port = "22".into();
    assert_problems(&c, &[]);
    c.bastion_host.port = "0".into();
    c.bastion_host.user.clear();
    assert_problems(
        &c,
        &[
            (E, "bastion_host.user", "required"),
            (E, "bastion_host.port", "outside 1-65535"),
        ],
    );
}

#[test]
fn private_registries() {
    let mut c = valid();
    let reg = |url: &str, default: bool| PrivateRegistry {
        url: url.into(),
        user: "u".into(),
        password: "p".into(),
        is_default: default,
        ..Default::default()
    };
    c.private_registries = vec![
        reg("registry.example.com:5000", true),
        reg("r2.example.com", false),
    ];
    assert_problems(&c, &[]);
    c.private_registries = vec![
        reg("", false),
        reg("https://registry.example.com", true),
        reg("r3.example.com", true),
    ];
    c.private_registries[2].password.clear();
    assert_problems(
        &c,
        &[
            (E, "private_registries[0].url", "required"),
            (E, "private_registries[1].url", "without a scheme"),
            (W, "private_registries[2]", "together"),
            (E, "private_registries[2].is_default", "already the default"),
        ],
    );
}

#[test]
fn cloud_providers() {
    let mut c = valid();
    c.cloud_provider.name = "external-aws".into();
    c.cloud_provider.aws_cloud_provider = Some(AwsCloudProvider::default());
    // Typed options cannot be turned into a cloud-config file: refused before any node is touched.
    assert_problems(
        &c,
        &[(E, "cloud_provider.awsCloudProvider", "not supported")],
    );
    c.cloud_provider.name = "vshere".into();
    assert_problems(
        &c,
        &[(E, "cloud_provider.name", "did you mean \"vsphere\"")],
    );
    c.cloud_provider.name = "aws".into();
    assert_problems(
        &c,
        &[
            (E, "cloud_provider.name", "use external-aws"),
            (E, "cloud_provider.awsCloudProvider", "not supported"),
        ],
    );
    c.cloud_provider.name = "azure".into();
    assert_problems(&c, &[(W, "cloud_provider.awsCloudProvider", "ignored")]);
    c.cloud_provider.name.clear();
    c.cloud_provider.custom_cloud_provider = "[Global]\n".into();
    assert_problems(&c, &[(E, "cloud_provider.name", "needs a name")]);
    c.cloud_provider.name = "mycloud".into();
    assert_problems(&c, &[]);
}

#[test]
fn external_etcd_needs_certificates_and_urls() {
    let mut c = valid();
    for n in &mut c.nodes {
        n.role.retain(|r| r != "etcd");
    }
    c.services.etcd.external_urls = vec!["10.1.0.5:2379".into()];
    c.services.etcd.path = "/etcd".into();
    assert_problems(
        &c,
        &[
            (E, "services.etcd.external_urls[0]", "not an etcd URL"),
            (E, "services.etcd.ca_cert", "required with external_urls"),
            (E, "services.etcd.cert", "required with external_urls"),
            (E, "services.etcd.key", "required with external_urls"),
        ],
    );
}

#[test]
fn s3_backup_needs_bucket_and_endpoint() {
    let mut c = valid();
    let backup = |s3: S3BackupConfig| {
        Some(BackupConfig {
            enabled: Some(true),
            interval_hours: 12,
            retention: 6,
            s3_backup_config: Some(s3),
            ..Default::default()
        })
    };
    c.services.etcd.backup_config = backup(S3BackupConfig {
        custom_ca: "not a cert".into(),
        ..Default::default()
    });
    let base = "services.etcd.backup_config.s3backupconfig";
    assert_problems(
        &c,
        &[
            (E, &format!("{base}.bucket_name"), "bucket_name is required"),
            (E, &format!("{base}.endpoint"), "endpoint is required"),
            (E, &format!("{base}.custom_ca"), "not a PEM certificate"),
        ],
    );
    c.services.etcd.backup_config = backup(S3BackupConfig {
        bucket_name: "snapshots".into(),
        endpoint: "s3.amazonaws.com".into(),
        ..Default::default()
    });
    assert_problems(&c, &[]);
}

#[test]
fn s3_custom_ca_accepts_a_real_certificate() {
    let cert = rcgen::generate_simple_self_signed(vec!["minio.local".into()]).unwrap();
    let pem = cert.cert.pem();
    let mut c = valid();
    c.services.etcd.backup_config = Some(BackupConfig {
        s3_backup_config: Some(S3BackupConfig {
            bucket_name: "b".into(),
            endpoint: "minio.local:9000".into(),
            custom_ca: pem,
            ..Default::default()
        }),
        ..Default::default()
    });
    assert_problems(&c, &[]);
    // A PEM block that is not a certificate is rejected.
    let key_pem = rcgen::KeyPair::generate().unwrap().serialize_pem();
    assert!(!super::super::operations::is_pem_certificate(&key_pem));
}

#[test]
fn snapshot_periods_are_go_durations() {
    let mut c = valid();
    // Every micro spelling, as `snapshot::schedule` (the agent's side) reads them.
    for ok in [
        "12h",
        "72h",
        "1h30m",
        "90s",
        "1.5h",
        "500ms",
        "3us",
        "3\u{b5}s",
        "3\u{3bc}s",
    ] {
        c.services.etcd.creation = ok.into();
        assert_problems(&c, &[]);
    }
    for bad in ["12", "h", "12 h", "12d", "1h30", "-1h", "0", "0s"] {
        c.services.etcd.creation = bad.into();
        assert_problems(&c, &[(E, "services.etcd.creation", "snapshot creation")]);
    }
    // "0" is a duration (as the agent's side reads it) but no period: refused for being zero.
    c.services.etcd.creation = "0".into();
    assert_problems(&c, &[(E, "services.etcd.creation", "longer than zero")]);
    c.services.etcd.creation = "6h".into();
    c.services.etcd.retention = "3 days".into();
    assert_problems(&c, &[(E, "services.etcd.retention", "not a duration")]);
}

#[test]
fn addon_job_timeout_not_negative() {
    let mut c = valid();
    c.addon_job_timeout = 45;
    assert_problems(&c, &[]);
    c.addon_job_timeout = -1;
    assert_problems(&c, &[(E, "addon_job_timeout", "must not be negative")]);
}

#[test]
fn keys_rke_does_not_act_on_warn() {
    let mut c = valid();
    c.rotate_encryption_key = true;
    c.restore.restore = true;
    c.bastion_host.ignore_proxy_env_vars = true;
    c.authorization.options.insert("x".into(), "y".into());
    let no_effect = "has no effect in rke";
    assert_problems(
        &c,
        &[
            (W, "rotate_encryption_key", no_effect),
            (W, "restore.restore", "rke etcd snapshot-restore"),
            (W, "bastion_host.ignore_proxy_env_vars", no_effect),
            (W, "authorization.options", no_effect),
        ],
    );
    // Their defaults (as `rke config` writes them) say nothing.
    assert_problems(&valid(), &[]);
}
