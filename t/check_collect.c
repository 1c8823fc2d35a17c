/* Unit tests for reading values (reading/collect.c) and the monitor
 * (pattern/monitor.c): captured /proc formats in a private tree, exact
 * expected counters, process groups whose members come and go. */
#include "config.h"

#include "check_expand.h"
#include "check_run.h"
#include "pm_map.h"
#include "reading.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

static char tmp[] = "/tmp/check_collect.XXXXXX";
static long hz, page;

static void setup(void) {
  ck_assert_ptr_nonnull(mkdtemp(tmp));
  hz = sysconf(_SC_CLK_TCK);
  page = sysconf(_SC_PAGESIZE);
}

static void teardown(void) {
  char *argv[] = {"rm", "-rf", tmp, NULL};
  int st;
  pm_spawn(argv, 5000, NULL, NULL, &st);
  strcpy(tmp, "/tmp/check_collect.XXXXXX");
}

static void put_file(const char *rel, const char *text) {
  char path[512];
  snprintf(path, sizeof(path), "%s/%s", tmp, rel);
  for (char *p = path + strlen(tmp) + 1; (p = strchr(p, '/')); p++) {
    *p = '\0';
    mkdir(path, 0755);
    *p = '/';
  }
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fputs(text, f);
  fclose(f);
}

/* A process in the private /proc: utime/stime in ticks, rss in pages; its
 * stack starts at 140000000000 + pid and kstkesp is 0, as Linux shows it. */
static void put_proc_state(int pid, const char *comm, char state,
                           unsigned long long utime, unsigned long long stime,
                           unsigned long long start, long rss,
                           unsigned long long rchar) {
  char rel[64], text[512];
  snprintf(rel, sizeof(rel), "proc/%d/stat", pid);
  snprintf(text, sizeof(text),
           "%d (%s) %c 1 %d %d 0 -1 4194560 100 0 2 0 %llu %llu 0 0 20 0 3 0 "
           "%llu 1048576 %ld 18446744073709551615 1 1 %llu 0 0 0 0 0 0 0 0 0 "
           "17 0 0 0 0 0 0\n",
           pid, comm, state, pid, pid, utime, stime, start, rss,
           140000000000ULL + (unsigned long long)pid);
  put_file(rel, text);
  snprintf(rel, sizeof(rel), "proc/%d/io", pid);
  snprintf(text, sizeof(text),
           "rchar: %llu\nwchar: 20\nsyscr: 3\nsyscw: 4\nread_bytes: 4096\n"
           "write_bytes: 8192\ncancelled_write_bytes: 0\n",
           rchar);
  put_file(rel, text);
  snprintf(rel, sizeof(rel), "proc/%d/status", pid);
  put_file(rel, "Name:\tx\nVmData:\t    100 kB\nVmExe:\t     10 kB\nVmLib:\t   "
                "   5 kB\n");
}

static void put_proc(int pid, const char *comm, unsigned long long utime,
                     unsigned long long stime, unsigned long long start,
                     long rss, unsigned long long rchar) {
  put_proc_state(pid, comm, 'S', utime, stime, start, rss, rchar);
}

/* /proc/uptime: seconds since boot, the clock of a process's start time. */
static void put_uptime(double seconds) {
  char text[64];
  snprintf(text, sizeof(text), "%.2f 1.00\n", seconds);
  put_file("proc/uptime", text);
}

/* collectd's types.db (TYPES_DB in the environment, else Debian's): for
 * each type the number of data sources and whether all are DERIVE (1), all
 * GAUGE (2) or mixed (3), stored as nds * 4 + kind. */
static pm_map_t types_db;

static void load_types_db(void) {
  if (types_db.n)
    return;
  const char *path = getenv("TYPES_DB");
  if (!path)
    path = "/usr/share/collectd/types.db";
  FILE *f = fopen(path, "r");
  ck_assert_msg(f != NULL, "%s: %s (collectd-core installs it)", path,
                strerror(errno));
  char line[1024];
  while (fgets(line, sizeof(line), f)) {
    char name[64];
    int off;
    if (line[0] == '#' || sscanf(line, "%63s%n", name, &off) != 1)
      continue;
    uintptr_t nds = 0, kind = 0;
    /* "ds:TYPE:min:max, ..." */
    for (char *save = NULL, *ds = strtok_r(line + off, ",", &save); ds;
         ds = strtok_r(NULL, ",", &save)) {
      const char *colon = strchr(ds, ':');
      if (!colon)
        continue;
      nds++;
      kind |= strncmp(colon, ":DERIVE:", 8) == 0 ? 1 : 2;
    }
    ck_assert_int_ge(
        pm_map_set(&types_db, name, (void *)(uintptr_t)(nds * 4 + kind)), 0);
  }
  fclose(f);
  ck_assert_uint_gt(types_db.n, 100);
}

/* A value list the reader made must be what collectd itself would accept
 * (its type in types.db, as many values, DERIVE for counters) and one of the
 * types the class table lists for the entry's class: the table and the
 * reader name the same types. */
static void check_value_type(const rd_value_t *v) {
  load_types_db();
  uintptr_t t = (uintptr_t)pm_map_get(&types_db, v->type);
  ck_assert_msg(t != 0, "type %s is not in types.db", v->type);
  ck_assert_msg(t / 4 == v->nvalues, "type %s: %u values, types.db has %u",
                v->type, v->nvalues, (unsigned)(t / 4));
  ck_assert_msg((t & 3) == (v->derive ? 1u : 2u),
                "type %s sent as %s, types.db disagrees", v->type,
                v->derive ? "DERIVE" : "GAUGE");
  if (!v->entry)
    return;
  /* A resource's data volume is read as the df and disk plugins read a
   * mount or a disk: every group of that class counts. */
  pat_class_t cls = v->entry->cls;
  unsigned groups = v->entry->metrics;
  if (strcmp(v->plugin, pat_class_plugin(cls)) != 0) {
    ck_assert_int_eq(cls, PAT_RESOURCE);
    cls = strcmp(v->plugin, "df") == 0 ? PAT_MOUNT : PAT_DISK;
    ck_assert_str_eq(v->plugin, pat_class_plugin(cls));
    groups = ~0u;
  }
  bool listed = false;
  const char *const *types;
  for (unsigned g = 0; !listed && (types = pat_group_types(cls, g)); g++)
    for (; !listed && *types; types++)
      listed = (groups & (1u << g)) && strcmp(*types, v->type) == 0;
  ck_assert_msg(listed, "%s %s: type %s is not in a group asked for",
                pat_class_name(v->entry->cls), v->entry->instance, v->type);
}

/* Every type of every group of every class is a types.db type. */
START_TEST(class_types_are_in_types_db) {
  load_types_db();
  unsigned n = 0;
  for (unsigned c = 0; c < PAT_NCLASSES; c++) {
    const char *const *types;
    for (unsigned g = 0; (types = pat_group_types(c, g)); g++)
      for (; *types; types++, n++)
        ck_assert_msg(pm_map_has(&types_db, *types),
                      "%s/%s: %s not in types.db", pat_class_name(c),
                      pat_group_name(c, g), *types);
  }
  ck_assert_uint_gt(n, 20);
}
END_TEST

/* Every row of the class table names its provider, its reader and, for
 * each gmond metric, a types.db type of its group (or of the plugin it
 * names) with the data source it reads. */
START_TEST(class_rows_are_complete) {
  load_types_db();
  for (unsigned c = 0; c < PAT_NCLASSES; c++) {
    const struct pat_class_desc *d = pat_class_desc(c);
    ck_assert_ptr_nonnull(d);
    ck_assert_msg(d->provider != NULL, "%s: no provider", d->name);
    ck_assert_msg(d->reader < PAT_NREADS, "%s: no reader", d->name);
    for (const struct pat_group_desc *g = d->groups; g->name; g++)
      for (const struct pat_gmond_desc *m = g->gmond; m->suffix; m++) {
        uintptr_t t = (uintptr_t)pm_map_get(&types_db, m->type);
        ck_assert_msg(t != 0, "%s/%s: %s not in types.db", d->name, g->name,
                      m->type);
        ck_assert_msg(m->ds < t / 4, "%s/%s: %s has no data source %u", d->name,
                      g->name, m->type, m->ds);
        bool listed = m->plugin != NULL;
        for (const char *const *ty = g->types; *ty; ty++)
          listed |= strcmp(*ty, m->type) == 0;
        ck_assert_msg(listed, "%s/%s: gmond %s reads %s, not one of the group",
                      d->name, g->name, m->suffix, m->type);
      }
  }
  ck_assert_ptr_null(pat_class_desc(PAT_NCLASSES));
}
END_TEST

/* Collected value lists, as "plugin-inst/type-tinst=v1[:v2]". */
struct got {
  char lines[256][160];
  int n;
};

static int collect(const rd_value_t *v, void *ud) {
  struct got *g = ud;
  ck_assert_int_lt(g->n, 256);
  check_value_type(v);
  char vals[80] = "";
  for (unsigned i = 0; i < v->nvalues; i++) {
    size_t l = strlen(vals);
    if (v->derive)
      snprintf(vals + l, sizeof(vals) - l, "%s%lld", i ? ":" : "",
               (long long)v->counter[i]);
    else
      snprintf(vals + l, sizeof(vals) - l, "%s%.0f", i ? ":" : "", v->gauge[i]);
  }
  snprintf(g->lines[g->n++], 160, "%s-%s/%s%s%s=%s", v->plugin,
           v->plugin_instance, v->type, v->type_instance[0] ? "-" : "",
           v->type_instance, vals);
  return 0;
}

static const char *find(const struct got *g, const char *prefix) {
  for (int i = 0; i < g->n; i++)
    if (strncmp(g->lines[i], prefix, strlen(prefix)) == 0)
      return g->lines[i];
  return NULL;
}

static void assert_line(const struct got *g, const char *want) {
  for (int i = 0; i < g->n; i++)
    if (strcmp(g->lines[i], want) == 0)
      return;
  char all[4096] = "";
  for (int i = 0; i < g->n && strlen(all) < 3800; i++)
    strcat(strcat(all, g->lines[i]), "\n");
  ck_abort_msg("missing %s in:\n%s", want, all);
}

static rd_reader_t *reader_opts(double interval, bool quick_second,
                                bool sparse) {
  char proc[256];
  snprintf(proc, sizeof(proc), "%s/proc", tmp);
  rd_opts_t o = {.proc_root = proc,
                 .interval = interval,
                 .quick_second = quick_second,
                 .sparse = sparse};
  rd_reader_t *r = NULL;
  ck_assert_int_eq(rd_reader_new(&o, &r), 0);
  return r;
}

static rd_reader_t *reader_quick(double interval, bool quick_second) {
  return reader_opts(interval, quick_second, false);
}

static rd_reader_t *reader(double interval) {
  return reader_quick(interval, false);
}

/* A reader of the test's /proc and its cgroup tree (units). */
static rd_reader_t *reader_cg(double interval) {
  char proc[256], cg[256];
  snprintf(proc, sizeof(proc), "%s/proc", tmp);
  snprintf(cg, sizeof(cg), "%s/cg", tmp);
  rd_opts_t o = {.proc_root = proc, .cgroup_root = cg, .interval = interval};
  rd_reader_t *r = NULL;
  ck_assert_int_eq(rd_reader_new(&o, &r), 0);
  return r;
}

/* /proc/diskstats as Linux 6.x writes it (captured line format). */
static const char *diskstats(long rd, long rd_sect, long rd_ms, long wr,
                             long wr_sect, long wr_ms) {
  static char buf[512];
  snprintf(buf, sizeof(buf),
           " 254       0 vda %ld 12 %ld %ld %ld 34 %ld %ld 2 900 1900 0 0 0 0 "
           "5 6\n   7       0 loop0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n",
           rd, rd_sect, rd_ms, wr, wr_sect, wr_ms);
  return buf;
}

static const char disk_snap[] =
    "{\"patmon_snapshot\": 1, \"classes\": [\"disk\"], \"objects\": ["
    "{\"class\": \"disk\", \"name\": \"vda\", \"object\": \"/dev/vda\", "
    "\"props\": {\"KERNEL\": \"vda\"}},"
    "{\"class\": \"disk\", \"name\": \"gone\", \"props\": {\"KERNEL\": "
    "\"gone\"}}]}";

START_TEST(disk_values_like_collectd) {
  pat_entries_t *e =
      expand("pattern \"d\" { class = disk  name = \"sys-%k\" }\n", disk_snap);
  rd_reader_t *r = reader(10);
  struct got g = {0};
  put_file("proc/diskstats", diskstats(100, 2000, 500, 50, 4000, 1000));
  ck_assert_int_eq(rd_reader_read(r, e, 0, collect, &g), 5);
  assert_line(&g, "disk-sys-vda/disk_octets=1024000:2048000");
  assert_line(&g, "disk-sys-vda/disk_ops=100:50");
  assert_line(&g, "disk-sys-vda/disk_merged=12:34");
  assert_line(&g, "disk-sys-vda/disk_io_time=900:1900");
  ck_assert_ptr_null(find(&g, "disk-sys-vda/disk_time")); /* no average yet */
  ck_assert_ptr_null(find(&g, "disk-sys-gone")); /* not in diskstats: nothing */
  /* 20 more reads took 300 ms: 15 ms each, over a 10 s interval -> +150;
   * 10 more writes took 500 ms: 50 ms each -> +500 (collectd's disk_time). */
  put_file("proc/diskstats", diskstats(120, 2100, 800, 60, 4100, 1500));
  g.n = 0;
  ck_assert_int_eq(rd_reader_read(r, e, 10, collect, &g), 6);
  assert_line(&g, "disk-sys-vda/disk_time=150:500");
  assert_line(&g, "disk-sys-vda/pending_operations=2");
  rd_reader_free(r);
  pat_entries_free(e);
}
END_TEST

/* Sparse, as collectd: nothing for a disk that never did I/O, and
 * disk_merged, pending_operations and disk_io_time only from the first read
 * that saw them non-zero (a zram disk never merges nor queues). Not sparse
 * (the gmond module): every type from the first read. */
START_TEST(disk_types_sent_as_collectd_does) {
  static const char line[] =
      " 251       0 vda %d 0 %d 0 %d 0 %d 0 %d %d %d 0 0 0 0 0 0\n";
  pat_entries_t *e = expand("pattern \"d\" { class = disk }\n", disk_snap);
  rd_reader_t *r = reader_opts(1, false, true);
  static const struct {
    int rd, rds, wr, wrs, inprog, iot, wiot;
    const char *want; /* the types sent, in order */
  } reads[] = {
      {0, 0, 0, 0, 0, 0, 0, ""},
      {0, 0, 2, 0, 0, 0, 0, "disk_ops"},
      {4, 8, 2, 8, 0, 0, 0, "disk_octets disk_ops"},
      {4, 8, 6, 16, 1, 0, 0, "disk_octets disk_ops pending_operations"},
      {4, 8, 6, 16, 0, 3, 3,
       "disk_octets disk_ops disk_io_time "
       "pending_operations"},
  };
  for (size_t i = 0; i < sizeof(reads) / sizeof(reads[0]); i++) {
    char text[256], types[256] = "";
    snprintf(text, sizeof(text), line, reads[i].rd, reads[i].rds, reads[i].wr,
             reads[i].wrs, reads[i].inprog, reads[i].iot, reads[i].wiot);
    put_file("proc/diskstats", text);
    struct got g = {0};
    ck_assert_int_ge(rd_reader_read(r, e, (double)i, collect, &g), 0);
    for (int k = 0; k < g.n; k++) {
      char *slash = strchr(g.lines[k], '/');
      size_t l = strcspn(slash + 1, "=");
      snprintf(types + strlen(types), sizeof(types) - strlen(types), "%s%.*s",
               k ? " " : "", (int)l, slash + 1);
    }
    ck_assert_msg(strcmp(types, reads[i].want) == 0,
                  "read %zu: [%s], want [%s]", i, types, reads[i].want);
  }
  rd_reader_free(r);
  r = reader(1);
  struct got g = {0};
  ck_assert_int_eq(rd_reader_read(r, e, 0, collect, &g), 5);
  assert_line(&g, "disk-vda/disk_merged=0:0");
  assert_line(&g, "disk-vda/pending_operations=0");
  rd_reader_free(r);
  pat_entries_free(e);
}
END_TEST

/* A pattern's interval holds; with quick_second (the gmond module, which
 * makes rates itself) a new entry's second read comes at the next call, and
 * its schedule starts at the read after: no gap before it. */
START_TEST(disk_groups_and_intervals) {
  pat_entries_t *e = expand("pattern \"d\" { class = disk  metrics = { io }  "
                            "interval = 30 }\n",
                            disk_snap);
  static const struct {
    bool quick;
    double t[5];
    int n[5];
  } runs[] = {{false, {100, 110, 120, 130, 131}, {2, 0, 0, 2, 0}},
              {true, {100, 101, 110, 120, 140}, {2, 2, 2, 0, 2}}};
  put_file("proc/diskstats", diskstats(100, 2000, 500, 50, 4000, 1000));
  for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
    rd_reader_t *r = reader_quick(10, runs[i].quick);
    for (int k = 0; k < 5; k++) {
      struct got g = {0};
      ck_assert_msg(rd_reader_read(r, e, runs[i].t[k], collect, &g) ==
                        runs[i].n[k],
                    "quick %d, read at %g", runs[i].quick, runs[i].t[k]);
      if (runs[i].n[k])
        assert_line(&g, "disk-vda/disk_ops=100:50");
    }
    rd_reader_free(r);
  }
  pat_entries_free(e);
}
END_TEST

/* The node's load and cpu, as collectd's load and cpu plugins give them. */
START_TEST(node_load_and_cpu) {
  rd_reader_t *r = reader(10);
  struct got g = {0};
  put_file("proc/loadavg", "2.00 3.00 4.00 1/345 12345\n");
  put_file("proc/stat", "cpu  100 0 50 800 50 0 0 0 0 0\n"
                        "cpu0 100 0 50 800 50 0 0 0 0 0\n");
  /* The first call has no cpu interval yet: load only. */
  ck_assert_int_eq(rd_reader_read_node(r, collect, &g), 1);
  assert_line(&g, "load-/load=2:3:4");
  g.n = 0;
  put_file("proc/stat", "cpu  130 0 60 950 60 0 0 0 0 0\n");
  ck_assert_int_eq(rd_reader_read_node(r, collect, &g), 9);
  /* 200 jiffies: user 30, system 10, idle 150, wait 10. */
  assert_line(&g, "cpu-/percent-user=15");
  assert_line(&g, "cpu-/percent-system=5");
  assert_line(&g, "cpu-/percent-idle=75");
  assert_line(&g, "cpu-/percent-wait=5");
  assert_line(&g, "cpu-/percent-steal=0");
  rd_reader_free(r);
}
END_TEST

/* /proc/net/dev as Linux 6.x writes it, lo and eth0. */
#define NET_DEV                                                                \
  "Inter-|   Receive                                                |  "       \
  "Transmit\n"                                                                 \
  " face |bytes    packets errs drop fifo frame compressed "                   \
  "multicast|bytes    packets errs drop fifo colls carrier compressed\n"       \
  "    lo: 1000 10 0 0 0 0 0 0 1000 10 0 0 0 0 0 0\n"                          \
  "  eth0: 123456 789 1 2 0 0 0 0 654321 987 3 4 0 0 0 0\n"

START_TEST(nic_values) {
  put_file("proc/net/dev", NET_DEV);
  pat_entries_t *e = expand(
      "pattern \"n\" { class = nic  match = { \"NAME==eth*\" }  metrics = { "
      "traffic, errors } }\n",
      "{\"patmon_snapshot\": 1, \"objects\": [{\"class\": \"nic\", \"name\": "
      "\"eth0\", \"props\": {\"NAME\": \"eth0\"}}, {\"class\": \"nic\", "
      "\"name\": \"lo\", \"props\": {\"NAME\": \"lo\"}}]}");
  rd_reader_t *r = reader(10);
  struct got g = {0};
  ck_assert_int_eq(rd_reader_read(r, e, 0, collect, &g), 2);
  assert_line(&g, "interface-eth0/if_octets=123456:654321");
  assert_line(&g, "interface-eth0/if_errors=1:3");
  rd_reader_free(r);
  pat_entries_free(e);
}
END_TEST

/* A NIC that appears between two reads is read at once, alone; the others
 * keep their schedule; the next regular read reads it again (its rates). */
START_TEST(new_entries_read_at_once) {
  put_file("proc/net/dev", NET_DEV "  eth1: 5 6 0 0 0 0 0 0 7 8 0 0 0 0 0 0\n");
  const char *pat = "pattern \"n\" { class = nic  metrics = { traffic } }\n";
  pat_entries_t *old =
      expand(pat, "{\"patmon_snapshot\": 1, \"objects\": [{\"class\": \"nic\", "
                  "\"name\": \"eth0\", \"props\": {\"NAME\": \"eth0\"}}]}");
  pat_entries_t *now = expand(
      pat, "{\"patmon_snapshot\": 1, \"objects\": [{\"class\": \"nic\", "
           "\"name\": \"eth0\", \"props\": {\"NAME\": \"eth0\"}}, "
           "{\"class\": \"nic\", \"name\": \"eth1\", \"props\": {\"NAME\": "
           "\"eth1\"}}]}");
  rd_reader_t *r = reader(10);
  struct got g = {0};
  ck_assert_int_eq(rd_reader_read(r, old, 0, collect, &g), 1);
  /* eth1 comes at 3 s: read at once, eth0 not (due at 10 s) */
  g.n = 0;
  ck_assert_int_eq(rd_reader_read_new(r, now, 3, collect, &g), 1);
  assert_line(&g, "interface-eth1/if_octets=5:7");
  g.n = 0;
  ck_assert_int_eq(rd_reader_read_new(r, now, 3.5, collect, &g), 0);
  /* the regular read at 10 s reads both, eth1 whatever its last read */
  ck_assert_int_eq(rd_reader_read(r, now, 10, collect, &g), 2);
  assert_line(&g, "interface-eth0/if_octets=123456:654321");
  assert_line(&g, "interface-eth1/if_octets=5:7");
  /* and from then on eth1 keeps the schedule like any other entry */
  g.n = 0;
  ck_assert_int_eq(rd_reader_read(r, now, 12, collect, &g), 0);
  ck_assert_int_eq(rd_reader_read(r, now, 20, collect, &g), 2);
  /* an entry read at once and gone before the next read leaves nothing */
  ck_assert_int_eq(rd_reader_read_new(r, old, 21, collect, &g), 0);
  rd_reader_free(r);
  pat_entries_free(old);
  pat_entries_free(now);
}
END_TEST

START_TEST(mount_values_add_up) {
  pat_entries_t *e = expand(
      "pattern \"m\" { class = mount }\n",
      "{\"patmon_snapshot\": 1, \"objects\": [{\"class\": \"mount\", \"name\": "
      "\"root\", \"object\": \"/\", \"props\": {\"MOUNT\": \"/\"}}, "
      "{\"class\": "
      "\"mount\", \"name\": \"x\", \"object\": \"/nonexistent/mnt\", "
      "\"props\": {}}]}");
  rd_reader_t *r = reader(10);
  struct got g = {0};
  ck_assert_int_gt(rd_reader_read(r, e, 0, collect, &g), 5);
  struct statvfs st;
  ck_assert_int_eq(statvfs("/", &st), 0);
  double f, res, u;
  ck_assert_int_eq(sscanf(find(&g, "df-root/df_complex-free="),
                          "df-root/df_complex-free=%lf", &f),
                   1);
  ck_assert_int_eq(sscanf(find(&g, "df-root/df_complex-reserved="),
                          "df-root/df_complex-reserved=%lf", &res),
                   1);
  ck_assert_int_eq(sscanf(find(&g, "df-root/df_complex-used="),
                          "df-root/df_complex-used=%lf", &u),
                   1);
  double total =
      (double)st.f_blocks * (double)(st.f_frsize ? st.f_frsize : st.f_bsize);
  ck_assert_msg(f + res + u > total * 0.999 && f + res + u < total * 1.001,
                "free+reserved+used %.0f vs %.0f", f + res + u, total);
  ck_assert_ptr_nonnull(find(&g, "df-root/percent_bytes-used="));
  /* Inodes as collectd's df: only where the filesystem counts them. */
  if (st.f_files && st.f_ffree)
    ck_assert_ptr_nonnull(find(&g, "df-root/df_inodes-used="));
  else
    ck_assert_ptr_null(find(&g, "df-root/df_inodes-used="));
  ck_assert_ptr_null(find(&g, "df-x/")); /* not mounted: nothing, no zeros */
  rd_reader_free(r);
  pat_entries_free(e);
}
END_TEST

static const char group_snap[] =
    "{\"patmon_snapshot\": 1, \"objects\": ["
    "{\"class\": \"process\", \"name\": \"web\", \"object\": \"10\", \"pid\": "
    "10, \"props\": {\"COMM\": \"web\"}},"
    "{\"class\": \"process\", \"name\": \"web\", \"object\": \"11\", \"pid\": "
    "11, \"props\": {\"COMM\": \"web\"}}]}";

START_TEST(process_group_stays_monotonic) {
  pat_entries_t *e = expand("pattern \"p\" { class = process }\n", group_snap);
  rd_reader_t *r = reader(10);
  struct got g = {0};
  put_uptime(1000);
  put_proc(10, "web", 100, 50, 1000, 10, 1000);
  put_proc(11, "web", 200, 20, 2000, 20, 500);
  ck_assert_int_gt(rd_reader_read(r, e, 0, collect, &g), 0);
  char want[128];
  /* Two processes of three threads each; the counters start at 0, as
   * collectd's do, whatever the processes used before. */
  assert_line(&g, "processes-web/ps_count=2:6");
  assert_line(&g, "processes-web/ps_cputime=0:0");
  snprintf(want, sizeof(want), "processes-web/ps_rss=%ld", 30 * page);
  assert_line(&g, want);
  assert_line(&g, "processes-web/io_octets=0:0");
  assert_line(&g, "processes-web/disk_octets=0:0");
  assert_line(&g, "processes-web/ps_data=204800");
  assert_line(&g, "processes-web/ps_stacksize=280000000021");
  assert_line(&g, "processes-web/ps_pagefaults=0:0");
  /* 10 grows by 100 ticks of user time and 500 bytes read; 11 exits; what
   * it did stays counted. Times in microseconds. */
  put_uptime(1010);
  put_proc(10, "web", 200, 50, 1000, 10, 1500);
  char path[256];
  snprintf(path, sizeof(path), "%s/proc/11/stat", tmp);
  ck_assert_int_eq(unlink(path), 0);
  g.n = 0;
  ck_assert_int_gt(rd_reader_read(r, e, 10, collect, &g), 0);
  assert_line(&g, "processes-web/ps_count=1:3");
  snprintf(want, sizeof(want), "processes-web/ps_cputime=%lld:0",
           100LL * 1000000 / hz);
  assert_line(&g, want);
  assert_line(&g, "processes-web/io_octets=500:0");
  /* pid 10 is reused by an old process (it started long before the last
   * read): its counters count from now, never backwards. */
  put_uptime(1020);
  put_proc(10, "web", 5, 5, 9999, 10, 0);
  g.n = 0;
  ck_assert_int_gt(rd_reader_read(r, e, 20, collect, &g), 0);
  assert_line(&g, want);
  /* A zombie is no process (ps_count 0:0, as collectd counts it) and
   * changes no counter. */
  put_uptime(1030);
  put_proc_state(10, "web", 'Z', 0, 0, 9999, 0, 0);
  g.n = 0;
  ck_assert_int_eq(rd_reader_read(r, e, 30, collect, &g), 0);
  /* Every member gone: nothing at all, not zeros. */
  snprintf(path, sizeof(path), "%s/proc/10/stat", tmp);
  ck_assert_int_eq(unlink(path), 0);
  g.n = 0;
  ck_assert_int_eq(rd_reader_read(r, e, 40, collect, &g), 0);
  rd_reader_free(r);
  pat_entries_free(e);
}
END_TEST

/* A unit is the processes of its cgroup, in whichever hierarchy has it. */
START_TEST(unit_reads_its_cgroup) {
  put_proc(20, "nfsd", 10, 10, 100, 1, 0);
  put_proc(21, "rpc.mountd", 10, 10, 100, 1, 0);
  put_file("cg/system.slice/nfs.service/cgroup.procs", "20\n21\n");
  pat_entries_t *e = expand(
      "pattern \"u\" { class = unit  metrics = { count } }\n",
      "{\"patmon_snapshot\": 1, \"objects\": [{\"class\": \"unit\", \"name\": "
      "\"nfs.service\", \"props\": {\"UNIT\": \"nfs.service\", \"CGROUP\": "
      "\"/system.slice/nfs.service\"}}]}");
  rd_reader_t *r = reader_cg(10);
  struct got g = {0};
  ck_assert_int_eq(rd_reader_read(r, e, 0, collect, &g), 1);
  assert_line(&g, "processes-nfs.service/ps_count=2:6");
  rd_reader_free(r);
  pat_entries_free(e);
}
END_TEST

/* A restarting service: its cgroup empty for a read, then new processes.
 * Its counters continue where they were, never backwards. */
START_TEST(unit_counters_survive_an_empty_cgroup) {
  put_uptime(500);
  put_proc(20, "nfsd", 1000, 0, 100, 1, 0);
  put_file("cg/u.service/cgroup.procs", "20\n");
  pat_entries_t *e = expand(
      "pattern \"u\" { class = unit  metrics = { cpu } }\n",
      "{\"patmon_snapshot\": 1, \"objects\": [{\"class\": \"unit\", \"name\": "
      "\"u.service\", \"props\": {\"UNIT\": \"u.service\", \"CGROUP\": "
      "\"/u.service\"}}]}");
  rd_reader_t *r = reader_cg(10);
  struct got g = {0};
  char want[128];
  ck_assert_int_eq(rd_reader_read(r, e, 0, collect, &g), 1);
  assert_line(&g, "processes-u.service/ps_cputime=0:0");
  put_proc(20, "nfsd", 1010, 0, 100, 1, 0);
  put_uptime(510);
  g.n = 0;
  ck_assert_int_eq(rd_reader_read(r, e, 10, collect, &g), 1);
  snprintf(want, sizeof(want), "processes-u.service/ps_cputime=%lld:0",
           10LL * 1000000 / hz);
  assert_line(&g, want);
  put_file("cg/u.service/cgroup.procs", "");
  put_uptime(520);
  g.n = 0;
  ck_assert_int_eq(rd_reader_read(r, e, 20, collect, &g), 0);
  /* An old process joins (started at boot + 2 s): only its growth from
   * now on counts. */
  put_proc(21, "nfsd", 5, 0, 200, 1, 0);
  put_file("cg/u.service/cgroup.procs", "21\n");
  put_uptime(530);
  g.n = 0;
  ck_assert_int_eq(rd_reader_read(r, e, 30, collect, &g), 1);
  assert_line(&g, want);
  /* A process started since the last read: all it used was while the
   * service was watched, and counts (as collectd counts a new process). */
  put_proc(22, "nfsd", 7, 3, (unsigned long long)(535 * hz), 1, 0);
  put_file("cg/u.service/cgroup.procs", "21\n22\n");
  put_uptime(540);
  g.n = 0;
  ck_assert_int_eq(rd_reader_read(r, e, 40, collect, &g), 1);
  snprintf(want, sizeof(want), "processes-u.service/ps_cputime=%lld:%lld",
           17LL * 1000000 / hz, 3LL * 1000000 / hz);
  assert_line(&g, want);
  rd_reader_free(r);
  pat_entries_free(e);
}
END_TEST

/* The wall clock stepping back must not stop the readings. */
START_TEST(clock_going_back) {
  pat_entries_t *e = expand("pattern \"d\" { class = disk }\n", disk_snap);
  rd_reader_t *r = reader(10);
  struct got g = {0};
  put_file("proc/diskstats", diskstats(100, 2000, 500, 50, 4000, 1000));
  ck_assert_int_gt(rd_reader_read(r, e, 10000, collect, &g), 0);
  g.n = 0;
  ck_assert_int_gt(rd_reader_read(r, e, 6400, collect, &g), 0);
  rd_reader_free(r);
  pat_entries_free(e);
}
END_TEST

/* A resource's data volume is read as df values unless a mount entry
 * already covers that mount point. */
START_TEST(resource_volume) {
  const char *snap =
      "{\"patmon_snapshot\": 1, \"objects\": ["
      "{\"class\": \"resource\", \"name\": \"fs\", \"props\": {\"RSC\": "
      "\"fs\", "
      "\"AGENT\": \"ocf:heartbeat:Filesystem\", \"PARAM{directory}\": \"/\"}},"
      "{\"class\": \"mount\", \"name\": \"root\", \"object\": \"/\", "
      "\"props\": "
      "{\"MOUNT\": \"/\"}}]}";
  pat_entries_t *e = expand("pattern \"r\" { class = resource }\n", snap);
  rd_reader_t *r = reader(10);
  struct got g = {0};
  ck_assert_int_gt(rd_reader_read(r, e, 0, collect, &g), 0);
  ck_assert_ptr_nonnull(find(&g, "df-root/df_complex-used="));
  pat_entries_free(e);
  e = expand(
      "pattern \"r\" { class = resource }\npattern \"m\" { class = mount "
      "metrics = { inodes } }\n",
      snap);
  g.n = 0;
  ck_assert_int_gt(rd_reader_read(r, e, 10, collect, &g), 0);
  ck_assert_ptr_null(find(&g, "df-root/df_complex")); /* the mount entry's */
  ck_assert_ptr_nonnull(find(&g, "df-root/df_inodes-used="));
  rd_reader_free(r);
  pat_entries_free(e);
}
END_TEST

/* ---- monitor ---- */

START_TEST(monitor_reload_keeps_last_good_set) {
  char patterns[256], entries[256];
  snprintf(patterns, sizeof(patterns), "%s/patterns.conf", tmp);
  snprintf(entries, sizeof(entries), "%s/state/sub/entries.json", tmp);
  put_file("patterns.conf",
           "pattern \"lo\" { class = nic  match = { \"NAME==lo\" } }\n");
  pat_monitor_opts_t o = {.patterns = patterns, .entries_file = entries};
  pat_monitor_t *m = NULL;
  pm_error_t err = {0};
  ck_assert_int_eq(pat_monitor_new(&o, &m, &err), 0);
  pm_buf_t b = {0};
  ck_assert_int_eq(pm_file_read(entries, 1 << 20, &b), 0);
  ck_assert_ptr_nonnull(strstr(b.data, "\"instance\": \"lo\""));
  pat_entries_t *before = pat_monitor_entries(m);
  ck_assert_uint_eq(pat_entries_count(before), 1);

  /* A bad edit: reported once, the last good set stays. */
  put_file("patterns.conf",
           "pattern \"lo\" { class = nic\n  match = { \"NAME=~(\" } }\n");
  pat_refresh_t info;
  ck_assert_int_eq(pat_monitor_refresh(m, 0, &info), 0); /* the file only */
  ck_assert_int_eq(info.reload_error, -EBADMSG);
  ck_assert_uint_eq(info.err.line, 2);
  ck_assert_ptr_nonnull(strstr(info.err.msg, "bad regex"));
  ck_assert_uint_eq(info.entries, 1);
  ck_assert_int_eq(pat_monitor_refresh(m, 0, &info), 0);
  ck_assert_int_eq(info.reload_error, 0); /* once per content */

  /* A good edit: new entries, the file rewritten, old readers unharmed. */
  put_file("patterns.conf",
           "pattern \"lo\" { class = nic  match = { \"NAME==lo\" } "
           "name = \"loopback\" }\n");
  ck_assert_int_eq(pat_monitor_refresh(m, 0, &info), 0);
  ck_assert(info.reloaded && info.changed);
  ck_assert_uint_eq(info.gone, 1);
  ck_assert_uint_eq(info.added, 1);
  ck_assert_int_eq(pm_file_read(entries, 1 << 20, &b), 0);
  ck_assert_ptr_nonnull(strstr(b.data, "\"instance\": \"loopback\""));
  pat_entry_t en;
  ck_assert_int_eq(pat_entries_get(before, 0, &en), 0);
  ck_assert_str_eq(en.instance, "lo");
  pat_entries_free(before);
  /* Nothing changed: nothing rewritten. */
  ck_assert_int_eq(pat_monitor_refresh(m, 1u << PAT_NIC, &info), 0);
  ck_assert(!info.changed && !info.reloaded);
  pm_buf_free(&b);
  pat_monitor_free(m);
}
END_TEST

/* The entries file cannot be written (here: its directory became a file):
 * the entries change all the same, the error is reported once, and the file
 * is written again once it can be. A pattern file that goes is reported
 * once and the last good set stays; a bad edit made again after a good one
 * is reported again. */
START_TEST(monitor_write_error_and_gone_file) {
  char patterns[256], dir[256], entries[300];
  snprintf(patterns, sizeof(patterns), "%s/patterns.conf", tmp);
  snprintf(dir, sizeof(dir), "%s/state", tmp);
  snprintf(entries, sizeof(entries), "%s/entries.json", dir);
  static const char good_a[] = "pattern \"lo\" { class = nic  match = { "
                               "\"NAME==lo\" }  name = \"a\" }\n";
  static const char good_b[] = "pattern \"lo\" { class = nic  match = { "
                               "\"NAME==lo\" }  name = \"b\" }\n";
  static const char bad[] = "pattern \"lo\" { class = toaster }\n";
  put_file("patterns.conf", good_a);
  pat_monitor_opts_t o = {.patterns = patterns, .entries_file = entries};
  pat_monitor_t *m = NULL;
  pm_error_t err = {0};
  ck_assert_int_eq(pat_monitor_new(&o, &m, &err), 0);

  ck_assert_int_eq(unlink(entries), 0);
  ck_assert_int_eq(rmdir(dir), 0);
  put_file("state", "not a directory\n");
  put_file("patterns.conf", good_b);
  pat_refresh_t info;
  ck_assert_int_eq(pat_monitor_refresh(m, 0, &info), 0);
  ck_assert(info.changed && info.reloaded);
  ck_assert_int_eq(info.write_error, -ENOTDIR);
  pat_entries_t *now = pat_monitor_entries(m);
  pat_entry_t en;
  ck_assert_int_eq(pat_entries_get(now, 0, &en), 0);
  ck_assert_str_eq(en.instance, "b");
  pat_entries_free(now);
  ck_assert_int_eq(pat_monitor_refresh(m, 1u << PAT_NIC, &info), 0);
  ck_assert_int_eq(info.write_error, 0); /* said once */
  ck_assert(!info.written_again);
  ck_assert_int_eq(unlink(dir), 0);
  ck_assert_int_eq(mkdir(dir, 0755), 0);
  ck_assert_int_eq(pat_monitor_refresh(m, 0, &info), 0);
  ck_assert(info.written_again && !info.changed);
  pm_buf_t b = {0};
  ck_assert_int_eq(pm_file_read(entries, 1 << 20, &b), 0);
  ck_assert_ptr_nonnull(strstr(b.data, "\"instance\": \"b\""));
  pm_buf_free(&b);

  /* The pattern file goes: said once, the set stays. */
  ck_assert_int_eq(unlink(patterns), 0);
  ck_assert_int_eq(pat_monitor_refresh(m, 1u << PAT_NIC, &info), 0);
  ck_assert_int_eq(info.reload_error, -ENOENT);
  ck_assert_ptr_nonnull(strstr(info.err.msg, "cannot read pattern file"));
  ck_assert_uint_eq(info.entries, 1);
  ck_assert_int_eq(pat_monitor_refresh(m, 1u << PAT_NIC, &info), 0);
  ck_assert_int_eq(info.reload_error, 0);
  ck_assert_uint_eq(info.entries, 1);

  /* Back, bad, good, and the same bad edit again: said both times. */
  for (int round = 0; round < 2; round++) {
    put_file("patterns.conf", bad);
    ck_assert_int_eq(pat_monitor_refresh(m, 0, &info), 0);
    ck_assert_msg(info.reload_error == -EBADMSG, "round %d", round);
    put_file("patterns.conf", good_b);
    ck_assert_int_eq(pat_monitor_refresh(m, 0, &info), 0);
    ck_assert_int_eq(info.reload_error, 0);
  }
  pat_monitor_free(m);
}
END_TEST

START_TEST(monitor_bad_file_at_start) {
  char patterns[256];
  snprintf(patterns, sizeof(patterns), "%s/bad.conf", tmp);
  put_file("bad.conf", "pattern \"x\" {\n  class = toaster\n}\n");
  pat_monitor_opts_t o = {.patterns = patterns};
  pat_monitor_t *m = NULL;
  pm_error_t err = {0};
  ck_assert_int_eq(pat_monitor_new(&o, &m, &err), -EBADMSG);
  ck_assert_ptr_null(m);
  ck_assert_uint_eq(err.line, 2);
  ck_assert_ptr_nonnull(strstr(err.msg, "unknown class toaster"));
}
END_TEST

int main(void) {
  Suite *s = suite_create("collect");
  TCase *tc = tcase_create("core");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 30);
  tcase_add_test(tc, class_types_are_in_types_db);
  tcase_add_test(tc, class_rows_are_complete);
  tcase_add_test(tc, disk_values_like_collectd);
  tcase_add_test(tc, disk_types_sent_as_collectd_does);
  tcase_add_test(tc, disk_groups_and_intervals);
  tcase_add_test(tc, node_load_and_cpu);
  tcase_add_test(tc, nic_values);
  tcase_add_test(tc, new_entries_read_at_once);
  tcase_add_test(tc, mount_values_add_up);
  tcase_add_test(tc, process_group_stays_monotonic);
  tcase_add_test(tc, unit_reads_its_cgroup);
  tcase_add_test(tc, unit_counters_survive_an_empty_cgroup);
  tcase_add_test(tc, clock_going_back);
  tcase_add_test(tc, resource_volume);
  tcase_add_test(tc, monitor_reload_keeps_last_good_set);
  tcase_add_test(tc, monitor_write_error_and_gone_file);
  tcase_add_test(tc, monitor_bad_file_at_start);
  suite_add_tcase(s, tc);
  return check_run(s);
}
