//! The restore journal and what a run does about it. Before anything is stopped, a restore
//! writes a journal to every etcd node (`/opt/rke/etcd-restore/journal.json`): the snapshot and
//! the phase. Each member's previous data is moved aside (into `<data dir>/pre-restore`, see
//! [`super::keep`]) rather than deleted; only once the restored cluster is healthy is the
//! phase set to `restored`, the kept data deleted and the journal removed.
//!
//! The journal lives on the nodes, not in the state file: the restore itself replaces the state
//! file (with the snapshot's), the facts it describes (which data was moved aside) are on the
//! nodes, and a run from another machine with the same `cluster.yml` must see it too.
//!
//! [`decide`] is the whole policy, pure: journals observed on the nodes plus what was asked ->
//! what to do.

use serde::{Deserialize, Serialize};

/// The journal's directory on every etcd node (not under `prefix_path`, like the snapshots).
pub const JOURNAL_DIR: &str = "/opt/rke/etcd-restore";
pub const JOURNAL_FILE: &str = "journal.json";

/// How far a restore got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Members are being stopped, restored and started: the previous data may be moved aside.
    Restoring,
    /// The restored cluster was healthy; only the kept previous data is left to delete.
    Restored,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Journal {
    /// The snapshot being restored (its name, without `.zip`).
    pub snapshot: String,
    pub sha256: String,
    pub phase: Phase,
    /// Seconds since the epoch when the restore began.
    pub started: i64,
    /// Who ran it: `host pid`.
    pub by: String,
}

impl Journal {
    pub fn encode(&self) -> String {
        serde_json::to_string(self).expect("a journal always encodes")
    }

    /// The journal in `text`; `where_` names the node and file in the error.
    pub fn parse(text: &str, where_: &str) -> Result<Journal, String> {
        serde_json::from_str(text).map_err(|e| format!("{where_}: not a restore journal: {e}"))
    }
}

/// What an etcd node holds: its journal (absent, or unreadable with the reason).
#[derive(Debug, Clone)]
pub struct Observed {
    pub node: String,
    pub journal: Result<Option<Journal>, String>,
}

/// What the user asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// `rke etcd snapshot-restore --name N`.
    Restore { name: String },
    /// `rke etcd snapshot-restore --rollback`.
    Rollback,
    /// `rke up`.
    Up,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Nothing unfinished: go ahead.
    Proceed,
    /// A restore of `snapshot` reached a healthy cluster but its kept data was not deleted:
    /// delete it, then go ahead.
    CleanUp { snapshot: String },
    /// An interrupted restore of `snapshot`, asked again: restore it again over the restored
    /// or half-restored members, keeping the data from before the first attempt.
    Finish { snapshot: String },
    /// An interrupted restore of `snapshot`: put every member's previous data back.
    RollBack { snapshot: String },
    /// Do nothing; the message says why and what to run.
    Refuse(String),
}

/// The policy: `journals` from every etcd node, `request` from the command line.
pub fn decide(request: &Request, journals: &[Observed]) -> Action {
    let mut unreadable = Vec::new();
    let mut restoring: Vec<(&str, &Journal)> = Vec::new();
    let mut restored: Vec<(&str, &Journal)> = Vec::new();
    for o in journals {
        match &o.journal {
            Err(e) => unreadable.push(format!("node {}: {e}", o.node)),
            Ok(None) => {}
            Ok(Some(j)) if j.phase == Phase::Restoring => restoring.push((&o.node, j)),
            Ok(Some(j)) => restored.push((&o.node, j)),
        }
    }
    if !unreadable.is_empty() {
        return Action::Refuse(format!(
            "cannot read the restore journal ({JOURNAL_DIR}/{JOURNAL_FILE}): {}. Nothing was \
             changed; fix or remove that file",
            unreadable.join("; ")
        ));
    }
    // A journal is written to every node before anything stops, and `restored` only once the
    // cluster was healthy: one `restored` anywhere means the restore completed.
    if let Some((_, j)) = restored.first() {
        return match request {
            Request::Rollback => Action::Refuse(format!(
                "the restore of snapshot {} completed (the restored cluster was healthy); there \
                 is nothing to roll back. Its kept data is deleted by the next restore",
                j.snapshot
            )),
            Request::Up => Action::Proceed,
            Request::Restore { .. } => Action::CleanUp {
                snapshot: j.snapshot.clone(),
            },
        };
    }
    let Some((_, first)) = restoring.first() else {
        return match request {
            Request::Rollback => Action::Refuse(
                "there is no unfinished restore to roll back: no etcd node holds a restore \
                 journal"
                    .into(),
            ),
            _ => Action::Proceed,
        };
    };
    let snapshot = first.snapshot.clone();
    // Rolling back only puts back what each node kept, whichever snapshot it journals.
    if *request == Request::Rollback {
        return Action::RollBack { snapshot };
    }
    if let Some((node, other)) = restoring.iter().find(|(_, j)| j.snapshot != snapshot) {
        return Action::Refuse(format!(
            "the etcd nodes disagree on the unfinished restore: node {} journals snapshot {}, \
             node {node} snapshot {}. Run `rke etcd snapshot-restore --rollback` to put the \
             previous data back",
            restoring[0].0, snapshot, other.snapshot
        ));
    }
    let nodes: Vec<&str> = restoring.iter().map(|(n, _)| *n).collect();
    let how = format!(
        "run `rke etcd snapshot-restore --name {snapshot}` to finish it, or `rke etcd \
         snapshot-restore --rollback` to put back the data each member had before"
    );
    match request {
        Request::Rollback => Action::RollBack { snapshot },
        Request::Restore { name } if *name == snapshot => Action::Finish { snapshot },
        Request::Restore { name } => Action::Refuse(format!(
            "a restore of snapshot {snapshot} was interrupted (journal on {}); {how}, before \
             restoring {name}",
            nodes.join(", ")
        )),
        Request::Up => Action::Refuse(format!(
            "a restore of snapshot {snapshot} was interrupted (journal on {}): etcd may hold \
             the snapshot on some members and the previous data on others. Nothing was \
             changed; {how}",
            nodes.join(", ")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn j(snapshot: &str, phase: Phase) -> Journal {
        Journal {
            snapshot: snapshot.into(),
            sha256: "ab".repeat(32),
            phase,
            started: 1_700_000_000,
            by: "ws 42".into(),
        }
    }

    fn on(node: &str, journal: Option<Journal>) -> Observed {
        Observed {
            node: node.into(),
            journal: Ok(journal),
        }
    }

    fn restore(name: &str) -> Request {
        Request::Restore { name: name.into() }
    }

    #[test]
    fn journal_round_trips_and_names_its_place_when_bad() {
        let journal = j("s1", Phase::Restoring);
        let text = journal.encode();
        assert!(text.contains("\"phase\":\"restoring\""), "{text}");
        assert_eq!(Journal::parse(&text, "x"), Ok(journal));
        let err = Journal::parse("{", "node n1: /opt/rke/etcd-restore/journal.json").unwrap_err();
        assert!(err.starts_with("node n1: /opt/rke/etcd-restore/journal.json: "));
    }

    #[test]
    fn no_journal_anywhere_proceeds_and_has_nothing_to_roll_back() {
        let none = [on("a", None), on("b", None)];
        assert_eq!(decide(&restore("s"), &none), Action::Proceed);
        assert_eq!(decide(&Request::Up, &none), Action::Proceed);
        assert!(
            matches!(decide(&Request::Rollback, &none), Action::Refuse(m) if m.contains("no unfinished restore"))
        );
    }

    /// Killed while journals were being written: the nodes without one were not touched
    /// either (nothing stops before every node has its journal).
    #[test]
    fn an_interrupted_restore_is_finished_when_asked_again_and_rolled_back_on_request() {
        let seen = [on("a", Some(j("s1", Phase::Restoring))), on("b", None)];
        assert_eq!(
            decide(&restore("s1"), &seen),
            Action::Finish {
                snapshot: "s1".into()
            }
        );
        assert_eq!(
            decide(&Request::Rollback, &seen),
            Action::RollBack {
                snapshot: "s1".into()
            }
        );
    }

    #[test]
    fn up_and_other_snapshots_are_refused_with_both_ways_out() {
        let seen = [
            on("a", Some(j("s1", Phase::Restoring))),
            on("b", Some(j("s1", Phase::Restoring))),
        ];
        for req in [Request::Up, restore("s2")] {
            let Action::Refuse(msg) = decide(&req, &seen) else {
                panic!("{req:?} not refused")
            };
            for want in [
                "snapshot s1",
                "a, b",
                "--name s1",
                "snapshot-restore --rollback",
            ] {
                assert!(msg.contains(want), "{want:?} missing: {msg}");
            }
        }
    }

    /// `restored` on any node means the cluster was healthy; killed while writing it, other
    /// nodes may still say `restoring`.
    #[test]
    fn a_completed_restore_is_cleaned_up_never_rolled_back() {
        let seen = [
            on("a", Some(j("s1", Phase::Restored))),
            on("b", Some(j("s1", Phase::Restoring))),
        ];
        assert_eq!(
            decide(&restore("s2"), &seen),
            Action::CleanUp {
                snapshot: "s1".into()
            }
        );
        assert_eq!(decide(&Request::Up, &seen), Action::Proceed);
        assert!(
            matches!(decide(&Request::Rollback, &seen), Action::Refuse(m) if m.contains("completed"))
        );
    }

    #[test]
    fn disagreeing_or_unreadable_journals_are_refused_naming_the_nodes() {
        let seen = [
            on("a", Some(j("s1", Phase::Restoring))),
            on("b", Some(j("s2", Phase::Restoring))),
        ];
        let Action::Refuse(msg) = decide(&restore("s1"), &seen) else {
            panic!()
        };
        assert!(
            msg.contains("node a") && msg.contains("node b snapshot s2"),
            "{msg}"
        );
        // Rolling back stays possible: it only puts back what each node kept.
        assert!(matches!(
            decide(&Request::Rollback, &seen),
            Action::RollBack { .. }
        ));
        let bad = [
            on("a", None),
            Observed {
                node: "c".into(),
                journal: Err("not a restore journal: EOF".into()),
            },
        ];
        let Action::Refuse(msg) = decide(&Request::Up, &bad) else {
            panic!()
        };
        assert!(msg.contains("node c: not a restore journal"), "{msg}");
    }
}
