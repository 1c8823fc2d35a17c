/* bench-expand: one timed expansion, phase by phase, with peak RSS.
 *
 *   bench-expand PATTERNS SNAPSHOT
 *
 * Prints "parse_ms load_ms expand_ms format_ms total_ms entries peak_kib":
 * the whole job patmon-expand --snapshot does, inside one process. */
#include "config.h"

#include "pattern.h"

#include <stdio.h>
#include <sys/resource.h>

static double ms(uint64_t a, uint64_t b) { return (double)(b - a) / 1e6; }

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: bench-expand PATTERNS SNAPSHOT\n");
    return 2;
  }
  pat_set_t *set = NULL;
  pat_inventory_t *inv = NULL;
  pat_entries_t *e = NULL;
  pm_error_t err = {0};
  pm_buf_t out = {0};
  char msg[1200];
  uint64_t t0 = pm_now_ns();
  if (pat_set_load(argv[1], &set, &err) < 0)
    goto fail;
  uint64_t t1 = pm_now_ns();
  if (pat_inventory_load(argv[2], &inv, &err) < 0)
    goto fail;
  uint64_t t2 = pm_now_ns();
  if (pat_expand(set, inv, NULL, &e) < 0)
    return 1;
  uint64_t t3 = pm_now_ns();
  if (pat_entries_format(e, PAT_FORMAT_JSON, argv[1], &out) < 0)
    return 1;
  uint64_t t4 = pm_now_ns();
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("%.2f %.2f %.2f %.2f %.2f %zu %ld\n", ms(t0, t1), ms(t1, t2),
         ms(t2, t3), ms(t3, t4), ms(t0, t4), pat_entries_count(e),
         ru.ru_maxrss);
  pm_buf_free(&out);
  pat_entries_free(e);
  pat_inventory_free(inv);
  pat_set_free(set);
  return 0;
fail:
  fprintf(stderr, "bench-expand: %s\n", pm_error_str(&err, msg, sizeof(msg)));
  return 1;
}
