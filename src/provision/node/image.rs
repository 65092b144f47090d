//! Images: pulled only when missing (or when asked to always pull), with the credentials of
//! the private registry the image lives in.

use bollard::auth::DockerCredentials;
use bollard::query_parameters::CreateImageOptionsBuilder;

use super::{docker_error, is_not_found};
use crate::config::PrivateRegistry;
use crate::transport::NodeConnection;

/// Docker Hub's canonical host; images without a registry component live there.
const DOCKER_HUB: &str = "docker.io";

/// The registry host of an image reference, as Docker resolves it: the first path component
/// when it looks like a host (has `.` or `:`, or is `localhost`), else Docker Hub.
pub fn registry_host(image: &str) -> &str {
    match image.split_once('/') {
        Some((first, _)) if first.contains(['.', ':']) || first == "localhost" => {
            canonical_host(first)
        }
        _ => DOCKER_HUB,
    }
}

/// The credentials of the entry of `private_registries` whose URL names the image's registry
/// (`https://`, trailing paths and Docker Hub's aliases tolerated). `None` when no entry
/// matches or the entry has no user.
pub fn credentials_for(image: &str, registries: &[PrivateRegistry]) -> Option<DockerCredentials> {
    let host = registry_host(image);
    let registry = registries
        .iter()
        .find(|r| canonical_host(url_host(&r.url)) == host && !r.user.is_empty())?;
    Some(DockerCredentials {
        username: Some(registry.user.clone()),
        password: Some(registry.password.clone()),
        serveraddress: Some(url_host(&registry.url).to_string()),
        ..DockerCredentials::default()
    })
}

fn url_host(url: &str) -> &str {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .unwrap_or(url);
    rest.split('/').next().unwrap_or(rest)
}

fn canonical_host(host: &str) -> &str {
    match host {
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => DOCKER_HUB,
        other => other,
    }
}

/// `(repository, tag-or-digest)` for the pull API; an untagged reference means `latest`
/// (an empty tag would make the engine pull every tag).
fn split_reference(image: &str) -> (&str, &str) {
    if let Some((repo, digest)) = image.split_once('@') {
        return (repo, digest);
    }
    let last_slash = image.rfind('/').map_or(0, |i| i + 1);
    match image[last_slash..].rfind(':') {
        Some(i) => (&image[..last_slash + i], &image[last_slash + i + 1..]),
        None => (image, "latest"),
    }
}

/// Make `image` present on the node. Returns whether it was pulled.
pub async fn ensure_image(
    node: &NodeConnection,
    image: &str,
    creds: Option<DockerCredentials>,
    always_pull: bool,
) -> anyhow::Result<bool> {
    if !always_pull {
        match node.docker().inspect_image(image).await {
            Ok(_) => return Ok(false),
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(docker_error(node, format!("inspecting image {image}"), e)),
        }
    }
    let (repo, tag) = split_reference(image);
    let options = CreateImageOptionsBuilder::default()
        .from_image(repo)
        .tag(tag)
        .build();
    super::pull::pull(node, image, options, creds).await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry(url: &str, user: &str) -> PrivateRegistry {
        PrivateRegistry {
            url: url.into(),
            user: user.into(),
            password: "pw".into(),
            ..PrivateRegistry::default()
        }
    }

    #[test]
    fn registry_hosts() {
        assert_eq!(registry_host("busybox"), "docker.io");
        assert_eq!(registry_host("rancher/hyperkube:v1.27.1"), "docker.io");
        assert_eq!(
            registry_host("10.77.0.1:5000/rke-e2e/etcd:v3"),
            "10.77.0.1:5000"
        );
        assert_eq!(
            registry_host("registry.example.com/x/y"),
            "registry.example.com"
        );
        assert_eq!(registry_host("localhost/x"), "localhost");
        assert_eq!(registry_host("index.docker.io/rancher/x"), "docker.io");
    }

    #[test]
    fn credentials_match_by_host_only() {
        let regs = [
            registry("https://10.77.0.1:5000/", "e2e"),
            registry("docker.io", "hub"),
            registry("quay.io", ""),
        ];
        let c = credentials_for("10.77.0.1:5000/rke-e2e/busybox:1", &regs).unwrap();
        assert_eq!(c.username.as_deref(), Some("e2e"));
        assert_eq!(c.password.as_deref(), Some("pw"));
        assert_eq!(c.serveraddress.as_deref(), Some("10.77.0.1:5000"));
        let hub = credentials_for("rancher/rke-tools:v0.1.9", &regs).unwrap();
        assert_eq!(hub.username.as_deref(), Some("hub"));
        assert!(credentials_for("quay.io/x/y:1", &regs).is_none(), "no user");
        assert!(credentials_for("10.77.0.1:5001/x:1", &regs).is_none());
        assert!(credentials_for("busybox", &[]).is_none());
    }

    #[test]
    fn references_split_into_repository_and_tag() {
        assert_eq!(split_reference("busybox"), ("busybox", "latest"));
        assert_eq!(split_reference("a/b:1.2"), ("a/b", "1.2"));
        assert_eq!(
            split_reference("10.77.0.1:5000/x/y"),
            ("10.77.0.1:5000/x/y", "latest")
        );
        assert_eq!(
            split_reference("10.77.0.1:5000/x/y:v3"),
            ("10.77.0.1:5000/x/y", "v3")
        );
        assert_eq!(split_reference("x/y@sha256:abc"), ("x/y", "sha256:abc"));
    }
}
