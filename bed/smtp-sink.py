#!/usr/bin/python3
"""A test SMTP server on the bed's host side: the "outside world" a bed sends mail to.

Every message it accepts is written to DIR/NNNN.eml (the raw DATA, exactly as received) with
DIR/NNNN.json beside it (peer, envelope, whether TLS was on, the AUTH login). Used as the
outside MX (DKIM tests) and as a relay host (AUTH over STARTTLS required).

usage: smtp-sink.py --listen IP:PORT --dir DIR [--auth USER:PASSFILE] [--tls-cert C --tls-key K]
With --auth, AUTH is required before MAIL and offered only after STARTTLS (--tls-* needed).
"""
import argparse
import asyncio
import json
import os
import ssl
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Sink:
    def __init__(self, out):
        self.out = out
        self.n = len([f for f in os.listdir(out) if f.endswith(".eml")])

    async def handle_DATA(self, server, session, envelope):
        self.n += 1
        base = os.path.join(self.out, "%04d" % self.n)
        with open(base + ".eml.tmp", "wb") as f:
            f.write(envelope.original_content or envelope.content)
        meta = {
            "peer": session.peer[0],
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "tls": session.ssl is not None,
            "login": (session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None),
        }
        with open(base + ".json", "w") as f:
            json.dump(meta, f)
        os.rename(base + ".eml.tmp", base + ".eml")
        return "250 2.0.0 Ok: stored %04d" % self.n


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--listen", required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--auth")
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    a = p.parse_args()
    host, port = a.listen.rsplit(":", 1)
    os.makedirs(a.dir, exist_ok=True)
    kw = {}
    if a.tls_cert:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(a.tls_cert, a.tls_key)
        kw["tls_context"] = ctx
        kw["require_starttls"] = bool(a.auth)
    if a.auth:
        user, passfile = a.auth.split(":", 1)
        with open(passfile) as f:
            password = f.read().strip()

        def check(server, session, envelope, mechanism, auth_data):
            ok = (isinstance(auth_data, LoginPassword)
                  and auth_data.login.decode() == user
                  and auth_data.password.decode() == password)
            return AuthResult(success=ok, handled=False, auth_data=auth_data)

        kw.update(authenticator=check, auth_required=True, auth_require_tls=True)
    c = Controller(Sink(a.dir), hostname=host, port=int(port), server_hostname="sink.outside.test",
                   ready_timeout=10, **kw)
    c.start()
    print("smtp-sink listening on %s" % a.listen, flush=True)
    try:
        asyncio.run(asyncio.Event().wait())
    except KeyboardInterrupt:
        pass
    finally:
        c.stop()


if __name__ == "__main__":
    sys.exit(main())
