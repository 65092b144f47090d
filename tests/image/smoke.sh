#!/usr/bin/env bash
# Smoke test of the CI image (scripts/build-image.sh): the image runs `rke --version`, and
# `rke validate` on a mounted cluster.yml exits 0 for a valid one and 3 (config error) with a
# file:line:column message for an invalid one; with the test environment up, preflight and
# `up --dry-run` against its nodes. Ends with `image: N passed, N failed`, which
# scripts/test-all.sh counts; exits non-zero when a check failed.
#
#   tests/image/smoke.sh [TAG]     (default rke:test; needs a running Docker engine and the test
#                                  environment, or RKE_IMAGE_SMOKE_NODES=0)
set -euo pipefail
cd "$(dirname "$0")/../.."

TAG=${1:-rke:test}
passed=0
failed=0
work=$(mktemp -d /tmp/rke-image-smoke.XXXXXX)
trap 'rm -rf "$work"' EXIT

# check NAME WANT_EXIT PATTERN CMD...: run CMD, expect its exit code and PATTERN (grep -E) in
# its combined output (an empty PATTERN checks the exit code only).
check() {
	local name=$1 want=$2 pattern=$3 rc=0
	shift 3
	"$@" >"$work/out" 2>&1 || rc=$?
	if ((rc == want)) && { [[ -z $pattern ]] || grep -qE -- "$pattern" "$work/out"; }; then
		echo "ok     $name"
		passed=$((passed + 1))
	else
		echo "FAILED $name: exit $rc (want $want), output (want /$pattern/):"
		sed 's/^/    /' "$work/out"
		failed=$((failed + 1))
	fi
}

# The image must be FROM scratch: its only layers are its own (/tmp, the binary, WORKDIR).
layers=$(docker image inspect -f '{{len .RootFS.Layers}}' "$TAG")
check "image has no base layers ($layers layers)" 0 '' test "$layers" -le 3

version=$(cargo metadata --format-version 1 --no-deps --locked | jq -r '.packages[] | select(.name == "rke") | .version')
check "rke --version prints $version" 0 "^rke $version" docker run --rm "$TAG" --version

# A valid cluster.yml: the repository's example (validate touches no node).
mkdir -p "$work/valid" "$work/invalid"
cp examples/cluster.yml "$work/valid/cluster.yml"
check "validate: valid cluster.yml exits 0" 0 'cluster.yml is valid: 3 nodes' \
	docker run --rm -v "$work/valid:/cluster:ro" "$TAG" validate

# An invalid one: a misspelled top-level key appended. The message must name the file, the
# line and the column of the bad key, and suggest the right name.
cp examples/cluster.yml "$work/invalid/cluster.yml"
printf 'ignore_docker_versoin: true\n' >>"$work/invalid/cluster.yml"
line=$(wc -l <"$work/invalid/cluster.yml")
check "validate: misspelled key exits 3 naming cluster.yml:$line:1" 3 \
	"cluster.yml:$line:1: .*ignore_docker_version" \
	docker run --rm -v "$work/invalid:/cluster:ro" "$TAG" validate

# Against the test environment's nodes (when it is up): the binary in the image speaks SSH with
# strict host keys and the Docker API through the tunnel (preflight), and `up --dry-run` plans
# a 3-node cluster, exits 2 (pending changes) and writes nothing (the directory is read-only).
# The host's network, so the nodes' addresses are reachable; the key and known_hosts mounted at
# the paths the generated cluster.yml and the flag name.
# shellcheck source=tests/env/lib/env-json.sh
source tests/env/lib/env-json.sh
env_json=$E2E_ENV_JSON
if [[ ${RKE_IMAGE_SMOKE_NODES:-1} == 0 ]]; then
	echo "skipped: the checks against nodes (RKE_IMAGE_SMOKE_NODES=0)"
elif [[ ! -f $env_json ]]; then
	echo "FAILED no test environment at $env_json (tests/env/up.sh; RKE_IMAGE_SMOKE_NODES=0 skips these checks)"
	failed=$((failed + 1))
else
	key=$(jq -r .ssh.private_key "$env_json")
	known_hosts=$(jq -r .ssh.known_hosts "$env_json")
	mkdir -p "$work/nodes"
	bash tests/env/cluster-yml.sh --env "$env_json" >"$work/nodes/cluster.yml"
	on_nodes=(docker run --rm --network host -v "$work/nodes:/cluster:ro" -v "$key:$key:ro"
		-v "$known_hosts:$known_hosts:ro" "$TAG")
	strict=(--ssh-host-key-checking strict --known-hosts "$known_hosts")
	check "preflight of 3 nodes from the image" 0 "^node3 +$(jq -r '.nodes[2].address' "$env_json") " \
		"${on_nodes[@]}" preflight "${strict[@]}"
	check "up --dry-run from the image exits 2 (changes pending)" 2 "^node1 \\($(jq -r '.nodes[0].address' "$env_json")\\):" \
		"${on_nodes[@]}" up --dry-run "${strict[@]}"
fi

echo "image: $passed passed, $failed failed"
((failed == 0))
