//! Docker engine version matching as RKE1 does it (`docker.IsSupportedDockerVersion`): KDM lists
//! patterns such as `20.10.x`, and a server version passes when its major.minor equals one of them.

/// `(major, minor)` of a Docker version such as `20.10.24`, `17.03.2-ce`, `1.13.x` or `28.2`.
/// Leading zeros are numeric (`17.03` is minor 3), matching the semver parse RKE1 uses.
pub fn major_minor(version: &str) -> Option<(u64, u64)> {
    let version = version.trim().strip_prefix('v').unwrap_or(version.trim());
    let mut parts = version.split('.');
    let major = leading_number(parts.next()?)?;
    let minor = leading_number(parts.next()?)?;
    Some((major, minor))
}

/// True when `server_version` has the same major.minor as one of `patterns`.
/// An unparseable server version is never supported.
pub fn is_supported(server_version: &str, patterns: &[String]) -> bool {
    let Some(server) = major_minor(server_version) else {
        return false;
    };
    patterns
        .iter()
        .filter_map(|p| major_minor(p))
        .any(|p| p == server)
}

/// The digits at the start of `part` ("03" of "03", "2" of "2-ce"); `None` when there are none.
fn leading_number(part: &str) -> Option<u64> {
    let end = part
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(part.len());
    if end == 0 {
        return None;
    }
    part[..end].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_major_minor() {
        assert_eq!(major_minor("20.10.24"), Some((20, 10)));
        assert_eq!(major_minor("17.03.2-ce"), Some((17, 3)));
        assert_eq!(major_minor("1.13.x"), Some((1, 13)));
        assert_eq!(major_minor("28.2"), Some((28, 2)));
        assert_eq!(major_minor("23.0.x"), Some((23, 0)));
        assert_eq!(major_minor("dev"), None);
        assert_eq!(major_minor("28"), None);
        assert_eq!(major_minor(""), None);
    }

    #[test]
    fn matches_by_major_minor_only() {
        let kdm = list(&["1.13.x", "17.03.x", "19.03.x", "20.10.x", "27.2.x"]);
        assert!(is_supported("20.10.24", &kdm));
        assert!(is_supported("17.03.2-ce", &kdm));
        assert!(is_supported("27.2.1", &kdm));
        assert!(!is_supported("28.2.2", &kdm));
        assert!(!is_supported("27.3.0", &kdm));
        assert!(!is_supported("20.1.0", &kdm));
        assert!(!is_supported("garbage", &kdm));
        assert!(!is_supported("20.10.24", &[]));
    }
}
