/* forecast.c: collectd plugin publishing ARMA forecasts of chosen series as
 * ordinary values (README, "The forecast plugin").
 *
 * A thin shell over forecast/: it reads the config, feeds every matching
 * value list to the set of series from the write callback (translating
 * collectd's value types), dispatches the forecasts, and runs the refits that
 * fell due from a read callback, off the write threads.
 *
 * Naming: the forecast of host/plugin-pinst/type-tinst is published as
 *   host/forecast-plugin-pinst/type-tinst-hH[-lower|-upper]
 * (plugin instance "plugin" alone when pinst is empty, type instance "hH..."
 * when tinst is empty): the forecast made at time t for t + H intervals. */
#include "collectd.h"
#include "plugin.h"
#include "utils/common/common.h"

#include "forecast.h"
#include "pm_vec.h"

#include <fnmatch.h>
#include <math.h>
#include <regex.h>
#include <stddef.h>

#define PLUGIN "forecast"
#define EVICT_EVERY 60.0 /* seconds between scans for idle series */

enum { N_PARTS = 5 };
static const char *const part_names[N_PARTS] = {
    "Host", "Plugin", "PluginInstance", "Type", "TypeInstance"};
static const char *const bound_suffix[3] = {"", "-lower", "-upper"};

/* One part of a <Series>: a glob (fnmatch), or, written "/.../" as in
 * collectd's own selections, an extended regular expression that may match
 * anywhere in the part. */
typedef struct part {
  char *text;  /* as written; NULL matches anything */
  regex_t *re; /* for "/.../"; its own allocation (patterns are moved) */
} part_t;

typedef struct pattern {
  part_t part[N_PARTS];
} pattern_t;

typedef struct state {
  fc_params_t params;
  PM_VEC(pattern_t) patterns;
  fc_set_t *set;
  fc_model_t *work; /* the read callback's */
  cdtime_t last_evict;
} state_t;

/* Per data source: when it was last published and, for each horizon and
 * bound, the counter published for DERIVE and COUNTER sources (whose rate
 * must be the forecast). */
typedef struct published {
  cdtime_t last;
  double acc[]; /* [horizon][3] */
} published_t;

static const struct option {
  const char *name;
  enum { OPT_SERIES, OPT_UINT, OPT_DOUBLE, OPT_MODEL } type;
  size_t offset; /* in fc_params_t */
  fc_field_t field;
} options[] = {
    {"Series", OPT_SERIES, 0, FC_FIELD_NONE},
    {"Window", OPT_UINT, offsetof(fc_params_t, window), FC_FIELD_WINDOW},
    {"Horizon", OPT_UINT, offsetof(fc_params_t, horizon), FC_FIELD_HORIZON},
    {"RefitEvery", OPT_UINT, offsetof(fc_params_t, refit_every),
     FC_FIELD_REFIT_EVERY},
    {"Model", OPT_MODEL, offsetof(fc_params_t, family), FC_FIELD_FAMILY},
    {"Coverage", OPT_DOUBLE, offsetof(fc_params_t, coverage),
     FC_FIELD_COVERAGE},
};
#define N_OPTIONS (sizeof(options) / sizeof(options[0]))

static void state_free(void *arg) {
  state_t *st = arg;
  if (!st)
    return;
  for (size_t i = 0; i < st->patterns.n; i++)
    for (int k = 0; k < N_PARTS; k++) {
      part_t *p = &st->patterns.v[i].part[k];
      if (p->re)
        regfree(p->re);
      free(p->re);
      free(p->text);
    }
  pm_vec_free(&st->patterns);
  fc_set_free(st->set);
  fc_model_free(st->work);
  free(st);
}

/* Names the forecast of `from` for horizon h and bound b (0 point, 1 lower,
 * 2 upper) in `to`; false when a name would not fit. */
static bool name_forecast(const value_list_t *from, unsigned h, int b,
                          value_list_t *to) {
  int n = snprintf(to->plugin_instance, sizeof(to->plugin_instance), "%s%s%s",
                   from->plugin, from->plugin_instance[0] ? "-" : "",
                   from->plugin_instance);
  int m = snprintf(to->type_instance, sizeof(to->type_instance), "%s%sh%u%s",
                   from->type_instance, from->type_instance[0] ? "-" : "", h,
                   bound_suffix[b]);
  return n >= 0 && (size_t)n < sizeof(to->plugin_instance) && m >= 0 &&
         (size_t)m < sizeof(to->type_instance);
}

typedef struct want_ctx {
  const state_t *st;
  const value_list_t *vl;
  const char *id;
} want_ctx_t;

static bool part_matches(const part_t *p, const char *s) {
  if (!p->text)
    return true;
  return p->re ? regexec(p->re, s, 0, NULL, 0) == 0
               : fnmatch(p->text, s, 0) == 0;
}

static bool wanted(void *arg) {
  const want_ctx_t *w = arg;
  const value_list_t *vl = w->vl;
  const char *parts[N_PARTS] = {vl->host, vl->plugin, vl->plugin_instance,
                                vl->type, vl->type_instance};
  for (size_t i = 0; i < w->st->patterns.n; i++) {
    const part_t *part = w->st->patterns.v[i].part;
    int k = 0;
    while (k < N_PARTS && part_matches(&part[k], parts[k]))
      k++;
    if (k < N_PARTS)
      continue;
    value_list_t longest;
    if (!name_forecast(vl, FC_HORIZON_MAX, 1, &longest)) {
      WARNING(PLUGIN " plugin: %s: too long to name its forecasts; not "
                     "forecast",
              w->id);
      return false;
    }
    INFO(PLUGIN " plugin: forecasting %s", w->id);
    return true;
  }
  return false;
}

/* collectd's value types, translated: kind, raw observation, published. */
static fc_kind_t kind_of(int type) {
  return type == DS_TYPE_COUNTER    ? FC_KIND_COUNTER
         : type == DS_TYPE_DERIVE   ? FC_KIND_DERIVE
         : type == DS_TYPE_ABSOLUTE ? FC_KIND_ABSOLUTE
                                    : FC_KIND_GAUGE;
}

static fc_raw_t raw_of(int type, value_t v) {
  return type == DS_TYPE_COUNTER    ? (fc_raw_t){.counter = v.counter}
         : type == DS_TYPE_DERIVE   ? (fc_raw_t){.derive = v.derive}
         : type == DS_TYPE_ABSOLUTE ? (fc_raw_t){.counter = v.absolute}
                                    : (fc_raw_t){.gauge = v.gauge};
}

/* x is a gauge or a rate per second: counters are published as counters
 * that grow at that rate since the previous publication (dt seconds). */
static value_t value_of(const data_source_t *src, double x, double *acc,
                        double dt, double interval) {
  if (!isnan(src->min) && x < src->min)
    x = src->min;
  if (!isnan(src->max) && x > src->max)
    x = src->max;
  if (src->type == DS_TYPE_COUNTER || src->type == DS_TYPE_ABSOLUTE)
    x = fmax(x, 0);
  *acc += x * dt;
  if (!(fabs(*acc) < 9e18))
    *acc = 0; /* keeps the conversions defined */
  switch (src->type) {
  case DS_TYPE_DERIVE:
    return (value_t){.derive = (derive_t)floor(*acc)};
  case DS_TYPE_COUNTER:
    return (value_t){.counter = (counter_t)floor(*acc)};
  case DS_TYPE_ABSOLUTE:
    return (value_t){.absolute = (absolute_t)llround(fmin(x * interval, 9e18))};
  default:
    return (value_t){.gauge = x};
  }
}

/* Dispatches every horizon and bound of src's forecasts (src locked). */
static void publish(const state_t *st, fc_source_t *src, const data_set_t *ds,
                    const value_list_t *from) {
  unsigned H = st->params.horizon;
  double fc[FC_SOURCE_MAX][3][FC_HORIZON_MAX];
  for (size_t d = 0; d < ds->ds_num; d++)
    if (fc_source_forecast(src, d, fc[d][0], fc[d][1], fc[d][2]) < 0)
      return;
  value_t values[FC_SOURCE_MAX];
  value_list_t vl = VALUE_LIST_INIT;
  vl.values = values;
  vl.values_len = ds->ds_num;
  vl.time = from->time;
  vl.interval = from->interval;
  sstrncpy(vl.host, from->host, sizeof(vl.host));
  sstrncpy(vl.plugin, PLUGIN, sizeof(vl.plugin));
  sstrncpy(vl.type, from->type, sizeof(vl.type));
  published_t *pub = fc_source_data(src, 0);
  double dt = pub->last ? CDTIME_T_TO_DOUBLE(from->time - pub->last) : 0;
  pub->last = from->time;
  for (unsigned h = 1; h <= H; h++)
    for (int b = 0; b < 3; b++) {
      if (!name_forecast(from, h, b, &vl))
        return; /* cannot happen: wanted() checked the longest name */
      for (size_t d = 0; d < ds->ds_num; d++) {
        published_t *p = fc_source_data(src, d);
        values[d] =
            value_of(&ds->ds[d], fc[d][b][h - 1], &p->acc[(h - 1) * 3 + b], dt,
                     CDTIME_T_TO_DOUBLE(from->interval));
      }
      plugin_dispatch_values(&vl);
    }
}

static int fc_write(const data_set_t *ds, const value_list_t *vl,
                    user_data_t *ud) {
  state_t *st = ud->data;
  if (strcmp(vl->plugin, PLUGIN) == 0)
    return 0; /* never forecast forecasts */
  char id[6 * DATA_MAX_NAME_LEN];
  fc_kind_t kinds[FC_SOURCE_MAX];
  fc_raw_t raw[FC_SOURCE_MAX];
  if (FORMAT_VL(id, sizeof(id), vl) != 0 || ds->ds_num > FC_SOURCE_MAX)
    return 0;
  for (size_t d = 0; d < ds->ds_num; d++) {
    kinds[d] = kind_of(ds->ds[d].type);
    raw[d] = raw_of(ds->ds[d].type, vl->values[d]);
  }
  double t = CDTIME_T_TO_DOUBLE(vl->time);
  double interval = CDTIME_T_TO_DOUBLE(vl->interval);
  want_ctx_t ctx = {st, vl, id};
  fc_source_t *src;
  int r = fc_set_acquire(st->set, id, t, interval, ds->ds_num, kinds, wanted,
                         &ctx, &src);
  if (r < 0 && r != -EINVAL)
    ERROR(PLUGIN " plugin: %s: %s", id, STRERROR(-r));
  if (r <= 0)
    return 0;
  if (fc_source_observe(src, t, interval, raw) == 1)
    publish(st, src, ds, vl);
  fc_source_release(src);
  return 0;
}

static int fc_read(user_data_t *ud) {
  state_t *st = ud->data;
  fc_set_refit(st->set, st->work);
  cdtime_t now = cdtime();
  if (CDTIME_T_TO_DOUBLE(now - st->last_evict) > EVICT_EVERY) {
    st->last_evict = now;
    fc_set_evict(st->set, CDTIME_T_TO_DOUBLE(now));
  }
  return 0;
}

/* Reads one part: "/re/" is a regular expression, anything else a glob. */
static int parse_part(const oconfig_item_t *c, part_t *p) {
  if (p->re)
    regfree(p->re);
  sfree(p->re);
  sfree(p->text);
  if (cf_util_get_string(c, &p->text) != 0)
    return -1; /* collectd said why */
  size_t n = strlen(p->text);
  if (n < 2 || p->text[0] != '/' || p->text[n - 1] != '/') {
    if (strpbrk(p->text, "^$|()+{}\\"))
      WARNING(PLUGIN " plugin: <Series> %s \"%s\" is taken as a glob "
                     "(* ? [...]); for a regular expression write \"/%s/\"",
              c->key, p->text, p->text);
    return 0;
  }
  char *re = strndup(p->text + 1, n - 2);
  regex_t *compiled = calloc(1, sizeof(*compiled));
  if (!re || !compiled) {
    free(re);
    free(compiled);
    return -1;
  }
  int r = re[0] ? regcomp(compiled, re, REG_EXTENDED | REG_NOSUB) : REG_BADPAT;
  free(re);
  if (r != 0) {
    char why[256] = "empty";
    if (n > 2)
      regerror(r, compiled, why, sizeof(why));
    ERROR(PLUGIN " plugin: <Series> %s \"%s\": bad regular expression: %s",
          c->key, p->text, why);
    free(compiled);
    return -1;
  }
  p->re = compiled;
  return 0;
}

/* Says how the block was taken, part by part: globs and regexes look
 * alike to a reader of the configuration. */
static void log_series(const pattern_t *p, size_t number) {
  char msg[1024] = "";
  size_t len = 0;
  for (int k = 0; k < N_PARTS && len < sizeof(msg); k++) {
    const part_t *part = &p->part[k];
    if (!part->text)
      continue;
    int n = snprintf(msg + len, sizeof(msg) - len,
                     part->re ? "%s%s regex %s" : "%s%s glob \"%s\"",
                     len ? ", " : "", part_names[k], part->text);
    len += n > 0 ? (size_t)n : 0;
  }
  INFO(PLUGIN " plugin: <Series> %zu: %s", number, msg[0] ? msg : "everything");
}

static int parse_series(const oconfig_item_t *ci, state_t *st) {
  pattern_t *p = pm_vec_push(&st->patterns);
  if (!p)
    return -1;
  for (int i = 0; i < ci->children_num; i++) {
    const oconfig_item_t *c = &ci->children[i];
    int k = 0;
    while (k < N_PARTS && strcasecmp(c->key, part_names[k]) != 0)
      k++;
    if (k == N_PARTS) {
      ERROR(PLUGIN " plugin: unknown option \"%s\" in <Series>: use Host, "
                   "Plugin, PluginInstance, Type or TypeInstance",
            c->key);
      return -1;
    }
    if (parse_part(c, &p->part[k]) != 0)
      return -1;
  }
  log_series(p, st->patterns.n);
  return 0;
}

static int parse_option(const oconfig_item_t *c, const struct option *o,
                        state_t *st) {
  void *dst = (char *)&st->params + o->offset;
  if (o->type == OPT_SERIES)
    return parse_series(c, st);
  bool one_string =
      c->values_num == 1 && c->values[0].type == OCONFIG_TYPE_STRING;
  bool one_number =
      c->values_num == 1 && c->values[0].type == OCONFIG_TYPE_NUMBER;
  double v = one_number ? c->values[0].value.number : NAN;
  if (o->type == OPT_MODEL) {
    if (one_string && fc_family_parse(c->values[0].value.string, dst) == 0)
      return 0;
    ERROR(PLUGIN " plugin: Model \"%s\" is unknown: use \"auto\", \"ar\", "
                 "\"ma\" or \"arma\"",
          one_string ? c->values[0].value.string : "(not a string)");
  } else if (!one_number) {
    ERROR(PLUGIN " plugin: %s needs one number", o->name);
  } else if (o->type == OPT_DOUBLE) {
    *(double *)dst = v;
    return 0;
  } else if (!(v >= 0 && v <= 1e6 && v == floor(v))) {
    ERROR(PLUGIN " plugin: %s %g is not a whole number of samples", o->name, v);
  } else {
    *(unsigned *)dst = (unsigned)v;
    return 0;
  }
  return -1;
}

/* Checks the parameters as a whole; says which option is wrong and why. */
static int check_params(const state_t *st) {
  fc_error_t err;
  if (fc_params_check(&st->params, &err) == 0)
    return 0;
  for (size_t i = 0; i < N_OPTIONS; i++)
    if (options[i].field == err.field) {
      const void *v = (const char *)&st->params + options[i].offset;
      ERROR(PLUGIN " plugin: %s %g is invalid: %s", options[i].name,
            options[i].type == OPT_DOUBLE ? *(const double *)v
                                          : (double)*(const unsigned *)v,
            err.msg);
    }
  return -1;
}

static int fc_config(oconfig_item_t *ci) {
  state_t *st = calloc(1, sizeof(*st));
  if (!st)
    return -1;
  fc_params_default(&st->params);
  for (int i = 0; i < ci->children_num; i++) {
    const oconfig_item_t *c = &ci->children[i];
    size_t k = 0;
    while (k < N_OPTIONS && strcasecmp(c->key, options[k].name) != 0)
      k++;
    if (k == N_OPTIONS)
      ERROR(PLUGIN " plugin: unknown option \"%s\": use Series, Window, "
                   "Horizon, RefitEvery, Model or Coverage",
            c->key);
    if (k == N_OPTIONS || parse_option(c, &options[k], st) != 0)
      goto fail;
  }
  if (check_params(st) != 0)
    goto fail;
  if (st->patterns.n == 0) {
    ERROR(PLUGIN " plugin: no <Series> block: nothing to forecast");
    goto fail;
  }
  if (!(st->set = fc_set_new(&st->params,
                             sizeof(published_t) +
                                 3 * st->params.horizon * sizeof(double))) ||
      !(st->work = fc_model_new(&st->params)))
    goto fail;
  st->last_evict = cdtime();
  user_data_t shared = {.data = st}; /* freed with the write callback */
  if (plugin_register_complex_read(NULL, PLUGIN, fc_read, 0, &shared) != 0)
    goto fail;
  user_data_t owner = {.data = st, .free_func = state_free};
  if (plugin_register_write(PLUGIN, fc_write, &owner) != 0) {
    plugin_unregister_read(PLUGIN); /* st may be freed: do not touch it */
    ERROR(PLUGIN " plugin: registering the write callback failed");
    return -1;
  }
  INFO(PLUGIN " plugin: %zu series pattern(s), window %u, horizon %u, refit "
              "every %u, model %s, coverage %g",
       st->patterns.n, st->params.window, st->params.horizon,
       st->params.refit_every, fc_family_name(st->params.family),
       st->params.coverage);
  return 0;
fail:
  state_free(st);
  return -1;
}

void module_register(void) {
  plugin_register_complex_config(PLUGIN, fc_config);
}
