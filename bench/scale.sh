#!/usr/bin/env bash
# rke on 3 control-plane nodes and on 3 + 25 workers: fresh `up`, no-op `up`, `up --dry-run`,
# adding 5 workers and removing 5, at both sizes, with wall time and peak RSS (GNU time), and
# how each grows from 3 to 28 nodes. The environment is grown to 28 nodes for the run
# (tests/env/resize.sh: the environment's node image, each with its own sshd and engine; the
# kubelet and kube-proxy real) and given back its earlier size after. The cluster images are
# in every node's engine first (not timed), as in bench/side-by-side.sh. Figures only.
#
#   bench/scale.sh             (SCALE_NODES=28: 3 control-plane nodes + SCALE_NODES-3 workers)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

SCALE_NODES=${SCALE_NODES:-28}
((SCALE_NODES >= 13)) || die "SCALE_NODES must be at least 13 (3 + 5 added to 3, + 5 more)"
bench_env 5
build_rke
WORK=$(mktemp -d /tmp/rke-bench.XXXXXX)
BEFORE=$(jq '.nodes | length' "$ENV_JSON")
ALL=()
finish() {
	say "cleaning the nodes"
	clean_nodes "${ALL[@]}"
	say "giving the environment back its $BEFORE nodes"
	bash tests/env/resize.sh "$BEFORE" >&2 || say "resizing back failed"
	rm -rf "$WORK"
}
trap finish EXIT
# The new nodes start with the cluster images (hard-linked from one seed engine's pulls); the
# environment's own nodes get them pulled.
say "growing the environment to $SCALE_NODES nodes, the cluster images in their engines"
preload_started=$(date +%s)
read -ra images <<<"$(cluster_images)"
bash tests/env/resize.sh "$SCALE_NODES" --with-images "${images[@]}" >&2
for ((i = 1; i <= SCALE_NODES; i++)); do ALL+=("$i"); done
preload_nodes "${ALL[@]}"
preload_secs=$(($(date +%s) - preload_started))

# shellcheck disable=SC2054 # node specs: roles are comma-separated
CP=(1:etcd,controlplane,worker 2:etcd,controlplane,worker 3:etcd,controlplane,worker)
# workers FROM TO: node specs FROM..TO as workers.
workers() { local i; for ((i = $1; i <= $2; i++)); do printf '%s:worker\n' "$i"; done; }
declare -A S M
run() {
	local key=$1
	shift
	say "$key"
	rke_timed "$key" "$@"
	S[$key]=$SECS M[$key]=$RSS_MIB
	say "$key: $SECS s, $RSS_MIB MiB"
}
# profile SIZE FIRST_WORKER LAST_WORKER: the operations on CP + those workers; `add` and
# `remove` take the last 5 workers away and give them back, or add 5 to the 3 nodes.
profile() {
	local size=$1 specs
	clean_nodes "${ALL[@]}"
	rm -f "$WORK"/*.rkestate "$WORK"/kube_config_cluster.yml
	if ((size == 3)); then
		config "${CP[@]}"
		run "fresh up/$size" up
		network
		run "no-op up/$size" up
		run "dry run/$size" up --dry-run
		mapfile -t specs < <(workers 4 8)
		config "${CP[@]}" "${specs[@]}"
		run "add 5 workers/$size" up
		config "${CP[@]}"
		run "remove 5 workers/$size" up
	else
		mapfile -t specs < <(workers 4 "$size")
		config "${CP[@]}" "${specs[@]}"
		run "fresh up/$size" up
		network
		run "no-op up/$size" up
		run "dry run/$size" up --dry-run
		config "${CP[@]}" "${specs[@]:0:${#specs[@]}-5}"
		run "remove 5 workers/$size" up
		config "${CP[@]}" "${specs[@]}"
		run "add 5 workers/$size" up
	fi
}

load=$(load_average)
started=$(date +%s)
profile 3
profile "$SCALE_NODES"

printf '\nrke %s, 3 control-plane nodes and %s workers of %s (release build; %s; load average before: %s; grown and images preloaded in %ss)\n\n' \
	"$("$RKE" --version | cut -d' ' -f2)" "$((SCALE_NODES - 3))" "$(jq -r .network.subnet "$ENV_JSON")" \
	"$(machine)" "$load" "$preload_secs"
printf '| operation | 3 nodes | %s nodes | growth | peak RSS, 3 | peak RSS, %s |\n|---|---|---|---|---|---|\n' "$SCALE_NODES" "$SCALE_NODES"
row() {
	local what=$1 small=$2 large=$3
	printf '| %s | %s s | %s s | ×%s | %s MiB | %s MiB |\n' "$what" "${S[$small]}" "${S[$large]}" \
		"$(ratio "${S[$large]}" "${S[$small]}")" "${M[$small]}" "${M[$large]}"
}
row "fresh \`up\`" "fresh up/3" "fresh up/$SCALE_NODES"
row "no-op \`up\`" "no-op up/3" "no-op up/$SCALE_NODES"
row "\`up --dry-run\`, nothing pending" "dry run/3" "dry run/$SCALE_NODES"
row "add 5 workers (3 → 8; $((SCALE_NODES - 5)) → $SCALE_NODES)" "add 5 workers/3" "add 5 workers/$SCALE_NODES"
row "remove 5 workers (8 → 3; $SCALE_NODES → $((SCALE_NODES - 5)))" "remove 5 workers/3" "remove 5 workers/$SCALE_NODES"
printf '\ntotal %ss (without build, environment resize, image preload and cleanup)\n' "$(($(date +%s) - started))"
