//! The addons' part of the plan (`rke up --dry-run`): per addon, the objects the addon step
//! ([`super::step::deploy`]) would create, change or delete, by name. A change is what the API
//! server answers to a server-side apply with `dryRun=All`, compared with what it holds; an
//! object no addon renders any more is deleted through the inventory. An unchanged addon
//! adds nothing. Reading the cluster is here; the comparison itself is pure ([`compare`]).

use serde::Serialize;
use serde_json::Value;

use super::Addon;
use super::adopt::{self, Handling};
use super::apply::Applier;
use super::inventory::stale;
use super::manifest::ObjectRef;
use super::step::read_inventory;
use crate::config::RkeConfig;
use crate::kube_api::KubeClient;

/// What the addon step would do to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectAction {
    /// Not in the cluster: created.
    Create,
    /// In the cluster with other content: server-side applied.
    Update,
    /// Recorded for the addon and rendered by no addon any more: deleted.
    Delete,
    /// In the cluster exactly as rendered, but not in rke's inventory yet: recorded there.
    Record,
    /// RKE1's object, recorded in rke's inventory and kept as it is ([`super::adopt`]).
    Adopt,
    /// The addon's settings changed since RKE1 applied it: rke's rendering takes over from
    /// RKE1's objects (the object named is RKE1's ConfigMap for the addon).
    MoveToRke,
}

impl ObjectAction {
    fn verb(self) -> &'static str {
        match self {
            ObjectAction::Create => "create",
            ObjectAction::Update => "update",
            ObjectAction::Delete => "delete",
            ObjectAction::Record => "record",
            ObjectAction::Adopt => "adopt",
            ObjectAction::MoveToRke => "move to rke's rendering",
        }
    }
}

/// One pending change of an addon's object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AddonChange {
    pub addon: String,
    pub action: ObjectAction,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
    /// Why, where it helps: the fields that differ, a refusal by the server.
    pub detail: Option<String>,
}

impl AddonChange {
    fn new(addon: &str, action: ObjectAction, r: &ObjectRef, detail: Option<String>) -> Self {
        AddonChange {
            addon: addon.to_string(),
            action,
            kind: r.kind.clone(),
            namespace: (!r.namespace.is_empty()).then(|| r.namespace.clone()),
            name: r.name.clone(),
            detail,
        }
    }
}

impl std::fmt::Display for AddonChange {
    /// `addon rke-user-addon: update ConfigMap default/ceo-probe (data.greeting)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "addon {}: {}", self.addon, self.action.verb())?;
        if self.action != ObjectAction::MoveToRke {
            write!(f, " {} ", self.kind)?;
            if let Some(ns) = &self.namespace {
                write!(f, "{ns}/")?;
            }
            write!(f, "{}", self.name)?;
        }
        match &self.detail {
            Some(detail) => write!(f, " ({detail})"),
            None => Ok(()),
        }
    }
}

/// The pending changes of `addons` (every addon, in order, as [`super::desired`] renders them).
/// `kube` is the cluster's API when it answers: without it (a new cluster) every object is a
/// creation. `applied` is the config of the last run, as for [`super::step::deploy`]. Logs
/// adoption decisions as the run does.
pub async fn plan_addons(
    kube: Option<&KubeClient>,
    addons: &[Addon],
    applied: Option<&RkeConfig>,
) -> anyhow::Result<Vec<AddonChange>> {
    let Some(kube) = kube else {
        return Ok(addons
            .iter()
            .flat_map(|a| {
                a.objects.iter().map(|o| {
                    AddonChange::new(a.name, ObjectAction::Create, &ObjectRef::of(o), None)
                })
            })
            .collect());
    };
    let mut applier = Applier::new(kube.client.clone());
    let inventory = read_inventory(&mut applier).await?;
    let decisions = adopt::decide(&mut applier, addons, applied, &inventory).await?;
    let rendered: Vec<ObjectRef> = addons
        .iter()
        .flat_map(|a| a.objects.iter().map(ObjectRef::of))
        .collect();
    let mut changes = Vec::new();
    for (addon, decision) in addons.iter().zip(&decisions) {
        adopt::announce(addon.name, decision, true);
        match decision.handling {
            Handling::Keep => continue,
            Handling::Adopt => {
                changes.extend(
                    decision
                        .rke1_objects
                        .iter()
                        .map(|r| AddonChange::new(addon.name, ObjectAction::Adopt, r, None)),
                );
                continue;
            }
            Handling::Replace => changes.push(AddonChange::new(
                addon.name,
                ObjectAction::MoveToRke,
                &adopt::rke1_config_map(addon.name),
                Some("settings changed since RKE1 applied it".into()),
            )),
            Handling::Apply => {}
        }
        let recorded = inventory.objects(addon.name);
        for object in &addon.objects {
            changes.extend(plan_object(&mut applier, addon.name, object, recorded).await?);
        }
        changes.extend(
            stale(recorded, &rendered)
                .into_iter()
                .map(|r| AddonChange::new(addon.name, ObjectAction::Delete, r, None)),
        );
    }
    Ok(changes)
}

/// One rendered object: absent (or of a kind not served yet) is a creation; present, the
/// server's dry-run answer is compared with it.
async fn plan_object(
    applier: &mut Applier,
    addon: &str,
    object: &Value,
    recorded: &[ObjectRef],
) -> anyhow::Result<Option<AddonChange>> {
    let Some(r) = applier.landing_ref(addon, object).await? else {
        let detail = "its kind is not served yet".to_string();
        return Ok(Some(AddonChange::new(
            addon,
            ObjectAction::Create,
            &ObjectRef::of(object),
            Some(detail),
        )));
    };
    let Some(live) = applier.get(&r).await? else {
        return Ok(Some(AddonChange::new(
            addon,
            ObjectAction::Create,
            &r,
            None,
        )));
    };
    let would_store = applier
        .apply_dry_run(addon, object)
        .await
        .map_err(|e| format!("{e:#}"));
    let in_inventory = recorded
        .iter()
        .any(|o| o.same_object(&r) && o.api_version == r.api_version);
    Ok(compare(
        addon,
        &r,
        &live,
        would_store.as_ref().map_err(String::as_str),
        in_inventory,
    ))
}

/// The most differing fields a change names; more are counted.
const MAX_NAMED_FIELDS: usize = 5;

/// The change, if any, of an object that exists (`live`) given what the server would store on
/// applying it (`would_store`, or the server's refusal), and whether rke's inventory records it.
pub fn compare(
    addon: &str,
    r: &ObjectRef,
    live: &Value,
    would_store: Result<&Value, &str>,
    in_inventory: bool,
) -> Option<AddonChange> {
    let would_store = match would_store {
        Ok(v) => v,
        Err(refusal) => {
            let detail = format!("the server refuses the dry run: {refusal}");
            return Some(AddonChange::new(
                addon,
                ObjectAction::Update,
                r,
                Some(detail),
            ));
        }
    };
    let mut fields = Vec::new();
    differing_fields(&content(live), &content(would_store), "", &mut fields);
    if !fields.is_empty() {
        let more = fields.len().saturating_sub(MAX_NAMED_FIELDS);
        fields.truncate(MAX_NAMED_FIELDS);
        let mut detail = fields.join(", ");
        if more > 0 {
            detail.push_str(&format!(" and {more} more"));
        }
        return Some(AddonChange::new(
            addon,
            ObjectAction::Update,
            r,
            Some(detail),
        ));
    }
    (!in_inventory).then(|| {
        let detail = "as rendered already; not yet in rke's inventory".to_string();
        AddonChange::new(addon, ObjectAction::Record, r, Some(detail))
    })
}

/// An object's content: what the server keeps for its own bookkeeping removed (field owners,
/// versions, timestamps, uid, status), so a dry-run answer compares equal to an unchanged
/// object whichever manager last wrote it.
fn content(object: &Value) -> Value {
    let mut out = object.clone();
    if let Some(top) = out.as_object_mut() {
        top.remove("status");
    }
    if let Some(meta) = out.get_mut("metadata").and_then(Value::as_object_mut) {
        for field in [
            "managedFields",
            "resourceVersion",
            "generation",
            "creationTimestamp",
            "deletionTimestamp",
            "uid",
            "selfLink",
        ] {
            meta.remove(field);
        }
    }
    out
}

/// The dotted paths at which `a` and `b` differ (maps compared key by key; lists and scalars
/// as a whole).
fn differing_fields(a: &Value, b: &Value, path: &str, out: &mut Vec<String>) {
    if a == b {
        return;
    }
    match (a.as_object(), b.as_object()) {
        (Some(a), Some(b)) => {
            let keys = a.keys().chain(b.keys().filter(|k| !a.contains_key(*k)));
            for key in keys {
                let missing = Value::Null;
                let sub = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                differing_fields(
                    a.get(key).unwrap_or(&missing),
                    b.get(key).unwrap_or(&missing),
                    &sub,
                    out,
                );
            }
        }
        _ => out.push(if path.is_empty() {
            ".".into()
        } else {
            path.into()
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cm_ref() -> ObjectRef {
        ObjectRef {
            api_version: "v1".into(),
            kind: "ConfigMap".into(),
            namespace: "default".into(),
            name: "ceo-probe".into(),
        }
    }

    fn stored(data: &str, manager: &str, version: &str) -> Value {
        json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": "ceo-probe",
                "namespace": "default",
                "uid": "u-1",
                "resourceVersion": version,
                "creationTimestamp": "2026-01-01T00:00:00Z",
                "managedFields": [{"manager": manager, "operation": "Apply"}],
            },
            "data": {"greeting": data},
        })
    }

    #[test]
    fn an_unchanged_object_adds_nothing_whoever_manages_it() {
        let live = stored("hello", "kubectl", "7");
        let answer = stored("hello", "rke", "8");
        assert_eq!(compare("a", &cm_ref(), &live, Ok(&answer), true), None);
    }

    #[test]
    fn changed_content_is_an_update_naming_the_fields() {
        let live = stored("hello", "rke", "7");
        let answer = stored("changed", "rke", "7");
        let change = compare("rke-user-addon", &cm_ref(), &live, Ok(&answer), true).unwrap();
        assert_eq!(change.action, ObjectAction::Update);
        assert_eq!(
            change.to_string(),
            "addon rke-user-addon: update ConfigMap default/ceo-probe (data.greeting)"
        );
    }

    #[test]
    fn status_and_bookkeeping_do_not_count() {
        let mut live = stored("x", "rke", "1");
        live["status"] = json!({"phase": "old"});
        live["metadata"]["generation"] = json!(3);
        let mut answer = stored("x", "rke", "2");
        answer["metadata"]["generation"] = json!(4);
        answer["metadata"]["uid"] = json!("u-2");
        assert_eq!(compare("a", &cm_ref(), &live, Ok(&answer), true), None);
    }

    #[test]
    fn a_new_label_is_named_by_its_path() {
        let live = stored("x", "rke", "1");
        let mut answer = live.clone();
        answer["metadata"]["labels"] = json!({"tier": "gold"});
        let change = compare("a", &cm_ref(), &live, Ok(&answer), true).unwrap();
        assert_eq!(change.detail.as_deref(), Some("metadata.labels"));
    }

    #[test]
    fn many_differing_fields_are_counted_beyond_five() {
        let a = json!({"data": {"a": 1, "b": 1, "c": 1, "d": 1, "e": 1, "f": 1, "g": 1}});
        let b = json!({"data": {"a": 2, "b": 2, "c": 2, "d": 2, "e": 2, "f": 2, "g": 2}});
        let change = compare("a", &cm_ref(), &a, Ok(&b), true).unwrap();
        assert_eq!(
            change.detail.as_deref(),
            Some("data.a, data.b, data.c, data.d, data.e and 2 more")
        );
    }

    #[test]
    fn a_refused_dry_run_is_an_update_saying_why() {
        let live = stored("x", "rke", "1");
        let change = compare("a", &cm_ref(), &live, Err("field is immutable"), true).unwrap();
        assert_eq!(change.action, ObjectAction::Update);
        assert!(
            change.to_string().contains("field is immutable"),
            "{change}"
        );
    }

    #[test]
    fn an_identical_object_rke_never_recorded_is_recorded() {
        let live = stored("x", "rke", "1");
        let change = compare("a", &cm_ref(), &live, Ok(&live), false).unwrap();
        assert_eq!(change.action, ObjectAction::Record);
    }

    #[test]
    fn cluster_scoped_objects_and_the_move_to_rke_read_as_one_line() {
        let ns = ObjectRef {
            api_version: "v1".into(),
            kind: "Namespace".into(),
            namespace: String::new(),
            name: "probe".into(),
        };
        let create = AddonChange::new("rke-user-addon", ObjectAction::Create, &ns, None);
        assert_eq!(
            create.to_string(),
            "addon rke-user-addon: create Namespace probe"
        );
        let moved = AddonChange::new(
            "rke-coredns-addon",
            ObjectAction::MoveToRke,
            &adopt::rke1_config_map("rke-coredns-addon"),
            Some("settings changed since RKE1 applied it".into()),
        );
        assert_eq!(
            moved.to_string(),
            "addon rke-coredns-addon: move to rke's rendering (settings changed since RKE1 \
             applied it)"
        );
        let json = serde_json::to_value(&moved).unwrap();
        assert_eq!(json["action"], "move_to_rke");
        assert_eq!(json["namespace"], "kube-system");
        assert_eq!(
            serde_json::to_value(&create).unwrap()["namespace"],
            Value::Null
        );
    }
}
