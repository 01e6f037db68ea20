/* listing_13_11.c - an interactive echo child (listing 13.11).
 *
 * Prompts "Enter text ('quit' to exit): " and echoes each line until "quit".
 * The prompt has no newline, so it is flushed explicitly: a child writing to a
 * pipe is fully buffered, and an unflushed prompt would never reach the parent
 * (listing 13.12 waits for it). */
#include <stdio.h>
#include <string.h>

#include "demo.h"

static const char usage[] = "usage: listing_13_11\n"
                            "Echoes lines from stdin until 'quit', prompting before each.\n";

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    char line[1024];
    for (;;) {
        printf("Enter text ('quit' to exit): ");
        fflush(stdout);
        if (!fgets(line, sizeof(line), stdin))
            break;
        line[strcspn(line, "\n")] = '\0';
        if (strcmp(line, "quit") == 0)
            break;
        printf("%s\n", line);
    }
    return 0;
}
