//! Ctrl-C and SIGTERM without nodes: `rke up` connecting to an SSH server that never answers
//! is held in its first step. The first signal does not end it (it waits for the step in
//! flight); a second exits at once with 128 + the signal. A dry run changes nothing and
//! keeps the default: the first signal ends it. (The stops between steps, with the lock
//! released and the message naming what is done and left, are in tests/up_nodes.)

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::write;

/// A TCP server that accepts connections and never sends a byte (no SSH banner), so a run
/// connecting to it waits for its SSH timeout.
fn silent_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming().flatten() {
            held.push(conn);
        }
    });
    port
}

fn ssh_key(dir: &Path) -> std::path::PathBuf {
    let key = dir.join("id_ed25519");
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .status()
        .expect("ssh-keygen");
    assert!(status.success());
    key
}

/// A running `rke up`, and the thread collecting the rest of its stdout (JSON lines).
struct Run {
    child: Child,
    stdout: std::thread::JoinHandle<Vec<String>>,
}

/// `rke up --output json [extra]` against the silent server, returned once its connect phase
/// has started (the signal handler is in place by then).
fn up_connecting(dir: &Path, extra: &[&str]) -> Run {
    let key = ssh_key(dir);
    let yml = format!(
        "nodes:\n  - address: 127.0.0.1\n    port: {}\n    user: rke\n    role: [etcd, controlplane, worker]\n    hostname_override: silent\n    ssh_key_path: {}\n",
        silent_server(),
        key.display()
    );
    let cfg = write(dir, "cluster.yml", &yml);
    let mut child = Command::new(env!("CARGO_BIN_EXE_rke"))
        .args(["up", "--output", "json", "--ssh-timeout", "60"])
        .args(extra)
        .arg("--config")
        .arg(&cfg)
        .env_remove("RKE_CONFIG")
        .env("NO_COLOR", "1")
        .env("HOME", dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rke runs");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    loop {
        let line = lines
            .next()
            .expect("rke ended before its connect phase started")
            .unwrap();
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        if v["phase"] == "connect" && v["status"] == "started" {
            break;
        }
    }
    // Keep draining stdout so rke never blocks on a full pipe.
    let stdout = std::thread::spawn(move || lines.map_while(Result::ok).collect());
    Run { child, stdout }
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(child.id().to_string())
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -{name} {}", child.id());
}

/// Wait up to `limit` for the child to exit; its exit code and stderr.
fn exit_within(child: &mut Child, limit: Duration) -> (Option<i32>, String) {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            return (status.code(), err);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("rke still runs {limit:?} after the signal");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn first_signal_waits_second_exits(name: &str, code: i32) {
    let dir = tempfile::tempdir().unwrap();
    let Run { mut child, stdout } = up_connecting(dir.path(), &[]);
    signal(&child, name);
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the first SIG{name} ended rke up instead of letting the connect step finish"
    );
    signal(&child, name);
    let (got, stderr) = exit_within(&mut child, Duration::from_secs(5));
    assert_eq!(got, Some(code), "{stderr}");
    // The first signal is a warning event (JSON on stdout); the second is said on stderr, as
    // the process ends before any event would be written.
    let events = stdout.join().unwrap().join("\n");
    let first = format!("SIG{name}: stopping after the step in flight");
    assert!(events.contains(&first), "no {first:?} event:\n{events}");
    for want in [
        format!("SIG{name}: second signal, exiting at once"),
        "run `rke up` again".to_string(),
    ] {
        assert!(stderr.contains(&want), "stderr lacks {want:?}:\n{stderr}");
    }
}

#[test]
fn sigint_twice_exits_130() {
    first_signal_waits_second_exits("INT", 130);
}

#[test]
fn sigterm_twice_exits_143() {
    first_signal_waits_second_exits("TERM", 143);
}

#[test]
fn a_dry_run_ends_at_the_first_signal() {
    let dir = tempfile::tempdir().unwrap();
    let Run { mut child, .. } = up_connecting(dir.path(), &["--dry-run"]);
    signal(&child, "TERM");
    let deadline = Instant::now() + Duration::from_secs(5);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the dry run ignored SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(15), "{status:?}");
}
