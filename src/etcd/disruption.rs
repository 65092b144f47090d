//! The rule for stopping etcd members on purpose (a restart for a new spec or certificate, a
//! removal), decided from the member list and each member's health as data.
//!
//! The rule: a change that takes the set S of voters out is safe iff the healthy voters outside
//! S are at least a quorum (a strict majority) of all voters. etcd commits nothing without a
//! quorum of the configured voters, whatever their state, so the healthy members left while S
//! is out must carry it by themselves. Members roll one at a time, so each restart is its own
//! S of one: in a 5-member cluster with one member down, restarting another keeps 3 of 5 and
//! is allowed; in a 3-member cluster with one down, restarting another leaves 1 of 3 and is
//! refused.
//!
//! One exception for restarts: when every voter is healthy, a restart is allowed even if the
//! cluster is too small to stay available during it (1 or 2 members: nothing better exists,
//! and every member comes back). The same holds for replacing every member at once (a CA
//! rotation), which is an outage by design and needs every member to form the cluster again.
//! Removals get no exception: their quorum shrinks for good. A cluster without a quorum
//! already is refused every change, even restarting a member that is down: why it lost quorum
//! is the operator's to find out. Learners never vote, so they neither count towards quorum
//! nor need to be healthy.

use super::member::Member;
use crate::error::{ErrorKind, classified};

/// One member and what its health check said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberHealth {
    pub member: Member,
    /// The node that runs it, as messages name it (`node3 (10.0.0.3)`); `None` when no
    /// connected node has its peer address.
    pub node: Option<String>,
    /// `None` when healthy, else why not.
    pub error: Option<String>,
}

impl MemberHealth {
    fn is_healthy(&self) -> bool {
        self.error.is_none()
    }

    fn describe(&self) -> String {
        match &self.node {
            Some(node) => format!("{} on {node}", self.member),
            None => format!("{} (on no connected node)", self.member),
        }
    }
}

/// A change that stops members, by member id.
#[derive(Debug, Clone, Copy)]
pub enum Disruption<'a> {
    /// Restart these members one at a time, each healthy again before the next.
    Roll(&'a [u64]),
    /// Restart every member at once.
    RestartAll,
    /// Remove these members (one at a time), their containers stopped after.
    Remove(&'a [u64]),
}

/// Refuse `change` when it could leave the cluster without a quorum of healthy voters (see the
/// module's rule), naming the unhealthy members and what to do.
pub fn check_disruption(health: &[MemberHealth], change: Disruption<'_>) -> anyhow::Result<()> {
    let voters: Vec<&MemberHealth> = health.iter().filter(|h| h.member.is_voter()).collect();
    let total = voters.len();
    let quorum = total / 2 + 1;
    let all_healthy = voters.iter().all(|h| h.is_healthy());
    let healthy_outside = |out: &[u64]| {
        voters
            .iter()
            .filter(|h| h.is_healthy() && !out.contains(&h.member.id))
            .count()
    };
    let targets = |ids: &[u64]| -> Vec<&MemberHealth> {
        voters
            .iter()
            .copied()
            .filter(|h| ids.contains(&h.member.id))
            .collect()
    };
    let refusal = match change {
        Disruption::Roll(ids) => {
            if all_healthy {
                return Ok(());
            }
            // The first member of the roll that could not go: the roll stops there anyway.
            let Some(first) = targets(ids)
                .into_iter()
                .find(|h| healthy_outside(&[h.member.id]) < quorum)
            else {
                return Ok(());
            };
            format!(
                "refusing to restart etcd member {}: while it restarts only {} of {total} voting \
                 members would be healthy, and etcd needs {quorum} for a quorum",
                first.describe(),
                healthy_outside(&[first.member.id]),
            )
        }
        Disruption::RestartAll => {
            if all_healthy {
                return Ok(());
            }
            format!(
                "refusing to restart all {total} etcd members at once (the CA changes): they can \
                 only form the cluster again if every member is healthy now"
            )
        }
        Disruption::Remove(ids) => {
            let leaving = targets(ids);
            let staying = healthy_outside(ids);
            if leaving.is_empty() || staying >= quorum {
                return Ok(());
            }
            let names: Vec<String> = leaving.iter().map(|h| h.describe()).collect();
            format!(
                "refusing to remove etcd member(s) {}: only {staying} of the {total} voting \
                 members that stay would be healthy, and etcd needs {quorum} for a quorum",
                names.join(", ")
            )
        }
    };
    let unhealthy: Vec<String> = voters
        .iter()
        .filter_map(|h| {
            let error = h.error.as_ref()?;
            Some(format!("{}: {error}", h.describe()))
        })
        .collect();
    Err(classified(
        ErrorKind::Etcd,
        format!(
            "{refusal}. Unhealthy: {}. Bring the unhealthy members back (on their node: `docker start etcd`; `docker logs etcd` says why it stopped) and run \
             rke up again; a member lost for good can be removed with `etcdctl member remove \
             ID` on a healthy member, after which rke up adds its node back as a new member",
            unhealthy.join("; ")
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::kind_of;

    /// Members 1..=n, healthy except those in `down`.
    fn cluster(n: u64, down: &[u64]) -> Vec<MemberHealth> {
        (1..=n)
            .map(|id| MemberHealth {
                member: Member {
                    id,
                    name: format!("etcd-node{id}"),
                    peer_urls: vec![format!("https://10.0.0.{id}:2380")],
                    client_urls: vec![],
                    is_learner: false,
                },
                node: Some(format!("node{id} (10.0.0.{id})")),
                error: down.contains(&id).then(|| "connection refused".to_string()),
            })
            .collect()
    }

    #[test]
    fn a_healthy_cluster_rolls_whatever_its_size() {
        for n in 1..=5 {
            let ids: Vec<u64> = (1..=n).collect();
            check_disruption(&cluster(n, &[]), Disruption::Roll(&ids)).unwrap();
            check_disruption(&cluster(n, &[]), Disruption::RestartAll).unwrap();
        }
    }

    #[test]
    fn three_members_with_one_down_refuse_restarting_another() {
        let err = check_disruption(&cluster(3, &[3]), Disruption::Roll(&[1, 2, 3])).unwrap_err();
        assert_eq!(kind_of(&err), ErrorKind::Etcd);
        let text = err.to_string();
        assert!(
            text.contains(
                "refusing to restart etcd member etcd-node1 (1) on node1 (10.0.0.1): while it \
                 restarts only 1 of 3 voting members would be healthy, and etcd needs 2"
            ),
            "{text}"
        );
        assert!(
            text.contains("Unhealthy: etcd-node3 (3) on node3 (10.0.0.3): connection refused."),
            "{text}"
        );
        assert!(text.contains("docker start etcd"), "{text}");
    }

    #[test]
    fn restarting_only_the_member_that_is_down_is_safe() {
        // The other two keep the quorum while it comes back.
        check_disruption(&cluster(3, &[3]), Disruption::Roll(&[3])).unwrap();
        check_disruption(&cluster(3, &[3]), Disruption::Roll(&[])).unwrap();
    }

    #[test]
    fn five_members_with_one_down_may_restart_another() {
        check_disruption(&cluster(5, &[5]), Disruption::Roll(&[1, 2, 3, 4])).unwrap();
        let err = check_disruption(&cluster(5, &[4, 5]), Disruption::Roll(&[1])).unwrap_err();
        assert!(
            err.to_string().contains("only 2 of 5") && err.to_string().contains("needs 3"),
            "{err}"
        );
    }

    #[test]
    fn restarting_all_at_once_needs_every_member() {
        let err = check_disruption(&cluster(5, &[2]), Disruption::RestartAll).unwrap_err();
        assert!(
            err.to_string()
                .contains("refusing to restart all 5 etcd members at once"),
            "{err}"
        );
        assert!(err.to_string().contains("etcd-node2 (2)"), "{err}");
    }

    #[test]
    fn small_clusters_roll_only_when_healthy() {
        // 2 members: the restart costs availability either way, but with one down it is
        // the last member that would stop.
        assert!(check_disruption(&cluster(2, &[2]), Disruption::Roll(&[1])).is_err());
        // With one of two down the cluster has no quorum already: even restarting the member
        // that is down is refused, as an operator must look at it first.
        let err = check_disruption(&cluster(2, &[2]), Disruption::Roll(&[2])).unwrap_err();
        assert!(err.to_string().contains("only 1 of 2"), "{err}");
    }

    #[test]
    fn removing_a_dead_member_is_safe_but_not_with_another_down() {
        check_disruption(&cluster(3, &[3]), Disruption::Remove(&[3])).unwrap();
        let err = check_disruption(&cluster(3, &[2]), Disruption::Remove(&[3])).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains(
                "refusing to remove etcd member(s) etcd-node3 (3) on node3 (10.0.0.3): only 1 \
                 of the 3 voting members that stay would be healthy"
            ),
            "{text}"
        );
        assert!(text.contains("Unhealthy: etcd-node2 (2)"), "{text}");
        // Removals get no all-healthy exception: 2 of 2 losing one is refused.
        assert!(check_disruption(&cluster(2, &[]), Disruption::Remove(&[2])).is_err());
        check_disruption(&cluster(3, &[]), Disruption::Remove(&[9])).unwrap();
    }

    #[test]
    fn learners_do_not_count_and_need_not_be_healthy() {
        let mut c = cluster(4, &[4]);
        c[3].member.is_learner = true;
        // 3 voters, all healthy: the learner being down changes nothing.
        check_disruption(&c, Disruption::Roll(&[1, 2, 3, 4])).unwrap();
        check_disruption(&c, Disruption::RestartAll).unwrap();
    }

    #[test]
    fn an_unstarted_member_counts_as_a_voter_that_is_down() {
        let mut c = cluster(4, &[4]);
        c[3].member.name = String::new();
        c[3].node = None;
        let err = check_disruption(&c, Disruption::Roll(&[1])).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("only 2 of 4"), "{text}");
        assert!(
            text.contains("<unstarted> (4) (on no connected node): connection refused"),
            "{text}"
        );
    }
}
