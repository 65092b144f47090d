use super::*;
use crate::config::RkeTaint;

#[test]
fn missing_address_user_and_roles() {
    let mut c = valid();
    c.nodes[1].address.clear();
    // The name defaults from the address: no second error for the same cause.
    c.nodes[1].hostname_override.clear();
    c.nodes[1].user.clear();
    c.nodes[2].role.clear();
    assert_problems(
        &c,
        &[
            (E, "nodes[1].address", "address is required"),
            (E, "nodes[1].user", "user is required"),
            (E, "nodes[2].role", "role is empty"),
            (W, "nodes", "2 etcd nodes"),
        ],
    );
}

#[test]
fn unknown_and_repeated_roles() {
    let mut c = valid();
    c.nodes[0].role = vec!["etcd".into(), "control-plane".into(), "etcd".into()];
    assert_problems(
        &c,
        &[
            (E, "nodes[0].role[1]", "did you mean \"controlplane\""),
            (W, "nodes[0].role[2]", "listed twice"),
        ],
    );
}

#[test]
fn each_missing_plane_is_its_own_error() {
    let mut c = valid();
    c.nodes = vec![node("10.0.0.9", &["worker"])];
    assert_problems(
        &c,
        &[
            (E, "nodes", "no node has role etcd"),
            (E, "nodes", "no node has role controlplane"),
        ],
    );
    c.nodes = vec![node("10.0.0.9", &["etcd", "controlplane"])];
    assert_problems(&c, &[(E, "nodes", "no node has role worker")]);
}

#[test]
fn external_etcd_replaces_etcd_nodes() {
    let mut c = valid();
    for n in &mut c.nodes {
        n.role.retain(|r| r != "etcd");
    }
    let etcd = &mut c.services.etcd;
    etcd.external_urls = vec!["https://10.1.0.5:2379".into()];
    etcd.ca_cert = "ca".into();
    etcd.cert = "cert".into();
    etcd.key = "key".into();
    etcd.path = "/etcd".into();
    assert_problems(&c, &[]);

    c.nodes[0].role.push("etcd".into());
    assert_problems(
        &c,
        &[(E, "services.etcd.external_urls", "use one or the other")],
    );
}

#[test]
fn hostname_override_must_be_dns_1123() {
    let mut c = valid();
    c.nodes[0].hostname_override = "Node_1".into();
    c.nodes[1].hostname_override = "node-2.example.com".into();
    assert_problems(
        &c,
        &[(
            E,
            "nodes[0].hostname_override",
            "not a valid Kubernetes node name",
        )],
    );
}

#[test]
fn duplicates_name_both_nodes() {
    let mut c = valid();
    c.nodes[2].address = "10.0.0.1".into();
    c.nodes[2].hostname_override = "10.0.0.1".into();
    assert_problems(
        &c,
        &[(E, "nodes[2].address", "used by nodes[0] and nodes[2]")],
    );

    let mut c = valid();
    c.nodes[1].hostname_override = "10.0.0.3".into();
    assert_problems(
        &c,
        &[(
            E,
            "nodes[2].hostname_override",
            "used by nodes[1] and nodes[2]",
        )],
    );
}

#[test]
fn ssh_port_must_be_a_port() {
    let mut c = valid();
    c.nodes[0].port = "2222".into();
    assert_problems(&c, &[]);
    c.nodes[0].port = "70000".into();
    assert_problems(&c, &[(E, "nodes[0].port", "outside 1-65535")]);
}

#[test]
fn labels_are_checked_by_key_and_value() {
    let mut c = valid();
    let labels = &mut c.nodes[0].labels;
    labels.insert("app.example.com/tier".into(), "front_end".into());
    labels.insert("bad key".into(), "ok".into());
    labels.insert("node-role.kubernetes.io/edge".into(), "not ok!".into());
    assert_problems(
        &c,
        &[
            (E, "nodes[0].labels[\"bad key\"]", "label key"),
            (
                E,
                "nodes[0].labels[\"node-role.kubernetes.io/edge\"]",
                "label value",
            ),
        ],
    );
}

#[test]
fn taints_are_checked_field_by_field() {
    let mut c = valid();
    c.nodes[1].taints = vec![
        RkeTaint {
            key: "dedicated".into(),
            value: "gpu".into(),
            effect: "NoSchedule".into(),
            ..Default::default()
        },
        RkeTaint {
            key: "-bad".into(),
            value: "a b".into(),
            effect: "NoScheduled".into(),
            ..Default::default()
        },
    ];
    assert_problems(
        &c,
        &[
            (E, "nodes[1].taints[1].key", "taint key"),
            (E, "nodes[1].taints[1].value", "taint value"),
            (E, "nodes[1].taints[1].effect", "did you mean"),
        ],
    );
}

#[test]
fn etcd_member_count_warnings() {
    let mut c = valid();
    c.nodes[2].role = vec!["worker".into()];
    assert_problems(&c, &[(W, "nodes", "use an odd number")]);

    let mut c = valid();
    c.nodes = (1..=9)
        .map(|i| node(&format!("10.0.0.{i}"), &["etcd", "controlplane", "worker"]))
        .collect();
    assert_problems(&c, &[(W, "nodes", "more than 7")]);
}
