/* arma.c: Burg's method, conditional sum of squares and its refinement,
 * stationarity checks and psi weights. */
#include "config.h"

#include "internal.h"

#include <errno.h>
#include <math.h>
#include <string.h>

void fc_runs(const double *w, size_t n, int *run) {
  int r = 0;
  for (size_t t = 0; t < n; t++) {
    r = isfinite(w[t]) ? r + 1 : 0;
    run[t] = r;
  }
}

/* Forward error f[t] and backward error b[t] of order m - 1 exist when
 * run[t] >= m; the order-m reflection pairs f[t] with b[t-1], so it sums over
 * run[t] >= m + 1. Errors are updated in place from the end of the series so
 * that b[t-1] is still of order m - 1 when f[t] and b[t] are computed. */
int fc_burg(const double *w, const int *run, size_t n, int order, double *coef,
            double *sigma2, double *f, double *b) {
  double energy = 0;
  size_t count = 0;
  for (size_t t = 0; t < n; t++) {
    f[t] = b[t] = run[t] > 0 ? w[t] : 0;
    if (run[t] > 0) {
      energy += w[t] * w[t];
      count++;
    }
  }
  sigma2[0] = count ? energy / (double)count : 0;
  double prev[FC_LONG_AR > FC_MAX_P ? FC_LONG_AR : FC_MAX_P];
  double *cur = coef;
  for (int m = 1; m <= order; m++) {
    double num = 0, den = 0;
    size_t pairs = 0;
    for (size_t t = 1; t < n; t++) {
      if (run[t] < m + 1)
        continue;
      num += f[t] * b[t - 1];
      den += f[t] * f[t] + b[t - 1] * b[t - 1];
      pairs++;
    }
    if (!(den > 1e-300) || pairs == 0 || !(den > 1e-24 * energy))
      return m - 1;
    double k = 2 * num / den;
    cur = coef + (size_t)(m - 1) * (size_t)order;
    for (int i = 1; i < m; i++)
      cur[i - 1] = prev[i - 1] - k * prev[m - i - 1];
    cur[m - 1] = k;
    memcpy(prev, cur, sizeof(double) * (size_t)m);
    sigma2[m] = (1 - k * k) * den / (2.0 * (double)pairs);
    for (size_t t = n - 1; t >= 1; t--) {
      if (run[t] < m + 1)
        continue;
      double ft = f[t], bt = b[t - 1];
      f[t] = ft - k * bt;
      b[t] = bt - k * ft;
    }
  }
  return order;
}

/* Schur-Cohn by the step-down (inverse Levinson) recursion: the polynomial is
 * stable iff every reflection coefficient has modulus below 1. */
bool fc_stable(const double *a, int n, double margin) {
  double c[FC_LONG_AR > FC_MAX_P ? FC_LONG_AR : FC_MAX_P];
  double tmp[FC_LONG_AR > FC_MAX_P ? FC_LONG_AR : FC_MAX_P];
  /* Roots outside radius 1 / margin are roots of P(z / margin) outside the
   * unit circle, whose coefficients are a[i] / margin^(i+1). */
  double s = 1 / margin;
  for (int i = 0; i < n; i++) {
    c[i] = a[i] * s;
    s /= margin;
  }
  for (int m = n; m >= 1; m--) {
    double k = c[m - 1];
    if (!(fabs(k) < 1))
      return false;
    double den = 1 - k * k;
    for (int i = 1; i < m; i++)
      tmp[i - 1] = (c[i - 1] + k * c[m - i - 1]) / den;
    memcpy(c, tmp, sizeof(double) * (size_t)(m - 1));
  }
  return true;
}

/* Hot loop of every fit, bound by the latency of the residual recursion:
 * the last values and residuals stay in registers and the coefficients are
 * padded to the largest orders, so each step is the same six multiply-adds. */
double fc_css(const fc_arma_t *m, const double *w, size_t n, size_t t0,
              double *e, double *wf, size_t *ret_count) {
  double phi[FC_MAX_P] = {0}, th[FC_MAX_Q] = {0};
  memcpy(phi, m->phi, sizeof(double) * (size_t)m->p);
  memcpy(th, m->theta, sizeof(double) * (size_t)m->q);
  if (t0 < FC_MAX_P)
    t0 = FC_MAX_P;
  if (t0 > n)
    t0 = n;
  for (size_t t = 0; t < t0; t++) {
    e[t] = 0;
    wf[t] = isfinite(w[t]) ? w[t] : 0;
  }
  double w1 = t0 >= 1 ? wf[t0 - 1] : 0, w2 = t0 >= 2 ? wf[t0 - 2] : 0,
         w3 = t0 >= 3 ? wf[t0 - 3] : 0, w4 = t0 >= 4 ? wf[t0 - 4] : 0;
  double e1 = 0, e2 = 0, sse = 0;
  size_t count = 0;
  for (size_t t = t0; t < n; t++) {
    double pred = phi[0] * w1 + phi[1] * w2 + phi[2] * w3 + phi[3] * w4 +
                  th[0] * e1 + th[1] * e2;
    double x = w[t], r = 0;
    if (isfinite(x)) {
      r = x - pred;
      sse += r * r;
      count++;
    } else {
      x = pred;
    }
    e[t] = r;
    wf[t] = x;
    e2 = e1;
    e1 = r;
    w4 = w3;
    w3 = w2;
    w2 = w1;
    w1 = x;
  }
  *ret_count = count;
  return sse;
}

int fc_cholesky_solve(double *a, double *b, int k) {
  for (int j = 0; j < k; j++) {
    double d = a[j * k + j];
    for (int l = 0; l < j; l++)
      d -= a[j * k + l] * a[j * k + l];
    if (!(d > 0))
      return -EDOM;
    d = sqrt(d);
    a[j * k + j] = d;
    for (int i = j + 1; i < k; i++) {
      double s = a[i * k + j];
      for (int l = 0; l < j; l++)
        s -= a[i * k + l] * a[j * k + l];
      a[i * k + j] = s / d;
    }
  }
  for (int i = 0; i < k; i++) {
    double s = b[i];
    for (int l = 0; l < i; l++)
      s -= a[i * k + l] * b[l];
    b[i] = s / a[i * k + i];
  }
  for (int i = k - 1; i >= 0; i--) {
    double s = b[i];
    for (int l = i + 1; l < k; l++)
      s -= a[l * k + i] * b[l];
    b[i] = s / a[i * k + i];
  }
  return 0;
}

static bool admissible(const fc_arma_t *m) {
  double neg[FC_MAX_Q];
  for (int j = 0; j < m->q; j++)
    neg[j] = -m->theta[j];
  return fc_stable(m->phi, m->p, FC_ROOT_MARGIN) &&
         fc_stable(neg, m->q, FC_ROOT_MARGIN);
}

#define FC_NPAR (FC_MAX_P + FC_MAX_Q)

static void set_params(fc_arma_t *m, const double *beta) {
  for (int i = 0; i < m->p; i++)
    m->phi[i] = beta[i];
  for (int j = 0; j < m->q; j++)
    m->theta[j] = beta[m->p + j];
}

/* Accumulates J'J and J'e of the residuals of m, whose derivatives follow
 * the residual recursion itself: for t >= t0,
 *   de[t]/dphi[i]   = -wf[t-i] - sum_j theta[j] de[t-j]/dphi[i]
 *   de[t]/dtheta[j] = -e[t-j]  - sum_l theta[l] de[t-l]/dtheta[j]
 * and 0 before t0 and at gaps (whose residual is fixed at 0). */
static void css_normal_equations(const fc_arma_t *m, const double *w,
                                 const double *e, const double *wf, size_t n,
                                 size_t t0, double *jtj, double *jte) {
  int k = m->p + m->q;
  double prev[FC_MAX_Q][FC_NPAR] = {{0}};
  memset(jtj, 0, sizeof(double) * (size_t)(k * k));
  memset(jte, 0, sizeof(double) * (size_t)k);
  for (size_t t = t0; t < n; t++) {
    double row[FC_NPAR];
    bool gap = !isfinite(w[t]);
    for (int a = 0; a < k; a++) {
      double r =
          a < m->p ? -wf[t - 1 - (size_t)a] : -e[t - (size_t)(a - m->p + 1)];
      for (int l = 0; l < m->q; l++)
        r -= m->theta[l] * prev[l][a];
      row[a] = gap ? 0 : r;
    }
    for (int a = 0; a < k; a++) { /* by hand: these rows are short */
      for (int l = m->q - 1; l > 0; l--)
        prev[l][a] = prev[l - 1][a];
      prev[0][a] = row[a];
    }
    if (gap)
      continue;
    for (int a = 0; a < k; a++) {
      jte[a] += row[a] * e[t];
      for (int c = 0; c <= a; c++)
        jtj[a * k + c] += row[a] * row[c];
    }
  }
}

double fc_css_refine(fc_arma_t *m, const double *w, size_t n, size_t t0,
                     double *scratch, int max_iter) {
  double *e = scratch, *wf = scratch + n;
  int k = m->p + m->q;
  size_t count;
  if (t0 < FC_MAX_P)
    t0 = FC_MAX_P;
  double sse = fc_css(m, w, n, t0, e, wf, &count);
  if (k == 0)
    return sse;
  double lambda = 1e-3;
  for (int it = 0; it < max_iter; it++) {
    double jtj[FC_NPAR * FC_NPAR], jte[FC_NPAR];
    css_normal_equations(m, w, e, wf, n, t0, jtj, jte);
    double beta[FC_NPAR];
    memcpy(beta, m->phi, sizeof(double) * (size_t)m->p);
    memcpy(beta + m->p, m->theta, sizeof(double) * (size_t)m->q);
    bool improved = false;
    double gain = 0;
    for (int tries = 0; tries < 6 && !improved; tries++, lambda *= 10) {
      double a[FC_NPAR * FC_NPAR], step[FC_NPAR];
      for (int r = 0; r < k; r++) {
        for (int c = 0; c <= r; c++)
          a[r * k + c] = a[c * k + r] = jtj[r * k + c];
        a[r * k + r] = a[r * k + r] * (1 + lambda) + 1e-300;
        step[r] = -jte[r];
      }
      if (fc_cholesky_solve(a, step, k) < 0)
        continue;
      fc_arma_t trial = *m;
      double nb[FC_NPAR];
      for (int r = 0; r < k; r++)
        nb[r] = beta[r] + step[r];
      set_params(&trial, nb);
      if (!admissible(&trial))
        continue;
      double s = fc_css(&trial, w, n, t0, e, wf, &count);
      if (s < sse) {
        gain = (sse - s) / sse;
        *m = trial;
        sse = s;
        improved = true;
        lambda = lambda > 1e-7 ? lambda / 100 : lambda / 10;
      }
    }
    if (!improved) {
      /* Leave e and wf describing m, as the caller expects. */
      fc_css(m, w, n, t0, e, wf, &count);
      break;
    }
    if (gain < 1e-13)
      break;
  }
  return sse;
}

void fc_psi(const fc_arma_t *m, int h, double *psi) {
  for (int j = 0; j < h; j++) {
    double s = j == 0 ? 1 : (j <= m->q ? m->theta[j - 1] : 0);
    for (int i = 1; i <= m->p && i <= j; i++)
      s += m->phi[i - 1] * psi[j - i];
    psi[j] = s;
  }
  if (m->d == 1)
    for (int j = 1; j < h; j++)
      psi[j] += psi[j - 1];
}

double fc_aicc(double sse, size_t n, int k) {
  double nn = (double)n;
  if (nn - k - 1 <= 0)
    return INFINITY;
  double s2 = sse / nn;
  if (!(s2 > 0))
    s2 = 1e-300;
  return nn * log(s2) + 2.0 * k + 2.0 * k * (k + 1) / (nn - k - 1);
}
