//! `kube-controller-manager` and `kube-scheduler` (RKE1 `BuildKubeControllerProcess`,
//! `BuildSchedulerProcess`).

use super::args::{self, ArgMap};
use super::context::{Cluster, Host, container};
use super::health;
use super::paths::{self, KUBERNETES_DIR};
use super::types::{ContainerSpec, Plane};
use crate::certs::{KUBE_CA, KUBE_CONTROLLER_MANAGER, KUBE_SCHEDULER, SERVICE_ACCOUNT_TOKEN};

pub const CONTROLLER_MANAGER: &str = "kube-controller-manager";
pub const SCHEDULER: &str = "kube-scheduler";

/// From 1.22 both components authenticate and authorize requests with their own kubeconfig.
fn delegate_auth(cluster: &Cluster, a: &mut ArgMap) {
    if cluster.at_least(22)
        && let Some(kubeconfig) = a.get("kubeconfig").cloned()
    {
        a.insert("authentication-kubeconfig".into(), kubeconfig.clone());
        a.insert("authorization-kubeconfig".into(), kubeconfig);
    }
}

fn kubernetes_binds(cluster: &Cluster, host: &Host, extra: &[String]) -> Vec<String> {
    let mut binds = cluster.own_binds(vec![format!(
        "{}:{KUBERNETES_DIR}:z",
        host.path(KUBERNETES_DIR)
    )]);
    binds.extend(extra.iter().cloned());
    args::uniq(binds)
}

pub fn controller_manager(cluster: &Cluster, host: &Host) -> ContainerSpec {
    let svc = &cluster.cfg.services.kube_controller;
    let mut a = ArgMap::new();
    for (k, v) in [
        ("cloud-provider", cluster.cloud_provider_flag()),
        ("cluster-cidr", svc.cluster_cidr.clone()),
        ("kubeconfig", paths::kubeconfig(KUBE_CONTROLLER_MANAGER)),
        ("root-ca-file", paths::cert(KUBE_CA)),
        (
            "service-account-private-key-file",
            paths::key(SERVICE_ACCOUNT_TOKEN),
        ),
        (
            "service-cluster-ip-range",
            svc.service_cluster_ip_range.clone(),
        ),
    ] {
        a.insert(k.to_string(), v);
    }
    if cluster.has_cloud_provider() {
        a.insert("cloud-config".into(), paths::CLOUD_CONFIG.into());
    }
    args::apply_kdm(&mut a, &cluster.options.kube_controller);
    delegate_auth(cluster, &mut a);
    // RKE1 passed this outside the flag map, where extra_args could not override it.
    if cluster.rbac() {
        a.insert("use-service-account-credentials".into(), "true".into());
    }
    args::apply_extra(&mut a, &svc.extra_args);

    let mut spec = container(CONTROLLER_MANAGER, &svc.image, Plane::ControlPlane);
    spec.entrypoint = vec![CONTROLLER_MANAGER.into()];
    spec.args = args::render(&a, &svc.extra_args_array, &[]);
    spec.env = args::uniq(svc.extra_env.clone());
    spec.binds = kubernetes_binds(cluster, host, &svc.extra_binds);
    spec.health = Some(health::kube_controller_manager(cluster.version.minor));
    spec
}

pub fn scheduler(cluster: &Cluster, host: &Host) -> ContainerSpec {
    let svc = &cluster.cfg.services.scheduler;
    let mut a = ArgMap::from([("kubeconfig".to_string(), paths::kubeconfig(KUBE_SCHEDULER))]);
    args::apply_kdm(&mut a, &cluster.options.scheduler);
    delegate_auth(cluster, &mut a);
    args::apply_extra(&mut a, &svc.extra_args);

    let mut spec = container(SCHEDULER, &svc.image, Plane::ControlPlane);
    spec.entrypoint = vec![SCHEDULER.into()];
    spec.args = args::render(&a, &svc.extra_args_array, &[]);
    spec.env = args::uniq(svc.extra_env.clone());
    spec.binds = kubernetes_binds(cluster, host, &svc.extra_binds);
    spec.health = Some(health::kube_scheduler(cluster.version.minor));
    spec
}
