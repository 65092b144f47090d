//! `nodes:` entries.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::is_default;

/// One entry of `nodes:` (Go `RKEConfigNode`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RkeConfigNode {
    /// Rancher node reference; not used by the CLI.
    #[serde(rename = "nodeName", skip_serializing_if = "is_default")]
    pub node_name: String,
    /// IP or FQDN used for SSH.
    #[serde(skip_serializing_if = "is_default")]
    pub address: String,
    /// SSH port (a string in RKE1).
    #[serde(skip_serializing_if = "is_default")]
    pub port: String,
    /// Address for intra-cluster traffic.
    #[serde(skip_serializing_if = "is_default")]
    pub internal_address: String,
    /// Any of `controlplane`, `etcd`, `worker`.
    #[serde(skip_serializing_if = "is_default")]
    pub role: Vec<String>,
    #[serde(skip_serializing_if = "is_default")]
    pub hostname_override: String,
    /// SSH user.
    #[serde(skip_serializing_if = "is_default")]
    pub user: String,
    #[serde(skip_serializing_if = "is_default")]
    pub docker_socket: String,
    #[serde(skip_serializing_if = "is_default")]
    pub ssh_agent_auth: bool,
    #[serde(skip_serializing_if = "is_default")]
    pub ssh_key: String,
    #[serde(skip_serializing_if = "is_default")]
    pub ssh_key_path: String,
    #[serde(skip_serializing_if = "is_default")]
    pub ssh_cert: String,
    #[serde(skip_serializing_if = "is_default")]
    pub ssh_cert_path: String,
    #[serde(skip_serializing_if = "is_default")]
    pub labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "is_default")]
    pub taints: Vec<RkeTaint>,
}

/// A node taint (Go `RKETaint`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RkeTaint {
    #[serde(skip_serializing_if = "is_default")]
    pub key: String,
    #[serde(skip_serializing_if = "is_default")]
    pub value: String,
    /// `NoSchedule`, `PreferNoSchedule` or `NoExecute`.
    #[serde(skip_serializing_if = "is_default")]
    pub effect: String,
    #[serde(rename = "timeAdded", skip_serializing_if = "is_default")]
    pub time_added: Option<String>,
}

/// Role names accepted in `nodes[].role`.
pub const ROLE_ETCD: &str = "etcd";
pub const ROLE_CONTROLPLANE: &str = "controlplane";
pub const ROLE_WORKER: &str = "worker";
pub const KNOWN_ROLES: [&str; 3] = [ROLE_CONTROLPLANE, ROLE_ETCD, ROLE_WORKER];

impl RkeConfigNode {
    /// Whether `role` lists `name` (exact match, as RKE1).
    pub fn has_role(&self, name: &str) -> bool {
        self.role.iter().any(|r| r == name)
    }

    pub fn is_etcd(&self) -> bool {
        self.has_role(ROLE_ETCD)
    }

    pub fn is_controlplane(&self) -> bool {
        self.has_role(ROLE_CONTROLPLANE)
    }

    pub fn is_worker(&self) -> bool {
        self.has_role(ROLE_WORKER)
    }

    /// The address other nodes reach this one on: `internal_address`, or `address` when unset
    /// (RKE1's rule).
    pub fn effective_internal_address(&self) -> &str {
        if self.internal_address.is_empty() {
            &self.address
        } else {
            &self.internal_address
        }
    }
}
