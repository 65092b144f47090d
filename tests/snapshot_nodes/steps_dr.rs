//! Disaster recovery: the 3-node cluster (node1..3) is lost; a snapshot of it, in S3, is
//! restored onto node4 and node5 (other addresses) from a directory holding only a new
//! cluster.yml: the state, with the CA, comes from the snapshot, and the certificates are
//! reissued for the new nodes.

use std::time::Duration;

use anyhow::ensure;

use super::cluster::Ctx;
use super::nodes;
use super::steps_restore::{RECURRING, s3_flags, s3_folder};
use super::support::{self, ok};

pub fn restore_onto_new_nodes(ctx: &mut Ctx) -> anyhow::Result<()> {
    let folder = format!("{}-dr", s3_folder());
    let flags = s3_flags(ctx, &folder)?;
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    support::create_configmap(ctx, "dr-before")?;
    let mut save = vec!["etcd", "snapshot-save", "--name", "e2e-dr"];
    save.extend(&flags);
    ok(ctx.rke(&save), "snapshot-save --s3")?;
    let old_ca = kube_ca(ctx)?;

    println!("    the old cluster is lost: every container on node1..3 stopped");
    for i in 1..=3 {
        nodes::sh(
            &ctx.env,
            i,
            "ids=$(docker ps -q); [ -z \"$ids\" ] || docker stop -t 1 $ids >/dev/null",
        )?;
    }

    let dr = ctx.dir.path().join("dr");
    std::fs::create_dir_all(&dr)?;
    ctx.work = dr;
    let mut spec = RECURRING.to_vec();
    spec.extend(["4:etcd,controlplane,worker", "5:etcd,worker"]);
    ctx.write_config(&spec, &[])?;
    let mut restore = vec!["etcd", "snapshot-restore", "--name", "e2e-dr"];
    restore.extend(&flags);
    let run = ok(ctx.rke(&restore), "snapshot-restore onto node4, node5")?;
    println!(
        "    figure: restore onto new nodes {:.1}s",
        run.elapsed.as_secs_f64()
    );
    ensure!(ctx.kubeconfig().is_file(), "no kubeconfig written");
    support::expect_configmaps(ctx, &["dr-before"], &[])?;
    println!("    check: exactly node4 and node5 are registered and Ready");
    ctx.wait_nodes_ready(&["node4", "node5"], Duration::from_secs(300))?;
    support::etcd_healthy(ctx, 4, 2)?;
    println!("    check: the cluster kept its CA (from the snapshot's state)");
    let new_ca = kube_ca(ctx)?;
    ensure!(
        !new_ca.is_empty() && new_ca == old_ca,
        "the restored cluster has another CA"
    );
    support::pod_runs_on(ctx, "after-dr", "node5")?;
    ctx.rke_env.clear();
    Ok(())
}

/// The CA certificate in the state file of the current working directory.
fn kube_ca(ctx: &Ctx) -> anyhow::Result<String> {
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ctx.state_file())?)?;
    Ok(
        state["desiredState"]["certificatesBundle"]["kube-ca"]["certificatePEM"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    )
}
