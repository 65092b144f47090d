//! The running `rke` binary as the snapshot agent: it must be statically linked (the etcd image
//! it runs in may have no libc at all) and built for the node's architecture. Its SHA-256 names
//! the copy on the node, so a new `rke` brings a new agent and an unchanged one leaves it alone.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::error::{ErrorKind, classified};

/// The running binary, checked and hashed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalBinary {
    pub path: PathBuf,
    /// Lower-case hex SHA-256 of the file.
    pub sha256: String,
    pub size: u64,
}

/// `std::env::current_exe()`, refused unless statically linked, with its SHA-256.
pub fn current() -> anyhow::Result<LocalBinary> {
    let path = std::env::current_exe().map_err(|e| {
        classified(
            ErrorKind::General,
            format!("cannot find the running rke binary: {e}"),
        )
    })?;
    check_static(&path)?;
    let (sha256, size) = sha256_and_size(&path)?;
    Ok(LocalBinary { path, sha256, size })
}

/// Refuse a binary that needs a dynamic loader (an ELF with a `PT_INTERP` program header).
pub fn check_static(path: &Path) -> anyhow::Result<()> {
    let fail = |why: String| {
        classified(
            ErrorKind::Config,
            format!(
                "{}: {why}; the recurring snapshot agent runs this binary inside the etcd image, \
                 so use a statically linked rke (the release build) or set \
                 services.etcd.snapshot: false",
                path.display()
            ),
        )
    };
    match needs_interpreter(path) {
        Ok(false) => Ok(()),
        Ok(true) => Err(fail("it is dynamically linked".into())),
        Err(why) => Err(fail(why)),
    }
}

/// Whether the node's architecture (`docker info`'s `Architecture`, i.e. `uname -m`) can run
/// this binary.
pub fn runs_on(node_arch: &str) -> bool {
    let normalized = match node_arch {
        "amd64" => "x86_64",
        "arm64" => "aarch64",
        other => other,
    };
    normalized == std::env::consts::ARCH
}

const PT_INTERP: u32 = 3;

/// Reads the ELF header and program headers only.
fn needs_interpreter(path: &Path) -> Result<bool, String> {
    let mut file = File::open(path).map_err(|e| format!("cannot read it: {e}"))?;
    let mut header = [0u8; 64];
    file.read_exact(&mut header)
        .map_err(|_| "not an ELF executable (too short)".to_string())?;
    let layout = ElfLayout::parse(&header)?;
    let table_len = usize::from(layout.phentsize) * usize::from(layout.phnum);
    let mut table = vec![0u8; table_len];
    file.seek(SeekFrom::Start(layout.phoff))
        .and_then(|_| file.read_exact(&mut table))
        .map_err(|_| "not an ELF executable (program headers cut short)".to_string())?;
    Ok(table
        .chunks_exact(usize::from(layout.phentsize))
        .any(|entry| layout.u32_at(entry, 0) == PT_INTERP))
}

/// Where the program header table is, and how numbers are encoded.
struct ElfLayout {
    little_endian: bool,
    phoff: u64,
    phentsize: u16,
    phnum: u16,
}

impl ElfLayout {
    fn parse(h: &[u8; 64]) -> Result<ElfLayout, String> {
        if h[..4] != *b"\x7fELF" {
            return Err("not an ELF executable".into());
        }
        let little_endian = match h[5] {
            1 => true,
            2 => false,
            _ => return Err("ELF header with an unknown byte order".into()),
        };
        let mut layout = ElfLayout {
            little_endian,
            phoff: 0,
            phentsize: 0,
            phnum: 0,
        };
        // e_phoff, e_phentsize, e_phnum sit at different offsets in 32- and 64-bit headers.
        let (phoff, phentsize, phnum) = match h[4] {
            1 => (
                u64::from(layout.u32_at(h, 0x1c)),
                layout.u16_at(h, 0x2a),
                layout.u16_at(h, 0x2c),
            ),
            2 => (
                layout.u64_at(h, 0x20),
                layout.u16_at(h, 0x36),
                layout.u16_at(h, 0x38),
            ),
            _ => return Err("ELF header with an unknown class".into()),
        };
        if phentsize < 4 {
            return Err("ELF header with invalid program headers".into());
        }
        layout.phoff = phoff;
        layout.phentsize = phentsize;
        layout.phnum = phnum;
        Ok(layout)
    }

    fn u16_at(&self, b: &[u8], at: usize) -> u16 {
        let bytes = [b[at], b[at + 1]];
        if self.little_endian {
            u16::from_le_bytes(bytes)
        } else {
            u16::from_be_bytes(bytes)
        }
    }

    fn u32_at(&self, b: &[u8], at: usize) -> u32 {
        let bytes = [b[at], b[at + 1], b[at + 2], b[at + 3]];
        if self.little_endian {
            u32::from_le_bytes(bytes)
        } else {
            u32::from_be_bytes(bytes)
        }
    }

    fn u64_at(&self, b: &[u8], at: usize) -> u64 {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(&b[at..at + 8]);
        if self.little_endian {
            u64::from_le_bytes(bytes)
        } else {
            u64::from_be_bytes(bytes)
        }
    }
}

/// SHA-256 with aws-lc (assembly, fast even in debug builds: the binary is tens of MB and is
/// hashed on every `rke up`).
fn sha256_and_size(path: &Path) -> anyhow::Result<(String, u64)> {
    let fail = |e: std::io::Error| {
        classified(
            ErrorKind::General,
            format!("cannot read {}: {e}", path.display()),
        )
    };
    let mut file = File::open(path).map_err(fail)?;
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(fail)?;
        if n == 0 {
            break;
        }
        ctx.update(&buf[..n]);
        size += n as u64;
    }
    let hex = ctx
        .finish()
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok((hex, size))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_test_binary_is_static_and_bin_ls_is_not() {
        // The crate builds with +crt-static (.cargo/config.toml), test binaries included.
        let me = std::env::current_exe().unwrap();
        assert_eq!(needs_interpreter(&me), Ok(false));
        check_static(&me).unwrap();
        if Path::new("/bin/ls").exists() {
            assert_eq!(needs_interpreter(Path::new("/bin/ls")), Ok(true));
            let err = check_static(Path::new("/bin/ls")).unwrap_err().to_string();
            assert!(err.contains("dynamically linked"), "{err}");
            assert!(err.contains("services.etcd.snapshot: false"), "{err}");
        }
    }

    #[test]
    fn non_elf_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("script");
        std::fs::write(&script, format!("#!/bin/sh\n{}\n", "#".repeat(100))).unwrap();
        assert_eq!(
            needs_interpreter(&script),
            Err("not an ELF executable".to_string())
        );
        let short = dir.path().join("short");
        std::fs::write(&short, b"\x7fELF").unwrap();
        assert!(needs_interpreter(&short).unwrap_err().contains("too short"));
    }

    #[test]
    fn hashes_like_sha256sum() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        std::fs::write(&f, b"abc").unwrap();
        assert_eq!(
            sha256_and_size(&f).unwrap(),
            (
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad".to_string(),
                3
            )
        );
    }

    #[test]
    fn architectures_match_docker_names() {
        assert!(runs_on(std::env::consts::ARCH));
        if std::env::consts::ARCH == "x86_64" {
            assert!(runs_on("amd64"));
            assert!(!runs_on("aarch64"));
        }
        assert!(!runs_on("s390x") || std::env::consts::ARCH == "s390x");
    }
}
