/*
 * smtp.c - the SMTP protocol core.  The contract is in smtp.h; this file
 * only says why.  Layout: shims, states and flags, tables (sequencing,
 * decisions, the reply catalogue, octet classes), the reply writer, the
 * argument parsers, commands, decisions, DATA/BDAT/AUTH input, public API.
 *
 * Every private name starts with smtp__ or SMTP__, and every macro is
 * #undef'd at the end, so that this file can be #included next to other
 * code (SMTP_STATIC).  It builds as C99 and as C++.
 *
 * MIT licensed, see LICENSE.
 */
#include "smtp.h"

#include <string.h>

/* ------------------------------------------------------------------- shims */

#define SMTP__MIN(a, b) ((a) < (b) ? (a) : (b))

/* SMTP_TERSE: reply texts are left out (RFC 5321 4.2 makes them optional)
 * to save about 3 KiB of flash. */
#ifdef SMTP_TERSE
#define SMTP__T(s) ""
#else
#define SMTP__T(s) s
#endif
/* The text of a reply only an extension sends is "" when the extension is
 * compiled out: the ids are the same in every build, and where its row
 * stays (a later group of rows is in), the text, which nothing can send,
 * does not take flash. */
#ifdef SMTP_NO_CHUNKING
#define SMTP__IF_CHUNKING(s) ""
#else
#define SMTP__IF_CHUNKING(s) s
#endif
#ifdef SMTP_NO_STARTTLS
#define SMTP__IF_STARTTLS(s) ""
#else
#define SMTP__IF_STARTTLS(s) s
#endif
#ifdef SMTP_NO_AUTH
#define SMTP__IF_AUTH(s) ""
#else
#define SMTP__IF_AUTH(s) s
#endif
#define SMTP__T_CHUNKING(s) SMTP__T(SMTP__IF_CHUNKING(s))
#define SMTP__T_STARTTLS(s) SMTP__T(SMTP__IF_STARTTLS(s))
#define SMTP__T_AUTH(s) SMTP__T(SMTP__IF_AUTH(s))
#define SMTP__REPLY_LINE 512 /* RFC 5321 4.5.3.1.5, CRLF included */

/* Extensions compiled in: a zero here removes the bit at smtp_init(), and
 * the compiler drops the code behind `if (SMTP__HAS_x && ...)`. */
#ifdef SMTP_NO_CHUNKING
#define SMTP__HAS_CHUNKING 0
#else
#define SMTP__HAS_CHUNKING 1
#endif
#ifdef SMTP_NO_STARTTLS
#define SMTP__HAS_STARTTLS 0
#else
#define SMTP__HAS_STARTTLS 1
#endif
#ifdef SMTP_NO_AUTH
#define SMTP__HAS_AUTH 0
#else
#define SMTP__HAS_AUTH 1
#endif
#ifdef SMTP_NO_DSN
#define SMTP__HAS_DSN 0
#else
#define SMTP__HAS_DSN 1
#endif
#ifdef SMTP_NO_SMTPUTF8
#define SMTP__HAS_UTF8 0
#else
#define SMTP__HAS_UTF8 1
#endif
#if defined(SMTP_NO_OAUTH) || defined(SMTP_NO_AUTH)
#define SMTP__HAS_OAUTH 0 /* the sender's XOAUTH2 and OAUTHBEARER */
#else
#define SMTP__HAS_OAUTH 1
#endif

/* ------------------------------------------------------- states and flags */

enum smtp__state {
    SMTP__ST_GREET,   /* before the greeting decision */
    SMTP__ST_INIT,    /* greeted, no HELO/EHLO yet */
    SMTP__ST_READY,   /* HELO/EHLO done, no transaction */
    SMTP__ST_MAIL,    /* MAIL accepted, no recipient yet */
    SMTP__ST_RCPT,    /* at least one recipient accepted */
    SMTP__ST_REFUSED, /* greeting was 554: only QUIT works (RFC 5321 3.1) */
    SMTP__ST_DATA,    /* receiving mail data after DATA */
    SMTP__ST_BDAT,    /* receiving the octets of a BDAT chunk */
    SMTP__ST_AUTH,    /* AUTH: waiting for a response line to a 334 */
    SMTP__ST_TLS,     /* STARTTLS answered 220: discarding until smtp_tls_done() */
    SMTP__ST_CLOSED,
    SMTP__ST_TURNED, /* TURN/ATRN accepted: the connection is the sender's now */
    SMTP__ST_KEEP    /* in the decisions table: the state does not change */
};
#define SMTP__B(st) (1u << SMTP__ST_##st)
#define SMTP__IN_SESSION (SMTP__B(INIT) | SMTP__B(READY) | SMTP__B(MAIL) | SMTP__B(RCPT))

enum smtp__flag {
    SMTP__F_ESMTP = 1u << 0,        /* last accepted greeting was EHLO */
    SMTP__F_UTF8 = 1u << 1,         /* transaction gave SMTPUTF8 */
    SMTP__F_PEND_UTF8 = 1u << 2,    /* MAIL waiting for a decision gave SMTPUTF8 */
    SMTP__F_RCPT_TRIED = 1u << 3,   /* a RCPT was refused in this transaction */
    SMTP__F_DEFERRED = 1u << 4,     /* smtp_defer() was called */
    SMTP__F_SHUTDOWN = 1u << 5,     /* smtp_shutdown(s, 0): next command gets 421 */
    SMTP__F_PEND_421 = 1u << 6,     /* smtp_shutdown(s, 1) found the buffer full */
    SMTP__F_TLS = 1u << 7,          /* smtp_tls_done() was called */
    SMTP__F_AUTHED = 1u << 8,       /* AUTH succeeded */
    SMTP__F_BDAT = 1u << 9,         /* transaction has taken a BDAT chunk */
    SMTP__F_BINARY = 1u << 10,      /* transaction is BODY=BINARYMIME */
    SMTP__F_PEND_BINARY = 1u << 11, /* MAIL waiting for a decision is BINARYMIME */
    SMTP__F_LAST = 1u << 12,        /* the BDAT chunk being taken is the LAST */
    SMTP__F_LOGIN = 1u << 13,       /* AUTH LOGIN (else PLAIN) */
    SMTP__F_LOGIN_PASS = 1u << 14   /* AUTH LOGIN has the user, wants the password */
};
#define SMTP__F_TRANSACTION (SMTP__F_UTF8 | SMTP__F_RCPT_TRIED | SMTP__F_BDAT | SMTP__F_BINARY)

enum smtp__lflag {                       /* what was wrong with the command line being assembled */
                   SMTP__L_CR = 1u << 0, /* last octet taken was CR */
                   SMTP__L_LONG = 1u << 1,
                   SMTP__L_BARE_CR = 1u << 2,
                   SMTP__L_BARE_LF = 1u << 3,
                   SMTP__L_NUL = 1u << 4
};

enum smtp__dstate { SMTP__D_SOL, SMTP__D_MID, SMTP__D_CR, SMTP__D_DOT, SMTP__D_DOTCR };

/* A reply code in one octet: the class (2-5) less 2 in the top two bits, the
 * last two digits (below 64 in every list here) in the other six.  200 is in
 * no list: its 0 ends one.  The catalogue's rows hold theirs so too. */
#define SMTP__C8(c) (uint8_t)(((c) / 100 - 2) << 6 | (c) % 100)
#define SMTP__C16(b) ((unsigned)((b) >> 6) * 100 + 200 + ((unsigned)(b)&63u))

#ifndef SMTP_NO_SERVER /* the reply catalogue and the verbs */
/* ------------------------------------------------------ the reply catalogue */

/* An enhanced status code (RFC 3463) class.subject.detail as written in
 * the maps; 0 is none.  Sent only after EHLO has advertised them.  A row
 * keeps it in one octet, its class being the reply code's: 0x80 | subject
 * << 4 | detail (SMTP__E8(), checked below: subject < 8, detail < 16). */
#define SMTP__E(c, s, d) ((c) << 12 | (s) << 8 | (d))
#define SMTP__E8(e) (uint8_t)((e) ? 0x80 | ((e) >> 4 & 0x70) | ((e)&15) : 0)

/* Every reply the core writes itself: id, code, enhanced code, text.  smtp_reply()'s defaults are
 * in the second table below.  No reply code, enhanced code or text appears anywhere else in this
 * file; the README's table of them is checked against these rows by `make test`. */
#define SMTP__REPLY_MAP(X)                                                                   \
    X(GREET, 220, 0, SMTP__T("ESMTP ready"))                                                 \
    X(GREET_821, 220, 0, SMTP__T("Service ready"))                                           \
    X(GREET_REFUSED, 554, 0, SMTP__T("No SMTP service here"))                                \
    X(LINE_LONG, 500, SMTP__E(5, 5, 2), SMTP__T("Line too long"))                            \
    X(LINE_BARE, 500, SMTP__E(5, 5, 2), SMTP__T("Bare CR or LF not allowed"))                \
    X(LINE_NUL, 500, SMTP__E(5, 5, 2), SMTP__T("NUL octet not allowed"))                     \
    X(LINE_EMPTY, 500, SMTP__E(5, 5, 2), SMTP__T("Empty command"))                           \
    X(VERB_UNKNOWN, 500, SMTP__E(5, 5, 2), SMTP__T("Command unrecognized"))                  \
    X(VERB_OFF, 502, SMTP__E(5, 5, 1), SMTP__T("Command not implemented"))                   \
    X(ONLY_QUIT, 503, SMTP__E(5, 5, 1), SMTP__T("No SMTP service here, only QUIT"))          \
    X(SEQUENCE, 503, SMTP__E(5, 5, 1), SMTP__T("Bad sequence of commands"))                  \
    X(SEQ_HELO, 503, SMTP__E(5, 5, 1), SMTP__T("Send HELO/EHLO first"))                      \
    X(SEQ_EHLO, 503, SMTP__E(5, 5, 1), SMTP__T("Send EHLO first"))                           \
    X(NO_RCPT, 554, SMTP__E(5, 5, 1), SMTP__T("No valid recipients"))                        \
    X(ARG_NONE, 501, SMTP__E(5, 5, 4), SMTP__T("No parameters allowed"))                     \
    X(ARG_NEEDED, 501, SMTP__E(5, 5, 4), SMTP__T("Argument required"))                       \
    X(ARG_BAD, 501, SMTP__E(5, 5, 4), SMTP__T("Invalid argument"))                           \
    X(DOMAIN_BAD, 501, SMTP__E(5, 5, 4), SMTP__T("Invalid domain name"))                     \
    X(MAIL_SYNTAX, 501, SMTP__E(5, 5, 4), SMTP__T("Syntax: MAIL FROM:<address>"))            \
    X(RCPT_SYNTAX, 501, SMTP__E(5, 5, 4), SMTP__T("Syntax: RCPT TO:<address>"))              \
    X(FROM_SYNTAX, 501, SMTP__E(5, 1, 7), SMTP__T("Bad sender address syntax"))              \
    X(FROM_LOCAL, 501, SMTP__E(5, 1, 7), SMTP__T("Local part too long"))                     \
    X(FROM_DOMAIN, 501, SMTP__E(5, 1, 7), SMTP__T("Domain too long"))                        \
    X(FROM_PATH, 501, SMTP__E(5, 1, 7), SMTP__T("Path too long"))                            \
    X(TO_SYNTAX, 501, SMTP__E(5, 1, 3), SMTP__T("Bad recipient address syntax"))             \
    X(TO_LOCAL, 501, SMTP__E(5, 1, 3), SMTP__T("Local part too long"))                       \
    X(TO_DOMAIN, 501, SMTP__E(5, 1, 3), SMTP__T("Domain too long"))                          \
    X(TO_PATH, 501, SMTP__E(5, 1, 3), SMTP__T("Path too long"))                              \
    X(UTF8_BAD, 501, SMTP__E(5, 6, 7), SMTP__T("Malformed or unannounced UTF-8 in address")) \
    X(PARAMS, 501, SMTP__E(5, 5, 4), SMTP__T("Syntax error in parameters"))                  \
    X(PARAM_VALUE, 501, SMTP__E(5, 5, 4), SMTP__T("Syntax error in parameter value"))        \
    X(PARAM_CONFLICT, 501, SMTP__E(5, 5, 4), SMTP__T("Conflicting duplicate parameter"))     \
    X(PARAM_UNKNOWN, 555, SMTP__E(5, 5, 4), SMTP__T("Unsupported parameter"))                \
    X(BINARYMIME_OFF, 504, SMTP__E(5, 5, 4), SMTP__T("BODY=BINARYMIME not implemented"))     \
    X(RCPTS_OVER, 452, SMTP__E(4, 5, 3), SMTP__T("Too many recipients"))                     \
    X(MSG_BARE, 554, SMTP__E(5, 6, 0), SMTP__T("Message contains bare CR or LF"))            \
    X(MSG_LONG_LINE, 554, SMTP__E(5, 6, 0), SMTP__T("Message line too long"))                \
    X(SIZE_OVER, 552, SMTP__E(5, 3, 4),                                                      \
      SMTP__T("Message size exceeds fixed maximum message size"))                            \
    X(ERRORS, 421, SMTP__E(4, 7, 0), SMTP__T("Error: too many errors"))                      \
    X(BYE_SHUTDOWN, 421, SMTP__E(4, 3, 2),                                                   \
      SMTP__T("Service not available, closing transmission channel"))                        \
    X(BYE_TIMEOUT, 421, SMTP__E(4, 4, 2), SMTP__T("Timeout, closing transmission channel"))  \
    X(BYE_BUSY, 421, SMTP__E(4, 3, 2), SMTP__T("Too busy, try again later"))                 \
    X(OK, 250, SMTP__E(2, 0, 0), SMTP__T("OK"))                                              \
    X(BYE, 221, SMTP__E(2, 0, 0), SMTP__T("Service closing transmission channel"))

/* The rows only an extension's code uses, in groups: a build without the
 * extension leaves its group out of the table when no group after it is in
 * (the ids stay the same): SMTP__GROUPS is how many are in. */
#if !defined(SMTP_NO_AUTH)
#define SMTP__GROUPS 4
#elif !defined(SMTP_NO_CHUNKING)
#define SMTP__GROUPS 3
#elif !defined(SMTP_NO_STARTTLS)
#define SMTP__GROUPS 2
#elif !defined(SMTP_NO_SMTPUTF8)
#define SMTP__GROUPS 1
#else
#define SMTP__GROUPS 0
#endif
#define SMTP__REPLY_MAP_SMTPUTF8(X)                                                    \
    X(UTF8_NEEDED, 553, SMTP__E(5, 6, 7), SMTP__T("Non-ASCII address needs SMTPUTF8")) \
    X(SMTPUTF8_VALUE, 501, SMTP__E(5, 5, 4), SMTP__T("SMTPUTF8 takes no value"))
#define SMTP__REPLY_MAP_STARTTLS(X)                                  \
    X(SEQ_TLS, 503, SMTP__E(5, 5, 1), SMTP__T("TLS already active")) \
    X(NEED_TLS, 530, SMTP__E(5, 7, 0), SMTP__T("Must issue a STARTTLS command first"))
#define SMTP__REPLY_MAP_CHUNKING(X)                                                     \
    X(SEQ_DATA_BDAT, 503, SMTP__E(5, 5, 1), SMTP__T("DATA after BDAT"))                 \
    X(SEQ_BINARYMIME, 503, SMTP__E(5, 5, 1), SMTP__T("BINARYMIME needs BDAT"))          \
    X(BDAT_SYNTAX, 501, SMTP__E(5, 5, 4), SMTP__T_CHUNKING("Syntax: BDAT size [LAST]")) \
    X(BDAT_SIZE, 421, SMTP__E(4, 5, 4),                                                 \
      SMTP__T_CHUNKING("Cannot read BDAT size, closing transmission channel"))          \
    X(BDAT_CHUNK, 250, SMTP__E(2, 0, 0), SMTP__T_CHUNKING("Chunk received"))
#define SMTP__REPLY_MAP_AUTH(X)                                                               \
    X(SEQ_AUTHED, 503, SMTP__E(5, 5, 1), SMTP__T("Already authenticated"))                    \
    X(NEED_AUTH, 530, SMTP__E(5, 7, 0), SMTP__T("Authentication required"))                   \
    X(AUTH_TLS, 538, SMTP__E(5, 7, 11),                                                       \
      SMTP__T_AUTH("Encryption required for requested authentication mechanism"))             \
    X(AUTH_MECH, 504, SMTP__E(5, 5, 4), SMTP__T_AUTH("Unrecognized authentication type"))     \
    X(AUTH_CANCEL, 501, SMTP__E(5, 7, 0), SMTP__T_AUTH("Authentication cancelled"))           \
    X(AUTH_BASE64, 501, SMTP__E(5, 5, 2), SMTP__T_AUTH("Cannot decode base64"))               \
    X(AUTH_USER, 501, SMTP__E(5, 5, 4), SMTP__T_AUTH("Invalid user name"))                    \
    X(AUTH_PLAIN, 501, SMTP__E(5, 5, 2), SMTP__T_AUTH("Invalid PLAIN response"))              \
    X(AUTH_LINE, 500, SMTP__E(5, 5, 6),                                                       \
      SMTP__T_AUTH("Authentication Exchange line is too long or malformed"))                  \
    X(AUTH_GUESSING, 421, SMTP__E(4, 7, 0), SMTP__T_AUTH("Too many authentication failures")) \
    X(AUTH_ASK, 334, 0, "") /* RFC 4954 4: an empty challenge */                              \
    X(AUTH_ASK_USER, 334, 0,                                                                  \
      SMTP__IF_AUTH("VXNlcm5hbWU6")) /* base64 "Username:": protocol, kept terse */           \
    X(AUTH_ASK_PASS, 334, 0, SMTP__IF_AUTH("UGFzc3dvcmQ6")) /* base64 "Password:" */

/* clang-format off */
#define SMTP__REPLY_ALL(X) \
    SMTP__REPLY_MAP(X) SMTP__REPLY_MAP_SMTPUTF8(X) SMTP__REPLY_MAP_STARTTLS(X) \
    SMTP__REPLY_MAP_CHUNKING(X) SMTP__REPLY_MAP_AUTH(X)
/* clang-format on */

enum smtp__reply {
    /* clang-format off */
    SMTP__R_NONE,
#define SMTP__X(id, code, enh, text) SMTP__R_##id,
    SMTP__REPLY_ALL(SMTP__X)
#undef SMTP__X
    SMTP__R_COUNT
    /* clang-format on */
};

/* The refusals of a message's end come in SMTP_REJECT_x's order. */
#define SMTP__IN_ORDER(r, x) (SMTP__R_##r - SMTP__R_MSG_BARE == SMTP_REJECT_##x - SMTP_REJECT_BARE)
typedef char smtp__reject_order
    [SMTP__IN_ORDER(MSG_LONG_LINE, LONG_LINE) && SMTP__IN_ORDER(SIZE_OVER, SIZE) ? 1 : -1];
#undef SMTP__IN_ORDER

/* With SMTP_TERSE a row is only its two codes: the texts are not there. */
#ifdef SMTP_TERSE
#define SMTP__TEXT(t)
#define SMTP__TEXT_OF(row) ""
#else
#define SMTP__TEXT(t) t,
#define SMTP__TEXT_OF(row) ((row)->text)
#endif
static const struct smtp__reply_row {
#ifndef SMTP_TERSE
    const char *text;
#endif
    uint8_t code, enh; /* SMTP__C8(), SMTP__E8() */
} smtp__replies[] = {
    /* clang-format off */
    {SMTP__TEXT("") 0, 0},
#define SMTP__X(id, code, enh, text) {SMTP__TEXT(text) SMTP__C8(code), SMTP__E8(enh)},
    SMTP__REPLY_MAP(SMTP__X)
#if SMTP__GROUPS >= 1
    SMTP__REPLY_MAP_SMTPUTF8(SMTP__X)
#endif
#if SMTP__GROUPS >= 2
    SMTP__REPLY_MAP_STARTTLS(SMTP__X)
#endif
#if SMTP__GROUPS >= 3
    SMTP__REPLY_MAP_CHUNKING(SMTP__X)
#endif
#if SMTP__GROUPS >= 4
    SMTP__REPLY_MAP_AUTH(SMTP__X)
#endif
#undef SMTP__X
    /* clang-format on */
};

/* The defaults of smtp_reply(code, NULL, NULL): the first row with the code
 * and, when the row names one, the event (RFC 5321 4.2.2, RFC 3463, and the
 * extension RFCs).  Every code a decision may be answered with is here. */
#define SMTP__DEFAULT_MAP(X)                                                                     \
    X(250, MAIL, SMTP__E(2, 1, 0), SMTP__T("OK"))                                                \
    X(250, RCPT, SMTP__E(2, 1, 5), SMTP__T("OK"))                                                \
    X(250, 0, SMTP__E(2, 0, 0), SMTP__T("OK"))                                                   \
    X(354, 0, 0, SMTP__T("End data with <CR><LF>.<CR><LF>"))                                     \
    X(252, 0, SMTP__E(2, 0, 0),                                                                  \
      SMTP__T("Cannot VRFY user, but will accept message and attempt delivery"))                 \
    X(214, 0, SMTP__E(2, 0, 0),                                                                  \
      SMTP__T("Commands: HELO EHLO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP"))                    \
    X(211, 0, SMTP__E(2, 0, 0), SMTP__T("System status"))                                        \
    X(220, 0, SMTP__E(2, 0, 0),                                                                  \
      SMTP__T_STARTTLS("Ready to start TLS")) /* the greeting has its own */                     \
    X(251, 0, SMTP__E(2, 1, 5), SMTP__T("User not local; will forward"))                         \
    X(421, 0, SMTP__E(4, 3, 2), SMTP__T("Service not available, closing transmission channel"))  \
    X(450, 0, SMTP__E(4, 2, 1), SMTP__T("Requested mail action not taken: mailbox unavailable")) \
    X(451, 0, SMTP__E(4, 3, 0), SMTP__T("Requested action aborted: local error in processing"))  \
    X(452, 0, SMTP__E(4, 3, 1),                                                                  \
      SMTP__T("Requested action not taken: insufficient system storage"))                        \
    X(454, 0, SMTP__E(4, 7, 0), SMTP__T("Temporary failure"))                                    \
    X(455, 0, SMTP__E(4, 5, 4), SMTP__T("Server unable to accommodate parameters"))              \
    X(500, 0, SMTP__E(5, 5, 2), SMTP__T("Syntax error, command unrecognized"))                   \
    X(501, 0, SMTP__E(5, 5, 4), SMTP__T("Syntax error in parameters or arguments"))              \
    X(502, 0, SMTP__E(5, 5, 1), SMTP__T("Command not implemented"))                              \
    X(503, 0, SMTP__E(5, 5, 1), SMTP__T("Bad sequence of commands"))                             \
    X(504, 0, SMTP__E(5, 5, 4), SMTP__T("Command parameter not implemented"))                    \
    X(550, RCPT, SMTP__E(5, 1, 1), SMTP__T("Requested action not taken: mailbox unavailable"))   \
    X(550, 0, SMTP__E(5, 7, 1), SMTP__T("Requested action not taken: mailbox unavailable"))      \
    X(551, 0, SMTP__E(5, 1, 6), SMTP__T("User not local"))                                       \
    X(552, RCPT, SMTP__E(5, 2, 2),                                                               \
      SMTP__T("Requested mail action aborted: exceeded storage allocation"))                     \
    X(552, 0, SMTP__E(5, 3, 4),                                                                  \
      SMTP__T("Requested mail action aborted: exceeded storage allocation"))                     \
    X(553, MAIL, SMTP__E(5, 1, 7),                                                               \
      SMTP__T("Requested action not taken: mailbox name not allowed"))                           \
    X(553, 0, SMTP__E(5, 1, 3), SMTP__T("Requested action not taken: mailbox name not allowed")) \
    X(554, 0, SMTP__E(5, 0, 0), SMTP__T("Transaction failed"))                                   \
    X(555, 0, SMTP__E(5, 5, 4),                                                                  \
      SMTP__T("MAIL FROM/RCPT TO parameters not recognized or not implemented"))
/* AUTH's and ATRN's codes: left out with SMTP_NO_AUTH, which leaves no
 * decision that may give them. */
#define SMTP__DEFAULT_MAP_AUTH(X)                                                     \
    X(235, 0, SMTP__E(2, 7, 0), SMTP__T_AUTH("Authentication successful"))            \
    X(432, 0, SMTP__E(4, 7, 12), SMTP__T_AUTH("A password transition is needed"))     \
    X(453, 0, SMTP__E(4, 7, 0), SMTP__T("You have no mail"))                          \
    X(534, 0, SMTP__E(5, 7, 9), SMTP__T_AUTH("Authentication mechanism is too weak")) \
    X(535, 0, SMTP__E(5, 7, 8), SMTP__T_AUTH("Authentication credentials invalid"))   \
    X(538, 0, SMTP__E(5, 7, 11),                                                      \
      SMTP__T_AUTH("Encryption required for requested authentication mechanism"))

#define SMTP__EV_0 0
#define SMTP__EV_MAIL SMTP_EV_MAIL
#define SMTP__EV_RCPT SMTP_EV_RCPT
static const struct smtp__default_row {
#ifndef SMTP_TERSE
    const char *text;
#endif
    uint8_t code, enh, ev; /* SMTP__C8(), SMTP__E8() */
} smtp__defaults[] = {
/* clang-format off */
#define SMTP__X(code, ev, enh, text) \
    {SMTP__TEXT(text) SMTP__C8(code), SMTP__E8(enh), SMTP__EV_##ev},
    SMTP__DEFAULT_MAP(SMTP__X)
#ifndef SMTP_NO_AUTH
    SMTP__DEFAULT_MAP_AUTH(SMTP__X)
#endif
#undef SMTP__X
    /* clang-format on */
};

/* Every row's codes fit their octets: a class of 2-5 with two digits below
 * 64, an enhanced code of the reply's class with subject < 8 and detail
 * < 16 (or none). */
#define SMTP__FITS(code, enh)                                       \
    ((code) / 100 >= 2 && (code) / 100 <= 5 && (code) % 100 < 64 && \
     ((enh) == 0 || ((enh) >> 12 == (code) / 100 && ((enh) >> 8 & 15) < 8 && ((enh)&255) < 16)))
#define SMTP__X(id, code, enh, text) &&SMTP__FITS(code, enh)
typedef char smtp__replies_fit[(1 SMTP__REPLY_ALL(SMTP__X)) ? 1 : -1];
#undef SMTP__X
#define SMTP__X(code, ev, enh, text) &&SMTP__FITS(code, enh)
typedef char
    smtp__defaults_fit[(1 SMTP__DEFAULT_MAP(SMTP__X) SMTP__DEFAULT_MAP_AUTH(SMTP__X)) ? 1 : -1];
#undef SMTP__X
#undef SMTP__FITS

/* --------------------------------------------------------- sequencing table */

/* The RFC 821 4.3 command list with RFC 5321's sequencing: the states in
 * which each verb is in sequence (503 otherwise), its argument, and what it
 * needs to be implemented (502 otherwise).  smtp__sequence() adds the rules
 * that depend on more than the state (EHLO for BDAT and AUTH, DATA after
 * BDAT). */
enum smtp__arg { SMTP__ARG_NONE, SMTP__ARG_OPT, SMTP__ARG_REQ };
enum smtp__need { SMTP__N_NONE, SMTP__N_SEND, SMTP__N_ESMTP, SMTP__N_TURN, SMTP__N_EXT };

#define SMTP__VERB_MAP(X)                                                       \
    /*  verb      states in sequence          argument  needs      extension */ \
    X(HELO, SMTP__IN_SESSION, ARG_REQ, N_NONE, 0)                               \
    X(EHLO, SMTP__IN_SESSION, ARG_REQ, N_ESMTP, 0)                              \
    X(MAIL, SMTP__B(READY), ARG_REQ, N_NONE, 0)                                 \
    X(RCPT, SMTP__B(MAIL) | SMTP__B(RCPT), ARG_REQ, N_NONE, 0)                  \
    X(DATA, SMTP__B(RCPT), ARG_NONE, N_NONE, 0)                                 \
    X(RSET, SMTP__IN_SESSION, ARG_NONE, N_NONE, 0)                              \
    X(SEND, SMTP__B(READY), ARG_REQ, N_SEND, 0)                                 \
    X(SOML, SMTP__B(READY), ARG_REQ, N_SEND, 0)                                 \
    X(SAML, SMTP__B(READY), ARG_REQ, N_SEND, 0)                                 \
    X(VRFY, SMTP__IN_SESSION, ARG_REQ, N_NONE, 0)                               \
    X(EXPN, SMTP__IN_SESSION, ARG_REQ, N_NONE, 0)                               \
    X(HELP, SMTP__IN_SESSION, ARG_OPT, N_NONE, 0)                               \
    X(NOOP, SMTP__IN_SESSION, ARG_OPT, N_NONE, 0)                               \
    X(QUIT, SMTP__IN_SESSION | SMTP__B(REFUSED), ARG_NONE, N_NONE, 0)           \
    X(TURN, SMTP__B(READY), ARG_NONE, N_TURN, 0)                                \
    X(ATRN, SMTP__B(READY), ARG_OPT, N_EXT, SMTP_EXT_ATRN)                      \
    X(BDAT, SMTP__B(RCPT), ARG_REQ, N_EXT, SMTP_EXT_CHUNKING)                   \
    X(AUTH, SMTP__B(READY), ARG_REQ, N_EXT, SMTP_EXT_AUTH)                      \
    X(STARTTLS, SMTP__B(INIT) | SMTP__B(READY), ARG_NONE, N_EXT, SMTP_EXT_STARTTLS)

enum smtp__verb {
/* clang-format off */
#define SMTP__X(v, states, arg, need, ext) SMTP__V_##v,
    SMTP__VERB_MAP(SMTP__X)
#undef SMTP__X
    SMTP__V_COUNT
    /* clang-format on */
};

/* The states of a verb's row are those up to REFUSED (one octet), its
 * argument and need share an octet, its extension bit is one of
 * SMTP_EXT_CHUNKING and above, kept shifted down. */
#define SMTP__EXT_SHIFT 6
#define SMTP__ARG_OF(row) ((row)->how & 3u)
#define SMTP__NEED_OF(row) ((row)->how >> 2)
static const struct smtp__verb_row {
    char name[9];
    uint8_t len, how, states, ext;
} smtp__verbs[SMTP__V_COUNT] = {
#define SMTP__X(v, states, arg, need, ext)                                                        \
    {#v, (uint8_t)(sizeof #v - 1), (uint8_t)(SMTP__##arg | SMTP__##need << 2), (uint8_t)(states), \
     (uint8_t)((ext) >> SMTP__EXT_SHIFT)},
    SMTP__VERB_MAP(SMTP__X)
#undef SMTP__X
};
#define SMTP__X(v, states, arg, need, ext)                                        \
    &&(states) < 256 && ((ext) >> SMTP__EXT_SHIFT << SMTP__EXT_SHIFT) == (ext) && \
        (ext) >> SMTP__EXT_SHIFT < 256
typedef char smtp__verbs_fit[(1 SMTP__VERB_MAP(SMTP__X)) ? 1 : -1];
#undef SMTP__X

#endif /* SMTP_NO_SERVER */

/* ---------------------------------------------------------- decisions table */

/* The replies an application may give to each decision: RFC 5321 4.3.2
 * and RFC 821 4.3 together, 421 everywhere, plus the extension RFCs.  The
 * first three are the sender's too (in its code masks), so they are
 * X-macro lists that both roles expand.  One object, so that a table names
 * a list by its offset in one octet; `none` first, the list of a row that
 * has none.  (With both roles out, only the helpers smtp_parse_*() and the
 * name lookups are left.) */
/* clang-format off */
#define SMTP__CODES_MAIL(X) \
    X(250) X(421) X(451) X(452) X(455) X(501) X(503) X(550) X(552) X(553) X(555)
#define SMTP__CODES_RCPT(X) \
    X(250) X(251) X(421) X(450) X(451) X(452) X(455) X(501) X(503) X(550) X(551) X(552) \
    X(553) X(555)
#define SMTP__CODES_DATA_END(X) X(250) X(421) X(450) X(451) X(452) X(550) X(552) X(554)
/* clang-format on */
#ifndef SMTP_NO_SERVER
/* NOLINTBEGIN(bugprone-macro-parentheses): list items, not expressions */
#define SMTP__CODE_ONE(code) +1
#define SMTP__CODE_ITEM(code) SMTP__C8(code),
/* NOLINTEND(bugprone-macro-parentheses) */
#define SMTP__X SMTP__C8
static const struct smtp__code_lists {
    uint8_t none[1], mail[1 SMTP__CODES_MAIL(SMTP__CODE_ONE)],
        rcpt[1 SMTP__CODES_RCPT(SMTP__CODE_ONE)], data_end[1 SMTP__CODES_DATA_END(SMTP__CODE_ONE)];
    uint8_t connect[4], helo[6], data[6], vrfy[11], expn[9], help[7];
#ifndef SMTP_NO_STARTTLS
    uint8_t starttls[5];
#endif
    uint8_t turn[4];
#ifndef SMTP_NO_AUTH
    uint8_t atrn[8], auth[9];
#endif
} smtp__codes = {
    /* clang-format off */
    {0},
    {SMTP__CODES_MAIL(SMTP__CODE_ITEM) 0},     /* MAIL */
    {SMTP__CODES_RCPT(SMTP__CODE_ITEM) 0},     /* RCPT */
    {SMTP__CODES_DATA_END(SMTP__CODE_ITEM) 0}, /* end of data */
    {SMTP__X(220), SMTP__X(421), SMTP__X(554), 0}, /* connect */
    {SMTP__X(250), SMTP__X(421), SMTP__X(501), SMTP__X(504), SMTP__X(550), 0}, /* HELO, EHLO */
    {SMTP__X(354), SMTP__X(421), SMTP__X(451), SMTP__X(503), SMTP__X(554), 0}, /* DATA */
    {SMTP__X(250), SMTP__X(251), SMTP__X(252), SMTP__X(421), SMTP__X(501), SMTP__X(502),
     SMTP__X(504), SMTP__X(550), SMTP__X(551), SMTP__X(553), 0}, /* VRFY */
    {SMTP__X(250), SMTP__X(252), SMTP__X(421), SMTP__X(500), SMTP__X(501), SMTP__X(502),
     SMTP__X(504), SMTP__X(550), 0}, /* EXPN */
    /* HELP */
    {SMTP__X(211), SMTP__X(214), SMTP__X(421), SMTP__X(501), SMTP__X(502), SMTP__X(504), 0},
#ifndef SMTP_NO_STARTTLS
    {SMTP__X(220), SMTP__X(421), SMTP__X(454), SMTP__X(501), 0}, /* STARTTLS: RFC 3207 4 */
#endif
    {SMTP__X(250), SMTP__X(421), SMTP__X(502), 0}, /* TURN: RFC 821 4.3 */
#ifndef SMTP_NO_AUTH
    {SMTP__X(250), SMTP__X(421), SMTP__X(450), SMTP__X(451), SMTP__X(453), SMTP__X(501),
     SMTP__X(502), 0}, /* ATRN: RFC 2645 */
    {SMTP__X(235), SMTP__X(421), SMTP__X(432), SMTP__X(454), SMTP__X(501), SMTP__X(534),
     SMTP__X(535), SMTP__X(538), 0}, /* AUTH: RFC 4954 6 */
#endif
    /* clang-format on */
};
#undef SMTP__X
#undef SMTP__CODE_ITEM
#undef SMTP__CODE_ONE
#define SMTP__CODES(m) (uint8_t) offsetof(struct smtp__code_lists, m)
typedef char smtp__codes_fit[sizeof(struct smtp__code_lists) <= 256 ? 1 : -1]; /* one octet */
#endif

#ifndef SMTP_NO_SERVER
#ifdef SMTP_NO_STARTTLS
#define SMTP__CODES_STARTTLS SMTP__CODES(none) /* the event never comes */
#else
#define SMTP__CODES_STARTTLS SMTP__CODES(starttls)
#endif
#ifdef SMTP_NO_AUTH
#define SMTP__CODES_ATRN SMTP__CODES(none)
#define SMTP__CODES_AUTH SMTP__CODES(none)
#else
#define SMTP__CODES_ATRN SMTP__CODES(atrn)
#define SMTP__CODES_AUTH SMTP__CODES(auth)
#endif

/* Per decision event: the codes allowed (an offset in smtp__codes), and the
 * state a positive (2xx or 3xx) and a negative answer lead to, four bits
 * each.  The default reply is smtp.h's SMTP_EVENT_MAP.  What else an answer
 * changes (counters, flags) is in smtp__decide(). */
#define SMTP__DECISION(codes, yes, no)                          \
    {                                                           \
        (codes), (uint8_t)(SMTP__ST_##yes << 4 | SMTP__ST_##no) \
    }
static const struct smtp__decision {
    uint8_t codes, next;
} smtp__decisions[SMTP__EV_LAST + 1] = {
    SMTP__DECISION(SMTP__CODES(none), KEEP, KEEP),       /* statuses, unused */
    SMTP__DECISION(SMTP__CODES(connect), INIT, REFUSED), /* EV_CONNECT */
    SMTP__DECISION(SMTP__CODES(helo), READY, KEEP),      /* EV_HELO */
    SMTP__DECISION(SMTP__CODES(helo), READY, KEEP),      /* EV_EHLO */
    SMTP__DECISION(SMTP__CODES(mail), MAIL, KEEP),       /* EV_MAIL */
    SMTP__DECISION(SMTP__CODES(rcpt), RCPT, KEEP),       /* EV_RCPT */
    SMTP__DECISION(SMTP__CODES(data), DATA, KEEP),       /* EV_DATA */
    SMTP__DECISION(SMTP__CODES(none), KEEP, KEEP),       /* EV_BODY */
    SMTP__DECISION(SMTP__CODES(data_end), READY, READY), /* EV_DATA_END */
    SMTP__DECISION(SMTP__CODES(none), KEEP, KEEP),       /* EV_RSET */
    SMTP__DECISION(SMTP__CODES(vrfy), KEEP, KEEP),       /* EV_VRFY */
    SMTP__DECISION(SMTP__CODES(expn), KEEP, KEEP),       /* EV_EXPN */
    SMTP__DECISION(SMTP__CODES(help), KEEP, KEEP),       /* EV_HELP */
    SMTP__DECISION(SMTP__CODES(none), KEEP, KEEP),       /* EV_NOOP */
    SMTP__DECISION(SMTP__CODES(none), KEEP, KEEP),       /* EV_QUIT */
    SMTP__DECISION(SMTP__CODES_STARTTLS, TLS, KEEP),     /* EV_STARTTLS */
    SMTP__DECISION(SMTP__CODES_AUTH, KEEP, KEEP),        /* EV_AUTH */
    SMTP__DECISION(SMTP__CODES(none), KEEP, KEEP),       /* EV_BDAT */
    SMTP__DECISION(SMTP__CODES(turn), TURNED, KEEP),     /* EV_TURN */
    SMTP__DECISION(SMTP__CODES_ATRN, TURNED, KEEP),      /* EV_ATRN */
};
#undef SMTP__DECISION

#endif /* SMTP_NO_SERVER */

/* ------------------------------------------------------ compiler hints */

/* Where the compiler allows, and only when built for speed (!SMTP_SMALL):
 * SMTP__NOINLINE keeps a function out of line, so that its caller's short
 * path saves no registers before calling it; SMTP__ALWAYS_INLINE puts a
 * hot helper in its callers, so that its results stay in registers and
 * the call's cost goes. */
#if defined(__GNUC__) && !SMTP_SMALL
#define SMTP__NOINLINE __attribute__((noinline))
#define SMTP__ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define SMTP__NOINLINE
#define SMTP__ALWAYS_INLINE
#endif

/* -------------------------------------------------------- octet classes */

/* Octet classes (RFC 5321 4.1.2, RFC 5322 3.2.3): locale-free, sign-safe,
 * one load per octet. */
enum {
    SMTP__C_ALPHA = 1,
    SMTP__C_DIGIT = 2,
    SMTP__C_ATEXT = 4,
    SMTP__C_QTEXT = 8,
    SMTP__C_PRINT = 16,
    SMTP__C_LDH = 32, /* letter, digit, '-': a label's octets */
    SMTP__C_HEX = 64
};
static const uint8_t smtp__ctab[256] = {
    0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,  0,  0,  0,  0,  0,
    0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,  0,  0,  0,  0,  0,
    24,  28,  16,  28,  28,  28,  28,  28,  24,  24,  28, 28, 24, 60, 24, 28, /*  !"#$%&'()*+,-./ */
    126, 126, 126, 126, 126, 126, 126, 126, 126, 126, 24, 24, 24, 28, 24, 28, /* 0-9 :;<=>? */
    24,  125, 125, 125, 125, 125, 125, 61,  61,  61,  61, 61, 61, 61, 61, 61, /* @A-O */
    61,  61,  61,  61,  61,  61,  61,  61,  61,  61,  61, 24, 16, 24, 28, 28, /* P-Z[\]^_ */
    28,  125, 125, 125, 125, 125, 125, 61,  61,  61,  61, 61, 61, 61, 61, 61, /* `a-o */
    61,  61,  61,  61,  61,  61,  61,  61,  61,  61,  61, 28, 28, 28, 28, 0,  /* p-z{|}~ DEL */
};
#define SMTP__IS(c, k) (smtp__ctab[(unsigned char)(c)] & (k))

static int smtp__upper(int c)
{
    return c >= 'a' && c <= 'z' ? c - 32 : c;
}

/* Case-insensitive: does p[i..n) start with the upper-case literal w? */
static int smtp__has_prefix(const char *p, size_t i, size_t n, const char *w)
{
    for (; *w; w++, i++)
        if (i >= n || smtp__upper((unsigned char)p[i]) != *w)
            return 0;
    return 1;
}

/* Case-insensitive: is p[i..n) exactly w? */
static int smtp__is_word(const char *p, size_t i, size_t n, const char *w)
{
    return n - i == strlen(w) && smtp__has_prefix(p, i, n, w);
}

#ifndef SMTP_NO_SERVER /* blanks between words */
/* SP, and HTAB unless SMTP_OPT_STRICT_SPACES: what separates the words of
 * a command line. */
static int smtp__is_blank(const struct smtp_session *s, char c)
{
    return c == ' ' || (c == '\t' && !(s->cfg.options & SMTP_OPT_STRICT_SPACES));
}

/* The index after the blanks at p[i..n): one SP at most under
 * SMTP_OPT_STRICT_SPACES (a missing or a second one is left for the caller
 * to refuse), any run of SP and HTAB otherwise.  Result in [i, n] for
 * i <= n.  (Here and in smtp__skip_word(), the MIN restates i <= n for
 * Eva, which widens a long loop's index to any size_t and then cannot
 * bound the reads at the result: proof/README.md.) */
static size_t smtp__skip_blanks(const struct smtp_session *s, const char *p, size_t i, size_t n)
{
    if (s->cfg.options & SMTP_OPT_STRICT_SPACES)
        return i < n && p[i] == ' ' ? i + 1 : i;
    while (i < n && smtp__is_blank(s, p[i]))
        i++;
    return SMTP__MIN(i, n);
}

/* The index of the first blank at p[i..n), or n: the end of the word at
 * p[i].  Result in [i, n] for i <= n. */
static size_t smtp__skip_word(const struct smtp_session *s, const char *p, size_t i, size_t n)
{
    while (i < n && !smtp__is_blank(s, p[i]))
        i++;
    return SMTP__MIN(i, n);
}

#endif /* SMTP_NO_SERVER */

/* Length of the well-formed UTF-8 sequence at p[i..n) (RFC 3629), or 0:
 * no overlongs, no surrogates, nothing above U+10FFFF.  i < n. */
static size_t smtp__utf8_len(const char *p, size_t i, size_t n)
{
    unsigned c, d;
    size_t len, k;
    if (!SMTP__HAS_UTF8) /* SMTP_NO_SMTPUTF8: no 8-bit octet is ever accepted */
        return 0;
    c = (unsigned char)p[i];
    if (c < 0xc2 || c > 0xf4 || ++i >= n)
        return 0;
    d = (unsigned char)p[i]; /* the second octet: 0x80-0xbf, narrower after four leads */
    if (d < 0x80 || d > 0xbf || (c == 0xe0 && d < 0xa0) || (c == 0xed && d > 0x9f) ||
        (c == 0xf0 && d < 0x90) || (c == 0xf4 && d > 0x8f))
        return 0;
    len = c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
    for (k = 2; k < len; k++) /* the others: 0x80-0xbf */
        if (++i >= n || ((unsigned char)p[i] & 0xc0) != 0x80)
            return 0;
    return len;
}

#ifndef SMTP_NO_SERVER /* UTF-8 in arguments */
/* Any octet >= 0x80 in p[i..n) must start well-formed UTF-8; *has8 is set
 * when there is one.  Returns 0 for malformed input. */
static int smtp__check_utf8(const char *p, size_t i, size_t n, int *has8)
{
    size_t l;
    while (i < n) {
        if ((unsigned char)p[i] < 0x80) {
            i++;
            continue;
        }
        if ((l = smtp__utf8_len(p, i, n)) == 0)
            return 0;
        *has8 = 1;
        i += l;
    }
    return 1;
}

#endif /* SMTP_NO_SERVER */

static int smtp__hexval(int c)
{
    /* the class test first: c | 0x20 alone would turn 0x14 into '4' */
    if (!SMTP__IS(c, SMTP__C_HEX))
        return -1;
    c |= 0x20;
    return c <= '9' ? c - '0' : c - 'a' + 10;
}

#if !defined(SMTP_NO_SERVER) || !defined(SMTP_NO_CLIENT)
/* v in decimal at o: its length.  Divides by 10 in 16-bit steps with
 * 32-bit arithmetic: a 64-bit division would link the C library's
 * (__aeabi_uldivmod, ~750 octets of Cortex-M flash).  The digits come
 * last first and are turned round in place: no buffer on the stack, which
 * the reply writer is on the deepest path of.  For Eva, each count of
 * digits (at most 20) is its own state, so that o[0..n) is seen written
 * and n bounded (proof/README.md). */
static size_t smtp__put_num(char *o, uint64_t v)
{
    size_t n = 0, i;
    //@ loop unroll 20;
    do {
        uint32_t hi = (uint32_t)(v >> 32), mid, lo;
        mid = (hi % 10) << 16 | (uint32_t)v >> 16; /* < 10 << 16: mid / 10 < 1 << 16 */
        lo = (mid % 10) << 16 | ((uint32_t)v & 0xffffu);
        o[n++] = (char)('0' + lo % 10);
        //@ split n;
        v = (uint64_t)(hi / 10) << 32 | (mid / 10) << 16 | lo / 10;
    } while (v != 0);
    for (i = 0; i < n / 2; i++) {
        char c = o[i];
        o[i] = o[n - 1 - i];
        o[n - 1 - i] = c;
    }
    return n;
}
#endif

#ifndef SMTP_NO_SERVER /* the reply writer */
/* -------------------------------------------------------------- the writer */

/* Enhanced codes inside the writer: class << 20 | subject << 10 | detail,
 * each part up to 999 (RFC 3463: 1*3digit), 0 for none.  A row's one-octet
 * form (SMTP__E8()) widens to it with the class of its code. */
static uint32_t smtp__e32(unsigned code, unsigned e8)
{
    return e8 ? (uint32_t)(code / 100) << 20 | (uint32_t)(e8 >> 4 & 7u) << 10 | (e8 & 15u) : 0;
}

/* The enhanced code to send: none before EHLO has advertised them (RFC
 * 2034), else e. */
static uint32_t smtp__enh(const struct smtp_session *s, uint32_t e)
{
    return (s->_flags & SMTP__F_ESMTP) && (s->cfg.extensions & SMTP_EXT_ENHANCEDSTATUSCODES) ? e
                                                                                             : 0;
}

static size_t smtp__enh_len(uint32_t e)
{
    unsigned sub = e >> 10 & 1023u, det = e & 1023u;
    return e ? 3 + (size_t)(1 + (sub >= 10) + (sub >= 100)) +
                   (size_t)(1 + (det >= 10) + (det >= 100))
             : 0;
}

enum smtp__how {
    SMTP__W_HOST = 1,  /* the hostname leads the first line */
    SMTP__W_CLEAN = 2, /* the text is the core's own: one line, no control octets */
    SMTP__W_MORE = 4   /* more lines of this reply follow: no final "code SP" */
};

/* Appends a reply: one line "code-[enh ][host ]text" CRLF per line of
 * t[0..tl) ('\n' separates them), each at most 512 octets, leaving `keep`
 * octets of the buffer free.  Only the text is ever cut: a line whose code,
 * enhanced code (RFC 2034 3: it prefaces every line), hostname and one
 * octet of non-empty text do not fit is left out, with every line after
 * it.  The last line written gets "code SP" (unless SMTP__W_MORE), so what
 * goes out is well formed whatever the text and however much fits.  Control
 * octets in the application's text go out as '?'. */
static void smtp__line(struct smtp_session *s, unsigned code, uint32_t enh, const char *t,
                       size_t tl, size_t keep, unsigned how)
{
    char *o = s->_out;
    size_t el = smtp__enh_len(enh), sep = 0, k = 0, le, len = s->_out_len;
    //@ split el;
    s->_again = 0; /* every write into _out starts here: what _out held is gone */
    for (;;) {     /* the line t[k..le) */
        size_t ll, i, end;
        size_t hl = (how & SMTP__W_HOST) ? SMTP__MIN(strlen(s->cfg.hostname), (size_t)255) : 0;
        size_t need;
        if (how & SMTP__W_CLEAN) /* the catalogue's texts are one line each */
            le = tl;
        else
            for (le = k; le < tl && t[le] != '\n'; le++)
                ;
        le = SMTP__MIN(le, tl); /* a no-op, but Eva cannot bound le after the loop alone */
        ll = le - k;
        need = 4 + (el ? el + 1 : 0) + hl + (hl && ll) + (ll != 0) + 2;
        if (len > SMTP_REPLY_MAX - keep || SMTP_REPLY_MAX - keep - len < need)
            break;
        /* Where the CRLF goes.  `need` fits, so the checks against end
         * below never stop a write; they are there so that every index is
         * seen to be bounded by one variable (Eva, proof/README.md). */
        end = SMTP__MIN((size_t)SMTP_REPLY_MAX - keep, len + SMTP__REPLY_LINE) - 2;
        o[len++] = (char)('0' + code / 100);
        o[len++] = (char)('0' + code / 10 % 10);
        o[len++] = (char)('0' + code % 10);
        sep = len;
        o[len++] = '-';
        if (el) {
            unsigned part, v;
            o[len++] = (char)('0' + (enh >> 20));
            for (part = 0; part < 2; part++) { /* ".subject" and ".detail", 1-3 digits */
                v = (unsigned)(part ? enh : enh >> 10) & 1023u;
                o[len++] = '.';
                if (v >= 100)
                    o[len++] = (char)('0' + v / 100);
                if (v >= 10)
                    o[len++] = (char)('0' + v / 10 % 10);
                o[len++] = (char)('0' + v % 10);
            }
            o[len++] = ' ';
        }
        if (hl) {
            for (i = 0; i < hl && len < end; i++)
                o[len++] = SMTP__IS(s->cfg.hostname[i], SMTP__C_PRINT) ? s->cfg.hostname[i] : '?';
            if (ll && len < end)
                o[len++] = ' ';
        }
#if !SMTP_SMALL
        /* the catalogue's texts pass unchanged, eight octets a step (fixed
         * copies Eva can bound, where a memcpy() of the whole rest it
         * cannot); the octet loop below takes the tail */
        if (how & SMTP__W_CLEAN)
            for (; k + 8 <= le && len + 8 <= end; k += 8, len += 8)
                memcpy(o + len, t + k, 8);
#endif
        for (; k < le && len < end; k++) /* the catalogue's texts pass unchanged */
            o[len++] = (char)((how & SMTP__W_CLEAN) || SMTP__IS(t[k], SMTP__C_PRINT) ? t[k] : '?');
        len = SMTP__MIN(len, end);
        o[len++] = '\r';
        o[len++] = '\n';
        s->_out_len = (uint16_t)len;
        how &= ~(unsigned)SMTP__W_HOST;
        if (le >= tl)
            break;
        k = le + 1;
    }
    /* always below the buffer's end (sep is where a '-' was written); the
     * bound is for Eva, which loses it where the text goes eight octets a
     * step */
    if (sep && !(how & SMTP__W_MORE) && sep < sizeof s->_out)
        o[sep] = ' ';
}

/* Appends one reply of text t (NUL-terminated); a macro, not a function,
 * to keep one frame off the deepest stack. */
#define smtp__put(s, code, enh, t, how) smtp__line(s, code, smtp__enh(s, enh), t, strlen(t), 0, how)

/* Appends the catalogue's reply `id`: one line, the hostname first in 221
 * and 421 (RFC 5321 4.2.2, 3.8).  A 421 ends the session. */
static void smtp__say(struct smtp_session *s, unsigned id)
{
    const struct smtp__reply_row *r;
    unsigned c, code;
    /* Eva: one state per reply, so that each text is seen with its own length */
    //@ split id;
    r = &smtp__replies[id];
    c = r->code; /* SMTP__C8() */
    code = SMTP__C16(c);
    smtp__put(s, code, smtp__e32(code, r->enh), SMTP__TEXT_OF(r),
              SMTP__W_CLEAN | (c == SMTP__C8(221) || c == SMTP__C8(421) ? SMTP__W_HOST : 0));
    if (c == SMTP__C8(421))
        s->_state = SMTP__ST_CLOSED;
}

/* A refusal of the core's.  Syntax and sequence errors (500-504, 555)
 * count towards max_errors; past it the session ends with 421 instead
 * (RFC 5321 4.2.2 allows 421 anywhere). */
static void smtp__refuse(struct smtp_session *s, unsigned id)
{
    unsigned c = smtp__replies[id].code; /* SMTP__C8(): 500-509 and 555 */
    if (((c >= SMTP__C8(500) && c <= SMTP__C8(509)) || c == SMTP__C8(555)) &&
        ++s->_errors > s->cfg.max_errors && s->cfg.max_errors != 0xffff)
        id = SMTP__R_ERRORS;
    smtp__say(s, id);
}

#endif /* SMTP_NO_SERVER */

#ifndef SMTP_NO_SERVER /* EHLO reply */
/* The EHLO keywords, "\0"-separated, one for each extension bit from bit
 * 0 (the order they are sent in).  A compiled-out extension's is empty, its
 * bit never set (smtp_init()). */
#ifdef SMTP_NO_SMTPUTF8
#define SMTP__KW_UTF8 ""
#else
#define SMTP__KW_UTF8 "SMTPUTF8"
#endif
#ifdef SMTP_NO_CHUNKING
#define SMTP__KW_CHUNKING "\0"
#else
#define SMTP__KW_CHUNKING "CHUNKING\0BINARYMIME"
#endif
#ifdef SMTP_NO_DSN
#define SMTP__KW_DSN ""
#else
#define SMTP__KW_DSN "DSN"
#endif
/* clang-format off */
static const char smtp__keywords[] =
    "PIPELINING\0" "SIZE\0" "8BITMIME\0" "ENHANCEDSTATUSCODES\0" SMTP__KW_UTF8 "\0"
    "LIMITS RCPTMAX=\0" SMTP__KW_CHUNKING "\0" SMTP__IF_STARTTLS("STARTTLS") "\0"
    SMTP__IF_AUTH("AUTH PLAIN LOGIN") "\0" SMTP__KW_DSN "\0" SMTP__IF_AUTH("ATRN");
/* clang-format on */
#define SMTP__KW_LAST SMTP_EXT_ATRN
/* The most a keyword's line takes: the code and its hyphen, the keyword,
 * SIZE's blank and 20 digits or RCPTMAX's 5, CRLF. */
#define SMTP__KW_ROOM(bit, n) (6 + (n) + ((bit) == SMTP_EXT_SIZE ? 21 : 5))

/* The EHLO reply: hostname (and the first line of text) first, then one
 * keyword a line.  The keywords' room is kept first (their longest: SIZE
 * with 20 digits, RCPTMAX with 5), so the application's text is what gets
 * cut, never a keyword or its value.  A 255-octet hostname and every
 * keyword take at most 462 octets, within the 512 that SMTP_REPLY_MAX
 * guarantees, so every line below fits. */
static void smtp__put_ehlo(struct smtp_session *s, const char *text)
{
    uint32_t e = s->cfg.extensions & (2u * SMTP__KW_LAST - 1), bit; /* no bit above: no keyword */
    size_t sep, keep = 0, tl = strlen(text);
    const char *nl = (const char *)memchr(text, '\n', tl), *kw;
    if (s->_flags & SMTP__F_TLS)
        e &= ~(uint32_t)SMTP_EXT_STARTTLS; /* RFC 3207 4.2 */
    if (!(s->_flags & SMTP__F_TLS) && !(s->cfg.options & SMTP_OPT_AUTH_PLAINTEXT))
        e &= ~(uint32_t)SMTP_EXT_AUTH; /* not usable yet: don't offer it */
    //@ loop unroll 12;
    for (bit = 1, kw = smtp__keywords; bit <= e; kw += strlen(kw) + 1, bit <<= 1)
        if (e & bit)
            keep += SMTP__KW_ROOM(bit, strlen(kw));
    sep = s->_out_len + 3u; /* the first line's '-': it always fits */
    smtp__line(s, 250, 0, text, nl ? (size_t)(nl - text) : tl, keep, SMTP__W_HOST | SMTP__W_MORE);
    //@ loop unroll 12;
    for (bit = 1, kw = smtp__keywords; bit <= e; kw += strlen(kw) + 1, bit <<= 1) {
        char *o = s->_out + s->_out_len;
        size_t n = strlen(kw);
        if (!(e & bit))
            continue;
        /* never: this line's room is in `keep`, but Eva cannot relate the
         * two.  It must be this line's own room: one bound for every
         * keyword dropped the last ones once the text took all but `keep`. */
        if (s->_out_len + SMTP__KW_ROOM(bit, n) > SMTP_REPLY_MAX)
            break;
        o[0] = '2', o[1] = '5', o[2] = '0', o[3] = '-'; /* the code of the reply's first line */
        memcpy(o + 4, kw, n + 1);                       /* its NUL too, overwritten below */
        n += 4;
        if (bit == SMTP_EXT_SIZE && s->cfg.max_size) {
            o[n++] = ' ';
            n += smtp__put_num(o + n, s->cfg.max_size);
        } else if (bit == SMTP_EXT_LIMITS) {
            n += smtp__put_num(o + n, s->cfg.max_rcpt);
        }
        o[n++] = '\r';
        o[n++] = '\n';
        sep = s->_out_len + 3u;
        s->_out_len = (uint16_t)(s->_out_len + n);
    }
    if (sep < sizeof s->_out) /* always: as above */
        s->_out[sep] = ' ';
}

#endif /* SMTP_NO_SERVER */

/* --------------------------------------------------------- argument parsers */

/* How smtp__check_domain() reads a Domain. */
enum {
    SMTP__D_UTF8 = 1,   /* well-formed UTF-8 counts as letters (U-labels, RFC 6531) */
    SMTP__D_UNDER = 2,  /* '_' is allowed (HELO/EHLO names only) */
    SMTP__D_LITERAL = 4 /* an address literal is allowed (smtp__parse_domain()) */
};

/* A Domain (RFC 5321 4.1.2) at p[i..n): dot-separated labels of letters,
 * digits and inner hyphens, 1-63 octets each.  Returns SMTP_OK, 1 for a
 * good one with 8-bit octets (only with SMTP__D_UTF8), or the error.  Four
 * arguments: a fifth would go on the stack on 32-bit ARM, in the frame
 * of smtp__parse_path(), on the deepest stack of a call. */
static int smtp__check_domain(const char *p, size_t i, size_t n, unsigned how)
{
    size_t lab = 0, st, l;
    int has8 = 0;
    if (n - i > SMTP_DOMAIN_MAX)
        return SMTP_ERR_DOMAIN_LEN;
    if (i == n)
        return SMTP_ERR_SYNTAX;
    while (i < n) {
        unsigned char c;
        for (st = i; i < n && SMTP__IS(p[i], SMTP__C_ALPHA | SMTP__C_DIGIT); i++)
            ; /* the common case first: a run of letters and digits */
        if ((lab += i - st) > 63)
            return SMTP_ERR_DOMAIN_LEN;
        if (i >= n)
            break;
        c = (unsigned char)p[i];
        if (c == '.') {
            if (lab == 0)
                return SMTP_ERR_SYNTAX;
            lab = 0;
            i++;
            continue;
        }
        if (c >= 0x80) {
            if (!(how & SMTP__D_UTF8) || (l = smtp__utf8_len(p, i, n)) == 0)
                return SMTP_ERR_UTF8;
            has8 = 1;
            i += l - 1;
            lab += l - 1;
        } else if (!((how & SMTP__D_UNDER) && c == '_') && !(c == '-' && lab > 0)) {
            return SMTP_ERR_SYNTAX;
        }
        if (++lab > 63)
            return SMTP_ERR_DOMAIN_LEN;
        if (c == '-' && (i + 1 >= n || p[i + 1] == '.'))
            return SMTP_ERR_SYNTAX; /* a label ends in '-' */
        i++;
    }
    return lab == 0 ? SMTP_ERR_SYNTAX : has8;
}

/* An IPv4 address at p[i..n). */
static int smtp__check_ipv4(const char *p, size_t i, size_t n)
{
    size_t part;
    for (part = 0; part < 4; part++) {
        unsigned v = 0, d = 0;
        if (part && (i >= n || p[i++] != '.'))
            return 0;
        while (i < n && p[i] >= '0' && p[i] <= '9' && d < 3)
            v = v * 10 + (unsigned)(p[i++] - '0'), d++;
        if (d == 0 || v > 255)
            return 0;
    }
    return i == n;
}

/* RFC 5321 IPv6-addr at p[i..n): full, compressed ("::" once, for at
 * least two groups) and both with a trailing IPv4 address. */
static int smtp__check_ipv6(const char *p, size_t i, size_t n)
{
    size_t groups = 0;
    int dbl = 0;
    if (i < n && p[i] == ':') { /* only a "::" starts with ':' */
        if (++i >= n || p[i] != ':')
            return 0;
        dbl = 1, i++;
    }
    while (i < n) {
        size_t st = i; /* of the group, i - st digits */
        while (i < n && SMTP__IS(p[i], SMTP__C_HEX) && i - st < 5)
            i++;
        if (i < n && p[i] == '.') { /* the IPv4 tail ends the address */
            if (!smtp__check_ipv4(p, st, n))
                return 0;
            groups += 2;
            break;
        }
        if (i == st || i - st > 4)
            return 0;
        groups++;
        if (i >= n)
            break;
        if (p[i++] != ':' || i >= n)
            return 0;
        if (p[i] == ':') {
            if (dbl)
                return 0;
            dbl = 1;
            i++;
        }
    }
    return dbl ? groups <= 6 : groups == 8;
}

/* address-literal without the brackets, p[i..n): IPv4, "IPv6:", or
 * tag ":" dcontent */
static int smtp__check_literal(const char *p, size_t i, size_t n)
{
    if (i < n && SMTP__IS(p[i], SMTP__C_DIGIT))
        return smtp__check_ipv4(p, i, n);
    if (smtp__has_prefix(p, i, n, "IPV6:"))
        return smtp__check_ipv6(p, i + 5, n);
    if (i >= n || p[i] == ':') /* no tag */
        return 0;
    for (; i < n && p[i] != ':'; i++) /* the tag: letters, digits, inner '-' */
        if (!SMTP__IS(p[i], SMTP__C_ALPHA | SMTP__C_DIGIT) &&
            (p[i] != '-' || i + 1 >= n || p[i + 1] == ':'))
            return 0;
    if (++i >= n)
        return 0;
    for (; i < n; i++) /* dcontent: %d33-90 / %d94-126 */
        if (p[i] < 33 || p[i] > 126 || (p[i] >= 91 && p[i] <= 93))
            return 0;
    return 1;
}

/* smtp_parse_domain() on p[i..n), with smtp__check_domain()'s how and
 * SMTP__D_LITERAL for allow_literal: indices, not a sub-span, so that
 * HELO's argument is read where it is in the line (proof/README.md). */
static int smtp__parse_domain(const char *p, size_t i, size_t n, unsigned how)
{
    if ((how & SMTP__D_LITERAL) && n - i >= 2 && p[i] == '[')
        return p[n - 1] == ']' && n - i <= SMTP_DOMAIN_MAX && smtp__check_literal(p, i + 1, n - 1)
                   ? SMTP_OK
                   : SMTP_ERR_SYNTAX;
    return smtp__check_domain(p, i, n, how); /* which looks at the other bits only */
}

SMTP_API int smtp_parse_domain(const char *p, size_t n, int allow_literal)
{
    return smtp__parse_domain(p, 0, n, allow_literal ? SMTP__D_LITERAL : 0);
}

#if (!defined(SMTP_NO_SERVER) && !defined(SMTP_NO_AUTH)) || !defined(SMTP_NO_CLIENT)
/* ATRN's argument (RFC 2645 4): Domains separated by ',' (empty: every
 * domain).  Both roles check it with this. */
static int smtp__domains_ok(const char *a, size_t n)
{
    size_t i = 0, st;
    while (i < n) {
        for (st = i; i < n && a[i] != ','; i++) {
        }
        if (smtp__check_domain(a, st, i, 0) != SMTP_OK)
            return 0;
        if (i < n && ++i == n)
            return 0; /* a trailing ',' */
    }
    return 1;
}
#endif

/* The octet at p[*i] in a path, which is not ASCII text: with utf8, the
 * start of a well-formed UTF-8 sequence, which *i then steps over.  Returns
 * 1 for that, 0 for an ASCII octet that is a syntax error, -1 for 8-bit
 * octets that are malformed or not allowed (SMTP_ERR_UTF8). */
static int smtp__step8(const char *p, size_t n, size_t *i, int utf8, int *has8)
{
    size_t l;
    if ((unsigned char)p[*i] < 0x80)
        return 0;
    if (!utf8 || (l = smtp__utf8_len(p, *i, n)) == 0)
        return -1;
    *has8 = 1;
    *i += l - 1;
    return 1;
}

/* The local-part at p[i..n) (RFC 5321 4.1.2: Dot-string or Quoted-string).
 * Returns where it ends (in [i, n]), or 0 with *err set. */
static size_t smtp__local_part(const char *p, size_t n, size_t i, int utf8, int *has8, int *err)
{
    int r;
    if (i < n && p[i] == '"') { /* Quoted-string */
        for (i++;; i++) {
            if (i >= n)
                return (size_t)(*err = SMTP_ERR_SYNTAX, 0);
            if (p[i] == '"')
                return i + 1;
            if (p[i] == '\\') {
                if (++i >= n || !SMTP__IS(p[i], SMTP__C_PRINT))
                    return (size_t)(*err = SMTP_ERR_SYNTAX, 0);
            } else if (!SMTP__IS(p[i], SMTP__C_QTEXT) &&
                       (r = smtp__step8(p, n, &i, utf8, has8)) <= 0) {
                return (size_t)(*err = r ? SMTP_ERR_UTF8 : SMTP_ERR_SYNTAX, 0);
            }
        }
    }
    { /* Dot-string: atoms joined by single dots */
        int dot = 1;
        for (; i < n; i++) {
            if (SMTP__IS(p[i], SMTP__C_ATEXT)) { /* the common case first */
                dot = 0;
                continue;
            }
            if (p[i] == '@' || p[i] == '>')
                break;
            if (p[i] == '.') {
                if (dot)
                    return (size_t)(*err = SMTP_ERR_SYNTAX, 0);
                dot = 1;
                continue;
            }
            if ((r = smtp__step8(p, n, &i, utf8, has8)) <= 0)
                return (size_t)(*err = r ? SMTP_ERR_UTF8 : SMTP_ERR_SYNTAX, 0);
            dot = 0;
        }
        if (dot)
            return (size_t)(*err = SMTP_ERR_SYNTAX, 0);
        return i;
    }
}

#if !SMTP_SMALL
/* The common path at the start of p[b..n): "<" Dot-string "@" Domain ">",
 * ASCII, the Domain at most 63 octets (so no label is longer) and within
 * every limit.  Returns the index after it, with *out filled as
 * smtp__parse_path() fills it but pointing into q, which holds (or is to
 * hold) the same octets at the same indices; or 0 for anything else
 * (smtp__parse_path() then decides).  Atoms
 * are runs of atext, labels runs of letters, digits and '-' that start
 * with a letter or digit and do not end with '-': one table load and test
 * per octet, two octets a step (the second may be the '.', '@' or '>'
 * that ends the run), the first octet of a run tested before it, the dots,
 * the '@', the '>' and the length limits looked at where a run ends.  The
 * end is found by the scan itself: a caller need not know it first. */
static SMTP__ALWAYS_INLINE size_t smtp__plain_path(const char *p, size_t b, size_t n, const char *q,
                                                   struct smtp_path *out)
{
    size_t i = b + 1, at, e = n - 1; /* steps of two read up to p[e] */
    if (n - b < 5 || p[b] != '<')
        return 0;
    for (;;) { /* atoms, up to the '@' */
        if (i >= n || !SMTP__IS(p[i], SMTP__C_ATEXT))
            return 0;
        for (i++; i < e; i += 2) {
            if (!SMTP__IS(p[i], SMTP__C_ATEXT))
                break;
            if (!SMTP__IS(p[i + 1], SMTP__C_ATEXT)) {
                i++;
                break;
            }
        }
        if (i >= n)
            return 0;
        if (p[i] == '@')
            break;
        if (p[i++] != '.')
            return 0;
    }
    at = ++i;
    if (at - b - 2 > SMTP_LOCAL_MAX)
        return 0;
    for (;;) { /* labels, up to the '>' */
        if (i >= n || !SMTP__IS(p[i], SMTP__C_ALPHA | SMTP__C_DIGIT))
            return 0;
        for (i++; i < e; i += 2) {
            if (!SMTP__IS(p[i], SMTP__C_LDH))
                break;
            if (!SMTP__IS(p[i + 1], SMTP__C_LDH)) {
                i++;
                break;
            }
        }
        if (i >= n || p[i - 1] == '-') /* p[i] untested if the steps ran out at e */
            return 0;
        if (p[i] == '>')
            break;
        if (p[i++] != '.')
            return 0;
    }
    if (i - at > SMTP__MIN(63, SMTP_DOMAIN_MAX) || i - b >= SMTP_PATH_MAX)
        return 0;
    out->mailbox.ptr = out->local.ptr = q + b + 1;
    out->local.len = at - b - 2;
    out->domain.ptr = q + at;
    out->domain.len = i - at;
    out->mailbox.len = i - b - 1;
    out->len = i - b + 1;
    return i + 1;
}
#endif

/* smtp_parse_path() on p[b..n): indices, not a sub-span, so that MAIL's
 * and RCPT's path is read where it is in the line (proof/README.md).
 * Returns SMTP_OK, 1 for a good path with 8-bit octets (SMTP_PATH_UTF8
 * only), or the error; out's spans point into p. */
static int smtp__parse_path(const char *p, size_t b, size_t n, unsigned flags,
                            struct smtp_path *out)
{
    size_t i = b + 1, st, at;
    int utf8 = SMTP__HAS_UTF8 && (flags & SMTP_PATH_UTF8), r = SMTP_OK, has8 = 0;

#if !SMTP_SMALL
    if (n && smtp__plain_path(p, b, n, p, out) == n) /* 0: not a plain path */
        return SMTP_OK;
#endif
    out->mailbox.ptr = out->local.ptr = out->domain.ptr = p + b;
    out->mailbox.len = out->local.len = out->domain.len = out->len = 0;
    if (n - b < 2 || p[b] != '<')
        return SMTP_ERR_SYNTAX;
    if (p[b + 1] == '>') {
        out->len = 2;
        return (flags & SMTP_PATH_NULL_OK) ? SMTP_OK : SMTP_ERR_SYNTAX;
    }
    if (p[b + 1] == '@') { /* A-d-l: "@" Domain *("," "@" Domain) ":", ignored */
        for (;;) {
            st = ++i;
            while (i < n && p[i] != ',' && p[i] != ':' && p[i] != '>')
                i++;
            if (i >= n || p[i] == '>')
                return SMTP_ERR_SYNTAX;
            if ((r = smtp__check_domain(p, st, i, 0)) != SMTP_OK)
                return r;
            if (p[i++] == ':')
                break;
            if (i >= n || p[i] != '@')
                return SMTP_ERR_SYNTAX;
        }
    }
    st = i;
    if ((i = smtp__local_part(p, n, i, utf8, &has8, &r)) == 0)
        return r;
    out->local.ptr = out->mailbox.ptr = p + st;
    out->local.len = i - st;
    if (i < n && p[i] == '>' && (flags & SMTP_PATH_POSTMASTER) &&
        smtp__is_word(p, st, i, "POSTMASTER")) {
        out->mailbox.len = 10;
        out->domain.ptr = p + i;
        out->len = i - b + 1;
        return SMTP_OK;
    }
    if (i >= n || p[i] != '@')
        return SMTP_ERR_SYNTAX;
    at = ++i;
    if (i < n && p[i] == '[') {
        while (i < n && p[i] != ']')
            i++;
        if (i >= n || !smtp__check_literal(p, at + 1, i))
            return SMTP_ERR_SYNTAX;
        i++;
    } else {
        /* The Domain is what comes before the first '>'.  Usually the
         * path ends the span, and a good Domain has no '>' in it: then the
         * last octet is that first '>', and the Domain is read once. */
        i = n - 1;
        if (p[i] != '>' || (r = smtp__check_domain(p, at, i, utf8 ? SMTP__D_UTF8 : 0)) < 0) {
            for (i = at; i < n && p[i] != '>'; i++)
                ;
            r = smtp__check_domain(p, at, i, utf8 ? SMTP__D_UTF8 : 0);
        }
        if (r < 0)
            return r;
        has8 |= r;
    }
    if (i >= n || p[i] != '>')
        return SMTP_ERR_SYNTAX;
    out->domain.ptr = p + at;
    out->domain.len = i - at;
    out->mailbox.len = i - st;
    out->len = i - b + 1;
    if (out->local.len > SMTP_LOCAL_MAX)
        return SMTP_ERR_LOCAL_LEN;
    if (out->domain.len > SMTP_DOMAIN_MAX)
        return SMTP_ERR_DOMAIN_LEN;
    return out->len > SMTP_PATH_MAX ? SMTP_ERR_PATH_LEN : has8;
}

SMTP_API int smtp_parse_path(const char *p, size_t n, unsigned flags, struct smtp_path *out)
{
    int r = smtp__parse_path(p ? p : "", 0, p ? n : 0, flags, out);
    return r > 0 ? SMTP_OK : r;
}

/* smtp_parse_u64() on p[i..n): indices, not a sub-span (proof/README.md). */
static int smtp__u64(const char *p, size_t i, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    int over = 0;
    *out = 0;
    if (i >= n)
        return SMTP_ERR_SYNTAX;
    for (; i < n; i++) { /* every octet is checked, also past an overflow */
        unsigned d = (unsigned)(unsigned char)p[i] - '0';
        if (d > 9)
            return SMTP_ERR_SYNTAX;
        /* v * 10 + d > UINT64_MAX, with constants only: a 64-bit division
         * would link the C library's (__aeabi_uldivmod, ~750 octets of
         * Cortex-M flash) */
        if (v > UINT64_MAX / 10 || (v == UINT64_MAX / 10 && d > UINT64_MAX % 10))
            over = 1;
        v = v * 10 + d;
    }
    *out = over ? UINT64_MAX : v; /* "too large", never a wrapped small number */
    return over ? SMTP_ERR_SYNTAX : SMTP_OK;
}

SMTP_API int smtp_parse_u64(const char *p, size_t n, uint64_t *out)
{
    return smtp__u64(p, 0, n, out);
}

SMTP_API long smtp_xtext_decode(const char *p, size_t n, char *out, size_t cap)
{
    size_t i, o = 0;
    for (i = 0; i < n; i++) {
        int c = (unsigned char)p[i];
        if (c < 33 || c > 126 || c == '=')
            return -1;
        if (c == '+') { /* hexchar: "+" and two upper-case hex digits */
            if (i + 2 >= n || smtp__hexval(p[i + 1]) < 0 || smtp__hexval(p[i + 2]) < 0 ||
                p[i + 1] >= 'a' || p[i + 2] >= 'a')
                return -1;
            c = smtp__hexval(p[i + 1]) * 16 + smtp__hexval(p[i + 2]);
            i += 2;
        }
        if (out) {
            if (o >= cap)
                return -1;
            out[o] = (char)c;
        }
        o++;
    }
    return (long)o;
}

#ifndef SMTP_NO_SERVER /* the receiver */
/* ---------------------------------------------------------- MAIL and RCPT */

/* Internal results: > 0 an event, 0 a reply is queued, < 0 the negated id
 * of the catalogue reply that refuses the command (smtp__refuse()). */
#define SMTP__NO(id) (-(int)SMTP__R_##id)

/* A path error: 501 for syntax and lengths (RFC 5321 4.5.3.1.10), 501 5.6.7
 * for malformed UTF-8 (RFC 6531 3.5); the enhanced code says sender or
 * recipient (RFC 3463). */
static int smtp__path_error(int r, int mail)
{
    int base = mail ? SMTP__R_FROM_SYNTAX : SMTP__R_TO_SYNTAX;
    switch (r) {
    case SMTP_ERR_LOCAL_LEN:
        return -(base + 1);
    case SMTP_ERR_DOMAIN_LEN:
        return -(base + 2);
    case SMTP_ERR_PATH_LEN:
        return -(base + 3);
    case SMTP_ERR_UTF8:
        return SMTP__NO(UTF8_BAD);
    default:
        return -base;
    }
}

/* The ESMTP parameters this core knows: which command, which extension. */
enum smtp__param {
    SMTP__P_SIZE,
    SMTP__P_BODY,
#ifndef SMTP_NO_SMTPUTF8 /* a compiled-out extension's are not there: 555 */
    SMTP__P_UTF8,
#endif
#ifndef SMTP_NO_DSN
    SMTP__P_RET,
    SMTP__P_ENVID,
    SMTP__P_NOTIFY,
    SMTP__P_ORCPT,
#endif
#ifndef SMTP_NO_AUTH
    SMTP__P_AUTH,
#endif
    SMTP__P_COUNT
};
static const struct smtp__param_row {
    char name[9];
    uint8_t mail; /* 1 MAIL, 0 RCPT */
    uint16_t ext;
} smtp__params[SMTP__P_COUNT] = {
    {"SIZE", 1, SMTP_EXT_SIZE},         {"BODY", 1, SMTP_EXT_8BITMIME},
#ifndef SMTP_NO_SMTPUTF8
    {"SMTPUTF8", 1, SMTP_EXT_SMTPUTF8},
#endif
#ifndef SMTP_NO_DSN
    {"RET", 1, SMTP_EXT_DSN},           {"ENVID", 1, SMTP_EXT_DSN},
    {"NOTIFY", 0, SMTP_EXT_DSN},        {"ORCPT", 0, SMTP_EXT_DSN},
#endif
#ifndef SMTP_NO_AUTH
    {"AUTH", 1, SMTP_EXT_AUTH},
#endif
};

/* Which of the upper-case words in `words` ("\0"-separated, ending in
 * "\0\0") p[i..n) is, in any case: 1 for the first, 0 for none (an empty
 * span too). */
static size_t smtp__which(const char *p, size_t i, size_t n, const char *words)
{
    size_t k, wl;
    for (k = 1; (wl = strlen(words)) != 0; words += wl + 1, k++)
        if (wl == n - i && smtp__has_prefix(p, i, n, words)) /* smtp__is_word(), a frame less */
            return k;
    return 0;
}

/* xtext of 1..max octets at p[i..n) that decodes to SP and printable US-ASCII only
 * (RFC 3461 4.2, 4.4; RFC 4954 5): a decoded CR, LF or other control octet
 * would let a DSN or a header built from the value be split.  It reads
 * xtext itself rather than through smtp_xtext_decode() or a shared helper:
 * it runs on the deepest stack of a call (MAIL parameters), and one more
 * frame there takes the Cortex-M4 worst case from 248 to 256 octets. */
#if !defined(SMTP_NO_AUTH) || !defined(SMTP_NO_DSN)
static int smtp__xtext_ok(const char *p, size_t i, size_t n, size_t max)
{
    if (i == n || n - i > max)
        return 0;
    for (; i < n; i++) { /* xchar (33-126 but "+" and "="), or "+" 2HEXDIG */
        int c = (unsigned char)p[i];
        if (c == '+') {
            if (i + 2 >= n || smtp__hexval(p[i + 1]) < 0 || smtp__hexval(p[i + 2]) < 0 ||
                p[i + 1] >= 'a' || p[i + 2] >= 'a')
                return 0;
            c = smtp__hexval(p[i + 1]) * 16 + smtp__hexval(p[i + 2]);
            i += 2;
            if (c < ' ' || c > '~')
                return 0;
        } else if (c < 33 || c > 126 || c == '=') {
            return 0;
        }
    }
    return 1;
}
#endif

#ifndef SMTP_NO_DSN
/* NOTIFY= (RFC 3461 4.1), p[i..n): NEVER alone, or a list of SUCCESS, FAILURE and
 * DELAY, each once, in the order of the SMTP_NOTIFY_* bits.  Returns the
 * bits, or 0. */
static unsigned smtp__notify(const char *p, size_t i, size_t n)
{
    unsigned bits = 0, w;
    for (;;) { /* element *("," element): ends at n */
        size_t j = i;
        while (j < n && p[j] != ',')
            j++;
        w = (unsigned)smtp__which(p, i, j,
                                  "NEVER\0"
                                  "SUCCESS\0"
                                  "FAILURE\0"
                                  "DELAY\0");
        if (w == 0 || (bits & (1u << (w - 1))))
            return 0; /* unknown, empty (",," or a trailing ",") or repeated */
        bits |= 1u << (w - 1);
        if (j == n)
            break;
        i = j + 1;
    }
    return (bits & SMTP_NOTIFY_NEVER) && bits != SMTP_NOTIFY_NEVER ? 0 : bits;
}
#endif

/* One known parameter's value p[vs..ve) (vs 0: none; a value starts
 * after its '=') into ev.  Returns 0 or a refusal. */
static int smtp__param(const struct smtp_session *s, union smtp_event *ev, unsigned id,
                       const char *p, size_t vs, size_t ve)
{
    struct smtp_span sp;
    size_t i;
    sp.ptr = p + vs;
    sp.len = ve - vs;
    switch (id) {
    case SMTP__P_SIZE:
        /* an overflowing number is "too large" (552), never wrapped */
        if (!vs || (smtp__u64(p, vs, ve, &ev->mail.size) != SMTP_OK && ev->mail.size != UINT64_MAX))
            break;
        return s->cfg.max_size && ev->mail.size > s->cfg.max_size ? SMTP__NO(SIZE_OVER) : 0;
    case SMTP__P_BODY: /* in SMTP_BODY_x's order */
        if ((i = smtp__which(p, vs, ve,
                             "7BIT\0"
                             "8BITMIME\0"
                             "BINARYMIME\0")) == 0)
            break;
        ev->mail.body = (uint8_t)i; /* what a repeat is compared with, even if refused */
        if (i == SMTP_BODY_BINARYMIME &&
            (!SMTP__HAS_CHUNKING ||
             (s->cfg.extensions & (SMTP_EXT_BINARYMIME | SMTP_EXT_CHUNKING)) !=
                 (SMTP_EXT_BINARYMIME | SMTP_EXT_CHUNKING)))
            return SMTP__NO(BINARYMIME_OFF);
        return 0;
#ifndef SMTP_NO_SMTPUTF8
    case SMTP__P_UTF8:
        ev->mail.smtputf8 = 1;
        return vs ? SMTP__NO(SMTPUTF8_VALUE) : 0;
#endif
#ifndef SMTP_NO_AUTH
    case SMTP__P_AUTH: /* RFC 4954 5: xtext or "<>" */
        if (!vs ||
            !((ve - vs == 2 && p[vs] == '<' && p[vs + 1] == '>') || smtp__xtext_ok(p, vs, ve, 500)))
            break;
        ev->mail.auth = sp;
        return 0;
#endif
#ifndef SMTP_NO_DSN
    case SMTP__P_RET: /* RFC 3461 4.3 */
        ev->mail.ret = (uint8_t)smtp__which(p, vs, ve,
                                            "FULL\0"
                                            "HDRS\0"); /* SMTP_RET_x's order */
        if (!ev->mail.ret)
            break;
        return 0;
    case SMTP__P_ENVID: /* RFC 3461 4.4: xtext, at most 100 characters */
        if (!vs || !smtp__xtext_ok(p, vs, ve, 100))
            break;
        ev->mail.envid = sp;
        return 0;
    case SMTP__P_NOTIFY:
        if (!vs || (ev->rcpt.notify = (uint8_t)smtp__notify(p, vs, ve)) == 0)
            break;
        return 0;
    case SMTP__P_ORCPT: /* RFC 3461 4.2: addr-type ";" xtext */
        for (i = vs; vs && i < ve && p[i] != ';'; i++)
            if (!SMTP__IS(p[i], SMTP__C_ALPHA | SMTP__C_DIGIT) && p[i] != '-')
                break;
        if (!vs || i == vs || i >= ve || p[i] != ';' || !smtp__xtext_ok(p, i + 1, ve, 500))
            break;
        ev->rcpt.orcpt = sp;
        return 0;
#endif
    default:
        break;
    }
    (void)sp;
    return SMTP__NO(PARAM_VALUE);
}

/* What a parameter left in ev, as a number a repeat must match: BODY, RET,
 * NOTIFY (their values), SMTPUTF8 (none).  -1 for those whose text is
 * compared instead (smtp__same_text()). */
static int smtp__param_number(const union smtp_event *ev, unsigned id)
{
    switch (id) {
    case SMTP__P_BODY:
        return ev->mail.body;
#ifndef SMTP_NO_SMTPUTF8
    case SMTP__P_UTF8:
        return 0;
#endif
#ifndef SMTP_NO_DSN
    case SMTP__P_RET:
        return ev->mail.ret;
    case SMTP__P_NOTIFY:
        return ev->rcpt.notify;
#endif
    default:
        return -1;
    }
}

/* Whether p[vs..ve), the value of parameter id given again, is the value
 * it was given before, octet for octet: AUTH, ENVID and ORCPT; SIZE but
 * for leading zeros (the same number then, however large).  The one
 * before is the nearest "name=" at a word's start before the repeat's
 * own, which starts at vs - k - 1 (k: the name's length); it has the
 * first one's text too (a repeat that differs from it is refused at once).
 * Reading it from the text again keeps nothing live across
 * smtp__param(), on the deepest stack.  The parameters before the
 * repeat have passed smtp__mail_params(): names and values of octets
 * 33-126, so an octet up to SP is a blank between them. */
static int smtp__same_text(const char *p, unsigned id, size_t vs, size_t ve)
{
    const char *name = smtp__params[id].name;
    size_t k = strlen(name), c, i, j, m;
    if (!vs) /* a repeat without a value never matches: the first had one */
        return 0;
    for (c = vs - 1; c > 0; c--) /* c: where the one before starts (sums only, no vs - k) */
        if (c + k + 1 < vs && (unsigned char)p[c - 1] <= ' ' && p[c + k] == '=' &&
            smtp__has_prefix(p, c, vs, name))
            break;
    if (c == 0)
        return 0; /* not reached: the first one was seen before */
    for (i = c + k + 1, j = i; j < vs && (unsigned char)p[j] > ' '; j++)
        ;
    if (id == SMTP__P_SIZE) {
        while (j - i > 1 && p[i] == '0')
            i++;
        while (ve - vs > 1 && p[vs] == '0')
            vs++;
    }
    if (j - i != ve - vs)
        return 0;
    for (m = 0; vs + m < ve; m++) /* not memcmp(): Eva bounds these reads, not its length */
        if (p[i + m] != p[vs + m])
            return 0;
    return 1;
}

/* A parameter given again (smtplib repeats SMTPUTF8) is accepted when both
 * mean the same, as Postfix and Exim do; one that conflicts gets 501. */
static int smtp__param_again(const struct smtp_session *s, union smtp_event *ev, unsigned id,
                             const char *p, size_t vs, size_t ve)
{
    int x = smtp__param_number(ev, id), r;
    if (x < 0) /* the first one's text passed: the same text passes, another conflicts */
        return smtp__same_text(p, id, vs, ve) ? 0 : SMTP__NO(PARAM_CONFLICT);
    r = smtp__param(s, ev, id, p, vs, ve);
    /* a conflict is 501 whatever else is wrong with the repeat (SIZE over
     * the limit, BODY=BINARYMIME when it is off) */
    return x != smtp__param_number(ev, id) ? SMTP__NO(PARAM_CONFLICT) : r;
}

/* The ESMTP parameters of MAIL (mail) or RCPT, p[i..n), into ev:
 * esmtp-param *(SP esmtp-param) (RFC 5321 4.1.2), with runs of blanks
 * where one SP stands unless SMTP_OPT_STRICT_SPACES. */
static int smtp__mail_params(const struct smtp_session *s, union smtp_event *ev, const char *p,
                             size_t i, size_t n, int mail)
{
    unsigned seen = 0;
    int r, esmtp = (s->_flags & SMTP__F_ESMTP) != 0;
    while (i < n) {
        /* the name is p[k..ke), the value p[vs..ve): indices into the
         * line, each read checked against n, where a pointer and a length
         * of their own were a pair Eva could not relate
         * (proof/README.md); vs 0: no value (a value starts after its
         * '=') */
        size_t k = i, ke, vs = 0, ve = 0, j;
        unsigned id;
        while (i < n && !smtp__is_blank(s, p[i]) && p[i] != '=')
            i++;
        ke = i;
        if (i < n && p[i] == '=') {
            vs = ++i;
            ve = i = smtp__skip_word(s, p, i, n);
        }
        if ((i < n && (i = smtp__skip_blanks(s, p, i, n)) == n) || ke == k || (vs && ve == vs) ||
            !SMTP__IS(p[k], SMTP__C_ALPHA | SMTP__C_DIGIT))
            return SMTP__NO(PARAMS);
        for (j = k; j < ke; j++)
            if (!SMTP__IS(p[j], SMTP__C_ALPHA | SMTP__C_DIGIT) && p[j] != '-')
                return SMTP__NO(PARAMS);
        for (j = vs; j < ve; j++)
            if (p[j] < 33 || p[j] > 126 || p[j] == '=')
                return SMTP__NO(PARAMS);
        for (id = 0; id < SMTP__P_COUNT; id++)
            if (smtp__params[id].mail == mail && (s->cfg.extensions & smtp__params[id].ext) &&
                smtp__is_word(p, k, ke, smtp__params[id].name))
                break;
        if (!esmtp || id == SMTP__P_COUNT) /* none without EHLO */
            return SMTP__NO(PARAM_UNKNOWN);
        r = (seen & (1u << id)) ? smtp__param_again(s, ev, id, p, vs, ve)
                                : smtp__param(s, ev, id, p, vs, ve);
        if (r != 0)
            return r;
        seen |= 1u << id;
    }
    return 0;
}

#if !SMTP_SMALL
/* A plain path at the start of p[b..n), its spans pointing into q (see
 * smtp__plain_path()): ev filled as smtp__mail_rcpt() fills it for RCPT,
 * in one step, and the index after the path; else 0. */
static SMTP__ALWAYS_INLINE size_t smtp__rcpt_path(union smtp_event *ev, const char *p, size_t b,
                                                  size_t n, const char *q)
{
    size_t k = smtp__plain_path(p, b, n, q, &ev->rcpt.path);
    if (!k)
        return 0;
    ev->rcpt.params.ptr = "";
    ev->rcpt.params.len = 0;
#ifndef SMTP_NO_DSN
    ev->rcpt.notify = 0;
    ev->rcpt.orcpt = ev->rcpt.params;
#endif
    return k;
}

/* "TO:" and a plain path, nothing after it, in l[i..n): as
 * smtp__rcpt_path() (bit 5 cleared matches exactly 't' and 'o'). */
static int smtp__rcpt_plain(union smtp_event *ev, const char *l, size_t i, size_t n)
{
    return n - i > 3 && (l[i] & 0xdf) == 'T' && (l[i + 1] & 0xdf) == 'O' && l[i + 2] == ':' &&
           smtp__rcpt_path(ev, l, i + 3, n, l) == n;
}

/* "RCPT TO:" with bit 5 of each letter cleared: a line's first 8 octets
 * masked with this, read as one number, equal "RCPT TO:" read so. */
static const unsigned char smtp__rcpt_mask[8] = {0xdf, 0xdf, 0xdf, 0xdf, 0xff, 0xdf, 0xdf, 0xff};

/* The octets p[0..8) as one number, in the machine's order. */
static uint64_t smtp__w8(const void *p)
{
    uint64_t w;
    memcpy(&w, p, 8);
    return w;
}

/* Do p[0..8) read "RCPT TO:", letters in either case? */
static int smtp__is_rcpt_to(const char *p)
{
    return (smtp__w8(p) & smtp__w8(smtp__rcpt_mask)) == smtp__w8("RCPT TO:");
}

/* May a RCPT be taken now, with nothing pending?  Its verb row's states
 * (MAIL, RCPT), no smtp_shutdown() waiting, and room under max_rcpt: the
 * conditions under which both RCPT shortcuts below stand for the general
 * path (which would otherwise refuse the command). */
static int smtp__rcpt_ready(const struct smtp_session *s)
{
    return (s->_state == SMTP__ST_MAIL || s->_state == SMTP__ST_RCPT) &&
           !(s->_flags & SMTP__F_SHUTDOWN) && s->_rcpts < s->cfg.max_rcpt;
}
#endif

/* Parses "FROM:<path> params" / "TO:<path> params" (l[i..n), the
 * argument where it is in the line) into ev: esmtp-param *(SP
 * esmtp-param) (RFC 5321 4.1.2), with runs of blanks where one SP stands
 * unless SMTP_OPT_STRICT_SPACES.  ev.mail and ev.rcpt share their first
 * members (type, path, params). */
static int smtp__mail_rcpt(struct smtp_session *s, union smtp_event *ev, const char *l, size_t i,
                           size_t n, int mail)
{
    int r, has8;
    unsigned flags = mail ? SMTP_PATH_NULL_OK : SMTP_PATH_POSTMASTER;

#if !SMTP_SMALL
    if (!mail && smtp__rcpt_plain(ev, l, i, n))
        return 0;
#endif
    if (!smtp__has_prefix(l, i, n, mail ? "FROM:" : "TO:"))
        return mail ? SMTP__NO(MAIL_SYNTAX) : SMTP__NO(RCPT_SYNTAX);
    i += mail ? 5 : 3;
    if (!(s->cfg.options & SMTP_OPT_STRICT_SPACES)) /* "FROM: <a@b>" */
        i = smtp__skip_blanks(s, l, i, n);
    if (SMTP__HAS_UTF8 && (s->_flags & SMTP__F_ESMTP) && (s->cfg.extensions & SMTP_EXT_SMTPUTF8))
        flags |= SMTP_PATH_UTF8;
    if ((has8 = smtp__parse_path(l, i, n, flags, &ev->mail.path)) < 0)
        return smtp__path_error(has8, mail);
    i += ev->mail.path.len;
    ev->mail.params.ptr = "";
    ev->mail.params.len = 0;
    if (mail) {
        ev->mail.size = 0;
        ev->mail.body = ev->mail.smtputf8 = 0;
#ifndef SMTP_NO_DSN
        ev->mail.ret = 0;
        ev->mail.envid = ev->mail.params;
#endif
#ifndef SMTP_NO_AUTH
        ev->mail.auth = ev->mail.params;
#endif
    } else {
#ifndef SMTP_NO_DSN
        ev->rcpt.notify = 0;
        ev->rcpt.orcpt = ev->rcpt.params;
#endif
    }
    if (i < n) {
        size_t j = smtp__skip_blanks(s, l, i, n);
        if (j == i || j == n)
            return SMTP__NO(PARAMS);
        ev->mail.params.ptr = l + j;
        ev->mail.params.len = n - j;
        i = j;
    }
    if ((r = smtp__mail_params(s, ev, l, i, n, mail)) != 0)
        return r;
    if (SMTP__HAS_UTF8 && has8 && !(mail ? ev->mail.smtputf8 : (s->_flags & SMTP__F_UTF8)))
        return SMTP__NO(UTF8_NEEDED); /* RFC 6531 3.5 */
    return 0;
}

/* --------------------------------------------------------------- commands */

/* Queues an event that waits for a decision. */
static int smtp__ask(struct smtp_session *s, union smtp_event *ev, int type)
{
    s->_await = (uint8_t)type;
    s->_flags &= (uint16_t)~SMTP__F_DEFERRED;
    return ev->type = type;
}

/* Answers a command that needs no decision and reports it. */
static int smtp__tell(struct smtp_session *s, union smtp_event *ev, int type, unsigned id)
{
    smtp__say(s, id);
    if (type == SMTP_EV_QUIT)
        s->_state = SMTP__ST_CLOSED;
    return ev->type = type;
}

static int smtp__data_end(struct smtp_session *s, union smtp_event *ev);

#ifndef SMTP_NO_CHUNKING
/* The size of a BDAT chunk (RFC 3030 2), read before anything else about
 * the command: whatever the answer, that many octets after the line are the
 * chunk, never commands (go-smtp #315).  A chunk that cannot be located (a
 * size that cannot be read, or a line that was not kept whole) leaves no way
 * to tell data from commands: the session ends, with 421 (RFC 5321 3.8).
 * The arguments: l[i..n) in the line. */
static int smtp__bdat_size(struct smtp_session *s, const char *l, size_t i, size_t n, unsigned lf)
{
    size_t d = smtp__skip_word(s, l, i, n);
    s->_chunk = 0; /* read in place: a local would sit in smtp_feed()'s frame */
    if (lf || (i < n && smtp__u64(l, i, d, &s->_chunk) != SMTP_OK))
        return SMTP__NO(BDAT_SIZE);
    return 0;
}

/* BDAT <size> [LAST], in sequence and allowed, the arguments l[i..n): the
 * chunk is taken as data. */
static int smtp__bdat(struct smtp_session *s, union smtp_event *ev, const char *l, size_t i,
                      size_t n)
{
    size_t d = smtp__skip_word(s, l, i, n), k = smtp__skip_blanks(s, l, d, n);
    if (d < n && !smtp__is_word(l, k, n, "LAST"))
        return SMTP__NO(BDAT_SYNTAX);
    if (s->cfg.max_size && s->_chunk > s->cfg.max_size - s->_size) {
        /* the transaction has failed: tell the application as at the end */
        s->_reject = SMTP_REJECT_SIZE;
        return smtp__data_end(s, ev);
    }
    if (!(s->_flags & SMTP__F_BDAT))
        s->_size = 0;
    s->_state = SMTP__ST_BDAT;
    s->_flags = (uint16_t)((s->_flags & ~SMTP__F_LAST) | SMTP__F_BDAT | (d < n ? SMTP__F_LAST : 0));
    ev->bdat.size = s->_chunk;
    ev->bdat.last = d < n;
    return ev->type = SMTP_EV_BDAT;
}
#endif

#ifndef SMTP_NO_AUTH
/* Strict base64 (RFC 4648 4) decoded in place: no characters outside the
 * alphabet, a length that is a multiple of 4, '=' only at the end and zero
 * pad bits.  Returns the decoded length or -1. */
static long smtp__b64_decode(char *p, size_t n)
{
    size_t i, o = 0, pad = 0;
    uint32_t acc = 0;
    if (n % 4)
        return -1;
    for (i = 0; i < n; i++) {
        int c = (unsigned char)p[i], v;
        if (c >= 'A' && c <= 'Z')
            v = c - 'A';
        else if (c >= 'a' && c <= 'z')
            v = c - 'a' + 26;
        else if (c >= '0' && c <= '9')
            v = c - '0' + 52;
        else if (c == '+')
            v = 62;
        else if (c == '/')
            v = 63;
        else if (c == '=' && i >= n - 2 && (pad || i == n - 1 || p[n - 1] == '='))
            v = 0, pad++;
        else
            return -1;
        acc = acc << 6 | (uint32_t)v;
        if (i % 4 == 3) {
            if ((pad == 1 && (acc & 0xff)) || (pad == 2 && (acc & 0xffff)))
                return -1; /* non-zero pad bits */
            p[o++] = (char)(acc >> 16);
            if (pad < 2)
                p[o++] = (char)(acc >> 8);
            if (pad < 1)
                p[o++] = (char)acc;
            acc = 0;
        }
    }
    return (long)o;
}

/* One SASL response r[0..n) in the line buffer (RFC 4954 4): "*" cancels,
 * "=" is empty, else base64.  PLAIN gives the whole answer at once; LOGIN
 * the user, then the password. */
static int smtp__auth_response(struct smtp_session *s, union smtp_event *ev, char *r, size_t n)
{
    long dl;
    size_t z1, z2, i;
    s->_state = SMTP__ST_READY;
    if (n == 1 && r[0] == '*')
        return SMTP__NO(AUTH_CANCEL);
    if ((dl = (n == 1 && r[0] == '=') ? 0 : smtp__b64_decode(r, n)) < 0)
        return SMTP__NO(AUTH_BASE64);
    n = (size_t)dl;
    ev->auth.authzid.ptr = ev->auth.user.ptr = ev->auth.pass.ptr = r;
    ev->auth.authzid.len = 0;
    if (s->_flags & SMTP__F_LOGIN) {
        ev->auth.mech = SMTP_MECH_LOGIN;
        if (!(s->_flags & SMTP__F_LOGIN_PASS)) {
            if (n > SMTP_AUTH_USER_MAX || !n)
                return SMTP__NO(AUTH_USER);
            memcpy(s->_auth, r, n);
            s->_auth_len = (uint8_t)n;
            s->_flags |= SMTP__F_LOGIN_PASS;
            s->_state = SMTP__ST_AUTH;
            smtp__say(s, SMTP__R_AUTH_ASK_PASS);
            return 0;
        }
        ev->auth.user.ptr = s->_auth;
        ev->auth.user.len = s->_auth_len;
        ev->auth.pass.len = n;
    } else { /* RFC 4616: [authzid] NUL authcid NUL passwd */
        ev->auth.mech = SMTP_MECH_PLAIN;
        for (z1 = 0; z1 < n && r[z1]; z1++)
            ;
        for (z2 = z1 + 1; z2 < n && r[z2]; z2++)
            ;
        for (i = z2 + 1; i < n && r[i]; i++)
            ;
        if (z2 >= n || i != n || z2 == z1 + 1 || z2 + 1 == n)
            return SMTP__NO(AUTH_PLAIN);
        ev->auth.authzid.len = z1;
        ev->auth.user.ptr = r + z1 + 1;
        ev->auth.user.len = z2 - z1 - 1;
        ev->auth.pass.ptr = r + z2 + 1;
        ev->auth.pass.len = n - z2 - 1;
    }
    return smtp__ask(s, ev, SMTP_EV_AUTH);
}

/* AUTH mechanism [initial-response] (RFC 4954 4), l[i..n) in the line. */
static int smtp__auth(struct smtp_session *s, union smtp_event *ev, char *l, size_t i, size_t n)
{
    size_t m = smtp__skip_word(s, l, i, n), k = smtp__skip_blanks(s, l, m, n);
    if (!(s->_flags & SMTP__F_TLS) && !(s->cfg.options & SMTP_OPT_AUTH_PLAINTEXT))
        return SMTP__NO(AUTH_TLS);
    s->_flags &= (uint16_t) ~(SMTP__F_LOGIN | SMTP__F_LOGIN_PASS);
    if (smtp__is_word(l, i, m, "LOGIN"))
        s->_flags |= SMTP__F_LOGIN;
    else if (!smtp__is_word(l, i, m, "PLAIN"))
        return SMTP__NO(AUTH_MECH);
    if (m < n) /* initial response */
        return smtp__auth_response(s, ev, l + k, n - k);
    s->_state = SMTP__ST_AUTH;
    smtp__say(s, (s->_flags & SMTP__F_LOGIN) ? SMTP__R_AUTH_ASK_USER : SMTP__R_AUTH_ASK);
    return 0;
}
#endif

/* Whether verb v may come now (RFC 5321 4.1.4 and 3.3, RFC 3030 2 and 3,
 * RFC 4954 4, RFC 3207 4.2); 0, or the refusal.  It is checked before the
 * argument, so a command out of sequence gets 503 whatever its argument. */
static int smtp__sequence(const struct smtp_session *s, unsigned v)
{
    uint16_t f = s->_flags;
    if (((SMTP__HAS_CHUNKING && v == SMTP__V_BDAT) ||
         (SMTP__HAS_AUTH && v == SMTP__V_AUTH && s->_state == SMTP__ST_READY)) &&
        !(f & SMTP__F_ESMTP) && s->_state != SMTP__ST_INIT)
        return SMTP__NO(SEQ_EHLO); /* RFC 3030 2, RFC 4954 4 */
    if (smtp__verbs[v].states & (1u << s->_state)) {
        if (SMTP__HAS_CHUNKING && v == SMTP__V_DATA && (f & (SMTP__F_BDAT | SMTP__F_BINARY)))
            return (f & SMTP__F_BDAT) ? SMTP__NO(SEQ_DATA_BDAT) : SMTP__NO(SEQ_BINARYMIME);
        if (SMTP__HAS_AUTH && v == SMTP__V_AUTH && (f & SMTP__F_AUTHED))
            return SMTP__NO(SEQ_AUTHED);
        if (SMTP__HAS_STARTTLS && v == SMTP__V_STARTTLS && (f & SMTP__F_TLS))
            return SMTP__NO(SEQ_TLS);
        return 0;
    }
    if ((v == SMTP__V_DATA || v == SMTP__V_BDAT) && s->_state == SMTP__ST_MAIL &&
        (f & SMTP__F_RCPT_TRIED))
        return SMTP__NO(NO_RCPT);
    return s->_state == SMTP__ST_INIT && v != SMTP__V_RCPT && v != SMTP__V_DATA
               ? SMTP__NO(SEQ_HELO)
               : SMTP__NO(SEQUENCE);
}

/* The verb that starts l[0..n), followed by a blank or the end, or
 * SMTP__V_COUNT: the table's names, compared case-insensitively; most rows
 * differ in their first octet.  The names are upper-case letters, so
 * clearing bit 5 of an octet matches exactly the letter in either case,
 * and no blank can hide inside a name. */
static unsigned smtp__verb(const struct smtp_session *s, const char *l, size_t n)
{
    unsigned v;
    size_t i, vl;
    char c = (char)(l[0] & ~0x20); /* l[0] is in _line even when n is 0 */
    //@ loop unroll 20;
    for (v = 0; v < SMTP__V_COUNT; v++) {
        const char *name = smtp__verbs[v].name;
        vl = smtp__verbs[v].len;
        if (name[0] != c || vl > n || (vl < n && !smtp__is_blank(s, l[vl])))
            continue;
        for (i = 1; i < vl && name[i] == (char)(l[i] & ~0x20); i++)
            ;
        if (i == vl)
            break;
    }
    return v;
}

/* A string argument l[i..n) (VRFY, EXPN: RFC 5321 4.1.2 String, UTF-8
 * allowed with SMTPUTF8; HELP, NOOP: printable ASCII only). */
static int smtp__string_ok(const struct smtp_session *s, const char *l, size_t i, size_t n,
                           int utf8)
{
    int has8 = 0;
    size_t k;
    for (k = i; k < n &&
                (utf8 ? (unsigned char)l[k] >= 32 && (SMTP__HAS_UTF8 || (unsigned char)l[k] < 0x80)
                      : SMTP__IS(l[k], SMTP__C_PRINT) != 0);
         k++)
        ;
    /* without SMTPUTF8 no 8-bit octet passes: the loop has said it */
    return k == n && (!utf8 || !SMTP__HAS_UTF8 ||
                      (smtp__check_utf8(l, i, n, &has8) &&
                       (!has8 || (s->cfg.extensions & SMTP_EXT_SMTPUTF8))));
}

/* Whether verb v may run now, by its row of the verb table: enabled (502
 * otherwise), in sequence (503), after STARTTLS when that is required
 * (530), with an argument when it needs one and none when it takes none
 * (501).  extra: something follows the verb; an: the argument's length.
 * 0, or the refusal. */
static int smtp__allowed(const struct smtp_session *s, unsigned v, int extra, size_t an)
{
    const struct smtp__verb_row *row = &smtp__verbs[v];
    uint32_t o = s->cfg.options;
    int r;
    if ((SMTP__NEED_OF(row) == SMTP__N_TURN && !(o & SMTP_OPT_TURN)) ||
        (SMTP__NEED_OF(row) == SMTP__N_SEND && !(o & SMTP_OPT_SEND)) ||
        (SMTP__NEED_OF(row) == SMTP__N_ESMTP && (o & SMTP_OPT_NO_ESMTP)) ||
        (SMTP__NEED_OF(row) == SMTP__N_EXT &&
         !(s->cfg.extensions & (uint32_t)row->ext << SMTP__EXT_SHIFT)))
        return SMTP__NO(VERB_OFF);
    if ((r = smtp__sequence(s, v)) != 0)
        return r;
    if ((o & SMTP_OPT_REQUIRE_TLS) && SMTP__HAS_STARTTLS && !(s->_flags & SMTP__F_TLS) &&
        (v == SMTP__V_MAIL || v == SMTP__V_SEND || v == SMTP__V_SOML || v == SMTP__V_SAML ||
         v == SMTP__V_AUTH))
        return SMTP__NO(NEED_TLS);
    if (SMTP__ARG_OF(row) == SMTP__ARG_NONE && extra)
        return SMTP__NO(ARG_NONE);
    if (SMTP__ARG_OF(row) == SMTP__ARG_REQ && an == 0)
        return SMTP__NO(ARG_NEEDED);
    return 0;
}

/* Runs verb v, allowed now, with its argument l[i..n) in the line: its
 * argument's checks, then its event, or its reply when it needs no
 * decision.  The line and indices into it, not the argument's own pointer
 * and length: Eva checks each read l[k] against the one bound n, where it
 * cannot relate a sub-span's pointer to its length (proof/README.md). */
static int smtp__run(struct smtp_session *s, union smtp_event *ev, unsigned v, char *l, size_t i,
                     size_t n)
{
    int r;
    switch (v) {
#ifndef SMTP_NO_CHUNKING
    case SMTP__V_BDAT:
        return smtp__bdat(s, ev, l, i, n);
#endif
#ifndef SMTP_NO_AUTH
    case SMTP__V_AUTH:
        return smtp__auth(s, ev, l, i, n);
#endif
    case SMTP__V_HELO:
    case SMTP__V_EHLO: /* a Domain ('_' allowed) or an address literal */
        if (smtp__parse_domain(l, i, n, SMTP__D_UNDER | SMTP__D_LITERAL) != SMTP_OK)
            return SMTP__NO(DOMAIN_BAD);
        ev->hello.domain.ptr = l + i;
        ev->hello.domain.len = n - i;
        return smtp__ask(s, ev, v == SMTP__V_HELO ? SMTP_EV_HELO : SMTP_EV_EHLO);
    case SMTP__V_MAIL:
    case SMTP__V_SEND:
    case SMTP__V_SOML:
    case SMTP__V_SAML:
        if ((r = smtp__mail_rcpt(s, ev, l, i, n, 1)) != 0)
            return r;
        ev->mail.mode = (uint8_t)(v == SMTP__V_MAIL ? 0u : SMTP_MODE_SEND + (v - SMTP__V_SEND));
        s->_flags = (uint16_t)((s->_flags & ~(SMTP__F_PEND_UTF8 | SMTP__F_PEND_BINARY)) |
                               (SMTP__HAS_UTF8 && ev->mail.smtputf8 ? SMTP__F_PEND_UTF8 : 0) |
                               (SMTP__HAS_CHUNKING && ev->mail.body == SMTP_BODY_BINARYMIME
                                    ? SMTP__F_PEND_BINARY
                                    : 0));
        return smtp__ask(s, ev, SMTP_EV_MAIL);
    case SMTP__V_RCPT:
        if ((r = smtp__mail_rcpt(s, ev, l, i, n, 0)) != 0)
            return r;
        if (s->_rcpts >= s->cfg.max_rcpt)
            return SMTP__NO(RCPTS_OVER);
        return smtp__ask(s, ev, SMTP_EV_RCPT);
    case SMTP__V_DATA:
        ev->data.rcpts = s->_rcpts;
        return smtp__ask(s, ev, SMTP_EV_DATA);
    case SMTP__V_RSET:
        if (s->_state == SMTP__ST_MAIL || s->_state == SMTP__ST_RCPT)
            s->_state = SMTP__ST_READY;
        s->_flags &= (uint16_t)~SMTP__F_TRANSACTION;
        return smtp__tell(s, ev, SMTP_EV_RSET, SMTP__R_OK);
    case SMTP__V_VRFY:
    case SMTP__V_EXPN:
    case SMTP__V_HELP:
    case SMTP__V_NOOP:
        if (!smtp__string_ok(s, l, i, n, v == SMTP__V_VRFY || v == SMTP__V_EXPN))
            return SMTP__NO(ARG_BAD);
        ev->string.arg.ptr = l + i;
        ev->string.arg.len = n - i;
        if (v == SMTP__V_NOOP)
            return smtp__tell(s, ev, SMTP_EV_NOOP, SMTP__R_OK);
        return smtp__ask(s, ev,
                         v == SMTP__V_VRFY   ? SMTP_EV_VRFY
                         : v == SMTP__V_EXPN ? SMTP_EV_EXPN
                                             : SMTP_EV_HELP);
    case SMTP__V_TURN:
        ev->turn.domains.ptr = l + i;
        ev->turn.domains.len = 0;
        return smtp__ask(s, ev, SMTP_EV_TURN);
#ifndef SMTP_NO_AUTH   /* ATRN needs AUTH: 502 above without it */
    case SMTP__V_ATRN: /* RFC 2645 4: "ATRN" [SP domain *("," domain)] */
        if (!(s->_flags & SMTP__F_AUTHED))
            return SMTP__NO(NEED_AUTH);
        if (!smtp__domains_ok(l + i, n - i))
            return SMTP__NO(ARG_BAD);
        ev->turn.domains.ptr = l + i;
        ev->turn.domains.len = n - i;
        return smtp__ask(s, ev, SMTP_EV_ATRN);
#endif
#ifndef SMTP_NO_STARTTLS   /* smtp__allowed() gave 502 without it */
    case SMTP__V_STARTTLS: /* RFC 3207 4 */
        return smtp__ask(s, ev, SMTP_EV_STARTTLS);
#endif
    default: /* SMTP__V_QUIT: every other verb got 502 from smtp__allowed() */
        return smtp__tell(s, ev, SMTP_EV_QUIT, SMTP__R_BYE);
    }
}

/* The defects of _line[0.._line_len) that smtp__take_line() leaves in it:
 * a CR (the line's own CRLF is not there) and a NUL. */
static unsigned smtp__defects(const struct smtp_session *s)
{
    return (memchr(s->_line, '\r', s->_line_len) ? (unsigned)SMTP__L_BARE_CR : 0u) |
           (memchr(s->_line, '\0', s->_line_len) ? (unsigned)SMTP__L_NUL : 0u);
}

/* One complete command line, _line[0.._line_len), whose other defects are
 * lf.  A bare CR or a NUL is refused before anything but an overlong line
 * or a bare LF, but looked for only once the command has failed: every
 * argument parser refuses both octets (they are no blank, letter, digit or
 * printable octet), so a command that has succeeded had neither.  AUTH
 * and BDAT, whose arguments are read differently, look first. */
static int smtp__command(struct smtp_session *s, union smtp_event *ev, unsigned lf)
{
    char *l = s->_line;
    size_t n = s->_line_len, vl, i;
    unsigned v;
    int r;

#if !SMTP_SMALL
    /* "RCPT" SP "TO:" and a plain path, nothing else, in sequence and
     * within max_rcpt: what the code below does with it (its verb row:
     * always enabled, in MAIL and RCPT, an argument), in one step */
    if (!lf && n > 8 && smtp__rcpt_ready(s) && smtp__is_rcpt_to(l) &&
        smtp__rcpt_path(ev, l, 8, n, l) == n)
        return smtp__ask(s, ev, SMTP_EV_RCPT);
#endif
    if (!(s->cfg.options & SMTP_OPT_STRICT_SPACES)) /* trailing blanks carry nothing */
        while (n && smtp__is_blank(s, l[n - 1]))
            n--;
    v = smtp__verb(s, l, n);
    //@ split v;
    vl = v < SMTP__V_COUNT ? smtp__verbs[v].len : n;
    i = smtp__skip_blanks(s, l, vl, n);          /* the argument: l[i..n) */
    if (s->_flags & SMTP__F_SHUTDOWN) {          /* smtp_shutdown(s, 0): QUIT still gets 221 */
        if (v == SMTP__V_QUIT && vl == n && !lf) /* "QUIT" and blanks: no CR, no NUL */
            return smtp__tell(s, ev, SMTP_EV_QUIT, SMTP__R_BYE);
        smtp__say(s, SMTP__R_BYE_SHUTDOWN + s->_bye);
        return 0;
    }
#ifndef SMTP_NO_AUTH
    if (s->_state == SMTP__ST_AUTH) { /* the line is a SASL response, not a command */
        if (lf | smtp__defects(s)) {
            s->_state = SMTP__ST_READY;
            return SMTP__NO(AUTH_LINE);
        }
        return smtp__auth_response(s, ev, l, s->_line_len);
    }
#endif
#ifndef SMTP_NO_CHUNKING
    if (v == SMTP__V_BDAT && (s->cfg.extensions & SMTP_EXT_CHUNKING) &&
        (r = smtp__bdat_size(s, l, i, n, lf | smtp__defects(s))) != 0)
        return r;
#endif
    if (SMTP__HAS_AUTH && v == SMTP__V_AUTH) /* it decodes in _line: looked at first */
        lf |= smtp__defects(s);
    if (lf & SMTP__L_LONG)
        return SMTP__NO(LINE_LONG);
    if (lf & (SMTP__L_BARE_CR | SMTP__L_BARE_LF))
        return SMTP__NO(LINE_BARE);
    if (lf & SMTP__L_NUL)
        return SMTP__NO(LINE_NUL);
    if (s->_state == SMTP__ST_REFUSED && v != SMTP__V_QUIT) /* RFC 5321 3.1 */
        r = SMTP__NO(ONLY_QUIT);
    else if (v == SMTP__V_COUNT)
        r = n ? SMTP__NO(VERB_UNKNOWN) : SMTP__NO(LINE_EMPTY);
    else if ((r = smtp__allowed(s, v, vl < n, n - i)) == 0)
        r = smtp__run(s, ev, v, l, i, n);
    if (r < 0 && !(SMTP__HAS_AUTH && v == SMTP__V_AUTH) && (lf = smtp__defects(s)) != 0)
        return lf & SMTP__L_BARE_CR ? SMTP__NO(LINE_BARE) : SMTP__NO(LINE_NUL);
    return r;
}

/* -------------------------------------------------------------- decisions */

#ifndef SMTP_NO_AUTH
static void smtp__wipe_auth(struct smtp_session *s)
{
    memset(s->_auth, 0, sizeof s->_auth);
    memset(s->_line, 0, sizeof s->_line);
    s->_auth_len = 0;
}
#endif

/* An application's enhanced code: class "." 1*3digit "." 1*3digit, the
 * class matching the code (RFC 3463 2).  Returns it packed, or 0. */
static uint32_t smtp__enh_parse(const char *e, unsigned code)
{
    size_t i = 1, part, d;
    uint32_t out;
    if (!e || code / 100 == 3 || e[0] != (char)('0' + code / 100))
        return 0;
    out = code / 100;
    for (part = 0; part < 2; part++) { /* "." and 1-3 digits, twice: each shifts in 10 bits */
        uint32_t v = 0;
        if (e[i++] != '.')
            return 0;
        for (d = 0; e[i] >= '0' && e[i] <= '9' && d < 4; d++)
            v = v * 10 + (uint32_t)(e[i++] - '0');
        if (d < 1 || d > 3)
            return 0;
        out = out << 10 | v;
    }
    return e[i] ? 0 : out;
}

/* The answer `code` to decision event ev (0: its default, with enh and
 * text NULL): the reply (the defaults of smtp__defaults for what the
 * application left out) and the state change that smtp__decisions names,
 * plus the counters and flags it moves. */
static void smtp__decide(struct smtp_session *s, int ev, unsigned code, const char *enh,
                         const char *text)
{
    const struct smtp__decision *d = &smtp__decisions[ev];
    const struct smtp__default_row *row;
    const char *given = text;
    uint32_t e;
    int dflt = code == 0, yes;
    unsigned next, host, k = 0, key;
    if (dflt)
        code = smtp_event_default(ev);
    /* For Eva: one state per event, code and "text given or not", so that
     * the row found and the text written are each known exactly. */
    //@ split ev;
    //@ split code;
    //@ split given != 0;
    yes = code < 400;
    next = yes ? d->next >> 4 : d->next & 15u;
    host = code == 421;

    s->_await = 0;
    s->_flags &= (uint16_t)~SMTP__F_DEFERRED;
#ifndef SMTP_NO_AUTH
    if (ev == SMTP_EV_AUTH) {
        smtp__wipe_auth(s);
        /* password guessing: past max_auth_fails refusals the session ends */
        if (code >= 500 && ++s->_auth_fails > s->cfg.max_auth_fails &&
            s->cfg.max_auth_fails != 255) {
            /* the catalogue's 421 instead of the refusal; it ends the
             * session.  Written here, not by the code below: there Eva
             * would see its text merged with the refusal's (proof/) */
            smtp__say(s, SMTP__R_AUTH_GUESSING);
            return;
        }
    }
#endif
    if (next != SMTP__ST_KEEP)
        s->_state = (uint8_t)next;
    /* the state changes; the hostname leads 421 (RFC 5321 3.8), the
     * greeting and HELO's and EHLO's 250 */
    switch (host ? 0 : ev) {
    case SMTP_EV_CONNECT:
        host = 1;
        break;
    case SMTP_EV_HELO:
    case SMTP_EV_EHLO:
        if (!yes)
            break;
        /* RFC 5321 4.1.4: an accepted HELO/EHLO also resets like RSET */
        s->_flags = (uint16_t)((s->_flags & ~(SMTP__F_ESMTP | SMTP__F_TRANSACTION)) |
                               (ev == SMTP_EV_EHLO ? SMTP__F_ESMTP : 0));
        s->_rcpts = 0;
        host = 1;
        break;
    case SMTP_EV_MAIL:
        if (yes) {
            s->_rcpts = 0;
            s->_size = 0;
            s->_reject = SMTP_REJECT_NONE;
            s->_flags =
                (uint16_t)((s->_flags & ~SMTP__F_TRANSACTION) |
                           (SMTP__HAS_UTF8 && (s->_flags & SMTP__F_PEND_UTF8) ? SMTP__F_UTF8 : 0) |
                           (SMTP__HAS_CHUNKING && (s->_flags & SMTP__F_PEND_BINARY) ? SMTP__F_BINARY
                                                                                    : 0));
        }
        break;
    case SMTP_EV_RCPT:
        if (yes)
            s->_rcpts++;
        else
            s->_flags |= SMTP__F_RCPT_TRIED;
        break;
    case SMTP_EV_DATA:
        if (yes) {
            s->_dstate = SMTP__D_SOL;
            s->_size = 0;
            s->_text_len = 0;
            s->_reject = SMTP_REJECT_NONE;
        }
        break;
#ifndef SMTP_NO_AUTH
    case SMTP_EV_AUTH:
        if (yes)
            s->_flags |= SMTP__F_AUTHED;
        break;
#endif
    default:
        break;
    }
    /* The default reply written at the start of _out stays there once
     * sent: the next one of the same event (RCPT after RCPT) is the same
     * octets, taken again.  Not one with the hostname, whose text is not
     * its row's; the key tells replies with enhanced codes from those
     * without. */
    key = !dflt || host || s->_out_len ? 0 : (unsigned)ev << 1 | (s->_flags & SMTP__F_ESMTP);
    if (key && s->_again == key) {
        s->_out_len = s->_again_len;
        return;
    }
    /* Eva: unrolled past the last row, so the search is followed to its row */
    //@ loop unroll 64;
    while (k + 1 < sizeof smtp__defaults / sizeof smtp__defaults[0] &&
           (smtp__defaults[k].code != SMTP__C8(code) ||
            (smtp__defaults[k].ev && smtp__defaults[k].ev != ev)))
        k++; /* every allowed code has a row (smtp_reply() checked it): the bound is for Eva */
    row = &smtp__defaults[k];
    if ((e = smtp__enh_parse(enh, code)) == 0)
        e = smtp__e32(code, row->enh);
    if (!text)
        text = SMTP__TEXT_OF(row);
    if (host && code != 421) {                 /* the greeting, HELO's and EHLO's 250 */
        if (ev == SMTP_EV_CONNECT && !given) { /* the greeting has its own default */
            unsigned id = !yes                                   ? SMTP__R_GREET_REFUSED
                          : (s->cfg.options & SMTP_OPT_NO_ESMTP) ? SMTP__R_GREET_821
                                                                 : SMTP__R_GREET;
            //@ split id;
            text = SMTP__TEXT_OF(&smtp__replies[id]);
            (void)id; /* SMTP_TERSE: no texts */
        } else if (ev != SMTP_EV_CONNECT && !given) {
            text = "";
        }
        if (ev == SMTP_EV_EHLO) {
            smtp__put_ehlo(s, text);
            return;
        }
        e = 0;
    }
    smtp__put(s, code, e, text, (given ? 0 : SMTP__W_CLEAN) | (host ? SMTP__W_HOST : 0));
    if (code == 421)
        s->_state = SMTP__ST_CLOSED;
    else if (key && s->_out_len <= 255) {
        s->_again = (uint8_t)key;
        s->_again_len = (uint8_t)s->_out_len;
    }
}

static int smtp__code_allowed(int ev, unsigned code)
{
    const uint8_t *c; /* ev is s->_await: always a decision event */
    for (c = (const uint8_t *)&smtp__codes + smtp__decisions[ev].codes; *c; c++)
        if (SMTP__C16(*c) == code)
            return 1;
    return 0;
}

/* ------------------------------------------------------------ DATA and BDAT */

/* Mail data (RFC 5321 4.5.2) goes out as spans of the caller's buffer, CRLF
 * and all.  Only CRLF "." CRLF ends it; a bare CR or LF never ends a line,
 * so "<LF>.<LF>" and its kin stay data.  Where octets are dropped (a
 * stuffed dot, a CR that ended the input and waits for its LF) or replaced
 * (a CRLF split between two inputs, a bare CR or LF being normalised), the
 * span is cut: what goes out in their place is the start of smtp__crlf. */
static const char smtp__crlf[] = "\r\n";

/* A cut: how many octets of smtp__crlf go out in place of the octets read
 * (0: none, dropped), or no cut, or the end of the data. */
enum smtp__dcut {
    SMTP__DC_DROP = 0,
    SMTP__DC_CR = 1,
    SMTP__DC_CRLF = 2,
    SMTP__DC_KEEP, /* no cut: they stay in the span */
    SMTP__DC_END   /* the LF of CRLF "." CRLF */
};

static void smtp__reject(struct smtp_session *s, unsigned why)
{
    if (why > s->_reject)
        s->_reject = (uint8_t)why;
}

/* Hands out a chunk of message data, cut at max_size octets so that what
 * is delivered does not depend on the chunking.  Returns 1 when an event
 * was produced. */
static int smtp__body(struct smtp_session *s, union smtp_event *ev, const char *p, size_t n)
{
    uint64_t max = s->cfg.max_size;
    if (s->_reject == SMTP_REJECT_SIZE)
        return 0;
    if (max && n > max - s->_size) {
        n = (size_t)(max - s->_size);
        smtp__reject(s, SMTP_REJECT_SIZE);
    }
    if (n == 0)
        return 0;
    s->_size += n;
    ev->type = SMTP_EV_BODY;
    ev->body.data.ptr = p;
    ev->body.data.len = n;
    return 1;
}

/* n more octets of the current line, against max_text_line (RFC 5321
 * 4.5.3.1.6: CRLF included, a stuffed dot not). */
static void smtp__text_add(struct smtp_session *s, size_t n)
{
    if (n > s->cfg.max_text_line - s->_text_len) {
        s->_text_len = s->cfg.max_text_line;
        smtp__reject(s, SMTP_REJECT_LONG_LINE);
    } else {
        s->_text_len += (uint32_t)n;
    }
}

/* The LF of a CRLF: the line is over, the next one starts. */
static void smtp__data_eol(struct smtp_session *s)
{
    smtp__text_add(s, 1);
    s->_dstate = SMTP__D_SOL;
    s->_text_len = 0;
}

/* A bare CR or LF, counted: the octets of smtp__crlf that go out in its
 * place, CRLF when normalising, else itself (1; strict mode refuses the
 * message at its end). */
static unsigned smtp__bare(struct smtp_session *s)
{
    uint32_t o = s->cfg.options;
    if (!(o & (SMTP_OPT_BARE_KEEP | SMTP_OPT_BARE_NORMALIZE))) {
        smtp__reject(s, SMTP_REJECT_BARE);
        return SMTP__DC_CR;
    }
    if (o & SMTP_OPT_BARE_NORMALIZE)
        smtp__text_add(s, 1); /* it goes out as CRLF: two octets, not one */
    s->_text_len = 0;         /* a physical line ends here, for the length limit */
    return (o & SMTP_OPT_BARE_NORMALIZE) ? SMTP__DC_CRLF : SMTP__DC_CR;
}

/* The octet p[i] at a line start (D_SOL, D_DOT after a stuffed dot) or
 * after a held CR (D_CR, D_DOTCR): *cut is what goes out for it.  Returns
 * the index after the octets used here: i + 1 when p[i] is used up, i
 * when D_MID, where every other path leads, reads it again. */
static size_t smtp__data_start(struct smtp_session *s, const char *p, size_t i, unsigned *cut)
{
    unsigned st = s->_dstate;
    char c = p[i];
    s->_dstate = SMTP__D_MID;
    *cut = SMTP__DC_KEEP;
    switch (st) {
    case SMTP__D_SOL: /* a stuffed dot: dropped, not counted */
        if (c != '.')
            return i;
        s->_dstate = SMTP__D_DOT;
        break;
    case SMTP__D_DOT: /* "." CR: held, the end if LF follows */
        if (c != '\r')
            return i;
        smtp__text_add(s, 1);
        s->_dstate = SMTP__D_DOTCR;
        break;
    case SMTP__D_DOTCR: /* the CR held: the end, or bare */
        if (c == '\n') {
            *cut = SMTP__DC_END;
            return i + 1;
        }
        *cut = smtp__bare(s);
        return i;
    default: /* D_CR: a CRLF split between two inputs, or the CR held is bare */
        if (c != '\n') {
            *cut = smtp__bare(s);
            return i;
        }
        smtp__data_eol(s);
        *cut = SMTP__DC_CRLF;
        return i + 1;
    }
    *cut = SMTP__DC_DROP;
    return i + 1;
}

/* D_MID: the text from p[*pi] to the next CR or LF, at memchr speed, and
 * the line end there: *pi moves to it (len when there is none), *cut is
 * what goes out in place of its octets.  Returns the index after the
 * octets read (len at the end of the input). */
static size_t smtp__data_text(struct smtp_session *s, const char *p, size_t *pi, size_t len,
                              unsigned *cut)
{
    size_t i = *pi, end, stop;
    const char *lf, *cr;
    /* For Eva: one state per index, so that each memchr() span is seen
     * with its own length */
    //@ split i;
    lf = (const char *)memchr(p + i, '\n', len - i);
    end = lf ? (size_t)(lf - p) : len;
    //@ split end;
    cr = (const char *)memchr(p + i, '\r', end - i);
    stop = cr ? (size_t)(cr - p) : end;
    smtp__text_add(s, stop - i);
    *pi = stop;
    *cut = SMTP__DC_KEEP;
    if (stop == len)
        return len;
    smtp__text_add(s, 1);
    if (p[stop] == '\r' && stop + 1 < len && p[stop + 1] == '\n') {
        smtp__data_eol(s);
        return stop + 2;
    }
    if (p[stop] == '\r' && stop + 1 == len) { /* CRLF or bare? next time */
        s->_dstate = SMTP__D_CR;
        *cut = SMTP__DC_DROP;
        return len;
    }
    if (smtp__bare(s) == SMTP__DC_CRLF)
        *cut = SMTP__DC_CRLF;
    return stop + 1;
}

static int smtp__data_end(struct smtp_session *s, union smtp_event *ev)
{
    ev->type = SMTP_EV_DATA_END;
    ev->end.size = s->_size;
    ev->end.rcpts = s->_rcpts;
    ev->end.reject = s->_reject;
    s->_flags &= (uint16_t)~SMTP__F_TRANSACTION;
    if (!s->_reject)
        return smtp__ask(s, ev, SMTP_EV_DATA_END);
    s->_state = SMTP__ST_READY;
    smtp__say(s, (unsigned)SMTP__R_MSG_BARE - (unsigned)SMTP_REJECT_BARE +
                     s->_reject); /* in SMTP_REJECT_x's order */
    return SMTP_EV_DATA_END;
}

/* The DATA scanner: p[run..i) is read and not yet handed out; a cut at i
 * hands it out, then its octets of smtp__crlf in place of p[i..next).
 * Where the first of those two events returns, the input is used up to the
 * cut, or past the dropped octets: a replacement is made again next time.
 * Invariant: run <= i <= next <= len. */
static int smtp__data_feed(struct smtp_session *s, const char *p, size_t len, size_t *used,
                           union smtp_event *ev)
{
    size_t i = 0, run = 0, next;
    unsigned cut;
    /* For Eva: one state per input length, and the loop unrolled, so that
     * each index is seen against its own len */
    //@ split len;
    //@ loop unroll 16;
    while (i < len) {
        next = s->_dstate == SMTP__D_MID ? smtp__data_text(s, p, &i, len, &cut)
                                         : smtp__data_start(s, p, i, &cut);
        if (cut == SMTP__DC_END) {
            *used = next;
            return smtp__data_end(s, ev);
        }
        if (cut != SMTP__DC_KEEP) {
            if (smtp__body(s, ev, p + run, i - run)) {
                *used = cut == SMTP__DC_DROP ? next : i;
                return SMTP_EV_BODY;
            }
            if (smtp__body(s, ev, smtp__crlf, cut)) {
                *used = next;
                return SMTP_EV_BODY;
            }
            run = next;
        }
        i = next;
    }
    *used = len;
    return smtp__body(s, ev, p + run, len - run) ? SMTP_EV_BODY : SMTP_NEED_INPUT;
}

#ifndef SMTP_NO_CHUNKING
/* The octets of a BDAT chunk, taken as they are (RFC 3030 2). */
static int smtp__bdat_feed(struct smtp_session *s, const char *p, size_t len, size_t *used,
                           union smtp_event *ev)
{
    size_t n = (size_t)SMTP__MIN((uint64_t)len, s->_chunk);
    if (s->_chunk == 0) {
        if (s->_flags & SMTP__F_LAST)
            return smtp__data_end(s, ev);
        s->_state = SMTP__ST_RCPT;
        smtp__say(s, SMTP__R_BDAT_CHUNK);
        return SMTP_WANT_WRITE;
    }
    s->_chunk -= n;
    *used = n;
    return smtp__body(s, ev, p, n) ? SMTP_EV_BODY : SMTP_NEED_INPUT;
}
#endif

/* ------------------------------------------------------------ public API */

SMTP_API void smtp_config_default(struct smtp_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->hostname = "localhost";
    cfg->extensions = SMTP_EXT_DEFAULT;
    cfg->max_line = SMTP_LINE_MAX;
    cfg->max_rcpt = SMTP_RCPT_MAX;
    cfg->max_text_line = SMTP_TEXT_LINE_MAX;
    cfg->max_errors = 10;
    cfg->max_auth_fails = 3;
}

SMTP_API void smtp_init(struct smtp_session *s, const struct smtp_config *cfg)
{
    struct smtp_config *c = &s->cfg;
    memset(s, 0, sizeof *s);
    if (cfg)
        *c = *cfg;
    else /* smtp_config_default(): its other settings are what 0 means below */
        c->extensions = SMTP_EXT_DEFAULT;
    if (!c->hostname)
        c->hostname = "localhost";
    if (c->max_line < 64 || c->max_line > SMTP_LINE_MAX)
        c->max_line = c->max_line ? (c->max_line < 64 ? 64 : SMTP_LINE_MAX) : SMTP_LINE_MAX;
    if (c->max_rcpt == 0 || c->max_rcpt > SMTP_RCPT_MAX)
        c->max_rcpt = SMTP_RCPT_MAX;
    if (c->max_text_line == 0 || c->max_text_line > SMTP_TEXT_LINE_MAX)
        c->max_text_line = SMTP_TEXT_LINE_MAX;
    c->max_text_line = c->max_text_line < 3 ? 3 : c->max_text_line;
    if (c->max_errors == 0)
        c->max_errors = 10;
    if (c->max_auth_fails == 0)
        c->max_auth_fails = 3;
    if (c->options & SMTP_OPT_NO_ESMTP)
        c->extensions = 0;
    c->extensions &=
        ~(uint32_t)((SMTP__HAS_CHUNKING ? 0 : SMTP_EXT_CHUNKING | SMTP_EXT_BINARYMIME) |
                    (SMTP__HAS_STARTTLS ? 0 : SMTP_EXT_STARTTLS) |
                    (SMTP__HAS_AUTH ? 0 : SMTP_EXT_AUTH | SMTP_EXT_ATRN) |
                    (SMTP__HAS_DSN ? 0 : SMTP_EXT_DSN) | (SMTP__HAS_UTF8 ? 0 : SMTP_EXT_SMTPUTF8));
    if (!(c->extensions & SMTP_EXT_CHUNKING))
        c->extensions &= ~(uint32_t)SMTP_EXT_BINARYMIME;
    if (!(c->extensions & SMTP_EXT_AUTH))
        c->extensions &= ~(uint32_t)SMTP_EXT_ATRN; /* RFC 2645 4: ATRN needs AUTH */
    s->_state = SMTP__ST_GREET;
}

/* One octet more of the command line, or SMTP__L_LONG once room (at most
 * sizeof _line) is full. */
static void smtp__line_put(struct smtp_session *s, char c, size_t room)
{
    if (s->_line_len < room)
        s->_line[s->_line_len++] = c;
    else
        s->_lflags |= SMTP__L_LONG;
}

/* Assembles a command line from p[*pi..len) into _line: at most max_line - 2
 * octets are kept, and what is wrong with the line is noted in _lflags,
 * but for a NUL, and a bare CR in a line taken whole: they are in _line,
 * and smtp__defects() finds them when they matter (an overlong line gets
 * its 500 whatever else is in it).
 * Only CRLF ends a line (and a bare LF with SMTP_OPT_LF_LINES); a CR is
 * held (SMTP__L_CR) until the octet after it shows whether it ends the
 * line, in this input or the next.  Returns 1 with *pi just past the line
 * end, or 0 with *pi == len. */
static int smtp__take_line(struct smtp_session *s, const char *p, size_t len, size_t *pi)
{
    size_t i = *pi, room = (size_t)s->cfg.max_line - 2;
#if !SMTP_SMALL
    /* the common case: a whole line, CRLF and within max_line, taken
     * into an empty _line, as the loop below takes it */
    if (!s->_line_len && !s->_lflags && i < len) {
        const char *lf = (const char *)memchr(p + i, '\n', len - i);
        size_t e = lf ? (size_t)(lf - p) : i, k = e - 1 - i; /* e: the LF, or i: none */
        if (e > i && p[e - 1] == '\r' && k <= room) {
            memcpy(s->_line, p + i, k);
            s->_line_len = (uint16_t)k;
            *pi = e + 1;
            return 1;
        }
    }
#endif
    /* the rest, octet by octet: a line cut between inputs, a bare CR or
     * LF, an overlong line (each octet checked against room, which is
     * also what lets Eva bound every write: proof/README.md) */
    for (; i < len; i++) {
        char c = p[i];
        if (s->_lflags & SMTP__L_CR) {
            s->_lflags &= (uint8_t)~SMTP__L_CR;
            if (c == '\n') {
                *pi = i + 1;
                return 1;
            }
            /* a bare CR: kept in the line, so that the line's length (and
             * so which 500 it gets) does not depend on where the input was
             * split */
            s->_lflags |= SMTP__L_BARE_CR;
            smtp__line_put(s, '\r', room);
        }
        if (c == '\r') {
            s->_lflags |= SMTP__L_CR;
        } else if (c != '\n') {
            smtp__line_put(s, c, room);
        } else if (s->cfg.options & SMTP_OPT_LF_LINES) {
            *pi = i + 1;
            return 1;
        } else {
            /* RFC 5321 2.3.8: only CRLF ends a line, so the line goes on
             * and is refused once, at its CRLF.  Ending it here would let
             * what follows run as a second command that a CRLF-framing
             * proxy or filter never saw (command smuggling). */
            s->_lflags |= SMTP__L_BARE_LF;
        }
    }
    *pi = len;
    return 0;
}

/* smtp_feed() once no decision is open: the input, in the state's way. */
static int smtp__input(struct smtp_session *s, const char *p, size_t len, size_t *used,
                       union smtp_event *ev)
{
    size_t i = 0;
    unsigned lf;
    int r;

    switch (s->_state) {
    case SMTP__ST_CLOSED:
        return SMTP_CLOSED;
    case SMTP__ST_TURNED: /* what follows is the other role's input */
        return SMTP_TURNED;
    case SMTP__ST_GREET:
        return smtp__ask(s, ev, SMTP_EV_CONNECT);
    case SMTP__ST_DATA:
        return smtp__data_feed(s, p, len, used, ev);
#ifndef SMTP_NO_CHUNKING
    case SMTP__ST_BDAT:
        return smtp__bdat_feed(s, p, len, used, ev);
#endif
#ifndef SMTP_NO_STARTTLS /* the state STARTTLS's decision leads to */
    case SMTP__ST_TLS:   /* plaintext after STARTTLS is never executed */
        *used = len;
        return SMTP_NEED_INPUT;
#endif
    default:
        break;
    }
    if (SMTP__HAS_CHUNKING && s->_chunk) { /* the octets of a refused BDAT chunk */
        i = (size_t)SMTP__MIN((uint64_t)len, s->_chunk);
        s->_chunk -= i;
    }
    /* For Eva: one state per input length and start, so that the line
     * taker sees p[i..len) with its own bounds */
    //@ split len;
    //@ split i;
    r = smtp__take_line(s, p, len, &i);
    *used = i;
    if (!r)
        return SMTP_NEED_INPUT;
    lf = s->_lflags;
    s->_lflags = 0;
    r = smtp__command(s, ev, lf); /* always an event or a reply: one line per call */
    s->_line_len = 0;
    if (r < 0)
        smtp__refuse(s, (unsigned)-r);
    return r > 0 ? r : SMTP_WANT_WRITE;
}

/* smtp_feed() but for its step below: the default reply of a decision
 * left open, rule 6, then the input. */
static SMTP__NOINLINE int smtp__feed(struct smtp_session *s, const char *p, size_t len,
                                     size_t *used, union smtp_event *ev)
{
    if (s->_await)
        smtp__decide(s, s->_await, 0, 0, 0); /* the default reply (rule 5) */
    if (s->_out_len)                         /* rule 6 */
        return s->_state == SMTP__ST_CLOSED ? SMTP_CLOSED : SMTP_WANT_WRITE;
    return smtp__input(s, p, len, used, ev);
}

#if !SMTP_SMALL
/* smtp__feed() for input that starts with a whole "RCPT TO:" line with a
 * plain path and nothing else (CRLF, within max_line), when nothing is
 * pending and smtp__rcpt_ready(): the path read where it is, the line then
 * copied into _line, where the event's spans point, as smtp__feed() does
 * it, without its steps or a search for the line's end. */
static SMTP__NOINLINE int smtp__rcpt_line(struct smtp_session *s, const char *p, size_t len,
                                          size_t *used, union smtp_event *ev)
{
    size_t k;
    if (len > 12 && smtp__is_rcpt_to(p) && (k = smtp__rcpt_path(ev, p, 8, len, s->_line)) != 0 &&
        k < len - 1 && p[k] == '\r' && p[k + 1] == '\n' && k <= (size_t)s->cfg.max_line - 2) {
        memcpy(s->_line, p, k); /* _line_len stays 0, as after a command */
        *used = k + 2;
        return smtp__ask(s, ev, SMTP_EV_RCPT);
    }
    return smtp__feed(s, p, len, used, ev);
}
#endif

SMTP_API int smtp_feed(struct smtp_session *s, const void *buf, size_t len, size_t *used,
                       union smtp_event *ev)
{
    *used = 0;
    if (s->_await) {
        if (s->_flags & SMTP__F_DEFERRED)
            return SMTP_PENDING;
#if !SMTP_SMALL
        /* RCPT's default (250) again after one just sent: what
         * smtp__decide() does for it, its reply memo hit, in one step */
        if (s->_await == SMTP_EV_RCPT && !s->_out_len &&
            s->_again == (SMTP_EV_RCPT << 1 | (s->_flags & SMTP__F_ESMTP))) {
            s->_await = 0;
            s->_state = (uint8_t)(smtp__decisions[SMTP_EV_RCPT].next >> 4);
            s->_rcpts++;
            s->_out_len = s->_again_len;
            return SMTP_WANT_WRITE;
        }
#endif
    }
#if !SMTP_SMALL
    if (!s->_await && !s->_out_len && !s->_line_len && !s->_lflags && smtp__rcpt_ready(s) &&
        !(SMTP__HAS_CHUNKING && s->_chunk) && buf)
        return smtp__rcpt_line(s, (const char *)buf, len, used, ev);
#endif
    return smtp__feed(s, buf ? (const char *)buf : "", len, used, ev); /* p + 0 must be defined */
}

SMTP_API int smtp_reply(struct smtp_session *s, unsigned code, const char *enh, const char *text)
{
    if (!s->_await)
        return SMTP_ERR_STATE;
    //@ split s->_await;
    if (!smtp__code_allowed(s->_await, code))
        return SMTP_ERR_CODE;
    //@ split code;
    smtp__decide(s, s->_await, code, enh, text);
    return SMTP_OK;
}

SMTP_API int smtp_defer(struct smtp_session *s)
{
    if (!s->_await)
        return SMTP_ERR_STATE;
    s->_flags |= SMTP__F_DEFERRED;
    return SMTP_OK;
}

SMTP_API int smtp_awaiting(const struct smtp_session *s)
{
    return s->_await;
}

SMTP_API unsigned smtp_event_default(int ev)
{
    switch (ev) {
#define SMTP__X(name, num, dflt, desc) \
    case num:                          \
        return dflt;
        SMTP_EVENT_MAP(SMTP__X) /* NOLINT(bugprone-branch-clone): a table, cases share defaults */
#undef SMTP__X
    default:
        return 0;
    }
}

SMTP_API const char *smtp_output(const struct smtp_session *s, size_t *len)
{
    *len = (size_t)(s->_out_len - s->_out_off);
    return *len ? s->_out + s->_out_off : 0;
}

SMTP_API void smtp_output_done(struct smtp_session *s, size_t n)
{
    if (n < (size_t)(s->_out_len - s->_out_off)) { /* a part of it */
        s->_out_off = (uint16_t)(s->_out_off + n);
        return;
    }
    s->_out_off = s->_out_len = 0;
    if (s->_flags & SMTP__F_PEND_421) {
        s->_flags &= (uint16_t)~SMTP__F_PEND_421;
        smtp__say(s, SMTP__R_BYE_SHUTDOWN + s->_bye);
    }
}

SMTP_API void smtp_shutdown(struct smtp_session *s, int now, int why)
{
    if (s->_state == SMTP__ST_CLOSED)
        return;
    s->_bye = (uint8_t)(why == SMTP_BYE_TIMEOUT || why == SMTP_BYE_BUSY ? why : SMTP_BYE_SHUTDOWN);
    if (!now) {
        s->_flags |= SMTP__F_SHUTDOWN;
        return;
    }
    s->_await = 0;
    if (s->_state == SMTP__ST_TLS) { /* mid-handshake: no place for a plaintext 421 */
        s->_state = SMTP__ST_CLOSED;
        return;
    }
    if (s->_out_len) { /* the 421 goes out once what is queued has */
        s->_flags |= SMTP__F_PEND_421;
        s->_state = SMTP__ST_CLOSED;
    } else {
        smtp__say(s, SMTP__R_BYE_SHUTDOWN + s->_bye);
    }
}

SMTP_API int smtp_closed(const struct smtp_session *s)
{
    return s->_state == SMTP__ST_CLOSED;
}

SMTP_API int smtp_tls_done(struct smtp_session *s)
{
    if (!SMTP__HAS_STARTTLS || (s->_state != SMTP__ST_TLS && s->_state != SMTP__ST_GREET))
        return SMTP_ERR_STATE;
    /* RFC 3207 4.2: forget everything learnt before TLS */
    s->_flags = (uint16_t)((s->_flags & (SMTP__F_SHUTDOWN | SMTP__F_PEND_421)) | SMTP__F_TLS);
    s->_rcpts = 0;
    if (s->_state == SMTP__ST_TLS)
        s->_state = SMTP__ST_INIT;
    return SMTP_OK;
}

#endif /* SMTP_NO_SERVER */

/* The X-macro tables of smtp.h as data: the numbers, and the names and
 * descriptions as one array of "NAME\0desc\0" pairs in the same order.  An
 * array, not pointers to string literals: a linker with --gc-sections drops
 * it when the lookups are unused, which it cannot do with literals. */
struct smtp__names {
    const signed char *num;
    size_t n;
    const char *text;
};
static const signed char smtp__ev_nums[] = {
#define SMTP__X(name, num, dflt, desc) num,
    SMTP_EVENT_MAP(SMTP__X)
#undef SMTP__X
};
static const char smtp__ev_text[] =
#define SMTP__X(name, num, dflt, desc) #name "\0" SMTP__T(desc) "\0"
    SMTP_EVENT_MAP(SMTP__X)
#undef SMTP__X
    ;
static const signed char smtp__err_nums[] = {
#define SMTP__X(name, num, desc) num,
    SMTP_ERR_MAP(SMTP__X)
#undef SMTP__X
};
static const char smtp__err_text[] =
#define SMTP__X(name, num, desc) #name "\0" SMTP__T(desc) "\0"
    SMTP_ERR_MAP(SMTP__X)
#undef SMTP__X
    ;

/* The name (desc 0) or description of value v: the strings of text[0..tn)
 * are name, description, name, ... in the order of num[0..n).  Indexes,
 * not pointer steps, so that every read is seen to stay inside text. */
static const char *smtp__lookup(const signed char *num, size_t n, const char *text, size_t tn,
                                int v, int desc)
{
    size_t i = 0, k, o = 0;
    while (i < n && num[i] != v)
        i++;
    if (i == n)
        return "?";
    for (k = 2 * i + (desc != 0); k && o < tn; k--) {
        while (o < tn && text[o] != '\0')
            o++;
        o++;
    }
    return o < tn && text[o] ? text + o : "?";
}
#define SMTP__LOOKUP(t, v, desc) \
    smtp__lookup(t##_nums, sizeof t##_nums, t##_text, sizeof t##_text, v, desc)

SMTP_API const char *smtp_event_name(int ev)
{
    return SMTP__LOOKUP(smtp__ev, ev, 0);
}

SMTP_API const char *smtp_event_desc(int ev)
{
    return SMTP__LOOKUP(smtp__ev, ev, 1);
}

SMTP_API const char *smtp_err_name(int err)
{
    return SMTP__LOOKUP(smtp__err, err, 0);
}

SMTP_API const char *smtp_err_desc(int err)
{
    return SMTP__LOOKUP(smtp__err, err, 1);
}

#ifndef SMTP_NO_CLIENT
/* ================================================================ the sender
 *
 * The client reads replies line by line into _line, checks each against the
 * command it answers (the pipe: commands sent, oldest first) using the same
 * code tables the receiver enforces on its application, and turns the
 * complete reply into at most one event.  Commands are written into _out;
 * body runs are sent in place from the caller's buffer (_run). */

enum smtp__cstate {
    SMTP__CS_GREET, /* waiting for the greeting */
    SMTP__CS_HELLO, /* EHLO, HELO or STARTTLS sent */
    SMTP__CS_TLS,   /* STARTTLS got 220: waiting for smtp_client_tls_done() */
    SMTP__CS_READY, /* no transaction: MAIL, AUTH, NOOP, RSET, QUIT */
    SMTP__CS_AUTH,  /* AUTH, TURN or ATRN sent: nothing else until its reply */
    SMTP__CS_MAIL,  /* MAIL sent: RCPT and DATA */
    SMTP__CS_DATA,  /* DATA sent, waiting for 354 */
    SMTP__CS_BODY,  /* body octets go out */
    SMTP__CS_END,   /* end of data sent, waiting for the verdict */
    SMTP__CS_QUIT,  /* QUIT sent */
    SMTP__CS_CLOSED,
    SMTP__CS_TURNED /* TURN/ATRN got 250: the connection is the receiver's now */
};

/* Is the client in one of the states of mask m (SMTP__CSB() bits)? */
#define SMTP__CSB(st) (1u << SMTP__CS_##st)
#define SMTP__CIN(c, m) (((1u << (c)->_state) & (m)) != 0)

/* What the pipe holds: the command each expected reply answers. */
enum smtp__kind {
    SMTP__K_EHLO,
    SMTP__K_HELO,
    SMTP__K_STARTTLS,
    SMTP__K_AUTH,
    SMTP__K_MAIL,
    SMTP__K_RCPT,
    SMTP__K_DATA,
    SMTP__K_BDAT,
    SMTP__K_END,
    SMTP__K_RSET,
    SMTP__K_NOOP,
    SMTP__K_QUIT,
    SMTP__K_TURN,
    SMTP__K_GREETING /* never in the pipe: the reply that comes unasked first */
};

enum smtp__cflag {
    SMTP__CF_TLS = 1u << 0,     /* the connection is TLS */
    SMTP__CF_ESMTP = 1u << 1,   /* EHLO was accepted */
    SMTP__CF_AUTHED = 1u << 2,  /* AUTH got 235 */
    SMTP__CF_MAIL_OK = 1u << 3, /* the server opened the transaction */
    SMTP__CF_FULL = 1u << 4,    /* a RCPT got 452: no more in this transaction */
    SMTP__CF_BDAT = 1u << 5,    /* the body goes by BDAT */
    SMTP__CF_BINARY = 1u << 6,  /* BODY=BINARYMIME: BDAT, octets as they are */
    SMTP__CF_FAILED = 1u << 7,  /* a BDAT chunk was refused */
    SMTP__CF_SECRET = 1u << 9,  /* _out holds credentials: wipe once sent */
    SMTP__CF_LAST = 1u << 10,   /* the last command ends a group (RFC 2920 3.1) */
    SMTP__CF_UTF8 = 1u << 11,   /* the transaction is SMTPUTF8 */
    SMTP__CF_ENDING = 1u << 12  /* smtp_client_end() waits for the body to drain */
};
/* The body goes by BDAT: never when CHUNKING is compiled out. */
#define SMTP__CBDAT(c) (SMTP__HAS_CHUNKING && ((c)->_flags & SMTP__CF_BDAT))
#define SMTP__CF_TRANSACTION                                                                \
    (SMTP__CF_MAIL_OK | SMTP__CF_FULL | SMTP__CF_BDAT | SMTP__CF_BINARY | SMTP__CF_FAILED | \
     SMTP__CF_UTF8)

/* Body scanner states. */
enum smtp__cbody {
    SMTP__CB_SOL, /* at a line start: a '.' gets stuffed */
    SMTP__CB_MID, /* inside a line */
    SMTP__CB_CR,  /* a CR was taken, its LF may come next */
    SMTP__CB_BARE /* a bare LF was taken: CRLF goes out first */
};

/* The replies the server may give to each command: the receiver's tables
 * (RFC 5321 4.3.2, RFC 821 4.3, the extensions), plus what RFC 5321 4.3.2
 * allows for any command (421, 500, 501) and the few codes real servers
 * give for policy that no table lists (530 of RFC 3207/4954, 554 on MAIL and
 * RCPT as Postfix's relay refusal does).  Each command's codes are a mask
 * over smtp__ccodes; MAIL, RCPT and the end of data take the receiver's
 * lists (SMTP__CODES_*) and add 500, 530 and 554. */
/* clang-format off */
#define SMTP__CCODES(X) \
    X(220) X(221) X(235) X(250) X(251) X(334) X(354) X(421) X(432) X(450) X(451) X(452) \
    X(453) X(454) X(455) X(500) X(501) X(502) X(503) X(504) X(530) X(534) X(535) X(538) \
    X(550) X(551) X(552) X(553) X(554) X(555)
/* clang-format on */
enum {
#define SMTP__X(code) SMTP__B##code,
    SMTP__CCODES(SMTP__X)
#undef SMTP__X
};
static const uint16_t smtp__ccodes[] = {
#define SMTP__X(code) code,
    SMTP__CCODES(SMTP__X)
#undef SMTP__X
};
#define SMTP__M(code) ((uint32_t)1 << SMTP__B##code)
#define SMTP__MBIT(code) SMTP__M(code) |
#define SMTP__M_ANY (SMTP__M(421) | SMTP__M(500) | SMTP__M(501))
#define SMTP__M_EXTRA (SMTP__M(500) | SMTP__M(530) | SMTP__M(554))
#define SMTP__M_EHLO (SMTP__M_ANY | SMTP__M(250) | SMTP__M(502) | SMTP__M(504) | SMTP__M(550))
#define SMTP__M_BDAT                                                                          \
    (SMTP__M_ANY | SMTP__M(250) | SMTP__M(450) | SMTP__M(451) | SMTP__M(452) | SMTP__M(503) | \
     SMTP__M(530) | SMTP__M(550) | SMTP__M(552) | SMTP__M(554))
#define SMTP__M_SIMPLE (SMTP__M_ANY | SMTP__M(250) | SMTP__M(504)) /* RSET, NOOP */

/* By enum smtp__kind: a compiled-out kind keeps its row, empty. */
static const uint32_t smtp__cmasks[] = {
    SMTP__M_EHLO, /* EHLO */
    SMTP__M_EHLO, /* HELO */
#ifndef SMTP_NO_STARTTLS
    SMTP__M_ANY | SMTP__M(220) | SMTP__M(454) | SMTP__M(502) | SMTP__M(503), /* STARTTLS */
#else
    0,
#endif
#ifndef SMTP_NO_AUTH
    SMTP__M_ANY | SMTP__M(235) | SMTP__M(334) | SMTP__M(432) | SMTP__M(454) | SMTP__M(502) |
        SMTP__M(503) | SMTP__M(504) | SMTP__M(530) | SMTP__M(534) | SMTP__M(535) |
        SMTP__M(538), /* AUTH */
#else
    0,
#endif
    SMTP__CODES_MAIL(SMTP__MBIT) SMTP__M_EXTRA, /* MAIL */
    SMTP__CODES_RCPT(SMTP__MBIT) SMTP__M_EXTRA, /* RCPT */
    SMTP__M_ANY | SMTP__M(354) | SMTP__M(451) | SMTP__M(503) | SMTP__M(530) |
        SMTP__M(554),                               /* DATA */
    SMTP__M_BDAT,                                   /* BDAT (not LAST) */
    SMTP__CODES_DATA_END(SMTP__MBIT) SMTP__M_EXTRA, /* end of data, BDAT LAST */
    SMTP__M_SIMPLE,                                 /* RSET */
    SMTP__M_SIMPLE,                                 /* NOOP */
    SMTP__M_ANY | SMTP__M(221),                     /* QUIT */
    SMTP__M_ANY | SMTP__M(250) | SMTP__M(450) | SMTP__M(451) | SMTP__M(453) | SMTP__M(502) |
        SMTP__M(503) | SMTP__M(530),            /* TURN, ATRN */
    SMTP__M(220) | SMTP__M(421) | SMTP__M(554), /* the greeting */
};
/* The kinds that end a pipelined group: nothing is queued after them. */
#define SMTP__K_LAST                                                                            \
    ((1u << SMTP__K_EHLO) | (1u << SMTP__K_HELO) | (1u << SMTP__K_STARTTLS) |                   \
     (1u << SMTP__K_AUTH) | (1u << SMTP__K_DATA) | (1u << SMTP__K_END) | (1u << SMTP__K_NOOP) | \
     (1u << SMTP__K_QUIT) | (1u << SMTP__K_TURN))

/* May `code` answer a command of that kind (with more: the codes of BDAT)? */
static int smtp__ccode_ok(unsigned kind, unsigned code, int more)
{
    unsigned k;
    for (k = 0; k < sizeof smtp__ccodes / sizeof smtp__ccodes[0]; k++)
        if (smtp__ccodes[k] == code)
            return ((smtp__cmasks[kind] | (more ? SMTP__M_BDAT : 0)) >> k & 1) != 0;
    return 0;
}

/* ------------------------------------------------------------ the writer */

/* Room for n more octets in _out, moving what is pending to the front.
 * Octet by octet, each index checked against its own end (k < _out_len
 * and i < the size; the second always holds, as i <= k): Eva proves that,
 * where it cannot relate _out_off to _out_len after a partial
 * smtp_client_output_done() (proof/README.md). */
static int smtp__croom(struct smtp_client *c, size_t n)
{
    if (c->_out_off) {
        size_t i = 0, k = c->_out_off;
        while (k < c->_out_len && i < sizeof c->_out)
            c->_out[i++] = c->_out[k++];
        c->_out_len = (uint16_t)i;
        c->_out_off = 0;
    }
    return n <= sizeof c->_out - c->_out_len;
}

/* Appends p[0..n) (or strlen(p) for n == (size_t)-1); on no room sets
 * _out_len past the end, which smtp__cfinish() turns into a roll-back.
 * Octet by octet, each checked against the end: Eva proves that, where it
 * cannot relate _out_len + n to the room (proof/README.md). */
static void smtp__cput(struct smtp_client *c, const char *p, size_t n)
{
    size_t k;
    if (n == (size_t)-1)
        n = strlen(p);
    for (k = 0; k < n && c->_out_len < sizeof c->_out; k++)
        c->_out[c->_out_len++] = p[k];
    if (k < n)
        c->_out_len = sizeof c->_out + 1;
}

/* Pushes kind onto the pipe: its reply is expected after the others. */
static void smtp__cpush(struct smtp_client *c, unsigned kind)
{
    c->_pipe[(c->_pipe_head + c->_pipe_n) % SMTP_CLIENT_PIPE_MAX] = (uint8_t)kind;
    c->_pipe_n++;
    if ((SMTP__K_LAST >> kind) & 1)
        c->_flags |= SMTP__CF_LAST;
    else
        c->_flags &= (uint16_t)~SMTP__CF_LAST;
}

/* May a command be queued now (rule C2)?  SMTP_OK or SMTP_ERR_BUSY. */
static int smtp__cfree(const struct smtp_client *c)
{
    int pipelining =
        (c->caps.ext & SMTP_EXT_PIPELINING) && !(c->cfg.options & SMTP_COPT_NO_PIPELINING);
    if (c->_flags & SMTP__CF_ENDING)
        return SMTP_ERR_BUSY; /* the end of the data is not queued yet: nothing before it */
    if (c->_pipe_n == 0)
        return SMTP_OK;
    if (!pipelining || (c->_flags & SMTP__CF_LAST) || c->_pipe_n >= SMTP_CLIENT_PIPE_MAX)
        return SMTP_ERR_BUSY;
    return SMTP_OK;
}

/* Ends a command started at `start`: CRLF, the 512-octet line limit, and
 * the roll-back when _out had no room. */
static int smtp__cfinish(struct smtp_client *c, size_t start, unsigned kind)
{
    smtp__cput(c, "\r\n", 2);
    if (c->_out_len > sizeof c->_out || c->_out_len - start > SMTP__REPLY_LINE) {
        int busy = start > 0 && c->_out_len - start <= SMTP__REPLY_LINE;
        c->_out_len = (uint16_t)start;
        return busy ? SMTP_ERR_BUSY : SMTP_ERR_SYNTAX;
    }
    smtp__cpush(c, kind);
    return SMTP_OK;
}

/* A command with no argument or a constant one. */
static int smtp__csimple(struct smtp_client *c, const char *cmd, unsigned kind)
{
    size_t start = (smtp__croom(c, 0), c->_out_len);
    smtp__cput(c, cmd, (size_t)-1);
    return smtp__cfinish(c, start, kind);
}

static void smtp__chello(struct smtp_client *c, const char *cmd)
{
    size_t start = (smtp__croom(c, 0), c->_out_len);
    smtp__cput(c, cmd, 5);
    smtp__cput(c, c->cfg.hostname, (size_t)-1);
    (void)smtp__cfinish(c, start, cmd[0] == 'E' ? SMTP__K_EHLO : SMTP__K_HELO);
    c->_state = SMTP__CS_HELLO;
}

/* xtext (RFC 3461 4): '+', '=' and octets outside '!'..'~' as "+XX". */
static int smtp__cput_xtext(struct smtp_client *c, const char *v)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *v; v++) {
        unsigned char o = (unsigned char)*v;
        if (o < ' ' || o > '~')
            return SMTP_ERR_SYNTAX; /* printable ASCII only (RFC 3461 4.4, 5.4) */
        if (o == '+' || o == '=' || o == ' ') {
            char e[3];
            e[0] = '+', e[1] = hex[o >> 4], e[2] = hex[o & 15];
            smtp__cput(c, e, 3);
        } else {
            smtp__cput(c, v, 1);
        }
    }
    return SMTP_OK;
}

static void smtp__cput_num(struct smtp_client *c, uint64_t v)
{
    char d[20];
    size_t n = smtp__put_num(d, v);
    /* one state per length: Eva then sees d[0..n) written (proof/README.md) */
    //@ split n;
    smtp__cput(c, d, n);
}

/* "<addr>".  The check keeps the command line whole (smtp.h): octets
 * 0x21-0x7e but '<' and '>', SP only inside a quoted local part (a '"'
 * first, to the next '"' not after a '\'), 8-bit octets only as UTF-8 with
 * SMTP_PATH_UTF8, one '@' outside the quotes between a local part and a
 * domain, and the lengths of RFC 5321 4.5.3.1.  The grammar is the
 * server's to check (501/553 for that recipient). */
static int smtp__cput_path(struct smtp_client *c, const char *addr, unsigned flags)
{
    size_t n = strlen(addr), i, at = 0, l;
    int q = 0; /* 1 inside the quoted local part, 2 right after its '\' */
    for (i = 0; i < n; i++) {
        unsigned char o = (unsigned char)addr[i];
        if (o >= 0x80) {
            if (!(flags & SMTP_PATH_UTF8) || (l = smtp__utf8_len(addr, i, n)) == 0)
                return SMTP_ERR_UTF8;
            i += l - 1;
        } else if (o < ' ' || o == 0x7f || o == '<' || o == '>' || (o == ' ' && !q)) {
            return SMTP_ERR_SYNTAX;
        } else if (q) {
            q = q == 2 ? 1 : o == '\\' ? 2 : o != '"';
        } else if (o == '"' && i == 0) {
            q = 1;
        } else if (o == '@') {
            if (at)
                return SMTP_ERR_SYNTAX;
            at = i + 1;
        }
    }
    if (n == 0 ? !(flags & SMTP_PATH_NULL_OK)
        : at   ? at == 1 || at == n
               : !(flags & SMTP_PATH_POSTMASTER) || !smtp__is_word(addr, 0, n, "POSTMASTER"))
        return SMTP_ERR_SYNTAX;
    if (at > SMTP_LOCAL_MAX + 1)
        return SMTP_ERR_LOCAL_LEN;
    if (n - at > SMTP_DOMAIN_MAX)
        return SMTP_ERR_DOMAIN_LEN;
    if (n + 2 > SMTP_PATH_MAX)
        return SMTP_ERR_PATH_LEN;
    smtp__cput(c, "<", 1);
    smtp__cput(c, addr, n);
    smtp__cput(c, ">", 1);
    return SMTP_OK;
}

/* -------------------------------------------------------------- AUTH */
#ifndef SMTP_NO_AUTH

/* The octet at position pos of the SASL message: the parts
 * _sasl[_sasl_from.._sasl_to) one after the other.  -1 past its end.
 * For Eva (proof/README.md): k counts from 0, so that each round of the
 * unrolled loop reads one part with its own length, whatever the range;
 * and a part is read only through a pointer that is not NULL.
 * smtp__sasl_forget() clears each pointer with its length, so that test
 * never decides anything, but Eva sees a finished exchange merged with
 * one going on, a NULL pointer beside a length that is not 0. */
static int smtp__sasl_octet(const struct smtp_client *c, size_t pos)
{
    unsigned k;
    //@ loop unroll 5;
    for (k = 0; k < c->_sasl_to; k++) {
        const char *part = c->_sasl[k]; /* NULL once forgotten */
        if (k < c->_sasl_from)
            continue;
        if (pos < c->_sasl_len[k])
            return part ? (unsigned char)part[pos] : -1;
        pos -= c->_sasl_len[k];
    }
    return -1;
}

static size_t smtp__sasl_total(const struct smtp_client *c)
{
    size_t t = 0;
    unsigned k;
    for (k = c->_sasl_from; k < c->_sasl_to; k++)
        t += c->_sasl_len[k];
    return t;
}

/* Encodes the SASL message as base64 (RFC 4648 4) into _out as room
 * allows, then CRLF: called again as the output drains (rule C4). */
static void smtp__sasl_pump(struct smtp_client *c)
{
    size_t total = smtp__sasl_total(c);
    if (!(c->_flags & SMTP__CF_SECRET) || c->_sasl_pos > total)
        return;
    (void)smtp__croom(c, 0);
    /* Eva cannot count this loop's rounds: the widening threshold keeps
     * _out_len within _out at its head, where Eva had it up to 32766 */
    //@ widen_hints c->_out_len, SMTP_CLIENT_OUT_MAX;
    while (c->_sasl_pos < total && c->_out_len <= sizeof c->_out - 4) {
        uint32_t v = 0;
        unsigned k, got = 0, x;
        for (k = 0; k < 3; k++) {
            int o = smtp__sasl_octet(c, c->_sasl_pos);
            if (o >= 0)
                c->_sasl_pos++, got++;
            v = v << 8 | (uint32_t)(o >= 0 ? o : 0);
        }
        for (k = 0; k < 4; k++) { /* the alphabet A-Z a-z 0-9 + / without a table */
            x = (v >> (18 - 6 * k)) & 63;
            c->_out[c->_out_len++] = (char)(k > got   ? '='
                                            : x < 26  ? 'A' + x
                                            : x < 52  ? 'a' - 26 + x
                                            : x < 62  ? x - 4 /* 52 is '0' */
                                            : x == 62 ? '+'
                                                      : '/');
        }
    }
    if (c->_sasl_pos == total && c->_out_len <= sizeof c->_out - 2) {
        smtp__cput(c, "\r\n", 2);
        c->_sasl_pos++; /* past the end: the message is out */
    }
}

/* Forgets the credentials: the pointers now, the encoded octets in _out
 * once they are sent (smtp_client_output_done()). */
static void smtp__sasl_forget(struct smtp_client *c)
{
    memset(c->_sasl, 0, sizeof c->_sasl);
    memset(c->_sasl_len, 0, sizeof c->_sasl_len);
    c->_sasl_pos = 0;
    c->_sasl_from = c->_sasl_to = c->_sasl_step = 0;
}

/* Starts sending the SASL message made of parts [from, to) (rule C4). */
static void smtp__sasl_send(struct smtp_client *c, unsigned from, unsigned to)
{
    c->_sasl_from = (uint8_t)from, c->_sasl_to = (uint8_t)to;
    c->_sasl_pos = 0;
    c->_sasl_step++;
    c->_flags |= SMTP__CF_SECRET;
    smtp__sasl_pump(c);
}
#else
static void smtp__sasl_forget(struct smtp_client *c)
{
    (void)c; /* no credentials are ever held */
}
#endif /* SMTP_NO_AUTH */

/* -------------------------------------------------------- reply reading */

/* EHLO keywords, by the bit of SMTP_EXT_* each offers; SMTP__CEXTS: those
 * this build uses (a compiled-out extension is one no server offers,
 * smtp.h). */
static const char smtp__ckeywords[] = "PIPELINING\0SIZE\0"
                                      "8BITMIME\0ENHANCEDSTATUSCODES\0"
                                      "SMTPUTF8\0LIMITS\0CHUNKING\0BINARYMIME\0STARTTLS\0"
                                      "AUTH\0DSN\0ATRN\0";
#define SMTP__CEXTS                                                                           \
    (SMTP_EXT_PIPELINING | SMTP_EXT_SIZE | SMTP_EXT_8BITMIME | SMTP_EXT_ENHANCEDSTATUSCODES | \
     SMTP_EXT_LIMITS | (SMTP__HAS_UTF8 ? SMTP_EXT_SMTPUTF8 : 0) |                             \
     (SMTP__HAS_CHUNKING ? SMTP_EXT_CHUNKING | SMTP_EXT_BINARYMIME : 0) |                     \
     (SMTP__HAS_STARTTLS ? SMTP_EXT_STARTTLS : 0) |                                           \
     (SMTP__HAS_AUTH ? SMTP_EXT_AUTH | SMTP_EXT_ATRN : 0) | /* ATRN needs AUTH (RFC 2645) */  \
     (SMTP__HAS_DSN ? SMTP_EXT_DSN : 0))
/* By enum smtp_mech; "AUTH " and the name start the command. */
static const char smtp__mech_names[][SMTP__HAS_OAUTH ? 12 : 6] = {"", "PLAIN", "LOGIN",
#if SMTP__HAS_OAUTH
                                                                  "XOAUTH2", "OAUTHBEARER"
#endif
};
#define SMTP__MECHS (sizeof smtp__mech_names / sizeof smtp__mech_names[0])

/* One EHLO line's text _line[s..n): "KEYWORD *(SP param)" (RFC 5321
 * 4.1.1.1).  Indices into _line, not a sub-span: proof/README.md. */
static void smtp__ccap(struct smtp_client *c, size_t s, size_t n)
{
    const char *t = c->_line;
    size_t i = s, k, w;
    uint32_t ext = 1;
    while (i < n && t[i] != ' ' && t[i] != '=')
        i++;
    //@ loop unroll 13;
    for (k = 0; smtp__ckeywords[k]; k += strlen(smtp__ckeywords + k) + 1, ext <<= 1)
        if ((ext & SMTP__CEXTS) && smtp__is_word(t, s, i, smtp__ckeywords + k))
            break;
    if (!smtp__ckeywords[k])
        return; /* a keyword we do not use */
    c->caps.ext |= ext;
    while (i < n) { /* the parameters */
        uint64_t v;
        size_t o = ++i + (ext == SMTP_EXT_LIMITS ? 8 : 0); /* after "RCPTMAX=" */
        for (w = i; w < n && t[w] != ' '; w++) {
        }
        if (SMTP__HAS_AUTH && ext == SMTP_EXT_AUTH) {
            unsigned m;
            for (m = 1; m < SMTP__MECHS; m++)
                if (smtp__is_word(t, i, w, smtp__mech_names[m]))
                    c->caps.mechs |= 1u << m;
        } else if ((ext == SMTP_EXT_SIZE ||
                    (ext == SMTP_EXT_LIMITS && smtp__has_prefix(t, i, w, "RCPTMAX="))) &&
                   smtp__u64(t, o, w, &v) == SMTP_OK) {
            if (ext == SMTP_EXT_SIZE)
                c->caps.size = v;
            else if (v > 0)
                c->caps.rcptmax = (uint16_t)SMTP__MIN(v, 0xffffu);
        }
        i = w;
    }
}

/* The enhanced status code "class.subject.detail" at the start of
 * _line[s..n) (RFC 3463 2), its class the reply's first digit, then SP or
 * the end of the line: the index after it and the SP, s when there is
 * none.  The first line's is the reply's. */
static size_t smtp__cenh(struct smtp_client *c, size_t s, size_t n)
{
    const char *t = c->_line;
    unsigned v[3] = {0, 0, 0}, k = 0, d = 0; /* part k, its digits d */
    size_t i;
    for (i = s; i < n && t[i] != ' '; i++) {
        if (t[i] == '.' && d && k < 2)
            k++, d = 0;
        else if (t[i] < '0' || t[i] > '9' || ++d > 3)
            return s;
        else
            v[k] = v[k] * 10 + (unsigned)(t[i] - '0');
    }
    if (k < 2 || !d || v[0] != (unsigned)(t[0] - '0') || v[1] > 255)
        return s;
    if (c->_lines == 1)
        c->_enh[0] = (uint8_t)v[0], c->_enh[1] = (uint8_t)v[1], c->_detail = (uint16_t)v[2];
    return i < n ? i + 1 : i;
}

/* Adds a line's text _line[i..n) to _text: '\n' between lines, control
 * octets as '?', cut at SMTP_CLIENT_TEXT_MAX. */
static void smtp__ctext(struct smtp_client *c, size_t i, size_t n)
{
    if (c->_lines > 1 && c->_text_len < sizeof c->_text)
        c->_text[c->_text_len++] = '\n';
    for (; i < n && c->_text_len < sizeof c->_text; i++) {
        unsigned char o = (unsigned char)c->_line[i];
        c->_text[c->_text_len++] = (char)(o < ' ' || o == 0x7f ? '?' : o);
    }
}

/* Checks the line in _line (CRLF included, n octets) and adds it to the
 * reply.  Returns 1 when it was the reply's last line, 0 when more follow,
 * -1 when it breaks the protocol (rule C5). */
static int smtp__cline(struct smtp_client *c, size_t n)
{
    const char *l = c->_line;
    unsigned code;
    size_t i, off;
    if (n < 5 || l[n - 2] != '\r' || l[0] < '2' || l[0] > '5' || l[1] < '0' || l[1] > '5' ||
        l[2] < '0' || l[2] > '9')
        return -1;
    n -= 2;
    if (n > 3 && l[3] != ' ' && l[3] != '-')
        return -1;
    for (i = 4; i < n; i++)
        if (l[i] == '\0' || l[i] == '\r') /* (the only LF ends the line) */
            return -1;
    code = (unsigned)((l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0'));
    if (c->_code && code != c->_code)
        return -1; /* every line of a reply has the same code (RFC 5321 4.2.1) */
    if (++c->_lines > (c->cfg.max_reply_lines ? c->cfg.max_reply_lines : 100))
        return -1;
    c->_code = code;
    off = n > 4 ? 4 : n;
    if (c->caps.ext & SMTP_EXT_ENHANCEDSTATUSCODES)
        off = smtp__cenh(c, off, n);
    if (c->_lines > 1 && c->_pipe_n && c->_pipe[c->_pipe_head] == SMTP__K_EHLO && code == 250)
        smtp__ccap(c, off, n);
    smtp__ctext(c, off, n);
    return n <= 3 || l[3] == ' ';
}

/* ------------------------------------------------------ reply handling */

/* The session ends: QUIT goes out unless the server closed it (421) or the
 * byte stream cannot be trusted any more (then QUIT is still sent: it is
 * what RFC 5321 3.8 asks, and harmless). */
static int smtp__cclose(struct smtp_client *c, union smtp_cevent *ev, unsigned why)
{
    if (c->_flags & SMTP__CF_SECRET) /* credentials still queued: never sent now */
        memset(c->_out, 0, sizeof c->_out);
    if (why != SMTP_WHY_421 && why != SMTP_WHY_QUIT && why != SMTP_WHY_ABORT &&
        c->_state != SMTP__CS_QUIT) {
        /* QUIT only where a command can start: not inside the message data,
         * not after part of a line went out (a partial write, a SASL line) */
        int mid =
            c->_state == SMTP__CS_BODY || (c->_flags & SMTP__CF_SECRET) ||
            (c->_out_off > 0 && c->_out_off < c->_out_len && c->_out[c->_out_off - 1] != '\n');
        c->_out_len = c->_out_off = 0;
        c->_run = 0, c->_run_len = 0;
        if (!mid)
            smtp__cput(c, "QUIT\r\n", 6);
    }
    c->_state = SMTP__CS_CLOSED;
    c->_why = (uint8_t)why;
    c->_pipe_n = 0;
    smtp__sasl_forget(c);
    ev->closed.why = (uint8_t)why;
    return ev->type = SMTP_CEV_CLOSED;
}

/* After EHLO/HELO, or a refused STARTTLS: STARTTLS by the policy, or ready. */
static int smtp__cgreeted(struct smtp_client *c, union smtp_cevent *ev, int tls_refused)
{
    int tls = (c->_flags & SMTP__CF_TLS) != 0;
    if (SMTP__HAS_STARTTLS && !tls && !tls_refused && c->cfg.tls != SMTP_TLS_OFF &&
        (c->caps.ext & SMTP_EXT_STARTTLS)) {
        (void)smtp__csimple(c, "STARTTLS", SMTP__K_STARTTLS);
        return 0;
    }
    if (!tls && c->cfg.tls >= SMTP_TLS_REQUIRED)
        return smtp__cclose(c, ev, SMTP_WHY_NO_TLS);
    c->_state = SMTP__CS_READY;
    return ev->type = SMTP_CEV_READY;
}

static unsigned smtp__rcpt_result(const struct smtp_client *c, unsigned code)
{
    if (code / 100 == 2)
        return SMTP_RCPT_OK;
    /* RFC 5321 4.5.3.1.10: 552 is RFC 821's "too many recipients", a 452 */
    if (code == 452 || code == 552 || (c->_flags & SMTP__CF_FULL))
        return SMTP_RCPT_LATER;
    return code / 100 == 4 ? SMTP_RCPT_TEMP : SMTP_RCPT_PERM;
}

/* A transaction is over without the server's verdict on a message.  If the
 * server had opened it, RSET closes it now, behind any reply still due
 * (only pipelined commands can be pending, and RSET may join them). */
static void smtp__cabandon(struct smtp_client *c)
{
    if ((c->_flags & SMTP__CF_MAIL_OK) && c->_state != SMTP__CS_QUIT)
        (void)smtp__csimple(c, "RSET", SMTP__K_RSET); /* (QUIT ends it anyway) */
    c->_flags &= (uint16_t) ~(SMTP__CF_TRANSACTION & ~SMTP__CF_FAILED);
    c->_state = SMTP__CS_READY;
}

#ifndef SMTP_NO_AUTH
/* The next SASL message after a 334 (RFC 4954 4): 0, or -1 when the
 * mechanism has none left (a protocol error). */
static int smtp__cauth_step(struct smtp_client *c)
{
    unsigned step = c->_sasl_step;
    if (c->_mech == SMTP_MECH_LOGIN && step < 2) {
        smtp__sasl_send(c, 2 + 2 * step, 3 + 2 * step); /* the user name, then the password */
        return 0;
    }
    if (c->_mech != SMTP_MECH_LOGIN && step == 0) {
        smtp__sasl_send(c, 0, 5);
        return 0;
    }
    if (SMTP__HAS_OAUTH && (c->_mech == SMTP_MECH_XOAUTH2 || c->_mech == SMTP_MECH_OAUTHBEARER) &&
        step == 1) {
        /* the error challenge: an empty response (XOAUTH2) or %x01 (RFC 7628 3.2.3);
         * then the server's 5yz ends the exchange */
        (void)smtp__csimple(c, c->_mech == SMTP_MECH_XOAUTH2 ? "" : "AQ==", SMTP__K_AUTH);
        c->_pipe_n--; /* the same AUTH still waits for its reply */
        c->_sasl_step++;
        return 0;
    }
    return -1;
}
#endif

/* A whole reply is in: the event it makes for the command it answers, 0
 * when none (the session goes on by itself), or the end of the session. */
static int smtp__creply_to(struct smtp_client *c, union smtp_cevent *ev)
{
    unsigned code = c->_code, kind = SMTP__K_GREETING, cls = code / 100;
    ev->any.reply.code = code;
    ev->any.reply.cls = c->_enh[0], ev->any.reply.subject = c->_enh[1];
    ev->any.reply.detail = c->_detail;
    ev->any.reply.text.ptr = c->_text;
    ev->any.reply.text.len = c->_text_len;
    if (c->_pipe_n) {
        kind = c->_pipe[c->_pipe_head];
        if (code != 334 || kind != SMTP__K_AUTH) { /* a 334 leaves AUTH waiting */
            c->_pipe_head = (uint8_t)((c->_pipe_head + 1) % SMTP_CLIENT_PIPE_MAX);
            c->_pipe_n--;
        }
    } else if (c->_state != SMTP__CS_GREET) { /* unasked: 421 or 221 is the server leaving */
        return smtp__cclose(c, ev, code == 421 || code == 221 ? SMTP_WHY_421 : SMTP_WHY_PROTOCOL);
    }
    if (code == 421)
        return smtp__cclose(c, ev, SMTP_WHY_421);
    if (!smtp__ccode_ok(kind, code,
                        SMTP__HAS_CHUNKING && kind == SMTP__K_END &&
                            (c->_flags & (SMTP__CF_BDAT | SMTP__CF_FAILED)))) /* BDAT LAST */
        return smtp__cclose(c, ev, SMTP_WHY_PROTOCOL);
    switch (kind) {
    case SMTP__K_GREETING:
        if (code != 220)
            return smtp__cclose(c, ev, SMTP_WHY_REFUSED); /* 554: QUIT (RFC 5321 3.1) */
        c->caps.ext = c->caps.mechs = 0, c->caps.size = 0, c->caps.rcptmax = 0;
        smtp__chello(c, "EHLO ");
        return 0;
    case SMTP__K_EHLO:
        if (code == 500 || code == 502) { /* RFC 5321 3.2: an old server */
            smtp__chello(c, "HELO ");
            return 0;
        }
        if (code != 250)
            return smtp__cclose(c, ev, SMTP_WHY_REFUSED);
        c->_flags |= SMTP__CF_ESMTP;
        return smtp__cgreeted(c, ev, 0);
    case SMTP__K_HELO:
        if (code != 250)
            return smtp__cclose(c, ev, SMTP_WHY_REFUSED);
        return smtp__cgreeted(c, ev, 0);
#ifndef SMTP_NO_STARTTLS
    case SMTP__K_STARTTLS:
        if (code != 220)
            return smtp__cgreeted(c, ev, 1);
        c->_state = SMTP__CS_TLS;
        return ev->type = SMTP_CEV_TLS;
#endif
#ifndef SMTP_NO_AUTH
    case SMTP__K_AUTH:
        if (code == 334) {
            if (smtp__cauth_step(c) < 0)
                return smtp__cclose(c, ev, SMTP_WHY_PROTOCOL);
            return 0;
        }
        if (code == 235)
            c->_flags |= SMTP__CF_AUTHED;
        smtp__sasl_forget(c);
        c->_state = SMTP__CS_READY;
        return ev->type = SMTP_CEV_AUTH;
#endif
    case SMTP__K_MAIL:
        if (cls == 2) {
            c->_flags |= SMTP__CF_MAIL_OK;
        } else if (c->_state == SMTP__CS_MAIL || c->_state == SMTP__CS_DATA) {
            /* nothing to reset: a 250 seen before was an earlier MAIL's */
            c->_flags &= (uint16_t)~SMTP__CF_MAIL_OK;
            smtp__cabandon(c);
        }
        return ev->type = SMTP_CEV_MAIL;
    case SMTP__K_RCPT:
        ev->rcpt.index = c->_rcpt_replies++;
        ev->rcpt.result = (uint8_t)smtp__rcpt_result(c, code);
        if (cls == 2)
            c->_rcpt_ok++;
        else if (code == 452 || code == 552)
            c->_flags |= SMTP__CF_FULL;
        return ev->type = SMTP_CEV_RCPT;
    case SMTP__K_DATA:
        if (code != 354) {
            if (c->_state == SMTP__CS_DATA)
                smtp__cabandon(c);
        } else if (c->_rcpt_ok == 0 || c->_state != SMTP__CS_DATA) {
            (void)smtp__csimple(c, ".", SMTP__K_END); /* RFC 2920 3.1: nobody to send to */
            c->_state = SMTP__CS_END;
        } else {
            c->_state = SMTP__CS_BODY;
            c->_body = SMTP__CB_SOL;
        }
        return ev->type = SMTP_CEV_DATA;
#ifndef SMTP_NO_CHUNKING
    case SMTP__K_BDAT:
        if (cls == 2 || (c->_flags & SMTP__CF_FAILED))
            return 0;
        c->_flags |= SMTP__CF_FAILED; /* RFC 3030 4.2: no more chunks */
        smtp__cabandon(c);
        return ev->type = SMTP_CEV_SENT;
#endif
    case SMTP__K_END:
        if (c->_flags & SMTP__CF_FAILED) {
            c->_flags &= (uint16_t)~SMTP__CF_FAILED;
            return 0; /* the verdict was given with the refused chunk */
        }
        c->_flags &= (uint16_t)~SMTP__CF_TRANSACTION;
        c->_state = SMTP__CS_READY;
        return ev->type = SMTP_CEV_SENT;
    case SMTP__K_RSET:
        if (code == 250 && c->_state != SMTP__CS_MAIL && c->_state != SMTP__CS_DATA)
            c->_flags &= (uint16_t)~SMTP__CF_TRANSACTION;
        return ev->type = SMTP_CEV_RSET;
    case SMTP__K_NOOP:
        return ev->type = SMTP_CEV_REPLY;
    case SMTP__K_TURN:
        if (code != 250) {
            c->_state = SMTP__CS_READY;
            return ev->type = SMTP_CEV_REPLY;
        }
        c->_state = SMTP__CS_TURNED; /* what follows is the other role's input */
        return ev->type = SMTP_CEV_TURNED;
    default: /* SMTP__K_QUIT */
        return smtp__cclose(c, ev, code == 221 ? SMTP_WHY_QUIT : SMTP_WHY_421);
    }
}

/* Replies to commands pipelined before QUIT leave the session quitting:
 * nothing may be queued after QUIT. */
static int smtp__creply(struct smtp_client *c, union smtp_cevent *ev)
{
    int quitting = c->_state == SMTP__CS_QUIT, e = smtp__creply_to(c, ev);
    if (quitting && c->_state != SMTP__CS_CLOSED)
        c->_state = SMTP__CS_QUIT;
    return e;
}

/* ---------------------------------------------------------- public API */

SMTP_API void smtp_client_config_default(struct smtp_client_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->hostname = "localhost";
    cfg->max_reply_lines = 100;
}

SMTP_API void smtp_client_init(struct smtp_client *c, const struct smtp_client_config *cfg)
{
    size_t k;
    memset(c, 0, sizeof *c);
    if (cfg)
        c->cfg = *cfg;
    else
        smtp_client_config_default(&c->cfg);
    if (c->cfg.hostname) { /* one word of 1-255 octets 0x21-0x7e: the line stays whole */
        //@ loop unroll 257;
        for (k = 0; k < 256 && c->cfg.hostname[k] > ' ' && c->cfg.hostname[k] < 0x7f; k++) {
        }
        if (k == 0 || k > SMTP_DOMAIN_MAX || c->cfg.hostname[k])
            c->cfg.hostname = 0;
    }
    if (!c->cfg.hostname)
        c->cfg.hostname = "localhost";
    if (!c->cfg.max_reply_lines)
        c->cfg.max_reply_lines = 100;
    if (c->cfg.tls == SMTP_TLS_IMPLICIT)
        c->_flags |= SMTP__CF_TLS;
    c->_state = SMTP__CS_GREET;
}

SMTP_API int smtp_client_feed(struct smtp_client *c, const void *buf, size_t len, size_t *used,
                              union smtp_cevent *ev)
{
    const char *p = (const char *)buf;
    size_t i = 0;
    *used = 0;
    memset(ev, 0, sizeof *ev); /* CEV_CLOSED from a malformed line: code 0, no text */
    ev->any.reply.text.ptr = c->_text;
    if (c->_state == SMTP__CS_CLOSED)
        return (c->_out_len > c->_out_off) ? SMTP_WANT_WRITE : SMTP_CLOSED;
    if (c->_state == SMTP__CS_TURNED)
        return SMTP_TURNED;
    if (c->_out_len > c->_out_off || c->_run_len)
        return SMTP_WANT_WRITE;
    if (SMTP__HAS_STARTTLS && c->_state == SMTP__CS_TLS) { /* plaintext after the 220: never read */
        *used = len;
        return SMTP_NEED_INPUT;
    }
    /* Eva: one state per octet of a reply line up to 64 octets, so that
     * the session's fields are not widened over the lines (proof/README.md) */
    //@ loop unroll 64;
    while (i < len) {
        char o = p[i++];
        int r;
        if (c->_line_len >= sizeof c->_line) { /* longer than 512 octets */
            *used = len;
            return smtp__cclose(c, ev, SMTP_WHY_PROTOCOL);
        }
        c->_line[c->_line_len++] = o;
        if (o != '\n')
            continue;
        r = smtp__cline(c, c->_line_len);
        c->_line_len = 0;
        if (r < 0) {
            *used = i;
            return smtp__cclose(c, ev, SMTP_WHY_PROTOCOL);
        }
        if (r > 0) {
            int e = smtp__creply(c, ev);
            c->_code = 0, c->_lines = 0, c->_text_len = 0;
            c->_enh[0] = c->_enh[1] = 0, c->_detail = 0;
            if (e == SMTP_CEV_TLS) {
                *used = len; /* what followed the 220 is dropped (rule C5) */
                return e;
            }
            if (e) {
                *used = i;
                return e;
            }
            if (c->_out_len > c->_out_off) {
                *used = i;
                return SMTP_WANT_WRITE;
            }
        }
    }
    *used = i;
    return SMTP_NEED_INPUT;
}

/* The scan both body paths share (their inner loop: inlined, as out of
 * line its results would go through memory): from j, in line state *stp, the end of
 * the run that goes out as it is.  The run stops after the '.' of a line
 * that starts with one (when dots: over DATA; the next run starts at the
 * dot again, so it is sent twice: stuffed in place), before a bare CR or
 * LF (*stp SMTP__CB_BARE, *next at it), before a CR that is the last
 * octet (SMTP__CB_CR: is an LF next?), or at e.  *crp: the first CR at
 * or after the scan, kept from the last one, so that no octet is searched
 * for a CR twice and a bare-LF line costs one search. */
static SMTP__ALWAYS_INLINE const char *smtp__cscan(const char *j, const char *e, const char **crp,
                                                   const char **next, unsigned *stp, int dots)
{
    const char *cr = *crp, *lf, *stop = e;
    unsigned st = *stp;
    *next = e;
    while (j < e) {
        if (st == SMTP__CB_SOL && *j == '.' && dots) { /* RFC 5321 4.5.2 */
            stop = j + 1, *next = j, st = SMTP__CB_MID;
            break;
        }
        st = SMTP__CB_MID;
        if (!cr || cr < j) {
            cr = (const char *)memchr(j, '\r', (size_t)(e - j));
            if (!cr)
                cr = e;
        }
        /* an LF before the CR is bare; after it only one may follow */
        if ((lf = (const char *)memchr(j, '\n', (size_t)(cr - j))) == NULL) {
            if (cr + 1 < e && cr[1] == '\n') { /* CRLF: a line ends */
                j = cr + 2, st = SMTP__CB_SOL;
                continue;
            }
            if (cr + 1 >= e) { /* no line end, or the last octet is a CR */
                if (cr < e)
                    stop = cr, st = SMTP__CB_CR;
                break;
            }
            lf = cr; /* a CR and no LF after it */
        }
        stop = *next = lf, st = SMTP__CB_BARE;
        break;
    }
    *crp = cr, *stp = st;
    return stop;
}

/* Sets the next body span (_run, _run_len; 0 when none) from the octets
 * taken and not scanned, [_next, _end): a run of them as they are, up to
 * a line that starts with '.', a bare CR or LF, or the end; a CR that ends
 * them is held (SMTP__CB_CR: is an LF next?).  Over DATA smtp_client_body()
 * takes all it is given and the rest is scanned as the output drains: a
 * '.' line's run takes the dot and the next one starts at it again (the
 * dot stuffed in place); a bare octet (SMTP__CB_BARE: at _next) becomes
 * CRLF in _out before the next run or, with SMTP_COPT_BARE_REFUSE, ends
 * the body there (_next stays at it: 1, or -1 when no octet went out);
 * _cr keeps the first CR at or after _next, so that no octet is searched
 * for a CR twice and a bare-LF line costs one search.  Over BDAT one run per call, up to a bare
 * octet (its CRLF starts the next chunk). */
static int smtp__cstep(struct smtp_client *c)
{
    const char *s = c->_next, *e = c->_end, *cr = c->_cr, *stop, *next;
    unsigned st = c->_body;
    for (;;) {
        if (st == SMTP__CB_BARE && !SMTP__CBDAT(c)) { /* CRLF for it, and on after it */
            size_t o = c->_out_len;
            if (o > sizeof c->_out - 2)
                return 0; /* once _out is sent (a run of bare octets) */
            c->_out[o] = '\r', c->_out[o + 1] = '\n', c->_out_len = (uint16_t)(o + 2);
            s++, st = SMTP__CB_SOL;
        }
        stop = smtp__cscan(s, e, &cr, &next, &st, !SMTP__CBDAT(c));
        if (st == SMTP__CB_BARE && (c->cfg.options & SMTP_COPT_BARE_REFUSE)) {
            if (stop == s)
                return -1;
            st = SMTP__CB_MID; /* the run up to it, then the body ends (returns 1) */
        }
        c->_cr = cr, c->_next = next, c->_body = (uint8_t)st;
        c->_run = s, c->_run_len = (size_t)(stop - s);
        if (c->_run_len || st != SMTP__CB_BARE || SMTP__CBDAT(c))
            return st == SMTP__CB_MID && stop == next && next != e; /* refused */
        s = next;
    }
}

/* The end of the data, once every body octet before it is out.  _body:
 * SMTP__CB_BARE when a CRLF is still owed for a held CR or LF. */
static void smtp__cend_write(struct smtp_client *c)
{
    if (SMTP__CBDAT(c)) {
        size_t pl = c->_body >= SMTP__CB_CR ? 2 : 0; /* a CR or LF held */
        smtp__cput(c, "BDAT ", 5);
        smtp__cput_num(c, pl);
        smtp__cput(c, " LAST\r\n", 7);
        smtp__cput(c, "\r\n", pl);
        smtp__cpush(c, SMTP__K_END);
    } else {
        /* CRLF.CRLF whatever the body's last octets were */
        smtp__cput(c, "\r\n.\r\n", 5);
        if (c->_body == SMTP__CB_SOL)
            c->_out_len = (uint16_t)(c->_out_len - 5), smtp__cput(c, ".\r\n", 3);
        smtp__cpush(c, SMTP__K_END);
    }
}

SMTP_API const char *smtp_client_output(const struct smtp_client *c, size_t *len)
{
    if (c->_out_len > c->_out_off) {
        *len = (size_t)(c->_out_len - c->_out_off);
        return c->_out + c->_out_off;
    }
    *len = c->_run_len;
    return c->_run_len ? c->_run : 0;
}

SMTP_API void smtp_client_output_done(struct smtp_client *c, size_t n)
{
    size_t k = (size_t)(c->_out_len - c->_out_off);
#if !SMTP_SMALL
    if (c->_out_len == 0 && !(c->_flags & SMTP__CF_ENDING)) { /* only a body run */
        k = SMTP__MIN(n, c->_run_len);
        c->_run += k, c->_run_len -= k;
        if (!c->_run_len && c->_next != c->_end)
            (void)smtp__cstep(c);
        return;
    }
#endif
    if (n < k) { /* part of _out */
        c->_out_off = (uint16_t)(c->_out_off + n);
        return;
    }
    if (k) { /* all of _out */
        n -= k;
#ifndef SMTP_NO_AUTH
        if (c->_flags & SMTP__CF_SECRET) { /* the credentials are out: wipe them */
            memset(c->_out, 0, sizeof c->_out);
            if (c->_sasl_pos > smtp__sasl_total(c))
                c->_flags &= (uint16_t)~SMTP__CF_SECRET;
        }
#endif
        c->_out_off = c->_out_len = 0;
#ifndef SMTP_NO_AUTH
        if (c->_flags & SMTP__CF_SECRET)
            smtp__sasl_pump(c);
#endif
    }
    if (n && c->_out_len == 0) { /* then the body run */
        k = SMTP__MIN(n, c->_run_len);
        c->_run += k;
        c->_run_len -= k;
    }
    if (!c->_run_len && c->_out_len == 0 && c->_next != c->_end)
        (void)smtp__cstep(c); /* the next run of the body */
    if ((c->_flags & SMTP__CF_ENDING) && c->_out_len == c->_out_off && !c->_run_len) {
        c->_flags &= (uint16_t)~SMTP__CF_ENDING;
        smtp__cend_write(c);
    }
}

#if !SMTP_SMALL
/* smtp_client_output_spans() over DATA without SMTP_COPT_BARE_REFUSE,
 * nothing pending and [_next, _end) not scanned yet: the runs that
 * smtp__cstep() would give one at a time, and a CRLF in _out[0..2) for
 * each bare octet (written again in place), straight into v[k..max);
 * once v is full, smtp__cstep() sets the next run as it would have. */
static size_t smtp__cspans(struct smtp_client *c, struct smtp_span *v, size_t k, size_t max)
{
    const char *s = c->_next, *e = c->_end, *cr = c->_cr, *stop, *next;
    unsigned st = c->_body;
    while (k < max) {
        if (st == SMTP__CB_BARE) {
            c->_out[0] = '\r', c->_out[1] = '\n';
            v[k].ptr = c->_out, v[k++].len = 2;
            s++, st = SMTP__CB_SOL;
            continue;
        }
        if (s == e)
            break;
        stop = smtp__cscan(s, e, &cr, &next, &st, 1);
        if (stop != s)
            v[k].ptr = s, v[k++].len = (size_t)(stop - s);
        s = next;
    }
    c->_cr = cr, c->_next = s, c->_body = (uint8_t)st, c->_run_len = 0;
    if (s != e)
        (void)smtp__cstep(c);
    return k;
}
#endif

SMTP_API size_t smtp_client_output_spans(struct smtp_client *c, struct smtp_span *v, size_t max)
{
    size_t k = 0;
    /* In the body _out holds a BDAT header or the CRLFs of bare octets,
     * written again in place: the spans taken before stay true.  As
     * smtp_client_output_done() for all of each span, without what only
     * happens outside the body (credentials wiped, the end written). */
    while (k < max && c->_state == SMTP__CS_BODY) {
        if (c->_out_len > c->_out_off) {
            v[k].ptr = c->_out + c->_out_off, v[k].len = (size_t)(c->_out_len - c->_out_off);
            c->_out_off = c->_out_len = 0;
        } else if (c->_run_len) {
            v[k].ptr = c->_run, v[k].len = c->_run_len;
            c->_run += c->_run_len, c->_run_len = 0;
        } else {
            break;
        }
        k++;
#if !SMTP_SMALL
        if (!c->_run_len && !c->_out_len && c->_next != c->_end && !SMTP__CBDAT(c) &&
            !(c->cfg.options & SMTP_COPT_BARE_REFUSE))
            return smtp__cspans(c, v, k, max);
#endif
        if (!c->_run_len && c->_next != c->_end)
            (void)smtp__cstep(c);
    }
    return k;
}

SMTP_API int smtp_client_tls_done(struct smtp_client *c)
{
    if (!SMTP__HAS_STARTTLS || c->_state != SMTP__CS_TLS)
        return SMTP_ERR_STATE;
    c->_flags = SMTP__CF_TLS; /* RFC 3207 4.2: forget what was learnt before */
    c->caps.ext = c->caps.mechs = 0, c->caps.size = 0, c->caps.rcptmax = 0;
    c->_line_len = 0;
    smtp__chello(c, "EHLO ");
    return SMTP_OK;
}

/* Common checks of the commands outside a transaction. */
static int smtp__cidle(const struct smtp_client *c)
{
    if (c->_state != SMTP__CS_READY) /* a transaction ends by end() or rset() only */
        return SMTP__CIN(c, SMTP__CSB(CLOSED) | SMTP__CSB(QUIT) | SMTP__CSB(TLS) |
                                SMTP__CSB(TURNED) | SMTP__CSB(MAIL) | SMTP__CSB(DATA) |
                                SMTP__CSB(BODY))
                   ? SMTP_ERR_STATE
                   : SMTP_ERR_BUSY;
    return smtp__cfree(c);
}

#ifdef SMTP_NO_AUTH
SMTP_API int smtp_client_auth(struct smtp_client *c, int mech, const char *authzid,
                              const char *user, const char *secret)
{
    (void)c, (void)mech, (void)authzid, (void)user, (void)secret;
    return SMTP_ERR_EXT; /* as if no server offered AUTH (smtp.h) */
}
#else
SMTP_API int smtp_client_auth(struct smtp_client *c, int mech, const char *authzid,
                              const char *user, const char *secret)
{
    size_t lz, lu, ls, start = (smtp__croom(c, 0), c->_out_len);
#if SMTP__HAS_OAUTH
    unsigned k;
#endif
    int r = smtp__cidle(c);
    if (r != SMTP_OK)
        return r;
    if (c->_pipe_n)
        return SMTP_ERR_BUSY; /* AUTH is not pipelined */
    if (mech < SMTP_MECH_PLAIN || mech >= (int)SMTP__MECHS || !(c->caps.mechs & (1u << mech)))
        return SMTP_ERR_EXT;
    if ((c->_flags & SMTP__CF_AUTHED))
        return SMTP_ERR_STATE; /* RFC 4954 4: once per session */
    if (!(c->_flags & SMTP__CF_TLS) && !(c->cfg.options & SMTP_COPT_AUTH_PLAINTEXT))
        return SMTP_ERR_TLS;
    if (!user || !secret)
        return SMTP_ERR_SYNTAX;
    if (!authzid)
        authzid = "";
    lz = strlen(authzid), lu = strlen(user), ls = strlen(secret);
    if ((lz | lu | ls) > 0xffff)
        return SMTP_ERR_SYNTAX;
#if SMTP__HAS_OAUTH
    if (mech == SMTP_MECH_OAUTHBEARER &&
        (memchr(user, ',', lu) || memchr(user, '=', lu))) /* RFC 7628 3.1: a saslname */
        return SMTP_ERR_SYNTAX;
#endif
    /* PLAIN (RFC 4616 2): authzid NUL authcid NUL passwd; LOGIN sends parts
     * 2 and 4 one after the other (smtp__cauth_step()) */
    c->_sasl[0] = authzid, c->_sasl[1] = c->_sasl[3] = "", c->_sasl[2] = user;
    c->_sasl[4] = secret;
#if SMTP__HAS_OAUTH
    if (mech == SMTP_MECH_XOAUTH2)
        c->_sasl[0] = "user=", c->_sasl[1] = user, c->_sasl[2] = "\1auth=Bearer ";
    if (mech == SMTP_MECH_OAUTHBEARER) /* the GS2 header, then the kvpairs */
        c->_sasl[0] = "n,a=", c->_sasl[1] = user, c->_sasl[2] = ",\1auth=Bearer ";
    if (mech >= SMTP_MECH_XOAUTH2)
        c->_sasl[3] = secret, c->_sasl[4] = "\1\1";
#endif
    c->_sasl_len[0] = (uint16_t)lz, c->_sasl_len[1] = c->_sasl_len[3] = 1; /* the NULs */
    c->_sasl_len[2] = (uint16_t)lu, c->_sasl_len[4] = (uint16_t)ls;
#if SMTP__HAS_OAUTH
    for (k = 0; k < 5 && mech >= SMTP_MECH_XOAUTH2; k++)
        c->_sasl_len[k] = (uint16_t)strlen(c->_sasl[k]);
#endif
    c->_mech = (uint8_t)mech;
    c->_sasl_step = 0;
    c->_sasl_from = 0, c->_sasl_to = 5;
    smtp__cput(c, "AUTH ", 5);
    smtp__cput(c, smtp__mech_names[mech], (size_t)-1);
    /* the initial response when the line stays within 512 octets (RFC 4954 4);
     * no mechanism here has an empty one */
    if (mech != SMTP_MECH_LOGIN &&
        c->_out_len + 1 + (smtp__sasl_total(c) + 2) / 3 * 4 + 2 <= start + SMTP__REPLY_LINE) {
        smtp__cput(c, " ", 1);
        smtp__cpush(c, SMTP__K_AUTH);
        smtp__sasl_send(c, 0, 5);
    } else if ((r = smtp__cfinish(c, start, SMTP__K_AUTH)) != SMTP_OK) {
        return r;
    }
    c->_state = SMTP__CS_AUTH;
    return SMTP_OK;
}
#endif /* SMTP_NO_AUTH */

SMTP_API int smtp_client_mail(struct smtp_client *c, const char *from,
                              const struct smtp_mail_opts *opts)
{
    static const char *const body[4] = {"", " BODY=7BIT", " BODY=8BITMIME", " BODY=BINARYMIME"};
    static const struct smtp_mail_opts none = {0, 0, 0, 0, 0};
    uint32_t ext = c->caps.ext;
    size_t start = (smtp__croom(c, 0), c->_out_len);
    unsigned flags = SMTP_PATH_NULL_OK, k;
    int r = smtp__cidle(c), chunking = SMTP__HAS_CHUNKING && (ext & SMTP_EXT_CHUNKING) &&
                                       !(c->cfg.options & SMTP_COPT_NO_CHUNKING);
    if (r != SMTP_OK)
        return r;
    for (k = 0; k < c->_pipe_n; k++) { /* the last transaction's replies are counted in it */
        unsigned kind = c->_pipe[(c->_pipe_head + k) % SMTP_CLIENT_PIPE_MAX];
        if (kind >= SMTP__K_MAIL && kind <= SMTP__K_END)
            return SMTP_ERR_BUSY;
    }
    if (!opts)
        opts = &none;
    if (!from || opts->body > SMTP_BODY_BINARYMIME || opts->ret > SMTP_RET_HDRS)
        return SMTP_ERR_SYNTAX;
    if ((opts->body == SMTP_BODY_8BITMIME && !(ext & SMTP_EXT_8BITMIME)) ||
        (opts->body == SMTP_BODY_BINARYMIME && /* BODY= is 8BITMIME's (RFC 3030 3) */
         (!chunking || (ext & (SMTP_EXT_BINARYMIME | SMTP_EXT_8BITMIME)) !=
                           (SMTP_EXT_BINARYMIME | SMTP_EXT_8BITMIME))) ||
        (opts->smtputf8 && (!SMTP__HAS_UTF8 || !(ext & SMTP_EXT_SMTPUTF8))) ||
        ((opts->ret || opts->envid) && (!SMTP__HAS_DSN || !(ext & SMTP_EXT_DSN))))
        return SMTP_ERR_EXT;
    if ((ext & SMTP_EXT_SIZE) && c->caps.size && opts->size > c->caps.size)
        return SMTP_ERR_SIZE; /* RFC 1870 6.1: the server would refuse it */
    if (SMTP__HAS_UTF8 && opts->smtputf8)
        flags |= SMTP_PATH_UTF8;
    smtp__cput(c, "MAIL FROM:", 10);
    if ((r = smtp__cput_path(c, from, flags)) != SMTP_OK) {
        c->_out_len = (uint16_t)start;
        return r;
    }
    if (opts->size && (ext & SMTP_EXT_SIZE)) {
        smtp__cput(c, " SIZE=", 6);
        smtp__cput_num(c, opts->size);
    }
    /* Eva: one state per BODY= text, so that each is read with its length */
    //@ split opts->body;
    if (opts->body && (ext & SMTP_EXT_8BITMIME))
        smtp__cput(c, body[opts->body], (size_t)-1);
    if (SMTP__HAS_UTF8 && opts->smtputf8)
        smtp__cput(c, " SMTPUTF8", 9);
    if (SMTP__HAS_DSN && opts->ret)
        smtp__cput(c, opts->ret == SMTP_RET_FULL ? " RET=FULL" : " RET=HDRS", 9);
    if (SMTP__HAS_DSN && opts->envid) {
        smtp__cput(c, " ENVID=", 7);
        if (smtp__cput_xtext(c, opts->envid) != SMTP_OK || !*opts->envid) {
            c->_out_len = (uint16_t)start;
            return SMTP_ERR_SYNTAX;
        }
    }
    if ((r = smtp__cfinish(c, start, SMTP__K_MAIL)) != SMTP_OK)
        return r;
    c->_flags &= (uint16_t)~SMTP__CF_TRANSACTION;
    if (SMTP__HAS_UTF8 && opts->smtputf8)
        c->_flags |= SMTP__CF_UTF8;
    if (chunking && opts->body == SMTP_BODY_BINARYMIME)
        c->_flags |= SMTP__CF_BINARY | SMTP__CF_BDAT;
    else if (chunking)
        c->_flags |= SMTP__CF_BDAT;
    c->_rcpts = c->_rcpt_replies = c->_rcpt_ok = 0;
    c->_state = SMTP__CS_MAIL;
    return SMTP_OK;
}

SMTP_API int smtp_client_rcpt(struct smtp_client *c, const char *to, unsigned notify,
                              const char *orcpt)
{
    static const char *const words[4] = {"NEVER", "SUCCESS", "FAILURE", "DELAY"};
    size_t start = (smtp__croom(c, 0), c->_out_len);
    unsigned k, sep = '=';
    int r;
    if (c->_state != SMTP__CS_MAIL)
        return c->_state == SMTP__CS_HELLO || c->_state == SMTP__CS_GREET ? SMTP_ERR_BUSY
                                                                          : SMTP_ERR_STATE;
    if ((r = smtp__cfree(c)) != SMTP_OK)
        return r;
    if ((c->_flags & SMTP__CF_FULL) || (c->caps.rcptmax && c->_rcpts >= c->caps.rcptmax) ||
        c->_rcpts == 0xffff)
        return SMTP_ERR_LIMIT;
    if (!to || notify > 15 || ((notify & SMTP_NOTIFY_NEVER) && notify != SMTP_NOTIFY_NEVER))
        return SMTP_ERR_SYNTAX;
    if ((notify || orcpt) && (!SMTP__HAS_DSN || !(c->caps.ext & SMTP_EXT_DSN)))
        return SMTP_ERR_EXT;
    smtp__cput(c, "RCPT TO:", 8);
    r = smtp__cput_path(c, to,
                        SMTP_PATH_POSTMASTER |
                            ((c->_flags & SMTP__CF_UTF8) ? (unsigned)SMTP_PATH_UTF8 : 0u));
    if (SMTP__HAS_DSN)
        for (k = 0; r == SMTP_OK && k < 4; k++)
            if (notify & (1u << k)) {
                smtp__cput(c, sep == '=' ? " NOTIFY=" : ",", (size_t)-1);
                smtp__cput(c, words[k], (size_t)-1);
                sep = ',';
            }
    if (SMTP__HAS_DSN && r == SMTP_OK && orcpt) {
        const char *semi = (const char *)memchr(orcpt, ';', strlen(orcpt)), *t;
        for (t = orcpt; semi && t < semi; t++)
            if ((unsigned)((*t | 0x20) - 'a') > 'z' - 'a' && (unsigned)(*t - '0') > 9 &&
                *t != '-') /* (by range: the class table is the receiver's) */
                semi = 0;  /* addr-type is an atom (RFC 3461 4.2): never a CR or SP */
        if (!semi || semi == orcpt) {
            r = SMTP_ERR_SYNTAX; /* "addr-type;address" (RFC 3461 4.2) */
        } else {
            smtp__cput(c, " ORCPT=", 7);
            smtp__cput(c, orcpt, (size_t)(semi - orcpt) + 1);
            r = smtp__cput_xtext(c, semi + 1);
        }
    }
    if (r != SMTP_OK) {
        c->_out_len = (uint16_t)start;
        return r;
    }
    if ((r = smtp__cfinish(c, start, SMTP__K_RCPT)) != SMTP_OK)
        return r;
    c->_rcpts++;
    return SMTP_OK;
}

SMTP_API int smtp_client_data(struct smtp_client *c)
{
    int r;
    if (c->_state != SMTP__CS_MAIL)
        return SMTP_ERR_STATE;
    if ((r = smtp__cfree(c)) != SMTP_OK)
        return r;
    if (c->_rcpts == 0)
        return SMTP_ERR_STATE;
    if (c->_pipe_n == 0 && c->_rcpt_ok == 0) { /* every reply is in: nobody took it */
        (void)smtp__csimple(c, "RSET", SMTP__K_RSET);
        c->_flags &= (uint16_t) ~(SMTP__CF_TRANSACTION);
        c->_state = SMTP__CS_READY;
        return SMTP_ERR_NORCPT;
    }
    if (SMTP__CBDAT(c)) {
        if (c->_pipe_n) /* BDAT waits for the envelope's replies */
            return SMTP_ERR_BUSY;
        c->_state = SMTP__CS_BODY;
        c->_body = SMTP__CB_SOL;
        return SMTP_OK;
    }
    (void)smtp__csimple(c, "DATA", SMTP__K_DATA);
    c->_state = SMTP__CS_DATA;
    return SMTP_OK;
}

/* What a CR or LF held from the last call becomes (2 octets of CRLF, or 0),
 * with the next octet p[0..n) in view; *skip: the octets of p it took. */
static int smtp__cheld(struct smtp_client *c, const char *p, size_t n, size_t *skip)
{
    *skip = 0;
    if (c->_body == SMTP__CB_CR && n && p[0] == '\n')
        *skip = 1; /* a CRLF split between calls */
    else if (c->_body == SMTP__CB_CR && (c->cfg.options & SMTP_COPT_BARE_REFUSE))
        return -1;
    else if (c->_body != SMTP__CB_CR && c->_body != SMTP__CB_BARE)
        return c->_next != c->_end ? -1 : 0; /* SMTP_COPT_BARE_REFUSE stopped the body */
    c->_body = SMTP__CB_SOL;
    return 2;
}

/* May body octets or the end go out now? */
static int smtp__cbody_ok(const struct smtp_client *c)
{
    if (c->_state != SMTP__CS_BODY)
        return c->_state == SMTP__CS_DATA ? SMTP_ERR_BUSY : SMTP_ERR_STATE;
    if (c->_out_len > c->_out_off || c->_run_len)
        return SMTP_ERR_BUSY;
    return SMTP__CBDAT(c) ? smtp__cfree(c) : SMTP_OK;
}

SMTP_API int smtp_client_body(struct smtp_client *c, const void *buf, size_t len, size_t *used)
{
    const char *p = (const char *)buf;
    size_t i = 0;
    int r = smtp__cbody_ok(c), held = 0; /* held: the CRLF octets (0, 2) */
    *used = 0;
    if (r != SMTP_OK || len == 0)
        return r;
    c->_out_off = c->_out_len = 0; /* nothing is pending (smtp__cbody_ok) */
    if (SMTP__HAS_CHUNKING && (c->_flags & SMTP__CF_BINARY)) {
        c->_run = p, c->_run_len = len;
    } else {
        if ((held = smtp__cheld(c, p, len, &i)) < 0)
            return SMTP_ERR_BARE;
        c->_next = p + i, c->_end = p + len, c->_cr = 0;
        if (!SMTP__CBDAT(c)) { /* all of it, scanned as it goes out (smtp__cstep()) */
            smtp__cput(c, "\r\n", (size_t)held);
            if ((r = smtp__cstep(c)) < 0) {
                c->_out_len = 0;
                return SMTP_ERR_BARE;
            }
            *used = r ? (size_t)(c->_next - p) : len;
            return SMTP_OK;
        }
        if (smtp__cstep(c) < 0)
            return SMTP_ERR_BARE;
        len = (size_t)(c->_next - p) + (c->_body == SMTP__CB_BARE); /* a bare octet: taken */
    }
    if (SMTP__CBDAT(c)) {
        smtp__cput(c, "BDAT ", 5);
        smtp__cput_num(c, (uint64_t)held + c->_run_len);
        smtp__cput(c, "\r\n", 2);
        smtp__cput(c, "\r\n", (size_t)held);
        smtp__cpush(c, SMTP__K_BDAT);
    }
    c->_next = c->_end = p + len; /* nothing more to scan */
    *used = len;
    return SMTP_OK;
}

SMTP_API int smtp_client_end(struct smtp_client *c)
{
    size_t skip;
    int h, pending = c->_out_len > c->_out_off || c->_run_len,
           r = c->_state != SMTP__CS_BODY ? smtp__cbody_ok(c)
               : SMTP__CBDAT(c)           ? smtp__cfree(c)
               : pending && (c->cfg.options & SMTP_COPT_BARE_REFUSE)
                   ? SMTP_ERR_BUSY /* the octets still to go may hold a bare one */
                   : SMTP_OK;
    if (r != SMTP_OK)
        return r;
    h = (pending || (SMTP__HAS_CHUNKING && (c->_flags & SMTP__CF_BINARY)))
            ? 0
            : smtp__cheld(c, "", 0, &skip);
    if (h < 0)
        return SMTP_ERR_BARE;
    if (h)
        c->_body = SMTP__CB_BARE;
    c->_state = SMTP__CS_END;
    if (pending)
        c->_flags |= SMTP__CF_ENDING; /* after the body octets still queued */
    else
        smtp__cend_write(c);
    return SMTP_OK;
}

SMTP_API int smtp_client_rset(struct smtp_client *c)
{
    int r;
    if (c->_state != SMTP__CS_READY && c->_state != SMTP__CS_MAIL)
        return SMTP__CIN(c, SMTP__CSB(CLOSED) | SMTP__CSB(QUIT) | SMTP__CSB(TURNED) |
                                SMTP__CSB(TLS) | SMTP__CSB(BODY))
                   ? SMTP_ERR_STATE /* as QUIT: in the body it would be data */
                   : SMTP_ERR_BUSY;
    if ((r = smtp__cfree(c)) != SMTP_OK || (r = smtp__csimple(c, "RSET", SMTP__K_RSET)) != SMTP_OK)
        return r;
    c->_flags &= (uint16_t) ~(SMTP__CF_TRANSACTION);
    c->_state = SMTP__CS_READY;
    return SMTP_OK;
}

SMTP_API int smtp_client_noop(struct smtp_client *c)
{
    int r = smtp__cidle(c);
    return r != SMTP_OK ? r : smtp__csimple(c, "NOOP", SMTP__K_NOOP);
}

static int smtp__cturn(struct smtp_client *c, const char *cmd, const char *domains)
{
    size_t start = (smtp__croom(c, 0), c->_out_len);
    int r = smtp__cidle(c);
    if (r != SMTP_OK)
        return r;
    if (c->_pipe_n)
        return SMTP_ERR_BUSY; /* TURN and ATRN end a group: nothing may precede */
    smtp__cput(c, cmd, (size_t)-1);
    if (domains && *domains) {
        if (!smtp__domains_ok(domains, strlen(domains))) {
            c->_out_len = (uint16_t)start;
            return SMTP_ERR_SYNTAX;
        }
        smtp__cput(c, " ", 1);
        smtp__cput(c, domains, (size_t)-1);
    }
    if ((r = smtp__cfinish(c, start, SMTP__K_TURN)) == SMTP_OK)
        c->_state = SMTP__CS_AUTH; /* nothing else until the reply */
    return r;
}

SMTP_API int smtp_client_turn(struct smtp_client *c)
{
    return smtp__cturn(c, "TURN", 0);
}

SMTP_API int smtp_client_atrn(struct smtp_client *c, const char *domains)
{
    if (!(c->caps.ext & SMTP_EXT_ATRN))
        return SMTP_ERR_EXT;
    if (!(c->_flags & SMTP__CF_AUTHED))
        return SMTP_ERR_STATE; /* RFC 2645 4: after AUTH */
    return smtp__cturn(c, "ATRN", domains);
}

SMTP_API int smtp_client_quit(struct smtp_client *c)
{
    int r;
    /* mid-body QUIT would be data: smtp_client_abort() */
    if (SMTP__CIN(c, SMTP__CSB(CLOSED) | SMTP__CSB(QUIT) | SMTP__CSB(TLS) | SMTP__CSB(TURNED) |
                         SMTP__CSB(BODY) | SMTP__CSB(GREET)))
        return SMTP_ERR_STATE;
    if ((r = smtp__cfree(c)) != SMTP_OK || (r = smtp__csimple(c, "QUIT", SMTP__K_QUIT)) != SMTP_OK)
        return r;
    c->_state = SMTP__CS_QUIT;
    return SMTP_OK;
}

SMTP_API void smtp_client_abort(struct smtp_client *c)
{
    memset(c->_out, 0, sizeof c->_out);
    c->_out_len = c->_out_off = 0;
    c->_run = 0, c->_run_len = 0;
    c->_pipe_n = 0;
    smtp__sasl_forget(c);
    c->_state = SMTP__CS_CLOSED;
    c->_why = SMTP_WHY_ABORT;
}

SMTP_API int smtp_client_closed(const struct smtp_client *c)
{
    return c->_state == SMTP__CS_CLOSED;
}

static const signed char smtp__cev_nums[] = {
#define SMTP__X(name, num, desc) num,
    SMTP_CLIENT_EVENT_MAP(SMTP__X)
#undef SMTP__X
};
static const char smtp__cev_text[] =
#define SMTP__X(name, num, desc) #name "\0" SMTP__T(desc) "\0"
    SMTP_CLIENT_EVENT_MAP(SMTP__X)
#undef SMTP__X
    ;

SMTP_API const char *smtp_client_event_name(int ev)
{
    if (ev <= 0)
        return smtp_event_name(ev);
    return SMTP__LOOKUP(smtp__cev, ev, 0);
}

SMTP_API const char *smtp_client_event_desc(int ev)
{
    if (ev <= 0)
        return smtp_event_desc(ev);
    return SMTP__LOOKUP(smtp__cev, ev, 1);
}
#endif /* SMTP_NO_CLIENT */

/* File-local macros end here, so that this file can be #included. */
#undef SMTP__MIN
#undef SMTP__T
#undef SMTP__REPLY_LINE
#undef SMTP__HAS_CHUNKING
#undef SMTP__HAS_STARTTLS
#undef SMTP__HAS_AUTH
#undef SMTP__HAS_DSN
#undef SMTP__HAS_UTF8
#undef SMTP__HAS_OAUTH
#undef SMTP__CBDAT
#undef SMTP__B
#undef SMTP__IN_SESSION
#undef SMTP__F_TRANSACTION
#undef SMTP__REPLY_MAP
#undef SMTP__REPLY_MAP_SMTPUTF8
#undef SMTP__REPLY_ALL
#undef SMTP__REPLY_MAP_STARTTLS
#undef SMTP__GROUPS
#undef SMTP__REPLY_MAP_CHUNKING
#undef SMTP__REPLY_MAP_AUTH
#undef SMTP__DEFAULT_MAP
#undef SMTP__DEFAULT_MAP_AUTH
#undef SMTP__EV_0
#undef SMTP__EV_MAIL
#undef SMTP__EV_RCPT
#undef SMTP__VERB_MAP
#undef SMTP__KW_UTF8
#undef SMTP__KW_CHUNKING
#undef SMTP__KW_DSN
#undef SMTP__KW_LAST
#undef SMTP__KW_ROOM
#undef SMTP__EXT_SHIFT
#undef SMTP__ARG_OF
#undef SMTP__NEED_OF
#undef SMTP__IS
#undef SMTP__NO
#undef smtp__put
#undef SMTP__E
#undef SMTP__E8
#undef SMTP__C8
#undef SMTP__C16
#undef SMTP__CODES
#undef SMTP__CODES_STARTTLS
#undef SMTP__CODES_ATRN
#undef SMTP__CODES_AUTH
#undef SMTP__TEXT
#undef SMTP__TEXT_OF
#undef SMTP__CF_TRANSACTION
#undef SMTP__MECHS
#undef SMTP__LOOKUP
#undef SMTP__CODES_MAIL
#undef SMTP__CODES_RCPT
#undef SMTP__CODES_DATA_END
#undef SMTP__CCODES
#undef SMTP__M
#undef SMTP__MBIT
#undef SMTP__M_ANY
#undef SMTP__M_EXTRA
#undef SMTP__M_EHLO
#undef SMTP__M_BDAT
#undef SMTP__M_SIMPLE
#undef SMTP__K_LAST
#undef SMTP__CEXTS
#undef SMTP__CSB
#undef SMTP__CIN
#undef SMTP__ALWAYS_INLINE
#undef SMTP__NOINLINE
