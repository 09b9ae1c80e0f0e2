/*
 * cunit.c - API-level tests of the sender (smtp.h, "The sender (client)
 * role") where a transcript cannot look: the credentials wiped from the
 * client once sent (C4), the body sent in place from the caller's buffer
 * (C3: no copy), the RSET an abandoned transaction owes coming before a
 * command made at once on the event, the argument checks, back-pressure
 * (rule 6), the state after the end, and the name tables.  The protocol
 * itself is pinned by tests/ctranscripts.  Ends with "cunit: N passed, N
 * failed".
 */
#define _DEFAULT_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp.h"

static int checks_failed;

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            printf("  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);  \
            checks_failed++;                                                   \
        }                                                                      \
    } while (0)

#define CHECK_EQ(a, b)                                                         \
    do {                                                                       \
        long long a_ = (long long)(a), b_ = (long long)(b);                    \
        if (a_ != b_) {                                                        \
            printf("  %s:%d: %s == %lld, expected %s == %lld\n", __FILE__,     \
                   __LINE__, #a, a_, #b, b_);                                  \
            checks_failed++;                                                   \
        }                                                                      \
    } while (0)

/* ------------------------------------------------------------- helpers */

/* Feeds the NUL-terminated server text s until it is all taken, sending
 * (and appending to out, if given) the output as it comes.  Returns the
 * last event or status. */
static int feed(struct smtp_client *c, const char *s, char *out, size_t cap)
{
    size_t len = strlen(s), used;
    union smtp_cevent ev;
    int st, guard = 0, last = SMTP_NEED_INPUT;
    do {
        const char *o;
        size_t n;
        st = smtp_client_feed(c, s, len, &used, &ev);
        s += used, len -= used;
        if (st > 0 || st == SMTP_CLOSED)
            last = st;
        while ((o = smtp_client_output(c, &n)) != NULL) {
            if (out) {
                size_t k = strlen(out);
                if (k + n < cap) {
                    memcpy(out + k, o, n);
                    out[k + n] = 0;
                }
            }
            smtp_client_output_done(c, n);
        }
    } while ((len || st == SMTP_WANT_WRITE || st > 0) && st != SMTP_CLOSED && ++guard < 1000);
    return last;
}

/* The pending output as a string (not acknowledged). */
static const char *pending(const struct smtp_client *c)
{
    static char b[4096];
    size_t n;
    const char *o = smtp_client_output(c, &n);
    if (!o)
        return "";
    if (n >= sizeof b)
        n = sizeof b - 1;
    memcpy(b, o, n);
    b[n] = 0;
    return b;
}

static void ack_all(struct smtp_client *c)
{
    size_t n;
    while (smtp_client_output(c, &n))
        smtp_client_output_done(c, n);
}

/* Is the needle anywhere in the client's bytes? */
static int in_client(const struct smtp_client *c, const char *needle, size_t n)
{
    const char *p = (const char *)c;
    size_t i;
    for (i = 0; i + n <= sizeof *c; i++)
        if (memcmp(p + i, needle, n) == 0)
            return 1;
    return 0;
}

/* Is any 8 octets of s (a secret or its encoding) left in the client? */
static int trace_left(const struct smtp_client *c, const char *s)
{
    size_t i, n = strlen(s);
    for (i = 0; i + 8 <= n; i++)
        if (in_client(c, s + i, 8))
            return 1;
    return 0;
}

static const char b64tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void b64(const unsigned char *p, size_t n, char *out)
{
    size_t i, k = 0;
    for (i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) |
                     (i + 2 < n ? p[i + 2] : 0);
        out[k++] = b64tab[v >> 18 & 63];
        out[k++] = b64tab[v >> 12 & 63];
        out[k++] = i + 1 < n ? b64tab[v >> 6 & 63] : '=';
        out[k++] = i + 2 < n ? b64tab[v & 63] : '=';
    }
    out[k] = 0;
}

/* A client at CEV_READY over implicit TLS, the server offering AUTH (and
 * CHUNKING and PIPELINING when chunking). */
static void ready(struct smtp_client *c, int chunking)
{
    struct smtp_client_config cfg;
    smtp_client_config_default(&cfg);
    cfg.tls = SMTP_TLS_IMPLICIT;
    cfg.hostname = "client.example";
    memset(c, 0xa5, sizeof *c);
    smtp_client_init(c, &cfg);
    CHECK_EQ(feed(c, "220 mx.example\r\n", NULL, 0), SMTP_NEED_INPUT);
    CHECK_EQ(feed(c,
                  chunking ? "250-mx.example\r\n250-CHUNKING\r\n250-PIPELINING\r\n"
                             "250 AUTH PLAIN LOGIN XOAUTH2\r\n"
                           : "250-mx.example\r\n250 AUTH PLAIN LOGIN XOAUTH2 OAUTHBEARER\r\n",
                  NULL, 0),
             SMTP_CEV_READY);
}

/* --------------------------------------------------------------- tests */

/* C4: the AUTH PLAIN line is in _out until sent; once acknowledged no
 * trace of the password, plain or base64, is left in the client. */
static void test_secret_wiped_plain(void)
{
    struct smtp_client c;
    static const char msg[] = "\0alice\0hunter2-secret";
    char enc[64], line[96];
    ready(&c, 0);
    b64((const unsigned char *)msg, sizeof msg - 1, enc);
    snprintf(line, sizeof line, "AUTH PLAIN %s\r\n", enc);
    CHECK_EQ(smtp_client_auth(&c, SMTP_MECH_PLAIN, NULL, "alice", "hunter2-secret"), SMTP_OK);
    CHECK(strcmp(pending(&c), line) == 0);
    CHECK(in_client(&c, enc, strlen(enc)));
    smtp_client_output_done(&c, strlen(line) - 1); /* all but the LF */
    CHECK(in_client(&c, enc + 8, 8));
    smtp_client_output_done(&c, 1);
    CHECK(!trace_left(&c, enc));
    CHECK(!trace_left(&c, "hunter2-secret"));
    CHECK_EQ(feed(&c, "235 2.7.0 OK\r\n", NULL, 0), SMTP_CEV_AUTH);
    CHECK(!trace_left(&c, enc));
}

/* C4: LOGIN sends the password after the second 334; acknowledged, it is
 * gone from the client. */
static void test_secret_wiped_login(void)
{
    struct smtp_client c;
    char enc[64], out[512] = "";
    ready(&c, 0);
    b64((const unsigned char *)"correct-horse", 13, enc);
    CHECK_EQ(smtp_client_auth(&c, SMTP_MECH_LOGIN, NULL, "bob", "correct-horse"), SMTP_OK);
    feed(&c, "", out, sizeof out);
    CHECK(strcmp(out, "AUTH LOGIN\r\n") == 0);
    out[0] = 0;
    feed(&c, "334 VXNlcm5hbWU6\r\n", out, sizeof out);
    CHECK(strcmp(out, "Ym9i\r\n") == 0);
    CHECK_EQ(smtp_client_feed(&c, "334 UGFzc3dvcmQ6\r\n", 18, &(size_t){0}, &(union smtp_cevent){0}),
             SMTP_WANT_WRITE);
    CHECK(strncmp(pending(&c), enc, strlen(enc)) == 0);
    ack_all(&c);
    CHECK(!trace_left(&c, enc));
    CHECK(!trace_left(&c, "correct-horse"));
}

/* C4: a response longer than the client's output buffer is encoded as the
 * output drains; acknowledged a few octets at a time, no 16 octets of it
 * are ever left behind once sent, and what went out is the whole base64. */
static void test_secret_wiped_pumped(void)
{
    struct smtp_client c;
    static char secret[1201], msg[1300], enc[1800], sent[4096];
    size_t n, k, total = 0;
    const char *o;
    memset(secret, 's', 1200);
    memcpy(secret + 300, "UNIQUE-TOKEN-XYZ", 16);
    secret[1200] = 0;
    msg[0] = 0;
    memcpy(msg + 1, "u", 1);
    msg[2] = 0;
    memcpy(msg + 3, secret, 1200);
    b64((const unsigned char *)msg, 1203, enc);
    ready(&c, 0);
    CHECK_EQ(smtp_client_auth(&c, SMTP_MECH_PLAIN, NULL, "u", secret), SMTP_OK);
    CHECK(strcmp(pending(&c), "AUTH PLAIN\r\n") == 0);
    ack_all(&c);
    CHECK_EQ(smtp_client_feed(&c, "334 \r\n", 6, &n, &(union smtp_cevent){0}), SMTP_WANT_WRITE);
    while ((o = smtp_client_output(&c, &n)) != NULL) {
        k = n < 7 ? n : 7;
        CHECK(total + k < sizeof sent);
        if (total + k >= sizeof sent)
            break;
        memcpy(sent + total, o, k);
        total += k;
        smtp_client_output_done(&c, k);
    }
    sent[total] = 0;
    CHECK_EQ(total, strlen(enc) + 2);
    CHECK(strncmp(sent, enc, strlen(enc)) == 0);
    CHECK(!trace_left(&c, enc));
    CHECK(!in_client(&c, "UNIQUE-TOKEN", 12));
}

/* smtp_client_abort() wipes queued credentials at once. */
static void test_abort_wipes(void)
{
    struct smtp_client c;
    char enc[128];
    static const char msg[] = "user=u\001auth=Bearer tok-ABCDEFGH\001\001";
    size_t used;
    union smtp_cevent ev;
    ready(&c, 0);
    b64((const unsigned char *)msg, sizeof msg - 1, enc);
    CHECK_EQ(smtp_client_auth(&c, SMTP_MECH_XOAUTH2, NULL, "u", "tok-ABCDEFGH"), SMTP_OK);
    CHECK(trace_left(&c, enc));
    smtp_client_abort(&c);
    CHECK(!trace_left(&c, enc));
    CHECK(smtp_client_output(&c, &used) == NULL);
    CHECK_EQ(smtp_client_feed(&c, "235 OK\r\n", 8, &used, &ev), SMTP_CLOSED);
    CHECK_EQ(used, 0);
    CHECK_EQ(smtp_client_closed(&c), 1);
}

/* C3: a plain run of the body goes out from the caller's buffer, not a
 * copy; only the dot-stuffing and the CRLF of a bare LF come from the
 * client.  A BDAT chunk's data too. */
static void test_body_in_place(void)
{
    struct smtp_client c;
    static char body[20000];
    size_t used, n, i;
    const char *o;
    for (i = 0; i < sizeof body; i++)
        body[i] = (char)(i % 100 == 98 ? '\r' : i % 100 == 99 ? '\n' : 'a' + (char)(i % 26));
    ready(&c, 0);
    CHECK_EQ(smtp_client_mail(&c, "a@client.example", NULL), SMTP_OK);
    CHECK_EQ(smtp_client_rcpt(&c, "b@mx.example", 0, NULL), SMTP_ERR_BUSY);
    feed(&c, "250 OK\r\n", NULL, 0);
    CHECK_EQ(smtp_client_rcpt(&c, "b@mx.example", 0, NULL), SMTP_OK);
    feed(&c, "250 OK\r\n", NULL, 0);
    CHECK_EQ(smtp_client_data(&c), SMTP_OK);
    CHECK_EQ(feed(&c, "354 go\r\n", NULL, 0), SMTP_CEV_DATA);
    CHECK_EQ(smtp_client_body(&c, body, sizeof body, &used), SMTP_OK);
    CHECK_EQ(used, sizeof body);
    o = smtp_client_output(&c, &n);
    CHECK(o == body);
    CHECK_EQ(n, sizeof body);
    CHECK_EQ(smtp_client_body(&c, body, 1, &used), SMTP_ERR_BUSY); /* C3: until sent */
    smtp_client_output_done(&c, 1000);
    o = smtp_client_output(&c, &n);
    CHECK(o == body + 1000);
    CHECK_EQ(n, sizeof body - 1000);
    smtp_client_output_done(&c, n);
    CHECK(smtp_client_output(&c, &n) == NULL);
    /* a line that starts with a dot: the extra dot from the client, the
     * line itself in place */
    CHECK_EQ(smtp_client_body(&c, ".hidden\r\nx", 10, &used), SMTP_OK);
    CHECK_EQ(used, 10);
    o = smtp_client_output(&c, &n);
    CHECK(n == 1 && o && o[0] == '.' && o != body);
    smtp_client_output_done(&c, 1);
    o = smtp_client_output(&c, &n);
    CHECK(n == 10 && o && memcmp(o, ".hidden\r\nx", 10) == 0);
    ack_all(&c);
    CHECK_EQ(smtp_client_end(&c), SMTP_OK);
    CHECK(strcmp(pending(&c), "\r\n.\r\n") == 0);
}

/* A client in the body of a message over DATA, lock-step, with options. */
static void at_body(struct smtp_client *c, uint32_t options)
{
    struct smtp_client_config cfg;
    smtp_client_config_default(&cfg);
    cfg.options = options;
    smtp_client_init(c, &cfg);
    CHECK_EQ(feed(c, "220 mx.example\r\n250 mx.example\r\n", NULL, 0), SMTP_CEV_READY);
    CHECK_EQ(smtp_client_mail(c, "a@client.example", NULL), SMTP_OK);
    feed(c, "250 OK\r\n", NULL, 0);
    CHECK_EQ(smtp_client_rcpt(c, "b@mx.example", 0, NULL), SMTP_OK);
    feed(c, "250 OK\r\n", NULL, 0);
    CHECK_EQ(smtp_client_data(c), SMTP_OK);
    CHECK_EQ(feed(c, "354 go\r\n", NULL, 0), SMTP_CEV_DATA);
}

/* Sends what c has, appending it to out (cap octets); each span must be
 * inside buf[0..len) or inside the client.  Returns the spans sent. */
static int drain_into(struct smtp_client *c, const char *buf, size_t len, char *out, size_t cap)
{
    const char *o;
    size_t n;
    int spans = 0;
    while ((o = smtp_client_output(c, &n)) != NULL) {
        size_t k = strlen(out);
        CHECK(n > 0);
        CHECK((o >= buf && o + n <= buf + len) ||
              (o >= (const char *)c && o + n <= (const char *)c + sizeof *c));
        if (k + n < cap) {
            memcpy(out + k, o, n);
            out[k + n] = 0;
        }
        smtp_client_output_done(c, n);
        spans++;
    }
    return spans;
}

/* C3 over DATA: one call takes the whole buffer; the lines come out as
 * runs in place (a dot line's dot twice from the buffer) and CRLFs for
 * the bare octets from the client, found as the output drains, and the
 * client may be copied between any two of them (rule 1). */
static void test_body_lazy(void)
{
    struct smtp_client c, c2;
    static const char body[] = "a\nb\nc\r\n.d\ne\rf\r\n\n";
    char out[128] = "";
    size_t used, n;
    const char *o;
    at_body(&c, 0);
    CHECK_EQ(smtp_client_body(&c, body, sizeof body - 1, &used), SMTP_OK);
    CHECK_EQ(used, sizeof body - 1);
    CHECK_EQ(smtp_client_body(&c, "x", 1, &used), SMTP_ERR_BUSY);
    o = smtp_client_output(&c, &n);
    CHECK(o == body && n == 1);
    smtp_client_output_done(&c, 1);
    c2 = c; /* no pointer into itself */
    memset(&c, 0x5a, sizeof c);
    strcpy(out, "a");
    CHECK(drain_into(&c2, body, sizeof body - 1, out, sizeof out) >= 8);
    CHECK(strcmp(out, "a\r\nb\r\nc\r\n..d\r\ne\r\nf\r\n\r\n") == 0);
    CHECK_EQ(smtp_client_end(&c2), SMTP_OK);
    CHECK(strcmp(pending(&c2), ".\r\n") == 0);
}

/* SMTP_COPT_BARE_REFUSE with the bare LF past a '.' line, all in one
 * call: what comes before it goes out, nothing after, and the end is
 * refused; the end waits while body octets are still to go. */
static void test_bare_refuse_later(void)
{
    struct smtp_client c;
    static const char body[] = "a\r\n.b\r\nc\nd";
    char out[64] = "";
    size_t used;
    at_body(&c, SMTP_COPT_BARE_REFUSE);
    CHECK_EQ(smtp_client_body(&c, "abc\r\n", 5, &used), SMTP_OK);
    CHECK_EQ(smtp_client_end(&c), SMTP_ERR_BUSY);
    drain_into(&c, "abc\r\n", 5, out, sizeof out);
    CHECK_EQ(smtp_client_body(&c, body, sizeof body - 1, &used), SMTP_OK);
    CHECK_EQ(used, sizeof body - 1);
    CHECK_EQ(smtp_client_end(&c), SMTP_ERR_BUSY);
    drain_into(&c, body, sizeof body - 1, out, sizeof out);
    CHECK(strcmp(out, "abc\r\na\r\n..b\r\nc") == 0);
    CHECK_EQ(smtp_client_end(&c), SMTP_ERR_BARE);
    CHECK_EQ(smtp_client_body(&c, "x\r\n", 3, &used), SMTP_ERR_BARE);
    CHECK_EQ(used, 0);
    CHECK(smtp_client_output(&c, &used) == NULL);
}

/* SMTP_COPT_BARE_REFUSE over BDAT: the chunk ends before the bare octet,
 * and the next call, which starts at it, is refused with nothing queued. */
static void test_bdat_bare_refuse(void)
{
    struct smtp_client c;
    struct smtp_client_config cfg;
    static const char body[] = "ok\r\nbad\nx";
    size_t used, n;
    smtp_client_config_default(&cfg);
    cfg.options = SMTP_COPT_BARE_REFUSE;
    smtp_client_init(&c, &cfg);
    CHECK_EQ(feed(&c, "220 mx.example\r\n250-mx.example\r\n250 CHUNKING\r\n", NULL, 0),
             SMTP_CEV_READY);
    CHECK_EQ(smtp_client_mail(&c, "a@client.example", NULL), SMTP_OK);
    feed(&c, "250 OK\r\n", NULL, 0);
    CHECK_EQ(smtp_client_rcpt(&c, "b@mx.example", 0, NULL), SMTP_OK);
    feed(&c, "250 OK\r\n", NULL, 0);
    CHECK_EQ(smtp_client_data(&c), SMTP_OK);
    CHECK_EQ(smtp_client_body(&c, body, sizeof body - 1, &used), SMTP_OK);
    CHECK_EQ(used, 7);
    CHECK(strcmp(pending(&c), "BDAT 7\r\n") == 0);
    ack_all(&c);
    feed(&c, "250 OK\r\n", NULL, 0);
    CHECK_EQ(smtp_client_body(&c, body + 7, sizeof body - 8, &used), SMTP_ERR_BARE);
    CHECK_EQ(used, 0);
    CHECK(smtp_client_output(&c, &n) == NULL);
}

/* smtp_client_output_spans(): in the body, several spans per call, each
 * in the buffer or the client, taken as given; the same octets as one
 * span at a time; outside the body, 0 (commands and the end of the data
 * come from smtp_client_output()). */
static void test_output_spans(void)
{
    struct smtp_client c;
    static const char body[] = "a\nb\rc\r\n.d\n.\n\n\ne";
    struct smtp_span v[3];
    char out[128] = "";
    size_t used, n, i, calls = 0;
    at_body(&c, 0);
    CHECK_EQ(smtp_client_output_spans(&c, v, 3), 0);
    CHECK_EQ(smtp_client_body(&c, body, sizeof body - 1, &used), SMTP_OK);
    CHECK_EQ(used, sizeof body - 1);
    CHECK_EQ(smtp_client_output_spans(&c, v, 0), 0);
    while ((n = smtp_client_output_spans(&c, v, 3)) > 0) {
        CHECK(n <= 3);
        calls++;
        for (i = 0; i < n; i++) {
            CHECK(v[i].len > 0);
            CHECK((v[i].ptr >= body && v[i].ptr + v[i].len <= body + sizeof body - 1) ||
                  (v[i].ptr >= (const char *)&c && v[i].ptr + v[i].len <= (const char *)(&c + 1)));
            if (strlen(out) + v[i].len < sizeof out)
                strncat(out, v[i].ptr, v[i].len);
        }
    }
    CHECK(calls >= 3 && calls <= 6);
    CHECK(strcmp(out, "a\r\nb\r\nc\r\n..d\r\n..\r\n\r\n\r\ne") == 0);
    CHECK(smtp_client_output(&c, &n) == NULL);
    CHECK_EQ(smtp_client_end(&c), SMTP_OK);
    CHECK_EQ(smtp_client_output_spans(&c, v, 3), 0);
    CHECK(strcmp(pending(&c), "\r\n.\r\n") == 0);
}

/* What a DATA body must become on the wire: bare CR and LF and CRLF as
 * CRLF, a '.' at a line start doubled, then CRLF.CRLF (the line's CRLF
 * only once).  Written without the core's scanner, for the check. */
static size_t stuffed(const char *p, size_t n, char *o)
{
    size_t i, k = 0;
    int sol = 1;
    for (i = 0; i < n; i++) {
        if (p[i] == '\r' || p[i] == '\n') {
            i += p[i] == '\r' && i + 1 < n && p[i + 1] == '\n';
            o[k++] = '\r', o[k++] = '\n', sol = 1;
            continue;
        }
        if (sol && p[i] == '.')
            o[k++] = '.';
        o[k++] = p[i], sol = 0;
    }
    if (!sol)
        o[k++] = '\r', o[k++] = '\n';
    memcpy(o + k, ".\r\n", 3);
    return k + 3;
}

/* Random bodies of 'a', '.', CR and LF in one or two smtp_client_body()
 * calls, drained by smtp_client_output_spans() with 1 to 5 spans per call
 * or by smtp_client_output() with random partial acknowledgements: the
 * same octets as stuffed() either way. */
static void test_output_spans_random(void)
{
    static const char alpha[] = "aaa.\r\n\n";
    uint32_t seed = 12345;
    int round, bad = 0;
    for (round = 0; round < 3000 && !bad; round++) {
        struct smtp_client c;
        char body[80], want[300], got[300];
        size_t n, i, k = 0, split, at, used, len;
        int spans = round & 1;
        seed = seed * 1103515245u + 12345u;
        n = (seed >> 8) % sizeof body;
        for (i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            body[i] = alpha[(seed >> 16) % (sizeof alpha - 1)];
        }
        split = n ? (seed >> 4) % (n + 1) : 0;
        at_body(&c, 0);
        for (at = 0; at < n; at += used) {
            size_t end = at < split ? split : n;
            CHECK_EQ(smtp_client_body(&c, body + at, end - at, &used), SMTP_OK);
            if (used == 0)
                break;
            for (;;) {
                struct smtp_span v[5];
                const char *o;
                seed = seed * 1103515245u + 12345u;
                if (spans) {
                    size_t m = smtp_client_output_spans(&c, v, 1 + (seed >> 16) % 5), j;
                    for (j = 0; j < m && k + v[j].len <= sizeof got; j++)
                        memcpy(got + k, v[j].ptr, v[j].len), k += v[j].len;
                    if (m)
                        continue;
                }
                if ((o = smtp_client_output(&c, &len)) == NULL)
                    break;
                if (!spans)
                    len = 1 + (seed >> 16) % len;
                if (k + len > sizeof got)
                    break;
                memcpy(got + k, o, len), k += len;
                smtp_client_output_done(&c, len);
            }
        }
        CHECK_EQ(smtp_client_end(&c), SMTP_OK);
        while (smtp_client_output(&c, &len) != NULL && k + len <= sizeof got) {
            memcpy(got + k, smtp_client_output(&c, &len), len), k += len;
            smtp_client_output_done(&c, len);
        }
        len = stuffed(body, n, want);
        if (k != len || memcmp(got, want, len) != 0)
            bad = 1;
    }
    CHECK(!bad);
    CHECK_EQ(round, 3000);
}

static void test_bdat_in_place(void)
{
    struct smtp_client c;
    static const char body[] = "Subject: x\r\n\r\n.line\r\n";
    size_t used, n;
    const char *o;
    ready(&c, 1);
    CHECK_EQ(smtp_client_mail(&c, "a@client.example", NULL), SMTP_OK);
    feed(&c, "250 OK\r\n", NULL, 0);
    CHECK_EQ(smtp_client_rcpt(&c, "b@mx.example", 0, NULL), SMTP_OK);
    feed(&c, "250 OK\r\n", NULL, 0);
    CHECK_EQ(smtp_client_data(&c), SMTP_OK);
    CHECK(smtp_client_output(&c, &n) == NULL);
    CHECK_EQ(smtp_client_body(&c, body, sizeof body - 1, &used), SMTP_OK);
    CHECK_EQ(used, sizeof body - 1);
    CHECK(strcmp(pending(&c), "BDAT 21\r\n") == 0);
    smtp_client_output_done(&c, 9);
    o = smtp_client_output(&c, &n);
    CHECK(o == body && n == sizeof body - 1);
}

/* smtp_client_end() right after the last body call, its octets not sent
 * yet: the end follows them (DATA; BDAT with PIPELINING). */
static void test_end_at_once(void)
{
    struct smtp_client c;
    char out[256];
    size_t used;
    int chunking;
    for (chunking = 0; chunking < 2; chunking++) {
        ready(&c, chunking);
        CHECK_EQ(smtp_client_mail(&c, "a@client.example", NULL), SMTP_OK);
        feed(&c, "250 OK\r\n", NULL, 0);
        CHECK_EQ(smtp_client_rcpt(&c, "b@mx.example", 0, NULL), SMTP_OK);
        feed(&c, "250 OK\r\n", NULL, 0);
        CHECK_EQ(smtp_client_data(&c), SMTP_OK);
        out[0] = 0;
        if (!chunking)
            CHECK_EQ(feed(&c, "354 go\r\n", NULL, 0), SMTP_CEV_DATA);
        CHECK_EQ(smtp_client_body(&c, "abc", 3, &used), SMTP_OK);
        CHECK_EQ(used, 3);
        CHECK_EQ(smtp_client_body(&c, "d", 1, &used), SMTP_ERR_BUSY);
        CHECK_EQ(smtp_client_end(&c), SMTP_OK);
        CHECK_EQ(smtp_client_end(&c), SMTP_ERR_STATE);
        feed(&c, "", out, sizeof out);
        CHECK(strcmp(out, chunking ? "BDAT 3\r\nabcBDAT 0 LAST\r\n" : "abc\r\n.\r\n") == 0);
    }
}

/* The RSET an abandoned transaction owes goes out before any command the
 * application makes as soon as it has the event (no smtp_client_feed()
 * between). */
static void test_rset_before_next_mail(void)
{
    struct smtp_client c;
    ready(&c, 0);
    CHECK_EQ(smtp_client_mail(&c, "a@client.example", NULL), SMTP_OK);
    feed(&c, "250 OK\r\n", NULL, 0);
    CHECK_EQ(smtp_client_rcpt(&c, "b@mx.example", 0, NULL), SMTP_OK);
    feed(&c, "250 OK\r\n", NULL, 0);
    CHECK_EQ(smtp_client_data(&c), SMTP_OK);
    ack_all(&c);
    {
        size_t used;
        union smtp_cevent ev;
        CHECK_EQ(smtp_client_feed(&c, "554 no\r\n", 8, &used, &ev), SMTP_CEV_DATA);
        CHECK_EQ(ev.any.reply.code, 554);
    }
    /* right on the event: MAIL must not overtake the RSET */
    CHECK_EQ(smtp_client_mail(&c, "a@client.example", NULL), SMTP_ERR_BUSY);
    CHECK(strcmp(pending(&c), "RSET\r\n") == 0);
    ack_all(&c);
    CHECK_EQ(feed(&c, "250 OK\r\n", NULL, 0), SMTP_CEV_RSET);
    CHECK_EQ(smtp_client_mail(&c, "a@client.example", NULL), SMTP_OK);
    CHECK(strcmp(pending(&c), "MAIL FROM:<a@client.example>\r\n") == 0);
}

/* Arguments the API refuses, changing nothing (C1). */
static void test_bad_arguments(void)
{
    struct smtp_client c;
    struct smtp_mail_opts o;
    size_t n;
    ready(&c, 0);
    memset(&o, 0, sizeof o);
    CHECK_EQ(smtp_client_mail(&c, NULL, NULL), SMTP_ERR_SYNTAX);
    o.body = 9;
    CHECK_EQ(smtp_client_mail(&c, "a@b.example", &o), SMTP_ERR_SYNTAX);
    o.body = 0, o.ret = 7;
    CHECK_EQ(smtp_client_mail(&c, "a@b.example", &o), SMTP_ERR_SYNTAX);
    CHECK_EQ(smtp_client_auth(&c, 0, NULL, "u", "p"), SMTP_ERR_EXT);
    CHECK_EQ(smtp_client_auth(&c, 99, NULL, "u", "p"), SMTP_ERR_EXT);
    CHECK_EQ(smtp_client_auth(&c, SMTP_MECH_PLAIN, NULL, NULL, "p"), SMTP_ERR_SYNTAX);
    CHECK_EQ(smtp_client_auth(&c, SMTP_MECH_PLAIN, NULL, "u", NULL), SMTP_ERR_SYNTAX);
    CHECK(smtp_client_output(&c, &n) == NULL);
    CHECK_EQ(n, 0);
    CHECK_EQ(smtp_client_mail(&c, "a@b.example", NULL), SMTP_OK);
    feed(&c, "250 OK\r\n", NULL, 0);
    CHECK_EQ(smtp_client_rcpt(&c, NULL, 0, NULL), SMTP_ERR_SYNTAX);
    CHECK_EQ(smtp_client_rcpt(&c, "b@mx.example", 16, NULL), SMTP_ERR_SYNTAX);
    CHECK(smtp_client_output(&c, &n) == NULL);
}

/* Rule 6: while output waits nothing is read; rule 7: after the end
 * nothing is read or said, whatever is called. */
static void test_back_pressure_and_end(void)
{
    struct smtp_client c;
    size_t used = 99, n;
    union smtp_cevent ev;
    smtp_client_init(&c, NULL);
    CHECK_EQ(smtp_client_feed(&c, "220 hi\r\n250 x\r\n", 15, &used, &ev), SMTP_WANT_WRITE);
    CHECK_EQ(used, 8);
    CHECK(strcmp(pending(&c), "EHLO localhost\r\n") == 0);
    CHECK_EQ(smtp_client_feed(&c, "250 x\r\n", 7, &used, &ev), SMTP_WANT_WRITE);
    CHECK_EQ(used, 0);
    smtp_client_output_done(&c, 3);
    CHECK_EQ(smtp_client_feed(&c, "250 x\r\n", 7, &used, &ev), SMTP_WANT_WRITE);
    CHECK_EQ(used, 0);
    ack_all(&c);
    CHECK_EQ(smtp_client_feed(&c, "250 x\r\n", 7, &used, &ev), SMTP_CEV_READY);
    CHECK_EQ(used, 7);
    CHECK_EQ(smtp_client_quit(&c), SMTP_OK);
    ack_all(&c);
    CHECK_EQ(smtp_client_feed(&c, "221 bye\r\n", 9, &used, &ev), SMTP_CEV_CLOSED);
    CHECK_EQ(ev.closed.why, SMTP_WHY_QUIT);
    CHECK_EQ(smtp_client_feed(&c, "250 x\r\n", 7, &used, &ev), SMTP_CLOSED);
    CHECK_EQ(used, 0);
    CHECK_EQ(smtp_client_noop(&c), SMTP_ERR_STATE);
    CHECK_EQ(smtp_client_rset(&c), SMTP_ERR_STATE);
    CHECK_EQ(smtp_client_mail(&c, "a@b.example", NULL), SMTP_ERR_STATE);
    CHECK_EQ(smtp_client_auth(&c, SMTP_MECH_PLAIN, NULL, "u", "p"), SMTP_ERR_STATE);
    CHECK_EQ(smtp_client_tls_done(&c), SMTP_ERR_STATE);
    CHECK(smtp_client_output(&c, &n) == NULL);
    CHECK_EQ(smtp_client_closed(&c), 1);
}

/* A protocol error ends the session with QUIT queued: it is sent, and
 * then every call says SMTP_CLOSED. */
static void test_protocol_error_quit(void)
{
    struct smtp_client c;
    size_t used;
    union smtp_cevent ev;
    smtp_client_init(&c, NULL);
    CHECK_EQ(smtp_client_feed(&c, "999 no\r\n", 8, &used, &ev), SMTP_CEV_CLOSED);
    CHECK_EQ(ev.closed.why, SMTP_WHY_PROTOCOL);
    CHECK_EQ(ev.closed.reply.code, 0);
    CHECK(ev.closed.reply.text.ptr != NULL);
    CHECK_EQ(ev.closed.reply.text.len, 0);
    CHECK(strcmp(pending(&c), "QUIT\r\n") == 0);
    CHECK_EQ(smtp_client_feed(&c, "", 0, &used, &ev), SMTP_WANT_WRITE);
    ack_all(&c);
    CHECK_EQ(smtp_client_feed(&c, "", 0, &used, &ev), SMTP_CLOSED);
}

static void test_names_and_defaults(void)
{
    struct smtp_client_config cfg;
    struct smtp_client c;
    CHECK(strcmp(smtp_client_event_name(SMTP_CEV_READY), "CEV_READY") == 0);
    CHECK(strcmp(smtp_client_event_name(SMTP_CEV_CLOSED), "CEV_CLOSED") == 0);
    CHECK(strcmp(smtp_client_event_name(SMTP__CEV_LAST + 1), "?") == 0);
    CHECK(strcmp(smtp_client_event_name(SMTP_NEED_INPUT), "NEED_INPUT") == 0);
    CHECK(strcmp(smtp_client_event_name(SMTP_CLOSED), "CLOSED") == 0);
    CHECK(smtp_client_event_desc(SMTP_CEV_RCPT) != NULL);
    smtp_client_config_default(&cfg);
    CHECK(strcmp(cfg.hostname, "localhost") == 0);
    CHECK_EQ(cfg.tls, SMTP_TLS_OFF);
    CHECK_EQ(cfg.options, 0);
    CHECK_EQ(cfg.max_reply_lines, 100);
    cfg.hostname = "";
    cfg.max_reply_lines = 0;
    smtp_client_init(&c, &cfg);
    CHECK(strcmp(c.cfg.hostname, "localhost") == 0);
    CHECK_EQ(c.cfg.max_reply_lines, 100);
    { /* the EHLO name: one word of 1-255 octets 0x21-0x7e, else "localhost" */
        static const char *const keep[] = {"[192.0.2.1]", "-odd_name-", "x"};
        static const char *const drop[] = {"a b", "a\tb", "a\x7f", "caf\xc3\xa9", "a\r\n"};
        char big[300];
        size_t k;
        for (k = 0; k < sizeof keep / sizeof keep[0]; k++) {
            cfg.hostname = keep[k];
            smtp_client_init(&c, &cfg);
            CHECK(c.cfg.hostname == keep[k]);
        }
        for (k = 0; k < sizeof drop / sizeof drop[0]; k++) {
            cfg.hostname = drop[k];
            smtp_client_init(&c, &cfg);
            CHECK(strcmp(c.cfg.hostname, "localhost") == 0);
        }
        memset(big, 'a', sizeof big - 1);
        big[sizeof big - 1] = 0;
        for (k = 254; k <= 257; k++) { /* up to 255 octets */
            big[k] = 0;
            cfg.hostname = big;
            smtp_client_init(&c, &cfg);
            CHECK((c.cfg.hostname == big) == (k <= 255));
            big[k] = 'a';
        }
    }
    CHECK_EQ(smtp_client_closed(&c), 0);
}

static const struct {
    const char *name;
    void (*fn)(void);
} tests[] = {
    {"secret_wiped_plain", test_secret_wiped_plain},
    {"secret_wiped_login", test_secret_wiped_login},
    {"secret_wiped_pumped", test_secret_wiped_pumped},
    {"abort_wipes", test_abort_wipes},
    {"body_in_place", test_body_in_place},
    {"body_lazy", test_body_lazy},
    {"bare_refuse_later", test_bare_refuse_later},
    {"output_spans", test_output_spans},
    {"output_spans_random", test_output_spans_random},
    {"bdat_bare_refuse", test_bdat_bare_refuse},
    {"bdat_in_place", test_bdat_in_place},
    {"end_at_once", test_end_at_once},
    {"rset_before_next_mail", test_rset_before_next_mail},
    {"bad_arguments", test_bad_arguments},
    {"back_pressure_and_end", test_back_pressure_and_end},
    {"protocol_error_quit", test_protocol_error_quit},
    {"names_and_defaults", test_names_and_defaults},
};

int main(void)
{
    size_t i;
    int passed = 0, failed = 0;
    for (i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        checks_failed = 0;
        tests[i].fn();
        if (checks_failed) {
            printf("FAIL %s (%d checks)\n", tests[i].name, checks_failed);
            failed++;
        } else {
            passed++;
        }
    }
    printf("cunit: %d passed, %d failed\n", passed, failed);
    return failed != 0;
}
