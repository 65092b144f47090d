//! `network:` defaults (`setClusterNetworkDefaults`): the plugin, and the `options` map RKE1's
//! network templates read, filled from plugin defaults and the typed `*_network_provider`
//! sections. User-set options always win.

use std::collections::BTreeMap;

use super::{aci, default_str};
use crate::config::types::NetworkConfig;

pub const DEFAULT_NETWORK_PLUGIN: &str = "canal";
const FLEX_VOLUME_PLUGIN_DIR: &str =
    "/usr/libexec/kubernetes/kubelet-plugins/volume/exec/nodeagent~uds";

/// Option defaults per plugin.
fn plugin_option_defaults(plugin: &str) -> &'static [(&'static str, &'static str)] {
    match plugin {
        "calico" => &[
            ("calico_cloud_provider", "none"),
            ("calico_flex_volume_plugin_dir", FLEX_VOLUME_PLUGIN_DIR),
        ],
        "flannel" => &[
            ("flannel_backend_type", "vxlan"),
            ("flannel_backend_port", "8472"),
            ("flannel_backend_vni", "1"),
        ],
        "canal" => &[
            ("canal_flannel_backend_type", "vxlan"),
            ("canal_flannel_backend_port", "8472"),
            ("canal_flannel_backend_vni", "1"),
            ("canal_flex_volume_plugin_dir", FLEX_VOLUME_PLUGIN_DIR),
        ],
        _ => &[],
    }
}

pub(super) fn set_network_defaults(network: &mut NetworkConfig) {
    default_str(&mut network.plugin, DEFAULT_NETWORK_PLUGIN);
    if network.enable_br_netfilter.is_none() {
        network.enable_br_netfilter = Some(true);
    }

    // RKE1 builds one map (plugin defaults, then provider values on top) and copies each entry
    // into `options` unless the user set that key.
    let mut computed: BTreeMap<String, String> = plugin_option_defaults(&network.plugin)
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    if network.plugin == "aci" {
        aci::plugin_option_defaults(&mut computed);
    }
    if let Some(calico) = &mut network.calico_network_provider {
        default_str(&mut calico.cloud_provider, "none");
        computed.insert(
            "calico_cloud_provider".into(),
            calico.cloud_provider.clone(),
        );
    }
    if let Some(flannel) = &network.flannel_network_provider {
        computed.insert("flannel_iface".into(), flannel.iface.clone());
    }
    if let Some(canal) = &network.canal_network_provider {
        computed.insert("canal_iface".into(), canal.iface.clone());
    }
    if let Some(weave) = &network.weave_network_provider {
        // RKE1 stores the password under its template key name, and reads it back from there.
        computed.insert("WeavePassword".into(), weave.password.clone());
    }
    if let Some(provider) = &mut network.aci_network_provider {
        aci::apply_provider(provider, &mut computed);
    }
    for (key, value) in computed {
        network.options.entry(key).or_insert(value);
    }
}
