//! What a run reports while it works and when it ends, for people and for CI.
//!
//! Code logs with `tracing` and wraps work in [`phase`] and [`step`]; the [`layer`] turns that
//! into [`model::Event`]s, and one sink, chosen at start-up ([`mode::choose`]), shows them:
//! JSON lines on stdout ending with a result object ([`report`]), live bars on a terminal
//! ([`progress`]), or the plain text log.

pub mod layer;
pub mod mode;
pub mod model;
pub mod progress;
pub mod redact;
pub mod report;
pub mod step;
pub mod writes;

mod json_out;

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::prelude::*;

pub use mode::Mode;
pub use step::{TARGET, phase, phase_infallible, skipped, step};

static MODE: OnceLock<Mode> = OnceLock::new();
static PROGRESS: OnceLock<progress::Progress> = OnceLock::new();

/// The sink this run uses ([`Mode::Plain`] before [`init`]).
pub fn mode() -> Mode {
    MODE.get().copied().unwrap_or(Mode::Plain)
}

/// Whether stdout is the JSON stream (commands then hand their data to [`report::set_data`]
/// instead of printing it).
pub fn json() -> bool {
    mode() == Mode::Json
}

/// Set up logging and the sink for `command`. `level` is the log level the flags ask for
/// (`RUST_LOG` overrides it); `ansi` colours the text log.
pub fn init(mode: Mode, level: &str, command: &str) {
    let _ = MODE.set(mode);
    report::begin(command);
    let user_filter =
        || EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let text_log = || {
        tracing_subscriber::fmt::layer()
            .with_target(false)
            .without_time()
    };
    let command = command.to_string();
    let result = match mode {
        Mode::Json => {
            if let Err(e) = json_out::capture_stdout() {
                eprintln!("warning: stdout could not be reserved for the JSON stream: {e}");
            }
            let handler: layer::Handler = Arc::new(move |mut e| {
                e.command.get_or_insert_with(|| command.clone());
                json_out::write_line(&render_event(&e));
            });
            // Lifecycle events always reach the stream, whatever the log level.
            let filter = user_filter().add_directive(
                format!("{TARGET}=trace")
                    .parse()
                    .expect("a valid static directive"),
            );
            tracing_subscriber::registry()
                .with(layer::EventLayer::new(handler).with_filter(filter))
                .try_init()
        }
        Mode::Progress => {
            let progress = PROGRESS.get_or_init(progress::Progress::new);
            let handler: layer::Handler = Arc::new(move |mut e| {
                e.command.get_or_insert_with(|| command.clone());
                progress.handle(&e);
            });
            let only_lifecycle = tracing_subscriber::filter::filter_fn(|m| m.target() == TARGET);
            tracing_subscriber::registry()
                .with(
                    text_log()
                        .with_writer(redact::Masked(progress.log_writer()))
                        .with_ansi(true)
                        .with_filter(user_filter()),
                )
                .with(layer::EventLayer::new(handler).with_filter(only_lifecycle))
                .try_init()
        }
        Mode::Plain => {
            use std::io::IsTerminal;
            tracing_subscriber::registry()
                .with(
                    text_log()
                        .with_writer(redact::Masked(std::io::stderr))
                        .with_ansi(std::io::stderr().is_terminal())
                        .with_filter(user_filter()),
                )
                .try_init()
        }
    };
    // A subscriber already set (tests calling in twice) keeps the first.
    drop(result);
}

/// End the run: stop the bars, and in JSON mode write the closing result object.
pub fn finish(exit_code: i32, error: Option<&anyhow::Error>, started: Instant) {
    if let Some(p) = PROGRESS.get() {
        p.finish();
    }
    let writes = writes::counts();
    tracing::debug!(
        "write calls: engine {}, engine execs {}, API {} (dry runs {}), SSH commands {}",
        writes.engine,
        writes.engine_execs,
        writes.api,
        writes.api_dry_run,
        writes.ssh_commands
    );
    if json() {
        let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let mut report = report::take();
        report.writes = writes;
        let result = report.result(exit_code, ms, error);
        json_out::write_line(&render_result(&result));
    }
}

/// One event as the JSON stream's line, secrets masked.
pub fn render_event(e: &model::Event) -> String {
    redact::scrub(&e.to_json_line())
}

/// The result object as the JSON stream's last line, secrets masked.
pub fn render_result(result: &serde_json::Value) -> String {
    redact::scrub(&result.to_string())
}
