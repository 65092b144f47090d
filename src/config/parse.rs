//! Strict `cluster.yml` parsing: unknown keys, duplicate keys and type mismatches are errors
//! that name the file, line, column and key path, with a "did you mean" for misspelled keys.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_saphyr::{DefaultMessageFormatter, MessageFormatter};

use super::path::{Segment, dotted};
use super::suggest::suggest;
use super::tolerant::{Tolerant, Track};
use super::types::RkeConfig;
use crate::error::{ErrorKind, classified};

/// A problem in a configuration file, located as precisely as known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfigError {
    pub file: PathBuf,
    /// 1-based line.
    pub line: Option<usize>,
    /// 1-based column.
    pub column: Option<usize>,
    pub message: String,
    /// The key the user probably meant, for unknown keys.
    pub suggestion: Option<String>,
}

impl ConfigError {
    /// An error about `file` as a whole.
    pub fn new(file: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        ConfigError {
            file: file.into(),
            line: None,
            column: None,
            message: message.into(),
            suggestion: None,
        }
    }

    /// The same error, located at `line`:`column` (1-based).
    pub fn at(mut self, line: usize, column: usize) -> Self {
        self.line = Some(line);
        self.column = Some(column);
        self
    }

    /// As an `anyhow` error of class [`ErrorKind::Config`] (exit code 3).
    pub fn into_anyhow(self) -> anyhow::Error {
        classified(ErrorKind::Config, self.to_string())
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        match (self.line, self.column) {
            (Some(line), Some(column)) => write!(f, ":{line}:{column}")?,
            (Some(line), None) => write!(f, ":{line}")?,
            _ => {}
        }
        write!(f, ": {}", self.message)?;
        if let Some(suggestion) = &self.suggestion {
            write!(f, " (did you mean `{suggestion}`?)")?;
        }
        Ok(())
    }
}

// Deliberately no `std::error::Error` impl: `?` would then turn a `ConfigError` into an
// unclassified anyhow error (exit code 1). Call [`ConfigError::into_anyhow`] instead.

/// Parse `cluster.yml` text. `file` is only used in error messages.
pub fn parse_str(text: &str, file: &Path) -> Result<RkeConfig, ConfigError> {
    if let Err(bomb) = crate::limits::yaml::check_aliases(text) {
        return Err(ConfigError::new(file, bomb.to_string()).at(bomb.line, bomb.column));
    }
    let track = Track::default();
    let options = serde_saphyr::options! {
        // yaml.v2 (RKE1) reads YAML 1.1: `0644` is octal, as in Kubernetes manifests.
        legacy_octal_numbers: true,
    };
    let parsed = serde_saphyr::with_deserializer_from_str_with_options(text, options, |de| {
        Option::<RkeConfig>::deserialize(Tolerant::new(de, &track))
    });
    match parsed {
        Ok(Some(config)) => Ok(config),
        Ok(None) => Err(ConfigError::new(
            file,
            "the file is empty: expected a cluster configuration with at least `nodes:`",
        )),
        Err(err) => Err(convert_error(&err, file, track.error_path().as_deref())),
    }
}

/// Read and parse a `cluster.yml`.
pub fn parse_file(path: &Path) -> Result<RkeConfig, ConfigError> {
    let bytes = crate::limits::read_file(path, crate::limits::CLUSTER_YML)
        .map_err(|e| ConfigError::new(path, format!("cannot read the file: {e}")))?;
    let text = String::from_utf8(bytes)
        .map_err(|e| ConfigError::new(path, format!("the file is not valid UTF-8: {e}")))?;
    parse_str(&text, path)
}

/// Where in the key tree an error sits, for messages: "in services.kube-api" or "at the top
/// level".
fn describe_object(path: Option<&[Segment]>) -> String {
    match path {
        Some(path) if !path.is_empty() => format!("in {}", dotted(path)),
        Some(_) => "at the top level".to_string(),
        None => String::new(),
    }
}

fn convert_error(err: &serde_saphyr::Error, file: &Path, path: Option<&[Segment]>) -> ConfigError {
    let plain = err.without_snippet();
    let mut out = ConfigError::new(file, String::new());
    if let Some(location) = err.location().filter(|l| l.line() > 0) {
        out = out.at(location.line() as usize, location.column() as usize);
    }
    out.message = match plain {
        serde_saphyr::Error::SerdeUnknownField {
            field, expected, ..
        } => {
            out.suggestion = suggest(field, expected).map(str::to_string);
            join(format!("unknown field `{field}`"), describe_object(path))
        }
        serde_saphyr::Error::DuplicateMappingKey { key, .. } => {
            let key = key
                .as_deref()
                .map(|k| format!(" `{k}`"))
                .unwrap_or_default();
            join(format!("duplicate key{key}"), describe_object(path))
        }
        serde_saphyr::Error::ExternalMessage { msg, .. } => {
            // A parser error: the key path is only where parsing stopped, so leave it out.
            format!("YAML syntax error: {msg}")
        }
        other => {
            let text = friendly(&DefaultMessageFormatter.format_message(other));
            match path {
                Some(path) if !path.is_empty() => format!("{}: {text}", dotted(path)),
                _ => text,
            }
        }
    };
    out
}

/// Plain words for the YAML layer's terse type errors.
fn friendly(text: &str) -> String {
    let replaced = match text {
        "invalid boolean" => "expected a boolean (true or false)",
        "expected mapping start" => "expected a mapping (`key: value` entries)",
        "expected sequence start" => "expected a list",
        _ if text.starts_with("invalid i") || text.starts_with("invalid u") => {
            "expected a whole number"
        }
        _ if text.starts_with("invalid f") => "expected a number",
        _ => text,
    };
    replaced.to_string()
}

fn join(head: String, tail: String) -> String {
    if tail.is_empty() {
        head
    } else {
        format!("{head} {tail}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<RkeConfig, ConfigError> {
        parse_str(text, Path::new("cluster.yml"))
    }

    fn parse_err(text: &str) -> ConfigError {
        parse(text).expect_err("expected a parse error")
    }

    #[test]
    fn misspelled_service_key_is_located_with_suggestion() {
        let text = "nodes:\n  - address: 1.2.3.4\n    role: [etcd]\nservices:\n  kube-api:\n    extra-args:\n      v: 2\n";
        let err = parse_err(text);
        assert_eq!((err.line, err.column), (Some(6), Some(5)));
        assert_eq!(err.suggestion.as_deref(), Some("extra_args"));
        assert_eq!(
            err.to_string(),
            "cluster.yml:6:5: unknown field `extra-args` in services.kube-api (did you mean `extra_args`?)"
        );
    }

    #[test]
    fn misspelled_section_and_node_keys() {
        let err = parse_err("services:\n  kube_api: {}\n");
        assert_eq!((err.line, err.column), (Some(2), Some(3)));
        assert_eq!(err.suggestion.as_deref(), Some("kube-api"));
        assert_eq!(err.message, "unknown field `kube_api` in services");

        let err = parse_err("nodes:\n- address: a\n- adress: b\n  role: [worker]\n");
        assert_eq!((err.line, err.column), (Some(3), Some(3)));
        assert_eq!(err.suggestion.as_deref(), Some("address"));
        assert_eq!(err.message, "unknown field `adress` in nodes[1]");

        let err = parse_err("kubernetes_versoin: v1.20.15-rancher2-2\n");
        assert_eq!(
            err.message,
            "unknown field `kubernetes_versoin` at the top level"
        );
        assert_eq!(err.suggestion.as_deref(), Some("kubernetes_version"));

        let err = parse_err("completely_unrelated: 1\n");
        assert_eq!(err.suggestion, None);
    }

    #[test]
    fn duplicate_key_is_an_error() {
        let err = parse_err("nodes:\n  - address: a\n    address: b\n");
        assert_eq!((err.line, err.column), (Some(3), Some(5)));
        assert_eq!(err.message, "duplicate key `address` in nodes[0]");
    }

    #[test]
    fn type_error_carries_location_and_path() {
        let err = parse_err("services:\n  etcd:\n    uid: root\n");
        assert_eq!((err.line, err.column), (Some(3), Some(10)));
        assert_eq!(err.message, "services.etcd.uid: expected a whole number");

        let err = parse_err("nodes:\n  - address: a\n    labels: [x]\n");
        assert_eq!(err.line, Some(3));
        assert!(err.message.contains("nodes[0].labels"), "{}", err.message);
    }

    #[test]
    fn syntax_error_is_located() {
        let err = parse_err("nodes:\n  - address: a\n   role: [etcd\n");
        assert_eq!((err.line, err.column), (Some(3), Some(4)));
        assert!(err.message.starts_with("YAML syntax error: "), "{err}");
    }

    #[test]
    fn alias_bomb_is_refused_before_deserializing() {
        let mut text = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for level in 1..=9 {
            let items = vec![format!("*a{}", level - 1); 10].join(", ");
            text.push_str(&format!("a{level}: &a{level} [{items}]\n"));
        }
        let err = parse_err(&text);
        assert!(err.message.contains("alias bomb"), "{err}");
        assert!(err.line.is_some(), "{err:?}");
    }

    #[test]
    fn a_file_over_the_size_limit_is_refused_naming_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cluster.yml");
        let file = std::fs::File::create(&path).unwrap();
        file.set_len(crate::limits::CLUSTER_YML.bytes + 1).unwrap();
        let err = parse_file(&path).unwrap_err();
        assert!(
            err.to_string()
                .contains("more than the 16 MiB limit for cluster.yml"),
            "{err}"
        );
    }

    #[test]
    fn empty_file_is_a_clear_error() {
        for text in ["", "\n\n", "# only a comment\n", "---\n"] {
            let err = parse_err(text);
            assert_eq!(err.line, None);
            assert!(err.message.contains("empty"), "{text:?}: {err}");
        }
    }

    #[test]
    fn scalars_become_text_where_go_has_strings() {
        let cfg = parse(
            "nodes:\n  - address: 10.0.0.1\n    port: 22\n    role: [etcd, worker]\n    labels: {tier: 1, gpu: true, ratio: 1.50}\n\
             services:\n  kubelet:\n    extra_args: {v: 2, fail-swap-on: false}\n    extra_args_array: {x: [1, 2]}\n    extra_env: [A=1, 5]\n\
             kubernetes_version: v1.20.15-rancher2-2\n",
        )
        .unwrap();
        let node = &cfg.nodes[0];
        assert_eq!(node.port, "22");
        assert_eq!(node.labels["tier"], "1");
        assert_eq!(node.labels["gpu"], "true");
        assert_eq!(node.labels["ratio"], "1.50");
        let kubelet = &cfg.services.kubelet;
        assert_eq!(kubelet.extra_args["v"], "2");
        assert_eq!(kubelet.extra_args["fail-swap-on"], "false");
        assert_eq!(kubelet.extra_args_array["x"], vec!["1", "2"]);
        assert_eq!(kubelet.extra_env, vec!["A=1", "5"]);
    }

    #[test]
    fn null_reads_as_zero_value_like_yaml_v2() {
        let cfg = parse(
            "nodes:\n  - address: a\n    user:\n    labels:\n    taints:\n    ssh_agent_auth: ~\n    role:\n      - worker\n      -\n\
             services:\n  etcd:\n    uid:\n    snapshot:\n  kube-api:\nssh_key_path: null\ndns:\nsystem_images:\n",
        )
        .unwrap();
        let node = &cfg.nodes[0];
        assert_eq!(node.user, "");
        assert!(node.labels.is_empty() && node.taints.is_empty());
        assert!(!node.ssh_agent_auth);
        assert_eq!(node.role, vec!["worker", ""]);
        assert_eq!(cfg.services.etcd.uid, 0);
        assert_eq!(cfg.services.etcd.snapshot, None);
        assert_eq!(cfg.ssh_key_path, "");
        assert_eq!(cfg.dns, None);
    }

    #[test]
    fn yaml_1_1_booleans_and_octal_are_read_like_rke1() {
        let cfg = parse(
            "ssh_agent_auth: yes\nignore_docker_version: off\ningress:\n  extra_volumes:\n    - name: cfg\n      configMap: {name: c, defaultMode: 0644}\n",
        )
        .unwrap();
        assert!(cfg.ssh_agent_auth);
        assert_eq!(cfg.ignore_docker_version, Some(false));
        assert_eq!(
            cfg.ingress.extra_volumes[0]["configMap"]["defaultMode"],
            420
        );
    }

    #[test]
    fn free_form_documents_round_trip() {
        let text = r#"
services:
  kube-api:
    admission_configuration:
      apiVersion: apiserver.config.k8s.io/v1
      kind: AdmissionConfiguration
      plugins:
        - name: EventRateLimit
          configuration:
            apiVersion: eventratelimit.admission.k8s.io/v1alpha1
            kind: Configuration
            limits:
              - {type: Server, qps: 5000, burst: 20000}
    audit_log:
      enabled: true
      configuration:
        max_age: 6
        policy:
          apiVersion: audit.k8s.io/v1
          kind: Policy
          rules: [{level: Metadata, resources: [{group: "", resources: [secrets]}]}]
    secrets_encryption_config:
      enabled: true
      custom_config:
        apiVersion: apiserver.config.k8s.io/v1
        kind: EncryptionConfiguration
        resources:
          - resources: [secrets]
            providers:
              - aescbc: {keys: [{name: k1, secret: c2VjcmV0}]}
              - identity: {}
ingress:
  extra_envs: [{name: TZ, value: UTC}]
  extra_volume_mounts: [{name: cfg, mountPath: /etc/x, readOnly: true}]
  update_strategy: {strategy: RollingUpdate, rollingUpdate: {maxUnavailable: 5}}
  tolerations: [{key: k, operator: Exists, effect: NoExecute, tolerationseconds: 300}]
dns:
  provider: coredns
  update_strategy: {strategy: RollingUpdate, rollingUpdate: {maxUnavailable: 20%, maxSurge: 15%}}
"#;
        let first = parse(text).unwrap();
        let written = serde_saphyr::to_string(&first).unwrap();
        let second = parse(&written).unwrap();
        assert_eq!(first, second);
        let policy = first.services.kube_api.audit_log.as_ref().unwrap();
        let policy = policy
            .configuration
            .as_ref()
            .unwrap()
            .policy
            .as_ref()
            .unwrap();
        assert_eq!(
            policy["rules"][0]["resources"][0]["resources"][0],
            "secrets"
        );
        let strategy = first
            .dns
            .as_ref()
            .unwrap()
            .update_strategy
            .as_ref()
            .unwrap();
        let rolling = strategy.rolling_update.as_ref().unwrap();
        assert_eq!(
            rolling.max_surge,
            Some(crate::config::IntOrString::String("15%".into()))
        );
        assert_eq!(first.ingress.tolerations[0].toleration_seconds, Some(300));
    }

    #[test]
    fn config_error_serializes_and_classifies() {
        let err = ConfigError::new("c.yml", "bad").at(3, 4);
        let json = serde_json::to_value(&err).unwrap();
        assert_eq!(json["file"], "c.yml");
        assert_eq!(json["line"], 3);
        assert_eq!(json["column"], 4);
        assert_eq!(json["suggestion"], serde_json::Value::Null);
        let any = err.into_anyhow();
        assert_eq!(crate::error::kind_of(&any), ErrorKind::Config);
        assert_eq!(any.to_string(), "c.yml:3:4: bad");
    }

    #[test]
    fn parse_file_reports_missing_file() {
        let err = parse_file(Path::new("/nonexistent/cluster.yml")).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("/nonexistent/cluster.yml: cannot read the file")
        );
    }
}
