//! Secrets never reach stderr: an S3 server whose error message quotes the credentials it was
//! given (as some do), and the final `error:` line that carries that message. No node is
//! contacted: the S3 access check fails first.

use crate::common::{THREE_NODES, rke, stderr_of, write};
use std::io::{Read, Write};
use std::net::TcpListener;

const ACCESS_KEY: &str = "AKIDLEAKCHECK0123456";
const SECRET_KEY: &str = "Zr8/sEcReT+KeY/ThatMustNeverBePrinted";

/// A local "S3" answering every request with 403 and a message that echoes both keys.
fn echoing_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut seen = Vec::new();
            let mut buf = [0u8; 4096];
            while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                match conn.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => seen.extend_from_slice(&buf[..n]),
                }
            }
            let body = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>InvalidAccessKeyId</Code>\
                 <Message>access key {ACCESS_KEY} (secret {SECRET_KEY}) is not known</Message>\
                 </Error>"
            );
            let reply = format!(
                "HTTP/1.1 403 Forbidden\r\nContent-Type: application/xml\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = conn.write_all(reply.as_bytes());
        }
    });
    port
}

fn snapshot_list(port: u16, keys_as_flags: bool) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(dir.path(), "cluster.yml", THREE_NODES);
    let endpoint = format!("http://127.0.0.1:{port}");
    let mut cmd = rke();
    cmd.args(["etcd", "snapshot-list", "--config"])
        .arg(&cfg)
        .args(["--s3", "--s3-endpoint", &endpoint, "--bucket-name", "snaps"])
        .env_remove("RKE_S3_ACCESS_KEY")
        .env_remove("RKE_S3_SECRET_KEY");
    if keys_as_flags {
        cmd.args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY]);
    } else {
        cmd.env("RKE_S3_ACCESS_KEY", ACCESS_KEY)
            .env("RKE_S3_SECRET_KEY", SECRET_KEY);
    }
    let out = cmd.output().unwrap();
    (out.status.code(), stderr_of(&out))
}

#[test]
fn an_error_quoting_the_s3_keys_is_masked_on_stderr() {
    let port = echoing_server();
    for keys_as_flags in [true, false] {
        let (code, err) = snapshot_list(port, keys_as_flags);
        assert_ne!(code, Some(0), "{err}");
        let last = err.trim_end().lines().last().unwrap_or("");
        // The server's message made it into the final line, masked.
        assert!(
            last.starts_with("error: ") && last.contains("InvalidAccessKeyId"),
            "{err}"
        );
        assert!(last.contains("[redacted]"), "{last}");
        assert!(!err.contains(ACCESS_KEY), "access key on stderr: {err}");
        assert!(!err.contains(SECRET_KEY), "secret key on stderr: {err}");
        // Keys given as flags are visible to other users: the warning names the variables.
        let warned = err.contains("RKE_S3_SECRET_KEY") && err.contains("RKE_S3_ACCESS_KEY");
        assert_eq!(warned, keys_as_flags, "{err}");
    }
}
