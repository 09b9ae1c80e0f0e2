/*
 * proof/client.c - the sender under Eva: smtp_client_config_default(),
 * smtp_client_init() with any configuration the header allows, then STEPS
 * rounds of: smtp_client_feed() with 0 to IN_MAX unknown octets (or NULL
 * with 0), one call the driver picks (QUIT, RSET, NOOP, abort, TLS done,
 * MAIL with no parameters or any of them, RCPT with any NOTIFY and ORCPT,
 * each with a short unknown address, DATA, a short unknown body, the end
 * of the body, TURN, ATRN with any short domain list, or nothing), and
 * smtp_client_output() with smtp_client_output_done() of any count up to
 * what is pending, or smtp_client_output_spans() of up to 3 spans.
 *
 * With -DGREETED the session first gets a known 220 greeting and a known
 * EHLO reply (each keyword line there or not, the driver picks), all of
 * the output is sent, and the rounds start from there: that reaches the
 * MAIL/RCPT parameters, BDAT and ATRN with the server's keywords, which
 * need longer replies than the unknown octets the rounds feed.  With
 * -DAUTH_CALL (and -DGREETED) smtp_client_auth() is called once before the
 * rounds, with any mechanism number and short unknown credentials, so the
 * rounds' replies (334, 235, 535, ...) drive the SASL exchange; that run
 * starts from any configuration with the default hostname only.
 */
#include "any.h"
#include <string.h>

#ifndef STEPS
#define STEPS 2
#endif
#ifndef IN_MAX
#define IN_MAX 8
#endif
#ifndef ADDR_CAP
#define ADDR_CAP 8 /* addresses of 0 to ADDR_CAP - 1 unknown octets */
#endif
#ifndef BODY_MAX
#define BODY_MAX 4
#endif
#ifndef CRED_CAP
#define CRED_CAP 6 /* AUTH strings and DSN texts of 0 to CRED_CAP - 1 octets */
#endif

static struct smtp_client c;
static char in[IN_MAX], addr[ADDR_CAP], body[BODY_MAX];
static char cred[3][CRED_CAP], text[CRED_CAP];
#if defined AUTH_CALL && !defined GREETED
#error "AUTH_CALL needs GREETED: AUTH is refused before the EHLO reply"
#endif
#ifdef AUTH_CALL
/* The layout of the SASL message smtp_client_auth() builds (proof/README.md):
 * 0, PLAIN or LOGIN with an authzid; 1, PLAIN or LOGIN with authzid NULL
 * (smtp.c then sends "", a string of its own); 2, XOAUTH2 or OAUTHBEARER.
 * Chosen once a run and kept apart: in one merged state a part could be
 * seen with another layout's length. */
static int auth_layout, auth_ok;
#endif

static void output_done_any(void)
{
    size_t len;
    if (any_bool()) { /* a writev()-style send: up to 3 spans taken at once */
        struct smtp_span v[3];
        size_t n = smtp_client_output_spans(&c, v, Frama_C_size_t_interval(0, 3));
        //@ assert n <= 3;
        (void)n;
        return;
    }
    (void)smtp_client_output(&c, &len); /* not compared with NULL: see README.md */
    smtp_client_output_done(&c, Frama_C_size_t_interval(0, len));
}

/* NULL or a string of 0 to CRED_CAP - 1 unknown octets. */
static const char *any_short_or_null(char *buf)
{
    return any_string_or_null(buf, CRED_CAP);
}

/* One command, or none, as the application may call it at any time. */
static void any_command(void)
{
    size_t used;
    int r = 0;
    switch (Frama_C_interval(0, 15)) {
    case 0: r = smtp_client_quit(&c); break;
    case 1: r = smtp_client_rset(&c); break;
    case 2: r = smtp_client_noop(&c); break;
    case 3: smtp_client_abort(&c); break;
    case 4: r = smtp_client_tls_done(&c); break;
    case 5:
        Frama_C_make_unknown(addr, ADDR_CAP - 1);
        addr[ADDR_CAP - 1] = '\0';
        if (any_bool()) {
            struct smtp_mail_opts o;
            o.size = Frama_C_unsigned_long_long_interval(0, UINT64_MAX);
            o.body = Frama_C_unsigned_char_interval(0, UINT8_MAX);
            o.smtputf8 = Frama_C_unsigned_char_interval(0, UINT8_MAX);
            o.ret = Frama_C_unsigned_char_interval(0, UINT8_MAX);
            o.envid = any_short_or_null(text);
            r = smtp_client_mail(&c, addr, &o);
        } else {
            r = smtp_client_mail(&c, addr, NULL);
        }
        break;
    case 6:
        Frama_C_make_unknown(addr, ADDR_CAP - 1);
        addr[ADDR_CAP - 1] = '\0';
        r = smtp_client_rcpt(&c, addr, Frama_C_unsigned_int_interval(0, UINT32_MAX),
                             any_short_or_null(text));
        break;
    case 7: r = smtp_client_data(&c); break;
    case 8:
        Frama_C_make_unknown(body, BODY_MAX);
        r = smtp_client_body(&c, body, Frama_C_size_t_interval(0, BODY_MAX), &used);
        break;
    case 9: r = smtp_client_end(&c); break;
    case 10: r = smtp_client_closed(&c); break;
    case 12: r = smtp_client_turn(&c); break;
    case 13: r = smtp_client_atrn(&c, any_short_or_null(text)); break;
    default: break;
    }
    (void)r;
}

#ifdef GREETED
/* Feeds one known reply line. */
static void feed_known(const char *reply)
{
    union smtp_cevent ev;
    size_t used, len = strlen(reply);
    (void)smtp_client_feed(&c, reply, len, &used, &ev);
}

/* The EHLO reply's lines, each offered or not (then its last line). */
static const char *const ehlo_lines[] = {
    "250-PIPELINING\r\n", "250-SIZE 1000\r\n", "250-8BITMIME\r\n",
    "250-ENHANCEDSTATUSCODES\r\n", "250-SMTPUTF8\r\n", "250-LIMITS RCPTMAX=2\r\n",
    "250-CHUNKING\r\n", "250-BINARYMIME\r\n", "250-STARTTLS\r\n",
    "250-AUTH PLAIN LOGIN XOAUTH2 OAUTHBEARER\r\n", "250-DSN\r\n", "250-ATRN\r\n"};

static void greet(void)
{
    unsigned k;
    size_t len;
    feed_known("220 mx\r\n");
    (void)smtp_client_output(&c, &len);
    smtp_client_output_done(&c, len);
    feed_known("250-mx\r\n");
    //@ loop unroll 12;
    for (k = 0; k < sizeof ehlo_lines / sizeof ehlo_lines[0]; k++)
        if (any_bool())
            feed_known(ehlo_lines[k]);
    feed_known("250 HELP\r\n");
    (void)smtp_client_output(&c, &len);
    smtp_client_output_done(&c, len);
}
#endif

static void run(const struct smtp_client_config *cfg)
{
    int step;
#ifdef AUTH_CALL
    int mech;
    const char *authzid;
#endif
    const char *given = cfg ? cfg->hostname : NULL;
    smtp_client_init(&c, cfg);
    /* a hostname smtp_client_init() refused becomes "localhost": kept
     * apart from the caller's string, so each keeps its own length */
    //@ split c.cfg.hostname == given;
#ifdef GREETED
    greet();
#endif
#ifdef AUTH_CALL
    /* AUTH with any mechanism number of the layout (the ones no server
     * offers, -1, 0 and 5, with the first two) and short unknown
     * credentials; user and secret are never NULL.  Here, not in a
     * function: the splits last the whole run. */
    auth_layout = Frama_C_interval(0, 2);
    //@ split auth_layout;
    Frama_C_make_unknown(cred[0], CRED_CAP - 1);
    cred[0][CRED_CAP - 1] = '\0';
    Frama_C_make_unknown(cred[1], CRED_CAP - 1);
    cred[1][CRED_CAP - 1] = '\0';
    Frama_C_make_unknown(cred[2], CRED_CAP - 1);
    cred[2][CRED_CAP - 1] = '\0';
    if (auth_layout == 2) {
        mech = Frama_C_interval(SMTP_MECH_XOAUTH2, SMTP_MECH_OAUTHBEARER);
        authzid = any_bool() ? NULL : cred[0];
    } else {
        mech = Frama_C_nondet(Frama_C_interval(-1, SMTP_MECH_LOGIN), 5);
        authzid = auth_layout ? NULL : cred[0];
    }
    /* one call, its result tested at once: the states where it returned
     * SMTP_OK stay apart from the others (-eva-split-return auto splits a
     * call's results on the constants its caller compares them with; two
     * calls would join theirs where the branches meet) */
    auth_ok = smtp_client_auth(&c, mech, authzid, cred[1], cred[2]);
    auth_ok = auth_ok == SMTP_OK;
    //@ split auth_ok;
#endif
    output_done_any();
    //@ loop unroll STEPS;
    for (step = 0; step < STEPS; step++) {
        union smtp_cevent ev;
        size_t len = Frama_C_size_t_interval(0, IN_MAX), used;
        int st;
        Frama_C_make_unknown(in, IN_MAX);
        /* each length its own state during the call: used <= len is a
         * relation Eva keeps only when len is exact */
        //@ split len;
        if (len == 0 && any_bool())
            st = smtp_client_feed(&c, NULL, 0, &used, &ev); /* buf may be NULL when len is 0 */
        else
            st = smtp_client_feed(&c, in, len, &used, &ev);
        //@ assert used_in_input: used <= len;
        //@ assert result_in_range: SMTP_TURNED <= st <= SMTP__CEV_LAST;
        //@ merge len;
        any_command();
        output_done_any();
    }
}

/* Any configuration: every field any value of its type, with the
 * hostname NULL, a literal, or any string of 0 to HOST_CAP - 1 octets. */
static void any_client_config(struct smtp_client_config *cfg, const char *hostname)
{
    smtp_client_config_default(cfg);
    cfg->hostname = hostname;
    cfg->options = Frama_C_unsigned_int_interval(0, UINT32_MAX);
    cfg->tls = Frama_C_unsigned_char_interval(0, UINT8_MAX);
    cfg->max_reply_lines = Frama_C_unsigned_char_interval(0, UINT8_MAX);
}

int main(void)
{
    static struct smtp_client_config cfg;
#ifdef AUTH_CALL
    /* AUTH under any configuration: that covers NULL and the defaults
     * (where it is refused without TLS).  The hostname enters only the
     * EHLO, sent before AUTH, which client-greeted proves with each kind
     * of hostname; so only the default one here (CI's time). */
    any_client_config(&cfg, NULL);
    run(&cfg);
#else
    static char host[HOST_CAP];
    run(NULL);
    smtp_client_config_default(&cfg);
    run(&cfg);
    any_client_config(&cfg, NULL);
    run(&cfg);
    any_client_config(&cfg, "mx.example.org");
    run(&cfg);
    Frama_C_make_unknown(host, HOST_CAP - 1);
    host[HOST_CAP - 1] = '\0';
    any_client_config(&cfg, host);
    run(&cfg);
#endif
    Frama_C_show_each_proof_end(0);
    return 0;
}
