#!/usr/bin/env bash
# Benchmarks of rke's commands on the real nodes of tests/env: wall time and peak RSS of the rke
# process (GNU time) for connecting to 3 and 5 nodes (`rke preflight`), a fresh 3-node `up`, a
# no-op `up` and `up --dry-run`, adding and removing a worker, snapshot-save, snapshot-restore,
# removing an etcd+worker node and `rke remove`. Prints one markdown table. Figures only:
# nothing is asserted beyond each run's exit code. Run as root; brings up the 5-node
# environment when it is not up, cleans the nodes before and after.
#
#   bench/all.sh          (CONNECT_RUNS=5: runs per connect row, the median is shown)
#
# bench/connect.sh measures the connect phase alone, also on 20 nodes.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=tests/env/lib/env-json.sh
source tests/env/lib/env-json.sh
ENV_JSON=$E2E_ENV_JSON
KUBECTL=$(jq -r .kubectl "$ENV_JSON")
CONNECT_RUNS=${CONNECT_RUNS:-5}
NODES=5 # fresh up on 1-3, node4 joins as a worker; preflight of 5 nodes uses all of them
say() { printf '==> %s\n' "$*" >&2; }
die() {
	printf 'bench/all.sh: %s\n' "$*" >&2
	exit 1
}
((EUID == 0)) || die "run as root (the test environment needs it)"

# GNU time reports the peak RSS as the kernel saw it (bash's `time` keyword does not).
if [[ ! -x /usr/bin/time ]]; then
	say "installing GNU time"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time
fi

# A light environment has no Kubernetes images; fewer nodes cannot host the scenario.
if [[ -f $ENV_JSON ]] && [[ $(jq -r .light "$ENV_JSON") == false ]] &&
	(($(jq '.nodes | length' "$ENV_JSON") >= NODES)); then
	say "test environment up ($ENV_JSON)"
else
	say "test environment: tests/env/up.sh $NODES"
	bash tests/env/up.sh "$NODES"
fi

say "building rke (release)"
cargo build --release --locked --bin rke >&2
RKE=$(cargo metadata --format-version 1 --no-deps --locked | jq -r .target_directory)/x86_64-unknown-linux-gnu/release/rke
KNOWN_HOSTS=$(jq -r .ssh.known_hosts "$ENV_JSON")
container() { jq -r ".nodes[$(($1 - 1))].container" "$ENV_JSON"; }

# Everything an rke cluster leaves on the nodes, snapshots included: the clean-up the node tests
# run too (tests/env/clean-nodes.sh).
clean_nodes() {
	local i containers=()
	for ((i = 1; i <= NODES; i++)); do containers+=("$(container "$i")"); done
	bash tests/env/clean-nodes.sh --snapshots "${containers[@]}" || say "cleaning the nodes failed"
}
# The environment's network plugin (the generated cluster.yml has `network: none`): a DaemonSet
# applied once after the first `up`, as a user of `network: none` would; nodes added later get it.
network() { bash tests/env/network-addon.sh --env "$ENV_JSON" | "$KUBECTL" --kubeconfig "$WORK/kube_config_cluster.yml" apply -f - >/dev/null; }
config() { bash tests/env/cluster-yml.sh --env "$ENV_JSON" "$@" >"$WORK/cluster.yml"; }

WORK=$(mktemp -d /tmp/rke-bench.XXXXXX)
finish() {
	say "cleaning the nodes"
	clean_nodes
	rm -rf "$WORK"
}
trap finish EXIT

ROWS=()
# timed LABEL: one run of `rke ARGS...` (host keys checked strictly against the environment's
# known_hosts); sets SECS and RSS_MIB, fails the benchmark on a non-zero exit.
timed() {
	local label=$1 rc=0 rss
	shift
	/usr/bin/time -f '%e %M' -o "$WORK/time" "$RKE" "$@" --config "$WORK/cluster.yml" \
		--ssh-host-key-checking strict --known-hosts "$KNOWN_HOSTS" \
		>"$WORK/out" 2>"$WORK/err" </dev/null || rc=$?
	if ((rc != 0)); then
		tail -n 40 "$WORK/out" "$WORK/err" >&2
		die "$label: rke $* exited $rc"
	fi
	read -r SECS rss < <(tail -n 1 "$WORK/time")
	RSS_MIB=$(awk -v k="$rss" 'BEGIN { printf "%.0f", k / 1024 }')
}
row() { ROWS+=("$(printf '| %s | %s s | %s MiB |' "$1" "$2" "$3")"); }
# measure LABEL ARGS...: one timed run, one row.
measure() {
	say "$1"
	timed "$@"
	row "$1" "$SECS" "$RSS_MIB"
}
# connect LABEL: CONNECT_RUNS runs of `rke preflight` (connect, host key, Docker socket and
# version on every node); the row shows the median wall time and the largest peak RSS.
connect() {
	local label=$1 r secs=() max=0
	say "$label ($CONNECT_RUNS runs)"
	for ((r = 1; r <= CONNECT_RUNS; r++)); do
		timed "$label" preflight
		secs+=("$SECS")
		((RSS_MIB > max)) && max=$RSS_MIB
	done
	row "$label (median of $CONNECT_RUNS)" \
		"$(printf '%s\n' "${secs[@]}" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')" "$max"
}

say "cleaning the nodes"
clean_nodes
load=$(cut -d' ' -f1-3 /proc/loadavg)
started=$(date +%s)

config 1:etcd,controlplane,worker 2:etcd,controlplane,worker 3:etcd,worker
connect "connect to 3 nodes (\`preflight\`)"
config 1:etcd,controlplane,worker 2:etcd,controlplane,worker 3:etcd,worker 4:worker 5:worker
connect "connect to 5 nodes (\`preflight\`)"

config 1:etcd,controlplane,worker 2:etcd,controlplane,worker 3:etcd,worker
measure "fresh 3-node \`up\`" up
network
measure "no-op \`up\`" up
measure "\`up --dry-run\`, nothing pending" up --dry-run

config 1:etcd,controlplane,worker 2:etcd,controlplane,worker 3:etcd,worker 4:worker
measure "add a worker (node4)" up
config 1:etcd,controlplane,worker 2:etcd,controlplane,worker 3:etcd,worker
measure "remove the worker (node4)" up

measure "\`etcd snapshot-save\` (3 etcd nodes)" etcd snapshot-save --name bench
measure "\`etcd snapshot-restore\`" etcd snapshot-restore --name bench

config 1:etcd,controlplane,worker 2:etcd,controlplane,worker
measure "remove an etcd+worker node (node3)" up
measure "\`remove\` (2 nodes)" remove --force

printf '\nrke %s on %s (release build, %s cores, %s GiB; load average before: %s)\n\n' \
	"$("$RKE" --version | cut -d' ' -f2)" "$(jq -r .network.subnet "$ENV_JSON")" "$(nproc)" \
	"$(awk '/MemTotal/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)" "$load"
printf '| %s | %s | %s |\n|---|---|---|\n' "run" "wall" "peak RSS"
printf '%s\n' "${ROWS[@]}"
printf '\ntotal %ss (without build and cleanup)\n' "$(($(date +%s) - started))"
