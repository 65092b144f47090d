#!/usr/bin/env bash
# Coverage-guided fuzzing of rke's input parsers (the fuzz/ crate): builds the targets with
# libFuzzer on the pinned stable toolchain, runs each for a fixed time and prints, per target,
# executions, executions per second, corpus size and findings.
#
# Usage: scripts/fuzz.sh [seconds-per-target] [target...]
#   FUZZ_JOBS=N   cargo build jobs (default 1; the build is niced)
#
# Stable rustc has what libFuzzer needs (`-C passes=sancov-module` and LLVM's coverage
# options), and libfuzzer-sys compiles libFuzzer itself with the system C++ compiler, so no
# nightly toolchain or cargo-fuzz is needed. Findings are written to fuzz/artifacts/<target>/;
# new corpus entries to fuzz/corpus-work/<target>/ (the committed seeds in fuzz/corpus/ are
# kept small: copy an interesting find there by hand).
set -euo pipefail

seconds=${1:-60}
shift || true
root=$(cd "$(dirname "$0")/.." && pwd)
fuzz=$root/fuzz
all=(cluster_yml rkestate snapshot_archive known_hosts addon_manifest)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")

if ! command -v c++ >/dev/null; then
    echo "fuzz.sh: installing a C++ compiler (libFuzzer is C++)" >&2
    apt-get update -qq && apt-get install -y -qq g++ >/dev/null
fi

# What cargo-fuzz passes, minus the sanitizer (that one needs nightly): edge coverage with
# 8-bit counters, the PC table and comparison tracing that guide libFuzzer.
export RUSTFLAGS="-Cpasses=sancov-module \
 -Cllvm-args=-sanitizer-coverage-level=4 \
 -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
 -Cllvm-args=-sanitizer-coverage-pc-table \
 -Cllvm-args=-sanitizer-coverage-trace-compares \
 --cfg fuzzing"
export CARGO_TARGET_DIR=$fuzz/target
# The target named as in .cargo/config.toml, so build scripts and proc-macros stay
# uninstrumented; RUSTFLAGS replaces that file's crt-static, which libFuzzer does not need.
triple=x86_64-unknown-linux-gnu
bin=$CARGO_TARGET_DIR/$triple/release
cd "$root"
nice -n 19 cargo build --manifest-path "$fuzz/Cargo.toml" --release --locked --target "$triple" \
    -j "${FUZZ_JOBS:-1}" $(printf -- '--bin %s ' "${targets[@]}")

printf '\n%-18s %12s %10s %10s %9s\n' target executions exec/s corpus findings
for target in "${targets[@]}"; do
    work=$fuzz/corpus-work/$target
    artifacts=$fuzz/artifacts/$target
    log=$fuzz/artifacts/$target.log
    mkdir -p "$work" "$artifacts" "$fuzz/corpus/$target"
    # libFuzzer stops at its first finding; the next target still runs.
    nice -n 19 "$bin/$target" \
        -max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
        -max_len=262144 -artifact_prefix="$artifacts/" \
        "$work" "$fuzz/corpus/$target" >"$log" 2>&1 || true
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n1)
    corpus=$(find "$work" "$fuzz/corpus/$target" -type f | wc -l)
    findings=$(find "$artifacts" -type f \( -name 'crash-*' -o -name 'oom-*' -o -name 'timeout-*' -o -name 'leak-*' \) | wc -l)
    printf '%-18s %12s %10s %10s %9s\n' "$target" "${execs:-?}" "${rate:-?}" "$corpus" "$findings"
done
echo
echo "logs and findings: $fuzz/artifacts/ (reproduce one: $bin/<target> <file>)"
