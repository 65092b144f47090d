//! S3-compatible storage for snapshot archives (RKE1's `backup_config.s3backupconfig`):
//! settings from `cluster.yml` or RKE1's CLI flags, an async object store client, and the
//! retention rule for recurring snapshots.

mod args;
mod error;
mod key;
mod retention;
mod settings;
mod store;

pub use args::{S3Args, guard_keys, settings};
pub use key::object_key;
pub use retention::{expired, is_recurring};
pub use settings::{DEFAULT_ENDPOINT, DEFAULT_REGION, Endpoint, S3Settings};
pub use store::{RemoteObject, S3Store};
