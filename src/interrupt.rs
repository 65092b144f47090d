//! Ctrl-C and SIGTERM during a command that changes a cluster.
//!
//! The first signal only sets a process-wide flag: the command checks it between its steps
//! (and between the nodes of a step that goes node by node), so the step in flight finishes
//! or rolls back as it would on failure, no new one starts, and the command ends through its
//! normal error path (state written, lock released) with an [`Interrupted`] error naming what
//! was done and what is left; the exit code is 128 + the signal (130, 143). A second signal
//! exits at once. Commands that install no handler keep the default (die on the signal).

use std::fmt;
use std::sync::atomic::{AtomicI32, Ordering};

/// The signal that asked the run to stop (0: none).
static REQUESTED: AtomicI32 = AtomicI32::new(0);

/// A signal that stops a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Interrupt,
    Terminate,
}

impl Signal {
    fn number(self) -> i32 {
        match self {
            Signal::Interrupt => libc::SIGINT,
            Signal::Terminate => libc::SIGTERM,
        }
    }

    fn from_number(n: i32) -> Option<Signal> {
        match n {
            libc::SIGINT => Some(Signal::Interrupt),
            libc::SIGTERM => Some(Signal::Terminate),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
        }
    }

    /// The shell's convention: 128 + the signal number (130 for SIGINT, 143 for SIGTERM).
    pub fn exit_code(self) -> i32 {
        128 + self.number()
    }
}

/// Record `signal` as the request to stop. Returns `false` when a stop was already requested
/// (then the caller exits at once).
fn request(signal: Signal) -> bool {
    REQUESTED
        .compare_exchange(0, signal.number(), Ordering::SeqCst, Ordering::SeqCst)
        .is_ok()
}

/// The signal that asked the run to stop, if any.
pub fn requested() -> Option<Signal> {
    Signal::from_number(REQUESTED.load(Ordering::SeqCst))
}

/// Catch SIGINT and SIGTERM for the rest of the process (call inside the runtime, before the
/// command's first step). `command` is what the messages tell the user to run again.
pub fn install(command: &'static str) -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut int = signal(SignalKind::interrupt())?;
    let mut term = signal(SignalKind::terminate())?;
    tokio::spawn(async move {
        loop {
            let got = tokio::select! {
                _ = int.recv() => Signal::Interrupt,
                _ = term.recv() => Signal::Terminate,
            };
            if request(got) {
                tracing::warn!(
                    "{}: stopping after the step in flight (it finishes or is rolled back); \
                     a second signal exits at once",
                    got.name()
                );
            } else {
                // Straight to stderr: the process ends before any log sink would flush.
                eprintln!(
                    "{}: second signal, exiting at once: the step in flight may be left half \
                     done and the cluster lock expires {} s from now; run `{command}` again",
                    got.name(),
                    crate::lock::STALE_AFTER.as_secs()
                );
                std::process::exit(got.exit_code());
            }
        }
    });
    Ok(())
}

/// The error a stopped run ends with: the signal, the steps done and the steps left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interrupted {
    pub signal: Signal,
    pub done: Vec<String>,
    pub left: Vec<String>,
}

impl fmt::Display for Interrupted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |items: &[String]| {
            if items.is_empty() {
                "nothing".to_string()
            } else {
                items.join(", ")
            }
        };
        if self.left.is_empty() {
            return write!(
                f,
                "{} received during the last step, which finished; done: {}; nothing is left",
                self.signal.name(),
                list(&self.done)
            );
        }
        write!(
            f,
            "stopped by {}; done: {}; left: {}. Run the same command again to finish",
            self.signal.name(),
            list(&self.done),
            list(&self.left)
        )
    }
}

impl std::error::Error for Interrupted {}

impl Interrupted {
    fn into_error(self) -> anyhow::Error {
        anyhow::Error::new(self)
    }
}

/// The [`Interrupted`] behind an error, wherever it is in the chain.
pub fn find(err: &anyhow::Error) -> Option<&Interrupted> {
    err.chain().find_map(|c| c.downcast_ref::<Interrupted>())
}

/// The exit code of an error: 128 + the signal for a stopped run, else its class's code.
pub fn exit_code(err: &anyhow::Error) -> i32 {
    match find(err) {
        Some(i) => i.signal.exit_code(),
        None => crate::error::kind_of(err).exit_code(),
    }
}

/// A command's steps in order, for the checks between them and the message of a stopped run.
#[derive(Debug, Clone, Copy)]
pub struct Steps {
    pub names: &'static [&'static str],
}

impl Steps {
    /// Before step `next` (or, with `next` = the number of steps, after the last: a signal
    /// still ends the run with its code): an [`Interrupted`] error when a stop was requested.
    pub fn before(&self, next: usize) -> anyhow::Result<()> {
        match requested() {
            Some(signal) => Err(self.stopped_before(next, signal).into_error()),
            None => Ok(()),
        }
    }

    /// Steps `..next` done, `next..` left.
    pub fn stopped_before(&self, next: usize, signal: Signal) -> Interrupted {
        let next = next.min(self.names.len());
        Interrupted {
            signal,
            done: self.names[..next].iter().map(|s| s.to_string()).collect(),
            left: self.names[next..].iter().map(|s| s.to_string()).collect(),
        }
    }

    /// `err`, from step `at`: a stop inside the step (between its nodes) is widened with the
    /// steps before and after it; any other error is returned as it is.
    pub fn within(&self, at: usize, err: anyhow::Error) -> anyhow::Error {
        match find(&err) {
            Some(inner) => self.widen(at, inner).into_error(),
            None => err,
        }
    }

    /// `inner`'s done and left, with the steps before `at` done and those after it left.
    pub fn widen(&self, at: usize, inner: &Interrupted) -> Interrupted {
        let at = at.min(self.names.len().saturating_sub(1));
        let before = self.names[..at].iter().map(|s| s.to_string());
        let after = self.names[(at + 1).min(self.names.len())..]
            .iter()
            .map(|s| s.to_string());
        Interrupted {
            signal: inner.signal,
            done: before.chain(inner.done.iter().cloned()).collect(),
            left: inner.left.iter().cloned().chain(after).collect(),
        }
    }
}

/// Between the nodes of a step that goes node by node (`step` on `done` is finished, on
/// `left` not started): an [`Interrupted`] error when a stop was requested.
pub fn between_nodes(step: &str, done: &[&str], left: &[&str]) -> anyhow::Result<()> {
    match requested() {
        Some(signal) => Err(stopped_between_nodes(step, done, left, signal).into_error()),
        None => Ok(()),
    }
}

/// Before batch `at` of a roll: the nodes done (`first`, converged before the roll, and the
/// earlier batches) and the nodes left (this batch and the later ones).
pub fn batch_progress<'a>(
    first: &[&'a str],
    batches: &[Vec<&'a str>],
    at: usize,
) -> (Vec<&'a str>, Vec<&'a str>) {
    let at = at.min(batches.len());
    let done = first
        .iter()
        .copied()
        .chain(batches[..at].iter().flatten().copied())
        .collect();
    let left = batches[at..].iter().flatten().copied().collect();
    (done, left)
}

/// "control plane on node1, node2" done, "control plane on node3" left.
pub fn stopped_between_nodes(
    step: &str,
    done: &[&str],
    left: &[&str],
    signal: Signal,
) -> Interrupted {
    let on = |nodes: &[&str]| {
        if nodes.is_empty() {
            Vec::new()
        } else {
            vec![format!("{step} on {}", nodes.join(", "))]
        }
    };
    Interrupted {
        signal,
        done: on(done),
        left: on(left),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{ErrorKind, classified};

    const STEPS: Steps = Steps {
        names: &[
            "prepare",
            "etcd plane",
            "control plane",
            "worker plane",
            "state",
        ],
    };

    #[test]
    fn exit_codes_follow_the_shell() {
        assert_eq!(Signal::Interrupt.exit_code(), 130);
        assert_eq!(Signal::Terminate.exit_code(), 143);
        assert_eq!(Signal::from_number(libc::SIGTERM), Some(Signal::Terminate));
        assert_eq!(Signal::from_number(0), None);
    }

    #[test]
    fn a_stop_before_a_step_lists_what_is_done_and_left() {
        let i = STEPS.stopped_before(2, Signal::Interrupt);
        assert_eq!(i.done, ["prepare", "etcd plane"]);
        assert_eq!(i.left, ["control plane", "worker plane", "state"]);
        assert_eq!(
            i.to_string(),
            "stopped by SIGINT; done: prepare, etcd plane; left: control plane, worker plane, \
             state. Run the same command again to finish"
        );
        let none = STEPS.stopped_before(0, Signal::Terminate);
        assert!(none.to_string().contains("done: nothing; left: prepare,"));
        let all = STEPS.stopped_before(99, Signal::Terminate);
        assert!(all.left.is_empty() && all.done.len() == 5);
        assert_eq!(
            all.to_string(),
            "SIGTERM received during the last step, which finished; done: prepare, etcd plane, \
             control plane, worker plane, state; nothing is left"
        );
    }

    #[test]
    fn a_stop_between_nodes_is_widened_with_the_other_steps() {
        let inner =
            stopped_between_nodes("worker plane", &["n1"], &["n2", "n3"], Signal::Terminate);
        let whole = STEPS.widen(3, &inner);
        assert_eq!(
            whole.done,
            [
                "prepare",
                "etcd plane",
                "control plane",
                "worker plane on n1"
            ]
        );
        assert_eq!(whole.left, ["worker plane on n2, n3", "state"]);
        assert_eq!(whole.signal, Signal::Terminate);
        // Stopped before the first node: nothing of that step is done.
        let first = stopped_between_nodes("etcd plane", &[], &["n1"], Signal::Interrupt);
        assert_eq!(STEPS.widen(1, &first).done, ["prepare"]);
    }

    #[test]
    fn a_roll_is_done_up_to_its_current_batch() {
        let batches = vec![vec!["e1"], vec!["w1", "w2"], vec!["w3"]];
        let (done, left) = batch_progress(&["fresh"], &batches, 0);
        assert_eq!((done, left), (vec!["fresh"], vec!["e1", "w1", "w2", "w3"]));
        let (done, left) = batch_progress(&[], &batches, 2);
        assert_eq!((done, left), (vec!["e1", "w1", "w2"], vec!["w3"]));
        let (done, left) = batch_progress(&[], &batches, 9);
        assert_eq!(done.len(), 4);
        assert!(left.is_empty());
    }

    #[test]
    fn the_error_carries_the_signal_code_through_context() {
        let i = STEPS.stopped_before(1, Signal::Terminate);
        let err = i.clone().into_error().context("worker plane");
        assert_eq!(find(&err), Some(&i));
        assert_eq!(exit_code(&err), 143);
        assert_eq!(crate::error::kind_of(&err), ErrorKind::Interrupted);
        // `within` rebuilds a stop found under context, and leaves other errors alone.
        let widened = STEPS.within(3, err);
        assert_eq!(find(&widened).map(|i| i.done.len()), Some(4));
        let other = classified(ErrorKind::Docker, "boom");
        let same = STEPS.within(3, other);
        assert_eq!(exit_code(&same), 5);
        assert!(find(&same).is_none());
    }
}
