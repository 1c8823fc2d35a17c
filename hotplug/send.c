/* send.c: one datagram to patmon's event socket, as a sender that must not
 * lose it and must not hang (the Pacemaker alert agent) sends it. */
#include "config.h"

#include "hotplug.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

int hp_send(const char *path, const char *msg, size_t len, int wait_ms) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof(sa.sun_path))
    return -ENAMETOOLONG;
  strcpy(sa.sun_path, path);
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return -errno;
  int64_t deadline = now_ms() + (wait_ms > 0 ? wait_ms : 0);
  int r = 0, backoff = 1;
  /* Connected, so that poll() waits for room in the receiver's queue. */
  if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
    r = -errno;
    goto out;
  }
  for (;;) {
    if (send(fd, msg, len, MSG_NOSIGNAL) >= 0) {
      r = 0;
      break;
    }
    r = -errno;
    if (r != -EAGAIN && r != -EINTR && r != -ENOBUFS && r != -ENOMEM)
      break;
    int64_t left = deadline - now_ms();
    if (left <= 0)
      break;
    if (r == -EAGAIN) {
      /* The queue is full: woken as soon as the receiver takes one. */
      struct pollfd p = {.fd = fd, .events = POLLOUT};
      poll(&p, 1, (int)left);
    } else if (r != -EINTR) {
      /* Out of kernel memory: back off, 1 ms doubling up to 64 ms. */
      struct timespec ts = {0,
                            (long)(backoff < left ? backoff : left) * 1000000};
      nanosleep(&ts, NULL);
      backoff = backoff < 64 ? backoff * 2 : 64;
    }
  }
out:
  close(fd);
  return r;
}
