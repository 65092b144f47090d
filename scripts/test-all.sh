#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine (as root): installs what the tests need, builds
# and starts the multi-node test environment (tests/env/), then the format, lint and test
# checks, and tears the environment down again. This is the command README.md documents and
# .ci/run calls.
#
#   RKE_E2E_SKIP=1  skip the environment and the tests that need nodes
#   RKE_E2E_KEEP=1  leave the environment running afterwards (faster next run)
#   RKE_IMAGE_SKIP=1  skip building and smoke-testing the container image (scripts/build-image.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v openssl >/dev/null || need_apt+=(openssl)
command -v ssh-keygen >/dev/null || need_apt+=(openssh-client)
command -v protoc >/dev/null || need_apt+=(protobuf-compiler) # etcd-client's build script
if ((${#need_apt[@]})); then
    echo "==> installing ${need_apt[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
fi

if [[ "${RKE_E2E_SKIP:-0}" != 1 ]]; then
    echo "==> test environment (tests/env/up.sh)"
    bash tests/env/up.sh 5 # 5 nodes: up_nodes adds and removes one; snapshot_nodes restores onto node4, node5
    if [[ "${RKE_E2E_KEEP:-0}" != 1 ]]; then
        trap 'echo "==> tearing down the test environment"; bash tests/env/down.sh' EXIT
    fi
fi

echo "==> cargo fmt --check"
cargo fmt --all -- --check
echo "==> cargo clippy"
cargo clippy --all-targets --locked -- -D warnings
echo "==> cargo test"
log=$(mktemp)
cargo test --locked --all-targets 2>&1 | tee "$log"
# The CI image (Dockerfile) after the tests: its musl release build would compete with the node
# tests for the two cores (their health checks have deadlines). It needs the Docker engine,
# which tests/env/up.sh started. The smoke test's closing line is counted below with the rest.
image_rc=0
if [[ "${RKE_IMAGE_SKIP:-0}" != 1 ]]; then
    echo "==> container image (scripts/build-image.sh, tests/image/smoke.sh)"
    bash scripts/build-image.sh rke:test 2>&1 | tee -a "$log"
    bash tests/image/smoke.sh rke:test 2>&1 | tee -a "$log" || image_rc=$?
fi
# One closing line for the whole suite (each test binary prints its own above).
awk '
    /^test result:/ { p += $4; f += $6 }
    /^[a-z_]+: [0-9]+ passed, [0-9]+ failed$/ { p += $2; f += $4 }
    END { printf "tests: %d passed, %d failed\n", p, f }
' "$log"
rm -f "$log"
exit "$image_rc"
