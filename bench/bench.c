/*
 * bench/bench.c - in-process benchmarks of the smtp.c core.
 *
 * Every figure is printed next to a baseline measured in the same run over
 * the same bytes (memchr, memcpy, a bare line splitter), because absolute
 * speeds differ between machines and ratios travel.  Each timed loop checks
 * what the core produced (event counts, data octets, reply octets, the end
 * of the session) so a broken core cannot look fast; the content itself is
 * checked byte for byte once, untimed, before the timed runs.
 *
 *   build/bench                 all sections (what `make bench` runs)
 *   build/bench data|cmds|chunk|client|scale ...   only those sections
 *   build/bench instr           fixed small workloads for callgrind
 *                               (see bench/instr.sh)
 *
 * Sections, as in issue 6:
 *   data   1. a 256 MB body through the DATA phase vs memchr and memcpy
 *   cmds   2. pipelined sessions (EHLO, MAIL, 50 RCPT, DATA, 1 KB, QUIT)
 *             vs a memchr line splitter
 *   chunk  3. whole buffers vs 64-octet and 1-octet feeds
 *   scale  4. 64 MB / 256 MB / 1 GB messages and 62.5k / 250k / 1M
 *             pipelined commands: time per octet and peak RSS
 *   client 5. the sender's body path (smtp_client_body) over 64 MB of
 *             CRLF text, bare-LF text and text with many dot lines, the
 *             output taken one span per call and by writev-style
 *             smtp_client_output_spans(), vs memchr over the same bytes
 *
 * The scaling section runs in a child forked before anything big is
 * allocated, so its peak RSS is the core's and the streaming buffers', not
 * the 256 MB buffers of section 1.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../smtp.h"

#ifndef BENCH_FLAGS
#define BENCH_FLAGS "(unknown)"
#endif

#define MB (1024u * 1024u)

/* ------------------------------------------------------------------ util */

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "bench: FAIL: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

#define CHECK(cond, ...)                                                       \
    do {                                                                       \
        if (!(cond))                                                           \
            die(__VA_ARGS__);                                                  \
    } while (0)

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    CHECK(p != NULL, "out of memory (%zu octets)", n);
    return p;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static long peak_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* xorshift64*: deterministic, so every run uses the same bytes. */
static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545f4914f6cdd1du) >> 33) % n;
}

/* A growable output buffer for building inputs. */
struct buf {
    char *p;
    size_t len, cap;
};

static void put(struct buf *b, const void *src, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n)
            cap *= 2;
        b->p = realloc(b->p, cap);
        CHECK(b->p != NULL, "out of memory");
        b->cap = cap;
    }
    memcpy(b->p + b->len, src, n);
    b->len += n;
}

static void puts_(struct buf *b, const char *s) { put(b, s, strlen(s)); }

static void putf(struct buf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    CHECK(n >= 0 && (size_t)n < sizeof tmp, "putf overflow");
    put(b, tmp, (size_t)n);
}

/* ------------------------------------------------------- input makers */

/* Appends realistic message lines until b holds at least `target` more
 * octets: 30-78 octets of words, CRLF, an empty line now and then, and one
 * line in 25 starting with a dot (sent dot-stuffed: ".." on the wire).
 * Returns the number of stuffing dots added (the core removes them). */
static size_t gen_body(struct buf *b, size_t target, size_t *lines)
{
    static const char *const words[] = {
        "the", "message", "of", "and", "to", "a", "in", "is", "that",
        "for", "receiver", "SMTP", "mail", "data", "with", "as", "server",
        "transfer", "on", "be", "at", "by", "this", "from", "reply", "line",
        "octets", "client", "relay", "host", "Received:", "domain", "=20",
        "protocol", "example.org", "buffer", "2024", "latency", "queue"};
    size_t start = b->len, dots = 0;
    while (b->len - start < target) {
        char line[100];
        size_t n = 0, want = 30 + rnd(49);
        uint32_t kind = rnd(100);
        if (kind < 4) {
            line[n++] = '.';        /* stuffed dot */
            line[n++] = '.';
            dots++;
        } else if (kind < 10) {
            put(b, "\r\n", 2);      /* paragraph break */
            ++*lines;
            continue;
        }
        while (n < want) {
            const char *w = words[rnd(sizeof words / sizeof *words)];
            size_t wl = strlen(w);
            if (n + wl + 1 > 78)
                break;
            if (n > 0 && line[n - 1] != '.')
                line[n++] = ' ';
            memcpy(line + n, w, wl);
            n += wl;
        }
        line[n++] = '\r';
        line[n++] = '\n';
        put(b, line, n);
        ++*lines;
    }
    return dots;
}

/* One pipelined session: EHLO, MAIL, 50 RCPT, DATA, ~1 KB body, QUIT.
 * `k` varies the names so sessions are not all the same bytes. */
#define CMDS_PER_SESSION 54u /* EHLO MAIL 50xRCPT DATA QUIT */
#define RCPTS 50u
static void gen_session(struct buf *b, unsigned k, size_t *dots)
{
    struct buf body = {0};
    size_t lines = 0;
    unsigned i;
    putf(b, "EHLO client%u.example.org\r\n", k % 97);
    putf(b, "MAIL FROM:<sender%u@example.org> BODY=8BITMIME SIZE=1200\r\n",
         k);
    for (i = 0; i < RCPTS; i++)
        putf(b, "RCPT TO:<user%u.%u@mx%u.example.net>\r\n", i, k % 1000,
             i % 7);
    puts_(b, "DATA\r\n");
    *dots += gen_body(&body, 1024, &lines);
    put(b, body.p, body.len);
    free(body.p);
    puts_(b, ".\r\nQUIT\r\n");
}

/* The transaction block of the long-session scaling run: MAIL, 50 RCPT,
 * DATA, 1 KB, end of data (52 commands). */
#define CMDS_PER_BLOCK 52u
static void gen_block(struct buf *b, unsigned k, size_t *dots)
{
    struct buf body = {0};
    size_t lines = 0;
    unsigned i;
    putf(b, "MAIL FROM:<s%u@example.org>\r\n", k);
    for (i = 0; i < RCPTS; i++)
        putf(b, "RCPT TO:<u%u.%u@example.net>\r\n", i, k);
    puts_(b, "DATA\r\n");
    *dots += gen_body(&body, 1024, &lines);
    put(b, body.p, body.len);
    free(body.p);
    puts_(b, ".\r\n");
}

/* ------------------------------------------------------------- driver */

/* What the core produced; compared against a reference in timed loops. */
struct tally {
    uint64_t ev[SMTP__EV_LAST + 1];
    uint64_t body;      /* octets delivered in EV_BODY */
    uint64_t out;       /* reply octets */
    uint64_t data_end;  /* sum of EV_DATA_END size */
    uint64_t foreign;   /* EV_BODY chunks not pointing into the input */
    uint64_t rejects;   /* EV_DATA_END with reject != 0 */
    int closed;
};

/* Optional capture of everything for the untimed content check. */
struct capture {
    struct buf data, out;
};

/* Feeds p[0..n) to the session, answering every event with the default
 * reply and taking all output at once.  Returns the octets taken; stops at
 * SMTP_CLOSED. */
static size_t drive(struct smtp_session *s, const char *p, size_t n,
                    struct tally *t, struct capture *cap)
{
    const char *start = p;
    for (;;) {
        union smtp_event ev;
        size_t used = 0, olen;
        const char *out;
        int st = smtp_feed(s, p, n, &used, &ev);
        if (used > n)
            die("consumed %zu of %zu", used, n);
        p += used;
        n -= used;
        if (st > 0) {
            if (st > SMTP__EV_LAST)
                die("event %d out of range", st);
            t->ev[st]++;
            if (st == SMTP_EV_BODY) {
                t->body += ev.body.data.len;
                if (ev.body.data.ptr < start || ev.body.data.ptr + ev.body.data.len > p)
                    t->foreign++;
                if (cap)
                    put(&cap->data, ev.body.data.ptr, ev.body.data.len);
            } else if (st == SMTP_EV_DATA_END) {
                t->data_end += ev.end.size;
                if (ev.end.reject)
                    t->rejects++;
            }
        }
        out = smtp_output(s, &olen);
        if (olen) {
            t->out += olen;
            if (cap)
                put(&cap->out, out, olen);
            smtp_output_done(s, olen);
        }
        if (st == SMTP_CLOSED) {
            t->closed = 1;
            return (size_t)(p - start);
        }
        if (st == SMTP_PENDING)
            die("SMTP_PENDING without a deferral");
        if (st == SMTP_NEED_INPUT) {
            if (n != 0)
                die("NEED_INPUT with %zu octets left", n);
            return (size_t)(p - start);
        }
    }
}

/* The same, feeding at most `chunk` octets per call. */
static size_t drive_chunked(struct smtp_session *s, const char *p, size_t n,
                            size_t chunk, struct tally *t)
{
    size_t off = 0;
    while (off < n && !t->closed) {
        size_t m = n - off < chunk ? n - off : chunk;
        size_t used = drive(s, p + off, m, t, NULL);
        off += used;
        if (used < m)
            break;
    }
    return off;
}

static int tally_same(const struct tally *a, const struct tally *b)
{
    /* The number of EV_BODY chunks and `foreign` may differ with the feed
     * size (a chunk ends where the input ends; a line end split across
     * calls may come from the core's own constants); the octets may not. */
    int i;
    for (i = 0; i <= SMTP__EV_LAST; i++)
        if (i != SMTP_EV_BODY && a->ev[i] != b->ev[i])
            return 0;
    return a->body == b->body && a->out == b->out &&
           a->data_end == b->data_end && a->rejects == b->rejects &&
           a->closed == b->closed;
}

static void tally_print(const char *what, const struct tally *t)
{
    int i;
    fprintf(stderr, "%s: body=%llu out=%llu data_end=%llu rejects=%llu "
            "closed=%d events:", what, (unsigned long long)t->body,
            (unsigned long long)t->out, (unsigned long long)t->data_end,
            (unsigned long long)t->rejects, t->closed);
    for (i = 1; i <= SMTP__EV_LAST; i++)
        if (t->ev[i])
            fprintf(stderr, " %s=%llu", smtp_event_name(i),
                    (unsigned long long)t->ev[i]);
    fprintf(stderr, "\n");
}

#define CHECK_TALLY(got, want, what)                                           \
    do {                                                                       \
        if (!tally_same(got, want)) {                                          \
            tally_print("expected", want);                                     \
            tally_print("got     ", got);                                      \
            die("%s: the core's result changed between runs", what);          \
        }                                                                      \
    } while (0)

/* Splits the captured replies into final reply codes ("250-..." lines are
 * continuation lines of the next final one) and compares with `want`. */
static void check_replies(const struct buf *out, const int *want, size_t n,
                          const char *what)
{
    size_t i = 0, got = 0;
    while (i < out->len) {
        const char *nl = memchr(out->p + i, '\n', out->len - i);
        size_t len;
        CHECK(nl && nl > out->p + i && nl[-1] == '\r',
              "%s: reply not CRLF-terminated at %zu", what, i);
        len = (size_t)(nl - (out->p + i)) + 1;
        CHECK(len >= 6, "%s: short reply line at %zu", what, i);
        if (out->p[i + 3] == ' ') {
            int code = (out->p[i] - '0') * 100 + (out->p[i + 1] - '0') * 10 +
                       (out->p[i + 2] - '0');
            CHECK(got < n, "%s: more replies than expected", what);
            CHECK(code == want[got], "%s: reply %zu is %.*s, expected %d",
                  what, got, (int)(len - 2), out->p + i, want[got]);
            got++;
        } else {
            CHECK(out->p[i + 3] == '-', "%s: bad reply line %.*s", what,
                  (int)(len - 2), out->p + i);
        }
        i += len;
    }
    CHECK(got == n, "%s: %zu replies, expected %zu", what, got, n);
}

/* Unstuffs a wire body (CRLF lines, "..": "."), for the content check. */
static void unstuff(const char *p, size_t n, struct buf *b)
{
    size_t i = 0;
    while (i < n) {
        const char *nl = memchr(p + i, '\n', n - i);
        size_t len = nl ? (size_t)(nl - (p + i)) + 1 : n - i;
        if (p[i] == '.')
            put(b, p + i + 1, len - 1);
        else
            put(b, p + i, len);
        i += len;
    }
}

/* ----------------------------------------------------- machine info */

static void print_machine(void)
{
    struct utsname u;
    char line[512], model[256] = "(unknown)";
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f) {
        while (fgets(line, sizeof line, f)) {
            if (strncmp(line, "model name", 10) == 0) {
                char *c = strchr(line, ':');
                if (c) {
                    c += 1 + (c[1] == ' ');
                    c[strcspn(c, "\n")] = 0;
                    snprintf(model, sizeof model, "%s", c);
                }
                break;
            }
        }
        fclose(f);
    }
    if (uname(&u) == 0)
        printf("machine:  %s %s %s, %ld cpus\n", u.sysname, u.release,
               u.machine, sysconf(_SC_NPROCESSORS_ONLN));
    printf("cpu:      %s\n", model);
#if defined(__clang__)
    printf("compiler: clang %s\n", __clang_version__);
#elif defined(__GNUC__)
    printf("compiler: gcc %s\n", __VERSION__);
#endif
    printf("flags:    %s\n", BENCH_FLAGS);
    printf("state:    sizeof(struct smtp_session) = %zu octets\n",
           sizeof(struct smtp_session));
    fflush(stdout);
}

/* ----------------------------------------------------- 1. DATA phase */

#define DATA_RUNS 15
static const char data_head[] =
    "EHLO client.example.org\r\nMAIL FROM:<a@example.org>\r\n"
    "RCPT TO:<b@example.net>\r\nDATA\r\n";
static const char data_tail[] = ".\r\nQUIT\r\n";
static const int data_codes[] = {220, 250, 250, 250, 354, 250, 221};

/* A session carrying `wire` (dot-stuffed, CRLF lines) as its message.
 * The body is fed in one call, as a receiver that read it would. */
static void run_data(const char *wire, size_t n, struct tally *t,
                     struct capture *cap)
{
    struct smtp_session s;
    size_t used;
    memset(t, 0, sizeof *t);
    smtp_init(&s, NULL);
    used = drive(&s, data_head, sizeof data_head - 1, t, cap);
    CHECK(used == sizeof data_head - 1, "data: head not taken");
    used = drive(&s, wire, n, t, cap);
    CHECK(used == n, "data: body not taken (%zu of %zu)", used, n);
    used = drive(&s, data_tail, sizeof data_tail - 1, t, cap);
    CHECK(used == sizeof data_tail - 1 && t->closed, "data: no close");
}

static size_t count_lines_memchr(const char *p, size_t n)
{
    const char *end = p + n;
    size_t lines = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            break;
        lines++;
        p = nl + 1;
    }
    return lines;
}

static void section_data(void)
{
    const size_t target = 256u * MB;
    struct buf blk = {0}, want = {0};
    struct capture cap = {{0}, {0}};
    struct tally ref, t;
    size_t lines = 0, dots, reps, i, n, unstuffed, blk_lines;
    char *wire, *dst;
    double tc[DATA_RUNS], tm[DATA_RUNS], tp[DATA_RUNS], rm[DATA_RUNS],
        rp[DATA_RUNS], c, m, cp, ratio_m, ratio_p;
    int r;

    /* 4 MB of distinct lines, tiled to 256 MB (ends on a line end). */
    dots = gen_body(&blk, 4u * MB, &lines);
    blk_lines = lines;
    reps = (target + blk.len - 1) / blk.len;
    n = reps * blk.len;
    wire = xmalloc(n);
    dst = xmalloc(n);
    for (i = 0; i < reps; i++)
        memcpy(wire + i * blk.len, blk.p, blk.len);
    memset(dst, 0, n);
    unstuffed = n - reps * dots;
    lines = reps * blk_lines;

    printf("\n1. DATA phase: %.1f MB body, %zu lines of ~70 octets, "
           "%zu dot-stuffed, one smtp_feed() call\n",
           (double)n / MB, lines, reps * dots);

    /* Untimed content check on the first 4 MB: exactly the unstuffed
     * lines, then the replies of the session. */
    run_data(blk.p, blk.len, &ref, &cap);
    unstuff(blk.p, blk.len, &want);
    CHECK(cap.data.len == want.len &&
              memcmp(cap.data.p, want.p, want.len) == 0,
          "data: delivered data differs from the unstuffed body "
          "(%zu vs %zu octets)", cap.data.len, want.len);
    check_replies(&cap.out, data_codes,
                  sizeof data_codes / sizeof *data_codes, "data");
    CHECK(ref.rejects == 0, "data: message refused");
    CHECK(ref.data_end == want.len, "data: EV_DATA_END size %llu, want %zu",
          (unsigned long long)ref.data_end, want.len);

    /* The full-size reference: its counts must hold in every run. */
    run_data(wire, n, &ref, NULL);
    CHECK(ref.body == unstuffed && ref.data_end == unstuffed &&
              ref.rejects == 0,
          "data: 256 MB run delivered %llu octets, want %zu",
          (unsigned long long)ref.body, unstuffed);

    for (r = 0; r < DATA_RUNS; r++) {
        double t0 = now();
        run_data(wire, n, &t, NULL);
        tc[r] = now() - t0;
        CHECK_TALLY(&t, &ref, "data");

        t0 = now();
        i = count_lines_memchr(wire, n);
        tm[r] = now() - t0;
        CHECK(i == lines, "memchr baseline counted %zu lines", i);

        t0 = now();
        memcpy(dst, wire, n);
        tp[r] = now() - t0;
        CHECK(dst[n / 2] == wire[n / 2] && dst[n - 1] == '\n', "memcpy");
        rm[r] = tm[r] / tc[r];
        rp[r] = tp[r] / tc[r];
    }
    /* The ratio is the median of each run's ratio: core and baseline ran
     * side by side, so a busy moment slows both. */
    ratio_m = median(rm, DATA_RUNS);
    ratio_p = median(rp, DATA_RUNS);
    c = median(tc, DATA_RUNS);
    m = median(tm, DATA_RUNS);
    cp = median(tp, DATA_RUNS);
    printf("   %-34s %9.0f MB/s  %7.3f s\n", "core (smtp_feed, EV_BODY)",
           (double)n / MB / c, c);
    printf("   %-34s %9.0f MB/s  %7.3f s\n", "memchr '\\n' line scan",
           (double)n / MB / m, m);
    printf("   %-34s %9.0f MB/s  %7.3f s\n", "memcpy", (double)n / MB / cp,
           cp);
    printf("   zero-copy: %s (%llu of %llu EV_BODY chunks point into the "
           "input)\n", t.foreign ? "NO" : "yes",
           (unsigned long long)(t.ev[SMTP_EV_BODY] - t.foreign),
           (unsigned long long)t.ev[SMTP_EV_BODY]);
    printf("   ratio core/memchr = %.2f (goal >= 0.50: %s)   "
           "core/memcpy = %.2f   [median of %d]\n",
           ratio_m, ratio_m >= 0.5 ? "met" : "MISSED", ratio_p, DATA_RUNS);
    fflush(stdout);
    free(wire);
    free(dst);
    free(blk.p);
    free(want.p);
    free(cap.data.p);
    free(cap.out.p);
}

/* ----------------------------------------------------- 2. commands */

#define CMD_SESSIONS 1000u
#define CMD_RUNS 15

struct sessions {
    struct buf all;
    size_t off[CMD_SESSIONS + 1];
    size_t dots;
};

static void make_sessions(struct sessions *ss)
{
    unsigned k;
    memset(ss, 0, sizeof *ss);
    for (k = 0; k < CMD_SESSIONS; k++) {
        ss->off[k] = ss->all.len;
        gen_session(&ss->all, k, &ss->dots);
    }
    ss->off[CMD_SESSIONS] = ss->all.len;
}

/* Runs every session of ss, each whole in one call, on a reused state. */
static void run_sessions(const struct sessions *ss, size_t chunk,
                         struct tally *t, struct capture *cap)
{
    struct smtp_session s;
    unsigned k;
    memset(t, 0, sizeof *t);
    for (k = 0; k < CMD_SESSIONS; k++) {
        const char *p = ss->all.p + ss->off[k];
        size_t n = ss->off[k + 1] - ss->off[k], used;
        smtp_init(&s, NULL);
        t->closed = 0;
        used = chunk ? drive_chunked(&s, p, n, chunk, t)
                     : drive(&s, p, n, t, cap);
        if (used != n || !t->closed)
            die("session %u: took %zu of %zu octets, closed=%d", k, used, n,
                t->closed);
    }
}

/* The baseline: a bare line splitter handing each line to a trivial
 * consumer (its first octet summed, so the work cannot be dropped). */
static size_t split_lines(const char *p, size_t n, unsigned *sum)
{
    const char *end = p + n;
    size_t lines = 0;
    unsigned x = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            break;
        x += (unsigned char)*p;
        lines++;
        p = nl + 1;
    }
    *sum = x;
    return lines;
}

static void check_sessions(const struct sessions *ss)
{
    struct tally t;
    struct capture cap = {{0}, {0}};
    static int want[CMD_SESSIONS * (CMDS_PER_SESSION + 2)];
    size_t nw = 0;
    unsigned k, i;
    for (k = 0; k < CMD_SESSIONS; k++) {
        want[nw++] = 220;
        want[nw++] = 250; /* EHLO */
        want[nw++] = 250; /* MAIL */
        for (i = 0; i < RCPTS; i++)
            want[nw++] = 250;
        want[nw++] = 354;
        want[nw++] = 250;
        want[nw++] = 221;
    }
    run_sessions(ss, 0, &t, &cap);
    check_replies(&cap.out, want, nw, "sessions");
    CHECK(t.ev[SMTP_EV_RCPT] == (uint64_t)CMD_SESSIONS * RCPTS &&
              t.ev[SMTP_EV_DATA_END] == CMD_SESSIONS && t.rejects == 0,
          "sessions: wrong event counts");
    free(cap.data.p);
    free(cap.out.p);
}

static void section_cmds(void)
{
    static struct sessions ss;
    struct tally ref, t;
    double tc[CMD_RUNS], ts[CMD_RUNS], rr[CMD_RUNS], c, sp, ratio;
    size_t lines, n, rounds = 8, i;
    unsigned sum = 0, sum0;
    uint64_t cmds;
    int r;

    make_sessions(&ss);
    n = ss.all.len;
    cmds = (uint64_t)CMD_SESSIONS * CMDS_PER_SESSION * rounds;
    printf("\n2. Commands: %u pipelined sessions (EHLO, MAIL, 50 RCPT, DATA, "
           "1 KB, QUIT), %.1f MB, x%zu, SMTP_SMALL=%d\n", CMD_SESSIONS,
           (double)n / MB, rounds, SMTP_SMALL);
    check_sessions(&ss);
    run_sessions(&ss, 0, &ref, NULL);
    lines = split_lines(ss.all.p, n, &sum0);

    for (r = 0; r < CMD_RUNS; r++) {
        double t0 = now();
        for (i = 0; i < rounds; i++) {
            run_sessions(&ss, 0, &t, NULL);
            CHECK_TALLY(&t, &ref, "sessions");
        }
        tc[r] = now() - t0;

        t0 = now();
        for (i = 0; i < rounds; i++) {
            CHECK(split_lines(ss.all.p, n, &sum) == lines && sum == sum0,
                  "splitter");
        }
        ts[r] = now() - t0;
        rr[r] = ts[r] / tc[r];
    }
    ratio = median(rr, CMD_RUNS);
    c = median(tc, CMD_RUNS);
    sp = median(ts, CMD_RUNS);
    printf("   %-34s %9.2f M commands/s  %7.0f MB/s\n", "core",
           (double)cmds / c / 1e6, (double)n * (double)rounds / MB / c);
    printf("   %-34s %9.2f M commands/s  %7.0f MB/s\n",
           "memchr line splitter (same bytes)", (double)cmds / sp / 1e6,
           (double)n * (double)rounds / MB / sp);
    printf("   %.0f ns per command, %.0f ns per session (all 54 commands "
           "and the body)\n", c / (double)cmds * 1e9,
           c / (double)(CMD_SESSIONS * rounds) * 1e9);
    printf("   ratio core/splitter = %.3f (goal >= 0.25: %s)   "
           "[median of %d]\n", ratio, ratio >= 0.25 ? "met" : "MISSED",
           CMD_RUNS);
    fflush(stdout);
    free(ss.all.p);
}

/* ------------------------------------------------- 3. chunking */

#define CHUNK_RUNS 5
static void section_chunk(void)
{
    static struct sessions ss;
    struct buf blk = {0};
    size_t lines = 0, sizes[3] = {0, 64, 1};
    double tcmd[3], tdat[3], vc[3][CHUNK_RUNS], vd[3][CHUNK_RUNS];
    double rc[3][CHUNK_RUNS], rd[3][CHUNK_RUNS], xc[3] = {1, 0, 0},
        xd[3] = {1, 0, 0};
    struct tally ref_c, ref_d, t;
    int k, r;

    make_sessions(&ss);
    gen_body(&blk, 4u * MB, &lines);
    printf("\n3. Chunking: the %.1f MB of sessions of 2. and a %.1f MB body, "
           "whole vs 64-octet vs 1-octet smtp_feed() calls\n",
           (double)ss.all.len / MB, (double)blk.len / MB);

    run_sessions(&ss, 0, &ref_c, NULL);
    run_data(blk.p, blk.len, &ref_d, NULL);
    for (r = 0; r < CHUNK_RUNS; r++) {
        for (k = 0; k < 3; k++) {
            struct smtp_session s;
            size_t used;
            double t0 = now();
            run_sessions(&ss, sizes[k], &t, NULL);
            vc[k][r] = now() - t0;
            CHECK_TALLY(&t, &ref_c, "chunked sessions");

            memset(&t, 0, sizeof t);
            t0 = now();
            smtp_init(&s, NULL);
            drive(&s, data_head, sizeof data_head - 1, &t, NULL);
            used = sizes[k] ? drive_chunked(&s, blk.p, blk.len, sizes[k], &t)
                            : drive(&s, blk.p, blk.len, &t, NULL);
            drive(&s, data_tail, sizeof data_tail - 1, &t, NULL);
            vd[k][r] = now() - t0;
            CHECK(used == blk.len, "chunked body not taken");
            CHECK_TALLY(&t, &ref_d, "chunked data");
        }
        for (k = 1; k < 3; k++) {
            rc[k][r] = vc[k][r] / vc[0][r];
            rd[k][r] = vd[k][r] / vd[0][r];
        }
    }
    for (k = 0; k < 3; k++) {
        tcmd[k] = median(vc[k], CHUNK_RUNS);
        tdat[k] = median(vd[k], CHUNK_RUNS);
        if (k > 0) {
            xc[k] = median(rc[k], CHUNK_RUNS);
            xd[k] = median(rd[k], CHUNK_RUNS);
        }
    }
    printf("   %-12s %14s %14s\n", "feed size", "sessions MB/s", "body MB/s");
    for (k = 0; k < 3; k++) {
        char name[32];
        if (sizes[k])
            snprintf(name, sizeof name, "%zu octet%s", sizes[k],
                     sizes[k] > 1 ? "s" : "");
        else
            snprintf(name, sizeof name, "whole");
        printf("   %-12s %14.1f %14.1f\n", name,
               (double)ss.all.len / MB / tcmd[k],
               (double)blk.len / MB / tdat[k]);
    }
    printf("   1-octet feeds cost x%.1f (sessions) and x%.1f (body) the "
           "time of whole buffers; 64-octet x%.2f and x%.2f  [median of %d]"
           "\n", xc[2], xd[2], xc[1], xd[1], CHUNK_RUNS);
    printf("   same events, data octets and replies for every feed size: "
           "yes\n");
    fflush(stdout);
    free(ss.all.p);
    free(blk.p);
}

/* ------------------------------------------------- 4. scaling */

#define SCALE_RUNS 5
#define NBLOCKS 64u
static int scale_forked;

/* Streaming inputs of the scaling runs: a 16 MB body fed again and again,
 * and 64 transaction blocks cycled.  Everything else is the core's. */
struct stream {
    struct buf body, blocks;
    size_t dots, off[NBLOCKS + 1];
};

/* One message of reps x the body: returns the seconds taken. */
static double scale_message(const struct stream *st, size_t reps)
{
    struct smtp_session s;
    struct tally t;
    size_t j;
    uint64_t want = (uint64_t)reps * (st->body.len - st->dots);
    double t0 = now();
    memset(&t, 0, sizeof t);
    smtp_init(&s, NULL);
    drive(&s, data_head, sizeof data_head - 1, &t, NULL);
    for (j = 0; j < reps; j++)
        CHECK(drive(&s, st->body.p, st->body.len, &t, NULL) == st->body.len,
              "scale: body not taken");
    drive(&s, data_tail, sizeof data_tail - 1, &t, NULL);
    t0 = now() - t0;
    CHECK(t.closed && t.rejects == 0 && t.body == want && t.data_end == want,
          "scale: %llu octets delivered of %llu", (unsigned long long)t.body,
          (unsigned long long)want);
    return t0;
}

/* One session: EHLO, nblk transactions of 52 commands (MAIL, 50 RCPT,
 * DATA and 1 KB), QUIT.  Returns the seconds; *octets the input size. */
static double scale_cmds(const struct stream *st, size_t nblk,
                         uint64_t *octets)
{
    struct smtp_session s;
    struct tally t;
    size_t j;
    uint64_t b = 26; /* EHLO and QUIT lines */
    double t0 = now();
    memset(&t, 0, sizeof t);
    smtp_init(&s, NULL);
    drive(&s, "EHLO c.example.org\r\n", 20, &t, NULL);
    for (j = 0; j < nblk; j++) {
        size_t k = j % NBLOCKS, len = st->off[k + 1] - st->off[k];
        CHECK(drive(&s, st->blocks.p + st->off[k], len, &t, NULL) == len,
              "scale: commands not taken");
        b += len;
    }
    drive(&s, "QUIT\r\n", 6, &t, NULL);
    t0 = now() - t0;
    CHECK(t.closed && t.ev[SMTP_EV_RCPT] == (uint64_t)nblk * RCPTS &&
              t.ev[SMTP_EV_DATA_END] == nblk && t.rejects == 0,
          "scale: %llu RCPT events, want %llu",
          (unsigned long long)t.ev[SMTP_EV_RCPT],
          (unsigned long long)nblk * RCPTS);
    *octets = b;
    return t0;
}

static void section_scale(void)
{
    static struct stream st;
    static const unsigned mult[3] = {1, 4, 16};
    double vm[3][SCALE_RUNS], vc[3][SCALE_RUNS], per_byte[3], per_cmd[3],
        rate[3];
    long rss[3], rss_c[3], rss0;
    uint64_t bytes[3], ncmd[3], cbytes[3];
    size_t lines = 0, reps[3], nblk[3];
    unsigned k, i;
    int r;

    st.dots = gen_body(&st.body, 16u * MB, &lines);
    for (i = 0; i < NBLOCKS; i++) {
        size_t unused = 0;
        st.off[i] = st.blocks.len;
        gen_block(&st.blocks, i, &unused);
    }
    st.off[NBLOCKS] = st.blocks.len;
    rss0 = peak_rss_kb();
    for (k = 0; k < 3; k++) {
        /* 64 MB x mult; 62.5k x mult commands */
        reps[k] = (64u * MB * mult[k] + st.body.len - 1) / st.body.len;
        bytes[k] = (uint64_t)reps[k] * st.body.len;
        nblk[k] = (62500u * mult[k] + CMDS_PER_BLOCK - 1) / CMDS_PER_BLOCK;
        ncmd[k] = (uint64_t)nblk[k] * CMDS_PER_BLOCK + 2;
    }

    printf("\n4. Scaling (%s; streaming buffers %.1f MB; peak RSS before "
           "the runs: %ld KB)\n", scale_forked ? "in a child forked before "
           "the other sections allocated anything" : "run alone",
           (double)(st.body.len + st.blocks.len) / MB, rss0);

    /* Sizes alternate inside each run, so a busy moment of the machine
     * does not land on one size only. */
    for (r = 0; r < SCALE_RUNS; r++) {
        for (k = 0; k < 3; k++) {
            vm[k][r] = scale_message(&st, reps[k]);
            if (r == 0)
                rss[k] = peak_rss_kb();
        }
        for (k = 0; k < 3; k++) {
            vc[k][r] = scale_cmds(&st, nblk[k], &cbytes[k]);
            if (r == 0)
                rss_c[k] = peak_rss_kb();
        }
    }
    for (k = 0; k < 3; k++) {
        per_byte[k] = median(vm[k], SCALE_RUNS) / (double)bytes[k] * 1e9;
        per_cmd[k] = median(vc[k], SCALE_RUNS) / (double)ncmd[k] * 1e9;
        rate[k] = median(vc[k], SCALE_RUNS) / (double)cbytes[k] * 1e9;
    }
    printf("   %-22s %12s %12s %12s\n", "", "1x", "4x", "16x");
    printf("   %-22s %9.0f MB %9.0f MB %9.0f MB\n", "message size",
           (double)bytes[0] / MB, (double)bytes[1] / MB,
           (double)bytes[2] / MB);
    printf("   %-22s %12.3f %12.3f %12.3f\n", "  ns per octet", per_byte[0],
           per_byte[1], per_byte[2]);
    printf("   %-22s %9ld KB %9ld KB %9ld KB\n", "  peak RSS after", rss[0],
           rss[1], rss[2]);
    printf("   %-22s %12llu %12llu %12llu\n", "pipelined commands",
           (unsigned long long)ncmd[0], (unsigned long long)ncmd[1],
           (unsigned long long)ncmd[2]);
    printf("   %-22s %12.1f %12.1f %12.1f\n", "  ns per command", per_cmd[0],
           per_cmd[1], per_cmd[2]);
    printf("   %-22s %12.3f %12.3f %12.3f\n", "  ns per octet", rate[0],
           rate[1], rate[2]);
    printf("   %-22s %9ld KB %9ld KB %9ld KB\n", "  peak RSS after",
           rss_c[0], rss_c[1], rss_c[2]);
    printf("   linear: 16x/1x time per octet = %.2f (message), %.2f "
           "(commands); RSS growth 1x->16x: %ld KB   [median of %d]\n",
           per_byte[2] / per_byte[0], rate[2] / rate[0],
           (rss_c[2] > rss[2] ? rss_c[2] : rss[2]) - rss[0], SCALE_RUNS);
    printf("   (the RSS is the program and its input buffers; the core's own "
           "memory is the %zu-octet session and its stack)\n",
           sizeof(struct smtp_session));
    fflush(stdout);
    free(st.body.p);
    free(st.blocks.p);
}

/* ------------------------------------------------- 5. the sender's body */

#define CLIENT_RUNS 15

/* What the sender wrote during a run: octets of the body phase (the
 * chunks after 354, the end of data included), writes (one per output
 * chunk, or per smtp_client_output_spans() call), spans, and how many of
 * them point into the application's buffer (sent in place). */
struct ctally {
    uint64_t out, chunks, spans, inplace;
};

static void cdrain(struct smtp_client *c, const char *in, size_t n, struct ctally *t,
                   struct buf *cap)
{
    size_t len;
    const char *o;
    while ((o = smtp_client_output(c, &len)) != NULL && len) {
        t->out += len;
        t->chunks++;
        t->spans++;
        if (in && o >= in && o < in + n)
            t->inplace++;
        if (cap)
            put(cap, o, len);
        smtp_client_output_done(c, len);
    }
}

/* The same with smtp_client_output_spans(): one writev() of up to
 * CLIENT_IOV spans per call, each span's octets counted as writev() would
 * copy them; t->chunks counts the writes.  Outside the body (the end of
 * the data) smtp_client_output() gives the rest, as in a real loop. */
#define CLIENT_IOV 16
#define STR_(x) #x
#define STR(x) STR_(x)

static void cdrain_spans(struct smtp_client *c, const char *in, size_t n, struct ctally *t,
                         struct buf *cap)
{
    struct smtp_span v[CLIENT_IOV];
    size_t k, i;
    for (;;) {
        int one = (k = smtp_client_output_spans(c, v, CLIENT_IOV)) == 0;
        if (one && (v[0].ptr = smtp_client_output(c, &v[0].len)) == NULL)
            return;
        k += (size_t)one;
        t->chunks++;
        t->spans += k;
        for (i = 0; i < k; i++) {
            t->out += v[i].len;
            if (in && v[i].ptr >= in && v[i].ptr < in + n)
                t->inplace++;
            if (cap)
                put(cap, v[i].ptr, v[i].len);
        }
        if (one)
            smtp_client_output_done(c, v[0].len);
    }
}

/* Feeds the server's lines whole; returns the last client event. */
static int cfeed(struct smtp_client *c, const char *srv)
{
    size_t n = strlen(srv), used;
    struct ctally none = {0, 0, 0, 0};
    int last = 0;
    for (;;) {
        union smtp_cevent ev;
        int st = smtp_client_feed(c, srv, n, &used, &ev);
        srv += used;
        n -= used;
        cdrain(c, NULL, 0, &none, NULL);
        if (st > 0)
            last = st;
        if (st == SMTP_CLOSED)
            die("client: session closed");
        if (st == SMTP_NEED_INPUT && n == 0)
            return last;
    }
}

/* One message p[0..n) through a sender (PIPELINING, no CHUNKING: DATA
 * with dot-stuffing), handed to smtp_client_body() as one buffer, every
 * output chunk taken at once as a device's send() would; with iov, the
 * body's output taken by smtp_client_output_spans() as a writev() loop
 * would. */
static void run_client(const char *p, size_t n, struct ctally *t, struct buf *cap, int iov)
{
    struct smtp_client c;
    size_t i = 0;
    memset(t, 0, sizeof *t);
    smtp_client_init(&c, NULL);
    CHECK(cfeed(&c, "220 mx.example.org\r\n250-mx.example.org\r\n250-PIPELINING\r\n"
                    "250 8BITMIME\r\n") == SMTP_CEV_READY,
          "client: not ready");
    CHECK(smtp_client_mail(&c, "a@example.org", NULL) == SMTP_OK &&
              smtp_client_rcpt(&c, "b@example.net", 0, NULL) == SMTP_OK &&
              smtp_client_data(&c) == SMTP_OK,
          "client: envelope refused");
    CHECK(cfeed(&c, "250 ok\r\n250 ok\r\n354 go ahead\r\n") == SMTP_CEV_DATA, "client: no 354");
    while (i < n) {
        size_t used = 0;
        int r = smtp_client_body(&c, p + i, n - i, &used);
        CHECK(r == SMTP_OK && used > 0 && used <= n - i, "client: body returned %d, took %zu", r,
              used);
        i += used;
        (iov ? cdrain_spans : cdrain)(&c, p, n, t, cap);
    }
    CHECK(smtp_client_end(&c) == SMTP_OK, "client: end refused");
    (iov ? cdrain_spans : cdrain)(&c, p, n, t, cap);
    CHECK(cfeed(&c, "250 queued\r\n") == SMTP_CEV_SENT, "client: no verdict");
}

/* What the sender must write for text p[0..n) (lines ending in LF or
 * CRLF, the last one ended): each line with CRLF, a leading dot doubled,
 * then ".\r\n".  Written without the core's scanner, for the check. */
static void stuff_ref(const char *p, size_t n, struct buf *b)
{
    size_t i = 0;
    while (i < n) {
        const char *nl = memchr(p + i, '\n', n - i);
        size_t len = (size_t)(nl - (p + i));
        CHECK(nl != NULL, "stuff_ref: unended line");
        if (p[i] == '.')
            put(b, ".", 1);
        put(b, p + i, len && p[i + len - 1] == '\r' ? len - 1 : len);
        put(b, "\r\n", 2);
        i += len + 1;
    }
    put(b, ".\r\n", 3);
}

/* Message text as an application has it: the DATA section's lines
 * unstuffed (one in 25 starting with '.'), a further dot_pct% of the lines
 * given a leading '.', each ended with eol. */
static void gen_text(struct buf *b, size_t target, unsigned dot_pct, const char *eol)
{
    struct buf wire = {0}, raw = {0};
    size_t lines = 0, i = 0, el = strlen(eol);
    gen_body(&wire, target, &lines);
    unstuff(wire.p, wire.len, &raw);
    while (i < raw.len) {
        const char *nl = memchr(raw.p + i, '\n', raw.len - i);
        size_t len = (size_t)(nl - (raw.p + i)); /* CR included */
        if (rnd(100) < dot_pct)
            put(b, ".", 1);
        put(b, raw.p + i, len - 1);
        put(b, eol, el);
        i += len + 1;
    }
    free(wire.p);
    free(raw.p);
}

static void section_client(void)
{
    static const struct {
        const char *name, *eol;
        unsigned dot_pct;
    } kinds[] = {{"CRLF lines, 4% dot lines", "\r\n", 0},
                 {"bare LF lines, 4% dot lines", "\n", 0},
                 {"CRLF lines, 52% dot lines", "\r\n", 50}};
    const size_t target = 64u * MB;
    size_t k;
    printf("\n5. the sender's body path: smtp_client_body() over a %u MB message in one buffer,\n"
           "   DATA with dot-stuffing, every output chunk taken (one span per send, then\n"
           "   writev-style); vs memchr '\\n' over the same bytes\n",
           (unsigned)(target / MB));
    printf("   state: sizeof(struct smtp_client) = %zu octets (the same with SMTP_NO_SERVER;\n"
           "   `make size` has it per compile-time variant and target)\n",
           sizeof(struct smtp_client));
    for (k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        struct buf blk = {0}, want = {0}, got = {0}, wblk = {0};
        struct ctally ref, t;
        size_t reps, i, n, lines;
        char *text;
        double tc[CLIENT_RUNS], tm[CLIENT_RUNS], rm[CLIENT_RUNS], c, m, ratio;
        int r, iov;
        uint64_t want_out;

        gen_text(&blk, 4u * MB, kinds[k].dot_pct, kinds[k].eol);
        reps = (target + blk.len - 1) / blk.len;
        n = reps * blk.len;
        text = xmalloc(n);
        for (i = 0; i < reps; i++)
            memcpy(text + i * blk.len, blk.p, blk.len);
        lines = count_lines_memchr(text, n);

        printf("   %s: %zu lines\n", kinds[k].name, lines);
        stuff_ref(blk.p, blk.len, &want);
        stuff_ref(text, blk.len, &wblk);
        want_out = (uint64_t)reps * (wblk.len - 3) + 3;
        for (iov = 0; iov < 2; iov++) {
            /* Untimed content check on one block: exactly the reference's
             * octets; the full run must then write the same count. */
            got.len = 0;
            run_client(blk.p, blk.len, &ref, &got, iov);
            CHECK(got.len == want.len && memcmp(got.p, want.p, want.len) == 0,
                  "client %s: output differs from the reference (%zu vs %zu octets)",
                  kinds[k].name, got.len, want.len);
            run_client(text, n, &ref, NULL, iov);
            CHECK(ref.out == want_out, "client %s: wrote %llu octets, want %llu", kinds[k].name,
                  (unsigned long long)ref.out, (unsigned long long)want_out);

            for (r = 0; r < CLIENT_RUNS; r++) {
                double t0 = now();
                run_client(text, n, &t, NULL, iov);
                tc[r] = now() - t0;
                CHECK(t.out == ref.out && t.chunks == ref.chunks && t.inplace == ref.inplace,
                      "client %s: run differs", kinds[k].name);
                t0 = now();
                i = count_lines_memchr(text, n);
                tm[r] = now() - t0;
                CHECK(i == lines, "memchr baseline counted %zu lines", i);
                rm[r] = tm[r] / tc[r];
            }
            ratio = median(rm, CLIENT_RUNS);
            c = median(tc, CLIENT_RUNS);
            m = median(tm, CLIENT_RUNS);
            printf("     %-36s %7.0f MB/s  %6.3f s  %.2f spans per line (%.0f%% in place), "
                   "%.2f writes per line\n",
                   iov ? "core, writev of <= " STR(CLIENT_IOV) " spans" : "core, one span per send",
                   (double)n / MB / c, c, (double)ref.spans / (double)lines,
                   100.0 * (double)ref.inplace / (double)ref.spans,
                   (double)ref.chunks / (double)lines);
            printf("     %-36s %7.0f MB/s  %6.3f s\n", "memchr '\\n' line scan", (double)n / MB / m,
                   m);
            printf("     ratio core/memchr = %.2f (goal >= 0.50: %s)   [median of %d]\n", ratio,
                   ratio >= 0.5 ? "met" : "MISSED", CLIENT_RUNS);
        }
        fflush(stdout);
        free(text);
        free(blk.p);
        free(want.p);
        free(got.p);
        free(wblk.p);
    }
}

/* ------------------------------------------------- instr (callgrind) */

/* Fixed workloads for bench/instr.sh, which runs this under callgrind
 * with --toggle-collect on each function: only the core's work inside
 * them is counted, not the input generation. */
__attribute__((noinline)) void instr_data(const char *p, size_t n);
__attribute__((noinline)) void instr_cmds(const struct sessions *ss);
__attribute__((noinline)) void instr_client(const char *p, size_t n);
__attribute__((noinline)) void instr_client_lf(const char *p, size_t n);
__attribute__((noinline)) void instr_client_dots(const char *p, size_t n);
__attribute__((noinline)) void instr_client_v(const char *p, size_t n);
__attribute__((noinline)) void instr_client_lf_v(const char *p, size_t n);
__attribute__((noinline)) void instr_client_dots_v(const char *p, size_t n);
static volatile uint64_t instr_sink[6];

void instr_data(const char *p, size_t n)
{
    struct tally t;
    run_data(p, n, &t, NULL);
}

void instr_cmds(const struct sessions *ss)
{
    struct tally t;
    run_sessions(ss, 0, &t, NULL);
}

void instr_client(const char *p, size_t n)
{
    struct ctally t;
    run_client(p, n, &t, NULL, 0);
    instr_sink[0] = t.out; /* three distinct functions: none folded into another */
}

void instr_client_lf(const char *p, size_t n)
{
    struct ctally t;
    run_client(p, n, &t, NULL, 0);
    instr_sink[1] = t.out; /* three distinct functions: none folded into another */
}

void instr_client_dots(const char *p, size_t n)
{
    struct ctally t;
    run_client(p, n, &t, NULL, 0);
    instr_sink[2] = t.out; /* distinct functions: none folded into another */
}

void instr_client_v(const char *p, size_t n)
{
    struct ctally t;
    run_client(p, n, &t, NULL, 1);
    instr_sink[3] = t.out;
}

void instr_client_lf_v(const char *p, size_t n)
{
    struct ctally t;
    run_client(p, n, &t, NULL, 1);
    instr_sink[4] = t.out;
}

void instr_client_dots_v(const char *p, size_t n)
{
    struct ctally t;
    run_client(p, n, &t, NULL, 1);
    instr_sink[5] = t.out;
}

static void section_instr(void)
{
    static struct sessions ss;
    struct buf blk = {0}, text = {0}, lf = {0}, dots = {0};
    size_t lines = 0;
    make_sessions(&ss);
    gen_body(&blk, 1u * MB, &lines);
    gen_text(&text, 1u * MB, 0, "\r\n");
    gen_text(&lf, 1u * MB, 0, "\n");
    gen_text(&dots, 1u * MB, 50, "\r\n");
    instr_data(blk.p, blk.len);
    instr_cmds(&ss);
    instr_client(text.p, text.len);
    instr_client_lf(lf.p, lf.len);
    instr_client_dots(dots.p, dots.len);
    instr_client_v(text.p, text.len);
    instr_client_lf_v(lf.p, lf.len);
    instr_client_dots_v(dots.p, dots.len);
    printf("instr: data %zu octets; cmds %u commands, %zu octets; client %zu octets; "
           "client-lf %zu octets; client-dots %zu octets\n",
           blk.len, CMD_SESSIONS * CMDS_PER_SESSION, ss.all.len, text.len, lf.len, dots.len);
    free(blk.p);
    free(text.p);
    free(lf.p);
    free(dots.p);
    free(ss.all.p);
}

/* ------------------------------------------------------------ main */

/* The scaling child is forked first, while the process is small, and
 * waits on a pipe until the other sections are done. */
static int run_scale_child(int *fd_go, pid_t *pid)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    fflush(stdout);
    *pid = fork();
    if (*pid < 0)
        return -1;
    if (*pid == 0) {
        char c;
        close(fds[1]);
        scale_forked = 1;
        if (read(fds[0], &c, 1) == 1)
            section_scale();
        _exit(0);
    }
    close(fds[0]);
    *fd_go = fds[1];
    return 0;
}

int main(int argc, char **argv)
{
    int i, all = argc < 2, fd_go = -1, st = 0;
    pid_t pid = -1;
    double t0 = now();

    if (argc == 2 && strcmp(argv[1], "instr") == 0) {
        section_instr();
        return 0;
    }
    if (all && run_scale_child(&fd_go, &pid) != 0)
        die("fork: %s", strerror(errno));
    print_machine();
    for (i = 1; i < argc || (all && i == 1); i++) {
        const char *a = all ? "all" : argv[i];
        int any = all;
        if (all || strcmp(a, "data") == 0)
            section_data(), any = 1;
        if (all || strcmp(a, "cmds") == 0)
            section_cmds(), any = 1;
        if (all || strcmp(a, "chunk") == 0)
            section_chunk(), any = 1;
        if (all || strcmp(a, "client") == 0)
            section_client(), any = 1;
        if (!all && strcmp(a, "scale") == 0)
            section_scale(), any = 1;
        if (!any)
            die("unknown section %s (data, cmds, chunk, client, scale, instr)", a);
    }
    if (all) {
        CHECK(write(fd_go, "g", 1) == 1, "pipe");
        close(fd_go);
        CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
                  WEXITSTATUS(st) == 0, "scaling child failed");
    }
    printf("\ntotal bench time %.1f s\n", now() - t0);
    return 0;
}
