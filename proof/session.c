/*
 * proof/session.c - a whole session under Eva: any configuration, then
 * CALLS smtp_feed() calls, each with 0 to IN_MAX unknown octets,
 * and between them any application action: any smtp_reply(), smtp_defer(),
 * smtp_shutdown(), smtp_tls_done(), and partial smtp_output_done().
 */
#include "any.h"

#ifndef CALLS
#define CALLS 4
#endif
#ifndef IN_MAX
#define IN_MAX 64
#endif

static struct smtp_session s;
static char enh[TEXT_CAP], text[TEXT_CAP];
static char in[IN_MAX];

/* Any application action between two calls: any answer, a deferral, a
 * shutdown of either kind, smtp_tls_done(), or nothing (the next
 * smtp_feed() then applies the default answer). */
static void any_action(void)
{
    switch (Frama_C_interval(0, 4)) {
    case 0:
        (void)smtp_reply(&s, Frama_C_unsigned_int_interval(0, UINT32_MAX),
                         any_string_or_null(enh, sizeof enh), any_string_or_null(text, sizeof text));
        break;
    case 1:
        (void)smtp_defer(&s);
        break;
    case 2:
        smtp_shutdown(&s, Frama_C_interval(INT32_MIN, INT32_MAX), Frama_C_interval(INT32_MIN, INT32_MAX));
        break;
    case 3:
        (void)smtp_tls_done(&s);
        break;
    default:
        break;
    }
}

static void run(const struct smtp_config *cfg)
{
    int call;
    smtp_init(&s, cfg);
    //@ loop unroll CALLS;
    for (call = 0; call < CALLS; call++) {
        union smtp_event ev;
        size_t len = Frama_C_size_t_interval(0, IN_MAX), used, out;
        int st;
        Frama_C_make_unknown(in, IN_MAX);
        if (len == 0 && any_bool())
            st = smtp_feed(&s, NULL, 0, &used, &ev); /* buf may be NULL when len is 0 */
        else
            st = smtp_feed(&s, in, len, &used, &ev);
        //@ assert used_in_input: used <= len;
        //@ assert result_in_range: SMTP_CLOSED <= st <= SMTP__EV_LAST;
        (void)smtp_closed(&s);
        any_action();
        (void)smtp_output(&s, &out);
        smtp_output_done(&s, Frama_C_size_t_interval(0, out));
    }
}

int main(void)
{
    for_any_config(run);
    Frama_C_show_each_proof_end(0);
    return 0;
}
