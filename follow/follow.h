/* follow.h: a machine followed.
 *
 * A follower owns the whole event-following loop that both host shells
 * (the collectd plugin, the gmond module) run: the event watch (hotplug/),
 * the pattern monitor (pattern/), which event kind re-lists which class,
 * the rescan schedule and their defaults. A host configures it, calls
 * fl_next() on a thread of its own, and translates each step into its log
 * (fl_step_lines) and its reads.
 *
 * Functions return 0 or a negative errno; nothing here logs. One thread
 * drives a follower; fl_wake() and fl_stats() are safe from any thread. */
#ifndef PATMON_FOLLOW_H
#define PATMON_FOLLOW_H

#include "pattern.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A full re-listing of every class, whatever the events said. */
#define FL_RESCAN_S 300
/* Limits a host accepts for its options. */
#define FL_RESCAN_MAX_S 86400
#define FL_DEBOUNCE_MAX_MS 60000
#define FL_MAX_DELAY_MAX_MS 600000

typedef struct fl_opts {
  const char *patterns;     /* the pattern file (required) */
  const char *entries_file; /* NULL: none */
  const char *socket;       /* the event socket, absolute; NULL: none */
  const char *socket_group; /* group allowed to send; NULL: the caller's */
  const char *node;         /* local Pacemaker node; NULL: found out */
  int rescan_s;             /* 0: FL_RESCAN_S */
  int debounce_ms;          /* 0: HP_HOST_DEBOUNCE_MS */
  int max_delay_ms;         /* 0: HP_HOST_MAX_DELAY_MS */
  double interval;   /* seconds between ticks: processes come and go without
                        events, so each tick lists them again (and checks
                        the pattern file); > 0 */
  double first_tick; /* seconds from the first expansion to the first tick;
                        0: interval */
} fl_opts_t;

typedef struct fl fl_t;

/* One option of the follower, as each host names it: the rows a host's
 * own option table would otherwise repeat. */
typedef struct fl_option {
  const char *collectd; /* in <Plugin pattern>: "PatternFile" */
  const char *gmond;    /* a gmond module param: "patterns" */
  bool is_string;       /* else an int from min to max */
  size_t offset;        /* of its field in fl_opts_t */
  int min, max;
} fl_option_t;

/* The option a host calls name (case-insensitive; gmond: its param
 * names, else collectd's), or NULL. */
const fl_option_t *fl_option_find(const char *name, bool gmond);

/* Fills the fields of o left 0 with their defaults (FL_RESCAN_S,
 * HP_HOST_DEBOUNCE_MS, HP_HOST_MAX_DELAY_MS, first_tick = interval): for a
 * host that checks its own options against them. */
void fl_opts_defaults(fl_opts_t *o);

/* Frees the strings of o, for a host whose configuration step strdup'd
 * them into its own fl_opts_t, and leaves them NULL. */
void fl_opts_clear(fl_opts_t *o);

/* Checks o as fl_new would, opening nothing: for a host's configuration
 * step, so that `collectd -t` or gmond's start reports a mistake. 0, or
 * -EINVAL (or -ENOENT for an unknown group) with the reason in why. */
int fl_opts_check(const fl_opts_t *o, char *why, size_t whylen);

/* Opens the event watch (udev, the mount table, the socket when o->socket).
 * Lists nothing yet: see fl_start. On error returns a negative errno with
 * the reason in why and leaves *ret untouched. The caller owns *ret. */
int fl_new(const fl_opts_t *o, fl_t **ret, char *why, size_t whylen);

/* The first expansion: loads the pattern file, lists the machine, expands,
 * writes the entries file; the rescan and tick schedules start now. On
 * error returns as pat_monitor_new (err filled); it may be called again. */
int fl_start(fl_t *f, pm_error_t *err);

/* Waits up to timeout_ms for the watch (events are dropped: nothing is
 * listed before fl_start) or a fl_wake(): for a host retrying fl_start. */
void fl_idle(fl_t *f, int timeout_ms);

/* What one fl_next() (or the thread of fl_run) did. */
typedef struct fl_step {
  bool started;    /* fl_run's first expansion just worked */
  int start_error; /* < 0: it failed (retried every interval); the
                      reason in start_msg, reported once per reason */
  int wait_error;  /* < 0: waiting for events failed (retried) */
  char start_msg[1200];
  bool batch;       /* events arrived */
  bool tick;        /* a tick was due */
  bool refreshed;   /* the monitor was refreshed: rc and info are valid */
  unsigned classes; /* classes it listed again (0: the file was checked) */
  int rc;           /* pat_monitor_refresh's return */
  pat_refresh_t info;
  bool drops; /* a report of dropped socket messages is due */
  char drops_line[512];
} fl_step_t;

/* After fl_start: waits for the next event batch, tick or rescan, or for
 * wake_at (a host's own deadline, monotonic seconds as pm_now_ns()/1e9;
 * 0: none) or fl_wake(); then lists again what the events call for (a
 * resource brings its data volume, a volume its resource; processes at each
 * tick; everything at each rescan) and refreshes. Returns 0 with *ret
 * filled, or a negative errno when waiting failed (the host says so and
 * tries again later). */
int fl_next(fl_t *f, double wake_at, fl_step_t *ret);

/* Makes the current or next fl_next() or fl_idle() return early. */
void fl_wake(fl_t *f);

/* A host's part of each step, on the follower's thread: read what is new,
 * log (fl_step_lines). Returns the host's own next deadline for fl_next
 * (monotonic seconds; 0: none). */
typedef double (*fl_step_fn)(fl_t *f, const fl_step_t *s, void *ud);

/* How a host makes a thread (collectd's plugin_thread_create, which hands
 * the thread the plugin's context); NULL: pthread_create and
 * pthread_setname_np. */
typedef int (*fl_spawn_fn)(pthread_t *thread, void *(*fn)(void *), void *arg,
                           const char *name);

/* Runs the loop on a thread of its own (made by spawn, named name, all
 * signals blocked: they are the host's): the first expansion when fl_start
 * has not been called (retried every interval until the pattern file
 * works), then fl_next and step for ever. Returns 0 or a positive errno.
 * The thread stops in fl_stop or fl_free. */
int fl_run(fl_t *f, fl_spawn_fn spawn, const char *name, fl_step_fn step,
           void *ud);

/* Stops fl_run's thread and waits for it (a no-op without one). Not from
 * the thread itself. */
void fl_stop(fl_t *f);

/* Log levels of fl_step_lines. */
enum fl_level { FL_ERROR, FL_WARNING, FL_INFO };
typedef void (*fl_line_fn)(enum fl_level level, const char *line, void *ud);
/* Calls fn for each log line the step calls for, in order, without the
 * host's prefix: the first expansion done (fl_describe) or failed, waiting
 * that failed, a refresh that failed, a bad pattern file edit, conditions
 * that could not be evaluated, an entries file that cannot be written (and
 * written again), a reload, how many entries came and went, dropped socket
 * messages (FL_WARNING). Nothing when nothing is wrong or new. */
void fl_step_lines(fl_t *f, const fl_step_t *s, fl_line_fn fn, void *ud);

/* "12 entries from FILE; udev events, socket PATH": the line a host logs
 * after fl_start. */
void fl_describe(fl_t *f, char *buf, size_t len);

/* The monitor, after fl_start (NULL before): its entries, its set. */
pat_monitor_t *fl_monitor(fl_t *f);

typedef struct fl_stats {
  uint64_t events;     /* valid events received */
  uint64_t dropped;    /* malformed socket messages */
  uint64_t expansions; /* refreshes that listed classes again */
  uint64_t last_us;    /* the last one's listing and expansion time */
} fl_stats_t;

/* The counters, from any thread. */
void fl_stats(const fl_t *f, fl_stats_t *ret);

/* The classes (1 << PAT_*) a batch of event kinds (HP_* bits) lists again. */
unsigned fl_classes_for_kinds(unsigned kinds);

/* Stops fl_run's thread, closes the watch and frees the monitor. Only once
 * no other thread is inside fl_next or fl_idle. NULL is a no-op. */
void fl_free(fl_t *f);

#endif
