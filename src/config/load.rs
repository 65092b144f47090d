//! The whole path from a `cluster.yml` on disk to a checked, defaulted [`RkeConfig`]:
//! read → strict parse → defaults (with the version table's images) → semantic validation.

use super::validate::{self, Problem, Severity, ValidationContext};
use super::{ConfigError, RkeConfig, defaults, parse, versions};
use crate::error::{ErrorKind, classified};
use std::path::{Path, PathBuf};

/// A parsed config with defaults applied, and every problem validation found.
#[derive(Debug)]
pub struct Loaded {
    pub path: PathBuf,
    pub config: RkeConfig,
    pub problems: Vec<Problem>,
}

impl Loaded {
    pub fn errors(&self) -> impl Iterator<Item = &Problem> {
        self.problems
            .iter()
            .filter(|p| p.severity == Severity::Error)
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Problem> {
        self.problems
            .iter()
            .filter(|p| p.severity == Severity::Warning)
    }

    pub fn is_valid(&self) -> bool {
        self.errors().next().is_none()
    }
}

/// Why a config could not be loaded at all (as opposed to loading with problems).
#[derive(Debug)]
pub enum LoadFailure {
    Unreadable { path: PathBuf, reason: String },
    Parse(ConfigError),
}

impl std::fmt::Display for LoadFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadFailure::Unreadable { path, reason } => {
                write!(f, "cannot read {}: {reason}", path.display())
            }
            LoadFailure::Parse(e) => write!(f, "{e}"),
        }
    }
}

/// Read, parse, default and validate `path`. Validation problems are returned inside
/// [`Loaded`], so callers can print all of them at once.
pub fn load(path: &Path) -> Result<Loaded, LoadFailure> {
    let text =
        crate::limits::read_file_to_string(path, crate::limits::CLUSTER_YML).map_err(|e| {
            LoadFailure::Unreadable {
                path: path.to_path_buf(),
                reason: e.to_string(),
            }
        })?;
    load_str(&text, path)
}

/// As [`load`], from text already in memory (`path` names it in messages).
pub fn load_str(text: &str, path: &Path) -> Result<Loaded, LoadFailure> {
    let loaded = check_str(text, path)?;
    // Known before anything can log or fail: the event sinks mask these.
    crate::events::redact::register_config(&loaded.config);
    Ok(loaded)
}

/// Parse, default and validate without side effects (no secret is registered for masking):
/// what `rke config validate`-style checks and the fuzz targets need.
pub fn check_str(text: &str, path: &Path) -> Result<Loaded, LoadFailure> {
    let mut config = parse::parse_str(text, path).map_err(LoadFailure::Parse)?;
    let table = versions::table();
    if config.version.is_empty() {
        config.version = table.default_version().to_string();
    }
    let info = table.get(&config.version);
    defaults::apply_defaults(&mut config, info.map(|i| &i.images));

    let supported: Vec<&str> = table.all().map(|v| v.version.as_str()).collect();
    let required = required_images(&config);
    let ctx = ValidationContext {
        supported_versions: &supported,
        required_images: &required,
        cri_dockerd_from: table.cri_dockerd_from(),
    };
    let mut problems = validate::validate(&config, &ctx);
    validate::fill_positions(&mut problems, text);
    Ok(Loaded {
        path: path.to_path_buf(),
        config,
        problems,
    })
}

/// Load and insist on a valid config: the entry point of every command that acts on a cluster.
/// Problems are printed to stderr (warnings too); errors become one `ErrorKind::Config` error.
pub fn load_valid(path: &Path) -> anyhow::Result<Loaded> {
    let loaded = match load(path) {
        Ok(l) => l,
        Err(e) => return Err(classified(ErrorKind::Config, e.to_string())),
    };
    for p in &loaded.problems {
        eprintln!("{}", format_problem(&loaded.path, p));
    }
    let errors = loaded.errors().count();
    if errors > 0 {
        return Err(classified(
            ErrorKind::Config,
            format!(
                "{} has {errors} error{}",
                path.display(),
                if errors == 1 { "" } else { "s" }
            ),
        ));
    }
    Ok(loaded)
}

/// `file:line:col: error: path: message`, the shape compilers use, so editors can jump to it.
pub fn format_problem(file: &Path, p: &Problem) -> String {
    let loc = match (p.line, p.column) {
        (Some(l), Some(c)) => format!("{}:{l}:{c}", file.display()),
        (Some(l), None) => format!("{}:{l}", file.display()),
        _ => file.display().to_string(),
    };
    let sev = match p.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    if p.path.is_empty() {
        format!("{loc}: {sev}: {}", p.message)
    } else {
        format!("{loc}: {sev}: {}: {}", p.path, p.message)
    }
}

/// `system_images` keys this config needs: the components every cluster runs, plus the images
/// of the add-ons it enables.
pub fn required_images(cfg: &RkeConfig) -> Vec<&'static str> {
    let mut keys = versions::REQUIRED_IMAGE_KEYS.to_vec();
    match cfg.network.plugin.as_str() {
        "canal" => keys.extend(["canal_node", "canal_cni", "canal_flannel"]),
        "flannel" => keys.extend(["flannel", "flannel_cni"]),
        "calico" => keys.extend(["calico_node", "calico_cni", "calico_controllers"]),
        "weave" => keys.extend(["weave_node", "weave_cni"]),
        _ => {}
    }
    let dns_provider = cfg.dns.as_ref().map(|d| d.provider.as_str()).unwrap_or("");
    match dns_provider {
        "coredns" => keys.extend(["coredns", "coredns_autoscaler"]),
        "kube-dns" => keys.extend([
            "kubedns",
            "dnsmasq",
            "kubedns_sidecar",
            "kubedns_autoscaler",
        ]),
        _ => {}
    }
    if cfg.monitoring.provider == "metrics-server" {
        keys.push("metrics_server");
    }
    if cfg.ingress.provider == "nginx" {
        keys.push("ingress");
    }
    keys
}
