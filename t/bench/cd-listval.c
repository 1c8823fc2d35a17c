/* cd-listval: collectd's unixsock LISTVAL as sent, "TIME IDENTIFIER" per
 * line (collectdctl drops the times). Benchmarks count read cycles with it.
 *
 *   cd-listval SOCKET */
#include "config.h"

#include "cdsock.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: cd-listval SOCKET\n");
    return 2;
  }
  pm_buf_t out = {0};
  int r = cd_listval(argv[1], &out);
  if (r < 0) {
    fprintf(stderr, "cd-listval: %s: %s\n", argv[1], strerror(-r));
    return 1;
  }
  fputs(out.data ? out.data : "", stdout);
  pm_buf_free(&out);
  return 0;
}
