//! Connecting to the e2e nodes with rke's own transport, and small helpers, for the tests that
//! drive rke's library on a node directly (provision_nodes, health_nodes).

use std::time::Duration;

use rke::config::PrivateRegistry;
use rke::transport::{self, ConnectOptions, HostKeyPolicy, NodeConnection, SshAuth, SshTarget};
use serde_json::Value;

/// Every container and file these tests create is named with this prefix.
pub const PREFIX: &str = "rke-exec-test";

pub struct Nodes {
    pub env: Value,
}

impl Nodes {
    /// `None` when `RKE_E2E_SKIP=1`; otherwise the environment must exist.
    pub fn load() -> Option<Self> {
        super::e2e::env().map(|env| Self { env })
    }

    pub fn s(&self, pointer: &str) -> String {
        self.env
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("env.json has no {pointer}"))
            .to_string()
    }

    pub fn busybox(&self) -> String {
        self.s("/images/busybox")
    }

    /// Node `i` (0-based) as `user`, host keys checked against the environment's known_hosts.
    pub async fn connect(&self, i: usize, user: &str) -> NodeConnection {
        let address = self.env["nodes"][i]["address"]
            .as_str()
            .unwrap()
            .to_string();
        let mut target =
            SshTarget::new(address, user, SshAuth::key_file(self.s("/ssh/private_key")));
        target.name = format!("node{}", i + 1);
        let opts = ConnectOptions {
            known_hosts: self.s("/ssh/known_hosts").into(),
            policy: HostKeyPolicy::Strict,
            timeout: Duration::from_secs(15),
            concurrency: 4,
        };
        transport::connect(&target, &opts)
            .await
            .unwrap_or_else(|e| panic!("connecting to node{} as {user}: {e}", i + 1))
    }

    pub fn registry(&self, password: Option<&str>) -> PrivateRegistry {
        PrivateRegistry {
            url: self.s("/registry/address"),
            user: self.s("/registry/username"),
            password: password
                .map(str::to_string)
                .unwrap_or_else(|| self.s("/registry/password")),
            ..PrivateRegistry::default()
        }
    }
}

/// Run a command as root on the node and return its stdout; panics on failure.
pub async fn sh(root: &NodeConnection, script: &str) -> String {
    let out = root.exec(&["sh", "-c", script]).await.unwrap();
    assert!(
        out.success(),
        "{script}: {} {}",
        out.stdout_text(),
        out.stderr_text()
    );
    out.stdout_text()
}
