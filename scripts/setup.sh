#!/usr/bin/env bash
# Installs what the tests and the demo need on a Debian machine: Mosquitto (the broker the
# tests start), its command-line clients (the independent client the tests check against) and
# openssl (certs/make.sh and the TLS handshake check), qemu-system-arm (the emulated Cortex-M4
# test) and binutils-arm-none-eabi (firmware sizes); python3 (its ssl module on OpenSSL 3 is
# the KeyUpdate server of tests/key_update.rs), libssl-dev and pkg-config (the `openssl` crate
# that the tests of third_party/embedded-tls use). Idempotent: apt runs only when a
# package is missing. Needs root (or sudo) only then. Works without a TTY.
set -euo pipefail

# Everything apt must provide. Add packages here (one list, one install).
PACKAGES=(mosquitto mosquitto-clients openssl qemu-system-arm binutils-arm-none-eabi python3
    libssl-dev pkg-config)

installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

missing=()
for package in "${PACKAGES[@]}"; do
    installed "$package" || missing+=("$package")
done

if [ ${#missing[@]} -gt 0 ]; then
    as_root=()
    if [ "$(id -u)" -ne 0 ]; then
        if ! command -v sudo >/dev/null; then
            echo "setup.sh: missing ${missing[*]}; run as root to install them" >&2
            exit 1
        fi
        as_root=(sudo)
    fi
    echo "setup.sh: installing ${missing[*]}"
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# Debian starts a system-wide Mosquitto on port 1883 when it installs the package. The tests
# start their own brokers on free ports, so the service is only in the way: stop and disable it.
if [ "$(id -u)" -eq 0 ]; then
    if [ -d /run/systemd/system ]; then
        systemctl disable --now mosquitto >/dev/null 2>&1 || true
    else
        service mosquitto stop >/dev/null 2>&1 || true
    fi
fi

# The Rust components scripts/test.sh runs, where rustup manages the toolchain.
if command -v rustup >/dev/null; then
    for component in rustfmt clippy; do
        if ! rustup component list --installed 2>/dev/null | grep -q "^$component"; then
            rustup component add "$component"
        fi
    done
    # The firmware (examples/frdm-k64f, examples/qemu-mps2) is built for the Cortex-M4F.
    if ! rustup target list --installed 2>/dev/null | grep -q '^thumbv7em-none-eabihf$'; then
        rustup target add thumbv7em-none-eabihf
    fi
fi

# The second broker of tests/interop.rs: amqtt, an MQTT 3.1.1 broker written in Python, from
# PyPI, in its own venv under the user's cache (no system Python touched; no root needed).
# Idempotent: skipped when this version is there. About 20 s on a 2-core machine.
# tests/support/second_broker.rs looks for the same path (or $EMBEDDED_MQTTS_AMQTT). A failed
# install is a warning here, not the end of setup: the rest of the suite still runs, and the
# interop tests fail, naming this command.
AMQTT_VERSION=0.12.1
AMQTT_VENV="${XDG_CACHE_HOME:-$HOME/.cache}/embedded-mqtts/amqtt-$AMQTT_VERSION"
if [ ! -x "$AMQTT_VENV/bin/amqtt" ]; then
    echo "setup.sh: installing amqtt $AMQTT_VERSION into $AMQTT_VENV"
    rm -rf "$AMQTT_VENV"
    if ! { python3 -m venv "$AMQTT_VENV" &&
        "$AMQTT_VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
            "amqtt==$AMQTT_VERSION"; }; then
        rm -rf "$AMQTT_VENV"
        echo "setup.sh: WARNING: amqtt $AMQTT_VERSION did not install; tests/interop.rs will fail" >&2
    fi
fi

echo "setup.sh: ${PACKAGES[*]} installed"
