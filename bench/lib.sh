# shellcheck shell=bash
# What the bench scripts share: the environment's description, the release build of rke, a
# timed run of any command (wall time and peak RSS by GNU time), clean nodes, cluster.yml.
# Sourced by bench/side-by-side.sh and bench/scale.sh (bench/all.sh runs both).

# shellcheck source=tests/env/lib/env-json.sh
source tests/env/lib/env-json.sh
ENV_JSON=$E2E_ENV_JSON
say() { printf '==> [%s] %s\n' "$(date +%T)" "$*" >&2; }
die() {
	printf '%s: %s\n' "$(basename "$0")" "$*" >&2
	exit 1
}
((EUID == 0)) || die "run as root (the test environment needs it)"

# GNU time reports the peak RSS as the kernel saw it (bash's `time` keyword does not).
if [[ ! -x /usr/bin/time ]]; then
	say "installing GNU time"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time
fi

# bench_env N: the environment with at least N full nodes (brought up when it is not).
bench_env() {
	local want=$1
	if [[ -f $ENV_JSON ]] && [[ $(jq -r .light "$ENV_JSON") == false ]] &&
		(($(jq '.nodes | length' "$ENV_JSON") >= want)); then
		say "test environment up ($ENV_JSON)"
	else
		say "test environment: tests/env/up.sh $want"
		bash tests/env/up.sh "$want"
	fi
	KUBECTL=$(jq -r .kubectl "$ENV_JSON")
	KNOWN_HOSTS=$(jq -r .ssh.known_hosts "$ENV_JSON")
}

# The release build (what users run); RKE is its path. RKE_BENCH_BINARY names an rke binary to
# measure instead (another build, another version).
build_rke() {
	if [[ -n ${RKE_BENCH_BINARY:-} ]]; then
		RKE=$RKE_BENCH_BINARY
		[[ -x $RKE ]] || die "RKE_BENCH_BINARY=$RKE is not an executable"
		return
	fi
	say "building rke (release)"
	cargo build --release --locked --bin rke >&2
	RKE=$(cargo metadata --format-version 1 --no-deps --locked | jq -r .target_directory)/x86_64-unknown-linux-gnu/release/rke
}

container() { jq -r ".nodes[$(($1 - 1))].container" "$ENV_JSON"; }
address() { jq -r ".nodes[$(($1 - 1))].address" "$ENV_JSON"; }
# on_node I SCRIPT: bash on node I (as root, inside its container).
on_node() { docker exec "$(container "$1")" bash -c "$2"; }

# clean_nodes I...: everything a cluster (rke's or RKE1's) leaves on those nodes, snapshots
# included: the clean-up the node tests run too.
clean_nodes() {
	local i containers=()
	for i in "$@"; do containers+=("$(container "$i")"); done
	bash tests/env/clean-nodes.sh --snapshots "${containers[@]}" >/dev/null || say "cleaning the nodes failed"
}

# config I:ROLES...: rke's cluster.yml for those nodes in $WORK.
config() { bash tests/env/cluster-yml.sh --env "$ENV_JSON" "$@" >"$WORK/cluster.yml"; }
# The environment's network plugin (cluster.yml says `network: none`), applied once after the
# first `up` as a user of `network: none` would; nodes added later get it. Waits until it runs
# on every node: the next figures are for a settled cluster, not for 28 pods starting.
network() {
	bash tests/env/network-addon.sh --env "$ENV_JSON" |
		"$KUBECTL" --kubeconfig "$WORK/kube_config_cluster.yml" apply -f - >/dev/null
	"$KUBECTL" --kubeconfig "$WORK/kube_config_cluster.yml" -n kube-system rollout status \
		daemonset/rke-e2e-network --timeout=600s >/dev/null || die "the network plugin did not start"
}

# shellcheck disable=SC2034 # SECS and RSS_MIB are the callers'
# timed LABEL CMD...: one run of CMD; sets SECS and RSS_MIB, fails the bench on a non-zero exit
# (with the end of its output).
timed() {
	local label=$1 rc=0 rss
	shift
	/usr/bin/time -f '%e %M' -o "$WORK/time" "$@" >"$WORK/out" 2>"$WORK/err" </dev/null || rc=$?
	if ((rc != 0)); then
		tail -n 40 "$WORK/out" "$WORK/err" >&2
		die "$label: $* exited $rc"
	fi
	read -r SECS rss < <(tail -n 1 "$WORK/time")
	RSS_MIB=$(awk -v k="$rss" 'BEGIN { printf "%.0f", k / 1024 }')
}
# rke_timed LABEL ARGS...: `rke ARGS` on $WORK/cluster.yml, host keys checked strictly against
# the environment's known_hosts.
rke_timed() {
	local label=$1
	shift
	timed "$label" "$RKE" "$@" --config "$WORK/cluster.yml" \
		--ssh-host-key-checking strict --known-hosts "$KNOWN_HOSTS"
}

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "—" }'; }
load_average() { cut -d' ' -f1-3 /proc/loadavg; }
machine() {
	printf '%s cores, %s GiB' "$(nproc)" "$(awk '/MemTotal/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)"
}

# preload_script: bash that pulls the cluster images into a node's engine with the registry's
# credentials (skipping those present), so no timed run includes a pull.
preload_script() {
	jq -r --arg images "$(cluster_images)" '"echo \(.registry.password | @sh) | docker login -u \(.registry.username | @sh) --password-stdin \(.registry.address) >/dev/null 2>&1 || exit 1; for i in \($images); do docker image inspect $i >/dev/null 2>&1 || docker pull -q $i >/dev/null 2>&1 || exit 1; done"' "$ENV_JSON"
}
cluster_images() { jq -r '[.images.etcd, .images.kubernetes, .images.pause, .images.nginx, .images.busybox] | join(" ")' "$ENV_JSON"; }
# preload_nodes I...: the cluster images in the engines of nodes I..., four nodes at a time (not
# timed). Disk-bound: 23 nodes take 200-220 s here, pulled or loaded from a `docker save` tar.
preload_nodes() {
	local script c
	script=$(preload_script)
	for c in "$@"; do container "$c"; done | xargs -P 4 -I{} docker exec {} bash -c "$script" ||
		die "preloading the cluster images failed"
}
