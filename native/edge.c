// The Node edge's accept loop for plain HTTP, in C (see docs/architecture.md, "Node's native edge").
//
// Node's own accept path builds a libuv TCP handle, its C++ wrap and a JavaScript net.Socket
// (streams, event emitter, timers) for every connection before a byte is read: 130-270 µs of CPU
// per connection on this machine, more than nginx spends serving a whole nchan subscriber. Here a
// connection is a small C struct in an epoll set of the edge's own, and that set is one uv_poll_t
// on Node's event loop: the listening socket is polled, connections are accepted (with their
// peer's address), their first bytes read, and JavaScript is called once with the request head.
// JavaScript then decides: a stream stays here (it writes its frames through write, and hears of
// the disconnect through the close callback); anything else is handed to node:http as a
// net.Socket made from the same descriptor, with the same bytes.
//
// A connection costs accept4, one epoll_ctl (its descriptor's close takes it out of the set), recv
// and its writes, and no other system call: its socket options (TCP_NODELAY, TCP_NOTSENT_LOWAT,
// TCP keepalive) are the listening socket's, which an accepted socket inherits.
//
// A stream's writes are batched (batch.c): the sends of a turn go to the kernel in one io_uring
// submission, at the end of the turn (submit, called by JavaScript once its sinks have flushed)
// or before anything else touches the connection, and before the event loop waits in any case.
// Where io_uring is refused (an old kernel, a seccomp profile), each write is one send().
//
// Everything runs on the JavaScript thread (no threads, no locks): callbacks come from libuv's
// poll phase through napi_make_callback, as Node's own I/O callbacks do.
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <node_api.h>
#include <uv.h>

#include "batch.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

/** The longest request head read here; a longer one (or one split over reads) goes to node:http. */
#define HEAD_MAX 8192
/** Bytes a client may send on a stream's connection after its request before it is cut. */
#define INBOUND_MAX (64 * 1024)
/** Connections accepted per wake-up of the listening socket (the rest wait for the next turn). */
#define ACCEPT_BATCH 256
/** Unsent bytes the kernel may hold for a stream (TCP_NOTSENT_LOWAT): the value docs/operations/kernel.md gives for the host. */
#define NOTSENT_LOWAT (128 * 1024)
/** How long accepting pauses when the process is out of descriptors. */
#define PAUSE_MS 100
/** Events taken from the edge's epoll set per wake-up (the rest come at the next turn). */
#define EVENT_BATCH 512

enum conn_state {
  WAITING_HEAD = 0, /* accepted, nothing read yet */
  DECIDING = 1,     /* head given to JavaScript, not polled until it decides */
  STREAMING = 2,    /* a stream's: written from JavaScript, read only to notice the end */
  ENDING = 3,       /* ended: FIN once the queue is out, then waits for the client to close */
};

typedef struct out_chunk {
  struct out_chunk *next;
  size_t len;
  size_t off;
  char data[];
} out_chunk;

struct edge;

typedef struct conn {
  int kind; /* KIND_CONN: what an epoll event's pointer names */
  struct edge *edge;
  int fd;
  uint32_t slot;
  uint32_t gen;
  uint8_t state;
  uint8_t closing;
  uint8_t batched; /* a send of it waits in the batch */
  uint32_t events; /* the epoll mask registered for it */
  double accepted_ms;
  size_t inbound;
  out_chunk *head;
  out_chunk *tail;
  size_t queued;
  struct conn *prev_pending;
  struct conn *next_pending;
  struct conn *next_dead;
  union {
    struct sockaddr sa;
    struct sockaddr_in in4;
    struct sockaddr_in6 in6;
  } peer;
} conn;

enum { KIND_CONN = 1, KIND_LISTENER = 2 };

typedef struct edge {
  int kind; /* KIND_LISTENER */
  /** The edge's epoll set (its connections and its listening socket), one uv_poll_t on Node's loop. */
  int epfd;
  uv_poll_t poll;
  /** Out of descriptors: accepting pauses this long, the kernel keeps the rest queued (no busy loop on a readable socket). */
  uv_timer_t pause;
  napi_env env;
  napi_ref on_head;
  napi_ref on_close;
  napi_ref resource;
  napi_async_context async;
  int fd;
  int listening;
  int dispatching;
  uint32_t conns;
  double pauses;
  conn *pending; /* WAITING_HEAD and DECIDING connections, newest first */
  uint32_t pending_count;
  conn *dead; /* closed while events of this batch may still name them: freed after it */
} edge;

/* Every connection by slot; an id is slot + generation * 2^32 (a stale id never names a new connection). */
static conn **slots = NULL;
static uint32_t *slot_gen = NULL;
static uint32_t slot_cap = 0;
static uint32_t *free_slots = NULL;
static uint32_t free_count = 0;
static uint32_t slot_used = 0;
static char read_buf[HEAD_MAX + 1];

static double now_ms(void) { return (double)uv_hrtime() / 1e6; }

static double conn_id(conn *c) { return (double)c->slot + (double)c->gen * 4294967296.0; }

static conn *conn_of(double id) {
  if (!(id >= 0)) return NULL;
  uint64_t n = (uint64_t)id;
  uint32_t slot = (uint32_t)(n & 0xffffffffu);
  uint32_t gen = (uint32_t)(n >> 32);
  if (slot >= slot_used) return NULL;
  conn *c = slots[slot];
  if (!c || c->gen != gen || c->closing) return NULL;
  return c;
}

static int slot_alloc(conn *c) {
  uint32_t slot;
  if (free_count > 0) {
    slot = free_slots[--free_count];
  } else {
    if (slot_used == slot_cap) {
      uint32_t cap = slot_cap ? slot_cap * 2 : 1024;
      conn **s = realloc(slots, cap * sizeof *s);
      if (!s) return -1;
      slots = s;
      uint32_t *g = realloc(slot_gen, cap * sizeof *g);
      if (!g) return -1;
      slot_gen = g;
      uint32_t *f = realloc(free_slots, cap * sizeof *f);
      if (!f) return -1;
      free_slots = f;
      slot_cap = cap;
    }
    slot = slot_used++;
    slot_gen[slot] = 0;
  }
  slots[slot] = c;
  c->slot = slot;
  c->gen = slot_gen[slot];
  return 0;
}

static void slot_free(conn *c) {
  slots[c->slot] = NULL;
  slot_gen[c->slot] = (slot_gen[c->slot] + 1) & 0x1fffff; /* ids stay below 2^53 */
  free_slots[free_count++] = c->slot;
}

static void pending_add(edge *e, conn *c) {
  c->prev_pending = NULL;
  c->next_pending = e->pending;
  if (e->pending) e->pending->prev_pending = c;
  e->pending = c;
  e->pending_count++;
}

static void pending_remove(conn *c) {
  if (c->state != WAITING_HEAD && c->state != DECIDING) return;
  edge *e = c->edge;
  if (c->prev_pending) c->prev_pending->next_pending = c->next_pending;
  else e->pending = c->next_pending;
  if (c->next_pending) c->next_pending->prev_pending = c->prev_pending;
  c->prev_pending = c->next_pending = NULL;
  e->pending_count--;
}

static void free_queue(conn *c) {
  out_chunk *q = c->head;
  while (q) {
    out_chunk *next = q->next;
    free(q);
    q = next;
  }
  c->head = c->tail = NULL;
  c->queued = 0;
}

static void edge_maybe_close(struct edge *e);

static void conn_free(conn *c) {
  free_queue(c);
  free(c);
}

/**
 * Closes a connection and forgets it: its slot and its queue, and its memory once no event of
 * the batch being dispatched can name it. Its descriptor's close takes it out of the epoll set.
 * With `reset`, the kernel drops what it still holds and the client sees a reset.
 */
static void conn_finish(conn *c, int reset) {
  if (c->closing) return;
  /* Its descriptor's number must not be reused while a batched send names it. */
  if (c->batched) batch_submit();
  pending_remove(c);
  c->closing = 1;
  edge *e = c->edge;
  e->conns--;
  if (reset) {
    struct linger lg = {1, 0};
    setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  }
  close(c->fd);
  c->fd = -1;
  slot_free(c);
  if (e->dispatching) {
    c->next_dead = e->dead;
    e->dead = c;
  } else {
    conn_free(c);
  }
  edge_maybe_close(e);
}

/** `conn.events` of a connection out of the epoll set (hang-ups are reported whatever the mask). */
#define UNWATCHED 0xffffffffu

/** Sets the events the edge's epoll set reports for `c` (one epoll_ctl, and only on a change). */
static void watch(conn *c, uint32_t events) {
  if (c->events == events || c->closing) return;
  int op = c->events == UNWATCHED ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
  c->events = events;
  struct epoll_event ev = {.events = events, .data = {.ptr = c}};
  epoll_ctl(c->edge->epfd, op, c->fd, &ev);
}

/** Takes `c` out of the epoll set until watch() puts it back. */
static void unwatch(conn *c) {
  if (c->events == UNWATCHED || c->closing) return;
  c->events = UNWATCHED;
  epoll_ctl(c->edge->epfd, EPOLL_CTL_DEL, c->fd, NULL);
}

static void call_js(edge *e, napi_ref fn_ref, size_t argc, napi_value *argv) {
  napi_env env = e->env;
  napi_value fn, resource, result;
  if (napi_get_reference_value(env, fn_ref, &fn) != napi_ok) return;
  napi_get_reference_value(env, e->resource, &resource);
  napi_status status = napi_make_callback(env, e->async, resource, fn, argc, argv, &result);
  if (status == napi_pending_exception) {
    napi_value err;
    napi_get_and_clear_last_exception(env, &err);
    napi_fatal_exception(env, err);
  }
}

/** Tells JavaScript a stream's connection is gone (the client closed, reset, or sent too much). */
static void conn_gone(conn *c, int reset) {
  edge *e = c->edge;
  double id = conn_id(c);
  int was_stream = c->state == STREAMING || c->state == ENDING;
  conn_finish(c, reset);
  if (!was_stream) return;
  napi_handle_scope scope;
  napi_open_handle_scope(e->env, &scope);
  napi_value arg;
  napi_create_double(e->env, id, &arg);
  call_js(e, e->on_close, 1, &arg);
  napi_close_handle_scope(e->env, scope);
}

/** A stream's connection: read to notice its end, written when the edge holds a queue for it. */
static void set_events(conn *c) { watch(c, EPOLLIN | EPOLLRDHUP | (c->queued > 0 ? EPOLLOUT : 0)); }

/** Writes what is queued; returns 0, or -1 when the connection failed (the caller closes it). */
static int drain(conn *c) {
  while (c->head) {
    out_chunk *q = c->head;
    ssize_t n = send(c->fd, q->data + q->off, q->len - q->off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == EINTR) continue;
      return -1;
    }
    q->off += (size_t)n;
    c->queued -= (size_t)n;
    if (q->off < q->len) break;
    c->head = q->next;
    if (!c->head) c->tail = NULL;
    free(q);
  }
  if (!c->head && c->state == ENDING) shutdown(c->fd, SHUT_WR);
  return 0;
}

static int enqueue(conn *c, const char *data, size_t len) {
  out_chunk *q = malloc(sizeof *q + len);
  if (!q) return -1;
  q->next = NULL;
  q->len = len;
  q->off = 0;
  memcpy(q->data, data, len);
  if (c->tail) c->tail->next = q;
  else c->head = q;
  c->tail = q;
  c->queued += len;
  return 0;
}

/** What became of a batched send: what the kernel did not take is queued, as a write does it. */
static void on_batch_done(void *owner, const char *data, size_t len, ssize_t sent) {
  conn *c = owner;
  c->batched = 0;
  if (sent == (ssize_t)len || c->closing) return;
  if (sent < 0 && sent != -EAGAIN && sent != -EWOULDBLOCK) {
    /* Failed: the poll sees the error and closes it (the close callback runs then). */
    return;
  }
  size_t taken = sent > 0 ? (size_t)sent : 0;
  if (enqueue(c, data + taken, len - taken) < 0) {
    /* No memory for the rest: the stream cannot go on; the poll sees it shut and closes it. */
    shutdown(c->fd, SHUT_RDWR);
    return;
  }
  set_events(c);
}

/** Before the event loop waits: nothing batched is left unsent (JavaScript submits at the end of its turn; this is the backstop). */
static void on_prepare(uv_prepare_t *handle) {
  (void)handle;
  batch_submit();
}

static void on_head_read(conn *c) {
  edge *e = c->edge;
  ssize_t n;
  do n = recv(c->fd, read_buf, sizeof read_buf, 0);
  while (n < 0 && errno == EINTR);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
  if (n <= 0) {
    /* Closed before a request (or failed): nothing to answer. */
    conn_finish(c, 0);
    return;
  }
  c->state = DECIDING;
  c->inbound = (size_t)n;
  char addr[INET6_ADDRSTRLEN] = "";
  if (c->peer.sa.sa_family == AF_INET) inet_ntop(AF_INET, &c->peer.in4.sin_addr, addr, sizeof addr);
  else if (c->peer.sa.sa_family == AF_INET6) inet_ntop(AF_INET6, &c->peer.in6.sin6_addr, addr, sizeof addr);
  napi_env env = e->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value argv[3];
  napi_create_double(env, conn_id(c), &argv[0]);
  /* Text, one character a byte: what the head is read as, without a Buffer. */
  napi_create_string_latin1(env, read_buf, (size_t)n, &argv[1]);
  napi_create_string_latin1(env, addr, NAPI_AUTO_LENGTH, &argv[2]);
  call_js(e, e->on_head, 3, argv);
  napi_close_handle_scope(env, scope);
}

static void on_stream_read(conn *c) {
  for (;;) {
    ssize_t n = recv(c->fd, read_buf, sizeof read_buf, 0);
    if (n > 0) {
      c->inbound += (size_t)n;
      if (c->inbound > INBOUND_MAX) return conn_gone(c, 1);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    /* End of stream (a client that half-closes is gone) or an error. */
    return conn_gone(c, n < 0);
  }
}

static void on_conn_event(conn *c, uint32_t events) {
  if (c->closing) return;
  if (c->state == WAITING_HEAD) {
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) on_head_read(c);
    return;
  }
  if (c->state == DECIDING) {
    /* More bytes, the end or a hang-up while JavaScript decides: left for whoever gets the
       connection, out of the set meanwhile (a hang-up would be reported again and again). */
    if (events & EPOLLERR) return conn_gone(c, 1);
    unwatch(c);
    return;
  }
  if (events & EPOLLERR) return conn_gone(c, 1);
  if (events & EPOLLOUT) {
    if (drain(c) < 0) return conn_gone(c, 1);
  }
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) {
    on_stream_read(c);
    if (c->closing) return;
  }
  set_events(c);
}

static void on_pause_over(uv_timer_t *timer) {
  edge *e = timer->data;
  if (!e->listening) return;
  struct epoll_event ev = {.events = EPOLLIN, .data = {.ptr = e}};
  epoll_ctl(e->epfd, EPOLL_CTL_MOD, e->fd, &ev);
}

static void on_listen_event(edge *e) {
  if (!e->listening) return;
  double now = now_ms();
  for (int i = 0; i < ACCEPT_BATCH; i++) {
    conn *c = calloc(1, sizeof *c);
    if (!c) return;
    socklen_t len = sizeof c->peer;
    int fd = accept4(e->fd, &c->peer.sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      int err = errno;
      free(c);
      if (err == EINTR || err == ECONNABORTED) continue;
      if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
        /* Out of descriptors or memory: the kernel keeps the rest queued until some are free. */
        struct epoll_event ev = {.events = 0, .data = {.ptr = e}};
        epoll_ctl(e->epfd, EPOLL_CTL_MOD, e->fd, &ev);
        uv_timer_start(&e->pause, on_pause_over, PAUSE_MS, 0);
        e->pauses++;
      }
      /* EAGAIN: all taken. */
      return;
    }
    if (slot_alloc(c) < 0) {
      free(c);
      close(fd);
      return;
    }
    c->kind = KIND_CONN;
    c->edge = e;
    c->fd = fd;
    c->accepted_ms = now;
    c->state = WAITING_HEAD;
    c->events = EPOLLIN | EPOLLRDHUP;
    struct epoll_event ev = {.events = c->events, .data = {.ptr = c}};
    if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
      slot_free(c);
      free(c);
      close(fd);
      continue;
    }
    e->conns++;
    pending_add(e, c);
  }
}

/** The edge's epoll set is readable: dispatches what it reports, then frees what closed meanwhile. */
static void on_edge_event(uv_poll_t *handle, int status, int events) {
  (void)events;
  edge *e = handle->data;
  if (status < 0) return;
  struct epoll_event ready[EVENT_BATCH];
  e->dispatching = 1;
  int n = epoll_wait(e->epfd, ready, EVENT_BATCH, 0);
  for (int i = 0; i < n; i++) {
    void *ptr = ready[i].data.ptr;
    if (*(int *)ptr == KIND_LISTENER) on_listen_event((edge *)ptr);
    else on_conn_event((conn *)ptr, ready[i].events);
  }
  e->dispatching = 0;
  while (e->dead) {
    conn *c = e->dead;
    e->dead = c->next_dead;
    conn_free(c);
  }
}

/* ---- JavaScript API ---- */

#define ARGS(n)                                                    \
  size_t argc = n;                                                 \
  napi_value argv[n];                                              \
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);

static napi_value num(napi_env env, double v) {
  napi_value out;
  napi_create_double(env, v, &out);
  return out;
}

static double arg_num(napi_env env, napi_value v) {
  double d = -1;
  if (napi_get_value_double(env, v, &d) != napi_ok) return -1;
  return d;
}

/** Throws as node:net does: `listen EADDRINUSE: address already in use 127.0.0.1:8080`, with `code` set. */
static napi_value throw_errno_at(napi_env env, const char *what, int err, const char *host, int port) {
  char msg[200];
  int uverr = uv_translate_sys_error(err);
  if (host) snprintf(msg, sizeof msg, "%s %s: %s %s:%d", what, uv_err_name(uverr), uv_strerror(uverr), host, port);
  else snprintf(msg, sizeof msg, "%s %s: %s", what, uv_err_name(uverr), uv_strerror(uverr));
  napi_throw_error(env, uv_err_name(uverr), msg);
  return NULL;
}

static napi_value throw_errno(napi_env env, const char *what, int err) { return throw_errno_at(env, what, err, NULL, 0); }

static void edge_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  (void)data;
  /* The edge's struct stays: JavaScript may still ask it after it closed (see edge_maybe_close). */
}

/**
 * A TCP socket bound to `host`:`port` (a numeric address), with SO_REUSEPORT when asked, and
 * listening when `backlog` > 0. Returns its descriptor and sets `*bound` to its port, or throws
 * (as node:net words it) and returns -1.
 */
static int bound_socket(napi_env env, napi_value host_value, int port, int backlog, bool reuse_port, int *bound) {
  char host[64];
  size_t host_len = 0;
  if (napi_get_value_string_latin1(env, host_value, host, sizeof host, &host_len) != napi_ok) {
    throw_errno(env, "listen", EINVAL);
    return -1;
  }
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  socklen_t sl;
  if (uv_ip4_addr(host, port, (struct sockaddr_in *)&ss) == 0) sl = sizeof(struct sockaddr_in);
  else if (uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss) == 0) sl = sizeof(struct sockaddr_in6);
  else {
    throw_errno(env, "listen: not a numeric address", EINVAL);
    return -1;
  }
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    throw_errno(env, "socket", errno);
    return -1;
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (reuse_port) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || (backlog > 0 && listen(fd, backlog) < 0)) {
    int err = errno;
    close(fd);
    throw_errno_at(env, "listen", err, host, port);
    return -1;
  }
  sl = sizeof ss;
  getsockname(fd, (struct sockaddr *)&ss, &sl);
  *bound = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port : ((struct sockaddr_in6 *)&ss)->sin6_port);
  return fd;
}

/**
 * The options every connection gets, set once on the listening socket (accepted sockets inherit
 * them): no Nagle delay; TCP keepalive after `keepalive` seconds idle when > 0; and a bound on
 * what the kernel holds unsent (a stream's client that stops reading would otherwise pin up to
 * tcp_wmem's maximum, 4 MiB: past it, writes queue in the edge, where the gateway's cap drops the
 * subscriber; node:http's writes wait for the socket to drain, as they do already).
 */
static void connection_options(int fd, int keepalive) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  int lowat = NOTSENT_LOWAT;
  setsockopt(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &lowat, sizeof lowat);
  if (keepalive > 0) {
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &keepalive, sizeof keepalive);
  }
}

/** Whether writes are to be batched (batch(false) before the first listen keeps io_uring unopened). */
static int batch_wanted = 1;
/** The backstop that submits what is batched before the event loop waits (one for the process). */
static uv_prepare_t prepare;
static int prepare_started = 0;

/**
 * listen(address, port, backlog, reusePort, keepAliveSeconds, onHead, onClose): a listening
 * socket on a numeric address, polled for connections; returns [edge, port]. Errors are thrown
 * with their code (EADDRINUSE, EACCES, EADDRNOTAVAIL) as node:net's listen gives them.
 */
static napi_value js_listen(napi_env env, napi_callback_info info) {
  ARGS(7);
  int backlog = (int)arg_num(env, argv[2]);
  bool reuse_port = false;
  napi_get_value_bool(env, argv[3], &reuse_port);
  int bound = 0;
  int fd = bound_socket(env, argv[0], (int)arg_num(env, argv[1]), backlog > 0 ? backlog : 511, reuse_port, &bound);
  if (fd < 0) return NULL;
  connection_options(fd, (int)arg_num(env, argv[4]));
  edge *e = calloc(1, sizeof *e);
  if (!e) {
    close(fd);
    return throw_errno(env, "listen", ENOMEM);
  }
  e->kind = KIND_LISTENER;
  e->env = env;
  e->fd = fd;
  e->epfd = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN, .data = {.ptr = e}};
  if (e->epfd < 0 || epoll_ctl(e->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
    int err = errno;
    if (e->epfd >= 0) close(e->epfd);
    close(fd);
    free(e);
    return throw_errno(env, "epoll", err);
  }
  uv_loop_t *loop;
  napi_get_uv_event_loop(env, &loop);
  if (batch_wanted) batch_open(on_batch_done);
  if (!prepare_started) {
    prepare_started = 1;
    uv_prepare_init(loop, &prepare);
    uv_prepare_start(&prepare, on_prepare);
    uv_unref((uv_handle_t *)&prepare);
  }
  int err = uv_poll_init(loop, &e->poll, e->epfd);
  if (err != 0) {
    close(e->epfd);
    close(fd);
    free(e);
    napi_throw_error(env, uv_err_name(err), uv_strerror(err));
    return NULL;
  }
  napi_create_reference(env, argv[5], 1, &e->on_head);
  napi_create_reference(env, argv[6], 1, &e->on_close);
  napi_value resource, name, external, out;
  napi_create_object(env, &resource);
  napi_create_reference(env, resource, 1, &e->resource);
  napi_create_string_utf8(env, "sse-relay:edge", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, resource, name, &e->async);
  e->poll.data = e;
  uv_timer_init(loop, &e->pause);
  uv_unref((uv_handle_t *)&e->pause);
  e->pause.data = e;
  e->listening = 1;
  uv_poll_start(&e->poll, UV_READABLE, on_edge_event);
  napi_create_external(env, e, edge_finalize, NULL, &external);
  napi_create_array_with_length(env, 2, &out);
  napi_set_element(env, out, 0, external);
  napi_set_element(env, out, 1, num(env, bound));
  return out;
}

static edge *edge_of(napi_env env, napi_value v) {
  void *p = NULL;
  napi_get_value_external(env, v, &p);
  return p;
}

static void on_edge_closed(uv_handle_t *handle) { (void)handle; }

/**
 * reserve(address, port): a socket bound (not listening) with SO_REUSEPORT; returns [fd, port].
 * It holds the port (a chosen one for port 0) for a cluster's workers, each of which listens on
 * it with SO_REUSEPORT: the kernel spreads the connections over them. It takes none itself.
 */
static napi_value js_reserve(napi_env env, napi_callback_info info) {
  ARGS(2);
  int bound = 0;
  int fd = bound_socket(env, argv[0], (int)arg_num(env, argv[1]), 0, true, &bound);
  if (fd < 0) return NULL;
  napi_value out;
  napi_create_array_with_length(env, 2, &out);
  napi_set_element(env, out, 0, num(env, fd));
  napi_set_element(env, out, 1, num(env, bound));
  return out;
}

/** unreserve(fd): closes a socket of reserve. */
static napi_value js_unreserve(napi_env env, napi_callback_info info) {
  ARGS(1);
  int fd = (int)arg_num(env, argv[0]);
  if (fd >= 0) close(fd);
  return NULL;
}

/** Once it neither listens nor has a connection, the edge lets go of its epoll set and handles (its struct stays: JavaScript may still ask it). */
static void edge_maybe_close(edge *e) {
  if (e->listening || e->conns > 0 || e->epfd < 0) return;
  uv_poll_stop(&e->poll);
  close(e->epfd);
  e->epfd = -1;
  uv_close((uv_handle_t *)&e->poll, on_edge_closed);
  uv_close((uv_handle_t *)&e->pause, on_edge_closed);
}

/** unlisten(edge): stops accepting and closes the listening socket (connections stay). */
static napi_value js_unlisten(napi_env env, napi_callback_info info) {
  ARGS(1);
  edge *e = edge_of(env, argv[0]);
  if (e && e->listening) {
    e->listening = 0;
    uv_timer_stop(&e->pause);
    close(e->fd);
    e->fd = -1;
    edge_maybe_close(e);
  }
  return NULL;
}

/** stream(id): the connection is a stream's from now on (polled for its end). */
static napi_value js_stream(napi_env env, napi_callback_info info) {
  ARGS(1);
  conn *c = conn_of(arg_num(env, argv[0]));
  if (!c) return num(env, -1);
  pending_remove(c);
  c->state = STREAMING;
  set_events(c);
  return num(env, 0);
}

/** The most parts one write takes (the head, retry and a replay's chunks are three or four). */
#define WRITE_PARTS 8
/** Parts of one write gathered here (a turn's writes of one connection come to COPY_MAX_BYTES at most). */
static char gather_buf[64 * 1024];

/**
 * Where part `v` of a write is: a Buffer's or typed array's bytes, or a string's (latin1, as
 * Buffer.from(text, 'latin1') has them) copied to `scratch` (which has `room` bytes). Returns its
 * length, or (size_t)-1 when it is neither or does not fit.
 */
static size_t part_of(napi_env env, napi_value v, const char **data, char *scratch, size_t room) {
  napi_valuetype type;
  napi_typeof(env, v, &type);
  if (type == napi_string) {
    size_t len = 0;
    if (napi_get_value_string_latin1(env, v, NULL, 0, &len) != napi_ok || len >= room) return (size_t)-1;
    napi_get_value_string_latin1(env, v, scratch, room, &len);
    *data = scratch;
    return len;
  }
  void *bytes = NULL;
  size_t len = 0;
  if (napi_get_buffer_info(env, v, &bytes, &len) != napi_ok &&
      napi_get_typedarray_info(env, v, NULL, &len, &bytes, NULL, NULL) != napi_ok)
    return (size_t)-1;
  *data = bytes;
  return len;
}

/**
 * write(id, ...parts): parts (Buffers, typed arrays or latin1 strings, at most WRITE_PARTS) go
 * out as one write, in order: batched (it goes at submit), or sent, with what the kernel does not
 * take queued. Returns bytes queued in the edge after it (0: all in the kernel, or batched), or
 * -1 when the connection is gone.
 */
static napi_value js_write(napi_env env, napi_callback_info info) {
  size_t argc = WRITE_PARTS + 1;
  napi_value argv[WRITE_PARTS + 1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 2 || argc > WRITE_PARTS + 1) {
    napi_throw_range_error(env, NULL, "write takes an id and 1 to 8 parts");
    return NULL;
  }
  conn *c = conn_of(arg_num(env, argv[0]));
  if (!c || c->state == ENDING) return num(env, -1);
  const char *data;
  size_t len;
  if (argc == 2) {
    len = part_of(env, argv[1], &data, gather_buf, sizeof gather_buf);
    if (len == (size_t)-1) {
      napi_throw_type_error(env, NULL, "a part is bytes, or text of at most 64 KiB");
      return NULL;
    }
  } else {
    /* Gathered into one copy: strings straight into their place. */
    len = 0;
    for (size_t i = 1; i < argc; i++) {
      const char *part;
      size_t room = sizeof gather_buf - len;
      size_t n = part_of(env, argv[i], &part, gather_buf + len, room);
      if (n == (size_t)-1 || n > room) {
        napi_throw_type_error(env, NULL, "parts are bytes or text, at most 64 KiB together");
        return NULL;
      }
      if (part != gather_buf + len) memcpy(gather_buf + len, part, n);
      len += n;
    }
    data = gather_buf;
  }
  if (c->queued == 0 && !c->batched && batch_add(c->fd, data, len, c) == 0) {
    c->batched = 1;
    return num(env, 0);
  }
  /* Its batched bytes go first (what the kernel does not take of them is queued). */
  if (c->batched) batch_submit();
  if (c->queued == 0) {
    ssize_t n;
    do n = send(c->fd, data, len, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        /* Failed: the poll sees the error and closes it (the close callback runs then). */
        return num(env, 0);
      }
      n = 0;
    }
    if ((size_t)n == len) return num(env, 0);
    data += n;
    len -= (size_t)n;
  }
  if (enqueue(c, data, len) < 0) return num(env, -1);
  set_events(c);
  return num(env, (double)c->queued);
}

/** queued(id): bytes given and not yet taken by the kernel, or -1 when gone. */
static napi_value js_queued(napi_env env, napi_callback_info info) {
  ARGS(1);
  conn *c = conn_of(arg_num(env, argv[0]));
  if (c && c->batched) batch_submit();
  return num(env, c ? (double)c->queued : -1);
}

/** end(id): a FIN once everything queued is out; the client's close ends it (the close callback runs). */
static napi_value js_end(napi_env env, napi_callback_info info) {
  ARGS(1);
  conn *c = conn_of(arg_num(env, argv[0]));
  if (!c) return num(env, -1);
  /* The FIN follows every byte written. */
  if (c->batched) batch_submit();
  c->state = ENDING;
  if (!c->head) shutdown(c->fd, SHUT_WR);
  return num(env, (double)c->queued);
}

/** destroy(id, reset): closes at once, without the close callback (the caller runs its own disconnect path). */
static napi_value js_destroy(napi_env env, napi_callback_info info) {
  ARGS(2);
  conn *c = conn_of(arg_num(env, argv[0]));
  if (!c) return num(env, -1);
  bool reset = false;
  napi_get_value_bool(env, argv[1], &reset);
  conn_finish(c, reset);
  return num(env, 0);
}

/** release(id): gives the connection up; returns a descriptor of it for a net.Socket (node:http's), or -1. */
static napi_value js_release(napi_env env, napi_callback_info info) {
  ARGS(1);
  conn *c = conn_of(arg_num(env, argv[0]));
  if (!c) return num(env, -1);
  /* Out of the edge's epoll set first (a dup keeps the registration alive otherwise), then a new
     descriptor for libuv's handle; this one is closed. */
  unwatch(c);
  int fd = fcntl(c->fd, F_DUPFD_CLOEXEC, 0);
  conn_finish(c, 0);
  if (fd < 0) return throw_errno(env, "dup", errno);
  return num(env, fd);
}

/** expired(edge, beforeMs): ids of connections that have sent nothing since before `beforeMs` (uv_hrtime ms). */
static napi_value js_expired(napi_env env, napi_callback_info info) {
  ARGS(2);
  edge *e = edge_of(env, argv[0]);
  double before = arg_num(env, argv[1]);
  napi_value out;
  napi_create_array(env, &out);
  uint32_t n = 0;
  for (conn *c = e ? e->pending : NULL; c; c = c->next_pending) {
    if (c->state == WAITING_HEAD && c->accepted_ms < before) napi_set_element(env, out, n++, num(env, conn_id(c)));
  }
  return out;
}

/** pending(edge): connections not yet a stream's nor given up (their request not read or not decided). */
static napi_value js_pending(napi_env env, napi_callback_info info) {
  ARGS(1);
  edge *e = edge_of(env, argv[0]);
  return num(env, e ? e->pending_count : 0);
}

/** pauses(edge): how often accepting paused for want of descriptors (or memory). */
static napi_value js_pauses(napi_env env, napi_callback_info info) {
  ARGS(1);
  edge *e = edge_of(env, argv[0]);
  return num(env, e ? e->pauses : 0);
}

/** closePending(edge): closes the connections whose request is not read or not decided (shutdown). */
static napi_value js_close_pending(napi_env env, napi_callback_info info) {
  ARGS(1);
  edge *e = edge_of(env, argv[0]);
  while (e && e->pending) {
    conn_finish(e->pending, 0);
  }
  return NULL;
}

/** submit(): hands the writes batched in this turn to the kernel (one system call). */
static napi_value js_submit(napi_env env, napi_callback_info info) {
  (void)env;
  (void)info;
  batch_submit();
  return NULL;
}

/**
 * batch(on): whether writes go through io_uring, batched (the default), or one send() each;
 * returns whether they are batched (false where the kernel or a seccomp profile refuses io_uring).
 */
static napi_value js_batch(napi_env env, napi_callback_info info) {
  ARGS(1);
  bool on = true;
  napi_get_value_bool(env, argv[0], &on);
  batch_wanted = on;
  if (on) batch_open(on_batch_done);
  napi_value out;
  napi_get_boolean(env, batch_set(on), &out);
  return out;
}

/** now(): the clock connections are stamped with (ms). */
static napi_value js_now(napi_env env, napi_callback_info info) {
  (void)info;
  return num(env, now_ms());
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"listen", NULL, js_listen, NULL, NULL, NULL, napi_default, NULL},
      {"unlisten", NULL, js_unlisten, NULL, NULL, NULL, napi_default, NULL},
      {"reserve", NULL, js_reserve, NULL, NULL, NULL, napi_default, NULL},
      {"unreserve", NULL, js_unreserve, NULL, NULL, NULL, napi_default, NULL},
      {"stream", NULL, js_stream, NULL, NULL, NULL, napi_default, NULL},
      {"write", NULL, js_write, NULL, NULL, NULL, napi_default, NULL},
      {"queued", NULL, js_queued, NULL, NULL, NULL, napi_default, NULL},
      {"end", NULL, js_end, NULL, NULL, NULL, napi_default, NULL},
      {"destroy", NULL, js_destroy, NULL, NULL, NULL, napi_default, NULL},
      {"release", NULL, js_release, NULL, NULL, NULL, napi_default, NULL},
      {"expired", NULL, js_expired, NULL, NULL, NULL, napi_default, NULL},
      {"pending", NULL, js_pending, NULL, NULL, NULL, napi_default, NULL},
      {"pauses", NULL, js_pauses, NULL, NULL, NULL, napi_default, NULL},
      {"closePending", NULL, js_close_pending, NULL, NULL, NULL, napi_default, NULL},
      {"now", NULL, js_now, NULL, NULL, NULL, napi_default, NULL},
      {"submit", NULL, js_submit, NULL, NULL, NULL, napi_default, NULL},
      {"batch", NULL, js_batch, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
