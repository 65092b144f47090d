//! SSH-level cases: users, key kinds, agent, bastion, host key policies, timeouts.

use std::process::Command;
use std::time::{Duration, Instant};

use rke::error::ErrorKind;
use rke::transport::{self, HostKeyPolicy, SshAuth, SshTarget, TimeoutStage, TransportError};

use super::{Env, PASSPHRASE_VAR, node_sh, one, restart_sshd, run_ok};

pub(crate) async fn root_and_docker_group_user(env: &Env) {
    let mut targets = Vec::new();
    for i in 0..3 {
        targets.push(env.target(i, "root"));
        targets.push(env.target(i, "rke"));
    }
    let check = transport::supported_docker_versions(vec!["19.03.x".into(), "20.10.x".into()]);
    let (nodes, errors) = transport::connect_all(&targets, &env.strict(), &check, false).await;
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(nodes.len(), 6);
    for (n, t) in nodes.iter().zip(&targets) {
        let f = n.docker_facts();
        assert!(f.server_version.starts_with("20.10."), "{f:?}");
        assert_eq!(f.api_version, "1.41");
        assert_eq!(f.root_dir, "/var/lib/docker");
        assert_eq!(f.os_type, "linux");
        assert_eq!(f.storage_driver, "overlay2");
        assert!(
            !f.architecture.is_empty()
                && !f.kernel_version.is_empty()
                && !f.cgroup_driver.is_empty()
        );
        assert_eq!(format!("{}/{}", f.hostname, t.user), t.name);
        let id = n.exec(&["id", "-un"]).await.unwrap();
        assert_eq!(id.stdout_text().trim(), t.user);
        let v = n.docker().version().await.unwrap();
        assert_eq!(v.version.as_deref(), Some(f.server_version.as_str()));
    }
    // The policy comes from the caller.
    let old = transport::supported_docker_versions(vec!["19.03.x".into()]);
    let (_, errors) = transport::connect_all(&targets[..1], &env.strict(), &old, false).await;
    let msg = errors[0].to_string();
    assert!(
        msg.starts_with("unsupported Docker version 20.10."),
        "{msg}"
    );
    assert!(
        msg.contains(&format!("on {}, supported: 19.03.x", targets[0].name)),
        "{msg}"
    );
    assert_eq!(errors[0].kind(), ErrorKind::Docker);
}

pub(crate) async fn inline_and_encrypted_keys(env: &Env) {
    let mut t = env.target(0, "rke");
    t.auth = SshAuth {
        key: Some(std::fs::read_to_string(&env.key).unwrap()),
        ..SshAuth::default()
    };
    one(t, &env.strict()).await.unwrap();

    let mut t = env.target(1, "rke");
    t.auth = SshAuth {
        key_path: Some(env.encrypted_key.clone()),
        passphrase_env: Some(PASSPHRASE_VAR.into()),
        ..SshAuth::default()
    };
    let n = one(t.clone(), &env.strict()).await.unwrap();
    assert_eq!(
        n.exec(&["echo", "encrypted ok"])
            .await
            .unwrap()
            .stdout_text(),
        "encrypted ok\n"
    );

    // No variable set and no terminal (the test's stdin is not one): a clear error.
    t.auth.passphrase_env = Some("RKE_E2E_UNSET_PASSPHRASE".into());
    let err = one(t, &env.strict()).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("the key is encrypted: put its passphrase in $RKE_E2E_UNSET_PASSPHRASE"),
        "{err}"
    );
}

pub(crate) async fn ssh_agent(env: &Env) {
    let mut t = env.target(2, "rke");
    t.auth = SshAuth {
        agent: true,
        // The RKE1 default path, absent here: with the agent on it must not matter.
        key_path: Some(env.tmp.path().join("no-such-key")),
        ..SshAuth::default()
    };
    let n = one(t, &env.strict()).await.unwrap();
    assert_eq!(n.exec(&["whoami"]).await.unwrap().stdout_text(), "rke\n");
}

pub(crate) async fn bastion(env: &Env) {
    // node1's sshd forwards to node2: a real second SSH handshake inside a direct-tcpip channel.
    let mut t = env.target(1, "rke");
    t.bastion = Some(Box::new(env.target(0, "rke")));
    let n = one(t, &env.strict()).await.unwrap();
    assert_eq!(n.docker_facts().hostname, env.nodes[1].0);
    // The node sees the connection coming from the bastion's address.
    let from = n
        .exec_shell("echo $SSH_CONNECTION")
        .await
        .unwrap()
        .stdout_text();
    assert!(from.starts_with(&format!("{} ", env.nodes[0].2)), "{from}");
}

pub(crate) async fn host_key_policies(env: &Env) {
    let kh = env.tmp.path().join("fresh/known_hosts");
    let targets: Vec<SshTarget> = (0..3).map(|i| env.target(i, "rke")).collect();
    let any = |_: &str| Ok(());
    let (ok, errors) =
        transport::connect_all(&targets, &env.opts(&kh, HostKeyPolicy::Strict), &any, true).await;
    assert!(ok.is_empty());
    assert_eq!(errors.len(), 3);
    for e in &errors {
        assert!(matches!(e, TransportError::HostKeyUnknown { .. }), "{e}");
    }
    assert!(!kh.exists());
    let (ok, errors) = transport::connect_all(
        &targets,
        &env.opts(&kh, HostKeyPolicy::AcceptNew),
        &any,
        true,
    )
    .await;
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(ok.len(), 3);
    let learned = std::fs::read_to_string(&kh).unwrap();
    assert_eq!(learned.lines().count(), 3, "{learned}");
    // What was learned is exactly what the environment recorded from the nodes.
    let recorded = std::fs::read_to_string(&env.known_hosts).unwrap();
    for line in learned.lines() {
        assert!(
            recorded.lines().any(|r| r.trim() == line.trim()),
            "{line} not in {recorded}"
        );
    }
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(
        std::fs::metadata(&kh).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let (ok, errors) =
        transport::connect_all(&targets, &env.opts(&kh, HostKeyPolicy::Strict), &any, true).await;
    assert_eq!((ok.len(), errors.len()), (3, 0));
}

pub(crate) async fn regenerated_host_key(env: &Env) {
    let (name, container, address) = &env.nodes[2];
    node_sh(
        container,
        "mkdir -p /root/hostkeys.bak && cp -a /etc/ssh/ssh_host_* /root/hostkeys.bak/",
    );
    node_sh(
        container,
        "rm -f /etc/ssh/ssh_host_* && ssh-keygen -A >/dev/null",
    );
    restart_sshd(container, address);
    let new_fp = node_sh(
        container,
        "ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub",
    );
    let new_fp = new_fp.split_whitespace().nth(1).unwrap().to_string();

    let result = one(
        env.target(2, "rke"),
        &env.opts(&env.known_hosts, HostKeyPolicy::AcceptNew),
    )
    .await;

    node_sh(
        container,
        "cp -a /root/hostkeys.bak/* /etc/ssh/ && rm -rf /root/hostkeys.bak",
    );
    restart_sshd(container, address);

    let err = result.unwrap_err();
    let msg = err.to_string();
    let line = std::fs::read_to_string(&env.known_hosts)
        .unwrap()
        .lines()
        .position(|l| l.starts_with(&format!("{address} ssh-ed25519 ")))
        .unwrap()
        + 1;
    assert!(
        msg.starts_with(&format!(
            "host key changed for {name}/rke ({address}): {}:{line} expects ssh-ed25519 SHA256:",
            env.known_hosts.display()
        )),
        "{msg}"
    );
    assert!(
        msg.contains(&format!("presented ssh-ed25519 {new_fp}")),
        "{msg}"
    );
    assert!(
        msg.contains(&format!(
            "ssh-keygen -R '{address}' -f {}",
            env.known_hosts.display()
        )),
        "{msg}"
    );
    // Restored: the recorded key is accepted again.
    one(env.target(2, "rke"), &env.strict()).await.unwrap();
}

/// Unpauses the node even when the case panics.
struct Unpause<'a>(&'a str);
impl Drop for Unpause<'_> {
    fn drop(&mut self) {
        let _ = Command::new("docker").args(["unpause", self.0]).status();
    }
}

pub(crate) async fn paused_and_absent_nodes(env: &Env) {
    let (name, container, address) = &env.nodes[2];
    run_ok(Command::new("docker").args(["pause", container])).unwrap();
    let guard = Unpause(container);
    let mut opts = env.strict();
    opts.timeout = Duration::from_secs(3);
    let started = Instant::now();
    let (ok, errors) = transport::connect_all(
        &[env.target(0, "rke"), env.target(2, "rke")],
        &opts,
        &|_| Ok(()),
        true,
    )
    .await;
    drop(guard);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(ok.len(), 1, "the healthy node still connects");
    let msg = errors[0].to_string();
    assert!(
        msg.starts_with(&format!(
            "connection to {name}/rke ({address}:22) timed out after 3 s"
        )),
        "{msg}"
    );
    assert!(matches!(errors[0], TransportError::Timeout { .. }));

    // An address where nothing answers at all.
    let mut t = env.target(0, "rke");
    t.address = "10.77.0.250".into();
    t.name = "ghost".into();
    let err = one(t, &opts).await.unwrap_err();
    assert!(
        matches!(
            err,
            TransportError::Timeout {
                stage: TimeoutStage::Tcp,
                ..
            } | TransportError::Unreachable { .. }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("ghost (10.77.0.250:22)"), "{err}");
    one(env.target(2, "rke"), &env.strict()).await.unwrap();
}
