//! Steps on a fresh cluster: bring-up, a pod on the worker-only node, an idempotent re-run, and
//! the private-key check.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, bail, ensure};

use super::cluster::{Ctx, eventually};
use super::nodes;

const POD: &str = "up-nodes-probe";

/// node1, node2: etcd + controlplane + worker; node3: etcd + worker.
pub fn fresh_three_node_cluster(ctx: &mut Ctx) -> anyhow::Result<()> {
    ctx.write_config(&[], &[])?;
    println!("    cluster.yml: node1, node2 etcd+controlplane+worker; node3 etcd+worker");
    ctx.up_ok()?;
    println!("    check: kubectl get nodes lists node1..3, all Ready (CNI stand-in installed)");
    ctx.wait_nodes_ready(&["node1", "node2", "node3"], Duration::from_secs(300))?;
    println!("    check: etcd has 3 members, all healthy");
    let members = nodes::etcd_members(&ctx.env, 1)?;
    ensure!(members.len() == 3, "etcd members: {members:?}");
    let healthy = eventually("etcd endpoint health", Duration::from_secs(60), || {
        let n = nodes::etcd_healthy(&ctx.env, 1)?;
        ensure!(n == 3, "{n} of 3 etcd members healthy");
        Ok(n)
    })?;
    println!("      members {members:?}, {healthy} healthy");
    Ok(())
}

/// A pod pinned to node3, which has no API server of its own: its kubelet reaches the API
/// through nginx-proxy, and pulls the image from the private registry with the credentials
/// rke gave it (imagePullPolicy Always, so an image rke pulled itself does not count).
pub fn pod_on_worker_only_node(ctx: &mut Ctx) -> anyhow::Result<()> {
    println!("    check: node3 runs nginx-proxy and no kube-apiserver");
    ensure!(
        nodes::running(&ctx.env, 3, "nginx-proxy")?,
        "node3 runs no nginx-proxy"
    );
    ensure!(
        !nodes::running(&ctx.env, 3, "kube-apiserver")?,
        "node3 (etcd+worker) runs a kube-apiserver"
    );
    let manifest = format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: {POD}, namespace: default}}\nspec:\n  \
         nodeSelector: {{kubernetes.io/hostname: node3}}\n  terminationGracePeriodSeconds: 1\n  \
         containers:\n  - name: probe\n    image: {}\n    imagePullPolicy: Always\n    \
         command: [sleep, \"3600\"]\n",
        ctx.pod_image
    );
    // The default service account appears shortly after the controller manager starts.
    eventually("creating the probe pod", Duration::from_secs(90), || {
        ctx.kubectl_stdin(&["apply", "-f", "-"], &manifest)
    })?;
    println!("    check: the pod on node3 becomes Ready (image pulled with rke's credentials)");
    let waited = ctx.kubectl(&[
        "wait",
        "--for=condition=Ready",
        &format!("pod/{POD}"),
        "--timeout=240s",
    ]);
    if let Err(e) = waited {
        let describe = ctx
            .kubectl(&["describe", "pod", POD])
            .unwrap_or_else(|e| e.to_string());
        bail!("{e:#}\n{describe}");
    }
    let node = ctx.kubectl(&["get", "pod", POD, "-o", "jsonpath={.spec.nodeName}"])?;
    ensure!(node == "node3", "the pod runs on {node:?}, not node3");
    println!("    check: kubectl exec runs a command in it");
    let out = ctx.kubectl(&["exec", POD, "--", "sh", "-c", "echo exec-ok-$((6*7))"])?;
    ensure!(out.trim() == "exec-ok-42", "kubectl exec printed {out:?}");
    ctx.kubectl(&["delete", "pod", POD, "--wait=true", "--timeout=90s"])?;
    Ok(())
}

fn snapshot(
    ctx: &Ctx,
    node_ids: &[usize],
) -> anyhow::Result<BTreeMap<usize, BTreeMap<String, String>>> {
    node_ids
        .iter()
        .map(|&i| Ok((i, nodes::rke_containers(&ctx.env, i)?)))
        .collect()
}

/// `rke up` again without a change recreates nothing, and a dry run reports nothing to do.
pub fn rerun_changes_nothing(ctx: &mut Ctx) -> anyhow::Result<()> {
    let before = snapshot(ctx, &[1, 2, 3])?;
    for (i, containers) in &before {
        ensure!(!containers.is_empty(), "node{i} has no rke containers");
    }
    ctx.up_ok()?;
    println!("    check: every rke container on node1..3 has the same ID as before");
    let after = snapshot(ctx, &[1, 2, 3])?;
    for (i, was) in &before {
        let now = &after[i];
        ensure!(
            was == now,
            "node{i}: containers changed on a no-op run\nbefore: {was:#?}\nafter: {now:#?}"
        );
        println!("      node{i}: {} containers unchanged", was.len());
    }
    println!("    check: rke up --dry-run reports no change (exit 0)");
    ctx.dry_run(0)?;
    Ok(())
}

/// No container on any node carries private key material in its configuration (env,
/// command, labels...): rke must hand keys over as files only.
pub fn no_private_keys_in_containers(ctx: &mut Ctx) -> anyhow::Result<()> {
    let mut bad = Vec::new();
    let mut total = 0;
    for i in 1..=nodes::node_count(&ctx.env) {
        let hits = nodes::containers_with_private_keys(&ctx.env, i)
            .with_context(|| format!("inspecting node{i}'s containers"))?;
        total += 1;
        if !hits.is_empty() {
            bad.push(format!("node{i}: {hits:?}"));
        }
    }
    println!("    check: no `PRIVATE KEY` in docker inspect of any container on {total} nodes");
    ensure!(
        bad.is_empty(),
        "private key material in: {}",
        bad.join("; ")
    );
    Ok(())
}
