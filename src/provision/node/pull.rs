//! Pulling an image on a node: a deadline that every progress message resets (a large image
//! may take long, a stalled one must not hold the run), and a bounded number of retries with
//! backoff for what a registry or the network gets wrong for a moment (5xx, resets, timeouts).
//! Errors of the link to the node itself are not retried here: the node is the problem, and
//! the run reports it at once.

use std::time::Duration;

use bollard::auth::DockerCredentials;
use bollard::query_parameters::CreateImageOptions;
use futures_util::StreamExt;

use super::docker_error;
use crate::error::{ErrorKind, classified};
use crate::transport::NodeConnection;

/// Attempts per pull, the first included.
pub const PULL_ATTEMPTS: u32 = 4;
/// How long a pull may go without any progress message from the engine.
pub const PULL_STALL: Duration = Duration::from_secs(120);
const BACKOFF_FIRST: Duration = Duration::from_secs(2);
const BACKOFF_MAX: Duration = Duration::from_secs(30);

/// The pause before attempt `attempt` (2, 3, ...): doubling from 2 s, at most 30 s.
pub fn backoff(attempt: u32) -> Duration {
    let doublings = attempt.saturating_sub(2).min(16);
    (BACKOFF_FIRST * 2u32.pow(doublings)).min(BACKOFF_MAX)
}

/// Messages of errors a later attempt may not see: the registry or the network failing for a
/// moment. Lower case.
const TRANSIENT: [&str; 14] = [
    "connection reset",
    "connection refused",
    "broken pipe",
    "unexpected eof",
    "i/o timeout",
    "tls handshake timeout",
    "timeout exceeded",
    "context deadline exceeded",
    "too many requests",
    "toomanyrequests",
    "500 internal server error",
    "502 bad gateway",
    "503 service unavailable",
    "504 gateway timeout",
];

/// Messages that no retry changes (wrong name, no access), even when the engine wraps them in
/// a 500. Lower case.
const PERMANENT: [&str; 7] = [
    "not found",
    "no space left on device",
    "manifest unknown",
    "unauthorized",
    "denied",
    "authentication required",
    "invalid reference",
];

/// Whether a failed pull is worth another attempt: the engine answered (`status` when it
/// answered with an error status, `None` for an error in the progress stream) with a message
/// that says the registry or the network failed for a moment.
pub fn is_transient(status: Option<u16>, message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    if PERMANENT.iter().any(|p| m.contains(p)) {
        return false;
    }
    match status {
        Some(s) if (400..500).contains(&s) => s == 429,
        Some(s) if s >= 500 => true,
        _ => TRANSIENT.iter().any(|t| m.contains(t)),
    }
}

/// How one attempt ended.
enum Attempt {
    Done,
    /// No progress for [`PULL_STALL`].
    Stalled,
    Failed(bollard::errors::Error),
}

async fn attempt(
    node: &NodeConnection,
    options: CreateImageOptions,
    creds: Option<DockerCredentials>,
) -> Attempt {
    let docker = node.docker();
    let mut stream = docker.create_image(Some(options), None, creds);
    loop {
        match tokio::time::timeout(PULL_STALL, stream.next()).await {
            Err(_) => return Attempt::Stalled,
            Ok(None) => return Attempt::Done,
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(e))) => return Attempt::Failed(e),
        }
    }
}

/// Pull `image` (given as `options`) on `node`, retrying transient failures up to
/// [`PULL_ATTEMPTS`] times in all.
pub async fn pull(
    node: &NodeConnection,
    image: &str,
    options: CreateImageOptions,
    creds: Option<DockerCredentials>,
) -> anyhow::Result<()> {
    let mut n = 1;
    loop {
        let why = match attempt(node, options.clone(), creds.clone()).await {
            Attempt::Done => return Ok(()),
            Attempt::Stalled => format!("no progress for {}s", PULL_STALL.as_secs()),
            Attempt::Failed(e) => {
                let transient = match &e {
                    bollard::errors::Error::DockerResponseServerError {
                        status_code,
                        message,
                    } => is_transient(Some(*status_code), message),
                    bollard::errors::Error::DockerStreamError { error } => {
                        is_transient(None, error)
                    }
                    _ => false,
                };
                if !transient {
                    return Err(docker_error(node, format!("pulling image {image}"), e));
                }
                super::docker_reason(&e)
            }
        };
        if n >= PULL_ATTEMPTS {
            return Err(classified(
                ErrorKind::Docker,
                format!(
                    "node {}: pulling image {image}: {why} (after {n} attempt(s)); check the \
                     registry and the node's network, then run rke up again",
                    node.name()
                ),
            ));
        }
        n += 1;
        let pause = backoff(n);
        tracing::warn!(
            node = node.name(),
            "pulling image {image}: {why}; attempt {n} of {PULL_ATTEMPTS} in {}s",
            pause.as_secs()
        );
        tokio::time::sleep(pause).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_a_cap() {
        assert_eq!(backoff(2), Duration::from_secs(2));
        assert_eq!(backoff(3), Duration::from_secs(4));
        assert_eq!(backoff(4), Duration::from_secs(8));
        assert_eq!(backoff(7), Duration::from_secs(30));
        assert_eq!(backoff(u32::MAX), Duration::from_secs(30));
        // Bounded: every pause of a pull together.
        let total: Duration = (2..=PULL_ATTEMPTS).map(backoff).sum();
        assert_eq!(total, Duration::from_secs(14));
    }

    #[test]
    fn registry_and_network_hiccups_are_retried() {
        let cases = [
            (
                Some(500),
                "received unexpected HTTP status: 503 Service Unavailable",
            ),
            (
                Some(500),
                "Get \"https://r/v2/\": net/http: TLS handshake timeout",
            ),
            (Some(502), "bad gateway"),
            (Some(429), "toomanyrequests: rate limit"),
            (
                None,
                "read tcp 10.0.0.1:5000: read: connection reset by peer",
            ),
            (None, "unexpected EOF"),
            (None, "dial tcp: i/o timeout"),
        ];
        for (status, message) in cases {
            assert!(is_transient(status, message), "{status:?} {message}");
        }
    }

    #[test]
    fn wrong_names_and_credentials_are_not() {
        let cases = [
            (Some(404), "manifest for x:1 not found: manifest unknown"),
            (
                Some(500),
                "pull access denied for x, repository does not exist",
            ),
            (
                Some(500),
                "Head \"https://r/v2/x/manifests/1\": unauthorized: authentication required",
            ),
            (Some(401), "unauthorized"),
            (Some(400), "invalid reference format"),
            (
                Some(500),
                "write /var/lib/docker/tmp/x: no space left on device",
            ),
            (None, "some other failure"),
        ];
        for (status, message) in cases {
            assert!(!is_transient(status, message), "{status:?} {message}");
        }
    }
}
