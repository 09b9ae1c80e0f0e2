/*
 * proof/feed.c - unknown octets fed from a known point of a session, under
 * Eva.  START picks the point: the message data (0: after DATA; 1: after
 * BDAT 4; 2: after BDAT 4 LAST, each after EHLO, MAIL and RCPT) or the
 * command lines (3: after the greeting; 4: after EHLO).  Every known line
 * is answered with its default and all output sent; then CALLS rounds
 * of: smtp_feed() with 0 to IN_MAX unknown octets (any octets at all, so
 * CR, LF, '.' and NUL anywhere), any application action, any partial
 * smtp_output_done().  For the data, the rounds stop once it is over
 * (the commands after it are command.c's and the lines runs').
 *
 * The configuration: the defaults, with each option that changes how a
 * line is read (SMTP_OPT_LF_LINES, SMTP_OPT_STRICT_SPACES) on or off;
 * for the data also CHUNKING, each option for bare CR and LF, and any
 * max_size and max_text_line.
 */
#include "any.h"

#ifndef CALLS
#define CALLS 3
#endif
#ifndef IN_MAX
#define IN_MAX 6
#endif
#ifndef START
#define START 0
#endif

#define DATA (START < 3)

static const char *const lines[] = {
#if START == 4 || DATA
    "EHLO a\r\n",
#endif
#if DATA
    "MAIL FROM:<a@b>\r\n", "RCPT TO:<c@d>\r\n",
    START == 0 ? "DATA\r\n" : START == 1 ? "BDAT 4\r\n" : "BDAT 4 LAST\r\n",
#endif
    NULL,
};

static struct smtp_session s;
static char enh[TEXT_CAP], text[TEXT_CAP];
static char in[IN_MAX];

int main(void)
{
    static struct smtp_config cfg;
    int call;
    smtp_config_default(&cfg);
    cfg.options = (any_bool() ? SMTP_OPT_LF_LINES : 0u) | (any_bool() ? SMTP_OPT_STRICT_SPACES : 0u);
#if DATA
    cfg.options |= (any_bool() ? SMTP_OPT_BARE_KEEP : 0u) | (any_bool() ? SMTP_OPT_BARE_NORMALIZE : 0u);
    cfg.extensions |= SMTP_EXT_CHUNKING;
    cfg.max_size = Frama_C_unsigned_long_long_interval(0, UINT64_MAX);
    cfg.max_text_line = Frama_C_unsigned_int_interval(0, UINT32_MAX);
#endif
    smtp_init(&s, &cfg);
    feed_known_lines(&s, lines);
    //@ split s._state;
    //@ loop unroll CALLS;
    for (call = 0; call < CALLS; call++) {
        union smtp_event ev;
        size_t len = Frama_C_size_t_interval(0, IN_MAX), used, out;
        int st;
        Frama_C_make_unknown(in, IN_MAX);
        //@ split len;
        st = smtp_feed(&s, in, len, &used, &ev);
        //@ assert used_in_input: used <= len;
        //@ assert result_in_range: SMTP_TURNED <= st <= SMTP__EV_LAST;
        //@ split st;
        //@ split s._await;
        any_action(&s, enh, text);
        (void)smtp_output(&s, &out);
        smtp_output_done(&s, Frama_C_size_t_interval(0, out));
        if (DATA && st != SMTP_EV_BODY && st != SMTP_NEED_INPUT)
            break; /* the data is over (or was refused): commands follow */
    }
    Frama_C_show_each_proof_end(0);
    return 0;
}
