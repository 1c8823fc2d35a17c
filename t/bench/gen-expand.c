/* gen-expand: writes the inputs of t/bench/expand, deterministically.
 *
 *   gen-expand DIR   -> DIR/snapshot.json (10,000 objects), DIR/patterns.conf
 *                       (100 patterns)
 *
 * The snapshot is shaped like a large storage and container host captured
 * with --save-snapshot: 960 disks (multipath SAS paths and maps, NVMe, LVM)
 * and 1,440 partitions with every sysfs attribute a real capture keeps
 * (about 90 per device, parents included), 600 NICs (mostly container
 * veths), 600 mounts, 6,000 processes, 300 units and 100 resources. */
#include "config.h"

#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned long seed = 12345;
static unsigned rnd(unsigned n) {
  seed = seed * 6364136223846793005ul + 1442695040888963407ul;
  return (unsigned)((seed >> 33) % n);
}

static void prop(pm_buf_t *b, int *first, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void prop(pm_buf_t *b, int *first, const char *key, const char *fmt,
                 ...) {
  char val[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(val, sizeof(val), fmt, ap);
  va_end(ap);
  pm_buf_puts(b, *first ? "" : ", ");
  *first = 0;
  pat_json_str(b, key);
  pm_buf_puts(b, ": ");
  pat_json_str(b, val);
}

/* The ~70 queue/, mq/ and power/ attributes a block device shows. */
static void block_attrs(pm_buf_t *b, int *f, unsigned long sectors, int rot) {
  static const char *const q[] = {"add_random",
                                  "chunk_sectors",
                                  "dax",
                                  "discard_granularity",
                                  "discard_max_bytes",
                                  "discard_max_hw_bytes",
                                  "discard_zeroes_data",
                                  "dma_alignment",
                                  "fua",
                                  "hw_sector_size",
                                  "io_poll",
                                  "io_poll_delay",
                                  "iostats",
                                  "logical_block_size",
                                  "max_discard_segments",
                                  "max_hw_sectors_kb",
                                  "max_integrity_segments",
                                  "max_sectors_kb",
                                  "max_segment_size",
                                  "max_segments",
                                  "minimum_io_size",
                                  "nomerges",
                                  "nr_requests",
                                  "nr_zones",
                                  "optimal_io_size",
                                  "physical_block_size",
                                  "read_ahead_kb",
                                  "rq_affinity",
                                  "stable_writes",
                                  "virt_boundary_mask",
                                  "wbt_lat_usec",
                                  "write_same_max_bytes",
                                  "write_zeroes_max_bytes",
                                  "zone_append_max_bytes",
                                  "zone_write_granularity",
                                  NULL};
  char key[64];
  for (int i = 0; q[i]; i++) {
    snprintf(key, sizeof(key), "ATTR{queue/%s}", q[i]);
    prop(b, f, key, "%u", rnd(4096));
  }
  prop(b, f, "ATTR{queue/rotational}", "%d", rot);
  prop(b, f, "ATTR{queue/scheduler}", "[mq-deadline] kyber bfq none");
  prop(b, f, "ATTR{queue/write_cache}", "write back");
  prop(b, f, "ATTR{queue/zoned}", "none");
  for (int m = 0; m < 8; m++) {
    snprintf(key, sizeof(key), "ATTR{mq/%d/cpu_list}", m);
    prop(b, f, key, "%d, %d", m * 2, m * 2 + 1);
    snprintf(key, sizeof(key), "ATTR{mq/%d/nr_tags}", m);
    prop(b, f, key, "%u", 64 + rnd(960));
  }
  prop(b, f, "ATTR{size}", "%lu", sectors);
  prop(b, f, "ATTR{removable}", "0");
  prop(b, f, "ATTR{ro}", "0");
  prop(b, f, "ATTR{stat}", "%u 0 %u 0 %u 0 %u 0 0 0 0", rnd(1u << 30),
       rnd(1u << 30), rnd(1u << 30), rnd(1u << 30));
  prop(b, f, "ATTR{inflight}", "       0        0");
  prop(b, f, "ATTR{power/control}", "auto");
  prop(b, f, "ATTR{power/runtime_status}", "unsupported");
  prop(b, f, "ATTR{alignment_offset}", "0");
  prop(b, f, "ATTR{discard_alignment}", "0");
  prop(b, f, "ATTR{events_poll_msecs}", "-1");
  prop(b, f, "ATTR{ext_range}", "256");
  prop(b, f, "ATTR{hidden}", "0");
}

static void object_begin(pm_buf_t *b, const char *cls, const char *name,
                         const char *object, int pid) {
  pm_buf_printf(b, ",\n  {\"class\": \"%s\", \"name\": ", cls);
  pat_json_str(b, name);
  pm_buf_puts(b, ", \"object\": ");
  pat_json_str(b, object);
  if (pid)
    pm_buf_printf(b, ", \"pid\": %d", pid);
  pm_buf_puts(b, ", \"props\": {");
}

static const char *const vendors[] = {"SEAGATE ", "HGST    ", "NETAPP  ",
                                      "TOSHIBA "};

static void disks(pm_buf_t *b) {
  char name[32], obj[64];
  for (int i = 0; i < 960; i++) {
    int f = 1, kind = i < 480 ? 0 : i < 720 ? 1 : i < 840 ? 2 : i < 920 ? 3 : 4;
    if (kind == 0)
      snprintf(name, sizeof(name), "sd%c%c", 'a' + i / 26 % 26, 'a' + i % 26);
    else if (kind == 1 || kind == 3)
      snprintf(name, sizeof(name), "dm-%d", i - 480);
    else if (kind == 2)
      snprintf(name, sizeof(name), "nvme%dn1", i - 720);
    else
      snprintf(name, sizeof(name), "loop%d", i - 920);
    snprintf(obj, sizeof(obj), "/dev/%s", name);
    object_begin(b, "disk", name, obj, 0);
    prop(b, &f, "KERNEL", "%s", name);
    prop(b, &f, "SUBSYSTEM", "block");
    prop(b, &f, "DEVTYPE", "disk");
    prop(b, &f, "DRIVER", "%s", "");
    prop(b, &f, "ENV{DEVNAME}", "%s", obj);
    prop(b, &f, "ENV{DEVPATH}", "/devices/pci0000:%02x/0000:%02x:00.0/%s",
         i % 4, i % 64, name);
    prop(b, &f, "ENV{MAJOR}", "%d", 8 + kind);
    prop(b, &f, "ENV{MINOR}", "%d", i);
    prop(b, &f, "ENV{DISKSEQ}", "%d", i + 10);
    if (kind == 0) {
      prop(b, &f, "ENV{ID_BUS}", "scsi");
      prop(b, &f, "ENV{ID_SERIAL}", "35000c500%07x", (unsigned)(i / 2));
      prop(b, &f, "ENV{ID_WWN}", "0x5000c500%07x", (unsigned)(i / 2));
      prop(b, &f, "ENV{ID_MODEL}", "ST8000NM0075");
      prop(b, &f, "ENV{ID_VENDOR}", "%.7s", vendors[i % 4]);
      prop(b, &f, "ENV{ID_PATH}", "pci-0000:%02x:00.0-sas-phy%d-lun-0", i % 8,
           i % 48);
      prop(b, &f, "ENV{ID_TYPE}", "disk");
      prop(b, &f, "ENV{DM_MULTIPATH_DEVICE_PATH}", "1");
    } else if (kind == 1) {
      prop(b, &f, "ENV{DM_NAME}", "mpath%d", i - 480);
      prop(b, &f, "ENV{DM_UUID}", "mpath-35000c500%07x", (unsigned)(i - 480));
    } else if (kind == 2) {
      prop(b, &f, "ENV{ID_SERIAL}", "SAMSUNG_MZQLB7T6HMLA-00007_S4BGNA0N%06d",
           i);
      prop(b, &f, "ENV{ID_MODEL}", "SAMSUNG MZQLB7T6HMLA-00007");
    } else if (kind == 3) {
      prop(b, &f, "ENV{DM_NAME}", "vg%d-lv%d", i % 8, i);
      prop(b, &f, "ENV{DM_UUID}", "LVM-%08x", (unsigned)i * 2654435761u);
      prop(b, &f, "ENV{DM_VG_NAME}", "vg%d", i % 8);
      prop(b, &f, "ENV{DM_LV_NAME}", "lv%d", i);
    }
    for (int e = 0; e < 12; e++) {
      char k[64];
      snprintf(k, sizeof(k), "ENV{ID_EXTRA_%d}", e);
      prop(b, &f, k, "value-%u", rnd(100000));
    }
    block_attrs(b, &f, kind == 4 ? 0 : 15628053168ul, kind == 0);
    pm_buf_puts(b, "}");
    if (kind == 0 || kind == 2) {
      pm_buf_printf(
          b,
          ", \"parents\": [{\"ATTR{vendor}\": \"%s\", \"ATTR{model}\": "
          "\"ST8000NM0075    \", \"ATTR{rev}\": \"E004\", "
          "\"ATTR{queue_depth}\": \"254\", \"ATTR{state}\": \"running\", "
          "\"ATTR{timeout}\": \"30\", \"ATTR{device_blocked}\": \"0\"}, "
          "{\"ATTR{unique_id}\": \"%d\"}, {\"ATTR{vendor}\": \"0x1000\", "
          "\"ATTR{device}\": \"0x0097\", \"ATTR{class}\": \"0x010700\", "
          "\"ATTR{numa_node}\": \"%d\", \"ATTR{irq}\": \"%d\"}]",
          vendors[i % 4], i % 16, i % 2, 30 + i % 64);
    }
    pm_buf_putc(b, '}');
  }
  for (int i = 0; i < 1440; i++) {
    int f = 1, disk = i % 480;
    snprintf(name, sizeof(name), "sd%c%c%d", 'a' + disk / 26 % 26,
             'a' + disk % 26, i / 480 + 1);
    snprintf(obj, sizeof(obj), "/dev/%s", name);
    object_begin(b, "partition", name, obj, 0);
    prop(b, &f, "KERNEL", "%s", name);
    prop(b, &f, "SUBSYSTEM", "block");
    prop(b, &f, "DEVTYPE", "partition");
    prop(b, &f, "DRIVER", "%s", "");
    prop(b, &f, "ENV{DEVNAME}", "%s", obj);
    prop(b, &f, "ENV{ID_FS_TYPE}", "%s",
         i / 480 == 0   ? "vfat"
         : i / 480 == 1 ? "xfs"
                        : "LVM2_member");
    prop(b, &f, "ENV{ID_PART_ENTRY_NUMBER}", "%d", i / 480 + 1);
    prop(b, &f, "ENV{PARTN}", "%d", i / 480 + 1);
    for (int e = 0; e < 10; e++) {
      char k[64];
      snprintf(k, sizeof(k), "ENV{ID_PART_EXTRA_%d}", e);
      prop(b, &f, k, "%u", rnd(100000));
    }
    prop(b, &f, "ATTR{size}", "%u", 1000000 + rnd(1000000));
    prop(b, &f, "ATTR{partition}", "%d", i / 480 + 1);
    prop(b, &f, "ATTR{start}", "%u", rnd(1u << 30));
    prop(b, &f, "ATTR{stat}", "%u 0 %u 0", rnd(1u << 30), rnd(1u << 30));
    pm_buf_puts(b, "}, \"parents\": [{\"ATTR{size}\": \"15628053168\"}]}");
  }
}

static void nics(pm_buf_t *b) {
  char name[32];
  for (int i = 0; i < 599; i++) { /* and lo: 600 */
    int f = 1;
    if (i < 4)
      snprintf(name, sizeof(name), "eno%d", i + 1);
    else if (i < 6)
      snprintf(name, sizeof(name), "bond%d", i - 4);
    else if (i < 30)
      snprintf(name, sizeof(name), "bond0.%d", 100 + i);
    else
      snprintf(name, sizeof(name), "veth%06x", (unsigned)i * 40503u);
    object_begin(b, "nic", name, name, 0);
    prop(b, &f, "KERNEL", "%s", name);
    prop(b, &f, "NAME", "%s", name);
    prop(b, &f, "SUBSYSTEM", "net");
    prop(b, &f, "DEVTYPE", "%s",
         i < 4    ? ""
         : i < 6  ? "bond"
         : i < 30 ? "vlan"
                  : "");
    prop(b, &f, "DRIVER", "%s", i < 4 ? "igb" : "");
    prop(b, &f, "ENV{INTERFACE}", "%s", name);
    prop(b, &f, "ENV{IFINDEX}", "%d", i + 2);
    prop(b, &f, "ENV{ID_NET_DRIVER}", "%s",
         i < 4    ? "igb"
         : i < 6  ? "bonding"
         : i < 30 ? "802.1Q VLAN Support"
                  : "veth");
    static const char *const na[] = {"addr_assign_type",
                                     "addr_len",
                                     "carrier",
                                     "dormant",
                                     "duplex",
                                     "flags",
                                     "gro_flush_timeout",
                                     "ifalias",
                                     "link_mode",
                                     "mtu",
                                     "name_assign_type",
                                     "netdev_group",
                                     "operstate",
                                     "proto_down",
                                     "speed",
                                     "tx_queue_len",
                                     "type",
                                     "carrier_changes",
                                     NULL};
    char k[64];
    for (int a = 0; na[a]; a++) {
      snprintf(k, sizeof(k), "ATTR{%s}", na[a]);
      prop(b, &f, k, "%s",
           strcmp(na[a], "operstate") == 0 ? (i % 7 ? "up" : "down") : "1");
    }
    prop(b, &f, "ATTR{address}", "02:42:%02x:%02x:%02x:%02x", i >> 8 & 255,
         i & 255, rnd(256), rnd(256));
    for (int s = 0; s < 10; s++) {
      snprintf(k, sizeof(k), "ATTR{statistics/stat_%d}", s);
      prop(b, &f, k, "%u", rnd(1u << 31));
    }
    pm_buf_puts(b, "}");
    if (i < 4)
      pm_buf_puts(b, ", \"parents\": [{\"ATTR{vendor}\": \"0x8086\", "
                     "\"ATTR{device}\": \"0x1521\"}]");
    pm_buf_putc(b, '}');
  }
}

static void mounts(pm_buf_t *b) {
  char mnt[128], name[128];
  for (int i = 0; i < 600; i++) {
    int f = 1;
    if (i < 300)
      snprintf(mnt, sizeof(mnt), "/var/lib/docker/overlay2/%08x/merged",
               (unsigned)i * 2654435761u);
    else if (i < 500)
      snprintf(mnt, sizeof(mnt), "/srv/data%03d", i - 300);
    else
      snprintf(mnt, sizeof(mnt), "/run/user/%d", 1000 + i);
    snprintf(name, sizeof(name), "%s", mnt + 1);
    for (char *p = name; *p; p++)
      if (*p == '/')
        *p = '-';
    object_begin(b, "mount", name, mnt, 0);
    prop(b, &f, "MOUNT", "%s", mnt);
    prop(b, &f, "DEVICE", "%s",
         i < 300   ? "overlay"
         : i < 500 ? "/dev/mapper/vgdata-lv"
                   : "tmpfs");
    prop(b, &f, "FSTYPE", "%s",
         i < 300   ? "overlay"
         : i < 500 ? "xfs"
                   : "tmpfs");
    prop(b, &f, "OPTIONS",
         "rw,relatime,attr2,inode64,logbufs=8,logbsize=32k,noquota");
    prop(b, &f, "DEVNUM", "253:%d", i);
    pm_buf_puts(b, "}}");
  }
}

static void processes(pm_buf_t *b) {
  static const char *const comms[] = {
      "nginx",       "postgres", "java",  "python3",
      "node",        "sshd",     "bash",  "containerd-shim",
      "kworker/0:1", "nfsd",     "httpd", "redis-server",
      "mysqld",      "collectd"};
  char name[64], obj[32];
  for (int i = 0; i < 6000; i++) {
    int f = 1;
    const char *comm = comms[rnd(14)];
    snprintf(obj, sizeof(obj), "%d", 1000 + i);
    snprintf(name, sizeof(name), "%s", comm);
    object_begin(b, "process", name, obj, 1000 + i);
    prop(b, &f, "COMM", "%s", comm);
    prop(b, &f, "EXE", "/usr/bin/%s", comm);
    prop(b, &f, "CMDLINE",
         "/usr/bin/%s --instance %d --config /etc/%s/%s.conf --log-level info",
         comm, i % 50, comm, comm);
    prop(b, &f, "USER", "%s", i % 3 ? "app" : "root");
    pm_buf_puts(b, "}}");
  }
}

static void units_and_resources(pm_buf_t *b) {
  char name[64];
  for (int i = 0; i < 300; i++) {
    int f = 1;
    snprintf(name, sizeof(name), "svc-%03d.service", i);
    object_begin(b, "unit", name, name, 0);
    prop(b, &f, "UNIT", "%s", name);
    prop(b, &f, "STATE", "%s", i % 5 ? "active" : "inactive");
    prop(b, &f, "SUBSTATE", "%s", i % 5 ? "running" : "dead");
    prop(b, &f, "CGROUP", "/system.slice/%s", name);
    pm_buf_puts(b, "}}");
  }
  for (int i = 0; i < 100; i++) {
    int f = 1;
    snprintf(name, sizeof(name), "rsc-%03d", i);
    object_begin(b, "resource", name, name, 0);
    prop(b, &f, "RSC", "%s", name);
    prop(b, &f, "AGENT", "%s",
         i % 2 ? "ocf:heartbeat:Filesystem" : "ocf:heartbeat:IPaddr2");
    prop(b, &f, "ROLE", "Started");
    prop(b, &f, "GROUP", "grp-%d", i / 4);
    prop(b, &f, "NODE", "node1");
    prop(b, &f, "PARAM{directory}", "/srv/data%03d", i);
    prop(b, &f, "PARAM{device}", "/dev/vgdata/lv%d", i);
    pm_buf_puts(b, "}}");
  }
}

/* 100 patterns over every class: globs, regexes with captures, ATTRS,
 * excludes and name templates, as operators write them. */
static void patterns(FILE *f) {
  int n = 0;
  for (int i = 0; i < 30; i++, n++)
    fprintf(f,
            "pattern \"disk-%d\" {\n  class = disk\n"
            "  match = { \"KERNEL==sd%c*|dm-%d*|nvme%dn*\", "
            "\"ATTRS{vendor}==%s*|0x1000\","
            " \"ENV{ID_SERIAL}=~[0-9a-z]*(%x)[0-9a-f]*\" }\n"
            "  exclude = { \"ATTR{size}==0\", \"ENV{ID_TYPE}==cd\" }\n"
            "  name = \"%%1-$env{ID_MODEL}-%%k\"\n}\n",
            n, 'a' + i % 20, i, i, i % 2 ? "SEAGATE" : "HGST", i);
  for (int i = 0; i < 10; i++, n++)
    fprintf(f,
            "pattern \"part-%d\" {\n  class = partition\n"
            "  match = { \"ENV{ID_FS_TYPE}==%s\", "
            "\"KERNEL=~sd[a-%c][a-z]([0-9])\" }\n"
            "  name = \"p%%1-%%k\"\n}\n",
            n, i % 3 ? "xfs|ext4" : "LVM2_member", 'a' + i);
  for (int i = 0; i < 15; i++, n++)
    fprintf(f,
            "pattern \"nic-%d\" {\n  class = nic\n"
            "  match = { \"NAME==%s\", \"ATTR{operstate}==up\" }\n}\n",
            n,
            i == 0   ? "eno*|bond[0-9]"
            : i == 1 ? "bond0.*"
                     : "veth[0-9a-f][0-9a-f][0-9a-f]*");
  for (int i = 0; i < 10; i++, n++)
    fprintf(f,
            "pattern \"mount-%d\" {\n  class = mount\n"
            "  match = { "
            "\"MOUNT==/srv/data%d*|/var/lib/docker/overlay2/%x*/merged\", "
            "\"FSTYPE!=tmpfs\" }\n  metrics = { space }\n}\n",
            n, i, i);
  for (int i = 0; i < 25; i++, n++)
    fprintf(f,
            "pattern \"proc-%d\" {\n  class = process\n"
            "  match = { \"COMM=~(nginx|postgres|java|redis-server|mysqld)\", "
            "\"CMDLINE=~.*--instance (%d)[0-9]? .*\", \"USER==app|root\" }\n"
            "  name = \"%%1-i%%2\"\n}\n",
            n, i % 10);
  for (int i = 0; i < 5; i++, n++)
    fprintf(f,
            "pattern \"unit-%d\" {\n  class = unit\n"
            "  match = { \"UNIT=~svc-%d([0-9]+)\\\\.service\", "
            "\"STATE==active\" }\n"
            "  name = \"u%%1\"\n}\n",
            n, i);
  for (int i = 0; i < 5; i++, n++)
    fprintf(f,
            "pattern \"rsc-%d\" {\n  class = resource\n"
            "  match = { \"RSC==rsc-%d*\", \"AGENT==ocf:heartbeat:*\" }\n"
            "  name = \"$param{directory}\"\n}\n",
            n, i);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: gen-expand DIR\n");
    return 2;
  }
  pm_buf_t b = {0};
  pm_buf_puts(
      &b,
      "{\"patmon_snapshot\": 1, \"host\": \"bench\",\n \"classes\": [\"disk\", "
      "\"partition\", \"nic\", \"mount\", \"process\", \"unit\", "
      "\"resource\"],\n"
      " \"notes\": {},\n \"objects\": [\n  {\"class\": \"nic\", \"name\": "
      "\"lo\", "
      "\"props\": {\"NAME\": \"lo\", \"KERNEL\": \"lo\"}}");
  disks(&b);
  nics(&b);
  mounts(&b);
  processes(&b);
  units_and_resources(&b);
  pm_buf_puts(&b, "\n ]}\n");
  char path[4096];
  snprintf(path, sizeof(path), "%s/snapshot.json", argv[1]);
  if (b.err || pm_file_replace(path, b.data, b.len, 0644) < 0) {
    perror(path);
    return 1;
  }
  snprintf(path, sizeof(path), "%s/patterns.conf", argv[1]);
  FILE *f = fopen(path, "w");
  if (!f) {
    perror(path);
    return 1;
  }
  patterns(f);
  fclose(f);
  pm_buf_free(&b);
  return 0;
}
