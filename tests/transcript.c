/*
 * transcript.c - runs the transcript tests, tests/transcripts/NAME.txt.
 *
 * A transcript is one SMTP exchange written as the client's lines and the
 * replies, events and message data we expect; the format is described at the
 * end of this comment.  Every transcript is run in several modes (whole
 * input, one byte at a time, random chunks, every two-part split, a session
 * moved by struct copy, a slow writer that acknowledges output a few bytes at
 * a time) and each run must give exactly the expected stream.  Input is
 * always placed flush against a PROT_NONE page, so reading one byte too far
 * crashes even without AddressSanitizer.  Every call is also checked against
 * the contract of smtp.h: consumed <= len, NEED_INPUT only with everything
 * taken, nothing taken while output waits or a decision is deferred, every
 * span of the event's own member inside the input or the session (never the
 * stack or stale input; the event is poisoned before each call, so a field
 * smtp_feed() forgot to fill shows), smtp_awaiting() and
 * smtp_event_default() agreeing with what the core does, smtp_defer()
 * refused after non-decisions,
 * EV_DATA_END's size equal to the octets delivered, reply lines of the form
 * "ddd[ -]text" with at most 512 octets, and nothing taken after the end.
 *
 * Usage: transcript [-v] [-n] [-m MODE] FILE...  (MODE: whole, bytes, random,
 *        copy, hop, slow, splits; -v: show the whole log of a failure; -n:
 *        no child process, for a debugger)  prints "N passed, N failed"
 *        transcript -p FILE...               prints what the core answers
 *
 * Format (one directive or expectation per line; blank lines and lines
 * starting with '#' are ignored):
 *   @hostname [NAME]        server name (escapes and {x*N} allowed); alone:
 *                           NULL, the core's default
 *   @option OPT             lf_lines, bare_keep, bare_normalize, send, no_esmtp,
 *                           require_tls, auth_plaintext, strict_spaces
 *   @ext-off EXT            PIPELINING, SIZE, 8BITMIME, ENHANCEDSTATUSCODES,
 *                           SMTPUTF8, LIMITS: not advertised nor accepted
 *   @ext-on EXT             CHUNKING, BINARYMIME, STARTTLS, AUTH, DSN (or one
 *                           of the @ext-off names): enabled (off by default)
 *   @max_size N, @max_rcpt N, @max_line N, @max_text_line N, @max_errors N,
 *   @max_auth_fails N
 *   @mailbox ADDR           only listed recipients get the default 250; the
 *                           rest get "550 5.1.1 No such user here"
 *   @refuse [TEXT]          answer EV_CONNECT with 554
 *   @answer EV MATCH CODE [x.y.z] [TEXT]
 *                           answer event EV (CONNECT, HELO, EHLO, MAIL, RCPT,
 *                           DATA, DATA_END, VRFY, EXPN, HELP, STARTTLS, AUTH)
 *                           whose path (MAIL, RCPT), user (AUTH) or argument
 *                           equals MATCH ('*': any) with CODE; TEXT may use
 *                           escapes (\n: multi-line).  Unanswered, STARTTLS
 *                           gets the core's 220 and AUTH its 535.
 *   @reject-mail ADDR       same as @answer MAIL ADDR 550
 *   @data-end CODE [TEXT]   same as @answer DATA_END * CODE [TEXT]
 *   @defer EV|all           answer that event through smtp_defer(): the next
 *                           smtp_feed() must say SMTP_PENDING and take nothing
 *   @shutdown-after N       smtp_shutdown(s, 0) once N client lines were taken
 *   @shutdown-now-after N   smtp_shutdown(s, 1) once N client lines were taken
 *   C: TEXT                 a client line; CRLF is appended
 *   C< RAW                  raw client bytes, nothing appended
 *   T: tls                  the TLS handshake happens here, between the
 *                           client bytes before and after this line: input
 *                           is never fed past this point until then (in
 *                           every mode, however the bytes before it are
 *                           chunked); once all of it is taken and the
 *                           output is sent, the runner checks that nothing
 *                           but the STARTTLS 220 came after EV_STARTTLS (the
 *                           bytes between were discarded: no event, no
 *                           reply), calls smtp_tls_done() and logs "T: tls"
 *                           (or "T: tls ERR_STATE").  As the first line of a
 *                           transcript: implicit TLS, smtp_tls_done() right
 *                           after smtp_init().  Input after it is the
 *                           session inside TLS.
 *   S: PATTERN              a reply line; '*' matches any run of octets
 *   S+ PATTERN              one or more reply lines matching PATTERN
 *   M: RAW / M< RAW         message data: consecutive M lines form the whole
 *                           message delivered at EV_DATA_END (M: appends CRLF;
 *                           a lone "M<" is the empty message).  Given any M
 *                           line, every message not refused by the core is
 *                           compared.
 *   E: EV_NAME key=value... an event; only the keys given are compared:
 *                           arg (HELO/EHLO domain, VRFY/EXPN/HELP/NOOP
 *                           argument); EV_MAIL and EV_RCPT path, local,
 *                           domain, params, EV_MAIL also size, mode, body,
 *                           smtputf8, ret NONE|FULL|HDRS, envid, auth,
 *                           EV_RCPT notify (none, NEVER or
 *                           SUCCESS,FAILURE,DELAY in that order), orcpt;
 *                           EV_DATA rcpts; EV_DATA_END reject, size, rcpts;
 *                           EV_AUTH mech PLAIN|LOGIN,
 *                           user, pass, auth (the authzid); EV_BDAT size,
 *                           last 0|1).  The E lines must appear
 *                           in order, each between the same replies as in the
 *                           actual stream; other events may come between.
 *   @events all             every event but EV_BODY must be listed by E lines
 *   A: PATTERN              smtp_reply() refused the app's answer
 *                           ("smtp_reply(455) = ERR_CODE")
 *   X: closed               the session is over here
 *   X: turned               TURN/ATRN accepted: smtp_feed() says SMTP_TURNED
 *                           and takes none of the input that follows
 * Message data: EV_MAIL and EV_DATA start a new message, so the M lines of
 * a BDAT transaction are the octets of all its chunks.  The chunks of an
 * EV_BDAT must arrive as EV_BODY octets totalling exactly its size before
 * any other event.
 * RAW and values use the escapes \r \n \t \\ \{ \} \* \xHH (E: values as
 * the runner prints them: \xHH for spaces, controls and 8-bit); C:, C<, S:,
 * M: and M< also take {TEXT*N}: TEXT repeated N times.
 */
#define _DEFAULT_SOURCE
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef SMTP_STATIC
#include "smtp.c"
#else
#include "smtp.h"
#endif

/* ------------------------------------------------------------------ utils */

#include "tlib.h"

/* '*' matches any run of octets; everything else matches itself. */
static int glob(const char *pat, size_t pn, const char *s, size_t sn)
{
    size_t p = 0, i = 0, star_p = (size_t)-1, star_i = 0;
    while (i < sn) {
        if (p < pn && pat[p] == '*') {
            star_p = p++;
            star_i = i;
        } else if (p < pn && pat[p] == s[i]) {
            p++;
            i++;
        } else if (star_p != (size_t)-1) {
            p = star_p + 1;
            i = ++star_i;
        } else {
            return 0;
        }
    }
    while (p < pn && pat[p] == '*')
        p++;
    return p == pn;
}

/* ------------------------------------------------------------- transcript */

enum kind { K_S = 'S', K_SPLUS = '+', K_M = 'M', K_E = 'E', K_X = 'X', K_A = 'A', K_T = 'T' };

struct item {
    int kind;
    struct buf text; /* S, S+, A: pattern; M: bytes; E: line; X: "closed" */
    int line;        /* line number in the transcript (expected items) */
};

struct rule {
    int ev;
    char *match; /* NULL: any */
    unsigned code;
    char *enh, *text;
};

#define MAX_RULES 64
#define MAX_MAILBOXES 64

struct transcript {
    const char *file;
    struct smtp_config cfg;
    char *hostname;
    char *mailboxes[MAX_MAILBOXES];
    size_t nmailboxes;
    struct rule rules[MAX_RULES];
    size_t nrules;
    unsigned defer_mask; /* bit per event type */
    long shutdown_after;
    int shutdown_now;
    size_t *tls;          /* input offsets of the T: tls points */
    size_t ntls;
    struct buf input;     /* all client bytes */
    size_t *ends;         /* offset after each client line */
    size_t nends;
    struct item *exp;
    size_t nexp;
    int want_events, want_msgs, events_all;
};

/* An @answer names a decision event: any event smtp.h gives a default
 * reply (smtp_event_default()). */
static int decision_index(const char *name)
{
    char full[32];
    int ev;
    snprintf(full, sizeof full, "EV_%s", strncmp(name, "EV_", 3) == 0 ? name + 3 : name);
    for (ev = 1; ev <= SMTP__EV_LAST; ev++)
        if (strcmp(smtp_event_name(ev), full) == 0 && smtp_event_default(ev))
            return ev;
    return -1;
}

static void add_item(struct transcript *t, int kind, int line)
{
    t->exp = realloc(t->exp, (t->nexp + 1) * sizeof *t->exp);
    if (!t->exp)
        die("out of memory");
    memset(&t->exp[t->nexp], 0, sizeof t->exp[0]);
    t->exp[t->nexp].kind = kind;
    t->exp[t->nexp].line = line;
    t->nexp++;
}

static void add_end(struct transcript *t)
{
    t->ends = realloc(t->ends, (t->nends + 1) * sizeof *t->ends);
    if (!t->ends)
        die("out of memory");
    t->ends[t->nends++] = t->input.len;
}

/* unsigned long long: @max_size 4294967296 must survive 32-bit targets */
static unsigned long long number(const char *file, int ln, const char *s)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (*s < '0' || *s > '9' || *end)
        die("%s:%d: bad number '%s'", file, ln, s);
    return v;
}


static char *decoded_dup(const char *file, int ln, const char *s, int rep)
{
    struct buf b = {0, 0, 0};
    if (decode(s, strlen(s), 1, rep, &b) < 0)
        die("%s:%d: bad escape in '%s'", file, ln, s);
    buf_addc(&b, 0);
    return b.p;
}

static void add_rule(struct transcript *t, int ln, int ev, const char *match,
                     unsigned code, char *rest)
{
    struct rule *r;
    char *w;
    if (t->nrules == MAX_RULES)
        die("%s:%d: too many rules", t->file, ln);
    r = &t->rules[t->nrules++];
    r->ev = ev;
    r->match = strcmp(match, "*") == 0 ? NULL : decoded_dup(t->file, ln, match, 0);
    r->code = code;
    r->enh = r->text = NULL;
    while (*rest == ' ')
        rest++;
    w = rest;
    if (w[0] >= '2' && w[0] <= '5' && w[1] == '.') {
        size_t n = strcspn(w, " ");
        r->enh = malloc(n + 1);
        if (!r->enh)
            die("out of memory");
        memcpy(r->enh, w, n);
        r->enh[n] = 0;
        rest = w + n;
        while (*rest == ' ')
            rest++;
    }
    if (*rest)
        r->text = decoded_dup(t->file, ln, rest, 1);
}

static unsigned long long num_arg(struct transcript *t, int ln, char **p)
{
    char *w = word(p);
    if (!w)
        die("%s:%d: number expected", t->file, ln);
    return number(t->file, ln, w);
}

/* A named bit of an @option / @ext-on / @ext-off table. */
struct named_bit {
    const char *name;
    uint32_t bit;
};

static uint32_t bit_named(const struct transcript *t, int ln, const struct named_bit *tab, size_t n,
                          const char *arg, const char *what)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (strcmp(arg, tab[i].name) == 0)
            return tab[i].bit;
    die("%s:%d: unknown %s %s", t->file, ln, what, arg);
    return 0;
}

static void directive(struct transcript *t, int ln, char *line)
{
    static const struct named_bit opts[] = {{"lf_lines", SMTP_OPT_LF_LINES},
                {"bare_keep", SMTP_OPT_BARE_KEEP},
                {"bare_normalize", SMTP_OPT_BARE_NORMALIZE},
                {"send", SMTP_OPT_SEND},
                {"no_esmtp", SMTP_OPT_NO_ESMTP},
                {"require_tls", SMTP_OPT_REQUIRE_TLS},
                {"auth_plaintext", SMTP_OPT_AUTH_PLAINTEXT},
                {"strict_spaces", SMTP_OPT_STRICT_SPACES},
                {"turn", SMTP_OPT_TURN}},
      exts[] = {{"PIPELINING", SMTP_EXT_PIPELINING},
                {"SIZE", SMTP_EXT_SIZE},
                {"8BITMIME", SMTP_EXT_8BITMIME},
                {"ENHANCEDSTATUSCODES", SMTP_EXT_ENHANCEDSTATUSCODES},
                {"SMTPUTF8", SMTP_EXT_SMTPUTF8},
                {"LIMITS", SMTP_EXT_LIMITS},
                {"CHUNKING", SMTP_EXT_CHUNKING},
                {"BINARYMIME", SMTP_EXT_BINARYMIME},
                {"STARTTLS", SMTP_EXT_STARTTLS},
                {"AUTH", SMTP_EXT_AUTH},
                {"DSN", SMTP_EXT_DSN},
                {"ATRN", SMTP_EXT_ATRN}};
    char *p = line + 1, *name = word(&p), *arg;
    struct smtp_config *c = &t->cfg;
    int ev = -1;

    if (!name)
        die("%s:%d: empty directive", t->file, ln);
    while (*p == ' ')
        p++;
    if (strcmp(name, "hostname") == 0) {
        /* "@hostname" alone: NULL, the core's default */
        t->hostname = *p ? decoded_dup(t->file, ln, p, 1) : NULL;
        c->hostname = t->hostname;
    } else if (strcmp(name, "option") == 0) {
        while ((arg = word(&p)) != NULL)
            c->options |= bit_named(t, ln, opts, sizeof opts / sizeof opts[0], arg, "option");
    } else if (strcmp(name, "ext-off") == 0 || strcmp(name, "ext-on") == 0) {
        while ((arg = word(&p)) != NULL) {
            uint32_t bit = bit_named(t, ln, exts, sizeof exts / sizeof exts[0], arg, "extension");
            if (strcmp(name, "ext-on") == 0)
                c->extensions |= bit;
            else
                c->extensions &= ~bit;
        }
    } else if (strcmp(name, "max_size") == 0) {
        c->max_size = (uint64_t)num_arg(t, ln, &p);
    } else if (strcmp(name, "max_rcpt") == 0) {
        c->max_rcpt = (uint16_t)num_arg(t, ln, &p);
    } else if (strcmp(name, "max_line") == 0) {
        c->max_line = (uint16_t)num_arg(t, ln, &p);
    } else if (strcmp(name, "max_text_line") == 0) {
        c->max_text_line = (uint32_t)num_arg(t, ln, &p);
    } else if (strcmp(name, "max_errors") == 0) {
        c->max_errors = (uint16_t)num_arg(t, ln, &p);
    } else if (strcmp(name, "max_auth_fails") == 0) {
        c->max_auth_fails = (uint8_t)num_arg(t, ln, &p);
    } else if (strcmp(name, "mailbox") == 0) {
        if (t->nmailboxes == MAX_MAILBOXES)
            die("%s:%d: too many mailboxes", t->file, ln);
        t->mailboxes[t->nmailboxes++] = decoded_dup(t->file, ln, p, 0);
    } else if (strcmp(name, "refuse") == 0) {
        add_rule(t, ln, SMTP_EV_CONNECT, "*", 554, p);
    } else if (strcmp(name, "answer") == 0) {
        char *evname = word(&p), *match = word(&p);
        unsigned long code;
        if (!evname || !match || (ev = decision_index(evname)) < 0)
            die("%s:%d: @answer EV MATCH CODE [x.y.z] [TEXT]", t->file, ln);
        code = num_arg(t, ln, &p);
        add_rule(t, ln, ev, match, (unsigned)code, p);
    } else if (strcmp(name, "reject-mail") == 0) {
        arg = word(&p);
        if (!arg)
            die("%s:%d: @reject-mail ADDR", t->file, ln);
        add_rule(t, ln, SMTP_EV_MAIL, arg, 550, p);
    } else if (strcmp(name, "data-end") == 0) {
        unsigned long code = num_arg(t, ln, &p);
        add_rule(t, ln, SMTP_EV_DATA_END, "*", (unsigned)code, p);
    } else if (strcmp(name, "defer") == 0) {
        while ((arg = word(&p)) != NULL) {
            if (strcmp(arg, "all") == 0) {
                t->defer_mask = ~0u;
            } else {
                if ((ev = decision_index(arg)) < 0)
                    die("%s:%d: cannot defer %s", t->file, ln, arg);
                t->defer_mask |= 1u << ev;
            }
        }
    } else if (strcmp(name, "events") == 0) {
        arg = word(&p);
        if (!arg || strcmp(arg, "all") != 0)
            die("%s:%d: @events all", t->file, ln);
        t->events_all = 1;
    } else if (strcmp(name, "shutdown-after") == 0 ||
               strcmp(name, "shutdown-now-after") == 0) {
        t->shutdown_now = strcmp(name, "shutdown-now-after") == 0;
        t->shutdown_after = (long)num_arg(t, ln, &p);
    } else {
        die("%s:%d: unknown directive @%s", t->file, ln, name);
    }
}

static void parse(struct transcript *t, const char *file)
{
    FILE *f = fopen(file, "rb");
    char line[65536];
    int ln = 0, prev_m = 0;
    if (!f)
        die("%s: cannot open", file);
    memset(t, 0, sizeof *t);
    t->file = file;
    t->shutdown_after = -1;
    smtp_config_default(&t->cfg);
    t->cfg.hostname = "mx.example";
    while (fgets(line, sizeof line, f)) {
        size_t n = strlen(line);
        char *rest = line + 3;
        size_t rn;
        int is_m = 0;
        ln++;
        if (n && line[n - 1] != '\n' && !feof(f))
            die("%s:%d: line too long", file, ln);
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = 0;
        if (n == 0 || line[0] == '#')
            continue;
        if (line[0] == '@') {
            directive(t, ln, line);
            continue;
        }
        /* "C:" alone is an empty line, "M<" alone the empty message */
        if (n < 2 || (n > 2 && line[2] != ' '))
            die("%s:%d: cannot parse '%s'", file, ln, line);
        if (n == 2)
            rest = line + 2;
        rn = strlen(rest);
        if (line[0] == 'C' && line[1] == ':') {
            if (decode(rest, rn, 0, 1, &t->input) < 0)
                die("%s:%d: bad repeat", file, ln);
            buf_add(&t->input, "\r\n", 2);
            add_end(t);
        } else if (line[0] == 'C' && line[1] == '<') {
            if (decode(rest, rn, 1, 1, &t->input) < 0)
                die("%s:%d: bad escape", file, ln);
            add_end(t);
        } else if (line[0] == 'S' && (line[1] == ':' || line[1] == '+')) {
            add_item(t, line[1] == ':' ? K_S : K_SPLUS, ln);
            if (decode(rest, rn, 0, 1, &t->exp[t->nexp - 1].text) < 0)
                die("%s:%d: bad repeat", file, ln);
            buf_add(&t->exp[t->nexp - 1].text, "", 0);
        } else if (line[0] == 'M' && (line[1] == ':' || line[1] == '<')) {
            is_m = 1;
            t->want_msgs = 1;
            if (!prev_m)
                add_item(t, K_M, ln);
            if (decode(rest, rn, 1, 1, &t->exp[t->nexp - 1].text) < 0)
                die("%s:%d: bad escape", file, ln);
            if (line[1] == ':')
                buf_add(&t->exp[t->nexp - 1].text, "\r\n", 2);
            else
                buf_add(&t->exp[t->nexp - 1].text, "", 0);
        } else if (line[0] == 'E' && line[1] == ':') {
            t->want_events = 1;
            add_item(t, K_E, ln);
            buf_add(&t->exp[t->nexp - 1].text, rest, rn);
        } else if (line[0] == 'A' && line[1] == ':') {
            add_item(t, K_A, ln);
            buf_add(&t->exp[t->nexp - 1].text, rest, rn);
        } else if (line[0] == 'T' && line[1] == ':' && strcmp(rest, "tls") == 0) {
            t->tls = realloc(t->tls, (t->ntls + 1) * sizeof *t->tls);
            if (!t->tls)
                die("out of memory");
            if (t->ntls && t->tls[t->ntls - 1] == t->input.len)
                die("%s:%d: two T: lines with no client bytes between", file, ln);
            t->tls[t->ntls++] = t->input.len;
            add_item(t, K_T, ln);
            buf_adds(&t->exp[t->nexp - 1].text, "tls");
        } else if (line[0] == 'X' && line[1] == ':' &&
                   (strcmp(rest, "closed") == 0 || strcmp(rest, "turned") == 0)) {
            add_item(t, K_X, ln);
            buf_adds(&t->exp[t->nexp - 1].text, rest);
        } else {
            die("%s:%d: cannot parse '%s'", file, ln, line);
        }
        prev_m = is_m;
    }
    fclose(f);
    if (t->shutdown_after > (long)t->nends)
        die("%s: @shutdown-after %ld but only %zu client lines", file,
            t->shutdown_after, t->nends);
    if (t->nexp == 0)
        die("%s: expects nothing", file);
    if (t->events_all)
        t->want_events = 1;
    buf_add(&t->input, "", 0);
}

/* -------------------------------------------------------------------- run */

enum mode { M_WHOLE, M_BYTES, M_RANDOM, M_COPY, M_HOP, M_SLOW, M_SPLIT };
static const char *const mode_names[] = {"whole", "bytes", "random", "copy",
                                         "hop", "slow", "splits"};

struct run {
    const struct transcript *t;
    enum mode mode;
    uint64_t rng;
    size_t split;                 /* M_SPLIT: size of the first chunk */
    struct smtp_session *s, *alt; /* alt: where the session moves next */
    struct item *log;
    size_t nlog;
    struct buf out;  /* reply bytes not yet split into lines */
    struct buf msg;  /* message data since EV_MAIL or EV_DATA */
    uint64_t bdat_left; /* octets of the last EV_BDAT not yet delivered */
    size_t tls_mark; /* log entries before the last T: point */
    struct buf err;  /* first broken invariant */
    const char *in;  /* input of the current smtp_feed() call */
    size_t in_len;
};

static char *guard_page_end; /* input buffers end here, a PROT_NONE page follows */
static size_t guard_room;

static void guard_init(size_t need)
{
    static size_t have;
    size_t page = (size_t)sysconf(_SC_PAGESIZE), len;
    char *m;
    if (need <= have)
        return;
    if (guard_page_end)
        munmap(guard_page_end - guard_room, guard_room + page);
    len = (need + page - 1) / page * page;
    m = mmap(NULL, len + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED || mprotect(m + len, page, PROT_NONE) != 0)
        die("mmap failed");
    guard_page_end = m + len;
    guard_room = len;
    have = len;
}

static uint64_t rnd(struct run *r)
{
    /* xorshift64*: deterministic per seed, no global state */
    r->rng ^= r->rng >> 12;
    r->rng ^= r->rng << 25;
    r->rng ^= r->rng >> 27;
    return r->rng * 2685821657736338717ull;
}

static void fail(struct run *r, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    if (r->err.len)
        return;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    buf_adds(&r->err, tmp);
}

static struct item *log_add(struct run *r, int kind)
{
    r->log = realloc(r->log, (r->nlog + 1) * sizeof *r->log);
    if (!r->log)
        die("out of memory");
    memset(&r->log[r->nlog], 0, sizeof r->log[0]);
    r->log[r->nlog].kind = kind;
    buf_add(&r->log[r->nlog].text, "", 0);
    return &r->log[r->nlog++];
}

/* Splits complete reply lines off r->out into the log, checking their form
 * (RFC 5321 4.2: code, SP or '-', text, CRLF; at most 512 octets). */
static void take_lines(struct run *r)
{
    size_t start = 0, i;
    if (!r->out.len)
        return;
    for (i = 0; i + 1 < r->out.len; i++) {
        if (r->out.p[i] == '\r' && r->out.p[i + 1] == '\n') {
            const char *l = r->out.p + start;
            size_t n = i - start, k;
            struct item *it = log_add(r, K_S);
            buf_add(&it->text, l, n);
            if (n + 2 > 512)
                fail(r, "reply line of %zu octets (> 512)", n + 2);
            if (n < 3 || l[0] < '2' || l[0] > '5' || l[1] < '0' || l[1] > '9' ||
                l[2] < '0' || l[2] > '9' || (n > 3 && l[3] != ' ' && l[3] != '-'))
                fail(r, "malformed reply line '%s'", it->text.p);
            for (k = 0; k < n; k++)
                if ((unsigned char)l[k] < 0x20 || (unsigned char)l[k] > 0x7e)
                    fail(r, "control or 8-bit octet in reply line '%s'", it->text.p);
            if (r->nlog >= 2 && r->log[r->nlog - 2].kind == K_S) {
                const char *prev = r->log[r->nlog - 2].text.p;
                if (strlen(prev) > 3 && prev[3] == '-' && memcmp(prev, l, 3) != 0)
                    fail(r, "multi-line reply changes code: '%s' then '%s'", prev, it->text.p);
            }
            start = i + 2;
            i++;
        }
    }
    memmove(r->out.p, r->out.p + start, r->out.len - start);
    r->out.len -= start;
}

/* Takes reply bytes from the session: all of them, or in slow mode a few. */
static void drain(struct run *r, int all)
{
    size_t len, n;
    const char *o;
    for (;;) {
        o = smtp_output(r->s, &len);
        if (!o || !len) {
            if (o && !len)
                fail(r, "smtp_output() gave a pointer and length 0");
            if (!o && len)
                fail(r, "smtp_output() gave NULL and length %zu", len);
            break;
        }
        n = len;
        if (!all && r->mode == M_SLOW)
            n = 1 + (size_t)(rnd(r) % 7);
        if (n > len)
            n = len;
        buf_add(&r->out, o, n);
        smtp_output_done(r->s, n);
        if (!all && r->mode == M_SLOW)
            break;
    }
    take_lines(r);
}

/* smtp.h: spans point into the input or the session.  A span into the
 * core's constant data (e.g. a CRLF it re-inserts) is harmless and allowed;
 * one into the stack (a local of smtp_feed()) would dangle and is not. */
static int span_ok(const struct run *r, struct smtp_span sp)
{
    const char *sb = (const char *)r->s, *se = sb + sizeof *r->s;
    char here;
    uintptr_t p = (uintptr_t)sp.ptr, h = (uintptr_t)&here;
    /* the "empty spans are not NULL" rule is checked in unit.c, so that it
     * does not hide everything else here */
    if (!sp.len)
        return 1;
    if (!sp.ptr)
        return 0;
    if (sp.ptr >= r->in && sp.ptr + sp.len <= r->in + r->in_len && r->in_len)
        return 1;
    if (sp.ptr >= sb && sp.ptr + sp.len <= se)
        return 1;
    if ((p > h ? p - h : h - p) < ((uintptr_t)1 << 20))
        return 0; /* within a MiB of our own stack frame */
    if (sp.ptr + sp.len > guard_page_end - guard_room && sp.ptr < guard_page_end)
        return 0; /* input from an earlier call */
    return 1;
}

/* Every span of the event's own member must be valid (smtp.h rule 3);
 * smtp_feed() gets a poisoned event, so a field it forgot shows here or in
 * the log. */
static void check_event(struct run *r, const union smtp_event *ev)
{
    const struct smtp_span *sp[8];
    static const char *const names[8] = {"0", "1", "2", "3", "4", "5", "6", "7"};
    int n = 0, i, t = ev->type;
    switch (t) {
    case SMTP_EV_HELO: case SMTP_EV_EHLO:
        sp[n++] = &ev->hello.domain;
        break;
    case SMTP_EV_VRFY: case SMTP_EV_EXPN: case SMTP_EV_HELP: case SMTP_EV_NOOP:
        sp[n++] = &ev->string.arg;
        break;
    case SMTP_EV_TURN: case SMTP_EV_ATRN:
        sp[n++] = &ev->turn.domains;
        break;
    case SMTP_EV_MAIL:
        sp[n++] = &ev->mail.envid;
        sp[n++] = &ev->mail.auth;
        /* fall through */
    case SMTP_EV_RCPT:
        sp[n++] = &ev->mail.path.mailbox;
        sp[n++] = &ev->mail.path.local;
        sp[n++] = &ev->mail.path.domain;
        sp[n++] = &ev->mail.params;
        if (t == SMTP_EV_RCPT)
            sp[n++] = &ev->rcpt.orcpt;
        break;
    case SMTP_EV_AUTH:
        sp[n++] = &ev->auth.authzid;
        sp[n++] = &ev->auth.user;
        sp[n++] = &ev->auth.pass;
        if (ev->auth.mech != SMTP_MECH_PLAIN && ev->auth.mech != SMTP_MECH_LOGIN)
            fail(r, "EV_AUTH: mech %u", ev->auth.mech);
        break;
    case SMTP_EV_BODY:
        sp[n++] = &ev->body.data;
        break;
    case SMTP_EV_BDAT:
        if (ev->bdat.last > 1)
            fail(r, "EV_BDAT: last %u", ev->bdat.last);
        break;
    case SMTP_EV_DATA_END:
        if (ev->end.reject > SMTP_REJECT_SIZE)
            fail(r, "EV_DATA_END: reject %u", ev->end.reject);
        break;
    default:
        break;
    }
    for (i = 0; i < n; i++) {
        if (!span_ok(r, *sp[i]) || !sp[i]->ptr)
            fail(r, "%s: span %s (%p, %zu) is NULL, on the stack or in stale input",
                 smtp_event_name(t), names[i], (const void *)sp[i]->ptr, sp[i]->len);
    }
    if (t == SMTP_EV_MAIL && (ev->mail.mode > 3 || ev->mail.body > 3 || ev->mail.smtputf8 > 1 ||
                              ev->mail.ret > 2))
        fail(r, "EV_MAIL: mode/body/smtputf8/ret out of range");
}

static void kv(struct buf *b, const char *key, struct smtp_span sp)
{
    buf_printf(b, " %s=", key);
    buf_escape(b, sp.ptr, sp.len, 1);
}

static void log_event(struct run *r, const union smtp_event *ev)
{
    static const char *const modes[] = {"MAIL", "SEND", "SOML", "SAML"};
    static const char *const bodies[] = {"NONE", "7BIT", "8BITMIME", "BINARYMIME"};
    static const char *const rets[] = {"NONE", "FULL", "HDRS"};
    static const char *const mechs[] = {"?", "PLAIN", "LOGIN"};

    struct item *it = log_add(r, K_E);
    struct buf *b = &it->text;
    b->len = 0;
    buf_adds(b, smtp_event_name(ev->type));
    switch (ev->type) {
    case SMTP_EV_HELO: case SMTP_EV_EHLO:
        kv(b, "arg", ev->hello.domain);
        break;
    case SMTP_EV_VRFY: case SMTP_EV_EXPN: case SMTP_EV_HELP: case SMTP_EV_NOOP:
        kv(b, "arg", ev->string.arg);
        break;
    case SMTP_EV_TURN: case SMTP_EV_ATRN:
        kv(b, "domains", ev->turn.domains);
        break;
    case SMTP_EV_MAIL: case SMTP_EV_RCPT:
        kv(b, "path", ev->mail.path.mailbox);
        kv(b, "local", ev->mail.path.local);
        kv(b, "domain", ev->mail.path.domain);
        kv(b, "params", ev->mail.params);
        if (ev->type == SMTP_EV_RCPT) {
            if (!ev->rcpt.notify) {
                buf_adds(b, " notify=none");
            } else {
                static const char *const nn[] = {"NEVER", "SUCCESS", "FAILURE", "DELAY"};
                int k, first = 1;
                buf_adds(b, " notify=");
                for (k = 0; k < 8; k++) {
                    if (!(ev->rcpt.notify & (1u << k)))
                        continue;
                    buf_printf(b, "%s%s", first ? "" : ",", k < 4 ? nn[k] : "?");
                    first = 0;
                }
            }
            kv(b, "orcpt", ev->rcpt.orcpt);
            break;
        }
        buf_printf(b, " size=%llu", (unsigned long long)ev->mail.size);
        buf_printf(b, " mode=%s", ev->mail.mode < 4 ? modes[ev->mail.mode] : "?");
        buf_printf(b, " body=%s", ev->mail.body < 4 ? bodies[ev->mail.body] : "?");
        buf_printf(b, " smtputf8=%u", ev->mail.smtputf8);
        buf_printf(b, " ret=%s", ev->mail.ret < 3 ? rets[ev->mail.ret] : "?");
        kv(b, "envid", ev->mail.envid);
        kv(b, "auth", ev->mail.auth);
        break;
    case SMTP_EV_DATA:
        buf_printf(b, " rcpts=%u", ev->data.rcpts);
        break;
    case SMTP_EV_DATA_END:
        buf_printf(b, " reject=%s",
                   ev->end.reject == SMTP_REJECT_NONE ? "NONE"
                   : ev->end.reject == SMTP_REJECT_SIZE ? "SIZE"
                   : ev->end.reject == SMTP_REJECT_LONG_LINE ? "LONG_LINE"
                   : ev->end.reject == SMTP_REJECT_BARE ? "BARE" : "?");
        buf_printf(b, " size=%llu rcpts=%u", (unsigned long long)ev->end.size, ev->end.rcpts);
        break;
    case SMTP_EV_AUTH:
        buf_printf(b, " mech=%s", ev->auth.mech < 3 ? mechs[ev->auth.mech] : "?");
        kv(b, "user", ev->auth.user);
        kv(b, "pass", ev->auth.pass);
        kv(b, "auth", ev->auth.authzid);
        break;
    case SMTP_EV_BDAT:
        buf_printf(b, " size=%llu last=%u", (unsigned long long)ev->bdat.size, ev->bdat.last);
        break;
    default:
        break;
    }
}

/* The app: which answer an event gets.  Returns 0 for "leave the default". */
static const struct rule *find_rule(const struct transcript *t, const union smtp_event *ev)
{
    size_t i;
    struct smtp_span key = {"", 0};
    if (ev->type == SMTP_EV_MAIL || ev->type == SMTP_EV_RCPT)
        key = ev->mail.path.mailbox;
    else if (ev->type == SMTP_EV_AUTH)
        key = ev->auth.user;
    else if (ev->type == SMTP_EV_HELO || ev->type == SMTP_EV_EHLO)
        key = ev->hello.domain;
    else if (ev->type == SMTP_EV_VRFY || ev->type == SMTP_EV_EXPN || ev->type == SMTP_EV_HELP)
        key = ev->string.arg;
    else if (ev->type == SMTP_EV_ATRN)
        key = ev->turn.domains;
    for (i = 0; i < t->nrules; i++) {
        const struct rule *ru = &t->rules[i];
        if (ru->ev != ev->type)
            continue;
        if (!ru->match || (strlen(ru->match) == key.len && memcmp(ru->match, key.ptr, key.len) == 0))
            return ru;
    }
    return NULL;
}

struct answer {
    unsigned code;
    const char *enh, *text;
};

static int decide(const struct transcript *t, const union smtp_event *ev, struct answer *a)
{
    const struct rule *ru = find_rule(t, ev);
    size_t i;
    if (ru) {
        a->code = ru->code;
        a->enh = ru->enh;
        a->text = ru->text;
        return 1;
    }
    if (ev->type == SMTP_EV_RCPT && t->nmailboxes) {
        for (i = 0; i < t->nmailboxes; i++)
            if (strlen(t->mailboxes[i]) == ev->rcpt.path.mailbox.len &&
                memcmp(t->mailboxes[i], ev->rcpt.path.mailbox.ptr, ev->rcpt.path.mailbox.len) == 0)
                return 0;
        a->code = 550;
        a->enh = "5.1.1";
        a->text = "No such user here";
        return 1;
    }
    return 0;
}

static void answer(struct run *r, const struct answer *a)
{
    int rc = smtp_reply(r->s, a->code, a->enh, a->text);
    if (rc != SMTP_OK) {
        struct item *it = log_add(r, K_A);
        it->text.len = 0;
        buf_printf(&it->text, "smtp_reply(%u) = %s", a->code, smtp_err_name(rc));
    }
}

static void move_session(struct run *r)
{
    struct smtp_session *old = r->s;
    *r->alt = *r->s;
    memset(old, 0xa5, sizeof *old);
    r->s = r->alt;
    r->alt = old;
}

/* How many new input bytes the next step adds. */
static size_t chunk(struct run *r, size_t pos, size_t left)
{
    size_t n;
    switch (r->mode) {
    case M_WHOLE: return left;
    case M_BYTES: return 1;
    case M_COPY: {
        size_t half = r->t->input.len / 2;
        return pos < half ? half - pos : left;
    }
    case M_SPLIT: return pos < r->split ? r->split - pos : left;
    default:
        switch (rnd(r) % 10) {
        case 0: case 1: case 2: case 3: case 4: n = 1 + (size_t)(rnd(r) % 8); break;
        case 5: case 6: case 7: n = 1 + (size_t)(rnd(r) % 64); break;
        default: n = 1 + (size_t)(rnd(r) % 1024); break;
        }
        return n;
    }
}

static void show(struct buf *b, const struct item *it);

/* T: tls.  Since EV_STARTTLS nothing but its 220 may have been said: the
 * bytes fed after it were discarded.  Then the handshake "succeeds". */
static void tls_point(struct run *r)
{
    size_t k = r->nlog, after;
    struct item *it;
    int rc;
    while (k > r->tls_mark && !(r->log[k - 1].kind == K_E &&
                                strncmp(r->log[k - 1].text.p, "EV_STARTTLS", 11) == 0))
        k--;
    if (k > r->tls_mark) { /* log[k - 1] is the EV_STARTTLS */
        after = k;
        if (after < r->nlog && r->log[after].kind == K_S &&
            strncmp(r->log[after].text.p, "220", 3) == 0)
            after++;
        if (after < r->nlog) {
            struct buf b = {0, 0, 0};
            show(&b, &r->log[after]);
            fail(r, "between STARTTLS's 220 and the TLS point: %s", b.p);
            free(b.p);
        }
    }
    rc = smtp_tls_done(r->s);
    it = log_add(r, K_T);
    buf_adds(&it->text, "tls");
    if (rc != SMTP_OK) {
        buf_addc(&it->text, ' ');
        buf_adds(&it->text, smtp_err_name(rc));
    }
    r->tls_mark = r->nlog;
}

static void run_session(struct run *r)
{
    const struct transcript *t = r->t;
    const char *input = t->input.p;
    size_t n = t->input.len, pos = 0, avail = 0, steps = 0;
    size_t sd_off = t->shutdown_after >= 0 ? (t->shutdown_after ? t->ends[t->shutdown_after - 1] : 0) : (size_t)-1;
    int sd_done = t->shutdown_after < 0, closed = 0, hopped = 0, deferred = 0;
    size_t tls_i = 0;
    struct answer pending = {0, NULL, NULL};
    union smtp_event ev;

    guard_init(n + 16);
    smtp_init(r->s, &t->cfg);
    if (t->ntls && t->tls[0] == 0) { /* implicit TLS */
        tls_point(r);
        tls_i++;
    }
    for (;;) {
        size_t used = 0, len, limit = sd_done ? n : sd_off;
        if (tls_i < t->ntls && t->tls[tls_i] < limit)
            limit = t->tls[tls_i];
        int st, out_pending;
        if (++steps > 64 * (n + 64)) {
            fail(r, "no progress after %zu calls at input offset %zu", steps, pos);
            return;
        }
        /* random modes sometimes append input before the old is taken */
        if ((r->mode == M_RANDOM || r->mode == M_HOP || r->mode == M_SLOW) &&
            avail > pos && avail < limit && !deferred && rnd(r) % 4 == 0)
            avail += chunk(r, avail, limit - avail);
        if (avail > limit)
            avail = limit;
        /* the unconsumed input always ends at the guard page, so bytes
         * taken earlier (which a deferred event's spans point to) stay put */
        len = avail - pos;
        r->in = len ? guard_page_end - len : (r->mode == M_BYTES ? NULL : guard_page_end);
        r->in_len = len;
        if (len)
            memcpy(guard_page_end - len, input + pos, len);
        out_pending = smtp_output(r->s, &used) != NULL;
        used = 12345;
        memset(&ev, 0x5a, sizeof ev);
        st = smtp_feed(r->s, r->in, len, &used, &ev);
        if (used > len) {
            fail(r, "consumed %zu of %zu", used, len);
            return;
        }
        if (out_pending && used)
            fail(r, "took %zu input octets while output was pending", used);
        if (st > 0 && ev.type != st)
            fail(r, "returned %d but ev.type is %d", st, ev.type);
        if (st > SMTP__EV_LAST || st < SMTP_TURNED)
            fail(r, "returned %d", st);
        /* smtp_closed() may turn 1 with the last reply (EV_QUIT, or
         * WANT_WRITE with a 421); then CLOSED must follow once it is sent */
        if (st != SMTP_CLOSED && st != SMTP_EV_QUIT && st != SMTP_WANT_WRITE &&
            smtp_closed(r->s))
            fail(r, "smtp_closed() is 1 but smtp_feed() returned %s", smtp_event_name(st));
        if (deferred && st != SMTP_PENDING)
            fail(r, "deferred decision: smtp_feed() returned %s, not PENDING", smtp_event_name(st));
        if (st == SMTP_PENDING && used)
            fail(r, "PENDING but took %zu octets", used);
        pos += used;

        if (st > 0) {
            check_event(r, &ev);
            if (st != SMTP_EV_BODY)
                log_event(r, &ev);
            if (st == SMTP_EV_DATA || st == SMTP_EV_MAIL)
                r->msg.len = 0;
            if (st == SMTP_EV_BODY)
                buf_add(&r->msg, ev.body.data.ptr, ev.body.data.len);
            if (st == SMTP_EV_BODY && r->bdat_left) {
                if (ev.body.data.len > r->bdat_left)
                    fail(r, "EV_BODY of %zu octets, but the BDAT chunk has %llu left",
                         ev.body.data.len, (unsigned long long)r->bdat_left);
                else
                    r->bdat_left -= ev.body.data.len;
            } else if (st != SMTP_EV_BODY && r->bdat_left) {
                fail(r, "%s while the BDAT chunk still had %llu octets to deliver",
                     smtp_event_name(st), (unsigned long long)r->bdat_left);
            }
            if (st == SMTP_EV_BDAT)
                r->bdat_left = ev.bdat.size;
            if (st == SMTP_EV_DATA_END) {
                if (ev.end.size != r->msg.len)
                    fail(r, "EV_DATA_END size=%llu but %zu octets were delivered",
                         (unsigned long long)ev.end.size, r->msg.len);
                if ((ev.end.reject == SMTP_REJECT_NONE) != (smtp_awaiting(r->s) == st))
                    fail(r, "EV_DATA_END reject=%u but smtp_awaiting() = %d", ev.end.reject,
                         smtp_awaiting(r->s));
                if (ev.end.reject == SMTP_REJECT_NONE) {
                    struct item *it = log_add(r, K_M);
                    buf_add(&it->text, r->msg.p ? r->msg.p : "", r->msg.len);
                }
            }
            if ((smtp_awaiting(r->s) == st) != (smtp_event_default(st) != 0 &&
                                                 !(st == SMTP_EV_DATA_END && ev.end.reject)))
                fail(r, "%s: smtp_awaiting() = %d, smtp_event_default() = %u", smtp_event_name(st),
                     smtp_awaiting(r->s), smtp_event_default(st));
            if (smtp_awaiting(r->s) == st) {
                struct answer a = {smtp_event_default(st), NULL, NULL};
                int has = decide(t, &ev, &a);
                if (t->defer_mask & (1u << st)) {
                    int rc = smtp_defer(r->s);
                    if (rc != SMTP_OK)
                        fail(r, "smtp_defer() after %s = %s", smtp_event_name(st), smtp_err_name(rc));
                    pending = a;
                    deferred = 1;
                } else if (has) {
                    answer(r, &a);
                }
            } else {
                int rc = smtp_defer(r->s);
                if (rc != SMTP_ERR_STATE)
                    fail(r, "smtp_defer() after %s = %s, not ERR_STATE",
                         smtp_event_name(st), smtp_err_name(rc));
            }
        } else if (st == SMTP_PENDING) {
            if (!deferred) {
                fail(r, "PENDING without a deferred decision");
                return;
            }
            deferred = 0;
            answer(r, &pending);
        } else if (st == SMTP_NEED_INPUT) {
            if (used != len)
                fail(r, "NEED_INPUT but only %zu of %zu taken", used, len);
        } else if (st == SMTP_WANT_WRITE) {
            if (!smtp_output(r->s, &used))
                fail(r, "WANT_WRITE with no output");
        } else if (st == SMTP_CLOSED || st == SMTP_TURNED) {
            if (!smtp_closed(r->s) != (st == SMTP_TURNED))
                fail(r, "%s but smtp_closed() is %d", smtp_event_name(st), smtp_closed(r->s));
            if (!closed) {
                closed = 1;
                drain(r, 1); /* the last replies come before the end */
                log_add(r, K_X);
                buf_adds(&r->log[r->nlog - 1].text, st == SMTP_CLOSED ? "closed" : "turned");
            }
        }
        drain(r, 0);
        if (r->err.len)
            return;
        if ((r->mode == M_HOP) || (r->mode == M_COPY && !hopped && pos >= n / 2)) {
            hopped = 1;
            move_session(r);
        }
        if (st == SMTP_CLOSED || st == SMTP_TURNED) {
            size_t left;
            int end = st;
            drain(r, 1);
            /* nothing more is ever taken or said */
            len = n - pos;
            if (len)
                memcpy(guard_page_end - len, input + pos, len);
            r->in = guard_page_end - len;
            r->in_len = len;
            st = smtp_feed(r->s, r->in, len, &left, &ev);
            if (st != end || left)
                fail(r, "after %s smtp_feed() returned %s and took %zu", smtp_event_name(end),
                     smtp_event_name(st), left);
            if (smtp_output(r->s, &left))
                fail(r, "output after %s", smtp_event_name(end));
            break;
        }
        if (st == SMTP_NEED_INPUT && pos == avail && !deferred) {
            if (out_pending || smtp_output(r->s, &used))
                continue; /* slow writer: settle the output first */
            if (tls_i < t->ntls && pos == t->tls[tls_i]) {
                tls_point(r);
                tls_i++;
                continue;
            }
            if (!sd_done && pos == sd_off) {
                smtp_shutdown(r->s, t->shutdown_now, SMTP_BYE_SHUTDOWN);
                sd_done = 1;
                continue;
            }
            if (avail == n)
                break;
            avail += chunk(r, avail, limit - avail);
        }
    }
    drain(r, 1);
    if (r->out.len)
        fail(r, "reply output ends without CRLF: '%.*s'", (int)r->out.len, r->out.p);
}

/* ---------------------------------------------------------------- compare */

/* Does the expected E line match the logged event line? */
static int event_match(const char *want, const char *got)
{
    char w[4096], g[4096], *wp = w, *tok;
    size_t n = strlen(want);
    if (n >= sizeof w || strlen(got) >= sizeof g)
        return 0;
    memcpy(w, want, n + 1);
    memcpy(g, got, strlen(got) + 1);
    tok = word(&wp);
    if (!tok || strncmp(g, tok, strlen(tok)) != 0 || (g[strlen(tok)] != ' ' && g[strlen(tok)] != 0))
        return 0;
    while ((tok = word(&wp)) != NULL) {
        /* find " key=value " in got */
        size_t tl = strlen(tok);
        const char *p = g;
        int found = 0;
        while ((p = strstr(p, tok)) != NULL) {
            if (p > g && p[-1] == ' ' && (p[tl] == ' ' || p[tl] == 0)) {
                found = 1;
                break;
            }
            p++;
        }
        if (!found)
            return 0;
    }
    return 1;
}

static void show(struct buf *b, const struct item *it)
{
    switch (it->kind) {
    case K_S: buf_adds(b, "S: "); buf_escape(b, it->text.p, it->text.len, 0); break;
    case K_SPLUS: buf_adds(b, "S+ "); buf_escape(b, it->text.p, it->text.len, 0); break;
    case K_M: buf_adds(b, "M< "); buf_escape(b, it->text.p, it->text.len, 0); break;
    case K_E: buf_adds(b, "E: "); buf_add(b, it->text.p, it->text.len); break;
    case K_A: buf_adds(b, "A: "); buf_add(b, it->text.p, it->text.len); break;
    case K_T: buf_adds(b, "T: "); buf_add(b, it->text.p, it->text.len); break;
    default: buf_adds(b, "X: "); buf_add(b, it->text.p, it->text.len); break;
    }
}

static int compare(struct run *r, struct buf *why)
{
    const struct transcript *t = r->t;
    size_t e = 0, a = 0, k;
    struct item *act;
    const struct item *skipped = NULL;
    size_t nact = 0;
    act = malloc((r->nlog + 1) * sizeof *act);
    if (!act)
        die("out of memory");
    for (k = 0; k < r->nlog; k++) {
        if (r->log[k].kind == K_E && !t->want_events)
            continue;
        if (r->log[k].kind == K_M && !t->want_msgs)
            continue;
        act[nact++] = r->log[k];
    }
    while (e < t->nexp || a < nact) {
        const struct item *x = e < t->nexp ? &t->exp[e] : NULL;
        const struct item *y = a < nact ? &act[a] : NULL;
        int ok = 0;
        if (y && y->kind == K_E && !t->events_all &&
            !(x && x->kind == K_E && event_match(x->text.p, y->text.p))) {
            skipped = y;
            a++; /* an event the transcript does not mention */
            continue;
        }
        if (x && y) {
            if (x->kind == K_SPLUS && y->kind == K_S &&
                glob(x->text.p, x->text.len, y->text.p, y->text.len)) {
                while (a + 1 < nact && act[a + 1].kind == K_S &&
                       glob(x->text.p, x->text.len, act[a + 1].text.p, act[a + 1].text.len))
                    a++;
                ok = 1;
            } else if (x->kind == y->kind) {
                if (x->kind == K_S || x->kind == K_A)
                    ok = glob(x->text.p, x->text.len, y->text.p, y->text.len);
                else if (x->kind == K_M)
                    ok = x->text.len == y->text.len && memcmp(x->text.p, y->text.p, x->text.len) == 0;
                else if (x->kind == K_E)
                    ok = event_match(x->text.p, y->text.p);
                else
                    ok = 1;
            }
        }
        if (!ok) {
            buf_printf(why, "    line %d: expected ", x ? x->line : 0);
            if (x)
                show(why, x);
            else
                buf_adds(why, "(nothing more)");
            buf_adds(why, "\n                 got ");
            if (y)
                show(why, y);
            else
                buf_adds(why, "(nothing more)");
            buf_adds(why, "\n");
            if (x && x->kind == K_E && skipped) {
                buf_adds(why, "        (last event passed over: ");
                show(why, skipped);
                buf_adds(why, ")\n");
            }
            free(act);
            return 0;
        }
        e++;
        a++;
    }
    free(act);
    return 1;
}

static void run_free(struct run *r)
{
    size_t i;
    for (i = 0; i < r->nlog; i++)
        free(r->log[i].text.p);
    free(r->log);
    free(r->out.p);
    free(r->msg.p);
    free(r->err.p);
}

static struct smtp_session *sess_a, *sess_b;
static char *crash_note; /* shared with the parent: the mode running now */

/* Runs one mode; on failure appends the reason to why and returns 0. */
static int run_mode(const struct transcript *t, enum mode m, uint64_t seed,
                    size_t split, struct buf *why, int verbose)
{
    struct run r;
    int ok;
    size_t i;
    memset(&r, 0, sizeof r);
    r.t = t;
    r.mode = m;
    r.rng = seed * 0x9e3779b97f4a7c15ull + 1;
    r.split = split;
    memset(sess_a, 0xa5, sizeof *sess_a);
    memset(sess_b, 0x5a, sizeof *sess_b);
    r.s = sess_a;
    r.alt = sess_b;
    if (crash_note)
        snprintf(crash_note, 256, "%s seed %llu split %zu", mode_names[m],
                 (unsigned long long)seed, split);
    run_session(&r);
    ok = !r.err.len;
    if (!ok) {
        buf_printf(why, "  [%s", mode_names[m]);
        if (m == M_RANDOM || m == M_HOP || m == M_SLOW)
            buf_printf(why, " seed %llu", (unsigned long long)seed);
        if (m == M_SPLIT)
            buf_printf(why, " at %zu", split);
        buf_printf(why, "] %s\n", r.err.p);
    } else {
        struct buf w = {0, 0, 0};
        ok = compare(&r, &w);
        if (!ok) {
            buf_printf(why, "  [%s", mode_names[m]);
            if (m == M_RANDOM || m == M_HOP || m == M_SLOW)
                buf_printf(why, " seed %llu", (unsigned long long)seed);
            if (m == M_SPLIT)
                buf_printf(why, " at %zu", split);
            buf_adds(why, "] differs:\n");
            buf_add(why, w.p, w.len);
        }
        free(w.p);
    }
    if (!ok && verbose) {
        buf_adds(why, "    full log:\n");
        for (i = 0; i < r.nlog; i++) {
            buf_adds(why, "      ");
            show(why, &r.log[i]);
            buf_adds(why, "\n");
        }
    }
    run_free(&r);
    return ok;
}

static void print_log(const struct transcript *t)
{
    struct run r;
    size_t i;
    struct buf b = {0, 0, 0};
    memset(&r, 0, sizeof r);
    r.t = t;
    r.mode = M_WHOLE;
    r.s = sess_a;
    r.alt = sess_b;
    run_session(&r);
    for (i = 0; i < r.nlog; i++) {
        b.len = 0;
        show(&b, &r.log[i]);
        printf("%s\n", b.p);
    }
    if (r.err.len)
        printf("!! %s\n", r.err.p);
    free(b.p);
    run_free(&r);
}

static void transcript_free(struct transcript *t)
{
    size_t i;
    for (i = 0; i < t->nexp; i++)
        free(t->exp[i].text.p);
    free(t->exp);
    free(t->ends);
    free(t->tls);
    free(t->input.p);
    free(t->hostname);
    for (i = 0; i < t->nmailboxes; i++)
        free(t->mailboxes[i]);
    for (i = 0; i < t->nrules; i++) {
        free(t->rules[i].match);
        free(t->rules[i].enh);
        free(t->rules[i].text);
    }
}

/* Runs every mode of one transcript; returns 1 if all pass. */
static int run_all(const struct transcript *t, int only, int verbose, struct buf *why)
{
    int ok = 1, m;
    for (m = M_WHOLE; m <= M_SPLIT; m++) {
        uint64_t seed;
        if (only >= 0 && m != only)
            continue;
        if (m == M_RANDOM) {
            for (seed = 1; seed <= 4; seed++)
                ok &= run_mode(t, (enum mode)m, seed, 0, why, verbose);
        } else if (m == M_HOP || m == M_SLOW) {
            for (seed = 5; seed <= 6; seed++)
                ok &= run_mode(t, (enum mode)m, seed, 0, why, verbose);
        } else if (m == M_SPLIT) {
            /* every split point of small inputs, 200 of larger ones */
            size_t n = t->input.len, step = n <= 2000 ? 1 : n / 200, at;
            for (at = 1; at < n && ok; at += step)
                ok &= run_mode(t, (enum mode)m, 0, at, why, verbose);
        } else {
            ok &= run_mode(t, (enum mode)m, 0, 0, why, verbose);
        }
        if (!ok && !verbose && m == M_WHOLE)
            break; /* the other modes would only repeat it */
    }
    return ok;
}

/* Shared with the children: per file 0 not run, 1 passed, 2 failed, and
 * which file runs now. */
struct shared {
    int current;
    char note[256];
    unsigned char result[1];
};

int main(int argc, char **argv)
{
    int i, verbose = 0, print = 0, nofork = 0, only = -1, passed = 0, failed = 0;
    int nfiles = 0, start = 0;
    char **files = malloc((size_t)argc * sizeof *files);
    struct shared *sh;
    sess_a = malloc(sizeof *sess_a);
    sess_b = malloc(sizeof *sess_b);
    if (!sess_a || !sess_b || !files)
        die("out of memory");
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "-p") == 0 ||
            strcmp(argv[i], "-n") == 0) {
            verbose |= argv[i][1] == 'v';
            print |= argv[i][1] == 'p';
            nofork |= argv[i][1] == 'n';
        } else if (strcmp(argv[i], "-m") == 0 && i + 1 < argc) {
            for (only = 0; only <= M_SPLIT; only++)
                if (strcmp(argv[i + 1], mode_names[only]) == 0)
                    break;
            if (only > M_SPLIT)
                die("unknown mode %s", argv[i + 1]);
            i++;
        } else {
            files[nfiles++] = argv[i];
        }
    }
    sh = mmap(NULL, sizeof *sh + (size_t)nfiles, PROT_READ | PROT_WRITE,
              MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED)
        die("mmap failed");
    crash_note = sh->note;
    /* The files run in a child process; if it crashes (a sanitizer abort,
     * the guard page), that file fails and a new child goes on after it. */
    while (start < nfiles) {
        pid_t pid;
        int status = 0;
        fflush(stdout);
        pid = nofork ? 0 : fork();
        if (pid < 0)
            die("fork failed");
        if (pid == 0) {
            for (i = start; i < nfiles; i++) {
                struct transcript t;
                struct buf why = {0, 0, 0};
                int ok;
                sh->current = i;
                sh->note[0] = 0;
                parse(&t, files[i]);
                if (print) {
                    print_log(&t);
                    ok = 1;
                } else {
                    ok = run_all(&t, only, verbose, &why);
                    if (!ok)
                        printf("FAIL %s\n%s", files[i], why.p);
                }
                fflush(stdout);
                sh->result[i] = ok ? 1 : 2;
                free(why.p);
                transcript_free(&t);
            }
            if (nofork)
                break;
            _exit(0);
        }
        if (waitpid(pid, &status, 0) != pid)
            die("waitpid failed");
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
            break;
        i = sh->current;
        printf("FAIL %s\n  crashed (", files[i]);
        if (WIFSIGNALED(status))
            printf("signal %d", WTERMSIG(status));
        else
            printf("exit %d", WEXITSTATUS(status));
        printf(") in mode %s; rerun with -n -m MODE\n", sh->note);
        sh->result[i] = 2;
        start = i + 1;
    }
    for (i = 0; i < nfiles; i++) {
        passed += sh->result[i] == 1;
        failed += sh->result[i] != 1;
    }
    free(sess_a);
    free(sess_b);
    free(files);
    if (print)
        return 0;
    printf("transcripts: %d passed, %d failed\n", passed, failed);
    return failed != 0;
}
