# shellcheck shell=bash
# Kubernetes binaries built from Debian's `kubernetes` source package (the full vendored
# upstream tree of v1.20.2), cached by version: the build takes ~8 minutes on 2 cores.

E2E_K8S_BINARIES=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)

# The build's revision is part of the cache path: binaries of an older recipe are never reused.
#   r2: vendored github.com/modern-go/reflect2 1.0.1 replaced by Debian's 1.0.2 (below).
E2E_K8S_BUILD_REV=r2
k8s_bin_dir() { echo "$E2E_CACHE/kubernetes/$E2E_K8S_VERSION-$E2E_K8S_BUILD_REV/bin"; }

k8s_binaries_cached() {
	local dir b
	dir=$(k8s_bin_dir)
	for b in "${E2E_K8S_BINARIES[@]}"; do
		[[ -x $dir/$b ]] || return 1
	done
}

# Download (once) and unpack the source package, Debian patches applied, into the build dir.
k8s_prepare_source() {
	local src=$E2E_CACHE/kubernetes/source build=$1
	if ! compgen -G "$src/${E2E_K8S_SRC_PKG}_*.dsc" >/dev/null; then
		mkdir -p "$src"
		private_apt_ready
		log "downloading the $E2E_K8S_SRC_PKG source package"
		(cd "$src" && private_apt source --download-only "$E2E_K8S_SRC_PKG" >"$E2E_LOGS/k8s-source.log" 2>&1) ||
			die "apt-get source $E2E_K8S_SRC_PKG failed, see $E2E_LOGS/k8s-source.log"
	fi
	[[ -f $build/.unpacked ]] && return 0
	rm -rf "$build"
	mkdir -p "$build"
	local dsc
	dsc=$(compgen -G "$src/${E2E_K8S_SRC_PKG}_*.dsc" | head -n1)
	dpkg-source -x "$dsc" "$build/src" >"$E2E_LOGS/k8s-unpack.log" 2>&1 ||
		die "dpkg-source -x $dsc failed, see $E2E_LOGS/k8s-unpack.log"
	# The tree was exported with `git archive`: hack/lib/version.sh carries the real
	# version, so the binaries report v1.20.2. Check, because kubelet/apiserver version
	# skew rules depend on it.
	grep -q "tag: $E2E_K8S_VERSION'" "$build/src/hack/lib/version.sh" ||
		die "the $E2E_K8S_SRC_PKG source package is not $E2E_K8S_VERSION (hack/lib/version.sh)"
	k8s_replace_reflect2 "$build/src"
	touch "$build/.unpacked"
}

# v1.20.2 vendors github.com/modern-go/reflect2 v1.0.1, which does not know Go >= 1.18's map
# iteration: built with Debian's Go 1.19, kube-apiserver panics (SIGSEGV in
# reflect.mapiterinit) on custom-resource writes and intermittently fails other JSON bodies
# holding maps (ConfigMaps, ClusterRoleBindings: "stream error ... INTERNAL_ERROR").
# reflect2 1.0.2 supports it and has the same API; Debian ships it.
k8s_replace_reflect2() {
	local tree=$1 debian=/usr/share/gocode/src/github.com/modern-go/reflect2
	[[ -f $debian/reflect2.go ]] || die "$debian missing (package golang-github-modern-go-reflect2-dev)"
	rm -rf "$tree/vendor/github.com/modern-go/reflect2"
	cp -r "$debian" "$tree/vendor/github.com/modern-go/reflect2"
	# Only the sources change: go.mod and vendor/modules.txt keep naming v1.0.1, so the vendor
	# consistency check passes (Go does not hash vendored files).
	rm -rf "$tree/vendor/github.com/modern-go/reflect2/debian" "$tree/vendor/github.com/modern-go/reflect2/go.mod" "$tree/vendor/github.com/modern-go/reflect2/go.sum"
	log "vendored reflect2 replaced by Debian's 1.0.2"
}

# Build the binaries and move them into the cache. Runs niced: other work shares the cores.
k8s_build() {
	local build=$E2E_CACHE/kubernetes/build
	k8s_prepare_source "$build"
	local tree=$build/src whats=() b
	for b in "${E2E_K8S_BINARIES[@]}"; do whats+=("cmd/$b"); done
	# GOPATH layout as Debian's debian/rules lays it out.
	mkdir -p "$tree/.go/src/k8s.io" "$build/home"
	ln -sfn ../../.. "$tree/.go/src/k8s.io/kubernetes"
	log "building Kubernetes $E2E_K8S_VERSION (log: $E2E_LOGS/k8s-build.log)"
	(
		cd "$tree"
		export GOPATH=$tree/.go CGO_ENABLED=0 HOME=$build/home GOCACHE=$build/gocache
		nice -n "$E2E_NICE" make WHAT="${whats[*]}"
	) >"$E2E_LOGS/k8s-build.log" 2>&1 || die "Kubernetes build failed, see $E2E_LOGS/k8s-build.log"
	local out
	out=$(k8s_bin_dir)
	rm -rf "$out.tmp"
	mkdir -p "$out.tmp"
	for b in "${E2E_K8S_BINARIES[@]}"; do
		install -m 755 "$tree/_output/bin/$b" "$out.tmp/$b"
	done
	"$out.tmp/kubectl" version --client --short 2>/dev/null | grep -q "$E2E_K8S_VERSION" ||
		die "built kubectl does not report $E2E_K8S_VERSION"
	rm -rf "$out"
	mv "$out.tmp" "$out"
	# The unpacked tree and Go cache are ~3 GB; only the binaries are worth keeping.
	rm -rf "$build"
	log "Kubernetes binaries cached in $out"
}
