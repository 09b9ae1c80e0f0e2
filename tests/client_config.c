/*
 * client_config.c - the sender under the compile-time switches (make
 * test-config builds it once per setting): a compiled-out extension is one
 * no server offers (smtp.h, "The sender (client) role").  A scripted server
 * that offers everything; each check says what the client does with the
 * extension in and what it does with it out.  Also the client's names.
 * Ends with "client-config: N passed, N failed".
 */
#include <stdio.h>
#include <string.h>

#ifdef SMTP_STATIC
#include "smtp.c"
#else
#include "smtp.h"
#endif

#ifdef SMTP_NO_AUTH
#define HAS_AUTH 0
#else
#define HAS_AUTH 1
#endif
#if defined(SMTP_NO_AUTH) || defined(SMTP_NO_OAUTH)
#define HAS_OAUTH 0
#else
#define HAS_OAUTH 1
#endif
#ifdef SMTP_NO_STARTTLS
#define HAS_STARTTLS 0
#else
#define HAS_STARTTLS 1
#endif
#ifdef SMTP_NO_CHUNKING
#define HAS_CHUNKING 0
#else
#define HAS_CHUNKING 1
#endif
#ifdef SMTP_NO_DSN
#define HAS_DSN 0
#else
#define HAS_DSN 1
#endif
#ifdef SMTP_NO_SMTPUTF8
#define HAS_UTF8 0
#else
#define HAS_UTF8 1
#endif

static int passed, failed;

#define CHECK_EQ(a, b)                                                                             \
    do {                                                                                           \
        long long a_ = (long long)(a), b_ = (long long)(b);                                        \
        if (a_ == b_) {                                                                            \
            passed++;                                                                              \
        } else {                                                                                   \
            printf("FAIL %s:%d: %s == %lld, expected %s == %lld\n", __FILE__, __LINE__, #a, a_,   \
                   #b, b_);                                                                        \
            failed++;                                                                              \
        }                                                                                          \
    } while (0)
#define CHECK(cond) CHECK_EQ(!!(cond), 1)

/* A client and every octet it has sent. */
struct run {
    struct smtp_client c;
    char sent[2048];
    size_t sent_len;
};

static void drain(struct run *r)
{
    size_t n;
    const char *p;
    while ((p = smtp_client_output(&r->c, &n)) != NULL) {
        if (n > sizeof r->sent - 1 - r->sent_len)
            n = sizeof r->sent - 1 - r->sent_len;
        memcpy(r->sent + r->sent_len, p, n);
        r->sent_len += n;
        r->sent[r->sent_len] = '\0';
        smtp_client_output_done(&r->c, n);
        if (n == 0)
            break;
    }
}

/* Feeds the server's text whole; returns the last client event (0: none)
 * and its closed.why in *why. */
static int feed(struct run *r, const char *in, int *why)
{
    size_t len = strlen(in), used;
    int last = 0, guard = 0;
    union smtp_cevent ev;
    for (;;) {
        int st = smtp_client_feed(&r->c, in, len, &used, &ev);
        in += used, len -= used;
        drain(r);
        if (st > 0) {
            last = st;
            if (st == SMTP_CEV_CLOSED && why)
                *why = ev.closed.why;
        }
        if (st == SMTP_CLOSED || ++guard > 100 || (st == SMTP_NEED_INPUT && len == 0))
            return last;
    }
}

static const char greeting[] = "220 mx.example.org\r\n";
static const char ehlo_all[] = "250-mx.example.org\r\n250-PIPELINING\r\n250-SIZE 1000000\r\n"
                               "250-8BITMIME\r\n250-SMTPUTF8\r\n250-CHUNKING\r\n"
                               "250-BINARYMIME\r\n250-STARTTLS\r\n"
                               "250-AUTH PLAIN LOGIN XOAUTH2 OAUTHBEARER\r\n250-ATRN\r\n"
                               "250 DSN\r\n";

/* A session greeted by a server that offers everything, TLS policy tls. */
static int start(struct run *r, int tls, int *why)
{
    struct smtp_client_config cfg;
    smtp_client_config_default(&cfg);
    cfg.tls = (uint8_t)tls;
    cfg.options = SMTP_COPT_AUTH_PLAINTEXT;
    memset(r, 0, sizeof *r);
    smtp_client_init(&r->c, &cfg);
    (void)feed(r, greeting, why);
    return feed(r, ehlo_all, why);
}

static void test_caps(void)
{
    struct run r;
    uint32_t want = SMTP_EXT_PIPELINING | SMTP_EXT_SIZE | SMTP_EXT_8BITMIME;
    CHECK_EQ(start(&r, SMTP_TLS_OFF, NULL), SMTP_CEV_READY);
    CHECK(strstr(r.sent, "EHLO localhost\r\n") != NULL);
    if (HAS_UTF8)
        want |= SMTP_EXT_SMTPUTF8;
    if (HAS_CHUNKING)
        want |= SMTP_EXT_CHUNKING | SMTP_EXT_BINARYMIME;
    if (HAS_STARTTLS)
        want |= SMTP_EXT_STARTTLS;
    if (HAS_AUTH)
        want |= SMTP_EXT_AUTH | SMTP_EXT_ATRN;
    if (HAS_DSN)
        want |= SMTP_EXT_DSN;
    CHECK_EQ(r.c.caps.ext, want);
    CHECK_EQ(r.c.caps.mechs, (HAS_AUTH ? 6u : 0u) | (HAS_OAUTH ? 24u : 0u));
    CHECK_EQ(r.c.caps.size, 1000000);
}

static void test_starttls(void)
{
    struct run r;
    int why = -1;
    CHECK_EQ(start(&r, SMTP_TLS_REQUIRED, &why), HAS_STARTTLS ? 0 : SMTP_CEV_CLOSED);
    if (HAS_STARTTLS) {
        CHECK(strstr(r.sent, "STARTTLS\r\n") != NULL);
        CHECK_EQ(feed(&r, "220 go ahead\r\n", NULL), SMTP_CEV_TLS);
        CHECK_EQ(smtp_client_tls_done(&r.c), SMTP_OK);
    } else { /* SMTP_TLS_REQUIRED can never be met */
        CHECK_EQ(why, SMTP_WHY_NO_TLS);
        CHECK(strstr(r.sent, "STARTTLS") == NULL);
        CHECK(strstr(r.sent, "QUIT\r\n") != NULL);
        CHECK_EQ(smtp_client_tls_done(&r.c), SMTP_ERR_STATE);
    }
    CHECK_EQ(start(&r, SMTP_TLS_OPPORTUNISTIC, NULL), HAS_STARTTLS ? 0 : SMTP_CEV_READY);
    CHECK_EQ(strstr(r.sent, "STARTTLS") != NULL, HAS_STARTTLS);
    CHECK_EQ(start(&r, SMTP_TLS_IMPLICIT, NULL), SMTP_CEV_READY); /* no STARTTLS needed */
    CHECK(strstr(r.sent, "STARTTLS") == NULL);
}

static void test_auth(void)
{
    struct run r;
    (void)start(&r, SMTP_TLS_OFF, NULL);
    CHECK_EQ(smtp_client_auth(&r.c, SMTP_MECH_PLAIN, NULL, "u", "p"),
             HAS_AUTH ? SMTP_OK : SMTP_ERR_EXT);
    drain(&r);
    CHECK_EQ(strstr(r.sent, "AUTH PLAIN AHUAcA==\r\n") != NULL, HAS_AUTH);
    if (HAS_AUTH)
        CHECK_EQ(feed(&r, "235 ok\r\n", NULL), SMTP_CEV_AUTH);
    (void)start(&r, SMTP_TLS_OFF, NULL);
    CHECK_EQ(smtp_client_auth(&r.c, SMTP_MECH_LOGIN, NULL, "u", "p"),
             HAS_AUTH ? SMTP_OK : SMTP_ERR_EXT);
    drain(&r);
    CHECK_EQ(strstr(r.sent, "AUTH LOGIN\r\n") != NULL, HAS_AUTH);
    if (!HAS_AUTH) /* ATRN needs AUTH: as if not offered */
        CHECK_EQ(smtp_client_atrn(&r.c, NULL), SMTP_ERR_EXT);
    (void)start(&r, SMTP_TLS_OFF, NULL);
    CHECK_EQ(smtp_client_auth(&r.c, SMTP_MECH_XOAUTH2, NULL, "u", "t"),
             HAS_OAUTH ? SMTP_OK : SMTP_ERR_EXT);
    (void)start(&r, SMTP_TLS_OFF, NULL);
    CHECK_EQ(smtp_client_auth(&r.c, SMTP_MECH_OAUTHBEARER, NULL, "u", "t"),
             HAS_OAUTH ? SMTP_OK : SMTP_ERR_EXT);
    drain(&r);
    CHECK_EQ(r.sent_len > 0 && strstr(r.sent, "AUTH OAUTHBEARER bixhPXUsAWF1dGg9QmVhcmVyIHQBAQ==\r\n") != NULL,
             HAS_OAUTH);
}

static void test_mail_params(void)
{
    struct run r;
    struct smtp_mail_opts o;
    (void)start(&r, SMTP_TLS_OFF, NULL);
    memset(&o, 0, sizeof o);
    o.smtputf8 = 1;
    CHECK_EQ(smtp_client_mail(&r.c, "a@example.org", &o), HAS_UTF8 ? SMTP_OK : SMTP_ERR_EXT);
    (void)start(&r, SMTP_TLS_OFF, NULL);
    CHECK_EQ(smtp_client_mail(&r.c, "\xc3\xa9@example.org", NULL), SMTP_ERR_UTF8);
    memset(&o, 0, sizeof o);
    o.ret = SMTP_RET_HDRS;
    CHECK_EQ(smtp_client_mail(&r.c, "a@example.org", &o), HAS_DSN ? SMTP_OK : SMTP_ERR_EXT);
    (void)start(&r, SMTP_TLS_OFF, NULL);
    memset(&o, 0, sizeof o);
    o.envid = "id 1";
    CHECK_EQ(smtp_client_mail(&r.c, "a@example.org", &o), HAS_DSN ? SMTP_OK : SMTP_ERR_EXT);
    drain(&r);
    CHECK_EQ(strstr(r.sent, "MAIL FROM:<a@example.org> ENVID=id+201\r\n") != NULL, HAS_DSN);
    (void)start(&r, SMTP_TLS_OFF, NULL);
    memset(&o, 0, sizeof o);
    o.body = SMTP_BODY_BINARYMIME;
    CHECK_EQ(smtp_client_mail(&r.c, "a@example.org", &o), HAS_CHUNKING ? SMTP_OK : SMTP_ERR_EXT);
    (void)start(&r, SMTP_TLS_OFF, NULL);
    CHECK_EQ(smtp_client_mail(&r.c, "a@example.org", NULL), SMTP_OK);
    CHECK_EQ(smtp_client_rcpt(&r.c, "b@example.org", SMTP_NOTIFY_FAILURE, NULL),
             HAS_DSN ? SMTP_OK : SMTP_ERR_EXT);
    CHECK_EQ(smtp_client_rcpt(&r.c, "c@example.org", 0, "rfc822;c@example.org"),
             HAS_DSN ? SMTP_OK : SMTP_ERR_EXT);
    drain(&r);
    CHECK_EQ(strstr(r.sent, "RCPT TO:<b@example.org> NOTIFY=FAILURE\r\n") != NULL, HAS_DSN);
}

/* A message to one recipient: DATA and dot-stuffing, or BDAT when CHUNKING
 * is offered and compiled in. */
static void test_body(void)
{
    struct run r;
    size_t used;
    static const char body[] = ".hi\r\n";
    (void)start(&r, SMTP_TLS_OFF, NULL);
    CHECK_EQ(smtp_client_mail(&r.c, "a@example.org", NULL), SMTP_OK);
    CHECK_EQ(smtp_client_rcpt(&r.c, "b@example.org", 0, NULL), SMTP_OK);
    CHECK_EQ(smtp_client_data(&r.c), HAS_CHUNKING ? SMTP_ERR_BUSY : SMTP_OK);
    drain(&r);
    CHECK_EQ(feed(&r, "250 ok\r\n250 ok\r\n", NULL), SMTP_CEV_RCPT);
    if (HAS_CHUNKING) {
        CHECK_EQ(smtp_client_data(&r.c), SMTP_OK);
    } else {
        CHECK_EQ(feed(&r, "354 go\r\n", NULL), SMTP_CEV_DATA);
    }
    CHECK_EQ(smtp_client_body(&r.c, body, sizeof body - 1, &used), SMTP_OK);
    drain(&r);
    CHECK_EQ(used, sizeof body - 1);
    CHECK_EQ(smtp_client_end(&r.c), SMTP_OK);
    drain(&r);
    if (HAS_CHUNKING)
        CHECK(strstr(r.sent, "BDAT 5\r\n.hi\r\nBDAT 0 LAST\r\n") != NULL);
    else
        CHECK(strstr(r.sent, "DATA\r\n..hi\r\n.\r\n") != NULL);
    CHECK_EQ(strstr(r.sent, "DATA\r\n") != NULL, !HAS_CHUNKING);
}

static void test_names(void)
{
    CHECK_EQ(strcmp(smtp_client_event_name(SMTP_CEV_SENT), "CEV_SENT"), 0);
    CHECK_EQ(strcmp(smtp_client_event_name(SMTP_CEV_READY), "CEV_READY"), 0);
    CHECK_EQ(strcmp(smtp_client_event_name(SMTP_CEV_CLOSED), "CEV_CLOSED"), 0);
    CHECK_EQ(strcmp(smtp_client_event_name(SMTP_NEED_INPUT), "NEED_INPUT"), 0);
    CHECK_EQ(strcmp(smtp_client_event_name(99), "?"), 0);
    CHECK_EQ(strcmp(smtp_err_name(SMTP_ERR_EXT), "ERR_EXT"), 0);
    CHECK_EQ(strcmp(smtp_err_name(SMTP_ERR_BARE), "ERR_BARE"), 0);
    CHECK_EQ(strcmp(smtp_err_name(1), "?"), 0);
    CHECK_EQ(strcmp(smtp_event_name(SMTP_CLOSED), "CLOSED"), 0);
#ifdef SMTP_TERSE
    CHECK_EQ(strcmp(smtp_client_event_desc(SMTP_CEV_RSET), "?"), 0);
#else
    CHECK_EQ(strcmp(smtp_client_event_desc(SMTP_CEV_RSET), "reply to RSET"), 0);
    CHECK_EQ(strcmp(smtp_err_desc(SMTP_ERR_LIMIT),
                    "the server takes no more recipients in this transaction"),
             0);
#endif
    CHECK_EQ(strcmp(smtp_client_event_desc(-99), "?"), 0);
}

int main(void)
{
    test_caps();
    test_starttls();
    test_auth();
    test_mail_params();
    test_body();
    test_names();
    printf("client-config: %d passed, %d failed\n", passed, failed);
    return failed != 0;
}
