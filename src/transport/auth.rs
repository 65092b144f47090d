//! Loading SSH credentials (key, passphrase, certificate, agent) and authenticating a session.
//!
//! Keys are loaded once per run, before any connection starts, so that a passphrase prompt
//! happens at most once per key and never interleaves with concurrent connections.

use std::collections::HashMap;
use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::sync::Arc;

use russh::MethodKind;
use russh::client;
use russh::client::AuthResult;
use russh::keys::agent::AgentIdentity;
use russh::keys::agent::client::AgentClient;
use russh::keys::ssh_key::certificate::CertType;
use russh::keys::{Certificate, PrivateKey, PrivateKeyWithHashAlg, PublicKey};

use super::error::TransportError;
use super::host_key::ClientHandler;
use super::known_hosts::fingerprint;
use super::target::{SshAuth, expand_tilde};

/// A private key ready to sign, with a description for messages.
#[derive(Clone)]
pub(crate) struct LoadedKey {
    pub key: Arc<PrivateKey>,
    pub desc: String,
}

/// An OpenSSH user certificate, with a description for messages.
#[derive(Clone)]
pub(crate) struct LoadedCert {
    pub cert: Certificate,
    pub desc: String,
}

/// Everything needed to authenticate one target.
#[derive(Clone)]
pub(crate) struct Credentials {
    pub key: Option<LoadedKey>,
    pub cert: Option<LoadedCert>,
    /// The agent socket (`$SSH_AUTH_SOCK`) when `ssh_agent_auth` is on.
    pub agent: Option<PathBuf>,
}

/// Why a key could not be used (kept per key, so each node's error can name its node).
#[derive(Clone)]
struct KeyProblem {
    source: String,
    reason: String,
}

type EnvLookup = Box<dyn Fn(&str) -> Option<String> + Send + Sync>;
type Prompt = Box<dyn Fn(&str) -> std::io::Result<String> + Send + Sync>;

/// Loads and caches keys for a run.
pub(crate) struct KeyLoader {
    cache: HashMap<String, Result<LoadedKey, KeyProblem>>,
    env: EnvLookup,
    /// `None` when stdin is not a terminal: no prompting then.
    prompt: Option<Prompt>,
}

impl Default for KeyLoader {
    fn default() -> Self {
        let prompt: Option<Prompt> = if std::io::stdin().is_terminal() {
            Some(Box::new(|text: &str| rpassword::prompt_password(text)))
        } else {
            None
        };
        Self {
            cache: HashMap::new(),
            env: Box::new(|name: &str| std::env::var(name).ok()),
            prompt,
        }
    }
}

impl KeyLoader {
    #[cfg(test)]
    pub fn with(env: EnvLookup, prompt: Option<Prompt>) -> Self {
        Self {
            cache: HashMap::new(),
            env,
            prompt,
        }
    }

    /// Resolve `auth` into usable credentials for `node`.
    pub fn credentials(
        &mut self,
        node: &str,
        auth: &SshAuth,
    ) -> Result<Credentials, TransportError> {
        let mut skipped_key: Option<KeyProblem> = None;
        let key = match self.key(auth) {
            None => None,
            Some(Ok(k)) => Some(k),
            Some(Err(p)) if auth.agent => {
                tracing::debug!(
                    node,
                    "not using SSH key {}: {} (ssh-agent is enabled)",
                    p.source,
                    p.reason
                );
                skipped_key = Some(p);
                None
            }
            Some(Err(p)) => {
                return Err(TransportError::Key {
                    node: node.to_string(),
                    source_name: p.source,
                    reason: p.reason,
                });
            }
        };
        let cert = load_cert(auth)
            .transpose()
            .map_err(|p| TransportError::Key {
                node: node.to_string(),
                source_name: p.source,
                reason: p.reason,
            })?;
        if let (Some(c), Some(k)) = (&cert, &key)
            && c.cert.public_key() != k.key.public_key().key_data()
        {
            return Err(TransportError::Key {
                node: node.to_string(),
                source_name: c.desc.clone(),
                reason: format!("the certificate is not for the key {}", k.desc),
            });
        }
        if cert.is_some() && key.is_none() && !auth.agent {
            return Err(TransportError::Key {
                node: node.to_string(),
                source_name: cert.as_ref().map(|c| c.desc.clone()).unwrap_or_default(),
                reason:
                    "a certificate needs its private key (ssh_key / ssh_key_path) or ssh_agent_auth"
                        .into(),
            });
        }
        if key.is_none() && cert.is_none() && !auth.agent {
            return Err(TransportError::Key {
                node: node.to_string(),
                source_name: "configuration".into(),
                reason: "no SSH key configured: set ssh_key_path, ssh_key or ssh_agent_auth".into(),
            });
        }
        let agent = if auth.agent {
            match (self.env)("SSH_AUTH_SOCK").filter(|s| !s.is_empty()) {
                Some(sock) => Some(PathBuf::from(sock)),
                None if key.is_none() => {
                    let also = skipped_key
                        .map(|p| format!(" (and the key {} is unusable: {})", p.source, p.reason))
                        .unwrap_or_default();
                    return Err(TransportError::Agent {
                        node: node.to_string(),
                        reason: format!(
                            "ssh_agent_auth is set but SSH_AUTH_SOCK is not: start ssh-agent and ssh-add your key{also}"
                        ),
                    });
                }
                None => {
                    tracing::warn!(
                        node,
                        "ssh_agent_auth is set but SSH_AUTH_SOCK is not; using the key only"
                    );
                    None
                }
            }
        } else {
            None
        };
        Ok(Credentials { key, cert, agent })
    }

    fn key(&mut self, auth: &SshAuth) -> Option<Result<LoadedKey, KeyProblem>> {
        let (cache_id, source, text) =
            if let Some(inline) = auth.key.as_deref().filter(|k| !k.trim().is_empty()) {
                (
                    format!("inline:{inline}"),
                    "ssh_key (inline)".to_string(),
                    Ok(inline.to_string()),
                )
            } else {
                let path = expand_tilde(auth.key_path.as_deref()?);
                let source = path.display().to_string();
                let text = crate::limits::read_file_to_string(&path, crate::limits::SMALL_FILE)
                    .map_err(|e| format!("cannot read the key file: {e}"));
                (format!("file:{source}"), source, text)
            };
        if let Some(hit) = self.cache.get(&cache_id) {
            return Some(hit.clone());
        }
        let loaded = text
            .and_then(|text| self.decode(&text, &source, auth))
            .map(|key| LoadedKey {
                desc: format!(
                    "{source} ({} {})",
                    key.algorithm().as_str(),
                    fingerprint(key.public_key())
                ),
                key: Arc::new(key),
            })
            .map_err(|reason| KeyProblem { source, reason });
        self.cache.insert(cache_id, loaded.clone());
        Some(loaded)
    }

    fn decode(&self, text: &str, source: &str, auth: &SshAuth) -> Result<PrivateKey, String> {
        match russh::keys::decode_secret_key(text, None) {
            Ok(k) => return Ok(k),
            Err(e) if !is_encrypted_error(&e) => {
                return Err(format!("cannot parse the private key: {e}"));
            }
            Err(_) => {}
        }
        let var = auth.passphrase_var();
        if let Some(pass) = (self.env)(var) {
            return russh::keys::decode_secret_key(text, Some(&pass)).map_err(|_| {
                format!("the key is encrypted and the passphrase in ${var} does not open it")
            });
        }
        if auth.agent {
            // Never prompt for a key the agent may make unnecessary.
            return Err(format!("the key is encrypted and ${var} is not set"));
        }
        let Some(prompt) = &self.prompt else {
            return Err(format!(
                "the key is encrypted: put its passphrase in ${var}, or add the key to ssh-agent \
                 (ssh-add) and set ssh_agent_auth: true"
            ));
        };
        for _ in 0..3 {
            let pass = prompt(&format!("Passphrase for SSH key {source}: "))
                .map_err(|e| format!("cannot read the passphrase: {e}"))?;
            match russh::keys::decode_secret_key(text, Some(&pass)) {
                Ok(k) => return Ok(k),
                Err(_) => eprintln!("Wrong passphrase for {source}."),
            }
        }
        Err("the key is encrypted and no correct passphrase was given".into())
    }
}

fn is_encrypted_error(e: &russh::keys::Error) -> bool {
    use russh::keys::ssh_key::Error as K;
    matches!(
        e,
        russh::keys::Error::KeyIsEncrypted | russh::keys::Error::SshKey(K::Encrypted)
    )
}

fn load_cert(auth: &SshAuth) -> Option<Result<LoadedCert, KeyProblem>> {
    let (source, text) = if let Some(inline) = auth.cert.as_deref().filter(|c| !c.trim().is_empty())
    {
        ("ssh_cert (inline)".to_string(), Ok(inline.to_string()))
    } else {
        let path = expand_tilde(auth.cert_path.as_deref()?);
        let source = path.display().to_string();
        let text = crate::limits::read_file_to_string(&path, crate::limits::SMALL_FILE)
            .map_err(|e| format!("cannot read the certificate file: {e}"));
        (source, text)
    };
    let parsed = text.and_then(|t| {
        Certificate::from_openssh(t.trim()).map_err(|e| format!("not an OpenSSH certificate: {e}"))
    });
    Some(match parsed {
        Ok(cert) if cert.cert_type() != CertType::User => Err(KeyProblem {
            source,
            reason: "this is a host certificate; a user certificate (ssh-keygen -s CA -I id -n USER) is needed".into(),
        }),
        Ok(cert) => Ok(LoadedCert {
            desc: format!("{source} (key id '{}')", cert.key_id()),
            cert,
        }),
        Err(reason) => Err(KeyProblem { source, reason }),
    })
}

/// Authenticate `user` on an established session: certificate, then key, then agent keys.
pub(crate) async fn authenticate(
    handle: &mut client::Handle<ClientHandler>,
    node: &str,
    user: &str,
    creds: &Credentials,
) -> Result<(), TransportError> {
    let mut tried: Vec<String> = Vec::new();
    let rejected = |tried: Vec<String>| TransportError::AuthRejected {
        node: node.to_string(),
        user: user.to_string(),
        tried,
    };
    let closed = |mut tried: Vec<String>, e: russh::Error| {
        tried.push(format!(
            "then the server closed the connection ({e}; too many attempts for MaxAuthTries?)"
        ));
        rejected(tried)
    };
    let rsa_hash = handle
        .best_supported_rsa_hash()
        .await
        .ok()
        .flatten()
        .flatten();
    let mut agent: Option<
        AgentClient<Box<dyn russh::keys::agent::client::AgentStream + Send + Unpin>>,
    > = None;
    if let Some(sock) = &creds.agent {
        match AgentClient::connect_uds(sock).await {
            Ok(a) => agent = Some(a.dynamic()),
            Err(e) => tried.push(format!(
                "ssh-agent at {} (unavailable: {e})",
                sock.display()
            )),
        }
    }

    if let Some(cert) = &creds.cert {
        tried.push(format!("certificate {}", cert.desc));
        let result = if let Some(key) = &creds.key {
            handle
                .authenticate_openssh_cert(user, key.key.clone(), cert.cert.clone())
                .await
                .map_err(|e| closed(tried.clone(), e))?
        } else if let Some(agent) = agent.as_mut() {
            match handle
                .authenticate_certificate_with(user, cert.cert.clone(), rsa_hash, agent)
                .await
            {
                Ok(r) => r,
                Err(e) => {
                    tried.push(format!("(agent could not sign for the certificate: {e})"));
                    failure()
                }
            }
        } else {
            failure()
        };
        if done(&result, &mut tried).map_err(|_| rejected(tried.clone()))? {
            return Ok(());
        }
    }

    if let Some(key) = &creds.key {
        tried.push(format!("key {}", key.desc));
        let signer = PrivateKeyWithHashAlg::new(key.key.clone(), rsa_hash);
        let result = handle
            .authenticate_publickey(user, signer)
            .await
            .map_err(|e| closed(tried.clone(), e))?;
        if done(&result, &mut tried).map_err(|_| rejected(tried.clone()))? {
            return Ok(());
        }
    }

    if let Some(agent) = agent.as_mut() {
        let identities = match agent.request_identities().await {
            Ok(ids) => ids,
            Err(e) => {
                tried.push(format!("ssh-agent (cannot list keys: {e})"));
                Vec::new()
            }
        };
        if identities.is_empty() {
            tried.push("ssh-agent (holds no keys: run ssh-add)".into());
        }
        for identity in identities {
            let result = match &identity {
                AgentIdentity::PublicKey { key, comment } => {
                    tried.push(format!("agent key {}", describe_agent_key(key, comment)));
                    let hash = if key.algorithm().is_rsa() {
                        rsa_hash
                    } else {
                        None
                    };
                    handle
                        .authenticate_publickey_with(user, key.clone(), hash, agent)
                        .await
                }
                AgentIdentity::Certificate {
                    certificate,
                    comment,
                } => {
                    tried.push(format!(
                        "agent certificate '{}' ({comment})",
                        certificate.key_id()
                    ));
                    handle
                        .authenticate_certificate_with(user, certificate.clone(), rsa_hash, agent)
                        .await
                }
            };
            match result {
                Ok(r) => {
                    if done(&r, &mut tried).map_err(|_| rejected(tried.clone()))? {
                        return Ok(());
                    }
                }
                Err(e) => {
                    if handle.is_closed() {
                        return Err(closed(tried, russh::Error::Disconnect));
                    }
                    tried.push(format!("(agent could not sign: {e})"));
                }
            }
        }
    }
    Err(rejected(tried))
}

fn failure() -> AuthResult {
    AuthResult::Failure {
        remaining_methods: russh::MethodSet::empty(),
        partial_success: false,
    }
}

/// True on success. A failure that rules out public keys altogether ends the attempt early.
fn done(result: &AuthResult, tried: &mut Vec<String>) -> Result<bool, ()> {
    match result {
        AuthResult::Success => Ok(true),
        AuthResult::Failure {
            remaining_methods,
            partial_success,
        } => {
            if *partial_success {
                tried.push(
                    "(accepted, but the server requires a second factor, which rke cannot provide)"
                        .into(),
                );
                return Err(());
            }
            if !remaining_methods.is_empty() && !remaining_methods.contains(&MethodKind::PublicKey)
            {
                let offers: Vec<&str> = remaining_methods.iter().map(<&str>::from).collect();
                tried.push(format!(
                    "(the server no longer accepts public keys; it offers: {})",
                    offers.join(", ")
                ));
                return Err(());
            }
            Ok(false)
        }
    }
}

fn describe_agent_key(key: &PublicKey, comment: &str) -> String {
    let fp = fingerprint(key);
    if comment.is_empty() {
        format!("{} {fp}", key.algorithm().as_str())
    } else {
        format!("{} {fp} ({comment})", key.algorithm().as_str())
    }
}
