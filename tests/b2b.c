/*
 * b2b.c - the sender and the receiver back to back, in memory: random
 * messages must arrive byte for byte (fuzz/b2b.h has the oracle).
 *
 *     b2b [--seed N] [--sessions N]
 *
 * Each session gets its own seed (the first session's seed + its number),
 * which decides everything: the receiver's extensions (PIPELINING,
 * CHUNKING, BINARYMIME, 8BITMIME), the client's options (NO_PIPELINING,
 * NO_CHUNKING), one to five messages of one to four recipients (some
 * refused, sometimes all), and every split: the receiver's input, the
 * client's body chunks, partial output acknowledgements on both sides.
 * Messages: random octets, lines starting with dots, bare CR and bare LF,
 * smuggling patterns, 998-octet lines (and some over the limit, refused
 * over DATA), empty ones, and one of 1 MB every 40 sessions.  A failure
 * prints the session's seed; `b2b --seed S --sessions 1` runs it alone.
 * Ends with "back-to-back: N passed, N failed" (one per session, then one per
 * coverage count that stayed 0).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/b2b.h"

static uint32_t rnd(uint32_t *x)
{
    return b2b_rand(x);
}

static void add(struct b2b_buf *d, const char *p, size_t n)
{
    if (!b2b_put(d, p, n)) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
}

static void add_line_end(struct b2b_buf *d, uint32_t *x)
{
    static const char *const ends[] = {"\r\n", "\r\n", "\r\n", "\n", "\r", "\r\r\n", "\n\r"};
    const char *e = ends[rnd(x) % (sizeof ends / sizeof ends[0])];
    add(d, e, strlen(e));
}

/* A line of n octets of text (with a dot first sometimes). */
static void add_text(struct b2b_buf *d, uint32_t *x, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        char o = (char)('a' + rnd(x) % 26u);
        if (i == 0 && (rnd(x) & 3u) == 0)
            o = '.';
        add(d, &o, 1);
    }
}

/* One random message into d.  kind picks its shape. */
static void make_msg(struct b2b_buf *d, uint32_t *x, unsigned kind)
{
    static const char *const smuggle[] = {
        "\r\n.\r\n", "\n.\n", "\n.\r\n", "\r\n.\n", "\r.\r", "\r\r\n.\r\n", ".\r\n", ".",
        "..\r\n", "\r\n..\r\n", "\r\n.", "\r\n.\r", "\r\nQUIT\r\n", "\r\n.\r\nRSET\r\n"};
    size_t i, n;
    d->off = d->n = 0;
    switch (kind) {
    case 0: /* empty */
        break;
    case 1: /* random octets, every value */
        n = rnd(x) % 3000u;
        for (i = 0; i < n; i++) {
            char o = (char)(rnd(x) & 0xffu);
            add(d, &o, 1);
        }
        break;
    case 2: /* lines of text, dots at their starts, mixed line ends */
        n = 1 + rnd(x) % 40u;
        for (i = 0; i < n; i++) {
            unsigned r = rnd(x) % 8u;
            if (r == 0)
                add(d, ".", 1);
            else if (r == 1)
                add(d, "..", 2);
            else
                add_text(d, x, rnd(x) % 80u);
            add_line_end(d, x);
        }
        if (rnd(x) & 1u)
            add_text(d, x, 1 + rnd(x) % 10u); /* no line end at the end */
        break;
    case 3: /* smuggling patterns between text */
        n = 1 + rnd(x) % 12u;
        for (i = 0; i < n; i++) {
            const char *s = smuggle[rnd(x) % (sizeof smuggle / sizeof smuggle[0])];
            add(d, s, strlen(s));
            if (rnd(x) & 1u)
                add_text(d, x, rnd(x) % 5u);
        }
        break;
    case 4: /* lines at the limit: 998 octets, sometimes 999 or 1000 */
        n = 1 + rnd(x) % 4u;
        for (i = 0; i < n; i++) {
            size_t len = 998;
            unsigned r = rnd(x) % 10u;
            if (r == 0)
                len = 999 + rnd(x) % 2u;
            else if (r == 1)
                len = 997;
            add_text(d, x, len);
            add_line_end(d, x);
        }
        if (rnd(x) & 1u)
            add_text(d, x, 998);
        break;
    case 5: /* one line end, CR or LF alone, or a lone dot */
    {
        static const char *const tiny[] = {"\r", "\n", "\r\n", ".", "\n\n", "\r\r", "x"};
        const char *s = tiny[rnd(x) % (sizeof tiny / sizeof tiny[0])];
        add(d, s, strlen(s));
        break;
    }
    default: /* 1 MB: text, dots, bare ends, random octets */
        while (d->n < 1024u * 1024u) {
            unsigned r = rnd(x) % 4u;
            if (r == 0) {
                char o = (char)(rnd(x) & 0xffu);
                add(d, &o, 1);
            } else if (r == 1) {
                const char *s = smuggle[rnd(x) % (sizeof smuggle / sizeof smuggle[0])];
                add(d, s, strlen(s));
            } else {
                add_text(d, x, rnd(x) % 200u);
                add_line_end(d, x);
            }
        }
        d->n = 1024u * 1024u;
        break;
    }
}

int main(int argc, char **argv)
{
    unsigned long seed = 20261205ul, sessions = 300, i, passed = 0, failed = 0;
    struct b2b_stats st;
    struct b2b_buf bodies[5];
    struct b2b *b = (struct b2b *)calloc(1, sizeof *b);
    int a;
    for (a = 1; a + 1 < argc; a += 2) {
        if (strcmp(argv[a], "--seed") == 0)
            seed = strtoul(argv[a + 1], NULL, 0);
        else if (strcmp(argv[a], "--sessions") == 0)
            sessions = strtoul(argv[a + 1], NULL, 0);
    }
    if (b == NULL)
        return 2;
    memset(&st, 0, sizeof st);
    memset(bodies, 0, sizeof bodies);
    for (i = 0; i < sessions; i++) {
        uint32_t s = (uint32_t)(seed + i), x = s * 2246822519u + 1u;
        struct b2b_cfg cfg;
        struct b2b_msg msgs[5];
        size_t k, n;
        memset(&cfg, 0, sizeof cfg);
        memset(msgs, 0, sizeof msgs);
        if (x == 0)
            x = 1;
        cfg.seed = s;
        cfg.server_ext = SMTP_EXT_DEFAULT;
        if (rnd(&x) & 1u)
            cfg.server_ext &= ~(uint32_t)SMTP_EXT_PIPELINING;
        if (rnd(&x) & 1u)
            cfg.server_ext |= SMTP_EXT_CHUNKING;
        if (rnd(&x) & 1u)
            cfg.server_ext |= SMTP_EXT_BINARYMIME;
        if ((rnd(&x) & 7u) == 0)
            cfg.server_ext &= ~(uint32_t)SMTP_EXT_8BITMIME;
        if ((rnd(&x) & 3u) == 0)
            cfg.client_opts |= SMTP_COPT_NO_PIPELINING;
        if ((rnd(&x) & 7u) == 0)
            cfg.client_opts |= SMTP_COPT_NO_CHUNKING;
        cfg.max_chunk = (rnd(&x) & 1u) ? 4096 : 65536;
        n = 1 + rnd(&x) % 5u;
        for (k = 0; k < n; k++) {
            unsigned kind = rnd(&x) % 6u;
            if (k == 0 && i % 40 == 39)
                kind = 6; /* 1 MB */
            make_msg(&bodies[k], &x, kind);
            msgs[k].p = bodies[k].p ? bodies[k].p + bodies[k].off : (const uint8_t *)"";
            msgs[k].n = bodies[k].n - bodies[k].off;
            msgs[k].binary = (rnd(&x) & 3u) == 0;
            msgs[k].nrcpt = (uint8_t)(1 + rnd(&x) % 4u);
            if ((rnd(&x) & 3u) == 0)
                msgs[k].refuse = (uint8_t)(rnd(&x) & 0xfu);
            if ((rnd(&x) % 16u) == 0)
                msgs[k].refuse = 0xff; /* every recipient refused */
        }
        if (b2b_run(b, &cfg, msgs, n, &st)) {
            passed++;
        } else {
            failed++;
            printf("FAIL session %lu: seed %lu: %s\n", i, (unsigned long)s, b->why);
            printf("     rerun: b2b --seed %lu --sessions 1\n", (unsigned long)s);
        }
        b2b_done(b);
    }
    for (i = 0; i < 5; i++)
        b2b_buf_free(&bodies[i]);
    free(b);
    printf("b2b: %lu sessions (%lu pipelined), %lu messages delivered (%lu DATA, %lu BDAT, "
           "%lu BINARYMIME, %lu with a line over 1000 refused), %lu refused for want of a "
           "recipient, %llu octets\n",
           st.sessions, st.pipelined, st.msgs, st.data, st.bdat, st.binary, st.long_line,
           st.refused_all, st.octets);
    if (sessions >= 100) { /* each kind of run happened (a check that can fail) */
        const unsigned long need[] = {st.pipelined, st.data, st.bdat, st.binary, st.long_line,
                                      st.refused_all, st.sessions - st.pipelined};
        for (i = 0; i < sizeof need / sizeof need[0]; i++) {
            if (need[i] == 0) {
                printf("FAIL coverage: count %lu of the line above is 0\n", i);
                failed++;
            }
        }
    }
    printf("back-to-back: %lu passed, %lu failed\n", passed, failed);
    return failed ? 1 : 0;
}
