//! After a CA rotation the service-account signing key is new, so every token signed with the
//! old one is refused: delete the token Secrets (the token controller recreates them) and the
//! controller-owned pods that mount a token (their controllers recreate them with the new one).
//! Bare pods cannot come back by themselves: they are only reported.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::{Pod, Secret};
use kube::Api;
use kube::api::{DeleteParams, ListParams};

use super::{KubeClient, api_error};

/// The Secret type of legacy service-account tokens.
pub const SA_TOKEN_SECRET_TYPE: &str = "kubernetes.io/service-account-token";
/// Owners that recreate a deleted pod.
const RECREATING_OWNERS: [&str; 4] = ["ReplicaSet", "DaemonSet", "StatefulSet", "Job"];

/// What [`KubeClient::refresh_service_account_tokens`] did; names are `namespace/name`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenRefresh {
    pub secrets_deleted: Vec<String>,
    pub pods_deleted: Vec<String>,
    /// Pods that use a token but have no controller to recreate them: they keep failing to
    /// authenticate until someone recreates them.
    pub bare_pods: Vec<String>,
}

/// Whether a pod mounts a service-account token: a Secret volume naming one of
/// `token_secrets` (`namespace/name`), or a projected `serviceAccountToken` source.
pub fn uses_service_account_token(pod: &Pod, token_secrets: &BTreeSet<String>) -> bool {
    let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
    let volumes = pod
        .spec
        .as_ref()
        .and_then(|s| s.volumes.as_deref())
        .unwrap_or_default();
    volumes.iter().any(|v| {
        let secret = v
            .secret
            .as_ref()
            .and_then(|s| s.secret_name.as_deref())
            .is_some_and(|name| token_secrets.contains(&format!("{ns}/{name}")));
        let projected = v
            .projected
            .as_ref()
            .and_then(|p| p.sources.as_deref())
            .unwrap_or_default()
            .iter()
            .any(|s| s.service_account_token.is_some());
        secret || projected
    })
}

/// The kind of the pod's controlling owner, when that owner recreates deleted pods.
pub fn recreating_owner(pod: &Pod) -> Option<&str> {
    pod.metadata
        .owner_references
        .as_deref()
        .unwrap_or_default()
        .iter()
        .find(|o| o.controller == Some(true))
        .map(|o| o.kind.as_str())
        .filter(|kind| RECREATING_OWNERS.contains(kind))
}

fn full_name(meta: &kube::api::ObjectMeta) -> String {
    format!(
        "{}/{}",
        meta.namespace.as_deref().unwrap_or("default"),
        meta.name.as_deref().unwrap_or_default()
    )
}

impl KubeClient {
    /// Delete every service-account token Secret in every namespace, then every pod that
    /// mounts a token and has a controller to recreate it.
    pub async fn refresh_service_account_tokens(&self) -> anyhow::Result<TokenRefresh> {
        let mut done = TokenRefresh::default();
        let secrets: Api<Secret> = Api::all(self.client.clone());
        let tokens = secrets
            .list(&ListParams::default().fields(&format!("type={SA_TOKEN_SECRET_TYPE}")))
            .await
            .map_err(|e| api_error("listing service-account token Secrets", e))?;
        for secret in &tokens.items {
            let name = full_name(&secret.metadata);
            let ns = secret.metadata.namespace.as_deref().unwrap_or("default");
            let api: Api<Secret> = Api::namespaced(self.client.clone(), ns);
            api.delete(
                secret.metadata.name.as_deref().unwrap_or_default(),
                &DeleteParams::default(),
            )
            .await
            .map_err(|e| api_error(format!("deleting Secret {name}"), e))?;
            done.secrets_deleted.push(name);
        }
        let token_names: BTreeSet<String> = done.secrets_deleted.iter().cloned().collect();

        let pods: Api<Pod> = Api::all(self.client.clone());
        let list = pods
            .list(&ListParams::default())
            .await
            .map_err(|e| api_error("listing pods", e))?;
        for pod in &list.items {
            if !uses_service_account_token(pod, &token_names) {
                continue;
            }
            let name = full_name(&pod.metadata);
            if recreating_owner(pod).is_none() {
                done.bare_pods.push(name);
                continue;
            }
            let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
            let api: Api<Pod> = Api::namespaced(self.client.clone(), ns);
            match api
                .delete(
                    pod.metadata.name.as_deref().unwrap_or_default(),
                    &DeleteParams::default(),
                )
                .await
            {
                Ok(_) => done.pods_deleted.push(name),
                // Already gone (its controller was faster): nothing to do.
                Err(kube::Error::Api(s)) if s.code == 404 => {}
                Err(e) => return Err(api_error(format!("deleting pod {name}"), e)),
            }
        }
        Ok(done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(value: serde_json::Value) -> Pod {
        serde_json::from_value(value).unwrap()
    }

    fn tokens() -> BTreeSet<String> {
        ["apps/default-token-abcde".to_string()].into()
    }

    #[test]
    fn token_secret_volumes_count_only_in_their_namespace() {
        let p = |ns: &str| {
            pod(json!({"metadata": {"name": "p", "namespace": ns},
                "spec": {"containers": [], "volumes": [
                    {"name": "data", "secret": {"secretName": "not-a-token"}},
                    {"name": "token", "secret": {"secretName": "default-token-abcde"}}]}}))
        };
        assert!(uses_service_account_token(&p("apps"), &tokens()));
        assert!(!uses_service_account_token(&p("other"), &tokens()));
        let plain = pod(json!({"metadata": {"name": "p", "namespace": "apps"},
            "spec": {"containers": [], "volumes": [{"name": "e", "emptyDir": {}}]}}));
        assert!(!uses_service_account_token(&plain, &tokens()));
    }

    #[test]
    fn projected_tokens_count() {
        let p = pod(json!({"metadata": {"name": "p", "namespace": "x"},
            "spec": {"containers": [], "volumes": [{"name": "kube-api-access", "projected":
                {"sources": [{"serviceAccountToken": {"path": "token"}},
                             {"configMap": {"name": "kube-root-ca.crt"}}]}}]}}));
        assert!(uses_service_account_token(&p, &BTreeSet::new()));
    }

    #[test]
    fn only_controllers_that_recreate_pods_count_as_owners() {
        let owned = |kind: &str, controller: bool| {
            pod(json!({"metadata": {"name": "p", "ownerReferences": [{
                "apiVersion": "apps/v1", "kind": kind, "name": "o", "uid": "u",
                "controller": controller}]}}))
        };
        for kind in RECREATING_OWNERS {
            assert_eq!(recreating_owner(&owned(kind, true)), Some(kind));
        }
        assert_eq!(recreating_owner(&owned("ReplicaSet", false)), None);
        assert_eq!(recreating_owner(&owned("Node", true)), None);
        assert_eq!(
            recreating_owner(&pod(json!({"metadata": {"name": "p"}}))),
            None
        );
    }
}
