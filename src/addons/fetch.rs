//! `addons_include` URLs: one HTTP(S) GET with a deadline and a size limit, following a few
//! redirects (RKE1 used Go's `http.Get`, which does), trusting Mozilla's roots for HTTPS.
//! Unlike Go, a redirect from HTTPS to plain HTTP is refused: the manifest would travel
//! unauthenticated, and it is applied to the cluster with cluster-admin rights.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use hyper::http::Uri;
use tokio::net::TcpStream;

use crate::limits::Limit;
use crate::provision::health::http::{Answer, get_limited};

/// How long one include may take, redirects included.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(30);
const MAX_REDIRECTS: usize = 5;

/// The body of `url`, which must answer 200 with at most `limit` bytes.
pub async fn fetch(url: &str, timeout: Duration, limit: Limit) -> anyhow::Result<String> {
    tokio::time::timeout(timeout, follow(url, limit))
        .await
        .map_err(|_| anyhow::anyhow!("no complete answer within {}s", timeout.as_secs()))?
}

async fn follow(url: &str, limit: Limit) -> anyhow::Result<String> {
    let mut uri: Uri = url.parse().context("not a valid URL")?;
    for _ in 0..=MAX_REDIRECTS {
        let Answer {
            status,
            location,
            body,
        } = get_once(&uri, limit).await?;
        match (status, location) {
            (200, _) => return Ok(body),
            (301 | 302 | 303 | 307 | 308, Some(next)) => uri = next_hop(&uri, &next)?,
            (status, _) => bail!("HTTP status {status}"),
        }
    }
    bail!("more than {MAX_REDIRECTS} redirects")
}

/// Where a redirect from `current` to `location` leads, unless it leaves HTTPS.
fn next_hop(current: &Uri, location: &str) -> anyhow::Result<Uri> {
    let next = resolve(current, location)?;
    if current.scheme_str() == Some("https") && next.scheme_str() != Some("https") {
        bail!(
            "refusing the redirect from {current} to {next}: it leaves HTTPS for plain HTTP, \
             where the manifest could be read or changed on the way"
        );
    }
    Ok(next)
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

async fn get_once(uri: &Uri, limit: Limit) -> anyhow::Result<Answer> {
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
        return get_limited(tcp, &authority, &path, limit).await;
    }
    let name = rustls::pki_types::ServerName::try_from(host.trim_matches(['[', ']']).to_string())
        .with_context(|| format!("{host:?} is not a TLS server name"))?;
    let tls = tokio_rustls::TlsConnector::from(Arc::new(tls_config()?))
        .connect(name, tcp)
        .await
        .context("TLS handshake")?;
    get_limited(tls, &authority, &path, limit).await
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

    #[test]
    fn a_redirect_from_https_to_http_is_refused() {
        let base: Uri = "https://example.com/a.yaml".parse().unwrap();
        let err = next_hop(&base, "http://example.com/a.yaml").unwrap_err();
        assert!(
            err.to_string().contains("leaves HTTPS for plain HTTP"),
            "{err}"
        );
        // Relative redirects keep the scheme; HTTPS to HTTPS and plain HTTP hops are fine.
        assert_eq!(
            next_hop(&base, "/b.yaml").unwrap().to_string(),
            "https://example.com/b.yaml"
        );
        assert!(next_hop(&base, "https://mirror.example.com/a.yaml").is_ok());
        let plain: Uri = "http://example.com/a.yaml".parse().unwrap();
        assert!(next_hop(&plain, "https://example.com/a.yaml").is_ok());
        assert!(next_hop(&plain, "http://other/a.yaml").is_ok());
    }

    /// A loopback HTTP server answering each connection with the next canned answer.
    async fn serve(answers: Vec<Vec<u8>>) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            for answer in answers {
                let (mut conn, _) = listener.accept().await.unwrap();
                let mut buf = vec![0u8; 4096];
                let _ = conn.read(&mut buf).await;
                let _ = conn.write_all(&answer).await;
                let _ = conn.shutdown().await;
            }
        });
        format!("http://{addr}")
    }

    #[tokio::test]
    async fn redirects_are_followed_and_bodies_limited_on_a_real_socket() {
        let small = Limit {
            what: "a test include",
            bytes: 64,
        };
        let base = serve(vec![
            b"HTTP/1.1 302 Found\r\nLocation: /x.yaml\r\nContent-Length: 0\r\n\r\n".to_vec(),
            b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nkind".to_vec(),
        ])
        .await;
        let body = fetch(&format!("{base}/a.yaml"), Duration::from_secs(5), small)
            .await
            .unwrap();
        assert_eq!(body, "kind");

        let mut big = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n".to_vec();
        big.extend([b'x'; 100]);
        let base = serve(vec![big]).await;
        let err = fetch(&format!("{base}/big.yaml"), Duration::from_secs(5), small)
            .await
            .unwrap_err();
        assert!(
            format!("{err:#}").contains("more than the 64 bytes limit for a test include"),
            "{err:#}"
        );
    }

    #[tokio::test]
    async fn unsupported_schemes_are_refused() {
        let err = fetch(
            "ftp://example.com/x",
            Duration::from_secs(1),
            crate::limits::ADDON_INCLUDE,
        )
        .await
        .unwrap_err();
        assert!(
            format!("{err:#}").contains("unsupported URL scheme"),
            "{err:#}"
        );
    }
}
