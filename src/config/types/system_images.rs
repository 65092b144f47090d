//! `system_images:`: every image RKE runs, keyed by its YAML name so the version table (a map
//! keyed the same way) can fill the gaps.

use serde::{Deserialize, Serialize};

/// Declares [`SystemImages`] from `field => "yaml_key"` pairs, plus a key list and by-key access,
/// so the three can never drift apart.
macro_rules! system_images {
    ($( $(#[doc = $doc:literal])* $field:ident => $key:literal, )*) => {
        /// Images used by RKE (Go `RKESystemImages`). Empty means "use the version default".
        #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
        #[serde(default, deny_unknown_fields)]
        pub struct SystemImages {
            $(
                $(#[doc = $doc])*
                #[serde(rename = $key, skip_serializing_if = "String::is_empty")]
                pub $field: String,
            )*
        }

        impl SystemImages {
            /// All YAML keys of `system_images`, in schema order.
            pub fn keys() -> &'static [&'static str] {
                &[$($key),*]
            }

            fn slot(&self, yaml_key: &str) -> Option<&String> {
                match yaml_key {
                    $($key => Some(&self.$field),)*
                    _ => None,
                }
            }

            fn slot_mut(&mut self, yaml_key: &str) -> Option<&mut String> {
                match yaml_key {
                    $($key => Some(&mut self.$field),)*
                    _ => None,
                }
            }
        }
    };
}

system_images! {
    etcd => "etcd",
    alpine => "alpine",
    nginx_proxy => "nginx_proxy",
    cert_downloader => "cert_downloader",
    kubernetes_services_sidecar => "kubernetes_services_sidecar",
    kube_dns => "kubedns",
    dnsmasq => "dnsmasq",
    kube_dns_sidecar => "kubedns_sidecar",
    kube_dns_autoscaler => "kubedns_autoscaler",
    core_dns => "coredns",
    core_dns_autoscaler => "coredns_autoscaler",
    nodelocal => "nodelocal",
    /// The hyperkube image running every Kubernetes component.
    kubernetes => "kubernetes",
    flannel => "flannel",
    flannel_cni => "flannel_cni",
    calico_node => "calico_node",
    calico_cni => "calico_cni",
    calico_controllers => "calico_controllers",
    calico_ctl => "calico_ctl",
    calico_flex_vol => "calico_flexvol",
    canal_node => "canal_node",
    canal_cni => "canal_cni",
    canal_controllers => "canal_controllers",
    canal_flannel => "canal_flannel",
    canal_flex_vol => "canal_flexvol",
    weave_node => "weave_node",
    weave_cni => "weave_cni",
    /// The pause image.
    pod_infra_container => "pod_infra_container",
    ingress => "ingress",
    ingress_backend => "ingress_backend",
    ingress_webhook => "ingress_webhook",
    metrics_server => "metrics_server",
    windows_pod_infra_container => "windows_pod_infra_container",
    aci_cni_deploy_container => "aci_cni_deploy_container",
    aci_host_container => "aci_host_container",
    aci_opflex_container => "aci_opflex_container",
    aci_mcast_container => "aci_mcast_container",
    aci_openvswitch_container => "aci_ovs_container",
    aci_controller_container => "aci_controller_container",
    aci_gbp_server_container => "aci_gbp_server_container",
    aci_opflex_server_container => "aci_opflex_server_container",
}

/// The Go name, for readers following the naming convention.
pub type RkeSystemImages = SystemImages;

impl SystemImages {
    /// The image set for `yaml_key`; `None` when the key is unknown or the image is empty.
    pub fn get(&self, yaml_key: &str) -> Option<&str> {
        self.slot(yaml_key)
            .filter(|image| !image.is_empty())
            .map(String::as_str)
    }

    /// Set the image for `yaml_key` unless one is already set. Returns `false` for an unknown
    /// key; `true` otherwise (whether or not the value changed).
    pub fn set_if_empty(&mut self, yaml_key: &str, value: &str) -> bool {
        match self.slot_mut(yaml_key) {
            Some(slot) => {
                if slot.is_empty() {
                    *slot = value.to_string();
                }
                true
            }
            None => false,
        }
    }

    /// Every `(yaml_key, image)` pair with a non-empty image.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &str)> + '_ {
        Self::keys()
            .iter()
            .filter_map(|key| self.get(key).map(|image| (*key, image)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_cover_every_field_and_round_trip() {
        let mut images = SystemImages::default();
        for (i, key) in SystemImages::keys().iter().enumerate() {
            assert!(images.set_if_empty(key, &format!("img{i}")), "{key}");
        }
        // Every field was reached through its key: serializing shows them all under those keys.
        let json = serde_json::to_value(&images).unwrap();
        let object = json.as_object().unwrap();
        assert_eq!(object.len(), SystemImages::keys().len());
        for (i, key) in SystemImages::keys().iter().enumerate() {
            assert_eq!(object[*key], format!("img{i}"));
            assert_eq!(images.get(key), Some(format!("img{i}").as_str()));
        }
    }

    #[test]
    fn set_if_empty_keeps_user_value_and_rejects_unknown_key() {
        let mut images = SystemImages {
            kubernetes: "mine:1".into(),
            ..Default::default()
        };
        assert!(images.set_if_empty("kubernetes", "default:2"));
        assert_eq!(images.kubernetes, "mine:1");
        assert!(images.set_if_empty("coredns", "rancher/mirrored-coredns-coredns:1.11.1"));
        assert_eq!(images.core_dns, "rancher/mirrored-coredns-coredns:1.11.1");
        assert!(!images.set_if_empty("no_such_image", "x"));
        assert_eq!(images.get("no_such_image"), None);
        assert_eq!(images.get("etcd"), None);
        assert_eq!(images.iter().count(), 2);
    }
}
