#!/usr/bin/env bash
# Local S3-compatible servers for the snapshot storage tests (tests/snapshot_s3.rs).
#
#   tests/env/s3/moto.sh start   install (once) and start the servers; idempotent
#   tests/env/s3/moto.sh stop    stop the servers this script started
#   tests/env/s3/moto.sh start-for-nodes ADDRESS
#                                one more HTTPS server (no signature checks) on ADDRESS, the
#                                test network's gateway, for tools that run on the nodes
#                                (RKE1's snapshot uploads); prints the path of nodes.json
#                                ({endpoint, ca}); idempotent
#
# Three moto servers (pinned version, installed from PyPI into a venv) listen on 127.0.0.1:
#   http   plain HTTP, no signature checks (any credentials work)
#   https  HTTPS with a server certificate signed by a CA generated here with openssl
#   auth   plain HTTP that checks SigV4 signatures against an IAM user created at start
# Their addresses, the CA path and the auth instance's keys and bucket go to
# $RKE_S3_TEST_DIR/servers.json (default /var/cache/rke-e2e/moto), printed on success.
set -euo pipefail

MOTO_VERSION=5.2.5
DIR=${RKE_S3_TEST_DIR:-/var/cache/rke-e2e/moto}
VENV=$DIR/venv
RUN=$DIR/run
JSON=$DIR/servers.json
HERE=$(cd "$(dirname "$0")" && pwd)
INSTANCES=(http https auth)

# For close_inherited_fds; sourcing it only defines functions and settings.
# shellcheck source=../lib/host.sh
source "$HERE/../lib/host.sh"

die() {
	echo "moto.sh: $*" >&2
	exit 1
}

# python3 with a working venv module; installs Debian's python3-venv when it is missing.
ensure_python() {
	if command -v python3 >/dev/null && python3 -m venv --help >/dev/null 2>&1 &&
		python3 -c 'import ensurepip' >/dev/null 2>&1; then
		return
	fi
	command -v apt-get >/dev/null || die "python3 with the venv module is required"
	echo "moto.sh: installing python3-venv" >&2
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv >&2
}

ensure_venv() {
	if [[ -x $VENV/bin/moto_server ]] &&
		[[ $("$VENV/bin/python" -c 'import moto; print(moto.__version__)' 2>/dev/null) == "$MOTO_VERSION" ]]; then
		return
	fi
	ensure_python
	command -v openssl >/dev/null || {
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssl >&2
	}
	echo "moto.sh: installing moto $MOTO_VERSION into $VENV" >&2
	rm -rf "$VENV"
	python3 -m venv "$VENV"
	"$VENV/bin/pip" install -q --disable-pip-version-check "moto[server]==$MOTO_VERSION" >&2
}

# CA + server certificate for 127.0.0.1/localhost, made once.
ensure_certs() {
	[[ -s $DIR/tls/server.pem && -s $DIR/tls/ca.pem ]] && return
	local t=$DIR/tls
	rm -rf "$t" && mkdir -p "$t"
	openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=rke-test-s3-ca" \
		-keyout "$t/ca-key.pem" -out "$t/ca.pem" 2>/dev/null
	openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
		-keyout "$t/server-key.pem" -out "$t/server.csr" 2>/dev/null
	printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$t/ext.cnf"
	openssl x509 -req -in "$t/server.csr" -CA "$t/ca.pem" -CAkey "$t/ca-key.pem" -CAcreateserial \
		-days 3650 -extfile "$t/ext.cnf" -out "$t/server.pem" 2>/dev/null
}

# A server certificate for ADDRESS (an IP), signed by the same CA.
ensure_node_cert() {
	local addr=$1 t=$DIR/tls
	[[ -s $t/nodes-$addr.pem ]] && return
	openssl req -newkey rsa:2048 -nodes -subj "/CN=$addr" \
		-keyout "$t/nodes-$addr-key.pem" -out "$t/nodes-$addr.csr" 2>/dev/null
	printf 'subjectAltName=IP:%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' "$addr" >"$t/nodes-$addr.cnf"
	openssl x509 -req -in "$t/nodes-$addr.csr" -CA "$t/ca.pem" -CAkey "$t/ca-key.pem" -CAcreateserial \
		-days 3650 -extfile "$t/nodes-$addr.cnf" -out "$t/nodes-$addr.pem" 2>/dev/null
}

free_port() {
	"$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

pid_alive() {
	local f=$RUN/$1.pid
	[[ -s $f ]] && kill -0 "$(cat "$f")" 2>/dev/null
}

all_running() {
	[[ -s $JSON ]] || return 1
	local i
	for i in "${INSTANCES[@]}"; do pid_alive "$i" || return 1; done
	"$VENV/bin/python" "$HERE/probe.py" "$JSON" >/dev/null 2>&1
}

# start_one NAME PORT [moto_server args...]: detached, all output to a log, so a test
# runner that started us is not kept waiting on our pipes.
start_one() {
	local name=$1 port=$2
	shift 2
	local env=() host=127.0.0.1
	[[ $name == auth ]] && env=(INITIAL_NO_AUTH_ACTION_COUNT=4)
	[[ $name == nodes ]] && host=$NODES_ADDRESS
	(
		# Not only our lock (fd 9): a caller's `flock FILE cmd` lock would otherwise be held
		# for the server's whole life.
		close_inherited_fds
		exec env "${env[@]}" setsid "$VENV/bin/moto_server" -H "$host" -p "$port" "$@" \
			</dev/null >"$RUN/$name.log" 2>&1
	) &
	echo $! >"$RUN/$name.pid"
}

stop_all() {
	local i pid
	for i in "${INSTANCES[@]}" nodes; do
		[[ -s $RUN/$i.pid ]] || continue
		pid=$(cat "$RUN/$i.pid")
		kill "$pid" 2>/dev/null || true
		rm -f "$RUN/$i.pid"
	done
	rm -f "$JSON" "$DIR/nodes.json"
}

start_for_nodes() {
	NODES_ADDRESS=$1
	[[ $NODES_ADDRESS =~ ^[0-9.]+$ ]] || die "start-for-nodes: want an IPv4 address, got '$NODES_ADDRESS'"
	mkdir -p "$DIR" "$RUN"
	exec 9>"$DIR/lock"
	flock 9
	local json=$DIR/nodes.json
	if pid_alive nodes && [[ -s $json ]] && grep -q "\"$NODES_ADDRESS:" "$json"; then
		echo "$json"
		return
	fi
	[[ -s $RUN/nodes.pid ]] && kill "$(cat "$RUN/nodes.pid")" 2>/dev/null
	ensure_venv
	ensure_certs
	ensure_node_cert "$NODES_ADDRESS"
	local port
	port=$("$VENV/bin/python" -c "import socket; s=socket.socket(); s.bind(('$NODES_ADDRESS',0)); print(s.getsockname()[1])")
	start_one nodes "$port" --ssl-cert "$DIR/tls/nodes-$NODES_ADDRESS.pem" \
		--ssl-key "$DIR/tls/nodes-$NODES_ADDRESS-key.pem"
	local i
	for i in $(seq 100); do
		curl -fsS --cacert "$DIR/tls/ca.pem" "https://$NODES_ADDRESS:$port/" >/dev/null 2>&1 && break
		sleep 0.2
	done
	curl -fsS --cacert "$DIR/tls/ca.pem" "https://$NODES_ADDRESS:$port/" >/dev/null ||
		die "the server for the nodes did not come up; log in $RUN/nodes.log"
	printf '{"endpoint": "%s:%s", "ca": "%s"}\n' "$NODES_ADDRESS" "$port" "$DIR/tls/ca.pem" >"$json"
	echo "$json"
}

start() {
	mkdir -p "$DIR" "$RUN"
	exec 9>"$DIR/lock"
	flock 9
	if all_running; then
		echo "$JSON"
		return
	fi
	stop_all
	ensure_venv
	ensure_certs
	local p_http p_https p_auth
	p_http=$(free_port)
	p_https=$(free_port)
	p_auth=$(free_port)
	start_one http "$p_http"
	start_one https "$p_https" --ssl-cert "$DIR/tls/server.pem" --ssl-key "$DIR/tls/server-key.pem"
	start_one auth "$p_auth"
	# The auth instance accepts exactly four unsigned actions: setup.py spends them on an IAM
	# user, its key, its policy and the bucket; every later request must be signed.
	"$VENV/bin/python" "$HERE/setup.py" \
		--http "http://127.0.0.1:$p_http" \
		--https "https://127.0.0.1:$p_https" --ca "$DIR/tls/ca.pem" \
		--auth "http://127.0.0.1:$p_auth" \
		--version "$MOTO_VERSION" --out "$JSON.tmp" ||
		{
			stop_all
			die "servers did not come up; logs in $RUN"
		}
	mv "$JSON.tmp" "$JSON"
	echo "$JSON"
}

case "${1:-}" in
start) start ;;
start-for-nodes) start_for_nodes "${2:-}" ;;
stop)
	mkdir -p "$DIR" "$RUN"
	exec 9>"$DIR/lock"
	flock 9
	stop_all
	;;
*)
	sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
	exit 2
	;;
esac
