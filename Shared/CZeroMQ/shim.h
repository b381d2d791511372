#ifndef CONTACTPOINT_CZEROMQ_SHIM_H
#define CONTACTPOINT_CZEROMQ_SHIM_H
#include <zmq.h>
#include <sys/eventfd.h>
#include <sys/epoll.h>
#include <errno.h>
#include <unistd.h>

/* The Debian 4.3.4 build is non-DRAFT, so zmq.h hides this option although the library honours it. */
#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#define ZMQ_ZAP_ENFORCE_DOMAIN 93
#endif

static inline int cp_errno(void) { return errno; }
#endif
