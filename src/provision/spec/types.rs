//! The data a node plan is made of: containers, files and directories.

use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// RKE1's label naming the container; kept so RKE1 tooling still recognises our containers.
pub const CONTAINER_NAME_LABEL: &str = "io.rancher.rke.container.name";
/// The hash of everything else in the spec ([`ContainerSpec::spec_hash`]).
pub const SPEC_HASH_LABEL: &str = "io.rke.spec-hash";
/// One digest over every node file the container reads (certificates, kubeconfigs and config
/// files named in its arguments), so replacing any of them replaces the container.
pub const FILES_HASH_LABEL: &str = "io.rke.files-sha256";

/// Which plane a container belongs to; planes are brought up in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Plane {
    Etcd,
    ControlPlane,
    Worker,
}

/// How to tell that a component is healthy: an HTTP(S) GET on the node that must answer 200.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealthCheck {
    /// e.g. `https://localhost:6443/healthz`, reached through the node's SSH tunnel.
    pub url: String,
    /// Bundle name of the client certificate to present (`kube-node`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_cert: Option<String>,
    /// Bundle name of the CA that signed the server certificate; `None` for plain HTTP and for
    /// components serving a self-signed certificate (controller-manager, scheduler).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verify_ca: Option<String>,
}

/// One long-running container, as data. Everything that goes into `docker create` is here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContainerSpec {
    pub name: String,
    pub image: String,
    pub entrypoint: Vec<String>,
    /// Command line after the entrypoint. `--flag=value` lists are sorted, so equal
    /// configurations give equal specs; positional arguments (nginx) keep their order.
    pub args: Vec<String>,
    /// `NAME=value`. Never carries a secret: secrets live in files.
    pub env: Vec<String>,
    /// `host:container[:options]`.
    pub binds: Vec<String>,
    /// Containers whose volumes this one mounts (Docker `--volumes-from`); they must exist
    /// first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volumes_from: Vec<String>,
    /// `host` or `none`.
    pub network_mode: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid_mode: Option<String>,
    pub privileged: bool,
    pub restart_always: bool,
    /// `uid:gid`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Docker `--security-opt` values (the SELinux label on hosts that enforce it).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub security_opt: Vec<String>,
    pub labels: BTreeMap<String, String>,
    /// Created and never started: it only holds volumes for others (RKE1's `service-sidekick`).
    #[serde(skip_serializing_if = "is_false")]
    pub created_only: bool,
    /// Not part of the container: how the executor checks it after starting it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthCheck>,
    /// Not part of the container: when the executor starts it.
    pub plane: Plane,
}

/// What the spec hash covers: every property of the created container, nothing else. Health
/// checks and planes are left out so that changing how we probe never restarts a component.
#[derive(Serialize)]
struct HashedView<'a> {
    name: &'a str,
    image: &'a str,
    entrypoint: &'a [String],
    args: &'a [String],
    env: &'a [String],
    binds: &'a [String],
    // Left out when unset, so adding these fields left every earlier hash as it was.
    #[serde(skip_serializing_if = "no_items")]
    volumes_from: &'a [String],
    network_mode: &'a str,
    pid_mode: &'a Option<String>,
    privileged: bool,
    restart_always: bool,
    user: &'a Option<String>,
    security_opt: &'a [String],
    labels: BTreeMap<&'a str, &'a str>,
    #[serde(skip_serializing_if = "is_false")]
    created_only: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn no_items(v: &&[String]) -> bool {
    v.is_empty()
}

impl ContainerSpec {
    /// SHA-256 (hex) of a canonical JSON encoding of the container's properties, excluding the
    /// label that carries this hash. Stable across runs and platforms.
    pub fn spec_hash(&self) -> String {
        let view = HashedView {
            name: &self.name,
            image: &self.image,
            entrypoint: &self.entrypoint,
            args: &self.args,
            env: &self.env,
            binds: &self.binds,
            volumes_from: &self.volumes_from,
            network_mode: &self.network_mode,
            pid_mode: &self.pid_mode,
            privileged: self.privileged,
            restart_always: self.restart_always,
            user: &self.user,
            security_opt: &self.security_opt,
            labels: self
                .labels
                .iter()
                .filter(|(k, _)| k.as_str() != SPEC_HASH_LABEL)
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect(),
            created_only: self.created_only,
        };
        // Serializing plain strings, bools and string maps cannot fail.
        let json = serde_json::to_vec(&view).unwrap_or_default();
        let mut hasher = Sha256::new();
        // Versioned so a future change of encoding is a deliberate, visible event.
        hasher.update(b"rke-container-spec-v1\n");
        hasher.update(&json);
        hex(&hasher.finalize())
    }

    /// Store the current hash in [`SPEC_HASH_LABEL`].
    pub fn seal(&mut self) {
        let hash = self.spec_hash();
        self.labels.insert(SPEC_HASH_LABEL.to_string(), hash);
    }
}

/// A file to place on the node before the containers that read it start.
///
/// Serializes without its bytes when they are secret or PEM data (digest and size instead),
/// so a plan can be printed or snapshotted safely.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeFile {
    /// Absolute path on the node, `prefix_path` included.
    pub path: String,
    pub contents: Vec<u8>,
    pub mode: u32,
    /// Holds key material or credentials: never log or print its contents.
    pub secret: bool,
    /// `(uid, gid)` to chown to; `None` keeps root.
    pub owner: Option<(u32, u32)>,
}

impl NodeFile {
    /// Whether printing the contents is acceptable: not secret and no PEM block (certificates
    /// are public, but their bytes are noise in a plan).
    pub fn printable(&self) -> bool {
        !self.secret
            && std::str::from_utf8(&self.contents).is_ok_and(|text| !text.contains("-----BEGIN"))
    }
}

impl Serialize for NodeFile {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("NodeFile", 7)?;
        s.serialize_field("path", &self.path)?;
        s.serialize_field("mode", &format!("{:04o}", self.mode))?;
        s.serialize_field("secret", &self.secret)?;
        if let Some(owner) = self.owner {
            s.serialize_field("owner", &format!("{}:{}", owner.0, owner.1))?;
        }
        s.serialize_field("size", &self.contents.len())?;
        s.serialize_field("sha256", &sha256_hex(&self.contents))?;
        if self.printable() {
            s.serialize_field("text", &String::from_utf8_lossy(&self.contents))?;
        }
        s.end()
    }
}

/// A directory that must exist with this mode (and owner) before a container uses it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeDir {
    pub path: String,
    #[serde(serialize_with = "octal")]
    pub mode: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<(u32, u32)>,
}

/// Everything one node should run and hold. Serializes with secrets redacted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodePlan {
    /// `hostname_override` (the Kubernetes node name).
    pub node: String,
    /// SSH address.
    pub address: String,
    /// In start order: etcd, control plane, then worker components.
    pub containers: Vec<ContainerSpec>,
    /// Sorted by path.
    pub files: Vec<NodeFile>,
    pub dirs: Vec<NodeDir>,
}

impl NodePlan {
    pub fn container(&self, name: &str) -> Option<&ContainerSpec> {
        self.containers.iter().find(|c| c.name == name)
    }

    pub fn file(&self, path: &str) -> Option<&NodeFile> {
        self.files.iter().find(|f| f.path == path)
    }
}

fn octal<S: serde::Serializer>(mode: &u32, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&format!("{mode:04o}"))
}

pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provision::spec::test_spec;

    /// Unsealed, with the properties `hash_covers_every_container_property` flips set.
    fn spec() -> ContainerSpec {
        ContainerSpec {
            entrypoint: vec!["kubelet".into()],
            args: vec!["--v=2".into()],
            binds: vec!["/a:/a".into()],
            pid_mode: Some("host".into()),
            privileged: true,
            ..test_spec("kubelet", "img:1")
        }
    }

    #[test]
    fn sha256_of_known_input() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn hash_ignores_its_own_label_health_and_plane() {
        let base = spec();
        let mut sealed = base.clone();
        sealed.seal();
        assert_eq!(sealed.labels[SPEC_HASH_LABEL], base.spec_hash());
        assert_eq!(sealed.spec_hash(), base.spec_hash());

        let mut other = base.clone();
        other.plane = Plane::Etcd;
        other.health = Some(HealthCheck {
            url: "http://localhost:10248/healthz".into(),
            client_cert: None,
            verify_ca: None,
        });
        assert_eq!(other.spec_hash(), base.spec_hash());
    }

    #[test]
    fn hash_covers_every_container_property() {
        let base = spec().spec_hash();
        let changes: Vec<fn(&mut ContainerSpec)> = vec![
            |s| s.image = "img:2".into(),
            |s| s.args.push("--x=1".into()),
            |s| s.env.push("A=1".into()),
            |s| s.binds.push("/b:/b".into()),
            |s| s.entrypoint = vec!["other".into()],
            |s| s.network_mode = "none".into(),
            |s| s.pid_mode = None,
            |s| s.privileged = false,
            |s| s.restart_always = false,
            |s| s.user = Some("1:1".into()),
            |s| s.security_opt.push("label=type:x".into()),
            |s| s.volumes_from.push("service-sidekick".into()),
            |s| s.created_only = true,
            |s| {
                s.labels.insert(FILES_HASH_LABEL.into(), "x".into());
            },
        ];
        for change in changes {
            let mut s = spec();
            change(&mut s);
            assert_ne!(s.spec_hash(), base, "{s:?}");
        }
    }
}
