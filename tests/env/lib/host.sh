# shellcheck shell=bash
# Host preparation: Debian packages and the host's Docker engine.

E2E_HOST_PKGS=(docker.io debootstrap jq docker-registry apache2-utils openssh-client openssl curl ca-certificates procps)
E2E_K8S_BUILD_PKGS=(golang-go rsync make dpkg-dev xz-utils golang-github-modern-go-reflect2-dev)

E2E_APT_UPDATED=0
apt_update_once() {
	((E2E_APT_UPDATED)) && return 0
	log "apt-get update"
	apt-get update -q >"$E2E_LOGS/apt-update.log" 2>&1 || die "apt-get update failed, see $E2E_LOGS/apt-update.log"
	E2E_APT_UPDATED=1
}

package_installed() {
	[[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]
}

# Install the packages that are missing. A temporary policy-rc.d keeps package scripts
# from starting services (dockerd, docker-registry) behind our back: we start them
# ourselves, with our configuration.
apt_install() {
	local missing=() pkg
	for pkg in "$@"; do
		package_installed "$pkg" || missing+=("$pkg")
	done
	((${#missing[@]})) || return 0
	apt_update_once
	log "apt-get install ${missing[*]}"
	local policy=/usr/sbin/policy-rc.d own_policy=0
	if [[ ! -e $policy ]]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy"
		chmod 755 "$policy"
		own_policy=1
	fi
	local rc=0
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" \
		>"$E2E_LOGS/apt-install.log" 2>&1 || rc=$?
	((own_policy)) && rm -f "$policy"
	((rc == 0)) || die "apt-get install failed, see $E2E_LOGS/apt-install.log"
}

# The wrapper runtime (see files/runc-capfix) is installed outside the cache so that a
# running dockerd keeps working when the cache is wiped.
install_host_wrapper() {
	mkdir -p "$(dirname "$E2E_HOST_WRAPPER")"
	install -m 755 "$E2E_DIR/files/runc-capfix" "$E2E_HOST_WRAPPER"
}

# Merge our runtime into /etc/docker/daemon.json, keeping whatever else is configured.
write_host_daemon_json() {
	local file=/etc/docker/daemon.json current='{}'
	mkdir -p /etc/docker
	[[ -s $file ]] && current=$(cat "$file")
	jq --arg name "$E2E_RUNTIME_NAME" --arg path "$E2E_HOST_WRAPPER" \
		'.runtimes[$name] = {path: $path} | ."default-runtime" = $name' <<<"$current" >"$file.tmp"
	mv "$file.tmp" "$file"
}

# Close every descriptor above stderr: a daemon started from here must not inherit (and hold
# for its whole life) a lock the caller took, such as up.sh's or a `flock CMD` wrapper's.
close_inherited_fds() {
	local fd n
	for fd in "/proc/$BASHPID/fd/"*; do
		n=${fd##*/}
		((n > 2)) && eval "exec $n>&-"
	done
	return 0
}

# Start the host engine unless one answers already. The runtime wrapper is used only where
# CAP_SYS_RESOURCE is missing from the bounding set; on an ordinary host nothing changes.
ensure_host_docker() {
	local need_wrapper=0
	if cap_sys_resource_missing; then
		need_wrapper=1
		install_host_wrapper
	fi
	if ! docker info >/dev/null 2>&1; then
		((need_wrapper)) && write_host_daemon_json
		log "starting dockerd (log: $E2E_LOGS/dockerd.log)"
		# setsid: the engine must outlive this script and the shell that ran it.
		(
			close_inherited_fds
			exec setsid dockerd --host unix:///var/run/docker.sock >>"$E2E_LOGS/dockerd.log" 2>&1 </dev/null
		) &
		echo $! >"$E2E_CACHE/dockerd.pid"
		wait_for 60 "dockerd to answer (see $E2E_LOGS/dockerd.log)" docker info
	fi
	if ((need_wrapper)); then
		local runtime
		runtime=$(docker info --format '{{.DefaultRuntime}}')
		[[ $runtime == "$E2E_RUNTIME_NAME" ]] ||
			die "the running dockerd uses runtime '$runtime', but this host lacks CAP_SYS_RESOURCE and needs '$E2E_RUNTIME_NAME': stop that dockerd and rerun (this script then starts one with $E2E_HOST_WRAPPER)"
	fi
}
