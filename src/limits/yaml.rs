//! YAML alias bombs ("billion laughs"): a few hundred bytes whose aliases expand to gigabytes
//! once deserialized. serde-saphyr 2.1's default budget does stop them, but only after building
//! up to 250 000 nodes or 64 MiB of copied text, and with a message that does not say aliases
//! are the cause ("budget breached: Nodes { nodes: 250001 }"). [`check_aliases`] measures the
//! expansion on the parser's events, before anything is deserialized, refuses a text whose
//! aliases add more than [`MAX_ALIAS_EXPANSION`] with the line of the alias that crossed it, and
//! does not depend on a dependency's defaults.

use serde_saphyr::granit_parser::{Event, Parser};
use std::collections::HashMap;

/// What aliases may add to a YAML text, in bytes of scalar text plus [`NODE_COST`] per node.
/// Anchors in real configs (shared node settings, repeated labels) add a few KiB.
pub const MAX_ALIAS_EXPANSION: u64 = 16 << 20;

/// A collection or scalar costs at least this much memory once deserialized, however short.
const NODE_COST: u64 = 16;

/// A YAML text whose aliases expand too far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AliasBomb {
    /// 1-based line and column of the alias that crossed the limit.
    pub line: usize,
    pub column: usize,
    pub limit: u64,
}

impl std::fmt::Display for AliasBomb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "YAML aliases expand to more than {} MiB (an alias bomb?): refused",
            self.limit >> 20
        )
    }
}

/// `Err` when the aliases of `text` expand past [`MAX_ALIAS_EXPANSION`]. Syntax errors are
/// left to the real parser, which reports them with a position.
pub fn check_aliases(text: &str) -> Result<(), AliasBomb> {
    check_with_limit(text, MAX_ALIAS_EXPANSION)
}

fn check_with_limit(text: &str, limit: u64) -> Result<(), AliasBomb> {
    // Expanded size of every anchor seen so far, by the parser's anchor id.
    let mut anchors: HashMap<usize, u64> = HashMap::new();
    // Open collections: their anchor id (0 = none) and expanded size so far.
    let mut open: Vec<(usize, u64)> = Vec::new();
    let mut added: u64 = 0;
    for item in Parser::new_from_str(text) {
        let Ok((event, span)) = item else {
            return Ok(());
        };
        let (node_anchor, size) = match event {
            Event::Scalar(value, _, anchor, _) => (anchor, NODE_COST + value.len() as u64),
            Event::Alias(id) => {
                let size = anchors.get(&id).copied().unwrap_or(NODE_COST);
                added = added.saturating_add(size);
                if added > limit {
                    return Err(AliasBomb {
                        line: span.start.line(),
                        column: span.start.col() + 1,
                        limit,
                    });
                }
                (0, size)
            }
            Event::SequenceStart(_, anchor, _) | Event::MappingStart(_, anchor, _) => {
                open.push((anchor, NODE_COST));
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => match open.pop() {
                Some((anchor, size)) => (anchor, size),
                None => continue,
            },
            Event::DocumentStart(..) => {
                // Aliases refer only to anchors of their own document.
                anchors.clear();
                continue;
            }
            _ => continue,
        };
        if node_anchor != 0 {
            anchors.insert(node_anchor, size);
        }
        if let Some((_, parent)) = open.last_mut() {
            *parent = parent.saturating_add(size);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The classic: nine levels of ten aliases each, 10^9 strings from ~800 bytes.
    fn billion_laughs() -> String {
        let mut text = String::from(
            "a0: &a0 [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
        );
        for level in 1..=9 {
            let prev = format!("*a{}", level - 1);
            let items = vec![prev; 10].join(",");
            text.push_str(&format!("a{level}: &a{level} [{items}]\n"));
        }
        text
    }

    #[test]
    fn billion_laughs_is_refused() {
        let err = check_aliases(&billion_laughs()).unwrap_err();
        assert!(err.to_string().contains("alias bomb"), "{err}");
        assert!(err.line >= 3, "{err:?}");
    }

    #[test]
    fn one_large_scalar_aliased_many_times_is_refused() {
        // Few alias events, but 100 MiB of copied text.
        let big = "x".repeat(1 << 20);
        let aliases = vec!["*big"; 100].join(", ");
        let text = format!("big: &big {big}\nmany: [{aliases}]\n");
        assert!(check_aliases(&text).is_err());
    }

    #[test]
    fn ordinary_anchors_pass() {
        let text = "defaults: &d\n  user: rke\n  port: 22\nnodes:\n- <<: *d\n  address: a\n- <<: *d\n  address: b\n";
        assert_eq!(check_aliases(text), Ok(()));
        // Anchors are per document: the same name in the next document starts afresh.
        let docs = "a: &x [1, 2]\nb: *x\n---\na: &x 1\nb: *x\n";
        assert_eq!(check_aliases(docs), Ok(()));
        // Unparseable text is the real parser's to report.
        assert_eq!(check_aliases("a: [1, 2\n"), Ok(()));
    }

    #[test]
    fn the_limit_counts_nested_expansion() {
        // Each level doubles: 2^k copies of a 1 KiB scalar.
        let mut text = format!("l0: &l0 {}\n", "y".repeat(1024));
        for k in 1..=12 {
            text.push_str(&format!("l{k}: &l{k} [*l{p}, *l{p}]\n", p = k - 1));
        }
        // 2^12 × 1 KiB ≈ 4 MiB at the last level, ~8 MiB over all levels.
        assert!(check_with_limit(&text, 16 << 20).is_ok());
        assert!(check_with_limit(&text, 4 << 20).is_err());
    }
}
