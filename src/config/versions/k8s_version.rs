//! Kubernetes version strings as RKE1 writes them: `v1.32.5-rancher1-1`, or plain `v1.20.2`.

use std::cmp::Ordering;
use std::fmt;

/// A parsed Kubernetes version. The `-rancherR-B` suffix is RKE1's packaging revision: `R` is the
/// hyperkube build and `B` the KDM revision of the image set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct K8sVersion {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
    /// `(R, B)` from `-rancherR-B`; `None` for a plain upstream version.
    pub rancher: Option<(u32, u32)>,
}

impl K8sVersion {
    /// Parse `v1.32.5-rancher1-1`, `v1.20.2` or the same without the leading `v`.
    pub fn parse(text: &str) -> Option<K8sVersion> {
        let text = text.strip_prefix('v').unwrap_or(text);
        let (core, suffix) = match text.split_once('-') {
            Some((core, suffix)) => (core, Some(suffix)),
            None => (text, None),
        };
        let mut parts = core.split('.');
        let major = number(parts.next()?)?;
        let minor = number(parts.next()?)?;
        let patch = number(parts.next()?)?;
        if parts.next().is_some() {
            return None;
        }
        let rancher = match suffix {
            None => None,
            Some(suffix) => {
                let (build, revision) = suffix.strip_prefix("rancher")?.split_once('-')?;
                Some((number(build)?, number(revision)?))
            }
        };
        Some(K8sVersion {
            major,
            minor,
            patch,
            rancher,
        })
    }

    /// The `(major, minor)` pair, e.g. `(1, 32)`.
    pub fn minor_pair(&self) -> (u32, u32) {
        (self.major, self.minor)
    }
}

/// Numeric order on every field, so `rancher1-10` sorts after `rancher1-9` (a string compare, as
/// semver does for pre-release tags, would not). A plain version sorts before its rancher builds.
impl Ord for K8sVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.major, self.minor, self.patch, self.rancher).cmp(&(
            other.major,
            other.minor,
            other.patch,
            other.rancher,
        ))
    }
}

impl PartialOrd for K8sVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for K8sVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}.{}.{}", self.major, self.minor, self.patch)?;
        if let Some((build, revision)) = self.rancher {
            write!(f, "-rancher{build}-{revision}")?;
        }
        Ok(())
    }
}

/// The `(major, minor)` of any version-like string: `v1.20.2`, `1.32`, `v1.32.5-rancher1-1`.
/// Only the first two dot-separated numbers matter, so unusual suffixes are tolerated.
pub fn minor_of(text: &str) -> Option<(u32, u32)> {
    let text = text.strip_prefix('v').unwrap_or(text);
    let mut parts = text.split('.');
    let major = number(parts.next()?)?;
    let minor_part = parts.next()?;
    let digits_end = minor_part
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(minor_part.len());
    let minor = number(&minor_part[..digits_end])?;
    Some((major, minor))
}

/// A non-empty run of ASCII digits as a number.
fn number(text: &str) -> Option<u32> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rancher_and_plain_versions() {
        let v = K8sVersion::parse("v1.32.13-rancher1-2").unwrap();
        assert_eq!(
            v,
            K8sVersion {
                major: 1,
                minor: 32,
                patch: 13,
                rancher: Some((1, 2))
            }
        );
        assert_eq!(v.to_string(), "v1.32.13-rancher1-2");
        let plain = K8sVersion::parse("1.20.2").unwrap();
        assert_eq!(plain.rancher, None);
        assert_eq!(plain.to_string(), "v1.20.2");
        assert_eq!(plain.minor_pair(), (1, 20));
    }

    #[test]
    fn rejects_malformed_versions() {
        for bad in [
            "",
            "v1.32",
            "v1.32.x",
            "v1.32.5.1",
            "v1.32.5-rc1",
            "v1.32.5-rancher1",
            "v1.32.5-rancherX-1",
            "v1.32.5-rancher1-",
            "va.b.c",
        ] {
            assert_eq!(K8sVersion::parse(bad), None, "{bad} should not parse");
        }
    }

    #[test]
    fn orders_numerically() {
        let p = |s| K8sVersion::parse(s).unwrap();
        assert!(p("v1.20.15-rancher2-2") > p("v1.20.15-rancher1-4"));
        assert!(p("v1.32.13-rancher1-10") > p("v1.32.13-rancher1-9"));
        assert!(p("v1.32.5-rancher1-1") > p("v1.31.14-rancher1-1"));
        assert!(p("v1.32.10-rancher1-1") > p("v1.32.9-rancher1-1"));
        assert!(p("v1.20.2") < p("v1.20.2-rancher1-1"));
    }

    #[test]
    fn minor_of_accepts_loose_forms() {
        assert_eq!(minor_of("v1.20.2"), Some((1, 20)));
        assert_eq!(minor_of("1.32"), Some((1, 32)));
        assert_eq!(minor_of("v1.32.5-rancher1-1"), Some((1, 32)));
        assert_eq!(minor_of("v1.24-beta"), Some((1, 24)));
        assert_eq!(minor_of("latest"), None);
        assert_eq!(minor_of("v1"), None);
    }
}
