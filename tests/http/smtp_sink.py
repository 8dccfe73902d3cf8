#!/usr/bin/python3
"""smtp_sink.py - an SMTP server on 127.0.0.1 that keeps what it receives (aiosmtpd).

usage: smtp_sink.py PORTFILE CAPTURE [MODE]

Listens on an ephemeral port of 127.0.0.1 (no STARTTLS, no AUTH) and writes the port
number to PORTFILE once it accepts connections. Every message is appended to CAPTURE as
one JSON line: mail_from, rcpt_tos, content (text) and content_b64 (the exact bytes as
received, after the server undid the dot-stuffing).

MODE: ok (default); fail:N (451 for the first N messages, then 250).
Needs the Debian package python3-aiosmtpd; without it, it exits with status 3 and says so.
Exits on SIGTERM, or when the process that started it is gone.
"""
import asyncio
import base64
import json
import os
import signal
import sys

try:
    from aiosmtpd.smtp import SMTP
except ImportError:
    sys.stderr.write("smtp_sink: python3-aiosmtpd is not installed (scripts/deps.sh installs it)\n")
    sys.exit(3)


class Sink:
    def __init__(self, capture, fail):
        self.capture = capture
        self.fail = fail
        self.n = 0

    async def handle_DATA(self, server, session, envelope):
        self.n += 1
        code = "451 4.3.0 try again later" if self.n <= self.fail else "250 OK"
        rec = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "content": envelope.content.decode("utf-8", "replace"),
            "content_b64": base64.b64encode(envelope.content).decode("ascii"),
            "status": int(code[:3]),
        }
        with open(self.capture, "a", encoding="utf-8") as f:
            f.write(json.dumps(rec, sort_keys=True) + "\n")
        return code


async def serve(portfile, capture, fail):
    loop = asyncio.get_running_loop()
    sink = Sink(capture, fail)
    server = await loop.create_server(lambda: SMTP(sink, hostname="sink.test"), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    tmp = portfile + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.rename(tmp, portfile)
    parent = os.getppid()
    while os.getppid() == parent:
        await asyncio.sleep(0.5)


def main():
    if len(sys.argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    mode = sys.argv[3] if len(sys.argv) > 3 else "ok"
    fail = int(mode.partition(":")[2]) if mode.startswith("fail:") else 0
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    asyncio.run(serve(sys.argv[1], sys.argv[2], fail))
    return 0


if __name__ == "__main__":
    sys.exit(main())
