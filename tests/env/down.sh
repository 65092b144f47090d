#!/usr/bin/env bash
# Tear down the e2e environment: nodes, their engine volumes, the network, the registry
# process and the run state ($RKE_E2E_STATE). Keeps the caches (rootfs tarballs, the
# Kubernetes binaries, images in the host engine, registry blobs) and the host dockerd.
set -euo pipefail

# shellcheck source=lib/common.sh
source "$(dirname "$0")/lib/common.sh"
# shellcheck source=lib/registry.sh
source "$E2E_DIR/lib/registry.sh"
# shellcheck source=lib/cleanup.sh
source "$E2E_DIR/lib/cleanup.sh"

((EUID == 0)) || die "run as root"
mkdir -p "$E2E_CACHE"
exec 9>"$E2E_CACHE/lock"
flock -n 9 || die "another up.sh/down.sh holds $E2E_CACHE/lock"
cleanup_environment
log "environment removed (caches kept in $E2E_CACHE)"
# The S3 test servers (tests/snapshot_s3.rs starts them on demand).
bash "$E2E_DIR/s3/moto.sh" stop >/dev/null 2>&1 || true
