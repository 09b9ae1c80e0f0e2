/*
 * smtp.c - the SMTP protocol core.  The contract is in smtp.h; this file
 * only says why.  Layout: tables (sequencing, replies), reply writer,
 * argument parsers, command dispatch, DATA scanner, public API.
 *
 * MIT licensed, see LICENSE.
 */
#include "smtp.h"

#include <string.h>

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define REPLY_LINE 512 /* RFC 5321 4.5.3.1.5, CRLF included */

/* ------------------------------------------------------------------ states */

enum state {
    ST_GREET,   /* before the greeting decision */
    ST_INIT,    /* greeted, no HELO/EHLO yet */
    ST_READY,   /* HELO/EHLO done, no transaction */
    ST_MAIL,    /* MAIL accepted, no recipient yet */
    ST_RCPT,    /* at least one recipient accepted */
    ST_DATA,    /* receiving mail data */
    ST_REFUSED, /* greeting was 554: only QUIT works (RFC 5321 3.1) */
    ST_CLOSED
};
#define B(st) (1u << ST_##st)
#define IN_SESSION (B(INIT) | B(READY) | B(MAIL) | B(RCPT))

enum flag {
    F_ESMTP = 1u << 0,     /* last accepted greeting was EHLO */
    F_UTF8 = 1u << 1,      /* transaction gave SMTPUTF8 */
    F_PEND_UTF8 = 1u << 2, /* MAIL waiting for a decision gave SMTPUTF8 */
    F_RCPT_TRIED = 1u << 3,/* a RCPT was refused in this transaction */
    F_DEFERRED = 1u << 4,  /* smtp_defer() was called */
    F_SHUTDOWN = 1u << 5,  /* smtp_shutdown(s, 0): next command gets 421 */
    F_PEND_421 = 1u << 6   /* smtp_shutdown(s, 1) found the buffer full */
};

enum lflag { /* what was wrong with the command line being assembled */
    L_CR = 1u << 0,      /* last octet was CR */
    L_LONG = 1u << 1,    /* over max_line: the rest is discarded */
    L_BARE_CR = 1u << 2,
    L_BARE_LF = 1u << 3,
    L_NUL = 1u << 4
};

enum dstate { D_SOL, D_MID, D_CR, D_DOT, D_DOTCR };

/* ------------------------------------------------------ sequencing table */

/* The RFC 821 4.3 command list with RFC 5321's sequencing: in which states
 * each verb is in sequence (503 otherwise), whether it takes an argument,
 * and whether it is implemented (502 otherwise). */
enum arg { ARG_NONE, ARG_OPT, ARG_REQ };
enum impl { IMPL_YES, IMPL_SEND, IMPL_ESMTP, IMPL_NO };

#define VERB_MAP(X)                                              \
    /*  verb      states in sequence        argument  impl */    \
    X(HELO, "HELO", IN_SESSION, ARG_REQ, IMPL_YES)               \
    X(EHLO, "EHLO", IN_SESSION, ARG_REQ, IMPL_ESMTP)             \
    X(MAIL, "MAIL", B(READY), ARG_REQ, IMPL_YES)                 \
    X(RCPT, "RCPT", B(MAIL) | B(RCPT), ARG_REQ, IMPL_YES)        \
    X(DATA, "DATA", B(RCPT), ARG_NONE, IMPL_YES)                 \
    X(RSET, "RSET", IN_SESSION, ARG_NONE, IMPL_YES)              \
    X(SEND, "SEND", B(READY), ARG_REQ, IMPL_SEND)                \
    X(SOML, "SOML", B(READY), ARG_REQ, IMPL_SEND)                \
    X(SAML, "SAML", B(READY), ARG_REQ, IMPL_SEND)                \
    X(VRFY, "VRFY", IN_SESSION, ARG_REQ, IMPL_YES)               \
    X(EXPN, "EXPN", IN_SESSION, ARG_REQ, IMPL_YES)               \
    X(HELP, "HELP", IN_SESSION, ARG_OPT, IMPL_YES)               \
    X(NOOP, "NOOP", IN_SESSION, ARG_OPT, IMPL_YES)               \
    X(QUIT, "QUIT", IN_SESSION | B(REFUSED), ARG_NONE, IMPL_YES) \
    X(TURN, "TURN", IN_SESSION, ARG_NONE, IMPL_NO)               \
    X(BDAT, "BDAT", IN_SESSION, ARG_REQ, IMPL_NO)                \
    X(AUTH, "AUTH", IN_SESSION, ARG_REQ, IMPL_NO)                \
    X(STARTTLS, "STARTTLS", IN_SESSION, ARG_NONE, IMPL_NO)

enum verb {
#define X(v, name, states, arg, impl) V_##v,
    VERB_MAP(X)
#undef X
    V_COUNT
};

static const struct verb_row {
    char name[9];
    uint8_t states, arg, impl;
} verbs[V_COUNT] = {
#define X(v, name, states, arg, impl) {name, (uint8_t)(states), arg, impl},
    VERB_MAP(X)
#undef X
};

/* The replies an application may give to each decision: RFC 5321 4.3.2
 * and RFC 821 4.3 together, 421 everywhere.  Zero-terminated. */
static const uint16_t codes_connect[] = {220, 421, 554, 0};
static const uint16_t codes_helo[] = {250, 421, 501, 504, 550, 0};
static const uint16_t codes_mail[] = {250, 421, 451, 452, 501, 503,
                                      550, 552, 553, 555, 0};
static const uint16_t codes_rcpt[] = {250, 251, 421, 450, 451, 452, 501,
                                      503, 550, 551, 552, 553, 555, 0};
static const uint16_t codes_data[] = {354, 421, 451, 503, 554, 0};
static const uint16_t codes_data_end[] = {250, 421, 451, 452, 552, 554, 0};
static const uint16_t codes_vrfy[] = {250, 251, 252, 421, 501, 502,
                                      504, 550, 551, 553, 0};
static const uint16_t codes_expn[] = {250, 252, 421, 500, 501,
                                      502, 504, 550, 0};
static const uint16_t codes_help[] = {211, 214, 421, 501, 502, 504, 0};

static const struct decision {
    const uint16_t *codes;
    uint16_t dflt; /* the reply when the application gives none */
} decisions[SMTP__EV_LAST + 1] = {
    [SMTP_EV_CONNECT] = {codes_connect, 220},
    [SMTP_EV_HELO] = {codes_helo, 250},
    [SMTP_EV_EHLO] = {codes_helo, 250},
    [SMTP_EV_MAIL] = {codes_mail, 250},
    [SMTP_EV_RCPT] = {codes_rcpt, 250},
    [SMTP_EV_DATA] = {codes_data, 354},
    [SMTP_EV_DATA_END] = {codes_data_end, 250},
    [SMTP_EV_VRFY] = {codes_vrfy, 252},
    [SMTP_EV_EXPN] = {codes_expn, 502},
    [SMTP_EV_HELP] = {codes_help, 214},
};

/* Default reply texts: RFC 5321 4.2.2, shortened where a line says more. */
static const struct {
    uint16_t code;
    const char *text;
} texts[] = {
    {211, "System status"},
    {214, "Commands: HELO EHLO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP"},
    {220, "ESMTP ready"},
    {221, "Service closing transmission channel"},
    {250, "OK"},
    {251, "User not local; will forward"},
    {252, "Cannot VRFY user, but will accept message and attempt delivery"},
    {354, "End data with <CR><LF>.<CR><LF>"},
    {421, "Service not available, closing transmission channel"},
    {450, "Requested mail action not taken: mailbox unavailable"},
    {451, "Requested action aborted: local error in processing"},
    {452, "Requested action not taken: insufficient system storage"},
    {500, "Syntax error, command unrecognized"},
    {501, "Syntax error in parameters or arguments"},
    {502, "Command not implemented"},
    {503, "Bad sequence of commands"},
    {504, "Command parameter not implemented"},
    {550, "Requested action not taken: mailbox unavailable"},
    {551, "User not local"},
    {552, "Requested mail action aborted: exceeded storage allocation"},
    {553, "Requested action not taken: mailbox name not allowed"},
    {554, "Transaction failed"},
    {555, "MAIL FROM/RCPT TO parameters not recognized or not implemented"},
};

static const char *default_text(unsigned code)
{
    size_t i;
    for (i = 0; i < sizeof texts / sizeof texts[0]; i++)
        if (texts[i].code == code)
            return texts[i].text;
    return "";
}

/* RFC 3463 code for a reply the application left without one. */
static const char *default_enh(int ev, unsigned code)
{
    switch (code) {
    case 250:
        return ev == SMTP_EV_MAIL ? "2.1.0" : ev == SMTP_EV_RCPT ? "2.1.5" : "2.0.0";
    case 251: return "2.1.5";
    case 450: return "4.2.1";
    case 451: return "4.3.0";
    case 452: return "4.3.1";
    case 421: return "4.3.2";
    case 550: return ev == SMTP_EV_RCPT ? "5.1.1" : "5.7.1";
    case 551: return "5.1.6";
    case 552: return ev == SMTP_EV_RCPT ? "5.2.2" : "5.3.4";
    case 553: return ev == SMTP_EV_MAIL ? "5.1.7" : "5.1.3";
    case 501: case 504: case 555: return "5.5.4";
    case 500: return "5.5.2";
    case 502: case 503: return "5.5.1";
    default:
        return code < 300 ? "2.0.0" : code < 400 ? NULL : code < 500 ? "4.0.0" : "5.0.0";
    }
}

/* ------------------------------------------------------ character classes */

enum { C_ALPHA = 1, C_DIGIT = 2, C_ATEXT = 4, C_QTEXT = 8, C_PRINT = 16 };

/* Locale-free and sign-safe (RFC 5321 4.1.2 / RFC 5322 3.2.3). */
static unsigned cls(unsigned char c)
{
    unsigned r = 0;
    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')
        r |= C_ALPHA | C_ATEXT;
    else if (c >= '0' && c <= '9')
        r |= C_DIGIT | C_ATEXT;
    else if (c && memchr("!#$%&'*+-/=?^_`{|}~", c, 19))
        r |= C_ATEXT;
    if (c >= 32 && c <= 126) {
        r |= C_PRINT;
        if (c != '"' && c != '\\')
            r |= C_QTEXT;
    }
    return r;
}

static int upper(int c) { return c >= 'a' && c <= 'z' ? c - 32 : c; }

/* Case-insensitive prefix test: does p[0..n) start with the literal w? */
static int has_prefix(const char *p, size_t n, const char *w)
{
    size_t i, wl = strlen(w);
    if (n < wl)
        return 0;
    for (i = 0; i < wl; i++)
        if (upper((unsigned char)p[i]) != w[i])
            return 0;
    return 1;
}

/* Length of the well-formed UTF-8 sequence at p[0..n) (RFC 3629), or 0:
 * no overlongs, no surrogates, nothing above U+10FFFF. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    unsigned c = p[0], lo = 0x80, hi = 0xbf;
    size_t len, i;
    if (c < 0xc2 || c > 0xf4)
        return 0;
    len = c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
    if (c == 0xe0) lo = 0xa0;
    if (c == 0xed) hi = 0x9f;
    if (c == 0xf0) lo = 0x90;
    if (c == 0xf4) hi = 0x8f;
    if (n < len || p[1] < lo || p[1] > hi)
        return 0;
    for (i = 2; i < len; i++)
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 0;
    return len;
}

/* ------------------------------------------------------------ the writer */

static size_t copy_text(char *o, size_t room, const char *t, size_t n)
{
    size_t i;
    n = MIN(n, room);
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)t[i];
        o[i] = (char)((c < 32 || c > 126) ? '?' : c);
    }
    return n;
}

static int enh_ok(const char *e, unsigned code)
{
    /* class "." 1*3digit "." 1*3digit, class matching the code */
    size_t i = 2, part, d;
    if (!e || e[0] != (char)('0' + code / 100) || e[1] != '.' || code < 200 || code >= 600 || code / 100 == 3)
        return 0;
    for (part = 0; part < 2; part++) {
        for (d = 0; e[i] >= '0' && e[i] <= '9'; d++)
            i++;
        if (d < 1 || d > 3 || e[i] != (part ? '\0' : '.'))
            return 0;
        i++;
    }
    return 1;
}

/* Appends one reply to the output.  Lines are cut at 512 octets and the
 * reply at the buffer's end; the last line written always gets "code SP",
 * so what goes out is well formed whatever the text. */
static void put_reply(struct smtp_session *s, unsigned code, const char *enh,
                      int with_host, const char *text)
{
    char *o = s->_out;
    size_t len = s->_out_len, sep = 0;
    const char *t = text ? text : default_text(code);
    int first = 1;

    /* RFC 2034: enhanced codes only once EHLO saw them advertised */
    if (!(s->_flags & F_ESMTP) || !(s->cfg.extensions & SMTP_EXT_ENHANCEDSTATUSCODES) || !enh_ok(enh, code))
        enh = NULL;
    for (;;) {
        size_t end = MIN((size_t)SMTP_REPLY_MAX, len + REPLY_LINE) - 2, n;
        size_t tl = strlen(t);
        const char *nl = memchr(t, '\n', tl);
        tl = nl ? (size_t)(nl - t) : tl;
        if (len + 4 > end)
            break;
        o[len++] = (char)('0' + code / 100);
        o[len++] = (char)('0' + code / 10 % 10);
        o[len++] = (char)('0' + code % 10);
        sep = len;
        o[len++] = '-';
        if (enh) {
            len += copy_text(o + len, end - len, enh, strlen(enh));
            if (len < end)
                o[len++] = ' ';
        }
        if (first && with_host) {
            const char *h = s->cfg.hostname;
            len += copy_text(o + len, end - len, h, MIN(strlen(h), (size_t)255));
            if (tl && len < end)
                o[len++] = ' ';
        }
        n = copy_text(o + len, end - len, t, tl);
        len += n;
        o[len++] = '\r';
        o[len++] = '\n';
        first = 0;
        if (!nl || n < tl)
            break;
        t = nl + 1;
    }
    if (sep)
        o[sep] = ' ';
    s->_out_len = (uint16_t)len;
}

/* A reply of the core's own, with the default text and enhanced code. */
static void reply(struct smtp_session *s, unsigned code, const char *enh, const char *text)
{
    put_reply(s, code, enh, code == 221 || code == 421, text);
    if (code == 421)
        s->_state = ST_CLOSED;
}

/* Syntax and sequence errors count towards max_errors; past it the
 * session ends with 421 instead (RFC 5321 4.2.2 allows 421 anywhere). */
static int error(struct smtp_session *s, unsigned code, const char *enh, const char *text)
{
    if (++s->_errors > s->cfg.max_errors && s->cfg.max_errors != 0xffff)
        reply(s, 421, "4.7.0", "Error: too many errors");
    else
        reply(s, code, enh, text);
    return SMTP_WANT_WRITE;
}

static void put_ehlo(struct smtp_session *s, const char *text)
{
    /* One text with '\n' between lines: the writer does the framing. */
    char buf[256];
    size_t n = 0;
    uint32_t e = s->cfg.extensions;
#define ADD(str) (memcpy(buf + n, str, sizeof str - 1), n += sizeof str - 1)
    if (e & SMTP_EXT_PIPELINING) ADD("\nPIPELINING");
    if (e & SMTP_EXT_SIZE) {
        ADD("\nSIZE");
        if (s->cfg.max_size) {
            char d[20];
            size_t k = 0;
            uint64_t v = s->cfg.max_size;
            do d[k++] = (char)('0' + v % 10); while ((v /= 10) != 0);
            buf[n++] = ' ';
            while (k)
                buf[n++] = d[--k];
        }
    }
    if (e & SMTP_EXT_8BITMIME) ADD("\n8BITMIME");
    if (e & SMTP_EXT_ENHANCEDSTATUSCODES) ADD("\nENHANCEDSTATUSCODES");
    if (e & SMTP_EXT_SMTPUTF8) ADD("\nSMTPUTF8");
    if (e & SMTP_EXT_LIMITS) {
        unsigned v = s->cfg.max_rcpt, k = 10000;
        ADD("\nLIMITS RCPTMAX=");
        while (k > v && k > 1)
            k /= 10;
        for (; k; k /= 10)
            buf[n++] = (char)('0' + v / k % 10);
    }
#undef ADD
    buf[n] = '\0';
    {
        /* first line: hostname and the application's text */
        char line[REPLY_LINE];
        size_t tl = text ? MIN(strlen(text), sizeof line - 1) : 0;
        memcpy(line, text ? text : "", tl);
        line[tl] = '\0';
        /* the application text must stay on the first line */
        for (size_t i = 0; i < tl; i++)
            if (line[i] == '\n')
                line[i] = '?';
        if (tl + n >= sizeof line)
            tl = sizeof line - 1 - n;
        memcpy(line + tl, buf, n + 1);
        put_reply(s, 250, NULL, 1, line);
    }
}

/* --------------------------------------------------------- argument parsers */

/* A Domain (RFC 5321 4.1.2): dot-separated labels of letters, digits and
 * inner hyphens, 1-63 octets each.  utf8: octets >= 0x80 count as letters
 * (the caller checks the UTF-8 itself).  under: '_' allowed (HELO only). */
static int check_domain(const char *p, size_t n, int utf8, int under)
{
    size_t i, lab = 0;
    if (n > SMTP_DOMAIN_MAX)
        return SMTP_ERR_DOMAIN_LEN;
    if (n == 0)
        return SMTP_ERR_SYNTAX;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        int letdig = (cls(c) & (C_ALPHA | C_DIGIT)) || (utf8 && c >= 0x80) || (under && c == '_');
        if (c == '.') {
            if (lab == 0 || p[i - 1] == '-')
                return SMTP_ERR_SYNTAX;
            lab = 0;
        } else if (letdig || (c == '-' && lab > 0)) {
            if (++lab > 63)
                return SMTP_ERR_DOMAIN_LEN;
        } else {
            return SMTP_ERR_SYNTAX;
        }
    }
    return (lab == 0 || p[n - 1] == '-') ? SMTP_ERR_SYNTAX : SMTP_OK;
}

static int hexval(int c)
{
    c |= 0x20;
    return (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

static int check_ipv4(const char *p, size_t n)
{
    size_t i = 0, part;
    for (part = 0; part < 4; part++) {
        unsigned v = 0, d = 0;
        if (part && (i >= n || p[i++] != '.'))
            return 0;
        while (i < n && p[i] >= '0' && p[i] <= '9' && d < 3)
            v = v * 10 + (unsigned)(p[i++] - '0'), d++;
        if (d == 0 || v > 255)
            return 0;
    }
    return i == n;
}

/* RFC 5321 IPv6-addr: full, compressed ("::" at most once, standing for at
 * least two groups) and both with a trailing IPv4 address. */
static int check_ipv6(const char *p, size_t n)
{
    size_t i = 0, groups = 0;
    int dbl = 0;
    if (n >= 2 && p[0] == ':' && p[1] == ':')
        dbl = 1, i = 2;
    else if (n && p[0] == ':')
        return 0;
    while (i < n) {
        size_t st = i, d = 0;
        while (i < n && hexval(p[i]) >= 0 && d < 5)
            i++, d++;
        if (i < n && p[i] == '.') { /* IPv4 tail */
            if (!check_ipv4(p + st, n - st))
                return 0;
            groups += 2;
            i = n;
            break;
        }
        if (d == 0 || d > 4)
            return 0;
        groups++;
        if (i == n)
            break;
        if (p[i] != ':')
            return 0;
        i++;
        if (i < n && p[i] == ':') {
            if (dbl)
                return 0;
            dbl = 1;
            i++;
        } else if (i == n) {
            return 0; /* trailing single ':' */
        }
    }
    return dbl ? groups <= 6 : groups == 8;
}

/* address-literal without the brackets: IPv4, "IPv6:", or tag ":" dcontent */
static int check_literal(const char *p, size_t n)
{
    size_t i, tag;
    if (n && cls((unsigned char)p[0]) & C_DIGIT)
        return check_ipv4(p, n);
    if (has_prefix(p, n, "IPV6:"))
        return check_ipv6(p + 5, n - 5);
    for (tag = 0; tag < n && p[tag] != ':'; tag++)
        if (!(cls((unsigned char)p[tag]) & (C_ALPHA | C_DIGIT)) && p[tag] != '-')
            return 0;
    if (tag == 0 || tag + 1 >= n || p[tag - 1] == '-')
        return 0;
    for (i = tag + 1; i < n; i++) /* dcontent: %d33-90 / %d94-126 */
        if (p[i] < 33 || p[i] > 126 || (p[i] >= 91 && p[i] <= 93))
            return 0;
    return 1;
}

SMTP_API int smtp_parse_domain(const char *p, size_t n, int allow_literal)
{
    if (allow_literal && n >= 2 && p[0] == '[')
        return p[n - 1] == ']' && n - 2 <= SMTP_DOMAIN_MAX && check_literal(p + 1, n - 2) ? SMTP_OK : SMTP_ERR_SYNTAX;
    return check_domain(p, n, 0, 0);
}

/* Any octet >= 0x80 in p[0..n) must be well-formed UTF-8. */
static int check_utf8(const char *p, size_t n, int *has8)
{
    size_t i = 0;
    while (i < n) {
        if ((unsigned char)p[i] < 0x80) {
            i++;
        } else {
            size_t l = utf8_len((const unsigned char *)p + i, n - i);
            if (!l)
                return 0;
            *has8 = 1;
            i += l;
        }
    }
    return 1;
}

SMTP_API int smtp_parse_path(const char *p, size_t n, unsigned flags, struct smtp_path *out)
{
    size_t i = 1, st, at;
    int utf8 = (flags & SMTP_PATH_UTF8) != 0, has8 = 0, r;
    unsigned atext = C_ATEXT;

    memset(out, 0, sizeof *out);
    out->mailbox.ptr = out->local.ptr = out->domain.ptr = p;
    if (n < 2 || p[0] != '<')
        return SMTP_ERR_SYNTAX;
    if (p[1] == '>') {
        out->len = 2;
        return (flags & SMTP_PATH_NULL_OK) ? SMTP_OK : SMTP_ERR_SYNTAX;
    }
    /* A-d-l: "@" Domain *("," "@" Domain) ":" - accepted and ignored */
    if (p[1] == '@') {
        for (;;) {
            st = ++i;
            while (i < n && p[i] != ',' && p[i] != ':' && p[i] != '>')
                i++;
            if (i >= n || p[i] == '>')
                return SMTP_ERR_SYNTAX;
            if ((r = check_domain(p + st, i - st, 0, 0)) != SMTP_OK)
                return r;
            if (p[i++] == ':')
                break;
            if (i >= n || p[i] != '@')
                return SMTP_ERR_SYNTAX;
        }
    }
    st = i;
    if (i < n && p[i] == '"') { /* Quoted-string */
        for (i++;; i++) {
            unsigned char c;
            if (i >= n)
                return SMTP_ERR_SYNTAX;
            c = (unsigned char)p[i];
            if (c == '"')
                break;
            if (c == '\\') {
                if (++i >= n || !(cls((unsigned char)p[i]) & C_PRINT))
                    return SMTP_ERR_SYNTAX;
            } else if (!(cls(c) & C_QTEXT) && !(utf8 && c >= 0x80)) {
                return SMTP_ERR_SYNTAX;
            }
        }
        i++;
    } else { /* Dot-string */
        int dot = 1;
        for (; i < n && p[i] != '@' && p[i] != '>'; i++) {
            unsigned char c = (unsigned char)p[i];
            if (c == '.') {
                if (dot)
                    return SMTP_ERR_SYNTAX;
                dot = 1;
            } else if ((cls(c) & atext) || (utf8 && c >= 0x80)) {
                dot = 0;
            } else {
                return SMTP_ERR_SYNTAX;
            }
        }
        if (dot)
            return SMTP_ERR_SYNTAX;
    }
    out->local.ptr = out->mailbox.ptr = p + st;
    out->local.len = i - st;
    if (!check_utf8(p + st, i - st, &has8))
        return SMTP_ERR_UTF8;
    if (i < n && p[i] == '>' && (flags & SMTP_PATH_POSTMASTER) && i - st == 10 &&
        has_prefix(p + st, 10, "POSTMASTER")) {
        out->mailbox.len = 10;
        out->domain.ptr = p + i;
        out->len = i + 1;
        return SMTP_OK;
    }
    if (i >= n || p[i] != '@')
        return SMTP_ERR_SYNTAX;
    at = ++i;
    if (i < n && p[i] == '[') {
        while (i < n && p[i] != ']')
            i++;
        if (i >= n || !check_literal(p + at + 1, i - at - 1))
            return SMTP_ERR_SYNTAX;
        i++;
    } else {
        while (i < n && p[i] != '>')
            i++;
        if ((r = check_domain(p + at, i - at, utf8, 0)) != SMTP_OK)
            return r;
        if (!check_utf8(p + at, i - at, &has8))
            return SMTP_ERR_UTF8;
    }
    if (i >= n || p[i] != '>')
        return SMTP_ERR_SYNTAX;
    out->domain.ptr = p + at;
    out->domain.len = i - at;
    out->mailbox.len = i - st;
    out->len = i + 1;
    if (out->local.len > SMTP_LOCAL_MAX)
        return SMTP_ERR_LOCAL_LEN;
    if (out->domain.len > SMTP_DOMAIN_MAX)
        return SMTP_ERR_DOMAIN_LEN;
    if (out->len > SMTP_PATH_MAX)
        return SMTP_ERR_PATH_LEN;
    return SMTP_OK;
}

SMTP_API int smtp_parse_u64(const char *p, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    size_t i;
    *out = 0;
    if (n == 0)
        return SMTP_ERR_SYNTAX;
    for (i = 0; i < n; i++) {
        unsigned d = (unsigned)(unsigned char)p[i] - '0';
        if (d > 9)
            return SMTP_ERR_SYNTAX;
        if (v > (UINT64_MAX - d) / 10) {
            *out = UINT64_MAX;
            return SMTP_ERR_SYNTAX;
        }
        v = v * 10 + d;
    }
    *out = v;
    return SMTP_OK;
}

/* ------------------------------------------------------------- commands */

/* Reports a path error as the right reply: 501 for syntax and lengths
 * (RFC 5321 4.5.3.1.10 "Path too long"), 553 5.6.7 for UTF-8 where it was
 * not announced (RFC 6531 3.5). */
static int path_error(struct smtp_session *s, int r, int mail)
{
    switch (r) {
    case SMTP_ERR_LOCAL_LEN: return error(s, 501, "5.1.3", "Local part too long");
    case SMTP_ERR_DOMAIN_LEN: return error(s, 501, "5.1.3", "Domain too long");
    case SMTP_ERR_PATH_LEN: return error(s, 501, "5.1.3", "Path too long");
    case SMTP_ERR_UTF8:
        reply(s, 553, "5.6.7", "Non-ASCII address not permitted");
        return SMTP_WANT_WRITE;
    default:
        return error(s, 501, mail ? "5.1.7" : "5.1.3", mail ? "Bad sender address syntax" : "Bad recipient address syntax");
    }
}

/* Fills the path fields of ev from "FROM:<path> params" / "TO:<path> params" */
static int parse_mail_rcpt(struct smtp_session *s, struct smtp_event *ev, const char *a, size_t n, int mail)
{
    const char *kw = mail ? "FROM:" : "TO:";
    size_t k = mail ? 5 : 3, i;
    struct smtp_path path;
    int r, has8 = 0, esmtp = (s->_flags & F_ESMTP) != 0, seen_size = 0;
    uint32_t ext = s->cfg.extensions;
    unsigned flags = mail ? SMTP_PATH_NULL_OK : SMTP_PATH_POSTMASTER;

    if (!has_prefix(a, n, kw))
        return error(s, 501, "5.5.4", mail ? "Syntax: MAIL FROM:<address>" : "Syntax: RCPT TO:<address>");
    if (esmtp && (ext & SMTP_EXT_SMTPUTF8))
        flags |= SMTP_PATH_UTF8;
    r = smtp_parse_path(a + k, n - k, flags, &path);
    if (r != SMTP_OK)
        return path_error(s, r, mail);
    i = k + path.len;
    ev->path = path.mailbox;
    ev->local = path.local;
    ev->domain = path.domain;
    check_utf8(path.mailbox.ptr, path.mailbox.len, &has8);
    if (i < n) {
        if (a[i] != ' ' || i + 1 == n)
            return error(s, 501, "5.5.4", "Syntax error in parameters");
        ev->params.ptr = a + i + 1;
        ev->params.len = n - i - 1;
    }
    /* esmtp-param *(SP esmtp-param), RFC 5321 4.1.2 */
    for (i = 0; i < ev->params.len;) {
        const char *kp = ev->params.ptr + i, *v = NULL;
        size_t kl = 0, vl = 0, j;
        while (i < ev->params.len && ev->params.ptr[i] != ' ' && ev->params.ptr[i] != '=')
            i++, kl++;
        if (i < ev->params.len && ev->params.ptr[i] == '=') {
            v = ev->params.ptr + ++i;
            while (i < ev->params.len && ev->params.ptr[i] != ' ')
                i++, vl++;
        }
        if (i < ev->params.len && ++i == ev->params.len)
            return error(s, 501, "5.5.4", "Syntax error in parameters");
        if (kl == 0 || (v && vl == 0) || !(cls((unsigned char)kp[0]) & (C_ALPHA | C_DIGIT)))
            return error(s, 501, "5.5.4", "Syntax error in parameters");
        for (j = 0; j < kl; j++)
            if (!(cls((unsigned char)kp[j]) & (C_ALPHA | C_DIGIT)) && kp[j] != '-')
                return error(s, 501, "5.5.4", "Syntax error in parameters");
        for (j = 0; j < vl; j++)
            if (v[j] < 33 || v[j] > 126 || v[j] == '=')
                return error(s, 501, "5.5.4", "Syntax error in parameters");
        if (!mail || !esmtp) {
            /* no RCPT parameters yet; none at all without EHLO */
        } else if ((ext & SMTP_EXT_SIZE) && kl == 4 && has_prefix(kp, kl, "SIZE")) {
            uint64_t size;
            /* an overflowing number is "too large" (552), never wrapped */
            if (!v || seen_size || (smtp_parse_u64(v, vl, &size) != SMTP_OK && size != UINT64_MAX))
                return error(s, 501, "5.5.4", "Syntax error in SIZE parameter");
            if (s->cfg.max_size && size > s->cfg.max_size) {
                reply(s, 552, "5.3.4", "Message size exceeds fixed maximum message size");
                return SMTP_WANT_WRITE;
            }
            seen_size = 1;
            ev->size = size;
            continue;
        } else if ((ext & SMTP_EXT_8BITMIME) && kl == 4 && has_prefix(kp, kl, "BODY")) {
            if (!v || ev->body)
                return error(s, 501, "5.5.4", "Syntax error in BODY parameter");
            if (vl == 4 && has_prefix(v, vl, "7BIT"))
                ev->body = SMTP_BODY_7BIT;
            else if (vl == 8 && has_prefix(v, vl, "8BITMIME"))
                ev->body = SMTP_BODY_8BITMIME;
            else if (vl == 10 && has_prefix(v, vl, "BINARYMIME"))
                return error(s, 504, "5.5.4", "BODY=BINARYMIME not implemented");
            else
                return error(s, 501, "5.5.4", "Syntax error in BODY parameter");
            continue;
        } else if ((ext & SMTP_EXT_SMTPUTF8) && kl == 8 && has_prefix(kp, kl, "SMTPUTF8")) {
            if (v || ev->smtputf8)
                return error(s, 501, "5.5.4", "Syntax error in SMTPUTF8 parameter");
            ev->smtputf8 = 1;
            continue;
        }
        return error(s, 555, "5.5.4", "Unsupported parameter");
    }
    if (has8 && !(mail ? ev->smtputf8 : (s->_flags & F_UTF8)))
        return path_error(s, SMTP_ERR_UTF8, mail);
    return SMTP_OK;
}

/* Queues an event that waits for a decision. */
static int ask(struct smtp_session *s, struct smtp_event *ev, int type)
{
    s->_await = (uint8_t)type;
    s->_flags &= (uint16_t)~F_DEFERRED;
    ev->type = type;
    return type;
}

static int command(struct smtp_session *s, struct smtp_event *ev)
{
    const char *l = s->_line;
    size_t n = s->_line_len, vl, v;
    const struct verb_row *row;
    uint8_t lf = s->_lflags;

    s->_lflags = 0;
    for (vl = 0; vl < n && l[vl] != ' '; vl++)
        ;
    for (v = 0; v < V_COUNT; v++)
        if (vl == strlen(verbs[v].name) && has_prefix(l, vl, verbs[v].name))
            break;
    if (s->_flags & F_SHUTDOWN) { /* smtp_shutdown(s, 0): QUIT still gets 221 */
        if (v == V_QUIT && vl == n && !lf) {
            reply(s, 221, "2.0.0", NULL);
            s->_state = ST_CLOSED;
        } else {
            reply(s, 421, "4.3.2", NULL);
        }
        return SMTP_WANT_WRITE;
    }
    if (lf & L_LONG)
        return error(s, 500, "5.5.2", "Line too long");
    if (lf & (L_BARE_CR | L_BARE_LF))
        return error(s, 500, "5.5.2", "Bare CR or LF not allowed");
    if (lf & L_NUL)
        return error(s, 500, "5.5.2", "NUL octet not allowed");
    if (s->_state == ST_REFUSED && v != V_QUIT) /* RFC 5321 3.1 */
        return error(s, 503, "5.5.1", "No SMTP service here, only QUIT");
    if (v == V_COUNT)
        return error(s, 500, "5.5.2", n ? "Syntax error, command unrecognized" : "Empty command");
    row = &verbs[v];
    if (row->impl == IMPL_NO || (row->impl == IMPL_SEND && !(s->cfg.options & SMTP_OPT_SEND)) ||
        (row->impl == IMPL_ESMTP && (s->cfg.options & SMTP_OPT_NO_ESMTP)))
        return error(s, 502, "5.5.1", NULL);
    if (!(row->states & (1u << s->_state))) {
        if (v == V_DATA && s->_state == ST_MAIL && (s->_flags & F_RCPT_TRIED)) {
            reply(s, 554, "5.5.1", "No valid recipients");
            return SMTP_WANT_WRITE;
        }
        return error(s, 503, "5.5.1",
                     s->_state == ST_INIT && v != V_RCPT && v != V_DATA ? "Send HELO/EHLO first" : NULL);
    }
    ev->arg.ptr = l + MIN(vl + 1, n);
    ev->arg.len = vl < n ? n - vl - 1 : 0;
    if (row->arg == ARG_NONE) {
        size_t i;
        for (i = 0; i < ev->arg.len && ev->arg.ptr[i] == ' '; i++)
            ;
        if (i < ev->arg.len)
            return error(s, 501, "5.5.4", "No parameters allowed");
    } else if (row->arg == ARG_REQ && ev->arg.len == 0) {
        return error(s, 501, "5.5.4", "Argument required");
    }
    switch (v) {
    case V_HELO:
    case V_EHLO:
        if (!(ev->arg.len >= 2 && ev->arg.ptr[0] == '[' ? smtp_parse_domain(ev->arg.ptr, ev->arg.len, 1) == SMTP_OK
                                                         : check_domain(ev->arg.ptr, ev->arg.len, 0, 1) == SMTP_OK))
            return error(s, 501, "5.5.4", "Invalid domain name");
        return ask(s, ev, v == V_HELO ? SMTP_EV_HELO : SMTP_EV_EHLO);
    case V_MAIL:
    case V_SEND:
    case V_SOML:
    case V_SAML: {
        int r = parse_mail_rcpt(s, ev, ev->arg.ptr, ev->arg.len, 1);
        if (r != SMTP_OK)
            return r;
        ev->mode = (uint8_t)(v == V_MAIL ? SMTP_MODE_MAIL : SMTP_MODE_SEND + (v - V_SEND));
        s->_flags = (uint16_t)((s->_flags & ~F_PEND_UTF8) | (ev->smtputf8 ? F_PEND_UTF8 : 0));
        return ask(s, ev, SMTP_EV_MAIL);
    }
    case V_RCPT: {
        int r = parse_mail_rcpt(s, ev, ev->arg.ptr, ev->arg.len, 0);
        if (r != SMTP_OK)
            return r;
        if (s->_rcpts >= s->cfg.max_rcpt) {
            reply(s, 452, "4.5.3", "Too many recipients");
            return SMTP_WANT_WRITE;
        }
        return ask(s, ev, SMTP_EV_RCPT);
    }
    case V_DATA:
        ev->rcpts = s->_rcpts;
        return ask(s, ev, SMTP_EV_DATA);
    case V_RSET:
        if (s->_state == ST_MAIL || s->_state == ST_RCPT)
            s->_state = ST_READY;
        reply(s, 250, "2.0.0", NULL);
        return ev->type = SMTP_EV_RSET;
    case V_VRFY:
    case V_EXPN: {
        int has8 = 0;
        size_t i;
        for (i = 0; i < ev->arg.len; i++)
            if (ev->arg.ptr[i] > 0 && ev->arg.ptr[i] < 32)
                break;
        if (i < ev->arg.len || !check_utf8(ev->arg.ptr, ev->arg.len, &has8) ||
            (has8 && !(s->cfg.extensions & SMTP_EXT_SMTPUTF8)))
            return error(s, 501, "5.5.4", "Invalid argument");
        return ask(s, ev, v == V_VRFY ? SMTP_EV_VRFY : SMTP_EV_EXPN);
    }
    case V_HELP:
        return ask(s, ev, SMTP_EV_HELP);
    case V_NOOP:
        reply(s, 250, "2.0.0", NULL);
        return ev->type = SMTP_EV_NOOP;
    default: /* V_QUIT: the only verb left that is implemented */
        reply(s, 221, "2.0.0", NULL);
        s->_state = ST_CLOSED;
        return ev->type = SMTP_EV_QUIT;
    }
}

/* -------------------------------------------------------------- decisions */

static int decide(struct smtp_session *s, int ev, unsigned code, const char *enh, const char *text)
{
    int ok = code < 400;
    if (!enh_ok(enh, code))
        enh = default_enh(ev, code);
    s->_await = 0;
    s->_flags &= (uint16_t)~F_DEFERRED;
    if (code == 421) {
        reply(s, 421, enh, text);
        return SMTP_OK;
    }
    switch (ev) {
    case SMTP_EV_CONNECT:
        s->_state = ok ? ST_INIT : ST_REFUSED;
        if (!text)
            text = !ok ? "No SMTP service here" : (s->cfg.options & SMTP_OPT_NO_ESMTP) ? "Service ready" : "ESMTP ready";
        put_reply(s, code, NULL, 1, text);
        return SMTP_OK;
    case SMTP_EV_HELO:
    case SMTP_EV_EHLO:
        if (ok) {
            s->_state = ST_READY;
            s->_flags = (uint16_t)((s->_flags & ~(F_ESMTP | F_UTF8 | F_RCPT_TRIED)) | (ev == SMTP_EV_EHLO ? F_ESMTP : 0));
            s->_rcpts = 0;
            if (ev == SMTP_EV_EHLO) {
                put_ehlo(s, text);
                return SMTP_OK;
            }
            put_reply(s, code, NULL, 1, text ? text : "");
            return SMTP_OK;
        }
        break;
    case SMTP_EV_MAIL:
        if (ok) {
            s->_state = ST_MAIL;
            s->_rcpts = 0;
            s->_flags = (uint16_t)((s->_flags & ~(F_UTF8 | F_RCPT_TRIED)) | ((s->_flags & F_PEND_UTF8) ? F_UTF8 : 0));
        }
        break;
    case SMTP_EV_RCPT:
        if (ok) {
            s->_rcpts++;
            s->_state = ST_RCPT;
        } else {
            s->_flags |= F_RCPT_TRIED;
        }
        break;
    case SMTP_EV_DATA:
        if (ok) {
            s->_state = ST_DATA;
            s->_dstate = D_SOL;
            s->_size = 0;
            s->_text_len = 0;
            s->_reject = SMTP_REJECT_NONE;
        }
        break;
    case SMTP_EV_DATA_END:
        s->_state = ST_READY; /* the transaction is over either way */
        break;
    default:
        break;
    }
    put_reply(s, code, enh, 0, text);
    return SMTP_OK;
}

static int code_allowed(int ev, unsigned code)
{
    const uint16_t *c;
    if (ev <= 0 || ev > SMTP__EV_LAST || !decisions[ev].codes)
        return 0;
    for (c = decisions[ev].codes; *c; c++)
        if (*c == code)
            return 1;
    return 0;
}

/* ------------------------------------------------------------ DATA phase */

static const char crlf[] = "\r\n";

static void refuse(struct smtp_session *s, unsigned why)
{
    if (why > s->_reject)
        s->_reject = (uint8_t)why;
}

/* Hands out a chunk of message data, cut at max_size octets so that what
 * is delivered does not depend on the chunking.  Returns 1 when an event
 * was produced. */
static int body(struct smtp_session *s, struct smtp_event *ev, const char *p, size_t n)
{
    uint64_t max = s->cfg.max_size;
    if (s->_reject == SMTP_REJECT_SIZE)
        return 0;
    if (max && n > max - s->_size) {
        n = (size_t)(max - s->_size);
        refuse(s, SMTP_REJECT_SIZE);
    }
    if (n == 0)
        return 0;
    s->_size += n;
    ev->type = SMTP_EV_BODY;
    ev->data.ptr = p;
    ev->data.len = n;
    return 1;
}

static void text_add(struct smtp_session *s, size_t n)
{
    if (n > s->cfg.max_text_line - s->_text_len) {
        s->_text_len = s->cfg.max_text_line;
        refuse(s, SMTP_REJECT_LONG_LINE);
    } else {
        s->_text_len += (uint32_t)n;
    }
}

/* A bare CR or LF.  Returns the octets to hand out in its place: itself,
 * CRLF when normalising, and itself in strict mode too (the message is
 * refused at its end anyway). */
static const char *bare(struct smtp_session *s, const char *self)
{
    uint32_t o = s->cfg.options;
    if (o & SMTP_OPT_BARE_NORMALIZE)
        return crlf;
    if (!(o & SMTP_OPT_BARE_KEEP))
        refuse(s, SMTP_REJECT_BARE);
    if (o & (SMTP_OPT_BARE_KEEP | SMTP_OPT_BARE_NORMALIZE))
        s->_text_len = 0; /* a physical line ends here, for the length limit */
    return self;
}

static int data_end(struct smtp_session *s, struct smtp_event *ev)
{
    ev->type = SMTP_EV_DATA_END;
    ev->size = s->_size;
    ev->rcpts = s->_rcpts;
    ev->reject = s->_reject;
    if (s->_reject) {
        s->_state = ST_READY;
        if (s->_reject == SMTP_REJECT_SIZE)
            reply(s, 552, "5.3.4", "Message size exceeds fixed maximum message size");
        else if (s->_reject == SMTP_REJECT_LONG_LINE)
            reply(s, 554, "5.6.0", "Message line too long");
        else
            reply(s, 554, "5.6.0", "Message contains bare CR or LF");
        return SMTP_EV_DATA_END;
    }
    return ask(s, ev, SMTP_EV_DATA_END);
}

/* Scans mail data (RFC 5321 4.5.2).  Only CRLF "." CRLF ends it; a bare CR
 * or LF never ends a line, so "<LF>.<LF>" and its kin stay data.  Runs of
 * plain data go out as spans of the caller's buffer; a stuffed dot splits
 * a run, and a CR held over from the previous call goes out from `crlf`. */
static int data_feed(struct smtp_session *s, const char *p, size_t len, size_t *used, struct smtp_event *ev)
{
    size_t i = 0, run = 0;
    int normalize = (s->cfg.options & SMTP_OPT_BARE_NORMALIZE) != 0;

#define EMIT_RUN(upto, consumed)                                  \
    do {                                                          \
        if (body(s, ev, p + run, (upto) - run)) {                 \
            *used = (consumed);                                   \
            return SMTP_EV_BODY;                                  \
        }                                                         \
    } while (0)

    while (i < len) {
        switch (s->_dstate) {
        case D_SOL:
            if (p[i] == '.') {
                text_add(s, 1);
                s->_dstate = D_DOT;
                EMIT_RUN(i, i + 1);
                run = ++i;
            } else {
                s->_dstate = D_MID;
            }
            break;
        case D_DOT:
            if (p[i] == '\r') {
                text_add(s, 1);
                s->_dstate = D_DOTCR;
                run = ++i;
            } else {
                s->_dstate = D_MID; /* the dot is dropped: unstuffed */
                run = i;
            }
            break;
        case D_DOTCR:
            if (p[i] == '\n') {
                *used = i + 1;
                return data_end(s, ev);
            }
            /* "." CR x: the dot was stuffing, the CR is bare */
            s->_dstate = D_MID;
            {
                const char *b = bare(s, "\r");
                if (body(s, ev, b, strlen(b))) {
                    *used = i;
                    return SMTP_EV_BODY;
                }
            }
            run = i;
            break;
        case D_CR: /* a CR that ended the previous input */
            if (p[i] == '\n') {
                text_add(s, 1);
                s->_dstate = D_SOL;
                s->_text_len = 0;
                if (body(s, ev, crlf, 2)) {
                    *used = i + 1;
                    return SMTP_EV_BODY;
                }
                run = ++i;
            } else {
                const char *b = bare(s, "\r");
                s->_dstate = D_MID;
                if (body(s, ev, b, strlen(b))) {
                    *used = i;
                    return SMTP_EV_BODY;
                }
                run = i;
            }
            break;
        default: { /* D_MID: skip to the next CR or LF at memchr speed */
            const char *lf = memchr(p + i, '\n', len - i);
            size_t end = lf ? (size_t)(lf - p) : len;
            const char *cr = memchr(p + i, '\r', end - i);
            size_t stop = cr ? (size_t)(cr - p) : end;
            text_add(s, stop - i);
            i = stop;
            if (i == len)
                break;
            if (p[i] == '\r' && i + 1 == len) { /* hold it: CRLF or bare? */
                text_add(s, 1);
                s->_dstate = D_CR;
                EMIT_RUN(i, i + 1);
                run = ++i;
                break;
            }
            if (p[i] == '\r' && p[i + 1] == '\n') {
                text_add(s, 2);
                i += 2;
                s->_dstate = D_SOL;
                s->_text_len = 0;
                break;
            }
            /* bare CR (followed by something else) or bare LF */
            text_add(s, 1);
            if (normalize) {
                EMIT_RUN(i, i);
                bare(s, NULL);
                if (body(s, ev, crlf, 2)) {
                    *used = i + 1;
                    return SMTP_EV_BODY;
                }
                run = i + 1;
            } else {
                bare(s, NULL);
            }
            i++;
            break;
        }
        }
    }
    EMIT_RUN(len, len);
#undef EMIT_RUN
    *used = len;
    return SMTP_NEED_INPUT;
}

/* ------------------------------------------------------------ public API */

SMTP_API void smtp_config_default(struct smtp_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->hostname = "localhost";
    cfg->extensions = SMTP_EXT_DEFAULT;
    cfg->max_line = SMTP_LINE_MAX;
    cfg->max_rcpt = SMTP_RCPT_MAX;
    cfg->max_text_line = SMTP_TEXT_LINE_MAX;
    cfg->max_errors = 10;
}

SMTP_API void smtp_init(struct smtp_session *s, const struct smtp_config *cfg)
{
    struct smtp_config d;
    smtp_config_default(&d);
    memset(s, 0, sizeof *s);
    s->cfg = cfg ? *cfg : d;
    if (!s->cfg.hostname)
        s->cfg.hostname = d.hostname;
    if (s->cfg.max_line == 0 || s->cfg.max_line > SMTP_LINE_MAX)
        s->cfg.max_line = SMTP_LINE_MAX;
    if (s->cfg.max_line < 16)
        s->cfg.max_line = 16;
    if (s->cfg.max_rcpt == 0 || s->cfg.max_rcpt > SMTP_RCPT_MAX)
        s->cfg.max_rcpt = SMTP_RCPT_MAX;
    if (s->cfg.max_text_line == 0 || s->cfg.max_text_line > SMTP_TEXT_LINE_MAX)
        s->cfg.max_text_line = SMTP_TEXT_LINE_MAX;
    if (s->cfg.max_text_line < 3)
        s->cfg.max_text_line = 3;
    if (s->cfg.max_errors == 0)
        s->cfg.max_errors = d.max_errors;
    if (s->cfg.options & SMTP_OPT_NO_ESMTP)
        s->cfg.extensions = 0;
    s->_state = ST_GREET;
}

SMTP_API int smtp_feed(struct smtp_session *s, const void *buf, size_t len, size_t *consumed, struct smtp_event *ev)
{
    const char *p = (const char *)buf;
    size_t i = 0, room, dummy_used;
    struct smtp_event dummy_ev;

    if (!ev)
        ev = &dummy_ev;
    if (!consumed)
        consumed = &dummy_used;
    memset(ev, 0, sizeof *ev);
    *consumed = 0;
    if (s->_await) {
        if (s->_flags & F_DEFERRED)
            return SMTP_PENDING;
        decide(s, s->_await, decisions[s->_await].dflt, NULL, NULL);
    }
    if (s->_out_len)
        return s->_state == ST_CLOSED ? SMTP_CLOSED : SMTP_WANT_WRITE;
    if (s->_state == ST_CLOSED)
        return SMTP_CLOSED;
    if (s->_state == ST_GREET)
        return ask(s, ev, SMTP_EV_CONNECT);
    if (s->_state == ST_DATA) {
        int r = data_feed(s, p, len, consumed, ev);
        return r;
    }
    /* Command mode: assemble one line, at most max_line - 2 octets kept. */
    room = (size_t)s->cfg.max_line - 2;
    while (i < len) {
        size_t st = i, k;
        int ended = 0;
        if (s->_lflags & L_CR) {
            s->_lflags &= (uint8_t)~L_CR;
            if (p[i] == '\n') {
                i++;
                ended = 1;
            } else {
                s->_lflags |= L_BARE_CR;
            }
        }
        if (!ended) {
            for (; i < len; i++) {
                char c = p[i];
                if (c == '\r' || c == '\n' || c == '\0')
                    break;
            }
            k = MIN(i - st, room - MIN(room, s->_line_len));
            memcpy(s->_line + s->_line_len, p + st, k);
            s->_line_len = (uint16_t)(s->_line_len + k);
            if (k < i - st)
                s->_lflags |= L_LONG;
            if (i == len)
                break;
            if (p[i] == '\0') {
                s->_lflags |= L_NUL;
                i++;
                continue;
            }
            if (p[i++] == '\r') {
                s->_lflags |= L_CR;
                continue;
            }
            if (!(s->cfg.options & SMTP_OPT_LF_LINES))
                s->_lflags |= L_BARE_LF;
        }
        /* a whole line: run it */
        {
            int r;
            *consumed = i;
            r = command(s, ev);
            s->_line_len = 0;
            if (r != SMTP_OK)
                return r;
        }
    }
    *consumed = len;
    return SMTP_NEED_INPUT;
}

SMTP_API int smtp_reply(struct smtp_session *s, unsigned code, const char *enh, const char *text)
{
    if (!s->_await)
        return SMTP_ERR_STATE;
    if (!code_allowed(s->_await, code))
        return SMTP_ERR_CODE;
    return decide(s, s->_await, code, enh, text);
}

SMTP_API int smtp_defer(struct smtp_session *s)
{
    if (!s->_await)
        return SMTP_ERR_STATE;
    s->_flags |= F_DEFERRED;
    return SMTP_OK;
}

SMTP_API const char *smtp_output(const struct smtp_session *s, size_t *len)
{
    *len = (size_t)(s->_out_len - s->_out_off);
    return *len ? s->_out + s->_out_off : NULL;
}

SMTP_API void smtp_output_done(struct smtp_session *s, size_t n)
{
    s->_out_off = (uint16_t)(s->_out_off + MIN(n, (size_t)(s->_out_len - s->_out_off)));
    if (s->_out_off == s->_out_len) {
        s->_out_off = s->_out_len = 0;
        if (s->_flags & F_PEND_421) {
            s->_flags &= (uint16_t)~F_PEND_421;
            reply(s, 421, "4.3.2", NULL);
        }
    }
}

SMTP_API void smtp_shutdown(struct smtp_session *s, int now)
{
    if (s->_state == ST_CLOSED)
        return;
    if (!now) {
        s->_flags |= F_SHUTDOWN;
        return;
    }
    s->_await = 0;
    if (s->_out_off) { /* make room behind what is still unsent */
        memmove(s->_out, s->_out + s->_out_off, (size_t)(s->_out_len - s->_out_off));
        s->_out_len = (uint16_t)(s->_out_len - s->_out_off);
        s->_out_off = 0;
    }
    if (s->_out_len) {
        s->_flags |= F_PEND_421;
        s->_state = ST_CLOSED;
    } else {
        reply(s, 421, "4.3.2", NULL);
    }
}

SMTP_API int smtp_closed(const struct smtp_session *s)
{
    return s->_state == ST_CLOSED;
}

SMTP_API const char *smtp_event_name(int ev)
{
    switch (ev) {
#define X(name, num, desc) case num: return #name;
        SMTP_EVENT_MAP(X)
#undef X
    }
    return "?";
}

SMTP_API const char *smtp_event_desc(int ev)
{
    switch (ev) {
#define X(name, num, desc) case num: return desc;
        SMTP_EVENT_MAP(X)
#undef X
    }
    return "?";
}

SMTP_API const char *smtp_err_name(int err)
{
    switch (err) {
#define X(name, num, desc) case num: return #name;
        SMTP_ERR_MAP(X)
#undef X
    }
    return "?";
}

SMTP_API const char *smtp_err_desc(int err)
{
    switch (err) {
#define X(name, num, desc) case num: return desc;
        SMTP_ERR_MAP(X)
#undef X
    }
    return "?";
}
