//! Kubernetes version strings as RKE writes them: `v1.27.16-rancher1-1`.

/// Major, minor and patch of a Kubernetes version; the `v` prefix is required (as in RKE1's
/// `getClusterVersion`) and any `-suffix` is ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct K8sVersion {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
}

impl K8sVersion {
    pub fn parse(s: &str) -> Option<Self> {
        let rest = s.strip_prefix('v')?;
        let core = rest.split(['-', '+']).next()?;
        let mut parts = core.split('.');
        let mut num = || -> Option<u64> {
            let p = parts.next()?;
            if p.is_empty() || !p.chars().all(|c| c.is_ascii_digit()) {
                return None;
            }
            p.parse().ok()
        };
        let v = K8sVersion {
            major: num()?,
            minor: num()?,
            patch: num()?,
        };
        parts.next().is_none().then_some(v)
    }

    /// Whether this version is at least `major.minor`.
    pub fn at_least(&self, major: u64, minor: u64) -> bool {
        (self.major, self.minor) >= (major, minor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rke_versions() {
        let v = K8sVersion::parse("v1.27.16-rancher1-1").unwrap();
        assert_eq!((v.major, v.minor, v.patch), (1, 27, 16));
        assert!(v.at_least(1, 27) && v.at_least(1, 21) && !v.at_least(1, 28));
        assert_eq!(
            K8sVersion::parse("v1.20.2"),
            Some(K8sVersion {
                major: 1,
                minor: 20,
                patch: 2
            })
        );
    }

    #[test]
    fn rejects_malformed() {
        for bad in ["1.27.16", "v1.27", "v1.27.x", "v1..3", "", "v", "v1.2.3.4"] {
            assert_eq!(K8sVersion::parse(bad), None, "{bad}");
        }
    }
}
