/*
 * fuzz_client.c - hostile server bytes against the sender (the client role).
 *
 * Input: 4 mode bytes, then the server's byte stream.
 *   byte 0: bits0-1 the TLS policy (OFF, OPPORTUNISTIC, REQUIRED,
 *           IMPLICIT), bit2 SMTP_COPT_AUTH_PLAINTEXT, bit3 NO_PIPELINING,
 *           bit4 NO_CHUNKING, bit5 BARE_REFUSE, bits6-7 max_reply_lines
 *           (the default, 1, 3, 255);
 *   byte 1: bits0-2 feed sizes (all, 1, 2, 3, 7, 17, 64, 600), bits3-5
 *           output acknowledgement sizes (all, 1, 2, 5, 64, 100, 511, 513;
 *           "all" in a body by smtp_client_output_spans(), 4 spans),
 *           bits6-7 our hostname (the default, a name, an address
 *           literal, 255 octets);
 *   bytes 2-3: the seed of the application, which calls the API from a
 *           plan (AUTH when offered, MAIL with parameters, RCPTs, DATA,
 *           body chunks with dots, bare CR and LF, the end, again or QUIT)
 *           and, one call in four, any API function at random; with
 *           byte 2's top bit set only the plan, fixed by byte 3 (bits0-1
 *           recipients - 1, bits2-3 body chunks - 1, bit4 AUTH first when
 *           offered, bits5-6 its mechanism - 1, bit7 TURN instead of
 *           QUIT), two transactions; it calls
 *           smtp_client_tls_done() after SMTP_CEV_TLS, sometimes after
 *           feeding more plaintext first.
 *
 * Properties, from RFC 5321, 2920, 3030, 3207, 4954 and smtp.h's rules C1-C5
 * (the harness's own reply splitter and command model, not smtp.c's code),
 * abort() on violation:
 *   - framing: every command line ends in CRLF with no other CR or LF in
 *     it and no NUL, and is at most 512 octets, CRLF included; only AUTH
 *     continuation lines (base64, RFC 4954 4) may be longer;
 *   - sequence: nothing before the greeting; EHLO first, HELO only after
 *     it; MAIL only after EHLO/HELO, outside a transaction and never
 *     after STARTTLS until smtp_client_tls_done() and a new EHLO; RCPT
 *     only after a MAIL the server did not refuse; DATA or BDAT only after
 *     a RCPT; no body octet before the 354 (DATA) or the BDAT header;
 *     nothing after DATA until its reply, nothing after the end of the
 *     data until the verdict; nothing after QUIT, nothing after TURN or
 *     ATRN until its reply and nothing after its 250; AUTH only outside a
 *     transaction; the body has no bare CR or LF (except BINARYMIME);
 *   - no echo: the addresses are the application's, and the marker
 *     "INJECT" (in the seeds' replies, EHLO keywords and parameters) never
 *     appears in the output;
 *   - no growth: smtp_client_output() holds at most SMTP_CLIENT_OUT_MAX
 *     octets of commands (plus a body run the application handed in);
 *     every smtp_client_feed() takes all it was given or returns an event,
 *     WANT_WRITE or CLOSED, and a session ends in a bounded number of
 *     rounds;
 *   - events: each answers a reply line just read (the call consumed up to
 *     a final line "ddd SP" or "ddd CRLF" of that code); CEV_TLS has a 220;
 *     CEV_CLOSED with why QUIT has 221; CEV_RCPT counts from 0 per
 *     transaction with a result that matches the code; the reply text has
 *     no CR, NUL or control octet other than the '\n' between lines;
 *   - the API: no command accepted (SMTP_OK) before SMTP_CEV_READY or after
 *     QUIT or the end, no body accepted before the 354, and nothing taken
 *     after SMTP_CLOSED.
 * The harness reads the client's private _run/_run_len to see body octets
 * as they are produced, before they are acknowledged (rule C3).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../smtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int trace_on(void)
{
    static int on = -1;
    if (on < 0) {
        const char *e = getenv("SMTP_FUZZ_TRACE");
        on = e != NULL && e[0] != '\0' && e[0] != '0';
    }
    return on;
}

static void dump(const char *tag, const void *p, size_t n)
{
    const unsigned char *b = (const unsigned char *)p;
    size_t i;
    if (!trace_on())
        return;
    fprintf(stderr, "%s [%lu] \"", tag, (unsigned long)n);
    for (i = 0; i < n && i < 600; i++) {
        if (b[i] == '\r')
            fputs("\\r", stderr);
        else if (b[i] == '\n')
            fputs("\\n", stderr);
        else if (b[i] < 32 || b[i] > 126 || b[i] == '"' || b[i] == '\\')
            fprintf(stderr, "\\x%02x", b[i]);
        else
            fputc(b[i], stderr);
    }
    fprintf(stderr, "%s\"\n", i < n ? "..." : "");
}

#define TRACE(...)                                                             \
    do {                                                                       \
        if (trace_on())                                                        \
            fprintf(stderr, __VA_ARGS__);                                      \
    } while (0)

static void fail(int line, const char *what)
{
    fprintf(stderr, "\n*** PROPERTY VIOLATED (fuzz_client.c:%d): %s\n", line, what);
    fflush(stderr);
    abort();
}

#define CHECK(cond, what)                                                      \
    do {                                                                       \
        if (!(cond))                                                           \
            fail(__LINE__, what " [" #cond "]");                               \
    } while (0)

/* ------------------------------------------------ the application's data */

static const char *const froms[] = {"", "sender@example.com", "a@[192.0.2.1]", "\"q s\"@example.org"};
static const char *const tos[] = {"rcpt@example.org", "Postmaster", "b@example.net",
                                  "green@beta.example", "x@[IPv6:2001:db8::1]"};
static const char *const envids[] = {"id+1=x", "QQ12345"};
static const char *const orcpts[] = {"rfc822;rcpt@example.org", "rfc822;a+b=c@x"};
static const char *const pieces[] = {
    "Subject: test\r\n\r\n", ".\r\n", "..dot\r\n", "bare\rCR", "bare\nLF", "\r", "\n", ".",
    "line\r\n.", "\r\n.\r\n", "\0\xff\x80 binary", "text without end",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
static const size_t piece_len[] = {17, 3, 7, 7, 7, 1, 1, 1, 7, 5, 10, 16, 644};
static const char long_secret[] =
    "pppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp"
    "pppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp"
    "pppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp"
    "pppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp"
    "ppppppppppppppppppppppppppppppppppppppppp";
static const char host_long[] =
    "h123456789.h123456789.h123456789.h123456789.h123456789.h123456789."
    "h123456789.h123456789.h123456789.h123456789.h123456789.h123456789."
    "h123456789.h123456789.h123456789.h123456789.h123456789.h123456789."
    "h123456789.h123456789.h123456789.h123456789.h123456789.h1"; /* 255 octets */

/* --------------------------------------------------------------- state */

struct run {
    struct smtp_client c;
    const uint8_t *in;
    size_t n, pos;
    uint32_t rng;
    unsigned feed_mode, ack_mode;
    const char *host;
    /* the reply splitter over the octets the client consumed */
    size_t rl_len;
    char rl[8];           /* the first octets of the line being read */
    int rl_final_code;    /* code of the last final line read, or 0 */
    int rl_at_final;      /* the last octet consumed ended a final line */
    /* the command model over the octets the client produced */
    uint64_t wire;        /* stream octets the model has read */
    uint64_t acked;       /* stream octets acknowledged */
    char line[1100];      /* the command line being read */
    size_t line_len;
    int line_over;        /* longer than line[] */
    int greeted;          /* a reply line was consumed before any output */
    int hello;            /* EHLO or HELO sent */
    int ehlo;             /* EHLO sent (HELO only after it) */
    int tls_wait;         /* STARTTLS sent: EHLO next, after tls_done */
    int tls_done;         /* smtp_client_tls_done() returned OK since */
    int auth;             /* AUTH sent: continuation lines allowed */
    int tx;               /* MAIL sent, transaction not over */
    int binary;           /* its MAIL had BODY=BINARYMIME */
    int rcpts;            /* RCPT lines in this transaction */
    int data_wait;        /* DATA sent, its reply not yet reported */
    int data_mode;        /* after 354: body octets until CRLF.CRLF */
    unsigned dm;          /* data mode: 0 line start, 1 mid, 2 CR, 3 "." at start, 4 ".CR" */
    uint64_t bdat_left;   /* octets of the BDAT chunk to come */
    int bdat_last;        /* that chunk is the last */
    int bdat_cr;          /* the last BDAT octet was a CR */
    int verdict_wait;     /* end of data sent, its verdict not yet reported */
    int quit;             /* QUIT sent: nothing after it */
    int turn_wait;        /* TURN/ATRN sent: nothing after it until its reply */
    int turned;           /* CEV_TURNED: the client role is over */
    const char *mark;     /* "INJECT" match state */
    size_t mark_i;
    int closing;          /* the session ended: only QUIT may follow */
    /* what the client reported, applied to the model where it happened in
     * the output (at: the stream offset produced by then) */
    struct mark {
        uint64_t at;
        int kind;         /* a CEV_* or MK_TLS_DONE */
        unsigned code;
    } marks[64];
    size_t nmarks;
    int ready;            /* CEV_READY seen */
    int closed;           /* CEV_CLOSED seen */
    int tls_ev;           /* CEV_TLS seen, tls_done not called yet */
    int data354;          /* the last CEV_DATA was 354 */
    int rcpt_ev;          /* CEV_RCPTs in this transaction */
    int rcpt_ok;          /* smtp_client_rcpt() calls that said OK in it */
    /* the application's plan */
    int step;             /* 0 MAIL, 1 RCPT, 2 DATA, 3 body, 4 end, 5 verdict */
    int nrcpt, nbody, ntx;
    int app_quit;         /* smtp_client_quit() returned OK */
    int app_turn;         /* smtp_client_turn()/_atrn() said OK */
    int turned_ev;        /* CEV_TURNED seen */
    int plan_only;        /* no random calls: the plan below, fixed */
    int plan_rcpt, plan_body, plan_auth, plan_mech, plan_turn, authed;
    int bdat_app;         /* smtp_client_data() said OK in BDAT mode */
    size_t last_body;     /* octets of the last body chunk handed in */
};

static uint32_t rnd(struct run *r)
{
    uint32_t x = r->rng;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    r->rng = x;
    return x;
}

/* ------------------------------------------------------ reply splitter */

static void consumed(struct run *r, const uint8_t *p, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        r->rl_at_final = 0;
        if (r->rl_len < sizeof r->rl)
            r->rl[r->rl_len] = (char)p[i];
        r->rl_len++;
        if (p[i] != '\n')
            continue;
        if (r->rl_len >= 5 && r->rl_len <= 512 && r->rl[0] >= '2' && r->rl[0] <= '5' &&
            r->rl[1] >= '0' && r->rl[1] <= '9' && r->rl[2] >= '0' && r->rl[2] <= '9' &&
            (r->rl[3] == ' ' || (r->rl_len == 5 && r->rl[3] == '\r'))) {
            r->rl_final_code = (r->rl[0] - '0') * 100 + (r->rl[1] - '0') * 10 + (r->rl[2] - '0');
            r->rl_at_final = 1;
        }
        r->rl_len = 0;
        r->greeted = 1;
    }
}

/* ------------------------------------------------------- command model */

static int is_b64(const char *l, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (!((l[i] >= 'A' && l[i] <= 'Z') || (l[i] >= 'a' && l[i] <= 'z') ||
              (l[i] >= '0' && l[i] <= '9') || l[i] == '+' || l[i] == '/' || l[i] == '='))
            return 0;
    return 1;
}

static int starts(const char *l, size_t n, const char *w)
{
    size_t k = strlen(w);
    return n >= k && memcmp(l, w, k) == 0;
}

static int is_word(const char *l, size_t n, const char *w)
{
    return n == strlen(w) && memcmp(l, w, n) == 0;
}

/* "<addr>" at l[0..n) with addr one of list[]; returns the octets after. */
static size_t path_of(const char *l, size_t n, const char *const *list, size_t nl)
{
    size_t k;
    for (k = 0; k < nl; k++) {
        size_t a = strlen(list[k]);
        if (n >= a + 2 && l[0] == '<' && memcmp(l + 1, list[k], a) == 0 && l[a + 1] == '>')
            return a + 2;
    }
    fail(__LINE__, "a path that is none of the application's addresses");
    return 0;
}

static void command(struct run *r, const char *l, size_t n)
{
    dump("  command", l, n);
    if (r->auth && !is_word(l, n, "QUIT") && !is_word(l, n, "RSET") && is_b64(l, n))
        return; /* an AUTH response line (RFC 4954 4) */
    r->auth = 0;
    CHECK(n + 2 <= 512, "a command line over 512 octets");
    CHECK(!r->quit, "a command after QUIT");
    if (is_word(l, n, "QUIT")) {
        r->quit = 1;
        return;
    }
    if (starts(l, n, "EHLO ") || starts(l, n, "HELO ")) {
        CHECK(is_word(l + 5, n - 5, r->host), "EHLO/HELO with another name than ours");
        CHECK(l[0] == 'E' || r->ehlo, "HELO before EHLO was tried");
        CHECK(!r->tls_wait || (r->tls_done && l[0] == 'E'), "EHLO after STARTTLS before tls_done");
        CHECK(!r->tx, "EHLO inside a transaction");
        r->tls_wait = r->tls_done = 0;
        r->hello = 1;
        r->ehlo |= l[0] == 'E';
        return;
    }
    /* after the end of the data the client waits for the verdict, but may
     * queue the RSET of a transaction a refused BDAT chunk ended */
    CHECK(!r->verdict_wait || is_word(l, n, "RSET"),
          "a command after the end of the data before the verdict");
    CHECK(!r->tls_wait, "a command after STARTTLS other than EHLO");
    CHECK(r->hello, "a command before EHLO/HELO");
    if (is_word(l, n, "STARTTLS")) {
        CHECK(!r->tx, "STARTTLS inside a transaction");
        r->tls_wait = 1;
        r->tls_done = 0;
        return;
    }
    if (starts(l, n, "AUTH ")) {
        CHECK(!r->tx, "AUTH inside a transaction");
        CHECK(starts(l, n, "AUTH PLAIN") || starts(l, n, "AUTH LOGIN") || starts(l, n, "AUTH XOAUTH2") ||
                  starts(l, n, "AUTH OAUTHBEARER"),
              "AUTH with an unknown mechanism");
        r->auth = 1;
        return;
    }
    if (is_word(l, n, "RSET")) {
        r->tx = r->rcpts = 0;
        return;
    }
    if (is_word(l, n, "NOOP"))
        return;
    if (is_word(l, n, "TURN") || is_word(l, n, "ATRN") ||
        is_word(l, n, "ATRN example.org,example.net")) {
        CHECK(!r->tx, "TURN/ATRN inside a transaction");
        r->turn_wait = 1;
        return;
    }
    if (starts(l, n, "MAIL FROM:")) {
        size_t k = 10;
        CHECK(!r->tx, "MAIL inside a transaction");
        r->binary = 0;
        k += path_of(l + k, n - k, froms, sizeof froms / sizeof froms[0]);
        while (k < n) { /* the parameters the application asked for */
            size_t e = k + 1;
            CHECK(l[k] == ' ', "MAIL parameters not separated by SP");
            while (e < n && l[e] != ' ')
                e++;
            if (starts(l + k + 1, e - k - 1, "SIZE=") || is_word(l + k + 1, e - k - 1, "BODY=7BIT") ||
                is_word(l + k + 1, e - k - 1, "BODY=8BITMIME") || is_word(l + k + 1, e - k - 1, "SMTPUTF8") ||
                is_word(l + k + 1, e - k - 1, "RET=FULL") || is_word(l + k + 1, e - k - 1, "RET=HDRS") ||
                is_word(l + k + 1, e - k - 1, "ENVID=id+2B1+3Dx") ||
                is_word(l + k + 1, e - k - 1, "ENVID=QQ12345")) {
            } else {
                CHECK(is_word(l + k + 1, e - k - 1, "BODY=BINARYMIME"), "a MAIL parameter not asked for");
                r->binary = 1;
            }
            k = e;
        }
        r->tx = 1;
        r->rcpts = 0;
        return;
    }
    if (starts(l, n, "RCPT TO:")) {
        size_t k = 8;
        CHECK(r->tx, "RCPT without MAIL");
        k += path_of(l + k, n - k, tos, sizeof tos / sizeof tos[0]);
        while (k < n) {
            size_t e = k + 1;
            CHECK(l[k] == ' ', "RCPT parameters not separated by SP");
            while (e < n && l[e] != ' ')
                e++;
            CHECK(starts(l + k + 1, e - k - 1, "NOTIFY=") ||
                      is_word(l + k + 1, e - k - 1, "ORCPT=rfc822;rcpt@example.org") ||
                      is_word(l + k + 1, e - k - 1, "ORCPT=rfc822;a+2Bb+3Dc@x"),
                  "a RCPT parameter not asked for");
            k = e;
        }
        r->rcpts++;
        return;
    }
    if (is_word(l, n, "DATA")) {
        CHECK(r->tx && r->rcpts > 0, "DATA without a RCPT");
        CHECK(!r->binary, "DATA for a BINARYMIME message");
        r->data_wait = 1;
        return;
    }
    if (starts(l, n, "BDAT ")) {
        size_t k = 5;
        uint64_t v = 0;
        CHECK(r->tx && r->rcpts > 0, "BDAT without a RCPT");
        CHECK(k < n && l[k] >= '0' && l[k] <= '9', "BDAT without a size");
        while (k < n && l[k] >= '0' && l[k] <= '9' && v < 1000000000ull)
            v = v * 10 + (uint64_t)(l[k++] - '0');
        r->bdat_last = k < n;
        CHECK(k == n || is_word(l + k, n - k, " LAST"), "BDAT with something else than LAST");
        r->bdat_left = v;
        if (r->bdat_last && v == 0) {
            CHECK(!r->bdat_cr || r->binary, "a bare CR at the end of the BDAT data");
            r->tx = 0;
            r->verdict_wait = 1;
        }
        return;
    }
    fail(__LINE__, "a command the client never sends");
}

#define MK_TLS_DONE 100 /* smtp_client_tls_done() said OK */

/* What an event (or tls_done) changes in the model, where it happened. */
static void apply(struct run *r, const struct mark *m)
{
    switch (m->kind) {
    case SMTP_CEV_MAIL:
        if (m->code / 100 != 2)
            r->tx = 0; /* refused: a RCPT produced after this is out of sequence */
        break;
    case SMTP_CEV_DATA:
        r->data_wait = 0;
        if (m->code == 354) {
            r->data_mode = 1;
            r->dm = 0;
        } else {
            r->tx = 0;
        }
        break;
    case SMTP_CEV_SENT: /* the verdict, or a refused BDAT chunk */
        r->verdict_wait = 0;
        r->tx = 0;
        r->bdat_left = 0;
        break;
    case SMTP_CEV_AUTH:
        r->auth = 0;
        break;
    case SMTP_CEV_READY: /* after a refused STARTTLS (opportunistic) too */
        r->tls_wait = 0;
        break;
    case SMTP_CEV_REPLY: /* NOOP's, or a refused TURN/ATRN */
        r->turn_wait = 0;
        break;
    case SMTP_CEV_TURNED:
        r->turn_wait = 0;
        r->turned = 1;
        break;
    case SMTP_CEV_CLOSED:
        r->closing = 1;
        break;
    case MK_TLS_DONE:
        r->tls_done = 1;
        break;
    default:
        break;
    }
}

/* The stream offset of everything produced so far. */
static uint64_t pos_now(const struct run *r)
{
    return r->acked + (size_t)(r->c._out_len - r->c._out_off) + r->c._run_len;
}

/* Notes what an event changes, for the model to apply at `at`: where the
 * output stood before the call that returned it (what that call queued,
 * as the "." after a 354 with no recipient, answers the event). */
static void mark(struct run *r, int kind, unsigned code, uint64_t at)
{
    CHECK(r->nmarks < sizeof r->marks / sizeof r->marks[0], "harness: too many marks");
    r->marks[r->nmarks].at = at;
    r->marks[r->nmarks].kind = kind;
    r->marks[r->nmarks].code = code;
    r->nmarks++;
}

/* Applies the marks made before stream offset `at`. */
static void marks_upto(struct run *r, uint64_t at)
{
    size_t k = 0, j;
    while (k < r->nmarks && r->marks[k].at <= at)
        apply(r, &r->marks[k++]);
    for (j = 0; k < r->nmarks; j++, k++)
        r->marks[j] = r->marks[k];
    r->nmarks = j;
}

/* One octet the client sent (acknowledged), in order. */
static void wire(struct run *r, uint8_t o)
{
    static const char marker[] = "INJECT";
    marks_upto(r, r->wire);
    r->wire++;
    if ((char)o == marker[r->mark_i]) {
        CHECK(++r->mark_i < 6, "the reply marker INJECT echoed into the output");
    } else {
        r->mark_i = (char)o == marker[0];
    }
    CHECK(!r->quit, "output after QUIT");
    CHECK(!r->turned, "output after TURN/ATRN got 250");
    if (r->closing) {
        /* the session is over: QUIT, from a line start, and nothing else */
        CHECK(r->line_len > 0 || (!r->data_mode && !r->bdat_left),
              "QUIT sent inside the message data");
        CHECK(r->line_len > 0 || o == 'Q', "something else than QUIT after the end");
        r->data_mode = 0;
        r->bdat_left = 0;
        r->data_wait = r->verdict_wait = r->turn_wait = 0;
        r->tx = 0;
        r->auth = 0;
    }
    CHECK(!r->turn_wait, "output after TURN/ATRN before its reply");
    CHECK(!r->data_wait, "output after DATA before its reply");
    if (r->bdat_left) { /* a BDAT chunk's octets */
        if (!r->binary) {
            CHECK(o != '\n' || r->bdat_cr, "a bare LF in BDAT data");
            CHECK(!r->bdat_cr || o == '\n', "a bare CR in BDAT data");
            r->bdat_cr = o == '\r';
        }
        if (--r->bdat_left == 0 && r->bdat_last) {
            CHECK(!r->bdat_cr || r->binary, "a bare CR at the end of the BDAT data");
            r->tx = 0;
            r->verdict_wait = 1;
        }
        return;
    }
    if (r->data_mode) { /* RFC 5321 4.5.2: CRLF lines, CRLF.CRLF ends */
        switch (r->dm) {
        case 0: /* line start */
            CHECK(o != '\n', "a bare LF in the data");
            r->dm = o == '.' ? 3 : o == '\r' ? 2 : 1;
            break;
        case 1:
            CHECK(o != '\n', "a bare LF in the data");
            r->dm = o == '\r' ? 2 : 1;
            break;
        case 2:
            CHECK(o == '\n', "a bare CR in the data");
            r->dm = 0;
            break;
        case 3: /* "." at a line start: stuffed ("..") or the end (".\r\n") */
            CHECK(o == '.' || o == '\r', "a line starting with an unstuffed dot");
            r->dm = o == '.' ? 1 : 4;
            break;
        default:
            CHECK(o == '\n', "a bare CR after a dot");
            r->data_mode = 0;
            r->tx = 0;
            r->verdict_wait = 1;
            break;
        }
        return;
    }
    if (r->line_len < sizeof r->line)
        r->line[r->line_len] = (char)o;
    else
        r->line_over = 1;
    r->line_len++;
    if (o == '\n') {
        size_t n = r->line_len;
        CHECK(n >= 2 && !r->line_over && r->line[n - 2] == '\r', "a command line ending in a bare LF");
        CHECK(memchr(r->line, '\r', n - 2) == NULL, "a CR inside a command line");
        CHECK(memchr(r->line, '\0', n - 2) == NULL, "a NUL inside a command line");
        r->line_len = 0;
        if (r->closing)
            CHECK(is_word(r->line, n - 2, "QUIT"), "a partly sent command completed by QUIT");
        command(r, r->line, n - 2);
    } else {
        CHECK(r->line_len <= 1024 || r->auth, "a command line without end");
    }
}

/* What the client holds to send (rule C3: _out first, then the body run
 * in place): within SMTP_CLIENT_OUT_MAX and the chunk handed in, and
 * nothing before a reply was read but the QUIT of a session that ended. */
static void look(struct run *r)
{
    size_t olen = (size_t)(r->c._out_len - r->c._out_off);
    CHECK(r->c._out_len <= SMTP_CLIENT_OUT_MAX && r->c._out_off <= r->c._out_len,
          "more commands queued than SMTP_CLIENT_OUT_MAX");
    CHECK(r->c._run_len <= r->last_body, "a body run longer than the chunk handed in");
    CHECK(olen + r->c._run_len == 0 || r->greeted || r->closed, "output before any reply was read");
}

/* Acknowledges some output (rule 6: sometimes part of it). */
static void ack(struct run *r)
{
    static const size_t sizes[8] = {0, 1, 2, 5, 64, 100, 511, 513};
    size_t len = 0, k, i;
    const char *o = smtp_client_output(&r->c, &len);
    look(r);
    if (len == 0) {
        CHECK(o == NULL, "smtp_client_output(): length 0 but a pointer");
        marks_upto(r, r->wire);
        return;
    }
    CHECK(o != NULL, "smtp_client_output(): a length but no pointer");
    CHECK(len <= SMTP_CLIENT_OUT_MAX || len <= r->last_body, "more output than SMTP_CLIENT_OUT_MAX");
    if (r->ack_mode == 0) { /* whole: in the body, a writev() of up to 4 spans */
        struct smtp_span v[4];
        size_t n = smtp_client_output_spans(&r->c, v, 4), j;
        CHECK(n == 0 || (v[0].ptr == o && v[0].len == len), "output_spans: not the first span");
        for (j = 0; j < n; j++) {
            CHECK(v[j].ptr != NULL && v[j].len > 0, "output_spans: an empty span");
            dump("  sent", v[j].ptr, v[j].len);
            for (i = 0; i < v[j].len; i++)
                wire(r, (uint8_t)v[j].ptr[i]);
            r->acked += v[j].len;
        }
        if (n) {
            look(r);
            return;
        }
    }
    k = sizes[r->ack_mode];
    if (k == 0 || k > len)
        k = len;
    dump("  sent", o, k);
    for (i = 0; i < k; i++)
        wire(r, (uint8_t)o[i]);
    smtp_client_output_done(&r->c, k);
    r->acked += k;
    look(r);
}

/* ---------------------------------------------------------- the events */

static void event(struct run *r, int st, const union smtp_cevent *ev, size_t used, uint64_t at)
{
    unsigned code = ev->any.reply.code;
    size_t i;
    TRACE("%s %u\n", smtp_client_event_name(st), code);
    CHECK(st >= 1 && st <= SMTP__CEV_LAST, "an unknown event");
    CHECK(!r->closed, "an event after CEV_CLOSED");
    CHECK(ev->any.reply.text.ptr != NULL && (code || ev->any.reply.text.len == 0),
          "an event's reply text is NULL, or text with no reply (smtp.h: code 0: none)");
    CHECK(code || ev->any.reply.cls == 0, "an enhanced code with no reply");
    if (code) {
        const char *t = ev->any.reply.text.ptr;
        CHECK(code >= 200 && code <= 599, "a reply code outside 200-599");
        CHECK(ev->any.reply.text.len <= SMTP_CLIENT_TEXT_MAX, "reply text over SMTP_CLIENT_TEXT_MAX");
        CHECK(t >= (const char *)&r->c && t + ev->any.reply.text.len <= (const char *)(&r->c + 1),
              "reply text outside the client");
        for (i = 0; i < ev->any.reply.text.len; i++)
            CHECK((unsigned char)t[i] >= ' ' ? t[i] != 0x7f : t[i] == '\n',
                  "a control octet in the reply text");
        CHECK(ev->any.reply.cls == 0 || ev->any.reply.cls == code / 100,
              "an enhanced code of another class than the reply");
    }
    if (st == SMTP_CEV_CLOSED) {
        size_t k;
        CHECK(ev->closed.why <= SMTP_WHY_ABORT, "CEV_CLOSED with an unknown why");
        if (ev->closed.why == SMTP_WHY_QUIT)
            CHECK(code == 221 && r->rl_at_final && r->rl_final_code == 221 && r->app_quit,
                  "CEV_CLOSED why QUIT without QUIT and 221");
        if (ev->closed.why == SMTP_WHY_421)
            CHECK(code == 421 || code == 221 || r->app_quit, "CEV_CLOSED why 421 without 421 (or 221 unasked)");
        r->closed = 1;
        /* what was queued and not sent is dropped: the marks apply now */
        for (k = 0; k < r->nmarks; k++)
            r->marks[k].at = r->acked;
        mark(r, st, code, r->acked);
        return;
    }
    if (st == SMTP_CEV_TLS) {
        CHECK(code == 220, "CEV_TLS without 220");
        r->tls_ev = 1;
        r->rl_len = 0; /* the rest was dropped (rule C5) */
        return;
    }
    CHECK(used > 0 && r->rl_at_final && (unsigned)r->rl_final_code == code,
          "an event that is not the reply line just read");
    switch (st) {
    case SMTP_CEV_READY:
        CHECK(code == 250 || (r->c.cfg.tls == SMTP_TLS_OPPORTUNISTIC && code >= 400),
              "CEV_READY without 250 (or STARTTLS refused, opportunistic)");
        r->ready = 1;
        break;
    case SMTP_CEV_MAIL:
        if (code / 100 != 2)
            r->step = 0;
        break;
    case SMTP_CEV_RCPT:
        CHECK(ev->rcpt.index == r->rcpt_ev && r->rcpt_ev < r->rcpt_ok,
              "CEV_RCPT out of order, or for a recipient not asked for in this transaction");
        r->rcpt_ev++;
        CHECK(ev->rcpt.result <= SMTP_RCPT_LATER, "CEV_RCPT result out of range");
        CHECK(code / 100 == 2 ? ev->rcpt.result == SMTP_RCPT_OK
                              : ev->rcpt.result == SMTP_RCPT_LATER ||
                                    ev->rcpt.result == (code / 100 == 4 ? SMTP_RCPT_TEMP : SMTP_RCPT_PERM),
              "CEV_RCPT result does not match the code");
        break;
    case SMTP_CEV_DATA:
        r->data354 = code == 354;
        if (code != 354)
            r->step = 0;
        break;
    case SMTP_CEV_TURNED:
        CHECK(code == 250 && r->app_turn, "CEV_TURNED without TURN/ATRN and 250");
        r->turned_ev = 1;
        break;
    case SMTP_CEV_SENT:
        r->bdat_app = 0;
        r->data354 = 0;
        r->step = 0;
        break;
    default:
        break;
    }
    mark(r, st, code, at);
}

/* ------------------------------------------------------ the application */

static int api(struct run *r, int which)
{
    uint32_t x = rnd(r);
    int rc = 0, over = r->closed || r->app_quit || r->turned_ev;
    size_t used = 777;
    switch (which) {
    case 0: { /* MAIL */
        struct smtp_mail_opts o;
        memset(&o, 0, sizeof o);
        if (x & 0x10u)
            o.size = (x >> 8) & 0xffffu;
        o.body = (uint8_t)((x >> 5) & 3u);
        o.smtputf8 = (x >> 24) & 1u;
        if ((x >> 25) & 1u)
            o.ret = (uint8_t)(1 + ((x >> 26) & 1u));
        if ((x >> 27) & 1u)
            o.envid = envids[(x >> 28) & 1u];
        rc = smtp_client_mail(&r->c, froms[(x >> 29) & 3u], (x & 0xfu) == 0 || r->plan_only ? NULL : &o);
        TRACE("app: mail -> %s\n", smtp_err_name(rc));
        if (rc == SMTP_OK) {
            CHECK(r->ready, "MAIL accepted before CEV_READY");
            r->step = 1;
            r->nrcpt = 0;
            r->rcpt_ev = r->rcpt_ok = 0;
            r->data354 = 0;
            r->bdat_app = 0;
        }
        break;
    }
    case 1: { /* RCPT */
        unsigned notify = (x & 8u) ? (x >> 4) & 15u : 0;
        rc = smtp_client_rcpt(&r->c, tos[(x >> 8) % 5u], notify,
                              (x >> 12) & 1u ? orcpts[(x >> 13) & 1u] : NULL);
        TRACE("app: rcpt -> %s\n", smtp_err_name(rc));
        if (rc == SMTP_OK) {
            CHECK(r->ready, "RCPT accepted before CEV_READY");
            r->rcpt_ok++;
            if (++r->nrcpt >= (r->plan_only ? r->plan_rcpt : 1 + (int)((x >> 14) & 3u)))
                r->step = 2;
        } else if (rc == SMTP_ERR_LIMIT) {
            r->step = 2; /* RCPTMAX or a 452: DATA with those there are */
        }
        break;
    }
    case 2: /* DATA */
        rc = smtp_client_data(&r->c);
        TRACE("app: data -> %s\n", smtp_err_name(rc));
        if (rc == SMTP_OK) {
            CHECK(r->rcpt_ok > 0, "DATA accepted without a RCPT asked for");
            r->step = 3;
            r->nbody = r->plan_only ? r->plan_body : (int)(x >> 8) % 6;
            if (!r->data_wait)
                r->bdat_app = 1; /* BDAT: the chunks come now */
        } else if (rc == SMTP_ERR_NORCPT) {
            r->step = 0;
        }
        break;
    case 3: { /* a body chunk */
        unsigned k = (x >> 8) % (unsigned)(sizeof pieces / sizeof pieces[0]);
        size_t len = piece_len[k];
        if ((x >> 16) & 1u && len > 1)
            len = 1 + (x >> 17) % len;
        dump("app: body chunk", pieces[k], len);
        rc = smtp_client_body(&r->c, pieces[k], len, &used);
        TRACE("app: body(%lu) -> %s used %lu\n", (unsigned long)len, smtp_err_name(rc),
              (unsigned long)used);
        CHECK(rc == SMTP_OK ? used > 0 && used <= len : used == 0, "body: used");
        if (rc == SMTP_OK) {
            r->last_body = len;
            CHECK(r->data354 || r->bdat_app, "body accepted before the 354");
            if (r->nbody-- <= 0)
                r->step = 4;
        }
        break;
    }
    case 4: /* the end */
        rc = smtp_client_end(&r->c);
        TRACE("app: end -> %s\n", smtp_err_name(rc));
        if (rc == SMTP_OK) {
            CHECK(r->data354 || r->bdat_app, "end accepted before the 354");
            r->step = 5;
            r->ntx++;
        }
        break;
    case 5:
        rc = smtp_client_rset(&r->c);
        TRACE("app: rset -> %s\n", smtp_err_name(rc));
        if (rc == SMTP_OK)
            r->step = 0;
        break;
    case 6:
        rc = smtp_client_noop(&r->c);
        TRACE("app: noop -> %s\n", smtp_err_name(rc));
        break;
    case 7:
        rc = smtp_client_quit(&r->c);
        TRACE("app: quit -> %s\n", smtp_err_name(rc));
        if (rc == SMTP_OK)
            r->app_quit = 1;
        break;
    case 8: { /* AUTH */
        int mech = r->plan_only ? r->plan_mech : 1 + (int)((x >> 4) & 3u);
        const char *secret = (x >> 6) & 1u ? long_secret : "s3cr3t";
        rc = smtp_client_auth(&r->c, mech, (x >> 7) & 1u ? "admin" : NULL, "user@example.com", secret);
        TRACE("app: auth %d -> %s\n", mech, smtp_err_name(rc));
        if (rc == SMTP_OK)
            CHECK(r->ready, "AUTH accepted before CEV_READY");
        if (rc != SMTP_ERR_BUSY)
            r->authed = 1; /* the plan goes on without it when refused */
        break;
    }
    case 11:
    case 12:
        rc = which == 11 ? smtp_client_turn(&r->c)
                         : smtp_client_atrn(&r->c, (x >> 4) & 1u ? "example.org,example.net" : NULL);
        TRACE("app: %s -> %s\n", which == 11 ? "turn" : "atrn", smtp_err_name(rc));
        if (rc == SMTP_OK) {
            CHECK(r->ready, "TURN/ATRN accepted before CEV_READY");
            r->app_turn = 1;
        }
        break;
    case 9: {
        uint64_t at = pos_now(r);
        rc = smtp_client_tls_done(&r->c);
        TRACE("app: tls_done -> %s\n", smtp_err_name(rc));
        CHECK(rc == SMTP_OK ? r->tls_ev : rc == SMTP_ERR_STATE, "tls_done without CEV_TLS");
        if (rc == SMTP_OK) {
            r->tls_ev = 0;
            mark(r, MK_TLS_DONE, 0, at);
        }
        return rc;
    }
    default:
        if ((x & 63u) == 0) {
            size_t k;
            TRACE("app: abort\n");
            smtp_client_abort(&r->c);
            CHECK(smtp_client_closed(&r->c), "abort but not closed");
            r->closed = 1;
            for (k = 0; k < r->nmarks; k++)
                r->marks[k].at = r->acked;
            mark(r, SMTP_CEV_CLOSED, 0, r->acked);
        }
        return SMTP_ERR_BUSY;
    }
    CHECK(rc <= 0 && rc >= SMTP__ERR_LAST, "an undocumented return value");
    CHECK((rc != SMTP_OK && rc != SMTP_ERR_BUSY) || !over,
          "a command accepted (or told to wait) after QUIT, TURN or the end");
    return rc;
}

/* One round of the application: one to three calls, or with the plan
 * alone every call it can make now (so that the seeds' replies meet the
 * commands they answer). */
static void app(struct run *r)
{
    int k, n = r->plan_only ? 16 : 1 + (int)(rnd(r) % 3u);
    if (r->tls_ev && (r->plan_only || (rnd(r) & 1u))) {
        api(r, 9);
        look(r);
    }
    for (k = 0; k < n && !r->closed; k++) {
        uint32_t x = rnd(r);
        int which, rc;
        if ((x & 3u) == 0 && !r->plan_only) {
            which = (int)((x >> 2) % 13u);
        } else if (!r->ready) {
            return;
        } else if (r->ntx >= 2 && r->step == 0) {
            which = r->plan_turn ? 11 : 7;
        } else if (r->step == 0 && r->c.caps.mechs &&
                   (r->plan_only ? r->plan_auth && !r->authed : ((x >> 2) & 7u) == 0)) {
            which = 8;
        } else if (r->step == 5) {
            if (r->plan_only)
                return; /* waiting for the verdict */
            which = ((x >> 2) & 1u) ? 6 : 10; /* NOOP, or nothing */
        } else {
            static const int plan[5] = {0, 1, 2, 3, 4};
            which = plan[r->step];
        }
        rc = api(r, which);
        look(r);
        if (r->plan_only && (rc == SMTP_ERR_BUSY || rc == SMTP_ERR_STATE || which == 7 || which == 11))
            return;
    }
}

/* ---------------------------------------------------------- the driver */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t feeds[8] = {0, 1, 2, 3, 7, 17, 64, 600};
    static struct run run; /* large: not on the stack */
    struct run *r = &run;
    struct smtp_client_config cfg;
    unsigned long rounds = 0, limit, idle = 0;
    uint64_t before = 0;
    int k;
    if (size < 4)
        return 0;
    memset(r, 0, sizeof *r);
    r->in = data + 4;
    r->n = size - 4;
    r->rng = 0x9e3779b9u ^ ((uint32_t)data[2] << 8 | data[3]) * 0x01000193u;
    if (r->rng == 0)
        r->rng = 1;
    r->plan_only = data[2] >> 7;
    r->plan_rcpt = 1 + (data[3] & 3u);
    r->plan_body = (data[3] >> 2) & 3u;
    r->plan_auth = (data[3] >> 4) & 1u;
    r->plan_mech = 1 + ((data[3] >> 5) & 3u);
    r->plan_turn = data[3] >> 7;
    r->feed_mode = data[1] & 7u;
    r->ack_mode = (data[1] >> 3) & 7u;
    smtp_client_config_default(&cfg);
    cfg.tls = (uint8_t)(data[0] & 3u);
    cfg.options = (data[0] & 4u ? SMTP_COPT_AUTH_PLAINTEXT : 0u) |
                  (data[0] & 8u ? SMTP_COPT_NO_PIPELINING : 0u) |
                  (data[0] & 16u ? SMTP_COPT_NO_CHUNKING : 0u) | (data[0] & 32u ? SMTP_COPT_BARE_REFUSE : 0u);
    cfg.max_reply_lines = (uint8_t)((const unsigned[]){0, 1, 3, 255})[data[0] >> 6];
    switch (data[1] >> 6) {
    case 1: cfg.hostname = "client.example.com"; break;
    case 2: cfg.hostname = "[192.0.2.7]"; break;
    case 3: cfg.hostname = host_long; break;
    default: cfg.hostname = NULL; break;
    }
    smtp_client_init(&r->c, &cfg);
    r->host = r->c.cfg.hostname; /* "localhost" for none, or one that is no name */
    look(r);
    limit = 64ul * (unsigned long)r->n + 4096ul;
    for (;;) {
        size_t offer = r->n - r->pos, used = 99999, olen;
        union smtp_cevent ev;
        uint64_t at;
        int st;
        CHECK(++rounds < limit, "no progress: the session does not end");
        app(r);
        ack(r);
        for (k = 0; r->plan_only && k < 64 && r->acked != before; k++) {
            before = r->acked; /* the plan alone: all it can send before a reply */
            app(r);
            ack(r);
        }
        before = r->acked;
        if (feeds[r->feed_mode] && offer > feeds[r->feed_mode])
            offer = feeds[r->feed_mode];
        memset(&ev, 0x5a, sizeof ev);
        at = pos_now(r);
        st = smtp_client_feed(&r->c, offer ? r->in + r->pos : NULL, offer, &used, &ev);
        TRACE("feed(%lu) -> %s used %lu\n", (unsigned long)offer, smtp_client_event_name(st),
              (unsigned long)used);
        CHECK(used <= offer, "smtp_client_feed() took more than offered");
        dump("  took", r->in + r->pos, used);
        if (r->tls_ev || st == SMTP_CEV_TLS) {
            /* between CEV_TLS and tls_done: everything is taken and dropped */
            if (st != SMTP_CEV_TLS)
                CHECK(used == offer && st == SMTP_NEED_INPUT, "plaintext after STARTTLS's 220 read");
        } else {
            consumed(r, r->in + r->pos, used);
        }
        r->pos += used;
        (void)smtp_client_output(&r->c, &olen);
        if (st == SMTP_NEED_INPUT)
            CHECK(used == offer, "NEED_INPUT with octets left");
        else if (st == SMTP_WANT_WRITE)
            CHECK(olen > 0, "WANT_WRITE with no output waiting");
        else if (st == SMTP_CLOSED)
            CHECK(used == 0 && r->closed && smtp_client_closed(&r->c), "CLOSED: input taken, or no CEV_CLOSED");
        else if (st == SMTP_TURNED)
            CHECK(used == 0 && r->turned_ev, "TURNED: input taken, or no CEV_TURNED");
        else
            event(r, st, &ev, used, at);
        if (st == SMTP_CEV_CLOSED)
            CHECK(smtp_client_closed(&r->c), "CEV_CLOSED but smtp_client_closed() says 0");
        look(r);
        if (st == SMTP_CLOSED || st == SMTP_TURNED)
            break; /* (after TURNED the rest is a receiver's input) */
        if (r->pos == r->n && st == SMTP_NEED_INPUT) {
            /* no more server bytes: let the application finish what it can */
            idle = olen == 0 ? idle + 1 : 0;
            if (idle > 16)
                break;
        }
    }
    return 0;
}
