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
        /* For Eva: one state per input length, and below, from each feed
         * on, one per pending decision, so that smtp_reply() and the next
         * feed's default answer see one event each, never several merged
         * with their codes and texts (proof/README.md, session-bytes). */
        //@ split len;
        if (len == 0 && any_bool())
            st = smtp_feed(&s, NULL, 0, &used, &ev); /* buf may be NULL when len is 0 */
        else
            st = smtp_feed(&s, in, len, &used, &ev);
        //@ assert used_in_input: used <= len;
        //@ assert result_in_range: SMTP_TURNED <= st <= SMTP__EV_LAST;
        //@ split s._await;
        (void)smtp_closed(&s);
        any_action(&s, enh, text);
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
