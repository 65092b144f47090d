//! The Kubernetes version, its images, and version-bound options (cri-dockerd).

use super::ValidationContext;
use super::report::Report;
use super::version::K8sVersion;
use crate::config::RkeConfig;
use crate::config::path::child;

const VERSION_PATH: &str = "kubernetes_version";

/// Check `kubernetes_version` and the images it needs. Returns the parsed version for the
/// version-bound checks elsewhere (`None` when it is malformed).
pub fn check(cfg: &RkeConfig, ctx: &ValidationContext, r: &mut Report) -> Option<K8sVersion> {
    let version = cfg.version.as_str();
    if version.trim().is_empty() {
        r.error(VERSION_PATH, "kubernetes_version is empty");
        return None;
    }
    let parsed = K8sVersion::parse(version);
    if parsed.is_none() {
        r.error(
            VERSION_PATH,
            format!("{version:?} is not a Kubernetes version (expected e.g. v1.27.16-rancher1-1)"),
        );
    }

    let missing: Vec<&str> = ctx
        .required_images
        .iter()
        .copied()
        .filter(|key| cfg.system_images.get(key).is_none())
        .collect();
    if ctx.supported_versions.contains(&version) {
        // Defaults filled every image; an empty one is an override that blanked it.
        for key in missing {
            r.error(
                child("system_images", key),
                format!("system image {key} is empty but this cluster needs it"),
            );
        }
    } else if missing.is_empty() {
        // Already an error when malformed; otherwise RKE1 accepts it, and so do we.
        if parsed.is_some() {
            r.warning(
                VERSION_PATH,
                format!(
                    "kubernetes_version {version} is not in rke's version table: deploying with \
                     the images given in system_images"
                ),
            );
        }
    } else {
        // RKE1 accepts an unknown version only when the user supplies every image.
        r.error(
            VERSION_PATH,
            format!(
                "kubernetes_version {version} is not supported; supported versions: {}. \
                 (To run another version, give every image under system_images; missing: {}.)",
                ctx.supported_versions.join(", "),
                missing.join(", ")
            ),
        );
    }

    if let Some(v) = parsed {
        check_cri_dockerd(cfg.enable_cri_dockerd, v, ctx.cri_dockerd_from, r);
    }
    if !cfg.cri_dockerd_stream_server_port.is_empty()
        && let Err(why) = super::net::port(&cfg.cri_dockerd_stream_server_port)
    {
        r.error(
            "cri_dockerd_stream_server_port",
            format!("cri-dockerd stream server port {why}"),
        );
    }
    parsed
}

/// RKE1's bounds (`validateCRIDockerdOption`): cri-dockerd from 1.21, and required from 1.24. A
/// version table that runs an older minor on cri-dockerd (`cri_dockerd_from`) allows it there.
fn check_cri_dockerd(enabled: Option<bool>, v: K8sVersion, table_from: (u32, u32), r: &mut Report) {
    const PATH: &str = "enable_cri_dockerd";
    let table_allows = (v.major, v.minor) >= (u64::from(table_from.0), u64::from(table_from.1));
    match enabled {
        Some(true) if !v.at_least(1, 21) && !table_allows => r.error(
            PATH,
            format!(
                "cri-dockerd needs Kubernetes 1.21 or newer (this is v{}.{})",
                v.major, v.minor
            ),
        ),
        Some(false) if v.at_least(1, 24) => r.error(
            PATH,
            format!(
                "Kubernetes v{}.{} has no dockershim: the kubelet reaches Docker only through \
                 cri-dockerd, so enable_cri_dockerd cannot be false",
                v.major, v.minor
            ),
        ),
        _ => {}
    }
}
