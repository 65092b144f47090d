//! PKI: certificate authorities, component certificates, kubeconfigs, custom certificates,
//! CSRs and the expiry report. RKE1-compatible bundle names and layout (rke1.md §3.4).

mod bundle;

pub use bundle::{CertBundle, CertificatePki};
