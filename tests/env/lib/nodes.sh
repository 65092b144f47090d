# shellcheck shell=bash
# The test network, the nodes on it, and the description tests read (env.json, env.sh).

ssh_key() { echo "$E2E_STATE/id_$E2E_KEY_TYPE"; }
known_hosts() { echo "$E2E_STATE/known_hosts"; }
E2E_KEY_TYPE=${RKE_E2E_KEY_TYPE:-ed25519}

network_create() {
	log "creating network $E2E_NETWORK ($E2E_NET_PREFIX.0/24)"
	# A named bridge interface makes the host side of the network easy to find.
	docker network create --driver bridge --subnet "$E2E_NET_PREFIX.0/24" --gateway "$E2E_GATEWAY" \
		-o com.docker.network.bridge.name="${E2E_PREFIX//-/}0" --label "$E2E_PREFIX=network" \
		"$E2E_NETWORK" >/dev/null || die "docker network create $E2E_NETWORK failed"
}

ssh_keypair() {
	local key
	key=$(ssh_key)
	[[ -f $key ]] && return 0
	ssh-keygen -q -t "$E2E_KEY_TYPE" -N '' -C "$E2E_PREFIX" -f "$key" || die "ssh-keygen failed"
}

# node_run NAME IP VOLUME IMAGE: a node container with its own engine storage (overlay2
# cannot sit on the container's own overlay, hence the volume) and the registry CA trusted by
# its engine.
node_run() {
	local name=$1 ip=$2 volume=$3 image=$4
	docker run -d --init --privileged \
		--name "$name" --hostname "$name" --label "$E2E_PREFIX=node" \
		--network "$E2E_NETWORK" --ip "$ip" \
		-v "$volume:/var/lib/docker" \
		-v /lib/modules:/lib/modules:ro \
		--mount "type=bind,source=$(registry_dir)/ca.crt,target=/etc/docker/certs.d/$E2E_REGISTRY/ca.crt,readonly" \
		-e AUTHORIZED_KEYS="$(cat "$(ssh_key).pub")" \
		"$image" >/dev/null || die "docker run $name failed"
}

# node_start I IMAGE [SEED]: run node I; with SEED (a volume from seed_volume), its engine
# starts with the seed's images.
node_start() {
	local i=$1 image=$2 seed=${3:-}
	[[ -z $seed ]] || seed_copy "$seed" "$(node_volume "$i")"
	node_run "$(node_name "$i")" "$(node_ip "$i")" "$(node_volume "$i")" "$image"
}

# seed_volume IMAGE PULL...: a node engine's storage holding the images PULL..., pulled from the
# registry once by a throwaway node (.250) and shut down cleanly; prints the volume's name.
# Pulling into every new node instead costs ~10 s per node, disk-bound.
seed_volume() {
	local image=$1 name=$E2E_PREFIX-seed volume=$E2E_PREFIX-seed-docker
	shift
	docker rm -f -v "$name" >/dev/null 2>&1 || true
	docker volume rm "$volume" >/dev/null 2>&1 || true
	node_run "$name" "$E2E_NET_PREFIX.250" "$volume" "$image"
	wait_for 120 "the seed node's engine ($name)" docker exec "$name" docker info
	docker exec -i "$name" docker login -u "$E2E_REGISTRY_USER" --password-stdin "$E2E_REGISTRY" \
		<"$(registry_dir)/password" >/dev/null || die "the seed node cannot log in to $E2E_REGISTRY"
	docker exec "$name" sh -c 'for i; do docker pull -q "$i" >/dev/null || exit 1; done' sh "$@" ||
		die "the seed node cannot pull $*"
	docker stop -t 60 "$name" >/dev/null
	docker rm "$name" >/dev/null
	echo "$volume"
}

# seed_copy SEED VOLUME: VOLUME (created) with SEED's images: the image store copied, the layers
# hard-linked (an engine never writes into an image layer: containers get their own upper
# layer), so a node costs a second and no disk. The engine's id, networks and containers are
# left for its own engine to create.
seed_copy() {
	local seed=$1 volume=$2 from to
	docker volume create "$volume" >/dev/null || die "docker volume create $volume failed"
	from=$(docker volume inspect -f '{{.Mountpoint}}' "$seed")
	to=$(docker volume inspect -f '{{.Mountpoint}}' "$volume")
	if ! cp -a "$from/image" "$to/" || ! cp -al "$from/overlay2" "$to/"; then
		die "copying the seed's images into $volume failed"
	fi
}

# Ready = sshd hands out its host key and the node's own engine answers.
node_ready() {
	local i=$1
	ssh-keyscan -T 2 -t ed25519,rsa,ecdsa "$(node_ip "$i")" 2>/dev/null | grep -q . &&
		docker exec "$(node_name "$i")" docker info >/dev/null 2>&1
}

nodes_wait() {
	local count=$1 i
	for ((i = 1; i <= count; i++)); do
		wait_for 120 "node $(node_name "$i") (sshd and inner dockerd; see docker logs $(node_name "$i"))" node_ready "$i"
	done
	# Record the real host keys, so tests can also run with strict host-key checking.
	: >"$(known_hosts)"
	for ((i = 1; i <= count; i++)); do
		ssh-keyscan -T 5 "$(node_ip "$i")" 2>/dev/null >>"$(known_hosts)"
	done
}

# env.json for tests (jq-built, so it is always valid JSON) and env.sh for shell users.
write_env_description() {
	local count=$1 light=$2 rke_tools=${3:-0} i nodes='[]'
	local images='{}'
	if ((!light)); then
		images=$(jq -n --arg etcd "$(registry_image "etcd:$E2E_ETCD_TAG")" \
			--arg etcd_3_5 "$(registry_image "etcd:$E2E_ETCD35_TAG")" \
			--arg kubernetes "$(registry_image "kubernetes:$E2E_K8S_VERSION")" \
			--arg nginx "$(registry_image "nginx:$E2E_NGINX_TAG")" \
			--arg addon_standin "$(registry_image "addon-standin:$E2E_ADDON_STANDIN_TAG")" \
			'{etcd: $etcd, etcd_3_5: $etcd_3_5, kubernetes: $kubernetes, nginx: $nginx, addon_standin: $addon_standin}')
	fi
	# Only when ../shared/cri-dockerd was there to build it (tests skip the scenario otherwise).
	if ((rke_tools)); then
		images=$(jq --arg rke_tools "$(registry_image "rke-tools:$E2E_RKE_TOOLS_TAG")" \
			'. + {rke_tools: $rke_tools}' <<<"$images")
	fi
	images=$(jq --arg pause "$(registry_image "pause:$E2E_PAUSE_TAG")" \
		--arg busybox "$(registry_image "busybox:$E2E_BUSYBOX_TAG")" \
		'. + {pause: $pause, busybox: $busybox}' <<<"$images")
	for ((i = 1; i <= count; i++)); do
		nodes=$(jq --arg name "$(node_name "$i")" --arg address "$(node_ip "$i")" \
			'. + [{name: $name, hostname: $name, container: $name, address: $address}]' <<<"$nodes")
	done
	jq -n --arg state "$E2E_STATE" --arg network "$E2E_NETWORK" \
		--arg subnet "$E2E_NET_PREFIX.0/24" --arg gateway "$E2E_GATEWAY" \
		--arg key "$(ssh_key)" --arg known_hosts "$(known_hosts)" \
		--arg registry "$E2E_REGISTRY" --arg user "$E2E_REGISTRY_USER" \
		--arg password "$(cat "$(registry_dir)/password")" --arg ca "$(registry_dir)/ca.crt" \
		--arg k8s "$E2E_K8S_VERSION" --arg kubectl "$(k8s_bin_dir)/kubectl" --argjson light "$light" \
		--argjson images "$images" --argjson nodes "$nodes" '{
			state_dir: $state,
			light: ($light == 1),
			kubernetes_version: $k8s,
			kubectl: $kubectl,
			network: {name: $network, subnet: $subnet, gateway: $gateway},
			ssh: {private_key: $key, public_key: ($key + ".pub"), known_hosts: $known_hosts,
			      users: ["root", "rke"], port: 22},
			registry: {address: $registry, url: ("https://" + $registry), username: $user,
			           password: $password, ca_cert: $ca},
			images: $images,
			nodes: $nodes
		}' >"$E2E_STATE/env.json.tmp"
	mv "$E2E_STATE/env.json.tmp" "$E2E_STATE/env.json"
	jq -r '
		def q: @sh;
		"RKE_E2E_ENV_JSON=\(input_filename | q)",
		"RKE_E2E_SSH_KEY=\(.ssh.private_key | q)",
		"RKE_E2E_KNOWN_HOSTS=\(.ssh.known_hosts | q)",
		"RKE_E2E_REGISTRY=\(.registry.address | q)",
		"RKE_E2E_REGISTRY_USER=\(.registry.username | q)",
		"RKE_E2E_REGISTRY_PASSWORD=\(.registry.password | q)",
		"RKE_E2E_REGISTRY_CA=\(.registry.ca_cert | q)",
		"RKE_E2E_NODE_NAMES=\([.nodes[].name] | join(" ") | q)",
		"RKE_E2E_NODE_IPS=\([.nodes[].address] | join(" ") | q)",
		(.images | to_entries[] | "RKE_E2E_IMAGE_\(.key | ascii_upcase)=\(.value | q)")
	' "$E2E_STATE/env.json" | sed 's/^/export /' >"$E2E_STATE/env.sh"
}
