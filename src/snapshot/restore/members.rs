//! Stopping the cluster and restoring every etcd member from the same snapshot with the full
//! member list (etcd's multi-member restore procedure, as RKE1 does it): on each etcd node the
//! database is copied to `/opt/rke/etcd-snapshots-restore/`, `etcdctl snapshot restore`
//! (`etcdutl` from etcd 3.5: [`restore_tool`]) runs in a one-shot container from the cluster's
//! etcd image, and the restored `member/` directory replaces the one in etcd's data directory,
//! which is kept aside until the restored cluster is healthy.

use std::time::Duration;

use bollard::query_parameters::StopContainerOptionsBuilder;

use crate::config::RkeConfig;
use crate::error::{ErrorKind, classified};
use crate::provision::node::{Helper, clean_dirs, run_oneshot, upload_local_file};
use crate::provision::spec::{
    ETCD_HOST_DATA_DIR, EtcdMembership, has_etcdutl, host_port, names, under_prefix,
};
use crate::snapshot::save::EtcdHost;
use crate::transport::NodeConnection;

/// RKE1's scratch directory for a restore.
pub const RESTORE_DIR: &str = "/opt/rke/etcd-snapshots-restore";
/// The cluster token every member was started with (RKE1's constant).
const CLUSTER_TOKEN: &str = "etcd-cluster-1";
const RESTORE_TIMEOUT: Duration = Duration::from_secs(600);
/// Seconds a component gets to stop before it is killed. Short: everything stopped here is
/// about to be restored or restarted (etcd's data is replaced, and a killed etcd is
/// crash-safe), while a graceful kube-apiserver drains watches for 30 s and a leader etcd
/// tries to hand over leadership to peers that are already gone.
const STOP_GRACE: i32 = 1;

/// Stop `containers` on a node, all at once; absent or already stopped ones are fine.
pub async fn stop(conn: &NodeConnection, containers: &[&str]) -> anyhow::Result<()> {
    futures_util::future::try_join_all(containers.iter().map(|name| stop_one(conn, name)))
        .await
        .map(drop)
}

async fn stop_one(conn: &NodeConnection, name: &str) -> anyhow::Result<()> {
    let options = StopContainerOptionsBuilder::default().t(STOP_GRACE).build();
    match conn.docker().stop_container(name, Some(options)).await {
        Ok(()) => {
            tracing::info!(node = %conn.name(), "stopped {name}");
            Ok(())
        }
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404 | 304,
            ..
        }) => Ok(()),
        Err(e) => Err(classified(
            ErrorKind::Docker,
            format!("node {}: stopping {name}: {e}", conn.name()),
        )),
    }
}

/// Start `containers` on a node again (a rollback's etcd on the data put back); absent or
/// running ones are fine: the `rke up` that follows creates or keeps them.
pub async fn start(conn: &NodeConnection, containers: &[&str]) -> anyhow::Result<()> {
    for name in containers {
        match conn.docker().start_container(name, None).await {
            Ok(()) => tracing::info!(node = %conn.name(), "started {name}"),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404 | 304,
                ..
            }) => {}
            Err(e) => {
                return Err(classified(
                    ErrorKind::Docker,
                    format!("node {}: starting {name}: {e}", conn.name()),
                ));
            }
        }
    }
    Ok(())
}

/// The control-plane components, stopped before etcd so nothing writes during the restore.
pub const CONTROL_PLANE: &[&str] = &[
    names::KUBE_APISERVER,
    names::KUBE_CONTROLLER_MANAGER,
    names::KUBE_SCHEDULER,
];

/// The node agents that cache the cluster's objects. After etcd went back in time their caches,
/// and the resource versions their watches resume from, belong to a future the restored
/// cluster never had (a kubelet then misses pods bound to it): they are stopped while the API
/// servers are still down, and the following `rke up` starts them to read the restored cluster
/// afresh. RKE1 recreates every node's components on a restore.
pub const NODE_AGENTS: &[&str] = &[names::KUBELET, names::KUBE_PROXY];

/// `--initial-cluster` for every etcd node of the config: `etcd-<name>=https://<ip>:2380,...`,
/// the list a new cluster's members start with.
pub fn initial_cluster(cfg: &RkeConfig) -> String {
    EtcdMembership::new_cluster(cfg).initial_cluster()
}

/// The restore command inside the etcd image.
pub fn restore_command(etcd_image: &str, host: &EtcdHost, initial_cluster: &str) -> Vec<String> {
    command_for(etcd_image, host.cfg, initial_cluster)
}

/// The restore tool in `etcd_image`: `etcdutl` from etcd 3.5 on (see [`has_etcdutl`]).
pub fn restore_tool(etcd_image: &str) -> &'static str {
    if has_etcdutl(etcd_image) {
        "etcdutl"
    } else {
        "etcdctl"
    }
}

fn command_for(
    etcd_image: &str,
    node: &crate::config::RkeConfigNode,
    initial_cluster: &str,
) -> Vec<String> {
    let internal = host_port(node.effective_internal_address());
    vec![
        format!("/usr/local/bin/{}", restore_tool(etcd_image)),
        "snapshot".into(),
        "restore".into(),
        "/restore/snapshot.db".into(),
        "--data-dir=/restore/data".into(),
        format!("--name=etcd-{}", node.hostname_override),
        format!("--initial-cluster={initial_cluster}"),
        format!("--initial-cluster-token={CLUSTER_TOKEN}"),
        format!("--initial-advertise-peer-urls=https://{internal}:2380"),
    ]
}

/// Restore one member: stage the database, run the restore, swap the data directory (the
/// previous data is kept, see [`super::keep`]).
pub async fn restore_member(
    host: &EtcdHost<'_>,
    cfg: &RkeConfig,
    db: &std::path::Path,
    helper_image: &str,
) -> anyhow::Result<()> {
    let conn = host.conn;
    let data_dir = under_prefix(&cfg.prefix_path, ETCD_HOST_DATA_DIR);
    clean_dirs(conn, &[RESTORE_DIR.to_string()], helper_image).await?;
    let staged = format!("{RESTORE_DIR}/snapshot.db");
    upload_local_file(conn, db, &staged, 0o600, helper_image).await?;

    let etcd_image = cfg.services.etcd.image.as_str();
    tracing::info!(
        node = %host.cfg.hostname_override,
        "restoring the snapshot with {} from {etcd_image}",
        restore_tool(etcd_image)
    );
    let restore = Helper {
        kind: "etcd-restore",
        what: "the etcd restore",
        image: etcd_image,
        entrypoint: Some(restore_command(etcd_image, host, &initial_cluster(cfg))),
        cmd: None,
        binds: vec![format!("{RESTORE_DIR}:/restore")],
        security_opt: Some(vec!["label=disable".into()]),
    };
    let output = run_oneshot(
        conn,
        restore,
        "restoring the etcd snapshot",
        RESTORE_TIMEOUT,
    )
    .await?;
    tracing::debug!(node = %conn.name(), "etcd restore: {}", output.trim_end());

    // Replace the member directory, keeping the previous one; hand it to etcd's user when etcd
    // runs as one.
    let etcd = &cfg.services.etcd;
    let chown = if etcd.uid > 0 || etcd.gid > 0 {
        format!(" && chown -R {}:{} member", etcd.uid, etcd.gid)
    } else {
        String::new()
    };
    let script = super::keep::swap_script(&chown);
    let swap = Helper {
        kind: "etcd-restore-swap",
        what: "the etcd data swap",
        image: helper_image,
        entrypoint: Some(vec!["sh".into(), "-c".into(), script]),
        cmd: None,
        binds: vec![
            format!("{RESTORE_DIR}:/restore"),
            format!("{data_dir}:/data"),
        ],
        security_opt: Some(vec!["label=disable".into()]),
    };
    run_oneshot(
        conn,
        swap,
        "moving the restored data into place",
        RESTORE_TIMEOUT,
    )
    .await
    .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RkeConfigNode;

    fn node(name: &str, ip: &str, roles: &[&str]) -> RkeConfigNode {
        RkeConfigNode {
            address: ip.into(),
            hostname_override: name.into(),
            role: roles.iter().map(|r| r.to_string()).collect(),
            ..RkeConfigNode::default()
        }
    }

    #[test]
    fn initial_cluster_lists_every_etcd_node_of_the_config() {
        let cfg = RkeConfig {
            nodes: vec![
                node("a", "10.0.0.1", &["etcd", "controlplane"]),
                node("b", "10.0.0.2", &["worker"]),
                node("c", "fd00::3", &["etcd"]),
            ],
            ..RkeConfig::default()
        };
        assert_eq!(
            initial_cluster(&cfg),
            "etcd-a=https://10.0.0.1:2380,etcd-c=https://[fd00::3]:2380"
        );
    }

    #[test]
    fn etcdutl_from_3_5() {
        assert!(!has_etcdutl("rancher/mirrored-coreos-etcd:v3.4.23"));
        assert!(!has_etcdutl("registry:5000/etcd:v3.4.3-rancher1"));
        assert!(has_etcdutl("rancher/mirrored-coreos-etcd:v3.5.9"));
        assert!(has_etcdutl("quay.io/coreos/etcd:v3.6.0"));
        assert!(has_etcdutl("rancher/mirrored-coreos-etcd:v3.5.0-rancher1"));
        assert!(has_etcdutl("etcd"));
        // A pinned digest does not hide the tag; without a tag the image counts as current.
        assert!(!has_etcdutl("registry:5000/etcd:v3.4.23@sha256:0123abcd"));
        assert!(has_etcdutl("registry:5000/etcd@sha256:0123abcd"));
        assert_eq!(
            restore_tool("10.77.0.1:5000/rke-e2e/etcd:v3.5.16"),
            "etcdutl"
        );
        assert_eq!(
            restore_tool("10.77.0.1:5000/rke-e2e/etcd:v3.4.23"),
            "etcdctl"
        );
    }

    /// The whole command for etcd 3.5: etcdutl with the same flags (all of which
    /// `etcdutl snapshot restore` accepts, as `etcdctl snapshot restore` did) and no client
    /// options (etcdutl works on files only).
    #[test]
    fn restore_command_on_etcd_3_5_is_etcdutl() {
        let n = RkeConfigNode {
            internal_address: "192.168.0.7".into(),
            ..node("b", "10.0.0.2", &["etcd"])
        };
        assert_eq!(
            command_for(
                "rancher/mirrored-coreos-etcd:v3.5.16",
                &n,
                "etcd-a=https://10.0.0.1:2380,etcd-b=https://192.168.0.7:2380"
            ),
            [
                "/usr/local/bin/etcdutl",
                "snapshot",
                "restore",
                "/restore/snapshot.db",
                "--data-dir=/restore/data",
                "--name=etcd-b",
                "--initial-cluster=etcd-a=https://10.0.0.1:2380,etcd-b=https://192.168.0.7:2380",
                "--initial-cluster-token=etcd-cluster-1",
                "--initial-advertise-peer-urls=https://192.168.0.7:2380",
            ]
        );
    }

    #[test]
    fn restore_command_names_the_member_and_the_whole_cluster() {
        let n = node("a", "10.0.0.1", &["etcd"]);
        let cmd = command_for("img:v3.4.23", &n, "X");
        assert_eq!(
            &cmd[..4],
            [
                "/usr/local/bin/etcdctl",
                "snapshot",
                "restore",
                "/restore/snapshot.db"
            ]
        );
        for want in [
            "--data-dir=/restore/data",
            "--name=etcd-a",
            "--initial-cluster=X",
            "--initial-cluster-token=etcd-cluster-1",
            "--initial-advertise-peer-urls=https://10.0.0.1:2380",
        ] {
            assert!(
                cmd.contains(&want.to_string()),
                "{want} missing from {cmd:?}"
            );
        }
        assert_eq!(
            command_for("img:v3.5.9", &n, "X")[0],
            "/usr/local/bin/etcdutl"
        );
    }
}
