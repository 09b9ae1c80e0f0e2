/*
 * proof/helpers.c - the public parse helpers and name lookups under Eva:
 * each on a span of 0 to SPAN_MAX unknown octets (NULL when empty), with
 * any flags (smtp_parse_path(), smtp_parse_domain()), and
 * smtp_xtext_decode() into no buffer or one of any capacity.
 */
#include "any.h"

#ifndef SPAN_MAX
#define SPAN_MAX 300 /* longer than SMTP_PATH_MAX and SMTP_DOMAIN_MAX */
#endif

static char span[SPAN_MAX], out[SPAN_MAX];

/* Every helper on p[0..n). */
static void helpers(const char *p, size_t n)
{
    struct smtp_path path;
    uint64_t u;
    long dl;
    int r;

    r = smtp_parse_path(p, n, Frama_C_unsigned_int_interval(0, UINT32_MAX), &path);
    r = smtp_parse_domain(p, n, Frama_C_interval(INT32_MIN, INT32_MAX));
    r = smtp_parse_u64(p, n, &u);
    dl = smtp_xtext_decode(p, n, any_bool() ? out : NULL, Frama_C_size_t_interval(0, SPAN_MAX));
    (void)r;
}

int main(void)
{
    Frama_C_make_unknown(span, SPAN_MAX);
    helpers(NULL, 0); /* "p may be NULL when n is 0" */
    helpers(span, Frama_C_size_t_interval(0, SPAN_MAX));
    (void)smtp_event_name(Frama_C_interval(INT32_MIN, INT32_MAX));
    (void)smtp_event_desc(Frama_C_interval(INT32_MIN, INT32_MAX));
    (void)smtp_err_name(Frama_C_interval(INT32_MIN, INT32_MAX));
    (void)smtp_err_desc(Frama_C_interval(INT32_MIN, INT32_MAX));
    Frama_C_show_each_proof_end(0);
    return 0;
}
