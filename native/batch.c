// The edge's batched writes (batch.h): the sends of a turn of the event loop go to the kernel
// through one io_uring submission, where one send() each cost a system call each. A broadcast
// writes the same bytes to every subscriber of a job: on this machine that is 6.1 against 3.4 µs
// of CPU per delivery at 2,000 subscribers (docs/performance.md), most of it the entry and exit of
// the system calls and the wake-ups they cause one by one.
//
// Raw system calls on <linux/io_uring.h> (no liburing to install). Every send carries
// MSG_DONTWAIT: a socket whose buffer is full completes at once with -EAGAIN (it is never armed
// to wait), so every completion is there when io_uring_enter returns and nothing outlives the
// call. The bytes are copied into an arena the kernel reads from; a broadcast's bytes are copied
// once for all of its sends.
#define _GNU_SOURCE
#include "batch.h"

#include <errno.h>
#include <linux/io_uring.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

/**
 * Sends per submission: a fuller ring is submitted and started again. A submission holds its core
 * until every send in it is done, with no point where the scheduler can step in: 4,096 at a time
 * made the clients that share the cores fall behind (dense-72k-x4, WORKERS=4 beside four client
 * processes on two cores: 5.9 µs per delivery against 3.1 with send()); 256 keep the saving (2.7)
 * at a system call per 256 writes.
 */
#define RING_ENTRIES 256u
/** The arena grows by blocks of this size (a larger write gets a block of its own). */
#define ARENA_BLOCK (256 * 1024)

typedef struct block {
  struct block *next;
  size_t size;
  size_t used;
  char data[];
} block;

typedef struct entry {
  void *owner;
  const char *data;
  size_t len;
} entry;

static struct {
  int fd; /* -1 until set up */
  int refused;
  int off;
  batch_done_fn done;
  unsigned *sq_head, *sq_tail, *sq_mask;
  struct io_uring_sqe *sqes;
  unsigned *cq_head, *cq_tail, *cq_mask;
  struct io_uring_cqe *cqes;
  unsigned tail; /* the next submission starts here */
  unsigned count;
  entry entries[RING_ENTRIES];
  block *arena;
  const void *last_src; /* the previous send's bytes: its copy serves the next send of the same bytes */
  const char *last_copy;
  size_t last_len;
} ring = {.fd = -1};

static int sys_setup(unsigned entries, struct io_uring_params *p) { return (int)syscall(__NR_io_uring_setup, entries, p); }

static int sys_enter(unsigned submit, unsigned wait) {
  return (int)syscall(__NR_io_uring_enter, ring.fd, submit, wait, IORING_ENTER_GETEVENTS, NULL, 0);
}

int batch_open(batch_done_fn done) {
  if (ring.fd >= 0) return 0;
  if (ring.refused) return -ring.refused;
  struct io_uring_params p;
  memset(&p, 0, sizeof p);
  /* SUBMIT_ALL (5.18): a send refused at submission does not stop the ones after it. */
  p.flags = IORING_SETUP_SUBMIT_ALL;
  int fd = sys_setup(RING_ENTRIES, &p);
  if (fd < 0 && errno == EINVAL) {
    memset(&p, 0, sizeof p);
    fd = sys_setup(RING_ENTRIES, &p);
  }
  if (fd < 0) {
    ring.refused = errno;
    return -ring.refused;
  }
  size_t sq_size = p.sq_off.array + p.sq_entries * sizeof(unsigned);
  size_t cq_size = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
  int single = (p.features & IORING_FEAT_SINGLE_MMAP) != 0;
  if (single && cq_size > sq_size) sq_size = cq_size;
  char *sq = mmap(NULL, sq_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQ_RING);
  char *cq = single ? sq : mmap(NULL, cq_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_CQ_RING);
  void *sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
                    IORING_OFF_SQES);
  if (sq == MAP_FAILED || cq == MAP_FAILED || sqes == MAP_FAILED || p.cq_entries < RING_ENTRIES) {
    /* Left mapped: the process lives on without batching, and this happens once. */
    ring.refused = ENOMEM;
    close(fd);
    return -ring.refused;
  }
  ring.sq_head = (unsigned *)(sq + p.sq_off.head);
  ring.sq_tail = (unsigned *)(sq + p.sq_off.tail);
  ring.sq_mask = (unsigned *)(sq + p.sq_off.ring_mask);
  unsigned *array = (unsigned *)(sq + p.sq_off.array);
  for (unsigned i = 0; i < p.sq_entries; i++) array[i] = i;
  ring.sqes = sqes;
  ring.cq_head = (unsigned *)(cq + p.cq_off.head);
  ring.cq_tail = (unsigned *)(cq + p.cq_off.tail);
  ring.cq_mask = (unsigned *)(cq + p.cq_off.ring_mask);
  ring.cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
  ring.tail = *ring.sq_tail;
  ring.done = done;
  ring.fd = fd;
  return 0;
}

/** Whether sends are batched (the ring is up and not switched off). */
static int batch_enabled(void) { return ring.fd >= 0 && !ring.off; }

int batch_set(int on) {
  batch_submit();
  ring.off = !on;
  return batch_enabled();
}

/** A copy of `data` in the arena, or NULL without memory. */
static const char *arena_copy(const void *data, size_t len) {
  if (data == ring.last_src && len == ring.last_len && memcmp(ring.last_copy, data, len) == 0) return ring.last_copy;
  block *b = ring.arena;
  if (!b || b->size - b->used < len) {
    size_t size = len > ARENA_BLOCK ? len : ARENA_BLOCK;
    block *fresh = malloc(sizeof *fresh + size);
    if (!fresh) return NULL;
    fresh->next = b;
    fresh->size = size;
    fresh->used = 0;
    ring.arena = b = fresh;
  }
  char *copy = b->data + b->used;
  b->used += len;
  memcpy(copy, data, len);
  ring.last_src = data;
  ring.last_copy = copy;
  ring.last_len = len;
  return copy;
}

/** Empties the arena, keeping one block of the usual size for the next batch (a larger one, made for one long write, is freed). */
static void arena_reset(void) {
  block *keep = NULL;
  for (block *b = ring.arena; b;) {
    block *next = b->next;
    if (!keep && b->size == ARENA_BLOCK) {
      keep = b;
      keep->next = NULL;
      keep->used = 0;
    } else {
      free(b);
    }
    b = next;
  }
  ring.arena = keep;
  ring.last_src = NULL;
  ring.last_copy = NULL;
  ring.last_len = 0;
}

int batch_add(int fd, const void *data, size_t len, void *owner) {
  if (!batch_enabled() || len > 0x7fffffffu) return -1;
  if (ring.count == RING_ENTRIES) batch_submit();
  const char *copy = arena_copy(data, len);
  if (!copy) return -1;
  unsigned index = ring.count++;
  ring.entries[index] = (entry){owner, copy, len};
  struct io_uring_sqe *sqe = &ring.sqes[(ring.tail + index) & *ring.sq_mask];
  memset(sqe, 0, sizeof *sqe);
  sqe->opcode = IORING_OP_SEND;
  sqe->fd = fd;
  sqe->addr = (uint64_t)(uintptr_t)copy;
  sqe->len = (uint32_t)len;
  sqe->msg_flags = MSG_DONTWAIT | MSG_NOSIGNAL;
  sqe->user_data = index;
  return 0;
}

/** Takes the completions there are; returns how many. */
static unsigned reap(void) {
  unsigned head = *ring.cq_head;
  unsigned tail = __atomic_load_n(ring.cq_tail, __ATOMIC_ACQUIRE);
  unsigned mask = *ring.cq_mask;
  for (unsigned h = head; h != tail; h++) {
    struct io_uring_cqe *cqe = &ring.cqes[h & mask];
    entry *e = &ring.entries[cqe->user_data];
    ring.done(e->owner, e->data, e->len, cqe->res);
  }
  __atomic_store_n(ring.cq_head, tail, __ATOMIC_RELEASE);
  return tail - head;
}

void batch_submit(void) {
  unsigned count = ring.count;
  if (count == 0) return;
  unsigned start = ring.tail;
  __atomic_store_n(ring.sq_tail, start + count, __ATOMIC_RELEASE);
  unsigned reaped = 0;
  int idle = 0;
  while (reaped < count) {
    unsigned unsubmitted = start + count - __atomic_load_n(ring.sq_head, __ATOMIC_ACQUIRE);
    int n = sys_enter(unsubmitted, count - reaped);
    reaped += reap();
    if (n >= 0 || errno == EINTR || errno == EAGAIN || errno == EBUSY) {
      idle = n > 0 ? 0 : idle + 1;
      if (idle < 100) continue;
    }
    /* The kernel takes no more of them: what it never took is sent here, one by one, and batching stops. */
    unsigned taken = __atomic_load_n(ring.sq_head, __ATOMIC_ACQUIRE) - start;
    __atomic_store_n(ring.sq_tail, start + taken, __ATOMIC_RELEASE);
    while (reaped < taken && sys_enter(0, taken - reaped) >= 0) reaped += reap();
    for (unsigned i = taken; i < count; i++) {
      entry *e = &ring.entries[i];
      ssize_t sent = send(ring.sqes[(start + i) & *ring.sq_mask].fd, e->data, e->len, MSG_DONTWAIT | MSG_NOSIGNAL);
      ring.done(e->owner, e->data, e->len, sent < 0 ? -errno : sent);
    }
    ring.off = 1;
    count = taken;
    break;
  }
  ring.tail = start + count;
  ring.count = 0;
  arena_reset();
}
