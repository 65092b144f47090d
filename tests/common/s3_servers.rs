//! The moto S3 servers of tests/env/s3/moto.sh, started once per test binary.

use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

pub struct Servers {
    pub http: String,
    pub https: String,
    pub ca_pem: String,
    pub auth_endpoint: String,
    pub auth_access_key: String,
    pub auth_secret_key: String,
    pub auth_bucket: String,
}

/// The servers, or `None` when `RKE_E2E_SKIP=1` asks to skip environment-backed tests (the
/// convention of tests/common/e2e.rs). Any other failure to start them fails the test.
pub fn servers() -> Option<&'static Servers> {
    if std::env::var("RKE_E2E_SKIP").as_deref() == Ok("1") {
        eprintln!("RKE_E2E_SKIP=1: skipping a test that needs the local S3 servers");
        return None;
    }
    static SERVERS: OnceLock<Servers> = OnceLock::new();
    Some(SERVERS.get_or_init(start))
}

fn start() -> Servers {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/env/s3/moto.sh");
    let out = Command::new("bash")
        .arg(&script)
        .arg("start")
        .output()
        .expect("run tests/env/s3/moto.sh");
    assert!(
        out.status.success(),
        "tests/env/s3/moto.sh start failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let json_path = stdout
        .lines()
        .last()
        .expect("moto.sh prints servers.json's path");
    let v: Value = serde_json::from_str(&std::fs::read_to_string(json_path).unwrap()).unwrap();
    let s = |v: &Value| v.as_str().unwrap().to_string();
    // The secret key only: the access key ID is an identifier, and tests pass it as a flag.
    // Recorded for tests/env/check-secrets.sh, which proves no rke output ever shows it.
    super::e2e::append_to_file_named_by("RKE_E2E_SECRETS", &s(&v["auth"]["secret_key"]));
    Servers {
        http: s(&v["http"]),
        https: s(&v["https"]),
        ca_pem: std::fs::read_to_string(s(&v["ca"])).unwrap(),
        auth_endpoint: s(&v["auth"]["endpoint"]),
        auth_access_key: s(&v["auth"]["access_key"]),
        auth_secret_key: s(&v["auth"]["secret_key"]),
        auth_bucket: s(&v["auth"]["bucket"]),
    }
}

/// A bucket name no other test (or earlier run against the same servers) uses.
pub fn unique_bucket(tag: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "rke-{tag}-{}-{nanos}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
    .chars()
    .take(63)
    .collect()
}

/// Create a bucket with an unsigned `PUT /<bucket>` (moto's http/https servers do not check
/// signatures; object_store cannot create buckets).
pub async fn create_bucket(endpoint: &str, ca_pem: Option<&str>, bucket: &str) {
    let mut builder = reqwest::Client::builder();
    if let Some(pem) = ca_pem {
        builder =
            builder.add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes()).unwrap());
    }
    let resp = builder
        .build()
        .unwrap()
        .put(format!("{endpoint}/{bucket}"))
        .send()
        .await
        .unwrap();
    assert!(
        resp.status().is_success(),
        "create bucket {bucket}: {}",
        resp.status()
    );
}

/// Fetch an object by its raw key, to check keys independently of S3Store. The http server does
/// not verify signatures but refuses anonymous reads, so any well-formed SigV4 header will do.
pub async fn raw_get_status(endpoint: &str, bucket: &str, key: &str) -> u16 {
    reqwest::Client::new()
        .get(format!("{endpoint}/{bucket}/{key}"))
        .header(
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/s3/aws4_request, \
             SignedHeaders=host, Signature=00",
        )
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}
