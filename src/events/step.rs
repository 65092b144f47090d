//! Wrapping existing futures as a phase or a node's step: a `started` event, then `done` or
//! `failed` with the duration, and every log line inside attributed to the phase/node/step
//! (through a span the event layer reads).
//!
//! Lifecycle events and the spans use the target [`TARGET`]: the JSON and progress sinks
//! always see them, while the plain text log only shows failures unless `-d` is given (and
//! the spans only with `--trace`), so CI logs read as before.

use std::convert::Infallible;
use std::fmt::Display;
use std::future::Future;
use std::time::Instant;

use tracing::Instrument;

/// The tracing target of phase and step lifecycle events.
pub const TARGET: &str = "rke::progress";

/// Run `fut` as `node`'s step `step`.
pub async fn step<T, E: Display>(
    node: &str,
    step: &str,
    fut: impl Future<Output = Result<T, E>>,
) -> Result<T, E> {
    let span = tracing::trace_span!(target: TARGET, "step", node = node, step = step);
    span.in_scope(|| tracing::debug!(target: TARGET, status = "started", "{step} started"));
    let start = Instant::now();
    let result = fut.instrument(span.clone()).await;
    finish(&span, start, &result, step);
    if let Err(e) = &result {
        super::report::note_failure(Some(node), Some(step), &format!("{e:#}"));
    }
    result
}

/// Run `fut` as the phase `phase` (etcd, controlplane, worker, addons, ...). `nodes` is how
/// many nodes take part, for the progress summary (0 when it is not per node).
pub async fn phase<T, E: Display>(
    phase: &str,
    nodes: usize,
    fut: impl Future<Output = Result<T, E>>,
) -> Result<T, E> {
    let span = tracing::trace_span!(target: TARGET, "phase", phase = phase);
    span.in_scope(|| {
        tracing::debug!(target: TARGET, status = "started", nodes = nodes as u64, "{phase} started");
    });
    let start = Instant::now();
    let result = fut.instrument(span.clone()).await;
    finish(&span, start, &result, phase);
    if let Err(e) = &result {
        super::report::note_failure(None, Some(phase), &format!("{e:#}"));
    }
    result
}

/// [`phase`] for work that cannot fail: it always ends `done` and gives back `fut`'s value.
pub async fn phase_infallible<T>(name: &str, nodes: usize, fut: impl Future<Output = T>) -> T {
    let Ok(value) = phase(name, nodes, async { Ok::<_, Infallible>(fut.await) }).await;
    value
}

/// A phase or step that is not run, with the reason.
pub fn skipped(phase: &str, reason: &str) {
    let span = tracing::trace_span!(target: TARGET, "phase", phase = phase);
    span.in_scope(
        || tracing::debug!(target: TARGET, status = "skipped", "{phase} skipped: {reason}"),
    );
}

fn finish<T, E: Display>(span: &tracing::Span, start: Instant, result: &Result<T, E>, what: &str) {
    let ms = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
    span.in_scope(|| match result {
        Ok(_) => tracing::debug!(target: TARGET, status = "done", duration_ms = ms, "{what} done"),
        Err(e) => {
            tracing::warn!(target: TARGET, status = "failed", duration_ms = ms, "{what} failed: {e:#}")
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::layer::tests::capture;
    use crate::events::model::Status;

    fn block_on<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn a_step_reports_started_and_done_with_node_step_and_duration() {
        let events = capture(|| {
            let r: Result<u8, String> = block_on(phase(
                "etcd",
                1,
                step("node1", "images", async {
                    tracing::info!("pulled");
                    Ok(7)
                }),
            ));
            assert_eq!(r, Ok(7));
        });
        let statuses: Vec<_> = events
            .iter()
            .map(|e| (e.step.as_deref(), e.status))
            .collect();
        assert_eq!(
            statuses,
            [
                (None, Status::Started),
                (Some("images"), Status::Started),
                (Some("images"), Status::Info),
                (Some("images"), Status::Done),
                (None, Status::Done),
            ]
        );
        assert!(events.iter().all(|e| e.phase.as_deref() == Some("etcd")));
        assert_eq!(events[1].node.as_deref(), Some("node1"));
        assert!(events[3].duration_ms.is_some());
        assert!(events[4].duration_ms.is_some());
    }

    #[test]
    fn an_infallible_phase_reports_started_and_done_and_returns_the_value() {
        let events = capture(|| {
            let v = block_on(phase_infallible("remove", 2, async {
                tracing::info!("cleaning");
                vec!["n1", "n2"]
            }));
            assert_eq!(v, ["n1", "n2"]);
        });
        let statuses: Vec<_> = events.iter().map(|e| e.status).collect();
        assert_eq!(statuses, [Status::Started, Status::Info, Status::Done]);
        assert!(events.iter().all(|e| e.phase.as_deref() == Some("remove")));
        assert!(events[2].duration_ms.is_some());
    }

    #[test]
    fn a_failed_step_says_why() {
        let events = capture(|| {
            let r: Result<(), String> = block_on(step("node2", "files", async {
                Err("disk full".to_string())
            }));
            assert!(r.is_err());
        });
        let last = events.last().unwrap();
        assert_eq!(last.status, Status::Failed);
        assert_eq!(last.level, "warn");
        assert_eq!(last.node.as_deref(), Some("node2"));
        assert!(last.message.contains("disk full"), "{}", last.message);
    }
}
