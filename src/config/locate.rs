//! Map a problem path (`nodes[2].hostname_override`) back to the line and column where that key
//! sits in the user's `cluster.yml`.
//!
//! Semantic checks run on the typed config, which has no positions. Rather than threading spans
//! through every type, we re-parse the source text into a small position tree and walk it by path.
//! When the path's last keys are absent (a missing value), the deepest key that does exist is
//! reported, so the user is pointed at the right block. Paths are [`super::path`]'s.

use serde_saphyr::granit_parser::{Event, Parser, Span};

use super::path::{Segment, parse_path};

/// A 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

impl Position {
    fn of(span: &Span) -> Self {
        Position {
            line: span.start.line(),
            column: span.start.col() + 1,
        }
    }
}

/// A YAML node with the position of its first character.
#[derive(Debug)]
struct Node {
    at: Position,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    /// Entries keep the key's own position: errors point at `key:`, not at the value.
    Map(Vec<(String, Position, Node)>),
    Seq(Vec<Node>),
    Leaf,
}

/// The first document of a YAML text, as a position tree.
pub struct SourceMap {
    root: Option<Node>,
}

impl SourceMap {
    /// Parse `source`. Unparseable YAML gives an empty map (every lookup answers `None`): the
    /// syntax error itself is reported by the strict parser, with its own position.
    pub fn new(source: &str) -> Self {
        let mut events = Parser::new_from_str(source);
        let mut root = None;
        while let Some(Ok((ev, span))) = events.next() {
            match ev {
                Event::StreamStart
                | Event::DocumentStart(..)
                | Event::Comment(..)
                | Event::Anchor(..) => continue,
                Event::Scalar(..)
                | Event::Alias(_)
                | Event::SequenceStart(..)
                | Event::MappingStart(..) => {
                    root = build(ev, span, &mut events);
                    break;
                }
                _ => break,
            }
        }
        SourceMap { root }
    }

    /// Position of the node at `path`, or of its deepest existing ancestor.
    /// `None` when not even the first segment exists (or the path is malformed).
    pub fn position(&self, path: &str) -> Option<Position> {
        let segments = parse_path(path)?;
        let mut node = self.root.as_ref()?;
        let mut found = None;
        for seg in &segments {
            let next = match (&node.kind, seg) {
                (Kind::Map(entries), Segment::Key(k)) => entries
                    .iter()
                    .find(|(name, _, _)| name == k)
                    .map(|(_, key_at, value)| (*key_at, value)),
                (Kind::Seq(items), Segment::Index(i)) => items.get(*i).map(|v| (v.at, v)),
                _ => None,
            };
            match next {
                Some((at, child)) => {
                    found = Some(at);
                    node = child;
                }
                None => break,
            }
        }
        found
    }
}

type EventResult<'a> = Result<(Event<'a>, Span), serde_saphyr::granit_parser::ScanError>;

/// Build the node that starts with `first`, consuming its events. `None` on a parse error or
/// truncated stream.
fn build<'a>(
    first: Event<'a>,
    span: Span,
    events: &mut impl Iterator<Item = EventResult<'a>>,
) -> Option<Node> {
    let at = Position::of(&span);
    match first {
        Event::MappingStart(..) => {
            let mut entries = Vec::new();
            loop {
                let (ev, key_span) = next_node_event(events)?;
                if matches!(ev, Event::MappingEnd) {
                    break;
                }
                // Non-scalar keys are legal YAML but never valid in cluster.yml; keep them
                // (so the value events are consumed) under a name no path can match.
                let key = match &ev {
                    Event::Scalar(text, ..) => text.to_string(),
                    _ => String::from("\u{0}complex-key"),
                };
                let key_node = build(ev, key_span, events)?;
                let (vev, vspan) = next_node_event(events)?;
                let value = build(vev, vspan, events)?;
                entries.push((key, key_node.at, value));
            }
            Some(Node {
                at,
                kind: Kind::Map(entries),
            })
        }
        Event::SequenceStart(..) => {
            let mut items = Vec::new();
            loop {
                let (ev, item_span) = next_node_event(events)?;
                if matches!(ev, Event::SequenceEnd) {
                    break;
                }
                items.push(build(ev, item_span, events)?);
            }
            Some(Node {
                at,
                kind: Kind::Seq(items),
            })
        }
        Event::Scalar(..) | Event::Alias(_) | Event::UnresolvedAlias(_) => Some(Node {
            at,
            kind: Kind::Leaf,
        }),
        _ => None,
    }
}

/// The next event that is part of the node structure (comments and anchor metadata skipped).
fn next_node_event<'a>(
    events: &mut impl Iterator<Item = EventResult<'a>>,
) -> Option<(Event<'a>, Span)> {
    loop {
        let (ev, span) = events.next()?.ok()?;
        match ev {
            Event::Comment(..) | Event::Anchor(..) => continue,
            _ => return Some((ev, span)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::path::child;

    fn pos(src: &str, path: &str) -> Option<(usize, usize)> {
        SourceMap::new(src)
            .position(path)
            .map(|p| (p.line, p.column))
    }

    const CLUSTER: &str = "\
# cluster.yml
nodes:
  - address: 10.0.0.1
    user: ubuntu
    role: [etcd, worker]   # flow style
  -   address: 10.0.0.2
      user: rke
      role:
      - controlplane
      hostname_override: Bad_Name
      labels:
        node-role.kubernetes.io/edge: \"true\"
services:
    kube-api:
        service_cluster_ip_range: 10.43.0.0/16
    kubelet:
        extra_args:
            banner: |
                line one
                line two
        cluster_dns_server: 10.43.0.10
network: {plugin: weave, mtu: 1400}
";

    #[test]
    fn finds_keys_at_any_indentation() {
        assert_eq!(pos(CLUSTER, "nodes"), Some((2, 1)));
        assert_eq!(pos(CLUSTER, "nodes[0].user"), Some((4, 5)));
        assert_eq!(pos(CLUSTER, "nodes[1].hostname_override"), Some((10, 7)));
        assert_eq!(
            pos(CLUSTER, "services.kube-api.service_cluster_ip_range"),
            Some((15, 9))
        );
    }

    #[test]
    fn flow_sequences_and_maps() {
        assert_eq!(pos(CLUSTER, "nodes[0].role[1]"), Some((5, 18)));
        assert_eq!(pos(CLUSTER, "network.plugin"), Some((22, 11)));
        assert_eq!(pos(CLUSTER, "network.mtu"), Some((22, 26)));
    }

    #[test]
    fn block_sequence_items() {
        assert_eq!(pos(CLUSTER, "nodes[1].role[0]"), Some((9, 9)));
        assert_eq!(pos(CLUSTER, "nodes[1]"), Some((6, 7)));
    }

    #[test]
    fn multi_line_strings_do_not_shift_later_keys() {
        assert_eq!(
            pos(CLUSTER, "services.kubelet.cluster_dns_server"),
            Some((21, 9))
        );
        assert_eq!(
            pos(CLUSTER, "services.kubelet.extra_args.banner"),
            Some((18, 13))
        );
    }

    #[test]
    fn quoted_keys_with_dots() {
        let p = child("nodes[1].labels", "node-role.kubernetes.io/edge");
        assert_eq!(p, "nodes[1].labels[\"node-role.kubernetes.io/edge\"]");
        assert_eq!(pos(CLUSTER, &p), Some((12, 9)));
    }

    #[test]
    fn missing_key_falls_back_to_deepest_ancestor() {
        assert_eq!(pos(CLUSTER, "nodes[0].hostname_override"), Some((3, 5)));
        assert_eq!(
            pos(
                CLUSTER,
                "services.kube-api.secrets_encryption_config.enabled"
            ),
            Some((14, 5))
        );
        assert_eq!(pos(CLUSTER, "nodes[7].user"), Some((2, 1)));
        assert_eq!(pos(CLUSTER, "ingress.provider"), None);
    }

    #[test]
    fn document_marker_quoted_keys_folded_strings() {
        let src = "\
---
\"nodes\":
- 'address': 10.0.0.1
  ssh_key: >
    folded text
    over lines

  user: ubuntu
...
";
        assert_eq!(pos(src, "nodes"), Some((2, 1)));
        assert_eq!(pos(src, "nodes[0].address"), Some((3, 3)));
        assert_eq!(pos(src, "nodes[0].user"), Some((8, 3)));
    }

    #[test]
    fn anchors_and_aliases_keep_their_own_positions() {
        let src = "\
base: &base
  user: ubuntu
nodes:
  - <<: *base
    address: 10.0.0.1
  - &second {address: 10.0.0.2, user: rke}
";
        assert_eq!(pos(src, "base.user"), Some((2, 3)));
        assert_eq!(pos(src, "nodes[0].address"), Some((5, 5)));
        // Keys merged in through an alias are reported at the merge key's node.
        assert_eq!(pos(src, "nodes[0].user"), Some((4, 5)));
        assert_eq!(pos(src, "nodes[1].user"), Some((6, 33)));
    }

    #[test]
    fn broken_yaml_gives_no_positions() {
        assert_eq!(pos("nodes: [a, b\n", "nodes"), None);
        assert_eq!(pos("", "nodes"), None);
    }
}
