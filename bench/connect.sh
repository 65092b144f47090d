#!/usr/bin/env bash
# Connect-phase benchmark on real nodes: time to connect (SSH + host key + auth + Docker
# socket + docker version/info) to 3 nodes and to 20 lightweight nodes and run
# `docker version` on each, median of 5 rounds, plus the peak RSS of the process.
#
# Usage: bench/connect.sh [ENV_JSON]     (run as root; needs the e2e environment up)
#
# 3 nodes: the first three nodes of the environment (tests/env/up.sh).
# 20 nodes: the environment's nodes when it has 20 or more (tests/env/up.sh 20 --light);
# otherwise this script starts 20 light nodes itself, from the environment's node image, on a
# network of its own (rke-bench-net, 10.78.0.0/24), and removes them (and their volumes) on exit.
set -euo pipefail

cd "$(dirname "$0")/.."
# shellcheck source=tests/env/lib/env-json.sh
source tests/env/lib/env-json.sh
ENV_JSON=${1:-$E2E_ENV_JSON}
[[ -f $ENV_JSON ]] || { echo "no $ENV_JSON: start the environment with tests/env/up.sh" >&2; exit 1; }
ROUNDS=${ROUNDS:-5}
BENCH_NET=rke-bench-net
BENCH_PREFIX=10.78.0
BENCH_COUNT=20

cargo build --release --example transport_bench >&2
# The build names its target (.cargo/config.toml), so binaries are under <target dir>/<triple>.
BIN=$(cargo metadata --format-version 1 --no-deps | jq -r .target_directory)/x86_64-unknown-linux-gnu/release/examples/transport_bench

run() {
	# /usr/bin/time -v reports the peak RSS as the kernel saw it; the binary prints VmHWM too.
	if [[ -x /usr/bin/time ]]; then
		/usr/bin/time -f "max_rss_kib=%M (from /usr/bin/time)" "$BIN" "$@"
	else
		"$BIN" "$@"
	fi
}

echo "== 3 nodes"
run "$ENV_JSON" --nodes 3 --rounds "$ROUNDS"

TMP=$(mktemp -d)
started=()
cleanup() {
	local name
	for name in "${started[@]}"; do
		docker rm -f "$name" >/dev/null 2>&1 || true
		docker volume rm "$name-docker" >/dev/null 2>&1 || true
	done
	if ((${#started[@]})); then
		docker network rm "$BENCH_NET" >/dev/null 2>&1 || true
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT

BENCH_ENV=$ENV_JSON
if (($(jq '.nodes | length' "$ENV_JSON") < BENCH_COUNT)); then
	image=$(docker images --format '{{.Repository}}:{{.Tag}}' rke-e2e/node | head -n 1)
	[[ -n $image ]] || { echo "no rke-e2e/node image: run tests/env/up.sh first" >&2; exit 1; }
	pubkey=$(cat "$(jq -r .ssh.public_key "$ENV_JSON")")
	docker network inspect "$BENCH_NET" >/dev/null 2>&1 ||
		docker network create --subnet "$BENCH_PREFIX.0/24" "$BENCH_NET" >/dev/null
	echo "== starting $BENCH_COUNT light nodes from $image on $BENCH_NET" >&2
	nodes_json=()
	for ((i = 1; i <= BENCH_COUNT; i++)); do
		name=rke-bench-node$i
		ip=$BENCH_PREFIX.$((10 + i))
		started+=("$name")
		docker run -d --init --privileged --name "$name" --hostname "$name" \
			--network "$BENCH_NET" --ip "$ip" -v "$name-docker:/var/lib/docker" \
			-e AUTHORIZED_KEYS="$pubkey" "$image" >/dev/null
		nodes_json+=("{\"name\":\"$name\",\"address\":\"$ip\"}")
	done
	for ((i = 1; i <= BENCH_COUNT; i++)); do
		for _ in $(seq 120); do
			docker exec "rke-bench-node$i" docker info >/dev/null 2>&1 && break
			sleep 1
		done
	done
	BENCH_ENV=$TMP/bench-env.json
	jq --argjson nodes "[$(
		IFS=,
		echo "${nodes_json[*]}"
	)]" '.nodes = $nodes' "$ENV_JSON" >"$BENCH_ENV"
fi

echo "== $BENCH_COUNT nodes"
run "$BENCH_ENV" --nodes "$BENCH_COUNT" --rounds "$ROUNDS"
