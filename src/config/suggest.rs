//! "Did you mean ...?" for misspelled keys.

/// Normalized form for comparison: lower case, `-` and `_` equivalent.
fn normalize(key: &str) -> String {
    key.chars()
        .map(|c| {
            if c == '-' {
                '_'
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}

/// Largest edit distance still taken as a typo for a key of `len` characters. Short keys
/// allow less, or every two-letter key would "match" every other.
fn max_distance(len: usize) -> usize {
    match len {
        0..=3 => 1,
        4..=8 => 2,
        _ => 3,
    }
}

/// The allowed key closest to `input`, if one is close enough to be a likely typo.
///
/// A key that differs only in case or in `-` versus `_` always matches (`extra-args` →
/// `extra_args`, `kube_api` → `kube-api`). Otherwise the smallest Damerau-Levenshtein distance
/// wins, within [`max_distance`]; ties go to the earlier candidate.
pub fn suggest<'a>(input: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let wanted = normalize(input);
    if let Some(exact) = candidates.iter().find(|c| normalize(c) == wanted) {
        return Some(exact);
    }
    let limit = max_distance(wanted.chars().count());
    candidates
        .iter()
        .map(|c| (strsim::damerau_levenshtein(&wanted, &normalize(c)), *c))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::suggest;

    const NODE_KEYS: &[&str] = &[
        "nodeName",
        "address",
        "port",
        "internal_address",
        "role",
        "hostname_override",
        "user",
        "docker_socket",
        "ssh_key_path",
    ];

    #[test]
    fn separator_and_case_variants_match() {
        assert_eq!(
            suggest("extra-args", &["image", "extra_args", "extra_args_array"]),
            Some("extra_args")
        );
        assert_eq!(
            suggest("kube_api", &["etcd", "kube-api", "kube-controller"]),
            Some("kube-api")
        );
        assert_eq!(suggest("NodeName", NODE_KEYS), Some("nodeName"));
    }

    #[test]
    fn typos_match_the_closest_key() {
        assert_eq!(suggest("adress", NODE_KEYS), Some("address"));
        assert_eq!(suggest("prot", NODE_KEYS), Some("port"));
        assert_eq!(suggest("roles", NODE_KEYS), Some("role"));
        assert_eq!(suggest("ssh_keypath", NODE_KEYS), Some("ssh_key_path"));
        assert_eq!(
            suggest("internal_adress", NODE_KEYS),
            Some("internal_address")
        );
    }

    #[test]
    fn unrelated_keys_get_no_suggestion() {
        assert_eq!(suggest("foo", NODE_KEYS), None);
        assert_eq!(suggest("kubernetes", NODE_KEYS), None);
        assert_eq!(suggest("x", &[]), None);
    }
}
