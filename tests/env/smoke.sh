#!/usr/bin/env bash
# Smoke check of a running e2e environment (after up.sh):
#  - ssh to every node as root and as `rke` with the generated key (host keys accepted
#    into a temporary known_hosts) and run `docker version` there;
#  - ssh to node 1 with strict host-key checking against the recorded known_hosts;
#  - on every node, as `rke`: `docker login` to the local registry, pull the pause image,
#    run it briefly, then remove image and credentials so the node stays clean.
# Exits non-zero when any check fails.
set -euo pipefail

# shellcheck source=lib/common.sh
source "$(dirname "$0")/lib/common.sh"

# shellcheck source=lib/env-json.sh
source "$(dirname "$0")/lib/env-json.sh"
ENV_JSON=$E2E_ENV_JSON
[[ -f $ENV_JSON ]] || die "no $ENV_JSON: run tests/env/up.sh first"
KEY=$(jq -r .ssh.private_key "$ENV_JSON")
KNOWN_HOSTS=$(jq -r .ssh.known_hosts "$ENV_JSON")
REGISTRY=$(jq -r .registry.address "$ENV_JSON")
REGISTRY_USER=$(jq -r .registry.username "$ENV_JSON")
REGISTRY_PASSWORD=$(jq -r .registry.password "$ENV_JSON")
PAUSE=$(jq -r .images.pause "$ENV_JSON")
mapfile -t NODE_IPS < <(jq -r '.nodes[].address' "$ENV_JSON")

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

PASSED=0
FAILED=0
check() {
	local what=$1
	shift
	if "$@" >"$TMP/out" 2>&1; then
		PASSED=$((PASSED + 1))
		log "ok   $what: $(tail -n 1 "$TMP/out")"
	else
		FAILED=$((FAILED + 1))
		log "FAIL $what:"
		sed 's/^/       /' "$TMP/out" >&2
	fi
}

ssh_tofu() {
	local target=$1
	shift
	ssh -i "$KEY" -o BatchMode=yes -o ConnectTimeout=5 -o StrictHostKeyChecking=no \
		-o UserKnownHostsFile="$TMP/known_hosts" "$target" "$@"
}
ssh_strict() {
	local target=$1
	shift
	ssh -i "$KEY" -o BatchMode=yes -o ConnectTimeout=5 -o StrictHostKeyChecking=yes \
		-o UserKnownHostsFile="$KNOWN_HOSTS" "$target" "$@"
}

# Runs on the node as `rke`: the password arrives on stdin, never on a command line.
# A throwaway docker config dir keeps the credentials off the node afterwards.
PULL_SCRIPT='set -e
cfg=$(mktemp -d)
trap "rm -rf $cfg" EXIT
docker --config "$cfg" login -u "$1" --password-stdin "$2" >/dev/null
docker --config "$cfg" pull -q "$3" >/dev/null
out=$(docker run --rm "$3" echo pulled-and-ran)
docker rmi "$3" >/dev/null
echo "$out"'

for ip in "${NODE_IPS[@]}"; do
	for user in root rke; do
		check "ssh $user@$ip docker version" \
			ssh_tofu "$user@$ip" docker version --format "'client {{.Client.Version}}, server {{.Server.Version}}'"
	done
	check "pull $PAUSE on $ip (as rke, with docker login)" \
		ssh_tofu "rke@$ip" sh -c "'$PULL_SCRIPT'" - "$REGISTRY_USER" "$REGISTRY" "$PAUSE" <<<"$REGISTRY_PASSWORD"
done
check "ssh root@${NODE_IPS[0]} with strict host-key checking" ssh_strict "root@${NODE_IPS[0]}" hostname

echo "smoke: $PASSED passed, $FAILED failed"
((FAILED == 0))
