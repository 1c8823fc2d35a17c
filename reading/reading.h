/* reading.h: the values of entries, read as collectd's own plugins read
 * them, and the same values as gmond metrics.
 *
 * A reader (collect.c) reads the entries of a pattern expansion (pattern.h)
 * from /proc, /sys and statvfs and hands each value list to a callback; a
 * gmond converter (gmond.c) turns value lists into gmond metrics named by
 * the class table. Errors are negative errno values; nothing here logs.
 * Each object is for one thread at a time. */
#ifndef PATMON_READING_H
#define PATMON_READING_H

#include "pattern.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- reading values (collect.c) ----------------------------------------- */

/* Data sources of a value list at most (collectd's load has 3). */
#define RD_VALUES_MAX 3

/* One collectd value list: what collectd's own plugin would dispatch for the
 * object (same plugin, type and type instance). */
typedef struct rd_value {
  const char *plugin;          /* "disk", "interface", "df", "processes" */
  const char *plugin_instance; /* the entry's instance (volumes: theirs) */
  const char *type;            /* a types.db type */
  const char *type_instance;   /* "" when none */
  unsigned nvalues;            /* 1 to RD_VALUES_MAX */
  bool derive;                 /* counters (DERIVE) rather than gauges */
  int64_t counter[RD_VALUES_MAX];
  double gauge[RD_VALUES_MAX];
  const pat_entry_t *entry; /* the entry it was read for; NULL for the
                               node's own values (rd_reader_read_node) */
} rd_value_t;

typedef int (*rd_emit_fn)(const rd_value_t *v, void *ud);

typedef struct rd_opts {
  const char *proc_root;   /* NULL: "/proc" (diskstats, net/dev, PIDs) */
  const char *cgroup_root; /* NULL: /sys/fs/cgroup, then its unified/ and
                              systemd/ hierarchies */
  double interval;         /* the host's read interval, seconds */
  bool quick_second;       /* an entry read once is due again at the next
                              call whatever its interval, so that a host that
                              turns counters into rates itself can show a new
                              entry soon (the gmond module calls again a
                              second later) */
  bool sparse;             /* send a type only where collectd 5.12's own
                              plugin would: nothing for a disk that never did
                              I/O, disk_octets once non-zero, disk_merged,
                              disk_io_time and pending_operations from the
                              first read that saw them non-zero, no inodes
                              when none are free (the collectd plugin); else
                              every type of the groups asked for (the gmond
                              module declares them all) */
} rd_opts_t;

typedef struct rd_reader rd_reader_t;

int rd_reader_new(const rd_opts_t *o, rd_reader_t **ret);
/* Reads the entries of e that are due at `now` (seconds, monotonic; an
 * entry with an interval is read that often, others every call) and calls
 * emit for each value list. A process group's counters stay monotonic when
 * members exit or join; units are read as the processes of their cgroup; a
 * resource's data volume is read as df and disk values unless an entry
 * already covers it. State of entries no longer in e is dropped. Returns
 * the number of value lists emitted or a negative errno. Not thread-safe:
 * one reader per thread. */
int rd_reader_read(rd_reader_t *r, const pat_entries_t *e, double now,
                   rd_emit_fn emit, void *ud);
/* Reads at once the entries of e this reader has never read (a disk, NIC,
 * mount or process group just added), leaving every other entry's state and
 * schedule as they are: for a host that wants a new entry's first values
 * without waiting for its next regular read. The next rd_reader_read()
 * reads them again whatever their interval, so counters give rates from
 * then on. Returns the number of value lists emitted or a negative errno.
 * The same reader as rd_reader_read(): not at the same time. */
int rd_reader_read_new(rd_reader_t *r, const pat_entries_t *e, double now,
                       rd_emit_fn emit, void *ud);
void rd_reader_free(rd_reader_t *r);

/* Reads the node itself as collectd's load and cpu plugins do (aggregated,
 * ReportByCpu false, ValuesPercentage true): load/load (shortterm, midterm,
 * longterm) and cpu/percent-<state> (user nice system idle wait interrupt
 * softirq steal, from the second call on), each with entry NULL. Returns
 * the number of value lists emitted or a negative errno. */
int rd_reader_read_node(rd_reader_t *r, rd_emit_fn emit, void *ud);

/* ---- gmond metrics (gmond.c) -------------------------------------------- */

typedef struct rd_gmetric {
  const char *name;   /* characters gmond keeps: [A-Za-z0-9_.-] */
  const char *suffix; /* the metric group's part of the name */
  double value;
  const char *units;
  const char *group;        /* gmond's GROUP ("disk", "network", ...) */
  const pat_entry_t *entry; /* NULL for the node's own values */
  int interval;             /* seconds between two values of it */
  bool announce; /* send its metadata with this value: its first value since
                    it was new (or retired), or announce_every of its
                    intervals since the last one */
} rd_gmetric_t;

typedef int (*rd_gmetric_fn)(const rd_gmetric_t *m, void *ud);
/* A converter keeps each metric's previous counter, and which metrics it
 * has made, so that metrics of entries that went away can be retired. */
typedef struct rd_gmond rd_gmond_t;

/* announce_every: how many of a metric's intervals may pass between two
 * values marked announce (0 or 1: every value). */
int rd_gmond_new(unsigned announce_every, rd_gmond_t **ret);
void rd_gmond_free(rd_gmond_t *g);

/* Turns value list v, read at now (seconds, monotonic) by a reader whose
 * interval is `interval`, into gmond metrics and calls fn for each:
 * gauges as they are; counters as rates against the same metric's previous
 * value (the first value, or one below the previous, only primes it); disk
 * latency as the average per operation. Node values are named as gmond's
 * own metrics (load_one, cpu_idle, ...). Returns how many metrics fn was
 * called for, fn's first negative return, or -ENOMEM. */
int rd_gmond_convert(rd_gmond_t *g, const rd_value_t *v, double now,
                     double interval, rd_gmetric_fn fn, void *ud);

/* Counters primed (first seen or reset) since the previous call: each
 * gives a rate at its next read. */
unsigned rd_gmond_take_primed(rd_gmond_t *g);

/* Forgets every metric made for an entry that is not in e (same class and
 * instance), calling fn (may be NULL) with its name first. Returns how
 * many were forgotten or -ENOMEM. */
int rd_gmond_retire(rd_gmond_t *g, const pat_entries_t *e, pat_gname_fn fn,
                    void *ud);

/* Names two entries would both publish, found since the previous call: the
 * entry first seen keeps the name. Describes the first in `first`. */
unsigned rd_gmond_take_clashes(rd_gmond_t *g, char *first, size_t len);

/* Metrics the converter knows. */
size_t rd_gmond_count(const rd_gmond_t *g);

#endif
