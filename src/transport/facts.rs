//! What the connect phase records about each node's Docker engine, and the Docker version
//! check (RKE1 `IsSupportedDockerVersion`: major.minor against a supported list).

use bollard::ClientVersion;
use bollard::models::{SystemInfo, SystemVersion};

/// Facts from `docker version` and `docker info`, as later phases need them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DockerFacts {
    /// Engine version, e.g. `20.10.24+dfsg1`.
    pub server_version: String,
    /// Highest API version the engine speaks, e.g. `1.41`.
    pub api_version: String,
    /// API version the client uses (the engine's, capped at what bollard knows).
    pub negotiated_api_version: String,
    pub root_dir: String,
    /// `cgroupfs` or `systemd`.
    pub cgroup_driver: String,
    /// `1` or `2`, empty when the engine does not say (before API 1.40).
    pub cgroup_version: String,
    /// E.g. `Debian GNU/Linux 12 (bookworm)`.
    pub operating_system: String,
    /// `linux` or `windows`.
    pub os_type: String,
    /// E.g. `x86_64`.
    pub architecture: String,
    pub kernel_version: String,
    pub storage_driver: String,
    /// The engine's host name.
    pub hostname: String,
    /// SELinux enabled in the engine (`name=selinux` among its security options).
    pub selinux: bool,
    pub security_options: Vec<String>,
}

impl DockerFacts {
    pub(crate) fn from_api(
        version: &SystemVersion,
        info: &SystemInfo,
        negotiated: &ClientVersion,
    ) -> Self {
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        let enum_text = |v: Option<String>| v.unwrap_or_default();
        let security_options = info.security_options.clone().unwrap_or_default();
        Self {
            server_version: version
                .version
                .clone()
                .or_else(|| info.server_version.clone())
                .unwrap_or_default(),
            api_version: text(&version.api_version),
            negotiated_api_version: format!(
                "{}.{}",
                negotiated.major_version, negotiated.minor_version
            ),
            root_dir: text(&info.docker_root_dir),
            cgroup_driver: enum_text(info.cgroup_driver.map(|d| d.to_string())),
            cgroup_version: enum_text(info.cgroup_version.map(|v| v.to_string())),
            operating_system: text(&info.operating_system),
            os_type: text(&info.os_type),
            architecture: text(&info.architecture),
            kernel_version: info
                .kernel_version
                .clone()
                .or_else(|| version.kernel_version.clone())
                .unwrap_or_default(),
            storage_driver: text(&info.driver),
            hostname: text(&info.name),
            selinux: security_options.iter().any(|o| o.contains("name=selinux")),
            security_options,
        }
    }
}

/// A Docker version check supplied by the caller: `Ok` when supported, otherwise the
/// human-readable list of supported versions.
pub type DockerVersionCheck = dyn Fn(&str) -> Result<(), String> + Send + Sync;

/// Build a check from RKE1/KDM-style entries such as `"19.03.x"`, `"20.10.x"`: a version is
/// supported when its major.minor equals one entry's (leading zeros ignored, so `17.03.2-ce`
/// matches `17.3.x`).
pub fn supported_docker_versions(
    supported: Vec<String>,
) -> impl Fn(&str) -> Result<(), String> + Send + Sync {
    move |version: &str| {
        let ours = major_minor(version);
        if ours.is_some() && supported.iter().any(|s| major_minor(s) == ours) {
            Ok(())
        } else {
            Err(supported.join(", "))
        }
    }
}

fn major_minor(version: &str) -> Option<(u64, u64)> {
    let mut parts = version
        .trim()
        .trim_start_matches('v')
        .split(['.', '-', '+', '~']);
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_check_compares_major_minor() {
        let check =
            supported_docker_versions(vec!["1.13.x".into(), "17.03.x".into(), "20.10.x".into()]);
        assert!(check("20.10.24+dfsg1").is_ok());
        assert!(check("17.03.2-ce").is_ok());
        assert!(check("1.13.1").is_ok());
        assert_eq!(check("24.0.7").unwrap_err(), "1.13.x, 17.03.x, 20.10.x");
        assert!(check("garbage").is_err());
        assert!(supported_docker_versions(vec![])("20.10.1").is_err());
    }

    #[test]
    fn facts_from_a_real_docker_20_10() {
        let version: SystemVersion =
            serde_json::from_str(include_str!("testdata/docker-20.10-version.json")).unwrap();
        let info: SystemInfo =
            serde_json::from_str(include_str!("testdata/docker-20.10-info.json")).unwrap();
        let negotiated = ClientVersion {
            major_version: 1,
            minor_version: 41,
        };
        let f = DockerFacts::from_api(&version, &info, &negotiated);
        assert_eq!(f.server_version, "20.10.24+dfsg1");
        assert_eq!(f.api_version, "1.41");
        assert_eq!(f.negotiated_api_version, "1.41");
        assert_eq!(f.root_dir, "/var/lib/docker");
        assert_eq!(f.os_type, "linux");
        assert_eq!(f.architecture, "x86_64");
        assert_eq!(f.storage_driver, "overlay2");
        assert_eq!(f.hostname, "node1");
        assert!(
            ["cgroupfs", "systemd"].contains(&f.cgroup_driver.as_str()),
            "{}",
            f.cgroup_driver
        );
        assert!(!f.kernel_version.is_empty());
        assert!(!f.selinux);
    }
}
