#!/usr/bin/env bash
# rke and RKE1 v1.2.23 side by side on the same nodes of tests/env: the same operations, the
# same Kubernetes v1.20.2 images (preloaded in the nodes' engines, so neither tool's figure is
# a pull), the nodes cleaned between the tools. Prints one markdown table: operation, RKE1's and
# rke's wall time, the ratio, both peak RSS (GNU time), and the floor: what the components
# themselves need for that operation, measured in the same run on rke's cluster (etcd from
# start to healthy, kube-apiserver from start to /healthz, kubelet from start to /healthz, an
# etcdctl snapshot, one SSH command per node), so the table shows how much of rke's time is
# its own. The snapshot-restore rows also show the longest time neither API server answered
# /healthz (probed every 0.25 s from the host). Figures only: nothing is asserted beyond
# each run's exit code.
#
#   bench/side-by-side.sh      (CONNECT_RUNS=5: runs per connect row, the median is shown)
#
# RKE1 comes from the kit in ../shared/rke1 ($RKE_BENCH_SHARED/rke1); without it the RKE1
# column says why it is empty and rke's figures are still taken.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

CONNECT_RUNS=${CONNECT_RUNS:-5}
CACHE=${RKE_BENCH_CACHE:-/var/cache/rke-bench}
KIT=${RKE_BENCH_SHARED:-$PWD/../shared}/rke1
ALL=(1 2 3 4 5)

bench_env 5
build_rke
WORK=$(mktemp -d /tmp/rke-bench.XXXXXX)
PROBE_PID=
finish() {
	[[ -z $PROBE_PID ]] || kill "$PROBE_PID" 2>/dev/null || true
	say "cleaning the nodes"
	clean_nodes "${ALL[@]}"
	rm -rf "$WORK"
}
trap finish EXIT

# The environment's images on nodes 1-4, pulled once with the registry's credentials: RKE1's
# cluster has none, and rke then finds them present, as RKE1 does.
preload_images() {
	say "preloading the cluster images on nodes 1-4"
	preload_nodes 1 2 3 4
}

RKE1=
RKE1_WHY=
prepare_rke1() {
	if [[ ! -f $KIT/install-rke1.sh ]]; then
		RKE1_WHY="no RKE1 kit at $KIT (set RKE_BENCH_SHARED to the folder holding rke1/)"
		say "$RKE1_WHY: rke's column only"
		return
	fi
	mkdir -p "$CACHE"
	RKE1=$CACHE/rke1-v1.2.23
	[[ -x $RKE1 ]] || bash "$KIT/install-rke1.sh" "$RKE1" >&2
	local engines=() i
	for i in 1 2 3 4; do engines+=(--docker "docker exec -i $(container "$i") docker"); done
	say "the kit's rke-tools stand-in into nodes 1-4"
	bash "$KIT/build-images.sh" "${engines[@]}" >&2
}

# rke1_config I:ROLES...: RKE1's cluster.yml (the kit's cluster.sh) for the same nodes, images
# and kubelet/kube-proxy settings as rke's.
rke1_config() {
	local specs=() spec
	for spec in "$@"; do specs+=("$(address "${spec%%:*}"):${spec#*:}"); done
	SSH_KEY_PATH=$(jq -r .ssh.private_key "$ENV_JSON") \
		ETCD_IMAGE=$(jq -r .images.etcd "$ENV_JSON") \
		KUBERNETES_IMAGE=$(jq -r .images.kubernetes "$ENV_JSON") \
		PAUSE_IMAGE=$(jq -r .images.pause "$ENV_JSON") \
		EXTRA_YAML='  kubelet:
    extra_args:
      eviction-hard: "memory.available<100Mi,nodefs.available<1%,imagefs.available<1%,nodefs.inodesFree<1%"
      image-gc-high-threshold: "100"
      image-gc-low-threshold: "99"' \
		bash "$KIT/cluster.sh" "$WORK/cluster.yml" "${specs[@]//,/+}"
}

# The API gap: both servers' /healthz probed every 0.25 s with the cluster's admin
# credentials while a command runs; the longest time with no answer from either.
probe_start() {
	local kubeconfig=$WORK/kube_config_cluster.yml
	"$KUBECTL" config view --raw --kubeconfig "$kubeconfig" -o jsonpath='{.users[0].user.client-certificate-data}' | base64 -d >"$WORK/probe.crt"
	"$KUBECTL" config view --raw --kubeconfig "$kubeconfig" -o jsonpath='{.users[0].user.client-key-data}' | base64 -d >"$WORK/probe.key"
	: >"$WORK/probe"
	(
		while true; do
			up=0
			for a in "$(address 1)" "$(address 2)"; do
				curl -skf --max-time 1 --cert "$WORK/probe.crt" --key "$WORK/probe.key" "https://$a:6443/healthz" >/dev/null 2>&1 && up=1
			done
			echo "$(date +%s.%N) $up" >>"$WORK/probe"
			sleep 0.25
		done
	) &
	PROBE_PID=$!
}
# probe_stop: GAP = the longest stretch without an answer, in seconds.
probe_stop() {
	kill "$PROBE_PID" 2>/dev/null || true
	wait "$PROBE_PID" 2>/dev/null || true
	PROBE_PID=
	GAP=$(awk 'NR == 1 { last = $1 } $2 == 1 { if ($1 - last > max) max = $1 - last; last = $1 }
		END { if ($1 - last > max) max = $1 - last; printf "%.1f", max }' "$WORK/probe")
}

# Floors, on rke's cluster: each component from `docker start` to healthy, timed on the node.
floor_on() {
	on_node "$1" "docker stop -t 10 $2 >/dev/null; s=\$(date +%s.%N); docker start $2 >/dev/null
		for t in \$(seq 1200); do $3 >/dev/null 2>&1 && break; sleep 0.1; done
		$3 >/dev/null 2>&1 || { echo 'never healthy' >&2; exit 1; }
		awk -v s=\$s -v e=\$(date +%s.%N) 'BEGIN { printf \"%.1f\", e - s }'"
}
declare -A FLOOR
measure_floors() {
	say "floors: etcd, kube-apiserver, kubelet from start to healthy; a snapshot; SSH"
	FLOOR[etcd]=$(floor_on 1 etcd "docker exec etcd etcdctl endpoint health")
	FLOOR[apiserver]=$(floor_on 1 kube-apiserver "curl -skf --max-time 1 --cert /etc/kubernetes/ssl/kube-node.pem --key /etc/kubernetes/ssl/kube-node-key.pem https://127.0.0.1:6443/healthz")
	FLOOR[kubelet]=$(floor_on 3 kubelet "curl -sf --max-time 1 http://127.0.0.1:10248/healthz")
	FLOOR[snapshot]=$(on_node 1 "s=\$(date +%s.%N); docker exec etcd etcdctl snapshot save /tmp/floor.db >/dev/null &&
		docker exec etcd rm -f /tmp/floor.db; awk -v s=\$s -v e=\$(date +%s.%N) 'BEGIN { printf \"%.1f\", e - s }'")
	local key i
	key=$(jq -r .ssh.private_key "$ENV_JSON")
	timed "SSH floor" bash -c "for i in 1 2 3; do ssh -i $key -o BatchMode=yes -o UserKnownHostsFile=$KNOWN_HOSTS \
		-o StrictHostKeyChecking=yes root@\$(jq -r \".nodes[\$((i - 1))].address\" $ENV_JSON) docker ps -q >/dev/null & done; wait"
	FLOOR[ssh]=$SECS
}

# The operations, in order, for one tool: the row labels and the command for each.
declare -A RKE_S RKE_M RKE1_S RKE1_M
LABELS=()
# op TOOL LABEL ARGS...: one timed run of the tool; its figures kept under LABEL.
op() {
	local tool=$1 label=$2
	shift 2
	say "$tool: $label"
	[[ " ${LABELS[*]} " == *" $label "* ]] || LABELS+=("$label")
	if [[ $tool == rke ]]; then
		rke_timed "$label" "$@"
		RKE_S[$label]=$SECS RKE_M[$label]=$RSS_MIB
		say "rke: $label: $SECS s, $RSS_MIB MiB"
	else
		timed "$label" "$RKE1" "$@" --config "$WORK/cluster.yml"
		RKE1_S[$label]=$SECS RKE1_M[$label]=$RSS_MIB
		say "rke1: $label: $SECS s, $RSS_MIB MiB"
	fi
}
configure() {
	local tool=$1
	shift
	if [[ $tool == rke ]]; then config "$@"; else rke1_config "$@"; fi
}

# shellcheck disable=SC2054 # node specs: roles are comma-separated
THREE=(1:etcd,controlplane,worker 2:etcd,controlplane,worker 3:etcd,worker)
run_tool() {
	local tool=$1
	rm -f "$WORK"/*.rkestate "$WORK"/kube_config_cluster.yml
	clean_nodes "${ALL[@]}"
	configure "$tool" "${THREE[@]}"
	op "$tool" "fresh 3-node \`up\`" up
	network
	op "$tool" "no-op \`up\`" up
	[[ $tool != rke ]] || op rke "\`up --dry-run\`, nothing pending" up --dry-run
	[[ $tool != rke ]] || measure_floors
	configure "$tool" "${THREE[@]}" 4:worker
	op "$tool" "add a worker (node4)" up
	configure "$tool" "${THREE[@]}"
	op "$tool" "remove the worker (node4)" up
	op "$tool" "\`etcd snapshot-save\`" etcd snapshot-save --name bench
	probe_start
	op "$tool" "\`etcd snapshot-restore\`" etcd snapshot-restore --name bench
	probe_stop
	# RKE1's restore deletes /etc/cni/net.d and /opt/cni/bin, which the network plugin's pods have
	# mounted, and its next `up` refuses NotReady nodes: the pods are recreated (for both tools)
	# and the next row starts once every node is Ready again, not timed.
	local ready_from
	ready_from=$(date +%s)
	"$KUBECTL" --kubeconfig "$WORK/kube_config_cluster.yml" -n kube-system delete pod \
		-l k8s-app=rke-e2e-network --wait=false >/dev/null
	"$KUBECTL" --kubeconfig "$WORK/kube_config_cluster.yml" wait --for=condition=Ready node --all --timeout=300s >/dev/null ||
		die "$tool: the nodes were not Ready 300 s after the restore"
	if [[ $tool == rke ]]; then RKE_GAP=$GAP RKE_READY=$(($(date +%s) - ready_from)); else RKE1_GAP=$GAP RKE1_READY=$(($(date +%s) - ready_from)); fi
	configure "$tool" "${THREE[@]:0:2}"
	op "$tool" "remove an etcd+worker node (node3)" up
	op "$tool" "\`remove\` (2 nodes)" remove --force
}

connect_row() {
	local label=$1 r secs=() max=0
	say "rke: $label ($CONNECT_RUNS runs)"
	for ((r = 1; r <= CONNECT_RUNS; r++)); do
		rke_timed "$label" preflight
		secs+=("$SECS")
		((RSS_MIB > max)) && max=$RSS_MIB
	done
	CONNECT_ROWS+=("$(printf '| %s (median of %s) | | %s s | | | %s MiB | %s s (one SSH command per node) |' \
		"$label" "$CONNECT_RUNS" "$(printf '%s\n' "${secs[@]}" | median)" "$max" "${FLOOR[ssh]:-?}")")
}

say "cleaning the nodes"
clean_nodes "${ALL[@]}"
preload_images
prepare_rke1
load=$(load_average)
started=$(date +%s)

RKE_GAP='' RKE1_GAP='' RKE_READY='' RKE1_READY=''
run_tool rke
CONNECT_ROWS=()
config "${THREE[@]}"
connect_row "connect to 3 nodes (\`preflight\`)"
config "${THREE[@]}" 4:worker 5:worker
connect_row "connect to 5 nodes (\`preflight\`)"
[[ -z $RKE1 ]] || run_tool rke1

declare -A FLOOR_OF=(
	["fresh 3-node \`up\`"]="$(awk -v a="${FLOOR[etcd]}" -v b="${FLOOR[apiserver]}" -v c="${FLOOR[kubelet]}" 'BEGIN { printf "%.1f", a + b + c }') s (etcd + API server + kubelet to healthy)"
	["no-op \`up\`"]="${FLOOR[ssh]} s (one SSH command per node)"
	["\`up --dry-run\`, nothing pending"]="${FLOOR[ssh]} s (one SSH command per node)"
	["add a worker (node4)"]="${FLOOR[kubelet]} s (kubelet to healthy)"
	["remove the worker (node4)"]="${FLOOR[ssh]} s (one SSH command per node)"
	["\`etcd snapshot-save\`"]="${FLOOR[snapshot]} s (etcdctl snapshot save)"
	["\`etcd snapshot-restore\`"]="$(awk -v a="${FLOOR[etcd]}" -v b="${FLOOR[apiserver]}" 'BEGIN { printf "%.1f", a + b }') s (etcd + API server to healthy)"
	["remove an etcd+worker node (node3)"]="$(awk -v b="${FLOOR[apiserver]}" 'BEGIN { printf "%.1f", 2 * b }') s (both API servers restarted, one at a time)"
	["\`remove\` (2 nodes)"]="${FLOOR[ssh]} s (one SSH command per node)"
)

printf '\nrke %s and RKE1 %s on the same nodes of %s (release build; %s; load average before: %s)\n\n' \
	"$("$RKE" --version | cut -d' ' -f2)" "$([[ -n $RKE1 ]] && "$RKE1" --version | awk '{ print $3 }' || echo "—")" \
	"$(jq -r .network.subnet "$ENV_JSON")" "$(machine)" "$load"
[[ -z $RKE1_WHY ]] || printf 'RKE1 column empty: %s\n\n' "$RKE1_WHY"
printf '| operation | RKE1 v1.2.23 | rke | rke/RKE1 | RKE1 peak RSS | rke peak RSS | floor |\n|---|---|---|---|---|---|---|\n'
# cell VALUE UNIT [SUFFIX]: "VALUE UNIT SUFFIX", or a dash when there is no value.
cell() { if [[ -n $1 ]]; then printf '%s %s%s' "$1" "$2" "${3:-}"; else printf '—'; fi; }
for label in "${LABELS[@]}"; do
	rke1_s=${RKE1_S[$label]:-} rke_s=${RKE_S[$label]} gap1='' gap=''
	if [[ $label == *snapshot-restore* ]]; then gap=" / gap ${RKE_GAP} s" gap1=" / gap ${RKE1_GAP} s"; fi
	printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$label" "$(cell "$rke1_s" s "$gap1")" \
		"$(cell "$rke_s" s "$gap")" "$([[ -n $rke1_s ]] && ratio "$rke_s" "$rke1_s" || echo —)" \
		"$(cell "${RKE1_M[$label]:-}" MiB)" "$(cell "${RKE_M[$label]}" MiB)" "${FLOOR_OF[$label]:-}"
done
printf '%s\n' "${CONNECT_ROWS[@]}"
printf '\nAfter the restore, every node was Ready again %s s later with rke, %s s with RKE1 (not in the table).\n' \
	"$RKE_READY" "${RKE1_READY:-—}"
printf '\ntotal %ss (without build, image preload and cleanup)\n' "$(($(date +%s) - started))"
