#!/usr/bin/env python3
"""A PostgreSQL connection that loses one answer (tests/store/pg.sh).

usage: pglose.py LISTEN_DIR SERVER_DIR ARM_FILE

Listens on LISTEN_DIR/.s.PGSQL.5432 and passes every connection through to
the server's socket in SERVER_DIR.  While ARM_FILE exists, the first
statement whose text contains the words in ARM_FILE is run by the server as
usual, but its answer never reaches the client: once the server says it is
ready again (the statement committed), both sides of that connection are
closed, ARM_FILE is removed and ARM_FILE.fired written.  A statement the
server refused (an ErrorResponse) was not applied: its answer goes through.  The client sees its
connection broken after sending the statement, as when a server or a network
dies at that moment.  Stops on SIGTERM.
"""
import os
import selectors
import signal
import socket
import struct
import sys

SOCK = ".s.PGSQL.5432"


def armed(arm):
    try:
        with open(arm, "rb") as f:
            return f.read().strip()
    except FileNotFoundError:
        return None


class Pair:
    def __init__(self, client, server):
        self.client, self.server = client, server
        self.sent = b""      # the client's bytes, kept while armed, to find the statement
        self.marked = False  # the marked statement was sent: its answer is held back
        self.inbox = b""     # the server's bytes not yet framed
        self.held = b""      # the server's bytes held back from the client
        self.failed = False  # the statement failed (ErrorResponse): nothing to lose


def main():
    listen_dir, server_dir, arm = sys.argv[1:4]
    path = os.path.join(listen_dir, SOCK)
    if os.path.exists(path):
        os.unlink(path)
    lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    lsock.bind(path)
    lsock.listen(16)
    sel = selectors.DefaultSelector()
    sel.register(lsock, selectors.EVENT_READ, None)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    pairs = {}

    def close(pair):
        for s in (pair.client, pair.server):
            pairs.pop(s, None)
            try:
                sel.unregister(s)
            except (KeyError, ValueError):
                pass
            s.close()

    while True:
        for key, _ in sel.select():
            if key.data is None:
                c, _ = lsock.accept()
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    s.connect(os.path.join(server_dir, SOCK))
                except OSError:
                    c.close()
                    continue
                pair = Pair(c, s)
                pairs[c] = pairs[s] = pair
                sel.register(c, selectors.EVENT_READ, "client")
                sel.register(s, selectors.EVENT_READ, "server")
                continue
            sock = key.fileobj
            pair = pairs.get(sock)
            if pair is None:
                continue
            try:
                data = sock.recv(65536)
            except OSError:
                data = b""
            if not data:
                close(pair)
                continue
            if key.data == "client":
                words = armed(arm)
                if words and not pair.marked:
                    pair.sent = (pair.sent + data)[-65536:]
                    pair.marked = words in pair.sent
                pair.server.sendall(data)
                continue
            if not pair.marked:
                pair.client.sendall(data)
                continue
            # Held back: the server's messages, framed (type, length), until
            # ReadyForQuery ('Z') after the statement's CommandComplete.
            pair.inbox += data
            pair.held += data
            done = False
            while len(pair.inbox) >= 5:
                kind = pair.inbox[:1]
                (n,) = struct.unpack("!I", pair.inbox[1:5])
                if len(pair.inbox) < 1 + n:
                    break
                pair.inbox = pair.inbox[1 + n:]
                pair.failed |= kind == b"E"
                if kind == b"Z":
                    done = True
                    break
            if done and pair.failed:  # not applied: the answer goes through
                pair.client.sendall(pair.held)
                pair.marked, pair.failed, pair.held, pair.sent = False, False, b"", b""
            elif done:
                close(pair)
                if armed(arm) is not None:
                    os.unlink(arm)
                    with open(arm + ".fired", "w") as f:
                        f.write("1\n")


if __name__ == "__main__":
    main()
