//! Turning object store failures into `Snapshot`-class errors that name the endpoint, bucket and
//! key, keep the whole cause chain (the TLS reason sits deep in it), and never hold the secret.

use crate::error::{ErrorKind, classified};

/// What an error message names; also carries the secret so it can be scrubbed out.
#[derive(Clone)]
pub(crate) struct Target {
    pub endpoint: String,
    pub bucket: String,
    pub secret: String,
}

impl Target {
    /// `S3 <op> of '<key>' in bucket '<b>' at <endpoint> failed: <causes>[; hint]`.
    pub fn error(
        &self,
        op: &str,
        key: Option<&str>,
        err: &(dyn std::error::Error + 'static),
    ) -> anyhow::Error {
        let what = match key {
            Some(k) => format!("S3 {op} of '{k}'"),
            None => format!("S3 {op}"),
        };
        let causes = summarize_s3_error_body(&cause_chain(err));
        let message = format!(
            "{what} in bucket '{}' at {} failed: {causes}{}",
            self.bucket,
            self.endpoint,
            hint(&causes)
        );
        classified(ErrorKind::Snapshot, self.scrub(message))
    }

    /// A local file problem during a transfer.
    pub fn local_error(
        &self,
        op: &str,
        path: &std::path::Path,
        err: std::io::Error,
    ) -> anyhow::Error {
        classified(
            ErrorKind::Snapshot,
            self.scrub(format!("S3 {op}: local file {}: {err}", path.display())),
        )
    }

    fn scrub(&self, message: String) -> String {
        if self.secret.is_empty() {
            message
        } else {
            message.replace(&self.secret, "<redacted>")
        }
    }
}

/// Every distinct message in the error's source chain, joined by ": ".
fn cause_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = String::new();
    let mut next = Some(err);
    while let Some(e) = next {
        let text = e.to_string();
        if !text.is_empty() && !out.contains(&text) {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&text);
        }
        next = e.source();
    }
    out
}

/// S3 answers errors with an XML document; keep its `Code: Message` and drop the rest (request
/// ids, line breaks) so the message stays one readable line.
fn summarize_s3_error_body(text: &str) -> String {
    let start = text.find("<?xml").or_else(|| text.find("<Error>"));
    let Some(start) = start else {
        return text.replace('\n', " ");
    };
    let end = text[start..]
        .find("</Error>")
        .map(|i| start + i + "</Error>".len())
        .unwrap_or(text.len());
    let body = &text[start..end];
    let element = |name: &str| {
        let open = format!("<{name}>");
        let from = body.find(&open)? + open.len();
        let to = body[from..].find(&format!("</{name}>"))? + from;
        Some(body[from..to].to_string())
    };
    let summary = match (element("Code"), element("Message")) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code,
        _ => body.to_string(),
    };
    format!("{}{summary}{}", &text[..start], &text[end..]).replace('\n', " ")
}

fn hint(causes: &str) -> &'static str {
    let lower = causes.to_ascii_lowercase();
    if lower.contains("certificate") || lower.contains("unknownissuer") {
        "; the endpoint's TLS certificate is not trusted: set custom_ca (or --s3-endpoint-ca) to \
         the CA that signed it"
    } else if lower.contains("signaturedoesnotmatch")
        || lower.contains("invalidaccesskeyid")
        || lower.contains("403")
    {
        "; check the access key and secret key"
    } else if lower.contains("nosuchbucket") {
        "; the bucket does not exist"
    } else {
        ""
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::kind_of;

    #[derive(Debug)]
    struct Outer(std::io::Error);
    impl std::fmt::Display for Outer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("error sending request")
        }
    }
    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn s3_error_xml_becomes_code_and_message() {
        let raw = "403 Forbidden: <?xml version=\"1.0\"?>\n<Error><Code>SignatureDoesNotMatch</Code>\
                   <Message>The signature does not match.</Message><RequestId>1</RequestId></Error>";
        assert_eq!(
            summarize_s3_error_body(raw),
            "403 Forbidden: SignatureDoesNotMatch: The signature does not match."
        );
        assert_eq!(summarize_s3_error_body("a\nb"), "a b");
    }

    #[test]
    fn names_target_keeps_deep_causes_and_scrubs_the_secret() {
        let t = Target {
            endpoint: "https://127.0.0.1:9000".into(),
            bucket: "snaps".into(),
            secret: "s3cr3t".into(),
        };
        let inner = std::io::Error::other("invalid peer certificate: UnknownIssuer (key s3cr3t)");
        let err = t.error("upload", Some("f/x.zip"), &Outer(inner));
        assert_eq!(kind_of(&err), ErrorKind::Snapshot);
        let msg = err.to_string();
        assert!(msg.starts_with("S3 upload of 'f/x.zip' in bucket 'snaps' at https://127.0.0.1:9000 failed: error sending request: invalid peer certificate"), "{msg}");
        assert!(msg.contains("custom_ca"), "{msg}");
        assert!(!msg.contains("s3cr3t"), "{msg}");
    }
}
