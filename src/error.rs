//! Error classes and the process exit codes they map to.
//!
//! Exit codes are a public, stable contract for CI pipelines: never renumber them.

use std::fmt;

/// What kind of failure ended a command. Each maps to one stable exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Anything not classified below.
    General,
    /// `cluster.yml` (or a flag) is invalid.
    Config,
    /// The state file or certificates are unreadable, corrupt or inconsistent.
    State,
    /// SSH or other connection failure to a node.
    Connection,
    /// A Docker engine call on a node failed.
    Docker,
    /// A component did not become healthy before its deadline.
    HealthTimeout,
    /// An etcd membership or health operation failed.
    Etcd,
    /// A Kubernetes API call failed.
    KubernetesApi,
    /// Snapshot save/restore failed.
    Snapshot,
    /// The user declined a confirmation prompt.
    UserAbort,
}

impl ErrorKind {
    /// Every class, in the order declared.
    pub const ALL: [ErrorKind; 10] = [
        ErrorKind::General,
        ErrorKind::Config,
        ErrorKind::State,
        ErrorKind::Connection,
        ErrorKind::Docker,
        ErrorKind::HealthTimeout,
        ErrorKind::Etcd,
        ErrorKind::KubernetesApi,
        ErrorKind::Snapshot,
        ErrorKind::UserAbort,
    ];

    /// The process exit code for this class. `2` is reserved for "`--dry-run` found pending changes".
    pub fn exit_code(self) -> i32 {
        match self {
            ErrorKind::General => 1,
            ErrorKind::Config => 3,
            ErrorKind::Connection => 4,
            ErrorKind::Docker => 5,
            ErrorKind::HealthTimeout => 6,
            ErrorKind::Etcd => 7,
            ErrorKind::KubernetesApi => 8,
            ErrorKind::Snapshot => 9,
            ErrorKind::UserAbort => 10,
            ErrorKind::State => 11,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::General => "error",
            ErrorKind::Config => "config",
            ErrorKind::State => "state",
            ErrorKind::Connection => "connection",
            ErrorKind::Docker => "docker",
            ErrorKind::HealthTimeout => "health-timeout",
            ErrorKind::Etcd => "etcd",
            ErrorKind::KubernetesApi => "kubernetes-api",
            ErrorKind::Snapshot => "snapshot",
            ErrorKind::UserAbort => "user-abort",
        }
    }
}

/// Exit code for a successful `--dry-run` that found pending changes.
pub const EXIT_CHANGES_PENDING: i32 = 2;

/// An error tagged with its class. Attach with [`Classify::kind`]; `main` finds it anywhere in the
/// error chain to choose the exit code.
#[derive(Debug)]
pub struct Classified {
    pub kind: ErrorKind,
    pub message: String,
}

impl fmt::Display for Classified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Classified {}

/// Build a classified error with a message.
pub fn classified(kind: ErrorKind, message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Classified {
        kind,
        message: message.into(),
    })
}

/// Extension to tag any error result with an [`ErrorKind`], keeping its message chain.
pub trait Classify<T> {
    fn kind(self, kind: ErrorKind) -> anyhow::Result<T>;
}

impl<T, E: Into<anyhow::Error>> Classify<T> for Result<T, E> {
    fn kind(self, kind: ErrorKind) -> anyhow::Result<T> {
        self.map_err(|e| {
            let e: anyhow::Error = e.into();
            if kind_of(&e) != ErrorKind::General {
                return e;
            }
            classified(kind, display_chain(&e))
        })
    }
}

/// The class of an error: the first [`Classified`] found in its chain.
pub fn kind_of(err: &anyhow::Error) -> ErrorKind {
    for cause in err.chain() {
        if let Some(c) = cause.downcast_ref::<Classified>() {
            return c.kind;
        }
    }
    ErrorKind::General
}

/// The error's messages joined as "outer: inner: root".
pub fn display_chain(err: &anyhow::Error) -> String {
    err.chain()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_survives_context() {
        let r: Result<(), std::io::Error> = Err(std::io::Error::other("boom"));
        let e = r
            .kind(ErrorKind::State)
            .unwrap_err()
            .context("reading state");
        assert_eq!(kind_of(&e), ErrorKind::State);
        assert_eq!(display_chain(&e), "reading state: boom");
    }

    #[test]
    fn classified_is_found_in_chain() {
        let e = classified(ErrorKind::Config, "bad key").context("loading cluster.yml");
        assert_eq!(kind_of(&e), ErrorKind::Config);
        assert_eq!(e.to_string(), "loading cluster.yml");
    }

    #[test]
    fn exit_codes_are_distinct() {
        use std::collections::HashSet;
        let all = ErrorKind::ALL;
        let codes: HashSet<i32> = all.iter().map(|k| k.exit_code()).collect();
        assert_eq!(codes.len(), all.len());
        assert!(!codes.contains(&0) && !codes.contains(&EXIT_CHANGES_PENDING));
    }
}
