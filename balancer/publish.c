/* publish.c: PUTVAL to collectd's unixsock and the journal. */
#include "config.h"

#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* Reads one line (up to \n) from fd into buf. */
static int read_line(int fd, char *buf, size_t len) {
  size_t o = 0;
  while (o + 1 < len) {
    ssize_t n = read(fd, buf + o, 1);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return -errno;
    if (n == 0)
      return -ECONNRESET;
    if (buf[o] == '\n')
      break;
    o++;
  }
  buf[o] = '\0';
  return 0;
}

int bal_putval(const char *sock, const pm_buf_t *cmds, pm_buf_t *err) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(sock) >= sizeof(sa.sun_path)) {
    pm_buf_printf(err, "%s: socket path too long", sock);
    return -ENAMETOOLONG;
  }
  strcpy(sa.sun_path, sock);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -errno;
  struct timeval tv = {.tv_sec = 5};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  int r = 0;
  if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
    r = -errno;
    pm_buf_printf(err, "%s: %s", sock, strerror(-r));
    goto out;
  }
  /* One command per line; collectd answers each with a status line. */
  for (const char *p = cmds->data; r == 0 && p && *p;) {
    const char *nl = strchr(p, '\n');
    size_t len = nl ? (size_t)(nl - p) + 1 : strlen(p);
    r = pm_send_all(fd, p, len);
    char line[512];
    if (r == 0)
      r = read_line(fd, line, sizeof(line));
    if (r == 0 && atoi(line) < 0) {
      pm_buf_printf(err, "%s%.*s: %s", err->len ? "; " : "",
                    (int)(len && p[len - 1] == '\n' ? len - 1 : len), p, line);
      r = -EPROTO;
    } else if (r < 0) {
      pm_buf_printf(err, "%s: %s", sock, strerror(-r));
    }
    p += len;
  }
out:
  close(fd);
  return r;
}

int bal_journal(const char *path, time_t now, const char *fmt, ...) {
  if (!path || !*path)
    return 0;
  char ts[32];
  struct tm tm;
  gmtime_r(&now, &tm);
  strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
  pm_buf_t b = {0};
  va_list ap;
  va_start(ap, fmt);
  int r = pm_buf_printf(&b, "%s ", ts);
  if (r == 0)
    r = pm_buf_vprintf(&b, fmt, ap);
  va_end(ap);
  if (r == 0)
    r = pm_buf_putc(&b, '\n');
  if (r < 0) {
    pm_buf_free(&b);
    return r;
  }
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    r = -errno;
    pm_buf_free(&b);
    return r;
  }
  /* One write: lines from concurrent writers do not interleave. */
  ssize_t w = write(fd, b.data, b.len);
  if (w < 0 || (size_t)w != b.len)
    r = w < 0 ? -errno : -EIO;
  if (close(fd) < 0 && r == 0)
    r = -errno;
  pm_buf_free(&b);
  return r;
}
