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

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/* Longest instance name (collectd allows 127). */
#define PAT_NAME_MAX 100

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

/* ---- the class table (classes.c) ---------------------------------------- */

/* One read-only row per class: its names, what patterns may test, its
 * metric groups with the collectd types each dispatches and the gmond
 * metrics made of them. */

/* How a gmond metric's value comes from its data source. */
enum pat_gmond_conv {
  PAT_GM_GAUGE, /* the value itself */
  PAT_GM_RATE,  /* a counter: per second between two reads */
  PAT_GM_AVG,   /* collectd's disk_time: a counter that grows by the read
                   interval times the average per operation */
};

/* One gmond metric of a metric group: `<prefix>_<instance>_<suffix>` is
 * data source `ds` of the value list (plugin, type, tinst), converted. */
struct pat_gmond_desc {
  const char *suffix;
  const char *plugin; /* NULL: the class's plugin */
  const char *type;
  const char *tinst; /* NULL: none */
  unsigned ds;
  enum pat_gmond_conv conv;
  double scale; /* applied last; 0 means 1 */
  const char *units;
};

struct pat_group_desc {
  const char *name;
  const char *const *types;           /* collectd types dispatched */
  const struct pat_gmond_desc *gmond; /* gmond metrics, suffix NULL ends */
};

/* Kinds of event after which a class's objects are listed again (follow/
 * maps the hotplug library's kinds onto these). */
#define PAT_EV_DEVICE 0x01u   /* a block device came, went or changed */
#define PAT_EV_NET 0x02u      /* a network interface came, went or changed */
#define PAT_EV_MOUNT 0x04u    /* the mount table changed */
#define PAT_EV_RESOURCE 0x08u /* an HA resource started, stopped or moved */
#define PAT_EV_VOLUME 0x10u   /* a data volume came or went */

/* How reading/ reads a class's entries: as collectd's disk, interface, df
 * or processes plugin would, a cgroup's processes as one group, or a
 * resource's processes and its data volume. */
typedef enum pat_read {
  PAT_READ_DISK,
  PAT_READ_NIC,
  PAT_READ_DF,
  PAT_READ_PROCESSES,
  PAT_READ_CGROUP,
  PAT_READ_RESOURCE,
  PAT_NREADS
} pat_read_t;

struct pat_inventory;
struct pat_scan_opts;

struct pat_class_desc {
  const char *name;
  /* lists the objects of the classes in mask `classes` that share it
   * (pattern/'s own; one call lists all of them) */
  int (*provider)(struct pat_inventory *inv, const struct pat_scan_opts *o,
                  unsigned classes);
  pat_read_t reader;
  unsigned relist;    /* PAT_EV_* kinds that list it again */
  const char *plugin; /* collectd plugin of its identifiers */
  /* the stock collectd plugin whose block selects its objects in the
   * collectd format (patmon-expand -f collectd); NULL: none */
  const char *stock;
  const char *gmond_prefix; /* gmond metric name prefix */
  const char *gmond_group;  /* gmond's GROUP of its metrics */
  const char *const *keys;  /* condition keys; "ENV{}" allows any ENV{x} */
  const char *const *vars;  /* template variables: "env", "attr", "param" */
  bool parents;             /* objects carry parent levels (ATTRS) */
  const struct pat_group_desc *groups;
};

/* The row of cls, NULL for an out-of-range class. */
const struct pat_class_desc *pat_class_desc(pat_class_t cls);
/* The classes some PAT_EV_* kind in events lists again. */
unsigned pat_classes_for_events(unsigned events);

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
/* The greatest common divisor, in milliseconds, of base_ms and every
 * pattern's `interval`: a reader called that often reads each entry on
 * time. */
long pat_set_interval_gcd(const pat_set_t *set, long base_ms);
/* The pattern file's `node = "..."` (local Pacemaker node name) or NULL. */
const char *pat_set_node(const pat_set_t *set);

/* ---- the set's digest (digest.c) ---------------------------------------- */

/* Whether two nodes watch alike is a question about what their pattern sets
 * mean, not about how the files are written: the digest is SHA-256 of a
 * canonical form of the compiled set, so comments, blank lines, layout,
 * quoting, which file includes what and the order of metric groups change
 * nothing, while a pattern, its order, a condition, a name template, a
 * metric group or an interval does. The form (version 1), one item a line:
 *
 *   patmon-patterns canonical 1
 *   patterns N
 *   pattern "NAME" class CLASS          (each pattern, in file order)
 *     match KEY OP "VALUE"              (as written, in order: regex
 *     exclude KEY OP "VALUE"             captures are numbered that way)
 *     name "TEMPLATE"                   (only when given)
 *     metrics GROUP...                  (the groups taken, in table order)
 *     interval SECONDS                  (0: the host's)
 *
 * with two blanks before each item of a pattern, KEY as written (ATTRS{x}
 * stays ATTRS), VALUE without its quotes and outer blanks, strings with '"'
 * and '\' escaped by '\' and control bytes as \xHH. The pattern file's
 * `node` is left out: it names the local node, which differs by design. */
#define PAT_DIGEST_HEX 64
/* The node attribute that carries a node's digest. */
#define PAT_DIGEST_ATTR "patmon-pattern-digest"

/* Appends the canonical form of set to out. -ENOMEM (out unchanged). */
int pat_set_canonical(const pat_set_t *set, pm_buf_t *out);
/* SHA-256 of the canonical form as 64 lower-case hex digits. -ENOMEM. */
int pat_set_digest(const pat_set_t *set, char ret[PAT_DIGEST_HEX + 1]);
/* The digest's first 32 bits (its first 8 hex digits, big-endian): what a
 * numeric metric can carry. */
uint32_t pat_digest_gauge(const char *hex);
/* Sets this node's PAT_DIGEST_ATTR to hex with `attrd_updater -n ATTR -U
 * HEX [-N node]` (a transient attribute: Pacemaker drops it when the node
 * leaves). 0 when done; -ENOENT when attrd_updater is not installed,
 * -ENOTCONN when Pacemaker does not run here, else -EIO or a negative
 * errno, with the reason in why (anything attrd_updater writes on stderr
 * counts as a failure: inside collectd, which ignores SIGCHLD, exit statuses
 * are lost). Blocks up to timeout_ms (0: 10 s). */
int pat_digest_publish(const char *hex, const char *node, int timeout_ms,
                       char *why, size_t whylen);

/* ---- inventory ---------------------------------------------------------- */

typedef struct pat_inventory pat_inventory_t;

typedef struct pat_scan_opts {
  unsigned classes;      /* which classes to list; 0: all */
  const pat_set_t *want; /* read only what these patterns use; NULL: all */
  bool cmdlines;         /* read command lines even if no pattern uses them
                            (the collectd format needs them) */
  const char *proc_root; /* NULL: "/proc" */
  const char *mountinfo; /* NULL: "/proc/self/mountinfo" */
  const char *node;      /* local Pacemaker node; NULL: crm_node -n, uname */
  int timeout_ms;        /* for crm_mon and cibadmin; 0: 10 s */
  struct pat_pcmk_cache *pcmk; /* a monitor's: the last crm_mon and CIB
                                  output and the HA events since; NULL */
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
/* Conditions this expansion could not evaluate (a regex that hit PCRE2's
 * match or depth limit on some value): each counted as not holding. Returns
 * how many, and when ret is non-NULL and there were some, describes the
 * first (file, line, condition, object and reason) in *ret. */
unsigned pat_entries_errors(const pat_entries_t *e, pm_error_t *ret);
/* Entry i (0 <= i < count) into *ret; -ERANGE otherwise. */
int pat_entries_get(const pat_entries_t *e, size_t i, pat_entry_t *ret);
/* Entry i itself (NULL past the last): valid, like its strings, while e
 * lives; for a reader that hands the entry on with what it read. */
const pat_entry_t *pat_entries_at(const pat_entries_t *e, size_t i);
/* The instance collectd's df plugin gives mount point mnt ("/" -> "root",
 * "/srv/data" -> "srv-data"), made collectd-safe, into buf (at least
 * PAT_NAME_MAX + 1 bytes). */
void pat_mount_instance(const char *mnt, char *buf, size_t len);
/* Entry sets are reference counted so one thread can swap in a new set
 * while another still reads the old one. pat_expand() returns one
 * reference; pat_entries_ref() adds one; pat_entries_free() drops one and
 * frees the set with the last. Both are thread-safe; NULL is a no-op. */
pat_entries_t *pat_entries_ref(pat_entries_t *e);
void pat_entries_free(pat_entries_t *e);
/* Entries of a that are not in b (same class and instance: a process group
 * whose pids change is the same entry), for "what changed" reports: counts
 * into *ret_gone and *ret_new. */
void pat_entries_diff(const pat_entries_t *a, const pat_entries_t *b,
                      size_t *ret_gone, size_t *ret_new);

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

/* ---- following a machine (monitor.c) ------------------------------------ */

/* A monitor owns a pattern file and the entries it expands to on this
 * machine: it re-lists only the classes asked for, reloads the pattern file
 * when it changes (a bad edit keeps the last good set), and rewrites the
 * entries file (JSON, atomically) whenever the entries change. One thread
 * refreshes; any thread may take the current entries. */
typedef struct pat_monitor pat_monitor_t;

typedef struct pat_monitor_opts {
  const char *patterns;     /* the pattern file */
  const char *entries_file; /* NULL: none; its directory is created */
  pat_scan_opts_t scan;     /* proc_root, mountinfo, node, timeout_ms */
} pat_monitor_opts_t;

typedef struct pat_refresh {
  bool changed;          /* the entries changed */
  bool reloaded;         /* a changed pattern file was loaded */
  int reload_error;      /* < 0: the pattern file changed but is bad; the
                            last good set stays. Reported once per content. */
  pm_error_t err;        /* its file, line, text and reason */
  int write_error;       /* < 0: the entries file could not be written (the
                            entries are current all the same; retried at every
                            refresh). Reported once per errno. */
  bool written_again;    /* written after a write_error */
  unsigned match_errors; /* > 0: conditions this expansion could not
                            evaluate (pat_entries_errors); reported once
                            per condition until an expansion has none */
  pm_error_t match_err;  /* the first one */
  size_t entries, gone, added;
  double scan_ms; /* time spent listing and expanding */
} pat_refresh_t;

/* Loads the pattern file (errors as pat_set_load), lists this machine,
 * expands and writes the entries file. The caller owns *ret. */
int pat_monitor_new(const pat_monitor_opts_t *o, pat_monitor_t **ret,
                    pm_error_t *err);
/* Checks the pattern file (reloading it re-lists everything), then re-lists
 * the given classes (0: none, PAT_ALL_CLASSES: all) and expands again. Fills
 * *ret (may be NULL). Returns 0 or a negative errno (listing failed; the
 * old entries stay). A pattern file that is bad, gone or unreadable keeps
 * the last good set (ret->reload_error). */
int pat_monitor_refresh(pat_monitor_t *m, unsigned classes, pat_refresh_t *ret);
/* The HA stack says resource rsc (a Pacemaker id, as in its alerts) just
 * started (started = true) or stopped on this node. The next refresh that
 * lists resources expands at once from the last crm_mon and CIB output with
 * that applied (no command runs, so the entries file follows within
 * milliseconds), then lists again with crm_mon and cibadmin. Until crm_mon
 * shows the same, for PAT_EVENT_GRACE_S at most, listings keep the event's
 * word: the CIB may record an operation after its alert. For the
 * refreshing thread. -ENOMEM, or -EINVAL for an empty name. */
#define PAT_EVENT_GRACE_S 30
int pat_monitor_resource_event(pat_monitor_t *m, const char *rsc, bool started);
/* A new reference to the current entries; release with pat_entries_free. */
pat_entries_t *pat_monitor_entries(pat_monitor_t *m);
/* Classes the current pattern set uses. */
unsigned pat_monitor_classes(pat_monitor_t *m);
/* The current pattern set; for the refreshing thread, until its next
 * refresh. */
const pat_set_t *pat_monitor_set(pat_monitor_t *m);
void pat_monitor_free(pat_monitor_t *m);

/* ---- gmond names (classes.c) ------------------------------------------- */

/* gmond has no plugin/type identifiers: a value list's data sources become
 * metrics named `<prefix>_<instance>_<suffix>` (disk_sda_read_bytes,
 * net_eth0_bytes_in, rsc_web_cpu_user), counters become rates per second
 * as gmond's own modules report them. The class table says which. */

/* Longest metric name made here, NUL excluded. */
#define PAT_GMETRIC_NAME_MAX 127

typedef int (*pat_gname_fn)(const char *name, void *ud);

/* Calls fn with the name of every metric entry en may publish (its metric
 * groups, in table order); stops at and returns fn's first non-zero
 * return, else 0. */
int pat_gmond_names(const pat_entry_t *en, pat_gname_fn fn, void *ud);

/* Copies `<prefix>_<instance>_<suffix>` of en, made gmond-safe, into buf
 * (at least PAT_GMETRIC_NAME_MAX + 1 bytes). */
void pat_gmond_name(const pat_entry_t *en, const char *suffix, char *buf,
                    size_t len);

/* The gmond module's own metrics: the only ones it declares to gmond (and
 * that a collection_group lists); it pushes the others. */
typedef struct pat_gmond_self {
  const char *name;
  const char *units;
  const char *slope; /* "both", or "positive" for counts since start */
  bool is_float;     /* else an unsigned 32-bit integer */
  const char *desc;
} pat_gmond_self_t;

const pat_gmond_self_t *pat_gmond_self_metrics(size_t *ret_n);

#endif
