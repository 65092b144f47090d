//! From `cluster.yml` to SSH targets: RKE1's cascade of connection settings (cluster → node,
//! cluster → bastion) and the command-line flags that override them.

use crate::config::{BastionHost, RkeConfig, RkeConfigNode};
use crate::transport::{HostKeyPolicy, SshAuth, SshTarget};
use std::path::PathBuf;

/// Flags that change how nodes are reached, on top of `cluster.yml`.
#[derive(Debug, Clone, Default)]
pub struct ConnectionOverrides {
    /// `--ssh-agent-auth`: like RKE1, it can only turn agent auth on.
    pub ssh_agent_auth: bool,
}

fn non_empty(s: &str) -> Option<String> {
    (!s.trim().is_empty()).then(|| s.to_string())
}

fn auth(key: &str, key_path: &str, cert: &str, cert_path: &str, agent: bool) -> SshAuth {
    let key = non_empty(key);
    SshAuth {
        // An inline key replaces the key file, as in RKE1.
        key_path: if key.is_some() {
            None
        } else {
            non_empty(key_path).map(PathBuf::from)
        },
        key,
        cert: non_empty(cert),
        cert_path: non_empty(cert_path).map(PathBuf::from),
        agent,
        ..SshAuth::default()
    }
}

fn port(value: &str) -> u16 {
    // Validation has already rejected anything that is not a port; empty means the default.
    value.trim().parse().unwrap_or(22)
}

fn bastion_target(cfg: &RkeConfig, b: &BastionHost, agent: bool) -> SshTarget {
    let cert_path = if b.ssh_cert_path.is_empty() {
        &cfg.ssh_cert_path
    } else {
        &b.ssh_cert_path
    };
    let mut t = SshTarget::new(
        b.address.clone(),
        b.user.clone(),
        auth(&b.ssh_key, &b.ssh_key_path, &b.ssh_cert, cert_path, agent),
    );
    t.name = format!("bastion {}", b.address);
    t.port = port(&b.port);
    t
}

fn node_target(
    cfg: &RkeConfig,
    node: &RkeConfigNode,
    bastion: Option<&SshTarget>,
    agent: bool,
) -> SshTarget {
    let key_path = if node.ssh_key_path.is_empty() {
        &cfg.ssh_key_path
    } else {
        &node.ssh_key_path
    };
    let cert_path = if node.ssh_cert_path.is_empty() {
        &cfg.ssh_cert_path
    } else {
        &node.ssh_cert_path
    };
    let mut t = SshTarget::new(
        node.address.clone(),
        node.user.clone(),
        auth(&node.ssh_key, key_path, &node.ssh_cert, cert_path, agent),
    );
    t.name = if node.hostname_override.is_empty() {
        node.address.clone()
    } else {
        node.hostname_override.clone()
    };
    t.port = port(&node.port);
    if !node.docker_socket.is_empty() {
        t.docker_socket = node.docker_socket.clone();
    }
    t.bastion = bastion.map(|b| Box::new(b.clone()));
    t
}

/// One target per node, in `cluster.yml` order (the config must have defaults applied).
pub fn ssh_targets(cfg: &RkeConfig, overrides: &ConnectionOverrides) -> Vec<SshTarget> {
    // RKE1: agent auth is cluster-wide; the flag can only switch it on.
    let agent = cfg.ssh_agent_auth || overrides.ssh_agent_auth;
    let bastion = (!cfg.bastion_host.address.trim().is_empty())
        .then(|| bastion_target(cfg, &cfg.bastion_host, agent));
    cfg.nodes
        .iter()
        .map(|n| node_target(cfg, n, bastion.as_ref(), agent))
        .collect()
}

/// The host key policy: the command-line flag wins over `ssh_host_key_checking`; the default is
/// `accept-new` (learn unknown hosts, refuse changed keys).
pub fn host_key_policy(cfg: &RkeConfig, flag: Option<HostKeyPolicy>) -> HostKeyPolicy {
    if let Some(p) = flag {
        return p;
    }
    match cfg.ssh_host_key_checking.as_str() {
        "strict" => HostKeyPolicy::Strict,
        "off" => HostKeyPolicy::Off,
        _ => HostKeyPolicy::AcceptNew,
    }
}

/// Whether to skip the Docker version check: `ignore_docker_version: true` in the file OR the
/// flag. (RKE1 let the absent flag override a `true` in the file, rke#3181; not here.)
pub fn ignore_docker_version(cfg: &RkeConfig, flag: bool) -> bool {
    flag || cfg.ignore_docker_version.unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{apply_defaults, parse_str};
    use std::path::Path;

    fn config(yaml: &str) -> RkeConfig {
        let mut cfg = parse_str(yaml, Path::new("cluster.yml")).unwrap();
        apply_defaults(&mut cfg, None);
        cfg
    }

    const BASE: &str = "\
ssh_key_path: /keys/cluster
ssh_cert_path: /keys/cluster-cert.pub
nodes:
  - address: 10.0.0.1
    user: rke
    role: [etcd, controlplane, worker]
  - address: 10.0.0.2
    port: 2222
    user: admin
    role: [worker]
    hostname_override: Worker-2
    ssh_key_path: /keys/node2
    docker_socket: /run/docker.sock
  - address: 10.0.0.3
    user: rke
    role: [worker]
    ssh_key: |
      -----BEGIN OPENSSH PRIVATE KEY-----
      abc
      -----END OPENSSH PRIVATE KEY-----
";

    #[test]
    fn node_settings_cascade_from_the_cluster() {
        let t = ssh_targets(&config(BASE), &ConnectionOverrides::default());
        assert_eq!(t.len(), 3);
        assert_eq!(t[0].name, "10.0.0.1");
        assert_eq!(t[0].port, 22);
        assert_eq!(
            t[0].auth.key_path.as_deref(),
            Some(Path::new("/keys/cluster"))
        );
        assert_eq!(
            t[0].auth.cert_path.as_deref(),
            Some(Path::new("/keys/cluster-cert.pub"))
        );
        assert_eq!(t[0].docker_socket, "/var/run/docker.sock");
        assert!(!t[0].auth.agent);
        assert!(t[0].bastion.is_none());

        assert_eq!(
            t[1].name, "worker-2",
            "hostname_override is lower-cased like RKE1"
        );
        assert_eq!((t[1].port, t[1].user.as_str()), (2222, "admin"));
        assert_eq!(
            t[1].auth.key_path.as_deref(),
            Some(Path::new("/keys/node2"))
        );
        assert_eq!(t[1].docker_socket, "/run/docker.sock");

        assert!(t[2].auth.key.as_deref().unwrap().contains("abc"));
        assert_eq!(
            t[2].auth.key_path, None,
            "an inline key replaces the key file"
        );
    }

    #[test]
    fn bastion_is_shared_and_inherits_the_cluster_key() {
        let yaml = format!("{BASE}bastion_host:\n  address: 192.0.2.1\n  user: jump\n");
        let t = ssh_targets(&config(&yaml), &ConnectionOverrides::default());
        for node in &t {
            let b = node
                .bastion
                .as_ref()
                .expect("every node goes through the bastion");
            assert_eq!(
                (b.address.as_str(), b.user.as_str(), b.port),
                ("192.0.2.1", "jump", 22)
            );
            assert_eq!(b.auth.key_path.as_deref(), Some(Path::new("/keys/cluster")));
        }
    }

    #[test]
    fn agent_flag_turns_agent_auth_on_everywhere() {
        let yaml = format!("{BASE}bastion_host:\n  address: 192.0.2.1\n  user: jump\n");
        let cfg = config(&yaml);
        let t = ssh_targets(
            &cfg,
            &ConnectionOverrides {
                ssh_agent_auth: true,
            },
        );
        assert!(t.iter().all(|n| n.auth.agent));
        assert!(t[0].bastion.as_ref().unwrap().auth.agent);
        let t = ssh_targets(
            &config(&format!("ssh_agent_auth: true\n{BASE}")),
            &Default::default(),
        );
        assert!(t.iter().all(|n| n.auth.agent));
    }

    #[test]
    fn host_key_policy_flag_wins_over_the_file() {
        let cfg = config(&format!("ssh_host_key_checking: strict\n{BASE}"));
        assert_eq!(host_key_policy(&cfg, None), HostKeyPolicy::Strict);
        assert_eq!(
            host_key_policy(&cfg, Some(HostKeyPolicy::Off)),
            HostKeyPolicy::Off
        );
        assert_eq!(
            host_key_policy(&config(BASE), None),
            HostKeyPolicy::AcceptNew
        );
    }

    #[test]
    fn ignore_docker_version_from_file_or_flag() {
        let file_true = config(&format!("ignore_docker_version: true\n{BASE}"));
        assert!(
            ignore_docker_version(&file_true, false),
            "RKE1 rke#3181 must not return"
        );
        assert!(ignore_docker_version(&config(BASE), true));
        assert!(!ignore_docker_version(&config(BASE), false));
    }
}
