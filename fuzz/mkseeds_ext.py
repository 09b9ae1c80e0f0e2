#!/usr/bin/env python3
"""mkseeds_ext.py OUTDIR - hand-made seeds for fuzz/fuzz_ext.c (issue 5).

Each seed: byte 0 (extension/option bits), byte 1 (harness bits), then the
client's stream; "<<TLS>>" marks where the TLS handshake completes.  See the
comment at the top of fuzz/fuzz_ext.c.  Merge into corpus/fuzz_ext with
build/fuzz/libfuzzer/fuzz_ext -merge=1 (corpus/README.md).
"""
import base64
import os
import sys

CH, BM, TLS, AUTH, DSN, REQ, PT, RC2 = 1, 2, 4, 8, 16, 32, 64, 128
IMPLICIT, SPLIT1, SPLIT3, SPLIT17, NOERR, REFUSE_TLS, APP220 = 1, 2, 4, 6, 8, 16, 32
SIZE50, SIZE1000, SIZEBIG = 64, 128, 192
ALL = CH | BM | TLS | AUTH | DSN


def b64(s):
    return base64.b64encode(s).decode()


def lines(*ls):
    return "".join(l + "\r\n" for l in ls).encode("latin-1")


def seeds():
    ehlo = "EHLO client.example"
    tx = [ehlo, "MAIL FROM:<a@b.example>", "RCPT TO:<c@d.example>"]
    yield "bdat-two-chunks", ALL, NOERR, lines(*tx) + b"BDAT 5\r\nhelloBDAT 7 LAST\r\n world\n" + lines("QUIT")
    yield "bdat-zero-last", CH, 0, lines(*tx, "BDAT 0 LAST", "QUIT")
    yield "bdat-refused-quit", CH, 0, lines(ehlo, "BDAT 6") + b"QUIT\r\n" + lines("NOOP", "QUIT")
    yield "bdat-refused-no-rcpt", CH, NOERR, lines(ehlo, "MAIL FROM:<a@b>", "RCPT TO:<Green@d>") + \
        b"BDAT 14 LAST\r\nRSET\r\nQUIT\r\n\r\n" + lines("NOOP", "QUIT")
    yield "bdat-bad-last", CH, NOERR, lines(*tx) + b"BDAT 6 FIRST\r\nQUIT\r\n" + lines("NOOP", "QUIT")
    yield "bdat-unreadable", CH, 0, lines(*tx, "BDAT x", "QUIT")
    yield "bdat-overflow", CH, 0, lines(*tx, "BDAT 99999999999999999999", "QUIT")
    yield "bdat-too-big", CH, SIZE50, lines(*tx) + b"BDAT 60 LAST\r\n" + b"Q" * 54 + b"QUIT\r\n" + lines("QUIT")
    yield "bdat-size-second", CH, SIZE50, lines(*tx) + b"BDAT 40\r\n" + b"x" * 40 + b"BDAT 20 LAST\r\n" + b"y" * 20 + lines("QUIT")
    yield "bdat-then-data", CH, NOERR, lines(*tx) + b"BDAT 3\r\nabcDATA\r\n" + lines("QUIT")
    yield "bdat-helo", CH, 0, lines("HELO x", "MAIL FROM:<a@b>", "RCPT TO:<c@d>") + b"BDAT 4 LAST\r\nQUITQUIT\r\n"
    yield "bdat-off", 0, 0, lines(*tx, "BDAT 4", "QUIT")
    yield "binarymime", CH | BM, 0, lines(ehlo, "MAIL FROM:<a@b> BODY=BINARYMIME", "RCPT TO:<c@d>", "DATA") + \
        b"BDAT 3 LAST\r\n\x00\xff\r" + lines("QUIT")
    yield "binarymime-off", CH, 0, lines(ehlo, "MAIL FROM:<a@b> BODY=BINARYMIME", "QUIT")
    yield "bdat-split1", CH, SPLIT1, lines(*tx) + b"BDAT 10 LAST\r\n.\r\n\r\n.\r\nX" + lines("QUIT")
    yield "data-then-bdat", CH, SPLIT3, lines(*tx, "DATA", "Subject: x", "", "body", ".", "BDAT 2 LAST") + b"ab" + lines("QUIT")
    yield "starttls", TLS, 0, lines(ehlo, "STARTTLS") + b"<<TLS>>" + lines(ehlo, "MAIL FROM:<a@b>", "QUIT")
    yield "starttls-inject", TLS, APP220, lines(ehlo, "STARTTLS", "MAIL FROM:<evil@x>", "RCPT TO:<v@y>") + \
        b"<<TLS>>" + lines("MAIL FROM:<a@b>", ehlo, "STARTTLS", "QUIT")
    yield "starttls-require", TLS | REQ, 0, lines(ehlo, "MAIL FROM:<a@b>", "STARTTLS") + b"<<TLS>>" + \
        lines(ehlo, "MAIL FROM:<a@b>", "RCPT TO:<c@d>", "DATA", "hi", ".", "QUIT")
    yield "starttls-refused", TLS, REFUSE_TLS, lines(ehlo, "STARTTLS", "NOOP", "QUIT")
    yield "starttls-notls-end", TLS, SPLIT17, lines(ehlo, "STARTTLS", "QUIT", "QUIT")
    yield "starttls-in-tx", TLS, 0, lines(ehlo, "MAIL FROM:<a@b>", "STARTTLS", "STARTTLS x", "QUIT")
    yield "implicit-tls", TLS | AUTH, IMPLICIT, lines(ehlo, "STARTTLS", "AUTH PLAIN " + b64(b"\0alice\0s3cret"), "QUIT")
    yield "auth-plain-ir", AUTH, 0, b"" + lines(ehlo, "AUTH PLAIN " + b64(b"\0alice\0s3cret"), "AUTH PLAIN =", "QUIT")
    yield "auth-plain-pt", AUTH | TLS, 0, lines(ehlo, "STARTTLS") + b"<<TLS>>" + \
        lines(ehlo, "AUTH PLAIN", b64(b"admin\0alice\0s3cret"), "MAIL FROM:<a@b> AUTH=<>", "QUIT")
    yield "auth-plain-wrong", AUTH | PT, NOERR, lines(ehlo, "AUTH PLAIN", b64(b"\0bob\0nope"),
                                                    "AUTH PLAIN " + b64(b"\0\0x"), "AUTH PLAIN " + b64(b"a\0b\0c\0d"), "QUIT")
    yield "auth-login", AUTH | PT, 0, lines(ehlo, "AUTH LOGIN", b64(b"alice"), b64(b"s3cret"), "AUTH LOGIN", "QUIT")
    yield "auth-login-ir", AUTH | PT, 0, lines(ehlo, "AUTH LOGIN " + b64(b"bob"), b64(b"pw"), "QUIT")
    yield "auth-cancel", AUTH | PT, NOERR, lines(ehlo, "AUTH LOGIN", "*", "AUTH PLAIN", "*", "AUTH LOGIN", b64(b"u"), "*", "QUIT")
    yield "auth-bad-b64", AUTH | PT, NOERR, lines(ehlo, "AUTH PLAIN", "QUIT", "AUTH PLAIN AB=C", "AUTH PLAIN QQ==",
                                                "AUTH PLAIN QR==", "AUTH LOGIN", "abc", "AUTH LOGIN =", "AUTH XOAUTH2", "QUIT")
    yield "auth-no-tls", AUTH, 0, lines(ehlo, "AUTH PLAIN " + b64(b"\0alice\0s3cret"), "QUIT")
    yield "auth-helo", AUTH | PT, 0, lines("HELO x", "AUTH PLAIN " + b64(b"\0alice\0s3cret"), "QUIT")
    yield "auth-twice-tx", AUTH | PT, NOERR, lines(ehlo, "AUTH PLAIN " + b64(b"\0alice\0s3cret"),
                                                 "AUTH PLAIN " + b64(b"\0alice\0s3cret"), "MAIL FROM:<a@b>",
                                                 "AUTH LOGIN", "QUIT")
    yield "auth-long-line", AUTH | PT, 0, lines(ehlo, "AUTH PLAIN", "A" * 600, "AUTH LOGIN", b64(b"u" * 130), "QUIT")
    yield "auth-resp-bare-cr", AUTH | PT, 0, lines(ehlo, "AUTH PLAIN") + b"AA\rAA\r\n" + lines("QUIT")
    yield "dsn", DSN, 0, lines(ehlo, "MAIL FROM:<a@b> RET=HDRS ENVID=QQ+2B+3Dx",
                               "RCPT TO:<c@d> NOTIFY=SUCCESS,FAILURE,DELAY ORCPT=rfc822;c+40d",
                               "RCPT TO:<e@d> NOTIFY=NEVER", "DATA", "x", ".", "QUIT")
    yield "dsn-bad", DSN, NOERR, lines(ehlo, "MAIL FROM:<a@b> RET=ALL", "MAIL FROM:<a@b> RET=FULL RET=HDRS",
                                       "MAIL FROM:<a@b> ENVID=a+2", "MAIL FROM:<a@b> ENVID=a=b",
                                       "MAIL FROM:<a@b> ENVID=" + "x" * 101, "MAIL FROM:<a@b> ret=full envid=x",
                                       "RCPT TO:<c@d> NOTIFY=NEVER,SUCCESS", "RCPT TO:<c@d> NOTIFY=DELAY,DELAY",
                                       "RCPT TO:<c@d> NOTIFY=", "RCPT TO:<c@d> ORCPT=rfc822", "RCPT TO:<c@d> ORCPT=;x",
                                       "RCPT TO:<c@d> ORCPT=rfc822;a+zz", "RCPT TO:<c@d> notify=failure orcpt=x;y", "QUIT")
    yield "dsn-off", 0, NOERR, lines(ehlo, "MAIL FROM:<a@b> RET=FULL", "MAIL FROM:<a@b> ENVID=x",
                                     "MAIL FROM:<a@b>", "RCPT TO:<c@d> NOTIFY=NEVER", "RCPT TO:<c@d> ORCPT=rfc822;x", "QUIT")
    u = "J\u00f6rg@b\u00fccher.example".encode()
    yield "utf8", CH, NOERR, b"EHLO x\r\nMAIL FROM:<" + u + b"> SMTPUTF8\r\nRCPT TO:<" + u + b">\r\n" + \
        b"RSET\r\nMAIL FROM:<a@b>\r\nRCPT TO:<" + u + b">\r\nRCPT TO:<\xc0\xaf@x>\r\n" + \
        b"MAIL FROM:<\xed\xa0\x80@x> SMTPUTF8\r\nMAIL FROM:<\xe2\x82@x> SMTPUTF8\r\nQUIT\r\n"
    yield "all-in-one", ALL | PT, SIZE1000 | NOERR, lines(ehlo, "STARTTLS") + b"RSET\r\n<<TLS>>" + \
        lines(ehlo, "AUTH LOGIN", b64(b"alice"), b64(b"s3cret"),
              "MAIL FROM:<a@b> BODY=BINARYMIME RET=FULL ENVID=e1 AUTH=alice+40x SIZE=30",
              "RCPT TO:<Green@d> NOTIFY=NEVER", "RCPT TO:<c@d> ORCPT=rfc822;c@d") + \
        b"BDAT 10\r\n0123456789BDAT 0\r\nBDAT 5 LAST\r\nabcde" + lines("QUIT")
    yield "pipelined-rcpt2", CH | RC2 | DSN, SPLIT3, lines(*tx, "RCPT TO:<x@y>", "RCPT TO:<z@y>") + \
        b"BDAT 4 LAST\r\nDATA" + lines("QUIT")


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, b0, b1, body in seeds():
        with open(os.path.join(out, name), "wb") as f:
            f.write(bytes([b0, b1]) + body)


if __name__ == "__main__":
    main()
