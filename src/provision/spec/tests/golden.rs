//! Golden snapshots of the complete plans for a three-node cluster, one per container runtime
//! path. Any change to a flag, bind, file or hash shows up as a diff here. After an intended
//! change, review and accept with `INSTA_UPDATE=always cargo test` (or `cargo insta review`).
//! Certificate and key bytes appear only as digests (fake, deterministic PEMs are used). Both
//! plans include the recurring snapshot agent, with a fixed binary hash.

use super::*;

#[test]
fn v1_20_dockershim() {
    let plans = plans_with(&config(V120, ""), &super::snapshot_agent::agent_inputs());
    insta::assert_yaml_snapshot!("v1_20", plans);
}

#[test]
fn v1_32_cri_dockerd() {
    let cfg = config(
        V132,
        "services:\n  kube-api:\n    secrets_encryption_config:\n      enabled: true\n",
    );
    let inputs = PlanInputs {
        encryption_config: crate::cluster::encryption::aescbc_provider_file(
            "key-golden",
            "Z29sZGVuLXRlc3Qta2V5LW5vdC1hLXNlY3JldA==",
        ),
        ..super::snapshot_agent::agent_inputs()
    };
    let plans = plans_with(&cfg, &inputs);
    insta::assert_yaml_snapshot!("v1_32", plans);
}
