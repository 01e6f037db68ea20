/* ngram.c - the ngram input file for the chapter 6 MapReduce demos (see freq.h). */
#include "../freq.h"
#include "../demo.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proc/proc.h"

/* Run ngram_gen (next to this program) to write path; waits for it. */
static int generate(const char *path, long mb)
{
    char self[1024], gen[1100], size[32];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    self[n > 0 ? n : 0] = '\0';
    snprintf(gen, sizeof(gen), "%s/ngram_gen", n > 0 ? dirname(self) : ".");
    snprintf(size, sizeof(size), "%ld", mb);
    const char *argv[] = {gen, "--out", path, "--mb", size, NULL};
    struct loom_proc_options opt = {.argv = argv};
    struct loom_proc p;
    printf("Generating %s (%ld MB) with ngram_gen...\n", path, mb);
    int rc = loom_proc_spawn(NULL, &p, &opt), status = -1;
    if (rc == 0)
        rc = loom_proc_wait(&p, -1, &status);
    loom_proc_close(&p);
    if (rc == 0 && status != 0)
        rc = -EIO;
    if (rc < 0)
        unlink(path);
    return rc;
}

int ngram_open(struct ngram_file *f)
{
    memset(f, 0, sizeof(*f));
    const char *file = demo_arg_str("--file", NULL);
    long mb = demo_arg_long("--mb", 100);
    const char *tmp = getenv("TMPDIR");
    if (file)
        snprintf(f->path, sizeof(f->path), "%s", file);
    else
        snprintf(f->path, sizeof(f->path), "%s/loom-ngram-%ldmb.tsv", tmp ? tmp : "/tmp", mb);
    int rc;
    if (!file && access(f->path, R_OK) != 0 && (rc = generate(f->path, mb)) < 0)
        return rc;
    int fd = open(f->path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        rc = -errno;
        if (fd >= 0)
            close(fd);
        return rc;
    }
    f->len = (size_t)st.st_size;
    void *m = f->len ? mmap(NULL, f->len, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
    rc = -errno;
    close(fd);
    if (m == MAP_FAILED)
        return rc;
    f->data = m;
    return 0;
}

void ngram_close(struct ngram_file *f)
{
    if (f->data)
        munmap((void *)f->data, f->len);
    f->data = NULL;
}

size_t ngram_chunks(const char *data, size_t len, size_t lines_per_chunk, const char **start,
                    size_t *length, size_t max)
{
    size_t n = 0, off = 0;
    while (off < len) {
        size_t end = off, lines = 0;
        while (end < len && lines < lines_per_chunk) {
            const char *nl = memchr(data + end, '\n', len - end);
            end = nl ? (size_t)(nl - data) + 1 : len;
            lines++;
        }
        if (n < max) {
            start[n] = data + off;
            length[n] = end - off;
        }
        n++;
        off = end;
    }
    return n;
}
