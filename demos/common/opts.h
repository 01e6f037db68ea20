/* opts.h - strict command-line options for loom's programs (demos/apps).
 *
 * opts_init() reads the program's usage text to learn its options: every
 * "--name" the text mentions is accepted, and one followed by a space and an
 * upper-case placeholder ("--port N", "--host ADDR", "--grace SEC") takes a
 * value; the others are flags. "--name=value" works too. A short option is
 * accepted where the text says "-p, --port N" ("-p 80", "-p80"); it counts as
 * its long name. "--" ends the options. --help / -h prints the usage and exits 0.
 *
 * Every problem exits with status 2 and two lines on stderr: what was wrong,
 * naming the argument, and where to look:
 *
 *     loom-chat: --port: '99999' is out of range (0..65535)
 *     Try 'loom-chat --help'.
 *
 * The typed getters check what they read the same way (a number, its range, a
 * port, a duration, a host name), so a program never runs with a value it did
 * not mean to accept. Nothing here allocates. */
#ifndef LOOM_DEMOS_OPTS_H
#define LOOM_DEMOS_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Parse argv against usage (see above): exits 0 after --help, 2 on an unknown
 * option, a missing value, a stray argument or an option given twice. Makes
 * stdout line-buffered (so output keeps its order with stderr and children). */
void opts_init(int argc, char **argv, const char *usage);
/* The same for a program that takes operands (arguments that are not options,
 * such as loom-load's HOST:PORT): between min_args and max_args (<= 16) of them,
 * else exit 2. */
void opts_init_args(int argc, char **argv, const char *usage, int min_args, int max_args);
/* How many operands were given, and the i-th (NULL past the end). */
int opts_nargs(void);
const char *opts_arg(int i);

/* The program's name (argv[0] without its directory). */
const char *opts_prog(void);

/* Exit 2 with "<prog>: <message>" and the --help hint. */
void opts_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* The value given to --name, or def when absent. */
const char *opts_str(const char *name, const char *def);
/* Whether the flag --name was given. */
bool opts_flag(const char *name);

/* A decimal integer in [min, max] ("-5" is a number; "5x", "", "0x10" are not). */
long opts_long(const char *name, long def, long min, long max);
/* A TCP port: 1..65535, or 0 when allow_zero ("pick a free one"). */
int opts_port(const char *name, int def, bool allow_zero);
/* A duration in seconds, decimals allowed ("2", "0.5", ".25"; no sign, no
 * exponent, no "inf"), in [min_s, max_s]; returned in nanoseconds. */
int64_t opts_seconds(const char *name, double def_s, double min_s, double max_s);
/* A host name or numeric address: 1..253 characters of letters, digits and
 * ".-_:" (IPv6 without brackets). Not resolved here. */
const char *opts_host(const char *name, const char *def);
/* Text of 1..max_len bytes with no control characters (a user name, a path). */
const char *opts_text(const char *name, const char *def, size_t max_len);

#endif
