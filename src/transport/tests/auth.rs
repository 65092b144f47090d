//! Authentication end to end: inline, encrypted, RSA, certificate and agent keys.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::*;
use std::path::PathBuf;

use crate::transport::auth::KeyLoader;
use crate::transport::known_hosts;
use crate::transport::testkit;
use russh::keys::ssh_key::certificate::CertType;

#[tokio::test]
async fn inline_and_encrypted_keys() {
    let lab = lab().await;
    let opts = lab.opts(HostKeyPolicy::AcceptNew);
    let inline = lab
        .key
        .to_openssh(russh::keys::ssh_key::LineEnding::LF)
        .unwrap()
        .to_string();
    let mut t = lab.target("inline");
    t.auth = SshAuth {
        key: Some(inline),
        key_path: Some("/nonexistent/ignored".into()),
        ..SshAuth::default()
    };
    one(t, &opts, loader(&[])).await.unwrap();

    let enc = lab.dir.path().join("id_enc");
    testkit::write_key(&enc, &lab.key, Some("s3cret"));
    let mut t = lab.target("encrypted");
    t.auth = SshAuth::key_file(&enc);
    one(
        t.clone(),
        &opts,
        loader(&[("RKE_SSH_PASSPHRASE", "s3cret")]),
    )
    .await
    .unwrap();

    let err = one(t.clone(), &opts, loader(&[])).await.unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("the key is encrypted: put its passphrase in $RKE_SSH_PASSPHRASE"),
        "{msg}"
    );
    assert!(msg.contains(&enc.display().to_string()), "{msg}");

    let err = one(t.clone(), &opts, loader(&[("RKE_SSH_PASSPHRASE", "wrong")]))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("does not open it"), "{err}");

    // A custom variable, and the interactive prompt when stdin is a terminal.
    t.auth.passphrase_env = Some("MY_PASS".into());
    one(t.clone(), &opts, loader(&[("MY_PASS", "s3cret")]))
        .await
        .unwrap();
    let prompted = KeyLoader::with(
        Box::new(|_| None),
        Some(Box::new(|_| Ok("s3cret".to_string()))),
    );
    one(t, &opts, prompted).await.unwrap();
}

#[tokio::test]
async fn rsa_key_uses_sha2_signatures() {
    let lab = lab().await;
    let rsa = testkit::rsa();
    lab.sshd.authorize(rsa.public_key());
    let path = lab.dir.path().join("id_rsa");
    testkit::write_key(&path, &rsa, None);
    let mut t = lab.target("rsa");
    t.auth = SshAuth::key_file(&path);
    one(t, &lab.opts(HostKeyPolicy::AcceptNew), loader(&[]))
        .await
        .unwrap();
}

#[tokio::test]
async fn user_certificate_auth() {
    let lab = lab().await;
    let ca = testkit::ed25519();
    *lab.sshd.state.user_ca.lock().unwrap() = Some(ca.public_key().clone());
    let user_key = testkit::ed25519();
    let key_path = lab.dir.path().join("id_cert");
    testkit::write_key(&key_path, &user_key, None);
    let cert = testkit::host_cert(&ca, user_key.public_key(), &["rke"], CertType::User);
    let cert_path = lab.dir.path().join("id_cert-cert.pub");
    std::fs::write(&cert_path, cert.to_openssh().unwrap()).unwrap();
    let mut t = lab.target("cert");
    t.auth = SshAuth {
        key_path: Some(key_path.clone()),
        cert_path: Some(cert_path),
        ..SshAuth::default()
    };
    one(t.clone(), &lab.opts(HostKeyPolicy::AcceptNew), loader(&[]))
        .await
        .unwrap();

    // A certificate for another principal is refused, and the message says what was tried.
    let other = testkit::host_cert(&ca, user_key.public_key(), &["admin"], CertType::User);
    t.auth.cert_path = None;
    t.auth.cert = Some(other.to_openssh().unwrap());
    let err = one(t.clone(), &lab.opts(HostKeyPolicy::AcceptNew), loader(&[]))
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(msg.starts_with("no key accepted for rke@cert (tried: certificate ssh_cert (inline) (key id 'test'), key "), "{msg}");

    // A certificate for a different key is a configuration error, caught before connecting.
    t.auth.key_path = Some(lab.key_path.clone());
    let err = one(t, &lab.opts(HostKeyPolicy::AcceptNew), loader(&[]))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("the certificate is not for the key"),
        "{err}"
    );
}

#[tokio::test]
async fn rejected_key_lists_what_was_tried() {
    let lab = lab().await;
    let stranger = testkit::ed25519();
    let path = lab.dir.path().join("stranger");
    testkit::write_key(&path, &stranger, None);
    let mut t = lab.target("n1");
    t.auth = SshAuth::key_file(&path);
    let err = one(t, &lab.opts(HostKeyPolicy::AcceptNew), loader(&[]))
        .await
        .unwrap_err();
    let msg = err.to_string();
    let fp = known_hosts::fingerprint(stranger.public_key());
    assert!(
        msg.starts_with(&format!(
            "no key accepted for rke@n1 (tried: key {} (ssh-ed25519 {fp}))",
            path.display()
        )),
        "{msg}"
    );
    assert!(msg.contains("authorized_keys"), "{msg}");

    let mut t = lab.target("n2");
    t.auth = SshAuth::key_file("/nonexistent/id_rsa");
    let err = one(t, &lab.opts(HostKeyPolicy::AcceptNew), loader(&[]))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("SSH key for n2 (/nonexistent/id_rsa): cannot read the key file"),
        "{err}"
    );
}

/// A real `ssh-agent` process on a socket in a temp dir, stopped on drop.
struct Agent {
    child: std::process::Child,
    socket: PathBuf,
}

impl Agent {
    fn start(dir: &Path, keys: &[&Path]) -> Self {
        let socket = dir.join("agent.sock");
        let child = std::process::Command::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(&socket)
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("ssh-agent (openssh-client) is needed by the tests");
        for _ in 0..100 {
            if socket.exists() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        for key in keys {
            let st = std::process::Command::new("ssh-add")
                .arg(key)
                .env("SSH_AUTH_SOCK", &socket)
                .stderr(std::process::Stdio::null())
                .status()
                .unwrap();
            assert!(st.success());
        }
        Self { child, socket }
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn agent_auth_with_a_real_ssh_agent() {
    let lab = lab().await;
    // The agent holds a wrong key first, then the right one: both are offered.
    let decoy = testkit::ed25519();
    let decoy_path = lab.dir.path().join("decoy");
    testkit::write_key(&decoy_path, &decoy, None);
    let agent = Agent::start(lab.dir.path(), &[&decoy_path, &lab.key_path]);
    let sock = agent.socket.display().to_string();
    let mut t = lab.target("agent");
    t.auth = SshAuth {
        agent: true,
        key_path: Some("~/.ssh/rke-test-does-not-exist".into()),
        ..SshAuth::default()
    };
    one(
        t.clone(),
        &lab.opts(HostKeyPolicy::AcceptNew),
        loader(&[("SSH_AUTH_SOCK", &sock)]),
    )
    .await
    .unwrap();
    assert!(lab.sshd.state.publickey_attempts.load(Ordering::SeqCst) >= 1);

    let err = one(t, &lab.opts(HostKeyPolicy::AcceptNew), loader(&[]))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("SSH_AUTH_SOCK is not"), "{err}");
}
