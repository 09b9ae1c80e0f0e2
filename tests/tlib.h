/*
 * tests/tlib.h - what the two transcript runners (tests/transcript.c for the
 * receiver, tests/ctranscript.c for the sender) share: a growing buffer,
 * die(), the escapes of the transcript format (decode and print) and
 * word().  Test code only; each runner includes it once.
 */
#ifndef TLIB_H
#define TLIB_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct buf {
    char *p;
    size_t len, cap;
};

static inline void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(2);
}

static inline void buf_add(struct buf *b, const void *p, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1)
            cap *= 2;
        b->p = realloc(b->p, cap);
        if (!b->p)
            die("out of memory");
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = 0;
}

static inline void buf_addc(struct buf *b, char c) { buf_add(b, &c, 1); }
static inline void buf_adds(struct buf *b, const char *s) { buf_add(b, s, strlen(s)); }

static inline void buf_printf(struct buf *b, const char *fmt, ...)
{
    char tmp[1024];
    int n;
    va_list ap;
    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        buf_add(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* p[0..n) in the escapes of the format (space_too: ' ' as \x20). */
static inline void buf_escape(struct buf *b, const char *p, size_t n, int space_too)
{
    size_t i;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '\\')
            buf_adds(b, "\\\\");
        else if (c == '\r')
            buf_adds(b, "\\r");
        else if (c == '\n')
            buf_adds(b, "\\n");
        else if (c < 0x20 || c > 0x7e || (space_too && c == ' '))
            buf_printf(b, "\\x%02x", c);
        else
            buf_addc(b, (char)c);
    }
}

static inline int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes s[0..n) into out.  esc: backslash escapes; rep: {TEXT*N}. */
static inline int decode(const char *s, size_t n, int esc, int rep, struct buf *out)
{
    size_t i = 0;
    while (i < n) {
        char c = s[i];
        if (esc && c == '\\') {
            if (i + 1 >= n)
                return -1;
            c = s[i + 1];
            i += 2;
            switch (c) {
            case 'r': buf_addc(out, '\r'); break;
            case 'n': buf_addc(out, '\n'); break;
            case 't': buf_addc(out, '\t'); break;
            case '\\': buf_addc(out, '\\'); break;
            case '{': buf_addc(out, '{'); break;
            case '}': buf_addc(out, '}'); break;
            case '*': buf_addc(out, '*'); break;
            case 'x': {
                int h, l;
                if (i + 2 > n || (h = hexval(s[i])) < 0 || (l = hexval(s[i + 1])) < 0)
                    return -1;
                buf_addc(out, (char)(h * 16 + l));
                i += 2;
                break;
            }
            default: return -1;
            }
            continue;
        }
        if (rep && c == '{') {
            size_t j = i + 1, star = 0, k;
            unsigned long count = 0;
            int ok = 0;
            while (j < n && s[j] != '}') {
                if (esc && s[j] == '\\' && j + 1 < n)
                    j++;
                else if (s[j] == '*')
                    star = j;
                j++;
            }
            if (j < n && star > i + 1 && star + 1 < j) {
                ok = 1;
                for (k = star + 1; k < j; k++) {
                    if (s[k] < '0' || s[k] > '9' || count > 10000000)
                        ok = 0;
                    else
                        count = count * 10 + (unsigned long)(s[k] - '0');
                }
            }
            if (ok) {
                struct buf unit = {0, 0, 0};
                unsigned long r;
                if (decode(s + i + 1, star - i - 1, esc, 0, &unit) < 0)
                    return -1;
                for (r = 0; r < count; r++)
                    buf_add(out, unit.p, unit.len);
                free(unit.p);
                i = j + 1;
                continue;
            }
        }
        buf_addc(out, c);
        i++;
    }
    buf_add(out, "", 0);
    return 0;
}

/* Splits off the next space-separated word of *p (NUL-terminating it). */
static inline char *word(char **p)
{
    char *s = *p, *w;
    while (*s == ' ')
        s++;
    if (!*s)
        return NULL;
    w = s;
    while (*s && *s != ' ')
        s++;
    if (*s)
        *s++ = 0;
    *p = s;
    return w;
}

#endif /* TLIB_H */
