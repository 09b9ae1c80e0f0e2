/*
 * proof/data.c - the message data under Eva.  A session with the defaults
 * and CHUNKING, any max_size and max_text_line, and each of the options
 * that change how data or lines are read on or off, is greeted with the
 * default 220 and given a known EHLO, MAIL, RCPT and the start of the
 * data START picks (0: DATA; 1: BDAT 4; 2: BDAT 4 LAST), each answered
 * with its default, all output sent; then, while the data goes on (a body
 * event, or more input wanted), up to CALLS rounds of: smtp_feed() with 0
 * to IN_MAX unknown octets (any octets at all), any application action,
 * any partial smtp_output_done().  (The commands that follow the data are
 * lines.c's and command.c's.)
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

static const char *const lines[] = {
    "EHLO a\r\n", "MAIL FROM:<a@b>\r\n", "RCPT TO:<c@d>\r\n",
    START == 0 ? "DATA\r\n" : START == 1 ? "BDAT 4\r\n" : "BDAT 4 LAST\r\n", NULL,
};

static struct smtp_session s;
static char enh[TEXT_CAP], text[TEXT_CAP];
static char in[IN_MAX];

int main(void)
{
    static struct smtp_config cfg;
    int call;
    smtp_config_default(&cfg);
    cfg.options = (any_bool() ? SMTP_OPT_BARE_KEEP : 0u) | (any_bool() ? SMTP_OPT_BARE_NORMALIZE : 0u) |
                  (any_bool() ? SMTP_OPT_LF_LINES : 0u) | (any_bool() ? SMTP_OPT_STRICT_SPACES : 0u);
    cfg.extensions |= SMTP_EXT_CHUNKING;
    cfg.max_size = Frama_C_unsigned_long_long_interval(0, UINT64_MAX);
    cfg.max_text_line = Frama_C_unsigned_int_interval(0, UINT32_MAX);
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
        if (st != SMTP_EV_BODY && st != SMTP_NEED_INPUT)
            break; /* the data is over (or was refused): commands follow */
    }
    Frama_C_show_each_proof_end(0);
    return 0;
}
