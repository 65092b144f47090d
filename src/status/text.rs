//! The report as readable tables: nodes and their components, etcd members, certificates,
//! and a one-line summary.

use std::fmt::Write;

use super::{CertState, Report};
use crate::certs::EXPIRY_WARN_DAYS;

/// The whole report as text, ending with a newline.
pub fn render(r: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Cluster {}{}",
        r.cluster_name,
        if r.applied {
            ""
        } else {
            " (the state file has no current state: `rke up` never finished)"
        }
    );
    for n in &r.nodes {
        out.push('\n');
        let reach = match (&n.reachable, &n.error) {
            (true, None) => "reachable".to_string(),
            (true, Some(e)) => format!("reachable, but {e}"),
            (false, Some(e)) => format!(
                "UNREACHABLE ({}): {e}",
                n.error_kind.unwrap_or("connection")
            ),
            (false, None) => "UNREACHABLE".to_string(),
        };
        let _ = writeln!(
            out,
            "NODE {} ({}) [{}]: {reach}",
            n.name,
            n.address,
            n.roles.join(",")
        );
        if n.components.is_empty() {
            continue;
        }
        let rows = n
            .components
            .iter()
            .map(|c| {
                let image = match (&c.image, &c.wanted_image) {
                    (Some(i), _) => i.clone(),
                    (None, Some(w)) => format!("(wants {w})"),
                    (None, None) => "-".into(),
                };
                vec![
                    c.name.clone(),
                    c.state.as_str().to_string(),
                    image,
                    c.drift.describe().to_string(),
                ]
            })
            .collect();
        let details: Vec<Vec<String>> = n.components.iter().map(|c| c.changes.clone()).collect();
        out.push_str(&table(
            &["COMPONENT", "STATE", "IMAGE", "DRIFT"],
            rows,
            &details,
        ));
    }

    out.push_str("\nETCD\n");
    if r.etcd.external {
        out.push_str("  external etcd (services.etcd.external_urls): not checked\n");
    } else if let Some(e) = &r.etcd.error {
        let _ = writeln!(out, "  {e}");
    } else if r.etcd.members.is_empty() {
        out.push_str("  no etcd members\n");
    } else {
        let rows = r
            .etcd
            .members
            .iter()
            .map(|m| {
                let health = match (&m.error, m.leader) {
                    (Some(e), _) => format!("UNHEALTHY: {e}"),
                    (None, true) => "healthy (leader)".to_string(),
                    (None, false) => "healthy".to_string(),
                };
                let name = if m.name.is_empty() {
                    "<unstarted>".to_string()
                } else {
                    m.name.clone()
                };
                let name = if m.learner {
                    format!("{name} (learner)")
                } else {
                    name
                };
                vec![name, m.id.clone(), m.peer_urls.join(","), health]
            })
            .collect();
        out.push_str(&table(&["MEMBER", "ID", "PEER URLS", "HEALTH"], rows, &[]));
    }

    out.push_str("\nCERTIFICATES\n");
    let rows = r
        .certificates
        .iter()
        .map(|c| {
            let state = match (c.state, &c.error) {
                (CertState::Ok, _) => "ok".to_string(),
                (CertState::Expiring, _) => {
                    format!("EXPIRES WITHIN {EXPIRY_WARN_DAYS} DAYS")
                }
                (CertState::Expired, _) => "EXPIRED".to_string(),
                (CertState::Unreadable, e) => {
                    format!("UNREADABLE: {}", e.as_deref().unwrap_or_default())
                }
            };
            vec![
                c.name.clone(),
                c.not_after.trim_end_matches('Z').replace('T', " "),
                c.days_left.to_string(),
                state,
            ]
        })
        .collect();
    out.push_str(&table(
        &["NAME", "EXPIRES (UTC)", "DAYS LEFT", "STATE"],
        rows,
        &[],
    ));

    let s = &r.summary;
    let _ = writeln!(
        out,
        "\nSummary: {}/{} nodes reachable; {} components: {} match, {} differ, {} missing, {} \
         not wanted{}, {} not running; etcd {}/{} healthy; {} certificates, {} expiring within \
         {EXPIRY_WARN_DAYS} days, {} expired or unreadable",
        s.reachable,
        s.nodes,
        s.components,
        s.matching,
        s.differing,
        s.missing,
        s.not_wanted,
        if s.unknown > 0 {
            format!(", {} unknown", s.unknown)
        } else {
            String::new()
        },
        s.not_running,
        s.etcd_healthy,
        s.etcd_members,
        s.certificates,
        s.certificates_expiring,
        s.certificates_expired,
    );
    out
}

/// One table line: each cell padded to its column's width but the last.
fn row_line(widths: &[usize], cells: &[&str]) -> String {
    let mut s = String::from(" ");
    for (i, cell) in cells.iter().enumerate() {
        s.push(' ');
        if i + 1 == cells.len() {
            s.push_str(cell);
        } else {
            let _ = write!(s, "{cell:<w$} ", w = widths[i]);
        }
    }
    s.truncate(s.trim_end().len());
    s.push('\n');
    s
}

/// Left-aligned columns indented by two spaces (the last column unpadded); `details[i]`
/// are lines printed under row `i`, indented further.
fn table(headers: &[&str], rows: Vec<Vec<String>>, details: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = row_line(&widths, headers);
    for (i, row) in rows.iter().enumerate() {
        let cells: Vec<&str> = row.iter().map(String::as_str).collect();
        out.push_str(&row_line(&widths, &cells));
        for d in details.get(i).into_iter().flatten() {
            let _ = writeln!(out, "      - {d}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::*;
    use super::*;

    fn report() -> Report {
        let nodes = vec![
            NodeStatus {
                name: "n1".into(),
                address: "10.0.0.1".into(),
                roles: vec!["controlplane".into(), "etcd".into(), "worker".into()],
                reachable: true,
                error: None,
                error_kind: None,
                components: vec![
                    Component {
                        name: "etcd".into(),
                        state: ContainerState::Running,
                        image: Some("etcd:v3.5".into()),
                        wanted_image: Some("etcd:v3.5".into()),
                        drift: Drift::Matches,
                        changes: vec![],
                    },
                    Component {
                        name: "kubelet".into(),
                        state: ContainerState::Running,
                        image: Some("k8s:v1.31".into()),
                        wanted_image: Some("k8s:v1.31".into()),
                        drift: Drift::Differs,
                        changes: vec!["args: +--max-pods=50".into()],
                    },
                    Component {
                        name: "kube-proxy".into(),
                        state: ContainerState::Stopped,
                        image: Some("k8s:v1.31".into()),
                        wanted_image: Some("k8s:v1.31".into()),
                        drift: Drift::Matches,
                        changes: vec![],
                    },
                ],
            },
            NodeStatus {
                name: "n2".into(),
                address: "10.0.0.2".into(),
                roles: vec!["worker".into()],
                reachable: false,
                error: Some("ssh: connection refused".into()),
                error_kind: Some("connection"),
                components: vec![],
            },
        ];
        let etcd = EtcdStatus {
            external: false,
            members: vec![MemberStatus {
                name: "etcd-n1".into(),
                id: "a1".into(),
                peer_urls: vec!["https://10.0.0.1:2380".into()],
                client_urls: vec!["https://10.0.0.1:2379".into()],
                learner: false,
                healthy: true,
                leader: true,
                version: Some("3.5.16".into()),
                error: None,
            }],
            error: None,
        };
        let certificates = vec![
            CertExpiry {
                name: "kube-ca".into(),
                not_after: "2036-11-20T14:00:00Z".into(),
                days_left: 3650,
                state: CertState::Ok,
                error: None,
            },
            CertExpiry {
                name: "kube-node".into(),
                not_after: "2026-12-01T14:00:00Z".into(),
                days_left: 9,
                state: CertState::Expiring,
                error: None,
            },
        ];
        let summary = Summary::of(&nodes, &etcd, &certificates);
        Report {
            cluster_name: "local".into(),
            applied: true,
            nodes,
            etcd,
            certificates,
            summary,
        }
    }

    #[test]
    fn summary_counts() {
        let s = report().summary;
        assert_eq!((s.nodes, s.reachable, s.components), (2, 1, 3));
        assert_eq!((s.matching, s.differing, s.not_running), (2, 1, 1));
        assert_eq!((s.etcd_members, s.etcd_healthy), (1, 1));
        assert_eq!((s.certificates, s.certificates_expiring), (2, 1));
        assert!(!s.all_good());
    }

    #[test]
    fn text_tables() {
        let text = render(&report());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "Cluster local");
        assert!(text.contains("NODE n1 (10.0.0.1) [controlplane,etcd,worker]: reachable\n"));
        assert!(text.contains(
            "NODE n2 (10.0.0.2) [worker]: UNREACHABLE (connection): ssh: connection refused\n"
        ));
        // Columns line up: the header and each row put DRIFT at the same offset.
        let header = lines.iter().find(|l| l.contains("COMPONENT")).unwrap();
        let kubelet = lines.iter().find(|l| l.contains("kubelet")).unwrap();
        assert_eq!(
            header.find("DRIFT"),
            kubelet.find("differs (would be replaced)")
        );
        assert!(text.contains("      - args: +--max-pods=50\n"));
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("  kube-proxy") && l.contains("stopped"))
        );
        assert!(text.contains("healthy (leader)"));
        assert!(text.contains("2036-11-20 14:00:00"));
        assert!(text.contains("EXPIRES WITHIN 90 DAYS"));
        assert!(text.ends_with(
            "Summary: 1/2 nodes reachable; 3 components: 2 match, 1 differ, 0 missing, 0 not \
             wanted, 1 not running; etcd 1/1 healthy; 2 certificates, 1 expiring within 90 \
             days, 0 expired or unreadable\n"
        ));
    }

    #[test]
    fn json_form() {
        let v = serde_json::to_value(report()).unwrap();
        assert_eq!(v["nodes"][0]["components"][1]["drift"], "differs");
        assert_eq!(v["nodes"][0]["components"][2]["state"], "stopped");
        assert_eq!(v["nodes"][1]["reachable"], false);
        assert_eq!(v["nodes"][1]["error_kind"], "connection");
        assert!(v["nodes"][0].get("error").is_none());
        assert_eq!(v["etcd"]["members"][0]["leader"], true);
        assert_eq!(v["certificates"][1]["state"], "expiring");
        assert_eq!(v["summary"]["differing"], 1);
    }
}
