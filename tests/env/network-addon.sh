#!/usr/bin/env bash
# Prints the test environment's network plugin as Kubernetes objects (YAML, for cluster.yml's
# `addons:` or `kubectl apply -f -`): the DaemonSet kube-system/rke-e2e-network running
# files/rke-e2e-network.sh on every node from the environment's Kubernetes image, with the
# ServiceAccount and RBAC it needs to read Nodes.
#
#   tests/env/network-addon.sh [--env ENV_JSON] [--cluster-cidr CIDR] [--indent N]
#
# --cluster-cidr: the cluster's pod range (services.kube-controller.cluster_cidr, default
# 10.42.0.0/16). --indent N prefixes every line with N spaces (for a YAML block scalar).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib/env-json.sh
source "$here/lib/env-json.sh"
env_json=$E2E_ENV_JSON
cluster_cidr=10.42.0.0/16
indent=0
usage() {
	sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}
while (($#)); do
	(($# >= 2)) || usage
	case $1 in
	--env) env_json=$2 ;;
	--cluster-cidr) cluster_cidr=$2 ;;
	--indent) indent=$2 ;;
	*) usage ;;
	esac
	shift 2
done
image=$(jq -r '.images.kubernetes // empty' "$env_json")
[[ -n $image ]] || {
	echo "$env_json has no Kubernetes image (a --light environment)" >&2
	exit 1
}
script=$(sed 's/^/    /' "$here/files/rke-e2e-network.sh")
script_sum=$(sha256sum "$here/files/rke-e2e-network.sh" | cut -c1-16)
pad=$(printf '%*s' "$indent" '')

sed "s/^/$pad/" <<EOF
apiVersion: v1
kind: ServiceAccount
metadata:
  name: rke-e2e-network
  namespace: kube-system
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: rke-e2e-network
rules:
  - apiGroups: [""]
    resources: [nodes]
    verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: rke-e2e-network
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: rke-e2e-network
subjects:
  - kind: ServiceAccount
    name: rke-e2e-network
    namespace: kube-system
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: rke-e2e-network
  namespace: kube-system
data:
  network.sh: |
$script
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: rke-e2e-network
  namespace: kube-system
  labels:
    k8s-app: rke-e2e-network
spec:
  selector:
    matchLabels:
      k8s-app: rke-e2e-network
  updateStrategy:
    type: RollingUpdate
    rollingUpdate:
      maxUnavailable: "100%"
  template:
    metadata:
      labels:
        k8s-app: rke-e2e-network
      annotations:
        # A changed script restarts the pods (they read it once, at start).
        rke-e2e/script-sha256: "$script_sum"
    spec:
      serviceAccountName: rke-e2e-network
      hostNetwork: true
      priorityClassName: system-node-critical
      terminationGracePeriodSeconds: 1
      tolerations:
        - operator: Exists
      containers:
        - name: network
          image: $image
          command: [bash, /etc/rke-e2e-network/network.sh]
          env:
            - name: NODE_NAME
              valueFrom:
                fieldRef:
                  fieldPath: spec.nodeName
            - name: CLUSTER_CIDR
              value: "$cluster_cidr"
          securityContext:
            privileged: true
          volumeMounts:
            - { name: script, mountPath: /etc/rke-e2e-network }
            - { name: cni-conf, mountPath: /host/etc/cni/net.d }
            - { name: cni-bin, mountPath: /host/opt/cni/bin }
            - { name: cni-plugins, mountPath: /host/usr/lib/cni, readOnly: true }
            - { name: xtables-lock, mountPath: /run/xtables.lock }
      volumes:
        - { name: script, configMap: { name: rke-e2e-network } }
        - { name: cni-conf, hostPath: { path: /etc/cni/net.d, type: DirectoryOrCreate } }
        - { name: cni-bin, hostPath: { path: /opt/cni/bin, type: DirectoryOrCreate } }
        # No type check: the kubelet runs in a container without the node's /usr/lib/cni.
        - { name: cni-plugins, hostPath: { path: /usr/lib/cni } }
        - { name: xtables-lock, hostPath: { path: /run/xtables.lock, type: FileOrCreate } }
EOF
