/* fit.c: from a window of samples to a fitted ARIMA(p,d,q) model.
 *
 * The steps, each chosen on the NAB benchmark (t/bench/forecast; README):
 *  1. constant window: the mean, with a zero-width interval;
 *  2. d in {0, 1} by the KPSS test, as R's forecast::ndiffs chooses it;
 *  3. gross outliers of the (differenced) series clipped at the median +- 5
 *     robust standard deviations (fc_robust_scale); the series is centred on
 *     its median, which for the skewed, spiky load series suits an
 *     absolute-error target better than the mean (d = 0; after differencing
 *     no constant is fitted);
 *  4. candidates: the mean only, AR(p) by Burg, and every (p,q) with q >= 1
 *     by Hannan-Rissanen (stage one: Burg AR(8)), unstable or non-invertible
 *     ones dropped, the two best by their regression kept; all scored by
 *     AICc from their conditional sum of squares over the same samples;
 *  5. the winner, when it has MA terms, refined by Levenberg-Marquardt on the
 *     conditional sum of squares within the admissible region;
 *  6. fallback: when the winner's one-step errors on the raw window are
 *     larger than the last value's, the last value (ARIMA(0,1,0)) is used:
 *     on spiky series no ARMA model beats it. */
#include "config.h"

#include "internal.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* Levenberg-Marquardt iterations when refining the winner. */
#define FC_REFINE_ITER 6
/* Hannan-Rissanen candidates scored by their conditional sum of squares:
 * the best by the AICc of their own regression (scoring all ten cost 40%
 * of a fit and changed no median on the benchmark). */
#define FC_HR_SCORED 2

/* Scratch arrays of one fit, carved from one block. */
typedef struct ws {
  double *y, *w, *f, *b, *e, *wf, *u, *v, *eh, *tmp, *xs;
  int *run;
} ws_t;

#define WS_DOUBLES 11

/* Windows whose largest magnitude is above this are fitted on their
 * samples divided by a power of two (exact): sums of squares of values
 * above about 1e154 would overflow. */
#define FC_SCALE_ABOVE 0x1p100

size_t fc_fit_scratch_size(size_t n) {
  return n * (WS_DOUBLES * sizeof(double) + sizeof(int));
}

static ws_t ws_layout(void *scratch, size_t n) {
  double *d = scratch;
  /* e, wf, u and v are contiguous: fc_css_refine's scratch. */
  return (ws_t){
      .y = d,
      .w = d + n,
      .f = d + 2 * n,
      .b = d + 3 * n,
      .e = d + 4 * n,
      .wf = d + 5 * n,
      .u = d + 6 * n,
      .v = d + 7 * n,
      .eh = d + 8 * n,
      .tmp = d + 9 * n,
      .xs = d + 10 * n,
      .run = (int *)(d + WS_DOUBLES * n),
  };
}

/* The orders a family searches (besides the mean-only model). */
typedef struct family_orders {
  int pmin, pmax, qmin, qmax;
} family_orders_t;

static const family_orders_t family_orders[] = {
    [FC_FAMILY_AUTO] = {.pmin = 0,
                        .pmax = FC_MAX_P,
                        .qmin = 0,
                        .qmax = FC_MAX_Q},
    [FC_FAMILY_AR] = {.pmin = 1, .pmax = FC_MAX_P, .qmin = 0, .qmax = 0},
    [FC_FAMILY_MA] = {.pmin = 0, .pmax = 0, .qmin = 1, .qmax = FC_MAX_Q},
    [FC_FAMILY_ARMA] = {.pmin = 1,
                        .pmax = FC_MAX_P,
                        .qmin = 1,
                        .qmax = FC_MAX_Q},
};

/* A candidate of the order search. */
typedef struct cand {
  fc_arma_t m;
  double sse;
  size_t count;
} cand_t;

/* Coefficients, sigma2 and the mean when d = 0. */
static int nparams(const fc_arma_t *m) { return m->p + m->q + 1 + (m->d == 0); }

static void set_aicc(cand_t *c) {
  c->m.aicc = fc_aicc(c->sse, c->count, nparams(&c->m));
}

static void score(cand_t *c, const double *w, size_t n, size_t t0, ws_t *ws) {
  c->sse = fc_css(&c->m, w, n, t0, ws->e, ws->wf, &c->count);
  set_aicc(c);
}

/* g[i * (P+1) + j] = sum over t0 <= t < n of w[t-i] w[t-j], i, j <= P. */
static void lag_gram(const double *w, size_t n, size_t t0, double *g) {
  enum { L = FC_MAX_P + 1 };
  double acc[L * L] = {0};
  for (size_t t = t0; t < n; t++)
    for (int i = 0; i < L; i++)
      for (int j = 0; j <= i; j++)
        acc[i * L + j] += w[t - (size_t)i] * w[t - (size_t)j];
  for (int i = 0; i < L; i++)
    for (int j = 0; j <= i; j++)
      g[i * L + j] = g[j * L + i] = acc[i * L + j];
}

/* The conditional sum of squares of an AR (or mean-only) model on a window
 * without gaps, from the lag cross-products: sum (w[t] - phi . w[t-1..p])^2
 * expanded. */
static void score_ar(cand_t *c, const double *g, size_t count) {
  enum { L = FC_MAX_P + 1 };
  const double *phi = c->m.phi;
  double sse = g[0];
  for (int i = 1; i <= c->m.p; i++) {
    sse -= 2 * phi[i - 1] * g[i];
    for (int j = 1; j <= c->m.p; j++)
      sse += phi[i - 1] * phi[j - 1] * g[i * L + j];
  }
  c->sse = sse > 0 ? sse : 0;
  c->count = count;
  set_aicc(c);
}

static void consider(cand_t *best, const cand_t *c) {
  if (isfinite(c->m.aicc) && !(c->m.aicc >= best->m.aicc))
    *best = *c;
}

static bool invertible(const fc_arma_t *m) {
  double neg[FC_MAX_Q];
  for (int j = 0; j < m->q; j++)
    neg[j] = -m->theta[j];
  return fc_stable(neg, m->q, FC_ROOT_MARGIN);
}

/* Hannan-Rissanen second stage for every (p,q) with q >= 1 at once: the
 * regressions share one cross-product matrix of w[t-1..P], eh[t-1..Q], w[t]
 * over the rows where all of them exist, and each (p,q) solves its block.
 * The admissible ones are ranked by the AICc of their regression residuals;
 * the first FC_HR_SCORED are scored like every other candidate. */
static void hannan_rissanen(const family_orders_t *fo, const fc_arma_t *base,
                            const double *w, size_t n, size_t t0,
                            const double *longar, ws_t *ws, cand_t *best) {
  enum { P = FC_MAX_P, Q = FC_MAX_Q, L = FC_LONG_AR, C = P + Q + 1 };
  for (size_t t = 0; t < n; t++) {
    ws->eh[t] = NAN;
    if (ws->run[t] < L + 1)
      continue;
    double r = w[t];
    for (int i = 1; i <= L; i++)
      r -= longar[i - 1] * w[t - (size_t)i];
    ws->eh[t] = r;
  }
  double g[C * C] = {0};
  size_t rows = 0;
  for (size_t t = L + Q; t < n; t++) {
    if (ws->run[t] < L + Q + 1)
      continue;
    double col[C];
    for (int i = 0; i < P; i++)
      col[i] = w[t - (size_t)i - 1];
    for (int j = 0; j < Q; j++)
      col[P + j] = ws->eh[t - (size_t)j - 1];
    col[C - 1] = w[t];
    for (int a = 0; a < C; a++)
      for (int c = 0; c <= a; c++)
        g[a * C + c] += col[a] * col[c];
    rows++;
  }
  if (rows < 4 * (P + Q))
    return;
  cand_t found[(P + 1) * Q];
  double reg_aicc[(P + 1) * Q];
  int nfound = 0;
  for (int p = fo->pmin; p <= fo->pmax; p++) {
    for (int q = fo->qmin > 1 ? fo->qmin : 1; q <= fo->qmax; q++) {
      int idx[P + Q], k = 0;
      for (int i = 0; i < p; i++)
        idx[k++] = i;
      for (int j = 0; j < q; j++)
        idx[k++] = P + j;
      double a[(P + Q) * (P + Q)], beta[P + Q];
      for (int r = 0; r < k; r++) {
        for (int c = 0; c < k; c++) {
          int hi = idx[r] > idx[c] ? idx[r] : idx[c];
          int lo = idx[r] > idx[c] ? idx[c] : idx[r];
          a[r * k + c] = g[hi * C + lo];
        }
        a[r * k + r] *= 1 + 1e-10; /* tolerate collinear regressors */
        beta[r] = g[(C - 1) * C + idx[r]];
      }
      if (fc_cholesky_solve(a, beta, k) < 0)
        continue;
      cand_t c = {.m = *base};
      c.m.p = p;
      c.m.q = q;
      memcpy(c.m.phi, beta, sizeof(double) * (size_t)p);
      memcpy(c.m.theta, beta + p, sizeof(double) * (size_t)q);
      if (!fc_stable(c.m.phi, p, FC_ROOT_MARGIN) || !invertible(&c.m))
        continue;
      double rss = g[(C - 1) * C + C - 1];
      for (int r = 0; r < k; r++)
        rss -= beta[r] * g[(C - 1) * C + idx[r]];
      double ra = fc_aicc(rss > 0 ? rss : 0, rows, nparams(&c.m));
      int pos = nfound++;
      while (pos > 0 && reg_aicc[pos - 1] > ra) {
        found[pos] = found[pos - 1];
        reg_aicc[pos] = reg_aicc[pos - 1];
        pos--;
      }
      found[pos] = c;
      reg_aicc[pos] = ra;
    }
  }
  for (int i = 0; i < nfound && i < FC_HR_SCORED; i++) {
    score(&found[i], w, n, t0, ws);
    consider(best, &found[i]);
  }
}

/* Sums of absolute one-step errors on the raw window x from t0 on: of m
 * (into *ret_model) and of the last value (*ret_naive); *ret_sq gets the
 * sum of m's squared errors and *ret_count their number. */
static void raw_errors(const fc_arma_t *m, const double *x, size_t n, size_t t0,
                       ws_t *ws, double *ret_model, double *ret_naive,
                       double *ret_sq, size_t *ret_count) {
  for (size_t t = 0; t < n; t++)
    ws->tmp[t] = m->d == 0 ? x[t] - m->mu : (t > 0 ? x[t] - x[t - 1] : NAN);
  size_t count;
  fc_css(m, ws->tmp, n, t0, ws->e, ws->wf, &count);
  double sm = 0, sn = 0, sq = 0;
  count = 0;
  for (size_t t = t0; t < n; t++) {
    if (!isfinite(x[t]) || !isfinite(x[t - 1]))
      continue;
    sm += fabs(ws->e[t]);
    sq += ws->e[t] * ws->e[t];
    sn += fabs(x[t] - x[t - 1]);
    count++;
  }
  *ret_model = sm;
  *ret_naive = sn;
  *ret_sq = sq;
  *ret_count = count;
}

static bool sane(const fc_arma_t *m) {
  for (int i = 0; i < m->p; i++)
    if (!isfinite(m->phi[i]))
      return false;
  for (int j = 0; j < m->q; j++)
    if (!isfinite(m->theta[j]))
      return false;
  return isfinite(m->mu) && isfinite(m->sigma2) && m->sigma2 >= 0;
}

/* Steps 2 and 3: y = x or its differences, clipped; w = y centred. */
static int prepare(const double *x, size_t n, size_t valid, fc_arma_t *base,
                   ws_t *ws) {
  base->d = fc_kpss(x, n, fc_kpss_lags(valid), ws->tmp) > FC_KPSS_CRIT;
  for (size_t t = 0; t < n; t++)
    ws->y[t] = base->d == 0 ? x[t] : (t > 0 ? x[t] - x[t - 1] : NAN);
  double center, scale;
  if (fc_robust_scale(ws->y, n, ws->tmp, &center, &scale) < 0)
    return -ENODATA;
  if (scale > 0)
    fc_clip(ws->y, n, center - FC_CLIP * scale, center + FC_CLIP * scale);
  base->mu = base->d == 0 ? center : 0;
  for (size_t t = 0; t < n; t++)
    ws->w[t] = ws->y[t] - base->mu;
  fc_runs(ws->w, n, ws->run);
  return 0;
}

/* Step 4 and 5: the order search on ws->w. */
static cand_t search(fc_family_t family, const fc_arma_t *base, size_t n,
                     ws_t *ws) {
  const family_orders_t *fo = &family_orders[family];
  const size_t t0 = FC_MAX_P + 1;
  int order = fo->qmax > 0 ? FC_LONG_AR : fo->pmax;
  double coef[FC_LONG_AR * FC_LONG_AR], s2[FC_LONG_AR + 1];
  int reached = fc_burg(ws->w, ws->run, n, order, coef, s2, ws->f, ws->b);

  /* Without gaps, the sums of squares of the mean-only and AR models follow
   * from one cross-product matrix of w[t..t-P] instead of a pass each. */
  double gram[(FC_MAX_P + 1) * (FC_MAX_P + 1)];
  bool dense = (size_t)ws->run[n - 1] >= n - t0 + FC_MAX_P;
  if (dense)
    lag_gram(ws->w, n, t0, gram);
  cand_t best = {.m = *base}, c = {.m = *base};
  if (dense)
    score_ar(&best, gram, n - t0);
  else
    score(&best, ws->w, n, t0, ws);
  for (int p = fo->pmin > 1 ? fo->pmin : 1; p <= fo->pmax && fo->qmin == 0;
       p++) {
    if (p > reached)
      break;
    c.m.p = p;
    memcpy(c.m.phi, coef + (size_t)(p - 1) * (size_t)order,
           sizeof(double) * (size_t)p);
    if (dense)
      score_ar(&c, gram, n - t0);
    else
      score(&c, ws->w, n, t0, ws);
    consider(&best, &c);
  }
  if (fo->qmax > 0 && reached == order)
    hannan_rissanen(fo, base, ws->w, n, t0,
                    coef + (size_t)(order - 1) * (size_t)order, ws, &best);
  if (best.m.q > 0) {
    best.sse = fc_css_refine(&best.m, ws->w, n, t0, ws->e, FC_REFINE_ITER);
    set_aicc(&best);
  }
  best.m.sigma2 = best.count ? best.sse / (double)best.count : 0;
  return best;
}

int fc_fit(const double *x, size_t n, fc_family_t family, void *scratch,
           fc_arma_t *ret) {
  if ((unsigned)family > FC_FAMILY_ARMA)
    return -EINVAL;
  ws_t ws = ws_layout(scratch, n);
  double big = 0, scale = 1;
  for (size_t t = 0; t < n; t++)
    if (isfinite(x[t]) && fabs(x[t]) > big)
      big = fabs(x[t]);
  if (big > FC_SCALE_ABOVE) {
    scale = ldexp(1, ilogb(big));
    for (size_t t = 0; t < n; t++)
      ws.xs[t] = x[t] / scale;
    x = ws.xs;
  }
  size_t valid = 0;
  double lo = INFINITY, hi = -INFINITY, sum = 0;
  for (size_t t = 0; t < n; t++)
    if (isfinite(x[t])) {
      valid++;
      sum += x[t];
      lo = x[t] < lo ? x[t] : lo;
      hi = x[t] > hi ? x[t] : hi;
    }
  if (valid < FC_FIT_MIN)
    return -ENODATA;
  fc_arma_t base = {.aicc = NAN, .scale = scale};
  if (hi - lo <= 1e-12 * fmax(fabs(hi), fabs(lo))) {
    base.mu = sum / (double)valid; /* constant: no uncertainty */
    *ret = base;
    return 0;
  }
  int r = prepare(x, n, valid, &base, &ws);
  if (r < 0)
    return r;
  cand_t best = search(family, &base, n, &ws);

  const size_t t0 = FC_MAX_P + 1;
  double em, en, sq;
  size_t count;
  raw_errors(&best.m, x, n, t0, &ws, &em, &en, &sq, &count);
  if (en < em || !sane(&best.m)) {
    fc_arma_t naive = {.d = 1, .aicc = NAN, .fallback = true, .scale = scale};
    raw_errors(&naive, x, n, t0, &ws, &em, &en, &sq, &count);
    naive.sigma2 = count ? sq / (double)count : 0;
    best.m = naive;
  }
  *ret = best.m;
  return 0;
}
