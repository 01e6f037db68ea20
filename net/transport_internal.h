/* transport_internal.h - what servers need from transports beyond the
 * public API. */
#ifndef LOOM_NET_TRANSPORT_INTERNAL_H
#define LOOM_NET_TRANSPORT_INTERNAL_H

#include "net/transport.h"

/* Call gone(arg) right after the protocol's connection_lost returned, just
 * before the transport's memory is released (a server untracks it there). */
void loom__transport_on_lost(struct loom_transport *t, void (*gone)(void *arg), void *arg);

#endif
