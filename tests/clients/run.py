#!/usr/bin/env python3
"""Real-client tests of build/smtp-sink (issue 4).

Starts the sink on free loopback ports (--listen 127.0.0.1:0, the port is
read from its "listening on" log line) with --maildir in a temporary
directory, delivers with real client software, and compares every stored
message byte for byte with what was sent, after the trace lines.

    python3 tests/clients/run.py --sink build/smtp-sink-asan \
        [--sink build/smtp-sink-clang-asan ...] [-k PATTERN]

STARTTLS and AUTH (issue 5): a self-signed certificate is made at run time
with `openssl req`; smtplib, curl, swaks and msmtp deliver through STARTTLS
with AUTH PLAIN and LOGIN, trusting only that certificate; scripted clients
(python ssl over a raw socket) check what no client does on purpose: the
pipelined-plaintext injection of CVE-2011-0411, failed and missing
handshakes, --require-tls, BDAT and pipelining over TLS read 7 octets at a
time (SSL_pending), and back-pressure under TLS.

TURN and ATRN (--hold, --turn): a scripted peer (plain sockets) asks for
the held mail, then acts as the receiver the sink delivers to on the same
connection, and checks each message byte for byte, the refusals, and that
a message it refuses stays held.

Prints one "ok"/"FAIL" line per check, "SKIP: ..." for clients that are not
installed (never counted as passed), and ends with "sink: N passed, N failed";
exits 1 when a check failed.
"""
import argparse
import base64
import concurrent.futures
import os
import random
import re
import select
import shutil
import signal
import smtplib
import socket
import ssl
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


PREFIX = ""  # which build of the sink runs, e.g. "[smtp-sink-asan] "


def check(name, cond, detail=""):
    """Counts one check; the detail says what was wrong."""
    global PASSED, FAILED
    if cond:
        PASSED += 1
        print("ok   " + PREFIX + name, flush=True)
    else:
        FAILED += 1
        print("FAIL " + PREFIX + name + (": " + str(detail) if detail else ""), flush=True)
    return bool(cond)


def skip(name, why):
    global SKIPPED
    SKIPPED += 1
    print("SKIP: %s%s: %s" % (PREFIX, name, why), flush=True)


# ---------------------------------------------------------------- the sink

class Sink:
    """One smtp-sink process on a free loopback port."""

    def __init__(self, binary, tmp, *args, maildir=True, name="sink"):
        self.dir = tempfile.mkdtemp(prefix=name + "-", dir=tmp)
        self.maildir = os.path.join(self.dir, "Maildir") if maildir else None
        self.logpath = os.path.join(self.dir, "stderr.log")
        cmd = [binary, "--listen", "127.0.0.1:0"]
        if self.maildir:
            cmd += ["--maildir", self.maildir]
        cmd += list(args)
        self.log_f = open(self.logpath, "wb")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=self.log_f)
        self.port = None
        deadline = time.time() + 10
        while time.time() < deadline:
            m = re.search(r"listening on 127\.0\.0\.1:(\d+)", self.log())
            if m:
                self.port = int(m.group(1))
                break
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        if self.port is None:
            self.proc.kill()
            raise RuntimeError("sink did not start: " + self.log())

    def log(self):
        with open(self.logpath, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def wait_log(self, pattern, timeout=10.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if re.search(pattern, self.log()):
                return True
            time.sleep(0.02)
        return False

    def new(self):
        d = os.path.join(self.maildir, "new")
        return sorted(os.path.join(d, n) for n in os.listdir(d))

    def tmp_files(self):
        return os.listdir(os.path.join(self.maildir, "tmp"))

    def clear(self):
        for p in self.new():
            os.unlink(p)

    def stop(self, name):
        """SIGTERM; checks the exit status and that the sanitizers were quiet."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = "hung"
        self.log_f.close()
        log = self.log()
        bad = [l for l in log.splitlines()
               if "Sanitizer" in l or "runtime error" in l or "SUMMARY" in l]
        check(name + ": sink exits 0 on SIGTERM, no sanitizer report",
              rc == 0 and not bad, "rc=%s %s" % (rc, "\n".join(bad[:20])))


def split_trace(data):
    """Splits a stored message into (trace lines, message): Return-Path:
    first, then Received: with its folded continuation lines."""
    lines = data.split(b"\r\n")
    i = 0
    if lines and lines[0].startswith(b"Return-Path: "):
        i = 1
    if i < len(lines) and lines[i].startswith(b"Received: "):
        i += 1
        while i < len(lines) and lines[i][:1] in (b"\t", b" "):
            i += 1
    return b"\r\n".join(lines[:i]) + b"\r\n", b"\r\n".join(lines[i:])


def read_msg(path):
    with open(path, "rb") as f:
        return split_trace(f.read())


def stored(sink):
    """{message: [trace, ...]} of everything in new/."""
    out = {}
    for p in sink.new():
        trace, msg = read_msg(p)
        out.setdefault(msg, []).append(trace)
    return out


def expect_stored(name, sink, sent, exact_count=True):
    """Every message in `sent` (a list of bytes) is in new/ exactly once."""
    got = stored(sink)
    missing = [m for m in sent if m not in got]
    twice = [m for m in sent if len(got.get(m, [])) > 1]
    extra = len(sink.new()) - len(sent)
    ok = not missing and not twice and (extra == 0 or not exact_count)
    detail = "missing %d, twice %d, files %d for %d sent" % (
        len(missing), len(twice), len(sink.new()), len(sent))
    if missing and got:
        detail += "; first missing %r; first stored %r" % (
            missing[0][:200], next(iter(got))[:200])
    return check(name, ok, detail)


# ---------------------------------------------------------------- raw client

class Raw:
    """A plain socket client that reads replies line by line."""

    def __init__(self, port, timeout=10):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def send(self, b):
        self.s.sendall(b)

    def line(self):
        while b"\r\n" not in self.buf:
            d = self.s.recv(65536)
            if not d:
                raise EOFError("closed; pending %r" % self.buf)
            self.buf += d
        l, self.buf = self.buf.split(b"\r\n", 1)
        return l

    def reply(self):
        """One whole reply: (code, [lines])."""
        lines = [self.line()]
        while len(lines[-1]) > 3 and lines[-1][3:4] == b"-":
            lines.append(self.line())
        return int(lines[-1][:3]), lines

    def code(self):
        return self.reply()[0]

    def eof(self, timeout=5):
        """True when the server closes (after any pending bytes)."""
        self.s.settimeout(timeout)
        try:
            while True:
                d = self.s.recv(65536)
                if not d:
                    return True
                self.buf += d
        except (socket.timeout, OSError):
            return False

    def close(self):
        self.s.close()


def codes_of(out):
    """Reply codes of a byte stream of replies (last line of each)."""
    codes = []
    for l in out.split(b"\r\n"):
        if len(l) >= 4 and l[3:4] == b" ":
            codes.append(int(l[:3]))
    return codes


def body_lines(n, width=70, seed=1):
    """n CRLF-terminated printable lines, some beginning with a dot."""
    r = random.Random(seed)
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;-"
    out = []
    for i in range(n):
        l = "".join(r.choice(alphabet) for _ in range(r.randint(0, width)))
        if i % 7 == 3:
            l = "." + l
        out.append(l.encode() + b"\r\n")
    return b"".join(out)


def message(subject, body=b"Hello.\r\n", extra=b""):
    return (b"From: Sender <sender@client.example>\r\n"
            b"To: rcpt@sink.example\r\n"
            b"Subject: " + subject.encode() + b"\r\n" + extra +
            b"Message-ID: <" + subject.replace(" ", ".").encode() + b"@client.example>\r\n"
            b"Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n"
            b"\r\n" + body)


# ---------------------------------------------------------------- --stdio

def run_stdio(binary, data, args=(), chunks=None, timeout=30):
    """Runs `smtp-sink --stdio` on data (whole, or in the given chunks with a
    pause between them); returns (stdout, stderr, exit status)."""
    p = subprocess.Popen([binary, "--stdio"] + list(args), stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if chunks is None:
        out, err = p.communicate(data, timeout=timeout)
        return out, err, p.returncode
    res = {}

    def reader(name, f):
        res[name] = f.read()
    ts = [threading.Thread(target=reader, args=("out", p.stdout)),
          threading.Thread(target=reader, args=("err", p.stderr))]
    for t in ts:
        t.start()
    try:
        for c in chunks:
            p.stdin.write(c)
            p.stdin.flush()
            time.sleep(0.0005)
    except BrokenPipeError:
        pass
    try:
        p.stdin.close()
    except BrokenPipeError:
        pass
    p.wait(timeout=timeout)
    for t in ts:
        t.join()
    return res["out"], res["err"], p.returncode


def sanitizer_quiet(err):
    e = err.decode("utf-8", "replace")
    return "Sanitizer" not in e and "runtime error" not in e


RFC821_BODY = (b"Blah blah blah...\r\n"
               b".. a line that began with a dot\r\n"
               b"...etc. etc. etc.\r\n")


def test_stdio(binary, tmp):
    name = "stdio"
    md = tempfile.mkdtemp(prefix="stdio-", dir=tmp)
    maildir = os.path.join(md, "Maildir")
    args = ["--hostname", "Beta.ARPA", "--mailbox", "Jones@Beta.ARPA",
            "--mailbox", "Brown@Beta.ARPA", "--maildir", maildir]
    # RFC 821 appendix example: Green has no mailbox here.  Input after
    # QUIT must never be answered.
    transcript = (b"HELO Alpha.ARPA\r\n"
                  b"MAIL FROM:<Smith@Alpha.ARPA>\r\n"
                  b"RCPT TO:<Jones@Beta.ARPA>\r\n"
                  b"RCPT TO:<Green@Beta.ARPA>\r\n"
                  b"RCPT TO:<Brown@Beta.ARPA>\r\n"
                  b"DATA\r\n" + RFC821_BODY + b".\r\n"
                  b"QUIT\r\n"
                  b"NOOP\r\nNOOP\r\n")
    out, err, rc = run_stdio(binary, transcript, args)
    lines = out.split(b"\r\n")
    check(name + ": RFC 821 example session, replies in order",
          codes_of(out) == [220, 250, 250, 250, 550, 250, 354, 250, 221], out)
    check(name + ": greeting first, naming --hostname",
          lines[0].startswith(b"220 Beta.ARPA "), lines[0])
    check(name + ": every reply line ends with CRLF, nothing after 221",
          out.endswith(b"\r\n") and b"\n" not in out.replace(b"\r\n", b"")
          and out.rstrip(b"\r\n").split(b"\r\n")[-1].startswith(b"221 "), out[-80:])
    check(name + ": exit status 0 after QUIT", rc == 0, "rc=%d %s" % (rc, err[-500:]))
    files = os.listdir(os.path.join(maildir, "new"))
    ok = len(files) == 1
    if ok:
        trace, msg = read_msg(os.path.join(maildir, "new", files[0]))
        # only the first dot of a line is stuffing
        ok = msg == (b"Blah blah blah...\r\n"
                     b". a line that began with a dot\r\n"
                     b"..etc. etc. etc.\r\n")
        ok = ok and trace.startswith(b"Return-Path: <Smith@Alpha.ARPA>\r\nReceived: from Alpha.ARPA")
        ok = ok and b" with SMTP " in trace
    check(name + ": message stored once, dot-unstuffed, trace lines first", ok, files)
    check(name + ": one log line for the transaction",
          err.count(b"from=<Smith@Alpha.ARPA>") == 1 and b"nrcpt=2" in err, err)
    check(name + ": no sanitizer report", sanitizer_quiet(err), err[-2000:])

    # The same session cut into random pieces and one byte at a time gives
    # the same output (without --maildir the replies carry no unique id).
    plain = ["--hostname", "Beta.ARPA", "--mailbox", "Jones@Beta.ARPA"]
    whole, _, _ = run_stdio(binary, transcript, plain)
    r = random.Random(4)
    for label, sizes in (("bytewise", lambda: 1), ("random splits", lambda: r.randint(1, 9))):
        chunks, i = [], 0
        while i < len(transcript):
            n = sizes()
            chunks.append(transcript[i:i + n])
            i += n
        out2, err2, rc2 = run_stdio(binary, b"", plain, chunks=chunks)
        check(name + ": %s input gives the same replies" % label,
              out2 == whole and rc2 == 0 and sanitizer_quiet(err2),
              "rc=%d\n%r\n%r" % (rc2, out2, whole))

    # Without --maildir each message is counted once: 1, 2, 3 over DATA and
    # BDAT, whatever the chunking.
    two = (b"EHLO client.example\r\n" +
           b"MAIL FROM:<a@client.example>\r\nRCPT TO:<Jones@Beta.ARPA>\r\nDATA\r\nx\r\n.\r\n" * 2 +
           b"MAIL FROM:<a@client.example>\r\nRCPT TO:<Jones@Beta.ARPA>\r\nBDAT 3 LAST\r\nx\r\n"
           b"QUIT\r\n")
    out, err, rc = run_stdio(binary, two, plain)
    nums = re.findall(rb"Ok: message (\d+) accepted and discarded", out)
    check(name + ": discarded messages are numbered 1, 2, 3", nums == [b"1", b"2", b"3"], out)

    # EOF in the middle of the data: nothing stored, nothing left in tmp/.
    cut = (b"EHLO client.example\r\nMAIL FROM:<a@client.example>\r\n"
           b"RCPT TO:<Jones@Beta.ARPA>\r\nDATA\r\nSubject: cut\r\n\r\nhalf a mess")
    out, err, rc = run_stdio(binary, cut, args)
    check(name + ": EOF mid-DATA: replies up to 354, exit 0",
          codes_of(out) == [220, 250, 250, 250, 354] and rc == 0, "rc=%d %r" % (rc, out))
    check(name + ": EOF mid-DATA: the partial message is discarded",
          len(os.listdir(os.path.join(maildir, "new"))) == 1
          and not os.listdir(os.path.join(maildir, "tmp"))
          and b"aborted: connection lost" in err, err)
    # EOF in the middle of a command line: the partial line gets no reply.
    out, err, rc = run_stdio(binary, b"EHLO client.example\r\nMAIL FROM:<a@cl", args)
    check(name + ": EOF mid-command: no reply to the partial line, exit 0",
          codes_of(out) == [220, 250] and rc == 0 and sanitizer_quiet(err), "rc=%d %r" % (rc, out))
    # An empty input: just the greeting.
    out, err, rc = run_stdio(binary, b"", args)
    check(name + ": empty input: greeting only, exit 0",
          codes_of(out) == [220] and rc == 0, "rc=%d %r" % (rc, out))
    # EHLO offers every extension the core implements.
    out, err, rc = run_stdio(binary, b"EHLO c.example\r\nQUIT\r\n", ["--max-size", "1000000"])
    ext = [l[4:].split(b" ")[0] for l in out.split(b"\r\n")[2:] if l[:3] == b"250"]
    want = [b"PIPELINING", b"SIZE", b"8BITMIME", b"ENHANCEDSTATUSCODES", b"SMTPUTF8",
            b"CHUNKING", b"BINARYMIME", b"DSN"]
    check(name + ": EHLO offers " + " ".join(w.decode() for w in want) + " and SIZE 1000000",
          all(w in ext for w in want) and b"SIZE 1000000" in out, out)
    check(name + ": no STARTTLS (no certificate), no AUTH (no users)",
          b"STARTTLS" not in ext and b"AUTH" not in ext, ext)


# ---------------------------------------------------------------- TCP tests

def test_smtplib(sink):
    name = "smtplib"
    sink.clear()
    sent = []
    with smtplib.SMTP("127.0.0.1", sink.port, timeout=30) as c:
        code, ehlo = c.ehlo("client.example")
        check(name + ": EHLO 250 with PIPELINING, SIZE, 8BITMIME, SMTPUTF8",
              code == 250 and all(c.has_extn(e) for e in
                                  ("pipelining", "size", "8bitmime", "smtputf8")), ehlo)
        # several messages in one session, several recipients each
        for i in range(3):
            m = message("several %d" % i, body_lines(20 + i, seed=i))
            rcpts = ["r%d-%d@sink.example" % (i, k) for k in range(i + 2)]
            refused = c.sendmail("sender@client.example", rcpts, m)
            check(name + ": message %d to %d recipients accepted" % (i, len(rcpts)),
                  refused == {}, refused)
            sent.append(m)
        # lines that begin with a dot, a lone dot, and a message whose data
        # does not end with CRLF (smtplib adds it)
        dots = message("dots", b".\r\n..\r\n.x\r\n...three\r\n. \r\n.")
        c.sendmail("sender@client.example", ["dots@sink.example"], dots)
        sent.append(dots + b"\r\n")
        # 8BITMIME: octets 128-255 in the body
        eight = message("eight", bytes(range(128, 256)) + b"\r\n" + "Grüße\r\n".encode("latin-1"),
                        extra=b"Content-Type: text/plain; charset=iso-8859-1\r\n"
                              b"Content-Transfer-Encoding: 8bit\r\n")
        c.sendmail("sender@client.example", ["eight@sink.example"], eight,
                   mail_options=["BODY=8BITMIME"])
        sent.append(eight)
        # SMTPUTF8: UTF-8 in the addresses and the header
        utf = ("From: Jörg <jörg@exämple.org>\r\nTo: 用户@例子.广告\r\n"
               "Subject: ünïcödé\r\n\r\nPrivet, мир!\r\n").encode("utf-8")
        c.sendmail("jörg@exämple.org", ["用户@例子.广告"], utf,
                   mail_options=["SMTPUTF8", "BODY=8BITMIME"])
        sent.append(utf)
    expect_stored(name + ": every message stored once, byte for byte", sink, sent)
    got = stored(sink)
    tr = got.get(utf, [b""])[0]
    check(name + ": SMTPUTF8 trace: Return-Path in UTF-8, 'with UTF8SMTP', for <rcpt>",
          tr.startswith("Return-Path: <jörg@exämple.org>\r\n".encode()) and b" with UTF8SMTP " in tr
          and "for <用户@例子.广告>".encode() in tr, tr)
    tr = got.get(sent[1], [b""])[0]
    check(name + ": trace with 3 recipients: ESMTP, client address, no 'for'",
          b" with ESMTP " in tr and b"from client.example ([127.0.0.1])" in tr and b"for <" not in tr, tr)
    check(name + ": trace date-time is RFC 5322",
          re.search(rb";\r\n\t(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug"
                    rb"|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d [+-]\d{4}\r\n$", tr), tr)

    # a 10 MB message
    sink.clear()
    r = random.Random(10)
    line = bytes(r.choice(b"abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(998))
    chunk = []
    size = 0
    k = 0
    while size < 10 * 1024 * 1024:  # 1000-octet lines, every 5th begins with a dot
        l = (b"." + line[:500] if k % 5 == 0 else line) + b"\r\n"
        chunk.append(l)
        size += len(l)
        k += 1
    big = message("big", b"".join(chunk))
    t0 = time.time()
    with smtplib.SMTP("127.0.0.1", sink.port, timeout=60) as c:
        refused = c.sendmail("sender@client.example", ["big@sink.example"], big)
    check(name + ": 10 MB message accepted (%.1f s)" % (time.time() - t0), refused == {}, refused)
    expect_stored(name + ": 10 MB message stored byte for byte", sink, [big])

    # RFC 5321 4.5.3.1.6: a text line is at most 1000 octets with CRLF, "not
    # counting the leading dot duplicated for transparency".
    sink.clear()
    full = message("full dot line", b"." + line[:997] + b"\r\n")
    long_ = message("long line", line + b"x\r\n")
    with smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as c:
        c.ehlo("client.example")
        c.mail("s@client.example")
        c.rcpt("r@sink.example")
        code, text = c.data(full)
        check(name + ": a 1000-octet line beginning with a dot (1001 on the wire, "
              "stuffed) is accepted (RFC 5321 4.5.3.1.6)", code == 250, (code, text))
        c.mail("s@client.example")
        c.rcpt("r@sink.example")
        code, text = c.data(long_)
        check(name + ": a 1001-octet line gets 554", code == 554, (code, text))
    expect_stored(name + ": only the 1000-octet line message is stored", sink, [full])


def test_pipelining(sink):
    name = "pipelining"
    sink.clear()
    c = Raw(sink.port)
    check(name + ": greeting", c.code() == 220)
    c.send(b"EHLO client.example\r\n")
    code, lines = c.reply()
    check(name + ": EHLO offers PIPELINING", code == 250 and b"250-PIPELINING" in lines, lines)
    m1 = message("pipe 1", body_lines(5, seed=21))
    m2 = message("pipe 2", body_lines(5, seed=22))
    # RFC 2920: the commands up to DATA in one group, then the data, end of
    # data and the next transaction's commands in one group.
    c.send(b"MAIL FROM:<p@client.example>\r\nRCPT TO:<a@sink.example>\r\n"
           b"RCPT TO:<b@sink.example>\r\nDATA\r\n")
    codes = [c.code() for _ in range(4)]
    check(name + ": MAIL RCPT RCPT DATA in one packet", codes == [250, 250, 250, 354], codes)
    c.send(m1.replace(b"\r\n.", b"\r\n..") + b".\r\nMAIL FROM:<p@client.example>\r\n"
           b"RCPT TO:<c@sink.example>\r\nDATA\r\n")
    codes = [c.code() for _ in range(4)]
    check(name + ": end of data, MAIL RCPT DATA in one packet", codes == [250, 250, 250, 354], codes)
    c.send(m2.replace(b"\r\n.", b"\r\n..") + b".\r\nRSET\r\nNOOP\r\nQUIT\r\n")
    codes = [c.code() for _ in range(4)]
    check(name + ": end of data, RSET NOOP QUIT in one packet", codes == [250, 250, 250, 221], codes)
    check(name + ": closed after QUIT", c.eof())
    c.close()
    # 20 whole transactions sent blindly in one write, replies read after.
    c = Raw(sink.port)
    c.code()
    blast = [b"EHLO client.example\r\n"]
    msgs = []
    for i in range(20):
        m = message("blast %d" % i, body_lines(30, seed=100 + i))
        msgs.append(m)
        blast.append(b"MAIL FROM:<p@client.example>\r\nRCPT TO:<x%d@sink.example>\r\nDATA\r\n" % i
                     + m.replace(b"\r\n.", b"\r\n..") + b".\r\n")
    blast.append(b"QUIT\r\n")
    c.send(b"".join(blast))
    c.s.shutdown(socket.SHUT_WR)  # half-close: every reply must still come
    c.reply()
    codes = [c.code() for _ in range(80)] + [c.code()]
    check(name + ": 20 transactions in one write, then half-close: 80 replies in order",
          codes == [250, 250, 354, 250] * 20 + [221], codes)
    c.close()
    expect_stored(name + ": all 22 pipelined messages stored once", sink, [m1, m2] + msgs)


def test_chunking(sink):
    """RFC 3030 BDAT, pipelined, with BINARYMIME: the chunks are taken as
    they are, "CRLF . CRLF" and command words inside them included."""
    name = "CHUNKING"
    sink.clear()
    c = Raw(sink.port)
    c.code()
    c.send(b"EHLO client.example\r\n")
    code, lines = c.reply()
    check(name + ": EHLO offers CHUNKING, BINARYMIME and DSN",
          b"250-CHUNKING" in lines and any(l[4:] == b"BINARYMIME" for l in lines)
          and any(l[4:] == b"DSN" for l in lines), lines)
    head = message("bdat", b"")
    chunks = [head + b"first chunk\r\n.\r\nQUIT\r\n", bytes(range(256)) * 4, b"\r\nlast\r\n"]
    req = b"MAIL FROM:<b@client.example> BODY=BINARYMIME\r\nRCPT TO:<b1@sink.example>\r\n"
    for k, ch in enumerate(chunks):
        req += b"BDAT %d\r\n" % len(ch) + ch
    req += b"BDAT 0 LAST\r\n"
    c.send(req)
    codes = [c.code() for _ in range(6)]
    check(name + ": MAIL RCPT and 4 BDAT chunks in one write: 6 replies 250", codes == [250] * 6, codes)
    # a second, 7-bit message in one BDAT LAST
    m2 = message("bdat 2", body_lines(20, seed=71))
    c.send(b"MAIL FROM:<b@client.example>\r\nRCPT TO:<b2@sink.example>\r\nBDAT %d LAST\r\n" % len(m2)
           + m2 + b"QUIT\r\n")
    codes = [c.code() for _ in range(4)]
    check(name + ": a message in one BDAT LAST, then QUIT", codes == [250, 250, 250, 221], codes)
    c.close()
    expect_stored(name + ": both messages stored byte for byte", sink, [b"".join(chunks), m2])


def test_dsn(sink):
    name = "DSN"
    sink.clear()
    m = message("dsn")
    with smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as c:
        c.ehlo("client.example")
        check(name + ": EHLO offers DSN", c.has_extn("dsn"))
        refused = c.sendmail("d@client.example", ["d1@sink.example", "d2@sink.example"], m,
                             mail_options=["RET=HDRS", "ENVID=QQ314159+2Bx"],
                             rcpt_options=["NOTIFY=SUCCESS,DELAY", "ORCPT=rfc822;orig@sink.example"])
        check(name + ": RET ENVID NOTIFY ORCPT accepted", refused == {}, refused)
    expect_stored(name + ": stored once", sink, [m])
    check(name + ": the parameters are logged",
          re.search(r'mail_params="(size=\d+ )?RET=HDRS ENVID=QQ314159\+2Bx"', sink.log())
          and "<d1@sink.example> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;orig@sink.example;"
              "<d2@sink.example> NOTIFY=SUCCESS,DELAY" in sink.log(), sink.log()[-600:])


def small_buffer_client(cls, sink, timeout):
    """A raw client (cls: Raw or TlsRaw) on 4 KB socket buffers, so that a
    client that does not read fills them fast; the greeting is read."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    s.settimeout(timeout)
    s.connect(("127.0.0.1", sink.port))
    c = cls.__new__(cls)
    c.s, c.buf = s, b""
    c.code()
    return c


def test_backpressure(sink):
    """A client that sends 2 MB of NOOPs without reading: the sink stops
    reading it (bounded memory: one input buffer, one reply) and keeps
    serving others; once the client reads, every reply arrives, in order."""
    name = "back-pressure"
    n = 350000
    data = b"NOOP\r\n" * n + b"QUIT\r\n"
    c = small_buffer_client(Raw, sink, 60)
    s = c.s
    sent = [0]

    def writer():
        for i in range(0, len(data), 4096):
            c.s.sendall(data[i:i + 4096])
            sent[0] = i + len(data[i:i + 4096])
    t = threading.Thread(target=writer)
    t.start()
    # the buffers between us fill up, then nothing more is taken
    s1, s2, deadline = -1, 0, time.time() + 8
    while s1 != s2 and time.time() < deadline:
        s1 = sent[0]
        time.sleep(0.5)
        s2 = sent[0]
    check(name + ": the sink stops reading a client that does not read (%d of %d bytes taken)"
          % (s2, len(data)), s1 == s2 and s2 < len(data) // 4, (s1, s2))
    t0 = time.time()
    with smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as o:
        refused = o.sendmail("o@client.example", ["o@sink.example"], message("other"))
    check(name + ": another session is served meanwhile (%.2f s)" % (time.time() - t0),
          refused == {} and time.time() - t0 < 5, refused)
    got = []
    while True:
        code = c.code()
        got.append(code)
        if code != 250:
            break
    t.join()
    check(name + ": once read, all %d replies arrive in order" % n,
          got == [250] * n + [221], "%d replies, last %r" % (len(got), got[-3:]))
    c.close()


def test_mailbox(binary, tmp):
    name = "mailbox"
    sink = Sink(binary, tmp, "--hostname", "sink.example", "--mailbox", "known@sink.example",
                "--mailbox", "<Other@Sink.Example>", name="mailbox")
    try:
        m = message("mailbox")
        with smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as c:
            c.ehlo("client.example")
            code, _ = c.rcpt("nobody@sink.example") if c.mail("s@client.example")[0] == 250 else (0, 0)
            check(name + ": unknown recipient gets 550", code == 550, code)
            c.rset()
            refused = c.sendmail("s@client.example",
                                 ["known@sink.example", "nobody@sink.example", "OTHER@sink.example",
                                  "postmaster@sink.example"], m)
            check(name + ": only the listed mailboxes (and postmaster) are accepted",
                  list(refused) == ["nobody@sink.example"] and refused["nobody@sink.example"][0] == 550,
                  refused)
            c.ehlo("client.example")
            c.mail("s@client.example")
            check(name + ": RCPT TO:<Postmaster> is accepted", c.rcpt("<Postmaster>")[0] == 250)
            c.rset()
            c.mail("s@client.example")
            c.rcpt("nobody@sink.example")
            code, _ = c.docmd("DATA")
            check(name + ": DATA with no accepted recipient: 554", code == 554, code)
        expect_stored(name + ": the message is stored once", sink, [m])
        check(name + ": the log names the three accepted recipients",
              re.search(r"nrcpt=3 to=<known@sink.example>,<OTHER@sink.example>,"
                        r"<postmaster@sink.example>", sink.log()), sink.log())
    finally:
        sink.stop(name)


def test_max_size(binary, tmp):
    name = "max-size"
    sink = Sink(binary, tmp, "--max-size", "2000", name="maxsize")
    try:
        small = message("small")
        with smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as c:
            c.ehlo("client.example")
            check(name + ": EHLO advertises SIZE 2000", c.esmtp_features.get("size") == "2000",
                  c.esmtp_features)
            code, _ = c.mail("s@client.example", ["SIZE=5000"])
            check(name + ": MAIL SIZE=5000 gets 552", code == 552, code)
            c.rset()
            # without SIZE=: refused at the end of the data
            c.mail("s@client.example")
            c.rcpt("r@sink.example")
            code, _ = c.data(message("big", body_lines(100, seed=3)))
            check(name + ": 5 kB of data gets 552 at its end", code == 552, code)
            refused = c.sendmail("s@client.example", ["r@sink.example"], small)
            check(name + ": the session goes on: a small message is accepted", refused == {})
        expect_stored(name + ": only the small message is stored", sink, [small])
        check(name + ": tmp/ is empty", not sink.tmp_files(), sink.tmp_files())
    finally:
        sink.stop(name)


def test_curl(sink):
    name = "curl"
    if not shutil.which("curl"):
        skip(name, "curl not installed")
        return
    sink.clear()
    m = message("curl", body_lines(40, seed=31) + b".\r\n.leading dot\r\n")
    path = os.path.join(sink.dir, "curl.eml")
    with open(path, "wb") as f:
        f.write(m)
    r = subprocess.run(["curl", "-sS", "--max-time", "20", "smtp://127.0.0.1:%d/client.example" % sink.port,
                        "--mail-from", "curl@client.example", "--mail-rcpt", "one@sink.example",
                        "--mail-rcpt", "two@sink.example", "--upload-file", path],
                       capture_output=True, timeout=30)
    check(name + ": upload succeeds", r.returncode == 0, r.stderr)
    expect_stored(name + ": stored byte for byte", sink, [m])
    check(name + ": logged with both recipients",
          re.search(r"from=<curl@client\.example>.* nrcpt=2 to=<one@sink\.example>,<two@sink\.example> ",
                    sink.log()),
          sink.log()[-500:])


def test_swaks(sink):
    name = "swaks"
    if not shutil.which("swaks"):
        skip(name, "swaks not installed (apt-get install swaks)")
        return
    sink.clear()
    # swaks turns LF into CRLF, stuffs dots, and adds the final CRLF "."
    # itself when the data does not end in LF "."; it also expands %TOKENS%
    # and "\n", so the body avoids them.
    text = ("From: swaks@client.example\nTo: a@sink.example\nSubject: swaks\n\n"
            + "".join(l.decode() + "\n" for l in body_lines(30, seed=41).split(b"\r\n")[:-1])
            + "last line")
    path = os.path.join(sink.dir, "swaks.eml")
    with open(path, "w") as f:
        f.write(text)
    r = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(sink.port),
                        "--helo", "client.example", "--from", "swaks@client.example",
                        "--to", "a@sink.example,b@sink.example", "--data", "@" + path,
                        "--pipeline"],
                       capture_output=True, timeout=30)
    check(name + ": delivery with --pipeline succeeds", r.returncode == 0, r.stdout[-2000:])
    expect_stored(name + ": stored byte for byte", sink,
                  [text.replace("\n", "\r\n").encode() + b"\r\n"])


def test_msmtp(sink):
    name = "msmtp"
    if not shutil.which("msmtp"):
        skip(name, "msmtp not installed (apt-get install msmtp)")
        return
    sink.clear()
    # msmtp turns LF into CRLF; headers it would add are already there.
    text = message("msmtp", body_lines(30, seed=51)).replace(b"\r\n", b"\n")
    r = subprocess.run(["msmtp", "-C", "/dev/null", "--host=127.0.0.1", "--port=%d" % sink.port,
                        "--domain=client.example", "--from=msmtp@client.example",
                        "--set-from-header=off", "--set-date-header=off", "--set-msgid-header=off",
                        "--", "a@sink.example", "b@sink.example"],
                       input=text, capture_output=True, timeout=30)
    check(name + ": delivery succeeds", r.returncode == 0, r.stderr)
    expect_stored(name + ": stored byte for byte", sink, [text.replace(b"\n", b"\r\n")])


def test_concurrent(sink, n=200):
    name = "concurrent"
    sink.clear()
    barrier = threading.Barrier(n)
    results = [None] * n
    msgs = [message("concurrent %d" % i, body_lines(10, seed=1000 + i)) for i in range(n)]

    def client(i):
        try:
            c = smtplib.SMTP("127.0.0.1", sink.port, timeout=60)
            barrier.wait(timeout=60)  # all sessions open at once
            c.ehlo("client%d.example" % i)
            results[i] = c.sendmail("s%d@client.example" % i, ["r%d@sink.example" % i], msgs[i])
            c.quit()
        except Exception as e:  # noqa: BLE001 - reported below
            results[i] = e
    t0 = time.time()
    ts = [threading.Thread(target=client, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    bad = [(i, r) for i, r in enumerate(results) if r != {}]
    check(name + ": %d sessions at once, every message accepted (%.1f s)" % (n, time.time() - t0),
          not bad, bad[:5])
    expect_stored(name + ": every message stored exactly once, none lost", sink, msgs)
    log = sink.log()
    counts = [len(re.findall(r"from=<s%d@client\.example> .*nrcpt=1 .*result=\"250 " % i, log))
              for i in range(n)]
    check(name + ": exactly one log line per transaction", counts == [1] * n,
          [i for i, k in enumerate(counts) if k != 1][:10])


def test_killed(sink):
    """A client killed with SIGKILL in the middle of DATA leaves nothing."""
    name = "killed client"
    sink.clear()
    code = r"""
import socket, sys
s = socket.create_connection(("127.0.0.1", %d))
f = s.makefile("rb")
def reply():
    l = f.readline()
    while l[3:4] == b"-":
        l = f.readline()
    return l
reply()
s.sendall(b"EHLO killed.example\r\n"); reply()
s.sendall(b"MAIL FROM:<killed@client.example>\r\n"); reply()
s.sendall(b"RCPT TO:<k@sink.example>\r\n"); reply()
s.sendall(b"DATA\r\n"); r = reply()
s.sendall(b"Subject: killed\r\n\r\n" + b"half a message\r\n" * 1000)
print(r.decode().strip(), flush=True)
sys.stdin.read()
""" % sink.port
    p = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE)
    first = p.stdout.readline()
    check(name + ": got 354 and sent half a message", first.startswith(b"354"), first)
    time.sleep(0.3)
    check(name + ": the message is being written in tmp/", len(sink.tmp_files()) == 1, sink.tmp_files())
    p.kill()
    p.wait()
    aborted = sink.wait_log(r"from=<killed@client.example>.*aborted: connection lost")
    check(name + ": the sink logs the aborted transaction", aborted, sink.log()[-500:])
    check(name + ": nothing in new/, tmp/ cleaned", not sink.new() and not sink.tmp_files(),
          (sink.new(), sink.tmp_files()))
    with smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as c:
        check(name + ": the sink still works", c.sendmail("a@client.example", ["b@sink.example"],
                                                          message("after kill")) == {})


def test_storage_failure(sink):
    name = "storage failure"
    sink.clear()
    tmpdir = os.path.join(sink.maildir, "tmp")
    newdir = os.path.join(sink.maildir, "new")
    m = message("storage")
    with smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as c:
        c.ehlo("client.example")
        # tmp/ gone: the message cannot be started -> 451 to DATA
        os.rename(tmpdir, tmpdir + ".away")
        try:
            c.mail("s@client.example")
            c.rcpt("r@sink.example")
            code, text = c.docmd("DATA")
            check(name + ": no tmp/: DATA gets 451", code == 451, (code, text))
        finally:
            os.rename(tmpdir + ".away", tmpdir)
        c.rset()
        # new/ gone: the message cannot be moved -> 451 at its end, never 250
        os.rename(newdir, newdir + ".away")
        try:
            c.mail("s@client.example")
            c.rcpt("r@sink.example")
            code, text = c.data(m)
            check(name + ": no new/: end of data gets 451, not 250", code == 451, (code, text))
            check(name + ": nothing stored, tmp/ cleaned",
                  not os.listdir(newdir + ".away") and not sink.tmp_files(),
                  (os.listdir(newdir + ".away"), sink.tmp_files()))
        finally:
            os.rename(newdir + ".away", newdir)
        refused = c.sendmail("s@client.example", ["r@sink.example"], m)
        check(name + ": once repaired, the same session delivers", refused == {}, refused)
    expect_stored(name + ": the message is stored once", sink, [m])


def test_enospc(binary, tmp):
    """A full file system: 452 at the end of the data, never 250."""
    name = "full disk"
    mnt = tempfile.mkdtemp(prefix="tmpfs-", dir=tmp)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", mnt],
                       capture_output=True)
    if r.returncode != 0:
        skip(name, "cannot mount a small tmpfs (needs root): %s" % r.stderr.decode().strip())
        return
    sink = None
    try:
        sink = Sink(binary, tmp, "--maildir", os.path.join(mnt, "Maildir"), maildir=False, name="enospc")
        sink.maildir = os.path.join(mnt, "Maildir")
        big = message("too big for the disk", body_lines(8000, seed=61))
        small = message("fits")
        with smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as c:
            c.ehlo("client.example")
            c.mail("s@client.example")
            c.rcpt("r@sink.example")
            code, text = c.data(big)
            check(name + ": ENOSPC while writing: 452 at the end of the data", code == 452, (code, text))
            check(name + ": nothing stored, tmp/ cleaned", not sink.new() and not sink.tmp_files(),
                  (sink.new(), sink.tmp_files()))
            refused = c.sendmail("s@client.example", ["r@sink.example"], small)
            check(name + ": a message that fits is then accepted", refused == {}, refused)
        expect_stored(name + ": the small message is stored", sink, [small])
    finally:
        if sink:
            sink.stop(name)
        subprocess.run(["umount", "-l", mnt], capture_output=True)


def test_auth(binary, tmp):
    """AUTH PLAIN and LOGIN without a certificate: offered in plaintext with
    --user (or its alias --auth-user), checked by smtplib, curl and swaks;
    "with ESMTPA" in the trace (RFC 3848)."""
    name = "AUTH"
    sink = Sink(binary, tmp, "--user", "bob:s3cret pass", "--auth-user", "alice:x", name="auth")
    try:
        with open("/proc/%d/cmdline" % sink.proc.pid, "rb") as f:
            cmdline = f.read()
        check(name + ": the passwords are wiped from the command line (ps)",
              b"bob:" in cmdline and b"s3cret" not in cmdline and b"alice:x" not in cmdline, cmdline)
        check(name + ": a warning says AUTH goes in clear text", "clear text" in sink.log(), sink.log())
        usage = subprocess.run([binary, "--help"], capture_output=True).stdout
        check(name + ": --help flags AUTH without --tls-cert as clear text",
              b"--user NAME:PASSWORD" in usage and b"CLEAR TEXT" in usage, usage)
        sent = []
        with smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as c:
            c.ehlo("client.example")
            check(name + ": EHLO offers AUTH PLAIN LOGIN", "PLAIN" in c.esmtp_features.get("auth", "")
                  and "LOGIN" in c.esmtp_features.get("auth", ""), c.esmtp_features)
            try:
                c.login("bob", "wrong")
                code = 235
            except smtplib.SMTPAuthenticationError as e:
                code = e.smtp_code
            check(name + ": a wrong password gets 535", code == 535, code)
            c.user, c.password = "bob", "s3cret pass"
            code, text = c.auth("LOGIN", c.auth_login)
            check(name + ": smtplib AUTH LOGIN gets 235", code == 235, (code, text))
            m = message("auth login")
            check(name + ": and delivers", c.sendmail("bob@client.example", ["r@sink.example"], m) == {})
            sent.append(m)
        with smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as c:
            c.ehlo("client.example")
            c.user, c.password = "alice", "x"
            code, text = c.auth("PLAIN", c.auth_plain)
            check(name + ": smtplib AUTH PLAIN gets 235", code == 235, (code, text))
        if shutil.which("curl"):
            m = message("auth curl")
            path = os.path.join(sink.dir, "auth.eml")
            with open(path, "wb") as f:
                f.write(m)
            r = subprocess.run(["curl", "-sS", "--max-time", "20", "smtp://127.0.0.1:%d/client.example" % sink.port,
                                "--user", "bob:s3cret pass", "--mail-from", "bob@client.example",
                                "--mail-rcpt", "r@sink.example", "--upload-file", path],
                               capture_output=True, timeout=30)
            check(name + ": curl --user delivers", r.returncode == 0, r.stderr)
            sent.append(m)
        else:
            skip(name + ": curl", "curl not installed")
        if shutil.which("swaks"):
            r = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(sink.port),
                                "--helo", "client.example", "--from", "alice@client.example",
                                "--to", "r@sink.example", "--auth", "LOGIN", "--auth-user", "alice",
                                "--auth-password", "x", "--data", "Subject: swaks auth\n\nhi"],
                               capture_output=True, timeout=30)
            check(name + ": swaks --auth LOGIN delivers", r.returncode == 0, r.stdout[-1500:])
            sent.append(b"Subject: swaks auth\r\n\r\nhi\r\n")
        else:
            skip(name + ": swaks", "swaks not installed (apt-get install swaks)")
        expect_stored(name + ": every message stored once", sink, sent)
        traces = [t for ts in stored(sink).values() for t in ts]
        check(name + ": the trace says 'with ESMTPA'", traces and all(b" with ESMTPA " in t for t in traces),
              traces)
        check(name + ": the log names the user", "auth=bob" in sink.log() and "auth=alice" in sink.log(),
              sink.log()[-800:])
    finally:
        sink.stop(name)


# ---------------------------------------------------------------- STARTTLS

class Cert:
    """A self-signed certificate made at run time (valid one day, for
    localhost and 127.0.0.1), shared by every TLS test."""
    path = key = None
    why = None

    @classmethod
    def get(cls, tmp):
        if cls.path or cls.why:
            return cls.path
        if not shutil.which("openssl"):
            cls.why = "openssl not installed (apt-get install openssl)"
            return None
        d = tempfile.mkdtemp(prefix="cert-", dir=tmp)
        cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
        r = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                            "-subj", "/CN=localhost",
                            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                            "-keyout", key, "-out", cert], capture_output=True, timeout=60)
        if r.returncode != 0:
            cls.why = "openssl req failed: %s" % r.stderr.decode(errors="replace")[-300:]
            return None
        cls.path, cls.key = cert, key
        return cert

    @classmethod
    def context(cls):
        """A client context that trusts only the generated certificate and
        checks the host name (127.0.0.1 or localhost)."""
        return ssl.create_default_context(cafile=cls.path)


def tls_available(binary, tmp, name):
    """The certificate exists and the sink was built with OpenSSL; else SKIP."""
    if not Cert.get(tmp):
        skip(name, Cert.why)
        return False
    out = subprocess.run([binary, "--help"], capture_output=True).stdout
    if b"--tls-cert" not in out or b"built without OpenSSL" in out:
        skip(name, "the sink was built without OpenSSL (apt-get install libssl-dev)")
        return False
    return True


class TlsRaw(Raw):
    """Raw, with STARTTLS: the socket is wrapped once the 220 is read."""

    def starttls(self, ctx=None, extra=b"", wait=0.0):
        """Sends STARTTLS (and `extra` in the same write), reads the reply;
        on 220 checks that nothing else came in plaintext (waiting `wait`
        seconds for it), then runs the handshake.  Returns (code, plaintext
        octets that followed the 220)."""
        self.send(b"STARTTLS\r\n" + extra)
        code = self.code()
        if code == 220:
            d = b""
            if wait:
                self.s.settimeout(wait)  # any plaintext reply to `extra` would come now
                try:
                    d = self.s.recv(65536, socket.MSG_PEEK)
                except (socket.timeout, BlockingIOError):
                    d = b""
                self.s.settimeout(10)
            left = self.buf + d
            if not left:
                self.s = (ctx or Cert.context()).wrap_socket(self.s, server_hostname="localhost")
            return code, left
        return code, b""

    def closed(self, timeout=5):
        """The server ended the connection (TLS close_notify, EOF or reset)."""
        self.s.settimeout(timeout)
        try:
            while True:
                d = self.s.recv(65536)
                if not d:
                    return True
                self.buf += d
        except socket.timeout:
            return False
        except (ssl.SSLError, OSError):
            return True


def smtp_reply_in(b):
    """b holds an SMTP reply line (a TLS alert record does not count)."""
    return re.search(rb"(^|\r\n)[2-5]\d\d[ -]", b) is not None


def wait_count(sink, pattern, n, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if len(re.findall(pattern, sink.log())) >= n:
            return True
        time.sleep(0.02)
    return False


def ehlo_keywords(lines):
    return [l[4:].split(b" ")[0].upper() for l in lines[1:]]


def test_tls(binary, tmp):
    """STARTTLS and AUTH with real clients: smtplib, curl, swaks, msmtp, and
    a scripted client for what none of them does (injection, BDAT, a client
    that never reads)."""
    name = "STARTTLS"
    if not tls_available(binary, tmp, name):
        return
    bad = []
    for args, msg in ((["--user", "bob"], b"NAME:PASSWORD"), (["--user", "bob:"], b"NAME:PASSWORD"),
                      (["--user", ":pw"], b"NAME:PASSWORD"), (["--require-tls"], b"needs --tls-cert"),
                      (["--tls-key", Cert.key], b"needs --tls-cert"),
                      (["--tls-cert", os.path.join(tmp, "missing.pem")], b"--tls-cert"),
                      (["--tls-cert", Cert.path, "--tls-key", Cert.path], b"--tls-key")):
        r = subprocess.run([binary, "--stdio"] + args, stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=20)
        if r.returncode != 2 or msg not in r.stderr or r.stdout:
            bad.append((args, r.returncode, r.stdout[:100], r.stderr[-300:]))
    check(name + ": bad --user, --require-tls or --tls-key without --tls-cert, unreadable certificate "
          "or key: exit 2 with a message, before any session", not bad, bad)
    sink = Sink(binary, tmp, "--tls-cert", Cert.path, "--tls-key", Cert.key,
                "--user", "bob:s3cret pass", "--user", "alice:x", "--max-conn", "50", name="tls")
    try:
        tls_plaintext_phase(name, sink)
        tls_smtplib(name, sink)
        tls_injection(name, sink)
        tls_handshake_failures(name, sink)
        tls_curl(name, sink)
        tls_swaks(name, sink)
        tls_msmtp(name, sink)
        tls_backpressure(name, sink)
        check(name + ": no injected command was ever executed", "evil" not in sink.log(),
              [l for l in sink.log().splitlines() if "evil" in l])
    finally:
        sink.stop(name)


def tls_plaintext_phase(name, sink):
    c = TlsRaw(sink.port)
    c.code()
    c.send(b"EHLO client.example\r\n")
    code, lines = c.reply()
    kw = ehlo_keywords(lines)
    check(name + ": EHLO before TLS offers STARTTLS, not AUTH", b"STARTTLS" in kw and b"AUTH" not in kw, lines)
    c.send(b"AUTH PLAIN AGJvYgBzM2NyZXQgcGFzcw==\r\nAUTH LOGIN\r\n")
    codes = [c.code(), c.code()]
    check(name + ": AUTH PLAIN and LOGIN before TLS get 538 (RFC 4954 4)", codes == [538, 538], codes)
    c.send(b"MAIL FROM:<plain@client.example>\r\n")
    check(name + ": without --require-tls, MAIL before TLS is allowed", c.code() == 250)
    c.send(b"STARTTLS\r\n")
    check(name + ": STARTTLS inside a transaction gets 503", c.code() == 503)
    c.send(b"RSET\r\n")
    c.code()
    code, left = c.starttls(wait=0.1)
    check(name + ": STARTTLS gets 220, nothing follows in plaintext", code == 220 and not left, (code, left))
    c.send(b"MAIL FROM:<a@client.example>\r\n")
    check(name + ": after TLS the session is at its start: MAIL needs a new EHLO (503)", c.code() == 503)
    c.send(b"EHLO client.example\r\n")
    code, lines = c.reply()
    kw = ehlo_keywords(lines)
    check(name + ": EHLO after TLS offers AUTH PLAIN LOGIN, no STARTTLS",
          code == 250 and b"STARTTLS" not in kw and b"AUTH" in kw
          and any(l[4:].split(b" ")[1:] == [b"PLAIN", b"LOGIN"] for l in lines if l[4:8] == b"AUTH"), lines)
    c.send(b"STARTTLS\r\n")
    check(name + ": STARTTLS again gets 503", c.code() == 503)
    # a wrong password, then an unknown user with bob's password
    c.send(b"AUTH PLAIN " + base64.b64encode(b"\0bob\0s3cret pasS") + b"\r\n"
           b"AUTH PLAIN " + base64.b64encode(b"\0alice\0s3cret pass") + b"\r\n")
    codes = [c.code(), c.code()]
    check(name + ": wrong password, and another user's password: 535", codes == [535, 535], codes)
    c.send(b"AUTH PLAIN " + base64.b64encode(b"bob\0bob\0s3cret pass") + b"\r\n")
    check(name + ": AUTH PLAIN with authzid = user: 235", c.code() == 235)
    c.send(b"QUIT\r\n")
    check(name + ": QUIT 221, then close_notify and close", c.code() == 221 and c.closed())
    c.close()


def tls_smtplib(name, sink):
    sink.clear()
    sent = []
    ctx = Cert.context()
    with smtplib.SMTP("127.0.0.1", sink.port, timeout=30) as c:
        c.ehlo("client.example")
        code, text = c.starttls(context=ctx)  # checks the certificate and the name
        check(name + ": smtplib starttls() 220, certificate verified", code == 220, (code, text))
        c.ehlo("client.example")
        check(name + ": smtplib sees AUTH and no STARTTLS after TLS",
              c.has_extn("auth") and not c.has_extn("starttls"), c.esmtp_features)
        try:
            c.login("bob", "wrong")
            code = 235
        except smtplib.SMTPAuthenticationError as e:
            code = e.smtp_code
        check(name + ": smtplib login() with a wrong password: 535", code == 535, code)
        code, text = c.login("bob", "s3cret pass")
        check(name + ": smtplib login() (PLAIN) gets 235", code == 235, (code, text))
        for i in range(3):
            m = message("tls %d" % i, body_lines(40 + i, seed=200 + i))
            rcpts = ["t%d-%d@sink.example" % (i, k) for k in range(i + 1)]
            check(name + ": smtplib message %d to %d recipients" % (i, len(rcpts)),
                  c.sendmail("bob@client.example", rcpts, m) == {})
            sent.append(m)
        dots = message("tls dots", b".\r\n..\r\n.x\r\n")
        c.sendmail("bob@client.example", ["dots@sink.example"], dots)
        sent.append(dots)
        eight = message("tls eight", bytes(range(128, 256)) + b"\r\n")
        c.sendmail("bob@client.example", ["e@sink.example"], eight, mail_options=["BODY=8BITMIME"])
        sent.append(eight)
        utf = "Subject: ünï\r\n\r\nмир\r\n".encode()
        c.sendmail("jörg@exämple.org", ["用户@例子.广告"], utf, mail_options=["SMTPUTF8", "BODY=8BITMIME"])
        sent.append(utf)
    # a 2 MB message: many TLS records, reads and writes
    r = random.Random(7)
    big = message("tls big", b"".join(bytes(r.choice(b"abcdefghij.") for _ in range(78)) + b"\r\n"
                                      for _ in range(26000)))
    with smtplib.SMTP("127.0.0.1", sink.port, timeout=30) as c:
        c.starttls(context=ctx)
        c.user, c.password = "alice", "x"
        c.ehlo("client.example")
        code, text = c.auth("LOGIN", c.auth_login)
        check(name + ": smtplib AUTH LOGIN gets 235", code == 235, (code, text))
        check(name + ": 2 MB message over TLS", c.sendmail("alice@client.example", ["big@sink.example"], big) == {})
        sent.append(big)
    nauth = len(sent)
    anon = message("tls no auth")
    with smtplib.SMTP("127.0.0.1", sink.port, timeout=30) as c:
        c.starttls(context=ctx)
        check(name + ": smtplib over TLS without AUTH delivers",
              c.sendmail("anon@client.example", ["a@sink.example"], anon) == {})
        sent.append(anon)
    expect_stored(name + ": smtplib: every message stored once, byte for byte", sink, sent)
    got = stored(sink)
    tr = [got.get(m, [b""])[0] for m in sent]
    check(name + ": trace: 'with ESMTPSA' after AUTH, 'UTF8SMTPSA' for SMTPUTF8 (RFC 3848, 6531)",
          all(b" with ESMTPSA " in tr[i] for i in range(nauth) if i != 5)
          and b" with UTF8SMTPSA " in tr[5], tr[:nauth])
    check(name + ": trace: 'with ESMTPS' without AUTH", b" with ESMTPS " in tr[-1], tr[-1])
    check(name + ": trace names the TLS version and cipher",
          all(re.search(rb"\r\n\t\(using TLSv1\.[23] with cipher [A-Z0-9_-]+ \(\d+ bits\)\)\r\n", t) for t in tr),
          tr[-1])
    check(name + ": the log says tls= and auth=",
          re.search(r"helo=client\.example tls=TLSv1\.[23] auth=alice from=<alice@client\.example>", sink.log()),
          sink.log()[-600:])


def tls_injection(name, sink):
    """CVE-2011-0411: commands sent with STARTTLS in one write are never
    executed, neither in plaintext nor after the handshake."""
    sink.clear()
    c = TlsRaw(sink.port)
    c.code()
    c.send(b"EHLO client.example\r\n")
    c.reply()
    evil = (b"MAIL FROM:<evil@attacker.example>\r\nRCPT TO:<victim@sink.example>\r\nDATA\r\n"
            b"Subject: injected\r\n\r\nevil\r\n.\r\n")
    code, left = c.starttls(extra=evil, wait=0.3)
    check(name + ": injection: STARTTLS + a whole transaction in one write: 220, no plaintext reply after it",
          code == 220 and not left, (code, left))
    c.send(b"EHLO client.example\r\n")
    code, lines = c.reply()
    c.send(b"RCPT TO:<r@sink.example>\r\n")
    rc = c.code()
    check(name + ": injection: after the handshake EHLO 250 is the first reply, RCPT gets 503 (no MAIL)",
          code == 250 and rc == 503, (lines, rc))
    m = message("after injection")
    c.send(b"MAIL FROM:<good@client.example>\r\nRCPT TO:<r@sink.example>\r\nDATA\r\n")
    codes = [c.code() for _ in range(3)]
    c.send(m + b".\r\nQUIT\r\n")
    codes += [c.code(), c.code()]
    check(name + ": injection: the real transaction goes through", codes == [250, 250, 354, 250, 221], codes)
    c.close()
    expect_stored(name + ": injection: only the real message is stored", sink, [m])
    check(name + ": injection: the sink logs the dropped plaintext",
          re.search(r"\d+ plaintext octets after STARTTLS dropped", sink.log()), sink.log()[-600:])


def tls_handshake_failures(name, sink):
    # a client that does not trust the certificate aborts the handshake
    c = TlsRaw(sink.port)
    c.code()
    c.send(b"EHLO client.example\r\n")
    c.reply()
    try:
        c.starttls(ctx=ssl.create_default_context())  # system CAs only
        res = "handshake succeeded"
    except ssl.SSLCertVerificationError:
        res = "refused"
    check(name + ": a client that rejects the certificate fails its handshake", res == "refused", res)
    c.close()
    check(name + ": the sink logs the failed handshake",
          sink.wait_log(r"TLS handshake failed: .*(unknown ca|certificate|alert)"), sink.log()[-400:])
    # plaintext where the handshake should be
    c = TlsRaw(sink.port)
    c.code()
    c.send(b"STARTTLS\r\n")
    c.code()
    c.send(b"EHLO not-a-client-hello.example\r\n")
    check(name + ": plaintext instead of a handshake: the sink closes the connection, no SMTP reply",
          c.closed() and not smtp_reply_in(c.buf), c.buf)
    c.close()
    check(name + ": ... and logs it (a second 'TLS handshake failed')",
          wait_count(sink, r"TLS handshake failed: ", 2), sink.log()[-400:])
    with smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as s:
        s.starttls(context=Cert.context())
        s.login("alice", "x")
        check(name + ": the sink still serves TLS sessions afterwards",
              s.sendmail("a@client.example", ["b@sink.example"], message("after failures")) == {})


def tls_curl(name, sink):
    if not shutil.which("curl"):
        skip(name + ": curl", "curl not installed")
        return
    sink.clear()
    sent = []
    for user, opts, label in (("bob:s3cret pass", [], "default mechanism"),
                              ("alice:x", ["--login-options", "AUTH=LOGIN"], "AUTH=LOGIN"),
                              (None, [], "no --user")):
        m = message("curl tls " + label, body_lines(30, seed=300 + len(sent)) + b".\r\n.leading dot\r\n")
        path = os.path.join(sink.dir, "curl-tls.eml")
        with open(path, "wb") as f:
            f.write(m)
        cmd = ["curl", "-sS", "--max-time", "20", "--ssl-reqd", "--cacert", Cert.path,
               "smtp://127.0.0.1:%d/client.example" % sink.port, "--mail-from", "curl@client.example",
               "--mail-rcpt", "one@sink.example", "--mail-rcpt", "two@sink.example", "--upload-file", path]
        if user:
            cmd += ["--user", user] + opts
        r = subprocess.run(cmd, capture_output=True, timeout=30)
        check(name + ": curl --ssl-reqd %s delivers" % label, r.returncode == 0, r.stderr)
        sent.append(m)
    expect_stored(name + ": curl: stored byte for byte", sink, sent)
    got = stored(sink)
    tr = [got.get(m, [b""])[0] for m in sent]
    check(name + ": curl: traces say ESMTPSA, ESMTPSA, ESMTPS",
          b" with ESMTPSA " in tr[0] and b" with ESMTPSA " in tr[1] and b" with ESMTPS " in tr[2], tr)
    # without --ssl-reqd curl stays in plaintext, where AUTH is not offered:
    # it delivers without sending the password
    sink.clear()
    r = subprocess.run(["curl", "-sS", "--max-time", "20", "--user", "bob:s3cret pass",
                        "smtp://127.0.0.1:%d/client.example" % sink.port, "--mail-from", "c@client.example",
                        "--mail-rcpt", "one@sink.example", "--upload-file", path],
                       capture_output=True, timeout=30)
    tr = [t for ts in stored(sink).values() for t in ts]
    check(name + ": curl --user without --ssl-reqd: no AUTH in plaintext, delivered unauthenticated (ESMTP)",
          r.returncode == 0 and len(tr) == 1 and b" with ESMTP id" in tr[0], (r.stderr, tr))


def swaks_tls(name):
    if not shutil.which("swaks"):
        skip(name + ": swaks", "swaks not installed (apt-get install swaks)")
        return False
    sup = subprocess.run(["swaks", "--support"], capture_output=True)
    if b"TLS supported" not in sup.stdout + sup.stderr:
        skip(name + ": swaks", "swaks has no TLS (apt-get install libnet-ssleay-perl)")
        return False
    return True


def tls_swaks(name, sink):
    if not swaks_tls(name):
        return
    sink.clear()
    sent = []
    for mech, user, pw in (("PLAIN", "bob", "s3cret pass"), ("LOGIN", "alice", "x")):
        text = ("From: swaks@client.example\nSubject: swaks tls %s\n\n" % mech
                + "".join(l.decode() + "\n" for l in body_lines(20, seed=400).split(b"\r\n")[:-1]) + "end")
        path = os.path.join(sink.dir, "swaks-tls.eml")
        with open(path, "w") as f:
            f.write(text)
        r = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(sink.port),
                            "--helo", "client.example", "--from", "swaks@client.example",
                            "--to", "a@sink.example", "--tls", "--tls-verify", "--tls-ca-path", Cert.path,
                            "--auth", mech, "--auth-user", user, "--auth-password", pw,
                            "--data", "@" + path], capture_output=True, timeout=30)
        out = r.stdout.decode(errors="replace")
        check(name + ": swaks --tls --auth %s delivers" % mech,
              r.returncode == 0 and "=== TLS started" in out and "235 " in out, out[-1500:])
        sent.append(text.replace("\n", "\r\n").encode() + b"\r\n")
    expect_stored(name + ": swaks: stored byte for byte", sink, sent)


def tls_msmtp(name, sink):
    if not shutil.which("msmtp"):
        skip(name + ": msmtp", "msmtp not installed (apt-get install msmtp)")
        return
    sink.clear()
    sent = []
    for mech, user, pw in (("plain", "bob", "s3cret pass"), ("login", "alice", "x")):
        text = message("msmtp tls " + mech, body_lines(20, seed=500)).replace(b"\r\n", b"\n")
        r = subprocess.run(["msmtp", "-C", "/dev/null", "--host=127.0.0.1", "--port=%d" % sink.port,
                            "--domain=client.example", "--from=msmtp@client.example",
                            "--tls=on", "--tls-starttls=on", "--tls-trust-file=" + Cert.path,
                            "--auth=" + mech, "--user=" + user, "--passwordeval=printf %s '" + pw + "'",
                            "--set-from-header=off", "--set-date-header=off", "--set-msgid-header=off",
                            "--", "a@sink.example"], input=text, capture_output=True, timeout=30)
        check(name + ": msmtp --tls-starttls --auth=%s delivers" % mech, r.returncode == 0, r.stderr)
        sent.append(text.replace(b"\n", b"\r\n"))
    expect_stored(name + ": msmtp: stored byte for byte", sink, sent)


def tls_backpressure(name, sink):
    """A TLS client that sends 2 MB of NOOPs without reading: the sink stops
    reading it; once it reads, every reply arrives in order."""
    n = 350000
    data = b"NOOP\r\n" * n + b"QUIT\r\n"
    c = small_buffer_client(TlsRaw, sink, 10)
    c.send(b"EHLO client.example\r\n")
    c.reply()
    code, left = c.starttls()
    ss = c.s
    ss.setblocking(False)
    off, last, deadline = 0, time.time(), time.time() + 20
    while time.time() - last < 1.0 and time.time() < deadline and off < len(data):
        select.select([], [ss], [], 0.2)
        try:
            k = ss.send(data[off:off + 16384])
            if k:
                off += k
                last = time.time()
        except (ssl.SSLWantWriteError, ssl.SSLWantReadError, BlockingIOError):
            pass
    check(name + ": back-pressure: the sink stops reading a TLS client that does not read "
          "(%d of %d octets taken)" % (off, len(data)), 0 < off < len(data) // 4, off)
    t0 = time.time()
    with smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as o:
        o.starttls(context=Cert.context())
        refused = o.sendmail("o@client.example", ["o@sink.example"], message("tls other"))
    check(name + ": back-pressure: another TLS session is served meanwhile (%.2f s)" % (time.time() - t0),
          refused == {} and time.time() - t0 < 5, refused)
    got = bytearray()
    deadline = time.time() + 120
    while not got.endswith(b"\r\n") or not got[-200:].split(b"\r\n")[-2].startswith(b"221"):
        if time.time() > deadline:
            break
        r, w, _ = select.select([ss], [ss] if off < len(data) else [], [], 1.0)
        if w:
            try:
                off += ss.send(data[off:off + 16384])
            except (ssl.SSLWantWriteError, ssl.SSLWantReadError):
                pass
        try:
            while True:
                d = ss.recv(65536)
                if not d:
                    deadline = 0
                    break
                got += d
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            pass
    replies = bytes(got).split(b"\r\n")[:-1]
    codes = [l[:3] for l in replies]
    check(name + ": back-pressure: once read, all %d replies arrive in order" % n,
          off == len(data) and codes == [b"250"] * n + [b"221"],
          "%d of %d sent, %d replies, last %r" % (off, len(data), len(codes), replies[-2:]))
    ss.close()


def test_require_tls(binary, tmp):
    """--require-tls, and a sink reading 7 octets at a time: SSL_pending(),
    pipelining and BDAT over TLS, a STARTTLS cut by the read size, the
    handshake timeout."""
    name = "require-tls"
    if not tls_available(binary, tmp, name):
        return
    sink = Sink(binary, tmp, "--tls-cert", Cert.path, "--tls-key", Cert.key, "--require-tls",
                "--user", "carol:pw", "--io-size", "7", "--timeout-cmd", "2", name="reqtls")
    try:
        c = TlsRaw(sink.port)
        c.code()
        carol = b"AUTH PLAIN " + base64.b64encode(b"\0carol\0pw") + b"\r\n"
        c.send(b"EHLO client.example\r\nMAIL FROM:<a@client.example>\r\n" + carol + b"HELP\r\n")
        code, lines = c.reply()
        codes = [c.code(), c.code(), c.code()]
        check(name + ": before STARTTLS: MAIL 530, AUTH 530, HELP 214", codes == [530, 530, 214], codes)
        check(name + ": EHLO offers STARTTLS, not AUTH",
              b"STARTTLS" in ehlo_keywords(lines) and b"AUTH" not in ehlo_keywords(lines), lines)
        code, left = c.starttls()
        check(name + ": STARTTLS 220", code == 220 and not left, (code, left))
        # pipelined over TLS, read by the sink 7 octets at a time: the rest
        # of each TLS record waits inside OpenSSL (SSL_pending)
        msgs, blast = [], [b"EHLO client.example\r\n" + carol]
        for i in range(5):
            m = message("reqtls %d" % i, body_lines(10, seed=600 + i))
            msgs.append(m)
            blast.append(b"MAIL FROM:<p@client.example>\r\nRCPT TO:<x%d@sink.example>\r\nDATA\r\n" % i
                         + m.replace(b"\r\n.", b"\r\n..") + b".\r\n")
        c.send(b"".join(blast))
        c.reply()
        codes = [c.code() for _ in range(21)]
        check(name + ": after TLS, 7-octet reads: AUTH and 5 pipelined transactions",
              codes == [235] + [250, 250, 354, 250] * 5, codes)
        # BDAT over TLS: command words and CRLF.CRLF inside the chunks are data
        chunks = [message("reqtls bdat", b"") + b"first\r\n.\r\nQUIT\r\n", bytes(range(256)), b"\r\nend\r\n"]
        req = b"MAIL FROM:<b@client.example> BODY=BINARYMIME\r\nRCPT TO:<b@sink.example>\r\n"
        for ch in chunks:
            req += b"BDAT %d\r\n" % len(ch) + ch
        c.send(req + b"BDAT 0 LAST\r\nQUIT\r\n")
        codes = [c.code() for _ in range(7)]
        check(name + ": BDAT over TLS: MAIL RCPT 4 chunks QUIT", codes == [250] * 6 + [221], codes)
        check(name + ": closed after QUIT", c.closed())
        c.close()
        expect_stored(name + ": pipelined and BDAT messages stored byte for byte", sink, msgs + [b"".join(chunks)])
        # STARTTLS and a pipelined command cut by the 7-octet reads: the
        # command reaches the handshake, which fails; it is never executed
        c = TlsRaw(sink.port)
        c.code()
        c.send(b"STARTTLS\r\nMAIL FROM:<evil@attacker.example>\r\n")
        code = c.code()
        check(name + ": STARTTLS and MAIL in one write, read in pieces: 220, then closed, no other reply",
              code == 220 and c.closed() and not smtp_reply_in(c.buf), (code, c.buf))
        c.close()
        check(name + ": ... the handshake failure is logged, MAIL never executed",
              sink.wait_log(r"TLS handshake failed") and "evil" not in sink.log(), sink.log()[-500:])
        # --timeout-cmd 2, at the same time: a client that never starts the
        # handshake is closed (no SMTP reply fits there); an idle TLS
        # session gets 421 over TLS
        a = TlsRaw(sink.port)
        a.code()
        a.send(b"STARTTLS\r\n")
        a.code()
        t0 = time.time()
        b = TlsRaw(sink.port)
        b.code()
        b.starttls()
        b.send(b"EHLO client.example\r\n")
        b.reply()
        ok_a = a.closed(timeout=6)
        dt = time.time() - t0
        check(name + ": no handshake: closed after --timeout-cmd 2 (%.1f s), no reply" % dt,
              ok_a and 1.5 < dt < 4.5 and not smtp_reply_in(a.buf), (dt, a.buf))
        check(name + ": ... and logged", sink.wait_log(r"TLS handshake timeout"), sink.log()[-300:])
        code, lines = b.reply()
        check(name + ": an idle TLS session gets 421 over TLS, then close", code == 421 and b.closed(), lines)
        a.close()
        b.close()
        # SIGTERM: 421 over TLS to a TLS session; a session waiting for its
        # handshake is just closed
        c = TlsRaw(sink.port)
        c.code()
        c.starttls()
        c.send(b"EHLO client.example\r\n")
        c.reply()
        d = TlsRaw(sink.port)
        d.code()
        d.send(b"STARTTLS\r\n")
        d.code()
        time.sleep(0.1)
        sink.proc.send_signal(signal.SIGTERM)
        code, lines = c.reply()
        check(name + ": SIGTERM: 421 over TLS, then close", code == 421 and c.closed(), lines)
        check(name + ": SIGTERM: a session in its handshake is closed, no reply",
              d.closed() and not smtp_reply_in(d.buf), d.buf)
        c.close()
        d.close()
    finally:
        sink.stop(name)


def test_stdio_tls(binary, tmp):
    """--stdio with STARTTLS, inetd style: the socket is stdin and stdout."""
    name = "stdio STARTTLS"
    if not tls_available(binary, tmp, name):
        return
    a, b = socket.socketpair()
    md = os.path.join(tempfile.mkdtemp(prefix="stdio-tls-", dir=tmp), "Maildir")
    p = subprocess.Popen([binary, "--stdio", "--tls-cert", Cert.path, "--tls-key", Cert.key,
                          "--user", "dave:pw", "--maildir", md], stdin=b.fileno(), stdout=b.fileno(),
                         stderr=subprocess.PIPE)
    b.close()
    try:
        c = TlsRaw.__new__(TlsRaw)
        c.s, c.buf = a, b""
        a.settimeout(10)
        c.code()
        c.send(b"EHLO client.example\r\n")
        c.reply()
        code, left = c.starttls()
        m = message("stdio tls")
        c.send(b"EHLO client.example\r\nAUTH PLAIN " + base64.b64encode(b"\0dave\0pw") +
               b"\r\nMAIL FROM:<s@client.example>\r\n"
               b"RCPT TO:<r@sink.example>\r\nDATA\r\n")
        c.reply()
        codes = [c.code() for _ in range(4)]
        c.send(m + b".\r\nQUIT\r\n")
        codes += [c.code(), c.code()]
        check(name + ": STARTTLS, AUTH and a message over stdin/stdout", code == 220 and
              codes == [235, 250, 250, 354, 250, 221], (code, codes))
        err = p.communicate(timeout=20)[1]
        check(name + ": exit 0, no sanitizer report", p.returncode == 0 and sanitizer_quiet(err),
              (p.returncode, err[-1500:]))
        files = os.listdir(os.path.join(md, "new"))
        ok = len(files) == 1 and read_msg(os.path.join(md, "new", files[0]))[1] == m
        check(name + ": stored byte for byte, 'with ESMTPSA'", ok and b" with ESMTPSA " in
              read_msg(os.path.join(md, "new", files[0]))[0], files)
    finally:
        a.close()
        if p.poll() is None:
            p.kill()
            p.wait()


def test_max_conn(binary, tmp):
    name = "max-conn"
    sink = Sink(binary, tmp, "--max-conn", "3", maildir=False, name="maxconn")
    try:
        cs = [Raw(sink.port) for _ in range(3)]
        codes = [c.code() for c in cs]
        extra = Raw(sink.port)
        code, lines = extra.reply()
        check(name + ": 3 sessions get 220, the 4th gets 421 and is closed",
              codes == [220] * 3 and code == 421 and extra.eof(), (codes, lines))
        extra.close()
        cs[0].send(b"QUIT\r\n")
        cs[0].code()
        cs[0].eof()
        cs[0].close()
        time.sleep(0.2)
        again = Raw(sink.port)
        check(name + ": after one leaves, a new session gets 220", again.code() == 220)
        check(name + ": the refused session is logged with its 421",
              re.search(TIMESTAMP + r"smtp-sink: client=127\.0\.0\.1:\d+ refused: 421 localhost Too many "
                        r"connections, try again later \(3 sessions open\)", sink.log()), sink.log()[-500:])
        for c in cs[1:] + [again]:
            c.close()
    finally:
        sink.stop(name)


def test_timeouts(binary, tmp):
    name = "timeouts"
    # --min-data-rate 0: only the pause between reads counts here (test_slow
    # covers the rate)
    sink = Sink(binary, tmp, "--timeout-cmd", "1", "--timeout-data", "1.5", "--min-data-rate", "0",
                "--timeout-write", "1", name="timeouts")
    try:
        c = Raw(sink.port)
        c.code()
        c.send(b"EHLO client.example\r\n")
        c.reply()
        t0 = time.time()
        code, lines = c.reply()
        dt = time.time() - t0
        check(name + ": idle session gets 421 after --timeout-cmd 1 (%.2f s)" % dt,
              code == 421 and 0.8 < dt < 3 and c.eof(), lines)
        c.close()
        c = Raw(sink.port)
        c.code()
        c.send(b"EHLO client.example\r\nMAIL FROM:<t@client.example>\r\nRCPT TO:<r@sink.example>\r\n"
               b"DATA\r\n")
        codes = [c.code() for _ in range(4)]
        t0 = time.time()
        for _ in range(3):  # data keeps coming: no timeout yet
            c.send(b"some data\r\n")
            time.sleep(0.5)
        code, lines = c.reply()
        dt = time.time() - t0
        check(name + ": stalled DATA gets 421 after --timeout-data 1.5 (%.2f s)" % dt,
              codes[-1] == 354 and code == 421 and 2.5 < dt < 5 and c.eof(), (codes, lines))
        check(name + ": the timeout's 421 says 4.4.2 (RFC 3463: timeout) after EHLO",
              any(l.startswith(b"421 4.4.2 ") for l in lines), lines)
        c.close()
        check(name + ": nothing stored, tmp/ empty", not sink.new() and not sink.tmp_files())
        check(name + ": the aborted transaction is logged",
              re.search(r"from=<t@client.example>.*aborted: timeout", sink.log()), sink.log())
        # a client that sends NOOPs and never reads: once a reply cannot be
        # sent for --timeout-write 1, the connection is closed
        c = small_buffer_client(Raw, sink, 10)
        t0, err = time.time(), None
        try:
            while time.time() - t0 < 8:
                c.s.sendall(b"NOOP\r\n" * 1000)
        except OSError as e:
            err = e
        dt = time.time() - t0
        c.close()
        check(name + ": a client that does not read is closed after --timeout-write 1 (%.2f s)" % dt,
              err is not None and dt < 5, (err, dt))
        check(name + ": ... and logged", sink.wait_log(r"does not read our reply \(--timeout-write\)"),
              sink.log()[-500:])
    finally:
        sink.stop(name)


def test_sigterm(binary, tmp):
    name = "SIGTERM"
    sink = Sink(binary, tmp, name="sigterm")
    cs = []
    try:
        for _ in range(3):
            c = Raw(sink.port)
            c.code()
            c.send(b"EHLO client.example\r\n")
            c.reply()
            cs.append(c)
        cs[1].send(b"MAIL FROM:<s@client.example>\r\n")
        cs[1].code()
        cs[2].send(b"MAIL FROM:<s@client.example>\r\nRCPT TO:<r@sink.example>\r\nDATA\r\n")
        [cs[2].code() for _ in range(3)]
        cs[2].send(b"Subject: interrupted\r\n\r\nhalf\r\n")
        time.sleep(0.2)
        sink.proc.send_signal(signal.SIGTERM)
        got = []
        for c in cs:
            try:
                got.append((c.reply()[0], c.eof()))
            except (EOFError, OSError) as e:
                got.append(repr(e))
        check(name + ": every open session gets 421 and is closed", got == [(421, True)] * 3, got)
        try:
            rc = sink.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            rc = None
        check(name + ": the sink exits 0", rc == 0, rc)
        check(name + ": the interrupted message is not stored, tmp/ empty",
              not sink.new() and not sink.tmp_files(), (sink.new(), sink.tmp_files()))
    finally:
        for c in cs:
            c.close()
        sink.stop(name)


# ---------------------------------------------------------------- abuse

def trickle(port, head, replies, drip, step, limit, done=None):
    """Connects, sends `head` (after reading the greeting) and reads
    `replies` replies, then one octet of `drip` every `step` seconds for at most
    `limit` seconds.  Returns (replies to head, seconds from the end of head
    to the first reply or EOF after it, that reply line or None, closed)."""
    c = Raw(port)
    c.code()
    codes = []
    if head:
        c.send(head)
        codes = [c.code() for _ in range(replies)]
    c.s.setblocking(False)
    t0, got, i = time.time(), None, 0
    while time.time() - t0 < limit and got is None:
        if i < len(drip):
            try:
                c.s.send(drip[i:i + 1])
                i += 1
            except OSError:  # reset: the sink closed
                got = b""
                break
        r, _, _ = select.select([c.s], [], [], step)
        if r:
            try:
                d = c.s.recv(4096)
            except OSError:
                d = b""
            c.buf += d
            if not d or b"\r\n" in c.buf:
                got = c.buf.split(b"\r\n")[0]
    dt = time.time() - t0
    c.s.setblocking(True)
    closed = c.eof(timeout=3) if got else False
    c.close()
    if done is not None:
        done.append((codes, dt, got, closed))
    return codes, dt, got, closed


def test_slow(binary, tmp):
    """--timeout-cmd is a deadline for a whole command line, and mail data
    must keep --min-data-rate after the --timeout-data grace: clients that
    send one octet at a time are cut with 421, in a command, inside an
    unterminated line, in DATA and in BDAT; commands that each arrive in
    time, and a steady 10 MB upload lasting longer than every timeout, are
    not."""
    name = "slow clients"
    sink = Sink(binary, tmp, "--timeout-cmd", "1", "--timeout-data", "1", "--min-data-rate", "1000000",
                name="slow")
    try:
        ehlo = b"EHLO client.example\r\n"
        tx = ehlo + b"MAIL FROM:<s@client.example>\r\nRCPT TO:<r@sink.example>\r\n"
        cases = [  # label, head, replies to it, drip (one octet every 0.1 s)
            ("a command line sent one octet at a time", b"", 0, ehlo * 20),
            ("an unterminated line", ehlo, 1, b"MAIL FROM:<" + b"x" * 200),
            ("DATA", tx + b"DATA\r\n", 4, b"Subject: slow\r\n\r\n" + b"x" * 200),
            ("BDAT", tx + b"BDAT 100000 LAST\r\n", 3, b"x" * 200),
        ]
        results = [[] for _ in cases]
        ts = [threading.Thread(target=trickle, args=(sink.port, head, n, drip, 0.1, 4.0, results[k]))
              for k, (_, head, n, drip) in enumerate(cases)]
        for t in ts:
            t.start()
        # meanwhile: NOOPs that each take 0.6 s to arrive, 2.4 s in all
        c = Raw(sink.port)
        c.code()
        codes = []
        for _ in range(4):
            for b in b"NOOP\r\n":
                c.send(bytes([b]))
                time.sleep(0.1)
            codes.append(c.code())
        c.send(b"QUIT\r\n")
        codes.append(c.code())
        c.close()
        check(name + ": 4 NOOPs, each arriving whole within --timeout-cmd 1, 2.4 s in all: all answered",
              codes == [250] * 4 + [221], codes)
        for t in ts:
            t.join()
        for (label, _, _, _), res in zip(cases, results):
            codes, dt, got, closed = res[0]
            check(name + ": %s (10 octets/s): 421 after about 1 s (%.2f s), then closed" % (label, dt),
                  got is not None and got.startswith(b"421 ") and closed and 0.7 < dt < 2.2
                  and all(200 <= x < 400 for x in codes), (codes, dt, got, closed))
        log = sink.log()
        check(name + ": each cut is logged with its rule",
              len(re.findall(r"timeout: no whole command line within 1 s \(--timeout-cmd\)", log)) == 2
              and len(re.findall(r"timeout: mail data too slow: \d+ octets in [\d.]+ s", log)) == 2, log[-1500:])
        check(name + ": nothing stored, tmp/ empty", not sink.new() and not sink.tmp_files(),
              (sink.new(), sink.tmp_files()))
        # a steady 10 MB upload in 64 kB steps, about 2.5 s: longer than
        # every timeout, above --min-data-rate
        r = random.Random(11)
        line = bytes(r.choice(b"abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(998)) + b"\r\n"
        big = message("steady", line * (10 * 1024 * 1024 // len(line)))
        wire = big.replace(b"\r\n.", b"\r\n..") + b".\r\n"
        c = Raw(sink.port, timeout=30)
        c.code()
        c.send(tx + b"DATA\r\n")
        codes = [c.code() for _ in range(4)]
        t0 = time.time()
        step = 65536
        for k, off in enumerate(range(0, len(wire), step)):
            c.send(wire[off:off + step])
            pause = t0 + (k + 1) * step / 4.2e6 - time.time()  # about 4 MB/s
            if pause > 0:
                time.sleep(pause)
        code, lines = c.reply()
        dt = time.time() - t0
        c.send(b"QUIT\r\n")
        c.close()
        check(name + ": a steady 10 MB upload over %.1f s (%.1f MB/s) is accepted" % (dt, len(wire) / dt / 1e6),
              codes == [250, 250, 250, 354] and code == 250 and dt > 1.5, (codes, lines, dt))
        expect_stored(name + ": the 10 MB message is stored byte for byte", sink, [big])
    finally:
        sink.stop(name)


TIMESTAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z "


def test_auth_guessing(binary, tmp):
    """--max-auth-fails: wrong passwords end the session with 421."""
    name = "AUTH guessing"
    sink = Sink(binary, tmp, "--user", "bob:right horse", "--max-auth-fails", "2", name="guess")
    try:
        codes, after = [], None
        with smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as c:
            c.ehlo("client.example")
            c.user = "bob"
            for k in range(6):
                c.password = "guess %d" % k
                try:
                    codes.append(c.auth("PLAIN", c.auth_plain)[0])
                except smtplib.SMTPAuthenticationError as e:
                    codes.append(e.smtp_code)
                except smtplib.SMTPServerDisconnected:
                    break
                if codes[-1] == 421:
                    break
            try:
                after = c.noop()[0]
            except smtplib.SMTPServerDisconnected:
                after = "closed"
        check(name + ": smtplib guessing with --max-auth-fails 2: 535, 535, then 421",
              codes == [535, 535, 421], codes)
        check(name + ": ... and the connection is closed", after == "closed", after)
        log = sink.log()
        check(name + ": the 535s and the 421 are logged, no password",
              len(re.findall(r"AUTH PLAIN refused: 535 ", log)) == 2 and re.search(r"refused: 421 4\.7\.0", log)
              and "guess" not in log and "right horse" not in log, log[-1200:])
        with smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as c:
            c.ehlo("client.example")
            c.user, c.password = "bob", "right horse"
            check(name + ": another session may still log in", c.auth("PLAIN", c.auth_plain)[0] == 235)
    finally:
        sink.stop(name)
    # without the option: the core's default, 3
    bad = b"AUTH PLAIN " + base64.b64encode(b"\0bob\0wrong") + b"\r\n"
    out, err, rc = run_stdio(binary, b"EHLO c.example\r\n" + bad * 5, ["--user", "bob:pw"])
    check(name + ": by default 3 failures are allowed, the 4th gets 421",
          codes_of(out)[2:] == [535, 535, 535, 421] and rc == 0, codes_of(out))


def test_refusal_log(binary, tmp):
    """Every refusal, the sink's and the core's, is logged with its code
    and the command it answers; every log line has a time stamp; no
    password or AUTH data is logged."""
    name = "refusal log"
    sink = Sink(binary, tmp, "--user", "bob:Secr3tPass", "--mailbox", "known@sink.example",
                "--max-size", "1000", name="refusals")
    try:
        plain = base64.b64encode(b"\0bob\0Wr0ngGuess")
        c = Raw(sink.port)
        c.code()
        c.send(b"EHLO client.example\r\n")
        c.reply()
        steps = [(b"AUTH PLAIN " + plain + b"\r\n", 535),
                 (b"AUTH LOGIN\r\n", 334), (base64.b64encode(b"bob") + b"\r\n", 334),
                 (base64.b64encode(b"Wr0ngGuess2") + b"\r\n", 535),
                 (b"MAIL FROM:<big@client.example> SIZE=5000\r\n", 552),
                 (b"MAIL FROM:<a@client.example>\r\n", 250),
                 (b"RCPT TO:<nobody@sink.example>\r\n", 550),
                 (b"BOGUS\r\n", 500),
                 (b"DATA\r\n", 554),
                 (b"RCPT TO:<known@sink.example>\r\n", 250),
                 (b"DATA\r\n", 354),
                 (b"Subject: big\r\n\r\n" + b"x" * 2000 + b"\r\n.\r\n", 552),
                 (b"QUIT\r\n", 221)]
        got = []
        for line, _ in steps:
            c.send(line)
            got.append(c.code())
        c.close()
        check(name + ": the session got the expected refusals", got == [w for _, w in steps], got)
        sink.wait_log(r"result=\"552 ")
        log = sink.log()
        lines = log.splitlines()
        check(name + ": every log line starts with an ISO 8601 UTC time stamp with milliseconds",
              lines and all(re.match(TIMESTAMP + "smtp-sink: ", l) for l in lines),
              [l for l in lines if not re.match(TIMESTAMP, l)][:5])
        want = [r"AUTH PLAIN refused: 535 5\.7\.8 ", r"AUTH LOGIN refused: 535 5\.7\.8 ",
                r"refused: 552 5\.3\.4 Message size", r"RCPT TO:<nobody@sink\.example> refused: 550 5\.1\.1 ",
                r"refused: 500 5\.5\.2 ", r"refused: 554 ", r"result=\"552 "]
        missing = [w for w in want if not re.search(TIMESTAMP + r"smtp-sink: client=127\.0\.0\.1:\d+ .*" + w, log)]
        check(name + ": AUTH, MAIL, RCPT, an unknown command, DATA and the end of data: each refusal logged "
              "with its code", not missing, (missing, log[-2000:]))
        secrets = [b"Wr0ngGuess", b"Secr3tPass", plain, base64.b64encode(b"Wr0ngGuess2")]
        check(name + ": no password or AUTH data in the log",
              not any(x.decode() in log for x in secrets), log[-2000:])
    finally:
        sink.stop(name)


def test_smtputf8_repeat(sink):
    """smtplib's send_message(msg, mail_options=['SMTPUTF8']) to a UTF-8
    address repeats SMTPUTF8 (it adds its own): MAIL FROM:<...> size=N
    SMTPUTF8 SMTPUTF8 BODY=8BITMIME is accepted, the message stored."""
    name = "smtplib SMTPUTF8 twice"
    from email.message import EmailMessage
    sink.clear()

    class Recording(smtplib.SMTP):
        sent = []

        def putcmd(self, cmd, args=""):
            self.sent.append((cmd, args))
            return super().putcmd(cmd, args)

        def sendmail(self, from_addr, to_addrs, msg, *a, **k):
            self.flat = msg
            return super().sendmail(from_addr, to_addrs, msg, *a, **k)

    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "jörg@exämple.org", "用户@例子.广告", "ünïcödé"
    msg.set_content("Grüße, мир!\n")
    with Recording("127.0.0.1", sink.port, timeout=10) as c:
        try:
            refused = c.send_message(msg, mail_options=["SMTPUTF8"])
        except smtplib.SMTPException as e:
            refused = e
        mail = [a for cmd, a in c.sent if cmd == "mail"]
        flat = getattr(c, "flat", b"")
    check(name + ": smtplib sends MAIL with SMTPUTF8 SMTPUTF8 BODY=8BITMIME",
          mail and re.search(r" size=\d+ SMTPUTF8 SMTPUTF8 BODY=8BITMIME$", mail[0]), mail)
    check(name + ": accepted", refused == {}, refused)
    expect_stored(name + ": stored byte for byte", sink,
                  [flat if flat.endswith(b"\r\n") else flat + b"\r\n"])


def test_bad_options(binary, tmp):
    """Every numeric option is range-checked; each error names the option,
    what it expects and what it got; nothing starts."""
    name = "options"
    cases = [
        (["--listen", "127.0.0.1:99999"], "--listen: expected ADDR:PORT with a port from 0 to 65535, got '127.0.0.1:99999'"),
        (["--listen", "[::1]:65536"], "--listen: expected ADDR:PORT with a port from 0 to 65535"),
        (["--listen", "127.0.0.1:smtp"], "--listen: expected ADDR:PORT with a port from 0 to 65535"),
        (["--listen", "127.0.0.1"], "--listen: expected ADDR:PORT"),
        (["--max-conn", "-1"], "--max-conn: expected an integer from 1 to 10000, got '-1'"),
        (["--max-conn", "0"], "--max-conn: expected an integer from 1 to 10000, got '0'"),
        (["--max-conn=10001"], "--max-conn: expected an integer from 1 to 10000, got '10001'"),
        (["--max-conn", "1e3"], "--max-conn: expected an integer from 1 to 10000, got '1e3'"),
        (["--max-size", "-1"], "--max-size: expected an integer from 0 to 18446744073709551615, got '-1'"),
        (["--max-size", "18446744073709551616"], "--max-size: expected an integer from 0 to 18446744073709551615"),
        (["--max-size", " 5"], "--max-size: expected an integer"),
        (["--io-size", "0"], "--io-size: expected an integer from 1 to 16384, got '0'"),
        (["--io-size", "1.5"], "--io-size: expected an integer from 1 to 16384, got '1.5'"),
        (["--io-size", "16385"], "--io-size: expected an integer from 1 to 16384"),
        (["--timeout-cmd", "0"], "--timeout-cmd: expected a number of seconds from 0.01 to 86400, got '0'"),
        (["--timeout-data", "-5"], "--timeout-data: expected a number of seconds from 0.01 to 86400, got '-5'"),
        (["--timeout-write", "inf"], "--timeout-write: expected a number of seconds from 0.01 to 86400, got 'inf'"),
        (["--timeout-cmd", "nan"], "--timeout-cmd: expected a number of seconds"),
        (["--timeout-cmd", "86401"], "--timeout-cmd: expected a number of seconds"),
        (["--timeout-cmd", "1..2"], "--timeout-cmd: expected a number of seconds"),
        (["--min-data-rate", "-1"], "--min-data-rate: expected an integer from 0 to 1000000000, got '-1'"),
        (["--max-auth-fails", "0"], "--max-auth-fails: expected an integer from 1 to 255, got '0'"),
        (["--max-auth-fails", "256"], "--max-auth-fails: expected an integer from 1 to 255, got '256'"),
        (["--max-conn"], "--max-conn: expected a value"),
        (["--maildir", "/tmp/" + "d" * 2996], "--maildir: expected a directory of at most 3000 octets"),
        (["--no-such-option", "1"], "unknown option '--no-such-option'"),
        (["--stdio=yes"], "--stdio takes no value"),
        (["stray"], "unknown option 'stray'"),
        (["--hold", "[127.0.0.1]", "--hold-dir", "/tmp/h"], "--hold: expected DOMAIN or DOMAIN=USER"),
        (["--hold", "a..example", "--hold-dir", "/tmp/h"], "--hold: expected DOMAIN or DOMAIN=USER"),
        (["--hold", "a.example=", "--hold-dir", "/tmp/h"], "--hold: expected DOMAIN or DOMAIN=USER"),
        (["--hold", "a.example", "--hold", "A.example", "--hold-dir", "/tmp/h"], "--hold: expected each domain once"),
        (["--hold", "a.example"], "--hold needs --hold-dir"),
        (["--hold-dir", "/tmp/h"], "--hold-dir needs --hold"),
        (["--turn"], "--turn needs --hold"),
        (["--turn=yes"], "--turn takes no value"),
        (["--hold", "a.example=carol", "--hold-dir", "/tmp/h", "--user", "alice:pw"],
         "--hold a.example=carol: no --user named 'carol'"),
    ]
    def refused(case):
        args, msg = case
        try:
            r = subprocess.run([binary] + args, stdin=subprocess.DEVNULL, capture_output=True, timeout=5)
        except subprocess.TimeoutExpired:  # it started anyway
            return (args, "still running after 5 s")
        err = r.stderr.decode("utf-8", "replace")
        first = err.splitlines()[0] if err else ""
        if r.returncode != 2 or r.stdout or not first.startswith("smtp-sink: " + msg):
            return (args, r.returncode, err[:300])
        return None
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        bad = [b for b in pool.map(refused, cases) if b]
    check(name + ": %d bad values refused: exit 2, one line naming the option, what it expects and "
          "the value" % len(cases), not bad, bad)
    # the edges of each range are accepted
    out, err, rc = run_stdio(binary, b"QUIT\r\n", [
        "--listen", "[::1]:65535", "--max-conn", "10000", "--max-size", "18446744073709551615",
        "--io-size", "1", "--timeout-cmd", "0.01", "--timeout-data", "86400", "--timeout-write", "86400",
        "--min-data-rate", "0", "--max-auth-fails", "255", "--user", "u:p"])
    check(name + ": the edges of every range are accepted", rc == 0 and codes_of(out) == [220, 221],
          (rc, out, err[-500:]))
    out, err, rc = run_stdio(binary, b"QUIT\r\n", ["--min-data-rate", "1000000000", "--max-auth-fails", "1",
                                                   "--timeout-cmd=86400", "--max-conn=1"])
    check(name + ": ... the other edges too", rc == 0 and codes_of(out) == [220, 221], (rc, out, err[-500:]))
    usage = subprocess.run([binary, "--help"], capture_output=True).stdout.decode()
    check(name + ": --help says what each time limit bounds",
          all(w in usage for w in ("--timeout-cmd SEC", "a whole command line", "--timeout-data SEC",
                                   "longest pause between two reads", "--min-data-rate B",
                                   "--timeout-write SEC", "--max-auth-fails N")), usage)
    check(name + ": --help names --hold, --hold-dir and --turn, with TURN's risk",
          all(w in usage for w in ("--hold DOMAIN[=USER]", "--hold-dir DIR", "--turn",
                                   "NOTHING PROVES WHO THE")), usage)


def test_build(tmp):
    """The Makefile notices a change in OpenSSL's availability (simulated
    with SINK_TLS=0 then 1) and rebuilds the sink; `make clean` leaves the
    data `make run` and the README use (var/) alone."""
    name = "build"
    root = os.path.dirname(os.path.dirname(HERE))
    src = tempfile.mkdtemp(prefix="build-", dir=tmp)
    for f in ("Makefile", "smtp.c", "smtp.h", "examples/smtp-sink.c", "examples/smtp-send.c"):
        os.makedirs(os.path.dirname(os.path.join(src, f)) or src, exist_ok=True)
        shutil.copy(os.path.join(root, f), os.path.join(src, f))
    sink = os.path.join(src, "build", "smtp-sink")

    # a make of its own: nothing from the make running this suite (MAKEFLAGS
    # would pass on its command-line variables, BUILD= and SINK_TLS= too)
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES",
                                                           "BUILD", "SINK_TLS", "SINK_DATA", "SINK_ARGS")}

    def make(*args):
        return subprocess.run(["make", "-C", src, "--no-print-directory", "BUILD=build"] + list(args),
                              capture_output=True, timeout=300, env=env)

    def help_text():
        return subprocess.run([sink, "--help"], capture_output=True).stdout
    r0 = make("SINK_TLS=0", "build/smtp-sink")
    without = help_text() if r0.returncode == 0 else b""
    check(name + ": SINK_TLS=0 builds a sink without OpenSSL",
          r0.returncode == 0 and b"built without OpenSSL" in without, r0.stderr[-800:])
    have_ssl = subprocess.run(["cc", "-E", "-x", "c", "-"], input=b"#include <openssl/ssl.h>\n",
                              capture_output=True).returncode == 0
    if have_ssl:
        r1 = make("SINK_TLS=1", "build/smtp-sink")
        check(name + ": then SINK_TLS=1 (OpenSSL now found): plain make rebuilds it with TLS",
              r1.returncode == 0 and b"built without OpenSSL" not in help_text() and b"smtp-sink.c" in r1.stdout,
              (r1.stdout[-800:], r1.stderr[-800:]))
        r2 = make("build/smtp-sink")
        check(name + ": then plain make (detection finds OpenSSL): nothing to rebuild",
              r2.returncode == 0 and b"smtp-sink.c" not in r2.stdout, r2.stdout[-800:])
    else:
        skip(name + ": rebuild with TLS", "libssl-dev not installed")
    # make clean: the build goes, var/ stays
    data = os.path.join(src, "var", "Maildir", "new")
    os.makedirs(data)
    for f in (os.path.join(data, "1.M1P1Q1.host"), os.path.join(src, "var", "key.pem")):
        with open(f, "w") as fh:
            fh.write("user data\n")
    r = make("clean")
    check(name + ": make clean removes build/ and keeps var/ (the Maildir and the TLS key)",
          r.returncode == 0 and not os.path.exists(os.path.join(src, "build"))
          and os.listdir(data) and os.path.exists(os.path.join(src, "var", "key.pem")), r.stderr)
    r = make("-n", "run")
    cmd = [l for l in r.stdout.decode().splitlines() if "smtp-sink --listen" in l]
    check(name + ": make run stores in var/Maildir, outside build/",
          cmd and "--maildir var/Maildir" in cmd[0] and "build/Maildir" not in cmd[0], r.stdout[-500:])


# ---------------------------------------------------------------- TURN, ATRN

class TurnPeer(Raw):
    """A scripted client that asks the sink for the mail it holds (TURN, or
    AUTH then ATRN) and, after the 250, is on the same socket the receiver
    the sink delivers to: 220, EHLO, MAIL, RCPT, DATA or BDAT, QUIT."""

    def cmd(self, line):
        self.send(line + b"\r\n")
        return self.reply()

    def read_n(self, n):
        while len(self.buf) < n:
            d = self.s.recv(65536)
            if not d:
                raise EOFError("closed in the middle of a BDAT chunk")
            self.buf += d
        b, self.buf = self.buf[:n], self.buf[n:]
        return b

    def receive(self, ext=(b"8BITMIME",), refuse=None, greet=True):
        """Acts as the receiver until QUIT or EOF.  refuse maps "MAIL",
        "RCPT", "DATA" or "END" (the end of data) to the reply given instead
        of the positive one.  Returns (messages taken with 250, commands)."""
        refuse = refuse or {}
        if greet:
            self.send(b"220 peer.example ESMTP ready\r\n")
        msgs, cmds, self.cur, self.chunks = [], [], None, b""
        while True:
            try:
                l = self.line()
                cmds.append(l)
                if not self.serve_one(l, ext, refuse, msgs, cmds):
                    break
            except EOFError:  # the sink closed: what came so far is the result
                break
        return msgs, cmds

    def serve_one(self, l, ext, refuse, msgs, cmds):
        """Answers one command line; False after QUIT."""
        cur = self.cur

        def addr(x):
            return x[x.index(b"<") + 1:x.index(b">")]

        def end_of_data(data):
            r = refuse.get("END", b"250 2.0.0 Ok")
            if r.startswith(b"250") and cur is not None:
                msgs.append((cur[0], list(cur[1]), data))
            self.send(r + b"\r\n")

        verb = l[:4].upper()
        if verb == b"EHLO":
            lines = [b"peer.example"] + list(ext)
            self.send(b"".join(b"250-" + x + b"\r\n" for x in lines[:-1]) + b"250 " + lines[-1] + b"\r\n")
        elif verb == b"MAIL":
            self.cur = cur = (addr(l), [])
            self.send(refuse.get("MAIL", b"250 2.1.0 Ok") + b"\r\n")
        elif verb == b"RCPT":
            r = refuse.get("RCPT", b"250 2.1.5 Ok")
            if r.startswith(b"250"):
                cur[1].append(addr(l))
            self.send(r + b"\r\n")
        elif verb == b"DATA":
            r = refuse.get("DATA", b"354 go ahead")
            self.send(r + b"\r\n")
            if not r.startswith(b"354"):
                return True
            lines = []
            while True:
                d = self.line()
                if d == b".":
                    break
                lines.append(d[1:] if d.startswith(b".") else d)
            end_of_data(b"".join(x + b"\r\n" for x in lines))
        elif verb == b"BDAT":
            parts = l.split()
            self.chunks += self.read_n(int(parts[1]))
            if len(parts) > 2 and parts[2].upper() == b"LAST":
                end_of_data(self.chunks)
                self.chunks = b""
            else:
                self.send(b"250 2.0.0 chunk ok\r\n")
        elif verb == b"RSET":
            self.cur, self.chunks = None, b""
            self.send(b"250 2.0.0 Ok\r\n")
        elif verb == b"QUIT":
            self.send(b"221 2.0.0 Bye\r\n")
            return False
        else:
            self.send(b"502 5.5.1 not here\r\n")
        return True


def hold_sink(binary, tmp, *args, name="hold"):
    """A sink holding mail for held.example (TURN, and ATRN by any user) and
    other.example (ATRN and TURN only after AUTH as alice)."""
    hold = os.path.join(tempfile.mkdtemp(prefix=name + "-q-", dir=tmp), "hold")
    sink = Sink(binary, tmp, "--hold", "held.example", "--hold", "other.example=alice",
                "--hold-dir", hold, "--user", "alice:pw-a", "--user", "bob:pw-b", *args, name=name)
    sink.hold = hold
    return sink


def held(sink, domain):
    d = os.path.join(sink.hold, domain)
    return sorted(os.path.join(d, n) for n in os.listdir(d))


def auth_plain(user, pw):
    return b"AUTH PLAIN " + base64.b64encode(b"\0" + user + b"\0" + pw)


def test_turn(binary, tmp):
    name = "TURN"
    sink = hold_sink(binary, tmp, "--turn")
    p = TurnPeer(sink.port)
    p.reply()
    code, lines = p.cmd(b"EHLO held.example")
    check(name + ": EHLO offers ATRN (AUTH and --hold)", code == 250 and b"250-ATRN" in lines
          or b"250 ATRN" in lines, lines)
    check(name + ": nothing held yet: TURN is 502", p.cmd(b"TURN")[0] == 502)
    check(name + ": ATRN before AUTH is 530", p.cmd(b"ATRN")[0] == 530)
    check(name + ": AUTH as bob", p.cmd(auth_plain(b"bob", b"pw-b"))[0] == 235)
    check(name + ": nothing held yet: ATRN is 453", p.cmd(b"ATRN")[0] == 453)
    check(name + ": ATRN held.example is 453 too", p.cmd(b"ATRN held.example")[0] == 453)
    check(name + ": ATRN for alice's other.example as bob is 450",
          p.cmd(b"ATRN other.example")[0] == 450)
    check(name + ": ATRN for a domain not held is 450", p.cmd(b"ATRN nope.example")[0] == 450)
    p.cmd(b"QUIT")
    p.close()

    # mail for held and local recipients: the held ones are kept, per domain
    m1 = message("held one", body_lines(40, seed=31) + b".\r\n..\r\n")
    with smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as c:
        refused = c.sendmail("sender@client.example", ["a@held.example", "local@sink.example",
                                                       "B@HELD.example"], m1)
    check(name + ": a message to held and local recipients is accepted", refused == {}, refused)
    expect_stored(name + ": the local recipient's copy is in the Maildir", sink, [m1])
    files = held(sink, "held.example")
    env = open(files[0], "rb").read().split(b"\n\n", 1)[0] if files else b""
    check(name + ": one held copy, with its envelope: the sender and the held domain's recipients",
          len(files) == 1 and env == b"smtp-sink-hold 1\nfrom <sender@client.example>\nrcpt <a@held.example>\n"
          b"rcpt <B@HELD.example>", (files, env))
    check(name + ": nothing under tmp/ of the hold directory", not os.listdir(os.path.join(sink.hold, "tmp")))

    # TURN from a client that says EHLO held.example; the peer's 220 comes
    # in the same write as TURN: it is the new sender's input
    p = TurnPeer(sink.port)
    p.reply()
    p.cmd(b"EHLO held.example")
    p.send(b"TURN\r\n220 peer.example ESMTP in the same packet\r\n")
    code, lines = p.reply()
    check(name + ": TURN gets 250 with mail held", code == 250, lines)
    msgs, cmds = p.receive(greet=False)
    trace, body = split_trace(msgs[0][2]) if len(msgs) == 1 else (b"", b"")
    check(name + ": the sink greets the peer (EHLO), delivers one message, then QUIT",
          len(msgs) == 1 and cmds[0].startswith(b"EHLO ") and cmds[-1] == b"QUIT", cmds)
    check(name + ": the envelope is the held one",
          msgs and msgs[0][0] == b"sender@client.example" and msgs[0][1] == [b"a@held.example", b"B@HELD.example"],
          msgs and msgs[0][:2])
    check(name + ": the message arrives byte for byte, after our Received: line",
          body == m1 and trace.startswith(b"Received: from ") and b"by localhost (smtp-sink)" in trace,
          (trace, body[:200]))
    check(name + ": the peer's 250 removed the held file", p.eof() and not held(sink, "held.example"),
          held(sink, "held.example"))
    check(name + ": logged: TURN, delivered, over",
          sink.wait_log(r"TURN: handing over 1 held message\(s\) for held\.example")
          and sink.wait_log(r"delivered domain=held\.example held=\S+ from=<sender@client\.example> nrcpt=2")
          and sink.wait_log(r"TURN over \(closed\): 1 delivered, 0 kept"), sink.log()[-1500:])
    p.close()

    # the peer refuses: a recipient (RSET, all or nothing), then the data
    m2 = message("held two", body_lines(10, seed=32))
    with smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as c:
        c.sendmail("s2@client.example", ["x@held.example"], m2)
    for what, refuse in (("a recipient", {"RCPT": b"550 5.1.1 no such user"}),
                         ("the end of data", {"END": b"554 5.6.0 no thanks"}),
                         ("MAIL", {"MAIL": b"451 4.3.0 try later"})):
        p = TurnPeer(sink.port)
        p.reply()
        p.cmd(b"EHLO held.example")
        code = p.cmd(b"TURN")[0]
        msgs, cmds = p.receive(refuse=refuse)
        p.close()
        check(name + ": the peer refuses %s: the message stays held, the session ends with QUIT" % what,
              code == 250 and not msgs and cmds[-1:] == [b"QUIT"] and len(held(sink, "held.example")) == 1,
              (code, cmds, held(sink, "held.example")))
        if what == "a recipient":
            check(name + ": ... no DATA after a refused recipient, RSET instead",
                  b"RSET" in cmds and b"DATA" not in cmds and not any(c.startswith(b"BDAT") for c in cmds), cmds)
    check(name + ": the refusals are logged with the peer's reply",
          sink.wait_log(r"kept domain=held\.example .* result=\"kept: RCPT TO:<x@held\.example> refused: "
                        r"550 5\.1\.1 no such user\"")
          and sink.wait_log(r"result=\"kept: the message refused: 554 5\.6\.0 no thanks\""), sink.log()[-1500:])
    # then it is delivered on the next TURN, over BDAT with a pipelining peer
    p = TurnPeer(sink.port)
    p.reply()
    p.cmd(b"EHLO held.example")
    p.cmd(b"TURN")
    msgs, cmds = p.receive(ext=(b"PIPELINING", b"8BITMIME", b"CHUNKING"))
    p.close()
    check(name + ": the kept message goes on the next TURN, by BDAT to a CHUNKING peer, byte for byte",
          len(msgs) == 1 and split_trace(msgs[0][2])[1] == m2 and any(c.startswith(b"BDAT ") for c in cmds)
          and not held(sink, "held.example"), (cmds, msgs[:1]))

    # TURN for a domain that is not held, and for alice's domain without AUTH
    for helo in (b"elsewhere.example", b"other.example"):
        p = TurnPeer(sink.port)
        p.reply()
        p.cmd(b"EHLO " + helo)
        check(name + ": TURN after EHLO %s is 502" % helo.decode(), p.cmd(b"TURN")[0] == 502)
        p.cmd(b"QUIT")
        p.close()
    sink.stop(name)


def test_atrn(binary, tmp):
    name = "ATRN"
    sink = hold_sink(binary, tmp, "--mailbox", "only@sink.example")  # no --turn
    m = message("for alice", body_lines(30, seed=41))
    with smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as c:
        c.sendmail("s@client.example", ["alice@other.example"], m)
        c.sendmail("s@client.example", ["h@held.example"], m)
    p = TurnPeer(sink.port)
    p.reply()
    p.cmd(b"EHLO held.example")
    check(name + ": held domains take any local part (--mailbox lists only local mailboxes)",
          len(held(sink, "other.example")) == 1 and len(held(sink, "held.example")) == 1)
    check(name + ": TURN without --turn is 502 even with mail held", p.cmd(b"TURN")[0] == 502)
    check(name + ": AUTH as alice", p.cmd(auth_plain(b"alice", b"pw-a"))[0] == 235)
    code, lines = p.cmd(b"ATRN other.example")
    check(name + ": ATRN other.example as alice gets 250", code == 250, lines)
    msgs, cmds = p.receive(ext=(b"PIPELINING", b"8BITMIME"))
    p.close()
    check(name + ": the held message arrives byte for byte, only alice's domain",
          len(msgs) == 1 and msgs[0][1] == [b"alice@other.example"] and split_trace(msgs[0][2])[1] == m,
          (cmds, msgs[:1]))
    check(name + ": ... and is no longer held; held.example's stays",
          not held(sink, "other.example") and len(held(sink, "held.example")) == 1)
    # a bare ATRN collects every domain the user may: bob gets held.example,
    # not alice's other.example
    with smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as c:
        c.sendmail("s@client.example", ["again@other.example"], m)
    p = TurnPeer(sink.port)
    p.reply()
    p.cmd(b"EHLO peer.example")
    p.cmd(auth_plain(b"bob", b"pw-b"))
    code = p.cmd(b"ATRN")[0]
    # while that connection collects held.example, another one cannot
    q = TurnPeer(sink.port)
    q.reply()
    q.cmd(b"EHLO peer.example")
    q.cmd(auth_plain(b"bob", b"pw-b"))
    check(name + ": ATRN for a domain another connection is collecting is 451",
          q.cmd(b"ATRN held.example")[0] == 451)
    q.cmd(b"QUIT")
    q.close()
    msgs, cmds = p.receive()
    p.close()
    check(name + ": a bare ATRN as bob hands over held.example only",
          code == 250 and len(msgs) == 1 and msgs[0][1] == [b"h@held.example"]
          and not held(sink, "held.example") and len(held(sink, "other.example")) == 1, (code, cmds))
    sink.wait_log(r"ATRN over \(closed\): 1 delivered")
    q = TurnPeer(sink.port)
    q.reply()
    q.cmd(b"EHLO peer.example")
    q.cmd(auth_plain(b"bob", b"pw-b"))
    check(name + ": once that handover is over, the domain is free again: 453, nothing held",
          q.cmd(b"ATRN held.example")[0] == 453)
    q.close()
    sink.stop(name)


def test_hold_more(binary, tmp):
    """Two held domains in one message, a large message, and a message that
    needs an extension the peer does not offer."""
    name = "hold"
    sink = hold_sink(binary, tmp, "--turn")
    m = message("two domains", body_lines(20, seed=61))
    with smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as c:
        c.sendmail("s@client.example", ["a@held.example", "b@other.example", "c@sink.example"], m)
    check(name + ": a message to two held domains and a local one: a held copy each, one in the Maildir",
          len(held(sink, "held.example")) == 1 and len(held(sink, "other.example")) == 1 and len(sink.new()) == 1)
    big = message("big held", body_lines(30000, seed=62))  # about 1 MB, dot lines in it
    with smtplib.SMTP("127.0.0.1", sink.port, timeout=30) as c:
        c.sendmail("s@client.example", ["big@held.example"], big)
    # BODY=BINARYMIME (by BDAT): a peer without CHUNKING cannot take it
    binmsg = message("binary", bytes(range(256)) + b"\r\n")
    c = Raw(sink.port)
    c.reply()
    c.send(b"EHLO client.example\r\n")
    c.reply()
    c.send(b"MAIL FROM:<s@client.example> BODY=BINARYMIME\r\nRCPT TO:<bin@held.example>\r\n"
           b"BDAT %d LAST\r\n" % len(binmsg) + binmsg)
    codes = [c.code() for _ in range(3)]
    c.send(b"QUIT\r\n")
    c.close()
    check(name + ": a BINARYMIME message to a held domain is accepted", codes == [250, 250, 250], codes)
    p = TurnPeer(sink.port)
    p.reply()
    p.cmd(b"EHLO held.example")
    code = p.cmd(b"TURN")[0]
    msgs, cmds = p.receive(ext=(b"8BITMIME",))  # no CHUNKING, no BINARYMIME
    p.close()
    got = {split_trace(x[2])[1]: x[1] for x in msgs}
    check(name + ": TURN: the held.example messages arrive (1 MB by DATA, dot-stuffed and back), "
          "other.example's stays",
          code == 250 and got.get(m) == [b"a@held.example"] and got.get(big) == [b"big@held.example"]
          and len(msgs) == 2 and len(held(sink, "other.example")) == 1, (code, len(msgs), cmds[:12]))
    check(name + ": the BINARYMIME message is not offered to a peer without BINARYMIME and stays held",
          len(held(sink, "held.example")) == 1 and b"BODY=BINARYMIME" not in b" ".join(cmds)
          and sink.wait_log(r"kept domain=held\.example .*result=\"kept: not sent: ERR_EXT"), sink.log()[-1000:])
    p = TurnPeer(sink.port)
    p.reply()
    p.cmd(b"EHLO held.example")
    p.cmd(b"TURN")
    msgs, cmds = p.receive(ext=(b"PIPELINING", b"8BITMIME", b"CHUNKING", b"BINARYMIME"))
    p.close()
    check(name + ": ... and goes by BDAT, BODY=BINARYMIME, octets unchanged, to a peer that offers it",
          len(msgs) == 1 and split_trace(msgs[0][2])[1] == binmsg and not held(sink, "held.example")
          and any(b"BODY=BINARYMIME" in x for x in cmds), cmds)
    sink.stop(name)


def test_turn_timeout(binary, tmp):
    """After the 250 the peer owes a 220: --timeout-cmd bounds the wait, and
    the message stays held."""
    name = "TURN timeout"
    sink = hold_sink(binary, tmp, "--turn", "--timeout-cmd", "1")
    with smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as c:
        c.sendmail("s@client.example", ["t@held.example"], message("timeout"))
    p = TurnPeer(sink.port)
    p.reply()
    p.cmd(b"EHLO held.example")
    t0 = time.time()
    code = p.cmd(b"TURN")[0]
    closed = p.eof(timeout=10)
    took = time.time() - t0
    check(name + ": no 220 from the peer: the sink closes after --timeout-cmd (%.1f s)" % took,
          code == 250 and closed and 0.9 < took < 5 and p.buf == b"", (code, closed, p.buf))
    check(name + ": the message stays held, the timeout is logged",
          len(held(sink, "held.example")) == 1 and sink.wait_log(r"timeout: no reply within 1 s .* after TURN"),
          sink.log()[-800:])
    p.close()
    sink.stop(name)


def test_atrn_tls(binary, tmp):
    """STARTTLS, AUTH, ATRN: the handover runs in the same TLS session."""
    name = "ATRN over TLS"
    if not tls_available(binary, tmp, name):
        return
    sink = hold_sink(binary, tmp, "--tls-cert", Cert.path, "--tls-key", Cert.key)
    m = message("over tls", body_lines(50, seed=51))
    with smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as c:
        c.starttls(context=Cert.context())
        c.login("alice", "pw-a")
        c.sendmail("s@client.example", ["a@other.example"], m)
    raw = socket.create_connection(("127.0.0.1", sink.port), timeout=10)
    p = TurnPeer.__new__(TurnPeer)
    p.s, p.buf = raw, b""
    p.reply()
    p.cmd(b"EHLO peer.example")
    p.cmd(b"STARTTLS")
    p.s = Cert.context().wrap_socket(raw, server_hostname="localhost")
    p.cmd(b"EHLO peer.example")
    p.cmd(auth_plain(b"alice", b"pw-a"))
    code = p.cmd(b"ATRN other.example")[0]
    msgs, cmds = p.receive(ext=(b"PIPELINING", b"CHUNKING"))
    p.close()
    check(name + ": delivered in the same TLS session, byte for byte",
          code == 250 and len(msgs) == 1 and split_trace(msgs[0][2])[1] == m and not held(sink, "other.example"),
          (code, cmds))
    sink.stop(name)


def main():
    global PREFIX
    ap = argparse.ArgumentParser()
    ap.add_argument("--sink", required=True, action="append",
                    help="smtp-sink binary; repeat to run every test on each build")
    ap.add_argument("-k", default="", help="run only tests whose name contains this")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="smtp-sink-test-")
    t0 = time.time()

    def run(label, fn, *args):
        if a.k and a.k not in label:
            return
        try:
            fn(*args)
        except Exception:  # noqa: BLE001 - a crash is a failure, the suite goes on
            check(label + ": ran to the end", False, traceback.format_exc())

    shared = ("smtplib", "smtplib SMTPUTF8 twice", "pipelining", "CHUNKING", "DSN", "back-pressure",
              "curl", "swaks", "msmtp", "concurrent", "killed", "storage")
    try:
        for b in a.sink:
            PREFIX = "[%s] " % os.path.basename(b) if len(a.sink) > 1 else ""
            run("stdio", test_stdio, b, tmp)
            if not a.k or any(a.k in n for n in shared):
                main_sink = Sink(b, tmp, "--max-conn", "400", name="main")
                for label, fn in zip(shared, (test_smtplib, test_smtputf8_repeat, test_pipelining, test_chunking,
                                              test_dsn, test_backpressure,
                                              test_curl, test_swaks, test_msmtp, test_concurrent,
                                              test_killed, test_storage_failure)):
                    run(label, fn, main_sink)
                main_sink.stop("main sink")
            run("mailbox", test_mailbox, b, tmp)
            run("max-size", test_max_size, b, tmp)
            run("full disk", test_enospc, b, tmp)
            run("AUTH", test_auth, b, tmp)
            run("STARTTLS", test_tls, b, tmp)
            run("require-tls", test_require_tls, b, tmp)
            run("stdio STARTTLS", test_stdio_tls, b, tmp)
            run("max-conn", test_max_conn, b, tmp)
            run("timeouts", test_timeouts, b, tmp)
            run("SIGTERM", test_sigterm, b, tmp)
            run("slow clients", test_slow, b, tmp)
            run("AUTH guessing", test_auth_guessing, b, tmp)
            run("refusal log", test_refusal_log, b, tmp)
            run("options", test_bad_options, b, tmp)
            run("TURN", test_turn, b, tmp)
            run("ATRN", test_atrn, b, tmp)
            run("TURN timeout", test_turn_timeout, b, tmp)
            run("hold", test_hold_more, b, tmp)
            run("ATRN over TLS", test_atrn_tls, b, tmp)
        PREFIX = ""
        run("build", test_build, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("(%.1f s, %d skipped)" % (time.time() - t0, SKIPPED))
    print("sink: %d passed, %d failed" % (PASSED, FAILED))
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
