//! Building command lines the way RKE1 merges them: RKE-computed flags, then the version's KDM
//! defaults (an empty default removes a flag), then `extra_args` (which win), then
//! `extra_args_array` (repeated flags). Flags are rendered sorted, so equal input gives equal
//! specs (RKE1 emitted them in Go map order).

use super::net::under_prefix;
use std::collections::BTreeMap;

/// Flag name (without `--`) → value.
pub type ArgMap = BTreeMap<String, String>;

/// Apply KDM default flags (RKE1: "if the value is empty, we remove that option").
pub fn apply_kdm(args: &mut ArgMap, defaults: &BTreeMap<String, String>) {
    for (name, value) in defaults {
        if value.is_empty() {
            args.remove(name);
        } else {
            args.insert(name.clone(), value.clone());
        }
    }
}

/// The kubelet's KDM defaults have two more rules: `''` means "set to the empty string" and a
/// `[PREFIX_PATH]` prefix is replaced by the node's prefix path.
pub fn apply_kdm_kubelet(args: &mut ArgMap, defaults: &BTreeMap<String, String>, prefix: &str) {
    for (name, value) in defaults {
        if value.is_empty() {
            args.remove(name);
        } else if value == "''" {
            args.insert(name.clone(), String::new());
        } else if let Some(rest) = value.strip_prefix("[PREFIX_PATH]") {
            args.insert(name.clone(), under_prefix(prefix, rest));
        } else {
            args.insert(name.clone(), value.clone());
        }
    }
}

/// `extra_args` override everything before them, an empty value included (`--flag=`).
pub fn apply_extra(args: &mut ArgMap, extra: &BTreeMap<String, String>) {
    for (name, value) in extra {
        args.insert(name.clone(), value.clone());
    }
}

/// `--name=value` for every flag, plus each `extra_args_array` value as its own flag, plus bare
/// flags (`--client-cert-auth`), sorted.
pub fn render(args: &ArgMap, arrays: &BTreeMap<String, Vec<String>>, bare: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = args
        .iter()
        .map(|(name, value)| format!("--{name}={value}"))
        .collect();
    for (name, values) in arrays {
        out.extend(values.iter().map(|value| format!("--{name}={value}")));
    }
    out.extend(bare.iter().map(|flag| format!("--{flag}")));
    out.sort();
    out
}

/// RKE1 `RemoveZFromBinds`: from Kubernetes 1.22 RKE stops asking Docker to relabel mounts for
/// SELinux (`:z`) and labels the container instead. Only the options part is touched.
pub fn remove_z(binds: Vec<String>) -> Vec<String> {
    binds
        .into_iter()
        .map(|bind| {
            let parts: Vec<&str> = bind.splitn(3, ':').collect();
            if parts.len() < 3 {
                return bind;
            }
            let options: Vec<&str> = parts[2]
                .split(',')
                .filter(|o| !o.eq_ignore_ascii_case("z"))
                .collect();
            if options.is_empty() {
                format!("{}:{}", parts[0], parts[1])
            } else {
                format!("{}:{}:{}", parts[0], parts[1], options.join(","))
            }
        })
        .collect()
}

/// Drop repeated entries, keeping the first (RKE1 `getUniqStringList`).
pub fn uniq(list: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::BTreeSet::new();
    list.into_iter()
        .filter(|item| seen.insert(item.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn kdm_sets_and_empty_removes() {
        let mut args = map(&[("a", "1"), ("gone", "x")]);
        apply_kdm(&mut args, &map(&[("gone", ""), ("b", "2"), ("a", "3")]));
        assert_eq!(args, map(&[("a", "3"), ("b", "2")]));
    }

    #[test]
    fn kubelet_kdm_quotes_and_prefix() {
        let mut args = map(&[("enforce-node-allocatable", "pods")]);
        apply_kdm_kubelet(
            &mut args,
            &map(&[
                ("enforce-node-allocatable", "''"),
                ("cert-dir", "[PREFIX_PATH]/var/lib/kubelet/pki"),
            ]),
            "/opt/rke",
        );
        assert_eq!(
            args,
            map(&[
                ("cert-dir", "/opt/rke/var/lib/kubelet/pki"),
                ("enforce-node-allocatable", ""),
            ])
        );
    }

    #[test]
    fn extra_args_win_and_arrays_repeat() {
        let mut args = map(&[("v", "2")]);
        apply_extra(&mut args, &map(&[("v", "4"), ("empty", "")]));
        let arrays = BTreeMap::from([(
            "tls-sni-cert-key".to_string(),
            vec!["b.pem".to_string(), "a.pem".to_string()],
        )]);
        assert_eq!(
            render(&args, &arrays, &["client-cert-auth"]),
            [
                "--client-cert-auth",
                "--empty=",
                "--tls-sni-cert-key=a.pem",
                "--tls-sni-cert-key=b.pem",
                "--v=4"
            ]
        );
    }

    #[test]
    fn z_removed_from_options_only() {
        let binds = vec![
            "/etc/kubernetes:/etc/kubernetes:z".to_string(),
            "/etc/cni:/etc/cni:rw,z".to_string(),
            "/var/lib/kubelet:/var/lib/kubelet:shared,Z".to_string(),
            "/etc/resolv.conf:/etc/resolv.conf".to_string(),
            "/z:/z".to_string(),
        ];
        assert_eq!(
            remove_z(binds),
            [
                "/etc/kubernetes:/etc/kubernetes",
                "/etc/cni:/etc/cni:rw",
                "/var/lib/kubelet:/var/lib/kubelet:shared",
                "/etc/resolv.conf:/etc/resolv.conf",
                "/z:/z"
            ]
        );
    }

    #[test]
    fn uniq_keeps_first() {
        let l = vec!["a".to_string(), "b".into(), "a".into()];
        assert_eq!(uniq(l), ["a", "b"]);
    }
}
