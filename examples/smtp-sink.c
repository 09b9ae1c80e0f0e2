/*
 * smtp-sink - a small SMTP receiver built on smtp.c, and the example of how
 * to drive the core from an event loop.
 *
 *   smtp-sink [--listen ADDR:PORT] [options]   TCP server (127.0.0.1:2525)
 *   smtp-sink --stdio [options]                one session on stdin/stdout
 *
 * `smtp-sink --help` lists the options.  Messages go to a Maildir
 * (--maildir) or are counted and dropped.  On stderr, each line after an
 * ISO 8601 UTC time stamp: one line per transaction, and one per 4xx/5xx
 * reply (the sink's decisions and the core's own), never AUTH data.
 *
 * How it uses the core (smtp.h):
 *  - One thread, one poll() loop, one `struct smtp_session` per connection,
 *    non-blocking sockets.
 *  - Back-pressure: each connection has one input buffer, refilled only
 *    once the core has taken all of it.  The core takes nothing while its
 *    reply has not been sent, so a client that sends but does not read
 *    stops being read: memory per connection stays bounded.
 *  - Decisions answered later: RCPT lookups and the end of each message are
 *    smtp_defer()red and answered with smtp_reply() after the I/O round, so
 *    that one round's messages are fsync()ed and renamed into new/ together
 *    (one directory fsync for all) before each gets its 250.
 *  - Timeouts (RFC 5321 4.5.3.2) as deadlines that received octets do not
 *    restart: a whole command line within --timeout-cmd, mail data at
 *    --min-data-rate after --timeout-data (see conn_deadline()); a
 *    connection limit (421 beyond it) and SIGTERM/SIGINT (421 to every open
 *    session, flush, exit 0).
 *  - Extensions: the core's defaults plus CHUNKING/BINARYMIME (BDAT data
 *    comes as EV_BODY, like DATA's) and DSN (parameters logged; a sink sends
 *    no reports); STARTTLS with --tls-cert (OpenSSL); AUTH PLAIN/LOGIN with
 *    --user, offered only after STARTTLS when there is a certificate.
 *  - STARTTLS (RFC 3207): on EV_STARTTLS the 220 goes out in plaintext and
 *    every plaintext octet already read after the STARTTLS line is dropped
 *    (the core drops what it is fed too: CVE-2011-0411).  A non-blocking
 *    SSL_accept() then runs inside the poll loop; once it succeeds,
 *    smtp_tls_done() puts the session back at its start and all I/O goes
 *    through SSL_read()/SSL_write().  Two OpenSSL details matter in a poll
 *    loop: SSL_read() may leave decrypted octets inside OpenSSL
 *    (SSL_pending()) that no poll() will announce, and a SSL_write() that
 *    returned WANT_WRITE must be repeated with the same octets.
 *  - Both roles on one connection: with --hold the sink keeps a domain's
 *    mail, and on ATRN (after AUTH) or TURN (--turn) answers 250; then
 *    smtp_feed() returns SMTP_TURNED, and the same socket and TLS session
 *    run smtp_client_* to deliver that mail to the client (see on_turn()).
 *
 * Messages are stored as received (CRLF line ends, dot-unstuffed) after a
 * Return-Path: and a Received: line (RFC 5321 4.4).
 *
 * MIT licensed, see LICENSE.
 */
#define _POSIX_C_SOURCE 200809L /* NOLINT(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp): POSIX feature-test macro */

#include "smtp.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

/* Build with -DSMTP_SINK_NO_TLS where OpenSSL's headers are missing: then
 * --tls-cert is refused and AUTH can only be offered in plaintext. */
#ifndef SMTP_SINK_NO_TLS
#include <openssl/err.h>
#include <openssl/ssl.h>
#endif

#define IBUF_SIZE 16384     /* input buffer per connection */
#define SNDBUF_SIZE 65536   /* socket send buffer per connection */
#define STOP_GRACE 10.0     /* seconds to drain the 421s after SIGTERM */
#define CLOSE_GRACE 10.0    /* seconds to drain a last reply before close */
#define CRED_MAX 256        /* longest --user name and password */
#define TLS_OBUF 16384      /* TLS: replies gathered into one record at most */

/* ------------------------------------------------------------ settings */

struct opts {
    int stdio;
    const char *listen;
    const char *hostname;
    const char **mailbox; /* --mailbox, without angle brackets */
    size_t nmailbox;
    uint64_t max_size;
    const char *maildir;
    unsigned max_conn;
    double t_cmd, t_data, t_write; /* seconds: see usage() for what each bounds */
    double min_rate;      /* --min-data-rate, octets a second; 0: none */
    unsigned max_auth_fails; /* --max-auth-fails; 0: the core's default */
    struct cred *users;   /* --user NAME:PASSWORD */
    size_t nusers;
    const char *tls_cert, *tls_key;
    int require_tls;
    size_t io_size;       /* --io-size: octets per read (testing) */
    struct hold *holds;   /* --hold DOMAIN[=USER] */
    size_t nholds;
    const char *hold_dir; /* --hold-dir */
    int turn;             /* --turn */
};

/* A --hold domain: mail for it is kept in hold_dir/DOMAIN/, one file per
 * message, until a client collects it with TURN or ATRN. */
struct hold {
    char domain[SMTP_DOMAIN_MAX + 1]; /* lower case */
    char *user;                       /* only this --user may collect it; NULL: any */
    char dir[3300];                   /* hold_dir/domain (at most 3000 + 256) */
    struct conn *busy;                /* the connection handing it over now */
};

/* A --user entry.  Both fields are zero-padded to CRED_MAX so that checking
 * them takes the same time whatever they hold (see cred_match()). */
struct cred {
    size_t ulen, plen;
    unsigned char user[CRED_MAX], pass[CRED_MAX];
};

static struct opts opt = {0, "127.0.0.1:2525", "localhost", NULL, 0, 0, NULL, 100,
                          300.0, 180.0, 300.0, 500.0, 0, NULL, 0, NULL, NULL, 0, 0,
                          NULL, 0, NULL, 0};

/* ------------------------------------------------------------ state */

/* A file a message is written to: the Maildir copy, or a held copy for
 * one --hold domain.  Written in tmp/, fsync()ed, renamed to dst. */
struct out {
    FILE *f;
    char tmp[4096], dst[4096];
    const char *dir;                 /* dst's directory: fsync()ed after the rename */
};

struct tx {                          /* the current mail transaction */
    int open;                        /* MAIL accepted */
    int utf8;                        /* MAIL had SMTPUTF8 */
    int body;                        /* MAIL's BODY= (enum smtp_body) */
    int started;                     /* DATA or the first BDAT came */
    char from[SMTP_PATH_MAX + 1];
    char mail_params[SMTP_LINE_MAX]; /* MAIL's ESMTP parameters (DSN...) */
    char *rparams;                   /* "<a> NOTIFY=...;<b> ..." for the log */
    size_t rp_len, rp_cap;
    char *to;                        /* "<a>,<b>": accepted recipients */
    size_t to_len, to_cap;
    unsigned nto;
    char **rcpt;                     /* the accepted recipients, nto of them */
    unsigned rcpt_cap;
    char first_to[SMTP_PATH_MAX + 1];
    struct out *out;                 /* the files being written (none: discard) */
    size_t nout;
    char tmp[4096], id[128];         /* tmp: the path that could not be created */
    unsigned long seq;               /* the server's number for this message */
    int err;                         /* errno of the first storage failure */
    uint64_t size;                   /* octets of mail data received */
};

enum work { W_NONE, W_RCPT, W_COMMIT };

/* STARTTLS: TLS_START from EV_STARTTLS until its 220 is sent (nothing is
 * read meanwhile), TLS_HANDSHAKE while SSL_accept() runs, then TLS_ON. */
enum tls_state { TLS_OFF, TLS_START, TLS_HANDSHAKE, TLS_ON };

struct conn {
    int in_fd, out_fd;               /* the same socket, or stdin/stdout */
    int stdio;
    struct smtp_session s;
    char *ibuf;                      /* input the core has not taken yet */
    size_t ioff, ilen;
    int eof;                         /* the client closed its side */
    int dead;                        /* closed: freed at the end of the round */
    int in_data;                     /* from 354 or BDAT to the end of data */
    int timed_out;                   /* 421 sent for a timeout */
    enum work work;                  /* deferred decision waiting in the queue */
    /* Clocks (now() values) for the deadlines, see conn_deadline(): */
    double wait_since;               /* our last reply went out: a command may come */
    double out_since;                /* a reply has waited to be sent since; 0: none */
    double hs_since;                 /* the TLS handshake started */
    double last_in;                  /* last octets read */
    double data_since;               /* DATA's 354 or the first BDAT */
    double closing;                  /* the timeout's 421 was queued */
    uint64_t data_in;                /* octets read since data_since */
    /* Refusals are logged from the core's output, each reply once: */
    size_t scanned;                  /* octets of smtp_output() already looked at */
    char what[SMTP_PATH_MAX + 32];   /* the command the next reply answers, or "" */
    int quiet;                       /* that reply is logged elsewhere (tx_log) */
    char peer[80];                   /* "127.0.0.1:40000" or "stdin" */
    char lit[80];                    /* "[127.0.0.1]", "" when unknown */
    char helo[SMTP_DOMAIN_MAX + 1];
    int esmtp;
    char user[SMTP_AUTH_USER_MAX + 1]; /* AUTH user name once accepted */
    char rcpt[SMTP_PATH_MAX + 1];    /* RCPT waiting for its lookup */
    char rcpt_params[SMTP_LINE_MAX];
    struct tx tx;
    enum tls_state tls;
#ifndef SMTP_SINK_NO_TLS
    SSL *ssl;
#endif
    int tls_err;                     /* OpenSSL failed: no SSL_shutdown() */
    int hs_out;                      /* SSL_accept() waits to write (else read) */
    int rd_out;                      /* SSL_read() waits to write (TLS 1.3 KeyUpdate) */
    int wr_in;                       /* SSL_write() waits to read */
    char tls_ver[16];                /* "TLSv1.3" once TLS is on, for the log */
    char tls_info[128];              /* "TLSv1.3 with cipher ... (256 bits)" */
    char *obuf;                      /* TLS: replies taken from the core (TLS_OBUF) */
    size_t olen;                     /* octets in obuf */
    int oflight;                     /* SSL_write(obuf) said WANT_WRITE: repeat it */
    struct handover *ho;             /* TURN/ATRN got our 250: what to hand over */
    int client;                      /* the roles are reversed: we are the sender */
};

struct server {
    struct smtp_config cfg;
    int lfd;                         /* listening socket or -1 */
    double lpause;                   /* accept() paused (EMFILE) until then */
    struct conn **conn;
    size_t nconn, cap;
    struct conn **work;              /* connections with a deferred decision */
    size_t nwork;
    int stopping;
    double stop_by;
    unsigned long seq;               /* message counter for unique names */
    char host[256];                  /* gethostname(), for Maildir names */
    int exit_code;
};

static volatile sig_atomic_t got_signal;
static int sig_w = -1;               /* self-pipe written by the handler */

/* ------------------------------------------------------------ helpers */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One log line on stderr, after an ISO 8601 UTC time stamp with
 * milliseconds: "2026-12-05T16:28:26.123Z smtp-sink: ...". */
static void logf_(const char *fmt, ...)
{
    char line[4096];
    va_list ap;
    int n;
    size_t len, head;
    ssize_t r;
    struct timespec ts;
    struct tm tm;
    time_t secs;

    clock_gettime(CLOCK_REALTIME, &ts);
    secs = ts.tv_sec;
    gmtime_r(&secs, &tm);
    head = strftime(line, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    head += (size_t)snprintf(line + head, 16, ".%03ldZ ", (long)(ts.tv_nsec / 1000000));
    va_start(ap, fmt);
    n = vsnprintf(line + head, sizeof line - 1 - head, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    len = head + ((size_t)n < sizeof line - 1 - head ? (size_t)n : sizeof line - 2 - head);
    line[len++] = '\n';
    r = write(2, line, len); /* one write per line: lines never interleave */
    (void)r;
}

static void *xrealloc(void *p, size_t n)
{
    void *q = p ? realloc(p, n) : malloc(n); /* n > 0 at every call */
    if (!q) {
        logf_("smtp-sink: out of memory");
        exit(1);
    }
    return q;
}

static void span_copy(char *dst, size_t cap, struct smtp_span sp)
{
    size_t n = sp.len < cap - 1 ? sp.len : cap - 1;
    if (n) /* an empty span may come with a NULL ptr */
        memcpy(dst, sp.ptr, n);
    dst[n] = '\0';
}

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

static int eq_nocase(const char *a, const char *b)
{
    while (*a && lower((unsigned char)*a) == lower((unsigned char)*b))
        a++, b++;
    return *a == '\0' && *b == '\0';
}

static void set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* "127.0.0.1:40000" and the address literal "[127.0.0.1]" of a socket
 * address (RFC 5321 4.1.3). */
static void addr_names(const struct sockaddr *sa, char *peer, size_t pn, char *lit, size_t ln)
{
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;

    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        port = ntohs(in->sin_port);
        (void)snprintf(peer, pn, "%s:%u", host, port);
        (void)snprintf(lit, ln, "[%s]", host);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        port = ntohs(in6->sin6_port);
        (void)snprintf(peer, pn, "[%s]:%u", host, port);
        (void)snprintf(lit, ln, "[IPv6:%s]", host);
    } else {
        (void)snprintf(peer, pn, "local");
        lit[0] = '\0';
    }
}

/* The first line of the reply waiting in the core, for the log. */
static void reply_line(const struct smtp_session *s, char *buf, size_t cap)
{
    size_t len, n = 0;
    const char *o = smtp_output(s, &len);
    while (o && n < len && n < cap - 1 && o[n] != '\r' && o[n] != '\n')
        n++;
    if (o)
        memcpy(buf, o, n);
    buf[n] = '\0';
}

/* ------------------------------------------------------------ transactions */

static void tx_log(struct conn *c, const char *result)
{
    struct tx *t = &c->tx;
    logf_("smtp-sink: client=%s helo=%s%s%s%s%s from=<%s>%s%s%s nrcpt=%u to=%s%s%s%s size=%llu result=\"%s\"",
          c->peer, c->helo[0] ? c->helo : "-", c->tls_ver[0] ? " tls=" : "", c->tls_ver,
          c->user[0] ? " auth=" : "", c->user, t->from,
          t->mail_params[0] ? " mail_params=\"" : "", t->mail_params, t->mail_params[0] ? "\"" : "",
          t->nto, t->nto ? t->to : "-", t->rp_len ? " rcpt_params=\"" : "", t->rp_len ? t->rparams : "",
          t->rp_len ? "\"" : "", (unsigned long long)t->size, result);
}

static void tx_discard_file(struct tx *t)
{
    size_t i;
    for (i = 0; i < t->nout; i++) {
        if (t->out[i].f)
            (void)fclose(t->out[i].f); /* a discarded file: its errors do not matter */
        t->out[i].f = NULL;
        unlink(t->out[i].tmp);
    }
    t->nout = 0;
}

static void tx_reset(struct tx *t)
{
    tx_discard_file(t);
    t->open = 0;
    t->utf8 = 0;
    t->body = 0;
    t->started = 0;
    t->from[0] = '\0';
    t->mail_params[0] = '\0';
    t->rp_len = 0;
    t->to_len = 0;
    while (t->nto)
        free(t->rcpt[--t->nto]);
    t->err = 0;
    t->size = 0;
    t->id[0] = '\0';
    t->seq = 0;
    if (t->to)
        t->to[0] = '\0';
}

/* The transaction ends without a message: log it (once) and forget it. */
static void tx_abort(struct conn *c, const char *why)
{
    if (c->tx.open) {
        char buf[128];
        (void)snprintf(buf, sizeof buf, "aborted: %s", why);
        tx_log(c, buf);
    }
    tx_reset(&c->tx);
    c->in_data = 0;
}

static void tx_add_rcpt(struct tx *t, const char *path, const char *params)
{
    if (params[0]) { /* DSN NOTIFY= / ORCPT=: kept for the log */
        size_t need = t->rp_len + strlen(path) + strlen(params) + 8;
        if (need > t->rp_cap) {
            t->rp_cap = need * 2;
            t->rparams = xrealloc(t->rparams, t->rp_cap);
        }
        t->rp_len += (size_t)sprintf(t->rparams + t->rp_len, "%s<%s> %s", t->rp_len ? ";" : "", path,
                                     params);
    }
    size_t n = strlen(path), need = t->to_len + n + 4;
    if (need > t->to_cap) {
        t->to_cap = need * 2;
        t->to = xrealloc(t->to, t->to_cap);
    }
    t->to_len += (size_t)sprintf(t->to + t->to_len, "%s<%s>", t->nto ? "," : "", path);
    if (t->nto == t->rcpt_cap) {
        t->rcpt_cap = t->rcpt_cap ? t->rcpt_cap * 2 : 8;
        t->rcpt = xrealloc(t->rcpt, t->rcpt_cap * sizeof *t->rcpt);
    }
    t->rcpt[t->nto] = xrealloc(NULL, n + 1);
    memcpy(t->rcpt[t->nto], path, n + 1);
    if (t->nto++ == 0)
        (void)snprintf(t->first_to, sizeof t->first_to, "%s", path);
}

/* A mailbox exists when --mailbox lists it (ASCII case ignored) or when
 * there is no list; Postmaster always exists (RFC 5321 4.5.1). */
static int mailbox_exists(const char *path)
{
    size_t i;
    const char *at = strrchr(path, '@');
    char local[SMTP_LOCAL_MAX + 3];
    size_t ll = at ? (size_t)(at - path) : strlen(path);

    if (opt.nmailbox == 0)
        return 1;
    if (ll < sizeof local) {
        memcpy(local, path, ll);
        local[ll] = '\0';
        if (eq_nocase(local, "postmaster") && (!at || eq_nocase(at + 1, opt.hostname)))
            return 1;
    }
    for (i = 0; i < opt.nmailbox; i++)
        if (eq_nocase(path, opt.mailbox[i]))
            return 1;
    return 0;
}

/* The --hold domain of a recipient (ASCII case ignored), or -1. */
static long hold_of(const char *path)
{
    const char *at = strrchr(path, '@');
    size_t i;
    for (i = 0; at && i < opt.nholds; i++)
        if (eq_nocase(at + 1, opt.holds[i].domain))
            return (long)i;
    return -1;
}

static char maildir_new[3100]; /* opt.maildir/new (--maildir: at most 3000) */

/* Adds a file to write the message into: tmp/ now, dst at the commit. */
static int out_open(struct tx *t, const char *tmp, const char *dst, const char *dir)
{
    struct out *o;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0) {
        (void)snprintf(t->tmp, sizeof t->tmp, "%s", tmp);
        return errno;
    }
    t->out = xrealloc(t->out, (t->nout + 1) * sizeof *t->out);
    o = &t->out[t->nout++];
    (void)snprintf(o->tmp, sizeof o->tmp, "%s", tmp);
    (void)snprintf(o->dst, sizeof o->dst, "%s", dst);
    o->dir = dir;
    o->f = fdopen(fd, "wb");
    if (!o->f) {
        int e = errno;
        close(fd);
        unlink(tmp);
        t->nout--;
        (void)snprintf(t->tmp, sizeof t->tmp, "%s", tmp);
        return e;
    }
    return 0;
}

/* Opens the files the message goes to and writes what comes before the
 * data: the Maildir copy (for the recipients in no --hold domain) gets a
 * Return-Path: and a Received: line (RFC 5321 4.4); each --hold domain
 * with recipients gets a held copy, its envelope (see ho_open()) and
 * the same Received: line: a relay adds no Return-Path:.  With no Maildir
 * and nothing held, no file: the message is counted and discarded.
 * Returns 0 or an errno value (t->tmp names the file). */
static int store_open(struct server *sv, struct conn *c)
{
    struct tx *t = &c->tx;
    struct timeval tv;
    char date[64], recv[4096], tmp[4096], dst[4096];
    struct tm tm;
    time_t secs;
    size_t i, k, n;
    int e = 0;
    /* RFC 3848 / RFC 6531 3.7.3 protocol names: "S" with TLS, "A"
     * authenticated (RFC 3848 names nothing for HELO over TLS) */
    char proto[16];
    static const char *const body[4] = {"", "7BIT", "8BITMIME", "BINARYMIME"};

    (void)snprintf(proto, sizeof proto, "%s%s%s", !c->esmtp ? "SMTP" : t->utf8 ? "UTF8SMTP" : "ESMTP",
             c->esmtp && c->tls == TLS_ON ? "S" : "", c->esmtp && c->user[0] ? "A" : "");

    gettimeofday(&tv, NULL);
    secs = tv.tv_sec;
    (void)snprintf(t->id, sizeof t->id, "%lld.M%06ldP%ldQ%lu", (long long)tv.tv_sec, (long)tv.tv_usec,
             (long)getpid(), t->seq = ++sv->seq);
    gmtime_r(&secs, &tm);
    (void)strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
    n = (size_t)snprintf(recv, sizeof recv, "Received: from %s%s%s%s%s%s%s\r\n\tby %s (smtp-sink) with %s id %s",
            c->helo[0] ? c->helo : "unknown", c->lit[0] ? " (" : "", c->lit, c->lit[0] ? ")" : "",
            c->tls_info[0] ? "\r\n\t(using " : "", c->tls_info, c->tls_info[0] ? ")" : "",
            opt.hostname, proto, t->id);
    /* "for" only with a single recipient: it would disclose the others */
    if (t->nto == 1 && strchr(t->first_to, '@') && n < sizeof recv)
        n += (size_t)snprintf(recv + n, sizeof recv - n, "\r\n\tfor <%s>", t->first_to);
    if (n < sizeof recv)
        (void)snprintf(recv + n, sizeof recv - n, ";\r\n\t%s\r\n", date);

    for (i = 0; i < t->nto && hold_of(t->rcpt[i]) >= 0; i++) {
    }
    if (i < t->nto && opt.maildir) { /* a recipient in no --hold domain */
        (void)snprintf(tmp, sizeof tmp, "%s/tmp/%s.%s", opt.maildir, t->id, sv->host);
        (void)snprintf(dst, sizeof dst, "%s/%s.%s", maildir_new, t->id, sv->host);
        if ((e = out_open(t, tmp, dst, maildir_new)) != 0)
            return e;
        (void)fprintf(t->out[t->nout - 1].f, "Return-Path: <%s>\r\n%s", t->from, recv);
    }
    for (k = 0; k < opt.nholds; k++) {
        FILE *f;
        for (i = 0; i < t->nto && hold_of(t->rcpt[i]) != (long)k; i++) {
        }
        if (i == t->nto)
            continue;
        (void)snprintf(tmp, sizeof tmp, "%s/tmp/%s.%s.%zu", opt.hold_dir, t->id, sv->host, k);
        (void)snprintf(dst, sizeof dst, "%s/%s.%s", opt.holds[k].dir, t->id, sv->host);
        if ((e = out_open(t, tmp, dst, opt.holds[k].dir)) != 0)
            break;
        f = t->out[t->nout - 1].f;
        (void)fprintf(f, "smtp-sink-hold 1\nfrom <%s>\n", t->from);
        if (t->body)
            (void)fprintf(f, "body %s\n", body[t->body & 3]);
        if (t->utf8)
            (void)fprintf(f, "smtputf8\n");
        for (; i < t->nto; i++)
            if (hold_of(t->rcpt[i]) == (long)k)
                (void)fprintf(f, "rcpt <%s>\n", t->rcpt[i]);
        (void)fprintf(f, "\n%s", recv);
    }
    for (i = 0; !e && i < t->nout; i++)
        if (ferror(t->out[i].f)) {
            e = errno ? errno : EIO;
            (void)snprintf(t->tmp, sizeof t->tmp, "%s", t->out[i].tmp);
        }
    if (e)
        tx_discard_file(t);
    return e;
}

/* ------------------------------------------------------------ connections */

/* Overwrites n octets at p in a way the compiler may not drop. */
static void wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;
    while (n--)
        *v++ = 0;
}

/* smtp_output_done() for c, keeping the refusal scanner's place. */
static void output_done(struct conn *c, size_t n)
{
    smtp_output_done(&c->s, n);
    c->scanned = c->scanned > n ? c->scanned - n : 0;
}

struct handover;
static struct smtp_client *ho_client(struct handover *ho);
static void ho_close(struct conn *c, const char *why);

/* What the connection's role has to send: the receiver's replies, or
 * after TURN/ATRN the sender's commands and message data. */
static const char *conn_out(struct conn *c, size_t *len)
{
    return c->client ? smtp_client_output(ho_client(c->ho), len) : smtp_output(&c->s, len);
}

static void conn_out_done(struct conn *c, size_t n)
{
    if (c->client)
        smtp_client_output_done(ho_client(c->ho), n);
    else
        output_done(c, n);
}

/* Logs each 4xx/5xx reply the core is about to send, whoever decided it
 * (the sink with smtp_reply() or the core itself), with the command it
 * answers when an event named it.  Replies carry no AUTH data: nothing
 * the client sent is logged here but paths. */
static void log_refusals(struct conn *c)
{
    size_t len, i, start;
    const char *o = smtp_output(&c->s, &len);

    for (start = i = c->scanned; o && i + 1 < len; i++) {
        size_t n = i - start;
        if (o[i] != '\r' || o[i + 1] != '\n')
            continue;
        if (n >= 4 && o[start + 3] == ' ') { /* the last line of a reply */
            if ((o[start] == '4' || o[start] == '5') && !c->quiet)
                logf_("smtp-sink: client=%s %s%srefused: %.*s", c->peer, c->what, c->what[0] ? " " : "",
                      (int)n, o + start);
            c->what[0] = '\0';
            c->quiet = 0;
        }
        start = ++i + 1;
    }
    c->scanned = start;
}

/* ------------------------------------------------------------ TLS */

static void conn_close(struct server *sv, struct conn *c, const char *why);

#ifndef SMTP_SINK_NO_TLS
static SSL_CTX *tls_ctx; /* NULL without --tls-cert */

/* Why OpenSSL failed, for the log: its error queue (emptied), oldest
 * first, else errno. */
static void tls_why(char *buf, size_t cap, int ssl_err)
{
    unsigned long e;
    size_t n = 0;
    buf[0] = '\0';
    while ((e = ERR_get_error()) != 0) {
        if (n + 3 < cap) {
            if (n)
                memcpy(buf + n, "; ", 3), n += 2;
            ERR_error_string_n(e, buf + n, cap - n);
            n += strlen(buf + n);
        }
    }
    if (n == 0)
        (void)snprintf(buf, cap, "%s", ssl_err == SSL_ERROR_SYSCALL && errno ? strerror(errno)
                                                                      : "connection closed by the client");
}

/* The server context from --tls-cert / --tls-key.  Returns 0 or -1. */
static int tls_setup(void)
{
    char why[256];
    const char *key = opt.tls_key ? opt.tls_key : opt.tls_cert;

    tls_ctx = SSL_CTX_new(TLS_server_method());
    if (!tls_ctx)
        goto fail;
    SSL_CTX_set_min_proto_version(tls_ctx, TLS1_2_VERSION);
    /* No renegotiation: SSL_write() then never needs to read.  An EOF
     * without close_notify is an ordinary end of input here: every
     * message boundary is in the SMTP dialogue itself. */
    SSL_CTX_set_options(tls_ctx, SSL_OP_NO_RENEGOTIATION);
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF /* OpenSSL 3; 1.1.1 reports it as an error */
    SSL_CTX_set_options(tls_ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
    SSL_CTX_set_mode(tls_ctx, SSL_MODE_RELEASE_BUFFERS); /* idle sessions: no buffers */
    SSL_CTX_set_session_cache_mode(tls_ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(tls_ctx, 0);
    if (SSL_CTX_use_certificate_chain_file(tls_ctx, opt.tls_cert) != 1) {
        tls_why(why, sizeof why, 0);
        logf_("smtp-sink: --tls-cert %s: %s", opt.tls_cert, why);
        return -1;
    }
    if (SSL_CTX_use_PrivateKey_file(tls_ctx, key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(tls_ctx) != 1) {
        tls_why(why, sizeof why, 0);
        logf_("smtp-sink: --tls-key %s: %s", key, why);
        return -1;
    }
    return 0;
fail:
    tls_why(why, sizeof why, 0);
    logf_("smtp-sink: TLS: %s", why);
    return -1;
}

/* EV_STARTTLS: prepares the TLS object.  Returns 0, or -1 for a 454. */
static int tls_prepare(struct conn *c)
{
    char why[256];
    c->ssl = SSL_new(tls_ctx);
    if (!c->ssl || SSL_set_rfd(c->ssl, c->in_fd) != 1 || SSL_set_wfd(c->ssl, c->out_fd) != 1) {
        tls_why(why, sizeof why, 0);
        logf_("smtp-sink: client=%s STARTTLS: %s", c->peer, why);
        SSL_free(c->ssl);
        c->ssl = NULL;
        return -1;
    }
    SSL_set_accept_state(c->ssl);
    c->obuf = xrealloc(NULL, TLS_OBUF);
    return 0;
}

/* One step of the handshake.  Returns 1 once TLS is on, 0 while it waits
 * for the socket (c->hs_out says which way) or after a failure (closed). */
static int tls_handshake(struct server *sv, struct conn *c)
{
    char why[256];
    int r, e, bits = 0;

    ERR_clear_error();
    errno = 0;
    r = SSL_accept(c->ssl);
    if (r == 1) {
        c->tls = TLS_ON;
        c->wait_since = now(); /* the client's EHLO may come */
        (void)snprintf(c->tls_ver, sizeof c->tls_ver, "%s", SSL_get_version(c->ssl));
        SSL_get_cipher_bits(c->ssl, &bits);
        (void)snprintf(c->tls_info, sizeof c->tls_info, "%s with cipher %s (%d bits)", c->tls_ver,
                 SSL_get_cipher_name(c->ssl), bits);
        logf_("smtp-sink: client=%s STARTTLS: %s", c->peer, c->tls_info);
        /* RFC 3207 4.2: forget what the client said before TLS */
        c->helo[0] = '\0';
        c->esmtp = 0;
        c->user[0] = '\0';
        if (smtp_tls_done(&c->s) != SMTP_OK)
            logf_("smtp-sink: client=%s BUG: smtp_tls_done() refused", c->peer);
        return 1;
    }
    e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        c->hs_out = e == SSL_ERROR_WANT_WRITE;
        return 0;
    }
    tls_why(why, sizeof why, e);
    logf_("smtp-sink: client=%s TLS handshake failed: %s", c->peer, why);
    c->tls_err = 1;
    conn_close(sv, c, "TLS handshake failed");
    return 0;
}

/* conn_read() under TLS. */
static void tls_read(struct server *sv, struct conn *c, size_t want)
{
    char why[256];
    int n, e;

    ERR_clear_error();
    errno = 0;
    c->rd_out = 0;
    n = SSL_read(c->ssl, c->ibuf, (int)want);
    if (n > 0) {
        c->ioff = 0;
        c->ilen = (size_t)n;
        c->last_in = now();
        if (c->in_data)
            c->data_in += (size_t)n;
        return;
    }
    e = SSL_get_error(c->ssl, n);
    if (e == SSL_ERROR_WANT_READ)
        return;
    if (e == SSL_ERROR_WANT_WRITE) {
        c->rd_out = 1;
        return;
    }
    if (e == SSL_ERROR_ZERO_RETURN) {
        c->eof = 1;
        return;
    }
    tls_why(why, sizeof why, e);
    logf_("smtp-sink: client=%s TLS read: %s", c->peer, why);
    c->tls_err = 1;
    conn_close(sv, c, "connection lost");
}

/* conn_flush() under TLS.  Replies are moved from the core into c->obuf
 * (and acknowledged) while the core still has input to answer, so that a
 * pipelined group gets one TLS record, not one record per reply; obuf is
 * written when it is full or when the core waits (force).  A SSL_write()
 * that said WANT_WRITE is repeated with the same octets, as OpenSSL
 * requires, and obuf does not change meanwhile: the core's next reply then
 * waits in the core, which takes no more input (back-pressure). */
static int tls_flush(struct conn *c, int force)
{
    char why[256];
    for (;;) {
        size_t len;
        const char *o;
        int n, e;
        if (!c->oflight) {
            while (c->olen < TLS_OBUF && (o = conn_out(c, &len)) != NULL) {
                if (len > TLS_OBUF - c->olen)
                    len = TLS_OBUF - c->olen;
                memcpy(c->obuf + c->olen, o, len);
                conn_out_done(c, len);
                c->olen += len;
            }
            if (c->olen == 0 || (!force && c->olen < TLS_OBUF))
                return 1;
        }
        ERR_clear_error();
        errno = 0;
        c->wr_in = 0;
        n = SSL_write(c->ssl, c->obuf, (int)c->olen);
        if (n > 0) { /* without SSL_MODE_ENABLE_PARTIAL_WRITE: all of it */
            c->olen = 0;
            c->oflight = 0;
            continue;
        }
        e = SSL_get_error(c->ssl, n);
        if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
            c->oflight = 1;
            c->wr_in = e == SSL_ERROR_WANT_READ;
            return 0;
        }
        tls_why(why, sizeof why, e);
        logf_("smtp-sink: client=%s TLS write: %s", c->peer, why);
        c->tls_err = 1;
        return -1;
    }
}
#endif /* SMTP_SINK_NO_TLS */

static void conn_close(struct server *sv, struct conn *c, const char *why)
{
    (void)sv;
    if (c->dead)
        return;
    tx_abort(c, why);
    if (c->ho)
        ho_close(c, why);
#ifndef SMTP_SINK_NO_TLS
    if (c->ssl && c->tls == TLS_ON && !c->tls_err) {
        ERR_clear_error();
        SSL_shutdown(c->ssl); /* close_notify, best effort: we do not wait */
        ERR_clear_error();
    }
#endif
    if (!c->stdio) {
        close(c->in_fd);
    }
    c->dead = 1;
}

static void queue_work(struct server *sv, struct conn *c, enum work w)
{
    c->work = w;
    sv->work[sv->nwork++] = c;
}

static int conn_wants_out(struct conn *c);

/* Sends what the core has queued.  Returns 1 when all is sent, 0 when the
 * socket is full, -1 on error. */
static int conn_send(struct conn *c, int force)
{
#ifndef SMTP_SINK_NO_TLS
    if (c->tls == TLS_ON)
        return tls_flush(c, force);
#else
    (void)force;
#endif
    for (;;) {
        size_t len;
        const char *o = conn_out(c, &len);
        ssize_t n;
        if (!o)
            return 1;
        n = write(c->out_fd, o, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
        }
        conn_out_done(c, (size_t)n);
    }
}

/* conn_send(), logging refusals first and keeping the clocks: a reply
 * waiting to be sent starts out_since; once all is sent, the client's turn
 * starts (wait_since). */
static int conn_flush(struct conn *c, int force)
{
    int r, pending = conn_wants_out(c);
    if (!pending)
        return 1;
    if (!c->client) /* the peer's refusals are logged with each held message */
        log_refusals(c);
    if (c->out_since == 0)
        c->out_since = now();
    r = conn_send(c, force);
    if (!conn_wants_out(c)) {
        c->out_since = 0;
        c->wait_since = now();
        if (c->in_data && c->data_in == 0) /* DATA's 354 is out: the data may come */
            c->data_since = c->wait_since;
    }
    return r;
}

/* 1 when sp holds exactly the n octets of secret (zero-padded to
 * CRED_MAX), else 0.  Every octet position is visited, whatever matched:
 * the time taken tells nothing about the secret, not even its length. */
static unsigned cred_match(const unsigned char *secret, size_t n, struct smtp_span sp)
{
    size_t i, d = n ^ sp.len;
    for (i = 0; i < CRED_MAX; i++) {
        unsigned char x = i < sp.len ? (unsigned char)sp.ptr[i] : 0;
        d |= (size_t)(x ^ secret[i]);
    }
    return d == 0;
}

/* AUTH PLAIN or LOGIN against the --user list.  The password is compared
 * where the core decoded it and never copied; every entry is checked, so
 * which user exists does not show in the time either. */
static int auth_ok(const union smtp_event *ev)
{
    size_t i;
    unsigned ok = 0;
    for (i = 0; i < opt.nusers; i++)
        ok |= cred_match(opt.users[i].user, opt.users[i].ulen, ev->auth.user) &
              cred_match(opt.users[i].pass, opt.users[i].plen, ev->auth.pass);
    if (ev->auth.authzid.len && (ev->auth.authzid.len != ev->auth.user.len ||
                                 memcmp(ev->auth.authzid.ptr, ev->auth.user.ptr, ev->auth.user.len) != 0))
        return 0; /* acting for someone else: not here */
    return ok != 0;
}

/* smtp_reply() that cannot fail silently: a refused code is a bug here. */
static void answer(struct conn *c, unsigned code, const char *enh, const char *text)
{
    int r = smtp_reply(&c->s, code, enh, text);
    if (r != SMTP_OK)
        logf_("smtp-sink: client=%s BUG: smtp_reply(%u): %s", c->peer, code, smtp_err_name(r));
}

/* Notes what the reply to this event answers, for log_refusals(): the
 * verb, with the path for MAIL and RCPT and the mechanism for AUTH (never
 * AUTH data).  EV_BODY leaves it: the reply answers DATA or BDAT. */
static void note_command(struct conn *c, int ev_type, const union smtp_event *ev)
{
    const char *name = smtp_event_name(ev_type);
    struct smtp_span a = {"", 0};

    if (ev_type == SMTP_EV_BODY)
        return;
    if (ev_type == SMTP_EV_MAIL || ev_type == SMTP_EV_RCPT)
        a = ev->mail.path.mailbox;
    else if (ev_type == SMTP_EV_AUTH)
        a.ptr = ev->auth.mech == SMTP_MECH_LOGIN ? "LOGIN" : "PLAIN", a.len = 5;
    if (a.len > SMTP_PATH_MAX)
        a.len = SMTP_PATH_MAX;
    if (ev_type == SMTP_EV_MAIL || ev_type == SMTP_EV_RCPT)
        (void)snprintf(c->what, sizeof c->what, "%s:<%.*s>", ev_type == SMTP_EV_MAIL ? "MAIL FROM" : "RCPT TO",
                 (int)a.len, a.len ? a.ptr : "");
    else if (ev_type == SMTP_EV_AUTH)
        (void)snprintf(c->what, sizeof c->what, "AUTH %.*s", (int)a.len, a.len ? a.ptr : "");
    else
        (void)snprintf(c->what, sizeof c->what, "%s", strncmp(name, "EV_", 3) == 0 ? name + 3 : name);
    c->quiet = ev_type == SMTP_EV_DATA_END; /* tx_log() gives the result */
}

/* ------------------------------------------------------------ TURN and ATRN */

/* TURN (RFC 821, with --turn) and ATRN (RFC 2645, after AUTH) ask for the
 * mail held for the client's domains.  on_turn() decides: it lists the
 * held files and answers 250 only when there are some.  After the 250
 * smtp_feed() returns SMTP_TURNED and the connection runs the other way
 * (on the same socket, in the same TLS session): the sink is the sender,
 * smtp_client_* on the octets the receiver did not take (the peer's 220
 * first).  Each held file is one transaction, all or nothing: DATA (or
 * BDAT) only once every recipient got 250, else RSET; the file is removed
 * only after the peer's 250 to its end of data.  Any other outcome leaves
 * it held for the next TURN/ATRN.  Then QUIT. */

enum hstep {
    H_GREET, /* waiting for the peer's 220 and EHLO */
    H_NEXT,  /* between messages */
    H_RCPT,  /* MAIL sent: the RCPTs go out */
    H_ENV,   /* waiting for the envelope's replies */
    H_DATA,  /* DATA sent: waiting for 354 */
    H_BODY,  /* the held file goes out */
    H_END,   /* end of data sent: waiting for the verdict */
    H_QUIT   /* QUIT sent */
};

struct hfile {
    char *path;
    size_t h; /* its --hold domain */
};

struct handover {
    struct smtp_client cl;
    const char *verb;     /* "TURN" or "ATRN", for the log */
    struct hfile *files;  /* the held messages, oldest first */
    size_t nfiles, next;
    enum hstep step;
    unsigned delivered, kept;
    /* the message being sent (files[next - 1]) */
    FILE *f;
    char from[SMTP_PATH_MAX + 1];
    char **rcpt;
    unsigned nrcpt, rcpt_cap, sent, replies;
    int mail_ok, mail_replied, failed;
    struct smtp_mail_opts mo;
    uint64_t size;
    char why[700];        /* why it stays held */
    char buf[16384];      /* file data; smtp_client_output() may point here */
    size_t boff, blen;
    int feof;
};

static struct smtp_client *ho_client(struct handover *ho) { return &ho->cl; }

static int hfile_cmp(const void *a, const void *b)
{
    return strcmp(((const struct hfile *)a)->path, ((const struct hfile *)b)->path);
}

/* Adds the files held for domain h to the list (names start with the
 * time of arrival: sorted, oldest first). */
static void ho_list(struct conn *c, struct handover *ho, size_t h)
{
    DIR *d = opendir(opt.holds[h].dir);
    struct dirent *e;
    size_t n0 = ho->nfiles;
    if (!d) {
        logf_("smtp-sink: client=%s %s: cannot read %s: %s", c->peer, ho->verb, opt.holds[h].dir,
              strerror(errno));
        return;
    }
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(opt.holds[h].dir) + strlen(e->d_name) + 2;
        if (e->d_name[0] == '.')
            continue;
        ho->files = xrealloc(ho->files, (ho->nfiles + 1) * sizeof *ho->files);
        ho->files[ho->nfiles].path = xrealloc(NULL, l);
        (void)snprintf(ho->files[ho->nfiles].path, l, "%s/%s", opt.holds[h].dir, e->d_name);
        ho->files[ho->nfiles++].h = h;
    }
    closedir(d);
    if (ho->nfiles > n0) /* qsort() wants a valid pointer even for no element */
        qsort(ho->files + n0, ho->nfiles - n0, sizeof *ho->files, hfile_cmp);
}

static void ho_forget(struct handover *ho)
{
    if (ho->f)
        (void)fclose(ho->f);
    ho->f = NULL;
    while (ho->nrcpt)
        free(ho->rcpt[--ho->nrcpt]);
}

/* The connection closes: what is not delivered stays held, and the
 * domains are free for the next TURN/ATRN. */
static void ho_close(struct conn *c, const char *why)
{
    size_t i;
    if (c->client)
        logf_("smtp-sink: client=%s %s over (%s): %u delivered, %u kept, %zu not tried", c->peer, c->ho->verb,
              why, c->ho->delivered, c->ho->kept + (c->ho->f != NULL), c->ho->nfiles - c->ho->next);
    ho_forget(c->ho);
    for (i = 0; i < opt.nholds; i++)
        if (opt.holds[i].busy == c)
            opt.holds[i].busy = NULL;
}

static void ho_free(struct handover *ho)
{
    size_t i;
    if (!ho)
        return;
    ho_forget(ho);
    for (i = 0; i < ho->nfiles; i++)
        free(ho->files[i].path);
    free(ho->files);
    free(ho->rcpt);
    free(ho);
}

/* May this session collect the mail held for domain h?  A DOMAIN=USER
 * hold: only after AUTH as USER, by TURN or ATRN.  A plain DOMAIN: by
 * TURN from a client that says EHLO DOMAIN (that is all TURN knows), or
 * by ATRN from any authenticated user. */
static int may_collect(const struct conn *c, size_t h, int atrn)
{
    const struct hold *x = &opt.holds[h];
    if (x->user)
        return c->user[0] && strcmp(c->user, x->user) == 0;
    return !atrn || c->user[0];
}

static long hold_named(const char *d, size_t n)
{
    size_t i, k;
    for (i = 0; i < opt.nholds; i++) {
        const char *x = opt.holds[i].domain;
        for (k = 0; k < n && x[k] && lower((unsigned char)d[k]) == x[k]; k++) {
        }
        if (k == n && !x[k])
            return (long)i;
    }
    return -1;
}

/* EV_TURN and EV_ATRN: which domains, and is anything held for them. */
static void on_turn(struct conn *c, int ev_type, const union smtp_event *ev)
{
    int atrn = ev_type == SMTP_EV_ATRN;
    const char *verb = atrn ? "ATRN" : "TURN";
    char *pick = xrealloc(NULL, opt.nholds + 1), names[1024];
    struct handover *ho;
    size_t i, nl = 0;

    memset(pick, 0, opt.nholds + 1);
    names[0] = '\0';
    if (!atrn) { /* the domain the client gave in EHLO/HELO */
        long h = hold_named(c->helo, strlen(c->helo));
        if (h < 0 || !may_collect(c, (size_t)h, 0)) {
            answer(c, 502, NULL, "No mail held for you here");
            goto out;
        }
        pick[h] = 1;
    } else if (ev->turn.domains.len == 0) { /* every domain this user may collect */
        for (i = 0; i < opt.nholds; i++)
            pick[i] = (char)may_collect(c, i, 1);
    } else { /* "a.example,b.example": each must be the user's */
        const char *d = ev->turn.domains.ptr, *end = d + ev->turn.domains.len;
        while (d < end) {
            const char *comma = memchr(d, ',', (size_t)(end - d));
            size_t n = comma ? (size_t)(comma - d) : (size_t)(end - d);
            long h = hold_named(d, n);
            if (h < 0 || !may_collect(c, (size_t)h, 1)) {
                answer(c, 450, "4.7.1", "ATRN request refused");
                goto out;
            }
            pick[h] = 1;
            d += n + 1;
        }
    }
    for (i = 0; i < opt.nholds; i++)
        if (pick[i] && opt.holds[i].busy) {
            if (atrn)
                answer(c, 451, "4.3.0", "Unable to process ATRN request now");
            else
                answer(c, 502, NULL, "The mail held for you is being handed over on another connection");
            goto out;
        }
    ho = xrealloc(NULL, sizeof *ho);
    memset(ho, 0, sizeof *ho);
    ho->verb = verb;
    for (i = 0; i < opt.nholds; i++)
        if (pick[i]) {
            ho_list(c, ho, i);
            nl += (size_t)snprintf(names + nl, sizeof names - nl, "%s%s", nl ? "," : "", opt.holds[i].domain);
            if (nl >= sizeof names)
                nl = sizeof names - 1;
        }
    if (ho->nfiles == 0) {
        ho_free(ho);
        if (atrn)
            answer(c, 453, NULL, "You have no mail");
        else
            answer(c, 502, NULL, "No mail held for you here");
        goto out;
    }
    for (i = 0; i < opt.nholds; i++)
        if (pick[i])
            opt.holds[i].busy = c;
    c->ho = ho;
    answer(c, 250, NULL, "OK now reversing the connection");
    logf_("smtp-sink: client=%s %s: handing over %zu held message(s) for %s", c->peer, verb, ho->nfiles,
          names[0] ? names : "-");
out:
    free(pick);
}

/* SMTP_TURNED: our 250 is out; the rest of the input is the peer's, as
 * the receiver now.  Its 220 is due within --timeout-cmd. */
static void ho_start(struct conn *c)
{
    struct smtp_client_config cc;
    smtp_client_config_default(&cc);
    cc.hostname = opt.hostname;
    /* the connection is TLS already when STARTTLS came before: no second one */
    cc.tls = c->tls == TLS_ON ? SMTP_TLS_IMPLICIT : SMTP_TLS_OFF;
    smtp_client_init(&c->ho->cl, &cc);
    c->ho->step = H_GREET;
    c->client = 1;
    c->wait_since = now();
}

/* "550 5.1.1 text" of a reply, on one line. */
static void ho_reply(const struct smtp_creply *r, char *buf, size_t cap)
{
    size_t n, i;
    if (r->cls)
        n = (size_t)snprintf(buf, cap, "%u %u.%u.%u ", r->code, r->cls, r->subject, r->detail);
    else
        n = (size_t)snprintf(buf, cap, "%u ", r->code);
    for (i = 0; i < r->text.len && n + 1 < cap; i++) {
        char ch = r->text.ptr[i];
        if (ch == '\n' || ch == '"') /* one line, and the log's quotes stay whole */
            ch = ' ';
        buf[n++] = ch;
    }
    buf[n < cap ? n : cap - 1] = '\0';
}

/* Opens the next held file and reads its envelope (store_open() wrote
 * it).  0, or -1: logged, and the file is left where it is. */
static int ho_open(struct conn *c)
{
    struct handover *ho = c->ho;
    const char *path = ho->files[ho->next++].path;
    char line[SMTP_PATH_MAX + 16];
    int ok, ended = 0, from = 0;
    struct stat st;

    ho_forget(ho);
    memset(&ho->mo, 0, sizeof ho->mo);
    ho->f = fopen(path, "rb");
    if (!ho->f) {
        logf_("smtp-sink: client=%s %s: cannot open %s: %s", c->peer, ho->verb, path, strerror(errno));
        return -1;
    }
    ok = fgets(line, sizeof line, ho->f) && strcmp(line, "smtp-sink-hold 1\n") == 0;
    while (ok && !ended && fgets(line, sizeof line, ho->f)) {
        size_t l = strlen(line);
        if (line[l - 1] != '\n') {
            ok = 0;
            break;
        }
        line[--l] = '\0';
        if (l == 0) {
            ended = 1;
        } else if (strncmp(line, "from <", 6) == 0 && line[l - 1] == '>') {
            (void)snprintf(ho->from, sizeof ho->from, "%.*s", (int)(l - 7), line + 6);
            from = 1;
        } else if (strncmp(line, "rcpt <", 6) == 0 && line[l - 1] == '>' && l > 7) {
            if (ho->nrcpt == ho->rcpt_cap) {
                ho->rcpt_cap = ho->rcpt_cap ? ho->rcpt_cap * 2 : 8;
                ho->rcpt = xrealloc(ho->rcpt, ho->rcpt_cap * sizeof *ho->rcpt);
            }
            ho->rcpt[ho->nrcpt] = xrealloc(NULL, l - 6);
            (void)snprintf(ho->rcpt[ho->nrcpt++], l - 6, "%s", line + 6);
        } else if (strcmp(line, "body 7BIT") == 0) {
            ho->mo.body = SMTP_BODY_7BIT;
        } else if (strcmp(line, "body 8BITMIME") == 0) {
            ho->mo.body = SMTP_BODY_8BITMIME;
        } else if (strcmp(line, "body BINARYMIME") == 0) {
            ho->mo.body = SMTP_BODY_BINARYMIME;
        } else if (strcmp(line, "smtputf8") == 0) {
            ho->mo.smtputf8 = 1;
        } else {
            ok = 0;
        }
    }
    if (!ok || !ended || !from || ho->nrcpt == 0 || fstat(fileno(ho->f), &st) != 0) {
        logf_("smtp-sink: client=%s %s: %s is not a held message, left alone", c->peer, ho->verb, path);
        ho_forget(ho);
        return -1;
    }
    ho->size = (uint64_t)st.st_size - (uint64_t)ftell(ho->f);
    ho->mo.size = ho->size;
    ho->sent = ho->replies = 0;
    ho->mail_ok = ho->mail_replied = ho->failed = 0;
    ho->why[0] = '\0';
    ho->boff = ho->blen = 0;
    ho->feof = 0;
    return 0;
}

/* The current message is over: delivered (the peer said 250 to its end of
 * data: the file goes) or kept (held for the next time). */
static void ho_done(struct conn *c, int delivered, const char *result)
{
    struct handover *ho = c->ho;
    const struct hfile *hf = &ho->files[ho->next - 1];
    const char *name = strrchr(hf->path, '/');
    int gone = delivered && unlink(hf->path) == 0;
    if (delivered && !gone)
        logf_("smtp-sink: client=%s %s: cannot remove %s (it will be delivered again): %s", c->peer,
              ho->verb, hf->path, strerror(errno));
    logf_("smtp-sink: client=%s %s domain=%s held=%s from=<%s> nrcpt=%u size=%llu result=\"%s%s\"",
          c->peer, delivered ? "delivered" : "kept", opt.holds[hf->h].domain, name ? name + 1 : hf->path,
          ho->from, ho->nrcpt, (unsigned long long)ho->size, delivered ? "" : "kept: ", result);
    if (delivered)
        ho->delivered++;
    else
        ho->kept++;
    ho_forget(ho);
    ho->step = H_NEXT;
}

/* Why the message stays held, the first reason only. */
static void ho_fail(struct handover *ho, const char *what, const struct smtp_creply *r)
{
    char rep[600];
    ho->failed = 1;
    if (ho->why[0])
        return;
    rep[0] = '\0';
    if (r)
        ho_reply(r, rep, sizeof rep);
    (void)snprintf(ho->why, sizeof ho->why, "%s%s%s", what, r ? " refused: " : "", rep);
}

static void ho_event(struct conn *c, int st, const union smtp_cevent *ev)
{
    struct handover *ho = c->ho;
    char rep[600], what[SMTP_PATH_MAX + 16];
    ho_reply(&ev->any.reply, rep, sizeof rep);
    switch (st) {
    case SMTP_CEV_READY:
        if (ho->step == H_GREET)
            ho->step = H_NEXT;
        break;
    case SMTP_CEV_MAIL:
        ho->mail_replied = 1;
        ho->mail_ok = ev->any.reply.code / 100 == 2;
        if (!ho->mail_ok) {
            (void)snprintf(what, sizeof what, "MAIL FROM:<%s>", ho->from);
            ho_fail(ho, what, &ev->any.reply);
        }
        break;
    case SMTP_CEV_RCPT:
        ho->replies++;
        if (ev->rcpt.result != SMTP_RCPT_OK) {
            (void)snprintf(what, sizeof what, "RCPT TO:<%s>",
                           ev->rcpt.index < ho->nrcpt ? ho->rcpt[ev->rcpt.index] : "?");
            ho_fail(ho, what, &ev->any.reply);
        }
        break;
    case SMTP_CEV_DATA:
        if (ho->step == H_DATA && ev->any.reply.code == 354) {
            ho->step = H_BODY;
        } else if (ho->step == H_DATA) {
            ho_fail(ho, "DATA", &ev->any.reply);
            ho_done(c, 0, ho->why);
        }
        break;
    case SMTP_CEV_SENT: /* the verdict, or a refused BDAT chunk */
        if (ho->step == H_END && ev->any.reply.code == 250) {
            ho_done(c, 1, rep);
        } else if (ho->step == H_BODY || ho->step == H_END) {
            ho_fail(ho, "the message", &ev->any.reply);
            ho_done(c, 0, ho->why);
        }
        break;
    case SMTP_CEV_CLOSED:
        if (ev->closed.why != SMTP_WHY_QUIT)
            logf_("smtp-sink: client=%s %s: the peer ended the session: %s", c->peer, ho->verb,
                  ev->any.reply.code ? rep : "protocol error");
        break;
    default: /* RSET's and NOOP's replies: nothing to do */
        break;
    }
}

static void ho_abort(struct server *sv, struct conn *c, const char *why)
{
    smtp_client_abort(&c->ho->cl);
    conn_close(sv, c, why);
}

/* Moves the handover on as far as the client core lets it. */
static void ho_pump(struct server *sv, struct conn *c)
{
    struct handover *ho = c->ho;
    char what[64];
    for (;;) {
        size_t used;
        int r;
        switch (ho->step) {
        case H_NEXT:
            if (!ho->f && ho->next == ho->nfiles) {
                if (smtp_client_quit(&ho->cl) == SMTP_OK)
                    ho->step = H_QUIT;
                return;
            }
            if (!ho->f && ho_open(c) != 0) {
                ho->kept++;
                continue;
            }
            r = smtp_client_mail(&ho->cl, ho->from, &ho->mo);
            if (r == SMTP_ERR_BUSY)
                return; /* the file stays open: MAIL goes next time */
            if (r != SMTP_OK) {
                (void)snprintf(what, sizeof what, "not sent: %s (%s)", smtp_err_name(r),
                               r == SMTP_ERR_EXT ? "the peer lacks an extension it needs" : smtp_err_desc(r));
                ho_done(c, 0, what);
                continue;
            }
            ho->step = H_RCPT;
            break;
        case H_RCPT:
            while (ho->sent < ho->nrcpt) {
                r = smtp_client_rcpt(&ho->cl, ho->rcpt[ho->sent], 0, NULL);
                if (r == SMTP_ERR_BUSY)
                    return;
                if (r != SMTP_OK) { /* MAIL refused, or more recipients than the peer takes */
                    (void)snprintf(what, sizeof what, "RCPT not sent: %s", smtp_err_name(r));
                    ho_fail(ho, what, NULL);
                    break;
                }
                ho->sent++;
            }
            ho->step = H_ENV;
            break;
        case H_ENV:
            if (!ho->mail_replied || ho->replies < ho->sent)
                return;
            if (ho->failed) { /* all or nothing: the transaction goes */
                if (ho->mail_ok && smtp_client_rset(&ho->cl) == SMTP_ERR_BUSY)
                    return;
                ho_done(c, 0, ho->why);
                continue;
            }
            r = smtp_client_data(&ho->cl);
            if (r == SMTP_ERR_BUSY)
                return;
            if (r != SMTP_OK) {
                (void)snprintf(what, sizeof what, "DATA not sent: %s", smtp_err_name(r));
                ho_done(c, 0, what);
                continue;
            }
            ho->step = (ho->cl.caps.ext & SMTP_EXT_CHUNKING) ? H_BODY : H_DATA;
            break;
        case H_BODY:
            if (ho->boff == ho->blen) {
                if (ho->feof) {
                    r = smtp_client_end(&ho->cl);
                    if (r == SMTP_OK)
                        ho->step = H_END;
                    return;
                }
                if (conn_out(c, &used) != NULL)
                    return; /* what was sent of buf is still in flight */
                ho->boff = 0;
                ho->blen = fread(ho->buf, 1, sizeof ho->buf, ho->f);
                if (ho->blen == 0 && ferror(ho->f)) {
                    logf_("smtp-sink: client=%s %s: cannot read %s: %s", c->peer, ho->verb,
                          ho->files[ho->next - 1].path, strerror(errno));
                    ho_abort(sv, c, "cannot read a held message");
                    return;
                }
                ho->feof = ho->blen == 0;
                continue;
            }
            r = smtp_client_body(&ho->cl, ho->buf + ho->boff, ho->blen - ho->boff, &used);
            if (r != SMTP_OK || used == 0)
                return; /* BUSY: output first; STATE: a BDAT chunk was refused */
            ho->boff += used;
            break;
        default: /* waiting for a reply */
            return;
        }
    }
}

static void conn_read(struct server *sv, struct conn *c);
static int conn_wants_in(const struct server *sv, struct conn *c);

/* conn_run() once the roles are reversed. */
static void ho_run(struct server *sv, struct conn *c)
{
    struct handover *ho = c->ho;
    while (!c->dead) {
        union smtp_cevent ev;
        size_t used = 0;
        int st = smtp_client_feed(&ho->cl, c->ibuf + c->ioff, c->ilen, &used, &ev), fl;
        c->ioff += used;
        c->ilen -= used;
        if (c->ilen == 0)
            c->ioff = 0;
        if (st > 0) {
            ho_event(c, st, &ev);
            ho_pump(sv, c);
            continue;
        }
        if (st == SMTP_CLOSED) {
            conn_close(sv, c, "closed");
            return;
        }
        if (st == SMTP_NEED_INPUT)
            ho_pump(sv, c);
        if (c->dead)
            return;
        if (conn_wants_out(c)) {
            fl = conn_flush(c, 1);
            if (fl < 0) {
                conn_close(sv, c, "write error");
                return;
            }
            if (fl == 0)
                return; /* wait for POLLOUT */
            continue;
        }
        if (c->eof) {
            conn_close(sv, c, "connection lost");
            return;
        }
#ifndef SMTP_SINK_NO_TLS
        if (c->tls == TLS_ON && SSL_pending(c->ssl) > 0 && conn_wants_in(sv, c)) {
            conn_read(sv, c);
            if (c->ilen || c->eof)
                continue;
        }
#endif
        return;
    }
}

static void on_event(struct server *sv, struct conn *c, int ev_type, const union smtp_event *ev)
{
    struct tx *t = &c->tx;
    char res[600];
    size_t i;

    note_command(c, ev_type, ev);
    switch (ev_type) {
    case SMTP_EV_HELO:
    case SMTP_EV_EHLO:
        /* a new greeting resets the transaction (RFC 5321 4.1.4) */
        tx_abort(c, ev_type == SMTP_EV_HELO ? "HELO" : "EHLO");
        span_copy(c->helo, sizeof c->helo, ev->hello.domain);
        c->esmtp = ev_type == SMTP_EV_EHLO;
        break; /* default: 250 */
    case SMTP_EV_MAIL:
        tx_reset(t);
        t->open = 1; /* the default answer is 250 */
        t->utf8 = ev->mail.smtputf8;
        t->body = ev->mail.body;
        span_copy(t->from, sizeof t->from, ev->mail.path.mailbox);
        span_copy(t->mail_params, sizeof t->mail_params, ev->mail.params);
        break;
    case SMTP_EV_RCPT:
        span_copy(c->rcpt, sizeof c->rcpt, ev->rcpt.path.mailbox);
        span_copy(c->rcpt_params, sizeof c->rcpt_params, ev->rcpt.params);
        smtp_defer(&c->s);
        queue_work(sv, c, W_RCPT);
        break;
    case SMTP_EV_AUTH:
        if (auth_ok(ev)) {
            span_copy(c->user, sizeof c->user, ev->auth.user);
            answer(c, 235, NULL, NULL);
        } else { /* logged by log_refusals(), without the user name */
            answer(c, 535, "5.7.8", "Authentication credentials invalid");
        }
        /* The AUTH line (base64, as good as the password) was read into
         * ibuf: wipe everything there but the input not yet taken.  The
         * core overwrites its own copy with the next line. */
        wipe(c->ibuf, c->ioff);
        wipe(c->ibuf + c->ioff + c->ilen, IBUF_SIZE - c->ioff - c->ilen);
        break;
    case SMTP_EV_STARTTLS:
#ifndef SMTP_SINK_NO_TLS
        if (tls_ctx && tls_prepare(c) == 0) {
            answer(c, 220, NULL, NULL);
            /* CVE-2011-0411: octets the client sent after STARTTLS, before
             * the handshake, are never commands.  Drop those already read;
             * nothing more is read in plaintext. */
            if (c->ilen)
                logf_("smtp-sink: client=%s STARTTLS: %zu plaintext octets after STARTTLS dropped",
                      c->peer, c->ilen);
            c->ioff = c->ilen = 0;
            c->tls = TLS_START;
            break;
        }
#endif
        answer(c, 454, "4.7.0", "TLS not available due to temporary reason");
        break;
    case SMTP_EV_BDAT:
        /* RFC 3030: no DATA event; the first chunk starts the message.  A
         * BDAT is not a decision, so a storage failure is answered at the
         * end, with the LAST chunk. */
        if (!t->started) {
            t->started = 1;
            c->data_since = now();
            c->data_in = 0;
            t->err = store_open(sv, c);
            if (t->err)
                logf_("smtp-sink: client=%s cannot create %s: %s", c->peer, t->tmp, strerror(t->err));
        }
        c->in_data = 1;
        break;
    case SMTP_EV_DATA:
        t->started = 1;
        {
            int e = store_open(sv, c);
            if (e) {
                logf_("smtp-sink: client=%s cannot create %s: %s", c->peer, t->tmp, strerror(e));
                /* DATA itself may only get 451 (RFC 821 4.3), not 452 */
                answer(c, 451, e == ENOSPC ? "4.3.1" : "4.3.0",
                       e == ENOSPC ? "Insufficient system storage" : "Local error in processing");
                break;
            }
        }
        c->in_data = 1; /* default: 354 */
        c->data_since = now();
        c->data_in = 0;
        break;
    case SMTP_EV_BODY:
        t->size += ev->body.data.len;
        for (i = 0; i < t->nout && !t->err; i++)
            if (fwrite(ev->body.data.ptr, 1, ev->body.data.len, t->out[i].f) != ev->body.data.len)
                t->err = errno ? errno : EIO;
        break;
    case SMTP_EV_DATA_END:
        c->in_data = 0;
        if (ev->end.reject != SMTP_REJECT_NONE) { /* the core has answered */
            reply_line(&c->s, res, sizeof res);
            tx_log(c, res);
            tx_reset(t);
        } else if (t->nout || t->err) {
            smtp_defer(&c->s); /* answered once the files are durable */
            queue_work(sv, c, W_COMMIT);
        } else {
            (void)snprintf(res, sizeof res, "Ok: message %lu accepted and discarded", t->seq);
            answer(c, 250, NULL, res);
            reply_line(&c->s, res, sizeof res);
            tx_log(c, res);
            tx_reset(t);
        }
        break;
    case SMTP_EV_RSET:
        tx_abort(c, "RSET");
        break;
    case SMTP_EV_TURN:
    case SMTP_EV_ATRN:
        on_turn(c, ev_type, ev);
        break;
    case SMTP_EV_QUIT:
        tx_abort(c, "QUIT");
        break;
    default: /* CONNECT, VRFY, EXPN, HELP, NOOP and any later event:
                the core's default answer */
        break;
    }
}

/* Drives one connection as far as it goes without blocking: send the
 * replies, feed the input, handle the events. */
static void conn_run(struct server *sv, struct conn *c)
{
    if (c->client) {
        ho_run(sv, c);
        return;
    }
    while (!c->dead && c->work == W_NONE) {
        union smtp_event ev;
        size_t used = 0;
        int st, fl;

#ifndef SMTP_SINK_NO_TLS
        if (c->tls == TLS_HANDSHAKE) {
            if (!tls_handshake(sv, c))
                return; /* wait for the socket, or closed */
            continue;
        }
#endif
        st = smtp_feed(&c->s, c->ibuf + c->ioff, c->ilen, &used, &ev);
        c->ioff += used;
        c->ilen -= used;
        if (c->ilen == 0)
            c->ioff = 0;
        if (st > 0) {
            on_event(sv, c, st, &ev);
            continue;
        }
        /* under TLS replies are gathered while more input is waiting
         * (WANT_WRITE), and sent before waiting for anything else */
        fl = conn_flush(c, st != SMTP_WANT_WRITE);
        if (fl < 0) {
            conn_close(sv, c, "write error");
            if (c->stdio)
                sv->exit_code = 1;
            return;
        }
        if (fl == 0)
            return; /* wait for POLLOUT */
        if (st == SMTP_WANT_WRITE)
            continue;
        if (st == SMTP_CLOSED) {
            conn_close(sv, c, "closed"); /* conn_flush() sent everything */
            return;
        }
        if (st == SMTP_TURNED) { /* our 250 is out: we are the sender now */
            ho_start(c);
            ho_run(sv, c);
            return;
        }
        if (c->tls == TLS_START) { /* the 220 is out: the handshake starts */
            c->tls = TLS_HANDSHAKE;
            c->hs_since = now();
            continue;
        }
        if (st == SMTP_NEED_INPUT && c->eof) {
            conn_close(sv, c, "connection lost");
            return;
        }
#ifndef SMTP_SINK_NO_TLS
        /* Octets OpenSSL has decrypted but we have not read yet make no
         * poll() event: read them now (at most one TLS record's worth). */
        if (st == SMTP_NEED_INPUT && c->tls == TLS_ON && SSL_pending(c->ssl) > 0 && conn_wants_in(sv, c)) {
            conn_read(sv, c);
            if (c->ilen || c->eof)
                continue;
        }
#endif
        return; /* NEED_INPUT: wait for POLLIN; PENDING: for the work queue */
    }
}

/* Unlinks a transaction's files: the first `renamed` are at their dst. */
static void outs_unlink(struct tx *t, size_t renamed)
{
    size_t k;
    for (k = 0; k < t->nout; k++)
        unlink(k < renamed ? t->out[k].dst : t->out[k].tmp);
}

/* Answers the deferred decisions.  All messages ended in this round are
 * made durable together: fsync each file, rename each into new/ (or its
 * hold directory), then one fsync of each directory makes the renames
 * durable; only then each gets its 250.  A message is stored whole or not
 * at all: its Maildir copy and its held copies go together. */
static void run_work(struct server *sv)
{
    while (sv->nwork) {
        size_t n = sv->nwork, i, k, ndirs = 0;
        struct conn **list = xrealloc(NULL, n * sizeof(struct conn *));
        const char **dirs = NULL;
        int dir_err = 0;

        memcpy(list, sv->work, n * sizeof(struct conn *));
        sv->nwork = 0;
        for (i = 0; i < n; i++) {
            struct conn *c = list[i];
            struct tx *t = &c->tx;
            if (c->work == W_RCPT) {
                /* a held domain's mailboxes are its client's business */
                if (hold_of(c->rcpt) >= 0 || mailbox_exists(c->rcpt)) {
                    answer(c, 250, NULL, NULL);
                    tx_add_rcpt(t, c->rcpt, c->rcpt_params);
                } else {
                    answer(c, 550, "5.1.1", "No such user here");
                }
            } else if (c->work == W_COMMIT) {
                if (t->nout == 0 && !t->err)
                    t->err = EIO;
                for (k = 0; k < t->nout; k++) {
                    FILE *f = t->out[k].f;
                    if (!t->err && (fflush(f) != 0 || fsync(fileno(f)) != 0))
                        t->err = errno ? errno : EIO;
                    if (fclose(f) != 0 && !t->err)
                        t->err = errno ? errno : EIO;
                    t->out[k].f = NULL;
                }
                for (k = 0; !t->err && k < t->nout; k++)
                    if (rename(t->out[k].tmp, t->out[k].dst) != 0)
                        t->err = errno ? errno : EIO;
                if (t->err) {
                    outs_unlink(t, k ? k - 1 : 0); /* k - 1 renamed before the failure */
                    continue;
                }
                for (k = 0; k < t->nout; k++) { /* each directory once */
                    size_t d;
                    for (d = 0; d < ndirs && dirs[d] != t->out[k].dir; d++) {
                    }
                    if (d == ndirs) {
                        dirs = xrealloc(dirs, (ndirs + 1) * sizeof *dirs);
                        dirs[ndirs++] = t->out[k].dir;
                    }
                }
            }
        }
        for (k = 0; k < ndirs; k++) {
            int dfd = open(dirs[k], O_RDONLY);
            if (dfd < 0 || fsync(dfd) != 0)
                dir_err = errno ? errno : EIO;
            if (dfd >= 0)
                close(dfd);
        }
        free(dirs);
        for (i = 0; i < n; i++) {
            struct conn *c = list[i];
            struct tx *t = &c->tx;
            char res[600];
            if (c->work == W_COMMIT) {
                int e = t->err;
                if (!e && dir_err) { /* renamed, but not durably: take it back */
                    outs_unlink(t, t->nout);
                    e = dir_err;
                }
                t->nout = 0;
                if (!e) {
                    (void)snprintf(res, sizeof res, "Ok: queued as %s", t->id);
                    answer(c, 250, NULL, res);
                } else {
                    logf_("smtp-sink: client=%s cannot store message: %s", c->peer, strerror(e));
                    if (e == ENOSPC
#ifdef EDQUOT
                        || e == EDQUOT
#endif
                    )
                        answer(c, 452, "4.3.1", "Insufficient system storage");
                    else
                        answer(c, 451, "4.3.0", "Local error in processing");
                }
                reply_line(&c->s, res, sizeof res);
                tx_log(c, res);
                tx_reset(t);
            }
            c->work = W_NONE;
        }
        for (i = 0; i < n; i++)
            conn_run(sv, list[i]); /* may queue new work: loop */
        free(list);
    }
}

static struct conn *conn_new(struct server *sv, int in_fd, int out_fd, int stdio)
{
    struct conn *c = xrealloc(NULL, sizeof *c);
    memset(c, 0, sizeof *c);
    c->in_fd = in_fd;
    c->out_fd = out_fd;
    c->stdio = stdio;
    c->ibuf = xrealloc(NULL, IBUF_SIZE);
    c->wait_since = c->last_in = now();
    smtp_init(&c->s, &sv->cfg);
    if (sv->nconn == sv->cap) {
        sv->cap = sv->cap ? sv->cap * 2 : 16;
        sv->conn = xrealloc(sv->conn, sv->cap * sizeof(struct conn *));
        sv->work = xrealloc(sv->work, sv->cap * sizeof(struct conn *));
    }
    sv->conn[sv->nconn++] = c;
    return c;
}

static void conn_free(struct conn *c)
{
#ifndef SMTP_SINK_NO_TLS
    SSL_free(c->ssl);
#endif
    free(c->obuf);
    ho_free(c->ho);
    wipe(c->ibuf, IBUF_SIZE); /* may hold an AUTH exchange */
    tx_reset(&c->tx); /* the recipients */
    free(c->tx.rcpt);
    free(c->tx.out);
    free(c->tx.to);
    free(c->tx.rparams);
    free(c->ibuf);
    free(c);
}

/* Beyond --max-conn: the core formats the 421 of a session refused at
 * once; the few bytes fit any fresh socket buffer. */
static void refuse(struct server *sv, int fd, const char *peer)
{
    struct smtp_session s;
    union smtp_event ev;
    size_t used, len;
    const char *o;
    ssize_t r;

    smtp_init(&s, &sv->cfg);
    if (smtp_feed(&s, NULL, 0, &used, &ev) == SMTP_EV_CONNECT)
        smtp_reply(&s, 421, NULL, "Too many connections, try again later");
    o = smtp_output(&s, &len);
    if (o) {
        r = write(fd, o, len); /* best effort: the connection is closed anyway */
        (void)r;
    }
    close(fd);
    logf_("smtp-sink: client=%s refused: %.*s (%zu sessions open)", peer,
          (int)(o && len > 2 ? len - 2 : 0), o ? o : "", sv->nconn);
}

static void do_accept(struct server *sv)
{
    for (;;) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int fd = accept(sv->lfd, (struct sockaddr *)&ss, &sl);
        struct conn *c;
        char peer[80], lit[80];
        int sndbuf = SNDBUF_SIZE;

        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                sv->lpause = now() + 0.1; /* out of descriptors: retry soon */
            return;
        }
        set_nonblock(fd);
        /* Replies are small: a fixed send buffer (instead of one that grows
         * to megabytes) keeps a pipelining client that never reads from
         * parking much of our output in the kernel. */
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
        addr_names((struct sockaddr *)&ss, peer, sizeof peer, lit, sizeof lit);
        if (sv->nconn >= opt.max_conn) {
            refuse(sv, fd, peer);
            continue;
        }
        c = conn_new(sv, fd, fd, 0);
        memcpy(c->peer, peer, sizeof peer);
        memcpy(c->lit, lit, sizeof lit);
        conn_run(sv, c); /* the greeting */
    }
}

static int conn_wants_out(struct conn *c)
{
    size_t len;
    return c->olen || conn_out(c, &len) != NULL;
}

/* Nothing is read from STARTTLS to the handshake: SSL_accept() reads. */
static int conn_wants_in(const struct server *sv, struct conn *c)
{
    (void)sv;
    return !c->eof && c->ilen == 0 && c->work == W_NONE &&
           !(c->client ? smtp_client_closed(ho_client(c->ho)) : smtp_closed(&c->s)) &&
           (c->tls == TLS_OFF || c->tls == TLS_ON);
}

/* Which way to poll: what the core wants, turned around where OpenSSL
 * needs the other direction first. */
static void conn_events(const struct server *sv, struct conn *c, int *in, int *out)
{
    int wi = conn_wants_in(sv, c), wo = conn_wants_out(c);
    if (c->tls == TLS_HANDSHAKE) {
        wi = !c->hs_out;
        wo = c->hs_out;
    } else if (c->tls == TLS_ON) {
        int ri = wi && !c->rd_out, ro = wo && !c->wr_in;
        ro |= wi && c->rd_out;
        ri |= wo && c->wr_in;
        wi = ri;
        wo = ro;
    }
    *in = wi;
    *out = wo;
}

/* Which deadline the connection is under. */
enum limit { L_HANDSHAKE, L_CLOSE, L_WRITE, L_DATA_IDLE, L_DATA_RATE, L_CMD, L_REPLY };

/* When the connection's current wait times out (and under which rule).
 * These are deadlines, not idle timers that each octet restarts: a client
 * sending one octet a second gains nothing by it.
 *  - A command line must arrive whole within --timeout-cmd of our last
 *    reply (RFC 5321 4.5.3.2.7); the TLS handshake within --timeout-cmd
 *    of the 220.
 *  - Mail data (DATA, or BDAT from the first chunk to the last one's end)
 *    may pause at most --timeout-data between reads (4.5.3.2.5), and must
 *    arrive at --min-data-rate on average: the data phase is due by its
 *    start + --timeout-data (the grace) + octets read / --min-data-rate.
 *  - A reply must be taken by the client within --timeout-write of being
 *    queued; past it, no 421 could reach the client: the sink closes. */
static double conn_deadline(struct conn *c, enum limit *which)
{
    enum limit w;
    double d;
    if (c->tls == TLS_HANDSHAKE) {
        w = L_HANDSHAKE, d = c->hs_since + opt.t_cmd;
    } else if (c->timed_out) {
        w = L_CLOSE, d = c->closing + CLOSE_GRACE;
    } else if (conn_wants_out(c)) {
        if (c->out_since == 0)
            c->out_since = now();
        w = L_WRITE, d = c->out_since + opt.t_write;
    } else if (c->client) { /* after TURN/ATRN: the peer owes a reply */
        w = L_REPLY, d = c->wait_since + opt.t_cmd;
    } else if (c->in_data) {
        w = L_DATA_IDLE, d = (c->last_in > c->data_since ? c->last_in : c->data_since) + opt.t_data;
        if (opt.min_rate > 0) {
            double r = c->data_since + opt.t_data + (double)c->data_in / opt.min_rate;
            if (r < d)
                w = L_DATA_RATE, d = r;
        }
    } else {
        w = L_CMD, d = c->wait_since + opt.t_cmd;
    }
    if (which)
        *which = w;
    return d;
}

static void conn_timeout(struct server *sv, struct conn *c)
{
    enum limit w;
    double t = now();
    conn_deadline(c, &w);
    switch (w) {
    case L_HANDSHAKE: /* no SMTP reply fits in a handshake */
        logf_("smtp-sink: client=%s TLS handshake timeout (--timeout-cmd %g s)", c->peer, opt.t_cmd);
        conn_close(sv, c, "TLS handshake timeout");
        return;
    case L_CLOSE:
    case L_WRITE:
        logf_("smtp-sink: client=%s timeout: the client does not read our reply%s", c->peer,
              w == L_WRITE ? " (--timeout-write)" : "");
        conn_close(sv, c, "timeout (client not reading)");
        return;
    case L_DATA_IDLE:
        logf_("smtp-sink: client=%s timeout: no mail data for %g s (--timeout-data)", c->peer, opt.t_data);
        break;
    case L_DATA_RATE:
        logf_("smtp-sink: client=%s timeout: mail data too slow: %llu octets in %.1f s "
              "(--min-data-rate %g after --timeout-data %g s)",
              c->peer, (unsigned long long)c->data_in, t - c->data_since, opt.min_rate, opt.t_data);
        break;
    case L_CMD:
        logf_("smtp-sink: client=%s timeout: no whole command line within %g s (--timeout-cmd)", c->peer,
              opt.t_cmd);
        break;
    case L_REPLY: /* a sender sends no 421: it just goes */
        logf_("smtp-sink: client=%s timeout: no reply within %g s (--timeout-cmd) after %s", c->peer, opt.t_cmd,
              c->ho->verb);
        ho_abort(sv, c, "timeout");
        return;
    }
    tx_abort(c, "timeout");
    c->timed_out = 1;
    c->closing = t;
    c->what[0] = '\0';
    smtp_shutdown(&c->s, 1, SMTP_BYE_TIMEOUT); /* 421 4.4.2, RFC 5321 4.5.3.2.7 */
    conn_run(sv, c);
}

static void on_signal(int sig)
{
    int e = errno;
    char b = (char)sig;
    ssize_t r;
    got_signal = sig;
    r = write(sig_w, &b, 1);
    (void)r;
    errno = e;
}

static void start_stop(struct server *sv)
{
    size_t i;
    logf_("smtp-sink: signal %d: closing %zu session(s)", (int)got_signal, sv->nconn);
    sv->stopping = 1;
    sv->stop_by = now() + STOP_GRACE;
    if (sv->lfd >= 0) {
        close(sv->lfd);
        sv->lfd = -1;
    }
    for (i = 0; i < sv->nconn; i++) {
        struct conn *c = sv->conn[i];
        if (c->dead)
            continue;
        if (c->tls == TLS_START || c->tls == TLS_HANDSHAKE || c->client) { /* no place for a 421 */
            conn_close(sv, c, "shutdown");
            continue;
        }
        tx_abort(c, "shutdown");
        smtp_shutdown(&c->s, 1, SMTP_BYE_SHUTDOWN);
        conn_run(sv, c);
    }
}

/* One read into an empty input buffer. */
static void conn_read(struct server *sv, struct conn *c)
{
    size_t want = opt.io_size ? opt.io_size : IBUF_SIZE;
    ssize_t n;
#ifndef SMTP_SINK_NO_TLS
    if (c->tls == TLS_ON) {
        tls_read(sv, c, want);
        return;
    }
#endif
    n = read(c->in_fd, c->ibuf, want);
    if (n > 0) {
        c->ioff = 0;
        c->ilen = (size_t)n;
        c->last_in = now();
        if (c->in_data)
            c->data_in += (size_t)n;
    } else if (n == 0) {
        c->eof = 1;
    } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        conn_close(sv, c, "connection lost");
    }
}

static void serve(struct server *sv, int sig_r)
{
    struct pollfd *pfd = NULL;
    size_t pcap = 0;
    int *pin = NULL, *pout = NULL;

    for (;;) {
        size_t i, np = 0, n;
        double t = now(), next = t + 3600.0;
        int ms, r;

        /* drop closed connections */
        for (i = 0, n = 0; i < sv->nconn; i++) {
            if (sv->conn[i]->dead)
                conn_free(sv->conn[i]);
            else
                sv->conn[n++] = sv->conn[i];
        }
        sv->nconn = n;
        if (sv->lfd < 0 && sv->nconn == 0)
            break;
        if (sv->stopping && t >= sv->stop_by) {
            for (i = 0; i < sv->nconn; i++)
                conn_close(sv, sv->conn[i], "shutdown");
            continue;
        }

        if (pcap < sv->nconn * 2 + 2) {
            pcap = sv->nconn * 2 + 16;
            pfd = xrealloc(pfd, pcap * sizeof *pfd);
            pin = xrealloc(pin, pcap * sizeof *pin);
            pout = xrealloc(pout, pcap * sizeof *pout);
        }
        pfd[np].fd = sig_r;
        pfd[np++].events = POLLIN;
        if (sv->lfd >= 0 && t >= sv->lpause) {
            pfd[np].fd = sv->lfd;
            pfd[np++].events = POLLIN;
        } else if (sv->lfd >= 0 && sv->lpause < next) {
            next = sv->lpause;
        }
        for (i = 0; i < sv->nconn; i++) {
            struct conn *c = sv->conn[i];
            int wi, wo;
            short want_in, want_out;
            double d = conn_deadline(c, NULL);
            conn_events(sv, c, &wi, &wo);
            want_in = wi ? POLLIN : 0;
            want_out = wo ? POLLOUT : 0;
            if (d < next)
                next = d;
            pin[i] = pout[i] = -1;
            if (c->in_fd == c->out_fd) {
                pfd[np].fd = c->in_fd;
                pfd[np].events = (short)(want_in | want_out);
                pin[i] = pout[i] = (int)np++;
            } else {
                if (want_in) {
                    pfd[np].fd = c->in_fd;
                    pfd[np].events = POLLIN;
                    pin[i] = (int)np++;
                }
                if (want_out) {
                    pfd[np].fd = c->out_fd;
                    pfd[np].events = POLLOUT;
                    pout[i] = (int)np++;
                }
            }
        }
        if (sv->stopping && sv->stop_by < next)
            next = sv->stop_by;
        ms = next <= t ? 0 : (int)((next - t) * 1000.0) + 1;
        r = poll(pfd, (nfds_t)np, ms);
        if (r < 0 && errno != EINTR) {
            logf_("smtp-sink: poll: %s", strerror(errno));
            sv->exit_code = 1;
            break;
        }
        if (r > 0 && pfd[0].revents) {
            char b[64];
            ssize_t k = read(sig_r, b, sizeof b);
            (void)k;
            if (!sv->stopping)
                start_stop(sv);
        }
        n = sv->nconn; /* connections accepted below are not in pfd */
        if (r > 0 && sv->lfd >= 0 && np > 1 && pfd[1].fd == sv->lfd && pfd[1].revents)
            do_accept(sv);
        for (i = 0; r > 0 && i < n; i++) {
            struct conn *c = sv->conn[i];
            int rin = pin[i] >= 0 ? pfd[pin[i]].revents : 0;
            int rout = pout[i] >= 0 ? pfd[pout[i]].revents : 0;
            if (c->dead || (!rin && !rout))
                continue;
            /* under TLS a read may wait for POLLOUT (rd_out): any event
             * retries it; SSL_read() says again if it must wait */
            if (((rin & (POLLIN | POLLHUP | POLLERR)) || (c->tls == TLS_ON && rout)) &&
                conn_wants_in(sv, c))
                conn_read(sv, c);
            else if (rin & POLLNVAL)
                conn_close(sv, c, "bad descriptor");
            conn_run(sv, c);
        }
        run_work(sv);
        t = now();
        for (i = 0; i < sv->nconn; i++) {
            struct conn *c = sv->conn[i];
            if (!c->dead && t >= conn_deadline(c, NULL))
                conn_timeout(sv, c);
        }
        run_work(sv);
    }
    free(pfd);
    free(pin);
    free(pout);
}

/* ------------------------------------------------------------ setup */

static int open_listener(const char *spec)
{
    char host[256];
    const char *port, *h = spec;
    size_t hl;
    struct addrinfo hints, *res, *ai;
    int fd = -1, e, one = 1;

    if (spec[0] == '[') {
        const char *end = strchr(spec, ']');
        if (!end || end[1] != ':')
            goto bad;
        h = spec + 1;
        hl = (size_t)(end - h);
        port = end + 2;
    } else {
        const char *colon = strrchr(spec, ':');
        if (!colon)
            goto bad;
        hl = (size_t)(colon - spec);
        port = colon + 1;
    }
    if (hl >= sizeof host)
        goto bad;
    memcpy(host, h, hl);
    host[hl] = '\0';
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    e = getaddrinfo(hl ? host : NULL, port, &hints, &res);
    if (e != 0) {
        logf_("smtp-sink: --listen %s: %s", spec, gai_strerror(e));
        return -1;
    }
    for (ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd < 0)
            continue;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 511) == 0)
            break;
        e = errno;
        close(fd);
        fd = -1;
        errno = e;
    }
    if (fd < 0)
        logf_("smtp-sink: cannot listen on %s: %s", spec, strerror(errno));
    freeaddrinfo(res);
    if (fd >= 0) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        char peer[80], lit[80];
        set_nonblock(fd);
        getsockname(fd, (struct sockaddr *)&ss, &sl);
        addr_names((struct sockaddr *)&ss, peer, sizeof peer, lit, sizeof lit);
        logf_("smtp-sink: listening on %s", peer);
    }
    return fd;
bad:
    logf_("smtp-sink: --listen: expected ADDR:PORT, got '%s'", spec);
    return -1;
}

static int make_maildir(const char *dir)
{
    static const char *const sub[] = {"", "/tmp", "/new", "/cur"};
    char path[4096];
    size_t i;
    for (i = 0; i < 4; i++) {
        (void)snprintf(path, sizeof path, "%s%s", dir, sub[i]);
        if (mkdir(path, 0700) != 0 && errno != EEXIST) {
            logf_("smtp-sink: mkdir %s: %s", path, strerror(errno));
            return -1;
        }
    }
    return 0;
}

/* --hold-dir: tmp/ for the files being written, and one directory per
 * --hold domain. */
static int make_holddir(void)
{
    char path[3100];
    size_t i;
    for (i = 0; i < opt.nholds + 2; i++) {
        char *p = i < 2 ? path : opt.holds[i - 2].dir;
        if (i < 2)
            (void)snprintf(path, sizeof path, "%s%s", opt.hold_dir, i ? "/tmp" : "");
        else
            (void)snprintf(p, sizeof opt.holds[0].dir, "%s/%s", opt.hold_dir, opt.holds[i - 2].domain);
        if (mkdir(p, 0700) != 0 && errno != EEXIST) {
            logf_("smtp-sink: mkdir %s: %s", p, strerror(errno));
            return -1;
        }
    }
    return 0;
}

static void usage(FILE *f)
{
    (void)fputs("usage: smtp-sink [--stdio | --listen ADDR:PORT] [options]\n"
          "  --stdio              one session on stdin/stdout (inetd style)\n"
          "  --listen ADDR:PORT   TCP server address (default 127.0.0.1:2525;\n"
          "                       [::1]:2525 for IPv6; port 0 to 65535, 0 picks\n"
          "                       a free one)\n"
          "  --hostname NAME      our name in the greeting and replies (localhost)\n"
          "  --mailbox ADDR       a mailbox that exists (repeatable); with none\n"
          "                       every recipient is accepted, else others get 550\n"
          "  --tls-cert FILE      offer STARTTLS with this PEM certificate (chain)\n"
          "  --tls-key FILE       its PEM private key (default: in --tls-cert)\n"
          "  --require-tls        530 to MAIL and AUTH before STARTTLS\n"
          "  --user NAME:PASSWORD offer AUTH PLAIN and LOGIN (repeatable; alias\n"
          "                       --auth-user).  With --tls-cert, AUTH is offered\n"
          "                       only after STARTTLS.  WITHOUT --tls-cert THE\n"
          "                       PASSWORD CROSSES THE NETWORK IN CLEAR TEXT.\n"
          "                       The command line is wiped at start, but other\n"
          "                       local users may have seen it in ps\n"
          "  --max-auth-fails N   AUTH attempts refused with 535 (wrong name or\n"
          "                       password) allowed in a session; the next one\n"
          "                       gets 421 and ends it (1 to 255, default 3,\n"
          "                       255: no limit)\n"
          "  --max-size BYTES     SIZE limit, 552 beyond it (default 0: no limit)\n"
          "  --maildir DIR        store messages in the Maildir DIR (created; its\n"
          "                       parent must exist); without it messages are\n"
          "                       counted and discarded\n"
          "  --max-conn N         sessions at once, 421 beyond (1 to 10000,\n"
          "                       default 100)\n"
          "Time limits, in seconds (0.01 to 86400); past each, the session gets\n"
          "421 and is closed.  None is restarted by each octet received:\n"
          "  --timeout-cmd SEC    a whole command line (or AUTH step) must arrive\n"
          "                       within SEC of our previous reply or greeting;\n"
          "                       also the time for the TLS handshake after\n"
          "                       STARTTLS's 220 (default 300, RFC 5321 4.5.3.2.7)\n"
          "  --timeout-data SEC   mail data (DATA, or BDAT from the first chunk to\n"
          "                       the last): the longest pause between two reads,\n"
          "                       and the grace before --min-data-rate counts\n"
          "                       (default 180, RFC 5321 4.5.3.2.5)\n"
          "  --min-data-rate B    mail data must come at B octets a second on\n"
          "                       average: the data is due by its start +\n"
          "                       --timeout-data + octets so far / B (0 to\n"
          "                       1000000000, default 500; 0: no rate limit)\n"
          "  --timeout-write SEC  each reply must be taken by the client within\n"
          "                       SEC of being ready; past it the connection is\n"
          "                       closed without 421 (default 300)\n"
          "  --io-size BYTES      read at most this much at once (1 to 16384,\n"
          "                       default 16384; small values test partial reads)\n"
          "Holding mail for a domain and handing it over (TURN, ATRN):\n"
          "  --hold DOMAIN[=USER] keep mail for recipients in DOMAIN (repeatable)\n"
          "                       in --hold-dir instead of the Maildir, until the\n"
          "                       client collects it: with --user, by ATRN after\n"
          "                       AUTH (any user; with =USER only that one), or by\n"
          "                       TURN with --turn.  After the 250 the sink\n"
          "                       delivers it on the same connection; a message\n"
          "                       goes only when the client said 250 to its data\n"
          "  --hold-dir DIR       where held mail is kept (DIR/DOMAIN/, one file\n"
          "                       per message; created, its parent must exist)\n"
          "  --turn               accept TURN (RFC 821) for the domain the client\n"
          "                       named in EHLO/HELO.  RISK: NOTHING PROVES WHO THE\n"
          "                       CLIENT IS: ANYONE WHO CAN CONNECT CAN COLLECT A\n"
          "                       DOMAIN'S MAIL (a DOMAIN=USER hold still needs\n"
          "                       AUTH).  Prefer ATRN\n"
          "  --timeout-cmd also bounds each reply the client owes once it is the\n"
          "  receiver after TURN/ATRN\n",
          f);
#ifdef SMTP_SINK_NO_TLS
    (void)fputs("(built without OpenSSL: no --tls-cert)\n", f);
#endif
}

/* Command-line errors name the option and what it expects. */
static int bad_value(const char *name, const char *expect, const char *got)
{
    (void)fprintf(stderr, "smtp-sink: %s: expected %s, got '%s'\n", name, expect, got);
    return -1;
}

/* v is a decimal integer (digits only) from lo to hi: 0, else -1. */
static int parse_uint(const char *v, uint64_t lo, uint64_t hi, uint64_t *out)
{
    uint64_t x = 0;
    const char *p = v;
    for (; *p >= '0' && *p <= '9'; p++) {
        unsigned d = (unsigned)(*p - '0');
        if (x > (UINT64_MAX - d) / 10)
            return -1;
        x = x * 10 + d;
    }
    if (p == v || *p || x < lo || x > hi)
        return -1;
    *out = x;
    return 0;
}

static int get_uint(const char *name, const char *v, uint64_t lo, uint64_t hi, uint64_t *out)
{
    char expect[96];
    if (parse_uint(v, lo, hi, out) != 0) {
        (void)snprintf(expect, sizeof expect, "an integer from %llu to %llu", (unsigned long long)lo,
                 (unsigned long long)hi);
        return bad_value(name, expect, v);
    }
    return 0;
}

/* v is a number of seconds: digits with at most one '.', from 0.01 to
 * 86400 (no sign, exponent, "inf" or "nan"). */
static int get_seconds(const char *name, const char *v, double *out)
{
    size_t digits = strspn(v, "0123456789."), dots = 0;
    const char *p;
    double x = 0;
    for (p = v; *p; p++)
        dots += *p == '.';
    if (v[0] && !v[digits] && dots <= 1 && digits > dots)
        x = strtod(v, NULL);
    if (!(x >= 0.01 && x <= 86400))
        return bad_value(name, "a number of seconds from 0.01 to 86400", v);
    *out = x;
    return 0;
}

/* --listen: ADDR:PORT or [IPv6]:PORT with a numeric port from 0 to 65535.
 * Only checked here; open_listener() splits it again. */
static int check_listen(const char *v)
{
    const char *port = NULL;
    uint64_t n;
    if (v[0] == '[') {
        const char *end = strchr(v, ']');
        if (end && end[1] == ':')
            port = end + 2;
    } else {
        port = strrchr(v, ':');
        if (port)
            port++;
    }
    if (!port || port - v > 255 || parse_uint(port, 0, 65535, &n) != 0)
        return bad_value("--listen", "ADDR:PORT with a port from 0 to 65535", v);
    return 0;
}

static int parse_args(int argc, char **argv)
{
    int i;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL, *eq = NULL;
        char name[32];
        size_t nl;
        uint64_t n;

        if (strcmp(a, "--stdio") == 0) {
            opt.stdio = 1;
            continue;
        }
        if (strcmp(a, "--require-tls") == 0) {
            opt.require_tls = 1;
            continue;
        }
        if (strcmp(a, "--turn") == 0) {
            opt.turn = 1;
            continue;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            exit(0);
        }
        eq = strncmp(a, "--", 2) == 0 ? strchr(a, '=') : NULL;
        nl = eq ? (size_t)(eq - a) : strlen(a);
        if (strncmp(a, "--", 2) != 0 || nl >= sizeof name) {
            (void)fprintf(stderr, "smtp-sink: unknown option '%s' (smtp-sink --help lists them)\n", a);
            return -1;
        }
        memcpy(name, a, nl);
        name[nl] = '\0';
        if (strcmp(name, "--stdio") == 0 || strcmp(name, "--require-tls") == 0 ||
            strcmp(name, "--turn") == 0 || strcmp(name, "--help") == 0) {
            (void)fprintf(stderr, "smtp-sink: %s takes no value, got '%s'\n", name, a);
            return -1;
        }
        if (eq) {
            v = eq + 1;
        } else if (i + 1 < argc) {
            v = argv[++i];
        } else {
            (void)fprintf(stderr, "smtp-sink: %s: expected a value after it (smtp-sink --help lists the options)\n",
                    name);
            return -1;
        }
        if (strcmp(name, "--listen") == 0) {
            if (check_listen(v) != 0)
                return -1;
            opt.listen = v;
        } else if (strcmp(name, "--hostname") == 0) {
            if (!v[0])
                return bad_value(name, "a host name", v);
            opt.hostname = v;
        } else if (strcmp(name, "--mailbox") == 0) {
            size_t l = strlen(v);
            char *m;
            if (l >= 2 && v[0] == '<' && v[l - 1] == '>')
                v++, l -= 2;
            if (l == 0 || l > SMTP_PATH_MAX)
                return bad_value(name, "a mailbox (local@domain)", argv[i]);
            opt.mailbox = xrealloc((void *)opt.mailbox, (opt.nmailbox + 1) * sizeof *opt.mailbox);
            opt.mailbox[opt.nmailbox++] = m = xrealloc(NULL, l + 1);
            memcpy(m, v, l);
            m[l] = '\0';
        } else if (strcmp(name, "--user") == 0 || strcmp(name, "--auth-user") == 0) {
            const char *colon = strchr(v, ':');
            struct cred *u;
            size_t pl;
            if (!colon || colon == v || (size_t)(colon - v) >= CRED_MAX || !colon[1] ||
                (pl = strlen(colon + 1)) >= CRED_MAX) {
                /* the value is not repeated: it may hold a password */
                (void)fprintf(stderr, "smtp-sink: %s: expected NAME:PASSWORD, each 1 to %d octets\n", name,
                        CRED_MAX - 1);
                return -1;
            }
            opt.users = xrealloc(opt.users, (opt.nusers + 1) * sizeof *opt.users);
            u = &opt.users[opt.nusers++];
            memset(u, 0, sizeof *u);
            u->ulen = (size_t)(colon - v);
            memcpy(u->user, v, u->ulen);
            u->plen = pl;
            memcpy(u->pass, colon + 1, pl);
            wipe((char *)colon + 1, pl); /* out of ps and /proc/PID/cmdline */
        } else if (strcmp(name, "--hold") == 0) {
            const char *at = strchr(v, '=');
            size_t dl = at ? (size_t)(at - v) : strlen(v), j;
            struct hold *h;
            if (dl == 0 || dl > SMTP_DOMAIN_MAX || smtp_parse_domain(v, dl, 0) != SMTP_OK ||
                (at && (!at[1] || strlen(at + 1) >= CRED_MAX)))
                return bad_value(name, "DOMAIN or DOMAIN=USER (a domain name, no address literal)", v);
            opt.holds = xrealloc(opt.holds, (opt.nholds + 1) * sizeof *opt.holds);
            h = &opt.holds[opt.nholds];
            memset(h, 0, sizeof *h);
            for (j = 0; j < dl; j++)
                h->domain[j] = (char)lower((unsigned char)v[j]);
            for (j = 0; j < opt.nholds; j++)
                if (strcmp(opt.holds[j].domain, h->domain) == 0)
                    return bad_value(name, "each domain once", v);
            if (at) {
                size_t ul = strlen(at + 1) + 1;
                h->user = xrealloc(NULL, ul);
                memcpy(h->user, at + 1, ul);
            }
            opt.nholds++;
        } else if (strcmp(name, "--hold-dir") == 0) {
            if (!v[0] || strlen(v) > 3000) /* paths in 4096-octet buffers are never cut */
                return bad_value(name, "a directory of at most 3000 octets", v);
            opt.hold_dir = v;
        } else if (strcmp(name, "--tls-cert") == 0) {
            opt.tls_cert = v;
        } else if (strcmp(name, "--tls-key") == 0) {
            opt.tls_key = v;
        } else if (strcmp(name, "--io-size") == 0) {
            if (get_uint(name, v, 1, IBUF_SIZE, &n) != 0)
                return -1;
            opt.io_size = (size_t)n;
        } else if (strcmp(name, "--max-size") == 0) {
            if (get_uint(name, v, 0, UINT64_MAX, &opt.max_size) != 0)
                return -1;
        } else if (strcmp(name, "--maildir") == 0) {
            if (!v[0] || strlen(v) > 3000) /* Maildir paths (4096-octet buffers) are never cut */
                return bad_value(name, "a directory of at most 3000 octets", v);
            opt.maildir = v;
        } else if (strcmp(name, "--max-conn") == 0) {
            if (get_uint(name, v, 1, 10000, &n) != 0)
                return -1;
            opt.max_conn = (unsigned)n;
        } else if (strcmp(name, "--max-auth-fails") == 0) {
            if (get_uint(name, v, 1, 255, &n) != 0)
                return -1;
            opt.max_auth_fails = (unsigned)n;
        } else if (strcmp(name, "--min-data-rate") == 0) {
            if (get_uint(name, v, 0, 1000000000, &n) != 0)
                return -1;
            opt.min_rate = (double)n;
        } else if (strcmp(name, "--timeout-cmd") == 0) {
            if (get_seconds(name, v, &opt.t_cmd) != 0)
                return -1;
        } else if (strcmp(name, "--timeout-data") == 0) {
            if (get_seconds(name, v, &opt.t_data) != 0)
                return -1;
        } else if (strcmp(name, "--timeout-write") == 0) {
            if (get_seconds(name, v, &opt.t_write) != 0)
                return -1;
        } else {
            (void)fprintf(stderr, "smtp-sink: unknown option '%s' (smtp-sink --help lists them)\n", name);
            return -1;
        }
    }
    if (opt.tls_key && !opt.tls_cert) {
        (void)fprintf(stderr, "smtp-sink: --tls-key needs --tls-cert\n");
        return -1;
    }
    if (opt.require_tls && !opt.tls_cert) {
        (void)fprintf(stderr, "smtp-sink: --require-tls needs --tls-cert\n");
        return -1;
    }
    if (opt.nholds && !opt.hold_dir) {
        (void)fprintf(stderr, "smtp-sink: --hold needs --hold-dir\n");
        return -1;
    }
    if ((opt.hold_dir || opt.turn) && !opt.nholds) {
        (void)fprintf(stderr, "smtp-sink: %s needs --hold\n", opt.turn ? "--turn" : "--hold-dir");
        return -1;
    }
    for (i = 0; i < (int)opt.nholds; i++) {
        size_t u;
        const struct hold *h = &opt.holds[i];
        for (u = 0; h->user && u < opt.nusers; u++)
            if (strlen(h->user) == opt.users[u].ulen && memcmp(h->user, opt.users[u].user, opt.users[u].ulen) == 0)
                break;
        if (h->user && u == opt.nusers) {
            (void)fprintf(stderr, "smtp-sink: --hold %s=%s: no --user named '%s'\n", h->domain, h->user, h->user);
            return -1;
        }
    }
#ifdef SMTP_SINK_NO_TLS
    if (opt.tls_cert) {
        (void)fprintf(stderr, "smtp-sink: built without OpenSSL: --tls-cert is not available\n");
        return -1;
    }
#endif
    return 0;
}

int main(int argc, char **argv)
{
    struct server sv;
    struct sigaction sa;
    int sp[2];
    size_t i;

    if (parse_args(argc, argv) != 0)
        return 2;
    memset(&sv, 0, sizeof sv);
    sv.lfd = -1;
    smtp_config_default(&sv.cfg);
    /* Every extension the core has: CHUNKING and BINARYMIME (BDAT data
     * arrives as EV_BODY like DATA's) and DSN (the parameters are accepted
     * and logged; a sink sends no reports); STARTTLS with a certificate;
     * AUTH with users, after STARTTLS when there is a certificate. */
    sv.cfg.extensions |= SMTP_EXT_CHUNKING | SMTP_EXT_BINARYMIME | SMTP_EXT_DSN;
#ifndef SMTP_SINK_NO_TLS
    if (opt.tls_cert) {
        if (tls_setup() != 0)
            return 2;
        sv.cfg.extensions |= SMTP_EXT_STARTTLS;
        if (opt.require_tls)
            sv.cfg.options |= SMTP_OPT_REQUIRE_TLS;
    }
#endif
    if (opt.nusers) {
        sv.cfg.extensions |= SMTP_EXT_AUTH;
        if (!opt.tls_cert) {
            sv.cfg.options |= SMTP_OPT_AUTH_PLAINTEXT;
            logf_("smtp-sink: warning: AUTH without --tls-cert: passwords cross the network in clear text");
        }
    }
    /* TURN (--turn) and ATRN (with AUTH) hand over the mail held for a
     * domain; ATRN is offered only when there is AUTH to go with it */
    if (opt.turn)
        sv.cfg.options |= SMTP_OPT_TURN;
    if (opt.nholds && opt.nusers)
        sv.cfg.extensions |= SMTP_EXT_ATRN;
    sv.cfg.hostname = opt.hostname;
    sv.cfg.max_size = opt.max_size;
    sv.cfg.max_auth_fails = (uint8_t)opt.max_auth_fails; /* 0: the core's default */
    if (gethostname(sv.host, sizeof sv.host - 1) != 0 || !sv.host[0])
        strcpy(sv.host, "localhost");
    for (i = 0; sv.host[i]; i++) /* '/' and ':' may not be in Maildir names */
        if (sv.host[i] == '/' || sv.host[i] == ':')
            sv.host[i] = '_';
    if (opt.maildir && make_maildir(opt.maildir) != 0)
        return 2;
    if (opt.maildir)
        (void)snprintf(maildir_new, sizeof maildir_new, "%s/new", opt.maildir);
    if (opt.nholds && make_holddir() != 0)
        return 2;

    if (pipe(sp) != 0)
        return 1;
    set_nonblock(sp[0]);
    set_nonblock(sp[1]);
    sig_w = sp[1];
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);

    if (opt.stdio) {
        struct conn *c = conn_new(&sv, 0, 1, 1);
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        /* inetd hands us a socket: name the peer in the log and Received: */
        if (getpeername(0, (struct sockaddr *)&ss, &sl) == 0)
            addr_names((struct sockaddr *)&ss, c->peer, sizeof c->peer, c->lit, sizeof c->lit);
        else
            strcpy(c->peer, "stdin");
        conn_run(&sv, c);
    } else {
        sv.lfd = open_listener(opt.listen);
        if (sv.lfd < 0)
            return 2;
    }
    serve(&sv, sp[0]);

    for (i = 0; i < sv.nconn; i++)
        conn_free(sv.conn[i]);
    free(sv.conn);
    free(sv.work);
    for (i = 0; i < opt.nmailbox; i++)
        free((void *)opt.mailbox[i]);
    free((void *)opt.mailbox);
    for (i = 0; i < opt.nholds; i++)
        free(opt.holds[i].user);
    free(opt.holds);
    if (opt.users)
        wipe(opt.users, opt.nusers * sizeof *opt.users);
    free(opt.users);
#ifndef SMTP_SINK_NO_TLS
    SSL_CTX_free(tls_ctx);
#endif
    close(sp[0]);
    close(sp[1]);
    if (sv.stopping)
        logf_("smtp-sink: stopped");
    return sv.exit_code;
}
