/* load-model.c: the load model on arrays. Pure: no file is read here; the
 * engine (engine-metrics.c) reads the series onto one grid and hands them
 * over.
 *
 * A node's planning load is the estimate of its background (the node
 * series minus every service series recorded under that host, sample by
 * sample) plus the estimates of the services running on it now, each
 * service's series merged over the hosts it ran on. Moves therefore shift
 * load without waiting for node series to catch up. With upper, the
 * deviations (upper bound minus estimate) are added in quadrature. */
#include "config.h"

#include "internal.h"

#include <errno.h>
#include <stdlib.h>

void bal_lm_take_off(double *bg, bool bg_known, const double *here,
                     double *merged, size_t gn) {
  for (size_t i = 0; i < gn; i++) {
    if (isnan(here[i]))
      continue;
    merged[i] = isnan(merged[i]) ? here[i] : merged[i] + here[i];
    if (bg_known)
      bg[i] -= here[i];
  }
  /* Where the service starts or stops being recorded here (a DERIVE's
   * first rate is unknown, a grid cell holds part of it) the node counts
   * it and its series may not: the background is unknown in the cells on
   * either side. */
  for (size_t i = 1; bg_known && i < gn; i++)
    if (isnan(here[i]) != isnan(here[i - 1]))
      bg[i] = bg[i - 1] = NAN;
}

void bal_lm_cut(double *bg, const struct bal_grid *g, time_t cut) {
  for (size_t i = 0; i < g->n; i++)
    if (g->end - (time_t)((g->n - 1 - i) * g->step) > cut)
      bg[i] = NAN;
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

/* The last known value of a forecast series, NAN when none. */
static double last_known(const double *v, size_t n) {
  double x = NAN;
  for (size_t i = 0; v && i < n; i++)
    if (!isnan(v[i]))
      x = v[i];
  return x;
}

/* estimate = auto: the plugin stamps a forecast with the time of the
 * sample it was made from; moved h steps on, onto the cell it predicts. */
static int estimate_auto(const struct bal_lm_series *x, size_t gn, unsigned h,
                         struct bal_lm_est *out) {
  double *buf = malloc((2 * (gn + h) + 1) * sizeof(double));
  if (!buf)
    return -ENOMEM;
  const double *src[2] = {x->fc, x->up};
  double *dst[2] = {buf, buf + gn + h};
  const double *given[2] = {NULL, NULL};
  for (int k = 0; k < 2; k++) {
    if (!src[k])
      continue;
    for (size_t i = 0; i < gn + h; i++)
      dst[k][i] = i >= h ? src[k][i - h] : NAN;
    given[k] = dst[k];
  }
  bal_est_params_t ep;
  bal_est_params_init(&ep);
  ep.horizon = h;
  int r = bal_estimate_auto(x->v, gn, given[0], given[1], &ep, &out->est);
  if (r == 0)
    out->mean = out->upper = out->est.value;
  free(buf);
  return r;
}

int bal_lm_estimate(const struct bal_conf *cf, const struct bal_lm_series *x,
                    size_t gn, unsigned h, struct bal_lm_est *out) {
  out->from_file = false;
  out->est.which = BAL_NEST;
  h = h ? h : 1;
  if (cf->estimate == BAL_EST_AUTO)
    return estimate_auto(x, gn, h, out);
  if (cf->estimate == BAL_EST_FORECAST) {
    double m = last_known(x->fc, gn);
    if (!isnan(m)) {
      double u = last_known(x->up, gn);
      out->mean = m;
      out->upper = isnan(u) ? m : fmax(u, m);
      out->from_file = true;
      return 0;
    }
  }
  return bal_estimate(cf, x->v, gn, &out->mean, &out->upper);
}

void bal_lm_loads(const struct bal_lm_est *node, const bool *node_known,
                  size_t nn, const int *on, const struct bal_lm_est *svc,
                  const bool *svc_known, size_t ns, bool upper, double *load,
                  double *var) {
  for (size_t n = 0; n < nn; n++) {
    double dev = node[n].upper - node[n].mean;
    load[n] = node_known[n] ? fmax(node[n].mean, 0) : NAN;
    var[n] = node_known[n] ? dev * dev : NAN;
  }
  /* A node forecast read from the plugin's file (estimate = forecast)
   * already holds its services. */
  for (size_t s = 0; s < ns; s++) {
    int n = on[s];
    if (n < 0 || (size_t)n >= nn || !svc_known[s] || isnan(load[n]) ||
        node[n].from_file)
      continue;
    double dev = fmax(svc[s].upper - svc[s].mean, 0);
    load[n] += fmax(svc[s].mean, 0);
    var[n] += dev * dev;
  }
  for (size_t n = 0; upper && n < nn; n++)
    if (!isnan(load[n]))
      load[n] += sqrt(var[n]);
}

double bal_lm_declared(const struct bal_lm_est *e, const double *v, size_t gn) {
  return fmax(fmax(e->mean, last_known(v, gn)), 0);
}
