//! Whole files: every mistake found at once, each at the right path, line and column.

use super::*;
use crate::config::validate::fill_positions;

const MANY_MISTAKES: &str = include_str!("../../../../tests/fixtures/validate/many_mistakes.yml");
const CLEAN: &str = include_str!("../../../../tests/fixtures/validate/clean.yml");

fn check_file(text: &str) -> Vec<Problem> {
    let cfg: RkeConfig = serde_saphyr::from_str(text).expect("fixture parses");
    let mut problems = run(&cfg);
    fill_positions(&mut problems, text);
    problems
}

#[test]
fn many_mistakes_are_all_reported_with_positions() {
    let got = check_file(MANY_MISTAKES);
    let got: Vec<(Severity, &str, Option<usize>, Option<usize>)> = got
        .iter()
        .map(|p| (p.severity, p.path.as_str(), p.line, p.column))
        .collect();
    let expected: Vec<(Severity, &str, Option<usize>, Option<usize>)> = [
        (E, "system_images.kubernetes", 58, 3),
        (E, "nodes[0].role[2]", 9, 32),
        (E, "nodes[1].hostname_override", 11, 7),
        (
            E,
            "nodes[1].labels[\"node-role.kubernetes.io/edge\"]",
            17,
            9,
        ),
        (E, "nodes[1].taints[0].effect", 21, 11),
        // `user` is absent: reported at the node itself.
        (E, "nodes[2].user", 22, 5),
        (E, "nodes[2].address", 22, 5),
        (W, "nodes", 5, 1),
        (
            E,
            "services.kube-controller.service_cluster_ip_range",
            32,
            9,
        ),
        (E, "services.kube-controller.cluster_cidr", 33, 9),
        (E, "services.kubelet.cluster_dns_server", 35, 9),
        (E, "services.kube-api.service_node_port_range", 29, 9),
        (E, "network.plugin", 47, 11),
        (E, "ingress.provider", 53, 3),
        (E, "authentication.strategy", 49, 3),
        (E, "private_registries[0].url", 63, 5),
        (E, "upgrade_strategy.max_unavailable_worker", 66, 3),
        // `bucket_name` is absent: reported at its parent block.
        (
            E,
            "services.etcd.backup_config.s3backupconfig.bucket_name",
            40,
            13,
        ),
    ]
    .into_iter()
    .map(|(s, p, l, c)| (s, p, Some(l), Some(c)))
    .collect();
    assert_eq!(got, expected);
}

#[test]
fn many_mistakes_messages_name_the_values() {
    let got = check_file(MANY_MISTAKES);
    let message = |path: &str| {
        got.iter()
            .find(|p| p.path == path)
            .map(|p| p.message.clone())
            .unwrap_or_default()
    };
    assert!(message("nodes[0].role[2]").contains("did you mean \"worker\""));
    assert!(message("nodes[1].hostname_override").contains("\"Node_2\""));
    assert!(message("nodes[2].address").contains("nodes[0] and nodes[2]"));
    assert!(message("services.kubelet.cluster_dns_server").contains("10.45.0.10"));
    assert!(message("network.plugin").contains("did you mean \"flannel\""));
    let shown = got[0].to_string();
    assert!(
        shown.starts_with("line 58, column 3: error: system_images.kubernetes: "),
        "{shown}"
    );
}

#[test]
fn clean_file_has_no_problems() {
    assert_eq!(check_file(CLEAN), vec![]);
}
