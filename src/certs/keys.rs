//! Private keys: generation, loading from any PEM form RKE1 or OpenSSL writes, writing in the
//! form Go writes, and matching a key to a certificate.

use super::input::KeyAlgorithm;
use anyhow::{Context, bail};
use rcgen::{KeyPair, PKCS_ECDSA_P256_SHA256, PKCS_RSA_SHA256, RsaKeySize};
use x509_parser::certificate::X509Certificate;

/// A private key with the exact PEM text it is stored as.
pub struct Key {
    pub pair: KeyPair,
    pub pem: String,
}

impl Key {
    /// A fresh key; RSA keys are PEM-encoded as PKCS#1 `RSA PRIVATE KEY` (Go's
    /// `EncodePrivateKeyPEM`) so RKE1 reads our state unchanged.
    pub fn generate(alg: KeyAlgorithm) -> anyhow::Result<Key> {
        let (pair, pem) = match alg {
            KeyAlgorithm::Rsa2048 => {
                let pair = KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, RsaKeySize::_2048)
                    .context("generating an RSA-2048 key")?;
                let pkcs1 = pkcs8_rsa_to_pkcs1(pair.serialized_der())?;
                (pair, encode_pem("RSA PRIVATE KEY", pkcs1))
            }
            KeyAlgorithm::EcdsaP256 => {
                let pair = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)
                    .context("generating an ECDSA P-256 key")?;
                let pem = encode_pem("PRIVATE KEY", pair.serialized_der().to_vec());
                (pair, pem)
            }
        };
        Ok(Key { pair, pem })
    }

    /// Load a key stored as PKCS#1 (`RSA PRIVATE KEY`), SEC1 (`EC PRIVATE KEY`) or PKCS#8
    /// (`PRIVATE KEY`). Other blocks (e.g. OpenSSL's `EC PARAMETERS`) are skipped, as Go does.
    pub fn from_pem(text: &str) -> anyhow::Result<Key> {
        let blocks = pem::parse_many(text).context("not valid PEM")?;
        let block = blocks
            .iter()
            .find(|b| b.tag().ends_with("PRIVATE KEY"))
            .context("no PRIVATE KEY block found")?;
        if block.tag() == "ENCRYPTED PRIVATE KEY" {
            bail!("the key is encrypted; provide it unencrypted");
        }
        let pair = KeyPair::try_from(block.contents())
            .map_err(|e| anyhow::anyhow!("unsupported or corrupt {} ({e})", block.tag()))?;
        Ok(Key {
            pair,
            pem: text.to_string(),
        })
    }

    /// Whether this key is the private half of the certificate's public key.
    pub fn matches(&self, cert: &X509Certificate<'_>) -> bool {
        cert.public_key().subject_public_key.data.as_ref() == self.pair.public_key_raw()
    }
}

/// The key as RKE1 would store it after `ParsePrivateKeyPEM` + `EncodePrivateKeyPEM`: only the
/// key block, RSA keys as PKCS#1 (`RSA PRIVATE KEY`), other keys unchanged.
pub fn canonical_key_pem(text: &str) -> anyhow::Result<String> {
    let key = Key::from_pem(text)?;
    let block = pem::parse_many(text)?
        .into_iter()
        .find(|b| b.tag().ends_with("PRIVATE KEY"))
        .context("no PRIVATE KEY block found")?;
    if block.tag() == "PRIVATE KEY" && key.pair.algorithm() == &PKCS_RSA_SHA256 {
        return Ok(encode_pem(
            "RSA PRIVATE KEY",
            pkcs8_rsa_to_pkcs1(block.contents())?,
        ));
    }
    let tag = block.tag().to_string();
    Ok(encode_pem(&tag, block.into_contents()))
}

/// Go-compatible PEM: 64-column base64, LF line endings, trailing newline.
pub fn encode_pem(tag: &str, der: Vec<u8>) -> String {
    pem::encode_config(
        &pem::Pem::new(tag, der),
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    )
}

const RSA_ENCRYPTION_OID: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];

/// Unwrap the PKCS#1 `RSAPrivateKey` from a PKCS#8 `PrivateKeyInfo` (RFC 5208):
/// `SEQUENCE { INTEGER version, SEQUENCE { OID rsaEncryption, NULL }, OCTET STRING key, ... }`.
fn pkcs8_rsa_to_pkcs1(pkcs8: &[u8]) -> anyhow::Result<Vec<u8>> {
    let (info, _) = der::expect(pkcs8, der::SEQUENCE)?;
    let (_version, rest) = der::expect(info, der::INTEGER)?;
    let (alg, rest) = der::expect(rest, der::SEQUENCE)?;
    let (oid, _) = der::expect(alg, der::OID)?;
    if oid != RSA_ENCRYPTION_OID {
        bail!("PKCS#8 key is not an RSA key");
    }
    let (key, _) = der::expect(rest, der::OCTET_STRING)?;
    Ok(key.to_vec())
}

/// The few DER primitives needed to unwrap PKCS#8 (single-byte tags, definite lengths).
mod der {
    use anyhow::{Context, bail};

    pub const INTEGER: u8 = 0x02;
    pub const OCTET_STRING: u8 = 0x04;
    pub const OID: u8 = 0x06;
    pub const SEQUENCE: u8 = 0x30;

    /// Read one TLV with the given tag; returns (content, rest).
    pub fn expect(input: &[u8], tag: u8) -> anyhow::Result<(&[u8], &[u8])> {
        let (&found, rest) = input.split_first().context("truncated DER")?;
        if found != tag {
            bail!("DER tag {found:#04x}, expected {tag:#04x}");
        }
        let (&first, rest) = rest.split_first().context("truncated DER length")?;
        let (len, rest) = if first < 0x80 {
            (usize::from(first), rest)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 || n > 4 || rest.len() < n {
                bail!("unsupported DER length encoding");
            }
            let len = rest[..n]
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
            (len, &rest[n..])
        };
        if rest.len() < len {
            bail!("DER length {len} exceeds the {} bytes left", rest.len());
        }
        Ok(rest.split_at(len))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert_for(key: &Key) -> String {
        let mut params = rcgen::CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "t");
        params.self_signed(&key.pair).unwrap().pem()
    }

    #[test]
    fn rsa_keys_are_written_as_pkcs1_and_load_back() {
        let key = Key::generate(KeyAlgorithm::Rsa2048).unwrap();
        assert!(key.pem.starts_with("-----BEGIN RSA PRIVATE KEY-----\n"));
        assert!(key.pem.ends_with("-----END RSA PRIVATE KEY-----\n"));
        assert!(key.pem.lines().all(|l| l.len() <= 64));
        let again = Key::from_pem(&key.pem).unwrap();
        assert_eq!(again.pair.public_key_raw(), key.pair.public_key_raw());
        // The PKCS#1 body is a SEQUENCE starting with INTEGER 0 (two-prime version).
        let der = pem::parse(&key.pem).unwrap().into_contents();
        let (body, _) = der::expect(&der, der::SEQUENCE).unwrap();
        assert_eq!(&body[..3], &[0x02, 0x01, 0x00]);
    }

    #[test]
    fn pkcs8_rsa_is_canonicalised_to_pkcs1_like_go() {
        let key = Key::generate(KeyAlgorithm::Rsa2048).unwrap();
        // rcgen's own serialisation of a generated key is PKCS#8.
        let pkcs8 = key.pair.serialize_pem();
        assert!(pkcs8.starts_with("-----BEGIN PRIVATE KEY-----"));
        assert_eq!(canonical_key_pem(&pkcs8).unwrap(), key.pem);
        // PKCS#1 and EC keys keep their block; foreign blocks are dropped.
        assert_eq!(canonical_key_pem(&key.pem).unwrap(), key.pem);
        let ec = Key::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let with_params = format!("{}{}", encode_pem("EC PARAMETERS", vec![6, 1, 0]), ec.pem);
        assert_eq!(canonical_key_pem(&with_params).unwrap(), ec.pem);
    }

    #[test]
    fn ecdsa_keys_round_trip() {
        let key = Key::generate(KeyAlgorithm::EcdsaP256).unwrap();
        assert!(key.pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        let again = Key::from_pem(&key.pem).unwrap();
        assert_eq!(again.pair.public_key_raw(), key.pair.public_key_raw());
        assert_eq!(again.pair.algorithm(), &PKCS_ECDSA_P256_SHA256);
    }

    #[test]
    fn key_matching_uses_the_public_key() {
        let a = Key::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let b = Key::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let pem_a = cert_for(&a);
        let parsed = x509_parser::pem::parse_x509_pem(pem_a.as_bytes())
            .unwrap()
            .1;
        let cert = parsed.parse_x509().unwrap();
        assert!(a.matches(&cert));
        assert!(!b.matches(&cert));
    }

    #[test]
    fn garbage_and_encrypted_keys_are_rejected() {
        assert!(Key::from_pem("hello").is_err());
        let enc = encode_pem("ENCRYPTED PRIVATE KEY", vec![1, 2, 3]);
        let err = Key::from_pem(&enc).err().unwrap();
        assert!(err.to_string().contains("encrypted"), "{err}");
        let bad = encode_pem("RSA PRIVATE KEY", vec![0x30, 0x00]);
        assert!(Key::from_pem(&bad).is_err());
    }

    #[test]
    fn der_reader_handles_long_lengths_and_truncation() {
        let mut long = vec![0x04, 0x81, 0x80];
        long.extend(std::iter::repeat_n(7u8, 0x80));
        let (content, rest) = der::expect(&long, der::OCTET_STRING).unwrap();
        assert_eq!(content.len(), 0x80);
        assert!(rest.is_empty());
        assert!(der::expect(&long[..10], der::OCTET_STRING).is_err());
        assert!(der::expect(&long, der::SEQUENCE).is_err());
    }
}
