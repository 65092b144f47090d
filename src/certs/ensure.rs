//! `ensure`: bring a certificate bundle in line with the cluster. Certificates that are still
//! correct stay byte-identical, missing ones are generated, wrong ones are re-issued (keeping
//! their key), and per-node certificates of departed nodes are dropped.

use super::bundle::{CertBundle, CertificatePki};
use super::input::{PkiInput, San};
use super::issue::{self, Signer};
use super::keys::Key;
use super::kubeconfig;
use super::names::*;
use super::spec::{self, LeafSpec, SignerRef};
use super::x509;
use crate::error::{ErrorKind, classified};
use serde::Serialize;
use std::collections::BTreeSet;
use time::OffsetDateTime;

/// What `ensure` changed, for the plan/dry-run output.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CertChanges {
    pub added: Vec<String>,
    /// (bundle name, reason).
    pub regenerated: Vec<(String, String)>,
    pub removed: Vec<String>,
}

impl CertChanges {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.regenerated.is_empty() && self.removed.is_empty()
    }

    /// Every bundle entry that was added, regenerated or removed, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .added
            .iter()
            .chain(self.regenerated.iter().map(|(n, _)| n))
            .chain(&self.removed)
            .cloned()
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }
}

/// A CA ready for use, and whether it was just created (everything it signed must follow).
struct CaState {
    signer: Signer,
    fresh: bool,
}

pub fn ensure(
    input: &PkiInput,
    existing: &CertBundle,
    now: OffsetDateTime,
) -> anyhow::Result<(CertBundle, CertChanges)> {
    if input.validity_days == 0 {
        // Certificates valid for no time would be re-issued on every run.
        return Err(classified(
            ErrorKind::Config,
            "certificate validity must be at least one day",
        ));
    }
    let specs = spec::leaf_specs(input)?;
    let mut out = CertBundle::new();
    let mut changes = CertChanges::default();

    let kube_ca = ensure_ca(KUBE_CA, existing, input, now, &mut out, &mut changes)?;
    let request_header_ca = ensure_ca(
        REQUEST_HEADER_CA,
        existing,
        input,
        now,
        &mut out,
        &mut changes,
    )?;

    for spec in &specs {
        let ca = match spec.signer {
            SignerRef::KubeCa => &kube_ca,
            SignerRef::RequestHeaderCa => &request_header_ca,
        };
        let entry = ensure_leaf(spec, ca, existing.get(&spec.name), input, now, &mut changes)?;
        out.insert(spec.name.clone(), entry);
    }
    set_admin_config(&mut out, input)?;

    for (name, entry) in existing {
        if out.contains_key(name) {
            continue;
        }
        if is_node_etcd_cert(name) || is_kubelet_cert(name) {
            changes.removed.push(name.clone());
        } else {
            // Not ours to judge (e.g. external etcd client material): carry it over.
            out.insert(name.clone(), entry.clone());
        }
    }
    Ok((out, changes))
}

fn state_error(name: &str, what: impl std::fmt::Display) -> anyhow::Error {
    classified(
        ErrorKind::State,
        format!("certificate bundle entry [{name}]: {what}"),
    )
}

/// Keep the CA from the bundle, or create it when absent. A CA that is present but broken is an
/// error, never silently replaced: a new CA invalidates every certificate and token in the
/// cluster, which is `rke cert rotate --rotate-ca`'s job.
fn ensure_ca(
    name: &'static str,
    existing: &CertBundle,
    input: &PkiInput,
    now: OffsetDateTime,
    out: &mut CertBundle,
    changes: &mut CertChanges,
) -> anyhow::Result<CaState> {
    if let Some(entry) = existing.get(name).filter(|e| !e.certificate_pem.is_empty()) {
        let der = x509::first_cert(&entry.certificate_pem)
            .map_err(|e| state_error(name, format!("certificate unreadable: {e}")))?;
        let cert = x509::parse(&der)
            .map_err(|e| state_error(name, format!("certificate unreadable: {e}")))?;
        let key = if entry.key_pem.is_empty() {
            None
        } else {
            let key = Key::from_pem(&entry.key_pem)
                .map_err(|e| state_error(name, format!("private key unreadable: {e}")))?;
            if !key.matches(&cert) {
                return Err(state_error(
                    name,
                    "private key does not match the CA certificate",
                ));
            }
            Some(key)
        };
        let signer = Signer::from_entry(name, &entry.certificate_pem, key)
            .map_err(|e| state_error(name, format!("{e:#}")))?;
        out.insert(
            name.to_string(),
            CertificatePki::rke1_entry(
                name,
                "",
                "",
                entry.certificate_pem.clone(),
                entry.key_pem.clone(),
            ),
        );
        return Ok(CaState {
            signer,
            fresh: false,
        });
    }

    let key = Key::generate(input.key_algorithm)?;
    let pem = issue::self_signed_ca(name, &key, now, input.validity_days)?;
    let key_pem = key.pem.clone();
    let signer = Signer::from_entry(name, &pem, Some(key))?;
    out.insert(
        name.to_string(),
        CertificatePki::rke1_entry(name, "", "", pem, key_pem),
    );
    changes.added.push(name.to_string());
    Ok(CaState {
        signer,
        fresh: true,
    })
}

/// The verdict on an existing leaf: its usable key (if any) and the first problem found.
struct Assessment {
    key: Option<Key>,
    /// The key PEM was present but could not be read.
    key_unreadable: bool,
    problem: Option<String>,
}

fn assess(
    spec: &LeafSpec,
    ca: &CaState,
    entry: &CertificatePki,
    now: OffsetDateTime,
) -> Assessment {
    let (key, key_problem) = if entry.key_pem.is_empty() {
        (None, Some("private key missing".to_string()))
    } else {
        match Key::from_pem(&entry.key_pem) {
            Ok(k) => (Some(k), None),
            Err(e) => (None, Some(format!("private key unreadable: {e}"))),
        }
    };
    let key_unreadable = !entry.key_pem.is_empty() && key.is_none();
    let problem = cert_problem(spec, ca, entry, key.as_ref(), now).or(key_problem);
    Assessment {
        key,
        key_unreadable,
        problem,
    }
}

fn cert_problem(
    spec: &LeafSpec,
    ca: &CaState,
    entry: &CertificatePki,
    key: Option<&Key>,
    now: OffsetDateTime,
) -> Option<String> {
    if entry.certificate_pem.is_empty() {
        return Some("certificate missing".into());
    }
    let der = match x509::first_cert(&entry.certificate_pem) {
        Ok(d) => d,
        Err(e) => return Some(format!("certificate unreadable: {e}")),
    };
    let cert = match x509::parse(&der) {
        Ok(c) => c,
        Err(e) => return Some(format!("certificate unreadable: {e}")),
    };
    if key.is_some_and(|k| !k.matches(&cert)) {
        return Some("private key does not match the certificate".into());
    }
    if ca.fresh {
        return Some(format!("{} was regenerated", ca.signer.name));
    }
    let ca_cert = match x509::parse(&ca.signer.der) {
        Ok(c) => c,
        Err(e) => return Some(format!("{} unreadable: {e}", ca.signer.name)),
    };
    if let Err(e) = x509::verify_signed_by(&cert, &ca_cert) {
        return Some(format!("not signed by the current {}: {e}", ca.signer.name));
    }
    let facts = match x509::facts(&cert) {
        Ok(f) => f,
        Err(e) => return Some(format!("certificate unreadable: {e}")),
    };
    if now >= facts.not_after {
        return Some(format!("expired on {}", facts.not_after.date()));
    }
    if spec.key_only {
        return None;
    }
    let want = &spec.subject;
    if facts.common_name != want.common_name {
        return Some(format!(
            "common name is [{}], want [{}]",
            facts.common_name, want.common_name
        ));
    }
    let want_orgs: Vec<String> = want.organization.iter().cloned().collect();
    if facts.organizations != want_orgs {
        return Some(format!(
            "organization is {:?}, want {:?}",
            facts.organizations, want_orgs
        ));
    }
    let want_sans: BTreeSet<San> = want.sans.iter().cloned().collect();
    if facts.sans != want_sans {
        let added: Vec<String> = want_sans
            .difference(&facts.sans)
            .map(San::to_string)
            .collect();
        let gone: Vec<String> = facts
            .sans
            .difference(&want_sans)
            .map(San::to_string)
            .collect();
        return Some(format!(
            "SANs changed: adding [{}], removing [{}]",
            added.join(", "),
            gone.join(", ")
        ));
    }
    None
}

fn ensure_leaf(
    spec: &LeafSpec,
    ca: &CaState,
    existing: Option<&CertificatePki>,
    input: &PkiInput,
    now: OffsetDateTime,
    changes: &mut CertChanges,
) -> anyhow::Result<CertificatePki> {
    let existing = existing.filter(|e| !(e.certificate_pem.is_empty() && e.key_pem.is_empty()));
    let (key, reason) = match existing {
        None => (None, None),
        Some(entry) => {
            let verdict = assess(spec, ca, entry, now);
            match verdict.problem {
                None => {
                    return Ok(entry_for(
                        spec,
                        entry.certificate_pem.clone(),
                        entry.key_pem.clone(),
                    ));
                }
                Some(problem) => {
                    if spec.key_only && verdict.key_unreadable {
                        // A new key would invalidate every service-account token in the cluster.
                        return Err(state_error(
                            &spec.name,
                            format!(
                                "{problem}; this key signs service-account tokens and is never \
                                 replaced automatically (remove the entry to force a new key)"
                            ),
                        ));
                    }
                    (verdict.key, Some(problem))
                }
            }
        }
    };
    let key = match key {
        Some(k) => k,
        None => Key::generate(input.key_algorithm)?,
    };
    let certificate_pem =
        issue::signed_leaf(&spec.subject, &key, &ca.signer, now, input.validity_days).map_err(
            |e| {
                state_error(
                    &spec.name,
                    format!(
                        "cannot issue ({}): {e:#}",
                        reason.as_deref().unwrap_or("missing")
                    ),
                )
            },
        )?;
    match reason {
        None => changes.added.push(spec.name.clone()),
        Some(r) => changes.regenerated.push((spec.name.clone(), r)),
    }
    Ok(entry_for(spec, certificate_pem, key.pem))
}

fn entry_for(spec: &LeafSpec, certificate_pem: String, key_pem: String) -> CertificatePki {
    CertificatePki::rke1_entry(
        &spec.name,
        &spec.state_common_name,
        &spec.state_ou_name,
        certificate_pem,
        key_pem,
    )
}

/// `https://<first control-plane address>:6443`, with IPv6 literals bracketed.
pub fn api_server_url(address: &str) -> String {
    if address.parse::<std::net::Ipv6Addr>().is_ok() {
        format!("https://[{address}]:6443")
    } else {
        format!("https://{address}:6443")
    }
}

/// RKE1 stores the admin kubeconfig in kube-admin's `config` (and the local file path in
/// `configPath`) when the cluster has a control plane.
fn set_admin_config(out: &mut CertBundle, input: &PkiInput) -> anyhow::Result<()> {
    let Some(first_cp) = input.control_plane.first() else {
        if let Some(admin) = out.get_mut(KUBE_ADMIN) {
            admin.config = String::new();
        }
        return Ok(());
    };
    let config =
        kubeconfig::admin_kubeconfig(out, &api_server_url(&first_cp.address), &input.cluster_name)?;
    if let Some(admin) = out.get_mut(KUBE_ADMIN) {
        admin.config = config;
        admin.config_path = input.local_kubeconfig_path.clone();
    }
    Ok(())
}

#[cfg(test)]
mod tests;
