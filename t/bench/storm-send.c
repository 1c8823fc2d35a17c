/* storm-send: a burst of events for the pattern plugin.
 *
 *   storm-send SOCKET MESSAGES UEVENTS UEVENT-FILE SECONDS
 *
 * Spreads MESSAGES datagrams ("resource start stormN") to the event socket
 * and UEVENTS kernel uevents ("change" written to UEVENT-FILE, e.g.
 * /sys/class/net/lo/uevent) evenly over SECONDS, then prints how many of
 * each it sent and how long it took. */
#include "config.h"

#include "pm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr,
            "usage: storm-send SOCKET MESSAGES UEVENTS UEVENT-FILE SECONDS\n");
    return 2;
  }
  long msgs = atol(argv[2]), uevents = atol(argv[3]);
  double secs = atof(argv[5]);
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", argv[1]);
  if (fd < 0) {
    perror("socket");
    return 1;
  }
  long total = msgs + uevents, sent_m = 0, sent_u = 0, failed = 0;
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
      char msg[64];
      int n = snprintf(msg, sizeof(msg), "resource start storm%ld\n", sent_m);
      if (sendto(fd, msg, (size_t)n, MSG_DONTWAIT, (struct sockaddr *)&sa,
                 sizeof(sa)) == n)
        sent_m++;
      else
        failed++;
    }
  }
  printf("sent %ld messages and %ld uevents in %.3f s (%ld failed sends)\n",
         sent_m, sent_u, (double)(pm_now_ns() - t0) / 1e9, failed);
  close(fd);
  return 0;
}
