//! Host key verification against `known_hosts`, the three policies, and the russh client
//! handler that applies them during the handshake.

use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use russh::Preferred;
use russh::client;
use russh::keys::ssh_key::certificate::CertType;
use russh::keys::ssh_key::{Certificate, HashAlg, PublicKey};
use russh::keys::{Algorithm, PublicKeyOrCertificate};

use super::error::TransportError;
use super::known_hosts::{self, KeyStatus, KnownHosts, match_pattern};
use super::target::HostKeyPolicy;

/// Serialises read-check-append cycles on known_hosts files within this process, so that two
/// connections learning keys at once (e.g. a bastion that is also a node) do not interleave.
static KNOWN_HOSTS_LOCK: Mutex<()> = Mutex::new(());

/// What to check one server against.
#[derive(Debug, Clone)]
pub(crate) struct HostKeyCheck {
    pub node: String,
    pub address: String,
    pub port: u16,
    pub known_hosts: PathBuf,
    pub policy: HostKeyPolicy,
}

impl HostKeyCheck {
    fn lookup(&self) -> String {
        known_hosts::lookup_name(&self.address, self.port)
    }

    fn load(&self) -> Result<KnownHosts, TransportError> {
        let kh = KnownHosts::load(&self.known_hosts).map_err(|e| TransportError::KnownHosts {
            path: self.known_hosts.clone(),
            reason: e.to_string(),
        })?;
        for w in &kh.warnings {
            tracing::warn!("skipping unreadable known_hosts line {w}");
        }
        Ok(kh)
    }

    /// Decide whether the key (or certificate) presented by the server is acceptable.
    pub fn verify(&self, presented: &PublicKeyOrCertificate) -> Result<(), TransportError> {
        let _guard = KNOWN_HOSTS_LOCK.lock().unwrap_or_else(|p| p.into_inner());
        if self.policy == HostKeyPolicy::Off {
            let key = presented.public_key();
            tracing::warn!(
                node = %self.node,
                "host key checking is off: accepting {} {} without verification",
                key.algorithm().as_str(),
                known_hosts::fingerprint(&key)
            );
            return Ok(());
        }
        let kh = self.load()?;
        match presented {
            PublicKeyOrCertificate::Certificate(cert) => self.verify_certificate(&kh, cert),
            PublicKeyOrCertificate::PublicKey { key, .. } => self.verify_key(&kh, key),
        }
    }

    fn verify_key(&self, kh: &KnownHosts, key: &PublicKey) -> Result<(), TransportError> {
        let host = self.lookup();
        let fingerprint = known_hosts::fingerprint(key);
        let algorithm = key.algorithm().as_str().to_string();
        match kh.check_key(&self.address, self.port, key) {
            KeyStatus::Known { .. } => Ok(()),
            KeyStatus::Revoked { line } => Err(TransportError::HostKeyRevoked {
                node: self.node.clone(),
                host,
                fingerprint,
                known_hosts: self.known_hosts.clone(),
                line,
            }),
            KeyStatus::Changed { expected } => Err(TransportError::HostKeyChanged {
                node: self.node.clone(),
                host,
                algorithm,
                presented: fingerprint,
                expected,
                known_hosts: self.known_hosts.clone(),
            }),
            KeyStatus::Unknown { other_types } => {
                if !other_types.is_empty() {
                    tracing::warn!(
                        node = %self.node,
                        "{host} presented a {algorithm} key, but {} only records keys of other types ({})",
                        self.known_hosts.display(),
                        other_types.iter().map(|k| k.algorithm.as_str()).collect::<Vec<_>>().join(", ")
                    );
                }
                match self.policy {
                    HostKeyPolicy::Strict => Err(TransportError::HostKeyUnknown {
                        node: self.node.clone(),
                        host,
                        address: self.address.clone(),
                        port: self.port,
                        algorithm,
                        fingerprint,
                        known_hosts: self.known_hosts.clone(),
                    }),
                    _ => {
                        self.learn(key)?;
                        tracing::info!(
                            node = %self.node,
                            "learned host key {algorithm} {fingerprint} for {host} into {}",
                            self.known_hosts.display()
                        );
                        Ok(())
                    }
                }
            }
        }
    }

    fn verify_certificate(
        &self,
        kh: &KnownHosts,
        cert: &Certificate,
    ) -> Result<(), TransportError> {
        let host = self.lookup();
        let ca = PublicKey::new(cert.signature_key().clone(), "");
        let inner = PublicKey::new(cert.public_key().clone(), "");
        for key in [&ca, &inner] {
            if let Some(line) = kh.revoked_line(&self.address, self.port, key) {
                return Err(TransportError::HostKeyRevoked {
                    node: self.node.clone(),
                    host,
                    fingerprint: known_hosts::fingerprint(key),
                    known_hosts: self.known_hosts.clone(),
                    line,
                });
            }
        }
        let trusted = kh
            .authorities_for(&self.address, self.port)
            .into_iter()
            .any(|e| e.key.key_data() == ca.key_data());
        if !trusted {
            // As OpenSSH does: with no CA for this host, judge the certified key on its own.
            tracing::debug!(node = %self.node, "no @cert-authority for {host} signed its certificate; checking the plain key");
            return self.verify_key(kh, &inner);
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        check_host_certificate(cert, &self.address, now).map_err(|reason| {
            TransportError::HostCertificateRejected {
                node: self.node.clone(),
                host,
                reason,
            }
        })
    }

    /// Append the key to known_hosts, creating the file 0600 and its directory 0700.
    fn learn(&self, key: &PublicKey) -> Result<(), TransportError> {
        let io_err = |e: std::io::Error| TransportError::KnownHosts {
            path: self.known_hosts.clone(),
            reason: format!("cannot record the new host key: {e}"),
        };
        let line = known_hosts::format_line(&self.address, self.port, key).map_err(|reason| {
            TransportError::KnownHosts {
                path: self.known_hosts.clone(),
                reason,
            }
        })?;
        if let Some(dir) = self
            .known_hosts
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
        {
            create_private_dir(dir).map_err(io_err)?;
        }
        let needs_newline = crate::limits::read_file(&self.known_hosts, crate::limits::KNOWN_HOSTS)
            .map(|b| !b.is_empty() && !b.ends_with(b"\n"))
            .unwrap_or(false);
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&self.known_hosts)
            .map_err(io_err)?;
        let text = format!("{}{line}\n", if needs_newline { "\n" } else { "" });
        file.write_all(text.as_bytes()).map_err(io_err)?;
        file.sync_all().map_err(io_err)
    }

    /// Host key algorithms in the order to offer them: types already recorded for this host
    /// first (so a known key is presented rather than an unknown one of another type), and
    /// certificate types when a `@cert-authority` covers the host.
    pub fn preferred(&self) -> Preferred {
        let mut preferred = Preferred::default();
        if self.policy == HostKeyPolicy::Off {
            return preferred;
        }
        let Ok(kh) = KnownHosts::load(&self.known_hosts) else {
            return preferred;
        };
        // As OpenSSH's order_hostkeyalgs: known types first, each group in the default order.
        let known = kh.known_algorithms(&self.address, self.port);
        let is_known = |candidate: &Algorithm| {
            known.iter().any(|k| match (k, candidate) {
                (Algorithm::Rsa { .. }, Algorithm::Rsa { .. }) => true,
                (a, b) => a == b,
            })
        };
        let (mut order, rest): (Vec<Algorithm>, Vec<Algorithm>) =
            Preferred::DEFAULT.key.iter().cloned().partition(is_known);
        order.extend(rest);
        if !kh.authorities_for(&self.address, self.port).is_empty() {
            preferred.host_key_certificates = order
                .iter()
                .filter(|a| !matches!(a, Algorithm::Rsa { hash: None }))
                .cloned()
                .collect::<Vec<_>>()
                .into();
        }
        preferred.key = order.into();
        preferred
    }
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// OpenSSH's checks for a host certificate signed by a trusted CA (`sshkey_cert_check_authority`
/// with `want_host`): a host certificate, valid now, correctly signed, with `host` among its
/// principals (wildcards allowed; no principals means any host) and no critical options.
pub(crate) fn check_host_certificate(
    cert: &Certificate,
    host: &str,
    now: u64,
) -> Result<(), String> {
    if cert.cert_type() != CertType::Host {
        return Err("it is a user certificate, not a host certificate".into());
    }
    let ca_fp = cert.signature_key().fingerprint(HashAlg::Sha256);
    if cert.validate_at(now, [&ca_fp]).is_err() {
        return Err(if now < cert.valid_after() {
            "it is not valid yet".into()
        } else if now >= cert.valid_before() {
            "it has expired".into()
        } else {
            "its CA signature does not verify".into()
        });
    }
    let principals = cert.valid_principals();
    if !principals.is_empty() && !principals.iter().any(|p| match_pattern(host, p)) {
        return Err(format!(
            "{host} is not among its principals ({})",
            principals.join(", ")
        ));
    }
    if !cert.critical_options().is_empty() {
        return Err("it carries critical options, which host certificates may not".into());
    }
    Ok(())
}

/// Error of the russh client handler: a protocol error, or our host key verdict.
#[derive(Debug)]
pub(crate) enum HandlerError {
    Ssh(russh::Error),
    HostKey(TransportError),
}

impl From<russh::Error> for HandlerError {
    fn from(e: russh::Error) -> Self {
        HandlerError::Ssh(e)
    }
}

/// The russh client handler: verifies the server key; everything else keeps the defaults.
pub(crate) struct ClientHandler {
    pub check: Arc<HostKeyCheck>,
}

impl client::Handler for ClientHandler {
    type Error = HandlerError;

    async fn check_server_key(
        &mut self,
        server_public_key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        self.check
            .verify(server_public_key)
            .map(|()| true)
            .map_err(HandlerError::HostKey)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::testkit;

    fn check(path: &Path, policy: HostKeyPolicy, port: u16) -> HostKeyCheck {
        HostKeyCheck {
            node: "node1".into(),
            address: "10.1.2.3".into(),
            port,
            known_hosts: path.to_path_buf(),
            policy,
        }
    }

    fn plain(key: &PublicKey) -> PublicKeyOrCertificate {
        key.clone().into()
    }

    #[test]
    fn accept_new_learns_then_detects_change() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/known_hosts");
        let a = testkit::ed25519();
        let b = testkit::ed25519();
        let c = check(&path, HostKeyPolicy::AcceptNew, 2222);
        c.verify(&plain(a.public_key())).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("[10.1.2.3]:2222 ssh-ed25519 "), "{text}");
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        // Second connection: known, nothing appended.
        c.verify(&plain(a.public_key())).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
        // A different key of the same type: changed.
        match c.verify(&plain(b.public_key())).unwrap_err() {
            TransportError::HostKeyChanged {
                expected,
                presented,
                ..
            } => {
                assert_eq!(expected[0].line, 1);
                assert_eq!(
                    expected[0].fingerprint,
                    known_hosts::fingerprint(a.public_key())
                );
                assert_eq!(presented, known_hosts::fingerprint(b.public_key()));
            }
            e => panic!("unexpected {e}"),
        }
    }

    #[test]
    fn strict_refuses_unknown_and_off_accepts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("known_hosts");
        let a = testkit::ed25519();
        let e = check(&path, HostKeyPolicy::Strict, 22)
            .verify(&plain(a.public_key()))
            .unwrap_err();
        assert!(matches!(e, TransportError::HostKeyUnknown { .. }), "{e}");
        assert!(!path.exists(), "strict must not write");
        check(&path, HostKeyPolicy::Off, 22)
            .verify(&plain(a.public_key()))
            .unwrap();
        assert!(!path.exists(), "off must not write");
    }

    #[test]
    fn appends_after_a_line_without_newline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("known_hosts");
        let other = testkit::ed25519();
        let first = known_hosts::format_line("other", 22, other.public_key()).unwrap();
        std::fs::write(&path, &first).unwrap();
        let a = testkit::ed25519();
        check(&path, HostKeyPolicy::AcceptNew, 22)
            .verify(&plain(a.public_key()))
            .unwrap();
        let kh = KnownHosts::load(&path).unwrap();
        assert_eq!(kh.entries.len(), 2);
        assert!(kh.warnings.is_empty());
    }

    #[test]
    fn host_certificates_need_a_trusted_ca_and_principal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("known_hosts");
        let ca = testkit::ed25519();
        let host_key = testkit::ed25519();
        let cert = testkit::host_cert(&ca, host_key.public_key(), &["10.1.2.*"], CertType::Host);
        let ca_line = format!(
            "@cert-authority 10.1.2.* {}\n",
            ca.public_key().to_openssh().unwrap()
        );
        std::fs::write(&path, &ca_line).unwrap();
        let strict = check(&path, HostKeyPolicy::Strict, 22);
        strict.verify(&cert.clone().into()).unwrap();

        // Principal mismatch.
        let wrong = testkit::host_cert(&ca, host_key.public_key(), &["db.lab"], CertType::Host);
        let e = strict.verify(&wrong.into()).unwrap_err();
        assert!(e.to_string().contains("not among its principals"), "{e}");

        // A user certificate is not a host certificate.
        let user = testkit::host_cert(&ca, host_key.public_key(), &[], CertType::User);
        let e = strict.verify(&user.into()).unwrap_err();
        assert!(e.to_string().contains("user certificate"), "{e}");

        // Signed by an untrusted CA: falls back to the plain key, unknown under strict.
        let other_ca = testkit::ed25519();
        let foreign = testkit::host_cert(&other_ca, host_key.public_key(), &[], CertType::Host);
        let e = strict.verify(&foreign.into()).unwrap_err();
        assert!(matches!(e, TransportError::HostKeyUnknown { .. }), "{e}");

        // A revoked CA is refused even though it is also trusted.
        std::fs::write(
            &path,
            format!(
                "{ca_line}@revoked * {}\n",
                ca.public_key().to_openssh().unwrap()
            ),
        )
        .unwrap();
        let e = strict.verify(&cert.into()).unwrap_err();
        assert!(
            matches!(e, TransportError::HostKeyRevoked { line: 2, .. }),
            "{e}"
        );
    }

    #[test]
    fn certificate_validity_window() {
        let ca = testkit::ed25519();
        let host_key = testkit::ed25519();
        let cert = testkit::host_cert(&ca, host_key.public_key(), &[], CertType::Host);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        check_host_certificate(&cert, "x", now).unwrap();
        let e = check_host_certificate(&cert, "x", now + 10 * 86400).unwrap_err();
        assert!(e.contains("expired"), "{e}");
        let e = check_host_certificate(&cert, "x", 1000).unwrap_err();
        assert!(e.contains("not valid yet"), "{e}");
    }

    #[test]
    fn preferred_orders_known_types_first() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("known_hosts");
        let rsa = testkit::rsa();
        std::fs::write(
            &path,
            format!("10.1.2.3 {}\n", rsa.public_key().to_openssh().unwrap()),
        )
        .unwrap();
        let p = check(&path, HostKeyPolicy::AcceptNew, 22).preferred();
        assert!(matches!(p.key[0], Algorithm::Rsa { .. }), "{:?}", p.key);
        assert!(p.host_key_certificates.is_empty());
        let q = check(&path, HostKeyPolicy::AcceptNew, 2200).preferred();
        assert_eq!(q.key[0], Algorithm::Ed25519);
    }
}
