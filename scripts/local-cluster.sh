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
if env_is_up; then
	say "test environment already up ($ENV_JSON)"
else
	say "test environment: tests/env/up.sh $NODES (the first run builds images, up to ~20 min)"
	bash tests/env/up.sh "$NODES"
fi

say "building rke (cargo build --release --locked)"
cargo build --release --locked
RKE=$(cargo metadata --format-version 1 --no-deps | jq -r .target_directory)/x86_64-unknown-linux-gnu/release/rke
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

# The CNI stand-in (a bridge per node) replaces a network plugin (cluster.yml: network none);
# without a CNI configuration kubelets never report Ready.
for ((i = 1; i <= NODES; i++)); do
	node=$(jq -r ".nodes[$((i - 1))].container" "$ENV_JSON")
	cidr=$(jq -r ".nodes[$((i - 1))].pod_cidr" "$ENV_JSON")
	docker exec "$node" rke-e2e-cni "$cidr"
done

KNOWN_HOSTS=$(jq -r .ssh.known_hosts "$ENV_JSON")
say "rke up --config $DIR/cluster.yml"
"$RKE" up --config "$DIR/cluster.yml" --ssh-host-key-checking strict --known-hosts "$KNOWN_HOSTS"

cache=${RKE_E2E_CACHE:-$(dirname "$(jq -r .state_dir "$ENV_JSON")")}
KUBECTL=$cache/kubernetes/$(jq -r .kubernetes_version "$ENV_JSON")/bin/kubectl
KUBECONFIG_FILE=$(pwd)/$DIR/kube_config_cluster.yml
[[ -x $KUBECTL ]] || die "no kubectl at $KUBECTL (tests/env/up.sh builds it)"

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

cat <<EOF

Cluster ready: $NODES nodes (node1, node2: etcd + control plane + worker; node3: etcd + worker).

  export KUBECONFIG=$KUBECONFIG_FILE
  export PATH=$(dirname "$KUBECTL"):\$PATH    # kubectl $(jq -r .kubernetes_version "$ENV_JSON")
  kubectl get nodes

Change $DIR/cluster.yml and apply it with
  $RKE up --config $DIR/cluster.yml --ssh-host-key-checking strict --known-hosts $KNOWN_HOSTS
(scripts/local-cluster.sh keeps an edited cluster.yml; delete it to get the generated one back).

Tear down: bash tests/env/down.sh && rm -rf $DIR
EOF
