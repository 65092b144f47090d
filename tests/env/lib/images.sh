# shellcheck shell=bash
# The images: the node image (run by the host engine) and the images the cluster runs
# (pushed to the local registry, pulled by the node engines).

E2E_NODE_PKGS=openssh-server,docker.io,iproute2,iptables,ca-certificates,procps,kmod,jq,conntrack,containernetworking-plugins,curl
E2E_K8S_PKGS=iptables,conntrack,ipset,kmod,iproute2,socat,ca-certificates,mount,util-linux,ethtool
E2E_NGINX_PKGS=nginx-light,libnginx-mod-stream

# Registry tags are fixed so tests can rely on them; each build checks that Debian still
# ships that upstream version.
E2E_ETCD_TAG=v3.4.23
# etcd 3.5 (what Kubernetes >= 1.22 runs; restored with etcdutl) comes from the next Debian
# release: only its etcd packages are used, with this host's C library (checked below).
E2E_ETCD35_TAG=v3.5.16
E2E_ETCD35_SUITE=trixie
E2E_NGINX_TAG=1.22.1
E2E_BUSYBOX_TAG=1.35.0
E2E_ADDON_STANDIN_TAG=1

# cri-dockerd for the rke-tools stand-in: not in any reachable registry, so it comes from the
# shared folder beside the checkout (../shared/cri-dockerd, read-only; RKE_E2E_CRI_DOCKERD names
# another). Without it there is no rke-tools image and the cri-dockerd scenario is skipped.
E2E_CRI_DOCKERD_VERSION=v0.3.4
E2E_CRI_DOCKERD_DIR=${RKE_E2E_CRI_DOCKERD:-$(dirname "$(dirname "$E2E_DIR")")/../shared/cri-dockerd}
E2E_RKE_TOOLS_TAG=cri-dockerd-$E2E_CRI_DOCKERD_VERSION

registry_image() { echo "$E2E_REGISTRY/$E2E_PREFIX/$1"; }

# ensure_image NAME KEY BUILD_FN [IMPORT_CHANGE...]: make sure the local image
# rke-e2e/NAME:KEY exists: import it from the cached rootfs tarball, building that
# tarball first with `BUILD_FN DIR` when it is missing. Prints the image name.
ensure_image() {
	local name=$1 key=$2 build_fn=$3
	shift 3
	local image=$E2E_PREFIX/$name:$key tar change
	# Named after the recipe, so images that share one (busybox, pause) share the tarball.
	tar=$(rootfs_tar "${build_fn#build_}" "$key")
	if ! docker image inspect "$image" >/dev/null 2>&1; then
		if [[ ! -f $tar ]]; then
			local t0 dir=$E2E_CACHE/work/$name-$key
			t0=$(date +%s)
			log "building rootfs $name ($key)"
			"$build_fn" "$dir"
			pack_tree "$dir" "$tar"
			log "rootfs $name built in $(($(date +%s) - t0))s"
		fi
		local args=()
		for change in "$@"; do args+=(-c "$change"); done
		docker import "${args[@]}" "$tar" "$image" >/dev/null || die "docker import of $tar failed"
		log "imported $image"
	fi
	prune_stale "$name" "$key" "$tar"
	echo "$image"
}

# Drop images and tarballs of older recipes of NAME, so the cache does not grow forever.
prune_stale() {
	local name=$1 key=$2 tar=$3 tag old
	for tag in $(docker images "$E2E_PREFIX/$name" --format '{{.Tag}}'); do
		[[ $tag == "$key" ]] || docker rmi "$E2E_PREFIX/$name:$tag" >/dev/null 2>&1 || true
	done
	[[ -n $tar ]] || return 0
	for old in "${tar%-*}"-*.tar; do
		[[ -e $old && $old != "$tar" ]] && rm -f "$old"
	done
	return 0
}

install_files() {
	local dir=$1 file
	shift
	mkdir -p "$dir/usr/local/bin"
	for file in "$@"; do install -m 755 "$E2E_DIR/files/$file" "$dir/usr/local/bin/$file"; done
}

build_node_tree() {
	local dir=$1
	debootstrap_tree "$dir" "$E2E_NODE_PKGS"
	install_files "$dir" node-init runc-capfix
	# A non-root user that reaches Docker only through the docker group (no sudo).
	chroot "$dir" useradd --create-home --shell /bin/bash --groups docker rke
	# openssh-server's postinst made host keys; nodes must not share them (node-init
	# generates fresh ones per node).
	rm -f "$dir"/etc/ssh/ssh_host_*
	: >"$dir/etc/machine-id"
}

build_kubernetes_base_tree() {
	debootstrap_tree "$1" "$E2E_K8S_PKGS"
}

build_nginx_tree() {
	local dir=$1 version
	debootstrap_tree "$dir" "$E2E_NGINX_PKGS"
	version=$(chroot "$dir" dpkg-query -W -f='${Version}' nginx-light)
	[[ $version == "$E2E_NGINX_TAG"-* ]] ||
		die "Debian ships nginx-light $version, not $E2E_NGINX_TAG: update E2E_NGINX_TAG"
	# Logs to the container's output, as the usual nginx images do.
	ln -sf /dev/stdout "$dir/var/log/nginx/access.log"
	ln -sf /dev/stderr "$dir/var/log/nginx/error.log"
}

build_busybox_tree() {
	local dir=$1
	busybox_tree "$dir"
	[[ $("$dir/bin/busybox" --help 2>&1 | head -n1) == *"v$E2E_BUSYBOX_TAG"* ]] ||
		die "Debian's busybox-static is not $E2E_BUSYBOX_TAG: update E2E_BUSYBOX_TAG"
	install -m 755 "$E2E_DIR/files/pause" "$dir/pause"
}

build_addon_standin_tree() {
	local dir=$1 name
	busybox_tree "$dir"
	install -m 755 "$E2E_DIR/files/addon-standin" "$dir/standin"
	for name in coredns cluster-proportional-autoscaler; do ln -s standin "$dir/$name"; done
	mkdir -p "$dir/www"
	for name in health ready healthz; do echo ok >"$dir/www/$name"; done
}

cri_dockerd_xz() { echo "$E2E_CRI_DOCKERD_DIR/cri-dockerd-$E2E_CRI_DOCKERD_VERSION.xz"; }
cri_dockerd_sha256() { echo "$E2E_CRI_DOCKERD_DIR/cri-dockerd-$E2E_CRI_DOCKERD_VERSION.sha256"; }
cri_dockerd_available() { [[ -f $(cri_dockerd_xz) && -f $(cri_dockerd_sha256) ]]; }

# RKE1's rke-tools image as far as rke uses it: cri-dockerd at /opt/rke-tools/bin/cri-dockerd
# (the image declares VOLUME /opt/rke-tools, which service-sidekick holds for cri-dockerd's
# container). cri-dockerd is a static Go binary; busybox gives the image a shell.
build_rke_tools_tree() {
	local dir=$1 bin want got
	busybox_tree "$dir"
	bin=$dir/opt/rke-tools/bin/cri-dockerd
	mkdir -p "$(dirname "$bin")"
	xz -dc "$(cri_dockerd_xz)" >"$bin" || die "cannot unpack $(cri_dockerd_xz)"
	want=$(awk '{print $1; exit}' "$(cri_dockerd_sha256)")
	got=$(sha256sum "$bin" | awk '{print $1}')
	[[ -n $want && $got == "$want" ]] ||
		die "$(cri_dockerd_xz) unpacks to sha256 $got, $(cri_dockerd_sha256) says '$want'"
	chmod 755 "$bin"
	printf '%s\n' "rke-e2e stand-in for rancher/rke-tools: only bin/cri-dockerd ($E2E_CRI_DOCKERD_VERSION)" \
		>"$dir/opt/rke-tools/STANDIN"
}

# etcd_tree DIR SUITE TAG: Debian SUITE's etcd binaries (etcd, etcdctl and, from 3.5,
# etcdutl) in /usr/local/bin, as the upstream images have them, on static busybox.
etcd_tree() {
	local dir=$1 suite=$2 tag=$3 debs=$E2E_CACHE/work/etcd-debs-$2 b version
	rm -rf "$debs"
	download_debs_from "$suite" "$debs" etcd-server etcd-client
	compgen -G "$debs/etcd-server_${tag#v}-*.deb" >/dev/null ||
		die "Debian $suite's etcd-server is not $tag ($(ls "$debs")): update the etcd tag in images.sh"
	extract_debs "$debs" "$debs/x"
	busybox_tree "$dir"
	mkdir -p "$dir/usr/local/bin" "$dir/var/lib/etcd"
	for b in etcd etcdctl etcdutl; do
		[[ -e $debs/x/usr/bin/$b ]] || continue
		install -m 755 "$debs/x/usr/bin/$b" "$dir/usr/local/bin/$b"
		copy_libs "$dir" "$dir/usr/local/bin/$b"
	done
	# etcd 3.5 restores snapshots with etcdutl (rke runs it from this image).
	[[ $tag == v3.4.* || -x $dir/usr/local/bin/etcdutl ]] ||
		die "Debian $suite's etcd packages have no etcdutl"
	# The binaries must run with the libraries copied from this host (another release for 3.5).
	# (All of its output, then the first line: `| head -n1` would SIGPIPE it under pipefail.)
	version=$(chroot "$dir" /usr/local/bin/etcd --version 2>&1) ||
		die "etcd from Debian $suite does not run in its image: $version"
	version=${version%%$'\n'*}
	[[ $version == "etcd Version: ${tag#v}" ]] ||
		die "etcd from Debian $suite reports '$version', not $tag"
	rm -rf "$debs"
}

build_etcd_tree() { etcd_tree "$1" "$E2E_SUITE" "$E2E_ETCD_TAG"; }
build_etcd35_tree() { etcd_tree "$1" "$E2E_ETCD35_SUITE" "$E2E_ETCD35_TAG"; }

# Image recipes: key inputs, build function and import changes in one place each.
node_image() {
	ensure_image node "$(recipe_key node "$E2E_NODE_PKGS" "$E2E_DIR"/files/{node-init,runc-capfix})" \
		build_node_tree 'CMD ["/usr/local/bin/node-init"]'
}
# The Debian part is built while Kubernetes compiles; the binaries are added on top
# (docker cp into a created container, then commit) once the build is done.
kubernetes_base_image() {
	ensure_image kubernetes-base "$(recipe_key kubernetes-base "$E2E_K8S_PKGS")" \
		build_kubernetes_base_tree 'CMD ["/bin/sh"]'
}
kubernetes_image() {
	local base image container b
	base=$(kubernetes_base_image)
	# The binaries' build revision is part of the tag: a rebuilt recipe never reuses an image.
	image=$E2E_PREFIX/kubernetes:$E2E_K8S_VERSION-$E2E_K8S_BUILD_REV-${base##*:}
	if ! docker image inspect "$image" >/dev/null 2>&1; then
		k8s_binaries_cached || die "Kubernetes binaries missing in $(k8s_bin_dir)"
		container=$(docker create "$base")
		for b in "${E2E_K8S_BINARIES[@]}"; do
			docker cp "$(k8s_bin_dir)/$b" "$container:/usr/local/bin/$b"
		done
		docker commit "$container" "$image" >/dev/null
		docker rm "$container" >/dev/null
		log "committed $image"
	fi
	prune_stale kubernetes "${image##*:}" ""
	echo "$image"
}
nginx_image() {
	ensure_image nginx "$(recipe_key nginx "$E2E_NGINX_TAG" "$E2E_NGINX_PKGS")" \
		build_nginx_tree 'CMD ["nginx", "-g", "daemon off;"]'
}
busybox_image() {
	ensure_image busybox "$(recipe_key busybox "$E2E_BUSYBOX_TAG" "$E2E_DIR/files/pause")" \
		build_busybox_tree 'ENV PATH=/bin' 'CMD ["sh"]'
}
pause_image() {
	ensure_image pause "$(recipe_key busybox "$E2E_BUSYBOX_TAG" "$E2E_DIR/files/pause")" \
		build_busybox_tree 'ENV PATH=/bin' 'CMD ["/pause"]'
}
addon_standin_image() {
	ensure_image addon-standin "$(recipe_key addon-standin "$E2E_BUSYBOX_TAG" "$E2E_DIR/files/addon-standin")" \
		build_addon_standin_tree 'ENV PATH=/bin' 'ENTRYPOINT ["/standin"]'
}
rke_tools_image() {
	ensure_image rke-tools "$(recipe_key rke-tools "$E2E_BUSYBOX_TAG" "$(cri_dockerd_sha256)")" \
		build_rke_tools_tree 'ENV PATH=/bin' 'VOLUME /opt/rke-tools' 'CMD ["/bin/sh"]'
}
etcd_image() {
	ensure_image etcd "$(recipe_key etcd "$E2E_ETCD_TAG")" \
		build_etcd_tree 'ENV PATH=/usr/local/bin:/bin' 'CMD ["/usr/local/bin/etcd"]'
}
# Its own local name: ensure_image prunes the other tags of a name.
etcd35_image() {
	ensure_image etcd35 "$(recipe_key etcd35 "$E2E_ETCD35_TAG" "$E2E_ETCD35_SUITE")" \
		build_etcd35_tree 'ENV PATH=/usr/local/bin:/bin' 'CMD ["/usr/local/bin/etcd"]'
}
