/* classes.c: one row per class of things patmon can watch: its names, the
 * provider that lists it, the reader that reads it (reading/), the events
 * that list it again, what patterns may test, and its metric groups with
 * their collectd types and gmond metrics. A new class is a new row here
 * plus its provider and its reader. */
#include "config.h"

#include "internal.h"

#include <errno.h>
#include <string.h>

#define LIST(...)                                                              \
  (const char *const[]) { __VA_ARGS__, NULL }

static const char *const dev_keys[] = {"KERNEL",  "SUBSYSTEM", "DEVTYPE",
                                       "DRIVER",  "ENV{}",     "ATTR{}",
                                       "ATTRS{}", NULL};
static const char *const nic_keys[] = {"NAME",    "KERNEL",  "SUBSYSTEM",
                                       "DEVTYPE", "DRIVER",  "ENV{}",
                                       "ATTR{}",  "ATTRS{}", NULL};
static const char *const mount_keys[] = {"MOUNT", "DEVICE", "FSTYPE", "OPTIONS",
                                         NULL};
static const char *const proc_keys[] = {"COMM", "EXE", "CMDLINE", "USER", NULL};
static const char *const unit_keys[] = {"UNIT", "STATE", "SUBSTATE", NULL};
static const char *const rsc_keys[] = {"RSC",  "AGENT", "PARAM{}",
                                       "ROLE", "GROUP", NULL};

static const char *const dev_vars[] = {"env", "attr", NULL};
static const char *const rsc_vars[] = {"param", NULL};
static const char *const no_vars[] = {NULL};

/* gmond metrics: suffix, collectd plugin (NULL: the class's), type, type
 * instance, data source, conversion, scale, units. Names follow gmond's own
 * (bytes_in, pkts_in, disk_free, cpu_user, part_used); rates are per second
 * as gmond's modules report them. */
#define GM(suffix, type, tinst, ds, conv, scale, units)                        \
  { suffix, NULL, type, tinst, ds, PAT_GM_##conv, scale, units }
#define GMP(suffix, plugin, type, tinst, ds, conv, units)                      \
  { suffix, plugin, type, tinst, ds, PAT_GM_##conv, 0, units }
#define GMLIST(...)                                                            \
  (const struct pat_gmond_desc[]) {                                            \
    __VA_ARGS__, { NULL, NULL, NULL, NULL, 0, PAT_GM_GAUGE, 0, NULL }          \
  }

/* What collectd's own disk plugin dispatches, grouped. */
static const struct pat_group_desc disk_groups[] = {
    {"io", LIST("disk_octets", "disk_ops"),
     GMLIST(GM("read_bytes", "disk_octets", NULL, 0, RATE, 0, "bytes/sec"),
            GM("write_bytes", "disk_octets", NULL, 1, RATE, 0, "bytes/sec"),
            GM("reads", "disk_ops", NULL, 0, RATE, 0, "ops/sec"),
            GM("writes", "disk_ops", NULL, 1, RATE, 0, "ops/sec"))},
    {"latency", LIST("disk_time"),
     GMLIST(GM("read_time", "disk_time", NULL, 0, AVG, 0, "ms"),
            GM("write_time", "disk_time", NULL, 1, AVG, 0, "ms"))},
    {"merged", LIST("disk_merged"),
     GMLIST(GM("read_merged", "disk_merged", NULL, 0, RATE, 0, "ops/sec"),
            GM("write_merged", "disk_merged", NULL, 1, RATE, 0, "ops/sec"))},
    {"utilization", LIST("disk_io_time"),
     GMLIST(
         GM("io_time", "disk_io_time", NULL, 0, RATE, 0, "ms/sec"),
         GM("weighted_io_time", "disk_io_time", NULL, 1, RATE, 0, "ms/sec"))},
    {"pending", LIST("pending_operations"),
     GMLIST(GM("pending", "pending_operations", NULL, 0, GAUGE, 0, "ops"))},
    {NULL, NULL, NULL}};

static const struct pat_group_desc nic_groups[] = {
    {"traffic", LIST("if_octets"),
     GMLIST(GM("bytes_in", "if_octets", NULL, 0, RATE, 0, "bytes/sec"),
            GM("bytes_out", "if_octets", NULL, 1, RATE, 0, "bytes/sec"))},
    {"packets", LIST("if_packets"),
     GMLIST(GM("pkts_in", "if_packets", NULL, 0, RATE, 0, "packets/sec"),
            GM("pkts_out", "if_packets", NULL, 1, RATE, 0, "packets/sec"))},
    {"errors", LIST("if_errors"),
     GMLIST(GM("errs_in", "if_errors", NULL, 0, RATE, 0, "errors/sec"),
            GM("errs_out", "if_errors", NULL, 1, RATE, 0, "errors/sec"))},
    {"dropped", LIST("if_dropped"),
     GMLIST(GM("drops_in", "if_dropped", NULL, 0, RATE, 0, "packets/sec"),
            GM("drops_out", "if_dropped", NULL, 1, RATE, 0, "packets/sec"))},
    {NULL, NULL, NULL}};

static const struct pat_group_desc mount_groups[] = {
    {"space", LIST("df_complex"),
     GMLIST(GM("disk_free", "df_complex", "free", 0, GAUGE, 0, "bytes"),
            GM("disk_reserved", "df_complex", "reserved", 0, GAUGE, 0, "bytes"),
            GM("disk_used", "df_complex", "used", 0, GAUGE, 0, "bytes"))},
    {"inodes", LIST("df_inodes"),
     GMLIST(
         GM("inodes_free", "df_inodes", "free", 0, GAUGE, 0, "inodes"),
         GM("inodes_reserved", "df_inodes", "reserved", 0, GAUGE, 0, "inodes"),
         GM("inodes_used", "df_inodes", "used", 0, GAUGE, 0, "inodes"))},
    {"percent", LIST("percent_bytes", "percent_inodes"),
     GMLIST(GM("part_used", "percent_bytes", "used", 0, GAUGE, 0, "%"),
            GM("inodes_used_pct", "percent_inodes", "used", 0, GAUGE, 0, "%"))},
    {NULL, NULL, NULL}};

/* collectd 5.12's processes plugin: io_octets is rchar/wchar, io_ops
 * syscr/syscw, disk_octets read_bytes/write_bytes (older releases called
 * these ps_disk_octets and ps_disk_ops). ps_cputime counts microseconds:
 * its rate times 1e-4 is the percentage of one CPU. */
#define PROCESS_GROUPS                                                         \
  {"cpu", LIST("ps_cputime"),                                                  \
   GMLIST(GM("cpu_user", "ps_cputime", NULL, 0, RATE, 1e-4, "%"),              \
          GM("cpu_system", "ps_cputime", NULL, 1, RATE, 1e-4, "%"))},          \
      {"memory",                                                               \
       LIST("ps_rss", "ps_vm", "ps_data", "ps_code", "ps_stacksize"),          \
       GMLIST(GM("rss", "ps_rss", NULL, 0, GAUGE, 0, "bytes"),                 \
              GM("vm", "ps_vm", NULL, 0, GAUGE, 0, "bytes"))},                 \
      {"count", LIST("ps_count"),                                              \
       GMLIST(GM("procs", "ps_count", NULL, 0, GAUGE, 0, "processes"),         \
              GM("threads", "ps_count", NULL, 1, GAUGE, 0, "threads"))},       \
      {"io", LIST("io_octets", "io_ops", "disk_octets"),                       \
       GMLIST(GM("read_bytes", "disk_octets", NULL, 0, RATE, 0, "bytes/sec"),  \
              GM("write_bytes", "disk_octets", NULL, 1, RATE, 0, "bytes/sec"), \
              GM("reads", "io_ops", NULL, 0, RATE, 0, "ops/sec"),              \
              GM("writes", "io_ops", NULL, 1, RATE, 0, "ops/sec"))},           \
  {                                                                            \
    "faults", LIST("ps_pagefaults"),                                           \
        GMLIST(GM("minflt", "ps_pagefaults", NULL, 0, RATE, 0, "faults/sec"),  \
               GM("majflt", "ps_pagefaults", NULL, 1, RATE, 0, "faults/sec"))  \
  }

static const struct pat_group_desc process_groups[] = {PROCESS_GROUPS,
                                                       {NULL, NULL, NULL}};

/* A resource also covers its data volume (its mount and block device), read
 * as the df and disk plugins would: vol_* keeps them apart from the
 * processes' own io. */
static const struct pat_group_desc resource_groups[] = {
    PROCESS_GROUPS,
    {"volume", LIST("df_complex", "disk_octets", "disk_ops"),
     GMLIST(GMP("vol_free", "df", "df_complex", "free", 0, GAUGE, "bytes"),
            GMP("vol_used", "df", "df_complex", "used", 0, GAUGE, "bytes"),
            GMP("vol_read_bytes", "disk", "disk_octets", NULL, 0, RATE,
                "bytes/sec"),
            GMP("vol_write_bytes", "disk", "disk_octets", NULL, 1, RATE,
                "bytes/sec"),
            GMP("vol_reads", "disk", "disk_ops", NULL, 0, RATE, "ops/sec"),
            GMP("vol_writes", "disk", "disk_ops", NULL, 1, RATE, "ops/sec"))},
    {NULL, NULL, NULL}};

/* Events: a resource brings its data volume (mount, disk), a volume may
 * belong to a resource; processes are listed again on the rescan schedule
 * only. */
static const struct pat_class_desc classes[PAT_NCLASSES] = {
    [PAT_DISK] = {.name = "disk",
                  .provider = pat_prov_udev,
                  .reader = PAT_READ_DISK,
                  .relist = PAT_EV_DEVICE | PAT_EV_RESOURCE | PAT_EV_VOLUME,
                  .plugin = "disk",
                  .stock = "disk",
                  .gmond_prefix = "disk",
                  .gmond_group = "disk",
                  .keys = dev_keys,
                  .vars = dev_vars,
                  .parents = true,
                  .groups = disk_groups},
    [PAT_PARTITION] = {.name = "partition",
                       .provider = pat_prov_udev,
                       .reader = PAT_READ_DISK,
                       .relist =
                           PAT_EV_DEVICE | PAT_EV_RESOURCE | PAT_EV_VOLUME,
                       .plugin = "disk",
                       .stock = "disk",
                       .gmond_prefix = "disk",
                       .gmond_group = "disk",
                       .keys = dev_keys,
                       .vars = dev_vars,
                       .parents = true,
                       .groups = disk_groups},
    [PAT_NIC] = {.name = "nic",
                 .provider = pat_prov_udev,
                 .reader = PAT_READ_NIC,
                 .relist = PAT_EV_NET,
                 .plugin = "interface",
                 .stock = "interface",
                 .gmond_prefix = "net",
                 .gmond_group = "network",
                 .keys = nic_keys,
                 .vars = dev_vars,
                 .parents = true,
                 .groups = nic_groups},
    [PAT_MOUNT] = {.name = "mount",
                   .provider = pat_prov_mount,
                   .reader = PAT_READ_DF,
                   .relist = PAT_EV_MOUNT | PAT_EV_RESOURCE | PAT_EV_VOLUME,
                   .plugin = "df",
                   .stock = "df",
                   .gmond_prefix = "fs",
                   .gmond_group = "filesystem",
                   .keys = mount_keys,
                   .vars = no_vars,
                   .groups = mount_groups},
    [PAT_PROCESS] = {.name = "process",
                     .provider = pat_prov_proc,
                     .reader = PAT_READ_PROCESSES,
                     .relist = 0,
                     .plugin = "processes",
                     .stock = "processes",
                     .gmond_prefix = "proc",
                     .gmond_group = "process",
                     .keys = proc_keys,
                     .vars = no_vars,
                     .groups = process_groups},
    [PAT_UNIT] = {.name = "unit",
                  .provider = pat_prov_unit,
                  .reader = PAT_READ_CGROUP,
                  .relist = PAT_EV_RESOURCE,
                  .plugin = "processes",
                  .stock = "cgroups",
                  .gmond_prefix = "unit",
                  .gmond_group = "unit",
                  .keys = unit_keys,
                  .vars = no_vars,
                  .groups = process_groups},
    [PAT_RESOURCE] = {.name = "resource",
                      .provider = pat_prov_pcmk,
                      .reader = PAT_READ_RESOURCE,
                      .relist = PAT_EV_RESOURCE | PAT_EV_VOLUME,
                      .plugin = "processes",
                      .stock = "df",
                      .gmond_prefix = "rsc",
                      .gmond_group = "resource",
                      .keys = rsc_keys,
                      .vars = rsc_vars,
                      .groups = resource_groups},
};

const struct pat_class_desc *pat_class_desc(pat_class_t cls) {
  return (unsigned)cls < PAT_NCLASSES ? &classes[cls] : NULL;
}

unsigned pat_classes_for_events(unsigned events) {
  unsigned mask = 0;
  for (unsigned i = 0; i < PAT_NCLASSES; i++)
    if (classes[i].relist & events)
      mask |= 1u << i;
  return mask;
}

unsigned pat_provider_classes(pat_class_t cls) {
  const struct pat_class_desc *d = pat_class_desc(cls);
  unsigned mask = 0;
  for (unsigned i = 0; d && i < PAT_NCLASSES; i++)
    if (classes[i].provider == d->provider)
      mask |= 1u << i;
  return mask;
}

int pat_class_lookup(const char *name, pat_class_t *ret) {
  for (unsigned i = 0; i < PAT_NCLASSES; i++)
    if (strcmp(classes[i].name, name) == 0) {
      *ret = (pat_class_t)i;
      return 0;
    }
  return -EINVAL;
}

const char *pat_class_name(pat_class_t cls) {
  const struct pat_class_desc *d = pat_class_desc(cls);
  return d ? d->name : NULL;
}

const char *pat_class_plugin(pat_class_t cls) {
  const struct pat_class_desc *d = pat_class_desc(cls);
  return d ? d->plugin : NULL;
}

const char *pat_group_name(pat_class_t cls, unsigned group) {
  const struct pat_class_desc *d = pat_class_desc(cls);
  if (!d)
    return NULL;
  for (unsigned i = 0; d->groups[i].name; i++)
    if (i == group)
      return d->groups[i].name;
  return NULL;
}

const char *const *pat_group_types(pat_class_t cls, unsigned group) {
  const struct pat_class_desc *d = pat_class_desc(cls);
  if (!d)
    return NULL;
  for (unsigned i = 0; d->groups[i].name; i++)
    if (i == group)
      return d->groups[i].types;
  return NULL;
}

/* ---- gmond names ---- */

/* gmond turns what it does not keep into '_' when it stores a name (and
 * ':' whatever it is told), so names are made with what it keeps. */
static void put_safe(char *buf, size_t len, size_t *pos, const char *s) {
  for (; *s && *pos + 1 < len; s++) {
    char ch = *s;
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '-';
    buf[(*pos)++] = ok ? ch : '_';
  }
  buf[*pos] = '\0';
}

void pat_gmond_name(const pat_entry_t *en, const char *suffix, char *buf,
                    size_t len) {
  size_t pos = 0;
  if (len == 0)
    return;
  buf[0] = '\0';
  if (en) {
    put_safe(buf, len, &pos, pat_class_desc(en->cls)->gmond_prefix);
    put_safe(buf, len, &pos, "_");
    put_safe(buf, len, &pos, en->instance);
    put_safe(buf, len, &pos, "_");
  }
  put_safe(buf, len, &pos, suffix);
}

int pat_gmond_names(const pat_entry_t *en, pat_gname_fn fn, void *ud) {
  const struct pat_class_desc *d = pat_class_desc(en->cls);
  char name[PAT_GMETRIC_NAME_MAX + 1];
  for (unsigned g = 0; d && d->groups[g].name; g++) {
    if (!(en->metrics & 1u << g))
      continue;
    for (const struct pat_gmond_desc *m = d->groups[g].gmond; m->suffix; m++) {
      pat_gmond_name(en, m->suffix, name, sizeof(name));
      int r = fn(name, ud);
      if (r)
        return r;
    }
  }
  return 0;
}
