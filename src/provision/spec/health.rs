//! Health checks per component and Kubernetes version (rke1.md §3.12 table).

use super::types::HealthCheck;
use crate::certs::{KUBE_APISERVER, KUBE_CA, KUBE_NODE};

fn http(port: u16) -> HealthCheck {
    HealthCheck {
        url: format!("http://localhost:{port}/healthz"),
        client_cert: None,
        verify_ca: None,
    }
}

/// Secure ports of the controller-manager and scheduler serve a self-signed certificate and
/// allow `/healthz` without credentials.
fn https_self_signed(port: u16) -> HealthCheck {
    HealthCheck {
        url: format!("https://localhost:{port}/healthz"),
        client_cert: None,
        verify_ca: None,
    }
}

pub fn kube_apiserver() -> HealthCheck {
    HealthCheck {
        url: "https://localhost:6443/healthz".into(),
        client_cert: Some(KUBE_APISERVER.into()),
        verify_ca: Some(KUBE_CA.into()),
    }
}

/// `http://localhost:10252` up to Kubernetes 1.21, then the secure port 10257.
pub fn kube_controller_manager(minor: u32) -> HealthCheck {
    if minor <= 21 {
        http(10252)
    } else {
        https_self_signed(10257)
    }
}

/// `http://localhost:10251` up to Kubernetes 1.22, then the secure port 10259.
pub fn kube_scheduler(minor: u32) -> HealthCheck {
    if minor <= 22 {
        http(10251)
    } else {
        https_self_signed(10259)
    }
}

pub fn kubelet() -> HealthCheck {
    http(10248)
}

pub fn kube_proxy() -> HealthCheck {
    http(10256)
}

/// RKE1 asks etcd on its internal address with the kube-node client certificate.
pub fn etcd(internal_host_port: &str) -> HealthCheck {
    HealthCheck {
        url: format!("https://{internal_host_port}:2379/health"),
        client_cert: Some(KUBE_NODE.into()),
        verify_ca: Some(KUBE_CA.into()),
    }
}

/// RKE1 had no check for the proxy. Asking the API server through it proves the proxy works
/// and a control-plane node is reachable from this node.
pub fn nginx_proxy() -> HealthCheck {
    HealthCheck {
        url: "https://127.0.0.1:6443/healthz".into(),
        client_cert: Some(KUBE_NODE.into()),
        verify_ca: Some(KUBE_CA.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_follow_rke1_by_version() {
        assert_eq!(
            kube_controller_manager(20).url,
            "http://localhost:10252/healthz"
        );
        assert_eq!(
            kube_controller_manager(22).url,
            "https://localhost:10257/healthz"
        );
        assert_eq!(kube_scheduler(22).url, "http://localhost:10251/healthz");
        assert_eq!(kube_scheduler(23).url, "https://localhost:10259/healthz");
        assert_eq!(etcd("10.0.0.1").url, "https://10.0.0.1:2379/health");
    }
}
