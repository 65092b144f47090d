# shellcheck shell=bash
# Root filesystems for the images, built from Debian packages on the host (no container
# ever needs network access), cached as tarballs keyed by their recipe.

# Bump when a recipe changes in a way the inputs hashed by recipe_key do not show.
E2E_RECIPE_REVISION=1

# Short hash of a recipe: its arguments (name, packages) and the content of the files it
# copies in. A changed recipe gets a new key, so stale caches are never reused.
recipe_key() {
	local -a files=()
	local arg
	for arg in "$@"; do [[ -f $arg ]] && files+=("$arg"); done
	{
		printf '%s\n' "rev=$E2E_RECIPE_REVISION" "suite=$E2E_SUITE" "$@"
		((${#files[@]})) && cat "${files[@]}"
	} | sha256sum | cut -c1-12
}

rootfs_tar() { echo "$E2E_CACHE/rootfs/$1-$2.tar"; }

# debootstrap a minbase tree with extra packages into DIR. Downloaded .debs are kept in
# $E2E_CACHE/debs, so later trees reuse them.
debootstrap_tree() {
	local dir=$1 include=$2
	debian_mirror_init
	mkdir -p "$E2E_CACHE/debs"
	rm -rf "$dir"
	mkdir -p "$dir"
	nice -n "$E2E_NICE" debootstrap --variant=minbase --include="$include" --keyring="$E2E_KEYRING" \
		--cache-dir="$E2E_CACHE/debs" "$E2E_SUITE" "$dir" "$E2E_MIRROR" \
		>"$E2E_LOGS/debootstrap-$(basename "$dir").log" 2>&1 ||
		die "debootstrap of $dir failed, see $E2E_LOGS/debootstrap-$(basename "$dir").log"
	# Package lists and downloaded archives only make the image bigger.
	rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/archives/*.deb "$dir"/var/log/*.log
}

# Pack DIR into the cache tarball atomically, then drop DIR.
pack_tree() {
	local dir=$1 tar=$2
	mkdir -p "$(dirname "$tar")"
	tar --numeric-owner --xattrs -C "$dir" -cf "$tar.tmp" .
	mv "$tar.tmp" "$tar"
	rm -rf "$dir"
}

# Extract the data of .deb files in DEBDIR into DIR.
extract_debs() {
	local debdir=$1 dir=$2 deb
	for deb in "$debdir"/*.deb; do dpkg-deb -x "$deb" "$dir"; done
}

# A busybox tree: static busybox with every applet linked in /bin.
busybox_tree() {
	local dir=$1 debs=$E2E_CACHE/work/busybox-debs applet
	rm -rf "$debs"
	download_debs "$debs" busybox-static
	mkdir -p "$dir/bin" "$dir/tmp" "$dir/etc"
	chmod 1777 "$dir/tmp"
	dpkg-deb -x "$debs"/busybox-static_*.deb "$debs/x"
	install -m 755 "$debs/x/bin/busybox" "$dir/bin/busybox"
	for applet in $("$dir/bin/busybox" --list); do
		[[ -e $dir/bin/$applet ]] || ln -s busybox "$dir/bin/$applet"
	done
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$dir/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' >"$dir/etc/group"
	rm -rf "$debs"
}

# Copy the shared libraries BINARY needs (and the loader) from the host into DIR. The
# host is the same Debian release the binaries come from.
copy_libs() {
	local dir=$1 binary=$2 out lib
	out=$(ldd "$binary" 2>&1 || true)
	[[ $out == *"not a dynamic executable"* ]] && return 0
	grep -oE '/[^ )]+' <<<"$out" | while read -r lib; do
		cp -L --parents "$lib" "$dir"
	done
}
