#!/usr/bin/env bash
# Removes everything an rke (or RKE1) cluster leaves on nodes of the test environment, so the
# next run starts from clean nodes: the one clean-up between runs, used by the node tests
# (tests/common/nodes.rs `cleanup`) and by bench/all.sh.
#
#   tests/env/clean-nodes.sh [--snapshots] CONTAINER...
#
# CONTAINER: a node's host-side container (env.json's `nodes[].container`, e.g. rke-e2e-node1);
# the work is done inside it with `docker exec`. On each node: rke's containers (by RKE's
# container-name label; other tests' rke-health-test*/rke-exec-test* containers are left alone),
# the pods' containers the kubelet started (k8s_*), kubelet mounts, RKE1's directories,
# cri-dockerd's checkpoints, the cluster lock, the pod network's routes (proto 77) and bridge,
# and an engine socket a test left parked (see `stop_engine` in tests/common/nodes.rs).
# --snapshots also empties the snapshot directories, which rke never empties itself.
# A node that cannot be cleaned is reported and the others are still cleaned; the exit code
# is then 1.
set -uo pipefail

snapshots=0
if [[ ${1:-} == --snapshots ]]; then
	snapshots=1
	shift
fi
(($#)) || {
	echo "usage: $0 [--snapshots] CONTAINER..." >&2
	exit 2
}

# shellcheck disable=SC2016 # expanded on the node
script='
[ -e /var/run/docker.sock.up-nodes-stopped ] && mv /var/run/docker.sock.up-nodes-stopped /var/run/docker.sock
ids=$(docker ps -a --filter label=io.rancher.rke.container.name --format "{{.ID}} {{.Names}}" |
	grep -v " rke-health-test" | grep -v " rke-exec-test" | cut -d" " -f1)
pods=$(docker ps -aq --filter name=^/k8s_)
# RKE1 labels only its main services: its snapshot agent and helpers go by name.
ids="$ids $(docker ps -aq --filter name=^/etcd-rolling-snapshots$ --filter name=^/service-sidekick$ \
	--filter name=^/rke-log-linker$ --filter name=^/rke-etcd-port-listener$ --filter name=^/rke-cp-port-listener$ \
	--filter name=^/rke-worker-port-listener$ --filter name=^/etcd-snapshot-once$)"
[ -z "$(echo $ids$pods)" ] || docker rm -f -v $ids $pods >/dev/null
grep " /var/lib/kubelet" /proc/mounts | cut -d" " -f2 | sort -r | xargs -r umount -l
rm -rf /etc/kubernetes /var/lib/etcd/* /var/lib/kubelet/* /etc/cni/* /opt/cni/* \
	/var/lib/cni/* /var/run/calico /var/lib/cri-dockerd \
	/tmp/rke-cluster.lock /tmp/rke-cluster.lock.stale.*
ip route flush proto 77
ip link del cni0 2>/dev/null
true'
((snapshots == 0)) || script+='
rm -rf /opt/rke/etcd-snapshots/* /opt/rke/etcd-snapshots-restore /opt/rke/etcd-restore /opt/rke/bin'

status=0
for container in "$@"; do
	if ! err=$(docker exec "$container" sh -c "$script" 2>&1 >/dev/null); then
		echo "clean-nodes: cleaning $container failed: $err" >&2
		status=1
	fi
done
exit "$status"
