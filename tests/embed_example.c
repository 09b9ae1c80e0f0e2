/* The README's embedding example: one session over a buffer, blocking. */
#include <stdio.h>
#include <string.h>
#include "smtp.h"

static const char input[] = "EHLO client.example\r\nMAIL FROM:<Smith@Alpha.ARPA>\r\n"
    "RCPT TO:<Jones@Beta.ARPA>\r\nRCPT TO:<Green@Beta.ARPA>\r\n"
    "DATA\r\nBlah blah blah...\r\n.\r\nQUIT\r\n";

int main(void)
{
    struct smtp_session s;
    union smtp_event ev;
    const char *in = input, *out;
    size_t in_len = sizeof input - 1, used, out_len;
    int st;

    smtp_init(&s, NULL);
    do {
        st = smtp_feed(&s, in, in_len, &used, &ev);
        in += used;
        in_len -= used;
        if (st == SMTP_EV_RCPT && ev.rcpt.path.local.len == 5 &&
            memcmp(ev.rcpt.path.local.ptr, "Green", 5) == 0)
            smtp_reply(&s, 550, "5.1.1", "No such user here");
        else if (st == SMTP_EV_BODY)
            fwrite(ev.body.data.ptr, 1, ev.body.data.len, stderr);  /* the message */
        /* any other decision: the next smtp_feed() sends the default reply */
        while ((out = smtp_output(&s, &out_len)) != NULL) {
            fwrite(out, 1, out_len, stdout);              /* send(fd, ...) */
            smtp_output_done(&s, out_len);
        }
    } while (st != SMTP_CLOSED && !(st == SMTP_NEED_INPUT && in_len == 0));
    return st == SMTP_CLOSED ? 0 : 1;
}
