//! `nodes:` checks: required fields, roles, names, labels, taints, duplicates, plane sizes.

use std::collections::HashMap;

use super::net;
use super::report::Report;
use super::suggest::one_of;
use super::syntax;
use crate::config::RkeConfig;
use crate::config::path::{child, index};
use crate::config::{KNOWN_ROLES, ROLE_CONTROLPLANE, ROLE_ETCD, ROLE_WORKER, RkeConfigNode};

pub fn check(cfg: &RkeConfig, r: &mut Report) {
    for (i, node) in cfg.nodes.iter().enumerate() {
        check_node(&index("nodes", i), node, r);
    }
    check_duplicates(&cfg.nodes, r);
    check_planes(cfg, r);
}

fn check_node(p: &str, node: &RkeConfigNode, r: &mut Report) {
    if node.address.trim().is_empty() {
        r.error(
            child(p, "address"),
            "address is required (the IP or DNS name rke connects to over SSH)",
        );
    }
    if node.user.trim().is_empty() {
        r.error(child(p, "user"), "user is required (the SSH user)");
    }
    if !node.port.is_empty()
        && let Err(why) = net::port(&node.port)
    {
        r.error(child(p, "port"), format!("SSH port {why}"));
    }
    check_roles(p, &node.role, r);
    // An empty name follows from an empty address, which is already reported.
    let name_from_missing_address = node.hostname_override.is_empty() && node.address.is_empty();
    if !name_from_missing_address
        && let Err(why) = syntax::dns1123_subdomain(&node.hostname_override)
    {
        r.error(
            child(p, "hostname_override"),
            format!(
                "{:?} is not a valid Kubernetes node name: {why} (when hostname_override is \
                 not set it defaults to the address, lower-cased)",
                node.hostname_override
            ),
        );
    }
    let labels = child(p, "labels");
    for (key, value) in &node.labels {
        let at = child(&labels, key);
        if let Err(why) = syntax::qualified_name(key) {
            r.error(&at, format!("label key {key:?} is invalid: {why}"));
        }
        if let Err(why) = syntax::label_value(value) {
            r.error(&at, format!("label value {value:?} is invalid: {why}"));
        }
    }
    let taints = child(p, "taints");
    for (j, taint) in node.taints.iter().enumerate() {
        let at = index(&taints, j);
        if let Err(why) = syntax::qualified_name(&taint.key) {
            r.error(
                child(&at, "key"),
                format!("taint key {:?} is invalid: {why}", taint.key),
            );
        }
        if let Err(why) = syntax::label_value(&taint.value) {
            r.error(
                child(&at, "value"),
                format!("taint value {:?} is invalid: {why}", taint.value),
            );
        }
        if syntax::taint_effect(&taint.effect).is_err() {
            r.error(
                child(&at, "effect"),
                format!(
                    "taint effect {:?} is not valid: {}",
                    taint.effect,
                    one_of(&taint.effect, &syntax::TAINT_EFFECTS)
                ),
            );
        }
    }
}

fn check_roles(p: &str, roles: &[String], r: &mut Report) {
    let at = child(p, "role");
    if roles.is_empty() {
        r.error(
            &at,
            format!(
                "role is empty: give at least one of {}",
                KNOWN_ROLES.join(", ")
            ),
        );
        return;
    }
    for (j, role) in roles.iter().enumerate() {
        if !KNOWN_ROLES.contains(&role.as_str()) {
            r.error(
                index(&at, j),
                format!("unknown role {role:?}: {}", one_of(role, &KNOWN_ROLES)),
            );
        } else if roles[..j].contains(role) {
            r.warning(index(&at, j), format!("role {role:?} is listed twice"));
        }
    }
}

/// Addresses and node names must be unique: both name the node to SSH, etcd and Kubernetes.
fn check_duplicates(nodes: &[RkeConfigNode], r: &mut Report) {
    let mut by_address: HashMap<&str, usize> = HashMap::new();
    let mut by_name: HashMap<&str, usize> = HashMap::new();
    for (i, node) in nodes.iter().enumerate() {
        let p = index("nodes", i);
        let mut same_address = false;
        if !node.address.is_empty() {
            if let Some(&first) = by_address.get(node.address.as_str()) {
                same_address = true;
                r.error(
                    child(&p, "address"),
                    format!(
                        "address {:?} is used by nodes[{first}] and nodes[{i}]; each node must \
                         appear once",
                        node.address
                    ),
                );
            } else {
                by_address.insert(&node.address, i);
            }
        }
        if node.hostname_override.is_empty() {
            continue;
        }
        match by_name.get(node.hostname_override.as_str()) {
            // Same address already reported; the name clash follows from it.
            Some(_) if same_address => {}
            Some(&first) => r.error(
                child(&p, "hostname_override"),
                format!(
                    "node name {:?} is used by nodes[{first}] and nodes[{i}]; hostname_override \
                     (or the address it defaults to) must be unique",
                    node.hostname_override
                ),
            ),
            None => {
                by_name.insert(&node.hostname_override, i);
            }
        }
    }
}

/// Each plane needs a member; etcd may be external instead.
fn check_planes(cfg: &RkeConfig, r: &mut Report) {
    let count = |role: &str| cfg.nodes.iter().filter(|n| n.has_role(role)).count();
    let etcd = count(ROLE_ETCD);
    let external = !cfg.services.etcd.external_urls.is_empty();
    if etcd == 0 && !external {
        r.error(
            "nodes",
            "no node has role etcd: give at least one (three for fault tolerance), or set \
             services.etcd.external_urls",
        );
    }
    if etcd > 0 && external {
        r.error(
            "services.etcd.external_urls",
            format!(
                "external etcd is set but {etcd} node(s) also have role etcd: use one or the other"
            ),
        );
    }
    if count(ROLE_CONTROLPLANE) == 0 {
        r.error("nodes", "no node has role controlplane: give at least one");
    }
    if count(ROLE_WORKER) == 0 {
        r.error("nodes", "no node has role worker: give at least one");
    }
    if etcd > 0 && etcd % 2 == 0 {
        r.warning(
            "nodes",
            format!(
                "{etcd} etcd nodes tolerate no more failures than {}: use an odd number",
                etcd - 1
            ),
        );
    }
    if etcd > 7 {
        r.warning(
            "nodes",
            format!("{etcd} etcd nodes: more than 7 slows every write; 3 or 5 is usual"),
        );
    }
}
