/* listing_13_9.c - a child that asks for input (listing 13.9).
 *
 * Prompts "Enter username: ", reads a line from stdin and prints "You entered
 * X". Used by listing 13.10 as the child program. */
#include <stdio.h>
#include <string.h>

#include "demo.h"

static const char usage[] = "usage: listing_13_9\n"
                            "Prompts for a username on stdin and echoes it back.\n";

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    char name[256] = "";
    printf("Enter username: ");
    fflush(stdout);
    if (!fgets(name, sizeof(name), stdin))
        name[0] = '\0';
    name[strcspn(name, "\n")] = '\0';
    printf("You entered %s\n", name);
    return 0;
}
