# shellcheck shell=bash
# Where the running environment's description (env.json, written by up.sh into its state
# directory) is: every script that reads it sources this, and tests/common/e2e.rs `env_path`
# is the same rule for the Rust tests. RKE_E2E_ENV names the file; else RKE_E2E_ENV_JSON (the
# name env.sh exports); else env.json in $RKE_E2E_STATE; else in up.sh's default state
# directory, ${RKE_E2E_CACHE:-/var/cache/rke-e2e}/run. Empty counts as unset.
E2E_ENV_JSON=${RKE_E2E_ENV:-${RKE_E2E_ENV_JSON:-${RKE_E2E_STATE:-${RKE_E2E_CACHE:-/var/cache/rke-e2e}/run}/env.json}}
