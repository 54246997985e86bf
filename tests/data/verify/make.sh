#!/usr/bin/env bash
# Makes the certificates of tests/verify.rs (and the x509/sig unit tests) with openssl 3.
#
# Run from anywhere; writes into this script's folder. Dates are fixed (openssl ca
# -startdate/-enddate) so the tests can check at a fixed time: CAs 2020..2050, leaves
# 2024..2040, tests check at 2030-01-01. Every run makes new keys; the results are committed.
# Files: NAME.der (certificate), NAME.crt (PEM, a few), NAME.key (PKCS#8 PEM key, test only),
# NAME.pkcs1.der (RSA keys, PKCS#1 DER) and NAME.sec1.der (P-256 keys, SEC1 DER) where the tests
# sign with them; p384-leaf.cv.der is a CertificateVerify signature made by openssl.
# seed-*.crt/der are the seed article's certificates and are not regenerated.
set -euo pipefail
cd "$(dirname "$0")"
OUT=$(pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

cat >"$WORK/ca.cnf" <<'CNF'
[ca]
default_ca = test_ca
[test_ca]
database = ./index.txt
new_certs_dir = ./issued
serial = ./serial
policy = any
copy_extensions = none
unique_subject = no
default_md = sha256
[any]
commonName = optional
organizationName = optional
[req]
distinguished_name = dn
prompt = no
[dn]
CN = placeholder
[root]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[int]
basicConstraints = critical, CA:true, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[int_open]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[int_not_ca]
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, keyCertSign
[int_nc]
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign
nameConstraints = critical, permitted;DNS:allowed.example, excluded;DNS:bad.allowed.example
[int_nc_dot]
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign
nameConstraints = critical, permitted;DNS:.allowed.example
[int_with_san]
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign
subjectAltName = DNS:bad.allowed.example
[leaf]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:broker.example, DNS:*.wild.example, IP:192.0.2.10, IP:2001:db8::1
authorityKeyIdentifier = keyid
[leaf_plain]
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
subjectAltName = DNS:broker.example
[leaf_unit]
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = DNS:a.example, IP:10.0.0.1
[leaf_allowed]
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = DNS:a.allowed.example
[leaf_bad_nc]
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = DNS:bad.allowed.example
[leaf_cn_only]
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
[leaf_critical]
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = DNS:broker.example
1.3.6.1.4.1.55555.1 = critical, ASN1:NULL
[leaf_is_ca]
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
basicConstraints = critical, CA:true
keyUsage = critical, digitalSignature, keyCertSign
subjectAltName = DNS:broker.example
[leaf_no_eku]
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
subjectAltName = DNS:broker.example
[leaf_client_eku]
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
extendedKeyUsage = clientAuth
subjectAltName = DNS:broker.example
[leaf_no_sign_ku]
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
keyUsage = critical, keyEncipherment
subjectAltName = DNS:broker.example
CNF
mkdir "$WORK/issued"
: >"$WORK/index.txt"
echo 2000 >"$WORK/serial"

CA_START=20200101000000Z
CA_END=20500101000000Z
START=20240101000000Z
END=20400101000000Z

key() { # NAME rsa2048|rsa4096|p256|p384
    case $2 in
    rsa*) openssl genpkey -algorithm RSA -pkeyopt "rsa_keygen_bits:${2#rsa}" -out "$1.key" 2>/dev/null ;;
    p256) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" ;;
    p384) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$1.key" ;;
    esac
}

sign() { # NAME ISSUER|self SUBJECT SECTION|none START END [openssl ca options...]
    local name=$1 issuer=$2 subj=$3 section=$4 start=$5 end=$6
    shift 6
    local signer=(-cert "$OUT/$issuer.crt" -keyfile "$OUT/$issuer.key")
    [ "$issuer" = self ] && signer=(-selfsign -keyfile "$OUT/$name.key")
    local ext=(-extfile ca.cnf -extensions "$section")
    [ "$section" = none ] && ext=()
    openssl req -new -config "$WORK/ca.cnf" -key "$OUT/$name.key" -subj "$subj" -out "$WORK/$name.csr"
    (cd "$WORK" && openssl ca -config ca.cnf -batch -notext -preserveDN "${signer[@]}" \
        -in "$name.csr" -out "$OUT/$name.crt" -startdate "$start" -enddate "$end" \
        "${ext[@]}" "$@" 2>"$WORK/$name.log") || { cat "$WORK/$name.log" >&2 && exit 1; }
    openssl x509 -in "$OUT/$name.crt" -outform DER -out "$OUT/$name.der"
}

O="/O=embedded-mqtts test"

# RSA: root (4096) -> intermediate (pathlen 0) -> leaves.
key rsa-root rsa4096 && sign rsa-root self "$O/CN=Verify RSA root" root $CA_START $CA_END
key rsa-int rsa2048 && sign rsa-int rsa-root "$O/CN=Verify RSA intermediate" int $CA_START $CA_END
key rsa-leaf rsa2048 && sign rsa-leaf rsa-int "$O/CN=broker.example" leaf $START $END
key rsa-pss-leaf rsa2048 && sign rsa-pss-leaf rsa-int "$O/CN=pss leaf" leaf $START $END \
    -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest
key rsa-sha1-leaf rsa2048 && sign rsa-sha1-leaf rsa-int "$O/CN=sha1 leaf" leaf $START $END -md sha1
# A CA below the pathlen:0 intermediate, and a leaf under it.
key rsa-sub-int rsa2048 && sign rsa-sub-int rsa-int "$O/CN=Verify RSA sub-intermediate" int_open $CA_START $CA_END
key rsa-sub-leaf p256 && sign rsa-sub-leaf rsa-sub-int "$O/CN=sub leaf" leaf $START $END
openssl pkey -in rsa-leaf.key -outform DER -traditional -out rsa-leaf.pkcs1.der

# P-256: root -> leaves.
key p256-root p256 && sign p256-root self "$O/CN=Verify P-256 root" root $CA_START $CA_END
key p256-leaf p256 && sign p256-leaf p256-root "$O/CN=broker.example" leaf $START $END
key p256-sha384-leaf p256 && sign p256-sha384-leaf p256-root "$O/CN=sha384 leaf" leaf $START $END -md sha384
key expired p256 && sign expired p256-root "$O/CN=expired leaf" leaf 20200101000000Z 20210101000000Z
key not-yet-valid p256 && sign not-yet-valid p256-root "$O/CN=future leaf" leaf 20400101000000Z 20450101000000Z
key critical-ext p256 && sign critical-ext p256-root "$O/CN=critical leaf" leaf_critical $START $END
key cn-only p256 && sign cn-only p256-root "$O/CN=broker.example" leaf_cn_only $START $END
key cn-v1 p256 && sign cn-v1 p256-root "$O/CN=broker.example" none $START $END
key leaf-is-ca p256 && sign leaf-is-ca p256-root "$O/CN=ca leaf" leaf_is_ca $START $END
key no-eku p256 && sign no-eku p256-root "$O/CN=broker.example" leaf_no_eku $START $END
key client-eku p256 && sign client-eku p256-root "$O/CN=client leaf" leaf_client_eku $START $END
key no-sign-ku p256 && sign no-sign-ku p256-root "$O/CN=nosign leaf" leaf_no_sign_ku $START $END
key int-not-ca p256 && sign int-not-ca p256-root "$O/CN=Verify not a CA" int_not_ca $CA_START $CA_END
key under-not-ca p256 && sign under-not-ca int-not-ca "$O/CN=broker.example" leaf_plain $START $END
key nc-int p256 && sign nc-int p256-root "$O/CN=Verify constrained CA" int_nc $CA_START $CA_END
key nc-allowed p256 && sign nc-allowed nc-int "$O/CN=a.allowed.example" leaf_allowed $START $END
key nc-excluded p256 && sign nc-excluded nc-int "$O/CN=bad.allowed.example" leaf_bad_nc $START $END
# A CA below nc-int whose own SAN is in nc-int's excluded subtree, and a permitted leaf below it.
key nc-san-int p256 && sign nc-san-int nc-int "$O/CN=Verify CA with a SAN" int_with_san $CA_START $CA_END
key nc-san-leaf p256 && sign nc-san-leaf nc-san-int "$O/CN=a.allowed.example" leaf_allowed $START $END
# A CA constraining with a leading period (the URI/email form), and a leaf below it.
key nc-dot-int p256 && sign nc-dot-int p256-root "$O/CN=Verify dot-constrained CA" int_nc_dot $CA_START $CA_END
key nc-dot-leaf p256 && sign nc-dot-leaf nc-dot-int "$O/CN=a.allowed.example" leaf_allowed $START $END
openssl ec -in p256-leaf.key -outform DER -out p256-leaf.sec1.der 2>/dev/null

# P-384 (feature `p384`): root (ecdsa-with-SHA384) -> leaf with a P-384 key.
key p384-root p384 && sign p384-root self "$O/CN=Verify P-384 root" root $CA_START $CA_END -md sha384
key p384-leaf p384 && sign p384-leaf p384-root "$O/CN=broker.example" leaf $START $END -md sha384
# Its CertificateVerify over the SHA-384 of "ClientHello..Certificate" (DER ECDSA signature).
printf 'ClientHello..Certificate' | openssl dgst -sha384 -binary >"$WORK/transcript.bin"
{ head -c 64 /dev/zero | tr '\0' ' '; printf 'TLS 1.3, server CertificateVerify\0'; cat "$WORK/transcript.bin"; } >"$WORK/cv.bin"
openssl dgst -sha384 -sign p384-leaf.key -out p384-leaf.cv.der "$WORK/cv.bin"

# X.509 v1 root -> v1 leaf (no extensions, as `openssl x509 -req` without -extfile made them,
# and as the seed article's Mosquitto set-up is).
key v1-root p256 && sign v1-root self "$O/CN=Verify v1 root" none $CA_START $CA_END
key v1-leaf p256 && sign v1-leaf v1-root "$O/CN=broker.example" none $START $END

# Another CA, and a self-signed leaf, neither pinned by the tests.
key other-root p256 && sign other-root self "$O/CN=Verify other root" root $CA_START $CA_END
key other-leaf p256 && sign other-leaf other-root "$O/CN=broker.example" leaf $START $END
openssl ec -in other-leaf.key -outform DER -out other-leaf.sec1.der 2>/dev/null
key self-signed p256 && sign self-signed self "$O/CN=broker.example" leaf_plain $START $END

# 70 commonNames and the same 70 dNSName SANs (self-signed): comparing each commonName with
# each SAN (4,900 comparisons) exceeds the verifier's name budget of 4,096.
names=$(seq -f 'n%g.example' 1 70)
cat >"$WORK/many.cnf" <<CNF
[req]
distinguished_name = dn
[dn]
[many]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = $(printf 'DNS:%s,' $names | sed 's/,$//')
CNF
key many-names p256
openssl req -x509 -new -config "$WORK/many.cnf" -extensions many -key many-names.key -days 3650 \
    -subj "$O$(printf '/CN=%s' $names)" -outform DER -out many-names.der

# For the unit tests in src/tls: a small self-signed v3 certificate and its SPKI.
key unit-p256 p256 && sign unit-p256 self "/CN=unit$O" leaf_unit $START $END
openssl x509 -in unit-p256.crt -pubkey -noout | openssl pkey -pubin -outform DER -out unit-p256.spki.der

# The tests read DER only: PEM certificates and PEM keys are not kept (seed-*.crt are not
# made here and stay).
for f in *.crt *.key; do
    case $f in seed-*) ;; *) rm -f "$f" ;; esac
done
echo "made $(ls ./*.der | wc -l) DER files in $OUT"
