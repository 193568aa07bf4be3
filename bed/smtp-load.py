#!/usr/bin/python3
"""A load client from outside a bed: many messages over several SMTP connections at once.

Each message carries a token (TAG-NNNNNN) in its Subject, its Message-ID and an X-Load-Token
header, and its body's length and SHA-256 in X-Load-Body, so that what arrives can be counted
exactly once and checked whole. Sizes are a mix (most a few KiB, some tens, a few hundred KiB);
each message goes to 1-3 recipients drawn from --rcpt (a fixed seed: the same run every time).

Every message's outcome goes to --out, one JSON object a line:
  {"tok", "size", "rcpts": {rcpt: "250 ..." | "550 ..."}, "status", "reply"}
status: "accepted" (250 after DATA: the server owns it for the accepted recipients),
"refused" (a 4xx/5xx reply at MAIL, every RCPT or DATA; reply says which), "unknown" (the
connection died after DATA was sent and before the reply: it may or may not have been
taken), "unsent" (the connection died before DATA, or none could be made).

usage: smtp-load.py --server IP --port N --count N --conns N --tag TAG --out FILE
         --rcpt ADDR [--rcpt ADDR...] [--odd ADDR...] [--from ADDR] [--login USER...]
         [--seed N] [--per-conn N]
With --login (password in $LOAD_PASS): STARTTLS, AUTH as each login in turn (one per
connection), the message From: the login.
"""
import argparse
import hashlib
import json
import os
import queue
import random
import smtplib
import ssl
import sys
import threading
import time

WORDS = ("mail server queue delivery message letter report meeting budget invoice summary "
         "project schedule update review notes draft agenda minutes account order shipment "
         "weather garden family holiday photo recipe book music travel train station city "
         "morning evening tomorrow yesterday thanks regards please attached below above").split()

# (share of messages, smallest, largest size in bytes of the body)
SIZES = ((70, 1_000, 8_000), (20, 20_000, 60_000), (8, 100_000, 200_000), (2, 300_000, 400_000))


def body_of(rnd, size):
    lines, n = [], 0
    while n < size:
        words, w = [], 0
        while w < 66:
            x = rnd.choice(WORDS)
            words.append(x)
            w += len(x) + 1
        line = " ".join(words).capitalize() + "."
        lines.append(line)
        n += len(line) + 1
    return "\n".join(lines) + "\n"


def make(args, i, rnd, login):
    tok = "%s-%06d" % (args.tag, i)
    roll, acc, size = rnd.randrange(100), 0, 1000
    for share, lo, hi in SIZES:
        acc += share
        if roll < acc:
            size = rnd.randrange(lo, hi)
            break
    rcpts = rnd.sample(args.rcpt, min(len(args.rcpt), rnd.choice((1, 1, 2, 3))))
    if args.odd and i % 50 == 7:
        rcpts.append(rnd.choice(args.odd))
    body = body_of(rnd, size)
    digest = hashlib.sha256(body.encode()).hexdigest()
    sender = login or args.sender
    head = [
        "From: Load Test <%s>" % sender,
        "To: %s" % ", ".join(rcpts),
        "Subject: load %s" % tok,
        "Date: %s" % time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime()),
        "Message-ID: <%s@load.outside.test>" % tok,
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=us-ascii",
        "X-Load-Token: %s" % tok,
        "X-Load-Body: %d %s" % (len(body), digest),
    ]
    return tok, sender, rcpts, ("\r\n".join(head) + "\r\n\r\n" + body.replace("\n", "\r\n"))


class Conn:
    def __init__(self, args, login):
        self.args, self.login, self.s, self.sent = args, login, None, 0

    def open(self):
        a = self.args
        s = smtplib.SMTP(a.server, a.port, local_hostname="client.outside.invalid", timeout=60)
        s.ehlo()
        if self.login:
            ctx = ssl.create_default_context()
            ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
            s.starttls(context=ctx)
            s.ehlo()
            s.login(self.login, os.environ["LOAD_PASS"])
        self.s = s

    def close(self):
        if self.s is not None:
            try:
                self.s.quit()
            except Exception:
                pass
        self.s = None


def reply(code, msg):
    text = msg.decode(errors="replace") if isinstance(msg, bytes) else str(msg)
    return "%d %s" % (code, " ".join(text.split()))


def rset(conn):
    try:
        conn.s.rset()
    except (OSError, smtplib.SMTPException):
        conn.close()


def send(conn, sender, rcpts, data):
    """One message on conn (opened if needed): (status, {rcpt: reply}, reply)."""
    if conn.s is None:
        try:
            conn.open()
        except (OSError, smtplib.SMTPException) as e:
            conn.s = None
            return "unsent", {}, "connect: %s" % e
    s, got = conn.s, {}
    stage = "MAIL"
    try:
        code, msg = s.mail(sender)
        if code != 250:
            rset(conn)
            return "refused", got, "MAIL " + reply(code, msg)
        stage = "RCPT"
        for r in rcpts:
            code, msg = s.rcpt(r)
            got[r] = reply(code, msg)
        if not any(v.startswith("25") for v in got.values()):
            rset(conn)
            return "refused", got, "RCPT"
        stage = "DATA"
        code, msg = s.data(data)
        conn.sent += 1
        if code == 250:
            return "accepted", got, reply(code, msg)
        return "refused", got, "DATA " + reply(code, msg)
    except smtplib.SMTPDataError as e:
        return "refused", got, "DATA " + reply(e.smtp_code, e.smtp_error)
    except (OSError, smtplib.SMTPException) as e:
        conn.close()
        conn.s = None
        return ("unknown" if stage == "DATA" else "unsent"), got, "%s: %s" % (stage, e)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--server", required=True)
    p.add_argument("--port", type=int, default=25)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--conns", type=int, default=4)
    p.add_argument("--tag", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--rcpt", action="append", required=True)
    p.add_argument("--odd", action="append", default=[],
                   help="also to one of these, one message in 50 (refusals to count)")
    p.add_argument("--from", dest="sender", default="load@outside.test")
    p.add_argument("--login", action="append", default=[])
    p.add_argument("--seed", type=int, default=22)
    p.add_argument("--per-conn", type=int, default=25, help="messages per connection")
    a = p.parse_args()

    todo = queue.Queue()
    for i in range(a.count):
        todo.put(i)
    lock = threading.Lock()
    out = open(a.out, "w")
    counts = {}

    def worker(w):
        login = a.login[w % len(a.login)] if a.login else None
        conn = Conn(a, login)
        while True:
            try:
                i = todo.get_nowait()
            except queue.Empty:
                break
            rnd = random.Random(a.seed * 1_000_003 + i)
            tok, sender, rcpts, data = make(a, i, rnd, login)
            status, got, why = send(conn, sender, rcpts, data)
            if status == "unsent":
                time.sleep(1)  # a server gone (a power cut): do not spin
            with lock:
                counts[status] = counts.get(status, 0) + 1
                out.write(json.dumps({"tok": tok, "size": len(data), "rcpts": got,
                                      "status": status, "reply": why}) + "\n")
                out.flush()
            if conn.sent >= a.per_conn:
                conn.close()
                conn.sent = 0

        conn.close()

    t0 = time.time()
    threads = [threading.Thread(target=worker, args=(w,)) for w in range(a.conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    secs = time.time() - t0
    out.close()
    acc = counts.get("accepted", 0)
    print("load %s port %d: %d messages over %d connections in %.1f s: %s; %.1f accepted/s"
          % (a.tag, a.port, a.count, a.conns, secs,
             ", ".join("%s %d" % kv for kv in sorted(counts.items())), acc / secs if secs else 0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
