//! Parsing the shared fixtures in `tests/fixtures/config/`: RKE1's documented full example and
//! a file that uses every unusual key RKE1 accepts.

use std::path::{Path, PathBuf};

use super::types::IntOrString;
use super::{RkeConfig, apply_defaults, parse_file, parse_str};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/config")
        .join(name)
}

fn load(name: &str) -> RkeConfig {
    parse_file(&fixture(name)).unwrap_or_else(|e| panic!("{e}"))
}

/// 1-based line of the first line containing `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).unwrap() + 1
}

#[test]
fn rke1_full_example_parses_with_its_values() {
    let cfg = load("rke1-full-example.yml");
    assert_eq!(cfg.nodes.len(), 3);
    assert_eq!(cfg.nodes[0].port, "2222");
    assert_eq!(cfg.nodes[0].role, vec!["controlplane", "etcd"]);
    assert!(
        cfg.nodes[1]
            .ssh_key
            .starts_with("-----BEGIN RSA PRIVATE KEY-----")
    );
    assert_eq!(cfg.nodes[2].labels["app"], "ingress");
    assert_eq!(cfg.nodes[2].taints[0].effect, "NoSchedule");
    assert_eq!(cfg.private_registries[0].url, "registry.com");
    assert!(cfg.private_registries[0].is_default);
    assert_eq!(cfg.bastion_host.port, "22");
    assert_eq!(cfg.version, "v1.32.5-rancher1-1");
    assert_eq!(
        cfg.system_images.kube_dns,
        "rancher/k8s-dns-kube-dns-amd64:1.14.8"
    );

    let services = &cfg.services;
    assert_eq!((services.etcd.uid, services.etcd.gid), (52034, 52034));
    let kube_api = &services.kube_api;
    assert!(!kube_api.pod_security_policy);
    assert_eq!(kube_api.extra_args["delete-collection-workers"], "3");
    assert_eq!(kube_api.extra_args["audit-log-path"], "-");
    let encryption = kube_api.secrets_encryption_config.as_ref().unwrap();
    let custom = encryption.custom_config.as_ref().unwrap();
    assert_eq!(
        custom["resources"][0]["providers"][0]["aescbc"]["keys"][0]["name"],
        "k-fw5hn"
    );
    let audit = kube_api
        .audit_log
        .as_ref()
        .unwrap()
        .configuration
        .as_ref()
        .unwrap();
    assert_eq!(
        (audit.max_age, audit.max_backup, audit.max_size),
        (6, 6, 110)
    );
    assert_eq!(
        audit.policy.as_ref().unwrap()["omitStages"][0],
        "RequestReceived"
    );
    let limits = kube_api.event_rate_limit.as_ref().unwrap();
    assert_eq!(
        limits.configuration.as_ref().unwrap()["limits"][0]["qps"],
        6000
    );
    let kubelet = &services.kubelet;
    assert!(kubelet.generate_serving_certificate);
    assert_eq!(kubelet.extra_args["max-pods"], "250");
    // Documented but never read by RKE1; kept apart so it cannot change behaviour.
    assert_eq!(
        kubelet.ignored_pod_infra_container_image,
        "k8s.gcr.io/pause:3.2"
    );
    assert_eq!(kubelet.infra_container_image, "");
    assert_eq!(services.kubeproxy.extra_args["v"], "4");

    assert_eq!(cfg.authentication.sans.len(), 2);
    assert_eq!(cfg.network.mtu, 1400);
    assert_eq!(cfg.network.tolerations[1].toleration_seconds, Some(300));
    let rolling = cfg.network.update_strategy.as_ref().unwrap();
    assert_eq!(
        rolling.rolling_update.as_ref().unwrap().max_unavailable,
        Some(IntOrString::Int(6))
    );
    let dns = cfg.dns.as_ref().unwrap();
    assert_eq!(
        dns.linear_autoscaler_params
            .as_ref()
            .unwrap()
            .cores_per_replica,
        0.34
    );
    assert_eq!(cfg.ingress.node_selector["app"], "ingress");
    assert!(cfg.addons.contains("name: my-nginx"));
    assert_eq!(cfg.addons_include.len(), 3);
}

#[test]
fn rke1_full_example_defaults_are_stable_and_round_trip() {
    let mut cfg = load("rke1-full-example.yml");
    apply_defaults(&mut cfg, None);
    let mut again = cfg.clone();
    apply_defaults(&mut again, None);
    assert_eq!(cfg, again);
    let written = serde_saphyr::to_string(&cfg).unwrap();
    assert_eq!(parse_str(&written, Path::new("written.yml")).unwrap(), cfg);
    // The example's own choices survive the defaults.
    assert_eq!(cfg.addon_job_timeout, 30);
    assert_eq!(cfg.network.options["canal_iface"], "eth1");
    assert_eq!(cfg.network.options["canal_flannel_backend_port"], "8472");
    assert_eq!(
        cfg.cloud_provider.use_instance_metadata_hostname,
        Some(false)
    );
}

#[test]
fn typo_in_the_full_example_is_located() {
    let text = std::fs::read_to_string(fixture("rke1-full-example.yml")).unwrap();
    let broken = text.replacen(
        "generate_serving_certificate:",
        "generate_serving_certificat:",
        1,
    );
    let err = parse_str(&broken, Path::new("cluster.yml")).unwrap_err();
    assert_eq!(
        err.line,
        Some(line_of(&broken, "generate_serving_certificat:"))
    );
    assert_eq!(err.column, Some(7));
    assert_eq!(
        err.suggestion.as_deref(),
        Some("generate_serving_certificate")
    );
    assert!(err.to_string().contains("in services.kubelet"), "{err}");
}

#[test]
fn odd_keys_parse_as_rke1_reads_them() {
    let cfg = load("rke1-odd-keys.yml");
    let node = &cfg.nodes[0];
    assert_eq!(node.node_name, "c-abcde:m-12345");
    assert_eq!(node.labels["gpu"], "true");
    assert_eq!(
        node.taints[0].time_added.as_deref(),
        Some("2024-01-01T00:00:00Z")
    );
    assert!(cfg.nodes[1].ssh_cert.starts_with("ssh-ed25519-cert"));

    let etcd = &cfg.services.etcd;
    assert_eq!(etcd.image, "ignored/etcd:1");
    assert_eq!(etcd.extra_args["quota-backend-bytes"], "8589934592");
    assert_eq!(etcd.extra_args_array["cipher-suites"].len(), 2);
    assert_eq!(etcd.windows_extra_args["v"], "1");
    assert_eq!(etcd.windows_extra_args_array["x"], vec!["a", "b"]);
    assert_eq!(etcd.windows_extra_binds, vec![r"c:\data:c:\data"]);
    assert_eq!(etcd.windows_extra_env, vec!["WIN=1"]);
    let backup = etcd.backup_config.as_ref().unwrap();
    assert!(backup.safe_timestamp);
    assert_eq!(backup.timeout, 600);
    let s3 = backup.s3_backup_config.as_ref().unwrap();
    assert_eq!(
        (s3.bucket_name.as_str(), s3.folder.as_str()),
        ("etcd-backups", "cluster-a")
    );
    assert!(s3.custom_ca.contains("BEGIN CERTIFICATE"));

    let kube_api = &cfg.services.kube_api;
    assert_eq!(kube_api.windows_extra_env, vec!["A=B"]);
    let admission = kube_api.admission_configuration.as_ref().unwrap();
    assert_eq!(
        admission["plugins"][0]["configuration"]["defaults"]["enforce"],
        "restricted"
    );
    assert_eq!(cfg.services.scheduler.windows_extra_args["v"], "2");
    assert_eq!(
        cfg.services.kubelet.windows_extra_args_array["feature-gates"],
        vec!["A=true", "B=false"]
    );
    assert_eq!(cfg.services.kubelet.windows_extra_binds, vec![r"c:\k:c:\k"]);

    let network = &cfg.network;
    assert_eq!(network.enable_br_netfilter, Some(false));
    assert_eq!(
        network
            .calico_network_provider
            .as_ref()
            .unwrap()
            .cloud_provider,
        "aws"
    );
    assert_eq!(
        network
            .canal_network_provider
            .as_ref()
            .unwrap()
            .blackhole_route,
        "true"
    );
    assert_eq!(
        network.flannel_network_provider.as_ref().unwrap().iface,
        "eth2"
    );
    assert_eq!(
        network.weave_network_provider.as_ref().unwrap().password,
        "weave-secret"
    );
    let aci = network.aci_network_provider.as_ref().unwrap();
    assert_eq!(aci.system_identifier, "rke-aci");
    assert_eq!(aci.kube_api_vlan, "4001");
    assert_eq!(aci.dynamic_external_subnet, "10.3.0.1/24");
    assert_eq!(aci.service_graph_subnet, "10.5.0.1/24");
    assert_eq!(aci.apic_hosts.len(), 2);
    assert_eq!(aci.service_graph_endpoint_add_services[0]["name"], "svc-a");
    assert_eq!(aci.node_snat_redirect_exclude[0]["labels"], "a,b");
    assert_eq!(network.tolerations[0].toleration_seconds, Some(60));

    let ingress = &cfg.ingress;
    assert_eq!(ingress.extra_envs[0]["value"], "Europe/Paris");
    assert_eq!(ingress.extra_volumes[0]["secret"]["defaultMode"], 256);
    assert_eq!(ingress.extra_volume_mounts[0]["readOnly"], true);
    assert_eq!((ingress.http_port, ingress.https_port), (8080, 8443));
    assert_eq!(ingress.default_backend, Some(false));
    assert_eq!(ingress.default_ingress_class, Some(false));
    assert_eq!(ingress.nginx_ingress_controller_priority_class_name, "high");

    let dns = cfg.dns.as_ref().unwrap();
    assert_eq!(dns.upstream_nameservers, vec!["1.1.1.1", "8.8.8.8"]);
    assert_eq!(dns.reverse_cidrs, vec!["10.0.0.0/8"]);
    assert_eq!(dns.stub_domains["corp.local"], vec!["10.0.0.53"]);
    let nodelocal = dns.nodelocal.as_ref().unwrap();
    assert_eq!(nodelocal.ip_address, "169.254.20.10");
    assert_eq!(
        nodelocal
            .update_strategy
            .as_ref()
            .unwrap()
            .rolling_update
            .as_ref()
            .unwrap()
            .max_unavailable,
        Some(IntOrString::String("10%".into()))
    );
    assert_eq!(dns.update_strategy.as_ref().unwrap().strategy, "Recreate");
    assert_eq!(
        dns.linear_autoscaler_params
            .as_ref()
            .unwrap()
            .nodes_per_replica,
        2.5
    );
    assert_eq!(cfg.monitoring.replicas, Some(2));

    let cloud = &cfg.cloud_provider;
    assert_eq!(cloud.use_instance_metadata_hostname, Some(true));
    let aws = cloud.aws_cloud_provider.as_ref().unwrap();
    assert_eq!(aws.global.route_table_id, "rtb-1");
    assert!(aws.global.disable_strict_zone_check);
    assert_eq!(aws.service_override["ec2"].signing_method, "v4");
    let azure = cloud.azure_cloud_provider.as_ref().unwrap();
    assert_eq!(azure.cloud_provider_rate_limit_qps, 3);
    assert_eq!(azure.exclude_master_from_standard_lb, Some(false));
    let openstack = cloud.openstack_cloud_provider.as_ref().unwrap();
    assert_eq!(openstack.load_balancer.monitor_max_retries, 5);
    assert!(openstack.block_storage.ignore_volume_az);
    assert_eq!(openstack.route.router_id, "r1");
    let vsphere = cloud.vsphere_cloud_provider.as_ref().unwrap();
    assert_eq!(vsphere.global.vcenter_port, "443");
    assert_eq!(
        vsphere.virtual_center["vc.example.com"].round_tripper_count,
        3
    );
    assert_eq!(vsphere.disk.scsi_controller_type, "pvscsi");
    assert_eq!(
        vsphere.workspace.resource_pool_path,
        "/dc1/host/cluster/Resources"
    );
    assert!(
        cloud
            .harvester_cloud_provider
            .as_ref()
            .unwrap()
            .cloud_config
            .contains("kind: Config")
    );
    assert!(cloud.custom_cloud_provider.contains("[Global]"));

    let ecr = cfg.private_registries[0]
        .ecr_credential_plugin
        .as_ref()
        .unwrap();
    assert_eq!(ecr.aws_session_token, "token");
    assert_eq!(
        cfg.authentication.webhook.as_ref().unwrap().cache_timeout,
        "10s"
    );
    assert!(cfg.bastion_host.ignore_proxy_env_vars);
    let upgrade = cfg.upgrade_strategy.as_ref().unwrap();
    assert_eq!(upgrade.max_unavailable_controlplane, "2");
    let drain = upgrade.drain_input.as_ref().unwrap();
    assert_eq!((drain.grace_period, drain.timeout), (30, 600));
    assert!(drain.delete_local_data);
    assert_eq!(cfg.restore.snapshot_name, "snap-1");
    let rotate = cfg.rotate_certificates.as_ref().unwrap();
    assert!(rotate.ca_certificates);
    assert_eq!(rotate.services, vec!["etcd", "kubelet"]);
    assert_eq!(cfg.cri_dockerd_stream_server_port, "10010");
    assert_eq!(cfg.windows_prefix_path, "c:/rke");
    assert_eq!(
        cfg.system_images.get("aci_ovs_container"),
        Some("noiro/openvswitch:6.0.4")
    );
    assert_eq!(
        cfg.system_images.calico_flex_vol,
        "rancher/mirrored-calico-pod2daemon-flexvol:v3.26.3"
    );
}

#[test]
fn odd_keys_round_trip_through_serialization() {
    let cfg = load("rke1-odd-keys.yml");
    let written = serde_saphyr::to_string(&cfg).unwrap();
    let reparsed =
        parse_str(&written, Path::new("written.yml")).unwrap_or_else(|e| panic!("{e}\n{written}"));
    assert_eq!(reparsed, cfg);
    // The odd spellings are kept on output, so RKE1 could read the file back.
    for key in [
        "s3backupconfig:",
        "cacertificates:",
        "cloudprovider:",
        "tolerationseconds:",
        "nodeName:",
        "rollingUpdate:",
        "awsCloudProvider:",
        "win_extra_args:",
    ] {
        assert!(written.contains(key), "{key} missing from\n{written}");
    }
}
