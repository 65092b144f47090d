//! Waiting for an addon's workloads (Deployments, DaemonSets, StatefulSets) to finish rolling
//! out, as `kubectl rollout status` judges it, and saying what is not ready when they don't.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::apply::Applier;
use super::manifest::ObjectRef;
use crate::error::{ErrorKind, classified};

const POLL: Duration = Duration::from_secs(2);

fn int(v: &Value) -> i64 {
    v.as_i64().unwrap_or(0)
}

/// What keeps a workload from being rolled out, or `None` when it is. Kinds other than
/// Deployment, DaemonSet and StatefulSet are always ready.
pub fn not_ready(kind: &str, object: &Value) -> Option<String> {
    let spec = &object["spec"];
    let status = &object["status"];
    let generation = int(&object["metadata"]["generation"]);
    if matches!(kind, "Deployment" | "DaemonSet" | "StatefulSet")
        && int(&status["observedGeneration"]) < generation
    {
        return Some("the controller has not seen the latest spec yet".into());
    }
    match kind {
        "Deployment" => {
            let want = spec["replicas"].as_i64().unwrap_or(1);
            let updated = int(&status["updatedReplicas"]);
            let total = int(&status["replicas"]);
            let available = int(&status["availableReplicas"]);
            if updated < want {
                Some(format!("{updated} of {want} replicas updated"))
            } else if total > updated {
                Some(format!("{} old replicas still running", total - updated))
            } else if available < updated {
                Some(format!("{available} of {want} replicas available"))
            } else {
                None
            }
        }
        "DaemonSet" => {
            let want = int(&status["desiredNumberScheduled"]);
            let updated = int(&status["updatedNumberScheduled"]);
            let available = int(&status["numberAvailable"]);
            let on_delete = spec["updateStrategy"]["type"] == "OnDelete";
            if !on_delete && updated < want {
                Some(format!("{updated} of {want} pods updated"))
            } else if available < want {
                Some(format!("{available} of {want} pods available"))
            } else {
                None
            }
        }
        "StatefulSet" => {
            let want = spec["replicas"].as_i64().unwrap_or(1);
            let ready = int(&status["readyReplicas"]);
            let rolling = spec["updateStrategy"]["type"] != "OnDelete";
            if ready < want {
                Some(format!("{ready} of {want} replicas ready"))
            } else if rolling && status["updateRevision"] != status["currentRevision"] {
                Some("update to the latest revision not finished".into())
            } else {
                None
            }
        }
        _ => None,
    }
}

/// Why the pods of a workload are not running: container waiting reasons (ImagePullBackOff,
/// CrashLoopBackOff, ...), running containers that are not ready, unschedulable conditions, or
/// a pod its node's kubelet has not started at all, one line per pod, naming the node.
pub fn pod_problems(pods: &[Value]) -> Vec<String> {
    let mut out = Vec::new();
    for pod in pods {
        let name = pod["metadata"]["name"].as_str().unwrap_or("?");
        let status = &pod["status"];
        let containers: Vec<&Value> = status["containerStatuses"]
            .as_array()
            .into_iter()
            .chain(status["initContainerStatuses"].as_array())
            .flatten()
            .collect();
        let mut reasons: Vec<String> = containers
            .iter()
            .filter_map(|c| container_problem(c))
            .collect();
        for cond in status["conditions"].as_array().into_iter().flatten() {
            if cond["type"] == "PodScheduled" && cond["status"] == "False" {
                let message = cond["message"].as_str().unwrap_or("not scheduled");
                reasons.push(format!("not scheduled: {message}"));
            }
        }
        let node = pod["spec"]["nodeName"].as_str().filter(|n| !n.is_empty());
        if reasons.is_empty() && containers.is_empty() && node.is_some() {
            // Bound to a node whose kubelet never reported on it.
            let phase = status["phase"].as_str().unwrap_or("no phase");
            reasons.push(format!("not started by the node's kubelet ({phase})"));
        }
        if !reasons.is_empty() {
            let on = node.map(|n| format!(" on {n}")).unwrap_or_default();
            out.push(format!("pod {name}{on}: {}", reasons.join("; ")));
        }
    }
    out
}

/// What is wrong with one container status, if anything: waiting (with the reason and the
/// last exit, if it restarted) or running without being ready.
fn container_problem(c: &Value) -> Option<String> {
    let container = c["name"].as_str().unwrap_or("?");
    let restarts = int(&c["restartCount"]);
    let last_exit = &c["lastState"]["terminated"];
    let restarted = if restarts > 0 {
        let exit = last_exit["exitCode"].as_i64().map(|code| {
            let reason = last_exit["reason"].as_str().unwrap_or_default();
            format!(", last exit {code} {reason}")
                .trim_end()
                .to_string()
        });
        format!(" ({restarts} restarts{})", exit.unwrap_or_default())
    } else {
        String::new()
    };
    let waiting = &c["state"]["waiting"];
    if let Some(reason) = waiting["reason"].as_str() {
        let message = waiting["message"].as_str().unwrap_or_default();
        return Some(if message.is_empty() {
            format!("container {container}: {reason}{restarted}")
        } else {
            format!("container {container}: {reason}: {message}{restarted}")
        });
    }
    let running = c["state"]["running"].is_object();
    (running && c["ready"] == false)
        .then(|| format!("container {container}: running, not ready{restarted}"))
}

/// The workload's label selector as `key=value,...` (matchLabels only).
fn selector(object: &Value) -> Option<String> {
    let labels = object["spec"]["selector"]["matchLabels"].as_object()?;
    Some(
        labels
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
            .collect::<Vec<_>>()
            .join(","),
    )
}

pub fn is_workload(r: &ObjectRef) -> bool {
    r.group() == "apps" && matches!(r.kind.as_str(), "Deployment" | "DaemonSet" | "StatefulSet")
}

/// Wait until every workload among `applied` has rolled out, or fail after `timeout` naming
/// the addon, each workload that is not ready, why, and its pods' problems.
pub async fn wait(
    applier: &mut Applier,
    addon: &str,
    applied: &[ObjectRef],
    timeout: Duration,
) -> anyhow::Result<()> {
    let workloads: Vec<&ObjectRef> = applied.iter().filter(|r| is_workload(r)).collect();
    let deadline = Instant::now() + timeout;
    loop {
        let mut pending = Vec::new();
        for r in &workloads {
            match applier.get(r).await? {
                None => pending.push((*r, "does not exist".to_string(), None)),
                Some(object) => {
                    if let Some(why) = not_ready(&r.kind, &object) {
                        pending.push((*r, why, Some(object)));
                    }
                }
            }
        }
        if pending.is_empty() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            let mut lines = Vec::new();
            for (r, why, object) in pending {
                let mut line = format!("{r}: {why}");
                if let Some(sel) = object.as_ref().and_then(selector) {
                    let pods = applier.pods(&r.namespace, &sel).await.unwrap_or_default();
                    for p in pod_problems(&pods) {
                        line.push_str(&format!("; {p}"));
                    }
                }
                lines.push(line);
            }
            return Err(classified(
                ErrorKind::HealthTimeout,
                format!(
                    "addon {addon}: not rolled out after {}s (addon_job_timeout): {}",
                    timeout.as_secs(),
                    lines.join(" | ")
                ),
            ));
        }
        tokio::time::sleep(POLL).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn deployment_readiness_follows_rollout_status() {
        let d = |generation: i64,
                 observed: i64,
                 replicas: i64,
                 updated: i64,
                 total: i64,
                 avail: i64| {
            json!({"metadata": {"generation": generation}, "spec": {"replicas": replicas},
                   "status": {"observedGeneration": observed, "updatedReplicas": updated,
                              "replicas": total, "availableReplicas": avail}})
        };
        assert_eq!(not_ready("Deployment", &d(2, 2, 2, 2, 2, 2)), None);
        assert!(
            not_ready("Deployment", &d(3, 2, 2, 2, 2, 2))
                .unwrap()
                .contains("latest spec")
        );
        assert_eq!(
            not_ready("Deployment", &d(2, 2, 3, 2, 2, 2)).as_deref(),
            Some("2 of 3 replicas updated")
        );
        assert_eq!(
            not_ready("Deployment", &d(2, 2, 2, 2, 3, 2)).as_deref(),
            Some("1 old replicas still running")
        );
        assert_eq!(
            not_ready("Deployment", &d(2, 2, 2, 2, 2, 0)).as_deref(),
            Some("0 of 2 replicas available")
        );
    }

    #[test]
    fn daemonset_and_statefulset_readiness() {
        let ds = json!({"metadata": {"generation": 1}, "spec": {},
            "status": {"observedGeneration": 1, "desiredNumberScheduled": 3,
                       "updatedNumberScheduled": 3, "numberAvailable": 2}});
        assert_eq!(
            not_ready("DaemonSet", &ds).as_deref(),
            Some("2 of 3 pods available")
        );
        let sts = json!({"metadata": {"generation": 1}, "spec": {"replicas": 1},
            "status": {"observedGeneration": 1, "readyReplicas": 1,
                       "currentRevision": "a", "updateRevision": "a"}});
        assert_eq!(not_ready("StatefulSet", &sts), None);
        assert_eq!(not_ready("ConfigMap", &json!({})), None);
    }

    #[test]
    fn pod_problems_name_waiting_reasons() {
        let pods = vec![
            json!({"metadata": {"name": "p"}, "status": {"containerStatuses": [
            {"name": "app", "state": {"waiting": {"reason": "ImagePullBackOff",
                                                  "message": "Back-off pulling image"}}}]}}),
        ];
        assert_eq!(
            pod_problems(&pods),
            ["pod p: container app: ImagePullBackOff: Back-off pulling image"]
        );
    }

    #[test]
    fn pod_problems_name_unready_containers_and_pods_no_kubelet_started() {
        let pods = vec![
            json!({"metadata": {"name": "dns"}, "spec": {"nodeName": "node2"},
                   "status": {"phase": "Running", "containerStatuses": [
                {"name": "coredns", "ready": false, "restartCount": 2,
                 "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}},
                 "state": {"running": {}}}]}}),
            json!({"metadata": {"name": "stuck"}, "spec": {"nodeName": "node3"},
                   "status": {"phase": "Pending"}}),
            json!({"metadata": {"name": "fine"}, "spec": {"nodeName": "node1"},
                   "status": {"phase": "Running", "containerStatuses": [
                {"name": "app", "ready": true, "restartCount": 0, "state": {"running": {}}}]}}),
            json!({"metadata": {"name": "unbound"}, "status": {"phase": "Pending"}}),
        ];
        assert_eq!(
            pod_problems(&pods),
            [
                "pod dns on node2: container coredns: running, not ready (2 restarts, last exit 1 Error)",
                "pod stuck on node3: not started by the node's kubelet (Pending)",
            ]
        );
    }
}
