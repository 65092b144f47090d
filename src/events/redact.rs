//! The last line of defence for secrets: strings known to be secret (registry passwords, S3
//! and ECR keys, inline SSH keys from `cluster.yml`) are replaced in every JSON line before it
//! is written, should any message ever quote one. No event field carries them by design.

use std::sync::Mutex;

use crate::config::RkeConfig;

const MASK: &str = "[redacted]";

static SECRETS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Remember one secret (very short strings are ignored: masking "a" would mangle every line).
pub fn register(secret: &str) {
    let secret = secret.trim();
    if secret.len() < 4 {
        return;
    }
    let mut all = SECRETS.lock().unwrap_or_else(|e| e.into_inner());
    for form in [secret.to_string(), json_escaped(secret)] {
        if !all.contains(&form) {
            all.push(form);
        }
    }
    // Longest first, so a secret containing another is masked whole.
    all.sort_by_key(|s| std::cmp::Reverse(s.len()));
}

/// Remember every secret of a cluster configuration.
pub fn register_config(cfg: &RkeConfig) {
    for r in &cfg.private_registries {
        register(&r.password);
        if let Some(ecr) = &r.ecr_credential_plugin {
            register(&ecr.aws_access_key_id);
            register(&ecr.aws_secret_access_key);
            register(&ecr.aws_session_token);
        }
    }
    if let Some(s3) = cfg
        .services
        .etcd
        .backup_config
        .as_ref()
        .and_then(|b| b.s3_backup_config.as_ref())
    {
        register(&s3.access_key);
        register(&s3.secret_key);
    }
    register(&cfg.bastion_host.ssh_key);
    for n in &cfg.nodes {
        register(&n.ssh_key);
    }
}

/// `line` with every registered secret masked.
pub fn scrub(line: &str) -> String {
    let all = SECRETS.lock().unwrap_or_else(|e| e.into_inner());
    let mut out = line.to_string();
    for s in all.iter() {
        if out.contains(s.as_str()) {
            out = out.replace(s.as_str(), MASK);
        }
    }
    out
}

/// A log writer that masks secrets in what passes through it: the text log on stderr, so a
/// log line quoting a secret is masked as in the JSON stream.
#[derive(Clone)]
pub struct Masked<M>(pub M);

impl<'a, M: tracing_subscriber::fmt::MakeWriter<'a>> tracing_subscriber::fmt::MakeWriter<'a>
    for Masked<M>
{
    type Writer = MaskedWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        MaskedWriter(self.0.make_writer())
    }
}

/// One write of [`Masked`] (the formatter writes each log line whole).
pub struct MaskedWriter<W>(W);

impl<W: std::io::Write> std::io::Write for MaskedWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        self.0.write_all(scrub(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// The secret as it appears inside a JSON string.
fn json_escaped(s: &str) -> String {
    let quoted = serde_json::to_string(s).unwrap_or_default();
    quoted
        .strip_prefix('"')
        .and_then(|q| q.strip_suffix('"'))
        .unwrap_or(&quoted)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::layer::tests::capture;
    use crate::events::{render_event, render_result, report};

    const CONFIG: &str = "\
nodes:
  - address: 10.0.0.1
    user: rke
    role: [etcd, controlplane, worker]
private_registries:
  - url: registry.example.com
    user: ci
    password: \"Reg1stry\\\"Pa$$word\"
services:
  etcd:
    backup_config:
      interval_hours: 6
      retention: 3
      s3backupconfig:
        access_key: AKIAEXAMPLEACCESSKEY
        secret_key: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
        bucket_name: snaps
        endpoint: s3.example.com
";

    #[test]
    fn the_text_log_writer_masks_secrets() {
        use std::io::Write;
        use tracing_subscriber::fmt::MakeWriter;
        register("T3xtL0gSecretValue");
        let masked = Masked(std::sync::Mutex::new(Vec::new()));
        masked
            .make_writer()
            .write_all(b"WARN upload with T3xtL0gSecretValue failed\n")
            .unwrap();
        let text = String::from_utf8(masked.0.into_inner().unwrap()).unwrap();
        assert_eq!(text, format!("WARN upload with {MASK} failed\n"));
    }

    #[test]
    fn secrets_of_the_config_never_reach_events_or_results() {
        let loaded = crate::config::load::load_str(CONFIG, std::path::Path::new("cluster.yml"))
            .unwrap_or_else(|_| panic!("the test config parses"));
        let cfg = &loaded.config;
        let password = cfg.private_registries[0].password.clone();
        let s3 = cfg.services.etcd.backup_config.as_ref().unwrap();
        let s3 = s3.s3_backup_config.as_ref().unwrap();
        let secrets = [password.as_str(), &s3.access_key, &s3.secret_key];
        assert!(
            password.contains('"'),
            "the password needs JSON escaping: {password}"
        );

        // Messages that (wrongly) quote secrets, as a library error might.
        let events = capture(|| {
            tracing::info!(node = "n1", step = "images", "login with {password} failed");
            tracing::warn!("S3 said: {} / {}", s3.access_key, s3.secret_key);
            tracing::info!(registry = %password, "field");
        });
        let mut lines: Vec<String> = events.iter().map(render_event).collect();
        let r = report::Report {
            data: Some(serde_json::json!({ "config": format!("{cfg:?}") })),
            ..report::Report::default()
        };
        let err = anyhow::anyhow!("upload with key {} failed", s3.secret_key);
        lines.push(render_result(&r.result(9, 1, Some(&err))));

        for line in &lines {
            serde_json::from_str::<serde_json::Value>(line).expect("still JSON after masking");
            for secret in secrets {
                assert!(!line.contains(secret), "{secret} in {line}");
            }
        }
        assert!(lines.iter().all(|l| l.contains(MASK)), "{lines:?}");
    }
}
