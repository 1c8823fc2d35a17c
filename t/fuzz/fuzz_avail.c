/* fuzz_avail: the availability journal's parsers on arbitrary input. The
 * first byte picks one: 0 a journal file (every line parsed, the events
 * replayed into a report and formatted), 1 crm_mon XML reconciled into a
 * journal that already holds a node and a resource. Nothing may crash or
 * leak. */
#include "config.h"

#include "avail.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  char path[] = "/tmp/fuzz_avail.XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0)
    return 0;
  pm_error_t err = {0};
  if (data[0] % 2 == 0) {
    if (pm_write_all(fd, data + 1, size - 1) == 0) {
      av_event_t *ev = NULL;
      size_t n = 0;
      av_report_t *r = NULL;
      pm_buf_t out = {0};
      if (av_journal_load(path, &ev, &n, NULL, &err) == 0 &&
          av_report_new(ev, n, INT64_MIN, INT64_MAX, &r) == 0)
        av_report_format(r, &out);
      pm_buf_free(&out);
      av_report_free(r);
      free(ev);
    }
  } else {
    static const char seed[] = "1 node member n1\n2 resource start a n1\n";
    av_journal_t *j = NULL;
    if (pm_write_all(fd, seed, strlen(seed)) == 0 &&
        av_journal_open(path, &j, NULL, &err) == 0)
      av_journal_reconcile(j, (const char *)data + 1, size - 1,
                           (const char *)data + 1, size - 1, "fuzz", 3, &err);
    av_journal_free(j);
  }
  close(fd);
  unlink(path);
  return 0;
}
