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
 * A shell: the pattern library lists, expands, reads and names; the hotplug
 * library says when to look again; the forecast library forecasts. All of
 * that runs on the module's thread: gmond's main loop only reads counters. */
#include "config.h"

#include "forecast.h"
#include "hotplug/hotplug.h"
#include "pattern.h"
#include "plugins/relist.h"

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
  char *patterns, *entries_file, *socket, *socket_group, *node;
  int interval, dmax, rescan_s, debounce_ms, max_delay_ms;
  char *forecast;  /* globs over metric names, blank-separated */
  char **fc_globs; /* split once: NULL-ended, into fc_glob_buf */
  char *fc_glob_buf;
  fc_params_t fc;
  /* the libraries */
  pat_monitor_t *mon;
  pat_reader_t *reader;
  pat_gmond_t *conv;
  hp_watch_t *watch;
  hp_drops_t drops; /* the worker's */
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
  pthread_t worker;
  bool started, stop;
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
static void forecast(struct cycle *c, const pat_gmetric_t *m) {
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

static int on_metric(const pat_gmetric_t *m, void *ud) {
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

static int on_value(const pat_value_t *v, void *ud) {
  struct cycle *c = ud;
  int r =
      pat_gmond_convert(c->p->conv, v, c->now, c->p->interval, on_metric, c);
  return r < 0 ? r : 0;
}

/* Reads what is due and pushes it. Returns true when counters were only
 * primed: a quick second read gives their first rates. */
static bool read_cycle(struct instance *p, double now, bool on_grid) {
  struct cycle c;
  if (!cycle_begin(p, now, on_grid, &c))
    return false;
  pat_entries_t *e = pat_monitor_entries(p->mon);
  int r = pat_reader_read(p->reader, e, now, on_value, &c);
  if (r < 0)
    err_msg(MODULE ": reading values failed: %s", strerror(-r));
  if (on_grid && p->fcs) {
    pat_reader_read_node(p->reader, on_value, &c);
    fc_set_refit(p->fcs, p->fcm);
    fc_set_evict(p->fcs, now);
  }
  pat_entries_free(e);
  cycle_end(&c);
  if (on_grid) /* a read after an event sends only what it concerns */
    __atomic_store_n(&p->metrics, c.sent, __ATOMIC_RELAXED);
  char first[PAT_GMETRIC_NAME_MAX * 3];
  unsigned clashes = pat_gmond_take_clashes(p->conv, first, sizeof(first));
  if (clashes)
    err_msg(MODULE ": %u metric name%s two entries would share; the entry "
                   "seen first keeps each (patmon-expand -f gmond marks "
                   "them). First: %s",
            clashes, clashes == 1 ? "" : "s", first);
  return pat_gmond_take_primed(p->conv) > 0;
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

/* Re-expands; retires the metrics of entries that went away. Returns true
 * when the entries changed: a read then starts new entries at once and
 * makes the reader forget those that went (one may come back under its
 * name before the next regular read). */
static bool refresh(struct instance *p, unsigned classes) {
  pat_refresh_t info;
  int r = pat_monitor_refresh(p->mon, classes, &info);
  if (classes) {
    __atomic_add_fetch(&p->expansions, 1, __ATOMIC_RELAXED);
    __atomic_store_n(&p->expansion_us, (uint64_t)(info.scan_ms * 1000),
                     __ATOMIC_RELAXED);
  }
  if (r < 0) {
    err_msg(MODULE ": looking again failed: %s; keeping the last entries",
            strerror(-r));
    return false;
  }
  char msg[1200];
  if (info.reload_error < 0)
    err_msg(MODULE ": %s; keeping the last good patterns",
            pm_error_str(&info.err, msg, sizeof(msg)));
  if (info.match_errors)
    err_msg(MODULE ": %s (%u value%s in this expansion)",
            pm_error_str(&info.match_err, msg, sizeof(msg)), info.match_errors,
            info.match_errors == 1 ? "" : "s");
  if (info.write_error < 0)
    err_msg(MODULE ": %s: cannot write: %s; monitoring goes on, the file is "
                   "written again once it can be",
            p->entries_file, strerror(-info.write_error));
  if (info.written_again)
    err_msg(MODULE ": %s written again", p->entries_file);
  if (info.reloaded)
    err_msg(MODULE ": pattern file reloaded");
  __atomic_store_n(&p->entries, (uint32_t)info.entries, __ATOMIC_RELAXED);
  if (!info.changed)
    return false;
  err_msg(MODULE ": %zu entries (%zu new, %zu gone) in %.1f ms", info.entries,
          info.added, info.gone, info.scan_ms);
  if (info.gone) {
    struct cycle c;
    pat_entries_t *e = pat_monitor_entries(p->mon);
    if (cycle_begin(p, now_s(), false, &c)) {
      if (pat_gmond_retire(p->conv, e, tombstone, &c) < 0)
        err_msg(MODULE ": out of memory retiring metrics");
      cycle_end(&c);
    }
    pat_entries_free(e);
  }
  return true;
}

/* Expansion, reads and sends all happen here: after events (coalesced by
 * the hotplug library), every interval (processes are listed again, the
 * pattern file checked), and every rescan_interval for everything. A new
 * entry is read at once and again a second later, so it shows in gmond
 * with rates within about a second of its event. */
static void *worker(void *arg) {
  struct instance *p = arg;
  hp_batch_t *b = malloc(sizeof(*b)); /* ~16 KiB: not on the stack */
  double now = now_s();
  /* gmond binds its udp_recv_channels after the modules' init: the first
   * read (whose metadata this gmond must hear) waits a moment. */
  double next_grid = now + QUICK_READ_S, next_full = now + p->rescan_s,
         next_quick = 0;
  if (!b)
    return NULL;
  while (!__atomic_load_n(&p->stop, __ATOMIC_ACQUIRE)) {
    now = now_s();
    double wake = next_grid < next_full ? next_grid : next_full;
    if (next_quick > 0 && next_quick < wake)
      wake = next_quick;
    int timeout = wake > now ? (int)((wake - now) * 1000) + 1 : 0;
    int r = hp_watch_next(p->watch, timeout, b);
    if (__atomic_load_n(&p->stop, __ATOMIC_ACQUIRE))
      break;
    if (r < 0) {
      err_msg(MODULE ": waiting for events failed: %s", strerror(-r));
      sleep(1);
      continue;
    }
    unsigned classes = 0;
    if (r == HP_NEXT_BATCH) {
      __atomic_add_fetch(&p->events, b->events, __ATOMIC_RELAXED);
      __atomic_add_fetch(&p->dropped, b->dropped, __ATOMIC_RELAXED);
      pm_relist_resources(p->mon, b);
      classes = pm_relist_classes(b->kinds);
    }
    char line[512];
    if (hp_drops_report(&p->drops, r == HP_NEXT_BATCH ? b : NULL, pm_now_ns(),
                        line, sizeof(line)))
      err_msg(MODULE ": event socket: %s", line);
    now = now_s();
    if (now >= next_full) {
      classes = PAT_ALL_CLASSES;
      next_full = now + p->rescan_s;
    }
    bool on_grid = now >= next_grid;
    if (on_grid) {
      classes |= 1u << PAT_PROCESS; /* processes come and go unannounced */
      while (next_grid <= now)
        next_grid += p->interval;
    }
    bool changed = false;
    if (r == HP_NEXT_BATCH || classes)
      changed = refresh(p, classes & pat_monitor_classes(p->mon));
    bool quick = next_quick > 0 && now >= next_quick;
    if (on_grid || changed || quick) {
      bool primed = read_cycle(p, now_s(), on_grid);
      if (primed)
        next_quick = now_s() + QUICK_READ_S;
      else if (quick || on_grid)
        next_quick = 0;
    }
  }
  free(b);
  return NULL;
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
  if (p->started) {
    __atomic_store_n(&p->stop, true, __ATOMIC_RELEASE);
    hp_watch_wake(p->watch);
    pthread_join(p->worker, NULL);
  }
  hp_watch_free(p->watch);
  pat_reader_free(p->reader);
  pat_gmond_free(p->conv);
  pat_monitor_free(p->mon);
  fc_model_free(p->fcm);
  fc_set_free(p->fcs);
  if (p->pool)
    apr_pool_destroy(p->pool); /* closes the send sockets */
  free(p->patterns);
  free(p->entries_file);
  free(p->socket);
  free(p->socket_group);
  free(p->node);
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
    {"patterns", OPT_STRING, offsetof(struct instance, patterns), 0, 0},
    {"entries_file", OPT_STRING, offsetof(struct instance, entries_file), 0, 0},
    {"event_socket", OPT_STRING, offsetof(struct instance, socket), 0, 0},
    {"event_socket_group", OPT_STRING, offsetof(struct instance, socket_group),
     0, 0},
    {"node", OPT_STRING, offsetof(struct instance, node), 0, 0},
    {"interval", OPT_INT, offsetof(struct instance, interval), 1, 3600},
    {"dmax", OPT_INT, offsetof(struct instance, dmax), 0, 86400},
    {"rescan_interval", OPT_INT, offsetof(struct instance, rescan_s), 1, 86400},
    {"event_debounce", OPT_INT, offsetof(struct instance, debounce_ms), 1,
     60000},
    {"event_max_delay", OPT_INT, offsetof(struct instance, max_delay_ms), 1,
     600000},
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

static int set_option(struct instance *p, const char *name, const char *val) {
  for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++) {
    if (strcasecmp(name, options[i].name) != 0)
      continue;
    void *field = (char *)p + options[i].offset;
    if (options[i].kind == OPT_STRING) {
      char **s = field;
      free(*s);
      return (*s = strdup(val)) ? 0 : -1;
    }
    if (options[i].kind == OPT_FAMILY) {
      if (fc_family_parse(val, field) == 0)
        return 0;
      err_msg(MODULE ": param %s \"%s\": use auto, ar, ma or arma", name, val);
      return -1;
    }
    char *end;
    errno = 0;
    double v = strtod(val, &end);
    bool integral = options[i].kind != OPT_DOUBLE;
    if (errno || end == val || *end || v < options[i].min ||
        v > options[i].max || (integral && v != floor(v))) {
      err_msg(MODULE ": param %s \"%s\": must be %s from %g to %g", name, val,
              integral ? "an integer" : "a number", options[i].min,
              options[i].max);
      return -1;
    }
    if (options[i].kind == OPT_INT)
      *(int *)field = (int)v;
    else if (options[i].kind == OPT_UINT)
      *(unsigned *)field = (unsigned)v;
    else
      *(double *)field = v;
    return 0;
  }
  err_msg(MODULE ": unknown param \"%s\"", name);
  return -1;
}

/* Reads the module's params and what it needs of gmond's own config. */
static int configure(struct instance *p) {
  p->interval = 10;
  p->rescan_s = 300;
  p->debounce_ms = HP_HOST_DEBOUNCE_MS;
  p->max_delay_ms = HP_HOST_MAX_DELAY_MS;
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
      {&p->patterns, PM_PATTERN_FILE},
      {&p->entries_file, "/var/lib/ganglia/patmon/entries.json"},
      {&p->forecast, "load_one cpu_idle"},
  };
  for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
    if (!*defaults[i].field &&
        !(*defaults[i].field = strdup(defaults[i].value)))
      return -1;
  if (p->socket && !p->socket[0]) { /* "": none, as for entries_file */
    free(p->socket);
    p->socket = NULL;
  }
  if (p->socket && p->socket[0] != '/') {
    err_msg(MODULE ": param event_socket \"%s\": must be an absolute path",
            p->socket);
    return -1;
  }
  if (p->dmax > 0 && p->dmax < 2 * p->interval) {
    err_msg(MODULE ": param dmax %d is less than two intervals (%d s): "
                   "metrics would leave gmond between reads",
            p->dmax, 2 * p->interval);
    return -1;
  }
  if (p->max_delay_ms < p->debounce_ms) {
    err_msg(MODULE ": param event_max_delay %d is shorter than "
                   "event_debounce %d",
            p->max_delay_ms, p->debounce_ms);
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
  if (existed || !p->entries_file[0] || !globals ||
      !cfg_getbool(globals, "setuid"))
    return;
  const char *user = cfg_getstr(globals, "user");
  struct passwd *pw = user ? getpwnam(user) : NULL;
  char dir[4096];
  snprintf(dir, sizeof(dir), "%s", p->entries_file);
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
  bool existed = !p->entries_file[0] || dir_exists(p->entries_file);
  pat_monitor_opts_t mo = {.patterns = p->patterns,
                           .entries_file =
                               p->entries_file[0] ? p->entries_file : NULL,
                           .scan = {.node = p->node}};
  if (pat_monitor_new(&mo, &p->mon, &err) < 0) {
    err_msg(MODULE ": %s", pm_error_str(&err, msg, sizeof(msg)));
    goto fail;
  }
  give_entries_dir(p, existed);
  pat_read_opts_t ro = {.interval = p->interval, .quick_second = true};
  if (pat_reader_new(&ro, &p->reader) < 0 ||
      pat_gmond_new(p->dmax ? 1 : ANNOUNCE_EVERY, &p->conv) < 0)
    goto fail;
  if (has_globs(p) && (!(p->fcs = fc_set_new(&p->fc, sizeof(double))) ||
                       !(p->fcm = fc_model_new(&p->fc))))
    goto fail;
  hp_config_t hc = {.sources = HP_SRC_UDEV | HP_SRC_MOUNTS |
                               (p->socket ? HP_SRC_SOCKET : 0),
                    .socket_path = p->socket,
                    .socket_group = p->socket_group,
                    .debounce_ms = p->debounce_ms,
                    .max_delay_ms = p->max_delay_ms};
  hp_drops_init(&p->drops, 0);
  int r = hp_watch_new(&hc, &p->watch, why, sizeof(why));
  if (r < 0) {
    err_msg(MODULE ": cannot watch for events: %s", why);
    goto fail;
  }
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
  /* Signals are gmond's: the module's thread takes none. */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  r = pthread_create(&p->worker, NULL, worker, p);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (r != 0) {
    err_msg(MODULE ": cannot start its thread: %s", strerror(r));
    goto fail;
  }
  p->started = true;
  the = p;
  err_msg(MODULE ": %u entries from %s; %s events%s%s; forecasts of \"%s\"",
          p->entries, p->patterns, hp_watch_udev_kind(p->watch),
          p->socket ? ", socket " : "", p->socket ? p->socket : "",
          p->fcs ? p->forecast : "");
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
