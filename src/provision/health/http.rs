//! One HTTP/1.1 GET over an already open byte stream (an SSH channel, possibly under TLS).

use anyhow::{Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty, LengthLimitError, Limited};
use hyper::Request;
use hyper::header::{CONNECTION, HOST, LOCATION};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};

use crate::limits::Limit;

/// What the server answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    /// The `Location` header, for redirects.
    pub location: Option<String>,
    pub body: String,
}

/// Health endpoints answer a few bytes; anything past this is not a health answer.
const HEALTH_BODY: Limit = Limit {
    what: "a health check answer",
    bytes: 1 << 20,
};

/// Send `GET path` with `Host: authority` and read the whole answer.
pub async fn get<S>(stream: S, authority: &str, path: &str) -> Result<Answer>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    get_limited(stream, authority, path, HEALTH_BODY).await
}

/// As [`get`], refusing a body larger than `limit` (read no further than that).
pub async fn get_limited<S>(stream: S, authority: &str, path: &str, limit: Limit) -> Result<Answer>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .context("HTTP handshake")?;
    // The connection task ends when the answer is read or the stream breaks; its error, if
    // any, also surfaces through `send_request`.
    let driver = tokio::spawn(connection);
    let request = Request::get(path)
        .header(HOST, authority)
        .header(CONNECTION, "close")
        .body(Empty::<Bytes>::new())
        .context("building the request")?;
    let result = async {
        let response = sender
            .send_request(request)
            .await
            .context("sending the request")?;
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = Limited::new(response.into_body(), limit.bytes as usize)
            .collect()
            .await
            .map_err(|e| {
                if e.is::<LengthLimitError>() {
                    anyhow::anyhow!("the answer is {}", limit.exceeded_at_least())
                } else {
                    anyhow::anyhow!("reading the answer: {e}")
                }
            })?
            .to_bytes();
        Ok(Answer {
            status,
            location,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    }
    .await;
    driver.abort();
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn sends_a_get_with_host_and_reads_status_and_body() {
        let (client, mut server) = tokio::io::duplex(4096);
        let serve = tokio::spawn(async move {
            let mut buf = vec![0u8; 1024];
            let n = server.read(&mut buf).await.unwrap();
            let request = String::from_utf8_lossy(&buf[..n]).into_owned();
            server
                .write_all(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 2\r\n\r\nno")
                .await
                .unwrap();
            request
        });
        let answer = get(client, "localhost:10248", "/healthz").await.unwrap();
        assert_eq!(answer.status, 503);
        assert_eq!(answer.body, "no");
        let request = serve.await.unwrap();
        assert!(
            request.starts_with("GET /healthz HTTP/1.1\r\n"),
            "{request}"
        );
        assert!(
            request
                .to_ascii_lowercase()
                .contains("host: localhost:10248"),
            "{request}"
        );
    }

    #[tokio::test]
    async fn a_body_over_the_limit_is_refused_naming_it() {
        let (client, mut server) = tokio::io::duplex(1 << 16);
        let serve = tokio::spawn(async move {
            let mut buf = vec![0u8; 1024];
            let _ = server.read(&mut buf).await.unwrap();
            // Chunked, so the size is known only while reading.
            let _ = server
                .write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
                .await;
            for _ in 0..8 {
                if server
                    .write_all(b"10\r\n0123456789abcdef\r\n")
                    .await
                    .is_err()
                {
                    return;
                }
            }
            let _ = server.write_all(b"0\r\n\r\n").await;
        });
        let limit = Limit {
            what: "a test body",
            bytes: 100,
        };
        let err = get_limited(client, "x:1", "/", limit).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "the answer is too large: more than the 100 bytes limit for a test body"
        );
        serve.abort();

        let (client, mut server) = tokio::io::duplex(4096);
        tokio::spawn(async move {
            let mut buf = vec![0u8; 1024];
            let _ = server.read(&mut buf).await.unwrap();
            let _ = server
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nsmall")
                .await;
        });
        let answer = get_limited(client, "x:1", "/", limit).await.unwrap();
        assert_eq!(answer.body, "small");
    }

    #[tokio::test]
    async fn a_stream_closed_without_answer_is_an_error() {
        let (client, server) = tokio::io::duplex(64);
        drop(server);
        assert!(get(client, "x:1", "/").await.is_err());
    }
}
