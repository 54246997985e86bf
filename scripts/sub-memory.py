#!/usr/bin/env python3
"""Peak memory of `mqtt sub` receiving one retained message of each size (default 1 B, 1 MiB,
64 MiB), against a Mosquitto started here on a free port: the streamed reception's claim that
a large message costs no more memory than a small one.

    cargo build --features std --example mqtt && python3 scripts/sub-memory.py [SIZE ...]

Prints one line per size: bytes printed, exit status, the subscriber's peak RSS (KiB).
"""

import os
import shutil
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MQTT = Path(__file__).resolve().parents[1] / "target" / "debug" / "examples" / "mqtt"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def peak_rss_of(command):
    """Runs `command` in a fresh Python whose only child it is, so RUSAGE_CHILDREN is its own."""
    code = (
        "import subprocess, resource, sys\n"
        f"p = subprocess.run({command!r}, stdout=subprocess.PIPE)\n"
        "print(len(p.stdout), p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, check=True)
    return out.stdout.split()


def main():
    sizes = [int(a) for a in sys.argv[1:]] or [1, 1 << 20, 64 << 20]
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        conf = Path(tmp) / "mosquitto.conf"
        conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n")
        mosquitto = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        broker = subprocess.Popen([mosquitto, "-c", str(conf)], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        try:
            time.sleep(0.5)
            for size in sizes:
                payload = Path(tmp) / "payload"
                payload.write_bytes(os.urandom(size))
                subprocess.run(["mosquitto_pub", "-p", str(port), "-t", "m", "-r", "-q", "1",
                                "-f", str(payload)], check=True)
                printed, status, rss = peak_rss_of([str(MQTT), "sub", "-p", str(port), "-t", "m",
                                                    "-C", "1"])
                print(f"message {size} B: printed {printed} B, exit {status}, peak RSS {rss} KiB")
        finally:
            broker.terminate()
            broker.wait()


if __name__ == "__main__":
    main()
