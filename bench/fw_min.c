/* bench/fw_min.c: the smallest firmware-like user of the core, for
 * `make size`'s "linked" figure: one static session driven from a receive
 * callback, RCPT answered by the application, everything else by default.
 * Linked with --gc-sections, what smtp.c costs it is what a device pays
 * (the name/description tables, smtp_parse_* and smtp_xtext_decode drop out
 * when unused). */
#include "smtp.h"

static struct smtp_session session;

int fw_rx(const char *in, unsigned n, const char **out, unsigned *out_len);
int fw_rx(const char *in, unsigned n, const char **out, unsigned *out_len)
{
    union smtp_event ev;
    size_t used, len;
    int st = smtp_feed(&session, in, n, &used, &ev);
    if (st == SMTP_EV_RCPT && ev.rcpt.path.domain.len == 0)
        smtp_reply(&session, 550, NULL, NULL);
    if (st == SMTP_CLOSED)
        smtp_init(&session, NULL);
    *out = smtp_output(&session, &len);
    smtp_output_done(&session, len);
    *out_len = (unsigned)len;
    return (int)used;
}
