#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine (as root): installs what the tests need, builds
# and starts the multi-node test environment (tests/env/), then the format, lint and test
# checks, and tears the environment down again. This is the command README.md documents and
# .ci/run calls.
#
#   RKE_E2E_SKIP=1  skip the environment and the tests that need nodes
#   RKE_E2E_KEEP=1  leave the environment running afterwards (faster next run)
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v openssl >/dev/null || need_apt+=(openssl)
command -v ssh-keygen >/dev/null || need_apt+=(openssh-client)
if ((${#need_apt[@]})); then
    echo "==> installing ${need_apt[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
fi

if [[ "${RKE_E2E_SKIP:-0}" != 1 ]]; then
    echo "==> test environment (tests/env/up.sh)"
    bash tests/env/up.sh
    if [[ "${RKE_E2E_KEEP:-0}" != 1 ]]; then
        trap 'echo "==> tearing down the test environment"; bash tests/env/down.sh' EXIT
    fi
fi

echo "==> cargo fmt --check"
cargo fmt --all -- --check
echo "==> cargo clippy"
cargo clippy --all-targets --locked -- -D warnings
echo "==> cargo test"
cargo test --locked
