/*
 * smtp.c - the SMTP protocol core.  The contract is in smtp.h; this file
 * only says why.  Layout: tables (sequencing, replies), reply writer,
 * argument parsers, commands, decisions, DATA/BDAT/AUTH input, public API.
 *
 * MIT licensed, see LICENSE.
 */
#include "smtp.h"

#include <string.h>

#define MIN(a, b) ((a) < (b) ? (a) : (b))

/* SMTP_TERSE: reply texts are left out (RFC 5321 4.2 makes them optional)
 * to save about 3 KiB of flash. */
#ifdef SMTP_TERSE
#define TXT(s) ""
#else
#define TXT(s) s
#endif
#define REPLY_LINE 512 /* RFC 5321 4.5.3.1.5, CRLF included */

/* Extensions compiled in: a zero here removes the bit at smtp_init(), and
 * the compiler drops the code behind `if (HAS_x && ...)`. */
#ifdef SMTP_NO_CHUNKING
#define HAS_CHUNKING 0
#else
#define HAS_CHUNKING 1
#endif
#ifdef SMTP_NO_STARTTLS
#define HAS_STARTTLS 0
#else
#define HAS_STARTTLS 1
#endif
#ifdef SMTP_NO_AUTH
#define HAS_AUTH 0
#else
#define HAS_AUTH 1
#endif
#ifdef SMTP_NO_DSN
#define HAS_DSN 0
#else
#define HAS_DSN 1
#endif
#ifdef SMTP_NO_SMTPUTF8
#define HAS_UTF8 0
#else
#define HAS_UTF8 1
#endif

/* ------------------------------------------------------------------ states */

enum state {
    ST_GREET,   /* before the greeting decision */
    ST_INIT,    /* greeted, no HELO/EHLO yet */
    ST_READY,   /* HELO/EHLO done, no transaction */
    ST_MAIL,    /* MAIL accepted, no recipient yet */
    ST_RCPT,    /* at least one recipient accepted */
    ST_DATA,    /* receiving mail data after DATA */
    ST_BDAT,    /* receiving the octets of a BDAT chunk */
    ST_AUTH,    /* AUTH: waiting for a response line to a 334 */
    ST_TLS,     /* STARTTLS answered 220: discarding until smtp_tls_done() */
    ST_REFUSED, /* greeting was 554: only QUIT works (RFC 5321 3.1) */
    ST_CLOSED
};
#define B(st) (1u << ST_##st)
#define IN_SESSION (B(INIT) | B(READY) | B(MAIL) | B(RCPT))

enum flag {
    F_ESMTP = 1u << 0,       /* last accepted greeting was EHLO */
    F_UTF8 = 1u << 1,        /* transaction gave SMTPUTF8 */
    F_PEND_UTF8 = 1u << 2,   /* MAIL waiting for a decision gave SMTPUTF8 */
    F_RCPT_TRIED = 1u << 3,  /* a RCPT was refused in this transaction */
    F_DEFERRED = 1u << 4,    /* smtp_defer() was called */
    F_SHUTDOWN = 1u << 5,    /* smtp_shutdown(s, 0): next command gets 421 */
    F_PEND_421 = 1u << 6,    /* smtp_shutdown(s, 1) found the buffer full */
    F_TLS = 1u << 7,         /* smtp_tls_done() was called */
    F_AUTHED = 1u << 8,      /* AUTH succeeded */
    F_BDAT = 1u << 9,        /* transaction has taken a BDAT chunk */
    F_BINARY = 1u << 10,     /* transaction is BODY=BINARYMIME */
    F_PEND_BINARY = 1u << 11,/* MAIL waiting for a decision is BINARYMIME */
    F_LAST = 1u << 12,       /* the BDAT chunk being taken is the LAST */
    F_LOGIN = 1u << 13,      /* AUTH LOGIN (else PLAIN) */
    F_LOGIN_PASS = 1u << 14  /* AUTH LOGIN has the user, wants the password */
};
#define F_TRANSACTION (F_UTF8 | F_RCPT_TRIED | F_BDAT | F_BINARY)

enum lflag { /* what was wrong with the command line being assembled */
    L_CR = 1u << 0, /* last octet was CR */
    L_LONG = 1u << 1,
    L_BARE_CR = 1u << 2,
    L_BARE_LF = 1u << 3,
    L_NUL = 1u << 4
};

enum dstate { D_SOL, D_MID, D_CR, D_DOT, D_DOTCR };

/* ------------------------------------------------------ sequencing table */

/* The RFC 821 4.3 command list with RFC 5321's sequencing: the states in
 * which each verb is in sequence (503 otherwise), its argument, and what it
 * needs to be implemented (502 otherwise).  sequence() adds the rules that
 * depend on more than the state (EHLO for BDAT and AUTH, DATA after BDAT). */
enum arg { ARG_NONE, ARG_OPT, ARG_REQ };
enum need { N_NONE, N_SEND, N_ESMTP, N_NEVER, N_EXT };

#define VERB_MAP(X)                                                          \
    /*  verb        states in sequence         argument  needs  extension */ \
    X(HELO, "HELO", IN_SESSION, ARG_REQ, N_NONE, 0)                          \
    X(EHLO, "EHLO", IN_SESSION, ARG_REQ, N_ESMTP, 0)                         \
    X(MAIL, "MAIL", B(READY), ARG_REQ, N_NONE, 0)                            \
    X(RCPT, "RCPT", B(MAIL) | B(RCPT), ARG_REQ, N_NONE, 0)                   \
    X(DATA, "DATA", B(RCPT), ARG_NONE, N_NONE, 0)                            \
    X(RSET, "RSET", IN_SESSION, ARG_NONE, N_NONE, 0)                         \
    X(SEND, "SEND", B(READY), ARG_REQ, N_SEND, 0)                            \
    X(SOML, "SOML", B(READY), ARG_REQ, N_SEND, 0)                            \
    X(SAML, "SAML", B(READY), ARG_REQ, N_SEND, 0)                            \
    X(VRFY, "VRFY", IN_SESSION, ARG_REQ, N_NONE, 0)                          \
    X(EXPN, "EXPN", IN_SESSION, ARG_REQ, N_NONE, 0)                          \
    X(HELP, "HELP", IN_SESSION, ARG_OPT, N_NONE, 0)                          \
    X(NOOP, "NOOP", IN_SESSION, ARG_OPT, N_NONE, 0)                          \
    X(QUIT, "QUIT", IN_SESSION | B(REFUSED), ARG_NONE, N_NONE, 0)            \
    X(TURN, "TURN", IN_SESSION, ARG_NONE, N_NEVER, 0)                        \
    X(BDAT, "BDAT", B(RCPT), ARG_REQ, N_EXT, SMTP_EXT_CHUNKING)              \
    X(AUTH, "AUTH", B(READY), ARG_REQ, N_EXT, SMTP_EXT_AUTH)                 \
    X(STARTTLS, "STARTTLS", B(INIT) | B(READY), ARG_NONE, N_EXT, SMTP_EXT_STARTTLS)

enum verb {
#define X(v, name, states, arg, need, ext) V_##v,
    VERB_MAP(X)
#undef X
    V_COUNT
};

static const struct verb_row {
    char name[9];
    uint8_t arg, need;
    uint16_t states, ext;
} verbs[V_COUNT] = {
#define X(v, name, states, arg, need, ext) {name, arg, need, (uint16_t)(states), (uint16_t)(ext)},
    VERB_MAP(X)
#undef X
};

/* The replies an application may give to each decision: RFC 5321 4.3.2
 * and RFC 821 4.3 together, 421 everywhere, plus the extension RFCs. */
static const uint16_t codes_connect[] = {220, 421, 554, 0};
static const uint16_t codes_helo[] = {250, 421, 501, 504, 550, 0};
static const uint16_t codes_mail[] = {250, 421, 451, 452, 455, 501, 503, 550, 552, 553, 555, 0};
static const uint16_t codes_rcpt[] = {250, 251, 421, 450, 451, 452, 455, 501, 503, 550, 551, 552, 553, 555, 0};
static const uint16_t codes_data[] = {354, 421, 451, 503, 554, 0};
static const uint16_t codes_data_end[] = {250, 421, 450, 451, 452, 550, 552, 554, 0};
static const uint16_t codes_vrfy[] = {250, 251, 252, 421, 501, 502, 504, 550, 551, 553, 0};
static const uint16_t codes_expn[] = {250, 252, 421, 500, 501, 502, 504, 550, 0};
static const uint16_t codes_help[] = {211, 214, 421, 501, 502, 504, 0};
static const uint16_t codes_starttls[] = {220, 421, 454, 501, 0};           /* RFC 3207 4 */
static const uint16_t codes_auth[] = {235, 421, 432, 454, 501, 534, 535, 538, 0}; /* RFC 4954 6 */

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
    [SMTP_EV_STARTTLS] = {codes_starttls, 220},
    [SMTP_EV_AUTH] = {codes_auth, 535}, /* fail closed */
};

#ifndef SMTP_TERSE
/* Default reply texts, after RFC 5321 4.2.2 and the extension RFCs. */
static const struct {
    uint16_t code;
    const char *text;
} texts[] = {
    {211, "System status"},
    {214, "Commands: HELO EHLO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP"},
    {220, "Ready to start TLS"}, /* the greeting has its own text */
    {221, "Service closing transmission channel"},
    {235, "Authentication successful"},
    {250, "OK"},
    {251, "User not local; will forward"},
    {252, "Cannot VRFY user, but will accept message and attempt delivery"},
    {354, "End data with <CR><LF>.<CR><LF>"},
    {421, "Service not available, closing transmission channel"},
    {432, "A password transition is needed"},
    {450, "Requested mail action not taken: mailbox unavailable"},
    {451, "Requested action aborted: local error in processing"},
    {452, "Requested action not taken: insufficient system storage"},
    {455, "Server unable to accommodate parameters"},
    {454, "Temporary failure"},
    {500, "Syntax error, command unrecognized"},
    {501, "Syntax error in parameters or arguments"},
    {502, "Command not implemented"},
    {503, "Bad sequence of commands"},
    {504, "Command parameter not implemented"},
    {534, "Authentication mechanism is too weak"},
    {535, "Authentication credentials invalid"},
    {538, "Encryption required for requested authentication mechanism"},
    {550, "Requested action not taken: mailbox unavailable"},
    {551, "User not local"},
    {552, "Requested mail action aborted: exceeded storage allocation"},
    {553, "Requested action not taken: mailbox name not allowed"},
    {554, "Transaction failed"},
    {555, "MAIL FROM/RCPT TO parameters not recognized or not implemented"},
    {0, ""}, /* every code the core or smtp_reply() can send is above */
};
#endif

static const char *default_text(unsigned code)
{
#ifndef SMTP_TERSE
    size_t i;
    for (i = 0; texts[i].code && texts[i].code != code; i++)
        ;
    return texts[i].text;
#else
    (void)code;
    return "";
#endif
}

/* RFC 3463 / RFC 4954 codes for replies the application left without one:
 * the first row matching the code and (if set) the event wins. */
static const struct {
    uint16_t code;
    uint8_t ev;
    char enh[7];
} enhs[] = {
    {250, SMTP_EV_MAIL, "2.1.0"}, {250, SMTP_EV_RCPT, "2.1.5"}, {251, 0, "2.1.5"},  {235, 0, "2.7.0"},
    {421, 0, "4.3.2"},            {432, 0, "4.7.12"},           {450, 0, "4.2.1"},  {451, 0, "4.3.0"},
    {452, 0, "4.3.1"},            {455, 0, "4.5.4"},            {454, SMTP_EV_AUTH, "4.7.0"}, {454, SMTP_EV_STARTTLS, "4.7.0"},
    {500, 0, "5.5.2"},            {501, 0, "5.5.4"},            {504, 0, "5.5.4"},  {555, 0, "5.5.4"},
    {502, 0, "5.5.1"},            {503, 0, "5.5.1"},            {534, 0, "5.7.9"},  {535, 0, "5.7.8"},
    {538, 0, "5.7.11"},           {550, SMTP_EV_RCPT, "5.1.1"}, {550, 0, "5.7.1"},  {551, 0, "5.1.6"},
    {552, SMTP_EV_RCPT, "5.2.2"}, {552, 0, "5.3.4"},            {553, SMTP_EV_MAIL, "5.1.7"},
    {553, 0, "5.1.3"},
};

static const char *default_enh(int ev, unsigned code)
{
    size_t i;
    for (i = 0; i < sizeof enhs / sizeof enhs[0]; i++)
        if (enhs[i].code == code && (!enhs[i].ev || enhs[i].ev == ev))
            return enhs[i].enh;
    return code < 300 ? "2.0.0" : code < 400 ? NULL : code < 500 ? "4.0.0" : "5.0.0";
}

/* ------------------------------------------------------ character classes */

/* Octet classes (RFC 5321 4.1.2, RFC 5322 3.2.3): locale-free, sign-safe,
 * one load per octet.  STOP marks what ends a run of command-line text. */
enum { C_ALPHA = 1, C_DIGIT = 2, C_ATEXT = 4, C_QTEXT = 8, C_PRINT = 16, C_STOP = 32, C_HEX = 64 };
static const uint8_t ctab[256] = {
    32, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0, 32, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    24, 28, 16, 28, 28, 28, 28, 28, 24, 24, 28, 28, 24, 28, 24, 28,    /*  !"#$%&'()*+,-./ */
    94, 94, 94, 94, 94, 94, 94, 94, 94, 94, 24, 24, 24, 28, 24, 28,    /* 0-9 :;<=>? */
    24, 93, 93, 93, 93, 93, 93, 29, 29, 29, 29, 29, 29, 29, 29, 29,    /* @A-O */
    29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 24, 16, 24, 28, 28,    /* P-Z[\]^_ */
    28, 93, 93, 93, 93, 93, 93, 29, 29, 29, 29, 29, 29, 29, 29, 29,    /* `a-o */
    29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 28, 28, 28, 28, 0,     /* p-z{|}~ DEL */
};
#define IS(c, k) (ctab[(unsigned char)(c)] & (k))

static int upper(int c) { return c >= 'a' && c <= 'z' ? c - 32 : c; }

/* Case-insensitive: does p[0..n) start with the upper-case literal w? */
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

/* Case-insensitive: is p[0..n) exactly w? */
static int is_word(const char *p, size_t n, const char *w)
{
    return n == strlen(w) && has_prefix(p, n, w);
}

/* SP, and HTAB unless SMTP_OPT_STRICT_SPACES: what separates the words of
 * a command line. */
static int is_blank(const struct smtp_session *s, char c)
{
    return c == ' ' || (c == '\t' && !(s->cfg.options & SMTP_OPT_STRICT_SPACES));
}

/* The index after the blanks at p[i..n): one SP at most under
 * SMTP_OPT_STRICT_SPACES (a missing or a second one is left for the caller
 * to refuse), any run of SP and HTAB otherwise. */
static size_t skip_blanks(const struct smtp_session *s, const char *p, size_t i, size_t n)
{
    if (s->cfg.options & SMTP_OPT_STRICT_SPACES)
        return i < n && p[i] == ' ' ? i + 1 : i;
    while (i < n && is_blank(s, p[i]))
        i++;
    return i;
}

/* Length of the well-formed UTF-8 sequence at p[0..n) (RFC 3629), or 0:
 * no overlongs, no surrogates, nothing above U+10FFFF. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    unsigned c, lo = 0x80, hi = 0xbf;
    size_t len, i;
    if (!HAS_UTF8) /* SMTP_NO_SMTPUTF8: no 8-bit octet is ever accepted */
        return 0;
    c = p[0];
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

/* Any octet >= 0x80 in p[0..n) must start well-formed UTF-8; *has8 is set
 * when there is one.  Returns 0 for malformed input. */
static int check_utf8(const char *p, size_t n, int *has8)
{
    size_t i = 0, l;
    while (i < n) {
        if ((unsigned char)p[i] < 0x80) {
            i++;
            continue;
        }
        if ((l = utf8_len((const unsigned char *)p + i, n - i)) == 0)
            return 0;
        *has8 = 1;
        i += l;
    }
    return 1;
}

/* ------------------------------------------------------------ the writer */

static size_t copy_text(char *o, size_t room, const char *t, size_t n)
{
    size_t i;
    n = MIN(n, room);
    for (i = 0; i < n; i++)
        o[i] = IS(t[i], C_PRINT) ? t[i] : '?';
    return n;
}

/* class "." 1*3digit "." 1*3digit, the class matching the code */
static int enh_ok(const char *e, unsigned code)
{
    size_t i = 2, part, d;
    if (!e || code < 200 || code >= 600 || code / 100 == 3 || e[0] != (char)('0' + code / 100) || e[1] != '.')
        return 0;
    for (part = 0; part < 2; part++) {
        for (d = 0; e[i] >= '0' && e[i] <= '9'; d++)
            i++;
        if (d < 1 || d > 3 || e[i++] != (part ? '\0' : '.'))
            return 0;
    }
    return 1;
}

/* Appends the line "code-[enh ][host ]text" CRLF, at most 512 octets, and
 * leaves `keep` octets of the buffer free.  Only the text is ever cut: when
 * the code, the enhanced code (RFC 2034 3: it prefaces every line), the
 * hostname and at least one octet of a non-empty text do not fit, nothing
 * is written.  Returns the offset of the '-' (0: nothing written), which
 * the caller turns into ' ' on the last line of a reply. */
static size_t add_line(struct smtp_session *s, unsigned code, const char *enh, int host, const char *t,
                       size_t tl, size_t keep)
{
    char *o = s->_out;
    const char *h = s->cfg.hostname;
    size_t len = s->_out_len, el = enh ? strlen(enh) + 1 : 0, hl = host ? MIN(strlen(h), (size_t)255) : 0;
    size_t need = 4 + el + hl + (hl && tl) + (tl != 0) + 2, end, sep;
    if (SMTP_REPLY_MAX - len < keep || SMTP_REPLY_MAX - len - keep < need)
        return 0;
    end = MIN((size_t)SMTP_REPLY_MAX - keep, len + REPLY_LINE) - 2;
    o[len++] = (char)('0' + code / 100);
    o[len++] = (char)('0' + code / 10 % 10);
    o[len++] = (char)('0' + code % 10);
    sep = len;
    o[len++] = '-';
    if (enh) {
        len += copy_text(o + len, el - 1, enh, el - 1);
        o[len++] = ' ';
    }
    if (host) {
        len += copy_text(o + len, hl, h, hl);
        if (tl)
            o[len++] = ' ';
    }
    len += copy_text(o + len, end - len, t, tl);
    o[len++] = '\r';
    o[len++] = '\n';
    s->_out_len = (uint16_t)len;
    return sep;
}

/* Appends one reply; '\n' in text separates lines.  The last line written
 * always gets "code SP", so what goes out is well formed whatever the text
 * and however much of it fits. */
static void put_reply(struct smtp_session *s, unsigned code, const char *enh, int host, const char *text)
{
    const char *t = text ? text : default_text(code);
    size_t sep = 0, s2;

    /* RFC 2034: enhanced codes only once EHLO has advertised them; the
     * core's own are well formed and decide() checked the application's */
    if (!(s->_flags & F_ESMTP) || !(s->cfg.extensions & SMTP_EXT_ENHANCEDSTATUSCODES))
        enh = NULL;
    for (;;) {
        size_t tl = strlen(t);
        const char *nl = memchr(t, '\n', tl);
        if ((s2 = add_line(s, code, enh, host, t, nl ? (size_t)(nl - t) : tl, 0)) == 0)
            break;
        sep = s2;
        host = 0;
        if (!nl)
            break;
        t = nl + 1;
    }
    if (sep)
        s->_out[sep] = ' ';
}

/* A reply of the core's own. */
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
        reply(s, 421, "4.7.0", TXT("Error: too many errors"));
    else
        reply(s, code, enh, text);
    return SMTP_WANT_WRITE;
}

static size_t put_num(char *o, uint64_t v)
{
    char d[20];
    size_t k = 0, n = 0;
    do
        d[k++] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    while (k)
        o[n++] = d[--k];
    return n;
}

/* The EHLO reply: hostname (and the first line of text) first, then one
 * keyword a line.  The keywords are measured first and their room kept, so
 * the application's text is what gets cut, never a keyword or its value:
 * a 255-octet hostname and every keyword with the largest values take 462
 * octets, within the 512 that SMTP_REPLY_MAX guarantees. */
static void put_ehlo(struct smtp_session *s, const char *text)
{
    static const struct {
        uint16_t ext;
        char kw[20];
    } kws[] = {
        {SMTP_EXT_PIPELINING, "PIPELINING"},
        {SMTP_EXT_SIZE, "SIZE"},
        {SMTP_EXT_8BITMIME, "8BITMIME"},
        {SMTP_EXT_ENHANCEDSTATUSCODES, "ENHANCEDSTATUSCODES"},
        {SMTP_EXT_SMTPUTF8, "SMTPUTF8"},
        {SMTP_EXT_LIMITS, "LIMITS RCPTMAX="},
        {SMTP_EXT_CHUNKING, "CHUNKING"},
        {SMTP_EXT_BINARYMIME, "BINARYMIME"},
        {SMTP_EXT_STARTTLS, "STARTTLS"},
        {SMTP_EXT_AUTH, "AUTH PLAIN LOGIN"},
        {SMTP_EXT_DSN, "DSN"},
    };
    uint32_t e = s->cfg.extensions;
    size_t i, sep, pass, keep = 0, tl = text ? strlen(text) : 0;
    const char *nl = text ? memchr(text, '\n', tl) : NULL;

    if (s->_flags & F_TLS)
        e &= ~(uint32_t)SMTP_EXT_STARTTLS; /* RFC 3207 4.2 */
    if (!(s->_flags & F_TLS) && !(s->cfg.options & SMTP_OPT_AUTH_PLAINTEXT))
        e &= ~(uint32_t)SMTP_EXT_AUTH; /* not usable yet: don't offer it */
    sep = 0;
    for (pass = 0; pass < 2; pass++) { /* pass 0 measures, pass 1 writes */
        if (pass == 1)
            sep = add_line(s, 250, NULL, 1, text ? text : "", nl ? (size_t)(nl - text) : tl, keep);
        for (i = 0; i < sizeof kws / sizeof kws[0]; i++) {
            char kw[48];
            size_t n = strlen(kws[i].kw), s2;
            if (!(e & kws[i].ext))
                continue;
            memcpy(kw, kws[i].kw, n);
            if (kws[i].ext == SMTP_EXT_SIZE && s->cfg.max_size) {
                kw[n++] = ' ';
                n += put_num(kw + n, s->cfg.max_size);
            } else if (kws[i].ext == SMTP_EXT_LIMITS) {
                n += put_num(kw + n, s->cfg.max_rcpt);
            }
            if (pass == 0)
                keep += 4 + n + 2;
            else if ((s2 = add_line(s, 250, NULL, 0, kw, n, 0)) != 0)
                sep = s2;
        }
    }
    if (sep)
        s->_out[sep] = ' ';
}

/* --------------------------------------------------------- argument parsers */

/* A Domain (RFC 5321 4.1.2): dot-separated labels of letters, digits and
 * inner hyphens, 1-63 octets each.  has8 != NULL: well-formed UTF-8 counts
 * as letters (U-labels, RFC 6531) and sets *has8.  under: '_' is allowed
 * (HELO/EHLO names only). */
static int check_domain(const char *p, size_t n, int *has8, int under)
{
    size_t i, lab = 0, l;
    if (n > SMTP_DOMAIN_MAX)
        return SMTP_ERR_DOMAIN_LEN;
    if (n == 0)
        return SMTP_ERR_SYNTAX;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '.') {
            if (lab == 0 || p[i - 1] == '-')
                return SMTP_ERR_SYNTAX;
            lab = 0;
            continue;
        }
        if (c >= 0x80) {
            if (!has8 || (l = utf8_len((const unsigned char *)p + i, n - i)) == 0)
                return SMTP_ERR_UTF8;
            *has8 = 1;
            i += l - 1;
            lab += l - 1;
        } else if (!IS(c, C_ALPHA | C_DIGIT) && !(under && c == '_') && !(c == '-' && lab > 0)) {
            return SMTP_ERR_SYNTAX;
        }
        if (++lab > 63)
            return SMTP_ERR_DOMAIN_LEN;
    }
    return (lab == 0 || p[n - 1] == '-') ? SMTP_ERR_SYNTAX : SMTP_OK;
}

static int hexval(int c)
{
    /* the class test first: c | 0x20 alone would turn 0x14 into '4' */
    if (!IS(c, C_HEX))
        return -1;
    c |= 0x20;
    return c <= '9' ? c - '0' : c - 'a' + 10;
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

/* RFC 5321 IPv6-addr: full, compressed ("::" once, for at least two
 * groups) and both with a trailing IPv4 address. */
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
        if (i < n && p[i] == '.') { /* the IPv4 tail ends the address */
            if (!check_ipv4(p + st, n - st))
                return 0;
            groups += 2;
            break;
        }
        if (d == 0 || d > 4)
            return 0;
        groups++;
        if (i == n)
            break;
        if (p[i++] != ':' || i == n)
            return 0;
        if (p[i] == ':') {
            if (dbl)
                return 0;
            dbl = 1;
            i++;
        }
    }
    return dbl ? groups <= 6 : groups == 8;
}

/* address-literal without the brackets: IPv4, "IPv6:", or tag ":" dcontent */
static int check_literal(const char *p, size_t n)
{
    size_t i, tag;
    if (n && IS(p[0], C_DIGIT))
        return check_ipv4(p, n);
    if (has_prefix(p, n, "IPV6:"))
        return check_ipv6(p + 5, n - 5);
    for (tag = 0; tag < n && p[tag] != ':'; tag++)
        if (!IS(p[tag], C_ALPHA | C_DIGIT) && p[tag] != '-')
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
        return p[n - 1] == ']' && n <= SMTP_DOMAIN_MAX && check_literal(p + 1, n - 2) ? SMTP_OK : SMTP_ERR_SYNTAX;
    return check_domain(p, n, NULL, 0);
}

/* The octet at p[*i] in a path, which is not ASCII text: with utf8, the
 * start of a well-formed UTF-8 sequence, which *i then steps over.  Returns
 * 1 for that, 0 for an ASCII octet that is a syntax error, -1 for 8-bit
 * octets that are malformed or not allowed (SMTP_ERR_UTF8). */
static int step8(const char *p, size_t n, size_t *i, int utf8, int *has8)
{
    size_t l;
    if ((unsigned char)p[*i] < 0x80)
        return 0;
    if (!utf8 || (l = utf8_len((const unsigned char *)p + *i, n - *i)) == 0)
        return -1;
    *has8 = 1;
    *i += l - 1;
    return 1;
}

/* smtp_parse_path(), also saying whether the path had 8-bit octets. */
static int parse_path(const char *p, size_t n, unsigned flags, struct smtp_path *out, int *has8)
{
    size_t i = 1, st, at;
    int utf8 = HAS_UTF8 && (flags & SMTP_PATH_UTF8), r;

    memset(out, 0, sizeof *out);
    out->mailbox.ptr = out->local.ptr = out->domain.ptr = p;
    if (n < 2 || p[0] != '<')
        return SMTP_ERR_SYNTAX;
    if (p[1] == '>') {
        out->len = 2;
        return (flags & SMTP_PATH_NULL_OK) ? SMTP_OK : SMTP_ERR_SYNTAX;
    }
    if (p[1] == '@') { /* A-d-l: "@" Domain *("," "@" Domain) ":", ignored */
        for (;;) {
            st = ++i;
            while (i < n && p[i] != ',' && p[i] != ':' && p[i] != '>')
                i++;
            if (i >= n || p[i] == '>')
                return SMTP_ERR_SYNTAX;
            if ((r = check_domain(p + st, i - st, NULL, 0)) != SMTP_OK)
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
            if (i >= n)
                return SMTP_ERR_SYNTAX;
            if (p[i] == '"')
                break;
            if (p[i] == '\\') {
                if (++i >= n || !IS(p[i], C_PRINT))
                    return SMTP_ERR_SYNTAX;
            } else if (!IS(p[i], C_QTEXT) && (r = step8(p, n, &i, utf8, has8)) <= 0) {
                return r ? SMTP_ERR_UTF8 : SMTP_ERR_SYNTAX;
            }
        }
        i++;
    } else { /* Dot-string: atoms joined by single dots */
        int dot = 1;
        for (; i < n && p[i] != '@' && p[i] != '>'; i++) {
            if (p[i] == '.') {
                if (dot)
                    return SMTP_ERR_SYNTAX;
                dot = 1;
                continue;
            }
            if (!IS(p[i], C_ATEXT) && (r = step8(p, n, &i, utf8, has8)) <= 0)
                return r ? SMTP_ERR_UTF8 : SMTP_ERR_SYNTAX;
            dot = 0;
        }
        if (dot)
            return SMTP_ERR_SYNTAX;
    }
    out->local.ptr = out->mailbox.ptr = p + st;
    out->local.len = i - st;
    if (i < n && p[i] == '>' && (flags & SMTP_PATH_POSTMASTER) && is_word(p + st, i - st, "POSTMASTER")) {
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
        if ((r = check_domain(p + at, i - at, utf8 ? has8 : NULL, 0)) != SMTP_OK)
            return r;
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
    return out->len > SMTP_PATH_MAX ? SMTP_ERR_PATH_LEN : SMTP_OK;
}

SMTP_API int smtp_parse_path(const char *p, size_t n, unsigned flags, struct smtp_path *out)
{
    int has8 = 0;
    return parse_path(p, n, flags, out, &has8);
}

SMTP_API int smtp_parse_u64(const char *p, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    size_t i;
    int over = 0;
    *out = 0;
    if (n == 0)
        return SMTP_ERR_SYNTAX;
    for (i = 0; i < n; i++) { /* every octet is checked, also past an overflow */
        unsigned d = (unsigned)(unsigned char)p[i] - '0';
        if (d > 9)
            return SMTP_ERR_SYNTAX;
        if (v > (UINT64_MAX - d) / 10)
            over = 1;
        v = v * 10 + d;
    }
    *out = over ? UINT64_MAX : v; /* "too large", never a wrapped small number */
    return over ? SMTP_ERR_SYNTAX : SMTP_OK;
}

SMTP_API long smtp_xtext_decode(const char *p, size_t n, char *out, size_t cap)
{
    size_t i, o = 0;
    for (i = 0; i < n; i++) {
        int c = (unsigned char)p[i];
        if (c < 33 || c > 126 || c == '=')
            return -1;
        if (c == '+') { /* hexchar: "+" and two upper-case hex digits */
            if (i + 2 >= n || hexval(p[i + 1]) < 0 || hexval(p[i + 2]) < 0 || p[i + 1] >= 'a' || p[i + 2] >= 'a')
                return -1;
            c = hexval(p[i + 1]) * 16 + hexval(p[i + 2]);
            i += 2;
        }
        if (out) {
            if (o >= cap)
                return -1;
            out[o] = (char)c;
        }
        o++;
    }
    return (long)o;
}

/* --------------------------------------------------------- MAIL and RCPT */

/* Reports a path error: 501 for syntax and lengths (RFC 5321 4.5.3.1.10),
 * 501 5.6.7 for malformed UTF-8, and 553 5.6.7 for UTF-8 in a transaction
 * that did not announce SMTPUTF8 (RFC 6531 3.5). */
static int path_error(struct smtp_session *s, int r, int mail)
{
    const char *enh = mail ? "5.1.7" : "5.1.3"; /* RFC 3463: sender, recipient */
    switch (r) {
    case SMTP_ERR_LOCAL_LEN: return error(s, 501, enh, TXT("Local part too long"));
    case SMTP_ERR_DOMAIN_LEN: return error(s, 501, enh, TXT("Domain too long"));
    case SMTP_ERR_PATH_LEN: return error(s, 501, enh, TXT("Path too long"));
    case SMTP_ERR_UTF8: return error(s, 501, "5.6.7", TXT("Malformed or unannounced UTF-8 in address"));
    case 1:
        reply(s, 553, "5.6.7", TXT("Non-ASCII address needs SMTPUTF8"));
        return SMTP_WANT_WRITE;
    default:
        return error(s, 501, enh, mail ? TXT("Bad sender address syntax") : TXT("Bad recipient address syntax"));
    }
}

/* The ESMTP parameters this core knows: which command, which extension. */
enum param { P_SIZE, P_BODY, P_UTF8, P_RET, P_ENVID, P_AUTH, P_NOTIFY, P_ORCPT };
static const struct {
    char name[9];
    uint8_t mail; /* 1 MAIL, 0 RCPT */
    uint16_t ext;
} params[] = {
    [P_SIZE] = {"SIZE", 1, SMTP_EXT_SIZE},     [P_BODY] = {"BODY", 1, SMTP_EXT_8BITMIME},
    [P_UTF8] = {"SMTPUTF8", 1, SMTP_EXT_SMTPUTF8}, [P_RET] = {"RET", 1, SMTP_EXT_DSN},
    [P_ENVID] = {"ENVID", 1, SMTP_EXT_DSN},    [P_AUTH] = {"AUTH", 1, SMTP_EXT_AUTH},
    [P_NOTIFY] = {"NOTIFY", 0, SMTP_EXT_DSN},  [P_ORCPT] = {"ORCPT", 0, SMTP_EXT_DSN},
};

/* xtext of 1..max octets that decodes to SP and printable US-ASCII only
 * (RFC 3461 4.2, 4.4; RFC 4954 5): a decoded CR, LF or other control octet
 * would let a DSN or a header built from the value be split. */
static int xtext_ok(const char *v, size_t n, size_t max)
{
    size_t i;
    if (n == 0 || n > max || smtp_xtext_decode(v, n, NULL, 0) < 0)
        return 0;
    for (i = 0; i < n; i++) { /* the decoder checked that "+XX" is whole */
        int c = v[i] == '+' ? hexval(v[i + 1]) * 16 + hexval(v[i + 2]) : ' ';
        if (c < ' ' || c > '~')
            return 0;
        if (v[i] == '+')
            i += 2;
    }
    return 1;
}

/* One known parameter's value.  Returns SMTP_OK, or the reply already
 * queued (SMTP_WANT_WRITE). */
static int param(struct smtp_session *s, struct smtp_event *ev, unsigned id, const char *v, size_t vl)
{
    size_t i;
    switch (id) {
    case P_SIZE:
        /* an overflowing number is "too large" (552), never wrapped */
        if (!v || (smtp_parse_u64(v, vl, &ev->size) != SMTP_OK && ev->size != UINT64_MAX))
            break;
        if (s->cfg.max_size && ev->size > s->cfg.max_size) {
            reply(s, 552, "5.3.4", TXT("Message size exceeds fixed maximum message size"));
            return SMTP_WANT_WRITE;
        }
        return SMTP_OK;
    case P_BODY:
        if (v && is_word(v, vl, "7BIT"))
            ev->body = SMTP_BODY_7BIT;
        else if (v && is_word(v, vl, "8BITMIME"))
            ev->body = SMTP_BODY_8BITMIME;
        else if (v && is_word(v, vl, "BINARYMIME")) {
            if (!HAS_CHUNKING || (s->cfg.extensions & (SMTP_EXT_BINARYMIME | SMTP_EXT_CHUNKING)) !=
                                     (SMTP_EXT_BINARYMIME | SMTP_EXT_CHUNKING))
                return error(s, 504, "5.5.4", TXT("BODY=BINARYMIME not implemented"));
            ev->body = SMTP_BODY_BINARYMIME;
        } else
            break;
        return SMTP_OK;
    case P_UTF8:
        ev->smtputf8 = 1;
        return v ? error(s, 501, "5.5.4", TXT("SMTPUTF8 takes no value")) : SMTP_OK;
    case P_AUTH: /* RFC 4954 5: xtext or "<>" */
        if (!HAS_AUTH || !v || !((vl == 2 && v[0] == '<' && v[1] == '>') || xtext_ok(v, vl, 500)))
            break;
        ev->auth.ptr = v;
        ev->auth.len = vl;
        return SMTP_OK;
    case P_RET: /* RFC 3461 4.3 */
        ev->ret = (uint8_t)(!HAS_DSN || !v ? 0 : is_word(v, vl, "FULL") ? SMTP_RET_FULL : is_word(v, vl, "HDRS") ? SMTP_RET_HDRS : 0);
        if (!ev->ret)
            break;
        return SMTP_OK;
    case P_ENVID: /* RFC 3461 4.4: xtext, at most 100 characters */
        if (!HAS_DSN || !v || !xtext_ok(v, vl, 100))
            break;
        ev->envid.ptr = v;
        ev->envid.len = vl;
        return SMTP_OK;
    case P_NOTIFY: /* RFC 3461 4.1: NEVER, or a list of the other three */
        for (i = 0; HAS_DSN && v && i <= vl;) { /* element *("," element): ends at vl */
            static const char *const words[] = {"NEVER", "SUCCESS", "FAILURE", "DELAY"};
            size_t j = i, w;
            while (j < vl && v[j] != ',')
                j++;
            for (w = 0; w < 4 && !is_word(v + i, j - i, words[w]); w++)
                ;
            if (w == 4 || (ev->notify & (1u << w)))
                break; /* unknown, empty (",," or a trailing ",") or repeated */
            ev->notify = (uint8_t)(ev->notify | (1u << w));
            i = j + 1;
        }
        if (!v || i != vl + 1 || ((ev->notify & SMTP_NOTIFY_NEVER) && ev->notify != SMTP_NOTIFY_NEVER))
            break;
        return SMTP_OK;
    case P_ORCPT: /* RFC 3461 4.2: addr-type ";" xtext */
        for (i = 0; HAS_DSN && v && i < vl && v[i] != ';'; i++)
            if (!IS(v[i], C_ALPHA | C_DIGIT) && v[i] != '-')
                break;
        if (!v || i == 0 || i >= vl || v[i] != ';' || !xtext_ok(v + i + 1, vl - i - 1, 500))
            break;
        ev->orcpt.ptr = v;
        ev->orcpt.len = vl;
        return SMTP_OK;
    }
    return error(s, 501, "5.5.4", TXT("Syntax error in parameter value"));
}

/* The digits of a SIZE= value without leading zeros, for comparing two
 * values that both saturated at UINT64_MAX. */
static void size_digits(const char **v, size_t *vl)
{
    while (*vl > 1 && **v == '0')
        ++*v, --*vl;
}

/* The first SIZE= value in the parameters p[0..n) (it is there: SIZE was
 * seen before). */
static void first_size(const struct smtp_session *s, const char *p, size_t n, const char **v, size_t *vl)
{
    size_t i = 0, j;
    for (;;) {
        for (j = i; j < n && !is_blank(s, p[j]); j++)
            ;
        if (has_prefix(p + i, j - i, "SIZE=") || j == n) {
            *v = p + i + 5;
            *vl = j - i - 5;
            return;
        }
        i = skip_blanks(s, p, j, n);
    }
}

/* A parameter given again (smtplib repeats SMTPUTF8) is accepted when both
 * mean the same, as Postfix and Exim do; one that conflicts gets 501. */
static int param_again(struct smtp_session *s, struct smtp_event *ev, unsigned id, const char *v, size_t vl)
{
    const struct smtp_span *sp = id == P_ENVID ? &ev->envid : id == P_AUTH ? &ev->auth : &ev->orcpt;
    struct smtp_span old = *sp;
    uint64_t size = ev->size;
    uint8_t body = ev->body, ret = ev->ret, notify = ev->notify;
    int r;
    if (id == P_NOTIFY)
        ev->notify = 0; /* param() refuses a NOTIFY word it has seen */
    if ((r = param(s, ev, id, v, vl)) != SMTP_OK)
        return r;
    if (id == P_SIZE && size == UINT64_MAX && ev->size == UINT64_MAX) { /* both too large */
        const char *f;
        size_t fl;
        first_size(s, ev->params.ptr, ev->params.len, &f, &fl);
        size_digits(&f, &fl);
        size_digits(&v, &vl);
        if (fl != vl || memcmp(f, v, vl) != 0)
            size = 0; /* numbers that differ, both above UINT64_MAX */
    }
    if (size != ev->size || body != ev->body || ret != ev->ret || notify != ev->notify ||
        ((id == P_ENVID || id == P_AUTH || id == P_ORCPT) &&
         (old.len != sp->len || memcmp(old.ptr, sp->ptr, old.len) != 0)))
        return error(s, 501, "5.5.4", TXT("Conflicting duplicate parameter"));
    return SMTP_OK;
}

/* Parses "FROM:<path> params" / "TO:<path> params" into ev: esmtp-param
 * *(SP esmtp-param) (RFC 5321 4.1.2), with runs of blanks where one SP
 * stands unless SMTP_OPT_STRICT_SPACES. */
static int mail_rcpt(struct smtp_session *s, struct smtp_event *ev, int mail)
{
    const char *a = ev->arg.ptr, *q;
    size_t n = ev->arg.len, i, m;
    struct smtp_path path;
    int r, has8 = 0, esmtp = (s->_flags & F_ESMTP) != 0;
    unsigned flags = mail ? SMTP_PATH_NULL_OK : SMTP_PATH_POSTMASTER, seen = 0;

    if (!has_prefix(a, n, mail ? "FROM:" : "TO:"))
        return error(s, 501, "5.5.4", mail ? TXT("Syntax: MAIL FROM:<address>") : TXT("Syntax: RCPT TO:<address>"));
    i = mail ? 5 : 3;
    if (!(s->cfg.options & SMTP_OPT_STRICT_SPACES)) /* "FROM: <a@b>" */
        i = skip_blanks(s, a, i, n);
    if (esmtp && (s->cfg.extensions & SMTP_EXT_SMTPUTF8))
        flags |= SMTP_PATH_UTF8;
    if ((r = parse_path(a + i, n - i, flags, &path, &has8)) != SMTP_OK)
        return path_error(s, r, mail);
    ev->path = path.mailbox;
    ev->local = path.local;
    ev->domain = path.domain;
    i += path.len;
    if (i < n) {
        size_t j = skip_blanks(s, a, i, n);
        if (j == i || j == n)
            return error(s, 501, "5.5.4", TXT("Syntax error in parameters"));
        ev->params.ptr = a + j;
        ev->params.len = n - j;
    }
    for (q = ev->params.ptr, m = ev->params.len, i = 0; i < m;) {
        const char *kp = q + i, *v = NULL;
        size_t kl = 0, vl = 0, j;
        unsigned id;
        while (i < m && !is_blank(s, q[i]) && q[i] != '=')
            i++, kl++;
        if (i < m && q[i] == '=') {
            v = q + ++i;
            while (i < m && !is_blank(s, q[i]))
                i++, vl++;
        }
        if ((i < m && (i = skip_blanks(s, q, i, m)) == m) || kl == 0 || (v && vl == 0) ||
            !IS(kp[0], C_ALPHA | C_DIGIT))
            return error(s, 501, "5.5.4", TXT("Syntax error in parameters"));
        for (j = 0; j < kl; j++)
            if (!IS(kp[j], C_ALPHA | C_DIGIT) && kp[j] != '-')
                return error(s, 501, "5.5.4", TXT("Syntax error in parameters"));
        for (j = 0; j < vl; j++)
            if (v[j] < 33 || v[j] > 126 || v[j] == '=')
                return error(s, 501, "5.5.4", TXT("Syntax error in parameters"));
        for (id = 0; id < sizeof params / sizeof params[0]; id++)
            if (params[id].mail == mail && (s->cfg.extensions & params[id].ext) && is_word(kp, kl, params[id].name))
                break;
        if (!esmtp || id == sizeof params / sizeof params[0]) /* none without EHLO */
            return error(s, 555, "5.5.4", TXT("Unsupported parameter"));
        r = (seen & (1u << id)) ? param_again(s, ev, id, v, vl) : param(s, ev, id, v, vl);
        if (r != SMTP_OK)
            return r;
        seen |= 1u << id;
    }
    if (has8 && !(mail ? ev->smtputf8 : (s->_flags & F_UTF8)))
        return path_error(s, 1, mail);
    return SMTP_OK;
}

/* ------------------------------------------------------------- commands */

/* Queues an event that waits for a decision. */
static int ask(struct smtp_session *s, struct smtp_event *ev, int type)
{
    s->_await = (uint8_t)type;
    s->_flags &= (uint16_t)~F_DEFERRED;
    return ev->type = type;
}

/* Answers a command that needs no decision and reports it. */
static int tell(struct smtp_session *s, struct smtp_event *ev, int type, unsigned code)
{
    reply(s, code, "2.0.0", NULL);
    if (code == 221)
        s->_state = ST_CLOSED;
    return ev->type = type;
}

static int data_end(struct smtp_session *s, struct smtp_event *ev);

#ifndef SMTP_NO_CHUNKING
/* The size of a BDAT chunk (RFC 3030 2), read before anything else about
 * the command: whatever the answer, that many octets after the line are the
 * chunk, never commands (go-smtp #315).  A chunk that cannot be located (a
 * size that cannot be read, or a line that was not kept whole) leaves no way
 * to tell data from commands: the session ends, with 421 (RFC 5321 3.8). */
static int bdat_size(struct smtp_session *s, struct smtp_event *ev, unsigned lf)
{
    const char *a = ev->arg.ptr;
    size_t d = 0;
    uint64_t size;
    while (d < ev->arg.len && !is_blank(s, a[d]))
        d++;
    if (lf || (ev->arg.len && smtp_parse_u64(a, d, &size) != SMTP_OK)) {
        reply(s, 421, "4.5.4", TXT("Cannot read BDAT size, closing transmission channel"));
        return SMTP_WANT_WRITE;
    }
    s->_chunk = ev->arg.len ? size : 0;
    return SMTP_OK;
}

/* BDAT <size> [LAST], in sequence and allowed: the chunk is taken as data. */
static int bdat(struct smtp_session *s, struct smtp_event *ev)
{
    const char *a = ev->arg.ptr;
    size_t n = ev->arg.len, d = 0, k;
    while (d < n && !is_blank(s, a[d]))
        d++;
    k = skip_blanks(s, a, d, n);
    if (d < n && !is_word(a + k, n - k, "LAST"))
        return error(s, 501, "5.5.4", TXT("Syntax: BDAT size [LAST]"));
    if (s->cfg.max_size && s->_chunk > s->cfg.max_size - s->_size) {
        /* the transaction has failed: tell the application as at the end */
        s->_reject = SMTP_REJECT_SIZE;
        ev->arg.len = 0;
        return data_end(s, ev);
    }
    if (!(s->_flags & F_BDAT))
        s->_size = 0;
    s->_state = ST_BDAT;
    s->_flags = (uint16_t)((s->_flags & ~F_LAST) | F_BDAT | (d < n ? F_LAST : 0));
    ev->size = s->_chunk;
    ev->last = d < n;
    return ev->type = SMTP_EV_BDAT;
}
#endif

#ifndef SMTP_NO_AUTH
/* Strict base64 (RFC 4648 4) decoded in place: no characters outside the
 * alphabet, a length that is a multiple of 4, '=' only at the end and zero
 * pad bits.  Returns the decoded length or -1. */
static long b64_decode(char *p, size_t n)
{
    size_t i, o = 0, pad = 0;
    uint32_t acc = 0;
    if (n % 4)
        return -1;
    for (i = 0; i < n; i++) {
        int c = (unsigned char)p[i], v;
        if (c >= 'A' && c <= 'Z') v = c - 'A';
        else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
        else if (c >= '0' && c <= '9') v = c - '0' + 52;
        else if (c == '+') v = 62;
        else if (c == '/') v = 63;
        else if (c == '=' && i >= n - 2 && (pad || i == n - 1 || p[n - 1] == '=')) v = 0, pad++;
        else return -1;
        acc = acc << 6 | (uint32_t)v;
        if (i % 4 == 3) {
            if ((pad == 1 && (acc & 0xff)) || (pad == 2 && (acc & 0xffff)))
                return -1; /* non-zero pad bits */
            p[o++] = (char)(acc >> 16);
            if (pad < 2) p[o++] = (char)(acc >> 8);
            if (pad < 1) p[o++] = (char)acc;
            acc = 0;
        }
    }
    return (long)o;
}

static const char b64_user[] = "VXNlcm5hbWU6", b64_pass[] = "UGFzc3dvcmQ6"; /* "Username:", "Password:" */

/* One SASL response (RFC 4954 4): "*" cancels, "=" is empty, else base64.
 * PLAIN gives the whole answer at once; LOGIN the user, then the password. */
static int auth_response(struct smtp_session *s, struct smtp_event *ev, char *r, size_t n)
{
    long dl;
    size_t i, z1, z2;
    if (n == 1 && r[0] == '*') {
        s->_state = ST_READY;
        return error(s, 501, "5.7.0", TXT("Authentication cancelled"));
    }
    dl = (n == 1 && r[0] == '=') ? 0 : b64_decode(r, n);
    if (dl < 0) {
        s->_state = ST_READY;
        return error(s, 501, "5.5.2", TXT("Cannot decode base64"));
    }
    n = (size_t)dl;
    ev->mech = (uint8_t)((s->_flags & F_LOGIN) ? 2 : 1);
    ev->arg.ptr = (s->_flags & F_LOGIN) ? "LOGIN" : "PLAIN";
    ev->arg.len = 5;
    ev->auth.ptr = ev->user.ptr = ev->pass.ptr = r;
    if (s->_flags & F_LOGIN) {
        if (!(s->_flags & F_LOGIN_PASS)) {
            if (n > SMTP_AUTH_USER_MAX || !n) {
                s->_state = ST_READY;
                return error(s, 501, "5.5.4", TXT("Invalid user name"));
            }
            memcpy(s->_auth, r, n);
            s->_auth_len = (uint8_t)n;
            s->_flags |= F_LOGIN_PASS;
            s->_state = ST_AUTH;
            put_reply(s, 334, NULL, 0, b64_pass);
            return SMTP_WANT_WRITE;
        }
        ev->user.ptr = s->_auth;
        ev->user.len = s->_auth_len;
        ev->pass.len = n;
    } else { /* RFC 4616: [authzid] NUL authcid NUL passwd */
        for (z1 = 0; z1 < n && r[z1]; z1++)
            ;
        for (z2 = z1 + 1; z2 < n && r[z2]; z2++)
            ;
        for (i = z2 + 1; i < n && r[i]; i++)
            ;
        if (z2 >= n || i != n || z2 == z1 + 1 || z2 + 1 == n) {
            s->_state = ST_READY;
            return error(s, 501, "5.5.2", TXT("Invalid PLAIN response"));
        }
        ev->auth.len = z1;
        ev->user.ptr = r + z1 + 1;
        ev->user.len = z2 - z1 - 1;
        ev->pass.ptr = r + z2 + 1;
        ev->pass.len = n - z2 - 1;
    }
    s->_state = ST_READY;
    return ask(s, ev, SMTP_EV_AUTH);
}

/* AUTH mechanism [initial-response] (RFC 4954 4) */
static int auth(struct smtp_session *s, struct smtp_event *ev)
{
    const char *a = ev->arg.ptr;
    size_t n = ev->arg.len, m = 0, k;
    while (m < n && !is_blank(s, a[m]))
        m++;
    k = skip_blanks(s, a, m, n);
    if (!(s->_flags & F_TLS) && !(s->cfg.options & SMTP_OPT_AUTH_PLAINTEXT)) {
        reply(s, 538, "5.7.11", NULL);
        return SMTP_WANT_WRITE;
    }
    s->_flags &= (uint16_t)~(F_LOGIN | F_LOGIN_PASS);
    if (is_word(a, m, "LOGIN"))
        s->_flags |= F_LOGIN;
    else if (!is_word(a, m, "PLAIN"))
        return error(s, 504, "5.5.4", TXT("Unrecognized authentication type"));
    if (m < n) /* initial response */
        return auth_response(s, ev, s->_line + (a - s->_line) + k, n - k);
    s->_state = ST_AUTH;
    put_reply(s, 334, NULL, 0, (s->_flags & F_LOGIN) ? b64_user : "");
    return SMTP_WANT_WRITE;
}
#endif

/* Whether verb v may come now (RFC 5321 4.1.4 and 3.3, RFC 3030 2 and 3,
 * RFC 4954 4, RFC 3207 4.2); otherwise the refusal, already queued.  It is
 * checked before the argument, so a command out of sequence gets 503
 * whatever its argument. */
static int sequence(struct smtp_session *s, unsigned v)
{
    uint16_t f = s->_flags;
    if ((v == V_BDAT || (v == V_AUTH && s->_state == ST_READY)) && !(f & F_ESMTP) && s->_state != ST_INIT)
        return error(s, 503, "5.5.1", TXT("Send EHLO first")); /* RFC 3030 2, RFC 4954 4 */
    if (verbs[v].states & (1u << s->_state)) {
        if (v == V_DATA && (f & (F_BDAT | F_BINARY)))
            return error(s, 503, "5.5.1", (f & F_BDAT) ? TXT("DATA after BDAT") : TXT("BINARYMIME needs BDAT"));
        if (v == V_AUTH && (f & F_AUTHED))
            return error(s, 503, "5.5.1", TXT("Already authenticated"));
        if (v == V_STARTTLS && (f & F_TLS))
            return error(s, 503, "5.5.1", TXT("TLS already active"));
        return SMTP_OK;
    }
    if ((v == V_DATA || v == V_BDAT) && s->_state == ST_MAIL && (f & F_RCPT_TRIED)) {
        reply(s, 554, "5.5.1", TXT("No valid recipients"));
        return SMTP_WANT_WRITE;
    }
    return error(s, 503, "5.5.1", s->_state == ST_INIT && v != V_RCPT && v != V_DATA ? TXT("Send HELO/EHLO first") : NULL);
}

static int command(struct smtp_session *s, struct smtp_event *ev)
{
    const char *l = s->_line;
    size_t n = s->_line_len, vl, v;
    const struct verb_row *row;
    uint8_t lf = s->_lflags;
    uint32_t o = s->cfg.options;
    int r;

    s->_lflags = 0;
    if (!(o & SMTP_OPT_STRICT_SPACES)) /* trailing blanks carry nothing */
        while (n && is_blank(s, l[n - 1]))
            n--;
    for (vl = 0; vl < n && !is_blank(s, l[vl]); vl++)
        ;
    {
        char up[9]; /* the verb upper-cased, compared with each row's name */
        for (v = 0; v < vl && v < 8; v++)
            up[v] = (char)upper((unsigned char)l[v]);
        up[v] = '\0';
        for (v = 0; vl <= 8 && v < V_COUNT && memcmp(up, verbs[v].name, vl + 1) != 0; v++)
            ;
        if (vl > 8)
            v = V_COUNT;
    }
    ev->arg.ptr = l + skip_blanks(s, l, vl, n);
    ev->arg.len = n - (size_t)(ev->arg.ptr - l);
    if (s->_flags & F_SHUTDOWN) { /* smtp_shutdown(s, 0): QUIT still gets 221 */
        if (v == V_QUIT && vl == n && !lf)
            return tell(s, ev, SMTP_EV_QUIT, 221);
        reply(s, 421, "4.3.2", NULL);
        return SMTP_WANT_WRITE;
    }
#ifndef SMTP_NO_AUTH
    if (s->_state == ST_AUTH) { /* the line is a SASL response, not a command */
        ev->arg.len = 0;
        if (lf) {
            s->_state = ST_READY;
            return error(s, 500, "5.5.6", TXT("Authentication Exchange line is too long or malformed"));
        }
        return auth_response(s, ev, s->_line, s->_line_len);
    }
#endif
#ifndef SMTP_NO_CHUNKING
    if (v == V_BDAT && (s->cfg.extensions & SMTP_EXT_CHUNKING) && (r = bdat_size(s, ev, lf)) != SMTP_OK)
        return r;
#endif
    if (lf & L_LONG)
        return error(s, 500, "5.5.2", TXT("Line too long"));
    if (lf & (L_BARE_CR | L_BARE_LF))
        return error(s, 500, "5.5.2", TXT("Bare CR or LF not allowed"));
    if (lf & L_NUL)
        return error(s, 500, "5.5.2", TXT("NUL octet not allowed"));
    if (s->_state == ST_REFUSED && v != V_QUIT) /* RFC 5321 3.1 */
        return error(s, 503, "5.5.1", TXT("No SMTP service here, only QUIT"));
    if (v == V_COUNT)
        return error(s, 500, "5.5.2", n ? TXT("Command unrecognized") : TXT("Empty command"));
    row = &verbs[v];
    if (row->need == N_NEVER || (row->need == N_SEND && !(o & SMTP_OPT_SEND)) ||
        (row->need == N_ESMTP && (o & SMTP_OPT_NO_ESMTP)) || (row->need == N_EXT && !(s->cfg.extensions & row->ext)))
        return error(s, 502, "5.5.1", NULL);
    if ((r = sequence(s, (unsigned)v)) != SMTP_OK)
        return r;
    if ((o & SMTP_OPT_REQUIRE_TLS) && HAS_STARTTLS && !(s->_flags & F_TLS) &&
        (v == V_MAIL || v == V_SEND || v == V_SOML || v == V_SAML || v == V_AUTH)) {
        reply(s, 530, "5.7.0", TXT("Must issue a STARTTLS command first"));
        return SMTP_WANT_WRITE;
    }
    if (row->arg == ARG_NONE && vl < n)
        return error(s, 501, "5.5.4", TXT("No parameters allowed"));
    if (row->arg == ARG_REQ && ev->arg.len == 0)
        return error(s, 501, "5.5.4", TXT("Argument required"));
#ifndef SMTP_NO_CHUNKING
    if (v == V_BDAT)
        return bdat(s, ev);
#endif
#ifndef SMTP_NO_AUTH
    if (v == V_AUTH)
        return auth(s, ev);
#endif
    switch (v) {
    case V_HELO:
    case V_EHLO:
        if (ev->arg.ptr[0] == '[' ? smtp_parse_domain(ev->arg.ptr, ev->arg.len, 1) != SMTP_OK
                                  : check_domain(ev->arg.ptr, ev->arg.len, NULL, 1) != SMTP_OK)
            return error(s, 501, "5.5.4", TXT("Invalid domain name"));
        return ask(s, ev, v == V_HELO ? SMTP_EV_HELO : SMTP_EV_EHLO);
    case V_MAIL:
    case V_SEND:
    case V_SOML:
    case V_SAML:
        if ((r = mail_rcpt(s, ev, 1)) != SMTP_OK)
            return r;
        ev->mode = (uint8_t)(v == V_MAIL ? SMTP_MODE_MAIL : SMTP_MODE_SEND + (v - V_SEND));
        s->_flags = (uint16_t)((s->_flags & ~(F_PEND_UTF8 | F_PEND_BINARY)) | (ev->smtputf8 ? F_PEND_UTF8 : 0) |
                               (ev->body == SMTP_BODY_BINARYMIME ? F_PEND_BINARY : 0));
        return ask(s, ev, SMTP_EV_MAIL);
    case V_RCPT:
        if ((r = mail_rcpt(s, ev, 0)) != SMTP_OK)
            return r;
        if (s->_rcpts >= s->cfg.max_rcpt) {
            reply(s, 452, "4.5.3", TXT("Too many recipients"));
            return SMTP_WANT_WRITE;
        }
        return ask(s, ev, SMTP_EV_RCPT);
    case V_DATA:
        ev->rcpts = s->_rcpts;
        return ask(s, ev, SMTP_EV_DATA);
    case V_RSET:
        if (s->_state == ST_MAIL || s->_state == ST_RCPT)
            s->_state = ST_READY;
        s->_flags &= (uint16_t)~F_TRANSACTION;
        return tell(s, ev, SMTP_EV_RSET, 250);
    case V_VRFY:
    case V_EXPN: {
        int has8 = 0;
        size_t i;
        for (i = 0; i < ev->arg.len && (unsigned char)ev->arg.ptr[i] >= 32; i++)
            ;
        if (i < ev->arg.len || !check_utf8(ev->arg.ptr, ev->arg.len, &has8) ||
            (has8 && !(s->cfg.extensions & SMTP_EXT_SMTPUTF8)))
            return error(s, 501, "5.5.4", TXT("Invalid argument"));
        return ask(s, ev, v == V_VRFY ? SMTP_EV_VRFY : SMTP_EV_EXPN);
    }
    case V_HELP:
    case V_NOOP: {
        size_t i; /* String (RFC 5321 4.1.2): printable ASCII only */
        for (i = 0; i < ev->arg.len && IS(ev->arg.ptr[i], C_PRINT); i++)
            ;
        if (i < ev->arg.len)
            return error(s, 501, "5.5.4", TXT("Invalid argument"));
        return v == V_HELP ? ask(s, ev, SMTP_EV_HELP) : tell(s, ev, SMTP_EV_NOOP, 250);
    }
    case V_STARTTLS: /* RFC 3207 4; unreachable (502 above) with SMTP_NO_STARTTLS */
        return ask(s, ev, SMTP_EV_STARTTLS);
    default: /* V_QUIT: every other verb answered 502 above */
        return tell(s, ev, SMTP_EV_QUIT, 221);
    }
}

/* -------------------------------------------------------------- decisions */

#ifndef SMTP_NO_AUTH
static void wipe_auth(struct smtp_session *s)
{
    memset(s->_auth, 0, sizeof s->_auth);
    memset(s->_line, 0, sizeof s->_line);
    s->_auth_len = 0;
}
#endif

static int decide(struct smtp_session *s, int ev, unsigned code, const char *enh, const char *text)
{
    int ok = code < 400;
    if (!enh_ok(enh, code))
        enh = default_enh(ev, code);
    s->_await = 0;
    s->_flags &= (uint16_t)~F_DEFERRED;
#ifndef SMTP_NO_AUTH
    if (ev == SMTP_EV_AUTH) {
        wipe_auth(s);
        /* password guessing: past max_auth_fails refusals the session ends */
        if (code >= 500 && ++s->_auth_fails > s->cfg.max_auth_fails && s->cfg.max_auth_fails != 255) {
            code = 421;
            enh = "4.7.0";
            text = TXT("Too many authentication failures");
        }
    }
#endif
    if (ev == SMTP_EV_DATA_END)
        s->_state = ST_READY; /* the transaction is over either way */
    if (code == 421) {
        reply(s, 421, enh, text);
        return SMTP_OK;
    }
    switch (ev) {
    case SMTP_EV_CONNECT:
        s->_state = ok ? ST_INIT : ST_REFUSED;
        if (!text)
            text = !ok ? TXT("No SMTP service here") : (s->cfg.options & SMTP_OPT_NO_ESMTP) ? TXT("Service ready") : TXT("ESMTP ready");
        put_reply(s, code, NULL, 1, text);
        return SMTP_OK;
    case SMTP_EV_HELO:
    case SMTP_EV_EHLO:
        if (!ok)
            break;
        /* RFC 5321 4.1.4: an accepted HELO/EHLO also resets like RSET */
        s->_state = ST_READY;
        s->_flags = (uint16_t)((s->_flags & ~(F_ESMTP | F_TRANSACTION)) | (ev == SMTP_EV_EHLO ? F_ESMTP : 0));
        s->_rcpts = 0;
        if (ev == SMTP_EV_EHLO)
            put_ehlo(s, text);
        else
            put_reply(s, code, NULL, 1, text ? text : "");
        return SMTP_OK;
    case SMTP_EV_MAIL:
        if (ok) {
            s->_state = ST_MAIL;
            s->_rcpts = 0;
            s->_size = 0;
            s->_reject = SMTP_REJECT_NONE;
            s->_flags = (uint16_t)((s->_flags & ~F_TRANSACTION) | ((s->_flags & F_PEND_UTF8) ? F_UTF8 : 0) |
                                   ((s->_flags & F_PEND_BINARY) ? F_BINARY : 0));
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
    case SMTP_EV_STARTTLS:
        if (ok)
            s->_state = ST_TLS;
        break;
    case SMTP_EV_AUTH:
        if (ok)
            s->_flags |= F_AUTHED;
        break;
    default:
        break;
    }
    put_reply(s, code, enh, 0, text);
    return SMTP_OK;
}

static int code_allowed(int ev, unsigned code)
{
    const uint16_t *c; /* ev is s->_await: always a decision event */
    for (c = decisions[ev].codes; *c; c++)
        if (*c == code)
            return 1;
    return 0;
}

/* ------------------------------------------------------- DATA and BDAT */

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

/* A bare CR or LF: what to hand out in its place (CRLF when normalising,
 * itself otherwise; strict mode refuses the message at its end). */
static const char *bare(struct smtp_session *s, const char *self)
{
    uint32_t o = s->cfg.options;
    if (!(o & (SMTP_OPT_BARE_KEEP | SMTP_OPT_BARE_NORMALIZE))) {
        refuse(s, SMTP_REJECT_BARE);
        return self;
    }
    if (o & SMTP_OPT_BARE_NORMALIZE)
        text_add(s, 1); /* it goes out as CRLF: two octets, not one */
    s->_text_len = 0;   /* a physical line ends here, for the length limit */
    return (o & SMTP_OPT_BARE_NORMALIZE) ? crlf : self;
}

static int data_end(struct smtp_session *s, struct smtp_event *ev)
{
    ev->type = SMTP_EV_DATA_END;
    ev->size = s->_size;
    ev->rcpts = s->_rcpts;
    ev->reject = s->_reject;
    s->_flags &= (uint16_t)~F_TRANSACTION;
    if (!s->_reject)
        return ask(s, ev, SMTP_EV_DATA_END);
    s->_state = ST_READY;
    if (s->_reject == SMTP_REJECT_SIZE)
        reply(s, 552, "5.3.4", TXT("Message size exceeds fixed maximum message size"));
    else
        reply(s, 554, "5.6.0", s->_reject == SMTP_REJECT_LONG_LINE ? TXT("Message line too long") : TXT("Message contains bare CR or LF"));
    return SMTP_EV_DATA_END;
}

/* Scans mail data (RFC 5321 4.5.2).  Only CRLF "." CRLF ends it; a bare CR
 * or LF never ends a line, so "<LF>.<LF>" and its kin stay data.  Runs of
 * plain data go out as spans of the caller's buffer; a stuffed dot splits
 * a run, and a CR held over from the previous call goes out from `crlf`. */
static int data_feed(struct smtp_session *s, const char *p, size_t len, size_t *used, struct smtp_event *ev)
{
    size_t i = 0, run = 0;
    const char *b;

#define EMIT(ptr, n, consumed)               \
    do {                                     \
        if (body(s, ev, (ptr), (n))) {       \
            *used = (consumed);              \
            return SMTP_EV_BODY;             \
        }                                    \
    } while (0)

    while (i < len) {
        switch (s->_dstate) {
        case D_SOL:
            s->_dstate = D_MID;
            if (p[i] == '.') { /* not counted: RFC 5321 4.5.3.1.6 */
                s->_dstate = D_DOT;
                EMIT(p + run, i - run, i + 1);
                run = ++i;
            }
            break;
        case D_DOT:
            s->_dstate = D_MID; /* the dot is dropped: it was stuffing */
            run = i;
            if (p[i] == '\r') {
                text_add(s, 1);
                s->_dstate = D_DOTCR;
                run = ++i;
            }
            break;
        case D_DOTCR:
            if (p[i] == '\n') {
                *used = i + 1;
                return data_end(s, ev);
            }
            /* "." CR x: the CR is bare */
            /* fall through */
        case D_CR: /* a CR that ended the previous input */
            if (p[i] == '\n') {
                text_add(s, 1);
                s->_dstate = D_SOL;
                s->_text_len = 0;
                EMIT(crlf, 2, i + 1);
                run = ++i;
                break;
            }
            s->_dstate = D_MID;
            b = bare(s, "\r");
            EMIT(b, strlen(b), i);
            run = i;
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
            text_add(s, 1);
            if (p[i] == '\r' && i + 1 == len) { /* CRLF or bare? next time */
                s->_dstate = D_CR;
                EMIT(p + run, i - run, i + 1);
                run = ++i;
            } else if (p[i] == '\r' && p[i + 1] == '\n') {
                text_add(s, 1);
                i += 2;
                s->_dstate = D_SOL;
                s->_text_len = 0;
            } else if (bare(s, NULL) == crlf) { /* normalise: CRLF instead */
                EMIT(p + run, i - run, i);
                EMIT(crlf, 2, i + 1);
                run = ++i;
            } else {
                i++;
            }
            break;
        }
        }
    }
    EMIT(p + run, len - run, len);
#undef EMIT
    *used = len;
    return SMTP_NEED_INPUT;
}

#ifndef SMTP_NO_CHUNKING
/* The octets of a BDAT chunk, taken as they are (RFC 3030 2). */
static int bdat_feed(struct smtp_session *s, const char *p, size_t len, size_t *used, struct smtp_event *ev)
{
    size_t n = (size_t)MIN((uint64_t)len, s->_chunk);
    if (s->_chunk == 0) {
        if (s->_flags & F_LAST)
            return data_end(s, ev);
        s->_state = ST_RCPT;
        reply(s, 250, "2.0.0", TXT("Chunk received"));
        return SMTP_WANT_WRITE;
    }
    s->_chunk -= n;
    *used = n;
    return body(s, ev, p, n) ? SMTP_EV_BODY : SMTP_NEED_INPUT;
}
#endif

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
    cfg->max_auth_fails = 3;
}

SMTP_API void smtp_init(struct smtp_session *s, const struct smtp_config *cfg)
{
    struct smtp_config *c = &s->cfg;
    memset(s, 0, sizeof *s);
    smtp_config_default(c);
    if (cfg)
        *c = *cfg;
    if (!c->hostname)
        c->hostname = "localhost";
    if (c->max_line < 64 || c->max_line > SMTP_LINE_MAX)
        c->max_line = c->max_line ? (c->max_line < 64 ? 64 : SMTP_LINE_MAX) : SMTP_LINE_MAX;
    if (c->max_rcpt == 0 || c->max_rcpt > SMTP_RCPT_MAX)
        c->max_rcpt = SMTP_RCPT_MAX;
    if (c->max_text_line == 0 || c->max_text_line > SMTP_TEXT_LINE_MAX)
        c->max_text_line = SMTP_TEXT_LINE_MAX;
    c->max_text_line = c->max_text_line < 3 ? 3 : c->max_text_line;
    if (c->max_errors == 0)
        c->max_errors = 10;
    if (c->max_auth_fails == 0)
        c->max_auth_fails = 3;
    if (c->options & SMTP_OPT_NO_ESMTP)
        c->extensions = 0;
    c->extensions &= ~(uint32_t)((HAS_CHUNKING ? 0 : SMTP_EXT_CHUNKING | SMTP_EXT_BINARYMIME) |
                                 (HAS_STARTTLS ? 0 : SMTP_EXT_STARTTLS) | (HAS_AUTH ? 0 : SMTP_EXT_AUTH) |
                                 (HAS_DSN ? 0 : SMTP_EXT_DSN) | (HAS_UTF8 ? 0 : SMTP_EXT_SMTPUTF8));
    if (!(c->extensions & SMTP_EXT_CHUNKING))
        c->extensions &= ~(uint32_t)SMTP_EXT_BINARYMIME;
    s->_state = ST_GREET;
}

SMTP_API int smtp_feed(struct smtp_session *s, const void *buf, size_t len, size_t *consumed, struct smtp_event *ev)
{
    const char *p = buf ? (const char *)buf : ""; /* p + 0 must be defined */
    size_t i = 0, room = (size_t)s->cfg.max_line - 2;

    memset(ev, 0, sizeof *ev);
    /* empty spans point at "" so that memcpy(dst, ptr, 0) is defined */
    ev->arg.ptr = ev->path.ptr = ev->local.ptr = ev->domain.ptr = ev->params.ptr = "";
    ev->data.ptr = ev->envid.ptr = ev->auth.ptr = ev->orcpt.ptr = ev->user.ptr = ev->pass.ptr = "";
    *consumed = 0;
    if (s->_await) {
        if (s->_flags & F_DEFERRED)
            return SMTP_PENDING;
        decide(s, s->_await, decisions[s->_await].dflt, NULL, NULL);
    }
    if (s->_out_len)
        return s->_state == ST_CLOSED ? SMTP_CLOSED : SMTP_WANT_WRITE;
#ifndef SMTP_NO_CHUNKING
    if (s->_state == ST_BDAT)
        return bdat_feed(s, p, len, consumed, ev);
#endif
    switch (s->_state) {
    case ST_CLOSED:
        return SMTP_CLOSED;
    case ST_GREET:
        return ask(s, ev, SMTP_EV_CONNECT);
    case ST_DATA:
        return data_feed(s, p, len, consumed, ev);
    case ST_TLS: /* plaintext after STARTTLS is never executed */
        *consumed = len;
        return SMTP_NEED_INPUT;
    default:
        break;
    }
    if (HAS_CHUNKING && s->_chunk) { /* the octets of a refused BDAT chunk */
        i = (size_t)MIN((uint64_t)len, s->_chunk);
        s->_chunk -= i;
    }
    /* Command mode: assemble one line, at most max_line - 2 octets kept. */
    while (i < len) {
        size_t st = i, k;
        if (s->_lflags & L_CR) {
            s->_lflags &= (uint8_t)~L_CR;
            if (p[i] == '\n') {
                i++;
                goto line;
            }
            s->_lflags |= L_BARE_CR;
        }
        while (i < len && p[i] != '\r' && p[i] != '\n' && p[i] != '\0')
            i++;
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
        if (!(s->cfg.options & SMTP_OPT_LF_LINES)) {
            /* RFC 5321 2.3.8: only CRLF ends a line, so the line goes on
             * and is refused once, at its CRLF.  Ending it here would let
             * what follows run as a second command that a CRLF-framing
             * proxy or filter never saw (command smuggling). */
            s->_lflags |= L_BARE_LF;
            continue;
        }
    line: {
        int r;
        *consumed = i;
        r = command(s, ev); /* always an event or a reply: one line per call */
        s->_line_len = 0;
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
    if (s->_state == ST_TLS) { /* mid-handshake: no place for a plaintext 421 */
        s->_state = ST_CLOSED;
        return;
    }
    if (s->_out_len) { /* the 421 goes out once what is queued has */
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

SMTP_API int smtp_tls_done(struct smtp_session *s)
{
    if (!HAS_STARTTLS || (s->_state != ST_TLS && s->_state != ST_GREET))
        return SMTP_ERR_STATE;
    /* RFC 3207 4.2: forget everything learnt before TLS */
    s->_flags = (uint16_t)((s->_flags & (F_SHUTDOWN | F_PEND_421)) | F_TLS);
    s->_rcpts = 0;
    if (s->_state == ST_TLS)
        s->_state = ST_INIT;
    return SMTP_OK;
}

/* The X-macro tables of smtp.h as data: one walk serves all four lookups. */
struct name_row {
    int num;
    const char *name, *desc;
};
static const struct name_row ev_names[] = {
#define X(name, num, desc) {num, #name, TXT(desc)},
    SMTP_EVENT_MAP(X)
#undef X
};
static const struct name_row err_names[] = {
#define X(name, num, desc) {num, #name, TXT(desc)},
    SMTP_ERR_MAP(X)
#undef X
};

static const char *lookup(const struct name_row *t, size_t n, int v, int desc)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (t[i].num == v)
            return desc ? (*t[i].desc ? t[i].desc : "?") : t[i].name;
    return "?";
}

SMTP_API const char *smtp_event_name(int ev)
{
    return lookup(ev_names, sizeof ev_names / sizeof ev_names[0], ev, 0);
}

SMTP_API const char *smtp_event_desc(int ev)
{
    return lookup(ev_names, sizeof ev_names / sizeof ev_names[0], ev, 1);
}

SMTP_API const char *smtp_err_name(int err)
{
    return lookup(err_names, sizeof err_names / sizeof err_names[0], err, 0);
}

SMTP_API const char *smtp_err_desc(int err)
{
    return lookup(err_names, sizeof err_names / sizeof err_names[0], err, 1);
}
