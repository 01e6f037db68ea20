/* listing_13_13.c - a slow, chatty echo child (listing 13.13).
 *
 * Like 13.11, but echoes each input a random 0-9 times, 0.5 s apart, before
 * prompting again: the parent cannot know how much output comes before the
 * next prompt. Listing 13.14 handles that with an event. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "demo.h"

static const char usage[] =
    "usage: listing_13_13 [--seed N]\n"
    "Echoes each stdin line 0-9 times (0.5 s apart, scaled) until 'quit'.\n";

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    srand((unsigned)demo_arg_long("--seed", 13));
    int64_t pause_ns = demo_sec(0.5);
    struct timespec pause = {pause_ns / 1000000000, pause_ns % 1000000000};
    char line[1024];
    for (;;) {
        printf("Enter text ('quit' to exit): ");
        fflush(stdout);
        if (!fgets(line, sizeof(line), stdin))
            break;
        line[strcspn(line, "\n")] = '\0';
        if (strcmp(line, "quit") == 0)
            break;
        int times = rand() % 10;
        for (int i = 0; i < times; i++) {
            nanosleep(&pause, NULL);
            printf("%s\n", line);
            fflush(stdout);
        }
    }
    return 0;
}
