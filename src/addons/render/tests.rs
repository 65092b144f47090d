//! Golden-file tests of the built-in addon manifests.
//!
//! Each case renders the built-in addons of a config and compares every addon's YAML with
//! `tests/golden/addons/<case>.<addon>.yaml`. After an intended template change, regenerate
//! them with `UPDATE_GOLDEN=1 cargo test --lib addons::render` and review the diff.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::*;
use crate::config::{apply_defaults, parse_str, versions};

const VERSION: &str = "v1.32.5-rancher1-1";

fn effective(extra: &str) -> RkeConfig {
    let text = format!(
        "kubernetes_version: {VERSION}\nnodes:\n- address: 10.0.0.1\n  user: rke\n  role: [controlplane, etcd, worker]\n{extra}"
    );
    let mut cfg = parse_str(&text, Path::new("cluster.yml")).unwrap();
    let images = versions::table().get(VERSION).unwrap().images.clone();
    apply_defaults(&mut cfg, Some(&images));
    cfg
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/addons")
}

/// The YAML of every non-empty built-in addon of `cfg`, as (addon, text).
fn rendered(cfg: &RkeConfig) -> Vec<(&'static str, String)> {
    let addons = builtin_addons(cfg).unwrap();
    addons
        .into_iter()
        .filter(|a| !a.objects.is_empty())
        .map(|a| {
            let text: String = a
                .objects
                .iter()
                .map(|o| format!("---\n{}", serde_saphyr::to_string(o).unwrap()))
                .collect();
            (a.name, text)
        })
        .collect()
}

fn check_golden(case: &str, cfg: &RkeConfig) {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut mismatches = Vec::new();
    for (addon, text) in rendered(cfg) {
        let path = golden_dir().join(format!("{case}.{addon}.yaml"));
        if update {
            std::fs::create_dir_all(golden_dir()).unwrap();
            std::fs::write(&path, &text).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_GOLDEN=1 writes it)", path.display()));
        if want != text {
            mismatches.push(path.display().to_string());
        }
    }
    assert!(
        mismatches.is_empty(),
        "rendered YAML differs from {mismatches:?}; UPDATE_GOLDEN=1 regenerates them"
    );
}

fn objects(cfg: &RkeConfig, addon: &str) -> Vec<Value> {
    builtin_addons(cfg)
        .unwrap()
        .into_iter()
        .find(|a| a.name == addon)
        .unwrap()
        .objects
}

fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

#[test]
fn defaults_match_golden_files() {
    check_golden("defaults-canal", &effective(""));
    check_golden(
        "defaults-flannel",
        &effective("network: {plugin: flannel}\n"),
    );
    check_golden("defaults-calico", &effective("network: {plugin: calico}\n"));
}

const OPTIONS: &str = "
network:
  plugin: flannel
  options: {flannel_backend_type: host-gw, flannel_backend_port: '8999', flannel_backend_vni: '7'}
  flannel_network_provider: {iface: eth1}
  node_selector: {net: 'yes'}
  tolerations: [{key: dedicated, operator: Equal, value: net, effect: NoSchedule}]
  update_strategy: {strategy: RollingUpdate, rollingUpdate: {maxUnavailable: 3}}
services:
  kube-controller: {cluster_cidr: 10.99.0.0/16, service_cluster_ip_range: 10.98.0.0/16}
  kubelet: {cluster_dns_server: 10.98.0.10, cluster_domain: example.internal}
dns:
  provider: coredns
  upstreamnameservers: [1.1.1.1, 8.8.4.4]
  stubdomains: {corp.example: [10.1.1.1]}
  node_selector: {dns: 'yes'}
  nodelocal: {ip_address: 169.254.20.10}
  linear_autoscaler_params: {cores_per_replica: 64, nodes_per_replica: 2, min: 2, max: 6, prevent_single_point_failure: true}
monitoring:
  provider: metrics-server
  replicas: 2
  options: {kubelet-insecure-tls: 'false'}
  update_strategy: {strategy: Recreate}
ingress:
  provider: nginx
  network_mode: hostNetwork
  http_port: 8080
  https_port: 8443
  extra_args: {enable-ssl-passthrough: ''}
  extra_envs: [{name: TZ, value: UTC}]
  options: {use-forwarded-headers: 'true'}
  default_backend: true
";

#[test]
fn options_match_golden_files_and_are_honoured() {
    let cfg = effective(OPTIONS);
    check_golden("options", &cfg);

    let net = objects(&cfg, NETWORK_ADDON);
    let cm = find(&net, "ConfigMap", "kube-flannel-cfg");
    let conf: Value = serde_json::from_str(cm["data"]["net-conf.json"].as_str().unwrap()).unwrap();
    assert_eq!(conf["Network"], "10.99.0.0/16");
    assert_eq!(conf["Backend"]["Type"], "host-gw");
    assert_eq!(conf["Backend"]["Port"], 8999);
    assert_eq!(conf["Backend"]["VNI"], 7);
    let ds = find(&net, "DaemonSet", "kube-flannel");
    let pod = &ds["spec"]["template"]["spec"];
    assert!(
        pod["containers"][1]["args"]
            .as_array()
            .unwrap()
            .contains(&"--iface=eth1".into())
    );
    assert_eq!(pod["nodeSelector"]["net"], "yes");
    assert!(
        pod["tolerations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["key"] == "dedicated")
    );
    assert_eq!(
        ds["spec"]["updateStrategy"]["rollingUpdate"]["maxUnavailable"],
        3
    );

    let dns = objects(&cfg, COREDNS_ADDON);
    let corefile = find(&dns, "ConfigMap", "coredns")["data"]["Corefile"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        corefile.contains("kubernetes example.internal in-addr.arpa ip6.arpa"),
        "{corefile}"
    );
    assert!(corefile.contains("forward . 1.1.1.1 8.8.4.4"), "{corefile}");
    assert!(corefile.contains("corp.example:53 {"), "{corefile}");
    assert_eq!(
        find(&dns, "Service", "kube-dns")["spec"]["clusterIP"],
        "10.98.0.10"
    );
    let autoscaler = find(&dns, "Deployment", "coredns-autoscaler");
    let command = autoscaler["spec"]["template"]["spec"]["containers"][0]["command"].to_string();
    assert!(command.contains(r#"\"max\":6"#), "{command}");

    let nodelocal = objects(&cfg, NODELOCAL_ADDON);
    let args =
        find(&nodelocal, "DaemonSet", "node-local-dns")["spec"]["template"]["spec"]["containers"]
            [0]["args"]
            .to_string();
    assert!(args.contains("169.254.20.10,10.98.0.10"), "{args}");

    let metrics = objects(&cfg, METRICS_ADDON);
    let d = find(&metrics, "Deployment", "metrics-server");
    assert_eq!(d["spec"]["replicas"], 2);
    assert_eq!(d["spec"]["strategy"]["type"], "Recreate");
    assert!(d.to_string().contains("--kubelet-insecure-tls=false"));

    let ingress = objects(&cfg, INGRESS_ADDON);
    let ds = find(&ingress, "DaemonSet", "nginx-ingress-controller");
    let pod = &ds["spec"]["template"]["spec"];
    assert_eq!(pod["hostNetwork"], true);
    let args = pod["containers"][0]["args"].to_string();
    for want in [
        "--http-port=8080",
        "--https-port=8443",
        "--enable-ssl-passthrough=",
        "--watch-ingress-without-class=true",
        "--default-backend-service=$(POD_NAMESPACE)/default-http-backend",
    ] {
        assert!(args.contains(want), "{want} not in {args}");
    }
    assert!(pod["containers"][0]["env"].to_string().contains("TZ"));
    find(&ingress, "Deployment", "default-http-backend");
    assert_eq!(
        find(&ingress, "ConfigMap", "ingress-nginx-controller")["data"]["use-forwarded-headers"],
        "true"
    );
}

#[test]
fn canal_and_calico_take_mtu_iface_and_cidr() {
    let cfg =
        effective("network: {plugin: canal, mtu: 1400, canal_network_provider: {iface: ens5}}\n");
    let net = objects(&cfg, NETWORK_ADDON);
    let cm = find(&net, "ConfigMap", "canal-config");
    assert_eq!(cm["data"]["veth_mtu"], "1400");
    assert_eq!(cm["data"]["canal_iface"], "ens5");
    assert!(
        cm["data"]["net-conf.json"]
            .as_str()
            .unwrap()
            .contains("10.42.0.0/16")
    );
    assert!(net.iter().any(|o| o["kind"] == "CustomResourceDefinition"));

    let cfg = effective("network: {plugin: calico}\n");
    let net = objects(&cfg, NETWORK_ADDON);
    let env =
        find(&net, "DaemonSet", "calico-node")["spec"]["template"]["spec"]["containers"][0]["env"]
            .to_string();
    assert!(env.contains("10.42.0.0/16"), "{env}");
    assert_eq!(
        find(&net, "ConfigMap", "calico-config")["data"]["veth_mtu"],
        "1440"
    );
}

#[test]
fn every_rendered_document_is_an_api_object() {
    for cfg in [
        effective(""),
        effective("network: {plugin: flannel}\nauthorization: {mode: none}\n"),
        effective("network: {plugin: calico}\n"),
        effective(OPTIONS),
    ] {
        for addon in builtin_addons(&cfg).unwrap() {
            for o in &addon.objects {
                for field in [&o["apiVersion"], &o["kind"], &o["metadata"]["name"]] {
                    assert!(
                        field.as_str().is_some_and(|s| !s.is_empty()),
                        "{}: {o}",
                        addon.name
                    );
                }
            }
        }
    }
}

#[test]
fn rbac_objects_follow_the_authorization_mode() {
    let with = objects(&effective(""), NETWORK_ADDON);
    let without = objects(&effective("authorization: {mode: none}\n"), NETWORK_ADDON);
    assert!(with.iter().any(|o| o["kind"] == "ClusterRole"));
    assert!(!without.iter().any(|o| o["kind"] == "ClusterRole"));
}

#[test]
fn none_providers_render_nothing_and_others_are_refused() {
    let cfg = effective(
        "network: {plugin: none}\ndns: {provider: none}\nmonitoring: {provider: none}\ningress: {provider: none}\n",
    );
    let addons = builtin_addons(&cfg).unwrap();
    let names: Vec<&str> = addons.iter().map(|a| a.name).collect();
    assert_eq!(
        names,
        [
            NETWORK_ADDON,
            COREDNS_ADDON,
            NODELOCAL_ADDON,
            METRICS_ADDON,
            INGRESS_ADDON
        ]
    );
    assert!(addons.iter().all(|a| a.objects.is_empty() && a.critical));

    let err = network_addon(&effective("network: {plugin: weave}\n")).unwrap_err();
    assert!(
        format!("{err}").starts_with("network.plugin: \"weave\""),
        "{err}"
    );
}

#[test]
fn images_come_from_the_effective_system_images() {
    let cfg = effective("system_images: {coredns: registry.example/coredns:9}\n");
    let dns = objects(&cfg, COREDNS_ADDON);
    let image =
        &find(&dns, "Deployment", "coredns")["spec"]["template"]["spec"]["containers"][0]["image"];
    assert_eq!(image, "registry.example/coredns:9");
    let table = versions::table().get(VERSION).unwrap();
    let autoscaler = &find(&dns, "Deployment", "coredns-autoscaler")["spec"]["template"]["spec"]["containers"]
        [0]["image"];
    assert_eq!(autoscaler, table.images["coredns_autoscaler"].as_str());
}
