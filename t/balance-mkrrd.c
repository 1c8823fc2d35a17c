/* balance-mkrrd: writes an RRD file shaped like collectd's rrdtool plugin
 * writes them (one RRA per consolidation AVERAGE, MIN, MAX at the step),
 * with librrd, for the balancer's integration tests.
 *
 *   balance-mkrrd [--ago S] FILE STEP SECONDS TYPE DS=V[:V2] ...
 *
 * Samples every STEP seconds over the SECONDS before now (minus --ago):
 * each DS goes linearly from V to V2 (V when no V2). TYPE is GAUGE or
 * DERIVE; for DERIVE, V is a rate and the file receives the counter, so
 * reading it back gives V, as collectd's ps_cputime does. Parent
 * directories are created. */
#include "config.h"

#include <errno.h>
#include <rrd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static int mkdirs(const char *file) {
  char path[4096];
  snprintf(path, sizeof(path), "%s", file);
  for (char *p = path + 1; *p; p++) {
    if (*p != '/')
      continue;
    *p = '\0';
    if (mkdir(path, 0755) < 0 && errno != EEXIST)
      return -errno;
    *p = '/';
  }
  return 0;
}

int main(int argc, char **argv) {
  long ago = 0;
  int a = 1;
  if (argc > 2 && strcmp(argv[1], "--ago") == 0) {
    ago = atol(argv[2]);
    a = 3;
  }
  if (argc - a < 5) {
    fprintf(stderr, "usage: balance-mkrrd [--ago S] FILE STEP SECONDS TYPE "
                    "DS=V[:V2] ...\n");
    return 2;
  }
  const char *file = argv[a];
  long step = atol(argv[a + 1]), span = atol(argv[a + 2]);
  const char *type = argv[a + 3];
  int nds = argc - a - 4;
  if (step <= 0 || span < step || nds > 8 ||
      (strcmp(type, "GAUGE") && strcmp(type, "DERIVE"))) {
    fprintf(stderr, "balance-mkrrd: bad step, span, type or DS count\n");
    return 2;
  }
  char name[8][20] = {{0}};
  double v0[8], v1[8], counter[8] = {0};
  const char *cargv[16];
  char defs[8][96], rra[3][64];
  for (int i = 0; i < nds; i++) {
    const char *spec = argv[a + 4 + i];
    const char *eq = strchr(spec, '=');
    if (!eq || eq == spec || eq - spec >= 19) {
      fprintf(stderr, "balance-mkrrd: bad DS spec '%s'\n", spec);
      return 2;
    }
    snprintf(name[i], sizeof(name[i]), "%.*s", (int)(eq - spec), spec);
    char *end;
    v0[i] = strtod(eq + 1, &end);
    v1[i] = *end == ':' ? strtod(end + 1, NULL) : v0[i];
    snprintf(defs[i], sizeof(defs[i]), "DS:%s:%s:%ld:0:U", name[i], type,
             2 * step);
    cargv[i] = defs[i];
  }
  long rows = span / step + 10;
  static const char *const cfs[] = {"AVERAGE", "MIN", "MAX"};
  for (int k = 0; k < 3; k++) {
    snprintf(rra[k], sizeof(rra[k]), "RRA:%s:0.5:1:%ld", cfs[k], rows);
    cargv[nds + k] = rra[k];
  }
  time_t end = time(NULL) - ago;
  time_t start = end - span;
  if (mkdirs(file) < 0) {
    perror(file);
    return 1;
  }
  remove(file);
  bool derive = strcmp(type, "DERIVE") == 0;
  /* A DERIVE needs one earlier counter for its first rate. */
  time_t first = derive ? start - step : start;
  if (rrd_create_r(file, (unsigned long)step, first - step, nds + 3, cargv) !=
      0) {
    fprintf(stderr, "balance-mkrrd: %s: %s\n", file, rrd_get_error());
    return 1;
  }
  for (time_t t = first; t <= end; t += step) {
    double f = t > start ? (double)(t - start) / (double)span : 0;
    char upd[512];
    int o = snprintf(upd, sizeof(upd), "%lld", (long long)t);
    for (int i = 0; i < nds; i++) {
      double v = v0[i] + (v1[i] - v0[i]) * f;
      if (derive) {
        counter[i] += t > first ? v * (double)step : 0;
        o += snprintf(upd + o, sizeof(upd) - (size_t)o, ":%.0f", counter[i]);
      } else {
        o += snprintf(upd + o, sizeof(upd) - (size_t)o, ":%.6f", v);
      }
    }
    const char *uargv[] = {upd};
    if (rrd_update_r(file, NULL, 1, uargv) != 0) {
      fprintf(stderr, "balance-mkrrd: %s: %s\n", file, rrd_get_error());
      return 1;
    }
  }
  return 0;
}
