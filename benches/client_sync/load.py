#!/usr/bin/env python3
"""Loads N Logical_Switch_Ports into an OVN_Northbound ovsdb-server, fast.

    load.py SOCKET N [PORTS_PER_SWITCH]

Speaks JSON-RPC to the server's unix socket directly: one `transact` per logical switch,
inserting the switch and its ports (default 1000) together, so 100k ports take about a
hundred transactions instead of 100k ovn-nbctl runs. Ports carry realistic columns:
name, addresses "MAC IP", port_security, external_ids and options with two keys each,
enabled. Deterministic: the same N gives the same rows.

Only the standard library is used.
"""

import json
import socket
import sys
import time
import uuid


def read_reply(sock, buf):
    """Reads one JSON-RPC message; returns (message, leftover bytes)."""
    decoder = json.JSONDecoder()
    while True:
        text = buf.decode().lstrip()
        if text:
            try:
                msg, end = decoder.raw_decode(text)
                return msg, text[end:].encode()
            except ValueError:
                pass
        chunk = sock.recv(1 << 20)
        if not chunk:
            raise SystemExit("load.py: server closed the connection")
        buf += chunk


def port_row(i):
    """Logical_Switch_Port columns for the global port number i."""
    mac = "0a:58:%02x:%02x:%02x:%02x" % ((i >> 24) & 255, (i >> 16) & 255, (i >> 8) & 255, i & 255)
    host = i + 2  # skip .0 and .1 (gateway)
    ip = "10.%d.%d.%d" % ((host >> 16) & 255, (host >> 8) & 255, host & 255)
    address = "%s %s" % (mac, ip)
    project = uuid.UUID(int=(i * 2654435761) % (1 << 128)).hex
    return {
        "name": str(uuid.UUID(int=(i + 1) * 0x9E3779B97F4A7C15 % (1 << 128))),
        "addresses": ["set", [address]],
        "port_security": ["set", [address]],
        "external_ids": ["map", [
            ["neutron:device_owner", "compute:nova"],
            ["neutron:project_id", project],
        ]],
        "options": ["map", [
            ["requested-chassis", "compute-%03d" % (i % 200)],
            ["mcast_flood_reports", "true"],
        ]],
        "enabled": True,
    }


def switch_txn(rpc_id, switch, first, count):
    ops = []
    refs = []
    for p in range(count):
        named = "p%d" % p
        refs.append(["named-uuid", named])
        ops.append({
            "op": "insert",
            "table": "Logical_Switch_Port",
            "uuid-name": named,
            "row": port_row(first + p),
        })
    ops.append({
        "op": "insert",
        "table": "Logical_Switch",
        "row": {
            "name": "ls-%04d" % switch,
            "ports": ["set", refs],
            "external_ids": ["map", [["neutron:network_name", "net-%04d" % switch]]],
        },
    })
    return {"id": rpc_id, "method": "transact", "params": ["OVN_Northbound"] + ops}


def main():
    if len(sys.argv) not in (3, 4):
        raise SystemExit(__doc__)
    path, total = sys.argv[1], int(sys.argv[2])
    per_switch = int(sys.argv[3]) if len(sys.argv) == 4 else 1000
    if total <= 0 or per_switch <= 0:
        raise SystemExit("load.py: N and PORTS_PER_SWITCH must be positive")
    start = time.monotonic()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    buf = b""
    first = 0
    switch = 0
    while first < total:
        count = min(per_switch, total - first)
        txn = switch_txn(switch, switch, first, count)
        sock.sendall(json.dumps(txn, separators=(",", ":")).encode())
        while True:
            msg, buf = read_reply(sock, buf)
            if msg.get("method") == "echo":
                sock.sendall(json.dumps({"id": msg["id"], "result": msg["params"], "error": None}).encode())
                continue
            if msg.get("id") == switch:
                break
        result = msg.get("result") or []
        errors = [r for r in result if isinstance(r, dict) and "error" in r]
        if msg.get("error") is not None or errors or len(result) != count + 1:
            raise SystemExit("load.py: transaction for switch %d failed: %s"
                             % (switch, msg.get("error") or errors[:1] or result[-1:]))
        first += count
        switch += 1
    sock.close()
    print("loaded %d Logical_Switch_Ports in %d Logical_Switches in %.1f s"
          % (total, switch, time.monotonic() - start))


if __name__ == "__main__":
    main()
