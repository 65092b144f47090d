//! The write calls a run makes, counted where they leave the process: every Docker Engine API
//! request that is not a read (containers created, started, removed, images pulled, archives
//! put, execs), every Kubernetes API request that is not a read (server-side dry runs apart),
//! and every command run over SSH. A no-op `rke up` must make no engine and no API write; the
//! closing JSON result carries the counts as `writes`, the text log at debug level.
//!
//! One process runs one command, so the counts are process-wide.

use std::sync::atomic::{AtomicU64, Ordering};

use hyper::http;
use serde::Serialize;

/// What the run has done so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Engine requests that change something, execs excepted.
    pub engine: u64,
    /// Engine requests creating, starting or resizing an exec (a command in a container).
    pub engine_execs: u64,
    /// Kubernetes API requests that change something.
    pub api: u64,
    /// Kubernetes API requests with `dryRun=All`: the server changes nothing.
    pub api_dry_run: u64,
    /// Commands run on nodes over SSH.
    pub ssh_commands: u64,
}

/// How an engine request counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineCall {
    Read,
    Write,
    Exec,
}

/// How a Kubernetes API request counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiCall {
    /// get, list, watch.
    Read,
    Write,
    DryRun,
}

fn is_read(method: &http::Method) -> bool {
    matches!(
        *method,
        http::Method::GET | http::Method::HEAD | http::Method::OPTIONS
    )
}

/// Classify an engine request by its method and path (`/v1.41/containers/create`,
/// `/containers/{id}/exec`, `/exec/{id}/start`).
pub fn classify_engine(method: &http::Method, path: &str) -> EngineCall {
    if is_read(method) {
        return EngineCall::Read;
    }
    let mut segments = path.split('/').filter(|s| !s.is_empty());
    let first = segments.next();
    // A versioned path starts with `v1.NN`.
    let resource = match first {
        Some(v) if v.starts_with('v') && v[1..].starts_with(|c: char| c.is_ascii_digit()) => {
            segments.next()
        }
        other => other,
    };
    let last = path.trim_end_matches('/').rsplit('/').next();
    if resource == Some("exec") || (resource == Some("containers") && last == Some("exec")) {
        EngineCall::Exec
    } else {
        EngineCall::Write
    }
}

/// Classify a Kubernetes API request by its method and query string.
pub fn classify_api(method: &http::Method, query: Option<&str>) -> ApiCall {
    if is_read(method) {
        return ApiCall::Read;
    }
    let dry_run = query
        .unwrap_or("")
        .split('&')
        .any(|pair| pair.eq_ignore_ascii_case("dryRun=All"));
    if dry_run {
        ApiCall::DryRun
    } else {
        ApiCall::Write
    }
}

/// Counters, one set per process ([`RUN`]); tests make their own.
#[derive(Debug, Default)]
pub struct Counter {
    engine: AtomicU64,
    engine_execs: AtomicU64,
    api: AtomicU64,
    api_dry_run: AtomicU64,
    ssh_commands: AtomicU64,
}

impl Counter {
    pub const fn new() -> Self {
        Counter {
            engine: AtomicU64::new(0),
            engine_execs: AtomicU64::new(0),
            api: AtomicU64::new(0),
            api_dry_run: AtomicU64::new(0),
            ssh_commands: AtomicU64::new(0),
        }
    }

    pub fn engine(&self, call: EngineCall) {
        match call {
            EngineCall::Read => {}
            EngineCall::Write => bump(&self.engine),
            EngineCall::Exec => bump(&self.engine_execs),
        }
    }

    pub fn api(&self, call: ApiCall) {
        match call {
            ApiCall::Read => {}
            ApiCall::Write => bump(&self.api),
            ApiCall::DryRun => bump(&self.api_dry_run),
        }
    }

    pub fn ssh_command(&self) {
        bump(&self.ssh_commands);
    }

    pub fn counts(&self) -> Counts {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Counts {
            engine: get(&self.engine),
            engine_execs: get(&self.engine_execs),
            api: get(&self.api),
            api_dry_run: get(&self.api_dry_run),
            ssh_commands: get(&self.ssh_commands),
        }
    }
}

fn bump(a: &AtomicU64) {
    a.fetch_add(1, Ordering::Relaxed);
}

/// This process's counts.
pub static RUN: Counter = Counter::new();

/// Count one request to `node`'s engine (logged at debug level when it writes).
pub fn note_engine(node: &str, method: &http::Method, path: &str) {
    let call = classify_engine(method, path);
    if call != EngineCall::Read {
        tracing::debug!(node, "engine write: {method} {path}");
    }
    RUN.engine(call);
}

/// Count one Kubernetes API request (logged at debug level when it writes).
pub fn note_api(method: &http::Method, uri: &http::Uri) {
    let call = classify_api(method, uri.query());
    if call == ApiCall::Write {
        tracing::debug!("API write: {method} {}", uri.path());
    }
    RUN.api(call);
}

/// Count one command run over SSH.
pub fn note_ssh_command() {
    RUN.ssh_command();
}

/// The counts so far.
pub fn counts() -> Counts {
    RUN.counts()
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::http::Method;

    #[test]
    fn engine_reads_writes_and_execs() {
        let cases = [
            (Method::GET, "/v1.41/containers/json", EngineCall::Read),
            (Method::HEAD, "/containers/x/archive", EngineCall::Read),
            (Method::GET, "/version", EngineCall::Read),
            (Method::POST, "/v1.41/containers/create", EngineCall::Write),
            (
                Method::POST,
                "/v1.41/containers/etcd/start",
                EngineCall::Write,
            ),
            (Method::DELETE, "/v1.41/containers/etcd", EngineCall::Write),
            (
                Method::PUT,
                "/v1.41/containers/h/archive",
                EngineCall::Write,
            ),
            (Method::POST, "/v1.41/images/create", EngineCall::Write),
            (
                Method::POST,
                "/v1.41/containers/etcd/exec",
                EngineCall::Exec,
            ),
            (Method::POST, "/v1.41/exec/abc/start", EngineCall::Exec),
            (Method::POST, "/exec/abc/resize", EngineCall::Exec),
            // A container named "exec" is not an exec.
            (
                Method::POST,
                "/v1.41/containers/exec/stop",
                EngineCall::Write,
            ),
        ];
        for (method, path, want) in cases {
            assert_eq!(classify_engine(&method, path), want, "{method} {path}");
        }
    }

    #[test]
    fn api_reads_writes_and_dry_runs() {
        assert_eq!(
            classify_api(&Method::GET, Some("watch=true")),
            ApiCall::Read
        );
        assert_eq!(classify_api(&Method::GET, None), ApiCall::Read);
        assert_eq!(
            classify_api(&Method::PATCH, Some("fieldManager=rke&force=true")),
            ApiCall::Write
        );
        assert_eq!(classify_api(&Method::POST, None), ApiCall::Write);
        assert_eq!(classify_api(&Method::DELETE, None), ApiCall::Write);
        assert_eq!(
            classify_api(&Method::PATCH, Some("dryRun=All&fieldManager=rke")),
            ApiCall::DryRun
        );
    }

    #[test]
    fn a_counter_adds_each_kind_apart() {
        let c = Counter::new();
        assert_eq!(c.counts(), Counts::default());
        c.engine(EngineCall::Read);
        c.engine(EngineCall::Write);
        c.engine(EngineCall::Write);
        c.engine(EngineCall::Exec);
        c.api(ApiCall::Read);
        c.api(ApiCall::Write);
        c.api(ApiCall::DryRun);
        c.ssh_command();
        c.ssh_command();
        c.ssh_command();
        assert_eq!(
            c.counts(),
            Counts {
                engine: 2,
                engine_execs: 1,
                api: 1,
                api_dry_run: 1,
                ssh_commands: 3,
            }
        );
        let json = serde_json::to_value(c.counts()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"engine": 2, "engine_execs": 1, "api": 1, "api_dry_run": 1,
                               "ssh_commands": 3})
        );
    }
}
