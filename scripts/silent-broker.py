#!/usr/bin/env python3
"""How long `mqtt sub -k K` takes to declare a silent broker dead: a Mosquitto started here is
frozen (SIGSTOP, its connections stay up) right after the subscriber's first PINGRESP, and the
time from that PINGRESP to the subscriber's exit is printed per keep-alive (default 2 and 5 s).

    cargo build --features std --example mqtt && python3 scripts/silent-broker.py [K ...]
"""

import os
import shutil
import signal
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


def measure(keep_alive, tmp):
    port = free_port()
    conf = Path(tmp) / f"k{keep_alive}.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n")
    mosquitto = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    broker = subprocess.Popen([mosquitto, "-c", str(conf)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        sub = subprocess.Popen([str(MQTT), "sub", "-d", "-p", str(port), "-k", str(keep_alive),
                                "-t", "silent"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
        for line in sub.stderr:
            if "received PINGRESP" in line:
                pong = time.monotonic()
                break
        os.kill(broker.pid, signal.SIGSTOP)
        last = sub.stderr.read().strip().splitlines()[-1:]
        sub.wait()
        took = time.monotonic() - pong
        os.kill(broker.pid, signal.SIGCONT)
        print(f"keep-alive {keep_alive} s: exit {sub.returncode} {took:.2f} s after the last "
              f"PINGRESP ({took / keep_alive:.2f} x keep-alive): {' '.join(last)}")
    finally:
        broker.kill()
        broker.wait()


def main():
    with tempfile.TemporaryDirectory() as tmp:
        for k in [int(a) for a in sys.argv[1:]] or [2, 5]:
            measure(k, tmp)


if __name__ == "__main__":
    main()
