#!/usr/bin/env python3
"""A TLS 1.3 server (Python's ssl, OpenSSL 3) that sends post-handshake KeyUpdates.

Started by tests/key_update.rs. It listens on 127.0.0.1, prints "PORT <n>" on stdout, serves
one connection and exits: 0 if the client behaved, 1 with the reason on stderr if not.

The conversation, each line a TLS record of application data:

    server: "before"
    round 1 and 2:
        server: KeyUpdate(REQUEST), then "after <round>" under its next keys
        client: "echo <round>"
        server: "round <round>: client KeyUpdates <n>"
    then it waits for the client to close.

REQUEST is update_not_requested or update_requested (--request). The server counts the
client's KeyUpdates with OpenSSL's message callback; when it requested them, the client's
KeyUpdate must arrive before its "echo" (RFC 8446 4.6.3), and OpenSSL then decrypts the echo
with the client's next keys, so a client that sends a KeyUpdate without switching its keys
fails too.

With --inject finished instead, the server sends "before", then a Finished message in a
plaintext handshake record (after the handshake, a message the client must refuse), and
expects the client's unexpected_message alert.

Python's ssl module has no KeyUpdate call: SSL_key_update() is called through ctypes on the
SSL* of the connection, read from the _ssl._SSLSocket object (CPython's PySSLSocket:
PyObject_HEAD, the socket's weak reference, then SSL *ssl). The pointer is checked with
SSL_is_server() and SSL_get_version() before it is used.
"""

import argparse
import ctypes
import ctypes.util
import socket
import ssl
import sys

SSL_KEY_UPDATE = {"update_not_requested": 0, "update_requested": 1}
HANDSHAKE = 22
KEY_UPDATE = 24


def fail(reason):
    print(f"key_update_server: {reason}", file=sys.stderr, flush=True)
    sys.exit(1)


def libssl():
    name = ctypes.util.find_library("ssl") or "libssl.so.3"
    lib = ctypes.CDLL(name)
    lib.SSL_key_update.argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.SSL_key_update.restype = ctypes.c_int
    lib.SSL_is_server.argtypes = [ctypes.c_void_p]
    lib.SSL_is_server.restype = ctypes.c_int
    lib.SSL_get_version.argtypes = [ctypes.c_void_p]
    lib.SSL_get_version.restype = ctypes.c_char_p
    return lib


def ssl_pointer(lib, conn):
    """The SSL* behind an ssl.SSLSocket."""
    sslobj = conn._sslobj
    # PySSLSocket: PyObject_HEAD (refcount, type), PyObject *Socket, SSL *ssl.
    offset = ctypes.sizeof(ctypes.c_ssize_t) + 2 * ctypes.sizeof(ctypes.c_void_p)
    pointer = ctypes.c_void_p.from_address(id(sslobj) + offset).value
    if not pointer or lib.SSL_is_server(pointer) != 1:
        fail("cannot find the SSL* of the connection (CPython layout changed?)")
    if lib.SSL_get_version(pointer) != b"TLSv1.3":
        fail(f"not TLS 1.3: {lib.SSL_get_version(pointer)!r}")
    return pointer


class Lines:
    def __init__(self, conn):
        self.conn = conn
        self.pending = b""

    def readline(self):
        while b"\n" not in self.pending:
            data = self.conn.recv(4096)
            if not data:
                fail(f"connection closed by the client; pending {self.pending!r}")
            self.pending += data
        line, self.pending = self.pending.split(b"\n", 1)
        return line.decode()


def expect_unexpected_message_alert(conn):
    """Sends a Finished in a plaintext record, under the TLS layer, and reads the client's answer."""
    finished = bytes([20, 0, 0, 32]) + bytes(32)
    record = bytes([HANDSHAKE, 3, 3, 0, len(finished)]) + finished
    socket.socket.sendall(conn, record)
    try:
        data = conn.recv(4096)
    except ssl.SSLError as error:
        if "UNEXPECTED_MESSAGE" in str(error).upper():
            print(f"key_update_server: ok: {error}", file=sys.stderr, flush=True)
            return
        fail(f"expected the unexpected_message alert, got {error}")
    fail(f"expected the unexpected_message alert, got {data!r}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cert", required=True, help="PEM chain, leaf first")
    parser.add_argument("--key", required=True)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--request", choices=sorted(SSL_KEY_UPDATE))
    mode.add_argument("--inject", choices=["finished"])
    parser.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args()
    lib = libssl()

    client_key_updates = []  # request_update byte of each KeyUpdate the client sent

    def on_message(conn, direction, version, content_type, msg_type, data):
        if direction == "read" and content_type == HANDSHAKE and data[:1] == bytes([KEY_UPDATE]):
            client_key_updates.append(data[4] if len(data) > 4 else None)

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.load_cert_chain(args.cert, args.key)
    context.num_tickets = 0
    context._msg_callback = on_message

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(args.timeout)
    print(f"PORT {listener.getsockname()[1]}", flush=True)

    raw, _ = listener.accept()
    raw.settimeout(args.timeout)
    conn = context.wrap_socket(raw, server_side=True)
    pointer = ssl_pointer(lib, conn)
    lines = Lines(conn)

    conn.sendall(b"before\n")
    if args.inject:
        expect_unexpected_message_alert(conn)
        return
    requested = SSL_KEY_UPDATE[args.request]
    for round in (1, 2):
        if lib.SSL_key_update(pointer, requested) != 1:
            fail("SSL_key_update failed")
        # OpenSSL sends the KeyUpdate with the next write, ahead of the data.
        conn.sendall(f"after {round}\n".encode())
        line = lines.readline()
        if line != f"echo {round}":
            fail(f"round {round}: expected 'echo {round}', got {line!r}")
        expected = round if requested else 0
        if len(client_key_updates) != expected:
            fail(f"round {round}: {len(client_key_updates)} client KeyUpdates, expected {expected}")
        if any(request != 0 for request in client_key_updates):
            fail(f"client KeyUpdate with request_update {client_key_updates}, expected 0")
        conn.sendall(f"round {round}: client KeyUpdates {len(client_key_updates)}\n".encode())

    # Wait for the client to close (close_notify, or the end of the TCP stream).
    try:
        while conn.recv(4096):
            pass
    except (ssl.SSLError, OSError):
        pass
    print("key_update_server: ok", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
