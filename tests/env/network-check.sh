#!/usr/bin/env bash
# Checks a cluster's pod network the way a user would see it: one web pod on every node (the
# environment's busybox running httpd, answering with its node's name) and a ClusterIP Service
# over them, then
#   - every pod fetches every other pod by its IP (pod-to-pod across every pair of nodes);
#   - every pod fetches the Service 30 times: every backend must answer, the caller itself
#     included (hairpin), and no request may fail.
# Prints one line per check and exits non-zero on the first failure. The namespace it uses
# (rke-netcheck) is deleted before and after.
#
#   tests/env/network-check.sh --kubeconfig FILE [--env ENV_JSON] [--keep]
#
# --keep leaves the namespace behind (for a look at a failure).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib/env-json.sh
source "$here/lib/env-json.sh"
env_json=$E2E_ENV_JSON
kubeconfig=
keep=0
usage() {
	sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}
while (($#)); do
	case $1 in
	--env) env_json=${2:?}; shift 2 ;;
	--kubeconfig) kubeconfig=${2:?}; shift 2 ;;
	--keep) keep=1; shift ;;
	*) usage ;;
	esac
done
[[ -n $kubeconfig ]] || usage
NS=rke-netcheck
TRIES=30
image=$(jq -r '.images.busybox' "$env_json")
kubectl_bin=$(jq -r '.kubectl' "$env_json")
k() { "$kubectl_bin" --kubeconfig "$kubeconfig" --request-timeout=30s "$@"; }
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
# Pods are force-deleted: a kubelet restarted while they terminate (rke replacing it) can leave
# them Terminating for good when their token Secret is already gone, and the namespace with them.
drop_namespace() {
	k -n "$NS" delete pods --all --grace-period=0 --force >/dev/null 2>&1 || true
	k delete namespace "$NS" --ignore-not-found --wait=false >/dev/null 2>&1 || true
}
cleanup() { ((keep)) || drop_namespace; }

drop_namespace
k wait --for=delete "namespace/$NS" --timeout=120s >/dev/null 2>&1 || true
k get namespace "$NS" >/dev/null 2>&1 && fail "namespace $NS is still there 120s after its deletion: $(k get namespace "$NS" -o jsonpath='{.status.conditions}')"
trap cleanup EXIT
k create namespace "$NS" >/dev/null
# Pods are refused until the controller-manager has made the namespace's default ServiceAccount
# (it may be busy: a control-plane change just before).
for _ in $(seq 60); do
	k -n "$NS" get serviceaccount default >/dev/null 2>&1 && break
	sleep 1
done

mapfile -t nodes < <(k get nodes -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}')
((${#nodes[@]} >= 2)) || fail "want at least 2 nodes, the cluster has ${#nodes[@]}"
{
	for node in "${nodes[@]}"; do
		cat <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: web-$node
  namespace: $NS
  labels: {app: web}
spec:
  nodeName: $node
  terminationGracePeriodSeconds: 1
  tolerations: [{operator: Exists}]
  containers:
    - name: web
      image: $image
      command: [sh, -c, 'mkdir -p /www && echo $node > /www/index.html && exec httpd -f -p 8080 -h /www']
      ports: [{containerPort: 8080}]
      readinessProbe:
        httpGet: {path: /, port: 8080}
        periodSeconds: 1
---
EOF
	done
	cat <<EOF
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: $NS
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
EOF
} | k apply -f - >/dev/null
k -n "$NS" wait --for=condition=Ready pod --all --timeout=180s >/dev/null ||
	fail "web pods not Ready: $(k -n "$NS" get pods -o wide 2>&1)"

declare -A ip
for node in "${nodes[@]}"; do
	ip[$node]=$(k -n "$NS" get pod "web-$node" -o jsonpath='{.status.podIP}')
done
echo "web pods: $(for n in "${nodes[@]}"; do printf '%s=%s ' "$n" "${ip[$n]}"; done)"

# timeout(1), not wget -T: Debian's busybox-static 1.35 wget segfaults with -T.
for from in "${nodes[@]}"; do
	for to in "${nodes[@]}"; do
		[[ $from != "$to" ]] || continue
		got=$(k -n "$NS" exec "web-$from" -- timeout 5 wget -qO- "http://${ip[$to]}:8080/" 2>&1) ||
			fail "pod on $from cannot reach the pod on $to (${ip[$to]}): $got"
		[[ $got == "$to" ]] || fail "pod on $from asked ${ip[$to]} (on $to) and got: $got"
	done
	echo "ok: pod on $from reaches the pods on every other node"
done

svc=$(k -n "$NS" get service web -o jsonpath='{.spec.clusterIP}')
want=$(printf '%s\n' "${nodes[@]}" | sort | tr '\n' ' ')
for from in "${nodes[@]}"; do
	answers=$(k -n "$NS" exec "web-$from" -- sh -c \
		"for i in \$(seq $TRIES); do timeout 3 wget -qO- http://$svc/ || echo FAILED; done" 2>&1) || true
	failed=$(grep -c FAILED <<<"$answers" || true)
	((failed == 0)) || fail "pod on $from: $failed of $TRIES requests to Service $svc failed (answers: $(tr '\n' ' ' <<<"$answers"))"
	seen=$(sort -u <<<"$answers" | tr '\n' ' ')
	[[ $seen == "$want" ]] ||
		fail "pod on $from: Service $svc answered from [$seen], want every backend [$want] (the caller itself too: hairpin)"
	echo "ok: Service $svc from the pod on $from: all $TRIES requests answered, by every backend including itself"
done
echo "network check passed: ${#nodes[@]} nodes"
