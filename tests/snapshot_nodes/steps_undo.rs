//! A restore killed with SIGKILL while the members are being restored: `rke up` refuses to run
//! over it, running the restore again finishes it (the snapshot's history on every member), and
//! a second interrupted restore is undone with `--rollback` (the previous history back on every
//! member). Each time the output says which, and no kept data or journal is left.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};

use super::cluster::{Ctx, RkeRun};
use super::nodes;
use super::support::{self, ok};

const SNAPSHOT: &str = "e2e-kill";
const JOURNAL: &str = "/opt/rke/etcd-restore/journal.json";
/// A line rke logs per member as its restore starts.
const RESTORING: &str = "restoring the snapshot with";
/// The killed run's lock expires after 30 s without a refresh.
const LOCK_EXPIRY: Duration = Duration::from_secs(75);

/// Start `rke etcd snapshot-restore --name e2e-kill` and SIGKILL it when it logs the first
/// member's restore (journal written, etcd stopped on every node, members being restored).
fn restore_killed_mid_members(ctx: &Ctx) -> anyhow::Result<()> {
    let mut child = ctx
        .rke_command(&["etcd", "snapshot-restore", "--name", SNAPSHOT])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting snapshot-restore")?;
    let stderr = child.stderr.take().context("no stderr")?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut seen = Vec::new();
    let outcome = loop {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(line) => {
                let hit = line.contains(RESTORING);
                seen.push(line);
                if hit {
                    break Ok(());
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                break Err(anyhow::anyhow!(
                    "snapshot-restore ended before restoring a member:\n{}",
                    seen.join("\n")
                ));
            }
            Err(mpsc::RecvTimeoutError::Timeout) if Instant::now() > deadline => {
                break Err(anyhow::anyhow!(
                    "no member restore within 300s:\n{}",
                    seen.join("\n")
                ));
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
    };
    // Then until a member's previous data has been moved aside, so that the kill lands with
    // members in different states (the swaps run on the nodes at about the same time).
    let outcome = outcome.and_then(|()| {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            for i in 1..=3 {
                if nodes::sh(
                    &ctx.env,
                    i,
                    "ls -d /var/lib/etcd/pre-restore* 2>/dev/null; true",
                )?
                .contains("pre-restore")
                {
                    seen.push(format!("(node{i} has moved its previous data aside)"));
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                bail!("no node moved its etcd data aside within 120s");
            }
        }
    });
    // SIGKILL: no chance to clean up, release the lock or roll anything back.
    let killed = child.kill();
    let _ = child.wait();
    outcome?;
    killed.context("SIGKILL to snapshot-restore")?;
    println!(
        "    snapshot-restore killed with SIGKILL at: {}",
        seen.last().map(String::as_str).unwrap_or_default()
    );
    let journal = nodes::sh(&ctx.env, 1, &format!("cat {JOURNAL}"))?;
    ensure!(
        journal.contains("\"phase\":\"restoring\"") && journal.contains(SNAPSHOT),
        "node1's restore journal: {journal:?}"
    );
    Ok(())
}

/// Run `args` until it is no longer refused by the killed run's lock.
fn after_lock_expiry(ctx: &Ctx, args: &[&str]) -> anyhow::Result<RkeRun> {
    let deadline = Instant::now() + LOCK_EXPIRY;
    loop {
        let run = ctx.rke(args);
        if !run.stderr.contains("locked by another run") {
            return Ok(run);
        }
        if Instant::now() > deadline {
            bail!("still locked after {LOCK_EXPIRY:?}: {}", run.describe());
        }
        std::thread::sleep(Duration::from_secs(5));
    }
}

/// Every etcd member, read locally (serializable), holds `present` and not `absent`.
fn members_hold(ctx: &Ctx, present: &[&str], absent: &[&str]) -> anyhow::Result<()> {
    println!("    check: each etcd member on its own has ConfigMaps {present:?}, not {absent:?}");
    super::cluster::eventually(
        "the same history on every member",
        Duration::from_secs(60),
        || {
            for i in 1..=3 {
                let keys = nodes::etcdctl(
                    &ctx.env,
                    i,
                    "get --consistency=s --keys-only --prefix /registry/configmaps/default/",
                )?;
                for p in present {
                    let key = format!("/registry/configmaps/default/{p}");
                    ensure!(
                        keys.lines().any(|l| l == key),
                        "node{i} lacks {key}: {keys}"
                    );
                }
                for a in absent {
                    let key = format!("/registry/configmaps/default/{a}");
                    ensure!(!keys.lines().any(|l| l == key), "node{i} has {key}");
                }
            }
            Ok(())
        },
    )
}

/// No journal and no kept data left on any etcd node.
fn nothing_left(ctx: &Ctx) -> anyhow::Result<()> {
    println!("    check: no restore journal, kept etcd data or restore helper left on node1..3");
    for i in 1..=3 {
        let left = nodes::sh(
            &ctx.env,
            i,
            &format!(
                "ls -d {JOURNAL} /var/lib/etcd/pre-restore* 2>/dev/null; \
                 docker ps -a --filter name=rke-etcd-restore --format '{{{{.Names}}}}'"
            ),
        )?;
        ensure!(left.trim().is_empty(), "node{i} still has {left}");
    }
    Ok(())
}

/// A: kill-a before the snapshot, B: kill-b after it. Killed mid-restore, `rke up` refuses;
/// the restore run again finishes: A without B on every member.
pub fn killed_restore_is_finished(ctx: &mut Ctx) -> anyhow::Result<()> {
    support::create_configmap(ctx, "kill-a")?;
    ok(
        ctx.rke(&["etcd", "snapshot-save", "--name", SNAPSHOT]),
        "snapshot-save",
    )?;
    support::create_configmap(ctx, "kill-b")?;
    restore_killed_mid_members(ctx)?;

    println!("    check: rke up refuses to run over the interrupted restore");
    let up = after_lock_expiry(ctx, &["up"])?;
    ensure!(
        up.code == Some(9)
            && up
                .stderr
                .contains(&format!("restore of snapshot {SNAPSHOT} was interrupted"))
            && up.stderr.contains("--rollback"),
        "rke up must refuse (exit 9) naming the restore and both ways out: {}",
        up.describe()
    );

    let again = ok(
        ctx.rke(&["etcd", "snapshot-restore", "--name", SNAPSHOT]),
        "snapshot-restore run again",
    )?;
    ensure!(
        again.stdout.contains(&format!(
            "Finished the interrupted restore of snapshot {SNAPSHOT}"
        )),
        "the rerun does not say it finished the interrupted restore: {}",
        again.describe()
    );
    println!("      {}", again.last_stdout_line());
    support::expect_configmaps(ctx, &["kill-a"], &["kill-b"])?;
    support::etcd_healthy(ctx, 1, 3)?;
    members_hold(ctx, &["kill-a"], &["kill-b"])?;
    nothing_left(ctx)
}

/// C: kill-c written after the finished restore. The restore of the same snapshot killed again,
/// then `--rollback`: the previous history (A and C) is back on every member.
pub fn killed_restore_is_rolled_back(ctx: &mut Ctx) -> anyhow::Result<()> {
    support::create_configmap(ctx, "kill-c")?;
    restore_killed_mid_members(ctx)?;
    let back = after_lock_expiry(ctx, &["etcd", "snapshot-restore", "--rollback"])?;
    let back = ok(back, "snapshot-restore --rollback")?;
    ensure!(
        back.stdout.contains(&format!(
            "Rolled back the interrupted restore of snapshot {SNAPSHOT}"
        )),
        "--rollback does not say what it did: {}",
        back.describe()
    );
    println!("      {}", back.last_stdout_line());
    ensure!(
        back.stdout
            .contains("the data from before it is back on node"),
        "--rollback put no member's data back, yet a node had moved it aside: {}",
        back.describe()
    );
    support::expect_configmaps(ctx, &["kill-a", "kill-c"], &["kill-b"])?;
    support::etcd_healthy(ctx, 1, 3)?;
    members_hold(ctx, &["kill-a", "kill-c"], &["kill-b"])?;
    nothing_left(ctx)?;
    for name in ["kill-a", "kill-c"] {
        support::delete_configmap(ctx, name)?;
    }
    Ok(())
}
