#!/usr/bin/env python3
"""Writes the hand-made seed inputs of the fuzz targets (before -merge=1).

    python3 fuzz/mkseeds.py OUTDIR     # OUTDIR/<target>/<name>

The seeds come from the spec documents (RFC 821 4.3 sequencing table and
example session, RFC 5321 4.3.2 and 4.5.3.1 sizes), see corpus/README.md.
`make fuzz-seeds` runs this and merges the result into corpus/ with
libFuzzer's -merge=1, so only seeds that add coverage are kept.
"""
import os
import sys

CRLF = b"\r\n"

# ---- mode bytes (fuzz/fuzz_common.h) -------------------------------------
LF_LINES, BARE_KEEP, BARE_NORM, SEND, NO_ESMTP, TINY, DEFER, REJECT = (
    1, 2, 4, 8, 16, 32, 64, 128)
SIZE64, SIZE1000, SIZE100K = 1, 2, 3
HOST_PLAIN, HOST_CTL, HOST_LONG = 1 << 2, 2 << 2, 3 << 2
EXT_MIN, EXT_NOENH, EXT_SEED = 1 << 4, 2 << 4, 3 << 4
NOERRMAX, SHUTDOWN = 0x40, 0x80
TURN_ON = 0x40  # seed byte, outside extension mode 3 of fuzz_ext: SMTP_OPT_TURN


def lines(*ls):
    return b"".join((l.encode("latin-1") if isinstance(l, str) else l) + CRLF for l in ls)


def hdr(b0=0, b1=0, seed=0):
    return bytes([b0, b1, seed])


RFC821 = lines(
    "HELO Alpha.ARPA",
    "MAIL FROM:<Smith@Alpha.ARPA>",
    "RCPT TO:<Jones@Beta.ARPA>",
    "RCPT TO:<Green@Beta.ARPA>",
    "RCPT TO:<Brown@Beta.ARPA>",
    "DATA",
    "Blah blah blah...",
    "...etc. etc. etc.",
    ".",
    "QUIT")

ESMTP = lines(
    "EHLO Alpha.ARPA",
    "MAIL FROM:<Smith@Alpha.ARPA> SIZE=120 BODY=8BITMIME",
    "RCPT TO:<Jones@Beta.ARPA>",
    "RCPT TO:<Green@Beta.ARPA>",
    "RCPT TO:<Brown@Beta.ARPA>",
    "DATA",
    "Subject: test",
    "",
    "Blah blah blah...",
    ".",
    "QUIT")

# per command: sessions provoking each reply the tables list
PER_COMMAND = {
    "helo-250": lines("HELO a.example", "QUIT"),
    "helo-501": lines("HELO", "HELO  a.example", "HELO bad..domain", "QUIT"),
    "ehlo-250": lines("EHLO a.example", "QUIT"),
    "ehlo-501": lines("EHLO", "EHLO [300.1.1.1]", "QUIT"),
    "ehlo-literal": lines("EHLO [192.0.2.1]", "EHLO [IPv6:2001:db8::1]", "QUIT"),
    "mail-503-nohelo": lines("MAIL FROM:<a@b.example>", "QUIT"),
    "mail-503-nested": lines("HELO a", "MAIL FROM:<a@b.example>", "MAIL FROM:<c@d.example>", "QUIT"),
    "mail-501": lines("HELO a", "MAIL", "MAIL FROM:", "MAIL FROM: <a@b>", "MAIL TO:<a@b>",
                      "MAIL FROM:<a@@b>", "QUIT"),
    "mail-555": lines("EHLO a", "MAIL FROM:<a@b.example> FOO=BAR", "HELO a",
                      "MAIL FROM:<a@b.example> SIZE=10", "QUIT"),
    "mail-504": lines("EHLO a", "MAIL FROM:<a@b.example> BODY=BINARYMIME", "QUIT"),
    "mail-552": lines("EHLO a", "MAIL FROM:<a@b.example> SIZE=99999999999", "QUIT"),
    "mail-null": lines("EHLO a", "MAIL FROM:<>", "RCPT TO:<Postmaster>", "DATA", "x", ".", "QUIT"),
    "mail-utf8": lines("EHLO a", b"MAIL FROM:<\xc3\xa9@b.example> SMTPUTF8",
                       b"RCPT TO:<j\xc3\xb6@d.example>", "RSET",
                       b"MAIL FROM:<\xc3\xa9@b.example>", "QUIT"),
    "rcpt-503": lines("HELO a", "RCPT TO:<a@b.example>", "QUIT"),
    "rcpt-501": lines("HELO a", "MAIL FROM:<a@b>", "RCPT", "RCPT TO:", "RCPT TO:a@b",
                      "RCPT FROM:<a@b>", "RCPT TO:<a@b> FOO", "QUIT"),
    "rcpt-route": lines("HELO a", "MAIL FROM:<@x.example,@y.example:a@b.example>",
                        "RCPT TO:<@hosta.int,@jkl.org:userc@d.bar.org>", "QUIT"),
    "rcpt-quoted": lines("HELO a", "MAIL FROM:<\"a b\\\"c\"@b.example>",
                         "RCPT TO:<\"x@y\"@[192.0.2.7]>", "RCPT TO:<z@[IPv6:::1]>",
                         "RCPT TO:<z@[tag:stuff]>", "QUIT"),
    "data-503": lines("HELO a", "DATA", "MAIL FROM:<a@b>", "DATA", "QUIT"),
    "data-554": lines("HELO a", "MAIL FROM:<a@b>", "RCPT TO:<Green@b>", "DATA", "QUIT"),
    "data-501": lines("HELO a", "MAIL FROM:<a@b>", "RCPT TO:<c@d>", "DATA x", "DATA", ".", "QUIT"),
    "rset": lines("RSET", "HELO a", "MAIL FROM:<a@b>", "RSET", "RSET x", "RCPT TO:<c@d>", "QUIT"),
    "vrfy": lines("VRFY Smith", "VRFY", "EHLO a", "VRFY <smith@example.org>", "QUIT"),
    "expn": lines("EXPN Example-People", "EXPN", "QUIT"),
    "help": lines("HELP", "HELP MAIL", "EHLO a", "HELP", "QUIT"),
    "noop": lines("NOOP", "NOOP anything at all", "QUIT"),
    "quit-501": lines("QUIT now", "QUIT"),
    "turn-send": lines("HELO a", "TURN", "SEND FROM:<a@b>", "SOML FROM:<a@b>",
                       "SAML FROM:<a@b>", "STARTTLS", "AUTH PLAIN", "BDAT 10 LAST", "QUIT"),
    "unknown": lines("XYZZY", "", "MAILX FROM:<a@b>", "HELO\ta", "QUIT"),
    "lower": lines("helo a", "mail from:<a@b>", "rcpt to:<c@d>", "data", "x", ".", "quit"),
    "errors-421": lines(*(["bogus"] * 12)),
    "after-quit": lines("QUIT", "HELO a", "NOOP"),
}

PIPELINED = lines("EHLO a", "MAIL FROM:<a@b>", "RCPT TO:<c@d>", "RCPT TO:<e@f>", "DATA",
                  "line", ".", "MAIL FROM:<g@h>", "RCPT TO:<i@j>", "DATA", "..dot", ".",
                  "RSET", "NOOP", "QUIT")


def limits():
    s = {}
    s["line-510"] = lines("NOOP " + "x" * 505)
    s["line-511"] = lines("NOOP " + "x" * 506, "NOOP")
    s["line-huge"] = b"NOOP " + b"y" * 3000 + CRLF + lines("QUIT")
    local64 = "l" * 64
    dom = ".".join(["d" * 63] * 3) + "." + "e" * 61  # 253
    s["path-limits"] = lines("EHLO a", "MAIL FROM:<%s@b.example>" % local64,
                             "RCPT TO:<%s@b.example>" % ("l" * 65),
                             "RCPT TO:<a@%s>" % dom, "RCPT TO:<a@%s>" % ("x" * 64 + ".example"),
                             "RCPT TO:<a@%s>" % (dom + "zz"), "QUIT")
    rc = ["EHLO a", "MAIL FROM:<a@b>"] + ["RCPT TO:<r%d@b>" % i for i in range(101)] + ["QUIT"]
    s["rcpt-101"] = lines(*rc)
    s["text-998"] = lines("EHLO a", "MAIL FROM:<a@b>", "RCPT TO:<c@d>", "DATA", "t" * 998,
                          "t" * 999, ".", "QUIT")
    s["size"] = lines("EHLO a", "MAIL FROM:<a@b> SIZE=64", "RCPT TO:<c@d>", "DATA",
                      "x" * 62, ".", "MAIL FROM:<a@b>", "RCPT TO:<c@d>", "DATA", "x" * 63, ".",
                      "QUIT")
    return s


SMUGGLE = {
    "smuggle-lf-dot-lf": b"\n.\n",
    "smuggle-lf-dot-crlf": b"\n.\r\n",
    "smuggle-crlf-dot-lf": b"\r\n.\n",
    "smuggle-cr-dot-cr": b"\r.\r",
    "smuggle-cr-dot-crlf": b"\r.\r\n",
    "smuggle-crcrlf": b"\r\r\n.\r\n",
    "smuggle-crlf-dot-crcrlf": b"\r\n.\r\r\n",
}


def smuggle_session(mid):
    return (lines("EHLO a", "MAIL FROM:<a@b>", "RCPT TO:<c@d>", "DATA") + b"body" + mid +
            lines("MAIL FROM:<evil@x>", "RCPT TO:<victim@y>", "DATA", "smuggled") +
            lines(".", ".", "QUIT"))


BAD = {
    "bad-nul": b"HELO a\x00b\r\nNOOP\r\n",
    "bad-bare-cr": b"HELO a\rb\r\nNOOP\r\n",
    "bad-bare-lf": b"HELO a\nNOOP\nQUIT\r\n",
    "bad-8bit": b"HELO \xff\xfe\r\nMAIL FROM:<\xe9@x>\r\n",
    "bad-partial": b"HELO a\r\nMAIL FROM:<a@b",
    "bad-crlf-split": b"HELO a\r",
}


def server_seeds():
    out = {}
    out["rfc821-example"] = hdr(REJECT) + RFC821
    out["rfc821-example-plain"] = hdr() + RFC821
    out["esmtp-example"] = hdr(REJECT, SIZE1000) + ESMTP
    out["pipelined"] = hdr(0, SIZE100K) + PIPELINED
    out["pipelined-defer"] = hdr(DEFER | REJECT, 0, 7) + PIPELINED
    for name, body in PER_COMMAND.items():
        out["cmd-" + name] = hdr(0, SIZE100K if "552" in name else 0) + body
    for seed in range(12):
        out["app-%02d" % seed] = hdr(DEFER | REJECT, SHUTDOWN | NOERRMAX, seed * 21) + ESMTP + RFC821
    out["refused-greeting"] = hdr(DEFER | REJECT, 0, 2) + lines("HELO a", "MAIL FROM:<a@b>", "QUIT")
    for name, body in limits().items():
        out["limit-" + name] = hdr(0, SIZE64 if name == "size" else 0) + body
        out["limit-tiny-" + name] = hdr(TINY, SIZE64) + body
    for name, mid in SMUGGLE.items():
        out[name] = hdr() + smuggle_session(mid)
        out[name + "-keep"] = hdr(BARE_KEEP | LF_LINES) + smuggle_session(mid)
        out[name + "-norm"] = hdr(BARE_NORM) + smuggle_session(mid)
    for name, body in BAD.items():
        out[name] = hdr() + body
        out[name + "-lf"] = hdr(LF_LINES) + body
    out["send-on"] = hdr(SEND) + PER_COMMAND["turn-send"] + lines("SEND FROM:<a@b>", "RCPT TO:<c@d>",
                                                                 "DATA", "x", ".", "QUIT")
    out["no-esmtp"] = hdr(NO_ESMTP) + ESMTP
    out["hosts"] = hdr(0, HOST_CTL) + ESMTP
    out["host-long"] = hdr(0, HOST_LONG | EXT_NOENH) + ESMTP
    out["ext-min"] = hdr(0, EXT_MIN) + ESMTP
    out["ext-seed"] = hdr(0, EXT_SEED, 0x15) + ESMTP
    # seed bit 0x40 turns SMTP_OPT_TURN on (fuzz_common.h): a 250 reverses
    # the roles and nothing after TURN may be taken
    out["turn-on"] = hdr(DEFER | REJECT, 0, TURN_ON) + lines("HELO c.example", "TURN",
                                                             "220 c.example ESMTP", "EHLO mx")
    out["turn-sequence"] = hdr(DEFER | REJECT, 0, TURN_ON) + lines(
        "EHLO c.example", "MAIL FROM:<a@b.c>", "TURN", "RSET", "TURN  ", "TURN x", "QUIT")
    out["turn-default"] = hdr(0, 0, TURN_ON) + lines("HELO c.example", "TURN", "NOOP")
    return out


# issue 5 extensions (fuzz_split turns them on with extension mode 3)
EXTENSIONS = {
    "starttls": lines("EHLO a", "STARTTLS", "EHLO a", "STARTTLS", "MAIL FROM:<a@b>", "QUIT"),
    "starttls-pipelined": lines("EHLO a", "STARTTLS", "MAIL FROM:<injected@x>", "EHLO b", "QUIT"),
    "auth-plain": lines("EHLO a", "AUTH PLAIN AGFsaWNlAHNlY3JldA==", "MAIL FROM:<a@b> AUTH=<>",
                        "QUIT"),
    "auth-plain-2step": lines("EHLO a", "AUTH PLAIN", "AGFsaWNlAHNlY3JldA==", "AUTH PLAIN", "*",
                              "QUIT"),
    "auth-login": lines("EHLO a", "AUTH LOGIN", "YWxpY2U=", "c2VjcmV0", "AUTH LOGIN YWxpY2U=",
                        "c2VjcmV0", "AUTH CRAM-MD5", "AUTH PLAIN !!!", "QUIT"),
    "bdat": b"EHLO a\r\nMAIL FROM:<a@b> BODY=BINARYMIME\r\nRCPT TO:<c@d>\r\nBDAT 5\r\nhello"
            b"BDAT 7 LAST\r\n\r\n.\r\nxyQUIT\r\n",
    "bdat-errors": b"EHLO a\r\nBDAT 3\r\nabcMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nBDAT x\r\n"
                   b"BDAT 0 LAST\r\nDATA\r\nBDAT 99999999999999999999\r\nQUIT\r\n",
    "dsn": lines("EHLO a", "MAIL FROM:<a@b> RET=HDRS ENVID=QQ314159+2B",
                 "RCPT TO:<c@d> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;c@d",
                 "RCPT TO:<e@f> NOTIFY=NEVER", "RCPT TO:<g@h> NOTIFY=NEVER,DELAY", "DATA", "x", ".",
                 "QUIT"),
}


def split_seeds(server):
    out = {}
    for name, body in EXTENSIONS.items():
        out["ext-" + name] = hdr(0, EXT_SEED, 0x3f) + b"\x00\xff\x00" + body
        out["ext-" + name + "-bytes"] = hdr(DEFER, EXT_SEED, 0x5f) + b"\x00\x01\x00" + body
        out["ext-" + name + "-chunks"] = hdr(0, EXT_SEED, 0x1f) + b"\x0a\x03\x07\x01\x05\x02" + body
    tables = [(b"\x00", b"\x01"), (b"\x01\x02", b"\x03\x05"), (b"\x07\x01\x03\x07\x0f\x1f\x3f\x7f\xff",
                                                              b"\x00"),
              (b"\x0b\x07\x01\x02", b"\x02\x01\x01")]
    for i, (name, data) in enumerate(sorted(server.items())):
        ft, at = tables[i % len(tables)]
        nfeed = len(ft) - 1
        nack = len(at)
        sel = (nfeed & 7) | (((nack - 1) & 3) << 3)
        out[name] = data[:3] + bytes([sel]) + ft[1:] + at + data[3:]
    return out


def data_seeds():
    out = {}
    bodies = {
        "empty": b".\r\n",
        "simple": b"Subject: x\r\n\r\nhello\r\n.\r\n",
        "stuffed": b"..leading dot\r\n...two\r\n.\r\n",
        "dot-middle": b"a.b\r\n.x\r\n.\r\n",
        "no-end": b"never ends\r\n",
        "after-end": b"a\r\n.\r\nQUIT\r\n",
        "long-line": b"x" * 998 + b"\r\n" + b"y" * 999 + b"\r\n.\r\n",
        "dot-long": b"." + b"z" * 998 + b"\r\n.\r\n",
        "tiny-lines": b"abc\r\n.ab\r\nabcd\r\n.\r\n",
    }
    for name, mid in SMUGGLE.items():
        bodies[name] = b"body" + mid + b"more\r\n.\r\n"
    bodies["bare-mix"] = b"a\rb\nc\r\r\nd\n\re\r\n.\r\n"
    modes = [0, 1, 2, 4 | 1, (2 << 3), (3 << 3) | 2, (5 << 3) | (1 << 6), (7 << 3) | (2 << 6),
             (3 << 6) | 1]
    for name, body in bodies.items():
        for j, m in enumerate(modes):
            out["%s-%d" % (name, j)] = bytes([m, j & 7]) + body
    return out


def args_seeds():
    out = {}
    paths = [b"<a@b.example>", b"<>", b"<Postmaster>", b"<postmaster@x.example>",
             b"<@a.example,@b.example:c@d.example>", b"<\"quoted \\\" str\"@x.example>",
             b"<a@[192.0.2.1]>", b"<a@[IPv6:2001:db8::1]>", b"<a@[IPv6:::ffff:192.0.2.1]>",
             b"<a@[IPv6:1:2:3:4:5:6:7:8]>", b"<a@[x-tag:data]>", b"<first.last@sub.x-y.example>",
             b"<" + b"l" * 64 + b"@b>", b"<" + b"l" * 65 + b"@b>",
             b"<a@" + b"d" * 63 + b".x>", b"<a@" + b"d" * 64 + b".x>",
             b"<a@" + b".".join([b"d" * 50] * 5) + b"x" * 5 + b">",
             b"<\xc3\xa9@\xc3\xa9.example>", b"<a@b> SIZE=10", b"<a.@b>", b"<.a@b>", b"<a@-b>",
             b"<a@b->", b"<a@b..c>", b"<a@b", b"a@b", b"<a b@c>"]
    for i, p in enumerate(paths):
        for flags in (0, 1, 2, 4, 7):
            out["path-%02d-%d" % (i, flags)] = bytes([flags << 2]) + p
    doms = [b"example.org", b"a", b"a-b.c", b"-a", b"a.", b".a", b"[192.0.2.1]",
            b"[IPv6:fe80::1]", b"[tag:x]", b"[300.0.0.1]", b"d" * 63, b"d" * 64,
            b".".join([b"d" * 63] * 4), b"\xc3\xa9.example"]
    for i, d in enumerate(doms):
        out["domain-%02d" % i] = bytes([1]) + d
        out["domain-lit-%02d" % i] = bytes([1 | 4]) + d
    nums = [b"0", b"1", b"007", b"18446744073709551615", b"18446744073709551616",
            b"99999999999999999999999", b"", b"12a", b"-1", b" 1"]
    for i, n in enumerate(nums):
        out["u64-%02d" % i] = bytes([2]) + n
    sess = [b"<a@b.example> SIZE=100 BODY=8BITMIME SMTPUTF8\n<c@d.example>",
            b"<> BODY=7BIT\n<Postmaster>", b"<a@b> SIZE=\n<c@d> NOTIFY=NEVER",
            b"<a@b> SIZE=1 SIZE=2\n<c@d>", b"<a@b>  SIZE=1\n<c@d> ",
            b"<a@b> FOO\n<c@d>", b"<a@b> BODY=BINARYMIME\n<c@d>",
            b"<\xc3\xa9@b> SMTPUTF8\n<\xc3\xa9@d>", b"<a@b> SIZE=99999999999999999999\n<c@d>",
            b"<@r.example:a@b>\n<@s.example,@t.example:c@d>"]
    for i, s in enumerate(sess):
        for bits in (0, 1, 2):
            out["session-%02d-%d" % (i, bits)] = bytes([3 | (bits << 2)]) + s
    return out


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else "build/fuzz-seeds"
    server = server_seeds()
    sets = {"fuzz_server": server, "fuzz_split": split_seeds(server),
            "fuzz_data": data_seeds(), "fuzz_args": args_seeds()}
    for target, seeds in sets.items():
        d = os.path.join(outdir, target)
        os.makedirs(d, exist_ok=True)
        for name, data in seeds.items():
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
        print("%s: %d seeds in %s" % (target, len(seeds), d))


if __name__ == "__main__":
    main()
