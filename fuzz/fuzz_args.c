/*
 * fuzz_args.c - the argument parsers against a naive RFC 5321 4.1.2 grammar.
 *
 * Input: byte 0 selects the target (low 2 bits) and flags (the rest):
 *   0  smtp_parse_path(p, n, flags = bits 2-4)
 *   1  smtp_parse_domain(p, n, allow_literal = bit 2)
 *   2  smtp_parse_u64(p, n)
 *   3  a session: EHLO, then "MAIL FROM:" + the bytes before the first LF,
 *      then "RCPT TO:" + the bytes after it (one line each).
 *
 * Properties:
 *   - accepted paths really are RFC 5321 Paths (or "<>" / "<Postmaster>"
 *     when allowed) under a slow recursive-descent reference; the spans
 *     point inside the input and equal the reference's; lengths are within
 *     SMTP_LOCAL_MAX / SMTP_DOMAIN_MAX / SMTP_PATH_MAX;
 *   - conversely, a plain ASCII path the reference accepts within the limits
 *     is accepted, and one over a limit gets that limit's error;
 *   - smtp_parse_domain accepts exactly the reference Domains within the
 *     limits (address literals: accepted ones must match the grammar);
 *   - smtp_parse_u64 equals a naive conversion; overflow gives UINT64_MAX;
 *     the value printed back gives the digits without leading zeros;
 *   - EV_MAIL / EV_RCPT events carry the reference path, and the ESMTP
 *     parameters they let through are well formed and known (SIZE, BODY,
 *     SMTPUTF8 for MAIL; none for RCPT), with size/body/smtputf8 filled.
 */
#include "fuzz_common.h"

/* ------------------------------------------------ the naive reference */

static int is_alpha(unsigned c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
static int is_digit(unsigned c) { return c >= '0' && c <= '9'; }
static int is_hex(unsigned c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

struct refopt {
    int utf8;       /* octets >= 0x80 count as letters (RFC 6531) */
    size_t maxlabel;/* out: longest label seen */
    int eight;      /* out: an octet >= 0x80 was seen */
};

static int let_dig(struct refopt *o, unsigned c)
{
    if (c >= 0x80) {
        o->eight = 1;
        return o->utf8;
    }
    return is_alpha(c) || is_digit(c);
}

/* Domain = sub-domain *("." sub-domain); sub-domain = Let-dig [Ldh-str] */
static int ref_domain(const uint8_t *d, size_t n, struct refopt *o)
{
    size_t i = 0;
    if (n == 0)
        return 0;
    for (;;) {
        size_t s = i;
        if (i >= n || !let_dig(o, d[i]))
            return 0;
        while (i < n && d[i] != '.') {
            if (!let_dig(o, d[i]) && d[i] != '-')
                return 0;
            i++;
        }
        if (d[i - 1] == '-')
            return 0; /* Ldh-str ends in Let-dig */
        if (i - s > o->maxlabel)
            o->maxlabel = i - s;
        if (i == n)
            return 1;
        i++; /* the dot; a label must follow */
    }
}

static int ref_ipv4(const uint8_t *d, size_t n)
{
    size_t i = 0;
    int part;
    for (part = 0; part < 4; part++) {
        unsigned v = 0, k = 0;
        if (part > 0) {
            if (i >= n || d[i] != '.')
                return 0;
            i++;
        }
        while (i < n && is_digit(d[i]) && k < 3) {
            v = v * 10 + (unsigned)(d[i] - '0');
            i++;
            k++;
        }
        if (k == 0 || v > 255)
            return 0;
    }
    return i == n;
}

/* "h:h:...:h" (1*4HEXDIG groups); returns the count or -1; "" gives 0. */
static int hexlist(const uint8_t *d, size_t n)
{
    size_t i = 0;
    int groups = 0;
    if (n == 0)
        return 0;
    for (;;) {
        size_t k = 0;
        while (i < n && is_hex(d[i]) && k < 5) {
            i++;
            k++;
        }
        if (k == 0 || k > 4)
            return -1;
        groups++;
        if (i == n)
            return groups;
        if (d[i] != ':')
            return -1;
        i++;
        if (i == n)
            return -1;
    }
}

static int ref_ipv6(const uint8_t *d, size_t n)
{
    size_t i, dc = n, lastc = n;
    int v4 = 0;
    for (i = 0; i < n; i++) {
        if (d[i] == '.')
            v4 = 1;
        if (d[i] == ':')
            lastc = i;
    }
    for (i = 0; i + 1 < n; i++)
        if (d[i] == ':' && d[i + 1] == ':') {
            dc = i;
            break;
        }
    if (dc < n) {
        size_t j;
        for (j = dc + 2; j + 1 < n; j++)
            if (d[j] == ':' && d[j + 1] == ':')
                return 0; /* one "::" only */
    }
    if (v4) {
        const uint8_t *h;
        size_t hn;
        int a, b = 0;
        if (lastc == n || !ref_ipv4(d + lastc + 1, n - lastc - 1))
            return 0;
        h = d;
        hn = lastc + 1; /* includes the ':' before the IPv4 part */
        if (dc < n) {
            a = hexlist(h, dc);
            if (dc + 2 < hn)
                b = hexlist(h + dc + 2, hn - dc - 3);
            else if (dc + 2 != hn)
                return 0;
            return a >= 0 && b >= 0 && a + b <= 4;
        }
        a = hexlist(h, hn - 1);
        return a == 6;
    }
    if (dc < n) {
        int a = hexlist(d, dc), b = hexlist(d + dc + 2, n - dc - 2);
        return a >= 0 && b >= 0 && a + b <= 6;
    }
    return hexlist(d, n) == 8;
}

/* d[0..n) is "[...]" */
static int ref_literal(const uint8_t *d, size_t n)
{
    size_t i, t;
    if (n < 3 || d[0] != '[' || d[n - 1] != ']')
        return 0;
    d++;
    n -= 2;
    if (ref_ipv4(d, n))
        return 1;
    if (n >= 5 && memcmp(d, "IPv6:", 5) == 0 && ref_ipv6(d + 5, n - 5))
        return 1;
    /* General-address-literal = Standardized-tag ":" 1*dcontent */
    for (t = 0; t < n && d[t] != ':'; t++)
        if (!is_alpha(d[t]) && !is_digit(d[t]) && d[t] != '-')
            return 0;
    if (t == 0 || t == n || d[t - 1] == '-' || t + 1 == n)
        return 0;
    for (i = t + 1; i < n; i++)
        if (!((d[i] >= 33 && d[i] <= 90) || (d[i] >= 94 && d[i] <= 126)))
            return 0;
    return 1;
}

static int atext(struct refopt *o, unsigned c)
{
    if (c >= 0x80) {
        o->eight = 1;
        return o->utf8;
    }
    return is_alpha(c) || is_digit(c) || (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", (int)c));
}

struct refpath {
    size_t len;                    /* octets of the path */
    size_t lp, ll, dp, dl, mp, ml; /* local, domain, mailbox offsets/lengths */
    size_t maxdom;                 /* longest domain (mailbox or route) */
    int literal;                   /* the domain is an address literal */
    struct refopt o;
};

/* Parses a Path at d[0..n); returns 1 and fills *r, else 0. */
static int ref_path(const uint8_t *d, size_t n, unsigned flags, struct refpath *r)
{
    size_t i = 1, s;
    memset(r, 0, sizeof *r);
    r->o.utf8 = (flags & SMTP_PATH_UTF8) != 0;
    if (n < 2 || d[0] != '<')
        return 0;
    if (d[1] == '>') {
        r->len = 2;
        r->lp = r->dp = r->mp = 1;
        return (flags & SMTP_PATH_NULL_OK) != 0;
    }
    if ((flags & SMTP_PATH_POSTMASTER) && n >= 12) {
        static const char pm[] = "postmaster";
        size_t k;
        int eq = d[11] == '>';
        for (k = 0; k < 10 && eq; k++)
            eq = (d[1 + k] | 0x20) == pm[k];
        if (eq) {
            r->len = 12;
            r->lp = r->mp = 1;
            r->ll = r->ml = 10;
            r->dp = 11;
            return 1;
        }
    }
    /* [ A-d-l ":" ] */
    if (d[i] == '@') {
        for (;;) {
            struct refopt o2;
            memset(&o2, 0, sizeof o2);
            o2.utf8 = r->o.utf8;
            if (i >= n || d[i] != '@')
                return 0;
            s = ++i;
            while (i < n && d[i] != ',' && d[i] != ':')
                i++;
            if (i >= n || !ref_domain(d + s, i - s, &o2))
                return 0;
            r->o.eight |= o2.eight;
            if (o2.maxlabel > r->o.maxlabel)
                r->o.maxlabel = o2.maxlabel;
            if (i - s > r->maxdom)
                r->maxdom = i - s;
            if (d[i++] == ':')
                break;
        }
    }
    /* Local-part */
    r->lp = r->mp = i;
    if (i < n && d[i] == '"') {
        i++;
        for (;;) {
            if (i >= n)
                return 0;
            if (d[i] == '"')
                break;
            if (d[i] == '\\') {
                if (i + 1 >= n || d[i + 1] < 32 || d[i + 1] > 126)
                    return 0;
                i += 2;
                continue;
            }
            if (d[i] >= 0x80) {
                r->o.eight = 1;
                if (!r->o.utf8)
                    return 0;
            } else if (!(d[i] == 32 || d[i] == 33 || (d[i] >= 35 && d[i] <= 91) ||
                         (d[i] >= 93 && d[i] <= 126)))
                return 0;
            i++;
        }
        i++;
    } else {
        for (;;) {
            s = i;
            while (i < n && atext(&r->o, d[i]))
                i++;
            if (i == s)
                return 0;
            if (i < n && d[i] == '.') {
                i++;
                continue;
            }
            break;
        }
    }
    r->ll = i - r->lp;
    if (i >= n || d[i] != '@')
        return 0;
    s = ++i;
    r->dp = s;
    if (i < n && d[i] == '[') {
        while (i < n && d[i] != ']')
            i++;
        if (i >= n)
            return 0;
        i++;
        if (!ref_literal(d + s, i - s))
            return 0;
        r->literal = 1;
    } else {
        while (i < n && d[i] != '>')
            i++;
        if (i >= n || !ref_domain(d + s, i - s, &r->o))
            return 0;
    }
    r->dl = i - s;
    if (r->dl > r->maxdom)
        r->maxdom = r->dl;
    if (i >= n || d[i] != '>')
        return 0;
    r->ml = i - r->mp;
    r->len = i + 1;
    return 1;
}

static void same_span(struct smtp_span sp, const uint8_t *base, size_t off, size_t len,
                      const char *what)
{
    if (sp.len != len || (len > 0 && (const uint8_t *)sp.ptr != base + off))
        fz_fail(__FILE__, __LINE__, what);
}

/* ------------------------------------------------------------- targets */

static void t_path(const uint8_t *d, size_t n, unsigned flags)
{
    struct smtp_path p;
    struct refpath r;
    int ok, rc;
    memset(&p, 0x5a, sizeof p);
    rc = smtp_parse_path((const char *)d, n, flags, &p);
    ok = ref_path(d, n, flags, &r);
    FZ_TRACE("parse_path(flags %u) -> %s; reference %d len %lu\n", flags, smtp_err_name(rc), ok,
             (unsigned long)r.len);
    FZ_CHECK(rc <= 0 && rc >= SMTP__ERR_LAST, "smtp_parse_path: undocumented return value");
    if (rc == SMTP_OK) {
        FZ_CHECK(ok, "smtp_parse_path accepted what the RFC 5321 grammar refuses");
        FZ_CHECK(p.len == r.len && p.len <= n, "path length differs from the reference");
        FZ_CHECK(p.len <= SMTP_PATH_MAX, "accepted path over SMTP_PATH_MAX");
        FZ_CHECK(p.local.len <= SMTP_LOCAL_MAX, "accepted local-part over SMTP_LOCAL_MAX");
        FZ_CHECK(p.domain.len <= SMTP_DOMAIN_MAX, "accepted domain over SMTP_DOMAIN_MAX");
        FZ_CHECK(r.literal || r.o.maxlabel <= 63, "accepted a label over 63 octets");
        FZ_CHECK(!r.o.eight || (flags & SMTP_PATH_UTF8), "8-bit path accepted without UTF8");
        same_span(p.mailbox, d, r.mp, r.ml, "mailbox span differs from the reference");
        same_span(p.local, d, r.lp, r.ll, "local-part span differs from the reference");
        same_span(p.domain, d, r.dp, r.dl, "domain span differs from the reference");
    } else if (ok && !r.o.eight && !r.literal) {
        int over_local = r.ll > SMTP_LOCAL_MAX;
        int over_dom = r.maxdom > SMTP_DOMAIN_MAX || r.o.maxlabel > 63;
        int over_path = r.len > SMTP_PATH_MAX;
        FZ_CHECK(over_local || over_dom || over_path,
                 "smtp_parse_path refused a valid path within the limits");
        FZ_CHECK((rc == SMTP_ERR_LOCAL_LEN && over_local) ||
                     (rc == SMTP_ERR_DOMAIN_LEN && over_dom) ||
                     (rc == SMTP_ERR_PATH_LEN && over_path),
                 "over-limit path refused with the wrong error");
    }
}

static void t_domain(const uint8_t *d, size_t n, int lit)
{
    struct refopt o;
    int rc = smtp_parse_domain((const char *)d, n, lit), ok;
    memset(&o, 0, sizeof o);
    ok = ref_domain(d, n, &o);
    FZ_TRACE("parse_domain(lit %d) -> %s; reference %d\n", lit, smtp_err_name(rc), ok);
    if (rc == SMTP_OK) {
        FZ_CHECK(ok || (lit && ref_literal(d, n)), "smtp_parse_domain accepted a non-Domain");
        FZ_CHECK(n <= SMTP_DOMAIN_MAX, "accepted domain over SMTP_DOMAIN_MAX");
        FZ_CHECK(!ok || o.maxlabel <= 63, "accepted a label over 63 octets");
    } else if (ok) {
        FZ_CHECK(n > SMTP_DOMAIN_MAX || o.maxlabel > 63,
                 "smtp_parse_domain refused a valid Domain within the limits");
        FZ_CHECK(rc == SMTP_ERR_DOMAIN_LEN, "over-long domain refused with the wrong error");
    }
    if (lit && n >= 9 && ref_literal(d, n) && ref_ipv4(d + 1, n - 2))
        FZ_CHECK(rc == SMTP_OK, "valid IPv4 address literal refused");
}

static void t_u64(const uint8_t *d, size_t n)
{
    uint64_t v = 12345, want = 0;
    int over = 0, digits = n > 0, rc;
    size_t i;
    char back[32];
    for (i = 0; i < n; i++) {
        unsigned dg;
        if (!is_digit(d[i])) {
            digits = 0;
            break;
        }
        dg = (unsigned)(d[i] - '0');
        if (want > (UINT64_MAX - dg) / 10)
            over = 1;
        else if (!over)
            want = want * 10 + dg;
    }
    rc = smtp_parse_u64((const char *)d, n, &v);
    FZ_TRACE("parse_u64 -> %s %llu; reference digits %d over %d\n", smtp_err_name(rc),
             (unsigned long long)v, digits, over);
    if (!digits) {
        FZ_CHECK(rc == SMTP_ERR_SYNTAX, "smtp_parse_u64 accepted a non-number");
        return;
    }
    if (over) {
        FZ_CHECK(rc == SMTP_ERR_SYNTAX && v == UINT64_MAX, "overflow not reported as UINT64_MAX");
        return;
    }
    FZ_CHECK(rc == SMTP_OK && v == want, "smtp_parse_u64 differs from the naive value");
    snprintf(back, sizeof back, "%llu", (unsigned long long)v);
    for (i = 0; i + 1 < n && d[i] == '0'; i++)
        ;
    FZ_CHECK(strlen(back) == n - i && memcmp(back, d + i, n - i) == 0, "u64 round trip differs");
}

/* ------------------------------------------------- through a session */

struct sess {
    const uint8_t *in;
    int got_mail, got_rcpt;
};

static int kw_eq(const uint8_t *p, size_t n, const char *w)
{
    size_t i;
    if (n != strlen(w))
        return 0;
    for (i = 0; i < n; i++)
        if ((p[i] >= 'a' && p[i] <= 'z' ? p[i] - 32 : p[i]) != (uint8_t)w[i])
            return 0;
    return 1;
}

/* esmtp-param *(SP esmtp-param); checks grammar and what the event says */
static void check_params(const union smtp_event *ev, int mail, uint32_t ext)
{
    const uint8_t *p = (const uint8_t *)ev->mail.params.ptr;
    size_t n = ev->mail.params.len, i = 0;
    int size = 0, body = 0, utf8 = 0;
    uint64_t sz = 0;
    while (i < n) {
        size_t ks = i, kl, vs = 0, vl = 0;
        FZ_CHECK(is_alpha(p[i]) || is_digit(p[i]), "esmtp-keyword does not start alnum");
        while (i < n && (is_alpha(p[i]) || is_digit(p[i]) || p[i] == '-'))
            i++;
        kl = i - ks;
        if (i < n && p[i] == '=') {
            vs = ++i;
            while (i < n && p[i] != ' ' && p[i] != '\t') {
                FZ_CHECK((p[i] >= 33 && p[i] <= 60) || (p[i] >= 62 && p[i] <= 126),
                         "esmtp-value octet out of range");
                i++;
            }
            vl = i - vs;
            FZ_CHECK(vl > 0, "empty esmtp-value let through");
        }
        FZ_CHECK(i == n || p[i] == ' ' || p[i] == '\t', "esmtp-param not followed by a blank");
        FZ_CHECK(mail, "RCPT parameter let through (none is known)");
        if (kw_eq(p + ks, kl, "SIZE")) {
            size_t k;
            uint64_t again = 0;
            FZ_CHECK(vl > 0 && (ext & SMTP_EXT_SIZE), "SIZE without value or not advertised");
            for (k = 0; k < vl; k++)
                FZ_CHECK(is_digit(p[vs + k]), "SIZE value not digits");
            (void)smtp_parse_u64((const char *)p + vs, vl, size ? &again : &sz);
            FZ_CHECK(!size || again == sz, "SIZE repeated with another value let through");
            size = 1;
        } else if (kw_eq(p + ks, kl, "BODY")) {
            int b = kw_eq(p + vs, vl, "7BIT") ? 1 : kw_eq(p + vs, vl, "8BITMIME") ? 2 : -1;
            FZ_CHECK(ext & SMTP_EXT_8BITMIME, "BODY not advertised");
            FZ_CHECK(b > 0, "BODY value other than 7BIT/8BITMIME let through");
            FZ_CHECK(!body || body == b, "BODY repeated with another value let through");
            body = b;
        } else if (kw_eq(p + ks, kl, "SMTPUTF8")) {
            FZ_CHECK(vl == 0 && vs == 0 && (ext & SMTP_EXT_SMTPUTF8), "SMTPUTF8 with a value or not advertised");
            utf8 = 1;
        } else {
            fz_fail(__FILE__, __LINE__, "unknown MAIL parameter let through (555 expected)");
        }
        while (i < n && (p[i] == ' ' || p[i] == '\t')) /* smtp.h: runs of blanks */
            i++;
        FZ_CHECK(n == 0 || (p[n - 1] != ' ' && p[n - 1] != '\t'), "trailing blanks in the parameters");
    }
    if (mail) {
        FZ_CHECK(ev->mail.size == (size ? sz : 0), "EV_MAIL.size differs from SIZE=");
        FZ_CHECK(ev->mail.body == (body > 0 ? body : 0), "EV_MAIL.body differs from BODY=");
        FZ_CHECK(ev->mail.smtputf8 == utf8, "EV_MAIL.smtputf8 differs from SMTPUTF8");
    }
}

static void on_event(struct fz_run *run, int st, const union smtp_event *ev)
{
    struct sess *ss = (struct sess *)run->user;
    struct refpath r;
    const uint8_t *a;
    size_t an, off;
    unsigned flags;
    int mail = st == SMTP_EV_MAIL;
    (void)ss;
    if (st != SMTP_EV_MAIL && st != SMTP_EV_RCPT)
        return;
    /* The command line is what the call that gave the event took (the
     * harness offers everything at once, so one call takes one whole line,
     * CRLF included); the core's copy of it holds the argument after the
     * 4-letter verb and its blanks, which is where the spans must point.
     * Trailing blanks are dropped (smtp.h). */
    {
        const uint8_t *line = run->in + run->pos - run->last_used;
        FZ_CHECK(run->last_used >= 7 && line[run->last_used - 2] == '\r' &&
                     line[run->last_used - 1] == '\n',
                 "harness: the event's call did not take one CRLF line");
        size_t v = 4; /* the verb, then its blanks (smtp.h: runs of SP/HTAB) */
        while (v < run->last_used - 2 && (line[v] == ' ' || line[v] == '\t'))
            v++;
        a = (const uint8_t *)run->s._line + v;
        an = run->last_used - 2 - v;
        FZ_CHECK(memcmp(run->s._line, line, run->last_used - 2) == 0,
                 "harness: the core's line is not the line sent");
    }
    while (an > 0 && (a[an - 1] == ' ' || a[an - 1] == '\t'))
        an--;
    off = mail ? 5 : 3; /* "FROM:" / "TO:" */
    while (off < an && (a[off] == ' ' || a[off] == '\t')) /* smtp.h: blanks after the colon */
        off++;
    FZ_CHECK(an > off, "EV_MAIL/EV_RCPT with no path");
    flags = mail ? SMTP_PATH_NULL_OK : SMTP_PATH_POSTMASTER;
    flags |= SMTP_PATH_UTF8;
    FZ_CHECK(ref_path(a + off, an - off, flags, &r), "event path is not an RFC 5321 Path");
    if (r.o.eight)
        FZ_CHECK(mail ? ev->mail.smtputf8 : 1, "8-bit path let through without SMTPUTF8");
    FZ_CHECK(r.len <= SMTP_PATH_MAX && r.ll <= SMTP_LOCAL_MAX && r.dl <= SMTP_DOMAIN_MAX,
             "event path over a limit");
    same_span(ev->mail.path.mailbox, a + off, r.mp, r.ml, "event path span differs from the reference");
    same_span(ev->mail.path.local, a + off, r.lp, r.ll, "event local span differs from the reference");
    same_span(ev->mail.path.domain, a + off, r.dp, r.dl, "event domain span differs from the reference");
    FZ_CHECK(ev->mail.path.len == r.len, "event path length differs from the reference");
    if (off + r.len < an) {
        size_t ps = off + r.len;
        FZ_CHECK(a[ps] == ' ' || a[ps] == '\t', "parameters not separated by a blank");
        while (a[ps] == ' ' || a[ps] == '\t')
            ps++;
        same_span(ev->mail.params, a, ps, an - ps, "params span differs from the text after the path");
    } else {
        FZ_CHECK(ev->mail.params.len == 0, "params without text after the path");
    }
    check_params(ev, mail, fz_exts(&run->s.cfg));
    if (mail)
        ss->got_mail = 1;
    else
        ss->got_rcpt = 1;
}

static void t_session(const uint8_t *d, size_t n, unsigned bits)
{
    static const char ehlo[] = "EHLO client.example\r\n";
    size_t cut = 0, k = 0;
    uint8_t *in;
    struct fz_run *run;
    struct fz_cfg c;
    struct sess ss;
    while (cut < n && d[cut] != '\n')
        cut++;
    in = (uint8_t *)malloc(n + 64);
    run = (struct fz_run *)calloc(1, sizeof *run);
    FZ_CHECK(in && run, "harness: out of memory");
    memcpy(in, ehlo, sizeof ehlo - 1);
    k = sizeof ehlo - 1;
    memset(&ss, 0, sizeof ss);
    memcpy(in + k, "MAIL FROM:", 10);
    k += 10;
    memcpy(in + k, d, cut);
    k += cut;
    memcpy(in + k, "\r\nRCPT TO:", 10);
    k += 10;
    if (cut < n) {
        memcpy(in + k, d + cut + 1, n - cut - 1);
        k += n - cut - 1;
    }
    memcpy(in + k, "\r\n", 2);
    k += 2;
    memset(&c, 0, sizeof c);
    smtp_config_default(&c.cfg);
    if (bits & 1u)
        c.cfg.max_size = 1000;
    if (bits & 2u)
        c.cfg.extensions = SMTP_EXT_PIPELINING;
    ss.in = in;
    smtp_init(&run->s, &c.cfg);
    run->in = in;
    run->n = k;
    fz_app_init(&run->app, &c);
    run->on_event = on_event;
    run->user = &ss;
    fz_drive(run);
    free(in);
    free(run);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned sel;
    if (size < 1 || size > 4096)
        return 0;
    sel = data[0];
    switch (sel & 3u) {
    case 0: t_path(data + 1, size - 1, (sel >> 2) & 7u); break;
    case 1: t_domain(data + 1, size - 1, (sel >> 2) & 1); break;
    case 2: t_u64(data + 1, size - 1); break;
    default: t_session(data + 1, size - 1, sel >> 2); break;
    }
    return 0;
}
