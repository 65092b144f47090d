//! Running a node scenario's steps in order, shared by up_nodes and snapshot_nodes: each step
//! is timed and reported; a failure (error or panic) stops the steps after it when later ones
//! build on what it does.
// Shared by several test binaries, each using part of it.
#![allow(dead_code)]

use std::panic::AssertUnwindSafe;
use std::time::Instant;

/// What a failed step means for the ones after it.
#[derive(PartialEq, Clone, Copy)]
pub enum OnFailure {
    Stop,
    Continue,
}

pub type Step<C> = fn(&mut C) -> anyhow::Result<()>;

/// Run `steps` on `ctx`; returns (passed, failed).
pub fn run<C>(ctx: &mut C, steps: &[(&str, Step<C>, OnFailure)]) -> (usize, usize) {
    let (mut passed, mut failed) = (0, 0);
    let mut stopped = false;
    for (name, step, on_failure) in steps {
        if stopped {
            println!("-- skipped: {name}");
            continue;
        }
        println!("== {name}");
        let started = Instant::now();
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| step(ctx)));
        let secs = started.elapsed().as_secs_f64();
        let error = match outcome {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(format!("{e:#}")),
            Err(panic) => Some(format!(
                "panic: {}",
                panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default()
            )),
        };
        match error {
            None => {
                passed += 1;
                println!("ok ({secs:.0}s): {name}");
            }
            Some(e) => {
                failed += 1;
                stopped = *on_failure == OnFailure::Stop;
                println!("FAILED ({secs:.0}s): {name}\n{e}");
            }
        }
    }
    (passed, failed)
}
