#!/usr/bin/env bash
# Build (or find cached) the Kubernetes binaries in $RKE_E2E_CACHE/kubernetes/VERSION/bin.
# up.sh runs this in the background while it builds the other images; it also works alone.
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "$0")/lib/common.sh"
# shellcheck source=lib/debian.sh
source "$E2E_DIR/lib/debian.sh"
# shellcheck source=lib/host.sh
source "$E2E_DIR/lib/host.sh"
# shellcheck source=lib/kubernetes.sh
source "$E2E_DIR/lib/kubernetes.sh"

mkdir -p "$E2E_LOGS"
if k8s_binaries_cached; then
	log "Kubernetes $E2E_K8S_VERSION binaries cached in $(k8s_bin_dir)"
	exit 0
fi
apt_install "${E2E_K8S_BUILD_PKGS[@]}"
t0=$(date +%s)
k8s_build
log "Kubernetes build took $(($(date +%s) - t0))s"
