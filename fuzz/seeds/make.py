#!/usr/bin/env python3
"""Writes the seed inputs of the session, verifier and pin_parse fuzz targets.

    python3 fuzz/seeds/make.py

Deterministic; overwrites the seeds it writes and keeps every other file. Reads the test PKI
(certs/, tests/data/verify/) and a few cases of the x509-limbo subset
(tests/data/x509-limbo-subset.json), so run it again after certs/make.sh made new keys.
The input formats are described at the top of each target in fuzz/fuzz_targets/.
"""

import base64
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "fuzz" / "seeds"
CERTS = ROOT / "certs"
VERIFY = ROOT / "tests" / "data" / "verify"
LIMBO = ROOT / "tests" / "data" / "x509-limbo-subset.json"


def fresh(target):
    """The seed folder of `target`. Files this script does not write are kept: seeds added by
    hand and inputs kept from fuzzing findings (such as
    `session/streamed_publish_larger_than_the_client_buffer`) are part of the corpus too, and
    an older version of this function deleted them."""
    folder = SEEDS / target
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def pem_blocks(text):
    return [
        base64.b64decode("".join(m.group(1).split()))
        for m in re.finditer(
            r"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", text, re.S
        )
    ]


# ---------------------------------------------------------------------------------------------
# session (client mode): [mode: 1 = no CONNACK added, 3 = accepted CONNACK first]
#                        [k] [k read sizes] [broker byte stream]


def publish(qos, pid, topic, payload, dup=False, retain=False):
    body = len(topic).to_bytes(2, "big") + topic
    if qos:
        body += pid.to_bytes(2, "big")
    body += payload
    first = 0x30 | (0x08 if dup else 0) | (qos << 1) | (1 if retain else 0)
    return bytes([first]) + remaining_length(len(body)) + body


def remaining_length(n):
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def ack(first, pid):
    return bytes([first, 2]) + pid.to_bytes(2, "big")


def session_seeds():
    folder = fresh("session")
    pingresp = b"\xd0\x00"
    streams = {
        # The spec's PUBLISH example (§3.3.2.3): topic "a/b", packet identifier 10.
        "publish_qos1_spec_example": publish(1, 10, b"a/b", b"hello"),
        "publish_qos0_retain": publish(0, 0, b"sensors/42/temp", b"21.5", retain=True),
        # A QoS 2 message, its duplicate before PUBREL, the release, then the id again.
        "inbound_qos2_flow": publish(2, 7, b"a/b", b"once")
        + publish(2, 7, b"a/b", b"once", dup=True)
        + ack(0x62, 7)
        + publish(2, 7, b"a/b", b"new"),
        "acks_for_unknown_ids": ack(0x40, 1) + ack(0x50, 2) + ack(0x70, 3),
        "suback_unsuback_pingresp": b"\x90\x03\x00\x01\x00" + b"\xb0\x02\x00\x02" + pingresp,
        # Larger than the client's 48-byte buffer: one error, then the stream goes on.
        "oversize_then_pingresp": publish(1, 5, b"big", bytes(range(100))) + pingresp,
        "two_byte_length": publish(0, 0, b"t", b"x" * 200),
        "forbidden_pingreq": b"\xc0\x00",
        "bad_remaining_length": b"\x30\xff\xff\xff\xff\x01",
        "connack_twice": b"\x20\x02\x00\x00",
    }
    for name, stream in streams.items():
        (folder / name).write_bytes(b"\x03\x00" + stream)
    (folder / "oversize_in_small_reads").write_bytes(
        b"\x03\x03\x01\x02\x05" + streams["oversize_then_pingresp"]
    )
    (folder / "connack_refused").write_bytes(b"\x01\x00\x20\x02\x00\x05")
    (folder / "connack_resumed_then_publish").write_bytes(
        b"\x01\x01\x07\x20\x02\x01\x00" + streams["publish_qos1_spec_example"]
    )
    (folder / "publish_before_connack").write_bytes(b"\x01\x00" + streams["publish_qos0_retain"])


# ---------------------------------------------------------------------------------------------
# verifier: [options] [name] [leaf DER] [intermediate DER]...
# options: bits 0-2 pin (0 rsa-root, 1 p256-root, 2 both, 3 SPKI of p256-leaf, 4 certificate
# self-signed, 5 the last element is the pinned CA, 6 SPKI + rsa-root); bits 3-4 time (0 2030,
# 1 unknown, 2 2020, 3 2045); 0x20 skip host check; 0x40 allow CN; 0x80 legacy profile.
# name: low nibble, index into localhost, 127.0.0.1, example.com, test.localhost, ...; high
# nibble: 0 the default max_chain_depth, n > 0 a limit of n - 1 intermediates.

LOCALHOST, IP, EXAMPLE_COM, TEST_LOCALHOST, BROKER_EXAMPLE = range(5)


# ---------------------------------------------------------------------------------------------
# streamed: [k] [k piece sizes] [broker byte stream after CONNACK]; the small connection's
# receive buffer is 24 bytes, so payloads past ~15 bytes are streamed.


def streamed_seeds():
    folder = fresh("streamed")
    big = bytes(range(256)) * 4
    cases = {
        "qos1_streamed_then_ping": publish(1, 9, b"big", big) + bytes([0xD0, 0x00]),
        "qos2_twice_duplicate": publish(2, 5, b"a/b", big[:100]) * 2,
        "qos0_small_and_large": publish(0, 0, b"t", b"x") + publish(0, 0, b"t", big[:300]),
        "head_too_large": publish(0, 0, b"t" * 40, b"p") + bytes([0xD0, 0x00]),
        "stray_acks": ack(0x40, 4242) + ack(0x50, 7) + ack(0x70, 8),
    }
    for pieces in [b"\x01", b"\x07\x03", b"\xff"]:
        for name, stream in cases.items():
            (folder / f"{name}_{pieces.hex()}").write_bytes(bytes([len(pieces)]) + pieces + stream)


def der(path):
    return path.read_bytes()


def verifier_seeds():
    folder = fresh("verifier")
    c = lambda name: der(CERTS / f"{name}.der")
    v = lambda name: der(VERIFY / f"{name}.der")
    seeds = {
        "rsa_leaf_chain": (0, LOCALHOST, [c("rsa-leaf"), c("rsa-int")]),
        "rsa_pss_leaf_by_ip": (0, IP, [c("rsa-pss-leaf"), c("rsa-int")]),
        "p256_leaf": (1, LOCALHOST, [c("p256-leaf")]),
        "p256_leaf_spki_pin": (3, LOCALHOST, [c("p256-leaf")]),
        "self_signed_certificate_pin": (4, LOCALHOST, [c("self-signed")]),
        "expired": (0, LOCALHOST, [c("expired"), c("rsa-int")]),
        "wrong_host": (0, LOCALHOST, [c("wrong-host"), c("rsa-int")]),
        "int_not_ca": (0, LOCALHOST, [c("int-not-ca"), c("int-not-ca-int")]),
        "sha1_leaf": (0, LOCALHOST, [c("sha1-leaf"), c("rsa-int")]),
        "cn_only_with_cn_allowed": (0x40, LOCALHOST, [c("cn-only"), c("rsa-int")]),
        "impostor": (2, LOCALHOST, [c("other-ca"), c("other-root")]),
        "seed_article_v1_pin": (
            5 | 0x08 | 0x20,
            LOCALHOST,
            [der(CERTS / "seed" / "m2mqtt_srv.der"), der(CERTS / "seed" / "m2mqtt_ca.der")],
        ),
        # tests/data/verify has its own roots: pinned as the last element. The name-constraint
        # leaves are for *.allowed.example: host check off, the constraints still apply.
        "name_constraints_allowed": (5 | 0x20, BROKER_EXAMPLE, [v("nc-allowed"), v("nc-int"), v("p256-root")]),
        "name_constraints_excluded": (5 | 0x20, BROKER_EXAMPLE, [v("nc-excluded"), v("nc-int"), v("p256-root")]),
        "sub_intermediate_chain": (
            5,
            BROKER_EXAMPLE,
            [v("rsa-sub-leaf"), v("rsa-sub-int"), v("rsa-int"), v("rsa-root")],
        ),
        "critical_extension": (5, BROKER_EXAMPLE, [v("critical-ext"), v("rsa-int"), v("rsa-root")]),
        # An intermediate whose own SAN a CA above it excludes; a P-384 chain (supported with
        # the `p384` feature only).
        "name_constraints_on_an_intermediate": (
            5 | 0x20,
            BROKER_EXAMPLE,
            [v("nc-san-leaf"), v("nc-san-int"), v("nc-int"), v("p256-root")],
        ),
        "p384_chain": (5, BROKER_EXAMPLE, [v("p384-leaf"), v("p384-root")]),
        # The two-intermediate chain with max_chain_depth 1 (refused) and 2 (accepted).
        "sub_intermediate_chain_depth_1": (
            5,
            BROKER_EXAMPLE | 0x20,
            [v("rsa-sub-leaf"), v("rsa-sub-int"), v("rsa-int"), v("rsa-root")],
        ),
        "sub_intermediate_chain_depth_2": (
            5,
            BROKER_EXAMPLE | 0x30,
            [v("rsa-sub-leaf"), v("rsa-sub-int"), v("rsa-int"), v("rsa-root")],
        ),
    }
    for name, (options, host, ders) in seeds.items():
        (folder / name).write_bytes(bytes([options, host]) + b"".join(ders))

    # A handful of x509-limbo cases, pinned as the last element, dates not checked.
    names = {"localhost": LOCALHOST, "example.com": EXAMPLE_COM, "test.localhost": TEST_LOCALHOST}
    cases = json.loads(LIMBO.read_text())["testcases"]
    wanted = [
        "pathlen::ee-with-intermediate-pathlen-0",
        "pathlen::intermediate-pathlen-may-increase",
        "rfc5280::nc::permitted-dns-match",
        "rfc5280::ee-critical-aia-invalid",
        "rfc5280::san::wildcard-embedded-leftmost-san",
        "webpki::san::wildcard-embedded-leftmost-san",
        "rfc5280::ca-as-leaf",
        "rfc5280::aki::intermediate-missing-aki",
    ]
    picked = [t for t in cases if t["id"] in wanted]
    picked += [t for t in cases if t["expected_result"] == "SUCCESS" and t not in picked][:4]
    for t in picked:
        name = (t.get("expected_peer_name") or {}).get("value")
        if name not in names:
            continue
        chain = pem_blocks(t["peer_certificate"])
        for pem in t["untrusted_intermediates"]:
            chain += pem_blocks(pem)
        chain += pem_blocks(t["trusted_certs"][0])
        file = "limbo_" + re.sub(r"[^a-z0-9]+", "_", t["id"].lower()).strip("_")
        (folder / file).write_bytes(bytes([5 | 0x08, names[name]]) + b"".join(chain[:16]))


# ---------------------------------------------------------------------------------------------
# pin_parse: PEM text, DER, and hex SPKI pins.


def pin_parse_seeds():
    folder = fresh("pin_parse")
    for name in ["p256-root.crt", "rsa-leaf-chain.crt", "self-signed.crt", "seed/m2mqtt_ca.crt"]:
        (folder / ("pem_" + name.replace("/", "_").replace(".crt", ""))).write_bytes(
            (CERTS / name).read_bytes()
        )
    crlf = (CERTS / "p256-leaf.crt").read_bytes().replace(b"\n", b"\r\n")
    (folder / "pem_crlf_with_text_around").write_bytes(b"subject=...\r\n" + crlf + b"trailer\r\n")
    for name in ["p256-leaf.der", "seed/m2mqtt_srv.der"]:
        (folder / ("der_" + name.replace("/", "_").replace(".der", ""))).write_bytes(
            (CERTS / name).read_bytes()
        )
    # The seed article's SPKI SHA-256 (docs/design.md), plain and openssl-style.
    spki = "0feaf5885511f172299cbcf3386da670cfdea667b583553e54207894be50ec38"
    (folder / "hex_spki").write_bytes(spki.encode())
    colons = ":".join(spki[i : i + 2] for i in range(0, 64, 2)).upper()
    (folder / "hex_spki_colons").write_bytes(colons.encode())
    cases = json.loads(LIMBO.read_text())["testcases"]
    (folder / "pem_limbo_chain").write_bytes(
        (cases[0]["peer_certificate"] + "".join(cases[0]["untrusted_intermediates"][:2])).encode()
    )


if __name__ == "__main__":
    session_seeds()
    streamed_seeds()
    verifier_seeds()
    pin_parse_seeds()
    for target in ["session", "streamed", "verifier", "pin_parse"]:
        files = sorted((SEEDS / target).iterdir())
        print(f"{target}: {len(files)} seeds, {sum(f.stat().st_size for f in files)} bytes")
