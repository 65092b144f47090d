//! `rke config`: write a starting cluster.yml (questionnaire or `--empty`), or list the supported
//! Kubernetes versions and their system images.

use crate::config::{RkeConfig, RkeConfigNode, versions};
use crate::error::{ErrorKind, classified};
use crate::events::report;
use anyhow::Context;
use clap::Args;
use serde_json::json;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// File to write.
    #[arg(short = 'n', long, default_value = "cluster.yml")]
    pub name: PathBuf,
    /// Write a config with one empty node to fill in.
    #[arg(short = 'e', long)]
    pub empty: bool,
    /// Print the config instead of writing it.
    #[arg(short = 'p', long)]
    pub print: bool,
    /// Print the system images of the default Kubernetes version (or --version).
    #[arg(short = 's', long)]
    pub system_images: bool,
    /// Print the default Kubernetes version.
    #[arg(short = 'l', long)]
    pub list_version: bool,
    /// With -l: every version in the table; with -s: the newest patch of every minor.
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Kubernetes version for --system-images.
    #[arg(long)]
    pub version: Option<String>,
}

const HEADER: &str = "# If you intended to deploy Kubernetes in an air-gapped environment,\n\
# please consult the documentation on how to configure custom RKE images.\n";

pub fn run(args: &ConfigArgs) -> anyhow::Result<i32> {
    let table = versions::table();
    if args.list_version {
        // RKE1 printed the newest patch of each minor; every version the table holds is listed
        // here, so a cluster pinned to an older patch can see that it is known.
        let versions: Vec<&str> = if args.all {
            table.all().map(|i| i.version.as_str()).collect()
        } else {
            vec![table.default_version()]
        };
        for v in &versions {
            println!("{v}");
        }
        report::set_data(json!({ "versions": versions, "default": table.default_version() }));
        return Ok(0);
    }
    if args.system_images {
        return print_images(args);
    }

    let stdin = std::io::stdin();
    let interactive = !args.empty && stdin.is_terminal();
    let cfg = if args.empty {
        empty_config()
    } else if interactive {
        let mut p = Prompter::new(stdin.lock(), std::io::stderr());
        questionnaire(&mut p)?
    } else {
        eprintln!("stdin is not a terminal: using the default answers without asking");
        let mut p = Prompter::defaults_only();
        questionnaire(&mut p)?
    };
    let text = format!("{HEADER}{}", serde_saphyr::to_string(&cfg)?);
    if args.print {
        print!("{text}");
        report::set_data(json!({ "cluster_yml": text }));
        return Ok(0);
    }
    if args.name.exists() && !confirm_overwrite(args, interactive)? {
        return Err(classified(
            ErrorKind::UserAbort,
            format!("{} exists; not overwritten", args.name.display()),
        ));
    }
    write_config(&args.name, &text)?;
    eprintln!("wrote {}", args.name.display());
    report::set_data(json!({ "config_file": args.name }));
    Ok(0)
}

fn print_images(args: &ConfigArgs) -> anyhow::Result<i32> {
    let table = versions::table();
    let versions: Vec<String> = if args.all {
        table.supported().into_iter().map(str::to_string).collect()
    } else {
        vec![
            args.version
                .clone()
                .unwrap_or_else(|| table.default_version().to_string()),
        ]
    };
    let mut images = std::collections::BTreeSet::new();
    for v in &versions {
        let list = table.images_unique(v).ok_or_else(|| {
            classified(
                ErrorKind::Config,
                format!(
                    "unsupported Kubernetes version {v}; supported: {}",
                    table.supported().join(", ")
                ),
            )
        })?;
        images.extend(list);
    }
    for i in &images {
        println!("{i}");
    }
    report::set_data(json!({ "kubernetes_versions": versions, "images": images }));
    Ok(0)
}

fn confirm_overwrite(args: &ConfigArgs, interactive: bool) -> anyhow::Result<bool> {
    if !interactive {
        return Ok(false);
    }
    let mut p = Prompter::new(std::io::stdin().lock(), std::io::stderr());
    let answer = p.ask(
        &format!("{} exists. Overwrite it", args.name.display()),
        "n",
    )?;
    Ok(is_yes(&answer))
}

/// RKE1 writes generated configs with mode 0640.
fn write_config(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o640)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    f.write_all(text.as_bytes())?;
    Ok(())
}

fn empty_config() -> RkeConfig {
    RkeConfig {
        nodes: vec![RkeConfigNode {
            role: vec!["controlplane".into(), "worker".into(), "etcd".into()],
            ..Default::default()
        }],
        version: versions::table().default_version().to_string(),
        ..Default::default()
    }
}

fn is_yes(s: &str) -> bool {
    matches!(s.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

/// Asks questions on `out` and reads answers line by line; an empty answer takes the default.
/// Without input it answers every question with its default.
pub struct Prompter<'a> {
    input: Option<Box<dyn BufRead + 'a>>,
    out: Box<dyn Write + 'a>,
}

impl<'a> Prompter<'a> {
    pub fn new(input: impl BufRead + 'a, out: impl Write + 'a) -> Self {
        Prompter {
            input: Some(Box::new(input)),
            out: Box::new(out),
        }
    }

    pub fn defaults_only() -> Self {
        Prompter {
            input: None,
            out: Box::new(std::io::sink()),
        }
    }

    pub fn ask(&mut self, question: &str, default: &str) -> anyhow::Result<String> {
        let Some(input) = self.input.as_mut() else {
            return Ok(default.to_string());
        };
        write!(self.out, "[+] {question} [{default}]: ")?;
        self.out.flush()?;
        let mut line = String::new();
        if input.read_line(&mut line)? == 0 {
            return Err(classified(ErrorKind::UserAbort, "input ended"));
        }
        let line = line.trim();
        Ok(if line.is_empty() {
            default.to_string()
        } else {
            line.to_string()
        })
    }

    fn ask_bool(&mut self, question: &str, default: bool) -> anyhow::Result<bool> {
        let a = self.ask(
            &format!("{question} (y/n)?"),
            if default { "y" } else { "n" },
        )?;
        Ok(is_yes(&a))
    }
}

/// RKE1's questions, in RKE1's order, with RKE1's defaults.
pub fn questionnaire(p: &mut Prompter) -> anyhow::Result<RkeConfig> {
    let mut cfg = RkeConfig {
        ssh_key_path: p.ask("Cluster Level SSH Private Key Path", "~/.ssh/id_rsa")?,
        ..Default::default()
    };
    let count: usize = p
        .ask("Number of Hosts", "1")?
        .parse()
        .map_err(|_| classified(ErrorKind::Config, "number of hosts must be a number"))?;
    for i in 1..=count {
        let address = p.ask(&format!("SSH Address of host ({i})"), "")?;
        let mut node = RkeConfigNode {
            port: p.ask(&format!("SSH Port of host ({i})"), "22")?,
            ssh_key_path: p.ask(
                &format!("SSH Private Key Path of host ({address})"),
                &cfg.ssh_key_path,
            )?,
            user: p.ask(&format!("SSH User of host ({address})"), "ubuntu")?,
            ..Default::default()
        };
        if p.ask_bool(&format!("Is host ({address}) a Control Plane host"), true)? {
            node.role.push("controlplane".into());
        }
        if p.ask_bool(&format!("Is host ({address}) a Worker host"), false)? {
            node.role.push("worker".into());
        }
        if p.ask_bool(&format!("Is host ({address}) an etcd host"), false)? {
            node.role.push("etcd".into());
        }
        node.hostname_override = p.ask(&format!("Override Hostname of host ({address})"), "")?;
        node.internal_address = p.ask(&format!("Internal IP of host ({address})"), "")?;
        node.docker_socket = p.ask(
            &format!("Docker socket path on host ({address})"),
            "/var/run/docker.sock",
        )?;
        node.address = address;
        cfg.nodes.push(node);
    }
    cfg.network.plugin = p.ask(
        "Network Plugin Type (flannel, calico, weave, canal, aci)",
        "canal",
    )?;
    cfg.authentication.strategy = p.ask("Authentication Strategy", "x509")?;
    cfg.authorization.mode = p.ask("Authorization Mode (rbac, none)", "rbac")?;
    cfg.version = p.ask("Kubernetes version", versions::table().default_version())?;
    cfg.services.kubelet.cluster_domain = p.ask("Cluster domain", "cluster.local")?;
    let service_cidr = p.ask("Service Cluster IP Range", "10.43.0.0/16")?;
    cfg.services.kube_api.service_cluster_ip_range = service_cidr.clone();
    cfg.services.kube_controller.service_cluster_ip_range = service_cidr;
    cfg.services.kube_controller.cluster_cidr = p.ask("Cluster Network CIDR", "10.42.0.0/16")?;
    cfg.services.kubelet.cluster_dns_server = p.ask("Cluster DNS Service IP", "10.43.0.10")?;
    Ok(cfg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_read_in_order_and_blank_takes_default() {
        let answers = "\n2\n10.0.0.1\n\n\nroot\ny\ny\ny\nnode-a\n\n\n\
                       10.0.0.2\n2222\n/k\nrke\nn\ny\nn\n\n192.168.0.2\n\n\
                       flannel\n\n\n\n\n\n\n\n";
        let mut out = Vec::new();
        let cfg = {
            let mut p = Prompter::new(answers.as_bytes(), &mut out);
            questionnaire(&mut p).unwrap()
        };
        assert_eq!(cfg.nodes.len(), 2);
        let a = &cfg.nodes[0];
        assert_eq!(
            (a.address.as_str(), a.port.as_str(), a.user.as_str()),
            ("10.0.0.1", "22", "root")
        );
        assert_eq!(a.role, ["controlplane", "worker", "etcd"]);
        assert_eq!(a.hostname_override, "node-a");
        let b = &cfg.nodes[1];
        assert_eq!(
            (b.port.as_str(), b.ssh_key_path.as_str(), b.user.as_str()),
            ("2222", "/k", "rke")
        );
        assert_eq!(b.role, ["worker"]);
        assert_eq!(b.internal_address, "192.168.0.2");
        assert_eq!(cfg.network.plugin, "flannel");
        assert_eq!(
            cfg.services.kube_api.service_cluster_ip_range,
            "10.43.0.0/16"
        );
        assert!(
            String::from_utf8(out)
                .unwrap()
                .contains("[+] Number of Hosts [1]: ")
        );
    }

    #[test]
    fn defaults_only_gives_rke1_defaults() {
        let cfg = questionnaire(&mut Prompter::defaults_only()).unwrap();
        assert_eq!(cfg.nodes.len(), 1);
        assert_eq!(cfg.nodes[0].role, ["controlplane"]);
        assert_eq!(cfg.nodes[0].user, "ubuntu");
        assert_eq!(cfg.network.plugin, "canal");
        assert_eq!(cfg.services.kubelet.cluster_dns_server, "10.43.0.10");
    }

    #[test]
    fn input_ending_early_is_an_abort() {
        let mut out = Vec::new();
        let mut p = Prompter::new("\n".as_bytes(), &mut out);
        let e = questionnaire(&mut p).unwrap_err();
        assert_eq!(crate::error::kind_of(&e), ErrorKind::UserAbort);
    }
}
