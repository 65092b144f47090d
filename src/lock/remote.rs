//! Taking, refreshing and releasing the lock files on the nodes over SSH.
//!
//! The file is created with the shell's `noclobber` (an `O_EXCL` open), so of two runs only
//! one creates it. A stale file is taken over by renaming it away first (a rename succeeds for
//! one caller only) and checking that what was renamed is the stale lock that was judged.

use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::record::{self, Attempt, HEARTBEAT, LockRecord, STALE_AFTER};
use crate::error::{ErrorKind, classified};
use crate::transport::{NodeConnection, shell_quote};

/// Where the lock lives on every node. `/tmp` because any SSH user in the `docker` group can
/// write there and a reboot (which ends any holder) clears it.
pub const LOCK_FILE: &str = "/tmp/rke-cluster.lock";

/// Attempts per node: a file that vanishes or is taken over in between is tried again.
const ATTEMPTS: usize = 3;

/// A lock held on some nodes, refreshed in the background until [`ClusterLock::release`].
pub struct ClusterLock {
    record: LockRecord,
    nodes: Vec<NodeConnection>,
    /// Nodes refreshed and released at once (`--max-parallel`).
    limit: usize,
    stop: watch::Sender<bool>,
    heartbeat: Option<JoinHandle<()>>,
}

/// Lock `conns` for `command` (e.g. `rke up`), in a fixed order (by address) so two runs over
/// overlapping nodes meet at the same first node. Refused (class `locked`) when any node holds
/// a fresh lock of another run; the locks taken so far are released again. The files are
/// refreshed and released `limit` nodes at a time.
pub async fn acquire(
    conns: &[NodeConnection],
    command: &str,
    limit: usize,
) -> anyhow::Result<ClusterLock> {
    let record = this_run(command);
    let mut order: Vec<&NodeConnection> = conns.iter().collect();
    order.sort_by(|a, b| (a.address(), a.name()).cmp(&(b.address(), b.name())));
    let mut held: Vec<NodeConnection> = Vec::new();
    for node in order {
        if let Err(e) = lock_node(node, &record).await {
            release_nodes(&held, &record, limit).await;
            return Err(e);
        }
        held.push(node.clone());
    }
    tracing::debug!(
        "cluster lock taken on {} node(s) as {}",
        held.len(),
        record.id
    );
    let (stop, stopped) = watch::channel(false);
    let heartbeat = tokio::spawn(refresh_until_stopped(
        held.clone(),
        record.clone(),
        limit,
        stopped,
    ));
    Ok(ClusterLock {
        record,
        nodes: held,
        limit,
        stop,
        heartbeat: Some(heartbeat),
    })
}

/// Run `work` while holding the lock on `conns`; the lock is released afterwards, whatever
/// `work` returned. `limit`: nodes refreshed and released at once (`--max-parallel`).
pub async fn while_held<T>(
    conns: &[NodeConnection],
    command: &str,
    limit: usize,
    work: impl std::future::Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    let lock = acquire(conns, command, limit).await?;
    let result = work.await;
    lock.release().await;
    result
}

impl ClusterLock {
    /// Stop refreshing and remove this run's lock files (never another run's).
    pub async fn release(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.heartbeat.take() {
            let _ = task.await;
        }
        release_nodes(&self.nodes, &self.record, self.limit).await;
    }
}

fn this_run(command: &str) -> LockRecord {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown-host".to_string());
    let now = time::OffsetDateTime::now_utc();
    let since = now
        .replace_nanosecond(0)
        .unwrap_or(now)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let pid = std::process::id();
    let nonce: u32 = rand::random();
    LockRecord {
        id: format!("{host}-{pid}-{}-{nonce:08x}", now.unix_timestamp()),
        host,
        pid,
        command: command.to_string(),
        since,
    }
}

/// Create the file unless it exists; otherwise report the node's time, the file's
/// modification time and its contents (see [`record::parse_attempt`]).
fn attempt_script(record: &LockRecord) -> String {
    let file = LOCK_FILE;
    let text = shell_quote(&record.to_text()).into_owned();
    format!(
        "umask 022; if (set -C; printf '%s' {text} > {file}) 2>/dev/null; then echo acquired; \
         else echo held; date +%s; stat -c %Y {file} 2>/dev/null || echo gone; \
         cat {file} 2>/dev/null; fi"
    )
}

async fn lock_node(node: &NodeConnection, record: &LockRecord) -> anyhow::Result<()> {
    for _ in 0..ATTEMPTS {
        let out = run(node, &attempt_script(record), "taking the cluster lock").await?;
        let attempt = record::parse_attempt(&out).map_err(|why| {
            classified(
                ErrorKind::Connection,
                format!(
                    "node {}: taking the cluster lock {LOCK_FILE}: {why}",
                    node.name()
                ),
            )
        })?;
        match attempt {
            Attempt::Acquired => return Ok(()),
            Attempt::Vanished => continue,
            Attempt::Held { age, text } if !record::is_stale(age, STALE_AFTER) => {
                return Err(refusal(node, &text, age));
            }
            Attempt::Held { age, text } => take_over(node, &text, age).await?,
        }
    }
    Err(classified(
        ErrorKind::Locked,
        format!(
            "node {}: could not take the cluster lock {LOCK_FILE} after {ATTEMPTS} attempts \
             (another run keeps taking it, or the file cannot be created by user {})",
            node.name(),
            node.user()
        ),
    ))
}

fn refusal(node: &NodeConnection, text: &str, age: Duration) -> anyhow::Error {
    classified(
        ErrorKind::Locked,
        format!(
            "the cluster is locked by another run: {} holds {LOCK_FILE} on node {}. Wait for \
             it to finish; if that run was killed, its lock expires {} s after its last \
             refresh and the next run takes it over",
            record::describe_holder(text, age),
            node.name(),
            STALE_AFTER.as_secs()
        ),
    )
}

/// Move a stale lock out of the way. If what was moved is not the lock judged stale (another
/// run replaced it in between), it is put back and left to the next attempt.
async fn take_over(node: &NodeConnection, stale_text: &str, age: Duration) -> anyhow::Result<()> {
    let aside = format!("{LOCK_FILE}.stale.{}", std::process::id());
    let script = format!(
        "mv -f {LOCK_FILE} {aside} 2>/dev/null || {{ echo refused; exit 0; }}; echo moved; cat {aside}"
    );
    let out = run(node, &script, "taking over a stale cluster lock").await?;
    let (status, moved) = out.split_once('\n').unwrap_or((out.as_str(), ""));
    match status.trim() {
        "moved" if moved == stale_text => {
            tracing::warn!(
                node = node.name(),
                "taking over the expired cluster lock of {}",
                record::describe_holder(stale_text, age)
            );
            run(
                node,
                &format!("rm -f {aside}"),
                "removing a stale cluster lock",
            )
            .await?;
            Ok(())
        }
        "moved" => {
            // `ln` fails if a lock exists again: then the moved one is dropped, as it would
            // have lost anyway.
            let put_back = format!("ln {aside} {LOCK_FILE} 2>/dev/null; rm -f {aside}");
            run(node, &put_back, "restoring a cluster lock").await?;
            Ok(())
        }
        _ => Err(classified(
            ErrorKind::Locked,
            format!(
                "node {}: the cluster lock {LOCK_FILE} of {} has expired, but user {} cannot \
                 remove it: remove it on the node as its owner or root (rm {LOCK_FILE}), then \
                 run again",
                node.name(),
                record::describe_holder(stale_text, age),
                node.user()
            ),
        )),
    }
}

async fn run(node: &NodeConnection, script: &str, what: &str) -> anyhow::Result<String> {
    let out = node.exec_shell(script).await.map_err(|e| {
        classified(
            e.kind(),
            format!("node {}: {what} ({LOCK_FILE}): {e}", node.name()),
        )
    })?;
    Ok(out.stdout_text())
}

/// Keep the files fresh until told to stop. A node that cannot be refreshed only warns: the
/// run's own steps will fail on it if it is really gone.
async fn refresh_until_stopped(
    nodes: Vec<NodeConnection>,
    record: LockRecord,
    limit: usize,
    mut stopped: watch::Receiver<bool>,
) {
    let script = format!(
        "grep -qxF {} {LOCK_FILE} && touch {LOCK_FILE}",
        shell_quote(&record.id_line())
    );
    let mut tick = tokio::time::interval(HEARTBEAT);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stopped.changed() => return,
        }
        let refreshed = crate::parallel::map(&nodes, limit, |n| n.exec_shell(&script)).await;
        for (node, result) in nodes.iter().zip(refreshed) {
            match result {
                Ok(out) if out.success() => {}
                Ok(_) => tracing::warn!(
                    node = node.name(),
                    "the cluster lock {LOCK_FILE} is no longer this run's (removed or taken over)"
                ),
                Err(e) => tracing::warn!(
                    node = node.name(),
                    "cannot refresh the cluster lock {LOCK_FILE}: {e}"
                ),
            }
        }
    }
}

async fn release_nodes(nodes: &[NodeConnection], record: &LockRecord, limit: usize) {
    let script = format!(
        "if grep -qxF {} {LOCK_FILE} 2>/dev/null; then rm -f {LOCK_FILE}; fi",
        shell_quote(&record.id_line())
    );
    let done = crate::parallel::map(nodes, limit, |n| n.exec_shell(&script)).await;
    for (node, result) in nodes.iter().zip(done) {
        if let Err(e) = result {
            tracing::warn!(
                node = node.name(),
                "cannot release the cluster lock {LOCK_FILE} (it expires {} s after the run): {e}",
                STALE_AFTER.as_secs()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_attempt_script_quotes_the_record() {
        let record = LockRecord {
            id: "h-1-2-3".into(),
            host: "it's".into(),
            pid: 1,
            command: "rke up".into(),
            since: "2026-01-01T00:00:00Z".into(),
        };
        let script = attempt_script(&record);
        assert!(script.contains("set -C"), "{script}");
        assert!(script.contains(r"host=it'\''s"), "{script}");
        assert!(
            script.contains("stat -c %Y /tmp/rke-cluster.lock"),
            "{script}"
        );
    }

    #[test]
    fn this_run_is_named_by_host_pid_and_time() {
        let r = this_run("rke up");
        assert_eq!(r.pid, std::process::id());
        assert_eq!(r.command, "rke up");
        assert!(r.id.contains(&format!("-{}-", r.pid)), "{}", r.id);
        assert!(r.since.ends_with('Z'), "{}", r.since);
        assert_eq!(LockRecord::parse(&r.to_text()), Some(r));
    }
}
