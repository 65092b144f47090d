//! What validation reports: a list of problems, each tied to a path in `cluster.yml`.

use std::fmt;

use serde::Serialize;

use crate::config::locate::SourceMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The cluster cannot be deployed with this config.
    Error,
    /// Deployable, but probably not what the user wants.
    Warning,
}

/// One finding, located by its YAML path (`nodes[2].hostname_override`) and, once
/// [`fill_positions`] ran, by line and column (1-based).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub severity: Severity,
    pub path: String,
    pub message: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
}

impl Problem {
    pub fn error(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(Severity::Error, path, message)
    }

    pub fn warning(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(Severity::Warning, path, message)
    }

    fn new(severity: Severity, path: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            severity,
            path: path.into(),
            message: message.into(),
            line: None,
            column: None,
        }
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// `line 5, column 7: error: nodes[1].hostname_override: <message>`
impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "line {l}, column {c}: ")?,
            (Some(l), None) => write!(f, "line {l}: ")?,
            _ => {}
        }
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{severity}: {}: {}", self.path, self.message)
    }
}

/// Fill `line`/`column` of every problem from its path in `source_yaml` (see
/// [`crate::config::locate`]); a path not found there leaves the problem without a position.
pub fn fill_positions(problems: &mut [Problem], source_yaml: &str) {
    let map = SourceMap::new(source_yaml);
    for problem in problems {
        if let Some(pos) = map.position(&problem.path) {
            problem.line = Some(pos.line);
            problem.column = Some(pos.column);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_positions_from_the_source() {
        let source = "nodes:\n  - address: 10.0.0.1\n    hostname_override: Bad_Name\n";
        let mut problems = vec![
            Problem::error("nodes[0].hostname_override", "bad"),
            Problem::error("ingress.provider", "absent"),
        ];
        fill_positions(&mut problems, source);
        assert_eq!((problems[0].line, problems[0].column), (Some(3), Some(5)));
        assert_eq!((problems[1].line, problems[1].column), (None, None));
    }

    #[test]
    fn displays_position_severity_path() {
        let mut p = Problem::error("nodes[1].user", "user is required");
        assert_eq!(p.to_string(), "error: nodes[1].user: user is required");
        p.line = Some(5);
        p.column = Some(7);
        assert_eq!(
            p.to_string(),
            "line 5, column 7: error: nodes[1].user: user is required"
        );
    }

    #[test]
    fn serializes_to_json() {
        let p = Problem::warning("services.etcd", "even");
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(v["severity"], "warning");
        assert_eq!(v["path"], "services.etcd");
        assert_eq!(v["line"], serde_json::Value::Null);
    }
}
