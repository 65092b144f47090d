//! Phase `prepare nodes` (interrupt step "images and files", event phase `prepare`): every
//! node gets the images its plan runs, the snapshot agent binary when it runs the agent, and
//! its certificates, kubeconfigs and config files. Nothing is started yet.

use anyhow::Context;

use super::Run;
use crate::events::{phase, step};
use crate::parallel;
use crate::provision::node::stale_paths;
use crate::up::change::Change;
use crate::up::snapshot_agent;

/// Files and directories that differ from the plan, and agent binaries to upload, per node.
pub async fn plan(run: &Run<'_>) -> anyhow::Result<Vec<Change>> {
    let helper = run.helper_image();
    let agent_binary = run.agent_binary.as_ref();
    let per_node = parallel::map(&run.nodes, run.opts.limit, |node| async move {
        let mut changes = Vec::new();
        let name = node.name().to_string();
        match stale_paths(&node.conn, &node.plan.files, &node.plan.dirs, helper).await {
            Ok(paths) => changes.extend(paths.into_iter().map(|path| Change::WriteFile {
                node: name.clone(),
                path,
            })),
            Err(e) => changes.push(Change::WriteAllFiles {
                node: name.clone(),
                files: node.plan.files.len(),
                dirs: node.plan.dirs.len(),
                reason: format!("{e:#}"),
            }),
        }
        changes.extend(snapshot_agent::pending_upload(node, agent_binary, helper).await);
        changes
    })
    .await;
    Ok(per_node.into_iter().flatten().collect())
}

/// The nodes the agent binary was uploaded to (their older binaries are pruned once the etcd
/// plane runs the new one).
pub struct Uploaded(pub Vec<String>);

/// Pull images, upload the agent binary and write the files, on every node in parallel.
pub async fn apply(run: &Run<'_>) -> anyhow::Result<Uploaded> {
    let helper = run.helper_image();
    let registries = run.cfg().private_registries.as_slice();
    let always_pull = run.cfg().services.kube_api.always_pull_images;
    let agent_binary = run.agent_binary.as_ref();
    let uploaded = std::sync::Mutex::new(Vec::new());
    let prepare_nodes = parallel::for_each(&run.nodes, run.opts.limit, |node| {
        let uploaded = &uploaded;
        async move {
            let name = node.name();
            step(name, "images", async {
                node.ensure_images(helper, registries, always_pull)
                    .await
                    .context("images")
            })
            .await?;
            step(name, "files", async {
                if snapshot_agent::ensure_binary(node, agent_binary, helper).await? {
                    uploaded
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(name.to_string());
                }
                node.upload_files(helper).await.context("files")?;
                anyhow::Ok(())
            })
            .await
        }
    });
    phase("prepare", run.nodes.len(), prepare_nodes).await?;
    Ok(Uploaded(
        uploaded.into_inner().unwrap_or_else(|e| e.into_inner()),
    ))
}
