/*
 * fuzz_split.c - the result must not depend on how the input is split.
 *
 * Input: 3 mode bytes (fuzz_common.h; extension mode 3 also turns on
 * CHUNKING, BINARYMIME, STARTTLS, AUTH and DSN), 1 byte L (1..8 chunk-table entries),
 * L feed sizes, 1..4 output-acknowledgement sizes (the byte after the feed
 * table: low 2 bits + 1 entries), then the client's byte stream.
 *
 * The stream is run twice with the same settings and the same application
 * decisions: once offered whole with all output taken at once, once offered
 * in the chosen chunks, with output acknowledged in pieces and the session
 * copied with '=' between calls.  The reply bytes and the event log (each
 * event with its spans' contents; EV_BODY chunks concatenated, as their
 * boundaries may follow the input's) must be byte-identical.
 */
#include "fuzz_common.h"

struct log {
    uint8_t *p;
    size_t n, cap;
    size_t body_start; /* EV_BODY bytes accumulate after the last record */
    int in_body;
};

static void log_put(struct log *l, const void *p, size_t n)
{
    if (l->n + n > l->cap) {
        size_t cap = (l->cap + n) * 2 + 256;
        uint8_t *q = (uint8_t *)realloc(l->p, cap);
        FZ_CHECK(q != NULL, "harness: out of memory");
        l->p = q;
        l->cap = cap;
    }
    if (n)
        memcpy(l->p + l->n, p, n);
    l->n += n;
}

static void log_span(struct log *l, struct smtp_span sp)
{
    uint32_t n = (uint32_t)sp.len;
    log_put(l, &n, sizeof n);
    if (sp.len)
        log_put(l, sp.ptr, sp.len);
}

struct two {
    struct log ev, out;
};

static void on_event(struct fz_run *run, int st, const union smtp_event *ev)
{
    struct two *t = (struct two *)run->user;
    struct log *l = &t->ev;
    if (st <= 0 && st != SMTP_CLOSED)
        return; /* NEED_INPUT / WANT_WRITE / PENDING follow the chunking */
    if (st == SMTP_EV_BODY) {
        if (!l->in_body) {
            uint8_t tag = 'B';
            log_put(l, &tag, 1);
            l->in_body = 1;
        }
        log_put(l, ev->body.data.ptr, ev->body.data.len);
        return;
    }
    l->in_body = 0;
    {
        int8_t tag = (int8_t)st;
        log_put(l, &tag, 1);
    }
    if (st == SMTP_CLOSED)
        return;
    /* the event's own member, field by field: smtp_feed() fills nothing
     * else, so nothing else may be compared */
    switch (st) {
    case SMTP_EV_HELO: case SMTP_EV_EHLO:
        log_span(l, ev->hello.domain);
        break;
    case SMTP_EV_VRFY: case SMTP_EV_EXPN: case SMTP_EV_HELP: case SMTP_EV_NOOP:
        log_span(l, ev->string.arg);
        break;
    case SMTP_EV_MAIL: case SMTP_EV_RCPT:
        log_span(l, ev->mail.path.mailbox);
        log_span(l, ev->mail.path.local);
        log_span(l, ev->mail.path.domain);
        log_put(l, &ev->mail.path.len, sizeof ev->mail.path.len);
        log_span(l, ev->mail.params);
        if (st == SMTP_EV_RCPT) {
#ifndef SMTP_NO_DSN
            log_span(l, ev->rcpt.orcpt);
            log_put(l, &ev->rcpt.notify, 1);
#endif
            break;
        }
#ifndef SMTP_NO_DSN
        log_span(l, ev->mail.envid);
        log_put(l, &ev->mail.ret, 1);
#endif
#ifndef SMTP_NO_AUTH
        log_span(l, ev->mail.auth);
#endif
        log_put(l, &ev->mail.size, sizeof ev->mail.size);
        log_put(l, &ev->mail.mode, 1);
        log_put(l, &ev->mail.body, 1);
        log_put(l, &ev->mail.smtputf8, 1);
        break;
    case SMTP_EV_DATA:
        log_put(l, &ev->data.rcpts, sizeof ev->data.rcpts);
        break;
    case SMTP_EV_DATA_END:
        log_put(l, &ev->end.reject, 1);
        log_put(l, &ev->end.rcpts, sizeof ev->end.rcpts);
        log_put(l, &ev->end.size, sizeof ev->end.size);
        break;
#ifndef SMTP_NO_CHUNKING
    case SMTP_EV_BDAT:
        log_put(l, &ev->bdat.last, 1);
        log_put(l, &ev->bdat.size, sizeof ev->bdat.size);
        break;
#endif
#ifndef SMTP_NO_AUTH
    case SMTP_EV_AUTH:
        log_put(l, &ev->auth.mech, 1);
        log_span(l, ev->auth.authzid);
        log_span(l, ev->auth.user);
        log_span(l, ev->auth.pass);
        break;
#endif
    default:
        break;
    }
}

static void on_output(struct fz_run *run, const char *p, size_t n)
{
    struct two *t = (struct two *)run->user;
    log_put(&t->out, p, n);
}

static void run_once(const struct fz_cfg *c, const uint8_t *in, size_t n, const uint8_t *feeds,
                     size_t nfeed, const uint8_t *acks, size_t nack, struct two *t)
{
    struct fz_run *run = (struct fz_run *)calloc(1, sizeof *run);
    FZ_CHECK(run != NULL, "harness: out of memory");
    smtp_init(&run->s, &c->cfg);
    run->in = in;
    run->n = n;
    run->feed_sizes = feeds;
    run->nfeed = nfeed;
    run->ack_sizes = acks;
    run->nack = nack;
    run->copy_session = feeds != NULL;
    fz_app_init(&run->app, c);
    run->on_event = on_event;
    run->on_output = on_output;
    run->user = t;
    fz_drive(run);
    FZ_CHECK(fz_rp_idle(&run->rp), "output ended inside a reply");
    {
        uint8_t tag = run->closed ? 'C' : 'E';
        size_t taken = run->pos;
        log_put(&t->ev, &tag, 1);
        log_put(&t->ev, &taken, sizeof taken);
    }
    free(run);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz_cfg c;
    struct two whole, split;
    uint8_t feeds[8], acks[4];
    size_t k, nfeed, nack, i;
    if (size > 32768)
        return 0;
    k = fz_config_ext(data, size, &c, 1);
    if (size < k + 2)
        return 0;
    nfeed = (size_t)(data[k] & 7u) + 1;
    nack = (size_t)((data[k] >> 3) & 3u) + 1;
    k++;
    for (i = 0; i < nfeed; i++)
        feeds[i] = k < size ? data[k++] : 1;
    for (i = 0; i < nack; i++)
        acks[i] = k < size ? data[k++] : 0;
    memset(&whole, 0, sizeof whole);
    memset(&split, 0, sizeof split);
    run_once(&c, data + k, size - k, NULL, 0, NULL, 0, &whole);
    run_once(&c, data + k, size - k, feeds, nfeed, acks, nack, &split);
    if (whole.out.n != split.out.n || (whole.out.n && memcmp(whole.out.p, split.out.p, whole.out.n))) {
        fz_dump("whole replies", whole.out.p, whole.out.n);
        fz_dump("split replies", split.out.p, split.out.n);
        fz_fail(__FILE__, __LINE__, "replies differ between whole and split input");
    }
    if (whole.ev.n != split.ev.n || (whole.ev.n && memcmp(whole.ev.p, split.ev.p, whole.ev.n))) {
        fz_dump("whole events", whole.ev.p, whole.ev.n);
        fz_dump("split events", split.ev.p, split.ev.n);
        fz_fail(__FILE__, __LINE__, "events differ between whole and split input");
    }
    free(whole.ev.p);
    free(whole.out.p);
    free(split.ev.p);
    free(split.out.p);
    return 0;
}
