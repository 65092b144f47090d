//! The secrets encryption provider file (`/etc/kubernetes/ssl/encryption.yaml`), kept in the
//! state file's `encryptionConfig` exactly as RKE1 keeps it.

use crate::config::RkeConfig;

/// The provider file the cluster should use: `None` when encryption is disabled. An existing
/// generated file is reused so the key never changes behind the user's back; a custom config is
/// rendered from `cluster.yml` every time.
pub fn provider_file(cfg: &RkeConfig, existing: &str) -> anyhow::Result<Option<String>> {
    let Some(sec) = cfg.services.kube_api.secrets_encryption_config.as_ref() else {
        return Ok(None);
    };
    if !sec.enabled {
        return Ok(None);
    }
    if let Some(custom) = sec.custom_config.as_ref() {
        return Ok(Some(serde_saphyr::to_string(custom)?));
    }
    if !existing.is_empty() {
        return Ok(Some(existing.to_string()));
    }
    Ok(Some(aescbc_provider_file(
        &generate_key_name(),
        &generate_secret(),
    )))
}

/// RKE1's single-key template: aescbc first (encrypts new writes), identity to read old data.
pub fn aescbc_provider_file(name: &str, secret: &str) -> String {
    format!(
        "apiVersion: apiserver.config.k8s.io/v1\n\
         kind: EncryptionConfiguration\n\
         resources:\n\
         - resources:\n\
         \x20 - secrets\n\
         \x20 providers:\n\
         \x20 - aescbc:\n\
         \x20     keys:\n\
         \x20     - name: {name}\n\
         \x20       secret: {secret}\n\
         \x20 - identity: {{}}\n"
    )
}

/// `key-` plus five random lower-case alphanumerics, like RKE1's generated names.
fn generate_key_name() -> String {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let suffix: String = (0..5)
        .map(|_| CHARS[rand::random_range(0..CHARS.len())] as char)
        .collect();
    format!("key-{suffix}")
}

/// RKE1 hex-encodes 16 random bytes (32 characters, an AES-256 key) and base64s that text.
fn generate_secret() -> String {
    use std::fmt::Write;
    let mut bytes = [0u8; 16];
    rand::fill(&mut bytes);
    let hex = bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02X}");
        s
    });
    base64_url(hex.as_bytes())
}

/// Base64 with the URL-safe alphabet and padding (Go's `base64.URLEncoding`).
fn base64_url(data: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_known_vectors() {
        assert_eq!(base64_url(b""), "");
        assert_eq!(base64_url(b"f"), "Zg==");
        assert_eq!(base64_url(b"fo"), "Zm8=");
        assert_eq!(base64_url(b"foo"), "Zm9v");
        assert_eq!(base64_url(&[0xfb, 0xff]), "-_8=");
    }

    #[test]
    fn generated_secret_decodes_to_a_32_byte_key() {
        let s = generate_secret();
        assert_eq!(s.len(), 44);
        assert!(generate_key_name().starts_with("key-"));
        assert_ne!(generate_secret(), s);
    }

    #[test]
    fn provider_file_has_aescbc_then_identity() {
        let f = aescbc_provider_file("key-abcde", "c2VjcmV0");
        let aescbc = f.find("aescbc").unwrap();
        let identity = f.find("identity").unwrap();
        assert!(aescbc < identity);
        assert!(f.contains("      - name: key-abcde\n        secret: c2VjcmV0\n"));
    }
}
