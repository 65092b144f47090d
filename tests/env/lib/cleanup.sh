# shellcheck shell=bash
# Remove what a run created (or a stopped run left behind): found by the rke-e2e prefix,
# never by guessing. Caches under $E2E_CACHE (except the run state) stay.

names_with_prefix() { grep -E "^$E2E_PREFIX-" || true; }

cleanup_environment() {
	local names
	if docker info >/dev/null 2>&1; then
		names=$(docker ps -a --format '{{.Names}}' | names_with_prefix)
		if [[ -n $names ]]; then
			log "removing containers: ${names//$'\n'/ }"
			# shellcheck disable=SC2086 # one name per word
			docker rm -f -v $names >/dev/null
		fi
		names=$(docker network ls --format '{{.Name}}' | names_with_prefix)
		if [[ -n $names ]]; then
			log "removing networks: ${names//$'\n'/ }"
			# shellcheck disable=SC2086
			docker network rm $names >/dev/null
		fi
		names=$(docker volume ls --format '{{.Name}}' | names_with_prefix)
		if [[ -n $names ]]; then
			log "removing volumes: ${names//$'\n'/ }"
			# shellcheck disable=SC2086
			docker volume rm $names >/dev/null
		fi
	fi
	registry_stop
	if [[ -d $E2E_STATE ]]; then
		[[ -f $E2E_STATE/.rke-e2e-state ]] ||
			die "$E2E_STATE has no .rke-e2e-state marker: not removing a directory this environment did not create"
		rm -rf "$E2E_STATE"
	fi
}
