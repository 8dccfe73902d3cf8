#!/usr/bin/python3
"""receiver.py - an HTTP endpoint on 127.0.0.1 for the outbox tests (stdlib only).

usage: receiver.py PORTFILE CAPTURE [MODE]

Listens on an ephemeral port of 127.0.0.1 and writes the port number to PORTFILE once it
accepts connections. Every POST is appended to CAPTURE as one JSON line: path, headers,
body (text) and body_b64 (the exact bytes), and the status it was answered with.

MODE: ok (default: 200 "ok"); fail:N (500 for the first N requests, then 200);
always:CODE (that status for every request, e.g. always:500, always:400).
Exits on SIGTERM, or when the process that started it is gone.
"""
import base64
import http.server
import json
import os
import signal
import sys
import threading
import time


def main():
    if len(sys.argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    portfile, capture = sys.argv[1], sys.argv[2]
    mode = sys.argv[3] if len(sys.argv) > 3 else "ok"
    state = {"n": 0}
    lock = threading.Lock()

    def status_for(n):
        if mode == "ok":
            return 200
        kind, _, arg = mode.partition(":")
        if kind == "fail":
            return 500 if n <= int(arg) else 200
        if kind == "always":
            return int(arg)
        raise SystemExit("receiver: unknown mode " + mode)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            with lock:
                state["n"] += 1
                code = status_for(state["n"])
                rec = {
                    "path": self.path,
                    "headers": {k: v for k, v in self.headers.items()},
                    "body": body.decode("utf-8", "replace"),
                    "body_b64": base64.b64encode(body).decode("ascii"),
                    "status": code,
                }
                with open(capture, "a", encoding="utf-8") as f:
                    f.write(json.dumps(rec, sort_keys=True) + "\n")
            reply = b"ok" if code < 300 else b"server error" if code >= 500 else b"invalid_payload"
            self.send_response(code)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, fmt, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    tmp = portfile + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % server.server_address[1])
    os.rename(tmp, portfile)

    parent = os.getppid()

    def watch_parent():
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch_parent, daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
