//! The `etcd` container (RKE1 `BuildEtcdProcess`).

use super::args::{self, ArgMap};
use super::context::{Cluster, Host, container};
use super::health;
use super::inputs::EtcdMembership;
use super::net::host_port;
use super::paths::{self, ETCD_DATA_DIR, ETCD_HOST_DATA_DIR, KUBERNETES_DIR};
use super::types::{ContainerSpec, Plane};
use crate::certs::{KUBE_CA, NodeIdentity, crt_name_for_host};

pub const NAME: &str = "etcd";
use crate::certs::names::ETCD_PREFIX as ETCD_CERT_PREFIX;
/// Strict TLS cipher suites RKE1 adds from etcd 3.4.14 (upstream build) on.
const ETCD_CIPHER_SUITES: &str =
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384";

/// The bundle name of a node's etcd certificate (`kube-etcd-10-0-0-1`).
pub fn cert_name(host: &Host) -> String {
    crt_name_for_host(
        &NodeIdentity {
            address: host.node.address.clone(),
            internal_address: host.internal.clone(),
            hostname: host.node.hostname_override.clone(),
        },
        ETCD_CERT_PREFIX,
    )
}

/// `(major, minor, patch, has_suffix)` from an image tag like `v3.4.15-rancher1`; a digest
/// (`etcd:v3.4.23@sha256:...`, as air-gapped mirrors pin images) does not hide the tag.
fn image_version(image: &str) -> Option<(u32, u32, u32, bool)> {
    let name = image.split('@').next()?.rsplit('/').next()?;
    let tag = name.split_once(':')?.1;
    let tag = tag.strip_prefix('v').unwrap_or(tag);
    let (core, suffix) = match tag.split_once('-') {
        Some((core, _)) => (core, true),
        None => (tag, false),
    };
    let mut parts = core.split('.').map(|p| p.parse::<u32>().ok());
    Some((parts.next()??, parts.next()??, parts.next()??, suffix))
}

/// Whether the etcd image ships `etcdutl` (3.5 and later), which replaced
/// `etcdctl snapshot restore` (deprecated in 3.5, removed in 3.6).
///
/// Decided from the image's tag, not by probing the image: the tag is what RKE1 and this
/// module already read every etcd-version rule from (the flags below), so one image is never
/// judged two ways, and the choice stays pure and testable; a probe would cost a container on
/// every node (the upstream 3.5 images may carry no shell to test a path with). RKE1 itself
/// kept `etcdctl snapshot restore` for 3.5 (`services/etcd.go` RestoreEtcdSnapshot); we use
/// the tool 3.5 documents, which 3.6 requires. An unparsable tag (`etcd`, `etcd@sha256:...`)
/// is taken to be current, as elsewhere here: a 3.4 image under such a tag fails the restore
/// with Docker's "no such file" for `/usr/local/bin/etcdutl` before etcd's data is replaced.
pub fn has_etcdutl(image: &str) -> bool {
    // By minor: every 3.5 build ships it, a `-rancherN` one of 3.5.0 too.
    match image_version(image) {
        Some((major, minor, _, _)) => (major, minor) >= (3, 5),
        None => true,
    }
}

/// RKE1 compares against `v3.4.3-rancher99`, `v3.4.14-rancher99` and `v3.2.99` with semver, so
/// a `-rancherN` build of the boundary version counts as older than it.
fn older_than(version: Option<(u32, u32, u32, bool)>, boundary: (u32, u32, u32)) -> bool {
    match version {
        Some((a, b, c, suffix)) => (a, b, c) < boundary || ((a, b, c) == boundary && suffix),
        // An unparsable tag is treated as current.
        None => false,
    }
}

pub fn build(cluster: &Cluster, host: &Host, membership: &EtcdMembership) -> ContainerSpec {
    let etcd = &cluster.cfg.services.etcd;
    let cert = cert_name(host);
    // A public address that is also the internal one may be NATed (AWS): listen everywhere.
    let listen = if host.node.address == host.internal {
        "0.0.0.0".to_string()
    } else {
        host_port(&host.internal)
    };
    let internal = host_port(&host.internal);
    let version = image_version(&etcd.image);

    let mut a = ArgMap::new();
    for (k, v) in [
        ("name", format!("etcd-{}", host.name())),
        ("data-dir", ETCD_DATA_DIR.to_string()),
        ("listen-client-urls", format!("https://{listen}:2379")),
        ("listen-peer-urls", format!("https://{listen}:2380")),
        (
            "initial-advertise-peer-urls",
            format!("https://{internal}:2380"),
        ),
        ("initial-cluster-token", "etcd-cluster-1".to_string()),
        ("initial-cluster", membership.initial_cluster()),
        (
            "initial-cluster-state",
            membership.state.as_str().to_string(),
        ),
        ("trusted-ca-file", paths::cert(KUBE_CA)),
        ("peer-trusted-ca-file", paths::cert(KUBE_CA)),
        ("cert-file", paths::cert(&cert)),
        ("key-file", paths::key(&cert)),
        ("peer-cert-file", paths::cert(&cert)),
        ("peer-key-file", paths::key(&cert)),
    ] {
        a.insert(k.to_string(), v);
    }
    let advertise = if older_than(version, (3, 4, 3)) {
        format!("https://{internal}:2379,https://{internal}:4001")
    } else {
        format!("https://{internal}:2379")
    };
    a.insert("advertise-client-urls".into(), advertise);
    if !older_than(version, (3, 4, 14)) {
        a.insert("cipher-suites".into(), ETCD_CIPHER_SUITES.into());
    }
    args::apply_kdm(&mut a, &cluster.options.etcd);
    args::apply_extra(&mut a, &etcd.extra_args);
    // RKE1's old defaults, kept unless KDM or the user set them.
    let bare: Vec<&str> = ["client-cert-auth", "peer-client-cert-auth"]
        .into_iter()
        .filter(|flag| !a.contains_key(*flag))
        .collect();

    let mut env = vec![
        "ETCDCTL_API=3".to_string(),
        format!("ETCDCTL_CACERT={}", paths::cert(KUBE_CA)),
        format!("ETCDCTL_CERT={}", paths::cert(&cert)),
        format!("ETCDCTL_KEY={}", paths::key(&cert)),
    ];
    let endpoint_host = if listen == "0.0.0.0" {
        "127.0.0.1".to_string()
    } else {
        listen.clone()
    };
    if older_than(version, (3, 2, 99)) {
        env.push(format!("ETCDCTL_ENDPOINT=https://{listen}:2379"));
    } else {
        env.push(format!("ETCDCTL_ENDPOINTS=https://{endpoint_host}:2379"));
    }
    let arch = match host.facts.architecture.as_str() {
        "aarch64" => "arm64",
        other => other,
    };
    env.push(format!("ETCD_UNSUPPORTED_ARCH={arch}"));
    env.extend(etcd.extra_env.iter().cloned());

    let mut binds = cluster.own_binds(vec![
        format!("{}:{ETCD_DATA_DIR}:z", host.path(ETCD_HOST_DATA_DIR)),
        format!("{}:{KUBERNETES_DIR}:z", host.path(KUBERNETES_DIR)),
    ]);
    binds.extend(etcd.extra_binds.iter().cloned());

    let mut spec = container(NAME, &etcd.image, Plane::Etcd);
    spec.entrypoint = vec!["/usr/local/bin/etcd".into()];
    spec.args = args::render(&a, &etcd.extra_args_array, &bare);
    spec.env = env;
    spec.binds = args::uniq(binds);
    spec.user = etcd_user(etcd.uid, etcd.gid);
    spec.health = Some(health::etcd(&internal));
    spec
}

/// Who owns etcd's data directory and certificates when it runs as a user.
pub fn owner(etcd: &crate::config::EtcdService) -> Option<(u32, u32)> {
    etcd_user(etcd.uid, etcd.gid)?;
    Some((u32::try_from(etcd.uid).ok()?, u32::try_from(etcd.gid).ok()?))
}

/// `uid:gid` when both are set (RKE1 wrote `uid:uid`, a bug we do not copy).
pub fn etcd_user(uid: i64, gid: i64) -> Option<String> {
    (uid != 0 && gid != 0).then(|| format!("{uid}:{gid}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_versions() {
        assert_eq!(
            image_version("rancher/mirrored-coreos-etcd:v3.4.15-rancher1"),
            Some((3, 4, 15, true))
        );
        assert_eq!(
            image_version("registry.local:5000/coreos/etcd:v3.5.16"),
            Some((3, 5, 16, false))
        );
        assert_eq!(image_version("etcd"), None);
        assert_eq!(
            image_version("registry:5000/etcd:v3.4.23@sha256:0123abcd"),
            Some((3, 4, 23, false))
        );
        assert_eq!(image_version("registry:5000/etcd@sha256:0123abcd"), None);
    }

    #[test]
    fn boundaries_like_rke1_semver() {
        assert!(older_than(Some((3, 4, 2, false)), (3, 4, 3)));
        assert!(older_than(Some((3, 4, 3, true)), (3, 4, 3)));
        assert!(!older_than(Some((3, 4, 3, false)), (3, 4, 3)));
        assert!(older_than(Some((3, 4, 14, true)), (3, 4, 14)));
        assert!(!older_than(Some((3, 4, 15, true)), (3, 4, 14)));
        assert!(!older_than(None, (3, 4, 15)));
    }

    #[test]
    fn user_needs_uid_and_gid() {
        assert_eq!(etcd_user(1000, 2000).as_deref(), Some("1000:2000"));
        assert_eq!(etcd_user(1000, 0), None);
    }
}
