#!/bin/bash
# The test environment's network plugin (host-gw style, like flannel's host-gw backend), run
# by the DaemonSet kube-system/rke-e2e-network on every node (host network, privileged):
#   - waits for its Node's spec.podCIDR (allocated by kube-controller-manager), then writes a
#     bridge CNI network for that subnet (hairpin mode on, so a pod reaches itself through a
#     Service) and installs the reference plugins from the node's /usr/lib/cni;
#   - routes every other node's pod subnet via that node's InternalIP, and deletes the routes
#     of nodes that left (its routes carry protocol number $ROUTE_PROTO to be found again);
#   - lets pod traffic through the FORWARD chain and masquerades what leaves the cluster CIDR.
# It goes over the Node list again on every change a Node watch reports (and every $RESYNC
# seconds, and every $INTERVAL seconds while the API cannot be read), so nodes added or removed
# later get and lose their routes. (It polled every 2 s before: 28 nodes each running kubectl
# and a command per node that often kept a 2-core machine busy.) Environment: NODE_NAME,
# CLUSTER_CIDR.
set -u

INTERVAL=${INTERVAL:-2}
RESYNC=${RESYNC:-60}
ROUTE_PROTO=77
HOST=/host
CONF=$HOST/etc/cni/net.d/10-rke-e2e.conflist

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*"; }

# wait_for_change: until the Node watch (started when not running) reports a change and the
# burst after it is over, or $RESYNC seconds pass, or the CNI files are gone (an RKE-style
# clean-up wipes /etc/cni and /opt/cni: repaired within $INTERVAL seconds, as when it polled);
# $INTERVAL seconds when the watch ends.
wait_for_change() {
	local line deadline=$((SECONDS + RESYNC))
	if [[ -z ${WATCH[0]:-} ]]; then
		coproc WATCH { exec kubectl get nodes --watch-only -o name 2>/dev/null; }
	fi
	while ((SECONDS < deadline)) && cni_in_place; do
		if read -r -t "$INTERVAL" -u "${WATCH[0]}" line; then
			while read -r -t 1 -u "${WATCH[0]}" line; do :; done
			return
		elif (($? <= 128)); then
			# The watch ended (the API server restarted, or closed it): start another next time.
			# (Reaping it has bash close its pipes and unset WATCH.)
			wait "$WATCH_PID" 2>/dev/null
			sleep "$INTERVAL"
			return
		fi
	done
}

# cni_in_place: the CNI network and plugins are there (bash tests only: no command runs).
cni_in_place() {
	local p
	[[ -f $CONF ]] || return 1
	for p in bridge host-local portmap loopback; do
		[[ -x $HOST/opt/cni/bin/$p ]] || return 1
	done
}

conflist() {
	cat <<EOF
{
  "cniVersion": "0.4.0",
  "name": "rke-e2e",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "cni0",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": { "type": "host-local", "ranges": [[{ "subnet": "$1" }]], "routes": [{ "dst": "0.0.0.0/0" }] }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } },
    { "type": "loopback" }
  ]
}
EOF
}

ensure() {
	local table=$1 chain=$2
	shift 2
	iptables -w -t "$table" -C "$chain" "$@" 2>/dev/null || iptables -w -t "$table" -I "$chain" 1 "$@"
}

# Pods on one bridge reach each other's Service addresses only if bridged traffic passes
# iptables (kube-proxy's DNAT).
# (Written to /proc/sys directly: the image has no sysctl.)
for knob in net/bridge/bridge-nf-call-iptables net/ipv4/ip_forward; do
	echo 1 >"/proc/sys/$knob" || log "cannot set $knob"
done

own_cidr=
checked_nodes=
checked_at=0
while true; do
	if ! nodes=$(kubectl get nodes -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.spec.podCIDR}{" "}{.status.addresses[?(@.type=="InternalIP")].address}{"\n"}{end}' 2>&1); then
		log "listing nodes: $nodes"
		sleep "$INTERVAL"
		continue
	fi
	# Most Node changes (status, heartbeats) leave names, subnets and addresses alone: the
	# routes and rules checked less than $RESYNC seconds ago still stand.
	if [[ -n $own_cidr && $nodes == "$checked_nodes" ]] && ((SECONDS - checked_at < RESYNC)) &&
		cni_in_place; then
		wait_for_change
		continue
	fi
	cidr=$(awk -v n="$NODE_NAME" '$1 == n { print $2 }' <<<"$nodes")
	if [[ -n $cidr ]]; then
		mkdir -p "$HOST/opt/cni/bin" "$(dirname "$CONF")"
		for p in bridge host-local portmap loopback; do
			[[ -x $HOST/opt/cni/bin/$p ]] || cp "$HOST/usr/lib/cni/$p" "$HOST/opt/cni/bin/$p"
		done
		# A bridge left by an earlier cluster (another podCIDR) makes every pod's CNI ADD
		# fail ("cni0 already has an IP address different from ..."): drop it.
		net=${cidr%/*}
		gateway="${net%.*}.$((${net##*.} + 1))/${cidr#*/}"
		bridge_addr=$(ip -4 -o addr show dev cni0 2>/dev/null | awk '{ print $4 }')
		if [[ -n $bridge_addr && $bridge_addr != "$gateway" ]]; then
			ip link del cni0 && log "bridge cni0 had $bridge_addr, not $gateway: deleted"
		fi
		want=$(conflist "$cidr")
		if [[ $(cat "$CONF" 2>/dev/null) != "$want" ]]; then
			printf '%s\n' "$want" >"$CONF.tmp" && mv "$CONF.tmp" "$CONF"
			log "CNI network written for $NODE_NAME: $cidr"
		fi
		[[ $cidr == "$own_cidr" ]] || log "pod subnet of $NODE_NAME: $cidr"
		own_cidr=$cidr
	fi
	ensure filter FORWARD -s "$CLUSTER_CIDR" -j ACCEPT
	ensure filter FORWARD -d "$CLUSTER_CIDR" -j ACCEPT
	ensure nat POSTROUTING -s "$CLUSTER_CIDR" ! -d "$CLUSTER_CIDR" -j MASQUERADE

	wanted=" "
	while read -r name subnet address; do
		[[ -n $name && -n $subnet && -n $address && $name != "$NODE_NAME" ]] || continue
		wanted+="$subnet "
		current=$(ip route show "$subnet" proto "$ROUTE_PROTO")
		if [[ $current != "$subnet via $address dev "* ]]; then
			ip route replace "$subnet" via "$address" proto "$ROUTE_PROTO" &&
				log "route $subnet via $address ($name)"
		fi
	done <<<"$nodes"
	while read -r subnet _; do
		[[ -n $subnet && $wanted != *" $subnet "* ]] || continue
		ip route del "$subnet" proto "$ROUTE_PROTO" && log "route $subnet removed: its node left"
	done < <(ip route show proto "$ROUTE_PROTO")
	# Without its own subnet yet, the next pass comes soon: its Node may change unwatched.
	if [[ -n $own_cidr ]]; then
		checked_nodes=$nodes
		checked_at=$SECONDS
		wait_for_change
	else
		sleep "$INTERVAL"
	fi
done
