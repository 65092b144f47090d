//! Steps on a fresh cluster: bring-up and a pod on the worker-only node. (The idempotent re-run
//! and the private-key check, which cri_dockerd_nodes runs too, are in tests/common/steps.rs.)

use std::time::Duration;

use anyhow::{bail, ensure};

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
