//! Applying and deleting addon objects through the API server: server-side apply (field
//! manager `rke`, forced) of any kind the server knows, found by discovery, so custom
//! resources work once their CRDs are established.
//!
//! One exception: API servers before v1.18.18, v1.19.10 and v1.20.6 have no field manager for
//! `APIService` objects and panic on a server-side apply of one (kubernetes/kubernetes#89264,
//! fixed by #98576 and its back-ports), so there an `APIService` is created or replaced instead.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::GroupVersionKind;
use kube::discovery::{ApiCapabilities, ApiResource, Scope, pinned_kind};
use serde_json::Value;

use super::manifest::ObjectRef;
use crate::kube_api::api_error;

/// The field manager of everything rke applies.
pub const FIELD_MANAGER: &str = "rke";
const CRD_KIND: &str = "CustomResourceDefinition";
const POLL: Duration = Duration::from_secs(1);
const API_SERVICE_KIND: &str = "APIService";

/// Applies objects, remembering which kinds the server serves and where.
pub struct Applier {
    client: kube::Client,
    kinds: HashMap<(String, String), (ApiResource, ApiCapabilities)>,
    /// Whether the server can server-side apply an `APIService`, asked once.
    applies_api_services: Option<bool>,
}

/// Whether an API server of this version server-side applies `APIService` objects without
/// panicking: fixed in v1.21.0 and back-ported to v1.20.6, v1.19.10 and v1.18.18. A version that
/// cannot be read is taken as fixed (every version rke's table ships from 1.21 on is).
pub fn applies_api_services(git_version: &str) -> bool {
    let numbers: Vec<u32> = git_version
        .trim_start_matches('v')
        .split(|c: char| !c.is_ascii_digit())
        .take(3)
        .map_while(|n| n.parse().ok())
        .collect();
    let [major, minor, patch] = numbers[..] else {
        return true;
    };
    match (major, minor) {
        (1, m) if m >= 21 => true,
        (1, 20) => patch >= 6,
        (1, 19) => patch >= 10,
        (1, 18) => patch >= 18,
        (1, _) => false,
        _ => true,
    }
}

fn gvk(api_version: &str, kind: &str) -> GroupVersionKind {
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    GroupVersionKind::gvk(group, version, kind)
}

fn is_status(err: &kube::Error, code: u16) -> bool {
    matches!(err, kube::Error::Api(status) if status.code == code)
}

impl Applier {
    pub fn new(client: kube::Client) -> Applier {
        Applier {
            client,
            kinds: HashMap::new(),
            applies_api_services: None,
        }
    }

    /// True when `r` must be created or replaced rather than server-side applied.
    async fn needs_replace(&mut self, r: &ObjectRef) -> bool {
        if r.kind != API_SERVICE_KIND || !r.api_version.starts_with("apiregistration.k8s.io/") {
            return false;
        }
        if self.applies_api_services.is_none() {
            let ok = match self.client.apiserver_version().await {
                Ok(info) => applies_api_services(&info.git_version),
                Err(_) => true,
            };
            self.applies_api_services = Some(ok);
        }
        self.applies_api_services == Some(false)
    }

    /// Create `object`, or replace what is there (keeping its `resourceVersion`, so a
    /// concurrent change is refused rather than lost). Returns the object the server stored.
    async fn create_or_replace(
        &self,
        api: &Api<DynamicObject>,
        r: &ObjectRef,
        object: &Value,
        dry_run: bool,
    ) -> kube::Result<DynamicObject> {
        let mut wanted: DynamicObject =
            serde_json::from_value(object.clone()).map_err(kube::Error::SerdeError)?;
        let params = PostParams {
            dry_run,
            field_manager: Some(FIELD_MANAGER.to_string()),
        };
        match api.get_opt(&r.name).await? {
            None => api.create(&params, &wanted).await,
            Some(existing) => {
                wanted.metadata.resource_version = existing.metadata.resource_version;
                api.replace(&r.name, &params, &wanted).await
            }
        }
    }

    /// The kind's resource and scope, asked of the server once (not cached when unknown, so a
    /// CRD established since is found).
    async fn resolve(
        &mut self,
        api_version: &str,
        kind: &str,
    ) -> kube::Result<(ApiResource, ApiCapabilities)> {
        let key = (api_version.to_string(), kind.to_string());
        if let Some(found) = self.kinds.get(&key) {
            return Ok(found.clone());
        }
        let found = pinned_kind(&self.client, &gvk(api_version, kind)).await?;
        self.kinds.insert(key, found.clone());
        Ok(found)
    }

    fn api(
        &self,
        resource: &ApiResource,
        caps: &ApiCapabilities,
        namespace: &str,
    ) -> Api<DynamicObject> {
        if caps.scope == Scope::Namespaced {
            Api::namespaced_with(self.client.clone(), namespace, resource)
        } else {
            Api::all_with(self.client.clone(), resource)
        }
    }

    /// Server-side apply `object` with `dryRun=All`: the API server validates it (schema,
    /// admission) and answers with the object it would store, and nothing changes. Namespaced
    /// objects need their namespace to exist.
    pub async fn apply_dry_run(&mut self, addon: &str, object: &Value) -> anyhow::Result<Value> {
        let (r, resource, caps, object) = self.target(addon, object).await?;
        let api = self.api(&resource, &caps, &r.namespace);
        let params = PatchParams::apply(FIELD_MANAGER).force().dry_run();
        let stored = if self.needs_replace(&r).await {
            self.create_or_replace(&api, &r, &object, true).await
        } else {
            api.patch(&r.name, &params, &Patch::Apply(&object)).await
        }
        .map_err(|e| api_error(format!("addon {addon}: applying {r} (dry run)"), e))?;
        Ok(serde_json::to_value(stored)?)
    }

    /// The object's identity, resource and scope, and the object as it is sent: with the
    /// namespace it lands in (`default` for a namespaced object that names none, none for
    /// cluster-scoped ones).
    async fn target(
        &mut self,
        addon: &str,
        object: &Value,
    ) -> anyhow::Result<(ObjectRef, ApiResource, ApiCapabilities, Value)> {
        let mut r = ObjectRef::of(object);
        let (resource, caps) = self.resolve(&r.api_version, &r.kind).await.map_err(|e| {
            api_error(
                format!(
                    "addon {addon}: {r}: kind {} of {} is not served by the API server",
                    r.kind, r.api_version
                ),
                e,
            )
        })?;
        let mut object = object.clone();
        if caps.scope == Scope::Namespaced {
            if r.namespace.is_empty() {
                r.namespace = "default".into();
                object["metadata"]["namespace"] = Value::from("default");
            }
        } else if !r.namespace.is_empty() {
            // As kubectl: a namespace on a cluster-scoped object is ignored.
            r.namespace.clear();
            if let Some(meta) = object["metadata"].as_object_mut() {
                meta.remove("namespace");
            }
        }
        Ok((r, resource, caps, object))
    }

    /// `object`'s identity as it would land (namespace resolved as [`Applier::apply`] does), or
    /// `None` while the server does not serve its kind (a CRD of the addons is still to come).
    pub async fn landing_ref(
        &mut self,
        addon: &str,
        object: &Value,
    ) -> anyhow::Result<Option<ObjectRef>> {
        let r = ObjectRef::of(object);
        match self.resolve(&r.api_version, &r.kind).await {
            Ok(_) => Ok(Some(self.target(addon, object).await?.0)),
            Err(e) if is_status(&e, 404) || matches!(e, kube::Error::Discovery(_)) => Ok(None),
            Err(e) => Err(api_error(
                format!("addon {addon}: looking up the kind of {r}"),
                e,
            )),
        }
    }

    /// Server-side apply `object`; returns its identity with the namespace it landed in
    /// (`default` for a namespaced object that names none, none for cluster-scoped ones).
    pub async fn apply(&mut self, addon: &str, object: &Value) -> anyhow::Result<ObjectRef> {
        let (r, resource, caps, object) = self.target(addon, object).await?;
        let api = self.api(&resource, &caps, &r.namespace);
        if self.needs_replace(&r).await {
            self.create_or_replace(&api, &r, &object, false)
                .await
                .map_err(|e| api_error(format!("addon {addon}: applying {r}"), e))?;
            return Ok(r);
        }
        if self.unchanged(addon, &api, &r, &object).await? {
            return Ok(r);
        }
        let params = PatchParams::apply(FIELD_MANAGER).force();
        let applied = api.patch(&r.name, &params, &Patch::Apply(&object)).await;
        match applied {
            Ok(_) => Ok(r),
            // A Job's pod template cannot change: replace the Job (RKE1 deletes ingress-nginx's
            // admission Jobs before upgrading it for the same reason).
            Err(e) if r.kind == "Job" && is_status(&e, 422) => {
                self.delete(&r).await?;
                self.wait_gone(&api, &r.name, Duration::from_secs(60))
                    .await?;
                api.patch(&r.name, &params, &Patch::Apply(&object))
                    .await
                    .map_err(|e| api_error(format!("addon {addon}: applying {r}"), e))?;
                Ok(r)
            }
            Err(e) => Err(api_error(format!("addon {addon}: applying {r}"), e)),
        }
    }

    /// Whether the object exists and a dry run of the apply says it would stay as it is (so
    /// a run over an unchanged cluster writes nothing).
    async fn unchanged(
        &mut self,
        addon: &str,
        api: &Api<DynamicObject>,
        r: &ObjectRef,
        object: &Value,
    ) -> anyhow::Result<bool> {
        let live = api
            .get_opt(&r.name)
            .await
            .map_err(|e| api_error(format!("addon {addon}: reading {r}"), e))?;
        let Some(live) = live else {
            return Ok(false);
        };
        // A dry run the server refuses (a Job's changed template) is left to the real apply,
        // which knows how to handle it.
        let Ok(would_be) = self.apply_dry_run(addon, object).await else {
            return Ok(false);
        };
        Ok(crate::kube_api::same_stored(
            &serde_json::to_value(live)?,
            &would_be,
        ))
    }

    async fn wait_gone(
        &self,
        api: &Api<DynamicObject>,
        name: &str,
        timeout: Duration,
    ) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            match api.get_opt(name).await {
                Ok(None) => return Ok(()),
                Ok(Some(_)) if Instant::now() < deadline => tokio::time::sleep(POLL).await,
                Ok(Some(_)) => anyhow::bail!("{name} still exists after {}s", timeout.as_secs()),
                Err(e) => return Err(api_error(format!("reading {name}"), e)),
            }
        }
    }

    /// Delete with foreground propagation; an object (or kind) already gone is fine.
    pub async fn delete(&mut self, r: &ObjectRef) -> anyhow::Result<()> {
        let (resource, caps) = match self.resolve(&r.api_version, &r.kind).await {
            Ok(found) => found,
            Err(e) if is_status(&e, 404) || matches!(e, kube::Error::Discovery(_)) => {
                tracing::info!("{r}: its kind is no longer served, nothing to delete");
                return Ok(());
            }
            Err(e) => return Err(api_error(format!("deleting {r}"), e)),
        };
        let api = self.api(&resource, &caps, &r.namespace);
        match api.delete(&r.name, &DeleteParams::foreground()).await {
            Ok(_) => Ok(()),
            Err(e) if is_status(&e, 404) => Ok(()),
            Err(e) => Err(api_error(format!("deleting {r}"), e)),
        }
    }

    /// Wait for CRD `name` to be Established (its kinds served).
    pub async fn wait_crd_established(
        &mut self,
        addon: &str,
        name: &str,
        timeout: Duration,
    ) -> anyhow::Result<()> {
        let (resource, caps) = self
            .resolve("apiextensions.k8s.io/v1", CRD_KIND)
            .await
            .map_err(|e| api_error("CustomResourceDefinitions are not served", e))?;
        let api = self.api(&resource, &caps, "");
        let deadline = Instant::now() + timeout;
        loop {
            let crd = api
                .get(name)
                .await
                .map_err(|e| api_error(format!("addon {addon}: reading CRD {name}"), e))?;
            let established = crd.data["status"]["conditions"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|c| c["type"] == "Established" && c["status"] == "True");
            if established {
                return Ok(());
            }
            if Instant::now() >= deadline {
                anyhow::bail!(
                    "addon {addon}: CustomResourceDefinition {name} not Established after {}s",
                    timeout.as_secs()
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The current object, if it exists.
    pub async fn get(&mut self, r: &ObjectRef) -> anyhow::Result<Option<Value>> {
        let (resource, caps) = self
            .resolve(&r.api_version, &r.kind)
            .await
            .map_err(|e| api_error(format!("reading {r}"), e))?;
        let api = self.api(&resource, &caps, &r.namespace);
        let found = api
            .get_opt(&r.name)
            .await
            .map_err(|e| api_error(format!("reading {r}"), e))?;
        found
            .map(serde_json::to_value)
            .transpose()
            .map_err(Into::into)
    }

    /// Pods in `namespace` matching `selector` (`key=value,...`), as JSON.
    pub async fn pods(&mut self, namespace: &str, selector: &str) -> anyhow::Result<Vec<Value>> {
        let (resource, caps) = self
            .resolve("v1", "Pod")
            .await
            .map_err(|e| api_error("Pods are not served", e))?;
        let api = self.api(&resource, &caps, namespace);
        let list = api
            .list(&kube::api::ListParams::default().labels(selector))
            .await
            .map_err(|e| api_error(format!("listing pods in {namespace}"), e))?;
        list.items
            .into_iter()
            .map(|p| serde_json::to_value(p).map_err(Into::into))
            .collect()
    }
}

/// CRDs and Namespaces first (in document order), then everything else: objects that
/// others need to exist before they can be created.
pub fn apply_order(objects: &[Value]) -> (Vec<&Value>, Vec<&Value>) {
    objects
        .iter()
        .partition(|o| matches!(o["kind"].as_str(), Some(CRD_KIND | "Namespace")))
}

pub fn is_crd(object: &Value) -> bool {
    object["kind"] == CRD_KIND
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn api_service_apply_only_where_the_server_has_its_field_manager() {
        for (version, ok) in [
            ("v1.20.2", false),
            ("v1.20.5-rancher1", false),
            ("v1.20.6", true),
            ("v1.20.15-rancher2", true),
            ("v1.19.9", false),
            ("v1.19.10", true),
            ("v1.18.17", false),
            ("v1.18.18", true),
            ("v1.17.17", false),
            ("v1.21.0", true),
            ("v1.32.13+rke1", true),
            ("unknown", true),
        ] {
            assert_eq!(applies_api_services(version), ok, "{version}");
        }
    }

    #[test]
    fn crds_and_namespaces_go_first() {
        let objects = vec![
            json!({"kind": "Deployment", "metadata": {"name": "d"}}),
            json!({"kind": "CustomResourceDefinition", "metadata": {"name": "c"}}),
            json!({"kind": "Namespace", "metadata": {"name": "n"}}),
        ];
        let (first, rest) = apply_order(&objects);
        assert_eq!(first.len(), 2);
        assert!(is_crd(first[0]));
        assert_eq!(rest[0]["kind"], "Deployment");
    }

    #[test]
    fn group_version_kind_from_api_version() {
        let g = gvk("apps/v1", "Deployment");
        assert_eq!((g.group.as_str(), g.version.as_str()), ("apps", "v1"));
        let g = gvk("v1", "ConfigMap");
        assert_eq!((g.group.as_str(), g.version.as_str()), ("", "v1"));
    }
}
