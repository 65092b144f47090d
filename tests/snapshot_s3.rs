//! S3 snapshot storage against local moto servers (tests/env/s3/moto.sh): multipart upload,
//! listing, streamed download, folders, deletion, credential and TLS failures.

mod common;
use common::s3_servers::{create_bucket, raw_get_status, servers, unique_bucket};
use rke::error::{ErrorKind, kind_of};
use rke::snapshot::s3::{S3Settings, S3Store};
use std::path::Path;
use time::OffsetDateTime;

fn settings(endpoint: &str, bucket: &str, folder: &str) -> S3Settings {
    S3Settings {
        endpoint: endpoint.to_string(),
        endpoint_ca: None,
        access_key: "test-access".into(),
        secret_key: "test-secret".into(),
        bucket: bucket.to_string(),
        region: "us-east-1".into(),
        folder: folder.to_string(),
    }
}

/// Deterministic, incompressible-looking bytes.
fn pattern(len: usize) -> Vec<u8> {
    let mut x: u32 = 0x9e37_79b9;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_file_roundtrip_with_list_and_delete() {
    let Some(srv) = servers() else { return };
    let bucket = unique_bucket("big");
    create_bucket(&srv.http, None, &bucket).await;
    let store = S3Store::connect(&settings(&srv.http, &bucket, ""))
        .await
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src.zip");
    let data = pattern(20 * 1024 * 1024 + 12345);
    write(&src, &data);
    let name = "2024-01-01T00:00:00Z_etcd.zip";
    let before = OffsetDateTime::now_utc() - time::Duration::minutes(5);
    assert_eq!(store.put(name, &src).await.unwrap(), data.len() as u64);

    let listed = store.list().await.unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].name, name);
    assert_eq!(listed[0].size, data.len() as u64);
    assert!(listed[0].last_modified > before, "{listed:?}");
    // A multipart ETag carries the part count: proves the upload really went in parts.
    let etag = listed[0].etag.clone().expect("etag");
    assert!(etag.trim_matches('"').ends_with("-3"), "etag {etag}");

    let dst = dir.path().join("out.zip");
    assert_eq!(store.get(name, &dst).await.unwrap(), data.len() as u64);
    assert!(
        std::fs::read(&dst).unwrap() == data,
        "downloaded bytes differ"
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&dst).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(!dir.path().join("out.zip.part").exists());

    store.delete(name).await.unwrap();
    assert!(store.list().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn folder_prefixes_keys_and_scopes_listing() {
    let Some(srv) = servers() else { return };
    let bucket = unique_bucket("folder");
    create_bucket(&srv.http, None, &bucket).await;
    let in_folder = S3Store::connect(&settings(&srv.http, &bucket, "/rke/cluster-a/"))
        .await
        .unwrap();
    let at_root = S3Store::connect(&settings(&srv.http, &bucket, ""))
        .await
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let small = dir.path().join("small");
    write(&small, b"snapshot bytes");
    in_folder.put("one_etcd.zip", &small).await.unwrap();
    in_folder.put("notes.txt", &small).await.unwrap();
    at_root.put("root.zip", &small).await.unwrap();

    assert_eq!(
        in_folder.key("one_etcd.zip").unwrap(),
        "rke/cluster-a/one_etcd.zip"
    );
    assert_eq!(
        raw_get_status(&srv.http, &bucket, "rke/cluster-a/one_etcd.zip").await,
        200
    );
    let names =
        |v: Vec<rke::snapshot::s3::RemoteObject>| v.into_iter().map(|o| o.name).collect::<Vec<_>>();
    assert_eq!(names(in_folder.list().await.unwrap()), vec!["one_etcd.zip"]);
    // The root listing does not descend into the folder.
    assert_eq!(names(at_root.list().await.unwrap()), vec!["root.zip"]);

    let missing = in_folder
        .get("absent.zip", &dir.path().join("x"))
        .await
        .unwrap_err();
    assert_eq!(kind_of(&missing), ErrorKind::Snapshot);
    let msg = missing.to_string();
    assert!(
        msg.contains("rke/cluster-a/absent.zip") && msg.contains(&bucket),
        "{msg}"
    );
    assert!(!dir.path().join("x").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_requests_and_wrong_secret() {
    let Some(srv) = servers() else { return };
    let mut good = settings(&srv.auth_endpoint, &srv.auth_bucket, "signed");
    good.access_key = srv.auth_access_key.clone();
    good.secret_key = srv.auth_secret_key.clone();
    let store = S3Store::connect(&good).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let small = dir.path().join("small");
    write(&small, b"signed upload");
    store.put("signed.zip", &small).await.unwrap();
    assert!(
        store
            .list()
            .await
            .unwrap()
            .iter()
            .any(|o| o.name == "signed.zip")
    );
    store.delete("signed.zip").await.unwrap();

    let wrong_secret = "Wr0ngSecretKeyValueThatMustNotLeak";
    let mut bad = good.clone();
    bad.secret_key = wrong_secret.into();
    let err = S3Store::connect(&bad).await.unwrap_err();
    assert_eq!(kind_of(&err), ErrorKind::Snapshot);
    let msg = format!("{err:#}");
    eprintln!("wrong secret: {msg}");
    assert!(!msg.contains(wrong_secret), "{msg}");
    assert!(
        msg.contains(&srv.auth_bucket) && msg.contains(&srv.auth_endpoint),
        "{msg}"
    );
    assert!(
        msg.contains("SignatureDoesNotMatch") || msg.contains("403"),
        "{msg}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_needs_the_custom_ca() {
    let Some(srv) = servers() else { return };
    let bucket = unique_bucket("tls");
    create_bucket(&srv.https, Some(&srv.ca_pem), &bucket).await;

    let mut with_ca = settings(&srv.https, &bucket, "");
    with_ca.endpoint_ca = Some(srv.ca_pem.clone());
    let store = S3Store::connect(&with_ca).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let small = dir.path().join("small");
    write(&small, b"over tls");
    store.put("tls.zip", &small).await.unwrap();
    let back = dir.path().join("back");
    store.get("tls.zip", &back).await.unwrap();
    assert_eq!(std::fs::read(&back).unwrap(), b"over tls");

    // Same endpoint without the scheme: RKE1's host:port form means HTTPS.
    let mut bare = with_ca.clone();
    bare.endpoint = srv.https.trim_start_matches("https://").to_string();
    S3Store::connect(&bare).await.unwrap();

    let err = S3Store::connect(&settings(&srv.https, &bucket, ""))
        .await
        .unwrap_err();
    assert_eq!(kind_of(&err), ErrorKind::Snapshot);
    let msg = err.to_string();
    eprintln!("no CA: {msg}");
    assert!(msg.to_lowercase().contains("certificate"), "{msg}");
    assert!(msg.contains("custom_ca"), "{msg}");
}
