//! PKI: certificate authorities, component certificates, kubeconfigs, custom certificates,
//! CSRs and the expiry report. RKE1-compatible bundle names and layout (rke1.md §3.4).
//!
//! - [`ensure`] generates what is missing and keeps what is still correct byte-identical.
//! - [`load_custom_certs`] reads and validates `--custom-certs` directories.
//! - [`generate_csrs`] writes CSRs for an external CA.
//! - [`check`] reports expiry; [`admin_kubeconfig`] renders `kube_config_cluster.yml`.

mod borrowed;
mod bundle;
mod csr;
mod custom;
mod ensure;
mod input;
mod issue;
mod keys;
mod kubeconfig;
pub mod names;
mod report;
mod rotate;
mod spec;
mod x509;

#[cfg(test)]
mod test_support;

pub use borrowed::admin_from_ca;
pub use bundle::{CertBundle, CertificatePki};
pub use csr::generate_csrs;
pub use custom::load_custom_certs;
pub use ensure::{CertChanges, api_server_url, ensure};
pub use input::{KeyAlgorithm, NodeIdentity, PkiInput};
pub use kubeconfig::admin_kubeconfig;
pub use names::{
    API_PROXY_CLIENT, KUBE_ADMIN, KUBE_APISERVER, KUBE_CA, KUBE_CONTROLLER_MANAGER, KUBE_NODE,
    KUBE_PROXY, KUBE_SCHEDULER, REQUEST_HEADER_CA, SERVICE_ACCOUNT_TOKEN, crt_name_for_host,
    rke1_local_kubeconfig_path,
};
pub use report::{CertStatus, EXPIRY_WARN_DAYS, check};
pub use rotate::{RotateRequest, RotateService, entries_to_rotate, rotate, verify_current_cas};
