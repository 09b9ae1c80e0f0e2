/* bench/fw_client.c: the smallest firmware-like sender, for `make size`'s
 * linked sender figure: one static client that sends one alert mail with
 * STARTTLS required and AUTH PLAIN (LOGIN when only that is offered), driven
 * from a receive callback.  Linked with --gc-sections into a build with
 * SMTP_NO_SERVER, what smtp.c costs it is what a sending device pays. */
#include "smtp.h"

void fw_tls_handshake(void); /* the device's TLS stack */

static struct smtp_client client;
static const char alert[] = "Subject: alert\r\n\r\nPump 3 stopped.\r\n";
static size_t alert_sent;

void fw_send_start(void);
void fw_send_start(void)
{
    struct smtp_client_config cfg;
    smtp_client_config_default(&cfg);
    cfg.hostname = "pump3.example.org";
    cfg.tls = SMTP_TLS_REQUIRED;
    smtp_client_init(&client, &cfg);
    alert_sent = 0;
}

int fw_rx(const char *in, unsigned n, const char **out, unsigned *out_len);
int fw_rx(const char *in, unsigned n, const char **out, unsigned *out_len)
{
    union smtp_cevent ev;
    size_t used, len;
    int st = smtp_client_feed(&client, in, n, &used, &ev);
    if (st == SMTP_CEV_TLS) {
        fw_tls_handshake();
        smtp_client_tls_done(&client);
    } else if (st == SMTP_CEV_READY) {
        int mech = (client.caps.mechs & (1u << SMTP_MECH_PLAIN)) ? SMTP_MECH_PLAIN
                                                                  : SMTP_MECH_LOGIN;
        smtp_client_auth(&client, mech, NULL, "pump3", "secret");
    } else if (st == SMTP_CEV_AUTH && ev.any.reply.code == 235) {
        smtp_client_mail(&client, "pump3@example.org", NULL);
        smtp_client_rcpt(&client, "ops@example.org", 0, NULL);
        smtp_client_data(&client);
    } else if (st == SMTP_CEV_SENT || st == SMTP_CEV_AUTH || st == SMTP_CEV_DATA) {
        if (st != SMTP_CEV_DATA || ev.any.reply.code != 354)
            smtp_client_quit(&client);
    }
    if (alert_sent < sizeof alert - 1) {
        size_t took;
        if (smtp_client_body(&client, alert + alert_sent, sizeof alert - 1 - alert_sent,
                             &took) == SMTP_OK) {
            alert_sent += took;
            if (alert_sent == sizeof alert - 1)
                smtp_client_end(&client);
        }
    }
    *out = smtp_client_output(&client, &len);
    smtp_client_output_done(&client, len);
    *out_len = (unsigned)len;
    return (int)used;
}
