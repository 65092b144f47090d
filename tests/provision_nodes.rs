//! The node executor against the real e2e nodes (`tests/env/up.sh`): files through a helper
//! container, image pulls with registry credentials, container convergence and rolling
//! replace, node cleaning and dry-run explanations. Without the environment these tests FAIL;
//! `RKE_E2E_SKIP=1` skips them knowingly.
//! Each case works on its own node, and everything it creates carries the prefix
//! `rke-exec-test` and is removed at the end.

mod common;
use common::node_connect;

#[path = "provision_nodes/clean_cases.rs"]
mod clean_cases;
#[path = "provision_nodes/converge_cases.rs"]
mod converge_cases;
#[path = "provision_nodes/explain_cases.rs"]
mod explain_cases;
#[path = "provision_nodes/file_cases.rs"]
mod file_cases;
#[path = "provision_nodes/image_cases.rs"]
mod image_cases;
