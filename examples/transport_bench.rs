//! Connect-phase benchmark: time to connect to N nodes (SSH, host key, auth, Docker socket,
//! `docker version` + `docker info` in the connect phase) and then run `docker version` on
//! each through the tunnel. Prints the median of R rounds and the process's peak RSS.
//!
//! Usage: transport_bench ENV_JSON [--nodes N] [--rounds R] [--user U]
//! ENV_JSON is the e2e environment description (`tests/env`): nodes[].address,
//! ssh.private_key. Driven by `bench/connect.sh`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use rke::transport::{self, ConnectOptions, HostKeyPolicy, SshAuth, SshTarget};

struct Args {
    env: PathBuf,
    nodes: usize,
    rounds: usize,
    user: String,
}

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let mut out = Args {
        env: PathBuf::new(),
        nodes: usize::MAX,
        rounds: 5,
        user: "root".into(),
    };
    while let Some(a) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match a.as_str() {
            "--nodes" => {
                out.nodes = value("--nodes")?
                    .parse()
                    .map_err(|e| format!("--nodes: {e}"))?
            }
            "--rounds" => {
                out.rounds = value("--rounds")?
                    .parse()
                    .map_err(|e| format!("--rounds: {e}"))?
            }
            "--user" => out.user = value("--user")?,
            s if !s.starts_with('-') => out.env = PathBuf::from(s),
            s => return Err(format!("unknown argument {s}")),
        }
    }
    if out.env.as_os_str().is_empty() {
        return Err("usage: transport_bench ENV_JSON [--nodes N] [--rounds R] [--user U]".into());
    }
    Ok(out)
}

fn targets(args: &Args) -> Result<Vec<SshTarget>, String> {
    let text =
        std::fs::read_to_string(&args.env).map_err(|e| format!("{}: {e}", args.env.display()))?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let key = v["ssh"]["private_key"]
        .as_str()
        .ok_or("env: ssh.private_key missing")?;
    let nodes = v["nodes"].as_array().ok_or("env: nodes missing")?;
    if nodes.len() < args.nodes && args.nodes != usize::MAX {
        return Err(format!(
            "env has {} nodes, {} requested",
            nodes.len(),
            args.nodes
        ));
    }
    Ok(nodes
        .iter()
        .take(args.nodes)
        .map(|n| {
            let address = n["address"].as_str().unwrap_or_default();
            let mut t = SshTarget::new(address, args.user.clone(), SshAuth::key_file(key));
            t.name = n["name"].as_str().unwrap_or(address).to_string();
            t
        })
        .collect())
}

/// Peak resident set size of this process (VmHWM), in KiB.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

async fn round(targets: &[SshTarget], known_hosts: &std::path::Path) -> Result<Duration, String> {
    let opts = ConnectOptions {
        known_hosts: known_hosts.to_path_buf(),
        policy: HostKeyPolicy::AcceptNew,
        timeout: Duration::from_secs(30),
        concurrency: 50,
    };
    let started = Instant::now();
    let (nodes, errors) = transport::connect_all(targets, &opts, &|_| Ok(()), true).await;
    if let Some(e) = errors.first() {
        return Err(format!(
            "{} of {} nodes failed; first: {e}",
            errors.len(),
            targets.len()
        ));
    }
    let versions = join_all(nodes.iter().map(|n| n.docker().version())).await;
    let took = started.elapsed();
    for v in versions {
        v.map_err(|e| format!("docker version: {e}"))?;
    }
    Ok(took)
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let targets = match targets(&args) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let known_hosts = dir.path().join("known_hosts");
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let mut times = Vec::new();
    for i in 0..args.rounds {
        match runtime.block_on(round(&targets, &known_hosts)) {
            Ok(t) => {
                eprintln!("round {}: {:.0} ms", i + 1, t.as_secs_f64() * 1000.0);
                times.push(t);
            }
            Err(e) => {
                eprintln!("round {} failed: {e}", i + 1);
                std::process::exit(1);
            }
        }
    }
    times.sort();
    let ms = |d: &Duration| d.as_secs_f64() * 1000.0;
    println!(
        "nodes={} user={} rounds={} median_ms={:.0} min_ms={:.0} max_ms={:.0} peak_rss_kib={}",
        targets.len(),
        args.user,
        times.len(),
        ms(&times[times.len() / 2]),
        ms(&times[0]),
        ms(&times[times.len() - 1]),
        peak_rss_kib()
    );
}
