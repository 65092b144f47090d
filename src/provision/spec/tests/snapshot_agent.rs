//! The recurring snapshot agent in node plans: which nodes run it, what it sees, what its
//! settings say, and when it is replaced.

use super::*;
use crate::provision::spec::names::{ETCD, ETCD_ROLLING_SNAPSHOTS};
use crate::snapshot::agent::AgentSettings;

const SETTINGS: &str = "/etc/kubernetes/snapshot-agent/settings.json";
const STATE: &str = "/etc/kubernetes/snapshot-agent/cluster.rkestate";

pub fn agent_inputs() -> PlanInputs {
    PlanInputs {
        snapshot_agent: Some(AgentBinary {
            sha256: "0123456789abcdef".repeat(4),
        }),
        state_json: "{\"desiredState\":{}}".into(),
        ..PlanInputs::default()
    }
}

fn settings(plan: &NodePlan) -> AgentSettings {
    let file = plan.file(SETTINGS).expect("settings file");
    serde_json::from_slice(&file.contents).unwrap()
}

#[test]
fn every_etcd_node_runs_the_agent_after_etcd() {
    let cfg = config_with(
        V132,
        &format!("{THREE_NODES}  - address: 192.168.1.14\n    user: rke\n    role: [worker]\n"),
        "",
    );
    let plans = plans_with(&cfg, &agent_inputs());
    for plan in &plans[..3] {
        let names: Vec<&str> = plan.containers.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(&names[..2], [ETCD, ETCD_ROLLING_SNAPSHOTS], "{}", plan.node);
        let agent = plan.container(ETCD_ROLLING_SNAPSHOTS).unwrap();
        assert_eq!(agent.plane, Plane::Etcd);
        assert_eq!(agent.health, None, "never health-checked as etcd");
    }
    let worker = &plans[3];
    assert!(worker.container(ETCD_ROLLING_SNAPSHOTS).is_none());
    assert!(worker.file(SETTINGS).is_none() && worker.file(STATE).is_none());
}

#[test]
fn the_container_runs_the_uploaded_binary_in_the_etcd_image() {
    let cfg = config(V132, "");
    let plans = plans_with(&cfg, &agent_inputs());
    let agent = spec(&plans, "node1", ETCD_ROLLING_SNAPSHOTS);
    let bin = "/opt/rke/bin/rke-0123456789abcdef";
    assert_eq!(agent.image, cfg.services.etcd.image);
    assert_eq!(agent.entrypoint, [bin]);
    assert_eq!(
        agent.args,
        ["etcd", "snapshot-agent", "--settings", SETTINGS]
    );
    assert!(agent.env.is_empty());
    assert!(agent.restart_always);
    assert_eq!(agent.network_mode, "host");
    assert_eq!(agent.user, None);
    // From 1.22 RKE1 drops `:z`.
    assert_eq!(
        agent.binds,
        [
            "/opt/rke/etcd-snapshots:/opt/rke/etcd-snapshots".to_string(),
            "/etc/kubernetes:/etc/kubernetes:ro".to_string(),
            format!("{bin}:{bin}:ro"),
        ]
    );
    let old = plans_with(&config(V120, ""), &agent_inputs());
    let agent = spec(&old, "node1", ETCD_ROLLING_SNAPSHOTS);
    assert_eq!(
        agent.binds[0],
        "/opt/rke/etcd-snapshots:/opt/rke/etcd-snapshots:z"
    );
    assert_eq!(agent.binds[1], "/etc/kubernetes:/etc/kubernetes:ro,z");
}

#[test]
fn prefix_path_moves_the_kubernetes_dir_but_not_the_snapshots() {
    let cfg = config(V132, "prefix_path: /opt/custom\n");
    let plans = plans_with(&cfg, &agent_inputs());
    let plan = node(&plans, "node3");
    let agent = plan.container(ETCD_ROLLING_SNAPSHOTS).unwrap();
    assert!(
        agent
            .binds
            .contains(&"/opt/custom/etc/kubernetes:/etc/kubernetes:ro".to_string())
    );
    assert!(
        agent
            .binds
            .contains(&"/opt/rke/etcd-snapshots:/opt/rke/etcd-snapshots".to_string())
    );
    assert!(plan.file(&format!("/opt/custom{SETTINGS}")).is_some());
    assert!(plan.file(&format!("/opt/custom{STATE}")).is_some());
}

#[test]
fn settings_point_at_the_nodes_etcd_and_its_certificate() {
    let plans = plans_with(&config(V132, ""), &agent_inputs());
    let s = settings(node(&plans, "node1"));
    assert_eq!(s.node, "node1");
    assert_eq!((s.etcd.ip.as_str(), s.etcd.port), ("10.0.0.11", 2379));
    assert_eq!(s.etcd.ca_file, "/etc/kubernetes/ssl/kube-ca.pem");
    assert_eq!(
        s.etcd.cert_file,
        "/etc/kubernetes/ssl/kube-etcd-10-0-0-11.pem"
    );
    assert_eq!(
        s.etcd.key_file,
        "/etc/kubernetes/ssl/kube-etcd-10-0-0-11-key.pem"
    );
    // The certificate etcd itself serves with.
    let etcd = spec(&plans, "node1", ETCD);
    assert_eq!(arg(etcd, "cert-file"), Some(s.etcd.cert_file.as_str()));
    assert_eq!(s.backup_dir, "/opt/rke/etcd-snapshots");
    assert_eq!(s.state_file, STATE);
    assert_eq!(
        (s.creation_secs, s.retention_secs, s.timeout_secs),
        (43_200, 259_200, 300)
    );
    assert_eq!(s.s3, None);
    // node3 has no internal address: its address is used.
    assert_eq!(settings(node(&plans, "node3")).etcd.ip, "192.168.1.13");

    let state = node(&plans, "node1").file(STATE).unwrap();
    assert_eq!(state.contents, b"{\"desiredState\":{}}");
    for f in [state, node(&plans, "node1").file(SETTINGS).unwrap()] {
        assert!(
            f.secret && f.mode == 0o600 && f.owner.is_none(),
            "{}",
            f.path
        );
    }
}

#[test]
fn backup_config_and_s3_reach_the_settings() {
    let cfg = config(
        V132,
        "services:\n  etcd:\n    backup_config:\n      interval_hours: 1\n      retention: 3\n      \
         s3backupconfig:\n        bucket_name: snaps\n        endpoint: http://10.0.0.9:9000\n        \
         folder: /cluster-a/\n        access_key: AK\n        secret_key: SK\n",
    );
    let s = settings(node(&plans_with(&cfg, &agent_inputs()), "node2"));
    assert_eq!((s.creation_secs, s.retention_secs), (3600, 3 * 3600));
    let s3 = s.s3.unwrap();
    assert_eq!(
        (s3.bucket.as_str(), s3.endpoint.as_str(), s3.folder.as_str()),
        ("snaps", "http://10.0.0.9:9000", "cluster-a")
    );
    assert_eq!(
        (s3.access_key.as_str(), s3.secret_key.as_str()),
        ("AK", "SK")
    );
}

#[test]
fn no_agent_when_snapshots_are_off_external_or_without_a_binary() {
    for extra in [
        "services:\n  etcd:\n    snapshot: false\n",
        "services:\n  etcd:\n    backup_config:\n      enabled: false\n",
    ] {
        let plans = plans_with(&config(V132, extra), &agent_inputs());
        for plan in &plans {
            assert!(plan.container(ETCD_ROLLING_SNAPSHOTS).is_none(), "{extra}");
            assert!(plan.file(SETTINGS).is_none(), "{extra}");
        }
    }
    let plans = plans(&config(V132, ""));
    assert!(
        plans
            .iter()
            .all(|p| p.container(ETCD_ROLLING_SNAPSHOTS).is_none())
    );
}

#[test]
fn runs_as_etcds_user_who_owns_its_files_and_the_snapshot_dir() {
    let cfg = config(V132, "services:\n  etcd:\n    uid: 52034\n    gid: 52034\n");
    let plans = plans_with(&cfg, &agent_inputs());
    let plan = node(&plans, "node1");
    let agent = plan.container(ETCD_ROLLING_SNAPSHOTS).unwrap();
    assert_eq!(agent.user.as_deref(), Some("52034:52034"));
    assert_eq!(plan.file(SETTINGS).unwrap().owner, Some((52034, 52034)));
    let dir = plan
        .dirs
        .iter()
        .find(|d| d.path == "/opt/rke/etcd-snapshots")
        .expect("snapshot dir");
    assert_eq!((dir.mode, dir.owner), (0o700, Some((52034, 52034))));
}

#[test]
fn settings_changes_replace_the_agent_and_nothing_else() {
    let base = plans_with(&config(V132, ""), &agent_inputs());
    let changed = plans_with(
        &config(V132, "services:\n  etcd:\n    creation: 6h\n"),
        &agent_inputs(),
    );
    let hash = |p: &[NodePlan], c: &str| spec(p, "node1", c).labels[SPEC_HASH_LABEL].clone();
    assert_ne!(
        hash(&base, ETCD_ROLLING_SNAPSHOTS),
        hash(&changed, ETCD_ROLLING_SNAPSHOTS)
    );
    assert_eq!(hash(&base, ETCD), hash(&changed, ETCD));
    // A new state (read at every snapshot) does not restart it; a new binary does.
    let mut other_state = agent_inputs();
    other_state.state_json = "{}".into();
    let restated = plans_with(&config(V132, ""), &other_state);
    assert_eq!(
        hash(&base, ETCD_ROLLING_SNAPSHOTS),
        hash(&restated, ETCD_ROLLING_SNAPSHOTS)
    );
    let mut other_binary = agent_inputs();
    other_binary.snapshot_agent = Some(AgentBinary {
        sha256: "f".repeat(64),
    });
    let rebuilt = plans_with(&config(V132, ""), &other_binary);
    assert_ne!(
        hash(&base, ETCD_ROLLING_SNAPSHOTS),
        hash(&rebuilt, ETCD_ROLLING_SNAPSHOTS)
    );
}

#[test]
fn a_bad_creation_fails_planning_as_a_config_error() {
    let mut cfg = config(V132, "");
    cfg.services.etcd.creation = "soon".into();
    let err = plan_cluster_with(&cfg, &fake_bundle(&cfg), &agent_inputs()).unwrap_err();
    assert_eq!(crate::error::kind_of(&err), crate::error::ErrorKind::Config);
    assert!(err.to_string().contains("services.etcd.creation"), "{err}");
}
