#!/usr/bin/python3
"""udp-sink.py listen ADDR PORT FILE -- minimal stand-in for the heartbeat collector.

Appends one line per datagram to FILE: "<unix time> <src ip>:<src port> <payload, repr-escaped>".
Same command line as the real collector (tests/guests), so `lab.sh up N --ticks tests/lab/udp-sink.py`
exercises the collector plumbing (start in the switch namespace, pid tracking, shutdown by down).
"""
import socket
import sys
import time

if len(sys.argv) != 5 or sys.argv[1] != "listen":
    sys.exit("usage: udp-sink.py listen ADDR PORT FILE")
addr, port, path = sys.argv[2], int(sys.argv[3]), sys.argv[4]
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind((addr, port))
print(f"udp-sink: listening on {addr}:{port}, writing {path}", flush=True)
with open(path, "a", buffering=1) as out:
    while True:
        data, (ip, sport) = sock.recvfrom(65535)
        text = data.decode("utf-8", "backslashreplace").rstrip("\n")
        out.write(f"{time.time():.3f} {ip}:{sport} {text}\n")
