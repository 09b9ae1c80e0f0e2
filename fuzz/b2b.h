/*
 * b2b.h - the sender core wired to the receiver core in memory, back to
 * back, with no sockets (harness only: tests/b2b.c and fuzz/fuzz_b2b.c).
 *
 * b2b_run() runs one session: a client application sends each message of a
 * list (MAIL, its RCPTs, DATA or BDAT, the body in chunks, the end), then
 * QUIT; a receiver application takes every message, refusing the
 * recipients it is told to refuse.  The bytes go through two in-memory
 * pipes.  Every split is chosen by b2b_pick(): how much of each side's
 * output is acknowledged per call (partial smtp_output_done() and
 * smtp_client_output_done(); every other whole one in the body by
 * smtp_client_output_spans(), 1 to 5 spans), how much of the pipe each
 * side is fed, and the size of each smtp_client_body() chunk.
 *
 * The oracle, written from RFC 5321 4.5.2 / 2.3.8 and RFC 3030, not from
 * smtp.c: what the receiver hands out as EV_BODY for a message equals
 * b2b_expect() of the message, byte for byte:
 *   - over DATA: each bare CR and bare LF becomes CRLF, and CRLF is added
 *     when the message does not end with one (an empty message stays
 *     empty); dot-stuffing is invisible end to end;
 *   - over BDAT: the same line ends, nothing added;
 *   - BODY=BINARYMIME: the octets unchanged.
 * Also: every message with an accepted recipient arrives exactly once, a
 * message whose recipients were all refused never does; the verdicts are
 * 250 (554 over DATA for a line over 1000 octets, RFC 5321 4.5.3.1.6);
 * the receiver sees the recipients, BODY= and the count of accepted
 * recipients the client asked for; each event the client gets answers
 * what it did; nothing stalls; both sides end with QUIT / 221 and have
 * taken every byte the other sent.  B2B_TRACE=1 prints each side's events.
 */
#ifndef B2B_H
#define B2B_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../smtp.h"

#define B2B_MAX_MSGS 16
#define B2B_MAX_RCPTS 8
#define B2B_TEXT_LINE 1000 /* the receiver's max_text_line (the default) */

struct b2b_msg {
    const uint8_t *p; /* the message as the application hands it in */
    size_t n;
    uint8_t binary;   /* ask for BODY=BINARYMIME */
    uint8_t nrcpt;    /* 1..B2B_MAX_RCPTS recipients */
    uint8_t refuse;   /* bit i: the receiver refuses recipient i (550) */
};

struct b2b_cfg {
    uint32_t server_ext;  /* the receiver's smtp_config.extensions */
    uint32_t client_opts; /* SMTP_COPT_* */
    /* Split sizes: from table (fuzz; an entry 0 means "all of it", others
     * are multiplied by scale), or, with ntable 0, from a PRNG seeded with
     * seed, at most max_chunk (0: no cap) unless "all". */
    const uint8_t *table;
    size_t ntable;
    size_t scale;
    uint32_t seed;
    size_t max_chunk;
};

/* Counters over runs (the test says what it covered). */
struct b2b_stats {
    unsigned long sessions, msgs, data, bdat, binary, refused_all, long_line, pipelined;
    unsigned long long octets;
};

struct b2b_buf {
    uint8_t *p;
    size_t off, n, cap; /* live octets are p[off..n) */
};

enum b2b_mode { B2B_DATA, B2B_BDAT, B2B_BINARY };

enum b2b_phase {
    B2B_P_READY, /* waiting for CEV_READY */
    B2B_P_MAIL,
    B2B_P_RCPT,
    B2B_P_DATA,
    B2B_P_W354, /* DATA sent: waiting for CEV_DATA */
    B2B_P_BODY,
    B2B_P_END,
    B2B_P_WSENT, /* end sent: waiting for CEV_SENT */
    B2B_P_QUIT,
    B2B_P_WCLOSE /* QUIT sent: waiting for CEV_CLOSED */
};

struct b2b {
    const struct b2b_cfg *cfg;
    const struct b2b_msg *msgs;
    size_t nmsgs;
    struct smtp_client c;
    struct smtp_session s;
    struct b2b_buf c2s, s2c, got, exp;
    uint32_t rng;
    size_t ti[5];
    char why[400];
    int failed;
    /* the client application */
    int phase;
    size_t t;        /* the message being sent */
    unsigned sent;   /* RCPTs queued */
    unsigned replies; /* CEV_RCPTs seen */
    size_t pos;      /* body octets handed in */
    int binary;      /* this message goes BODY=BINARYMIME */
    int c_closed;
    unsigned spans;  /* every other whole acknowledgment: by smtp_client_output_spans() */
    /* the receiver application */
    size_t smail;    /* EV_MAILs seen: the message the receiver is on, +1 */
    unsigned srcpt;  /* EV_RCPTs of this transaction */
    int in_msg;
    int s_closed;
    int delivered[B2B_MAX_MSGS];
    unsigned verdict[B2B_MAX_MSGS]; /* the code of the client's CEV_SENT */
    struct b2b_stats *stats;
};

/* B2B_TRACE=1 prints every event of both sides. */
static int b2b_trace_on(void)
{
    static int on = -1;
    if (on < 0) {
        const char *e = getenv("B2B_TRACE");
        on = e != NULL && e[0] != '\0' && e[0] != '0';
    }
    return on;
}

static void b2b_fail(struct b2b *b, int line, const char *what)
{
    if (b->failed)
        return;
    b->failed = 1;
    snprintf(b->why, sizeof b->why, "b2b.h:%d: %s (message %lu of %lu, phase %d)", line, what,
             (unsigned long)b->t, (unsigned long)b->nmsgs, b->phase);
}

#define B2B_CHECK(cond, what)                                                  \
    do {                                                                       \
        if (!(cond)) {                                                         \
            b2b_fail(b, __LINE__, what " [" #cond "]");                        \
            return 0;                                                          \
        }                                                                      \
    } while (0)

static int b2b_put(struct b2b_buf *d, const void *p, size_t n)
{
    if (d->off > 0 && d->off == d->n)
        d->off = d->n = 0;
    if (d->n + n > d->cap) {
        size_t cap;
        uint8_t *q;
        if (d->off > 0) { /* consumed octets are never read again */
            memmove(d->p, d->p + d->off, d->n - d->off);
            d->n -= d->off;
            d->off = 0;
        }
        cap = d->n + n > d->cap ? (d->n + n) * 2 + 4096 : d->cap;
        if (cap != d->cap) {
            q = (uint8_t *)realloc(d->p, cap);
            if (q == NULL)
                return 0;
            d->p = q;
            d->cap = cap;
        }
    }
    if (n)
        memcpy(d->p + d->n, p, n);
    d->n += n;
    return 1;
}

static void b2b_buf_free(struct b2b_buf *d)
{
    free(d->p);
    memset(d, 0, sizeof *d);
}

/* The message as the receiver must hand it out (see the top), and the
 * longest line in it, CRLF included. */
static int b2b_expect(const uint8_t *p, size_t n, int mode, struct b2b_buf *out, size_t *longest)
{
    size_t i, line = 0;
    out->off = out->n = 0;
    *longest = 0;
    if (mode == B2B_BINARY)
        return b2b_put(out, p, n);
    for (i = 0; i < n; i++) {
        if (p[i] == '\r' || p[i] == '\n') {
            if (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n')
                i++;
            if (!b2b_put(out, "\r\n", 2))
                return 0;
            if (line + 2 > *longest)
                *longest = line + 2;
            line = 0;
        } else {
            if (!b2b_put(out, p + i, 1))
                return 0;
            line++;
        }
    }
    if (mode == B2B_DATA && line > 0) {
        if (!b2b_put(out, "\r\n", 2))
            return 0;
        if (line + 2 > *longest)
            *longest = line + 2;
    }
    return 1;
}

static uint32_t b2b_rand(uint32_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

/* A split size in 1..max (max 0: 0).  who: 0 client output, 1 receiver
 * feed, 2 receiver output, 3 client feed, 4 body chunk. */
static size_t b2b_pick(struct b2b *b, unsigned who, size_t max)
{
    size_t v;
    if (max <= 1)
        return max;
    if (b->cfg->ntable) {
        size_t idx = b->ti[who]++;
        uint8_t x = b->cfg->table[(idx + who * 3u) % b->cfg->ntable];
        if (x == 0)
            return max;
        v = (size_t)x * (b->cfg->scale ? b->cfg->scale : 1);
    } else {
        uint32_t r = b2b_rand(&b->rng);
        size_t cap = b->cfg->max_chunk ? b->cfg->max_chunk : max;
        switch (r & 7u) {
        case 0: v = 1; break;
        case 1: v = 1 + (r >> 3) % 16u; break;
        case 2:
        case 3: v = 1 + (r >> 3) % 600u; break;
        case 4: v = max; break;
        default: v = 1 + (size_t)(r >> 3) % cap; break;
        }
    }
    return v == 0 ? 1 : v > max ? max : v;
}

static unsigned b2b_accepted(const struct b2b_msg *m)
{
    unsigned k, n = 0;
    for (k = 0; k < m->nrcpt; k++)
        n += !((m->refuse >> k) & 1u);
    return n;
}

static int b2b_mode(const struct b2b *b, int binary)
{
    if (binary)
        return B2B_BINARY;
    return (b->cfg->server_ext & SMTP_EXT_CHUNKING) &&
                   !(b->cfg->client_opts & SMTP_COPT_NO_CHUNKING)
               ? B2B_BDAT
               : B2B_DATA;
}

/* BODY=BINARYMIME can be sent: BDAT is used and the receiver offers
 * BINARYMIME and the BODY parameter (8BITMIME, RFC 6152 / RFC 3030 3). */
static int b2b_binary_ok(const struct b2b *b)
{
    uint32_t need = SMTP_EXT_CHUNKING | SMTP_EXT_BINARYMIME | SMTP_EXT_8BITMIME;
    return (b->cfg->server_ext & need) == need && !(b->cfg->client_opts & SMTP_COPT_NO_CHUNKING);
}

static void b2b_rcpt_name(char *d, size_t cap, size_t t, unsigned k)
{
    snprintf(d, cap, "rcpt%u.m%lu@example.org", k, (unsigned long)t);
}

static void b2b_next(struct b2b *b)
{
    b->t++;
    b->phase = b->t < b->nmsgs ? B2B_P_MAIL : B2B_P_QUIT;
}

/* ------------------------------------------------ the client application */

static int b2b_app(struct b2b *b)
{
    int progress = 0;
    for (;;) {
        const struct b2b_msg *m = b->t < b->nmsgs ? &b->msgs[b->t] : NULL;
        size_t used = 12345;
        int r;
        switch (b->phase) {
        case B2B_P_MAIL: {
            struct smtp_mail_opts o;
            memset(&o, 0, sizeof o);
            b->binary = 0;
            if (m->binary) {
                o.body = SMTP_BODY_BINARYMIME;
                b->binary = b2b_binary_ok(b);
            }
            r = smtp_client_mail(&b->c, "sender@example.com", &o);
            if (r == SMTP_ERR_BUSY)
                return progress;
            if (m->binary && !b->binary) {
                B2B_CHECK(r == SMTP_ERR_EXT, "BINARYMIME accepted though not offered with BODY=");
                r = smtp_client_mail(&b->c, "sender@example.com", NULL);
            }
            B2B_CHECK(r == SMTP_OK, "smtp_client_mail() refused");
            b->phase = B2B_P_RCPT;
            b->sent = b->replies = 0;
            b->pos = 0;
            progress = 1;
            break;
        }
        case B2B_P_RCPT: {
            char to[64];
            b2b_rcpt_name(to, sizeof to, b->t, b->sent);
            r = smtp_client_rcpt(&b->c, to, 0, NULL);
            if (r == SMTP_ERR_BUSY)
                return progress;
            B2B_CHECK(r == SMTP_OK, "smtp_client_rcpt() refused");
            if (++b->sent == m->nrcpt)
                b->phase = B2B_P_DATA;
            progress = 1;
            break;
        }
        case B2B_P_DATA:
            r = smtp_client_data(&b->c);
            if (r == SMTP_ERR_BUSY)
                return progress;
            progress = 1;
            if (r == SMTP_ERR_NORCPT) {
                B2B_CHECK(b2b_accepted(m) == 0, "ERR_NORCPT with a recipient accepted");
                B2B_CHECK(b->replies == m->nrcpt, "ERR_NORCPT before every RCPT reply");
                b2b_next(b);
                break;
            }
            B2B_CHECK(r == SMTP_OK, "smtp_client_data() refused");
            b->phase = b2b_mode(b, b->binary) == B2B_DATA ? B2B_P_W354 : B2B_P_BODY;
            break;
        case B2B_P_W354:
            r = smtp_client_body(&b->c, "x", 1, &used);
            B2B_CHECK(r == SMTP_ERR_BUSY && used == 0, "body taken before the 354");
            return progress;
        case B2B_P_BODY: {
            size_t k;
            if (b->pos == m->n) {
                b->phase = B2B_P_END;
                break;
            }
            k = b2b_pick(b, 4, m->n - b->pos);
            r = smtp_client_body(&b->c, m->p + b->pos, k, &used);
            if (r == SMTP_ERR_BUSY) {
                B2B_CHECK(used == 0, "ERR_BUSY but body octets taken");
                return progress;
            }
            B2B_CHECK(r == SMTP_OK, "smtp_client_body() refused");
            B2B_CHECK(used > 0 && used <= k, "smtp_client_body() took no octet, or too many");
            b->pos += used;
            progress = 1;
            break;
        }
        case B2B_P_END:
            r = smtp_client_end(&b->c);
            if (r == SMTP_ERR_BUSY)
                return progress;
            B2B_CHECK(r == SMTP_OK, "smtp_client_end() refused");
            b->phase = B2B_P_WSENT;
            progress = 1;
            break;
        case B2B_P_QUIT:
            r = smtp_client_quit(&b->c);
            if (r == SMTP_ERR_BUSY)
                return progress;
            B2B_CHECK(r == SMTP_OK, "smtp_client_quit() refused");
            b->phase = B2B_P_WCLOSE;
            return 1;
        default:
            return progress;
        }
    }
}

static int b2b_client_event(struct b2b *b, int st, const union smtp_cevent *ev)
{
    const struct b2b_msg *m = b->t < b->nmsgs ? &b->msgs[b->t] : NULL;
    unsigned code = ev->any.reply.code;
    if (b2b_trace_on())
        fprintf(stderr, "client %s %u %.*s (t %lu phase %d)\n", smtp_client_event_name(st), code,
                (int)ev->any.reply.text.len, ev->any.reply.text.ptr, (unsigned long)b->t, b->phase);
    switch (st) {
    case SMTP_CEV_READY:
        B2B_CHECK(b->phase == B2B_P_READY && code == 250, "CEV_READY out of place");
        b->phase = b->nmsgs ? B2B_P_MAIL : B2B_P_QUIT;
        return 1;
    case SMTP_CEV_MAIL:
        B2B_CHECK(m != NULL && code == 250, "MAIL not accepted");
        return 1;
    case SMTP_CEV_RCPT: {
        int refused = m != NULL && ((m->refuse >> b->replies) & 1u);
        B2B_CHECK(m != NULL && ev->rcpt.index == b->replies && b->replies < b->sent,
                  "CEV_RCPT for a recipient not sent, or out of order");
        B2B_CHECK(refused ? code == 550 && ev->rcpt.result == SMTP_RCPT_PERM
                          : code == 250 && ev->rcpt.result == SMTP_RCPT_OK,
                  "CEV_RCPT result is not the receiver's decision");
        b->replies++;
        return 1;
    }
    case SMTP_CEV_DATA:
        B2B_CHECK(m != NULL && b->phase == B2B_P_W354, "CEV_DATA without DATA");
        if (code == 354) {
            B2B_CHECK(b2b_accepted(m) > 0, "354 with every recipient refused");
            b->phase = B2B_P_BODY;
        } else {
            B2B_CHECK(b2b_accepted(m) == 0 && code == 554, "DATA refused with a recipient accepted");
            b2b_next(b);
        }
        return 1;
    case SMTP_CEV_SENT:
        B2B_CHECK(m != NULL && b->phase == B2B_P_WSENT, "CEV_SENT before the end of the data");
        b->verdict[b->t] = code;
        b2b_next(b);
        return 1;
    case SMTP_CEV_RSET:
        B2B_CHECK(code == 250, "RSET not accepted");
        return 1;
    case SMTP_CEV_CLOSED:
        B2B_CHECK(b->phase == B2B_P_WCLOSE && ev->closed.why == SMTP_WHY_QUIT && code == 221,
                  "session closed before QUIT");
        b->c_closed = 1;
        return 1;
    default:
        break;
    }
    B2B_CHECK(0, "unexpected client event");
    return 0;
}

/* -------------------------------------------- the receiver application */

static int b2b_server_event(struct b2b *b, int st, const union smtp_event *ev)
{
    const struct b2b_msg *m = b->smail > 0 && b->smail <= b->nmsgs ? &b->msgs[b->smail - 1] : NULL;
    if (b2b_trace_on())
        fprintf(stderr, "server %s\n", smtp_event_name(st));
    switch (st) {
    case SMTP_EV_MAIL:
        B2B_CHECK(b->smail < b->nmsgs, "more transactions than messages");
        m = &b->msgs[b->smail++];
        B2B_CHECK(ev->mail.path.mailbox.len == 18 &&
                      memcmp(ev->mail.path.mailbox.ptr, "sender@example.com", 18) == 0,
                  "MAIL with another reverse-path");
        B2B_CHECK((ev->mail.body == SMTP_BODY_BINARYMIME) == (m->binary && b2b_binary_ok(b)),
                  "BODY=BINARYMIME not as asked");
        b->srcpt = 0;
        b->in_msg = 0;
        return 1;
    case SMTP_EV_RCPT: {
        char to[64];
        B2B_CHECK(m != NULL && b->srcpt < m->nrcpt, "more RCPTs than recipients");
        b2b_rcpt_name(to, sizeof to, b->smail - 1, b->srcpt);
        B2B_CHECK(ev->rcpt.path.mailbox.len == strlen(to) &&
                      memcmp(ev->rcpt.path.mailbox.ptr, to, strlen(to)) == 0,
                  "RCPT with another forward-path");
        if ((m->refuse >> b->srcpt) & 1u)
            B2B_CHECK(smtp_reply(&b->s, 550, NULL, "no such user") == SMTP_OK, "smtp_reply(550)");
        b->srcpt++;
        return 1;
    }
    case SMTP_EV_DATA:
    case SMTP_EV_BDAT:
        B2B_CHECK(m != NULL && b2b_accepted(m) > 0, "data for a message nobody takes");
        if (!b->in_msg)
            b->got.off = b->got.n = 0;
        b->in_msg = 1;
        return 1;
    case SMTP_EV_BODY:
        B2B_CHECK(b->in_msg, "EV_BODY outside a message");
        B2B_CHECK(b2b_put(&b->got, ev->body.data.ptr, ev->body.data.len), "out of memory");
        return 1;
    case SMTP_EV_DATA_END: {
        size_t i = b->smail - 1, longest = 0;
        int mode;
        B2B_CHECK(m != NULL && b->in_msg, "EV_DATA_END outside a message");
        mode = b2b_mode(b, m->binary && b2b_binary_ok(b));
        B2B_CHECK(b2b_expect(m->p, m->n, mode, &b->exp, &longest), "out of memory");
        B2B_CHECK(b->got.n == b->exp.n, "the receiver got another length than expected");
        B2B_CHECK(b->exp.n == 0 || memcmp(b->got.p, b->exp.p, b->exp.n) == 0,
                  "the receiver got other octets than expected");
        B2B_CHECK(ev->end.size == b->exp.n && ev->end.rcpts == b2b_accepted(m),
                  "EV_DATA_END size or recipient count");
        B2B_CHECK(ev->end.reject == (mode == B2B_DATA && longest > B2B_TEXT_LINE
                                         ? SMTP_REJECT_LONG_LINE
                                         : SMTP_REJECT_NONE),
                  "EV_DATA_END verdict");
        b->delivered[i]++;
        b->in_msg = 0;
        if (b->stats) {
            b->stats->msgs++;
            b->stats->octets += b->exp.n;
            if (mode == B2B_DATA)
                b->stats->data++;
            else if (mode == B2B_BDAT)
                b->stats->bdat++;
            else
                b->stats->binary++;
            if (mode == B2B_DATA && longest > B2B_TEXT_LINE)
                b->stats->long_line++;
        }
        return 1;
    }
    case SMTP_EV_QUIT:
        B2B_CHECK(b->phase == B2B_P_WCLOSE, "QUIT before the client asked for it");
        return 1;
    case SMTP_EV_CONNECT:
    case SMTP_EV_EHLO:
    case SMTP_EV_RSET:
        return 1;
    default:
        break;
    }
    B2B_CHECK(0, "unexpected receiver event");
    return 0;
}

/* ------------------------------------------------------- the two pipes */

static int b2b_client_out(struct b2b *b)
{
    size_t len = 0, k;
    const char *o = smtp_client_output(&b->c, &len);
    if (len == 0) {
        B2B_CHECK(o == NULL, "smtp_client_output(): length 0 but a pointer");
        return 0;
    }
    B2B_CHECK(o != NULL, "smtp_client_output(): a length but no pointer");
    k = b2b_pick(b, 0, len);
    if (k == len && (++b->spans & 1u)) { /* in the body, a writev() of 1 to 5 spans */
        struct smtp_span v[5];
        size_t n = smtp_client_output_spans(&b->c, v, 1 + (len + b->spans / 2) % 5), i;
        B2B_CHECK(n == 0 || (v[0].ptr == o && v[0].len == len),
                  "smtp_client_output_spans(): not the output's first span");
        for (i = 0; i < n; i++) {
            B2B_CHECK(v[i].ptr != NULL && v[i].len > 0, "smtp_client_output_spans(): empty span");
            B2B_CHECK(b2b_put(&b->c2s, v[i].ptr, v[i].len), "out of memory");
        }
        if (n)
            return 1;
    }
    B2B_CHECK(b2b_put(&b->c2s, o, k), "out of memory");
    smtp_client_output_done(&b->c, k);
    return 1;
}

static int b2b_server_out(struct b2b *b)
{
    size_t len = 0, k;
    const char *o = smtp_output(&b->s, &len);
    if (len == 0)
        return 0;
    B2B_CHECK(o != NULL && len <= SMTP_REPLY_MAX, "smtp_output()");
    k = b2b_pick(b, 2, len);
    B2B_CHECK(b2b_put(&b->s2c, o, k), "out of memory");
    smtp_output_done(&b->s, k);
    return 1;
}

static int b2b_server_step(struct b2b *b)
{
    size_t avail = b->c2s.n - b->c2s.off, k, used = 99999;
    union smtp_event ev;
    int st, progress = 0;
    if (!b->s_closed) {
        k = b2b_pick(b, 1, avail);
        st = smtp_feed(&b->s, k ? b->c2s.p + b->c2s.off : NULL, k, &used, &ev);
        B2B_CHECK(used <= k, "smtp_feed() took more than offered");
        b->c2s.off += used;
        progress = used > 0 || st > 0;
        if (st == SMTP_NEED_INPUT)
            B2B_CHECK(used == k, "NEED_INPUT with octets left");
        if (st == SMTP_CLOSED) {
            B2B_CHECK(b->phase == B2B_P_WCLOSE, "the receiver closed the session");
            b->s_closed = 1;
            progress = 1;
        } else if (st > 0) {
            b2b_server_event(b, st, &ev);
        } else {
            B2B_CHECK(st == SMTP_NEED_INPUT || st == SMTP_WANT_WRITE, "smtp_feed() status");
        }
    }
    if (!b->failed)
        progress |= b2b_server_out(b);
    return progress;
}

static int b2b_client_step(struct b2b *b)
{
    size_t avail = b->s2c.n - b->s2c.off, k = b2b_pick(b, 3, avail), used = 99999;
    union smtp_cevent ev;
    int st;
    memset(&ev, 0x5a, sizeof ev);
    st = smtp_client_feed(&b->c, k ? b->s2c.p + b->s2c.off : NULL, k, &used, &ev);
    B2B_CHECK(used <= k, "smtp_client_feed() took more than offered");
    b->s2c.off += used;
    if (st == SMTP_NEED_INPUT)
        B2B_CHECK(used == k, "NEED_INPUT with octets left");
    else if (st == SMTP_CLOSED)
        B2B_CHECK(b->c_closed, "SMTP_CLOSED without CEV_CLOSED");
    else if (st > 0)
        b2b_client_event(b, st, &ev);
    else
        B2B_CHECK(st == SMTP_WANT_WRITE, "smtp_client_feed() status");
    return used > 0 || st > 0;
}

/* Runs one session; returns 1 when every property held, else 0 with the
 * reason in b->why.  b2b_done() frees what it used. */
static int b2b_run(struct b2b *b, const struct b2b_cfg *cfg, const struct b2b_msg *msgs,
                   size_t nmsgs, struct b2b_stats *stats)
{
    struct smtp_config sc;
    struct smtp_client_config cc;
    unsigned long idle = 0, rounds = 0;
    size_t i;
    memset(b, 0, sizeof *b);
    b->cfg = cfg;
    b->msgs = msgs;
    b->nmsgs = nmsgs;
    b->stats = stats;
    b->rng = cfg->seed * 2654435761u + 0x9e3779b9u;
    if (b->rng == 0)
        b->rng = 1;
    B2B_CHECK(nmsgs <= B2B_MAX_MSGS, "harness: too many messages");
    for (i = 0; i < nmsgs; i++)
        B2B_CHECK(msgs[i].nrcpt >= 1 && msgs[i].nrcpt <= B2B_MAX_RCPTS, "harness: recipients");
    smtp_config_default(&sc);
    sc.hostname = "mx.example.org";
    sc.extensions = cfg->server_ext;
    sc.max_errors = 0xffff;
    smtp_init(&b->s, &sc);
    smtp_client_config_default(&cc);
    cc.hostname = "client.example.com";
    cc.options = cfg->client_opts;
    smtp_client_init(&b->c, &cc);
    if (stats) {
        stats->sessions++;
        if ((cfg->server_ext & SMTP_EXT_PIPELINING) && !(cfg->client_opts & SMTP_COPT_NO_PIPELINING))
            stats->pipelined++;
    }
    while (!b->failed) {
        int progress = 0;
        progress |= b2b_app(b);
        if (!b->failed)
            progress |= b2b_client_out(b);
        if (!b->failed)
            progress |= b2b_server_step(b);
        if (!b->failed)
            progress |= b2b_client_step(b);
        if (b->failed)
            break;
        if (b->c_closed && b->s_closed && b->c2s.off == b->c2s.n && b->s2c.off == b->s2c.n) {
            size_t len;
            (void)smtp_output(&b->s, &len);
            if (len == 0 && smtp_client_output(&b->c, &len) == NULL)
                break;
        }
        idle = progress ? 0 : idle + 1;
        B2B_CHECK(idle < 64, "stalled: 64 rounds without progress");
        B2B_CHECK(++rounds < 50000000ul, "too many rounds");
    }
    if (b->failed)
        return 0;
    for (i = 0; i < nmsgs; i++) {
        size_t longest = 0;
        int mode = b2b_mode(b, msgs[i].binary && b2b_binary_ok(b));
        b->t = i;
        if (b2b_accepted(&msgs[i]) == 0) {
            B2B_CHECK(b->delivered[i] == 0 && b->verdict[i] == 0, "delivered with no recipient");
            if (stats)
                stats->refused_all++;
            continue;
        }
        B2B_CHECK(b->delivered[i] == 1, "not delivered exactly once");
        B2B_CHECK(b2b_expect(msgs[i].p, msgs[i].n, mode, &b->exp, &longest), "out of memory");
        B2B_CHECK(b->verdict[i] == (mode == B2B_DATA && longest > B2B_TEXT_LINE ? 554u : 250u),
                  "the client's verdict is not the receiver's");
    }
    B2B_CHECK(b->smail == nmsgs, "the receiver saw another number of transactions");
    return 1;
}

static void b2b_done(struct b2b *b)
{
    b2b_buf_free(&b->c2s);
    b2b_buf_free(&b->s2c);
    b2b_buf_free(&b->got);
    b2b_buf_free(&b->exp);
}

#endif /* B2B_H */
