/* pm.c: buffers, atomic file replacement and argv-only process spawning. */
#include "config.h"

#include "pm.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define PM_SPAWN_CAPTURE_MAX (16u << 20)

int pm_buf_reserve(pm_buf_t *b, size_t extra) {
  if (b->err)
    return b->err;
  if (b->len + extra + 1 <= b->cap)
    return 0;
  if (extra > SIZE_MAX / 2 - b->len)
    return b->err = -ENOMEM;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < b->len + extra + 1)
    cap *= 2;
  char *p = realloc(b->data, cap);
  if (!p)
    return b->err = -ENOMEM;
  p[b->len] = '\0'; /* data is a string from its first allocation on */
  b->data = p;
  b->cap = cap;
  return 0;
}

int pm_buf_append(pm_buf_t *b, const void *p, size_t n) {
  int r = pm_buf_reserve(b, n);
  if (r < 0)
    return r;
  if (n)
    memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = '\0';
  return 0;
}

int pm_buf_puts(pm_buf_t *b, const char *s) {
  return pm_buf_append(b, s, strlen(s));
}

int pm_buf_putc(pm_buf_t *b, char c) { return pm_buf_append(b, &c, 1); }

int pm_buf_vprintf(pm_buf_t *b, const char *fmt, va_list ap) {
  va_list aq;
  va_copy(aq, ap);
  int n = vsnprintf(NULL, 0, fmt, aq);
  va_end(aq);
  if (n < 0)
    return b->err = -EINVAL;
  int r = pm_buf_reserve(b, (size_t)n);
  if (r < 0)
    return r;
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  b->len += (size_t)n;
  return 0;
}

int pm_buf_printf(pm_buf_t *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int r = pm_buf_vprintf(b, fmt, ap);
  va_end(ap);
  return r;
}

void pm_buf_reset(pm_buf_t *b) {
  b->len = 0;
  if (b->data)
    b->data[0] = '\0';
}

void pm_buf_free(pm_buf_t *b) {
  if (!b)
    return;
  free(b->data);
  *b = (pm_buf_t){0};
}

const char *pm_strerror(int r) {
  return r == -PM_ENOTREG ? "not a regular file" : strerror(r < 0 ? -r : r);
}

int pm_regular_file(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0)
    return -errno;
  struct stat st;
  int r = fstat(fd, &st) < 0 ? -errno : S_ISREG(st.st_mode) ? 0 : -PM_ENOTREG;
  close(fd);
  return r;
}

int pm_file_read(const char *path, size_t max, pm_buf_t *out) {
  /* O_NONBLOCK: opening a FIFO for reading would otherwise wait for a
   * writer, forever. It does not change how a regular file reads. */
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0)
    return -errno;
  int r = 0;
  struct stat st;
  if (fstat(fd, &st) < 0)
    r = -errno;
  else if (!S_ISREG(st.st_mode))
    r = -PM_ENOTREG;
  if (r < 0) {
    close(fd);
    return r;
  }
  pm_buf_reset(out);
  /* One allocation for a regular file; /proc files report size 0. */
  if (st.st_size > 0 && (size_t)st.st_size <= max)
    pm_buf_reserve(out, (size_t)st.st_size + 1);
  for (;;) {
    r = pm_buf_reserve(out, out->cap - out->len > 4096 ? 0 : 65536);
    if (r < 0)
      break;
    ssize_t n = read(fd, out->data + out->len, out->cap - out->len - 1);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      r = -errno;
      break;
    }
    if (n == 0)
      break;
    out->len += (size_t)n;
    out->data[out->len] = '\0';
    if (out->len > max) {
      r = -EFBIG;
      break;
    }
  }
  close(fd);
  return r;
}

static int same_content(const char *path, const void *data, size_t len) {
  pm_buf_t cur = {0};
  int r = pm_file_read(path, len, &cur);
  int same = r == 0 && cur.len == len &&
             (len == 0 || memcmp(cur.data, data, len) == 0);
  pm_buf_free(&cur);
  return same;
}

/* Writes with write() or, for a socket, send() without SIGPIPE. */
static int put_all(int fd, const void *data, size_t len, bool sock) {
  const char *p = data;
  while (len > 0) {
    ssize_t n = sock ? send(fd, p, len, MSG_NOSIGNAL) : write(fd, p, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return -errno;
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

int pm_write_all(int fd, const void *data, size_t len) {
  return put_all(fd, data, len, false);
}

int pm_send_all(int fd, const void *data, size_t len) {
  return put_all(fd, data, len, true);
}

/* For a target that is not a regular file (/dev/stdout, a FIFO): no
 * temporary file and no rename, which would replace the device itself. */
static int write_in_place(const char *path, const void *data, size_t len) {
  int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    return -errno;
  int r = pm_write_all(fd, data, len);
  if (close(fd) < 0 && r == 0)
    r = -errno;
  return r < 0 ? r : 1;
}

int pm_file_replace(const char *path, const void *data, size_t len,
                    mode_t mode) {
  char real[PATH_MAX];
  struct stat st;
  /* A symlink stays: the file it points to is replaced. */
  if (realpath(path, real))
    path = real;
  if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
    return write_in_place(path, data, len);
  if (same_content(path, data, len))
    return 0;
  size_t plen = strlen(path);
  if (plen + sizeof(".tmpXXXXXX") > PATH_MAX)
    return -ENAMETOOLONG;
  char tmp[PATH_MAX];
  memcpy(tmp, path, plen);
  memcpy(tmp + plen, ".tmpXXXXXX", sizeof(".tmpXXXXXX"));
  int fd = mkostemp(tmp, O_CLOEXEC);
  if (fd < 0)
    return -errno;
  int r = pm_write_all(fd, data, len);
  if (r == 0 && fchmod(fd, mode) < 0)
    r = -errno;
  if (r == 0 && fsync(fd) < 0)
    r = -errno;
  if (close(fd) < 0 && r == 0)
    r = -errno;
  if (r == 0 && rename(tmp, path) < 0)
    r = -errno;
  if (r < 0) {
    unlink(tmp);
    return r;
  }
  return 1;
}

/* Reads what is available from *fd into b; closes it at EOF. Past the cap
 * the rest is drained and dropped (so the child never blocks) and *cut set. */
static void drain(int *fd, pm_buf_t *b, bool *cut) {
  char chunk[8192];
  ssize_t n = read(*fd, chunk, sizeof(chunk));
  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return;
  if (n <= 0) {
    close(*fd);
    *fd = -1;
    return;
  }
  if (b && b->len + (size_t)n <= PM_SPAWN_CAPTURE_MAX)
    pm_buf_append(b, chunk, (size_t)n);
  else if (b)
    *cut = true;
}

/* Finds prog like execvp() would, so a missing program is -ENOENT on every
 * libc and under valgrind (where posix_spawn cannot report exec failures). */
static int resolve_program(const char *prog, char ret_path[PATH_MAX]) {
  if (strchr(prog, '/')) {
    if (access(prog, X_OK) < 0)
      return -errno;
    snprintf(ret_path, PATH_MAX, "%s", prog);
    return 0;
  }
  const char *path = getenv("PATH");
  if (!path || !*path)
    path = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";
  for (const char *p = path; *p;) {
    size_t n = strcspn(p, ":");
    int len =
        snprintf(ret_path, PATH_MAX, "%.*s/%s", (int)n, n ? p : ".", prog);
    if (len > 0 && len < PATH_MAX && access(ret_path, X_OK) == 0)
      return 0;
    p += n;
    if (*p == ':')
      p++;
  }
  return -ENOENT;
}

/* The program's process, a copy of the watcher (signals default and
 * unblocked): stdin from /dev/null, stdout and stderr into the pipes, then
 * prog. Only system calls. Never returns. */
static void exec_child(const char *prog, char *const argv[], int out, int err) {
  /* The pipes above 2 first, so no dup2 below overwrites one (a caller
   * may run with 0-2 closed); all of them close at exec but 0-2. */
  out = fcntl(out, F_DUPFD_CLOEXEC, 3);
  err = fcntl(err, F_DUPFD_CLOEXEC, 3);
  int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (out < 0 || err < 0 || in < 0)
    _exit(127);
  if ((in == 0 ? fcntl(0, F_SETFD, 0) : dup2(in, 0)) < 0 || dup2(out, 1) < 0 ||
      dup2(err, 2) < 0)
    _exit(127);
  execve(prog, argv, environ);
  _exit(127);
}

/* Reads exactly len bytes: 0, or -1 at an early end or an error. */
static int read_full(int fd, void *buf, size_t len) {
  for (size_t got = 0; got < len;) {
    ssize_t n = read(fd, (char *)buf + got, len - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return -1;
    got += (size_t)n;
  }
  return 0;
}

/* The watcher child of pm_spawn: starts prog as its own child, writes its
 * pid and then its wait status to status, and exits. It keeps no other
 * descriptor open, so no other spawn's pipes stay open through it. Only
 * system calls (the copy may hold another thread's locks). */
static void watch_child(const char *prog, char *const argv[], int out, int err,
                        int status) {
  struct sigaction dfl = {.sa_handler = SIG_DFL};
  for (int sig = 1; sig < NSIG; sig++)
    sigaction(sig, &dfl, NULL); /* SIGKILL, SIGSTOP, the RT ones libc keeps:
                                   refused, harmlessly */
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  pid_t pid =
      (pid_t)syscall(SYS_clone, (unsigned long)SIGCHLD, NULL, NULL, NULL, NULL);
  if (pid == 0)
    exec_child(prog, argv, out, err);
  int fd = fcntl(status, F_DUPFD_CLOEXEC, 3);
  if (fd < 0 || pid < 0)
    _exit(127);
  syscall(SYS_close_range, 0U, (unsigned)fd - 1, 0U);
  syscall(SYS_close_range, (unsigned)fd + 1, ~0U, 0U);
  int st = 0;
  if (pm_write_all(fd, &pid, sizeof(pid)) < 0)
    _exit(127);
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR)
      _exit(127);
  _exit(pm_write_all(fd, &st, sizeof(st)) < 0 ? 127 : 0);
}

int pm_spawn(char *const argv[], int timeout_ms, pm_buf_t *out, pm_buf_t *err,
             int *ret_status) {
  int po[2] = {-1, -1}, pe[2] = {-1, -1}, ps[2] = {-1, -1};
  pid_t pid = -1, watcher = -1;
  int r;

  char prog[PATH_MAX];
  if (!argv || !argv[0])
    return -EINVAL;
  r = resolve_program(argv[0], prog);
  if (r < 0)
    return r;
  if (pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0) {
    r = -errno;
    goto out_pipes;
  }
  /* The program runs as the grandchild: a watcher child (signals default,
   * SIGCHLD included) waits for it and passes on its pid, then its wait
   * status. A host that ignores SIGCHLD (collectd does) has its own
   * children reaped by the kernel the moment they exit, their status lost;
   * the watcher's is not needed. */
  if (pipe2(ps, O_CLOEXEC) < 0) {
    r = -errno;
    goto out_pipes;
  }
  watcher =
      (pid_t)syscall(SYS_clone, (unsigned long)SIGCHLD, NULL, NULL, NULL, NULL);
  if (watcher == 0)
    watch_child(prog, argv, po[1], pe[1], ps[1]);
  r = watcher < 0 ? -errno : 0;
  close(po[1]);
  close(pe[1]);
  close(ps[1]);
  po[1] = pe[1] = ps[1] = -1;
  if (r == 0 && read_full(ps[0], &pid, sizeof(pid)) < 0)
    r = -ECHILD; /* the watcher could not start the program */
  if (r < 0)
    goto out_pipes;

  uint64_t deadline =
      timeout_ms > 0 ? pm_now_ns() + (uint64_t)timeout_ms * 1000000u : 0;
  bool out_cut = false, err_cut = false;
  while (po[0] >= 0 || pe[0] >= 0) {
    struct pollfd pfd[2] = {{.fd = po[0], .events = POLLIN},
                            {.fd = pe[0], .events = POLLIN}};
    int wait_ms = -1;
    if (deadline) {
      uint64_t now = pm_now_ns();
      if (now >= deadline) {
        r = -ETIMEDOUT;
        break;
      }
      wait_ms = (int)((deadline - now) / 1000000u) + 1;
    }
    int n = poll(pfd, 2, wait_ms);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      r = -errno;
      break;
    }
    if (po[0] >= 0 && pfd[0].revents)
      drain(&po[0], out, &out_cut);
    if (pe[0] >= 0 && pfd[1].revents)
      drain(&pe[0], err, &err_cut);
  }
  if (r < 0)
    kill(pid, SIGKILL);
  int status = 0;
  if (read_full(ps[0], &status, sizeof(status)) < 0 && r == 0)
    r = -ECHILD; /* the watcher died: the status is unknown */
  if (r == 0 && ret_status)
    *ret_status = status;
  /* Output cut short is not output: say so rather than parse half of it. */
  if (r == 0 && out_cut)
    r = -EFBIG;
out_pipes:
  for (int i = 0; i < 2; i++) {
    if (po[i] >= 0)
      close(po[i]);
    if (pe[i] >= 0)
      close(pe[i]);
    if (ps[i] >= 0)
      close(ps[i]);
  }
  /* The watcher exits once it has said the status (ECHILD: the kernel
   * reaped it already). */
  while (watcher > 0 && waitpid(watcher, NULL, 0) < 0 && errno == EINTR)
    ;
  return r;
}

void pm_error_set(pm_error_t *e, const char *file, unsigned line,
                  const char *text, const char *fmt, ...) {
  if (!e)
    return;
  snprintf(e->file, sizeof(e->file), "%s", file ? file : "");
  e->line = line;
  e->column = 0;
  snprintf(e->text, sizeof(e->text), "%s", text ? text : "");
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
  va_end(ap);
}

const char *pm_error_str(const pm_error_t *e, char *buf, size_t len) {
  pm_buf_t b = {0};
  if (e->file[0])
    pm_buf_printf(&b, "%s:", e->file);
  if (e->line)
    pm_buf_printf(&b, "%u:", e->line);
  if (e->column)
    pm_buf_printf(&b, "%u:", e->column);
  pm_buf_printf(&b, "%s%s", b.len ? " " : "", e->msg);
  if (e->text[0])
    pm_buf_printf(&b, ": '%s'", e->text);
  snprintf(buf, len, "%s", b.data ? b.data : "");
  pm_buf_free(&b);
  /* The text may come from any input (a crm_mon reply, a pattern file):
   * it is going to a log. */
  return pm_printable(buf);
}

char *pm_printable(char *s) {
  for (unsigned char *p = (unsigned char *)s; *p; p++)
    if (*p < 0x20 || *p == 0x7f)
      *p = '?';
  return s;
}

uint64_t pm_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int64_t pm_wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
