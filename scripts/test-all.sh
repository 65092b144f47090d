#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine (as root): installs what the tests need, builds
# and starts the multi-node test environment (tests/env/), then the format, lint and test
# checks, the container image's build and smoke test, and tears the environment down again.
# This is the command README.md documents and .ci/run calls.
#
#   RKE_E2E_SKIP=1    skip the environment and the tests that need nodes
#   RKE_E2E_KEEP=1    leave the environment running afterwards (faster next run)
#   RKE_IMAGE_SKIP=1  skip building and smoke-testing the container image (scripts/build-image.sh;
#                     skipped with RKE_E2E_SKIP=1 too: it needs the environment's Docker engine)
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v openssl >/dev/null || need_apt+=(openssl)
command -v ssh-keygen >/dev/null || need_apt+=(openssh-client)
command -v protoc >/dev/null || need_apt+=(protobuf-compiler) # etcd-client's build script
command -v jq >/dev/null || need_apt+=(jq)
image=0
# The image needs the Docker engine, which the test environment starts.
[[ "${RKE_IMAGE_SKIP:-0}" == 1 || "${RKE_E2E_SKIP:-0}" == 1 ]] || image=1
# The image's build needs musl-gcc (C in aws-lc-sys, psm); installed here, before up.sh's own
# apt-get runs, because the image build starts in the background next to it.
((image == 0)) || command -v musl-gcc >/dev/null || need_apt+=(musl-tools)
if ((${#need_apt[@]})); then
    echo "==> installing ${need_apt[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
fi

teardown=0
image_pid=
# shellcheck disable=SC2317 # called by the trap
on_exit() {
    # The background build runs in a session of its own: stop cargo and rustc with it.
    if [[ -n $image_pid ]]; then kill -- "-$image_pid" 2>/dev/null || true; fi
    if ((teardown)); then
        echo "==> tearing down the test environment"
        bash tests/env/down.sh
    fi
}
trap on_exit EXIT

# The CI image's static release build (cold: ~980 s of CPU) starts now, in the background, in a
# target directory of its own, at the lowest CPU and I/O priority: it only gets the CPU the rest
# leaves idle (up.sh's downloads and image pushes, and the end-to-end tests, which mostly wait
# for nodes), so it adds little time and takes none from the tests' health-check deadlines.
# It is awaited after the tests. build-image.sh says which target it built (musl when rustup
# can provide it, else the static glibc one).
image_log=$(mktemp)
if ((image)); then
    echo "==> release build of rke for the container image: in the background (log: $image_log)"
    setsid nice -n 19 ionice -c 3 bash scripts/build-image.sh --binary-only >"$image_log" 2>&1 </dev/null &
    image_pid=$!
fi

if [[ "${RKE_E2E_SKIP:-0}" != 1 ]]; then
    echo "==> test environment (tests/env/up.sh)"
    bash tests/env/up.sh 5 # 5 nodes: up_nodes adds and removes one; snapshot_nodes restores onto node4, node5
    [[ "${RKE_E2E_KEEP:-0}" == 1 ]] || teardown=1
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
cargo test --locked --all-targets --no-fail-fast 2>&1 | tee "$log"
status=0
if [[ "${RKE_E2E_SKIP:-0}" != 1 ]]; then
    echo "==> no secret in any output (tests/env/check-secrets.sh)"
    secrets_log=$(mktemp)
    bash tests/env/check-secrets.sh "$RKE_E2E_TRANSCRIPT" "$RKE_E2E_SECRETS" "$log" >"$secrets_log" || status=$?
    cat "$secrets_log"
    cat "$secrets_log" >>"$log"
    rm -f "$secrets_log"
fi
rm -f "$RKE_E2E_TRANSCRIPT" "$RKE_E2E_SECRETS"
# The image itself needs the Docker engine (tests/env/up.sh started it); the binary is built,
# so build-image.sh's cargo step is a no-op here. The smoke test's closing line is counted
# below with the rest.
if ((image)); then
    echo "==> waiting for the image's release build (log: $image_log)"
    waited=$SECONDS
    if ! wait "$image_pid"; then
        image_pid=
        tail -n 40 "$image_log"
        echo "the release build of rke for the container image failed" >&2
        exit 1
    fi
    image_pid=
    grep -h -E '^==> (target|rke built in|static)' "$image_log" || true
    echo "==> waited $((SECONDS - waited))s for it after the tests"
    echo "==> container image (scripts/build-image.sh, tests/image/smoke.sh)"
    bash scripts/build-image.sh rke:test 2>&1 | tee -a "$log"
    bash tests/image/smoke.sh rke:test 2>&1 | tee -a "$log" || status=1
fi
# One closing line for the whole suite (each test binary prints its own above).
# A scenario whose prerequisite from ../shared is absent says `N skipped` (never passed).
awk '
    /^test result:/ { p += $4; f += $6 }
    /^[a-z_]+: [0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$/ {
        p += $2; f += $4; s += $6
        if ($6 > 0) skipped = skipped " " $1
    }
    END {
        printf "tests: %d passed, %d failed", p, f
        if (s > 0) printf ", %d skipped (not passed:%s)", s, skipped
        printf "\n"
    }
' "$log"
rm -f "$log" "$image_log"
exit "$status"
