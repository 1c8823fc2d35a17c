/* cluster-watch: waits until a file (replaced atomically, like patmon's
 * entries file) contains a string, or no longer does, and prints the wall
 * clock time it saw that, as seconds since the epoch with microseconds.
 *
 *   cluster-watch [-n] FILE STRING [TIMEOUT-SECONDS]
 *
 * -n waits for the string to be gone. Woken by inotify on the file's
 * directory, so the time is that of the write to within a scheduling delay;
 * a poll every 50 ms covers events inotify may miss. Exit status 0 when
 * seen, 1 on timeout, 2 on bad arguments or an unwatchable directory. */
#include "config.h"

#include "pm.h"

#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

static bool file_has(const char *path, const char *needle) {
  pm_buf_t b = {0};
  bool has = pm_file_read(path, 64u << 20, &b) == 0 && b.data &&
             strstr(b.data, needle);
  pm_buf_free(&b);
  return has;
}

int main(int argc, char **argv) {
  bool gone = argc > 1 && strcmp(argv[1], "-n") == 0;
  if (gone) {
    argv++;
    argc--;
  }
  if (argc < 3 || argc > 4) {
    fprintf(stderr, "usage: cluster-watch [-n] FILE STRING [TIMEOUT]\n");
    return 2;
  }
  const char *path = argv[1], *needle = argv[2];
  double timeout = argc == 4 ? atof(argv[3]) : 30;
  char dir[PATH_MAX];
  snprintf(dir, sizeof(dir), "%s", path);
  int ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (ifd < 0 ||
      inotify_add_watch(ifd, dirname(dir),
                        IN_MOVED_TO | IN_CLOSE_WRITE | IN_CREATE) < 0) {
    perror("cluster-watch: inotify");
    return 2;
  }
  uint64_t t0 = pm_now_ns();
  while (file_has(path, needle) == gone) {
    double left = timeout * 1e3 - (double)(pm_now_ns() - t0) / 1e6;
    if (left <= 0)
      return 1;
    struct pollfd p = {.fd = ifd, .events = POLLIN};
    if (poll(&p, 1, left < 50 ? (int)left + 1 : 50) > 0) {
      char buf[4096];
      while (read(ifd, buf, sizeof(buf)) > 0)
        ;
    }
  }
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  printf("%lld.%06ld\n", (long long)now.tv_sec, now.tv_nsec / 1000);
  return 0;
}
