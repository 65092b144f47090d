//! Reading node files without creating anything: through the bind mounts of containers already
//! on the node (the kubelet binds `/etc`, etcd its data directory, ...). The engine's archive
//! API (`GET`/`HEAD /containers/{id}/archive`) mounts a container's binds afresh for each
//! request, running or not, so what it returns is what the host holds now. Creating a helper
//! container is a write; on a converged node every planned path is reachable this way, so a
//! no-op `rke up` compares its files with GETs only.

use bollard::query_parameters::ListContainersOptionsBuilder;

use super::docker_error;
use crate::transport::NodeConnection;

/// One bind mount of an existing container: host `source` seen at `destination` in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Bind {
    pub container: String,
    pub source: String,
    pub destination: String,
}

/// The bind mounts of the containers on a node.
#[derive(Debug, Clone, Default)]
pub(crate) struct Mounts {
    binds: Vec<Bind>,
}

impl Mounts {
    #[cfg(test)]
    pub fn new(binds: Vec<Bind>) -> Self {
        Mounts { binds }
    }

    /// List every container on the node (one GET) and keep their bind mounts. Containers
    /// being removed or dead are left out.
    pub async fn of(node: &NodeConnection) -> anyhow::Result<Mounts> {
        let options = ListContainersOptionsBuilder::default().all(true).build();
        let summaries = node
            .docker()
            .list_containers(Some(options))
            .await
            .map_err(|e| docker_error(node, "listing containers", e))?;
        let mut binds = Vec::new();
        for c in summaries {
            let state = c.state.map(|s| s.to_string()).unwrap_or_default();
            let (Some(id), false) = (c.id, matches!(state.as_str(), "removing" | "dead")) else {
                continue;
            };
            for m in c.mounts.unwrap_or_default() {
                if m.typ.as_deref() != Some("bind") {
                    continue;
                }
                if let (Some(source), Some(destination)) = (m.source, m.destination) {
                    binds.push(Bind {
                        container: id.clone(),
                        source,
                        destination,
                    });
                }
            }
        }
        Ok(Mounts { binds })
    }

    /// A container and the path node path `path` has inside it, when some container binds
    /// it (the longest bind source wins) and no other bind of that container hides a
    /// different host path at or below it.
    pub fn route(&self, path: &str) -> Option<(&str, String)> {
        let mut candidates: Vec<(&Bind, &str)> = self
            .binds
            .iter()
            .filter_map(|b| relative(path, &b.source).map(|rest| (b, rest)))
            .collect();
        candidates.sort_by_key(|(b, _)| std::cmp::Reverse(b.source.len()));
        candidates.into_iter().find_map(|(bind, rest)| {
            let inner = join(&bind.destination, rest);
            let consistent = self
                .binds
                .iter()
                .filter(|o| o.container == bind.container && *o != bind)
                .all(|o| shows_same(bind, o, &inner));
            consistent.then_some((bind.container.as_str(), inner))
        })
    }
}

/// Whether `other` (a bind of the same container as `chosen`) leaves `inner`, and everything
/// below it, showing the host paths `chosen` maps them to.
fn shows_same(chosen: &Bind, other: &Bind, inner: &str) -> bool {
    let overlaps = relative(inner, &other.destination).is_some()
        || relative(&other.destination, inner).is_some();
    if !overlaps {
        return true;
    }
    // `other` overlays part of the view: fine when it is the same host path anyway.
    match relative(&other.destination, &chosen.destination) {
        Some(rest) => join(&chosen.source, rest) == other.source,
        // `other` sits above `chosen`'s destination: `chosen` is mounted over it.
        None => true,
    }
}

/// `path` relative to directory `base` (empty for `base` itself), `None` when not below it.
fn relative<'a>(path: &'a str, base: &str) -> Option<&'a str> {
    let base = base.trim_end_matches('/');
    if base.is_empty() {
        return path.strip_prefix('/');
    }
    match path.strip_prefix(base)? {
        "" => Some(""),
        rest => rest.strip_prefix('/'),
    }
}

fn join(dir: &str, rest: &str) -> String {
    let dir = dir.trim_end_matches('/');
    if rest.is_empty() {
        if dir.is_empty() {
            "/".into()
        } else {
            dir.into()
        }
    } else {
        format!("{dir}/{rest}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bind(container: &str, source: &str, destination: &str) -> Bind {
        Bind {
            container: container.into(),
            source: source.into(),
            destination: destination.into(),
        }
    }

    fn kubelet() -> Vec<Bind> {
        vec![
            bind("kubelet", "/etc/kubernetes", "/etc/kubernetes"),
            bind("kubelet", "/etc", "/host/etc"),
            bind("kubelet", "/etc/resolv.conf", "/etc/resolv.conf"),
        ]
    }

    #[test]
    fn the_longest_bind_source_wins() {
        let m = Mounts::new(kubelet());
        assert_eq!(
            m.route("/etc/kubernetes/ssl/kube-ca.pem"),
            Some(("kubelet", "/etc/kubernetes/ssl/kube-ca.pem".into()))
        );
        assert_eq!(
            m.route("/etc/kubernetes"),
            Some(("kubelet", "/etc/kubernetes".into()))
        );
        assert_eq!(
            m.route("/etc/docker/daemon.json"),
            Some(("kubelet", "/host/etc/docker/daemon.json".into()))
        );
        assert_eq!(m.route("/opt/rke/bin/rke-1"), None);
        assert_eq!(m.route("/etcd/x"), None, "a name prefix is not a directory");
    }

    #[test]
    fn a_root_bind_reaches_everything() {
        let m = Mounts::new(vec![bind("h", "/", "/rke-host")]);
        assert_eq!(
            m.route("/var/lib/etcd"),
            Some(("h", "/rke-host/var/lib/etcd".into()))
        );
    }

    #[test]
    fn a_bind_hiding_another_host_path_is_not_used() {
        // /data in the container shows /srv, not /etc/data: reading /etc/data through the
        // /etc bind would return /srv's files.
        let m = Mounts::new(vec![
            bind("c", "/etc", "/etc"),
            bind("c", "/srv", "/etc/data"),
        ]);
        assert_eq!(m.route("/etc/data/x"), None);
        assert_eq!(m.route("/etc"), None, "a directory read would include /srv");
        assert_eq!(m.route("/etc/hosts"), Some(("c", "/etc/hosts".into())));
        // Another container showing the path as it is still serves.
        let mut binds = m.binds.clone();
        binds.push(bind("d", "/etc/data", "/d"));
        assert_eq!(
            Mounts::new(binds).route("/etc/data/x"),
            Some(("d", "/d/x".into()))
        );
    }

    #[test]
    fn relative_paths() {
        assert_eq!(relative("/a/b", "/a"), Some("b"));
        assert_eq!(relative("/a", "/a"), Some(""));
        assert_eq!(relative("/ab", "/a"), None);
        assert_eq!(relative("/a/b", "/"), Some("a/b"));
        assert_eq!(join("/host/etc", ""), "/host/etc");
        assert_eq!(join("/", "a"), "/a");
    }
}
