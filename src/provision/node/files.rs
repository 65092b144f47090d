//! Writing a plan's files and directories onto a node without any secret passing through a
//! container's environment, command line or labels: the bytes travel as a tar archive into a
//! helper container that is created (never started) with the target directories bind-mounted;
//! the engine extracts archives into a created container's mounts.
//!
//! Idempotence: before writing, each file is read back through the same helper
//! (`GET /containers/{id}/archive`) and compared byte for byte with its mode and owner;
//! directories are compared by existence and mode (`HEAD` on the archive; the engine reports
//! no owner there). Reading back what is really on disk, rather than trusting a manifest kept
//! on the node, also repairs files someone changed by hand.

use std::collections::BTreeMap;

use bollard::query_parameters::{
    ContainerArchiveInfoOptionsBuilder, DownloadFromContainerOptionsBuilder,
    UploadToContainerOptionsBuilder,
};
use futures_util::TryStreamExt;
use futures_util::future::try_join_all;

use super::archive::{self, FileOnNode};
use super::mounts::Mounts;
use super::{docker_error, is_not_found};
use crate::provision::spec::{NodeDir, NodeFile};
use crate::transport::NodeConnection;

use super::helper;

/// What [`upload_files`] did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileUpload {
    /// Paths written (files and directories), in plan order; empty when all were current.
    pub written: Vec<String>,
    /// How many planned paths already matched.
    pub unchanged: usize,
}

/// Make the node hold exactly `files` and `dirs` (contents, modes, owners). `helper_image` must
/// already be on the node (see [`super::ensure_image`]); any image works, it is never run.
pub async fn upload_files(
    node: &NodeConnection,
    files: &[NodeFile],
    dirs: &[NodeDir],
    helper_image: &str,
) -> anyhow::Result<FileUpload> {
    if files.is_empty() && dirs.is_empty() {
        return Ok(FileUpload::default());
    }
    let mounts = archive::mount_points(files, dirs)
        .map_err(|e| anyhow::anyhow!("node {}: {e:#}", node.name()))?;
    // Compared first through the containers already there: when all is current, nothing is
    // created.
    if let Some(stale) = stale_through_existing(node, files, dirs).await?
        && stale.dirs.is_empty()
        && stale.files.is_empty()
    {
        return Ok(FileUpload {
            written: Vec::new(),
            unchanged: files.len() + dirs.len(),
        });
    }
    let binds: Vec<String> = mounts.iter().map(|m| format!("{m}:{m}")).collect();
    let helper = helper::create_idle(node, helper_image, binds).await?;
    let result = sync_through(node, &helper, files, dirs).await;
    let removed = remove_helper(node, &helper).await;
    let report = result?;
    removed?;
    Ok(report)
}

/// Where [`stale_paths`] sees the node's root inside its helper.
const HOST_VIEW: &str = "/rke-host";

/// The paths [`upload_files`] would write (directories first, then files, in plan order),
/// without writing anything. Unlike `upload_files`, the helper sees the node's whole root
/// read-only at one mount instead of binding each parent directory, because binding a missing
/// directory makes the engine create it, which a dry run must not do. (A symlink with an
/// absolute target on the way to a planned path would resolve inside the helper, not the
/// node; RKE's own directories are plain directories.)
pub async fn stale_paths(
    node: &NodeConnection,
    files: &[NodeFile],
    dirs: &[NodeDir],
    helper_image: &str,
) -> anyhow::Result<Vec<String>> {
    if files.is_empty() && dirs.is_empty() {
        return Ok(Vec::new());
    }
    // Same path rules as upload_files, so a dry run refuses what a real run would.
    archive::mount_points(files, dirs)
        .map_err(|e| anyhow::anyhow!("node {}: {e:#}", node.name()))?;
    if let Some(stale) = stale_through_existing(node, files, dirs).await? {
        return Ok(stale.paths());
    }
    let helper = helper::create_idle(node, helper_image, vec![format!("/:{HOST_VIEW}:ro")]).await?;
    let view = View::Helper {
        name: &helper,
        root: HOST_VIEW,
    };
    let result = find_stale(node, &view, files, dirs).await;
    let removed = remove_helper(node, &helper).await;
    let stale = result?.expect("a helper seeing the whole root reaches every path");
    removed?;
    Ok(stale.paths())
}

/// The planned entries that differ from the node, read through the containers already on it;
/// `None` when some path is not reachable that way or a container could not serve it (a bind
/// whose source is gone cannot be mounted): then a helper must look.
async fn stale_through_existing(
    node: &NodeConnection,
    files: &[NodeFile],
    dirs: &[NodeDir],
) -> anyhow::Result<Option<Stale>> {
    let existing = Mounts::of(node).await?;
    match find_stale(node, &View::Existing(&existing), files, dirs).await {
        Ok(stale) => Ok(stale),
        Err(e) => {
            tracing::debug!(
                node = node.name(),
                "files not readable through containers: {e:#}"
            );
            Ok(None)
        }
    }
}

/// The contents of one file on the node, `None` when it does not exist. Reads through a
/// helper (never started) with the file's directory bound read-only; binding creates the
/// directory when it is missing, which every caller here is fine with (RKE's own directories).
pub async fn fetch_file(
    node: &NodeConnection,
    path: &str,
    helper_image: &str,
) -> anyhow::Result<Option<Vec<u8>>> {
    let dir = match path.rsplit_once('/') {
        Some((dir, _)) if !dir.is_empty() => dir,
        _ => anyhow::bail!(
            "node {}: {path:?} is not a file below a directory",
            node.name()
        ),
    };
    let helper = helper::create_idle(node, helper_image, vec![format!("{dir}:{dir}:ro")]).await?;
    let view = View::Helper {
        name: &helper,
        root: "",
    };
    let result = read_file(node, &view, path).await;
    let removed = remove_helper(node, &helper).await;
    let file = result?;
    removed?;
    Ok(file.map(|f| f.contents))
}

/// The contents of several node files (`None` for a missing one) without creating anything on
/// the node: the helper sees the node's root read-only at one mount (as [`stale_paths`]), so
/// no missing directory is made by binding it. Used to look for a cluster's traces.
pub async fn read_host_files(
    node: &NodeConnection,
    paths: &[String],
    helper_image: &str,
) -> anyhow::Result<Vec<Option<Vec<u8>>>> {
    let helper = helper::create_idle(node, helper_image, vec![format!("/:{HOST_VIEW}:ro")]).await?;
    let result = async {
        let mut out = Vec::with_capacity(paths.len());
        for path in paths {
            let view = View::Helper {
                name: &helper,
                root: HOST_VIEW,
            };
            let file = read_file(node, &view, path).await?;
            out.push(file.map(|f| f.contents));
        }
        anyhow::Ok(out)
    }
    .await;
    let removed = remove_helper(node, &helper).await;
    let files = result?;
    removed?;
    Ok(files)
}

/// The planned entries that differ from what the node holds.
struct Stale {
    dirs: Vec<NodeDir>,
    files: Vec<NodeFile>,
}

impl Stale {
    fn paths(&self) -> Vec<String> {
        self.dirs
            .iter()
            .map(|d| d.path.clone())
            .chain(self.files.iter().map(|f| f.path.clone()))
            .collect()
    }
}

/// Where node paths are read from.
enum View<'a> {
    /// A helper container showing node path `p` at `{root}{p}`.
    Helper { name: &'a str, root: &'a str },
    /// The bind mounts of the containers already on the node.
    Existing(&'a Mounts),
}

impl View<'_> {
    /// The container and the path in it that show node path `path`.
    fn locate(&self, path: &str) -> Option<(String, String)> {
        match self {
            View::Helper { name, root } => Some((name.to_string(), format!("{root}{path}"))),
            View::Existing(mounts) => mounts
                .route(path)
                .map(|(container, inner)| (container.to_string(), inner)),
        }
    }
}

/// Compare the plan with the node through `view`; `None` when some planned path cannot be
/// seen through it.
async fn find_stale(
    node: &NodeConnection,
    view: &View<'_>,
    files: &[NodeFile],
    dirs: &[NodeDir],
) -> anyhow::Result<Option<Stale>> {
    let paths = dirs
        .iter()
        .map(|d| &d.path)
        .chain(files.iter().map(|f| &f.path));
    if paths.into_iter().any(|p| view.locate(p).is_none()) {
        return Ok(None);
    }
    // The engine mounts the container for every archive request, so directories holding
    // several planned files are read in one request rather than file by file (those the view
    // reaches whole). The requests go out together rather than one after the other (each is a
    // round trip through the node's sshd and engine).
    let batched: Vec<String> = batch_dirs(files)
        .into_iter()
        .filter(|d| view.locate(d).is_some())
        .collect();
    let single: Vec<&NodeFile> = files
        .iter()
        .filter(|f| !batched.iter().any(|d| is_below(&f.path, d)))
        .collect();
    let (dirs_current, read_dirs, read_files) = futures_util::try_join!(
        try_join_all(dirs.iter().map(|d| dir_is_current(node, view, d))),
        try_join_all(batched.iter().map(|d| read_dir(node, view, d))),
        try_join_all(single.iter().map(|f| read_file(node, view, &f.path))),
    )?;
    let mut seen: BTreeMap<String, FileOnNode> = read_dirs.into_iter().flatten().collect();
    for (file, current) in single.iter().zip(read_files) {
        if let Some(current) = current {
            seen.insert(file.path.clone(), current);
        }
    }
    let stale = Stale {
        dirs: dirs
            .iter()
            .zip(dirs_current)
            .filter(|(_, current)| !current)
            .map(|(d, _)| d.clone())
            .collect(),
        files: files
            .iter()
            .filter(|f| !seen.remove(&f.path).is_some_and(|c| c.matches(f)))
            .cloned()
            .collect(),
    };
    Ok(Some(stale))
}

async fn sync_through(
    node: &NodeConnection,
    helper: &str,
    files: &[NodeFile],
    dirs: &[NodeDir],
) -> anyhow::Result<FileUpload> {
    let view = View::Helper {
        name: helper,
        root: "",
    };
    let stale = find_stale(node, &view, files, dirs)
        .await?
        .expect("a helper binding every planned parent reaches every path");
    let written = stale.paths();
    let unchanged = files.len() + dirs.len() - written.len();
    if written.is_empty() {
        return Ok(FileUpload { written, unchanged });
    }
    let tar = archive::build(&stale.files, &stale.dirs)
        .map_err(|e| anyhow::anyhow!("node {}: {e:#}", node.name()))?;
    // copyUIDGID makes the engine keep the owners written in the archive headers.
    let options = UploadToContainerOptionsBuilder::default()
        .path("/")
        .copy_uidgid("true")
        .build();
    node.docker()
        .upload_to_container(helper, Some(options), bollard::body_full(tar.into()))
        .await
        .map_err(|e| docker_error(node, format!("writing {}", written.join(", ")), e))?;
    Ok(FileUpload { written, unchanged })
}

async fn remove_helper(node: &NodeConnection, name: &str) -> anyhow::Result<()> {
    helper::force_remove(node, name, &format!("file helper {name}"))
        .await
        .map(drop)
}

/// Directories holding at least two planned files, without those inside another one.
fn batch_dirs(files: &[NodeFile]) -> Vec<String> {
    let mut count: BTreeMap<&str, usize> = BTreeMap::new();
    for f in files {
        if let Some((parent, _)) = f.path.rsplit_once('/')
            && !parent.is_empty()
        {
            *count.entry(parent).or_default() += 1;
        }
    }
    let busy: Vec<&str> = count
        .into_iter()
        .filter(|(_, n)| *n >= 2)
        .map(|(d, _)| d)
        .collect();
    busy.iter()
        .filter(|d| !busy.iter().any(|other| other != *d && is_below(d, other)))
        .map(|d| d.to_string())
        .collect()
}

fn is_below(path: &str, dir: &str) -> bool {
    path.strip_prefix(dir)
        .is_some_and(|rest| rest.starts_with('/'))
}

/// Every regular file under node directory `dir`, by node path; empty when `dir` is absent.
async fn read_dir(
    node: &NodeConnection,
    view: &View<'_>,
    dir: &str,
) -> anyhow::Result<BTreeMap<String, FileOnNode>> {
    let (container, inner) = located(node, view, dir)?;
    let options = DownloadFromContainerOptionsBuilder::default()
        .path(&inner)
        .build();
    let stream = node
        .docker()
        .download_from_container(&container, Some(options));
    let chunks: Result<Vec<_>, _> = stream.try_collect().await;
    let bytes = match chunks {
        Ok(chunks) => chunks.concat(),
        Err(e) if is_not_found(&e) => return Ok(BTreeMap::new()),
        Err(e) => return Err(docker_error(node, format!("reading back {dir}"), e)),
    };
    let files = archive::files_in(&bytes)
        .map_err(|e| anyhow::anyhow!("node {}: reading back {dir}: {e:#}", node.name()))?;
    // Entries are named after the directory's last component in the container:
    // `<name>/<relative path>`.
    Ok(files
        .into_iter()
        .filter_map(|(entry, file)| {
            let (_, rest) = entry.split_once('/')?;
            Some((format!("{dir}/{rest}"), file))
        })
        .collect())
}

/// The container and path in it through which `view` shows node path `path`.
fn located(node: &NodeConnection, view: &View<'_>, path: &str) -> anyhow::Result<(String, String)> {
    view.locate(path)
        .ok_or_else(|| anyhow::anyhow!("node {}: no container shows {path}", node.name()))
}

async fn read_file(
    node: &NodeConnection,
    view: &View<'_>,
    path: &str,
) -> anyhow::Result<Option<FileOnNode>> {
    let (container, inner) = located(node, view, path)?;
    let options = DownloadFromContainerOptionsBuilder::default()
        .path(&inner)
        .build();
    let stream = node
        .docker()
        .download_from_container(&container, Some(options));
    let chunks: Result<Vec<_>, _> = stream.try_collect().await;
    match chunks {
        Ok(chunks) => {
            let bytes = chunks.concat();
            archive::single_file(&bytes)
                .map_err(|e| anyhow::anyhow!("node {}: reading back {path}: {e:#}", node.name()))
        }
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(docker_error(node, format!("reading back {path}"), e)),
    }
}

/// Go's `os.ModeDir`, as the engine reports it in a path stat.
const GO_MODE_DIR: u32 = 1 << 31;

async fn dir_is_current(
    node: &NodeConnection,
    view: &View<'_>,
    dir: &NodeDir,
) -> anyhow::Result<bool> {
    let (container, inner) = located(node, view, &dir.path)?;
    let options = ContainerArchiveInfoOptionsBuilder::default()
        .path(&inner)
        .build();
    match node
        .docker()
        .get_container_archive_info(&container, Some(options))
        .await
    {
        Ok(stat) => {
            Ok(stat.file_mode & GO_MODE_DIR != 0 && stat.file_mode & 0o777 == dir.mode & 0o777)
        }
        Err(e) if is_not_found(&e) => Ok(false),
        Err(e) => Err(docker_error(node, format!("checking {}", dir.path), e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str) -> NodeFile {
        NodeFile {
            path: path.into(),
            contents: vec![],
            mode: 0o644,
            secret: false,
            owner: None,
        }
    }

    #[test]
    fn busy_directories_are_read_whole_and_nested_ones_not_twice() {
        let files = [
            file("/etc/kubernetes/a.yaml"),
            file("/etc/kubernetes/b.yaml"),
            file("/etc/kubernetes/ssl/x.pem"),
            file("/etc/kubernetes/ssl/y.pem"),
            file("/etc/kubernetes/nginx-proxy/nginx.conf"),
            file("/var/lib/kubelet/config.json"),
        ];
        assert_eq!(batch_dirs(&files), ["/etc/kubernetes"]);
        assert!(is_below("/etc/kubernetes/ssl/x.pem", "/etc/kubernetes"));
        assert!(!is_below("/etc/kubernetes-old/x", "/etc/kubernetes"));
        assert!(batch_dirs(&[file("/a/one")]).is_empty());
    }
}
