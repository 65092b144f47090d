//! Running a node scenario's steps in order (every `harness = false` node scenario): each step
//! is timed and reported; a failure (error or panic) stops the steps after it when later ones
//! build on what it does.

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

/// Report a scenario that cannot run here because a prerequisite from outside the checkout
/// (`../shared`) is absent: it says why, and counts as skipped, neither passed nor failed
/// (scripts/test-all.sh adds the `N skipped` to its closing line).
pub fn skipped(name: &str, why: &str) {
    println!("{name}: skipped: {why}");
    println!("{name}: 0 passed, 0 failed, 1 skipped");
}

/// A node scenario's whole `main`: find the environment (or report `0 passed, 0 failed` when
/// `RKE_E2E_SKIP=1`), require `need` nodes (with `only_these`, hide the others so `clean`
/// leaves them alone), clean, run the steps, clean again, keep the working directory of a failed
/// run, print `<name>: N passed, N failed` (what scripts/test-all.sh counts) and exit non-zero
/// on failure.
pub fn main(
    name: &str,
    need: usize,
    only_these: bool,
    steps: &[(&str, Step<super::cluster::Ctx>, OnFailure)],
    clean: fn(&serde_json::Value),
) {
    use super::{cluster::Ctx, e2e, nodes};
    let fail = |why: String| -> ! {
        println!("{name}: {why}\n{name}: 0 passed, 1 failed");
        std::process::exit(1);
    };
    let Some(mut env) = e2e::env() else {
        println!("{name}: 0 passed, 0 failed");
        return;
    };
    let count = nodes::node_count(&env);
    if count < need {
        fail(format!(
            "{} describes {count} nodes; this test needs {need} (tests/env/up.sh {need})",
            e2e::env_path().display()
        ));
    }
    if only_these && let Some(list) = env["nodes"].as_array_mut() {
        list.truncate(need);
    }
    let mut ctx = Ctx::new(env).unwrap_or_else(|e| fail(format!("{e:#}")));
    println!("{name}: working directory {}", ctx.dir.path().display());
    clean(&ctx.env);
    let (passed, failed) = run(&mut ctx, steps);
    drop(ctx.api_watch.take());
    clean(&ctx.env);
    if failed > 0 {
        // Keep cluster.yml, the state file, the kubeconfig and rke's logs for a look.
        let kept = ctx.dir.keep();
        println!("{name}: files kept in {}", kept.display());
    }
    println!("{name}: {passed} passed, {failed} failed");
    if failed > 0 {
        std::process::exit(1);
    }
}
