/* patmon_module: the gmond 3.7 module that monitors what a pattern file
 * expands to and follows hotplug and HA events without a restart.
 *
 *   modules {
 *     module {
 *       name = "patmon_module"
 *       path = "/usr/lib/x86_64-linux-gnu/ganglia/modpatmon.so"
 *       param patterns { value = "/etc/patmon/patterns.conf" }
 *       param event_socket { value = "/run/patmon/events.sock" }
 *     }
 *   }
 *
 * gmond asks a module for its metrics once, at start. So only the module's
 * own patmon_* metrics are declared; the entries' metrics (and forecasts)
 * are pushed the way gmetric pushes, with libganglia's Ganglia_metric_* to
 * gmond's own udp_send_channels, with a dmax so that a metric no longer sent
 * leaves gmond; an entry that goes away has its metrics re-announced with
 * dmax 1, so gmond's next cleanup drops them. See README "The gmond module".
 *
 * A shell: the follower (follow/) watches for events and keeps the pattern
 * monitor current; the pattern library reads and names; the forecast
 * library forecasts. All of that runs on the module's thread: gmond's main
 * loop only reads counters. */
#include "config.h"

#include "follow/follow.h"
#include "forecast.h"
#include "hotplug/hotplug.h"
#include "pattern.h"
#include "reading/reading.h"

#include <ganglia.h>
#include <gm_metric.h>

#include <errno.h>
#include <fnmatch.h>
#include <math.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MODULE "patmon"
#define QUICK_READ_S 1.0 /* a new entry's second read: its first rates */

struct instance {
  /* params */
  fl_opts_t fo; /* its strings are the instance's; "" entries file: none */
  int interval, dmax;
  char *forecast;  /* globs over metric names, blank-separated */
  char **fc_globs; /* split once: NULL-ended, into fc_glob_buf */
  char *fc_glob_buf;
  fc_params_t fc;
  /* the libraries */
  fl_t *follow;
  pat_monitor_t *mon; /* the follower's */
  rd_reader_t *reader;
  rd_gmond_t *conv;
  fc_set_t *fcs;
  fc_model_t *fcm;
  /* where metrics go: sockets to gmond's own udp_send_channels, in a pool
   * of the module's own (apr_terminate at exit leaves it alone) */
  apr_pool_t *pool;
  Ganglia_udp_send_channels channels;
  bool mute;
  uint32_t send_errors, errors_logged; /* the module's thread only */
  unsigned unpaced;
  double last_error_log;
  double next_quick; /* the follower's thread: a new entry's second read */
  /* gmond's metric list: the module's own metrics, and their counters */
  Ganglia_25metric info[8];
  const uint32_t *source[8]; /* NULL: expansion_us */
  /* counters gmond's main loop reads (atomics) */
  uint32_t entries, metrics, expansions, events, dropped;
  uint64_t expansion_us;
};

/* gmond's mmodule API hands init, handler and cleanup no user data, and
 * loads a module once per process: this is its one instance, set by init
 * and cleared by cleanup. */
static struct instance *the;

mmodule patmon_module;

static double now_s(void) { return (double)pm_now_ns() / 1e9; }

/* ---- pushing metrics to gmond ---- */

/* One read cycle's scratch: libganglia allocates in pools (every
 * Ganglia_metric_set copies), so each cycle gets one and drops it. */
struct cycle {
  struct instance *p;
  apr_pool_t *pool;
  double now;
  bool on_grid; /* a regular read: forecasts are fed */
  uint32_t sent;
};

static bool cycle_begin(struct instance *p, double now, bool on_grid,
                        struct cycle *ret) {
  *ret = (struct cycle){.p = p, .now = now, .on_grid = on_grid};
  return apr_pool_create(&ret->pool, p->pool) == APR_SUCCESS;
}

/* Drops the cycle's pool; says (at most once a minute) when sends failed. */
static void cycle_end(struct cycle *c) {
  struct instance *p = c->p;
  apr_pool_destroy(c->pool);
  double now = now_s();
  if (p->send_errors != p->errors_logged && now - p->last_error_log >= 60) {
    err_msg(MODULE ": %u metric sends failed since start", p->send_errors);
    p->errors_logged = p->send_errors;
    p->last_error_log = now;
  }
}

/* gmond writes metadata into its XML unescaped. */
static void xml_safe(char *s) {
  for (; *s; s++)
    if (strchr("\"<>&", *s))
      *s = '_';
}

/* What send_metric sends. gmond drops a metric whose metadata it has not
 * heard for dmax, and a gmond that starts later knows only what is
 * announced after it started: metadata goes with a metric's first value
 * and then every ANNOUNCE_EVERY of its intervals (dmax is 10 of them). */
enum send { SEND_VALUE, SEND_ANNOUNCE, SEND_TOMBSTONE };
#define ANNOUNCE_EVERY 3
#define DMAX_INTERVALS 10

/* Loopback delivers a burst at once: thousands of datagrams would overflow
 * gmond's receive buffer. A short pause after every PACE_PACKETS. */
#define PACE_PACKETS 64
#define PACE_NS 1000000

static void pace(struct instance *p, unsigned packets) {
  p->unpaced += packets;
  if (p->unpaced < PACE_PACKETS)
    return;
  p->unpaced = 0;
  nanosleep(&(struct timespec){.tv_nsec = PACE_NS}, NULL);
}

/* Sends a metric to every send channel: its value, its metadata and value,
 * or (a tombstone) its metadata alone with dmax 1. */
static void send_metric(struct cycle *c, const char *name, double value,
                        const char *units, const char *group, const char *desc,
                        int tmax, int dmax, enum send what) {
  struct instance *p = c->p;
  if (!p->channels || p->mute || !isfinite(value))
    return;
  char n[PAT_GMETRIC_NAME_MAX + 16], v[64], u[32], g[64], d[256];
  snprintf(n, sizeof(n), "%s", name);
  snprintf(v, sizeof(v), "%.10g", value);
  snprintf(u, sizeof(u), "%s", units);
  snprintf(g, sizeof(g), "%s", group);
  snprintf(d, sizeof(d), "%s", desc);
  xml_safe(g);
  xml_safe(d);
  Ganglia_metric gm = Ganglia_metric_create((Ganglia_pool)c->pool);
  int r = gm ? Ganglia_metric_set(gm, n, v, "double", u, GANGLIA_SLOPE_BOTH,
                                  (unsigned)tmax, (unsigned)dmax)
             : -1;
  if (r == 0 && what != SEND_VALUE) {
    Ganglia_metadata_add(gm, MGROUP, g);
    Ganglia_metadata_add(gm, "DESC", d);
    r = Ganglia_metadata_send(gm, p->channels);
  }
  if (r == 0 && what != SEND_TOMBSTONE)
    r = Ganglia_value_send(gm, p->channels);
  if (gm)
    Ganglia_metric_destroy(gm); /* its subpool: else a cycle's peak stays */
  if (r != 0)
    p->send_errors++;
  else if (what != SEND_TOMBSTONE)
    c->sent++;
  pace(p, what == SEND_ANNOUNCE ? 2 : 1);
}

/* A metric read less often than its dmax would blink out of gmond: a
 * pattern's own interval may ask for more than the param allows. */
static int dmax_of(const struct instance *p, int interval) {
  if (p->dmax <= 0)
    return DMAX_INTERVALS * interval;
  return p->dmax >= 2 * interval ? p->dmax : 2 * interval;
}

/* ---- forecasts ---- */

/* Splits the forecast param into p->fc_globs, once: every metric of every
 * read is matched against them. */
static int split_globs(struct instance *p) {
  size_t n = 0;
  if (!(p->fc_glob_buf = strdup(p->forecast)) ||
      !(p->fc_globs = calloc(strlen(p->forecast) / 2 + 2, sizeof(char *))))
    return -1;
  char *save = NULL;
  for (char *g = strtok_r(p->fc_glob_buf, " \t,", &save); g;
       g = strtok_r(NULL, " \t,", &save))
    p->fc_globs[n++] = g;
  return 0;
}

static bool has_globs(const struct instance *p) {
  return p->fc_globs[0] != NULL;
}

static bool forecast_wanted(const struct instance *p, const char *name) {
  if (!p->fcs)
    return false;
  for (char **g = p->fc_globs; *g; g++)
    if (fnmatch(*g, name, 0) == 0)
      return true;
  return false;
}

static bool want_all(void *ctx) { return true; }

/* The three names a forecast of `name` is published under. */
static void forecast_names(const struct instance *p, const char *name,
                           char out[3][PAT_GMETRIC_NAME_MAX + 16]) {
  static const char *const bound[3] = {"", "_lower", "_upper"};
  for (int b = 0; b < 3; b++)
    snprintf(out[b], PAT_GMETRIC_NAME_MAX + 16, "%s_fc_h%u%s", name,
             p->fc.horizon, bound[b]);
}

/* Feeds one measured value; publishes its forecast H intervals ahead with
 * the interval's bounds (floored at 0: every metric here is >= 0). */
static void forecast(struct cycle *c, const rd_gmetric_t *m) {
  struct instance *p = c->p;
  fc_kind_t kind = FC_KIND_GAUGE;
  fc_source_t *src;
  if (fc_set_acquire(p->fcs, m->name, c->now, m->interval, 1, &kind, want_all,
                     NULL, &src) != 1)
    return;
  double fc[3][FC_HORIZON_MAX];
  fc_raw_t raw = {.gauge = m->value};
  bool ok = fc_source_observe(src, c->now, m->interval, &raw) == 1 &&
            fc_source_forecast(src, 0, fc[0], fc[1], fc[2]) == 0;
  /* When the forecasts were last announced (0: never). */
  double *announced = fc_source_data(src, 0);
  bool announce =
      ok && (*announced == 0 ||
             c->now - *announced >= (ANNOUNCE_EVERY - 0.05) * m->interval);
  if (announce)
    *announced = c->now;
  fc_source_release(src);
  if (!ok)
    return;
  char names[3][PAT_GMETRIC_NAME_MAX + 16], desc[256];
  forecast_names(p, m->name, names);
  static const char *const what[3] = {"forecast", "lower bound of the forecast",
                                      "upper bound of the forecast"};
  for (int b = 0; b < 3; b++) {
    double x = fc[b][p->fc.horizon - 1];
    snprintf(desc, sizeof(desc), "%s of %s, %u intervals of %d s ahead (%g%%)",
             what[b], m->name, p->fc.horizon, m->interval,
             p->fc.coverage * 100);
    send_metric(c, names[b], x > 0 ? x : 0, m->units, "forecast", desc,
                m->interval, dmax_of(p, m->interval),
                announce ? SEND_ANNOUNCE : SEND_VALUE);
  }
}

/* ---- reading ---- */

static int on_metric(const rd_gmetric_t *m, void *ud) {
  struct cycle *c = ud;
  if (m->entry) { /* node values are gmond's own metrics: forecasts only */
    char desc[256];
    snprintf(desc, sizeof(desc), "%s of %s %s (pattern %s)", m->suffix,
             pat_class_name(m->entry->cls), m->entry->instance,
             m->entry->pattern);
    send_metric(c, m->name, m->value, m->units, m->group, desc, m->interval,
                dmax_of(c->p, m->interval),
                m->announce ? SEND_ANNOUNCE : SEND_VALUE);
  }
  if (c->on_grid && forecast_wanted(c->p, m->name))
    forecast(c, m);
  return 0;
}

static int on_value(const rd_value_t *v, void *ud) {
  struct cycle *c = ud;
  int r = rd_gmond_convert(c->p->conv, v, c->now, c->p->interval, on_metric, c);
  return r < 0 ? r : 0;
}

/* Reads what is due and pushes it. Returns true when counters were only
 * primed: a quick second read gives their first rates. */
static bool read_cycle(struct instance *p, double now, bool on_grid) {
  struct cycle c;
  if (!cycle_begin(p, now, on_grid, &c))
    return false;
  pat_entries_t *e = pat_monitor_entries(p->mon);
  int r = rd_reader_read(p->reader, e, now, on_value, &c);
  if (r < 0)
    err_msg(MODULE ": reading values failed: %s", strerror(-r));
  if (on_grid && p->fcs) {
    rd_reader_read_node(p->reader, on_value, &c);
    fc_set_refit(p->fcs, p->fcm);
    fc_set_evict(p->fcs, now);
  }
  pat_entries_free(e);
  cycle_end(&c);
  if (on_grid) /* a read after an event sends only what it concerns */
    __atomic_store_n(&p->metrics, c.sent, __ATOMIC_RELAXED);
  char first[PAT_GMETRIC_NAME_MAX * 3];
  unsigned clashes = rd_gmond_take_clashes(p->conv, first, sizeof(first));
  if (clashes)
    err_msg(MODULE ": %u metric name%s two entries would share; the entry "
                   "seen first keeps each (patmon-expand -f gmond marks "
                   "them). First: %s",
            clashes, clashes == 1 ? "" : "s", first);
  return rd_gmond_take_primed(p->conv) > 0;
}

/* ---- following the machine ---- */

static int tombstone(const char *name, void *ud) {
  struct cycle *c = ud;
  send_metric(c, name, 0, "", "", "gone", 1, 1, SEND_TOMBSTONE);
  if (forecast_wanted(c->p, name)) {
    char names[3][PAT_GMETRIC_NAME_MAX + 16];
    forecast_names(c->p, name, names);
    for (int b = 0; b < 3; b++)
      send_metric(c, names[b], 0, "", "", "gone", 1, 1, SEND_TOMBSTONE);
  }
  return 0;
}

static void log_line(enum fl_level level, const char *line, void *ud) {
  (void)level;
  (void)ud;
  err_msg(MODULE ": %s", line);
}

/* Announces the metrics of entries that went away with dmax 1. */
static void retire_gone(struct instance *p) {
  struct cycle c;
  pat_entries_t *e = pat_monitor_entries(p->mon);
  if (cycle_begin(p, now_s(), false, &c)) {
    if (rd_gmond_retire(p->conv, e, tombstone, &c) < 0)
      err_msg(MODULE ": out of memory retiring metrics");
    cycle_end(&c);
  }
  pat_entries_free(e);
}

/* The follower's counters, where gmond's main loop reads them. */
static void publish_stats(struct instance *p, const fl_step_t *s) {
  fl_stats_t st;
  fl_stats(p->follow, &st);
  __atomic_store_n(&p->expansions, (uint32_t)st.expansions, __ATOMIC_RELAXED);
  __atomic_store_n(&p->events, (uint32_t)st.events, __ATOMIC_RELAXED);
  __atomic_store_n(&p->dropped, (uint32_t)st.dropped, __ATOMIC_RELAXED);
  __atomic_store_n(&p->expansion_us, st.last_us, __ATOMIC_RELAXED);
  if (s->refreshed && s->rc == 0)
    __atomic_store_n(&p->entries, (uint32_t)s->info.entries, __ATOMIC_RELAXED);
}

/* Reads and sends happen on the follower's thread, when it says (events
 * coalesced by the hotplug library; each interval, on a grid; every
 * rescan_interval) and whenever the entries changed. A new entry is read at
 * once and again a second later, so it shows in gmond with rates within
 * about a second of its event; an entry that went away has its metrics
 * retired. Returns when the next quick read is due. */
static double step(fl_t *f, const fl_step_t *s, void *ud) {
  struct instance *p = ud;
  fl_step_lines(f, s, log_line, p);
  publish_stats(p, s);
  bool changed = s->refreshed && s->rc == 0 && s->info.changed;
  if (changed && s->info.gone)
    retire_gone(p);
  double now = now_s();
  bool quick = p->next_quick > 0 && now >= p->next_quick;
  if (s->tick || changed || quick) {
    bool primed = read_cycle(p, now_s(), s->tick);
    if (primed)
      p->next_quick = now_s() + QUICK_READ_S;
    else if (quick || s->tick)
      p->next_quick = 0;
  }
  return p->next_quick;
}

/* ---- gmond's side ---- */

static g_val_t handler(int i) {
  struct instance *p = the;
  g_val_t v = {0};
  if (!p || i < 0 || (size_t)i >= sizeof(p->source) / sizeof(p->source[0]))
    return v;
  if (p->source[i])
    v.uint32 = __atomic_load_n(p->source[i], __ATOMIC_RELAXED);
  else
    v.f = (float)__atomic_load_n(&p->expansion_us, __ATOMIC_RELAXED) / 1000;
  return v;
}

static void instance_free(struct instance *p) {
  if (!p)
    return;
  fl_free(p->follow); /* stops its thread first */
  rd_reader_free(p->reader);
  rd_gmond_free(p->conv);
  fc_model_free(p->fcm);
  fc_set_free(p->fcs);
  if (p->pool)
    apr_pool_destroy(p->pool); /* closes the send sockets */
  fl_opts_clear(&p->fo);
  free(p->forecast);
  free(p->fc_globs);
  free(p->fc_glob_buf);
  free(p);
}

/* Params: one row each. */
enum opt_kind { OPT_STRING, OPT_INT, OPT_UINT, OPT_DOUBLE, OPT_FAMILY };
static const struct {
  const char *name;
  enum opt_kind kind;
  size_t offset;
  double min, max;
} options[] = {
    {"interval", OPT_INT, offsetof(struct instance, interval), 1, 3600},
    {"dmax", OPT_INT, offsetof(struct instance, dmax), 0, 86400},
    {"forecast", OPT_STRING, offsetof(struct instance, forecast), 0, 0},
    {"forecast_window", OPT_UINT, offsetof(struct instance, fc.window), 1,
     FC_WINDOW_MAX},
    {"forecast_horizon", OPT_UINT, offsetof(struct instance, fc.horizon), 1,
     FC_HORIZON_MAX},
    {"forecast_refit_every", OPT_UINT,
     offsetof(struct instance, fc.refit_every), 1, 1e6},
    {"forecast_model", OPT_FAMILY, offsetof(struct instance, fc.family), 0, 0},
    {"forecast_coverage", OPT_DOUBLE, offsetof(struct instance, fc.coverage), 0,
     1},
};

/* The row of one param: the follower's (into the instance's fl_opts_t) or
 * the module's own. */
static bool find_option(struct instance *p, const char *name,
                        enum opt_kind *ret_kind, void **ret_field,
                        double *ret_min, double *ret_max) {
  const fl_option_t *fo = fl_option_find(name, true);
  if (fo) {
    *ret_kind = fo->is_string ? OPT_STRING : OPT_INT;
    *ret_field = (char *)&p->fo + fo->offset;
    *ret_min = fo->min;
    *ret_max = fo->max;
    return true;
  }
  for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++)
    if (strcasecmp(name, options[i].name) == 0) {
      *ret_kind = options[i].kind;
      *ret_field = (char *)p + options[i].offset;
      *ret_min = options[i].min;
      *ret_max = options[i].max;
      return true;
    }
  return false;
}

static int set_option(struct instance *p, const char *name, const char *val) {
  enum opt_kind kind;
  void *field;
  double min, max;
  if (!find_option(p, name, &kind, &field, &min, &max)) {
    err_msg(MODULE ": unknown param \"%s\"", name);
    return -1;
  }
  if (kind == OPT_STRING) {
    char **s = field;
    free(*s);
    return (*s = strdup(val)) ? 0 : -1;
  }
  if (kind == OPT_FAMILY) {
    if (fc_family_parse(val, field) == 0)
      return 0;
    err_msg(MODULE ": param %s \"%s\": use auto, ar, ma or arma", name, val);
    return -1;
  }
  char *end;
  errno = 0;
  double v = strtod(val, &end);
  bool integral = kind != OPT_DOUBLE;
  if (errno || end == val || *end || v < min || v > max ||
      (integral && v != floor(v))) {
    err_msg(MODULE ": param %s \"%s\": must be %s from %g to %g", name, val,
            integral ? "an integer" : "a number", min, max);
    return -1;
  }
  if (kind == OPT_INT)
    *(int *)field = (int)v;
  else if (kind == OPT_UINT)
    *(unsigned *)field = (unsigned)v;
  else
    *(double *)field = v;
  return 0;
}

static fl_opts_t follow_opts(const struct instance *p) {
  fl_opts_t fo = p->fo;
  if (fo.entries_file && !fo.entries_file[0])
    fo.entries_file = NULL;
  fo.interval = p->interval;
  /* gmond binds its udp_recv_channels after the modules' init: the first
   * read (whose metadata this gmond must hear) waits a moment. */
  fo.first_tick = QUICK_READ_S;
  return fo;
}

/* Reads the module's params and what it needs of gmond's own config. */
static int configure(struct instance *p) {
  p->interval = 10;
  fc_params_default(&p->fc);
  apr_array_header_t *list = patmon_module.module_params_list;
  for (int i = 0; list && i < list->nelts; i++) {
    const mmparam *m = &((const mmparam *)list->elts)[i];
    if (set_option(p, m->name, m->value ? m->value : "") < 0)
      return -1;
  }
  const struct {
    char **field;
    const char *value;
  } defaults[] = {
      {(char **)&p->fo.patterns, PM_PATTERN_FILE},
      {(char **)&p->fo.entries_file, "/var/lib/ganglia/patmon/entries.json"},
      {&p->forecast, "load_one cpu_idle"},
  };
  for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
    if (!*defaults[i].field &&
        !(*defaults[i].field = strdup(defaults[i].value)))
      return -1;
  if (p->fo.socket && !p->fo.socket[0]) { /* "": none, as for entries_file */
    free((char *)p->fo.socket);
    p->fo.socket = NULL;
  }
  if (p->fo.socket && p->fo.socket[0] != '/') {
    err_msg(MODULE ": param event_socket \"%s\": must be an absolute path",
            p->fo.socket);
    return -1;
  }
  if (p->dmax > 0 && p->dmax < 2 * p->interval) {
    err_msg(MODULE ": param dmax %d is less than two intervals (%d s): "
                   "metrics would leave gmond between reads",
            p->dmax, 2 * p->interval);
    return -1;
  }
  fl_opts_t fo = follow_opts(p);
  fl_opts_defaults(&fo);
  if (fo.max_delay_ms < fo.debounce_ms) {
    err_msg(MODULE ": param event_max_delay %d is shorter than "
                   "event_debounce %d",
            fo.max_delay_ms, fo.debounce_ms);
    return -1;
  }
  if (split_globs(p) < 0)
    return -1;
  fc_error_t fe;
  if (has_globs(p) && fc_params_check(&p->fc, &fe) < 0) {
    err_msg(MODULE ": forecast params: %s", fe.msg);
    return -1;
  }
  cfg_t *globals = cfg_getsec(patmon_module.config_file, "globals");
  p->mute = globals && cfg_getbool(globals, "mute");
  return 0;
}

/* gmond drops root after init when setuid is on: the entries file's
 * directory, when the module made it, goes to gmond's user. */
static void give_entries_dir(const struct instance *p, bool existed) {
  cfg_t *globals = cfg_getsec(patmon_module.config_file, "globals");
  if (existed || !p->fo.entries_file[0] || !globals ||
      !cfg_getbool(globals, "setuid"))
    return;
  const char *user = cfg_getstr(globals, "user");
  struct passwd *pw = user ? getpwnam(user) : NULL;
  char dir[4096];
  snprintf(dir, sizeof(dir), "%s", p->fo.entries_file);
  char *slash = strrchr(dir, '/');
  if (!pw || !slash)
    return;
  *slash = '\0';
  if (chown(dir, pw->pw_uid, pw->pw_gid) < 0)
    err_msg(MODULE ": cannot give %s to %s: %s", dir, user, strerror(errno));
}

static bool dir_exists(const char *file) {
  char dir[4096];
  snprintf(dir, sizeof(dir), "%s", file);
  char *slash = strrchr(dir, '/');
  struct stat st;
  if (!slash)
    return true;
  *slash = '\0';
  return stat(dir[0] ? dir : "/", &st) == 0;
}

/* The module's own metrics, declared to gmond, each read from its counter
 * (the library names them; the module counts). */
static int declare(struct instance *p, apr_pool_t *pool) {
  const struct {
    const char *name;
    const uint32_t *counter;
  } counters[] = {
      {"patmon_entries", &p->entries},        {"patmon_metrics", &p->metrics},
      {"patmon_expansions", &p->expansions},  {"patmon_events", &p->events},
      {"patmon_dropped_events", &p->dropped}, {"patmon_expansion_ms", NULL}};
  size_t n;
  const pat_gmond_self_t *self = pat_gmond_self_metrics(&n);
  if (n >= sizeof(p->info) / sizeof(p->info[0]))
    return -1;
  for (size_t i = 0; i < n; i++) {
    size_t k = 0;
    while (k < sizeof(counters) / sizeof(counters[0]) &&
           strcmp(counters[k].name, self[i].name) != 0)
      k++;
    if (k == sizeof(counters) / sizeof(counters[0]) ||
        self[i].is_float != !counters[k].counter) {
      err_msg(MODULE ": no counter for %s", self[i].name);
      return -1;
    }
    p->source[i] = counters[k].counter;
    p->info[i] = (Ganglia_25metric){.name = (char *)self[i].name,
                                    .tmax = 90,
                                    .type = self[i].is_float
                                                ? GANGLIA_VALUE_FLOAT
                                                : GANGLIA_VALUE_UNSIGNED_INT,
                                    .units = (char *)self[i].units,
                                    .slope = (char *)self[i].slope,
                                    .fmt = self[i].is_float ? "%.1f" : "%u",
                                    .msg_size = UDP_HEADER_SIZE + 8,
                                    .desc = (char *)self[i].desc};
    MMETRIC_INIT_METADATA(&p->info[i], pool);
    MMETRIC_ADD_METADATA(&p->info[i], MGROUP, "patmon");
  }
  patmon_module.metrics_info = p->info;
  return 0;
}

/* gmond calls init after it has daemonized (threads survive) and before it
 * drops root (the event socket and the entries file's directory are made
 * as root). The first expansion runs here, before gmond's main loop starts;
 * every later one on the module's thread. On error it logs why (a bad
 * pattern file with file:line) and returns non-zero: gmond then logs that
 * the module failed to initialize and runs without it. */
static int init(apr_pool_t *pool) {
  struct instance *p = calloc(1, sizeof(*p));
  if (!p || configure(p) < 0)
    goto fail;
  pm_error_t err = {0};
  char msg[1200], why[HP_WHY_MAX];
  bool existed = !p->fo.entries_file[0] || dir_exists(p->fo.entries_file);
  fl_opts_t fo = follow_opts(p);
  int r = fl_new(&fo, &p->follow, why, sizeof(why));
  if (r < 0) {
    err_msg(MODULE ": cannot watch for events: %s", why);
    goto fail;
  }
  if (fl_start(p->follow, &err) < 0) {
    err_msg(MODULE ": %s", pm_error_str(&err, msg, sizeof(msg)));
    goto fail;
  }
  p->mon = fl_monitor(p->follow);
  give_entries_dir(p, existed);
  rd_opts_t ro = {.interval = p->interval, .quick_second = true};
  if (rd_reader_new(&ro, &p->reader) < 0 ||
      rd_gmond_new(p->dmax ? 1 : ANNOUNCE_EVERY, &p->conv) < 0)
    goto fail;
  if (has_globs(p) && (!(p->fcs = fc_set_new(&p->fc, sizeof(double))) ||
                       !(p->fcm = fc_model_new(&p->fc))))
    goto fail;
  /* libganglia initializes APR on its first pool: let that happen here,
   * on gmond's thread, rather than on the module's. */
  Ganglia_pool first = Ganglia_pool_create(NULL);
  if (!first)
    goto fail;
  Ganglia_pool_destroy(first);
  if (apr_pool_create_unmanaged_ex(&p->pool, NULL, NULL) != APR_SUCCESS)
    goto fail;
  p->channels = Ganglia_udp_send_channels_create(
      (Ganglia_pool)p->pool, (Ganglia_gmond_config)patmon_module.config_file);
  if (!p->channels || p->mute)
    err_msg(MODULE ": %s: entries are watched, nothing is published",
            p->mute ? "gmond is mute" : "no udp_send_channel");
  if (declare(p, pool) < 0)
    goto fail;
  pat_entries_t *e = pat_monitor_entries(p->mon);
  p->entries = (uint32_t)pat_entries_count(e);
  pat_entries_free(e);
  /* Signals are gmond's: the follower's thread takes none. */
  r = fl_run(p->follow, NULL, "patmon", step, p);
  if (r != 0) {
    err_msg(MODULE ": cannot start its thread: %s", strerror(r));
    goto fail;
  }
  the = p;
  fl_describe(p->follow, msg, sizeof(msg));
  err_msg(MODULE ": %s; forecasts of \"%s\"", msg, p->fcs ? p->forecast : "");
  return 0;
fail:
  instance_free(p);
  patmon_module.metrics_info = NULL;
  return 1;
}

static void cleanup(void) {
  bool had = the != NULL;
  instance_free(the);
  the = NULL;
  /* One line at the end of a clean stop: what follows (gmond's own exit)
   * is gmond's. */
  if (had)
    err_msg(MODULE ": stopped");
}

mmodule patmon_module = {STD_MMODULE_STUFF, init, cleanup, NULL, handler};
