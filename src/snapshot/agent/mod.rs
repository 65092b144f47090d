//! The recurring snapshot agent (RKE1's `etcd-rolling-snapshots` container): the `rke` binary
//! itself, uploaded to each etcd node and run inside the etcd image as
//! `rke etcd snapshot-agent --settings <file>`. Every `creation` it snapshots the local etcd member
//! straight over TCP with the node's etcd certificate, writes `<RFC3339>_etcd.zip` with the
//! cluster state into `/opt/rke/etcd-snapshots/`, copies it to S3 when configured, and
//! deletes recurring snapshots older than `retention` in both places.

pub mod binary;
mod cycle;
mod run;
mod settings;

pub use binary::{LocalBinary, check_static, runs_on};
pub use cycle::{Round, newest_recurring, prune_local, round};
pub use run::{first_round, next_round, run};
pub use settings::{AgentSettings, EtcdEndpoint};
