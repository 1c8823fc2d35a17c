/* forecast.h: ARMA load forecasts over a sliding window of recent samples.
 *
 * A series (fc_series_t) keeps the most recent samples of one metric in a
 * ring buffer, turns counters into rates, marks missing samples as gaps and
 * keeps its forecasts current with the model it was last given: feeding a
 * sample never allocates and costs well under a microsecond.
 *
 * Fitting is separate so that it can run on another thread: a fit workspace
 * (fc_model_t) copies a series' window (fc_model_load, under the caller's
 * lock), fits it without touching the series (fc_model_fit: cleaning, choice
 * of the differencing order d in {0, 1}, AR/MA/ARMA order by AICc), and the
 * result is installed back into the series (fc_series_install).
 *
 * Conventions: functions return 0 or a negative errno and never log;
 * constructors return NULL with errno set; _free(NULL) is a no-op. A series
 * and a workspace are not thread-safe: callers serialise access to each. */
#ifndef PATMON_FORECAST_H
#define PATMON_FORECAST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest orders the order search considers. */
#define FC_MAX_P 4
#define FC_MAX_Q 2
/* Limits on the parameters. */
#define FC_WINDOW_MAX 4096
#define FC_HORIZON_MAX 64

typedef struct fc_series fc_series_t;
typedef struct fc_model fc_model_t;

/* Which models the order search may pick. Every family may also fall back to
 * the mean-only model (or, on a differenced series, the last value). */
typedef enum fc_family {
  FC_FAMILY_AUTO, /* AR(p), MA(q) and ARMA(p,q) with p <= 4, q <= 2 */
  FC_FAMILY_AR,   /* AR(p), 1 <= p <= 4 */
  FC_FAMILY_MA,   /* MA(q), 1 <= q <= 2 */
  FC_FAMILY_ARMA, /* ARMA(p,q), 1 <= p <= 4, 1 <= q <= 2 */
} fc_family_t;

/* How raw observations turn into samples. */
typedef enum fc_kind {
  FC_KIND_GAUGE,    /* the value itself */
  FC_KIND_COUNTER,  /* unsigned counter: rate per second; 32/64-bit wraps */
  FC_KIND_DERIVE,   /* signed counter: rate per second; a decrease is a reset */
  FC_KIND_ABSOLUTE, /* count since the previous observation: rate per second */
} fc_kind_t;

/* A raw observation: gauge for FC_KIND_GAUGE, counter for COUNTER and
 * ABSOLUTE, derive for DERIVE. */
typedef union fc_raw {
  double gauge;
  uint64_t counter;
  int64_t derive;
} fc_raw_t;

typedef struct fc_params {
  unsigned window;  /* samples fitted: fc_window_min(family)..FC_WINDOW_MAX */
  unsigned horizon; /* forecasts for h = 1..horizon (<= FC_HORIZON_MAX) */
  unsigned refit_every; /* samples between refits (>= 1) */
  fc_family_t family;
  double coverage; /* prediction interval coverage, 0 < coverage < 1 */
} fc_params_t;

/* The parameter an fc_error_t refers to. */
typedef enum fc_field {
  FC_FIELD_NONE,
  FC_FIELD_WINDOW,
  FC_FIELD_HORIZON,
  FC_FIELD_REFIT_EVERY,
  FC_FIELD_FAMILY,
  FC_FIELD_COVERAGE,
} fc_field_t;

typedef struct fc_error {
  fc_field_t field;
  char msg[160]; /* e.g. "12 is too small: ARMA(4,2) needs at least 40" */
} fc_error_t;

/* What a series' installed model is. */
typedef struct fc_model_info {
  int d, p, q; /* ARIMA(p,d,q); d = 1, p = q = 0 is the last value */
  double mean; /* mean of the series after differencing (0 when d = 1) */
  double phi[FC_MAX_P], theta[FC_MAX_Q];
  double sigma2; /* innovation variance */
  double aicc;   /* of the chosen model (NAN for the fallbacks) */
  bool fallback; /* true when a robust fallback replaced the ARMA choice */
} fc_model_info_t;

/* The smallest window the family can be fitted on. */
unsigned fc_window_min(fc_family_t family);

/* The defaults: window 120, horizon 6, refit every 10, auto, coverage 0.8. */
void fc_params_default(fc_params_t *ret);

/* Checks every field. On -EINVAL, err (may be NULL) names the first bad field
 * and says why. */
int fc_params_check(const fc_params_t *p, fc_error_t *err);

/* Parses a family name ("auto", "ar", "ma", "arma"). -EINVAL when unknown. */
int fc_family_parse(const char *name, fc_family_t *ret);
const char *fc_family_name(fc_family_t family);

/* A new, empty series of the given kind. NULL with errno EINVAL (bad params)
 * or ENOMEM. Its memory is fc_series_size() bytes, allocated once. */
fc_series_t *fc_series_new(const fc_params_t *p, fc_kind_t kind);
void fc_series_free(fc_series_t *s);
size_t fc_series_size(const fc_series_t *s);

/* Feeds a raw observation taken at time t (seconds) by a source sampling
 * every interval seconds (> 0). Counters become rates; a counter reset (or a
 * non-finite gauge) becomes a gap; when t jumps by more than 1.5 intervals the
 * missing steps enter the window as gaps (up to a window's worth).
 * A gauge older than the previous observation fills the gap its absence
 * left, if still in the window (writer threads may reorder a burst).
 * Returns 1 when at least one sample entered the window, 0 when the
 * observation only primed a rate (the first counter value) or filled a gap,
 * and -ESTALE (nothing changed) for any other observation not after the
 * previous one. */
int fc_series_observe(fc_series_t *s, double t, double interval, fc_raw_t v);

/* Feeds one sample by position, without time (NAN marks a gap). */
void fc_series_push(fc_series_t *s, double x);

/* Samples fed so far (gaps included). */
uint64_t fc_series_count(const fc_series_t *s);

/* True when a refit is due: refit_every samples have entered since the last
 * due point (the first is due once the window holds enough samples). The due
 * point is remembered until fc_model_load() takes it. */
bool fc_series_refit_due(const fc_series_t *s);

/* Forecasts for h = 1..horizon from the installed model and every sample fed
 * since: mean[h-1] with the interval [lower[h-1], upper[h-1]] (any pointer
 * may be NULL), always finite (beyond +-DBL_MAX, clamped). -EAGAIN when no
 * model is installed yet; -ERANGE (nothing written) when samples far larger
 * than those of the last fit overflow the recursion until the next refit. */
int fc_series_forecast(const fc_series_t *s, double *mean, double *lower,
                       double *upper);

/* The installed model. -EAGAIN when none. */
int fc_series_model(const fc_series_t *s, fc_model_info_t *ret);

/* A fit workspace for series made with the same window. NULL with errno
 * EINVAL or ENOMEM. */
fc_model_t *fc_model_new(const fc_params_t *p);
void fc_model_free(fc_model_t *m);

/* Copies the window of s that ends at its latest due point (or, when that
 * has left the ring, its latest window) into m, and clears the due flag.
 * O(window); no allocation. */
int fc_model_load(fc_model_t *m, fc_series_t *s);

/* Fits the loaded window: cleaning, d, order search, fallback. Never touches
 * a series. -ENODATA when the window has too few samples (m keeps no fit). */
int fc_model_fit(fc_model_t *m);

/* Installs m's fit into s and replays s's window through it, so forecasts
 * use every sample s has seen. -EAGAIN when m holds no fit, -EINVAL when m
 * and s were made with different windows. */
int fc_series_install(fc_series_t *s, const fc_model_t *m);

/* fc_model_load + fc_model_fit + fc_series_install, for single-threaded use. */
int fc_series_refit(fc_series_t *s, fc_model_t *m);

/* A set of sources, for hosts that feed many series from several threads.
 * A source is a named group of up to FC_SOURCE_MAX series sampled together
 * (one collectd value list: a series per data source). Lookups hold the set's
 * lock briefly; each source has its own lock, held by whoever acquired it.
 * Sources whose refit falls due are queued; one thread at a time runs
 * fc_set_refit(). Lock order: set, then source, then queue. */
#define FC_SOURCE_MAX 8

typedef struct fc_set fc_set_t;
typedef struct fc_source fc_source_t;

/* Decides whether a new key is forecast (called once per key, under the
 * set's lock). */
typedef bool (*fc_want_fn)(void *ctx);

/* A new, empty set. Each source carries user_size bytes per series for the
 * caller (zeroed; fc_source_data). NULL with errno EINVAL or ENOMEM. */
fc_set_t *fc_set_new(const fc_params_t *p, size_t user_size);
void fc_set_free(fc_set_t *set);

/* Finds the source named key, seen at time t (seconds) from a source
 * sampling every interval seconds, creating it when new: with n series of
 * kinds[] when want(ctx) says so, else as an ignored key. Returns 1 with the
 * source locked in *ret, 0 when the key is ignored (nothing locked), -EINVAL
 * when n is 0, above FC_SOURCE_MAX or not the source's, -ENOMEM. */
int fc_set_acquire(fc_set_t *set, const char *key, double t, double interval,
                   size_t n, const fc_kind_t *kinds, fc_want_fn want, void *ctx,
                   fc_source_t **ret);

/* Unlocks a source from fc_set_acquire(). */
void fc_source_release(fc_source_t *src);

/* Feeds one raw observation per series (as fc_series_observe) and queues the
 * source when a refit falls due. Returns 1 when a sample entered, else 0. */
int fc_source_observe(fc_source_t *src, double t, double interval,
                      const fc_raw_t *values);

/* Forecasts of series i (as fc_series_forecast). */
int fc_source_forecast(const fc_source_t *src, size_t i, double *mean,
                       double *lower, double *upper);

const char *fc_source_key(const fc_source_t *src);

/* The caller's bytes of series i. */
void *fc_source_data(fc_source_t *src, size_t i);

/* Refits the series of every source queued since the last call, with the
 * workspace m: windows are loaded and models installed under the source's
 * lock, fits run without it. Returns how many series got a new model. */
int fc_set_refit(fc_set_t *set, fc_model_t *m);

/* Removes the sources (and ignored keys) not seen for max(window, 10) of
 * their intervals before now, except those queued for a refit. Returns how
 * many were removed. */
size_t fc_set_evict(fc_set_t *set, double now);

/* Sources forecast, ignored keys, and bytes allocated for the set. */
void fc_set_stats(fc_set_t *set, size_t *ret_sources, size_t *ret_ignored,
                  size_t *ret_bytes);

#endif
