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
    /// Another `rke` run holds the cluster lock on the nodes.
    Locked,
    /// SIGINT or SIGTERM stopped the run between two steps (exit code 128 + the signal, see
    /// [`crate::interrupt`]).
    Interrupted,
}

impl ErrorKind {
    /// Every class, in the order declared.
    pub const ALL: [ErrorKind; 12] = [
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
        ErrorKind::Locked,
        ErrorKind::Interrupted,
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
            ErrorKind::Locked => 12,
            // SIGINT's; a run stopped by SIGTERM exits 143 ([`crate::interrupt::exit_code`]).
            ErrorKind::Interrupted => 130,
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
            ErrorKind::Locked => "locked",
            ErrorKind::Interrupted => "interrupted",
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
    what: What,
}

#[derive(Debug)]
enum What {
    /// A failure described here, with no cause behind it.
    Message(String),
    /// An error classified after the fact. It stands in for that error's outermost link and
    /// passes the rest of its chain on as its source, so `{:#}`, `chain()` and `downcast_ref`
    /// see the causes themselves, and the printed chain reads as it did before classification.
    Error(anyhow::Error),
}

impl fmt::Display for Classified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.what {
            What::Message(message) => f.write_str(message),
            // `{}`, not `{:#}`: this link's own message; the causes follow as the source.
            What::Error(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for Classified {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.what {
            What::Message(_) => None,
            What::Error(e) => e.source(),
        }
    }
}

/// Build a classified error with a message.
pub fn classified(kind: ErrorKind, message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Classified {
        kind,
        what: What::Message(message.into()),
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
            anyhow::Error::new(Classified {
                kind,
                what: What::Error(e),
            })
        })
    }
}

/// The class of an error: the first [`Classified`] found in its chain.
pub fn kind_of(err: &anyhow::Error) -> ErrorKind {
    for cause in err.chain() {
        if let Some(c) = cause.downcast_ref::<Classified>() {
            return c.kind;
        }
        if cause.is::<crate::interrupt::Interrupted>() {
            return ErrorKind::Interrupted;
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
    fn kind_keeps_the_causes_as_the_source() {
        let io = std::io::Error::other("disk gone");
        let r: anyhow::Result<()> = Err(anyhow::Error::new(io).context("writing state"));
        let e = r.kind(ErrorKind::State).unwrap_err();
        assert_eq!(kind_of(&e), ErrorKind::State);
        // Printed exactly as before: outer message, then the causes.
        assert_eq!(e.to_string(), "writing state");
        assert_eq!(format!("{e:#}"), "writing state: disk gone");
        assert_eq!(display_chain(&e), "writing state: disk gone");
        // The cause is the real error, not a copy of its text.
        let causes: Vec<_> = e.chain().skip(1).collect();
        assert_eq!(causes.len(), 1);
        assert!(causes[0].downcast_ref::<std::io::Error>().is_some());
        // Classifying again keeps the first class and the chain.
        let again = Err::<(), _>(e).kind(ErrorKind::Docker).unwrap_err();
        assert_eq!(kind_of(&again), ErrorKind::State);
        assert_eq!(display_chain(&again), "writing state: disk gone");
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
