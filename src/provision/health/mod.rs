//! Health checks through the node's SSH tunnel: one HTTP(S) GET per probe, polled until a
//! component answers healthy or its deadline passes (rke1.md §3.11-3.12).

pub(crate) mod http;
mod log_excerpt;
mod target;
mod tls;

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use rustls::ClientConfig;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Instant;
use tokio_rustls::TlsConnector;

pub use http::Answer;
pub use target::ProbeTarget;
pub use tls::client_config;

use crate::certs::CertBundle;
use crate::error::{ErrorKind, classified};
use crate::provision::node::tail_logs;
use crate::provision::spec::HealthCheck;
use crate::transport::NodeConnection;

/// No single probe may take longer than this, however far away the deadline is: a component
/// that accepts connections and never answers must not eat the whole wait in one attempt.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// One health probe of `check` on `node`: success is a 200 answer, and for etcd's `/health`
/// also a body whose `health` is `"true"`. The error says what went wrong (refused, TLS,
/// status and body).
pub async fn probe(node: &NodeConnection, check: &HealthCheck, bundle: &CertBundle) -> Result<()> {
    // Both are faults no waiting cures, so they are classified (see `is_permanent`).
    let target = ProbeTarget::parse(&check.url)
        .map_err(|e| classified(ErrorKind::Config, format!("{e:#}")))?;
    let tls = if target.tls {
        let config = client_config(check, bundle).map_err(|e| {
            classified(
                ErrorKind::State,
                format!("health check {}: {e:#}", check.url),
            )
        })?;
        Some(Arc::new(config))
    } else {
        None
    };
    let stream = node
        .open_tcp(&target.connect_host, target.port)
        .await
        // The transport's message already names the node and `host:port`.
        .map_err(|e| anyhow!("{e}"))?;
    let answer = exchange(stream, &target, tls).await?;
    judge(&target, &answer)
}

/// The GET itself, over TLS when `tls` is given, on any stream (an SSH channel in use).
async fn exchange<S>(
    stream: S,
    target: &ProbeTarget,
    tls: Option<Arc<ClientConfig>>,
) -> Result<Answer>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    match tls {
        Some(config) => {
            let name = tls::server_name(&target.host)?;
            let stream = TlsConnector::from(config)
                .connect(name, stream)
                .await
                .context("TLS handshake")?;
            http::get(stream, &target.authority(), &target.path).await
        }
        None => http::get(stream, &target.authority(), &target.path).await,
    }
}

/// Whether an answer means healthy.
fn judge(target: &ProbeTarget, answer: &Answer) -> Result<()> {
    let body = answer.body.trim();
    if answer.status != 200 {
        bail!("HTTP status {}: {}", answer.status, shorten(body));
    }
    if target.wants_etcd_verdict() {
        let verdict: serde_json::Value = serde_json::from_str(body)
            .map_err(|e| anyhow!("etcd health answer is not JSON ({e}): {}", shorten(body)))?;
        // etcd writes the verdict as a string; accept a JSON boolean too.
        let healthy = match &verdict["health"] {
            serde_json::Value::String(s) => s == "true",
            serde_json::Value::Bool(b) => *b,
            _ => false,
        };
        if !healthy {
            bail!("etcd reports itself unhealthy: {}", shorten(body));
        }
    }
    Ok(())
}

/// Fails (class Docker) when the node's engine no longer answers or the container is gone;
/// a stopped container with a restart policy is still expected back, so that is no failure.
async fn engine_still_runs(node: &NodeConnection, container: &str) -> Result<()> {
    match node.docker().inspect_container(container, None).await {
        Ok(_) => Ok(()),
        Err(e) => Err(classified(
            ErrorKind::Docker,
            format!(
                "node {}: container {container} is not coming up: the Docker engine says: {e}",
                node.name()
            ),
        )),
    }
}

/// Answers go into error messages: keep them to one short line.
fn shorten(body: &str) -> String {
    let line: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() > 200 {
        format!("{}…", line.chars().take(200).collect::<String>())
    } else {
        line
    }
}

/// The first pause between two probes of a wait. Components that were just started mostly
/// answer within a second or two, so a fixed pause made each wait up to a whole `interval`
/// longer than the component needed; the pause doubles from here up to `interval`, which
/// keeps the probes of a long wait as few as before.
const FIRST_PAUSE: Duration = Duration::from_millis(100);

/// The pause after `pause`: doubled, at most `max`.
fn next_pause(pause: Duration, max: Duration) -> Duration {
    (pause * 2).min(max)
}

/// Probe `check` until it succeeds or `deadline` passes, pausing [`FIRST_PAUSE`] after the
/// first failed probe and twice as long after each next one, at most `interval`. On timeout
/// the error (ErrorKind::HealthTimeout) names the node, container and URL, and carries the
/// last probe error and the last lines of the container's log.
pub async fn wait_healthy(
    node: &NodeConnection,
    container: &str,
    check: &HealthCheck,
    bundle: &CertBundle,
    deadline: Instant,
    interval: Duration,
) -> Result<()> {
    let mut attempts = 0u32;
    let mut pause = FIRST_PAUSE.min(interval);
    let last_error = loop {
        attempts += 1;
        let budget = deadline
            .saturating_duration_since(Instant::now())
            .clamp(Duration::from_millis(100), PROBE_TIMEOUT);
        let error = match tokio::time::timeout(budget, probe(node, check, bundle)).await {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(e)) if is_permanent(&e) => {
                return Err(e.context(format!("node {}: container {container}", node.name())));
            }
            Ok(Err(e)) => format!("{e:#}"),
            Err(_) => format!("no answer within {}s", budget.as_secs_f32()),
        };
        tracing::debug!(node = node.name(), container, url = %check.url, "not healthy yet: {error}");
        // A container that cannot come back (its engine stopped answering, or it was removed)
        // is reported now rather than at the deadline.
        engine_still_runs(node, container).await?;
        if Instant::now() + pause >= deadline {
            break error;
        }
        tokio::time::sleep(pause).await;
        pause = next_pause(pause, interval);
    };
    let logs = match tail_logs(node, container, log_excerpt::READ_LINES).await {
        Ok(text) => log_excerpt::excerpt(container, &text),
        Err(e) => format!("(its log could not be read: {e:#})"),
    };
    Err(classified(
        ErrorKind::HealthTimeout,
        format!(
            "node {}: container {container} did not become healthy: {} failed {attempts} \
             time(s), last error: {last_error}\n{logs}",
            node.name(),
            check.url,
        ),
    ))
}

/// Errors that waiting cannot cure (a certificate missing from the bundle, a malformed URL).
fn is_permanent(error: &anyhow::Error) -> bool {
    crate::error::kind_of(error) != ErrorKind::General
}

#[cfg(test)]
mod tests;
