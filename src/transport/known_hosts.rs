//! A parser and matcher for OpenSSH `known_hosts` files.
//!
//! russh's own helpers only match exact and hashed host names. Users' files also hold wildcard
//! patterns, negations, `[host]:port` entries and `@cert-authority` / `@revoked` markers, so this
//! module implements the format as `sshd(8)` "SSH_KNOWN_HOSTS FILE FORMAT" describes it.

use std::path::{Path, PathBuf};

use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use russh::keys::ssh_key::{HashAlg, PublicKey};

/// The marker at the start of a line, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker {
    /// A plain host key line.
    None,
    /// `@cert-authority`: the key is a CA whose host certificates are trusted for these hosts.
    CertAuthority,
    /// `@revoked`: the key must never be accepted for these hosts.
    Revoked,
}

/// The host field of a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostField {
    /// Comma-separated patterns (`*`, `?`, leading `!` for negation).
    Patterns(Vec<String>),
    /// `|1|salt|hash`: HMAC-SHA1 of the host name keyed with the salt.
    Hashed { salt: Vec<u8>, hash: Vec<u8> },
}

/// One usable line of the file.
#[derive(Debug, Clone)]
pub struct Entry {
    /// 1-based line number, for messages such as `known_hosts:12`.
    pub line: usize,
    pub marker: Marker,
    pub hosts: HostField,
    pub key: PublicKey,
}

impl Entry {
    /// Whether this line applies to `lookup` (a name from [`lookup_name`]).
    pub fn matches(&self, lookup: &str) -> bool {
        match &self.hosts {
            HostField::Patterns(patterns) => match_host_list(lookup, patterns),
            HostField::Hashed { salt, hash } => hash_host(lookup, salt) == *hash,
        }
    }
}

/// A parsed file. Lines that cannot be parsed are kept as warnings, not errors: OpenSSH skips
/// them too, and one odd line must not lock a user out of every host.
#[derive(Debug, Clone, Default)]
pub struct KnownHosts {
    pub path: PathBuf,
    pub entries: Vec<Entry>,
    pub warnings: Vec<String>,
}

/// The name OpenSSH looks up for a host: `host` on port 22, `[host]:port` otherwise.
pub fn lookup_name(host: &str, port: u16) -> String {
    let host = host.to_ascii_lowercase();
    if port == 22 {
        host
    } else {
        format!("[{host}]:{port}")
    }
}

/// The line [`KnownHosts`] appends for a newly learned key.
pub fn format_line(host: &str, port: u16, key: &PublicKey) -> Result<String, String> {
    let mut key = key.clone();
    key.set_comment("");
    let text = key.to_openssh().map_err(|e| e.to_string())?;
    Ok(format!("{} {}", lookup_name(host, port), text.trim()))
}

/// SHA256 fingerprint in OpenSSH's notation (`SHA256:base64`).
pub fn fingerprint(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

/// HMAC-SHA1 of `host` keyed with `salt`, as in hashed (`|1|`) entries.
pub fn hash_host(host: &str, salt: &[u8]) -> Vec<u8> {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, salt);
    hmac::sign(&key, host.as_bytes()).as_ref().to_vec()
}

/// Glob match with `*` (any run) and `?` (one character), ASCII case-insensitive.
pub fn match_pattern(text: &str, pattern: &str) -> bool {
    let t: Vec<char> = text.chars().map(|c| c.to_ascii_lowercase()).collect();
    let p: Vec<char> = pattern.chars().map(|c| c.to_ascii_lowercase()).collect();
    let (mut ti, mut pi) = (0usize, 0usize);
    // Position of the last `*` in the pattern and the text index it was tried at.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            ti += 1;
            pi += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((spi, sti)) = star {
            pi = spi + 1;
            ti = sti + 1;
            star = Some((spi, sti + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// OpenSSH's `match_hostname`: true when some pattern matches and no negated one does.
pub fn match_host_list<S: AsRef<str>>(host: &str, patterns: &[S]) -> bool {
    let mut positive = false;
    for pattern in patterns {
        let pattern = pattern.as_ref();
        if let Some(negated) = pattern.strip_prefix('!') {
            if match_pattern(host, negated) {
                return false;
            }
        } else if match_pattern(host, pattern) {
            positive = true;
        }
    }
    positive
}

impl KnownHosts {
    /// Read and parse `path`. A missing file is an empty one (the first `accept-new` creates it).
    pub fn load(path: &Path) -> std::io::Result<Self> {
        match crate::limits::read_file_to_string(path, crate::limits::KNOWN_HOSTS) {
            Ok(text) => Ok(Self::parse(path, &text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self {
                path: path.to_path_buf(),
                ..Self::default()
            }),
            Err(e) => Err(e),
        }
    }

    pub fn parse(path: &Path, text: &str) -> Self {
        let mut out = Self {
            path: path.to_path_buf(),
            ..Self::default()
        };
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            match parse_line(raw) {
                Ok(Some((marker, hosts, key))) => out.entries.push(Entry {
                    line,
                    marker,
                    hosts,
                    key,
                }),
                Ok(None) => {}
                Err(reason) => out
                    .warnings
                    .push(format!("{}:{line}: {reason}", path.display())),
            }
        }
        out
    }

    /// Lines that apply to `host` on `port`, in file order.
    pub fn entries_for(&self, host: &str, port: u16) -> impl Iterator<Item = &Entry> {
        let lookup = lookup_name(host, port);
        self.entries.iter().filter(move |e| e.matches(&lookup))
    }

    /// Look up a bare host key (not a certificate).
    pub fn check_key(&self, host: &str, port: u16, key: &PublicKey) -> KeyStatus {
        let matching: Vec<&Entry> = self.entries_for(host, port).collect();
        if let Some(e) = matching
            .iter()
            .find(|e| e.marker == Marker::Revoked && e.key.key_data() == key.key_data())
        {
            return KeyStatus::Revoked { line: e.line };
        }
        let plain: Vec<&&Entry> = matching
            .iter()
            .filter(|e| e.marker == Marker::None)
            .collect();
        if let Some(e) = plain.iter().find(|e| e.key.key_data() == key.key_data()) {
            return KeyStatus::Known { line: e.line };
        }
        let same_type: Vec<KnownKey> = plain
            .iter()
            .filter(|e| e.key.algorithm() == key.algorithm())
            .map(|e| KnownKey::of(e))
            .collect();
        if !same_type.is_empty() {
            return KeyStatus::Changed {
                expected: same_type,
            };
        }
        KeyStatus::Unknown {
            other_types: plain.iter().map(|e| KnownKey::of(e)).collect(),
        }
    }

    /// `@revoked` lines for `host` that name `key` (used for CA keys of host certificates).
    pub fn revoked_line(&self, host: &str, port: u16, key: &PublicKey) -> Option<usize> {
        self.entries_for(host, port)
            .find(|e| e.marker == Marker::Revoked && e.key.key_data() == key.key_data())
            .map(|e| e.line)
    }

    /// `@cert-authority` keys trusted for `host`.
    pub fn authorities_for(&self, host: &str, port: u16) -> Vec<&Entry> {
        self.entries_for(host, port)
            .filter(|e| e.marker == Marker::CertAuthority)
            .collect()
    }

    /// Key algorithms recorded for `host` (plain lines), most useful first for negotiation.
    pub fn known_algorithms(&self, host: &str, port: u16) -> Vec<russh::keys::Algorithm> {
        let mut out = Vec::new();
        for e in self.entries_for(host, port) {
            if e.marker == Marker::None && !out.contains(&e.key.algorithm()) {
                out.push(e.key.algorithm());
            }
        }
        out
    }
}

/// A recorded key, as shown in messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownKey {
    pub line: usize,
    pub algorithm: String,
    pub fingerprint: String,
}

impl KnownKey {
    fn of(e: &Entry) -> Self {
        Self {
            line: e.line,
            algorithm: e.key.algorithm().as_str().to_string(),
            fingerprint: fingerprint(&e.key),
        }
    }
}

/// Result of looking up a bare host key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyStatus {
    Known {
        line: usize,
    },
    Revoked {
        line: usize,
    },
    /// The host has keys of the presented type, and none of them is the presented key.
    Changed {
        expected: Vec<KnownKey>,
    },
    /// Nothing of this type is recorded; `other_types` lists keys of other types, if any.
    Unknown {
        other_types: Vec<KnownKey>,
    },
}

type ParsedLine = (Marker, HostField, PublicKey);

fn parse_line(raw: &str) -> Result<Option<ParsedLine>, String> {
    let line = raw.trim();
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    let mut fields = line.split_whitespace();
    let mut first = fields.next().unwrap_or_default();
    let marker = match first {
        "@cert-authority" => Marker::CertAuthority,
        "@revoked" => Marker::Revoked,
        m if m.starts_with('@') => return Err(format!("unknown marker {m}")),
        _ => Marker::None,
    };
    if marker != Marker::None {
        first = fields.next().ok_or("marker without host patterns")?;
    }
    let hosts = parse_hosts(first)?;
    let key_type = fields.next().ok_or("missing key type")?;
    let key_b64 = fields.next().ok_or("missing key")?;
    let key = PublicKey::from_openssh(&format!("{key_type} {key_b64}"))
        .map_err(|e| format!("unreadable {key_type} key: {e}"))?;
    Ok(Some((marker, hosts, key)))
}

fn parse_hosts(field: &str) -> Result<HostField, String> {
    if let Some(rest) = field.strip_prefix("|1|") {
        let (salt, hash) = rest
            .split_once('|')
            .ok_or("hashed host without a hash part")?;
        let salt = B64
            .decode(salt)
            .map_err(|e| format!("hashed host salt: {e}"))?;
        let hash = B64
            .decode(hash)
            .map_err(|e| format!("hashed host hash: {e}"))?;
        return Ok(HostField::Hashed { salt, hash });
    }
    if field.starts_with('|') {
        return Err(format!("unsupported hashed host format {field}"));
    }
    Ok(HostField::Patterns(
        field
            .split(',')
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Public halves of keys made with `ssh-keygen -t ed25519` / `-t rsa -b 1024`.
    const ED_A: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIANTA3sENs1ZDudn8xohcPH5y+nKFh5QHdz9rZNdEfFZ";
    const ED_A_SHA256: &str = "SHA256:oENRp9SMaDZFfXwpSk5gJ5nqXCDVn+blOx+oqIj7Xng";
    const ED_B: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICzebEg33l2LEOFA+VLWBB9CJdI8c8t56qrpBfyVQbxN";
    const RSA: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQD8Fw88gOSRG6qv1WfCsp9owitPakmJZ+teA2IyWJOokukhY6C5n59zCPKH34XOAJWsOiavX259KYyNWCRWgLB8YF2T305s5Y9YpJ4ym851cdxTCEmHew8vpe8Dubl77WI7ySCaIOCTuLkgvzvfFYki20ZLmBWVyfPVguuVdSc8Fw==";

    fn key(s: &str) -> PublicKey {
        PublicKey::from_openssh(s).unwrap()
    }

    fn kh(text: &str) -> KnownHosts {
        KnownHosts::parse(Path::new("/tmp/kh"), text)
    }

    #[test]
    fn glob_patterns() {
        assert!(match_pattern("node1.example.com", "*.example.com"));
        assert!(match_pattern("NODE1.Example.COM", "node?.example.com"));
        assert!(!match_pattern("node10.example.com", "node?.example.com"));
        assert!(match_pattern("10.0.0.5", "10.0.0.*"));
        assert!(match_pattern("abc", "a*b*c"));
        assert!(match_pattern("", "*"));
        assert!(!match_pattern("example.com", "*.example.com"));
        assert!(match_pattern("[10.0.0.5]:2222", "[10.0.0.*]:2222"));
    }

    #[test]
    fn negation_overrides_positive_match() {
        let p = ["*.example.com", "!bad.example.com"];
        assert!(match_host_list("good.example.com", &p));
        assert!(!match_host_list("bad.example.com", &p));
        // A negation alone never matches.
        assert!(!match_host_list("other", &["!bad"]));
    }

    #[test]
    fn lookup_names_follow_openssh() {
        assert_eq!(lookup_name("Node1", 22), "node1");
        assert_eq!(lookup_name("10.0.0.1", 2222), "[10.0.0.1]:2222");
    }

    #[test]
    fn plain_entry_known_and_changed() {
        let f = kh(&format!("# comment\n\nnode1,10.0.0.1 {ED_A} root@x\n"));
        assert!(f.warnings.is_empty());
        assert_eq!(
            f.check_key("10.0.0.1", 22, &key(ED_A)),
            KeyStatus::Known { line: 3 }
        );
        match f.check_key("node1", 22, &key(ED_B)) {
            KeyStatus::Changed { expected } => {
                assert_eq!(expected.len(), 1);
                assert_eq!(expected[0].line, 3);
                assert_eq!(expected[0].fingerprint, fingerprint(&key(ED_A)));
            }
            other => panic!("expected Changed, got {other:?}"),
        }
        // Another port is another host.
        assert_eq!(
            f.check_key("node1", 2222, &key(ED_A)),
            KeyStatus::Unknown {
                other_types: vec![]
            }
        );
    }

    #[test]
    fn bracketed_port_entry() {
        let f = kh(&format!("[10.0.0.1]:2222 {ED_A}\n"));
        assert_eq!(
            f.check_key("10.0.0.1", 2222, &key(ED_A)),
            KeyStatus::Known { line: 1 }
        );
        assert!(matches!(
            f.check_key("10.0.0.1", 22, &key(ED_A)),
            KeyStatus::Unknown { .. }
        ));
    }

    #[test]
    fn hashed_entry_matches_only_its_host() {
        // Produced with the same scheme as `ssh-keygen -H`: salt, then HMAC-SHA1(salt, host).
        let salt = b"0123456789abcdefghij";
        let hash = hash_host("[10.0.0.7]:2222", salt);
        let line = format!("|1|{}|{} {ED_A}\n", B64.encode(salt), B64.encode(&hash));
        let f = kh(&line);
        assert_eq!(
            f.check_key("10.0.0.7", 2222, &key(ED_A)),
            KeyStatus::Known { line: 1 }
        );
        assert!(matches!(
            f.check_key("10.0.0.8", 2222, &key(ED_A)),
            KeyStatus::Unknown { .. }
        ));
    }

    #[test]
    fn hashed_entries_written_by_ssh_keygen() {
        // `ssh-keygen -H` applied to "node1 ED_A" and "[10.0.0.7]:2222 ED_B".
        let f = kh(&format!(
            "|1|+uybnxHpKeT1ifBiX/TaB1PP5vs=|6ceaf9+Ki6jUMk/bhfdSNbQcs70= {ED_A}\n\
             |1|3VfnDrOiqUrQAEwZ8EUgFel2PBQ=|SId3pCDP/ZF+EGuRS3qDSK7/kmM= {ED_B}\n"
        ));
        assert!(f.warnings.is_empty(), "{:?}", f.warnings);
        assert_eq!(
            f.check_key("NODE1", 22, &key(ED_A)),
            KeyStatus::Known { line: 1 }
        );
        assert_eq!(
            f.check_key("10.0.0.7", 2222, &key(ED_B)),
            KeyStatus::Known { line: 2 }
        );
        assert!(matches!(
            f.check_key("node1", 2222, &key(ED_A)),
            KeyStatus::Unknown { .. }
        ));
    }

    #[test]
    fn fingerprint_matches_ssh_keygen() {
        assert_eq!(fingerprint(&key(ED_A)), ED_A_SHA256);
    }

    #[test]
    fn wildcard_and_negation_in_file() {
        let f = kh(&format!("*.lab,!db.lab {ED_A}\n"));
        assert!(matches!(
            f.check_key("web.lab", 22, &key(ED_A)),
            KeyStatus::Known { .. }
        ));
        assert!(matches!(
            f.check_key("db.lab", 22, &key(ED_A)),
            KeyStatus::Unknown { .. }
        ));
    }

    #[test]
    fn revoked_wins_over_known() {
        let f = kh(&format!("node1 {ED_A}\n@revoked * {ED_A}\n"));
        assert_eq!(
            f.check_key("node1", 22, &key(ED_A)),
            KeyStatus::Revoked { line: 2 }
        );
    }

    #[test]
    fn cert_authority_lines_are_not_host_keys() {
        let f = kh(&format!("@cert-authority *.lab {ED_A}\n"));
        assert!(matches!(
            f.check_key("a.lab", 22, &key(ED_A)),
            KeyStatus::Unknown { .. }
        ));
        assert_eq!(f.authorities_for("a.lab", 22).len(), 1);
        assert!(f.authorities_for("a.other", 22).is_empty());
    }

    #[test]
    fn other_key_types_are_reported_not_changed() {
        let f = kh(&format!("node1 {RSA}\n"));
        match f.check_key("node1", 22, &key(ED_A)) {
            KeyStatus::Unknown { other_types } => {
                assert_eq!(other_types.len(), 1);
                assert_eq!(other_types[0].algorithm, "ssh-rsa");
            }
            other => panic!("expected Unknown, got {other:?}"),
        }
        assert_eq!(
            f.known_algorithms("node1", 22),
            vec![russh::keys::Algorithm::Rsa { hash: None }]
        );
    }

    #[test]
    fn bad_lines_become_warnings() {
        let f = kh(&format!(
            "node1 ssh-ed25519 !!!notbase64\n@weird x {ED_A}\nnode2\nnode3 {ED_B}\n"
        ));
        assert_eq!(f.entries.len(), 1);
        assert_eq!(f.warnings.len(), 3);
        assert!(f.warnings[0].starts_with("/tmp/kh:1:"), "{:?}", f.warnings);
    }

    #[test]
    fn format_line_round_trips() {
        let line = format_line("10.0.0.1", 2222, &key(&format!("{ED_A} comment"))).unwrap();
        assert_eq!(line, format!("[10.0.0.1]:2222 {ED_A}"));
        assert!(matches!(
            kh(&line).check_key("10.0.0.1", 2222, &key(ED_A)),
            KeyStatus::Known { line: 1 }
        ));
    }

    #[test]
    fn missing_file_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let f = KnownHosts::load(&dir.path().join("nope")).unwrap();
        assert!(f.entries.is_empty());
    }
}
