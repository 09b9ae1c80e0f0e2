/*
 * fuzz_data.c - the DATA phase alone, against a naive reference.
 *
 * Input: byte 0 = mode (bits 0-1: 0 strict, 1 BARE_KEEP, 2 BARE_NORMALIZE,
 * 3 strict; bit 2: LF_LINES, which must change nothing in DATA; bits 3-5:
 * max_text_line; bits 6-7: max_size), byte 1 = feed-size table selector,
 * then the raw bytes the client sends after "DATA\r\n" got its 354.
 *
 * A fixed prologue (EHLO, MAIL, RCPT, DATA) is fed first.  Then:
 *   - the end of data is found exactly at the first <CRLF>.<CRLF> (the
 *     DATA line's CRLF counting): EV_DATA_END comes when, and only when,
 *     the session has taken exactly up to that ".\r\n";
 *   - no reply is sent during the data phase;
 *   - the EV_BODY chunks, concatenated, equal the reference body (dot
 *     unstuffed, bare CR/LF kept or turned into CRLF), and EV_DATA_END.size
 *     is its length, unless the message is refused;
 *   - a message is refused exactly when the reference says so (bare CR/LF
 *     in strict mode, a too-long line, over max_size), with the matching
 *     enum smtp_reject and reply code.
 */
#include "fuzz_common.h"

static const char prologue[] = "EHLO client.example\r\nMAIL FROM:<a@example.org>\r\n"
                               "RCPT TO:<b@example.net>\r\nDATA\r\n";

struct st {
    size_t pro;      /* prologue length inside the run's input */
    int in_data;     /* 354 seen */
    uint8_t *body;
    size_t blen;
    int ended;
    size_t end_pos;  /* data bytes taken when EV_DATA_END came */
    int reject;
    uint64_t size;
    int reply;       /* code of the reply after the data */
    int replies_in_data;
};

static void on_event(struct fz_run *run, int st, const union smtp_event *ev)
{
    struct st *t = (struct st *)run->user;
    if (st == SMTP_EV_BODY) {
        FZ_CHECK(t->in_data && !t->ended, "EV_BODY outside the data phase");
        FZ_CHECK(t->blen + ev->body.data.len <= 2 * (run->n - t->pro) + 2,
                 "more body than twice the data sent");
        memcpy(t->body + t->blen, ev->body.data.ptr, ev->body.data.len);
        t->blen += ev->body.data.len;
        return;
    }
    if (st == SMTP_EV_DATA_END) {
        FZ_CHECK(t->in_data && !t->ended, "EV_DATA_END outside the data phase");
        t->ended = 1;
        t->end_pos = run->pos - t->pro;
        t->reject = ev->end.reject;
        t->size = ev->end.size;
        return;
    }
    if (st > 0 && t->in_data && !t->ended)
        fz_fail(__FILE__, __LINE__, "an event other than BODY/DATA_END in the data phase");
}

static void on_reply(void *user, int code, const char *text, size_t tlen, int lines)
{
    struct fz_run *run = (struct fz_run *)user;
    struct st *t = (struct st *)run->user;
    (void)text;
    (void)tlen;
    (void)lines;
    if (!t->in_data) {
        if (code == 354) {
            t->in_data = 1;
            FZ_CHECK(run->pos == t->pro, "354 before the whole prologue was taken");
        }
        return;
    }
    if (!t->ended) {
        t->replies_in_data++;
        return;
    }
    if (t->reply == 0) {
        t->reply = code;
        run->stop = 1; /* what follows the data is fuzz_server's job */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t feed_tables[8][4] = {{255, 255, 255, 255}, {1, 1, 1, 1}, {2, 3, 5, 7},
                                              {1, 2, 1, 3},        {4, 4, 4, 4}, {13, 1, 64, 2},
                                              {3, 3, 1, 255},      {5, 1, 1, 100}};
    struct fz_cfg c;
    struct fz_run *run;
    struct st t;
    struct fz_ref ref;
    uint8_t *in, *want;
    size_t pro = sizeof prologue - 1, n, dn;
    int mode;
    unsigned long tl;
    if (size < 2 || size > 65536)
        return 0;
    memset(&c, 0, sizeof c);
    smtp_config_default(&c.cfg);
    mode = data[0] & 3;
    if (mode == 3)
        mode = 0;
    c.cfg.options = mode == 1 ? SMTP_OPT_BARE_KEEP : mode == 2 ? SMTP_OPT_BARE_NORMALIZE : 0u;
    if (data[0] & 4u)
        c.cfg.options |= SMTP_OPT_LF_LINES;
    {
        static const uint32_t tls[8] = {0, 3, 4, 5, 8, 16, 80, 999};
        static const uint64_t sizes[4] = {0, 1, 20, 300};
        c.cfg.max_text_line = tls[(data[0] >> 3) & 7u];
        c.cfg.max_size = sizes[data[0] >> 6];
    }
    dn = size - 2;
    n = pro + dn;
    in = (uint8_t *)malloc(n);
    want = (uint8_t *)malloc(2 * dn + 2);
    run = (struct fz_run *)calloc(1, sizeof *run);
    memset(&t, 0, sizeof t);
    t.body = (uint8_t *)malloc(2 * dn + 2);
    FZ_CHECK(in && want && run && t.body, "harness: out of memory");
    memcpy(in, prologue, pro);
    memcpy(in + pro, data + 2, dn);
    t.pro = pro;
    smtp_init(&run->s, &c.cfg);
    run->in = in;
    run->n = n;
    run->feed_sizes = feed_tables[data[1] & 7u];
    run->nfeed = 4;
    run->ack_sizes = NULL;
    fz_app_init(&run->app, &c); /* no flags: every decision is the default */
    run->rp.cb = on_reply;
    run->rp.user = run;
    run->on_event = on_event;
    run->user = &t;
    fz_drive(run);

    FZ_CHECK(t.in_data, "the prologue did not reach the data phase");
    FZ_CHECK(t.replies_in_data == 0, "a reply during the data phase");
    fz_ref_data(in + pro, dn, mode, want, &ref);
    tl = fz_max_text(&c.cfg) - 2;
    if (!ref.found) {
        FZ_CHECK(!t.ended, "end of data found where there is no <CRLF>.<CRLF>");
        FZ_CHECK(run->pos == n, "data bytes left untaken before any end of data");
    } else {
        int bare = ref.bare && mode == 0;
        int big = c.cfg.max_size != 0 && ref.outlen > c.cfg.max_size;
        /* Strict: a line is what lies between CRLFs.  Normalize: the lines
         * delivered.  Keep: the BRIEF does not say whether a kept bare CR/LF
         * ends a line for the length limit, so only a run with no CR/LF at
         * all that is over the limit under either count is certain. */
        int longl = mode == 0   ? ref.maxline_un > tl
                    : mode == 2 ? ref.maxline_norm > tl
                                : (ref.bare ? ref.maxseg > tl + 1 : ref.maxline_un > tl);
        int maybe_long = !longl && ref.maxline > tl;
        FZ_CHECK(t.ended, "no EV_DATA_END although the data holds <CRLF>.<CRLF>");
        FZ_CHECK(t.end_pos == ref.end + 3, "end of data not at the first <CRLF>.<CRLF>");
        FZ_TRACE("data: reject %d reply %d ref: bare %d big %d long %d maybe %d outlen %lu\n",
                 t.reject, t.reply, ref.bare, big, longl, maybe_long,
                 (unsigned long)ref.outlen);
        if (t.reject == SMTP_REJECT_NONE) {
            FZ_CHECK(!bare, "bare CR/LF accepted in strict mode");
            FZ_CHECK(!big, "message over max_size accepted");
            FZ_CHECK(!longl, "line over max_text_line accepted");
            FZ_CHECK(t.blen == ref.outlen && memcmp(t.body, want, t.blen) == 0,
                     "body differs from the naive reference");
            FZ_CHECK(t.size == ref.outlen, "EV_DATA_END.size differs from the body length");
            FZ_CHECK(t.reply == 250, "accepted message not answered 250");
        } else {
            FZ_CHECK((t.reject == SMTP_REJECT_BARE && bare) ||
                         (t.reject == SMTP_REJECT_SIZE && big) ||
                         (t.reject == SMTP_REJECT_LONG_LINE && (longl || maybe_long)),
                     "message refused for a reason the reference does not see");
            FZ_CHECK(t.reply == (t.reject == SMTP_REJECT_SIZE ? 552 : 554),
                     "refusal reply code differs from the reason");
        }
    }
    free(in);
    free(want);
    free(t.body);
    free(run);
    return 0;
}
