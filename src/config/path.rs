//! Paths into `cluster.yml` (`nodes[2].labels["node-role.kubernetes.io/worker"]`): how
//! validation names where a problem is, how [`super::locate`] finds it again in the source, and
//! how the tolerant deserializer records where a parse error happened.
//!
//! Grammar: segments joined by `.`; `[N]` indexes a sequence; `["key"]` quotes a map key with
//! characters other than letters, digits, `-` and `_` (label keys such as
//! `node-role.kubernetes.io/worker`); inside quotes, `\` escapes `"` and `\`.

/// One step of a path: a map key or a sequence index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Key(String),
    Index(usize),
}

/// Path to a map key under `parent` (quoted when the key needs it).
pub fn child(parent: &str, key: &str) -> String {
    let needs_quotes = key.is_empty()
        || !key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    let segment = if needs_quotes {
        let escaped = key.replace('\\', "\\\\").replace('"', "\\\"");
        format!("[\"{escaped}\"]")
    } else {
        key.to_string()
    };
    match (parent.is_empty(), needs_quotes) {
        (true, _) => segment,
        (false, true) => format!("{parent}{segment}"),
        (false, false) => format!("{parent}.{segment}"),
    }
}

/// Path to item `i` of the sequence at `parent`.
pub fn index(parent: &str, i: usize) -> String {
    format!("{parent}[{i}]")
}

/// Split a path into segments. Returns `None` for a malformed path (a bug in the caller, so the
/// problem simply stays without a position).
pub fn parse_path(path: &str) -> Option<Vec<Segment>> {
    let mut out = Vec::new();
    let mut chars = path.chars().peekable();
    let mut key = String::new();
    // Set after `]`: the next char must be `.`, `[` or the end.
    let mut after_bracket = false;
    while let Some(c) = chars.next() {
        match c {
            '.' => {
                if !after_bracket {
                    if key.is_empty() {
                        return None;
                    }
                    out.push(Segment::Key(std::mem::take(&mut key)));
                }
                after_bracket = false;
                // A trailing '.' is malformed.
                chars.peek()?;
            }
            '[' => {
                if !key.is_empty() {
                    out.push(Segment::Key(std::mem::take(&mut key)));
                } else if !after_bracket && !out.is_empty() {
                    return None;
                }
                if chars.peek() == Some(&'"') {
                    chars.next();
                    let mut quoted = String::new();
                    loop {
                        match chars.next()? {
                            '\\' => quoted.push(chars.next()?),
                            '"' => break,
                            other => quoted.push(other),
                        }
                    }
                    if chars.next()? != ']' {
                        return None;
                    }
                    out.push(Segment::Key(quoted));
                } else {
                    let mut digits = String::new();
                    loop {
                        match chars.next()? {
                            ']' => break,
                            d if d.is_ascii_digit() => digits.push(d),
                            _ => return None,
                        }
                    }
                    out.push(Segment::Index(digits.parse().ok()?));
                }
                after_bracket = true;
            }
            other => {
                if after_bracket {
                    return None;
                }
                key.push(other);
            }
        }
    }
    if !key.is_empty() {
        out.push(Segment::Key(key));
    }
    (!out.is_empty()).then_some(out)
}

/// Render a path as `nodes[0].address`; empty for the document root. Keys are not quoted
/// (unlike [`child`]): this is how parse errors have always named where they are.
pub fn dotted(path: &[Segment]) -> String {
    let mut out = String::new();
    for segment in path {
        match segment {
            Segment::Key(key) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Segment::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_round_trip() {
        assert_eq!(
            parse_path("nodes[2].taints[0].key"),
            Some(vec![
                Segment::Key("nodes".into()),
                Segment::Index(2),
                Segment::Key("taints".into()),
                Segment::Index(0),
                Segment::Key("key".into()),
            ])
        );
        let odd = child("x", "a\"b\\c.d");
        assert_eq!(
            parse_path(&odd),
            Some(vec![
                Segment::Key("x".into()),
                Segment::Key("a\"b\\c.d".into())
            ])
        );
        assert_eq!(child("", "nodes"), "nodes");
        assert_eq!(index("nodes", 3), "nodes[3]");
        for bad in ["", "a..b", "a.", "a[x]", "a[1]b", "a[\"x"] {
            assert_eq!(parse_path(bad), None, "{bad}");
        }
    }

    #[test]
    fn dotted_renders_keys_and_indexes() {
        let path = [
            Segment::Key("nodes".into()),
            Segment::Index(2),
            Segment::Key("labels".into()),
        ];
        assert_eq!(dotted(&path), "nodes[2].labels");
        assert_eq!(dotted(&[]), "");
    }
}
