//! Plain inputs of the transport layer. The lead maps `cluster.yml` nodes onto these, so this
//! module does not depend on `crate::config`.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// Default Docker socket on a node (RKE1 `docker_socket` default).
pub const DEFAULT_DOCKER_SOCKET: &str = "/var/run/docker.sock";
/// Default environment variable holding the passphrase of an encrypted key.
pub const DEFAULT_PASSPHRASE_ENV: &str = "RKE_SSH_PASSPHRASE";

/// One SSH endpoint: a node, or the bastion in front of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshTarget {
    /// Used in messages: `hostname_override` or the address.
    pub name: String,
    pub address: String,
    pub port: u16,
    pub user: String,
    pub auth: SshAuth,
    /// Path of the Docker socket on the node.
    pub docker_socket: String,
    /// Reach this target through another SSH server (one hop).
    pub bastion: Option<Box<SshTarget>>,
}

impl SshTarget {
    /// A target with RKE1's defaults: port 22, `/var/run/docker.sock`, no bastion.
    pub fn new(address: impl Into<String>, user: impl Into<String>, auth: SshAuth) -> Self {
        let address = address.into();
        Self {
            name: address.clone(),
            address,
            port: 22,
            user: user.into(),
            auth,
            docker_socket: DEFAULT_DOCKER_SOCKET.to_string(),
            bastion: None,
        }
    }

    /// `user@address:port`, for messages.
    pub fn endpoint(&self) -> String {
        format!("{}@{}:{}", self.user, self.address, self.port)
    }
}

/// How to authenticate. Several methods may be set; they are tried in a fixed order
/// (certificate, key, agent) until the server accepts one.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SshAuth {
    /// Inline private key (`ssh_key` in cluster.yml). Takes precedence over `key_path`, as in RKE1.
    pub key: Option<String>,
    /// `ssh_key_path`; a leading `~/` is expanded.
    pub key_path: Option<PathBuf>,
    /// Inline OpenSSH user certificate (`ssh_cert`).
    pub cert: Option<String>,
    /// `ssh_cert_path`; a leading `~/` is expanded.
    pub cert_path: Option<PathBuf>,
    /// `ssh_agent_auth`: use the agent at `$SSH_AUTH_SOCK`.
    pub agent: bool,
    /// Environment variable holding the key passphrase; [`DEFAULT_PASSPHRASE_ENV`] when `None`.
    pub passphrase_env: Option<String>,
}

impl SshAuth {
    /// Authenticate with a key file only.
    pub fn key_file(path: impl Into<PathBuf>) -> Self {
        Self {
            key_path: Some(path.into()),
            ..Self::default()
        }
    }

    pub(crate) fn passphrase_var(&self) -> &str {
        self.passphrase_env
            .as_deref()
            .unwrap_or(DEFAULT_PASSPHRASE_ENV)
    }
}

/// What to do with host keys that are not in `known_hosts`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HostKeyPolicy {
    /// Unknown hosts are refused.
    Strict,
    /// Unknown hosts are learned (appended to `known_hosts`); changed keys are refused.
    #[default]
    AcceptNew,
    /// Accept any key, with a warning (RKE1's behaviour).
    Off,
}

/// Options for the connect phase.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    pub known_hosts: PathBuf,
    pub policy: HostKeyPolicy,
    /// Bound on TCP connect + SSH handshake, and again on authentication.
    pub timeout: Duration,
    /// Nodes connected at the same time.
    pub concurrency: usize,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            known_hosts: expand_tilde(Path::new("~/.ssh/known_hosts")),
            policy: HostKeyPolicy::AcceptNew,
            timeout: Duration::from_secs(30),
            concurrency: 50,
        }
    }
}

/// Expand a leading `~/` (or a lone `~`) to `$HOME`. Other paths are returned unchanged.
pub fn expand_tilde(path: &Path) -> PathBuf {
    let Some(text) = path.to_str() else {
        return path.to_path_buf();
    };
    let home = std::env::var_os("HOME").map(PathBuf::from);
    match (text, home) {
        ("~", Some(home)) => home,
        (t, Some(home)) if t.starts_with("~/") => home.join(&t[2..]),
        _ => path.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_brief() {
        let o = ConnectOptions::default();
        assert_eq!(o.policy, HostKeyPolicy::AcceptNew);
        assert_eq!(o.timeout, Duration::from_secs(30));
        assert_eq!(o.concurrency, 50);
        assert!(o.known_hosts.ends_with(".ssh/known_hosts"));
        let t = SshTarget::new("10.0.0.1", "rke", SshAuth::key_file("~/.ssh/id_rsa"));
        assert_eq!(t.port, 22);
        assert_eq!(t.docker_socket, "/var/run/docker.sock");
        assert_eq!(t.endpoint(), "rke@10.0.0.1:22");
        assert_eq!(t.auth.passphrase_var(), "RKE_SSH_PASSPHRASE");
    }

    #[test]
    fn tilde_expansion() {
        let home = PathBuf::from(std::env::var_os("HOME").unwrap());
        assert_eq!(
            expand_tilde(Path::new("~/.ssh/id_rsa")),
            home.join(".ssh/id_rsa")
        );
        assert_eq!(expand_tilde(Path::new("~")), home);
        assert_eq!(expand_tilde(Path::new("/abs/k")), PathBuf::from("/abs/k"));
        assert_eq!(
            expand_tilde(Path::new("~other/k")),
            PathBuf::from("~other/k")
        );
    }
}
