//! Keys of `cluster.rkestate` this rke does not model (a newer rke, or a newer RKE1, wrote
//! them). They are kept from load to save, so running an older rke never strips what a newer
//! one recorded.
//!
//! A kept key goes back where it was read: under the same object keys (objects the encoder
//! left out because they are empty are put back), and through an array only while that array
//! has the length it had when read (otherwise its items may have moved). It never overrides a
//! key rke writes itself, and a key of a certificate entry is dropped once that certificate
//! is replaced: what a newer version recorded about the old certificate would be wrong for
//! the new one.

use super::rke1_json::{JsonPath, Seg};
use serde_json::{Map, Value};

/// The kept keys of one object of the state: the whole file, or one of its two sides.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UnknownKeys(Vec<Kept>);

#[derive(Debug, Clone, PartialEq)]
struct Kept {
    /// From the object the key was read from, the key itself last.
    path: JsonPath,
    value: Value,
    /// For a key inside `certificatesBundle.<name>`: that entry's `certificatePEM` as read.
    certificate_pem: Option<String>,
}

const CERTIFICATES_BUNDLE: &str = "certificatesBundle";
const CERTIFICATE_PEM: &str = "certificatePEM";

impl UnknownKeys {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The paths of the kept keys, e.g. `rkeConfig.services.kubeApi.newSetting`.
    pub fn paths(&self) -> impl Iterator<Item = String> + '_ {
        self.0.iter().map(|k| k.path.to_string())
    }

    pub(super) fn keep(&mut self, path: JsonPath, value: Value) {
        self.0.push(Kept {
            path,
            value,
            certificate_pem: None,
        });
    }

    /// Keep a key of the certificate entry `name`, tied to that certificate.
    pub(super) fn keep_for_certificate(
        &mut self,
        name: &str,
        path: &JsonPath,
        value: Value,
        certificate_pem: &str,
    ) {
        self.0.push(Kept {
            path: path.under(&[CERTIFICATES_BUNDLE, name]),
            value,
            certificate_pem: Some(certificate_pem.to_string()),
        });
    }

    /// Put the kept keys back into `doc`, the object they were read from (as re-encoded).
    /// Returns the paths of the keys that had no place any more.
    pub(super) fn restore_into(&self, doc: &mut Value) -> Vec<String> {
        let mut dropped = Vec::new();
        for kept in &self.0 {
            if !(kept.certificate_still_there(doc) && put(doc, kept.path.segments(), &kept.value)) {
                dropped.push(kept.path.to_string());
            }
        }
        dropped
    }
}

impl Kept {
    fn certificate_still_there(&self, doc: &Value) -> bool {
        let Some(pem) = &self.certificate_pem else {
            return true;
        };
        let Some(Seg::Key(name)) = self.path.segments().get(1) else {
            return false;
        };
        doc[CERTIFICATES_BUNDLE][name.as_str()][CERTIFICATE_PEM].as_str() == Some(pem.as_str())
    }
}

/// Insert `value` at `segs` (the key last) unless the place is gone or already taken.
fn put(doc: &mut Value, segs: &[Seg], value: &Value) -> bool {
    let Some((Seg::Key(last), parents)) = segs.split_last() else {
        return false;
    };
    if !reachable(doc, parents) {
        return false;
    }
    let mut here = doc;
    for seg in parents {
        here = match (seg, here) {
            (Seg::Key(k), Value::Object(map)) => map
                .entry(k.clone())
                .or_insert_with(|| Value::Object(Map::new())),
            (Seg::Index { index, .. }, Value::Array(items)) => &mut items[*index],
            _ => return false,
        };
    }
    match here {
        Value::Object(map) if !map.contains_key(last) => {
            map.insert(last.clone(), value.clone());
            true
        }
        _ => false,
    }
}

/// Whether `put` can walk `parents` in `doc`: every existing step has the right type and
/// arrays their original length; a missing object may be created, except at the top (a
/// section rke no longer writes, like a removed `rkeConfig`) and never above an array step.
fn reachable(doc: &Value, parents: &[Seg]) -> bool {
    let mut here = Some(doc);
    for (depth, seg) in parents.iter().enumerate() {
        here = match (seg, here) {
            (Seg::Key(k), Some(Value::Object(map))) => {
                if depth == 0 && !map.contains_key(k) {
                    return false;
                }
                map.get(k)
            }
            // Created on the way: empty, so only keys follow.
            (Seg::Key(_), None) => None,
            (Seg::Index { index, len }, Some(Value::Array(items))) => {
                if items.len() != *len {
                    return false;
                }
                items.get(*index)
            }
            _ => return false,
        };
    }
    matches!(here, None | Some(Value::Object(_)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn path(segs: &[&str]) -> JsonPath {
        segs.iter().fold(JsonPath::default(), |p, s| p.key(s))
    }

    #[test]
    fn keys_go_back_where_they_were_creating_left_out_objects() {
        let mut kept = UnknownKeys::default();
        kept.keep(path(&["top"]), json!(1));
        kept.keep(
            path(&["rkeConfig", "services", "kubeApi", "new"]),
            json!({"a": [1]}),
        );
        kept.keep(path(&["rkeConfig", "kubernetesVersion"]), json!("ignored"));
        let mut doc = json!({"rkeConfig": {"kubernetesVersion": "v1"}});
        let dropped = kept.restore_into(&mut doc);
        assert_eq!(
            dropped,
            ["rkeConfig.kubernetesVersion"],
            "rke's own key wins"
        );
        assert_eq!(
            doc,
            json!({"rkeConfig": {"kubernetesVersion": "v1",
                                 "services": {"kubeApi": {"new": {"a": [1]}}}},
                   "top": 1})
        );
    }

    #[test]
    fn a_section_rke_no_longer_writes_is_not_recreated() {
        let mut kept = UnknownKeys::default();
        kept.keep(path(&["rkeConfig", "new"]), json!(true));
        let mut doc = json!({"certificatesBundle": {}});
        assert_eq!(kept.restore_into(&mut doc), ["rkeConfig.new"]);
        assert_eq!(doc, json!({"certificatesBundle": {}}));
    }

    #[test]
    fn arrays_must_keep_their_length() {
        let at = |len| {
            let mut kept = UnknownKeys::default();
            kept.keep(
                JsonPath::default().key("nodes").index(1, len).key("new"),
                json!("x"),
            );
            kept
        };
        let mut doc = json!({"nodes": [{"address": "a"}, {"address": "b"}]});
        assert!(at(3).restore_into(&mut doc).len() == 1);
        assert!(at(2).restore_into(&mut doc).is_empty());
        assert_eq!(doc["nodes"][1], json!({"address": "b", "new": "x"}));
    }

    #[test]
    fn certificate_keys_go_with_their_certificate() {
        let mut kept = UnknownKeys::default();
        kept.keep_for_certificate("kube-ca", &path(&["new"]), json!(7), "PEM1");
        let mut same = json!({"certificatesBundle": {"kube-ca": {"certificatePEM": "PEM1"}}});
        assert!(kept.restore_into(&mut same).is_empty());
        assert_eq!(same["certificatesBundle"]["kube-ca"]["new"], 7);
        let mut rotated = json!({"certificatesBundle": {"kube-ca": {"certificatePEM": "PEM2"}}});
        assert_eq!(
            kept.restore_into(&mut rotated),
            ["certificatesBundle.kube-ca.new"]
        );
        assert!(
            rotated["certificatesBundle"]["kube-ca"]
                .get("new")
                .is_none()
        );
    }
}
