//! The last lines a container wrote, for timeout and failure messages.

use bollard::query_parameters::LogsOptionsBuilder;
use futures_util::TryStreamExt;

use super::docker_error;
use crate::transport::NodeConnection;

/// The last `n` lines of `container`'s stdout and stderr, interleaved as written.
pub async fn tail_logs(node: &NodeConnection, container: &str, n: usize) -> anyhow::Result<String> {
    let options = LogsOptionsBuilder::default()
        .stdout(true)
        .stderr(true)
        .tail(&n.to_string())
        .build();
    let chunks: Vec<_> = node
        .docker()
        .logs(container, Some(options))
        .try_collect()
        .await
        .map_err(|e| docker_error(node, format!("reading the logs of {container}"), e))?;
    let mut text = String::new();
    for chunk in chunks {
        text.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
    }
    Ok(text)
}
