use super::*;
use crate::certs::CertificatePki;
use crate::state::ClusterState;

fn state_json(ca: &str, cluster_name: &str) -> String {
    let cfg = RkeConfig {
        cluster_name: cluster_name.to_string(),
        ..RkeConfig::default()
    };
    let cluster = ClusterState {
        rke_config: Some(cfg),
        certificates_bundle: [(
            KUBE_CA.to_string(),
            CertificatePki {
                certificate_pem: ca.to_string(),
                name: KUBE_CA.to_string(),
                ..CertificatePki::default()
            },
        )]
        .into(),
        encryption_config: String::new(),
        ..ClusterState::default()
    };
    FullState {
        desired_state: cluster.clone(),
        current_state: cluster,
        ..FullState::default()
    }
    .to_compact_string()
    .unwrap()
}

fn fresh(name: &str) -> NodeTraces {
    NodeTraces {
        node: name.to_string(),
        ..NodeTraces::default()
    }
}

fn running(name: &str, ca: &str) -> NodeTraces {
    NodeTraces {
        node: name.to_string(),
        containers: vec!["etcd".into(), "kubelet".into()],
        ca_cert: Some(format!("{ca}\n")),
        ..NodeTraces::default()
    }
}

fn obs(nodes: Vec<NodeTraces>, secret: SecretLookup) -> Observations {
    Observations {
        state_file: "cluster.rkestate".into(),
        nodes,
        secret,
        planned_ca: Some("CA-NEW".into()),
    }
}

fn not_tried() -> SecretLookup {
    SecretLookup::NotTried("no control-plane node holds the CA key".into())
}

#[test]
fn empty_nodes_are_a_new_cluster_with_or_without_the_flag() {
    let o = obs(vec![fresh("n1"), fresh("n2")], not_tried());
    assert!(matches!(decide(&o, false), Decision::New));
    assert!(matches!(decide(&o, true), Decision::New));
}

#[test]
fn the_secret_is_recovered_when_its_ca_is_the_nodes_ca() {
    let o = obs(
        vec![running("n1", "CA-A"), fresh("n2")],
        SecretLookup::Found {
            json: state_json("CA-A", "prod"),
            via: "n1".into(),
        },
    );
    match decide(&o, false) {
        Decision::Recover { source, state } => {
            assert!(
                source.contains("Secret kube-system/full-cluster-state"),
                "{source}"
            );
            assert!(source.contains("n1"), "{source}");
            assert_eq!(state.current_state.rke_config.unwrap().cluster_name, "prod");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_agent_copy_is_used_when_the_secret_cannot_be_read() {
    let mut n2 = running("n2", "CA-A");
    n2.agent_state = Some(state_json("CA-A", "from-agent"));
    let o = obs(
        vec![running("n1", "CA-A"), n2],
        SecretLookup::Failed(vec!["n1: connection refused".into()]),
    );
    match decide(&o, false) {
        Decision::Recover { source, state } => {
            assert_eq!(source, "the snapshot agent's copy on n2");
            assert_eq!(
                state.current_state.rke_config.unwrap().cluster_name,
                "from-agent"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_copy_with_another_ca_is_never_recovered() {
    let mut n1 = running("n1", "CA-A");
    n1.agent_state = Some(state_json("CA-OLD", "stale"));
    let o = obs(
        vec![n1],
        SecretLookup::Found {
            json: state_json("CA-OTHER", "other"),
            via: "n1".into(),
        },
    );
    let Decision::Refuse { message } = decide(&o, false) else {
        panic!("a foreign CA was accepted");
    };
    assert!(message.contains("is not the one on the nodes"), "{message}");
    assert!(message.contains(&fingerprint("CA-A")), "{message}");
}

#[test]
fn a_cluster_without_recoverable_state_is_refused_with_the_way_out() {
    let mut n2 = fresh("n2");
    n2.containers = vec!["kubelet".into()];
    n2.unreadable = Some("no image to read files with".into());
    let o = obs(
        vec![running("n1", "CA-A"), n2, fresh("n3")],
        SecretLookup::Failed(vec!["n1: API server not answering".into()]),
    );
    let Decision::Refuse { message } = decide(&o, false) else {
        panic!("not refused");
    };
    for want in [
        "there is no cluster state in cluster.rkestate",
        "n1: containers etcd, kubelet, /etc/kubernetes/ssl/kube-ca.pem (kube-ca sha256:",
        "n2: containers kubelet, files not read: no image to read files with",
        "Secret kube-system/full-cluster-state: n1: API server not answering",
        "snapshot agent state copy: on no etcd node",
        "rke util get-state-file",
        "rke etcd snapshot-restore --name NAME",
        "rke up --new-cluster-over-existing-data",
    ] {
        assert!(message.contains(want), "missing {want:?} in:\n{message}");
    }
    // A node without traces is not listed as holding anything.
    assert!(!message.contains("n3:"), "{message}");
}

#[test]
fn the_flag_builds_a_new_cluster_and_says_what_is_lost() {
    let o = obs(
        vec![running("n1", "CA-A")],
        SecretLookup::Found {
            json: state_json("CA-A", "prod"),
            via: "n1".into(),
        },
    );
    let Decision::NewOverExisting { warning } = decide(&o, true) else {
        panic!("the flag was ignored");
    };
    assert!(warning.contains("the old cluster is lost"), "{warning}");
    assert!(
        warning.contains("n1: containers etcd, kubelet"),
        "{warning}"
    );
    assert!(warning.contains("recoverable from Secret"), "{warning}");
}

#[test]
fn unreadable_or_empty_copies_are_reported_not_recovered() {
    let mut n1 = running("n1", "CA-A");
    n1.agent_state = Some("{ truncated".into());
    let empty = FullState::<RkeConfig>::default()
        .to_compact_string()
        .unwrap();
    let o = obs(
        vec![n1],
        SecretLookup::Found {
            json: empty,
            via: "n1".into(),
        },
    );
    let Decision::Refuse { message } = decide(&o, false) else {
        panic!("not refused");
    };
    assert!(message.contains("holds no cluster"), "{message}");
    assert!(
        message.contains("the snapshot agent's copy on n1: unreadable"),
        "{message}"
    );
}

#[test]
fn without_a_ca_on_any_node_the_secret_is_taken_as_read() {
    // Containers but no readable files: the Secret came from this cluster's own API.
    let mut n1 = fresh("n1");
    n1.containers = vec!["kube-apiserver".into()];
    let o = obs(
        vec![n1],
        SecretLookup::Found {
            json: state_json("CA-A", "prod"),
            via: "n1".into(),
        },
    );
    assert!(matches!(decide(&o, false), Decision::Recover { .. }));
}

#[test]
fn a_node_that_could_not_be_checked_is_not_taken_for_empty() {
    let mut n2 = fresh("n2");
    n2.unreadable = Some("listing containers: engine gone".into());
    let o = obs(vec![fresh("n1"), n2], not_tried());
    let Decision::Refuse { message } = decide(&o, false) else {
        panic!("an unchecked node was taken for an empty one");
    };
    assert!(
        message.contains("n2: listing containers: engine gone"),
        "{message}"
    );
    assert!(matches!(decide(&o, true), Decision::New));
}

#[test]
fn only_component_containers_count_as_a_cluster() {
    let mut n1 = fresh("n1");
    n1.containers = vec!["rke-health-test-etcd".into(), "some-tool".into()];
    let o = obs(vec![n1], not_tried());
    assert!(matches!(decide(&o, false), Decision::New));

    let mut n1 = fresh("n1");
    n1.containers = vec!["old-kube-apiserver".into(), "rke-health-test-etcd".into()];
    let o = obs(vec![n1], not_tried());
    let Decision::Refuse { message } = decide(&o, false) else {
        panic!("a leftover component was not taken for a cluster");
    };
    assert!(
        message.contains("n1: containers old-kube-apiserver\n"),
        "{message}"
    );
}

#[test]
fn nodes_carrying_the_planned_ca_are_an_unfinished_run_of_this_state() {
    // A first `rke up` failed halfway: no currentState, no Secret yet, but the nodes carry
    // the CA of the state file's desiredState.
    let mut o = obs(
        vec![running("n1", "CA-A")],
        SecretLookup::Failed(vec!["n1: the cluster has no such Secret".into()]),
    );
    o.planned_ca = Some("CA-A".into());
    assert!(matches!(decide(&o, false), Decision::Unfinished));
    o.planned_ca = None;
    assert!(matches!(decide(&o, false), Decision::Refuse { .. }));
}
