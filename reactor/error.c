/* error.c - messages and names for loom's error codes, generated from X-macro lists. */
#include "reactor/error.h"

#include <errno.h>
#include <string.h>

/* The errno values loom returns or passes through; others print as "E?". */
// clang-format off
#define LOOM_ERRNO_NAMES(X)                                                                        \
    X(EPERM) X(ENOENT) X(ESRCH) X(EINTR) X(EIO) X(ENXIO) X(E2BIG) X(EBADF) X(ECHILD) X(EAGAIN)     \
    X(ENOMEM) X(EACCES) X(EFAULT) X(EBUSY) X(EEXIST) X(ENODEV) X(ENOTDIR) X(EISDIR) X(EINVAL)      \
    X(ENFILE) X(EMFILE) X(ENOSPC) X(ESPIPE) X(EPIPE) X(ERANGE) X(EDEADLK) X(ENAMETOOLONG)          \
    X(ENOSYS) X(ENOTEMPTY) X(ELOOP) X(ENOMSG) X(EPROTO) X(EBADMSG) X(EOVERFLOW) X(EILSEQ)          \
    X(ENOTSOCK) X(EDESTADDRREQ) X(EMSGSIZE) X(EPROTOTYPE) X(ENOPROTOOPT) X(EPROTONOSUPPORT)        \
    X(EOPNOTSUPP) X(EAFNOSUPPORT) X(EADDRINUSE) X(EADDRNOTAVAIL) X(ENETDOWN) X(ENETUNREACH)        \
    X(ECONNABORTED) X(ECONNRESET) X(ENOBUFS) X(EISCONN) X(ENOTCONN) X(ESHUTDOWN) X(ETIMEDOUT)      \
    X(ECONNREFUSED) X(EHOSTUNREACH) X(EALREADY) X(EINPROGRESS) X(ECANCELED) X(EOWNERDEAD)          \
    X(ENOTRECOVERABLE)
// clang-format on

const char *loom_strerror(int err)
{
    switch (err) {
#define LOOM__MSG(name, value, msg)                                                                \
    case value:                                                                                    \
        return msg;
        LOOM_ERROR_CODES(LOOM__MSG)
        LOOM_URL_ERRORS(LOOM__MSG)
#undef LOOM__MSG
#define LOOM__HTTP_MSG(name, value, status, msg)                                                   \
    case value:                                                                                    \
        return msg;
        LOOM_HTTP_PARSE_ERRORS(LOOM__HTTP_MSG)
#undef LOOM__HTTP_MSG
    case 0:
        return "success";
    }
    if (err < 0 && err > -4000)
        return strerror(-err); /* glibc returns static text for known values */
    return "unknown error";
}

const char *loom_errname(int err)
{
    switch (err) {
#define LOOM__NAME(name, value, msg)                                                               \
    case value:                                                                                    \
        return #name;
        LOOM_ERROR_CODES(LOOM__NAME)
        LOOM_URL_ERRORS(LOOM__NAME)
#undef LOOM__NAME
#define LOOM__HTTP_NAME(name, value, status, msg)                                                  \
    case value:                                                                                    \
        return #name;
        LOOM_HTTP_PARSE_ERRORS(LOOM__HTTP_NAME)
#undef LOOM__HTTP_NAME
    case 0:
        return "OK";
    }
    /* A switch would reject the aliases (EAGAIN == EWOULDBLOCK, EDEADLK == EDEADLOCK). */
#define LOOM__ERRNO(name)                                                                          \
    if (err == -name)                                                                              \
        return #name;
    LOOM_ERRNO_NAMES(LOOM__ERRNO)
#undef LOOM__ERRNO
    return "E?";
}
