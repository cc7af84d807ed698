/*
 * bpfkit's native boundary: raw Linux calls and nothing else.
 *
 * Every function returns the kernel's result, or -errno on failure; none throws for a
 * failed syscall. Validation, error messages and all logic live in TypeScript
 * (src/kernel/). Argument-type mistakes (a programming error in bpfkit itself) throw
 * a TypeError through N-API.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/perf_event.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <node_api.h>
#include <uv.h>

#define CHECK(call)                                                       \
  do {                                                                    \
    if ((call) != napi_ok) return throw_last(env);                        \
  } while (0)

static napi_value throw_last(napi_env env) {
  const napi_extended_error_info *info = NULL;
  napi_get_last_error_info(env, &info);
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) {
    napi_throw_type_error(env, NULL,
                          info && info->error_message ? info->error_message : "bpfkit native: bad argument");
  }
  return NULL;
}

static napi_value make_int(napi_env env, int64_t v) {
  napi_value out;
  napi_create_int64(env, v, &out);
  return out;
}

/* Data pointer and length of a TypedArray, DataView or ArrayBuffer argument. */
static int buffer_of(napi_env env, napi_value value, void **data, size_t *length) {
  bool is = false;
  napi_is_typedarray(env, value, &is);
  if (is) {
    napi_typedarray_type type;
    size_t count, offset;
    napi_value ab;
    if (napi_get_typedarray_info(env, value, &type, &count, data, &ab, &offset) != napi_ok) return -1;
    size_t elem = 1;
    switch (type) {
      case napi_int16_array: case napi_uint16_array: elem = 2; break;
      case napi_int32_array: case napi_uint32_array: case napi_float32_array: elem = 4; break;
      case napi_float64_array: case napi_bigint64_array: case napi_biguint64_array: elem = 8; break;
      default: elem = 1;
    }
    *length = count * elem;
    return 0;
  }
  napi_is_dataview(env, value, &is);
  if (is) {
    napi_value ab;
    size_t offset;
    return napi_get_dataview_info(env, value, length, data, &ab, &offset) == napi_ok ? 0 : -1;
  }
  napi_is_arraybuffer(env, value, &is);
  if (is) return napi_get_arraybuffer_info(env, value, data, length) == napi_ok ? 0 : -1;
  napi_throw_type_error(env, NULL, "expected a TypedArray, DataView or ArrayBuffer");
  return -1;
}

static int64_t int_arg(napi_env env, napi_value value, int *ok) {
  napi_valuetype t;
  napi_typeof(env, value, &t);
  if (t == napi_bigint) {
    int64_t v;
    bool lossless;
    *ok = napi_get_value_bigint_int64(env, value, &v, &lossless) == napi_ok;
    return v;
  }
  int64_t v = 0;
  *ok = napi_get_value_int64(env, value, &v) == napi_ok;
  return v;
}

#define ARGS(n)                                                             \
  size_t argc = n;                                                          \
  napi_value argv[n];                                                       \
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));              \
  if (argc < n) {                                                           \
    napi_throw_type_error(env, NULL, "bpfkit native: missing arguments");   \
    return NULL;                                                            \
  }

#define INT_ARG(name, i)                                                    \
  int ok_##name;                                                            \
  int64_t name = int_arg(env, argv[i], &ok_##name);                         \
  if (!ok_##name) return throw_last(env);

/* bpf(cmd, attr): the attr buffer's length is passed as the size. */
static napi_value js_bpf(napi_env env, napi_callback_info info) {
  ARGS(2);
  INT_ARG(cmd, 0);
  void *attr;
  size_t size;
  if (buffer_of(env, argv[1], &attr, &size) != 0) return NULL;
  long r = syscall(__NR_bpf, (int)cmd, attr, (unsigned int)size);
  return make_int(env, r < 0 ? -errno : r);
}

/*
 * The hot path of map element operations: bindAttr(buffer) returns a function (cmd) -> result whose
 * callback data is the buffer's address, so a call costs one argument read, the syscall
 * and one small integer (no slot lookup, no instance data, no 64-bit result). The bound
 * attr lives as long as the returned function (a reference keeps the buffer alive).
 */
typedef struct {
  void *data;
  size_t size;
  napi_ref ref;
} bound_attr_t;

static napi_value js_bound_bpf(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  bound_attr_t *bound = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, (void **)&bound) != napi_ok || argc < 1) return throw_last(env);
  int32_t cmd;
  CHECK(napi_get_value_int32(env, argv[0], &cmd));
  long r = syscall(__NR_bpf, cmd, bound->data, (unsigned int)bound->size);
  napi_value out;
  napi_create_int32(env, r < 0 ? -errno : (int32_t)r, &out);
  return out;
}

static void bound_attr_finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  bound_attr_t *bound = data;
  napi_delete_reference(env, bound->ref);
  free(bound);
}

static napi_value js_bind_attr(napi_env env, napi_callback_info info) {
  ARGS(1);
  void *attr;
  size_t size;
  if (buffer_of(env, argv[0], &attr, &size) != 0) return NULL;
  bound_attr_t *bound = calloc(1, sizeof *bound);
  if (!bound) return make_int(env, -ENOMEM);
  bound->data = attr;
  bound->size = size;
  napi_value fn;
  if (napi_create_reference(env, argv[0], 1, &bound->ref) != napi_ok ||
      napi_create_function(env, "boundBpf", NAPI_AUTO_LENGTH, js_bound_bpf, bound, &fn) != napi_ok ||
      napi_add_finalizer(env, fn, bound, bound_attr_finalize, NULL, NULL) != napi_ok) {
    /* Leaks at most one small struct on a failure that also throws. */
    return throw_last(env);
  }
  return fn;
}

/* perf_event_open(attr, pid, cpu, groupFd, flags) */
static napi_value js_perf_event_open(napi_env env, napi_callback_info info) {
  ARGS(5);
  void *attr;
  size_t size;
  if (buffer_of(env, argv[0], &attr, &size) != 0) return NULL;
  INT_ARG(pid, 1);
  INT_ARG(cpu, 2);
  INT_ARG(group, 3);
  INT_ARG(flags, 4);
  long r = syscall(__NR_perf_event_open, attr, (pid_t)pid, (int)cpu, (int)group, (unsigned long)flags);
  return make_int(env, r < 0 ? -errno : r);
}

/* ioctl(fd, request, arg): arg is an integer or a buffer (passed by address). */
static napi_value js_ioctl(napi_env env, napi_callback_info info) {
  ARGS(3);
  INT_ARG(fd, 0);
  INT_ARG(request, 1);
  napi_valuetype t;
  napi_typeof(env, argv[2], &t);
  long r;
  if (t == napi_number || t == napi_bigint) {
    INT_ARG(arg, 2);
    r = ioctl((int)fd, (unsigned long)request, (unsigned long)arg);
  } else {
    void *buf;
    size_t len;
    if (buffer_of(env, argv[2], &buf, &len) != 0) return NULL;
    r = ioctl((int)fd, (unsigned long)request, buf);
  }
  return make_int(env, r < 0 ? -errno : r);
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  ARGS(1);
  INT_ARG(fd, 0);
  int r = close((int)fd);
  return make_int(env, r < 0 ? -errno : 0);
}

/* pidfd_open(pid, 0) and pidfd_getfd(pidfd, fd, 0): a duplicate of another process's fd
 * (the mesh agent takes in sockets that were connected before it started). */
static napi_value js_pidfd_open(napi_env env, napi_callback_info info) {
  ARGS(1);
  INT_ARG(pid, 0);
  long r = syscall(SYS_pidfd_open, (pid_t)pid, 0);
  return make_int(env, r < 0 ? -errno : r);
}

static napi_value js_pidfd_getfd(napi_env env, napi_callback_info info) {
  ARGS(2);
  INT_ARG(pidfd, 0);
  INT_ARG(fd, 1);
  long r = syscall(SYS_pidfd_getfd, (int)pidfd, (int)fd, 0);
  return make_int(env, r < 0 ? -errno : r);
}

/* An mmapped region lent to JavaScript as an external ArrayBuffer. */
typedef struct {
  void *addr;
  size_t length;
  int mapped;
  /* Two owners: the ArrayBuffer's backing store and the wrap that munmap() reads. */
  int owners;
} mapping_t;

static void mapping_release(mapping_t *m) {
  if (--m->owners == 0) free(m);
}

/* The backing store is gone (collected, or detached by munmap()). */
static void mapping_store_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)data;
  mapping_t *m = hint;
  if (m->mapped) {
    munmap(m->addr, m->length);
    m->mapped = 0;
  }
  mapping_release(m);
}

static void mapping_wrap_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  mapping_release(data);
}

/* mmap(fd, length, prot, flags, offset) -> ArrayBuffer, or -errno. */
static napi_value js_mmap(napi_env env, napi_callback_info info) {
  ARGS(5);
  INT_ARG(fd, 0);
  INT_ARG(length, 1);
  INT_ARG(prot, 2);
  INT_ARG(flags, 3);
  INT_ARG(offset, 4);
  void *addr = mmap(NULL, (size_t)length, (int)prot, (int)flags, (int)fd, (off_t)offset);
  if (addr == MAP_FAILED) return make_int(env, -errno);
  mapping_t *m = malloc(sizeof *m);
  if (!m) {
    munmap(addr, (size_t)length);
    return make_int(env, -ENOMEM);
  }
  m->addr = addr;
  m->length = (size_t)length;
  m->mapped = 1;
  m->owners = 1;
  napi_value out;
  napi_status s = napi_create_external_arraybuffer(env, addr, (size_t)length, mapping_store_finalize, m, &out);
  if (s != napi_ok) {
    munmap(addr, (size_t)length);
    free(m);
    return throw_last(env);
  }
  /* Remember the mapping on the buffer itself so munmap() can find it. */
  m->owners++;
  if (napi_wrap(env, out, m, mapping_wrap_finalize, NULL, NULL) != napi_ok) m->owners--;
  return out;
}

/* munmap(arrayBuffer): unmaps and detaches it, so later access sees an empty buffer, not freed memory. */
static napi_value js_munmap(napi_env env, napi_callback_info info) {
  ARGS(1);
  mapping_t *m = NULL;
  if (napi_unwrap(env, argv[0], (void **)&m) != napi_ok || !m) {
    napi_throw_type_error(env, NULL, "munmap: not a buffer returned by mmap");
    return NULL;
  }
  if (!m->mapped) return make_int(env, 0);
  /* Unmap first, then detach: detaching may run the store finalizer, which must see it unmapped. */
  int r = munmap(m->addr, m->length);
  m->mapped = 0;
  CHECK(napi_detach_arraybuffer(env, argv[0]));
  return make_int(env, r < 0 ? -errno : 0);
}

/* setsockopt(fd, level, name, value buffer) */
static napi_value js_setsockopt(napi_env env, napi_callback_info info) {
  ARGS(4);
  INT_ARG(fd, 0);
  INT_ARG(level, 1);
  INT_ARG(name, 2);
  void *buf;
  size_t len;
  if (buffer_of(env, argv[3], &buf, &len) != 0) return NULL;
  int r = setsockopt((int)fd, (int)level, (int)name, buf, (socklen_t)len);
  return make_int(env, r < 0 ? -errno : 0);
}

/* getsockopt(fd, level, name, out buffer) -> bytes written, or -errno. */
static napi_value js_getsockopt(napi_env env, napi_callback_info info) {
  ARGS(4);
  INT_ARG(fd, 0);
  INT_ARG(level, 1);
  INT_ARG(name, 2);
  void *buf;
  size_t len;
  if (buffer_of(env, argv[3], &buf, &len) != 0) return NULL;
  socklen_t l = (socklen_t)len;
  int r = getsockopt((int)fd, (int)level, (int)name, buf, &l);
  return make_int(env, r < 0 ? -errno : (int64_t)l);
}

/* address(buffer) -> BigInt: where its bytes are, for pointer fields of syscall structures. */
static napi_value js_address(napi_env env, napi_callback_info info) {
  ARGS(1);
  void *data;
  size_t len;
  if (buffer_of(env, argv[0], &data, &len) != 0) return NULL;
  napi_value out;
  CHECK(napi_create_bigint_uint64(env, (uint64_t)(uintptr_t)data, &out));
  return out;
}

/* fd readiness through libuv: poll(fd, events, callback(status, events)) -> handle. */
typedef struct {
  uv_poll_t handle;
  napi_env env;
  napi_ref callback;
  int closing;
} poller_t;

static void poller_closed(uv_handle_t *h) {
  poller_t *p = h->data;
  free(p);
}

static void poller_fired(uv_poll_t *h, int status, int events) {
  poller_t *p = h->data;
  if (p->closing) return;
  napi_env env = p->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value cb, global, argv[2], result;
  napi_get_reference_value(env, p->callback, &cb);
  napi_get_global(env, &global);
  napi_create_int32(env, status, &argv[0]);
  napi_create_int32(env, events, &argv[1]);
  napi_async_context ctx = NULL;
  napi_value resource_name;
  napi_create_string_utf8(env, "bpfkit.poll", NAPI_AUTO_LENGTH, &resource_name);
  /* make_callback runs microtasks and surfaces exceptions like any libuv-driven callback. */
  if (napi_async_init(env, NULL, resource_name, &ctx) == napi_ok) {
    napi_make_callback(env, ctx, global, cb, 2, argv, &result);
    napi_async_destroy(env, ctx);
  }
  napi_close_handle_scope(env, scope);
}

static void poller_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  poller_t *p = data;
  /* Collected while still open: stop it. The callback reference went with the env's refs. */
  if (!p->closing) {
    p->closing = 1;
    uv_poll_stop(&p->handle);
    uv_close((uv_handle_t *)&p->handle, poller_closed);
  }
}

static napi_value js_poll_start(napi_env env, napi_callback_info info) {
  ARGS(3);
  INT_ARG(fd, 0);
  INT_ARG(events, 1);
  struct uv_loop_s *loop;
  CHECK(napi_get_uv_event_loop(env, &loop));
  poller_t *p = calloc(1, sizeof *p);
  if (!p) return make_int(env, -ENOMEM);
  int r = uv_poll_init(loop, &p->handle, (int)fd);
  if (r < 0) {
    free(p);
    return make_int(env, r); /* libuv errors are -errno */
  }
  p->handle.data = p;
  p->env = env;
  if (napi_create_reference(env, argv[2], 1, &p->callback) != napi_ok) {
    uv_close((uv_handle_t *)&p->handle, poller_closed);
    return throw_last(env);
  }
  r = uv_poll_start(&p->handle, (int)events, poller_fired);
  if (r < 0) {
    napi_delete_reference(env, p->callback);
    p->closing = 1;
    uv_close((uv_handle_t *)&p->handle, poller_closed);
    return make_int(env, r);
  }
  napi_value handle;
  CHECK(napi_create_object(env, &handle));
  CHECK(napi_wrap(env, handle, p, poller_finalize, NULL, NULL));
  return handle;
}

/* pollStop(handle): stops watching; the callback is released. Idempotent. */
static napi_value js_poll_stop(napi_env env, napi_callback_info info) {
  ARGS(1);
  poller_t *p = NULL;
  if (napi_remove_wrap(env, argv[0], (void **)&p) != napi_ok || !p) return make_int(env, 0);
  if (!p->closing) {
    p->closing = 1;
    uv_poll_stop(&p->handle);
    napi_delete_reference(env, p->callback);
    uv_close((uv_handle_t *)&p->handle, poller_closed);
  }
  return make_int(env, 0);
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"bpf", NULL, js_bpf, NULL, NULL, NULL, napi_enumerable, NULL},
      {"bindAttr", NULL, js_bind_attr, NULL, NULL, NULL, napi_enumerable, NULL},
      {"perfEventOpen", NULL, js_perf_event_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"ioctl", NULL, js_ioctl, NULL, NULL, NULL, napi_enumerable, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_enumerable, NULL},
      {"pidfdOpen", NULL, js_pidfd_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"pidfdGetfd", NULL, js_pidfd_getfd, NULL, NULL, NULL, napi_enumerable, NULL},
      {"mmap", NULL, js_mmap, NULL, NULL, NULL, napi_enumerable, NULL},
      {"munmap", NULL, js_munmap, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setsockopt", NULL, js_setsockopt, NULL, NULL, NULL, napi_enumerable, NULL},
      {"getsockopt", NULL, js_getsockopt, NULL, NULL, NULL, napi_enumerable, NULL},
      {"address", NULL, js_address, NULL, NULL, NULL, napi_enumerable, NULL},
      {"pollStart", NULL, js_poll_start, NULL, NULL, NULL, napi_enumerable, NULL},
      {"pollStop", NULL, js_poll_stop, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
