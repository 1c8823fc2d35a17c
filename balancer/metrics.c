/* metrics.c: series from collectd's RRD files (librrd) and their estimates.
 *
 * Every series is resampled onto one grid (the window cut into steps, each
 * the mean of the RRD rows inside it) so node and service series line up
 * whatever their RRD step. A sample that is not known stays NAN: a missing
 * file, a stale file and an empty window are reported, never read as 0.
 *
 * With an rrdcached address, each file is flushed before it is read:
 * collectd's rrdcached plugin leaves the latest samples (up to the daemon's
 * write timeout, 300 s by default) in the daemon, not in the file. */
#include "config.h"

#include "internal.h"

#include <errno.h>
#include <rrd.h>
#include <rrd_client.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void bal_grid_init(struct bal_grid *g, time_t now, unsigned window,
                   unsigned step) {
  g->step = step ? step : 60;
  g->end = now - now % (time_t)g->step;
  g->n = window / g->step;
  if (g->n < 2)
    g->n = 2;
}

/* librrd keeps its error text per thread. */
static void rrd_reason(char *buf, size_t len) {
  const char *e = rrd_get_error();
  snprintf(buf, len, "%s", e && *e ? e : "librrd failed");
  rrd_clear_error();
}

/* librrd's client keeps one connection per process (Debian 12's librrd
 * 1.7.2 exports only the rrdc_* calls): rrdc_connect keeps it while the
 * address stays the same, and a failed request closes it, so the next file
 * connects again. */
static int rrdc_flush_file(const char *addr, const char *path, char *why,
                           size_t why_len) {
  rrd_clear_error();
  int k = rrdc_connect(addr);
  if (k == 0 && !rrdc_is_connected(addr))
    k = -1;
  if (k == 0)
    k = rrdc_flush(path);
  if (k == 0)
    return 0;
  const char *e = rrd_get_error();
  snprintf(why, why_len, "rrdcached %s: flush failed: %s", addr,
           e && *e ? e
           : k > 0 ? strerror(k)
                   : "no answer");
  rrd_clear_error();
  return -EIO;
}

void bal_rrdc_close(void) { rrdc_disconnect(); }

int bal_rrd_read(const char *path, const char *rrdcached, char *const *ds,
                 double scale, const struct bal_grid *g, double *out,
                 time_t *ret_last, char *why, size_t why_len) {
  for (size_t i = 0; i < g->n; i++)
    out[i] = NAN;
  /* librrd opens the path itself, blocking: a FIFO there would hang the
   * balancer. Only a regular file goes to it. */
  int r = pm_regular_file(path);
  if (r < 0) {
    snprintf(why, why_len, "%s", pm_strerror(r));
    return r;
  }
  /* Only a file that exists is flushed: rrdcached creates none. */
  if (rrdcached && *rrdcached &&
      (r = rrdc_flush_file(rrdcached, path, why, why_len)) < 0)
    return r;
  time_t last = rrd_last_r(path);
  if (last <= 0) {
    rrd_reason(why, why_len);
    return -EIO;
  }
  *ret_last = last;
  time_t start = g->end - (time_t)(g->n * g->step), end = g->end;
  unsigned long step = 1, nds = 0;
  char **names = NULL;
  rrd_value_t *data = NULL;
  if (rrd_fetch_r(path, "AVERAGE", &start, &end, &step, &nds, &names, &data) !=
      0) {
    rrd_reason(why, why_len);
    return -EIO;
  }
  int idx[4] = {-1, -1, -1, -1};
  for (int k = 0; k < 4 && ds[k]; k++) {
    for (unsigned long j = 0; j < nds; j++)
      if (strcmp(names[j], ds[k]) == 0)
        idx[k] = (int)j;
    if (idx[k] < 0) {
      snprintf(why, why_len, "no data source '%s'", ds[k]);
      r = -EBADMSG;
    }
  }
  size_t rows = step ? (size_t)((end - start) / (time_t)step) : 0;
  double *sum = calloc(g->n + 1, sizeof(double));
  unsigned *cnt = calloc(g->n + 1, sizeof(unsigned));
  if (!sum || !cnt)
    r = -ENOMEM;
  for (size_t i = 0; r == 0 && i < rows; i++) {
    /* Row i covers (start + i*step, start + (i+1)*step]. */
    time_t t = start + (time_t)((i + 1) * step);
    time_t first = g->end - (time_t)(g->n * g->step);
    if (t <= first || t > g->end)
      continue;
    size_t cell = (size_t)((t - first - 1) / (time_t)g->step);
    double v = 0;
    bool known = true;
    for (int k = 0; k < 4 && ds[k]; k++) {
      double x = data[i * nds + (size_t)idx[k]];
      known &= !isnan(x);
      v += x;
    }
    if (known && cell < g->n) {
      sum[cell] += v * scale;
      cnt[cell]++;
    }
  }
  for (size_t i = 0; r == 0 && i < g->n; i++)
    if (cnt[i])
      out[i] = sum[i] / cnt[i];
  free(sum);
  free(cnt);
  for (unsigned long j = 0; j < nds; j++)
    rrd_freemem(names[j]);
  rrd_freemem(names);
  rrd_freemem(data);
  return r;
}

int bal_estimate(const struct bal_conf *cf, const double *v, size_t n,
                 double *ret_mean, double *ret_upper) {
  double last = NAN, sum = 0;
  size_t known = 0;
  for (size_t i = 0; i < n; i++)
    if (!isnan(v[i])) {
      last = v[i];
      sum += v[i];
      known++;
    }
  if (!known)
    return -ENODATA;
  unsigned step = cf->step ? cf->step : 60;
  unsigned h = (cf->horizon + step - 1) / step;
  switch (cf->estimate) {
  case BAL_EST_LATEST:
    *ret_mean = *ret_upper = last;
    return 0;
  case BAL_EST_AVERAGE:
    *ret_mean = *ret_upper = sum / (double)known;
    return 0;
  case BAL_EST_FORECAST: /* the caller reads forecast series; else self */
  case BAL_EST_SELF:
  case BAL_EST_AUTO: /* the engine chooses per series; alone: the smoother */
    if (known < 2) {
      *ret_mean = *ret_upper = last;
      return 0;
    }
    return bal_forecast(v, n, h ? h : 1, cf->z, ret_mean, ret_upper);
  }
  return -EINVAL;
}

int bal_template(const char *tpl, const char *host, const char *svc,
                 const char *measured, pm_buf_t *out) {
  /* %P and %T: the plugin directory and the type file stem of the measured
   * series, so forecast paths follow whatever the measured ones are. */
  char pdir[256] = "", stem[256] = "";
  if (measured) {
    const char *slash = strrchr(measured, '/');
    const char *base = slash ? slash + 1 : measured;
    snprintf(stem, sizeof(stem), "%s", base);
    char *dot = strrchr(stem, '.');
    if (dot)
      *dot = '\0';
    if (slash) {
      const char *ps = slash;
      while (ps > measured && ps[-1] != '/')
        ps--;
      snprintf(pdir, sizeof(pdir), "%.*s", (int)(slash - ps), ps);
    }
  }
  const struct bal_kv kv[] = {
      {'h', host}, {'s', svc}, {'P', pdir}, {'T', stem}, {0, NULL}};
  return bal_subst(tpl, kv, out, NULL);
}
