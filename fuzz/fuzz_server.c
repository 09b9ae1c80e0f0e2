/*
 * fuzz_server.c - the input is a client's byte stream (after 3 mode bytes,
 * see fuzz_common.h).  Properties checked, abort() on violation:
 *   - every reply is well formed: 3 digits, SP or '-', text, CRLF, <= 512
 *     octets, one code per multi-line reply (fuzz_common.h fz_rp_byte);
 *   - every reply answers a command, in order, except the greeting; every
 *     complete command gets exactly one reply before the input ends;
 *   - the reply code is one the sequencing tables (RFC 821 4.3, RFC 5321
 *     4.3.2) allow for that command in the state the session was in;
 *   - events match the command the client sent and the state;
 *   - enhanced status codes appear exactly after an accepted EHLO, whole on
 *     every line of a reply (fuzz_common.h);
 *   - a 250 to EHLO lists every offered keyword whole, SIZE and LIMITS
 *     with the configured values, whatever text the application gave;
 *   - only CRLF ends a line (bare LF: the line is malformed, one 500);
 *     blanks as smtp.h says, strict with SMTP_OPT_STRICT_SPACES;
 *   - fields that do not apply to an event are empty (fuzz_common.h).
 *
 * The oracle is a small model written from the RFC and the BRIEF, NOT from
 * smtp.c: it splits the client bytes into lines itself, tracks
 * greeted / HELO'd / MAIL / RCPT / DATA from the codes it sees, and finds
 * the end of the data at the first <CRLF>.<CRLF> with the naive reference.
 */
#include "fuzz_common.h"

enum verb {
    V_HELO, V_EHLO, V_MAIL, V_SEND, V_SOML, V_SAML, V_RCPT, V_DATA, V_RSET, V_VRFY,
    V_EXPN, V_HELP, V_NOOP, V_QUIT, V_TURN, V_STARTTLS, V_AUTH, V_BDAT,
    V_UNKNOWN, /* unknown verb or empty line */
    V_BAD,     /* malformed line: bare CR / LF, NUL, too long */
    V_END      /* end of mail data */
};

static const char *const verb_names[] = {"HELO", "EHLO", "MAIL", "SEND", "SOML", "SAML",
                                         "RCPT", "DATA", "RSET", "VRFY", "EXPN", "HELP",
                                         "NOOP", "QUIT", "TURN", "STARTTLS", "AUTH", "BDAT"};

struct cmd {
    uint8_t verb;
    uint8_t arg_ok;  /* the argument has the shape a success needs */
    uint8_t has_arg; /* "VERB SP ..." */
    size_t start, end; /* line in the input, or the data for V_END */
};

#define QMAX 64

struct model {
    const struct fz_cfg *c;
    const uint8_t *in;
    size_t mp;          /* next input byte to parse */
    struct cmd q[QMAX]; /* commands taken but not yet answered */
    size_t qh, qn;
    int greeted;        /* greeting seen */
    int refused;        /* greeting was 554: all but QUIT get 503 */
    int helo, ehlo;     /* HELO/EHLO accepted; ehlo: extended session */
    int mail;           /* transaction open */
    unsigned rcpt_ok;   /* accepted recipients */
    int rcpt_tried;
    int blocked;        /* DATA taken, its reply decides how to parse on */
    int data;           /* in the data phase; data starts at data_start */
    size_t data_start, ds;
    int closed;
    struct fz_run *run;
    int in_reply;       /* lines of a reply have come, not yet its last */
    unsigned kw_seen;   /* EHLO keywords seen whole in the reply */
    int kw_other;       /* lines that are no keyword this session offers */
};

/* The EHLO keywords of SMTP_EXT_DEFAULT as they must appear, values whole:
 * an application's long text must never push one out or cut it. */
static void on_line(void *user, int code, const char *t, size_t n, int final)
{
    struct model *m = (struct model *)user;
    const struct smtp_config *cfg = &m->run->s.cfg;
    char want[6][48];
    unsigned i;
    (void)code;
    if (!m->in_reply) { /* the first line: hostname and text */
        m->in_reply = 1;
        m->kw_seen = 0;
        m->kw_other = 0;
    } else {
        strcpy(want[0], "PIPELINING");
        if (cfg->max_size)
            snprintf(want[1], sizeof want[1], "SIZE %llu", (unsigned long long)cfg->max_size);
        else
            strcpy(want[1], "SIZE");
        strcpy(want[2], "8BITMIME");
        strcpy(want[3], "ENHANCEDSTATUSCODES");
        strcpy(want[4], "SMTPUTF8");
        snprintf(want[5], sizeof want[5], "LIMITS RCPTMAX=%u", (unsigned)fz_max_rcpt(cfg));
        for (i = 0; i < 6; i++)
            if (n == strlen(want[i]) && memcmp(t, want[i], n) == 0)
                break;
        if (i < 6)
            m->kw_seen |= 1u << i;
        else
            m->kw_other++;
    }
    if (final)
        m->in_reply = 0;
}

static int ci_prefix(const uint8_t *p, size_t n, const char *w)
{
    size_t i, k = strlen(w);
    if (n < k)
        return 0;
    for (i = 0; i < k; i++) {
        uint8_t c = p[i];
        if (c >= 'a' && c <= 'z')
            c = (uint8_t)(c - 32);
        if (c != (uint8_t)w[i])
            return 0;
    }
    return 1;
}

static void push(struct model *m, struct cmd c)
{
    FZ_CHECK(m->qn < QMAX, "harness: too many commands taken without replies");
    m->q[(m->qh + m->qn) % QMAX] = c;
    m->qn++;
}

/* A blank between words: SP, and HTAB unless SMTP_OPT_STRICT_SPACES. */
static int blank(const struct model *m, uint8_t ch)
{
    return ch == ' ' || (ch == '\t' && !(m->c->cfg.options & SMTP_OPT_STRICT_SPACES));
}

/* Classifies one command line d[0..n) (line end removed).  By default
 * trailing blanks are dropped and runs of blanks separate words; strict:
 * RFC 5321's single SP. */
static struct cmd classify(struct model *m, const uint8_t *d, size_t n, int bad)
{
    struct cmd c;
    size_t vl = 0, i, ai;
    int strict = (m->c->cfg.options & SMTP_OPT_STRICT_SPACES) != 0;
    memset(&c, 0, sizeof c);
    c.verb = V_BAD;
    if (bad)
        return c;
    while (!strict && n > 0 && blank(m, d[n - 1]))
        n--;
    while (vl < n && !blank(m, d[vl]))
        vl++;
    c.verb = V_UNKNOWN;
    for (i = 0; i < sizeof verb_names / sizeof verb_names[0]; i++)
        if (vl == strlen(verb_names[i]) && ci_prefix(d, n, verb_names[i]))
            c.verb = (uint8_t)i;
    c.has_arg = vl < n;
    ai = vl;
    if (strict)
        ai += ai < n;
    else
        while (ai < n && blank(m, d[ai]))
            ai++;
    {
        const uint8_t *a = d + ai;
        size_t al = n - ai, k;
        switch (c.verb) {
        case V_HELO: case V_EHLO:
            c.arg_ok = c.has_arg && al > 0 && a[0] != ' ';
            break;
        case V_MAIL: case V_SEND: case V_SOML: case V_SAML:
        case V_RCPT:
            k = c.verb == V_RCPT ? 3 : 5;
            c.arg_ok = c.has_arg && ci_prefix(a, al, c.verb == V_RCPT ? "TO:" : "FROM:");
            while (c.arg_ok && !strict && k < al && blank(m, a[k]))
                k++;
            c.arg_ok = c.arg_ok && k < al && a[k] == '<';
            break;
        default:
            c.arg_ok = 1;
        }
    }
    return c;
}

/* Parses the input taken so far into commands, as far as it can. */
static void parse_more(struct model *m)
{
    size_t pos = m->run->pos;
    while (!m->blocked && !m->closed && m->greeted) {
        if (m->data) {
            /* naive: the first <CRLF>.<CRLF>, the DATA line's CRLF counting */
            int found = 0;
            for (; m->ds + 3 <= pos; m->ds++) {
                size_t i = m->ds - m->data_start;
                const uint8_t *d = m->in + m->data_start;
                if (fz_line_start(d, i) && d[i] == '.' && d[i + 1] == '\r' && d[i + 2] == '\n') {
                    struct cmd c;
                    memset(&c, 0, sizeof c);
                    c.verb = V_END;
                    c.start = m->data_start;
                    c.end = m->ds;
                    push(m, c);
                    m->mp = m->ds + 3;
                    m->data = 0;
                    found = 1;
                    break;
                }
            }
            if (!found)
                return;
            continue;
        }
        {
            size_t j = m->mp, k;
            int bad = 0, crlf;
            struct cmd c;
            /* RFC 5321 2.3.8: only CRLF ends a line; a bare LF inside one
             * makes it malformed (one 500), it never splits it in two.
             * SMTP_OPT_LF_LINES: any LF ends a line. */
            while (j < pos && !(m->in[j] == '\n' &&
                                ((j > m->mp && m->in[j - 1] == '\r') ||
                                 (m->c->cfg.options & SMTP_OPT_LF_LINES))))
                j++;
            if (j >= pos)
                return; /* no complete line yet */
            crlf = j > m->mp && m->in[j - 1] == '\r';
            k = crlf ? j - 1 : j;
            {
                size_t i;
                for (i = m->mp; i < k; i++)
                    if (m->in[i] == '\r' || m->in[i] == '\0' || m->in[i] == '\n')
                        bad = 1;
            }
            if (k - m->mp > fz_max_line(&m->c->cfg) - 2)
                bad = 1;
            c = classify(m, m->in + m->mp, k - m->mp, bad);
            c.start = m->mp;
            c.end = k;
            m->mp = j + 1;
            push(m, c);
            if (c.verb == V_DATA)
                m->blocked = 1; /* its reply says whether data follows */
        }
    }
}

static int in_set(int code, const short *set)
{
    for (; *set; set++)
        if (*set == code)
            return 1;
    return 0;
}

/* The RFC 821 4.3 + RFC 5321 4.3.2 table (static part), plus 500/501/421,
 * which RFC 5321 4.3.2 allows for any command. */
static const short t_helo[] = {250, 504, 550, 502, 500, 501, 421, 0};
static const short t_mail[] = {250, 552, 451, 452, 550, 553, 503, 455, 555, 500, 501, 502,
                               504, 421, 0};
static const short t_rcpt[] = {250, 251, 550, 551, 552, 553, 450, 451, 452, 503, 455, 555,
                               500, 501, 421, 0};
static const short t_data[] = {354, 451, 554, 503, 500, 501, 421, 0};
static const short t_end[] = {250, 552, 554, 451, 452, 450, 550, 421, 0};
static const short t_rset[] = {250, 500, 501, 504, 421, 0};
static const short t_vrfy[] = {250, 251, 252, 550, 551, 553, 500, 501, 502, 504, 421, 0};
static const short t_expn[] = {250, 252, 550, 500, 501, 502, 504, 421, 0};
static const short t_help[] = {211, 214, 500, 501, 502, 504, 421, 0};
static const short t_noop[] = {250, 500, 501, 421, 0};
static const short t_quit[] = {221, 500, 501, 421, 0};
static const short t_turn[] = {250, 502, 500, 501, 503, 421, 0};
static const short t_off[] = {502, 500, 501, 503, 421, 0};
static const short t_unknown[] = {500, 421, 0};

static const short *static_table(int verb)
{
    switch (verb) {
    case V_HELO: case V_EHLO: return t_helo;
    case V_MAIL: case V_SEND: case V_SOML: case V_SAML: return t_mail;
    case V_RCPT: return t_rcpt;
    case V_DATA: return t_data;
    case V_END: return t_end;
    case V_RSET: return t_rset;
    case V_VRFY: return t_vrfy;
    case V_EXPN: return t_expn;
    case V_HELP: return t_help;
    case V_NOOP: return t_noop;
    case V_QUIT: return t_quit;
    case V_TURN: return t_turn;
    case V_STARTTLS: case V_AUTH: case V_BDAT: return t_off;
    default: return t_unknown;
    }
}

/* The codes the core itself may give to command c in the model's state. */
static int state_allows(struct model *m, const struct cmd *c, int code)
{
    uint32_t opt = m->c->cfg.options;
    if (code == 421 && (c->verb != V_QUIT || c->has_arg))
        return 1; /* shutting down / too many errors: any command; a bare
                     QUIT still gets 221 (BRIEF) */
    if (c->verb == V_BAD)
        return code == 500 || (m->refused && code == 503);
    if (m->refused) /* RFC 5321 3.1: 503 to all but QUIT after a 554 greeting */
        return c->verb == V_QUIT ? (code == 221 || code == 501 || code == 421) : code == 503 ||
                                       (c->verb == V_UNKNOWN && code == 500);
    switch (c->verb) {
    case V_UNKNOWN:
        return code == 500;
    case V_HELO:
        return code == 501 || code == 504 || code == 550 || (code == 250 && c->arg_ok);
    case V_EHLO:
        if (opt & SMTP_OPT_NO_ESMTP)
            return code == 502 || code == 500;
        return code == 501 || code == 504 || code == 550 || (code == 250 && c->arg_ok);
    case V_SEND: case V_SOML: case V_SAML:
        if (!(opt & SMTP_OPT_SEND))
            return code == 502;
        /* fall through */
    case V_MAIL:
        if (!m->helo || m->mail)
            return code == 503;
        return code == 501 || code == 555 || code == 504 || code == 552 || code == 553 ||
               (code == 250 && c->arg_ok);
    case V_RCPT:
        if (!m->mail)
            return code == 503;
        if (m->rcpt_ok >= fz_max_rcpt(&m->c->cfg))
            return code == 452 || code == 501 || code == 555 || code == 553;
        return code == 501 || code == 555 || code == 553 || code == 550 ||
               (code == 250 && c->arg_ok);
    case V_DATA:
        if (!m->mail || m->rcpt_ok == 0)
            return code == 503 || (code == 554 && m->mail && m->rcpt_tried) ||
                   (code == 501 && c->has_arg);
        return code == 354 || (code == 501 && c->has_arg);
    case V_RSET:
        return code == 250 || (code == 501 && c->has_arg);
    case V_VRFY:
        return code == 252 || code == 501 || code == 502 || code == 250 || code == 553;
    case V_EXPN:
        return code == 502 || code == 501 || code == 252;
    case V_HELP:
        return code == 214 || code == 211 || code == 501 || code == 504;
    case V_NOOP:
        return code == 250 || code == 501;
    case V_QUIT:
        return code == 221 || (code == 501 && c->has_arg);
    case V_TURN: /* RFC 821 4.1.1; SMTP_OPT_TURN: only between transactions */
        if (!(opt & SMTP_OPT_TURN))
            return code == 502;
        if (!m->helo || m->mail)
            return code == 503;
        return code == 250 || code == 502 || (code == 501 && c->has_arg); /* trailing blanks */
    case V_STARTTLS: case V_AUTH: case V_BDAT:
        return code == 502;
    case V_END: {
        /* the naive reference decides whether the core must refuse */
        struct fz_ref r;
        int mode = (opt & SMTP_OPT_BARE_KEEP) ? 1 : (opt & SMTP_OPT_BARE_NORMALIZE) ? 2 : 0;
        int both = (opt & SMTP_OPT_BARE_KEEP) && (opt & SMTP_OPT_BARE_NORMALIZE);
        unsigned long tl = fz_max_text(&m->c->cfg) - 2;
        int must = 0, may = 0;
        int ok552, ok554;
        fz_ref_data(m->in + c->start, c->end - c->start + 3, mode, NULL, &r);
        FZ_CHECK(r.found && r.end == c->end - c->start, "harness: data end mismatch");
        ok552 = m->c->cfg.max_size != 0 && r.outlen > m->c->cfg.max_size;
        if (both && r.bare) {
            ok552 = ok552 || (m->c->cfg.max_size != 0 && r.outlen + r.end > m->c->cfg.max_size);
            may = 1;
        }
        must = ok552;
        ok554 = 0;
        if (r.bare && mode == 0)
            must = ok554 = 1;
        if (mode == 0 ? r.maxline_un > tl
            : mode == 2 ? r.maxline_norm > tl && !both
                        : (r.bare ? r.maxseg > tl + 1 : r.maxline_un > tl))
            must = ok554 = 1;
        else if (r.maxline > tl)
            may = 1;
        if (may)
            return code == 250 || code == 554 || code == 552;
        if (must)
            return (code == 552 && ok552) || (code == 554 && ok554);
        return code == 250;
    }
    }
    return 0;
}

static void model_update(struct model *m, const struct cmd *c, int code)
{
    if (code == 421 || (code == 221 && c->verb == V_QUIT) || (code == 250 && c->verb == V_TURN)) {
        m->closed = 1; /* a 250 to TURN: the roles reverse, we say nothing more */
        return;
    }
    switch (c->verb) {
    case V_HELO: case V_EHLO:
        if (code == 250) {
            m->helo = 1;
            m->ehlo = c->verb == V_EHLO;
            m->mail = 0; /* RFC 5321 4.1.4: as if RSET */
        }
        break;
    case V_MAIL: case V_SEND: case V_SOML: case V_SAML:
        if (code == 250) {
            m->mail = 1;
            m->rcpt_ok = 0;
            m->rcpt_tried = 0;
        }
        break;
    case V_RCPT:
        if (m->mail) {
            m->rcpt_tried = 1;
            if (code == 250 || code == 251)
                m->rcpt_ok++;
        }
        break;
    case V_DATA:
        m->blocked = 0;
        if (code == 354) {
            m->data = 1;
            m->data_start = m->ds = m->mp;
        }
        break;
    case V_END:
        m->mail = 0;
        break;
    case V_RSET:
        if (code == 250)
            m->mail = 0;
        break;
    default:
        break;
    }
}

static int has_enh(const char *t, size_t n, int code)
{
    /* class "." subject "." detail, RFC 3463 (fuzz_common.h) */
    size_t e = fz_enh_len(t, n);
    if (e)
        FZ_CHECK(t[0] - '0' == code / 100, "enhanced code class differs from the reply code class");
    return e != 0;
}

static void on_reply(void *user, int code, const char *text, size_t tlen, int lines)
{
    struct model *m = (struct model *)user;
    struct fz_app *a = &m->run->app;
    struct cmd c;
    int enh = has_enh(text, tlen, code);
    int enh_wanted = m->ehlo && (fz_exts(&m->c->cfg) & SMTP_EXT_ENHANCEDSTATUSCODES) &&
                     !(m->c->cfg.options & SMTP_OPT_NO_ESMTP);
    (void)lines;
    FZ_TRACE("  model: reply %d (app expects %d)\n", code, a->expect);
    FZ_CHECK(!m->closed, "a reply after the session ended (221/421)");
    if (!m->greeted) {
        FZ_CHECK(code == 220 || code == 554 || code == 421,
                 "greeting code not allowed (220, 554, 421)");
        FZ_CHECK(a->expect < 0 || a->expect == code, "greeting differs from the app's answer");
        FZ_CHECK(!enh, "enhanced code in the greeting");
        a->expect = -1;
        m->greeted = 1;
        m->refused = code == 554;
        m->closed = code == 421;
        return;
    }
    parse_more(m);
    if (m->qn == 0) {
        FZ_CHECK(code == 421 && a->shut_now, "a reply that no command provoked");
        m->closed = 1;
        return;
    }
    c = m->q[m->qh];
    m->qh = (m->qh + 1) % QMAX;
    m->qn--;
    FZ_TRACE("  model: for %s (helo %d mail %d rcpts %u refused %d)\n",
             c.verb < V_UNKNOWN ? verb_names[c.verb] : c.verb == V_END ? "<end of data>"
             : c.verb == V_BAD ? "<malformed line>" : "<unknown verb>",
             m->helo, m->mail, m->rcpt_ok, m->refused);
    if (a->expect >= 0) {
        FZ_CHECK(code == a->expect || code == 421, "reply differs from the app's smtp_reply()");
        FZ_CHECK(in_set(code, static_table(c.verb)) || (m->refused && code == 503),
                 "smtp_reply() let through a code the tables do not allow for the command");
        a->expect = -1;
    } else {
        FZ_CHECK(in_set(code, static_table(c.verb)) || (m->refused && code == 503),
                 "reply code not in the sequencing table for the command");
        FZ_CHECK(state_allows(m, &c, code),
                 "reply code not allowed for the command in this state");
    }
    /* The replies to HELO/EHLO themselves carry none (RFC 2034 3); after
     * a HELO the session is no longer extended. */
    if (!((c.verb == V_EHLO || c.verb == V_HELO) && code == 250) && code != 354 &&
        code != 421) {
        if (enh_wanted)
            FZ_CHECK(enh, "no enhanced status code after EHLO (RFC 2034)");
    }
    if (!enh_wanted && !((c.verb == V_EHLO || c.verb == V_HELO) && code == 250))
        FZ_CHECK(!enh, "enhanced status code without an accepted EHLO");
    if (c.verb == V_EHLO && code == 250) {
        /* SMTP_EXT_PIPELINING .. SMTP_EXT_LIMITS are bits 0..5, in the
         * order of want[] in on_line() */
        unsigned offered = (unsigned)(m->run->s.cfg.extensions & 0x3fu);
        FZ_CHECK(m->kw_seen == offered && m->kw_other == 0,
                 "EHLO reply lost, cut or garbled a keyword or its value");
    }
    model_update(m, &c, code);
}

static int verb_of_event(int t, int *alt)
{
    *alt = -1;
    switch (t) {
    case SMTP_EV_HELO: return V_HELO;
    case SMTP_EV_EHLO: return V_EHLO;
    case SMTP_EV_MAIL: return V_MAIL;
    case SMTP_EV_RCPT: return V_RCPT;
    case SMTP_EV_DATA: return V_DATA;
    case SMTP_EV_DATA_END: return V_END;
    case SMTP_EV_RSET: return V_RSET;
    case SMTP_EV_VRFY: return V_VRFY;
    case SMTP_EV_EXPN: return V_EXPN;
    case SMTP_EV_HELP: return V_HELP;
    case SMTP_EV_NOOP: return V_NOOP;
    case SMTP_EV_QUIT: return V_QUIT;
    case SMTP_EV_TURN: return V_TURN;
    default: return -1;
    }
}

static void on_event(struct fz_run *run, int st, const union smtp_event *ev)
{
    struct model *m = (struct model *)run->user;
    const struct cmd *c;
    int v, alt;
    if (st <= 0)
        return;
    if (st == SMTP_EV_CONNECT) {
        FZ_CHECK(!m->greeted && m->qn == 0, "EV_CONNECT after the start");
        return;
    }
    FZ_CHECK(m->greeted, "an event before the greeting was sent");
    parse_more(m);
    if (st == SMTP_EV_BODY) {
        FZ_CHECK(m->data, "EV_BODY outside the data phase");
        return;
    }
    FZ_CHECK(m->qn > 0, "an event with no command behind it");
    c = &m->q[m->qh];
    v = verb_of_event(st, &alt);
    if (st == SMTP_EV_MAIL) {
        static const uint8_t mv[] = {V_MAIL, V_SEND, V_SOML, V_SAML};
        FZ_CHECK(ev->mail.mode <= 3 && c->verb == mv[ev->mail.mode], "EV_MAIL mode differs from the verb");
        FZ_CHECK(c->arg_ok && m->helo && !m->mail && !m->refused, "EV_MAIL out of sequence");
        return;
    }
    FZ_CHECK(c->verb == v, "event differs from the command the client sent");
    FZ_CHECK(!m->refused || st == SMTP_EV_QUIT, "an event after a refused greeting");
    if (st == SMTP_EV_RCPT)
        FZ_CHECK(m->mail && c->arg_ok && m->rcpt_ok < fz_max_rcpt(&m->c->cfg),
                 "EV_RCPT out of sequence or past max_rcpt");
    if (st == SMTP_EV_DATA)
        FZ_CHECK(m->mail && m->rcpt_ok > 0, "EV_DATA without an accepted recipient");
    if (st == SMTP_EV_HELO || st == SMTP_EV_EHLO)
        FZ_CHECK(c->arg_ok, "EV_HELO/EV_EHLO without a domain");
    if (st == SMTP_EV_EHLO)
        FZ_CHECK(!(m->c->cfg.options & SMTP_OPT_NO_ESMTP), "EV_EHLO with SMTP_OPT_NO_ESMTP");
    if (st == SMTP_EV_TURN)
        FZ_CHECK((m->c->cfg.options & SMTP_OPT_TURN) && m->helo && !m->mail,
                 "EV_TURN without SMTP_OPT_TURN or out of sequence");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz_cfg c;
    struct model m;
    struct fz_run *run;
    size_t k;
    if (size > 65536)
        return 0;
    run = (struct fz_run *)calloc(1, sizeof *run);
    if (run == NULL)
        return 0;
    k = fz_config(data, size, &c);
    memset(&m, 0, sizeof m);
    m.c = &c;
    m.in = data + k;
    m.run = run;
    smtp_init(&run->s, &c.cfg);
    run->in = data + k;
    run->n = size - k;
    fz_app_init(&run->app, &c);
    run->rp.cb = on_reply;
    run->rp.line_cb = on_line;
    run->rp.user = &m;
    run->on_event = on_event;
    run->user = &m;
    fz_drive(run);
    FZ_CHECK(fz_rp_idle(&run->rp), "output ended inside a reply");
    FZ_CHECK(m.greeted, "no greeting");
    if (!m.closed && !run->closed) {
        parse_more(&m);
        FZ_CHECK(m.qn == 0, "a complete command got no reply");
    }
    free(run);
    return 0;
}
