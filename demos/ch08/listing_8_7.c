/* listing_8_7.c - ANSI escape helpers (listing 8.7).
 *
 * The TUIs of chapter 8 draw with a handful of escape sequences: save and
 * restore the cursor (ESC 7 / ESC 8), go to the top-left (ESC[H), erase the
 * line (ESC[2K), go to column 0 (ESC[0G), step back one character (ESC[1D) and
 * move to the bottom row. net/term.h provides them. This demo lists each one
 * in visible form, then uses them for real: it writes at the top of the screen
 * and at the bottom, and edits a line in place. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "demo.h"
#include "net/term.h"

static const char usage[] =
    "usage: listing_8_7\n"
    "Prints each ANSI helper's escape sequence in visible form (ESC as \\033), then\n"
    "uses them: a status line drawn at the top with the cursor saved and restored, a\n"
    "word typed and erased with back-one-char, a line cleared, and the bottom row.\n";

/* Print a helper's name and the bytes it writes, made visible. */
static void show(const char *name, void (*helper)(FILE *))
{
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    if (!mem)
        return;
    helper(mem);
    fclose(mem);
    printf("%-24s ", name);
    for (size_t i = 0; i < len; i++)
        printf(buf[i] == '\033' ? "\\033" : "%c", buf[i]);
    printf("\n");
    free(buf);
}

static void bottom(FILE *f)
{
    int rows, cols;
    loom_term_size(STDOUT_FILENO, &rows, &cols);
    loom_term_move_to_bottom(f, rows);
}

static void clear_line(FILE *f) /* the book's clear_line(): erase, then column 0 */
{
    loom_term_erase_line(f);
    loom_term_column0(f);
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    show("save_cursor_position", loom_term_save_cursor);
    show("restore_cursor_position", loom_term_restore_cursor);
    show("move_to_top_of_screen", loom_term_home);
    show("delete_line", loom_term_erase_line);
    show("clear_line", clear_line);
    show("move_back_one_char", loom_term_back_one);
    show("move_to_bottom_of_screen", bottom);

    /* Now for real: a status line at the top, without losing our place. */
    loom_term_save_cursor(stdout);
    loom_term_home(stdout);
    loom_term_erase_line(stdout);
    printf("[status line drawn at the top]");
    loom_term_restore_cursor(stdout);
    /* Type a word, then rub it out one character at a time. */
    printf("typing: oops");
    for (int i = 0; i < 4; i++) {
        loom_term_back_one(stdout);
        printf(" ");
        loom_term_back_one(stdout);
    }
    printf("done\n");
    printf("this line is about to vanish");
    clear_line(stdout);
    printf("line cleared and rewritten from column 0\n");
    bottom(stdout);
    printf("now on the bottom row\n");
    return 0;
}
