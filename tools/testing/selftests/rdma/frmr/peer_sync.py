#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# peer_sync.py - a two-host barrier over TCP on the wire, with a word of status each way.
#
# Usage: peer_sync.py listen|connect ADDR PORT NAME TIMEOUT STATUS
#        peer_sync.py alive ADDR PORT TIMEOUT
# Role a listens on its own ADDR, role b connects to a's ADDR, retrying until TIMEOUT
# seconds have passed. b sends "NAME STATUS", a answers with its own; each side prints the
# peer's STATUS. Exit status: 0 when both sides reached barrier NAME, 1 when the peer was at
# another barrier (the halves of the scenario went out of step), 2 when the peer did not come
# within TIMEOUT.
# "alive" (the guests have no ping) waits at most TIMEOUT seconds for the host at ADDR to
# answer a TCP connection to PORT, with a connection or a refusal: 0 when it did, 2 if not.
import socket
import sys
import time


def exchange(sock, first, name, status, deadline):
    sock.settimeout(max(deadline - time.monotonic(), 0.1))
    f = sock.makefile("rw")
    if first:
        f.write(f"{name} {status}\n")
        f.flush()
    line = f.readline().split()
    if not first:
        f.write(f"{name} {status}\n")
        f.flush()
    if len(line) != 2:
        raise OSError("short answer")
    return line


def alive(addr, port, timeout):
    deadline = time.monotonic() + float(timeout)
    while True:
        try:
            socket.create_connection((addr, int(port)), timeout=1).close()
            return 0
        except ConnectionRefusedError:
            return 0
        except OSError:
            if time.monotonic() >= deadline:
                print(f"peer_sync: {addr} does not answer", file=sys.stderr)
                return 2
            time.sleep(0.2)


def main():
    if sys.argv[1] == "alive":
        sys.exit(alive(*sys.argv[2:5]))
    mode, addr, port, name, timeout, status = sys.argv[1:7]
    port = int(port)
    deadline = time.monotonic() + float(timeout)
    peer = None
    if mode == "listen":
        srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind((addr, port))
        srv.listen(4)
        while peer is None and time.monotonic() < deadline:
            srv.settimeout(max(deadline - time.monotonic(), 0.1))
            try:
                conn, _ = srv.accept()
            except OSError:
                break
            try:
                peer = exchange(conn, False, name, status, deadline)
            except OSError as e:
                print(f"peer_sync {name}: {e}", file=sys.stderr)
            conn.close()
        srv.close()
    else:
        while peer is None and time.monotonic() < deadline:
            try:
                conn = socket.create_connection((addr, port), timeout=2)
            except OSError:
                time.sleep(0.2)
                continue
            try:
                peer = exchange(conn, True, name, status, deadline)
            except OSError as e:
                print(f"peer_sync {name}: {e}", file=sys.stderr)
                time.sleep(0.2)
            conn.close()
    if peer is None:
        print(f"peer_sync {name}: no peer within {timeout}s", file=sys.stderr)
        sys.exit(2)
    if peer[0] != name:
        print(f"peer_sync {name}: the peer is at barrier {peer[0]}", file=sys.stderr)
        print(peer[1])
        sys.exit(1)
    print(peer[1])


if __name__ == "__main__":
    main()
