//! The cluster- and host-level facts every component builder reads, computed once.

use super::inputs::{HostFacts, PlanInputs};
use super::net::under_prefix;
use super::types::{CONTAINER_NAME_LABEL, ContainerSpec, Plane};
use crate::certs::CertBundle;
use crate::config::versions::{K8sVersion, ServiceOptions, table};
use crate::config::{RkeConfig, RkeConfigNode};
use crate::error::{ErrorKind, classified};
use std::collections::BTreeMap;

/// RKE1's SELinux label for its containers on enforcing hosts (`services.SELinuxLabel`).
pub const SELINUX_LABEL: &str = "label=type:rke_container_t";

pub struct Cluster<'a> {
    pub cfg: &'a RkeConfig,
    pub certs: &'a CertBundle,
    pub inputs: &'a PlanInputs,
    pub version: K8sVersion,
    pub options: &'a ServiceOptions,
    pub etcd_nodes: Vec<&'a RkeConfigNode>,
    pub cp_nodes: Vec<&'a RkeConfigNode>,
    /// The kubelet reaches Docker through a cri-dockerd container.
    pub cri_dockerd: bool,
}

impl<'a> Cluster<'a> {
    pub fn new(
        cfg: &'a RkeConfig,
        certs: &'a CertBundle,
        inputs: &'a PlanInputs,
    ) -> anyhow::Result<Cluster<'a>> {
        let version = K8sVersion::parse(&cfg.version).ok_or_else(|| {
            classified(
                ErrorKind::Config,
                format!(
                    "cluster.yml: kubernetes_version: `{}` is not a Kubernetes version",
                    cfg.version
                ),
            )
        })?;
        let options = table().service_options_for(&cfg.version).ok_or_else(|| {
            classified(
                ErrorKind::Config,
                format!(
                    "cluster.yml: kubernetes_version: no default component flags are known for {}",
                    cfg.version
                ),
            )
        })?;
        let cloud = &cfg.cloud_provider;
        let name = cloud.name.as_str();
        // Only the section matching the provider's name is used (validation warns about others).
        let typed_cloud_options = (cloud.aws_cloud_provider.is_some()
            && (name == "aws" || name == "external-aws"))
            || (cloud.azure_cloud_provider.is_some() && name == "azure")
            || (cloud.openstack_cloud_provider.is_some() && name == "openstack")
            || (cloud.vsphere_cloud_provider.is_some() && name == "vsphere")
            || (cloud.harvester_cloud_provider.is_some() && name == "harvester");
        if typed_cloud_options && inputs.cloud_config.is_empty() {
            // Writing an empty file would silently drop the user's provider settings.
            return Err(classified(
                ErrorKind::Config,
                format!(
                    "cluster.yml: cloud_provider: the typed `{name}` options are not supported \
                     by this rke: write the provider's cloud-config yourself and give it as \
                     customCloudProvider"
                ),
            ));
        }
        Ok(Cluster {
            cfg,
            certs,
            inputs,
            version,
            options,
            etcd_nodes: cfg.nodes.iter().filter(|n| n.is_etcd()).collect(),
            cp_nodes: cfg.nodes.iter().filter(|n| n.is_controlplane()).collect(),
            cri_dockerd: cfg.enable_cri_dockerd == Some(true),
        })
    }

    /// Kubernetes `1.minor` or newer.
    pub fn at_least(&self, minor: u32) -> bool {
        self.version.minor_pair() >= (1, minor)
    }

    /// From 1.22 RKE1 drops `:z` from its binds (and labels containers on SELinux hosts).
    pub fn drops_selinux_relabel(&self) -> bool {
        self.at_least(22)
    }

    pub fn external_etcd(&self) -> bool {
        !self.cfg.services.etcd.external_urls.is_empty()
    }

    pub fn rbac(&self) -> bool {
        self.cfg.authorization.mode == "rbac"
    }

    /// `cloud_provider.name` as the components take it (`external-aws` is `external`).
    pub fn cloud_provider_flag(&self) -> String {
        match self.cfg.cloud_provider.name.as_str() {
            "external-aws" => "external".to_string(),
            name => name.to_string(),
        }
    }

    pub fn has_cloud_provider(&self) -> bool {
        !self.cfg.cloud_provider.name.is_empty()
    }

    /// The file behind `/etc/kubernetes/cloud-config`.
    pub fn cloud_config(&self) -> &str {
        if self.inputs.cloud_config.is_empty() {
            &self.cfg.cloud_provider.custom_cloud_provider
        } else {
            &self.inputs.cloud_config
        }
    }

    /// The `use_instance_metadata_hostname` case where rke-tools took the node name from EC2
    /// metadata: RKE1 then drops `--hostname-override`.
    pub fn hostname_from_cloud(&self) -> bool {
        matches!(
            self.cfg.cloud_provider.name.as_str(),
            "aws" | "external-aws"
        ) && self.cfg.cloud_provider.use_instance_metadata_hostname == Some(true)
    }

    pub fn host(&self, node: &'a RkeConfigNode) -> Host<'a> {
        Host {
            node,
            internal: node.effective_internal_address().to_string(),
            facts: self
                .inputs
                .hosts
                .get(&node.address)
                .cloned()
                .unwrap_or_default(),
            prefix: self.cfg.prefix_path.clone(),
        }
    }

    /// Binds as RKE1 writes them before `extra_binds`: `:z` dropped from 1.22.
    pub fn own_binds(&self, binds: Vec<String>) -> Vec<String> {
        if self.drops_selinux_relabel() {
            super::args::remove_z(binds)
        } else {
            binds
        }
    }
}

/// One node with its derived addresses and host facts.
pub struct Host<'a> {
    pub node: &'a RkeConfigNode,
    /// `internal_address`, or `address` when unset.
    pub internal: String,
    pub facts: HostFacts,
    pub prefix: String,
}

impl Host<'_> {
    /// A host path under `prefix_path`.
    pub fn path(&self, path: &str) -> String {
        under_prefix(&self.prefix, path)
    }

    pub fn name(&self) -> &str {
        &self.node.hostname_override
    }
}

/// The skeleton every long-running container shares: host network, restart always, RKE1's name
/// label.
pub fn container(name: &str, image: &str, plane: Plane) -> ContainerSpec {
    ContainerSpec {
        name: name.to_string(),
        image: image.to_string(),
        entrypoint: Vec::new(),
        args: Vec::new(),
        env: Vec::new(),
        binds: Vec::new(),
        volumes_from: Vec::new(),
        network_mode: "host".to_string(),
        pid_mode: None,
        privileged: false,
        restart_always: true,
        user: None,
        security_opt: Vec::new(),
        labels: BTreeMap::from([(CONTAINER_NAME_LABEL.to_string(), name.to_string())]),
        created_only: false,
        health: None,
        plane,
    }
}
