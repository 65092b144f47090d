//! Host key verification end to end: policies, changed keys, host certificates.

use std::time::Duration;

use super::*;
use crate::transport::known_hosts;
use crate::transport::testkit::{self, FakeDockerd, TestSshd};
use russh::keys::ssh_key::certificate::CertType;

#[tokio::test]
async fn learned_key_passes_strict_and_changed_key_is_refused() {
    let lab = lab().await;
    one(
        lab.target("n1"),
        &lab.opts(HostKeyPolicy::AcceptNew),
        loader(&[]),
    )
    .await
    .unwrap();
    one(
        lab.target("n1"),
        &lab.opts(HostKeyPolicy::Strict),
        loader(&[]),
    )
    .await
    .unwrap();

    // Replace the recorded key with another one: the server's key now looks changed.
    let impostor = testkit::ed25519();
    let line =
        known_hosts::format_line("127.0.0.1", lab.sshd.port(), impostor.public_key()).unwrap();
    std::fs::write(&lab.known_hosts, format!("# header\n{line}\n")).unwrap();
    let err = one(
        lab.target("n1"),
        &lab.opts(HostKeyPolicy::AcceptNew),
        loader(&[]),
    )
    .await
    .unwrap_err();
    let msg = err.to_string();
    let host = format!("[127.0.0.1]:{}", lab.sshd.port());
    assert!(
        msg.starts_with(&format!("host key changed for n1 ({host})")),
        "{msg}"
    );
    assert!(
        msg.contains(&format!(
            "{}:2 expects ssh-ed25519 {}",
            lab.known_hosts.display(),
            known_hosts::fingerprint(impostor.public_key())
        )),
        "{msg}"
    );
    assert!(
        msg.contains(&known_hosts::fingerprint(lab.sshd.host_key.public_key())),
        "{msg}"
    );
    assert!(
        msg.contains(&format!(
            "ssh-keygen -R '{host}' -f {}",
            lab.known_hosts.display()
        )),
        "{msg}"
    );
    assert_eq!(err.kind(), crate::error::ErrorKind::Connection);
}

#[tokio::test]
async fn strict_refuses_unknown_host() {
    let lab = lab().await;
    let err = one(
        lab.target("n1"),
        &lab.opts(HostKeyPolicy::Strict),
        loader(&[]),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, TransportError::HostKeyUnknown { .. }),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains(&known_hosts::fingerprint(lab.sshd.host_key.public_key()))
    );
    assert!(!lab.known_hosts.exists());
}

#[tokio::test]
async fn host_certificate_accepted_through_cert_authority() {
    let dir = tempfile::tempdir().unwrap();
    let ca = testkit::ed25519();
    let host_key = testkit::ed25519();
    let cert = testkit::host_cert(&ca, host_key.public_key(), &["127.0.0.1"], CertType::Host);
    let sshd = TestSshd::start(host_key, vec![cert]).await;
    let user = testkit::ed25519();
    let key_path = dir.path().join("id");
    testkit::write_key(&key_path, &user, None);
    sshd.authorize(user.public_key());
    let dockerd = FakeDockerd::start(dir.path());
    let kh = dir.path().join("known_hosts");
    std::fs::write(
        &kh,
        format!(
            "@cert-authority [127.0.0.1]:* {}\n",
            ca.public_key().to_openssh().unwrap()
        ),
    )
    .unwrap();
    let opts = ConnectOptions {
        known_hosts: kh.clone(),
        policy: HostKeyPolicy::Strict,
        timeout: Duration::from_secs(10),
        concurrency: 1,
    };
    // Strict and no plain key recorded: only the certificate can make this pass.
    let t = target_for(
        &sshd,
        "certified",
        SshAuth::key_file(&key_path),
        &dockerd.socket,
    );
    one(t.clone(), &opts, loader(&[])).await.unwrap();
    assert_eq!(
        std::fs::read_to_string(&kh).unwrap().lines().count(),
        1,
        "nothing learned"
    );

    // A CA for other hosts does not vouch for this one.
    std::fs::write(
        &kh,
        format!(
            "@cert-authority *.example.com {}\n",
            ca.public_key().to_openssh().unwrap()
        ),
    )
    .unwrap();
    let err = one(t, &opts, loader(&[])).await.unwrap_err();
    assert!(
        matches!(err, TransportError::HostKeyUnknown { .. }),
        "{err}"
    );
}
