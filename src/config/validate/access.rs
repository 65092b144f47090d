//! How rke and the nodes reach things: bastion host, private registries, cloud provider.

use super::net;
use super::report::Report;
use super::suggest::one_of;
use super::version::K8sVersion;
use crate::config::RkeConfig;
use crate::config::path::{child, index};

/// Cloud provider names RKE1 knows (in-tree, out-of-tree `external`, and `external-aws`).
pub const CLOUD_PROVIDERS: [&str; 7] = [
    "aws",
    "azure",
    "openstack",
    "vsphere",
    "harvester",
    "external",
    "external-aws",
];

/// Values of `ssh_host_key_checking` (the default is `accept-new`).
pub const HOST_KEY_CHECKING: [&str; 3] = ["strict", "accept-new", "off"];

pub fn check(cfg: &RkeConfig, version: Option<K8sVersion>, r: &mut Report) {
    check_host_key_checking(cfg, r);
    check_bastion(cfg, r);
    check_registries(cfg, r);
    check_cloud_provider(cfg, version, r);
}

fn check_host_key_checking(cfg: &RkeConfig, r: &mut Report) {
    let v = cfg.ssh_host_key_checking.as_str();
    if !v.is_empty() && !HOST_KEY_CHECKING.contains(&v) {
        r.error(
            "ssh_host_key_checking",
            format!(
                "unknown host key policy {v:?}: {}",
                one_of(v, &HOST_KEY_CHECKING)
            ),
        );
    }
}

fn check_bastion(cfg: &RkeConfig, r: &mut Report) {
    let b = &cfg.bastion_host;
    if b.address.trim().is_empty() {
        // Only keys a user writes by hand count: port and key paths may be defaults copied in.
        if !b.user.is_empty() || !b.ssh_key.is_empty() || !b.ssh_cert.is_empty() {
            r.error(
                "bastion_host.address",
                "bastion_host has settings but no address: give the jump host's address",
            );
        }
        return;
    }
    if b.user.trim().is_empty() {
        r.error(
            "bastion_host.user",
            "bastion_host.user is required (the SSH user on the jump host)",
        );
    }
    if !b.port.is_empty()
        && let Err(why) = net::port(&b.port)
    {
        r.error("bastion_host.port", format!("bastion SSH port {why}"));
    }
}

fn check_registries(cfg: &RkeConfig, r: &mut Report) {
    let mut default_at: Option<usize> = None;
    for (i, reg) in cfg.private_registries.iter().enumerate() {
        let p = index("private_registries", i);
        let url = reg.url.trim();
        if url.is_empty() {
            r.error(child(&p, "url"), "url is required (registry host[:port])");
        } else if url.contains("://") {
            // The URL is used as an image name prefix, where a scheme is not allowed.
            r.error(
                child(&p, "url"),
                format!(
                    "url {url:?} must be host[:port] without a scheme (it prefixes image names)"
                ),
            );
        }
        if reg.user.is_empty() != reg.password.is_empty() {
            r.warning(
                &p,
                "user and password must be given together (or neither, for anonymous pulls)",
            );
        }
        if reg.is_default {
            match default_at {
                Some(first) => r.error(
                    child(&p, "is_default"),
                    format!(
                        "private_registries[{first}] is already the default registry: only one \
                         can be"
                    ),
                ),
                None => default_at = Some(i),
            }
        }
    }
}

fn check_cloud_provider(cfg: &RkeConfig, version: Option<K8sVersion>, r: &mut Report) {
    let cp = &cfg.cloud_provider;
    let name = cp.name.as_str();
    if !cp.custom_cloud_provider.is_empty() {
        if name.is_empty() {
            r.error(
                "cloud_provider.name",
                "customCloudProvider needs a name (the value passed as --cloud-provider)",
            );
        }
        return;
    }
    if name.is_empty() {
        return;
    }
    if !CLOUD_PROVIDERS.contains(&name) {
        r.error(
            "cloud_provider.name",
            format!(
                "cloud provider {name:?} is not known: {} (or give customCloudProvider)",
                one_of(name, &CLOUD_PROVIDERS)
            ),
        );
        return;
    }
    if name == "aws"
        && let Some(v) = version
        && v.at_least(1, 27)
    {
        r.error(
            "cloud_provider.name",
            format!(
                "the in-tree aws cloud provider was removed in Kubernetes 1.27 (this is v{}.{}): \
                 use external-aws",
                v.major, v.minor
            ),
        );
    }
    let sections = [
        ("aws", "awsCloudProvider", cp.aws_cloud_provider.is_some()),
        (
            "azure",
            "azureCloudProvider",
            cp.azure_cloud_provider.is_some(),
        ),
        (
            "openstack",
            "openstackCloudProvider",
            cp.openstack_cloud_provider.is_some(),
        ),
        (
            "vsphere",
            "vsphereCloudProvider",
            cp.vsphere_cloud_provider.is_some(),
        ),
        (
            "harvester",
            "harvesterCloudProvider",
            cp.harvester_cloud_provider.is_some(),
        ),
    ];
    for (owner, key, present) in sections {
        let matches = owner == name || (owner == "aws" && name == "external-aws");
        if present && !matches {
            r.warning(
                child("cloud_provider", key),
                format!("{key} is ignored: cloud_provider.name is {name:?}"),
            );
        }
        // `rke up` cannot turn typed options into the provider's cloud-config file: say so
        // here rather than after connecting to every node.
        if present && matches {
            r.error(
                child("cloud_provider", key),
                format!(
                    "{key} options are not supported by this rke: write the provider's \
                     cloud-config yourself and give it as customCloudProvider"
                ),
            );
        }
    }
}
