/*
 * consumer.c - a program that uses smtp.c through a build system.  The
 * consumer projects in tests/packaging/ build it against the library the way
 * a user would (CMake, pkg-config, Meson) and run it with what the library
 * must have been built with:
 *
 *     consumer VERSION texts|terse auth|no-auth RCPTMAX
 *
 * It exits 0 only if smtp.h, as this file saw it, is that version and was
 * read with those switches, and the library it linked behaves that way:
 * reply texts present or left out (smtp_event_desc() is "?" under
 * SMTP_TERSE), AUTH in EHLO or compiled out (SMTP_NO_AUTH: the extension
 * bit is ignored), and the RCPTMAX that EHLO advertises is SMTP_RCPT_MAX.
 * A library built with other switches than the header its user reads would
 * disagree on the layout of struct smtp_session; this catches that too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "smtp.h"

static int failed;

static void check(int ok, const char *what)
{
    printf("%s %s\n", ok ? "ok  " : "FAIL", what);
    failed |= !ok;
}

/* Runs "EHLO, QUIT" with AUTH enabled; the replies go to out[0..cap). */
static size_t ehlo(char *out, size_t cap)
{
    struct smtp_config cfg;
    struct smtp_session s;
    union smtp_event ev;
    const char in[] = "EHLO client.example\r\nQUIT\r\n";
    size_t off = 0, used, n, got = 0;
    int st = 0, i;

    smtp_config_default(&cfg);
    cfg.extensions |= SMTP_EXT_AUTH;
    cfg.options |= SMTP_OPT_AUTH_PLAINTEXT;
    smtp_init(&s, &cfg);
    for (i = 0; i < 100 && st != SMTP_CLOSED; i++) {
        const char *o;
        st = smtp_feed(&s, in + off, sizeof in - 1 - off, &used, &ev);
        off += used;
        while ((o = smtp_output(&s, &n)) != NULL) {
            if (n > cap - 1 - got)
                n = cap - 1 - got;
            memcpy(out + got, o, n);
            got += n;
            smtp_output_done(&s, n);
            if (n == 0)
                break;
        }
    }
    out[got] = '\0';
    return smtp_closed(&s) ? got : 0;
}

int main(int argc, char **argv)
{
    char out[4096], want[64];
    int terse, noauth, hdr_terse = 0, hdr_noauth = 0;
    long rcptmax;

    if (argc != 5) {
        fprintf(stderr, "usage: consumer VERSION texts|terse auth|no-auth RCPTMAX\n");
        return 2;
    }
    terse = strcmp(argv[2], "terse") == 0;
    noauth = strcmp(argv[3], "no-auth") == 0;
    rcptmax = strtol(argv[4], NULL, 10);
    printf("consumer: smtp.h %s, built %s\n", SMTP_VERSION_STRING,
#ifdef SMTP_TERSE
           "terse"
#else
           "texts"
#endif
    );

    check(strcmp(SMTP_VERSION_STRING, argv[1]) == 0, "smtp.h is the expected version");
    check(SMTP_VERSION == ((SMTP_VERSION_MAJOR << 16) | (SMTP_VERSION_MINOR << 8) |
                           SMTP_VERSION_PATCH),
          "SMTP_VERSION matches its parts");

#ifdef SMTP_TERSE
    hdr_terse = 1;
#endif
#ifdef SMTP_NO_AUTH
    hdr_noauth = 1;
#endif
    check(hdr_terse == terse, terse ? "smtp.h read with SMTP_TERSE" : "smtp.h read without SMTP_TERSE");
    check(hdr_noauth == noauth,
          noauth ? "smtp.h read with SMTP_NO_AUTH" : "smtp.h read without SMTP_NO_AUTH");
    check(SMTP_RCPT_MAX == rcptmax, "smtp.h read with the expected SMTP_RCPT_MAX");

    /* The library itself. */
    check((strcmp(smtp_event_desc(SMTP_EV_RCPT), "?") == 0) == terse,
          terse ? "library has no descriptions (SMTP_TERSE)"
                : "library has descriptions (no SMTP_TERSE)");
    if (ehlo(out, sizeof out) == 0) {
        check(0, "a session runs EHLO and QUIT to the end");
    } else {
        check(strncmp(out, "220 ", 4) == 0 && strstr(out, "\r\n221") != NULL,
              "a session runs EHLO and QUIT to the end");
        check((strstr(out, "250-AUTH ") == NULL && strstr(out, "250 AUTH ") == NULL) == noauth,
              noauth ? "EHLO lacks AUTH (SMTP_NO_AUTH)" : "EHLO offers AUTH");
        snprintf(want, sizeof want, "LIMITS RCPTMAX=%ld\r\n", rcptmax);
        check(strstr(out, want) != NULL, "EHLO advertises the expected RCPTMAX");
    }
    if (failed)
        printf("consumer: replies were:\n%s", out);
    return failed;
}
