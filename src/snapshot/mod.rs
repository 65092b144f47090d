//! etcd snapshots in RKE1's on-disk format: `<name>.zip` archives in `/opt/rke/etcd-snapshots/`
//! holding the snapshot and the cluster state file ([`archive`]), the checks a snapshot must
//! pass before a restore stops anything ([`integrity`]), RKE1's snapshot names and local
//! retention ([`naming`]), copies in S3-compatible object storage ([`s3`]), and the agent
//! that takes recurring snapshots on every etcd node ([`agent`]) on the [`schedule`] in
//! `services.etcd`. The commands' work: [`save`] (with [`package`] and [`on_node`], the
//! archives on the nodes) and the etcd half of [`restore`].

pub mod agent;
pub mod archive;
pub mod hosts;
pub mod integrity;
pub mod naming;
pub mod on_node;
pub mod package;
pub mod restore;
pub mod s3;
pub mod save;
pub mod schedule;
