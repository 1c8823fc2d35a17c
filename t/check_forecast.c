/* Unit tests for forecast/: estimates and forecasts against statsmodels and
 * scipy reference values (t/data/forecast/expected.txt, produced by
 * t/data/forecast/make-reference.py), then the behaviour of series: rates,
 * gaps, the refit schedule, cleaning, fallbacks and parameter errors.
 *
 * Tolerances (relative to max(1, |expected|)):
 *   TOL_EXACT  1e-9  same algorithm, same arithmetic up to rounding (Burg,
 *                    KPSS, psi weights, the normal quantile, AR least squares)
 *   TOL_OPT    1e-5  the same objective minimised by two optimisers (CSS)
 *   TOL_FILTER 1e-6  our conditional filter against statsmodels' exact Kalman
 *                    filter after 500 samples (the start-up effect decays as
 *                    0.4^500)
 *   TOL_MLE    0.05  our conditional-sum-of-squares estimates against exact
 *                    maximum likelihood on 1000 samples (O(1/n) apart)
 *   TOL_FC     0.15  their forecasts, in units of the innovation s.d. (1). */
#include "config.h"

#include "check_run.h"
#include "forecast.h"
#include "internal.h"
#include "pm.h"

#include <check.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOL_EXACT 1e-9
#define TOL_OPT 1e-5
#define TOL_FILTER 1e-6
#define TOL_MLE 0.05
#define TOL_FC 0.15

#define MAXV 2000

typedef struct vec {
  double v[MAXV];
  size_t n;
} vec_t;

static char *data_path(const char *name) {
  static char path[4096];
  const char *top = getenv("top_srcdir");
  snprintf(path, sizeof(path), "%s/t/data/forecast/%s", top ? top : ".", name);
  return path;
}

/* Values of a data file: one per line, or the last field of "time,value"
 * lines (the header is skipped). */
static void load_values(const char *name, vec_t *out) {
  pm_buf_t b = {0};
  ck_assert_msg(pm_file_read(data_path(name), 1 << 20, &b) == 0, "read %s",
                name);
  out->n = 0;
  char *save = NULL;
  for (char *l = strtok_r(b.data, "\n", &save); l && out->n < MAXV;
       l = strtok_r(NULL, "\n", &save)) {
    char *c = strrchr(l, ','), *end;
    const char *s = c ? c + 1 : l;
    double v = strtod(s, &end);
    if (end != s)
      out->v[out->n++] = v;
  }
  pm_buf_free(&b);
}

/* The values of line "key: ..." of expected.txt. */
static void expected(const char *key, vec_t *out) {
  pm_buf_t b = {0};
  ck_assert(pm_file_read(data_path("expected.txt"), 1 << 20, &b) == 0);
  out->n = 0;
  size_t klen = strlen(key);
  char *save = NULL;
  for (char *l = strtok_r(b.data, "\n", &save); l;
       l = strtok_r(NULL, "\n", &save)) {
    if (strncmp(l, key, klen) != 0 || l[klen] != ':')
      continue;
    char *s = l + klen + 1, *end;
    for (double v = strtod(s, &end); end != s && out->n < MAXV;
         v = strtod(s, &end)) {
      out->v[out->n++] = v;
      s = end;
    }
  }
  pm_buf_free(&b);
  ck_assert_msg(out->n > 0, "no expected values for %s", key);
}

#define ck_abs(got, want, tol, what)                                           \
  do {                                                                         \
    double g_ = (got), w_ = (want);                                            \
    ck_assert_msg(fabs(g_ - w_) <= (tol), "%s: got %.12g, want %.12g (+- %g)", \
                  (what), g_, w_, (double)(tol));                              \
  } while (0)

#define ck_near(got, want, tol, what)                                          \
  do {                                                                         \
    double g_ = (got), w_ = (want);                                            \
    ck_assert_msg(fabs(g_ - w_) <= (tol)*fmax(1, fabs(w_)),                    \
                  "%s: got %.12g, want %.12g (tolerance %g)", (what), g_, w_,  \
                  (double)(tol));                                              \
  } while (0)

static double mean_of(const double *x, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; i++)
    s += x[i];
  return s / (double)n;
}

static fc_params_t params(unsigned window) {
  fc_params_t p;
  fc_params_default(&p);
  p.window = window;
  return p;
}

/* A series with the last `window` samples of x, refitted. */
static fc_series_t *fitted(const double *x, size_t n, const fc_params_t *p,
                           int expect) {
  fc_series_t *s = fc_series_new(p, FC_KIND_GAUGE);
  fc_model_t *m = fc_model_new(p);
  ck_assert(s && m);
  for (size_t i = 0; i < n; i++)
    fc_series_push(s, x[i]);
  ck_assert_int_eq(fc_series_refit(s, m), expect);
  fc_model_free(m);
  return s;
}

/* --- against reference implementations --- */

START_TEST(burg_matches_statsmodels) {
  vec_t x, want;
  load_values("rds-cpu.csv", &x);
  ck_assert_uint_eq(x.n, 240);
  double w[120], f[120], b[120], coef[4 * 4], s2[5];
  int run[120];
  double mu = mean_of(x.v, 120);
  for (int t = 0; t < 120; t++)
    w[t] = x.v[t] - mu;
  fc_runs(w, 120, run);
  ck_assert_int_eq(fc_burg(w, run, 120, 4, coef, s2, f, b), 4);
  for (int m = 1; m <= 4; m++) {
    char key[32];
    snprintf(key, sizeof(key), "burg_rds_%d", m);
    expected(key, &want);
    ck_assert_uint_eq(want.n, (size_t)m + 1);
    for (int i = 0; i < m; i++)
      ck_near(coef[(m - 1) * 4 + i], want.v[i], TOL_EXACT, key);
    ck_near(s2[m], want.v[m], TOL_EXACT, key);
  }
}
END_TEST

START_TEST(kpss_matches_statsmodels) {
  static const struct {
    const char *file, *key;
    size_t first;
    int d;
  } cases[] = {
      {"rds-cpu.csv", "kpss_rds", 0, 0},
      {"machine-temp.csv", "kpss_temp", 0, 1},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    vec_t x, want;
    double scratch[120];
    load_values(cases[i].file, &x);
    expected(cases[i].key, &want);
    ck_assert_uint_eq(fc_kpss_lags(120), (unsigned)want.v[1]);
    double stat =
        fc_kpss(x.v + cases[i].first, 120, fc_kpss_lags(120), scratch);
    ck_near(stat, want.v[0], TOL_EXACT, cases[i].key);
    ck_assert_int_eq(stat > FC_KPSS_CRIT, cases[i].d);
  }
}
END_TEST

/* w = the first 300 simulated samples, demeaned. */
static void sim_centred(double *w) {
  vec_t x;
  load_values("sim-arma.txt", &x);
  ck_assert_uint_eq(x.n, 1000);
  double mu = mean_of(x.v, 300);
  for (int t = 0; t < 300; t++)
    w[t] = x.v[t] - mu;
}

START_TEST(ar_least_squares_matches_autoreg) {
  double w[300], scratch[4 * 300];
  sim_centred(w);
  for (int p = 1; p <= 2; p++) {
    char key[32];
    vec_t want;
    snprintf(key, sizeof(key), "ar_css_sim_%d", p);
    expected(key, &want);
    fc_arma_t m = {.p = p};
    double sse = fc_css_refine(&m, w, 300, FC_MAX_P + 1, scratch, 50);
    for (int i = 0; i < p; i++)
      ck_near(m.phi[i], want.v[i], TOL_EXACT, key);
    ck_near(sse, want.v[p], TOL_EXACT, key);
  }
}
END_TEST

START_TEST(arma_css_matches_scipy) {
  static const int orders[][2] = {{1, 1}, {2, 1}, {1, 2}};
  double w[300], scratch[4 * 300];
  sim_centred(w);
  for (size_t i = 0; i < sizeof(orders) / sizeof(orders[0]); i++) {
    int p = orders[i][0], q = orders[i][1];
    char key[32];
    vec_t want;
    snprintf(key, sizeof(key), "arma_css_sim_%d_%d", p, q);
    expected(key, &want);
    fc_arma_t m = {.p = p, .q = q};
    double sse = fc_css_refine(&m, w, 300, FC_MAX_P + 1, scratch, 100);
    for (int k = 0; k < p; k++)
      ck_near(m.phi[k], want.v[k], TOL_OPT, key);
    for (int k = 0; k < q; k++)
      ck_near(m.theta[k], want.v[p + k], TOL_OPT, key);
    ck_near(sse, want.v[p + q], TOL_OPT, key);
  }
}
END_TEST

START_TEST(arma_fit_close_to_mle) {
  vec_t x, want, wantf;
  load_values("sim-arma.txt", &x);
  expected("arma_mle_sim", &want);
  expected("arma_mle_sim_forecast", &wantf);
  fc_params_t p = params(1000);
  p.family = FC_FAMILY_ARMA;
  fc_series_t *s = fitted(x.v, x.n, &p, 0);
  fc_model_info_t info;
  ck_assert_int_eq(fc_series_model(s, &info), 0);
  ck_assert_msg(info.d == 0 && info.p == 2 && info.q == 1 && !info.fallback,
                "chose ARIMA(%d,%d,%d)", info.p, info.d, info.q);
  ck_near(info.phi[0], want.v[1], TOL_MLE, "phi1");
  ck_near(info.phi[1], want.v[2], TOL_MLE, "phi2");
  ck_near(info.theta[0], want.v[3], TOL_MLE, "theta1");
  ck_near(info.sigma2, want.v[4], TOL_MLE, "sigma2");
  double mean[6];
  ck_assert_int_eq(fc_series_forecast(s, mean, NULL, NULL), 0);
  for (int h = 0; h < 6; h++)
    ck_abs(mean[h], wantf.v[h], TOL_FC, "forecast");
  fc_series_free(s);
}
END_TEST

START_TEST(forecasts_match_statsmodels_filter) {
  static const struct {
    const char *file, *key;
    fc_arma_t model;
  } cases[] = {
      {"sim-arma.txt",
       "forecast_sim_201",
       {.d = 0,
        .p = 2,
        .q = 1,
        .mu = 10,
        .phi = {0.6, -0.2},
        .theta = {0.4},
        .sigma2 = 1}},
      {"sim-arima.txt",
       "forecast_sim_111",
       {.d = 1, .p = 1, .q = 1, .phi = {0.5}, .theta = {-0.3}, .sigma2 = 1}},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    vec_t x, want;
    load_values(cases[i].file, &x);
    expected(cases[i].key, &want);
    ck_assert_uint_eq(want.n, 18);
    fc_params_t p = params(500);
    fc_series_t *s = fc_series_new(&p, FC_KIND_GAUGE);
    for (size_t t = 0; t < 500; t++)
      fc_series_push(s, x.v[t]);
    fc_series_set_model(s, &cases[i].model);
    double mean[6], lo[6], hi[6];
    ck_assert_int_eq(fc_series_forecast(s, mean, lo, hi), 0);
    for (int h = 0; h < 6; h++) {
      ck_near(mean[h], want.v[h], TOL_FILTER, cases[i].key);
      ck_near(lo[h], want.v[6 + h], TOL_FILTER, cases[i].key);
      ck_near(hi[h], want.v[12 + h], TOL_FILTER, cases[i].key);
    }
    fc_series_free(s);
  }
}
END_TEST

START_TEST(psi_matches_arma2ma) {
  vec_t want;
  expected("psi_201", &want);
  fc_arma_t m = {.p = 2, .q = 1, .phi = {0.6, -0.2}, .theta = {0.4}};
  double psi[10];
  fc_psi(&m, 10, psi);
  for (int j = 0; j < 10; j++)
    ck_near(psi[j], want.v[j], TOL_EXACT, "psi");
  /* d = 1 sums them. */
  m.d = 1;
  fc_psi(&m, 10, psi);
  double sum = 0;
  for (int j = 0; j < 10; j++) {
    sum += want.v[j];
    ck_near(psi[j], sum, TOL_EXACT, "integrated psi");
  }
}
END_TEST

START_TEST(quantile_matches_scipy) {
  vec_t want;
  expected("norm_quantile", &want);
  for (size_t i = 0; i < want.n / 2; i++)
    ck_near(fc_norm_quantile(want.v[i]), want.v[want.n / 2 + i], TOL_EXACT,
            "quantile");
}
END_TEST

/* --- building blocks --- */

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

START_TEST(select_agrees_with_sort) {
  double a[257], sorted[257], work[257];
  unsigned seed = 12345;
  for (size_t n = 1; n <= 257; n += 16) {
    for (size_t i = 0; i < n; i++) {
      seed = seed * 1103515245u + 12345u;
      /* Few distinct values in half the rounds: repeats must not hurt. */
      a[i] = n % 32 == 1 ? (double)(seed >> 16) : (double)((seed >> 16) % 5);
    }
    memcpy(sorted, a, sizeof(double) * n);
    qsort(sorted, n, sizeof(double), cmp);
    for (size_t k = 0; k < n; k++) {
      memcpy(work, a, sizeof(double) * n);
      ck_assert_double_eq(fc_select(work, n, k), sorted[k]);
    }
  }
}
END_TEST

START_TEST(robust_scale_ignores_outliers_and_gaps) {
  double x[41], scratch[41], c, s;
  for (int i = 0; i < 39; i++)
    x[i] = i + 1;
  x[39] = 1e9; /* an outlier */
  x[40] = NAN; /* a gap */
  ck_assert_int_eq(fc_robust_scale(x, 41, scratch, &c, &s), 0);
  ck_assert_double_eq(c, 20.5);
  /* 40 samples: the 5% and 95% quantiles are the 3rd and 38th. */
  ck_near(s, (38 - 3) / 3.29, TOL_EXACT, "quantile-range scale");
  /* Over 90% equal: the scale is their mean distance, not 0. */
  double y[20] = {0};
  y[19] = 10;
  ck_assert_int_eq(fc_robust_scale(y, 20, scratch, &c, &s), 0);
  ck_assert_double_eq(c, 0);
  ck_near(s, 1.2533 * 10 / 20, TOL_EXACT, "mean absolute deviation");
  double z[] = {NAN, NAN};
  ck_assert_int_eq(fc_robust_scale(z, 2, scratch, &c, &s), -ENODATA);
}
END_TEST

START_TEST(stability_respects_margin) {
  static const struct {
    double a[2];
    int n;
    double margin;
    bool stable;
  } cases[] = {
      {{0.5}, 1, 1, true},
      {{-0.99}, 1, 1, true},
      {{1.01}, 1, 1, false},
      {{1.5, -0.5}, 2, 1, false}, /* a unit root */
      {{0.6, -0.2}, 2, 1, true},
      /* margin 0.98: roots must lie beyond 1/0.98 = 1.0204 */
      {{0.97}, 1, 0.98, true},   /* root 1.031 */
      {{0.985}, 1, 0.98, false}, /* root 1.015 */
      {{-0.985}, 1, 0.98, false},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    ck_assert_msg(fc_stable(cases[i].a, cases[i].n, cases[i].margin) ==
                      cases[i].stable,
                  "case %zu", i);
}
END_TEST

START_TEST(rates_handle_wraps_and_resets) {
  static const struct {
    fc_kind_t kind;
    fc_raw_t prev, cur;
    double dt, rate;
    int ret;
  } cases[] = {
      {FC_KIND_COUNTER, {.counter = 100}, {.counter = 300}, 10, 20, 0},
      /* 32-bit wrap: 2^32 - 4294967196 + 104 = 204 */
      {FC_KIND_COUNTER, {.counter = 4294967196u}, {.counter = 104}, 2, 102, 0},
      /* 64-bit wrap */
      {FC_KIND_COUNTER, {.counter = UINT64_MAX - 9}, {.counter = 10}, 1, 20, 0},
      /* a restart from 0: no rate */
      {FC_KIND_COUNTER, {.counter = 1000}, {.counter = 5}, 1, 0, -ERANGE},
      {FC_KIND_COUNTER, {.counter = 1ull << 40}, {.counter = 5}, 1, 0, -ERANGE},
      {FC_KIND_DERIVE, {.derive = -50}, {.derive = 50}, 4, 25, 0},
      {FC_KIND_DERIVE, {.derive = 50}, {.derive = 10}, 4, 0, -ERANGE},
      {FC_KIND_ABSOLUTE, {.counter = 0}, {.counter = 30}, 10, 3, 0},
      {FC_KIND_GAUGE, {.gauge = 0}, {.gauge = 7.5}, 10, 7.5, 0},
      {FC_KIND_COUNTER, {.counter = 1}, {.counter = 2}, 0, 0, -EINVAL},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    double rate = -1;
    int r =
        fc_rate(cases[i].kind, cases[i].prev, cases[i].cur, cases[i].dt, &rate);
    ck_assert_msg(r == cases[i].ret, "case %zu: %d", i, r);
    if (r == 0)
      ck_assert_msg(rate == cases[i].rate, "case %zu: rate %g", i, rate);
  }
}
END_TEST

/* --- series --- */

/* Copies the window a fit of s would see into out (the model is freed). */
static size_t window_of(fc_series_t *s, double *out, size_t cap) {
  fc_params_t p = params(120);
  fc_model_t *m = fc_model_new(&p);
  ck_assert_int_eq(fc_model_load(m, s), 0);
  size_t n;
  const double *w = fc_model_samples(m, &n);
  ck_assert_uint_le(n, cap);
  memcpy(out, w, sizeof(double) * n);
  fc_model_free(m);
  return n;
}

START_TEST(observe_marks_gaps_and_rates) {
  fc_params_t p = params(120);
  fc_series_t *s = fc_series_new(&p, FC_KIND_GAUGE);
  ck_assert_int_eq(fc_series_observe(s, 100, 10, (fc_raw_t){.gauge = 1}), 1);
  ck_assert_int_eq(fc_series_observe(s, 110, 10, (fc_raw_t){.gauge = 2}), 1);
  /* Two samples missing, a duplicate, a late sample for a slot that holds
   * one, two late samples for the first gap (the first fills it), then a
   * non-finite value. */
  ck_assert_int_eq(fc_series_observe(s, 140, 10, (fc_raw_t){.gauge = 5}), 1);
  ck_assert_int_eq(fc_series_observe(s, 140, 10, (fc_raw_t){.gauge = 9}),
                   -ESTALE);
  ck_assert_int_eq(fc_series_observe(s, 110, 10, (fc_raw_t){.gauge = 9}),
                   -ESTALE);
  ck_assert_int_eq(fc_series_observe(s, 121, 10, (fc_raw_t){.gauge = 3}), 0);
  ck_assert_int_eq(fc_series_observe(s, 121, 10, (fc_raw_t){.gauge = 7}),
                   -ESTALE);
  ck_assert_int_eq(fc_series_observe(s, 150, 10, (fc_raw_t){.gauge = INFINITY}),
                   1);
  ck_assert_int_eq(fc_series_observe(s, 160, 0, (fc_raw_t){.gauge = 1}),
                   -EINVAL);
  double w[120];
  ck_assert_uint_eq(window_of(s, w, 120), 6);
  ck_assert(w[0] == 1 && w[1] == 2 && w[2] == 3 && isnan(w[3]) && w[4] == 5 &&
            isnan(w[5]));
  fc_series_free(s);

  s = fc_series_new(&p, FC_KIND_COUNTER);
  ck_assert_int_eq(fc_series_observe(s, 0, 10, (fc_raw_t){.counter = 1000}), 0);
  ck_assert_int_eq(fc_series_observe(s, 10, 10, (fc_raw_t){.counter = 1500}),
                   1);
  ck_assert_int_eq(fc_series_observe(s, 20, 10, (fc_raw_t){.counter = 20}),
                   1); /* reset */
  /* One missing, then 400 over 20 s; a late counter is dropped. */
  ck_assert_int_eq(fc_series_observe(s, 40, 10, (fc_raw_t){.counter = 420}), 1);
  ck_assert_int_eq(fc_series_observe(s, 30, 10, (fc_raw_t){.counter = 300}),
                   -ESTALE);
  ck_assert_uint_eq(window_of(s, w, 120), 4);
  ck_assert(w[0] == 50 && isnan(w[1]) && isnan(w[2]) && w[3] == 20);
  fc_series_free(s);
}
END_TEST

START_TEST(refits_fall_due_on_schedule) {
  fc_params_t p = params(120);
  p.refit_every = 10;
  fc_series_t *s = fc_series_new(&p, FC_KIND_GAUGE);
  unsigned first = fc_window_min(p.family);
  double w[120];
  for (unsigned i = 1; i <= 300; i++) {
    fc_series_push(s, i);
    bool due = i >= first && (i - first) % 10 == 0;
    ck_assert_msg(fc_series_refit_due(s) == due, "sample %u", i);
    if (due) {
      size_t n = window_of(s, w, 120);
      ck_assert_uint_eq(n, i < 120 ? i : 120);
      ck_assert_double_eq(w[n - 1], i);
      ck_assert(!fc_series_refit_due(s));
    }
  }
  ck_assert_uint_eq(fc_series_count(s), 300);
  fc_series_free(s);

  /* A fit that starts a few samples after its due point still sees the
   * window that ended there (up to 16 samples late); one that starts later
   * sees the latest window. With refit_every 50, 185 is due. */
  static const struct {
    unsigned late, last;
  } cases[] = {{3, 185}, {16, 185}, {17, 202}, {49, 234}};
  p.refit_every = 50;
  for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
    s = fc_series_new(&p, FC_KIND_GAUGE);
    for (unsigned i = 1; i <= 185 + cases[c].late; i++) {
      fc_series_push(s, i);
      if (i < 185 && fc_series_refit_due(s))
        window_of(s, w, 120);
    }
    ck_assert_uint_eq(window_of(s, w, 120), 120);
    ck_assert_msg(w[119] == cases[c].last, "late %u: ends at %g", cases[c].late,
                  w[119]);
    fc_series_free(s);
  }
}
END_TEST

START_TEST(updates_equal_a_replay) {
  vec_t x;
  load_values("ec2-cpu.csv", &x);
  fc_params_t p = params(120);
  fc_series_t *s = fitted(x.v, 200, &p, 0);
  fc_model_info_t info;
  fc_series_model(s, &info);
  fc_arma_t m = {.d = info.d,
                 .p = info.p,
                 .q = info.q,
                 .mu = info.mean,
                 .sigma2 = info.sigma2};
  memcpy(m.phi, info.phi, sizeof(m.phi));
  memcpy(m.theta, info.theta, sizeof(m.theta));
  for (size_t t = 200; t < 250; t++)
    fc_series_push(s, t == 220 ? NAN : x.v[t]);
  double a[6], b[6], la[6], lb[6];
  ck_assert_int_eq(fc_series_forecast(s, a, la, NULL), 0);
  fc_series_set_model(s, &m); /* replays the window from scratch */
  ck_assert_int_eq(fc_series_forecast(s, b, lb, NULL), 0);
  for (int h = 0; h < 6; h++) {
    /* The replay starts at the window, the updates long before it. */
    ck_near(a[h], b[h], 1e-3, "replayed forecast");
    ck_near(la[h], lb[h], 1e-3, "replayed bound");
  }
  fc_series_free(s);
}
END_TEST

START_TEST(intervals_widen_with_horizon) {
  static const char *const files[] = {"rds-cpu.csv", "machine-temp.csv",
                                      "ec2-cpu.csv"};
  for (size_t i = 0; i < 3; i++) {
    vec_t x;
    load_values(files[i], &x);
    fc_params_t p = params(120);
    p.horizon = 12;
    fc_series_t *s = fitted(x.v, x.n, &p, 0);
    double mean[12], lo[12], hi[12];
    ck_assert_int_eq(fc_series_forecast(s, mean, lo, hi), 0);
    for (int h = 0; h < 12; h++) {
      ck_assert(isfinite(mean[h]) && lo[h] < mean[h] && mean[h] < hi[h]);
      if (h > 0)
        ck_assert_msg(hi[h] - lo[h] >= hi[h - 1] - lo[h - 1] - 1e-12,
                      "%s: h=%d narrower", files[i], h + 1);
    }
    ck_assert(hi[11] - lo[11] > hi[0] - lo[0]);
    fc_series_free(s);
  }
}
END_TEST

START_TEST(constant_series_have_no_nan) {
  static const double jitter[] = {0, 1e-13, 1e-300};
  for (size_t j = 0; j < 3; j++) {
    double x[150];
    for (int t = 0; t < 150; t++)
      x[t] = 42 + (t % 2 ? jitter[j] : 0);
    fc_params_t p = params(120);
    fc_series_t *s = fitted(x, 150, &p, 0);
    double mean[6], lo[6], hi[6];
    ck_assert_int_eq(fc_series_forecast(s, mean, lo, hi), 0);
    for (int h = 0; h < 6; h++) {
      ck_near(mean[h], 42, 1e-9, "constant forecast");
      ck_assert(isfinite(lo[h]) && isfinite(hi[h]) && hi[h] - lo[h] < 1e-9);
    }
    fc_series_free(s);
  }
}
END_TEST

/* Values near the limits of double: squares and sums overflowed, and the
 * forecasts were inf or NaN for a whole window. They stay finite, ordered
 * and, where the data allow it, in the data's range; the same series
 * scaled down by a power of two gives the same forecasts scaled down. */
START_TEST(values_near_dbl_max_stay_finite) {
  vec_t nab;
  load_values("rds-cpu.csv", &nab);
  static const double tops[] = {DBL_MAX, 1e300, 1e200, -DBL_MAX};
  for (size_t k = 0; k < sizeof(tops) / sizeof(tops[0]); k++) {
    double x[150], y[150];
    double lo = INFINITY, hi = -INFINITY;
    for (int t = 0; t < 150; t++) {
      /* a real series shape, in [-top, top] */
      x[t] = tops[k] * ((nab.v[t] - 50) / 60);
      y[t] = x[t] / 0x1p900;
      lo = fmin(lo, x[t]);
      hi = fmax(hi, x[t]);
    }
    x[100] = tops[k]; /* a spike at the very top */
    y[100] = tops[k] / 0x1p900;
    fc_params_t p = params(120);
    fc_series_t *s = fitted(x, 150, &p, 0), *r = fitted(y, 150, &p, 0);
    double mean[6], lw[6], up[6], rm[6];
    ck_assert_int_eq(fc_series_forecast(s, mean, lw, up), 0);
    ck_assert_int_eq(fc_series_forecast(r, rm, NULL, NULL), 0);
    for (int h = 0; h < 6; h++) {
      ck_assert_msg(isfinite(mean[h]) && isfinite(lw[h]) && isfinite(up[h]),
                    "top %g, h=%d: %g [%g, %g]", tops[k], h + 1, mean[h], lw[h],
                    up[h]);
      ck_assert(lw[h] <= mean[h] && mean[h] <= up[h]);
      ck_assert_msg(mean[h] >= fmin(lo, tops[k]) * 1.01 - 1 &&
                        mean[h] <= fmax(hi, tops[k]) * 1.01 + 1,
                    "h=%d: %g outside the data", h + 1, mean[h]);
      ck_near(mean[h] / 0x1p900, rm[h], 1e-9 * fabs(rm[h]) + 1e-300,
              "scaled series");
    }
    fc_model_info_t info;
    ck_assert_int_eq(fc_series_model(s, &info), 0);
    ck_assert(isfinite(info.mean));
    fc_series_free(s);
    fc_series_free(r);
  }
}
END_TEST

START_TEST(outliers_and_gaps_do_not_derail_the_fit) {
  vec_t x;
  load_values("rds-cpu.csv", &x);
  double lo = INFINITY, hi = -INFINITY;
  for (size_t t = 120; t < 240; t++) {
    lo = fmin(lo, x.v[t]);
    hi = fmax(hi, x.v[t]);
  }
  double clean[6], dirty[6];
  fc_params_t p = params(120);
  fc_series_t *s = fitted(x.v + 120, 120, &p, 0);
  fc_series_forecast(s, clean, NULL, NULL);
  fc_series_free(s);
  /* A spike of 10^6, a non-finite sample and gaps inside the window; the
   * last samples unchanged. */
  x.v[150] = 1e6;
  x.v[160] = INFINITY;
  for (size_t t = 170; t < 175; t++)
    x.v[t] = NAN;
  x.v[200] = NAN;
  s = fitted(x.v + 120, 120, &p, 0);
  ck_assert_int_eq(fc_series_forecast(s, dirty, NULL, NULL), 0);
  for (int h = 0; h < 6; h++) {
    ck_assert_msg(dirty[h] >= lo && dirty[h] <= hi, "h=%d: %g outside", h + 1,
                  dirty[h]);
    ck_assert_msg(fabs(dirty[h] - clean[h]) < 0.25 * (hi - lo),
                  "h=%d: %g vs %g", h + 1, dirty[h], clean[h]);
  }
  fc_series_free(s);
}
END_TEST

START_TEST(spiky_series_fall_back_to_the_last_value) {
  /* A near-idle CPU with bursts to ~90% for a few samples, as in NAB's
   * ec2_cpu_utilization_77c1ca: a mean-reverting model misses every
   * burst. */
  double x[120];
  unsigned seed = 99;
  for (int t = 0; t < 120; t++) {
    seed = seed * 1103515245u + 12345u;
    double noise = (double)((seed >> 16) % 100) / 1000;
    x[t] = (t % 17 >= 11) ? 80 + 100 * noise : 0.1 + noise / 10;
  }
  fc_params_t p = params(120);
  fc_series_t *s = fitted(x, 120, &p, 0);
  fc_model_info_t info;
  ck_assert_int_eq(fc_series_model(s, &info), 0);
  ck_assert(info.fallback && info.d == 1 && info.p == 0 && info.q == 0);
  double mean[6];
  fc_series_forecast(s, mean, NULL, NULL);
  ck_assert_double_eq(mean[0], x[119]);
  fc_series_free(s);
}
END_TEST

START_TEST(families_restrict_orders) {
  static const char *const files[] = {"rds-cpu.csv", "machine-temp.csv",
                                      "ec2-cpu.csv", "sim-arma.txt"};
  for (fc_family_t f = FC_FAMILY_AUTO; f <= FC_FAMILY_ARMA; f++) {
    for (size_t i = 0; i < 4; i++) {
      vec_t x;
      load_values(files[i], &x);
      fc_params_t p = params(120);
      p.family = f;
      fc_series_t *s = fitted(x.v, 120, &p, 0);
      fc_model_info_t m;
      fc_series_model(s, &m);
      bool simple = (m.p == 0 && m.q == 0);
      ck_assert(m.p <= FC_MAX_P && m.q <= FC_MAX_Q);
      if (f == FC_FAMILY_AR)
        ck_assert(m.q == 0);
      if (f == FC_FAMILY_MA)
        ck_assert(m.p == 0);
      if (f == FC_FAMILY_ARMA)
        ck_assert_msg(simple || (m.p >= 1 && m.q >= 1), "%s: ARMA(%d,%d)",
                      files[i], m.p, m.q);
      fc_series_free(s);
    }
  }
}
END_TEST

START_TEST(too_few_samples_is_an_error) {
  double x[15] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  fc_params_t p = params(120);
  fc_series_t *s = fitted(x, 15, &p, -ENODATA);
  double mean[6];
  ck_assert_int_eq(fc_series_forecast(s, mean, NULL, NULL), -EAGAIN);
  fc_model_info_t info;
  ck_assert_int_eq(fc_series_model(s, &info), -EAGAIN);
  fc_series_free(s);
  fc_series_free(NULL);
  fc_model_free(NULL);
}
END_TEST

START_TEST(params_are_checked) {
  static const struct {
    unsigned window, horizon, refit;
    int family;
    double coverage;
    fc_field_t field;
    const char *msg;
  } cases[] = {
      {120, 6, 10, FC_FAMILY_AUTO, 0.8, FC_FIELD_NONE, ""},
      {34, 6, 10, FC_FAMILY_AUTO, 0.8, FC_FIELD_WINDOW, "at least 35"},
      {24, 6, 10, FC_FAMILY_AR, 0.8, FC_FIELD_NONE, ""},
      {23, 6, 10, FC_FAMILY_AR, 0.8, FC_FIELD_WINDOW, "at least 24"},
      {5000, 6, 10, FC_FAMILY_AUTO, 0.8, FC_FIELD_WINDOW, "at most 4096"},
      {120, 0, 10, FC_FAMILY_AUTO, 0.8, FC_FIELD_HORIZON, "between 1 and 64"},
      {120, 65, 10, FC_FAMILY_AUTO, 0.8, FC_FIELD_HORIZON, "between"},
      {120, 6, 0, FC_FAMILY_AUTO, 0.8, FC_FIELD_REFIT_EVERY, "at least 1"},
      {120, 6, 10, 7, 0.8, FC_FIELD_FAMILY, "auto, ar, ma or arma"},
      {120, 6, 10, FC_FAMILY_AUTO, 1.0, FC_FIELD_COVERAGE, "between 0 and 1"},
      {120, 6, 10, FC_FAMILY_AUTO, NAN, FC_FIELD_COVERAGE, "between 0 and 1"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    fc_params_t p = {.window = cases[i].window,
                     .horizon = cases[i].horizon,
                     .refit_every = cases[i].refit,
                     .family = (fc_family_t)cases[i].family,
                     .coverage = cases[i].coverage};
    fc_error_t err;
    int r = fc_params_check(&p, &err);
    ck_assert_msg(r == (cases[i].field == FC_FIELD_NONE ? 0 : -EINVAL),
                  "case %zu", i);
    ck_assert_msg(err.field == cases[i].field, "case %zu: field %d", i,
                  err.field);
    ck_assert_msg(strstr(err.msg, cases[i].msg), "case %zu: %s", i, err.msg);
    if (r < 0)
      ck_assert(fc_series_new(&p, FC_KIND_GAUGE) == NULL && errno == EINVAL);
  }
  fc_family_t f;
  ck_assert_int_eq(fc_family_parse("ARMA", &f), 0);
  ck_assert_int_eq(f, FC_FAMILY_ARMA);
  ck_assert_str_eq(fc_family_name(f), "arma");
  ck_assert_int_eq(fc_family_parse("garch", &f), -EINVAL);
}
END_TEST

START_TEST(series_fit_in_4_kib) {
  fc_params_t p = params(120);
  fc_series_t *s = fc_series_new(&p, FC_KIND_DERIVE);
  ck_assert_uint_lt(fc_series_size(s), 4096);
  fc_series_free(s);
}
END_TEST

/* --- sets of sources --- */

static int want_calls;
static bool want_if(void *ctx) {
  want_calls++;
  return ctx != NULL;
}

START_TEST(set_creates_ignores_and_checks_sources) {
  fc_params_t p = params(120);
  fc_set_t *set = fc_set_new(&p, 24);
  fc_kind_t kinds[2] = {FC_KIND_DERIVE, FC_KIND_DERIVE};
  fc_source_t *src;
  want_calls = 0;
  ck_assert_int_eq(fc_set_acquire(set, "h/if-eth0/if_octets", 0, 10, 2, kinds,
                                  want_if, set, &src),
                   1);
  ck_assert_str_eq(fc_source_key(src), "h/if-eth0/if_octets");
  double *user = fc_source_data(src, 1);
  ck_assert(user[0] == 0 && user[2] == 0); /* zeroed, 24 bytes usable */
  fc_source_release(src);
  ck_assert_int_eq(fc_set_acquire(set, "h/cpu-0/cpu-idle", 0, 10, 1, kinds,
                                  want_if, NULL, &src),
                   0);
  /* Known keys are not asked about again. */
  ck_assert_int_eq(fc_set_acquire(set, "h/cpu-0/cpu-idle", 10, 10, 1, kinds,
                                  want_if, set, &src),
                   0);
  ck_assert_int_eq(want_calls, 2);
  ck_assert_int_eq(fc_set_acquire(set, "h/if-eth0/if_octets", 10, 10, 1, kinds,
                                  want_if, set, &src),
                   -EINVAL);
  ck_assert_int_eq(
      fc_set_acquire(set, "x", 0, 10, 0, kinds, want_if, set, &src), -EINVAL);
  ck_assert_int_eq(fc_set_acquire(set, "x", 0, 10, FC_SOURCE_MAX + 1, kinds,
                                  want_if, set, &src),
                   -EINVAL);
  size_t nsrc, nign, bytes;
  fc_set_stats(set, &nsrc, &nign, &bytes);
  ck_assert_uint_eq(nsrc, 1);
  ck_assert_uint_eq(nign, 1);
  ck_assert_uint_gt(bytes, 2 * sizeof(double) * 120);
  fc_set_free(set);
  fc_set_free(NULL);
}
END_TEST

/* Feeds sample t of the ec2-cpu excerpt to source `key`; false when the
 * source could not be acquired (threads report, the main thread asserts). */
static bool feed(fc_set_t *set, const char *key, const vec_t *x, size_t t) {
  fc_kind_t kind = FC_KIND_GAUGE;
  fc_raw_t v = {.gauge = x->v[t % x->n]};
  fc_source_t *src;
  if (fc_set_acquire(set, key, 10.0 * (double)t, 10, 1, &kind, want_if, set,
                     &src) != 1)
    return false;
  fc_source_observe(src, 10.0 * (double)t, 10, &v);
  fc_source_release(src);
  return true;
}

/* A set with window 60 for the ec2-cpu excerpt, loaded into x. */
static fc_set_t *cpu_set(vec_t *x, unsigned refit_every, fc_params_t *ret) {
  load_values("ec2-cpu.csv", x);
  *ret = params(60);
  ret->refit_every = refit_every;
  fc_set_t *set = fc_set_new(ret, 0);
  ck_assert_ptr_nonnull(set);
  return set;
}

START_TEST(set_refits_due_sources_and_evicts_idle_ones) {
  vec_t x;
  fc_params_t p;
  fc_set_t *set = cpu_set(&x, 10, &p);
  fc_model_t *m = fc_model_new(&p);
  for (size_t t = 0; t < 34; t++)
    ck_assert(feed(set, "a", &x, t));
  ck_assert_int_eq(fc_set_refit(set, m), 0); /* nothing due yet */
  ck_assert(feed(set, "a", &x, 34) && feed(set, "b", &x, 0));
  ck_assert_int_eq(fc_set_refit(set, m), 1);
  fc_source_t *src;
  fc_kind_t kind = FC_KIND_GAUGE;
  double mean[6];
  ck_assert_int_eq(
      fc_set_acquire(set, "a", 340, 10, 1, &kind, want_if, set, &src), 1);
  ck_assert_int_eq(fc_source_forecast(src, 0, mean, NULL, NULL), 0);
  ck_assert(isfinite(mean[0]));
  ck_assert_int_eq(fc_source_forecast(src, 1, mean, NULL, NULL), -EINVAL);
  fc_source_release(src);
  /* "b" was last seen at 0, "a" at 340: idle after 60 intervals. */
  ck_assert_uint_eq(fc_set_evict(set, 600), 0);
  ck_assert_uint_eq(fc_set_evict(set, 601), 1);
  /* A queued source stays until its refit ran. */
  for (size_t t = 35; t < 45; t++)
    ck_assert(feed(set, "a", &x, t));
  ck_assert_uint_eq(fc_set_evict(set, 1e9), 0);
  ck_assert_int_eq(fc_set_refit(set, m), 1);
  ck_assert_uint_eq(fc_set_evict(set, 1e9), 1);
  size_t nsrc, nign, bytes;
  fc_set_stats(set, &nsrc, &nign, &bytes);
  ck_assert_uint_eq(nsrc + nign, 0);
  fc_model_free(m);
  fc_set_free(set);
}
END_TEST

enum { WRITERS = 3, SOURCES = 40, SAMPLES = 200 };

typedef struct writer {
  fc_set_t *set;
  const vec_t *x;
  int id;
  int failures;
} writer_t;

/* Every writer feeds every source (samples interleaved by time, as
 * collectd's write threads would), and a refitter runs meanwhile. */
static void *write_all(void *arg) {
  writer_t *w = arg;
  for (size_t t = (size_t)w->id; t < SAMPLES; t += WRITERS)
    for (int k = 0; k < SOURCES; k++) {
      char key[32];
      snprintf(key, sizeof(key), "host/src-%d/gauge", k);
      w->failures += !feed(w->set, key, w->x, t + (size_t)k);
    }
  return NULL;
}

static atomic_int writers_done;

static void *refit_all(void *arg) {
  writer_t *w = arg;
  fc_params_t p = params(60);
  fc_model_t *m = fc_model_new(&p);
  while (!writers_done) {
    fc_set_refit(w->set, m);
    fc_set_evict(w->set, 0);
  }
  fc_set_refit(w->set, m);
  fc_model_free(m);
  return NULL;
}

START_TEST(set_survives_concurrent_writers_and_refits) {
  vec_t x;
  fc_params_t p;
  fc_set_t *set = cpu_set(&x, 5, &p);
  pthread_t th[WRITERS + 1];
  writer_t w[WRITERS + 1];
  writers_done = 0;
  for (int i = 0; i <= WRITERS; i++) {
    w[i] = (writer_t){.set = set, .x = &x, .id = i};
    ck_assert_int_eq(pthread_create(&th[i], NULL,
                                    i < WRITERS ? write_all : refit_all, &w[i]),
                     0);
  }
  for (int i = 0; i < WRITERS; i++) {
    pthread_join(th[i], NULL);
    ck_assert_int_eq(w[i].failures, 0);
  }
  writers_done = 1;
  pthread_join(th[WRITERS], NULL);
  size_t nsrc, nign, bytes;
  fc_set_stats(set, &nsrc, &nign, &bytes);
  ck_assert_uint_eq(nsrc, SOURCES);
  /* Writers raced, so some samples arrived late: each source still has a
   * model and finite forecasts. */
  for (int k = 0; k < SOURCES; k++) {
    char key[32];
    snprintf(key, sizeof(key), "host/src-%d/gauge", k);
    fc_kind_t kind = FC_KIND_GAUGE;
    fc_source_t *src;
    double mean[6], lo[6], hi[6];
    ck_assert_int_eq(
        fc_set_acquire(set, key, 1e4, 10, 1, &kind, want_if, set, &src), 1);
    ck_assert_int_eq(fc_source_forecast(src, 0, mean, lo, hi), 0);
    for (int h = 0; h < 6; h++)
      ck_assert(isfinite(mean[h]) && lo[h] <= mean[h] && mean[h] <= hi[h]);
    fc_source_release(src);
  }
  fc_set_free(set);
}
END_TEST

int main(void) {
  Suite *s = suite_create("forecast");
  TCase *ref = tcase_create("reference");
  tcase_add_test(ref, burg_matches_statsmodels);
  tcase_add_test(ref, kpss_matches_statsmodels);
  tcase_add_test(ref, ar_least_squares_matches_autoreg);
  tcase_add_test(ref, arma_css_matches_scipy);
  tcase_add_test(ref, arma_fit_close_to_mle);
  tcase_add_test(ref, forecasts_match_statsmodels_filter);
  tcase_add_test(ref, psi_matches_arma2ma);
  tcase_add_test(ref, quantile_matches_scipy);
  suite_add_tcase(s, ref);
  TCase *blocks = tcase_create("blocks");
  tcase_add_test(blocks, select_agrees_with_sort);
  tcase_add_test(blocks, robust_scale_ignores_outliers_and_gaps);
  tcase_add_test(blocks, stability_respects_margin);
  tcase_add_test(blocks, rates_handle_wraps_and_resets);
  suite_add_tcase(s, blocks);
  TCase *series = tcase_create("series");
  tcase_set_timeout(series, 30);
  tcase_add_test(series, observe_marks_gaps_and_rates);
  tcase_add_test(series, refits_fall_due_on_schedule);
  tcase_add_test(series, updates_equal_a_replay);
  tcase_add_test(series, intervals_widen_with_horizon);
  tcase_add_test(series, constant_series_have_no_nan);
  tcase_add_test(series, values_near_dbl_max_stay_finite);
  tcase_add_test(series, outliers_and_gaps_do_not_derail_the_fit);
  tcase_add_test(series, spiky_series_fall_back_to_the_last_value);
  tcase_add_test(series, families_restrict_orders);
  tcase_add_test(series, too_few_samples_is_an_error);
  tcase_add_test(series, params_are_checked);
  tcase_add_test(series, series_fit_in_4_kib);
  suite_add_tcase(s, series);
  TCase *sets = tcase_create("sets");
  tcase_set_timeout(sets, 60);
  tcase_add_test(sets, set_creates_ignores_and_checks_sources);
  tcase_add_test(sets, set_refits_due_sources_and_evicts_idle_ones);
  tcase_add_test(sets, set_survives_concurrent_writers_and_refits);
  suite_add_tcase(s, sets);
  return check_run(s);
}
