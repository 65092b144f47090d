//! Which certificates, keys and kubeconfigs each node receives (RKE1 `pki.getCertKeys` and the
//! deploy rules of `pki/deploy.go`), as files.

use super::super::apiserver::{ETCD_CLIENT, ETCD_CLIENT_CA};
use super::super::context::{Cluster, Host};
use super::super::etcd;
use super::super::kubelet::serving_cert_name;
use super::super::paths;
use super::super::types::NodeFile;
use crate::certs::{
    API_PROXY_CLIENT, CertificatePki, KUBE_APISERVER, KUBE_CA, KUBE_CONTROLLER_MANAGER, KUBE_NODE,
    KUBE_PROXY, KUBE_SCHEDULER, REQUEST_HEADER_CA, SERVICE_ACCOUNT_TOKEN,
};
use crate::error::{ErrorKind, classified};
use std::borrow::Cow;

/// One bundle entry to deploy, and whether its private key goes along.
struct Wanted {
    name: String,
    with_key: bool,
    /// `(uid, gid)` owning the files (etcd running as a user).
    owner: Option<(u32, u32)>,
}

fn wanted(name: &str, with_key: bool) -> Wanted {
    Wanted {
        name: name.to_string(),
        with_key,
        owner: None,
    }
}

/// The bundle names a node needs, by role.
fn wanted_for(cluster: &Cluster, host: &Host) -> Vec<Wanted> {
    let node = host.node;
    let is_cp = node.is_controlplane();
    // Every node runs a kubelet and kube-proxy; only control-plane nodes sign anything.
    let mut list = vec![
        wanted(KUBE_CA, is_cp),
        wanted(KUBE_PROXY, true),
        wanted(KUBE_NODE, true),
    ];
    if cluster.cfg.services.kubelet.generate_serving_certificate {
        // RKE1 copied every node's serving certificate everywhere; a kubelet needs its own.
        list.push(wanted(&serving_cert_name(host), true));
    }
    if node.is_etcd() && !cluster.external_etcd() {
        let owner = etcd::owner(&cluster.cfg.services.etcd);
        for etcd_node in &cluster.etcd_nodes {
            let mut w = wanted(&etcd::cert_name(&cluster.host(etcd_node)), true);
            w.owner = owner;
            list.push(w);
        }
    }
    if is_cp {
        for name in [
            KUBE_APISERVER,
            SERVICE_ACCOUNT_TOKEN,
            KUBE_CONTROLLER_MANAGER,
            KUBE_SCHEDULER,
            REQUEST_HEADER_CA,
            API_PROXY_CLIENT,
        ] {
            list.push(wanted(name, true));
        }
        if cluster.external_etcd() {
            list.push(wanted(ETCD_CLIENT, true));
            list.push(wanted(ETCD_CLIENT_CA, false));
        }
    }
    list
}

/// External etcd client material comes from `services.etcd` when the bundle lacks it.
fn entry<'a>(cluster: &'a Cluster, name: &str) -> Option<Cow<'a, CertificatePki>> {
    if let Some(e) = cluster.certs.get(name) {
        return Some(Cow::Borrowed(e));
    }
    let etcd = &cluster.cfg.services.etcd;
    let (cert, key) = match name {
        ETCD_CLIENT => (&etcd.cert, &etcd.key),
        ETCD_CLIENT_CA => (&etcd.ca_cert, &String::new()),
        _ => return None,
    };
    (!cert.is_empty()).then(|| {
        Cow::Owned(CertificatePki {
            certificate_pem: cert.clone(),
            key_pem: key.clone(),
            name: name.to_string(),
            ..Default::default()
        })
    })
}

pub fn cert_files(cluster: &Cluster, host: &Host) -> anyhow::Result<Vec<NodeFile>> {
    let mut files = Vec::new();
    for w in wanted_for(cluster, host) {
        let e = entry(cluster, &w.name).ok_or_else(|| {
            classified(
                ErrorKind::State,
                format!(
                    "node {}: the certificate bundle has no `{}`; run `rke up` to generate \
                     missing certificates",
                    host.name(),
                    w.name
                ),
            )
        })?;
        if e.certificate_pem.is_empty() {
            return Err(classified(
                ErrorKind::State,
                format!("certificate `{}` in the bundle is empty", w.name),
            ));
        }
        files.push(NodeFile {
            path: host.path(&paths::cert(&w.name)),
            contents: e.certificate_pem.as_bytes().to_vec(),
            mode: 0o644,
            secret: false,
            owner: w.owner,
        });
        if w.with_key && !e.key_pem.is_empty() {
            files.push(NodeFile {
                path: host.path(&paths::key(&w.name)),
                contents: e.key_pem.as_bytes().to_vec(),
                mode: 0o600,
                secret: true,
                owner: w.owner,
            });
        }
        if !e.config.is_empty() {
            files.push(NodeFile {
                path: host.path(&paths::kubeconfig(&w.name)),
                contents: e.config.as_bytes().to_vec(),
                mode: 0o600,
                // Component kubeconfigs name key files; one with embedded keys is a secret.
                secret: e.config.contains("-data:"),
                owner: w.owner,
            });
        }
    }
    Ok(files)
}
