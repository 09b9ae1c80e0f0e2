/*
 * fuzz_ext.c - the ESMTP extensions of issue 5: CHUNKING/BDAT, BINARYMIME,
 * STARTTLS, AUTH PLAIN/LOGIN, DSN, SMTPUTF8 addresses; and the command
 * line rules of issue 9 (CRLF framing, blanks, sequence before syntax,
 * 421 whenever the core ends a session, AUTH guessing).
 *
 * Input: 2 mode bytes, then the client's byte stream.
 *   byte 0: bit0 SMTP_EXT_CHUNKING, bit1 SMTP_EXT_BINARYMIME,
 *           bit2 SMTP_EXT_STARTTLS, bit3 SMTP_EXT_AUTH, bit4 SMTP_EXT_DSN,
 *           bit5 SMTP_OPT_REQUIRE_TLS, bit6 SMTP_OPT_AUTH_PLAINTEXT,
 *           bit7 small limits: max_rcpt 2, max_auth_fails 1
 *   byte 1: bit0 implicit TLS (smtp_tls_done() right after smtp_init()),
 *           bits1-2 feed sizes (whole, 1, 3, 17 octets),
 *           bit3 no limits: max_errors 0xffff, max_auth_fails 255 (over
 *           byte 0's bit7),
 *           bits4-5 the app's answer to STARTTLS: 0 the default, 1 454,
 *           2 smtp_reply(220), 3 454 and SMTP_OPT_STRICT_SPACES (the
 *           combination was unused: 454 always won),
 *           bits6-7 max_size: none, 50, 1000, 2^40
 * With neither limit bit, max_errors and max_auth_fails are left 0 (the
 * defaults, 10 and 3).  SMTP_OPT_LF_LINES is never set: only CRLF ends a
 * command line.  SMTP_OPT_REQUIRE_TLS is taken to apply with or without
 * SMTP_EXT_STARTTLS (implicit TLS).  The marker "<<TLS>>" in the stream is
 * not client data: it is where the TLS handshake completes.  If the
 * session waits for it there (a 220 to STARTTLS was seen), the harness
 * calls smtp_tls_done().
 *
 * Properties (from RFC 5321, 3030, 3207, 4954, 4648, 3461, 6531 and the
 * BRIEF and issue 9, written from those texts, not from smtp.c's code),
 * abort() on violation:
 *   - every reply well formed (fz_rp_byte); one reply per command line,
 *     none without a command; no event without a command; nothing taken
 *     after SMTP_CLOSED;
 *   - framing: only CRLF ends a command line; a line with a bare CR, bare
 *     LF or NUL, or longer than max_line, is one line answered once, with
 *     500 (or 421, below), and gives no event;
 *   - blanks: by default runs of SP/HTAB separate the verb from its
 *     argument, the AUTH mechanism from its response, BDAT's size from
 *     LAST, and ESMTP parameters; trailing ones are ignored.  With
 *     SMTP_OPT_STRICT_SPACES exactly one SP and no HTAB.  The event's
 *     words are the argument so found: ev.hello.domain and ev.string.arg
 *     exactly (no leading or trailing blanks by default), the MAIL/RCPT
 *     path right after "FROM:"/"TO:" and its blanks, the parameters the
 *     rest; every span of the event's member is non-NULL;
 *     HELO/EHLO domains and MAIL/RCPT parameter lists hold no edge blanks;
 *     a verb outside RFC 5321/821 and the extensions gets 500 (strictly,
 *     "NOOP<HTAB>" is such a verb); RSET and QUIT with nothing but blanks
 *     after them get 250/221 by default and 501 with an argument; NOOP
 *     alone or with one word gets 250; MAIL FROM:<plain address> in
 *     sequence gets 250, with blanks after the colon too by default,
 *     strictly 501;
 *   - 421: the core ends a session only with 421 (or 221 to QUIT) and
 *     only for a reason: a syntax/sequence error (500-504, 555) past
 *     max_errors (421 4.7.0 in its place; an error reply past the limit
 *     is a violation), an AUTH refusal past max_auth_fails, or a BDAT
 *     chunk it cannot locate;
 *   - sequence before syntax: MAIL before HELO/EHLO or in a transaction,
 *     RCPT before MAIL, DATA/BDAT before MAIL (503) or with no accepted
 *     recipient (503 or 554), DATA after BDAT or BODY=BINARYMIME, BDAT and
 *     AUTH before EHLO, AUTH after a successful AUTH or in a transaction,
 *     STARTTLS under TLS or in a transaction: 503 whatever the argument;
 *   - BDAT (CHUNKING on): EV_BDAT's size/LAST are the line's; exactly that
 *     many octets follow as EV_BODY, equal to the client's octets, before
 *     any other event or reply; a refused BDAT with a readable size (503,
 *     554, 501 for what follows the size, a size refusal) is followed by
 *     exactly that many octets that give no reply and no event; "BDAT"
 *     with no size is 501 (or 503) and the session goes on; a size that is
 *     not digits or overflows, or a malformed BDAT line, ends the session
 *     with exactly 421 4.5.4; EV_DATA_END's size is the sum of the EV_BODY
 *     octets (= the accepted chunk sizes);
 *   - STARTTLS: between the 220 and smtp_tls_done() every byte is taken with
 *     no reply and no event; afterwards EHLO never lists STARTTLS, and MAIL
 *     before a new HELO/EHLO gets 503;
 *   - AUTH: EV_AUTH's user/pass/authzid equal a naive base64 reference's
 *     decoding of the client's lines (PLAIN split at the NULs) and its arg
 *     is the mechanism; valid credentials always reach the app; bad base64
 *     and "*" get 501; every 334 text is empty or valid base64; 235 only
 *     when the app said so, 535 otherwise, except that the refusal past
 *     max_auth_fails (malformed exchanges not counted) is 421 4.7.0 and
 *     ends the session; AUTH succeeds only after EHLO, with TLS or
 *     AUTH_PLAINTEXT, outside a transaction, once;
 *   - DSN: RET, ENVID, NOTIFY, ORCPT in events equal a naive parse of the
 *     parameters, ENVID/ORCPT only with valid xtext (smtp_xtext_decode()
 *     agrees with the reference) that decodes to printable US-ASCII (SP
 *     included), and so for MAIL's AUTH=; nothing DSN when DSN is off;
 *   - repeated parameters: an event never carries a parameter repeated
 *     with another meaning; and, run against a copy of the session taken
 *     at the line's start, the same MAIL/RCPT line without its repeats
 *     and control-octet xtext values: if that copy accepts it, the real
 *     line is accepted too when the repeats had the same meaning (SIZE
 *     equal as numbers, keywords ignoring case, NOTIFY the same set, the
 *     same xtext), and refused with 501 5.5.4 when a repeat conflicts or
 *     an xtext decodes to control or 8-bit octets; if the copy refuses
 *     it, so is the real line;
 *   - SMTPUTF8: 8-bit paths only well-formed UTF-8 in a SMTPUTF8
 *     transaction;
 *   - EHLO lists CHUNKING, STARTTLS, AUTH, DSN exactly when they apply.
 */
#include "fuzz_common.h"

#ifdef SMTP_NO_CHUNKING
#define X_CHUNK 0u
#else
#define X_CHUNK ((uint32_t)SMTP_EXT_CHUNKING | SMTP_EXT_BINARYMIME)
#endif
#ifdef SMTP_NO_STARTTLS
#define X_TLS 0u
#else
#define X_TLS ((uint32_t)SMTP_EXT_STARTTLS)
#endif
#ifdef SMTP_NO_AUTH
#define X_AUTH 0u
#else
#define X_AUTH ((uint32_t)SMTP_EXT_AUTH)
#endif
#ifdef SMTP_NO_DSN
#define X_DSN 0u
#else
#define X_DSN ((uint32_t)SMTP_EXT_DSN)
#endif

static const char marker[] = "<<TLS>>";
#define MARKER_LEN 7
#define MAXMARK 16

enum mode { M_CMD, M_DATA, M_CHUNK, M_SKIP, M_TLSWAIT, M_CLOSED };
enum kind { K_GREETING, K_LINE, K_AUTHRESP, K_DATAEND };
enum astep { A_NONE, A_PLAIN, A_USER, A_PASS };

struct line {
    int kind;
    size_t a, b;         /* the line cs[a..b), CRLF included */
    int bad;             /* malformed: bare CR/LF, NUL, too long */
    int bdat_bad;        /* bad: its verb is BDAT (1), not (0), unclear (2) */
    char verb[10];       /* upper case, "" if longer */
    size_t arg, alen;    /* the argument, per the blank rules */
    int has_arg;         /* anything but blanks after the verb */
    int ev;              /* the event it gave, or 0 */
    int bdat;            /* EV_BDAT seen for it */
    int dataend;         /* EV_DATA_END seen for it */
    int app235;          /* the app answered 235 */
    int auth_ev;         /* EV_AUTH seen */
};

struct ext {
    struct smtp_config cfg;
    uint32_t exts, opts;
    unsigned b0, b1;
    int strict;          /* SMTP_OPT_STRICT_SPACES */
    unsigned max_err;    /* effective max_errors (0xffff: never) */
    unsigned max_af;     /* effective max_auth_fails (255: never) */
    uint8_t *cs;         /* client stream, markers removed */
    size_t n;
    size_t marks[MAXMARK];
    size_t nmarks;
    struct smtp_session s;
    size_t pos;          /* octets of cs the session has taken */
    /* a copy of the session taken where a command line starts */
    struct smtp_session snap;
    size_t snap_pos;     /* cs offset of that line, or SIZE_MAX */
    /* model */
    size_t mp;
    int mode;
    int have_head;
    struct line head;
    uint64_t left;       /* M_CHUNK / M_SKIP octets still to come */
    size_t data_end;     /* M_DATA: position after ".\r\n", or SIZE_MAX */
    int greeted, closed, tls, tls_wait;
    int helo, ehlo, authed, mail, utf8_mail, bdat_used, binary;
    unsigned rcpt_ok;
    unsigned errors;     /* replies counted towards max_errors */
    unsigned auth_fails; /* EV_AUTH refused with a 5xx */
    int r421;            /* the 421 being handled had its reason checked */
    uint64_t sum_body, sum_chunks;
    int astep, amech;
    size_t auser, auser_len; /* LOGIN: the user's base64 in cs */
    /* replies */
    struct fz_rp rp;
    char rbuf[8192];
    size_t rlen, lstart;
};

/* ------------------------------------------------------------ references */

static int up(int c)
{
    return c >= 'a' && c <= 'z' ? c - 32 : c;
}

static int ci_eq(const char *p, size_t n, const char *w)
{
    size_t i;
    if (strlen(w) != n)
        return 0;
    for (i = 0; i < n; i++)
        if (up((unsigned char)p[i]) != (unsigned char)w[i])
            return 0;
    return 1;
}

static int b64v(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* RFC 4648 4, strict; "=" alone is the empty response (RFC 4954 4).
 * Returns the decoded length or -1. */
static long ref_b64(const uint8_t *p, size_t n, uint8_t *out)
{
    size_t i, pad = 0, o = 0;
    uint32_t acc = 0;
    if (n == 1 && p[0] == '=')
        return 0;
    if (n % 4 != 0)
        return -1;
    if (n >= 1 && p[n - 1] == '=')
        pad++;
    if (n >= 2 && p[n - 2] == '=')
        pad++;
    if (n == 0)
        return 0;
    for (i = 0; i < n - pad; i++)
        if (b64v(p[i]) < 0)
            return -1;
    for (i = 0; i < n; i += 4) {
        int k;
        acc = 0;
        for (k = 0; k < 4; k++)
            acc = acc << 6 | (uint32_t)(i + (size_t)k < n - pad ? b64v(p[i + (size_t)k]) : 0);
        out[o++] = (uint8_t)(acc >> 16);
        if (i + 4 < n || pad < 2)
            out[o++] = (uint8_t)(acc >> 8);
        if (i + 4 < n || pad < 1)
            out[o++] = (uint8_t)acc;
    }
    if (pad == 1 && (acc & 0xffu) != 0)
        return -1;
    if (pad == 2 && (acc & 0xffffu) != 0)
        return -1;
    return (long)o;
}

static int is_b64_text(const char *p, size_t n)
{
    uint8_t tmp[600];
    if (n == 0)
        return 1;
    if (n == 1 && p[0] == '=')
        return 0; /* a challenge is base64, not the "empty response" form */
    return n <= 600 && ref_b64((const uint8_t *)p, n, tmp) >= 0;
}

/* RFC 3461 4: xtext = *( xchar / hexchar ) */
static long ref_xtext(const char *p, size_t n, char *out)
{
    size_t i, o = 0;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '+') {
            int k, v = 0;
            if (i + 2 >= n)
                return -1;
            for (k = 1; k <= 2; k++) {
                unsigned char h = (unsigned char)p[i + (size_t)k];
                if (h >= '0' && h <= '9')
                    v = v * 16 + (h - '0');
                else if (h >= 'A' && h <= 'F')
                    v = v * 16 + (h - 'A' + 10);
                else
                    return -1;
            }
            out[o++] = (char)v;
            i += 2;
        } else if (c >= 33 && c <= 126 && c != '=') {
            out[o++] = (char)c;
        } else {
            return -1;
        }
    }
    return (long)o;
}

static int is_atext(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* RFC 3629 well-formed UTF-8 */
static int ref_utf8(const char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = (unsigned char)p[i], k, cp, min;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc0 && c < 0xe0) { k = 1; cp = c & 0x1f; min = 0x80; }
        else if (c >= 0xe0 && c < 0xf0) { k = 2; cp = c & 0x0f; min = 0x800; }
        else if (c >= 0xf0 && c < 0xf8) { k = 3; cp = c & 0x07; min = 0x10000; }
        else return 0;
        if (i + k >= n)
            return 0;
        for (c = 1; c <= k; c++) {
            unsigned d = (unsigned char)p[i + c];
            if ((d & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (d & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += k + 1;
    }
    return 1;
}

static int has8(struct smtp_span s)
{
    size_t i;
    for (i = 0; i < s.len; i++)
        if ((unsigned char)s.ptr[i] >= 0x80)
            return 1;
    return 0;
}

/* A blank: SP, and HTAB unless SMTP_OPT_STRICT_SPACES (issue 9). */
static int blank(const struct ext *x, int c)
{
    return c == ' ' || (c == '\t' && !x->strict);
}

/* Finds parameter `kw` in a parameter list "K=V K=V" (words separated by
 * blanks); *val: its first occurrence, *count: how many. */
static int find_param(const struct ext *x, struct smtp_span ps, const char *kw, struct smtp_span *val,
                      int *count)
{
    size_t i = 0;
    *count = 0;
    while (i < ps.len) {
        size_t j = i, e;
        while (j < ps.len && !blank(x, ps.ptr[j]))
            j++;
        for (e = i; e < j && ps.ptr[e] != '='; e++)
            ;
        if (ci_eq(ps.ptr + i, e - i, kw)) {
            if (*count == 0) {
                val->ptr = ps.ptr + (e < j ? e + 1 : j);
                val->len = e < j ? j - e - 1 : 0;
            }
            (*count)++;
        }
        for (i = j; i < ps.len && blank(x, ps.ptr[i]); i++)
            ;
    }
    return *count > 0;
}

static int span_eq(struct smtp_span a, const void *p, size_t n)
{
    return a.len == n && (n == 0 || memcmp(a.ptr, p, n) == 0);
}

/* RFC 3461 4.2 / 4.4, RFC 4954 5 (issue 9): the decoded value is SP and
 * printable US-ASCII only, so that it cannot split a header. */
static int printable(const char *p, long n)
{
    long i;
    for (i = 0; i < n; i++)
        if ((unsigned char)p[i] < 0x20 || (unsigned char)p[i] > 0x7e)
            return 0;
    return 1;
}

static int all_digits(const char *p, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (p[i] < '0' || p[i] > '9')
            return 0;
    return n > 0;
}

/* NOTIFY= as a set of SMTP_NOTIFY_* bits, or -1 if not a valid list. */
static int notify_set(const char *p, size_t n)
{
    unsigned bits = 0;
    size_t i = 0;
    while (i <= n) {
        size_t j = i;
        unsigned b = 0;
        while (j < n && p[j] != ',')
            j++;
        if (ci_eq(p + i, j - i, "NEVER"))
            b = SMTP_NOTIFY_NEVER;
        else if (ci_eq(p + i, j - i, "SUCCESS"))
            b = SMTP_NOTIFY_SUCCESS;
        else if (ci_eq(p + i, j - i, "FAILURE"))
            b = SMTP_NOTIFY_FAILURE;
        else if (ci_eq(p + i, j - i, "DELAY"))
            b = SMTP_NOTIFY_DELAY;
        if (b == 0 || (bits & b))
            return -1;
        bits |= b;
        i = j + 1;
    }
    if ((bits & SMTP_NOTIFY_NEVER) && bits != SMTP_NOTIFY_NEVER)
        return -1;
    return (int)bits;
}

/* Whether two values of parameter kw (v == NULL: no "=") mean the same
 * (issue 9): 1 yes, 0 no, 2 unclear (xtext spelt two ways for the same
 * octets: either answer is taken). */
static int same_meaning(const char *kw, const char *v1, size_t l1, const char *v2, size_t l2)
{
    char d1[600], d2[600];
    long n1, n2;
    if ((v1 == NULL) != (v2 == NULL))
        return 0;
    if (v1 == NULL || (l1 == l2 && memcmp(v1, v2, l1) == 0))
        return 1;
    if (strcmp(kw, "SIZE") == 0) {
        if (!all_digits(v1, l1) || !all_digits(v2, l2))
            return 0;
        while (l1 > 1 && *v1 == '0')
            v1++, l1--;
        while (l2 > 1 && *v2 == '0')
            v2++, l2--;
        return l1 == l2 && memcmp(v1, v2, l1) == 0;
    }
    if (strcmp(kw, "BODY") == 0 || strcmp(kw, "RET") == 0) {
        size_t i;
        if (l1 != l2)
            return 0;
        for (i = 0; i < l1; i++)
            if (up((unsigned char)v1[i]) != up((unsigned char)v2[i]))
                return 0;
        return 1;
    }
    if (strcmp(kw, "NOTIFY") == 0) {
        int a = notify_set(v1, l1), b = notify_set(v2, l2);
        return a >= 0 && a == b;
    }
    if (strcmp(kw, "ENVID") == 0 || strcmp(kw, "AUTH") == 0 || strcmp(kw, "ORCPT") == 0) {
        if (l1 > 500 || l2 > 500)
            return 0;
        n1 = ref_xtext(v1, l1, d1);
        n2 = ref_xtext(v2, l2, d2);
        return n1 >= 0 && n1 == n2 && memcmp(d1, d2, (size_t)n1) == 0 ? 2 : 0;
    }
    return 0;
}

/* ------------------------------------------------------------ the model */

static uint32_t ext_on(const struct ext *x, uint32_t bit)
{
    return x->exts & bit;
}

static void reset_tx(struct ext *x)
{
    x->mail = x->utf8_mail = x->bdat_used = x->binary = 0;
    x->rcpt_ok = 0;
    x->sum_body = x->sum_chunks = 0;
}

/* Splits the content p[0..n) of a command line into verb and argument per
 * the blank rules (issue 9): by default trailing blanks are dropped and a
 * run of blanks follows the verb; strictly, the verb ends at the first SP
 * and the argument is all after that one SP.  *v: the verb's length. */
static void split_line(const struct ext *x, const uint8_t *p, size_t n, size_t *v, size_t *arg,
                       size_t *alen)
{
    size_t i;
    if (!x->strict)
        while (n > 0 && blank(x, p[n - 1]))
            n--;
    for (i = 0; i < n && !blank(x, p[i]); i++)
        ;
    *v = i;
    if (i < n)
        i++;
    if (!x->strict)
        while (i < n && blank(x, p[i]))
            i++;
    *arg = i;
    *alen = n - i;
}

static int is_bdat(const uint8_t *p, size_t v)
{
    return ci_eq((const char *)p, v, "BDAT");
}

static void classify(struct ext *x, struct line *l)
{
    size_t i, t = l->b - l->a, tl = t - 2, v, ar, al;
    const uint8_t *p = x->cs + l->a;
    unsigned max_line = fz_max_line(&x->cfg);
    l->bad = t > max_line;
    for (i = 0; i < tl; i++)
        if (p[i] == '\r' || p[i] == '\n' || p[i] == 0)
            l->bad = 1;
    split_line(x, p, tl, &v, &ar, &al);
    memset(l->verb, 0, sizeof l->verb);
    if (v < sizeof l->verb)
        for (i = 0; i < v; i++)
            l->verb[i] = (char)up(p[i]);
    l->has_arg = v < tl && (x->strict || al > 0);
    l->arg = l->a + ar;
    l->alen = al;
    if (l->bad) {
        /* Is a malformed line a BDAT line?  Its first word as sent, and its
         * first word once the CR, LF and NUL octets that cannot be part of
         * a command are left out and the line is cut at max_line: when the
         * two readings disagree, either answer is taken. */
        uint8_t k[SMTP_LINE_MAX];
        size_t kn = 0, kv, ka, kl;
        for (i = 0; i < tl && kn < max_line - 2; i++)
            if (p[i] != '\r' && p[i] != '\n' && p[i] != 0)
                k[kn++] = p[i];
        split_line(x, k, kn, &kv, &ka, &kl);
        l->bdat_bad = is_bdat(p, v) == is_bdat(k, kv) ? is_bdat(p, v) : 2;
    }
}

static int verb_is(const struct line *l, const char *w)
{
    return l->kind == K_LINE && strcmp(l->verb, w) == 0;
}

/* Parses what the session has taken (cs[mp..pos)), stopping at a command
 * line until its reply has come.  Only CRLF ends a command line (RFC 5321
 * 2.3.8; SMTP_OPT_LF_LINES is never set here): a bare CR or LF is inside
 * the line. */
static void parse_more(struct ext *x)
{
    while (!x->have_head && x->mp < x->pos) {
        if (x->mode == M_CMD) {
            size_t e = x->mp;
            while (e + 1 < x->pos && !(x->cs[e] == '\r' && x->cs[e + 1] == '\n'))
                e++;
            if (e + 1 >= x->pos)
                return;
            memset(&x->head, 0, sizeof x->head);
            x->head.kind = x->astep != A_NONE ? K_AUTHRESP : K_LINE;
            x->head.a = x->mp;
            x->head.b = e + 2;
            classify(x, &x->head);
            x->mp = x->head.b;
            x->have_head = 1;
            FZ_TRACE("  model: line [%lu,%lu) verb '%s' bad %d kind %d\n",
                     (unsigned long)x->head.a, (unsigned long)x->head.b, x->head.verb,
                     x->head.bad, x->head.kind);
        } else if (x->mode == M_DATA) {
            if (x->data_end != (size_t)-1 && x->data_end <= x->pos) {
                memset(&x->head, 0, sizeof x->head);
                x->head.kind = K_DATAEND;
                x->head.a = x->mp;
                x->head.b = x->data_end;
                x->mp = x->data_end;
                x->mode = M_CMD;
                x->have_head = 1;
            } else {
                x->mp = x->pos;
            }
        } else if (x->mode == M_SKIP) {
            size_t k = x->pos - x->mp;
            if ((uint64_t)k > x->left)
                k = (size_t)x->left;
            x->mp += k;
            x->left -= k;
            if (x->left == 0)
                x->mode = M_CMD;
        } else if (x->mode == M_TLSWAIT || x->mode == M_CLOSED) {
            x->mp = x->pos;
        } else {
            return; /* M_CHUNK: EV_BODY moves mp */
        }
    }
}

/* "BDAT size [LAST]" (RFC 3030 2, blanks per issue 9).  Returns 1 for a
 * readable size (*n), 0 for an unreadable one (not digits, overflow, or
 * strictly an empty word), -1 for no argument.  *last: 1 LAST, 0 nothing
 * after the size, -1 something else after it (501). */
static int bdat_size(const struct ext *x, const struct line *l, uint64_t *n, int *last)
{
    size_t i, d;
    const uint8_t *p = x->cs + l->arg;
    *n = 0;
    *last = 0;
    if (l->alen == 0)
        return -1;
    for (d = 0; d < l->alen && !blank(x, p[d]); d++)
        ;
    if (d == 0)
        return 0;
    for (i = 0; i < d; i++) {
        if (p[i] < '0' || p[i] > '9')
            return 0;
        if (*n > (UINT64_MAX - 9) / 10 && (*n > UINT64_MAX / 10 ||
                                          *n * 10 > UINT64_MAX - (uint64_t)(p[i] - '0')))
            return 0;
        *n = *n * 10 + (uint64_t)(p[i] - '0');
    }
    if (d < l->alen) {
        size_t k = d + 1;
        if (!x->strict)
            while (k < l->alen && blank(x, p[k]))
                k++;
        *last = ci_eq((const char *)p + k, l->alen - k, "LAST") ? 1 : -1;
    }
    return 1;
}

/* The AUTH data: the initial response of the AUTH line (after the
 * mechanism and its blanks) or a whole response line (no blank rules: a
 * SASL response is base64, not a command). */
static void auth_data(const struct ext *x, const struct line *l, size_t *a, size_t *n)
{
    if (l->kind == K_AUTHRESP) {
        *a = l->a;
        *n = l->b - l->a - 2;
        return;
    }
    {
        const uint8_t *p = x->cs + l->arg;
        size_t m = 0, k;
        while (m < l->alen && !blank(x, p[m]))
            m++;
        k = m < l->alen ? m + 1 : m;
        if (!x->strict)
            while (k < l->alen && blank(x, p[k]))
                k++;
        *a = l->arg + k;
        *n = l->alen - k;
    }
}

static int auth_mech(const struct ext *x, const struct line *l, int *ir)
{
    const uint8_t *p = x->cs + l->arg;
    size_t m = 0;
    while (m < l->alen && !blank(x, p[m]))
        m++;
    *ir = m < l->alen;
    if (ci_eq((const char *)p, m, "PLAIN"))
        return 1;
    if (ci_eq((const char *)p, m, "LOGIN"))
        return 2;
    return 0;
}

struct cred {
    int ok;           /* decodable and well formed */
    int cancel;       /* "*" */
    uint8_t buf[1200];
    size_t zl, ul, pl;
    const uint8_t *z, *u, *pw;
};

/* The credentials the final AUTH line should give, per the references. */
static void ref_cred(const struct ext *x, const struct line *l, struct cred *c)
{
    size_t a, n, i, nul[3], k = 0;
    long d;
    memset(c, 0, sizeof *c);
    auth_data(x, l, &a, &n);
    if (n == 1 && x->cs[a] == '*') {
        c->cancel = 1;
        return;
    }
    if (x->amech == 2) {
        long du = ref_b64(x->cs + x->auser, x->auser_len, c->buf);
        if (du < 0 || n > 600 || x->auser_len > 600)
            return;
        d = ref_b64(x->cs + a, n, c->buf + 600);
        if (d < 0)
            return;
        c->u = c->buf;
        c->ul = (size_t)du;
        c->pw = c->buf + 600;
        c->pl = (size_t)d;
        c->z = c->buf;
        c->zl = 0;
        c->ok = 1;
        return;
    }
    if (n > 1100)
        return;
    d = ref_b64(x->cs + a, n, c->buf);
    if (d < 0)
        return;
    for (i = 0; i < (size_t)d; i++)
        if (c->buf[i] == 0) {
            if (k == 3)
                return;
            nul[k++] = i;
        }
    if (k != 2)
        return;
    c->z = c->buf;
    c->zl = nul[0];
    c->u = c->buf + nul[0] + 1;
    c->ul = nul[1] - nul[0] - 1;
    c->pw = c->buf + nul[1] + 1;
    c->pl = (size_t)d - nul[1] - 1;
    c->ok = c->ul > 0 && c->pl > 0;
}

static int auth_allowed(const struct ext *x)
{
    return ext_on(x, X_AUTH) && x->ehlo && !x->authed && !x->mail &&
           (x->tls || (x->opts & SMTP_OPT_AUTH_PLAINTEXT)) &&
           !((x->opts & SMTP_OPT_REQUIRE_TLS) && !x->tls);
}

/* ------------------------------------------------------------ events */

/* Every repeat of a parameter in an accepted MAIL/RCPT means the same as
 * its first occurrence (issue 9: a conflicting repeat is 501). */
static void check_repeats(const struct ext *x, struct smtp_span ps)
{
    size_t i = 0;
    while (i < ps.len) {
        size_t j = i, e, i2;
        char kw[10];
        while (j < ps.len && !blank(x, ps.ptr[j]))
            j++;
        for (e = i; e < j && ps.ptr[e] != '='; e++)
            ;
        memset(kw, 0, sizeof kw);
        if (e - i < sizeof kw) {
            size_t k;
            for (k = 0; k < e - i; k++)
                kw[k] = (char)up((unsigned char)ps.ptr[i + k]);
        }
        for (i2 = 0; i2 < i;) { /* an earlier occurrence of the same keyword */
            size_t j2 = i2, e2;
            while (j2 < ps.len && !blank(x, ps.ptr[j2]))
                j2++;
            for (e2 = i2; e2 < j2 && ps.ptr[e2] != '='; e2++)
                ;
            if (kw[0] && ci_eq(ps.ptr + i2, e2 - i2, kw)) {
                FZ_CHECK(same_meaning(kw, e2 < j2 ? ps.ptr + e2 + 1 : NULL, e2 < j2 ? j2 - e2 - 1 : 0,
                                      e < j ? ps.ptr + e + 1 : NULL, e < j ? j - e - 1 : 0) != 0,
                         "a parameter repeated with a conflicting value accepted (issue 9: 501)");
                break;
            }
            for (i2 = j2; i2 < ps.len && blank(x, ps.ptr[i2]); i2++)
                ;
        }
        for (i = j; i < ps.len && blank(x, ps.ptr[i]); i++)
            ;
    }
}

static void check_dsn_mail(struct ext *x, const union smtp_event *ev)
{
    struct smtp_span v;
    int cnt;
    char dec[600], dec2[600];
    check_repeats(x, ev->mail.params);
    if (find_param(x, ev->mail.params, "RET", &v, &cnt)) {
        FZ_CHECK(ext_on(x, X_DSN), "RET= accepted with DSN off");
        FZ_CHECK((ci_eq(v.ptr, v.len, "FULL") && ev->mail.ret == SMTP_RET_FULL) ||
                     (ci_eq(v.ptr, v.len, "HDRS") && ev->mail.ret == SMTP_RET_HDRS),
                 "EV_MAIL ret differs from RET=");
    } else {
        FZ_CHECK(ev->mail.ret == SMTP_RET_NONE, "EV_MAIL ret without RET=");
    }
    if (find_param(x, ev->mail.params, "ENVID", &v, &cnt)) {
        long dl, dl2;
        FZ_CHECK(ext_on(x, X_DSN), "ENVID= accepted with DSN off");
        FZ_CHECK(span_eq(ev->mail.envid, v.ptr, v.len), "EV_MAIL envid is not the ENVID= value as sent");
        FZ_CHECK(v.len <= 100, "ENVID longer than 100 accepted (RFC 3461 4.4)");
        dl = ref_xtext(v.ptr, v.len, dec);
        FZ_CHECK(dl >= 0, "ENVID= with malformed xtext accepted (RFC 3461 4)");
        FZ_CHECK(printable(dec, dl), "ENVID= decoding to control or 8-bit octets accepted (RFC 3461 4.4)");
        dl2 = smtp_xtext_decode(v.ptr, v.len, dec2, sizeof dec2);
        FZ_CHECK(dl2 == dl && memcmp(dec, dec2, (size_t)dl) == 0,
                 "smtp_xtext_decode() differs from the reference on ENVID");
    } else {
        FZ_CHECK(ev->mail.envid.len == 0, "EV_MAIL envid without ENVID=");
    }
    if (find_param(x, ev->mail.params, "AUTH", &v, &cnt)) {
        FZ_CHECK(ext_on(x, X_AUTH), "AUTH= accepted with AUTH off");
        FZ_CHECK(span_eq(ev->mail.auth, v.ptr, v.len), "EV_MAIL auth is not the AUTH= value as sent");
        if (!span_eq(v, "<>", 2)) {
            long dl = v.len <= 500 ? ref_xtext(v.ptr, v.len, dec) : -1;
            FZ_CHECK(dl > 0, "AUTH= that is neither <> nor xtext accepted (RFC 4954 5)");
            FZ_CHECK(printable(dec, dl), "AUTH= decoding to control or 8-bit octets accepted");
        }
    } else {
        FZ_CHECK(ev->mail.auth.len == 0, "EV_MAIL auth without AUTH=");
    }
    if (find_param(x, ev->mail.params, "SIZE", &v, &cnt)) {
        uint64_t n = 0;
        size_t i;
        int fits = all_digits(v.ptr, v.len);
        for (i = 0; fits && i < v.len; i++) {
            if (n > (UINT64_MAX - 9) / 10)
                fits = 0;
            n = n * 10 + (uint64_t)(v.ptr[i] - '0');
        }
        FZ_CHECK(!fits || ev->mail.size == n, "EV_MAIL size differs from SIZE=");
    } else {
        FZ_CHECK(ev->mail.size == 0, "EV_MAIL size without SIZE=");
    }
    if (find_param(x, ev->mail.params, "BODY", &v, &cnt)) {
        FZ_CHECK((ci_eq(v.ptr, v.len, "7BIT") && ev->mail.body == SMTP_BODY_7BIT) ||
                     (ci_eq(v.ptr, v.len, "8BITMIME") && ev->mail.body == SMTP_BODY_8BITMIME) ||
                     (ci_eq(v.ptr, v.len, "BINARYMIME") && ev->mail.body == SMTP_BODY_BINARYMIME),
                 "EV_MAIL body differs from BODY=");
    } else {
        FZ_CHECK(ev->mail.body == SMTP_BODY_NONE, "EV_MAIL body without BODY=");
    }
    FZ_CHECK(ev->mail.smtputf8 == find_param(x, ev->mail.params, "SMTPUTF8", &v, &cnt),
             "EV_MAIL smtputf8 differs from the SMTPUTF8 parameter");
}

static void check_dsn_rcpt(struct ext *x, const union smtp_event *ev)
{
    struct smtp_span v;
    int cnt;
    char dec[600], dec2[600];
    check_repeats(x, ev->rcpt.params);
    if (find_param(x, ev->rcpt.params, "NOTIFY", &v, &cnt)) {
        int bits = notify_set(v.ptr, v.len);
        FZ_CHECK(ext_on(x, X_DSN), "NOTIFY= accepted with DSN off");
        FZ_CHECK(bits >= 0, "NOTIFY= with an unknown, repeated or empty value, or NEVER with others, "
                            "accepted (RFC 3461 4.1)");
        FZ_CHECK(ev->rcpt.notify == (unsigned)bits, "EV_RCPT notify differs from NOTIFY=");
    } else {
        FZ_CHECK(ev->rcpt.notify == 0, "EV_RCPT notify without NOTIFY=");
    }
    if (find_param(x, ev->rcpt.params, "ORCPT", &v, &cnt)) {
        size_t semi = 0, i;
        long dl, dl2;
        FZ_CHECK(ext_on(x, X_DSN), "ORCPT= accepted with DSN off");
        FZ_CHECK(span_eq(ev->rcpt.orcpt, v.ptr, v.len), "EV_RCPT orcpt is not the ORCPT= value as sent");
        while (semi < v.len && v.ptr[semi] != ';')
            semi++;
        FZ_CHECK(semi > 0 && semi < v.len, "ORCPT= without addr-type ';' accepted");
        for (i = 0; i < semi; i++)
            FZ_CHECK(is_atext((unsigned char)v.ptr[i]), "ORCPT= addr-type not an atom accepted");
        dl = ref_xtext(v.ptr + semi + 1, v.len - semi - 1, dec);
        FZ_CHECK(dl >= 0, "ORCPT= with malformed xtext accepted (RFC 3461 4.2)");
        FZ_CHECK(printable(dec, dl), "ORCPT= decoding to control or 8-bit octets accepted (RFC 3461 4.2)");
        dl2 = smtp_xtext_decode(v.ptr + semi + 1, v.len - semi - 1, dec2, sizeof dec2);
        FZ_CHECK(dl2 == dl && memcmp(dec, dec2, (size_t)dl) == 0,
                 "smtp_xtext_decode() differs from the reference on ORCPT");
    } else {
        FZ_CHECK(ev->rcpt.orcpt.len == 0, "EV_RCPT orcpt without ORCPT=");
    }
}

/* The event's own member: no span NULL (smtp.h), values in range.  Nothing
 * else of the union is read: smtp_feed() fills only that member. */
static void check_fields(int st, const union smtp_event *ev)
{
    const struct smtp_span *sp[4];
    size_t n = 0, i;
    switch (st) {
    case SMTP_EV_HELO: case SMTP_EV_EHLO:
        sp[n++] = &ev->hello.domain;
        break;
    case SMTP_EV_VRFY: case SMTP_EV_EXPN: case SMTP_EV_HELP: case SMTP_EV_NOOP:
        sp[n++] = &ev->string.arg;
        break;
    case SMTP_EV_MAIL:
    case SMTP_EV_RCPT:
        sp[n++] = &ev->mail.path.mailbox;
        sp[n++] = &ev->mail.path.local;
        sp[n++] = &ev->mail.path.domain;
        sp[n++] = &ev->mail.params;
        if (st == SMTP_EV_MAIL)
            FZ_CHECK(ev->mail.mode == SMTP_MODE_MAIL && ev->mail.body <= SMTP_BODY_BINARYMIME &&
                         ev->mail.smtputf8 <= 1 && ev->mail.ret <= SMTP_RET_HDRS &&
                         ev->mail.envid.ptr && ev->mail.auth.ptr,
                     "EV_MAIL fields out of range or NULL");
        else
            FZ_CHECK(ev->rcpt.notify <= 15 && ev->rcpt.orcpt.ptr, "EV_RCPT fields out of range or NULL");
        break;
    case SMTP_EV_BODY:
        sp[n++] = &ev->body.data;
        break;
    case SMTP_EV_DATA_END:
        FZ_CHECK(ev->end.reject <= SMTP_REJECT_SIZE, "EV_DATA_END reject out of range");
        break;
    case SMTP_EV_BDAT:
        FZ_CHECK(ev->bdat.last <= 1, "EV_BDAT last out of range");
        break;
    case SMTP_EV_AUTH:
        sp[n++] = &ev->auth.authzid;
        sp[n++] = &ev->auth.user;
        sp[n++] = &ev->auth.pass;
        FZ_CHECK(ev->auth.mech == SMTP_MECH_PLAIN || ev->auth.mech == SMTP_MECH_LOGIN,
                 "EV_AUTH mech out of range");
        break;
    default: /* CONNECT, RSET, QUIT, STARTTLS, DATA: nothing or a count */
        break;
    }
    for (i = 0; i < n; i++)
        FZ_CHECK(sp[i]->ptr != NULL, "an event span with a NULL ptr (smtp.h: never NULL)");
}

/* The words of a command's event are the argument found by the blank rules:
 * HELO/EHLO domain and VRFY/EXPN/HELP/NOOP argument exactly; for MAIL and
 * RCPT the path after "FROM:"/"TO:" and its blanks, and the parameters as
 * the rest, without blanks at their edges. */
static void check_arg(struct ext *x, int st, const union smtp_event *ev, const struct line *l)
{
    const char *a = (const char *)x->cs + l->arg;
    size_t an = l->alen, i;
    if (l->kind != K_LINE)
        return;
    switch (st) {
    case SMTP_EV_HELO: case SMTP_EV_EHLO:
        FZ_CHECK(span_eq(ev->hello.domain, a, an),
                 "HELO/EHLO domain is not the argument after the verb's blanks, without trailing blanks");
        for (i = 0; i < an; i++)
            FZ_CHECK(a[i] != ' ' && a[i] != '\t', "a HELO/EHLO domain with a blank accepted");
        break;
    case SMTP_EV_VRFY: case SMTP_EV_EXPN: case SMTP_EV_HELP: case SMTP_EV_NOOP:
        FZ_CHECK(span_eq(ev->string.arg, a, an),
                 "the argument is not the text after the verb's blanks, without trailing blanks");
        break;
    case SMTP_EV_MAIL:
    case SMTP_EV_RCPT: {
        struct smtp_span ps = ev->mail.params;
        const struct smtp_path *pa = &ev->mail.path;
        size_t pre = st == SMTP_EV_MAIL ? 5 : 3, k = pre;
        FZ_CHECK(an >= pre && ci_eq(a, pre, st == SMTP_EV_MAIL ? "FROM:" : "TO:"),
                 "EV_MAIL/EV_RCPT for an argument without FROM:/TO:");
        if (x->strict)
            FZ_CHECK(an == pre || (a[pre] != ' ' && a[pre] != '\t'),
                     "strict spaces: a blank after FROM:/TO: accepted (RFC 5321 4.1.2)");
        while (k < an && blank(x, a[k]))
            k++;
        FZ_CHECK(pa->len >= 2 && k + pa->len <= an && a[k] == '<' && a[k + pa->len - 1] == '>' &&
                     pa->mailbox.len + 2 <= pa->len &&
                     memcmp(a + k + pa->len - 1 - pa->mailbox.len, pa->mailbox.ptr, pa->mailbox.len) == 0,
                 "the path is not the <...> after FROM:/TO: and its blanks");
        if (ps.len > 0) {
            FZ_CHECK(ps.len < an - k - pa->len && memcmp(a + an - ps.len, ps.ptr, ps.len) == 0 &&
                         blank(x, a[an - ps.len - 1]),
                     "params are not the words after the path");
            FZ_CHECK(!blank(x, ps.ptr[0]) && !blank(x, ps.ptr[ps.len - 1]), "params with blanks at an edge");
            for (i = 0; x->strict && i < ps.len; i++)
                FZ_CHECK(ps.ptr[i] != '\t' && !(ps.ptr[i] == ' ' && i + 1 < ps.len && ps.ptr[i + 1] == ' '),
                         "strict spaces: a HTAB or two SPs between parameters accepted");
        } else {
            FZ_CHECK(k + pa->len == an, "text after the path but no params");
        }
        break;
    }
    default:
        break;
    }
}

static int ev_verb_ok(int st, const struct line *l)
{
    switch (st) {
    case SMTP_EV_HELO: return verb_is(l, "HELO");
    case SMTP_EV_EHLO: return verb_is(l, "EHLO");
    case SMTP_EV_MAIL: return verb_is(l, "MAIL");
    case SMTP_EV_RCPT: return verb_is(l, "RCPT");
    case SMTP_EV_DATA: return verb_is(l, "DATA");
    case SMTP_EV_RSET: return verb_is(l, "RSET");
    case SMTP_EV_VRFY: return verb_is(l, "VRFY");
    case SMTP_EV_EXPN: return verb_is(l, "EXPN");
    case SMTP_EV_HELP: return verb_is(l, "HELP");
    case SMTP_EV_NOOP: return verb_is(l, "NOOP");
    case SMTP_EV_QUIT: return verb_is(l, "QUIT");
    case SMTP_EV_STARTTLS: return verb_is(l, "STARTTLS");
    case SMTP_EV_BDAT: return verb_is(l, "BDAT");
    case SMTP_EV_AUTH: return l->kind == K_AUTHRESP || verb_is(l, "AUTH");
    case SMTP_EV_DATA_END: return l->kind == K_DATAEND || verb_is(l, "BDAT");
    default: return 0;
    }
}

static void on_event(struct ext *x, int st, const union smtp_event *ev)
{
    struct line *l = &x->head;
    parse_more(x);
    FZ_CHECK(!x->tls_wait, "an event between STARTTLS's 220 and smtp_tls_done()");
    check_fields(st, ev);
    if (x->mode == M_CHUNK && x->left > 0) {
        FZ_CHECK(st == SMTP_EV_BODY, "another event inside a BDAT chunk");
        FZ_CHECK((uint64_t)ev->body.data.len <= x->left, "EV_BODY past the BDAT chunk");
        FZ_CHECK(x->mp + ev->body.data.len <= x->n &&
                     memcmp(ev->body.data.ptr, x->cs + x->mp, ev->body.data.len) == 0,
                 "BDAT EV_BODY differs from the client's octets (RFC 3030 2)");
        x->mp += ev->body.data.len;
        x->left -= ev->body.data.len;
        x->sum_body += ev->body.data.len;
        if (x->left == 0)
            x->mode = M_CMD;
        return;
    }
    if (st == SMTP_EV_BODY) {
        FZ_CHECK(x->mode == M_DATA, "EV_BODY outside DATA and BDAT chunks");
        x->sum_body += ev->body.data.len;
        return;
    }
    if (st == SMTP_EV_CONNECT) {
        FZ_CHECK(!x->greeted && !x->have_head, "EV_CONNECT after the start");
        return;
    }
    FZ_CHECK(x->have_head, "an event with no command behind it");
    FZ_CHECK(!l->bad, "an event for a malformed line");
    FZ_CHECK(l->ev == 0 || (st == SMTP_EV_DATA_END && l->ev == SMTP_EV_BDAT),
             "two events for one command");
    FZ_CHECK(ev_verb_ok(st, l), "event differs from the command the client sent");
    check_arg(x, st, ev, l);
    l->ev = st;
    switch (st) {
    case SMTP_EV_MAIL:
        FZ_CHECK(x->helo, "EV_MAIL before HELO/EHLO");
        FZ_CHECK(!((x->opts & SMTP_OPT_REQUIRE_TLS) && !x->tls),
                 "EV_MAIL before TLS with SMTP_OPT_REQUIRE_TLS (RFC 3207 4)");
        check_dsn_mail(x, ev);
        if (ev->mail.body == SMTP_BODY_BINARYMIME)
            FZ_CHECK((x->exts & (X_CHUNK)) == X_CHUNK && X_CHUNK != 0,
                     "BODY=BINARYMIME accepted without CHUNKING+BINARYMIME");
        if (has8(ev->mail.path.mailbox))
            FZ_CHECK(ev->mail.smtputf8 && ref_utf8(ev->mail.path.mailbox.ptr, ev->mail.path.mailbox.len),
                     "8-bit reverse-path without SMTPUTF8 or malformed UTF-8 (RFC 6531)");
        x->utf8_mail = ev->mail.smtputf8;
        x->binary = ev->mail.body == SMTP_BODY_BINARYMIME;
        break;
    case SMTP_EV_RCPT:
        check_dsn_rcpt(x, ev);
        if (has8(ev->mail.path.mailbox))
            FZ_CHECK(x->utf8_mail && ref_utf8(ev->mail.path.mailbox.ptr, ev->mail.path.mailbox.len),
                     "8-bit forward-path without SMTPUTF8 or malformed UTF-8 (RFC 6531)");
        if (ev->rcpt.path.local.len > 0 && (ev->rcpt.path.local.ptr[0] == 'G' || ev->rcpt.path.local.ptr[0] == 'g'))
            FZ_CHECK(smtp_reply(&x->s, 550, NULL, NULL) == SMTP_OK, "smtp_reply(550) refused");
        break;
    case SMTP_EV_DATA:
        FZ_CHECK(!x->bdat_used && !x->binary, "EV_DATA after BDAT or BODY=BINARYMIME (RFC 3030)");
        break;
    case SMTP_EV_STARTTLS:
        FZ_CHECK(ext_on(x, X_TLS) && !x->tls, "EV_STARTTLS with STARTTLS off or after TLS");
        if (x->b1 & 0x10u)
            FZ_CHECK(smtp_reply(&x->s, 454, NULL, "TLS not available") == SMTP_OK,
                     "smtp_reply(454) refused for STARTTLS");
        else if (x->b1 & 0x20u)
            FZ_CHECK(smtp_reply(&x->s, 220, NULL, NULL) == SMTP_OK,
                     "smtp_reply(220) refused for STARTTLS");
        break;
    case SMTP_EV_BDAT: {
        uint64_t n;
        int last;
        FZ_CHECK(ext_on(x, SMTP_EXT_CHUNKING & X_CHUNK), "EV_BDAT with CHUNKING off");
        FZ_CHECK(bdat_size(x, l, &n, &last) == 1, "EV_BDAT for an unreadable size");
        FZ_CHECK(last >= 0, "EV_BDAT for a line with more than LAST after the size");
        FZ_CHECK(ev->bdat.size == n && ev->bdat.last == (uint8_t)last, "EV_BDAT size/LAST differ from the line");
        FZ_CHECK(x->ehlo && x->mail && x->rcpt_ok > 0, "EV_BDAT without EHLO, MAIL and a RCPT");
        /* n may be near UINT64_MAX: compare without adding */
        FZ_CHECK(x->cfg.max_size == 0 || (x->sum_chunks <= x->cfg.max_size && n <= x->cfg.max_size - x->sum_chunks),
                 "EV_BDAT for a chunk over max_size");
        l->bdat = 1;
        x->bdat_used = 1;
        x->sum_chunks += n;
        x->left = n;
        x->mode = n ? M_CHUNK : M_CMD;
        break;
    }
    case SMTP_EV_DATA_END:
        FZ_CHECK(ev->end.size == x->sum_body, "EV_DATA_END size differs from the EV_BODY octets");
        if (l->kind == K_LINE) {
            uint64_t n;
            int last;
            FZ_CHECK(bdat_size(x, l, &n, &last) == 1, "EV_DATA_END for a BDAT without a size");
            if (l->bdat) {
                FZ_CHECK(last && x->left == 0, "EV_DATA_END after a non-LAST or unfinished chunk");
                FZ_CHECK(x->sum_body == x->sum_chunks,
                         "BDAT message length differs from the sum of the chunk sizes");
            } else {
                FZ_CHECK(ev->end.reject == SMTP_REJECT_SIZE && x->cfg.max_size != 0 &&
                             (x->sum_chunks > x->cfg.max_size || n > x->cfg.max_size - x->sum_chunks),
                         "EV_DATA_END for a BDAT with no EV_BDAT and no size refusal");
            }
        }
        l->dataend = 1;
        break;
    case SMTP_EV_AUTH: {
        struct cred c;
        FZ_CHECK(auth_allowed(x), "EV_AUTH when AUTH is not allowed (RFC 4954 4)");
        FZ_CHECK(x->amech == ev->auth.mech || (l->kind == K_LINE && ev->auth.mech == 1),
                 "EV_AUTH mechanism differs");
        if (l->kind == K_LINE)
            x->amech = 1;
        ref_cred(x, l, &c);
        FZ_CHECK(c.ok || (x->amech == 2 && !c.cancel && c.u != NULL),
                 "EV_AUTH for credentials the reference cannot decode");
        FZ_CHECK(span_eq(ev->auth.user, c.u, c.ul), "EV_AUTH user differs from the reference decoding");
        FZ_CHECK(span_eq(ev->auth.pass, c.pw, c.pl), "EV_AUTH pass differs from the reference decoding");
        FZ_CHECK(x->amech == 2 || span_eq(ev->auth.authzid, c.z, c.zl),
                 "EV_AUTH authzid differs from the reference decoding");
        l->auth_ev = 1;
        if (span_eq(ev->auth.user, "alice", 5) && span_eq(ev->auth.pass, "s3cret", 6)) {
            FZ_CHECK(smtp_reply(&x->s, 235, NULL, NULL) == SMTP_OK, "smtp_reply(235) refused");
            l->app235 = 1;
        }
        break;
    }
    default:
        break;
    }
}

/* ------------------------------------------------------------ replies */

static void check_ehlo(struct ext *x, const char *r, size_t n)
{
    int st = 0, au = 0, ch = 0, bm = 0, dsn = 0, plain = 0, login = 0;
    size_t i = 0;
    while (i < n) {
        size_t e = i, k;
        const char *t;
        while (e < n && r[e] != '\r')
            e++;
        t = r + i + 4;
        for (k = 0; t + k < r + e && t[k] != ' '; k++)
            ;
        if (i > 0) {
            if (ci_eq(t, k, "STARTTLS"))
                st = 1;
            if (ci_eq(t, k, "CHUNKING"))
                ch = 1;
            if (ci_eq(t, k, "BINARYMIME"))
                bm = 1;
            if (ci_eq(t, k, "DSN"))
                dsn = 1;
            if (ci_eq(t, k, "AUTH")) {
                size_t j = k;
                au = 1;
                while (t + j < r + e) {
                    size_t w = j + 1, q;
                    for (q = w; t + q < r + e && t[q] != ' '; q++)
                        ;
                    plain |= ci_eq(t + w, q - w, "PLAIN");
                    login |= ci_eq(t + w, q - w, "LOGIN");
                    j = q;
                }
            }
        }
        i = e + 2;
    }
    FZ_CHECK(st == (ext_on(x, X_TLS) && !x->tls),
             "EHLO lists STARTTLS wrongly (listed after TLS, or missing)");
    FZ_CHECK(ch == (ext_on(x, SMTP_EXT_CHUNKING & X_CHUNK) != 0), "EHLO lists CHUNKING wrongly");
    FZ_CHECK(!bm || (ch && ext_on(x, SMTP_EXT_BINARYMIME & X_CHUNK)),
             "EHLO lists BINARYMIME wrongly");
    FZ_CHECK(dsn == (ext_on(x, X_DSN) != 0), "EHLO lists DSN wrongly");
    FZ_CHECK(!au || (ext_on(x, X_AUTH) && (x->tls || (x->opts & SMTP_OPT_AUTH_PLAINTEXT))),
             "EHLO lists AUTH before TLS without AUTH_PLAINTEXT (RFC 4954 4)");
    FZ_CHECK(au || !ext_on(x, X_AUTH) || x->authed ||
                 !(x->tls || (x->opts & SMTP_OPT_AUTH_PLAINTEXT)) ||
                 ((x->opts & SMTP_OPT_REQUIRE_TLS) && !x->tls),
             "EHLO does not list AUTH although it is allowed");
    FZ_CHECK(!au || (plain && login), "EHLO AUTH without PLAIN and LOGIN");
}

/* The replies that count towards max_errors (smtp.h: syntax and sequence
 * errors, 500-504 and 555) when the core gives them itself. */
static int err_code(int code)
{
    return (code >= 500 && code <= 504) || code == 555;
}

static int err_limit(const struct ext *x)
{
    return x->max_err != 0xffff && x->errors >= x->max_err;
}

/* The reply text starts with enhanced code e (RFC 2034: only after EHLO;
 * ENHANCEDSTATUSCODES is always on here). */
static int enh_is(const struct ext *x, const char *t, size_t tl, const char *e)
{
    size_t n = strlen(e);
    if (!x->ehlo)
        return 1;
    return tl >= n && memcmp(t, e, n) == 0 && (tl == n || t[n] == ' ');
}

/* The reply must be error `want`, or, once max_errors errors have been
 * answered, 421 4.7.0 in its place (the session then ends). */
static int want_err(struct ext *x, int code, const char *t, size_t tl, int want)
{
    if (code == 421 && err_limit(x) && enh_is(x, t, tl, "4.7.0")) {
        x->r421 = 1;
        return 1;
    }
    return code == want;
}

/* A 421 that is the session's end for an unreadable BDAT (RFC 5321 3.8). */
static int bdat421(struct ext *x, int code, const char *t, size_t tl)
{
    if (code == 421 && enh_is(x, t, tl, "4.5.4")) {
        x->r421 = 1;
        return 1;
    }
    return 0;
}

/* Repeated MAIL/RCPT parameters and xtext that decodes to control octets
 * (issue 9), checked against a copy of the session taken at the start of
 * the line: the copy is fed the same line without the repeats and without
 * those xtext values. */
#define MAXTOK 24
static void check_params_shadow(struct ext *x, const struct line *l, int code, const char *t, size_t tl)
{
    const uint8_t *p = x->cs + l->arg;
    size_t n = l->alen, i, j, pre, ntok = 0, ta[MAXTOK], tn[MAXTOK], tk[MAXTOK];
    int mail = verb_is(l, "MAIL"), keep[MAXTOK], bad = 0, dropped = 0, st, want;
    uint8_t buf[SMTP_LINE_MAX + 2];
    size_t bl = 0, used = 0;
    struct smtp_session sh;
    union smtp_event ev;
    if (x->snap_pos != l->a || l->bad || !x->ehlo)
        return;
    pre = mail ? 5 : 3;
    if (n < pre || !ci_eq((const char *)p, pre, mail ? "FROM:" : "TO:"))
        return;
    i = pre;
    if (!x->strict)
        while (i < n && blank(x, p[i]))
            i++;
    for (j = i; j < n && !blank(x, p[j]); j++)
        if (p[j] == '"')
            return; /* a quoted local part may hold blanks: no naive split */
    while (j < n) {
        size_t k = j + 1, e;
        if (!x->strict)
            while (k < n && blank(x, p[k]))
                k++;
        for (e = k; e < n && !blank(x, p[e]); e++)
            ;
        if (e == k || ntok == MAXTOK)
            return; /* strictly: two SPs or a trailing one, refused anyway */
        ta[ntok] = k;
        tn[ntok] = e - k;
        for (tk[ntok] = 0; tk[ntok] < e - k && p[k + tk[ntok]] != '='; tk[ntok]++)
            ;
        keep[ntok++] = 1;
        j = e;
    }
    for (i = 0; i < ntok; i++) { /* xtext that decodes to control octets */
        const char *v = (const char *)p + ta[i] + tk[i] + 1;
        size_t vl = tk[i] < tn[i] ? tn[i] - tk[i] - 1 : 0, semi = 0;
        char dec[600];
        long dl;
        int xt = tk[i] < tn[i] &&
                 ((mail && ext_on(x, X_DSN) && ci_eq((const char *)p + ta[i], tk[i], "ENVID")) ||
                  (mail && ext_on(x, X_AUTH) && ci_eq((const char *)p + ta[i], tk[i], "AUTH")) ||
                  (!mail && ext_on(x, X_DSN) && ci_eq((const char *)p + ta[i], tk[i], "ORCPT")));
        if (!xt)
            continue;
        if (ci_eq((const char *)p + ta[i], tk[i], "ORCPT")) {
            while (semi < vl && v[semi] != ';')
                semi++;
            if (semi == vl)
                continue;
            semi++;
        }
        dl = vl - semi <= 500 ? ref_xtext(v + semi, vl - semi, dec) : -1;
        if (dl >= 0 && !printable(dec, dl)) {
            keep[i] = 0;
            bad = 1;
        }
    }
    for (i = 0; i < ntok; i++) { /* repeats of an earlier kept keyword */
        char kw[10];
        size_t c;
        if (!keep[i] || tk[i] >= sizeof kw)
            continue;
        for (c = 0; c < tk[i]; c++)
            kw[c] = (char)up(p[ta[i] + c]);
        kw[c] = '\0';
        for (j = 0; j < i; j++) {
            int sm;
            if (!keep[j] || !ci_eq((const char *)p + ta[j], tk[j], kw))
                continue;
            sm = same_meaning(kw, tk[j] < tn[j] ? (const char *)p + ta[j] + tk[j] + 1 : NULL,
                              tk[j] < tn[j] ? tn[j] - tk[j] - 1 : 0,
                              tk[i] < tn[i] ? (const char *)p + ta[i] + tk[i] + 1 : NULL,
                              tk[i] < tn[i] ? tn[i] - tk[i] - 1 : 0);
            if (sm == 2)
                return; /* the same octets spelt two ways: either answer */
            keep[i] = 0;
            if (sm)
                dropped = 1;
            else
                bad = 1;
            break;
        }
    }
    if (!bad && !dropped)
        return;
    /* the line up to the path, then the kept parameters */
    bl = (l->arg - l->a) + (ntok ? ta[0] : n);
    memcpy(buf, x->cs + l->a, bl);
    for (i = 0; i < ntok; i++) {
        if (!keep[i])
            continue;
        if (bl > (l->arg - l->a) + ta[0])
            buf[bl++] = ' ';
        memcpy(buf + bl, p + ta[i], tn[i]);
        bl += tn[i];
    }
    while (bl > 0 && blank(x, buf[bl - 1]))
        bl--;
    buf[bl++] = '\r';
    buf[bl++] = '\n';
    sh = x->snap;
    memset(&ev, 0, sizeof ev);
    st = smtp_feed(&sh, buf, bl, &used, &ev);
    want = mail ? SMTP_EV_MAIL : SMTP_EV_RCPT;
    FZ_TRACE("  model: shadow line without repeats -> %s (bad %d)\n", smtp_event_name(st), bad);
    FZ_CHECK(st == want || st == SMTP_WANT_WRITE || st == SMTP_CLOSED,
             "the session copy did not answer a whole MAIL/RCPT line");
    if (st != want)
        FZ_CHECK(l->ev == 0, "MAIL/RCPT accepted with extra parameters, refused without them");
    else if (bad)
        FZ_CHECK(l->ev == 0 && want_err(x, code, t, tl, 501) && (code == 421 || enh_is(x, t, tl, "5.5.4")),
                 "a conflicting repeated parameter, or xtext decoding to control octets, not refused "
                 "with 501 5.5.4 (issue 9)");
    else
        FZ_CHECK(l->ev == want, "a parameter repeated with the same meaning refused (issue 9)");
}

static int alnum(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* MAIL's argument is "FROM:" [blanks] "<" simple address ">" (letters and
 * digits, one "@", dot-separated labels): 1 without a blank after the
 * colon, 2 with blanks (by default accepted, strictly 501), 0 otherwise. */
static int simple_from(const struct ext *x, const struct line *l)
{
    const uint8_t *p = x->cs + l->arg;
    size_t n = l->alen, i = 5, k, lab = 0;
    int blanks = 0, at = 0;
    if (n < 5 || !ci_eq((const char *)p, 5, "FROM:"))
        return 0;
    while (i < n && blank(x, p[i]))
        i++, blanks = 1;
    if (i + 2 >= n || p[i] != '<' || p[n - 1] != '>')
        return 0;
    for (k = i + 1; k < n - 1; k++) {
        if (alnum(p[k]) && lab < 60) {
            lab++;
        } else if ((p[k] == '@' && !at) || (p[k] == '.' && at)) {
            if (lab == 0)
                return 0;
            at |= p[k] == '@';
            lab = 0;
        } else {
            return 0;
        }
    }
    return at && lab > 0 && n - i < 200 ? 1 + blanks : 0;
}

/* The reply to line l, checked against the model and moving it on. */
static void reply_line(struct ext *x, struct line *l, int code, const char *r, size_t n, const char *text,
                       size_t tlen)
{
    int chunking = ext_on(x, SMTP_EXT_CHUNKING & X_CHUNK) != 0;
    if (l->bad) {
        if (l->kind == K_LINE && chunking && l->bdat_bad == 1)
            FZ_CHECK(bdat421(x, code, text, tlen),
                     "a malformed BDAT line (its chunk cannot be located) not answered 421 4.5.4");
        else if (l->kind == K_LINE && chunking && l->bdat_bad == 2)
            FZ_CHECK(bdat421(x, code, text, tlen) || want_err(x, code, text, tlen, 500),
                     "a malformed line not answered 500 (or 421 4.5.4 as BDAT)");
        else
            FZ_CHECK(want_err(x, code, text, tlen, 500),
                     "malformed line (bare CR/LF, NUL, too long) not answered 500");
        x->astep = A_NONE;
        return;
    }
    if (l->kind == K_DATAEND) {
        reset_tx(x);
        return;
    }
    if (l->kind == K_LINE) {
        static const char *const known[] = {"HELO", "EHLO", "MAIL", "RCPT", "DATA", "RSET", "SEND",
                                            "SOML", "SAML", "VRFY", "EXPN", "HELP", "NOOP", "QUIT",
                                            "TURN", "ATRN", "BDAT", "AUTH", "STARTTLS"};
        size_t i;
        for (i = 0; i < sizeof known / sizeof known[0] && strcmp(l->verb, known[i]) != 0; i++)
            ;
        if (i == sizeof known / sizeof known[0]) {
            FZ_CHECK(want_err(x, code, text, tlen, 500),
                     "an unknown verb (strictly: HTAB is no separator) not answered 500");
            return;
        }
    }
    if (l->kind == K_AUTHRESP || verb_is(l, "AUTH")) {
        int ir = 0, mech = l->kind == K_AUTHRESP ? x->amech : auth_mech(x, l, &ir);
        if (l->kind == K_LINE && ext_on(x, X_AUTH) && (!x->ehlo || x->authed || x->mail)) {
            FZ_CHECK(want_err(x, code, text, tlen, 503),
                     "AUTH before EHLO, after AUTH or in a transaction not answered 503, whatever "
                     "its argument (RFC 4954 4, issue 9)");
            x->astep = A_NONE;
            return;
        }
        if (code == 334) {
            FZ_CHECK(is_b64_text(text, tlen), "334 text is not base64 (RFC 4954 4)");
            FZ_CHECK(auth_allowed(x) && mech != 0, "334 when AUTH is not allowed");
            if (l->kind == K_LINE) {
                x->amech = mech;
                if (mech == 1) {
                    FZ_CHECK(!ir, "334 after a PLAIN initial response");
                    x->astep = A_PLAIN;
                } else if (ir) {
                    auth_data(x, l, &x->auser, &x->auser_len);
                    x->astep = A_PASS;
                } else {
                    x->astep = A_USER;
                }
            } else {
                FZ_CHECK(x->astep == A_USER,
                         "a second 334 in a PLAIN exchange or after the password");
                auth_data(x, l, &x->auser, &x->auser_len);
                x->astep = A_PASS;
            }
            return;
        }
        if (l->auth_ev) {
            if (l->app235) {
                FZ_CHECK(code == 235, "AUTH reply differs from the app's 235");
            } else if (x->max_af != 255 && ++x->auth_fails > x->max_af) {
                FZ_CHECK(code == 421 && enh_is(x, text, tlen, "4.7.0"),
                         "an AUTH refusal past max_auth_fails not replaced by 421 4.7.0 (issue 9)");
                x->r421 = 1;
            } else {
                FZ_CHECK(code == 535, "AUTH refused by the app (its default) not answered 535");
            }
        } else {
            FZ_CHECK(code != 235, "235 without EV_AUTH");
            if (x->astep != A_NONE && x->astep != A_USER) {
                struct cred c;
                ref_cred(x, l, &c);
                FZ_CHECK(!c.ok || (x->amech == 2 && (c.ul == 0 || c.ul > SMTP_AUTH_USER_MAX)),
                         "valid credentials were not handed to the app");
                FZ_CHECK(want_err(x, code, text, tlen, 501), "bad base64, PLAIN or cancel not answered 501");
            } else if (x->astep == A_USER || (l->kind == K_LINE && mech == 1 && ir)) {
                size_t a, dn;
                uint8_t tmp[600];
                auth_data(x, l, &a, &dn);
                if (x->astep == A_NONE && !(auth_allowed(x) && mech))
                    ; /* AUTH refused before its response was looked at */
                else if (dn == 1 && x->cs[a] == '*')
                    FZ_CHECK(want_err(x, code, text, tlen, 501), "AUTH cancel '*' not answered 501");
                else if (dn <= 600 && ref_b64(x->cs + a, dn, tmp) < 0)
                    FZ_CHECK(want_err(x, code, text, tlen, 501), "bad base64 not answered 501");
            }
        }
        if (code == 235)
            x->authed = 1;
        x->astep = A_NONE;
        return;
    }
    if (verb_is(l, "BDAT") && chunking) {
        uint64_t sz;
        int last, rs = bdat_size(x, l, &sz, &last);
        if (l->bdat) {
            FZ_CHECK(x->left == 0, "BDAT answered before its chunk was taken");
            FZ_CHECK(last ? l->dataend : code == 250, "BDAT chunk not answered 250 / EV_DATA_END");
            if (last)
                reset_tx(x);
            return;
        }
        FZ_CHECK(code >= 500 || code == 421, "a BDAT without EV_BDAT got a non-error reply");
        if (rs == 0) {
            FZ_CHECK(bdat421(x, code, text, tlen),
                     "an unreadable BDAT size not answered 421 4.5.4 (RFC 3030 2, RFC 5321 3.8)");
            FZ_CHECK(smtp_closed(&x->s), "an unreadable BDAT size did not close the session");
            return;
        }
        if (!x->mail || !x->ehlo)
            FZ_CHECK(want_err(x, code, text, tlen, 503),
                     "BDAT before EHLO or before MAIL not answered 503, whatever its argument");
        else if (x->rcpt_ok == 0)
            FZ_CHECK(want_err(x, code, text, tlen, 503) || code == 554,
                     "BDAT with no accepted recipient not answered 503/554");
        else if (rs < 0)
            FZ_CHECK(want_err(x, code, text, tlen, 501), "BDAT with no size not answered 501");
        else if (last < 0)
            FZ_CHECK(want_err(x, code, text, tlen, 501), "BDAT with more than LAST after the size not 501");
        else
            FZ_CHECK(l->dataend, "BDAT in sequence refused without EV_DATA_END (max_size)");
        if (code == 421)
            return;
        FZ_CHECK(!smtp_closed(&x->s), "a refused BDAT with a readable size closed the session");
        if (rs == 1) {
            x->left = sz;
            x->mode = sz ? M_SKIP : M_CMD;
        }
        if (l->dataend)
            reset_tx(x);
        return;
    }
    if (verb_is(l, "RSET") || verb_is(l, "QUIT")) {
        if (l->has_arg)
            FZ_CHECK(want_err(x, code, text, tlen, 501),
                     "RSET/QUIT with an argument not answered 501 (trailing blanks are none by default)");
        else
            FZ_CHECK(l->ev != 0 && code == (verb_is(l, "QUIT") ? 221 : 250),
                     "RSET/QUIT (trailing blanks ignored by default) not answered 250/221");
    }
    if (verb_is(l, "NOOP")) {
        size_t i;
        int word = 1;
        for (i = 0; i < l->alen; i++)
            word &= alnum(x->cs[l->arg + i]);
        if (!l->has_arg || (l->alen > 0 && word))
            FZ_CHECK(l->ev == SMTP_EV_NOOP && code == 250,
                     "NOOP, or NOOP with a word after blanks (by default runs of them), not answered 250");
    }
    if (verb_is(l, "QUIT") && code == 221) {
        x->closed = 1;
        x->mode = M_CLOSED;
        return;
    }
    if ((verb_is(l, "HELO") || verb_is(l, "EHLO")) && code == 250) {
        reset_tx(x);
        x->helo = 1;
        x->ehlo = verb_is(l, "EHLO");
        if (x->ehlo)
            check_ehlo(x, r, n);
        return;
    }
    if (verb_is(l, "MAIL")) {
        int sf = simple_from(x, l);
        if (!x->helo || x->mail)
            FZ_CHECK(want_err(x, code, text, tlen, 503),
                     "MAIL before HELO/EHLO or in a transaction not answered 503, whatever its argument");
        else if (sf == 2 && x->strict)
            FZ_CHECK(want_err(x, code, text, tlen, 501),
                     "strict spaces: MAIL FROM: <...> (a blank after the colon) not answered 501");
        else if (sf != 0 && !((x->opts & SMTP_OPT_REQUIRE_TLS) && !x->tls))
            FZ_CHECK(code == 250 && l->ev == SMTP_EV_MAIL,
                     "MAIL FROM:<simple address> refused (by default blanks may follow FROM:)");
        else
            check_params_shadow(x, l, code, text, tlen);
        if (code == 250) {
            FZ_CHECK(l->ev == SMTP_EV_MAIL, "MAIL 250 without EV_MAIL");
            x->mail = 1;
            x->rcpt_ok = 0;
            x->sum_body = x->sum_chunks = 0;
        }
        return;
    }
    if (verb_is(l, "RCPT")) {
        if (!x->mail)
            FZ_CHECK(want_err(x, code, text, tlen, 503),
                     "RCPT before MAIL not answered 503, whatever its argument");
        else
            check_params_shadow(x, l, code, text, tlen);
        if (code == 250 || code == 251)
            x->rcpt_ok++;
        return;
    }
    if (verb_is(l, "DATA")) {
        if (!x->mail)
            FZ_CHECK(want_err(x, code, text, tlen, 503), "DATA before MAIL not answered 503");
        else if (x->rcpt_ok == 0)
            FZ_CHECK(want_err(x, code, text, tlen, 503) || code == 554,
                     "DATA with no accepted recipient not answered 503/554");
        else if (x->bdat_used || x->binary)
            FZ_CHECK(want_err(x, code, text, tlen, 503),
                     "DATA after BDAT or BODY=BINARYMIME not answered 503, whatever its argument");
        if (code == 354) {
            struct fz_ref ref;
            fz_ref_data(x->cs + x->mp, x->n - x->mp, 0, NULL, &ref);
            x->mode = M_DATA;
            x->data_end = ref.found ? x->mp + ref.end + 3 : (size_t)-1;
            x->sum_body = 0;
        }
        return;
    }
    if (verb_is(l, "RSET") && code == 250) {
        reset_tx(x);
        return;
    }
    if (verb_is(l, "STARTTLS")) {
        if (ext_on(x, X_TLS) && (x->tls || x->mail))
            FZ_CHECK(want_err(x, code, text, tlen, 503),
                     "STARTTLS under TLS or in a transaction not answered 503, whatever its argument");
        if (code == 220) {
            FZ_CHECK(l->ev == SMTP_EV_STARTTLS && !(x->b1 & 0x10u),
                     "STARTTLS 220 without EV_STARTTLS or against the app's 454");
            x->tls_wait = 1;
            x->mode = M_TLSWAIT;
        }
        return;
    }
}

static void on_reply(struct ext *x, int code, const char *r, size_t n)
{
    struct line *l = &x->head;
    const char *text = r + 4;
    size_t tlen = 0;
    while (text + tlen < r + n && text[tlen] != '\r')
        tlen++;
    FZ_TRACE("  model: reply %d\n", code);
    FZ_CHECK(!x->closed, "a reply after the session ended (221/421/unreadable BDAT)");
    FZ_CHECK(!x->tls_wait, "a reply between STARTTLS's 220 and smtp_tls_done()");
    if (!x->greeted) {
        FZ_CHECK(code == 220, "greeting is not 220");
        x->greeted = 1;
        return;
    }
    parse_more(x);
    FZ_CHECK(x->have_head, "a reply that no command provoked");
    FZ_CHECK(!(x->mode == M_CHUNK && x->left > 0), "a reply inside a BDAT chunk");
    x->have_head = 0;
    if (err_code(code) && l->ev == 0) {
        FZ_CHECK(!err_limit(x), "a syntax or sequence error past max_errors not replaced by 421");
        x->errors++;
    }
    x->r421 = 0;
    reply_line(x, l, code, r, n, text, tlen);
    if (code == 421) {
        /* the core ends a session only with 421, and only for a reason */
        if (!x->r421)
            FZ_CHECK(l->ev == 0 && err_limit(x) && enh_is(x, text, tlen, "4.7.0"),
                     "421 for no reason: not past max_errors or max_auth_fails, no unreadable BDAT");
        FZ_CHECK(smtp_closed(&x->s), "421 but the session goes on");
        x->closed = 1;
        x->mode = M_CLOSED;
    }
}

static void take_output(struct ext *x)
{
    for (;;) {
        size_t olen = 0, i;
        const char *o = smtp_output(&x->s, &olen);
        if (olen == 0)
            return;
        fz_dump("  reply", o, olen);
        for (i = 0; i < olen; i++) {
            char c = o[i];
            fz_rp_byte(&x->rp, c);
            if (x->rlen < sizeof x->rbuf)
                x->rbuf[x->rlen++] = c;
            if (c == '\n') {
                size_t ls = x->lstart;
                x->lstart = x->rlen;
                if (x->rlen - ls >= 4 && x->rbuf[ls + 3] == ' ') {
                    int code = (x->rbuf[0] - '0') * 100 + (x->rbuf[1] - '0') * 10 +
                               (x->rbuf[2] - '0');
                    on_reply(x, code, x->rbuf, x->rlen);
                    x->rlen = x->lstart = 0;
                }
            }
        }
        smtp_output_done(&x->s, olen);
    }
}

/* ------------------------------------------------------------ driver */

static void drive(struct ext *x, size_t end)
{
    static const size_t splits[4] = {0, 1, 3, 17};
    size_t step = splits[(x->b1 >> 1) & 3u];
    unsigned long rounds = 0, limit = 64ul * (unsigned long)x->n + 4096ul;
    for (;;) {
        size_t offer = end - x->pos, used = 99999, olen;
        union smtp_event ev;
        int st;
        FZ_CHECK(++rounds < limit, "no progress: smtp_feed() loops without taking input");
        if (step && offer > step)
            offer = step;
        if (x->mode == M_SKIP)
            parse_more(x);
        if (x->mode == M_CMD && !x->have_head && x->astep == A_NONE && x->mp == x->pos && x->greeted &&
            !x->closed && x->snap_pos != x->pos) {
            /* a command line starts here: keep a copy of the session */
            (void)smtp_output(&x->s, &olen);
            if (olen == 0) {
                x->snap = x->s;
                x->snap_pos = x->pos;
            }
        }
        memset(&ev, 0x5a, sizeof ev);
        st = smtp_feed(&x->s, x->cs + x->pos, offer, &used, &ev);
        FZ_TRACE("feed(%lu) -> %s, used %lu\n", (unsigned long)offer, smtp_event_name(st),
                 (unsigned long)used);
        FZ_CHECK(used <= offer, "smtp_feed: consumed more than offered");
        fz_dump("  took", x->cs + x->pos, used);
        if (x->closed || x->mode == M_CLOSED)
            FZ_CHECK(st == SMTP_CLOSED && used == 0, "input taken after the session closed");
        if (x->tls_wait) {
            (void)smtp_output(&x->s, &olen);
            FZ_CHECK(st == SMTP_NEED_INPUT && used == offer && olen == 0,
                     "after STARTTLS's 220 a byte was not taken, or gave output (RFC 3207 5)");
        }
        x->pos += used;
        if (st == SMTP_NEED_INPUT)
            FZ_CHECK(used == offer, "NEED_INPUT but not every byte was taken");
        if (st > 0) {
            FZ_CHECK(ev.type == st, "ev.type differs from the return value");
            on_event(x, st, &ev);
        }
        take_output(x);
        /* RFC 5321 3.8: a server that ends a session says 421 (221 to QUIT) */
        FZ_CHECK(x->closed || (!smtp_closed(&x->s) && st != SMTP_CLOSED),
                 "the session ended without a 421 (or QUIT's 221) as its last reply");
        if (st == SMTP_CLOSED) {
            size_t u2 = 12345;
            FZ_CHECK(smtp_closed(&x->s), "CLOSED but smtp_closed() says 0");
            st = smtp_feed(&x->s, x->cs + x->pos, x->n - x->pos, &u2, &ev);
            FZ_CHECK(st == SMTP_CLOSED && u2 == 0, "input taken after the session closed");
            x->closed = 1;
            x->mode = M_CLOSED;
            return;
        }
        if (st == SMTP_NEED_INPUT && x->pos == end) {
            (void)smtp_output(&x->s, &olen);
            if (olen == 0)
                return;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ext *x;
    size_t i, seg;
    if (size < 2 || size > 65536)
        return 0;
    x = (struct ext *)calloc(1, sizeof *x);
    if (x == NULL)
        return 0;
    x->cs = (uint8_t *)malloc(size);
    if (x->cs == NULL) {
        free(x);
        return 0;
    }
    x->b0 = data[0];
    x->b1 = data[1];
    for (i = 2; i < size;) {
        if (size - i >= MARKER_LEN && memcmp(data + i, marker, MARKER_LEN) == 0) {
            if (x->nmarks < MAXMARK)
                x->marks[x->nmarks++] = x->n;
            i += MARKER_LEN;
            continue;
        }
        x->cs[x->n++] = data[i++];
    }
    smtp_config_default(&x->cfg);
    x->cfg.hostname = "mx.example.org";
    x->cfg.extensions = SMTP_EXT_DEFAULT | ((uint32_t)(x->b0 & 0x1fu) << 6);
    x->cfg.options = 0;
    if (x->b0 & 0x20u)
        x->cfg.options |= SMTP_OPT_REQUIRE_TLS;
    if (x->b0 & 0x40u)
        x->cfg.options |= SMTP_OPT_AUTH_PLAINTEXT;
    if ((x->b1 & 0x30u) == 0x30u)
        x->cfg.options |= SMTP_OPT_STRICT_SPACES;
    x->cfg.max_errors = 0;
    x->cfg.max_auth_fails = 0;
    if (x->b0 & 0x80u) {
        x->cfg.max_rcpt = 2;
        x->cfg.max_auth_fails = 1;
    }
    if (x->b1 & 0x08u) {
        x->cfg.max_errors = 0xffff;
        x->cfg.max_auth_fails = 255;
    }
    /* smtp.h: zero means the default, 10 errors and 3 AUTH refusals */
    x->max_err = x->cfg.max_errors ? x->cfg.max_errors : 10u;
    x->max_af = x->cfg.max_auth_fails ? x->cfg.max_auth_fails : 3u;
    x->strict = (x->cfg.options & SMTP_OPT_STRICT_SPACES) != 0;
    x->snap_pos = (size_t)-1;
    switch ((x->b1 >> 6) & 3u) {
    case 1: x->cfg.max_size = 50; break;
    case 2: x->cfg.max_size = 1000; break;
    case 3: x->cfg.max_size = (uint64_t)1 << 40; break;
    default: x->cfg.max_size = 0; break;
    }
    x->exts = x->cfg.extensions & (SMTP_EXT_DEFAULT | X_CHUNK | X_TLS | X_AUTH | X_DSN);
    x->opts = x->cfg.options;
    x->data_end = (size_t)-1;
    smtp_init(&x->s, &x->cfg);
    if (x->b1 & 1u) { /* implicit TLS (port 465): with or without STARTTLS */
        int rc = smtp_tls_done(&x->s);
        FZ_CHECK(rc == SMTP_OK || (rc == SMTP_ERR_STATE && !ext_on(x, X_TLS)),
                 "smtp_tls_done() refused right after smtp_init()");
        x->tls = rc == SMTP_OK;
    }
    for (seg = 0; seg <= x->nmarks && !x->closed; seg++) {
        size_t end = seg < x->nmarks ? x->marks[seg] : x->n;
        drive(x, end);
        if (seg < x->nmarks && x->tls_wait && !x->closed) {
            FZ_TRACE("harness: TLS handshake done at %lu\n", (unsigned long)end);
            parse_more(x);
            FZ_CHECK(smtp_tls_done(&x->s) == SMTP_OK, "smtp_tls_done() refused after 220");
            x->tls_wait = 0;
            x->tls = 1;
            x->mode = M_CMD;
            x->mp = x->pos;
            x->snap_pos = (size_t)-1; /* the copy predates the handshake */
            x->helo = x->ehlo = x->authed = 0;
            x->astep = A_NONE;
            reset_tx(x);
            take_output(x);
        }
    }
    FZ_CHECK(fz_rp_idle(&x->rp), "output ended inside a reply");
    FZ_CHECK(x->greeted, "no greeting");
    if (!x->closed && !(x->mode == M_CHUNK && x->left > 0)) {
        parse_more(x);
        FZ_CHECK(!x->have_head, "a complete command got no reply");
    }
    free(x->cs);
    free(x);
    return 0;
}
