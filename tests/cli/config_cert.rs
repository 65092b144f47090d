//! `rke config` and `rke cert` from the built binary.

use crate::common::*;

#[test]
fn list_version_prints_the_default_and_all() {
    let out = rke().args(["config", "--list-version"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let default = stdout_of(&out).trim().to_string();
    assert!(default.starts_with("v1."), "{default}");

    let out = rke().args(["config", "-l", "-a"]).output().unwrap();
    let all = stdout_of(&out);
    let versions: Vec<&str> = all.lines().collect();
    assert!(versions.contains(&default.as_str()), "{all}");
    for minor in [
        "v1.20.", "v1.21.", "v1.22.", "v1.23.", "v1.24.", "v1.25.", "v1.26.", "v1.27.", "v1.28.",
        "v1.29.", "v1.30.", "v1.31.", "v1.32.",
    ] {
        assert!(
            versions.iter().any(|v| v.starts_with(minor)),
            "{minor} missing in {all}"
        );
    }
    // Every patch version, not only the newest of each minor; RKE v1.8.14's own versions too.
    for version in [
        "v1.30.14-rancher1-1",
        "v1.31.14-rancher1-1",
        "v1.32.5-rancher1-1",
        "v1.32.13-rancher1-2",
    ] {
        assert!(versions.contains(&version), "{version} missing in {all}");
    }
}

#[test]
fn system_images_for_a_version_and_an_unknown_one() {
    let out = rke()
        .args([
            "config",
            "--system-images",
            "--version",
            "v1.20.15-rancher2-2",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let images = stdout_of(&out);
    assert!(
        images.lines().any(|l| l.contains("hyperkube:v1.20.15")),
        "{images}"
    );
    assert!(images.lines().any(|l| l.contains("etcd")), "{images}");

    let out = rke()
        .args(["config", "-s", "--version", "v1.99.0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr_of(&out).contains("v1.32"), "{}", stderr_of(&out));
}

#[test]
fn empty_config_round_trips_through_the_parser() {
    let out = rke()
        .args(["config", "--empty", "--print"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = stdout_of(&out);
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(dir.path(), "cluster.yml", &text);
    // It parses (no unknown keys), and validation points at the blanks to fill in.
    let out = rke()
        .args(["validate", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr_of(&out).contains("address"), "{}", stderr_of(&out));
}

#[test]
fn non_interactive_config_writes_a_valid_file_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let name = dir.path().join("new.yml");
    let out = rke()
        .args(["config", "--name"])
        .arg(&name)
        .write_stdin("")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let text = std::fs::read_to_string(&name).unwrap();
    assert!(text.contains("network:"), "{text}");
    let out = rke()
        .args(["config", "--name"])
        .arg(&name)
        .write_stdin("")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(10), "{}", stderr_of(&out));
}

#[test]
fn cert_check_reports_every_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(dir.path(), "cluster.yml", THREE_NODES);
    let out = rke()
        .args(["cert", "check", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(11),
        "no state yet: {}",
        stderr_of(&out)
    );

    let out = rke()
        .args(["up", "--init", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let out = rke()
        .args(["cert", "check", "--output", "json", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let v = json_result(&out)["data"].clone();
    let certs = v["certificates"].as_array().unwrap();
    assert!(certs.len() >= 13, "{v}");
    let apiserver = certs
        .iter()
        .find(|c| c["name"] == "kube-apiserver")
        .unwrap();
    let days = apiserver["days_left"].as_i64().unwrap();
    assert!((3640..=3650).contains(&days), "{apiserver}");
    let sans = apiserver["sans"].to_string();
    for san in [
        "10.0.0.1",
        "10.0.0.2",
        "10.43.0.1",
        "127.0.0.1",
        "api.test.internal",
        "kubernetes.default.svc.cluster.local",
    ] {
        assert!(sans.contains(san), "{san} missing in {sans}");
    }

    let out = rke()
        .args(["cert", "check", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout_of(&out).contains("kube-etcd-10-0-0-3"));
}

#[test]
fn generate_csr_writes_requests_openssl_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(dir.path(), "cluster.yml", THREE_NODES);
    let out = rke()
        .args(["cert", "generate-csr", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let certs_dir = dir.path().join("cluster_certs");
    let csr = certs_dir.join("kube-apiserver-csr.pem");
    assert!(csr.exists(), "{}", stdout_of(&out));
    assert!(certs_dir.join("kube-apiserver-key.pem").exists());
    assert!(certs_dir.join("kube-etcd-10-0-0-2-csr.pem").exists());
    let out = std::process::Command::new("openssl")
        .args(["req", "-noout", "-verify", "-in"])
        .arg(&csr)
        .output()
        .expect("openssl must be installed");
    assert!(out.status.success(), "{}", stderr_of(&out));
}
