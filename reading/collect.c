/* collect.c: values for entries, as collectd 5.12's own Linux plugins read
 * them: disk (/proc/diskstats), interface (/proc/net/dev), df (statvfs),
 * processes (/proc/PID/stat, status, io). One row per class; files shared by
 * many entries are read once per cycle. */
#include "config.h"

#include "reading.h"

#include "pm_map.h"
#include "pm_vec.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

/* Counters of one process, summed over a group. */
enum {
  C_USER,
  C_SYST,
  C_MINFLT,
  C_MAJFLT,
  C_RCHAR,
  C_WCHAR,
  C_SYSCR,
  C_SYSCW,
  C_RBYTES,
  C_WBYTES,
  C_N
};

struct pid_state {
  int pid;
  unsigned long long start; /* starttime: tells a reused pid apart */
  int64_t c[C_N];
};

/* What is kept per identifier between reads. */
struct rstate {
  char *key; /* "plugin/instance" */
  double last;
  unsigned reads; /* 0, 1, or 2 for more */
  bool seen;
  /* disks: the previous counters and collectd's average time per op; the
   * types collectd sends only once a read saw them non-zero */
  int64_t rd_ops, wr_ops, rd_time, wr_time, avg_rd, avg_wr;
  bool has_merged, has_pending, has_io_time;
  /* process groups; /proc/uptime at the group's first and last reads */
  int64_t acc[C_N];
  double first_uptime, uptime;
  bool has_io;
  struct pid_state *pids;
  size_t npids;
};

struct row { /* one line of /proc/diskstats or /proc/net/dev */
  char name[64];
  int64_t v[16];
};

struct rows {
  struct row *r;
  size_t n;
  bool read;
};

struct rd_reader {
  rd_opts_t o;
  char proc[PATH_MAX];
  char cgroup[PATH_MAX]; /* o.cgroup_root points here when given */
  long hz, page;
  pm_map_t states; /* "plugin/instance" -> struct rstate */
  /* the node's cpu jiffies at the previous rd_reader_read_node() */
  int64_t cpu[8];
  bool cpu_seen;
};

/* One read cycle. */
struct cyc {
  rd_reader_t *r;
  const pat_entries_t *e;
  pm_map_t states; /* the next table: states of entries still there */
  double now;
  int procfd;
  double uptime; /* seconds since boot, read once a cycle; < 0: unknown */
  struct rows disks, nets;
  rd_emit_fn emit;
  void *ud;
  int count;
  bool only_new; /* rd_reader_read_new: entries never read, others kept */
};

int rd_reader_new(const rd_opts_t *o, rd_reader_t **ret) {
  rd_reader_t *r = calloc(1, sizeof(*r));
  if (!r)
    return -ENOMEM;
  r->o = o ? *o : (rd_opts_t){0};
  /* The roots are copied: a caller's buffers need not outlive the call. */
  snprintf(r->proc, sizeof(r->proc), "%s",
           r->o.proc_root ? r->o.proc_root : "/proc");
  r->o.proc_root = r->proc;
  if (r->o.cgroup_root) {
    snprintf(r->cgroup, sizeof(r->cgroup), "%s", r->o.cgroup_root);
    r->o.cgroup_root = r->cgroup;
  }
  r->hz = sysconf(_SC_CLK_TCK);
  r->page = sysconf(_SC_PAGESIZE);
  if (r->hz <= 0)
    r->hz = 100;
  if (r->page <= 0)
    r->page = 4096;
  *ret = r;
  return 0;
}

static void state_free(void *p) {
  struct rstate *s = p;
  if (!s)
    return;
  free(s->key);
  free(s->pids);
  free(s);
}

void rd_reader_free(rd_reader_t *r) {
  if (!r)
    return;
  pm_map_free(&r->states, state_free);
  free(r);
}

/* ---- state tables ---- */

/* The state for key in this cycle: moved from the previous table, or new. */
static struct rstate *state(struct cyc *c, const char *plugin,
                            const char *inst) {
  char key[PAT_NAME_MAX * 2 + 32];
  snprintf(key, sizeof(key), "%s/%s", plugin, inst);
  struct rstate *s = pm_map_get(&c->states, key);
  if (s)
    return s;
  s = pm_map_get(&c->r->states, key);
  if (s && c->only_new)
    return s; /* read before: it stays where it is, and is not due */
  if (s)
    pm_map_del(&c->r->states, key);
  if (!s) {
    s = calloc(1, sizeof(*s));
    if (!s || !(s->key = strdup(key))) {
      free(s);
      return NULL;
    }
    s->last = -1;
  }
  if (pm_map_set(&c->states, key, s) < 0) {
    state_free(s);
    return NULL;
  }
  return s;
}

static bool due(const struct cyc *c, struct rstate *s, const pat_entry_t *e) {
  if (c->only_new) {
    if (s->reads > 0)
      return false;
    /* Off the schedule: the next regular read reads it again. */
    s->reads = 1;
    s->last = -1;
    return true;
  }
  double iv = e->interval > 0 ? e->interval : c->r->o.interval;
  /* With quick_second a new entry's first two reads come whenever the
   * caller reads (an event, a second later): off the schedule, which starts
   * at its next read, so they leave no gap before it. */
  bool early = c->r->o.quick_second && s->reads < 2;
  /* A clock that went back (a caller using wall time) makes it due. */
  if (!early && s->last >= 0 && iv > 0 && c->now >= s->last &&
      c->now - s->last < iv * 0.95)
    return false;
  s->last = early ? -1 : c->now;
  if (s->reads < 2)
    s->reads++;
  return true;
}

/* Whether entry e asked for metric group `group` of its class. Callers pass
 * string literals: their bit is looked up once per class and literal. */
static bool wants(const pat_entry_t *e, const char *group) {
  static __thread struct {
    const char *group;
    pat_class_t cls;
    unsigned bit;
  } cache[32];
  static __thread unsigned ncache;
  for (unsigned i = 0; i < ncache; i++)
    if (cache[i].group == group && cache[i].cls == e->cls)
      return e->metrics & cache[i].bit;
  unsigned bit = 0;
  for (unsigned g = 0; pat_group_name(e->cls, g); g++)
    if (strcmp(pat_group_name(e->cls, g), group) == 0)
      bit = 1u << g;
  if (ncache < 32)
    cache[ncache++] = (typeof(cache[0])){group, e->cls, bit};
  return e->metrics & bit;
}

/* Type k of metric group `group` in the class table's row for cls, or
 * NULL: the readers name their collectd types through the rows, so each
 * type is written once. Callers pass string literals: looked up once per
 * class, literal and k. */
static const char *type_of(pat_class_t cls, const char *group, unsigned k) {
  static __thread struct {
    const char *group, *type;
    pat_class_t cls;
    unsigned k;
  } cache[48];
  static __thread unsigned ncache;
  for (unsigned i = 0; i < ncache; i++)
    if (cache[i].group == group && cache[i].cls == cls && cache[i].k == k)
      return cache[i].type;
  const char *type = NULL;
  for (unsigned g = 0; pat_group_name(cls, g); g++)
    if (strcmp(pat_group_name(cls, g), group) == 0)
      for (const char *const *t = pat_group_types(cls, g); *t; t++)
        if (t - pat_group_types(cls, g) == k)
          type = *t;
  if (ncache < 48 && type)
    cache[ncache++] = (typeof(cache[0])){group, type, cls, k};
  return type;
}

/* Sends one value list; -EINVAL for a type the class table lacks. */
static int put(struct cyc *c, const pat_entry_t *e, const char *plugin,
               const char *inst, const char *type, const char *tinst,
               unsigned n, bool derive, const double *g, const int64_t *k) {
  if (!type)
    return -EINVAL;
  rd_value_t v = {.plugin = plugin,
                  .plugin_instance = inst,
                  .type = type,
                  .type_instance = tinst ? tinst : "",
                  .nvalues = n,
                  .derive = derive,
                  .entry = e};
  for (unsigned i = 0; i < n; i++) {
    if (derive)
      v.counter[i] = k[i];
    else
      v.gauge[i] = g[i];
  }
  c->count++;
  return c->emit(&v, c->ud);
}

static int put2(struct cyc *c, const pat_entry_t *e, const char *plugin,
                const char *inst, const char *type, int64_t a, int64_t b) {
  int64_t k[2] = {a, b};
  return put(c, e, plugin, inst, type, NULL, 2, true, NULL, k);
}

static int gauge(struct cyc *c, const pat_entry_t *e, const char *plugin,
                 const char *inst, const char *type, const char *tinst,
                 double v) {
  return put(c, e, plugin, inst, type, tinst, 1, false, &v, NULL);
}

/* ---- shared files ---- */

static int cmp_row(const void *a, const void *b) {
  return strcmp(((const struct row *)a)->name, ((const struct row *)b)->name);
}

/* One line of such a file into *row: the name_field'th word (':'
 * stripped) and up to 16 numbers after it. False when it has no name. */
static bool parse_row(char *line, int name_field, struct row *row) {
  *row = (struct row){0};
  char *p = line;
  for (int field = 0; field <= name_field; field++) {
    while (*p == ' ' || *p == '\t')
      p++;
    char *w = p;
    while (*p && *p != ' ' && *p != '\t' && *p != ':')
      p++;
    if (field == name_field)
      snprintf(row->name, sizeof(row->name), "%.*s", (int)(p - w), w);
    if (*p == ':') /* "eth0:123" when the counter is wide */
      p++;
  }
  for (int nv = 0; nv < 16; nv++) {
    while (*p == ' ' || *p == '\t')
      p++;
    if (*p < '0' || *p > '9')
      break;
    int64_t v = 0;
    while (*p >= '0' && *p <= '9')
      v = v * 10 + (*p++ - '0');
    row->v[nv] = v;
  }
  return row->name[0] != '\0';
}

/* Reads proc/<file> into rows: `skip` header lines, then per line a name
 * (the `name_field`th word, ':' stripped) and the numbers after it. */
static int read_rows(struct cyc *c, const char *file, int skip, int name_field,
                     struct rows *out) {
  if (out->read)
    return 0;
  out->read = true;
  char path[PATH_MAX + 32];
  pm_buf_t b = {0};
  snprintf(path, sizeof(path), "%s/%s", c->r->proc, file);
  int r = pm_file_read(path, 16u << 20, &b);
  if (r < 0) {
    pm_buf_free(&b);
    return r == -ENOENT ? 0 : r;
  }
  size_t lines = 0;
  for (size_t i = 0; i < b.len; i++)
    lines += b.data[i] == '\n';
  out->r = calloc(lines + 1, sizeof(*out->r));
  if (!out->r) {
    pm_buf_free(&b);
    return -ENOMEM;
  }
  /* A hand-rolled scan: these files have a line per device and are read
   * every cycle. */
  int lineno = 0;
  for (char *line = b.data, *next; line && *line; line = next) {
    next = strchr(line, '\n');
    if (next)
      *next++ = '\0';
    if (lineno++ >= skip && parse_row(line, name_field, &out->r[out->n]))
      out->n++;
  }
  pm_buf_free(&b);
  if (out->n > 1)
    qsort(out->r, out->n, sizeof(*out->r), cmp_row);
  return 0;
}

static const struct row *find_row(const struct rows *rows, const char *name) {
  struct row key = {0};
  snprintf(key.name, sizeof(key.name), "%s", name);
  return rows->n ? bsearch(&key, rows->r, rows->n, sizeof(key), cmp_row) : NULL;
}

/* ---- disk, partition ---- */

/* /proc/diskstats after the name: reads merged sectors ms writes merged
 * sectors ms in_progress io_ms weighted_ms */
enum {
  D_RD,
  D_RDM,
  D_RDS,
  D_RDT,
  D_WR,
  D_WRM,
  D_WRS,
  D_WRT,
  D_INPROG,
  D_IOT,
  D_WIOT
};

static int64_t delta(int64_t now, int64_t before) {
  return now >= before ? now - before : now; /* a reset counts from zero */
}

/* Adds the mean time a read and a write took since the last read, times
 * the interval (as collectd's disk plugin accumulates disk_time), to s's
 * sums, and keeps the counters for the next read. */
static void track_latency(struct rstate *s, const int64_t *v, double iv) {
  if (s->seen) {
    int64_t drd = delta(v[D_RD], s->rd_ops), dwr = delta(v[D_WR], s->wr_ops);
    if (drd)
      s->avg_rd +=
          (int64_t)(iv * (double)delta(v[D_RDT], s->rd_time) / (double)drd +
                    .5);
    if (dwr)
      s->avg_wr +=
          (int64_t)(iv * (double)delta(v[D_WRT], s->wr_time) / (double)dwr +
                    .5);
  }
  s->seen = true;
  s->rd_ops = v[D_RD], s->wr_ops = v[D_WR];
  s->rd_time = v[D_RDT], s->wr_time = v[D_WRT];
}

static int read_disk_values(struct cyc *c, const pat_entry_t *e,
                            const char *kernel, const char *inst, double iv) {
  const char *pl = pat_class_plugin(PAT_DISK);
  int r = read_rows(c, "diskstats", 0, 2, &c->disks);
  if (r < 0)
    return r;
  const struct row *row = find_row(&c->disks, kernel);
  struct rstate *s = row ? state(c, pl, inst) : NULL;
  if (!row)
    return 0; /* gone since the last expansion */
  if (!s)
    return -ENOMEM;
  if (!due(c, s, e))
    return 0;
  const int64_t *v = row->v;
  bool all = e->cls == PAT_RESOURCE; /* a data volume: everything */
  bool sparse = c->r->o.sparse;
  /* As collectd's disk plugin: a disk that never did I/O sends nothing. */
  if (sparse && v[D_RD] == 0 && v[D_WR] == 0)
    return 0;
  track_latency(s, v, iv);
  /* Types that stay zero on some devices (zram never merges nor queues)
   * are sent from the first read that saw them non-zero, as collectd
   * does. */
  s->has_merged |= !sparse || v[D_RDM] || v[D_WRM];
  s->has_pending |= !sparse || v[D_INPROG] != 0;
  s->has_io_time |= !sparse || v[D_IOT] != 0;
  if (r == 0 && (all || wants(e, "io"))) {
    if (!sparse || v[D_RDS] || v[D_WRS])
      r = put2(c, e, pl, inst, type_of(PAT_DISK, "io", 0), v[D_RDS] * 512,
               v[D_WRS] * 512);
    if (r == 0)
      r = put2(c, e, pl, inst, type_of(PAT_DISK, "io", 1), v[D_RD], v[D_WR]);
  }
  if (r == 0 && (all || wants(e, "latency")) && (s->avg_rd || s->avg_wr))
    r = put2(c, e, pl, inst, type_of(PAT_DISK, "latency", 0), s->avg_rd,
             s->avg_wr);
  if (r == 0 && (all || wants(e, "merged")) && s->has_merged)
    r = put2(c, e, pl, inst, type_of(PAT_DISK, "merged", 0), v[D_RDM],
             v[D_WRM]);
  if (r == 0 && (all || wants(e, "utilization")) && s->has_io_time)
    r = put2(c, e, pl, inst, type_of(PAT_DISK, "utilization", 0), v[D_IOT],
             v[D_WIOT]);
  if (r == 0 && (all || wants(e, "pending")) && s->has_pending)
    r = gauge(c, e, pl, inst, type_of(PAT_DISK, "pending", 0), NULL,
              (double)v[D_INPROG]);
  return r;
}

static double interval_of(const struct cyc *c, const pat_entry_t *e) {
  return e->interval > 0        ? e->interval
         : c->r->o.interval > 0 ? c->r->o.interval
                                : 10;
}

static int read_disk(struct cyc *c, const pat_entry_t *e) {
  return read_disk_values(c, e, e->kernel, e->instance, interval_of(c, e));
}

/* ---- nic ---- */

/* /proc/net/dev after the name: rx bytes packets errs drop fifo frame
 * compressed multicast, then tx bytes packets errs drop ... */
static int read_nic(struct cyc *c, const pat_entry_t *e) {
  const char *pl = pat_class_plugin(PAT_NIC);
  int r = read_rows(c, "net/dev", 2, 0, &c->nets);
  if (r < 0)
    return r;
  const struct row *row = find_row(&c->nets, e->kernel);
  if (!row)
    return 0;
  struct rstate *s = state(c, pl, e->instance);
  if (!s)
    return -ENOMEM;
  if (!due(c, s, e))
    return 0;
  static const struct {
    const char *group;
    int rx, tx;
  } nic_types[] = {{"traffic", 0, 8},
                   {"packets", 1, 9},
                   {"errors", 2, 10},
                   {"dropped", 3, 11}};
  for (size_t i = 0; r == 0 && i < sizeof(nic_types) / sizeof(nic_types[0]);
       i++)
    if (wants(e, nic_types[i].group))
      r = put2(c, e, pl, e->instance, type_of(PAT_NIC, nic_types[i].group, 0),
               row->v[nic_types[i].rx], row->v[nic_types[i].tx]);
  return r;
}

/* ---- mount ---- */

/* Whether dir is the root of a mount (bind mounts included): statx says
 * so directly on Linux 5.8 and later; older kernels compare devices. */
static bool is_mount_point(const char *dir) {
  char parent[PATH_MAX];
  struct stat a, b;
  struct statx sx;
  if (strcmp(dir, "/") == 0)
    return true;
  if (statx(AT_FDCWD, dir, AT_NO_AUTOMOUNT, STATX_BASIC_STATS, &sx) == 0 &&
      (sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT))
    return sx.stx_attributes & STATX_ATTR_MOUNT_ROOT;
  snprintf(parent, sizeof(parent), "%s/..", dir);
  return stat(dir, &a) == 0 && stat(parent, &b) == 0 &&
         (a.st_dev != b.st_dev || a.st_ino == b.st_ino);
}

/* free, reserved, used of blocks or inodes, as df splits them: made
 * consistent first (total >= free >= available >= 0). Returns the total. */
static double df_split(fsblkcnt_t total, fsblkcnt_t free, fsblkcnt_t avail,
                       double out[3]) {
  if ((int64_t)avail < 0) /* UFS and others may say so */
    avail = 0;
  if (free < avail)
    free = avail;
  if (total < free)
    total = free;
  out[0] = (double)avail;
  out[1] = (double)(free - avail);
  out[2] = (double)(total - free);
  return (double)total;
}

static int read_df_values(struct cyc *c, const pat_entry_t *e, const char *dir,
                          const char *inst) {
  const char *pl = pat_class_plugin(PAT_MOUNT);
  struct statvfs st;
  if (statvfs(dir, &st) < 0)
    return 0; /* unmounted meanwhile: nothing, no zeros */
  if (st.f_blocks == 0)
    return 0; /* no blocks (proc, sysfs): collectd's df skips it too */
  struct rstate *s = state(c, pl, inst);
  if (!s)
    return -ENOMEM;
  if (!due(c, s, e))
    return 0;
  bool all = e->cls == PAT_RESOURCE;
  double bs = (double)(st.f_frsize ? st.f_frsize : st.f_bsize);
  double blk[3], ino[3];
  double blocks = df_split(st.f_blocks, st.f_bfree, st.f_bavail, blk);
  /* No inodes when the filesystem has no inode count (btrfs, vfat); as
   * collectd's df, sparse also when none are free. */
  double files = st.f_files && (st.f_ffree || !c->r->o.sparse)
                     ? df_split(st.f_files, st.f_ffree, st.f_favail, ino)
                     : 0;
  static const char *const parts[3] = {"free", "reserved", "used"};
  int r = 0;
  for (int i = 0; r == 0 && i < 3 && (all || wants(e, "space")); i++)
    r = gauge(c, e, pl, inst, type_of(PAT_MOUNT, "space", 0), parts[i],
              blk[i] * bs);
  for (int i = 0; r == 0 && i < 3 && files > 0 && (all || wants(e, "inodes"));
       i++)
    r = gauge(c, e, pl, inst, type_of(PAT_MOUNT, "inodes", 0), parts[i],
              ino[i]);
  if (r == 0 && !all && wants(e, "percent")) {
    for (int i = 0; r == 0 && i < 3 && blocks > 0; i++)
      r = gauge(c, e, pl, inst, type_of(PAT_MOUNT, "percent", 0), parts[i],
                100.0 * blk[i] / blocks);
    for (int i = 0; r == 0 && i < 3 && files > 0; i++)
      r = gauge(c, e, pl, inst, type_of(PAT_MOUNT, "percent", 1), parts[i],
                100.0 * ino[i] / files);
  }
  return r;
}

static int read_mount(struct cyc *c, const pat_entry_t *e) {
  if (!is_mount_point(e->object))
    return 0;
  return read_df_values(c, e, e->object, e->instance);
}

/* ---- process groups: processes, units, resources ---- */

struct proc_sample {
  unsigned long long start;
  int64_t c[C_N];
  double vm, rss, data, code, stack;
  unsigned threads;
  bool io, zombie;
};

static ssize_t read_at(int dirfd, const char *path, char *buf, size_t len) {
  int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  ssize_t n = read(fd, buf, len - 1);
  close(fd);
  if (n < 0)
    return -errno;
  buf[n] = '\0';
  return n;
}

static int64_t field_after(const char *buf, const char *key) {
  const char *p = strstr(buf, key);
  return p ? strtoll(p + strlen(key), NULL, 10) : 0;
}

/* Reads one process; false when it is gone. */
static bool sample(struct cyc *c, int pid, bool io, bool mem,
                   struct proc_sample *ps) {
  char path[64], buf[4096];
  snprintf(path, sizeof(path), "%d/stat", pid);
  if (read_at(c->procfd, path, buf, sizeof(buf)) <= 0)
    return false;
  const char *p = strrchr(buf, ')');
  if (!p)
    return false;
  /* Fields after the command: state is 1, minflt 8, majflt 10, utime 12,
   * stime 13, num_threads 18, starttime 20, vsize 21, rss 22, startstack
   * 26, kstkesp 27. */
  unsigned long long f[28] = {0};
  int i = 0;
  *ps = (struct proc_sample){0};
  ps->zombie = p[1] == ' ' && p[2] == 'Z';
  for (char *s = NULL, *w = strtok_r((char *)p + 1, " ", &s); w && i < 27;
       w = strtok_r(NULL, " ", &s))
    f[++i] = strtoull(w, NULL, 10);
  ps->start = f[20];
  ps->c[C_MINFLT] = (int64_t)f[8];
  ps->c[C_MAJFLT] = (int64_t)f[10];
  ps->c[C_USER] = (int64_t)(f[12] * 1000000ull / (unsigned long long)c->r->hz);
  ps->c[C_SYST] = (int64_t)(f[13] * 1000000ull / (unsigned long long)c->r->hz);
  ps->threads = f[18] ? (unsigned)f[18] : 1;
  ps->vm = (double)f[21];
  ps->rss = (double)f[22] * (double)c->r->page;
  /* collectd's ps_stacksize: the distance from the stack's start to the
   * stack pointer. Linux shows kstkesp as 0 for a running process, so this
   * is the start address itself; kept as collectd computes it, so the two
   * agree. */
  ps->stack = (double)(f[26] > f[27] ? f[26] - f[27] : f[27] - f[26]);
  if (io) {
    snprintf(path, sizeof(path), "%d/io", pid);
    if (read_at(c->procfd, path, buf, sizeof(buf)) > 0) {
      ps->io = true;
      ps->c[C_RCHAR] = field_after(buf, "rchar:");
      ps->c[C_WCHAR] = field_after(buf, "wchar:");
      ps->c[C_SYSCR] = field_after(buf, "syscr:");
      ps->c[C_SYSCW] = field_after(buf, "syscw:");
      ps->c[C_RBYTES] = field_after(buf, "read_bytes:");
      ps->c[C_WBYTES] = field_after(buf, "write_bytes:");
    }
  }
  if (mem) {
    snprintf(path, sizeof(path), "%d/status", pid);
    if (read_at(c->procfd, path, buf, sizeof(buf)) > 0) {
      ps->data = (double)field_after(buf, "VmData:") * 1024;
      ps->code =
          (double)(field_after(buf, "VmExe:") + field_after(buf, "VmLib:")) *
          1024;
    }
  }
  return true;
}

/* The pids of cgroup cg (a path like /system.slice/x.service), from the
 * first hierarchy that has it. */
static int cgroup_pids(struct cyc *c, const char *cg, int **ret,
                       size_t *ret_n) {
  const char *roots[] = {c->r->o.cgroup_root, "/sys/fs/cgroup",
                         "/sys/fs/cgroup/unified", "/sys/fs/cgroup/systemd"};
  pm_buf_t b = {0};
  int r = -ENOENT;
  for (size_t i = 0; r < 0 && i < sizeof(roots) / sizeof(roots[0]); i++) {
    if (!roots[i] || (i > 0 && c->r->o.cgroup_root))
      continue;
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s%s%s/cgroup.procs", roots[i],
             cg[0] == '/' ? "" : "/", cg);
    r = pm_file_read(path, 16u << 20, &b);
  }
  *ret = NULL;
  *ret_n = 0;
  if (r < 0) {
    pm_buf_free(&b);
    return 0; /* no such cgroup here: no processes */
  }
  size_t n = 0;
  for (size_t i = 0; i < b.len; i++)
    n += b.data[i] == '\n';
  int *pids = calloc(n + 1, sizeof(*pids));
  if (!pids) {
    pm_buf_free(&b);
    return -ENOMEM;
  }
  n = 0;
  for (char *s = NULL, *w = strtok_r(b.data ? b.data : (char[]){""}, "\n", &s);
       w; w = strtok_r(NULL, "\n", &s))
    if (atoi(w) > 0)
      pids[n++] = atoi(w);
  pm_buf_free(&b);
  *ret = pids;
  *ret_n = n;
  return 0;
}

static struct pid_state *find_pid(struct rstate *s, int pid) {
  for (size_t i = 0; i < s->npids; i++)
    if (s->pids[i].pid == pid)
      return &s->pids[i];
  return NULL;
}

/* Seconds since boot (the clock of a process's starttime), read once a
 * cycle; negative when unknown. */
static double uptime(struct cyc *c) {
  if (c->uptime == 0) {
    char buf[128];
    c->uptime = -1;
    if (c->procfd >= 0 && read_at(c->procfd, "uptime", buf, sizeof(buf)) > 0)
      c->uptime = strtod(buf, NULL);
  }
  return c->uptime;
}

/* Sums the group's processes. Counters start at 0 at the group's first read
 * (as collectd's processes plugin's do) and go up by each member's growth
 * since the last read; a member that exits leaves what it added. A member
 * that joins adds its whole counters when it started after the group's last
 * read, or up to an interval before it (the lag of a process entry's pid
 * list behind /proc), but not before the group's first read: all of its
 * life was watched (collectd adds a new process's counters too). Any other
 * joiner adds only its growth from now on: no jump when an old process
 * joins. Zombies count as no process, as in collectd. */
/* What the group's live members add up to in one read. */
struct group_sum {
  unsigned procs, threads;
  double vm, rss, data, code, stack;
  bool has_io;
};

/* Samples pids into sum and s's counters (the rules above); s keeps the
 * members seen for the next read. -ENOMEM leaves s as it was. */
static int sum_group(struct cyc *c, const pat_entry_t *e, struct rstate *s,
                     const int *pids, size_t n, struct group_sum *sum) {
  bool io = wants(e, "io"), mem = wants(e, "memory");
  struct pid_state *next = calloc(n ? n : 1, sizeof(*next));
  if (!next)
    return -ENOMEM;
  size_t nn = 0;
  double hz = (double)c->r->hz, now = uptime(c);
  double since = s->uptime - interval_of(c, e);
  if (since < s->first_uptime)
    since = s->first_uptime;
  for (size_t i = 0; i < n; i++) {
    struct proc_sample ps;
    if (!sample(c, pids[i], io, mem, &ps))
      continue;
    struct pid_state *old = find_pid(s, pids[i]);
    if (old && old->start != ps.start)
      old = NULL; /* the pid was reused */
    if (ps.zombie) {
      if (old)
        next[nn++] = *old; /* counters as they were: nothing to add */
      continue;
    }
    sum->procs++;
    sum->threads += ps.threads;
    sum->vm += ps.vm, sum->rss += ps.rss, sum->data += ps.data;
    sum->code += ps.code, sum->stack += ps.stack;
    sum->has_io |= ps.io;
    bool fresh =
        !old && s->seen && s->uptime > 0 && (double)ps.start / hz >= since;
    for (int k = 0; k < C_N; k++)
      s->acc[k] += old ? delta(ps.c[k], old->c[k]) : fresh ? ps.c[k] : 0;
    next[nn++] = (struct pid_state){.pid = pids[i], .start = ps.start};
    memcpy(next[nn - 1].c, ps.c, sizeof(ps.c));
  }
  free(s->pids);
  s->pids = next;
  s->npids = nn;
  if (!s->seen)
    s->first_uptime = now;
  s->seen = true;
  s->uptime = now;
  s->has_io |= sum->has_io;
  return 0;
}

/* Sends the groups e asked for, as collectd's processes plugin names them. */
static int put_group(struct cyc *c, const pat_entry_t *e,
                     const struct rstate *s, const struct group_sum *sum) {
  const char *pl = pat_class_plugin(PAT_PROCESS);
  const char *in = e->instance;
  int r = 0;
  if (wants(e, "count")) {
    double g[2] = {sum->procs, sum->threads};
    r = put(c, e, pl, in, type_of(PAT_PROCESS, "count", 0), NULL, 2, false, g,
            NULL);
  }
  if (r == 0 && wants(e, "memory")) {
    /* In the order of the memory group's types in the class row. */
    const double mem[] = {sum->rss, sum->vm, sum->data, sum->code, sum->stack};
    for (unsigned i = 0; r == 0 && i < sizeof(mem) / sizeof(mem[0]); i++)
      r = gauge(c, e, pl, in, type_of(PAT_PROCESS, "memory", i), NULL, mem[i]);
  }
  if (r == 0 && wants(e, "cpu"))
    r = put2(c, e, pl, in, type_of(PAT_PROCESS, "cpu", 0), s->acc[C_USER],
             s->acc[C_SYST]);
  if (r == 0 && wants(e, "faults"))
    r = put2(c, e, pl, in, type_of(PAT_PROCESS, "faults", 0), s->acc[C_MINFLT],
             s->acc[C_MAJFLT]);
  if (r == 0 && wants(e, "io") && s->has_io) {
    r = put2(c, e, pl, in, type_of(PAT_PROCESS, "io", 0), s->acc[C_RCHAR],
             s->acc[C_WCHAR]);
    if (r == 0)
      r = put2(c, e, pl, in, type_of(PAT_PROCESS, "io", 1), s->acc[C_SYSCR],
               s->acc[C_SYSCW]);
    if (r == 0)
      r = put2(c, e, pl, in, type_of(PAT_PROCESS, "io", 2), s->acc[C_RBYTES],
               s->acc[C_WBYTES]);
  }
  return r;
}

static int read_group(struct cyc *c, const pat_entry_t *e, const int *pids,
                      size_t n) {
  const char *pl = pat_class_plugin(PAT_PROCESS);
  struct rstate *s = state(c, pl, e->instance);
  if (!s)
    return -ENOMEM;
  if (!due(c, s, e))
    return 0;
  struct group_sum sum = {0};
  int r = sum_group(c, e, s, pids, n, &sum);
  if (r < 0 || sum.procs == 0)
    return r; /* all gone: the next expansion drops the entry; no zeros */
  return put_group(c, e, s, &sum);
}

static int read_process(struct cyc *c, const pat_entry_t *e) {
  return read_group(c, e, e->pids, e->npids);
}

static int read_cgroup_group(struct cyc *c, const pat_entry_t *e) {
  int *pids;
  size_t n;
  if (!e->cgroup)
    return 0;
  int r = cgroup_pids(c, e->cgroup, &pids, &n);
  /* Even empty (a restarting service): the group's counters must survive
   * until its processes are back. */
  if (r == 0)
    r = read_group(c, e, pids, n);
  free(pids);
  return r;
}

/* Whether an entry of class cls in e already reads `what` (its object for
 * mounts, its kernel name for disks). */
static bool covered(const pat_entries_t *e, pat_class_t cls, const char *what) {
  for (size_t i = 0; i < pat_entries_count(e); i++) {
    const pat_entry_t *o = pat_entries_at(e, i);
    if ((o->cls == cls || (cls == PAT_DISK && o->cls == PAT_PARTITION)) &&
        strcmp(cls == PAT_MOUNT ? o->object : o->kernel, what) == 0)
      return true;
  }
  return false;
}

/* A resource: the processes of its cgroup (systemd resources), and its
 * data volume where it is mounted here. */
static int read_resource(struct cyc *c, const pat_entry_t *e) {
  int r = read_cgroup_group(c, e);
  if (r < 0 || !wants(e, "volume"))
    return r;
  if (e->volume_dir && is_mount_point(e->volume_dir) &&
      !covered(c->e, PAT_MOUNT, e->volume_dir)) {
    char inst[PAT_NAME_MAX + 1];
    pat_mount_instance(e->volume_dir, inst, sizeof(inst));
    r = read_df_values(c, e, e->volume_dir, inst);
  }
  char real[PATH_MAX];
  if (r == 0 && e->volume_device && realpath(e->volume_device, real)) {
    const char *kernel = strrchr(real, '/') + 1;
    if (!covered(c->e, PAT_DISK, kernel))
      r = read_disk_values(c, e, kernel, kernel, interval_of(c, e));
  }
  return r;
}

/* The readers the class table's rows name. */
static int (*const readers[PAT_NREADS])(struct cyc *, const pat_entry_t *) = {
    [PAT_READ_DISK] = read_disk,
    [PAT_READ_NIC] = read_nic,
    [PAT_READ_DF] = read_mount,
    [PAT_READ_PROCESSES] = read_process,
    [PAT_READ_CGROUP] = read_cgroup_group,
    [PAT_READ_RESOURCE] = read_resource,
};

/* Moves every state of from into to (a state to cannot take is freed) and
 * leaves from empty: 0 or -ENOMEM. States already in to are kept and
 * from's copies freed. */
static int move_states(pm_map_t *to, pm_map_t *from) {
  int rc = 0;
  size_t it = 0;
  const char *key;
  void *s;
  while (pm_map_next(from, &it, &key, &s)) {
    int r = pm_map_has(to, key) ? 0 : pm_map_set(to, key, s);
    if (r <= 0)
      state_free(s);
    if (r < 0)
      rc = r;
  }
  pm_map_free(from, NULL);
  return rc;
}

static int read_cycle(rd_reader_t *r, const pat_entries_t *e, double now,
                      rd_emit_fn emit, void *ud, bool only_new);

int rd_reader_read(rd_reader_t *r, const pat_entries_t *e, double now,
                   rd_emit_fn emit, void *ud) {
  return read_cycle(r, e, now, emit, ud, false);
}

int rd_reader_read_new(rd_reader_t *r, const pat_entries_t *e, double now,
                       rd_emit_fn emit, void *ud) {
  return read_cycle(r, e, now, emit, ud, true);
}

static int read_cycle(rd_reader_t *r, const pat_entries_t *e, double now,
                      rd_emit_fn emit, void *ud, bool only_new) {
  struct cyc c = {.r = r,
                  .e = e,
                  .now = now,
                  .emit = emit,
                  .ud = ud,
                  .procfd = -1,
                  .only_new = only_new};
  int rc = 0;
  c.procfd = open(r->proc, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  for (size_t i = 0; e && rc >= 0 && i < pat_entries_count(e); i++) {
    const pat_entry_t *en = pat_entries_at(e, i);
    const struct pat_class_desc *d = pat_class_desc(en->cls);
    rc = d ? readers[d->reader](&c, en) : 0;
  }
  if (c.procfd >= 0)
    close(c.procfd);
  free(c.disks.r);
  free(c.nets.r);
  if (only_new) {
    int k = move_states(&r->states, &c.states);
    return rc < 0 ? rc : k < 0 ? k : c.count;
  }
  /* After an error, entries not reached yet keep their state; otherwise
   * the states of entries that are gone go with the old table. */
  if (rc < 0)
    move_states(&c.states, &r->states);
  pm_map_free(&r->states, state_free);
  r->states = c.states;
  return rc < 0 ? rc : c.count;
}

/* ---- the node itself ---- */

int rd_reader_read_node(rd_reader_t *r, rd_emit_fn emit, void *ud) {
  char path[PATH_MAX + 32];
  pm_buf_t b = {0};
  int count = 0, rc = 0;
  snprintf(path, sizeof(path), "%s/loadavg", r->proc);
  if (pm_file_read(path, 4096, &b) == 0 && b.data) {
    rd_value_t v = {.plugin = "load",
                    .plugin_instance = "",
                    .type = "load",
                    .type_instance = "",
                    .nvalues = 3};
    if (sscanf(b.data, "%lf %lf %lf", &v.gauge[0], &v.gauge[1], &v.gauge[2]) ==
        3) {
      count++;
      rc = emit(&v, ud);
    }
  }
  snprintf(path, sizeof(path), "%s/stat", r->proc);
  if (rc == 0 && pm_file_read(path, 1u << 20, &b) == 0 && b.data &&
      strncmp(b.data, "cpu ", 4) == 0) {
    /* user nice system idle iowait irq softirq steal; guest time is
     * already part of user. */
    static const char *const states[8] = {"user",    "nice", "system",
                                          "idle",    "wait", "interrupt",
                                          "softirq", "steal"};
    long long j[8] = {0};
    sscanf(b.data + 4, "%lld %lld %lld %lld %lld %lld %lld %lld", &j[0], &j[1],
           &j[2], &j[3], &j[4], &j[5], &j[6], &j[7]);
    int64_t d[8], total = 0;
    for (int i = 0; i < 8; i++) {
      d[i] = r->cpu_seen && j[i] >= r->cpu[i] ? j[i] - r->cpu[i] : 0;
      total += d[i];
      r->cpu[i] = j[i];
    }
    r->cpu_seen = true;
    for (int i = 0; rc == 0 && total > 0 && i < 8; i++) {
      rd_value_t v = {.plugin = "cpu",
                      .plugin_instance = "",
                      .type = "percent",
                      .type_instance = states[i],
                      .nvalues = 1,
                      .gauge = {100.0 * (double)d[i] / (double)total}};
      count++;
      rc = emit(&v, ud);
    }
  }
  pm_buf_free(&b);
  return rc < 0 ? rc : count;
}
