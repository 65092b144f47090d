//! What the snapshot agent is told: when to snapshot, how long to keep snapshots, where etcd
//! and its certificates are, and where copies go in S3. Built by `rke up` from
//! `services.etcd` exactly as RKE1 builds the rke-tools command line, written to the etcd
//! node as a 0600 JSON file (so S3 keys never appear in a container's environment or
//! arguments), and read back by the agent.

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{ErrorKind, classified};
use crate::snapshot::s3::S3Settings;

/// Where etcd answers and with which certificate the agent connects, as etcd itself uses it
/// (`--cert-file`/`--key-file`/`--trusted-ca-file`); paths inside the agent's container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EtcdEndpoint {
    /// The node's internal address (etcd's certificate has it as an IP SAN).
    pub ip: String,
    pub port: u16,
    pub ca_file: String,
    pub cert_file: String,
    pub key_file: String,
}

/// The agent's settings file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentSettings {
    /// The node, for log lines.
    pub node: String,
    pub etcd: EtcdEndpoint,
    /// Where archives are written (`/opt/rke/etcd-snapshots`).
    pub backup_dir: String,
    /// The cluster state file embedded in every archive; read at each snapshot.
    pub state_file: String,
    pub creation_secs: u64,
    pub retention_secs: u64,
    pub timeout_secs: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Secret key included: the file is 0600 and read only by the agent.
    pub s3: Option<S3Settings>,
}

impl AgentSettings {
    pub fn creation(&self) -> Duration {
        Duration::from_secs(self.creation_secs)
    }

    pub fn retention(&self) -> Duration {
        Duration::from_secs(self.retention_secs)
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs)
    }

    /// Pretty JSON with a trailing newline: the file's exact bytes, so equal settings give an
    /// equal file (and an unchanged container).
    pub fn to_json(&self) -> String {
        // Strings, integers and options cannot fail to serialize.
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }

    /// Read and check a settings file.
    pub fn load(path: &Path) -> anyhow::Result<AgentSettings> {
        let fail = |why: String| {
            classified(
                ErrorKind::Config,
                format!("snapshot agent settings {}: {why}", path.display()),
            )
        };
        let bytes = crate::limits::read_file(path, crate::limits::SMALL_FILE)
            .map_err(|e| fail(e.to_string()))?;
        let settings: AgentSettings =
            serde_json::from_slice(&bytes).map_err(|e| fail(e.to_string()))?;
        if settings.creation_secs == 0 {
            return Err(fail("creation_secs must be longer than zero".into()));
        }
        if settings.timeout_secs == 0 {
            return Err(fail("timeout_secs must be longer than zero".into()));
        }
        if let Some(s3) = &settings.s3 {
            s3.validate(&path.display().to_string())?;
        }
        Ok(settings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::kind_of;

    #[test]
    fn settings_round_trip_and_reject_nonsense() {
        let dir = tempfile::tempdir().unwrap();
        let settings = AgentSettings {
            node: "n1".into(),
            etcd: EtcdEndpoint {
                ip: "10.0.0.1".into(),
                port: 2379,
                ca_file: "/etc/kubernetes/ssl/kube-ca.pem".into(),
                cert_file: "/etc/kubernetes/ssl/kube-etcd-10-0-0-1.pem".into(),
                key_file: "/etc/kubernetes/ssl/kube-etcd-10-0-0-1-key.pem".into(),
            },
            backup_dir: "/opt/rke/etcd-snapshots".into(),
            state_file: "/etc/kubernetes/snapshot-agent/cluster.rkestate".into(),
            creation_secs: 10,
            retention_secs: 30,
            timeout_secs: 300,
            s3: Some(S3Settings {
                endpoint: "http://127.0.0.1:9000".into(),
                endpoint_ca: None,
                access_key: "AK".into(),
                secret_key: "very-secret".into(),
                bucket: "b".into(),
                region: "us-east-1".into(),
                folder: String::new(),
            }),
        };
        let path = dir.path().join("settings.json");
        std::fs::write(&path, settings.to_json()).unwrap();
        assert_eq!(AgentSettings::load(&path).unwrap(), settings);
        assert!(!format!("{settings:?}").contains("very-secret"));

        let mut zero = settings.clone();
        zero.creation_secs = 0;
        std::fs::write(&path, zero.to_json()).unwrap();
        let err = AgentSettings::load(&path).unwrap_err();
        assert_eq!(kind_of(&err), ErrorKind::Config);
        assert!(err.to_string().contains("settings.json"), "{err}");
        std::fs::write(&path, "{").unwrap();
        assert!(AgentSettings::load(&path).is_err());
    }
}
