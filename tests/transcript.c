/*
 * transcript.c - runs the transcript tests in tests/transcripts/*.txt.
 *
 * A transcript is one SMTP exchange written as the client's lines and the
 * replies, events and message data we expect; the format is described at the
 * end of this comment.  Every transcript is run in several modes (whole
 * input, one byte at a time, random chunks, every two-part split, a session
 * moved by struct copy, a slow writer that acknowledges output a few bytes at
 * a time) and each run must give exactly the expected stream.  Input is
 * always placed flush against a PROT_NONE page, so reading one byte too far
 * crashes even without AddressSanitizer.
 *
 * Usage: transcript [-v] [-m MODE] FILE...    (MODE: whole, bytes, random,
 *        copy, hop, slow, splits)            prints "N passed, N failed"
 *        transcript -p FILE                  prints what the core answers
 *
 * Format (one directive or expectation per line; blank lines and lines
 * starting with '#' are ignored):
 *   @hostname NAME          server name (escapes and {x*N} allowed)
 *   @option OPT             lf_lines, bare_keep, bare_normalize, send, no_esmtp
 *   @ext-off EXT            PIPELINING, SIZE, 8BITMIME, ENHANCEDSTATUSCODES,
 *                           SMTPUTF8, LIMITS: not advertised nor accepted
 *   @max_size N, @max_rcpt N, @max_line N, @max_text_line N, @max_errors N
 *   @mailbox ADDR           only listed recipients get the default 250; the
 *                           rest get "550 5.1.1 No such user here"
 *   @refuse [TEXT]          answer EV_CONNECT with 554
 *   @answer EV MATCH CODE [x.y.z] [TEXT]
 *                           answer event EV (CONNECT, HELO, EHLO, MAIL, RCPT,
 *                           DATA, DATA_END, VRFY, EXPN, HELP) whose path
 *                           (MAIL, RCPT) or argument equals MATCH ('*': any)
 *                           with CODE; TEXT may use escapes (\n: multi-line)
 *   @reject-mail ADDR       same as @answer MAIL ADDR 550
 *   @data-end CODE [TEXT]   same as @answer DATA_END * CODE [TEXT]
 *   @defer EV|all           answer that event through smtp_defer(): the next
 *                           smtp_feed() must say SMTP_PENDING and take nothing
 *   @shutdown-after N       smtp_shutdown(s, 0) once N client lines were taken
 *   @shutdown-now-after N   smtp_shutdown(s, 1) once N client lines were taken
 *   C: TEXT                 a client line; CRLF is appended
 *   C< RAW                  raw client bytes, nothing appended
 *   S: PATTERN              a reply line; '*' matches any run of octets
 *   S+ PATTERN              one or more reply lines matching PATTERN
 *   M: RAW / M< RAW         message data: consecutive M lines form the whole
 *                           message delivered at EV_DATA_END (M: appends CRLF;
 *                           a lone "M<" is the empty message).  Given any M
 *                           line, every message not refused by the core is
 *                           compared.
 *   E: EV_NAME key=value... an event; only the keys given are compared (arg,
 *                           path, local, domain, params, size, mode, body,
 *                           smtputf8, reject, rcpts).  Given any E line, every
 *                           event but EV_BODY is compared.
 *   A: PATTERN              smtp_reply() refused the app's answer
 *                           ("smtp_reply(455) = ERR_CODE")
 *   X: closed               the session is over here
 * RAW and values use the escapes \r \n \t \\ \{ \xHH; C:, C<, S:, M: and M<
 * also take {TEXT*N}: TEXT repeated N times.
 */
#define _DEFAULT_SOURCE
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifdef SMTP_STATIC
#include "smtp.c"
#else
#include "smtp.h"
#endif

/* ------------------------------------------------------------------ utils */

struct buf {
    char *p;
    size_t len, cap;
};

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(2);
}

static void buf_add(struct buf *b, const void *p, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1)
            cap *= 2;
        b->p = realloc(b->p, cap);
        if (!b->p)
            die("out of memory");
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = 0;
}

static void buf_addc(struct buf *b, char c) { buf_add(b, &c, 1); }
static void buf_adds(struct buf *b, const char *s) { buf_add(b, s, strlen(s)); }

static void buf_printf(struct buf *b, const char *fmt, ...)
{
    char tmp[512];
    int n;
    va_list ap;
    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        buf_add(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (!p)
        die("out of memory");
    memcpy(p, s, n);
    return p;
}

/* Appends p[0..n) to b in a printable form: the escapes of the format. */
static void buf_escape(struct buf *b, const char *p, size_t n, int space_too)
{
    size_t i;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '\\')
            buf_adds(b, "\\\\");
        else if (c == '\r')
            buf_adds(b, "\\r");
        else if (c == '\n')
            buf_adds(b, "\\n");
        else if (c < 0x20 || c > 0x7e || (space_too && c == ' '))
            buf_printf(b, "\\x%02x", c);
        else
            buf_addc(b, (char)c);
    }
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes text into out.  esc: backslash escapes; rep: {TEXT*N} repeats. */
static int decode(const char *s, size_t n, int esc, int rep, struct buf *out)
{
    size_t i = 0;
    while (i < n) {
        char c = s[i];
        if (esc && c == '\\') {
            if (i + 1 >= n)
                return -1;
            c = s[i + 1];
            i += 2;
            switch (c) {
            case 'r': buf_addc(out, '\r'); break;
            case 'n': buf_addc(out, '\n'); break;
            case 't': buf_addc(out, '\t'); break;
            case '\\': buf_addc(out, '\\'); break;
            case '{': buf_addc(out, '{'); break;
            case '}': buf_addc(out, '}'); break;
            case '*': buf_addc(out, '*'); break;
            case 'x': {
                int h, l;
                if (i + 2 > n || (h = hexval(s[i])) < 0 || (l = hexval(s[i + 1])) < 0)
                    return -1;
                buf_addc(out, (char)(h * 16 + l));
                i += 2;
                break;
            }
            default: return -1;
            }
            continue;
        }
        if (rep && c == '{') {
            /* {TEXT*N}: the closing brace, then the last '*' before it */
            size_t j = i + 1, star = 0, k;
            unsigned long count = 0;
            int ok = 0;
            while (j < n && s[j] != '}') {
                if (esc && s[j] == '\\' && j + 1 < n)
                    j++;
                else if (s[j] == '*')
                    star = j;
                j++;
            }
            if (j < n && star > i + 1 && star + 1 < j) {
                ok = 1;
                for (k = star + 1; k < j; k++) {
                    if (s[k] < '0' || s[k] > '9' || count > 10000000)
                        ok = 0;
                    else
                        count = count * 10 + (unsigned long)(s[k] - '0');
                }
            }
            if (ok) {
                struct buf unit = {0, 0, 0};
                unsigned long r;
                if (decode(s + i + 1, star - i - 1, esc, 0, &unit) < 0)
                    return -1;
                for (r = 0; r < count; r++)
                    buf_add(out, unit.p, unit.len);
                free(unit.p);
                i = j + 1;
                continue;
            }
        }
        buf_addc(out, c);
        i++;
    }
    return 0;
}

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

enum kind { K_S = 'S', K_SPLUS = '+', K_M = 'M', K_E = 'E', K_X = 'X', K_A = 'A' };

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
    struct buf input;     /* all client bytes */
    size_t *ends;         /* offset after each client line */
    size_t nends;
    struct item *exp;
    size_t nexp;
    int want_events, want_msgs;
};

static const struct {
    const char *name;
    int ev;
    unsigned code;
} decisions[] = {
    {"CONNECT", SMTP_EV_CONNECT, 220}, {"HELO", SMTP_EV_HELO, 250},
    {"EHLO", SMTP_EV_EHLO, 250},       {"MAIL", SMTP_EV_MAIL, 250},
    {"RCPT", SMTP_EV_RCPT, 250},       {"DATA", SMTP_EV_DATA, 354},
    {"DATA_END", SMTP_EV_DATA_END, 250}, {"VRFY", SMTP_EV_VRFY, 252},
    {"EXPN", SMTP_EV_EXPN, 502},       {"HELP", SMTP_EV_HELP, 214},
};
#define NDECISIONS (sizeof decisions / sizeof decisions[0])

static int decision_index(const char *name)
{
    size_t i;
    if (strncmp(name, "EV_", 3) == 0)
        name += 3;
    for (i = 0; i < NDECISIONS; i++)
        if (strcmp(decisions[i].name, name) == 0)
            return (int)i;
    return -1;
}

static unsigned default_code(int ev)
{
    size_t i;
    for (i = 0; i < NDECISIONS; i++)
        if (decisions[i].ev == ev)
            return decisions[i].code;
    return 0;
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

static unsigned long number(const char *file, int ln, const char *s)
{
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (*s < '0' || *s > '9' || *end)
        die("%s:%d: bad number '%s'", file, ln, s);
    return v;
}

/* Splits off the next space-separated word of *p (NUL-terminating it). */
static char *word(char **p)
{
    char *s = *p, *w;
    while (*s == ' ')
        s++;
    if (!*s)
        return NULL;
    w = s;
    while (*s && *s != ' ')
        s++;
    if (*s)
        *s++ = 0;
    *p = s;
    return w;
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
        r->text = decoded_dup(t->file, ln, rest, 0);
}

static void directive(struct transcript *t, int ln, char *line)
{
    char *p = line + 1, *name = word(&p), *arg;
    struct smtp_config *c = &t->cfg;
    if (!name)
        die("%s:%d: empty directive", t->file, ln);
    if (strcmp(name, "hostname") == 0) {
        while (*p == ' ')
            p++;
        t->hostname = decoded_dup(t->file, ln, p, 1);
        c->hostname = t->hostname;
    } else if (strcmp(name, "option") == 0) {
        while ((arg = word(&p)) != NULL) {
            if (strcmp(arg, "lf_lines") == 0) c->options |= SMTP_OPT_LF_LINES;
            else if (strcmp(arg, "bare_keep") == 0) c->options |= SMTP_OPT_BARE_KEEP;
            else if (strcmp(arg, "bare_normalize") == 0) c->options |= SMTP_OPT_BARE_NORMALIZE;
            else if (strcmp(arg, "send") == 0) c->options |= SMTP_OPT_SEND;
            else if (strcmp(arg, "no_esmtp") == 0) c->options |= SMTP_OPT_NO_ESMTP;
            else die("%s:%d: unknown option %s", t->file, ln, arg);
        }
    } else if (strcmp(name, "ext-off") == 0) {
        while ((arg = word(&p)) != NULL) {
            if (strcmp(arg, "PIPELINING") == 0) c->extensions &= ~(uint32_t)SMTP_EXT_PIPELINING;
            else if (strcmp(arg, "SIZE") == 0) c->extensions &= ~(uint32_t)SMTP_EXT_SIZE;
            else if (strcmp(arg, "8BITMIME") == 0) c->extensions &= ~(uint32_t)SMTP_EXT_8BITMIME;
            else if (strcmp(arg, "ENHANCEDSTATUSCODES") == 0) c->extensions &= ~(uint32_t)SMTP_EXT_ENHANCEDSTATUSCODES;
            else if (strcmp(arg, "SMTPUTF8") == 0) c->extensions &= ~(uint32_t)SMTP_EXT_SMTPUTF8;
            else if (strcmp(arg, "LIMITS") == 0) c->extensions &= ~(uint32_t)SMTP_EXT_LIMITS;
            else die("%s:%d: unknown extension %s", t->file, ln, arg);
        }
    } else if (strcmp(name, "max_size") == 0) {
        c->max_size = (uint64_t)number(t->file, ln, word(&p) ? p - 0, line + 0, line + 0 ? "" : "" );
    } else {
        die("%s:%d: unknown directive @%s", t->file, ln, name);
    }
}
