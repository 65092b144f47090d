//! Where a health URL points, as seen from the node: what to dial through the SSH tunnel, what
//! name the server's certificate must carry, and what to ask for.

use anyhow::{Context, Result, bail};
use hyper::Uri;

/// A parsed health-check URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeTarget {
    pub tls: bool,
    /// Host to open the tunnel to, on the node's side (`localhost` becomes `127.0.0.1`: the
    /// node's resolver may map it to `::1`, where components do not listen).
    pub connect_host: String,
    pub port: u16,
    /// The URL's host as written: the TLS server name and the `Host` header.
    pub host: String,
    /// Path and query.
    pub path: String,
}

impl ProbeTarget {
    pub fn parse(url: &str) -> Result<Self> {
        let uri: Uri = url
            .parse()
            .with_context(|| format!("health check URL {url:?} is not a URL"))?;
        let tls = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            other => bail!("health check URL {url:?}: scheme {other:?} is neither http nor https"),
        };
        let Some(raw_host) = uri.host() else {
            bail!("health check URL {url:?} has no host");
        };
        // `Uri` keeps IPv6 brackets; neither the tunnel nor TLS wants them.
        let host = raw_host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
        let connect_host = if host.eq_ignore_ascii_case("localhost") {
            "127.0.0.1".to_string()
        } else {
            host.clone()
        };
        let path = uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| "/".into());
        Ok(Self {
            tls,
            connect_host,
            port,
            host,
            path,
        })
    }

    /// The `Host` header value: IPv6 literals go back into brackets.
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// etcd answers `/health` with a JSON verdict that must say `"health":"true"`; a 200
    /// alone is not enough (RKE1 checks the body too).
    pub fn wants_etcd_verdict(&self) -> bool {
        self.path == "/health"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn localhost_is_dialled_as_ipv4_loopback_but_named_as_written() {
        let t = ProbeTarget::parse("https://localhost:6443/healthz").unwrap();
        assert!(t.tls);
        assert_eq!(t.connect_host, "127.0.0.1");
        assert_eq!(t.host, "localhost");
        assert_eq!(t.port, 6443);
        assert_eq!(t.path, "/healthz");
        assert_eq!(t.authority(), "localhost:6443");
        assert!(!t.wants_etcd_verdict());
    }

    #[test]
    fn etcd_and_plain_http_and_defaults() {
        let t = ProbeTarget::parse("https://10.77.0.11:2379/health").unwrap();
        assert_eq!(t.connect_host, "10.77.0.11");
        assert!(t.wants_etcd_verdict());
        let t = ProbeTarget::parse("http://localhost:10248/healthz").unwrap();
        assert!(!t.tls);
        let t = ProbeTarget::parse("http://example.test").unwrap();
        assert_eq!((t.port, t.path.as_str()), (80, "/"));
        let t = ProbeTarget::parse("https://[fd00::1]:2379/health?x=1").unwrap();
        assert_eq!(t.host, "fd00::1");
        assert_eq!(t.path, "/health?x=1");
        assert_eq!(t.authority(), "[fd00::1]:2379");
    }

    #[test]
    fn rejects_other_schemes_and_garbage() {
        let err = ProbeTarget::parse("ftp://localhost/x").unwrap_err();
        assert!(err.to_string().contains("neither http nor https"), "{err}");
        assert!(ProbeTarget::parse("not a url").is_err());
        assert!(ProbeTarget::parse("/healthz").is_err());
    }
}
