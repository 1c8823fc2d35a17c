/* series.c: parameters, the per-series ring buffer and filter state, fit
 * workspaces and forecasts. */
#include "config.h"

#include "internal.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Samples kept beyond the window, so that a fit that starts a little after
 * its due point still sees exactly the window that ended there. */
#define FC_SLACK_MAX 16

struct fc_series {
  fc_params_t p;
  fc_kind_t kind;
  unsigned cap;    /* ring capacity: window + slack */
  unsigned first;  /* count at which the first refit is due */
  uint64_t count;  /* samples pushed */
  uint64_t due_at; /* count at the pending due point; 0: none */
  double last_t;   /* time of the previous observation; NAN: none */
  fc_raw_t last_raw;
  bool have_raw;
  bool has_model;
  double z; /* normal quantile of the interval's upper bound */
  fc_arma_t model;
  /* Filter state of the installed model: the last sample (gaps filled by
   * their prediction), the last centred samples of the differenced series
   * and the last innovations, newest first. */
  double xf;
  double wf[FC_MAX_P];
  double e[FC_MAX_Q];
  double *half; /* interval half-widths for h = 1..horizon */
  double ring[];
};

struct fc_model {
  fc_params_t p;
  size_t n; /* samples loaded */
  bool fitted;
  fc_arma_t fit;
  double *x;
  void *scratch;
};

static const char *const family_names[] = {
    [FC_FAMILY_AUTO] = "auto",
    [FC_FAMILY_AR] = "ar",
    [FC_FAMILY_MA] = "ma",
    [FC_FAMILY_ARMA] = "arma",
};

#define N_FAMILIES (sizeof(family_names) / sizeof(family_names[0]))

int fc_family_parse(const char *name, fc_family_t *ret) {
  for (size_t i = 0; i < N_FAMILIES; i++)
    if (strcasecmp(name, family_names[i]) == 0) {
      *ret = (fc_family_t)i;
      return 0;
    }
  return -EINVAL;
}

const char *fc_family_name(fc_family_t family) {
  return (unsigned)family < N_FAMILIES ? family_names[family] : "?";
}

/* AR needs Burg up to order 4 and enough residuals for AICc; the families
 * with MA terms need the long autoregression of Hannan-Rissanen and four
 * regression rows per coefficient after it. */
unsigned fc_window_min(fc_family_t family) {
  if (family == FC_FAMILY_AR)
    return 4 * (FC_MAX_P + 2);
  return FC_LONG_AR + FC_MAX_Q + 1 + 4 * (FC_MAX_P + FC_MAX_Q);
}

void fc_params_default(fc_params_t *ret) {
  *ret = (fc_params_t){.window = 120,
                       .horizon = 6,
                       .refit_every = 10,
                       .family = FC_FAMILY_AUTO,
                       .coverage = 0.8};
}

static int bad(fc_error_t *err, fc_field_t field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int bad(fc_error_t *err, fc_field_t field, const char *fmt, ...) {
  if (err) {
    va_list ap;
    va_start(ap, fmt);
    err->field = field;
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
  }
  return -EINVAL;
}

int fc_params_check(const fc_params_t *p, fc_error_t *err) {
  if ((unsigned)p->family >= N_FAMILIES)
    return bad(err, FC_FIELD_FAMILY, "unknown model (auto, ar, ma or arma)");
  unsigned min = fc_window_min(p->family);
  if (p->window < min)
    return bad(err, FC_FIELD_WINDOW,
               "too small: model \"%s\" (p <= %d, q <= %d) needs at least "
               "%u samples",
               fc_family_name(p->family),
               p->family == FC_FAMILY_MA ? 0 : FC_MAX_P,
               p->family == FC_FAMILY_AR ? 0 : FC_MAX_Q, min);
  if (p->window > FC_WINDOW_MAX)
    return bad(err, FC_FIELD_WINDOW, "too large: at most %d samples",
               FC_WINDOW_MAX);
  if (p->horizon < 1 || p->horizon > FC_HORIZON_MAX)
    return bad(err, FC_FIELD_HORIZON, "must be between 1 and %d",
               FC_HORIZON_MAX);
  if (p->refit_every < 1)
    return bad(err, FC_FIELD_REFIT_EVERY, "must be at least 1");
  if (!(p->coverage > 0 && p->coverage < 1))
    return bad(err, FC_FIELD_COVERAGE,
               "must be strictly between 0 and 1 (e.g. 0.8)");
  if (err)
    *err = (fc_error_t){.field = FC_FIELD_NONE};
  return 0;
}

static unsigned slack(const fc_params_t *p) {
  return p->refit_every < FC_SLACK_MAX ? p->refit_every : FC_SLACK_MAX;
}

fc_series_t *fc_series_new(const fc_params_t *p, fc_kind_t kind) {
  if (fc_params_check(p, NULL) < 0 || (unsigned)kind > FC_KIND_ABSOLUTE) {
    errno = EINVAL;
    return NULL;
  }
  unsigned cap = p->window + slack(p);
  fc_series_t *s = calloc(1, sizeof(*s) + sizeof(double) * (cap + p->horizon));
  if (!s)
    return NULL;
  s->p = *p;
  s->kind = kind;
  s->cap = cap;
  s->first = fc_window_min(p->family);
  s->last_t = NAN;
  s->xf = NAN;
  s->half = s->ring + cap;
  s->z = fc_norm_quantile(0.5 + p->coverage / 2);
  return s;
}

void fc_series_free(fc_series_t *s) { free(s); }

size_t fc_series_size(const fc_series_t *s) {
  return sizeof(*s) + sizeof(double) * (s->cap + s->p.horizon);
}

uint64_t fc_series_count(const fc_series_t *s) { return s->count; }

bool fc_series_refit_due(const fc_series_t *s) { return s->due_at != 0; }

static double scale_of(const fc_arma_t *m) {
  return m->scale > 0 ? m->scale : 1;
}

/* v (in the model's units) back in the data's, kept finite. */
static double unscale(const fc_arma_t *m, double v) {
  v *= scale_of(m);
  return v > DBL_MAX ? DBL_MAX : v < -DBL_MAX ? -DBL_MAX : v;
}

/* One step of the installed model's filter: the innovation of x (or, for a
 * gap, its prediction in its place). */
static void filter_step(fc_series_t *s, double x) {
  const fc_arma_t *m = &s->model;
  x /= scale_of(m);
  double pred = 0, w;
  for (int i = 0; i < m->p; i++)
    pred += m->phi[i] * s->wf[i];
  for (int j = 0; j < m->q; j++)
    pred += m->theta[j] * s->e[j];
  double innov = 0;
  if (m->d == 1 && !isfinite(s->xf)) {
    /* The first sample of a differenced model only sets the level. */
    w = 0;
    s->xf = x;
  } else if (isfinite(x)) {
    w = m->d == 0 ? x - m->mu : x - s->xf;
    innov = w - pred;
    s->xf = x;
  } else {
    w = pred;
    s->xf = m->d == 0 ? m->mu + pred : s->xf + pred;
  }
  /* Shifted by hand: a call to memmove costs more than these moves. */
  for (int i = FC_MAX_P - 1; i > 0; i--)
    s->wf[i] = s->wf[i - 1];
  s->wf[0] = w;
  for (int j = FC_MAX_Q - 1; j > 0; j--)
    s->e[j] = s->e[j - 1];
  s->e[0] = innov;
}

void fc_series_push(fc_series_t *s, double x) {
  s->ring[s->count % s->cap] = x;
  s->count++;
  if (s->count >= s->first && (s->count - s->first) % s->p.refit_every == 0)
    s->due_at = s->count;
  if (s->has_model)
    filter_step(s, x);
}

/* A gauge sample older than the last one (hosts with several writer threads
 * may deliver a burst out of order) takes the gap its absence left, if that
 * is still in the window; the model sees it at the next refit. */
static int fill_late(fc_series_t *s, double t, double interval, fc_raw_t v) {
  double back = round((s->last_t - t) / interval);
  if (s->kind != FC_KIND_GAUGE || !isfinite(v.gauge) || !(back >= 1) ||
      back >= (double)s->p.window || back >= (double)s->count)
    return -ESTALE;
  double *slot = &s->ring[(s->count - 1 - (uint64_t)back) % s->cap];
  if (!isnan(*slot))
    return -ESTALE;
  *slot = v.gauge;
  return 0;
}

int fc_series_observe(fc_series_t *s, double t, double interval, fc_raw_t v) {
  if (!isfinite(t) || !(interval > 0))
    return -EINVAL;
  if (isfinite(s->last_t) && !(t > s->last_t))
    return fill_late(s, t, interval, v);
  double prev_t = s->last_t;
  s->last_t = t;
  double x;
  if (s->kind == FC_KIND_GAUGE) {
    x = isfinite(v.gauge) ? v.gauge : NAN;
  } else {
    bool primed = s->have_raw;
    fc_raw_t prev = s->last_raw;
    s->last_raw = v;
    s->have_raw = true;
    if (!primed)
      return 0;
    if (fc_rate(s->kind, prev, v, t - prev_t, &x) < 0)
      x = NAN;
  }
  if (isfinite(prev_t)) {
    double steps = round((t - prev_t) / interval);
    if ((t - prev_t) > 1.5 * interval) {
      double missing = fmin(steps - 1, (double)s->p.window);
      for (double i = 0; i < missing; i++)
        fc_series_push(s, NAN);
    }
  }
  fc_series_push(s, x);
  return 1;
}

int fc_series_forecast(const fc_series_t *s, double *mean, double *lower,
                       double *upper) {
  if (!s->has_model || !isfinite(s->xf))
    return -EAGAIN;
  const fc_arma_t *m = &s->model;
  double wh[FC_HORIZON_MAX], mx[FC_HORIZON_MAX], lx[FC_HORIZON_MAX],
      ux[FC_HORIZON_MAX];
  double level = s->xf;
  for (unsigned h = 1; h <= s->p.horizon; h++) {
    double w = 0;
    for (int i = 1; i <= m->p; i++)
      w += m->phi[i - 1] *
           ((unsigned)i < h ? wh[h - (unsigned)i - 1] : s->wf[i - (int)h]);
    for (int j = (int)h; j <= m->q; j++)
      w += m->theta[j - 1] * s->e[j - (int)h];
    wh[h - 1] = w;
    double x;
    if (m->d == 0) {
      x = m->mu + w;
    } else {
      level += w;
      x = level;
    }
    mx[h - 1] = unscale(m, x);
    lx[h - 1] = unscale(m, x - s->half[h - 1]);
    ux[h - 1] = unscale(m, x + s->half[h - 1]);
    /* Samples far above the scale the model was fitted at (until the next
     * refit rescales) can overflow the recursion: no forecast then. */
    if (isnan(mx[h - 1]) || isnan(lx[h - 1]) || isnan(ux[h - 1]))
      return -ERANGE;
  }
  size_t bytes = sizeof(double) * s->p.horizon;
  if (mean)
    memcpy(mean, mx, bytes);
  if (lower)
    memcpy(lower, lx, bytes);
  if (upper)
    memcpy(upper, ux, bytes);
  return 0;
}

int fc_series_model(const fc_series_t *s, fc_model_info_t *ret) {
  if (!s->has_model)
    return -EAGAIN;
  const fc_arma_t *m = &s->model;
  *ret = (fc_model_info_t){.d = m->d,
                           .p = m->p,
                           .q = m->q,
                           .mean = unscale(m, m->mu),
                           .sigma2 = unscale(m, unscale(m, m->sigma2)),
                           .aicc = m->aicc,
                           .fallback = m->fallback};
  memcpy(ret->phi, m->phi, sizeof(m->phi));
  memcpy(ret->theta, m->theta, sizeof(m->theta));
  return 0;
}

fc_model_t *fc_model_new(const fc_params_t *p) {
  if (fc_params_check(p, NULL) < 0) {
    errno = EINVAL;
    return NULL;
  }
  fc_model_t *m = calloc(1, sizeof(*m));
  if (!m)
    return NULL;
  m->p = *p;
  m->x = malloc(sizeof(double) * p->window);
  m->scratch = malloc(fc_fit_scratch_size(p->window));
  if (!m->x || !m->scratch) {
    fc_model_free(m);
    errno = ENOMEM;
    return NULL;
  }
  return m;
}

void fc_model_free(fc_model_t *m) {
  if (!m)
    return;
  free(m->x);
  free(m->scratch);
  free(m);
}

int fc_model_load(fc_model_t *m, fc_series_t *s) {
  if (m->p.window != s->p.window)
    return -EINVAL;
  uint64_t end = s->count;
  if (s->due_at && s->count - s->due_at <= s->cap - s->p.window)
    end = s->due_at;
  size_t n = end < s->p.window ? (size_t)end : s->p.window;
  for (size_t i = 0; i < n; i++)
    m->x[i] = s->ring[(end - n + i) % s->cap];
  m->n = n;
  m->fitted = false;
  s->due_at = 0;
  return 0;
}

int fc_model_fit(fc_model_t *m) {
  m->fitted = false;
  int r = fc_fit(m->x, m->n, m->p.family, m->scratch, &m->fit);
  if (r < 0)
    return r;
  m->fitted = true;
  return 0;
}

const double *fc_model_samples(const fc_model_t *m, size_t *ret_n) {
  *ret_n = m->n;
  return m->x;
}

int fc_series_install(fc_series_t *s, const fc_model_t *m) {
  if (!m->fitted)
    return -EAGAIN;
  if (m->p.window != s->p.window)
    return -EINVAL;
  fc_series_set_model(s, &m->fit);
  return 0;
}

void fc_series_set_model(fc_series_t *s, const fc_arma_t *model) {
  s->model = *model;
  s->has_model = true;
  double psi[FC_HORIZON_MAX];
  fc_psi(&s->model, (int)s->p.horizon, psi);
  double var = 0;
  for (unsigned h = 0; h < s->p.horizon; h++) {
    var += psi[h] * psi[h];
    s->half[h] = s->z * sqrt(s->model.sigma2 * var);
  }
  s->xf = NAN;
  memset(s->wf, 0, sizeof(s->wf));
  memset(s->e, 0, sizeof(s->e));
  uint64_t n = s->count < s->p.window ? s->count : s->p.window;
  for (uint64_t i = s->count - n; i < s->count; i++)
    filter_step(s, s->ring[i % s->cap]);
}

int fc_series_refit(fc_series_t *s, fc_model_t *m) {
  int r = fc_model_load(m, s);
  if (r == 0)
    r = fc_model_fit(m);
  if (r == 0)
    r = fc_series_install(s, m);
  return r;
}
