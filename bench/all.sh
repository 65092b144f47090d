#!/usr/bin/env bash
# Every benchmark, in one run on the nodes of tests/env (as root; brings the 5-node environment
# up when it is not, cleans the nodes before and after):
#   bench/side-by-side.sh  rke and RKE1 v1.2.23 on the same 3-5 nodes: fresh `up`, no-op `up`,
#                          dry run, add/remove a worker, snapshot save/restore (with the API
#                          gap), remove an etcd+worker node, `remove`, connect; the floor of each
#   bench/scale.sh         rke on 3 and on 28 nodes (3 control plane + 25 workers): fresh and
#                          no-op `up`, dry run, add/remove 5 workers, and the growth
# Each prints a markdown table with the machine and its load average before the run. Figures
# only: nothing is asserted beyond each command's exit code. bench/connect.sh measures the
# connect phase alone on up to 20 light nodes.
#
#   bench/all.sh
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
bash bench/side-by-side.sh
bash bench/scale.sh
printf '\nbench/all.sh: %ss in all (builds, image preloads, resizing and cleanups included)\n' "$(($(date +%s) - started))"
