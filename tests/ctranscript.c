/*
 * ctranscript.c - runs the sender's transcript tests, tests/ctranscripts/NAME.txt.
 *
 * A client transcript is one SMTP exchange seen from the sender: the
 * server's lines fed to smtp_client_feed(), the application's calls (the
 * actions), and the command bytes, events and call results we expect.
 * Every transcript runs in several modes: whole (each stretch of server
 * input in one call), bytes (one octet per call), random (seeded chunks,
 * body actions cut into random pieces, and the body's output taken now
 * and then by smtp_client_output_spans()), slow (output acknowledged a
 * few octets at a time), hop (random chunks, and the client moved by
 * memcpy after every call, the old copy poisoned: rule 1) and splits
 * (every two-part split of the server input; 200 of them for long
 * inputs).  Each run must log exactly the expected stream; the first
 * difference is shown.  Server input and body
 * octets sit flush against a PROT_NONE page, so reading past them crashes
 * even without AddressSanitizer.  Every call is also checked against
 * smtp.h: used <= len, NEED_INPUT only with everything taken, nothing
 * taken while output waits (rule 6), output that is either in the client
 * or the very body octets given (C3: no copy), event fields in range, the
 * reply text inside the client, and nothing taken or said after the end.
 *
 * Usage: ctranscript [-v] [-m MODE] FILE...   prints "N passed, N failed"
 *        (MODE: whole, bytes, random, slow, hop, splits; -v: the whole log
 *        of a failure)
 *        ctranscript -p FILE...               prints the whole-mode log
 *
 * Format: one item a line; blank lines and lines starting with '#' are
 * ignored.  The actual log of a run is made of S, C, E, A and X items, and
 * must equal the transcript's S, C, E, A and X lines in order (C lines are
 * compared as one byte stream up to the next other item).
 *   @hostname NAME          our EHLO name (default client.example); alone:
 *                           NULL, the core's default
 *   @tls POLICY             off, opportunistic, required, implicit
 *   @option OPT...          auth_plaintext, no_pipelining, no_chunking,
 *                           bare_refuse
 *   @max_reply_lines N
 *   @body-whole             body actions are never cut into pieces (BDAT:
 *                           each action is the chunks it makes whole)
 *   S: TEXT / S< RAW        server input: a line (CRLF appended) or raw
 *                           octets.  Logged when the client takes its first
 *                           octet; lines after the one that ends the
 *                           session are never taken.
 *   I: TEXT / I< RAW        server input the client must discard unread
 *                           (plaintext after STARTTLS's 220): not logged
 *   C: TEXT / C< RAW        the client's output: a line (CRLF appended) or
 *                           raw octets (a BDAT chunk's data)
 *   E: CEV_NAME key=value...  an event; only the keys given are compared:
 *                           code, enh (x.y.z or -), text (escaped as below,
 *                           spaces as \x20), and per event: CEV_READY ext
 *                           (keywords joined by ','), mechs, size, rcptmax;
 *                           CEV_RCPT index, result (OK TEMP PERM LATER);
 *                           CEV_CLOSED why (QUIT 421 REFUSED NO_TLS
 *                           PROTOCOL ABORT).  Every event must be listed.
 *   A: ACTION [= RESULT]    an application call, made once all the server
 *                           input written before it has been taken (and
 *                           never before: input stops at each action);
 *                           RESULT is what it returns (default OK).  The
 *                           actions of one stop are made back to back, then
 *                           the output is sent: a pipelined group is one
 *                           write.  ACTION is one of
 *                             mail FROM [size=N] [body=7BIT|8BITMIME|
 *                               BINARYMIME] [smtputf8] [ret=FULL|HDRS]
 *                               [envid=X]
 *                             rcpt TO [notify=SUCCESS,FAILURE,DELAY|NEVER]
 *                               [orcpt=TYPE;ADDR]
 *                             data | end | rset | noop | quit | abort |
 *                             tls_done
 *                             send  (no call: the output is sent now)
 *                             body RAW    (smtp_client_body() until all
 *                               is taken, sending the output between; the
 *                               result is that of the last call: an error,
 *                               or ERR_BUSY with no output to send, ends
 *                               it; what went before was sent)
 *                             auth MECH USER SECRET [AUTHZID]
 *                           Addresses and values are as passed to the API
 *                           ("" is the empty string), with escapes.
 *   X: closed               smtp_client_feed() said SMTP_CLOSED here
 * RAW and values use the escapes \r \n \t \\ \{ \} \* \xHH; S:, S<, I:, I<,
 * C:, C< and body also take {TEXT*N}: TEXT repeated N times.
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

#include "smtp.h"

/* ------------------------------------------------------------------ utils */

#include "tlib.h"

/* -------------------------------------------------------------- transcript */

enum kind { K_S = 'S', K_C = 'C', K_E = 'E', K_A = 'A', K_X = 'X' };

struct item {
    int kind;
    struct buf text; /* S: the octets (escaped); C: raw bytes; E, A: the line */
    int line;        /* line number in the transcript */
};

/* An input segment: an S or I line, at offset `off` of the input. */
struct seg {
    size_t off, len;
    int injected;
};

/* An action and the input offset where it is made. */
struct action {
    size_t at;
    char *text;   /* as written, without " = RESULT" */
    char *result; /* expected result name */
    int line;
};

struct transcript {
    const char *file;
    struct smtp_client_config cfg;
    char *hostname;
    int body_whole;
    struct buf input;
    struct seg *segs;
    size_t nsegs;
    struct action *acts;
    size_t nacts;
    struct item *exp;
    size_t nexp;
};

static struct item *add_item(struct item **v, size_t *n, int kind, int line)
{
    *v = realloc(*v, (*n + 1) * sizeof **v);
    if (!*v)
        die("out of memory");
    memset(&(*v)[*n], 0, sizeof **v);
    (*v)[*n].kind = kind;
    (*v)[*n].line = line;
    buf_add(&(*v)[*n].text, "", 0);
    return &(*v)[(*n)++];
}

static const char *const why_names[] = {"QUIT", "421", "REFUSED", "NO_TLS", "PROTOCOL", "ABORT"};
static const char *const result_names[] = {"OK", "TEMP", "PERM", "LATER"};
static const char *const mech_names[] = {"?", "PLAIN", "LOGIN", "XOAUTH2", "OAUTHBEARER"};
static const struct {
    const char *name;
    uint32_t bit;
} ext_names[] = {{"PIPELINING", SMTP_EXT_PIPELINING}, {"SIZE", SMTP_EXT_SIZE},
                 {"8BITMIME", SMTP_EXT_8BITMIME},
                 {"ENHANCEDSTATUSCODES", SMTP_EXT_ENHANCEDSTATUSCODES},
                 {"SMTPUTF8", SMTP_EXT_SMTPUTF8}, {"LIMITS", SMTP_EXT_LIMITS},
                 {"CHUNKING", SMTP_EXT_CHUNKING}, {"BINARYMIME", SMTP_EXT_BINARYMIME},
                 {"STARTTLS", SMTP_EXT_STARTTLS}, {"AUTH", SMTP_EXT_AUTH},
                 {"DSN", SMTP_EXT_DSN}};

static int err_known(const char *name)
{
    int e;
    for (e = 0; e >= SMTP__ERR_LAST; e--)
        if (strcmp(smtp_err_name(e), name) == 0)
            return 1;
    return 0;
}

static void directive(struct transcript *t, int ln, char *line)
{
    char *p = line + 1, *name = word(&p), *arg;
    if (!name)
        die("%s:%d: empty directive", t->file, ln);
    while (*p == ' ')
        p++;
    if (strcmp(name, "hostname") == 0) {
        struct buf b = {0, 0, 0};
        if (*p && decode(p, strlen(p), 1, 1, &b) < 0)
            die("%s:%d: bad escape", t->file, ln);
        free(t->hostname);
        t->hostname = *p ? b.p : NULL;
        t->cfg.hostname = t->hostname;
    } else if (strcmp(name, "tls") == 0) {
        static const char *const pol[] = {"off", "opportunistic", "required", "implicit"};
        unsigned k;
        arg = word(&p);
        for (k = 0; arg && k < 4; k++)
            if (strcmp(arg, pol[k]) == 0)
                break;
        if (!arg || k == 4)
            die("%s:%d: @tls off|opportunistic|required|implicit", t->file, ln);
        t->cfg.tls = (uint8_t)k;
    } else if (strcmp(name, "option") == 0) {
        while ((arg = word(&p)) != NULL) {
            if (strcmp(arg, "auth_plaintext") == 0)
                t->cfg.options |= SMTP_COPT_AUTH_PLAINTEXT;
            else if (strcmp(arg, "no_pipelining") == 0)
                t->cfg.options |= SMTP_COPT_NO_PIPELINING;
            else if (strcmp(arg, "no_chunking") == 0)
                t->cfg.options |= SMTP_COPT_NO_CHUNKING;
            else if (strcmp(arg, "bare_refuse") == 0)
                t->cfg.options |= SMTP_COPT_BARE_REFUSE;
            else
                die("%s:%d: unknown option %s", t->file, ln, arg);
        }
    } else if (strcmp(name, "max_reply_lines") == 0) {
        arg = word(&p);
        if (!arg)
            die("%s:%d: @max_reply_lines N", t->file, ln);
        t->cfg.max_reply_lines = (uint8_t)atoi(arg);
    } else if (strcmp(name, "body-whole") == 0) {
        t->body_whole = 1;
    } else {
        die("%s:%d: unknown directive @%s", t->file, ln, name);
    }
}

static void parse(struct transcript *t, const char *file)
{
    FILE *f = fopen(file, "rb");
    static char line[1 << 16];
    int ln = 0;
    if (!f)
        die("%s: cannot open", file);
    memset(t, 0, sizeof *t);
    t->file = file;
    smtp_client_config_default(&t->cfg);
    t->hostname = strdup("client.example");
    t->cfg.hostname = t->hostname;
    while (fgets(line, sizeof line, f)) {
        size_t n = strlen(line);
        char *rest = line + 3;
        int k0, k1;
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
        if (n < 2 || (n > 2 && line[2] != ' '))
            die("%s:%d: cannot parse '%s'", file, ln, line);
        if (n == 2)
            rest = line + 2;
        k0 = line[0], k1 = line[1];
        if ((k0 == 'S' || k0 == 'I') && (k1 == ':' || k1 == '<')) {
            struct seg *s;
            t->segs = realloc(t->segs, (t->nsegs + 1) * sizeof *t->segs);
            if (!t->segs)
                die("out of memory");
            s = &t->segs[t->nsegs++];
            s->off = t->input.len;
            s->injected = k0 == 'I';
            if (decode(rest, strlen(rest), k1 == '<', 1, &t->input) < 0)
                die("%s:%d: bad escape or repeat", file, ln);
            if (k1 == ':')
                buf_add(&t->input, "\r\n", 2);
            s->len = t->input.len - s->off;
            if (!s->len)
                die("%s:%d: empty input", file, ln);
            if (!s->injected) /* S items name their segment: cheap for long ones */
                buf_printf(&add_item(&t->exp, &t->nexp, K_S, ln)->text, "%zu", t->nsegs - 1);
        } else if (k0 == 'C' && (k1 == ':' || k1 == '<')) {
            struct item *it = add_item(&t->exp, &t->nexp, K_C, ln);
            if (decode(rest, strlen(rest), k1 == '<', 1, &it->text) < 0)
                die("%s:%d: bad escape or repeat", file, ln);
            if (k1 == ':')
                buf_add(&it->text, "\r\n", 2);
        } else if (k0 == 'E' && k1 == ':') {
            struct item *it = add_item(&t->exp, &t->nexp, K_E, ln);
            if (decode(rest, strlen(rest), 0, 1, &it->text) < 0)
                die("%s:%d: bad repeat", file, ln);
        } else if (k0 == 'A' && k1 == ':') {
            struct action *a;
            struct item *it;
            char *eq = strstr(rest, " = "), *res = "OK";
            while (eq && strstr(eq + 1, " = "))
                eq = strstr(eq + 1, " = ");
            if (eq && err_known(eq + 3)) {
                res = eq + 3;
                *eq = 0;
            }
            t->acts = realloc(t->acts, (t->nacts + 1) * sizeof *t->acts);
            if (!t->acts)
                die("out of memory");
            a = &t->acts[t->nacts++];
            a->at = t->input.len;
            a->text = strdup(rest);
            a->result = strdup(res);
            a->line = ln;
            it = add_item(&t->exp, &t->nexp, K_A, ln);
            buf_printf(&it->text, "%s = %s", rest, res);
        } else if (k0 == 'X' && k1 == ':' && strcmp(rest, "closed") == 0) {
            add_item(&t->exp, &t->nexp, K_X, ln);
        } else {
            die("%s:%d: cannot parse '%s'", file, ln, line);
        }
    }
    fclose(f);
    if (t->nexp == 0)
        die("%s: expects nothing", file);
    buf_add(&t->input, "", 0);
}

static void transcript_free(struct transcript *t)
{
    size_t i;
    for (i = 0; i < t->nexp; i++)
        free(t->exp[i].text.p);
    for (i = 0; i < t->nacts; i++)
        free(t->acts[i].text), free(t->acts[i].result);
    free(t->exp);
    free(t->acts);
    free(t->segs);
    free(t->input.p);
    free(t->hostname);
}

/* -------------------------------------------------------------------- run */

enum mode { M_WHOLE, M_BYTES, M_RANDOM, M_SLOW, M_HOP, M_SPLIT };
static const char *const mode_names[] = {"whole", "bytes", "random", "slow", "hop", "splits"};

struct run {
    const struct transcript *t;
    enum mode mode;
    uint64_t rng;
    size_t split;
    struct smtp_client *c, *alt; /* alt: where the client moves next (hop) */
    struct item *log;
    size_t nlog;
    size_t seg_next;  /* the next input segment not yet logged */
    struct buf err;   /* the first broken rule */
    int closed;       /* SMTP_CLOSED seen */
    const char *body; /* the body octets of the running action, or NULL */
    size_t body_len;
    struct buf auth[3]; /* the strings of the last auth action (C4) */
};

/* A region of n octets flush against a PROT_NONE page. */
struct guard {
    char *end;
    size_t room;
};
static struct guard in_guard, body_guard;

static char *guard_place(struct guard *g, const char *p, size_t n)
{
    if (n > g->room || !g->end) {
        size_t page = (size_t)sysconf(_SC_PAGESIZE), len = (n + page - 1) / page * page;
        char *m;
        if (g->end)
            munmap(g->end - g->room, g->room + page);
        m = mmap(NULL, len + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED || mprotect(m + len, page, PROT_NONE) != 0)
            die("mmap failed");
        g->end = m + len;
        g->room = len;
    }
    if (n)
        memcpy(g->end - n, p, n);
    return g->end - n;
}

static uint64_t rnd(struct run *r)
{
    r->rng ^= r->rng >> 12;
    r->rng ^= r->rng << 25;
    r->rng ^= r->rng >> 27;
    return r->rng * 2685821657736338717ull;
}

static size_t rnd_piece(struct run *r)
{
    switch (rnd(r) % 10) {
    case 0: case 1: case 2: case 3: case 4: return 1 + (size_t)(rnd(r) % 8);
    case 5: case 6: case 7: return 1 + (size_t)(rnd(r) % 64);
    default: return 1 + (size_t)(rnd(r) % 1024);
    }
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
    if (kind == K_C && r->nlog && r->log[r->nlog - 1].kind == K_C)
        return &r->log[r->nlog - 1]; /* the client's bytes are one stream */
    return add_item(&r->log, &r->nlog, kind, 0);
}

/* Sends the client's output: all of it, or in slow mode a few octets. */
static void drain(struct run *r, int all)
{
    const char *cb = (const char *)r->c, *ce = cb + sizeof *r->c;
    for (;;) {
        size_t len = 12345, n;
        const char *o;
        if (r->mode == M_RANDOM && rnd(r) % 2) { /* in the body, a writev() of 1 to 5 spans */
            struct smtp_span v[5];
            size_t k = smtp_client_output_spans(r->c, v, 1 + (size_t)(rnd(r) % 5)), i;
            for (i = 0; i < k; i++) {
                if (!v[i].ptr || !v[i].len)
                    fail(r, "smtp_client_output_spans() gave an empty span");
                else if (!(v[i].ptr >= cb && v[i].ptr + v[i].len <= ce) &&
                         !(r->body && v[i].ptr >= r->body &&
                           v[i].ptr + v[i].len <= r->body + r->body_len))
                    fail(r, "a span of %zu octets neither in the client nor in the body given",
                         v[i].len);
                else
                    buf_add(&log_add(r, K_C)->text, v[i].ptr, v[i].len);
            }
            if (k)
                continue;
        }
        o = smtp_client_output(r->c, &len);
        if (!o || !len) {
            if (o || len)
                fail(r, "smtp_client_output() gave %p and length %zu", (const void *)o, len);
            return;
        }
        if (!(o >= cb && o + len <= ce) &&
            !(r->body && o >= r->body && o + len <= r->body + r->body_len))
            fail(r, "output of %zu octets neither in the client nor in the body given", len);
        n = len;
        if (!all && r->mode == M_SLOW)
            n = 1 + (size_t)(rnd(r) % 7);
        if (n > len)
            n = len;
        buf_add(&log_add(r, K_C)->text, o, n);
        smtp_client_output_done(r->c, n);
        if (!all && r->mode == M_SLOW)
            return;
    }
}

static int output_pending(const struct run *r)
{
    size_t len;
    return smtp_client_output(r->c, &len) != NULL;
}

static void kv_span(struct buf *b, const char *key, struct smtp_span sp)
{
    buf_printf(b, " %s=", key);
    buf_escape(b, sp.ptr, sp.len, 1);
}

static void log_event(struct run *r, int st, const union smtp_cevent *ev)
{
    struct buf *b = &log_add(r, K_E)->text;
    const struct smtp_creply *rp = &ev->any.reply;
    const char *cb = (const char *)r->c;
    if (ev->type != st)
        fail(r, "event type %d but smtp_client_feed() returned %d", ev->type, st);
    buf_adds(b, smtp_client_event_name(st));
    buf_printf(b, " code=%u", rp->code);
    if (rp->cls)
        buf_printf(b, " enh=%u.%u.%u", rp->cls, rp->subject, rp->detail);
    else
        buf_adds(b, " enh=-");
    if (rp->code && (rp->code < 200 || rp->code > 599))
        fail(r, "%s: reply code %u", smtp_client_event_name(st), rp->code);
    if (rp->cls && rp->cls != rp->code / 100)
        fail(r, "enhanced class %u for code %u", rp->cls, rp->code);
    /* the text is read only once it is known to be in the client */
    if (!rp->text.ptr || rp->text.len > SMTP_CLIENT_TEXT_MAX ||
        (rp->text.len && !(rp->text.ptr >= cb && rp->text.ptr + rp->text.len <= cb + sizeof *r->c))) {
        fail(r, "%s: reply text (%p, %zu) not in the client", smtp_client_event_name(st),
             (const void *)rp->text.ptr, rp->text.len);
        buf_adds(b, " text=?");
    } else {
        kv_span(b, "text", rp->text);
        if (memchr(rp->text.ptr, '\r', rp->text.len))
            fail(r, "CR in the reply text");
    }
    switch (st) {
    case SMTP_CEV_READY: {
        const struct smtp_caps *cp = &r->c->caps;
        size_t k;
        int first = 1;
        buf_adds(b, " ext=");
        for (k = 0; k < sizeof ext_names / sizeof ext_names[0]; k++)
            if (cp->ext & ext_names[k].bit)
                buf_printf(b, "%s%s", first ? "" : ",", ext_names[k].name), first = 0;
        if (first)
            buf_adds(b, "-");
        buf_adds(b, " mechs=");
        first = 1;
        for (k = 1; k < 5; k++)
            if (cp->mechs & (1u << k))
                buf_printf(b, "%s%s", first ? "" : ",", mech_names[k]), first = 0;
        if (first)
            buf_adds(b, "-");
        buf_printf(b, " size=%llu rcptmax=%u", (unsigned long long)cp->size, cp->rcptmax);
        break;
    }
    case SMTP_CEV_RCPT:
        buf_printf(b, " index=%u result=%s", ev->rcpt.index,
                   ev->rcpt.result < 4 ? result_names[ev->rcpt.result] : "?");
        break;
    case SMTP_CEV_CLOSED:
        buf_printf(b, " why=%s", ev->closed.why < 6 ? why_names[ev->closed.why] : "?");
        if (!smtp_client_closed(r->c))
            fail(r, "CEV_CLOSED but smtp_client_closed() is 0");
        break;
    default:
        break;
    }
}

/* Logs the input segments whose first octet is before `pos`. */
static void log_input(struct run *r, size_t pos)
{
    const struct transcript *t = r->t;
    while (r->seg_next < t->nsegs && t->segs[r->seg_next].off < pos) {
        const struct seg *s = &t->segs[r->seg_next++];
        if (!s->injected)
            buf_printf(&log_add(r, K_S)->text, "%zu", (size_t)(s - t->segs));
    }
}

/* ---------------------------------------------------------------- actions */

static char *value(const struct run *r, const struct action *a, const char *s, struct buf *tmp)
{
    tmp->len = 0;
    if (strcmp(s, "\"\"") == 0) {
        buf_add(tmp, "", 0);
        return tmp->p;
    }
    if (decode(s, strlen(s), 1, 1, tmp) < 0)
        die("%s:%d: bad escape in '%s'", r->t->file, a->line, s);
    return tmp->p;
}

/* smtp_client_body() until every octet is taken; output sent between. */
static int do_body(struct run *r, const struct action *a, const char *arg)
{
    struct buf raw = {0, 0, 0};
    size_t off = 0, stall = 0;
    const char *p;
    int rc = SMTP_OK;
    if (decode(arg, strlen(arg), 1, 1, &raw) < 0)
        die("%s:%d: bad escape in body", r->t->file, a->line);
    while (output_pending(r) && !r->err.len)
        drain(r, 0);
    p = guard_place(&body_guard, raw.p, raw.len);
    r->body = p, r->body_len = raw.len;
    do {
        size_t piece = raw.len - off, used = 99999;
        if (!r->t->body_whole && (r->mode == M_RANDOM || r->mode == M_BYTES)) {
            size_t k = r->mode == M_BYTES ? 1 : rnd_piece(r);
            piece = k < piece ? k : piece;
        }
        rc = smtp_client_body(r->c, p + off, piece, &used);
        if (rc == SMTP_OK) {
            if (used > piece)
                fail(r, "smtp_client_body() took %zu of %zu", used, piece);
            if (used == 0 && piece && ++stall > 4)
                fail(r, "smtp_client_body() takes nothing");
            off += used;
        } else if (used != 0) {
            fail(r, "smtp_client_body() = %s but took %zu", smtp_err_name(rc), used);
        }
        if (rc == SMTP_ERR_BUSY && !output_pending(r))
            break; /* waiting for a reply */
        if (rc != SMTP_OK && rc != SMTP_ERR_BUSY)
            break;
        while (output_pending(r) && !r->err.len)
            drain(r, 0);
    } while (off < raw.len && !r->err.len);
    if (rc == SMTP_ERR_BUSY && off == raw.len)
        rc = SMTP_OK;
    /* C3: once acknowledged, the octets are never read again */
    memset((char *)p, 0xee, raw.len);
    r->body = NULL;
    free(raw.p);
    return rc;
}

static int do_action(struct run *r, const struct action *a)
{
    static const char *const bodies[] = {"NONE", "7BIT", "8BITMIME", "BINARYMIME"};
    char *line = strdup(a->text), *p = line, *verb = word(&p), *w;
    struct buf v1 = {0, 0, 0}, v2 = {0, 0, 0}, v3 = {0, 0, 0};
    int rc = -100;
    if (!verb)
        die("%s:%d: empty action", r->t->file, a->line);
    if (strcmp(verb, "mail") == 0) {
        struct smtp_mail_opts o;
        const char *from;
        memset(&o, 0, sizeof o);
        if (!(w = word(&p)))
            die("%s:%d: mail FROM", r->t->file, a->line);
        from = value(r, a, w, &v1);
        while ((w = word(&p)) != NULL) {
            if (strncmp(w, "size=", 5) == 0) {
                o.size = strtoull(w + 5, NULL, 10);
            } else if (strncmp(w, "body=", 5) == 0) {
                for (o.body = 0; o.body < 4 && strcmp(bodies[o.body], w + 5); o.body++) {
                }
                if (o.body == 4)
                    die("%s:%d: bad body", r->t->file, a->line);
            } else if (strcmp(w, "smtputf8") == 0) {
                o.smtputf8 = 1;
            } else if (strcmp(w, "ret=FULL") == 0 || strcmp(w, "ret=HDRS") == 0) {
                o.ret = w[4] == 'F' ? SMTP_RET_FULL : SMTP_RET_HDRS;
            } else if (strncmp(w, "envid=", 6) == 0) {
                o.envid = value(r, a, w + 6, &v2);
            } else {
                die("%s:%d: unknown mail parameter %s", r->t->file, a->line, w);
            }
        }
        rc = smtp_client_mail(r->c, from, &o);
    } else if (strcmp(verb, "rcpt") == 0) {
        unsigned notify = 0;
        const char *to, *orcpt = NULL;
        if (!(w = word(&p)))
            die("%s:%d: rcpt TO", r->t->file, a->line);
        to = value(r, a, w, &v1);
        while ((w = word(&p)) != NULL) {
            if (strncmp(w, "notify=", 7) == 0) {
                char *q = w + 7, *n;
                while ((n = strsep(&q, ",")) != NULL)
                    notify |= strcmp(n, "NEVER") == 0     ? SMTP_NOTIFY_NEVER
                              : strcmp(n, "SUCCESS") == 0 ? SMTP_NOTIFY_SUCCESS
                              : strcmp(n, "FAILURE") == 0 ? SMTP_NOTIFY_FAILURE
                              : strcmp(n, "DELAY") == 0   ? SMTP_NOTIFY_DELAY
                                                          : (unsigned)atoi(n);
            } else if (strncmp(w, "orcpt=", 6) == 0) {
                orcpt = value(r, a, w + 6, &v2);
            } else {
                die("%s:%d: unknown rcpt parameter %s", r->t->file, a->line, w);
            }
        }
        rc = smtp_client_rcpt(r->c, to, notify, orcpt);
    } else if (strcmp(verb, "auth") == 0) {
        char *m = word(&p), *u = word(&p), *s = word(&p), *z = word(&p);
        int mech;
        if (!m || !u || !s)
            die("%s:%d: auth MECH USER SECRET [AUTHZID]", r->t->file, a->line);
        for (mech = 1; mech < 5 && strcmp(mech_names[mech], m); mech++) {
        }
        if (mech == 5)
            mech = atoi(m);
        /* C4: the strings stay valid until CEV_AUTH: the run keeps them */
        rc = smtp_client_auth(r->c, mech, z ? value(r, a, z, &v3) : NULL, value(r, a, u, &v1),
                              value(r, a, s, &v2));
        for (mech = 0; mech < 3; mech++)
            free(r->auth[mech].p);
        r->auth[0] = v1, r->auth[1] = v2, r->auth[2] = v3;
        memset(&v1, 0, sizeof v1), memset(&v2, 0, sizeof v2), memset(&v3, 0, sizeof v3);
    } else if (strcmp(verb, "body") == 0) {
        while (*p == ' ')
            p++;
        rc = do_body(r, a, a->text + (p - line));
    } else if (strcmp(verb, "data") == 0) {
        rc = smtp_client_data(r->c);
    } else if (strcmp(verb, "end") == 0) {
        rc = smtp_client_end(r->c);
    } else if (strcmp(verb, "rset") == 0) {
        rc = smtp_client_rset(r->c);
    } else if (strcmp(verb, "noop") == 0) {
        rc = smtp_client_noop(r->c);
    } else if (strcmp(verb, "quit") == 0) {
        rc = smtp_client_quit(r->c);
    } else if (strcmp(verb, "tls_done") == 0) {
        rc = smtp_client_tls_done(r->c);
    } else if (strcmp(verb, "send") == 0) { /* the output goes out now */
        while (output_pending(r) && !r->err.len)
            drain(r, 0);
        rc = SMTP_OK;
    } else if (strcmp(verb, "abort") == 0) {
        smtp_client_abort(r->c);
        rc = SMTP_OK;
        if (output_pending(r))
            fail(r, "output after smtp_client_abort()");
    } else {
        die("%s:%d: unknown action %s", r->t->file, a->line, verb);
    }
    free(line);
    free(v1.p), free(v2.p), free(v3.p);
    return rc;
}

/* ------------------------------------------------------------- the session */

static void run_session(struct run *r)
{
    const struct transcript *t = r->t;
    size_t n = t->input.len, pos = 0, limit = 0, act = 0, steps = 0;
    int settled = 0;
    smtp_client_init(r->c, &t->cfg);
    for (;;) {
        size_t stop = act < t->nacts ? t->acts[act].at : n, used = 77777, len;
        union smtp_cevent ev;
        int st, pending = output_pending(r);
        const char *in;
        if (++steps > 64 * (n + 64) + 1000000) {
            fail(r, "no progress after %zu calls at input offset %zu", steps, pos);
            return;
        }
        if (r->err.len)
            return;
        /* the actions due here, once everything before them is taken and
         * the client has settled (NEED_INPUT with all output sent) */
        if (settled && pos == stop && act < t->nacts) {
            while (act < t->nacts && t->acts[act].at == pos) {
                const struct action *a = &t->acts[act++];
                struct item *it = log_add(r, K_A);
                size_t at = r->nlog - 1;
                int rc;
                buf_printf(&it->text, "%s = ", a->text);
                rc = do_action(r, a);
                buf_adds(&r->log[at].text, smtp_err_name(rc));
            }
            settled = 0;
            continue;
        }
        if (settled && pos == n && act == t->nacts)
            break;
        /* the next input: the rest of the last chunk, or a new chunk (rule 2) */
        if (limit <= pos) {
            size_t k;
            switch (r->mode) {
            case M_BYTES: k = 1; break;
            case M_RANDOM: case M_SLOW: case M_HOP: k = rnd_piece(r); break;
            case M_SPLIT: k = pos < r->split ? r->split - pos : n - pos; break;
            default: k = n - pos; break;
            }
            limit = pos + k;
        }
        if (limit > stop)
            limit = stop;
        len = limit - pos;
        in = guard_place(&in_guard, t->input.p + pos, len);
        memset(&ev, 0x5a, sizeof ev);
        st = smtp_client_feed(r->c, in, len, &used, &ev);
        if (used > len) {
            fail(r, "used %zu of %zu", used, len);
            return;
        }
        if (pending && (used || st != SMTP_WANT_WRITE))
            fail(r, "output pending, yet %s and %zu taken", smtp_client_event_name(st), used);
        if (used)
            log_input(r, pos + used);
        pos += used;
        settled = 0;
        if (st > 0 && st <= SMTP__CEV_LAST) {
            log_event(r, st, &ev);
        } else if (st == SMTP_NEED_INPUT) {
            if (used != len)
                fail(r, "NEED_INPUT but only %zu of %zu taken", used, len);
            settled = !output_pending(r);
        } else if (st == SMTP_WANT_WRITE) {
            if (!output_pending(r))
                fail(r, "WANT_WRITE with no output");
        } else if (st == SMTP_CLOSED) {
            if (used)
                fail(r, "SMTP_CLOSED after taking %zu", used);
            if (!smtp_client_closed(r->c))
                fail(r, "SMTP_CLOSED but smtp_client_closed() is 0");
            if (output_pending(r))
                fail(r, "SMTP_CLOSED with output pending");
            if (!r->closed)
                log_add(r, K_X);
            r->closed = 1;
        } else {
            fail(r, "smtp_client_feed() returned %d", st);
        }
        drain(r, 0);
        if (r->mode == M_HOP) { /* rule 1: the client moves by a plain copy */
            struct smtp_client *to = r->alt;
            memcpy(to, r->c, sizeof *to);
            memset(r->c, 0x5a, sizeof *r->c);
            r->alt = r->c;
            r->c = to;
        }
        if (r->closed) {
            /* nothing more is taken or said; the actions left still run */
            st = smtp_client_feed(r->c, in, len, &used, &ev);
            if (st != SMTP_CLOSED || used || output_pending(r))
                fail(r, "after SMTP_CLOSED: %s, %zu taken", smtp_client_event_name(st), used);
            while (act < t->nacts) {
                const struct action *a = &t->acts[act++];
                struct item *it = log_add(r, K_A);
                size_t at = r->nlog - 1;
                int rc;
                buf_printf(&it->text, "%s = ", a->text);
                rc = do_action(r, a);
                buf_adds(&r->log[at].text, smtp_err_name(rc));
                if (output_pending(r))
                    fail(r, "output after SMTP_CLOSED");
            }
            break;
        }
    }
    while (output_pending(r) && !r->err.len)
        drain(r, 1);
}

/* ---------------------------------------------------------------- compare */

static const struct transcript *shown; /* the transcript whose items show() shows */

/* An S item's segment, escaped, cut after `max` octets. */
static void show_seg(struct buf *b, const struct item *it, size_t max)
{
    const struct seg *sg = &shown->segs[strtoul(it->text.p, NULL, 10)];
    buf_escape(b, shown->input.p + sg->off, sg->len < max ? sg->len : max, 0);
    if (sg->len > max)
        buf_printf(b, "... (%zu octets)", sg->len);
}

static void show(struct buf *b, const struct item *it)
{
    switch (it->kind) {
    case K_S: buf_adds(b, "S< "); show_seg(b, it, 300); break;
    case K_C: buf_adds(b, "C< "); buf_escape(b, it->text.p, it->text.len, 0); break;
    case K_E: buf_adds(b, "E: "); buf_add(b, it->text.p, it->text.len); break;
    case K_A: buf_adds(b, "A: "); buf_add(b, it->text.p, it->text.len); break;
    default: buf_adds(b, "X: closed"); break;
    }
}

/* Does the expected E line match the logged one (event name, then each
 * key=value given)? */
static int event_match(const char *want, const char *got)
{
    struct buf w = {0, 0, 0};
    char *wp, *tok;
    int ok = 1;
    buf_adds(&w, want);
    wp = w.p;
    tok = word(&wp);
    if (!tok || strncmp(got, tok, strlen(tok)) != 0 ||
        (got[strlen(tok)] != ' ' && got[strlen(tok)] != 0))
        ok = 0;
    while (ok && (tok = word(&wp)) != NULL) {
        size_t tl = strlen(tok);
        const char *p = got;
        ok = 0;
        while ((p = strstr(p, tok)) != NULL) {
            if (p > got && p[-1] == ' ' && (p[tl] == ' ' || p[tl] == 0)) {
                ok = 1;
                break;
            }
            p++;
        }
    }
    free(w.p);
    return ok;
}

/* Merges consecutive C items (the client's bytes are one stream). */
static size_t merged(const struct item *v, size_t n, struct item *out)
{
    size_t i, m = 0;
    for (i = 0; i < n; i++) {
        if (v[i].kind == K_C && m && out[m - 1].kind == K_C) {
            buf_add(&out[m - 1].text, v[i].text.p, v[i].text.len);
            continue;
        }
        out[m] = v[i];
        memset(&out[m].text, 0, sizeof out[m].text);
        buf_add(&out[m].text, v[i].text.p, v[i].text.len);
        m++;
    }
    return m;
}

static int compare(const struct run *r, struct buf *why)
{
    const struct transcript *t = r->t;
    struct item *x = calloc(t->nexp + 1, sizeof *x), *y = calloc(r->nlog + 1, sizeof *y);
    size_t nx, ny, i, k;
    int ok = 1;
    if (!x || !y)
        die("out of memory");
    nx = merged(t->exp, t->nexp, x);
    ny = merged(r->log, r->nlog, y);
    for (i = 0; ok && (i < nx || i < ny); i++) {
        const struct item *e = i < nx ? &x[i] : NULL, *g = i < ny ? &y[i] : NULL;
        if (e && g && e->kind == g->kind) {
            if (e->kind == K_E)
                ok = event_match(e->text.p, g->text.p);
            else
                ok = e->text.len == g->text.len && memcmp(e->text.p, g->text.p, e->text.len) == 0;
        } else {
            ok = 0;
        }
        if (!ok) {
            buf_printf(why, "    line %d: expected ", e ? e->line : 0);
            if (e)
                show(why, e);
            else
                buf_adds(why, "(nothing more)");
            buf_adds(why, "\n                 got ");
            if (g)
                show(why, g);
            else
                buf_adds(why, "(nothing more)");
            buf_adds(why, "\n");
            if (e && g && e->kind == K_C && g->kind == K_C) {
                for (k = 0; k < e->text.len && k < g->text.len && e->text.p[k] == g->text.p[k]; k++) {
                }
                buf_printf(why, "        (the client's bytes differ at octet %zu)\n", k);
            }
        }
    }
    for (i = 0; i < nx; i++)
        free(x[i].text.p);
    for (i = 0; i < ny; i++)
        free(y[i].text.p);
    free(x);
    free(y);
    return ok;
}

static struct smtp_client *client, *client2;

static void run_free(struct run *r)
{
    size_t i;
    for (i = 0; i < r->nlog; i++)
        free(r->log[i].text.p);
    free(r->log);
    free(r->err.p);
    for (i = 0; i < 3; i++)
        free(r->auth[i].p);
}

static int run_mode(const struct transcript *t, enum mode m, uint64_t seed, size_t split,
                    struct buf *why, int verbose)
{
    struct run r;
    int ok;
    size_t i;
    memset(&r, 0, sizeof r);
    r.t = t;
    r.mode = m;
    r.rng = seed * 0x9e3779b97f4a7c15ull + 1;
    r.split = split;
    shown = t;
    memset(client, 0xa5, sizeof *client);
    memset(client2, 0xa5, sizeof *client2);
    r.c = client;
    r.alt = client2;
    run_session(&r);
    ok = !r.err.len;
    if (ok) {
        struct buf w = {0, 0, 0};
        ok = compare(&r, &w);
        if (!ok) {
            buf_printf(why, "  [%s", mode_names[m]);
            if (m == M_RANDOM || m == M_SLOW || m == M_HOP)
                buf_printf(why, " seed %llu", (unsigned long long)seed);
            if (m == M_SPLIT)
                buf_printf(why, " at %zu", split);
            buf_adds(why, "] differs:\n");
            buf_add(why, w.p, w.len);
        }
        free(w.p);
    } else {
        buf_printf(why, "  [%s seed %llu split %zu] %s\n", mode_names[m], (unsigned long long)seed,
                   split, r.err.p);
    }
    if (!ok && verbose) {
        struct item *y = calloc(r.nlog + 1, sizeof *y);
        size_t ny = merged(r.log, r.nlog, y);
        buf_adds(why, "    full log:\n");
        for (i = 0; i < ny; i++) {
            buf_adds(why, "      ");
            show(why, &y[i]);
            buf_adds(why, "\n");
            free(y[i].text.p);
        }
        free(y);
    }
    run_free(&r);
    return ok;
}

static void print_log(const struct transcript *t)
{
    struct run r;
    struct buf b = {0, 0, 0};
    size_t i, k, start;
    memset(&r, 0, sizeof r);
    r.t = t;
    r.mode = M_WHOLE;
    r.c = client;
    shown = t;
    run_session(&r);
    for (i = 0; i < r.nlog; i++) {
        const struct item *it = &r.log[i];
        b.len = 0;
        buf_add(&b, "", 0);
        if (it->kind == K_S) { /* S: when the segment is one plain line */
            size_t tl;
            const char *bs;
            show_seg(&b, it, (size_t)-1);
            tl = b.len;
            bs = memchr(b.p, '\\', tl);
            if (tl >= 4 && bs == b.p + tl - 4 && memcmp(bs, "\\r\\n", 4) == 0)
                printf("S: %.*s\n", (int)(tl - 4), b.p);
            else
                printf("S< %s\n", b.p);
            continue;
        }
        if (it->kind != K_C) {
            show(&b, it);
            printf("%s\n", b.p);
            continue;
        }
        for (start = 0, k = 0; k < it->text.len; k++) /* one C: line per CRLF */
            if (k + 1 < it->text.len && it->text.p[k] == '\r' && it->text.p[k + 1] == '\n') {
                b.len = 0;
                buf_add(&b, "", 0);
                buf_escape(&b, it->text.p + start, k - start, 0);
                printf("C: %s\n", b.p);
                start = ++k + 1;
            }
        if (start < it->text.len) {
            b.len = 0;
            buf_add(&b, "", 0);
            buf_escape(&b, it->text.p + start, it->text.len - start, 0);
            printf("C< %s\n", b.p);
        }
    }
    if (r.err.len)
        printf("!! %s\n", r.err.p);
    free(b.p);
    run_free(&r);
}

static int run_all(const struct transcript *t, int only, int verbose, struct buf *why)
{
    int ok = 1, m;
    for (m = M_WHOLE; m <= M_SPLIT; m++) {
        uint64_t seed;
        if (only >= 0 && m != only)
            continue;
        if (m == M_RANDOM || m == M_SLOW || m == M_HOP) {
            for (seed = 1; seed <= 4; seed++)
                ok &= run_mode(t, (enum mode)m, seed, 0, why, verbose);
        } else if (m == M_SPLIT) {
            size_t n = t->input.len, step = n <= 2000 ? 1 : n / 200, at;
            for (at = 1; at < n && ok; at += step)
                ok &= run_mode(t, (enum mode)m, 0, at, why, verbose);
        } else {
            ok &= run_mode(t, (enum mode)m, 0, 0, why, verbose);
        }
        if (!ok && !verbose && m == M_WHOLE)
            break;
    }
    return ok;
}

int main(int argc, char **argv)
{
    int i, verbose = 0, print = 0, only = -1, passed = 0, failed = 0;
    client = malloc(sizeof *client);
    client2 = malloc(sizeof *client2);
    if (!client || !client2)
        die("out of memory");
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-v") == 0) {
            verbose = 1;
        } else if (strcmp(argv[i], "-p") == 0) {
            print = 1;
        } else if (strcmp(argv[i], "-m") == 0 && i + 1 < argc) {
            for (only = 0; only <= M_SPLIT && strcmp(argv[i + 1], mode_names[only]); only++) {
            }
            if (only > M_SPLIT)
                die("unknown mode %s", argv[i + 1]);
            i++;
        } else {
            struct transcript t;
            struct buf why = {0, 0, 0};
            pid_t pid;
            int status = 0;
            parse(&t, argv[i]);
            if (print) {
                print_log(&t);
                transcript_free(&t);
                continue;
            }
            /* each file in a child: a crash fails that file only */
            fflush(stdout);
            pid = fork();
            if (pid < 0)
                die("fork failed");
            if (pid == 0) {
                int ok = run_all(&t, only, verbose, &why);
                if (!ok)
                    printf("FAIL %s\n%s", argv[i], why.p);
                fflush(stdout);
                _exit(ok ? 0 : 1);
            }
            if (waitpid(pid, &status, 0) != pid)
                die("waitpid failed");
            if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
                passed++;
            } else {
                failed++;
                if (!WIFEXITED(status) || WEXITSTATUS(status) != 1)
                    printf("FAIL %s\n  crashed (status %d)\n", argv[i], status);
            }
            free(why.p);
            transcript_free(&t);
        }
    }
    free(client);
    free(client2);
    if (print)
        return 0;
    printf("ctranscripts: %d passed, %d failed\n", passed, failed);
    return failed != 0;
}
