//! What a command's closing result object says, gathered while it runs: the command's own
//! data, counts of what changed, the kubeconfig it wrote, and the failures of nodes' steps.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::Serialize;
use serde_json::{Value, json};

use crate::error::{ErrorKind, display_chain, kind_of};

/// One entry of the result's `errors`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErrorEntry {
    pub kind: &'static str,
    pub node: Option<String>,
    pub step: Option<String>,
    pub message: String,
}

/// The result being gathered.
#[derive(Debug, Default)]
pub struct Report {
    pub command: String,
    pub data: Option<Value>,
    pub kubeconfig: Option<String>,
    pub changed: BTreeMap<String, u64>,
    /// The write calls the command made (see [`super::writes`]).
    pub writes: super::writes::Counts,
    /// Errors the command itself reported (each with its class), e.g. per node.
    pub errors: Vec<ErrorEntry>,
    /// Steps that failed (node, step, message); their class is the final error's.
    pub failures: Vec<(Option<String>, Option<String>, String)>,
}

static REPORT: Mutex<Option<Report>> = Mutex::new(None);

fn with<R>(f: impl FnOnce(&mut Report) -> R) -> R {
    let mut guard = REPORT.lock().unwrap_or_else(|e| e.into_inner());
    f(guard.get_or_insert_with(Report::default))
}

/// Start a command's report.
pub fn begin(command: &str) {
    with(|r| {
        *r = Report {
            command: command.to_string(),
            ..Report::default()
        }
    });
}

/// The command's own result (what `--output json` printed before the event stream existed).
pub fn set_data(data: Value) {
    with(|r| r.data = Some(data));
}

/// The admin kubeconfig the command wrote.
pub fn set_kubeconfig(path: &std::path::Path) {
    with(|r| r.kubeconfig = Some(path.display().to_string()));
}

/// Count `n` more changes of kind `what` (e.g. `containers_created`).
pub fn add_changed(what: &str, n: u64) {
    if n > 0 {
        with(|r| *r.changed.entry(what.to_string()).or_default() += n);
    }
}

/// An error the command reports itself, with its class, node and step.
pub fn add_error(kind: ErrorKind, node: Option<&str>, step: Option<&str>, message: &str) {
    with(|r| {
        r.errors.push(ErrorEntry {
            kind: kind.as_str(),
            node: node.map(str::to_string),
            step: step.map(str::to_string),
            message: message.to_string(),
        })
    });
}

/// A step or phase failed (called by [`super::step`]).
pub fn note_failure(node: Option<&str>, step: Option<&str>, message: &str) {
    with(|r| {
        r.failures.push((
            node.map(str::to_string),
            step.map(str::to_string),
            message.to_string(),
        ))
    });
}

/// Take the gathered report (leaving an empty one).
pub fn take() -> Report {
    with(std::mem::take)
}

impl Report {
    /// The closing result object. `error` is the command's final error, if it failed with one.
    pub fn result(&self, exit_code: i32, duration_ms: u64, error: Option<&anyhow::Error>) -> Value {
        json!({
            "type": "result",
            "command": self.command,
            "success": exit_code == 0 || exit_code == crate::error::EXIT_CHANGES_PENDING,
            "exit_code": exit_code,
            "duration_ms": duration_ms,
            "changed": self.changed,
            "writes": self.writes,
            "kubeconfig": self.kubeconfig,
            "errors": self.error_entries(exit_code, error),
            "data": self.data,
        })
    }

    /// The command's own errors if it reported any; else the failed node steps (the most
    /// precise place, classified as the final error); else the final error itself, with the
    /// node its message names.
    fn error_entries(&self, exit_code: i32, error: Option<&anyhow::Error>) -> Vec<ErrorEntry> {
        if !self.errors.is_empty() {
            return self.errors.clone();
        }
        let kind = match error {
            Some(e) => kind_of(e),
            None => match kind_for_exit_code(exit_code) {
                Some(kind) => kind,
                None => return Vec::new(),
            },
        };
        let node_failures: Vec<ErrorEntry> = self
            .failures
            .iter()
            .filter(|(node, _, _)| node.is_some())
            .map(|(node, step, message)| ErrorEntry {
                kind: kind.as_str(),
                node: node.clone(),
                step: step.clone(),
                message: message.clone(),
            })
            .collect();
        if !node_failures.is_empty() {
            return node_failures;
        }
        let message = error.map_or_else(
            || format!("{} error (exit code {exit_code})", kind.as_str()),
            display_chain,
        );
        let step = self.failures.last().and_then(|(_, step, _)| step.clone());
        vec![ErrorEntry {
            kind: kind.as_str(),
            node: node_named_in(&message),
            step,
            message,
        }]
    }
}

/// The class behind a non-zero exit code a command returned without an error value.
fn kind_for_exit_code(code: i32) -> Option<ErrorKind> {
    ErrorKind::ALL.into_iter().find(|k| k.exit_code() == code)
}

/// The node an error message names: rke's messages say "node NAME: ..." (or "... of NAME
/// ..." for connection errors, which are reported per node before this).
pub fn node_named_in(message: &str) -> Option<String> {
    let mut rest = message;
    while let Some(i) = rest.find("node ") {
        let at_word_start = i == 0 || rest[..i].ends_with([' ', '\n', '(']);
        let after = &rest[i + 5..];
        let name: String = after
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
            .collect();
        if at_word_start && !name.is_empty() && after[name.len()..].starts_with(':') {
            return Some(name);
        }
        rest = after;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::classified;

    #[test]
    fn a_success_has_every_key() {
        let mut r = Report {
            command: "up".into(),
            ..Report::default()
        };
        r.kubeconfig = Some("/tmp/kube_config_cluster.yml".into());
        r.changed.insert("containers_created".into(), 9);
        let v = r.result(0, 1500, None);
        assert_eq!(v["type"], "result");
        assert_eq!(v["command"], "up");
        assert_eq!(v["success"], true);
        assert_eq!(v["exit_code"], 0);
        assert_eq!(v["duration_ms"], 1500);
        assert_eq!(v["changed"]["containers_created"], 9);
        assert_eq!(
            v["writes"],
            json!({"engine": 0, "engine_execs": 0, "api": 0, "api_dry_run": 0, "ssh_commands": 0})
        );
        assert_eq!(v["kubeconfig"], "/tmp/kube_config_cluster.yml");
        assert_eq!(v["errors"], json!([]));
        assert_eq!(v["data"], Value::Null);
    }

    #[test]
    fn pending_dry_run_changes_are_a_success() {
        let r = Report::default();
        let v = r.result(2, 1, None);
        assert_eq!(v["success"], true);
        assert_eq!(v["errors"], json!([]));
    }

    #[test]
    fn the_final_error_names_its_kind_and_node() {
        let r = Report::default();
        let e = classified(
            ErrorKind::Docker,
            "node node2: pulling rancher/hyperkube: denied",
        )
        .context("images");
        let v = r.result(5, 10, Some(&e));
        assert_eq!(v["success"], false);
        assert_eq!(
            v["errors"],
            json!([{"kind": "docker", "node": "node2", "step": null,
                    "message": "images: node node2: pulling rancher/hyperkube: denied"}])
        );
    }

    #[test]
    fn failed_steps_give_node_and_step() {
        let mut r = Report::default();
        r.failures.push((
            Some("node3".into()),
            Some("controlplane".into()),
            "unhealthy".into(),
        ));
        r.failures
            .push((None, Some("controlplane".into()), "1 node failed".into()));
        let e = classified(ErrorKind::HealthTimeout, "unhealthy");
        let v = r.result(6, 10, Some(&e));
        assert_eq!(
            v["errors"],
            json!([{"kind": "health-timeout", "node": "node3", "step": "controlplane",
                    "message": "unhealthy"}])
        );
    }

    #[test]
    fn a_bare_exit_code_still_gets_its_kind() {
        let r = Report::default();
        let v = r.result(3, 0, None);
        assert_eq!(v["errors"][0]["kind"], "config");
        assert_eq!(v["success"], false);
    }

    #[test]
    fn nodes_are_found_in_messages() {
        assert_eq!(node_named_in("node n1: boom").as_deref(), Some("n1"));
        assert_eq!(
            node_named_in("control plane: node rke-e2e-node2: unhealthy").as_deref(),
            Some("rke-e2e-node2")
        );
        assert_eq!(node_named_in("3 nodes failed: x"), None);
        assert_eq!(node_named_in("no node here"), None);
    }
}
