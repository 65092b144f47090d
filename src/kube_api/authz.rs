//! RKE1's authorization objects (`templates/authz.go`), applied server-side after the control
//! plane is up. Kubelets cannot register without `system:node`, and `kubectl exec/logs` fail
//! without the API server's proxy role on nodes.

use std::collections::BTreeMap;

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Api;

use super::{KubeClient, api_error, apply_if_changed};
use crate::error::{ErrorKind, classified};

/// A fresh API server answers `/version` before its bootstrap has created `kube-system`.
const NAMESPACE_WAIT: Duration = Duration::from_secs(60);

/// Field manager for everything this module applies.
pub const AUTHZ_FIELD_MANAGER: &str = "rke";

const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// The typed objects, in apply order: service account, its binding, node binding, proxy role
/// and its binding.
pub fn authz_objects() -> (ServiceAccount, Vec<ClusterRoleBinding>, ClusterRole) {
    let meta = |name: &str| ObjectMeta {
        name: Some(name.into()),
        ..Default::default()
    };
    let role_ref = |kind: &str, name: &str| RoleRef {
        api_group: RBAC_GROUP.into(),
        kind: kind.into(),
        name: name.into(),
    };
    let account = ServiceAccount {
        metadata: ObjectMeta {
            namespace: Some("kube-system".into()),
            ..meta("rke-job-deployer")
        },
        ..Default::default()
    };
    let job_deployer = ClusterRoleBinding {
        metadata: meta("job-deployer"),
        role_ref: role_ref("ClusterRole", "cluster-admin"),
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".into(),
            name: "rke-job-deployer".into(),
            namespace: Some("kube-system".into()),
            ..Default::default()
        }]),
    };
    let system_node = ClusterRoleBinding {
        metadata: ObjectMeta {
            // As RKE1: the API server must not reconcile this binding back to no subjects.
            annotations: Some(BTreeMap::from([(
                "rbac.authorization.kubernetes.io/autoupdate".into(),
                "false".into(),
            )])),
            labels: Some(BTreeMap::from([(
                "kubernetes.io/bootstrapping".into(),
                "rbac-defaults".into(),
            )])),
            ..meta("system:node")
        },
        role_ref: role_ref("ClusterRole", "system:node"),
        subjects: Some(vec![Subject {
            api_group: Some(RBAC_GROUP.into()),
            kind: "Group".into(),
            name: "system:nodes".into(),
            ..Default::default()
        }]),
    };
    let proxy_role = ClusterRole {
        metadata: meta("proxy-clusterrole-kubeapiserver"),
        rules: Some(vec![PolicyRule {
            api_groups: Some(vec![String::new()]),
            resources: Some(
                [
                    "nodes/metrics",
                    "nodes/proxy",
                    "nodes/stats",
                    "nodes/log",
                    "nodes/spec",
                ]
                .map(String::from)
                .to_vec(),
            ),
            verbs: ["get", "list", "watch", "create"]
                .map(String::from)
                .to_vec(),
            ..Default::default()
        }]),
        ..Default::default()
    };
    let proxy_binding = ClusterRoleBinding {
        metadata: meta("proxy-role-binding-kubernetes-master"),
        role_ref: role_ref("ClusterRole", "proxy-clusterrole-kubeapiserver"),
        subjects: Some(vec![Subject {
            api_group: Some(RBAC_GROUP.into()),
            kind: "User".into(),
            name: "kube-apiserver".into(),
            ..Default::default()
        }]),
    };
    (
        account,
        vec![job_deployer, system_node, proxy_binding],
        proxy_role,
    )
}

impl KubeClient {
    /// Apply RKE1's authorization objects (server-side apply: idempotent, and it takes over
    /// objects an RKE1 run created); objects already as wanted are not written.
    pub async fn apply_authz(&self) -> anyhow::Result<()> {
        self.wait_kube_system().await?;
        let manager = AUTHZ_FIELD_MANAGER;
        let (account, bindings, role) = authz_objects();
        let accounts: Api<ServiceAccount> = Api::namespaced(self.client.clone(), "kube-system");
        apply_if_changed(&accounts, "rke-job-deployer", manager, &account)
            .await
            .map_err(|e| api_error("applying ServiceAccount kube-system/rke-job-deployer", e))?;
        let roles: Api<ClusterRole> = Api::all(self.client.clone());
        apply_if_changed(&roles, "proxy-clusterrole-kubeapiserver", manager, &role)
            .await
            .map_err(|e| api_error("applying ClusterRole proxy-clusterrole-kubeapiserver", e))?;
        let crbs: Api<ClusterRoleBinding> = Api::all(self.client.clone());
        for b in &bindings {
            let name = b.metadata.name.clone().unwrap_or_default();
            apply_if_changed(&crbs, &name, manager, b)
                .await
                .map_err(|e| api_error(format!("applying ClusterRoleBinding {name}"), e))?;
        }
        Ok(())
    }
}

impl KubeClient {
    async fn wait_kube_system(&self) -> anyhow::Result<()> {
        let namespaces: Api<Namespace> = Api::all(self.client.clone());
        let deadline = Instant::now() + NAMESPACE_WAIT;
        loop {
            let found = namespaces
                .get_opt("kube-system")
                .await
                .map_err(|e| api_error("reading namespace kube-system", e))?;
            if found.is_some() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(classified(
                    ErrorKind::KubernetesApi,
                    format!(
                        "namespace kube-system not created by the API server within {}s",
                        NAMESPACE_WAIT.as_secs()
                    ),
                ));
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_match_rke1_templates() {
        let (account, bindings, role) = authz_objects();
        assert_eq!(account.metadata.namespace.as_deref(), Some("kube-system"));
        assert_eq!(account.metadata.name.as_deref(), Some("rke-job-deployer"));
        let names: Vec<_> = bindings
            .iter()
            .map(|b| (b.metadata.name.clone().unwrap(), b.role_ref.name.clone()))
            .collect();
        assert_eq!(
            names,
            [
                ("job-deployer".to_string(), "cluster-admin".to_string()),
                ("system:node".into(), "system:node".into()),
                (
                    "proxy-role-binding-kubernetes-master".into(),
                    "proxy-clusterrole-kubeapiserver".into()
                ),
            ]
        );
        let node_subject = &bindings[1].subjects.as_ref().unwrap()[0];
        assert_eq!(
            (node_subject.kind.as_str(), node_subject.name.as_str()),
            ("Group", "system:nodes")
        );
        let proxy_subject = &bindings[2].subjects.as_ref().unwrap()[0];
        assert_eq!(
            (proxy_subject.kind.as_str(), proxy_subject.name.as_str()),
            ("User", "kube-apiserver")
        );
        let rule = &role.rules.as_ref().unwrap()[0];
        assert_eq!(rule.resources.as_ref().unwrap().len(), 5);
        assert_eq!(rule.verbs, ["get", "list", "watch", "create"]);
    }

    #[test]
    fn serialized_objects_carry_api_version_and_kind() {
        // Server-side apply rejects bodies without them.
        let (_, bindings, _) = authz_objects();
        let v = serde_json::to_value(&bindings[0]).unwrap();
        assert_eq!(v["apiVersion"], "rbac.authorization.k8s.io/v1");
        assert_eq!(v["kind"], "ClusterRoleBinding");
    }
}
