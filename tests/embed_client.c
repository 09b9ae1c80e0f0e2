/* The README's sender example: one message; the server's replies come from a script. */
#include <stdio.h>
#include <string.h>
#include "smtp.h"

static const char *const script[] = {"220 mx.example ESMTP\r\n",
    "250-mx.example\r\n250-PIPELINING\r\n250 8BITMIME\r\n",
    "250 2.1.0 OK\r\n250 2.1.5 OK\r\n354 Go ahead\r\n", "250 2.0.0 Queued\r\n", "221 Bye\r\n"};
static const char body[] = "Subject: alarm\n\nDoor 3 opened.\n.\n";   /* LF ends: fine */

int main(void)
{
    struct smtp_client c;
    union smtp_cevent ev;
    const char *in = "", *out, *next = body;
    size_t in_len = 0, left = sizeof body - 1, used, out_len, k = 0;
    unsigned sent = 0;
    int st, moved;

    smtp_client_init(&c, NULL);                   /* EHLO localhost, no TLS */
    for (;;) {
        st = smtp_client_feed(&c, in, in_len, &used, &ev);
        in += used;
        in_len -= used;
        if (st == SMTP_CEV_READY) {               /* greeted: queue the envelope */
            smtp_client_mail(&c, "sensor@example.org", NULL);
            smtp_client_rcpt(&c, "ops@example.net", 0, NULL);    /* ERR_BUSY without */
            smtp_client_data(&c);                                 /* PIPELINING: retry */
        } else if (st == SMTP_CEV_SENT) {
            sent = ev.any.reply.code;             /* 250: the server took it */
            smtp_client_quit(&c);
        }
        moved = left && smtp_client_body(&c, next, left, &used) == SMTP_OK;
        if (moved) {                              /* ERR_BUSY until the 354 */
            next += used;
            if ((left -= used) == 0)
                smtp_client_end(&c);              /* CRLF.CRLF */
        }
        while ((out = smtp_client_output(&c, &out_len)) != NULL) {
            fwrite(out, 1, out_len, stdout);      /* send(fd, ...) */
            smtp_client_output_done(&c, out_len);
        }
        if (st == SMTP_CLOSED)
            break;
        if (st == SMTP_NEED_INPUT && in_len == 0 && !moved) {
            if (k == sizeof script / sizeof script[0])
                break;                            /* the server hung up */
            in = script[k++];                     /* read(fd, ...) */
            in_len = strlen(in);
        }
    }
    return sent == 250 && smtp_client_closed(&c) ? 0 : 1;
}
