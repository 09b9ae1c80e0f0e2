/*
 * proof/command.c - the command parser under Eva.  A session with the
 * configuration CONFIG picks (0: the defaults; 1: any configuration, as
 * any_config() makes it, with the default hostname; 2: the defaults with
 * every extension, AUTH before TLS too) is greeted with the
 * default 220 and given a known "EHLO a" and the known lines PRE picks
 * (each answered with its default, all the output sent), then one
 * smtp_feed() of a line: a known prefix (VERB, an index into `prefixes`),
 * 0 to ARG_LEN octets each any of `alphabet`, CRLF.  After it: any
 * application action, any partial smtp_output_done(), and smtp_feed()
 * with nothing new (the default answer, if the application gave none).
 */
#include "any.h"
#include <string.h>

#ifndef VERB
#define VERB 0
#endif
#ifndef ARG_LEN
#define ARG_LEN 8
#endif
#ifndef CONFIG
#define CONFIG 0
#endif
#ifndef PRE
#define PRE 0
#endif

/* The known lines before the unknown one, each answered with its default:
 * "EHLO a" and what PRE picks. */
#define EHLO "EHLO a\r\n"
#define MAIL "MAIL FROM:<a@b>\r\n"
#define RCPT "RCPT TO:<c@d>\r\n"
static const char *const pres[][5] = {
    {EHLO, NULL},                                     /* 0: nothing more */
    {EHLO, MAIL, NULL},                               /* 1: a transaction */
    {EHLO, MAIL, RCPT, NULL},                         /* 2: a recipient */
    {EHLO, "AUTH PLAIN\r\n", NULL},                   /* 3: a SASL exchange */
    {EHLO, "AUTH LOGIN\r\n", NULL},                   /* 4: its first step */
    {EHLO, MAIL, RCPT, "DATA\r\n", NULL},             /* 5: in the data */
    {EHLO, "AUTH LOGIN\r\n", "dXNlcg==\r\n", NULL}, /* 6: LOGIN's second step */
};

/* The known start of the line. */
static const char *const prefixes[] = {
    "MAIL FROM:<", "RCPT TO:<", "EHLO ", "HELO ", "DATA", "RSET", "NOOP", "QUIT", /* 0-7 */
    "VRFY ", "EXPN ", "HELP", "BDAT ", "AUTH ", "STARTTLS", "ATRN", "TURN",       /* 8-15 */
    "",                                                                          /* 16 */
    "MAIL FROM:<a@b> SIZE=", "MAIL FROM:<a@b> BODY=", "MAIL FROM:<a@b> RET=",      /* 17-19 */
    "MAIL FROM:<a@b> ENVID=", "MAIL FROM:<a@b> AUTH=", "MAIL FROM:<a@b> SMTPUTF8", /* 20-22 */
    "RCPT TO:<a@b> NOTIFY=", "RCPT TO:<a@b> ORCPT=", "AUTH PLAIN ",               /* 23-25 */
    "MAIL FROM:<a@b> ", "RCPT TO:<a@b> ",                                        /* 26-27 */
};

static struct smtp_session s;
static char enh[TEXT_CAP], text[TEXT_CAP];
static char in[32 + ARG_LEN + 2];

/* The octets of the unknown part: one of each class the parsers tell
 * apart (letters of either case, digits, the punctuation of paths,
 * parameters, xtext and base64, blanks, NUL, DEL and 8-bit octets, lead
 * and continuation bytes of UTF-8), all but CR and LF, so that the line
 * ends at the CRLF after them; at most 48, which Eva keeps as a set. */
static const char alphabet[] = "aZz09<>@:.,-_=+/\\\"[] \t\0\x7f\x80\xbf\xc3\xe2\xf0\xff";

/* What the line's smtp_feed() returned (the log shows which results
 * the analysis reached: proof/README.md). */
extern void Frama_C_show_each_line_result(int, size_t);

int main(void)
{
    static struct smtp_config cfg;
    const char *prefix = prefixes[VERB];
    size_t plen = strlen(prefix), len, out, k, used;
    int st;
    smtp_config_default(&cfg);
#if CONFIG == 1
    any_config(&cfg, cfg.hostname);
#elif CONFIG == 2 /* every extension, AUTH before TLS too */
    cfg.extensions = 2u * SMTP_EXT_ATRN - 1;
    cfg.options = SMTP_OPT_AUTH_PLAINTEXT;
#endif
    smtp_init(&s, &cfg);
    feed_known_lines(&s, pres[PRE]);
    memcpy(in, prefix, plen);
    //@ loop unroll ARG_LEN;
    for (k = 0; k < ARG_LEN; k++)
        in[plen + k] = alphabet[Frama_C_interval(0, sizeof alphabet - 2)];
    len = plen + Frama_C_size_t_interval(0, ARG_LEN);
    //@ split len;
    in[len] = '\r';
    in[len + 1] = '\n';
    st = feed_send(&s, in, len + 2, &used);
    //@ assert line_result: SMTP_CLOSED <= st;
    Frama_C_show_each_line_result(st, used);
    //@ merge len;
    any_action(&s, enh, text);
    (void)smtp_output(&s, &out);
    smtp_output_done(&s, Frama_C_size_t_interval(0, out));
    (void)feed_send(&s, NULL, 0, &used);
    Frama_C_show_each_proof_end(0);
    return 0;
}
