//! `addons_include` URLs: one HTTP(S) GET with a deadline, following a few redirects (RKE1
//! used Go's `http.Get`, which does), trusting Mozilla's roots for HTTPS.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use hyper::http::Uri;
use tokio::net::TcpStream;

use crate::provision::health::http::{Answer, get};

/// How long one include may take, redirects included.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(30);
const MAX_REDIRECTS: usize = 5;

/// The body of `url`, which must answer 200.
pub async fn fetch(url: &str, timeout: Duration) -> anyhow::Result<String> {
    tokio::time::timeout(timeout, follow(url))
        .await
        .map_err(|_| anyhow::anyhow!("no complete answer within {}s", timeout.as_secs()))?
}

async fn follow(url: &str) -> anyhow::Result<String> {
    let mut uri: Uri = url.parse().context("not a valid URL")?;
    for _ in 0..=MAX_REDIRECTS {
        let Answer {
            status,
            location,
            body,
        } = get_once(&uri).await?;
        match (status, location) {
            (200, _) => return Ok(body),
            (301 | 302 | 303 | 307 | 308, Some(next)) => uri = resolve(&uri, &next)?,
            (status, _) => bail!("HTTP status {status}"),
        }
    }
    bail!("more than {MAX_REDIRECTS} redirects")
}

/// A redirect target, absolute or relative to `base`.
fn resolve(base: &Uri, location: &str) -> anyhow::Result<Uri> {
    if location.starts_with("http://") || location.starts_with("https://") {
        return location
            .parse()
            .with_context(|| format!("bad redirect {location:?}"));
    }
    let scheme = base.scheme_str().unwrap_or("http");
    let authority = base.authority().map(|a| a.as_str()).unwrap_or_default();
    format!("{scheme}://{authority}{location}")
        .parse()
        .with_context(|| format!("bad redirect {location:?}"))
}

async fn get_once(uri: &Uri) -> anyhow::Result<Answer> {
    let https = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        other => bail!("unsupported URL scheme {other:?}"),
    };
    let host = uri.host().context("URL has no host")?.to_string();
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
    let authority = uri
        .authority()
        .map(|a| a.as_str().to_string())
        .unwrap_or_else(|| host.clone());
    let path = uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    let tcp = TcpStream::connect((host.trim_matches(['[', ']']), port))
        .await
        .with_context(|| format!("connecting to {host}:{port}"))?;
    if !https {
        return get(tcp, &authority, &path).await;
    }
    let name = rustls::pki_types::ServerName::try_from(host.trim_matches(['[', ']']).to_string())
        .with_context(|| format!("{host:?} is not a TLS server name"))?;
    let tls = tokio_rustls::TlsConnector::from(Arc::new(tls_config()?))
        .connect(name, tcp)
        .await
        .context("TLS handshake")?;
    get(tls, &authority, &path).await
}

fn tls_config() -> anyhow::Result<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(webpki_root_certs::TLS_SERVER_ROOT_CERTS.iter().cloned());
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_resolve_against_the_current_url() {
        let base: Uri = "https://example.com:8443/a/b.yaml".parse().unwrap();
        assert_eq!(
            resolve(&base, "/c.yaml").unwrap().to_string(),
            "https://example.com:8443/c.yaml"
        );
        assert_eq!(
            resolve(&base, "http://other/x").unwrap().to_string(),
            "http://other/x"
        );
    }

    #[tokio::test]
    async fn unsupported_schemes_are_refused() {
        let err = fetch("ftp://example.com/x", Duration::from_secs(1))
            .await
            .unwrap_err();
        assert!(
            format!("{err:#}").contains("unsupported URL scheme"),
            "{err:#}"
        );
    }
}
