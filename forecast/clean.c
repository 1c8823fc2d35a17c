/* clean.c: robust scale and clipping, the KPSS statistic, counter rates. */
#include "config.h"

#include "internal.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>

static void swap(double *a, double *b) {
  double t = *a;
  *a = *b;
  *b = t;
}

/* Quickselect with a median-of-three pivot and Hoare's partition (which
 * stays balanced when values repeat): O(n) on average, no recursion. */
double fc_select(double *a, size_t n, size_t k) {
  size_t lo = 0, hi = n - 1;
  while (hi > lo) {
    size_t mid = lo + (hi - lo) / 2;
    if (a[mid] < a[lo])
      swap(&a[mid], &a[lo]);
    if (a[hi] < a[lo])
      swap(&a[hi], &a[lo]);
    if (a[hi] < a[mid])
      swap(&a[hi], &a[mid]);
    double pivot = a[mid];
    size_t i = lo, j = hi;
    while (i <= j) {
      while (a[i] < pivot)
        i++;
      while (a[j] > pivot)
        j--;
      if (i <= j) {
        swap(&a[i], &a[j]);
        i++;
        if (j == 0)
          break;
        j--;
      }
    }
    if (k <= j)
      hi = j;
    else if (k >= i)
      lo = i;
    else
      break;
  }
  return a[k];
}

/* Median of a[0..n-1] (reorders a). */
static double median(double *a, size_t n) {
  double hi = fc_select(a, n, n / 2);
  if (n % 2)
    return hi;
  /* After the selection, a[0..n/2-1] holds the lower half. */
  double lo = a[0];
  for (size_t i = 1; i < n / 2; i++)
    if (a[i] > lo)
      lo = a[i];
  return (lo + hi) / 2;
}

/* The 5% to 95% quantile range over 3.29 is the standard deviation for
 * normal data, like 1.4826 MAD, but unlike the MAD it does not collapse on
 * bursty load series whose samples mostly sit at one level. */
int fc_robust_scale(const double *x, size_t n, double *scratch,
                    double *ret_center, double *ret_scale) {
  size_t m = 0;
  for (size_t i = 0; i < n; i++)
    if (isfinite(x[i]))
      scratch[m++] = x[i];
  if (m == 0)
    return -ENODATA;
  double center = median(scratch, m);
  /* median() left the m/2 smallest values in scratch[0..m/2-1] and the
   * others above them: each quantile is selected within its half. */
  size_t half = m / 2;
  size_t k05 = (size_t)(0.05 * (double)(m - 1) + 0.5);
  size_t k95 = (size_t)(0.95 * (double)(m - 1) + 0.5);
  double lo = k05 < half ? fc_select(scratch, half, k05) : center;
  double hi =
      k95 >= half ? fc_select(scratch + half, m - half, k95 - half) : center;
  double scale = (hi - lo) / 3.29;
  if (scale <= 0) {
    /* More than 90% of the samples are equal: their mean distance. */
    double sum = 0;
    for (size_t i = 0; i < m; i++)
      sum += fabs(scratch[i] - center);
    scale = 1.2533 * sum / (double)m;
  }
  *ret_center = center;
  *ret_scale = scale;
  return 0;
}

size_t fc_clip(double *x, size_t n, double lo, double hi) {
  size_t clipped = 0;
  for (size_t i = 0; i < n; i++) {
    if (x[i] < lo) {
      x[i] = lo;
      clipped++;
    } else if (x[i] > hi) {
      x[i] = hi;
      clipped++;
    }
  }
  return clipped;
}

unsigned fc_kpss_lags(size_t n) {
  return (unsigned)(3.0 * sqrt((double)n) / 13.0);
}

double fc_kpss(const double *x, size_t n, unsigned lags, double *scratch) {
  size_t m = 0;
  double mean = 0;
  for (size_t i = 0; i < n; i++)
    if (isfinite(x[i])) {
      scratch[m++] = x[i];
      mean += x[i];
    }
  if (m < 2)
    return 0;
  mean /= (double)m;
  double eta = 0, sum = 0, s2 = 0;
  for (size_t i = 0; i < m; i++) {
    scratch[i] -= mean;
    sum += scratch[i];
    eta += sum * sum;
    s2 += scratch[i] * scratch[i];
  }
  if (lags >= m)
    lags = (unsigned)m - 1;
  for (unsigned l = 1; l <= lags; l++) {
    double c = 0;
    for (size_t i = l; i < m; i++)
      c += scratch[i] * scratch[i - l];
    s2 += 2 * c * (1.0 - l / (lags + 1.0));
  }
  if (!(s2 > 0))
    return 0;
  return (eta / ((double)m * (double)m)) / (s2 / (double)m);
}

/* A decrease of an unsigned counter is a wrap when the wrapped difference is
 * less than half the counter's range (32 bits when both values fit, else 64);
 * otherwise the counter was reset. */
static int counter_diff(uint64_t prev, uint64_t cur, double *ret) {
  if (cur >= prev) {
    *ret = (double)(cur - prev);
    return 0;
  }
  uint64_t diff;
  uint64_t half;
  if (prev <= UINT32_MAX) {
    diff = (UINT64_C(1) << 32) - prev + cur;
    half = UINT64_C(1) << 31;
  } else {
    diff = cur - prev; /* modulo 2^64 */
    half = UINT64_C(1) << 63;
  }
  if (diff >= half)
    return -ERANGE;
  *ret = (double)diff;
  return 0;
}

int fc_rate(fc_kind_t kind, fc_raw_t prev, fc_raw_t cur, double dt,
            double *ret_rate) {
  double diff;
  if (!(dt > 0))
    return -EINVAL;
  switch (kind) {
  case FC_KIND_GAUGE:
    *ret_rate = cur.gauge;
    return 0;
  case FC_KIND_COUNTER:
    if (counter_diff(prev.counter, cur.counter, &diff) < 0)
      return -ERANGE;
    break;
  case FC_KIND_DERIVE:
    if (cur.derive < prev.derive)
      return -ERANGE;
    diff = (double)((uint64_t)cur.derive - (uint64_t)prev.derive);
    break;
  case FC_KIND_ABSOLUTE:
    diff = (double)cur.counter;
    break;
  default:
    return -EINVAL;
  }
  *ret_rate = diff / dt;
  return 0;
}

/* Newton's method on the normal CDF, which erfc gives to full precision:
 * from 0 it converges monotonically since the CDF is convex below 0 and
 * concave above. */
double fc_norm_quantile(double p) {
  double z = 0;
  for (int i = 0; i < 200; i++) {
    double cdf = 0.5 * erfc(-z / M_SQRT2);
    double pdf = exp(-0.5 * z * z) / sqrt(2 * M_PI);
    double step = (cdf - p) / pdf;
    z -= step;
    if (fabs(step) < 1e-14 * (1 + fabs(z)))
      break;
  }
  return z;
}
