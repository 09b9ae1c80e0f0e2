#!/usr/bin/env python3
"""Writes the hand-made seed inputs of fuzz_client and fuzz_b2b.

    python3 fuzz/mkseeds_client.py OUTDIR   # OUTDIR/fuzz_client/<name>, OUTDIR/fuzz_b2b/<name>

fuzz_client: the server's side of sessions (RFC 5321 4.3.2 replies to each
command, RFC 2920 pipelined groups, RFC 3030 BDAT, RFC 3207 STARTTLS with
plaintext injected after the 220, RFC 4954 AUTH with 334 challenges, 452
too many recipients, 421, HELO fallback, TURN and ATRN) and hostile replies (a line over
512 octets, NUL, bare LF, mixed codes in one reply, endless 250- lines,
codes no table lists), the marker INJECT in texts and EHLO parameters,
under each TLS policy, feed and acknowledgement size and a few
application seeds.  fuzz_b2b: messages with dots at line starts, bare CR
and LF, 998-octet lines (by repetition), binary octets and empty ones,
over DATA, BDAT and BINARYMIME, with and without PIPELINING and with split
tables.  The input formats are at the top of fuzz/fuzz_client.c and
fuzz/fuzz_b2b.c.  `make fuzz-seeds` runs this and merges the result into
corpus/ with -merge=1.
"""
import os
import struct
import sys

CRLF = b"\r\n"


def lines(*ls):
    return b"".join(l.encode("latin-1") + CRLF for l in ls)


EHLO_ALL = lines(
    "250-mx.example.org greets you INJECT",
    "250-PIPELINING",
    "250-SIZE 1000000",
    "250-8BITMIME",
    "250-ENHANCEDSTATUSCODES",
    "250-SMTPUTF8",
    "250-LIMITS RCPTMAX=3 MAILMAX=INJECT",
    "250-DSN",
    "250-AUTH PLAIN LOGIN XOAUTH2 OAUTHBEARER INJECT",
    "250 STARTTLS")
EHLO_MIN = lines("250 mx.example.org")
EHLO_PIPE = lines("250-mx.example.org", "250-PIPELINING", "250-SIZE", "250 8BITMIME")
EHLO_BDAT = lines("250-mx.example.org", "250-PIPELINING", "250-CHUNKING", "250-8BITMIME",
                  "250-ENHANCEDSTATUSCODES", "250 BINARYMIME")
EHLO_TLS = lines("250-mx.example.org", "250-STARTTLS", "250 AUTH PLAIN")
GREET = lines("220 mx.example.org ESMTP INJECT")



def tx(nrcpt=1, nbody=0, bdat=False):
    """The replies to one transaction of the harness's plan."""
    r = lines("250 2.1.0 Sender ok INJECT") + lines("250 2.1.5 Recipient ok") * nrcpt
    if bdat:
        return r + lines("250 2.0.0 chunk ok") * (nbody + 1) + lines("250 2.0.0 Ok: queued")
    return r + lines("354 End data with <CR><LF>.<CR><LF>") + lines("250 2.0.0 Ok: queued as INJECT")


BYE = lines("221 2.0.0 Bye INJECT")


def session(ehlo=EHLO_ALL, nrcpt=1, nbody=0, bdat=False, auth=b"", mid=b""):
    return GREET + ehlo + auth + tx(nrcpt, nbody, bdat) + mid + tx(nrcpt, nbody, bdat) + BYE


# (name, stream, tls policy, plan byte 3, extra config bits of byte 0)
# plan byte 3: bits0-1 recipients - 1, bits2-3 body chunks - 1, bit4 AUTH, bits5-6 mechanism - 1,
# bit7 TURN instead of QUIT
SERVERS = [
    ("plain", session(), 0, 0x00, 0),
    ("plain-3rcpt-2body", session(nrcpt=3, nbody=2), 0, 0x0a, 0),
    ("minimal", session(EHLO_MIN, 2, 1), 0, 0x05, 0),
    ("pipelined", session(EHLO_PIPE, 4, 3), 0, 0x0f, 0),
    ("no-pipelining", session(EHLO_PIPE, 2, 0), 0, 0x01, 8),
    ("bdat", session(EHLO_BDAT, 1, 2, True), 0, 0x08, 0),
    ("bdat-2rcpt", session(EHLO_BDAT, 2, 3, True), 0, 0x0d, 0),
    ("bdat-off", session(EHLO_BDAT, 1, 1), 0, 0x04, 16),
    ("bare-refuse", session(nbody=3), 0, 0x0c, 32),
    ("helo-fallback", GREET + lines("500 5.5.1 what is EHLO", "250 hi") + tx() + tx() + BYE, 0, 0x00, 0),
    ("helo-502", GREET + lines("502 no", "250 hi") + tx(2) + tx(2) + BYE, 0, 0x01, 0),
    ("ehlo-refused", GREET + lines("550 go away", "221 Bye"), 0, 0x00, 0),
    ("greet-554", lines("554 no service INJECT", "221 Bye"), 0, 0x00, 0),
    ("greet-421", lines("421 busy INJECT"), 0, 0x00, 0),
    ("greet-multiline", lines("220-mx.example.org", "220-INJECT", "220 ready") + EHLO_ALL + tx() + tx() + BYE,
     0, 0x00, 0),
    ("starttls", GREET + EHLO_TLS + lines("220 2.0.0 go ahead", "250 INJECT plaintext after 220") +
     EHLO_ALL + tx() + tx() + BYE, 1, 0x00, 0),
    ("starttls-required", GREET + EHLO_TLS + lines("220 2.0.0 go ahead") + EHLO_ALL + tx() + tx() + BYE,
     2, 0x00, 0),
    ("starttls-454", GREET + EHLO_TLS + lines("454 4.7.0 TLS not available") + tx() + tx() + BYE, 1, 0x00, 0),
    ("starttls-454-required", GREET + EHLO_TLS + lines("454 4.7.0 TLS not available", "221 Bye"), 2, 0x00, 0),
    ("starttls-missing", GREET + EHLO_MIN + lines("221 Bye"), 2, 0x00, 0),
    ("implicit-tls", session(), 3, 0x10, 0),
    ("auth-plain", session(auth=lines("235 2.7.0 Authentication successful")), 0, 0x10, 4),
    ("auth-login", session(auth=lines("334 VXNlcm5hbWU6", "334 UGFzc3dvcmQ6", "235 2.7.0 ok")), 0, 0x30, 4),
    ("auth-xoauth2-error", session(auth=lines("334 eyJzdGF0dXMiOiI0MDEifQ==", "535 5.7.8 bad token INJECT")),
     0, 0x50, 4),
    ("auth-oauthbearer", session(auth=lines("235 2.7.0 ok")), 3, 0x70, 0),
    ("auth-535", session(auth=lines("535 5.7.8 INJECT")), 0, 0x10, 4),
    ("auth-454", session(auth=lines("454 4.7.0 temp")), 0, 0x10, 4),
    ("auth-334-endless", GREET + EHLO_ALL + lines("334 ", "334 ", "334 ", "334 ") + tx() + BYE, 0, 0x10, 4),
    ("rcpt-452", GREET + EHLO_ALL + lines("250 2.1.0 ok", "250 2.1.5 ok", "452 4.5.3 Too many recipients",
                                          "452 4.5.3 Too many", "354 go", "250 ok") + tx(4) + BYE, 0, 0x03, 0),
    ("rcpt-refused", GREET + EHLO_ALL + lines("250 ok", "550 5.1.1 no such user INJECT", "550 no",
                                              "554 5.5.1 No valid recipients", "250 reset") + tx(2) + BYE,
     0, 0x01, 0),
    ("rcpt-refused-lockstep", GREET + EHLO_ALL + lines("250 ok", "550 no", "550 no", "250 reset") + tx(2) + BYE,
     0, 0x01, 8),
    ("mail-refused", GREET + EHLO_ALL + lines("550 5.7.1 no INJECT", "503 5.5.1 bad sequence",
                                              "503 5.5.1 bad sequence") + tx(2) + tx(2) + BYE, 0, 0x01, 0),
    ("data-refused", GREET + EHLO_ALL + lines("250 ok", "250 ok", "451 4.3.0 try later", "250 reset") +
     tx() + BYE, 0, 0x00, 0),
    ("end-refused", GREET + EHLO_ALL + lines("250 ok", "250 ok", "354 go", "554 5.6.0 bad message INJECT") +
     tx() + BYE, 0, 0x00, 0),
    ("bdat-refused", GREET + EHLO_BDAT + lines("250 ok", "250 ok", "552 5.3.4 too big", "250 ok", "250 ok",
                                               "250 reset") + tx(1, 1, True) + BYE, 0, 0x04, 0),
    ("421-mid", GREET + EHLO_ALL + lines("250 ok", "421 4.3.2 shutting down INJECT"), 0, 0x01, 0),
    ("421-in-data", GREET + EHLO_ALL + lines("250 ok", "250 ok", "354 go", "421 4.4.2 timeout"), 0, 0x0c, 0),
    ("unasked-in-data", GREET + EHLO_ALL + lines("250 ok", "250 ok", "354 go", "250 early INJECT"), 0, 0x0c, 0),
    ("quit-500", GREET + EHLO_MIN + tx() + tx() + lines("500 what"), 0, 0x00, 0),
    ("quit-then-garbage", GREET + EHLO_MIN + tx() + tx() + lines("250 not a bye"), 0, 0x00, 0),
    ("long-line", GREET + b"250-" + b"x" * 600 + CRLF + lines("250 ok"), 0, 0x00, 0),
    ("line-512", GREET + b"250 " + b"y" * 506 + CRLF + tx() + tx() + BYE, 0, 0x00, 0),
    ("line-513", GREET + b"250 " + b"y" * 507 + CRLF + tx() + tx() + BYE, 0, 0x00, 0),
    ("nul", GREET + b"250-mx\x00INJECT\r\n250 ok\r\n" + tx(), 0, 0x00, 0),
    ("bare-lf", GREET + b"250-mx.example.org\n250 PIPELINING\r\n" + tx(), 0, 0x00, 0),
    ("bare-cr", GREET + b"250 mx\rINJECT\r\n" + tx(), 0, 0x00, 0),
    ("mixed-codes", GREET + lines("250-mx", "251 other") + tx(), 0, 0x00, 0),
    ("many-lines", GREET + lines(*(["250-INJECT"] * 120 + ["250 end"])) + tx() + tx() + BYE, 0, 0x00, 0),
    ("few-lines", GREET + EHLO_ALL + tx() + tx() + BYE, 0, 0x00, 0x40),
    ("no-text", GREET + lines("250") + tx() + tx() + BYE, 0, 0x00, 0),
    ("bad-enh", GREET + EHLO_ALL + lines("250 5.1.0 wrong class", "250 2.999.999 big", "354 3.0.0 go",
                                         "250 2.1 short") + tx() + BYE, 0, 0x00, 0),
    ("unasked", GREET + lines("250 unasked INJECT") + EHLO_MIN, 0, 0x00, 0),
    ("unasked-221", GREET + EHLO_MIN + lines("221 bye unasked"), 0, 0x00, 0),
    ("code-199", GREET + lines("199 low") + tx(), 0, 0x00, 0),
    ("code-600", GREET + lines("600 high") + tx(), 0, 0x00, 0),
    ("text-controls", GREET + b"250-mx\x01\x7f\t\x1bINJECT\r\n250 ok\r\n" + tx() + tx() + BYE, 0, 0x00, 0),
    ("size-limit", GREET + lines("250-mx", "250-SIZE 100", "250 DSN") + tx() + tx() + BYE, 0, 0x00, 0),
    ("turn-250", GREET + EHLO_ALL + tx() + tx() + lines("250 OK, turning around") +
     lines("220 the roles are reversed INJECT"), 0, 0x80, 0),
    ("turn-502", GREET + EHLO_ALL + tx() + tx() + lines("502 5.5.1 TURN not implemented", "453 no mail",
                                                        "250 ok"), 0, 0x80, 0),
    ("atrn", GREET + lines("250-mx", "250-AUTH PLAIN", "250 ATRN") + lines("235 ok", "250 ok turning",
                                                                        "EHLO INJECT"), 0, 0x10, 4),
    ("rcptmax-1", GREET + lines("250-mx", "250-PIPELINING", "250 LIMITS RCPTMAX=1") + tx() + tx() + BYE,
     0, 0x01, 0),
]

# byte 1 variants: feed | ack << 3 | host << 6
SPLITS = [0x40, 0x49, 0x52, 0x5b, 0xa4, 0xed, 0x36, 0x7f]


def client_seeds(out):
    d = os.path.join(out, "fuzz_client")
    os.makedirs(d, exist_ok=True)
    n = 0
    for k, (name, stream, tls, plan, b0) in enumerate(SERVERS):
        for j, b1 in enumerate(SPLITS[:3]):
            split = SPLITS[(k + j * 3) % len(SPLITS)] if j else b1
            for planned in (0x80, 0x00):  # the plan alone, and with random calls
                with open(os.path.join(d, "%s-%d%s" % (name, j, "" if planned else "-r")), "wb") as f:
                    f.write(bytes([tls | b0, split, planned | (k & 0x7f), plan]) + stream)
                n += 1
    return n


def b2b_msg(flags, refuse, body):
    return bytes([flags, refuse]) + struct.pack("<H", len(body)) + body


MSGS = {
    "text": b"Subject: hi\r\n\r\nHello\r\n.\r\n..\r\n.x\r\nend",
    "dots": b".\r\n.\r\n..\r\n...\r\n.",
    "bare": b"a\rb\nc\r\r\n.\n.\r.\r\nd\n",
    "smuggle": b"x\r\n.\r\nMAIL FROM:<a@b>\r\n\n.\n\r\n.\n\r.\r",
    "binary": bytes(range(256)),
    "crlf-end": b"line\r\n",
    "cr-end": b"line\r",
    "empty": b"",
    "line998": b"a" * 998 + b"\r\n",
    "line999": b"b" * 999 + b"\r\n",
}


def b2b_seeds(out):
    d = os.path.join(out, "fuzz_b2b")
    os.makedirs(d, exist_ok=True)
    n = 0
    heads = [
        (0x00, 0x00, b""),                    # DATA, pipelined, whole
        (0x01, 0x04, b"\x01"),                # no PIPELINING, 1-octet splits
        (0x02, 0x0c, b"\x03\x00\x07"),        # CHUNKING
        (0x06, 0x11, b"\x05\x00\x02\x01"),    # BINARYMIME, scale 16
        (0x26, 0x08, b"\x00\x02"),            # BINARYMIME without 8BITMIME
        (0x0a, 0x3e, b"\x01\x02\x03\x05\x07\x0b\x0d\x11\x13\x17\x1d\x1f\x25\x29\x2b"),
        (0x12, 0x07, b"\x09"),                # NO_CHUNKING, scale 4096
        (0x40, 0x08, b"\x00\x01"),
        (0x82, 0x10, b"\x01\x00\x05\x02"),
        (0xc6, 0x14, b"\x02\x03\x00\x07\x01"),
    ]
    names = list(MSGS)
    for k, (b0, b1, table) in enumerate(heads):
        nm = 1 + (b0 >> 6)
        body = b""
        for i in range(nm):
            m = names[(k + i * 3) % len(names)]
            flags = (1 if (b0 & 4) and i == 0 else 0) | (((i + k) % 4) << 1)
            refuse = [0, 0, 0x02, 0xff][(k + i) % 4]
            body += b2b_msg(flags, refuse, MSGS[m])
        with open(os.path.join(d, "mix-%02d" % k), "wb") as f:
            f.write(bytes([b0, b1]) + table + body)
        n += 1
    for k, m in enumerate(names):  # each message alone, DATA and BDAT
        for b0 in (0x00, 0x02, 0x06):
            with open(os.path.join(d, "%s-%02x" % (m, b0)), "wb") as f:
                f.write(bytes([b0, 0x08]) + b"\x00\x03" + b2b_msg(1 if b0 == 6 else 0, 0, MSGS[m]))
            n += 1
    # repetition: 998-octet lines many times (r = 4: 16 copies)
    for b0 in (0x00, 0x02):
        with open(os.path.join(d, "repeat-998-%02x" % b0), "wb") as f:
            f.write(bytes([b0, 0x03]) + b2b_msg(0x40, 0, MSGS["line998"]))
        n += 1
    return n


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    print("fuzz_client: %d seeds, fuzz_b2b: %d seeds" % (client_seeds(sys.argv[1]), b2b_seeds(sys.argv[1])))


if __name__ == "__main__":
    main()
