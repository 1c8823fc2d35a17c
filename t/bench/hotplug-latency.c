/* hotplug-latency: how fast a new NIC reaches the entries file and
 * collectd's cache, event by event.
 *
 *   hotplug-latency ENTRIES-FILE|- COLLECTD-SOCKET HOST COUNT PREFIX
 *
 * For each of COUNT tap devices PREFIX0, PREFIX1... (created with `ip tuntap
 * add`, one kernel event each): the time from running ip to the device's
 * entry in the entries file (inotify; "-": no entries file, as for
 * collectd's own interface plugin), from running ip to
 * interface-NAME/if_octets in collectd's cache (LISTVAL on the unixsock,
 * every 2 ms), and from `ip link del` to the entry leaving the file. Events
 * come at evenly spread phases of a second (a golden-ratio sequence). Prints
 * one line per event ("file cache gone" in ms, -1 where there is no file),
 * then nothing else: t/bench/hotplug summarises. Needs root. */
#include "config.h"

#include "cdsock.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/wait.h>
#include <unistd.h>

static double ms_since(uint64_t t0) { return (double)(pm_now_ns() - t0) / 1e6; }

static int run(char *const argv[]) {
  int st;
  return pm_spawn(argv, 5000, NULL, NULL, &st) == 0 && WIFEXITED(st) &&
                 WEXITSTATUS(st) == 0
             ? 0
             : -1;
}

static bool file_has(const char *path, const char *needle) {
  pm_buf_t b = {0};
  bool has = pm_file_read(path, 64u << 20, &b) == 0 && b.data &&
             strstr(b.data, needle);
  pm_buf_free(&b);
  return has;
}

/* Waits until the file does (or does not) contain needle, woken by
 * inotify on its directory (the file is replaced by rename). */
static int wait_file(int ifd, const char *path, const char *needle, bool want,
                     int timeout_ms) {
  uint64_t t0 = pm_now_ns();
  while (file_has(path, needle) != want) {
    int left = timeout_ms - (int)ms_since(t0);
    if (left <= 0)
      return -ETIMEDOUT;
    struct pollfd p = {.fd = ifd, .events = POLLIN};
    if (poll(&p, 1, left < 50 ? left : 50) > 0) {
      char buf[4096];
      while (read(ifd, buf, sizeof(buf)) > 0)
        ;
    }
  }
  return 0;
}

static bool cached(const char *sock, const char *id) {
  pm_buf_t b = {0};
  bool found = cd_listval(sock, &b) == 0 && b.data && strstr(b.data, id);
  pm_buf_free(&b);
  return found;
}

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: hotplug-latency ENTRIES-FILE|- SOCKET HOST COUNT "
                    "PREFIX\n");
    return 2;
  }
  const char *entries = strcmp(argv[1], "-") ? argv[1] : NULL;
  const char *sock = argv[2], *host = argv[3], *prefix = argv[5];
  int count = atoi(argv[4]);
  int ifd = -1;
  if (entries) {
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", entries);
    ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (ifd < 0 || inotify_add_watch(ifd, dirname(dir),
                                     IN_MOVED_TO | IN_CLOSE_WRITE) < 0) {
      perror("inotify");
      return 1;
    }
  }
  for (int i = 0; i < count; i++) {
    char name[32], needle[64], id[256];
    snprintf(name, sizeof(name), "%.20s%d", prefix, i);
    snprintf(needle, sizeof(needle), "\"instance\": \"%s\"", name);
    snprintf(id, sizeof(id), "%s/interface-%s/if_octets", host, name);
    char *add[] = {"ip", "tuntap", "add", name, "mode", "tap", NULL};
    char *del[] = {"ip", "link", "del", name, NULL};
    /* Events at every phase of collectd's read interval (1 s), evenly:
     * a plugin that reads on schedule waits half an interval on average. */
    usleep((useconds_t)(fmod(i * 0.6180339887, 1.0) * 1e6));
    uint64_t t0 = pm_now_ns();
    if (run(add) < 0) {
      fprintf(stderr, "ip tuntap add %s failed\n", name);
      return 1;
    }
    /* The cache is polled from the event on; the file is looked at too
     * when there is one, whichever comes first. */
    double file_ms = -1, value_ms = -1;
    int r = 0;
    while (r == 0 && value_ms < 0) {
      if (entries && file_ms < 0 && file_has(entries, needle))
        file_ms = ms_since(t0);
      if (cached(sock, id))
        value_ms = ms_since(t0);
      else if (ms_since(t0) > 10000)
        r = -ETIMEDOUT;
      else
        usleep(2000);
    }
    if (r == 0 && entries && file_ms < 0)
      r = wait_file(ifd, entries, needle, true, 5000);
    if (entries && file_ms < 0)
      file_ms = ms_since(t0);
    uint64_t t2 = pm_now_ns();
    run(del);
    int r2 = entries ? wait_file(ifd, entries, needle, false, 5000) : 0;
    double gone_ms = entries ? ms_since(t2) : -1;
    if (r < 0 || r2 < 0) {
      fprintf(stderr, "%s: timed out\n", name);
      return 1;
    }
    printf("%.2f %.2f %.2f\n", file_ms, value_ms, gone_ms);
    fflush(stdout);
  }
  return 0;
}
