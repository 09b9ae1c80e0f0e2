/*
 * proof/any.h - what the drivers give the core: values Eva treats as
 * "anything in this range" (Frama-C's __fc_builtin.h), so that one
 * analysis covers every input, configuration and application decision.
 */
#ifndef PROOF_ANY_H
#define PROOF_ANY_H

#include "__fc_builtin.h"
#include "smtp.h"
#include <string.h>

/* Longest strings the drivers pass: longer than anything the core keeps
 * (a 255-octet hostname, a 512-octet reply line, SMTP_REPLY_MAX), so every
 * cut is reached. */
#define HOST_CAP 300
#define TEXT_CAP (SMTP_REPLY_MAX + 16)

/* Eva prints each call it reaches: prove.sh checks the drivers end. */
extern void Frama_C_show_each_proof_end(int);

static int any_bool(void) { return Frama_C_nondet(0, 1); }

/* NULL, or a string of 0 to cap - 1 unknown octets: any octets, then a
 * NUL that is always there at the end of buf (so every shorter string is
 * covered too, by an earlier NUL). */
static const char *any_string_or_null(char *buf, size_t cap)
{
    Frama_C_make_unknown(buf, cap - 1);
    buf[cap - 1] = '\0';
    return any_bool() ? buf : NULL;
}

#ifndef SMTP_NO_SERVER
/* Any application action on s between two calls: any answer (any code,
 * any enhanced code and text of up to TEXT_CAP - 1 octets, each or both
 * NULL), a deferral, a shutdown of either kind for any reason,
 * smtp_tls_done(), or nothing (the next smtp_feed() then applies the
 * default answer).  enh and text: buffers of TEXT_CAP octets. */
static void any_action(struct smtp_session *s, char *enh, char *text)
{
    switch (Frama_C_interval(0, 4)) {
    case 0:
        (void)smtp_reply(s, Frama_C_unsigned_int_interval(0, UINT32_MAX),
                         any_string_or_null(enh, TEXT_CAP), any_string_or_null(text, TEXT_CAP));
        break;
    case 1:
        (void)smtp_defer(s);
        break;
    case 2:
        smtp_shutdown(s, Frama_C_interval(INT32_MIN, INT32_MAX), Frama_C_interval(INT32_MIN, INT32_MAX));
        break;
    case 3:
        (void)smtp_tls_done(s);
        break;
    default:
        break;
    }
}

/* Feeds p[0..len) to s once and sends all of the output: smtp_feed()'s
 * result, and the octets it used in *used.  For Eva, one state per length
 * of what is sent (the EHLO reply's SIZE has as many digits as max_size),
 * so that "all of it sent" is never merged with "some of it". */
static int feed_send(struct smtp_session *s, const char *p, size_t len, size_t *used)
{
    union smtp_event ev;
    size_t out;
    int st = smtp_feed(s, p, len, used, &ev);
    //@ assert used_in_input: *used <= len;
    //@ assert result_in_range: SMTP_TURNED <= st <= SMTP__EV_LAST;
    //@ split s->_out_len;
    (void)smtp_output(s, &out);
    smtp_output_done(s, out);
    return st;
}

/* From the start of a session: the greeting's event and its default 220,
 * then each known line of `lines` (a NULL-terminated list) by itself,
 * answered with its event's default, all output sent. */
static void feed_known_lines(struct smtp_session *s, const char *const *lines)
{
    size_t used;
    (void)feed_send(s, NULL, 0, &used); /* the greeting's event */
    (void)feed_send(s, NULL, 0, &used); /* its default answer, 220 */
    //@ loop unroll 8;
    for (; *lines; lines++) {
        (void)feed_send(s, *lines, strlen(*lines), &used);
        (void)feed_send(s, NULL, 0, &used); /* the default answer */
    }
}
#endif

/* Any configuration the header allows, with the given hostname: every
 * other field any value of its type (out-of-range limits are clamped by
 * smtp_init).  The drivers call it once per kind of hostname (NULL, a
 * literal, a buffer of any string), so that Eva never mixes a short
 * string with a long one's length. */
static void any_config(struct smtp_config *cfg, const char *hostname)
{
    smtp_config_default(cfg);
    cfg->hostname = hostname;
    cfg->max_size = Frama_C_unsigned_long_long_interval(0, UINT64_MAX);
    cfg->options = Frama_C_unsigned_int_interval(0, UINT32_MAX);
    cfg->extensions = Frama_C_unsigned_int_interval(0, UINT32_MAX);
    cfg->max_line = Frama_C_unsigned_short_interval(0, UINT16_MAX);
    cfg->max_rcpt = Frama_C_unsigned_short_interval(0, UINT16_MAX);
    cfg->max_text_line = Frama_C_unsigned_int_interval(0, UINT32_MAX);
    cfg->max_errors = Frama_C_unsigned_short_interval(0, UINT16_MAX);
    cfg->max_auth_fails = Frama_C_unsigned_char_interval(0, UINT8_MAX);
}

/* Calls run(cfg) for smtp_init(s, NULL), for the defaults, and for any
 * configuration with each kind of hostname: NULL, a literal, and any
 * string of 0 to HOST_CAP - 1 octets. */
static void for_any_config(void (*run)(const struct smtp_config *))
{
    static struct smtp_config cfg;
    static char host[HOST_CAP];
    run(NULL);
    smtp_config_default(&cfg);
    run(&cfg);
    any_config(&cfg, NULL);
    run(&cfg);
    any_config(&cfg, "mx.example.org");
    run(&cfg);
    Frama_C_make_unknown(host, HOST_CAP - 1);
    host[HOST_CAP - 1] = '\0';
    any_config(&cfg, host);
    run(&cfg);
}

#endif
