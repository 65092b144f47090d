//! The node side of an undoable restore: the journal, and each member's previous data kept in
//! `<data dir>/pre-restore/member` until the restored cluster is healthy. The previous data stays
//! inside etcd's data directory (the bind source of the etcd container, which is never moved or
//! replaced) so that every move is a rename on one filesystem: atomic, and instant for any
//! database size, even when the data directory is a mount of its own. Every script here can be
//! killed at any line and run again.

use std::time::Duration;

use super::journal::{JOURNAL_DIR, JOURNAL_FILE, Journal, Observed};
use crate::provision::node::{HELPER_LABEL, Helper, force_remove, observe_labelled, run_oneshot};
use crate::transport::NodeConnection;

/// Where a member's previous data is kept, relative to etcd's data directory.
pub const KEPT_DIR: &str = "pre-restore";
const TIMEOUT: Duration = Duration::from_secs(300);

/// The journal on each node, read over SSH (the file is world-readable and holds no secret),
/// `limit` nodes at a time.
pub async fn read_journals(nodes: &[&NodeConnection], limit: usize) -> Vec<Observed> {
    let path = format!("{JOURNAL_DIR}/{JOURNAL_FILE}");
    let script = format!("if [ -e {path} ]; then echo present; cat {path}; else echo absent; fi");
    let (path, script) = (&path, &script);
    crate::parallel::map(nodes, limit, |c| async move {
        let journal = match c.exec_shell(script).await {
            Err(e) => Err(format!("reading {path}: {e}")),
            Ok(out) if !out.success() => {
                Err(format!("reading {path}: {}", out.stderr_text().trim()))
            }
            Ok(out) => {
                let text = out.stdout_text();
                match text.split_once('\n') {
                    Some(("present", body)) => Journal::parse(body, path).map(Some),
                    _ if text.trim() == "absent" => Ok(None),
                    _ => Err(format!("reading {path}: unexpected output {text:?}")),
                }
            }
        };
        Observed {
            node: c.name().to_string(),
            journal,
        }
    })
    .await
}

/// Helpers a killed restore left on the node (a restore or a swap, perhaps still running, that
/// no one waits for): removed before the restore is finished or rolled back, so none of them
/// writes while this run does. Every step they did is one the next run redoes or undoes.
pub async fn remove_leftovers(conn: &NodeConnection) -> anyhow::Result<Vec<String>> {
    let mut removed = Vec::new();
    for c in observe_labelled(conn, HELPER_LABEL).await? {
        let name = c.name.trim_start_matches('/');
        if name.starts_with("rke-etcd-restore") && force_remove(conn, &c.id, name).await? {
            removed.push(name.to_string());
        }
    }
    Ok(removed)
}

fn helper<'a>(
    image: &'a str,
    kind: &'static str,
    script: String,
    binds: Vec<String>,
) -> Helper<'a> {
    Helper {
        kind,
        what: "the etcd restore journal",
        image,
        entrypoint: Some(vec!["sh".into(), "-c".into(), script]),
        cmd: None,
        binds,
        security_opt: Some(vec!["label=disable".into()]),
    }
}

/// Write `journal` to the node (written aside, then renamed into place).
pub async fn write_journal(
    conn: &NodeConnection,
    journal: &Journal,
    helper_image: &str,
) -> anyhow::Result<()> {
    let h = helper(
        helper_image,
        "etcd-restore-journal",
        journal_script(journal),
        vec![format!("{JOURNAL_DIR}:/j")],
    );
    run_oneshot(conn, h, "writing the restore journal", TIMEOUT)
        .await
        .map(drop)
}

/// Writes the journal to `/j`, aside then renamed into place, world-readable (it is read over
/// SSH by any user).
fn journal_script(journal: &Journal) -> String {
    format!(
        "printf '%s\\n' '{}' > /j/{JOURNAL_FILE}.part && chmod 644 /j/{JOURNAL_FILE}.part \
         && mv /j/{JOURNAL_FILE}.part /j/{JOURNAL_FILE}",
        // Single-quoted for sh: a quote inside is closed, escaped and reopened.
        journal.encode().replace('\'', "'\\''")
    )
}

/// The swap of one member, run with the restored data at `/restore/data/member` and etcd's
/// data directory at `/data`: the previous `member` goes into `pre-restore/` (unless an earlier,
/// interrupted attempt already put it there: then `member` is that attempt's and is replaced),
/// then the restored one takes its place. `chown` is appended for etcd's user.
pub fn swap_script(chown: &str) -> String {
    format!(
        "cd /data && if [ ! -d {KEPT_DIR} ]; then mkdir -p {KEPT_DIR}.tmp \
         && if [ -d member ]; then mv member {KEPT_DIR}.tmp/member; fi \
         && mv {KEPT_DIR}.tmp {KEPT_DIR}; fi \
         && rm -rf member member.old && mv /restore/data/member member{chown} \
         && rm -rf /restore/data /restore/snapshot.db"
    )
}

/// Put the member's previous data back (`/data` is etcd's data directory). A node whose swap
/// never began keeps its `member`, which is the previous data.
fn rollback_script() -> String {
    format!(
        "cd /data && if [ -d {KEPT_DIR}.tmp ] && [ ! -d {KEPT_DIR} ]; then \
         if [ -d {KEPT_DIR}.tmp/member ]; then mv {KEPT_DIR}.tmp/member member; fi; \
         rmdir {KEPT_DIR}.tmp; fi \
         && if [ -d {KEPT_DIR} ]; then rm -rf member \
         && if [ -d {KEPT_DIR}/member ]; then mv {KEPT_DIR}/member member; fi \
         && rmdir {KEPT_DIR}; echo rolled-back; else echo untouched; fi"
    )
}

/// Put the previous data back on one node; true when it had been replaced.
pub async fn roll_back(
    conn: &NodeConnection,
    data_dir: &str,
    helper_image: &str,
) -> anyhow::Result<bool> {
    let h = helper(
        helper_image,
        "etcd-restore-rollback",
        rollback_script(),
        vec![format!("{data_dir}:/data")],
    );
    let out = run_oneshot(conn, h, "putting the previous etcd data back", TIMEOUT).await?;
    Ok(out.contains("rolled-back"))
}

/// Delete the kept data, then the journal (in that order: a journal outlives what it
/// describes, never the other way round).
pub async fn clean_up(
    conn: &NodeConnection,
    data_dir: &str,
    helper_image: &str,
) -> anyhow::Result<()> {
    let script = format!("rm -rf /data/{KEPT_DIR} /data/{KEPT_DIR}.tmp && rm -f /j/{JOURNAL_FILE}");
    let h = helper(
        helper_image,
        "etcd-restore-cleanup",
        script,
        vec![format!("{data_dir}:/data"), format!("{JOURNAL_DIR}:/j")],
    );
    run_oneshot(
        conn,
        h,
        "deleting the etcd data kept from before the restore",
        TIMEOUT,
    )
    .await
    .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// Run `script` with `sh` in a scratch root where `/data` and `/restore` are replaced by
    /// directories of the test; returns the tree afterwards.
    fn run(root: &std::path::Path, script: &str) -> bool {
        // Placeholders first: the scratch paths themselves contain `/data`.
        let script = script
            .replace("/restore/data", "@RD@")
            .replace("/restore", "@R@")
            .replace("/data", "@D@")
            .replace("@RD@", &root.join("restore/data").display().to_string())
            .replace("@R@", &root.join("restore").display().to_string())
            .replace("@D@", &root.join("data").display().to_string());
        Command::new("sh")
            .args(["-c", &script])
            .status()
            .expect("sh runs")
            .success()
    }

    fn put(root: &std::path::Path, path: &str, text: &str) {
        let p = root.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    fn read(root: &std::path::Path, path: &str) -> Option<String> {
        std::fs::read_to_string(root.join(path)).ok()
    }

    #[test]
    fn the_journal_written_by_sh_reads_back_the_same() {
        let t = tempfile::tempdir().unwrap();
        let j = t.path().join("j");
        std::fs::create_dir(&j).unwrap();
        let journal = Journal {
            snapshot: "s1".into(),
            sha256: "ab".repeat(32),
            phase: super::super::Phase::Restoring,
            started: 1,
            by: "o'brien's-laptop 7 $HOME \\".into(),
        };
        let script = journal_script(&journal).replace("/j/", &format!("{}/", j.display()));
        assert!(
            Command::new("sh")
                .args(["-c", &script])
                .status()
                .unwrap()
                .success()
        );
        let text = std::fs::read_to_string(j.join(JOURNAL_FILE)).unwrap();
        assert_eq!(Journal::parse(&text, "x"), Ok(journal));
    }

    #[test]
    fn swap_keeps_the_previous_member_and_a_second_swap_keeps_the_first_one() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        put(r, "data/member/db", "old");
        put(r, "restore/data/member/db", "snap");
        assert!(run(r, &swap_script("")));
        assert_eq!(read(r, "data/member/db").as_deref(), Some("snap"));
        assert_eq!(
            read(r, "data/pre-restore/member/db").as_deref(),
            Some("old")
        );
        // Run again (the restore finished after an interruption): the kept data stays the
        // data from before the first attempt.
        put(r, "restore/data/member/db", "snap2");
        assert!(run(r, &swap_script("")));
        assert_eq!(read(r, "data/member/db").as_deref(), Some("snap2"));
        assert_eq!(
            read(r, "data/pre-restore/member/db").as_deref(),
            Some("old")
        );
        assert!(run(r, &rollback_script()));
        assert_eq!(read(r, "data/member/db").as_deref(), Some("old"));
        assert!(!r.join("data/pre-restore").exists());
    }

    /// Killed between moving `member` aside and renaming the scratch directory.
    #[test]
    fn an_interrupted_move_aside_is_completed_or_undone() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        put(r, "data/pre-restore.tmp/member/db", "old");
        put(r, "restore/data/member/db", "snap");
        assert!(run(r, &swap_script("")));
        assert_eq!(
            read(r, "data/pre-restore/member/db").as_deref(),
            Some("old")
        );
        assert_eq!(read(r, "data/member/db").as_deref(), Some("snap"));

        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        put(r, "data/pre-restore.tmp/member/db", "old");
        assert!(run(r, &rollback_script()));
        assert_eq!(read(r, "data/member/db").as_deref(), Some("old"));
        assert!(!r.join("data/pre-restore.tmp").exists());
    }

    #[test]
    fn rollback_leaves_an_untouched_member_alone_and_removes_one_that_had_no_predecessor() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        put(r, "data/member/db", "old");
        assert!(run(r, &rollback_script()));
        assert_eq!(read(r, "data/member/db").as_deref(), Some("old"));
        // A member that did not exist before the restore (a new node) is removed again.
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        std::fs::create_dir_all(r.join("data")).unwrap();
        put(r, "restore/data/member/db", "snap");
        assert!(run(r, &swap_script("")));
        assert!(r.join("data/pre-restore").is_dir());
        assert!(run(r, &rollback_script()));
        assert!(!r.join("data/member").exists());
        assert!(!r.join("data/pre-restore").exists());
    }
}
