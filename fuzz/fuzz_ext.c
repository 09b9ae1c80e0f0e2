/*
 * fuzz_ext.c - the ESMTP extensions of issue 5: CHUNKING/BDAT, BINARYMIME,
 * STARTTLS, AUTH PLAIN/LOGIN, DSN, SMTPUTF8 addresses.
 *
 * Input: 2 mode bytes, then the client's byte stream.
 *   byte 0: bit0 SMTP_EXT_CHUNKING, bit1 SMTP_EXT_BINARYMIME,
 *           bit2 SMTP_EXT_STARTTLS, bit3 SMTP_EXT_AUTH, bit4 SMTP_EXT_DSN,
 *           bit5 SMTP_OPT_REQUIRE_TLS, bit6 SMTP_OPT_AUTH_PLAINTEXT,
 *           bit7 max_rcpt 2
 *   byte 1: bit0 implicit TLS (smtp_tls_done() right after smtp_init()),
 *           bits1-2 feed sizes (whole, 1, 3, 17 octets),
 *           bit3 max_errors 0xffff, bit4 the app refuses STARTTLS (454),
 *           bit5 the app answers STARTTLS 220 itself (else the default),
 *           bits6-7 max_size: none, 50, 1000, 2^40
 * SMTP_OPT_REQUIRE_TLS is taken to apply with or without SMTP_EXT_STARTTLS
 * (implicit TLS).  The marker "<<TLS>>" in the stream is not client data:
 * it is where the TLS handshake completes.  If the session waits for it
 * there (a 220 to STARTTLS was seen), the harness calls smtp_tls_done().
 *
 * Properties (from RFC 3030, 3207, 4954, 4648, 3461, 6531 and the BRIEF,
 * written without looking at how smtp.c does it), abort() on violation:
 *   - every reply well formed (fz_rp_byte); one reply per command line,
 *     none without a command; no event without a command; nothing taken
 *     after SMTP_CLOSED;
 *   - BDAT: EV_BDAT's size/LAST are the line's; exactly that many octets
 *     follow as EV_BODY, equal to the client's octets, before any other
 *     event or reply; a refused BDAT with a readable size is followed by
 *     exactly that many octets that give no reply and no event; an
 *     unreadable size closes the session; EV_DATA_END's size is the sum of
 *     the EV_BODY octets (= the accepted chunk sizes); DATA after BDAT or
 *     BODY=BINARYMIME gets 503;
 *   - STARTTLS: between the 220 and smtp_tls_done() every byte is taken with
 *     no reply and no event; afterwards EHLO never lists STARTTLS, and MAIL
 *     before a new HELO/EHLO gets 503;
 *   - AUTH: EV_AUTH's user/pass/authzid equal a naive base64 reference's
 *     decoding of the client's lines (PLAIN split at the NULs); valid
 *     credentials always reach the app; bad base64 and "*" get 501; every
 *     334 text is empty or valid base64; 235 only when the app said so,
 *     535 otherwise; AUTH succeeds only after EHLO, with TLS or
 *     AUTH_PLAINTEXT, outside a transaction, once;
 *   - DSN: RET, ENVID, NOTIFY, ORCPT in events equal a naive parse of the
 *     parameters, ENVID/ORCPT only with valid xtext (smtp_xtext_decode()
 *     agrees with the reference); nothing DSN when DSN is off;
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
    size_t a, b;         /* the line cs[a..b), LF included */
    int bad;             /* malformed: bare CR/LF, NUL, too long */
    char verb[10];       /* upper case, "" if longer */
    size_t arg, alen;    /* argument after one SP */
    int has_arg;
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
    uint8_t *cs;         /* client stream, markers removed */
    size_t n;
    size_t marks[MAXMARK];
    size_t nmarks;
    struct smtp_session s;
    size_t pos;          /* octets of cs the session has taken */
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

/* Finds parameter `kw` in a parameter list "K=V K=V"; *count: how many. */
static int find_param(struct smtp_span ps, const char *kw, struct smtp_span *val, int *count)
{
    size_t i = 0;
    *count = 0;
    while (i < ps.len) {
        size_t j = i, e;
        while (j < ps.len && ps.ptr[j] != ' ')
            j++;
        for (e = i; e < j && ps.ptr[e] != '='; e++)
            ;
        if (ci_eq(ps.ptr + i, e - i, kw)) {
            (*count)++;
            val->ptr = ps.ptr + (e < j ? e + 1 : j);
            val->len = e < j ? j - e - 1 : 0;
        }
        i = j + 1;
    }
    return *count > 0;
}

static int span_eq(struct smtp_span a, const void *p, size_t n)
{
    return a.len == n && (n == 0 || memcmp(a.ptr, p, n) == 0);
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

static void classify(struct ext *x, struct line *l)
{
    size_t i, t = l->b - l->a, tl, v;
    const uint8_t *p = x->cs + l->a;
    unsigned max_line = fz_max_line(&x->cfg);
    l->bad = t < 2 || p[t - 2] != '\r' || t > max_line;
    tl = t >= 2 ? t - 2 : 0;
    for (i = 0; i < tl; i++)
        if (p[i] == '\r' || p[i] == 0)
            l->bad = 1;
    for (v = 0; v < tl && p[v] != ' '; v++)
        ;
    memset(l->verb, 0, sizeof l->verb);
    if (v < sizeof l->verb)
        for (i = 0; i < v; i++)
            l->verb[i] = (char)up(p[i]);
    l->has_arg = v < tl;
    l->arg = l->a + (v < tl ? v + 1 : tl);
    l->alen = v < tl ? tl - v - 1 : 0;
}

static int verb_is(const struct line *l, const char *w)
{
    return l->kind == K_LINE && strcmp(l->verb, w) == 0;
}

/* Parses what the session has taken (cs[mp..pos)), stopping at a command
 * line until its reply has come. */
static void parse_more(struct ext *x)
{
    while (!x->have_head && x->mp < x->pos) {
        if (x->mode == M_CMD) {
            const uint8_t *lf = memchr(x->cs + x->mp, '\n', x->pos - x->mp);
            if (lf == NULL)
                return;
            memset(&x->head, 0, sizeof x->head);
            x->head.kind = x->astep != A_NONE ? K_AUTHRESP : K_LINE;
            x->head.a = x->mp;
            x->head.b = (size_t)(lf - x->cs) + 1;
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

/* Size of "BDAT size [LAST]": 1 readable (*n), 0 unreadable, -1 no arg */
static int bdat_size(const struct ext *x, const struct line *l, uint64_t *n, int *last)
{
    size_t i;
    const uint8_t *p = x->cs + l->arg;
    *n = 0;
    *last = 0;
    if (!l->has_arg || l->alen == 0)
        return -1;
    for (i = 0; i < l->alen && p[i] != ' '; i++) {
        if (p[i] < '0' || p[i] > '9')
            return 0;
        if (*n > (UINT64_MAX - 9) / 10 && (*n > UINT64_MAX / 10 ||
                                          *n * 10 > UINT64_MAX - (uint64_t)(p[i] - '0')))
            return 0;
        *n = *n * 10 + (uint64_t)(p[i] - '0');
    }
    if (i == 0)
        return 0;
    *last = i < l->alen && ci_eq((const char *)p + i, l->alen - i, " LAST");
    return 1;
}

/* The AUTH data: the initial response of the AUTH line or a response line. */
static void auth_data(const struct ext *x, const struct line *l, size_t *a, size_t *n)
{
    if (l->kind == K_AUTHRESP) {
        *a = l->a;
        *n = l->b - l->a - 2;
        return;
    }
    {
        const uint8_t *p = x->cs + l->arg;
        size_t m = 0;
        while (m < l->alen && p[m] != ' ')
            m++;
        *a = l->arg + (m < l->alen ? m + 1 : l->alen);
        *n = m < l->alen ? l->alen - m - 1 : 0;
    }
}

static int auth_mech(const struct ext *x, const struct line *l, int *ir)
{
    const uint8_t *p = x->cs + l->arg;
    size_t m = 0;
    while (m < l->alen && p[m] != ' ')
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

static void check_dsn_mail(struct ext *x, const struct smtp_event *ev)
{
    struct smtp_span v;
    int cnt;
    char dec[600], dec2[600];
    if (find_param(ev->params, "RET", &v, &cnt)) {
        FZ_CHECK(ext_on(x, X_DSN), "RET= accepted with DSN off");
        FZ_CHECK(cnt == 1, "duplicate RET= accepted");
        FZ_CHECK((ci_eq(v.ptr, v.len, "FULL") && ev->ret == SMTP_RET_FULL) ||
                     (ci_eq(v.ptr, v.len, "HDRS") && ev->ret == SMTP_RET_HDRS),
                 "EV_MAIL ret differs from RET=");
    } else {
        FZ_CHECK(ev->ret == SMTP_RET_NONE, "EV_MAIL ret without RET=");
    }
    if (find_param(ev->params, "ENVID", &v, &cnt)) {
        long dl, dl2;
        FZ_CHECK(ext_on(x, X_DSN), "ENVID= accepted with DSN off");
        FZ_CHECK(cnt == 1, "duplicate ENVID= accepted");
        FZ_CHECK(span_eq(ev->envid, v.ptr, v.len), "EV_MAIL envid is not the ENVID= value as sent");
        FZ_CHECK(v.len <= 100, "ENVID longer than 100 accepted (RFC 3461 4.4)");
        dl = ref_xtext(v.ptr, v.len, dec);
        FZ_CHECK(dl >= 0, "ENVID= with malformed xtext accepted (RFC 3461 4)");
        dl2 = smtp_xtext_decode(v.ptr, v.len, dec2, sizeof dec2);
        FZ_CHECK(dl2 == dl && memcmp(dec, dec2, (size_t)dl) == 0,
                 "smtp_xtext_decode() differs from the reference on ENVID");
    } else {
        FZ_CHECK(ev->envid.len == 0, "EV_MAIL envid without ENVID=");
    }
}

static void check_dsn_rcpt(struct ext *x, const struct smtp_event *ev)
{
    struct smtp_span v;
    int cnt;
    char dec[600], dec2[600];
    if (find_param(ev->params, "NOTIFY", &v, &cnt)) {
        unsigned bits = 0;
        size_t i = 0;
        FZ_CHECK(ext_on(x, X_DSN), "NOTIFY= accepted with DSN off");
        FZ_CHECK(cnt == 1, "duplicate NOTIFY= accepted");
        while (i <= v.len) {
            size_t j = i;
            unsigned b = 0;
            while (j < v.len && v.ptr[j] != ',')
                j++;
            if (ci_eq(v.ptr + i, j - i, "NEVER"))
                b = SMTP_NOTIFY_NEVER;
            else if (ci_eq(v.ptr + i, j - i, "SUCCESS"))
                b = SMTP_NOTIFY_SUCCESS;
            else if (ci_eq(v.ptr + i, j - i, "FAILURE"))
                b = SMTP_NOTIFY_FAILURE;
            else if (ci_eq(v.ptr + i, j - i, "DELAY"))
                b = SMTP_NOTIFY_DELAY;
            FZ_CHECK(b != 0, "NOTIFY= with an unknown value accepted");
            FZ_CHECK(!(bits & b), "NOTIFY= with a duplicate value accepted");
            bits |= b;
            i = j + 1;
        }
        FZ_CHECK(!((bits & SMTP_NOTIFY_NEVER) && bits != SMTP_NOTIFY_NEVER),
                 "NOTIFY=NEVER combined with others accepted (RFC 3461 4.1)");
        FZ_CHECK(ev->notify == bits, "EV_RCPT notify differs from NOTIFY=");
    } else {
        FZ_CHECK(ev->notify == 0, "EV_RCPT notify without NOTIFY=");
    }
    if (find_param(ev->params, "ORCPT", &v, &cnt)) {
        size_t semi = 0, i;
        long dl, dl2;
        FZ_CHECK(ext_on(x, X_DSN), "ORCPT= accepted with DSN off");
        FZ_CHECK(cnt == 1, "duplicate ORCPT= accepted");
        FZ_CHECK(span_eq(ev->orcpt, v.ptr, v.len), "EV_RCPT orcpt is not the ORCPT= value as sent");
        while (semi < v.len && v.ptr[semi] != ';')
            semi++;
        FZ_CHECK(semi > 0 && semi < v.len, "ORCPT= without addr-type ';' accepted");
        for (i = 0; i < semi; i++)
            FZ_CHECK(is_atext((unsigned char)v.ptr[i]), "ORCPT= addr-type not an atom accepted");
        dl = ref_xtext(v.ptr + semi + 1, v.len - semi - 1, dec);
        FZ_CHECK(dl >= 0, "ORCPT= with malformed xtext accepted (RFC 3461 4.2)");
        dl2 = smtp_xtext_decode(v.ptr + semi + 1, v.len - semi - 1, dec2, sizeof dec2);
        FZ_CHECK(dl2 == dl && memcmp(dec, dec2, (size_t)dl) == 0,
                 "smtp_xtext_decode() differs from the reference on ORCPT");
    } else {
        FZ_CHECK(ev->orcpt.len == 0, "EV_RCPT orcpt without ORCPT=");
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

static void on_event(struct ext *x, int st, const struct smtp_event *ev)
{
    struct line *l = &x->head;
    parse_more(x);
    FZ_CHECK(!x->tls_wait, "an event between STARTTLS's 220 and smtp_tls_done()");
    if (x->mode == M_CHUNK && x->left > 0) {
        FZ_CHECK(st == SMTP_EV_BODY, "another event inside a BDAT chunk");
        FZ_CHECK((uint64_t)ev->data.len <= x->left, "EV_BODY past the BDAT chunk");
        FZ_CHECK(x->mp + ev->data.len <= x->n &&
                     memcmp(ev->data.ptr, x->cs + x->mp, ev->data.len) == 0,
                 "BDAT EV_BODY differs from the client's octets (RFC 3030 2)");
        x->mp += ev->data.len;
        x->left -= ev->data.len;
        x->sum_body += ev->data.len;
        if (x->left == 0)
            x->mode = M_CMD;
        return;
    }
    if (st == SMTP_EV_BODY) {
        FZ_CHECK(x->mode == M_DATA, "EV_BODY outside DATA and BDAT chunks");
        x->sum_body += ev->data.len;
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
    l->ev = st;
    switch (st) {
    case SMTP_EV_MAIL:
        FZ_CHECK(x->helo, "EV_MAIL before HELO/EHLO");
        FZ_CHECK(!((x->opts & SMTP_OPT_REQUIRE_TLS) && !x->tls),
                 "EV_MAIL before TLS with SMTP_OPT_REQUIRE_TLS (RFC 3207 4)");
        check_dsn_mail(x, ev);
        if (ev->body == SMTP_BODY_BINARYMIME)
            FZ_CHECK((x->exts & (X_CHUNK)) == X_CHUNK && X_CHUNK != 0,
                     "BODY=BINARYMIME accepted without CHUNKING+BINARYMIME");
        if (has8(ev->path))
            FZ_CHECK(ev->smtputf8 && ref_utf8(ev->path.ptr, ev->path.len),
                     "8-bit reverse-path without SMTPUTF8 or malformed UTF-8 (RFC 6531)");
        x->utf8_mail = ev->smtputf8;
        x->binary = ev->body == SMTP_BODY_BINARYMIME;
        break;
    case SMTP_EV_RCPT:
        check_dsn_rcpt(x, ev);
        if (has8(ev->path))
            FZ_CHECK(x->utf8_mail && ref_utf8(ev->path.ptr, ev->path.len),
                     "8-bit forward-path without SMTPUTF8 or malformed UTF-8 (RFC 6531)");
        if (ev->local.len > 0 && (ev->local.ptr[0] == 'G' || ev->local.ptr[0] == 'g'))
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
        FZ_CHECK(ev->size == n && ev->last == last, "EV_BDAT size/LAST differ from the line");
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
        FZ_CHECK(ev->size == x->sum_body, "EV_DATA_END size differs from the EV_BODY octets");
        if (l->kind == K_LINE) {
            uint64_t n;
            int last;
            FZ_CHECK(bdat_size(x, l, &n, &last) == 1, "EV_DATA_END for a BDAT without a size");
            if (l->bdat) {
                FZ_CHECK(last && x->left == 0, "EV_DATA_END after a non-LAST or unfinished chunk");
                FZ_CHECK(x->sum_body == x->sum_chunks,
                         "BDAT message length differs from the sum of the chunk sizes");
            } else {
                FZ_CHECK(ev->reject == SMTP_REJECT_SIZE && x->cfg.max_size != 0 &&
                             (x->sum_chunks > x->cfg.max_size || n > x->cfg.max_size - x->sum_chunks),
                         "EV_DATA_END for a BDAT with no EV_BDAT and no size refusal");
            }
        }
        l->dataend = 1;
        break;
    case SMTP_EV_AUTH: {
        struct cred c;
        FZ_CHECK(auth_allowed(x), "EV_AUTH when AUTH is not allowed (RFC 4954 4)");
        FZ_CHECK(x->amech == ev->mech || (l->kind == K_LINE && ev->mech == 1),
                 "EV_AUTH mechanism differs");
        if (l->kind == K_LINE)
            x->amech = 1;
        ref_cred(x, l, &c);
        FZ_CHECK(c.ok || (x->amech == 2 && !c.cancel && c.u != NULL),
                 "EV_AUTH for credentials the reference cannot decode");
        FZ_CHECK(span_eq(ev->user, c.u, c.ul), "EV_AUTH user differs from the reference decoding");
        FZ_CHECK(span_eq(ev->pass, c.pw, c.pl), "EV_AUTH pass differs from the reference decoding");
        FZ_CHECK(x->amech == 2 || span_eq(ev->auth, c.z, c.zl),
                 "EV_AUTH authzid differs from the reference decoding");
        l->auth_ev = 1;
        if (span_eq(ev->user, "alice", 5) && span_eq(ev->pass, "s3cret", 6)) {
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
    if (code == 421) {
        x->closed = 1;
        x->mode = M_CLOSED;
        return;
    }
    if (l->bad) {
        FZ_CHECK(code == 500, "malformed line not answered 500");
        x->astep = A_NONE;
        return;
    }
    if (l->kind == K_DATAEND) {
        reset_tx(x);
        return;
    }
    if (l->kind == K_AUTHRESP || verb_is(l, "AUTH")) {
        int ir = 0, mech = l->kind == K_AUTHRESP ? x->amech : auth_mech(x, l, &ir);
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
            FZ_CHECK(code == (l->app235 ? 235 : 535),
                     "AUTH reply differs from the app's (235/535)");
        } else {
            FZ_CHECK(code != 235, "235 without EV_AUTH");
            if (x->astep != A_NONE && x->astep != A_USER) {
                struct cred c;
                ref_cred(x, l, &c);
                FZ_CHECK(!c.ok || (x->amech == 2 && (c.ul == 0 || c.ul > SMTP_AUTH_USER_MAX)),
                         "valid credentials were not handed to the app");
                FZ_CHECK(code == 501, "bad base64, PLAIN or cancel not answered 501");
            } else if (x->astep == A_USER || (l->kind == K_LINE && mech == 1 && ir)) {
                size_t a, dn;
                uint8_t tmp[600];
                auth_data(x, l, &a, &dn);
                if (x->astep == A_NONE && !(auth_allowed(x) && mech))
                    ; /* AUTH refused before its response was looked at */
                else if (dn == 1 && x->cs[a] == '*')
                    FZ_CHECK(code == 501, "AUTH cancel '*' not answered 501");
                else if (dn <= 600 && ref_b64(x->cs + a, dn, tmp) < 0)
                    FZ_CHECK(code == 501, "bad base64 not answered 501");
            }
        }
        if (code == 235)
            x->authed = 1;
        x->astep = A_NONE;
        return;
    }
    if (verb_is(l, "BDAT") && ext_on(x, SMTP_EXT_CHUNKING & X_CHUNK)) {
        uint64_t sz;
        int last, rs = bdat_size(x, l, &sz, &last);
        if (l->bdat) {
            FZ_CHECK(x->left == 0, "BDAT answered before its chunk was taken");
            FZ_CHECK(last ? l->dataend : code == 250, "BDAT chunk not answered 250 / EV_DATA_END");
            if (last)
                reset_tx(x);
            return;
        }
        FZ_CHECK(code >= 500, "a BDAT without EV_BDAT got a non-error reply");
        if (rs == 0) {
            FZ_CHECK(smtp_closed(&x->s), "an unreadable BDAT size did not close the session");
            x->closed = 1;
            x->mode = M_CLOSED;
            return;
        }
        if (rs == 1) {
            FZ_CHECK(!smtp_closed(&x->s), "a refused BDAT with a readable size closed the session");
            x->left = sz;
            x->mode = sz ? M_SKIP : M_CMD;
            if (l->dataend)
                reset_tx(x);
        }
        return;
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
        if (!x->helo)
            FZ_CHECK(code == 503 || (code == 530 && !x->tls),
                     "MAIL before HELO/EHLO not answered 503 (RFC 3207 4.2 after TLS)");
        if (code == 250) {
            FZ_CHECK(l->ev == SMTP_EV_MAIL, "MAIL 250 without EV_MAIL");
            x->mail = 1;
            x->rcpt_ok = 0;
            x->sum_body = x->sum_chunks = 0;
        }
        return;
    }
    if (verb_is(l, "RCPT") && (code == 250 || code == 251)) {
        x->rcpt_ok++;
        return;
    }
    if (verb_is(l, "DATA")) {
        if (x->bdat_used || x->binary)
            FZ_CHECK(code == 503 || (code == 554 && x->rcpt_ok == 0),
                     "DATA after BDAT or BODY=BINARYMIME not answered 503");
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
        if (code == 220) {
            FZ_CHECK(l->ev == SMTP_EV_STARTTLS && !(x->b1 & 0x10u),
                     "STARTTLS 220 without EV_STARTTLS or against the app's 454");
            x->tls_wait = 1;
            x->mode = M_TLSWAIT;
        }
        return;
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
        struct smtp_event ev;
        int st;
        FZ_CHECK(++rounds < limit, "no progress: smtp_feed() loops without taking input");
        if (step && offer > step)
            offer = step;
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
    if (x->b0 & 0x80u)
        x->cfg.max_rcpt = 2;
    if (x->b1 & 0x08u)
        x->cfg.max_errors = 0xffff;
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
