//! The certificates a cluster needs (RKE1 `GenerateRKEServicesCerts`), as pure data derived
//! from [`PkiInput`]: bundle name, subject, SANs, usages, signer and state-file labels.

use super::input::{self, PkiInput};
use super::issue::Subject;
use super::names::*;

/// Which CA signs a leaf.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignerRef {
    KubeCa,
    RequestHeaderCa,
}

/// One leaf certificate of the bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafSpec {
    pub name: String,
    pub subject: Subject,
    pub signer: SignerRef,
    /// `commonName` / `ouName` as RKE1 writes them into the state (not always the subject).
    pub state_common_name: String,
    pub state_ou_name: String,
    /// The service-account token entry: only its key matters (it signs every SA token), so it
    /// is kept whatever its subject and never gets a new key while one is present.
    pub key_only: bool,
}

fn leaf(name: &str, cn: &str, org: Option<&str>, server: bool) -> LeafSpec {
    LeafSpec {
        name: name.to_string(),
        subject: Subject {
            common_name: cn.to_string(),
            organization: org.map(str::to_string),
            server,
            sans: Vec::new(),
        },
        signer: SignerRef::KubeCa,
        state_common_name: String::new(),
        state_ou_name: String::new(),
        key_only: false,
    }
}

/// All leaves in RKE1's generation order.
pub fn leaf_specs(input: &PkiInput) -> anyhow::Result<Vec<LeafSpec>> {
    let service_ips = input::kubernetes_service_ips(&input.service_cluster_ip_ranges)?;
    let mut specs = Vec::new();

    let mut api = leaf(KUBE_APISERVER, KUBE_APISERVER, None, true);
    api.subject.sans = input::cluster_sans(
        &input.control_plane,
        &input.extra_sans,
        &service_ips,
        &input.cluster_domain,
    )
    .as_slice()
    .to_vec();
    specs.push(api);

    let mut sa = leaf(SERVICE_ACCOUNT_TOKEN, SERVICE_ACCOUNT_TOKEN, None, false);
    sa.state_common_name = SERVICE_ACCOUNT_TOKEN.to_string();
    sa.key_only = true;
    specs.push(sa);

    for name in [KUBE_CONTROLLER_MANAGER, KUBE_SCHEDULER, KUBE_PROXY] {
        specs.push(leaf(name, &default_cn(name), None, false));
    }

    let mut node = leaf(KUBE_NODE, KUBE_NODE_CN, Some(KUBE_NODE_ORG), false);
    node.state_common_name = KUBE_NODE_CN.to_string();
    node.state_ou_name = KUBE_NODE_ORG.to_string();
    specs.push(node);

    let mut admin = leaf(KUBE_ADMIN, KUBE_ADMIN, Some(KUBE_ADMIN_ORG), false);
    admin.state_common_name = KUBE_ADMIN.to_string();
    admin.state_ou_name = KUBE_ADMIN_ORG.to_string();
    specs.push(admin);

    let mut proxy_client = leaf(API_PROXY_CLIENT, API_PROXY_CLIENT, None, true);
    proxy_client.signer = SignerRef::RequestHeaderCa;
    specs.push(proxy_client);

    // Every etcd certificate carries every etcd node's names: peers and clients reach any member.
    let etcd_sans = input::cluster_sans(&input.etcd, &[], &service_ips, &input.cluster_domain);
    for node in &input.etcd {
        let mut etcd = leaf(
            &crt_name_for_host(node, ETCD_PREFIX),
            ETCD_PREFIX,
            None,
            true,
        );
        etcd.subject.sans = etcd_sans.as_slice().to_vec();
        specs.push(etcd);
    }

    if input.generate_serving_certificate {
        for node in &input.all_nodes {
            let name = crt_name_for_host(node, KUBELET_PREFIX);
            let mut kubelet = leaf(&name, &name, None, true);
            kubelet.subject.sans = input::node_sans(node).as_slice().to_vec();
            specs.push(kubelet);
        }
    }

    // Two nodes mapping to one name would silently share a certificate: refuse.
    let mut seen = std::collections::BTreeSet::new();
    for s in &specs {
        if !seen.insert(s.name.as_str()) {
            return Err(crate::error::classified(
                crate::error::ErrorKind::Config,
                format!(
                    "two nodes map to the same certificate name [{}]: node addresses must be unique",
                    s.name
                ),
            ));
        }
    }
    Ok(specs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certs::input::{NodeIdentity, San};

    fn node(a: &str, i: &str) -> NodeIdentity {
        NodeIdentity {
            address: a.into(),
            internal_address: i.into(),
            hostname: format!("h-{a}"),
        }
    }

    #[test]
    fn specs_cover_rke1_certificates() {
        let n1 = node("1.1.1.1", "10.0.0.1");
        let n2 = node("2.2.2.2", "");
        let input = PkiInput {
            control_plane: vec![n1.clone()],
            etcd: vec![n1.clone(), n2.clone()],
            all_nodes: vec![n1, n2],
            generate_serving_certificate: true,
            ..PkiInput::default()
        };
        let specs = leaf_specs(&input).unwrap();
        let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "kube-apiserver",
                "kube-service-account-token",
                "kube-controller-manager",
                "kube-scheduler",
                "kube-proxy",
                "kube-node",
                "kube-admin",
                "kube-apiserver-proxy-client",
                "kube-etcd-10-0-0-1",
                "kube-etcd-2-2-2-2",
                "kube-kubelet-10-0-0-1",
                "kube-kubelet-2-2-2-2",
            ]
        );
        let by = |n: &str| specs.iter().find(|s| s.name == n).unwrap();
        assert_eq!(
            by("kube-controller-manager").subject.common_name,
            "system:kube-controller-manager"
        );
        assert_eq!(by("kube-etcd-2-2-2-2").subject.common_name, "kube-etcd");
        assert!(
            by("kube-etcd-2-2-2-2")
                .subject
                .sans
                .contains(&San::parse("10.0.0.1"))
        );
        assert!(
            by("kube-etcd-2-2-2-2")
                .subject
                .sans
                .contains(&San::Dns("h-1.1.1.1".into()))
        );
        assert_eq!(
            by("kube-kubelet-2-2-2-2").subject.common_name,
            "kube-kubelet-2-2-2-2"
        );
        assert_eq!(
            by("kube-kubelet-2-2-2-2").subject.sans,
            [San::Dns("h-2.2.2.2".into()), San::parse("2.2.2.2")]
        );
        assert_eq!(
            by("kube-apiserver-proxy-client").signer,
            SignerRef::RequestHeaderCa
        );
        assert!(by("kube-apiserver-proxy-client").subject.server);
        assert!(!by("kube-admin").subject.server);
        assert_eq!(
            by("kube-admin").subject.organization.as_deref(),
            Some("system:masters")
        );
    }

    #[test]
    fn duplicate_node_names_are_refused() {
        let input = PkiInput {
            etcd: vec![node("1.1.1.1", "10.0.0.1"), node("2.2.2.2", "10.0.0.1")],
            ..PkiInput::default()
        };
        let err = leaf_specs(&input).unwrap_err();
        assert!(err.to_string().contains("kube-etcd-10-0-0-1"), "{err}");
    }
}
