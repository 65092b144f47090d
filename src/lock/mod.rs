//! One writer at a time: every command that changes a cluster (`up`, `remove`, `cert rotate`,
//! `etcd snapshot-save`, `etcd snapshot-restore`) holds a lock file on the nodes it works on
//! (as k0sctl's lock phase does). The holder refreshes the files while it runs and removes them
//! at the end, also on error; a holder that died stops refreshing, and its lock expires.
//!
//! [`record`] is the pure part (file format, the node's answer, staleness); [`remote`] talks to
//! the nodes.

pub mod record;
mod remote;

pub use record::{HEARTBEAT, LockRecord, STALE_AFTER};
pub use remote::{ClusterLock, LOCK_FILE, acquire, while_held};
