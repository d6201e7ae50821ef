#!/usr/bin/env python3
"""tests/notify/server.py PORTFILE LOGFILE - a local webhook receiver for the tests.

Listens on 127.0.0.1 on a free port (written to PORTFILE once listening) and
answers by path: /ok -> 200 (each body is appended to LOGFILE as one line),
/fail -> 500, /hang -> waits 60 s before answering, /slow -> 200 (logged too)
after 2 s.  Runs until killed.
"""
import http.server
import sys
import time


class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        if self.path.startswith("/hang"):
            time.sleep(60)
        if self.path.startswith("/slow"):
            time.sleep(2)
        status = 200 if self.path.startswith(("/ok", "/slow")) else 500
        if status == 200:
            with open(self.server.log, "ab") as log:
                log.write(body.replace(b"\n", b" ") + b"\n")
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(b"ok\n" if status == 200 else b"error\n")

    def log_message(self, fmt, *args):
        pass


def main():
    portfile, logfile = sys.argv[1], sys.argv[2]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    server.daemon_threads = True
    server.log = logfile
    open(logfile, "ab").close()
    with open(portfile + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    import os
    os.rename(portfile + ".tmp", portfile)
    server.serve_forever()


if __name__ == "__main__":
    main()
