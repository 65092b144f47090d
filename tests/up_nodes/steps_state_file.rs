//! `cluster.rkestate` across an `rke up` that changes the config: keys a newer version wrote
//! (at the top, in both sides, in `rkeConfig`, in a certificate entry) survive, and
//! `cluster.rkestate.bak` is the file as it was before the run, not the desired-state save
//! `up` makes halfway.

use anyhow::{Context, ensure};
use serde_json::{Value, json};

use super::cluster::Ctx;

/// Where the step puts keys this rke does not know (JSON pointers), and their values.
fn newer_keys() -> Vec<(&'static str, Value)> {
    vec![
        ("/rkeTestFromNewerVersion", json!({"schema": 99})),
        ("/desiredState/rkeTestFromNewerVersion", json!([1, "two"])),
        (
            "/desiredState/rkeConfig/services/kubeApi/rkeTestFromNewerVersion",
            json!({"enabled": true}),
        ),
        (
            "/desiredState/certificatesBundle/kube-ca/rkeTestFromNewerVersion",
            json!("ca-metadata"),
        ),
    ]
}

fn insert(doc: &mut Value, pointer: &str, value: Value) -> anyhow::Result<()> {
    let (parent, key) = pointer.rsplit_once('/').context("a JSON pointer")?;
    doc.pointer_mut(parent)
        .and_then(Value::as_object_mut)
        .with_context(|| format!("the state file has no object at {parent}"))?
        .insert(key.to_string(), value);
    Ok(())
}

pub fn newer_keys_and_backup_survive_up(ctx: &mut Ctx) -> anyhow::Result<()> {
    let state_path = ctx.state_file();
    let mut doc: Value =
        serde_json::from_slice(&std::fs::read(&state_path)?).context("reading the state file")?;
    for (pointer, value) in newer_keys() {
        insert(&mut doc, pointer, value)?;
    }
    let before = serde_json::to_vec_pretty(&doc)?;
    std::fs::write(&state_path, &before)?;

    // A small change, so `up` saves the state twice (desired, then applied) with different
    // contents: with a backup per save, .bak would end up holding the first of them.
    let original = std::fs::read_to_string(ctx.config())?;
    ensure!(
        !original.contains("addon_job_timeout"),
        "cluster.yml already sets addon_job_timeout"
    );
    std::fs::write(ctx.config(), format!("{original}\naddon_job_timeout: 45\n"))?;
    let result = (|| -> anyhow::Result<()> {
        ctx.up_ok()?;
        let bak = rke::state::backup_path(&state_path);
        println!(
            "    check: {} is the state file from before the run",
            bak.display()
        );
        ensure!(
            std::fs::read(&bak)? == before,
            "{} differs from the state file before the run",
            bak.display()
        );
        let after: Value = serde_json::from_slice(&std::fs::read(&state_path)?)?;
        ensure!(
            after["desiredState"]["rkeConfig"]["addonJobTimeout"] == 45,
            "the run did not record its change: {}",
            after["desiredState"]["rkeConfig"]["addonJobTimeout"]
        );
        println!("    check: the keys from a newer version are still in the state file");
        for (pointer, value) in newer_keys() {
            ensure!(
                after.pointer(pointer) == Some(&value),
                "{pointer}: want {value}, found {:?}",
                after.pointer(pointer)
            );
        }
        // A finished run's currentState is its desiredState, unknown keys included.
        ensure!(
            after["currentState"]["rkeConfig"]["services"]["kubeApi"]["rkeTestFromNewerVersion"]
                == json!({"enabled": true}),
            "currentState lost the kubeApi key: {}",
            after["currentState"]["rkeConfig"]["services"]["kubeApi"]
        );
        Ok(())
    })();
    std::fs::write(ctx.config(), original).context("restoring cluster.yml")?;
    result
}
