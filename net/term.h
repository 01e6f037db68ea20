/* term.h - terminal helpers for the chapter 8 TUIs: raw (cbreak) mode for
 * reading one key at a time, and the ANSI escape sequences of listing 8.7.
 *
 * loom_term_raw() saves the terminal state and restores it at exit (atexit)
 * and on SIGHUP/SIGINT/SIGQUIT/SIGTERM (a handler restores the terminal and
 * re-raises the signal; signals a loop watches are delivered to the loop
 * instead, and the program restores at exit or with loom_term_restore()). */
#ifndef LOOM_NET_TERM_H
#define LOOM_NET_TERM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "loom/net/stream.h"

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

/* Keys returned by loom_term_read_key() besides plain bytes. */
enum { LOOM_KEY_BACKSPACE = 0x7f, LOOM_KEY_ENTER = '\n', LOOM_KEY_CTRL_D = 0x04 };

/* --- modes --- */

/* Put the terminal on fd into cbreak mode: no line buffering, no echo, signals
 * (Ctrl-C) still work. Returns 0, or -ENOTTY when fd is not a terminal (a pipe:
 * nothing changes, which callers may ignore). */
int loom_term_raw(int fd);
/* Put back the state saved by loom_term_raw(); safe to call more than once. */
void loom_term_restore(void);
/* Whether fd is a terminal. */
bool loom_term_isatty(int fd);
/* The terminal's size; on a non-terminal 24 x 80 and -ENOTTY. */
int loom_term_size(int fd, int *rows, int *cols);

/* --- reading --- */

/* Read one key (byte) from stream in: 0..255, with "\r" reported as "\n" and
 * 0x08 as LOOM_KEY_BACKSPACE; LOOM_EOF, -ETIMEDOUT, -ECANCELED. Suspends. */
int loom_term_read_key(struct loom_stream *in, int64_t timeout_ns);

/* --- ANSI output (to f; the caller flushes) --- */

void loom_term_save_cursor(FILE *f);               /* ESC 7 */
void loom_term_restore_cursor(FILE *f);            /* ESC 8 */
void loom_term_home(FILE *f);                      /* ESC [H: top-left */
void loom_term_erase_line(FILE *f);                /* ESC [2K */
void loom_term_column0(FILE *f);                   /* ESC [0G: to column 0 of this line */
void loom_term_back_one(FILE *f);                  /* ESC [1D: one character left */
void loom_term_clear(FILE *f);                     /* ESC [2J */
void loom_term_move_to(FILE *f, int row, int col); /* ESC [row;colH, 1-based */
/* Move to the bottom row (rows from loom_term_size). */
void loom_term_move_to_bottom(FILE *f, int rows);
/* Set the scrolling region to rows top..bottom (ESC [t;br); 0,0 resets it. */
void loom_term_scroll_region(FILE *f, int top, int bottom);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif
