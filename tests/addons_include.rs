//! `addons_include` URLs fetched from a loopback HTTP server: the body is parsed as the
//! includes addon, redirects are followed, and failures (status, silence past the timeout)
//! name the include.

use std::path::Path;
use std::time::{Duration, Instant};

use rke::addons::user::included_objects;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const CONFIGMAP: &str =
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-url\n  namespace: default\n";

/// Serve each connection with the answer `route` gives for the request path; `None` keeps
/// the connection open without answering.
async fn serve(route: fn(&str) -> Option<String>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (mut sock, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let n = sock.read(&mut buf).await.unwrap_or(0);
                let request = String::from_utf8_lossy(&buf[..n]).into_owned();
                let path = request.split_whitespace().nth(1).unwrap_or("/").to_string();
                match route(&path) {
                    Some(answer) => {
                        let _ = sock.write_all(answer.as_bytes()).await;
                    }
                    None => tokio::time::sleep(Duration::from_secs(30)).await,
                }
            });
        }
    });
    format!("http://{addr}")
}

fn answer(status: &str, headers: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n{headers}\r\n{body}",
        body.len()
    )
}

fn route(path: &str) -> Option<String> {
    match path {
        "/cm.yaml" => Some(answer("200 OK", "", CONFIGMAP)),
        "/moved" => Some(answer("302 Found", "Location: /cm.yaml\r\n", "")),
        "/bad.yaml" => Some(answer("200 OK", "", "kind: [\n")),
        "/silent" => None,
        _ => Some(answer("404 Not Found", "", "no")),
    }
}

#[tokio::test]
async fn url_includes_are_fetched_and_parsed() {
    let base = serve(route).await;
    let entries = vec![format!("{base}/cm.yaml"), format!("{base}/moved")];
    let objects = included_objects(&entries, Path::new("/nonexistent"), Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(objects.len(), 2);
    assert!(objects.iter().all(|o| o["metadata"]["name"] == "from-url"));
}

#[tokio::test]
async fn url_include_failures_name_the_include() {
    let base = serve(route).await;
    let missing = format!("{base}/missing.yaml");
    let err = included_objects(
        std::slice::from_ref(&missing),
        Path::new("."),
        Duration::from_secs(5),
    )
    .await
    .unwrap_err();
    let msg = format!("{err:#}");
    assert!(msg.contains(&format!("addons_include {missing}")), "{msg}");
    assert!(msg.contains("HTTP status 404"), "{msg}");

    let bad = format!("{base}/bad.yaml");
    let err = included_objects(
        std::slice::from_ref(&bad),
        Path::new("."),
        Duration::from_secs(5),
    )
    .await
    .unwrap_err();
    let msg = format!("{err:#}");
    assert!(
        msg.starts_with(&format!(
            "rke-user-includes-addons: addons_include {bad}: document 1"
        )),
        "{msg}"
    );
}

#[tokio::test]
async fn a_silent_server_fails_within_the_timeout() {
    let base = serve(route).await;
    let started = Instant::now();
    let err = included_objects(
        &[format!("{base}/silent")],
        Path::new("."),
        Duration::from_secs(1),
    )
    .await
    .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(format!("{err:#}").contains("within 1s"), "{err:#}");
}
