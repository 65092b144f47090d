//! etcd client for the etcd plane: health, member list, add and remove, all through the SSH
//! connection of a node (`direct-tcpip` to `<ip>:2379`), with TLS and the `kube-node` client
//! certificate as RKE1 uses (`services/etcd.go`).
//!
//! [`EtcdClient`] talks to one member; [`check_quorum`] is the pure rule `rke up` applies before
//! removing members one at a time, and [`check_disruption`] the one before stopping any member
//! (restart or removal) while others may be unhealthy.

mod client;
mod disruption;
mod member;
mod quorum;
mod snapshot;
mod tls;

pub use client::{DEFAULT_TIMEOUT, ETCD_CLIENT_PORT, EtcdClient, Health};
pub use disruption::{Disruption, MemberHealth, check_disruption};
pub use member::{ETCD_PEER_PORT, Member, member_name, peer_url};
pub use quorum::check_quorum;
pub use snapshot::SNAPSHOT_TIMEOUT;
pub use tls::EtcdTls;
