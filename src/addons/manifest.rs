//! Multi-document YAML manifests to API objects, with errors that name the addon, the
//! document and the line, and the identity (`ObjectRef`) of each object.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{ErrorKind, classified};

/// What identifies an object in the cluster. The version is kept for deletion, but two refs
/// name the same object whatever their version (`same_object`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ObjectRef {
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    pub kind: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    pub name: String,
}

impl ObjectRef {
    /// The identity of a parsed object (namespace as written; empty when not given).
    pub fn of(object: &Value) -> ObjectRef {
        let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_string();
        let meta = object.get("metadata");
        ObjectRef {
            api_version: text(object.get("apiVersion")),
            kind: text(object.get("kind")),
            namespace: text(meta.and_then(|m| m.get("namespace"))),
            name: text(meta.and_then(|m| m.get("name"))),
        }
    }

    /// The API group: empty for the core group (`v1`).
    pub fn group(&self) -> &str {
        self.api_version
            .rsplit_once('/')
            .map(|(g, _)| g)
            .unwrap_or("")
    }

    /// Same group, kind, namespace and name: the same object under any API version. A
    /// namespaced object written without a namespace lands in `default`; a kind is either
    /// namespaced or not, so "" and "default" can be taken as equal.
    pub fn same_object(&self, other: &ObjectRef) -> bool {
        let ns = |r: &ObjectRef| {
            if r.namespace.is_empty() {
                "default".to_string()
            } else {
                r.namespace.clone()
            }
        };
        self.group() == other.group()
            && self.kind == other.kind
            && ns(self) == ns(other)
            && self.name == other.name
    }
}

impl std::fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{} {}", self.kind, self.name)
        } else {
            write!(f, "{} {}/{}", self.kind, self.namespace, self.name)
        }
    }
}

/// One `---`-separated document of a stream: its 1-based index, first line, and text.
struct Document<'a> {
    index: usize,
    first_line: usize,
    text: &'a str,
}

/// Split on `---` lines (a separator may carry a comment or a flow value after it, which
/// YAML allows; only the plain marker is handled here, as kubectl's reader does).
fn split_documents(text: &str) -> Vec<Document<'_>> {
    let mut docs = Vec::new();
    let mut start = 0usize;
    let mut first_line = 1usize;
    let mut offset = 0usize;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let trimmed = line.trim_end();
        if trimmed == "---" || trimmed.starts_with("--- ") || trimmed.starts_with("---\t") {
            docs.push(Document {
                index: docs.len() + 1,
                first_line,
                text: &text[start..offset],
            });
            start = offset + line.len();
            first_line = i + 2;
        }
        offset += line.len();
    }
    docs.push(Document {
        index: docs.len() + 1,
        first_line,
        text: &text[start..],
    });
    docs
}

/// Parse the manifests of `addon` (`source` says where they come from, for errors): every
/// non-empty document must be a mapping with `apiVersion`, `kind` and `metadata.name`.
/// `kind: List` documents are expanded into their items, as kubectl does.
pub fn parse_documents(addon: &str, source: &str, text: &str) -> anyhow::Result<Vec<Value>> {
    let mut objects = Vec::new();
    for doc in split_documents(text) {
        let where_ = |line: Option<usize>| match line {
            Some(l) => format!("{addon}: {source}: document {} (line {l})", doc.index),
            None => format!(
                "{addon}: {source}: document {} (from line {})",
                doc.index, doc.first_line
            ),
        };
        if let Err(bomb) = crate::limits::yaml::check_aliases(doc.text) {
            let line = doc.first_line + bomb.line - 1;
            return Err(classified(
                ErrorKind::Config,
                format!("{}: {bomb}", where_(Some(line))),
            ));
        }
        let value: Option<Value> = serde_saphyr::from_str(doc.text).map_err(|e| {
            let line = e.location().map(|l| doc.first_line + l.line() as usize - 1);
            let message = e.to_string();
            let message = message.lines().next().unwrap_or_default().to_string();
            classified(
                ErrorKind::Config,
                format!("{}: invalid YAML: {message}", where_(line)),
            )
        })?;
        let Some(value) = value else { continue };
        let items = match value.get("kind").and_then(Value::as_str) {
            Some("List") => value
                .get("items")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
            _ => vec![value],
        };
        for item in items {
            check_object(&item).map_err(|what| {
                classified(
                    ErrorKind::Config,
                    format!("{}: {what}", where_(Some(doc.first_line))),
                )
            })?;
            objects.push(item);
        }
    }
    Ok(objects)
}

/// What a manifest object lacks to be applied, if anything.
fn check_object(object: &Value) -> Result<(), String> {
    if !object.is_object() {
        return Err("not a mapping (an API object needs apiVersion, kind, metadata)".into());
    }
    let has = |v: Option<&Value>| v.and_then(Value::as_str).is_some_and(|s| !s.is_empty());
    for (field, value) in [
        ("apiVersion", object.get("apiVersion")),
        ("kind", object.get("kind")),
        (
            "metadata.name",
            object.get("metadata").and_then(|m| m.get("name")),
        ),
    ] {
        if !has(value) {
            return Err(format!("missing {field}"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_documents_and_skips_empty_ones() {
        let text = "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n# only a comment\n---\napiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Secret, metadata: {name: b, namespace: x}}\n";
        let objects = parse_documents("rke-user-addon", "addons", text).unwrap();
        let refs: Vec<String> = objects
            .iter()
            .map(|o| ObjectRef::of(o).to_string())
            .collect();
        assert_eq!(refs, ["ConfigMap a", "Secret x/b"]);
    }

    #[test]
    fn bad_yaml_names_addon_document_and_absolute_line() {
        let text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [unclosed\n";
        let err = parse_documents("rke-user-addon", "addons", text).unwrap_err();
        let msg = format!("{err:#}");
        assert!(
            msg.contains("rke-user-addon: addons: document 2 (line"),
            "{msg}"
        );
        let line: usize = msg
            .split("(line ")
            .nth(1)
            .and_then(|s| s.split(')').next())
            .and_then(|s| s.parse().ok())
            .unwrap();
        assert!((8..=9).contains(&line), "line {line} in {msg}");
        assert!(msg.contains("invalid YAML"), "{msg}");
    }

    #[test]
    fn alias_bomb_is_refused_naming_document_and_line() {
        let mut bomb = String::from(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\ndata:\n  a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n",
        );
        for level in 1..=9 {
            let items = vec![format!("*a{}", level - 1); 10].join(", ");
            bomb.push_str(&format!("  a{level}: &a{level} [{items}]\n"));
        }
        let text = format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: a}}\n---\n{bomb}");
        let err = parse_documents("rke-user-addon", "addons", &text).unwrap_err();
        let msg = format!("{err:#}");
        assert!(
            msg.starts_with("rke-user-addon: addons: document 2 (line "),
            "{msg}"
        );
        assert!(msg.contains("alias bomb"), "{msg}");
    }

    #[test]
    fn missing_fields_are_named() {
        let err = parse_documents(
            "rke-user-includes-addons",
            "extra.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n",
        )
        .unwrap_err();
        assert_eq!(
            format!("{err:#}"),
            "rke-user-includes-addons: extra.yaml: document 1 (line 1): missing metadata.name"
        );
        let err = parse_documents("a", "s", "---\n- 1\n- 2\n").unwrap_err();
        assert!(format!("{err:#}").contains("not a mapping"), "{err:#}");
    }

    #[test]
    fn same_object_ignores_the_version() {
        let a = ObjectRef {
            api_version: "apps/v1".into(),
            kind: "Deployment".into(),
            namespace: "x".into(),
            name: "d".into(),
        };
        let b = ObjectRef {
            api_version: "apps/v1beta2".into(),
            ..a.clone()
        };
        assert!(a.same_object(&b));
        let c = ObjectRef {
            api_version: "v1".into(),
            ..a.clone()
        };
        assert_eq!(c.group(), "");
        assert!(!a.same_object(&c));
    }
}
