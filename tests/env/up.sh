#!/usr/bin/env bash
# Bring up the multi-node e2e environment: N nodes (sshd + own Docker engine each) on a
# private bridge network, a local registry holding etcd/Kubernetes/pause/nginx images.
#
#   tests/env/up.sh [N] [--light]
#
# N defaults to 3 ($RKE_E2E_NODES). --light ($RKE_E2E_LIGHT=1): nodes only (sshd + engine),
# no etcd/Kubernetes/nginx images, for many-node benchmarks (e.g. `up.sh 20 --light`).
# The result is described in $RKE_E2E_STATE/env.json and env.sh (see README.md).
set -euo pipefail

# shellcheck source=lib/common.sh
source "$(dirname "$0")/lib/common.sh"
for lib in host debian rootfs kubernetes images registry nodes cleanup; do
	# shellcheck source=/dev/null
	source "$E2E_DIR/lib/$lib.sh"
done

usage() {
	sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
	exit 2
}

E2E_NODES=${RKE_E2E_NODES:-3}
E2E_LIGHT=${RKE_E2E_LIGHT:-0}
# Set when the rke-tools stand-in (cri-dockerd) was pushed: env.json then names it.
E2E_RKE_TOOLS=0
parse_args() {
	local arg
	for arg in "$@"; do
		case "$arg" in
		--light) E2E_LIGHT=1 ;;
		-h | --help) usage ;;
		[0-9]*) E2E_NODES=$arg ;;
		*) usage ;;
		esac
	done
	if ! [[ $E2E_NODES =~ ^[0-9]+$ ]] || ((E2E_NODES < 1 || E2E_NODES > 200)); then
		die "node count must be 1..200, got '$E2E_NODES'"
	fi
	[[ $E2E_LIGHT == 1 ]] || E2E_LIGHT=0
}

# The Kubernetes build runs in its own session so that a failing up.sh can stop the
# whole process group (make and its go compilers) by the id it started.
E2E_K8S_BUILD_PID=
start_kubernetes_build() {
	((E2E_LIGHT)) && return 0
	k8s_binaries_cached && return 0
	log "Kubernetes build started in the background (log: $E2E_LOGS/k8s-build.log)"
	setsid "$E2E_DIR/build-kubernetes.sh" >"$E2E_LOGS/build-kubernetes.out" 2>&1 </dev/null 9>&- &
	E2E_K8S_BUILD_PID=$!
}
finish_kubernetes_build() {
	[[ -n $E2E_K8S_BUILD_PID ]] || return 0
	log "waiting for the Kubernetes build"
	wait "$E2E_K8S_BUILD_PID" ||
		die "Kubernetes build failed: $(tail -n 3 "$E2E_LOGS/build-kubernetes.out")"
	E2E_K8S_BUILD_PID=
	grep 'build took' "$E2E_LOGS/build-kubernetes.out" >&2 || true
}
stop_kubernetes_build() {
	[[ -n $E2E_K8S_BUILD_PID ]] && kill -- "-$E2E_K8S_BUILD_PID" 2>/dev/null
	return 0
}

phase_cleanup() {
	phase_start cleanup
	cleanup_environment
	phase_end
}

phase_install() {
	phase_start install
	apt_install "${E2E_HOST_PKGS[@]}"
	((E2E_LIGHT)) || k8s_binaries_cached || apt_install "${E2E_K8S_BUILD_PKGS[@]}"
	# The rke-tools stand-in unpacks cri-dockerd from its .xz.
	if ((!E2E_LIGHT)) && cri_dockerd_available; then apt_install xz-utils; fi
	ensure_host_docker
	phase_end
}

# Registry first (it listens on the network's gateway), then images: cheap ones while
# Kubernetes compiles, the Kubernetes image last.
phase_images() {
	phase_start images
	state_dir_init
	ssh_keypair
	network_create
	registry_start
	start_kubernetes_build
	E2E_NODE_IMAGE=$(node_image)
	push_image "$(busybox_image)" "busybox:$E2E_BUSYBOX_TAG"
	push_image "$(pause_image)" "pause:$E2E_PAUSE_TAG"
	if ((!E2E_LIGHT)); then
		push_image "$(etcd_image)" "etcd:$E2E_ETCD_TAG"
		push_image "$(etcd35_image)" "etcd:$E2E_ETCD35_TAG"
		push_image "$(nginx_image)" "nginx:$E2E_NGINX_TAG"
		push_image "$(addon_standin_image)" "addon-standin:$E2E_ADDON_STANDIN_TAG"
		if cri_dockerd_available; then
			push_image "$(rke_tools_image)" "rke-tools:$E2E_RKE_TOOLS_TAG"
			E2E_RKE_TOOLS=1
		else
			log "no cri-dockerd in $E2E_CRI_DOCKERD_DIR: no rke-tools image (cri_dockerd_nodes will report itself skipped)"
		fi
		kubernetes_base_image >/dev/null
		finish_kubernetes_build
		push_image "$(kubernetes_image)" "kubernetes:$E2E_K8S_VERSION"
	fi
	phase_end
}

phase_nodes() {
	phase_start nodes
	local i
	for ((i = 1; i <= E2E_NODES; i++)); do node_start "$i" "$E2E_NODE_IMAGE"; done
	nodes_wait "$E2E_NODES"
	write_env_description "$E2E_NODES" "$E2E_LIGHT" "$E2E_RKE_TOOLS"
	phase_end
}

main() {
	parse_args "$@"
	((EUID == 0)) || die "run as root (installs packages, runs dockerd and privileged containers)"
	mkdir -p "$E2E_CACHE" "$E2E_LOGS"
	exec 9>"$E2E_CACHE/lock"
	flock -n 9 || die "another up.sh/down.sh holds $E2E_CACHE/lock"
	trap stop_kubernetes_build EXIT
	log "rke-e2e: $E2E_NODES $( ((E2E_LIGHT)) && echo "light ")node(s), cache $E2E_CACHE"
	# Install first: cleanup needs a running engine to see what an earlier run left behind
	# (after a reboot or a killed session the engine is down but its networks persist).
	phase_install
	phase_cleanup
	phase_images
	phase_nodes
	echo "Environment up: $E2E_NODES node(s) on $E2E_NETWORK, registry $E2E_REGISTRY"
	echo "Description: $E2E_STATE/env.json (shell: source $E2E_STATE/env.sh)"
	phase_report
}

main "$@"
