//! Whether a run without a cluster state is really a new cluster (pure): what the nodes hold
//! goes in, the decision comes out. A cluster is never re-keyed because its state file is
//! missing: its state is recovered when a copy matching the nodes' CA is found, and the run is
//! refused otherwise, unless a brand-new cluster over the old data is asked for explicitly.

use sha2::{Digest, Sha256};

use crate::certs::KUBE_CA;
use crate::config::RkeConfig;
use crate::provision::spec::names;
use crate::state::{self, FullState};

/// The flag that builds a new cluster over an existing one's data.
pub const OVERRIDE_FLAG: &str = "--new-cluster-over-existing-data";

/// What one node holds of a cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeTraces {
    pub node: String,
    /// rke's and RKE1's containers on the node (any state).
    pub containers: Vec<String>,
    /// `/etc/kubernetes/ssl/kube-ca.pem`.
    pub ca_cert: Option<String>,
    /// The state copy the snapshot agent keeps on etcd nodes.
    pub agent_state: Option<String>,
    /// Why the node's files could not be read (then only its containers are known).
    pub unreadable: Option<String>,
}

impl NodeTraces {
    /// Whether anything on the node belongs to a cluster.
    pub fn holds_a_cluster(&self) -> bool {
        !self.components().is_empty() || self.ca_cert.is_some() || self.agent_state.is_some()
    }

    /// The containers that are a cluster's components (`etcd`, `kubelet`, ... and `old-*`
    /// leftovers of an interrupted replace); other containers carrying RKE's label (a test's,
    /// a tool's) say nothing about a cluster.
    fn components(&self) -> Vec<&str> {
        self.containers
            .iter()
            .map(String::as_str)
            .filter(|name| {
                let name = name.strip_prefix("old-").unwrap_or(name);
                name == names::ETCD || names::MANAGED_CONTAINERS.contains(&name)
            })
            .collect()
    }
}

/// What asking the cluster's API for Secret `kube-system/full-cluster-state` gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretLookup {
    /// Not asked (nothing on the nodes suggested a cluster, or no control-plane node had
    /// the CA to ask with): why.
    NotTried(String),
    /// The state's JSON, and the node it was read through.
    Found { json: String, via: String },
    /// Every attempt failed: one line per node.
    Failed(Vec<String>),
}

/// Everything looked at.
#[derive(Debug, Clone)]
pub struct Observations {
    /// The local state file that is missing (or has no current state), for messages.
    pub state_file: String,
    pub nodes: Vec<NodeTraces>,
    pub secret: SecretLookup,
    /// The CA this run would use: the state file's `desiredState` one (or a new one).
    pub planned_ca: Option<String>,
}

#[derive(Debug)]
pub enum Decision {
    /// Nothing on the nodes: a new cluster.
    New,
    /// The nodes carry the CA of the state file's `desiredState`: an earlier run of this
    /// very state (a first `rke up` that did not finish) left them; it is simply run again.
    Unfinished,
    /// The nodes hold a cluster, and the override flag asks for a new one over it.
    NewOverExisting { warning: String },
    /// The cluster's state, found where `source` says.
    Recover {
        source: String,
        state: Box<FullState>,
    },
    /// The nodes hold a cluster whose state cannot be recovered.
    Refuse { message: String },
}

/// Decide from what the nodes hold. `over_existing`: the override flag was given.
pub fn decide(obs: &Observations, over_existing: bool) -> Decision {
    let holding: Vec<&NodeTraces> = obs.nodes.iter().filter(|n| n.holds_a_cluster()).collect();
    if holding.is_empty() {
        let unknown: Vec<String> = obs
            .nodes
            .iter()
            .filter_map(|n| {
                n.unreadable
                    .as_ref()
                    .map(|why| format!("{}: {why}", n.node))
            })
            .collect();
        // A node that could not be looked at may hold the cluster: never guess "new".
        if unknown.is_empty() || over_existing {
            return Decision::New;
        }
        return Decision::Refuse {
            message: format!(
                "there is no cluster state in {}, and these nodes could not be checked for an \
                 existing cluster: {}. Run again once they can be read (or pass {OVERRIDE_FLAG} \
                 if they are known to hold no cluster worth keeping)",
                obs.state_file,
                unknown.join("; ")
            ),
        };
    }
    let node_cas = node_cas(&obs.nodes);
    if let Some(planned) = &obs.planned_ca
        && node_cas.iter().any(|c| same_pem(c, planned))
    {
        return Decision::Unfinished;
    }
    let mut tried: Vec<String> = Vec::new();
    let mut recovered = None;
    for (source, json) in candidates(obs, &mut tried) {
        match accept(json, &node_cas) {
            Ok(state) => {
                recovered = Some((source, state));
                break;
            }
            Err(why) => tried.push(format!("{source}: {why}")),
        }
    }
    let evidence = evidence(&holding);
    if over_existing {
        return Decision::NewOverExisting {
            warning: format!(
                "{OVER_EXISTING_WARNING}: {}{}",
                evidence.join("; "),
                recovered
                    .as_ref()
                    .map(|(s, _)| format!(" (its state was recoverable from {s})"))
                    .unwrap_or_default()
            ),
        };
    }
    if let Some((source, state)) = recovered {
        return Decision::Recover {
            source,
            state: Box::new(state),
        };
    }
    Decision::Refuse {
        message: refusal(&obs.state_file, &evidence, &tried),
    }
}

const OVER_EXISTING_WARNING: &str = "building a NEW cluster (new CA, new etcd) over an existing \
     cluster's data, as --new-cluster-over-existing-data asks; the old cluster is lost";

/// Where a state can come from, best first: the Secret (written at the end of every
/// successful run), then the snapshot agent's copies.
fn candidates<'a>(obs: &'a Observations, tried: &mut Vec<String>) -> Vec<(String, &'a str)> {
    let mut out = Vec::new();
    match &obs.secret {
        SecretLookup::Found { json, via } => out.push((
            format!("Secret kube-system/full-cluster-state (through {via})"),
            json.as_str(),
        )),
        SecretLookup::NotTried(why) => tried.push(format!(
            "Secret kube-system/full-cluster-state: not read ({why})"
        )),
        SecretLookup::Failed(errors) => tried.push(format!(
            "Secret kube-system/full-cluster-state: {}",
            errors.join("; ")
        )),
    }
    for n in &obs.nodes {
        if let Some(json) = &n.agent_state {
            out.push((
                format!("the snapshot agent's copy on {}", n.node),
                json.as_str(),
            ));
        }
    }
    if !obs.nodes.iter().any(|n| n.agent_state.is_some()) {
        tried.push("snapshot agent state copy: on no etcd node".to_string());
    }
    out
}

/// The CA certificates the nodes carry (each once, in node order).
fn node_cas(nodes: &[NodeTraces]) -> Vec<&str> {
    let mut cas: Vec<&str> = Vec::new();
    for ca in nodes.iter().filter_map(|n| n.ca_cert.as_deref()) {
        if !cas.iter().any(|c| same_pem(c, ca)) {
            cas.push(ca);
        }
    }
    cas
}

/// A candidate is this cluster's state when it parses, holds a cluster and its CA is one the
/// nodes carry (when no node had a readable CA, there is nothing to compare with).
fn accept(json: &str, node_cas: &[&str]) -> Result<FullState, String> {
    let loaded = state::decode::<RkeConfig>(json.as_bytes(), "recovered")
        .map_err(|e| format!("unreadable: {e:#}"))?;
    let s = loaded.state;
    let ca = [&s.current_state, &s.desired_state]
        .into_iter()
        .filter(|c| c.rke_config.is_some())
        .find_map(|c| c.certificates_bundle.get(KUBE_CA))
        .map(|e| e.certificate_pem.clone())
        .filter(|pem| !pem.trim().is_empty())
        .ok_or_else(|| "holds no cluster (no config with a kube-ca certificate)".to_string())?;
    if !node_cas.is_empty() && !node_cas.iter().any(|c| same_pem(c, &ca)) {
        return Err(format!(
            "its CA ({}) is not the one on the nodes ({})",
            fingerprint(&ca),
            node_cas
                .iter()
                .map(|c| fingerprint(c))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Ok(s)
}

fn same_pem(a: &str, b: &str) -> bool {
    a.trim() == b.trim()
}

/// A short name for a CA certificate in messages: the SHA-256 of its PEM text.
pub fn fingerprint(pem: &str) -> String {
    let digest = Sha256::digest(pem.trim().as_bytes());
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("kube-ca sha256:{hex}")
}

/// One line per node that holds something: what it holds.
fn evidence(holding: &[&NodeTraces]) -> Vec<String> {
    holding
        .iter()
        .map(|n| {
            let mut what = Vec::new();
            let components = n.components();
            if !components.is_empty() {
                what.push(format!("containers {}", components.join(", ")));
            }
            if let Some(ca) = &n.ca_cert {
                what.push(format!(
                    "/etc/kubernetes/ssl/kube-ca.pem ({})",
                    fingerprint(ca)
                ));
            }
            if n.agent_state.is_some() {
                what.push("a snapshot agent state copy".to_string());
            }
            if let Some(why) = &n.unreadable {
                what.push(format!("files not read: {why}"));
            }
            format!("{}: {}", n.node, what.join(", "))
        })
        .collect()
}

fn refusal(state_file: &str, evidence: &[String], tried: &[String]) -> String {
    format!(
        "there is no cluster state in {state_file}, but the nodes already run a cluster, and \
         its state could not be recovered. A new cluster would get a new CA and replace every \
         etcd member, so nothing was changed.\n\
         Found on the nodes:\n  {}\n\
         Looked for the state in:\n  {}\n\
         To recover the state:\n  \
         - rke util get-state-file (reads Secret kube-system/full-cluster-state with the admin \
         kubeconfig or through a control-plane node)\n  \
         - copy a backup of {state_file} (or {state_file}.bak) back next to the config\n  \
         - rke etcd snapshot-restore --name NAME (every snapshot in /opt/rke/etcd-snapshots on \
         the etcd nodes holds the state; `rke etcd snapshot-list` lists them)\n\
         To build a brand-new cluster over this one's data instead (the old cluster is lost): \
         rke up {OVERRIDE_FLAG}",
        evidence.join("\n  "),
        tried.join("\n  ")
    )
}

#[cfg(test)]
#[path = "decide_tests.rs"]
mod tests;
