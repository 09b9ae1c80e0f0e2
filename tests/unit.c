/*
 * unit.c - API-level tests of smtp.h: reply-code checks, deferral,
 * output acknowledgement and back-pressure, consumed counts, the parse
 * helpers, the name tables, the session size, independent sessions,
 * truncated commands, smtp_tls_done() (also with smtp_shutdown()) and
 * smtp_xtext_decode().  The protocol itself is pinned by the transcripts.
 *
 * Built once per configuration (default, tiny limits, SMTP_STATIC with
 * smtp.c included, SMTP_HAS_CONFIG), so nothing here assumes the default
 * compile-time limits unless it says so.  Ends with "unit: N passed, N
 * failed".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef SMTP_STATIC
#include "smtp.c"
#else
#include "smtp.h"
#endif

/* ------------------------------------------------------------- harness */

static int checks_failed; /* in the current test */

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

/* A copy of p[0..n) on the heap, exactly n octets: AddressSanitizer sees a
 * read past the end. */
static char *exact(const char *p, size_t n)
{
    char *q = malloc(n ? n : 1);
    if (!q)
        abort();
    if (n)
        memcpy(q, p, n);
    return q;
}

/* A session with an input cursor and everything it has said so far. */
struct sess {
    struct smtp_session s;
    const char *in;
    size_t len;
    char out[16384];
    size_t out_len;
};

static void sess_init(struct sess *x, const struct smtp_config *cfg)
{
    memset(x, 0xa5, sizeof *x);
    smtp_init(&x->s, cfg);
    x->in = NULL;
    x->len = 0;
    x->out_len = 0;
    x->out[0] = 0;
}

static void drain(struct sess *x)
{
    size_t n;
    const char *o;
    while ((o = smtp_output(&x->s, &n)) != NULL && n) {
        if (x->out_len + n < sizeof x->out) {
            memcpy(x->out + x->out_len, o, n);
            x->out_len += n;
            x->out[x->out_len] = 0;
        }
        smtp_output_done(&x->s, n);
    }
}

/* Feeds x->in until `target` comes (returned undrained, its decision still
 * open) or the input is used up (NEED_INPUT), the session ends or waits. */
static int until(struct sess *x, int target, union smtp_event *ev)
{
    for (;;) {
        size_t used = 0;
        int st = smtp_feed(&x->s, x->in, x->len, &used, ev);
        if (used > x->len)
            return -100;
        x->in += used;
        x->len -= used;
        if (st == target)
            return st;
        drain(x);
        if (st == SMTP_NEED_INPUT || st == SMTP_CLOSED || st == SMTP_PENDING)
            return st;
    }
}

static int feed_str(struct sess *x, const char *s, int target, union smtp_event *ev)
{
    x->in = s;
    x->len = strlen(s);
    return until(x, target, ev);
}

/* The last complete reply line said, without CRLF. */
static const char *last_line(const struct sess *x)
{
    static char line[1024];
    size_t end, start;
    line[0] = 0;
    if (x->out_len < 2)
        return line;
    end = x->out_len - 2;
    start = end;
    while (start > 0 && !(x->out[start - 1] == '\n'))
        start--;
    if (end - start >= sizeof line)
        return line;
    memcpy(line, x->out + start, end - start);
    line[end - start] = 0;
    return line;
}

static int starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* --------------------------------------------------------- the tests */

static void test_config_default(void)
{
    struct smtp_config c;
    memset(&c, 0xff, sizeof c);
    smtp_config_default(&c);
    CHECK(c.hostname && strcmp(c.hostname, "localhost") == 0);
    CHECK_EQ(c.max_size, 0);
    CHECK_EQ(c.options, 0);
    CHECK_EQ(c.extensions, SMTP_EXT_DEFAULT);
    CHECK_EQ(c.max_line, SMTP_LINE_MAX);
    CHECK_EQ(c.max_rcpt, SMTP_RCPT_MAX);
    CHECK_EQ(c.max_text_line, SMTP_TEXT_LINE_MAX);
    CHECK_EQ(c.max_errors, 10);
#if defined(SMTP_HAS_CONFIG) && !defined(TEST_CONFIG_SEEN)
    CHECK(!"SMTP_HAS_CONFIG did not include smtp_config.h");
#endif
}

/* smtp_init(s, NULL) is smtp_init() with smtp_config_default()'s
 * settings, every field of them (and nothing left from before). */
static void test_init_null(void)
{
    static struct smtp_session a, b;
    struct smtp_config c;
    smtp_config_default(&c);
    memset(&a, 0xff, sizeof a);
    memset(&b, 0x55, sizeof b);
    smtp_init(&a, NULL);
    smtp_init(&b, &c);
    CHECK(a.cfg.hostname && strcmp(a.cfg.hostname, "localhost") == 0);
    CHECK_EQ(a.cfg.max_size, b.cfg.max_size);
    CHECK_EQ(a.cfg.options, b.cfg.options);
    CHECK_EQ(a.cfg.extensions, b.cfg.extensions);
    CHECK_EQ(a.cfg.max_line, b.cfg.max_line);
    CHECK_EQ(a.cfg.max_rcpt, b.cfg.max_rcpt);
    CHECK_EQ(a.cfg.max_text_line, b.cfg.max_text_line);
    CHECK_EQ(a.cfg.max_errors, b.cfg.max_errors);
    CHECK_EQ(a.cfg.max_auth_fails, b.cfg.max_auth_fails);
    CHECK(a.cfg.extensions != 0); /* the defaults, not a zero-filled config */
    a.cfg.hostname = b.cfg.hostname = 0;
    CHECK(memcmp(&a, &b, sizeof a) == 0);
}

static void test_session_size(void)
{
#if SMTP_LINE_MAX == 512 && SMTP_REPLY_MAX == 512
    /* issue 2: at most 1.5 KiB with the default limits, buffers included */
    CHECK(sizeof(struct smtp_session) <= 1536);
#endif
    CHECK(sizeof(struct smtp_session) >= SMTP_LINE_MAX + SMTP_REPLY_MAX);
}

static void test_names(void)
{
    static const struct {
        int num;
        const char *name, *desc;
        unsigned dflt;
    } evs[] = {
#define X(name, num, dflt, desc) {num, #name, desc, dflt},
        SMTP_EVENT_MAP(X)
#undef X
    };
    static const struct {
        int num;
        const char *name, *desc;
    }
      errs[] = {
#define X(name, num, desc) {num, #name, desc},
          SMTP_ERR_MAP(X)
#undef X
      };
    size_t i;
    for (i = 0; i < sizeof evs / sizeof evs[0]; i++) {
        CHECK(strcmp(smtp_event_name(evs[i].num), evs[i].name) == 0);
        CHECK_EQ(smtp_event_default(evs[i].num), evs[i].dflt);
#ifndef SMTP_TERSE
        CHECK(strcmp(smtp_event_desc(evs[i].num), evs[i].desc) == 0);
#else
        CHECK(strcmp(smtp_event_desc(evs[i].num), "?") == 0);
#endif
    }
    for (i = 0; i < sizeof errs / sizeof errs[0]; i++) {
        CHECK(strcmp(smtp_err_name(errs[i].num), errs[i].name) == 0);
#ifndef SMTP_TERSE
        CHECK(strcmp(smtp_err_desc(errs[i].num), errs[i].desc) == 0);
#else
        CHECK(strcmp(smtp_err_desc(errs[i].num), "?") == 0);
#endif
    }
    CHECK(strcmp(smtp_event_name(SMTP_EV_RCPT), "EV_RCPT") == 0);
    CHECK(strcmp(smtp_err_name(SMTP_ERR_CODE), "ERR_CODE") == 0);
    CHECK_EQ(sizeof evs / sizeof evs[0], SMTP__EV_LAST + 5); /* the statuses -4..0 */
    CHECK_EQ(sizeof errs / sizeof errs[0], -SMTP__ERR_LAST + 1);
    CHECK(strcmp(smtp_event_name(SMTP__EV_LAST + 1), "?") == 0);
    CHECK(strcmp(smtp_event_name(SMTP_TURNED - 1), "?") == 0);
    CHECK(strcmp(smtp_event_name(1000000), "?") == 0);
    CHECK(strcmp(smtp_event_desc(-1000000), "?") == 0);
    CHECK(strcmp(smtp_err_name(SMTP__ERR_LAST - 1), "?") == 0);
    CHECK(strcmp(smtp_err_name(1), "?") == 0);
    CHECK(strcmp(smtp_err_desc(-1000), "?") == 0);
}

/* Session state that a decision event of each kind arrives in. */
static const char *const reach[] = {
    /* input before the event, the event is the last thing it causes */
    [SMTP_EV_CONNECT] = "",
    [SMTP_EV_HELO] = "HELO c.example\r\n",
    [SMTP_EV_EHLO] = "EHLO c.example\r\n",
    [SMTP_EV_MAIL] = "EHLO c.example\r\nMAIL FROM:<a@c.example>\r\n",
    [SMTP_EV_RCPT] = "EHLO c.example\r\nMAIL FROM:<a@c.example>\r\nRCPT TO:<b@m.example>\r\n",
    [SMTP_EV_DATA] = "EHLO c.example\r\nMAIL FROM:<a@c.example>\r\nRCPT TO:<b@m.example>\r\nDATA\r\n",
    [SMTP_EV_DATA_END] = "EHLO c.example\r\nMAIL FROM:<a@c.example>\r\nRCPT TO:<b@m.example>\r\nDATA\r\nx\r\n.\r\n",
    [SMTP_EV_VRFY] = "EHLO c.example\r\nVRFY someone\r\n",
    [SMTP_EV_EXPN] = "EHLO c.example\r\nEXPN list\r\n",
    [SMTP_EV_HELP] = "EHLO c.example\r\nHELP\r\n",
};

/* Drives a fresh session to the decision event ev_type. */
static int reach_event(struct sess *x, int ev_type, union smtp_event *ev)
{
    sess_init(x, NULL);
    return feed_str(x, reach[ev_type], ev_type, ev);
}

static void test_reply_codes(void)
{
    /* allowed: RFC 5321 4.3.2 and RFC 821 4.3 for the command, and 421.
     * (455 for MAIL/RCPT and 450/550 after data are RFC 5321 codes too;
     * transcripts r5321_mail_455, r5321_rcpt_455, r5321_data_end_450/550
     * cover them.) */
    static const struct {
        int ev;
        unsigned ok[16], bad[16];
    } t[] = {
        {SMTP_EV_CONNECT, {220, 554, 421}, {250, 221, 354, 500, 503, 550, 199, 600}},
        {SMTP_EV_HELO, {250, 504, 550, 421, 501}, {220, 221, 251, 354, 451, 553, 999}},
        {SMTP_EV_EHLO, {250, 504, 550, 421, 501}, {220, 221, 251, 354, 451, 553}},
        {SMTP_EV_MAIL, {250, 552, 451, 452, 550, 553, 503, 555, 501, 421},
         {220, 221, 251, 252, 354, 551, 554, 100}},
        {SMTP_EV_RCPT, {250, 251, 550, 551, 552, 553, 450, 451, 452, 503, 555, 501, 421},
         {220, 221, 252, 354, 554, 299, 1000}},
        {SMTP_EV_DATA, {354, 451, 554, 503, 421}, {250, 220, 221, 252, 550, 552, 355}},
        {SMTP_EV_DATA_END, {250, 552, 554, 451, 452, 421}, {220, 221, 251, 354, 503, 555}},
        {SMTP_EV_VRFY, {250, 251, 252, 550, 551, 553, 502, 504, 421}, {220, 221, 354, 552, 554}},
        {SMTP_EV_EXPN, {250, 252, 550, 502, 504, 421}, {220, 221, 251, 354, 551, 554}},
        {SMTP_EV_HELP, {211, 214, 502, 504, 421}, {220, 221, 250, 354, 550, 554}},
    };
    size_t i, j;
    struct sess *x = malloc(sizeof *x);
    union smtp_event ev;
    if (!x)
        abort();
    for (i = 0; i < sizeof t / sizeof t[0]; i++) {
        for (j = 0; j < 16 && t[i].ok[j]; j++) {
            int rc;
            char want[16];
            if (reach_event(x, t[i].ev, &ev) != t[i].ev) {
                printf("  cannot reach %s\n", smtp_event_name(t[i].ev));
                checks_failed++;
                break;
            }
            rc = smtp_reply(&x->s, t[i].ok[j], NULL, "fine");
            if (rc != SMTP_OK)
                printf("  %s: smtp_reply(%u) = %s\n", smtp_event_name(t[i].ev), t[i].ok[j],
                       smtp_err_name(rc));
            CHECK_EQ(rc, SMTP_OK);
            drain(x);
            snprintf(want, sizeof want, "%u", t[i].ok[j]);
            if (rc == SMTP_OK && !starts(last_line(x), want)) {
                printf("  %s: answered %u, said '%s'\n", smtp_event_name(t[i].ev), t[i].ok[j],
                       last_line(x));
                checks_failed++;
            }
            /* a second answer to the same event is refused */
            CHECK_EQ(smtp_reply(&x->s, t[i].ok[j], NULL, NULL), SMTP_ERR_STATE);
        }
        for (j = 0; j < 16 && t[i].bad[j]; j++) {
            int rc, st;
            size_t before;
            if (reach_event(x, t[i].ev, &ev) != t[i].ev)
                break;
            before = x->out_len;
            rc = smtp_reply(&x->s, t[i].bad[j], NULL, "nope");
            if (rc != SMTP_ERR_CODE)
                printf("  %s: smtp_reply(%u) = %s, expected ERR_CODE\n",
                       smtp_event_name(t[i].ev), t[i].bad[j], smtp_err_name(rc));
            CHECK_EQ(rc, SMTP_ERR_CODE);
            drain(x);
            CHECK_EQ(x->out_len, before); /* nothing said */
            /* and the decision is still open: the default reply follows */
            x->len = 0;
            st = until(x, -99, &ev);
            CHECK(st == SMTP_NEED_INPUT || st == SMTP_CLOSED);
            CHECK(x->out_len > before);
        }
        if (reach_event(x, t[i].ev, &ev) == t[i].ev) {
            CHECK_EQ(smtp_reply(&x->s, 0, NULL, NULL), SMTP_ERR_CODE);
            CHECK_EQ(smtp_reply(&x->s, 99, NULL, NULL), SMTP_ERR_CODE);
            CHECK_EQ(smtp_reply(&x->s, 2500, NULL, NULL), SMTP_ERR_CODE);
            CHECK_EQ(smtp_reply(&x->s, 0xffffffffu, NULL, NULL), SMTP_ERR_CODE);
        }
    }
    free(x);
}

static void test_reply_state(void)
{
    struct sess *x = malloc(sizeof *x);
    union smtp_event ev;
    if (!x)
        abort();
    sess_init(x, NULL);
    /* no event yet */
    CHECK_EQ(smtp_reply(&x->s, 220, NULL, NULL), SMTP_ERR_STATE);
    CHECK_EQ(smtp_defer(&x->s), SMTP_ERR_STATE);
    CHECK_EQ(feed_str(x, "", SMTP_EV_CONNECT, &ev), SMTP_EV_CONNECT);
    CHECK_EQ(smtp_reply(&x->s, 220, NULL, NULL), SMTP_OK);
    CHECK_EQ(smtp_reply(&x->s, 220, NULL, NULL), SMTP_ERR_STATE);
    drain(x);
    /* events that are not decisions cannot be answered */
    CHECK_EQ(feed_str(x, "NOOP\r\n", SMTP_EV_NOOP, &ev), SMTP_EV_NOOP);
    CHECK_EQ(smtp_reply(&x->s, 250, NULL, NULL), SMTP_ERR_STATE);
    CHECK_EQ(smtp_defer(&x->s), SMTP_ERR_STATE);
    drain(x);
    CHECK_EQ(feed_str(x, "RSET\r\n", SMTP_EV_RSET, &ev), SMTP_EV_RSET);
    CHECK_EQ(smtp_reply(&x->s, 250, NULL, NULL), SMTP_ERR_STATE);
    drain(x);
    CHECK_EQ(feed_str(x, "QUIT\r\n", SMTP_EV_QUIT, &ev), SMTP_EV_QUIT);
    CHECK_EQ(smtp_reply(&x->s, 221, NULL, NULL), SMTP_ERR_STATE);
    free(x);
}

static void test_defer(void)
{
    struct sess *x = malloc(sizeof *x);
    union smtp_event ev;
    size_t used;
    int i;
    if (!x)
        abort();
    CHECK_EQ(reach_event(x, SMTP_EV_RCPT, &ev), SMTP_EV_RCPT);
    CHECK_EQ(smtp_defer(&x->s), SMTP_OK);
    /* pipelined input is waiting: nothing is taken while the decision is out */
    x->in = "RCPT TO:<c@m.example>\r\n";
    x->len = strlen(x->in);
    for (i = 0; i < 3; i++) {
        int st = smtp_feed(&x->s, x->in, x->len, &used, &ev);
        CHECK_EQ(st, SMTP_PENDING);
        CHECK_EQ(used, 0);
        CHECK(smtp_output(&x->s, &used) == NULL);
    }
    CHECK_EQ(smtp_reply(&x->s, 550, "5.1.1", "No such user here"), SMTP_OK);
    CHECK_EQ(smtp_reply(&x->s, 250, NULL, NULL), SMTP_ERR_STATE);
    drain(x);
    CHECK(strcmp(last_line(x), "550 5.1.1 No such user here") == 0);
    CHECK_EQ(until(x, SMTP_EV_RCPT, &ev), SMTP_EV_RCPT);
    CHECK_EQ(ev.rcpt.path.mailbox.len, 11);
    /* deferring twice is fine, then answer */
    CHECK_EQ(smtp_defer(&x->s), SMTP_OK);
    CHECK_EQ(smtp_defer(&x->s), SMTP_OK);
    CHECK_EQ(smtp_feed(&x->s, NULL, 0, &used, &ev), SMTP_PENDING);
    CHECK_EQ(smtp_reply(&x->s, 250, NULL, NULL), SMTP_OK);
    drain(x);
    CHECK(starts(last_line(x), "250 2.1.5"));
    free(x);
}

static void test_output_partial(void)
{
    struct sess *x = malloc(sizeof *x);
    union smtp_event ev;
    const char *o;
    char whole[600];
    size_t n, n0, used, k;
    int st;
    if (!x)
        abort();
    sess_init(x, NULL);
    CHECK(smtp_output(&x->s, &n) == NULL);
    CHECK_EQ(n, 0);
    st = smtp_feed(&x->s, "NOOP\r\n", 6, &used, &ev);
    CHECK_EQ(st, SMTP_EV_CONNECT);
    CHECK_EQ(used, 0);
    /* leave the default: the next call queues the 220 and takes nothing */
    st = smtp_feed(&x->s, "NOOP\r\n", 6, &used, &ev);
    CHECK_EQ(st, SMTP_WANT_WRITE);
    CHECK_EQ(used, 0);
    o = smtp_output(&x->s, &n0);
    CHECK(o != NULL && n0 > 6 && n0 < sizeof whole);
    if (!o || n0 >= sizeof whole) {
        free(x);
        return;
    }
    memcpy(whole, o, n0);
    CHECK(starts(whole, "220 localhost"));
    CHECK(whole[n0 - 2] == '\r' && whole[n0 - 1] == '\n');
    /* acknowledge a byte at a time; input is refused until all is sent */
    for (k = 1; k < n0; k++) {
        smtp_output_done(&x->s, 1);
        o = smtp_output(&x->s, &n);
        CHECK(o != NULL && n == n0 - k && memcmp(o, whole + k, n) == 0);
        st = smtp_feed(&x->s, "NOOP\r\n", 6, &used, &ev);
        CHECK_EQ(st, SMTP_WANT_WRITE);
        CHECK_EQ(used, 0);
    }
    smtp_output_done(&x->s, 1);
    CHECK(smtp_output(&x->s, &n) == NULL);
    CHECK_EQ(n, 0);
    st = smtp_feed(&x->s, "NOOP\r\n", 6, &used, &ev);
    CHECK_EQ(st, SMTP_EV_NOOP);
    CHECK_EQ(used, 6);
    free(x);
}

/* A default reply that follows the same one, already sent (RCPT after
 * RCPT), is taken again from where it was written; whatever is written in
 * between (another answer, a partial acknowledgement, HELO's replies
 * without enhanced codes) must not leave a stale copy behind. */
#ifdef SMTP_TERSE
#define T_(text) ""
#else
#define T_(text) text
#endif
#define OK_RCPT "250 2.1.5 " T_("OK") "\r\n"
static void test_reply_repeat(void)
{
    struct sess *x = malloc(sizeof *x);
    union smtp_event ev;
    const char *o;
    size_t mark, n;
    if (!x)
        abort();
    sess_init(x, NULL); /* at most 2 recipients a transaction: SMTP_RCPT_MAX may be 2 */
    CHECK_EQ(feed_str(x, "EHLO c\r\nMAIL FROM:<a@b>\r\n", SMTP_EV_MAIL, &ev), SMTP_EV_MAIL);
    drain(x);
    mark = x->out_len;
    x->in = "RCPT TO:<x@y>\r\nRCPT TO:<x@y>\r\nRCPT TO:<x@y>\r\nRSET\r\nMAIL FROM:<a@b>\r\n"
            "RCPT TO:<x@y>\r\nRCPT TO:<x@y>\r\nRCPT TO:<x@y>\r\nRSET\r\nMAIL FROM:<a@b>\r\n"
            "RCPT TO:<x@y>\r\nRCPT TO:<x@y>\r\n";
    x->len = strlen(x->in);
    CHECK_EQ(until(x, SMTP_EV_RCPT, &ev), SMTP_EV_RCPT); /* 1: the default */
    CHECK_EQ(until(x, SMTP_EV_RCPT, &ev), SMTP_EV_RCPT); /* 2: refused */
    CHECK_EQ(smtp_reply(&x->s, 550, NULL, NULL), SMTP_OK);
    CHECK_EQ(until(x, SMTP_EV_RCPT, &ev), SMTP_EV_RCPT); /* 3: the default */
    CHECK_EQ(until(x, SMTP_EV_RCPT, &ev), SMTP_EV_RCPT); /* 4: the default */
    CHECK_EQ(until(x, SMTP_EV_RCPT, &ev), SMTP_EV_RCPT); /* 5: refused, own text */
    CHECK_EQ(smtp_reply(&x->s, 550, NULL, "No"), SMTP_OK);
    CHECK_EQ(until(x, SMTP_EV_RCPT, &ev), SMTP_EV_RCPT); /* 6: the default */
    CHECK_EQ(until(x, SMTP_EV_RCPT, &ev), SMTP_EV_RCPT); /* 7: the default, sent in two parts */
    CHECK_EQ(smtp_feed(&x->s, x->in, x->len, &n, &ev), SMTP_WANT_WRITE);
    o = smtp_output(&x->s, &n);
    CHECK(o != NULL && n == strlen(OK_RCPT) && memcmp(o, OK_RCPT, n) == 0);
    smtp_output_done(&x->s, 5);
    drain(x);
    CHECK_EQ(until(x, SMTP_EV_RCPT, &ev), SMTP_EV_RCPT); /* 8: the default */
    CHECK_EQ(feed_str(x, "HELO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<x@y>\r\nRCPT TO:<x@y>\r\n", -99,
                      &ev),
             SMTP_NEED_INPUT);
    /* RCPT 1 to 8 (the first 5 octets of 7 acknowledged above), RSET and
     * MAIL after 3 and 6, then HELO, MAIL and two RCPT without enhanced
     * codes */
    CHECK(strcmp(x->out + mark,
                 "250 2.1.0 " T_("OK") "\r\n" OK_RCPT
                 "550 5.1.1 " T_("Requested action not taken: mailbox unavailable") "\r\n" OK_RCPT
                 "250 2.0.0 " T_("OK") "\r\n250 2.1.0 " T_("OK") "\r\n" OK_RCPT
                 "550 5.1.1 No\r\n" OK_RCPT "250 2.0.0 " T_("OK") "\r\n250 2.1.0 " T_("OK") "\r\n"
                 ".1.5 " T_("OK") "\r\n" OK_RCPT
                 "250 localhost\r\n250 " T_("OK") "\r\n250 " T_("OK") "\r\n250 " T_("OK") "\r\n") == 0);
    free(x);
}

static void test_consumed(void)
{
    struct sess *x = malloc(sizeof *x);
    union smtp_event ev;
    const char *in = "NOOP\r\nHELP\r\nNO";
    size_t used;
    int st;
    if (!x)
        abort();
    sess_init(x, NULL);
    CHECK_EQ(smtp_feed(&x->s, in, strlen(in), &used, &ev), SMTP_EV_CONNECT);
    CHECK_EQ(used, 0);
    drain(x);
    /* the default 220 is queued first; nothing is taken until it is sent */
    st = smtp_feed(&x->s, in, strlen(in), &used, &ev);
    CHECK_EQ(st, SMTP_WANT_WRITE);
    CHECK_EQ(used, 0);
    drain(x);
    st = smtp_feed(&x->s, in, strlen(in), &used, &ev);
    CHECK_EQ(st, SMTP_EV_NOOP);
    CHECK_EQ(used, 6); /* exactly the first command: one event per call */
    in += used;
    drain(x);
    st = smtp_feed(&x->s, in, strlen(in), &used, &ev);
    CHECK_EQ(st, SMTP_EV_HELP);
    CHECK_EQ(used, 6);
    in += used;
    st = smtp_feed(&x->s, in, strlen(in), &used, &ev);
    CHECK_EQ(st, SMTP_WANT_WRITE); /* the default 214 waits */
    CHECK_EQ(used, 0);
    drain(x);
    st = smtp_feed(&x->s, in, strlen(in), &used, &ev);
    CHECK_EQ(st, SMTP_NEED_INPUT); /* "NO" is copied into the session */
    CHECK_EQ(used, 2);
    st = smtp_feed(&x->s, "OP\r\n", 4, &used, &ev);
    CHECK_EQ(st, SMTP_EV_NOOP);
    CHECK_EQ(used, 4);
    /* buf may be NULL when len is 0 */
    drain(x);
    CHECK_EQ(smtp_feed(&x->s, NULL, 0, &used, &ev), SMTP_NEED_INPUT);
    CHECK_EQ(used, 0);
    free(x);
}

static void test_empty_spans(void)
{
    /* smtp.h: "Empty spans have len 0 and a non-NULL ptr." */
    struct sess *x = malloc(sizeof *x);
    union smtp_event ev;
    if (!x)
        abort();
    sess_init(x, NULL);
    CHECK_EQ(feed_str(x, "", SMTP_EV_CONNECT, &ev), SMTP_EV_CONNECT);
    drain(x);
    CHECK_EQ(feed_str(x, "EHLO c.example\r\nMAIL FROM:<>\r\n", SMTP_EV_MAIL, &ev), SMTP_EV_MAIL);
    CHECK(ev.mail.path.mailbox.ptr && ev.mail.path.local.ptr && ev.mail.path.domain.ptr &&
          ev.mail.params.ptr);
    CHECK_EQ(ev.mail.path.mailbox.len + ev.mail.path.local.len + ev.mail.path.domain.len +
                 ev.mail.params.len, 0);
#ifndef SMTP_NO_DSN
    CHECK(ev.mail.envid.ptr != NULL && ev.mail.envid.len == 0);
#endif
#ifndef SMTP_NO_AUTH
    CHECK(ev.mail.auth.ptr != NULL && ev.mail.auth.len == 0);
#endif
    drain(x);
    CHECK_EQ(feed_str(x, "NOOP\r\n", SMTP_EV_NOOP, &ev), SMTP_EV_NOOP);
    CHECK(ev.string.arg.ptr != NULL && ev.string.arg.len == 0);
    free(x);
}

/* Every proper prefix of a valid command: NEED_INPUT, all taken, no event,
 * nothing said; the rest then gives the event. */
static void test_truncation(void)
{
    static const struct {
        const char *setup, *cmd;
        int ev;
    } t[] = {
        {"", "EHLO client.example\r\n", SMTP_EV_EHLO},
        {"", "HELO client.example\r\n", SMTP_EV_HELO},
        {"", "NOOP\r\n", SMTP_EV_NOOP},
        {"", "NOOP some text\r\n", SMTP_EV_NOOP},
        {"", "VRFY Smith\r\n", SMTP_EV_VRFY},
        {"", "EXPN list\r\n", SMTP_EV_EXPN},
        {"", "HELP MAIL\r\n", SMTP_EV_HELP},
        {"", "RSET\r\n", SMTP_EV_RSET},
        {"", "QUIT\r\n", SMTP_EV_QUIT},
        {"EHLO c.example\r\n", "MAIL FROM:<a@c.example> SIZE=10 BODY=8BITMIME\r\n", SMTP_EV_MAIL},
        {"EHLO c.example\r\n", "MAIL FROM:<>\r\n", SMTP_EV_MAIL},
        {"EHLO c.example\r\nMAIL FROM:<a@c.example>\r\n", "RCPT TO:<\"q t\"@[192.0.2.1]>\r\n",
         SMTP_EV_RCPT},
        {"EHLO c.example\r\nMAIL FROM:<a@c.example>\r\n", "RCPT TO:<Postmaster>\r\n",
         SMTP_EV_RCPT},
        {"EHLO c.example\r\nMAIL FROM:<a@c.example>\r\nRCPT TO:<b@m.example>\r\n", "DATA\r\n",
         SMTP_EV_DATA},
        {"EHLO c.example\r\nMAIL FROM:<a@c.example>\r\nRCPT TO:<b@m.example>\r\nDATA\r\n",
         "hello\r\n..dot\r\n.\r\n", SMTP_EV_DATA_END},
        {"EHLO c.example\r\nMAIL FROM:<a@c.example>\r\nRCPT TO:<b@m.example>\r\nDATA\r\n",
         ".\r\n", SMTP_EV_DATA_END},
    };
    size_t i, k;
    struct sess *base = malloc(sizeof *base), *x = malloc(sizeof *x);
    union smtp_event ev;
    if (!base || !x)
        abort();
    for (i = 0; i < sizeof t / sizeof t[0]; i++) {
        size_t n = strlen(t[i].cmd);
        int st;
        sess_init(base, NULL);
        st = feed_str(base, t[i].setup, -99, &ev);
        CHECK_EQ(st, SMTP_NEED_INPUT);
        for (k = 0; k < n; k++) {
            char *p = exact(t[i].cmd, k);
            size_t used = 99, out_before;
            *x = *base;
            out_before = x->out_len;
            /* a data prefix may give EV_BODY chunks, never the end */
            x->in = p;
            x->len = k;
            for (;;) {
                st = smtp_feed(&x->s, x->in, x->len, &used, &ev);
                x->in += used;
                x->len -= used;
                if (st != SMTP_EV_BODY || t[i].ev != SMTP_EV_DATA_END)
                    break;
            }
            if (st != SMTP_NEED_INPUT || x->len != 0)
                printf("  prefix %zu of '%.*s': %s, %zu left\n", k, (int)(n - 2), t[i].cmd,
                       smtp_event_name(st), x->len);
            CHECK_EQ(st, SMTP_NEED_INPUT);
            CHECK_EQ(x->len, 0);
            drain(x);
            CHECK_EQ(x->out_len, out_before);
            free(p);
            /* the rest completes it */
            p = exact(t[i].cmd + k, n - k);
            x->in = p;
            x->len = n - k;
            st = until(x, t[i].ev, &ev);
            CHECK_EQ(st, t[i].ev);
            free(p);
        }
    }
    free(base);
    free(x);
}

/* Two sessions fed in turns, a byte at a time, give what each gives alone. */
static void test_two_sessions(void)
{
    static const char *const in[2] = {
        "EHLO one.example\r\nMAIL FROM:<a@one.example>\r\nRCPT TO:<b@x.example>\r\n"
        "DATA\r\none\r\n.\r\nQUIT\r\n",
        "HELO two.example\r\nNOOP\r\nBOGUS\r\nMAIL FROM:<c@two.example>\r\nRSET\r\nQUIT\r\n"};
    struct smtp_config cfg[2];
    struct sess *alone = malloc(sizeof *alone), *both = malloc(2 * sizeof *both);
    char expect[2][4096];
    size_t pos[2] = {0, 0}, i;
    int turn, done[2] = {0, 0};
    union smtp_event ev0;
    if (!alone || !both)
        abort();
    for (i = 0; i < 2; i++) {
        smtp_config_default(&cfg[i]);
        cfg[i].hostname = i ? "second.example" : "first.example";
        cfg[i].options = i ? SMTP_OPT_NO_ESMTP : 0;
        sess_init(alone, &cfg[i]);
        feed_str(alone, in[i], -99, &ev0);
        memcpy(expect[i], alone->out, alone->out_len + 1);
        CHECK(strstr(expect[i], "221 ") != NULL);
        sess_init(&both[i], &cfg[i]);
    }
    for (turn = 0; !(done[0] && done[1]); turn ^= 1) {
        struct sess *x = &both[turn];
        union smtp_event ev;
        size_t used;
        int st;
        if (done[turn])
            continue;
        st = smtp_feed(&x->s, in[turn] + pos[turn], pos[turn] < strlen(in[turn]) ? 1 : 0,
                       &used, &ev);
        pos[turn] += used;
        drain(x);
        if (st == SMTP_CLOSED || (st == SMTP_NEED_INPUT && pos[turn] == strlen(in[turn])))
            done[turn] = 1;
        if (turn == 1 && pos[1] == 20) {
            /* and move one of them by struct copy mid-stream */
            static struct sess moved;
            moved = both[1];
            memset(&both[1], 0, sizeof both[1]);
            both[1] = moved;
        }
    }
    CHECK(strcmp(both[0].out, expect[0]) == 0);
    CHECK(strcmp(both[1].out, expect[1]) == 0);
    CHECK(strstr(both[0].out, "first.example") && !strstr(both[0].out, "second.example"));
    CHECK(strstr(both[1].out, "second.example") && !strstr(both[1].out, "first.example"));
    free(alone);
    free(both);
}

static void test_closed(void)
{
    struct sess *x = malloc(sizeof *x);
    union smtp_event ev;
    size_t used;
    int st;
    if (!x)
        abort();
    sess_init(x, NULL);
    CHECK_EQ(smtp_closed(&x->s), 0);
    st = feed_str(x, "QUIT\r\nNOOP\r\n", -99, &ev);
    CHECK_EQ(st, SMTP_CLOSED);
    CHECK_EQ(smtp_closed(&x->s), 1);
    CHECK_EQ(x->len, 6); /* NOOP never taken */
    st = smtp_feed(&x->s, x->in, x->len, &used, &ev);
    CHECK_EQ(st, SMTP_CLOSED);
    CHECK_EQ(used, 0);
    CHECK(starts(last_line(x), "221 "));
    /* smtp_init() reuses a session */
    smtp_init(&x->s, NULL);
    CHECK_EQ(smtp_closed(&x->s), 0);
    x->out_len = 0;
    CHECK_EQ(feed_str(x, "NOOP\r\n", SMTP_EV_NOOP, &ev), SMTP_EV_NOOP);
    free(x);
}

static void test_shutdown(void)
{
    struct sess *x = malloc(sizeof *x);
    union smtp_event ev;
    size_t used;
    int st, i;
    if (!x)
        abort();
    /* now != 0 with a decision waiting: the decision is dropped */
    CHECK_EQ(reach_event(x, SMTP_EV_RCPT, &ev), SMTP_EV_RCPT);
    smtp_shutdown(&x->s, 1, SMTP_BYE_SHUTDOWN);
    CHECK_EQ(smtp_reply(&x->s, 250, NULL, NULL), SMTP_ERR_STATE);
    drain(x);
    CHECK(starts(last_line(x), "421 "));
    CHECK(strstr(last_line(x), "localhost") != NULL);
    for (i = 0; i < 2; i++) {
        st = smtp_feed(&x->s, "NOOP\r\n", 6, &used, &ev);
        CHECK_EQ(st, SMTP_CLOSED);
        CHECK_EQ(used, 0);
    }
    CHECK_EQ(smtp_closed(&x->s), 1);
    /* now == 0: the next command gets 421 */
    sess_init(x, NULL);
    CHECK_EQ(feed_str(x, "NOOP\r\n", -99, &ev), SMTP_NEED_INPUT);
    smtp_shutdown(&x->s, 0, SMTP_BYE_SHUTDOWN);
    CHECK_EQ(smtp_closed(&x->s), 0);
    CHECK_EQ(feed_str(x, "NOOP\r\n", -99, &ev), SMTP_CLOSED);
    CHECK(starts(last_line(x), "421 "));
    /* after QUIT, with its 221 not yet taken: no 421 is added behind it */
    sess_init(x, NULL);
    CHECK_EQ(feed_str(x, "QUIT\r\n", SMTP_EV_QUIT, &ev), SMTP_EV_QUIT);
    smtp_shutdown(&x->s, 1, SMTP_BYE_SHUTDOWN);
    smtp_shutdown(&x->s, 0, SMTP_BYE_SHUTDOWN);
    drain(x);
    CHECK(starts(last_line(x), "221 "));
    CHECK_EQ(smtp_feed(&x->s, "NOOP\r\n", 6, &used, &ev), SMTP_CLOSED);
    CHECK(starts(last_line(x), "221 "));
    free(x);
}

static void test_reply_text(void)
{
    struct sess *x = malloc(sizeof *x);
    union smtp_event ev;
    char big[3000];
    size_t i, start;
    if (!x)
        abort();
    /* EHLO: the text follows the hostname, the extensions still come */
    CHECK_EQ(reach_event(x, SMTP_EV_EHLO, &ev), SMTP_EV_EHLO);
    CHECK_EQ(smtp_reply(&x->s, 250, NULL, "Hello there"), SMTP_OK);
    drain(x);
    CHECK(strstr(x->out, "250-localhost Hello there\r\n") != NULL);
    CHECK(strstr(x->out, "250-PIPELINING\r\n") != NULL);
    /* a huge multi-line text: cut, every line <= 512 octets, one final line */
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = 0;
    for (i = 100; i < sizeof big - 1; i += 700)
        big[i] = '\n';
    CHECK_EQ(reach_event(x, SMTP_EV_HELP, &ev), SMTP_EV_HELP);
    start = x->out_len;
    CHECK_EQ(smtp_reply(&x->s, 214, NULL, big), SMTP_OK);
    drain(x);
    CHECK(x->out_len > start);
    CHECK(x->out_len - start <= SMTP_REPLY_MAX);
    {
        size_t ls = start, finals = 0;
        for (i = start; i + 1 < x->out_len; i++) {
            if (x->out[i] == '\r' && x->out[i + 1] == '\n') {
                CHECK(i + 2 - ls <= 512);
                CHECK(memcmp(x->out + ls, "214", 3) == 0);
                finals += x->out[ls + 3] == ' ';
                ls = i + 2;
            }
        }
        CHECK_EQ(ls, x->out_len);
        CHECK_EQ(finals, 1);
        CHECK(x->out[ls - 2] == '\r');
    }
    free(x);
}

static void test_config_clamp(void)
{
    struct smtp_config c;
    struct sess *x = malloc(sizeof *x);
    union smtp_event ev;
    char line[SMTP_LINE_MAX + 8];
    size_t n;
    if (!x)
        abort();
    smtp_config_default(&c);
    c.max_line = 65535; /* above the cap: clamped to SMTP_LINE_MAX */
    c.max_rcpt = 0;     /* zero: the default */
    sess_init(x, &c);
    /* a line of exactly SMTP_LINE_MAX octets with CRLF passes */
    n = SMTP_LINE_MAX - 2;
    memcpy(line, "NOOP ", 5);
    memset(line + 5, 'x', n - 5);
    memcpy(line + n, "\r\n", 3);
    CHECK_EQ(feed_str(x, line, SMTP_EV_NOOP, &ev), SMTP_EV_NOOP);
    drain(x);
    /* one more octet: 500 */
    memset(line + 5, 'x', n - 4);
    memcpy(line + n + 1, "\r\n", 3);
    CHECK_EQ(feed_str(x, line, -99, &ev), SMTP_NEED_INPUT);
    CHECK(starts(last_line(x), "500"));
    free(x);
}

/* ---------------------------------------------------------- parse helpers */

struct path_case {
    const char *in;
    size_t n; /* 0: strlen */
    unsigned flags;
    int rc;
    const char *mailbox, *local, *domain;
    size_t len;
};

static void test_parse_path(void)
{
    static const struct path_case t[] = {
        {"<a@b.example>", 0, 0, SMTP_OK, "a@b.example", "a", "b.example", 13},
        {"<a@b.example> SIZE=10", 0, 0, SMTP_OK, "a@b.example", "a", "b.example", 13},
        {"<First.Last@Sub.B.example>", 0, 0, SMTP_OK, "First.Last@Sub.B.example", "First.Last",
         "Sub.B.example", 26},
        {"<>", 0, SMTP_PATH_NULL_OK, SMTP_OK, "", "", "", 2},
        {"<>", 0, 0, SMTP_ERR_SYNTAX, 0, 0, 0, 0},
        {"<Postmaster>", 0, SMTP_PATH_POSTMASTER, SMTP_OK, "Postmaster", "Postmaster", "", 12},
        {"<pOSTMASTER>", 0, SMTP_PATH_POSTMASTER, SMTP_OK, "pOSTMASTER", "pOSTMASTER", "", 12},
        {"<Postmaster>", 0, 0, SMTP_ERR_SYNTAX, 0, 0, 0, 0},
        {"<@r.example:a@b.example>", 0, 0, SMTP_OK, "a@b.example", "a", "b.example", 24},
        {"<@r.example,@s.example:a@b.example>", 0, 0, SMTP_OK, "a@b.example", "a", "b.example",
         35},
        {"<\"a b\"@b.example>", 0, 0, SMTP_OK, "\"a b\"@b.example", "\"a b\"", "b.example", 17},
        {"<\"a\\\"b\"@b.example>", 0, 0, SMTP_OK, "\"a\\\"b\"@b.example", "\"a\\\"b\"",
         "b.example", 18},
        {"<a@[192.0.2.1]>", 0, 0, SMTP_OK, "a@[192.0.2.1]", "a", "[192.0.2.1]", 15},
        {"<a@[IPv6:2001:db8::1]>", 0, 0, SMTP_OK, "a@[IPv6:2001:db8::1]", "a",
         "[IPv6:2001:db8::1]", 22},
#ifndef SMTP_NO_SMTPUTF8
        {"<j\xc3\xb6@b.example>", 0, SMTP_PATH_UTF8, SMTP_OK, "j\xc3\xb6@b.example", "j\xc3\xb6",
         "b.example", 15},
#endif
        {"<j\xc3\xb6@b.example>", 0, 0, SMTP_ERR_UTF8, 0, 0, 0, 0},
        {"", 0, 0, SMTP_ERR_SYNTAX, 0, 0, 0, 0},
        {"<", 0, 0, SMTP_ERR_SYNTAX, 0, 0, 0, 0},
        {"<a@b.example", 0, 0, SMTP_ERR_SYNTAX, 0, 0, 0, 0},
        {"<a@b.example>", 12, 0, SMTP_ERR_SYNTAX, 0, 0, 0, 0},
        {"a@b.example", 0, 0, SMTP_ERR_SYNTAX, 0, 0, 0, 0},
        {"<a@>", 0, 0, SMTP_ERR_SYNTAX, 0, 0, 0, 0},
        {"<@b.example>", 0, 0, SMTP_ERR_SYNTAX, 0, 0, 0, 0},
        {"<a>", 0, 0, SMTP_ERR_SYNTAX, 0, 0, 0, 0},
        {"<a..b@c.example>", 0, 0, SMTP_ERR_SYNTAX, 0, 0, 0, 0},
        {"<.a@c.example>", 0, 0, SMTP_ERR_SYNTAX, 0, 0, 0, 0},
        {"<a@b..example>", 0, 0, SMTP_ERR_SYNTAX, 0, 0, 0, 0},
        {"<a@-b.example>", 0, 0, SMTP_ERR_SYNTAX, 0, 0, 0, 0},
        {"<a b@c.example>", 0, 0, SMTP_ERR_SYNTAX, 0, 0, 0, 0},
        {"<\"ab@c.example>", 0, 0, SMTP_ERR_SYNTAX, 0, 0, 0, 0},
        {"<@r.example:>", 0, 0, SMTP_ERR_SYNTAX, 0, 0, 0, 0},
        {"<@r.example,a@b.example>", 0, 0, SMTP_ERR_SYNTAX, 0, 0, 0, 0},
        {"<a@[192.0.2.256]>", 0, 0, SMTP_ERR_SYNTAX, 0, 0, 0, 0},
        {"<a@b\0c.example>", 15, 0, SMTP_ERR_SYNTAX, 0, 0, 0, 0},
        {"<a\rb@c.example>", 0, 0, SMTP_ERR_SYNTAX, 0, 0, 0, 0},
    };
    size_t i;
    for (i = 0; i < sizeof t / sizeof t[0]; i++) {
        size_t n = t[i].n ? t[i].n : strlen(t[i].in);
        char *p = exact(t[i].in, n);
        struct smtp_path out;
        int rc;
        memset(&out, 0x5a, sizeof out);
        rc = smtp_parse_path(p, n, t[i].flags, &out);
        if (rc != t[i].rc)
            printf("  smtp_parse_path(\"%s\") = %s, expected %s\n", t[i].in, smtp_err_name(rc),
                   smtp_err_name(t[i].rc));
        CHECK_EQ(rc, t[i].rc);
        if (rc == SMTP_OK && t[i].rc == SMTP_OK) {
            CHECK(out.mailbox.len == strlen(t[i].mailbox) &&
                  memcmp(out.mailbox.ptr, t[i].mailbox, out.mailbox.len) == 0);
            CHECK(out.local.len == strlen(t[i].local) &&
                  memcmp(out.local.ptr, t[i].local, out.local.len) == 0);
            CHECK(out.domain.len == strlen(t[i].domain) &&
                  (out.domain.len == 0 || memcmp(out.domain.ptr, t[i].domain, out.domain.len) == 0));
            CHECK_EQ(out.len, t[i].len);
            /* spans point into the input */
            CHECK(out.mailbox.len == 0 || (out.mailbox.ptr >= p && out.mailbox.ptr + out.mailbox.len <= p + n));
            CHECK(out.mailbox.ptr && out.local.ptr && out.domain.ptr);
        }
        free(p);
    }
    /* p may be NULL when n is 0 */
    {
        struct smtp_path out;
        CHECK(smtp_parse_path(NULL, 0, SMTP_PATH_NULL_OK, &out) < 0);
    }
}

/* Builds "<L@D>" with given lengths of local-part and domain labels. */
static size_t make_path(char *buf, size_t local, const size_t *labels, size_t nlabels)
{
    size_t n = 0, i;
    buf[n++] = '<';
    memset(buf + n, 'l', local);
    n += local;
    buf[n++] = '@';
    for (i = 0; i < nlabels; i++) {
        if (i)
            buf[n++] = '.';
        memset(buf + n, (char)('a' + i), labels[i]);
        n += labels[i];
    }
    buf[n++] = '>';
    return n;
}

static void test_parse_path_limits(void)
{
    char buf[600];
    struct smtp_path out;
    size_t n;
    const size_t short_dom[] = {7}, d189[] = {63, 63, 61}, d190[] = {63, 63, 62},
                 label64[] = {64, 7};
    if (SMTP_LOCAL_MAX == 64) {
        n = make_path(buf, 64, short_dom, 1);
        CHECK_EQ(smtp_parse_path(buf, n, 0, &out), SMTP_OK);
        n = make_path(buf, 65, short_dom, 1);
        CHECK_EQ(smtp_parse_path(buf, n, 0, &out), SMTP_ERR_LOCAL_LEN);
    }
    if (SMTP_PATH_MAX == 256 && SMTP_LOCAL_MAX >= 64 && SMTP_DOMAIN_MAX >= 190) {
        n = make_path(buf, 64, d189, 3);
        CHECK_EQ(n, 256);
        CHECK_EQ(smtp_parse_path(buf, n, 0, &out), SMTP_OK);
        CHECK_EQ(out.len, 256);
        n = make_path(buf, 64, d190, 3);
        CHECK_EQ(n, 257);
        CHECK_EQ(smtp_parse_path(buf, n, 0, &out), SMTP_ERR_PATH_LEN);
    }
    n = make_path(buf, 1, label64, 2);
    CHECK_EQ(smtp_parse_path(buf, n, 0, &out), SMTP_ERR_DOMAIN_LEN);
}

static void test_parse_domain(void)
{
    static const struct {
        const char *in;
        int lit, rc;
    } t[] = {
        {"example", 0, SMTP_OK},
        {"a.b.c", 0, SMTP_OK},
        {"a-b.example", 0, SMTP_OK},
        {"a--b.example", 0, SMTP_OK},
        {"123.example", 0, SMTP_OK},
        {"x", 0, SMTP_OK},
        {"Beta.ARPA", 0, SMTP_OK},
        {"[192.0.2.1]", 1, SMTP_OK},
        {"[0.0.0.0]", 1, SMTP_OK},
        {"[255.255.255.255]", 1, SMTP_OK},
        {"[IPv6:::1]", 1, SMTP_OK},
        {"[IPv6:::]", 1, SMTP_OK},
        {"[IPv6:2001:db8::1]", 1, SMTP_OK},
        {"[IPv6:1:2:3:4:5:6:7:8]", 1, SMTP_OK},
        {"[IPv6:::ffff:192.0.2.1]", 1, SMTP_OK},
        {"[IPv6:1:2:3:4:5:6:192.0.2.1]", 1, SMTP_OK},
        {"[x-tag:content]", 1, SMTP_OK},
        {"[192.0.2.1]", 0, SMTP_ERR_SYNTAX},
        {"", 0, SMTP_ERR_SYNTAX},
        {"", 1, SMTP_ERR_SYNTAX},
        {".", 0, SMTP_ERR_SYNTAX},
        {"a.", 0, SMTP_ERR_SYNTAX},
        {".a", 0, SMTP_ERR_SYNTAX},
        {"a..b", 0, SMTP_ERR_SYNTAX},
        {"-a", 0, SMTP_ERR_SYNTAX},
        {"a-", 0, SMTP_ERR_SYNTAX},
        {"a_b", 0, SMTP_ERR_SYNTAX},
        {"a b", 0, SMTP_ERR_SYNTAX},
        {"a\xc3\xa9", 0, SMTP_ERR_SYNTAX},
        {"[256.0.0.1]", 1, SMTP_ERR_SYNTAX},
        {"[1.2.3]", 1, SMTP_ERR_SYNTAX},
        {"[1.2.3.4.5]", 1, SMTP_ERR_SYNTAX},
        {"[1.2.3.4", 1, SMTP_ERR_SYNTAX},
        {"[]", 1, SMTP_ERR_SYNTAX},
        {"[IPv6:1::2::3]", 1, SMTP_ERR_SYNTAX},
        {"[IPv6:12345::]", 1, SMTP_ERR_SYNTAX},
        {"[IPv6:1:2:3:4:5:6:7]", 1, SMTP_ERR_SYNTAX},
        {"[IPv6:1:2:3:4:5:6:7:8:9]", 1, SMTP_ERR_SYNTAX},
        {"[IPv6:g::1]", 1, SMTP_ERR_SYNTAX},
        {"[IPv6:1:2:3:4:5:6:7::8]", 1, SMTP_ERR_SYNTAX},
    };
    size_t i;
    char buf[300];
    for (i = 0; i < sizeof t / sizeof t[0]; i++) {
        size_t n = strlen(t[i].in);
        char *p = exact(t[i].in, n);
        int rc = smtp_parse_domain(p, n, t[i].lit);
        /* the result may be a more specific error than SYNTAX; OK is OK */
        if ((rc == SMTP_OK) != (t[i].rc == SMTP_OK))
            printf("  smtp_parse_domain(\"%s\", %d) = %s, expected %s\n", t[i].in, t[i].lit,
                   smtp_err_name(rc), smtp_err_name(t[i].rc));
        CHECK((rc == SMTP_OK) == (t[i].rc == SMTP_OK));
        CHECK(rc <= 0 && rc >= SMTP__ERR_LAST);
        free(p);
    }
    /* a NUL inside the span */
    CHECK(smtp_parse_domain("a\0b", 3, 0) < 0);
    CHECK(smtp_parse_domain(NULL, 0, 1) < 0);
    /* labels of 63 and 64, domains of 255 and 256 */
    memset(buf, 'a', 63);
    CHECK_EQ(smtp_parse_domain(buf, 63, 0), SMTP_OK);
    memset(buf, 'a', 64);
    CHECK_EQ(smtp_parse_domain(buf, 64, 0), SMTP_ERR_DOMAIN_LEN);
    if (SMTP_DOMAIN_MAX == 255) {
        memset(buf, 'b', 255);
        buf[63] = buf[127] = buf[191] = '.';
        CHECK_EQ(smtp_parse_domain(buf, 255, 0), SMTP_OK);
        buf[255] = 'b';
        CHECK_EQ(smtp_parse_domain(buf, 256, 0), SMTP_ERR_DOMAIN_LEN);
    }
}

static void test_parse_u64(void)
{
    static const struct {
        const char *in;
        int rc;
        uint64_t v; /* checked when OK, or when too large (UINT64_MAX) */
    } t[] = {
        {"0", SMTP_OK, 0},
        {"1", SMTP_OK, 1},
        {"000123", SMTP_OK, 123},
        {"4294967295", SMTP_OK, 4294967295u},
        {"4294967296", SMTP_OK, 4294967296ull},
        {"10485760", SMTP_OK, 10485760},
        {"18446744073709551614", SMTP_OK, 18446744073709551614ull},
        {"18446744073709551615", SMTP_OK, UINT64_MAX},
        {"00000000000000000000000000000042", SMTP_OK, 42},
        {"18446744073709551616", SMTP_ERR_SYNTAX, UINT64_MAX},
        {"18446744073709551617", SMTP_ERR_SYNTAX, UINT64_MAX},
        {"18446744073709551625", SMTP_ERR_SYNTAX, UINT64_MAX},
        {"36893488147419103232", SMTP_ERR_SYNTAX, UINT64_MAX},
        {"99999999999999999999", SMTP_ERR_SYNTAX, UINT64_MAX},
        {"184467440737095516150", SMTP_ERR_SYNTAX, UINT64_MAX},
        {"999999999999999999999999999999999999", SMTP_ERR_SYNTAX, UINT64_MAX},
        {"", SMTP_ERR_SYNTAX, 0},
        {"-1", SMTP_ERR_SYNTAX, 0},
        {"+1", SMTP_ERR_SYNTAX, 0},
        {" 1", SMTP_ERR_SYNTAX, 0},
        {"1 ", SMTP_ERR_SYNTAX, 0},
        {"1a", SMTP_ERR_SYNTAX, 0},
        {"0x10", SMTP_ERR_SYNTAX, 0},
        {"1.5", SMTP_ERR_SYNTAX, 0},
    };
    size_t i;
    for (i = 0; i < sizeof t / sizeof t[0]; i++) {
        size_t n = strlen(t[i].in);
        char *p = exact(t[i].in, n);
        uint64_t v = 12345;
        int rc = smtp_parse_u64(p, n, &v);
        if (rc != t[i].rc)
            printf("  smtp_parse_u64(\"%s\") = %s\n", t[i].in, smtp_err_name(rc));
        CHECK_EQ(rc, t[i].rc);
        if (t[i].rc == SMTP_OK || t[i].v == UINT64_MAX) {
            if (v != t[i].v)
                printf("  smtp_parse_u64(\"%s\") gave %llu\n", t[i].in, (unsigned long long)v);
            CHECK(v == t[i].v);
        }
        free(p);
    }
    /* a span that stops before more digits */
    {
        uint64_t v = 0;
        CHECK_EQ(smtp_parse_u64("12345", 2, &v), SMTP_OK);
        CHECK(v == 12);
        CHECK_EQ(smtp_parse_u64(NULL, 0, &v), SMTP_ERR_SYNTAX);
    }
}

/* ------------------------------------------------------------------ main */

/* smtp_tls_done(): only right after smtp_init() (implicit TLS) or after
 * STARTTLS's 220; never twice, never mid-session (RFC 3207 4.2). */
static void test_tls_done(void)
{
    struct sess *x = malloc(sizeof *x);
    struct smtp_config c;
    union smtp_event ev;
    if (!x)
        abort();
    smtp_config_default(&c);
    c.extensions |= SMTP_EXT_STARTTLS;
#ifdef SMTP_NO_STARTTLS
    /* compiled out: never in a TLS state, STARTTLS is 502 */
    sess_init(x, &c);
    CHECK_EQ(smtp_tls_done(&x->s), SMTP_ERR_STATE);
    CHECK_EQ(feed_str(x, "EHLO c.example\r\nSTARTTLS\r\n", -99, &ev), SMTP_NEED_INPUT);
    CHECK(starts(last_line(x), "502 "));
#else
    /* implicit TLS: right after smtp_init(), then the greeting as usual and
     * EHLO does not offer STARTTLS */
    sess_init(x, &c);
    CHECK_EQ(smtp_tls_done(&x->s), SMTP_OK);
    CHECK_EQ(feed_str(x, "EHLO c.example\r\n", -99, &ev), SMTP_NEED_INPUT);
    CHECK(starts(x->out, "220 "));
    CHECK(strstr(x->out, "STARTTLS") == NULL);
    CHECK(starts(last_line(x), "250 "));
    CHECK_EQ(feed_str(x, "STARTTLS\r\n", -99, &ev), SMTP_NEED_INPUT);
    CHECK(starts(last_line(x), "503 "));
    CHECK_EQ(smtp_tls_done(&x->s), SMTP_ERR_STATE);

    /* mid-session, before STARTTLS: refused and nothing changes */
    sess_init(x, &c);
    CHECK_EQ(feed_str(x, "EHLO c.example\r\n", -99, &ev), SMTP_NEED_INPUT);
    CHECK(strstr(x->out, "250-STARTTLS") != NULL || strstr(x->out, "250 STARTTLS") != NULL);
    CHECK_EQ(smtp_tls_done(&x->s), SMTP_ERR_STATE);
    CHECK_EQ(feed_str(x, "MAIL FROM:<a@b.example>\r\n", -99, &ev), SMTP_NEED_INPUT);
    CHECK(starts(last_line(x), "250 2.1.0"));
    CHECK_EQ(smtp_tls_done(&x->s), SMTP_ERR_STATE);
    CHECK_EQ(feed_str(x, "RCPT TO:<c@d.example>\r\n", -99, &ev), SMTP_NEED_INPUT);
    CHECK(starts(last_line(x), "250 2.1.5")); /* the transaction went on */
    CHECK_EQ(feed_str(x, "RSET\r\n", -99, &ev), SMTP_NEED_INPUT);

    /* EV_STARTTLS waiting for its decision: not yet */
    CHECK_EQ(feed_str(x, "STARTTLS\r\n", SMTP_EV_STARTTLS, &ev), SMTP_EV_STARTTLS);
    CHECK_EQ(smtp_tls_done(&x->s), SMTP_ERR_STATE);
    CHECK_EQ(smtp_reply(&x->s, 220, NULL, NULL), SMTP_OK);
    drain(x);
    CHECK(starts(last_line(x), "220 2.0.0"));
    /* plaintext after the 220 is taken and dropped */
    CHECK_EQ(feed_str(x, "MAIL FROM:<evil@x>\r\n", -99, &ev), SMTP_NEED_INPUT);
    CHECK_EQ(x->len, 0);
    CHECK(starts(last_line(x), "220 2.0.0"));
    CHECK_EQ(smtp_tls_done(&x->s), SMTP_OK);
    CHECK_EQ(smtp_tls_done(&x->s), SMTP_ERR_STATE); /* not twice */
    CHECK_EQ(feed_str(x, "RCPT TO:<c@d.example>\r\n", -99, &ev), SMTP_NEED_INPUT);
    CHECK(starts(last_line(x), "503 ")); /* the MAIL never ran */

    /* refused with 454: no TLS state */
    sess_init(x, &c);
    CHECK_EQ(feed_str(x, "EHLO c.example\r\nSTARTTLS\r\n", SMTP_EV_STARTTLS, &ev), SMTP_EV_STARTTLS);
    CHECK_EQ(smtp_reply(&x->s, 454, NULL, NULL), SMTP_OK);
    drain(x);
    CHECK(starts(last_line(x), "454 4.7.0"));
    CHECK_EQ(smtp_tls_done(&x->s), SMTP_ERR_STATE);
    CHECK_EQ(feed_str(x, "NOOP\r\n", -99, &ev), SMTP_NEED_INPUT);
    CHECK(starts(last_line(x), "250 "));

    /* after the session ended: no */
    sess_init(x, &c);
    CHECK_EQ(feed_str(x, "QUIT\r\n", -99, &ev), SMTP_CLOSED);
    CHECK_EQ(smtp_tls_done(&x->s), SMTP_ERR_STATE);
    CHECK_EQ(smtp_closed(&x->s), 1);
#endif
    free(x);
}

/* smtp_shutdown() between STARTTLS's 220 and smtp_tls_done(): now != 0
 * ends the session with no plaintext reply; now == 0 answers the first
 * command inside TLS with 421. */
static void test_tls_shutdown(void)
{
#ifndef SMTP_NO_STARTTLS
    struct sess *x = malloc(sizeof *x);
    struct smtp_config c;
    union smtp_event ev;
    size_t used, n;
    int st;
    if (!x)
        abort();
    smtp_config_default(&c);
    c.extensions |= SMTP_EXT_STARTTLS;
    sess_init(x, &c);
    CHECK_EQ(feed_str(x, "EHLO c.example\r\nSTARTTLS\r\nQUIT\r\n", -99, &ev), SMTP_NEED_INPUT);
    CHECK(starts(last_line(x), "220 2.0.0"));
    smtp_shutdown(&x->s, 1, SMTP_BYE_SHUTDOWN);
    CHECK(smtp_output(&x->s, &n) == NULL);
    CHECK_EQ(n, 0);
    CHECK_EQ(smtp_closed(&x->s), 1);
    st = smtp_feed(&x->s, "NOOP\r\n", 6, &used, &ev);
    CHECK_EQ(st, SMTP_CLOSED);
    CHECK_EQ(used, 0);
    CHECK(smtp_output(&x->s, &n) == NULL);
    CHECK_EQ(smtp_tls_done(&x->s), SMTP_ERR_STATE);
    CHECK_EQ(smtp_closed(&x->s), 1);

    sess_init(x, &c);
    CHECK_EQ(feed_str(x, "EHLO c.example\r\nSTARTTLS\r\n", -99, &ev), SMTP_NEED_INPUT);
    smtp_shutdown(&x->s, 0, SMTP_BYE_SHUTDOWN);
    CHECK(smtp_output(&x->s, &n) == NULL);
    CHECK_EQ(smtp_closed(&x->s), 0);
    CHECK_EQ(smtp_tls_done(&x->s), SMTP_OK);
    CHECK_EQ(feed_str(x, "EHLO c.example\r\n", -99, &ev), SMTP_CLOSED);
    CHECK(starts(last_line(x), "421 "));
    free(x);
#endif
}

/* smtp_xtext_decode() (RFC 3461 4): "+" and two upper-case hex digits;
 * octets 33-126 but "+" and "=" stand for themselves. */
static void test_xtext_decode(void)
{
    static const struct {
        const char *in, *out;
    } good[] = {
        {"", ""}, {"abc", "abc"}, {"a+2Bb", "a+b"}, {"+3D", "="}, {"+20", " "},
        {"+41+42", "AB"}, {"~!", "~!"}, {"+00", "\0"}, {"+FF", "\xff"},
        {"rfc822;a+2Bb@x.example", "rfc822;a+b@x.example"},
    };
    static const char *const bad[] = {
        "+2b", "+4", "+", "a+", "+G0", "+0g", "a=b", "a b", "\x7f", "\x1f",
        "\xc3\xa9", "+2B+", "++2B",
    };
    size_t i;
    for (i = 0; i < sizeof good / sizeof good[0]; i++) {
        size_t n = strlen(good[i].in), want = strcmp(good[i].in, "+00") == 0 ? 1 : strlen(good[i].out);
        char *in = exact(good[i].in, n), *out = malloc(want ? want : 1);
        long r;
        if (!out)
            abort();
        r = smtp_xtext_decode(in, n, out, want); /* exactly big enough */
        CHECK_EQ(r, (long)want);
        if (r == (long)want)
            CHECK(memcmp(out, good[i].out, want) == 0);
        if (want) {
            /* one octet short: refused, nothing written past out[cap) */
            CHECK_EQ(smtp_xtext_decode(in, n, out, want - 1), -1);
        }
        free(in);
        free(out);
    }
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t n = strlen(bad[i]);
        char *in = exact(bad[i], n), out[64];
        long r = smtp_xtext_decode(in, n, out, sizeof out);
        if (r != -1)
            printf("  xtext '%s' gave %ld\n", bad[i], r);
        CHECK_EQ(r, -1);
        free(in);
    }
    {
        char out[8];
        CHECK_EQ(smtp_xtext_decode("a+2Bb", 5, out, sizeof out), 3);
        CHECK_EQ(smtp_xtext_decode("a+2Bb", 3, out, sizeof out), -1); /* "+2" cut */
        CHECK_EQ(smtp_xtext_decode("abc", 3, out, 0), -1);
    }
}


/* Splits x->out[from..) into reply lines; returns how many, and checks each
 * is "ddd[ -]" ... CRLF, at most 512 octets, and the last one alone final. */
static size_t reply_lines(const struct sess *x, size_t from, char lines[][520], size_t max)
{
    size_t n = 0, ls = from, i, finals = 0;
    for (i = from; i + 1 < x->out_len; i++) {
        if (x->out[i] != '\r' || x->out[i + 1] != '\n')
            continue;
        CHECK(i + 2 - ls <= 512);
        CHECK(i - ls >= 4 && (x->out[ls + 3] == ' ' || x->out[ls + 3] == '-'));
        finals += x->out[ls + 3] == ' ';
        if (n < max && i - ls < 519) {
            memcpy(lines[n], x->out + ls, i - ls);
            lines[n][i - ls] = 0;
        }
        n++;
        ls = i + 2;
    }
    CHECK_EQ(ls, x->out_len);
    CHECK_EQ(finals, 1);
    if (n)
        CHECK(x->out[x->out_len - 2] == '\r');
    return n;
}

/* The application's EHLO text is cut, never a keyword or its value: every
 * keyword the session offers is listed whole, whatever the text's length
 * and the hostname's (issue: a 420-octet text left "250 SMTPU"). */
static void test_ehlo_keywords_whole(void)
{
    static char host[256], text[700];
    struct sess *x = malloc(sizeof *x);
    struct smtp_config c;
    union smtp_event ev;
    char (*lines)[520] = malloc(40 * sizeof *lines);
    size_t len, h;
    if (!x || !lines)
        abort();
    memset(host, 'h', 255);
    host[255] = 0;
    for (h = 0; h < 2; h++) {
        for (len = 0; len < sizeof text; len += (len < 480 ? 7 : 1)) {
            char want[16][48];
            size_t nw = 0, n, i, j;
            uint32_t e;
            smtp_config_default(&c);
            c.hostname = h ? host : "mx.example";
            c.max_size = 10485760;
            c.extensions |= SMTP_EXT_CHUNKING | SMTP_EXT_BINARYMIME | SMTP_EXT_STARTTLS | SMTP_EXT_AUTH |
                            SMTP_EXT_DSN;
            c.options |= SMTP_OPT_AUTH_PLAINTEXT;
            sess_init(x, &c);
            e = x->s.cfg.extensions; /* what this build and config offer */
            if (e & SMTP_EXT_PIPELINING) strcpy(want[nw++], "PIPELINING");
            if (e & SMTP_EXT_SIZE) strcpy(want[nw++], "SIZE 10485760");
            if (e & SMTP_EXT_8BITMIME) strcpy(want[nw++], "8BITMIME");
            if (e & SMTP_EXT_ENHANCEDSTATUSCODES) strcpy(want[nw++], "ENHANCEDSTATUSCODES");
            if (e & SMTP_EXT_SMTPUTF8) strcpy(want[nw++], "SMTPUTF8");
            if (e & SMTP_EXT_LIMITS) sprintf(want[nw++], "LIMITS RCPTMAX=%u", (unsigned)x->s.cfg.max_rcpt);
            if (e & SMTP_EXT_CHUNKING) strcpy(want[nw++], "CHUNKING");
            if (e & SMTP_EXT_BINARYMIME) strcpy(want[nw++], "BINARYMIME");
            if (e & SMTP_EXT_STARTTLS) strcpy(want[nw++], "STARTTLS");
            if (e & SMTP_EXT_AUTH) strcpy(want[nw++], "AUTH PLAIN LOGIN");
            if (e & SMTP_EXT_DSN) strcpy(want[nw++], "DSN");
            memset(text, 't', len);
            text[len] = 0;
            CHECK_EQ(feed_str(x, "EHLO c.example\r\n", SMTP_EV_EHLO, &ev), SMTP_EV_EHLO);
            drain(x); /* the greeting */
            x->out_len = 0;
            CHECK_EQ(smtp_reply(&x->s, 250, NULL, text), SMTP_OK);
            drain(x);
            n = reply_lines(x, 0, lines, 40);
            CHECK_EQ(n, nw + 1);
            CHECK(x->out_len <= SMTP_REPLY_MAX);
            CHECK(strncmp(lines[0] + 4, c.hostname, strlen(c.hostname)) == 0);
            for (i = 0; i < nw && i + 1 < n; i++) {
                j = strcmp(lines[i + 1] + 4, want[i]) != 0;
                if (j)
                    printf("  text %zu: line %zu is '%s', want '%s'\n", len, i + 1, lines[i + 1], want[i]);
                CHECK_EQ(j, 0);
            }
        }
    }
    free(lines);
    free(x);
}

/* A reply that fills the buffer is cut between lines, or inside the text of
 * a line, never inside its code or enhanced code: every line carries both
 * whole (RFC 2034 3), also 421 with the hostname. */
static void test_reply_cut_keeps_codes(void)
{
    static char text[4000];
    struct sess *x = malloc(sizeof *x);
    char (*lines)[520] = malloc(600 * sizeof *lines);
    union smtp_event ev;
    size_t ll, k;
    if (!x || !lines)
        abort();
    for (k = 0; k < 2; k++) {
        unsigned code = k ? 421 : 214;
        const char *prefix = k ? "421-4.7.1 " : "214-2.0.0 ";
        for (ll = 1; ll < 600; ll += (ll < 40 ? 1 : 13)) {
            size_t i, n, pos = 0;
            while (pos + ll + 1 < sizeof text) { /* lines of ll octets */
                memset(text + pos, 'a' + (int)(pos % 26), ll);
                pos += ll;
                text[pos++] = '\n';
            }
            text[pos - 1] = 0;
            CHECK_EQ(reach_event(x, SMTP_EV_HELP, &ev), SMTP_EV_HELP);
            drain(x);
            x->out_len = 0;
            CHECK_EQ(smtp_reply(&x->s, code, k ? "4.7.1" : "2.0.0", text), SMTP_OK);
            drain(x);
            n = reply_lines(x, 0, lines, 600);
            CHECK(n >= 1);
            for (i = 0; i < n && i < 600; i++) {
                int ok = strncmp(lines[i], prefix, 4) == 0 || (lines[i][3] == ' ' && i + 1 == n);
                ok = ok && strncmp(lines[i], prefix, 3) == 0 && strncmp(lines[i] + 4, prefix + 4, 6) == 0;
                if (!ok)
                    printf("  %u, lines of %zu: line %zu is '%.20s'\n", code, ll, i, lines[i]);
                CHECK(ok);
                CHECK(strlen(lines[i]) > 10); /* never a line without its text */
            }
            if (k)
                CHECK(strncmp(lines[0] + 10, "localhost ", 10) == 0);
        }
    }
    free(lines);
    free(x);
}

/* Fields that do not apply to an event are empty: a verb without an
 * argument gives an empty arg even with trailing blanks. */
static void test_empty_fields(void)
{
    static const struct {
        const char *in;
        int ev;
    } t[] = {
        {"EHLO c.example\r\nRSET   \r\n", SMTP_EV_RSET},
        {"EHLO c.example\r\nRSET\t \r\n", SMTP_EV_RSET},
        {"EHLO c.example\r\nMAIL FROM:<a@c.example>\r\nRCPT TO:<b@m.example>\r\nDATA  \r\n", SMTP_EV_DATA},
        {"EHLO c.example\r\nQUIT  \r\n", SMTP_EV_QUIT},
        {"EHLO c.example\r\nNOOP \r\n", SMTP_EV_NOOP},
        {"EHLO c.example\r\nHELP   \r\n", SMTP_EV_HELP},
        {"EHLO   c.example   \r\n", SMTP_EV_EHLO},
    };
    struct sess *x = malloc(sizeof *x);
    union smtp_event ev;
    size_t i;
    if (!x)
        abort();
    for (i = 0; i < sizeof t / sizeof t[0]; i++) {
        sess_init(x, NULL);
        CHECK_EQ(feed_str(x, t[i].in, t[i].ev, &ev), t[i].ev);
        if (t[i].ev == SMTP_EV_EHLO)
            CHECK(ev.hello.domain.len == 9 && memcmp(ev.hello.domain.ptr, "c.example", 9) == 0);
        else if (t[i].ev == SMTP_EV_NOOP || t[i].ev == SMTP_EV_HELP)
            CHECK_EQ(ev.string.arg.len, 0);
        else if (t[i].ev == SMTP_EV_DATA)
            CHECK_EQ(ev.data.rcpts, 1);
    }
    free(x);
}


/* smtp_awaiting() and smtp_event_default() say what the core will do: the
 * decision waiting, and the reply it gives when the next smtp_feed() comes
 * first.  No caller needs its own copy of either table. */
static void test_decision_api(void)
{
    static const int evs[] = {SMTP_EV_CONNECT, SMTP_EV_HELO, SMTP_EV_EHLO, SMTP_EV_MAIL, SMTP_EV_RCPT,
                              SMTP_EV_DATA, SMTP_EV_DATA_END, SMTP_EV_VRFY, SMTP_EV_EXPN, SMTP_EV_HELP};
    struct sess *x = malloc(sizeof *x);
    union smtp_event ev;
    size_t i, used;
    if (!x)
        abort();
    for (i = 0; i < sizeof evs / sizeof evs[0]; i++) {
        char want[8];
        CHECK_EQ(reach_event(x, evs[i], &ev), evs[i]);
        CHECK_EQ(smtp_awaiting(&x->s), evs[i]);
        CHECK(smtp_event_default(evs[i]) != 0);
        CHECK_EQ(smtp_defer(&x->s), SMTP_OK);
        CHECK_EQ(smtp_awaiting(&x->s), evs[i]); /* deferred: still waiting */
        CHECK_EQ(smtp_feed(&x->s, NULL, 0, &used, &ev), SMTP_PENDING);
        CHECK_EQ(smtp_reply(&x->s, smtp_event_default(evs[i]), NULL, NULL), SMTP_OK);
        CHECK_EQ(smtp_awaiting(&x->s), 0);
        drain(x);
        snprintf(want, sizeof want, "%u", smtp_event_default(evs[i]));
        CHECK(strncmp(last_line(x), want, 3) == 0);
        /* unanswered: the next smtp_feed() gives exactly that default */
        CHECK_EQ(reach_event(x, evs[i], &ev), evs[i]);
        drain(x);
        x->out_len = 0;
        (void)smtp_feed(&x->s, NULL, 0, &used, &ev);
        CHECK_EQ(smtp_awaiting(&x->s), 0);
        drain(x);
        CHECK(x->out_len >= 3 && strncmp(x->out, want, 3) == 0);
    }
    for (i = 0; i < 4; i++) /* statuses are no decisions */
        CHECK_EQ(smtp_event_default(-(int)i), 0);
    CHECK_EQ(smtp_event_default(SMTP_EV_BODY), 0);
    CHECK_EQ(smtp_event_default(SMTP_EV_RSET), 0);
    CHECK_EQ(smtp_event_default(SMTP__EV_LAST + 1), 0);
    CHECK_EQ(smtp_event_default(SMTP_EV_AUTH), 535);
    CHECK_EQ(smtp_event_default(SMTP_EV_STARTTLS), 220);
    /* a message the core refused leaves nothing to decide */
    {
        struct smtp_config c;
        smtp_config_default(&c);
        c.max_size = 2;
        sess_init(x, &c);
        CHECK_EQ(feed_str(x, "EHLO c.example\r\nMAIL FROM:<a@c.example>\r\nRCPT TO:<b@m.example>\r\n"
                             "DATA\r\nxyz\r\n.\r\n", SMTP_EV_DATA_END, &ev), SMTP_EV_DATA_END);
        CHECK_EQ(ev.end.reject, SMTP_REJECT_SIZE);
        CHECK_EQ(smtp_awaiting(&x->s), 0);
        CHECK_EQ(smtp_defer(&x->s), SMTP_ERR_STATE);
    }
    free(x);
}

/* smtp_shutdown()'s reason picks the 421's enhanced code and text. */
static void test_shutdown_reasons(void)
{
    static const struct {
        int why;
        const char *line;
    } t[] = {
#ifndef SMTP_TERSE
        {SMTP_BYE_SHUTDOWN, "421 4.3.2 localhost Service not available"},
        {SMTP_BYE_TIMEOUT, "421 4.4.2 localhost Timeout"},
        {SMTP_BYE_BUSY, "421 4.3.2 localhost Too busy"},
        {99, "421 4.3.2 localhost Service not available"},
#else /* no texts: the codes and the hostname */
        {SMTP_BYE_SHUTDOWN, "421 4.3.2 localhost"},
        {SMTP_BYE_TIMEOUT, "421 4.4.2 localhost"},
        {SMTP_BYE_BUSY, "421 4.3.2 localhost"},
        {99, "421 4.3.2 localhost"},
#endif
    };
    struct sess *x = malloc(sizeof *x);
    union smtp_event ev;
    size_t i, now;
    if (!x)
        abort();
    for (now = 0; now < 2; now++) {
        for (i = 0; i < sizeof t / sizeof t[0]; i++) {
            sess_init(x, NULL);
            CHECK_EQ(feed_str(x, "EHLO c.example\r\n", SMTP_EV_EHLO, &ev), SMTP_EV_EHLO);
            CHECK_EQ(smtp_reply(&x->s, 250, NULL, NULL), SMTP_OK);
            drain(x);
            smtp_shutdown(&x->s, (int)now, t[i].why);
            if (!now)
                feed_str(x, "NOOP\r\n", -99, &ev);
            drain(x);
            if (!starts(last_line(x), t[i].line))
                printf("  now %zu why %d: '%s'\n", now, t[i].why, last_line(x));
            CHECK(starts(last_line(x), t[i].line));
            CHECK(smtp_closed(&x->s));
        }
    }
    free(x);
}

/* The sender: BODY=BINARYMIME is never left out of a MAIL line it was
 * asked for (binary data would go unannounced).  It needs BINARYMIME,
 * CHUNKING and 8BITMIME (whose parameter BODY= is) offered: SMTP_ERR_EXT
 * and nothing queued without 8BITMIME. */
static void test_client_binarymime(void)
{
#if !defined(SMTP_NO_CLIENT) && !defined(SMTP_NO_CHUNKING)
    static const char *const ehlo[] = {"250-x\r\n250-CHUNKING\r\n250 BINARYMIME\r\n",
                                       "250-x\r\n250-8BITMIME\r\n250-CHUNKING\r\n250 BINARYMIME\r\n"};
    static const char want[] = "MAIL FROM:<a@example.org> BODY=BINARYMIME\r\n";
    size_t k;
    for (k = 0; k < 2; k++) {
        struct smtp_client c;
        union smtp_cevent ev;
        struct smtp_mail_opts mo;
        size_t used, len;
        const char *o;
        memset(&mo, 0, sizeof mo);
        mo.body = SMTP_BODY_BINARYMIME;
        smtp_client_init(&c, NULL);
        CHECK_EQ(smtp_client_feed(&c, "220 x\r\n", 7, &used, &ev), SMTP_WANT_WRITE);
        o = smtp_client_output(&c, &len);
        CHECK(o && len >= 5 && memcmp(o, "EHLO ", 5) == 0);
        smtp_client_output_done(&c, len);
        CHECK_EQ(smtp_client_feed(&c, ehlo[k], strlen(ehlo[k]), &used, &ev), SMTP_CEV_READY);
        if (k == 0) {
            CHECK_EQ(smtp_client_mail(&c, "a@example.org", &mo), SMTP_ERR_EXT);
            CHECK(smtp_client_output(&c, &len) == NULL);
            continue;
        }
        CHECK_EQ(smtp_client_mail(&c, "a@example.org", &mo), SMTP_OK);
        o = smtp_client_output(&c, &len);
        CHECK(o && len == sizeof want - 1 && memcmp(o, want, len) == 0);
    }
#endif
}

static const struct {
    const char *name;
    void (*fn)(void);
} tests[] = {
    {"config_default", test_config_default},
    {"init_null", test_init_null},
    {"session_size", test_session_size},
    {"names", test_names},
    {"reply_codes", test_reply_codes},
    {"reply_state", test_reply_state},
    {"defer", test_defer},
    {"output_partial", test_output_partial},
    {"reply_repeat", test_reply_repeat},
    {"consumed", test_consumed},
    {"empty_spans", test_empty_spans},
    {"truncation", test_truncation},
    {"two_sessions", test_two_sessions},
    {"closed", test_closed},
    {"shutdown", test_shutdown},
    {"reply_text", test_reply_text},
    {"config_clamp", test_config_clamp},
    {"parse_path", test_parse_path},
    {"parse_path_limits", test_parse_path_limits},
    {"parse_domain", test_parse_domain},
    {"parse_u64", test_parse_u64},
    {"tls_done", test_tls_done},
    {"tls_shutdown", test_tls_shutdown},
    {"xtext_decode", test_xtext_decode},
    {"ehlo_keywords_whole", test_ehlo_keywords_whole},
    {"reply_cut_keeps_codes", test_reply_cut_keeps_codes},
    {"empty_fields", test_empty_fields},
    {"decision_api", test_decision_api},
    {"shutdown_reasons", test_shutdown_reasons},
    {"client_binarymime", test_client_binarymime},
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
    printf("unit: %d passed, %d failed\n", passed, failed);
    return failed != 0;
}
