//! The `cloud_provider:` section: in-tree AWS, Azure, OpenStack, vSphere and Harvester options.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::is_default;

/// The `cloud_provider:` section; rendered to `/etc/kubernetes/cloud-config`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CloudProvider {
    /// `aws`, `azure`, `openstack`, `vsphere`, `harvester`, `external` or a custom name.
    #[serde(skip_serializing_if = "is_default")]
    pub name: String,
    #[serde(
        rename = "useInstanceMetadataHostname",
        skip_serializing_if = "is_default"
    )]
    pub use_instance_metadata_hostname: Option<bool>,
    #[serde(rename = "awsCloudProvider", skip_serializing_if = "is_default")]
    pub aws_cloud_provider: Option<AwsCloudProvider>,
    #[serde(rename = "azureCloudProvider", skip_serializing_if = "is_default")]
    pub azure_cloud_provider: Option<AzureCloudProvider>,
    #[serde(rename = "openstackCloudProvider", skip_serializing_if = "is_default")]
    pub openstack_cloud_provider: Option<OpenstackCloudProvider>,
    #[serde(rename = "vsphereCloudProvider", skip_serializing_if = "is_default")]
    pub vsphere_cloud_provider: Option<VsphereCloudProvider>,
    #[serde(rename = "harvesterCloudProvider", skip_serializing_if = "is_default")]
    pub harvester_cloud_provider: Option<HarvesterCloudProvider>,
    /// A complete custom cloud-config file.
    #[serde(rename = "customCloudProvider", skip_serializing_if = "is_default")]
    pub custom_cloud_provider: String,
}

/// In-tree AWS cloud provider (Go `AWSCloudProvider`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AwsCloudProvider {
    #[serde(skip_serializing_if = "is_default")]
    pub global: GlobalAwsOpts,
    #[serde(skip_serializing_if = "is_default")]
    pub service_override: BTreeMap<String, ServiceOverride>,
}

/// AWS `[Global]` options.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GlobalAwsOpts {
    #[serde(skip_serializing_if = "is_default")]
    pub zone: String,
    #[serde(skip_serializing_if = "is_default")]
    pub vpc: String,
    #[serde(rename = "subnet-id", skip_serializing_if = "is_default")]
    pub subnet_id: String,
    #[serde(rename = "routetable-id", skip_serializing_if = "is_default")]
    pub route_table_id: String,
    #[serde(rename = "role-arn", skip_serializing_if = "is_default")]
    pub role_arn: String,
    #[serde(rename = "kubernetes-cluster-tag", skip_serializing_if = "is_default")]
    pub kubernetes_cluster_tag: String,
    #[serde(rename = "kubernetes-cluster-id", skip_serializing_if = "is_default")]
    pub kubernetes_cluster_id: String,
    #[serde(
        rename = "disable-security-group-ingress",
        skip_serializing_if = "is_default"
    )]
    pub disable_security_group_ingress: bool,
    #[serde(rename = "elb-security-group", skip_serializing_if = "is_default")]
    pub elb_security_group: String,
    #[serde(
        rename = "disable-strict-zone-check",
        skip_serializing_if = "is_default"
    )]
    pub disable_strict_zone_check: bool,
}

/// AWS `[ServiceOverride]` entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServiceOverride {
    #[serde(skip_serializing_if = "is_default")]
    pub service: String,
    #[serde(skip_serializing_if = "is_default")]
    pub region: String,
    #[serde(skip_serializing_if = "is_default")]
    pub url: String,
    #[serde(rename = "signing-region", skip_serializing_if = "is_default")]
    pub signing_region: String,
    #[serde(rename = "signing-method", skip_serializing_if = "is_default")]
    pub signing_method: String,
    #[serde(rename = "signing-name", skip_serializing_if = "is_default")]
    pub signing_name: String,
}

/// In-tree Azure cloud provider options.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AzureCloudProvider {
    #[serde(skip_serializing_if = "is_default")]
    pub cloud: String,
    #[serde(rename = "tenantId", skip_serializing_if = "is_default")]
    pub tenant_id: String,
    #[serde(rename = "subscriptionId", skip_serializing_if = "is_default")]
    pub subscription_id: String,
    #[serde(rename = "resourceGroup", skip_serializing_if = "is_default")]
    pub resource_group: String,
    #[serde(skip_serializing_if = "is_default")]
    pub location: String,
    #[serde(rename = "vnetName", skip_serializing_if = "is_default")]
    pub vnet_name: String,
    #[serde(rename = "vnetResourceGroup", skip_serializing_if = "is_default")]
    pub vnet_resource_group: String,
    #[serde(rename = "subnetName", skip_serializing_if = "is_default")]
    pub subnet_name: String,
    #[serde(rename = "securityGroupName", skip_serializing_if = "is_default")]
    pub security_group_name: String,
    #[serde(
        rename = "securityGroupResourceGroup",
        skip_serializing_if = "is_default"
    )]
    pub security_group_resource_group: String,
    #[serde(rename = "routeTableName", skip_serializing_if = "is_default")]
    pub route_table_name: String,
    #[serde(
        rename = "primaryAvailabilitySetName",
        skip_serializing_if = "is_default"
    )]
    pub primary_availability_set_name: String,
    #[serde(rename = "vmType", skip_serializing_if = "is_default")]
    pub vm_type: String,
    #[serde(rename = "primaryScaleSetName", skip_serializing_if = "is_default")]
    pub primary_scale_set_name: String,
    #[serde(rename = "aadClientId", skip_serializing_if = "is_default")]
    pub aad_client_id: String,
    #[serde(rename = "aadClientSecret", skip_serializing_if = "is_default")]
    pub aad_client_secret: String,
    #[serde(rename = "aadClientCertPath", skip_serializing_if = "is_default")]
    pub aad_client_cert_path: String,
    #[serde(rename = "aadClientCertPassword", skip_serializing_if = "is_default")]
    pub aad_client_cert_password: String,
    #[serde(rename = "cloudProviderBackoff", skip_serializing_if = "is_default")]
    pub cloud_provider_backoff: bool,
    #[serde(
        rename = "cloudProviderBackoffRetries",
        skip_serializing_if = "is_default"
    )]
    pub cloud_provider_backoff_retries: i64,
    #[serde(
        rename = "cloudProviderBackoffExponent",
        skip_serializing_if = "is_default"
    )]
    pub cloud_provider_backoff_exponent: i64,
    #[serde(
        rename = "cloudProviderBackoffDuration",
        skip_serializing_if = "is_default"
    )]
    pub cloud_provider_backoff_duration: i64,
    #[serde(
        rename = "cloudProviderBackoffJitter",
        skip_serializing_if = "is_default"
    )]
    pub cloud_provider_backoff_jitter: i64,
    #[serde(rename = "cloudProviderRateLimit", skip_serializing_if = "is_default")]
    pub cloud_provider_rate_limit: bool,
    #[serde(
        rename = "cloudProviderRateLimitQPS",
        skip_serializing_if = "is_default"
    )]
    pub cloud_provider_rate_limit_qps: i64,
    #[serde(
        rename = "cloudProviderRateLimitBucket",
        skip_serializing_if = "is_default"
    )]
    pub cloud_provider_rate_limit_bucket: i64,
    #[serde(rename = "useInstanceMetadata", skip_serializing_if = "is_default")]
    pub use_instance_metadata: bool,
    #[serde(
        rename = "useManagedIdentityExtension",
        skip_serializing_if = "is_default"
    )]
    pub use_managed_identity_extension: bool,
    #[serde(rename = "userAssignedIdentityID", skip_serializing_if = "is_default")]
    pub user_assigned_identity_id: String,
    #[serde(
        rename = "maximumLoadBalancerRuleCount",
        skip_serializing_if = "is_default"
    )]
    pub maximum_load_balancer_rule_count: i64,
    #[serde(rename = "loadBalancerSku", skip_serializing_if = "is_default")]
    pub load_balancer_sku: String,
    #[serde(
        rename = "excludeMasterFromStandardLB",
        skip_serializing_if = "is_default"
    )]
    pub exclude_master_from_standard_lb: Option<bool>,
    #[serde(skip_serializing_if = "is_default")]
    pub tags: String,
}

/// In-tree OpenStack cloud provider options.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OpenstackCloudProvider {
    #[serde(skip_serializing_if = "is_default")]
    pub global: GlobalOpenstackOpts,
    #[serde(skip_serializing_if = "is_default")]
    pub load_balancer: LoadBalancerOpenstackOpts,
    #[serde(skip_serializing_if = "is_default")]
    pub block_storage: BlockStorageOpenstackOpts,
    #[serde(skip_serializing_if = "is_default")]
    pub route: RouteOpenstackOpts,
    #[serde(skip_serializing_if = "is_default")]
    pub metadata: MetadataOpenstackOpts,
}

/// OpenStack `[Global]` options.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GlobalOpenstackOpts {
    #[serde(rename = "auth-url", skip_serializing_if = "is_default")]
    pub auth_url: String,
    #[serde(skip_serializing_if = "is_default")]
    pub username: String,
    #[serde(rename = "user-id", skip_serializing_if = "is_default")]
    pub user_id: String,
    #[serde(skip_serializing_if = "is_default")]
    pub password: String,
    #[serde(rename = "tenant-id", skip_serializing_if = "is_default")]
    pub tenant_id: String,
    #[serde(rename = "tenant-name", skip_serializing_if = "is_default")]
    pub tenant_name: String,
    #[serde(rename = "trust-id", skip_serializing_if = "is_default")]
    pub trust_id: String,
    #[serde(rename = "domain-id", skip_serializing_if = "is_default")]
    pub domain_id: String,
    #[serde(rename = "domain-name", skip_serializing_if = "is_default")]
    pub domain_name: String,
    #[serde(skip_serializing_if = "is_default")]
    pub region: String,
    #[serde(rename = "ca-file", skip_serializing_if = "is_default")]
    pub ca_file: String,
}

/// OpenStack `[LoadBalancer]` options.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoadBalancerOpenstackOpts {
    #[serde(rename = "lb-version", skip_serializing_if = "is_default")]
    pub lb_version: String,
    #[serde(rename = "use-octavia", skip_serializing_if = "is_default")]
    pub use_octavia: bool,
    #[serde(rename = "subnet-id", skip_serializing_if = "is_default")]
    pub subnet_id: String,
    #[serde(rename = "floating-network-id", skip_serializing_if = "is_default")]
    pub floating_network_id: String,
    #[serde(rename = "lb-method", skip_serializing_if = "is_default")]
    pub lb_method: String,
    #[serde(rename = "lb-provider", skip_serializing_if = "is_default")]
    pub lb_provider: String,
    #[serde(rename = "create-monitor", skip_serializing_if = "is_default")]
    pub create_monitor: bool,
    #[serde(rename = "monitor-delay", skip_serializing_if = "is_default")]
    pub monitor_delay: String,
    #[serde(rename = "monitor-timeout", skip_serializing_if = "is_default")]
    pub monitor_timeout: String,
    #[serde(rename = "monitor-max-retries", skip_serializing_if = "is_default")]
    pub monitor_max_retries: i64,
    #[serde(rename = "manage-security-groups", skip_serializing_if = "is_default")]
    pub manage_security_groups: bool,
}

/// OpenStack `[BlockStorage]` options.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BlockStorageOpenstackOpts {
    #[serde(rename = "bs-version", skip_serializing_if = "is_default")]
    pub bs_version: String,
    #[serde(rename = "trust-device-path", skip_serializing_if = "is_default")]
    pub trust_device_path: bool,
    #[serde(rename = "ignore-volume-az", skip_serializing_if = "is_default")]
    pub ignore_volume_az: bool,
}

/// OpenStack `[Route]` options.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RouteOpenstackOpts {
    #[serde(rename = "router-id", skip_serializing_if = "is_default")]
    pub router_id: String,
}

/// OpenStack `[Metadata]` options.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetadataOpenstackOpts {
    #[serde(rename = "search-order", skip_serializing_if = "is_default")]
    pub search_order: String,
    #[serde(rename = "request-timeout", skip_serializing_if = "is_default")]
    pub request_timeout: i64,
}

/// In-tree vSphere cloud provider options.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VsphereCloudProvider {
    #[serde(skip_serializing_if = "is_default")]
    pub global: GlobalVsphereOpts,
    /// Keyed by vCenter address.
    #[serde(skip_serializing_if = "is_default")]
    pub virtual_center: BTreeMap<String, VirtualCenterConfig>,
    #[serde(skip_serializing_if = "is_default")]
    pub network: NetworkVshpereOpts,
    #[serde(skip_serializing_if = "is_default")]
    pub disk: DiskVsphereOpts,
    #[serde(skip_serializing_if = "is_default")]
    pub workspace: WorkspaceVsphereOpts,
}

/// vSphere `[Global]` options.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GlobalVsphereOpts {
    #[serde(skip_serializing_if = "is_default")]
    pub user: String,
    #[serde(skip_serializing_if = "is_default")]
    pub password: String,
    #[serde(rename = "server", skip_serializing_if = "is_default")]
    pub vcenter_ip: String,
    #[serde(rename = "port", skip_serializing_if = "is_default")]
    pub vcenter_port: String,
    #[serde(rename = "insecure-flag", skip_serializing_if = "is_default")]
    pub insecure_flag: bool,
    #[serde(skip_serializing_if = "is_default")]
    pub datacenter: String,
    #[serde(skip_serializing_if = "is_default")]
    pub datacenters: String,
    #[serde(rename = "datastore", skip_serializing_if = "is_default")]
    pub default_datastore: String,
    #[serde(rename = "working-dir", skip_serializing_if = "is_default")]
    pub working_dir: String,
    #[serde(rename = "soap-roundtrip-count", skip_serializing_if = "is_default")]
    pub round_tripper_count: i64,
    #[serde(rename = "vm-uuid", skip_serializing_if = "is_default")]
    pub vm_uuid: String,
    #[serde(rename = "vm-name", skip_serializing_if = "is_default")]
    pub vm_name: String,
}

/// vSphere `[VirtualCenter \"addr\"]` options.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VirtualCenterConfig {
    #[serde(skip_serializing_if = "is_default")]
    pub user: String,
    #[serde(skip_serializing_if = "is_default")]
    pub password: String,
    #[serde(rename = "port", skip_serializing_if = "is_default")]
    pub vcenter_port: String,
    #[serde(skip_serializing_if = "is_default")]
    pub datacenters: String,
    #[serde(rename = "soap-roundtrip-count", skip_serializing_if = "is_default")]
    pub round_tripper_count: i64,
}

/// vSphere `[Network]` options (the Go name keeps its typo).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NetworkVshpereOpts {
    #[serde(rename = "public-network", skip_serializing_if = "is_default")]
    pub public_network: String,
}

/// vSphere `[Disk]` options.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DiskVsphereOpts {
    #[serde(rename = "scsicontrollertype", skip_serializing_if = "is_default")]
    pub scsi_controller_type: String,
}

/// vSphere `[Workspace]` options.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkspaceVsphereOpts {
    #[serde(rename = "server", skip_serializing_if = "is_default")]
    pub vcenter_ip: String,
    #[serde(skip_serializing_if = "is_default")]
    pub datacenter: String,
    #[serde(skip_serializing_if = "is_default")]
    pub folder: String,
    #[serde(rename = "default-datastore", skip_serializing_if = "is_default")]
    pub default_datastore: String,
    #[serde(rename = "resourcepool-path", skip_serializing_if = "is_default")]
    pub resource_pool_path: String,
}

/// Harvester cloud provider.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HarvesterCloudProvider {
    #[serde(skip_serializing_if = "is_default")]
    pub cloud_config: String,
}
