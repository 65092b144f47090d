//! One HTTP/1.1 GET over an already open byte stream (an SSH channel, possibly under TLS).

use anyhow::{Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::Request;
use hyper::header::{CONNECTION, HOST, LOCATION};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};

/// What the server answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    /// The `Location` header, for redirects.
    pub location: Option<String>,
    pub body: String,
}

/// Send `GET path` with `Host: authority` and read the whole answer.
pub async fn get<S>(stream: S, authority: &str, path: &str) -> Result<Answer>
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
        let body = response
            .into_body()
            .collect()
            .await
            .context("reading the answer")?
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
    async fn a_stream_closed_without_answer_is_an_error() {
        let (client, server) = tokio::io::duplex(64);
        drop(server);
        assert!(get(client, "x:1", "/").await.is_err());
    }
}
