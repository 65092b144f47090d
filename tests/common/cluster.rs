//! The scenario's working directory (cluster.yml, state file, kubeconfig) and the two tools it
//! drives: the rke binary under test and the environment's kubectl. Shared by the node scenarios,
//! which each use part of it.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::Value;

use super::api_watch::{ApiWatch, Report};
use super::e2e;

/// One `rke` run: exit code, output, duration.
pub struct RkeRun {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl RkeRun {
    /// Exit code, stdout and the tail of stderr, for failure messages.
    pub fn describe(&self) -> String {
        format!(
            "exit {:?} after {:.1}s\n--- stdout ---\n{}\n--- stderr (last 60 lines) ---\n{}",
            self.code,
            self.elapsed.as_secs_f64(),
            self.stdout.trim_end(),
            tail(&self.stderr, 60)
        )
    }

    /// Everything the run printed.
    pub fn describe_all(&self) -> String {
        format!(
            "exit {:?} after {:.1}s\n--- stdout ---\n{}\n--- stderr ---\n{}\n",
            self.code,
            self.elapsed.as_secs_f64(),
            self.stdout.trim_end(),
            self.stderr.trim_end()
        )
    }

    pub fn last_stdout_line(&self) -> &str {
        self.stdout.trim_end().lines().last().unwrap_or("")
    }

    /// A `--output json` run that succeeded: exit 0, every stdout line a JSON object, events
    /// (`"type":"event"`) then one closing result of `command` with `success: true` and no
    /// errors. Returns the events and the result.
    pub fn json_ok(&self, command: &str) -> anyhow::Result<(Vec<Value>, Value)> {
        anyhow::ensure!(self.code == Some(0), "rke {command}: {}", self.describe());
        let mut lines = Vec::new();
        for line in self.stdout.lines() {
            let v: Value = serde_json::from_str(line)
                .with_context(|| format!("stdout line is not JSON: {line}"))?;
            lines.push(v);
        }
        let result = lines.pop().context("no JSON on stdout")?;
        anyhow::ensure!(
            result["type"] == "result"
                && result["command"] == command
                && result["success"] == true
                && result["exit_code"] == 0
                && result["errors"] == serde_json::json!([]),
            "not a successful result of {command}: {result}"
        );
        for e in &lines {
            anyhow::ensure!(e["type"] == "event", "a line before the result: {e}");
        }
        Ok((lines, result))
    }
}

pub fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.trim_end().lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

pub struct Ctx {
    pub env: Value,
    pub dir: tempfile::TempDir,
    /// Where cluster.yml, the state file and the kubeconfig are (`dir` unless a step moves to
    /// another cluster's directory).
    pub work: PathBuf,
    /// Extra environment for every rke run (e.g. S3 keys, which must work from variables).
    pub rke_env: Vec<(String, String)>,
    /// A known_hosts file to use instead of the environment's (which holds the real keys).
    pub known_hosts: Option<PathBuf>,
    pub kubectl: PathBuf,
    /// The image test pods run (the environment's busybox, from the private registry).
    pub pod_image: String,
    /// Polls the API while nodes are added and removed (started and checked by the steps).
    pub api_watch: Option<ApiWatch>,
    pub api_report: Option<Report>,
    /// Runs so far; each run's output is saved as `rke-<n>.log` in the working directory.
    runs: std::cell::Cell<usize>,
}

impl Ctx {
    pub fn new(env: Value) -> anyhow::Result<Ctx> {
        let kubectl = e2e::kubectl(&env);
        anyhow::ensure!(
            kubectl.is_file(),
            "no kubectl at {} (tests/env/up.sh builds it)",
            kubectl.display()
        );
        let pod_image = env["images"]["busybox"]
            .as_str()
            .context("env.json has no images.busybox")?
            .to_string();
        let dir = tempfile::Builder::new().prefix("rke-up-nodes.").tempdir()?;
        Ok(Ctx {
            env,
            work: dir.path().to_path_buf(),
            rke_env: Vec::new(),
            known_hosts: None,
            dir,
            kubectl,
            pod_image,
            api_watch: None,
            api_report: None,
            runs: std::cell::Cell::new(0),
        })
    }

    /// The API server URLs of the scenarios' control-plane nodes (node1 and node2), which
    /// steps poll to show the API stays up.
    pub fn api_servers(&self) -> Vec<String> {
        (0..2)
            .map(|i| {
                let address = self.env["nodes"][i]["address"].as_str().unwrap_or_default();
                format!("https://{address}:6443")
            })
            .collect()
    }

    pub fn config(&self) -> PathBuf {
        self.work.join("cluster.yml")
    }

    pub fn state_file(&self) -> PathBuf {
        self.work.join("cluster.rkestate")
    }

    pub fn kubeconfig(&self) -> PathBuf {
        self.work.join("kube_config_cluster.yml")
    }

    /// Write cluster.yml for `nodes` (`I:ROLES` specs) and kubelet `KEY=VALUE` args.
    pub fn write_config(&self, nodes: &[&str], kubelet_args: &[&str]) -> anyhow::Result<()> {
        let yml = e2e::generated_cluster_yml(nodes, kubelet_args);
        std::fs::write(self.config(), yml).context("writing cluster.yml")
    }

    /// `rke up [extra...] --config cluster.yml`, host keys checked strictly against the
    /// environment's known_hosts (which holds the real keys of all nodes).
    pub fn rke_up(&self, extra: &[&str]) -> RkeRun {
        self.rke_up_during(extra, || true)
    }

    /// `rke up` as `rke_up`, calling `act` about every 0.25 s while it runs until `act`
    /// returns true (it has done what it waited for).
    pub fn rke_up_during(&self, extra: &[&str], act: impl FnMut() -> bool) -> RkeRun {
        let mut args = vec!["up"];
        args.extend_from_slice(extra);
        self.rke_during(&args, act)
    }

    /// `rke <args...> --config cluster.yml` with strict host keys, like `rke_up`.
    pub fn rke(&self, args: &[&str]) -> RkeRun {
        self.rke_during(args, || true)
    }

    /// `rke <args...>` as `rke`, calling `act` about every 0.25 s while it runs until `act`
    /// returns true.
    pub fn rke_during(&self, args: &[&str], mut act: impl FnMut() -> bool) -> RkeRun {
        let started = Instant::now();
        let child = self
            .rke_command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the rke binary runs");
        // A thread drains the pipes, so a chatty rke never blocks on a full one.
        let waiter = std::thread::spawn(move || child.wait_with_output());
        let mut acted = false;
        while !waiter.is_finished() {
            if !acted {
                acted = act();
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        let out = waiter
            .join()
            .expect("the waiting thread does not panic")
            .expect("waiting for rke");
        let run = RkeRun {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            elapsed: started.elapsed(),
        };
        let label = format!("rke {}", args.join(" "));
        self.runs.set(self.runs.get() + 1);
        let log = self.dir.path().join(format!("rke-{}.log", self.runs.get()));
        let saved = format!("$ {label}\n{}", run.describe_all());
        if let Err(e) = std::fs::write(&log, &saved) {
            eprintln!("cannot save {}: {e}", log.display());
        }
        e2e::append_transcript(&saved);
        println!(
            "    {label}: exit {:?} in {:.1}s (output: {})",
            run.code,
            run.elapsed.as_secs_f64(),
            log.file_name().unwrap_or_default().to_string_lossy()
        );
        run
    }

    /// The command `rke` and `rke_during` run (stdin closed; output not yet redirected), for
    /// steps that need the process itself (to signal it).
    pub fn rke_command(&self, args: &[&str]) -> Command {
        let known_hosts = match &self.known_hosts {
            Some(path) => path.display().to_string(),
            None => self.env["ssh"]["known_hosts"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        };
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_rke"));
        cmd.args(args)
            .arg("--config")
            .arg(self.config())
            .args(["--ssh-host-key-checking", "strict", "--known-hosts"])
            .arg(&known_hosts)
            .env("NO_COLOR", "1")
            .envs(self.rke_env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env_remove("RKE_CONFIG")
            .stdin(Stdio::null());
        cmd
    }

    /// `rke up` that must succeed and leave the state file and kubeconfig behind.
    pub fn up_ok(&self) -> anyhow::Result<RkeRun> {
        let run = self.rke_up(&[]);
        if run.code != Some(0) {
            bail!("rke up failed: {}", run.describe());
        }
        for f in [self.state_file(), self.kubeconfig()] {
            anyhow::ensure!(f.is_file(), "rke up exited 0 but wrote no {}", f.display());
        }
        self.apply_network()?;
        Ok(run)
    }

    /// The environment's network plugin (tests/env/network-addon.sh: a DaemonSet that gives
    /// each node a bridge network for its Node's podCIDR and routes the other nodes' pod
    /// subnets), applied with kubectl as a user of `network: none` would. Idempotent; `up_ok`
    /// calls it after every run, and nodes go Ready once its pod runs on them.
    pub fn apply_network(&self) -> anyhow::Result<()> {
        let manifest = e2e::network_addon_yaml(&self.env);
        self.kubectl_stdin(&["apply", "-f", "-"], &manifest)
            .map(drop)
            .context("applying the environment's network plugin")
    }

    /// `rke up --dry-run`, checking the contract every dry run keeps: exit 0 or 2 and a last
    /// stdout line starting with `Dry run:`.
    pub fn dry_run(&self, want_code: i32) -> anyhow::Result<RkeRun> {
        let run = self.rke_up(&["--dry-run"]);
        if run.code != Some(want_code) {
            bail!(
                "rke up --dry-run: want exit {want_code}: {}",
                run.describe()
            );
        }
        anyhow::ensure!(
            run.last_stdout_line().starts_with("Dry run:"),
            "the last stdout line of a dry run must start with `Dry run:`: {}",
            run.describe()
        );
        println!("      {}", run.last_stdout_line());
        Ok(run)
    }

    fn kubectl_cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.kubectl);
        c.arg("--kubeconfig")
            .arg(self.kubeconfig())
            .arg("--request-timeout=20s")
            .args(args);
        c
    }

    pub fn kubectl(&self, args: &[&str]) -> anyhow::Result<String> {
        let out = self.kubectl_cmd(args).stdin(Stdio::null()).output()?;
        checked(out, &format!("kubectl {}", args.join(" ")))
    }

    pub fn kubectl_stdin(&self, args: &[&str], input: &str) -> anyhow::Result<String> {
        use std::io::Write as _;
        let mut child = self
            .kubectl_cmd(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        child
            .stdin
            .take()
            .expect("piped stdin")
            .write_all(input.as_bytes())?;
        checked(
            child.wait_with_output()?,
            &format!("kubectl {}", args.join(" ")),
        )
    }

    /// Node name -> Ready condition status, from `kubectl get nodes`.
    pub fn nodes(&self) -> anyhow::Result<Vec<(String, bool)>> {
        let v: Value = serde_json::from_str(&self.kubectl(&["get", "nodes", "-o", "json"])?)?;
        Ok(v["items"]
            .as_array()
            .context("kubectl get nodes: no items")?
            .iter()
            .map(|n| {
                let ready = n["status"]["conditions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True");
                (
                    n["metadata"]["name"].as_str().unwrap_or("").to_string(),
                    ready,
                )
            })
            .collect())
    }

    /// Wait until exactly `names` are registered and all of them Ready.
    pub fn wait_nodes_ready(&self, names: &[&str], timeout: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            let seen = self.nodes();
            if let Ok(seen) = &seen {
                let mut listed: Vec<&str> = seen.iter().map(|(n, _)| n.as_str()).collect();
                listed.sort_unstable();
                let mut want = names.to_vec();
                want.sort_unstable();
                if listed == want && seen.iter().all(|(_, ready)| *ready) {
                    return Ok(());
                }
            }
            if Instant::now() >= deadline {
                bail!(
                    "after {timeout:?} the nodes are {seen:?}; want exactly {names:?}, all Ready"
                );
            }
            std::thread::sleep(Duration::from_secs(3));
        }
    }
}

fn checked(out: Output, what: &str) -> anyhow::Result<String> {
    if !out.status.success() {
        bail!(
            "{what}: {}{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Retry `f` every 2 s until it succeeds or `timeout` passes; the last error explains.
pub fn eventually<T>(
    what: &str,
    timeout: Duration,
    mut f: impl FnMut() -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let deadline = Instant::now() + timeout;
    loop {
        match f() {
            Ok(v) => return Ok(v),
            Err(e) if Instant::now() >= deadline => {
                return Err(e.context(format!("{what} (gave up after {timeout:?})")));
            }
            Err(_) => std::thread::sleep(Duration::from_secs(2)),
        }
    }
}
