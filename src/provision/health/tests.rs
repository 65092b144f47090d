//! The probe path without a node: TLS and HTTP over an in-memory stream against a rustls server
//! holding certificates from our own PKI, and the verdict rules.

use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsAcceptor;

use super::*;
use crate::certs::{KUBE_APISERVER, KUBE_CA, KUBE_NODE, KeyAlgorithm, NodeIdentity, PkiInput};

fn bundle() -> CertBundle {
    let node = NodeIdentity {
        address: "10.77.0.11".into(),
        internal_address: "10.77.0.11".into(),
        hostname: "node1".into(),
    };
    let input = PkiInput {
        control_plane: vec![node.clone()],
        etcd: vec![node.clone()],
        all_nodes: vec![node],
        key_algorithm: KeyAlgorithm::EcdsaP256,
        ..PkiInput::default()
    };
    crate::certs::ensure(&input, &CertBundle::new(), time::OffsetDateTime::now_utc())
        .unwrap()
        .0
}

/// A TLS server presenting `bundle`'s kube-apiserver certificate, requiring a client
/// certificate signed by its kube-ca, answering one request with `answer`.
fn server(bundle: &CertBundle) -> ServerConfig {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(bundle[KUBE_CA].certificate_pem.as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .unwrap();
    let entry = &bundle[KUBE_APISERVER];
    let chain = CertificateDer::pem_slice_iter(entry.certificate_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_slice(entry.key_pem.as_bytes()).unwrap();
    ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .unwrap()
}

/// Run one HTTPS exchange of `check` against `server`, which answers `answer`.
async fn https_exchange(
    check: &HealthCheck,
    client_bundle: &CertBundle,
    server_config: ServerConfig,
    answer: &'static str,
) -> Result<Answer> {
    let (client, server_side) = tokio::io::duplex(16 * 1024);
    let acceptor = TlsAcceptor::from(Arc::new(server_config));
    let serve = tokio::spawn(async move {
        let Ok(mut tls) = acceptor.accept(server_side).await else {
            return;
        };
        let mut buf = vec![0u8; 2048];
        let _ = tls.read(&mut buf).await;
        let _ = tls.write_all(answer.as_bytes()).await;
        let _ = tls.shutdown().await;
    });
    let target = ProbeTarget::parse(&check.url).unwrap();
    let config = Arc::new(client_config(check, client_bundle)?);
    let result = exchange(client, &target, Some(config)).await;
    serve.abort();
    result
}

const OK: &str = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";

fn apiserver_check() -> HealthCheck {
    HealthCheck {
        url: "https://localhost:6443/healthz".into(),
        client_cert: Some(KUBE_APISERVER.into()),
        verify_ca: Some(KUBE_CA.into()),
    }
}

#[tokio::test]
async fn https_with_ca_and_client_certificate_succeeds() {
    let b = bundle();
    let answer = https_exchange(&apiserver_check(), &b, server(&b), OK)
        .await
        .unwrap();
    assert_eq!((answer.status, answer.body.as_str()), (200, "ok"));
}

#[tokio::test]
async fn a_server_signed_by_another_ca_is_rejected() {
    let ours = bundle();
    let theirs = bundle();
    let err = https_exchange(&apiserver_check(), &ours, server(&theirs), OK)
        .await
        .unwrap_err();
    assert!(format!("{err:#}").contains("TLS handshake"), "{err:#}");
}

#[tokio::test]
async fn self_signed_components_are_reached_without_verification() {
    // The controller-manager check trusts nothing and sends no client certificate; a server
    // that insists on one still refuses, so use one that signs with a foreign CA but asks
    // for no client certificate.
    let theirs = bundle();
    let entry = &theirs[KUBE_APISERVER];
    let config = ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        CertificateDer::pem_slice_iter(entry.certificate_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .unwrap(),
        PrivateKeyDer::from_pem_slice(entry.key_pem.as_bytes()).unwrap(),
    )
    .unwrap();
    let check = HealthCheck {
        url: "https://localhost:10259/healthz".into(),
        client_cert: None,
        verify_ca: None,
    };
    let answer = https_exchange(&check, &CertBundle::new(), config, OK)
        .await
        .unwrap();
    assert_eq!(answer.status, 200);
}

#[test]
fn a_certificate_missing_from_the_bundle_is_named() {
    let err = client_config(&apiserver_check(), &CertBundle::new()).unwrap_err();
    assert!(err.to_string().contains(KUBE_CA), "{err:#}");
    let mut b = bundle();
    b.remove(KUBE_APISERVER);
    let err = client_config(&apiserver_check(), &b).unwrap_err();
    assert!(err.to_string().contains(KUBE_APISERVER), "{err:#}");
    // The etcd check presents kube-node.
    let etcd = HealthCheck {
        url: "https://10.77.0.11:2379/health".into(),
        client_cert: Some(KUBE_NODE.into()),
        verify_ca: Some(KUBE_CA.into()),
    };
    let mut b = bundle();
    b.remove(KUBE_NODE);
    assert!(
        client_config(&etcd, &b)
            .unwrap_err()
            .to_string()
            .contains(KUBE_NODE)
    );
}

fn answer(status: u16, body: &str) -> Answer {
    Answer {
        status,
        location: None,
        body: body.into(),
    }
}

#[test]
fn verdicts_follow_status_and_etcd_body() {
    let plain = ProbeTarget::parse("http://localhost:10248/healthz").unwrap();
    assert!(judge(&plain, &answer(200, "ok")).is_ok());
    let err = judge(&plain, &answer(500, "[-]etcd failed\n")).unwrap_err();
    assert_eq!(err.to_string(), "HTTP status 500: [-]etcd failed");

    let etcd = ProbeTarget::parse("https://10.77.0.11:2379/health").unwrap();
    assert!(judge(&etcd, &answer(200, r#"{"health":"true","reason":""}"#)).is_ok());
    assert!(judge(&etcd, &answer(200, r#"{"health":true}"#)).is_ok());
    let err = judge(
        &etcd,
        &answer(200, r#"{"health":"false","reason":"RAFT NO LEADER"}"#),
    )
    .unwrap_err();
    assert!(err.to_string().contains("RAFT NO LEADER"), "{err}");
    assert!(judge(&etcd, &answer(200, "ok")).is_err());
}

#[test]
fn long_answers_are_shortened_to_one_line() {
    let long = "x ".repeat(500);
    let short = shorten(&long);
    assert!(short.chars().count() <= 201 && !short.contains('\n'));
}

#[test]
fn probe_pauses_double_from_the_first_up_to_the_interval() {
    let max = Duration::from_millis(500);
    let mut pause = FIRST_PAUSE.min(max);
    let mut pauses = vec![pause];
    for _ in 0..5 {
        pause = next_pause(pause, max);
        pauses.push(pause);
    }
    let ms: Vec<u128> = pauses.iter().map(Duration::as_millis).collect();
    assert_eq!(ms, [100, 200, 400, 500, 500, 500]);
    // An interval shorter than the first pause is never exceeded.
    let short = Duration::from_millis(50);
    assert_eq!(FIRST_PAUSE.min(short), short);
    assert_eq!(next_pause(short, short), short);
}
