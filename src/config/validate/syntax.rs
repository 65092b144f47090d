//! Kubernetes name syntax: DNS-1123 names, label keys/values, taint keys and effects.
//!
//! These mirror `k8s.io/apimachinery/pkg/util/validation` so a config we accept is one the API
//! server accepts too (a bad label otherwise fails late, after the cluster is half built).
//! Each function returns `Err(reason)` with a sentence fit for the end of an error message.

/// A DNS-1123 label: lowercase alphanumerics and `-`, starting and ending alphanumeric, ≤ 63.
pub fn dns1123_label(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("must not be empty".into());
    }
    if s.len() > 63 {
        return Err(format!("must be at most 63 characters (has {})", s.len()));
    }
    if !s
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err("must contain only lowercase letters, digits and '-'".into());
    }
    if s.starts_with('-') || s.ends_with('-') {
        return Err("must start and end with a letter or digit".into());
    }
    Ok(())
}

/// A DNS-1123 subdomain: dot-separated DNS-1123 labels, ≤ 253 characters in total.
pub fn dns1123_subdomain(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("must not be empty".into());
    }
    if s.len() > 253 {
        return Err(format!("must be at most 253 characters (has {})", s.len()));
    }
    for label in s.split('.') {
        if label.is_empty() {
            return Err("must not contain empty parts between dots".into());
        }
        dns1123_label(label).map_err(|why| format!("part {label:?} {why}"))?;
    }
    Ok(())
}

/// The name part of a qualified name (and a non-empty label value): ≤ 63 alphanumerics,
/// `-`, `_`, `.`, starting and ending alphanumeric.
fn qualified_name_part(s: &str, what: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err(format!("{what} must not be empty"));
    }
    if s.len() > 63 {
        return Err(format!(
            "{what} must be at most 63 characters (has {})",
            s.len()
        ));
    }
    if !s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(format!(
            "{what} must contain only letters, digits, '-', '_' and '.'"
        ));
    }
    let edge_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    if !edge_ok(s.chars().next()) || !edge_ok(s.chars().last()) {
        return Err(format!("{what} must start and end with a letter or digit"));
    }
    Ok(())
}

/// A qualified name, as used for label and taint keys: `[prefix/]name`, where the optional
/// prefix is a DNS-1123 subdomain.
pub fn qualified_name(s: &str) -> Result<(), String> {
    match s.split_once('/') {
        Some((prefix, name)) => {
            if prefix.is_empty() {
                return Err("prefix before '/' must not be empty".into());
            }
            dns1123_subdomain(prefix).map_err(|why| format!("prefix {prefix:?} {why}"))?;
            if name.contains('/') {
                return Err("must contain at most one '/'".into());
            }
            qualified_name_part(name, "name after '/'")
        }
        None => qualified_name_part(s, "name"),
    }
}

/// A label value: empty, or ≤ 63 alphanumerics, `-`, `_`, `.` starting and ending alphanumeric.
pub fn label_value(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Ok(());
    }
    qualified_name_part(s, "value")
}

/// Taint effects Kubernetes knows.
pub const TAINT_EFFECTS: [&str; 3] = ["NoSchedule", "PreferNoSchedule", "NoExecute"];

pub fn taint_effect(s: &str) -> Result<(), String> {
    if TAINT_EFFECTS.contains(&s) {
        Ok(())
    } else {
        Err(format!("must be one of {}", TAINT_EFFECTS.join(", ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subdomains() {
        for ok in [
            "node1",
            "node-1.example.com",
            "a",
            "10.0.0.1",
            &"a".repeat(63),
        ] {
            assert_eq!(dns1123_subdomain(ok), Ok(()), "{ok}");
        }
        let long = [
            "a".repeat(63),
            "b".repeat(63),
            "c".repeat(63),
            "d".repeat(63),
        ]
        .join(".");
        assert!(dns1123_subdomain(&long).unwrap_err().contains("253"));
        assert!(
            dns1123_subdomain(&"a".repeat(64))
                .unwrap_err()
                .contains("63")
        );
        assert!(
            dns1123_subdomain("Node1")
                .unwrap_err()
                .contains("lowercase")
        );
        assert!(dns1123_subdomain("node_1").is_err());
        assert!(
            dns1123_subdomain("-node")
                .unwrap_err()
                .contains("start and end")
        );
        assert!(
            dns1123_subdomain("node.")
                .unwrap_err()
                .contains("empty parts")
        );
        assert!(dns1123_subdomain("").is_err());
    }

    #[test]
    fn qualified_names() {
        for ok in [
            "app",
            "node-role.kubernetes.io/worker",
            "example.com/My_Key.v1",
            "A9",
        ] {
            assert_eq!(qualified_name(ok), Ok(()), "{ok}");
        }
        assert!(qualified_name("/x").unwrap_err().contains("prefix"));
        assert!(
            qualified_name("Example.com/x")
                .unwrap_err()
                .contains("prefix")
        );
        assert!(qualified_name("a/b/c").unwrap_err().contains("one '/'"));
        assert!(qualified_name("a/").is_err());
        assert!(qualified_name("-x").is_err());
        assert!(qualified_name("has space").is_err());
        assert!(qualified_name(&"k".repeat(64)).unwrap_err().contains("63"));
    }

    #[test]
    fn label_values() {
        assert_eq!(label_value(""), Ok(()));
        assert_eq!(label_value("true"), Ok(()));
        assert_eq!(label_value("v1.2_3-x"), Ok(()));
        assert!(label_value("a b").is_err());
        assert!(label_value("x/y").is_err());
        assert!(label_value("_x").is_err());
        assert!(label_value(&"v".repeat(64)).is_err());
    }

    #[test]
    fn taint_effects() {
        for ok in TAINT_EFFECTS {
            assert_eq!(taint_effect(ok), Ok(()));
        }
        assert!(
            taint_effect("noschedule")
                .unwrap_err()
                .contains("NoSchedule")
        );
        assert!(taint_effect("").is_err());
    }
}
