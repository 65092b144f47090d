//! rke's built-in addons against the real API server: every manifest rke renders for the
//! environment's version is accepted (server-side apply with `dryRun=All`) for each network
//! plugin and the options that change the manifests' shape; CoreDNS is applied for real with
//! stand-in images and becomes available; a built-in addon that cannot roll out fails the run
//! naming the addon, the object and the reason.

use std::time::Duration;

use anyhow::{Context, ensure};
use serde_json::Value;

use rke::addons::apply::{Applier, apply_order, is_crd};
use rke::addons::manifest::ObjectRef;
use rke::addons::render::builtin_addons;

use super::cluster::{Ctx, eventually};

/// The addon settings of the generated cluster.yml (everything off), replaced per variant.
const ADDONS_OFF: &str = "network:\n  plugin: none\ndns:\n  provider: none\nmonitoring:\n  provider: none\ningress:\n  provider: none\n";

/// Each network plugin once; between them every option that changes a manifest's shape.
const VARIANTS: [(&str, &str); 3] = [
    (
        "canal, CoreDNS + autoscaler, NodeLocal DNS, metrics-server, ingress (defaults)",
        "network:\n  plugin: canal\ndns:\n  provider: coredns\n  nodelocal:\n    ip_address: 169.254.20.10\n\
         monitoring:\n  provider: metrics-server\ningress:\n  provider: nginx\n",
    ),
    (
        "flannel with options; CoreDNS, metrics-server and ingress with every shape option",
        "network:\n  plugin: flannel\n  options:\n    flannel_backend_type: host-gw\n  \
         flannel_network_provider:\n    iface: eth0\n  node_selector:\n    e2e: net\n  \
         update_strategy:\n    strategy: RollingUpdate\n    rollingUpdate:\n      maxUnavailable: 2\n  \
         tolerations:\n  - key: e2e\n    operator: Exists\n    effect: NoSchedule\n\
         dns:\n  provider: coredns\n  upstreamnameservers: [10.77.0.1]\n  stubdomains:\n    \
         corp.example: [10.77.0.1]\n  node_selector:\n    e2e: dns\n  update_strategy:\n    \
         strategy: Recreate\n  linear_autoscaler_params:\n    cores_per_replica: 64\n    \
         nodes_per_replica: 2\n    min: 2\n    max: 5\n    prevent_single_point_failure: true\n  \
         tolerations:\n  - key: e2e\n    operator: Equal\n    value: dns\n    effect: NoExecute\n    \
         tolerationseconds: 30\n\
         monitoring:\n  provider: metrics-server\n  replicas: 2\n  node_selector:\n    e2e: metrics\n  \
         metrics_server_priority_class_name: system-cluster-critical\n  tolerations:\n  - key: e2e\n    \
         operator: Exists\n\
         ingress:\n  provider: nginx\n  network_mode: hostPort\n  http_port: 8080\n  https_port: 8443\n  \
         default_backend: false\n  default_ingress_class: false\n  dns_policy: ClusterFirstWithHostNet\n  \
         options:\n    use-forwarded-headers: \"true\"\n  extra_args:\n    enable-ssl-passthrough: \"\"\n  \
         extra_envs:\n  - name: E2E\n    value: \"1\"\n  extra_volumes:\n  - name: e2e\n    emptyDir: {}\n  \
         extra_volume_mounts:\n  - name: e2e\n    mountPath: /e2e\n  node_selector:\n    e2e: ingress\n  \
         update_strategy:\n    strategy: RollingUpdate\n    rollingUpdate:\n      maxUnavailable: 2\n  \
         nginx_ingress_controller_priority_class_name: system-node-critical\n",
    ),
    (
        "calico (its CRDs applied, then its objects), ingress with hostNetwork and the default backend",
        "network:\n  plugin: calico\n  mtu: 1400\ndns:\n  provider: none\nmonitoring:\n  provider: none\n\
         ingress:\n  provider: nginx\n  network_mode: hostNetwork\n  default_backend: true\n  \
         default_http_backend_priority_class_name: system-cluster-critical\n",
    ),
];

fn config_with(ctx: &Ctx, addons: &str) -> anyhow::Result<rke::config::RkeConfig> {
    let yml = std::fs::read_to_string(ctx.config())?;
    ensure!(
        yml.contains(ADDONS_OFF),
        "the generated cluster.yml no longer has the addon block this test replaces"
    );
    let yml = yml.replace(ADDONS_OFF, addons);
    let loaded = rke::config::load::load_str(&yml, &ctx.config())
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("loading the variant")?;
    let errors: Vec<String> = loaded.errors().map(|e| format!("{e:?}")).collect();
    ensure!(
        errors.is_empty(),
        "the variant does not validate: {errors:?}"
    );
    Ok(loaded.config)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

async fn client(ctx: &Ctx) -> anyhow::Result<kube::Client> {
    let kubeconfig = kube::config::Kubeconfig::read_from(ctx.kubeconfig())?;
    let config = kube::Config::from_custom_kubeconfig(
        kubeconfig,
        &kube::config::KubeConfigOptions::default(),
    )
    .await?;
    Ok(kube::Client::try_from(config)?)
}

/// Every built-in manifest rke renders, for each variant, is accepted by the API server:
/// Namespaces and CRDs are applied for real (namespaced objects and custom resources need
/// them), everything else with `dryRun=All`; what was created for real is deleted after.
// It found that server-side apply on v1.20 refuses a list entry without its merge key: every
// template port now names its `protocol`.
pub fn builtin_manifests_accepted(ctx: &mut Ctx) -> anyhow::Result<()> {
    let rt = runtime();
    let mut created: Vec<ObjectRef> = Vec::new();
    let result = rt.block_on(async {
        let mut applier = Applier::new(client(ctx).await?);
        for (label, addons) in VARIANTS {
            let cfg = config_with(ctx, addons)?;
            let mut checked = 0;
            for addon in builtin_addons(&cfg)? {
                let (first, rest) = apply_order(&addon.objects);
                for object in &first {
                    let r = applier.apply(addon.name, object).await?;
                    if !created.iter().any(|c| c.same_object(&r)) {
                        created.push(r);
                    }
                }
                for object in first.iter().filter(|o| is_crd(o)) {
                    let name = object["metadata"]["name"].as_str().unwrap_or_default();
                    applier
                        .wait_crd_established(addon.name, name, Duration::from_secs(60))
                        .await?;
                }
                for object in &rest {
                    let stored: Value = applier.apply_dry_run(addon.name, object).await?;
                    ensure!(
                        stored["metadata"]["name"] == object["metadata"]["name"],
                        "addon {}: the server's answer is not the object: {stored}",
                        addon.name
                    );
                }
                checked += addon.objects.len();
            }
            println!("      ok: {label}: {checked} objects accepted");
        }
        anyhow::Ok(())
    });
    // Namespaces last, so their objects go with them.
    created.sort_by_key(|r| r.kind == "Namespace");
    rt.block_on(async {
        let mut applier = Applier::new(client(ctx).await?);
        for r in &created {
            if let Err(e) = applier.delete(r).await {
                eprintln!("cleaning up {r}: {e:#}");
            }
        }
        anyhow::Ok(())
    })?;
    result
}

fn set_coredns(ctx: &Ctx, image: &str, timeout: u32) -> anyhow::Result<()> {
    ctx.write_config(&[], &[])?;
    let yml = std::fs::read_to_string(ctx.config())?;
    let yml = yml.replace("dns:\n  provider: none\n", "dns:\n  provider: coredns\n");
    let yml = yml.replace(
        "system_images:\n",
        &format!("system_images:\n  coredns: {image}\n  coredns_autoscaler: {image}\n"),
    );
    ensure!(
        yml.contains("coredns_autoscaler"),
        "no system_images in cluster.yml"
    );
    std::fs::write(ctx.config(), format!("{yml}addon_job_timeout: {timeout}\n"))
        .context("writing cluster.yml")
}

/// CoreDNS and its autoscaler, rke's rendering with stand-in images that answer the probes:
/// `rke up` applies them and returns once both Deployments are available.
pub fn coredns_applied_and_available(ctx: &mut Ctx) -> anyhow::Result<()> {
    let image = ctx.env["images"]["addon_standin"]
        .as_str()
        .context("env.json has no images.addon_standin (re-run tests/env/up.sh)")?
        .to_string();
    set_coredns(ctx, &image, 120)?;
    ctx.up_ok()?;
    for deployment in ["coredns", "coredns-autoscaler"] {
        let out = ctx.kubectl(&[
            "-n",
            "kube-system",
            "get",
            "deployment",
            deployment,
            "-o",
            "jsonpath={.status.availableReplicas}/{.spec.replicas}",
        ])?;
        let (available, wanted) = out.split_once('/').unwrap_or(("", ""));
        ensure!(
            !wanted.is_empty() && available == wanted,
            "rke up returned with Deployment {deployment} at {out} available"
        );
        println!("      ok: Deployment kube-system/{deployment} available ({out})");
    }
    let service = ctx.kubectl(&[
        "-n",
        "kube-system",
        "get",
        "service",
        "kube-dns",
        "-o",
        "jsonpath={.spec.clusterIP}",
    ])?;
    ensure!(service == "10.43.0.10", "kube-dns Service at {service:?}");
    // What rke applied compares equal to the cluster (ServiceAccounts, RBAC, the Deployment
    // the autoscaler scales): a built-in addon left as it is adds nothing to the plan.
    ctx.dry_run(0)?;
    Ok(())
}

/// A built-in addon whose pods cannot start fails `rke up` (unlike a user addon), and the error
/// names the addon, the object and why; then CoreDNS is turned off again and its objects go.
pub fn broken_builtin_addon_fails_the_run(ctx: &mut Ctx) -> anyhow::Result<()> {
    let registry = ctx.env["registry"]["address"]
        .as_str()
        .context("env.json has no registry.address")?;
    let timeout = 25;
    set_coredns(
        ctx,
        &format!("{registry}/rke-e2e/does-not-exist:0"),
        timeout,
    )?;
    let run = ctx.rke_up(&[]);
    let output = run.describe_all();
    // 6: health-timeout (the rollout deadline), 8 if the API layer classifies it first.
    ensure!(
        run.code == Some(6) || run.code == Some(8),
        "rke up must fail: {}",
        run.describe()
    );
    for want in [
        "rke-coredns-addon",
        "Deployment kube-system/coredns",
        &format!("not rolled out after {timeout}s"),
    ] {
        ensure!(
            output.contains(want),
            "want {want:?} in the output: {}",
            run.describe()
        );
    }
    ensure!(
        output.contains("ImagePull") || output.contains("ErrImage"),
        "the report should say why the pods do not run: {}",
        run.describe()
    );
    println!(
        "      exit {:?}; the error names the addon, the object and the reason",
        run.code
    );
    ctx.write_config(&[], &[])?;
    ctx.up_ok()?;
    eventually(
        "CoreDNS's objects to be deleted",
        Duration::from_secs(90),
        || {
            let left = ctx.kubectl(&[
                "-n",
                "kube-system",
                "get",
                "deployment,service",
                "-l",
                "k8s-app=kube-dns",
                "-o",
                "name",
            ])?;
            ensure!(left.trim().is_empty(), "still there: {left}");
            Ok(())
        },
    )
}
