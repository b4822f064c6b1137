#!/usr/bin/env python3
"""The floor: how long the server takes to send a full monitor reply.

    raw_monitor.py SOCKET DB TABLE[,TABLE...] [--verify]

Connects to the unix socket, sends one `monitor_cond` request for all columns of the
tables and reads bytes until the reply's JSON value ends, found by counting braces (the
benchmark's data has no braces inside strings). Nothing is parsed while timing. With
--verify, it then parses the reply and prints the rows per table.
"""

import json
import socket
import sys
import time


def main():
    args = [a for a in sys.argv[1:] if a != "--verify"]
    verify = len(args) != len(sys.argv) - 1
    if len(args) != 3:
        raise SystemExit(__doc__)
    path, db, tables = args[0], args[1], args[2].split(",")
    request = {
        "id": 1,
        "method": "monitor_cond",
        "params": [db, None, {t: [{}] for t in tables}],
    }
    start = time.monotonic()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    sock.sendall(json.dumps(request).encode())
    chunks = []
    depth = 0
    seen = False
    received = 0
    buf = bytearray(1 << 22)
    view = memoryview(buf)
    while True:
        n = sock.recv_into(view)
        if n == 0:
            raise SystemExit("raw_monitor.py: server closed the connection after %d bytes"
                             % received)
        chunk = bytes(view[:n])
        received += n
        opens = chunk.count(b"{")
        if opens:
            seen = True
        depth += opens - chunk.count(b"}")
        if verify:
            chunks.append(chunk)
        if seen and depth <= 0:
            break
    elapsed = time.monotonic() - start
    sock.close()
    print("received %d bytes in %.3f s" % (received, elapsed))
    if verify:
        reply = json.loads(b"".join(chunks))
        if reply.get("error") is not None:
            raise SystemExit("raw_monitor.py: server error: %s" % reply["error"])
        for table in sorted(tables):
            print("%s %d" % (table, len(reply["result"].get(table, {}))))


if __name__ == "__main__":
    main()
