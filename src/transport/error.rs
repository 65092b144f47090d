//! Typed, actionable errors of the transport layer. Each message names the node and, where one
//! is known, the fix.

use std::path::PathBuf;

use crate::error::{ErrorKind, classified};

use super::known_hosts::KnownKey;

/// Why the connect phase or a later transport operation failed for one node.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    #[error("connection to {node} ({addr}) timed out after {secs} s{}", .stage.hint())]
    Timeout {
        node: String,
        addr: String,
        secs: u64,
        stage: TimeoutStage,
    },

    #[error("cannot connect to {node} ({addr}): {reason}")]
    Unreachable {
        node: String,
        addr: String,
        reason: String,
    },

    #[error(
        "host key of {node} ({host}) is not in {}: {algorithm} key {fingerprint} was presented and \
         ssh_host_key_checking is strict; verify the fingerprint, then add it with \
         `ssh-keyscan -p {port} {address} >> {}` or set `ssh_host_key_checking: accept-new` (flag --ssh-host-key-checking accept-new)",
        known_hosts.display(), known_hosts.display()
    )]
    HostKeyUnknown {
        node: String,
        host: String,
        address: String,
        port: u16,
        algorithm: String,
        fingerprint: String,
        known_hosts: PathBuf,
    },

    #[error(
        "host key changed for {node} ({host}): {} expects {}, but the server presented \
         {algorithm} {presented}. Someone may be intercepting the connection, or the host was \
         reinstalled. If the change is expected, remove the old key with \
         `ssh-keygen -R '{host}' -f {}` and run again",
        file_lines(known_hosts, .expected), expected_list(.expected), known_hosts.display()
    )]
    HostKeyChanged {
        node: String,
        host: String,
        algorithm: String,
        presented: String,
        expected: Vec<KnownKey>,
        known_hosts: PathBuf,
    },

    #[error(
        "host key {fingerprint} of {node} ({host}) is marked @revoked in {}:{line}; refusing to connect",
        known_hosts.display()
    )]
    HostKeyRevoked {
        node: String,
        host: String,
        fingerprint: String,
        known_hosts: PathBuf,
        line: usize,
    },

    #[error("host certificate of {node} ({host}) rejected: {reason}")]
    HostCertificateRejected {
        node: String,
        host: String,
        reason: String,
    },

    #[error("known_hosts file {}: {reason}", path.display())]
    KnownHosts { path: PathBuf, reason: String },

    #[error("SSH key for {node} ({source_name}): {reason}")]
    Key {
        node: String,
        source_name: String,
        reason: String,
    },

    #[error("ssh-agent for {node}: {reason}")]
    Agent { node: String, reason: String },

    #[error(
        "no key accepted for {user}@{node} (tried: {}): make sure the public key is in \
         ~{user}/.ssh/authorized_keys on {node}, or set ssh_key_path / ssh_agent_auth",
        if tried.is_empty() { "nothing: no key, certificate or agent configured".to_string() } else { tried.join(", ") }
    )]
    AuthRejected {
        node: String,
        user: String,
        tried: Vec<String>,
    },

    #[error("SSH {context} on {node} failed: {reason}")]
    Ssh {
        node: String,
        context: String,
        reason: String,
    },

    #[error(
        "AllowStreamLocalForwarding is disabled on {node} (sshd refused the direct-streamlocal \
         channel to {socket}: '{reason}'): set AllowStreamLocalForwarding yes (and no \
         DisableForwarding yes) in /etc/ssh/sshd_config and restart sshd{}",
        if *.certain { "" } else { ". If it is already allowed, check that Docker is running and that the user may open the socket" }
    )]
    StreamLocalForbidden {
        node: String,
        socket: String,
        /// sshd's refusal reason, e.g. `administratively prohibited`.
        reason: String,
        /// False when the diagnosis could not rule out the other causes.
        certain: bool,
    },

    #[error(
        "user {user} is not in the docker group on {node} (permission denied on {socket}; groups: \
         {groups}): run `usermod -aG docker {user}` on {node}, or connect as a user that is"
    )]
    DockerSocketPermission {
        node: String,
        user: String,
        socket: String,
        groups: String,
    },

    #[error(
        "Docker socket {socket} does not exist on {node}: is Docker installed and running? (set \
         docker_socket if it lives elsewhere)"
    )]
    DockerSocketMissing { node: String, socket: String },

    #[error(
        "Docker is not running on {node} ({socket} refuses connections): start the Docker engine"
    )]
    DockerNotRunning { node: String, socket: String },

    #[error("Docker API on {node}: {context}: {reason}")]
    DockerApi {
        node: String,
        context: String,
        reason: String,
    },

    #[error(
        "unsupported Docker version {version} on {node}, supported: {supported} (set \
         ignore_docker_version: true to skip this check)"
    )]
    DockerVersionUnsupported {
        node: String,
        version: String,
        supported: String,
    },

    #[error("cannot reach {node} through bastion {bastion}: {source}")]
    Bastion {
        node: String,
        bastion: String,
        source: Box<TransportError>,
    },
}

/// How far a connection got before its deadline, for the hint in the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutStage {
    /// No TCP connection: host down, paused, or firewalled.
    Tcp,
    /// TCP connected, but no SSH handshake: sshd hung, or the host paused.
    Handshake,
    /// Handshake done, authentication did not finish.
    Auth,
    /// A channel (streamlocal, direct-tcpip, exec) did not open.
    Channel,
    /// A Docker API call got no answer.
    Docker,
    /// A remote command did not finish.
    Command,
}

impl TimeoutStage {
    fn hint(self) -> &'static str {
        match self {
            TimeoutStage::Tcp => {
                " (no TCP connection: is the host up and port reachable through any firewall?)"
            }
            TimeoutStage::Handshake => {
                " (TCP connected but no SSH handshake: is sshd hung or the host paused?)"
            }
            TimeoutStage::Auth => " (during authentication)",
            TimeoutStage::Channel => " (opening an SSH channel)",
            TimeoutStage::Docker => " (waiting for the Docker engine to answer)",
            TimeoutStage::Command => {
                " (a command on the node did not finish: is the machine frozen or overloaded?)"
            }
        }
    }
}

fn file_lines(file: &std::path::Path, keys: &[KnownKey]) -> String {
    keys.iter()
        .map(|k| format!("{}:{}", file.display(), k.line))
        .collect::<Vec<_>>()
        .join(", ")
}

fn expected_list(keys: &[KnownKey]) -> String {
    keys.iter()
        .map(|k| format!("{} {}", k.algorithm, k.fingerprint))
        .collect::<Vec<_>>()
        .join(" or ")
}

/// The error of one node in the connect phase.
pub type NodeError = TransportError;

impl TransportError {
    /// The node this error is about (the path for known_hosts file errors).
    pub fn node(&self) -> String {
        use TransportError::*;
        match self {
            Timeout { node, .. }
            | Unreachable { node, .. }
            | HostKeyUnknown { node, .. }
            | HostKeyChanged { node, .. }
            | HostKeyRevoked { node, .. }
            | HostCertificateRejected { node, .. }
            | Key { node, .. }
            | Agent { node, .. }
            | AuthRejected { node, .. }
            | Ssh { node, .. }
            | StreamLocalForbidden { node, .. }
            | DockerSocketPermission { node, .. }
            | DockerSocketMissing { node, .. }
            | DockerNotRunning { node, .. }
            | DockerApi { node, .. }
            | DockerVersionUnsupported { node, .. }
            | Bastion { node, .. } => node.clone(),
            KnownHosts { path, .. } => path.display().to_string(),
        }
    }

    /// The error class, for the process exit code.
    pub fn kind(&self) -> ErrorKind {
        use TransportError::*;
        match self {
            DockerSocketPermission { .. }
            | DockerSocketMissing { .. }
            | DockerNotRunning { .. }
            | DockerApi { .. }
            | DockerVersionUnsupported { .. } => ErrorKind::Docker,
            Timeout {
                stage: TimeoutStage::Docker,
                ..
            } => ErrorKind::Docker,
            _ => ErrorKind::Connection,
        }
    }

    /// As an `anyhow` error carrying its class, for the CLI.
    pub fn into_anyhow(self) -> anyhow::Error {
        classified(self.kind(), self.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::kind_of;

    #[test]
    fn messages_name_node_and_fix() {
        let e = TransportError::StreamLocalForbidden {
            node: "n1".into(),
            socket: "/var/run/docker.sock".into(),
            reason: "administratively prohibited".into(),
            certain: true,
        };
        let m = e.to_string();
        assert!(m.starts_with("AllowStreamLocalForwarding is disabled on n1 (sshd refused the direct-streamlocal channel to /var/run/docker.sock: 'administratively prohibited'): set AllowStreamLocalForwarding yes"), "{m}");
        assert_eq!(e.kind(), ErrorKind::Connection);

        let e = TransportError::DockerSocketPermission {
            node: "n1".into(),
            user: "rke".into(),
            socket: "/var/run/docker.sock".into(),
            groups: "rke".into(),
        };
        assert!(e.to_string().starts_with(
            "user rke is not in the docker group on n1 (permission denied on /var/run/docker.sock"
        ));
        assert_eq!(e.kind(), ErrorKind::Docker);
        assert_eq!(kind_of(&e.into_anyhow()), ErrorKind::Docker);
    }

    #[test]
    fn timeout_and_version_messages() {
        let e = TransportError::Timeout {
            node: "n2".into(),
            addr: "10.0.0.2:22".into(),
            secs: 5,
            stage: TimeoutStage::Handshake,
        };
        assert!(
            e.to_string()
                .starts_with("connection to n2 (10.0.0.2:22) timed out after 5 s")
        );
        let e = TransportError::DockerVersionUnsupported {
            node: "n2".into(),
            version: "17.03.2".into(),
            supported: "19.03.x, 20.10.x".into(),
        };
        assert!(
            e.to_string().starts_with(
                "unsupported Docker version 17.03.2 on n2, supported: 19.03.x, 20.10.x"
            )
        );
    }

    #[test]
    fn changed_key_message_has_fingerprints_and_fix() {
        let e = TransportError::HostKeyChanged {
            node: "n3".into(),
            host: "[10.0.0.3]:2222".into(),
            algorithm: "ssh-ed25519".into(),
            presented: "SHA256:new".into(),
            expected: vec![KnownKey {
                line: 4,
                algorithm: "ssh-ed25519".into(),
                fingerprint: "SHA256:old".into(),
            }],
            known_hosts: PathBuf::from("/root/.ssh/known_hosts"),
        };
        let m = e.to_string();
        assert!(m.contains("host key changed for n3"), "{m}");
        assert!(
            m.contains("/root/.ssh/known_hosts:4 expects ssh-ed25519 SHA256:old"),
            "{m}"
        );
        assert!(m.contains("presented ssh-ed25519 SHA256:new"), "{m}");
        assert!(
            m.contains("ssh-keygen -R '[10.0.0.3]:2222' -f /root/.ssh/known_hosts"),
            "{m}"
        );
    }

    #[test]
    fn bastion_wraps_cause() {
        let inner = TransportError::AuthRejected {
            node: "bastion".into(),
            user: "u".into(),
            tried: vec!["key ~/.ssh/id_rsa".into()],
        };
        let e = TransportError::Bastion {
            node: "n4".into(),
            bastion: "bastion".into(),
            source: Box::new(inner),
        };
        assert!(
            e.to_string()
                .starts_with("cannot reach n4 through bastion bastion: no key accepted for u@bastion (tried: key ~/.ssh/id_rsa)")
        );
        assert_eq!(e.node(), "n4");
    }
}
