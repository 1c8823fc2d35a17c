/* forecast.c: the balancer's own forecast when no forecast series is read.
 *
 * Exponential smoothing with a damped additive trend, its two constants
 * chosen on a small grid by the one-step squared error over the window.
 * Measured series of CPU load are spiky; smoothing beats ARMA fits on them
 * (see FACTS.md) and costs microseconds, so it can run for every service at
 * every pass. The upper bound widens the one-step error by the horizon as
 * simple exponential smoothing's variance does. */
#include "config.h"

#include "internal.h"

#include <errno.h>

#define PHI 0.9

static const double alphas[] = {0.1, 0.2, 0.3, 0.5, 0.7, 0.9};
static const double betas[] = {0.0, 0.05, 0.15};

struct fit {
  double level, trend, sse;
  size_t nerr;
};

/* Runs the smoother with constants a, b over x. With path (n + h cells),
 * path[j + h] is the forecast h steps past j made from the state after j
 * (NAN before the first known sample). */
static struct fit run(const double *x, size_t n, double a, double b, unsigned h,
                      double *path) {
  struct fit f = {0};
  size_t i = 0;
  while (i < n && isnan(x[i]))
    i++;
  if (i == n)
    return f;
  double damp_h = 0, pw = 1;
  for (unsigned k = 1; k <= h; k++) {
    pw *= PHI;
    damp_h += pw;
  }
  f.level = x[i];
  if (path)
    path[i + h] = f.level;
  i++;
  bool have_trend = false;
  for (; i < n; i++) {
    if (!isnan(x[i])) {
      double pred = f.level + PHI * f.trend;
      double e = x[i] - pred;
      f.sse += e * e;
      f.nerr++;
      double lvl = pred + a * e;
      if (!have_trend) {
        f.trend = lvl - f.level;
        have_trend = true;
      } else {
        f.trend = PHI * f.trend + b * (lvl - f.level - PHI * f.trend);
      }
      f.level = lvl;
    }
    if (path)
      path[i + h] = f.level + damp_h * f.trend;
  }
  return f;
}

/* The highest forecast of steps 1..h from the state of f. */
static double ahead(const struct fit *f, unsigned h) {
  double mean = -INFINITY, damp = 0, pw = 1;
  for (unsigned k = 1; k <= h; k++) {
    pw *= PHI;
    damp += pw;
    mean = fmax(mean, f->level + damp * f->trend);
  }
  return mean;
}

enum {
  NALPHA = sizeof(alphas) / sizeof(alphas[0]),
  NBETA = sizeof(betas) / sizeof(betas[0]),
  NFIT = NALPHA * NBETA,
};

/* What run(x, n, a, b, 1, NULL) returns, for every pair of the grid (fit
 * k: alphas[k / NBETA], betas[k % NBETA]) in one sweep over x: the same
 * operations in the same order for each pair, so the same numbers, with
 * the scan for known samples done once and the pairs side by side (the
 * grid's 18 runs were a fifth of a pass's estimating). */
static void run_grid(const double *x, size_t n, struct fit *f) {
  double a[NFIT], b[NFIT], level[NFIT], trend[NFIT] = {0}, sse[NFIT] = {0};
  for (size_t k = 0; k < NFIT; k++) {
    a[k] = alphas[k / NBETA];
    b[k] = betas[k % NBETA];
    f[k] = (struct fit){0};
  }
  size_t i = 0, nerr = 0;
  while (i < n && isnan(x[i]))
    i++;
  if (i == n)
    return;
  for (size_t k = 0; k < NFIT; k++)
    level[k] = x[i];
  bool have_trend = false;
  for (i++; i < n; i++) {
    if (isnan(x[i]))
      continue;
    nerr++;
    if (!have_trend) { /* the first step sets the trend */
      for (size_t k = 0; k < NFIT; k++) {
        double pred = level[k] + PHI * trend[k];
        double e = x[i] - pred;
        sse[k] += e * e;
        double lvl = pred + a[k] * e;
        trend[k] = lvl - level[k];
        level[k] = lvl;
      }
      have_trend = true;
      continue;
    }
    for (size_t k = 0; k < NFIT; k++) {
      double pred = level[k] + PHI * trend[k];
      double e = x[i] - pred;
      sse[k] += e * e;
      double lvl = pred + a[k] * e;
      trend[k] = PHI * trend[k] + b[k] * (lvl - level[k] - PHI * trend[k]);
      level[k] = lvl;
    }
  }
  for (size_t k = 0; k < NFIT; k++)
    f[k] = (struct fit){level[k], trend[k], sse[k], nerr};
}

/* The constants with the smallest one-step squared error over x (the
 * first of equals, alphas then betas in their order). */
static struct fit best_fit(const double *x, size_t n, double *ret_a,
                           double *ret_b) {
  struct fit f[NFIT];
  run_grid(x, n, f);
  size_t best = 0;
  for (size_t k = 1; k < NFIT; k++)
    if (f[k].sse < f[best].sse)
      best = k;
  *ret_a = alphas[best / NBETA];
  *ret_b = betas[best % NBETA];
  return f[best];
}

int bal_forecast_fit(const double *x, size_t n, unsigned h, double z,
                     double *ret_mean, double *ret_upper, double *ret_alpha) {
  size_t known = 0;
  for (size_t i = 0; i < n; i++)
    known += !isnan(x[i]);
  if (known < 2)
    return -ENODATA;
  if (h == 0)
    h = 1;
  double ba = alphas[0], bb = betas[0];
  struct fit best = best_fit(x, n, &ba, &bb);
  double mean = ahead(&best, h);
  double sigma = best.nerr ? sqrt(best.sse / (double)best.nerr) : 0;
  double widen = sqrt(1.0 + (double)(h - 1) * ba * ba);
  if (ret_mean)
    *ret_mean = mean;
  if (ret_upper)
    *ret_upper = mean + z * sigma * widen;
  if (ret_alpha)
    *ret_alpha = ba;
  return 0;
}

int bal_forecast(const double *x, size_t n, unsigned h, double z,
                 double *ret_mean, double *ret_upper) {
  return bal_forecast_fit(x, n, h, z, ret_mean, ret_upper, NULL);
}

int bal_forecast_path(const double *x, size_t n, unsigned h, double *path) {
  if (h == 0)
    h = 1;
  for (size_t i = 0; i < n + h; i++)
    path[i] = NAN;
  size_t known = 0;
  for (size_t i = 0; i < n; i++)
    known += !isnan(x[i]);
  if (known < 2)
    return -ENODATA;
  double a = alphas[0], b = betas[0];
  best_fit(x, n, &a, &b);
  struct fit f = run(x, n, a, b, h, path);
  /* Now: the highest of the next h steps, as bal_forecast says. */
  path[n - 1 + h] = ahead(&f, h);
  return 0;
}
