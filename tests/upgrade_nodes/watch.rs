//! Polls the Nodes while `rke up` rolls the worker plane: at every poll, which worker nodes are
//! out of service (cordoned or not Ready). Nodes the test itself broke are left out from the
//! moment it broke them: the limit is on what rke does.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

pub struct NodeReport {
    pub polls: usize,
    /// The most nodes out of service at one poll.
    pub max_out: usize,
    /// "t=12.3s: node1 (cordoned), node4 (NotReady)" for polls with more than `limit` out.
    pub over_limit: Vec<String>,
    /// Every node seen out of service at least once.
    pub ever_out: Vec<String>,
}

pub struct NodeWatch {
    stop: Arc<AtomicBool>,
    pub excluded: Arc<Mutex<Vec<String>>>,
    handle: Option<JoinHandle<NodeReport>>,
}

impl NodeWatch {
    pub fn start(kubectl: PathBuf, kubeconfig: PathBuf, limit: usize) -> NodeWatch {
        let stop = Arc::new(AtomicBool::new(false));
        let excluded = Arc::new(Mutex::new(Vec::<String>::new()));
        let (flag, skip) = (stop.clone(), excluded.clone());
        let handle = std::thread::spawn(move || {
            let started = Instant::now();
            let mut report = NodeReport {
                polls: 0,
                max_out: 0,
                over_limit: Vec::new(),
                ever_out: Vec::new(),
            };
            while !flag.load(Ordering::Relaxed) {
                let tick = Instant::now();
                if let Some(nodes) = list_nodes(&kubectl, &kubeconfig) {
                    let skip = skip.lock().unwrap().clone();
                    let out: Vec<String> = out_of_service(&nodes)
                        .into_iter()
                        .filter(|(n, _)| !skip.contains(n))
                        .map(|(n, why)| {
                            if !report.ever_out.contains(&n) {
                                report.ever_out.push(n.clone());
                            }
                            format!("{n} ({why})")
                        })
                        .collect();
                    report.polls += 1;
                    report.max_out = report.max_out.max(out.len());
                    if out.len() > limit {
                        report.over_limit.push(format!(
                            "t={:.1}s: {}",
                            started.elapsed().as_secs_f64(),
                            out.join(", ")
                        ));
                    }
                }
                if let Some(rest) = Duration::from_millis(700).checked_sub(tick.elapsed()) {
                    std::thread::sleep(rest);
                }
            }
            report
        });
        NodeWatch {
            stop,
            excluded,
            handle: Some(handle),
        }
    }

    pub fn finish(mut self) -> NodeReport {
        self.stop.store(true, Ordering::Relaxed);
        self.handle
            .take()
            .expect("finish runs once")
            .join()
            .expect("the node watch thread does not panic")
    }
}

impl Drop for NodeWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn list_nodes(kubectl: &PathBuf, kubeconfig: &PathBuf) -> Option<Value> {
    let out = Command::new(kubectl)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(["--request-timeout=3s", "get", "nodes", "-o", "json"])
        .stdin(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    serde_json::from_slice(&out.stdout).ok()
}

/// (name, why) of every node that is cordoned or not Ready.
pub fn out_of_service(list: &Value) -> Vec<(String, &'static str)> {
    list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| {
            let name = n["metadata"]["name"].as_str()?.to_string();
            let ready = n["status"]["conditions"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|c| c["type"] == "Ready" && c["status"] == "True");
            let cordoned = n["spec"]["unschedulable"] == true;
            match (cordoned, ready) {
                (true, _) => Some((name, "cordoned")),
                (false, false) => Some((name, "NotReady")),
                _ => None,
            }
        })
        .collect()
}
