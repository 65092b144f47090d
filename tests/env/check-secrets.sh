#!/usr/bin/env bash
# Proves that no secret the end-to-end suite handed to rke shows up in anything rke printed
# (stdout and stderr):
# the registry password (env.json), every S3 secret key the tests recorded ($RKE_E2E_SECRETS),
# and any PEM/OpenSSH private key block. Reads the transcript of every rke run
# ($RKE_E2E_TRANSCRIPT, written by the tests) and the cargo test log given as arguments.
#
#   tests/env/check-secrets.sh TRANSCRIPT SECRETS_FILE [MORE_LOGS...]
#
# Prints one line per check and the closing line `secrets: N passed, N failed`.
set -euo pipefail

TRANSCRIPT=$1
SECRETS=$2
shift 2
# shellcheck source=lib/env-json.sh
source "$(dirname "$0")/lib/env-json.sh"
ENV_JSON=$E2E_ENV_JSON
passed=0
failed=0
check() { # check NAME COMMAND...: the command succeeds when the check passes
	local name=$1
	shift
	if "$@"; then
		echo "ok: $name"
		passed=$((passed + 1))
	else
		echo "FAILED: $name"
		failed=$((failed + 1))
	fi
}
files=("$TRANSCRIPT" "$@")

# A check over nothing proves nothing: the transcript must hold many rke runs.
runs=$( (grep -c '^\$ rke ' "$TRANSCRIPT" 2>/dev/null) || true)
check "the transcript holds the suite's rke runs (${runs:-0})" test "${runs:-0}" -ge 20
# Each run is recorded with its stderr (warnings, the final `error:` line), not only stdout.
with_stderr=$( (grep -c '^--- stderr ---$' "$TRANSCRIPT" 2>/dev/null) || true)
check "every recorded run includes its stderr (${with_stderr:-0} of ${runs:-0})" test "${with_stderr:-0}" -ge "${runs:-0}"

absent() { # absent SECRET: not in any file
	! grep -qF -- "$1" "${files[@]}"
}
password=$(jq -r '.registry.password // empty' "$ENV_JSON")
check "the environment has a registry password" test -n "$password"
[[ -n $password ]] && check "the registry password appears in no output" absent "$password"

recorded=0
if [[ -s $SECRETS ]]; then
	while IFS= read -r secret; do
		[[ -n $secret ]] || continue
		recorded=$((recorded + 1))
		check "S3 secret key #$recorded appears in no output" absent "$secret"
	done < <(sort -u "$SECRETS")
fi
check "the S3 tests recorded their secret keys ($recorded)" test "$recorded" -ge 1

no_private_key() {
	! grep -qE -- '-----BEGIN [A-Z ]*PRIVATE KEY-----' "${files[@]}"
}
check "no private key block in any output" no_private_key

echo "secrets: $passed passed, $failed failed"
((failed == 0))
