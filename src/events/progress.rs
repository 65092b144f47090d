//! The terminal view: a line per node with its current step and elapsed time, a plane summary
//! ("etcd 3/3 · control plane 1/2 · workers 0/3"), and the log printed above the bars (the
//! text log's writer suspends the bars while it writes, so lines and bars never interleave).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use tracing_subscriber::fmt::MakeWriter;

use super::model::{Event, Status};

pub struct Progress {
    multi: MultiProgress,
    summary: ProgressBar,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    bars: BTreeMap<String, ProgressBar>,
    /// Phases in the order they started.
    phases: Vec<PhaseCount>,
}

/// How far one phase is: nodes with a step under way, nodes finished, nodes failed.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct PhaseCount {
    pub name: String,
    pub total: Option<u64>,
    pub running: BTreeMap<String, u32>,
    pub done: BTreeSet<String>,
    pub failed: BTreeSet<String>,
}

impl PhaseCount {
    /// "etcd 2/3", "control plane 1/2 (1 failed)".
    pub fn label(&self) -> String {
        let name = match self.name.as_str() {
            "controlplane" => "control plane",
            "worker" => "workers",
            other => other,
        };
        let seen = self.running.len() + self.done.len() + self.failed.len();
        let total = self.total.map_or(seen, |t| (t as usize).max(seen));
        let mut label = format!("{name} {}/{total}", self.done.len());
        if !self.failed.is_empty() {
            label.push_str(&format!(" ({} failed)", self.failed.len()));
        }
        label
    }
}

fn running_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner:.cyan} {msg} {elapsed:.dim}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
}

fn still_style() -> ProgressStyle {
    ProgressStyle::with_template("  {msg}").unwrap_or_else(|_| ProgressStyle::default_spinner())
}

impl Default for Progress {
    fn default() -> Self {
        Self::new()
    }
}

impl Progress {
    pub fn new() -> Progress {
        let multi = MultiProgress::new();
        let summary = multi.add(ProgressBar::new_spinner().with_style(still_style()));
        Progress {
            multi,
            summary,
            state: Mutex::new(State::default()),
        }
    }

    /// A `MakeWriter` for the text log that prints above the bars.
    pub fn log_writer(&self) -> AboveBars {
        AboveBars(self.multi.clone())
    }

    /// Update the bars for one event (lifecycle events only; log lines go through the writer).
    pub fn handle(&self, event: &Event) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        match (&event.node, &event.step) {
            (Some(node), Some(step)) => self.node_event(&mut state, node, step, event),
            (None, _) => {
                if let Some(phase) = &event.phase
                    && event.status == Status::Started
                {
                    let p = phase_entry(&mut state.phases, phase);
                    p.total = event.nodes.or(p.total);
                }
            }
            _ => {}
        }
        let line: Vec<String> = state.phases.iter().map(PhaseCount::label).collect();
        self.summary.set_message(line.join(" · "));
        self.summary.tick();
    }

    fn node_event(&self, state: &mut State, node: &str, step: &str, event: &Event) {
        let multi = &self.multi;
        let bar = state
            .bars
            .entry(node.to_string())
            .or_insert_with(|| multi.insert_before(&self.summary, ProgressBar::new_spinner()));
        match event.status {
            Status::Started => {
                bar.set_style(running_style());
                bar.set_message(format!("{node}: {step}"));
                bar.reset_elapsed();
                bar.enable_steady_tick(Duration::from_millis(120));
            }
            Status::Done | Status::Failed | Status::Skipped => {
                bar.disable_steady_tick();
                bar.set_style(still_style());
                let secs = event.duration_ms.unwrap_or(0) as f64 / 1000.0;
                let word = match event.status {
                    Status::Failed => "FAILED",
                    Status::Skipped => "skipped",
                    _ => "done",
                };
                bar.set_message(format!("{node}: {step} {word} ({secs:.1}s)"));
            }
            Status::Info => return,
        }
        if let Some(phase) = &event.phase {
            count(phase_entry(&mut state.phases, phase), node, event.status);
        }
    }

    /// Stop every spinner and replace the live view with its last state as plain lines, so
    /// what the command prints next starts on a line of its own.
    pub fn finish(&self) {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let mut lines: Vec<String> = state
            .bars
            .values()
            .map(|bar| {
                bar.disable_steady_tick();
                format!("  {}", bar.message())
            })
            .collect();
        if !state.phases.is_empty() {
            lines.push(format!("  {}", self.summary.message()));
        }
        let _ = self.multi.clear();
        for bar in state.bars.values() {
            bar.finish_and_clear();
        }
        self.summary.finish_and_clear();
        if !self.multi.is_hidden() {
            for line in lines {
                eprintln!("{line}");
            }
        }
    }
}

fn phase_entry<'a>(phases: &'a mut Vec<PhaseCount>, name: &str) -> &'a mut PhaseCount {
    let i = match phases.iter().position(|p| p.name == name) {
        Some(i) => i,
        None => {
            phases.push(PhaseCount {
                name: name.to_string(),
                ..PhaseCount::default()
            });
            phases.len() - 1
        }
    };
    &mut phases[i]
}

/// A node counts as done in a phase when none of its steps there is still running.
fn count(p: &mut PhaseCount, node: &str, status: Status) {
    match status {
        Status::Started => {
            p.done.remove(node);
            *p.running.entry(node.to_string()).or_default() += 1;
        }
        Status::Done | Status::Skipped | Status::Failed => {
            let left = p.running.get_mut(node).map(|n| {
                *n = n.saturating_sub(1);
                *n
            });
            if left.unwrap_or(0) == 0 {
                p.running.remove(node);
                if status == Status::Failed {
                    p.failed.insert(node.to_string());
                } else if !p.failed.contains(node) {
                    p.done.insert(node.to_string());
                }
            }
        }
        Status::Info => {}
    }
}

/// The text log's writer in progress mode: each log line is written with the bars suspended.
#[derive(Clone)]
pub struct AboveBars(MultiProgress);

pub struct LineBuffer {
    multi: MultiProgress,
    buf: Vec<u8>,
}

impl<'a> MakeWriter<'a> for AboveBars {
    type Writer = LineBuffer;

    fn make_writer(&'a self) -> LineBuffer {
        LineBuffer {
            multi: self.0.clone(),
            buf: Vec::new(),
        }
    }
}

impl Write for LineBuffer {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LineBuffer {
    fn drop(&mut self) {
        if !self.buf.is_empty() {
            let buf = std::mem::take(&mut self.buf);
            self.multi.suspend(|| {
                let _ = std::io::stderr().write_all(&buf);
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phase_counts_follow_node_steps() {
        let mut p = PhaseCount {
            name: "controlplane".into(),
            total: Some(2),
            ..PhaseCount::default()
        };
        count(&mut p, "n1", Status::Started);
        count(&mut p, "n2", Status::Started);
        assert_eq!(p.label(), "control plane 0/2");
        count(&mut p, "n1", Status::Done);
        assert_eq!(p.label(), "control plane 1/2");
        count(&mut p, "n2", Status::Failed);
        assert_eq!(p.label(), "control plane 1/2 (1 failed)");
    }

    #[test]
    fn a_phase_without_a_total_counts_the_nodes_seen() {
        let mut p = PhaseCount {
            name: "worker".into(),
            ..PhaseCount::default()
        };
        count(&mut p, "n1", Status::Started);
        count(&mut p, "n1", Status::Started);
        count(&mut p, "n1", Status::Done);
        assert_eq!(p.label(), "workers 0/1");
        count(&mut p, "n1", Status::Done);
        assert_eq!(p.label(), "workers 1/1");
    }

    #[test]
    fn the_view_handles_a_run_without_a_terminal() {
        // Hidden draw target: the state still updates and nothing panics.
        let progress = Progress::new();
        progress
            .multi
            .set_draw_target(indicatif::ProgressDrawTarget::hidden());
        let mut e = Event::now("debug", "started");
        e.phase = Some("etcd".into());
        e.status = Status::Started;
        e.nodes = Some(1);
        progress.handle(&e);
        e.node = Some("n1".into());
        e.step = Some("etcd".into());
        progress.handle(&e);
        e.status = Status::Done;
        e.duration_ms = Some(1500);
        progress.handle(&e);
        assert_eq!(progress.summary.message(), "etcd 1/1");
        progress.finish();
    }
}
