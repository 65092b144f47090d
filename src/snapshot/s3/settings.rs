//! Where snapshots go in S3: plain data built from `cluster.yml` or the CLI, validated once.

use crate::config::S3BackupConfig;
use crate::error::{ErrorKind, classified};
use std::fmt;

/// RKE1's `--s3-endpoint` default.
pub const DEFAULT_ENDPOINT: &str = "s3.amazonaws.com";
/// Region used when none is given (AWS's and most S3-compatible servers' default).
pub const DEFAULT_REGION: &str = "us-east-1";

/// S3 target for snapshot archives.
///
/// `endpoint` is RKE1's `host[:port]`, always reached over HTTPS as rke-tools does. RKE1 (minio-go)
/// rejects a scheme in the endpoint, so no existing config has one; we accept `https://host[:port]`
/// as the same thing and `http://host[:port]` as the explicit way to use plain HTTP.
/// Serializable for the recurring snapshot agent's settings file (mode 0600).
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct S3Settings {
    pub endpoint: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// PEM of the CA that signed the endpoint's certificate (RKE1 `custom_ca`: the content).
    pub endpoint_ca: Option<String>,
    pub access_key: String,
    /// Empty together with `access_key`: use instance or environment credentials.
    pub secret_key: String,
    pub bucket: String,
    pub region: String,
    /// Key prefix without leading or trailing `/`; empty for the bucket root.
    pub folder: String,
}

/// Never prints the secret key (and not the CA body, which is just noise).
impl fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secret = if self.secret_key.is_empty() {
            "<empty>"
        } else {
            "<redacted>"
        };
        f.debug_struct("S3Settings")
            .field("endpoint", &self.endpoint)
            .field(
                "endpoint_ca",
                &self
                    .endpoint_ca
                    .as_ref()
                    .map(|ca| format!("<{} bytes of PEM>", ca.len())),
            )
            .field("access_key", &self.access_key)
            .field("secret_key", &secret)
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("folder", &self.folder)
            .finish()
    }
}

/// The endpoint split into scheme and authority.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub https: bool,
    /// `host[:port]`.
    pub authority: String,
}

impl Endpoint {
    /// Parse `host[:port]`, `https://host[:port]` or `http://host[:port]` (one trailing `/` allowed).
    pub fn parse(text: &str) -> anyhow::Result<Endpoint> {
        let text = text.trim();
        let (https, rest) = if let Some(rest) = text.strip_prefix("https://") {
            (true, rest)
        } else if let Some(rest) = text.strip_prefix("http://") {
            (false, rest)
        } else if let Some((scheme, _)) = text.split_once("://") {
            return Err(config_error(format!(
                "S3 endpoint '{text}': unsupported scheme '{scheme}' (use host[:port], \
                 https://host[:port] or http://host[:port])"
            )));
        } else {
            (true, text)
        };
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.is_empty() || authority.contains(['/', '?', '#', '@', ' ']) {
            return Err(config_error(format!(
                "S3 endpoint '{text}' must be host[:port] (optionally with http:// or https://), \
                 without a path, user or query"
            )));
        }
        Ok(Endpoint {
            https,
            authority: authority.to_string(),
        })
    }

    pub fn url(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}", self.authority)
    }

    /// AWS's global endpoint: requests then go to the bucket's regional endpoint instead, which
    /// is what minio-go does for RKE1 by looking the bucket region up.
    pub fn is_aws_global(&self) -> bool {
        self.https && self.authority.eq_ignore_ascii_case(DEFAULT_ENDPOINT)
    }
}

impl S3Settings {
    /// From `services.etcd.backup_config.s3backupconfig`, with RKE1's defaults for empty fields.
    pub fn from_config(c: &S3BackupConfig) -> S3Settings {
        S3Settings {
            endpoint: non_empty_or(&c.endpoint, DEFAULT_ENDPOINT),
            endpoint_ca: Some(c.custom_ca.trim())
                .filter(|ca| !ca.is_empty())
                .map(|ca| format!("{ca}\n")),
            access_key: c.access_key.trim().to_string(),
            secret_key: c.secret_key.trim().to_string(),
            bucket: c.bucket_name.trim().to_string(),
            region: non_empty_or(&c.region, DEFAULT_REGION),
            folder: normalize_folder(&c.folder),
        }
    }

    /// Check what RKE1 checks (`validateEtcdBackupOptions`) plus what we can tell before
    /// connecting. `source` names where the settings came from, for the message.
    pub fn validate(&self, source: &str) -> anyhow::Result<()> {
        Endpoint::parse(&self.endpoint).map_err(|e| config_error(format!("{source}: {e}")))?;
        if self.bucket.is_empty() {
            return Err(config_error(format!(
                "{source}: the S3 bucket name is empty (bucket_name / --bucket-name)"
            )));
        }
        if self.access_key.is_empty() != self.secret_key.is_empty() {
            let missing = if self.access_key.is_empty() {
                "access_key / --access-key / RKE_S3_ACCESS_KEY"
            } else {
                "secret_key / --secret-key / RKE_S3_SECRET_KEY"
            };
            return Err(config_error(format!(
                "{source}: S3 {missing} is empty while the other key is set \
                 (give both, or neither to use instance credentials)"
            )));
        }
        if let Some(ca) = &self.endpoint_ca {
            check_ca_pem(ca).map_err(|e| config_error(format!("{source}: S3 custom_ca: {e}")))?;
        }
        Ok(())
    }

    pub fn parsed_endpoint(&self) -> anyhow::Result<Endpoint> {
        Endpoint::parse(&self.endpoint)
    }
}

/// At least one parseable X.509 certificate and nothing but certificates.
pub(crate) fn check_ca_pem(pem_text: &str) -> Result<(), String> {
    let blocks = pem::parse_many(pem_text.as_bytes()).map_err(|e| format!("not PEM: {e}"))?;
    if blocks.is_empty() {
        return Err("no PEM certificate found".into());
    }
    for b in &blocks {
        if b.tag() != "CERTIFICATE" {
            return Err(format!("unexpected PEM block '{}'", b.tag()));
        }
        x509_parser::parse_x509_certificate(b.contents())
            .map_err(|e| format!("invalid certificate: {e}"))?;
    }
    Ok(())
}

pub(crate) fn normalize_folder(folder: &str) -> String {
    folder.trim().trim_matches('/').to_string()
}

fn non_empty_or(value: &str, default: &str) -> String {
    let v = value.trim();
    if v.is_empty() { default } else { v }.to_string()
}

fn config_error(message: String) -> anyhow::Error {
    classified(ErrorKind::Config, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::kind_of;

    fn sample() -> S3Settings {
        S3Settings {
            endpoint: "minio.local:9000".into(),
            endpoint_ca: None,
            access_key: "AKIA".into(),
            secret_key: "very-secret-value".into(),
            bucket: "snaps".into(),
            region: DEFAULT_REGION.into(),
            folder: String::new(),
        }
    }

    #[test]
    fn endpoint_forms() {
        let e = Endpoint::parse("minio.local:9000").unwrap();
        assert!(e.https);
        assert_eq!(e.url(), "https://minio.local:9000");
        let e = Endpoint::parse("http://127.0.0.1:9000/").unwrap();
        assert!(!e.https);
        assert_eq!(e.url(), "http://127.0.0.1:9000");
        assert_eq!(
            Endpoint::parse("https://s3.example.com").unwrap().url(),
            "https://s3.example.com"
        );
        assert!(Endpoint::parse(DEFAULT_ENDPOINT).unwrap().is_aws_global());
        assert!(
            !Endpoint::parse("http://s3.amazonaws.com")
                .unwrap()
                .is_aws_global()
        );
    }

    #[test]
    fn endpoint_rejections_name_the_value() {
        for bad in ["ftp://x", "host/path", "", "https://", "user@host"] {
            let err = Endpoint::parse(bad).unwrap_err();
            assert_eq!(kind_of(&err), ErrorKind::Config, "{bad}");
            assert!(err.to_string().contains("S3 endpoint"), "{err}");
        }
    }

    #[test]
    fn from_config_applies_rke1_defaults() {
        let s = S3Settings::from_config(&S3BackupConfig {
            bucket_name: "b".into(),
            folder: "/a/b/".into(),
            ..Default::default()
        });
        assert_eq!(s.endpoint, DEFAULT_ENDPOINT);
        assert_eq!(s.region, DEFAULT_REGION);
        assert_eq!(s.folder, "a/b");
        assert_eq!(s.endpoint_ca, None);
        s.validate("cluster.yml").unwrap();
    }

    #[test]
    fn debug_hides_the_secret() {
        let text = format!("{:?}", sample());
        assert!(!text.contains("very-secret-value"), "{text}");
        assert!(text.contains("<redacted>"));
        assert!(text.contains("AKIA"));
    }

    #[test]
    fn validate_names_the_problem() {
        let mut s = sample();
        s.bucket.clear();
        let err = s.validate("cluster.yml").unwrap_err();
        assert_eq!(kind_of(&err), ErrorKind::Config);
        assert!(err.to_string().contains("cluster.yml") && err.to_string().contains("bucket"));

        let mut s = sample();
        s.access_key.clear();
        let err = s.validate("flags").unwrap_err().to_string();
        assert!(err.contains("access_key"), "{err}");
        assert!(!err.contains("very-secret-value"));

        let mut s = sample();
        s.endpoint_ca = Some("not a pem".into());
        let err = s.validate("cluster.yml").unwrap_err().to_string();
        assert!(err.contains("custom_ca"), "{err}");
    }

    #[test]
    fn accepts_a_real_ca() {
        let ca = rcgen::generate_simple_self_signed(vec!["ca.test".into()]).unwrap();
        let mut s = sample();
        s.endpoint_ca = Some(ca.cert.pem());
        s.validate("cluster.yml").unwrap();
    }
}
