/* cdsock.c: collectd's unixsock for benchmark helpers. */
#include "config.h"

#include "cdsock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int cd_listval(const char *sock, pm_buf_t *out) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
  if (fd < 0)
    return -errno;
  if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
      write(fd, "LISTVAL\n", 8) != 8) {
    int r = -errno;
    close(fd);
    return r;
  }
  pm_buf_t b = {0};
  char chunk[65536];
  ssize_t n;
  long want = -1, lines = 0;
  while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
    pm_buf_append(&b, chunk, (size_t)n);
    if (want < 0 && strchr(b.data, '\n'))
      want = strtol(b.data, NULL, 10);
    lines = 0;
    for (size_t i = 0; i < b.len; i++)
      lines += b.data[i] == '\n';
    if (want >= 0 && lines >= want + 1)
      break;
  }
  close(fd);
  const char *body = b.data ? strchr(b.data, '\n') : NULL;
  int r = want < 0 ? -EPROTO : pm_buf_puts(out, body ? body + 1 : "");
  pm_buf_free(&b);
  return r;
}
