/* error.h - loom's error codes: negative errno values plus loom's own codes.
 *
 * Every loom call that can fail returns 0 (or a non-negative count) on success
 * and a negative code on failure: -errno (-ETIMEDOUT, -ECANCELED, ...) or one
 * of the LOOM_E* codes below, which sit under the errno range. */
#ifndef LOOM_REACTOR_ERROR_H
#define LOOM_REACTOR_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

/* X(name, value, message) - loom's own codes. Add new ones here only. */
#define LOOM_ERROR_CODES(X)                                                                        \
    X(LOOM_EOF, -4001, "end of stream")                                                            \
    X(LOOM_EHTTP, -4002, "HTTP protocol error")                                                    \
    X(LOOM_EPG, -4003, "PostgreSQL error (see the connection's error accessor)")                   \
    X(LOOM_ETLS, -4004, "TLS error")                                                               \
    X(LOOM_EWS, -4005, "WebSocket protocol error")                                                 \
    X(LOOM_EDNS, -4006, "name resolution failed")                                                  \
    X(LOOM_ELIMIT, -4007, "size limit exceeded")                                                   \
    X(LOOM_EDEADLOCK, -4008, "loop has nothing left that could wake the waiting task")             \
    X(LOOM_ECHILD, -4009, "worker process died")

enum loom_error {
#define LOOM__ENUM(name, value, msg) name = value,
    LOOM_ERROR_CODES(LOOM__ENUM)
#undef LOOM__ENUM
};

/* A human-readable message for a negative error code; never NULL, static storage. */
const char *loom_strerror(int err);

/* The symbolic name of a negative error code ("ECANCELED", "LOOM_EOF"); never NULL. */
const char *loom_errname(int err);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif
