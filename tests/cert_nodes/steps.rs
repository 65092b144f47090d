//! The cert_nodes scenario's steps.

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use serde_json::Value;

use super::api_watch::{ApiWatch, Report};
use super::cluster::{Ctx, eventually};
use super::nodes::{self, sh};

const NODES: [&str; 3] = ["node1", "node2", "node3"];
const DEPLOYMENT: &str = "cert-probe";
const NEW_POD: &str = "cert-probe-after-ca";
/// Node files rke writes certificates, keys and kubeconfigs to.
const SSL_DIR: &str = "/etc/kubernetes/ssl";

/// What the steps hand each other: the running probe pod and the last rotation's figures.
struct Shared {
    probe_pod: String,
    apiserver_cert: String,
}
static SHARED: Mutex<Option<Shared>> = Mutex::new(None);

fn address(ctx: &Ctx, i: usize) -> String {
    ctx.env["nodes"][i - 1]["address"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// node1, node2: etcd + controlplane + worker; node3: etcd + worker; a one-replica
/// Deployment (its pod mounts the default service account's token).
pub fn fresh_cluster_with_pod(ctx: &mut Ctx) -> anyhow::Result<()> {
    ctx.write_config(&[], &[])?;
    ctx.up_ok()?;
    ctx.wait_nodes_ready(&NODES, Duration::from_secs(300))?;
    let manifest = format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {DEPLOYMENT}, namespace: default}}\n\
         spec:\n  replicas: 1\n  selector: {{matchLabels: {{app: {DEPLOYMENT}}}}}\n  template:\n    \
         metadata: {{labels: {{app: {DEPLOYMENT}}}}}\n    spec:\n      \
         terminationGracePeriodSeconds: 1\n      containers:\n      - name: probe\n        \
         image: {}\n        command: [sleep, \"3600\"]\n",
        ctx.pod_image
    );
    eventually(
        "creating the probe Deployment",
        Duration::from_secs(90),
        || ctx.kubectl_stdin(&["apply", "-f", "-"], &manifest),
    )?;
    ctx.kubectl(&[
        "rollout",
        "status",
        &format!("deployment/{DEPLOYMENT}"),
        "--timeout=240s",
    ])?;
    let pod = probe_pod(ctx)?;
    println!("    probe pod {pod} runs");
    *SHARED.lock().unwrap() = Some(Shared {
        probe_pod: pod,
        apiserver_cert: String::new(),
    });
    Ok(())
}

fn probe_pod(ctx: &Ctx) -> anyhow::Result<String> {
    let name = ctx.kubectl(&[
        "get",
        "pods",
        "-l",
        &format!("app={DEPLOYMENT}"),
        "--field-selector=status.phase=Running",
        "-o",
        "jsonpath={.items[*].metadata.name}",
    ])?;
    let names: Vec<&str> = name.split_whitespace().collect();
    ensure!(
        names.len() == 1,
        "want one running probe pod, got {names:?}"
    );
    Ok(names[0].to_string())
}

/// The state file as JSON.
fn state(ctx: &Ctx) -> anyhow::Result<Value> {
    let text = std::fs::read_to_string(ctx.state_file())?;
    serde_json::from_str(&text).context("cluster.rkestate is not JSON")
}

fn bundle<'a>(state: &'a Value, which: &str) -> anyhow::Result<&'a serde_json::Map<String, Value>> {
    state[which]["certificatesBundle"]
        .as_object()
        .with_context(|| format!("the state file has no {which}.certificatesBundle"))
}

/// Bundle entries that differ between two bundles (anywhere in the entry).
fn changed_entries(
    a: &serde_json::Map<String, Value>,
    b: &serde_json::Map<String, Value>,
) -> BTreeSet<String> {
    a.keys()
        .chain(b.keys())
        .filter(|k| a.get(*k) != b.get(*k))
        .cloned()
        .collect()
}

/// sha256 of every file in the node's certificate directory: path -> digest.
fn ssl_files(ctx: &Ctx, i: usize) -> anyhow::Result<BTreeMap<String, String>> {
    let out = sh(&ctx.env, i, &format!("sha256sum {SSL_DIR}/*"))?;
    Ok(out
        .lines()
        .filter_map(|l| l.split_once("  "))
        .map(|(digest, path)| (path.to_string(), digest.to_string()))
        .collect())
}

fn changed_keys<V: PartialEq>(a: &BTreeMap<String, V>, b: &BTreeMap<String, V>) -> Vec<String> {
    let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .cloned()
        .collect()
}

/// Rotate the API server's certificate while both control-plane API servers are polled:
/// the state, the node files and the containers change for kube-apiserver only.
pub fn rotate_apiserver_only(ctx: &mut Ctx) -> anyhow::Result<()> {
    let before = state(ctx)?;
    let files_before: Vec<_> = (1..=3)
        .map(|i| ssl_files(ctx, i))
        .collect::<Result<_, _>>()?;
    let containers_before: Vec<_> = (1..=3)
        .map(|i| nodes::rke_containers(&ctx.env, i))
        .collect::<Result<_, _>>()?;

    let servers = ctx.api_servers();
    println!("    watching /healthz on {servers:?} every 0.5 s");
    let watch = ApiWatch::start(ctx.kubectl.clone(), ctx.kubeconfig(), servers);
    let run = ctx.rke(&["cert", "rotate", "--service", "kube-apiserver"]);
    ctx.api_report = Some(watch.finish());
    if run.code != Some(0) {
        bail!(
            "rke cert rotate --service kube-apiserver: {}",
            run.describe()
        );
    }
    for line in run.stdout.lines() {
        println!("      | {line}");
    }

    let after = state(ctx)?;
    println!("    check: in the state file only kube-apiserver changed (desired and current)");
    for which in ["desiredState", "currentState"] {
        let changed = changed_entries(bundle(&before, "currentState")?, bundle(&after, which)?);
        ensure!(
            changed == BTreeSet::from(["kube-apiserver".to_string()]),
            "{which}: changed bundle entries {changed:?}, want only kube-apiserver"
        );
    }
    let old = &bundle(&before, "currentState")?["kube-apiserver"];
    let new = &bundle(&after, "currentState")?["kube-apiserver"];
    ensure!(
        old["keyPEM"] != new["keyPEM"] && old["certificatePEM"] != new["certificatePEM"],
        "kube-apiserver kept its key or certificate"
    );

    println!("    check: on the nodes only kube-apiserver*.pem changed");
    for i in 1..=3 {
        let changed = changed_keys(&files_before[i - 1], &ssl_files(ctx, i)?);
        let want: Vec<String> = if i <= 2 {
            vec![
                format!("{SSL_DIR}/kube-apiserver-key.pem"),
                format!("{SSL_DIR}/kube-apiserver.pem"),
            ]
        } else {
            Vec::new()
        };
        ensure!(
            changed == want,
            "node{i}: changed files {changed:?}, want {want:?}"
        );
    }

    println!("    check: only the kube-apiserver containers were replaced");
    for i in 1..=3 {
        let changed = changed_keys(
            &containers_before[i - 1],
            &nodes::rke_containers(&ctx.env, i)?,
        );
        let want: Vec<String> = if i <= 2 {
            vec!["kube-apiserver".to_string()]
        } else {
            Vec::new()
        };
        ensure!(
            changed == want,
            "node{i}: replaced containers {changed:?}, want {want:?}"
        );
    }
    let cert = new["certificatePEM"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if let Some(shared) = SHARED.lock().unwrap().as_mut() {
        shared.apiserver_cert = cert;
    }
    Ok(())
}

/// Seconds of the longest run of consecutive polls (0.5 s apart) where no server answered.
fn longest_outage(report: &Report) -> f64 {
    let times: Vec<f64> = report
        .outages
        .iter()
        .filter_map(|o| o.strip_prefix("t=")?.split_once('s')?.0.parse().ok())
        .collect();
    // A failing poll can take up to its 3 s timeout, so polls up to 4 s apart are consecutive.
    let mut longest = 0.0f64;
    let mut run_start = None;
    let mut last = f64::NEG_INFINITY;
    for t in times {
        if run_start.is_none() || t - last >= 4.0 {
            run_start = Some(t);
        }
        longest = longest.max(t - run_start.unwrap_or(t) + 0.5);
        last = t;
    }
    longest
}

/// The certificate the server at `host:6443` presents, as PEM (openssl on the test machine).
fn presented_cert(host: &str) -> anyhow::Result<String> {
    let script = format!(
        "openssl s_client -connect {host}:6443 -servername kubernetes </dev/null 2>/dev/null \
         | openssl x509 -outform PEM"
    );
    let out = Command::new("sh").args(["-c", &script]).output()?;
    ensure!(
        out.status.success(),
        "openssl s_client to {host}:6443: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The base64 body of the first certificate in `pem`: the leaf (the state file holds the
/// API server's certificate with its CA after it; a server presents the leaf first).
fn pem_body(pem: &str) -> String {
    pem.lines()
        .skip_while(|l| !l.starts_with("-----BEGIN"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect::<String>()
}

/// At every poll at least one API server answered; both now present the new certificate.
pub fn api_stayed_up_with_new_certificate(ctx: &mut Ctx) -> anyhow::Result<()> {
    let report = ctx.api_report.take().context("no API watch report")?;
    println!(
        "    API polls: {}; longest time no server answered healthy: {:.1}s",
        report.ticks,
        longest_outage(&report)
    );
    for (server, failed) in &report.endpoint_failures {
        println!(
            "      {server}: {failed} polls unanswered (~{:.1}s)",
            *failed as f64 * 0.5
        );
    }
    // A server that answers "etcd failed" is up (it served the request over TLS as
    // kube-admin); on a loaded host etcd's health check times out now and then while nothing
    // touches etcd. Those ticks are shown; a tick where no server answered at all fails.
    let (etcd_blips, down): (Vec<&String>, Vec<&String>) = report
        .outages
        .iter()
        .partition(|o| o.matches("etcd failed").count() == 2);
    for blip in &etcd_blips {
        println!(
            "      both answered, etcd health failing: {}",
            blip.chars().take(60).collect::<String>()
        );
    }
    ensure!(
        report.ticks > 0 && down.is_empty(),
        "no control-plane API server answered /healthz at {} of {} polls:\n{}",
        down.len(),
        report.ticks,
        down.iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
    let want = SHARED
        .lock()
        .unwrap()
        .as_ref()
        .map(|s| s.apiserver_cert.clone())
        .unwrap_or_default();
    ensure!(!want.is_empty(), "no rotated certificate recorded");
    for i in 1..=2 {
        let host = address(ctx, i);
        let got = presented_cert(&host)?;
        ensure!(
            pem_body(&got) == pem_body(&want),
            "node{i} ({host}) does not present the rotated kube-apiserver certificate"
        );
        println!("    check: node{i} presents the rotated certificate");
    }
    Ok(())
}

/// Whether `openssl s_client` verifies the API server on `host` with `ca_file`.
fn verifies(host: &str, ca_file: &std::path::Path) -> anyhow::Result<bool> {
    let status = Command::new("openssl")
        .args(["s_client", "-connect", &format!("{host}:6443")])
        .args([
            "-servername",
            "kubernetes",
            "-verify_return_error",
            "-CAfile",
        ])
        .arg(ca_file)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()?;
    Ok(status.success())
}

fn default_token_secret(ctx: &Ctx) -> anyhow::Result<String> {
    Ok(ctx
        .kubectl(&[
            "get",
            "serviceaccount",
            "default",
            "-n",
            "default",
            "-o",
            "jsonpath={.secrets[*].name}",
        ])?
        .trim()
        .to_string())
}

/// `--rotate-ca`: a new kube-ca in the state and on every node, every certificate renewed,
/// the rewritten kubeconfig works, the old CA no longer verifies the API server.
pub fn rotate_ca(ctx: &mut Ctx) -> anyhow::Result<()> {
    let before = state(ctx)?;
    let old_ca = bundle(&before, "currentState")?["kube-ca"]["certificatePEM"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let old_ca_file = ctx.work.join("old-kube-ca.pem");
    std::fs::write(&old_ca_file, &old_ca)?;
    let token_before = default_token_secret(ctx)?;
    std::fs::write(ctx.work.join("old-default-token"), &token_before)?;
    println!("    default service account token Secret before: {token_before}");

    // Through the kubeconfig file, which rke rewrites: the time the user cannot reach the API.
    let servers = ctx.api_servers();
    let watch = ApiWatch::start(ctx.kubectl.clone(), ctx.kubeconfig(), servers);
    let run = ctx.rke(&["cert", "rotate", "--rotate-ca"]);
    let report = watch.finish();
    if run.code != Some(0) {
        bail!("rke cert rotate --rotate-ca: {}", run.describe());
    }
    for line in run.stdout.lines() {
        println!("      | {line}");
    }
    println!(
        "    rotation took {:.1}s; the API was unavailable through the kubeconfig for {:.1}s \
         ({} of {} polls)",
        run.elapsed.as_secs_f64(),
        longest_outage(&report),
        report.outages.len(),
        report.ticks
    );

    let after = state(ctx)?;
    println!("    check: a new kube-ca and every entry renewed in the state file");
    for which in ["desiredState", "currentState"] {
        let (b, a) = (bundle(&before, "currentState")?, bundle(&after, which)?);
        let same: Vec<&String> = b
            .keys()
            .filter(|k| b[*k]["keyPEM"] == a.get(*k).map_or(Value::Null, |e| e["keyPEM"].clone()))
            .collect();
        ensure!(
            same.is_empty(),
            "{which}: entries that kept their key: {same:?}"
        );
    }
    let new_ca = bundle(&after, "currentState")?["kube-ca"]["certificatePEM"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    ensure!(
        new_ca != old_ca && !new_ca.is_empty(),
        "kube-ca did not change"
    );
    let new_ca_file = ctx.work.join("new-kube-ca.pem");
    std::fs::write(&new_ca_file, &new_ca)?;

    println!("    check: every node holds the new kube-ca.pem");
    for i in 1..=3 {
        let on_node = sh(&ctx.env, i, &format!("cat {SSL_DIR}/kube-ca.pem"))?;
        ensure!(
            pem_body(&on_node) == pem_body(&new_ca),
            "node{i} has another kube-ca.pem"
        );
    }

    println!("    check: kubectl get nodes with the rewritten kubeconfig, all Ready");
    let kubeconfig = std::fs::read_to_string(ctx.kubeconfig())?;
    ensure!(
        !kubeconfig.contains(&base64_of(&old_ca)),
        "the kubeconfig still embeds the old CA"
    );
    ctx.wait_nodes_ready(&NODES, Duration::from_secs(180))?;

    println!("    check: the old CA no longer verifies the API servers, the new one does");
    for i in 1..=2 {
        let host = address(ctx, i);
        ensure!(
            !verifies(&host, &old_ca_file)?,
            "node{i}: the old CA still verifies"
        );
        ensure!(
            verifies(&host, &new_ca_file)?,
            "node{i}: the new CA does not verify"
        );
    }
    Ok(())
}

fn base64_of(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// The default service account got a new token Secret, the Deployment's pod was recreated
/// (it used an old token), and a new pod can be created and runs.
pub fn tokens_renewed_and_pods_run(ctx: &mut Ctx) -> anyhow::Result<()> {
    let token_before = std::fs::read_to_string(ctx.work.join("old-default-token"))?;
    // The token controller adds a new Secret; a reference to the deleted one may linger in
    // the service account's list (seen on v1.20), so the new one is the listed Secret that
    // exists and is not the old one.
    let token_after = eventually(
        "a new default token Secret",
        Duration::from_secs(90),
        || {
            let listed = default_token_secret(ctx)?;
            let new = listed
                .split_whitespace()
                .find(|n| *n != token_before.trim())
                .map(str::to_string);
            let Some(new) = new else {
                bail!("the default service account lists [{listed}] (was [{token_before}])");
            };
            ctx.kubectl(&["get", "secret", &new, "-n", "default"])?;
            Ok(new)
        },
    )?;
    println!("    check: default service account token Secret {token_before} -> {token_after}");

    let old_pod = SHARED
        .lock()
        .unwrap()
        .as_ref()
        .map(|s| s.probe_pod.clone())
        .unwrap_or_default();
    let new_pod = eventually(
        "the probe Deployment's pod recreated",
        Duration::from_secs(180),
        || {
            let pod = probe_pod(ctx)?;
            ensure!(pod != old_pod, "still {pod}");
            Ok(pod)
        },
    )?;
    println!("    check: the Deployment's pod was recreated: {old_pod} -> {new_pod}");

    let manifest = format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: {NEW_POD}, namespace: default}}\nspec:\n  \
         terminationGracePeriodSeconds: 1\n  containers:\n  - name: probe\n    image: {}\n    \
         command: [sleep, \"3600\"]\n",
        ctx.pod_image
    );
    eventually(
        "creating a pod after the CA rotation",
        Duration::from_secs(90),
        || ctx.kubectl_stdin(&["apply", "-f", "-"], &manifest),
    )?;
    ctx.kubectl(&[
        "wait",
        "--for=condition=Ready",
        &format!("pod/{NEW_POD}"),
        "--timeout=240s",
    ])?;
    let secret = ctx.kubectl(&[
        "get",
        "pod",
        NEW_POD,
        "-o",
        "jsonpath={.spec.volumes[*].secret.secretName}",
    ])?;
    ensure!(
        secret.contains(&token_after),
        "the new pod mounts [{secret}], not the new token Secret {token_after}"
    );
    println!("    check: pod {NEW_POD} runs with token Secret {token_after}");
    Ok(())
}
