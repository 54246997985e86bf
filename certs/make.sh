#!/usr/bin/env bash
# Makes the test PKI of embedded-mqtts with openssl (3.0 or newer) and writes it into certs/.
#
#   bash certs/make.sh          every key and certificate (server set and client set)
#   bash certs/make.sh client   only the client-authentication set (client-*), leaving the
#                               server certificates, which many tests use, as they are
#
# Every run regenerates the keys and certificates of its set under the same file names; the
# results are committed so that the Rust tests need no openssl. For each certificate NAME it
# writes:
#   NAME.key        PKCS#8 PEM private key (test-only; world-readable so Mosquitto can read it)
#   NAME.crt        PEM certificate
#   NAME.der        the same certificate in DER
#   NAME-chain.crt  leaf + intermediate (PEM), only for leaves signed by an intermediate
#   NAME.sec1.key   the same key as SEC1 "EC PRIVATE KEY" PEM (client-good only)
# Dates are fixed (openssl ca -startdate/-enddate), so the set is valid until 2045 regardless of
# when it was made. certs/seed/ is not touched: it holds the seed article's certificates.
# At the end the script checks each certificate with `openssl verify` and fails if one of the
# good ones does not verify or one of the bad ones does.
set -euo pipefail

MODE=${1:-all}
case "$MODE" in
all | client) ;;
*) echo "usage: bash certs/make.sh [client]" >&2 && exit 2 ;;
esac

cd "$(dirname "$0")"
OUT=$(pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# Validity windows (UTC).
CA_START=20240101000000Z
CA_END=20491231235959Z
LEAF_START=20250101000000Z
LEAF_END=20450101000000Z

cat >"$WORK/ca.cnf" <<'EOF'
[ca]
default_ca = test_ca

[test_ca]
database = ./index.txt
new_certs_dir = ./issued
serial = ./serial
policy = policy_any
copy_extensions = none
unique_subject = no
default_md = sha256

[policy_any]
organizationName = optional
commonName = supplied

[req]
distinguished_name = req_dn
prompt = no

[req_dn]
CN = placeholder

[root]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[intermediate]
basicConstraints = critical, CA:true, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

# An "intermediate" that is not a CA: everything else would let it sign.
[intermediate_not_ca]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF

# leaf_section NAME KEY_USAGE [SAN]: the extensions of a server certificate (no SAN if empty).
leaf_section() {
    printf '\n[%s]\n' "$1"
    echo "basicConstraints = critical, CA:false"
    echo "keyUsage = critical, $2"
    echo "extendedKeyUsage = serverAuth"
    if [ -n "${3:-}" ]; then
        echo "subjectAltName = $3"
    fi
    echo "subjectKeyIdentifier = hash"
    echo "authorityKeyIdentifier = keyid"
}
RSA_USAGE="digitalSignature, keyEncipherment"
GOOD_NAMES="DNS:localhost, IP:127.0.0.1"
{
    leaf_section leaf_rsa "$RSA_USAGE" "$GOOD_NAMES"
    leaf_section leaf_ec digitalSignature "$GOOD_NAMES"
    leaf_section leaf_wrong_host "$RSA_USAGE" "DNS:wrong.example.com"
    # No subjectAltName at all: only the subject CN names the host (for the CN opt-in).
    leaf_section leaf_cn_only "$RSA_USAGE"
    # A device's certificate: TLS client authentication only, no names to check.
    printf '\n[leaf_client]\n'
    echo "basicConstraints = critical, CA:false"
    echo "keyUsage = critical, digitalSignature"
    echo "extendedKeyUsage = clientAuth"
    echo "subjectKeyIdentifier = hash"
    echo "authorityKeyIdentifier = keyid"
} >>"$WORK/ca.cnf"
mkdir "$WORK/issued"
: >"$WORK/index.txt"
echo 1000 >"$WORK/serial"

# new_key NAME rsa2048|rsa4096|p256
new_key() {
    case "$2" in
    rsa2048) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$OUT/$1.key" 2>/dev/null ;;
    rsa4096) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:4096 -out "$OUT/$1.key" 2>/dev/null ;;
    p256) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$OUT/$1.key" ;;
    *) echo "unknown key type $2" >&2 && exit 1 ;;
    esac
    chmod 644 "$OUT/$1.key"
}

# sign NAME ISSUER|self SUBJECT EXTENSIONS START END [extra openssl ca options...]
# Makes NAME.crt and NAME.der from NAME.key; ISSUER names the signing CA's .crt/.key.
sign() {
    local name=$1 issuer=$2 subject=$3 extensions=$4 start=$5 end=$6
    shift 6
    local signer=(-cert "$OUT/$issuer.crt" -keyfile "$OUT/$issuer.key")
    if [ "$issuer" = self ]; then
        signer=(-selfsign -keyfile "$OUT/$name.key")
    fi
    openssl req -new -config "$WORK/ca.cnf" -key "$OUT/$name.key" -subj "$subject" -out "$WORK/$name.csr"
    (cd "$WORK" && openssl ca -config ca.cnf -batch -notext -preserveDN "${signer[@]}" \
        -in "$name.csr" -out "$OUT/$name.crt" -startdate "$start" -enddate "$end" \
        -extfile ca.cnf -extensions "$extensions" "$@" 2>"$WORK/$name.log") ||
        { cat "$WORK/$name.log" >&2 && exit 1; }
    openssl x509 -in "$OUT/$name.crt" -outform DER -out "$OUT/$name.der"
}

# chain LEAF ISSUER: LEAF-chain.crt = leaf then intermediate, as Mosquitto's certfile wants it.
chain() {
    cat "$OUT/$1.crt" "$OUT/$2.crt" >"$OUT/$1-chain.crt"
}

ORG="/O=embedded-mqtts test"

# The server set: CAs, broker certificates good and bad, and their self-check.
make_server_set() {
    # Certificate authorities.
    new_key rsa-root rsa4096
    sign rsa-root self "$ORG/CN=RSA root" root $CA_START $CA_END
    new_key rsa-int rsa2048
    sign rsa-int rsa-root "$ORG/CN=RSA intermediate" intermediate $CA_START $CA_END
    new_key p256-root p256
    sign p256-root self "$ORG/CN=P-256 root" root $CA_START $CA_END
    new_key other-root rsa2048
    sign other-root self "$ORG/CN=Other root (impostor)" root $CA_START $CA_END
    new_key int-not-ca-int rsa2048
    sign int-not-ca-int rsa-root "$ORG/CN=Intermediate without CA flag" intermediate_not_ca $CA_START $CA_END

    # Good leaves.
    new_key rsa-leaf rsa2048
    sign rsa-leaf rsa-int "$ORG/CN=localhost" leaf_rsa $LEAF_START $LEAF_END
    chain rsa-leaf rsa-int
    new_key p256-leaf p256
    sign p256-leaf p256-root "$ORG/CN=localhost" leaf_ec $LEAF_START $LEAF_END
    new_key rsa-pss-leaf rsa2048
    sign rsa-pss-leaf rsa-int "$ORG/CN=localhost" leaf_rsa $LEAF_START $LEAF_END \
        -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest
    chain rsa-pss-leaf rsa-int

    # Bad leaves: each has exactly one defect.
    new_key expired rsa2048
    sign expired rsa-int "$ORG/CN=localhost" leaf_rsa 20200101000000Z 20210101000000Z
    chain expired rsa-int
    new_key not-yet-valid rsa2048
    sign not-yet-valid rsa-int "$ORG/CN=localhost" leaf_rsa 20400101000000Z $LEAF_END
    chain not-yet-valid rsa-int
    new_key wrong-host rsa2048
    sign wrong-host rsa-int "$ORG/CN=wrong.example.com" leaf_wrong_host $LEAF_START $LEAF_END
    chain wrong-host rsa-int
    new_key other-ca rsa2048
    sign other-ca other-root "$ORG/CN=localhost" leaf_rsa $LEAF_START $LEAF_END
    new_key self-signed rsa2048
    sign self-signed self "$ORG/CN=localhost" leaf_rsa $LEAF_START $LEAF_END
    new_key int-not-ca rsa2048
    sign int-not-ca int-not-ca-int "$ORG/CN=localhost" leaf_rsa $LEAF_START $LEAF_END
    chain int-not-ca int-not-ca-int
    new_key sha1-leaf rsa2048
    sign sha1-leaf rsa-int "$ORG/CN=localhost" leaf_rsa $LEAF_START $LEAF_END -md sha1
    chain sha1-leaf rsa-int
    new_key cn-only rsa2048
    sign cn-only rsa-int "$ORG/CN=localhost" leaf_cn_only $LEAF_START $LEAF_END
    chain cn-only rsa-int

    # Self-check. AT is a moment inside every good window (2030-01-01 UTC).
    AT=1893456000
    # expect_verify ok|fail LEAF ROOT [INTERMEDIATE] [extra openssl verify options...]
    expect_verify() {
        local want=$1 leaf=$2 root=$3 untrusted=()
        shift 3
        if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
            untrusted=(-untrusted "$OUT/$1.crt")
            shift
        fi
        local got=fail
        if openssl verify -attime $AT -purpose sslserver -verify_hostname localhost \
            -CAfile "$OUT/$root.crt" "${untrusted[@]}" "$@" "$OUT/$leaf.crt" >"$WORK/verify.log" 2>&1; then
            got=ok
        fi
        if [ "$got" != "$want" ]; then
            echo "make.sh: $leaf: expected verify $want, got $got:" >&2
            cat "$WORK/verify.log" >&2
            exit 1
        fi
    }
    expect_verify ok rsa-leaf rsa-root rsa-int
    expect_verify ok rsa-leaf rsa-root rsa-int -verify_ip 127.0.0.1
    expect_verify ok p256-leaf p256-root
    expect_verify ok p256-leaf p256-root -verify_ip 127.0.0.1
    expect_verify ok rsa-pss-leaf rsa-root rsa-int
    expect_verify fail expired rsa-root rsa-int
    expect_verify fail not-yet-valid rsa-root rsa-int
    expect_verify fail wrong-host rsa-root rsa-int
    expect_verify fail other-ca rsa-root
    expect_verify ok other-ca other-root
    expect_verify fail self-signed rsa-root
    expect_verify fail int-not-ca rsa-root int-not-ca-int
    # Only the name is missing: without a host name check the cn-only leaf is fine.
    openssl verify -attime $AT -CAfile "$OUT/rsa-root.crt" -untrusted "$OUT/rsa-int.crt" "$OUT/cn-only.crt" >/dev/null
    if ! openssl x509 -in "$OUT/sha1-leaf.crt" -noout -text | grep -q 'Signature Algorithm: sha1WithRSAEncryption'; then
        echo "make.sh: sha1-leaf is not signed with SHA-1" >&2
        exit 1
    fi
    if ! openssl x509 -in "$OUT/rsa-pss-leaf.crt" -noout -text | grep -q 'Signature Algorithm: rsassaPss'; then
        echo "make.sh: rsa-pss-leaf is not signed with RSA-PSS" >&2
        exit 1
    fi
}

# The client set (mutual TLS): a client CA and device certificates with P-256 keys, good,
# expired and from another CA (the existing `other-root`, which the brokers do not trust).
make_client_set() {
    new_key client-ca p256
    sign client-ca self "$ORG/CN=Client CA" root $CA_START $CA_END
    new_key client-good p256
    sign client-good client-ca "$ORG/CN=device-42" leaf_client $LEAF_START $LEAF_END
    openssl ec -in "$OUT/client-good.key" -out "$OUT/client-good.sec1.key" 2>/dev/null
    chmod 644 "$OUT/client-good.sec1.key"
    new_key client-expired p256
    sign client-expired client-ca "$ORG/CN=device-expired" leaf_client 20200101000000Z 20210101000000Z
    new_key client-other-ca p256
    sign client-other-ca other-root "$ORG/CN=device-42" leaf_client $LEAF_START $LEAF_END

    # Self-check, as a broker verifies a client (purpose sslclient), at 2030-01-01 UTC.
    local at=1893456000 leaf want got
    for leaf in client-good:ok client-expired:fail client-other-ca:fail; do
        want=${leaf#*:} leaf=${leaf%:*} got=fail
        if openssl verify -attime $at -purpose sslclient -CAfile "$OUT/client-ca.crt" \
            "$OUT/$leaf.crt" >"$WORK/verify.log" 2>&1; then
            got=ok
        fi
        if [ "$got" != "$want" ]; then
            echo "make.sh: $leaf: expected verify $want, got $got:" >&2
            cat "$WORK/verify.log" >&2
            exit 1
        fi
    done
    if ! grep -q 'BEGIN EC PRIVATE KEY' "$OUT/client-good.sec1.key"; then
        echo "make.sh: client-good.sec1.key is not a SEC1 key" >&2
        exit 1
    fi
}

if [ "$MODE" = all ]; then
    make_server_set
fi
make_client_set
echo "certs/make.sh: wrote $(find "$OUT" -maxdepth 1 -name '*.crt' | wc -l) PEM files and their keys into $OUT"
