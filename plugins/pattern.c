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
 * A shell: the follower (follow/) watches for events and keeps the pattern
 * monitor current; the pattern library reads. The follower runs on a thread
 * of its own; the read callback only reads the current entry set. See
 * collectd-patmon(5). */
#include "collectd.h"
#include "plugin.h"
#include "utils/common/common.h"

#include "follow/follow.h"
#include "hotplug/hotplug.h"
#include "pattern.h"
#include "reading/reading.h"

#define PLUGIN "pattern"

struct instance {
  fl_opts_t fo;      /* its strings are the instance's */
  cdtime_t interval; /* of the read callback: a divisor of every interval */
  cdtime_t global;   /* collectd's own interval, for entries without one */
  fl_t *follow;
  pat_monitor_t *mon; /* the follower's, once it expanded: published with
                         release */
  rd_reader_t *reader;
  /* The reader and the meta data cache: the read callback reads on
   * schedule, the worker reads new entries at once. */
  pthread_mutex_t read_lock;
  bool started; /* start() done */
  /* the entry whose meta data was made last, reused for its value lists */
  const pat_entry_t *meta_entry;
  meta_data_t *meta;
  /* The pattern set's digest: its first 32 bits for pattern/gauge-digest
   * (bit 32 set once known; atomic), and on the follower's thread the one
   * attrd_updater took and the last failure reported. */
  uint64_t digest_gauge;
  char published[PAT_DIGEST_HEX + 1];
  double retry_at, retry_s; /* a failed publication is tried again then
                               (monotonic s; 0: not due), every 5 s
                               doubling up to the rescan interval */
  char warned[PAT_DIGEST_HEX + 1];
};

/* Readings and timers use the monotonic clock: a step of the wall clock
 * must neither stop them nor fire every rescan at once. */
static double mono_s(void) { return (double)pm_now_ns() / 1e9; }

static void instance_free(void *arg) {
  struct instance *p = arg;
  if (!p)
    return;
  fl_free(p->follow); /* stops its thread first */
  rd_reader_free(p->reader);
  meta_data_destroy(p->meta);
  pthread_mutex_destroy(&p->read_lock);
  fl_opts_clear(&p->fo);
  free(p);
}

static void log_line(enum fl_level level, const char *line, void *ud) {
  (void)ud;
  if (level == FL_ERROR)
    ERROR(PLUGIN " plugin: %s", line);
  else if (level == FL_WARNING)
    WARNING(PLUGIN " plugin: %s", line);
  else
    INFO(PLUGIN " plugin: %s", line);
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

static int dispatch(const rd_value_t *v, void *ud);
static void release_meta(struct instance *p);

/* New entries are read now, not at the next read: their first values
 * reach collectd's cache within milliseconds of the event. */
static void read_new(struct instance *p) {
  pat_entries_t *e = pat_monitor_entries(p->mon);
  pthread_mutex_lock(&p->read_lock);
  int r = rd_reader_read_new(p->reader, e, mono_s(), dispatch, p);
  release_meta(p);
  pthread_mutex_unlock(&p->read_lock);
  pat_entries_free(e);
  if (r < 0)
    ERROR(PLUGIN " plugin: reading new entries failed: %s", STRERROR(-r));
}

/* The pattern set's digest becomes the node attribute PAT_DIGEST_ATTR
 * (patmon-balance compares the nodes'): set when it changes, and again at
 * each full rescan (`again`), because Pacemaker drops a node's transient
 * attributes when the node leaves the cluster. A failure is tried again
 * soon (collectd usually starts before Pacemaker at boot), then less and
 * less often. Without Pacemaker (or attrd_updater) nothing is said;
 * another failure is said once per digest. On the follower's thread:
 * attrd_updater may take a while. */
static void digest_step(struct instance *p, fl_t *f, bool again) {
  const pat_set_t *set = pat_monitor_set(fl_monitor(f));
  char hex[PAT_DIGEST_HEX + 1], why[400];
  if (pat_set_digest(set, hex) < 0)
    return;
  __atomic_store_n(&p->digest_gauge, 1ull << 32 | pat_digest_gauge(hex),
                   __ATOMIC_RELEASE);
  bool changed = strcmp(hex, p->published) != 0;
  if (!changed && !again)
    return;
  const char *node = p->fo.node ? p->fo.node : pat_set_node(set);
  int r = pat_digest_publish(hex, node, 0, why, sizeof(why));
  if (r == 0 && changed)
    INFO(PLUGIN " plugin: pattern set digest %s published as node "
                "attribute " PAT_DIGEST_ATTR,
         hex);
  if (r == 0) {
    sstrncpy(p->published, hex, sizeof(p->published));
    p->retry_at = p->retry_s = 0;
  } else {
    int most = p->fo.rescan_s ? p->fo.rescan_s : FL_RESCAN_S;
    p->published[0] = '\0';
    p->retry_s = p->retry_s ? 2 * p->retry_s : 5;
    if (p->retry_s > most)
      p->retry_s = most;
    p->retry_at = mono_s() + p->retry_s;
  }
  if (r < 0 && r != -ENOENT && r != -ENOTCONN && strcmp(hex, p->warned)) {
    WARNING(PLUGIN " plugin: cannot publish the pattern set digest: %s", why);
    sstrncpy(p->warned, hex, sizeof(p->warned));
  }
}

/* Expansion happens on the follower's thread, never on collectd's read or
 * write threads; new entries are read at once. */
static double step(fl_t *f, const fl_step_t *s, void *ud) {
  struct instance *p = ud;
  bool reloaded = s->refreshed && s->rc == 0 && s->info.reloaded;
  bool retry = p->retry_at > 0 && mono_s() >= p->retry_at;
  if (s->started || reloaded || retry ||
      (s->refreshed && s->classes == PAT_ALL_CLASSES))
    digest_step(p, f, !s->started && !reloaded);
  if (s->started)
    __atomic_store_n(&p->mon, fl_monitor(f), __ATOMIC_RELEASE);
  if (s->refreshed && s->rc == 0 && s->info.added)
    read_new(p);
  if (s->refreshed && s->rc == 0 && s->info.reloaded)
    check_intervals(p);
  fl_step_lines(f, s, log_line, p);
  return p->retry_at;
}

static fl_opts_t follow_opts(const struct instance *p) {
  fl_opts_t fo = p->fo;
  fo.interval = CDTIME_T_TO_DOUBLE(p->global);
  return fo;
}

/* Starts in the first read, after collectd has daemonized: threads made
 * before the fork would not survive it. What fails here is undone, so the
 * next read tries again from scratch. */
static int start(struct instance *p) {
  char why[HP_WHY_MAX];
  rd_opts_t ro = {.interval = CDTIME_T_TO_DOUBLE(p->global), .sparse = true};
  fl_opts_t fo = follow_opts(p);
  if (rd_reader_new(&ro, &p->reader) < 0) {
    ERROR(PLUGIN " plugin: out of memory");
    return -1;
  }
  int r = fl_new(&fo, &p->follow, why, sizeof(why));
  if (r < 0) {
    ERROR(PLUGIN " plugin: cannot watch for events: %s", why);
    goto fail;
  }
  /* collectd's own thread maker hands the thread the plugin's context (its
   * interval for values dispatched there). */
  r = fl_run(p->follow, plugin_thread_create, "pattern events", step, p);
  if (r != 0) {
    ERROR(PLUGIN " plugin: cannot start its thread: %s", STRERROR(r));
    goto fail;
  }
  p->started = true;
  return 0;
fail:
  fl_free(p->follow);
  rd_reader_free(p->reader);
  p->follow = NULL;
  p->reader = NULL;
  return -1;
}

static int dispatch(const rd_value_t *v, void *ud) {
  struct instance *p = ud;
  value_t values[RD_VALUES_MAX];
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
 * pattern/operations-{expansions,events,dropped_events},
 * pattern/duration-expansion (the last one, seconds) and
 * pattern/gauge-digest (the pattern set digest's first 32 bits, an
 * integer below 2^32: nodes that watch alike show the same value). */
static void dispatch_self(struct instance *p, const pat_entries_t *e) {
  fl_stats_t st;
  fl_stats(p->follow, &st);
  static const struct {
    const char *type, *tinst;
    bool derive;
  } self[] = {
      {"count", "entries", false},      {"operations", "expansions", true},
      {"operations", "events", true},   {"operations", "dropped_events", true},
      {"duration", "expansion", false}, {"gauge", "digest", false}};
  uint64_t digest = __atomic_load_n(&p->digest_gauge, __ATOMIC_ACQUIRE);
  double v[] = {(double)pat_entries_count(e),
                (double)st.expansions,
                (double)st.events,
                (double)st.dropped,
                (double)st.last_us / 1e6,
                digest >> 32 ? (double)(uint32_t)digest : NAN};
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
  int r = rd_reader_read(p->reader, e, mono_s(), dispatch, p);
  release_meta(p);
  pthread_mutex_unlock(&p->read_lock);
  pat_entries_free(e);
  if (r < 0) {
    ERROR(PLUGIN " plugin: reading values failed: %s", STRERROR(-r));
    return -1;
  }
  return 0;
}

/* Every option is the follower's (fl_option_find): the value goes into
 * the instance's fl_opts_t. */
static int set_option(struct instance *p, oconfig_item_t *ci) {
  const fl_option_t *opt = fl_option_find(ci->key, false);
  if (!opt) {
    ERROR(PLUGIN " plugin: unknown option \"%s\"", ci->key);
    return -1;
  }
  void *field = (char *)&p->fo + opt->offset;
  if (opt->is_string)
    return cf_util_get_string(ci, field);
  int v;
  if (cf_util_get_int(ci, &v) != 0)
    return -1;
  if (v < opt->min || v > opt->max) {
    ERROR(PLUGIN " plugin: %s %d: must be %d to %d", ci->key, v, opt->min,
          opt->max);
    return -1;
  }
  *(int *)field = v;
  return 0;
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
  for (int i = 0; i < ci->children_num; i++)
    if (set_option(p, &ci->children[i]) != 0)
      goto fail;
  if (!p->fo.patterns && !(p->fo.patterns = strdup(PM_PATTERN_FILE)))
    goto fail;
  if (!p->fo.entries_file &&
      !(p->fo.entries_file = strdup("/var/lib/collectd/patmon/entries.json")))
    goto fail;
  if (p->fo.socket && p->fo.socket[0] != '/') {
    ERROR(PLUGIN " plugin: EventSocket \"%s\": must be an absolute path",
          p->fo.socket);
    goto fail;
  }
  /* What the follower will need, checked now: a group that does not exist
   * would otherwise only fail in the first read, every read. */
  char why[HP_WHY_MAX];
  p->global = plugin_get_interval();
  fl_opts_t fo = follow_opts(p);
  fl_opts_defaults(&fo);
  if (fo.max_delay_ms < fo.debounce_ms) {
    ERROR(PLUGIN " plugin: EventMaxDelay %d is shorter than EventDebounce %d",
          fo.max_delay_ms, fo.debounce_ms);
    goto fail;
  }
  if (fl_opts_check(&fo, why, sizeof(why)) < 0) {
    ERROR(PLUGIN " plugin: %s", why);
    goto fail;
  }
  pat_set_t *set = NULL;
  pm_error_t err = {0};
  char msg[1200];
  if (pat_set_load(p->fo.patterns, &set, &err) < 0) {
    ERROR(PLUGIN " plugin: %s", pm_error_str(&err, msg, sizeof(msg)));
    goto fail;
  }
  /* Read at a divisor of every interval asked for, so each entry is read on
   * time; entries without one are read at collectd's interval. */
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
