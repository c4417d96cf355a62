// Writes to many sockets handed to the kernel together: one io_uring_enter for every send of a
// turn of the event loop, instead of one send() per subscriber (see batch.c).
#ifndef SSE_RELAY_BATCH_H
#define SSE_RELAY_BATCH_H

#include <stddef.h>
#include <sys/types.h>

/** What became of one batched send: `sent` bytes taken by the kernel (maybe fewer than `len`), or -errno. */
typedef void (*batch_done_fn)(void *owner, const char *data, size_t len, ssize_t sent);

/** Sets the ring up (once): 0, or -errno where the kernel or a seccomp profile refuses io_uring. */
int batch_open(batch_done_fn done);
/** Switches batching off (or back on, if the ring is up); returns whether sends are batched. Submits first. */
int batch_set(int on);
/**
 * Queues a send of a copy of `data` to `fd` (the same bytes as the previous send are copied once);
 * `owner` comes back through the done function. A full ring is submitted first. Returns 0, or -1
 * when batching is off or the copy cannot be made (the caller sends itself).
 */
int batch_add(int fd, const void *data, size_t len, void *owner);
/** Hands every queued send to the kernel in one system call and reports each one (MSG_DONTWAIT: none waits). */
void batch_submit(void);

#endif
