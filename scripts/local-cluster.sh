#!/usr/bin/env bash
# A local Kubernetes cluster built by rke, on this machine (as root): three node machines of
# the test environment (tests/env/: containers with their own sshd and Docker engine, and a
# private registry with the images), rke built from this tree, `rke up`, a stand-in network
# plugin, and a kubeconfig to use.
#
#   scripts/local-cluster.sh        (again: re-runs `rke up`, which then changes nothing)
#
# Files: local-cluster/cluster.yml, cluster.rkestate, kube_config_cluster.yml (gitignored).
# Tear down: tests/env/down.sh (removes the node machines), then rm -rf local-cluster.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '==> %s\n' "$*" >&2; }
die() {
	printf 'local-cluster: %s\n' "$*" >&2
	exit 1
}
((EUID == 0)) || die "run as root (the test environment runs privileged containers and dockerd)"

# shellcheck source=tests/env/lib/env-json.sh
source tests/env/lib/env-json.sh
ENV_JSON=$E2E_ENV_JSON
DIR=local-cluster
NODES=3

# What the build needs; tests/env/up.sh installs its own (Docker, jq, ssh, registry...).
need_apt=()
command -v cc >/dev/null || need_apt+=(build-essential)
command -v protoc >/dev/null || need_apt+=(protobuf-compiler) # etcd-client's build script
command -v curl >/dev/null || need_apt+=(curl ca-certificates)
command -v jq >/dev/null || need_apt+=(jq)
if ((${#need_apt[@]})); then
	say "installing ${need_apt[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
fi
if ! command -v cargo >/dev/null; then
	[[ -x $HOME/.cargo/bin/cargo ]] || {
		say "installing Rust (rustup; the toolchain comes from rust-toolchain.toml)"
		curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
	}
	export PATH=$HOME/.cargo/bin:$PATH
fi

# Up = described with cluster images and at least $NODES nodes, each machine's engine answering.
env_is_up() {
	[[ -f $ENV_JSON ]] || return 1
	[[ $(jq -r .light "$ENV_JSON") == false ]] || return 1
	(($(jq '.nodes | length' "$ENV_JSON") >= NODES)) || return 1
	local c
	for c in $(jq -r ".nodes[:$NODES][].container" "$ENV_JSON"); do
		docker exec "$c" docker info >/dev/null 2>&1 || return 1
	done
}
# rke's build (a debug build: minutes instead of the release profile's LTO, and as fast for
# this) runs in the background while the environment comes up; on a fresh machine the two
# take about as long, so together they take the time of one.
build_log=$(mktemp)
say "building rke in the background (cargo build --locked; log: $build_log)"
nice -n 5 cargo build --locked --bin rke >"$build_log" 2>&1 &
build_pid=$!
trap 'kill $build_pid 2>/dev/null || true' EXIT
if env_is_up; then
	say "test environment already up ($ENV_JSON)"
else
	say "test environment: tests/env/up.sh $NODES (the first run builds images: ~14 min on 2 cores)"
	bash tests/env/up.sh "$NODES"
fi
say "waiting for rke's build"
if ! wait "$build_pid"; then
	tail -n 30 "$build_log" >&2
	die "cargo build failed (log: $build_log)"
fi
trap - EXIT
rm -f "$build_log"
RKE=$(cargo metadata --format-version 1 --no-deps | jq -r .target_directory)/x86_64-unknown-linux-gnu/debug/rke
[[ -x $RKE ]] || die "no rke binary at $RKE after the build"

# cluster.yml follows the environment (its registry password and keys change when it is
# rebuilt) unless you edited it: then yours is kept.
mkdir -p "$DIR"
bash tests/env/cluster-yml.sh --env "$ENV_JSON" >"$DIR/.generated.yml.new"
if [[ ! -f $DIR/cluster.yml ]] || cmp -s "$DIR/cluster.yml" "$DIR/.generated.yml"; then
	cp "$DIR/.generated.yml.new" "$DIR/cluster.yml"
else
	say "keeping your edited $DIR/cluster.yml (delete it to regenerate)"
fi
mv "$DIR/.generated.yml.new" "$DIR/.generated.yml"

KNOWN_HOSTS=$(jq -r .ssh.known_hosts "$ENV_JSON")
say "rke up --config $DIR/cluster.yml"
"$RKE" up --config "$DIR/cluster.yml" --ssh-host-key-checking strict --known-hosts "$KNOWN_HOSTS"

KUBECTL=$(jq -r .kubectl "$ENV_JSON")
KUBECONFIG_FILE=$(pwd)/$DIR/kube_config_cluster.yml
[[ -x $KUBECTL ]] || die "no kubectl at $KUBECTL (tests/env/up.sh builds it)"

# cluster.yml says `network: none`: the environment's network plugin (a DaemonSet giving each
# node a bridge for its Node's podCIDR and routes to the other nodes' pod subnets) is applied
# the way a user of `network: none` applies theirs. Kubelets report Ready once it runs.
say "applying the environment's network plugin (tests/env/network-addon.sh)"
bash tests/env/network-addon.sh --env "$ENV_JSON" |
	"$KUBECTL" --kubeconfig "$KUBECONFIG_FILE" apply -f - >/dev/null

say "waiting for $NODES nodes to be Ready"
ready=0
for _ in $(seq 100); do
	ready=$("$KUBECTL" --kubeconfig "$KUBECONFIG_FILE" get nodes --no-headers 2>/dev/null |
		awk '$2 == "Ready" { n++ } END { print n + 0 }')
	((ready >= NODES)) && break
	sleep 3
done
"$KUBECTL" --kubeconfig "$KUBECONFIG_FILE" get nodes -o wide
((ready >= NODES)) || die "only $ready of $NODES nodes Ready after 5 minutes"

say "checking pod traffic across nodes and a Service (tests/env/network-check.sh)"
bash tests/env/network-check.sh --env "$ENV_JSON" --kubeconfig "$KUBECONFIG_FILE" ||
	die "the cluster's pod network does not work (see above)"

cat <<EOF

Cluster ready: $NODES nodes (node1, node2: etcd + control plane + worker; node3: etcd + worker).
Checked: pods on every node reach each other across nodes, and a ClusterIP Service over them
answers from every node's pods.

  export KUBECONFIG=$KUBECONFIG_FILE
  export PATH=$(dirname "$KUBECTL"):\$PATH    # kubectl $(jq -r .kubernetes_version "$ENV_JSON")
  kubectl get nodes

Change $DIR/cluster.yml and apply it with
  $RKE up --config $DIR/cluster.yml --ssh-host-key-checking strict --known-hosts $KNOWN_HOSTS
(scripts/local-cluster.sh keeps an edited cluster.yml; delete it to get the generated one back).

Tear down: bash tests/env/down.sh && rm -rf $DIR
EOF
