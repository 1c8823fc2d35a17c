/* forecast-bench: rolling evaluation and cost of forecast/ on real series.
 *
 *   forecast-bench [--window N] [--horizon H] [--model M] [--coverage C]
 *                  [--refit-every R] [--stride S] [--series N]
 *                  [--accuracy] [--cost] FILE.csv...
 *
 * Accuracy: for each CSV (timestamp,value) it feeds the samples in order, by
 * position, and at every origin from the first full window on refits when
 * due (every step by default) and forecasts h = 1..H. It prints one
 * tab-separated line per series:
 *   ACC name subset origins naive_h1 patmon_h1 naive_hH patmon_hH cov_h1 cov_hH
 * for subset "all" (every origin) and "sampled" (every S-th origin: the ones
 * the statsmodels peer evaluates). Errors are MASE: mean absolute error over
 * the origins divided by the series' mean absolute one-step change (the
 * in-sample naive MAE). cov_h is the share of outcomes inside the interval.
 * A MODELS line gives the share of origins with the last-value fallback,
 * with d = 1 and with MA terms.
 *
 * Cost: refit time at the window (median, 90th percentile), update time (one
 * sample fed through the installed model, and a forecast), and a fleet of N
 * series (default 10,000) sampled every 10 s with refit every 10 through an
 * fc_set as the collectd plugin drives it: CPU share of one core, update
 * cost per sample, bytes per series. */
#include "config.h"

#include "forecast-args.h"
#include "forecast.h"
#include "internal.h"
#include "pm.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct series_data {
  char name[128];
  double *x;
  size_t n;
} series_data_t;

static int load_csv(const char *path, series_data_t *ret) {
  pm_buf_t b = {0};
  int r = pm_file_read(path, 64u << 20, &b);
  if (r < 0)
    return r;
  size_t cap = 1024, n = 0;
  double *x = malloc(sizeof(double) * cap);
  char *save = NULL;
  for (char *line = strtok_r(b.data, "\n", &save); line && x;
       line = strtok_r(NULL, "\n", &save)) {
    char *comma = strrchr(line, ',');
    char *end;
    double v = comma ? strtod(comma + 1, &end) : NAN;
    if (!comma || end == comma + 1)
      continue; /* the header */
    if (n == cap) {
      double *nx = realloc(x, sizeof(double) * (cap *= 2));
      if (!nx) {
        free(x);
        x = NULL;
        break;
      }
      x = nx;
    }
    x[n++] = v;
  }
  pm_buf_free(&b);
  if (!x)
    return -ENOMEM;
  const char *base = strrchr(path, '/');
  snprintf(ret->name, sizeof(ret->name), "%s", base ? base + 1 : path);
  char *dot = strrchr(ret->name, '.');
  if (dot)
    *dot = '\0';
  ret->x = x;
  ret->n = n;
  return 0;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median_of(double *v, size_t n) {
  qsort(v, n, sizeof(double), cmp_double);
  return n == 0 ? NAN : n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Sums of absolute errors and interval hits over a set of origins. */
typedef struct score {
  size_t origins;
  double naive1, ours1, naiveh, oursh;
  size_t hit1, hith;
} score_t;

static void print_score(const char *name, const char *subset, const score_t *s,
                        double scale) {
  double n = (double)s->origins * scale;
  printf("ACC\t%s\t%s\t%zu\t%.4f\t%.4f\t%.4f\t%.4f\t%.3f\t%.3f\n", name, subset,
         s->origins, s->naive1 / n, s->ours1 / n, s->naiveh / n, s->oursh / n,
         (double)s->hit1 / (double)s->origins,
         (double)s->hith / (double)s->origins);
}

static int accuracy(const series_data_t *d, const fc_params_t *p,
                    unsigned stride) {
  fc_series_t *s = fc_series_new(p, FC_KIND_GAUGE);
  fc_model_t *m = fc_model_new(p);
  if (!s || !m) {
    fc_series_free(s);
    fc_model_free(m);
    return -ENOMEM;
  }
  double scale = 0;
  for (size_t t = 1; t < d->n; t++)
    scale += fabs(d->x[t] - d->x[t - 1]);
  scale /= (double)(d->n - 1);
  unsigned H = p->horizon;
  double mean[FC_HORIZON_MAX], lo[FC_HORIZON_MAX], hi[FC_HORIZON_MAX];
  score_t all = {0}, sampled = {0};
  size_t models[2][FC_MAX_P + 1][FC_MAX_Q + 1] = {{{0}}}, fallbacks = 0;
  for (size_t t = 0; t + H < d->n; t++) {
    fc_series_push(s, d->x[t]);
    if (t + 1 < p->window)
      continue;
    if (fc_series_refit_due(s))
      fc_series_refit(s, m);
    if (fc_series_forecast(s, mean, lo, hi) < 0)
      continue;
    fc_model_info_t info;
    fc_series_model(s, &info);
    models[info.d][info.p][info.q]++;
    fallbacks += info.fallback;
    double y1 = d->x[t + 1], yh = d->x[t + H];
    score_t *sets[] = {&all, (t + 1 - p->window) % stride == 0 ? &sampled : 0};
    for (size_t i = 0; i < 2; i++) {
      score_t *sc = sets[i];
      if (!sc)
        continue;
      sc->origins++;
      sc->naive1 += fabs(y1 - d->x[t]);
      sc->ours1 += fabs(y1 - mean[0]);
      sc->naiveh += fabs(yh - d->x[t]);
      sc->oursh += fabs(yh - mean[H - 1]);
      sc->hit1 += y1 >= lo[0] && y1 <= hi[0];
      sc->hith += yh >= lo[H - 1] && yh <= hi[H - 1];
    }
  }
  print_score(d->name, "all", &all, scale);
  print_score(d->name, "sampled", &sampled, scale);
  size_t total = 0, d1 = 0, ma = 0;
  for (int dd = 0; dd < 2; dd++)
    for (int pp = 0; pp <= FC_MAX_P; pp++)
      for (int qq = 0; qq <= FC_MAX_Q; qq++) {
        size_t k = models[dd][pp][qq];
        total += k;
        d1 += dd == 1 ? k : 0;
        ma += qq > 0 ? k : 0;
      }
  printf("MODELS\t%s\tfallback %.0f%%, d=1 %.0f%%, q>0 %.0f%%\n", d->name,
         100.0 * (double)fallbacks / (double)total,
         100.0 * (double)d1 / (double)total,
         100.0 * (double)ma / (double)total);
  fflush(stdout);
  fc_series_free(s);
  fc_model_free(m);
  return 0;
}

static double cpu_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Refit and update timings over every origin of every series. */
static int cost_timings(const series_data_t *data, size_t nd,
                        const fc_params_t *p) {
  size_t cap = 0;
  for (size_t i = 0; i < nd; i++)
    cap += data[i].n;
  double *refit = malloc(sizeof(double) * cap);
  fc_model_t *m = fc_model_new(p);
  if (!refit || !m) {
    free(refit);
    fc_model_free(m);
    return -ENOMEM;
  }
  size_t nr = 0, updates = 0;
  double update_ns = 0, forecast_ns = 0, mean[FC_HORIZON_MAX];
  for (size_t i = 0; i < nd; i++) {
    fc_series_t *s = fc_series_new(p, FC_KIND_GAUGE);
    if (!s)
      break;
    const series_data_t *d = &data[i];
    size_t t = 0;
    for (; t < d->n; t++) {
      fc_series_push(s, d->x[t]);
      if (t + 1 < p->window)
        continue;
      uint64_t t0 = pm_now_ns();
      fc_series_refit(s, m);
      refit[nr++] = (double)(pm_now_ns() - t0) * 1e-3;
    }
    /* Updates: the whole series again through the last model, timed in
     * batches (a clock read costs as much as an update). */
    enum { BATCH = 1000 };
    for (t = 0; t + BATCH <= d->n; t += BATCH) {
      uint64_t t0 = pm_now_ns();
      for (size_t j = t; j < t + BATCH; j++)
        fc_series_push(s, d->x[j]);
      uint64_t t1 = pm_now_ns();
      for (size_t j = 0; j < BATCH; j++)
        fc_series_forecast(s, mean, NULL, NULL);
      uint64_t t2 = pm_now_ns();
      update_ns += (double)(t1 - t0);
      forecast_ns += (double)(t2 - t1);
      updates += BATCH;
    }
    fc_series_free(s);
  }
  double med = median_of(refit, nr);
  double p90 = refit[(size_t)(0.9 * (double)(nr - 1))];
  printf("COST\trefit_us_median\t%.2f\nCOST\trefit_us_p90\t%.2f\n"
         "COST\trefits\t%zu\n",
         med, p90, nr);
  printf("COST\tupdate_us\t%.4f\nCOST\tforecast_us\t%.4f\n",
         update_ns / (double)updates * 1e-3,
         forecast_ns / (double)updates * 1e-3);
  free(refit);
  fc_model_free(m);
  return 0;
}

static long rss_kib(void) {
  pm_buf_t b = {0};
  long kib = -1;
  if (pm_file_read("/proc/self/status", 1 << 20, &b) == 0) {
    char *l = strstr(b.data, "VmRSS:");
    if (l)
      kib = strtol(l + 6, NULL, 10);
  }
  pm_buf_free(&b);
  return kib;
}

static bool want_all(void *ctx) { return ctx != NULL; }

/* N series sampled every 10 s with refit every 10, through an fc_set as the
 * collectd plugin drives it: each series is a source named like a collectd
 * identifier, carrying the plugin's per-series bytes (the published
 * counters of each horizon and bound). Windows are filled first (not
 * timed); then `rounds` intervals are simulated: every series acquires its
 * source, feeds one sample, computes its forecasts and releases it (the
 * write callback), and the refits that fell due run once per round (the
 * read callback). The CPU share is the CPU time over the simulated time. */
static int cost_fleet(const series_data_t *data, size_t nd,
                      const fc_params_t *p, size_t nseries) {
  fc_params_t fp = *p;
  fp.refit_every = 10;
  const double interval = 10;
  const unsigned rounds = 100;
  long rss0 = rss_kib();
  fc_set_t *set =
      fc_set_new(&fp, sizeof(uint64_t) + 3 * fp.horizon * sizeof(double));
  fc_model_t *m = fc_model_new(&fp);
  size_t *pos = calloc(nseries, sizeof(*pos));
  if (!set || !m || !pos) {
    fc_set_free(set);
    fc_model_free(m);
    free(pos);
    return -ENOMEM;
  }
  const fc_kind_t kind = FC_KIND_GAUGE;
  double mean[FC_HORIZON_MAX], lo[FC_HORIZON_MAX], hi[FC_HORIZON_MAX];
  /* Series i reads data[i % nd] from offset (i * 37) % length and starts
   * i % 10 samples early, so the fleet is varied and refits are spread. */
  for (size_t i = 0; i < nseries; i++) {
    const series_data_t *d = &data[i % nd];
    pos[i] = (i * 37) % (d->n - fp.window - rounds - fp.refit_every);
    char key[64];
    snprintf(key, sizeof(key), "node%05zu/cpu-%zu/percent-active", i / 8,
             i % 8);
    for (unsigned k = 0; k < fp.window + i % fp.refit_every; k++) {
      fc_source_t *src;
      fc_raw_t v = {.gauge = d->x[pos[i]++]};
      if (fc_set_acquire(set, key, (double)k * interval, interval, 1, &kind,
                         want_all, set, &src) != 1)
        return -ENOMEM;
      fc_source_observe(src, (double)k * interval, interval, &v);
      fc_source_release(src);
    }
  }
  fc_set_refit(set, m);
  long rss1 = rss_kib(); /* every series and its window now touched */
  size_t refits = 0;
  double update_cpu = 0, refit_cpu = 0;
  for (unsigned r = 0; r < rounds; r++) {
    double c0 = cpu_seconds();
    for (size_t i = 0; i < nseries; i++) {
      const series_data_t *d = &data[i % nd];
      double t = (double)(fp.window + i % fp.refit_every + r) * interval;
      char key[64];
      snprintf(key, sizeof(key), "node%05zu/cpu-%zu/percent-active", i / 8,
               i % 8);
      fc_source_t *src;
      fc_raw_t v = {.gauge = d->x[pos[i]++]};
      if (fc_set_acquire(set, key, t, interval, 1, &kind, want_all, set,
                         &src) != 1)
        return -ENOMEM;
      fc_source_observe(src, t, interval, &v);
      fc_source_forecast(src, 0, mean, lo, hi);
      fc_source_release(src);
    }
    double c1 = cpu_seconds();
    refits += (size_t)fc_set_refit(set, m);
    update_cpu += c1 - c0;
    refit_cpu += cpu_seconds() - c1;
  }
  double simulated = rounds * interval, cpu = update_cpu + refit_cpu;
  size_t nsrc, nign, bytes;
  fc_set_stats(set, &nsrc, &nign, &bytes);
  printf("COST\tfleet_series\t%zu\nCOST\tfleet_refits\t%zu\n", nsrc, refits);
  printf("COST\tfleet_update_us\t%.3f\n",
         update_cpu / ((double)nseries * rounds) * 1e6);
  printf("COST\tfleet_cpu_s\t%.3f\nCOST\tfleet_simulated_s\t%.0f\n", cpu,
         simulated);
  printf("COST\tfleet_core_share_pct\t%.3f\n", 100 * cpu / simulated);
  printf("COST\tbytes_per_series\t%.0f\n", (double)bytes / (double)nseries);
  printf("COST\trss_bytes_per_series\t%.0f\n",
         (double)(rss1 - rss0) * 1024 / (double)nseries);
  fc_set_free(set);
  free(pos);
  fc_model_free(m);
  return 0;
}

int main(int argc, char **argv) {
  fc_params_t p;
  fc_params_default(&p);
  p.refit_every = 1;
  unsigned stride = 10;
  size_t fleet = 10000;
  bool do_acc = false, do_cost = false;
  static const struct option opts[] = {
      FC_ARGS_OPTIONS,
      {"stride", required_argument, 0, 's'},
      {"series", required_argument, 0, 'n'},
      {"accuracy", no_argument, 0, 'a'},
      {"cost", no_argument, 0, 'C'},
      {0, 0, 0, 0},
  };
  int c;
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    int r = fc_args_apply(c, optarg, &p);
    if (r < 0) {
      fprintf(stderr, "forecast-bench: unknown model %s\n", optarg);
      return 2;
    }
    if (r > 0)
      continue;
    switch (c) {
    case 's':
      stride = (unsigned)atoi(optarg);
      break;
    case 'n':
      fleet = (size_t)atol(optarg);
      break;
    case 'a':
      do_acc = true;
      break;
    case 'C':
      do_cost = true;
      break;
    default:
      return 2;
    }
  }
  fc_error_t err;
  if (fc_params_check(&p, &err) < 0 || stride < 1 || optind >= argc) {
    fprintf(stderr,
            "forecast-bench: %s\nusage: forecast-bench [--window N] "
            "[--horizon H] [--stride S] [--series N] [--model M] "
            "[--accuracy] [--cost] FILE.csv...\n",
            err.msg);
    return 2;
  }
  if (!do_acc && !do_cost)
    do_acc = do_cost = true;
  size_t nd = (size_t)(argc - optind);
  series_data_t *data = calloc(nd, sizeof(*data));
  if (!data)
    return 1;
  for (size_t i = 0; i < nd; i++) {
    int r = load_csv(argv[optind + (int)i], &data[i]);
    if (r < 0 || data[i].n < p.window + p.horizon + 2) {
      fprintf(stderr, "forecast-bench: %s: %s\n", argv[optind + (int)i],
              r < 0 ? strerror(-r) : "too short");
      return 1;
    }
  }
  printf("PARAMS\twindow=%u\thorizon=%u\tstride=%u\tmodel=%s\n", p.window,
         p.horizon, stride, fc_family_name(p.family));
  int r = 0;
  for (size_t i = 0; do_acc && i < nd && r == 0; i++)
    r = accuracy(&data[i], &p, stride);
  /* The fleet first, so that its RSS growth is not served by memory the
   * other measurements freed. */
  if (do_cost && r == 0)
    r = cost_fleet(data, nd, &p, fleet);
  if (do_cost && r == 0)
    r = cost_timings(data, nd, &p);
  for (size_t i = 0; i < nd; i++)
    free(data[i].x);
  free(data);
  return r < 0 ? 1 : 0;
}
