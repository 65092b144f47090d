//! The full cluster state kept inside the cluster (RKE1 `SaveFullStateToK8s`): Secret
//! `kube-system/full-cluster-state`, key `full-cluster-state`. Older RKE1 releases used a
//! ConfigMap of the same name; it is deleted once the Secret is written.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Api;
use kube::api::DeleteParams;

use super::{AUTHZ_FIELD_MANAGER, KubeClient, api_error, apply_if_changed};
use crate::error::{ErrorKind, classified};

pub const FULL_STATE_NAMESPACE: &str = "kube-system";
/// Both the object name and the data key.
pub const FULL_STATE_NAME: &str = "full-cluster-state";

/// RKE1 retries 30 times, 1 s apart: the API server may still be settling after an upgrade.
const SAVE_ATTEMPTS: u32 = 30;
const SAVE_BACKOFF: Duration = Duration::from_secs(1);

fn state_secret(json: &str) -> Secret {
    Secret {
        metadata: ObjectMeta {
            name: Some(FULL_STATE_NAME.into()),
            namespace: Some(FULL_STATE_NAMESPACE.into()),
            ..Default::default()
        },
        data: Some(BTreeMap::from([(
            FULL_STATE_NAME.to_string(),
            ByteString(json.as_bytes().to_vec()),
        )])),
        type_: Some("Opaque".into()),
        ..Default::default()
    }
}

impl KubeClient {
    /// Store the whole state (compact JSON) in the cluster and drop the legacy ConfigMap. A
    /// Secret that already holds this state is not written again.
    pub async fn save_state(&self, full_state_json_compact: &str) -> anyhow::Result<()> {
        let secrets: Api<Secret> = Api::namespaced(self.client.clone(), FULL_STATE_NAMESPACE);
        let secret = state_secret(full_state_json_compact);
        let mut attempt = 1;
        loop {
            match apply_if_changed(&secrets, FULL_STATE_NAME, AUTHZ_FIELD_MANAGER, &secret).await {
                Ok(_) => break,
                Err(e) if attempt >= SAVE_ATTEMPTS => {
                    return Err(api_error(
                        format!(
                            "saving Secret {FULL_STATE_NAMESPACE}/{FULL_STATE_NAME} ({attempt} attempts)"
                        ),
                        e,
                    ));
                }
                Err(e) => {
                    tracing::debug!(attempt, error = %e, "saving the cluster state Secret; retrying");
                    attempt += 1;
                    tokio::time::sleep(SAVE_BACKOFF).await;
                }
            }
        }
        let maps: Api<ConfigMap> = Api::namespaced(self.client.clone(), FULL_STATE_NAMESPACE);
        let legacy = maps.get_metadata_opt(FULL_STATE_NAME).await.map_err(|e| {
            api_error(
                format!("reading legacy ConfigMap {FULL_STATE_NAMESPACE}/{FULL_STATE_NAME}"),
                e,
            )
        })?;
        if legacy.is_none() {
            return Ok(());
        }
        match maps.delete(FULL_STATE_NAME, &DeleteParams::default()).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
            Err(e) => Err(api_error(
                format!("deleting legacy ConfigMap {FULL_STATE_NAMESPACE}/{FULL_STATE_NAME}"),
                e,
            )),
        }
    }

    /// The state JSON stored in the cluster: the Secret, else the legacy ConfigMap; `None`
    /// when neither exists.
    pub async fn read_state(&self) -> anyhow::Result<Option<String>> {
        read_state(&self.client).await
    }
}

/// [`KubeClient::read_state`] through any client (e.g. one built from a local kubeconfig).
pub async fn read_state(client: &kube::Client) -> anyhow::Result<Option<String>> {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), FULL_STATE_NAMESPACE);
    let secret = secrets.get_opt(FULL_STATE_NAME).await.map_err(|e| {
        api_error(
            format!("reading Secret {FULL_STATE_NAMESPACE}/{FULL_STATE_NAME}"),
            e,
        )
    })?;
    if let Some(s) = secret {
        let bytes = s
                .data
                .and_then(|mut d| d.remove(FULL_STATE_NAME))
                .ok_or_else(|| {
                    classified(
                        ErrorKind::KubernetesApi,
                        format!("Secret {FULL_STATE_NAMESPACE}/{FULL_STATE_NAME} has no key {FULL_STATE_NAME}"),
                    )
                })?;
        let text = String::from_utf8(bytes.0).map_err(|e| {
            api_error(
                format!("Secret {FULL_STATE_NAMESPACE}/{FULL_STATE_NAME}"),
                e,
            )
        })?;
        return Ok(Some(text));
    }
    let maps: Api<ConfigMap> = Api::namespaced(client.clone(), FULL_STATE_NAMESPACE);
    let map = maps.get_opt(FULL_STATE_NAME).await.map_err(|e| {
        api_error(
            format!("reading ConfigMap {FULL_STATE_NAMESPACE}/{FULL_STATE_NAME}"),
            e,
        )
    })?;
    Ok(map
        .and_then(|m| m.data)
        .and_then(|mut d| d.remove(FULL_STATE_NAME)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_holds_state_under_rke1_key() {
        let s = state_secret(r#"{"currentState":{}}"#);
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["kind"], "Secret");
        assert_eq!(v["metadata"]["namespace"], "kube-system");
        assert_eq!(v["metadata"]["name"], "full-cluster-state");
        // Secret data is base64 on the wire.
        assert_eq!(
            v["data"]["full-cluster-state"],
            "eyJjdXJyZW50U3RhdGUiOnt9fQ=="
        );
    }
}
