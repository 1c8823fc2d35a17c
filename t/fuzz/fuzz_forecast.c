/* fuzz_forecast: libFuzzer harness for forecast/ (series, cleaning, fits).
 *
 * The first two bytes choose the parameters and the kind of series; every
 * further byte is one event: a sample moving by a small step, an extreme
 * value (NAN, infinities, values at and near +-DBL_MAX, 1e300, denormals, a
 * counter reset), a jump in time (gaps), a late sample, or an immediate
 * refit. Whatever the input, nothing may crash or trip the sanitizers, and
 * while every value was finite (however large) the forecasts must be finite
 * with lower <= mean <= upper. */
#include "config.h"

#include "forecast.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const double extremes[16] = {
    NAN,     INFINITY, -INFINITY, 1e300,
    -1e300,  0,        4.9e-324,  -1,
    DBL_MAX, -DBL_MAX, 0x1p1023,  -0x1.fffffffffffffp1022,
    DBL_MIN, 1e154,    -1e200,    0x1p1023 * 1.5};

static void check(const fc_series_t *s, unsigned horizon, bool sane) {
  double mean[FC_HORIZON_MAX], lo[FC_HORIZON_MAX], hi[FC_HORIZON_MAX];
  if (fc_series_forecast(s, mean, lo, hi) < 0 || !sane)
    return;
  for (unsigned h = 0; h < horizon; h++)
    if (!isfinite(mean[h]) || !isfinite(lo[h]) || !isfinite(hi[h]) ||
        lo[h] > mean[h] || mean[h] > hi[h])
      abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2)
    return 0;
  fc_params_t p;
  fc_params_default(&p);
  p.window = 35 + data[0] % 64;
  p.refit_every = 1 + data[0] % 7;
  p.horizon = 1 + data[1] % 12;
  p.family = (fc_family_t)((data[1] >> 4) & 3);
  fc_kind_t kind = (fc_kind_t)(data[0] >> 6);
  fc_series_t *s = fc_series_new(&p, kind);
  fc_model_t *m = fc_model_new(&p);
  if (!s || !m)
    abort();
  double t = 0, level = 50;
  uint64_t counter = 1000;
  bool sane = true;
  for (size_t i = 2; i < size; i++) {
    uint8_t b = data[i], arg = b & 31;
    double x = level;
    double when = t + 10;
    switch (b >> 5) {
    case 4: /* an extreme value or a counter reset */
      x = extremes[arg & 15];
      counter = arg & 16 ? 0 : counter;
      if (!isfinite(x))
        sane = false;
      else if (kind == FC_KIND_GAUGE)
        level = x; /* the walk goes on from up there */
      break;
    case 5: /* a gap */
      when = t + 10.0 * (2 + arg);
      break;
    case 6: /* a late sample */
      when = t - 10.0 * (1 + (arg & 7));
      break;
    case 7: /* a refit now, due or not */
      fc_series_refit(s, m);
      check(s, p.horizon, sane);
      continue;
    default:
      level += (double)arg - 15;
      x = level;
      counter += (uint64_t)arg * 1000;
    }
    fc_raw_t v = kind == FC_KIND_GAUGE ? (fc_raw_t){.gauge = x}
                 : kind == FC_KIND_DERIVE
                     ? (fc_raw_t){.derive = (int64_t)counter}
                     : (fc_raw_t){.counter = counter};
    fc_series_observe(s, when, 10, v);
    t = when > t ? when : t;
    if (fc_series_refit_due(s))
      fc_series_refit(s, m);
    check(s, p.horizon, sane);
  }
  fc_series_free(s);
  fc_model_free(m);
  return 0;
}
