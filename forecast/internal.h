/* internal.h: helpers shared inside forecast/ (and by its unit tests).
 *
 * Sign conventions: an ARMA(p,q) model of the centred series w is
 *   w[t] = phi[1] w[t-1] + ... + phi[p] w[t-p]
 *          + e[t] + theta[1] e[t-1] + ... + theta[q] e[t-q]
 * (the convention of statsmodels and R). Missing samples are NAN. */
#ifndef PATMON_FORECAST_INTERNAL_H
#define PATMON_FORECAST_INTERNAL_H

#include "forecast.h"

#include <stdbool.h>
#include <stddef.h>

/* Order of the long autoregression of the Hannan-Rissanen first stage. */
#define FC_LONG_AR 8
/* Outliers are clipped at median +- FC_CLIP robust standard deviations. */
#define FC_CLIP 5.0
/* Stationarity and invertibility: every root outside radius 1/margin. */
#define FC_ROOT_MARGIN 0.98
/* KPSS 5% critical value for level stationarity (Kwiatkowski et al. 1992,
 * table 1), as R's forecast::ndiffs uses. */
#define FC_KPSS_CRIT 0.463

/* A fitted ARIMA(p,d,q) model. */
typedef struct fc_arma {
  int d, p, q;
  double mu; /* mean of the differenced series (0 when d = 1) */
  double phi[FC_MAX_P];
  double theta[FC_MAX_Q];
  double sigma2; /* innovation variance */
  double aicc;
  bool fallback;
  /* The samples were divided by this power of two before the fit (0 or 1:
   * not at all), so that squares and sums of values near DBL_MAX stay
   * finite: mu, sigma2 and a series' filter state are in those units. */
  double scale;
} fc_arma_t;

/* clean.c */

/* The k-th smallest of a[0..n-1] (0-based); reorders a. n > 0. */
double fc_select(double *a, size_t n, size_t k);

/* Median and robust standard deviation ((q95 - q05) / 3.29; when more than
 * 90% of the samples are equal, 1.2533 times their mean absolute deviation
 * from the median) of the finite values of x. scratch holds n doubles.
 * -ENODATA when none is finite. */
int fc_robust_scale(const double *x, size_t n, double *scratch,
                    double *ret_center, double *ret_scale);

/* Clips finite values of x to [lo, hi]; returns how many were clipped. */
size_t fc_clip(double *x, size_t n, double lo, double hi);

/* KPSS level-stationarity statistic of the finite values of x (gaps are
 * skipped), with a Bartlett-weighted long-run variance over `lags` lags
 * (Kwiatkowski et al. 1992, eq. 10-11). 0 for a constant series. scratch
 * holds n doubles. */
double fc_kpss(const double *x, size_t n, unsigned lags, double *scratch);

/* The lag truncation R's forecast::ndiffs uses: trunc(3 sqrt(n) / 13). */
unsigned fc_kpss_lags(size_t n);

/* Rate per second between two raw observations dt seconds apart. Returns 0
 * with *ret_rate set, or -ERANGE for a counter reset (no rate). */
int fc_rate(fc_kind_t kind, fc_raw_t prev, fc_raw_t cur, double dt,
            double *ret_rate);

/* The standard normal quantile of probability p (0 < p < 1). */
double fc_norm_quantile(double p);

/* arma.c */

/* run[t]: how many finite values end at w[t] (0 when w[t] is NAN). */
void fc_runs(const double *w, size_t n, int *run);

/* Burg's method on the centred series w (gaps split it into segments whose
 * forward and backward errors are pooled), for orders 1..order.
 * coef[(m-1) * order + i - 1] receives phi[i] of AR(m) and sigma2[m] its
 * innovation variance (sigma2[0] is the mean square of w). f and b are n
 * doubles of scratch. Returns the highest order reached (lower than order
 * when the errors vanish). */
int fc_burg(const double *w, const int *run, size_t n, int order, double *coef,
            double *sigma2, double *f, double *b);

/* True when 1 - a[0] z - ... - a[n-1] z^n has every root outside the circle
 * of radius 1 / margin (margin 1: strictly outside the unit circle). */
bool fc_stable(const double *a, int n, double margin);

/* Conditional sum of squares of m on the centred series w: residuals start
 * at 0 before t0, a gap gets residual 0 and its prediction as its value.
 * e and wf (n doubles each) receive the residuals and the filled series.
 * Returns the sum of squares over the finite w[t], t >= t0, counted in
 * *ret_count. */
double fc_css(const fc_arma_t *m, const double *w, size_t n, size_t t0,
              double *e, double *wf, size_t *ret_count);

/* Refines phi and theta of m by Levenberg-Marquardt on the conditional sum of
 * squares, keeping every step stationary and invertible. scratch holds
 * 2 n doubles; on return they hold the residuals and the filled series. Returns
 * the final sum of squares (m is changed only when that is lower than the
 * starting one). */
double fc_css_refine(fc_arma_t *m, const double *w, size_t n, size_t t0,
                     double *scratch, int max_iter);

/* Solves the k x k symmetric positive definite system a x = b in place (b
 * becomes x; a is destroyed). -EDOM when a is not positive definite. */
int fc_cholesky_solve(double *a, double *b, int k);

/* psi weights of the ARIMA model (d applied): psi[0] = 1, ..., psi[h-1]. */
void fc_psi(const fc_arma_t *m, int h, double *psi);

/* AICc of a model with k estimated parameters and n residuals. */
double fc_aicc(double sse, size_t n, int k);

/* series.c */

/* Installs model into s (as fc_series_install does with a fit). */
void fc_series_set_model(fc_series_t *s, const fc_arma_t *model);

/* The samples fc_model_load() copied (oldest first). */
const double *fc_model_samples(const fc_model_t *m, size_t *ret_n);

/* fit.c */

/* Fits x[0..n-1] (NAN: gaps) with the family's order search. scratch holds
 * fc_fit_scratch_size(n) bytes, suitably aligned for doubles. -ENODATA when
 * too few samples. */
int fc_fit(const double *x, size_t n, fc_family_t family, void *scratch,
           fc_arma_t *ret);
size_t fc_fit_scratch_size(size_t n);

/* Fewest finite samples a fit needs. */
#define FC_FIT_MIN 16

#endif
