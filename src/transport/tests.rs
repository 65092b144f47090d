//! End-to-end tests of the transport against the in-process SSH server and fake Docker engine
//! of [`super::testkit`] (loopback only). Real nodes are covered by `tests/transport_nodes.rs`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::Duration;

use russh::keys::PrivateKey;
use russh::keys::ssh_key::certificate::CertType;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::auth::KeyLoader;
use super::connect::connect_all_with;
use super::known_hosts::{self, KnownHosts};
use super::testkit::{self, FakeDockerd, TestSshd};
use super::*;

struct Lab {
    dir: tempfile::TempDir,
    known_hosts: PathBuf,
    key: PrivateKey,
    key_path: PathBuf,
    sshd: TestSshd,
    dockerd: FakeDockerd,
}

async fn lab() -> Lab {
    let dir = tempfile::tempdir().unwrap();
    let key = testkit::ed25519();
    let key_path = dir.path().join("id_ed25519");
    testkit::write_key(&key_path, &key, None);
    let sshd = TestSshd::start(testkit::ed25519(), vec![]).await;
    sshd.authorize(key.public_key());
    let dockerd = FakeDockerd::start(dir.path());
    Lab {
        known_hosts: dir.path().join("ssh/known_hosts"),
        dir,
        key,
        key_path,
        sshd,
        dockerd,
    }
}

impl Lab {
    fn target(&self, name: &str) -> SshTarget {
        target_for(
            &self.sshd,
            name,
            SshAuth::key_file(&self.key_path),
            &self.dockerd.socket,
        )
    }

    fn opts(&self, policy: HostKeyPolicy) -> ConnectOptions {
        ConnectOptions {
            known_hosts: self.known_hosts.clone(),
            policy,
            timeout: Duration::from_secs(10),
            concurrency: 8,
        }
    }
}

fn target_for(sshd: &TestSshd, name: &str, auth: SshAuth, socket: &Path) -> SshTarget {
    SshTarget {
        name: name.into(),
        address: "127.0.0.1".into(),
        port: sshd.port(),
        user: "rke".into(),
        auth,
        docker_socket: socket.display().to_string(),
        bastion: None,
    }
}

fn loader(env: &[(&str, &str)]) -> KeyLoader {
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    KeyLoader::with(Box::new(move |k| env.get(k).cloned()), None)
}

async fn run(
    targets: &[SshTarget],
    opts: &ConnectOptions,
    keys: KeyLoader,
) -> (Vec<NodeConnection>, Vec<NodeError>) {
    connect_all_with(targets, opts, &|_| Ok(()), true, keys).await
}

async fn one(
    target: SshTarget,
    opts: &ConnectOptions,
    keys: KeyLoader,
) -> Result<NodeConnection, NodeError> {
    let (mut ok, mut err) = run(&[target], opts, keys).await;
    match ok.pop() {
        Some(n) => Ok(n),
        None => Err(err.pop().unwrap()),
    }
}

#[tokio::test]
async fn key_file_session_runs_exec_and_docker() {
    let lab = lab().await;
    let node = one(
        lab.target("n1"),
        &lab.opts(HostKeyPolicy::AcceptNew),
        loader(&[]),
    )
    .await
    .unwrap();
    assert_eq!(node.name(), "n1");
    assert_eq!(node.info().server_version, "20.10.24+dfsg1");
    assert_eq!(node.info().negotiated_api_version, "1.41");
    let requests = lab.dockerd.requests.lock().unwrap().clone();
    assert_eq!(
        requests[0], "GET /version HTTP/1.1",
        "unversioned probe first: {requests:?}"
    );
    // bollard 0.21.1 drops its `/v1.xx` prefix (`Url::join` with an absolute path), so the
    // engine answers at its own API level; should that be fixed, the prefix must be the
    // negotiated 1.41, which Docker 20.10 accepts (1.53 it would refuse).
    assert!(
        requests[1] == "GET /info HTTP/1.1" || requests[1] == "GET /v1.41/info HTTP/1.1",
        "{requests:?}"
    );

    // The bollard client goes through pooled streamlocal channels on the same session.
    assert_eq!(node.docker().ping().await.unwrap(), "OK");
    assert_eq!(lab.sshd.state.connections.load(Ordering::SeqCst), 1);

    let out = node
        .exec(&["printf", "%s|", "two words", "it's"])
        .await
        .unwrap();
    assert_eq!(out.stdout_text(), "two words|it's|");
    assert!(out.success());
    let out = node.exec_shell("echo oops >&2; exit 3").await.unwrap();
    assert_eq!(out.status, Some(3));
    assert_eq!(out.stderr_text(), "oops\n");

    // accept-new recorded the host key.
    let kh = KnownHosts::load(&lab.known_hosts).unwrap();
    assert_eq!(kh.entries.len(), 1);
    assert!(
        kh.entries_for("127.0.0.1", lab.sshd.port())
            .next()
            .is_some()
    );
    assert!(!node.is_closed());
}

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

#[tokio::test]
async fn bastion_hop_shares_one_connection() {
    let lab = lab().await;
    let bastion = TestSshd::start(testkit::ed25519(), vec![]).await;
    bastion.authorize(lab.key.public_key());
    let bastion_target = target_for(
        &bastion,
        "bastion",
        SshAuth::key_file(&lab.key_path),
        Path::new("/unused"),
    );
    let targets: Vec<SshTarget> = ["a", "b"]
        .iter()
        .map(|n| {
            let mut t = lab.target(n);
            t.bastion = Some(Box::new(bastion_target.clone()));
            t
        })
        .collect();
    let (nodes, errors) = run(&targets, &lab.opts(HostKeyPolicy::AcceptNew), loader(&[])).await;
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(nodes.len(), 2);
    assert_eq!(bastion.state.connections.load(Ordering::SeqCst), 1);
    let hops = bastion.state.tcpip_targets.lock().unwrap().clone();
    assert_eq!(hops, vec![format!("127.0.0.1:{}", lab.sshd.port()); 2]);
    assert_eq!(
        nodes[0].exec(&["echo", "via"]).await.unwrap().stdout_text(),
        "via\n"
    );
    // Both host keys were learned: the bastion's and the node's.
    let kh = KnownHosts::load(&lab.known_hosts).unwrap();
    assert_eq!(kh.entries.len(), 2);
}

#[tokio::test]
async fn bastion_failure_is_reported_for_each_node() {
    let lab = lab().await;
    let bastion = TestSshd::start(testkit::ed25519(), vec![]).await; // our key is not authorised
    let bastion_target = target_for(
        &bastion,
        "bastion",
        SshAuth::key_file(&lab.key_path),
        Path::new("/unused"),
    );
    let targets: Vec<SshTarget> = ["a", "b"]
        .iter()
        .map(|n| {
            let mut t = lab.target(n);
            t.bastion = Some(Box::new(bastion_target.clone()));
            t
        })
        .collect();
    let (nodes, errors) = run(&targets, &lab.opts(HostKeyPolicy::AcceptNew), loader(&[])).await;
    assert!(nodes.is_empty());
    assert_eq!(errors.len(), 2);
    assert_eq!(errors[0].node(), "a");
    assert_eq!(errors[1].node(), "b");
    assert!(
        errors[1]
            .to_string()
            .starts_with("cannot reach b through bastion bastion: no key accepted for rke@bastion"),
        "{}",
        errors[1]
    );
    assert_eq!(
        bastion.state.connections.load(Ordering::SeqCst),
        1,
        "one attempt, shared"
    );
}

fn fake_docker_cli(dir: &Path, exit: i32) -> String {
    let bin = dir.join(format!("bin{exit}"));
    std::fs::create_dir_all(&bin).unwrap();
    let script = bin.join("docker");
    std::fs::write(&script, format!("#!/bin/sh\nexit {exit}\n")).unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    format!("{}:/usr/bin:/bin", bin.display())
}

#[tokio::test]
async fn docker_socket_failures_are_diagnosed() {
    let lab = lab().await;
    let opts = lab.opts(HostKeyPolicy::AcceptNew);

    // Forwarding refused while the engine answers the docker CLI: certainly the sshd setting.
    lab.sshd
        .state
        .forbid_streamlocal
        .store(true, Ordering::SeqCst);
    *lab.sshd.state.exec_path.lock().unwrap() = Some(fake_docker_cli(lab.dir.path(), 0));
    let err = one(lab.target("n1"), &opts, loader(&[])).await.unwrap_err();
    assert_eq!(
        err,
        TransportError::StreamLocalForbidden {
            node: "n1".into(),
            socket: lab.dockerd.socket.display().to_string(),
            certain: true
        }
    );
    assert!(err.to_string().starts_with(
        "AllowStreamLocalForwarding is disabled on n1 (sshd refused the direct-streamlocal channel"
    ));

    // Without a docker CLI to ask, the message keeps the other causes open.
    *lab.sshd.state.exec_path.lock().unwrap() = Some("/nonexistent".into());
    let err = one(lab.target("n1"), &opts, loader(&[])).await.unwrap_err();
    assert!(
        matches!(
            err,
            TransportError::StreamLocalForbidden { certain: false, .. }
        ),
        "{err}"
    );

    // A socket path that does not exist.
    lab.sshd
        .state
        .forbid_streamlocal
        .store(false, Ordering::SeqCst);
    *lab.sshd.state.exec_path.lock().unwrap() = None;
    let mut t = lab.target("n1");
    t.docker_socket = lab.dir.path().join("missing.sock").display().to_string();
    let err = one(t, &opts, loader(&[])).await.unwrap_err();
    assert!(
        matches!(err, TransportError::DockerSocketMissing { .. }),
        "{err}"
    );
    assert_eq!(err.kind(), crate::error::ErrorKind::Docker);

    // A stale socket (engine stopped): connect() is refused, the CLI cannot reach it either.
    let stale = lab.dir.path().join("stale.sock");
    drop(std::os::unix::net::UnixListener::bind(&stale).unwrap());
    *lab.sshd.state.exec_path.lock().unwrap() = Some(fake_docker_cli(lab.dir.path(), 1));
    let mut t = lab.target("n1");
    t.docker_socket = stale.display().to_string();
    let err = one(t, &opts, loader(&[])).await.unwrap_err();
    assert!(
        matches!(err, TransportError::DockerNotRunning { .. }),
        "{err}"
    );
}

#[tokio::test]
async fn timeouts_and_refusals_name_the_node() {
    let lab = lab().await;
    // Accepts TCP but never speaks SSH, like a paused host.
    let mute = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .unwrap();
    let mute_port = mute.local_addr().unwrap().port();
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = mute.accept().await {
            held.push(s);
        }
    });
    let mut opts = lab.opts(HostKeyPolicy::AcceptNew);
    opts.timeout = Duration::from_secs(1);
    let mut t = lab.target("paused");
    t.port = mute_port;
    let started = std::time::Instant::now();
    let err = one(t, &opts, loader(&[])).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(
        err.to_string().starts_with(&format!("connection to paused (127.0.0.1:{mute_port}) timed out after 1 s (TCP connected but no SSH handshake")),
        "{err}"
    );
    holder.abort();

    let closed_port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut t = lab.target("down");
    t.port = closed_port;
    let err = one(t, &opts, loader(&[])).await.unwrap_err();
    assert!(
        err.to_string().starts_with(&format!(
            "cannot connect to down (127.0.0.1:{closed_port}): connection refused"
        )),
        "{err}"
    );
}

#[tokio::test]
async fn docker_version_policy_and_order_of_results() {
    let lab = lab().await;
    let mut down = lab.target("down");
    down.port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let targets = vec![lab.target("first"), down, lab.target("third")];
    let check = supported_docker_versions(vec!["19.03.x".into(), "20.10.x".into()]);
    let (nodes, errors) = connect_all_with(
        &targets,
        &lab.opts(HostKeyPolicy::AcceptNew),
        &check,
        false,
        loader(&[]),
    )
    .await;
    assert_eq!(
        nodes.iter().map(|n| n.name()).collect::<Vec<_>>(),
        ["first", "third"]
    );
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].node(), "down");

    let old = supported_docker_versions(vec!["1.13.x".into(), "17.03.x".into()]);
    let (nodes, errors) = connect_all_with(
        &targets[..1],
        &lab.opts(HostKeyPolicy::AcceptNew),
        &old,
        false,
        loader(&[]),
    )
    .await;
    assert!(nodes.is_empty());
    assert_eq!(
        errors[0].to_string(),
        "unsupported Docker version 20.10.24+dfsg1 on first, supported: 1.13.x, 17.03.x (set ignore_docker_version: true to skip this check)"
    );
    let (nodes, _) = connect_all_with(
        &targets[..1],
        &lab.opts(HostKeyPolicy::AcceptNew),
        &old,
        true,
        loader(&[]),
    )
    .await;
    assert_eq!(nodes.len(), 1);
}

#[tokio::test]
async fn tcp_tunnel_and_local_forward() {
    let lab = lab().await;
    let echo = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .unwrap();
    let echo_port = echo.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = echo.accept().await {
            tokio::spawn(async move {
                let (mut r, mut w) = s.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
            });
        }
    });
    let node = one(
        lab.target("n1"),
        &lab.opts(HostKeyPolicy::AcceptNew),
        loader(&[]),
    )
    .await
    .unwrap();

    let mut stream = node.open_tcp("127.0.0.1", echo_port).await.unwrap();
    stream.write_all(b"ping").await.unwrap();
    let mut buf = [0u8; 4];
    stream.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"ping");

    let forward = node.forward_local("127.0.0.1", echo_port).await.unwrap();
    for _ in 0..2 {
        let mut c = tokio::net::TcpStream::connect(forward.local_addr())
            .await
            .unwrap();
        c.write_all(b"pong").await.unwrap();
        c.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"pong");
    }
    assert_eq!(forward.remote(), format!("127.0.0.1:{echo_port}"));

    let Err(err) = node.open_tcp("127.0.0.1", 1).await else {
        panic!("port 1 should be closed");
    };
    assert!(
        err.to_string().contains("could not connect to 127.0.0.1:1"),
        "{err}"
    );
}

#[tokio::test]
async fn connect_without_any_credentials_is_a_clear_error() {
    let lab = lab().await;
    let mut t = lab.target("bare");
    t.auth = SshAuth::default();
    let err = one(t, &lab.opts(HostKeyPolicy::AcceptNew), loader(&[]))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no SSH key configured"), "{err}");
    assert_eq!(lab.sshd.state.connections.load(Ordering::SeqCst), 0);
}
