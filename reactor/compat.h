/* compat.h - the one place for OS feature tests outside the backend files. */
#ifndef LOOM_REACTOR_COMPAT_H
#define LOOM_REACTOR_COMPAT_H

#include <stddef.h>

#if defined(__linux__)
#define LOOM_HAVE_EPOLL 1
#define LOOM_HAVE_EVENTFD 1
#define LOOM_HAVE_SIGNALFD 1
#endif

#if defined(__APPLE__) || defined(__FreeBSD__) || defined(__NetBSD__) || defined(__OpenBSD__) ||   \
    defined(__DragonFly__)
#define LOOM_HAVE_KQUEUE 1
#endif

/* Kernel >= 6.13 installs guard pages without splitting the mapping; older headers lack it. */
#if defined(__linux__) && !defined(MADV_GUARD_INSTALL)
#define MADV_GUARD_INSTALL 102
#endif

#if defined(__SANITIZE_ADDRESS__)
#define LOOM_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LOOM_ASAN 1
#endif
#endif

#if defined(__SANITIZE_THREAD__)
#define LOOM_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define LOOM_TSAN 1
#endif
#endif

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#define LOOM_HAVE_VALGRIND 1
#endif
#endif

#define loom__container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

#endif
