/* Tiny output helpers over WASI for the dynamic-linking tests (no libc). */
#ifndef TEST_IO_H
#define TEST_IO_H
typedef struct { const char *base; unsigned long len; } ciovec;
__attribute__((import_module("wasi_snapshot_preview1"), import_name("fd_write")))
int fd_write(int fd, const ciovec *iov, int n, unsigned long *written);
__attribute__((import_module("wasi_snapshot_preview1"), import_name("proc_exit")))
void proc_exit(int status);

static inline unsigned long str_len(const char *s) { unsigned long n = 0; while (s[n]) n++; return n; }
static inline void put(const char *s) {
  unsigned long written;
  ciovec iov = { s, str_len(s) };
  fd_write(1, &iov, 1, &written);
}
static inline void put_int(long v) {
  char buf[24]; int i = 23; int neg = v < 0; unsigned long u = neg ? -v : v;
  buf[i] = 0;
  do { buf[--i] = '0' + u % 10; u /= 10; } while (u);
  if (neg) buf[--i] = '-';
  put(buf + i);
}
#endif
