/* listing_13_4.c - a child that writes a lot (listing 13.4).
 *
 * Writes "Hello!!!\n" a million times (9,000,000 bytes) to stdout. Used by
 * listings 13.5 and 13.6 as the child program. */
#include <stdio.h>

#include "demo.h"

static const char usage[] = "usage: listing_13_4 [--count N]\n"
                            "Writes \"Hello!!!\\n\" N times (default 1000000) to stdout.\n";

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    long count = demo_arg_long("--count", 1000000);
    setvbuf(stdout, NULL, _IOFBF, 1 << 16);
    for (long i = 0; i < count; i++)
        fputs("Hello!!!\n", stdout);
    return fflush(stdout) == 0 ? 0 : 1;
}
