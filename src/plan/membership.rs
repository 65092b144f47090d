//! Which etcd members to remove and add, and the `--initial-cluster` each etcd node starts
//! with. Pure: the inputs are the config's etcd nodes, the live member list (if any member
//! answers) and the membership flags of the etcd containers already on the nodes.

use std::collections::BTreeMap;

use crate::error::{ErrorKind, classified};
use crate::etcd::{Member, peer_url};
use crate::provision::spec::{EtcdClusterState, EtcdMembership};

/// An etcd node of `cluster.yml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtcdNode {
    /// `hostname_override`.
    pub name: String,
    /// Internal address (the one etcd peers use).
    pub internal: String,
}

impl EtcdNode {
    pub fn peer_url(&self) -> String {
        peer_url(&self.internal)
    }
}

/// What the etcd plane must do this run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembershipPlan {
    /// No member answered: every etcd node founds a new cluster together.
    pub fresh: bool,
    /// Per etcd node (`hostname_override`): how its container starts.
    pub memberships: BTreeMap<String, EtcdMembership>,
    /// Members to take out, before anything is added.
    pub remove: Vec<Member>,
    /// Nodes to add as members one at a time, in this order.
    pub add: Vec<EtcdNode>,
}

impl MembershipPlan {
    pub fn changes_membership(&self) -> bool {
        !self.remove.is_empty() || !self.add.is_empty()
    }
}

/// Plan the membership. `members` is `None` when no member could be asked (a new cluster);
/// `running` holds the membership flags of etcd containers already on the nodes, which a
/// member keeps: etcd ignores them once its data directory exists, and rewriting them would
/// restart etcd for nothing.
pub fn plan(
    nodes: &[EtcdNode],
    members: Option<&[Member]>,
    running: &BTreeMap<String, EtcdMembership>,
) -> anyhow::Result<MembershipPlan> {
    let Some(members) = members else {
        let all = EtcdMembership {
            members: nodes
                .iter()
                .map(|n| (n.name.clone(), n.internal.clone()))
                .collect(),
            state: EtcdClusterState::New,
        };
        return Ok(MembershipPlan {
            fresh: true,
            memberships: nodes
                .iter()
                .map(|n| (n.name.clone(), all.clone()))
                .collect(),
            remove: Vec::new(),
            add: Vec::new(),
        });
    };

    let config_node_for = |m: &Member| nodes.iter().find(|n| m.has_peer_url(&n.peer_url()));
    let remove: Vec<Member> = members
        .iter()
        .filter(|m| config_node_for(m).is_none())
        .cloned()
        .collect();
    let started: Vec<&EtcdNode> = nodes
        .iter()
        .filter(|n| {
            members
                .iter()
                .any(|m| m.has_peer_url(&n.peer_url()) && !m.name.is_empty())
        })
        .collect();
    if started.is_empty() {
        return Err(classified(
            ErrorKind::Etcd,
            format!(
                "none of the etcd nodes in cluster.yml ({}) is a member of the running etcd \
                 cluster ({}): the etcd plane would be replaced, losing its data. Keep at least \
                 one current member in cluster.yml, or restore the cluster from a snapshot",
                nodes
                    .iter()
                    .map(|n| n.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                members
                    .iter()
                    .map(|m| m.peer_urls.join(" "))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }

    // The member list after the removals: started members, then members that were added by
    // an interrupted run but never started (they must be listed and started first).
    let mut list: Vec<(String, String)> = started
        .iter()
        .map(|n| (n.name.clone(), n.internal.clone()))
        .collect();
    let pending: Vec<&EtcdNode> = nodes
        .iter()
        .filter(|n| {
            members
                .iter()
                .any(|m| m.has_peer_url(&n.peer_url()) && m.name.is_empty())
        })
        .collect();
    list.extend(pending.iter().map(|n| (n.name.clone(), n.internal.clone())));
    let mut add: Vec<EtcdNode> = pending.iter().map(|n| (*n).clone()).collect();
    let mut memberships = BTreeMap::new();
    for n in &pending {
        memberships.insert(n.name.clone(), existing(&list));
    }
    for n in nodes {
        if members.iter().any(|m| m.has_peer_url(&n.peer_url())) {
            continue;
        }
        list.push((n.name.clone(), n.internal.clone()));
        memberships.insert(n.name.clone(), existing(&list));
        add.push(n.clone());
    }
    for n in started {
        let keep = running.get(&n.name).cloned();
        memberships.insert(n.name.clone(), keep.unwrap_or_else(|| existing(&list)));
    }
    Ok(MembershipPlan {
        fresh: false,
        memberships,
        remove,
        add,
    })
}

fn existing(list: &[(String, String)]) -> EtcdMembership {
    EtcdMembership {
        members: list.to_vec(),
        state: EtcdClusterState::Existing,
    }
}

/// The membership an etcd container was started with, from its arguments
/// (`--initial-cluster=etcd-a=https://10.0.0.1:2380,...`, `--initial-cluster-state=new`).
pub fn from_args(args: &[String]) -> Option<EtcdMembership> {
    let value = |flag: &str| {
        args.iter()
            .find_map(|a| a.strip_prefix(flag)?.strip_prefix('='))
    };
    let state = match value("--initial-cluster-state")? {
        "new" => EtcdClusterState::New,
        "existing" => EtcdClusterState::Existing,
        _ => return None,
    };
    let members = value("--initial-cluster")?
        .split(',')
        .map(|entry| {
            let (name, url) = entry.split_once('=')?;
            let name = name.strip_prefix("etcd-")?;
            let authority = url.strip_prefix("https://")?;
            let host = authority.rsplit_once(':')?.0;
            let host = host.trim_start_matches('[').trim_end_matches(']');
            Some((name.to_string(), host.to_string()))
        })
        .collect::<Option<Vec<_>>>()?;
    Some(EtcdMembership { members, state })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, ip: &str) -> EtcdNode {
        EtcdNode {
            name: name.into(),
            internal: ip.into(),
        }
    }

    fn member(id: u64, name: &str, ip: &str) -> Member {
        Member {
            id,
            name: name.into(),
            peer_urls: vec![peer_url(ip)],
            client_urls: vec![],
            is_learner: false,
        }
    }

    fn names(m: &EtcdMembership) -> Vec<&str> {
        m.members.iter().map(|(n, _)| n.as_str()).collect()
    }

    #[test]
    fn new_cluster_when_no_member_answers() {
        let nodes = [node("a", "10.0.0.1"), node("b", "10.0.0.2")];
        let p = plan(&nodes, None, &BTreeMap::new()).unwrap();
        assert!(p.fresh && !p.changes_membership());
        assert_eq!(p.memberships["b"].state, EtcdClusterState::New);
        assert_eq!(names(&p.memberships["b"]), ["a", "b"]);
    }

    #[test]
    fn running_members_keep_their_flags_so_nothing_restarts() {
        let nodes = [node("a", "10.0.0.1"), node("b", "10.0.0.2")];
        let members = [
            member(1, "etcd-a", "10.0.0.1"),
            member(2, "etcd-b", "10.0.0.2"),
        ];
        let original = plan(&nodes, None, &BTreeMap::new()).unwrap().memberships;
        let p = plan(&nodes, Some(&members), &original).unwrap();
        assert!(!p.fresh && !p.changes_membership());
        assert_eq!(p.memberships, original);
    }

    #[test]
    fn removals_first_then_additions_one_at_a_time() {
        let nodes = [
            node("a", "10.0.0.1"),
            node("b", "10.0.0.2"),
            node("d", "10.0.0.4"),
            node("e", "10.0.0.5"),
        ];
        let members = [
            member(1, "etcd-a", "10.0.0.1"),
            member(2, "etcd-b", "10.0.0.2"),
            member(3, "etcd-c", "10.0.0.3"),
        ];
        let p = plan(&nodes, Some(&members), &BTreeMap::new()).unwrap();
        assert_eq!(p.remove.iter().map(|m| m.id).collect::<Vec<_>>(), [3]);
        assert_eq!(
            p.add.iter().map(|n| n.name.as_str()).collect::<Vec<_>>(),
            ["d", "e"]
        );
        assert_eq!(names(&p.memberships["d"]), ["a", "b", "d"]);
        assert_eq!(names(&p.memberships["e"]), ["a", "b", "d", "e"]);
        assert_eq!(p.memberships["e"].state, EtcdClusterState::Existing);
        assert_eq!(names(&p.memberships["a"]), ["a", "b", "d", "e"]);
    }

    #[test]
    fn a_member_added_but_never_started_is_started_first() {
        let nodes = [
            node("a", "10.0.0.1"),
            node("n", "10.0.0.9"),
            node("m", "10.0.0.8"),
        ];
        let members = [member(1, "etcd-a", "10.0.0.1"), member(9, "", "10.0.0.9")];
        let p = plan(&nodes, Some(&members), &BTreeMap::new()).unwrap();
        assert_eq!(
            p.add.iter().map(|n| n.name.as_str()).collect::<Vec<_>>(),
            ["n", "m"]
        );
        assert_eq!(names(&p.memberships["n"]), ["a", "n"]);
        assert_eq!(names(&p.memberships["m"]), ["a", "n", "m"]);
    }

    #[test]
    fn replacing_every_member_is_refused() {
        let nodes = [node("x", "10.0.1.1")];
        let members = [member(1, "etcd-a", "10.0.0.1")];
        let err = plan(&nodes, Some(&members), &BTreeMap::new()).unwrap_err();
        assert!(format!("{err}").contains("snapshot"), "{err}");
        assert_eq!(crate::error::kind_of(&err), ErrorKind::Etcd);
    }

    #[test]
    fn flags_round_trip_through_container_args() {
        let m = EtcdMembership {
            members: vec![
                ("a".into(), "10.0.0.1".into()),
                ("b".into(), "fd00::2".into()),
            ],
            state: EtcdClusterState::Existing,
        };
        let args = vec![
            "--name=etcd-a".to_string(),
            format!("--initial-cluster={}", m.initial_cluster()),
            "--initial-cluster-state=existing".to_string(),
        ];
        assert_eq!(from_args(&args), Some(m));
        assert_eq!(from_args(&["--name=x".to_string()]), None);
    }
}
