#!/usr/bin/env bash
# The demo: a local Mosquitto with TLS on the test certificates (certs/), then examples/demo.rs
# connects with the CA pinned, subscribes, publishes, receives its message, and shows that an
# impostor broker (a certificate from another CA, on a second listener) is refused, and why.
#
# Installs what it needs first (scripts/setup.sh). Extra arguments go to the example.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh >/dev/null
cargo build --quiet --features std --example demo

work=$(mktemp -d)
broker_pid=""
cleanup() {
    [ -n "$broker_pid" ] && kill "$broker_pid" 2>/dev/null && wait "$broker_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
good=$(free_port)
impostor=$(free_port)
while [ "$impostor" = "$good" ]; do impostor=$(free_port); done
certs=$(pwd)/certs

cat >"$work/mosquitto.conf" <<EOF
# Runs as the invoking user (root on CI machines), keys readable as they are.
user $(id -un)
allow_anonymous true
log_dest file $work/mosquitto.log
log_type error
log_type warning
log_type notice

# The real broker: certificate rsa-leaf, issued by rsa-int, issued by rsa-root (pinned).
listener $good 127.0.0.1
certfile $certs/rsa-leaf-chain.crt
keyfile $certs/rsa-leaf.key

# The impostor: a certificate with the right names, from a CA nobody pinned.
listener $impostor 127.0.0.1
certfile $certs/other-ca.crt
keyfile $certs/other-ca.key
EOF

mosquitto=$(command -v mosquitto || echo /usr/sbin/mosquitto)
"$mosquitto" -c "$work/mosquitto.conf" 2>>"$work/mosquitto.log" &
broker_pid=$!
for _ in $(seq 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$good") 2>/dev/null &&
        (exec 3<>"/dev/tcp/127.0.0.1/$impostor") 2>/dev/null; then
        break
    fi
    sleep 0.1
done
echo "Mosquitto is listening with TLS on 127.0.0.1:$good (real) and 127.0.0.1:$impostor (impostor)"
echo

exec_status=0
cargo run --quiet --features std --example demo -- \
    --port "$good" --impostor-port "$impostor" --cafile certs/rsa-root.crt "$@" || exec_status=$?
exit $exec_status
