/*
 * fuzz_common.h - shared pieces of the smtp.c fuzz targets (harness only).
 *
 * Every target is a plain LLVMFuzzerTestOneInput() that builds for libFuzzer,
 * AFL++ and the plain replay main (fuzz/replay_main.c).  This header holds
 * what the targets share, all `static` so that each target stays one
 * translation unit:
 *   - fz_fail():     report a broken property and abort();
 *   - fz_config():   the leading input bytes choose options and limits;
 *   - struct fz_app: a deterministic "application" that answers decisions
 *                    (defaults, explicit codes, bogus codes, deferrals);
 *   - struct fz_rp:  a reply-stream checker (RFC 5321 4.2 / 4.5.3.1.5);
 *   - fz_ref_data(): the deliberately naive DATA reference;
 *   - fz_drive():    the feed / event / output loop with its invariants.
 *
 * Nothing here reads smtp.c's private fields except to check that event
 * spans point into the session's line buffer.  No globals are written while
 * an input runs (persistent mode), except the trace flag read once.
 */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../smtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ------------------------------------------------------------------ trace */

/* SMTP_FUZZ_TRACE=1 prints every feed, event and reply (make repro). */
static inline int fz_trace_on(void)
{
    static int on = -1;
    if (on < 0) {
        const char *e = getenv("SMTP_FUZZ_TRACE");
        on = (e != NULL && e[0] != '\0' && e[0] != '0');
    }
    return on;
}

static inline void fz_dump(const char *tag, const void *p, size_t n)
{
    const unsigned char *b = (const unsigned char *)p;
    size_t i;
    if (!fz_trace_on())
        return;
    fprintf(stderr, "%s [%lu] \"", tag, (unsigned long)n);
    for (i = 0; i < n && i < 600; i++) {
        unsigned c = b[i];
        if (c == '\r')
            fputs("\\r", stderr);
        else if (c == '\n')
            fputs("\\n", stderr);
        else if (c == '\\' || c == '"')
            fprintf(stderr, "\\%c", (int)c);
        else if (c < 32 || c > 126)
            fprintf(stderr, "\\x%02x", c);
        else
            fputc((int)c, stderr);
    }
    fprintf(stderr, "%s\"\n", i < n ? "..." : "");
}

#define FZ_TRACE(...)                                                          \
    do {                                                                       \
        if (fz_trace_on())                                                     \
            fprintf(stderr, __VA_ARGS__);                                      \
    } while (0)

static inline void fz_fail(const char *file, int line, const char *what)
{
    fprintf(stderr, "\n*** PROPERTY VIOLATED (%s:%d): %s\n", file, line, what);
    fflush(stderr);
    abort();
}

#define FZ_CHECK(cond, what)                                                   \
    do {                                                                       \
        if (!(cond))                                                           \
            fz_fail(__FILE__, __LINE__, what " [" #cond "]");                  \
    } while (0)

#ifndef FZ_PASS_NULL
#define FZ_PASS_NULL 1
#endif

/* ---------------------------------------------------------- mode bytes */

/* Byte 0 of every session-driving input. */
#define FZ_LF_LINES 0x01u   /* SMTP_OPT_LF_LINES */
#define FZ_BARE_KEEP 0x02u  /* SMTP_OPT_BARE_KEEP */
#define FZ_BARE_NORM 0x04u  /* SMTP_OPT_BARE_NORMALIZE */
#define FZ_SEND 0x08u       /* SMTP_OPT_SEND */
#define FZ_NO_ESMTP 0x10u   /* SMTP_OPT_NO_ESMTP */
#define FZ_TINY 0x20u       /* tiny runtime limits */
#define FZ_DEFER 0x40u      /* the app may defer decisions */
#define FZ_REJECT 0x80u     /* the app answers, rejects RCPT to G... */
/* Byte 1. */
#define FZ_SIZE_MASK 0x03u  /* max_size: none, 64, 1000, 100000 */
#define FZ_HOST_SHIFT 2     /* hostname: default, plain, control, 300 */
#define FZ_EXT_SHIFT 4      /* extensions: default, minimal, no ENH, seed */
#define FZ_NOERRMAX 0x40u   /* max_errors 0xffff */
#define FZ_SHUTDOWN 0x80u   /* the app may call smtp_shutdown() */

struct fz_cfg {
    struct smtp_config cfg;
    unsigned b0, b1;
    uint32_t seed;
};

static const char fz_host_ctl[] = "mx\r\n250 evil\x01\x7f.example";
static const char fz_host_long[] =
    "h123456789.h123456789.h123456789.h123456789.h123456789.h123456789."
    "h123456789.h123456789.h123456789.h123456789.h123456789.h123456789."
    "h123456789.h123456789.h123456789.h123456789.h123456789.h123456789."
    "h123456789.h123456789.h123456789.h123456789.h123456789.h123456789."
    "h123456789.h123456789.h123456789.h123456789.h123456789.h1234";

/* Reads 3 bytes (b0, b1, seed) when present; returns how many it took. */
static inline size_t fz_config_ext(const uint8_t *d, size_t n, struct fz_cfg *c, int all_ext);

/* fz_config: the extensions fuzz_server's oracle models (SMTP_EXT_DEFAULT
 * subsets).  fz_config_ext(..., 1): extension mode 3 also turns on
 * CHUNKING, BINARYMIME, STARTTLS, AUTH and DSN, chosen by the seed byte. */
static inline size_t fz_config(const uint8_t *d, size_t n, struct fz_cfg *c)
{
    return fz_config_ext(d, n, c, 0);
}

static inline size_t fz_config_ext(const uint8_t *d, size_t n, struct fz_cfg *c, int all_ext)
{
    size_t k = n < 3 ? n : 3;
    memset(c, 0, sizeof *c);
    c->b0 = k > 0 ? d[0] : 0;
    c->b1 = k > 1 ? d[1] : 0;
    c->seed = k > 2 ? d[2] : 0;
    smtp_config_default(&c->cfg);
    c->cfg.options = 0;
    if (c->b0 & FZ_LF_LINES)
        c->cfg.options |= SMTP_OPT_LF_LINES;
    if (c->b0 & FZ_BARE_KEEP)
        c->cfg.options |= SMTP_OPT_BARE_KEEP;
    if (c->b0 & FZ_BARE_NORM)
        c->cfg.options |= SMTP_OPT_BARE_NORMALIZE;
    if (c->b0 & FZ_SEND)
        c->cfg.options |= SMTP_OPT_SEND;
    if (c->b0 & FZ_NO_ESMTP)
        c->cfg.options |= SMTP_OPT_NO_ESMTP;
    if (c->b0 & FZ_TINY) {
        c->cfg.max_line = 64;
        c->cfg.max_rcpt = 2;
        c->cfg.max_text_line = 16;
        c->cfg.max_errors = 3;
    }
    if (c->b1 & FZ_NOERRMAX)
        c->cfg.max_errors = 0xffff;
    switch (c->b1 & FZ_SIZE_MASK) {
    case 1: c->cfg.max_size = 64; break;
    case 2: c->cfg.max_size = 1000; break;
    case 3: c->cfg.max_size = 100000; break;
    default: c->cfg.max_size = 0; break;
    }
    switch ((c->b1 >> FZ_HOST_SHIFT) & 3u) {
    case 1: c->cfg.hostname = "mx.example.org"; break;
    case 2: c->cfg.hostname = fz_host_ctl; break;
    case 3: c->cfg.hostname = fz_host_long; break;
    default: c->cfg.hostname = NULL; break; /* NULL: "localhost" */
    }
    if (!(c->b0 & FZ_TINY) && !(c->b1 & FZ_NOERRMAX))
        c->cfg.max_errors = 0; /* zero means the default (10) */
    switch ((c->b1 >> FZ_EXT_SHIFT) & 3u) {
    case 1: c->cfg.extensions = SMTP_EXT_PIPELINING; break;
    case 2: c->cfg.extensions = SMTP_EXT_DEFAULT & ~(uint32_t)SMTP_EXT_ENHANCEDSTATUSCODES; break;
    case 3:
        if (all_ext) {
            c->cfg.extensions = SMTP_EXT_DEFAULT | ((c->seed & 0x1fu) << 6);
            if (c->seed & 0x20u)
                c->cfg.options |= SMTP_OPT_AUTH_PLAINTEXT;
            if (c->seed & 0x40u)
                c->cfg.options |= SMTP_OPT_REQUIRE_TLS;
        } else {
            c->cfg.extensions = (c->seed & 0x3fu) | 1u;
        }
        break;
    default: break;
    }
    if (!all_ext && (c->seed & 0x40u)) /* the bit all_ext uses for REQUIRE_TLS */
        c->cfg.options |= SMTP_OPT_TURN;
    if (c->seed & 0x80u) /* the seed's top bit: no extension mode uses it */
        c->cfg.options |= SMTP_OPT_STRICT_SPACES;
    return k;
}

/* Effective limits after smtp_init's clamping ("zero means the default"). */
static inline unsigned fz_max_line(const struct smtp_config *c)
{
    return c->max_line == 0 || c->max_line > SMTP_LINE_MAX ? SMTP_LINE_MAX : c->max_line;
}
static inline unsigned fz_max_rcpt(const struct smtp_config *c)
{
    return c->max_rcpt == 0 || c->max_rcpt > SMTP_RCPT_MAX ? SMTP_RCPT_MAX : c->max_rcpt;
}
static inline unsigned long fz_max_text(const struct smtp_config *c)
{
    return c->max_text_line == 0 || c->max_text_line > SMTP_TEXT_LINE_MAX
               ? SMTP_TEXT_LINE_MAX
               : c->max_text_line;
}
static inline uint32_t fz_exts(const struct smtp_config *c)
{
    return c->extensions == 0 ? (uint32_t)SMTP_EXT_DEFAULT : c->extensions;
}

/* ---------------------------------------------------- the application */

struct fz_app {
    uint32_t rng;
    unsigned flags;      /* FZ_DEFER, FZ_REJECT, FZ_SHUTDOWN (b1 << 8) */
    int pending;         /* a decision event waits for us */
    int pending_type;
    int deferred;        /* smtp_defer() called: answer after one feed */
    unsigned defer_code;
    int expect;          /* code the next reply must carry, or -1 */
    int shut_now;        /* smtp_shutdown(s, 1) was called */
    int shut_later;      /* smtp_shutdown(s, 0) was called */
};

static inline uint32_t fz_rand(struct fz_app *a)
{
    /* xorshift32; the seed byte is spread so that 0 is not a fixed point */
    uint32_t x = a->rng;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    a->rng = x;
    return x;
}

static inline void fz_app_init(struct fz_app *a, const struct fz_cfg *c)
{
    memset(a, 0, sizeof *a);
    a->rng = 0x9e3779b9u ^ (c->seed * 0x01000193u);
    a->flags = (c->b0 & (FZ_DEFER | FZ_REJECT)) | ((c->b1 & FZ_SHUTDOWN) << 8);
    a->expect = -1;
}

/* Candidate codes per decision event: the tables' codes plus codes no table
 * allows for the event (smtp_reply() must refuse those with ERR_CODE). */
static const unsigned short fz_codes_connect[] = {220, 554, 421, 250, 0, 999};
static const unsigned short fz_codes_helo[] = {250, 504, 550, 501, 421, 502, 220, 354};
static const unsigned short fz_codes_mail[] = {250, 552, 451, 452, 550, 553, 503, 455,
                                               555, 501, 421, 251, 354, 199, 600};
static const unsigned short fz_codes_rcpt[] = {250, 251, 550, 551, 552, 553, 450, 451,
                                               452, 503, 455, 555, 501, 421, 354, 220};
static const unsigned short fz_codes_data[] = {354, 451, 554, 503, 421, 250, 221};
static const unsigned short fz_codes_end[] = {250, 552, 554, 451, 452, 450, 550, 421, 354, 251};
static const unsigned short fz_codes_vrfy[] = {250, 251, 252, 550, 551, 553, 502, 504, 421, 214};
static const unsigned short fz_codes_expn[] = {250, 252, 550, 500, 502, 504, 421, 251};
static const unsigned short fz_codes_help[] = {211, 214, 502, 504, 421, 250};
static const unsigned short fz_codes_turn[] = {250, 502, 421, 453, 354};

static const char *const fz_texts[] = {
    "OK", "Line one\nLine two\nLine three", "ctl\r\n250 injected\x01\x7f\ttab",
    "", "\n\n",
    /* longer than one reply line: must be cut, never overflow */
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
    "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy"
    "\nsecond line",
    /* many short lines: more than the reply buffer holds, so the reply is
     * cut between lines, each kept with its code and enhanced code whole */
    "line 01 abcdefghijklmnopqrstuvwxyz\nline 02 abcdefghijklmnopqrstuvwxyz\n"
    "line 03 abcdefghijklmnopqrstuvwxyz\nline 04 abcdefghijklmnopqrstuvwxyz\n"
    "line 05 abcdefghijklmnopqrstuvwxyz\nline 06 abcdefghijklmnopqrstuvwxyz\n"
    "line 07 abcdefghijklmnopqrstuvwxyz\nline 08 abcdefghijklmnopqrstuvwxyz\n"
    "line 09 abcdefghijklmnopqrstuvwxyz\nline 10 abcdefghijklmnopqrstuvwxyz\n"
    "line 11 abcdefghijklmnopqrstuvwxyz\nline 12 abcdefghijklmnopqrstuvwxyz\n"
    "line 13 abcdefghijklmnopqrstuvwxyz\nline 14 abcdefghijklmnopqrstuvwxyz\n"
    "line 15 abcdefghijklmnopqrstuvwxyz\nline 16 abcdefghijklmnopqrstuvwxyz\n"
    "line 17 abcdefghijklmnopqrstuvwxy"};

static inline int fz_reply(struct fz_app *a, struct smtp_session *s, unsigned code)
{
    static const char *const enh[] = {NULL, NULL, "2.0.0", "3.0.0", "4.7.1", "5.7.1"};
    /* malformed or wrong-class enhanced codes: the core must not send them */
    static const char *const bad_enh[] = {"9.9.9", "5.1", "2.0.0.0", "4.7.1000", "x.y.z", "",
                                          "5.7.1", "2.1.0"};
    const char *e = NULL, *text = NULL;
    size_t before, after;
    uint32_t r = fz_rand(a);
    int rc;
    if ((r & 3u) == 1 && code >= 200 && code < 600)
        e = enh[code / 100];
    else if ((r & 3u) == 2)
        e = bad_enh[(r >> 12) % (sizeof bad_enh / sizeof bad_enh[0])];
    if ((r >> 2) & 1u)
        text = fz_texts[(r >> 3) % (sizeof fz_texts / sizeof fz_texts[0])];
    (void)smtp_output(s, &before);
    rc = smtp_reply(s, code, e, text);
    (void)smtp_output(s, &after);
    FZ_TRACE("app: smtp_reply(%u) -> %d (%s)\n", code, rc, smtp_err_name(rc));
    FZ_CHECK(rc == SMTP_OK || rc == SMTP_ERR_CODE || rc == SMTP_ERR_STATE,
             "smtp_reply returned an undocumented value");
    if (rc == SMTP_OK) {
        a->expect = (int)code;
        a->pending = 0;
    } else {
        FZ_CHECK(after == before, "a refused smtp_reply() changed the output");
    }
    return rc;
}

/* Decides on the event just returned.  Called before the output is taken. */
static inline void fz_app_event(struct fz_app *a, struct smtp_session *s, const union smtp_event *ev)
{
    const unsigned short *codes = NULL;
    size_t nc = 0;
    uint32_t r;
    a->expect = -1;
    a->pending = 0;
    /* smtp.h says which events wait for an answer: nothing is re-derived */
    FZ_CHECK((smtp_awaiting(s) == ev->type) ==
                 (smtp_event_default(ev->type) != 0 &&
                  !(ev->type == SMTP_EV_DATA_END && ev->end.reject != SMTP_REJECT_NONE)),
             "smtp_awaiting() disagrees with smtp_event_default() and end.reject");
    if (smtp_awaiting(s) != ev->type) {
        /* Nothing waits: smtp_reply() must say so and change nothing. */
        if (ev->type != SMTP_EV_BODY || (a->rng & 7u) == 0) {
            size_t before, after;
            int rc;
            (void)smtp_output(s, &before);
            rc = smtp_reply(s, 250, NULL, NULL);
            (void)smtp_output(s, &after);
            FZ_CHECK(rc == SMTP_ERR_STATE, "smtp_reply() accepted with no decision waiting");
            FZ_CHECK(after == before, "a refused smtp_reply() changed the output");
            FZ_CHECK(smtp_defer(s) == SMTP_ERR_STATE, "smtp_defer() with no decision waiting");
        }
        if ((a->flags & (FZ_SHUTDOWN << 8)) &&
            (ev->type == SMTP_EV_NOOP || ev->type == SMTP_EV_RSET)) {
            r = fz_rand(a);
            if ((r & 3u) == 0) {
                int now = (int)((r >> 2) & 1u);
                FZ_TRACE("app: smtp_shutdown(%d)\n", now);
                smtp_shutdown(s, now, (int)((r >> 3) % 4u)); /* 3: unknown, as SHUTDOWN */
                if (now)
                    a->shut_now = 1;
                else
                    a->shut_later = 1;
            }
        }
        return;
    }
    a->pending = 1;
    a->pending_type = ev->type;
    if (ev->type == SMTP_EV_RCPT && (a->flags & FZ_REJECT) && ev->rcpt.path.local.len > 0 &&
        (ev->rcpt.path.local.ptr[0] == 'G' || ev->rcpt.path.local.ptr[0] == 'g')) {
        (void)fz_reply(a, s, 550);
        return;
    }
    r = fz_rand(a);
    if (ev->type == SMTP_EV_STARTTLS) {
        /* always answered at once, so that smtp_tls_done() follows the 220
         * at the same point however the input is split */
        if (fz_reply(a, s, (r & 7u) == 0 ? 454u : 220u) == SMTP_OK && a->expect == 220)
            FZ_CHECK(smtp_tls_done(s) == SMTP_OK, "smtp_tls_done() refused after 220");
        return;
    }
    if (ev->type == SMTP_EV_AUTH) {
        static const unsigned short ac[] = {235, 535, 454, 534, 250};
        (void)fz_reply(a, s, ac[(r >> 3) % 5]);
        return;
    }
    if (!(a->flags & (FZ_DEFER | FZ_REJECT)))
        return; /* plain server: every default */
    if ((r & 3u) <= 1u)
        return; /* default reply on the next feed */
    switch (ev->type) {
    case SMTP_EV_CONNECT: codes = fz_codes_connect; nc = sizeof fz_codes_connect / 2; break;
    case SMTP_EV_HELO: case SMTP_EV_EHLO: codes = fz_codes_helo; nc = sizeof fz_codes_helo / 2; break;
    case SMTP_EV_MAIL: codes = fz_codes_mail; nc = sizeof fz_codes_mail / 2; break;
    case SMTP_EV_RCPT: codes = fz_codes_rcpt; nc = sizeof fz_codes_rcpt / 2; break;
    case SMTP_EV_DATA: codes = fz_codes_data; nc = sizeof fz_codes_data / 2; break;
    case SMTP_EV_DATA_END: codes = fz_codes_end; nc = sizeof fz_codes_end / 2; break;
    case SMTP_EV_VRFY: codes = fz_codes_vrfy; nc = sizeof fz_codes_vrfy / 2; break;
    case SMTP_EV_EXPN: codes = fz_codes_expn; nc = sizeof fz_codes_expn / 2; break;
    case SMTP_EV_TURN: codes = fz_codes_turn; nc = sizeof fz_codes_turn / 2; break;
    default: codes = fz_codes_help; nc = sizeof fz_codes_help / 2; break;
    }
    /* Mostly the first (positive) code, so that sessions get far. */
    {
        unsigned code = ((r >> 2) & 1u) ? codes[0] : codes[(r >> 3) % nc];
        if ((a->flags & FZ_DEFER) && ((r >> 8) & 1u)) {
            FZ_CHECK(smtp_defer(s) == SMTP_OK, "smtp_defer() refused for a decision event");
            FZ_TRACE("app: smtp_defer() (will answer %u)\n", code);
            a->deferred = 1;
            a->defer_code = code;
            return;
        }
        (void)fz_reply(a, s, code);
    }
}

/* ---------------------------------------------------- reply stream check */

/* Called with each complete reply: its code, the text of its first line,
 * and its number of lines; line_cb (optional) with every line's text. */
typedef void (*fz_reply_fn)(void *user, int code, const char *text, size_t tlen, int lines);
typedef void (*fz_line_fn)(void *user, int code, const char *text, size_t tlen, int final);

struct fz_rp {
    char line[520];
    size_t len;
    int code;    /* code of the multi-line reply in progress, or 0 */
    int lines;
    char first[520];
    size_t flen;
    size_t enh;  /* length of the first line's enhanced code, or 0 */
    fz_reply_fn cb;
    fz_line_fn line_cb;
    void *user;
};

/* Length of the RFC 3463 code ("2.1.5") that text t[0..n) starts with,
 * followed by SP or the end, or 0. */
static inline size_t fz_enh_len(const char *t, size_t n)
{
    size_t i = 2, part;
    if (n < 5 || t[0] < '2' || t[0] > '5' || t[1] != '.')
        return 0;
    for (part = 0; part < 2; part++) {
        size_t d = 0;
        while (i < n && t[i] >= '0' && t[i] <= '9' && d < 4)
            i++, d++;
        if (d == 0 || d > 3)
            return 0;
        if (part == 0) {
            if (i >= n || t[i] != '.')
                return 0;
            i++;
        }
    }
    return (i == n || t[i] == ' ') ? i : 0;
}

static inline void fz_rp_byte(struct fz_rp *rp, char ch)
{
    size_t i, n;
    int code;
    FZ_CHECK(rp->len < 512, "reply line longer than 512 octets (RFC 5321 4.5.3.1.5)");
    rp->line[rp->len++] = ch;
    if (ch != '\n')
        return;
    n = rp->len;
    rp->len = 0;
    FZ_CHECK(n >= 6, "reply line shorter than code, separator and CRLF");
    FZ_CHECK(rp->line[n - 2] == '\r', "reply line ends in a bare LF");
    FZ_CHECK(rp->line[0] >= '2' && rp->line[0] <= '5', "reply code first digit not 2-5");
    FZ_CHECK(rp->line[1] >= '0' && rp->line[1] <= '5', "reply code second digit not 0-5");
    FZ_CHECK(rp->line[2] >= '0' && rp->line[2] <= '9', "reply code third digit not 0-9");
    FZ_CHECK(rp->line[3] == ' ' || rp->line[3] == '-', "reply code not followed by SP or '-'");
    for (i = 4; i < n - 2; i++) {
        unsigned char c = (unsigned char)rp->line[i];
        FZ_CHECK(c == '\t' || (c >= 32 && c <= 126),
                 "reply text has a control or 8-bit octet (RFC 5321 textstring)");
    }
    code = (rp->line[0] - '0') * 100 + (rp->line[1] - '0') * 10 + (rp->line[2] - '0');
    if (rp->code != 0) {
        FZ_CHECK(code == rp->code, "multi-line reply changes its code");
        /* RFC 2034 3: the enhanced code prefaces every line, never cut */
        FZ_CHECK(rp->enh == 0 || (n - 6 >= rp->enh && memcmp(rp->line + 4, rp->first, rp->enh) == 0 &&
                     (n - 6 == rp->enh || rp->line[4 + rp->enh] == ' ')),
                 "a line of a multi-line reply lost or cut its enhanced status code");
    } else {
        rp->code = code;
        rp->lines = 0;
        rp->flen = n - 6;
        memcpy(rp->first, rp->line + 4, rp->flen);
        rp->enh = fz_enh_len(rp->first, rp->flen);
    }
    rp->lines++;
    if (rp->line_cb)
        rp->line_cb(rp->user, code, rp->line + 4, n - 6, rp->line[3] == ' ');
    if (rp->line[3] == ' ') {
        int c = rp->code, l = rp->lines;
        rp->code = 0;
        if (rp->cb)
            rp->cb(rp->user, c, rp->first, rp->flen, l);
    }
}

static inline int fz_rp_idle(const struct fz_rp *rp)
{
    return rp->len == 0 && rp->code == 0;
}

/* ---------------------------------------------------- naive DATA reference */

/* Everything the DATA phase of raw bytes d[0..n) should produce, computed
 * the slow, obvious way.  mode: 0 strict, 1 keep bare CR/LF, 2 normalize. */
struct fz_ref {
    int found;          /* a <CRLF>.<CRLF> was found */
    size_t end;         /* then: d[0..end) is the message, d[end..end+3) ".\r\n" */
    int bare;           /* a bare CR or bare LF inside the message */
    size_t maxline;     /* longest line of the message as sent, CRLF excluded */
    size_t maxline_un;  /* the same after removing a stuffed leading dot */
    size_t maxline_norm;/* longest line after unstuffing and normalizing */
    size_t maxseg;      /* longest run between any CR or LF (dot excluded) */
    uint64_t outlen;    /* octets of the dot-unstuffed (normalized) message */
};

static inline int fz_line_start(const uint8_t *d, size_t i)
{
    /* The data begins right after the CRLF of the DATA command. */
    return i == 0 || (i >= 2 && d[i - 2] == '\r' && d[i - 1] == '\n');
}

/* out may be NULL; otherwise it has room for 2*n octets. */
static inline void fz_ref_data(const uint8_t *d, size_t n, int mode, uint8_t *out, struct fz_ref *r)
{
    size_t i, line = 0, line_norm = 0, o = 0, seg = 0;
    int dotted = 0;
    memset(r, 0, sizeof *r);
    r->end = n;
    for (i = 0; i + 3 <= n; i++) {
        if (fz_line_start(d, i) && d[i] == '.' && d[i + 1] == '\r' && d[i + 2] == '\n') {
            r->found = 1;
            r->end = i;
            break;
        }
    }
    for (i = 0; i < r->end; i++) {
        uint8_t c = d[i];
        int crlf_cr = (c == '\r' && i + 1 < r->end && d[i + 1] == '\n');
        int crlf_lf = (c == '\n' && i > 0 && d[i - 1] == '\r');
        if (fz_line_start(d, i)) {
            line = line_norm = seg = 0;
            dotted = 0;
            if (c == '.') {
                dotted = 1; /* the stuffed dot is dropped */
                line++;
                continue;
            }
        }
        if (crlf_cr || crlf_lf) {
            if (out)
                out[o] = c;
            o++;
            continue;
        }
        if (c == '\r' || c == '\n') {
            r->bare = 1;
            seg = 0;
            if (mode == 2) {
                if (out) {
                    out[o] = '\r';
                    out[o + 1] = '\n';
                }
                o += 2;
                line++;
                line_norm = 0;
                continue;
            }
        }
        if (out)
            out[o] = c;
        o++;
        line++;
        line_norm++;
        if (c == '\r' || c == '\n')
            seg = 0;
        else if (++seg > r->maxseg)
            r->maxseg = seg;
        if (line > r->maxline)
            r->maxline = line;
        if (line - (size_t)dotted > r->maxline_un)
            r->maxline_un = line - (size_t)dotted;
        if (line_norm > r->maxline_norm)
            r->maxline_norm = line_norm;
    }
    r->outlen = o;
}

/* ------------------------------------------------------------ the driver */

struct fz_run;
typedef void (*fz_event_fn)(struct fz_run *run, int st, const union smtp_event *ev);

struct fz_run {
    struct smtp_session s;
    const uint8_t *in;   /* the client's bytes */
    size_t n, pos;       /* pos: bytes the session has taken so far */
    const uint8_t *feed_sizes; /* NULL: offer everything left; else cycle */
    size_t nfeed, fi;
    const uint8_t *ack_sizes;  /* NULL: take all output; else cycle */
    size_t nack, ai;
    int copy_session;    /* copy the session with '=' between calls */
    struct fz_app app;
    struct fz_rp rp;
    fz_event_fn on_event;
    void (*on_output)(struct fz_run *run, const char *p, size_t n);
    void *user;
    size_t last_used;    /* octets the call that gave the event took */
    int stop;            /* set by a callback: end the run now */
    int closed;
};

/* Spans into the input or the session must lie wholly inside them.  smtp.c
 * also points spans at constants ("PLAIN", "\r\n"), which live forever;
 * those are read once so that ASan sees any bad pointer (see README). */
static inline void fz_span_in(const struct fz_run *run, struct smtp_span sp, const uint8_t *buf,
                              size_t len)
{
    const char *sess = (const char *)&run->s;
    volatile unsigned sum = 0;
    size_t i;
    if (sp.len == 0)
        return;
    FZ_CHECK(sp.ptr != NULL, "non-empty span with a NULL pointer");
    FZ_CHECK(sp.len <= 1u << 20, "absurd span length");
    if (buf != NULL && (const uint8_t *)sp.ptr >= buf && (const uint8_t *)sp.ptr <= buf + len) {
        FZ_CHECK(sp.len <= (size_t)(buf + len - (const uint8_t *)sp.ptr),
                 "event span runs past the input given to smtp_feed");
        return;
    }
    if (sp.ptr >= sess && sp.ptr <= sess + sizeof run->s) {
        FZ_CHECK(sp.len <= (size_t)(sess + sizeof run->s - sp.ptr),
                 "event span runs past the session");
        return;
    }
    FZ_CHECK(run->in == NULL || (const uint8_t *)sp.ptr < run->in ||
                 (const uint8_t *)sp.ptr >= run->in + run->n,
             "event span points into input that was not passed to this call");
    for (i = 0; i < sp.len; i++)
        sum += (unsigned char)sp.ptr[i];
    (void)sum;
}

static inline void fz_sub_span(struct smtp_span outer, struct smtp_span inner, const char *what)
{
    if (inner.len == 0)
        return;
    if (!(inner.ptr >= outer.ptr && inner.ptr + inner.len <= outer.ptr + outer.len))
        fz_fail(__FILE__, __LINE__, what);
}

/* A word of a command line handed out in an event: no blanks around it
 * (smtp.h), unless SMTP_OPT_STRICT_SPACES keeps what the line had. */
static inline void fz_word(const struct fz_run *run, struct smtp_span w, const char *what)
{
    if (w.len == 0 || (run->s.cfg.options & SMTP_OPT_STRICT_SPACES))
        return;
    if (w.ptr[0] == ' ' || w.ptr[0] == '\t' || w.ptr[w.len - 1] == ' ' || w.ptr[w.len - 1] == '\t')
        fz_fail(__FILE__, __LINE__, what);
}

/* The event's own member: every span valid, values in range (smtp.h rules
 * 3 and 4).  Nothing outside the member is read: it is not filled. */
static inline void fz_check_event(const struct fz_run *run, int st, const union smtp_event *ev,
                                  const uint8_t *buf, size_t len)
{
    FZ_CHECK(ev->type == st, "ev.type differs from the return value");
    FZ_CHECK(st <= SMTP__EV_LAST, "unknown event number");
    switch (st) {
    case SMTP_EV_HELO: case SMTP_EV_EHLO:
        fz_span_in(run, ev->hello.domain, buf, len);
        FZ_CHECK(ev->hello.domain.len > 0, "HELO/EHLO without a domain");
        fz_word(run, ev->hello.domain, "HELO/EHLO domain with blanks around it");
        break;
    case SMTP_EV_VRFY: case SMTP_EV_EXPN: case SMTP_EV_HELP: case SMTP_EV_NOOP:
        fz_span_in(run, ev->string.arg, buf, len);
        fz_word(run, ev->string.arg, "argument with blanks around it");
        break;
    case SMTP_EV_MAIL:
    case SMTP_EV_RCPT:
        fz_span_in(run, ev->mail.path.mailbox, buf, len);
        fz_span_in(run, ev->mail.path.local, buf, len);
        fz_span_in(run, ev->mail.path.domain, buf, len);
        fz_span_in(run, ev->mail.params, buf, len);
        fz_word(run, ev->mail.params, "parameters with blanks around them");
        fz_sub_span(ev->mail.path.mailbox, ev->mail.path.local, "local-part span outside the path");
        fz_sub_span(ev->mail.path.mailbox, ev->mail.path.domain, "domain span outside the path");
        FZ_CHECK(ev->mail.path.local.len <= SMTP_LOCAL_MAX, "local-part over SMTP_LOCAL_MAX in an event");
        FZ_CHECK(ev->mail.path.domain.len <= SMTP_DOMAIN_MAX, "domain over SMTP_DOMAIN_MAX in an event");
        FZ_CHECK(ev->mail.path.len <= SMTP_PATH_MAX && ev->mail.path.mailbox.len + 2 <= ev->mail.path.len,
                 "path over SMTP_PATH_MAX in an event");
        if (st == SMTP_EV_MAIL) {
            FZ_CHECK(ev->mail.mode <= SMTP_MODE_SAML && ev->mail.body <= 3 && ev->mail.smtputf8 <= 1,
                     "EV_MAIL fields out of range");
#ifndef SMTP_NO_DSN
            FZ_CHECK(ev->mail.ret <= SMTP_RET_HDRS, "EV_MAIL ret out of range");
            fz_span_in(run, ev->mail.envid, buf, len);
#endif
#ifndef SMTP_NO_AUTH
            fz_span_in(run, ev->mail.auth, buf, len);
#endif
        } else {
#ifndef SMTP_NO_DSN
            FZ_CHECK(ev->rcpt.notify <= 15, "EV_RCPT notify out of range");
            fz_span_in(run, ev->rcpt.orcpt, buf, len);
#endif
        }
        break;
    case SMTP_EV_BODY:
        fz_span_in(run, ev->body.data, buf, len);
        FZ_CHECK(ev->body.data.len > 0, "empty EV_BODY chunk");
        break;
    case SMTP_EV_DATA_END:
        FZ_TRACE("EV_DATA_END reject %u size %llu rcpts %u\n", (unsigned)ev->end.reject,
                 (unsigned long long)ev->end.size, (unsigned)ev->end.rcpts);
        FZ_CHECK(ev->end.reject <= 3, "EV_DATA_END reject out of range");
        break;
#ifndef SMTP_NO_CHUNKING
    case SMTP_EV_BDAT:
        FZ_CHECK(ev->bdat.last <= 1, "EV_BDAT last out of range");
        break;
#endif
#ifndef SMTP_NO_AUTH
    case SMTP_EV_AUTH:
        FZ_CHECK(ev->auth.mech == SMTP_MECH_PLAIN || ev->auth.mech == SMTP_MECH_LOGIN,
                 "EV_AUTH mech out of range");
        fz_span_in(run, ev->auth.authzid, buf, len);
        fz_span_in(run, ev->auth.user, buf, len);
        fz_span_in(run, ev->auth.pass, buf, len);
        break;
#endif
    default:
        break;
    }
}

static inline void fz_take_output(struct fz_run *run)
{
    for (;;) {
        size_t olen = 0, take, i;
        const char *o = smtp_output(&run->s, &olen);
        if (olen == 0) {
            FZ_CHECK(o == NULL, "smtp_output: length 0 but a pointer");
            return;
        }
        FZ_CHECK(o != NULL, "smtp_output: length but no pointer");
        FZ_CHECK(olen <= SMTP_REPLY_MAX, "more output than SMTP_REPLY_MAX");
        take = olen;
        if (run->ack_sizes != NULL) {
            take = run->ack_sizes[run->ai++ % run->nack];
            if (take == 0 || take > olen)
                take = olen;
        }
        fz_dump("  reply", o, take);
        for (i = 0; i < take; i++)
            fz_rp_byte(&run->rp, o[i]);
        if (run->on_output)
            run->on_output(run, o, take);
        smtp_output_done(&run->s, take);
        if (run->ack_sizes != NULL)
            return; /* leave the rest for the next round: WANT_WRITE path */
    }
}

/* Runs the session over run->in until the input is used up and nothing is
 * waiting, or the session closes.  Checks the smtp_feed() contract. */
static inline void fz_drive(struct fz_run *run)
{
    unsigned long rounds = 0, limit = 64ul * (unsigned long)run->n + 4096ul;
    int st = SMTP_NEED_INPUT;
    int pending_out;
    for (;;) {
        size_t offer = run->n - run->pos, used = 99999;
        const uint8_t *buf = run->in + run->pos;
        union smtp_event ev;
        size_t olen;
        FZ_CHECK(++rounds < limit, "no progress: smtp_feed() loops without taking input");
        if (run->feed_sizes != NULL && offer > 0) {
            size_t f = run->feed_sizes[run->fi++ % run->nfeed];
            if (f == 0)
                f = 1;
            if (f < offer)
                offer = f;
        }
        if (run->copy_session && (rounds & 3u) == 0) {
            struct smtp_session copy = run->s; /* copyable by '=' */
            memset(&run->s, 0xa5, sizeof run->s);
            run->s = copy;
        }
        memset(&ev, 0x5a, sizeof ev);
        /* smtp.h allows buf == NULL when len is 0; FZ_PASS_NULL=0 passes
         * the (valid) end of the input instead, to fuzz past a known bug. */
        st = smtp_feed(&run->s, (offer || !FZ_PASS_NULL) ? buf : NULL, offer, &used, &ev);
        FZ_TRACE("feed(%lu) -> %s, used %lu\n", (unsigned long)offer, smtp_event_name(st),
                 (unsigned long)used);
        FZ_CHECK(st >= SMTP_TURNED && st <= SMTP__EV_LAST, "smtp_feed: unknown return value");
        FZ_CHECK(used <= offer, "smtp_feed: consumed more than offered");
        fz_dump("  took", buf, used);
        run->pos += used;
        run->last_used = used;
        (void)smtp_output(&run->s, &olen);
        pending_out = olen > 0;
        switch (st) {
        case SMTP_NEED_INPUT:
            FZ_CHECK(used == offer, "NEED_INPUT but not every byte was taken");
            break;
        case SMTP_WANT_WRITE:
            FZ_CHECK(pending_out, "WANT_WRITE with no output waiting");
            break;
        case SMTP_PENDING:
            FZ_CHECK(used == 0, "PENDING but input was taken");
            FZ_CHECK(run->app.deferred, "PENDING without a deferred decision");
            break;
        case SMTP_CLOSED:
            FZ_CHECK(smtp_closed(&run->s), "CLOSED but smtp_closed() says 0");
            break;
        case SMTP_TURNED:
            FZ_CHECK(!smtp_closed(&run->s), "TURNED but smtp_closed() says 1");
            FZ_CHECK(used == 0, "TURNED took input");
            FZ_CHECK(!pending_out, "TURNED with the 250 not yet sent");
            break;
        default:
            fz_check_event(run, st, &ev, buf, used);
            if (ev.type == SMTP_EV_BODY)
                fz_dump(smtp_event_name(st), ev.body.data.ptr, ev.body.data.len);
            else if (ev.type == SMTP_EV_MAIL || ev.type == SMTP_EV_RCPT)
                fz_dump(smtp_event_name(st), ev.mail.path.mailbox.ptr, ev.mail.path.mailbox.len);
            else
                FZ_TRACE("%s\n", smtp_event_name(st));
            break;
        }
        if (st != SMTP_CLOSED && st != SMTP_WANT_WRITE && st != SMTP_TURNED)
            FZ_CHECK(!smtp_closed(&run->s) || st == SMTP_EV_QUIT,
                     "smtp_closed() says 1 but smtp_feed did not return CLOSED");
        if (run->on_event)
            run->on_event(run, st, &ev);
        if (st > 0)
            fz_app_event(&run->app, &run->s, &ev);
        if (run->stop)
            return;
        fz_take_output(run);
        if (run->stop)
            return;
        if (st == SMTP_PENDING) {
            unsigned code = run->app.defer_code;
            run->app.deferred = 0;
            if (fz_reply(&run->app, &run->s, code) != SMTP_OK)
                FZ_CHECK(fz_reply(&run->app, &run->s, smtp_event_default(run->app.pending_type)) ==
                             SMTP_OK, "smtp_reply() refused the default code after smtp_defer()");
            fz_take_output(run);
            if (run->stop)
                return;
        }
        if (st == SMTP_CLOSED || st == SMTP_TURNED) {
            size_t u2 = 12345;
            int st2;
            fz_take_output(run);
            while (smtp_output(&run->s, &olen) != NULL)
                fz_take_output(run);
            /* what follows belongs to the connection's next role: never taken */
            st2 = smtp_feed(&run->s, run->in + run->pos, run->n - run->pos, &u2, &ev);
            FZ_CHECK(st2 == st && u2 == 0, "input taken after the session closed or turned");
            run->closed = 1;
            return;
        }
        if (st == SMTP_NEED_INPUT && run->pos == run->n && !run->app.deferred) {
            (void)smtp_output(&run->s, &olen);
            if (olen == 0)
                return;
        }
    }
}

#endif /* FUZZ_COMMON_H */
