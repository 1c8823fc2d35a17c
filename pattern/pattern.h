/* pattern.h: patterns in, concrete things to monitor out.
 *
 * A pattern file (patmon-patterns(5)) describes classes of things to watch.
 * pat_set_load() compiles it; pat_inventory_scan() lists what this machine
 * has (or pat_inventory_load() reads a snapshot of some machine);
 * pat_expand() turns both into the concrete entries, in a fixed order.
 *
 * Errors are negative errno values; inputs a person wrote fill a pm_error_t
 * with file, line, offending text and reason. Nothing here logs. A compiled
 * set and an inventory are immutable: several threads may expand with them
 * at once. */
#ifndef PATMON_PATTERN_H
#define PATMON_PATTERN_H

#include "pm.h"

#include <stddef.h>

typedef enum pat_class {
  PAT_DISK,
  PAT_PARTITION,
  PAT_NIC,
  PAT_MOUNT,
  PAT_PROCESS,
  PAT_UNIT,
  PAT_RESOURCE,
  PAT_NCLASSES
} pat_class_t;

#define PAT_ALL_CLASSES ((1u << PAT_NCLASSES) - 1)

/* "disk", "partition", ...; NULL for an out-of-range class. */
const char *pat_class_name(pat_class_t cls);
/* The collectd plugin whose identifiers entries of this class use
 * ("disk", "interface", "df", "processes"). */
const char *pat_class_plugin(pat_class_t cls);
/* Metric group i of the class ("io", "latency", ...), NULL past the last.
 * Bit i of an entry's metrics mask is group i. */
const char *pat_group_name(pat_class_t cls, unsigned group);
/* The collectd types group i dispatches, NULL-terminated; NULL past the
 * last group. */
const char *const *pat_group_types(pat_class_t cls, unsigned group);

/* ---- pattern files ------------------------------------------------------ */

typedef struct pat_set pat_set_t;

/* Compiles a pattern file (includes resolved relative to it). On error
 * returns -EBADMSG (or -ENOENT, -ELOOP, -ENOMEM) and fills err. */
int pat_set_load(const char *path, pat_set_t **ret, pm_error_t *err);
/* The same for a buffer; name is used in errors and to resolve includes. */
int pat_set_parse(const char *text, size_t len, const char *name,
                  pat_set_t **ret, pm_error_t *err);
void pat_set_free(pat_set_t *set);

size_t pat_set_count(const pat_set_t *set);
/* Bit (1 << class) for each class some pattern uses. */
unsigned pat_set_classes(const pat_set_t *set);
/* The pattern file's `node = "..."` (local Pacemaker node name) or NULL. */
const char *pat_set_node(const pat_set_t *set);

/* ---- inventory ---------------------------------------------------------- */

typedef struct pat_inventory pat_inventory_t;

typedef struct pat_scan_opts {
  unsigned classes;      /* which classes to list; 0: all */
  const pat_set_t *want; /* read only what these patterns use; NULL: all */
  const char *proc_root; /* NULL: "/proc" */
  const char *mountinfo; /* NULL: "/proc/self/mountinfo" */
  const char *node;      /* local Pacemaker node; NULL: crm_node -n, uname */
  int timeout_ms;        /* for crm_mon and cibadmin; 0: 10 s */
} pat_scan_opts_t;

/* Lists this machine's objects. A provider that cannot run here (no
 * systemd, no Pacemaker) is not an error: its class is empty and carries a
 * note (pat_inventory_note). Returns -ENOMEM or -errno of /proc reads. */
int pat_inventory_scan(const pat_scan_opts_t *opts, pat_inventory_t **ret);

/* Reads a snapshot (JSON, see patmon-expand(1)). Takes ownership of nothing;
 * errors name the file, line and offending text. */
int pat_inventory_load(const char *path, pat_inventory_t **ret,
                       pm_error_t *err);
int pat_inventory_load_buf(const char *buf, size_t len, const char *name,
                           pat_inventory_t **ret, pm_error_t *err);
/* Appends the inventory as a snapshot to out. */
int pat_inventory_save(const pat_inventory_t *inv, pm_buf_t *out);

size_t pat_inventory_count(const pat_inventory_t *inv);
/* Why a class is empty or partial ("systemd is not running ..."), or NULL. */
const char *pat_inventory_note(const pat_inventory_t *inv, pat_class_t cls);
void pat_inventory_free(pat_inventory_t *inv);

/* ---- expansion ---------------------------------------------------------- */

typedef struct pat_entries pat_entries_t;

/* A read-only view of one entry, valid while its pat_entries_t lives. */
typedef struct pat_entry {
  pat_class_t cls;
  const char *instance; /* sanitised, unique within the collectd plugin */
  const char *pattern;  /* the pattern's name */
  unsigned pattern_index;
  const char *object; /* devnode, interface, mount point, unit, resource;
                         processes: the pids, space-separated */
  const char *kernel; /* the object's own name (%k) */
  const int *pids;    /* processes only, ascending */
  size_t npids;
  unsigned metrics;          /* bit i: metric group i of the class */
  int interval;              /* seconds; 0: the host's default */
  const char *volume_device; /* resources: the data volume, or NULL */
  const char *volume_dir;
  const char *volume_vg; /* resources on LVM: the volume group */
  const char *cgroup;    /* units: the cgroup path, or NULL */
  size_t nfrom;          /* the attributes the name came from */
  const char *const *from_keys;
  const char *const *from_values;
} pat_entry_t;

/* Expands set against inv. Each object goes to the first pattern (in file
 * order) whose match conditions all hold and no exclude condition holds.
 * Entries are ordered by pattern, then by instance (version order). With
 * explain non-NULL, appends for every object of a class the set uses which
 * pattern took it and why, or each pattern's first failing condition. */
int pat_expand(const pat_set_t *set, const pat_inventory_t *inv,
               pm_buf_t *explain, pat_entries_t **ret);

size_t pat_entries_count(const pat_entries_t *e);
/* Entry i (0 <= i < count) into *ret; -ERANGE otherwise. */
int pat_entries_get(const pat_entries_t *e, size_t i, pat_entry_t *ret);
void pat_entries_free(pat_entries_t *e);

typedef enum pat_format {
  PAT_FORMAT_LIST,
  PAT_FORMAT_JSON,
  PAT_FORMAT_COLLECTD,
  PAT_FORMAT_GMOND
} pat_format_t;

/* "list", "json", "collectd", "gmond" -> *ret; -EINVAL otherwise. */
int pat_format_parse(const char *name, pat_format_t *ret);
/* Appends the entries in the given format to out. source names the pattern
 * file in generated comments (may be NULL). */
int pat_entries_format(const pat_entries_t *e, pat_format_t fmt,
                       const char *source, pm_buf_t *out);

#endif
