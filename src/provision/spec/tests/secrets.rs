//! No secret in any container spec: private keys, the encryption key, registry passwords and
//! cloud credentials only ever travel as files.

use super::*;
use crate::certs::{self, CertBundle};

const REGISTRY_PASSWORD: &str = "reg1stry-Pa55word";
const ENCRYPTION_SECRET: &str = "ZW5jcnlwdGlvbi1rZXktZm9yLXRoZS10ZXN0";
const CLOUD_PASSWORD: &str = "cl0ud-Pa55word";
const S3_SECRET: &str = "s3-Secr3t-Access-Key";

fn real_bundle(cfg: &RkeConfig) -> CertBundle {
    let input = crate::cluster::pki_input(cfg, Path::new("cluster.yml"));
    let now = time::OffsetDateTime::now_utc();
    certs::ensure(&input, &CertBundle::new(), now).unwrap().0
}

/// Every string a container carries into `docker inspect`.
fn visible_strings(spec: &ContainerSpec) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    out.extend(spec.entrypoint.iter().map(String::as_str));
    out.extend(spec.args.iter().map(String::as_str));
    out.extend(spec.env.iter().map(String::as_str));
    out.extend(spec.binds.iter().map(String::as_str));
    out.extend(spec.security_opt.iter().map(String::as_str));
    for (k, v) in &spec.labels {
        out.push(k);
        out.push(v);
    }
    out.push(&spec.image);
    out
}

/// The base64 body lines of every private key, long enough not to match by chance.
fn key_fragments(bundle: &CertBundle) -> Vec<String> {
    bundle
        .values()
        .flat_map(|e| e.key_pem.lines())
        .filter(|l| !l.starts_with("-----") && l.len() >= 32)
        .map(str::to_string)
        .collect()
}

#[test]
fn no_secret_reaches_a_container_spec() {
    for version in [V120, V132] {
        let cfg = config(
            version,
            &format!(
                "private_registries:
  - url: registry.example.com
    user: robot
    password: {REGISTRY_PASSWORD}
services:
  kube-api:
    secrets_encryption_config:
      enabled: true
  etcd:
    backup_config:
      s3backupconfig:
        bucket_name: snaps
        endpoint: minio.local:9000
        access_key: AKIA
        secret_key: {S3_SECRET}
cloud_provider:
  name: custom
  customCloudProvider: |
    [Global]
    password = {CLOUD_PASSWORD}
"
            ),
        );
        let bundle = real_bundle(&cfg);
        let fragments = key_fragments(&bundle);
        assert!(fragments.len() > 20, "the bundle has keys");
        let inputs = PlanInputs {
            encryption_config: crate::cluster::encryption::aescbc_provider_file(
                "key-1",
                ENCRYPTION_SECRET,
            ),
            snapshot_agent: Some(AgentBinary {
                sha256: "ab".repeat(32),
            }),
            state_json: format!("{{\"s3\":\"{S3_SECRET}\"}}"),
            ..PlanInputs::default()
        };
        let plans = plan_cluster_with(&cfg, &bundle, &inputs).unwrap();
        let mut checked = 0;
        for plan in &plans {
            for spec in &plan.containers {
                for s in visible_strings(spec) {
                    checked += 1;
                    assert!(!s.contains("PRIVATE KEY"), "{}: {s}", spec.name);
                    assert!(!s.contains(REGISTRY_PASSWORD), "{}: {s}", spec.name);
                    assert!(!s.contains(ENCRYPTION_SECRET), "{}: {s}", spec.name);
                    assert!(!s.contains(CLOUD_PASSWORD), "{}: {s}", spec.name);
                    assert!(!s.contains(S3_SECRET), "{}: {s}", spec.name);
                    for fragment in &fragments {
                        assert!(
                            !s.contains(fragment.as_str()),
                            "{}: key material",
                            spec.name
                        );
                    }
                }
            }
            // The secrets are where they belong: in secret files.
            for f in &plan.files {
                let text = String::from_utf8_lossy(&f.contents);
                if text.contains("PRIVATE KEY")
                    || text.contains(ENCRYPTION_SECRET)
                    || text.contains(CLOUD_PASSWORD)
                    || text.contains(S3_SECRET)
                {
                    assert!(f.secret && f.mode == 0o600, "{}", f.path);
                }
            }
            // And a printed plan does not show them.
            let printed = serde_json::to_string(plan).unwrap();
            for secret in [
                REGISTRY_PASSWORD,
                ENCRYPTION_SECRET,
                CLOUD_PASSWORD,
                S3_SECRET,
                "PRIVATE KEY",
            ] {
                assert!(!printed.contains(secret), "{}: {secret}", plan.node);
            }
        }
        assert!(checked > 300, "{checked}");
        let agents = plans
            .iter()
            .filter(|p| p.container(names::ETCD_ROLLING_SNAPSHOTS).is_some())
            .count();
        assert_eq!(agents, 3, "every etcd node runs the agent");
    }
}
