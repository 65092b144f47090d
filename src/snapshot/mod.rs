//! etcd snapshots in RKE1's format: `<name>.zip` archives kept on the etcd nodes under
//! `/opt/rke/etcd-snapshots/` and, optionally, copied to S3-compatible object storage.

pub mod s3;
