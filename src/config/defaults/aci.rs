//! Cisco ACI option defaults: RKE1 fills the typed `aci_network_provider` fields with defaults
//! and copies every text field into `network.options` under an `aci_*` key, which its template
//! reads. A data table, one row per field.

use std::collections::BTreeMap;

use crate::config::types::AciNetworkProvider;

/// Declares the table `field => "option key", provider default, is also a plugin default;`
/// and the two functions that apply it.
macro_rules! aci_options {
    ($($field:ident => $key:literal, $default:expr, $plugin:literal;)*) => {
        /// Option defaults that apply whenever `network.plugin` is `aci`, provider or not.
        pub(super) fn plugin_option_defaults(options: &mut BTreeMap<String, String>) {
            $(
                if $plugin {
                    let default: Option<&str> = $default;
                    if let Some(default) = default {
                        options.insert($key.to_string(), default.to_string());
                    }
                }
            )*
            // RKE1 keys these two by their template names (`AciContainersMemory*`), not `aci_*`.
            options.insert("AciContainersMemoryRequest".into(), "128Mi".into());
            options.insert("AciContainersMemoryLimit".into(), "3Gi".into());
        }

        /// Fill empty provider fields with their defaults, then copy every field into `options`.
        pub(super) fn apply_provider(
            provider: &mut AciNetworkProvider,
            options: &mut BTreeMap<String, String>,
        ) {
            $(
                let default: Option<&str> = $default;
                if let Some(default) = default
                    && provider.$field.is_empty()
                {
                    provider.$field = default.to_string();
                }
                options.insert($key.to_string(), provider.$field.clone());
            )*
        }
    };
}

aci_options! {
    ovs_memory_limit => "aci_ovs_memory_limit", Some("1Gi"), true;
    ovs_memory_request => "aci_ovs_memory_request", Some("128Mi"), true;
    image_pull_policy => "aci_image_pull_policy", Some("Always"), true;
    pbr_tracking_non_snat => "aci_pbr_tracking_non_snat", Some("false"), true;
    install_istio => "aci_install_istio", Some("false"), true;
    istio_profile => "aci_istio_profile", Some("demo"), true;
    drop_log_enable => "aci_drop_log_enable", Some("true"), true;
    controller_log_level => "aci_controller_log_level", Some("info"), true;
    host_agent_log_level => "aci_host_agent_log_level", Some("info"), true;
    opflex_agent_log_level => "aci_opflex_agent_log_level", Some("info"), true;
    apic_refresh_time => "aci_apic_refresh_time", Some("1200"), true;
    service_monitor_interval => "aci_server_monitor_interval", Some("5"), true;
    no_priority_class => "aci_no_priority_class", Some("false"), true;
    use_aci_cni_priority_class => "aci_use_aci_cni_priority_class", Some("false"), true;
    max_nodes_svc_graph => "aci_max_nodes_svc_graph", Some("32"), true;
    snat_contract_scope => "aci_snat_contract_scope", Some("global"), true;
    pod_subnet_chunk_size => "aci_pod_subnet_chunk_size", Some("32"), true;
    enable_endpoint_slice => "aci_enable_endpoint_slice", Some("false"), true;
    snat_namespace => "aci_snat_namespace", Some("aci-containers-system"), true;
    snat_port_range_start => "aci_snat_port_range_start", Some("5000"), true;
    snat_port_range_end => "aci_snat_port_range_end", Some("65000"), true;
    snat_ports_per_node => "aci_snat_ports_per_node", Some("3000"), true;
    opflex_client_ssl => "aci_opflex_client_ssl", Some("true"), true;
    use_privileged_container => "aci_use_privileged_container", Some("false"), true;
    use_opflex_server_volume => "aci_use_opflex_server_volume", Some("false"), true;
    use_host_netns_volume => "aci_use_host_netns_volume", Some("false"), true;
    capic => "aci_capic", Some("false"), true;
    use_aci_anywhere_crd => "aci_use_aci_anywhere_crd", Some("false"), true;
    run_gbp_container => "aci_run_gbp_container", Some("false"), true;
    run_opflex_server_container => "aci_run_opflex_server_container", Some("false"), true;
    duration_wait_for_network => "aci_duration_wait_for_network", Some("210"), true;
    disable_wait_for_network => "aci_disable_wait_for_network", Some("false"), true;
    use_cluster_role => "aci_use_cluster_role", Some("true"), true;
    apic_subscription_delay => "aci_apic_subscription_delay", Some("0"), true;
    apic_refresh_ticker_adjust => "aci_apic_refresh_ticker_adjust", Some("0"), true;
    disable_periodic_snat_global_info_sync => "aci_disable_periodic_snat_global_info_sync", Some("false"), true;
    opflex_device_delete_timeout => "aci_opflex_device_delete_timeout", Some("0"), true;
    mtu_head_room => "aci_mtu_head_room", Some("0"), true;
    node_pod_if_enable => "aci_node_pod_if_enable", Some("false"), true;
    sriov_enable => "aci_sriov_enable", Some("false"), true;
    multus_disable => "aci_multus_disable", Some("true"), true;
    no_wait_for_service_ep_readiness => "aci_no_wait_for_service_ep_readiness", Some("false"), true;
    add_external_subnets_to_rdconfig => "aci_add_external_subnets_to_rdconfig", Some("false"), true;
    service_graph_endpoint_add_delay => "aci_service_graph_endpoint_add_delay", Some("0"), true;
    hpp_optimization => "aci_hpp_optimization", Some("false"), true;
    sleep_time_snat_global_info_sync => "aci_sleep_time_snat_global_info_sync", Some("0"), true;
    opflex_agent_opflex_asyncjson_enabled => "aci_opflex_agent_opflex_asyncjson_enabled", Some("false"), true;
    opflex_agent_ovs_asyncjson_enabled => "aci_opflex_agent_ovs_asyncjson_enabled", Some("false"), true;
    opflex_agent_policy_retry_delay_timer => "aci_opflex_agent_policy_retry_delay_timer", Some("10"), true;
    aci_multipod => "aci_aci_multipod", Some("false"), true;
    aci_multipod_ubuntu => "aci_aci_multipod_ubuntu", Some("false"), true;
    dhcp_renew_max_retry_count => "aci_dhcp_renew_max_retry_count", Some("0"), true;
    dhcp_delay => "aci_dhcp_delay", Some("0"), true;
    use_system_node_priority_class => "aci_use_system_node_priority_class", Some("false"), true;
    aci_containers_memory_limit => "aci_aci_containers_memory_limit", Some("3Gi"), false;
    aci_containers_memory_request => "aci_aci_containers_memory_request", Some("128Mi"), false;
    opflex_agent_statistics => "aci_opflex_agent_statistics", Some("true"), false;
    add_external_contract_to_default_epg => "aci_add_external_contract_to_default_epg", Some("false"), false;
    enable_opflex_agent_reconnect => "aci_enable_opflex_agent_reconnect", Some("false"), false;
    opflex_openssl_compat => "aci_opflex_openssl_compat", Some("false"), false;
    toleration_seconds => "aci_toleration_seconds", Some("600"), false;
    disable_hpp_rendering => "aci_disable_hpp_rendering", Some("false"), false;
    apic_connection_retry_limit => "aci_apic_connection_retry_limit", Some("5"), false;
    taint_not_ready_node => "aci_taint_not_ready_node", Some("false"), false;
    enable_hpp_direct => "aci_enable_hpp_direct", Some("false"), false;
    proactive_conf => "aci_proactive_conf", Some("false"), false;
    epg_resolve_prioritize => "aci_epg_resolve_prioritize", Some("true"), false;
    force_ep_undeclares => "aci_force_ep_undeclares", Some("true"), false;
    enable_apic_request_retry_delay => "aci_enable_apic_request_retry_delay", Some("true"), false;
    apic_request_retry_delay => "aci_apic_request_retry_delay", Some("2"), false;
    drop_log_disable_events => "aci_drop_log_disable_events", Some("false"), false;
    opflex_startup_enabled => "aci_opflex_startup_enabled", Some("false"), true;
    opflex_startup_policy_duration => "aci_opflex_startup_policy_duration", Some("60"), true;
    opflex_startup_resolve_aft_conn => "aci_opflex_startup_resolve_aft_conn", Some("false"), true;
    opflex_switch_sync_delay => "aci_opflex_switch_sync_delay", Some("5"), true;
    opflex_switch_sync_dynamic => "aci_opflex_switch_sync_dynamic", Some("10"), true;
    opflex_device_reconnect_wait_timeout => "aci_opflex_device_reconnect_wait_timeout", None, false;
    system_identifier => "aci_system_identifier", None, false;
    token => "aci_token", None, false;
    apic_user_name => "aci_apic_user_name", None, false;
    apic_user_key => "aci_apic_user_key", None, false;
    apic_user_crt => "aci_apic_user_crt", None, false;
    vmm_domain => "aci_vmm_domain", None, false;
    vmm_controller => "aci_vmm_controller", None, false;
    encap_type => "aci_encap_type", None, false;
    mcast_range_start => "aci_mcast_range_start", None, false;
    mcast_range_end => "aci_mcast_range_end", None, false;
    node_subnet => "aci_node_subnet", None, false;
    aep => "aci_aep", None, false;
    vrf_name => "aci_vrf_name", None, false;
    vrf_tenant => "aci_vrf_tenant", None, false;
    l3out => "aci_l3out", None, false;
    dynamic_external_subnet => "aci_dynamic_external_subnet", None, false;
    static_external_subnet => "aci_static_external_subnet", None, false;
    service_graph_subnet => "aci_service_graph_subnet", None, false;
    kube_api_vlan => "aci_kubeapi_vlan", None, false;
    service_vlan => "aci_service_vlan", None, false;
    infra_vlan => "aci_infra_vlan", None, false;
    image_pull_secret => "aci_image_pull_secret", None, false;
    tenant => "aci_tenant", None, false;
    kafka_client_crt => "aci_kafka_client_crt", None, false;
    kafka_client_key => "aci_kafka_client_key", None, false;
    subnet_domain_name => "aci_subnet_domain_name", None, false;
    ep_registry => "aci_ep_registry", None, false;
    opflex_mode => "aci_opflex_mode", None, false;
    overlay_vrf_name => "aci_overlay_vrf_name", None, false;
    gbp_pod_subnet => "aci_gbp_pod_subnet", None, false;
    opflex_server_port => "aci_opflex_server_port", None, false;
    aci_containers_controller_memory_request => "aci_aci_containers_controller_memory_request", None, false;
    aci_containers_controller_memory_limit => "aci_aci_containers_controller_memory_limit", None, false;
    aci_containers_host_memory_request => "aci_aci_containers_host_memory_request", None, false;
    aci_containers_host_memory_limit => "aci_aci_containers_host_memory_limit", None, false;
    mcast_daemon_memory_request => "aci_mcast_daemon_memory_request", None, false;
    mcast_daemon_memory_limit => "aci_mcast_daemon_memory_limit", None, false;
    opflex_agent_memory_request => "aci_opflex_agent_memory_request", None, false;
    opflex_agent_memory_limit => "aci_opflex_agent_memory_limit", None, false;
    unknown_mac_unicast_action => "aci_unknown_mac_unicast_action", None, false;
    opflex_agent_reset_wait_delay => "aci_opflex_agent_reset_wait_delay", None, false;
    drop_log_opflex_redirect_drop_logs => "aci_drop_log_opflex_redirect_drop_logs", None, false;
}
