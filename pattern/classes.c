/* classes.c: one row per class of things patmon can watch. A new class is a
 * new row here plus a provider. */
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

/* What collectd's own disk plugin dispatches, grouped. */
static const struct pat_group_desc disk_groups[] = {
    {"io", LIST("disk_octets", "disk_ops"),
     LIST("read_bytes", "write_bytes", "reads", "writes")},
    {"latency", LIST("disk_time"), LIST("read_time", "write_time")},
    {"merged", LIST("disk_merged"), LIST("read_merged", "write_merged")},
    {"utilization", LIST("disk_io_time"), LIST("io_time", "weighted_io_time")},
    {"pending", LIST("pending_operations"), LIST("pending")},
    {NULL, NULL, NULL}};

static const struct pat_group_desc nic_groups[] = {
    {"traffic", LIST("if_octets"), LIST("bytes_in", "bytes_out")},
    {"packets", LIST("if_packets"), LIST("pkts_in", "pkts_out")},
    {"errors", LIST("if_errors"), LIST("errs_in", "errs_out")},
    {"dropped", LIST("if_dropped"), LIST("drops_in", "drops_out")},
    {NULL, NULL, NULL}};

static const struct pat_group_desc mount_groups[] = {
    {"space", LIST("df_complex"), LIST("disk_free", "disk_used", "disk_total")},
    {"inodes", LIST("df_inodes"), LIST("inodes_free", "inodes_used")},
    {"percent", LIST("percent_bytes", "percent_inodes"),
     LIST("part_used", "inodes_used_pct")},
    {NULL, NULL, NULL}};

/* collectd 5.12's processes plugin: io_octets is rchar/wchar, io_ops
 * syscr/syscw, disk_octets read_bytes/write_bytes (older releases called
 * these ps_disk_octets and ps_disk_ops). */
#define PROCESS_GROUPS                                                         \
  {"cpu", LIST("ps_cputime"), LIST("cpu_user", "cpu_system")},                 \
      {"memory", LIST("ps_rss", "ps_vm", "ps_data", "ps_code"),                \
       LIST("rss", "vm")},                                                     \
      {"count", LIST("ps_count"), LIST("procs", "threads")},                   \
      {"io", LIST("io_octets", "io_ops", "disk_octets"),                       \
       LIST("read_bytes", "write_bytes", "reads", "writes")},                  \
  {                                                                            \
    "faults", LIST("ps_pagefaults"), LIST("minflt", "majflt")                  \
  }

static const struct pat_group_desc process_groups[] = {PROCESS_GROUPS,
                                                       {NULL, NULL, NULL}};

/* A resource also covers its data volume (its mount and block device). */
static const struct pat_group_desc resource_groups[] = {
    PROCESS_GROUPS,
    {"volume", LIST("df_complex", "disk_octets", "disk_ops"),
     LIST("disk_free", "disk_used", "read_bytes", "write_bytes")},
    {NULL, NULL, NULL}};

static const struct pat_class_desc classes[PAT_NCLASSES] = {
    [PAT_DISK] = {.name = "disk",
                  .plugin = "disk",
                  .gmond_prefix = "disk",
                  .keys = dev_keys,
                  .vars = dev_vars,
                  .parents = true,
                  .groups = disk_groups},
    [PAT_PARTITION] = {.name = "partition",
                       .plugin = "disk",
                       .gmond_prefix = "disk",
                       .keys = dev_keys,
                       .vars = dev_vars,
                       .parents = true,
                       .groups = disk_groups},
    [PAT_NIC] = {.name = "nic",
                 .plugin = "interface",
                 .gmond_prefix = "net",
                 .keys = nic_keys,
                 .vars = dev_vars,
                 .parents = true,
                 .groups = nic_groups},
    [PAT_MOUNT] = {.name = "mount",
                   .plugin = "df",
                   .gmond_prefix = "fs",
                   .keys = mount_keys,
                   .vars = no_vars,
                   .groups = mount_groups},
    [PAT_PROCESS] = {.name = "process",
                     .plugin = "processes",
                     .gmond_prefix = "proc",
                     .keys = proc_keys,
                     .vars = no_vars,
                     .groups = process_groups},
    [PAT_UNIT] = {.name = "unit",
                  .plugin = "processes",
                  .gmond_prefix = "unit",
                  .keys = unit_keys,
                  .vars = no_vars,
                  .groups = process_groups},
    [PAT_RESOURCE] = {.name = "resource",
                      .plugin = "processes",
                      .gmond_prefix = "rsc",
                      .keys = rsc_keys,
                      .vars = rsc_vars,
                      .groups = resource_groups},
};

const struct pat_class_desc *pat_class_desc(pat_class_t cls) {
  return (unsigned)cls < PAT_NCLASSES ? &classes[cls] : NULL;
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
