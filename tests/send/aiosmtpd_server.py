"""An aiosmtpd server for tests/send/run.py, run by a python that has
aiosmtpd (Debian: python3-aiosmtpd).

    python3 aiosmtpd_server.py --port N --out DIR [--user NAME:PASSWORD]
        [--starttls CERT KEY | --smtps CERT KEY] [--plaintext-auth]

Each message goes to DIR/N.eml as aiosmtpd received it (its
original_content: CRLF line ends, dot-unstuffed) and its envelope to
DIR/N.env ("MAIL <from>", "RCPT <to>" lines, "AUTH name" when logged in).
Prints "listening on PORT" once it accepts connections; stops on SIGTERM.
"""
import argparse
import os
import signal
import ssl
import sys
import threading

from base64 import b64decode

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Store:
    def __init__(self, out):
        self.out = out
        self.n = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.n += 1
            n = self.n
        base = os.path.join(self.out, "%d" % n)
        with open(base + ".tmp", "wb") as f:
            f.write(envelope.original_content)
        lines = ["MAIL <%s>" % envelope.mail_from] + ["RCPT <%s>" % r for r in envelope.rcpt_tos]
        lines += ["OPTIONS %s" % " ".join(envelope.mail_options)]
        if session.authenticated:
            lines.append("AUTH %s" % session.auth_data.login.decode())
        with open(base + ".env", "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        os.rename(base + ".tmp", base + ".eml")
        return "250 2.0.0 OK stored as %d" % n


def add_oauth(mech, user, token):
    """Offers AUTH mech (XOAUTH2 or OAUTHBEARER, RFC 7628) for user with
    token.  A wrong one gets the error challenge (a 334 with a JSON
    status), whose empty (XOAUTH2) or %x01 (OAUTHBEARER) answer is
    followed by 535."""
    if mech == "XOAUTH2":
        want = b"user=%s\x01auth=Bearer %s\x01\x01" % (user.encode(), token.encode())
    else:
        want = b"n,a=%s,\x01auth=Bearer %s\x01\x01" % (user.encode(), token.encode())

    async def method(self, server, args):
        data = b64decode(args[1]) if len(args) > 1 else await server.challenge_auth("")
        if data == want:
            return AuthResult(success=True, auth_data=LoginPassword(user.encode(), b""))
        answer = await server.challenge_auth('{"status":"invalid_token","schemes":"bearer"}')
        print("%s error challenge answered %r" % (mech, answer), file=sys.stderr, flush=True)
        return AuthResult(success=False, handled=False)
    setattr(Store, "auth_" + mech, method)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--user")
    ap.add_argument("--starttls", nargs=2)
    ap.add_argument("--smtps", nargs=2)
    ap.add_argument("--plaintext-auth", action="store_true")
    ap.add_argument("--oauth", nargs=2, metavar=("MECH", "TOKEN"))
    a = ap.parse_args()
    if a.oauth:
        add_oauth(a.oauth[0], a.user.split(":", 1)[0], a.oauth[1])

    kw = {}
    if a.user:
        name, pw = a.user.split(":", 1)

        def auth(server, session, envelope, mechanism, data):
            ok = data.login == name.encode() and data.password == pw.encode()
            return AuthResult(success=ok, handled=False, auth_data=data)
        kw.update(authenticator=auth, auth_required=True, auth_require_tls=not a.plaintext_auth)
    if a.starttls or a.smtps:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(*(a.starttls or a.smtps))
        if a.starttls:
            kw.update(tls_context=ctx, require_starttls=True)
        else:
            kw.update(ssl_context=ctx)
    ctl = Controller(Store(a.out), hostname="127.0.0.1", port=a.port, server_hostname="aiosmtpd.test",
                     ready_timeout=10, **kw)
    ctl.start()
    print("listening on %d" % a.port, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    ctl.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
