#!/usr/bin/env bash
# Builds the CI container image (Dockerfile): rke linked statically (musl), in an image
# FROM scratch. Installs what the build needs when missing (the rustup musl target; Debian's
# musl-tools for the C that aws-lc-sys and psm compile; protoc for etcd-client's build script),
# checks that the binary is static, and prints the image size.
#
#   scripts/build-image.sh [--binary-only] [TAG]   (default rke:test; root when packages are missing)
#
# --binary-only stops after the static check (no Docker needed): scripts/test-all.sh runs that
# in the background early and the image build after the tests.
#
#   RKE_IMAGE_PROFILE     cargo profile (default release: stripped, thin LTO)
#   RKE_IMAGE_TARGET      x86_64-unknown-linux-musl (default) or x86_64-unknown-linux-gnu (static
#                         through .cargo/config.toml's crt-static; the fallback without rustup)
#   RKE_IMAGE_TARGET_DIR  cargo target directory (default <target dir>/image: a directory of its
#                         own, so that this build does not wait for, or block, the lock of the
#                         one `cargo test` uses)
set -euo pipefail
cd "$(dirname "$0")/.."

binary_only=0
if [[ ${1:-} == --binary-only ]]; then
	binary_only=1
	shift
fi
TAG=${1:-rke:test}
PROFILE=${RKE_IMAGE_PROFILE:-release}
TARGET=${RKE_IMAGE_TARGET:-x86_64-unknown-linux-musl}
say() { printf '==> %s\n' "$*" >&2; }
die() {
	printf 'build-image.sh: %s\n' "$*" >&2
	exit 1
}

# The musl standard library comes from rustup for the toolchain pinned in rust-toolchain.toml
# (rustup reads that file here; `target add` is a no-op when it is installed). Where rustup's
# server cannot be reached, the image is built from the static glibc target instead (the same
# static binary `rke up` uploads as the snapshot agent), and the build says so.
if [[ $TARGET == x86_64-unknown-linux-musl ]] && ! rustup target list --installed | grep -qx "$TARGET"; then
	say "rustup target add $TARGET"
	if ! rustup target add "$TARGET"; then
		say "the musl target cannot be installed (rustup needs static.rust-lang.org): using the static glibc target"
		TARGET=x86_64-unknown-linux-gnu
	fi
fi
say "target $TARGET"

need_apt=()
[[ $TARGET != *musl ]] || command -v musl-gcc >/dev/null || need_apt+=(musl-tools)
command -v protoc >/dev/null || need_apt+=(protobuf-compiler)
command -v readelf >/dev/null || need_apt+=(binutils)
command -v jq >/dev/null || need_apt+=(jq)
if ((${#need_apt[@]})); then
	say "installing ${need_apt[*]}"
	apt-get update -qq || die "apt-get update failed"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null ||
		die "cannot install ${need_apt[*]}"
fi

# cc-rs would fall back to the host's glibc gcc when it finds no musl compiler; name it so a
# missing musl-gcc fails here instead of producing objects that expect glibc's headers.
export CC_x86_64_unknown_linux_musl=musl-gcc
CARGO_TARGET_DIR=${RKE_IMAGE_TARGET_DIR:-$(cargo metadata --format-version 1 --no-deps --locked | jq -r .target_directory)/image}
export CARGO_TARGET_DIR
say "cargo build --profile $PROFILE --target $TARGET"
started=$(date +%s)
# --target overrides .cargo/config.toml's gnu default (musl links statically by itself;
# the gnu target through the crt-static flag config.toml gives it).
cargo build --locked --profile "$PROFILE" --target "$TARGET" --bin rke
say "rke built in $(($(date +%s) - started))s"

case $PROFILE in dev | test) dir=debug ;; bench) dir=release ;; *) dir=$PROFILE ;; esac
BIN=$CARGO_TARGET_DIR/$TARGET/$dir/rke
[[ -x $BIN ]] || die "no binary at $BIN"

# FROM scratch has no dynamic loader and no libc: the binary must not ask for either.
if readelf -lW "$BIN" | grep -q 'program interpreter'; then
	die "$BIN has a program interpreter (PT_INTERP): not static"
fi
if readelf -dW "$BIN" | grep -q '(NEEDED)'; then
	die "$BIN needs shared libraries: $(readelf -dW "$BIN" | grep '(NEEDED)' | tr -s ' ')"
fi
say "static: $(file -b "$BIN" 2>/dev/null | grep -oE 'static(-pie|ally) linked' || echo 'no PT_INTERP, no NEEDED')"
if ((binary_only)); then
	echo "$BIN"
	exit 0
fi

# A context of three entries, not the repository (target/ is gigabytes).
ctx=$(mktemp -d /tmp/rke-image.XXXXXX)
trap 'rm -rf "$ctx"' EXIT
cp Dockerfile "$BIN" "$ctx/"
mkdir -p "$ctx/rootfs/tmp"
chmod 1777 "$ctx/rootfs/tmp"
say "docker build -t $TAG"
docker build -q -t "$TAG" "$ctx" >/dev/null
bytes=$(docker image inspect -f '{{.Size}}' "$TAG")
printf 'image %s: %s bytes (%s MiB), binary %s bytes\n' "$TAG" "$bytes" \
	"$(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1048576 }')" "$(stat -c %s "$BIN")"
