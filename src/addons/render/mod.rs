//! Built-in addons rendered from `templates/` (embedded at build time) with minijinja:
//! the network plugin, CoreDNS with its autoscaler, NodeLocal DNS, metrics-server and
//! ingress-nginx. The manifests follow RKE1's KDM templates for Kubernetes 1.20 and later.

pub mod context;

use minijinja::Environment;
use serde_json::{Map, Value, json};

use self::context::{common, daemonset_strategy, deployment_strategy, option, tolerations};
use super::Addon;
use super::manifest::parse_documents;
use super::names::{COREDNS_ADDON, INGRESS_ADDON, METRICS_ADDON, NETWORK_ADDON, NODELOCAL_ADDON};
use crate::config::types::RkeConfig;
use crate::error::{ErrorKind, classified};

const TEMPLATES: [(&str, &str); 8] = [
    ("canal", include_str!("../../../templates/canal.yaml.j2")),
    (
        "flannel",
        include_str!("../../../templates/flannel.yaml.j2"),
    ),
    ("calico", include_str!("../../../templates/calico.yaml.j2")),
    (
        "calico-crds",
        include_str!("../../../templates/calico-crds.yaml.j2"),
    ),
    (
        "coredns",
        include_str!("../../../templates/coredns.yaml.j2"),
    ),
    (
        "nodelocal",
        include_str!("../../../templates/nodelocal.yaml.j2"),
    ),
    (
        "metrics-server",
        include_str!("../../../templates/metrics-server.yaml.j2"),
    ),
    (
        "nginx-ingress",
        include_str!("../../../templates/nginx-ingress.yaml.j2"),
    ),
];

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    // JSON is YAML: values inserted as flow collections need no indentation handling.
    env.add_filter(
        "json",
        |v: minijinja::Value| -> Result<String, minijinja::Error> {
            serde_json::to_string(&v).map_err(|e| {
                minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, e.to_string())
            })
        },
    );
    for (name, text) in TEMPLATES {
        env.add_template(name, text)
            .unwrap_or_else(|e| panic!("built-in template {name} does not compile: {e}"));
    }
    env
}

/// The YAML text of built-in template `name` for `ctx`.
pub fn render_text(name: &str, ctx: &Map<String, Value>) -> anyhow::Result<String> {
    let env = environment();
    let template = env.get_template(name)?;
    template.render(ctx).map_err(|e| {
        classified(
            ErrorKind::Config,
            format!("rendering built-in addon template {name}: {e:#}"),
        )
    })
}

fn render(addon: &'static str, template: &str, ctx: &Map<String, Value>) -> anyhow::Result<Addon> {
    let text = render_text(template, ctx)?;
    let objects = parse_documents(addon, &format!("template {template}"), &text)?;
    Ok(Addon::builtin(addon, objects))
}

fn unsupported(what: &str, value: &str) -> anyhow::Error {
    classified(
        ErrorKind::Config,
        format!(
            "{what}: {value:?} is not deployed by rke; set it to none and deploy it as a user addon"
        ),
    )
}

/// The five built-in addons, in RKE1's order; one set to `none` has no objects (so what it
/// created before is deleted).
pub fn builtin_addons(cfg: &RkeConfig) -> anyhow::Result<Vec<Addon>> {
    let (dns, nodelocal) = dns_addons(cfg)?;
    Ok(vec![
        network_addon(cfg)?,
        dns,
        nodelocal,
        metrics_addon(cfg)?,
        ingress_addon(cfg)?,
    ])
}

/// The network plugin: canal, flannel, calico, or none.
pub fn network_addon(cfg: &RkeConfig) -> anyhow::Result<Addon> {
    let net = &cfg.network;
    let plugin = net.plugin.as_str();
    if matches!(plugin, "none" | "") {
        return Ok(Addon::builtin(NETWORK_ADDON, Vec::new()));
    }
    if !matches!(plugin, "canal" | "flannel" | "calico") {
        return Err(unsupported("network.plugin", plugin));
    }
    let o = &net.options;
    let mut ctx = common(cfg);
    let (backend, iface_key) = if plugin == "canal" {
        ("canal_flannel_backend", "canal_iface")
    } else {
        ("flannel_backend", "flannel_iface")
    };
    ctx.insert(
        "flannel_backend".into(),
        json!({
            "type": option(o, &format!("{backend}_type"), "vxlan"),
            "port": option(o, &format!("{backend}_port"), "8472").parse::<u32>().unwrap_or(8472),
            "vni": option(o, &format!("{backend}_vni"), "1").parse::<u32>().unwrap_or(1),
        }),
    );
    ctx.insert("iface".into(), json!(option(o, iface_key, "")));
    let default_mtu = if plugin == "calico" { 1440 } else { 1450 };
    ctx.insert(
        "mtu".into(),
        json!(if net.mtu > 0 { net.mtu } else { default_mtu }),
    );
    ctx.insert(
        "flex_volume_dir".into(),
        json!(option(
            o,
            &format!("{plugin}_flex_volume_plugin_dir"),
            "/usr/libexec/kubernetes/kubelet-plugins/volume/exec/nodeagent~uds"
        )),
    );
    ctx.insert(
        "calico_cloud_provider".into(),
        json!(option(o, "calico_cloud_provider", "none")),
    );
    ctx.insert("node_selector".into(), json!(net.node_selector));
    ctx.insert("tolerations".into(), tolerations(&net.tolerations));
    ctx.insert(
        "update_strategy".into(),
        daemonset_strategy(&net.update_strategy),
    );
    let priority = |key: &str, default: &str| json!(option(o, key, default));
    ctx.insert(
        "node_priority_class".into(),
        match plugin {
            "flannel" => priority("kube_flannel_priority_class_name", "system-node-critical"),
            "canal" => priority("canal_priority_class_name", "system-node-critical"),
            _ => priority("calico_node_priority_class_name", "system-node-critical"),
        },
    );
    ctx.insert(
        "controllers_priority_class".into(),
        priority(
            "calico_kube_controllers_priority_class_name",
            "system-cluster-critical",
        ),
    );
    render(NETWORK_ADDON, plugin, &ctx)
}

/// CoreDNS (with its autoscaler) and NodeLocal DNS when `dns.nodelocal.ip_address` is set.
pub fn dns_addons(cfg: &RkeConfig) -> anyhow::Result<(Addon, Addon)> {
    let empty = || {
        (
            Addon::builtin(COREDNS_ADDON, Vec::new()),
            Addon::builtin(NODELOCAL_ADDON, Vec::new()),
        )
    };
    let Some(dns) = &cfg.dns else {
        return Ok(empty());
    };
    match dns.provider.as_str() {
        "none" | "" => return Ok(empty()),
        "coredns" => {}
        other => return Err(unsupported("dns.provider", other)),
    }
    let o = &dns.options;
    let mut ctx = common(cfg);
    ctx.insert(
        "upstream_nameservers".into(),
        json!(dns.upstream_nameservers),
    );
    ctx.insert("reverse_cidrs".into(), json!(dns.reverse_cidrs.join(" ")));
    ctx.insert("stub_domains".into(), json!(dns.stub_domains));
    let mut selector = dns.node_selector.clone();
    selector.insert("kubernetes.io/os".into(), "linux".into());
    ctx.insert("linux_node_selector".into(), json!(selector));
    ctx.insert("tolerations".into(), tolerations(&dns.tolerations));
    ctx.insert(
        "update_strategy".into(),
        deployment_strategy(&dns.update_strategy),
    );
    let linear = dns.linear_autoscaler_params.clone().unwrap_or_default();
    let mut params = json!({
        "coresPerReplica": linear.cores_per_replica,
        "nodesPerReplica": linear.nodes_per_replica,
        "min": linear.min,
        "preventSinglePointFailure": linear.prevent_single_point_failure,
    });
    if linear.max > 0 {
        params["max"] = json!(linear.max);
    }
    ctx.insert("linear_params".into(), params);
    ctx.insert(
        "coredns_priority_class".into(),
        json!(option(
            o,
            "coredns_priority_class_name",
            "system-cluster-critical"
        )),
    );
    ctx.insert(
        "autoscaler_priority_class".into(),
        json!(option(o, "coredns_autoscaler_priority_class_name", "")),
    );
    let coredns = render(COREDNS_ADDON, "coredns", &ctx)?;

    let nodelocal = match dns.nodelocal.as_ref().filter(|n| !n.ip_address.is_empty()) {
        None => Addon::builtin(NODELOCAL_ADDON, Vec::new()),
        Some(n) => {
            let mut ctx = common(cfg);
            ctx.insert("ip_address".into(), json!(n.ip_address));
            ctx.insert("node_selector".into(), json!(n.node_selector));
            ctx.insert(
                "update_strategy".into(),
                daemonset_strategy(&n.update_strategy),
            );
            let class = if n.node_local_dns_priority_class_name.is_empty() {
                "system-node-critical"
            } else {
                &n.node_local_dns_priority_class_name
            };
            ctx.insert("priority_class".into(), json!(class));
            render(NODELOCAL_ADDON, "nodelocal", &ctx)?
        }
    };
    Ok((coredns, nodelocal))
}

/// metrics-server (`monitoring.provider`); its `options` become command-line flags.
pub fn metrics_addon(cfg: &RkeConfig) -> anyhow::Result<Addon> {
    let m = &cfg.monitoring;
    match m.provider.as_str() {
        "none" | "" => return Ok(Addon::builtin(METRICS_ADDON, Vec::new())),
        "metrics-server" => {}
        other => return Err(unsupported("monitoring.provider", other)),
    }
    let mut ctx = common(cfg);
    ctx.insert("options".into(), json!(m.options));
    ctx.insert("node_selector".into(), json!(m.node_selector));
    ctx.insert("tolerations".into(), tolerations(&m.tolerations));
    ctx.insert(
        "update_strategy".into(),
        deployment_strategy(&m.update_strategy),
    );
    ctx.insert("replicas".into(), json!(m.replicas.unwrap_or(1)));
    let class = if m.metrics_server_priority_class_name.is_empty() {
        "system-cluster-critical"
    } else {
        &m.metrics_server_priority_class_name
    };
    ctx.insert("priority_class".into(), json!(class));
    render(METRICS_ADDON, "metrics-server", &ctx)
}

/// ingress-nginx (`ingress.provider: nginx`).
pub fn ingress_addon(cfg: &RkeConfig) -> anyhow::Result<Addon> {
    let i = &cfg.ingress;
    match i.provider.as_str() {
        "none" | "" => return Ok(Addon::builtin(INGRESS_ADDON, Vec::new())),
        "nginx" => {}
        other => return Err(unsupported("ingress.provider", other)),
    }
    let mut ctx = common(cfg);
    ctx.insert("options".into(), json!(i.options));
    // RKE1 adds this for controllers from 1.1.0 on unless the user set it.
    let mut args = i.extra_args.clone();
    args.entry("watch-ingress-without-class".into())
        .or_insert_with(|| "true".into());
    ctx.insert("extra_args".into(), json!(args));
    ctx.insert("extra_envs".into(), json!(i.extra_envs));
    ctx.insert("extra_volumes".into(), json!(i.extra_volumes));
    ctx.insert("extra_volume_mounts".into(), json!(i.extra_volume_mounts));
    ctx.insert("node_selector".into(), json!(i.node_selector));
    ctx.insert("tolerations".into(), tolerations(&i.tolerations));
    ctx.insert(
        "update_strategy".into(),
        daemonset_strategy(&i.update_strategy),
    );
    let dns_policy = if i.dns_policy.is_empty() {
        "ClusterFirst"
    } else {
        &i.dns_policy
    };
    ctx.insert("dns_policy".into(), json!(dns_policy));
    ctx.insert("http_port".into(), json!(i.http_port));
    ctx.insert("https_port".into(), json!(i.https_port));
    let mode = if i.network_mode.is_empty() {
        "hostPort"
    } else {
        &i.network_mode
    };
    ctx.insert("network_mode".into(), json!(mode));
    ctx.insert(
        "default_backend".into(),
        json!(i.default_backend == Some(true)),
    );
    ctx.insert(
        "default_ingress_class".into(),
        json!(i.default_ingress_class != Some(false)),
    );
    ctx.insert(
        "controller_priority_class".into(),
        json!(i.nginx_ingress_controller_priority_class_name),
    );
    ctx.insert(
        "backend_priority_class".into(),
        json!(i.default_http_backend_priority_class_name),
    );
    render(INGRESS_ADDON, "nginx-ingress", &ctx)
}

#[cfg(test)]
mod tests;
