//! Polls the Kubernetes API in the background while `rke up` changes the cluster.
//!
//! Every ~0.5 s it asks each control-plane node's API server for `/healthz` (kubectl with the
//! admin kubeconfig, `--server` per node). A tick where no control-plane node answers is an
//! outage; a single API server restarting while another answers is not (rke rolls control
//! planes one at a time, so one must stay up), but those blips are counted and reported.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub struct Report {
    pub ticks: usize,
    /// "t=12.3s: https://...: error; https://...: error" for ticks where nothing answered.
    pub outages: Vec<String>,
    /// Per endpoint: how many ticks it did not answer.
    pub endpoint_failures: Vec<(String, usize)>,
}

pub struct ApiWatch {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<Report>>,
}

impl ApiWatch {
    pub fn start(kubectl: PathBuf, kubeconfig: PathBuf, servers: Vec<String>) -> ApiWatch {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::spawn(move || {
            let started = Instant::now();
            let mut report = Report {
                ticks: 0,
                outages: Vec::new(),
                endpoint_failures: servers.iter().map(|s| (s.clone(), 0)).collect(),
            };
            while !flag.load(Ordering::Relaxed) {
                let tick = Instant::now();
                // Ask every endpoint at once so a slow one does not stretch the tick.
                let probes: Vec<_> = servers
                    .iter()
                    .map(|server| {
                        let (kubectl, kubeconfig, server) =
                            (kubectl.clone(), kubeconfig.clone(), server.clone());
                        std::thread::spawn(move || healthz(&kubectl, &kubeconfig, &server))
                    })
                    .collect();
                let results: Vec<Result<(), String>> = probes
                    .into_iter()
                    .map(|p| p.join().unwrap_or_else(|_| Err("probe panicked".into())))
                    .collect();
                report.ticks += 1;
                for (i, r) in results.iter().enumerate() {
                    if r.is_err() {
                        report.endpoint_failures[i].1 += 1;
                    }
                }
                if results.iter().all(Result::is_err) {
                    let why: Vec<String> = servers
                        .iter()
                        .zip(&results)
                        .map(|(s, r)| format!("{s}: {}", r.as_ref().unwrap_err()))
                        .collect();
                    report.outages.push(format!(
                        "t={:.1}s: {}",
                        started.elapsed().as_secs_f64(),
                        why.join("; ")
                    ));
                }
                if let Some(rest) = Duration::from_millis(500).checked_sub(tick.elapsed()) {
                    std::thread::sleep(rest);
                }
            }
            report
        });
        ApiWatch {
            stop,
            handle: Some(handle),
        }
    }

    pub fn finish(mut self) -> Report {
        self.stop.store(true, Ordering::Relaxed);
        self.handle
            .take()
            .expect("finish runs once")
            .join()
            .expect("the API watch thread does not panic")
    }
}

impl Drop for ApiWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn healthz(kubectl: &PathBuf, kubeconfig: &PathBuf, server: &str) -> Result<(), String> {
    let out = Command::new(kubectl)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(["--server", server, "--request-timeout=3s"])
        .args(["get", "--raw", "/healthz"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| e.to_string())?;
    let body = String::from_utf8_lossy(&out.stdout);
    if out.status.success() && body.trim() == "ok" {
        Ok(())
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        Err(format!("{} {}", body.trim(), err.trim())
            .trim()
            .chars()
            .take(200)
            .collect())
    }
}
