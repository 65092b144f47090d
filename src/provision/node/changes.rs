//! What differs between two container specs, as short lines for a human (`rke up --dry-run`).
//! Pure.

use std::collections::BTreeSet;

use crate::provision::spec::{
    CONTAINER_NAME_LABEL, ContainerSpec, FILES_HASH_LABEL, SPEC_HASH_LABEL,
};

/// One line per property of the container that differs, old (`running`) → new (`planned`):
/// `image: a → b`, `args: +--v=2 −--v=1` (lists as set differences in their own order),
/// `privileged: false → true`, `label k: a → b`, and `files it reads changed` for the files
/// digest label. The spec-hash and name labels are bookkeeping and never listed. Empty when
/// the containers are the same. Environment values that look like key material are hidden.
pub fn field_changes(planned: &ContainerSpec, running: &ContainerSpec) -> Vec<String> {
    let mut lines = Vec::new();
    let mut scalar = |field: &str, old: &str, new: &str| {
        if old != new {
            lines.push(format!("{field}: {old} → {new}"));
        }
    };
    scalar("image", &running.image, &planned.image);
    scalar("network mode", &running.network_mode, &planned.network_mode);
    scalar(
        "pid mode",
        optional(&running.pid_mode),
        optional(&planned.pid_mode),
    );
    scalar("user", optional(&running.user), optional(&planned.user));
    scalar(
        "privileged",
        &running.privileged.to_string(),
        &planned.privileged.to_string(),
    );
    scalar(
        "restart",
        restart_word(running.restart_always),
        restart_word(planned.restart_always),
    );
    let lists: [(&str, &[String], &[String]); 6] = [
        ("entrypoint", &running.entrypoint, &planned.entrypoint),
        ("args", &running.args, &planned.args),
        ("env", &running.env, &planned.env),
        ("binds", &running.binds, &planned.binds),
        ("volumes_from", &running.volumes_from, &planned.volumes_from),
        ("security_opt", &running.security_opt, &planned.security_opt),
    ];
    for (field, old, new) in lists {
        let shown = |item: &String| {
            if field == "env" {
                env_shown(item)
            } else {
                quoted(item)
            }
        };
        if let Some(line) = list_change(field, old, new, shown) {
            lines.push(line);
        }
    }
    lines.extend(label_changes(planned, running));
    lines
}

fn optional(value: &Option<String>) -> &str {
    value.as_deref().unwrap_or("(none)")
}

fn restart_word(always: bool) -> &'static str {
    if always { "always" } else { "no" }
}

/// `field: +added −removed`, or a note when only the order differs; `None` when equal.
fn list_change(
    field: &str,
    old: &[String],
    new: &[String],
    shown: impl Fn(&String) -> String,
) -> Option<String> {
    if old == new {
        return None;
    }
    let added = new
        .iter()
        .filter(|x| !old.contains(x))
        .map(|x| format!("+{}", shown(x)));
    let removed = old
        .iter()
        .filter(|x| !new.contains(x))
        .map(|x| format!("−{}", shown(x)));
    let parts: Vec<String> = added.chain(removed).collect();
    if parts.is_empty() {
        return Some(format!("{field}: same entries in another order"));
    }
    Some(format!("{field}: {}", parts.join(" ")))
}

/// Items with spaces (a shell script argument) are quoted so the line stays readable.
fn quoted(item: &String) -> String {
    if item.is_empty() || item.contains(char::is_whitespace) {
        format!("{item:?}")
    } else {
        item.clone()
    }
}

/// `NAME=value`, or the name alone when the value looks like key material: plans never put
/// secrets in the environment, but a hand-made container might.
fn env_shown(item: &String) -> String {
    match item.split_once('=') {
        Some((name, value)) if value.contains("PRIVATE KEY") => format!("{name}=(hidden)"),
        _ => quoted(item),
    }
}

fn label_changes(planned: &ContainerSpec, running: &ContainerSpec) -> Vec<String> {
    let keys: BTreeSet<&String> = planned.labels.keys().chain(running.labels.keys()).collect();
    keys.into_iter()
        .filter(|k| k.as_str() != SPEC_HASH_LABEL && k.as_str() != CONTAINER_NAME_LABEL)
        .filter(|k| planned.labels.get(*k) != running.labels.get(*k))
        .map(|k| {
            if k == FILES_HASH_LABEL {
                "files it reads changed".to_string()
            } else {
                let value = |spec: &ContainerSpec| {
                    spec.labels
                        .get(k)
                        .cloned()
                        .unwrap_or_else(|| "(none)".into())
                };
                format!("label {k}: {} → {}", value(running), value(planned))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provision::spec::test_spec;

    fn spec() -> ContainerSpec {
        ContainerSpec {
            entrypoint: vec!["kubelet".into()],
            args: vec!["--a=1".into(), "--v=1".into()],
            env: vec!["A=1".into()],
            binds: vec!["/x:/x".into()],
            pid_mode: Some("host".into()),
            ..test_spec("kubelet", "img:1")
        }
        .sealed()
    }

    #[test]
    fn same_spec_has_no_changes() {
        assert!(field_changes(&spec(), &spec()).is_empty());
        // The hash label alone is bookkeeping.
        let mut unsealed = spec();
        unsealed.labels.remove(SPEC_HASH_LABEL);
        assert!(field_changes(&spec(), &unsealed).is_empty());
    }

    #[test]
    fn each_field_gets_one_line_old_to_new() {
        let running = spec();
        let mut planned = spec();
        planned.image = "img:2".into();
        planned.args = vec!["--a=1".into(), "--v=2".into(), "--z=3".into()];
        planned.env = vec![];
        planned.binds.push("/y:/y:ro".into());
        planned.volumes_from = vec!["service-sidekick".into()];
        planned.privileged = true;
        planned.restart_always = false;
        planned.pid_mode = None;
        planned.user = Some("1:1".into());
        planned.network_mode = "none".into();
        planned.security_opt = vec!["label=disable".into()];
        planned.entrypoint = vec!["sh".into(), "-c".into(), "echo hi".into()];
        planned.labels.insert(FILES_HASH_LABEL.into(), "abc".into());
        planned.labels.insert("team".into(), "x".into());
        planned.seal();
        assert_eq!(
            field_changes(&planned, &running),
            [
                "image: img:1 → img:2",
                "network mode: host → none",
                "pid mode: host → (none)",
                "user: (none) → 1:1",
                "privileged: false → true",
                "restart: always → no",
                "entrypoint: +sh +-c +\"echo hi\" −kubelet",
                "args: +--v=2 +--z=3 −--v=1",
                "env: −A=1",
                "binds: +/y:/y:ro",
                "volumes_from: +service-sidekick",
                "security_opt: +label=disable",
                "files it reads changed",
                "label team: (none) → x",
            ]
        );
    }

    #[test]
    fn reordering_is_reported_without_adds_or_removals() {
        let running = spec();
        let mut planned = spec();
        planned.args.reverse();
        assert_eq!(
            field_changes(&planned, &running),
            ["args: same entries in another order"]
        );
    }

    #[test]
    fn key_material_in_the_environment_is_not_printed() {
        let mut running = spec();
        running.env = vec!["KEY=-----BEGIN PRIVATE KEY-----\nabc".into(), "B=2".into()];
        let lines = field_changes(&spec(), &running);
        assert_eq!(lines, ["env: +A=1 −KEY=(hidden) −B=2"]);
        assert!(!lines[0].contains("abc"));
    }
}
