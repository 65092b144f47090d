//! Where a value sits in a JSON document, kept as segments rather than a dotted string, so a
//! key can be put back at the same place even when a map key on the way contains a dot.

use std::fmt;

/// A path from the document's root: object keys and array indices.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JsonPath(Vec<Seg>);

/// One step of a [`JsonPath`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    /// Element `index` of an array that had `len` elements when it was read (an array of a
    /// different length later may hold other items at the same index).
    Index {
        index: usize,
        len: usize,
    },
}

impl JsonPath {
    /// This path, one object key further down.
    pub fn key(&self, key: &str) -> JsonPath {
        let mut segs = self.0.clone();
        segs.push(Seg::Key(key.to_string()));
        JsonPath(segs)
    }

    /// This path, one array element further down.
    pub fn index(&self, index: usize, len: usize) -> JsonPath {
        let mut segs = self.0.clone();
        segs.push(Seg::Index { index, len });
        JsonPath(segs)
    }

    /// `prefix` (object keys) followed by this path.
    pub fn under(&self, prefix: &[&str]) -> JsonPath {
        let mut segs: Vec<Seg> = prefix.iter().map(|k| Seg::Key(k.to_string())).collect();
        segs.extend(self.0.iter().cloned());
        JsonPath(segs)
    }

    pub fn segments(&self) -> &[Seg] {
        &self.0
    }
}

/// `services.kubeApi.foo`, `nodes[2].bar`.
impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Key(k) if i == 0 => write!(f, "{k}")?,
                Seg::Key(k) => write!(f, ".{k}")?,
                Seg::Index { index, .. } => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_as_dotted_keys_and_indices() {
        let p = JsonPath::default().key("nodes").index(2, 3).key("foo.bar");
        assert_eq!(p.to_string(), "nodes[2].foo.bar");
        assert_eq!(
            p.under(&["desiredState", "rkeConfig"]).to_string(),
            "desiredState.rkeConfig.nodes[2].foo.bar"
        );
        assert_eq!(p.segments()[2], Seg::Key("foo.bar".into()));
    }
}
