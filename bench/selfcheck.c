/*
 * bench/selfcheck.c - a small stand-alone check of the core for targets
 * where the full test suite cannot run (cross builds under qemu-user, see
 * `make test-cross`): no sanitizers, no mmap tricks, nothing but C99 and
 * stdio.  It plays the RFC 821 example session (Smith@Alpha.ARPA mails
 * Jones, Green and Brown at Beta.ARPA; Green has no mailbox: 550), fed
 * whole, one octet at a time and split at every position, with a struct
 * copy of the session in the middle, and checks every reply code, event
 * and the message data.  Then the 64-bit arithmetic that 32-bit targets
 * get wrong: SIZE= above 2^32, smtp_parse_u64 at and past UINT64_MAX.
 * Ends with "N passed, N failed".
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../smtp.h"

static int passed, failed;

static void ok(int cond, const char *what)
{
    if (cond) {
        passed++;
    } else {
        failed++;
        printf("FAIL: %s\n", what);
    }
}

/* The RFC 821 example (appendix D / section 5), dot-stuffed on the wire:
 * "...etc. etc. etc." starts with a dot, so it is sent with one more. */
static const char session[] =
    "HELO Alpha.ARPA\r\n"
    "MAIL FROM:<Smith@Alpha.ARPA>\r\n"
    "RCPT TO:<Jones@Beta.ARPA>\r\n"
    "RCPT TO:<Green@Beta.ARPA>\r\n"
    "RCPT TO:<Brown@Beta.ARPA>\r\n"
    "DATA\r\n"
    "Blah blah blah...\r\n"
    "....etc. etc. etc.\r\n"
    ".\r\n"
    "QUIT\r\n";
static const char message[] = "Blah blah blah...\r\n...etc. etc. etc.\r\n";
static const int codes[] = {220, 250, 250, 250, 550, 250, 354, 250, 221};
#define NCODES (sizeof codes / sizeof codes[0])

struct result {
    char data[256];
    size_t data_len;
    char out[2048];
    size_t out_len;
    int events[32];
    size_t nevents;
    int bad;          /* something that cannot happen did */
    uint16_t rcpts;   /* at EV_DATA_END */
    int closed;
};

/* Feeds one piece, answering events like the RFC's receiver would. */
static size_t feed(struct smtp_session *s, const char *p, size_t n,
                   struct result *r)
{
    size_t done = 0;
    for (;;) {
        union smtp_event ev;
        size_t used = 0, olen;
        const char *out;
        int st = smtp_feed(s, p + done, n - done, &used, &ev);
        if (used > n - done)
            r->bad = 1;
        done += used;
        if (st > 0 && r->nevents < 32)
            r->events[r->nevents++] = st;
        if (st == SMTP_EV_RCPT && ev.rcpt.path.mailbox.len == 15 &&
            memcmp(ev.rcpt.path.mailbox.ptr, "Green@Beta.ARPA", 15) == 0) {
            if (smtp_reply(s, 550, NULL, "No such user here") != SMTP_OK)
                r->bad = 1;
        }
        if (st == SMTP_EV_MAIL &&
            !(ev.mail.path.mailbox.len == 16 &&
              memcmp(ev.mail.path.mailbox.ptr, "Smith@Alpha.ARPA", 16) == 0 &&
              ev.mail.path.domain.len == 10 &&
              memcmp(ev.mail.path.domain.ptr, "Alpha.ARPA", 10) == 0))
            r->bad = 1;
        if (st == SMTP_EV_BODY) {
            if (r->data_len + ev.body.data.len > sizeof r->data)
                r->bad = 1;
            else
                memcpy(r->data + r->data_len, ev.body.data.ptr, ev.body.data.len);
            r->data_len += ev.body.data.len;
        }
        if (st == SMTP_EV_DATA_END) {
            r->rcpts = ev.end.rcpts;
            if (ev.end.size != sizeof message - 1 || ev.end.reject)
                r->bad = 1;
        }
        out = smtp_output(s, &olen);
        if (olen) {
            if (r->out_len + olen > sizeof r->out)
                r->bad = 1;
            else
                memcpy(r->out + r->out_len, out, olen);
            r->out_len += olen;
            smtp_output_done(s, olen);
        }
        if (st == SMTP_CLOSED) {
            r->closed = 1;
            return done;
        }
        if (st == SMTP_PENDING) {
            r->bad = 1; /* we never defer */
            return done;
        }
        if (st == SMTP_NEED_INPUT)
            return done;
        /* SMTP_WANT_WRITE: the output was taken above; go on */
    }
}

/* Checks the reply codes in r->out against codes[]. */
static int replies_ok(const struct result *r)
{
    size_t i = 0, k = 0;
    while (i < r->out_len) {
        const char *nl = memchr(r->out + i, '\n', r->out_len - i);
        size_t len;
        if (!nl || nl == r->out + i || nl[-1] != '\r')
            return 0;
        len = (size_t)(nl - (r->out + i)) + 1;
        if (len < 6)
            return 0;
        if (r->out[i + 3] == ' ') {
            int code = (r->out[i] - '0') * 100 + (r->out[i + 1] - '0') * 10 +
                       (r->out[i + 2] - '0');
            /* HELO, not EHLO: no enhanced status codes (RFC 2034). */
            if (k >= NCODES || code != codes[k] ||
                (r->out[i + 4] >= '2' && r->out[i + 4] <= '5' &&
                 r->out[i + 5] == '.'))
                return 0;
            k++;
        } else if (r->out[i + 3] != '-') {
            return 0;
        }
        i += len;
    }
    return k == NCODES;
}

/* Runs the session split at a and b (0 < a <= b <= n): three pieces, with
 * the session copied by `=` between the second and the third. */
static int run_split(size_t a, size_t b, const char *what)
{
    struct smtp_session s1, s2;
    struct result r;
    const size_t n = sizeof session - 1;
    size_t pos = 0;
    static const int want_ev[] = {SMTP_EV_CONNECT, SMTP_EV_HELO,
                                  SMTP_EV_MAIL, SMTP_EV_RCPT, SMTP_EV_RCPT,
                                  SMTP_EV_RCPT, SMTP_EV_DATA,
                                  SMTP_EV_DATA_END, SMTP_EV_QUIT};
    size_t i, k = 0;
    int good;

    memset(&r, 0, sizeof r);
    {
        struct smtp_config cfg;
        smtp_config_default(&cfg);
        cfg.hostname = "Beta.ARPA";
        smtp_init(&s1, &cfg);
    }
    pos += feed(&s1, session, a, &r);
    if (pos == a)
        pos += feed(&s1, session + pos, b - pos, &r);
    s2 = s1; /* the state is copyable between calls */
    memset(&s1, 0xa5, sizeof s1);
    if (pos == b)
        pos += feed(&s2, session + pos, n - pos, &r);

    /* Events, leaving out EV_BODY (its count depends on the split). */
    good = 1;
    for (i = 0; i < r.nevents; i++) {
        if (r.events[i] == SMTP_EV_BODY)
            continue;
        if (k >= sizeof want_ev / sizeof *want_ev || r.events[i] != want_ev[k])
            good = 0;
        k++;
    }
    good = good && k == sizeof want_ev / sizeof *want_ev;
    good = good && !r.bad && r.closed && pos == n && r.rcpts == 2;
    good = good && r.data_len == sizeof message - 1 &&
           memcmp(r.data, message, r.data_len) == 0;
    good = good && replies_ok(&r) &&
           memcmp(r.out, "220 Beta.ARPA", 13) == 0;
    if (!good) {
        printf("FAIL: RFC 821 example session, %s (split %zu %zu): "
               "events %zu, closed %d, taken %zu of %zu, rcpts %u, data %zu "
               "octets, bad %d\n--- replies:\n%.*s---\n", what, a, b,
               r.nevents, r.closed, pos, n, (unsigned)r.rcpts, r.data_len,
               r.bad, (int)r.out_len, r.out);
    }
    return good;
}

static void check_session(void)
{
    const size_t n = sizeof session - 1;
    size_t a, b;
    int all;

    ok(run_split(n, n, "whole"), "RFC 821 session, whole");

    /* One octet at a time: split points at every octet. */
    {
        struct smtp_session s;
        struct result r;
        struct smtp_config cfg;
        size_t pos = 0;
        memset(&r, 0, sizeof r);
        smtp_config_default(&cfg);
        cfg.hostname = "Beta.ARPA";
        smtp_init(&s, &cfg);
        feed(&s, session, 0, &r);
        while (pos < n && !r.closed)
            pos += feed(&s, session + pos, 1, &r);
        ok(!r.bad && r.closed && pos == n && replies_ok(&r) &&
               r.data_len == sizeof message - 1 &&
               memcmp(r.data, message, r.data_len) == 0 && r.rcpts == 2,
           "RFC 821 session, one octet at a time");
    }

    /* Every two-point split, with a struct copy at the second point. */
    all = 1;
    for (a = 1; a <= n && all; a++)
        for (b = a; b <= n && all; b++)
            all = run_split(a, b, "split");
    ok(all, "RFC 821 session, every split with a struct copy");
}

static void check_u64(void)
{
    uint64_t v = 0;
    struct smtp_session s;
    union smtp_event ev;
    struct smtp_config cfg;
    size_t used, olen;
    static const char in[] =
        "EHLO a.example\r\nMAIL FROM:<a@a.example> SIZE=4294967297\r\n";
    const char *p = in;
    size_t n = sizeof in - 1;
    int st, seen = 0;

    ok(smtp_parse_u64("18446744073709551615", 20, &v) == SMTP_OK &&
           v == UINT64_MAX, "parse_u64 UINT64_MAX");
    ok(smtp_parse_u64("18446744073709551616", 20, &v) == SMTP_ERR_SYNTAX &&
           v == UINT64_MAX, "parse_u64 UINT64_MAX + 1 is too large");
    ok(smtp_parse_u64("4294967296", 10, &v) == SMTP_OK &&
           v == 4294967296u, "parse_u64 2^32");
    ok(smtp_parse_u64("12a", 3, &v) == SMTP_ERR_SYNTAX, "parse_u64 12a");

    /* SIZE= above 2^32 with a limit above 2^32: accepted, value intact. */
    smtp_config_default(&cfg);
    cfg.max_size = (uint64_t)1 << 33;
    smtp_init(&s, &cfg);
    for (;;) {
        st = smtp_feed(&s, p, n, &used, &ev);
        p += used;
        n -= used;
        if (st == SMTP_EV_MAIL) {
            seen = 1;
            ok(ev.mail.size == 4294967297u, "EV_MAIL size above 2^32");
        }
        smtp_output(&s, &olen);
        smtp_output_done(&s, olen);
        if (st == SMTP_NEED_INPUT || st == SMTP_CLOSED)
            break;
    }
    ok(seen, "EV_MAIL with SIZE above 2^32 was given");
}

int main(void)
{
    unsigned one = 1;
    printf("selfcheck: %s-endian, %zu-bit size_t, "
           "sizeof(struct smtp_session) = %zu\n",
           *(unsigned char *)&one ? "little" : "big", sizeof(size_t) * 8,
           sizeof(struct smtp_session));
    check_session();
    check_u64();
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
