/* listing_7_16.c - hashing passwords with scrypt in one thread (listing 7.16).
 *
 * CPU-bound work: scrypt (N=2048, r=8, p=1, 16-byte random salt, 64-byte key,
 * OpenSSL's EVP_PBE_scrypt) of random 10-letter passwords, one after another
 * on the main thread. This is the baseline for listing 7.17's thread pool. */
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>

#include "demo.h"

static const char usage[] =
    "usage: listing_7_16 [--count N]\n"
    "Hashes N (default 10000) random 10-letter passwords with scrypt (N=2048, r=8, p=1) in one\n"
    "thread and prints the time taken.\n";

static void random_password(char *out, int length)
{
    unsigned char r[32];
    RAND_bytes(r, length);
    for (int i = 0; i < length; i++)
        out[i] = (char)('a' + r[i] % 26);
    out[length] = '\0';
}

static int hash(const char *password, unsigned char key[64])
{
    unsigned char salt[16];
    if (RAND_bytes(salt, sizeof salt) != 1)
        return -EIO;
    return EVP_PBE_scrypt(password, 10, salt, sizeof salt, 2048, 8, 1, 0, key, 64) == 1 ? 0 : -EIO;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    long count = demo_arg_long("--count", 10000);
    char(*passwords)[11] = malloc((size_t)count * sizeof(*passwords));
    if (!passwords)
        return 1;
    for (long i = 0; i < count; i++)
        random_password(passwords[i], 10);
    double t0 = demo_now();
    unsigned char key[64];
    for (long i = 0; i < count; i++)
        DEMO_CHECK(hash(passwords[i], key));
    printf("Hashed %ld passwords in one thread in %.4f s\n", count, demo_now() - t0);
    free(passwords);
    return 0;
}
