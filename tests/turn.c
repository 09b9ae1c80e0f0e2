/*
 * tests/turn.c - TURN and ATRN end to end: two peers in memory, each
 * running smtp.c's receiver or sender, swap roles on the same "connection"
 * and back again, with the byte streams between them cut at random.
 *
 * Peer A starts as the receiver, peer B as the sender.  B asks for the
 * mail A holds (TURN, or AUTH then ATRN); A accepts, both swap roles, A
 * delivers a message to B; then A (now the sender) sends TURN and B
 * accepts, the roles swap back and B delivers a message to A; then QUIT.
 * Every message must arrive byte for byte, and no octet meant for the new
 * role may be taken by the old one.  Ends with "turn: N passed, N failed".
 */
#include "smtp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PIPE_MAX (1 << 16)
struct pipe { /* bytes in flight from one peer to the other */
    char b[PIPE_MAX];
    size_t len;
};

struct peer {
    const char *name;
    int server; /* 1: smtp_session, 0: smtp_client */
    struct smtp_session s;
    struct smtp_client c;
    struct pipe *in, *out;
    const char *send_msg; /* the message it delivers when it is the sender */
    int step;             /* the sender's progress */
    int turn_back;        /* as the sender: TURN after delivering (else QUIT) */
    int atrn;             /* as the first sender: AUTH + ATRN instead of TURN */
    char got[4096];       /* what it received as the receiver */
    size_t got_len;
    int delivered, turned, closed;
};

static unsigned long rng = 1;
static unsigned rnd(unsigned n)
{
    rng = rng * 6364136223846793005ul + 1442695040888963407ul;
    return (unsigned)((rng >> 33) % n);
}

static int failed;
#define FAIL(...) (fprintf(stderr, __VA_ARGS__), fputc('\n', stderr), failed = 1)

static void push(struct pipe *p, const char *b, size_t n)
{
    if (p->len + n > PIPE_MAX) {
        FAIL("pipe overflow");
        return;
    }
    memcpy(p->b + p->len, b, n);
    p->len += n;
}

static void take(struct pipe *p, size_t n)
{
    memmove(p->b, p->b + n, p->len - n);
    p->len -= n;
}

static void start_server(struct peer *x)
{
    struct smtp_config cfg;
    smtp_config_default(&cfg);
    cfg.hostname = x->name;
    cfg.options |= SMTP_OPT_TURN | SMTP_OPT_AUTH_PLAINTEXT;
    cfg.extensions |= SMTP_EXT_AUTH | SMTP_EXT_ATRN;
    smtp_init(&x->s, &cfg);
    x->server = 1;
    x->got_len = 0;
}

static void start_client(struct peer *x)
{
    struct smtp_client_config cfg;
    smtp_client_config_default(&cfg);
    cfg.hostname = x->name;
    cfg.options |= SMTP_COPT_AUTH_PLAINTEXT;
    smtp_client_init(&x->c, &cfg);
    x->server = 0;
    x->step = 0;
}

/* The receiver: accept everything; TURN/ATRN only for the peer's own name. */
static void serve(struct peer *x)
{
    union smtp_event ev;
    size_t n = x->in->len ? 1 + rnd((unsigned)x->in->len) : 0, used;
    const char *o;
    int st = smtp_feed(&x->s, x->in->b, n, &used, &ev);
    if (st == SMTP_EV_BODY && x->got_len + ev.body.data.len <= sizeof x->got) {
        memcpy(x->got + x->got_len, ev.body.data.ptr, ev.body.data.len);
        x->got_len += ev.body.data.len;
    }
    if (st == SMTP_EV_AUTH)
        smtp_reply(&x->s, 235, NULL, NULL);
    if (st == SMTP_EV_ATRN && ev.turn.domains.len == 11 &&
        memcmp(ev.turn.domains.ptr, "example.org", 11) == 0)
        smtp_reply(&x->s, 250, NULL, "OK now reversing the connection");
    if (st == SMTP_EV_TURN)
        smtp_reply(&x->s, 250, NULL, NULL);
    if (st == SMTP_EV_DATA_END)
        x->delivered++;
    take(x->in, used);
    while ((o = smtp_output(&x->s, &n)) != NULL) {
        size_t k = 1 + rnd((unsigned)n);
        push(x->out, o, k);
        smtp_output_done(&x->s, k);
    }
    if (st == SMTP_TURNED) { /* the rest of our input is the new sender's */
        if (used)
            FAIL("%s: SMTP_TURNED took %zu octets", x->name, used);
        x->turned++;
        start_client(x);
    }
    if (st == SMTP_CLOSED)
        x->closed = 1;
}

/* The sender: greet, (AUTH, ATRN | TURN) or one message, then TURN or QUIT. */
static void send_steps(struct peer *x, int ev)
{
    size_t used;
    if (ev == SMTP_CEV_READY && x->step == 0) {
        if (x->send_msg == NULL) { /* we hold nothing: ask for the peer's mail */
            if (x->atrn)
                smtp_client_auth(&x->c, SMTP_MECH_PLAIN, NULL, "user", "pass") == SMTP_OK
                    ? (void)0
                    : (void)FAIL("%s: AUTH refused", x->name);
            else if (smtp_client_turn(&x->c) != SMTP_OK)
                FAIL("%s: TURN refused", x->name);
            x->step = 10;
            return;
        }
        if (smtp_client_mail(&x->c, "a@example.org", NULL) != SMTP_OK)
            FAIL("%s: MAIL refused", x->name);
        x->step = 1;
    }
    if (ev == SMTP_CEV_AUTH && x->step == 10 && smtp_client_atrn(&x->c, "example.org") != SMTP_OK)
        FAIL("%s: ATRN refused", x->name);
    if (x->step == 1 && smtp_client_rcpt(&x->c, "b@example.net", 0, NULL) == SMTP_OK)
        x->step = 2;
    if (x->step == 2 && smtp_client_data(&x->c) == SMTP_OK)
        x->step = 3;
    if (x->step == 3) {
        size_t left = strlen(x->send_msg);
        int r = smtp_client_body(&x->c, x->send_msg, left, &used);
        if (r == SMTP_OK && used == left)
            x->step = 4;
        else if (r == SMTP_OK)
            x->send_msg += used;
    }
    if (x->step == 4 && smtp_client_end(&x->c) == SMTP_OK)
        x->step = 5;
    if (ev == SMTP_CEV_SENT) {
        if (ev == SMTP_CEV_SENT && x->turn_back)
            smtp_client_turn(&x->c) == SMTP_OK ? (void)0 : (void)FAIL("%s: TURN", x->name);
        else
            smtp_client_quit(&x->c);
        x->step = 6;
    }
}

static void client(struct peer *x)
{
    union smtp_cevent ev;
    size_t n = x->in->len ? 1 + rnd((unsigned)x->in->len) : 0, used;
    const char *o;
    int st = smtp_client_feed(&x->c, x->in->b, n, &used, &ev);
    take(x->in, used);
    if (st == SMTP_CEV_CLOSED)
        x->closed = 1;
    if (st == SMTP_CEV_TURNED) {
        x->turned++;
        start_server(x);
    } else if (st > 0 || st == SMTP_NEED_INPUT || st == SMTP_WANT_WRITE) {
        send_steps(x, st);
    }
    while (!x->server && (o = smtp_client_output(&x->c, &n)) != NULL) {
        size_t k = 1 + rnd((unsigned)n);
        push(x->out, o, k);
        smtp_client_output_done(&x->c, k);
    }
}

static int run(unsigned long seed, int atrn)
{
    static struct pipe ab, ba;
    static struct peer a, b;
    const char *msg_a = "Subject: held for you\r\n\r\n.dot\r\nend\r\n";
    const char *msg_b = "Subject: and back\r\n\r\nhello\r\n";
    int i;
    rng = seed;
    failed = 0;
    memset(&ab, 0, sizeof ab), memset(&ba, 0, sizeof ba);
    memset(&a, 0, sizeof a), memset(&b, 0, sizeof b);
    a.name = "a.example", a.in = &ba, a.out = &ab, a.send_msg = msg_a, a.turn_back = 1;
    b.name = "b.example", b.in = &ab, b.out = &ba, b.send_msg = NULL, b.atrn = atrn;
    start_server(&a);
    start_client(&b);
    for (i = 0; i < 20000 && !(a.closed && b.closed) && !failed; i++) {
        struct peer *x = rnd(2) ? &a : &b;
        if (x->closed)
            continue;
        if (x->server)
            serve(x);
        else
            client(x);
        if (b.server && b.delivered == 1 && b.turned == 1)
            b.send_msg = msg_b; /* B delivers once it is the sender again */
    }
    if (!failed && !(a.closed && b.closed))
        FAIL("seed %lu: did not finish (a step %d, b step %d)", seed, a.step, b.step);
    if (!failed && (a.turned != 2 || b.turned != 2))
        FAIL("seed %lu: turned a %d b %d times, not 2", seed, a.turned, b.turned);
    if (!failed && (b.delivered != 1 || a.delivered != 1))
        FAIL("seed %lu: delivered a %d b %d", seed, a.delivered, b.delivered);
    if (!failed && (b.got_len != strlen(msg_a) || memcmp(b.got, msg_a, b.got_len) != 0))
        FAIL("seed %lu: B received [%.*s]", seed, (int)b.got_len, b.got);
    if (!failed && (a.got_len != strlen(msg_b) || memcmp(a.got, msg_b, a.got_len) != 0))
        FAIL("seed %lu: A received [%.*s]", seed, (int)a.got_len, a.got);
    return failed;
}

int main(void)
{
    int pass = 0, fail = 0;
    unsigned long seed;
    for (seed = 1; seed <= 300; seed++) {
        if (run(seed, (int)(seed & 1)))
            fail++;
        else
            pass++;
    }
    printf("turn: %d passed, %d failed\n", pass, fail);
    return fail != 0;
}
