//! "Expected one of …, did you mean …?" for enumerated settings.

/// `expected one of a, b, c` plus the closest option when the value looks like a typo of it.
pub fn one_of(value: &str, options: &[&str]) -> String {
    let list = options.join(", ");
    match closest(value, options) {
        Some(best) => format!("expected one of {list} (did you mean {best:?}?)"),
        None => format!("expected one of {list}"),
    }
}

/// The option most similar to `value`, when similar enough to be a plausible typo
/// (case-insensitive match, or Jaro-Winkler similarity ≥ 0.8).
fn closest<'a>(value: &str, options: &[&'a str]) -> Option<&'a str> {
    let lower = value.to_lowercase();
    options
        .iter()
        .map(|o| (*o, strsim::jaro_winkler(&lower, &o.to_lowercase())))
        .filter(|(_, score)| *score >= 0.8)
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(o, _)| o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_options_only() {
        let opts = ["canal", "flannel", "calico"];
        assert_eq!(
            one_of("flanel", &opts),
            "expected one of canal, flannel, calico (did you mean \"flannel\"?)"
        );
        assert_eq!(
            one_of("Calico", &opts),
            "expected one of canal, flannel, calico (did you mean \"calico\"?)"
        );
        assert_eq!(
            one_of("cilium", &opts),
            "expected one of canal, flannel, calico"
        );
    }
}
