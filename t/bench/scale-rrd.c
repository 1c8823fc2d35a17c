/* scale-rrd: the RRD tree of a large cluster for t/bench/scale, shaped as
 * collectd's rrdtool plugin writes it with its defaults (Interval 10:
 * StepSize 10, HeartBeat 20, RRARows 1200, RRATimespan 3600 86400 604800
 * 2678400 31622400, XFF 0.1, AVERAGE MIN MAX; data sources as types.db).
 *
 *   scale-rrd config NODES SERVICES
 *       prints the static inventory (node and service sections)
 *   scale-rrd write DIR NODES SERVICES ADDRESS
 *       creates what is missing under DIR and brings every file up to now:
 *       samples up to 300 s ago straight into the files, the last 300 s
 *       through the rrdcached at ADDRESS (which holds them until a flush,
 *       as collectd's rrdcached plugin leaves them)
 *
 * Hosts n0000..; service s<k> runs on node k * NODES / SERVICES. Samples
 * are a function of the series and the time only, so a tree written in
 * several goes holds the same values as one written at once. Per node:
 * cpu/percent-active, memory/memory-used, interface-eth0/if_octets; per
 * service: processes-<s>/ps_cputime and ps_rss (what patmon-balance reads
 * by default). One node in 20 runs hot (about 90% cpu). */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <rrd.h>
#include <rrd_client.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define STEP 10
#define CACHED 300   /* the last seconds sent through rrdcached */
#define HISTORY 7800 /* the balancer's window (7200 s) and some */
#define BATCH 1024   /* samples per rrd_update_r */
#define NODE_CPU 16  /* cores */
#define NODE_MEM 64.0 * 1073741824

enum kind { CPU, MEM, NET, PS_CPU, PS_RSS, NKIND };

static const struct kind_def {
  const char *dir, *file, *type, *max;
  const char *ds[2];
} kinds[NKIND] = {
    [CPU] = {"cpu", "percent-active", "GAUGE", "100.1", {"value"}},
    [MEM] = {"memory", "memory-used", "GAUGE", "281474976710656", {"value"}},
    [NET] = {"interface-eth0", "if_octets", "DERIVE", "U", {"rx", "tx"}},
    [PS_CPU] = {"processes-", "ps_cputime", "DERIVE", "U", {"user", "syst"}},
    [PS_RSS] =
        {"processes-", "ps_rss", "GAUGE", "9223372036854775807", {"value"}},
};

/* A number in [0, 1) from an integer (splitmix64). */
static double unit(unsigned long long x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return (double)(x >> 11) / 9007199254740992.0;
}

/* Node n's cpu share (0..1): one node in 20 runs hot. */
static double node_busy(int n) {
  return n % 20 == 7 ? 0.86 + 0.06 * unit((unsigned long long)n)
                     : 0.2 + 0.4 * unit((unsigned long long)n);
}

/* Value of data source ds of a series at time t: a GAUGE's value, or a
 * DERIVE's counter (the integral of its rate, so rates read back are the
 * rate plus a slow wave). */
static double sample(enum kind k, int n, int s, int svc_per_node, int ds,
                     time_t t) {
  const double period = 3600, w = 2 * M_PI / period;
  double busy = node_busy(n), phase = 6.28 * unit((unsigned long long)s + 7);
  double wave = sin(w * (double)t + phase);
  /* Services take 80% of the node, shared by their weights. */
  double share = 0.8 / svc_per_node * (0.5 + unit((unsigned long long)s));
  switch (k) {
  case CPU:
    return 100 * busy * (1 + 0.03 * wave);
  case MEM:
    return NODE_MEM * busy * (1 + 0.01 * wave);
  case NET: { /* bytes/s: ~1e6, as a counter */
    double r = 1e6 * (1 + ds) * busy;
    return floor(r * (double)t - r * 0.1 / w * cos(w * (double)t + phase));
  }
  case PS_CPU: { /* microseconds per second, user 3/4, syst 1/4 */
    double r = 1e6 * NODE_CPU * busy * share * (ds ? 0.25 : 0.75);
    return floor(r * (double)t - r * 0.03 / w * cos(w * (double)t + phase));
  }
  case PS_RSS:
    return floor(NODE_MEM * busy * share * (1 + 0.01 * wave));
  case NKIND:
    break;
  }
  return NAN;
}

/* The directories above path (DIR/host/plugin/file): the two levels
 * under DIR, made when missing. */
static int make_parents(const char *path) {
  char d[4096];
  snprintf(d, sizeof(d), "%s", path);
  char *last = strrchr(d, '/');
  if (!last)
    return 0;
  *last = '\0';
  if (mkdir(d, 0755) == 0 || errno == EEXIST)
    return 0;
  char *host = strrchr(d, '/');
  if (!host || errno != ENOENT)
    return -errno;
  *host = '\0';
  if (mkdir(d, 0755) < 0 && errno != EEXIST)
    return -errno;
  *host = '/';
  return mkdir(d, 0755) == 0 || errno == EEXIST ? 0 : -errno;
}

/* collectd's rrdtool plugin's create arguments for a kind (DS, then the
 * RRAs: see the header). Returns the count. */
static int create_args(enum kind k, char buf[][80], const char **argv) {
  int c = 0;
  for (int d = 0; d < 2 && kinds[k].ds[d]; d++) {
    snprintf(buf[c], 80, "DS:%s:%s:%d:0:%s", kinds[k].ds[d], kinds[k].type,
             2 * STEP, kinds[k].max);
    argv[c] = buf[c];
    c++;
  }
  static const int spans[] = {3600, 86400, 604800, 2678400, 31622400};
  static const char *const cfs[] = {"AVERAGE", "MIN", "MAX"};
  const int rows = 1200;
  for (int i = 0; i < 5; i++) {
    int span = spans[i] / STEP < rows ? STEP * rows : spans[i];
    int len = i == 0 ? 1 : (int)floor((double)span / (rows * STEP));
    int num = (int)ceil((double)span / (len * STEP));
    for (int j = 0; j < 3; j++) {
      snprintf(buf[c], 80, "RRA:%s:0.1:%d:%d", cfs[j], len, num);
      argv[c] = buf[c];
      c++;
    }
  }
  return c;
}

/* One update argument "T:v[:v]". */
static void update_arg(enum kind k, int n, int s, int spn, time_t t, char *buf,
                       size_t len) {
  int o = snprintf(buf, len, "%lld", (long long)t);
  for (int d = 0; d < 2 && kinds[k].ds[d]; d++)
    o +=
        snprintf(buf + o, len - (size_t)o, ":%.0f", sample(k, n, s, spn, d, t));
}

/* Brings one file up to now. Returns 0 or -1 (said on stderr). */
static int write_file(const char *path, enum kind k, int n, int s, int spn,
                      size_t *cached) {
  struct stat st;
  time_t now = time(NULL); /* per file: the whole tree takes minutes */
  time_t last = 0, end = now - now % STEP;
  /* What rrdcached holds goes to the file first: its last update is the
   * file's then. */
  if (stat(path, &st) == 0) {
    if (rrdc_flush(path) != 0) {
      fprintf(stderr, "scale-rrd: %s: flush: %s\n", path, rrd_get_error());
      return -1;
    }
    last = rrd_last_r(path);
  }
  if (last <= 0 || last < end - HISTORY) {
    char buf[20][80];
    const char *argv[20];
    int c = create_args(k, buf, argv);
    last = end - HISTORY;
    if (make_parents(path) < 0 ||
        rrd_create_r(path, STEP, last, c, argv) != 0) {
      fprintf(stderr, "scale-rrd: %s: %s\n", path, rrd_get_error());
      return -1;
    }
  }
  /* Straight into the file, in batches of BATCH samples. */
  static char args[BATCH][64];
  static const char *argv[BATCH];
  int c = 0;
  time_t t = last + STEP - (last + STEP) % STEP;
  for (; t <= end - CACHED; t += STEP) {
    update_arg(k, n, s, spn, t, args[c], sizeof(args[c]));
    argv[c] = args[c];
    if (++c == BATCH || t + STEP > end - CACHED) {
      if (rrd_update_r(path, NULL, c, argv) != 0) {
        fprintf(stderr, "scale-rrd: %s: %s\n", path, rrd_get_error());
        return -1;
      }
      c = 0;
    }
  }
  /* The rest through rrdcached. */
  for (c = 0; t <= end && c < CACHED / STEP; t += STEP, c++) {
    update_arg(k, n, s, spn, t, args[c], sizeof(args[c]));
    argv[c] = args[c];
  }
  if (c && rrdc_update(path, c, argv) != 0) {
    fprintf(stderr, "scale-rrd: %s: rrdcached: %s\n", path, rrd_get_error());
    return -1;
  }
  *cached += (size_t)c;
  rrd_clear_error();
  return 0;
}

static int usage(void) {
  fprintf(stderr, "usage: scale-rrd config NODES SERVICES\n"
                  "       scale-rrd write DIR NODES SERVICES ADDRESS\n");
  return 2;
}

int main(int argc, char **argv) {
  if (argc < 4)
    return usage();
  bool config = strcmp(argv[1], "config") == 0;
  int a = config ? 2 : 3;
  if (!config && (strcmp(argv[1], "write") || argc != 6))
    return usage();
  int nodes = atoi(argv[a]), svcs = atoi(argv[a + 1]);
  if (nodes <= 0 || svcs < 0 || nodes > 10000)
    return usage();
  int spn = (svcs + nodes - 1) / nodes;
  if (config) {
    for (int n = 0; n < nodes; n++)
      printf("node \"n%04d\" {\n  cpu = \"%d\"\n  memory = \"64G\"\n"
             "  net = \"125M\"\n}\n",
             n, NODE_CPU);
    for (int s = 0; s < svcs; s++)
      printf("service \"s%05d\" {\n  node = \"n%04d\"\n}\n", s,
             (int)((long)s * nodes / svcs));
    return 0;
  }
  const char *dir = argv[2];
  if (rrdc_connect(argv[5]) != 0 || !rrdc_is_connected(argv[5])) {
    fprintf(stderr, "scale-rrd: %s: %s\n", argv[5], rrd_get_error());
    return 1;
  }
  char path[4096];
  size_t cached = 0;
  int bad = 0;
  for (int n = 0; n < nodes && !bad; n++) {
    for (enum kind k = CPU; k <= NET && !bad; k++) {
      snprintf(path, sizeof(path), "%s/n%04d/%s/%s.rrd", dir, n, kinds[k].dir,
               kinds[k].file);
      bad = write_file(path, k, n, 0, spn, &cached);
    }
  }
  for (int s = 0; s < svcs && !bad; s++) {
    int n = (int)((long)s * nodes / svcs);
    for (enum kind k = PS_CPU; k <= PS_RSS && !bad; k++) {
      snprintf(path, sizeof(path), "%s/n%04d/processes-s%05d/%s.rrd", dir, n, s,
               kinds[k].file);
      bad = write_file(path, k, n, s, spn, &cached);
    }
  }
  rrdc_disconnect();
  if (!bad)
    printf("%zu samples held by rrdcached (%.1f per file)\n", cached,
           (double)cached / (3.0 * nodes + 2.0 * svcs));
  return bad ? 1 : 0;
}
