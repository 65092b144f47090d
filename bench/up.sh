#!/usr/bin/env bash
# `rke up` benchmark on the real nodes of tests/env: wall time and peak RSS of the rke process
# (GNU time) for a fresh 3-node cluster, no-op re-runs, a dry run, adding a worker (node4) and
# removing an etcd+worker node (node3). Figures only: nothing is asserted beyond each run's
# success. Run as root; brings up the 4-node environment when needed, cleans the nodes before
# and after.
#
#   bench/up.sh            (NOOP_RUNS=3: how many no-op re-runs to time)
set -euo pipefail
cd "$(dirname "$0")/.."

ENV_JSON=${RKE_E2E_ENV:-${RKE_E2E_STATE:-${RKE_E2E_CACHE:-/var/cache/rke-e2e}/run}/env.json}
NOOP_RUNS=${NOOP_RUNS:-3}
say() { printf '==> %s\n' "$*" >&2; }
die() {
	printf 'bench/up.sh: %s\n' "$*" >&2
	exit 1
}
((EUID == 0)) || die "run as root (the test environment needs it)"

# GNU time reports the peak RSS as the kernel saw it (bash's `time` keyword does not).
if [[ ! -x /usr/bin/time ]]; then
	say "installing GNU time"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time
fi

if [[ -f $ENV_JSON ]] && [[ $(jq -r .light "$ENV_JSON") == false ]] &&
	(($(jq '.nodes | length' "$ENV_JSON") >= 4)); then
	say "test environment up ($ENV_JSON)"
else
	say "test environment: tests/env/up.sh 4"
	bash tests/env/up.sh 4
fi

say "building rke (release)"
cargo build --release --locked >&2
RKE=$(cargo metadata --format-version 1 --no-deps | jq -r .target_directory)/x86_64-unknown-linux-gnu/release/rke
KNOWN_HOSTS=$(jq -r .ssh.known_hosts "$ENV_JSON")
container() { jq -r ".nodes[$(($1 - 1))].container" "$ENV_JSON"; }

# Everything an rke cluster leaves on a node: rke's containers (by label; other tests'
# rke-health-test*/rke-exec-test* are left alone), pod containers, kubelet mounts, RKE1's dirs.
clean_nodes() {
	local i
	for ((i = 1; i <= 4; i++)); do
		docker exec "$(container "$i")" sh -c '
			ids=$(docker ps -a --filter label=io.rancher.rke.container.name \
				--format "{{.ID}} {{.Names}}" | grep -v " rke-health-test" | grep -v " rke-exec-test" |
				cut -d" " -f1)
			pods=$(docker ps -aq --filter name=^/k8s_)
			[ -z "$ids$pods" ] || docker rm -f -v $ids $pods >/dev/null
			grep " /var/lib/kubelet" /proc/mounts | cut -d" " -f2 | sort -r | xargs -r umount -l
			rm -rf /etc/kubernetes /var/lib/etcd/* /var/lib/kubelet/* /etc/cni/* /opt/cni/* \
				/var/lib/cni/* /var/run/calico' || say "cleaning node $i failed"
	done
}
cni() { docker exec "$(container "$1")" rke-e2e-cni "$(jq -r ".nodes[$(($1 - 1))].pod_cidr" "$ENV_JSON")"; }

WORK=$(mktemp -d /tmp/rke-bench-up.XXXXXX)
finish() {
	say "cleaning the nodes"
	clean_nodes
	rm -rf "$WORK"
}
trap finish EXIT

ROWS=()
# measure LABEL WANT_EXIT [rke up args...]: one timed run of `rke up`.
measure() {
	local label=$1 want=$2 rc=0 secs rss
	shift 2
	say "$label"
	/usr/bin/time -f '%e %M' -o "$WORK/time" "$RKE" up "$@" --config "$WORK/cluster.yml" \
		--ssh-host-key-checking strict --known-hosts "$KNOWN_HOSTS" \
		>"$WORK/out" 2>"$WORK/err" || rc=$?
	if ((rc != want)); then
		tail -n 40 "$WORK/out" "$WORK/err" >&2
		die "$label: rke up exited $rc (want $want)"
	fi
	read -r secs rss < <(tail -n 1 "$WORK/time")
	ROWS+=("$(printf '| %-34s | %8s | %14s |' "$label" "$secs" "$((rss / 1024))")")
}
config() { bash tests/env/cluster-yml.sh --env "$ENV_JSON" "$@" >"$WORK/cluster.yml"; }

say "cleaning the nodes"
clean_nodes
started=$(date +%s)

config 1:etcd,controlplane,worker 2:etcd,controlplane,worker 3:etcd,worker
for i in 1 2 3; do cni "$i"; done
measure "fresh 3-node up" 0
for ((r = 1; r <= NOOP_RUNS; r++)); do
	measure "no-op re-up #$r" 0
done
measure "up --dry-run (no change)" 0 --dry-run

config 1:etcd,controlplane,worker 2:etcd,controlplane,worker 3:etcd,worker 4:worker
cni 4
measure "up --dry-run (node4 pending)" 2 --dry-run
measure "add node4 (worker)" 0

config 1:etcd,controlplane,worker 2:etcd,controlplane,worker 4:worker
measure "remove node3 (etcd+worker)" 0

printf '\nrke up on %s (%s, %s cores, load %s)\n\n' "$(jq -r .network.subnet "$ENV_JSON")" \
	"$("$RKE" --version 2>/dev/null || echo rke)" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '| %-34s | %8s | %14s |\n' "run" "wall (s)" "peak RSS (MiB)"
printf '|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..36})" "$(printf -- '-%.0s' {1..10})" "$(printf -- '-%.0s' {1..16})"
printf '%s\n' "${ROWS[@]}"
printf '\ntotal %ss (without build and cleanup)\n' "$(($(date +%s) - started))"
