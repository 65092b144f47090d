# shellcheck shell=bash
# The local image registry: Debian's docker-registry (distribution 2.8) running on the
# host, listening on the test network's gateway address only, with TLS from a test CA
# and htpasswd auth. Node engines pull from it as they would from a private registry.

registry_dir() { echo "$E2E_STATE/registry"; }
# Host engine trusts the test CA for this address (read per pull/push, no restart).
registry_host_ca() { echo "/etc/docker/certs.d/$E2E_REGISTRY/ca.crt"; }
# The host engine's credentials for pushing, kept out of root's own ~/.docker.
host_docker_config() { echo "$E2E_STATE/docker-config"; }

# Every registry this environment starts serves a config file with this name, whatever
# the state dir: that is how leftovers of any earlier run are found (a stopped session may
# have lost its pid file, and all runs share the network address).
E2E_REGISTRY_CONFIG_NAME=$E2E_PREFIX-registry.yml

registry_pids() {
	local cmdline pid
	for pid in $(pgrep -x docker-registry || true); do
		cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || continue
		[[ $cmdline == *"/$E2E_REGISTRY_CONFIG_NAME"* ]] && echo "$pid"
	done
	return 0
}

# Gone, or a zombie waiting for whoever inherited it to reap it.
process_gone() {
	[[ ! -e /proc/$1 ]] || [[ $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) == Z ]]
}

registry_stop() {
	local pid
	for pid in $(registry_pids); do
		log "stopping registry (pid $pid)"
		kill "$pid" 2>/dev/null || true
		wait_for 10 "registry pid $pid to exit" process_gone "$pid"
	done
	rm -f "$(registry_host_ca)"
	rmdir "$(dirname "$(registry_host_ca)")" 2>/dev/null || true
}

# Test CA and a server certificate for the gateway IP.
registry_certs() {
	local dir
	dir=$(registry_dir)
	openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=rke-e2e test CA" \
		-keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null
	openssl req -newkey rsa:2048 -nodes -subj "/CN=$E2E_GATEWAY" \
		-keyout "$dir/server.key" -out "$dir/server.csr" 2>/dev/null
	printf 'subjectAltName=IP:%s\nextendedKeyUsage=serverAuth\n' "$E2E_GATEWAY" >"$dir/server.ext"
	openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
		-days 30 -extfile "$dir/server.ext" -out "$dir/server.crt" 2>/dev/null
	chmod 600 "$dir"/*.key
}

registry_start() {
	local dir
	dir=$(registry_dir)
	mkdir -p "$dir" "$E2E_CACHE/registry"
	registry_certs
	# A fresh password each run; tests read it from env.json.
	openssl rand -hex 16 >"$dir/password"
	htpasswd -Bbn "$E2E_REGISTRY_USER" "$(cat "$dir/password")" >"$dir/htpasswd" 2>/dev/null
	cat >"$dir/$E2E_REGISTRY_CONFIG_NAME" <<-EOF
		version: 0.1
		log:
		  level: warn
		storage:
		  # Blobs stay in the cache, so a warm run's pushes find every layer already there.
		  filesystem:
		    rootdirectory: $E2E_CACHE/registry
		  delete:
		    enabled: true
		http:
		  addr: $E2E_REGISTRY
		  tls:
		    certificate: $dir/server.crt
		    key: $dir/server.key
		auth:
		  htpasswd:
		    realm: rke-e2e
		    path: $dir/htpasswd
	EOF
	log "starting registry on $E2E_REGISTRY (log: $dir/registry.log)"
	(
		close_inherited_fds
		exec setsid docker-registry serve "$dir/$E2E_REGISTRY_CONFIG_NAME" >"$dir/registry.log" 2>&1 </dev/null
	) &
	local pid=$!
	echo "$pid" >"$dir/registry.pid"
	local deadline=$(($(date +%s) + 30))
	until registry_answers; do
		[[ -e /proc/$pid ]] || die "registry exited: $(tail -n 1 "$dir/registry.log")"
		(($(date +%s) < deadline)) || die "registry on $E2E_REGISTRY did not answer within 30s, see $dir/registry.log"
		sleep 0.2
	done
	mkdir -p "$(dirname "$(registry_host_ca)")"
	cp "$dir/ca.crt" "$(registry_host_ca)"
	DOCKER_CONFIG=$(host_docker_config) docker login -u "$E2E_REGISTRY_USER" --password-stdin \
		"$E2E_REGISTRY" <"$dir/password" >"$E2E_LOGS/login.log" 2>&1 ||
		die "docker login to $E2E_REGISTRY failed, see $E2E_LOGS/login.log"
}

# The registry is up when /v2/ asks for credentials.
registry_answers() {
	[[ $(curl -s -o /dev/null -w '%{http_code}' --cacert "$(registry_dir)/ca.crt" \
		--noproxy '*' "https://$E2E_REGISTRY/v2/") == 401 ]]
}

# push_image LOCAL NAME:TAG: push the local image as $E2E_REGISTRY/rke-e2e/NAME:TAG.
push_image() {
	local target
	target=$(registry_image "$2")
	docker tag "$1" "$target"
	DOCKER_CONFIG=$(host_docker_config) docker push "$target" >>"$E2E_LOGS/push.log" 2>&1 ||
		die "docker push $target failed, see $E2E_LOGS/push.log"
	log "pushed $target"
}
