/*
 * smtp.h - the SMTP protocol core (RFC 5321, with RFC 821's SEND/SOML/SAML/TURN)
 *
 * A sans-I/O receiver (server) core: you push the bytes a client sent, it
 * hands back events to decide on and reply bytes to send.  The sender
 * (client) role is further down ("The sender (client) role").  It never touches a
 * socket, never allocates, keeps no global state, and needs only <stddef.h>,
 * <stdint.h> and <string.h>.  The whole session lives in `struct smtp_session`,
 * which you own: static, on the stack or inside your connection object.
 *
 * Usage (a blocking loop; see examples/smtp-sink.c for an event loop):
 *
 *     struct smtp_session s;
 *     union smtp_event ev;
 *     smtp_init(&s, NULL);                        // default limits, "localhost"
 *     for (;;) {
 *         size_t used;
 *         int st = smtp_feed(&s, in, in_len, &used, &ev);
 *         in += used; in_len -= used;
 *         if (st == SMTP_EV_RCPT && !known(ev.rcpt.path.mailbox))
 *             smtp_reply(&s, 550, NULL, "No such user here");
 *         // every other decision: the next smtp_feed() gives the default reply
 *         send_all(&s);                           // smtp_output / smtp_output_done
 *         if (st == SMTP_CLOSED) break;
 *         if (st == SMTP_NEED_INPUT) in_len = read(fd, in = buf, sizeof buf);
 *     }
 *
 * The rules a caller MUST follow (each is stated once, here):
 *  1. Ownership.  smtp_init() before anything else and to reuse a session.
 *     The session holds no pointer into itself: it may be copied with `=`
 *     between calls.  Never write a field whose name starts with '_'.
 *  2. Input.  smtp_feed(s, buf, len, &used, &ev) takes the first `used` octets
 *     of buf; the rest MUST be passed again, at the start of the next call's
 *     buffer, followed by new input.  The octets taken MUST stay unchanged
 *     until the next call of any smtp_ function on s (EV_BODY spans point at
 *     them); after that they are never read again.
 *  3. Spans.  Every span in an event points into the session, into the buf of
 *     the call that returned the event, or at constant data, and is valid
 *     until the next call of any smtp_ function on s, except that a deferred
 *     decision's spans stay valid until its smtp_reply().  Spans are never
 *     NUL-terminated; an empty span has len 0 and a non-NULL ptr.
 *  4. Events.  Read the fields of the event's own member only (ev.rcpt for
 *     SMTP_EV_RCPT, ...); smtp_feed() fills nothing else.
 *  5. Decisions.  A decision event (smtp_event_default() != 0) is answered by
 *     smtp_reply(), or by smtp_defer() and a later smtp_reply().  If the
 *     next smtp_feed() comes first, the default reply is given: MAIL, RCPT
 *     and DATA_END left unanswered are ACCEPTED (250), AUTH is refused (535).
 *  6. Output.  Whenever smtp_output() has bytes, send them and acknowledge
 *     them with smtp_output_done(), partly if need be; until all are
 *     acknowledged smtp_feed() takes nothing and says SMTP_WANT_WRITE.
 *  7. The end.  After SMTP_CLOSED, send what smtp_output() still holds and
 *     close the connection; every smtp_feed() then returns SMTP_CLOSED and
 *     takes nothing, until smtp_init().
 *  8. NULL.  s, used and ev are never NULL; buf may be NULL when len is 0;
 *     text and enh arguments may be NULL (the default).
 *
 * Version: SMTP_VERSION_STRING below (CHANGELOG.md).  Status and limits:
 *  - Both roles: the receiver, and the sender further down.  They share
 *    the octet classes, the path parsers and the per-command reply code
 *    tables; SMTP_NO_SERVER or SMTP_NO_CLIENT leaves one out.
 *  - Extensions: PIPELINING, SIZE, 8BITMIME, ENHANCEDSTATUSCODES, SMTPUTF8 and
 *    LIMITS (RCPTMAX) by default; CHUNKING + BINARYMIME, STARTTLS, AUTH
 *    (PLAIN, LOGIN) and DSN when you enable them.  Each of CHUNKING,
 *    STARTTLS, AUTH, DSN and SMTPUTF8 can be compiled out (SMTP_NO_*).
 *  - Strict by default: only CRLF ends a line (a bare CR or LF never splits
 *    one), DATA ends only on CRLF.CRLF.  Every leniency is an SMTP_OPT_*
 *    flag documented with its risk.  The one exception, blanks between
 *    words, carries no risk and has SMTP_OPT_STRICT_SPACES to turn it off.
 *  - Vendoring: #define SMTP_STATIC and #include "smtp.c" in one file; every
 *    private name in smtp.c starts with smtp__ or SMTP__, and smtp.c builds
 *    as C99 and as C++.
 *
 * MIT licensed, see LICENSE.
 */
#ifndef SMTP_H
#define SMTP_H

/* The version of this file and smtp.c: major.minor.patch (CHANGELOG.md says
 * what each kind of release may change).  SMTP_VERSION is one comparable
 * number, e.g. #if SMTP_VERSION >= 0x010000 for 1.0.0 and later. */
#define SMTP_VERSION_MAJOR 1
#define SMTP_VERSION_MINOR 1
#define SMTP_VERSION_PATCH 0
#define SMTP_VERSION_STRING "1.1.0"
#define SMTP_VERSION ((SMTP_VERSION_MAJOR << 16) | (SMTP_VERSION_MINOR << 8) | SMTP_VERSION_PATCH)

#include <stddef.h>
#include <stdint.h>

#ifdef SMTP_HAS_CONFIG
#include "smtp_config.h"
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* SMTP_API: the storage class of every public function.  Define SMTP_STATIC
 * to make them all `static` (when you #include "smtp.c" into one file);
 * with -Werror, add -Wno-unused-function for the ones you do not call. */
#ifndef SMTP_API
#ifdef SMTP_STATIC
#define SMTP_API static
#else
#define SMTP_API extern
#endif
#endif

/* ---------------------------------------------------------------------------
 * Compile-time limits.  Each is the largest value the matching runtime
 * setting may take; buffers inside struct smtp_session are sized by them.
 * Define them before including smtp.h (or in smtp_config.h) to change them,
 * identically for every file that includes smtp.h.
 * ------------------------------------------------------------------------- */

/* Longest command line, CRLF included (RFC 5321 4.5.3.1.4: 512).
 * MUST be at least 64 (room for "MAIL FROM:<>" and a short path) and at most
 * 65535.  The session holds one line buffer of this size. */
#ifndef SMTP_LINE_MAX
#define SMTP_LINE_MAX 512
#endif

/* Size of the reply buffer: the longest reply the core can produce at once,
 * all lines of a multi-line reply together.  Each reply line is at most 512
 * octets, CRLF included (RFC 5321 4.5.3.1.5).  MUST be at least 512 so that
 * the EHLO reply with a 255-octet hostname fits; at most 65535. */
#ifndef SMTP_REPLY_MAX
#define SMTP_REPLY_MAX 512
#endif

/* Longest line of mail data, CRLF included (RFC 5321 4.5.3.1.6: 1000).
 * Only a counter: no buffer grows with it.  MUST be at least 3. */
#ifndef SMTP_TEXT_LINE_MAX
#define SMTP_TEXT_LINE_MAX 1000
#endif

/* Most recipients in one transaction (RFC 5321 4.5.3.1.8: at least 100).
 * MUST be between 1 and 65535; only a counter. */
#ifndef SMTP_RCPT_MAX
#define SMTP_RCPT_MAX 100
#endif

/* Path, local-part and domain limits of RFC 5321 4.5.3.1.1-3.  The path
 * length counts the angle brackets and any source route. */
#ifndef SMTP_PATH_MAX
#define SMTP_PATH_MAX 256
#endif
#ifndef SMTP_LOCAL_MAX
#define SMTP_LOCAL_MAX 64
#endif
#ifndef SMTP_DOMAIN_MAX
#define SMTP_DOMAIN_MAX 255
#endif

/* Longest AUTH user name kept between the two steps of AUTH LOGIN, after
 * base64 decoding.  AUTH lines themselves are command lines: RFC 4954 allows
 * 12288 octets, this core caps them at SMTP_LINE_MAX (500 5.5.6 beyond),
 * which holds any PLAIN or LOGIN exchange with names and passwords of up to
 * ~250 octets. */
#ifndef SMTP_AUTH_USER_MAX
#define SMTP_AUTH_USER_MAX 128
#endif

/* Compile-out switches: define to leave an extension out entirely (its
 * verb answers 502, its parameters 555, its SMTP_EXT_ bit is ignored).
 *   SMTP_NO_CHUNKING  BDAT, CHUNKING, BINARYMIME (RFC 3030)
 *   SMTP_NO_STARTTLS  STARTTLS (RFC 3207)
 *   SMTP_NO_AUTH      AUTH, MAIL AUTH= (RFC 4954); also drops the
 *                     SMTP_AUTH_USER_MAX buffer from the session
 *   SMTP_NO_DSN       RET= ENVID= NOTIFY= ORCPT= (RFC 3461)
 *   SMTP_NO_SMTPUTF8  SMTPUTF8 (RFC 6531): 8-bit addresses always refused
 *   SMTP_NO_OAUTH     the sender's XOAUTH2 and OAUTHBEARER (RFC 7628)
 *   SMTP_NO_SERVER    the whole receiver (a device that only sends)
 *   SMTP_NO_CLIENT    the whole sender
 * What each one means for the sender is in its section below. */

/* SMTP_SMALL: where the core has a faster code path for common input
 * beside the general one (the receiver: a plain "<local@domain>" path;
 * "RCPT TO:" with no parameters; the sender: a body's spans over DATA
 * found in one loop), 1 keeps only the general, smaller one and 0 both.
 * The replies, events, octets sent and struct layout are the same either
 * way.  Defaults to
 * 1 when the compiler optimises for size (-Os: __OPTIMIZE_SIZE__), else 0;
 * define it to choose. */
#ifndef SMTP_SMALL
#ifdef __OPTIMIZE_SIZE__
#define SMTP_SMALL 1
#else
#define SMTP_SMALL 0
#endif
#endif

#if SMTP_LINE_MAX < 64 || SMTP_LINE_MAX > 65535
#error "SMTP_LINE_MAX must be between 64 and 65535"
#endif
#if SMTP_REPLY_MAX < 512 || SMTP_REPLY_MAX > 65535
#error "SMTP_REPLY_MAX must be between 512 and 65535"
#endif
#if SMTP_TEXT_LINE_MAX < 3
#error "SMTP_TEXT_LINE_MAX must be at least 3"
#endif
#if SMTP_RCPT_MAX < 1 || SMTP_RCPT_MAX > 65535
#error "SMTP_RCPT_MAX must be between 1 and 65535"
#endif
#if SMTP_AUTH_USER_MAX < 1 || SMTP_AUTH_USER_MAX > 255
#error "SMTP_AUTH_USER_MAX must be between 1 and 255"
#endif
#if SMTP_LOCAL_MAX < 1 || SMTP_DOMAIN_MAX < 1 || SMTP_PATH_MAX < 4
#error "SMTP_LOCAL_MAX, SMTP_DOMAIN_MAX and SMTP_PATH_MAX are too small"
#endif

/* ---------------------------------------------------------------------------
 * Enumerations
 * ------------------------------------------------------------------------- */

/* What smtp_feed() returns: a status (negative or zero) or an event
 * (positive).  Columns: name, number, the default reply of a decision event
 * (0: not a decision; smtp_event_default() returns it), description.  The
 * names come back from smtp_event_name(). */
#define SMTP_EVENT_MAP(X)                                                       \
    X(TURNED, -4, 0, "TURN/ATRN accepted: send the output, then be the sender") \
    X(CLOSED, -3, 0, "session over: send the pending output, then close")       \
    X(PENDING, -2, 0, "waiting for smtp_reply() to a deferred decision")        \
    X(WANT_WRITE, -1, 0, "reply bytes wait in smtp_output(); take them first")  \
    X(NEED_INPUT, 0, 0, "all input consumed; feed more")                        \
    X(EV_CONNECT, 1, 220, "new session: 220 (default) or 554 to refuse")        \
    X(EV_HELO, 2, 250, "HELO <domain>: decide")                                 \
    X(EV_EHLO, 3, 250, "EHLO <domain>: decide")                                 \
    X(EV_MAIL, 4, 250, "MAIL (or SEND/SOML/SAML) FROM:<path>: decide")          \
    X(EV_RCPT, 5, 250, "RCPT TO:<path>: decide")                                \
    X(EV_DATA, 6, 354, "DATA: decide whether to take a message (354)")          \
    X(EV_BODY, 7, 0, "a chunk of dot-unstuffed message data")                   \
    X(EV_DATA_END, 8, 250, "end of message: decide, unless end.reject is set")  \
    X(EV_RSET, 9, 0, "RSET: transaction aborted (already answered 250)")        \
    X(EV_VRFY, 10, 252, "VRFY <string>: decide")                                \
    X(EV_EXPN, 11, 502, "EXPN <string>: decide")                                \
    X(EV_HELP, 12, 214, "HELP [topic]: decide")                                 \
    X(EV_NOOP, 13, 0, "NOOP: already answered 250")                             \
    X(EV_QUIT, 14, 0, "QUIT: already answered 221; SMTP_CLOSED follows")        \
    X(EV_STARTTLS, 15, 220, "STARTTLS: decide, then smtp_tls_done()")           \
    X(EV_AUTH, 16, 535, "AUTH credentials decoded: decide (235 to accept)")     \
    X(EV_BDAT, 17, 0, "BDAT chunk accepted: its octets follow as EV_BODY")      \
    X(EV_TURN, 18, 502, "TURN: decide; 250 reverses the roles (SMTP_TURNED)")   \
    X(EV_ATRN, 19, 453, "ATRN [domains]: decide; 250 reverses the roles")

enum smtp_event_type {
/* clang-format off */
#define SMTP__EV_ENUM(name, num, dflt, desc) SMTP_##name = num,
    SMTP_EVENT_MAP(SMTP__EV_ENUM)
#undef SMTP__EV_ENUM
    SMTP__EV_LAST = 19
    /* clang-format on */
};

/* Return codes of smtp_reply(), smtp_defer() and the parse helpers.
 * 0 is success; every failure is a distinct negative number. */
#define SMTP_ERR_MAP(X)                                                          \
    X(OK, 0, "success")                                                          \
    X(ERR_STATE, -1, "no decision is waiting for an answer")                     \
    X(ERR_CODE, -2, "reply code not allowed for this command (RFC 5321 4.3.2)")  \
    X(ERR_SYNTAX, -3, "syntax error")                                            \
    X(ERR_LOCAL_LEN, -4, "local-part longer than SMTP_LOCAL_MAX")                \
    X(ERR_DOMAIN_LEN, -5, "domain longer than SMTP_DOMAIN_MAX or label > 63")    \
    X(ERR_PATH_LEN, -6, "path longer than SMTP_PATH_MAX")                        \
    X(ERR_UTF8, -7, "8-bit octets not allowed here, or malformed UTF-8")         \
    X(ERR_BUSY, -8, "not now: send the output or wait for a reply, then retry")  \
    X(ERR_EXT, -9, "the server did not offer the extension this needs")          \
    X(ERR_SIZE, -10, "larger than the SIZE the server announced")                \
    X(ERR_LIMIT, -11, "the server takes no more recipients in this transaction") \
    X(ERR_NORCPT, -12, "no recipient was accepted: the transaction was reset")   \
    X(ERR_TLS, -13, "needs TLS first (or SMTP_COPT_AUTH_PLAINTEXT)")             \
    X(ERR_BARE, -14, "a bare CR or LF in the body, refused by SMTP_COPT_BARE_REFUSE")

enum smtp_err {
/* clang-format off */
#define SMTP__ERR_ENUM(name, num, desc) SMTP_##name = num,
    SMTP_ERR_MAP(SMTP__ERR_ENUM)
#undef SMTP__ERR_ENUM
    SMTP__ERR_LAST = -14
    /* clang-format on */
};

/* Option bits for smtp_config.options.  All off by default (strict). */
enum smtp_option {
    /* Accept a bare LF as the end of a command line, as Postfix and Exim do.
     * RISK: a bare LF then ends commands but never ends DATA; a peer that
     * parses differently may read lines differently than we do. */
    SMTP_OPT_LF_LINES = 1u << 0,
    /* Keep a bare CR or bare LF inside message data as it is.  It never ends
     * a line for dot-unstuffing and never ends the data.  RISK: downstream
     * software that treats a bare LF as a line end can be smuggled into. */
    SMTP_OPT_BARE_KEEP = 1u << 1,
    /* Turn each bare CR and bare LF in message data into CRLF.  It still
     * never ends the data and the next octet is not a line start, so a dot
     * after it is kept as data.  RISK: the body changes. */
    SMTP_OPT_BARE_NORMALIZE = 1u << 2,
    /* Enable SEND, SOML and SAML (RFC 821): they open a transaction like
     * MAIL, and EV_MAIL says which was used.  Off: they answer 502. */
    SMTP_OPT_SEND = 1u << 3,
    /* Act as a plain RFC 821 server: no EHLO (502), no enhanced codes. */
    SMTP_OPT_NO_ESMTP = 1u << 4,
    /* MAIL, SEND, SOML, SAML and AUTH before TLS (STARTTLS, or implicit TLS
     * announced by smtp_tls_done() right after smtp_init()) get 530 5.7.0
     * (RFC 3207 4). */
    SMTP_OPT_REQUIRE_TLS = 1u << 5,
    /* With SMTP_EXT_AUTH: allow AUTH without TLS.  RISK: passwords travel
     * in clear text.  Off: AUTH before TLS gets 538 5.7.11 (RFC 4954 4). */
    SMTP_OPT_AUTH_PLAINTEXT = 1u << 6,
    /* The letter of RFC 5321 4.1.1's grammar for blanks: exactly one SP
     * between the verb and its argument and between ESMTP parameters, none
     * after "FROM:" / "TO:", none at the end of a line, and HTAB is never a
     * separator.  Off (the default): runs of SP and HTAB are accepted in
     * those places and trailing ones are ignored, as Postfix, Exim and most
     * servers do and real senders rely on.  Blanks inside a CRLF-terminated
     * line cannot split or join commands, so the default carries no
     * smuggling risk. */
    SMTP_OPT_STRICT_SPACES = 1u << 7,
    /* Accept RFC 821's TURN (SMTP_EV_TURN): after your 250 the roles
     * reverse and you deliver, on this connection, mail held for the
     * client.  RISK: nothing proves who the client is (why RFC 2821
     * removed TURN): anyone who can connect can collect that mail.  Give
     * 250 only to a client you authenticated some other way (a TLS client
     * certificate, a private network); prefer ATRN (SMTP_EXT_ATRN), which
     * needs AUTH.  Off: TURN answers 502. */
    SMTP_OPT_TURN = 1u << 8
};

/* Extension bits for smtp_config.extensions: what EHLO advertises and
 * which MAIL parameters are accepted. */
enum smtp_extension {
    SMTP_EXT_PIPELINING = 1u << 0,          /* RFC 2920 */
    SMTP_EXT_SIZE = 1u << 1,                /* RFC 1870: SIZE= */
    SMTP_EXT_8BITMIME = 1u << 2,            /* RFC 6152: BODY= */
    SMTP_EXT_ENHANCEDSTATUSCODES = 1u << 3, /* RFC 2034 / 3463 */
    SMTP_EXT_SMTPUTF8 = 1u << 4,            /* RFC 6531: SMTPUTF8 */
    SMTP_EXT_LIMITS = 1u << 5,              /* RFC 9422: LIMITS RCPTMAX= */
    SMTP_EXT_DEFAULT = 0x3fu,
    /* Off by default: each needs the application's part. */
    SMTP_EXT_CHUNKING = 1u << 6,   /* RFC 3030: BDAT */
    SMTP_EXT_BINARYMIME = 1u << 7, /* RFC 3030: BODY=BINARYMIME; needs CHUNKING */
    SMTP_EXT_STARTTLS = 1u << 8,   /* RFC 3207: you run the TLS handshake */
    SMTP_EXT_AUTH = 1u << 9,       /* RFC 4954: PLAIN and LOGIN; you verify */
    SMTP_EXT_DSN = 1u << 10,       /* RFC 3461: you generate the reports */
    SMTP_EXT_ATRN = 1u << 11       /* RFC 2645: ATRN after AUTH (530 before);
                                      needs SMTP_EXT_AUTH; you hand the mail over */
};

/* How a transaction was opened (ev.mail.mode). */
enum smtp_mode {
    SMTP_MODE_MAIL = 0, /* MAIL: deliver to mailboxes */
    SMTP_MODE_SEND = 1, /* SEND: deliver to terminals */
    SMTP_MODE_SOML = 2, /* SOML: terminals or mailboxes */
    SMTP_MODE_SAML = 3  /* SAML: terminals and mailboxes */
};

/* BODY= of MAIL (ev.mail.body). */
enum smtp_body {
    SMTP_BODY_NONE = 0,      /* no BODY parameter */
    SMTP_BODY_7BIT = 1,      /* BODY=7BIT */
    SMTP_BODY_8BITMIME = 2,  /* BODY=8BITMIME */
    SMTP_BODY_BINARYMIME = 3 /* BODY=BINARYMIME: the data comes by BDAT only */
};

/* DSN values (RFC 3461): ev.mail.ret and the ev.rcpt.notify bits. */
enum smtp_dsn {
    SMTP_RET_NONE = 0,
    SMTP_RET_FULL = 1,
    SMTP_RET_HDRS = 2,
    SMTP_NOTIFY_NEVER = 1u << 0,
    SMTP_NOTIFY_SUCCESS = 1u << 1,
    SMTP_NOTIFY_FAILURE = 1u << 2,
    SMTP_NOTIFY_DELAY = 1u << 3
};

/* Why the core refused a message at its end (ev.end.reject for EV_DATA_END).  The core has already
 * queued the reply named here.  A BDAT chunk that would pass max_size ends the transaction the same
 * way: an EV_DATA_END with SMTP_REJECT_SIZE, then the chunk is read and dropped.  When several
 * apply, the highest number wins.  EV_BODY still hands out the whole message (up to max_size
 * octets, never more) whatever the verdict, so that what you receive never depends on how the input
 * was split. */
enum smtp_reject {
    SMTP_REJECT_NONE = 0,      /* not refused: decide */
    SMTP_REJECT_BARE = 1,      /* bare CR or LF, strict mode: 554 5.6.0 */
    SMTP_REJECT_LONG_LINE = 2, /* a line over max_text_line: 554 5.6.0 */
    SMTP_REJECT_SIZE = 3       /* over max_size: 552 5.3.4 */
};

/* Why smtp_shutdown() ends a session: the 421 reply it gives. */
enum smtp_bye {
    SMTP_BYE_SHUTDOWN = 0, /* 421 4.3.2 Service not available, closing ... */
    SMTP_BYE_TIMEOUT = 1,  /* 421 4.4.2 Timeout, closing transmission channel */
    SMTP_BYE_BUSY = 2      /* 421 4.3.2 Too busy, try again later */
};

/* SASL mechanisms of AUTH (ev.auth.mech). */
enum smtp_mech {
    SMTP_MECH_PLAIN = 1,      /* RFC 4616 */
    SMTP_MECH_LOGIN = 2,      /* draft-murchison-sasl-login */
    SMTP_MECH_XOAUTH2 = 3,    /* Google/Microsoft XOAUTH2 (sender only) */
    SMTP_MECH_OAUTHBEARER = 4 /* RFC 7628 (sender only) */
};

/* ---------------------------------------------------------------------------
 * Types
 * ------------------------------------------------------------------------- */

/* A span of octets: not NUL-terminated.  Empty spans have len 0 and a
 * non-NULL ptr (so memcpy(dst, ptr, len) is always defined). */
struct smtp_span {
    const char *ptr;
    size_t len;
};

/* A parsed Reverse-path or Forward-path (RFC 5321 4.1.2). */
struct smtp_path {
    struct smtp_span mailbox; /* local@domain, empty for "<>" */
    struct smtp_span local;   /* local-part, quotes kept */
    struct smtp_span domain;  /* domain or address literal; empty for
                                 <Postmaster> */
    size_t len;               /* octets of the path, brackets included */
};

/* Settings.  smtp_config_default() fills it; change what you need and pass
 * it to smtp_init(), which copies it (the hostname string itself is not
 * copied and must outlive the session).  Values larger than the compile-time
 * caps are clamped to them; zero means the default. */
struct smtp_config {
    const char *hostname;   /* our name in 220/221/421 and EHLO; NUL-terminated,
                               default "localhost"; CR, LF and other control
                               octets are replaced by '?', longer than 255
                               octets is cut */
    uint64_t max_size;      /* largest message in octets (SIZE, 552); 0: no
                               limit, advertised as "SIZE" with no number */
    uint32_t options;       /* SMTP_OPT_* bits */
    uint32_t extensions;    /* SMTP_EXT_* bits; default SMTP_EXT_DEFAULT */
    uint16_t max_line;      /* command line, CRLF included; <= SMTP_LINE_MAX */
    uint16_t max_rcpt;      /* recipients per transaction; <= SMTP_RCPT_MAX */
    uint32_t max_text_line; /* data line, CRLF included; <= SMTP_TEXT_LINE_MAX */
    uint16_t max_errors;    /* syntax/sequence errors (500-504, 555) before the
                               session is ended with 421; default 10, 0xffff:
                               never */
    uint8_t max_auth_fails; /* AUTH attempts your answer refused with a 5xx
                               (535 and kin) that are allowed; the next
                               refusal is replaced by "421 4.7.0" and the
                               session ends (password guessing).  Default 3;
                               255: never */
};

/* An event, filled by smtp_feed(): `type` (the same as smtp_feed()'s return
 * value) and the member named for it, nothing else (rule 4).  Every member
 * starts with `int type`, so ev.type is always valid. */
union smtp_event {
    int type;
    struct smtp_ev_hello { /* SMTP_EV_HELO, SMTP_EV_EHLO */
        int type;
        struct smtp_span domain; /* Domain or [address literal] */
    } hello;
    struct smtp_ev_mail { /* SMTP_EV_MAIL */
        int type;
        struct smtp_path path;   /* mailbox empty for MAIL FROM:<> */
        struct smtp_span params; /* the ESMTP parameters, as sent */
        uint64_t size;           /* SIZE=, 0: none */
        uint8_t mode;            /* enum smtp_mode: MAIL, SEND, SOML, SAML */
        uint8_t body;            /* enum smtp_body */
        uint8_t smtputf8;        /* 1: SMTPUTF8 given */
#ifndef SMTP_NO_DSN
        uint8_t ret;            /* SMTP_RET_* */
        struct smtp_span envid; /* ENVID= as sent: xtext, validated;
                                   smtp_xtext_decode() decodes it */
#endif
#ifndef SMTP_NO_AUTH
        struct smtp_span auth; /* AUTH= as sent: xtext or "<>" */
#endif
    } mail;
    struct smtp_ev_rcpt { /* SMTP_EV_RCPT */
        int type;
        struct smtp_path path;   /* domain empty for <Postmaster> */
        struct smtp_span params; /* the ESMTP parameters, as sent */
#ifndef SMTP_NO_DSN
        uint8_t notify;         /* SMTP_NOTIFY_* bits, 0: none given */
        struct smtp_span orcpt; /* ORCPT= as sent: "type;" xtext */
#endif
    } rcpt;
    struct smtp_ev_data { /* SMTP_EV_DATA */
        int type;
        uint16_t rcpts; /* accepted recipients */
    } data;
    struct smtp_ev_body { /* SMTP_EV_BODY */
        int type;
        struct smtp_span data; /* dot-unstuffed message octets */
    } body;
    struct smtp_ev_end { /* SMTP_EV_DATA_END */
        int type;
        uint8_t reject; /* enum smtp_reject: 0, or the core has
                           refused the message already */
        uint16_t rcpts; /* accepted recipients */
        uint64_t size;  /* message octets handed out as EV_BODY */
    } end;
    struct smtp_ev_turn { /* SMTP_EV_TURN, SMTP_EV_ATRN */
        int type;
        struct smtp_span domains; /* ATRN's argument: Domains separated by ',',
                                     each checked; empty for TURN or a bare
                                     ATRN (all the client's domains) */
    } turn;
    struct smtp_ev_string { /* SMTP_EV_VRFY, _EXPN, _HELP, _NOOP */
        int type;
        struct smtp_span arg; /* the argument, without the blanks around
                                 it; empty when none was given */
    } string;
#ifndef SMTP_NO_CHUNKING
    struct smtp_ev_bdat { /* SMTP_EV_BDAT */
        int type;
        uint8_t last;  /* 1 for BDAT ... LAST */
        uint64_t size; /* the chunk's octets, as EV_BODY next */
    } bdat;
#endif
#ifndef SMTP_NO_AUTH
    struct smtp_ev_auth { /* SMTP_EV_AUTH */
        int type;
        uint8_t mech;             /* enum smtp_mech */
        struct smtp_span authzid; /* PLAIN's authorization identity, often
                                     empty; decoded */
        struct smtp_span user;    /* decoded */
        struct smtp_span pass;    /* decoded.  Wipe your copies; the core
                                     wipes its own when you answer. */
    } auth;
#endif
};

/* The session state.  Its size is fixed at compile time; it may be copied
 * with `=` between calls (no pointers into itself).  Fields starting with
 * '_' are private: read them in a debugger, never write them. */
struct smtp_session {
    struct smtp_config cfg;      /* copy of the settings (read-only) */
    uint64_t _size;              /* data octets of the current message */
    uint64_t _chunk;             /* BDAT octets still to take (or skip) */
    uint32_t _text_len;          /* octets of the current data line */
    uint16_t _line_len;          /* octets in _line */
    uint16_t _out_len, _out_off; /* pending reply bytes are _out[_out_off.._out_len) */
    uint16_t _rcpts;             /* accepted recipients */
    uint16_t _errors;            /* syntax/sequence errors so far */
    uint16_t _flags;             /* smtp.c: SMTP__F_* bits */
    uint8_t _state;              /* protocol state (smtp.c: SMTP__ST_*) */
    uint8_t _dstate;             /* DATA scanner state */
    uint8_t _await;              /* event waiting for a decision, or 0 */
    uint8_t _lflags;             /* current command line: SMTP__L_* bits */
    uint8_t _reject;             /* enum smtp_reject for the current message */
    uint8_t _bye;                /* enum smtp_bye of smtp_shutdown() */
    uint8_t _again, _again_len;  /* a default reply still in _out[0.._again_len), or 0 */
    char _line[SMTP_LINE_MAX];   /* the command line being assembled */
    char _out[SMTP_REPLY_MAX];   /* replies to send */
#ifndef SMTP_NO_AUTH
    uint8_t _auth_len;              /* AUTH LOGIN: octets in _auth */
    uint8_t _auth_fails;            /* AUTH attempts refused with a 5xx */
    char _auth[SMTP_AUTH_USER_MAX]; /* AUTH LOGIN: user name between steps */
#endif
};

/* ---------------------------------------------------------------------------
 * API
 * ------------------------------------------------------------------------- */

/* Fills *cfg with the defaults: hostname "localhost", max_size 0 (no limit),
 * no options, SMTP_EXT_DEFAULT, and the compile-time caps as limits. */
SMTP_API void smtp_config_default(struct smtp_config *cfg);

/* Starts a session.  cfg may be NULL for the defaults; it is copied, so it
 * need not outlive the call (cfg->hostname must).  Any earlier content of
 * *s is overwritten: smtp_init() is also how a session is reused.  The first
 * smtp_feed() returns SMTP_EV_CONNECT. */
SMTP_API void smtp_init(struct smtp_session *s, const struct smtp_config *cfg);

/* Pushes input and advances the session by at most one event.  buf/len:
 * octets received from the client; *used: how many of them were taken
 * (rules 2 and 8); *ev: the event, when one is returned (rules 3 and 4).
 *
 * Returns one of:
 *   SMTP_NEED_INPUT  (0)  every octet was taken; call again with new input.
 *   SMTP_WANT_WRITE  (-1) replies wait in smtp_output(): nothing more is
 *                         taken until they are all acknowledged (rule 6).
 *   SMTP_PENDING     (-2) a deferred decision waits for smtp_reply().
 *   SMTP_CLOSED      (-3) the session is over (QUIT, 421): rule 7.
 *   SMTP_TURNED      (-4) TURN or ATRN got your 250 and it has been sent:
 *                         this session is over, and the connection now
 *                         runs the other way.  smtp_client_init() a sender
 *                         on it; the octets not taken are its input (the
 *                         client's 220 greeting).  Every later smtp_feed()
 *                         returns SMTP_TURNED and takes nothing.
 *   SMTP_EV_*        (>0) an event.  Decision events (those with a default
 *                         reply in SMTP_EVENT_MAP) wait for smtp_reply()
 *                         (rule 5); the others are already answered.
 *
 * The result does not depend on how the input is split: feeding a session
 * whole or one octet at a time gives the same events and replies (only
 * EV_BODY chunks are cut differently). */
SMTP_API int smtp_feed(struct smtp_session *s, const void *buf, size_t len, size_t *used,
                       union smtp_event *ev);

/* Answers the decision event smtp_feed() last returned.
 *
 * code: a reply code the RFC 5321 4.3.2 / RFC 821 4.3 tables allow for that
 *   command (e.g. RCPT: 250 251 421 450 451 452 501 503 550 551 552 553 555);
 *   otherwise SMTP_ERR_CODE and nothing changes.  421 also ends the session.
 * enh: the RFC 3463 enhanced status code ("5.1.1"), or NULL for a default
 *   matching the command and code.  Sent only after EHLO.
 * text: the reply text, or NULL for the default.  '\n' separates lines of a
 *   multi-line reply; other control octets become '?'.  Text that does not
 *   fit the line or the reply buffer is cut; the code and the enhanced code
 *   never are (a line that cannot hold them whole is left out).  For EHLO a
 *   250 always lists every extension keyword and value whole; the first
 *   line of text follows the hostname, cut to what room the keywords
 *   leave.
 *
 * Returns SMTP_OK, SMTP_ERR_STATE (no decision waiting) or SMTP_ERR_CODE.
 * A positive answer moves the session on (MAIL opens the transaction, 354
 * starts the data phase, ...); a negative one leaves the state as it was. */
SMTP_API int smtp_reply(struct smtp_session *s, unsigned code, const char *enh, const char *text);

/* Keeps the decision open past the next smtp_feed(): until smtp_reply() is
 * called, smtp_feed() takes nothing and returns SMTP_PENDING.  Returns
 * SMTP_OK or SMTP_ERR_STATE. */
SMTP_API int smtp_defer(struct smtp_session *s);

/* The decision event waiting for smtp_reply() (returned and not answered
 * yet, or deferred), or 0.  EV_DATA_END with end.reject set, and every
 * non-decision event, leave nothing waiting. */
SMTP_API int smtp_awaiting(const struct smtp_session *s);

/* The default reply code of event type ev (what the next smtp_feed() sends
 * for an unanswered decision), or 0 when ev is not a decision event. */
SMTP_API unsigned smtp_event_default(int ev);

/* The reply bytes waiting to be sent, or NULL (and *len 0) when none.  The
 * pointer is into the session and valid until the next call on it. */
SMTP_API const char *smtp_output(const struct smtp_session *s, size_t *len);

/* Acknowledges that n bytes (at most what smtp_output() reported) of the
 * output were sent.  Partial acknowledgements are fine. */
SMTP_API void smtp_output_done(struct smtp_session *s, size_t n);

/* Asks the session to end with a 421 reply (RFC 5321 3.8) that says why:
 * enum smtp_bye.  now == 0: the next command gets the 421 (QUIT still gets
 * 221) and the session ends.  now != 0: the 421 is queued at once (after
 * any pending output) and the session ends; a message being received is
 * lost, a waiting decision is dropped.  Between STARTTLS's 220 and
 * smtp_tls_done() there is no place for a plaintext reply: the session just
 * ends, and you close the connection. */
SMTP_API void smtp_shutdown(struct smtp_session *s, int now, int why);

/* 1 when the session is over (SMTP_CLOSED), else 0. */
SMTP_API int smtp_closed(const struct smtp_session *s);

/* STARTTLS: call once the TLS handshake that followed EV_STARTTLS's 220
 * succeeded (or right after smtp_init() for implicit TLS on port 465).  The
 * session goes back to its start, as RFC 3207 4.2 asks: the client must
 * EHLO again, and EHLO no longer offers STARTTLS.  Between the 220 and this
 * call smtp_feed() takes and discards every byte (plaintext the client
 * pipelined after STARTTLS, CVE-2011-0411).  If the handshake fails, close
 * the connection.  Returns SMTP_OK or SMTP_ERR_STATE. */
SMTP_API int smtp_tls_done(struct smtp_session *s);

/* Decodes RFC 3461 xtext ("+2B" for '+') from p[0..n) into out[0..cap).
 * Returns the decoded length, or -1 for malformed xtext or a too small
 * out. */
SMTP_API long smtp_xtext_decode(const char *p, size_t n, char *out, size_t cap);

/* Flags for smtp_parse_path(). */
enum smtp_path_flag {
    SMTP_PATH_NULL_OK = 1u << 0,    /* "<>" is allowed (reverse-path) */
    SMTP_PATH_POSTMASTER = 1u << 1, /* "<Postmaster>" without a domain */
    SMTP_PATH_UTF8 = 1u << 2        /* UTF-8 octets allowed (RFC 6531) */
};

/* Parses a path "<...>" at the start of p[0..n).  On success fills *out and
 * returns SMTP_OK; out->len says where the path ended (the caller checks
 * what follows).  Otherwise a negative enum smtp_err.  Reads nothing past
 * p[n-1]; p may be NULL when n is 0. */
SMTP_API int smtp_parse_path(const char *p, size_t n, unsigned flags, struct smtp_path *out);

/* Checks that p[0..n) is exactly a Domain, or with allow_literal an
 * address-literal too ([192.0.2.1], [IPv6:...], [tag:...]).  Returns
 * SMTP_OK or a negative enum smtp_err. */
SMTP_API int smtp_parse_domain(const char *p, size_t n, int allow_literal);

/* Parses "digits" in p[0..n) into *out with an overflow check.  Returns
 * SMTP_OK, or SMTP_ERR_SYNTAX for an empty span or a non-digit (*out is 0)
 * or for digits only whose value is above UINT64_MAX (*out is UINT64_MAX:
 * "too large", never a wrapped small number). */
SMTP_API int smtp_parse_u64(const char *p, size_t n, uint64_t *out);

/* Names and descriptions for the enums above: "EV_RCPT" / "RCPT TO:<path>:
 * decide", "ERR_CODE" / ...  Unknown values give "?", and so do the
 * descriptions when built with SMTP_TERSE. */
SMTP_API const char *smtp_event_name(int ev);
SMTP_API const char *smtp_event_desc(int ev);
SMTP_API const char *smtp_err_name(int err);
SMTP_API const char *smtp_err_desc(int err);

/* ===========================================================================
 * The sender (client) role
 *
 * A sans-I/O SMTP client: you push the bytes the server sent, it hands back
 * events (one per reply that matters to you) and command bytes to send.  It
 * greets with EHLO (HELO when EHLO gets 500/502), runs STARTTLS and EHLO
 * again by the TLS policy, then says SMTP_CEV_READY; you call
 * smtp_client_mail(), _rcpt(), _data(), _body(), _end() for each message
 * and smtp_client_quit() at the end.  Leave it out with SMTP_NO_CLIENT (and
 * the receiver with SMTP_NO_SERVER).
 *
 *     struct smtp_client c;
 *     union smtp_cevent ev;
 *     smtp_client_init(&c, NULL);                 // EHLO localhost, no TLS
 *     for (;;) {
 *         int st = smtp_client_feed(&c, in, in_len, &used, &ev);
 *         in += used; in_len -= used;
 *         if (st == SMTP_CEV_READY) start_message(&c);    // MAIL, RCPT, ...
 *         if (st == SMTP_CEV_SENT) note(ev.reply.code);   // 250: delivered
 *         push_commands(&c);                      // next RCPT, body chunk...
 *         send_all(&c);                           // smtp_client_output/_done
 *         if (st == SMTP_CLOSED) break;
 *         if (st == SMTP_NEED_INPUT) in_len = read(fd, in = buf, sizeof buf);
 *     }
 *
 * Rules 1 (with smtp_client_init()), 2 (smtp_client_feed() for smtp_feed()),
 * 3, 7 and 8 above hold for the client too, and these:
 *  C1. Commands.  smtp_client_mail(), _rcpt(), _data(), _body(), _end(),
 *      _rset(), _noop(), _auth() and _quit() queue a command and return
 *      SMTP_OK, or refuse it with a negative enum smtp_err and change
 *      nothing.  SMTP_ERR_BUSY means "not now": send the output, feed the
 *      replies and call again.  SMTP_ERR_STATE means never in this state.
 *      No call can put a command out of sequence: no MAIL before READY, no
 *      RCPT before MAIL, no DATA without a recipient, no body before 354.
 *  C2. Pipelining.  When the server offers PIPELINING (RFC 2920) MAIL, the
 *      RCPTs and DATA are queued without waiting and go in one write;
 *      otherwise each waits for the reply to the one before (ERR_BUSY).
 *      Replies are matched to the commands in order; each comes back as its
 *      event.
 *  C3. Body.  smtp_client_body(c, buf, len, &used) takes the first `used`
 *      octets; pass the rest again (as rule 2).  Plain runs of the body are
 *      not copied: smtp_client_output() may point into buf, so the octets
 *      taken MUST stay unchanged until the output is acknowledged.  Over
 *      DATA it takes all of buf at once (or up to a bare CR or LF it
 *      refuses) and finds the lines as the output drains: one call, many
 *      output spans.
 *  C4. Strings.  Addresses and parameters you pass are NUL-terminated and
 *      are copied into the output at once; credentials given to
 *      smtp_client_auth() MUST stay valid until SMTP_CEV_AUTH (they are
 *      encoded as the output drains, never whole in the core).
 *  C5. Replies.  A reply the server should not give (a code RFC 5321 4.3.2
 *      or the extension's RFC does not list for the command, a malformed or
 *      over-long line, more than max_reply_lines lines, a NUL) ends the
 *      session: the client sends QUIT (unless inside the message data or
 *      after part of a line went out, or QUIT was sent already) and returns
 *      SMTP_CEV_CLOSED with why SMTP_WHY_PROTOCOL.  421 ends the session at
 *      any point.
 *
 * The compile-out switches (SMTP_NO_*, above) leave the client's side of
 * an extension out as if no server ever offered it: the call or parameter
 * that needs it returns SMTP_ERR_EXT, and the API keeps its shape, so the
 * same application builds with any switch set.
 *   SMTP_NO_AUTH      smtp_client_auth() always returns SMTP_ERR_EXT and
 *                     caps.mechs stays 0; the SASL state leaves the struct.
 *                     ATRN needs AUTH: smtp_client_atrn() is SMTP_ERR_EXT.
 *   SMTP_NO_OAUTH     XOAUTH2 and OAUTHBEARER: SMTP_ERR_EXT, never in
 *                     caps.mechs (PLAIN and LOGIN stay).
 *   SMTP_NO_STARTTLS  never STARTTLS: SMTP_TLS_OPPORTUNISTIC stays in
 *                     plaintext, SMTP_TLS_REQUIRED can never be met (the
 *                     session ends after EHLO: CEV_CLOSED, SMTP_WHY_NO_TLS,
 *                     whatever the server offers); SMTP_TLS_IMPLICIT works.
 *                     smtp_client_tls_done() returns SMTP_ERR_STATE.
 *   SMTP_NO_CHUNKING  never BDAT: the body goes by DATA even when CHUNKING
 *                     is offered; BODY=BINARYMIME is SMTP_ERR_EXT.
 *   SMTP_NO_DSN       RET, ENVID, NOTIFY and ORCPT are SMTP_ERR_EXT.
 *   SMTP_NO_SMTPUTF8  the SMTPUTF8 parameter is SMTP_ERR_EXT and 8-bit
 *                     addresses SMTP_ERR_UTF8.
 * ========================================================================= */

#ifndef SMTP_NO_CLIENT

/* Command bytes the client queues at once: one pipelined group, a chunk
 * header, a line of an AUTH exchange.  MUST be at least 512 (one command
 * line) and at most 65535. */
/* A reply line, CRLF included (RFC 5321 4.5.3.1.5); longer ones end the
 * session (rule C5). */
#define SMTP__CLIENT_LINE 512

#ifndef SMTP_CLIENT_OUT_MAX
#define SMTP_CLIENT_OUT_MAX 512
#endif

/* Octets of reply text kept for an event (ev.reply.text): the lines' texts
 * joined by '\n', cut beyond this.  MUST be between 16 and 65535. */
#ifndef SMTP_CLIENT_TEXT_MAX
#define SMTP_CLIENT_TEXT_MAX 256
#endif

/* Commands sent and not yet answered, at most (a pipelined group). */
#ifndef SMTP_CLIENT_PIPE_MAX
#define SMTP_CLIENT_PIPE_MAX 32
#endif

#if SMTP_CLIENT_OUT_MAX < 512 || SMTP_CLIENT_OUT_MAX > 65535
#error "SMTP_CLIENT_OUT_MAX must be between 512 and 65535"
#endif
#if SMTP_CLIENT_TEXT_MAX < 16 || SMTP_CLIENT_TEXT_MAX > 65535
#error "SMTP_CLIENT_TEXT_MAX must be between 16 and 65535"
#endif
#if SMTP_CLIENT_PIPE_MAX < 4 || SMTP_CLIENT_PIPE_MAX > 255
#error "SMTP_CLIENT_PIPE_MAX must be between 4 and 255"
#endif

/* What smtp_client_feed() returns: the statuses of SMTP_EVENT_MAP
 * (SMTP_NEED_INPUT, SMTP_WANT_WRITE, SMTP_CLOSED) or a client event.
 * Every client event carries the reply that caused it (ev.reply). */
#define SMTP_CLIENT_EVENT_MAP(X)                                                  \
    X(CEV_READY, 1, "greeted, EHLO (and STARTTLS) done: start a transaction")     \
    X(CEV_TLS, 2, "STARTTLS accepted: run the handshake, smtp_client_tls_done()") \
    X(CEV_AUTH, 3, "AUTH over: 235 accepted, anything else refused")              \
    X(CEV_MAIL, 4, "reply to MAIL FROM")                                          \
    X(CEV_RCPT, 5, "reply to RCPT TO number ev.rcpt.index")                       \
    X(CEV_DATA, 6, "reply to DATA: 354 go ahead with the body, else refused")     \
    X(CEV_SENT, 7, "the server's verdict on the message: 250 it took it")         \
    X(CEV_RSET, 8, "reply to RSET")                                               \
    X(CEV_REPLY, 9, "reply to NOOP, or a refused TURN/ATRN")                      \
    X(CEV_CLOSED, 10, "session over: ev.closed.why says why")                     \
    X(CEV_TURNED, 11, "TURN/ATRN got 250: be the receiver now (smtp_init())")

enum smtp_cevent_type {
/* clang-format off */
#define SMTP__CEV_ENUM(name, num, desc) SMTP_##name = num,
    SMTP_CLIENT_EVENT_MAP(SMTP__CEV_ENUM)
#undef SMTP__CEV_ENUM
    SMTP__CEV_LAST = 11
    /* clang-format on */
};

/* Option bits for smtp_client_config.options.  All off by default. */
enum smtp_client_option {
    /* AUTH without TLS.  RISK: the password or token travels in clear. */
    SMTP_COPT_AUTH_PLAINTEXT = 1u << 0,
    /* Never pipeline, even when the server offers PIPELINING. */
    SMTP_COPT_NO_PIPELINING = 1u << 1,
    /* Never use BDAT, even when the server offers CHUNKING (BINARYMIME then
     * cannot be sent). */
    SMTP_COPT_NO_CHUNKING = 1u << 2,
    /* A bare CR or LF in the body: the octets before it are sent, none
     * after it, and the next smtp_client_body() or smtp_client_end() fails
     * with SMTP_ERR_BARE (then smtp_client_abort()).  smtp_client_end()
     * waits (SMTP_ERR_BUSY) until the body's output is sent: the body is
     * checked as it goes out (C3).  Off: each becomes CRLF (RFC 5321
     * 2.3.8), so the server and everything after it see the same lines; a
     * dot after it is stuffed like any line's first dot. */
    SMTP_COPT_BARE_REFUSE = 1u << 3
};

/* TLS policy (smtp_client_config.tls). */
enum smtp_tls_policy {
    SMTP_TLS_OFF = 0,           /* never STARTTLS */
    SMTP_TLS_OPPORTUNISTIC = 1, /* STARTTLS when offered; plaintext when not.
                                   RISK: an active attacker strips the offer */
    SMTP_TLS_REQUIRED = 2,      /* STARTTLS or nothing: no offer, or 454, ends
                                   the session (SMTP_WHY_NO_TLS) */
    SMTP_TLS_IMPLICIT = 3       /* the connection is TLS already (port 465) */
};

/* Why a client session ended (ev.closed.why). */
enum smtp_client_why {
    SMTP_WHY_QUIT = 0,     /* smtp_client_quit() and the server's 221 */
    SMTP_WHY_421 = 1,      /* the server said 421 (or 221 unasked) */
    SMTP_WHY_REFUSED = 2,  /* the greeting was 554, or EHLO and HELO failed */
    SMTP_WHY_NO_TLS = 3,   /* SMTP_TLS_REQUIRED, and no STARTTLS */
    SMTP_WHY_PROTOCOL = 4, /* a reply broke the protocol (rule C5) */
    SMTP_WHY_ABORT = 5     /* smtp_client_abort() */
};

/* What a recipient's reply means (ev.rcpt.result). */
enum smtp_rcpt_result {
    SMTP_RCPT_OK = 0,   /* 250, 251: accepted */
    SMTP_RCPT_TEMP = 1, /* 4yz: try again later */
    SMTP_RCPT_PERM = 2, /* 5yz: will not be delivered */
    SMTP_RCPT_LATER = 3 /* after a 452 "too many recipients" (or RFC 821's
                           552): send it in another transaction (RFC 5321
                           4.5.3.1.10) */
};

/* Settings.  smtp_client_config_default() fills it; smtp_client_init()
 * copies it (not the hostname string). */
struct smtp_client_config {
    const char *hostname;    /* our name for EHLO/HELO: a Domain or address
                                literal, NUL-terminated; default, and used
                                instead of anything that is not one word of
                                1-255 octets 0x21-0x7e, "localhost" */
    uint32_t options;        /* SMTP_COPT_* bits */
    uint8_t tls;             /* enum smtp_tls_policy; default SMTP_TLS_OFF */
    uint8_t max_reply_lines; /* lines in one reply before it is a protocol
                                error; default 100 (0 means the default) */
};

/* What the server's EHLO reply offered (c->caps, valid from SMTP_CEV_READY;
 * all zero after HELO). */
struct smtp_caps {
    uint32_t ext;     /* SMTP_EXT_* bits the server offered */
    uint32_t mechs;   /* 1u << SMTP_MECH_x for each AUTH mechanism offered */
    uint64_t size;    /* SIZE n: the server's limit; 0: none given */
    uint16_t rcptmax; /* LIMITS RCPTMAX=n; 0: none given */
};

/* A reply as the client read it. */
struct smtp_creply {
    unsigned code;         /* 200..599 */
    uint8_t cls, subject;  /* enhanced status code cls.subject.detail, when */
    uint16_t detail;       /* the server offers them; cls 0 when absent */
    struct smtp_span text; /* the lines' texts (after the code and the
                              enhanced code), joined by '\n', cut at
                              SMTP_CLIENT_TEXT_MAX */
};

/* A client event: `type` and `reply` always; the named member for its type. */
union smtp_cevent {
    int type;
    struct {
        int type;
        struct smtp_creply reply;
    } any;
    struct smtp_cev_rcpt { /* SMTP_CEV_RCPT */
        int type;
        struct smtp_creply reply;
        uint16_t index; /* the recipient, counting smtp_client_rcpt() calls
                           of this transaction from 0 */
        uint8_t result; /* enum smtp_rcpt_result */
    } rcpt;
    struct smtp_cev_closed { /* SMTP_CEV_CLOSED */
        int type;
        struct smtp_creply reply; /* the reply that ended it (code 0: none) */
        uint8_t why;              /* enum smtp_client_why */
    } closed;
};

/* MAIL parameters (smtp_client_mail()).  Zero-initialised: none. */
struct smtp_mail_opts {
    uint64_t size;     /* SIZE=: the message's size estimate; 0: none */
    uint8_t body;      /* enum smtp_body: BODY=; 0: none */
    uint8_t smtputf8;  /* 1: SMTPUTF8 (UTF-8 in addresses) */
    uint8_t ret;       /* DSN RET=: SMTP_RET_FULL or _HDRS; 0: none */
    const char *envid; /* DSN ENVID= as plain text (printable ASCII); the
                          core writes it as xtext; NULL: none */
};

/* The client state: fixed size, caller-owned, copyable between calls.
 * Read `cfg` and `caps`; fields starting with '_' are private. */
struct smtp_client {
    /* the private fields the code uses most come first: on Thumb-2 (and
     * other compact encodings) a small offset makes a shorter instruction;
     * the reply being read, reset at once after each, is first */
    uint8_t _enh[2];             /* enhanced code of the reply: class, */
    uint16_t _detail;            /* subject, detail */
    uint16_t _text_len;          /* octets in _text */
    uint16_t _lines;             /* lines of the reply being read */
    unsigned _code;              /* the reply's code, 0 before its first line */
    uint8_t _state;              /* smtp.c: SMTP__CS_* */
    uint8_t _body;               /* body scanner: SMTP__CB_* */
    uint8_t _why;                /* enum smtp_client_why, once closed */
    uint8_t _pipe_head, _pipe_n; /* commands awaiting replies */
#ifndef SMTP_NO_AUTH
    uint8_t _sasl_from, _sasl_to; /* AUTH: the parts of the message sent now */
    uint8_t _sasl_step;           /* SASL messages sent so far */
    uint8_t _mech;                /* enum smtp_mech of the exchange */
#endif
    uint16_t _flags;                /* smtp.c: SMTP__CF_* bits */
    uint16_t _out_len, _out_off;    /* pending: _out[_out_off.._out_len) */
    uint16_t _line_len;             /* octets in _line */
    uint16_t _rcpts, _rcpt_replies; /* RCPTs sent, replies to them read */
    uint16_t _rcpt_ok;              /* recipients accepted */
    const char *_run;               /* body octets to send in place (C3) */
    size_t _run_len;
    const char *_next, *_end; /* body octets taken, not scanned yet */
    const char *_cr;          /* the first CR in them (_end: none) */
    struct smtp_client_config cfg;
    struct smtp_caps caps;
#ifndef SMTP_NO_AUTH
    const char *_sasl[5]; /* AUTH: the message's parts (C4) */
    uint16_t _sasl_len[5];
    uint32_t _sasl_pos; /* octets of the message encoded */
#endif
    uint8_t _pipe[SMTP_CLIENT_PIPE_MAX];
    char _line[SMTP__CLIENT_LINE];    /* the reply line being assembled */
    char _text[SMTP_CLIENT_TEXT_MAX]; /* texts of the reply's lines */
    char _out[SMTP_CLIENT_OUT_MAX];   /* commands to send */
};

/* Fills *cfg with the defaults: "localhost", no options, SMTP_TLS_OFF. */
SMTP_API void smtp_client_config_default(struct smtp_client_config *cfg);

/* Starts a client session on a new connection (cfg NULL: defaults).  Waits
 * for the greeting; with SMTP_TLS_IMPLICIT the connection is TLS already. */
SMTP_API void smtp_client_init(struct smtp_client *c, const struct smtp_client_config *cfg);

/* Pushes the server's bytes and advances by at most one event (rules 2, 3,
 * 8 with ev a client event).  Returns SMTP_NEED_INPUT, SMTP_WANT_WRITE
 * (commands wait in smtp_client_output(); nothing is taken until they are
 * acknowledged), SMTP_CLOSED (rule 7) or an SMTP_CEV_* event.  The same
 * events and output come whatever the split of the input. */
SMTP_API int smtp_client_feed(struct smtp_client *c, const void *buf, size_t len, size_t *used,
                              union smtp_cevent *ev);

/* The command bytes waiting to be sent, or NULL (*len 0): in the client,
 * or a run of the body in place (C3).  Valid until the next call on c. */
SMTP_API const char *smtp_client_output(const struct smtp_client *c, size_t *len);

/* Acknowledges n octets (at most what smtp_client_output() reported). */
SMTP_API void smtp_client_output_done(struct smtp_client *c, size_t n);

/* For a writev()-style send of a message body: takes up to max spans of
 * output at once into v[0..n), n returned, in the order smtp_client_output()
 * would give them, each acknowledged as it is taken (as
 * smtp_client_output_done() of its length).  Over DATA that is the runs of
 * many lines and the CRLFs and dots between them.  Only inside the body
 * (after the 354, or the first smtp_client_body() over BDAT, until
 * smtp_client_end()); elsewhere, or with nothing to send, 0: the commands
 * and the end of the data come from smtp_client_output().  Each span
 * points into the client or into body octets taken (C3): send them all,
 * in order, before the next call on c, and keep those octets unchanged
 * until then.  v MUST hold max spans. */
SMTP_API size_t smtp_client_output_spans(struct smtp_client *c, struct smtp_span *v, size_t max);

/* After SMTP_CEV_TLS (or never, for SMTP_TLS_IMPLICIT): the handshake
 * succeeded.  Whatever the server sent after its 220 in plaintext has been
 * discarded (no response injection); the client sends EHLO again.  Returns
 * SMTP_OK or SMTP_ERR_STATE.  If the handshake fails, close. */
SMTP_API int smtp_client_tls_done(struct smtp_client *c);

/* AUTH (RFC 4954), after SMTP_CEV_READY and outside a transaction.  mech:
 * enum smtp_mech the server offered (SMTP_ERR_EXT otherwise).  PLAIN:
 * authzid (or NULL), user, secret = password.  LOGIN: user, password.
 * XOAUTH2, OAUTHBEARER: user, secret = the OAuth 2.0 access token.  Before
 * TLS, SMTP_ERR_TLS unless SMTP_COPT_AUTH_PLAINTEXT.  The strings MUST stay
 * valid until SMTP_CEV_AUTH (C4); the core's copies are wiped as they are
 * sent.  Each string is at most 65535 octets, and user names for
 * OAUTHBEARER hold no ',' or '='. */
SMTP_API int smtp_client_auth(struct smtp_client *c, int mech, const char *authzid,
                              const char *user, const char *secret);

/* MAIL FROM:<from> (from "" is the null reverse-path), with the parameters
 * in *opts (NULL: none), each only if the server offered its extension
 * (SMTP_ERR_EXT; SIZE= and BODY=7BIT, which only describe the message, are
 * left out instead), SIZE no larger than the server's (SMTP_ERR_SIZE).  The
 * address is checked only so that it cannot break the command line or add
 * a parameter: octets 0x21-0x7e except '<' and '>'; SP only inside a quoted
 * local part (one that starts with '"', up to the next '"' not escaped by
 * '\'); octets >= 0x80 only with opts->smtputf8, as well-formed UTF-8
 * (else SMTP_ERR_UTF8); exactly one '@' outside the quotes, between a
 * non-empty local part and a non-empty domain (no source route); at most
 * 64 octets of local part (SMTP_ERR_LOCAL_LEN), 255 of domain
 * (SMTP_ERR_DOMAIN_LEN), 256 with the brackets (SMTP_ERR_PATH_LEN) (RFC
 * 5321 4.5.3.1); SMTP_ERR_SYNTAX otherwise.  The rest of RFC 5321 4.1.2
 * (dots, label syntax, address literals) is the server's to check: it
 * refuses such an address with 501 or 553, which comes back as that
 * command's reply.  Starts a transaction: SMTP_ERR_BUSY before SMTP_CEV_READY (it comes by
 * feeding the replies), SMTP_ERR_STATE inside one. */
SMTP_API int smtp_client_mail(struct smtp_client *c, const char *from,
                              const struct smtp_mail_opts *opts);

/* RCPT TO:<to>, with NOTIFY= (SMTP_NOTIFY_* bits, 0: none) and ORCPT=
 * (orcpt "rfc822;user@example.org", written as xtext; NULL: none) when the
 * server offers DSN.  `to` is checked as smtp_client_mail() checks `from`
 * (UTF-8 when the MAIL had smtputf8), except that "" is refused and
 * "Postmaster" (any case) without a domain is allowed (RFC 5321 4.5.1).
 * SMTP_ERR_LIMIT after a 452 "too many recipients" or
 * when the server's RCPTMAX is reached: send the rest in another
 * transaction. */
SMTP_API int smtp_client_rcpt(struct smtp_client *c, const char *to, unsigned notify,
                              const char *orcpt);

/* Ends the envelope: DATA, or nothing yet when the body goes by BDAT.
 * SMTP_ERR_NORCPT (and RSET sent) when every recipient was refused. */
SMTP_API int smtp_client_data(struct smtp_client *c);

/* Sends body octets (C3): dot-stuffed, with CRLF line ends, or in BDAT
 * chunks (one per call, up to a bare CR or LF).  Returns SMTP_OK with *used
 * set, SMTP_ERR_BUSY (output pending, or 354 not here yet), SMTP_ERR_STATE
 * (no body expected: DATA refused), or SMTP_ERR_BARE. */
SMTP_API int smtp_client_body(struct smtp_client *c, const void *buf, size_t len, size_t *used);

/* Ends the body: CRLF.CRLF (a CRLF first if the body did not end with
 * one), or the last BDAT, once the body's output is sent.  SMTP_CEV_SENT
 * brings the verdict.  SMTP_ERR_BARE as SMTP_COPT_BARE_REFUSE says. */
SMTP_API int smtp_client_end(struct smtp_client *c);

/* RSET: abandons the transaction (before the body). */
SMTP_API int smtp_client_rset(struct smtp_client *c);

/* NOOP: SMTP_CEV_REPLY brings the answer. */
SMTP_API int smtp_client_noop(struct smtp_client *c);

/* smtp_client_turn(): TURN (RFC 821).  smtp_client_atrn(): ATRN (RFC 2645;
 * domains NULL or "example.org,example.net").  Outside a transaction; asks
 * the server to
 * reverse the roles and deliver the mail it holds for us on this
 * connection.  ATRN needs the server's ATRN keyword (SMTP_ERR_EXT) and a
 * successful AUTH first (SMTP_ERR_STATE).  On 250 comes SMTP_CEV_TURNED:
 * this client is over (later feeds return SMTP_TURNED) and you run a
 * receiver, smtp_init(), on the connection; the octets after the 250 are
 * its input.  Any other reply comes as SMTP_CEV_REPLY and the session
 * goes on (453: no mail waiting). */
SMTP_API int smtp_client_turn(struct smtp_client *c);
SMTP_API int smtp_client_atrn(struct smtp_client *c, const char *domains);

/* QUIT: SMTP_CEV_CLOSED (why SMTP_WHY_QUIT) follows the 221. */
SMTP_API int smtp_client_quit(struct smtp_client *c);

/* Ends the session at once, e.g. after SMTP_ERR_BARE or a timeout: pending
 * output is dropped, and the next smtp_client_feed() returns SMTP_CLOSED.
 * Close the connection (a message being sent is then not delivered). */
SMTP_API void smtp_client_abort(struct smtp_client *c);

/* 1 when the client session is over, else 0. */
SMTP_API int smtp_client_closed(const struct smtp_client *c);

/* Names and descriptions of the client events ("CEV_RCPT"); "?" when
 * unknown.  Statuses (0 and below) are named by smtp_event_name(). */
SMTP_API const char *smtp_client_event_name(int ev);
SMTP_API const char *smtp_client_event_desc(int ev);

#endif /* SMTP_NO_CLIENT */

#ifdef __cplusplus
}
#endif
#endif /* SMTP_H */
