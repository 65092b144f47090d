//! Transport against the real e2e nodes (sshd + Docker engine per node, `tests/env/up.sh`).
//!
//! The environment is described by `env.json`, found where `tests/common/e2e.rs` `env_path`
//! says, as for every node test. Without it this test FAILS; `RKE_E2E_SKIP=1` skips it
//! (as it skips every node test). Cases run one after another (`harness = false`):
//! several of them change a node (host keys, sshd_config, pause) and restore it afterwards,
//! and the process environment (agent socket, passphrase variable) is set before any thread
//! starts. Arguments filter cases by substring.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rke::transport::{
    self, ConnectOptions, HostKeyPolicy, NodeConnection, SshAuth, SshTarget, TransportError,
};
use serde_json::Value;

mod common;
use common::e2e;
#[path = "transport_nodes/docker_cases.rs"]
mod docker_cases;
#[path = "transport_nodes/ssh_cases.rs"]
mod ssh_cases;
use docker_cases::*;
use ssh_cases::*;

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

fn load_env() -> Result<Env, String> {
    let path = e2e::env_path();
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
    if std::env::var("RKE_E2E_SKIP").as_deref() == Ok("1") {
        eprintln!("transport_nodes: skipped (RKE_E2E_SKIP=1)");
        return;
    }
    let env = match load_env() {
        Ok(env) => env,
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
