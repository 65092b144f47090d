//! Transport against the real e2e nodes (sshd + Docker engine per node, `tests/env/up.sh`).
//!
//! The environment is described by `env.json` (`$RKE_E2E_ENV`, `$RKE_E2E_ENV_JSON`, or
//! `/var/cache/rke-e2e/run/env.json`). Without it this test FAILS; set
//! `RKE_E2E_SKIP=1` to skip it knowingly. Cases run one after another (`harness = false`):
//! several of them change a node (host keys, sshd_config, pause) and restore it afterwards,
//! and the process environment (agent socket, passphrase variable) is set before any thread
//! starts. Arguments filter cases by substring.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use rke::error::ErrorKind;
use rke::transport::{
    self, ConnectOptions, HostKeyPolicy, NodeConnection, SshAuth, SshTarget, TimeoutStage,
    TransportError,
};
use serde_json::Value;

const PASSPHRASE_VAR: &str = "RKE_E2E_TEST_KEY_PASSPHRASE";
const PASSPHRASE: &str = "e2e passphrase";

struct Env {
    key: PathBuf,
    known_hosts: PathBuf,
    registry: String,
    registry_user: String,
    registry_password: String,
    busybox: String,
    /// (name, container, address)
    nodes: Vec<(String, String, String)>,
    tmp: tempfile::TempDir,
    encrypted_key: PathBuf,
}

fn env_path() -> PathBuf {
    std::env::var_os("RKE_E2E_ENV")
        .or_else(|| std::env::var_os("RKE_E2E_ENV_JSON"))
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/cache/rke-e2e/run/env.json"))
}

fn load_env() -> Result<Env, String> {
    let path = env_path();
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let v: Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let s = |p: &str| {
        v.pointer(p)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| format!("{}: missing {p}", path.display()))
    };
    let nodes = v["nodes"]
        .as_array()
        .ok_or("env.json has no nodes")?
        .iter()
        .map(|n| {
            (
                n["name"].as_str().unwrap_or_default().to_string(),
                n["container"].as_str().unwrap_or_default().to_string(),
                n["address"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect::<Vec<_>>();
    if nodes.len() < 3 {
        return Err(format!(
            "{} describes {} nodes; these tests need 3",
            path.display(),
            nodes.len()
        ));
    }
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let key = PathBuf::from(s("/ssh/private_key")?);
    // A passphrase-protected copy, encrypted by OpenSSH itself.
    let encrypted_key = tmp.path().join("id_encrypted");
    std::fs::copy(&key, &encrypted_key).map_err(|e| e.to_string())?;
    run_ok(
        Command::new("ssh-keygen")
            .args(["-q", "-p", "-N", PASSPHRASE, "-P", "", "-f"])
            .arg(&encrypted_key),
    )?;
    Ok(Env {
        key,
        known_hosts: PathBuf::from(s("/ssh/known_hosts")?),
        registry: s("/registry/address")?,
        registry_user: s("/registry/username")?,
        registry_password: s("/registry/password")?,
        busybox: s("/images/busybox")?,
        nodes,
        tmp,
        encrypted_key,
    })
}

fn run_ok(cmd: &mut Command) -> Result<String, String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{cmd:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{cmd:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `docker exec CONTAINER sh -c SCRIPT` on the host engine (to change a node from outside).
fn node_sh(container: &str, script: &str) -> String {
    run_ok(Command::new("docker").args(["exec", container, "sh", "-c", script])).unwrap()
}

/// Restart sshd in a node (SIGHUP re-executes it with the current config and host keys) and
/// wait until it serves again.
fn restart_sshd(container: &str, address: &str) {
    node_sh(container, "kill -HUP \"$(cat /run/sshd.pid)\"");
    for _ in 0..50 {
        std::thread::sleep(Duration::from_millis(200));
        let ok = Command::new("ssh-keyscan")
            .args(["-T", "2", "-t", "ed25519", address])
            .stderr(Stdio::null())
            .output()
            .map(|o| !o.stdout.is_empty())
            .unwrap_or(false);
        if ok {
            return;
        }
    }
    panic!("sshd in {container} did not come back");
}

impl Env {
    fn target(&self, i: usize, user: &str) -> SshTarget {
        let (name, _, address) = &self.nodes[i];
        let mut t = SshTarget::new(address.clone(), user, SshAuth::key_file(&self.key));
        t.name = format!("{name}/{user}");
        t
    }

    fn opts(&self, known_hosts: &Path, policy: HostKeyPolicy) -> ConnectOptions {
        ConnectOptions {
            known_hosts: known_hosts.to_path_buf(),
            policy,
            timeout: Duration::from_secs(15),
            concurrency: 10,
        }
    }

    fn strict(&self) -> ConnectOptions {
        self.opts(&self.known_hosts, HostKeyPolicy::Strict)
    }
}

async fn one(target: SshTarget, opts: &ConnectOptions) -> Result<NodeConnection, TransportError> {
    transport::connect(&target, opts).await
}

// ---- cases -------------------------------------------------------------------------------

async fn root_and_docker_group_user(env: &Env) {
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
        let f = n.info();
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

async fn inline_and_encrypted_keys(env: &Env) {
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

async fn ssh_agent(env: &Env) {
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

async fn bastion(env: &Env) {
    // node1's sshd forwards to node2: a real second SSH handshake inside a direct-tcpip channel.
    let mut t = env.target(1, "rke");
    t.bastion = Some(Box::new(env.target(0, "rke")));
    let n = one(t, &env.strict()).await.unwrap();
    assert_eq!(n.info().hostname, env.nodes[1].0);
    // The node sees the connection coming from the bastion's address.
    let from = n
        .exec_shell("echo $SSH_CONNECTION")
        .await
        .unwrap()
        .stdout_text();
    assert!(from.starts_with(&format!("{} ", env.nodes[0].2)), "{from}");
}

async fn host_key_policies(env: &Env) {
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

async fn regenerated_host_key(env: &Env) {
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

async fn stream_local_forwarding_disabled(env: &Env) {
    let (name, container, address) = &env.nodes[1];
    node_sh(
        container,
        "sed -i '1i AllowStreamLocalForwarding no' /etc/ssh/sshd_config",
    );
    restart_sshd(container, address);
    let root = one(env.target(1, "root"), &env.strict()).await;
    let user = one(env.target(1, "rke"), &env.strict()).await;
    node_sh(
        container,
        "sed -i '1{/^AllowStreamLocalForwarding no$/d}' /etc/ssh/sshd_config",
    );
    restart_sshd(container, address);
    for (user, result) in [("root", root), ("rke", user)] {
        let err = result.unwrap_err();
        assert_eq!(
            err,
            TransportError::StreamLocalForbidden {
                node: format!("{name}/{user}"),
                socket: "/var/run/docker.sock".into(),
                certain: true,
            }
        );
        assert!(err.to_string().starts_with(&format!("AllowStreamLocalForwarding is disabled on {name}/{user} (sshd refused the direct-streamlocal channel to /var/run/docker.sock: 'administratively prohibited'): set AllowStreamLocalForwarding yes")));
    }
    one(env.target(1, "rke"), &env.strict()).await.unwrap();
}

async fn user_not_in_docker_group(env: &Env) {
    let (name, container, _) = &env.nodes[0];
    node_sh(
        container,
        "id nodocker >/dev/null 2>&1 || useradd -m -s /bin/sh nodocker; install -d -m 700 -o nodocker -g nodocker /home/nodocker/.ssh; \
         install -m 600 -o nodocker -g nodocker /home/rke/.ssh/authorized_keys /home/nodocker/.ssh/authorized_keys",
    );
    let result = one(env.target(0, "nodocker"), &env.strict()).await;
    node_sh(container, "userdel -r nodocker 2>/dev/null || true");
    let err = result.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Docker);
    assert!(
        err.to_string().starts_with(&format!(
            "user nodocker is not in the docker group on {name}/nodocker (permission denied on /var/run/docker.sock; groups: nodocker)"
        )),
        "{err}"
    );
}

/// Unpauses the node even when the case panics.
struct Unpause<'a>(&'a str);
impl Drop for Unpause<'_> {
    fn drop(&mut self) {
        let _ = Command::new("docker").args(["unpause", self.0]).status();
    }
}

async fn paused_and_absent_nodes(env: &Env) {
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

async fn docker_api_through_the_tunnel(env: &Env) {
    use bollard::auth::DockerCredentials;
    use bollard::models::ContainerCreateBody;
    use bollard::query_parameters::{
        CreateContainerOptionsBuilder, CreateImageOptionsBuilder, LogsOptionsBuilder,
        RemoveContainerOptionsBuilder, RemoveImageOptionsBuilder, WaitContainerOptionsBuilder,
    };
    let n = one(env.target(0, "rke"), &env.strict()).await.unwrap();
    let d = n.docker();
    assert_eq!(d.ping().await.unwrap(), "OK");

    let creds = DockerCredentials {
        username: Some(env.registry_user.clone()),
        password: Some(env.registry_password.clone()),
        serveraddress: Some(env.registry.clone()),
        ..Default::default()
    };
    let mut pull = d.create_image(
        Some(
            CreateImageOptionsBuilder::default()
                .from_image(&env.busybox)
                .build(),
        ),
        None,
        Some(creds),
    );
    let mut events = 0;
    while let Some(ev) = pull.next().await {
        ev.unwrap();
        events += 1;
    }
    assert!(events > 0);
    // Without credentials the registry refuses: the error comes through the tunnel intact.
    let mut denied = d.create_image(
        Some(
            CreateImageOptionsBuilder::default()
                .from_image(&format!("{}/rke-e2e/pause:3.2", env.registry))
                .build(),
        ),
        None,
        None,
    );
    let mut refused = false;
    while let Some(ev) = denied.next().await {
        if ev.is_err() {
            refused = true;
        }
    }
    assert!(
        refused,
        "anonymous pull from the authenticated registry must fail"
    );

    let name = "rke-transport-e2e";
    let _ = d
        .remove_container(
            name,
            Some(RemoveContainerOptionsBuilder::default().force(true).build()),
        )
        .await;
    let body = ContainerCreateBody {
        image: Some(env.busybox.clone()),
        cmd: Some(vec![
            "sh".into(),
            "-c".into(),
            "echo hello-from-rke; echo oops >&2".into(),
        ]),
        ..Default::default()
    };
    let created = d
        .create_container(
            Some(CreateContainerOptionsBuilder::new().name(name).build()),
            body,
        )
        .await
        .unwrap();
    d.start_container(name, None).await.unwrap();
    let mut wait = d.wait_container(name, Some(WaitContainerOptionsBuilder::default().build()));
    while let Some(w) = wait.next().await {
        assert_eq!(w.unwrap().status_code, 0);
    }
    let inspected = d.inspect_container(name, None).await.unwrap();
    assert_eq!(inspected.id.as_deref(), Some(created.id.as_str()));
    assert_eq!(inspected.state.and_then(|s| s.exit_code), Some(0));
    let mut logs = d.logs(
        name,
        Some(
            LogsOptionsBuilder::default()
                .stdout(true)
                .stderr(true)
                .build(),
        ),
    );
    let mut text = String::new();
    while let Some(chunk) = logs.next().await {
        text.push_str(&chunk.unwrap().to_string());
    }
    assert!(
        text.contains("hello-from-rke") && text.contains("oops"),
        "{text}"
    );
    d.remove_container(name, None).await.unwrap();
    d.remove_image(
        &env.busybox,
        Some(RemoveImageOptionsBuilder::default().build()),
        None,
    )
    .await
    .unwrap();
}

async fn tcp_tunnels(env: &Env) {
    use tokio::io::AsyncReadExt as _;
    let n = one(env.target(0, "rke"), &env.strict()).await.unwrap();
    // The node's own sshd, reached from the node: its banner proves the bytes flow.
    let mut s = n.open_tcp("127.0.0.1", 22).await.unwrap();
    let mut banner = [0u8; 8];
    s.read_exact(&mut banner).await.unwrap();
    assert_eq!(&banner, b"SSH-2.0-");
    // Another node, by address, from this node's point of view, via the local forwarder.
    let fwd = n.forward_local(&env.nodes[1].2, 22).await.unwrap();
    let mut c = tokio::net::TcpStream::connect(fwd.local_addr())
        .await
        .unwrap();
    c.read_exact(&mut banner).await.unwrap();
    assert_eq!(&banner, b"SSH-2.0-");
}

// ---- runner ------------------------------------------------------------------------------

type Case = for<'a> fn(&'a Env) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + 'a>>;

macro_rules! cases {
    ($($f:ident),* $(,)?) => {
        vec![$((stringify!($f), (|e| Box::pin($f(e))) as Case)),*]
    };
}

fn start_agent(dir: &Path, key: &Path) -> std::process::Child {
    let sock = dir.join("agent.sock");
    let child = Command::new("ssh-agent")
        .arg("-D")
        .arg("-a")
        .arg(&sock)
        .stdout(Stdio::null())
        .spawn()
        .expect("ssh-agent (openssh-client) is required");
    for _ in 0..100 {
        if sock.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    run_ok(Command::new("ssh-add").arg(key).env("SSH_AUTH_SOCK", &sock)).unwrap();
    // SAFETY: called from main before the runtime or any other thread exists.
    unsafe { std::env::set_var("SSH_AUTH_SOCK", &sock) };
    child
}

fn main() {
    let env = match load_env() {
        Ok(env) => env,
        Err(e) if std::env::var("RKE_E2E_SKIP").as_deref() == Ok("1") => {
            eprintln!("transport_nodes: skipped (RKE_E2E_SKIP=1): {e}");
            return;
        }
        Err(e) => {
            eprintln!(
                "transport_nodes: the e2e environment is required: {e}\n\
                 Start it with `tests/env/up.sh` (as root), point RKE_E2E_ENV at its env.json, \
                 or set RKE_E2E_SKIP=1 to skip these tests."
            );
            std::process::exit(1);
        }
    };
    let mut agent = start_agent(env.tmp.path(), &env.key);
    // SAFETY: still single-threaded.
    unsafe { std::env::set_var(PASSPHRASE_VAR, PASSPHRASE) };

    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let all = cases![
        root_and_docker_group_user,
        inline_and_encrypted_keys,
        ssh_agent,
        bastion,
        host_key_policies,
        regenerated_host_key,
        stream_local_forwarding_disabled,
        user_not_in_docker_group,
        paused_and_absent_nodes,
        docker_api_through_the_tunnel,
        tcp_tunnels,
    ];
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut failed = Vec::new();
    let mut ran = 0;
    for (name, case) in all {
        if !filters.is_empty() && !filters.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        ran += 1;
        let started = Instant::now();
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            runtime.block_on(case(&env))
        }));
        let took = started.elapsed().as_secs_f32();
        match outcome {
            Ok(()) => eprintln!("test {name} ... ok ({took:.1} s)"),
            Err(_) => {
                eprintln!("test {name} ... FAILED ({took:.1} s)");
                failed.push(name);
            }
        }
    }
    let _ = agent.kill();
    let _ = agent.wait();
    eprintln!(
        "transport_nodes: {} passed, {} failed",
        ran - failed.len(),
        failed.len()
    );
    if !failed.is_empty() {
        eprintln!("failed: {failed:?}");
        std::process::exit(1);
    }
}
