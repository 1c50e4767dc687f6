// Batched UDP for the DNS listener: recvmmsg(2) in, sendmmsg(2) out.
//
// Why C: a Node UDP socket costs one system call, one trip through libuv and
// one call into JavaScript per packet, both ways. On a 2-core machine that,
// not our query path, is the ceiling (a bare Node echo server does ~100k
// packets/s; unbound does more). Here one readable event reads up to BATCH
// queries with one system call, hands them to JavaScript in one call, and
// sends every answer JavaScript gave during that call with one more.
//
// The contract with udp-batch.ts, per listener:
//   shared buffer = BATCH slots of SLOT bytes (packets in, answers out), then
//   BATCH meta records of META uint32s:
//     [0] packet length (0 = skip: truncated or unreadable)
//     [1] source port
//     [2] address family (4 or 6)
//     [3..6] source address, network byte order (IPv4 uses [3] only)
//     [7] answer length, written by JavaScript (0 = no answer in this batch)
//     [8] IPv6 scope (interface index of a link-local address; else 0)
//   The callback gets the number of packets. Answers given later (a cache
//   miss) go out through send(), one sendto(2) each.
//
// Only Linux has both calls; udp-batch.ts falls back to Node's socket
// elsewhere or when this file is not built.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <node_api.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <net/if.h>
#include <unistd.h>
#include <uv.h>

#define BATCH 64
#define SLOT 4096
#define META 9
#define BATCHES_PER_WAKEUP 4 /* then yield to the rest of the event loop */
#define MAGIC 0x47484254u

typedef struct {
  uint32_t magic;
  int fd;
  int family;
  int closed;     /* no more reading or sending */
  int uv_closed;  /* libuv is done with the poll handle */
  int js_gone;    /* the JavaScript handle was collected */
  uv_poll_t poll;
  napi_env env;
  napi_async_cleanup_hook_handle cleanup;
  napi_ref callback;
  napi_ref buffer;
  napi_async_context context;
  unsigned char *slots;
  uint32_t *meta;
  struct sockaddr_storage from[BATCH];
  struct mmsghdr in[BATCH];
  struct mmsghdr out[BATCH];
  struct iovec in_iov[BATCH];
  struct iovec out_iov[BATCH];
} listener_t;

static napi_value throw_errno(napi_env env, int err, const char *what, const char *host, uint32_t port) {
  char message[256];
  snprintf(message, sizeof message, "%s %s %s:%u", what, uv_err_name(uv_translate_sys_error(err)), host, port);
  napi_value code, msg, error;
  napi_create_string_utf8(env, uv_err_name(uv_translate_sys_error(err)), NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, code, msg, &error);
  napi_throw(env, error);
  return NULL;
}

static void write_meta(listener_t *l, int i, uint32_t length) {
  uint32_t *m = l->meta + i * META;
  m[0] = length;
  m[7] = 0;
  m[8] = 0;
  if (l->from[i].ss_family == AF_INET) {
    struct sockaddr_in *a = (struct sockaddr_in *)&l->from[i];
    m[1] = ntohs(a->sin_port);
    m[2] = 4;
    memcpy(&m[3], &a->sin_addr, 4);
  } else {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&l->from[i];
    m[1] = ntohs(a->sin6_port);
    m[2] = 6;
    memcpy(&m[3], &a->sin6_addr, 16);
    m[8] = a->sin6_scope_id;
  }
}

static void set_message(struct mmsghdr *m, struct iovec *iov, void *data, size_t length, struct sockaddr_storage *address, socklen_t address_length) {
  iov->iov_base = data;
  iov->iov_len = length;
  memset(&m->msg_hdr, 0, sizeof m->msg_hdr);
  m->msg_hdr.msg_iov = iov;
  m->msg_hdr.msg_iovlen = 1;
  m->msg_hdr.msg_name = address;
  m->msg_hdr.msg_namelen = address_length;
}

static void send_answers(listener_t *l, int n) {
  int count = 0;
  for (int i = 0; i < n; i++) {
    uint32_t length = l->meta[i * META + 7];
    if (length == 0 || length > SLOT) continue;
    set_message(&l->out[count], &l->out_iov[count], l->slots + (size_t)i * SLOT, length, &l->from[i], l->in[i].msg_hdr.msg_namelen);
    count++;
  }
  // A message the kernel refuses (full buffer) is lost, as a lost packet
  // would be: skip it and send the rest. The client retries.
  int done = 0;
  while (done < count) {
    int sent = sendmmsg(l->fd, l->out + done, count - done, 0);
    if (sent < 0 && errno == EINTR) continue;
    done += sent > 0 ? sent : 1;
  }
}

static void on_readable(uv_poll_t *handle, int status, int events) {
  listener_t *l = handle->data;
  // status < 0 means POLLERR, which an unconnected UDP socket without
  // IP_RECVERR does not raise; reading anyway costs one EAGAIN if it does.
  if (l->closed) return;
  for (int round = 0; round < BATCHES_PER_WAKEUP; round++) {
    int n = recvmmsg(l->fd, l->in, BATCH, MSG_DONTWAIT, NULL);
    if (n <= 0) return; /* EAGAIN: drained; other errors: try again on the next wakeup */
    for (int i = 0; i < n; i++) write_meta(l, i, (l->in[i].msg_hdr.msg_flags & MSG_TRUNC) ? 0 : l->in[i].msg_len);

    napi_env env = l->env;
    napi_handle_scope scope;
    napi_open_handle_scope(env, &scope);
    napi_value callback, receiver, count, result;
    napi_get_reference_value(env, l->callback, &callback);
    napi_get_global(env, &receiver); /* make_callback needs an object */
    napi_create_uint32(env, (uint32_t)n, &count);
    // make_callback, not call_function: it runs process.nextTick and promise
    // jobs afterwards, as Node does after its own socket callbacks.
    napi_status called = napi_make_callback(env, l->context, receiver, callback, 1, &count, &result);
    if (called == napi_pending_exception) {
      napi_value error;
      napi_get_and_clear_last_exception(env, &error);
      napi_fatal_exception(env, error);
    }
    napi_close_handle_scope(env, scope);
    if (l->closed) return;
    send_answers(l, n);
    // The headers were set up at listen (slots, addresses); of what the kernel
    // wrote back, only the address length needs resetting, for the n it filled.
    for (int i = 0; i < n; i++) l->in[i].msg_hdr.msg_namelen = sizeof l->from[i];
    if (n < BATCH) return;
  }
}

static listener_t *unwrap(napi_env env, napi_value value) {
  listener_t *l = NULL;
  if (napi_get_value_external(env, value, (void **)&l) != napi_ok || l == NULL || l->magic != MAGIC) {
    napi_throw_type_error(env, NULL, "not a UDP batch listener");
    return NULL;
  }
  return l;
}

// Closing runs in two steps. close_listener() stops reading and closes the
// socket at once (safe inside the batch callback); on_closed(), which libuv
// calls on a later turn of the loop, releases what JavaScript holds and the
// async context (never while the callback that uses them is running). The
// memory goes when both libuv and JavaScript are done with it, in whichever
// order that happens.
static void on_closed(uv_handle_t *handle) {
  listener_t *l = handle->data;
  napi_delete_reference(l->env, l->callback);
  napi_delete_reference(l->env, l->buffer);
  napi_async_destroy(l->env, l->context);
  // A worker thread that ends with the listener open waits for this (see js_listen).
  if (l->cleanup != NULL) napi_remove_async_cleanup_hook(l->cleanup);
  l->cleanup = NULL;
  l->uv_closed = 1;
  if (l->js_gone) free(l);
}

static void on_collected(napi_env env, void *data, void *hint) {
  listener_t *l = data;
  l->js_gone = 1;
  if (l->uv_closed) free(l);
}

static void close_listener(listener_t *l) {
  if (l->closed) return;
  l->closed = 1;
  uv_poll_stop(&l->poll);
  close(l->fd);
  uv_close((uv_handle_t *)&l->poll, on_closed);
}

static void on_env_teardown(napi_async_cleanup_hook_handle handle, void *data) {
  close_listener(data);
}

// An IP address, IPv6 with an optional %zone (an interface index or name).
static int parse_address(const char *host, uint32_t port, struct sockaddr_storage *out, socklen_t *length) {
  memset(out, 0, sizeof *out);
  struct sockaddr_in *a4 = (struct sockaddr_in *)out;
  struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)out;
  if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)port);
    *length = sizeof *a4;
    return AF_INET;
  }
  char text[64];
  snprintf(text, sizeof text, "%s", host);
  char *zone = strchr(text, '%');
  if (zone != NULL) *zone++ = '\0';
  if (inet_pton(AF_INET6, text, &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons((uint16_t)port);
    if (zone != NULL) {
      char *end;
      unsigned long index = strtoul(zone, &end, 10);
      a6->sin6_scope_id = (*zone != '\0' && *end == '\0') ? (uint32_t)index : if_nametoindex(zone);
    }
    *length = sizeof *a6;
    return AF_INET6;
  }
  return 0;
}

// listen(host, port, onBatch) -> [listener, sharedBuffer, boundPort]
static napi_value js_listen(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char host[64];
  size_t host_length;
  uint32_t port;
  napi_valuetype callback_type = napi_undefined;
  if (argc == 3) napi_typeof(env, argv[2], &callback_type);
  if (argc < 3 || napi_get_value_string_utf8(env, argv[0], host, sizeof host, &host_length) != napi_ok ||
      napi_get_value_uint32(env, argv[1], &port) != napi_ok || port > 65535 || callback_type != napi_function) {
    napi_throw_type_error(env, NULL, "listen(host, port, onBatch)");
    return NULL;
  }
  struct sockaddr_storage address;
  socklen_t address_length;
  int family = parse_address(host, port, &address, &address_length);
  if (!family) {
    napi_throw_type_error(env, NULL, "listen: host must be an IP address");
    return NULL;
  }
  int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, errno, "socket", host, port);
  int on = 1, size = 4 << 20;
  if (family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on) < 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, err, "setsockopt IPV6_V6ONLY", host, port);
  }
  // Busy resolvers need room for bursts; the kernel caps this at rmem_max.
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  struct sockaddr_storage bound;
  socklen_t bound_length = sizeof bound;
  if (bind(fd, (struct sockaddr *)&address, address_length) < 0 || getsockname(fd, (struct sockaddr *)&bound, &bound_length) < 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, err, "bind", host, port);
  }
  uint32_t bound_port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&bound)->sin_port : ((struct sockaddr_in6 *)&bound)->sin6_port);

  listener_t *l = calloc(1, sizeof *l);
  napi_value buffer;
  void *data;
  if (l == NULL || napi_create_buffer(env, (size_t)BATCH * SLOT + (size_t)BATCH * META * 4, &data, &buffer) != napi_ok) {
    free(l);
    close(fd);
    napi_throw_error(env, "ENOMEM", "listen: out of memory");
    return NULL;
  }
  uv_loop_t *loop;
  napi_get_uv_event_loop(env, &loop);
  int failed = uv_poll_init_socket(loop, &l->poll, fd);
  if (failed) {
    free(l);
    close(fd);
    return throw_errno(env, -failed, "uv_poll_init", host, port);
  }
  l->magic = MAGIC;
  l->fd = fd;
  l->family = family;
  l->env = env;
  l->slots = data;
  l->meta = (uint32_t *)(l->slots + (size_t)BATCH * SLOT);
  l->poll.data = l;
  // Rebuilding all BATCH headers before every recvmmsg cost more than the
  // call itself at a few packets per wakeup: they are built once, here.
  for (int i = 0; i < BATCH; i++) set_message(&l->in[i], &l->in_iov[i], l->slots + (size_t)i * SLOT, SLOT, &l->from[i], sizeof l->from[i]);
  napi_value resource_name, external, bound_value, result;
  napi_create_reference(env, argv[2], 1, &l->callback);
  napi_create_reference(env, buffer, 1, &l->buffer);
  napi_create_string_utf8(env, "gatehouse:udp-batch", NAPI_AUTO_LENGTH, &resource_name);
  napi_async_init(env, NULL, resource_name, &l->context);
  // If the thread's environment ends with the listener open (a worker thread
  // exits), Node keeps the loop turning until on_closed has run: without this
  // libuv would call on_closed after the addon's code was unloaded.
  napi_add_async_cleanup_hook(env, on_env_teardown, l, &l->cleanup);
  failed = uv_poll_start(&l->poll, UV_READABLE, on_readable);
  napi_create_external(env, l, on_collected, NULL, &external);
  if (failed) {
    close_listener(l);
    return throw_errno(env, -failed, "uv_poll_start", host, port);
  }
  napi_create_uint32(env, bound_port, &bound_value);
  napi_create_array_with_length(env, 3, &result);
  napi_set_element(env, result, 0, external);
  napi_set_element(env, result, 1, buffer);
  napi_set_element(env, result, 2, bound_value);
  return result;
}

// send(listener, packet, host, port): one answer outside a batch. Returns
// false when the kernel refused it (full buffer) or the address is bad.
static napi_value js_send(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4], result;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  listener_t *l = argc == 4 ? unwrap(env, argv[0]) : NULL;
  if (l == NULL) return NULL;
  void *data;
  size_t length;
  char host[64];
  size_t host_length;
  uint32_t port;
  if (napi_get_buffer_info(env, argv[1], &data, &length) != napi_ok ||
      napi_get_value_string_utf8(env, argv[2], host, sizeof host, &host_length) != napi_ok ||
      napi_get_value_uint32(env, argv[3], &port) != napi_ok) {
    napi_throw_type_error(env, NULL, "send(listener, buffer, host, port)");
    return NULL;
  }
  struct sockaddr_storage to;
  socklen_t to_length = 0;
  int ok = !l->closed && parse_address(host, port, &to, &to_length) == l->family;
  if (ok) {
    ssize_t sent;
    do sent = sendto(l->fd, data, length, 0, (struct sockaddr *)&to, to_length);
    while (sent < 0 && errno == EINTR);
    ok = sent >= 0;
  }
  napi_get_boolean(env, ok, &result);
  return result;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  listener_t *l = argc == 1 ? unwrap(env, argv[0]) : NULL;
  if (l != NULL) close_listener(l);
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_value fn, constant;
  napi_create_function(env, "listen", NAPI_AUTO_LENGTH, js_listen, NULL, &fn);
  napi_set_named_property(env, exports, "listen", fn);
  napi_create_function(env, "send", NAPI_AUTO_LENGTH, js_send, NULL, &fn);
  napi_set_named_property(env, exports, "send", fn);
  napi_create_function(env, "close", NAPI_AUTO_LENGTH, js_close, NULL, &fn);
  napi_set_named_property(env, exports, "close", fn);
  napi_create_uint32(env, BATCH, &constant);
  napi_set_named_property(env, exports, "BATCH", constant);
  napi_create_uint32(env, SLOT, &constant);
  napi_set_named_property(env, exports, "SLOT", constant);
  napi_create_uint32(env, META, &constant);
  napi_set_named_property(env, exports, "META", constant);
  return exports;
}
