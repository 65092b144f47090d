//! Async client for the snapshot bucket: upload, download, list and delete `<folder>/<name>`.

use super::error::Target;
use super::key::object_key;
use super::settings::S3Settings;
use crate::error::{ErrorKind, classified};
use futures_util::StreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey};
use object_store::path::Path as ObjectPath;
use object_store::{
    Attribute, Attributes, BackoffConfig, Certificate, ClientOptions, ObjectStore, ObjectStoreExt,
    PutMultipartOptions, PutOptions, PutPayload, RetryConfig, WriteMultipart,
};
use std::path::{Path, PathBuf};
use std::time::Duration;
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Files above this size go up in parts (S3's minimum part is 5 MiB).
const MULTIPART_THRESHOLD: u64 = 8 * 1024 * 1024;
const PART_SIZE: usize = 8 * 1024 * 1024;
/// Parts in flight at once: bounds memory to about this many parts.
const PARALLEL_PARTS: usize = 4;
const READ_BUFFER: usize = 1024 * 1024;
/// rke-tools uploads with this content type.
const CONTENT_TYPE: &str = "application/zip";
/// Per request; a part or a streamed download must finish within it.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(600);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// Credential variables honoured when no keys are configured (besides instance metadata).
const CREDENTIAL_ENV: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
];

/// A snapshot archive in the bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteObject {
    /// File name without the folder, e.g. `2024-01-01T00:00:00Z_etcd.zip`.
    pub name: String,
    pub size: u64,
    pub last_modified: OffsetDateTime,
    pub etag: Option<String>,
}

/// Connected snapshot storage. Cheap to clone.
#[derive(Clone)]
pub struct S3Store {
    store: AmazonS3,
    folder: String,
    target: Target,
}

impl std::fmt::Debug for S3Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Store")
            .field("endpoint", &self.target.endpoint)
            .field("bucket", &self.target.bucket)
            .field("folder", &self.folder)
            .finish()
    }
}

impl S3Store {
    /// Build the client and check the bucket is reachable with these credentials (like rke-tools'
    /// `BucketExists` check), so a wrong key or CA fails here rather than mid-upload.
    pub async fn connect(settings: &S3Settings) -> anyhow::Result<S3Store> {
        let endpoint = settings.parsed_endpoint()?;
        let target = Target {
            endpoint: endpoint.url(),
            bucket: settings.bucket.clone(),
            secret: settings.secret_key.clone(),
        };
        let mut options = ClientOptions::new()
            .with_allow_http(!endpoint.https)
            .with_timeout(REQUEST_TIMEOUT)
            .with_connect_timeout(CONNECT_TIMEOUT);
        if let Some(ca) = &settings.endpoint_ca {
            let certs = Certificate::from_pem_bundle(ca.as_bytes())
                .map_err(|e| target.error("setup (custom CA)", None, &e))?;
            for cert in certs {
                options = options.with_root_certificate(cert);
            }
        }
        let mut builder = AmazonS3Builder::new();
        if settings.access_key.is_empty() {
            for var in CREDENTIAL_ENV {
                if let (Ok(value), Ok(key)) = (
                    std::env::var(var),
                    var.to_ascii_lowercase().parse::<AmazonS3ConfigKey>(),
                ) {
                    if matches!(
                        *var,
                        "AWS_ACCESS_KEY_ID" | "AWS_SECRET_ACCESS_KEY" | "AWS_SESSION_TOKEN"
                    ) {
                        crate::events::redact::register(&value);
                    }
                    builder = builder.with_config(key, value);
                }
            }
        } else {
            builder = builder
                .with_access_key_id(&settings.access_key)
                .with_secret_access_key(&settings.secret_key);
        }
        if !endpoint.is_aws_global() {
            builder = builder.with_endpoint(endpoint.url());
        }
        let store = builder
            .with_bucket_name(&settings.bucket)
            .with_region(&settings.region)
            .with_virtual_hosted_style_request(false)
            .with_allow_http(!endpoint.https)
            .with_client_options(options)
            .with_retry(RetryConfig {
                backoff: BackoffConfig {
                    init_backoff: Duration::from_millis(200),
                    max_backoff: Duration::from_secs(5),
                    base: 2.0,
                },
                // rke-tools retries S3 calls three times.
                max_retries: 3,
                retry_timeout: Duration::from_secs(120),
            })
            .build()
            .map_err(|e| target.error("setup", None, &e))?;
        let s3 = S3Store {
            store,
            folder: settings.folder.trim().trim_matches('/').to_string(),
            target,
        };
        s3.check_access().await?;
        Ok(s3)
    }

    /// `<folder>/<name>`.
    pub fn key(&self, name: &str) -> anyhow::Result<String> {
        object_key(&self.folder, name)
    }

    /// Upload `local` as `name`; files over 8 MiB go as a multipart upload, read in pieces.
    pub async fn put(&self, name: &str, local: &Path) -> anyhow::Result<u64> {
        let (key, path) = self.path(name)?;
        let local_err = |e| self.target.local_error("upload", local, e);
        let mut file = tokio::fs::File::open(local).await.map_err(local_err)?;
        let size = file.metadata().await.map_err(local_err)?.len();
        let attributes = Attributes::from_iter([(Attribute::ContentType, CONTENT_TYPE)]);
        if size <= MULTIPART_THRESHOLD {
            let mut bytes = Vec::with_capacity(size as usize);
            file.read_to_end(&mut bytes).await.map_err(local_err)?;
            let payload = PutPayload::from(bytes);
            self.store
                .put_opts(&path, payload, PutOptions::from(attributes))
                .await
                .map_err(|e| self.target.error("upload", Some(&key), &e))?;
            return Ok(size);
        }
        let upload = self
            .store
            .put_multipart_opts(&path, PutMultipartOptions::from(attributes))
            .await
            .map_err(|e| self.target.error("upload", Some(&key), &e))?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
        let mut buf = vec![0u8; READ_BUFFER];
        let mut sent = 0u64;
        loop {
            let n = match file.read(&mut buf).await {
                Ok(n) => n,
                Err(e) => {
                    // Best effort: the read error is the one to report.
                    let _ = writer.abort().await;
                    return Err(local_err(e));
                }
            };
            if n == 0 {
                break;
            }
            if let Err(e) = writer.wait_for_capacity(PARALLEL_PARTS).await {
                let _ = writer.abort().await;
                return Err(self.target.error("upload", Some(&key), &e));
            }
            writer.write(&buf[..n]);
            sent += n as u64;
        }
        writer
            .finish()
            .await
            .map_err(|e| self.target.error("upload", Some(&key), &e))?;
        Ok(sent)
    }

    /// Download `name` into `local` (mode 0600: archives hold the cluster state), streaming to
    /// a temporary file beside it that is renamed into place once complete.
    pub async fn get(&self, name: &str, local: &Path) -> anyhow::Result<u64> {
        let (key, path) = self.path(name)?;
        let result = self
            .store
            .get(&path)
            .await
            .map_err(|e| self.target.error("download", Some(&key), &e))?;
        let partial = partial_path(local);
        let local_err = |e| self.target.local_error("download", &partial, e);
        let mut file = tokio::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&partial)
            .await
            .map_err(local_err)?;
        let mut stream = result.into_stream();
        let mut written = 0u64;
        let outcome: anyhow::Result<()> = async {
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| self.target.error("download", Some(&key), &e))?;
                file.write_all(&chunk).await.map_err(local_err)?;
                written += chunk.len() as u64;
            }
            file.sync_all().await.map_err(local_err)?;
            Ok(())
        }
        .await;
        drop(file);
        if let Err(e) = outcome {
            let _ = tokio::fs::remove_file(&partial).await;
            return Err(e);
        }
        tokio::fs::rename(&partial, local)
            .await
            .map_err(|e| self.target.local_error("download", local, e))?;
        Ok(written)
    }

    /// Snapshot archives (`*.zip`) directly in the folder, sorted by name. Like rke-tools'
    /// non-recursive listing, sub-folders are not descended into.
    pub async fn list(&self) -> anyhow::Result<Vec<RemoteObject>> {
        let prefix = (!self.folder.is_empty()).then(|| ObjectPath::from(self.folder.as_str()));
        let listing = self
            .store
            .list_with_delimiter(prefix.as_ref())
            .await
            .map_err(|e| self.target.error("list", Some(&self.folder_label()), &e))?;
        let mut out = Vec::new();
        for meta in listing.objects {
            let Some(name) = meta.location.filename() else {
                continue;
            };
            if !name.ends_with(".zip") {
                continue;
            }
            let last_modified = OffsetDateTime::from_unix_timestamp_nanos(
                i128::from(meta.last_modified.timestamp()) * 1_000_000_000
                    + i128::from(meta.last_modified.timestamp_subsec_nanos()),
            )
            .map_err(|e| {
                classified(
                    ErrorKind::Snapshot,
                    format!(
                        "S3 list: object '{}' has an out-of-range time: {e}",
                        meta.location
                    ),
                )
            })?;
            out.push(RemoteObject {
                name: name.to_string(),
                size: meta.size,
                last_modified,
                etag: meta.e_tag.clone(),
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Delete `name`; deleting an object that is not there succeeds, as in S3.
    pub async fn delete(&self, name: &str) -> anyhow::Result<()> {
        let (key, path) = self.path(name)?;
        self.store
            .delete(&path)
            .await
            .map_err(|e| self.target.error("delete", Some(&key), &e))
    }

    /// One listing request: fails on a missing bucket, wrong credentials or an untrusted CA.
    async fn check_access(&self) -> anyhow::Result<()> {
        let prefix = (!self.folder.is_empty()).then(|| ObjectPath::from(self.folder.as_str()));
        let mut stream = self.store.list(prefix.as_ref());
        if let Some(Err(e)) = stream.next().await {
            return Err(self
                .target
                .error("access check (list)", Some(&self.folder_label()), &e));
        }
        Ok(())
    }

    fn path(&self, name: &str) -> anyhow::Result<(String, ObjectPath)> {
        let key = self.key(name)?;
        // `parse` keeps the key verbatim (`from` would percent-encode some characters).
        let path = ObjectPath::parse(&key).map_err(|e| {
            classified(
                ErrorKind::Snapshot,
                format!("invalid S3 object key '{key}': {e}"),
            )
        })?;
        Ok((key, path))
    }

    fn folder_label(&self) -> String {
        if self.folder.is_empty() {
            "/".to_string()
        } else {
            format!("{}/", self.folder)
        }
    }
}

fn partial_path(local: &Path) -> PathBuf {
    let mut name = local
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".part");
    local.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_file_sits_beside_the_target() {
        assert_eq!(
            partial_path(Path::new("/tmp/x/snap.zip")),
            PathBuf::from("/tmp/x/snap.zip.part")
        );
    }
}
