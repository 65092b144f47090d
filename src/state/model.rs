//! The contents of `cluster.rkestate` and their RKE1 JSON encoding (RKE1 `cluster/state.go`):
//!
//! ```text
//! { "desiredState": { "rkeConfig": {...}, "certificatesBundle": {...}, "encryptionConfig": "..." },
//!   "currentState": { same shape } }
//! ```
//!
//! `rkeConfig` goes through the naming codec ([`super::rke1_json`]); the bundle entries already
//! carry RKE1's JSON keys. Like Go's `omitempty`, a missing config, an empty bundle and an empty
//! encryption config are left out. Keys rke does not know, at any level, are kept and written
//! back ([`super::unknown`]).

use super::go_json;
use super::rke1_json::{JsonPath, from_rke1_json_keeping, to_rke1_json};
use super::unknown::UnknownKeys;
use crate::certs::{CertBundle, CertificatePki};
use anyhow::{Context, bail};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

const DESIRED_STATE: &str = "desiredState";
const CURRENT_STATE: &str = "currentState";
const RKE_CONFIG: &str = "rkeConfig";
const CERTIFICATES_BUNDLE: &str = "certificatesBundle";
const ENCRYPTION_CONFIG: &str = "encryptionConfig";

/// One side of the state: what is wanted (`desiredState`) or what was last applied
/// (`currentState`). `C` is the cluster config type (serde names = `cluster.yml` keys).
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterState<C = crate::config::RkeConfig> {
    pub rke_config: Option<C>,
    pub certificates_bundle: CertBundle,
    /// The kube-apiserver `EncryptionConfiguration` YAML, empty when secrets encryption is off.
    pub encryption_config: String,
    /// Keys of this side (and of its config and certificates) rke does not know.
    pub unknown: UnknownKeys,
}

impl<C> Default for ClusterState<C> {
    fn default() -> Self {
        ClusterState {
            rke_config: None,
            certificates_bundle: CertBundle::new(),
            encryption_config: String::new(),
            unknown: UnknownKeys::default(),
        }
    }
}

/// The whole `cluster.rkestate`.
#[derive(Debug, Clone, PartialEq)]
pub struct FullState<C = crate::config::RkeConfig> {
    pub desired_state: ClusterState<C>,
    pub current_state: ClusterState<C>,
    /// Top-level keys rke does not know.
    pub unknown: UnknownKeys,
}

impl<C> Default for FullState<C> {
    fn default() -> Self {
        FullState {
            desired_state: ClusterState::default(),
            current_state: ClusterState::default(),
            unknown: UnknownKeys::default(),
        }
    }
}

/// A decoded state plus the keys that were skipped because no field matched them (e.g. written
/// by a newer RKE1), as dotted JSON paths such as `desiredState.rkeConfig.services.kubeApi.foo`.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded<C> {
    pub state: FullState<C>,
    pub warnings: Vec<String>,
}

impl<C: Serialize> ClusterState<C> {
    fn to_json(&self) -> anyhow::Result<Value> {
        let mut map = Map::new();
        if let Some(config) = &self.rke_config {
            map.insert(RKE_CONFIG.into(), to_rke1_json(config)?);
        }
        if !self.certificates_bundle.is_empty() {
            map.insert(
                CERTIFICATES_BUNDLE.into(),
                serde_json::to_value(&self.certificates_bundle)?,
            );
        }
        if !self.encryption_config.is_empty() {
            map.insert(
                ENCRYPTION_CONFIG.into(),
                Value::String(self.encryption_config.clone()),
            );
        }
        Ok(with_unknown(map, &self.unknown))
    }
}

/// `map` with the kept unknown keys put back.
fn with_unknown(map: Map<String, Value>, unknown: &UnknownKeys) -> Value {
    let mut doc = Value::Object(map);
    for path in unknown.restore_into(&mut doc) {
        tracing::debug!("state: `{path}` (unknown to this rke) has no place any more: dropped");
    }
    doc
}

impl<C: Serialize> FullState<C> {
    /// The state as a JSON value with RKE1's names and key order.
    pub fn to_json(&self) -> anyhow::Result<Value> {
        let mut map = Map::new();
        map.insert(
            DESIRED_STATE.into(),
            self.desired_state.to_json().context(DESIRED_STATE)?,
        );
        map.insert(
            CURRENT_STATE.into(),
            self.current_state.to_json().context(CURRENT_STATE)?,
        );
        Ok(with_unknown(map, &self.unknown))
    }

    /// The file format: Go's `json.MarshalIndent(state, "", "  ")` plus a trailing newline.
    /// The same state always gives the same bytes.
    pub fn to_file_bytes(&self) -> anyhow::Result<Vec<u8>> {
        let mut bytes = go_json::to_vec_pretty(&self.to_json()?)?;
        bytes.push(b'\n');
        Ok(bytes)
    }

    /// Go's `json.Marshal(state)`: the form RKE1 stores in the cluster (`full-cluster-state`).
    pub fn to_compact_string(&self) -> anyhow::Result<String> {
        let bytes = go_json::to_vec_compact(&self.to_json()?)?;
        Ok(String::from_utf8(bytes)?)
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn object_at<'v>(value: &'v Value, path: &str) -> anyhow::Result<Option<&'v Map<String, Value>>> {
    match value {
        Value::Null => Ok(None),
        Value::Object(map) => Ok(Some(map)),
        other => bail!("`{path}` must be an object, found {}", type_name(other)),
    }
}

/// Bundle entries already use RKE1's JSON keys, which the codec maps to themselves; going
/// through it reports unknown entry keys like everywhere else.
fn bundle_from_json(
    value: &Value,
    path: &str,
    warnings: &mut Vec<String>,
    unknown: &mut UnknownKeys,
) -> anyhow::Result<CertBundle> {
    let mut bundle = CertBundle::new();
    for (name, entry) in object_at(value, path)?.into_iter().flatten() {
        let here = format!("{path}.{name}");
        let (cert, skipped): (CertificatePki, _) =
            from_rke1_json_keeping(entry).with_context(|| format!("in `{here}`"))?;
        for (p, v) in skipped {
            warnings.push(format!("{here}.{p}"));
            unknown.keep_for_certificate(name, &p, v, &cert.certificate_pem);
        }
        bundle.insert(name.clone(), cert);
    }
    Ok(bundle)
}

impl<C: DeserializeOwned> ClusterState<C> {
    fn from_json(value: &Value, path: &str, warnings: &mut Vec<String>) -> anyhow::Result<Self> {
        let mut state = ClusterState::default();
        for (key, v) in object_at(value, path)?.into_iter().flatten() {
            let here = format!("{path}.{key}");
            match key.as_str() {
                RKE_CONFIG if v.is_null() => {}
                RKE_CONFIG => {
                    let (config, skipped) =
                        from_rke1_json_keeping(v).with_context(|| format!("in `{here}`"))?;
                    for (p, v) in skipped {
                        warnings.push(format!("{here}.{p}"));
                        state.unknown.keep(p.under(&[RKE_CONFIG]), v);
                    }
                    state.rke_config = Some(config);
                }
                CERTIFICATES_BUNDLE => {
                    state.certificates_bundle =
                        bundle_from_json(v, &here, warnings, &mut state.unknown)?
                }
                ENCRYPTION_CONFIG => match v {
                    Value::Null => {}
                    Value::String(s) => state.encryption_config = s.clone(),
                    other => bail!("`{here}` must be a string, found {}", type_name(other)),
                },
                _ => {
                    warnings.push(here);
                    state.unknown.keep(JsonPath::default().key(key), v.clone());
                }
            }
        }
        Ok(state)
    }
}

impl<C: DeserializeOwned> FullState<C> {
    /// Read a state from its JSON value. Unknown keys are skipped and reported; values of the
    /// wrong type are errors naming their path.
    pub fn from_json(value: &Value) -> anyhow::Result<Loaded<C>> {
        let Value::Object(map) = value else {
            bail!(
                "expected a JSON object with `{DESIRED_STATE}` and `{CURRENT_STATE}`, found {}",
                type_name(value)
            );
        };
        let mut warnings = Vec::new();
        let mut state = FullState::default();
        for (key, v) in map {
            match key.as_str() {
                DESIRED_STATE => {
                    state.desired_state = ClusterState::from_json(v, key, &mut warnings)?
                }
                CURRENT_STATE => {
                    state.current_state = ClusterState::from_json(v, key, &mut warnings)?
                }
                _ => {
                    warnings.push(key.clone());
                    state.unknown.keep(JsonPath::default().key(key), v.clone());
                }
            }
        }
        Ok(Loaded { state, warnings })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields, default)]
    struct MiniConfig {
        kubernetes_version: String,
        cluster_name: String,
    }

    fn cert(name: &str) -> CertificatePki {
        CertificatePki {
            certificate_pem: format!(
                "-----BEGIN CERTIFICATE-----\n{name}\n-----END CERTIFICATE-----\n"
            ),
            name: name.into(),
            common_name: format!("system:{name}"),
            path: format!("/etc/kubernetes/ssl/{name}.pem"),
            ..CertificatePki::default()
        }
    }

    fn state() -> FullState<MiniConfig> {
        let desired = ClusterState {
            rke_config: Some(MiniConfig {
                kubernetes_version: "v1.26.9-rancher1-1".into(),
                cluster_name: "local".into(),
            }),
            certificates_bundle: CertBundle::from([
                ("kube-ca".to_string(), cert("kube-ca")),
                ("kube-admin".to_string(), cert("kube-admin")),
            ]),
            encryption_config: "kind: EncryptionConfiguration\n".into(),
            ..ClusterState::default()
        };
        FullState {
            desired_state: desired,
            current_state: ClusterState::default(),
            ..FullState::default()
        }
    }

    #[test]
    fn empty_sides_are_empty_objects_like_go() {
        let text = FullState::<MiniConfig>::default()
            .to_compact_string()
            .unwrap();
        assert_eq!(text, r#"{"desiredState":{},"currentState":{}}"#);
    }

    #[test]
    fn keys_come_in_rke1_order_with_json_names() {
        let v = state().to_json().unwrap();
        let top: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(top, ["desiredState", "currentState"]);
        let desired: Vec<&String> = v["desiredState"].as_object().unwrap().keys().collect();
        assert_eq!(
            desired,
            ["rkeConfig", "certificatesBundle", "encryptionConfig"]
        );
        assert_eq!(
            v["desiredState"]["rkeConfig"]["kubernetesVersion"],
            "v1.26.9-rancher1-1"
        );
        // The bundle map is sorted (Go sorts map keys).
        let names: Vec<&String> = v["desiredState"]["certificatesBundle"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        assert_eq!(names, ["kube-admin", "kube-ca"]);
        assert_eq!(
            v["desiredState"]["certificatesBundle"]["kube-ca"]["certificatePEM"],
            "-----BEGIN CERTIFICATE-----\nkube-ca\n-----END CERTIFICATE-----\n"
        );
        assert_eq!(v["currentState"], json!({}));
    }

    #[test]
    fn encoding_is_deterministic_and_round_trips() {
        let s = state();
        let a = s.to_file_bytes().unwrap();
        assert_eq!(a, s.clone().to_file_bytes().unwrap());
        assert!(a.ends_with(b"}\n"));
        let value: Value = serde_json::from_slice(&a).unwrap();
        let loaded = FullState::<MiniConfig>::from_json(&value).unwrap();
        assert_eq!(loaded.state, s);
        assert!(loaded.warnings.is_empty());
        let compact: Value = serde_json::from_str(&s.to_compact_string().unwrap()).unwrap();
        assert_eq!(compact, value);
    }

    #[test]
    fn unknown_keys_anywhere_become_warnings() {
        let v = json!({
            "desiredState": {
                "rkeConfig": {"kubernetesVersion": "v1", "newSetting": true},
                "certificatesBundle": {"kube-ca": {"name": "kube-ca", "csrPEM": ""}},
                "futureField": 1
            },
            "currentState": null,
            "schemaVersion": 2
        });
        let loaded = FullState::<MiniConfig>::from_json(&v).unwrap();
        assert_eq!(
            loaded
                .state
                .desired_state
                .rke_config
                .unwrap()
                .kubernetes_version,
            "v1"
        );
        assert_eq!(
            loaded.warnings,
            [
                "desiredState.rkeConfig.newSetting",
                "desiredState.certificatesBundle.kube-ca.csrPEM",
                "desiredState.futureField",
                "schemaVersion"
            ]
        );
    }

    #[test]
    fn go_nulls_read_as_absent() {
        let v = json!({"desiredState": {"rkeConfig": null, "certificatesBundle": null,
                                        "encryptionConfig": null}});
        let loaded = FullState::<MiniConfig>::from_json(&v).unwrap();
        assert_eq!(loaded.state, FullState::default());
    }

    #[test]
    fn wrong_types_are_errors_with_their_path() {
        let cases = [
            (json!([]), "expected a JSON object"),
            (
                json!({"desiredState": 3}),
                "`desiredState` must be an object",
            ),
            (
                json!({"currentState": {"certificatesBundle": {"kube-ca": {"keyPEM": 5}}}}),
                "`currentState.certificatesBundle.kube-ca`",
            ),
            (
                json!({"desiredState": {"encryptionConfig": []}}),
                "`desiredState.encryptionConfig` must be a string",
            ),
            (
                json!({"desiredState": {"rkeConfig": {"clusterName": 7}}}),
                "`clusterName`",
            ),
        ];
        for (v, want) in cases {
            let err = format!("{:#}", FullState::<MiniConfig>::from_json(&v).unwrap_err());
            assert!(err.contains(want), "{v}: {err}");
        }
    }
}
