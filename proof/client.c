/*
 * proof/client.c - the sender under Eva: smtp_client_config_default(),
 * smtp_client_init() with any configuration the header allows, then STEPS
 * rounds of: smtp_client_feed() with 0 to IN_MAX unknown octets (or NULL
 * with 0), one command the driver picks (QUIT, RSET, NOOP, abort, TLS done,
 * MAIL and RCPT with a short unknown address, DATA, a short unknown body,
 * the end of the body, or nothing), and smtp_client_output() with
 * smtp_client_output_done() of any count up to what is pending.
 */
#include "any.h"

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

static struct smtp_client c;
static char in[IN_MAX], addr[ADDR_CAP], body[BODY_MAX];

static void output_done_any(void)
{
    size_t len;
    (void)smtp_client_output(&c, &len); /* not compared with NULL: see README.md */
    smtp_client_output_done(&c, Frama_C_size_t_interval(0, len));
}

/* One command, or none, as the application may call it at any time. */
static void any_command(void)
{
    size_t used;
    int r = 0;
    switch (Frama_C_interval(0, 11)) {
    case 0: r = smtp_client_quit(&c); break;
    case 1: r = smtp_client_rset(&c); break;
    case 2: r = smtp_client_noop(&c); break;
    case 3: smtp_client_abort(&c); break;
    case 4: r = smtp_client_tls_done(&c); break;
    case 5:
        Frama_C_make_unknown(addr, ADDR_CAP - 1);
        addr[ADDR_CAP - 1] = '\0';
        r = smtp_client_mail(&c, addr, NULL);
        break;
    case 6:
        Frama_C_make_unknown(addr, ADDR_CAP - 1);
        addr[ADDR_CAP - 1] = '\0';
        r = smtp_client_rcpt(&c, addr, 0, NULL);
        break;
    case 7: r = smtp_client_data(&c); break;
    case 8:
        Frama_C_make_unknown(body, BODY_MAX);
        r = smtp_client_body(&c, body, Frama_C_size_t_interval(0, BODY_MAX), &used);
        break;
    case 9: r = smtp_client_end(&c); break;
    case 10: r = smtp_client_closed(&c); break;
    default: break;
    }
    (void)r;
}

static void run(const struct smtp_client_config *cfg)
{
    int step;
    const char *given = cfg ? cfg->hostname : NULL;
    smtp_client_init(&c, cfg);
    /* a hostname smtp_client_init() refused becomes "localhost": kept
     * apart from the caller's string, so each keeps its own length */
    //@ split c.cfg.hostname == given;
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
    Frama_C_show_each_proof_end(0);
    return 0;
}
