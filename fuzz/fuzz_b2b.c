/*
 * fuzz_b2b.c - the sender and the receiver back to back in memory, with
 * fuzzer-chosen messages, settings and splits.
 *
 * Input:
 *   byte 0: bit0 the receiver without PIPELINING, bit1 with CHUNKING,
 *           bit2 with BINARYMIME, bit3 the client with
 *           SMTP_COPT_NO_PIPELINING, bit4 with SMTP_COPT_NO_CHUNKING,
 *           bit5 the receiver without 8BITMIME, bits6-7 messages - 1;
 *   byte 1: bits0-1 the split scale (1, 16, 256, 4096), bits2-5 L, the
 *           length of the split table (0: every split "all of it");
 *   L bytes: the split table (0: all of it; n: n * scale octets), used in
 *           turn by the five places that split (fuzz/b2b.h b2b_pick);
 *   per message, 4 bytes and the octets: flags (bit0 BODY=BINARYMIME,
 *           bits1-3 recipients - 1, bits4-7 r: the octets are repeated
 *           2^r - 1 times more, at most 16 KiB in all), the mask of the
 *           recipients the receiver refuses, a 16-bit little-endian
 *           length (taken modulo what is left + 1), then the octets.
 *
 * Oracle (fuzz/b2b.h): each message with an accepted recipient arrives
 * exactly once and byte for byte as RFC 5321 / RFC 3030 say: over DATA
 * bare CR and LF become CRLF and a missing final CRLF is added; over BDAT
 * the same line ends and nothing added; BINARYMIME unchanged.  Verdicts,
 * recipients, BODY=, the client's events and the end of the session are
 * checked too; a stall is a failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b2b.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MSG_MAX (16u * 1024u)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t scales[4] = {1, 16, 256, 4096};
    struct b2b_cfg cfg;
    struct b2b_msg msgs[4];
    uint8_t *bodies[4] = {NULL, NULL, NULL, NULL};
    struct b2b *b;
    size_t pos = 2, n, k, L;
    unsigned b0, b1;
    if (size < 2)
        return 0;
    b0 = data[0];
    b1 = data[1];
    memset(&cfg, 0, sizeof cfg);
    memset(msgs, 0, sizeof msgs);
    cfg.server_ext = SMTP_EXT_DEFAULT;
    if (b0 & 0x01u)
        cfg.server_ext &= ~(uint32_t)SMTP_EXT_PIPELINING;
    if (b0 & 0x02u)
        cfg.server_ext |= SMTP_EXT_CHUNKING;
    if (b0 & 0x04u)
        cfg.server_ext |= SMTP_EXT_BINARYMIME;
    if (b0 & 0x08u)
        cfg.client_opts |= SMTP_COPT_NO_PIPELINING;
    if (b0 & 0x10u)
        cfg.client_opts |= SMTP_COPT_NO_CHUNKING;
    if (b0 & 0x20u)
        cfg.server_ext &= ~(uint32_t)SMTP_EXT_8BITMIME;
    n = 1 + (b0 >> 6);
    cfg.scale = scales[b1 & 3u];
    L = (b1 >> 2) & 15u;
    if (L > size - pos)
        L = size - pos;
    cfg.table = data + pos;
    cfg.ntable = L;
    pos += L;
    for (k = 0; k < n; k++) {
        unsigned fl = pos < size ? data[pos] : 0, reps, r;
        size_t len = 0, i;
        uint8_t refuse = pos + 1 < size ? data[pos + 1] : 0;
        if (pos + 4 <= size) {
            len = (size_t)data[pos + 2] | (size_t)data[pos + 3] << 8;
            pos += 4;
            len %= size - pos + 1;
        } else {
            pos = size;
        }
        r = fl >> 4;
        reps = 1u << r;
        if (len > 0 && (size_t)reps * len > MSG_MAX)
            reps = (unsigned)(MSG_MAX / len > 0 ? MSG_MAX / len : 1);
        bodies[k] = (uint8_t *)malloc(len * reps + 1);
        if (bodies[k] == NULL)
            abort();
        for (i = 0; i < reps; i++)
            if (len)
                memcpy(bodies[k] + i * len, data + pos, len);
        pos += len;
        msgs[k].p = bodies[k];
        msgs[k].n = len * reps;
        msgs[k].binary = (uint8_t)(fl & 1u);
        msgs[k].nrcpt = (uint8_t)(1 + ((fl >> 1) & 7u));
        msgs[k].refuse = refuse;
    }
    b = (struct b2b *)malloc(sizeof *b);
    if (b == NULL)
        abort();
    if (!b2b_run(b, &cfg, msgs, n, NULL)) {
        fprintf(stderr, "\n*** PROPERTY VIOLATED (fuzz_b2b): %s\n", b->why);
        fflush(stderr);
        abort();
    }
    b2b_done(b);
    free(b);
    for (k = 0; k < n; k++)
        free(bodies[k]);
    return 0;
}
