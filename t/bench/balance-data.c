/* balance-data.c: the traces t/bench/balance replays, and the estimates
 * patmon plans with.
 *
 * PlanetLab (CloudSim's planetlab/20110303): one file per VM, 288 lines of
 * CPU percent of one core; demand = percent / 100 cores. No history.
 *
 * Bitbrains Rnd (GWA-T-12, 2013-09): one gzipped file per VM, `;`+tab
 * separated, columns Timestamp (seconds), CPU cores, CPU capacity
 * provisioned [MHZ], CPU usage [MHZ], CPU usage [%], ...; demand in cores
 * = CPU cores x CPU usage [%] / 100. Rows with CPU cores 0 are missing.
 * Rows are put in 300-s slots of UTC days from 2013-08-31 00:00 (the
 * timestamp rounded to the nearest slot; timestamps drift by a second a
 * step); a slot with two rows takes their mean. A day is 288 slots; its
 * missing slots take the last sample before them (the first of the day at
 * its start), a VM without any sample that day is not in it. */
#include "config.h"

#include "balance.h"
#include "forecast.h"
#include "pm.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY 288
#define BB_T0 1377907200 /* 2013-08-31 00:00:00 UTC */
#define BB_DAYS 30

void traces_free(struct trace_set *ts) {
  for (size_t i = 0; ts->name && i < ts->n; i++)
    free(ts->name[i]);
  free(ts->name);
  free(ts->v);
  free(ts->est);
  *ts = (struct trace_set){0};
}

double traces_mean_total(const struct trace_set *ts) {
  double sum = 0;
  for (size_t i = 0; i < ts->n; i++)
    for (int t = 0; t < ts->steps; t++)
      sum += demand(ts, i, t);
  return sum / ts->steps;
}

static int cmp_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted names of dir's entries (no dot files). */
static int list_dir(const char *dir, char ***ret, size_t *ret_n) {
  DIR *d = opendir(dir);
  if (!d)
    return -errno;
  char **v = NULL;
  size_t n = 0, cap = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.')
      continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 256;
      char **nv = realloc(v, cap * sizeof(*v));
      if (!nv)
        break;
      v = nv;
    }
    v[n++] = strdup(e->d_name);
  }
  closedir(d);
  qsort(v, n, sizeof(char *), cmp_name);
  *ret = v;
  *ret_n = n;
  return 0;
}

static int alloc_set(struct trace_set *ts, size_t n, int hist, int steps) {
  ts->n = n;
  ts->hist = hist;
  ts->steps = steps;
  ts->v = malloc((n * (size_t)(hist + steps) + 1) * sizeof(double));
  ts->name = calloc(n + 1, sizeof(char *));
  return ts->v && ts->name ? 0 : -ENOMEM;
}

static double *row(struct trace_set *ts, size_t i) {
  return &ts->v[i * (size_t)(ts->hist + ts->steps)];
}

int traces_planetlab(const char *dir, struct trace_set *ret) {
  char **files = NULL;
  size_t n = 0;
  int r = list_dir(dir, &files, &n);
  if (r < 0)
    return r;
  struct trace_set ts = {0};
  if (n == 0 || (r = alloc_set(&ts, n, 0, DAY)) < 0)
    r = n ? r : -ENOENT;
  for (size_t i = 0; r == 0 && i < n; i++) {
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
    FILE *f = fopen(path, "r");
    if (!f) {
      r = -errno;
      break;
    }
    for (int k = 0; k < DAY; k++) {
      int x;
      if (fscanf(f, "%d", &x) != 1) {
        fprintf(stderr, "%s: fewer than %d samples\n", path, DAY);
        r = -EBADMSG;
        break;
      }
      row(&ts, i)[k] = x / 100.0;
    }
    fclose(f);
    ts.name[i] = files[i];
    files[i] = NULL;
  }
  for (size_t i = 0; i < n; i++)
    free(files[i]);
  free(files);
  if (r < 0) {
    traces_free(&ts);
    return r;
  }
  snprintf(ts.label, sizeof(ts.label), "PlanetLab %s", dir);
  *ret = ts;
  return 0;
}

/* ---- Bitbrains --------------------------------------------------------- */

/* Parses one VM's decompressed CSV into v[0..nslots-1] (NAN where no row).
 * -EBADMSG with the line on stderr when a row is malformed. */
static int parse_vm(const char *path, const char *text, double *v, int nslots) {
  unsigned *cnt = calloc((size_t)nslots, sizeof(*cnt));
  if (!cnt)
    return -ENOMEM;
  for (int s = 0; s < nslots; s++)
    v[s] = 0;
  const char *p = strchr(text, '\n'); /* header */
  unsigned line = 1;
  int r = 0;
  while (p && *++p) {
    line++;
    double ts, cores, mhz_cap, mhz, pct;
    char *end;
    const char *q = p;
    double *col[] = {&ts, &cores, &mhz_cap, &mhz, &pct};
    for (int c = 0; c < 5 && r == 0; c++) {
      while (*q == ' ' || *q == '\t')
        q++;
      *col[c] = strtod(q, &end);
      if (end == q || *end != ';')
        r = -EBADMSG;
      q = end + 1;
    }
    if (r < 0) {
      fprintf(stderr, "%s:%u: not a Bitbrains row\n", path, line);
      break;
    }
    p = strchr(p, '\n');
    if (!(cores > 0) || !(pct >= 0))
      continue; /* VM off: missing */
    long s = lround((ts - BB_T0) / 300.0);
    if (s < 0 || s >= nslots)
      continue;
    v[s] += cores * pct / 100.0;
    cnt[s]++;
  }
  for (int s = 0; s < nslots; s++)
    v[s] = cnt[s] ? v[s] / cnt[s] : NAN;
  free(cnt);
  return r;
}

int bitbrains_load(const char *dir, struct bitbrains *ret) {
  char **files = NULL;
  size_t n = 0;
  int r = list_dir(dir, &files, &n);
  if (r < 0)
    return r;
  struct bitbrains b = {.nslots = BB_DAYS * DAY};
  b.name = calloc(n + 1, sizeof(char *));
  b.v = malloc((n * (size_t)b.nslots + 1) * sizeof(double));
  if (!b.name || !b.v)
    r = -ENOMEM;
  pm_buf_t out = {0}, err = {0};
  for (size_t i = 0; r == 0 && i < n; i++) {
    size_t len = strlen(files[i]);
    if (len < 8 || strcmp(files[i] + len - 7, ".csv.gz") != 0)
      continue;
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
    char *argv[] = {"gzip", "-dc", path, NULL};
    int status = 0;
    pm_buf_reset(&out);
    r = pm_spawn(argv, 60000, &out, &err, &status);
    if (r == 0 && status != 0) {
      fprintf(stderr, "gzip -dc %s failed\n", path);
      r = -EIO;
    }
    if (r == 0 && out.data)
      r = parse_vm(path, out.data, &b.v[b.nvm * (size_t)b.nslots], b.nslots);
    if (r == 0) {
      files[i][len - 7] = '\0';
      b.name[b.nvm++] = files[i];
      files[i] = NULL;
    }
  }
  pm_buf_free(&out);
  pm_buf_free(&err);
  for (size_t i = 0; i < n; i++)
    free(files[i]);
  free(files);
  if (r == 0 && b.nvm == 0)
    r = -ENOENT;
  if (r < 0) {
    bitbrains_free(&b);
    return r;
  }
  *ret = b;
  return 0;
}

void bitbrains_free(struct bitbrains *b) {
  for (size_t i = 0; b->name && i < b->nvm; i++)
    free(b->name[i]);
  free(b->name);
  free(b->v);
  *b = (struct bitbrains){0};
}

/* Copies VM vm's day d (and the day before, as history) into dst; false
 * when the VM has no sample that day. */
static bool vm_day(const struct bitbrains *b, size_t vm, int d, double *dst) {
  const double *v = &b->v[vm * (size_t)b->nslots];
  int first = d * DAY;
  double last = NAN;
  for (int s = first; s < first + DAY; s++)
    if (!isnan(v[s])) {
      last = v[s];
      break;
    }
  if (isnan(last))
    return false;
  for (int s = first - DAY; s < first; s++)
    dst[s - first + DAY] = s >= 0 ? v[s] : NAN;
  for (int s = first; s < first + DAY; s++) {
    if (!isnan(v[s]))
      last = v[s];
    dst[DAY + s - first] = last;
  }
  return true;
}

static const char *day_name(int d, char *buf, size_t len) {
  snprintf(buf, len, "2013-%s-%02d", d == 0 ? "08" : "09", d == 0 ? 31 : d);
  return buf;
}

int bitbrains_days(const struct bitbrains *b, int first, int ndays,
                   struct trace_set *ret) {
  if (first < 1 || ndays < 1 || first + ndays > BB_DAYS)
    return -EINVAL;
  struct trace_set ts = {0};
  int r = alloc_set(&ts, b->nvm * (size_t)ndays, DAY, DAY);
  size_t n = 0;
  for (int d = first; r == 0 && d < first + ndays; d++)
    for (size_t vm = 0; r == 0 && vm < b->nvm; vm++) {
      if (!vm_day(b, vm, d, row(&ts, n)))
        continue;
      char name[64], day[16];
      snprintf(name, sizeof(name), "%s@%s", b->name[vm],
               day_name(d, day, sizeof(day)));
      if (!(ts.name[n++] = strdup(name)))
        r = -ENOMEM;
    }
  ts.n = n;
  if (r < 0 || n == 0) {
    traces_free(&ts);
    return r < 0 ? r : -ENODATA;
  }
  char a[16], z[16];
  if (ndays == 1)
    snprintf(ts.label, sizeof(ts.label), "Bitbrains %s",
             day_name(first, a, sizeof(a)));
  else
    snprintf(ts.label, sizeof(ts.label), "Bitbrains %s..%s (VM-days)",
             day_name(first, a, sizeof(a)),
             day_name(first + ndays - 1, z, sizeof(z)));
  *ret = ts;
  return 0;
}

int bitbrains_day(const struct bitbrains *b, int d, struct trace_set *ret) {
  return bitbrains_days(b, d, 1, ret);
}

/* ---- estimates -------------------------------------------------------------
 */

/* The forecast plugin's one-step forecast and upper bound of service i for
 * every step -hist+1 .. steps (index + hist), as the plugin would have
 * published them (forecast/ library, refit every fc_refit samples). */
static int plugin_forecasts(const struct trace_set *ts, size_t i, unsigned h,
                            fc_series_t *s, fc_model_t *m, double *fc,
                            double *up) {
  int len = ts->hist + ts->steps;
  for (int k = 0; k < len + (int)h; k++)
    fc[k] = up[k] = NAN;
  const double *x = &ts->v[i * (size_t)len];
  double mean[FC_HORIZON_MAX], hi[FC_HORIZON_MAX];
  for (int k = 0; k < len; k++) {
    fc_series_push(s, x[k]);
    if (fc_series_refit_due(s) && fc_series_refit(s, m) < 0)
      continue;
    if (fc_series_forecast(s, mean, NULL, hi) == 0) {
      fc[k + (int)h] = fmax(mean[h - 1], 0);
      up[k + (int)h] = fmax(hi[h - 1], 0);
    }
  }
  return 0;
}

int traces_estimate(struct trace_set *ts, const struct est_cfg *ec,
                    unsigned long used[BAL_NEST]) {
  int len = ts->hist + ts->steps;
  fc_params_t fp;
  fc_params_default(&fp);
  fp.window = ec->fc_window;
  unsigned h = ec->p.horizon ? ec->p.horizon : 1;
  fp.horizon = h;
  fp.refit_every = ec->fc_refit;
  fc_error_t fe;
  if (fc_params_check(&fp, &fe) < 0) {
    fprintf(stderr, "forecast parameters: %s\n", fe.msg);
    return -EINVAL;
  }
  size_t w = ec->window;
  double *fc = malloc(((size_t)len + h + 1) * sizeof(double));
  double *up = malloc(((size_t)len + h + 1) * sizeof(double));
  free(ts->est);
  ts->est = calloc(ts->n * (size_t)ts->steps + 1, sizeof(*ts->est));
  fc_model_t *m = fc_model_new(&fp);
  int r = fc && up && ts->est && m ? 0 : -ENOMEM;
  for (size_t i = 0; r == 0 && i < ts->n; i++) {
    fc_series_t *s = fc_series_new(&fp, FC_KIND_GAUGE);
    if (!s) {
      r = -ENOMEM;
      break;
    }
    plugin_forecasts(ts, i, h, s, m, fc, up);
    fc_series_free(s);
    const double *x = &ts->v[i * (size_t)len];
    for (int t = 0; r == 0 && t < ts->steps; t++) {
      /* The window ends at step t (index hist + t); predictions for its
       * cells and for step t + 1. */
      long end = ts->hist + t, start = end + 1 - (long)w;
      if (start < 0)
        start = 0;
      size_t n = (size_t)(end + 1 - start);
      bal_est_t e;
      if (ec->fixed_smooth) {
        double mean, hi;
        if (bal_forecast(&x[start], n, h, 1.0, &mean, &hi) < 0)
          mean = hi = x[end];
        e = (bal_est_t){.which = BAL_E_SMOOTH,
                        .value = fmax(mean, 0),
                        .spread = hi - mean,
                        .level = NAN};
      } else if ((r = bal_estimate_auto(&x[start], n, &fc[start], &up[start],
                                        &ec->p, &e)) < 0) {
        break;
      }
      struct est_cell *c = &ts->est[i * (size_t)ts->steps + (size_t)t];
      c->value = (float)fmax(e.value, 0);
      c->spread = (float)e.spread;
      c->level = (float)e.level;
      c->level_sd = (float)e.level_sd;
      c->which = (unsigned char)e.which;
      c->bursty = e.bursty;
      if (used)
        used[e.which]++;
    }
  }
  fc_model_free(m);
  free(fc);
  free(up);
  return r;
}
