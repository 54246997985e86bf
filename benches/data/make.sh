#!/usr/bin/env bash
# Makes the all-RSA-2048 chain of benches/verify.rs and benches/handshake.rs with openssl 3:
# root (RSA-2048, self-signed) -> intermediate (RSA-2048, pathlen 0) -> leaf (RSA-2048,
# SAN localhost), all sha256WithRSAEncryption, valid 9,000 days from the day it is run (2026-11-28 for the committed files).
# (tests/data/verify and certs/ have RSA chains too, but under an RSA-4096 root.)
# Writes NAME.der and NAME.key (PKCS#8 PEM, bench only) next to this script; the results are
# committed, so the benches need no openssl. Every run makes new keys.
set -euo pipefail
cd "$(dirname "$0")"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/ext.cnf" <<'CNF'
[root]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[int]
basicConstraints = critical, CA:true, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[leaf]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CNF
O="/O=embedded-mqtts bench"
cert() { # NAME SUBJECT SECTION ISSUER|self
    local name=$1 subj=$2 section=$3 issuer=$4
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$name.key" 2>"$work/log" || { cat "$work/log" >&2; exit 1; }
    openssl req -new -key "$name.key" -subj "$subj" -out "$work/$name.csr"
    local signer=(-signkey "$name.key")
    [ "$issuer" = self ] || signer=(-CA "$work/$issuer.crt" -CAkey "$issuer.key" -set_serial "0x$(openssl rand -hex 8)")
    openssl x509 -req -in "$work/$name.csr" "${signer[@]}" -sha256 -days 9000 \
        -extfile "$work/ext.cnf" -extensions "$section" \
        -out "$work/$name.crt" 2>"$work/log" || { cat "$work/log" >&2; exit 1; }
    openssl x509 -in "$work/$name.crt" -outform DER -out "$name.der"
}
cert rsa2048-root "$O/CN=Bench RSA-2048 root" root self
cert rsa2048-int "$O/CN=Bench RSA-2048 intermediate" int rsa2048-root
cert rsa2048-leaf "$O/CN=localhost" leaf rsa2048-int
openssl verify -CAfile "$work/rsa2048-root.crt" -untrusted "$work/rsa2048-int.crt" "$work/rsa2048-leaf.crt"
# The benches sign with the leaf key only (PKCS#8 DER); the CA keys are not kept.
openssl pkcs8 -topk8 -nocrypt -in rsa2048-leaf.key -outform DER -out rsa2048-leaf.key.der
rm -f ./*.key
chmod 644 ./*.der
