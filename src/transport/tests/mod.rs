//! End-to-end tests of the transport against the in-process SSH server and fake Docker engine
//! of [`super::testkit`] (loopback only). Real nodes are covered by `tests/transport_nodes.rs`.

mod auth;
mod connect_phase;
mod host_keys;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use russh::keys::PrivateKey;

use super::auth::KeyLoader;
use super::connect::connect_all_with;
use super::testkit::{self, FakeDockerd, TestSshd};
use super::*;

pub(super) struct Lab {
    pub(super) dir: tempfile::TempDir,
    pub(super) known_hosts: PathBuf,
    pub(super) key: PrivateKey,
    pub(super) key_path: PathBuf,
    pub(super) sshd: TestSshd,
    pub(super) dockerd: FakeDockerd,
}

pub(super) async fn lab() -> Lab {
    let dir = tempfile::tempdir().unwrap();
    let key = testkit::ed25519();
    let key_path = dir.path().join("id_ed25519");
    testkit::write_key(&key_path, &key, None);
    let sshd = TestSshd::start(testkit::ed25519(), vec![]).await;
    sshd.authorize(key.public_key());
    let dockerd = FakeDockerd::start(dir.path());
    Lab {
        known_hosts: dir.path().join("ssh/known_hosts"),
        dir,
        key,
        key_path,
        sshd,
        dockerd,
    }
}

impl Lab {
    pub(super) fn target(&self, name: &str) -> SshTarget {
        target_for(
            &self.sshd,
            name,
            SshAuth::key_file(&self.key_path),
            &self.dockerd.socket,
        )
    }

    /// Targets for `names`, each reached through `bastion` with the lab's key.
    pub(super) fn behind_bastion(&self, names: &[&str], bastion: &TestSshd) -> Vec<SshTarget> {
        let bastion_target = target_for(
            bastion,
            "bastion",
            SshAuth::key_file(&self.key_path),
            Path::new("/unused"),
        );
        names
            .iter()
            .map(|n| SshTarget {
                bastion: Some(Box::new(bastion_target.clone())),
                ..self.target(n)
            })
            .collect()
    }

    pub(super) fn opts(&self, policy: HostKeyPolicy) -> ConnectOptions {
        ConnectOptions {
            known_hosts: self.known_hosts.clone(),
            policy,
            timeout: Duration::from_secs(10),
            concurrency: 8,
        }
    }
}

pub(super) fn target_for(sshd: &TestSshd, name: &str, auth: SshAuth, socket: &Path) -> SshTarget {
    SshTarget {
        name: name.into(),
        address: "127.0.0.1".into(),
        port: sshd.port(),
        user: "rke".into(),
        auth,
        docker_socket: socket.display().to_string(),
        bastion: None,
    }
}

pub(super) fn loader(env: &[(&str, &str)]) -> KeyLoader {
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    KeyLoader::with(Box::new(move |k| env.get(k).cloned()), None)
}

pub(super) async fn run(
    targets: &[SshTarget],
    opts: &ConnectOptions,
    keys: KeyLoader,
) -> (Vec<NodeConnection>, Vec<NodeError>) {
    connect_all_with(targets, opts, &|_| Ok(()), true, keys).await
}

pub(super) async fn one(
    target: SshTarget,
    opts: &ConnectOptions,
    keys: KeyLoader,
) -> Result<NodeConnection, NodeError> {
    let (mut ok, mut err) = run(&[target], opts, keys).await;
    match ok.pop() {
        Some(n) => Ok(n),
        None => Err(err.pop().unwrap()),
    }
}
