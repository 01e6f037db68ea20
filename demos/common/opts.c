/* opts.c - see opts.h. */
#include "opts.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_GIVEN = 64, MAX_ARGS = 16 };

static struct {
    const char *prog;
    const char *usage;
    int nargs;
    const char *args[MAX_ARGS]; /* the operands (arguments that are not options) */
    int n;
    struct {
        const char *name; /* "--port" (points into argv, or into usage for "-p") */
        size_t name_len;
        const char *value; /* NULL for a flag */
    } given[MAX_GIVEN];
} o = {.prog = "program"};

const char *opts_prog(void) { return o.prog; }

void opts_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", o.prog);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry '%s --help'.\n", o.prog);
    exit(2);
}

/* Where usage mentions the option name[0..len) as a whole word: 0 if it does
 * not, 1 for a flag, 2 if a value placeholder follows ("--port N"). */
static int lookup(const char *arg, size_t len)
{
    char name[64];
    if (len >= sizeof name)
        return 0;
    memcpy(name, arg, len);
    name[len] = '\0';
    int kind = 0;
    for (const char *p = strstr(o.usage, name); p; p = strstr(p + 1, name)) {
        char before = p == o.usage ? ' ' : p[-1];
        char after = p[len];
        if (before == '-' || isalnum((unsigned char)before) || after == '-' || after == '_' ||
            isalnum((unsigned char)after))
            continue;
        if (after == ' ' && isupper((unsigned char)p[len + 1]))
            return 2;
        if (after == '=' && isupper((unsigned char)p[len + 1]))
            return 2;
        kind = 1;
    }
    return kind;
}

static bool is_help(const char *a) { return !strcmp(a, "--help") || !strcmp(a, "-h"); }

static void add(const char *arg, size_t len, const char *value)
{
    for (int i = 0; i < o.n; i++)
        if (o.given[i].name_len == len && !strncmp(o.given[i].name, arg, len))
            opts_fail("%.*s is given twice", (int)len, arg);
    if (o.n == MAX_GIVEN)
        opts_fail("too many options");
    o.given[o.n].name = arg;
    o.given[o.n].name_len = len;
    o.given[o.n].value = value;
    o.n++;
}

/* The long option a short one stands for: usage says "-p, --port ...". Returns
 * a pointer into usage at "--port" (its length in *len), or NULL. */
static const char *short_to_long(char c, size_t *len)
{
    char pat[7] = {'-', c, ',', ' ', '-', '-', '\0'};
    for (const char *p = o.usage; (p = strstr(p, pat)); p++) {
        char before = p == o.usage ? ' ' : p[-1];
        if (before != ' ' && before != '[' && before != '\n')
            continue;
        const char *name = p + 4;
        *len = 2 + strspn(name + 2, "abcdefghijklmnopqrstuvwxyz0123456789-");
        return *len > 2 ? name : NULL;
    }
    return NULL;
}

/* Argument argv[*i], an option: record it (and its value). */
static void take_option(int argc, char **argv, int *i)
{
    const char *a = argv[*i], *name = a, *value = NULL;
    size_t len;
    bool inline_value = false;
    if (a[1] != '-') { /* "-p 80" or "-p80" */
        name = short_to_long(a[1], &len);
        if (!name)
            opts_fail("unknown option '-%c'", a[1]);
        inline_value = a[2] != '\0';
        value = inline_value ? a + 2 : NULL;
    } else {
        const char *eq = strchr(a, '=');
        len = eq ? (size_t)(eq - a) : strlen(a);
        inline_value = eq != NULL;
        value = eq ? eq + 1 : NULL;
    }
    int kind = lookup(name, len);
    if (!kind)
        opts_fail("unknown option '%.*s'", (int)len, name);
    if (kind == 1 && inline_value)
        opts_fail("%.*s takes no value", (int)len, name);
    if (kind == 2 && !inline_value) {
        if (*i + 1 >= argc)
            opts_fail("%.*s needs a value", (int)len, name);
        value = argv[++*i];
    }
    add(name, len, kind == 2 ? value : NULL);
}

void opts_init(int argc, char **argv, const char *usage)
{
    opts_init_args(argc, argv, usage, 0, 0);
}

void opts_init_args(int argc, char **argv, const char *usage, int min_args, int max_args)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *slash = argc > 0 ? strrchr(argv[0], '/') : NULL;
    o.prog = argc > 0 ? (slash ? slash + 1 : argv[0]) : "program";
    o.usage = usage;
    for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
        if (is_help(argv[i])) {
            printf("%s\n", usage);
            exit(0);
        }
    bool operands_only = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!operands_only && !strcmp(a, "--")) {
            operands_only = true;
        } else if (!operands_only && a[0] == '-' && a[1]) {
            take_option(argc, argv, &i);
        } else {
            if (o.nargs >= max_args || o.nargs == MAX_ARGS)
                opts_fail("unexpected argument '%s'", a);
            o.args[o.nargs++] = a;
        }
    }
    if (o.nargs < min_args)
        opts_fail("missing argument%s", min_args - o.nargs > 1 ? "s" : "");
}

int opts_nargs(void) { return o.nargs; }

const char *opts_arg(int i) { return i >= 0 && i < o.nargs ? o.args[i] : NULL; }

static const char *find(const char *name, bool *found)
{
    size_t len = strlen(name);
    for (int i = 0; i < o.n; i++)
        if (o.given[i].name_len == len && !strncmp(o.given[i].name, name, len)) {
            *found = true;
            return o.given[i].value;
        }
    *found = false;
    return NULL;
}

const char *opts_str(const char *name, const char *def)
{
    bool found;
    const char *v = find(name, &found);
    return found && v ? v : def;
}

bool opts_flag(const char *name)
{
    bool found;
    find(name, &found);
    return found;
}

long opts_long(const char *name, long def, long min, long max)
{
    const char *v = opts_str(name, NULL);
    if (!v)
        return def;
    const char *p = v + (*v == '-');
    bool digits = *p != '\0';
    for (; *p; p++)
        digits = digits && isdigit((unsigned char)*p);
    if (!digits)
        opts_fail("%s: '%s' is not a whole number", name, v);
    errno = 0;
    long n = strtol(v, NULL, 10);
    if (errno == ERANGE || n < min || n > max)
        opts_fail("%s: '%s' is out of range (%ld..%ld)", name, v, min, max);
    return n;
}

int opts_port(const char *name, int def, bool allow_zero)
{
    return (int)opts_long(name, def, allow_zero ? 0 : 1, 65535);
}

int64_t opts_seconds(const char *name, double def_s, double min_s, double max_s)
{
    const char *v = opts_str(name, NULL);
    double s = def_s;
    if (v) {
        size_t digits = strspn(v, "0123456789");
        size_t frac = v[digits] == '.' ? strspn(v + digits + 1, "0123456789") : 0;
        size_t end = digits + (v[digits] == '.' ? 1 + frac : 0);
        if (v[end] || digits + frac == 0)
            opts_fail("%s: '%s' is not a number of seconds", name, v);
        s = strtod(v, NULL);
        if (s < min_s || s > max_s)
            opts_fail("%s: '%s' is out of range (%g..%g seconds)", name, v, min_s, max_s);
    }
    return (int64_t)(s * 1e9);
}

const char *opts_host(const char *name, const char *def)
{
    const char *v = opts_str(name, NULL);
    if (!v)
        return def;
    size_t len = strlen(v);
    bool ok = len >= 1 && len <= 253;
    for (const char *p = v; ok && *p; p++)
        ok = isalnum((unsigned char)*p) || strchr(".-_:", *p);
    if (!ok)
        opts_fail("%s: '%s' is not a host name or address", name, v);
    return v;
}

const char *opts_text(const char *name, const char *def, size_t max_len)
{
    const char *v = opts_str(name, NULL);
    if (!v)
        return def;
    size_t len = strlen(v);
    if (!len || len > max_len)
        opts_fail("%s: must be 1..%zu bytes long", name, max_len);
    for (const char *p = v; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            opts_fail("%s: control characters are not allowed", name);
    return v;
}
