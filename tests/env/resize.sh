#!/usr/bin/env bash
# Grow or shrink the running environment to N nodes, leaving the nodes it keeps as they are
# (their engines, images and clusters): new nodes start like up.sh's, removed ones go with their
# engine's volume. known_hosts and env.json/env.sh are rewritten for the N nodes.
#
#   tests/env/resize.sh N [--with-images IMAGE...]
#
# With --with-images, the new nodes' engines start holding those images (from the environment's
# registry): pulled once into a seed engine and hard-linked into each new node, ~1 s a node
# where pulling into each costs ~10 s. Used by bench/scale.sh to add 23 workers to the 5-node
# environment and to give them back.
set -euo pipefail

# shellcheck source=lib/common.sh
source "$(dirname "$0")/lib/common.sh"
for lib in host debian rootfs kubernetes images registry nodes cleanup; do
	# shellcheck source=/dev/null
	source "$E2E_DIR/lib/$lib.sh"
done

usage="usage: $0 N (1..200) [--with-images IMAGE...]"
want=${1:-}
if ! [[ $want =~ ^[0-9]+$ ]] || ((want < 1 || want > 200)); then die "$usage"; fi
shift
preload=()
if (($#)); then
	if [[ $1 != --with-images ]] || (($# < 2)); then die "$usage"; fi
	shift
	preload=("$@")
fi
((EUID == 0)) || die "run as root"
env_json=$E2E_STATE/env.json
[[ -f $env_json ]] || die "no environment at $E2E_STATE: start it with tests/env/up.sh"
exec 9>"$E2E_CACHE/lock"
flock -n 9 || die "another up.sh/down.sh/resize.sh holds $E2E_CACHE/lock"

have=$(jq '.nodes | length' "$env_json")
light=$(jq -r 'if .light then 1 else 0 end' "$env_json")
rke_tools=$(jq -r 'if .images.rke_tools then 1 else 0 end' "$env_json")
if ((want > have)); then
	log "adding nodes $((have + 1))..$want"
	image=$(node_image)
	seed=
	if ((${#preload[@]})); then
		log "pulling ${#preload[@]} image(s) into a seed engine for the new nodes"
		seed=$(seed_volume "$image" "${preload[@]}")
	fi
	for ((i = have + 1; i <= want; i++)); do node_start "$i" "$image" "$seed"; done
	[[ -z $seed ]] || docker volume rm "$seed" >/dev/null
elif ((want < have)); then
	log "removing nodes $((want + 1))..$have"
	for ((i = want + 1; i <= have; i++)); do
		docker rm -f -v "$(node_name "$i")" >/dev/null
		docker volume rm "$(node_volume "$i")" >/dev/null
	done
fi
nodes_wait "$want"
write_env_description "$want" "$light" "$rke_tools"
log "environment resized: $want node(s)"
