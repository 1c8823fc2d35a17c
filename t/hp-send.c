/* hp-send: sends a datagram to an event socket, as the alert agent does
 * (hp_send), a number of times at a given spacing; for the integration
 * tests.
 *
 *   hp-send SOCKET COUNT SPACING_MS MESSAGE
 *
 * MESSAGE is sent as given, a newline added. Prints "sent N failed M".
 * Exit status 0 when every datagram went. */
#include "config.h"

#include "hotplug/hotplug.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: hp-send SOCKET COUNT SPACING_MS MESSAGE\n");
    return 2;
  }
  long count = atol(argv[2]), spacing = atol(argv[3]);
  char msg[HP_DGRAM_MAX];
  int n = snprintf(msg, sizeof(msg), "%s\n", argv[4]);
  if (n < 0 || (size_t)n >= sizeof(msg)) {
    fprintf(stderr, "hp-send: message too long\n");
    return 2;
  }
  long sent = 0, failed = 0;
  for (long i = 0; i < count; i++) {
    if (i > 0 && spacing > 0) {
      struct timespec ts = {spacing / 1000, (spacing % 1000) * 1000000L};
      nanosleep(&ts, NULL);
    }
    if (hp_send(argv[1], msg, (size_t)n, 4000) == 0)
      sent++;
    else
      failed++;
  }
  printf("sent %ld failed %ld\n", sent, failed);
  return failed ? 1 : 0;
}
