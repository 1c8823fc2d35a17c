/* forecast-offline: the forecasts forecast/ makes for given samples, as the
 * collectd plugin would publish them (t/forecast-collectd.sh compares both).
 *
 *   forecast-offline [--window N] [--horizon H] [--refit-every R]
 *                    [--model M] [--coverage C] [--kind K] [--interval S]
 *                    --refit-after L
 *
 * Reads lines "time value..." (one value per data source; integers for
 * counters) from stdin and feeds them to one source of an fc_set, as the
 * plugin's write callback does; after line L it runs the refits that fell
 * due, as the plugin's read callback does when the samples pause. At the end
 * it prints one line per data source and horizon:
 *   ds h mean lower upper */
#include "config.h"

#include "forecast-args.h"
#include "forecast.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool yes(void *ctx) { return ctx != NULL; }

static const char *const kind_names[] = {
    [FC_KIND_GAUGE] = "gauge",
    [FC_KIND_COUNTER] = "counter",
    [FC_KIND_DERIVE] = "derive",
    [FC_KIND_ABSOLUTE] = "absolute",
};

int main(int argc, char **argv) {
  fc_params_t p;
  fc_params_default(&p);
  fc_kind_t kind = FC_KIND_GAUGE;
  long refit_after = -1;
  double interval = 10;
  static const struct option opts[] = {
      FC_ARGS_OPTIONS,
      {"kind", required_argument, 0, 'k'},
      {"refit-after", required_argument, 0, 'a'},
      {"interval", required_argument, 0, 'i'},
      {0, 0, 0, 0},
  };
  int c;
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    int r = fc_args_apply(c, optarg, &p);
    if (r < 0)
      return 2;
    if (r > 0)
      continue;
    switch (c) {
    case 'k':
      while (kind <= FC_KIND_ABSOLUTE && strcmp(kind_names[kind], optarg))
        kind++;
      if (kind > FC_KIND_ABSOLUTE)
        return 2;
      break;
    case 'a':
      refit_after = atol(optarg);
      break;
    case 'i':
      interval = atof(optarg);
      break;
    default:
      return 2;
    }
  }
  fc_error_t err;
  if (fc_params_check(&p, &err) < 0 || refit_after < 1) {
    fprintf(stderr, "forecast-offline: %s\n",
            refit_after < 1 ? "--refit-after is required" : err.msg);
    return 2;
  }
  fc_set_t *set = fc_set_new(&p, 0);
  fc_model_t *m = fc_model_new(&p);
  char line[1024];
  size_t n = 0;
  long lines = 0;
  fc_kind_t kinds[FC_SOURCE_MAX];
  while (set && m && fgets(line, sizeof(line), stdin)) {
    fc_raw_t raw[FC_SOURCE_MAX];
    char *s = line, *end;
    double t = strtod(s, &end);
    size_t k = 0;
    for (s = end; k < FC_SOURCE_MAX; s = end, k++) {
      if (kind == FC_KIND_GAUGE)
        raw[k].gauge = strtod(s, &end);
      else
        raw[k].derive = strtoll(s, &end, 10);
      if (end == s)
        break;
      kinds[k] = kind;
    }
    if (n == 0)
      n = k;
    fc_source_t *src;
    if (k != n || fc_set_acquire(set, "offline", t, interval, n, kinds, yes,
                                 set, &src) != 1) {
      fprintf(stderr, "forecast-offline: bad line %ld\n", lines + 1);
      return 1;
    }
    fc_source_observe(src, t, interval, raw);
    fc_source_release(src);
    if (++lines == refit_after)
      fc_set_refit(set, m);
  }
  fc_source_t *src;
  if (!set || !m ||
      fc_set_acquire(set, "offline", 0, interval, n, kinds, yes, set, &src) !=
          1)
    return 1;
  for (size_t d = 0; d < n; d++) {
    double mean[FC_HORIZON_MAX], lo[FC_HORIZON_MAX], hi[FC_HORIZON_MAX];
    if (fc_source_forecast(src, d, mean, lo, hi) < 0) {
      fprintf(stderr, "forecast-offline: no model for data source %zu\n", d);
      return 1;
    }
    for (unsigned h = 0; h < p.horizon; h++)
      printf("%zu %u %.17g %.17g %.17g\n", d, h + 1, mean[h], lo[h], hi[h]);
  }
  fc_source_release(src);
  fc_model_free(m);
  fc_set_free(set);
  return 0;
}
