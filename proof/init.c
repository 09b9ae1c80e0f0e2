/*
 * proof/init.c - smtp_config_default() and smtp_init() with any
 * configuration the header allows, then on the new session every call that
 * needs no input: smtp_output(), partial smtp_output_done(), smtp_closed(),
 * smtp_defer() and smtp_reply() with nothing to answer, smtp_tls_done()
 * (implicit TLS) and smtp_shutdown() in both modes.
 */
#include "any.h"

static struct smtp_session s;

static void output_done_any(void)
{
    size_t len;
    (void)smtp_output(&s, &len); /* not compared with NULL: see README.md */
    smtp_output_done(&s, Frama_C_size_t_interval(0, len));
}

static void shutdown_any(int why)
{
    smtp_shutdown(&s, Frama_C_interval(INT32_MIN, INT32_MAX), why);
    output_done_any();
    output_done_any();
    smtp_shutdown(&s, 1, why);
    output_done_any();
}

static void run(const struct smtp_config *cfg)
{
    smtp_init(&s, cfg);
    (void)smtp_closed(&s);
    (void)smtp_defer(&s);
    (void)smtp_reply(&s, Frama_C_unsigned_int_interval(0, UINT32_MAX), NULL, NULL);
    if (any_bool())
        (void)smtp_tls_done(&s);
    /* each reason on its own path: their 421 texts differ in length, and a
     * merged state would lose which length goes with which text */
    switch (Frama_C_interval(0, 4)) {
    case 0: shutdown_any(SMTP_BYE_SHUTDOWN); break;
    case 1: shutdown_any(SMTP_BYE_TIMEOUT); break;
    case 2: shutdown_any(SMTP_BYE_BUSY); break;
    case 3: shutdown_any(Frama_C_interval(3, INT32_MAX)); break; /* no reason: as SHUTDOWN */
    default: shutdown_any(Frama_C_interval(INT32_MIN, -1)); break;
    }
}

int main(void)
{
    for_any_config(run);
    Frama_C_show_each_proof_end(0);
    return 0;
}
