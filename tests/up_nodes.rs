//! `rke up` end to end on the real nodes of tests/env (4 nodes: `tests/env/up.sh 4`), with a
//! real Kubernetes v1.20.2: the rke binary and kubectl are driven exactly as a user would.
//!
//! One scenario in sequence (each step builds on the previous one; after a failure the rest
//! is skipped): a fresh 3-node cluster, a pod on the worker-only node, an idempotent re-run,
//! adding and removing nodes while the API is watched, a run that fails on one node and its
//! recovery, and no private keys in any container's configuration. The nodes are cleaned
//! before and after, pass or fail. `RKE_E2E_SKIP=1` skips; a missing environment fails.
//! The last line, `up_nodes: N passed, N failed`, is what scripts/test-all.sh counts.

#[path = "up_nodes/api_watch.rs"]
mod api_watch;
#[path = "up_nodes/cluster.rs"]
mod cluster;
#[path = "common/e2e.rs"]
mod e2e;
#[path = "up_nodes/nodes.rs"]
mod nodes;
#[path = "up_nodes/steps_change.rs"]
mod steps_change;
#[path = "up_nodes/steps_fresh.rs"]
mod steps_fresh;

use std::panic::AssertUnwindSafe;
use std::time::Instant;

use cluster::Ctx;

type Step = fn(&mut Ctx) -> anyhow::Result<()>;

const STEPS: [(&str, Step); 8] = [
    (
        "fresh 3-node cluster: nodes Ready, etcd healthy",
        steps_fresh::fresh_three_node_cluster,
    ),
    (
        "a pod on the worker-only node, kubectl exec",
        steps_fresh::pod_on_worker_only_node,
    ),
    (
        "no private keys in containers (3 nodes)",
        steps_fresh::no_private_keys_in_containers,
    ),
    (
        "re-run without change recreates nothing",
        steps_fresh::rerun_changes_nothing,
    ),
    ("add node4 as a worker", steps_change::add_worker_node4),
    (
        "remove node3, API up throughout",
        steps_change::remove_node3,
    ),
    (
        "a run failing on node2, then recovery",
        steps_change::failed_run_then_recovery,
    ),
    (
        "no private keys in containers (after all changes)",
        steps_fresh::no_private_keys_in_containers,
    ),
];

fn main() {
    let Some(env) = e2e::env() else {
        println!("up_nodes: 0 passed, 0 failed");
        return;
    };
    if nodes::node_count(&env) < 4 {
        println!(
            "up_nodes: {} describes {} nodes; this test needs 4 (tests/env/up.sh 4)",
            e2e::env_path().display(),
            nodes::node_count(&env)
        );
        println!("up_nodes: 0 passed, 1 failed");
        std::process::exit(1);
    }
    let mut ctx = match Ctx::new(env) {
        Ok(c) => c,
        Err(e) => {
            println!("up_nodes: {e:#}\nup_nodes: 0 passed, 1 failed");
            std::process::exit(1);
        }
    };
    println!("up_nodes: working directory {}", ctx.dir.path().display());
    nodes::cleanup(&ctx.env);

    let (mut passed, mut failed) = (0, 0);
    for (name, step) in STEPS {
        if failed > 0 {
            println!("-- skipped: {name}");
            continue;
        }
        println!("== {name}");
        let started = Instant::now();
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| step(&mut ctx)));
        let secs = started.elapsed().as_secs_f64();
        match outcome {
            Ok(Ok(())) => {
                passed += 1;
                println!("ok ({secs:.0}s): {name}");
            }
            Ok(Err(e)) => {
                failed += 1;
                println!("FAILED ({secs:.0}s): {name}\n{e:#}");
            }
            Err(panic) => {
                failed += 1;
                let msg = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                println!("FAILED ({secs:.0}s, panic): {name}\n{msg}");
            }
        }
    }
    drop(ctx.api_watch.take());
    nodes::cleanup(&ctx.env);
    if failed > 0 {
        // Keep cluster.yml, the state file and the kubeconfig for a look.
        let kept = ctx.dir.keep();
        println!("up_nodes: files kept in {}", kept.display());
    }
    println!("up_nodes: {passed} passed, {failed} failed");
    if failed > 0 {
        std::process::exit(1);
    }
}
