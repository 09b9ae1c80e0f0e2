#!/usr/bin/env python3
"""smtp-send against real SMTP servers, each started here on loopback.

    python3 tests/send/run.py --send build/smtp-send-asan --sink build/smtp-sink [-k PATTERN]

 - our own smtp-sink: DATA and BDAT, STARTTLS + AUTH with a certificate made
   here by `openssl req`, 150 recipients against RCPTMAX 100 (two
   transactions), a 10 MB body with dot lines, refusals, SIZE;
 - Python's aiosmtpd (Debian python3-aiosmtpd), run by tests/send/
   aiosmtpd_server.py: plain, AUTH after STARTTLS, AUTH in plaintext when
   allowed, implicit TLS;
 - a real Postfix (Debian postfix) with its own main.cf, master.cf and
   queue under a temporary directory, listening on a loopback port and
   delivering to a Maildir through virtual(8): plain, 150 recipients
   against smtpd_recipient_limit 100 (452, then a second transaction),
   STARTTLS, SMTPUTF8.  Needs root, as Postfix's master does;
 - scripted servers for what no real one does on purpose: timeouts, a
   broken reply, a refused greeting.

Every delivery is compared byte for byte with the message sent (its LF
line ends made CRLF, as smtp-send sends them; Postfix stores LF).  A
server whose package is missing is skipped with a "SKIP: ..." line, never
counted as passed.  Ends with "send: N passed, N failed"; exits 1 on a
failure.
"""
import argparse
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

PASSED = 0
FAILED = 0
SKIPPED = 0
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SEND = None


def check(name, cond, detail=""):
    global PASSED, FAILED
    if cond:
        PASSED += 1
        print("ok   " + name, flush=True)
    else:
        FAILED += 1
        print("FAIL " + name + (": " + str(detail)[:3000] if detail else ""), flush=True)
    return bool(cond)


def skip(name, why):
    global SKIPPED
    SKIPPED += 1
    print("SKIP: %s: %s" % (name, why), flush=True)


# ---------------------------------------------------------------- helpers

def send(args, msg, env=None, timeout=300):
    """Runs smtp-send with msg on stdin: (exit status, stdout, stderr)."""
    e = {k: v for k, v in os.environ.items() if k != "SMTP_PASSWORD"}
    e.update(env or {})
    p = subprocess.run([SEND] + list(args), input=msg, capture_output=True, timeout=timeout, env=e)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def sanitizer_quiet(err):
    return "Sanitizer" not in err and "runtime error" not in err


def as_sent(msg):
    """The octets smtp-send sends for msg: each LF without a CR before it
    gets one, and the message ends with CRLF."""
    out = re.sub(rb"(?<!\r)\n", b"\r\n", msg)
    return out if out.endswith(b"\r\n") or not out else out + b"\r\n"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def message(subject, body=b"Hello.\n", extra=b""):
    """An LF-terminated message with every header Postfix would add."""
    return (b"From: Sender <sender@client.example>\n"
            b"To: rcpt@example.org\n"
            b"Subject: " + subject.encode() + b"\n" + extra +
            b"Message-ID: <" + re.sub(r"\W", ".", subject).encode() + b"@client.example>\n"
            b"Date: Mon, 23 Nov 2026 10:00:00 +0000\n"
            b"\n" + body)


def dotted_body(size, seed=1):
    """About size octets of LF lines, every 7th starting with a dot, some
    lines of dots alone, one line that is a single dot."""
    r = random.Random(seed)
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;-"
    out, n, i = [], 0, 0
    while n < size:
        line = "".join(r.choice(alphabet) for _ in range(r.randint(0, 120)))
        if i % 7 == 3:
            line = "." + line
        if i % 500 == 11:
            line = "." * r.randint(1, 3)
        b = line.encode() + b"\n"
        out.append(b)
        n += len(b)
        i += 1
    return b"".join(out)


def split_trace(data, nl=b"\r\n"):
    """(trace header lines, message) of a stored message: the trace fields
    the server put on top (Return-Path, X-Original-To, Delivered-To,
    Received with its folded lines) are cut off."""
    lines = data.split(nl)
    i = 0
    while i < len(lines) and re.match(rb"(Return-Path|X-Original-To|Delivered-To|Received): ", lines[i]):
        i += 1
        while i < len(lines) and lines[i][:1] in (b"\t", b" "):
            i += 1
    return nl.join(lines[:i]), nl.join(lines[i:])


def maildir_msgs(maildir, nl=b"\r\n"):
    d = os.path.join(maildir, "new")
    if not os.path.isdir(d):
        return []
    out = []
    for n in sorted(os.listdir(d)):
        with open(os.path.join(d, n), "rb") as f:
            out.append(split_trace(f.read(), nl))
    return out


def wait_for(fn, timeout=30.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.05)
    return fn()


def lines_of(out):
    return [l for l in out.splitlines() if l.startswith("<")]


def python_with(module):
    for p in (sys.executable, "python3", "/usr/bin/python3"):
        if shutil.which(p) and subprocess.run([p, "-c", "import " + module], capture_output=True).returncode == 0:
            return p
    return None


class Cert:
    """A self-signed certificate for localhost and 127.0.0.1."""
    path = key = why = None

    @classmethod
    def make(cls, tmp):
        if not shutil.which("openssl"):
            cls.why = "openssl not installed (apt-get install openssl)"
            return
        d = tempfile.mkdtemp(prefix="cert-", dir=tmp)
        os.chmod(d, 0o755)
        cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
        r = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                            "-nodes", "-days", "2", "-subj", "/CN=localhost",
                            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                            "-keyout", key, "-out", cert], capture_output=True)
        if r.returncode != 0:
            cls.why = "openssl req failed: " + r.stderr.decode(errors="replace")[-300:]
            return
        os.chmod(key, 0o644)  # Postfix's smtpd reads it after dropping root
        cls.path, cls.key = cert, key


def tls_built():
    return "built without OpenSSL" not in subprocess.run([SEND, "--help"], capture_output=True).stdout.decode()


# ---------------------------------------------------------------- smtp-sink

class Sink:
    def __init__(self, binary, tmp, *args):
        self.dir = tempfile.mkdtemp(prefix="sink-", dir=tmp)
        self.maildir = os.path.join(self.dir, "Maildir")
        self.logpath = os.path.join(self.dir, "stderr.log")
        self.log_f = open(self.logpath, "wb")
        self.proc = subprocess.Popen([binary, "--listen", "127.0.0.1:0", "--maildir", self.maildir] + list(args),
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self.log_f)
        m = wait_for(lambda: re.search(r"listening on 127\.0\.0\.1:(\d+)", self.log()) or self.proc.poll() is not None,
                     10)
        if not m or m is True:
            self.stop()
            raise RuntimeError("smtp-sink did not start: " + self.log())
        self.port = int(m.group(1))
        self.server = "127.0.0.1:%d" % self.port

    def log(self):
        with open(self.logpath, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def msgs(self):
        return maildir_msgs(self.maildir)

    def clear(self):
        d = os.path.join(self.maildir, "new")
        for n in os.listdir(d):
            os.unlink(os.path.join(d, n))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log_f.close()


def delivered(name, msgs, expect, count=1):
    """msgs (from maildir_msgs) holds count copies of expect, nothing else."""
    bodies = [m for _, m in msgs]
    ok = len(bodies) == count and all(b == expect for b in bodies)
    detail = "%d stored, %d expected" % (len(bodies), count)
    wrong = [b for b in bodies if b != expect]
    if wrong:
        a = wrong[0]
        k = next((i for i in range(min(len(a), len(expect))) if a[i] != expect[i]), min(len(a), len(expect)))
        detail += "; first difference at octet %d of %d/%d: got %r, want %r" % (
            k, len(a), len(expect), a[max(0, k - 40):k + 40], expect[max(0, k - 40):k + 40])
    return check(name, ok, detail)


def test_sink_plain(sink_bin, tmp):
    sink = Sink(sink_bin, tmp)
    try:
        msg = message("sink plain", b"Hello.\n.a line that starts with a dot\n..two\n.\nlast line without LF")
        for label, extra, word in (("DATA", ["--no-chunking"], "DATA"), ("CHUNKING", [], "BDAT")):
            sink.clear()
            rc, out, err = send(["-v", "--server", sink.server, "--from", "sender@client.example",
                                 "--to", "rcpt@example.org", "--to", "other@example.org"] + extra, msg)
            check("sink %s: exit 0, one 'sent' line per recipient" % label,
                  rc == 0 and lines_of(out) and all(": sent: 250 2.0.0 Ok: queued as " in l for l in lines_of(out))
                  and len(lines_of(out)) == 2, (rc, out, err[-2000:]))
            delivered("sink %s: stored byte for byte (LF made CRLF, dots kept)" % label, sink.msgs(), as_sent(msg))
            cmds = [l[len("smtp-send: "):] for l in err.splitlines() if l.startswith("smtp-send: ")]
            first_s = next((i for i, l in enumerate(cmds) if l.startswith("S: 250 2.1.0")), 0)
            group = [l.split(":")[1] for l in cmds[:first_s] if l.startswith("C: ")][-4:]
            if label == "DATA":
                check("sink DATA: MAIL, RCPT, RCPT and DATA go before any reply (PIPELINING)",
                      group == [" MAIL FROM", " RCPT TO", " RCPT TO", " DATA"], cmds)
            else:
                check("sink CHUNKING: the body goes by BDAT, no DATA",
                      any(l.startswith("C: BDAT ") for l in cmds) and "C: DATA" not in cmds
                      and any(re.match(r"C: BDAT \d+ LAST", l) for l in cmds), cmds)
            check("sink %s: no sanitizer report" % label, sanitizer_quiet(err), err[-2000:])
        sink.clear()
        path = os.path.join(sink.dir, "message.txt")
        with open(path, "wb") as f:
            f.write(msg)
        rc, out, err = send(["--server", sink.server, "--from", "s@client.example", "--to", "r@example.org",
                             "--file", path], b"this stdin is not read\n")
        check("sink --file: the file is sent, stdin is not read",
              rc == 0 and [m for _, m in sink.msgs()] == [as_sent(msg)], (rc, out, err[-1500:]))
    finally:
        sink.stop()


def test_sink_many(sink_bin, tmp):
    """150 recipients, the sink takes 100 (LIMITS RCPTMAX=100): two
    transactions, each message stored once."""
    sink = Sink(sink_bin, tmp)
    try:
        msg = message("sink 150 recipients")
        to = []
        for i in range(150):
            to += ["--to", "user%03d@example.org" % i]
        rc, out, err = send(["--server", sink.server, "--from", "sender@client.example"] + to, msg)
        lines = lines_of(out)
        check("sink 150 recipients: exit 0, 150 'sent' lines in --to order",
              rc == 0 and len(lines) == 150 and all(l.startswith("<user%03d@example.org>: sent: 250 " % i)
                                                    for i, l in enumerate(lines)), (rc, out[-1500:], err[-1500:]))
        ids = sorted(set(re.findall(r"queued as (\S+)", out)))
        check("sink 150 recipients: two transactions (two queue ids)", len(ids) == 2, ids)
        delivered("sink 150 recipients: two messages stored byte for byte", sink.msgs(), as_sent(msg), 2)
        log = sink.log()
        check("sink 150 recipients: the sink logged nrcpt=100 and nrcpt=50",
              "nrcpt=100 " in log and "nrcpt=50 " in log, log[-1500:])
        check("sink 150 recipients: no sanitizer report", sanitizer_quiet(err), err[-2000:])
    finally:
        sink.stop()


def test_sink_big(sink_bin, tmp):
    """10 MB of LF lines with dots, over DATA and over BDAT."""
    sink = Sink(sink_bin, tmp)
    try:
        msg = message("sink big", dotted_body(10 * 1024 * 1024, seed=7))
        for label, extra in (("DATA", ["--no-chunking"]), ("BDAT", [])):
            sink.clear()
            t0 = time.time()
            rc, out, err = send(["--server", sink.server, "--from", "sender@client.example",
                                 "--to", "rcpt@example.org"] + extra, msg)
            dt = time.time() - t0
            check("sink 10 MB over %s: exit 0, sent (%.1f s)" % (label, dt),
                  rc == 0 and ": sent: 250 " in out, (rc, out, err[-1500:]))
            delivered("sink 10 MB over %s: stored byte for byte" % label, sink.msgs(), as_sent(msg))
        # from a pipe: stdin is copied to a temporary file first
        sink.clear()
        p = subprocess.Popen(["sh", "-c", 'cat "$1" | "$2" --server "$3" --from s@client.example --to r@example.org',
                              "sh", "-", SEND, sink.server], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        out, err = p.communicate(msg, timeout=300)
        check("sink 10 MB from a pipe: exit 0, stored byte for byte",
              p.returncode == 0 and [m for _, m in sink.msgs()] == [as_sent(msg)], (p.returncode, out, err[-1500:]))
    finally:
        sink.stop()


def test_sink_tls(sink_bin, tmp):
    name = "sink STARTTLS + AUTH"
    if not tls_built():
        skip(name, "smtp-send built without OpenSSL (libssl-dev)")
        return
    if not Cert.path:
        skip(name, Cert.why)
        return
    sink = Sink(sink_bin, tmp, "--tls-cert", Cert.path, "--tls-key", Cert.key, "--require-tls",
                "--user", "bob:Tr0ub4dor&3 horse")
    pwfile = os.path.join(sink.dir, "password")
    with open(pwfile, "w") as f:
        f.write("Tr0ub4dor&3 horse\n")
    try:
        msg = message("sink tls", dotted_body(200000, seed=3))
        base = ["--server", sink.server, "--from", "sender@client.example", "--to", "rcpt@example.org",
                "--starttls", "--cacert", Cert.path, "--user", "bob"]
        rc, out, err = send(["-v"] + base + ["--password-file", pwfile], msg)
        check(name + ": --password-file: exit 0, sent", rc == 0 and ": sent: 250 " in out, (rc, out, err[-2000:]))
        delivered(name + ": stored byte for byte", sink.msgs(), as_sent(msg))
        log = sink.log()
        check(name + ": the sink saw TLS and the login", re.search(r"tls=TLSv1\.[23] auth=bob ", log), log[-800:])
        cmds = [l for l in err.splitlines() if l.startswith("smtp-send: C: ")]
        check(name + ": STARTTLS, then EHLO again, then AUTH (not shown in -v)",
              [c[14:18] for c in cmds[:4]] == ["EHLO", "STAR", "EHLO", "(AUT"], cmds[:6])
        check(name + ": the password appears nowhere in -v output",
              "Tr0ub4dor" not in err and "VHIwdWI0ZG9y" not in err and "AGJvYgBUcjB1YjRkb3Im" not in err, err[-2000:])
        sink.clear()
        rc, out, err = send(base, msg, env={"SMTP_PASSWORD": "Tr0ub4dor&3 horse"})
        check(name + ": $SMTP_PASSWORD: exit 0, stored", rc == 0 and [m for _, m in sink.msgs()] == [as_sent(msg)],
              (rc, out, err[-1500:]))
        sink.clear()
        rc, out, err = send(base, msg, env={"SMTP_PASSWORD": "wrong"})
        check(name + ": a wrong password: exit 77 (EX_NOPERM), bounced after AUTH: 535, nothing stored",
              rc == 77 and re.search(r"bounced after AUTH: 535 5\.7\.8", out) and not sink.msgs(), (rc, out, err))
        # certificate checks
        nocert = [a for a in base if a not in ("--cacert", Cert.path)]
        rc, out, err = send(nocert, msg, env={"SMTP_PASSWORD": "x"})
        check(name + ": without --cacert the self-signed certificate is refused: exit 75, deferred after TLS",
              rc == 75 and "deferred after TLS: TLS: certificate verification failed" in out and not sink.msgs(),
              (rc, out, err))
        rc, out, err = send(base + ["--tls-name", "mail.example.net"], msg, env={"SMTP_PASSWORD": "x"})
        check(name + ": a certificate for another name is refused (--tls-name)",
              rc == 75 and "certificate verification failed" in out and not sink.msgs(), (rc, out, err))
        rc, out, err = send(nocert + ["--insecure-skip-verify"], msg, env={"SMTP_PASSWORD": "Tr0ub4dor&3 horse"})
        check(name + ": --insecure-skip-verify takes any certificate", rc == 0 and len(sink.msgs()) == 1,
              (rc, out, err))
    finally:
        sink.stop()
    # --starttls against a server without it: nothing is sent in clear
    sink = Sink(sink_bin, tmp)
    try:
        rc, out, err = send(["-v", "--server", sink.server, "--from", "s@client.example", "--to", "r@example.org",
                             "--starttls"], message("no tls"))
        check("sink without STARTTLS: --starttls sends nothing: exit 75, deferred, no MAIL",
              rc == 75 and "deferred after STARTTLS: STARTTLS is required and the server does not offer it" in out
              and "C: MAIL" not in err and not sink.msgs(), (rc, out, err[-1500:]))
    finally:
        sink.stop()


def test_sink_refusals(sink_bin, tmp):
    sink = Sink(sink_bin, tmp, "--mailbox", "known@example.org", "--max-size", "5000")
    try:
        msg = message("refusals")
        rc, out, err = send(["--server", sink.server, "--from", "s@client.example", "--to", "known@example.org",
                             "--to", "nobody@example.org"], msg)
        lines = lines_of(out)
        check("sink refusals: one recipient refused: exit 67 (EX_NOUSER), the other sent",
              rc == 67 and len(lines) == 2 and ": sent: 250 " in lines[0]
              and lines[1].startswith("<nobody@example.org>: bounced after RCPT: 550 5.1.1 "), (rc, out, err))
        delivered("sink refusals: the message stored once, for the known one", sink.msgs(), as_sent(msg))
        sink.clear()
        rc, out, err = send(["--server", sink.server, "--from", "s@client.example", "--to", "nobody@example.org"], msg)
        check("sink refusals: every recipient refused: exit 67, nothing stored",
              rc == 67 and "bounced after RCPT: 550" in out and not sink.msgs(), (rc, out, err))
        big = message("too big", b"x" * 70 + b"\n") * 100
        rc, out, err = send(["--server", sink.server, "--from", "s@client.example", "--to", "known@example.org"], big)
        check("sink refusals: larger than SIZE 5000: exit 65 (EX_DATAERR), refused before MAIL",
              rc == 65 and re.search(r"bounced after MAIL: the message \(\d+ octets\) is larger than the server's "
                                     r"SIZE limit \(5000\)", out) and not sink.msgs(), (rc, out, err))
        rc, out, err = send(["-v", "--server", sink.server, "--from", "jörg@client.example", "--to", "known@example.org"],
                            "Subject: ünïcödé\n\nGrüße\n".encode())
        check("sink SMTPUTF8: a UTF-8 sender gets MAIL ... SMTPUTF8, stored byte for byte",
              rc == 0 and "C: MAIL FROM:<jörg@client.example> SIZE=" in err and " SMTPUTF8" in err
              and [m for _, m in sink.msgs()] == [as_sent("Subject: ünïcödé\n\nGrüße\n".encode())], (rc, out, err))
    finally:
        sink.stop()


# ---------------------------------------------------------------- aiosmtpd

class Aio:
    def __init__(self, py, tmp, *args):
        self.dir = tempfile.mkdtemp(prefix="aiosmtpd-", dir=tmp)
        self.port = free_port()
        self.server = "127.0.0.1:%d" % self.port
        self.logpath = os.path.join(self.dir, "log")
        self.log_f = open(self.logpath, "wb")
        self.proc = subprocess.Popen([py, os.path.join(HERE, "aiosmtpd_server.py"), "--port", str(self.port),
                                      "--out", self.dir] + list(args),
                                     stdout=subprocess.PIPE, stderr=self.log_f, stdin=subprocess.DEVNULL)
        line = self.proc.stdout.readline().decode()
        if not line.startswith("listening on"):
            self.stop()
            raise RuntimeError("aiosmtpd did not start: " + line + self.log())

    def log(self):
        with open(self.logpath, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def msgs(self):
        out = []
        for n in sorted(f for f in os.listdir(self.dir) if f.endswith(".eml")):
            with open(os.path.join(self.dir, n), "rb") as f:
                body = f.read()
            with open(os.path.join(self.dir, n[:-4] + ".env"), encoding="utf-8") as f:
                out.append((f.read(), body))
        return out

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log_f.close()


def test_aiosmtpd(tmp):
    py = python_with("aiosmtpd")
    if not py:
        skip("aiosmtpd", "no python3 with aiosmtpd (Debian: python3-aiosmtpd)")
        return
    msg = message("aiosmtpd", dotted_body(300000, seed=5))
    srv = Aio(py, tmp)
    try:
        rc, out, err = send(["-v", "--server", srv.server, "--from", "sender@client.example",
                             "--to", "a@example.org", "--to", "b@example.org"], msg)
        got = srv.msgs()
        check("aiosmtpd plain: exit 0, both recipients sent", rc == 0 and out.count(": sent: 250 2.0.0 OK stored") == 2,
              (rc, out, err[-1500:], srv.log()[-1500:]))
        check("aiosmtpd plain: one message, byte for byte, the envelope as given",
              len(got) == 1 and got[0][1] == as_sent(msg)
              and got[0][0].startswith("MAIL <sender@client.example>\nRCPT <a@example.org>\nRCPT <b@example.org>\n"),
              [(e, len(b)) for e, b in got])
        rc, out, err = send(["--server", srv.server, "--from", "s@client.example", "--to", "a@example.org",
                             "--user", "bob"], msg, env={"SMTP_PASSWORD": "pw"})
        check("aiosmtpd plain: --user against a server without AUTH: exit 69, nothing sent",
              rc == 69 and "bounced after EHLO: the server does not offer AUTH" in out and len(srv.msgs()) == 1,
              (rc, out, err))
    finally:
        srv.stop()

    srv = Aio(py, tmp, "--user", "bob:s3cret pass", "--plaintext-auth")
    try:
        rc, out, err = send(["--server", srv.server, "--from", "s@client.example", "--to", "a@example.org",
                             "--user", "bob"], msg, env={"SMTP_PASSWORD": "s3cret pass"})
        check("aiosmtpd AUTH without TLS: refused here unless --allow-plaintext-auth: exit 69, no AUTH sent",
              rc == 69 and "bounced after AUTH: AUTH not sent" in out and not srv.msgs(), (rc, out, err))
        rc, out, err = send(["--server", srv.server, "--from", "s@client.example", "--to", "a@example.org",
                             "--user", "bob", "--allow-plaintext-auth"], msg, env={"SMTP_PASSWORD": "s3cret pass"})
        got = srv.msgs()
        check("aiosmtpd AUTH with --allow-plaintext-auth: sent, logged in as bob, byte for byte",
              rc == 0 and len(got) == 1 and "AUTH bob" in got[0][0] and got[0][1] == as_sent(msg),
              (rc, out, err[-1500:], srv.log()[-1500:]))
    finally:
        srv.stop()

    token = "ya29.a0AfH6SMB-test-token"
    tokfile = os.path.join(tmp, "token")
    with open(tokfile, "w") as f:
        f.write(token + "\n")
    for mech in ("XOAUTH2", "OAUTHBEARER"):
        srv = Aio(py, tmp, "--user", "bob@example.org:unused", "--plaintext-auth", "--oauth", mech, token)
        try:
            args = ["-v", "--server", srv.server, "--from", "s@client.example", "--to", "a@example.org",
                    "--user", "bob@example.org", "--allow-plaintext-auth", "--xoauth2-token-file", tokfile]
            rc, out, err = send(args, msg)
            got = srv.msgs()
            check("aiosmtpd %s (--xoauth2-token-file): sent, logged in, byte for byte, token not in -v" % mech,
                  rc == 0 and len(got) == 1 and "AUTH bob@example.org" in got[0][0] and got[0][1] == as_sent(msg)
                  and "C: (AUTH" in err and token not in err, (rc, out, err[-1500:], srv.log()[-1500:]))
            with open(tokfile + ".bad", "w") as f:
                f.write("expired-token\n")
            rc, out, err = send(args[:-1] + [tokfile + ".bad"], msg)
            check("aiosmtpd %s with a bad token: the error challenge answered, 535: exit 77" % mech,
                  rc == 77 and "bounced after AUTH: 535" in out and len(srv.msgs()) == 1 and "S: 334 " in err
                  and "%s error challenge answered %r" % (mech, b"" if mech == "XOAUTH2" else b"\x01") in srv.log(),
                  (rc, out, err[-1500:], srv.log()[-1500:]))
        finally:
            srv.stop()

    if not tls_built() or not Cert.path:
        skip("aiosmtpd STARTTLS, implicit TLS", "no OpenSSL in smtp-send" if not tls_built() else Cert.why)
        return
    srv = Aio(py, tmp, "--user", "bob:s3cret pass", "--starttls", Cert.path, Cert.key)
    try:
        rc, out, err = send(["-v", "--server", srv.server, "--from", "s@client.example", "--to", "a@example.org",
                             "--starttls", "--cacert", Cert.path, "--user", "bob"], msg,
                            env={"SMTP_PASSWORD": "s3cret pass"})
        got = srv.msgs()
        check("aiosmtpd STARTTLS + AUTH: sent, logged in as bob, byte for byte",
              rc == 0 and len(got) == 1 and "AUTH bob" in got[0][0] and got[0][1] == as_sent(msg)
              and "smtp-send: TLS: TLSv1." in err, (rc, out, err[-1500:], srv.log()[-1500:]))
        rc, out, err = send(["--server", srv.server, "--from", "s@client.example", "--to", "a@example.org",
                             "--starttls", "--cacert", Cert.path, "--user", "bob"], msg,
                            env={"SMTP_PASSWORD": "wrong"})
        check("aiosmtpd STARTTLS + AUTH: a wrong password: exit 77, bounced after AUTH: 535",
              rc == 77 and "bounced after AUTH: 535" in out and len(srv.msgs()) == 1, (rc, out, err))
    finally:
        srv.stop()
    srv = Aio(py, tmp, "--smtps", Cert.path, Cert.key)
    try:
        rc, out, err = send(["--server", srv.server, "--from", "s@client.example", "--to", "a@example.org",
                             "--tls", "--cacert", Cert.path], msg)
        got = srv.msgs()
        check("aiosmtpd implicit TLS (--tls): sent, byte for byte",
              rc == 0 and len(got) == 1 and got[0][1] == as_sent(msg), (rc, out, err[-1500:], srv.log()[-1500:]))
    finally:
        srv.stop()


# ---------------------------------------------------------------- Postfix

MASTER_CF = """{listen} inet n - n - - smtpd
cleanup   unix n - n - 0 cleanup
qmgr      unix n - n 300 1 qmgr
tlsmgr    unix - - n 1000? 1 tlsmgr
rewrite   unix - - n - - trivial-rewrite
bounce    unix - - n - 0 bounce
defer     unix - - n - 0 bounce
trace     unix - - n - 0 bounce
verify    unix - - n - 1 verify
flush     unix n - n 1000? 0 flush
proxymap  unix - - n - - proxymap
showq     unix n - n - - showq
error     unix - - n - - error
retry     unix - - n - - error
discard   unix - - n - - discard
virtual   unix - n n - - virtual
anvil     unix - - n - 1 anvil
scache    unix - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
"""

MAIN_CF = """compatibility_level = 3.6
queue_directory = {d}/spool
data_directory = {d}/data
meta_directory = /etc/postfix
maillog_file = {d}/maillog
maillog_file_prefixes = {d}
myhostname = mx.example.test
mydomain = example.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = reject_unauth_destination
default_transport = error:this test delivers nothing off the machine
relay_transport = error:this test delivers nothing off the machine
alias_maps =
alias_database =
local_header_rewrite_clients =
smtpd_recipient_limit = 100
virtual_mailbox_domains = example.org
virtual_mailbox_base = {d}/mail
virtual_mailbox_maps = static:Maildir/
virtual_uid_maps = static:{uid}
virtual_gid_maps = static:{gid}
smtputf8_enable = yes
smtpd_tls_security_level = may
smtpd_tls_cert_file = {cert}
smtpd_tls_key_file = {key}
"""


class Postfix:
    """A private Postfix: config, queue and Maildir under one directory."""

    def __init__(self, tmp):
        self.d = tempfile.mkdtemp(prefix="postfix-", dir=tmp)
        os.chmod(self.d, 0o755)
        self.etc = os.path.join(self.d, "etc")
        self.port = free_port()
        self.server = "127.0.0.1:%d" % self.port
        self.maildir = os.path.join(self.d, "mail", "Maildir")
        import pwd
        nobody = pwd.getpwnam("nobody")
        postfix_uid = pwd.getpwnam("postfix").pw_uid
        for sub in ("etc", "spool", "data", "mail"):
            os.mkdir(os.path.join(self.d, sub), 0o755)
        os.chown(os.path.join(self.d, "data"), postfix_uid, -1)
        os.chown(os.path.join(self.d, "mail"), nobody.pw_uid, nobody.pw_gid)
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            f.write(MAIN_CF.format(d=self.d, uid=nobody.pw_uid, gid=nobody.pw_gid,
                                   cert=Cert.path or "", key=Cert.key or ""))
            if not Cert.path:
                f.write("smtpd_tls_security_level = none\n")
        with open(os.path.join(self.etc, "master.cf"), "w") as f:
            f.write(MASTER_CF.format(listen=self.server))
        self.proc = None
        r = subprocess.run(["postfix", "-c", self.etc, "check"], capture_output=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError("postfix check failed: %s\n%s" % (r.stderr.decode(errors="replace"), self.log()))
        self.proc = subprocess.Popen(["postfix", "-c", self.etc, "start-fg"], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def up():
            if self.proc.poll() is not None:
                return "exited"
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return "up"
            except OSError:
                return None
        if wait_for(up, 30) != "up":
            raise RuntimeError("postfix did not start:\n" + self.log())

    def log(self):
        try:
            with open(os.path.join(self.d, "maillog"), "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return "(no maillog)"

    def msgs(self, n, timeout=30):
        """Waits until n messages are in the Maildir: (trace, message) with LF line ends."""
        wait_for(lambda: len(maildir_msgs(self.maildir, b"\n")) >= n, timeout)
        return maildir_msgs(self.maildir, b"\n")

    def clear(self):
        d = os.path.join(self.maildir, "new")
        for n in os.listdir(d) if os.path.isdir(d) else []:
            os.unlink(os.path.join(d, n))

    def stop(self):
        subprocess.run(["postfix", "-c", self.etc, "stop"], capture_output=True, timeout=60)
        if self.proc:
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                subprocess.run(["postfix", "-c", self.etc, "abort"], capture_output=True, timeout=60)
                self.proc.kill()
                self.proc.wait()


def as_stored_lf(msg):
    return as_sent(msg).replace(b"\r\n", b"\n")


def test_postfix(tmp):
    if not shutil.which("postfix") and not os.path.exists("/usr/sbin/postfix"):
        skip("Postfix", "postfix not installed (Debian: postfix)")
        return
    if os.geteuid() != 0:
        skip("Postfix", "Postfix's master runs as root; this test is not root")
        return
    os.environ["PATH"] += ":/usr/sbin:/sbin"
    pf = Postfix(tmp)
    ok_all = True
    try:
        msg = message("postfix plain", dotted_body(200000, seed=9))
        rc, out, err = send(["-v", "--server", pf.server, "--from", "sender@client.example",
                             "--to", "rcpt@example.org"], msg)
        ok_all &= check("Postfix plain: exit 0, sent: 250 2.0.0 Ok: queued as",
                        rc == 0 and re.search(r": sent: 250 2\.0\.0 Ok: \d+ bytes queued as ", out),
                        (rc, out, err[-1500:]))
        ok_all &= check("Postfix plain: CHUNKING and PIPELINING offered and used",
                        "S: 250 CHUNKING" in err and "C: BDAT " in err, err[-1500:])
        ok_all &= delivered("Postfix plain: delivered to the Maildir byte for byte (LF line ends)", pf.msgs(1),
                            as_stored_lf(msg))
        pf.clear()
        rc, out, err = send(["--server", pf.server, "--from", "sender@client.example", "--to", "rcpt@example.org",
                             "--no-chunking"], msg)
        ok_all &= delivered("Postfix plain over DATA: delivered byte for byte", pf.msgs(1) if rc == 0 else [],
                            as_stored_lf(msg))

        rc, out, err = send(["--server", pf.server, "--from", "sender@client.example", "--to", "rcpt@example.org",
                             "--to", "someone@elsewhere.example"], msg)
        # 554 to RCPT: not in RFC 5321 4.3.2's RCPT row, but what Postfix says
        ok_all &= check("Postfix relay refused: exit 67, the other recipient sent, the stranger bounced "
                        "after RCPT: 554 5.7.1 Relay access denied",
                        rc == 67 and ": sent: 250 " in out
                        and re.search(r"<someone@elsewhere\.example>: bounced after RCPT: 554 5\.7\.1 .*Relay access "
                                      r"denied", out),
                        (rc, out, err[-1500:]))
        pf.clear()
        many = message("postfix 150")
        to = []
        for i in range(150):
            to += ["--to", "u%03d@example.org" % i]
        rc, out, err = send(["-v", "--server", pf.server, "--from", "sender@client.example"] + to, many)
        lines = lines_of(out)
        ids = sorted(set(re.findall(r"queued as (\S+)", out)))
        ok_all &= check("Postfix 150 recipients, smtpd_recipient_limit 100: 452 4.5.3, then a second "
                        "transaction: exit 0, 150 sent, two queue ids",
                        rc == 0 and len(lines) == 150 and all(": sent: 250 " in l for l in lines) and len(ids) == 2
                        and "S: 452 4.5.3 Error: too many recipients" in err, (rc, out[-800:], err[-1500:]))
        ok_all &= check("Postfix 150 recipients: 150 deliveries of the same bytes",
                        (lambda m: len(m) == 150 and all(b == as_stored_lf(many) for _, b in m))(pf.msgs(150)),
                        len(pf.msgs(0)))

        pf.clear()
        u = "Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\nFrom: jörg@client.example\nTo: 用户@example.org\n" \
            "Message-ID: <utf8@client.example>\nDate: Mon, 23 Nov 2026 10:00:00 +0000\n\nGrüße, мир!\n"
        rc, out, err = send(["-v", "--server", pf.server, "--from", "jörg@client.example",
                             "--to", "用户@example.org"], u.encode())
        ok_all &= check("Postfix SMTPUTF8: MAIL ... SMTPUTF8 for UTF-8 addresses, sent",
                        rc == 0 and re.search(r"C: MAIL FROM:<jörg@client\.example> SIZE=\d+ SMTPUTF8", err)
                        and "<用户@example.org>: sent: 250 " in out, (rc, out, err[-1500:]))
        got = pf.msgs(1)
        ok_all &= delivered("Postfix SMTPUTF8: delivered byte for byte", got, as_stored_lf(u.encode()))
        ok_all &= check("Postfix SMTPUTF8: Delivered-To names the UTF-8 mailbox",
                        got and "Delivered-To: 用户@example.org".encode() in got[0][0], got[:1])

        if not tls_built() or not Cert.path:
            skip("Postfix STARTTLS", "no OpenSSL in smtp-send" if not tls_built() else Cert.why)
        else:
            pf.clear()
            rc, out, err = send(["-v", "--server", pf.server, "--from", "sender@client.example",
                                 "--to", "rcpt@example.org", "--starttls", "--cacert", Cert.path], msg)
            ok_all &= check("Postfix STARTTLS: certificate verified, sent",
                            rc == 0 and "smtp-send: TLS: TLSv1." in err and ": sent: 250 " in out,
                            (rc, out, err[-1500:]))
            got = pf.msgs(1)
            ok_all &= delivered("Postfix STARTTLS: delivered byte for byte", got, as_stored_lf(msg))
            ok_all &= check("Postfix STARTTLS: Received: says ESMTPS",
                            got and b"with ESMTPS id " in got[0][0], got[:1])
        ok_all &= check("Postfix: no sanitizer report", sanitizer_quiet(err), err[-1500:])
    finally:
        pf.stop()
        if not ok_all:
            print("--- Postfix maillog:\n" + pf.log()[-4000:], flush=True)


# ---------------------------------------------------------------- scripted servers

class Scripted:
    """A one-connection server on loopback run by fn(conn) in a thread."""

    def __init__(self, fn, rcvbuf=None):
        self.ls = socket.socket()
        if rcvbuf:
            self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(1)
        self.server = "127.0.0.1:%d" % self.ls.getsockname()[1]
        self.got = b""
        self.t = threading.Thread(target=self.run, args=(fn,), daemon=True)
        self.t.start()

    def run(self, fn):
        try:
            c, _ = self.ls.accept()
            c.settimeout(20)
            fn(self, c)
        except OSError:
            pass

    def line(self, c):
        while b"\n" not in self.got:
            d = c.recv(65536)
            if not d:
                raise EOFError
            self.got += d
        l, self.got = self.got.split(b"\n", 1)
        return l

    def close(self):
        self.ls.close()


def test_scripted():
    base = ["--from", "s@client.example", "--to", "r@example.org"]

    def silent_after_ehlo(s, c):
        c.sendall(b"220 scripted ESMTP\r\n")
        s.line(c)
        time.sleep(5)
    srv = Scripted(silent_after_ehlo)
    t0 = time.time()
    rc, out, err = send(["--server", srv.server, "--timeout-cmd", "0.5"] + base, message("timeout"))
    check("timeout: no reply to EHLO within --timeout-cmd 0.5: exit 75 at once, deferred after EHLO",
          rc == 75 and "deferred after EHLO: timed out waiting for the reply to EHLO" in out and time.time() - t0 < 4,
          (rc, out, err, time.time() - t0))
    srv.close()

    def lockstep(s, c, end_reply=True, read_data=True):
        c.sendall(b"220 scripted ESMTP\r\n")
        s.line(c)
        c.sendall(b"250-scripted\r\n250 8BITMIME\r\n")
        for want in (b"MAIL", b"RCPT", b"DATA"):
            l = s.line(c)
            if not l.startswith(want):
                return
            c.sendall(b"354 go ahead\r\n" if want == b"DATA" else b"250 ok\r\n")
        if not read_data:
            time.sleep(5)
            return
        while s.line(c) != b".\r":
            pass
        if end_reply:
            c.sendall(b"250 ok\r\n")
        time.sleep(5)

    srv = Scripted(lambda s, c: lockstep(s, c, end_reply=False))
    t0 = time.time()
    rc, out, err = send(["--server", srv.server, "--timeout-end", "0.5"] + base, message("end timeout"))
    check("timeout: no verdict within --timeout-end 0.5: exit 75, deferred after end of data",
          rc == 75 and "deferred after end of data: timed out waiting for the reply to end of data" in out
          and time.time() - t0 < 4, (rc, out, err))
    srv.close()

    srv = Scripted(lambda s, c: lockstep(s, c, read_data=False), rcvbuf=4096)
    big = message("data timeout", b"a line of text that the server never reads\n" * 200000)  # 8.6 MB
    t0 = time.time()
    rc, out, err = send(["--server", srv.server, "--timeout-data", "0.5"] + base, big)
    check("timeout: the server stops reading the data: --timeout-data 0.5: exit 75, deferred",
          rc == 75 and "deferred after DATA: timed out sending the message" in out and time.time() - t0 < 6, (rc, out, err[-500:]))
    srv.close()

    srv = Scripted(lambda s, c: lockstep(s, c))
    rc, out, err = send(["-v", "--server", srv.server, "--from", "", "--to", "用户@example.org",
                         "--to", "r@example.org"], message("no smtputf8"))
    lines = lines_of(out)
    check("no SMTPUTF8 offered: the UTF-8 address is bounced, the other sent with MAIL FROM:<>: exit 69",
          rc == 69 and len(lines) == 2
          and lines[0] == "<用户@example.org>: bounced after EHLO: the server does not offer SMTPUTF8, which "
                          "this address needs"
          and lines[1].startswith("<r@example.org>: sent: 250 ok") and "C: MAIL FROM:<>\n" in err
          and "SMTPUTF8" not in err.split("C: MAIL", 1)[-1].split("\n")[0], (rc, out, err))
    srv.close()

    def broken(s, c):
        c.sendall(b"220 scripted ESMTP\r\n")
        s.line(c)
        c.sendall(b"250 ok\r\n")
        s.line(c)
        c.sendall(b"hello there\r\n")
        time.sleep(2)
    srv = Scripted(broken)
    rc, out, err = send(["--server", srv.server] + base, message("broken"))
    check("a malformed reply: exit 76 (EX_PROTOCOL), 'broke the protocol'",
          rc == 76 and "the server broke the protocol" in out, (rc, out, err))
    srv.close()

    def refuse(s, c):
        c.sendall(b"554 5.7.1 go away\r\n")
        try:
            s.line(c)
        except (EOFError, OSError):
            pass
    srv = Scripted(refuse)
    rc, out, err = send(["--server", srv.server] + base, message("refused"))
    check("greeting 554: exit 69 (EX_UNAVAILABLE), bounced after greeting",
          rc == 69 and "bounced after greeting: 554 go away" in out.replace("5.7.1 ", ""), (rc, out, err))
    srv.close()

    port = free_port()
    rc, out, err = send(["--server", "127.0.0.1:%d" % port] + base, message("refused"))
    check("nobody listening: exit 75, deferred after connect",
          rc == 75 and "deferred after connect: 127.0.0.1:%d: connect: Connection refused" % port in out, (rc, out))


def test_usage(tmp):
    def run(args, env=None, msg=b"Subject: x\n\nx\n"):
        return send(args, msg, env=env, timeout=20)
    base = ["--server", "127.0.0.1:1", "--from", "s@client.example", "--to", "r@example.org"]
    cases = [
        ([], 64, "--server, --from and at least one --to are needed"),
        (base + ["--password", "x"], 64, "secrets are never taken from the command line"),
        (base[:4], 64, "at least one --to"),
        (["--server", "127.0.0.1:1", "--from", "s@client.example", "--to", "not an address"], 64,
         "--to: 'not an address' is not a mailbox"),
        (["--server", "127.0.0.1:99999"] + base[2:], 64, "--server: expected HOST:PORT with a port from 1 to 65535"),
        (base + ["--timeout-cmd", "0"], 64, "--timeout-cmd: expected a number of seconds from 0.01 to 86400"),
        (base + ["--file", os.path.join(tmp, "nonexistent")], 66, "--file"),
        (base + ["--user", "bob"], 64, "--user needs a password"),
        (base + ["--tls", "--starttls"], 64, "exclude each other"),
        (base + ["--cacert", "x"], 64, "need --starttls or --tls"),
        (base + ["--no-such"], 64, "unknown option '--no-such'"),
    ]
    bad = []
    for args, want_rc, want in cases:
        rc, out, err = run(args)
        if rc != want_rc or want not in err or out:
            bad.append((args, rc, err[:300]))
    check("usage: %d bad command lines refused with 64/66 and a message naming the problem" % len(cases), not bad, bad)
    usage = subprocess.run([SEND, "--help"], capture_output=True).stdout.decode()
    check("--help documents the exit statuses and the time limits",
          all(w in usage for w in ("75 (EX_TEMPFAIL)", "67 (EX_NOUSER)", "65 (EX_DATAERR)", "69",
                                   "--timeout-cmd SEC", "--timeout-data SEC", "--timeout-end SEC",
                                   "--insecure-skip-verify", "--password-file", "SMTP_PASSWORD",
                                   "--xoauth2-token-file")), usage)
    # built without OpenSSL: the TLS options are refused, the rest works
    build = tempfile.mkdtemp(prefix="notls-", dir=tmp)
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")}
    r = subprocess.run(["make", "-C", ROOT, "--no-print-directory", "BUILD=" + build, "SINK_TLS=0",
                        os.path.join(build, "smtp-send")], capture_output=True, timeout=300, env=env)
    binary = os.path.join(build, "smtp-send")
    if r.returncode != 0:
        check("SINK_TLS=0 builds smtp-send without OpenSSL", False, r.stderr[-1500:])
        return
    p = subprocess.run([binary, "--starttls"] + base, input=b"x\n", capture_output=True, timeout=20)
    help_text = subprocess.run([binary, "--help"], capture_output=True).stdout
    check("without OpenSSL: --starttls is refused clearly (exit 64), --help says so",
          p.returncode == 64 and b"built without OpenSSL" in p.stderr and b"built without OpenSSL" in help_text,
          (p.returncode, p.stderr))


def held(top, domain):
    """The messages smtp-sink holds for domain: the octets it will hand over
    (after the envelope lines and the empty line of its hold file)."""
    d = os.path.join(top, "hold", domain)
    out = []
    for n in sorted(os.listdir(d)) if os.path.isdir(d) else []:
        with open(os.path.join(d, n), "rb") as f:
            data = f.read()
        out.append(data[data.index(b"\n\n") + 2:])
    return out


def collect(args, sink, maildir, env=None):
    os.makedirs(maildir, exist_ok=True)
    for sub in ("tmp", "new", "cur"):
        os.makedirs(os.path.join(maildir, sub), exist_ok=True)
    rc, out, err = send(["--server", sink.server, "--maildir", maildir] + args, b"", env=env)
    got = []
    for n in sorted(os.listdir(os.path.join(maildir, "new"))):
        with open(os.path.join(maildir, "new", n), "rb") as f:
            got.append(f.read())
        os.unlink(os.path.join(maildir, "new", n))
    return rc, out, err, got


def test_turn(sink_bin, tmp):
    """smtp-send sends to domains smtp-sink holds, then collects them with
    ATRN and TURN: the roles reverse on the same connection and the mail
    comes back byte for byte into smtp-send's Maildir."""
    name = "TURN/ATRN"
    tls = bool(Cert.path) and tls_built()
    extra = ["--tls-cert", Cert.path, "--tls-key", Cert.key] if tls else []
    d = tempfile.mkdtemp(prefix="turn-", dir=tmp)
    sink = Sink(sink_bin, tmp, "--hold-dir", os.path.join(d, "hold"), "--hold", "example.org=bob",
                "--hold", "c.example", "--turn", "--user", "bob:pw 1", *extra)
    pw = {"SMTP_PASSWORD": "pw 1"}
    auth = ["--user", "bob"] + (["--starttls", "--cacert", Cert.path] if tls else ["--allow-plaintext-auth"])
    try:
        msg = message("held for you", dotted_body(300000, seed=7) + b"\n.\n..\nno LF at the end")
        rc, out, err = send(["--server", sink.server, "--from", "s@client.example", "--to", "you@example.org",
                             "--to", "me@c.example", "--to", "local@example.net"], msg)
        check(name + ": mail to two held domains and a local one: sent", rc == 0 and out.count(": sent: ") == 3,
              (rc, out, err[-1500:]))
        want_org, want_c = held(d, "example.org"), held(d, "c.example")
        check(name + ": the sink holds one copy per held domain, the local copy is in its Maildir",
              len(want_org) == 1 and len(want_c) == 1 and len(sink.msgs()) == 1, (len(want_org), len(want_c)))
        maildir = os.path.join(d, "collected")
        rc, out, err, got = collect(auth + ["--atrn", "example.org"], sink, maildir, env=pw)
        check(name + ": ATRN example.org after AUTH%s: exit 0, one message received" % (" over STARTTLS" if tls else ""),
              rc == 0 and "ATRN accepted" in out and "1 message(s) received" in out, (rc, out, err[-2000:]))
        check(name + ": ATRN: the held message arrives byte for byte", got == want_org,
              [len(g) for g in got] + [len(w) for w in want_org])
        check(name + ": ATRN: the sink no longer holds it", held(d, "example.org") == [],
              sink.log()[-800:])
        rc, out, err, got = collect(["--helo", "c.example", "--turn"], sink, maildir)
        check(name + ": TURN as c.example: exit 0, the held message byte for byte, no longer held",
              rc == 0 and got == want_c and held(d, "c.example") == [], (rc, out, err[-2000:]))
        rc, out, err, got = collect(["--helo", "c.example", "--turn"], sink, maildir)
        check(name + ": TURN with nothing held: 502, exit 69, nothing received",
              rc == 69 and "refused: 502" in out and got == [], (rc, out, err[-1000:]))
        rc, out, err, got = collect(auth + ["--atrn="], sink, maildir, env=pw)
        check(name + ": a bare ATRN with nothing held: 453, exit 0 (no mail waiting)",
              rc == 0 and "no mail waiting: 453" in out and got == [], (rc, out, err[-1000:]))
        rc, out, err, got = collect(["--atrn", "example.org"], sink, maildir)
        check(name + ": --atrn without --user: exit 64 before connecting", rc == 64 and got == [], (rc, err))
        check(name + ": no sanitizer report", sanitizer_quiet(err), err[-2000:])
    finally:
        sink.stop()


def main():
    global SEND
    ap = argparse.ArgumentParser()
    ap.add_argument("--send", required=True)
    ap.add_argument("--sink", required=True)
    ap.add_argument("-k", default="")
    a = ap.parse_args()
    SEND = os.path.abspath(a.send)
    tmp = tempfile.mkdtemp(prefix="smtp-send-test-")
    os.chmod(tmp, 0o755)  # Postfix's virtual(8) runs as nobody below it
    t0 = time.time()
    Cert.make(tmp)
    tests = [("sink plain", test_sink_plain, (a.sink, tmp)), ("sink many", test_sink_many, (a.sink, tmp)),
             ("sink big", test_sink_big, (a.sink, tmp)), ("sink tls", test_sink_tls, (a.sink, tmp)),
             ("sink refusals", test_sink_refusals, (a.sink, tmp)), ("turn", test_turn, (a.sink, tmp)), ("aiosmtpd", test_aiosmtpd, (tmp,)),
             ("postfix", test_postfix, (tmp,)), ("scripted", test_scripted, ()), ("usage", test_usage, (tmp,))]
    try:
        for label, fn, args in tests:
            if a.k and a.k not in label:
                continue
            try:
                fn(*args)
            except Exception:  # noqa: BLE001 - a crash is a failure; the suite goes on
                check(label + ": ran to the end", False, traceback.format_exc())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("(%.1f s, %d skipped)" % (time.time() - t0, SKIPPED))
    print("send: %d passed, %d failed" % (PASSED, FAILED))
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
