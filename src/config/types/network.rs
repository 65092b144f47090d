//! The `network:` section and its per-plugin options.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{AciNetworkProvider, DaemonSetUpdateStrategy, Toleration, is_default};

/// The `network:` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NetworkConfig {
    /// `canal` (default), `flannel`, `calico`, `weave`, `aci` or `none`.
    #[serde(skip_serializing_if = "is_default")]
    pub plugin: String,
    /// Plugin options such as `flannel_backend_type`.
    #[serde(skip_serializing_if = "is_default")]
    pub options: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "is_default")]
    pub mtu: i64,
    #[serde(skip_serializing_if = "is_default")]
    pub calico_network_provider: Option<CalicoNetworkProvider>,
    #[serde(skip_serializing_if = "is_default")]
    pub canal_network_provider: Option<CanalNetworkProvider>,
    #[serde(skip_serializing_if = "is_default")]
    pub flannel_network_provider: Option<FlannelNetworkProvider>,
    #[serde(skip_serializing_if = "is_default")]
    pub weave_network_provider: Option<WeaveNetworkProvider>,
    #[serde(skip_serializing_if = "is_default")]
    pub aci_network_provider: Option<AciNetworkProvider>,
    #[serde(skip_serializing_if = "is_default")]
    pub node_selector: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "is_default")]
    pub update_strategy: Option<DaemonSetUpdateStrategy>,
    #[serde(skip_serializing_if = "is_default")]
    pub tolerations: Vec<Toleration>,
    #[serde(skip_serializing_if = "is_default")]
    pub enable_br_netfilter: Option<bool>,
}

/// Calico options (yaml.v2 key of the untagged Go field).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CalicoNetworkProvider {
    #[serde(rename = "cloudprovider", skip_serializing_if = "is_default")]
    pub cloud_provider: String,
}

/// Flannel options (yaml.v2 key of the untagged Go field). `blackhole_route` appears in the
/// last RKE1 releases (a boolean there); it is kept as text so both spellings parse.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FlannelNetworkProvider {
    #[serde(skip_serializing_if = "is_default")]
    pub iface: String,
    #[serde(skip_serializing_if = "is_default")]
    pub blackhole_route: String,
}

/// Canal options: flannel's `iface` (inlined in Go) plus `blackhole_route`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CanalNetworkProvider {
    #[serde(skip_serializing_if = "is_default")]
    pub iface: String,
    #[serde(skip_serializing_if = "is_default")]
    pub blackhole_route: String,
}

/// Weave options.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WeaveNetworkProvider {
    #[serde(skip_serializing_if = "is_default")]
    pub password: String,
}
