/* follow.c: the event-following loop both host shells run. */
#include "config.h"

#include "follow.h"

#include "hotplug/hotplug.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

struct fl {
  fl_opts_t o; /* strings copied below */
  char *patterns, *entries_file, *socket, *socket_group, *node;
  hp_watch_t *watch;
  hp_drops_t drops;
  hp_batch_t batch; /* ~16 KiB: the follower is on the heap */
  pat_monitor_t *mon;
  double next_full, next_tick;
  /* fl_run's thread */
  pthread_t thread;
  bool running, stop; /* stop: atomic */
  fl_step_fn step;
  void *ud;
  /* counters other threads read (atomics) */
  uint64_t events, dropped, expansions, last_us;
};

/* The hotplug library's kinds of event as the class table's (its rows say
 * which classes each lists again). */
static const struct {
  unsigned kind, events;
} kinds[] = {
    {HP_DEVICE, PAT_EV_DEVICE}, {HP_NET, PAT_EV_NET},
    {HP_MOUNT, PAT_EV_MOUNT},   {HP_RESOURCE, PAT_EV_RESOURCE},
    {HP_VOLUME, PAT_EV_VOLUME},
};

unsigned fl_classes_for_kinds(unsigned hp_kinds) {
  if (hp_kinds & HP_RESCAN)
    return PAT_ALL_CLASSES;
  unsigned events = 0;
  for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
    if (hp_kinds & kinds[i].kind)
      events |= kinds[i].events;
  return pat_classes_for_events(events);
}

static double mono_s(void) { return (double)pm_now_ns() / 1e9; }

static const fl_option_t options[] = {
    {"PatternFile", "patterns", true, offsetof(fl_opts_t, patterns), 0, 0},
    {"EntriesFile", "entries_file", true, offsetof(fl_opts_t, entries_file), 0,
     0},
    {"EventSocket", "event_socket", true, offsetof(fl_opts_t, socket), 0, 0},
    {"EventSocketGroup", "event_socket_group", true,
     offsetof(fl_opts_t, socket_group), 0, 0},
    {"Node", "node", true, offsetof(fl_opts_t, node), 0, 0},
    {"RescanInterval", "rescan_interval", false, offsetof(fl_opts_t, rescan_s),
     1, FL_RESCAN_MAX_S},
    {"EventDebounce", "event_debounce", false, offsetof(fl_opts_t, debounce_ms),
     1, FL_DEBOUNCE_MAX_MS},
    {"EventMaxDelay", "event_max_delay", false,
     offsetof(fl_opts_t, max_delay_ms), 1, FL_MAX_DELAY_MAX_MS},
};

const fl_option_t *fl_option_find(const char *name, bool gmond) {
  for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++)
    if (strcasecmp(name, gmond ? options[i].gmond : options[i].collectd) == 0)
      return &options[i];
  return NULL;
}

void fl_opts_defaults(fl_opts_t *o) {
  if (!o->rescan_s)
    o->rescan_s = FL_RESCAN_S;
  if (!o->debounce_ms)
    o->debounce_ms = HP_HOST_DEBOUNCE_MS;
  if (!o->max_delay_ms)
    o->max_delay_ms = HP_HOST_MAX_DELAY_MS;
  if (o->first_tick <= 0)
    o->first_tick = o->interval;
}

void fl_opts_clear(fl_opts_t *o) {
  const char **s[] = {&o->patterns, &o->entries_file, &o->socket,
                      &o->socket_group, &o->node};
  for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
    free((char *)*s[i]);
    *s[i] = NULL;
  }
}

static fl_opts_t with_defaults(const fl_opts_t *o) {
  fl_opts_t d = *o;
  fl_opts_defaults(&d);
  return d;
}

static hp_config_t watch_config(const fl_opts_t *o) {
  return (hp_config_t){.sources = HP_SRC_UDEV | HP_SRC_MOUNTS |
                                  (o->socket ? HP_SRC_SOCKET : 0),
                       .socket_path = o->socket,
                       .socket_group = o->socket_group,
                       .debounce_ms = o->debounce_ms,
                       .max_delay_ms = o->max_delay_ms};
}

int fl_opts_check(const fl_opts_t *o, char *why, size_t whylen) {
  fl_opts_t d = with_defaults(o);
  if (!d.patterns || !(d.interval > 0)) {
    snprintf(why, whylen, "no pattern file or no interval");
    return -EINVAL;
  }
  if (d.rescan_s < 1 || d.rescan_s > FL_RESCAN_MAX_S) {
    snprintf(why, whylen, "rescan interval %d: must be 1 to %d", d.rescan_s,
             FL_RESCAN_MAX_S);
    return -EINVAL;
  }
  if (d.socket && d.socket[0] != '/') {
    snprintf(why, whylen, "event socket \"%s\": must be an absolute path",
             d.socket);
    return -EINVAL;
  }
  if (d.max_delay_ms < d.debounce_ms) {
    snprintf(why, whylen,
             "event max delay %d is shorter than event debounce %d",
             d.max_delay_ms, d.debounce_ms);
    return -EINVAL;
  }
  hp_config_t hc = watch_config(&d);
  return hp_config_validate(&hc, why, whylen);
}

void fl_free(fl_t *f) {
  if (!f)
    return;
  fl_stop(f);
  hp_watch_free(f->watch);
  pat_monitor_free(f->mon);
  free(f->patterns);
  free(f->entries_file);
  free(f->socket);
  free(f->socket_group);
  free(f->node);
  free(f);
}

/* Copies *s into *keep and points *s at the copy; NULL stays NULL. */
static bool keep(const char **s, char **keep_as) {
  if (!*s)
    return true;
  *keep_as = strdup(*s);
  *s = *keep_as;
  return *keep_as != NULL;
}

int fl_new(const fl_opts_t *o, fl_t **ret, char *why, size_t whylen) {
  int r = fl_opts_check(o, why, whylen);
  if (r < 0)
    return r;
  fl_t *f = calloc(1, sizeof(*f));
  if (!f) {
    snprintf(why, whylen, "out of memory");
    return -ENOMEM;
  }
  f->o = with_defaults(o);
  if (!keep(&f->o.patterns, &f->patterns) ||
      !keep(&f->o.entries_file, &f->entries_file) ||
      !keep(&f->o.socket, &f->socket) ||
      !keep(&f->o.socket_group, &f->socket_group) ||
      !keep(&f->o.node, &f->node)) {
    fl_free(f);
    snprintf(why, whylen, "out of memory");
    return -ENOMEM;
  }
  hp_drops_init(&f->drops, 0);
  hp_config_t hc = watch_config(&f->o);
  r = hp_watch_new(&hc, &f->watch, why, whylen);
  if (r < 0) {
    fl_free(f);
    return r;
  }
  *ret = f;
  return 0;
}

int fl_start(fl_t *f, pm_error_t *err) {
  pat_monitor_opts_t mo = {.patterns = f->o.patterns,
                           .entries_file = f->o.entries_file,
                           .scan = {.node = f->o.node}};
  pat_monitor_t *m = NULL;
  int r = pat_monitor_new(&mo, &m, err);
  if (r < 0)
    return r;
  pat_monitor_free(f->mon);
  f->mon = m;
  double now = mono_s();
  f->next_full = now + f->o.rescan_s;
  f->next_tick = now + f->o.first_tick;
  return 0;
}

void fl_idle(fl_t *f, int timeout_ms) {
  hp_watch_next(f->watch, timeout_ms, &f->batch);
}

void fl_wake(fl_t *f) { hp_watch_wake(f->watch); }

/* Tells the monitor what the batch says about resources starting and
 * stopping here, so that its refresh follows them at once. Events beyond
 * the batch's listed items are followed by the listing alone. */
static void resource_events(fl_t *f) {
  for (unsigned i = 0; i < f->batch.nitems; i++) {
    const hp_event_t *ev = &f->batch.items[i];
    if (ev->kind == HP_RESOURCE &&
        (ev->action == HP_ACT_START || ev->action == HP_ACT_STOP))
      pat_monitor_resource_event(f->mon, ev->name, ev->action == HP_ACT_START);
  }
}

/* The classes the rescan and tick schedules call for now. */
static unsigned scheduled(fl_t *f, fl_step_t *s) {
  double now = mono_s();
  unsigned classes = 0;
  if (now >= f->next_full) {
    classes = PAT_ALL_CLASSES;
    f->next_full = now + f->o.rescan_s;
  }
  if (now >= f->next_tick) {
    s->tick = true;
    classes |= 1u << PAT_PROCESS; /* processes come and go unannounced */
    while (f->next_tick <= now)
      f->next_tick += f->o.interval;
  }
  return classes;
}

int fl_next(fl_t *f, double wake_at, fl_step_t *ret) {
  fl_step_t *s = ret;
  *s = (fl_step_t){0};
  double now = mono_s();
  double wake = f->next_tick < f->next_full ? f->next_tick : f->next_full;
  if (wake_at > 0 && wake_at < wake)
    wake = wake_at;
  int timeout = wake > now ? (int)((wake - now) * 1000) + 1 : 0;
  int r = hp_watch_next(f->watch, timeout, &f->batch);
  if (r < 0)
    return r;
  unsigned classes = 0;
  if (r == HP_NEXT_BATCH) {
    s->batch = true;
    __atomic_add_fetch(&f->events, f->batch.events, __ATOMIC_RELAXED);
    __atomic_add_fetch(&f->dropped, f->batch.dropped, __ATOMIC_RELAXED);
    resource_events(f);
    classes = fl_classes_for_kinds(f->batch.kinds);
  }
  s->drops = hp_drops_report(&f->drops, s->batch ? &f->batch : NULL,
                             pm_now_ns(), s->drops_line, sizeof(s->drops_line));
  classes |= scheduled(f, s);
  if (!s->batch && !classes)
    return 0;
  s->classes = classes & pat_monitor_classes(f->mon);
  s->rc = pat_monitor_refresh(f->mon, s->classes, &s->info);
  s->refreshed = true;
  if (s->classes) {
    __atomic_add_fetch(&f->expansions, 1, __ATOMIC_RELAXED);
    __atomic_store_n(&f->last_us, (uint64_t)(s->info.scan_ms * 1000),
                     __ATOMIC_RELAXED);
  }
  return 0;
}

static bool stopping(fl_t *f) {
  return __atomic_load_n(&f->stop, __ATOMIC_ACQUIRE);
}

/* The first expansion, retried every interval until the pattern file
 * works; the host hears each distinct failure once. */
static bool run_start(fl_t *f) {
  char last[sizeof(((fl_step_t *)0)->start_msg)] = "";
  while (!stopping(f)) {
    fl_step_t s = {0};
    pm_error_t err = {0};
    s.start_error = fl_start(f, &err);
    s.started = s.start_error == 0;
    if (!s.started) {
      pm_error_str(&err, s.start_msg, sizeof(s.start_msg));
      bool again = strcmp(s.start_msg, last) == 0;
      snprintf(last, sizeof(last), "%s", s.start_msg);
      if (again)
        s.start_error = 0; /* said already: nothing to report */
    }
    f->step(f, &s, f->ud);
    if (s.started)
      return true;
    fl_idle(f, (int)(f->o.interval * 1000));
  }
  return false;
}

static void *run(void *arg) {
  fl_t *f = arg;
  if (!f->mon && !run_start(f))
    return NULL;
  double wake_at = 0;
  while (!stopping(f)) {
    fl_step_t s;
    int r = fl_next(f, wake_at, &s);
    if (stopping(f))
      break;
    if (r < 0) {
      s = (fl_step_t){.wait_error = r};
      f->step(f, &s, f->ud);
      sleep(1);
      continue;
    }
    wake_at = f->step(f, &s, f->ud);
  }
  return NULL;
}

static int spawn_plain(pthread_t *thread, void *(*fn)(void *), void *arg,
                       const char *name) {
  int r = pthread_create(thread, NULL, fn, arg);
  if (r == 0)
    pthread_setname_np(*thread, name);
  return r;
}

int fl_run(fl_t *f, fl_spawn_fn spawn, const char *name, fl_step_fn step,
           void *ud) {
  f->step = step;
  f->ud = ud;
  __atomic_store_n(&f->stop, false, __ATOMIC_RELEASE);
  /* The thread inherits the mask in force when it is made. */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int r = (spawn ? spawn : spawn_plain)(&f->thread, run, f, name);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (r != 0)
    return r;
  f->running = true;
  return 0;
}

void fl_stop(fl_t *f) {
  if (!f->running)
    return;
  __atomic_store_n(&f->stop, true, __ATOMIC_RELEASE);
  hp_watch_wake(f->watch);
  pthread_join(f->thread, NULL);
  f->running = false;
}

/* Formats one line and hands it to fn. */
__attribute__((format(printf, 4, 5))) static void
line(fl_line_fn fn, void *ud, enum fl_level level, const char *fmt, ...) {
  char buf[1400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  fn(level, buf, ud);
}

void fl_step_lines(fl_t *f, const fl_step_t *s, fl_line_fn fn, void *ud) {
  const pat_refresh_t *in = &s->info;
  char msg[1200];
  if (s->started) {
    fl_describe(f, msg, sizeof(msg));
    line(fn, ud, FL_INFO, "%s", msg);
  }
  if (s->start_error < 0)
    line(fn, ud, FL_ERROR, "%s; trying again every interval", s->start_msg);
  if (s->wait_error < 0)
    line(fn, ud, FL_ERROR, "waiting for events failed: %s",
         strerror(-s->wait_error));
  if (s->drops)
    line(fn, ud, FL_WARNING, "event socket: %s", s->drops_line);
  if (!s->refreshed)
    return;
  if (s->rc < 0) {
    line(fn, ud, FL_ERROR, "looking again failed: %s; keeping the last entries",
         strerror(-s->rc));
    return;
  }
  if (in->reload_error < 0)
    line(fn, ud, FL_ERROR, "%s; keeping the last good patterns",
         pm_error_str(&in->err, msg, sizeof(msg)));
  if (in->match_errors)
    line(fn, ud, FL_ERROR, "%s (%u value%s in this expansion)",
         pm_error_str(&in->match_err, msg, sizeof(msg)), in->match_errors,
         in->match_errors == 1 ? "" : "s");
  if (in->write_error < 0)
    line(fn, ud, FL_ERROR,
         "%s: cannot write: %s; monitoring goes on, the file is written "
         "again once it can be",
         f->o.entries_file, strerror(-in->write_error));
  if (in->written_again)
    line(fn, ud, FL_INFO, "%s written again", f->o.entries_file);
  if (in->reloaded)
    line(fn, ud, FL_INFO, "pattern file reloaded");
  if (in->gone || in->added)
    line(fn, ud, FL_INFO, "%zu entries (%zu new, %zu gone) in %.1f ms",
         in->entries, in->added, in->gone, in->scan_ms);
}

void fl_describe(fl_t *f, char *buf, size_t len) {
  pat_entries_t *e = f->mon ? pat_monitor_entries(f->mon) : NULL;
  snprintf(buf, len, "%zu entries from %s; %s events%s%s",
           e ? pat_entries_count(e) : 0, f->o.patterns,
           hp_watch_udev_kind(f->watch), f->o.socket ? ", socket " : "",
           f->o.socket ? f->o.socket : "");
  pat_entries_free(e);
}

pat_monitor_t *fl_monitor(fl_t *f) { return f->mon; }

void fl_stats(const fl_t *f, fl_stats_t *ret) {
  *ret = (fl_stats_t){
      .events = __atomic_load_n(&f->events, __ATOMIC_RELAXED),
      .dropped = __atomic_load_n(&f->dropped, __ATOMIC_RELAXED),
      .expansions = __atomic_load_n(&f->expansions, __ATOMIC_RELAXED),
      .last_us = __atomic_load_n(&f->last_us, __ATOMIC_RELAXED)};
}
