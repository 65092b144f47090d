//! Object keys: `<folder>/<name>` as rke-tools writes them.

use crate::error::{ErrorKind, classified};

/// The key for snapshot file `name` under `folder` (leading/trailing `/` of the folder ignored;
/// an empty folder means the bucket root). The name must be a single path segment.
pub fn object_key(folder: &str, name: &str) -> anyhow::Result<String> {
    if name.is_empty()
        || name == "."
        || name == ".."
        || name.contains('/')
        || name.chars().any(|c| c.is_control())
    {
        return Err(classified(
            ErrorKind::Snapshot,
            format!(
                "invalid snapshot object name '{}': it must be one path segment",
                name.escape_debug()
            ),
        ));
    }
    let folder = folder.trim().trim_matches('/');
    Ok(if folder.is_empty() {
        name.to_string()
    } else {
        format!("{folder}/{name}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_forms() {
        let n = "2018-05-04T18:40:16Z_etcd.zip";
        assert_eq!(object_key("", n).unwrap(), n);
        assert_eq!(object_key("backups", n).unwrap(), format!("backups/{n}"));
        assert_eq!(object_key("/a/b/", n).unwrap(), format!("a/b/{n}"));
    }

    #[test]
    fn rejects_names_that_are_not_one_segment() {
        for bad in ["", "a/b", "..", ".", "x\ny"] {
            assert!(object_key("f", bad).is_err(), "{bad:?}");
        }
    }
}
