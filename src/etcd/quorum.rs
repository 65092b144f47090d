//! The quorum rule for removing etcd members.
//!
//! Members are removed one at a time, and a member being removed is usually already gone (its
//! node left the cluster). Each removal is a raft proposal that needs a majority of the voters
//! at that moment, so the first one is the hardest: the voters that stay must by themselves be a
//! majority of the current voters. Learners never vote, so removing them is always safe.

use super::member::Member;
use crate::error::{ErrorKind, classified};

/// Refuse removing the members named in `removing` (etcd member names, `etcd-<host>`) when the
/// voters left could not carry the removal on their own. Names that are not members are
/// ignored: there is nothing to remove. `context` names the cluster or node in the message.
pub fn check_quorum(members: &[Member], removing: &[&str], context: &str) -> anyhow::Result<()> {
    let voters: Vec<&Member> = members.iter().filter(|m| m.is_voter()).collect();
    let leaving: Vec<&Member> = voters
        .iter()
        .copied()
        .filter(|m| removing.contains(&m.name.as_str()))
        .collect();
    if leaving.is_empty() {
        return Ok(());
    }
    let total = voters.len();
    let staying = total - leaving.len();
    let quorum = total / 2 + 1;
    if staying >= quorum {
        return Ok(());
    }
    let names: Vec<String> = leaving.iter().map(|m| m.to_string()).collect();
    let reason = if staying == 0 {
        format!("no voting member would remain of {total}")
    } else {
        format!(
            "only {staying} of {total} voting members would remain, and a removal needs a \
             quorum of {quorum}"
        )
    };
    Err(classified(
        ErrorKind::Etcd,
        format!(
            "etcd cluster via {context}: refusing to remove {}: {reason}; remove fewer members \
             per run, or restore the cluster from a snapshot",
            names.join(", ")
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::kind_of;

    fn members(names: &[&str]) -> Vec<Member> {
        names
            .iter()
            .enumerate()
            .map(|(i, n)| Member {
                id: i as u64 + 1,
                name: n.to_string(),
                peer_urls: vec![],
                client_urls: vec![],
                is_learner: false,
            })
            .collect()
    }

    #[test]
    fn one_of_three_may_go() {
        let m = members(&["etcd-a", "etcd-b", "etcd-c"]);
        check_quorum(&m, &["etcd-c"], "n1").unwrap();
        check_quorum(&m, &[], "n1").unwrap();
    }

    #[test]
    fn two_of_three_is_refused_with_the_reason() {
        let m = members(&["etcd-a", "etcd-b", "etcd-c"]);
        let err = check_quorum(&m, &["etcd-b", "etcd-c"], "node1").unwrap_err();
        assert_eq!(kind_of(&err), ErrorKind::Etcd);
        let text = err.to_string();
        assert!(text.contains("via node1"), "{text}");
        assert!(text.contains("etcd-b (2), etcd-c (3)"), "{text}");
        assert!(
            text.contains("only 1 of 3 voting members would remain"),
            "{text}"
        );
        assert!(text.contains("quorum of 2"), "{text}");
    }

    #[test]
    fn removing_every_voter_is_refused() {
        let m = members(&["etcd-a"]);
        let err = check_quorum(&m, &["etcd-a"], "n").unwrap_err();
        assert!(
            err.to_string()
                .contains("no voting member would remain of 1")
        );
    }

    #[test]
    fn even_clusters_need_a_strict_majority() {
        // 4 voters: quorum 3, so only one may go.
        let m = members(&["etcd-a", "etcd-b", "etcd-c", "etcd-d"]);
        check_quorum(&m, &["etcd-d"], "n").unwrap();
        assert!(check_quorum(&m, &["etcd-c", "etcd-d"], "n").is_err());
        // 5 voters: quorum 3, two may go.
        let m = members(&["etcd-a", "etcd-b", "etcd-c", "etcd-d", "etcd-e"]);
        check_quorum(&m, &["etcd-d", "etcd-e"], "n").unwrap();
    }

    #[test]
    fn learners_and_strangers_do_not_count() {
        let mut m = members(&["etcd-a", "etcd-b", "etcd-c"]);
        m[2].is_learner = true;
        // Two voters: removing the learner is free, removing a voter would leave 1 of 2.
        check_quorum(&m, &["etcd-c", "etcd-x"], "n").unwrap();
        assert!(check_quorum(&m, &["etcd-b"], "n").is_err());
    }
}
