//! The cluster rke built works as Kubernetes: pod network across nodes, Services (ClusterIP
//! from pods and from nodes, hairpin, NodePort on every node's address), hostPort, a pod's
//! logs, exec, port-forward and attach on the worker-only node, custom resources, and
//! kube-proxy in `ipvs` mode set through `extra_args` as RKE1 users do.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail, ensure};

use super::cluster::{Ctx, eventually};
use super::nodes;

/// The namespace tests/env/network-check.sh creates (and leaves with `--keep`).
const NS: &str = "rke-netcheck";
/// Requests per Service check: with 3 backends the chance that a working Service misses one
/// by bad luck is 3 * (2/3)^30, about 2e-5.
const TRIES: usize = 30;

/// Run tests/env/network-check.sh against the cluster: a web pod on every node, pod-to-pod
/// across every pair, a ClusterIP Service answered by every backend from every pod (hairpin).
fn network_check(ctx: &Ctx, keep: bool) -> anyhow::Result<()> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/env/network-check.sh");
    let mut cmd = Command::new("bash");
    cmd.arg(script)
        .arg("--env")
        .arg(super::e2e::env_path())
        .arg("--kubeconfig")
        .arg(ctx.kubeconfig());
    if keep {
        cmd.arg("--keep");
    }
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .context("running network-check.sh")?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for line in text.lines() {
        println!("      {line}");
    }
    ensure!(out.status.success(), "network-check.sh failed");
    Ok(())
}

/// Node names of the cluster, from the API.
fn node_names(ctx: &Ctx) -> anyhow::Result<Vec<String>> {
    Ok(ctx.nodes()?.into_iter().map(|(name, _)| name).collect())
}

/// The environment's node index of a node named `nodeI`.
fn index(name: &str) -> anyhow::Result<usize> {
    name.strip_prefix("node")
        .and_then(|i| i.parse().ok())
        .with_context(|| format!("node name {name} is not nodeI"))
}

/// `GET http://address/` from the test host (on the test network), the body.
fn http_get(address: &str) -> anyhow::Result<String> {
    let mut stream = TcpStream::connect_timeout(
        &address
            .parse()
            .with_context(|| format!("address {address}"))?,
        Duration::from_secs(5),
    )
    .with_context(|| format!("connecting to {address}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "GET / HTTP/1.0\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .with_context(|| format!("reading from {address}"))?;
    let (head, body) = response
        .split_once("\r\n\r\n")
        .with_context(|| format!("{address}: not an HTTP response: {response:?}"))?;
    ensure!(
        head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"),
        "{address}: {head}"
    );
    Ok(body.trim().to_string())
}

/// Every backend answers `TRIES` requests to `target` made by `fetch`, none fails.
fn all_backends_answer(
    what: &str,
    want: &BTreeSet<String>,
    mut fetch: impl FnMut() -> anyhow::Result<String>,
) -> anyhow::Result<()> {
    let mut seen = BTreeSet::new();
    for i in 0..TRIES {
        let body = fetch().with_context(|| format!("{what}: request {} of {TRIES}", i + 1))?;
        seen.insert(body);
    }
    ensure!(
        &seen == want,
        "{what}: answered by {seen:?}, want every backend {want:?}"
    );
    println!("      ok: {what}: {TRIES} requests, every backend answered");
    Ok(())
}

/// Pod-to-pod across every pair of nodes; a ClusterIP Service with a backend on every node,
/// reached from every pod (hairpin included) and from every node's host network; the same
/// Service as a NodePort on every node's address; a hostPort on the worker-only node.
pub fn pod_network_and_services(ctx: &mut Ctx) -> anyhow::Result<()> {
    let names = node_names(ctx)?;
    println!("    check: tests/env/network-check.sh on {names:?}");
    network_check(ctx, true)?;
    let result = services_from_nodes(ctx, &names);
    ctx.kubectl(&["delete", "namespace", NS, "--wait=false"])?;
    result
}

fn services_from_nodes(ctx: &Ctx, names: &[String]) -> anyhow::Result<()> {
    let want: BTreeSet<String> = names.iter().cloned().collect();
    let cluster_ip = ctx.kubectl(&[
        "-n",
        NS,
        "get",
        "service",
        "web",
        "-o",
        "jsonpath={.spec.clusterIP}",
    ])?;
    println!("    check: ClusterIP {cluster_ip} from every node's host network");
    for name in names {
        let i = index(name)?;
        let script = format!(
            "for i in $(seq {TRIES}); do curl -sf -m 3 http://{cluster_ip}/ || echo FAILED; done"
        );
        let out = nodes::sh(&ctx.env, i, &script)?;
        ensure!(!out.contains("FAILED"), "from {name}'s host: {out}");
        let seen: BTreeSet<String> = out.lines().map(str::to_string).collect();
        ensure!(
            seen == want,
            "from {name}'s host: answered by {seen:?}, want {want:?}"
        );
        println!("      ok: from {name}: {TRIES} requests, every backend answered");
    }

    let np = format!(
        "apiVersion: v1\nkind: Service\nmetadata: {{name: web-np, namespace: {NS}}}\nspec:\n  \
         type: NodePort\n  selector: {{app: web}}\n  ports: [{{port: 80, targetPort: 8080}}]\n"
    );
    ctx.kubectl_stdin(&["apply", "-f", "-"], &np)?;
    let port = ctx.kubectl(&[
        "-n",
        NS,
        "get",
        "service",
        "web-np",
        "-o",
        "jsonpath={.spec.ports[0].nodePort}",
    ])?;
    println!("    check: NodePort {port} on every node's address, from the test host");
    for name in names {
        let address = ctx.env["nodes"][index(name)? - 1]["address"]
            .as_str()
            .context("env.json node address")?
            .to_string();
        let target = format!("{address}:{port}");
        // kube-proxy programs a new Service within a second or two.
        eventually("the NodePort to answer", Duration::from_secs(30), || {
            http_get(&target).map(drop)
        })?;
        all_backends_answer(&format!("NodePort {target}"), &want, || http_get(&target))?;
    }

    let worker_only = names
        .iter()
        .find(|n| {
            !nodes::running(&ctx.env, index(n).unwrap_or(0), "kube-apiserver").unwrap_or(true)
        })
        .context("no worker-only node in the cluster")?
        .clone();
    let hp = format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: hostport, namespace: {NS}}}\nspec:\n  \
         nodeName: {worker_only}\n  terminationGracePeriodSeconds: 1\n  containers:\n  - name: web\n    \
         image: {}\n    command: [sh, -c, 'mkdir -p /www && echo hostport-ok > /www/index.html && \
         exec httpd -f -p 8080 -h /www']\n    ports: [{{containerPort: 8080, hostPort: 18080}}]\n    \
         readinessProbe: {{httpGet: {{path: /, port: 8080}}, periodSeconds: 1}}\n",
        ctx.pod_image
    );
    ctx.kubectl_stdin(&["apply", "-f", "-"], &hp)?;
    ctx.kubectl(&[
        "-n",
        NS,
        "wait",
        "--for=condition=Ready",
        "pod/hostport",
        "--timeout=120s",
    ])?;
    let address = ctx.env["nodes"][index(&worker_only)? - 1]["address"]
        .as_str()
        .context("env.json node address")?
        .to_string();
    let body = http_get(&format!("{address}:18080"))?;
    ensure!(
        body == "hostport-ok",
        "hostPort 18080 on {worker_only}: {body:?}"
    );
    println!("      ok: hostPort 18080 on {worker_only} ({address}) answered");
    Ok(())
}

/// A pod on the worker-only node (its kubelet reaches the API through nginx-proxy): `kubectl
/// logs`, `exec`, `port-forward` and `attach`, each through the API server to that kubelet.
pub fn logs_exec_port_forward_attach(ctx: &mut Ctx) -> anyhow::Result<()> {
    const POD: &str = "streams";
    let manifest = format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: {POD}, namespace: default}}\nspec:\n  \
         nodeSelector: {{kubernetes.io/hostname: node3}}\n  terminationGracePeriodSeconds: 1\n  \
         containers:\n  - name: main\n    image: {}\n    command: [sh, -c, 'mkdir -p /www && \
         echo pf-ok > /www/index.html && httpd -p 8080 -h /www && i=0; while true; do \
         i=$((i+1)); echo tick-$i; sleep 0.5; done']\n",
        ctx.pod_image
    );
    ctx.kubectl_stdin(&["apply", "-f", "-"], &manifest)?;
    ctx.kubectl(&[
        "wait",
        "--for=condition=Ready",
        &format!("pod/{POD}"),
        "--timeout=120s",
    ])?;

    println!("    check: kubectl logs");
    let logs = eventually("log lines", Duration::from_secs(20), || {
        let out = ctx.kubectl(&["logs", POD, "--tail=5"])?;
        if out.contains("tick-") {
            Ok(out)
        } else {
            bail!("no tick yet: {out:?}")
        }
    })?;
    println!("      {}", logs.lines().last().unwrap_or_default());

    println!("    check: kubectl exec");
    let out = ctx.kubectl(&["exec", POD, "--", "cat", "/www/index.html"])?;
    ensure!(out.trim() == "pf-ok", "exec printed {out:?}");

    println!("    check: kubectl port-forward");
    let mut pf = Command::new(&ctx.kubectl)
        .arg("--kubeconfig")
        .arg(ctx.kubeconfig())
        .args(["port-forward", &format!("pod/{POD}"), "18081:8080"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let forwarded = eventually("the forwarded port", Duration::from_secs(20), || {
        http_get("127.0.0.1:18081")
    });
    let _ = pf.kill();
    let _ = pf.wait();
    ensure!(
        forwarded? == "pf-ok",
        "port-forward answered something else"
    );

    println!("    check: kubectl attach");
    let attach = Command::new("timeout")
        .args(["5"])
        .arg(&ctx.kubectl)
        .arg("--kubeconfig")
        .arg(ctx.kubeconfig())
        .args(["attach", POD])
        .stdin(Stdio::null())
        .output()?;
    let attached = String::from_utf8_lossy(&attach.stdout);
    ensure!(
        attached.contains("tick-"),
        "kubectl attach showed no output: {attached:?} {}",
        String::from_utf8_lossy(&attach.stderr)
    );
    ctx.kubectl(&["delete", "pod", POD, "--wait=false"])?;
    Ok(())
}

/// Restart counts of kube-apiserver on the control-plane nodes (node1, node2).
fn apiserver_restarts(ctx: &Ctx) -> anyhow::Result<Vec<(usize, String)>> {
    (1..=2)
        .map(|i| {
            let out = nodes::sh(
                &ctx.env,
                i,
                "docker inspect -f '{{.RestartCount}} {{.State.StartedAt}}' kube-apiserver",
            )?;
            Ok((i, out.trim().to_string()))
        })
        .collect()
}

/// A CRD, custom resources with nested maps written, updated, read and listed; the API
/// servers do not restart (a kube-apiserver built against reflect2 1.0.1 with Go >= 1.18
/// crashed on exactly this).
pub fn custom_resources(ctx: &mut Ctx) -> anyhow::Result<()> {
    let before = apiserver_restarts(ctx)?;
    let crd = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  \
               name: widgets.e2e.rke.io\nspec:\n  group: e2e.rke.io\n  scope: Namespaced\n  names:\n    \
               plural: widgets\n    singular: widget\n    kind: Widget\n  versions:\n  - name: v1\n    \
               served: true\n    storage: true\n    schema:\n      openAPIV3Schema:\n        type: object\n        \
               x-kubernetes-preserve-unknown-fields: true\n";
    ctx.kubectl_stdin(&["apply", "-f", "-"], crd)?;
    ctx.kubectl(&[
        "wait",
        "--for=condition=Established",
        "crd/widgets.e2e.rke.io",
        "--timeout=60s",
    ])?;
    for round in 1..=3 {
        for n in 1..=5 {
            let cr = format!(
                "apiVersion: e2e.rke.io/v1\nkind: Widget\nmetadata: {{name: w{n}, namespace: default, \
                 labels: {{round: \"{round}\"}}}}\nspec:\n  size: {n}\n  round: {round}\n  \
                 tags: {{color: blue, shape: round-{round}}}\n  nested: {{a: {{b: {{c: [1, 2, {{d: e}}]}}}}}}\n"
            );
            eventually(
                "applying a custom resource",
                Duration::from_secs(30),
                || ctx.kubectl_stdin(&["apply", "-f", "-"], &cr),
            )?;
        }
    }
    let got = ctx.kubectl(&["get", "widget", "w3", "-o", "jsonpath={.spec.tags.shape}"])?;
    ensure!(got == "round-3", "widget w3 reads back {got:?}");
    let list = ctx.kubectl(&["get", "widgets", "-o", "name"])?;
    ensure!(list.lines().count() == 5, "widgets listed: {list}");
    ctx.kubectl(&["delete", "crd", "widgets.e2e.rke.io", "--timeout=60s"])?;
    let after = apiserver_restarts(ctx)?;
    ensure!(
        before == after && after.iter().all(|(_, r)| r.starts_with("0 ")),
        "kube-apiserver restarted: before {before:?}, after {after:?}"
    );
    println!("      ok: 15 custom-resource writes, restart counts {after:?}");
    Ok(())
}

/// kube-proxy's mode set as RKE1 users set it (`services.kubeproxy.extra_args.proxy-mode:
/// ipvs`): rke passes the flag and kube-proxy runs with it. The kernel here has no IPVS
/// (CONFIG_IP_VS unset), so kube-proxy falls back to iptables and says so; Services keep working.
pub fn kube_proxy_ipvs_mode(ctx: &mut Ctx) -> anyhow::Result<()> {
    let yml = std::fs::read_to_string(ctx.config())?;
    let yml = yml.replace(
        "      conntrack-max-per-core: \"0\"\n",
        "      conntrack-max-per-core: \"0\"\n      proxy-mode: ipvs\n",
    );
    ensure!(
        yml.contains("proxy-mode: ipvs"),
        "cluster.yml has no kubeproxy extra_args"
    );
    std::fs::write(ctx.config(), yml)?;
    ctx.up_ok()?;
    let names = node_names(ctx)?;
    for name in &names {
        let i = index(name)?;
        let args = nodes::sh(&ctx.env, i, "docker inspect -f '{{json .Args}}' kube-proxy")?;
        ensure!(
            args.contains("--proxy-mode=ipvs"),
            "{name}: kube-proxy args {args}"
        );
        let logs = nodes::sh(
            &ctx.env,
            i,
            "docker logs kube-proxy 2>&1 | grep -i ipvs | tail -n 3",
        )?;
        println!(
            "      {name}: kube-proxy --proxy-mode=ipvs; {}",
            logs.trim().replace('\n', " | ")
        );
    }
    println!("    check: Services still work everywhere");
    network_check(ctx, false)
}

/// Nodes that joined get routes to the others' pod subnets and the others to theirs; nodes
/// that left leave no route behind.
pub fn routes_follow_nodes(ctx: &mut Ctx) -> anyhow::Result<()> {
    let names = node_names(ctx)?;
    println!("    check: network-check.sh on the current nodes {names:?}");
    network_check(ctx, false)?;
    let subnets: BTreeSet<String> = ctx
        .kubectl(&[
            "get",
            "nodes",
            "-o",
            "jsonpath={range .items[*]}{.spec.podCIDR}{\"\\n\"}{end}",
        ])?
        .lines()
        .map(str::to_string)
        .collect();
    for name in &names {
        let routes = nodes::sh(
            &ctx.env,
            index(name)?,
            "ip route show proto 77 | cut -d' ' -f1",
        )?;
        let routed: BTreeSet<String> = routes.lines().map(str::to_string).collect();
        ensure!(
            routed.is_subset(&subnets) && routed.len() == subnets.len() - 1,
            "{name} routes {routed:?}; the cluster's pod subnets are {subnets:?}"
        );
    }
    println!("      ok: every node routes exactly the other nodes' pod subnets");
    Ok(())
}
