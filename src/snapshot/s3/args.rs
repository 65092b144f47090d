//! RKE1's S3 flags of `rke etcd snapshot-save/-restore`, and how they combine with `cluster.yml`.

use super::settings::{
    DEFAULT_ENDPOINT, DEFAULT_REGION, S3Settings, check_ca_pem, normalize_folder,
};
use crate::config::RkeConfig;
use crate::error::{ErrorKind, classified};
use std::fmt;
use std::path::PathBuf;

/// The S3 flags, named exactly as in RKE1. The keys may also come from `RKE_S3_ACCESS_KEY` /
/// `RKE_S3_SECRET_KEY` so they stay out of shell history; a flag wins over its variable.
#[derive(Clone, Default, clap::Args)]
pub struct S3Args {
    /// Use the S3 flags below instead of cluster.yml's backup_config.s3backupconfig
    #[arg(long = "s3")]
    pub s3: bool,
    /// S3 endpoint: host[:port] (HTTPS), or http://host[:port] for plain HTTP
    #[arg(long = "s3-endpoint", value_name = "ENDPOINT", default_value = DEFAULT_ENDPOINT)]
    pub s3_endpoint: String,
    /// File with the PEM CA certificate that signed the S3 endpoint's certificate
    #[arg(long = "s3-endpoint-ca", value_name = "PATH")]
    pub s3_endpoint_ca: Option<PathBuf>,
    /// S3 access key
    #[arg(long = "access-key", env = "RKE_S3_ACCESS_KEY", hide_env_values = true)]
    pub access_key: Option<String>,
    /// S3 secret key (prefer the RKE_S3_SECRET_KEY variable)
    #[arg(long = "secret-key", env = "RKE_S3_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,
    /// S3 bucket name
    #[arg(long = "bucket-name", value_name = "NAME")]
    pub bucket_name: Option<String>,
    /// S3 region (default us-east-1)
    #[arg(long = "region")]
    pub region: Option<String>,
    /// Folder (key prefix) in the bucket
    #[arg(long = "folder")]
    pub folder: Option<String>,
}

/// Never prints the secret key.
impl fmt::Debug for S3Args {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Args")
            .field("s3", &self.s3)
            .field("s3_endpoint", &self.s3_endpoint)
            .field("s3_endpoint_ca", &self.s3_endpoint_ca)
            .field("access_key", &self.access_key)
            .field(
                "secret_key",
                &self.secret_key.as_ref().map(|_| "<redacted>"),
            )
            .field("bucket_name", &self.bucket_name)
            .field("region", &self.region)
            .field("folder", &self.folder)
            .finish()
    }
}

/// The key flags and the environment variables that can carry them instead.
const KEY_FLAGS: [(&str, &str); 2] = [
    ("--access-key", "RKE_S3_ACCESS_KEY"),
    ("--secret-key", "RKE_S3_SECRET_KEY"),
];

/// The key flags given on the command line `argv` (rather than through their variables), each
/// with its variable.
pub fn key_flags_given(argv: &[std::ffi::OsString]) -> Vec<(&'static str, &'static str)> {
    KEY_FLAGS
        .into_iter()
        .filter(|(flag, _)| {
            argv.iter().any(|a| {
                let a = a.to_string_lossy();
                a == *flag || a.starts_with(&format!("{flag}="))
            })
        })
        .collect()
}

/// Before a snapshot command uses S3: mask its keys in everything rke prints, and warn when
/// they came as flags, which other users see in `ps` and shell history keeps.
pub fn guard_keys(args: &S3Args, argv: &[std::ffi::OsString]) {
    for key in [&args.access_key, &args.secret_key].into_iter().flatten() {
        crate::events::redact::register(key);
    }
    let given = key_flags_given(argv);
    if !given.is_empty() {
        let flags: Vec<&str> = given.iter().map(|(f, _)| *f).collect();
        let vars: Vec<&str> = given.iter().map(|(_, v)| *v).collect();
        tracing::warn!(
            "{} given on the command line: other users of this machine can see the values \
             (ps), and shell history keeps them; set {} in the environment instead",
            flags.join(" and "),
            vars.join(" and ")
        );
    }
}

/// The S3 target for a snapshot command, or `None` when S3 is not in use.
///
/// As in RKE1 (`setS3OptionsFromCLI`), `--s3` replaces the config's S3 block entirely with the
/// flags; without it the config's block is used when present. Keys given by flag or variable
/// without `--s3` only fill keys the config leaves empty, so secrets can stay out of
/// cluster.yml. Validation errors are `Config` class.
pub fn settings(args: &S3Args, cfg: &RkeConfig) -> anyhow::Result<Option<S3Settings>> {
    let (mut settings, source) = if args.s3 {
        (from_flags(args)?, "S3 flags (--s3)")
    } else {
        let block = cfg
            .services
            .etcd
            .backup_config
            .as_ref()
            .and_then(|b| b.s3_backup_config.as_ref());
        let Some(block) = block else {
            return Ok(None);
        };
        let mut s = S3Settings::from_config(block);
        if s.access_key.is_empty() && s.secret_key.is_empty() {
            s.access_key = trimmed(&args.access_key);
            s.secret_key = trimmed(&args.secret_key);
        }
        (s, "cluster.yml services.etcd.backup_config.s3backupconfig")
    };
    settings.folder = normalize_folder(&settings.folder);
    settings.validate(source)?;
    Ok(Some(settings))
}

fn from_flags(args: &S3Args) -> anyhow::Result<S3Settings> {
    let endpoint_ca = match &args.s3_endpoint_ca {
        None => None,
        Some(path) => {
            let text = crate::limits::read_file_to_string(path, crate::limits::SMALL_FILE)
                .map_err(|e| {
                    classified(
                        ErrorKind::Config,
                        format!("--s3-endpoint-ca {}: cannot read: {e}", path.display()),
                    )
                })?;
            check_ca_pem(&text).map_err(|e| {
                classified(
                    ErrorKind::Config,
                    format!("--s3-endpoint-ca {}: {e}", path.display()),
                )
            })?;
            Some(text)
        }
    };
    let endpoint = args.s3_endpoint.trim();
    let region = trimmed(&args.region);
    Ok(S3Settings {
        endpoint: if endpoint.is_empty() {
            DEFAULT_ENDPOINT
        } else {
            endpoint
        }
        .to_string(),
        endpoint_ca,
        access_key: trimmed(&args.access_key),
        secret_key: trimmed(&args.secret_key),
        bucket: trimmed(&args.bucket_name),
        region: if region.is_empty() {
            DEFAULT_REGION.to_string()
        } else {
            region
        },
        folder: trimmed(&args.folder),
    })
}

fn trimmed(v: &Option<String>) -> String {
    v.as_deref().unwrap_or("").trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{BackupConfig, S3BackupConfig};
    use crate::error::kind_of;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        s3: S3Args,
    }

    fn parse(argv: &[&str]) -> S3Args {
        Cli::try_parse_from(std::iter::once("rke").chain(argv.iter().copied()))
            .unwrap()
            .s3
    }

    fn cfg_with(block: S3BackupConfig) -> RkeConfig {
        let mut cfg = RkeConfig::default();
        cfg.services.etcd.backup_config = Some(BackupConfig {
            s3_backup_config: Some(block),
            ..Default::default()
        });
        cfg
    }

    #[test]
    fn nothing_configured_means_no_s3() {
        let args = parse(&["--bucket-name", "b"]);
        assert_eq!(settings(&args, &RkeConfig::default()).unwrap(), None);
    }

    #[test]
    fn flags_replace_the_config_block() {
        let cfg = cfg_with(S3BackupConfig {
            bucket_name: "from-file".into(),
            folder: "file-folder".into(),
            access_key: "file-ak".into(),
            secret_key: "file-sk".into(),
            ..Default::default()
        });
        let args = parse(&[
            "--s3",
            "--bucket-name",
            "from-flags",
            "--access-key",
            "ak",
            "--secret-key",
            "sk",
            "--folder",
            "/snaps/",
        ]);
        let s = settings(&args, &cfg).unwrap().unwrap();
        assert_eq!(s.bucket, "from-flags");
        assert_eq!(s.folder, "snaps");
        assert_eq!(s.endpoint, DEFAULT_ENDPOINT);
        assert_eq!(s.region, DEFAULT_REGION);
        assert_eq!((s.access_key.as_str(), s.secret_key.as_str()), ("ak", "sk"));
    }

    #[test]
    fn config_block_without_s3_flag() {
        let cfg = cfg_with(S3BackupConfig {
            bucket_name: "b".into(),
            endpoint: "http://127.0.0.1:9000".into(),
            region: "eu-west-1".into(),
            ..Default::default()
        });
        // Keys from flags/variables fill the empty config keys; other flags are ignored.
        let args = parse(&[
            "--bucket-name",
            "ignored",
            "--access-key",
            "ak",
            "--secret-key",
            "sk",
        ]);
        let s = settings(&args, &cfg).unwrap().unwrap();
        assert_eq!(s.bucket, "b");
        assert_eq!(s.endpoint, "http://127.0.0.1:9000");
        assert_eq!(s.region, "eu-west-1");
        assert_eq!((s.access_key.as_str(), s.secret_key.as_str()), ("ak", "sk"));
    }

    #[test]
    fn missing_bucket_is_a_config_error() {
        let err = settings(&parse(&["--s3"]), &RkeConfig::default()).unwrap_err();
        assert_eq!(kind_of(&err), ErrorKind::Config);
        assert!(err.to_string().contains("--s3"), "{err}");
    }

    #[test]
    fn endpoint_ca_file_is_read_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("ca.pem");
        let ca = rcgen::generate_simple_self_signed(vec!["ca.test".into()]).unwrap();
        std::fs::write(&good, ca.cert.pem()).unwrap();
        let args = parse(&[
            "--s3",
            "--bucket-name",
            "b",
            "--s3-endpoint-ca",
            good.to_str().unwrap(),
        ]);
        let s = settings(&args, &RkeConfig::default()).unwrap().unwrap();
        assert_eq!(s.endpoint_ca.as_deref(), Some(ca.cert.pem().as_str()));

        let bad = dir.path().join("bad.pem");
        std::fs::write(&bad, "junk").unwrap();
        let args = parse(&[
            "--s3",
            "--bucket-name",
            "b",
            "--s3-endpoint-ca",
            bad.to_str().unwrap(),
        ]);
        let err = settings(&args, &RkeConfig::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("--s3-endpoint-ca") && err.contains("bad.pem"),
            "{err}"
        );
    }

    #[test]
    fn key_flags_are_found_in_both_spellings_and_not_in_values() {
        let argv = |a: &[&str]| a.iter().map(std::ffi::OsString::from).collect::<Vec<_>>();
        assert_eq!(
            key_flags_given(&argv(&[
                "rke",
                "etcd",
                "snapshot-save",
                "--secret-key",
                "x"
            ])),
            [("--secret-key", "RKE_S3_SECRET_KEY")]
        );
        assert_eq!(
            key_flags_given(&argv(&["rke", "--access-key=a", "--secret-key=b"])),
            [
                ("--access-key", "RKE_S3_ACCESS_KEY"),
                ("--secret-key", "RKE_S3_SECRET_KEY")
            ]
        );
        assert!(
            key_flags_given(&argv(&["rke", "--s3", "--bucket-name", "--secret-keys"])).is_empty()
        );
    }

    #[test]
    fn debug_hides_the_secret_flag() {
        let args = parse(&["--secret-key", "hunter2-secret"]);
        let text = format!("{args:?}");
        assert!(!text.contains("hunter2-secret"), "{text}");
        assert!(text.contains("<redacted>"));
    }
}
