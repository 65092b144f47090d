//! One writer at a time. A first `rke up` is held still inside its run (it waits for an
//! `addons_include` URL that never answers, before it changes anything) while it holds the
//! cluster lock; a second `rke up` is refused within seconds naming it. The first is then
//! killed with SIGKILL: its lock is no longer refreshed, expires, and the next run takes it
//! over and succeeds, leaving no lock behind.

use std::io::Read as _;
use std::net::TcpListener;
use std::process::{Child, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};

use super::cluster::Ctx;
use super::nodes;

const LOCK_FILE: &str = "/tmp/rke-cluster.lock";
/// The lock's expiry (rke's `lock::STALE_AFTER`) plus a margin.
const EXPIRED_AFTER: Duration = Duration::from_secs(36);

/// When the holder was killed, for the expiry step.
static KILLED_AT: Mutex<Option<Instant>> = Mutex::new(None);

/// A server that accepts connections and never answers, so a run fetching from it waits
/// (rke gives an include 30 s).
fn silent_server() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming().flatten() {
            held.push(conn);
            if held.len() > 16 {
                break;
            }
        }
        std::thread::sleep(Duration::from_secs(120));
    });
    Ok(port)
}

fn lock_text(ctx: &Ctx, i: usize) -> String {
    nodes::sh(&ctx.env, i, &format!("cat {LOCK_FILE} 2>/dev/null; true")).unwrap_or_default()
}

fn wait_for_lock_of(ctx: &Ctx, holder: &mut Child) -> anyhow::Result<String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    let pid_line = format!("pid={}", holder.id());
    loop {
        let text = lock_text(ctx, 1);
        if text.lines().any(|l| l == pid_line) {
            return Ok(text);
        }
        if let Some(status) = holder.try_wait()? {
            let mut err = String::new();
            if let Some(mut e) = holder.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            bail!("the first rke up ended ({status}) before it was seen holding the lock:\n{err}");
        }
        if Instant::now() >= deadline {
            bail!(
                "node1 never showed a lock of pid {} (it has: {text:?})",
                holder.id()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Two `rke up` at once: the second is refused (exit 12) within seconds, naming the first's
/// command, pid and host. The first is then killed with SIGKILL.
pub fn concurrent_up_is_refused(ctx: &mut Ctx) -> anyhow::Result<()> {
    let original = std::fs::read_to_string(ctx.config())?;
    let port = silent_server()?;
    let slow = format!("{original}\naddons_include:\n  - http://127.0.0.1:{port}/never.yaml\n");
    std::fs::write(ctx.config(), slow)?;
    let result = refused_while_held(ctx);
    std::fs::write(ctx.config(), original).context("restoring cluster.yml")?;
    result
}

fn refused_while_held(ctx: &Ctx) -> anyhow::Result<()> {
    let mut holder = ctx
        .rke_command(&["up"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting the first rke up")?;
    println!(
        "    first rke up started (pid {}); waiting for its lock on node1",
        holder.id()
    );
    let outcome = (|| -> anyhow::Result<()> {
        let text = wait_for_lock_of(ctx, &mut holder)?;
        println!(
            "      node1 {LOCK_FILE}:\n        {}",
            text.trim().replace('\n', "\n        ")
        );
        let second = ctx.rke_up(&[]);
        ensure!(
            second.code == Some(12),
            "the second rke up: want exit 12: {}",
            second.describe()
        );
        ensure!(
            second.elapsed < Duration::from_secs(15),
            "refused only after {:?}",
            second.elapsed
        );
        for want in [
            "the cluster is locked by another run".to_string(),
            format!("pid {} on host", holder.id()),
            "`rke up`".to_string(),
            "since 20".to_string(),
        ] {
            ensure!(
                second.stderr.contains(&want),
                "the refusal lacks {want:?}: {}",
                second.describe()
            );
        }
        Ok(())
    })();
    // SIGKILL: the holder gets no chance to release its lock.
    let killed = holder.kill();
    let _ = holder.wait();
    outcome?;
    killed.context("SIGKILL to the first rke up")?;
    *KILLED_AT.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
    println!("    first rke up killed with SIGKILL");
    ensure!(
        !lock_text(ctx, 1).is_empty(),
        "the killed run's lock is gone at once: nothing is left to expire"
    );
    Ok(())
}

/// After the killed holder's lock has gone unrefreshed past its expiry, `rke up` takes it over
/// and succeeds, and leaves no lock on any node.
pub fn killed_holders_lock_expires(ctx: &mut Ctx) -> anyhow::Result<()> {
    let killed = *KILLED_AT.lock().unwrap_or_else(|e| e.into_inner());
    let killed = killed.context("the previous step killed no holder")?;
    let wait = EXPIRED_AFTER.saturating_sub(killed.elapsed());
    println!(
        "    waiting {:.0}s for the killed run's lock to expire",
        wait.as_secs_f64()
    );
    std::thread::sleep(wait);
    let run = ctx.rke_up(&[]);
    ensure!(
        run.code == Some(0),
        "rke up after the expiry: {}",
        run.describe()
    );
    ensure!(
        run.stderr.contains("taking over the expired cluster lock"),
        "rke up did not say it took over the expired lock: {}",
        run.describe()
    );
    ctx.apply_network()?;
    println!("    check: no lock left on node1..3 after the run");
    for i in 1..=3 {
        let left = lock_text(ctx, i);
        ensure!(left.is_empty(), "node{i} still holds a lock: {left}");
    }
    Ok(())
}
