"""A real SMTP server for vigil-notify's tests: aiosmtpd on loopback.

Each message received is parsed as a mail client would and written to DIR as NNNN.json.
`--auth` requires AUTH and accepts only vigil / secret (over plain text too, for the test).
`--starttls CERT KEY` offers and requires STARTTLS; `--tls CERT KEY` speaks TLS from the start.
Prints READY once listening; exits when its stdin closes (the test ended) or on a signal.
"""

import argparse
import email
import email.policy
import json
import logging
import os
import ssl
import sys
import warnings

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Saver:
    def __init__(self, directory):
        self.directory = directory
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "from": str(msg["From"]),
            "to": str(msg["To"]),
            "subject": str(msg["Subject"]),
            "content_type": msg.get_content_type(),
            "charset": msg.get_content_charset(),
            "body": msg.get_content(),
            "authenticated": bool(getattr(session, "authenticated", False)),
            "tls": session.ssl is not None,
        }
        path = os.path.join(self.directory, "%04d.json" % self.count)
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            json.dump(record, f, ensure_ascii=False)
        os.rename(path + ".tmp", path)
        return "250 OK"


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == b"vigil"
        and auth_data.password == b"secret"
    )
    return AuthResult(success=ok, handled=False)


def main():
    # The test means to allow AUTH over plain text; keep its output quiet.
    warnings.filterwarnings("ignore")
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--auth", action="store_true")
    p.add_argument("--starttls", nargs=2, metavar=("CERT", "KEY"))
    p.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    a = p.parse_args()

    kwargs = dict(
        hostname="127.0.0.1",
        port=a.port,
        server_hostname="smtp.test",
        authenticator=authenticator,
        auth_required=a.auth,
        auth_require_tls=False,
    )
    pair = a.starttls or a.tls
    if pair:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(pair[0], pair[1])
        if a.starttls:
            kwargs.update(tls_context=ctx, require_starttls=True)
        else:
            kwargs.update(ssl_context=ctx)
    controller = Controller(Saver(a.dir), **kwargs)
    controller.start()
    print("READY", flush=True)
    try:
        sys.stdin.read()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
