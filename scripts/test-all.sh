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
command -v protoc >/dev/null || need_apt+=(protobuf-compiler) # etcd-client's build script
if ((${#need_apt[@]})); then
    echo "==> installing ${need_apt[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
fi

# Diagnostic only, never fatal: can this machine fetch Rust targets from rustup's server? The
# planned CI image (a musl build) needs that; the answer decides how it will be built.
if timeout 20 curl -fsS -o /dev/null https://static.rust-lang.org/rustup/release-stable.toml 2>/dev/null; then
    echo "==> probe: static.rust-lang.org reachable"
else
    echo "==> probe: static.rust-lang.org NOT reachable"
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
# Every rke run of the end-to-end tests is copied here, and every S3 secret they use recorded,
# for the secrets check below.
RKE_E2E_TRANSCRIPT=$(mktemp)
RKE_E2E_SECRETS=$(mktemp)
export RKE_E2E_TRANSCRIPT RKE_E2E_SECRETS
cargo test --locked --all-targets 2>&1 | tee "$log"
if [[ "${RKE_E2E_SKIP:-0}" != 1 ]]; then
    echo "==> no secret in any output (tests/env/check-secrets.sh)"
    secrets_log=$(mktemp)
    status=0
    bash tests/env/check-secrets.sh "$RKE_E2E_TRANSCRIPT" "$RKE_E2E_SECRETS" "$log" >"$secrets_log" || status=$?
    cat "$secrets_log"
    cat "$secrets_log" >>"$log"
    rm -f "$secrets_log" "$RKE_E2E_TRANSCRIPT" "$RKE_E2E_SECRETS"
fi
# One closing line for the whole suite (each test binary prints its own above).
awk '
    /^test result:/ { p += $4; f += $6 }
    /^[a-z_]+: [0-9]+ passed, [0-9]+ failed$/ { p += $2; f += $4 }
    END { printf "tests: %d passed, %d failed\n", p, f }
' "$log"
rm -f "$log"
exit "${status:-0}"
