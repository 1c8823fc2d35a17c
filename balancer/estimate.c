/* estimate.c: per series, the demand estimator that has been right.
 *
 * Each estimator predicts every cell of the window from the cells at least
 * horizon steps before it, exactly as it would have predicted it then; the
 * one with the smallest root mean square error over the window is used for
 * the next horizon (squared errors: node loads are sums, and sums need the
 * mean, not the median, of each part). The forecast plugin's series are
 * predictions already (the caller aligns them); the others are computed here:
 * the damped-trend smoother (its in-window path with the constants fitted on
 * the window), the last sample, and a high quantile of the recent samples.
 *
 * A series is bursty when its chosen estimator misses upward by far more
 * than its typical error now and then (spikes the point estimate cannot
 * follow): it is then planned on an upper estimate, the point estimate plus
 * the upper quantile of its past errors. The spread (the root mean square of
 * the errors around that value) tells the planner how far the truth may
 * stray. Pure: arrays in, numbers out. */
#include "config.h"

#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const est_names[BAL_NEST] = {
    [BAL_E_FORECAST] = "forecast", [BAL_E_UPPER] = "forecast-upper",
    [BAL_E_SMOOTH] = "smooth",     [BAL_E_LAST] = "last",
    [BAL_E_QUANTILE] = "quantile", [BAL_E_AVERAGE] = "average",
};

const char *bal_estimator_name(enum bal_estimator e) {
  return (unsigned)e < BAL_NEST ? est_names[e] : "?";
}

void bal_est_params_init(bal_est_params_t *p) {
  *p = (bal_est_params_t){.horizon = 1,
                          .qwindow = 12,
                          .quantile = 0.9,
                          .burst = 3.0,
                          .burst_quantile = 0.8,
                          .min_errors = 6};
}

/* Above this many samples quantile_sorted sorts with qsort. */
enum { QSORT_FROM = 32 };

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* The q-quantile of v[0..n-1], sorted, interpolated. */
static double quantile_of(const double *v, size_t n, double q) {
  double pos = q * (double)(n - 1);
  size_t lo = (size_t)pos;
  if (lo + 1 >= n)
    return v[n - 1];
  return v[lo] + (pos - (double)lo) * (v[lo + 1] - v[lo]);
}

/* Inserts x into the sorted v[0..n-1] after its equals (where insertion
 * sort puts it). */
static void sorted_insert(double *v, size_t n, double x) {
  size_t j = n;
  for (; j > 0 && v[j - 1] > x; j--)
    v[j] = v[j - 1];
  v[j] = x;
}

/* The q-quantile of v[0..n-1] (sorted in place), interpolated. A short
 * window (the quantile estimator's 12 samples, once per grid cell and
 * series: 60% of a 1,000-node pass's estimating went to qsort) is sorted
 * by insertion: the same order, without qsort's calls. */
static double quantile_sorted(double *v, size_t n, double q) {
  if (n > QSORT_FROM)
    qsort(v, n, sizeof(double), cmp_double);
  else
    for (size_t i = 1; i < n; i++)
      sorted_insert(v, i, v[i]);
  return quantile_of(v, n, q);
}

/* The q-quantile of the known samples among x[from..to] (inclusive; from
 * may be below 0), NAN with fewer than 2 known. */
static double window_quantile(const double *x, long from, long to, double q,
                              double *tmp) {
  size_t k = 0;
  for (long j = from < 0 ? 0 : from; j <= to; j++)
    if (!isnan(x[j]))
      tmp[k++] = x[j];
  return k >= 2 ? quantile_sorted(tmp, k, q) : NAN;
}

/* The predictions of the estimator e for cells 0..n-1+h (h steps past the
 * last sample) into pred; NAN where it has nothing to go on. */
static void predict(enum bal_estimator e, const double *x, size_t n,
                    const bal_est_params_t *p, double *pred, double *tmp) {
  size_t h = p->horizon, m = n + h;
  for (size_t i = 0; i < m; i++)
    pred[i] = NAN;
  switch (e) {
  case BAL_E_LAST: {
    double last = NAN;
    for (size_t i = 0; i < m; i++) {
      if (i >= h && i - h < n && !isnan(x[i - h]))
        last = x[i - h];
      pred[i] = last;
    }
    break;
  }
  case BAL_E_QUANTILE:
    if (p->qwindow <= QSORT_FROM) {
      /* The window slides a cell a step: its known samples stay sorted,
       * the one leaving is taken out (the first of its equals: the oldest)
       * and the one coming put in after its equals, so they are in the
       * order insertion sort gives the window and the quantile is the
       * same to the bit, without sorting each window again. */
      size_t k = 0;
      for (size_t i = h; i < m; i++) {
        long to = (long)(i - h), gone = to - (long)p->qwindow;
        if (gone >= 0 && !isnan(x[gone])) {
          size_t j = 0;
          while (tmp[j] != x[gone])
            j++;
          memmove(tmp + j, tmp + j + 1, (--k - j) * sizeof(double));
        }
        if (!isnan(x[to]))
          sorted_insert(tmp, k++, x[to]);
        pred[i] = k >= 2 ? quantile_of(tmp, k, p->quantile) : NAN;
      }
      break;
    }
    for (size_t i = h; i < m; i++) {
      long to = (long)(i - h);
      pred[i] =
          window_quantile(x, to - (long)p->qwindow + 1, to, p->quantile, tmp);
    }
    break;
  case BAL_E_SMOOTH:
    bal_forecast_path(x, n, (unsigned)h, pred);
    break;
  case BAL_E_AVERAGE: {
    double sum = 0;
    size_t k = 0;
    for (size_t i = h; i < m; i++) {
      if (!isnan(x[i - h])) {
        sum += x[i - h];
        k++;
      }
      pred[i] = k ? sum / (double)k : NAN;
    }
    break;
  }
  default:
    break;
  }
}

int bal_estimate_auto(const double *x, size_t n, const double *fc,
                      const double *fc_upper, const bal_est_params_t *p,
                      bal_est_t *ret) {
  if (!x || !p || !ret || p->horizon == 0)
    return -EINVAL;
  size_t known = 0;
  for (size_t i = 0; i < n; i++)
    known += !isnan(x[i]);
  if (!known)
    return -ENODATA;
  size_t h = p->horizon, m = n + h;
  double *buf = malloc((BAL_NEST * m + m + n + 1) * sizeof(double));
  if (!buf)
    return -ENOMEM;
  double *pred[BAL_NEST], *tmp = buf + BAL_NEST * m, *err = tmp + n + 1;
  const double *given[BAL_NEST] = {
      [BAL_E_FORECAST] = fc, [BAL_E_UPPER] = fc_upper};
  bal_est_t r = {.which = BAL_E_LAST};
  unsigned cnt[BAL_NEST] = {0};
  for (int e = 0; e < BAL_NEST; e++) {
    pred[e] = buf + (size_t)e * m;
    if (e == BAL_E_FORECAST || e == BAL_E_UPPER) {
      for (size_t i = 0; i < m; i++)
        pred[e][i] = given[e] ? given[e][i] : NAN;
    } else {
      predict((enum bal_estimator)e, x, n, p, pred[e], tmp);
    }
    double sq = 0;
    for (size_t i = 0; i < n; i++)
      if (!isnan(x[i]) && !isnan(pred[e][i])) {
        sq += (x[i] - pred[e][i]) * (x[i] - pred[e][i]);
        cnt[e]++;
      }
    r.rmse[e] = cnt[e] ? sqrt(sq / cnt[e]) : NAN;
  }
  /* The most accurate of those with enough errors scored and a prediction
   * now; the last sample when none has. Ties go to the earlier (the
   * forecast plugin's, then the smoother). */
  int best = -1;
  for (int e = 0; e < BAL_NEST; e++) {
    if (cnt[e] < p->min_errors || isnan(pred[e][m - 1]))
      continue;
    if (best < 0 || r.rmse[e] < r.rmse[best] - 1e-12)
      best = e;
  }
  if (best < 0)
    best = BAL_E_LAST;
  r.which = (enum bal_estimator)best;
  r.nerr = cnt[best];
  r.point = pred[best][m - 1];
  r.value = r.point;
  /* Errors of the choice: burstiness and spread. */
  size_t ne = 0;
  double rmse = r.rmse[best];
  for (size_t i = 0; i < n; i++)
    if (!isnan(x[i]) && !isnan(pred[best][i]))
      err[ne++] = x[i] - pred[best][i];
  double shift = 0;
  if (ne >= p->min_errors && rmse > 0) {
    memcpy(tmp, err, ne * sizeof(double));
    double top = quantile_sorted(tmp, ne, 1.0 - 0.5 / (double)ne);
    if (p->burst > 0 && top > p->burst * rmse) {
      r.bursty = true;
      shift = fmax(0, quantile_of(tmp, ne, p->burst_quantile)); /* sorted */
      r.value += shift;
    }
  }
  double ss = 0;
  for (size_t i = 0; i < ne; i++)
    ss += (err[i] - shift) * (err[i] - shift);
  r.spread = ne ? sqrt(ss / (double)ne) : 0;
  double s1 = 0, s2 = 0;
  for (size_t i = 0; i < n; i++)
    if (!isnan(x[i])) {
      s1 += x[i];
      s2 += x[i] * x[i];
    }
  r.level = s1 / (double)known;
  r.level_sd = sqrt(fmax(0, s2 / (double)known - r.level * r.level));
  free(buf);
  *ret = r;
  return 0;
}
