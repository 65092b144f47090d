//! Taking a node out of service around the replacement of its worker components: a cordon
//! rke remembers on the Node (so a later run lifts a cordon a failed run left, and never one a
//! user set), and a drain through the Eviction API with `kubectl drain`'s pod rules.

use std::time::Duration;

use k8s_openapi::api::core::v1::{Node, Pod};
use kube::Api;
use kube::api::{ListParams, Patch, PatchParams};
use serde_json::json;
use tokio::time::Instant;

use super::{KubeClient, api_error};
use crate::config::NodeUpgradeStrategy;
use crate::error::{ErrorKind, classified};

/// Set on a Node rke cordoned for an upgrade; only such cordons are lifted by rke.
pub const UPGRADE_CORDONED: &str = "rke.cattle.io/upgrade-cordoned";
/// kubelet's annotation on the API mirror of a static pod.
const MIRROR_POD: &str = "kubernetes.io/config.mirror";
/// How long between eviction retries a PodDisruptionBudget refused (kubectl waits 5 s).
const EVICT_RETRY: Duration = if cfg!(test) {
    Duration::from_millis(10)
} else {
    Duration::from_secs(5)
};
const POLL: Duration = if cfg!(test) {
    Duration::from_millis(10)
} else {
    Duration::from_secs(1)
};

/// `upgrade_strategy.node_drain_input`, with RKE1's defaults for what is absent.
#[derive(Debug, Clone, PartialEq)]
pub struct DrainOptions {
    /// Also delete pods no controller owns (they are gone for good).
    pub force: bool,
    /// Leave DaemonSet pods alone (their controller would recreate them at once).
    pub ignore_daemonsets: bool,
    /// Also evict pods with emptyDir volumes (their data is lost).
    pub delete_local_data: bool,
    /// Seconds each pod gets to stop; `None` is the pod's own grace period.
    pub grace_period: Option<u32>,
    /// How long the whole drain may take.
    pub timeout: Duration,
}

impl DrainOptions {
    /// The drain `strategy` asks for, `None` when it only cordons. `drain: true` without
    /// `node_drain_input` takes the defaults (RKE1 crashed there: rke#2349).
    pub fn from_strategy(strategy: &NodeUpgradeStrategy) -> Option<DrainOptions> {
        if strategy.drain != Some(true) {
            return None;
        }
        let input = strategy.drain_input.clone().unwrap_or_default();
        Some(DrainOptions {
            force: input.force,
            ignore_daemonsets: input.ignore_daemon_sets.unwrap_or(true),
            delete_local_data: input.delete_local_data,
            grace_period: u32::try_from(input.grace_period).ok(),
            timeout: Duration::from_secs(u64::try_from(input.timeout).unwrap_or(0).max(1)),
        })
    }
}

/// What a drain does with one pod (`kubectl drain`'s filters, in its order).
#[derive(Debug, Clone, PartialEq)]
pub enum PodVerdict {
    Evict,
    /// Left on the node, with why.
    Skip(&'static str),
    /// Blocks the drain, with the option that would allow it.
    Refuse(&'static str),
}

/// Decide what draining does with `pod`.
pub fn pod_verdict(pod: &Pod, opts: &DrainOptions) -> PodVerdict {
    let meta = &pod.metadata;
    if meta.deletion_timestamp.is_some() {
        return PodVerdict::Skip("already being deleted");
    }
    let controller = meta
        .owner_references
        .iter()
        .flatten()
        .find(|o| o.controller == Some(true));
    if controller.is_some_and(|c| c.kind == "DaemonSet") {
        return if opts.ignore_daemonsets {
            PodVerdict::Skip("DaemonSet pod")
        } else {
            PodVerdict::Refuse("DaemonSet-managed (set ignore_daemonsets)")
        };
    }
    if meta
        .annotations
        .as_ref()
        .is_some_and(|a| a.contains_key(MIRROR_POD))
    {
        return PodVerdict::Skip("mirror pod");
    }
    // A finished pod loses nothing by being deleted.
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    if matches!(phase, Some("Succeeded" | "Failed")) {
        return PodVerdict::Evict;
    }
    let empty_dir = pod
        .spec
        .as_ref()
        .and_then(|s| s.volumes.as_ref())
        .is_some_and(|vs| vs.iter().any(|v| v.empty_dir.is_some()));
    if empty_dir && !opts.delete_local_data {
        return PodVerdict::Refuse("uses emptyDir local storage (set delete_local_data)");
    }
    if controller.is_none() && !opts.force {
        return PodVerdict::Refuse("not managed by a controller (set force)");
    }
    PodVerdict::Evict
}

/// The pods a drain evicts, and the ones that stop it ("ns/name: why").
pub fn plan_drain<'a>(pods: &'a [Pod], opts: &DrainOptions) -> (Vec<&'a Pod>, Vec<String>) {
    let mut evict = Vec::new();
    let mut refused = Vec::new();
    for pod in pods {
        match pod_verdict(pod, opts) {
            PodVerdict::Evict => evict.push(pod),
            PodVerdict::Skip(_) => {}
            PodVerdict::Refuse(why) => refused.push(format!("{}: {why}", pod_name(pod))),
        }
    }
    (evict, refused)
}

fn pod_name(pod: &Pod) -> String {
    format!(
        "{}/{}",
        pod.metadata.namespace.as_deref().unwrap_or("default"),
        pod.metadata.name.as_deref().unwrap_or("?")
    )
}

/// Whether rke cordoned this Node (and so may uncordon it).
pub fn cordoned_by_rke(node: &Node) -> bool {
    node.metadata
        .annotations
        .as_ref()
        .is_some_and(|a| a.get(UPGRADE_CORDONED).is_some_and(|v| v == "true"))
}

fn unschedulable(node: &Node) -> bool {
    node.spec
        .as_ref()
        .and_then(|s| s.unschedulable)
        .unwrap_or(false)
}

impl KubeClient {
    async fn patch_node(&self, node: &str, patch: serde_json::Value) -> anyhow::Result<()> {
        self.nodes()
            .patch(node, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map_err(|e| api_error(format!("updating node {node}"), e))?;
        Ok(())
    }

    /// Cordon `node` for an upgrade, marking it as rke's cordon. Returns whether rke holds
    /// the cordon: false when the node was already cordoned by someone else (it stays so).
    pub async fn cordon_for_upgrade(&self, node: &str) -> anyhow::Result<bool> {
        let Some(obj) = self.get_node(node).await? else {
            // Not registered: nothing can be scheduled on it anyway.
            return Ok(false);
        };
        if cordoned_by_rke(&obj) {
            return Ok(true);
        }
        if unschedulable(&obj) {
            tracing::info!(node, "already cordoned by someone else: left cordoned");
            return Ok(false);
        }
        self.patch_node(
            node,
            json!({"metadata": {"annotations": {UPGRADE_CORDONED: "true"}},
                   "spec": {"unschedulable": true}}),
        )
        .await?;
        tracing::info!(node, "cordoned");
        Ok(true)
    }

    /// Lift rke's cordon from `node`; a cordon rke did not set stays. Returns whether the
    /// node was uncordoned.
    pub async fn uncordon_after_upgrade(&self, node: &str) -> anyhow::Result<bool> {
        match self.get_node(node).await? {
            Some(obj) if cordoned_by_rke(&obj) => {}
            _ => return Ok(false),
        }
        self.patch_node(
            node,
            json!({"metadata": {"annotations": {UPGRADE_CORDONED: null}},
                   "spec": {"unschedulable": null}}),
        )
        .await?;
        tracing::info!(node, "uncordoned");
        Ok(true)
    }

    /// Evict the pods of `node` as `kubectl drain` would, then wait until they are gone.
    /// Evictions a PodDisruptionBudget refuses (429) are retried until `opts.timeout`.
    pub async fn drain(&self, node: &str, opts: &DrainOptions) -> anyhow::Result<usize> {
        let deadline = Instant::now() + opts.timeout;
        let pods: Api<Pod> = Api::all(self.client.clone());
        let on_node = ListParams::default().fields(&format!("spec.nodeName={node}"));
        let list = pods
            .list(&on_node)
            .await
            .map_err(|e| api_error(format!("listing the pods of node {node}"), e))?;
        let (evict, refused) = plan_drain(&list.items, opts);
        if !refused.is_empty() {
            return Err(classified(
                ErrorKind::KubernetesApi,
                format!("draining node {node}: cannot evict {}", refused.join("; ")),
            ));
        }
        let policy_version = self.eviction_version().await;
        let results = futures_util::future::join_all(
            evict
                .iter()
                .map(|pod| self.evict_until(pod, policy_version, opts, deadline)),
        )
        .await;
        let errors: Vec<String> = results
            .into_iter()
            .filter_map(Result::err)
            .map(|e| format!("{e:#}"))
            .collect();
        if !errors.is_empty() {
            return Err(classified(
                ErrorKind::KubernetesApi,
                format!("draining node {node}: {}", errors.join("; ")),
            ));
        }
        for pod in &evict {
            self.wait_pod_gone(pod, deadline).await?;
        }
        Ok(evict.len())
    }

    /// `policy/v1` Eviction from Kubernetes 1.22, `policy/v1beta1` before.
    async fn eviction_version(&self) -> &'static str {
        let minor = self.client.apiserver_version().await.ok().and_then(|v| {
            v.minor
                .trim_end_matches('+')
                .parse::<u32>()
                .ok()
                .map(|m| (v.major, m))
        });
        match minor {
            Some((major, m)) if major == "1" && m < 22 => "policy/v1beta1",
            _ => "policy/v1",
        }
    }

    async fn evict_until(
        &self,
        pod: &Pod,
        policy_version: &str,
        opts: &DrainOptions,
        deadline: Instant,
    ) -> anyhow::Result<()> {
        let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
        let name = pod.metadata.name.as_deref().unwrap_or_default();
        let mut body = json!({
            "apiVersion": policy_version,
            "kind": "Eviction",
            "metadata": {"name": name, "namespace": ns},
        });
        if let Some(grace) = opts.grace_period {
            body["deleteOptions"] = json!({"gracePeriodSeconds": grace});
        }
        let body = serde_json::to_vec(&body)?;
        loop {
            let req = hyper::Request::post(format!("/api/v1/namespaces/{ns}/pods/{name}/eviction"))
                .header("content-type", "application/json")
                .body(body.clone())?;
            match self.client.request::<serde_json::Value>(req).await {
                Ok(_) => return Ok(()),
                Err(kube::Error::Api(s)) if s.code == 404 => return Ok(()),
                // 429: a PodDisruptionBudget does not allow it yet.
                Err(kube::Error::Api(s)) if s.code == 429 && Instant::now() < deadline => {
                    tracing::info!(pod = %format!("{ns}/{name}"), "eviction refused by a disruption budget; retrying");
                    tokio::time::sleep(EVICT_RETRY).await;
                }
                Err(e) => return Err(api_error(format!("evicting pod {ns}/{name}"), e)),
            }
        }
    }

    async fn wait_pod_gone(&self, pod: &Pod, deadline: Instant) -> anyhow::Result<()> {
        let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
        let name = pod.metadata.name.as_deref().unwrap_or_default();
        let api: Api<Pod> = Api::namespaced(self.client.clone(), ns);
        loop {
            let now = api
                .get_opt(name)
                .await
                .map_err(|e| api_error(format!("reading pod {ns}/{name}"), e))?;
            // A pod of the same name but another uid is a new one (a StatefulSet's).
            match now {
                Some(p) if p.metadata.uid == pod.metadata.uid => {}
                _ => return Ok(()),
            }
            if Instant::now() >= deadline {
                return Err(classified(
                    ErrorKind::HealthTimeout,
                    format!("pod {ns}/{name} still on its node when the drain timed out"),
                ));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Each registered Node's kubelet version.
    pub async fn kubelet_versions(&self) -> anyhow::Result<Vec<(String, String)>> {
        Ok(self
            .list_nodes()
            .await?
            .into_iter()
            .filter_map(|n| {
                let version = n.status?.node_info?.kubelet_version;
                Some((n.metadata.name?, version))
            })
            .collect())
    }

    /// The names of Nodes carrying rke's upgrade cordon.
    pub async fn upgrade_cordoned(&self) -> anyhow::Result<Vec<String>> {
        Ok(self
            .list_nodes()
            .await?
            .into_iter()
            .filter(cordoned_by_rke)
            .filter_map(|n| n.metadata.name)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::NodeDrainInput;
    use k8s_openapi::api::core::v1::{EmptyDirVolumeSource, PodSpec, PodStatus, Volume};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

    fn strategy(drain: Option<bool>, input: Option<NodeDrainInput>) -> NodeUpgradeStrategy {
        NodeUpgradeStrategy {
            drain,
            drain_input: input,
            ..Default::default()
        }
    }

    #[test]
    fn drain_options_take_rke1_defaults_when_input_is_absent() {
        assert_eq!(DrainOptions::from_strategy(&strategy(None, None)), None);
        assert_eq!(
            DrainOptions::from_strategy(&strategy(Some(false), None)),
            None
        );
        let d = DrainOptions::from_strategy(&strategy(Some(true), None)).unwrap();
        assert_eq!(
            d,
            DrainOptions {
                force: false,
                ignore_daemonsets: true,
                delete_local_data: false,
                grace_period: None,
                timeout: Duration::from_secs(120),
            }
        );
        let input = NodeDrainInput {
            force: true,
            ignore_daemon_sets: Some(false),
            delete_local_data: true,
            grace_period: 30,
            timeout: 600,
        };
        let d = DrainOptions::from_strategy(&strategy(Some(true), Some(input))).unwrap();
        assert!(d.force && !d.ignore_daemonsets && d.delete_local_data);
        assert_eq!(d.grace_period, Some(30));
        assert_eq!(d.timeout, Duration::from_secs(600));
        // An explicit `ignore_daemonsets` left out of the input defaults to true.
        let input = NodeDrainInput {
            ignore_daemon_sets: None,
            ..NodeDrainInput::default()
        };
        let d = DrainOptions::from_strategy(&strategy(Some(true), Some(input))).unwrap();
        assert!(d.ignore_daemonsets);
    }

    fn pod(name: &str, owner: Option<&str>) -> Pod {
        Pod {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some("ns".into()),
                owner_references: owner.map(|kind| {
                    vec![OwnerReference {
                        kind: kind.into(),
                        name: "owner".into(),
                        controller: Some(true),
                        ..Default::default()
                    }]
                }),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    fn with_empty_dir(mut p: Pod) -> Pod {
        p.spec = Some(PodSpec {
            volumes: Some(vec![Volume {
                name: "scratch".into(),
                empty_dir: Some(EmptyDirVolumeSource::default()),
                ..Default::default()
            }]),
            ..Default::default()
        });
        p
    }

    fn defaults() -> DrainOptions {
        DrainOptions::from_strategy(&strategy(Some(true), None)).unwrap()
    }

    #[test]
    fn drain_evicts_like_kubectl_drain() {
        let opts = defaults();
        let mut mirror = pod("static", None);
        mirror.metadata.annotations = Some([(MIRROR_POD.to_string(), "x".to_string())].into());
        let mut finished_bare = with_empty_dir(pod("job-done", None));
        finished_bare.status = Some(PodStatus {
            phase: Some("Succeeded".into()),
            ..Default::default()
        });
        assert_eq!(
            pod_verdict(&pod("web", Some("ReplicaSet")), &opts),
            PodVerdict::Evict
        );
        assert_eq!(
            pod_verdict(&pod("agent", Some("DaemonSet")), &opts),
            PodVerdict::Skip("DaemonSet pod")
        );
        assert_eq!(pod_verdict(&mirror, &opts), PodVerdict::Skip("mirror pod"));
        assert_eq!(pod_verdict(&finished_bare, &opts), PodVerdict::Evict);
        assert!(matches!(
            pod_verdict(&pod("bare", None), &opts),
            PodVerdict::Refuse(w) if w.contains("force")
        ));
        assert!(matches!(
            pod_verdict(&with_empty_dir(pod("cache", Some("ReplicaSet"))), &opts),
            PodVerdict::Refuse(w) if w.contains("delete_local_data")
        ));

        let permissive = DrainOptions {
            force: true,
            delete_local_data: true,
            ignore_daemonsets: false,
            ..defaults()
        };
        assert_eq!(
            pod_verdict(&pod("bare", None), &permissive),
            PodVerdict::Evict
        );
        assert_eq!(
            pod_verdict(&with_empty_dir(pod("cache", None)), &permissive),
            PodVerdict::Evict
        );
        assert!(matches!(
            pod_verdict(&pod("agent", Some("DaemonSet")), &permissive),
            PodVerdict::Refuse(w) if w.contains("ignore_daemonsets")
        ));
    }

    #[test]
    fn a_drain_plan_names_every_blocking_pod() {
        let pods = [
            pod("web", Some("ReplicaSet")),
            pod("bare", None),
            pod("agent", Some("DaemonSet")),
            with_empty_dir(pod("cache", Some("StatefulSet"))),
        ];
        let (evict, refused) = plan_drain(&pods, &defaults());
        let evicted: Vec<String> = evict.iter().map(|p| pod_name(p)).collect();
        assert_eq!(evicted, ["ns/web"]);
        assert_eq!(refused.len(), 2, "{refused:?}");
        assert!(refused[0].starts_with("ns/bare: "), "{refused:?}");
        assert!(refused[1].starts_with("ns/cache: "), "{refused:?}");
    }

    #[test]
    fn only_rke_cordons_are_rke_s() {
        let mut n = Node::default();
        assert!(!cordoned_by_rke(&n));
        n.metadata.annotations = Some([(UPGRADE_CORDONED.to_string(), "true".into())].into());
        assert!(cordoned_by_rke(&n));
    }

    /// An in-process API server: a ReplicaSet pod and a DaemonSet pod on node "n"; the first
    /// eviction is refused by a disruption budget (429), the second accepted, after which the
    /// pod is gone.
    fn fake_api(evictions: std::sync::Arc<std::sync::Mutex<Vec<String>>>) -> KubeClient {
        use http_body_util::Full;
        let service = tower::service_fn(move |req: hyper::Request<kube::client::Body>| {
            let evictions = evictions.clone();
            async move {
                let path = req.uri().path().to_string();
                let query = req.uri().query().unwrap_or_default().to_string();
                let body = http_body_util::BodyExt::collect(req.into_body())
                    .await
                    .map(|b| b.to_bytes())
                    .unwrap_or_default();
                let (code, json) = if path == "/version" {
                    (
                        200,
                        json!({"major": "1", "minor": "20", "gitVersion": "v1.20.2",
                        "gitCommit": "", "gitTreeState": "", "buildDate": "", "goVersion": "",
                        "compiler": "", "platform": ""}),
                    )
                } else if path == "/api/v1/pods" {
                    assert!(query.contains("spec.nodeName%3Dn"), "{query}");
                    let mut web = pod("web", Some("ReplicaSet"));
                    web.metadata.uid = Some("u1".into());
                    let items = vec![web, pod("agent", Some("DaemonSet"))];
                    (
                        200,
                        json!({"apiVersion": "v1", "kind": "PodList", "metadata": {},
                        "items": items}),
                    )
                } else if path == "/api/v1/namespaces/ns/pods/web/eviction" {
                    let mut seen = evictions.lock().unwrap();
                    seen.push(String::from_utf8_lossy(&body).into_owned());
                    if seen.len() == 1 {
                        (
                            429,
                            json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                            "message": "Cannot evict pod as it would violate the pod's \
                            disruption budget.", "reason": "TooManyRequests", "code": 429}),
                        )
                    } else {
                        (
                            201,
                            json!({"kind": "Status", "apiVersion": "v1", "status": "Success"}),
                        )
                    }
                } else if path == "/api/v1/namespaces/ns/pods/web" {
                    (
                        404,
                        json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                        "reason": "NotFound", "code": 404}),
                    )
                } else {
                    panic!("unexpected request {path}");
                };
                let resp = hyper::Response::builder()
                    .status(code)
                    .header("content-type", "application/json")
                    .body(Full::new(bytes::Bytes::from(json.to_string())))
                    .unwrap();
                Ok::<_, std::convert::Infallible>(resp)
            }
        });
        KubeClient::from_client(kube::Client::new(service, "default"))
    }

    #[tokio::test]
    async fn drain_retries_evictions_a_budget_refuses_and_skips_daemonsets() {
        let evictions = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let kube = fake_api(evictions.clone());
        let opts = DrainOptions {
            grace_period: Some(7),
            ..defaults()
        };
        assert_eq!(kube.drain("n", &opts).await.unwrap(), 1);
        let seen = evictions.lock().unwrap().clone();
        assert_eq!(seen.len(), 2, "one refused, one accepted: {seen:?}");
        let body: serde_json::Value = serde_json::from_str(&seen[1]).unwrap();
        assert_eq!(body["apiVersion"], "policy/v1beta1");
        assert_eq!(body["kind"], "Eviction");
        assert_eq!(body["metadata"]["name"], "web");
        assert_eq!(body["deleteOptions"]["gracePeriodSeconds"], 7);
    }

    #[tokio::test]
    async fn a_budget_that_never_allows_fails_at_the_timeout() {
        let evictions = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let kube = fake_api(evictions.clone());
        let opts = DrainOptions {
            timeout: Duration::ZERO,
            ..defaults()
        };
        let err = kube.drain("n", &opts).await.unwrap_err();
        assert!(
            format!("{err:#}").contains("evicting pod ns/web"),
            "{err:#}"
        );
        assert_eq!(evictions.lock().unwrap().len(), 1);
    }
}
