/* storm-send: a burst of events for the pattern plugin.
 *
 *   storm-send SOCKET MESSAGES UEVENTS UEVENT-FILE SECONDS
 *
 * Spreads MESSAGES datagrams ("resource start stormN") to the event socket
 * and UEVENTS kernel uevents ("change" written to UEVENT-FILE, e.g.
 * /sys/class/net/lo/uevent) evenly over SECONDS, then prints how many of
 * each it sent and how long it took. Messages go as patmon-alert sends
 * them (hp_send, waiting up to SEND_WAIT_MS for room in a full queue). */
#include "config.h"

#include "hotplug/hotplug.h"
#include "pm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SEND_WAIT_MS 4000 /* patmon-alert's */

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr,
            "usage: storm-send SOCKET MESSAGES UEVENTS UEVENT-FILE SECONDS\n");
    return 2;
  }
  long msgs = atol(argv[2]), uevents = atol(argv[3]);
  double secs = atof(argv[5]);
  long total = msgs + uevents, sent_m = 0, sent_u = 0, failed = 0;
  uint64_t max_wait = 0;
  uint64_t t0 = pm_now_ns();
  for (long i = 0; i < total; i++) {
    /* Interleave the two kinds, paced to finish in `secs`. */
    uint64_t due = t0 + (uint64_t)((double)i / (double)total * secs * 1e9);
    uint64_t now = pm_now_ns();
    if (due > now) {
      struct timespec ts = {0, (long)(due - now)};
      nanosleep(&ts, NULL);
    }
    if (uevents && (i % (total / uevents)) == 0 && sent_u < uevents) {
      int u = open(argv[4], O_WRONLY | O_CLOEXEC);
      if (u >= 0 && write(u, "change", 6) == 6)
        sent_u++;
      else
        failed++;
      if (u >= 0)
        close(u);
    } else if (sent_m < msgs) {
      /* As the alert agent sends: waiting for room while the queue is
       * full, up to its budget. */
      char msg[64];
      int n = snprintf(msg, sizeof(msg), "resource start storm%ld\n", sent_m);
      uint64_t t = pm_now_ns();
      int r = hp_send(argv[1], msg, (size_t)n, SEND_WAIT_MS);
      uint64_t waited = pm_now_ns() - t;
      if (waited > max_wait)
        max_wait = waited;
      if (r == 0)
        sent_m++;
      else
        failed++;
    }
  }
  printf("sent %ld messages and %ld uevents in %.3f s (%ld failed sends, "
         "longest send %.1f ms)\n",
         sent_m, sent_u, (double)(pm_now_ns() - t0) / 1e9, failed,
         (double)max_wait / 1e6);
  return 0;
}
