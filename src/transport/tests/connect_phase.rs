//! The connect phase end to end: exec, Docker, bastion, diagnostics, timeouts, tunnels.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::*;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::transport::connect::connect_all_with;
use crate::transport::known_hosts::KnownHosts;
use crate::transport::testkit::{self, TestSshd};

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
    assert_eq!(node.docker_facts().server_version, "20.10.24+dfsg1");
    assert_eq!(node.docker_facts().negotiated_api_version, "1.41");
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
    // A command that does not finish in time is a timeout naming the node, not a hang.
    let started = std::time::Instant::now();
    let err = node
        .exec_shell_within("sleep 5", std::time::Duration::from_millis(300))
        .await
        .unwrap_err();
    assert!(started.elapsed() < std::time::Duration::from_secs(3));
    assert!(
        err.to_string()
            .contains("a command on the node did not finish"),
        "{err}"
    );
    assert!(err.to_string().contains(node.name()), "{err}");

    // accept-new recorded the host key.
    let kh = KnownHosts::load(&lab.known_hosts).unwrap();
    assert_eq!(kh.entries.len(), 1);
    assert!(
        kh.entries_for("127.0.0.1", lab.sshd.port())
            .next()
            .is_some()
    );
    assert!(!node.is_closed());

    // Clones share the one SSH connection, from any task.
    fn shareable<T: Clone + Send + Sync + 'static>(_: &T) {}
    shareable(&node);
    let clone = node.clone();
    let out = tokio::spawn(async move { clone.exec(&["echo", "from a task"]).await })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(out.stdout_text(), "from a task\n");
    assert_eq!(lab.sshd.state.connections.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn bastion_hop_shares_one_connection() {
    let lab = lab().await;
    let bastion = TestSshd::start(testkit::ed25519(), vec![]).await;
    bastion.authorize(lab.key.public_key());
    let targets = lab.behind_bastion(&["a", "b"], &bastion);
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
    let targets = lab.behind_bastion(&["a", "b"], &bastion);
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
            reason: "administratively prohibited".into(),
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
