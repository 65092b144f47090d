//! The real RKE1 on the environment's nodes, through the kit in `../shared/rke1/`: the binary,
//! its rke-tools stand-in in each node's engine, the environment's images on the nodes, and an
//! RKE1 `cluster.yml` written by the kit.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, bail, ensure};
use serde_json::Value;

use super::cluster::Ctx;
use super::nodes;

/// The kit's folder: `$RKE_E2E_SHARED/rke1`, else `../shared/rke1` beside the checkout.
pub fn kit() -> Result<PathBuf, String> {
    let shared = std::env::var_os("RKE_E2E_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    let kit = shared.join("rke1");
    for file in ["install-rke1.sh", "build-images.sh", "cluster.sh"] {
        if !kit.join(file).is_file() {
            return Err(format!(
                "the RKE1 kit is not at {} (no {file}; set RKE_E2E_SHARED to the folder holding rke1/)",
                kit.display()
            ));
        }
    }
    Ok(kit)
}

/// Run a host command line (bash) and return its stdout, failing with its output.
pub fn host(script: &str, what: &str) -> anyhow::Result<String> {
    let started = Instant::now();
    let out = Command::new("bash")
        .args(["-c", script])
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {what}"))?;
    if !out.status.success() {
        bail!(
            "{what} failed ({}): {}{}",
            out.status,
            super::cluster::tail(&String::from_utf8_lossy(&out.stdout), 20),
            super::cluster::tail(&String::from_utf8_lossy(&out.stderr), 20)
        );
    }
    println!("      {what}: {:.1}s", started.elapsed().as_secs_f64());
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Where the RKE1 binary is installed for this run.
pub fn binary(ctx: &Ctx) -> PathBuf {
    ctx.dir.path().join("rke1")
}

/// Install RKE1, put the kit's rke-tools stand-in and the environment's images on nodes 1-3,
/// and write RKE1's cluster.yml (nodes named by address, as RKE1 users' usually are).
/// cluster.yml's `services` for the environment (as tests/env/cluster-yml.sh writes them): the
/// nodes are containers (no conntrack table of their own) sharing the host's disk, whose free
/// space other builds change: without these a kubelet's image garbage collection deletes the
/// cluster's images, which the nodes cannot pull again without registry credentials.
const SERVICES: &str = "services:
  kubeproxy:
    extra_args: {conntrack-max-per-core: \"0\"}
  kubelet:
    extra_args:
      eviction-hard: \"memory.available<100Mi,nodefs.available<1%,imagefs.available<1%,nodefs.inodesFree<1%\"
      image-gc-high-threshold: \"100\"
      image-gc-low-threshold: \"99\"";

pub fn prepare(ctx: &Ctx) -> anyhow::Result<()> {
    let kit = kit().map_err(|e| anyhow::anyhow!(e))?;
    let bin = binary(ctx);
    host(
        &format!("bash {}/install-rke1.sh {}", kit.display(), bin.display()),
        "installing RKE1 v1.2.23",
    )?;
    let engines: Vec<String> = (1..=3)
        .map(|i| {
            format!(
                "--docker 'docker exec -i {} docker'",
                super::e2e::node_container(&ctx.env, i)
            )
        })
        .collect();
    host(
        &format!(
            "bash {}/build-images.sh {}",
            kit.display(),
            engines.join(" ")
        ),
        "the kit's rke-tools stand-in into node1-3's engines",
    )?;
    let registry = &ctx.env["registry"];
    let images = images(&ctx.env)?;
    let addon_image = addon_image(&ctx.env)?;
    // The workload's and CoreDNS's images too: RKE1's cluster has no registry credentials.
    let pulled = format!("{} {} {addon_image}", images.join(" "), ctx.pod_image);
    for i in 1..=3 {
        nodes::sh(
            &ctx.env,
            i,
            &format!(
                "echo {} | docker login -u {} --password-stdin {} >/dev/null && for i in {}; do docker pull -q $i >/dev/null || exit 1; done",
                registry["password"].as_str().unwrap_or_default(),
                registry["username"].as_str().unwrap_or_default(),
                registry["address"].as_str().unwrap_or_default(),
                pulled
            ),
        )?;
    }
    for i in 1..=3 {
        nodes::sh(&ctx.env, i, &kubectl_into_tools(&images[1]))
            .with_context(|| format!("node{i}: kubectl into the rke-tools stand-in"))?;
    }
    let addresses = super::e2e::node_addresses(&ctx.env);
    host(
        &format!(
            "SSH_KEY_PATH={} ETCD_IMAGE={} KUBERNETES_IMAGE={} PAUSE_IMAGE={} \
             KUBEPROXY_CONNTRACK_ZERO=0 EXTRA_YAML='{SERVICES}' bash {}/cluster.sh {} \
             {}:controlplane+etcd+worker {}:controlplane+etcd+worker {}:etcd+worker",
            super::e2e::ssh_key(&ctx.env),
            images[0],
            images[1],
            images[2],
            kit.display(),
            ctx.config().display(),
            addresses[0],
            addresses[1],
            addresses[2]
        ),
        "RKE1's cluster.yml (the kit's cluster.sh)",
    )?;
    let yml = std::fs::read_to_string(ctx.config())?;
    std::fs::write(ctx.config(), with_addons(&yml, &addon_image)?)?;
    Ok(())
}

/// RKE1 applies its addons with a Job running `kubectl apply` in the `alpine` image (the
/// rke-tools stand-in here, which has no kubectl): this environment's copy of the stand-in gets
/// the kubectl of the environment's kubernetes image, under the same tag.
fn kubectl_into_tools(kubernetes_image: &str) -> String {
    format!(
        "set -e; d=$(mktemp -d); k=$(docker create {kubernetes_image}); \
         docker cp $k:/usr/local/bin/kubectl $d/kubectl; docker rm $k >/dev/null; \
         t=$(docker create {TOOLS_IMAGE}); docker cp $d/kubectl $t:/usr/local/bin/kubectl; \
         docker commit $t {TOOLS_IMAGE} >/dev/null; docker rm $t >/dev/null; rm -rf $d; \
         docker run --rm --entrypoint kubectl {TOOLS_IMAGE} version --client >/dev/null"
    )
}

/// The kit's rke-tools stand-in (cluster.sh's default `RKE_TOOLS_IMAGE`).
const TOOLS_IMAGE: &str = "rke1-kit/rke-tools:v0.1.80";

/// A ConfigMap RKE1 applies as a user addon (`addons:`), kept by the takeover.
pub const USER_ADDON_CONFIG_MAP: &str = "rke1-user-addon-data";

/// RKE1's cluster.yml with a built-in addon (CoreDNS, its images the environment's stand-in that
/// answers the probes) and a user addon, both deployed by RKE1's addon Jobs.
fn with_addons(yml: &str, image: &str) -> anyhow::Result<String> {
    ensure!(
        yml.contains("dns: {provider: none}\n") && yml.contains("system_images:\n"),
        "the kit's cluster.yml changed: no `dns: {{provider: none}}` or system_images"
    );
    let yml = yml
        .replace("dns: {provider: none}\n", "dns: {provider: coredns}\n")
        .replace(
            "system_images:\n",
            &format!("system_images:\n  coredns: {image}\n  coredns_autoscaler: {image}\n"),
        );
    Ok(format!(
        "{yml}addon_job_timeout: 120\naddons: |\n  apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    \
         name: {USER_ADDON_CONFIG_MAP}\n    namespace: default\n  data:\n    applied-by: rke1\n"
    ))
}

fn addon_image(env: &Value) -> anyhow::Result<String> {
    Ok(env["images"]["addon_standin"]
        .as_str()
        .context("env.json has no images.addon_standin (re-run tests/env/up.sh)")?
        .to_string())
}

/// The environment's etcd, kubernetes and pause images, in that order.
fn images(env: &Value) -> anyhow::Result<[String; 3]> {
    let get = |key: &str| -> anyhow::Result<String> {
        Ok(env["images"][key]
            .as_str()
            .with_context(|| format!("env.json has no images.{key}"))?
            .to_string())
    };
    Ok([get("etcd")?, get("kubernetes")?, get("pause")?])
}

/// `rke1 <args> --config cluster.yml` in the scenario's directory; its output is saved as
/// `rke1-<label>.log` there.
pub fn run(ctx: &Ctx, args: &[&str], label: &str) -> anyhow::Result<()> {
    let started = Instant::now();
    let out = Command::new(binary(ctx))
        .args(args)
        .arg("--config")
        .arg(ctx.config())
        .current_dir(&ctx.work)
        .stdin(Stdio::null())
        .output()
        .context("running RKE1")?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let log = ctx.dir.path().join(format!("rke1-{label}.log"));
    std::fs::write(&log, &text)?;
    println!(
        "    rke1 {}: exit {:?} in {:.1}s (output: {})",
        args.join(" "),
        out.status.code(),
        started.elapsed().as_secs_f64(),
        log.file_name().unwrap_or_default().to_string_lossy()
    );
    ensure!(
        out.status.success(),
        "rke1 {} failed: {}",
        args.join(" "),
        super::cluster::tail(&text, 15)
    );
    Ok(())
}

/// What an RKE1 cluster leaves beyond what [`nodes::cleanup`] removes: RKE1's unlabelled
/// `etcd-rolling-snapshots` and its snapshot folder.
pub fn cleanup(env: &Value) {
    nodes::cleanup(env);
    for i in 1..=nodes::node_count(env) {
        if let Err(e) = nodes::sh(
            env,
            i,
            "docker rm -f -v etcd-rolling-snapshots >/dev/null 2>&1; rm -rf /opt/rke; true",
        ) {
            eprintln!("cleanup: {e:#}");
        }
    }
}
