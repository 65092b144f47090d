//! `rke cert rotate` (RKE1 `RotateRKECertificates`): which bundle entries get new keys, and the
//! rotated bundle. Rotation is "forget these entries, then [`ensure`]": `ensure` issues what is
//! missing with fresh keys and keeps everything else byte-identical.

use super::bundle::CertBundle;
use super::ensure::{CertChanges, ensure};
use super::input::PkiInput;
use super::names::*;
use super::spec::{self, SignerRef};
use super::x509;
use crate::error::{ErrorKind, classified};
use std::collections::BTreeSet;
use time::OffsetDateTime;

/// The services `--service` accepts (RKE1's container names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RotateService {
    KubeApiserver,
    KubeControllerManager,
    KubeScheduler,
    Kubelet,
    KubeProxy,
    Etcd,
}

impl RotateService {
    pub const ALL: [RotateService; 6] = [
        RotateService::KubeApiserver,
        RotateService::KubeControllerManager,
        RotateService::KubeScheduler,
        RotateService::Kubelet,
        RotateService::KubeProxy,
        RotateService::Etcd,
    ];
    /// The accepted `--service` values, in [`Self::ALL`]'s order.
    pub const NAMES: [&'static str; 6] = [
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
        "kubelet",
        "kube-proxy",
        "etcd",
    ];

    pub fn name(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    pub fn from_name(name: &str) -> Option<RotateService> {
        Self::NAMES
            .iter()
            .position(|n| *n == name)
            .map(|i| Self::ALL[i])
    }

    /// The bundle entries this service's certificates are: fixed names, plus the per-node
    /// entries of `bundle` (every etcd node's certificate; kubelet serving certificates).
    pub fn entries(self, bundle: &CertBundle) -> Vec<String> {
        let per_node = |is: fn(&str) -> bool| -> Vec<String> {
            bundle.keys().filter(|n| is(n)).cloned().collect()
        };
        match self {
            RotateService::KubeApiserver => vec![KUBE_APISERVER.to_string()],
            RotateService::KubeControllerManager => vec![KUBE_CONTROLLER_MANAGER.to_string()],
            RotateService::KubeScheduler => vec![KUBE_SCHEDULER.to_string()],
            RotateService::KubeProxy => vec![KUBE_PROXY.to_string()],
            RotateService::Kubelet => {
                let mut v = vec![KUBE_NODE.to_string()];
                v.extend(per_node(is_kubelet_cert));
                v
            }
            RotateService::Etcd => per_node(is_node_etcd_cert),
        }
    }
}

/// What to rotate. No services and no CA: every service certificate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RotateRequest {
    pub services: Vec<RotateService>,
    pub rotate_ca: bool,
}

/// The entries of `current` that get new keys. `--rotate-ca` takes both CAs and everything
/// they signed, the service-account key included; otherwise that key is always preserved
/// (a new one would invalidate every token in the cluster).
pub fn entries_to_rotate(
    input: &PkiInput,
    current: &CertBundle,
    req: &RotateRequest,
) -> anyhow::Result<BTreeSet<String>> {
    let mut names = BTreeSet::new();
    if req.rotate_ca || req.services.is_empty() {
        for spec in spec::leaf_specs(input)? {
            names.insert(spec.name);
        }
        for name in current.keys() {
            if is_node_etcd_cert(name) || is_kubelet_cert(name) || name == KUBE_ADMIN {
                names.insert(name.clone());
            }
        }
        if req.rotate_ca {
            names.insert(KUBE_CA.to_string());
            names.insert(REQUEST_HEADER_CA.to_string());
        } else {
            names.remove(SERVICE_ACCOUNT_TOKEN);
        }
    } else {
        for service in &req.services {
            names.extend(service.entries(current));
        }
    }
    Ok(names)
}

/// The rotated bundle for the cluster described by `input`, starting from the bundle the
/// cluster runs (`currentState`). Without `--rotate-ca` the current CAs must still verify the
/// certificates they signed.
pub fn rotate(
    input: &PkiInput,
    current: &CertBundle,
    req: &RotateRequest,
    now: OffsetDateTime,
) -> anyhow::Result<(CertBundle, CertChanges)> {
    if current.is_empty() {
        return Err(classified(
            ErrorKind::State,
            "the state has no certificates the cluster runs with: bring the cluster up with \
             `rke up` first",
        ));
    }
    if !req.rotate_ca {
        verify_current_cas(input, current)?;
    }
    let forget = entries_to_rotate(input, current, req)?;
    let kept: CertBundle = current
        .iter()
        .filter(|(name, _)| !forget.contains(*name))
        .map(|(n, e)| (n.clone(), e.clone()))
        .collect();
    ensure(input, &kept, now)
}

/// Every certificate of `current` the cluster still needs must verify against the CA that
/// should have signed it (RKE1 refuses the same way).
pub fn verify_current_cas(input: &PkiInput, current: &CertBundle) -> anyhow::Result<()> {
    let refuse = |what: String| {
        classified(
            ErrorKind::State,
            format!("{what}; please use the --rotate-ca flag to rotate the CA certificates too"),
        )
    };
    for spec in spec::leaf_specs(input)? {
        let Some(entry) = current
            .get(&spec.name)
            .filter(|e| !e.certificate_pem.is_empty())
        else {
            continue;
        };
        let ca_name = match spec.signer {
            SignerRef::KubeCa => KUBE_CA,
            SignerRef::RequestHeaderCa => REQUEST_HEADER_CA,
        };
        let ca_pem = current
            .get(ca_name)
            .map(|e| e.certificate_pem.as_str())
            .unwrap_or_default();
        let ca_der = x509::first_cert(ca_pem)
            .map_err(|e| refuse(format!("the current {ca_name} is unreadable: {e}")))?;
        let ca = x509::parse(&ca_der)
            .map_err(|e| refuse(format!("the current {ca_name} is unreadable: {e}")))?;
        let der = x509::first_cert(&entry.certificate_pem).map_err(|e| {
            refuse(format!(
                "certificate bundle entry [{}] is unreadable: {e}",
                spec.name
            ))
        })?;
        let cert = x509::parse(&der).map_err(|e| {
            refuse(format!(
                "certificate bundle entry [{}] is unreadable: {e}",
                spec.name
            ))
        })?;
        x509::verify_signed_by(&cert, &ca).map_err(|e| {
            refuse(format!(
                "the current {ca_name} does not verify certificate [{}]: {e}",
                spec.name
            ))
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
