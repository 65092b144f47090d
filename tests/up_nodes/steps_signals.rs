//! Ctrl-C and SIGTERM during `rke up` on the three-node cluster, with a kubelet change that
//! replaces the kubelet on every node, one node at a time. A signal is sent at three points:
//! while it connects (SIGINT: nothing done), when the first node's kubelet replacement starts
//! (SIGTERM: that node finishes, the others are left) and during the last step of a run back
//! to the original config (SIGINT: everything finishes and the state is written). Each time:
//! exit 130/143, the message says what was done and what is left, no lock is left on any node
//! and no container is half replaced (no `old-*`, every component running). Re-runs converge,
//! and a further run is a no-op.

use std::io::{BufRead, BufReader, Read};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use serde_json::Value;

use super::cluster::{Ctx, RkeRun};
use super::{e2e, nodes};

const LOCK_FILE: &str = "/tmp/rke-cluster.lock";
const KUBELET_CHANGE: &str = "max-pods=112";
const KUBELET_FLAG: &str = "--max-pods=112";
/// The components every node of the three-node layout runs (all three are etcd+worker).
const EVERYWHERE: [&str; 3] = ["etcd", "kubelet", "kube-proxy"];
/// node1 and node2's too; node3 runs nginx-proxy instead.
const CONTROL_PLANE: [&str; 3] = [
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
];
/// How long a run may take to end after its signal (the step in flight is a kubelet
/// replacement with its health and Ready checks).
const STOP_WITHIN: Duration = Duration::from_secs(300);

/// `rke up --output json`, sending `signal` (`INT`, `TERM`) when an event matches `when`.
/// Fails when the run ends without any such event.
fn up_signalled(ctx: &Ctx, when: impl Fn(&Value) -> bool, signal: &str) -> anyhow::Result<RkeRun> {
    let started = Instant::now();
    let mut child = ctx
        .rke_command(&["up", "--output", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting rke up")?;
    let (tx, rx) = mpsc::channel::<String>();
    let stdout = child.stdout.take().context("stdout")?;
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            all.push_str(&line);
            all.push('\n');
            let _ = tx.send(line);
        }
        all
    });
    let mut stderr = child.stderr.take().context("stderr")?;
    let err_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let mut sent = false;
    // The channel closes when rke closes stdout, that is when it ends.
    for line in rx.iter() {
        let Ok(event) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        if when(&event) {
            let status = std::process::Command::new("kill")
                .arg(format!("-{signal}"))
                .arg(child.id().to_string())
                .status()?;
            ensure!(status.success(), "kill -{signal} {}", child.id());
            println!(
                "    SIG{signal} sent at {:.1}s, on {}",
                started.elapsed().as_secs_f64(),
                line.chars().take(160).collect::<String>()
            );
            sent = true;
            break;
        }
    }
    let deadline = Instant::now() + STOP_WITHIN;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!("rke up still ran {STOP_WITHIN:?} after SIG{signal}");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let run = RkeRun {
        code: status.code(),
        stdout: reader.join().unwrap_or_default(),
        stderr: err_reader.join().unwrap_or_default(),
        elapsed: started.elapsed(),
    };
    e2e::append_transcript(&format!(
        "$ rke up --output json (SIG{signal})\n{}",
        run.describe_all()
    ));
    println!(
        "    rke up: exit {:?} in {:.1}s",
        run.code,
        run.elapsed.as_secs_f64()
    );
    ensure!(
        sent,
        "rke up ended before the event to signal it at: {}",
        run.describe()
    );
    Ok(run)
}

/// The run ended as stopped by `signal`: its exit code, the result object's error class, and
/// `wants` in the error line.
fn check_stopped(run: &RkeRun, code: i32, wants: &[&str]) -> anyhow::Result<()> {
    ensure!(
        run.code == Some(code),
        "want exit {code}: {}",
        run.describe()
    );
    let result: Value = serde_json::from_str(run.last_stdout_line())
        .with_context(|| format!("the last stdout line is no JSON: {}", run.describe()))?;
    ensure!(
        result["type"] == "result"
            && result["exit_code"] == code
            && result["errors"][0]["kind"] == "interrupted",
        "the result does not say interrupted with {code}: {result}"
    );
    for want in wants {
        ensure!(
            run.stderr.contains(want),
            "the message lacks {want:?}: {}",
            run.describe()
        );
    }
    let line = run
        .stderr
        .lines()
        .rev()
        .find(|l| l.starts_with("error: "))
        .unwrap_or_default();
    println!("      {line}");
    Ok(())
}

/// No lock on any node, no `old-*` container, every component running.
fn check_consistent(ctx: &Ctx) -> anyhow::Result<()> {
    for i in 1..=3 {
        let lock = nodes::sh(&ctx.env, i, &format!("cat {LOCK_FILE} 2>/dev/null; true"))?;
        ensure!(lock.trim().is_empty(), "node{i} still holds a lock: {lock}");
        let containers = nodes::rke_containers(&ctx.env, i)?;
        let old: Vec<&String> = containers
            .keys()
            .filter(|n| n.starts_with("old-"))
            .collect();
        ensure!(
            old.is_empty(),
            "node{i} has half-replaced containers: {old:?}"
        );
        let by_role: &[&str] = if i <= 2 {
            &CONTROL_PLANE
        } else {
            &["nginx-proxy"]
        };
        for name in EVERYWHERE.iter().chain(by_role) {
            ensure!(
                nodes::running(&ctx.env, i, name)?,
                "node{i}: {name} is not running"
            );
        }
    }
    println!("    check: no lock, no old-* container, every component running on node1..3");
    Ok(())
}

fn updated_nodes(ctx: &Ctx) -> anyhow::Result<Vec<usize>> {
    let mut updated = Vec::new();
    for i in 1..=3 {
        let args = nodes::sh(
            &ctx.env,
            i,
            "docker inspect kubelet --format '{{json .Args}}'",
        )?;
        if args.contains(KUBELET_FLAG) {
            updated.push(i);
        }
    }
    Ok(updated)
}

/// SIGINT while connecting: nothing done (exit 130). SIGTERM once the first node's kubelet
/// replacement has started: that node is updated, the other two are left (exit 143). Then a
/// re-run converges and a dry run is clean.
pub fn signals_while_connecting_and_rolling(ctx: &mut Ctx) -> anyhow::Result<()> {
    ctx.write_config(&[], &[KUBELET_CHANGE])?;
    println!("    cluster.yml adds kubelet {KUBELET_CHANGE}: every kubelet is replaced");

    let connecting = |e: &Value| e["phase"] == "connect" && e["status"] == "started";
    let run = up_signalled(ctx, connecting, "INT")?;
    check_stopped(
        &run,
        130,
        &["stopped by SIGINT; done: nothing; left: images and files,"],
    )?;
    check_consistent(ctx)?;
    ensure!(
        updated_nodes(ctx)?.is_empty(),
        "a kubelet was replaced by a run stopped while connecting"
    );

    let rolling = |e: &Value| e["step"] == "worker" && e["status"] == "started";
    let run = up_signalled(ctx, rolling, "TERM")?;
    check_stopped(
        &run,
        143,
        &[
            "stopped by SIGTERM; done: images and files, etcd plane, control plane, API access, \
             worker plane on",
            "; left: worker plane on",
        ],
    )?;
    check_consistent(ctx)?;
    let updated = updated_nodes(ctx)?;
    ensure!(
        updated.len() == 1,
        "want exactly the first node's kubelet replaced, have it on nodes {updated:?}"
    );
    println!("    check: only node{} has {KUBELET_FLAG}", updated[0]);

    println!("    check: a re-run converges, then a dry run is clean");
    ctx.up_ok()?;
    ensure!(
        updated_nodes(ctx)? == [1, 2, 3],
        "after the re-run not every kubelet has {KUBELET_FLAG}"
    );
    ctx.dry_run(0)?;
    Ok(())
}

/// Back to the original config, SIGINT during the run's last step (the addons): it finishes,
/// the state is written, exit 130; a further run replaces nothing. Leaves the cluster as the
/// steps before found it.
pub fn signal_during_the_last_step(ctx: &mut Ctx) -> anyhow::Result<()> {
    ctx.write_config(&[], &[])?;
    let last = |e: &Value| e["phase"] == "addons" && e["status"] == "started";
    let run = up_signalled(ctx, last, "INT")?;
    check_stopped(
        &run,
        130,
        &["SIGINT received during the last step, which finished; done: images and files,"],
    )?;
    check_consistent(ctx)?;
    ensure!(
        updated_nodes(ctx)?.is_empty(),
        "a kubelet still has {KUBELET_FLAG} after the run back"
    );
    let state = std::fs::read_to_string(ctx.state_file())?;
    ensure!(
        !state.contains("max-pods"),
        "the state file still holds the kubelet change: the state was not written"
    );
    println!("    check: the state file was written without {KUBELET_CHANGE}");

    let before: Vec<_> = (1..=3)
        .map(|i| nodes::rke_containers(&ctx.env, i))
        .collect::<anyhow::Result<_>>()?;
    ctx.up_ok()?;
    let after: Vec<_> = (1..=3)
        .map(|i| nodes::rke_containers(&ctx.env, i))
        .collect::<anyhow::Result<_>>()?;
    ensure!(
        before == after,
        "a run after the stopped one changed containers\nbefore: {before:#?}\nafter: {after:#?}"
    );
    println!("    check: a further rke up replaced nothing");
    ctx.wait_nodes_ready(&["node1", "node2", "node3"], Duration::from_secs(180))?;
    Ok(())
}
