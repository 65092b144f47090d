use std::collections::BTreeMap;
use std::path::Path;

use super::*;
use crate::config::parse_str;
use crate::config::types::IntOrString;

fn parse(text: &str) -> RkeConfig {
    parse_str(text, Path::new("cluster.yml")).unwrap()
}

fn defaulted(text: &str) -> RkeConfig {
    let mut cfg = parse(text);
    apply_defaults(&mut cfg, None);
    cfg
}

const MINIMAL: &str = "
nodes:
  - address: 10.0.0.1
    user: ubuntu
    role: [controlplane, etcd, worker]
  - address: Node-B.Example.COM
    port: 2222
    user: rancher
    hostname_override: Worker-B
    ssh_key_path: ~/.ssh/other
    ssh_agent_auth: true
    role: [worker]
kubernetes_version: v1.32.5-rancher1-1
";

#[test]
fn parse_k8s_version_accepts_rancher_suffixes() {
    assert_eq!(parse_k8s_version("v1.20.15-rancher2-2"), Some((1, 20, 15)));
    assert_eq!(parse_k8s_version("v1.32.5-rancher1-1"), Some((1, 32, 5)));
    assert_eq!(parse_k8s_version("1.24.0"), Some((1, 24, 0)));
    assert_eq!(parse_k8s_version(" v1.27.16+build "), Some((1, 27, 16)));
    assert_eq!(parse_k8s_version(""), None);
    assert_eq!(parse_k8s_version("v1.20"), None);
    assert_eq!(parse_k8s_version("v1.20.x"), None);
    assert_eq!(parse_k8s_version("v1.2.3.4"), None);
}

#[test]
fn nodes_and_connection_defaults_match_rke1() {
    let cfg = defaulted(MINIMAL);
    assert_eq!(cfg.ssh_key_path, "~/.ssh/id_rsa");
    assert_eq!(cfg.prefix_path, "/");
    let a = &cfg.nodes[0];
    assert_eq!(a.port, "22");
    assert_eq!(a.internal_address, "10.0.0.1");
    assert_eq!(a.hostname_override, "10.0.0.1");
    assert_eq!(a.ssh_key_path, "~/.ssh/id_rsa");
    assert_eq!(a.docker_socket, "/var/run/docker.sock");
    assert_eq!(a.user, "ubuntu");
    let b = &cfg.nodes[1];
    assert_eq!(b.port, "2222");
    assert_eq!(b.internal_address, "Node-B.Example.COM");
    assert_eq!(b.hostname_override, "worker-b");
    assert_eq!(b.ssh_key_path, "~/.ssh/other");
    // Agent auth is cluster-wide in RKE1: the node's own value is replaced.
    assert!(!b.ssh_agent_auth);
}

#[test]
fn hostname_defaults_to_lower_cased_address() {
    let cfg = defaulted("nodes: [{address: Host-A.Local, role: [worker]}]\n");
    assert_eq!(cfg.nodes[0].hostname_override, "host-a.local");
    assert_eq!(cfg.nodes[0].internal_address, "Host-A.Local");
}

#[test]
fn bastion_inherits_cluster_ssh_settings() {
    let cfg = defaulted(
        "ssh_agent_auth: true\nssh_key_path: /k\nbastion_host: {address: jump, user: u}\n",
    );
    assert_eq!(cfg.bastion_host.port, "22");
    assert_eq!(cfg.bastion_host.ssh_key_path, "/k");
    assert!(cfg.bastion_host.ssh_agent_auth);
    let cfg = defaulted("nodes: []\n");
    assert_eq!(cfg.bastion_host, Default::default());
}

#[test]
fn cluster_wide_defaults_match_rke1() {
    let cfg = defaulted(MINIMAL);
    assert_eq!(cfg.cluster_name, "local");
    assert_eq!(cfg.authentication.strategy, "x509");
    assert_eq!(cfg.authorization.mode, "rbac");
    assert_eq!(cfg.addon_job_timeout, 45);
    assert_eq!(cfg.enable_cri_dockerd, Some(true));
    assert_eq!(cfg.network.plugin, "canal");
    assert_eq!(cfg.network.enable_br_netfilter, Some(true));
    let options: Vec<(&str, &str)> = cfg
        .network
        .options
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        options,
        vec![
            ("canal_flannel_backend_port", "8472"),
            ("canal_flannel_backend_type", "vxlan"),
            ("canal_flannel_backend_vni", "1"),
            (
                "canal_flex_volume_plugin_dir",
                "/usr/libexec/kubernetes/kubelet-plugins/volume/exec/nodeagent~uds"
            ),
        ]
    );
    let upgrade = cfg.upgrade_strategy.as_ref().unwrap();
    assert_eq!(upgrade.max_unavailable_worker, "10%");
    assert_eq!(upgrade.max_unavailable_controlplane, "1");
    let drain = upgrade.drain_input.as_ref().unwrap();
    assert_eq!(drain.ignore_daemon_sets, Some(true));
    assert_eq!((drain.timeout, drain.grace_period), (120, -1));
    assert!(!drain.force && !drain.delete_local_data);
}

#[test]
fn services_defaults_match_rke1() {
    let cfg = defaulted(MINIMAL);
    let s = &cfg.services;
    assert_eq!(s.kube_api.service_cluster_ip_range, "10.43.0.0/16");
    assert_eq!(s.kube_api.service_node_port_range, "30000-32767");
    assert_eq!(s.kube_api.pod_security_configuration, "privileged");
    assert_eq!(s.kube_controller.service_cluster_ip_range, "10.43.0.0/16");
    assert_eq!(s.kube_controller.cluster_cidr, "10.42.0.0/16");
    assert_eq!(s.kubelet.cluster_dns_server, "10.43.0.10");
    assert_eq!(s.kubelet.cluster_domain, "cluster.local");
    assert!(!s.kubelet.fail_swap_on);
    assert_eq!(s.etcd.snapshot, Some(true));
    assert_eq!(s.etcd.creation, "12h");
    assert_eq!(s.etcd.retention, "72h");
    assert_eq!(s.etcd.extra_args["election-timeout"], "5000");
    assert_eq!(s.etcd.extra_args["heartbeat-interval"], "500");
    assert_eq!(s.etcd.backup_config, None);
    let audit = s.kube_api.audit_log.as_ref().unwrap();
    assert!(audit.enabled);
    let config = audit.configuration.as_ref().unwrap();
    assert_eq!(
        (config.max_age, config.max_backup, config.max_size),
        (30, 10, 100)
    );
    assert_eq!(config.path, "/var/log/kube-audit/audit-log.json");
    assert_eq!(config.format, "json");
    assert_eq!(
        config.policy.as_ref().unwrap()["rules"][0]["level"],
        "Metadata"
    );
}

#[test]
fn addon_defaults_match_rke1() {
    let cfg = defaulted(MINIMAL);
    let ingress = &cfg.ingress;
    assert_eq!(ingress.provider, "nginx");
    assert_eq!((ingress.http_port, ingress.https_port), (80, 443));
    assert_eq!(ingress.network_mode, "hostPort");
    assert_eq!(ingress.default_backend, Some(false));
    assert_eq!(ingress.default_ingress_class, Some(true));
    let ds = ingress.update_strategy.as_ref().unwrap();
    assert_eq!(ds.strategy, "RollingUpdate");
    assert_eq!(
        ds.rolling_update.as_ref().unwrap().max_unavailable,
        Some(IntOrString::Int(1))
    );

    let dns = cfg.dns.as_ref().unwrap();
    assert_eq!(dns.provider, "coredns");
    let rolling = dns
        .update_strategy
        .as_ref()
        .unwrap()
        .rolling_update
        .as_ref()
        .unwrap();
    assert_eq!(rolling.max_unavailable, Some(IntOrString::Int(1)));
    assert_eq!(rolling.max_surge, Some(IntOrString::Int(0)));
    let scaler = dns.linear_autoscaler_params.as_ref().unwrap();
    assert_eq!(
        (scaler.cores_per_replica, scaler.nodes_per_replica),
        (128.0, 4.0)
    );
    assert_eq!(scaler.min, 1);
    assert!(scaler.prevent_single_point_failure);

    assert_eq!(cfg.monitoring.provider, "metrics-server");
    assert_eq!(cfg.monitoring.replicas, Some(1));
    let rolling = cfg
        .monitoring
        .update_strategy
        .as_ref()
        .unwrap()
        .rolling_update
        .as_ref()
        .unwrap();
    assert_eq!(
        rolling.max_unavailable,
        Some(IntOrString::String("25%".into()))
    );
    assert_eq!(rolling.max_surge, Some(IntOrString::String("25%".into())));
}

#[test]
fn older_versions_get_older_defaults() {
    let cfg = defaulted("kubernetes_version: v1.20.15-rancher2-2\n");
    assert_eq!(cfg.ingress.network_mode, "hostNetwork");
    assert_eq!(cfg.ingress.default_backend, Some(true));
    assert_eq!(cfg.enable_cri_dockerd, None);
    assert_eq!(cfg.services.kube_api.pod_security_configuration, "");
    assert!(cfg.services.kube_api.audit_log.as_ref().unwrap().enabled);

    let cfg = defaulted("kubernetes_version: v1.13.5-rancher1-3\n");
    assert_eq!(cfg.dns.as_ref().unwrap().provider, "kube-dns");
    assert_eq!(cfg.services.kube_api.audit_log, None);
    let rolling = cfg.dns.as_ref().unwrap().update_strategy.as_ref().unwrap();
    let rolling = rolling.rolling_update.as_ref().unwrap();
    assert_eq!(rolling.max_surge, Some(IntOrString::String("10%".into())));

    let cfg = defaulted("kubernetes_version: v1.16.7-rancher1-1\n");
    assert_eq!(cfg.services.kube_api.audit_log, None);
    let cfg = defaulted("kubernetes_version: v1.16.8-rancher1-1\n");
    assert!(cfg.services.kube_api.audit_log.is_some());
}

#[test]
fn unknown_version_leaves_version_dependent_fields_for_later() {
    let cfg = defaulted("nodes: []\n");
    assert_eq!(cfg.ingress.network_mode, "");
    assert_eq!(cfg.ingress.default_backend, None);
    assert_eq!(cfg.enable_cri_dockerd, None);
    assert_eq!(cfg.dns.as_ref().unwrap().provider, "coredns");
}

#[test]
fn user_values_are_kept() {
    let cfg = defaulted(
        r#"
kubernetes_version: v1.32.5-rancher1-1
enable_cri_dockerd: false
cluster_name: prod
services:
  etcd:
    snapshot: false
    extra_args: {election-timeout: "9000"}
  kube-api:
    pod_security_configuration: restricted
    audit_log: {enabled: false}
ingress: {network_mode: none, http_port: 8080, default_backend: true}
network: {plugin: flannel, options: {flannel_backend_type: host-gw}}
dns: {provider: none}
"#,
    );
    assert_eq!(cfg.enable_cri_dockerd, Some(false));
    assert_eq!(cfg.cluster_name, "prod");
    assert_eq!(cfg.services.etcd.snapshot, Some(false));
    assert_eq!(cfg.services.etcd.extra_args["election-timeout"], "9000");
    assert_eq!(cfg.services.etcd.extra_args["heartbeat-interval"], "500");
    assert_eq!(
        cfg.services.kube_api.pod_security_configuration,
        "restricted"
    );
    let audit = cfg.services.kube_api.audit_log.as_ref().unwrap();
    assert!(!audit.enabled && audit.configuration.is_none());
    assert_eq!(cfg.ingress.network_mode, "none");
    assert_eq!((cfg.ingress.http_port, cfg.ingress.https_port), (8080, 443));
    assert_eq!(cfg.ingress.default_backend, Some(true));
    assert_eq!(cfg.network.options["flannel_backend_type"], "host-gw");
    assert_eq!(cfg.network.options["flannel_backend_port"], "8472");
    assert_eq!(cfg.network.options["flannel_backend_vni"], "1");
    assert_eq!(cfg.dns.as_ref().unwrap().provider, "none");
}

#[test]
fn admission_file_in_extra_args_disables_admission_defaults() {
    let cfg = defaulted(
        r#"
kubernetes_version: v1.32.5-rancher1-1
services:
  kube-api:
    extra_args: {admission-control-config-file: /etc/x.yaml}
    event_rate_limit: {enabled: true}
"#,
    );
    let kube_api = &cfg.services.kube_api;
    assert_eq!(kube_api.pod_security_configuration, "");
    assert_eq!(
        kube_api.event_rate_limit.as_ref().unwrap().configuration,
        None
    );

    let cfg = defaulted("services:\n  kube-api:\n    event_rate_limit: {enabled: true}\n");
    let limit = cfg.services.kube_api.event_rate_limit.as_ref().unwrap();
    let limits = &limit.configuration.as_ref().unwrap()["limits"][0];
    assert_eq!(
        (limits["type"].as_str(), limits["qps"].as_i64()),
        (Some("Server"), Some(5000))
    );
    assert_eq!(limits["burst"], 20000);
}

#[test]
fn audit_log_with_configuration_gets_only_a_policy() {
    let cfg = defaulted(
        "services:\n  kube-api:\n    audit_log: {enabled: true, configuration: {max_age: 5}}\n",
    );
    let config = cfg
        .services
        .kube_api
        .audit_log
        .unwrap()
        .configuration
        .unwrap();
    assert_eq!(config.max_age, 5);
    assert_eq!(config.max_backup, 0);
    assert_eq!(config.policy, Some(default_audit_policy()));
}

#[test]
fn backup_config_defaults_apply_only_when_enabled() {
    let cfg =
        defaulted("services:\n  etcd:\n    backup_config: {s3backupconfig: {bucket_name: b}}\n");
    let backup = cfg.services.etcd.backup_config.unwrap();
    assert_eq!(backup.enabled, Some(true));
    assert_eq!(
        (backup.interval_hours, backup.retention, backup.timeout),
        (12, 6, 300)
    );
    assert_eq!(backup.s3_backup_config.unwrap().bucket_name, "b");

    let cfg = defaulted("services:\n  etcd:\n    backup_config: {enabled: false}\n");
    let backup = cfg.services.etcd.backup_config.unwrap();
    assert_eq!(
        (backup.interval_hours, backup.retention, backup.timeout),
        (0, 0, 0)
    );
}

#[test]
fn drain_true_gets_drain_input_defaults() {
    // RKE1 left node_drain_input empty here and crashed (rke#2349).
    let cfg = defaulted("upgrade_strategy: {drain: true}\n");
    let upgrade = cfg.upgrade_strategy.unwrap();
    assert_eq!(upgrade.drain, Some(true));
    let drain = upgrade.drain_input.unwrap();
    assert_eq!(
        (drain.ignore_daemon_sets, drain.timeout, drain.grace_period),
        (Some(true), 120, -1)
    );
}

#[test]
fn partial_drain_input_keeps_explicit_values() {
    let cfg = defaulted(
        "upgrade_strategy:\n  drain: true\n  max_unavailable_worker: 3\n  node_drain_input:\n    grace_period: 0\n    ignore_daemonsets: false\n    force: true\n",
    );
    let upgrade = cfg.upgrade_strategy.unwrap();
    assert_eq!(upgrade.max_unavailable_worker, "3");
    assert_eq!(upgrade.max_unavailable_controlplane, "1");
    let drain = upgrade.drain_input.unwrap();
    assert_eq!(drain.grace_period, 0);
    assert_eq!(drain.timeout, 120);
    assert_eq!(drain.ignore_daemon_sets, Some(false));
    assert!(drain.force);
}

#[test]
fn system_images_come_from_the_table_with_default_registry_prefix() {
    let mut cfg = parse(
        "private_registries:\n  - {url: reg.example.com, is_default: false}\n  - {url: mirror.local:5000, is_default: true}\n\
         system_images: {etcd: my/etcd:1}\n",
    );
    let images: BTreeMap<String, String> = [
        ("etcd", "rancher/mirrored-coreos-etcd:v3.5.16"),
        ("kubernetes", "rancher/hyperkube:v1.32.5-rancher1"),
        ("pod_infra_container", "rancher/mirrored-pause:3.7"),
        ("not_in_schema", "x/y:1"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    apply_defaults(&mut cfg, Some(&images));
    let si = &cfg.system_images;
    assert_eq!(si.etcd, "my/etcd:1");
    assert_eq!(
        si.kubernetes,
        "mirror.local:5000/rancher/hyperkube:v1.32.5-rancher1"
    );
    assert_eq!(
        si.pod_infra_container,
        "mirror.local:5000/rancher/mirrored-pause:3.7"
    );
    assert_eq!(
        cfg.services.kubelet.infra_container_image,
        si.pod_infra_container
    );
    assert_eq!(cfg.services.kube_api.image, si.kubernetes);
    assert_eq!(cfg.services.kubeproxy.image, si.kubernetes);
    assert_eq!(cfg.services.etcd.image, "my/etcd:1");
}

#[test]
fn network_provider_sections_feed_options() {
    let cfg = defaulted("network:\n  plugin: calico\n  calico_network_provider: {}\n");
    assert_eq!(
        cfg.network
            .calico_network_provider
            .as_ref()
            .unwrap()
            .cloud_provider,
        "none"
    );
    assert_eq!(cfg.network.options["calico_cloud_provider"], "none");

    let cfg = defaulted(
        "network:\n  plugin: canal\n  canal_network_provider: {iface: eth1}\n  options: {canal_iface: eth9}\n",
    );
    assert_eq!(cfg.network.options["canal_iface"], "eth9");

    let cfg =
        defaulted("network:\n  plugin: weave\n  weave_network_provider: {password: s3cret}\n");
    assert_eq!(cfg.network.options["WeavePassword"], "s3cret");
    assert_eq!(cfg.network.options.len(), 1);

    let cfg = defaulted("network:\n  plugin: flannel\n  flannel_network_provider: {iface: eth2}\n");
    assert_eq!(cfg.network.options["flannel_iface"], "eth2");
}

#[test]
fn aci_provider_defaults_and_options() {
    let cfg = defaulted(
        "network:\n  plugin: aci\n  aci_network_provider:\n    system_id: rke1\n    kube_api_vlan: 4001\n    extern_dynamic: 10.3.0.1/24\n    ovs_memory_limit: 2Gi\n",
    );
    let aci = cfg.network.aci_network_provider.as_ref().unwrap();
    assert_eq!(aci.ovs_memory_limit, "2Gi");
    assert_eq!(aci.ovs_memory_request, "128Mi");
    assert_eq!(aci.toleration_seconds, "600");
    let o = &cfg.network.options;
    assert_eq!(o["aci_system_identifier"], "rke1");
    assert_eq!(o["aci_kubeapi_vlan"], "4001");
    assert_eq!(o["aci_dynamic_external_subnet"], "10.3.0.1/24");
    assert_eq!(o["aci_ovs_memory_limit"], "2Gi");
    assert_eq!(o["aci_server_monitor_interval"], "5");
    assert_eq!(o["aci_toleration_seconds"], "600");
    assert_eq!(o["aci_token"], "");
    assert_eq!(o["AciContainersMemoryLimit"], "3Gi");

    // Plugin defaults apply even without the typed section.
    let cfg = defaulted("network: {plugin: aci}\n");
    assert_eq!(
        cfg.network.options["aci_snat_namespace"],
        "aci-containers-system"
    );
    assert!(!cfg.network.options.contains_key("aci_token"));
}

#[test]
fn webhook_strategy_gets_default_webhook_config() {
    let cfg = defaulted("authentication: {strategy: x509|Webhook}\n");
    let webhook = cfg.authentication.webhook.unwrap();
    assert!(
        webhook
            .config_file
            .contains("http://127.0.0.1:6440/v1/authenticate")
    );
    assert_eq!(webhook.cache_timeout, "5s");
    assert_eq!(authn_strategies("x509| webhook"), vec!["x509", "webhook"]);
}

#[test]
fn aws_cloud_provider_gets_instance_metadata_hostname_off() {
    let cfg = defaulted("cloud_provider: {name: aws}\n");
    assert_eq!(
        cfg.cloud_provider.use_instance_metadata_hostname,
        Some(false)
    );
    let cfg = defaulted("cloud_provider: {name: external}\n");
    assert_eq!(cfg.cloud_provider.use_instance_metadata_hostname, None);
}

#[test]
fn update_strategies_keep_user_choices() {
    let cfg = defaulted(
        "ingress: {update_strategy: {strategy: OnDelete}}\n\
         monitoring: {update_strategy: {strategy: RollingUpdate, rollingUpdate: {maxSurge: 2}}}\n\
         dns: {provider: coredns, update_strategy: {rollingUpdate: {maxSurge: 3}}}\n",
    );
    let ingress = cfg.ingress.update_strategy.unwrap();
    assert_eq!(ingress.strategy, "OnDelete");
    assert_eq!(ingress.rolling_update, None);
    let rolling = cfg
        .monitoring
        .update_strategy
        .unwrap()
        .rolling_update
        .unwrap();
    assert_eq!(rolling.max_surge, Some(IntOrString::Int(2)));
    assert_eq!(
        rolling.max_unavailable,
        Some(IntOrString::String("25%".into()))
    );
    let rolling = cfg
        .dns
        .unwrap()
        .update_strategy
        .unwrap()
        .rolling_update
        .unwrap();
    assert_eq!(rolling.max_surge, Some(IntOrString::Int(3)));
    assert_eq!(rolling.max_unavailable, Some(IntOrString::Int(1)));
}

#[test]
fn defaults_are_idempotent() {
    let images: BTreeMap<String, String> = [(
        "kubernetes".to_string(),
        "rancher/hyperkube:v1.32.5-rancher1".to_string(),
    )]
    .into();
    for text in [
        MINIMAL,
        "nodes: []\n",
        "kubernetes_version: v1.13.5-rancher1-3\n",
        "network: {plugin: aci, aci_network_provider: {system_id: x}}\nupgrade_strategy: {drain: true}\n",
        "authentication: {strategy: webhook}\nservices: {etcd: {backup_config: {}}}\n",
    ] {
        let mut once = parse(text);
        apply_defaults(&mut once, Some(&images));
        let mut twice = once.clone();
        apply_defaults(&mut twice, Some(&images));
        assert_eq!(once, twice, "{text}");
        // Serializing and re-parsing the defaulted config changes nothing either.
        let written = serde_saphyr::to_string(&once).unwrap();
        assert_eq!(parse(&written), once, "{written}");
    }
}
