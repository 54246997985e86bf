#!/usr/bin/env bash
# The fixed RSA keys of the RSA verifier's differential tests (src/tls/rsassa/tests.rs), made
# once with openssl and committed, so that no key is generated at test time. PKCS#8 DER.
set -euo pipefail
cd "$(dirname "$0")"
# genpkey writes RSA keys' DER as PKCS#1; each key is converted to PKCS#8 after it.
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -outform DER -out rsa-2048.pk8.der
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -outform DER -out rsa-3072.pk8.der
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:4096 -outform DER -out rsa-4096.pk8.der
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -pkeyopt rsa_keygen_pubexp:3 \
    -outform DER -out rsa-2048-e3.pk8.der
for key in rsa-2048 rsa-3072 rsa-4096 rsa-2048-e3; do
    openssl pkcs8 -topk8 -nocrypt -inform DER -outform DER -in $key.pk8.der -out $key.tmp
    mv $key.tmp $key.pk8.der
done
