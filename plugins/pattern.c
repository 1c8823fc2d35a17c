/* pattern: the collectd plugin that monitors what a pattern file expands to
 * and follows hotplug and HA events without a restart.
 *
 *   <Plugin pattern>
 *     PatternFile    PM_PATTERN_FILE (SYSCONFDIR/patmon/patterns.conf)
 *     EntriesFile    "/var/lib/collectd/patmon/entries.json"
 *     EventSocket    "/run/patmon/events.sock"
 *     EventSocketGroup "haclient"
 *     RescanInterval 300
 *     Node           "node1"
 *   </Plugin>
 *
 * A shell: the pattern library lists, expands and reads; the hotplug library
 * says when to look again. Expansion runs on a thread of its own; the read
 * callback only reads the current entry set. See collectd-patmon(5). */
#include "collectd.h"
#include "plugin.h"
#include "utils/common/common.h"

#include "hotplug/hotplug.h"
#include "pattern.h"
#include "plugins/relist.h"

#define PLUGIN "pattern"

struct instance {
  char *patterns, *entries_file, *socket, *socket_group, *node;
  int rescan_s, debounce_ms, max_delay_ms;
  cdtime_t interval;  /* of the read callback: a divisor of every interval */
  cdtime_t global;    /* collectd's own interval, for entries without one */
  pat_monitor_t *mon; /* made by the worker; published with release */
  pat_reader_t *reader;
  /* The reader and the meta data cache: the read callback reads on
   * schedule, the worker reads new entries at once. */
  pthread_mutex_t read_lock;
  hp_watch_t *watch;
  hp_drops_t drops; /* the worker's */
  pthread_t worker;
  bool started, stop; /* stop: atomic */
  /* the entry whose meta data was made last, reused for its value lists */
  const pat_entry_t *meta_entry;
  meta_data_t *meta;
  /* the plugin's own activity, written by the worker (atomics) */
  uint64_t expansions, events, dropped;
  uint64_t last_us;
};

/* Readings and timers use the monotonic clock: a step of the wall clock
 * must neither stop them nor fire every rescan at once. */
static double mono_s(void) { return (double)pm_now_ns() / 1e9; }

static void instance_free(void *arg) {
  struct instance *p = arg;
  if (!p)
    return;
  if (p->started) {
    __atomic_store_n(&p->stop, true, __ATOMIC_RELEASE);
    hp_watch_wake(p->watch);
    pthread_join(p->worker, NULL);
  }
  hp_watch_free(p->watch);
  pat_reader_free(p->reader);
  pat_monitor_free(p->mon);
  meta_data_destroy(p->meta);
  pthread_mutex_destroy(&p->read_lock);
  free(p->patterns);
  free(p->entries_file);
  free(p->socket);
  free(p->socket_group);
  free(p->node);
  free(p);
}

static void log_refresh(const struct instance *p, const pat_refresh_t *info) {
  char msg[1200];
  if (info->reload_error < 0)
    ERROR(PLUGIN " plugin: %s; keeping the last good patterns",
          pm_error_str(&info->err, msg, sizeof(msg)));
  if (info->match_errors)
    ERROR(PLUGIN " plugin: %s (%u value%s in this expansion)",
          pm_error_str(&info->match_err, msg, sizeof(msg)), info->match_errors,
          info->match_errors == 1 ? "" : "s");
  if (info->write_error < 0)
    ERROR(PLUGIN " plugin: %s: cannot write: %s; monitoring goes on, the "
                 "file is written again once it can be",
          p->entries_file, STRERROR(-info->write_error));
  if (info->written_again)
    INFO(PLUGIN " plugin: %s written again", p->entries_file);
  if (info->reloaded)
    INFO(PLUGIN " plugin: pattern file reloaded");
  if (info->gone || info->added)
    INFO(PLUGIN " plugin: %zu entries (%zu new, %zu gone) in %.1f ms",
         info->entries, info->added, info->gone, info->scan_ms);
}

/* A reload may ask for intervals the read callback, registered at start,
 * cannot honour: say so once per set. */
static void check_intervals(struct instance *p) {
  long base = (long)CDTIME_T_TO_MS(p->global);
  long want = pat_set_interval_gcd(pat_monitor_set(p->mon), base);
  if (want % (long)CDTIME_T_TO_MS(p->interval) != 0)
    WARNING(PLUGIN " plugin: the reloaded patterns need reads every %ld ms, "
                   "but this plugin reads every %.3f s since start; restart "
                   "collectd to apply their intervals",
            want, CDTIME_T_TO_DOUBLE(p->interval));
}

static int dispatch(const pat_value_t *v, void *ud);
static void release_meta(struct instance *p);

/* New entries are read now, not at the next read: their first values
 * reach collectd's cache within milliseconds of the event. */
static void read_new(struct instance *p) {
  pat_entries_t *e = pat_monitor_entries(p->mon);
  pthread_mutex_lock(&p->read_lock);
  int r = pat_reader_read_new(p->reader, e, mono_s(), dispatch, p);
  release_meta(p);
  pthread_mutex_unlock(&p->read_lock);
  pat_entries_free(e);
  if (r < 0)
    ERROR(PLUGIN " plugin: reading new entries failed: %s", STRERROR(-r));
}

static void refresh(struct instance *p, unsigned classes) {
  pat_refresh_t info;
  int r = pat_monitor_refresh(p->mon, classes, &info);
  if (r == 0 && info.added)
    read_new(p);
  if (r == 0 && info.reloaded)
    check_intervals(p);
  if (classes) {
    __atomic_add_fetch(&p->expansions, 1, __ATOMIC_RELAXED);
    __atomic_store_n(&p->last_us, (uint64_t)(info.scan_ms * 1000),
                     __ATOMIC_RELAXED);
  }
  if (r < 0)
    ERROR(PLUGIN " plugin: looking again failed: %s; keeping the last entries",
          STRERROR(-r));
  else
    log_refresh(p, &info);
}

/* Expansion happens here, never on collectd's read or write threads:
 * after events (coalesced by the hotplug library), every interval for
 * processes, and every RescanInterval for everything. */
static bool stopping(struct instance *p) {
  return __atomic_load_n(&p->stop, __ATOMIC_ACQUIRE);
}

/* The first expansion (it may run crm_mon, cibadmin, a D-Bus call) is done
 * here, not on a read thread. Until the pattern file works it is retried
 * every interval; each distinct error is logged once. */
static bool first_expansion(struct instance *p) {
  pat_monitor_opts_t mo = {.patterns = p->patterns,
                           .entries_file = p->entries_file,
                           .scan = {.node = p->node}};
  char msg[1200], last[1200] = "";
  while (!stopping(p)) {
    pm_error_t err = {0};
    pat_monitor_t *m = NULL;
    if (pat_monitor_new(&mo, &m, &err) == 0) {
      __atomic_store_n(&p->mon, m, __ATOMIC_RELEASE);
      pat_entries_t *e = pat_monitor_entries(m);
      INFO(PLUGIN " plugin: %zu entries from %s; %s events%s%s",
           pat_entries_count(e), p->patterns, hp_watch_udev_kind(p->watch),
           p->socket ? ", socket " : "", p->socket ? p->socket : "");
      pat_entries_free(e);
      return true;
    }
    pm_error_str(&err, msg, sizeof(msg));
    if (strcmp(msg, last) != 0)
      ERROR(PLUGIN " plugin: %s; trying again every interval", msg);
    snprintf(last, sizeof(last), "%s", msg);
    hp_batch_t b;
    hp_watch_next(p->watch, (int)CDTIME_T_TO_MS(p->global), &b);
  }
  return false;
}

static void *worker(void *arg) {
  struct instance *p = arg;
  hp_batch_t *b = malloc(sizeof(*b)); /* ~16 KiB: not on the stack */
  double interval = CDTIME_T_TO_DOUBLE(p->global);
  if (!b) {
    ERROR(PLUGIN " plugin: out of memory: not following events");
    return NULL;
  }
  if (!first_expansion(p)) {
    free(b);
    return NULL;
  }
  double now = mono_s();
  double next_full = now + p->rescan_s, next_quick = now + interval;
  while (!stopping(p)) {
    now = mono_s();
    double wake = next_quick < next_full ? next_quick : next_full;
    int timeout = wake > now ? (int)((wake - now) * 1000) + 1 : 0;
    int r = hp_watch_next(p->watch, timeout, b);
    if (stopping(p))
      break;
    if (r < 0) {
      ERROR(PLUGIN " plugin: waiting for events failed: %s", STRERROR(-r));
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
      WARNING(PLUGIN " plugin: event socket: %s", line);
    now = mono_s();
    if (now >= next_full) {
      classes = PAT_ALL_CLASSES;
      next_full = now + p->rescan_s;
    }
    if (now >= next_quick) {
      /* Processes come and go without events: a /proc scan is cheap. The
       * pattern file is checked too. */
      classes |= 1u << PAT_PROCESS;
      next_quick = now + interval;
    }
    if (r == HP_NEXT_BATCH || classes)
      refresh(p, classes & pat_monitor_classes(p->mon));
  }
  free(b);
  return NULL;
}

static hp_config_t watch_config(const struct instance *p) {
  return (hp_config_t){.sources = HP_SRC_UDEV | HP_SRC_MOUNTS |
                                  (p->socket ? HP_SRC_SOCKET : 0),
                       .socket_path = p->socket,
                       .socket_group = p->socket_group,
                       .debounce_ms = p->debounce_ms,
                       .max_delay_ms = p->max_delay_ms};
}

/* Starts in the first read, after collectd has daemonized: threads made
 * before the fork would not survive it. What fails here is undone, so the
 * next read tries again from scratch. */
static int start(struct instance *p) {
  char why[HP_WHY_MAX];
  pat_read_opts_t ro = {.interval = CDTIME_T_TO_DOUBLE(p->global),
                        .sparse = true};
  hp_config_t hc = watch_config(p);
  hp_drops_init(&p->drops, 0);
  if (pat_reader_new(&ro, &p->reader) < 0) {
    ERROR(PLUGIN " plugin: out of memory");
    return -1;
  }
  int r = hp_watch_new(&hc, &p->watch, why, sizeof(why));
  if (r < 0) {
    ERROR(PLUGIN " plugin: cannot watch for events: %s", why);
    goto fail;
  }
  r = plugin_thread_create(&p->worker, worker, p, "pattern events");
  if (r != 0) {
    ERROR(PLUGIN " plugin: cannot start its thread: %s", STRERROR(r));
    goto fail;
  }
  p->started = true;
  return 0;
fail:
  hp_watch_free(p->watch);
  pat_reader_free(p->reader);
  p->watch = NULL;
  p->reader = NULL;
  return -1;
}

static int dispatch(const pat_value_t *v, void *ud) {
  struct instance *p = ud;
  value_t values[PAT_VALUES_MAX];
  value_list_t vl = VALUE_LIST_INIT;
  for (unsigned i = 0; i < v->nvalues; i++) {
    if (v->derive)
      values[i].derive = (derive_t)v->counter[i];
    else
      values[i].gauge = (gauge_t)v->gauge[i];
  }
  vl.values = values;
  vl.values_len = v->nvalues;
  sstrncpy(vl.plugin, v->plugin, sizeof(vl.plugin));
  sstrncpy(vl.plugin_instance, v->plugin_instance, sizeof(vl.plugin_instance));
  sstrncpy(vl.type, v->type, sizeof(vl.type));
  sstrncpy(vl.type_instance, v->type_instance, sizeof(vl.type_instance));
  if (v->entry->interval > 0)
    vl.interval = TIME_T_TO_CDTIME_T(v->entry->interval);
  if (p->meta_entry != v->entry) {
    meta_data_destroy(p->meta);
    p->meta = meta_data_create();
    p->meta_entry = v->entry;
    /* One key: collectd clones meta data for every value list, which is
     * most of this plugin's cost per value. */
    if (p->meta)
      meta_data_add_string(p->meta, "patmon:pattern", v->entry->pattern);
  }
  vl.meta = p->meta;
  return plugin_dispatch_values(&vl);
}

/* The plugin's own activity, as pattern/count-entries,
 * pattern/operations-{expansions,events,dropped_events} and
 * pattern/duration-expansion (the last one, seconds). */
static void dispatch_self(struct instance *p, const pat_entries_t *e) {
  static const struct {
    const char *type, *tinst;
    bool derive;
  } self[] = {{"count", "entries", false},
              {"operations", "expansions", true},
              {"operations", "events", true},
              {"operations", "dropped_events", true},
              {"duration", "expansion", false}};
  double v[] = {(double)pat_entries_count(e),
                (double)__atomic_load_n(&p->expansions, __ATOMIC_RELAXED),
                (double)__atomic_load_n(&p->events, __ATOMIC_RELAXED),
                (double)__atomic_load_n(&p->dropped, __ATOMIC_RELAXED),
                (double)__atomic_load_n(&p->last_us, __ATOMIC_RELAXED) / 1e6};
  for (size_t i = 0; i < sizeof(self) / sizeof(self[0]); i++) {
    value_t value;
    value_list_t vl = VALUE_LIST_INIT;
    if (self[i].derive)
      value.derive = (derive_t)v[i];
    else
      value.gauge = v[i];
    vl.values = &value;
    vl.values_len = 1;
    sstrncpy(vl.plugin, PLUGIN, sizeof(vl.plugin));
    sstrncpy(vl.type, self[i].type, sizeof(vl.type));
    sstrncpy(vl.type_instance, self[i].tinst, sizeof(vl.type_instance));
    plugin_dispatch_values(&vl);
  }
}

static void release_meta(struct instance *p) {
  meta_data_destroy(p->meta);
  p->meta = NULL;
  p->meta_entry = NULL;
}

static int pattern_read(user_data_t *ud) {
  struct instance *p = ud->data;
  if (!p->started && start(p) < 0)
    return -1;
  pat_monitor_t *mon = __atomic_load_n(&p->mon, __ATOMIC_ACQUIRE);
  if (!mon)
    return 0; /* the first expansion is still running */
  pat_entries_t *e = pat_monitor_entries(mon);
  dispatch_self(p, e);
  pthread_mutex_lock(&p->read_lock);
  int r = pat_reader_read(p->reader, e, mono_s(), dispatch, p);
  release_meta(p);
  pthread_mutex_unlock(&p->read_lock);
  pat_entries_free(e);
  if (r < 0) {
    ERROR(PLUGIN " plugin: reading values failed: %s", STRERROR(-r));
    return -1;
  }
  return 0;
}

/* Options: one row each. */
enum opt_kind { OPT_STRING, OPT_INT };
static const struct {
  const char *name;
  enum opt_kind kind;
  size_t offset;
  int min, max;
} options[] = {
    {"PatternFile", OPT_STRING, offsetof(struct instance, patterns), 0, 0},
    {"EntriesFile", OPT_STRING, offsetof(struct instance, entries_file), 0, 0},
    {"EventSocket", OPT_STRING, offsetof(struct instance, socket), 0, 0},
    {"EventSocketGroup", OPT_STRING, offsetof(struct instance, socket_group), 0,
     0},
    {"Node", OPT_STRING, offsetof(struct instance, node), 0, 0},
    {"RescanInterval", OPT_INT, offsetof(struct instance, rescan_s), 1, 86400},
    {"EventDebounce", OPT_INT, offsetof(struct instance, debounce_ms), 1,
     60000},
    {"EventMaxDelay", OPT_INT, offsetof(struct instance, max_delay_ms), 1,
     600000},
};

static int set_option(struct instance *p, oconfig_item_t *ci) {
  for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++) {
    if (strcasecmp(ci->key, options[i].name) != 0)
      continue;
    void *field = (char *)p + options[i].offset;
    if (options[i].kind == OPT_STRING)
      return cf_util_get_string(ci, field);
    int v;
    if (cf_util_get_int(ci, &v) != 0)
      return -1;
    if (v < options[i].min || v > options[i].max) {
      ERROR(PLUGIN " plugin: %s %d: must be %d to %d", ci->key, v,
            options[i].min, options[i].max);
      return -1;
    }
    *(int *)field = v;
    return 0;
  }
  ERROR(PLUGIN " plugin: unknown option \"%s\"", ci->key);
  return -1;
}

/* Whether collectd called pattern_config: it does only for a <Plugin
 * pattern> block, and the callback has no user data to say so. */
static bool configured;

/* Checks everything an operator wrote, so `collectd -t` reports it; starts
 * nothing (see start()). */
static int pattern_config(oconfig_item_t *ci) {
  configured = true;
  struct instance *p = calloc(1, sizeof(*p));
  if (!p)
    return -1;
  pthread_mutex_init(&p->read_lock, NULL);
  p->rescan_s = 300;
  p->debounce_ms = HP_HOST_DEBOUNCE_MS;
  p->max_delay_ms = HP_HOST_MAX_DELAY_MS;
  for (int i = 0; i < ci->children_num; i++)
    if (set_option(p, &ci->children[i]) != 0)
      goto fail;
  if (!p->patterns && !(p->patterns = strdup(PM_PATTERN_FILE)))
    goto fail;
  if (!p->entries_file &&
      !(p->entries_file = strdup("/var/lib/collectd/patmon/entries.json")))
    goto fail;
  if (p->socket && p->socket[0] != '/') {
    ERROR(PLUGIN " plugin: EventSocket \"%s\": must be an absolute path",
          p->socket);
    goto fail;
  }
  if (p->max_delay_ms < p->debounce_ms) {
    ERROR(PLUGIN " plugin: EventMaxDelay %d is shorter than EventDebounce %d",
          p->max_delay_ms, p->debounce_ms);
    goto fail;
  }
  /* What the event watch will need, checked now: a group that does not
   * exist would otherwise only fail in the first read, every read. */
  char why[HP_WHY_MAX];
  hp_config_t hc = watch_config(p);
  if (hp_config_validate(&hc, why, sizeof(why)) < 0) {
    ERROR(PLUGIN " plugin: %s", why);
    goto fail;
  }
  pat_set_t *set = NULL;
  pm_error_t err = {0};
  char msg[1200];
  if (pat_set_load(p->patterns, &set, &err) < 0) {
    ERROR(PLUGIN " plugin: %s", pm_error_str(&err, msg, sizeof(msg)));
    goto fail;
  }
  /* Read at a divisor of every interval asked for, so each entry is read on
   * time; entries without one are read at collectd's interval. */
  p->global = plugin_get_interval();
  p->interval = MS_TO_CDTIME_T(
      pat_set_interval_gcd(set, (long)CDTIME_T_TO_MS(p->global)));
  pat_set_free(set);
  user_data_t ud = {.data = p, .free_func = instance_free};
  return plugin_register_complex_read(NULL, PLUGIN, pattern_read, p->interval,
                                      &ud);
fail:
  instance_free(p);
  return -1;
}

/* `LoadPlugin pattern` without a block: the defaults, as an empty block
 * would give, and one line that says so (or why nothing is monitored). */
static int pattern_init(void) {
  if (configured)
    return 0;
  oconfig_item_t empty = {.key = "Plugin"};
  if (pattern_config(&empty) != 0) {
    ERROR(PLUGIN " plugin: loaded without a <Plugin pattern> block, and the "
                 "defaults do not work (above): nothing is monitored");
    return -1;
  }
  INFO(PLUGIN " plugin: loaded without a <Plugin pattern> block: patterns "
              "from /etc/patmon/patterns.conf, entries in "
              "/var/lib/collectd/patmon/entries.json");
  return 0;
}

void module_register(void) {
  plugin_register_complex_config(PLUGIN, pattern_config);
  plugin_register_init(PLUGIN, pattern_init);
}
