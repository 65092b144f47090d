//! The naming codec between our config types (serde names = RKE1's YAML keys, as in
//! `cluster.yml`) and RKE1's JSON names (as in `cluster.rkestate`, e.g. `kubernetesVersion`,
//! `services.kubeApi.extraArgs`, `backupConfig.s3BackupConfig`).
//!
//! Only struct fields are renamed. Map keys (`extra_args`, `labels`, `options`) and free-form
//! `serde_json::Value` documents (audit policy, admission configuration) pass through untouched,
//! because serde hands them to us as maps, not structs.
//!
//! Limits, inherent to serde: a struct reached through `#[serde(flatten)]` or an untagged /
//! internally tagged enum is buffered by serde and bypasses the renaming; the config types avoid
//! those. Map keys must be strings.

mod de;
mod names;
mod path;
mod ser;

pub use names::{camel_case, json_name};
pub use path::{JsonPath, Seg};

use anyhow::anyhow;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Serialize `value` (YAML field names) into a JSON value with RKE1's JSON field names.
pub fn to_rke1_json<T: Serialize + ?Sized>(value: &T) -> anyhow::Result<Value> {
    value
        .serialize(ser::RenameSer)
        .map_err(|e| anyhow!("cannot convert to RKE1 JSON: {e}"))
}

/// Read a value written with RKE1's JSON field names into a type with YAML field names.
///
/// Returns the value and the paths (in JSON names, e.g. `services.kubeApi.podSecurityPolicy`,
/// `nodes[2].foo`) of keys that matched no field and were skipped.
pub fn from_rke1_json<T: DeserializeOwned>(value: &Value) -> anyhow::Result<(T, Vec<String>)> {
    let (v, unknown) = from_rke1_json_keeping(value)?;
    Ok((v, unknown.iter().map(|(p, _)| p.to_string()).collect()))
}

/// [`from_rke1_json`], returning the skipped keys with their values (so a save can put them
/// back) instead of only their paths.
pub fn from_rke1_json_keeping<T: DeserializeOwned>(
    value: &Value,
) -> anyhow::Result<(T, Vec<(JsonPath, Value)>)> {
    let ctx = de::Ctx::default();
    match T::deserialize(de::De::root(value, &ctx)) {
        Ok(v) => Ok((v, ctx.unknown.into_inner())),
        Err(e) => Err(match ctx.error_path.into_inner() {
            Some(path) => anyhow!("at `{path}`: {e}"),
            None => anyhow!("{e}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;
    use std::collections::BTreeMap;

    // Small stand-ins shaped like the real config types: YAML names, strict, defaults, omitempty.
    #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields, default)]
    struct Config {
        #[serde(skip_serializing_if = "Vec::is_empty")]
        nodes: Vec<Node>,
        services: Services,
        #[serde(skip_serializing_if = "String::is_empty")]
        kubernetes_version: String,
        ignore_docker_version: Option<bool>,
        #[serde(skip_serializing_if = "Option::is_none")]
        rotate_certificates: Option<Rotate>,
        #[serde(skip_serializing_if = "Option::is_none")]
        network_mode: Option<Mode>,
        #[serde(skip_serializing_if = "Option::is_none")]
        source: Option<Source>,
    }

    #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields, default)]
    struct Node {
        #[serde(rename = "nodeName", skip_serializing_if = "String::is_empty")]
        node_name: String,
        address: String,
        internal_address: String,
        role: Vec<String>,
        #[serde(skip_serializing_if = "BTreeMap::is_empty")]
        labels: BTreeMap<String, String>,
    }

    #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields, default)]
    struct Services {
        etcd: Etcd,
        #[serde(rename = "kube-api")]
        kube_api: KubeApi,
    }

    #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields, default)]
    struct Etcd {
        #[serde(skip_serializing_if = "BTreeMap::is_empty")]
        extra_args: BTreeMap<String, String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        backup_config: Option<Backup>,
    }

    #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields, default)]
    struct Backup {
        interval_hours: i64,
        s3backupconfig: Option<S3>,
    }

    #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields, default)]
    struct S3 {
        access_key: String,
        endpoint: String,
    }

    #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields, default)]
    struct KubeApi {
        service_cluster_ip_range: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        audit_log: Option<AuditLog>,
    }

    #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields, default)]
    struct AuditLog {
        enabled: bool,
        max_age: i64,
        /// Free-form upstream document: keys must stay as written.
        policy: Option<Value>,
    }

    #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields, default)]
    struct Rotate {
        cacertificates: bool,
        services: Vec<String>,
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    enum Mode {
        #[serde(rename = "hostNetwork")]
        HostNetwork,
        #[serde(rename = "hostPort")]
        HostPort,
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Source {
        Local { file_path: String },
        Url(String),
    }

    fn sample() -> Config {
        Config {
            nodes: vec![Node {
                node_name: "n1".into(),
                address: "10.0.0.1".into(),
                internal_address: "172.16.0.1".into(),
                role: vec!["etcd".into(), "controlplane".into()],
                labels: BTreeMap::from([("app_tier".into(), "front-end".into())]),
            }],
            services: Services {
                etcd: Etcd {
                    extra_args: BTreeMap::from([
                        ("election-timeout".into(), "5000".into()),
                        ("heartbeat_interval".into(), "500".into()),
                    ]),
                    backup_config: Some(Backup {
                        interval_hours: 12,
                        s3backupconfig: Some(S3 {
                            access_key: "AK".into(),
                            endpoint: "s3.example.com".into(),
                        }),
                    }),
                },
                kube_api: KubeApi {
                    service_cluster_ip_range: "10.43.0.0/16".into(),
                    audit_log: Some(AuditLog {
                        enabled: true,
                        max_age: 30,
                        policy: Some(json!({
                            "apiVersion": "audit.k8s.io/v1",
                            "omit_stages": ["RequestReceived"],
                            "rules": [{"level": "Metadata", "user_groups": ["a"]}]
                        })),
                    }),
                },
            },
            kubernetes_version: "v1.26.9-rancher1-1".into(),
            ignore_docker_version: None,
            rotate_certificates: Some(Rotate {
                cacertificates: true,
                services: vec!["etcd".into()],
            }),
            network_mode: Some(Mode::HostPort),
            source: Some(Source::Local {
                file_path: "/tmp/x".into(),
            }),
        }
    }

    #[test]
    fn serializes_struct_fields_with_rke1_json_names_only() {
        let v = to_rke1_json(&sample()).unwrap();
        let expected = json!({
            "nodes": [{
                "nodeName": "n1",
                "address": "10.0.0.1",
                "internalAddress": "172.16.0.1",
                "role": ["etcd", "controlplane"],
                "labels": {"app_tier": "front-end"}
            }],
            "services": {
                "etcd": {
                    "extraArgs": {"election-timeout": "5000", "heartbeat_interval": "500"},
                    "backupConfig": {
                        "intervalHours": 12,
                        "s3BackupConfig": {"accessKey": "AK", "endpoint": "s3.example.com"}
                    }
                },
                "kubeApi": {
                    "serviceClusterIpRange": "10.43.0.0/16",
                    "auditLog": {
                        "enabled": true,
                        "maxAge": 30,
                        "policy": {
                            "apiVersion": "audit.k8s.io/v1",
                            "omit_stages": ["RequestReceived"],
                            "rules": [{"level": "Metadata", "user_groups": ["a"]}]
                        }
                    }
                }
            },
            "kubernetesVersion": "v1.26.9-rancher1-1",
            "ignoreDockerVersion": null,
            "rotateCertificates": {"caCertificates": true, "services": ["etcd"]},
            "networkMode": "hostPort",
            "source": {"local": {"filePath": "/tmp/x"}}
        });
        assert_eq!(v, expected);
        // Field order follows the struct declaration (like Go's encoder).
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys[..3], ["nodes", "services", "kubernetesVersion"]);
    }

    #[test]
    fn round_trips_without_warnings() {
        let original = sample();
        let v = to_rke1_json(&original).unwrap();
        let (back, warnings): (Config, _) = from_rke1_json(&v).unwrap();
        assert_eq!(back, original);
        assert!(warnings.is_empty(), "{warnings:?}");

        let url = Config {
            source: Some(Source::Url("https://x/y.yaml".into())),
            ..Config::default()
        };
        let (back, _): (Config, _) = from_rke1_json(&to_rke1_json(&url).unwrap()).unwrap();
        assert_eq!(back, url);
    }

    #[test]
    fn unknown_keys_are_skipped_and_reported_with_their_path() {
        let v = json!({
            "nodes": [{"address": "a", "dockerSocket": "/run/docker.sock"}],
            "services": {"kubeApi": {"podSecurityPolicy": false, "serviceClusterIpRange": "r"}},
            "criDockerdStreamServerPort": "10010"
        });
        let (c, warnings): (Config, _) = from_rke1_json(&v).unwrap();
        assert_eq!(c.nodes[0].address, "a");
        assert_eq!(c.services.kube_api.service_cluster_ip_range, "r");
        assert_eq!(
            warnings,
            [
                "nodes[0].dockerSocket",
                "services.kubeApi.podSecurityPolicy",
                "criDockerdStreamServerPort"
            ]
        );
    }

    #[test]
    fn yaml_spelled_keys_are_not_json_names() {
        let v = json!({"kubernetes_version": "v1", "kubernetesVersion": "v2"});
        let (c, warnings): (Config, _) = from_rke1_json(&v).unwrap();
        assert_eq!(c.kubernetes_version, "v2");
        assert_eq!(warnings, ["kubernetes_version"]);
    }

    #[test]
    fn go_nulls_read_as_empty_or_default() {
        let v = json!({
            "nodes": [{"address": "a", "role": null, "labels": null}],
            "services": {"etcd": null, "kubeApi": {"auditLog": null}},
            "ignoreDockerVersion": null,
            "rotateCertificates": null
        });
        let (c, warnings): (Config, _) = from_rke1_json(&v).unwrap();
        assert!(warnings.is_empty());
        assert!(c.nodes[0].role.is_empty() && c.nodes[0].labels.is_empty());
        assert_eq!(c.services.etcd, Etcd::default());
        assert_eq!(c.services.kube_api.audit_log, None);
        assert_eq!(c.ignore_docker_version, None);
        assert_eq!(c.rotate_certificates, None);
        // A null struct at the root is an empty struct too.
        let (c, _): (Config, _) = from_rke1_json(&Value::Null).unwrap();
        assert_eq!(c, Config::default());
    }

    #[test]
    fn free_form_documents_keep_their_keys_when_read() {
        let v = json!({"services": {"kubeApi": {"auditLog": {"policy": {
            "omit_stages": ["x"], "rules": [{"user_groups": null, "nested": {"a_b": 1}}]
        }}}}});
        let (c, warnings): (Config, _) = from_rke1_json(&v).unwrap();
        assert!(warnings.is_empty());
        let policy = c.services.kube_api.audit_log.unwrap().policy.unwrap();
        assert_eq!(
            policy,
            json!({"omit_stages": ["x"], "rules": [{"user_groups": null, "nested": {"a_b": 1}}]})
        );
    }

    #[test]
    fn type_errors_name_the_json_path() {
        let v = json!({"nodes": [{"address": "a"}, {"role": "etcd"}]});
        let err = from_rke1_json::<Config>(&v).unwrap_err().to_string();
        assert!(err.contains("`nodes[1].role`"), "{err}");
        assert!(err.contains("invalid type"), "{err}");

        let v = json!({"networkMode": "bridge"});
        let err = from_rke1_json::<Config>(&v).unwrap_err().to_string();
        assert!(
            err.contains("`networkMode`") && err.contains("bridge"),
            "{err}"
        );
    }

    #[test]
    fn non_string_map_keys_are_rejected_on_serialize() {
        let m: BTreeMap<Vec<u8>, u8> = BTreeMap::from([(vec![1], 1)]);
        assert!(to_rke1_json(&m).is_err());
        let m: BTreeMap<u16, u8> = BTreeMap::from([(7, 1)]);
        assert_eq!(to_rke1_json(&m).unwrap(), json!({"7": 1}));
    }
}
