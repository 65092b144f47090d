//! Field names: our config types use RKE1's YAML keys, `cluster.rkestate` uses the JSON tags of
//! RKE1's Go types. Most JSON names are the YAML name in camelCase; the rest are listed here.
//!
//! Both tables were derived from `tests/fixtures/state/rke1-field-names.tsv` (every field of the
//! Go config types); a unit test checks them against that file. No YAML key maps to two different
//! JSON names across the Go structs, so the tables are keyed by YAML name alone.

use std::borrow::Cow;

/// YAML names whose JSON name is not their mechanical camelCase.
const RENAMED: &[(&str, &str)] = &[
    // Acronyms kept upper-case or spelled differently in the Go json tag.
    ("calico_flexvol", "calicoFlexVol"),
    ("canal_flexvol", "canalFlexVol"),
    ("min_rke_version", "minRKEVersion"),
    ("max_rke_version", "maxRKEVersion"),
    ("deprecate_rke_version", "deprecateRKEVersion"),
    ("ignore_daemonsets", "ignoreDaemonSets"),
    // Go field `AwsSessionToken` carries the json tag `awsAccessToken`.
    ("aws_session_token", "awsAccessToken"),
    // Fields without a yaml tag: yaml.v2 lower-cases the Go field name.
    ("cacertificates", "caCertificates"),
    ("s3backupconfig", "s3BackupConfig"),
    ("cloudprovider", "cloudProvider"),
    ("rollingupdate", "rollingUpdate"),
];

/// YAML names that contain `-` but are also the JSON name (cloud-provider INI option names).
const KEPT_AS_IS: &[&str] = &[
    // vSphere
    "insecure-flag",
    "working-dir",
    "soap-roundtrip-count",
    "vm-uuid",
    "vm-name",
    "public-network",
    "default-datastore",
    "resourcepool-path",
    // OpenStack
    "auth-url",
    "user-id",
    "tenant-id",
    "tenant-name",
    "trust-id",
    "domain-id",
    "domain-name",
    "ca-file",
    "lb-version",
    "use-octavia",
    "subnet-id",
    "floating-network-id",
    "lb-method",
    "lb-provider",
    "create-monitor",
    "monitor-delay",
    "monitor-timeout",
    "monitor-max-retries",
    "manage-security-groups",
    "bs-version",
    "trust-device-path",
    "ignore-volume-az",
    "router-id",
    "search-order",
    "request-timeout",
    // AWS
    "signing-region",
    "signing-method",
    "signing-name",
    "routetable-id",
    "role-arn",
    "kubernetes-cluster-tag",
    "kubernetes-cluster-id",
    "disable-security-group-ingress",
    "elb-security-group",
    "disable-strict-zone-check",
];

/// The `cluster.rkestate` name of a struct field whose serde (YAML) name is `yaml`.
pub fn json_name(yaml: &str) -> Cow<'_, str> {
    // Serde-internal magic fields (e.g. serde_json's RawValue) must pass through verbatim.
    if yaml.starts_with('$') {
        return Cow::Borrowed(yaml);
    }
    if let Some((_, json)) = RENAMED.iter().find(|(y, _)| *y == yaml) {
        return Cow::Borrowed(json);
    }
    if KEPT_AS_IS.contains(&yaml) {
        return Cow::Borrowed(yaml);
    }
    camel_case(yaml)
}

/// `kube-api` → `kubeApi`, `service_cluster_ip_range` → `serviceClusterIpRange`; names without
/// separators (`nodeName`, `kubedns`) are returned unchanged.
pub fn camel_case(name: &str) -> Cow<'_, str> {
    if !name.contains(['_', '-']) {
        return Cow::Borrowed(name);
    }
    let mut out = String::with_capacity(name.len());
    for (i, part) in name.split(['_', '-']).filter(|p| !p.is_empty()).enumerate() {
        if i == 0 {
            out.push_str(part);
            continue;
        }
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            out.extend(first.to_uppercase());
            out.push_str(chars.as_str());
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    const TSV: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/state/rke1-field-names.tsv"
    ));

    /// (go_struct, go_field, yaml, json) rows of the fixture.
    fn rows() -> Vec<[&'static str; 4]> {
        TSV.lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|l| {
                let cols: Vec<&str> = l.split('\t').collect();
                assert_eq!(cols.len(), 4, "bad fixture row: {l:?}");
                [cols[0], cols[1], cols[2], cols[3]]
            })
            .collect()
    }

    #[test]
    fn camel_case_examples() {
        assert_eq!(camel_case("kube-api"), "kubeApi");
        assert_eq!(
            camel_case("service_cluster_ip_range"),
            "serviceClusterIpRange"
        );
        assert_eq!(camel_case("nodeName"), "nodeName");
        assert_eq!(camel_case("awsCloudProvider"), "awsCloudProvider");
        assert_eq!(
            camel_case("l3out_external_networks"),
            "l3outExternalNetworks"
        );
        assert_eq!(camel_case("upstreamnameservers"), "upstreamnameservers");
    }

    #[test]
    fn every_go_field_maps_to_its_json_tag() {
        let rows = rows();
        assert!(rows.len() > 400, "fixture looks truncated: {}", rows.len());
        let wrong: Vec<String> = rows
            .iter()
            .filter(|[_, _, yaml, json]| json_name(yaml) != *json)
            .map(|[s, f, yaml, json]| {
                format!("{s}.{f}: {yaml} -> {} (want {json})", json_name(yaml))
            })
            .collect();
        assert!(wrong.is_empty(), "mismatches:\n{}", wrong.join("\n"));
    }

    #[test]
    fn no_yaml_key_has_two_json_names() {
        let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
        for [s, f, yaml, json] in rows() {
            if let Some(prev) = seen.insert(yaml, json) {
                assert_eq!(
                    prev, json,
                    "{s}.{f}: `{yaml}` maps to `{prev}` and `{json}`"
                );
            }
        }
    }

    #[test]
    fn tables_hold_only_needed_entries_from_the_go_source() {
        let rows = rows();
        let in_fixture = |yaml: &str, json: &str| rows.iter().any(|r| r[2] == yaml && r[3] == json);
        for (yaml, json) in RENAMED {
            assert!(
                in_fixture(yaml, json),
                "{yaml} -> {json} not in the Go source list"
            );
            assert_ne!(camel_case(yaml), *json, "{yaml} needs no exception");
        }
        for yaml in KEPT_AS_IS {
            assert!(in_fixture(yaml, yaml), "{yaml} not in the Go source list");
            assert_ne!(camel_case(yaml), *yaml, "{yaml} needs no exception");
        }
    }
}
