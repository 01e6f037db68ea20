/* listing_5_2.c - the product schema as data (listing 5.2).
 *
 * The statements live in ch05.h (ch05_schema) so that listing 5.3 can run
 * them; this program only prints them, one per line, ending with ';'. */
#include <stdio.h>

#include "ch05.h"

static const char usage[] =
    "usage: listing_5_2\n"
    "Prints the SQL of the product schema (brand, product, product_color,\n"
    "product_size, sku) and its seed rows: colors Blue(1), Black(2); sizes\n"
    "Small(1), Medium(2), Large(3). Listing 5.3 runs these statements.\n";

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    for (size_t i = 0; i < CH05_SCHEMA_N; i++)
        printf("%s;\n", ch05_schema[i]);
    return 0;
}
