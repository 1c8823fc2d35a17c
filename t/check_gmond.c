/* Unit tests for value lists as gmond metrics (reading/gmond.c): names from
 * the class table, rates from counters, averages, node values, and the
 * metrics of entries that went away. */
#include "config.h"

#include "check_expand.h"
#include "check_run.h"
#include "reading.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char nic_snap[] =
    "{\"patmon_snapshot\": 1, \"objects\": ["
    "{\"class\": \"nic\", \"name\": \"eth0\", \"props\": {\"NAME\": "
    "\"eth0\"}},"
    "{\"class\": \"nic\", \"name\": \"eth1\", \"props\": {\"NAME\": "
    "\"eth1\"}}]}";

/* Metrics seen, as "name=value units group". */
struct got {
  char lines[64][200];
  int n;
};

static int collect(const rd_gmetric_t *m, void *ud) {
  struct got *g = ud;
  ck_assert_int_lt(g->n, 64);
  ck_assert_int_le(strlen(m->name), PAT_GMETRIC_NAME_MAX);
  snprintf(g->lines[g->n++], 200, "%s=%g %s %s%s", m->name, m->value, m->units,
           m->group, m->announce ? "" : " again");
  return 0;
}

static int collect_name(const char *name, void *ud) {
  struct got *g = ud;
  ck_assert_int_lt(g->n, 64);
  snprintf(g->lines[g->n++], 200, "%s", name);
  return 0;
}

static void assert_line(const struct got *g, const char *want) {
  for (int i = 0; i < g->n; i++)
    if (strcmp(g->lines[i], want) == 0)
      return;
  char all[4096] = "";
  for (int i = 0; i < g->n; i++) {
    strncat(all, g->lines[i], sizeof(all) - strlen(all) - 2);
    strncat(all, "\n", sizeof(all) - strlen(all) - 1);
  }
  ck_abort_msg("no line '%s' in:\n%s", want, all);
}

static rd_value_t counters(const pat_entry_t *en, const char *plugin,
                           const char *type, int64_t a, int64_t b) {
  return (rd_value_t){.plugin = plugin,
                      .plugin_instance = en ? en->instance : "",
                      .type = type,
                      .type_instance = "",
                      .nvalues = 2,
                      .derive = true,
                      .counter = {a, b},
                      .entry = en};
}

START_TEST(names_follow_the_table) {
  pat_entries_t *e =
      expand("pattern \"n\" { class = nic  metrics = { traffic, errors } "
             "name = \"up:%k\" }\n",
             nic_snap);
  ck_assert_uint_eq(pat_entries_count(e), 2);
  pat_entry_t en;
  ck_assert_int_eq(pat_entries_get(e, 0, &en), 0);
  struct got g = {0};
  ck_assert_int_eq(pat_gmond_names(&en, collect_name, &g), 0);
  /* Only the groups asked for; ':' is one gmond would change: '_'. */
  ck_assert_int_eq(g.n, 4);
  assert_line(&g, "net_up_eth0_bytes_in");
  assert_line(&g, "net_up_eth0_bytes_out");
  assert_line(&g, "net_up_eth0_errs_in");
  assert_line(&g, "net_up_eth0_errs_out");
  char name[PAT_GMETRIC_NAME_MAX + 1];
  pat_gmond_name(NULL, "load_one", name, sizeof(name));
  ck_assert_str_eq(name, "load_one");
  pat_entries_free(e);
}
END_TEST

START_TEST(counters_become_rates) {
  pat_entries_t *e = expand("pattern \"n\" { class = nic }\n", nic_snap);
  pat_entry_t en;
  ck_assert_int_eq(pat_entries_get(e, 0, &en), 0);
  rd_gmond_t *g = NULL;
  ck_assert_int_eq(rd_gmond_new(3, &g), 0);
  struct got got = {0};
  rd_value_t v = counters(&en, "interface", "if_octets", 1000, 5000);
  /* The first value only primes both counters. */
  ck_assert_int_eq(rd_gmond_convert(g, &v, 100, 10, collect, &got), 0);
  ck_assert_uint_eq(rd_gmond_take_primed(g), 2);
  ck_assert_uint_eq(rd_gmond_take_primed(g), 0);
  v = counters(&en, "interface", "if_octets", 3000, 5400);
  ck_assert_int_eq(rd_gmond_convert(g, &v, 104, 10, collect, &got), 2);
  assert_line(&got, "net_eth0_bytes_in=500 bytes/sec network");
  assert_line(&got, "net_eth0_bytes_out=100 bytes/sec network");
  /* A counter that went down was reset: it primes again, no negative rate. */
  got.n = 0;
  v = counters(&en, "interface", "if_octets", 10, 6400);
  ck_assert_int_eq(rd_gmond_convert(g, &v, 114, 10, collect, &got), 1);
  assert_line(&got, "net_eth0_bytes_out=100 bytes/sec network again");
  ck_assert_uint_eq(rd_gmond_take_primed(g), 1);
  /* Three intervals after the last announcement: announced again. */
  got.n = 0;
  v = counters(&en, "interface", "if_octets", 1010, 7400);
  ck_assert_int_eq(rd_gmond_convert(g, &v, 134, 10, collect, &got), 2);
  assert_line(&got, "net_eth0_bytes_in=50 bytes/sec network");
  assert_line(&got, "net_eth0_bytes_out=50 bytes/sec network");
  /* A type the table does not name makes nothing. */
  v = counters(&en, "interface", "if_multicast", 1, 2);
  ck_assert_int_eq(rd_gmond_convert(g, &v, 120, 10, collect, &got), 0);
  ck_assert_uint_eq(rd_gmond_count(g), 2);
  rd_gmond_free(g);
  pat_entries_free(e);
}
END_TEST

START_TEST(gauges_averages_and_scales) {
  pat_entries_t *e =
      expand("pattern \"d\" { class = disk }\npattern \"p\" { class = process "
             "match = { \"COMM==web\" } }\n",
             "{\"patmon_snapshot\": 1, \"objects\": ["
             "{\"class\": \"disk\", \"name\": \"vda\", \"props\": {\"KERNEL\": "
             "\"vda\"}},"
             "{\"class\": \"process\", \"name\": \"web\", \"object\": \"10\", "
             "\"pid\": 10, \"props\": {\"COMM\": \"web\"}}]}");
  pat_entry_t disk, proc;
  ck_assert_int_eq(pat_entries_get(e, 0, &disk), 0);
  ck_assert_int_eq(pat_entries_get(e, 1, &proc), 0);
  ck_assert_int_eq(disk.cls, PAT_DISK);
  rd_gmond_t *g = NULL;
  ck_assert_int_eq(rd_gmond_new(1, &g), 0);
  struct got got = {0};
  /* collectd's disk_time grows by interval x average ms per operation:
   * 150 over a 10 s interval is 15 ms, whenever the second read happens. */
  rd_value_t v = counters(&disk, "disk", "disk_time", 1000, 2000);
  ck_assert_int_eq(rd_gmond_convert(g, &v, 0, 10, collect, &got), 0);
  v = counters(&disk, "disk", "disk_time", 1150, 2500);
  ck_assert_int_eq(rd_gmond_convert(g, &v, 1, 10, collect, &got), 2);
  assert_line(&got, "disk_vda_read_time=15 ms disk");
  assert_line(&got, "disk_vda_write_time=50 ms disk");
  v = (rd_value_t){.plugin = "disk",
                   .plugin_instance = "vda",
                   .type = "pending_operations",
                   .type_instance = "",
                   .nvalues = 1,
                   .gauge = {3},
                   .entry = &disk};
  ck_assert_int_eq(rd_gmond_convert(g, &v, 1, 10, collect, &got), 1);
  assert_line(&got, "disk_vda_pending=3 ops disk");
  /* ps_cputime counts microseconds: 2 s of user time in 4 s is 50%. */
  got.n = 0;
  v = counters(&proc, "processes", "ps_cputime", 0, 0);
  rd_gmond_convert(g, &v, 10, 10, collect, &got);
  v = counters(&proc, "processes", "ps_cputime", 2000000, 400000);
  ck_assert_int_eq(rd_gmond_convert(g, &v, 14, 10, collect, &got), 2);
  assert_line(&got, "proc_web_cpu_user=50 % process");
  assert_line(&got, "proc_web_cpu_system=10 % process");
  /* ps_count: two gauges. */
  v = (rd_value_t){.plugin = "processes",
                   .plugin_instance = "web",
                   .type = "ps_count",
                   .type_instance = "",
                   .nvalues = 2,
                   .gauge = {2, 7},
                   .entry = &proc};
  ck_assert_int_eq(rd_gmond_convert(g, &v, 14, 10, collect, &got), 2);
  assert_line(&got, "proc_web_procs=2 processes process");
  assert_line(&got, "proc_web_threads=7 threads process");
  rd_gmond_free(g);
  pat_entries_free(e);
}
END_TEST

/* A resource's own io and its data volume's are both disk_octets, from
 * different collectd plugins: they must not share a name. */
START_TEST(resource_volume_apart) {
  pat_entry_t en = {
      .cls = PAT_RESOURCE, .instance = "nfs", .pattern = "ha", .metrics = ~0u};
  rd_gmond_t *g = NULL;
  ck_assert_int_eq(rd_gmond_new(1, &g), 0);
  struct got got = {0};
  rd_value_t own = counters(&en, "processes", "disk_octets", 0, 0);
  rd_value_t vol = counters(&en, "disk", "disk_octets", 0, 0);
  vol.plugin_instance = "sdb";
  rd_gmond_convert(g, &own, 0, 10, collect, &got);
  rd_gmond_convert(g, &vol, 0, 10, collect, &got);
  own = counters(&en, "processes", "disk_octets", 100, 200);
  vol = counters(&en, "disk", "disk_octets", 1000, 2000);
  vol.plugin_instance = "sdb";
  ck_assert_int_eq(rd_gmond_convert(g, &own, 10, 10, collect, &got), 2);
  ck_assert_int_eq(rd_gmond_convert(g, &vol, 10, 10, collect, &got), 2);
  assert_line(&got, "rsc_nfs_read_bytes=10 bytes/sec resource");
  assert_line(&got, "rsc_nfs_vol_read_bytes=100 bytes/sec resource");
  assert_line(&got, "rsc_nfs_vol_write_bytes=200 bytes/sec resource");
  struct got names = {0};
  ck_assert_int_eq(pat_gmond_names(&en, collect_name, &names), 0);
  for (int i = 0; i < names.n; i++)
    for (int j = 0; j < i; j++)
      ck_assert_msg(strcmp(names.lines[i], names.lines[j]) != 0,
                    "%s listed twice", names.lines[i]);
  rd_gmond_free(g);
}
END_TEST

/* Resource a's volume and resource a_vol's own io would both be
 * rsc_a_vol_read_bytes and rsc_a_vol_write_bytes: the entry seen first
 * keeps the names, the other's are not sent (no rate made of two series),
 * and each clash is counted once. */
START_TEST(clashing_names_keep_the_first) {
  pat_entry_t a = {
      .cls = PAT_RESOURCE, .instance = "a", .pattern = "ha", .metrics = ~0u};
  pat_entry_t a_vol = {.cls = PAT_RESOURCE,
                       .instance = "a_vol",
                       .pattern = "ha",
                       .metrics = ~0u};
  rd_gmond_t *g = NULL;
  ck_assert_int_eq(rd_gmond_new(1, &g), 0);
  for (int k = 0; k < 3; k++) {
    struct got got = {0};
    rd_value_t vol = counters(&a, "disk", "disk_octets", 1000 * k, 0);
    vol.plugin_instance = "sdb";
    rd_value_t own = counters(&a_vol, "processes", "disk_octets", 7 * k, 0);
    rd_gmond_convert(g, &vol, 10 * k, 10, collect, &got);
    ck_assert_int_eq(rd_gmond_convert(g, &own, 10 * k, 10, collect, &got), 0);
    if (k) {
      assert_line(&got, "rsc_a_vol_read_bytes=100 bytes/sec resource");
      assert_line(&got, "rsc_a_vol_write_bytes=0 bytes/sec resource");
    }
    char first[400] = "";
    ck_assert_uint_eq(rd_gmond_take_clashes(g, first, sizeof(first)),
                      k == 0 ? 2 : 0);
    if (k == 0)
      ck_assert_str_eq(first, "rsc_a_vol_read_bytes of resource a_vol is "
                              "resource a's already");
  }
  /* a goes: its names are retired, and a_vol may have them. */
  ck_assert_int_eq(rd_gmond_retire(g, NULL, NULL, NULL), 2);
  struct got got = {0};
  rd_value_t own = counters(&a_vol, "processes", "disk_octets", 70, 0);
  ck_assert_int_eq(rd_gmond_convert(g, &own, 40, 10, collect, &got), 0);
  own = counters(&a_vol, "processes", "disk_octets", 170, 0);
  ck_assert_int_eq(rd_gmond_convert(g, &own, 50, 10, collect, &got), 2);
  assert_line(&got, "rsc_a_vol_read_bytes=10 bytes/sec resource");
  rd_gmond_free(g);
}
END_TEST

/* `patmon-expand -f gmond` marks a name an earlier entry has: "up:eth0"
 * and "up_eth0" are both net_up_eth0 to gmond. */
START_TEST(snippet_marks_clashes) {
  pat_entries_t *e =
      expand("pattern \"p1\" { class = nic  match = { \"NAME==eth0\" }  "
             "metrics = { traffic }  name = \"up:%k\" }\n"
             "pattern \"p2\" { class = nic  match = { \"NAME==eth1\" }  "
             "metrics = { traffic }  name = \"up_eth0\" }\n",
             nic_snap);
  ck_assert_uint_eq(pat_entries_count(e), 2);
  pm_buf_t out = {0};
  ck_assert_int_eq(pat_entries_format(e, PAT_FORMAT_GMOND, NULL, &out), 0);
  ck_assert_ptr_nonnull(strstr(out.data, "#   net_up_eth0_bytes_in\n"));
  ck_assert_ptr_nonnull(strstr(out.data,
                               "#   net_up_eth0_bytes_in  (not published: nic "
                               "up:eth0's already)\n"));
  pm_buf_free(&out);
  pat_entries_free(e);
}
END_TEST

START_TEST(node_values_use_gmond_names) {
  rd_gmond_t *g = NULL;
  ck_assert_int_eq(rd_gmond_new(1, &g), 0);
  struct got got = {0};
  rd_value_t load = {.plugin = "load",
                     .plugin_instance = "",
                     .type = "load",
                     .type_instance = "",
                     .nvalues = 3,
                     .gauge = {0.5, 0.25, 0.125}};
  ck_assert_int_eq(rd_gmond_convert(g, &load, 0, 10, collect, &got), 3);
  assert_line(&got, "load_one=0.5   load");
  assert_line(&got, "load_fifteen=0.125   load");
  rd_value_t idle = {.plugin = "cpu",
                     .plugin_instance = "",
                     .type = "percent",
                     .type_instance = "idle",
                     .nvalues = 1,
                     .gauge = {87.5}};
  ck_assert_int_eq(rd_gmond_convert(g, &idle, 0, 10, collect, &got), 1);
  assert_line(&got, "cpu_idle=87.5 % cpu");
  /* Node metrics belong to no entry: never retired. */
  ck_assert_int_eq(rd_gmond_retire(g, NULL, NULL, NULL), 0);
  ck_assert_uint_eq(rd_gmond_count(g), 4);
  rd_gmond_free(g);
}
END_TEST

START_TEST(retire_what_went_away) {
  pat_entries_t *both = expand("pattern \"n\" { class = nic }\n", nic_snap);
  pat_entries_t *one = expand(
      "pattern \"n\" { class = nic }\n",
      "{\"patmon_snapshot\": 1, \"objects\": [{\"class\": \"nic\", \"name\": "
      "\"eth1\", \"props\": {\"NAME\": \"eth1\"}}]}");
  rd_gmond_t *g = NULL;
  ck_assert_int_eq(rd_gmond_new(1, &g), 0);
  struct got got = {0};
  /* Enough metrics to grow the table past its first size. */
  char type[32];
  for (size_t i = 0; i < pat_entries_count(both); i++) {
    pat_entry_t en;
    ck_assert_int_eq(pat_entries_get(both, i, &en), 0);
    static const char *const types[] = {"if_octets", "if_packets", "if_errors",
                                        "if_dropped"};
    for (int t = 0; t < 4; t++) {
      snprintf(type, sizeof(type), "%s", types[t]);
      rd_value_t v = counters(&en, "interface", type, 1, 1);
      rd_gmond_convert(g, &v, 0, 10, collect, &got);
    }
  }
  rd_value_t load = {.plugin = "load",
                     .plugin_instance = "",
                     .type = "load",
                     .type_instance = "",
                     .nvalues = 3};
  rd_gmond_convert(g, &load, 0, 10, collect, &got);
  ck_assert_uint_eq(rd_gmond_count(g), 19);
  struct got gone = {0};
  ck_assert_int_eq(rd_gmond_retire(g, one, collect_name, &gone), 8);
  ck_assert_int_eq(gone.n, 8);
  assert_line(&gone, "net_eth0_bytes_in");
  assert_line(&gone, "net_eth0_drops_out");
  ck_assert_uint_eq(rd_gmond_count(g), 11);
  /* What stayed still has its previous counters. */
  pat_entry_t en;
  ck_assert_int_eq(pat_entries_get(one, 0, &en), 0);
  got.n = 0;
  rd_value_t v = counters(&en, "interface", "if_octets", 11, 21);
  ck_assert_int_eq(rd_gmond_convert(g, &v, 10, 10, collect, &got), 2);
  assert_line(&got, "net_eth1_bytes_in=1 bytes/sec network");
  /* Unchanged entries: nothing retired. */
  ck_assert_int_eq(rd_gmond_retire(g, one, collect_name, &gone), 0);
  rd_gmond_free(g);
  pat_entries_free(one);
  pat_entries_free(both);
}
END_TEST

START_TEST(self_metrics_are_named_for_gmond) {
  size_t n;
  const pat_gmond_self_t *s = pat_gmond_self_metrics(&n);
  ck_assert_uint_ge(n, 5);
  for (size_t i = 0; i < n; i++) {
    ck_assert_int_eq(strncmp(s[i].name, "patmon_", 7), 0);
    ck_assert(strcmp(s[i].slope, "both") == 0 ||
              strcmp(s[i].slope, "positive") == 0);
  }
}
END_TEST

int main(void) {
  Suite *s = suite_create("gmond");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, names_follow_the_table);
  tcase_add_test(tc, counters_become_rates);
  tcase_add_test(tc, gauges_averages_and_scales);
  tcase_add_test(tc, resource_volume_apart);
  tcase_add_test(tc, clashing_names_keep_the_first);
  tcase_add_test(tc, snippet_marks_clashes);
  tcase_add_test(tc, node_values_use_gmond_names);
  tcase_add_test(tc, retire_what_went_away);
  tcase_add_test(tc, self_metrics_are_named_for_gmond);
  suite_add_tcase(s, tc);
  return check_run(s);
}
