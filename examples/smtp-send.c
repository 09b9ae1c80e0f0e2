/*
 * smtp-send - a small sendmail-style SMTP client built on smtp.c's sender
 * role, the counterpart of smtp-sink.
 *
 *   smtp-send --server HOST:PORT --from ADDR --to ADDR [--to ADDR ...] [options] <message
 *
 * `smtp-send --help` lists the options and the exit statuses.  The message
 * (headers and body, as a file with LF or CRLF line ends) comes on stdin or
 * from --file; one line per recipient on stdout says what became of it.
 *
 * How it uses the core (smtp.h, "The sender (client) role"):
 *  - One connection, one `struct smtp_client`, a non-blocking socket and
 *    poll() for every wait, each under a deadline (RFC 5321 4.5.3.2):
 *    --timeout-cmd for each reply, --timeout-data for each write of mail
 *    data, --timeout-end for the verdict after the end of the data.
 *  - The program pushes what the core lets it push (MAIL, the RCPTs, DATA,
 *    body octets); SMTP_ERR_BUSY means "send the output and read a reply
 *    first".  With PIPELINING the envelope goes in one write; with CHUNKING
 *    the body goes by BDAT; SMTPUTF8 is asked for when an address needs it.
 *  - The message is streamed: read in blocks from a file (stdin that is
 *    not a file is first copied to an unlinked temporary file, so that a
 *    second transaction can send it again), its LF line ends made CRLF
 *    here so that each smtp_client_body() call carries a whole block (the
 *    core would also do it, but one BDAT chunk per line), handed to the
 *    core, which dot-stuffs it for DATA.  It is never whole in memory.
 *  - Every recipient gets an answer: a 452 "too many recipients" (or the
 *    server's LIMITS RCPTMAX) sends the rest in another transaction.
 *  - STARTTLS (--starttls, required: no offer or a 454 ends the session)
 *    and implicit TLS (--tls) through OpenSSL, with the certificate checked
 *    against the system's CAs or --cacert and the server's name.
 *  - AUTH PLAIN or LOGIN with --user and a password from --password-file or
 *    $SMTP_PASSWORD (never from the command line), XOAUTH2 or OAUTHBEARER
 *    with --xoauth2-token-file.
 *
 * The network part (struct net) knows nothing of the session on top of it:
 * --turn and --atrn DOMAIN turn the connection around (RFC 821 TURN, RFC
 * 2645 ATRN): after the server's 250 a receiver (struct smtp_session) runs
 * over the same struct net, fed first with what the sender did not read,
 * and stores every message the server hands over in --maildir.
 *
 * MIT licensed, see LICENSE.
 */
#define _POSIX_C_SOURCE 200809L /* NOLINT(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp): POSIX feature-test macro */

#include "smtp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* Build with -DSMTP_SEND_NO_TLS where OpenSSL's headers are missing: then
 * --starttls, --tls and --cacert are refused. */
#ifndef SMTP_SEND_NO_TLS
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#endif

/* sysexits.h values (BSD), spelt out: not every libc has the header. */
enum {
    EX_OK_ = 0,
    EX_USAGE_ = 64,       /* a bad option or address on the command line */
    EX_DATAERR_ = 65,     /* the server refused the message itself */
    EX_NOINPUT_ = 66,     /* --file cannot be opened */
    EX_NOUSER_ = 67,      /* the server refused a recipient */
    EX_UNAVAILABLE_ = 69, /* the server refused the session or the sender */
    EX_SOFTWARE_ = 70,    /* a bug here */
    EX_OSERR_ = 71,       /* no memory, no temporary file */
    EX_IOERR_ = 74,       /* reading the message failed */
    EX_TEMPFAIL_ = 75,    /* temporary: try again later */
    EX_PROTOCOL_ = 76,    /* the server broke the protocol */
    EX_NOPERM_ = 77       /* AUTH refused */
};

#define RAW_SIZE 65536       /* octets of the message read at once */
#define OBUF_SIZE 65536      /* commands and body gathered into one write */
#define IBUF_SIZE 16384      /* the server's replies read at once */
#define SECRET_MAX 16384     /* longest password or token */
#define TEXT_MAX 600         /* a reply kept for the report */

/* ------------------------------------------------------------ settings */

static struct {
    const char *server, *from, *file, *helo;
    const char **to;
    size_t nto;
    int starttls, tls, insecure, verbose, no_pipelining, no_chunking, eightbit, plain_auth;
    const char *cacert, *tls_name;
    const char *user, *password_file, *token_file;
    double t_cmd, t_data, t_end;
    int turn;                 /* --turn: ask for our mail with TURN */
    const char *atrn;         /* --atrn DOMAIN[,DOMAIN]: with ATRN ("" for all) */
    const char *maildir;      /* where the mail handed over is stored */
} opt = {NULL, NULL, NULL, "localhost", NULL, 0, 0, 0, 0, 0, 0, 0, 0, 0,
         NULL, NULL, NULL, NULL, NULL, 300.0, 180.0, 600.0, 0, NULL, NULL};

/* ------------------------------------------------------------ helpers */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* snprintf() into a fixed buffer, cut to fit (a cut message is fine). */
static void fmt(char *dst, size_t cap, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    if (vsnprintf(dst, cap, f, ap) < 0)
        dst[0] = '\0';
    va_end(ap);
}

static void die_oom(void)
{
    (void)fputs("smtp-send: out of memory\n", stderr);
    exit(EX_OSERR_);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        die_oom();
    return p;
}

/* Overwrites n octets at p in a way the compiler may not drop. */
static void wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;
    while (n--)
        *v++ = 0;
}

/* -v: the dialogue on stderr, "S: " for the server, "C: " for us. */
static void trace(const char *who, const char *p, size_t n)
{
    while (n) {
        const char *e = memchr(p, '\n', n);
        size_t l = e ? (size_t)(e - p) + 1 : n, k = l;
        if (k && p[k - 1] == '\n')
            k--;
        if (k && p[k - 1] == '\r')
            k--;
        (void)fprintf(stderr, "smtp-send: %s%.*s\n", who, (int)k, p);
        p += l, n -= l;
    }
}

/* ------------------------------------------------------------ the network
 *
 * One non-blocking socket, plain or TLS; every call waits with poll() at
 * most until its deadline.  Results: > 0 octets, 0 end of input, NET_ERR
 * (net.why says what), NET_TIMEOUT. */

#define NET_ERR (-1)
#define NET_TIMEOUT (-2)

struct net {
    int fd;
#ifndef SMTP_SEND_NO_TLS
    SSL *ssl;
#endif
    int tls_on;
    char why[256];
    char tls_info[128];
};

#ifndef SMTP_SEND_NO_TLS
static SSL_CTX *tls_ctx;

static void tls_why(struct net *n, const char *what, int ssl_err)
{
    unsigned long e;
    size_t len;
    fmt(n->why, sizeof n->why, "%s: ", what);
    len = strlen(n->why);
    if ((e = ERR_get_error()) != 0)
        ERR_error_string_n(e, n->why + len, sizeof n->why - len);
    else
        fmt(n->why + len, sizeof n->why - len, "%s",
                       ssl_err == SSL_ERROR_SYSCALL && errno ? strerror(errno)
                       : ssl_err == SSL_ERROR_ZERO_RETURN || ssl_err == SSL_ERROR_SYSCALL
                           ? "the server closed the connection"
                           : "failed");
    ERR_clear_error();
}
#endif

/* Waits until fd is readable (out 0) or writable (out 1), or the deadline. */
static int net_wait(struct net *n, int out, double deadline)
{
    for (;;) {
        struct pollfd p;
        double left = deadline - now();
        int r;
        if (left <= 0)
            return NET_TIMEOUT;
        p.fd = n->fd;
        p.events = out ? POLLOUT : POLLIN;
        p.revents = 0;
        r = poll(&p, 1, (int)(left * 1000.0) + 1);
        if (r > 0)
            return 0;
        if (r < 0 && errno != EINTR) {
            fmt(n->why, sizeof n->why, "poll: %s", strerror(errno));
            return NET_ERR;
        }
    }
}

/* Connects to HOST:PORT (each address getaddrinfo() gives, in turn). */
static int net_connect(struct net *n, const char *host, const char *port, double deadline)
{
    struct addrinfo hints, *res, *ai;
    int e;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    e = getaddrinfo(host, port, &hints, &res);
    if (e != 0) {
        fmt(n->why, sizeof n->why, "%s: %s", host, gai_strerror(e));
        return NET_ERR;
    }
    n->fd = -1;
    for (ai = res; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol), err = 0, w;
        socklen_t el = sizeof err;
        if (fd < 0)
            continue;
        (void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        n->fd = fd;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
            int in_progress = errno == EINPROGRESS;
            if (in_progress && (w = net_wait(n, 1, deadline)) != 0) {
                close(fd);
                n->fd = -1;
                freeaddrinfo(res);
                if (w == NET_TIMEOUT)
                    fmt(n->why, sizeof n->why, "connect: timed out");
                return w;
            }
            if (!in_progress || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0)
                err = errno;
        }
        if (err == 0)
            break;
        fmt(n->why, sizeof n->why, "connect: %s", strerror(err));
        close(fd);
        n->fd = -1;
    }
    freeaddrinfo(res);
    return n->fd < 0 ? NET_ERR : 0;
}

#ifndef SMTP_SEND_NO_TLS
/* The TLS handshake as a client, checking the certificate against
 * --tls-name (default: the --server host) unless --insecure-skip-verify. */
static int net_tls(struct net *n, const char *name, double deadline)
{
    struct in6_addr a6;
    struct in_addr a4;
    int is_ip = inet_pton(AF_INET, name, &a4) == 1 || inet_pton(AF_INET6, name, &a6) == 1;
    int bits = 0;

    ERR_clear_error();
    n->ssl = SSL_new(tls_ctx);
    if (!n->ssl || SSL_set_fd(n->ssl, n->fd) != 1) {
        tls_why(n, "TLS", 0);
        return NET_ERR;
    }
    if (!opt.insecure) {
        X509_VERIFY_PARAM *vp = SSL_get0_param(n->ssl);
        if (is_ip ? X509_VERIFY_PARAM_set1_ip_asc(vp, name) != 1 : SSL_set1_host(n->ssl, name) != 1) {
            tls_why(n, "TLS name", 0);
            return NET_ERR;
        }
    }
    if (!is_ip)
        (void)SSL_set_tlsext_host_name(n->ssl, name); /* SNI */
    for (;;) {
        int r, e, w;
        errno = 0;
        r = SSL_connect(n->ssl);
        if (r == 1)
            break;
        e = SSL_get_error(n->ssl, r);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
            long v = SSL_get_verify_result(n->ssl);
            if (v != X509_V_OK) {
                fmt(n->why, sizeof n->why, "TLS: certificate verification failed: %s",
                               X509_verify_cert_error_string(v));
                ERR_clear_error();
            } else {
                tls_why(n, "TLS handshake", e);
            }
            return NET_ERR;
        }
        if ((w = net_wait(n, e == SSL_ERROR_WANT_WRITE, deadline)) != 0) {
            if (w == NET_TIMEOUT)
                fmt(n->why, sizeof n->why, "TLS handshake: timed out");
            return w;
        }
    }
    n->tls_on = 1;
    SSL_get_cipher_bits(n->ssl, &bits);
    fmt(n->tls_info, sizeof n->tls_info, "%s with cipher %s (%d bits)%s", SSL_get_version(n->ssl),
                   SSL_get_cipher_name(n->ssl), bits, opt.insecure ? ", certificate NOT verified" : "");
    return 0;
}
#endif

static int net_read(struct net *n, char *buf, size_t cap, double deadline)
{
    for (;;) {
        ssize_t r;
        int w, out = 0;
#ifndef SMTP_SEND_NO_TLS
        if (n->tls_on) {
            int k, e;
            ERR_clear_error();
            errno = 0;
            k = SSL_read(n->ssl, buf, (int)(cap > INT32_MAX ? INT32_MAX : cap));
            if (k > 0)
                return k;
            e = SSL_get_error(n->ssl, k);
            if (e == SSL_ERROR_ZERO_RETURN)
                return 0;
            if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
                if (e == SSL_ERROR_SYSCALL && errno == 0 && ERR_peek_error() == 0)
                    return 0; /* closed without close_notify */
                tls_why(n, "TLS read", e);
                return NET_ERR;
            }
            out = e == SSL_ERROR_WANT_WRITE;
            if ((w = net_wait(n, out, deadline)) != 0)
                return w;
            continue;
        }
#endif
        r = read(n->fd, buf, cap);
        if (r >= 0)
            return (int)r;
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            fmt(n->why, sizeof n->why, "read: %s", strerror(errno));
            return NET_ERR;
        }
        if ((w = net_wait(n, out, deadline)) != 0)
            return w;
    }
}

/* Writes all of p[0..len): 1, NET_ERR or NET_TIMEOUT. */
static int net_write(struct net *n, const char *p, size_t len, double deadline)
{
    while (len) {
        ssize_t r;
        int w, out = 1;
#ifndef SMTP_SEND_NO_TLS
        if (n->tls_on) {
            int k, e;
            ERR_clear_error();
            errno = 0;
            k = SSL_write(n->ssl, p, (int)(len > 1u << 30 ? 1u << 30 : len));
            if (k > 0) {
                p += k, len -= (size_t)k;
                continue;
            }
            e = SSL_get_error(n->ssl, k);
            if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
                tls_why(n, "TLS write", e);
                return NET_ERR;
            }
            out = e == SSL_ERROR_WANT_WRITE;
            if ((w = net_wait(n, out, deadline)) != 0)
                return w;
            continue;
        }
#endif
        r = write(n->fd, p, len);
        if (r > 0) {
            p += r, len -= (size_t)r;
            continue;
        }
        if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            fmt(n->why, sizeof n->why, "write: %s", strerror(errno));
            return NET_ERR;
        }
        if ((w = net_wait(n, out, deadline)) != 0)
            return w;
    }
    return 1;
}

static void net_close(struct net *n)
{
#ifndef SMTP_SEND_NO_TLS
    if (n->ssl) {
        if (n->tls_on) {
            ERR_clear_error();
            (void)SSL_shutdown(n->ssl); /* close_notify, best effort */
        }
        SSL_free(n->ssl);
        n->ssl = NULL;
        ERR_clear_error();
    }
#endif
    if (n->fd >= 0)
        close(n->fd);
    n->fd = -1;
}

/* ------------------------------------------------------------ the message */

/* The message file, read block by block; its LF line ends become CRLF
 * (a CR already before the LF, maybe at the end of the previous block, is
 * kept), and a last line without one gets it: the same octets arrive over
 * DATA, whose end forces that CRLF, and over BDAT, which adds nothing.
 * src_rewind() starts it again for another transaction. */
struct src {
    int fd;
    char raw[RAW_SIZE];
    char buf[2 * RAW_SIZE];
    size_t off, len;
    int eof, prev_cr, last, ended; /* last: the last octet given, -1 none */
    uint64_t size; /* octets as sent (CRLF line ends, no dot-stuffing) */
};

static size_t crlf(struct src *s, const char *p, size_t n, char *out)
{
    size_t i, k = 0;
    for (i = 0; i < n; i++) {
        if (p[i] == '\n' && !s->prev_cr)
            out[k++] = '\r';
        out[k++] = p[i];
        s->prev_cr = p[i] == '\r';
    }
    return k;
}

/* Refills an empty buffer: 1 octets, 0 end, -1 error (errno). */
static int src_fill(struct src *s)
{
    ssize_t r;
    if (s->off < s->len)
        return 1;
    if (s->ended)
        return 0;
    do
        r = s->eof ? 0 : read(s->fd, s->raw, sizeof s->raw);
    while (r < 0 && errno == EINTR);
    if (r < 0)
        return -1;
    s->off = 0;
    if (r == 0) {
        s->eof = s->ended = 1;
        if (s->last < 0 || s->last == '\n')
            return 0;
        s->len = 0;
        if (s->last != '\r') /* a CR alone just gets its LF */
            s->buf[s->len++] = '\r';
        s->buf[s->len++] = '\n';
        s->last = '\n';
        return 1;
    }
    s->len = crlf(s, s->raw, (size_t)r, s->buf);
    s->last = (unsigned char)s->buf[s->len - 1];
    return 1;
}

static int src_rewind(struct src *s)
{
    s->off = s->len = 0;
    s->eof = s->prev_cr = s->ended = 0;
    s->last = -1;
    return lseek(s->fd, 0, SEEK_SET) == 0 ? 0 : -1;
}

/* Opens the message: --file, or stdin, copied to an unlinked temporary
 * file unless it is a regular file, and measures it as it will be sent.
 * Returns 0 or an exit status. */
static int src_open(struct src *s)
{
    struct stat st;
    uint64_t total = 0;
    int r;
    s->fd = 0;
    if (opt.file && (s->fd = open(opt.file, O_RDONLY)) < 0) {
        (void)fprintf(stderr, "smtp-send: --file %s: %s\n", opt.file, strerror(errno));
        return EX_NOINPUT_;
    }
    if (fstat(s->fd, &st) != 0 || !S_ISREG(st.st_mode) || lseek(s->fd, 0, SEEK_CUR) != 0) {
        const char *dir = getenv("TMPDIR");
        char path[4096];
        int t;
        fmt(path, sizeof path, "%s/smtp-send.XXXXXX", dir && dir[0] ? dir : "/tmp");
        t = mkstemp(path);
        if (t < 0) {
            (void)fprintf(stderr, "smtp-send: cannot create a temporary file in %s: %s\n",
                          dir && dir[0] ? dir : "/tmp", strerror(errno));
            return EX_OSERR_;
        }
        unlink(path);
        for (;;) {
            ssize_t n = read(s->fd, s->raw, sizeof s->raw), w = 0;
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0) {
                (void)fprintf(stderr, "smtp-send: reading the message: %s\n", strerror(errno));
                return EX_IOERR_;
            }
            if (n == 0)
                break;
            while (w < n) {
                ssize_t k = write(t, s->raw + w, (size_t)(n - w));
                if (k < 0 && errno == EINTR)
                    continue;
                if (k < 0) {
                    (void)fprintf(stderr, "smtp-send: writing the temporary file: %s\n", strerror(errno));
                    return EX_OSERR_;
                }
                w += k;
            }
        }
        if (s->fd != 0)
            close(s->fd);
        s->fd = t;
    }
    if (src_rewind(s) != 0)
        goto ioerr;
    while ((r = src_fill(s)) > 0) {
        total += s->len;
        s->off = s->len;
    }
    if (r < 0)
        goto ioerr;
    s->size = total;
    if (src_rewind(s) != 0)
        goto ioerr;
    return 0;
ioerr:
    (void)fprintf(stderr, "smtp-send: reading the message: %s\n", strerror(errno));
    return EX_IOERR_;
}

/* ------------------------------------------------------------ recipients */

enum rstate { R_PENDING, R_QUEUED, R_ACCEPTED, R_SENT, R_TEMP, R_PERM };

struct rcpt {
    const char *addr;
    int utf8;           /* an octet above 127: needs SMTPUTF8 */
    enum rstate state;
    int ex;             /* the exit status its outcome maps to */
    char stage[16];     /* what was refused: MAIL, RCPT, DATA... */
    char text[TEXT_MAX]; /* the reply (or our reason) */
};

/* The transaction being run. */
enum tphase { TX_START, TX_RCPT, TX_DATA, TX_BODY, TX_WAIT, TX_FINISH };

struct tx {
    enum tphase phase;
    size_t *map;            /* map[k]: the recipient of this transaction's k-th RCPT */
    size_t nq, replies;     /* RCPTs queued, replies to them read */
    size_t accepted, final, later;
    int mail_failed, bdat;
    char later_text[TEXT_MAX]; /* the last 452 */
};

/* Where the session is, above the core. */
enum phase { P_GREET, P_AUTH, P_AUTH_WAIT, P_TX, P_TURN, P_TURN_WAIT, P_QUIT, P_QUIT_WAIT, P_DONE };

struct run {
    struct smtp_client c;
    struct net n;
    const char *host;        /* --server's host: the name TLS checks */
    struct src *src;
    struct rcpt *r;
    size_t nr;
    int from_utf8;
    struct tx tx;
    enum phase phase;
    int mech;
    char *secret;            /* password or token, wiped after AUTH */
    size_t secret_len;
    char obuf[OBUF_SIZE];    /* output gathered for one write */
    size_t olen;
    char ibuf[IBUF_SIZE];
    size_t ioff, ilen;
    char waiting[16];        /* the last command sent, for timeouts */
    double since;            /* when the wait for the next reply started */
    int in_body;             /* body octets go out: --timeout-data */
    int fatal;               /* the exit status of a local failure, or 0 */
    int turned;              /* TURN/ATRN got 250: the server sends to us now */
    int turn_ex;             /* --turn/--atrn: the exit status so far */
};

/* "code c.s.d text", the lines joined by blanks. */
static void reply_str(const struct smtp_creply *rp, char *out, size_t cap)
{
    size_t k = 0, i;
    if (rp->cls)
        k = (size_t)snprintf(out, cap, "%u %u.%u.%u ", rp->code, rp->cls, rp->subject, rp->detail);
    else
        k = (size_t)snprintf(out, cap, "%u ", rp->code);
    for (i = 0; i < rp->text.len && k + 1 < cap; i++) {
        char ch = rp->text.ptr[i];
        if (ch == '\n') /* lines joined by a blank */
            ch = ' ';
        out[k++] = ch;
    }
    out[k < cap ? k : cap - 1] = '\0';
}

static void set_outcome(struct rcpt *r, enum rstate st, int ex, const char *stage, const char *text)
{
    r->state = st;
    r->ex = ex;
    fmt(r->stage, sizeof r->stage, "%s", stage);
    fmt(r->text, sizeof r->text, "%s", text);
}

/* Every recipient without an outcome yet gets this one. */
static void fail_rest(struct run *R, enum rstate st, int ex, const char *stage, const char *text)
{
    size_t i;
    for (i = 0; i < R->nr; i++)
        if (R->r[i].state < R_SENT)
            set_outcome(&R->r[i], st, ex, stage, text);
}

/* A refusal by its class: 4yz temporary, 5yz permanent with ex. */
static void fail_reply(struct rcpt *r, const struct smtp_creply *rp, int ex, const char *stage)
{
    char t[TEXT_MAX];
    reply_str(rp, t, sizeof t);
    set_outcome(r, rp->code / 100 == 4 ? R_TEMP : R_PERM, rp->code / 100 == 4 ? EX_TEMPFAIL_ : ex, stage, t);
}

static void fail_rest_reply(struct run *R, const struct smtp_creply *rp, int ex, const char *stage)
{
    size_t i;
    for (i = 0; i < R->nr; i++)
        if (R->r[i].state < R_SENT)
            fail_reply(&R->r[i], rp, ex, stage);
}

/* ------------------------------------------------------------ output */

static int flush_out(struct run *R)
{
    int w;
    if (!R->olen)
        return 1;
    w = net_write(&R->n, R->obuf, R->olen, now() + (R->in_body ? opt.t_data : opt.t_cmd));
    R->olen = 0;
    R->since = now(); /* a reply may be awaited from now on */
    return w;
}

/* R->waiting: the last command in p[0..n), for the messages. */
static void note_waiting(struct run *R, const char *p, size_t n)
{
    const char *end = p + n;
    while (p < end) {
        const char *e = memchr(p, '\n', (size_t)(end - p));
        size_t l = e ? (size_t)(e - p) : (size_t)(end - p), k = strcspn(p, " \r");
        if (l >= 5 && strncmp(p, "BDAT ", 5) == 0) { /* chunk octets may follow */
            fmt(R->waiting, sizeof R->waiting, "%s",
                           l >= 5 && memchr(p, 'L', l) ? "BDAT LAST" : "BDAT");
            return;
        }
        if (l >= 1 && p[0] == '.' && (l == 1 || p[1] == '\r'))
            fmt(R->waiting, sizeof R->waiting, "end of data");
        else if (k && k < l)
            fmt(R->waiting, sizeof R->waiting, "%.*s", (int)(k < 12 ? k : 12), p);
        else if (l > 1)
            fmt(R->waiting, sizeof R->waiting, "%.*s", (int)(l - 1 < 12 ? l - 1 : 12), p);
        p += e ? l + 1 : l;
    }
}

/* Moves what the core has to send into obuf (written when full, or at
 * once for a long body run): 1, or NET_ERR/NET_TIMEOUT. */
static int drain(struct run *R)
{
    for (;;) {
        size_t len;
        const char *o = smtp_client_output(&R->c, &len);
        uintptr_t a = (uintptr_t)o, lo = (uintptr_t)&R->c, hi = (uintptr_t)(&R->c + 1);
        int w, bdat;
        if (!o)
            return 1;
        bdat = len > 5 && memcmp(o, "BDAT ", 5) == 0;
        if (a >= lo && a < hi) { /* commands (the body runs are in src) */
            if (R->phase == P_AUTH_WAIT) {
                if (opt.verbose)
                    (void)fprintf(stderr, "smtp-send: C: (AUTH: %zu octets not shown)\n", len);
                fmt(R->waiting, sizeof R->waiting, "AUTH");
            } else if (!R->in_body || bdat) {
                /* a command, or a chunk header (its octets may follow);
                 * in the body over DATA, the stuffing dot: data */
                const char *nl = bdat ? memchr(o, '\n', len) : NULL;
                size_t show = nl ? (size_t)(nl - o) + 1 : len;
                if (opt.verbose)
                    trace("C: ", o, show);
                note_waiting(R, o, show);
            }
        } else if (len >= OBUF_SIZE / 2) { /* a long body run: written in place */
            if ((w = flush_out(R)) != 1)
                return w;
            if ((w = net_write(&R->n, o, len, now() + opt.t_data)) != 1)
                return w;
            smtp_client_output_done(&R->c, len);
            continue;
        }
        if (len > sizeof R->obuf - R->olen)
            len = sizeof R->obuf - R->olen;
        memcpy(R->obuf + R->olen, o, len);
        R->olen += len;
        smtp_client_output_done(&R->c, len);
        if (R->olen == sizeof R->obuf && (w = flush_out(R)) != 1)
            return w;
    }
}

/* ------------------------------------------------------------ the session */

static const char *err_name(int r) { return smtp_err_desc(r); }

/* Starts a transaction for the recipients without an outcome.  Returns
 * 1 when MAIL was queued, 0 when it must wait, -1 when there is none to
 * start (everybody has an outcome). */
static int tx_start(struct run *R)
{
    struct smtp_mail_opts mo;
    size_t i, left = 0;
    int need_utf8 = R->from_utf8, r;
    uint32_t ext = R->c.caps.ext;

    for (i = 0; i < R->nr; i++)
        if (R->r[i].state == R_PENDING) {
            left++;
            need_utf8 |= R->r[i].utf8;
        }
    if (!left)
        return -1;
    if (need_utf8 && !(ext & SMTP_EXT_SMTPUTF8)) { /* RFC 6531 3.2: not without it */
        for (i = 0; i < R->nr; i++)
            if (R->r[i].state == R_PENDING && (R->r[i].utf8 || R->from_utf8))
                set_outcome(&R->r[i], R_PERM, EX_UNAVAILABLE_, "EHLO",
                            "the server does not offer SMTPUTF8, which this address needs");
        return tx_start(R);
    }
    if (src_rewind(R->src) != 0) { /* the message again, from its start */
        char t[TEXT_MAX];
        fmt(t, sizeof t, "reading the message: %s", strerror(errno));
        fail_rest(R, R_TEMP, EX_IOERR_, "MAIL", t);
        R->fatal = EX_IOERR_;
        return -1;
    }
    memset(&mo, 0, sizeof mo);
    mo.smtputf8 = (uint8_t)need_utf8;
    if (ext & SMTP_EXT_SIZE)
        mo.size = R->src->size;
    if (opt.eightbit && (ext & SMTP_EXT_8BITMIME))
        mo.body = SMTP_BODY_8BITMIME;
    r = smtp_client_mail(&R->c, opt.from, &mo);
    if (r == SMTP_ERR_BUSY)
        return 0;
    if (r == SMTP_ERR_SIZE) {
        char t[TEXT_MAX];
        fmt(t, sizeof t, "the message (%llu octets) is larger than the server's SIZE limit (%llu)",
                       (unsigned long long)R->src->size, (unsigned long long)R->c.caps.size);
        fail_rest(R, R_PERM, EX_DATAERR_, "MAIL", t);
        return -1;
    }
    if (r != SMTP_OK) {
        char t[TEXT_MAX];
        fmt(t, sizeof t, "MAIL not sent: %s", err_name(r));
        fail_rest(R, R_PERM, EX_SOFTWARE_, "MAIL", t);
        return -1;
    }
    {
        size_t *map = R->tx.map;
        memset(&R->tx, 0, sizeof R->tx);
        R->tx.map = map ? map : xmalloc(R->nr * sizeof *map);
    }
    R->tx.bdat = (ext & SMTP_EXT_CHUNKING) && !opt.no_chunking;
    R->tx.phase = TX_RCPT;
    return 1;
}

/* The transaction's last reply is in: recipients deferred by a 452 go to
 * the next one, unless this one made no progress at all. */
static void tx_finish(struct run *R)
{
    size_t i;
    if (R->tx.nq == 0 || (R->tx.later && R->tx.accepted == 0 && R->tx.final == 0))
        for (i = 0; i < R->nr; i++)
            if (R->r[i].state == R_PENDING)
                set_outcome(&R->r[i], R_TEMP, EX_TEMPFAIL_, "RCPT",
                            R->tx.later ? R->tx.later_text : "the server took no recipient");
    for (i = 0; i < R->nr; i++) /* accepted, and no verdict came */
        if (R->r[i].state == R_QUEUED || R->r[i].state == R_ACCEPTED)
            set_outcome(&R->r[i], R_TEMP, EX_TEMPFAIL_, "DATA", "no verdict on the message");
    R->tx.phase = TX_START;
}

/* Pushes the transaction as far as the core takes it.  Returns 1 when
 * something was queued, 0 when it waits, -1 when a local failure stops
 * the session (R->fatal). */
static int tx_push(struct run *R)
{
    struct tx *t = &R->tx;
    int did = 0, r;
    for (;;) {
        switch (t->phase) {
        case TX_START:
            r = tx_start(R);
            if (r < 0) {
                R->phase = P_QUIT;
                return did;
            }
            if (r == 0)
                return did;
            did = 1;
            break;
        case TX_RCPT: {
            size_t i;
            for (i = 0; i < R->nr && R->r[i].state != R_PENDING; i++) {
            }
            if (i == R->nr || t->mail_failed) {
                t->phase = TX_DATA;
                break;
            }
            r = smtp_client_rcpt(&R->c, R->r[i].addr, 0, NULL);
            if (r == SMTP_ERR_BUSY)
                return did;
            if (r == SMTP_ERR_LIMIT || r == SMTP_ERR_STATE) { /* the rest: next transaction */
                t->phase = TX_DATA;
                break;
            }
            if (r != SMTP_OK) {
                char m[TEXT_MAX];
                fmt(m, sizeof m, "RCPT not sent: %s", err_name(r));
                set_outcome(&R->r[i], R_PERM, EX_USAGE_, "RCPT", m);
                t->final++;
                break;
            }
            R->r[i].state = R_QUEUED;
            t->map[t->nq++] = i;
            did = 1;
            break;
        }
        case TX_DATA:
            if (t->nq == 0) { /* nothing queued (a limit of 0?): end it */
                if (smtp_client_rset(&R->c) == SMTP_ERR_BUSY)
                    return did;
                t->phase = TX_FINISH;
                break;
            }
            r = smtp_client_data(&R->c);
            if (r == SMTP_ERR_BUSY)
                return did;
            if (r == SMTP_OK) {
                t->phase = TX_BODY;
                did = 1;
            } else { /* NORCPT (RSET sent) or STATE (MAIL refused) */
                t->phase = t->replies == t->nq ? TX_FINISH : TX_WAIT;
            }
            break;
        case TX_BODY: {
            size_t used = 0;
            int f = src_fill(R->src);
            if (f < 0) { /* the message must not arrive cut: drop the connection */
                char m[TEXT_MAX];
                fmt(m, sizeof m, "reading the message: %s", strerror(errno));
                (void)fprintf(stderr, "smtp-send: %s\n", m);
                fail_rest(R, R_TEMP, EX_IOERR_, "DATA", m);
                R->fatal = EX_IOERR_;
                smtp_client_abort(&R->c);
                R->phase = P_DONE;
                return -1;
            }
            if (f == 0) {
                r = smtp_client_end(&R->c);
                if (r == SMTP_ERR_BUSY)
                    return did;
                R->in_body = 0;
                t->phase = TX_WAIT;
                if (r == SMTP_OK)
                    did = 1;
                break;
            }
            r = smtp_client_body(&R->c, R->src->buf + R->src->off, R->src->len - R->src->off, &used);
            if (r == SMTP_ERR_BUSY)
                return did;
            if (r != SMTP_OK) { /* no body expected any more: the verdict comes as an event */
                R->in_body = 0;
                t->phase = TX_WAIT;
                break;
            }
            R->in_body = 1;
            R->src->off += used;
            did = 1;
            /* the run points into src->buf: hand it over before refilling */
            if (R->src->off == R->src->len)
                return did;
            break;
        }
        case TX_WAIT:
            return did;
        case TX_FINISH:
            if (t->replies < t->nq)
                return did; /* replies to pipelined RCPTs still to come */
            tx_finish(R);
            break;
        }
    }
}

/* The mechanism for --user / --xoauth2-token-file among those offered. */
static int pick_mech(const struct smtp_caps *caps)
{
    static const int tok[] = {SMTP_MECH_OAUTHBEARER, SMTP_MECH_XOAUTH2};
    static const int pw[] = {SMTP_MECH_PLAIN, SMTP_MECH_LOGIN};
    const int *m = opt.token_file ? tok : pw;
    int i;
    for (i = 0; i < 2; i++)
        if (caps->mechs & (1u << m[i]))
            return m[i];
    return 0;
}

/* Queues what the session can take now.  1 when something was queued. */
static int push(struct run *R)
{
    int did = 0, r;
    for (;;) {
        switch (R->phase) {
        case P_AUTH:
            r = smtp_client_auth(&R->c, R->mech, NULL, opt.user, R->secret);
            if (r == SMTP_ERR_BUSY)
                return did;
            if (r != SMTP_OK) {
                char t[TEXT_MAX];
                fmt(t, sizeof t, "AUTH not sent: %s", err_name(r));
                fail_rest(R, R_PERM, r == SMTP_ERR_TLS ? EX_UNAVAILABLE_ : EX_USAGE_, "AUTH", t);
                R->phase = P_QUIT;
                break;
            }
            R->phase = P_AUTH_WAIT;
            did = 1;
            break;
        case P_TX:
            r = tx_push(R);
            if (r < 0)
                return did;
            did |= r;
            if (R->phase == P_TX)
                return did;
            break;
        case P_TURN:
            r = opt.atrn ? smtp_client_atrn(&R->c, *opt.atrn ? opt.atrn : NULL)
                         : smtp_client_turn(&R->c);
            if (r == SMTP_ERR_BUSY)
                return did;
            if (r != SMTP_OK) {
                (void)printf("%s not sent: %s\n", opt.atrn ? "ATRN" : "TURN", err_name(r));
                R->turn_ex = r == SMTP_ERR_EXT ? EX_UNAVAILABLE_ : EX_USAGE_;
                R->phase = P_QUIT;
                break;
            }
            fmt(R->waiting, sizeof R->waiting, "%s", opt.atrn ? "ATRN" : "TURN");
            R->phase = P_TURN_WAIT;
            did = 1;
            break;
        case P_QUIT:
            r = smtp_client_quit(&R->c);
            if (r == SMTP_ERR_BUSY)
                return did;
            R->phase = r == SMTP_OK ? P_QUIT_WAIT : P_DONE;
            did |= r == SMTP_OK;
            return did;
        default:
            return did;
        }
    }
}

/* The session has ended without QUIT's 221 (or with it). */
static void on_closed(struct run *R, const union smtp_cevent *ev)
{
    char t[TEXT_MAX];
    const struct smtp_creply *rp = &ev->closed.reply;
    if (rp->code)
        reply_str(rp, t, sizeof t);
    else
        t[0] = '\0';
    switch (ev->closed.why) {
    case SMTP_WHY_QUIT:
        break;
    case SMTP_WHY_421:
        fail_rest(R, R_TEMP, EX_TEMPFAIL_, R->waiting, t);
        break;
    case SMTP_WHY_REFUSED:
        fail_rest_reply(R, rp, EX_UNAVAILABLE_, R->waiting[0] ? R->waiting : "greeting");
        break;
    case SMTP_WHY_NO_TLS: {
        char m[TEXT_MAX + 64];
        int refused = rp->code && rp->code != 250; /* else: the EHLO reply without it */
        fmt(m, sizeof m, "STARTTLS is required and the server %s%s",
                       refused ? "refused it: " : "does not offer it", refused ? t : "");
        fail_rest(R, R_TEMP, EX_TEMPFAIL_, "STARTTLS", m);
        break;
    }
    case SMTP_WHY_PROTOCOL: {
        char m[TEXT_MAX + 64];
        fmt(m, sizeof m, "the server broke the protocol%s%s", rp->code ? ": " : "", t);
        fail_rest(R, R_TEMP, EX_PROTOCOL_, R->waiting, m);
        break;
    }
    default:
        fail_rest(R, R_TEMP, EX_TEMPFAIL_, R->waiting, "session aborted");
        break;
    }
    R->phase = P_DONE;
}

static int tls_start(struct run *R, int implicit);

/* One event from the core. */
static void on_event(struct run *R, int type, const union smtp_cevent *ev)
{
    struct tx *t = &R->tx;
    const struct smtp_creply *rp = &ev->any.reply;
    size_t i;
    switch (type) {
    case SMTP_CEV_READY:
        if (!opt.user) {
            R->phase = opt.maildir ? P_TURN : P_TX;
            t->phase = TX_START;
        } else if (!(R->c.caps.ext & SMTP_EXT_AUTH) || !(R->mech = pick_mech(&R->c.caps))) {
            if (opt.maildir) {
                (void)printf("cannot AUTH: the server offers no AUTH mechanism we can use\n");
                R->turn_ex = EX_UNAVAILABLE_;
            }
            fail_rest(R, R_PERM, EX_UNAVAILABLE_, "EHLO",
                      R->c.caps.ext & SMTP_EXT_AUTH
                          ? (opt.token_file ? "the server offers neither OAUTHBEARER nor XOAUTH2"
                                            : "the server offers neither AUTH PLAIN nor AUTH LOGIN")
                          : "the server does not offer AUTH");
            R->phase = P_QUIT;
        } else {
            R->phase = P_AUTH;
        }
        break;
    case SMTP_CEV_TLS:
        (void)tls_start(R, 0);
        break;
    case SMTP_CEV_AUTH:
        wipe(R->secret, R->secret_len);
        fmt(R->waiting, sizeof R->waiting, "AUTH");
        if (rp->code == 235) {
            R->phase = opt.maildir ? P_TURN : P_TX;
            t->phase = TX_START;
        } else {
            fail_rest_reply(R, rp, EX_NOPERM_, "AUTH");
            if (opt.maildir) {
                char m[TEXT_MAX];
                reply_str(rp, m, sizeof m);
                (void)printf("AUTH refused: %s\n", m);
                R->turn_ex = EX_NOPERM_;
            }
            R->phase = P_QUIT;
        }
        break;
    case SMTP_CEV_TURNED:
        R->turned = 1; /* the bytes after the 250 are the receiver's */
        R->phase = P_DONE;
        break;
    case SMTP_CEV_MAIL:
        if (rp->code / 100 != 2) {
            t->mail_failed = 1; /* the whole message: every recipient left */
            fail_rest_reply(R, rp, EX_UNAVAILABLE_, "MAIL");
            t->final++;
            if (t->phase == TX_RCPT)
                t->phase = TX_DATA;
        }
        break;
    case SMTP_CEV_RCPT:
        if (ev->rcpt.index >= t->nq)
            break; /* cannot happen: the core counts our calls */
        t->replies++;
        i = t->map[ev->rcpt.index];
        switch (t->mail_failed ? -1 : ev->rcpt.result) {
        case -1: /* the outcome is MAIL's */
            break;
        case SMTP_RCPT_OK:
            R->r[i].state = R_ACCEPTED;
            t->accepted++;
            break;
        case SMTP_RCPT_LATER:
            R->r[i].state = R_PENDING;
            t->later++;
            reply_str(rp, t->later_text, sizeof t->later_text);
            break;
        default:
            fail_reply(&R->r[i], rp, EX_NOUSER_, "RCPT");
            t->final++;
            break;
        }
        /* DATA was refused before it was sent (MAIL refused, nobody
         * accepted): this was the transaction's last reply */
        if (t->phase == TX_WAIT && t->replies == t->nq && (t->accepted == 0 || t->mail_failed))
            t->phase = TX_FINISH;
        break;
    case SMTP_CEV_DATA:
        if (rp->code == 354)
            break;
        for (i = 0; i < R->nr; i++)
            if (R->r[i].state == R_ACCEPTED)
                fail_reply(&R->r[i], rp, EX_DATAERR_, "DATA");
        t->phase = TX_FINISH;
        R->in_body = 0;
        break;
    case SMTP_CEV_SENT:
        for (i = 0; i < R->nr; i++) {
            if (R->r[i].state != R_ACCEPTED)
                continue;
            if (rp->code / 100 == 2) {
                char m[TEXT_MAX];
                reply_str(rp, m, sizeof m);
                set_outcome(&R->r[i], R_SENT, EX_OK_, "", m);
            } else {
                fail_reply(&R->r[i], rp, EX_DATAERR_, t->bdat ? "BDAT" : "end of data");
            }
        }
        t->phase = TX_FINISH;
        R->in_body = 0;
        break;
    case SMTP_CEV_CLOSED:
        on_closed(R, ev);
        break;
    case SMTP_CEV_REPLY:
        if (R->phase == P_TURN_WAIT) { /* TURN/ATRN refused: 453 is "no mail" */
            char m[TEXT_MAX];
            reply_str(rp, m, sizeof m);
            (void)printf("%s: %s\n", rp->code == 453 ? "no mail waiting" : "refused", m);
            R->turn_ex = rp->code == 453 ? EX_OK_
                         : rp->code / 100 == 4 ? EX_TEMPFAIL_
                                               : EX_UNAVAILABLE_;
            R->phase = P_QUIT;
        }
        break;
    default: /* CEV_RSET */
        break;
    }
}

/* ------------------------------------------------------------ TURN, ATRN */

/* One message being received into --maildir: tmp/NAME, then new/NAME. */
struct inbox {
    FILE *f;
    char name[96];
    char from[300];
    unsigned nrcpt;
    unsigned long long size;
    unsigned count;
};

static void inbox_drop(struct inbox *b)
{
    char path[4200];
    if (!b->f)
        return;
    (void)fclose(b->f);
    b->f = NULL;
    fmt(path, sizeof path, "%s/tmp/%s", opt.maildir, b->name);
    (void)unlink(path);
}

static int inbox_open(struct inbox *b)
{
    char path[4200];
    struct timeval tv;
    inbox_drop(b);
    (void)gettimeofday(&tv, NULL);
    fmt(b->name, sizeof b->name, "%lld.M%ldP%ldQ%u.smtp-send", (long long)tv.tv_sec, (long)tv.tv_usec,
        (long)getpid(), b->count);
    fmt(path, sizeof path, "%s/tmp/%s", opt.maildir, b->name);
    b->f = fopen(path, "wbx");
    b->size = 0;
    return b->f ? 0 : -1;
}

/* The message is whole: fsync it and move it into new/ (Maildir). */
static int inbox_commit(struct inbox *b)
{
    char from[4200], to[4200];
    int ok = b->f && fflush(b->f) == 0 && fsync(fileno(b->f)) == 0;
    if (b->f && fclose(b->f) != 0)
        ok = 0;
    b->f = NULL;
    fmt(from, sizeof from, "%s/tmp/%s", opt.maildir, b->name);
    fmt(to, sizeof to, "%s/new/%s", opt.maildir, b->name);
    if (!ok || rename(from, to) != 0) {
        (void)unlink(from);
        return -1;
    }
    b->count++;
    (void)printf("received: from=<%s> nrcpt=%u size=%llu file=new/%s\n", b->from, b->nrcpt, b->size,
                 b->name);
    return 0;
}

/* After TURN/ATRN's 250: the server is the sender now.  A receiver runs on
 * the same connection (the same TLS session), takes every message into
 * --maildir and answers 250 once it is stored.  Returns the exit status. */
static int receive(struct run *R)
{
    struct smtp_session s;
    struct smtp_config cfg;
    struct inbox box;
    int st = SMTP_NEED_INPUT, lost_it = 0;

    memset(&box, 0, sizeof box);
    smtp_config_default(&cfg);
    cfg.hostname = opt.helo;
    cfg.extensions |= SMTP_EXT_CHUNKING | SMTP_EXT_BINARYMIME;
    smtp_init(&s, &cfg);
    if (R->n.tls_on)
        (void)smtp_tls_done(&s); /* the connection's TLS goes on: no STARTTLS */
    (void)printf("%s accepted: receiving into %s\n", opt.atrn ? "ATRN" : "TURN", opt.maildir);
    for (;;) {
        union smtp_event ev;
        size_t used = 0, n;
        const char *o;
        st = smtp_feed(&s, R->ibuf + R->ioff, R->ilen, &used, &ev);
        switch (st) {
        case SMTP_EV_MAIL:
            fmt(box.from, sizeof box.from, "%.*s", (int)ev.mail.path.mailbox.len,
                ev.mail.path.mailbox.ptr);
            box.nrcpt = 0;
            inbox_drop(&box);
            break;
        case SMTP_EV_RCPT:
            box.nrcpt++;
            break;
        case SMTP_EV_DATA:
        case SMTP_EV_BDAT:
            if (!box.f && inbox_open(&box) != 0)
                (void)smtp_shutdown(&s, 1, SMTP_BYE_SHUTDOWN);
            break;
        case SMTP_EV_BODY: /* spans into R->ibuf: written before it is reused */
            if (box.f && fwrite(ev.body.data.ptr, 1, ev.body.data.len, box.f) != ev.body.data.len)
                inbox_drop(&box);
            box.size += ev.body.data.len;
            break;
        case SMTP_EV_DATA_END:
            if (ev.end.reject)
                inbox_drop(&box);
            else if (inbox_commit(&box) != 0)
                (void)smtp_reply(&s, 451, "4.3.0", "Cannot store the message");
            break;
        case SMTP_EV_RSET:
            inbox_drop(&box);
            break;
        default:
            break;
        }
        R->ioff += used;
        R->ilen -= used;
        while ((o = smtp_output(&s, &n)) != NULL) {
            if (opt.verbose)
                trace("C: ", o, n);
            if (net_write(&R->n, o, n, now() + opt.t_cmd) != 1) {
                lost_it = 1;
                break;
            }
            smtp_output_done(&s, n);
        }
        if (lost_it || st == SMTP_CLOSED)
            break;
        if (st == SMTP_NEED_INPUT) {
            int k;
            R->ioff = 0;
            k = net_read(&R->n, R->ibuf, sizeof R->ibuf, now() + opt.t_cmd);
            if (k <= 0) {
                lost_it = 1;
                break;
            }
            if (opt.verbose)
                trace("S: ", R->ibuf, (size_t)k);
            R->ilen = (size_t)k;
        }
    }
    inbox_drop(&box); /* a message cut off: never stored */
    (void)printf("%u message(s) received%s\n", box.count,
                 lost_it ? "; the connection ended without QUIT" : "");
    return lost_it ? EX_TEMPFAIL_ : EX_OK_;
}

/* --starttls's handshake after the 220 (or --tls's at once: implicit). */
static int tls_start(struct run *R, int implicit)
{
#ifndef SMTP_SEND_NO_TLS
    int w = net_tls(&R->n, opt.tls_name ? opt.tls_name : R->host, now() + opt.t_cmd);
    if (w != 0) {
        fail_rest(R, R_TEMP, EX_TEMPFAIL_, "TLS", R->n.why);
        smtp_client_abort(&R->c);
        R->phase = P_DONE;
        return -1;
    }
    if (opt.verbose)
        (void)fprintf(stderr, "smtp-send: TLS: %s\n", R->n.tls_info);
    R->ioff = R->ilen = 0; /* plaintext after the 220: never read */
    if (!implicit && smtp_client_tls_done(&R->c) != SMTP_OK) {
        fail_rest(R, R_TEMP, EX_SOFTWARE_, "TLS", "smtp_client_tls_done() refused");
        smtp_client_abort(&R->c);
        R->phase = P_DONE;
        return -1;
    }
    return 0;
#else
    (void)implicit;
    fail_rest(R, R_TEMP, EX_SOFTWARE_, "TLS", "built without OpenSSL");
    smtp_client_abort(&R->c);
    R->phase = P_DONE;
    return -1;
#endif
}

/* The connection failed (err, timeout, EOF): everything left is deferred. */
static void lost(struct run *R, int w, const char *doing)
{
    char m[TEXT_MAX];
    if (w == NET_TIMEOUT)
        fmt(m, sizeof m, "timed out %s", doing);
    else if (w == 0)
        fmt(m, sizeof m, "the server closed the connection %s", doing);
    else
        fmt(m, sizeof m, "%s (%s)", R->n.why, doing);
    fail_rest(R, R_TEMP, EX_TEMPFAIL_, R->waiting[0] ? R->waiting : "greeting", m);
    smtp_client_abort(&R->c);
    R->phase = P_DONE;
}

/* Runs the whole session on a connected R->n. */
static void session(struct run *R)
{
    struct smtp_client_config cfg;
    smtp_client_config_default(&cfg);
    cfg.hostname = opt.helo;
    cfg.tls = opt.tls ? SMTP_TLS_IMPLICIT : opt.starttls ? SMTP_TLS_REQUIRED : SMTP_TLS_OFF;
    if (opt.no_pipelining)
        cfg.options |= SMTP_COPT_NO_PIPELINING;
    if (opt.no_chunking)
        cfg.options |= SMTP_COPT_NO_CHUNKING;
    if (opt.plain_auth)
        cfg.options |= SMTP_COPT_AUTH_PLAINTEXT;
    smtp_client_init(&R->c, &cfg);
    R->phase = P_GREET;
    R->since = now();
    if (opt.tls && tls_start(R, 1) != 0)
        return;

    while (R->phase != P_DONE) {
        union smtp_cevent ev;
        size_t used = 0;
        int st, did, w;

        did = push(R);
        if ((w = drain(R)) != 1) {
            lost(R, w, R->in_body ? "sending the message" : "sending a command");
            return;
        }
        st = smtp_client_feed(&R->c, R->ibuf + R->ioff, R->ilen, &used, &ev);
        R->ioff += used;
        R->ilen -= used;
        if (st > 0) {
            R->since = now();
            on_event(R, st, &ev);
            continue;
        }
        /* replies that make no event (a BDAT chunk's 250) may let more
         * be pushed: try again before waiting for input */
        if (st == SMTP_WANT_WRITE || did || used)
            continue;
        if (st == SMTP_CLOSED) {
            R->phase = P_DONE;
            break;
        }
        /* NEED_INPUT and nothing to push: a reply is due */
        if ((w = flush_out(R)) != 1) {
            lost(R, w, R->in_body ? "sending the message" : "sending a command");
            return;
        }
        R->ioff = 0;
        {
            int end = strcmp(R->waiting, "end of data") == 0 || strcmp(R->waiting, "BDAT LAST") == 0;
            double limit = end ? opt.t_end : opt.t_cmd;
            char doing[64];
            int n = net_read(&R->n, R->ibuf, sizeof R->ibuf, R->since + limit);
            if (n <= 0) {
                fmt(doing, sizeof doing, "waiting for the reply to %s",
                               R->waiting[0] ? R->waiting : "the connection (greeting)");
                lost(R, n, doing);
                return;
            }
            if (opt.verbose)
                trace("S: ", R->ibuf, (size_t)n);
            R->ilen = (size_t)n;
        }
    }
    /* the QUIT the core queued on a protocol error: best effort */
    (void)drain(R);
    if (R->olen)
        (void)net_write(&R->n, R->obuf, R->olen, now() + 5.0);
    R->olen = 0;
}

/* ------------------------------------------------------------ options */

static void usage(FILE *f)
{
    (void)fputs(
        "usage: smtp-send --server HOST:PORT --from ADDR --to ADDR [--to ADDR ...] [options] <message\n"
        "Sends the message on stdin (headers and body; LF or CRLF line ends) to\n"
        "each --to through one SMTP server, and prints one line per recipient:\n"
        "  <ADDR>: sent: REPLY | deferred after STAGE: REASON | bounced after STAGE: REASON\n"
        "  --server HOST:PORT   the SMTP server ([::1]:PORT for IPv6; default port\n"
        "                       25, or 465 with --tls)\n"
        "  --from ADDR          the envelope sender (MAIL FROM; \"\" for <>)\n"
        "  --to ADDR            a recipient (RCPT TO; repeatable).  All go in one\n"
        "                       transaction; those the server defers with 452\n"
        "                       (too many recipients) go in another\n"
        "  --file FILE          read the message from FILE instead of stdin\n"
        "  --helo NAME          our name in EHLO/HELO (default localhost)\n"
        "  --starttls           STARTTLS, required: no offer or a refusal ends the\n"
        "                       session before anything is sent (no downgrade)\n"
        "  --tls                implicit TLS from the first octet (port 465)\n"
        "  --cacert FILE        trust the CA certificates in FILE (PEM) instead of\n"
        "                       the system's\n"
        "  --tls-name NAME      the name the certificate must carry (default: the\n"
        "                       --server host, a DNS name or an IP address)\n"
        "  --insecure-skip-verify  accept any certificate (for tests only: an\n"
        "                       attacker in the path then reads everything)\n"
        "  --user NAME          AUTH as NAME (PLAIN, else LOGIN) with the password\n"
        "                       from --password-file or $SMTP_PASSWORD, never\n"
        "                       from the command line; only over TLS unless\n"
        "                       --allow-plaintext-auth\n"
        "  --password-file FILE the password: the file's first line\n"
        "  --xoauth2-token-file FILE  with --user: AUTH OAUTHBEARER (RFC 7628),\n"
        "                       else XOAUTH2, with the OAuth 2.0 access token in\n"
        "                       FILE (its first line)\n"
        "  --allow-plaintext-auth  AUTH without TLS.  RISK: THE PASSWORD CROSSES\n"
        "                       THE NETWORK IN CLEAR TEXT\n"
        "  --8bitmime           declare BODY=8BITMIME when the server offers it\n"
        "  --no-pipelining      one command at a time even with PIPELINING\n"
        "  --no-chunking        DATA even when the server offers CHUNKING (BDAT)\n"
        "  -v, --verbose        the dialogue on stderr (AUTH data not shown)\n",
        f);
    (void)fputs(
        "Collecting mail instead of sending it (no --from, --to or message):\n"
        "  --turn               after EHLO, TURN (RFC 821): the server, if it\n"
        "                       holds mail for our --helo name, becomes the\n"
        "                       sender on this connection\n"
        "  --atrn DOMAIN[,DOMAIN]  after AUTH (--user), ATRN (RFC 2645) for the\n"
        "                       domains; --atrn= for every domain we may collect\n"
        "  --maildir DIR        store each message handed over in DIR (a\n"
        "                       Maildir: tmp/, new/ and cur/ must exist), one\n"
        "                       line per message on stdout.  Exit 0 when the\n"
        "                       server handed its mail over and said QUIT, or\n"
        "                       had none (453); 75 for a 4xx or a session cut\n"
        "                       short; 69 when TURN/ATRN is refused\n",
        f);
    (void)fputs(
        "PIPELINING, CHUNKING and SIZE are used when offered, SMTPUTF8 when an\n"
        "address has non-ASCII octets (without it such an address is bounced).\n"
        "Time limits, in seconds (0.01 to 86400), RFC 5321 4.5.3.2's by default;\n"
        "past each the recipients left are deferred:\n"
        "  --timeout-cmd SEC    connecting and the greeting, and each reply to a\n"
        "                       command (default 300)\n"
        "  --timeout-data SEC   each write of the message (default 180)\n"
        "  --timeout-end SEC    the reply to the end of the message (default 600)\n"
        "Exit status (sysexits): 0 every recipient got the message; otherwise\n"
        "75 (EX_TEMPFAIL) when any recipient was deferred (a 4xx reply, a lost\n"
        "connection, a timeout, a TLS failure: try again later), else the first\n"
        "bounced recipient's: 67 (EX_NOUSER) RCPT refused, 65 (EX_DATAERR) the\n"
        "message refused (DATA, end of data, or larger than SIZE), 69\n"
        "(EX_UNAVAILABLE) the session or MAIL refused, or an extension the\n"
        "message needs missing, 77 (EX_NOPERM) AUTH refused, 76 (EX_PROTOCOL)\n"
        "the server broke the protocol.  Before connecting: 64 (EX_USAGE) a bad\n"
        "option or address, 66 (EX_NOINPUT) --file unreadable, 74 (EX_IOERR)\n"
        "reading the message failed, 71 (EX_OSERR), 70 (EX_SOFTWARE) a bug.\n",
        f);
#ifdef SMTP_SEND_NO_TLS
    (void)fputs("(built without OpenSSL: no --starttls, --tls, --cacert)\n", f);
#endif
}

static int bad_value(const char *name, const char *expect, const char *got)
{
    (void)fprintf(stderr, "smtp-send: %s: expected %s, got '%s'\n", name, expect, got);
    return -1;
}

/* v is a number of seconds: digits with at most one '.', 0.01 to 86400. */
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

/* An address as the core will send it: no angle brackets, and a path the
 * receiver's parser accepts.  *utf8: it has non-ASCII octets. */
static int check_addr(const char *name, const char **v, int is_from, int *utf8)
{
    size_t l = strlen(*v), i;
    char *b;
    struct smtp_path p;
    int r;
    if (l >= 2 && (*v)[0] == '<' && (*v)[l - 1] == '>') {
        char *s = xmalloc(l - 1);
        memcpy(s, *v + 1, l - 2);
        s[l - 2] = '\0';
        *v = s, l -= 2;
    }
    *utf8 = 0;
    for (i = 0; i < l; i++)
        *utf8 |= (unsigned char)(*v)[i] >= 0x80;
    if (l == 0 && is_from)
        return 0;
    b = xmalloc(l + 3);
    b[0] = '<';
    memcpy(b + 1, *v, l);
    b[l + 1] = '>', b[l + 2] = '\0';
    r = smtp_parse_path(b, l + 2, (is_from ? SMTP_PATH_NULL_OK : SMTP_PATH_POSTMASTER) | SMTP_PATH_UTF8, &p);
    if (r == SMTP_OK && p.len != l + 2)
        r = SMTP_ERR_SYNTAX;
    free(b);
    if (r != SMTP_OK) {
        (void)fprintf(stderr, "smtp-send: %s: '%s' is not a mailbox (local@domain): %s\n", name, *v,
                      smtp_err_desc(r));
        return -1;
    }
    return 0;
}

static int parse_args(int argc, char **argv)
{
    static const char *const flags[] = {"--starttls", "--tls", "--insecure-skip-verify", "--verbose",
                                        "--no-pipelining", "--no-chunking", "--8bitmime",
                                        "--allow-plaintext-auth", "--turn", "--help"};
    static const char *const valued[] = {"--server", "--from", "--to", "--file", "--helo", "--cacert",
                                         "--tls-name", "--user", "--password-file", "--xoauth2-token-file",
                                         "--timeout-cmd", "--timeout-data", "--timeout-end", "--password",
                                         "--token", "--atrn", "--maildir"};
    int i;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL, *eq;
        char name[32];
        size_t nl, k;
        int is_flag = -1;

        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            exit(0);
        }
        if (strcmp(a, "-v") == 0)
            a = "--verbose";
        eq = strncmp(a, "--", 2) == 0 ? strchr(a, '=') : NULL;
        nl = eq ? (size_t)(eq - a) : strlen(a);
        if (strncmp(a, "--", 2) != 0 || nl >= sizeof name) {
            (void)fprintf(stderr, "smtp-send: unknown option '%s' (smtp-send --help lists them)\n", a);
            return -1;
        }
        memcpy(name, a, nl);
        name[nl] = '\0';
        for (k = 0; k < sizeof flags / sizeof flags[0]; k++)
            if (strcmp(name, flags[k]) == 0)
                is_flag = (int)k;
        if (is_flag >= 0) {
            if (eq) {
                (void)fprintf(stderr, "smtp-send: %s takes no value, got '%s'\n", name, a);
                return -1;
            }
            switch (is_flag) {
            case 0: opt.starttls = 1; break;
            case 1: opt.tls = 1; break;
            case 2: opt.insecure = 1; break;
            case 3: opt.verbose = 1; break;
            case 4: opt.no_pipelining = 1; break;
            case 5: opt.no_chunking = 1; break;
            case 6: opt.eightbit = 1; break;
            case 8: opt.turn = 1; break;
            default: opt.plain_auth = 1; break;
            }
            continue;
        }
        for (k = 0; k < sizeof valued / sizeof valued[0]; k++)
            if (strcmp(name, valued[k]) == 0)
                break;
        if (k == sizeof valued / sizeof valued[0]) {
            (void)fprintf(stderr, "smtp-send: unknown option '%s' (smtp-send --help lists them)\n", name);
            return -1;
        }
        if (eq) {
            v = eq + 1;
        } else if (i + 1 < argc) {
            v = argv[++i];
        } else {
            (void)fprintf(stderr, "smtp-send: %s: expected a value after it (smtp-send --help lists the options)\n",
                          name);
            return -1;
        }
        if (strcmp(name, "--server") == 0) {
            opt.server = v;
        } else if (strcmp(name, "--from") == 0) {
            opt.from = v;
        } else if (strcmp(name, "--to") == 0) {
            const char **n = realloc((void *)opt.to, (opt.nto + 1) * sizeof *opt.to);
            if (!n)
                die_oom();
            opt.to = n;
            opt.to[opt.nto++] = v;
        } else if (strcmp(name, "--file") == 0) {
            opt.file = v;
        } else if (strcmp(name, "--helo") == 0) {
            if (smtp_parse_domain(v, strlen(v), 1) != SMTP_OK)
                return bad_value(name, "a domain or an address literal", v);
            opt.helo = v;
        } else if (strcmp(name, "--cacert") == 0) {
            opt.cacert = v;
        } else if (strcmp(name, "--tls-name") == 0) {
            opt.tls_name = v;
        } else if (strcmp(name, "--user") == 0) {
            if (!v[0])
                return bad_value(name, "a user name", v);
            opt.user = v;
        } else if (strcmp(name, "--password-file") == 0) {
            opt.password_file = v;
        } else if (strcmp(name, "--xoauth2-token-file") == 0) {
            opt.token_file = v;
        } else if (strcmp(name, "--timeout-cmd") == 0) {
            if (get_seconds(name, v, &opt.t_cmd) != 0)
                return -1;
        } else if (strcmp(name, "--timeout-data") == 0) {
            if (get_seconds(name, v, &opt.t_data) != 0)
                return -1;
        } else if (strcmp(name, "--timeout-end") == 0) {
            if (get_seconds(name, v, &opt.t_end) != 0)
                return -1;
        } else if (strcmp(name, "--atrn") == 0) {
            opt.atrn = v; /* checked by the core: Domains separated by ',' */
        } else if (strcmp(name, "--maildir") == 0) {
            if (!v[0] || strlen(v) > 3000)
                return bad_value(name, "a directory (at most 3000 octets)", v);
            opt.maildir = v;
        } else if (strcmp(name, "--password") == 0 || strcmp(name, "--token") == 0) {
            (void)fprintf(stderr, "smtp-send: %s: secrets are never taken from the command line (ps shows "
                                  "it): use --password-file, $SMTP_PASSWORD or --xoauth2-token-file\n",
                          name);
            return -1;
        } else {
            (void)fprintf(stderr, "smtp-send: unknown option '%s' (smtp-send --help lists them)\n", name);
            return -1;
        }
    }
    if (opt.turn || opt.atrn) {
        if (opt.turn && opt.atrn) {
            (void)fprintf(stderr, "smtp-send: --turn and --atrn exclude each other\n");
            return -1;
        }
        if (!opt.server || !opt.maildir || opt.from || opt.nto || opt.file) {
            (void)fprintf(stderr, "smtp-send: --turn and --atrn need --server and --maildir, and take no "
                                  "--from, --to or --file (the mail comes from the server)\n");
            return -1;
        }
        if (opt.atrn && !opt.user) {
            (void)fprintf(stderr, "smtp-send: --atrn needs --user (ATRN comes after AUTH, RFC 2645)\n");
            return -1;
        }
    } else if (opt.maildir) {
        (void)fprintf(stderr, "smtp-send: --maildir needs --turn or --atrn\n");
        return -1;
    } else if (!opt.server || !opt.from || !opt.nto) {
        (void)fprintf(stderr, "smtp-send: --server, --from and at least one --to are needed "
                              "(smtp-send --help lists the options)\n");
        return -1;
    }
    if (opt.tls && opt.starttls) {
        (void)fprintf(stderr, "smtp-send: --tls and --starttls exclude each other\n");
        return -1;
    }
    if ((opt.cacert || opt.tls_name || opt.insecure) && !opt.tls && !opt.starttls) {
        (void)fprintf(stderr, "smtp-send: --cacert, --tls-name and --insecure-skip-verify need --starttls or --tls\n");
        return -1;
    }
    if ((opt.password_file || opt.token_file) && !opt.user) {
        (void)fprintf(stderr, "smtp-send: --password-file and --xoauth2-token-file need --user\n");
        return -1;
    }
    if (opt.password_file && opt.token_file) {
        (void)fprintf(stderr, "smtp-send: --password-file and --xoauth2-token-file exclude each other\n");
        return -1;
    }
    if (opt.plain_auth && !opt.user) {
        (void)fprintf(stderr, "smtp-send: --allow-plaintext-auth needs --user\n");
        return -1;
    }
#ifdef SMTP_SEND_NO_TLS
    if (opt.tls || opt.starttls || opt.cacert || opt.tls_name || opt.insecure) {
        (void)fprintf(stderr, "smtp-send: built without OpenSSL: --starttls, --tls, --cacert, --tls-name and "
                              "--insecure-skip-verify are not available\n");
        return -1;
    }
#endif
    return 0;
}

/* --server HOST:PORT, [IPv6]:PORT or HOST (port 25, 465 with --tls). */
static int split_server(char *host, size_t cap, char *port, size_t pcap)
{
    const char *s = opt.server, *h = s, *p = NULL, *end;
    size_t hl;
    char *e;
    unsigned long n;
    if (!s)
        return -1;
    if (s[0] == '[') {
        end = strchr(s, ']');
        if (!end || (end[1] && end[1] != ':'))
            return bad_value("--server", "HOST:PORT", s);
        h = s + 1, hl = (size_t)(end - h);
        p = end[1] ? end + 2 : NULL;
    } else {
        end = strrchr(s, ':');
        if (end && strchr(s, ':') != end)
            return bad_value("--server", "HOST:PORT ([ADDR]:PORT for IPv6)", s);
        hl = end ? (size_t)(end - s) : strlen(s);
        p = end ? end + 1 : NULL;
    }
    if (hl == 0 || hl >= cap)
        return bad_value("--server", "HOST:PORT", s);
    memcpy(host, h, hl);
    host[hl] = '\0';
    if (!p) {
        fmt(port, pcap, "%s", opt.tls ? "465" : "25");
        return 0;
    }
    errno = 0;
    n = strtoul(p, &e, 10);
    if (!p[0] || *e || errno || n == 0 || n > 65535 || p[0] < '0' || p[0] > '9')
        return bad_value("--server", "HOST:PORT with a port from 1 to 65535", s);
    fmt(port, pcap, "%lu", n);
    return 0;
}

/* The first line of FILE (or $SMTP_PASSWORD): the secret. */
static int read_secret(char **out, size_t *len)
{
    const char *env = getenv("SMTP_PASSWORD");
    char *buf = xmalloc(SECRET_MAX + 1);
    size_t n = 0;
    if (opt.password_file || opt.token_file) {
        const char *f = opt.password_file ? opt.password_file : opt.token_file;
        const char *what = opt.password_file ? "--password-file" : "--xoauth2-token-file";
        int fd = open(f, O_RDONLY);
        ssize_t r;
        if (fd < 0) {
            (void)fprintf(stderr, "smtp-send: %s %s: %s\n", what, f, strerror(errno));
            free(buf);
            return EX_NOINPUT_;
        }
        while (n < SECRET_MAX && (r = read(fd, buf + n, SECRET_MAX - n)) != 0) {
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0) {
                (void)fprintf(stderr, "smtp-send: %s %s: %s\n", what, f, strerror(errno));
                close(fd);
                free(buf);
                return EX_IOERR_;
            }
            n += (size_t)r;
        }
        close(fd);
        buf[n] = '\0';
        n = strcspn(buf, "\r\n");
        buf[n] = '\0';
        if (n == 0) {
            (void)fprintf(stderr, "smtp-send: %s %s: the first line is empty\n", what, f);
            free(buf);
            return EX_USAGE_;
        }
    } else if (env && env[0]) {
        n = strlen(env);
        if (n > SECRET_MAX) {
            (void)fprintf(stderr, "smtp-send: $SMTP_PASSWORD is longer than %d octets\n", SECRET_MAX);
            free(buf);
            return EX_USAGE_;
        }
        memcpy(buf, env, n + 1);
    } else {
        (void)fprintf(stderr, "smtp-send: --user needs a password: --password-file FILE or $SMTP_PASSWORD "
                              "(or --xoauth2-token-file FILE)\n");
        free(buf);
        return EX_USAGE_;
    }
    *out = buf;
    *len = n;
    return 0;
}

#ifndef SMTP_SEND_NO_TLS
static int tls_setup(void)
{
    tls_ctx = SSL_CTX_new(TLS_client_method());
    if (!tls_ctx)
        goto fail;
    SSL_CTX_set_min_proto_version(tls_ctx, TLS1_2_VERSION);
    SSL_CTX_set_mode(tls_ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
    SSL_CTX_set_options(tls_ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
    if (opt.insecure) {
        SSL_CTX_set_verify(tls_ctx, SSL_VERIFY_NONE, NULL);
        return 0;
    }
    SSL_CTX_set_verify(tls_ctx, SSL_VERIFY_PEER, NULL);
    if (opt.cacert ? SSL_CTX_load_verify_locations(tls_ctx, opt.cacert, NULL) != 1
                   : SSL_CTX_set_default_verify_paths(tls_ctx) != 1) {
        char why[256];
        ERR_error_string_n(ERR_get_error(), why, sizeof why);
        (void)fprintf(stderr, "smtp-send: --cacert %s: %s\n", opt.cacert ? opt.cacert : "(system)", why);
        return EX_USAGE_;
    }
    return 0;
fail:
    (void)fprintf(stderr, "smtp-send: TLS: cannot set up OpenSSL\n");
    return EX_SOFTWARE_;
}
#endif

/* The exit status: 0, 75 when any recipient was deferred, else the first
 * failure's; one line per recipient on stdout. */
static int report(const struct run *R)
{
    size_t i;
    int ex = EX_OK_, temp = 0;
    for (i = 0; i < R->nr; i++) {
        const struct rcpt *r = &R->r[i];
        if (r->state == R_SENT)
            (void)printf("<%s>: sent: %s\n", r->addr, r->text);
        else
            (void)printf("<%s>: %s after %s: %s\n", r->addr, r->state == R_PERM ? "bounced" : "deferred",
                         r->stage, r->text);
        if (r->ex == EX_TEMPFAIL_)
            temp = 1;
        else if (r->ex && !ex)
            ex = r->ex;
    }
    (void)fflush(stdout);
    return temp ? EX_TEMPFAIL_ : ex;
}

int main(int argc, char **argv)
{
    static struct run R; /* large buffers: not on the stack */
    static struct src src;
    char host[256], port[8];
    size_t i;
    int ex, w;
    struct sigaction sa;

    if (parse_args(argc, argv) != 0 || split_server(host, sizeof host, port, sizeof port) != 0)
        return EX_USAGE_;
    if (opt.maildir) {
        opt.from = ""; /* no message of ours: no recipient, no source */
        R.turn_ex = -1; /* no answer to TURN/ATRN yet */
    }
    if (check_addr("--from", &opt.from, 1, &R.from_utf8) != 0)
        return EX_USAGE_;
    R.nr = opt.nto;
    R.r = xmalloc(R.nr * sizeof *R.r);
    memset(R.r, 0, R.nr * sizeof *R.r);
    for (i = 0; i < R.nr; i++) {
        if (check_addr("--to", &opt.to[i], 0, &R.r[i].utf8) != 0)
            return EX_USAGE_;
        R.r[i].addr = opt.to[i];
    }
    if (opt.user && (ex = read_secret(&R.secret, &R.secret_len)) != 0)
        return ex;
#ifndef SMTP_SEND_NO_TLS
    if ((opt.tls || opt.starttls) && (ex = tls_setup()) != 0)
        return ex;
#endif
    if (!opt.maildir && (ex = src_open(&src)) != 0)
        return ex;
    R.src = &src;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGPIPE, &sa, NULL);

    R.n.fd = -1;
    w = net_connect(&R.n, host, port, now() + opt.t_cmd);
    if (w != 0) {
        char m[TEXT_MAX];
        fmt(m, sizeof m, "%s:%s: %s", host, port, R.n.why);
        fail_rest(&R, R_TEMP, EX_TEMPFAIL_, "connect", m);
    } else {
        R.host = host;
        session(&R);
        if (R.turned)
            R.turn_ex = receive(&R);
        else if (opt.maildir && R.turn_ex < 0)
            R.turn_ex = EX_TEMPFAIL_; /* the session ended before TURN/ATRN got an answer */
    }
    net_close(&R.n);
    if (R.secret) {
        wipe(R.secret, R.secret_len);
        free(R.secret);
    }
    ex = opt.maildir ? (w != 0 ? EX_TEMPFAIL_ : R.turn_ex) : report(&R);
    if (R.fatal)
        ex = R.fatal;
    free(R.tx.map);
    free(R.r);
#ifndef SMTP_SEND_NO_TLS
    SSL_CTX_free(tls_ctx);
#endif
    return ex;
}
