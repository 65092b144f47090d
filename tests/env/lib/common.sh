# shellcheck shell=bash
# Shared settings and helpers for the e2e environment scripts (sourced, never run).
#
# Everything the environment creates carries the prefix "rke-e2e" (containers, network,
# volumes, images), so cleanup can find leftovers of a stopped run by name alone.

E2E_PREFIX=rke-e2e
# Identifies one up.sh run, also in the processes it starts (the Kubernetes build).
export E2E_RUN_ID=${E2E_RUN_ID:-$$-$(date +%s)}
E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Caches survive down.sh; a cold run is `rm -rf "$E2E_CACHE"`.
E2E_CACHE=${RKE_E2E_CACHE:-/var/cache/rke-e2e}
# Per-run state (ssh key, registry credentials and certificates, env.json). down.sh deletes it.
E2E_STATE=${RKE_E2E_STATE:-$E2E_CACHE/run}
E2E_LOGS=$E2E_CACHE/logs

# Test network: a /24 given by its first three octets. .1 is the host (gateway and
# registry), node i gets .(10+i).
E2E_NET_PREFIX=${RKE_E2E_NET_PREFIX:-10.77.0}
E2E_NETWORK=$E2E_PREFIX-net
E2E_GATEWAY=$E2E_NET_PREFIX.1
E2E_REGISTRY_PORT=${RKE_E2E_REGISTRY_PORT:-5000}
E2E_REGISTRY=$E2E_GATEWAY:$E2E_REGISTRY_PORT
E2E_REGISTRY_USER=rke-e2e

E2E_SUITE=bookworm
E2E_K8S_VERSION=v1.20.2
# Debian source package that carries the upstream v1.20.2 tree.
E2E_K8S_SRC_PKG=kubernetes
E2E_PAUSE_TAG=3.2

# Niceness of the heavy builds (Kubernetes, debootstrap): the 2 cores are shared.
E2E_NICE=${RKE_E2E_NICE:-10}

# The OCI runtime wrapper is registered under this name in every daemon.json that needs it.
E2E_RUNTIME_NAME=rke-e2e-runc
E2E_HOST_WRAPPER=/usr/local/lib/rke-e2e/runc-capfix

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
	printf '[%s] ERROR: %s\n' "$(date +%H:%M:%S)" "$*" >&2
	exit 1
}

# True when the capability bounding set lacks CAP_SYS_RESOURCE (bit 24). On such hosts
# privileged containers and negative oom_score_adj fail unless the runtime wrapper is used.
cap_sys_resource_missing() {
	local capbnd
	capbnd=$(awk '/^CapBnd:/ {print $2}' /proc/self/status)
	(((0x$capbnd >> 24 & 1) == 0))
}

node_name() { echo "$E2E_PREFIX-node$1"; }
node_ip() { echo "$E2E_NET_PREFIX.$((10 + $1))"; }
node_volume() { echo "$E2E_PREFIX-node$1-docker"; }

# Phase timing: `phase_start NAME` ... `phase_end`; `phase_report` prints all of them.
E2E_PHASES=()
E2E_PHASE_NAME=
E2E_PHASE_T0=0
E2E_RUN_T0=$(date +%s)
phase_start() {
	E2E_PHASE_NAME=$1
	E2E_PHASE_T0=$(date +%s)
	log "== phase: $1"
}
phase_end() {
	local took=$(($(date +%s) - E2E_PHASE_T0))
	E2E_PHASES+=("$E2E_PHASE_NAME:$took")
	log "== phase $E2E_PHASE_NAME done in ${took}s"
}
phase_report() {
	local entry
	echo "Timings:"
	for entry in "${E2E_PHASES[@]}"; do
		printf '  %-10s %5ss\n' "${entry%%:*}" "${entry##*:}"
	done
	printf '  %-10s %5ss\n' total "$(($(date +%s) - E2E_RUN_T0))"
}

# Poll CMD... every second until it succeeds or SECONDS_MAX pass.
wait_for() {
	local seconds_max=$1 what=$2
	shift 2
	local deadline=$(($(date +%s) + seconds_max))
	until "$@" >/dev/null 2>&1; do
		(($(date +%s) < deadline)) || die "timed out after ${seconds_max}s waiting for $what"
		sleep 1
	done
}

# The state dir is deleted by down.sh; a marker file proves it is ours before rm -rf.
state_dir_init() {
	mkdir -p "$E2E_STATE"
	chmod 700 "$E2E_STATE"
	touch "$E2E_STATE/.rke-e2e-state"
}
