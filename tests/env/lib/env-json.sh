# shellcheck shell=bash
# Where the running environment's description (env.json, written by up.sh into its state
# directory) is, for the scripts that use the environment: local-cluster, bench and the image
# smoke test source this so that they all agree. RKE_E2E_ENV names the file directly.
E2E_ENV_JSON=${RKE_E2E_ENV:-${RKE_E2E_STATE:-${RKE_E2E_CACHE:-/var/cache/rke-e2e}/run}/env.json}
