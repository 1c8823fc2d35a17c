/* Unit tests for balancer/: planner on hand-made clusters, forecasts,
 * configuration and Pacemaker XML parsing (good and bad input). */
#include "config.h"

#include "check_run.h"
#include "internal.h"
#include "zone.h"

#include <check.h>
#include <errno.h>
#include <math.h>
/* rrd_format.h: the header's layout, to make files that do not add up. */
#define RRD_EXPORT_DEPRECATED
#include <rrd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef TEST_SRCDIR
#define TEST_SRCDIR "."
#endif
#define TEST_DATA TEST_SRCDIR "/t/data/balancer"

/* ---- building clusters --------------------------------------------------- */

/* A node of `cap` cores (cpu only). */
static int node(bal_cluster_t *c, const char *name, double cap,
                enum bal_node_state st) {
  double cp[BAL_NDIM] = {cap, NAN, NAN};
  int n = bal_cluster_add_node(c, name, cp, st);
  ck_assert_int_ge(n, 0);
  double zero[BAL_NDIM] = {0, 0, 0};
  ck_assert_int_eq(bal_node_set_load(c, n, zero), 0);
  return n;
}

/* The cluster most cases start from: n1, n2, n3, online, of 10 cores. */
static bal_cluster_t *three_nodes(void) {
  bal_cluster_t *c = bal_cluster_new();
  ck_assert_ptr_nonnull(c);
  node(c, "n1", 10, BAL_NODE_ONLINE);
  node(c, "n2", 10, BAL_NODE_ONLINE);
  node(c, "n3", 10, BAL_NODE_ONLINE);
  return c;
}

/* The plan's one move (it must have exactly one). */
static bal_move_t only_move(const bal_plan_t *pl) {
  ck_assert_uint_eq(bal_plan_nmoves(pl), 1);
  bal_move_t m;
  ck_assert_int_eq(bal_plan_move(pl, 0, &m), 0);
  return m;
}

/* A service of `cpu` cores on node (by name, NULL: stopped); adds its
 * demand to the node's load unless the node is offline. */
static int svc(bal_cluster_t *c, const char *name, const char *on, double cpu) {
  int n = on ? bal_cluster_find_node(c, on) : -1;
  double d[BAL_NDIM] = {cpu, 0, 0};
  int s = bal_cluster_add_service(c, name, n, d);
  ck_assert_int_ge(s, 0);
  if (n >= 0 && bal_node_state(c, n) != BAL_NODE_OFFLINE) {
    double l[BAL_NDIM] = {0, 0, 0};
    l[BAL_CPU] = c->nodes[n].load[BAL_CPU] + cpu;
    bal_node_set_load(c, n, l);
  }
  return s;
}

static bal_plan_t *plan(const bal_cluster_t *c, const bal_params_t *p) {
  bal_plan_t *pl = NULL;
  ck_assert_int_eq(bal_plan_compute(c, p, &pl), 0);
  ck_assert_ptr_nonnull(pl);
  return pl;
}

static double after(const bal_plan_t *pl, const bal_cluster_t *c,
                    const char *n) {
  double a = NAN;
  ck_assert_int_eq(
      bal_plan_node_util(pl, bal_cluster_find_node(c, n), NULL, &a), 0);
  return a;
}

/* Where the plan sends service s (its current node when it does not move). */
static const char *dest(const bal_plan_t *pl, const bal_cluster_t *c,
                        const char *s) {
  for (size_t i = 0; i < bal_plan_nmoves(pl); i++) {
    bal_move_t m;
    ck_assert_int_eq(bal_plan_move(pl, i, &m), 0);
    for (size_t k = 0; k < m.nservices; k++)
      if (strcmp(m.services[k], s) == 0)
        return m.to;
  }
  int n = bal_service_node(c, bal_cluster_find_service(c, s));
  return n >= 0 ? bal_node_name(c, n) : NULL;
}

static bool has_note(const bal_plan_t *pl, const char *needle) {
  for (size_t i = 0; i < bal_plan_nnotes(pl); i++)
    if (strstr(bal_plan_note(pl, i), needle))
      return true;
  return false;
}

/* Applies pl to c and frees it; planned again, c needs no move. */
static void apply_then_still(bal_plan_t *pl, bal_cluster_t *c,
                             const bal_params_t *p) {
  ck_assert_int_eq(bal_plan_apply(pl, c), 0);
  bal_plan_free(pl);
  pl = plan(c, p);
  ck_assert_uint_eq(bal_plan_nmoves(pl), 0);
  bal_plan_free(pl);
}

/* ---- planner ------------------------------------------------------------- */

START_TEST(overload_fewest_moves) {
  /* n1 is forecast at 90% of 10 cores: one move of the smallest service
   * that covers the 1-core excess (c, 2 cores) to the least loaded node. */
  bal_cluster_t *c = three_nodes();
  svc(c, "a", "n1", 4);
  svc(c, "b", "n1", 3);
  svc(c, "c", "n1", 2);
  svc(c, "d", "n2", 5);
  svc(c, "e", "n3", 3);
  bal_params_t p;
  bal_params_init(&p);
  bal_plan_t *pl = plan(c, &p);
  bal_move_t m = only_move(pl);
  ck_assert_uint_eq(m.nservices, 1);
  ck_assert_str_eq(m.services[0], "c");
  ck_assert_str_eq(m.from, "n1");
  ck_assert_str_eq(m.to, "n3");
  ck_assert_int_eq(m.reason, BAL_WHY_OVERLOAD);
  ck_assert_ptr_nonnull(strstr(m.why, "n1 forecast 90% > 80%"));
  /* It removes n1's expected overload (1 node above threshold, by 10% of
   * its capacity) less the move cost; over the horizon only: at the next
   * step n1 still carries c while it moves (move_charge 1). */
  ck_assert_double_eq_tol(m.gain, (1 - p.near_weight) * 1.1 - p.move_cost,
                          1e-9);
  ck_assert_ptr_nonnull(strstr(m.why, "; gain 0.760 a move"));
  ck_assert_double_eq_tol(after(pl, c, "n1"), 0.7, 1e-9);
  ck_assert_double_eq_tol(after(pl, c, "n3"), 0.5, 1e-9);
  ck_assert_uint_eq(bal_plan_nnotes(pl), 0);
  /* Applied, the cluster is balanced: a second plan does nothing. */
  apply_then_still(pl, c, &p);
  bal_cluster_free(c);
}
END_TEST

/* A service of `cpu` cores with spread sd (svc, then its spread). */
static int svc_sd(bal_cluster_t *c, const char *name, const char *on,
                  double cpu, double sd) {
  int s = svc(c, name, on, cpu);
  double v[BAL_NDIM] = {sd, 0, 0};
  ck_assert_int_eq(bal_service_set_spread(c, s, v), 0);
  return s;
}

START_TEST(quiet_cluster_stays_still) {
  /* issue 9's live cluster before any raise: nodes of half a core at 46%,
   * 22% and 12%, with the wide spreads a busy machine gives its estimates.
   * No node's load comes within two spreads of the 80% threshold, so
   * nothing moves (not even to even out), although moving b or c would
   * spread the load more evenly and shave the tails. */
  bal_cluster_t *c = bal_cluster_new();
  const char *nodes[] = {"node1", "node2", "node3"};
  for (int i = 0; i < 3; i++) {
    int n = node(c, nodes[i], 0.5, BAL_NODE_ONLINE);
    double sd[BAL_NDIM] = {0.03, 0, 0};
    ck_assert_int_eq(bal_node_set_spread(c, n, sd), 0);
  }
  svc_sd(c, "a", "node1", 0.08, 0.04);
  svc_sd(c, "b", "node1", 0.15, 0.05);
  svc_sd(c, "bg2", "node2", 0.05, 0.02);
  svc_sd(c, "c", "node2", 0.06, 0.04);
  svc_sd(c, "bg3", "node3", 0.02, 0.01);
  svc_sd(c, "d", "node3", 0.04, 0.03);
  bal_params_t p;
  bal_params_init(&p);
  bal_plan_t *pl = plan(c, &p);
  ck_assert_uint_eq(bal_plan_nmoves(pl), 0);
  ck_assert_uint_eq(bal_plan_nnotes(pl), 0);
  bal_plan_free(pl);
  /* The same with no move cost at all: still nothing to relieve. */
  p.move_cost = 0;
  pl = plan(c, &p);
  ck_assert_uint_eq(bal_plan_nmoves(pl), 0);
  bal_plan_free(pl);

  /* a raised to 0.30 core (proof 2): node1's forecast crosses threshold.
   * One move brings it under, and then the cluster is quiet again. */
  int a = bal_cluster_find_service(c, "a");
  double d[BAL_NDIM] = {0.30, 0, 0};
  ck_assert_int_eq(bal_service_set_demand(c, a, d), 0);
  double l[BAL_NDIM] = {0.45, 0, 0};
  ck_assert_int_eq(bal_node_set_load(c, bal_cluster_find_node(c, "node1"), l),
                   0);
  p.move_cost = 0.01;
  pl = plan(c, &p);
  bal_move_t m = only_move(pl);
  ck_assert_str_eq(m.from, "node1");
  ck_assert_str_eq(m.to, "node3");
  ck_assert(m.gain > 0);
  ck_assert(after(pl, c, "node1") <= 0.8 + 1e-9);
  apply_then_still(pl, c, &p);
  bal_cluster_free(c);
}
END_TEST

START_TEST(near_threshold_evened_out) {
  /* n1 at 72% of 10 cores, its forecast with one spread at 76%: under the
   * 80% threshold, so nothing needs relief, but its widened spread makes
   * a crossing likely enough (about one chance in ten) that evening it
   * out with the smaller service pays twice a move's cost. */
  bal_cluster_t *c = three_nodes();
  svc_sd(c, "a", "n1", 4, 0.3);
  svc_sd(c, "b", "n1", 3.2, 0.3);
  svc_sd(c, "c", "n2", 2, 0.1);
  svc_sd(c, "d", "n3", 3, 0.3);
  bal_params_t p;
  bal_params_init(&p);
  bal_plan_t *pl = plan(c, &p);
  bal_move_t m = only_move(pl);
  ck_assert_str_eq(m.services[0], "b");
  ck_assert_str_eq(m.from, "n1");
  ck_assert_str_eq(m.to, "n2");
  ck_assert_int_eq(m.reason, BAL_WHY_EVEN);
  ck_assert_str_eq(bal_reason_name(m.reason), "even-out");
  ck_assert_ptr_nonnull(strstr(m.why, "n1 forecast 76%, may cross 80%: b"));
  ck_assert(m.gain > p.move_cost);
  double gain = m.gain;
  bal_plan_free(pl);
  /* Relief off a node forecast above threshold would still pay at a move
   * cost just under the gain plus one cost; evening out pays twice the
   * cost, so it stops. */
  p.move_cost = (gain + p.move_cost) * 0.6;
  pl = plan(c, &p);
  ck_assert_uint_eq(bal_plan_nmoves(pl), 0);
  bal_plan_free(pl);
  /* With b applied at the default cost, nothing is likely to cross. */
  bal_params_init(&p);
  pl = plan(c, &p);
  apply_then_still(pl, c, &p);
  bal_cluster_free(c);
}
END_TEST

START_TEST(one_node_over_fewest_moves) {
  /* n1 forecast over (9.5 of 10 cores plus spreads): of many services
   * that could move, one (covering the 1.5-core excess with its spread)
   * brings it under; the others stay put although n2 and n3 are nearly
   * idle. Then the same with 1-core services only: one move at 90%, two
   * at 95%. */
  bal_cluster_t *c = three_nodes();
  svc_sd(c, "a", "n1", 4, 0.2);
  svc_sd(c, "b", "n1", 3, 0.2);
  svc_sd(c, "c", "n1", 2, 0.2);
  svc_sd(c, "e", "n1", 0.5, 0.1);
  svc_sd(c, "f", "n2", 1, 0.1);
  bal_params_t p;
  bal_params_init(&p);
  bal_plan_t *pl = plan(c, &p);
  bal_move_t m = only_move(pl);
  ck_assert_str_eq(m.from, "n1");
  ck_assert_str_eq(m.to, "n3");
  ck_assert(after(pl, c, "n1") <= 0.8 + 1e-9);
  apply_then_still(pl, c, &p);
  bal_cluster_free(c);

  /* 9 cores of 1-core services on n1 (90%): one move suffices, of a 1-core
   * service; at 9.5 cores (95%) with no service over 1 core, two. */
  for (int k = 0; k < 2; k++) {
    c = bal_cluster_new();
    node(c, "n1", 10, BAL_NODE_ONLINE);
    node(c, "n2", 10, BAL_NODE_ONLINE);
    for (int i = 0; i < 9; i++) {
      char name[16];
      snprintf(name, sizeof(name), "s%d", i);
      svc(c, name, "n1", 1.0);
    }
    if (k == 1)
      svc(c, "h", "n1", 0.5);
    pl = plan(c, &p);
    ck_assert_uint_eq(bal_plan_nmoves(pl), k == 0 ? 1 : 2);
    ck_assert(after(pl, c, "n1") <= 0.8 + 1e-9);
    ck_assert(after(pl, c, "n2") <= 0.8 + 1e-9);
    bal_plan_free(pl);
    bal_cluster_free(c);
  }
}
END_TEST

START_TEST(two_at_90_beat_one_at_110) {
  /* n1 at 110% of 10 cores, n2 at 70%; the only move, p (2 cores) to n2,
   * leaves both at 90%. Above capacity counts again, so that is the better
   * placement: one node at 110% scores 1 + 0.3 + 1 + 0.1, two at 90% score
   * 2 x (1 + 0.1). */
  bal_cluster_t *c = bal_cluster_new();
  node(c, "n1", 10, BAL_NODE_ONLINE);
  node(c, "n2", 10, BAL_NODE_ONLINE);
  svc(c, "p", "n1", 2);
  int q = svc(c, "q", "n1", 9);
  int r = svc(c, "r", "n2", 7);
  ck_assert_int_eq(bal_service_set_flags(c, q, BAL_SVC_FIXED, "test"), 0);
  ck_assert_int_eq(bal_service_set_flags(c, r, BAL_SVC_FIXED, "test"), 0);
  bal_params_t p;
  bal_params_init(&p);
  p.move_charge = 0; /* placements compared, not the step of the move */
  bal_plan_t *pl = plan(c, &p);
  ck_assert_uint_eq(bal_plan_nmoves(pl), 1);
  ck_assert_str_eq(dest(pl, c, "p"), "n2");
  bal_move_t m;
  ck_assert_int_eq(bal_plan_move(pl, 0, &m), 0);
  ck_assert_double_eq_tol(m.gain, 2.4 - 2.2 - p.move_cost, 1e-9);
  ck_assert_double_eq_tol(after(pl, c, "n1"), 0.9, 1e-9);
  ck_assert_double_eq_tol(after(pl, c, "n2"), 0.9, 1e-9);
  bal_plan_free(pl);
  bal_cluster_free(c);
}
END_TEST

START_TEST(overload_needs_two_moves) {
  /* n1 at 95%: no single service covers the 1.5-core excess, so the largest
   * that fits goes first, then the smallest covering one. */
  bal_cluster_t *c = three_nodes();
  for (int i = 0; i < 10; i++) {
    char name[16];
    snprintf(name, sizeof(name), "s%d", i);
    svc(c, name, "n1", i < 9 ? 1.0 : 0.5);
  }
  bal_params_t p;
  bal_params_init(&p);
  bal_plan_t *pl = plan(c, &p);
  ck_assert_uint_eq(bal_plan_nmoves(pl), 2);
  ck_assert(after(pl, c, "n1") <= 0.8 + 1e-9);
  bal_plan_free(pl);
  bal_cluster_free(c);
}
END_TEST

START_TEST(overload_only_repack) {
  /* n1 {5, 4} at 90%. No single move helps: n2 and n3 {4, 3} at 70% would
   * go above capacity, and a and b are banned from n4 {4.5}. Only the
   * two-move repack does: one of the 3s to n4 (75%), then b (4) into the
   * room it left (80%). */
  bal_cluster_t *c = three_nodes();
  int n4 = node(c, "n4", 10, BAL_NODE_ONLINE);
  int a = svc(c, "a", "n1", 5), b = svc(c, "b", "n1", 4);
  svc(c, "c", "n2", 4);
  svc(c, "e", "n2", 3);
  svc(c, "d", "n3", 4);
  svc(c, "f", "n3", 3);
  svc(c, "g", "n4", 4.5);
  ck_assert_int_eq(bal_service_ban(c, a, n4), 0);
  ck_assert_int_eq(bal_service_ban(c, b, n4), 0);
  bal_params_t p;
  bal_params_init(&p);
  p.swaps = false;
  bal_plan_t *pl = plan(c, &p);
  ck_assert_uint_eq(bal_plan_nmoves(pl), 2);
  const char *room = dest(pl, c, "b");
  ck_assert(strcmp(room, "n2") == 0 || strcmp(room, "n3") == 0);
  const char *y = strcmp(room, "n2") == 0 ? "e" : "f";
  ck_assert_str_eq(dest(pl, c, y), "n4");
  bal_move_t m;
  ck_assert_int_eq(bal_plan_move(pl, 0, &m), 0);
  ck_assert_int_eq(m.reason, BAL_WHY_ROOM);
  ck_assert_str_eq(m.services[0], y);
  ck_assert(m.gain > 0);
  ck_assert_int_eq(bal_plan_move(pl, 1, &m), 0);
  ck_assert_int_eq(m.reason, BAL_WHY_OVERLOAD);
  ck_assert_str_eq(m.services[0], "b");
  ck_assert_double_eq_tol(after(pl, c, "n1"), 0.5, 1e-9);
  ck_assert_double_eq_tol(after(pl, c, room), 0.8, 1e-9);
  ck_assert_double_eq_tol(after(pl, c, "n4"), 0.75, 1e-9);
  ck_assert_uint_eq(bal_plan_nnotes(pl), 0);
  bal_plan_free(pl);
  /* With one move allowed the repack cannot happen, and n1 says why. */
  p.max_moves = 1;
  pl = plan(c, &p);
  ck_assert_uint_eq(bal_plan_nmoves(pl), 0);
  ck_assert(has_note(pl, "n1 stays at 90%"));
  bal_plan_free(pl);
  bal_cluster_free(c);
}
END_TEST

START_TEST(swap_heavy_for_light) {
  /* Two nodes: n1 {5, 4} at 90%, n2 {3, 3} at 60%. Moving 4 or 5 to n2
   * overloads n2; swapping either with one 3 fixes it, and b (4) for a 3
   * moves the least demand. */
  bal_cluster_t *c = bal_cluster_new();
  node(c, "n1", 10, BAL_NODE_ONLINE);
  node(c, "n2", 10, BAL_NODE_ONLINE);
  svc(c, "a", "n1", 5);
  svc(c, "b", "n1", 4);
  svc(c, "c", "n2", 3);
  svc(c, "d", "n2", 3);
  bal_params_t p;
  bal_params_init(&p);
  /* A swap loads both nodes while it moves (n1 at 120%, n2 at 100% with
   * the whole demand as the charge): not worth it for one step ... */
  bal_plan_t *pl = plan(c, &p);
  ck_assert_uint_eq(bal_plan_nmoves(pl), 0);
  bal_plan_free(pl);
  /* ... but with services that leave their node at once, it is. */
  p.move_charge = 0;
  pl = plan(c, &p);
  ck_assert_uint_eq(bal_plan_nmoves(pl), 2);
  ck_assert_str_eq(dest(pl, c, "a"), "n1");
  ck_assert_str_eq(dest(pl, c, "b"), "n2");
  const char *light = strcmp(dest(pl, c, "c"), "n1") == 0 ? "c" : "d";
  ck_assert_str_eq(dest(pl, c, light), "n1");
  bal_move_t m;
  bal_plan_move(pl, 0, &m);
  ck_assert_int_eq(m.reason, BAL_WHY_SWAP);
  ck_assert_double_eq_tol(after(pl, c, "n1"), 0.8, 1e-9);
  ck_assert_double_eq_tol(after(pl, c, "n2"), 0.7, 1e-9);
  bal_plan_free(pl);

  /* Without swaps, or with a budget of one move, n1 stays and says why. */
  p.swaps = false;
  pl = plan(c, &p);
  ck_assert_uint_eq(bal_plan_nmoves(pl), 0);
  ck_assert(has_note(pl, "n1 stays at 90%"));
  bal_plan_free(pl);
  p.swaps = true;
  p.max_moves = 1;
  pl = plan(c, &p);
  ck_assert_uint_eq(bal_plan_nmoves(pl), 0);
  bal_plan_free(pl);
  bal_cluster_free(c);
}
END_TEST

START_TEST(relief_when_threshold_cannot_be_met) {
  /* n1 {5, 4} at 90%; n2 and n3 {4.5, 2} at 65%. No move or swap brings
   * n1 under 80% without putting another node above it, but swapping 4 for
   * 2 (or 5 for 4.5: the same gain, more demand moved) lowers the highest
   * of the two from 90% to 85%. */
  bal_cluster_t *c = three_nodes();
  svc(c, "a", "n1", 5);
  svc(c, "b", "n1", 4);
  svc(c, "c", "n2", 4.5);
  svc(c, "d", "n2", 2);
  svc(c, "e", "n3", 4.5);
  svc(c, "f", "n3", 2);
  bal_params_t p;
  bal_params_init(&p);
  p.move_charge = 0; /* services that leave their node at once */
  bal_plan_t *pl = plan(c, &p);
  ck_assert_uint_eq(bal_plan_nmoves(pl), 2);
  const char *to = dest(pl, c, "b");
  ck_assert(strcmp(to, "n2") == 0 || strcmp(to, "n3") == 0);
  ck_assert_str_eq(dest(pl, c, "a"), "n1");
  ck_assert_double_eq_tol(after(pl, c, "n1"), 0.70, 1e-9);
  ck_assert_double_eq_tol(after(pl, c, to), 0.85, 1e-9);
  char note[64];
  snprintf(note, sizeof(note), "%s stays at 85%%", to);
  ck_assert(has_note(pl, note));
  bal_plan_free(pl);
  /* Without the budget for a swap, nothing helps: n1 stays and says so. */
  p.max_moves = 1;
  pl = plan(c, &p);
  ck_assert_uint_eq(bal_plan_nmoves(pl), 0);
  ck_assert(has_note(pl, "n1 stays at 90%"));
  bal_plan_free(pl);
  bal_cluster_free(c);
}
END_TEST

/* Nodes of 10 cores; n1 fails with x (6); n2 runs big, n3 mid (3) and
 * small (2). */
static bal_cluster_t *x_fails_big_mid_small(double big) {
  bal_cluster_t *c = bal_cluster_new();
  node(c, "n1", 10, BAL_NODE_OFFLINE);
  node(c, "n2", 10, BAL_NODE_ONLINE);
  node(c, "n3", 10, BAL_NODE_ONLINE);
  svc(c, "x", "n1", 6);
  svc(c, "big", "n2", big);
  svc(c, "mid", "n3", 3);
  svc(c, "small", "n3", 2);
  return c;
}

START_TEST(failover_repack_beats_greedy) {
  /* n1 fails with x (6 cores). n2 runs 5, n3 runs 3 + 2: 5 cores free on
   * each, so a greedy pass (Pacemaker's utilization strategies) leaves x
   * stopped. Moving mid (3) to n2 makes room on n3 and leaves both
   * survivors at 80% (moving small would leave n3 at 90%). */
  bal_cluster_t *c = x_fails_big_mid_small(5);
  bal_params_t p;
  bal_params_init(&p);

  p.repack = false; /* the greedy pass alone */
  bal_plan_t *pl = plan(c, &p);
  ck_assert_uint_eq(bal_plan_nunplaced(pl), 1);
  ck_assert(has_note(pl, "x (was on n1, now offline"));
  bal_plan_free(pl);

  p.repack = true;
  pl = plan(c, &p);
  ck_assert_uint_eq(bal_plan_nunplaced(pl), 0);
  ck_assert_uint_eq(bal_plan_nmoves(pl), 2);
  ck_assert_str_eq(dest(pl, c, "mid"), "n2");
  ck_assert_str_eq(dest(pl, c, "small"), "n3");
  ck_assert_str_eq(dest(pl, c, "x"), "n3");
  bal_move_t m;
  bal_plan_move(pl, 0, &m);
  ck_assert_int_eq(m.reason, BAL_WHY_ROOM);
  ck_assert_ptr_nonnull(strstr(m.why, "makes room on n3 for x"));
  bal_plan_move(pl, 1, &m);
  ck_assert_int_eq(m.reason, BAL_WHY_FAILOVER);
  ck_assert_str_eq(m.from, "n1");
  ck_assert_double_eq_tol(after(pl, c, "n2"), 0.8, 1e-9);
  ck_assert_double_eq_tol(after(pl, c, "n3"), 0.9 - 0.1, 1e-9);
  bal_plan_free(pl);
  bal_cluster_free(c);
}
END_TEST

START_TEST(failover_counts_the_move_charge) {
  /* n1 fails with x (6). Under 80% x fits only if room is made: big (3)
   * off n2 to n3 (both end at 60% and 80%), or mid (3) off n3 to n2. A
   * running service still loads its source while it moves (move_charge of
   * its demand): at 0.5 n2 carries 6 + 1.5 meanwhile, under 80%, but n3
   * would carry 8 + 1.5, so only big moves; at 1 (the default, a live
   * migration) neither source stays under 80% while it moves, and x goes
   * where it fits as things are, n2 at 90%, no running service moved to
   * make room. */
  bal_cluster_t *c = x_fails_big_mid_small(3);
  bal_params_t p;
  bal_params_init(&p);
  ck_assert_double_eq(p.move_charge, 1.0);
  p.move_cost = 1e9; /* balance moves after the failover left aside */

  p.move_charge = 0.5;
  bal_plan_t *pl = plan(c, &p);
  ck_assert_uint_eq(bal_plan_nunplaced(pl), 0);
  ck_assert_uint_eq(bal_plan_nmoves(pl), 2);
  bal_move_t m;
  bal_plan_move(pl, 0, &m);
  ck_assert_int_eq(m.reason, BAL_WHY_ROOM);
  ck_assert_str_eq(m.services[0], "big");
  ck_assert_str_eq(m.to, "n3");
  ck_assert_str_eq(dest(pl, c, "x"), "n2");
  ck_assert_double_eq_tol(after(pl, c, "n2"), 0.6, 1e-9);
  ck_assert_double_eq_tol(after(pl, c, "n3"), 0.8, 1e-9);
  bal_plan_free(pl);

  p.move_charge = 1.0;
  pl = plan(c, &p);
  ck_assert_uint_eq(bal_plan_nunplaced(pl), 0);
  ck_assert_uint_eq(bal_plan_nmoves(pl), 1);
  bal_plan_move(pl, 0, &m);
  ck_assert_int_eq(m.reason, BAL_WHY_FAILOVER);
  ck_assert_str_eq(m.services[0], "x");
  ck_assert_str_eq(m.to, "n2");
  ck_assert_double_eq_tol(after(pl, c, "n2"), 0.9, 1e-9);
  bal_plan_free(pl);

  /* Without a charge, the first room found under 80% is taken. */
  p.move_charge = 0;
  pl = plan(c, &p);
  ck_assert_uint_eq(bal_plan_nmoves(pl), 2);
  bal_plan_move(pl, 0, &m);
  ck_assert_int_eq(m.reason, BAL_WHY_ROOM);
  ck_assert(after(pl, c, "n2") <= 0.8 + 1e-9);
  ck_assert(after(pl, c, "n3") <= 0.8 + 1e-9);
  bal_plan_free(pl);
  bal_cluster_free(c);
}
END_TEST

START_TEST(failover_evicts_two) {
  /* One eviction is never enough: x (8) needs 8 free cores; each node runs
   * two 3s (4 free). Evicting both 3s of n2 onto n3 is impossible (n3 would
   * be at 12): only spreading them over n3 and n4 fits. */
  bal_cluster_t *c = bal_cluster_new();
  node(c, "n1", 10, BAL_NODE_OFFLINE);
  node(c, "n2", 10, BAL_NODE_ONLINE);
  node(c, "n3", 10, BAL_NODE_ONLINE);
  node(c, "n4", 10, BAL_NODE_ONLINE);
  svc(c, "x", "n1", 8);
  svc(c, "a", "n2", 3);
  svc(c, "b", "n2", 3);
  svc(c, "c", "n3", 3);
  svc(c, "d", "n3", 3);
  svc(c, "e", "n4", 3);
  svc(c, "f", "n4", 3);
  bal_params_t p;
  bal_params_init(&p);
  bal_plan_t *pl = plan(c, &p);
  ck_assert_uint_eq(bal_plan_nunplaced(pl), 0);
  ck_assert_uint_eq(bal_plan_nmoves(pl), 3);
  const char *xn = dest(pl, c, "x");
  for (int i = 2; i <= 4; i++) {
    char n[16];
    snprintf(n, sizeof(n), "n%d", i);
    ck_assert(after(pl, c, n) <= 1.0 + 1e-9);
  }
  ck_assert_double_eq_tol(after(pl, c, xn), 0.8, 1e-9);
  bal_plan_free(pl);
  bal_cluster_free(c);
}
END_TEST

START_TEST(failover_full_repack) {
  /* x (9) needs a node nearly empty; each survivor runs three 2s (4 free).
   * Neither one nor two evictions empty a node enough: the whole repack
   * does, and every survivor stays within capacity. */
  bal_cluster_t *c = bal_cluster_new();
  node(c, "n1", 10, BAL_NODE_OFFLINE);
  node(c, "n2", 10, BAL_NODE_ONLINE);
  node(c, "n3", 10, BAL_NODE_ONLINE);
  node(c, "n4", 10, BAL_NODE_ONLINE);
  svc(c, "x", "n1", 9);
  const char *on[] = {"n2", "n3", "n4"};
  for (int i = 0; i < 9; i++) {
    char name[16];
    snprintf(name, sizeof(name), "s%d", i);
    svc(c, name, on[i / 3], 2);
  }
  bal_params_t p;
  bal_params_init(&p);
  bal_plan_t *pl = plan(c, &p);
  ck_assert_uint_eq(bal_plan_nunplaced(pl), 0);
  /* 27 cores on 30: survivors stay above 80%, and the plan says so. */
  ck_assert(has_note(pl, "stays at 90%"));
  for (int i = 0; i < 3; i++)
    ck_assert(after(pl, c, on[i]) <= 1.0 + 1e-9);
  ck_assert(dest(pl, c, "x") != NULL);
  bal_plan_free(pl);
  bal_cluster_free(c);
}
END_TEST

START_TEST(failover_reports_what_cannot_fit) {
  /* 12 cores of failed services, 10 free cores: y fits, x cannot, and no
   * packing exists. */
  bal_cluster_t *c = bal_cluster_new();
  node(c, "n1", 10, BAL_NODE_OFFLINE);
  node(c, "n2", 10, BAL_NODE_ONLINE);
  node(c, "n3", 10, BAL_NODE_ONLINE);
  svc(c, "x", "n1", 7);
  svc(c, "y", "n1", 5);
  svc(c, "a", "n2", 6);
  svc(c, "b", "n3", 4);
  bal_params_t p;
  bal_params_init(&p);
  bal_plan_t *pl = plan(c, &p);
  ck_assert_uint_eq(bal_plan_nunplaced(pl), 1);
  ck_assert(has_note(pl, "x (was on n1, now offline, needs cpu 7.00) not "
                         "placed"));
  ck_assert(has_note(pl, "no packing exists: all online nodes together lack "
                         "the cpu"));
  ck_assert_str_eq(dest(pl, c, "y"), "n3");
  ck_assert(after(pl, c, "n3") <= 1.0 + 1e-9);
  bal_plan_free(pl);
  bal_cluster_free(c);
}
END_TEST

START_TEST(failover_threshold_where_possible) {
  /* Survivors can absorb under 80%: they do, and a stopped service is
   * placed too. */
  bal_cluster_t *c = bal_cluster_new();
  node(c, "n1", 10, BAL_NODE_OFFLINE);
  node(c, "n2", 10, BAL_NODE_ONLINE);
  node(c, "n3", 10, BAL_NODE_ONLINE);
  svc(c, "x", "n1", 3);
  svc(c, "y", "n1", 3);
  svc(c, "z", NULL, 2);
  svc(c, "a", "n2", 4);
  svc(c, "b", "n3", 2);
  bal_params_t p;
  bal_params_init(&p);
  bal_plan_t *pl = plan(c, &p);
  ck_assert_uint_eq(bal_plan_nunplaced(pl), 0);
  ck_assert_uint_eq(bal_plan_nmoves(pl), 3);
  ck_assert(after(pl, c, "n2") <= 0.8 + 1e-9);
  ck_assert(after(pl, c, "n3") <= 0.8 + 1e-9);
  bal_move_t m;
  bool stopped_seen = false;
  for (size_t i = 0; i < bal_plan_nmoves(pl); i++) {
    bal_plan_move(pl, i, &m);
    ck_assert_int_eq(m.reason, BAL_WHY_FAILOVER);
    if (strcmp(m.services[0], "z") == 0) {
      ck_assert_ptr_null(m.from);
      ck_assert_ptr_nonnull(strstr(m.why, "z is stopped"));
      stopped_seen = true;
    }
  }
  ck_assert(stopped_seen);
  bal_plan_free(pl);
  bal_cluster_free(c);
}
END_TEST

START_TEST(groups_bans_and_separation) {
  /* n1 at 100%: the group g1+g2 (2+2) moves as one; it is banned from n2
   * (through g2), and p may not share a node with q (on n4). */
  bal_cluster_t *c = three_nodes();
  node(c, "n4", 10, BAL_NODE_ONLINE);
  int g1 = svc(c, "g1", "n1", 2), g2 = svc(c, "g2", "n1", 2);
  int pp = svc(c, "p", "n1", 3);
  svc(c, "fix", "n1", 3);
  svc(c, "o3", "n3", 5);
  int q = svc(c, "q", "n4", 1);
  ck_assert_int_eq(bal_service_colocate(c, g1, g2), 0);
  ck_assert_int_eq(bal_service_ban(c, g2, bal_cluster_find_node(c, "n2")), 0);
  ck_assert_int_eq(bal_service_separate(c, pp, q), 0);
  ck_assert_int_eq(bal_service_set_flags(c, bal_cluster_find_service(c, "fix"),
                                         BAL_SVC_FIXED, "unmanaged"),
                   0);
  bal_params_t p;
  bal_params_init(&p);
  bal_plan_t *pl = plan(c, &p);
  /* Excess 2: the group (4) covers it, p (3) covers it but is smaller:
   * p goes, but not to n4 (q is there); the least loaded allowed is n2. */
  ck_assert_uint_eq(bal_plan_nmoves(pl), 1);
  ck_assert_str_eq(dest(pl, c, "p"), "n2");
  bal_plan_free(pl);

  /* Now p may go nowhere but n4 (banned elsewhere), where q forbids it:
   * the group moves, as one, to n4 (n2 is banned for g2). */
  ck_assert_int_eq(bal_service_ban(c, pp, bal_cluster_find_node(c, "n2")), 0);
  ck_assert_int_eq(bal_service_ban(c, pp, bal_cluster_find_node(c, "n3")), 0);
  pl = plan(c, &p);
  bal_move_t m = only_move(pl);
  ck_assert_uint_eq(m.nservices, 2);
  ck_assert_str_eq(m.services[0], "g1");
  ck_assert_str_eq(m.services[1], "g2");
  ck_assert_str_eq(m.to, "n4");
  ck_assert_str_eq(dest(pl, c, "p"), "n1");
  ck_assert_str_eq(dest(pl, c, "fix"), "n1");
  bal_plan_free(pl);
  bal_cluster_free(c);
}
END_TEST

START_TEST(standby_and_maintenance) {
  /* n2 (standby) and n3 (maintenance) have room but take nothing; n3 is
   * overloaded but left alone; n4 takes what fits under threshold. */
  bal_cluster_t *c = bal_cluster_new();
  node(c, "n1", 10, BAL_NODE_ONLINE);
  node(c, "n2", 10, BAL_NODE_STANDBY);
  node(c, "n3", 10, BAL_NODE_MAINTENANCE);
  node(c, "n4", 10, BAL_NODE_ONLINE);
  svc(c, "a", "n1", 5);
  svc(c, "b", "n1", 4);
  svc(c, "m1", "n3", 6);
  svc(c, "m2", "n3", 4);
  svc(c, "s1", "n2", 1);
  svc(c, "d", "n4", 6);
  bal_params_t p;
  bal_params_init(&p);
  bal_plan_t *pl = plan(c, &p);
  ck_assert_uint_eq(bal_plan_nmoves(pl), 0);
  ck_assert(has_note(pl, "n1 stays at 90%"));
  ck_assert_str_eq(dest(pl, c, "m1"), "n3");
  bal_plan_free(pl);
  /* Once n2 is back online it takes b (the smallest that covers). */
  bal_node_set_state(c, bal_cluster_find_node(c, "n2"), BAL_NODE_ONLINE);
  pl = plan(c, &p);
  ck_assert_uint_eq(bal_plan_nmoves(pl), 1);
  ck_assert_str_eq(dest(pl, c, "b"), "n2");
  ck_assert_str_eq(dest(pl, c, "m1"), "n3");
  bal_plan_free(pl);
  bal_cluster_free(c);
}
END_TEST

START_TEST(budget_cooldown_and_unknown) {
  bal_cluster_t *c = bal_cluster_new();
  const char *nodes[] = {"n1", "n2", "n3", "n4", "n5", "n6"};
  for (int i = 0; i < 6; i++)
    node(c, nodes[i], 10, BAL_NODE_ONLINE);
  /* Three overloaded nodes, one move each would do; budget of 2. */
  svc(c, "a1", "n1", 7);
  svc(c, "a2", "n1", 2);
  svc(c, "b1", "n2", 7);
  svc(c, "b2", "n2", 2);
  svc(c, "c1", "n3", 7);
  svc(c, "c2", "n3", 2);
  bal_params_t p;
  bal_params_init(&p);
  p.max_moves = 2;
  bal_plan_t *pl = plan(c, &p);
  ck_assert_uint_eq(bal_plan_nmoves(pl), 2);
  ck_assert(has_note(pl, "move budget of this pass is spent"));
  bal_plan_free(pl);
  /* Cooling down, unknown demand: not moved. */
  bal_service_set_flags(c, bal_cluster_find_service(c, "a2"), BAL_SVC_COOLDOWN,
                        NULL);
  double unk[BAL_NDIM] = {NAN, 0, 0};
  bal_service_set_demand(c, bal_cluster_find_service(c, "b2"), unk);
  p.max_moves = 0;
  pl = plan(c, &p);
  ck_assert_str_eq(dest(pl, c, "a2"), "n1");
  ck_assert_str_eq(dest(pl, c, "b2"), "n2");
  ck_assert_str_ne(dest(pl, c, "c2"), "n3");
  /* With a2 cooling down, only a1 (7) can relieve n1. */
  ck_assert_str_ne(dest(pl, c, "a1"), "n1");
  ck_assert_str_ne(dest(pl, c, "b1"), "n2");
  ck_assert_uint_eq(bal_plan_nnotes(pl), 0);
  bal_plan_free(pl);
  /* A node whose load is unknown is neither source nor target. */
  double l[BAL_NDIM] = {NAN, 0, 0};
  bal_node_set_load(c, bal_cluster_find_node(c, "n4"), l);
  ck_assert(isnan(bal_node_util(c, bal_cluster_find_node(c, "n4"))));
  pl = plan(c, &p);
  for (size_t i = 0; i < bal_plan_nmoves(pl); i++) {
    bal_move_t m;
    bal_plan_move(pl, i, &m);
    ck_assert_str_ne(m.to, "n4");
  }
  bal_plan_free(pl);
  bal_cluster_free(c);
}
END_TEST

START_TEST(declared_utilization) {
  /* Pacemaker would refuse n2: its declared cpu utilization is full. */
  bal_cluster_t *c = three_nodes();
  int a = svc(c, "a", "n1", 6), b = svc(c, "b", "n1", 3);
  int o = svc(c, "o", "n3", 4);
  int k = bal_cluster_add_attr(c, "cpu");
  ck_assert_int_ge(k, 0);
  bal_node_set_attr(c, 0, k, 8);
  bal_node_set_attr(c, 1, k, 1);
  bal_node_set_attr(c, 2, k, 8);
  bal_service_set_attr(c, a, k, 4);
  bal_service_set_attr(c, b, k, 2);
  bal_service_set_attr(c, o, k, 2);
  bal_params_t p;
  bal_params_init(&p);
  bal_plan_t *pl = plan(c, &p);
  ck_assert_uint_eq(bal_plan_nmoves(pl), 1);
  ck_assert_str_eq(dest(pl, c, "b"), "n3");
  bal_plan_free(pl);
  bal_cluster_free(c);
}
END_TEST

START_TEST(whatif_per_node) {
  bal_cluster_t *c = three_nodes();
  svc(c, "a", "n1", 6);
  svc(c, "b", "n2", 3);
  svc(c, "c", "n2", 2);
  svc(c, "d", "n3", 5);
  bal_params_t p;
  bal_params_init(&p);
  double u;
  /* n1 fails: a (6) fits nowhere greedily (5 free each) but moving b to
   * n3 makes room on n2: absorbable, both at 80%. */
  ck_assert_int_eq(bal_whatif(c, &p, 0, &u), 1);
  ck_assert_double_eq_tol(u, 0.8, 1e-9);
  p.repack = false;
  ck_assert_int_eq(bal_whatif(c, &p, 0, &u), 0);
  p.repack = true;
  int ok[3];
  double ut[3];
  ck_assert_int_eq(bal_whatif_all(c, &p, ok, ut), 0);
  ck_assert_int_eq(ok[0], 1);
  ck_assert_int_eq(ok[1], 1); /* b, c onto n1 (6) and n3 (5) */
  ck_assert_int_eq(ok[2], 1); /* d (5) onto n2: full, but it fits */
  ck_assert_double_eq_tol(ut[2], 1.0, 1e-9);
  /* The what-ifs leave the cluster as it was. */
  ck_assert_int_eq(bal_service_node(c, bal_cluster_find_service(c, "a")), 0);
  double unk[BAL_NDIM] = {NAN, 0, 0};
  bal_service_set_demand(c, bal_cluster_find_service(c, "d"), unk);
  ck_assert_int_eq(bal_whatif(c, &p, 2, &u), -ENODATA);
  ck_assert(isnan(u));
  bal_cluster_free(c);
}
END_TEST

/* A promotable clone: db promoted on n1 (9 cores), its standby db-sb on n2
 * (1 core). n1 and n2 have 10 and 20 cores, n3 20 with x (4). */
static bal_cluster_t *promotable(bool ha, enum bal_node_state n1) {
  bal_cluster_t *c = bal_cluster_new();
  node(c, "n1", 10, n1);
  node(c, "n2", 20, BAL_NODE_ONLINE);
  node(c, "n3", 20, BAL_NODE_ONLINE);
  int db = svc(c, "db", "n1", 9);
  int sb = svc(c, "db-sb", "n2", 1);
  svc(c, "x", "n3", 4);
  if (ha) {
    ck_assert_int_eq(bal_service_set_ha(c, db, BAL_HA_PROMOTED, -1), 0);
    ck_assert_int_eq(bal_service_set_ha(c, sb, BAL_HA_UNPROMOTED, db), 0);
  }
  return c;
}

START_TEST(ha_promoted_never_onto_its_standby) {
  bal_params_t p;
  bal_params_init(&p);
  /* Without HA modes: n1 at 90% > 80%; db (9) to n2 gives 10/20 = 50%,
   * to n3 13/20 = 65%: n2, the lower. */
  bal_cluster_t *c = promotable(false, BAL_NODE_ONLINE);
  bal_plan_t *pl = plan(c, &p);
  ck_assert_str_eq(dest(pl, c, "db"), "n2");
  bal_plan_free(pl);
  bal_cluster_free(c);
  /* As a promotable clone: never onto its standby's node, so n3 (65%); the
   * standby itself is never moved. */
  c = promotable(true, BAL_NODE_ONLINE);
  pl = plan(c, &p);
  ck_assert_str_eq(dest(pl, c, "db"), "n3");
  ck_assert_str_eq(dest(pl, c, "db-sb"), "n2");
  ck_assert_double_eq_tol(after(pl, c, "n3"), 0.65, 1e-9);
  bal_plan_free(pl);
  ck_assert_str_eq(bal_ha_name(bal_service_ha(c, 0)), "promoted");
  ck_assert_int_eq(bal_service_set_ha(c, 0, BAL_HA_PROMOTED, 1), -EINVAL);
  ck_assert_int_eq(bal_service_set_ha(c, 1, BAL_HA_UNPROMOTED, 1), -EINVAL);
  bal_cluster_free(c);
}
END_TEST

START_TEST(ha_failover_promotes_the_standby) {
  bal_params_t p;
  bal_params_init(&p);
  /* n1 offline: no move, the standby's node takes the promoted load in
   * place of the standby's: n2 1 - 1 + 9 = 9 of 20 = 45%. */
  bal_cluster_t *c = promotable(true, BAL_NODE_OFFLINE);
  bal_plan_t *pl = plan(c, &p);
  ck_assert_uint_eq(bal_plan_nmoves(pl), 0);
  ck_assert_uint_eq(bal_plan_nunplaced(pl), 0);
  ck_assert(has_note(pl, "db: n1 is offline: its standby on n2 is promoted"));
  ck_assert_double_eq_tol(after(pl, c, "n2"), 0.45, 1e-9);
  ck_assert_double_eq_tol(after(pl, c, "n3"), 0.20, 1e-9);
  bal_plan_free(pl);
  bal_cluster_free(c);
  /* Without HA modes db restarts: onto n2 (1 + 9 = 50%, the lower). */
  c = promotable(false, BAL_NODE_OFFLINE);
  pl = plan(c, &p);
  ck_assert_str_eq(dest(pl, c, "db"), "n2");
  ck_assert_double_eq_tol(after(pl, c, "n2"), 0.50, 1e-9);
  bal_plan_free(pl);
  bal_cluster_free(c);
}
END_TEST

START_TEST(ha_whatif_counts_the_promotion) {
  bal_params_t p;
  bal_params_init(&p);
  double u;
  /* n1 fails: the promotion puts n2 at 9/20 = 45% (n3 20%). A restart
   * would have put db on n2 beside its standby: 10/20 = 50%. */
  bal_cluster_t *c = promotable(true, BAL_NODE_ONLINE);
  ck_assert_int_eq(bal_whatif(c, &p, 0, &u), 1);
  ck_assert_double_eq_tol(u, 0.45, 1e-9);
  /* n2 fails: the standby is not restarted: n1 stays at 90%, n3 at 20%. */
  ck_assert_int_eq(bal_whatif(c, &p, 1, &u), 1);
  ck_assert_double_eq_tol(u, 0.9, 1e-9);
  bal_cluster_free(c);
  c = promotable(false, BAL_NODE_ONLINE);
  ck_assert_int_eq(bal_whatif(c, &p, 0, &u), 1);
  ck_assert_double_eq_tol(u, 0.50, 1e-9);
  /* Without HA modes db-sb restarts: n3 (4 + 1 = 25%) beside n1 (90%). */
  ck_assert_int_eq(bal_whatif(c, &p, 1, &u), 1);
  ck_assert_double_eq_tol(u, 0.9, 1e-9);
  bal_cluster_free(c);
  /* The promotion counts whatever the room: with n2 at 8 cores, 9/8 is
   * over capacity, so n1's failure is not absorbed. */
  c = bal_cluster_new();
  node(c, "n1", 10, BAL_NODE_ONLINE);
  node(c, "n2", 8, BAL_NODE_ONLINE);
  node(c, "n3", 20, BAL_NODE_ONLINE);
  int db = svc(c, "db", "n1", 9), sb = svc(c, "db-sb", "n2", 1);
  bal_service_set_ha(c, db, BAL_HA_PROMOTED, -1);
  bal_service_set_ha(c, sb, BAL_HA_UNPROMOTED, db);
  ck_assert_int_eq(bal_whatif(c, &p, 0, &u), 0);
  ck_assert_double_eq_tol(u, 9.0 / 8, 1e-9);
  /* A clone instance (web, 5) on a failed node is not restarted; one of
   * unknown demand does not make the what-if unknown. */
  int web = svc(c, "web", "n3", 5);
  ck_assert_int_eq(bal_service_set_ha(c, web, BAL_HA_CLONE, -1), 0);
  double unk[BAL_NDIM] = {NAN, 0, 0};
  ck_assert_int_eq(bal_whatif(c, &p, 2, &u), 1);
  ck_assert_double_eq_tol(u, 0.9, 1e-9);
  bal_service_set_demand(c, web, unk);
  ck_assert_int_eq(bal_whatif(c, &p, 2, &u), 1);
  bal_cluster_free(c);
}
END_TEST

START_TEST(whatif_keeps_spare_nodes) {
  /* n1 20 cores, n2..n4 10; loads 6, 6, 6, 3 (one service each). */
  bal_cluster_t *c = bal_cluster_new();
  node(c, "n1", 20, BAL_NODE_ONLINE);
  node(c, "n2", 10, BAL_NODE_ONLINE);
  node(c, "n3", 10, BAL_NODE_ONLINE);
  node(c, "n4", 10, BAL_NODE_ONLINE);
  int a = svc(c, "a", "n1", 6);
  svc(c, "b", "n2", 6);
  svc(c, "c", "n3", 6);
  svc(c, "d", "n4", 3);
  bal_params_t p;
  bal_params_init(&p);
  p.z = 0;
  double u;
  /* n4 fails: d (3) fits anywhere. spare_nodes 0: absorbable. */
  ck_assert_int_eq(bal_whatif(c, &p, 3, &u), 1);
  /* spare_nodes 1: survivors n1..n3 have 40 cores, 21 used: 19 free, less
   * than their largest (n1, 20): not absorbable. An average node (13.3)
   * would have passed: the largest is the safe choice. */
  p.spare_nodes = 1;
  ck_assert_int_eq(bal_whatif(c, &p, 3, &u), 0);
  /* With a at 5: 20 free, exactly n1's 20: absorbable. */
  double five[BAL_NDIM] = {5, 0, 0}, l1[BAL_NDIM] = {5, 0, 0};
  bal_service_set_demand(c, a, five);
  bal_node_set_load(c, 0, l1);
  ck_assert_int_eq(bal_whatif(c, &p, 3, &u), 1);
  /* n1 fails: survivors n2..n4, 30 cores, 20 used: 10 free = one 10-core
   * node; two spare nodes need 20: not absorbable. */
  ck_assert_int_eq(bal_whatif(c, &p, 0, &u), 1);
  p.spare_nodes = 2;
  ck_assert_int_eq(bal_whatif(c, &p, 0, &u), 0);
  /* More spares than survivors: never absorbable. */
  p.spare_nodes = 3;
  ck_assert_int_eq(bal_whatif(c, &p, 3, &u), 0);
  bal_cluster_free(c);
}
END_TEST

START_TEST(model_rejects_bad_input) {
  bal_cluster_t *c = bal_cluster_new();
  node(c, "n1", 10, BAL_NODE_ONLINE);
  double cp[BAL_NDIM] = {1, 0, 0};
  ck_assert_int_eq(bal_cluster_add_node(c, "n1", cp, BAL_NODE_ONLINE), -EEXIST);
  ck_assert_int_eq(bal_cluster_add_node(c, "", cp, BAL_NODE_ONLINE), -EINVAL);
  ck_assert_int_eq(bal_cluster_add_service(c, "s", 7, cp), -EINVAL);
  svc(c, "s", "n1", 1);
  ck_assert_int_eq(bal_cluster_add_service(c, "s", 0, cp), -EEXIST);
  ck_assert_int_eq(bal_service_ban(c, 0, 5), -EINVAL);
  ck_assert_int_eq(bal_service_separate(c, 0, 0), -EINVAL);
  bal_params_t p;
  bal_params_init(&p);
  p.threshold = 1.5;
  bal_plan_t *pl = NULL;
  ck_assert_int_eq(bal_plan_compute(c, &p, &pl), -EINVAL);
  ck_assert_ptr_null(pl);
  bal_plan_free(NULL);
  bal_cluster_free(c);
  bal_cluster_free(NULL);
}
END_TEST

/* ---- forecasting
 * --------------------------------------------------------------- */

START_TEST(forecast_follows_level_and_trend) {
  double flat[40], ramp[40], gaps[40];
  for (int i = 0; i < 40; i++) {
    flat[i] = 2.0;
    ramp[i] = 1.0 + 0.1 * i;
    gaps[i] = i % 3 == 0 ? NAN : 2.0;
  }
  double m, up;
  ck_assert_int_eq(bal_forecast(flat, 40, 1, 2.0, &m, &up), 0);
  ck_assert_double_eq_tol(m, 2.0, 1e-9);
  ck_assert_double_eq_tol(up, 2.0, 1e-9);
  ck_assert_int_eq(bal_forecast(ramp, 40, 3, 1.0, &m, &up), 0);
  /* The last sample is 4.9; a damped trend keeps climbing. */
  ck_assert(m > 4.9 && m < 5.3);
  ck_assert(up >= m);
  ck_assert_int_eq(bal_forecast(gaps, 40, 1, 1.0, &m, &up), 0);
  ck_assert_double_eq_tol(m, 2.0, 1e-9);
  double one[3] = {NAN, 1.0, NAN};
  ck_assert_int_eq(bal_forecast(one, 3, 1, 1.0, &m, &up), -ENODATA);
  /* Noise widens the upper bound. */
  double noisy[40];
  for (int i = 0; i < 40; i++)
    noisy[i] = 2.0 + (i % 2 ? 0.5 : -0.5);
  ck_assert_int_eq(bal_forecast(noisy, 40, 1, 1.0, &m, &up), 0);
  ck_assert(up - m > 0.3);
}
END_TEST

/* ---- the load model on arrays ---------------------------------------- */

START_TEST(load_model_takes_services_off_the_background) {
  /* Service b moved from n1 to n0 before cell 3; a ran on n0 throughout.
   * Each node's series counts what ran there. */
  enum { G = 6 };
  const double n0[G] = {50, 50, 50, 80, 80, 80};
  const double n1[G] = {70, 70, 70, 40, 40, 40};
  const double a_n0[G] = {20, 20, 20, 20, 20, 20};
  const double b_n0[G] = {NAN, NAN, NAN, 30, 30, 30};
  const double b_n1[G] = {30, 30, 30, NAN, NAN, NAN};
  double bg0[G], bg1[G], a[G], b[G];
  for (int i = 0; i < G; i++) {
    bg0[i] = n0[i], bg1[i] = n1[i];
    a[i] = b[i] = NAN;
  }
  bal_lm_take_off(bg0, true, a_n0, a, G);
  bal_lm_take_off(bg0, true, b_n0, b, G);
  bal_lm_take_off(bg1, true, b_n1, b, G);
  /* Merged over the hosts: b's whole history. Backgrounds: what neither
   * service accounts for, unknown next to where b came and went. */
  const double want0[G] = {30, 30, NAN, NAN, 30, 30};
  const double want1[G] = {40, 40, NAN, NAN, 40, 40};
  for (int i = 0; i < G; i++) {
    ck_assert_double_eq(a[i], 20);
    ck_assert_double_eq(b[i], 30);
    ck_assert(isnan(want0[i]) ? isnan(bg0[i]) : bg0[i] == want0[i]);
    ck_assert(isnan(want1[i]) ? isnan(bg1[i]) : bg1[i] == want1[i]);
  }
  /* A host whose own series is not known keeps no background. */
  double none[G] = {NAN, NAN, NAN, NAN, NAN, NAN}, c[G];
  for (int i = 0; i < G; i++)
    c[i] = NAN;
  bal_lm_take_off(none, false, b_n1, c, G);
  ck_assert(isnan(none[0]) && isnan(none[5]));
  ck_assert_double_eq(c[0], 30);

  /* The loads: each background's estimate plus the services on the node
   * now, so a move shifts the load before the node series catch up. */
  struct bal_conf cf = {.estimate = BAL_EST_LATEST, .step = 60};
  struct bal_lm_est ne[2], se[2];
  struct bal_lm_series x[4] = {{.v = bg0}, {.v = bg1}, {.v = a}, {.v = b}};
  for (int k = 0; k < 4; k++)
    ck_assert_int_eq(
        bal_lm_estimate(&cf, &x[k], G, 1, k < 2 ? &ne[k] : &se[k - 2]), 0);
  ck_assert_double_eq(ne[0].mean, 30);
  ck_assert_int_eq(ne[0].est.which, BAL_NEST);
  bool nk[2] = {true, true}, sk[2] = {true, true};
  int on[2] = {0, 0};
  double load[2], var[2];
  bal_lm_loads(ne, nk, 2, on, se, sk, 2, false, load, var);
  ck_assert_double_eq(load[0], 80);
  ck_assert_double_eq(load[1], 40);
  on[1] = 1; /* b moved back to n1 */
  bal_lm_loads(ne, nk, 2, on, se, sk, 2, false, load, var);
  ck_assert_double_eq(load[0], 50);
  ck_assert_double_eq(load[1], 70);
  /* A service of unknown demand is left out; a node of unknown background
   * has no load (not the sum of its services). */
  sk[1] = false;
  nk[0] = false;
  bal_lm_loads(ne, nk, 2, on, se, sk, 2, false, load, var);
  ck_assert(isnan(load[0]));
  ck_assert_double_eq(load[1], 40);
  ck_assert_int_eq(
      bal_lm_estimate(&cf, &(struct bal_lm_series){.v = none}, G, 1, &ne[0]),
      -ENODATA);
  /* Declared to Pacemaker: the estimate, never under the last sample. */
  struct bal_lm_est low = {.mean = 20, .upper = 20};
  ck_assert_double_eq(bal_lm_declared(&low, b_n0, G), 30);
  low.mean = 35;
  ck_assert_double_eq(bal_lm_declared(&low, b_n0, G), 35);
  ck_assert_double_eq(bal_lm_declared(&low, none, G), 35);
}
END_TEST

START_TEST(load_model_upper_and_cut) {
  /* Deviations add in quadrature: 3 and 4 make 5. */
  struct bal_lm_est ne[1] = {{.mean = 30, .upper = 33}};
  struct bal_lm_est se[2] = {{.mean = 20, .upper = 24},
                             {.mean = 10, .upper = 10}};
  bool nk[1] = {true}, sk[2] = {true, true};
  int on[2] = {0, 0};
  double load[1], var[1];
  bal_lm_loads(ne, nk, 1, on, se, sk, 2, false, load, var);
  ck_assert_double_eq(load[0], 60);
  ck_assert_double_eq_tol(var[0], 25, 1e-9);
  bal_lm_loads(ne, nk, 1, on, se, sk, 2, true, load, var);
  ck_assert_double_eq_tol(load[0], 65, 1e-9);
  /* A node forecast from the plugin's file already holds its services. */
  ne[0].from_file = true;
  bal_lm_loads(ne, nk, 1, on, se, sk, 2, false, load, var);
  ck_assert_double_eq(load[0], 30);

  /* Past the last update of a service file under the host, the background
   * is unknown: cells at 540 s and 600 s, after 480 s. */
  struct bal_grid g = {.end = 600, .step = 60, .n = 6};
  double bg[6] = {1, 2, 3, 4, 5, 6};
  bal_lm_cut(bg, &g, 480);
  ck_assert_double_eq(bg[3], 4);
  ck_assert(isnan(bg[4]) && isnan(bg[5]));
  bal_lm_cut(bg, &g, 600);
  ck_assert_double_eq(bg[0], 1);
}
END_TEST

START_TEST(load_model_reads_the_forecast_series) {
  enum { G = 30, H = 2 };
  double v[G], fc[G], up[G];
  for (int i = 0; i < G; i++) {
    v[i] = 10 + (i % 5) * 2; /* a saw: 10 12 14 16 18 10 ... */
    up[i] = NAN;
  }
  /* The plugin stamps each forecast with the time of the sample it was
   * made from: the cell i holds what it predicted for i + H. This one is
   * exactly right. */
  for (int i = 0; i < G; i++)
    fc[i] = 10 + ((i + H) % 5) * 2;
  struct bal_conf cf = {.estimate = BAL_EST_AUTO, .step = 60};
  struct bal_lm_est e;
  struct bal_lm_series x = {.v = v, .fc = fc};
  ck_assert_int_eq(bal_lm_estimate(&cf, &x, G, H, &e), 0);
  ck_assert_int_eq(e.est.which, BAL_E_FORECAST);
  ck_assert_double_eq_tol(e.est.rmse[BAL_E_FORECAST], 0, 1e-9);
  ck_assert_double_eq_tol(e.mean, fc[G - 1], 1e-9);
  ck_assert(!e.from_file);
  /* estimate = forecast: the plugin's last values, the upper bound never
   * under the point; without a point, from the measured samples. */
  cf.estimate = BAL_EST_FORECAST;
  up[G - 2] = 25;
  x.up = up;
  ck_assert_int_eq(bal_lm_estimate(&cf, &x, G, H, &e), 0);
  ck_assert(e.from_file);
  ck_assert_double_eq(e.mean, fc[G - 1]);
  ck_assert_double_eq(e.upper, 25);
  up[G - 2] = 1;
  ck_assert_int_eq(bal_lm_estimate(&cf, &x, G, H, &e), 0);
  ck_assert_double_eq(e.upper, e.mean);
  x.fc = NULL;
  cf.estimate = BAL_EST_FORECAST;
  ck_assert_int_eq(bal_lm_estimate(&cf, &x, G, H, &e), 0);
  ck_assert(!e.from_file);
  cf.estimate = BAL_EST_LATEST;
  ck_assert_int_eq(bal_lm_estimate(&cf, &x, G, H, &e), 0);
  ck_assert_double_eq(e.mean, v[G - 1]);
}
END_TEST

START_TEST(estimate_prefers_the_accurate) {
  /* A service that jumps between 1 and 3 cores every 10 steps, just back
   * up at 3. The forecast plugin's series lags 5 steps (it still says 1);
   * the last sample is right but at each jump. The service is planned on
   * the last sample, and that decides whether its node is overloaded. */
  enum { N = 48 };
  double x[N], fc[N + 1];
  for (int i = 0; i < N; i++)
    x[i] = (i + 3) / 10 % 2 ? 3.0 : 1.0;
  for (int j = 0; j <= N; j++)
    fc[j] = j >= 5 ? x[j - 5] : NAN;
  ck_assert_double_eq(x[N - 1], 3.0);
  ck_assert_double_eq(fc[N], 1.0);
  bal_est_params_t ep;
  bal_est_params_init(&ep);
  ep.burst = 0; /* plain point estimates */
  bal_est_t e;
  ck_assert_int_eq(bal_estimate_auto(x, N, fc, NULL, &ep, &e), 0);
  ck_assert(e.rmse[BAL_E_LAST] < e.rmse[BAL_E_FORECAST]);
  ck_assert_int_eq(e.which, BAL_E_LAST);
  ck_assert_str_eq(bal_estimator_name(e.which), "last");
  ck_assert_double_eq_tol(e.value, 3.0, 1e-9);
  ck_assert(!e.bursty);
  ck_assert(e.nerr >= ep.min_errors);
  /* An accurate forecast (the truth, one step ahead) wins in turn. */
  double good[N + 1];
  for (int j = 0; j < N; j++)
    good[j] = x[j];
  good[N] = 2.5;
  ck_assert_int_eq(bal_estimate_auto(x, N, good, NULL, &ep, &e), 0);
  ck_assert_int_eq(e.which, BAL_E_FORECAST);
  ck_assert_double_eq_tol(e.value, 2.5, 1e-9);
  ck_assert_int_eq(bal_estimate_auto(x, 0, NULL, NULL, &ep, &e), -ENODATA);

  /* Planned on it: n1 runs the service and 5.5 cores besides. On the
   * forecast (1) n1 would be at 65%; on the estimate (3) it is at 85% and
   * the service moves. */
  ck_assert_int_eq(bal_estimate_auto(x, N, fc, NULL, &ep, &e), 0);
  bal_cluster_t *c = bal_cluster_new();
  node(c, "n1", 10, BAL_NODE_ONLINE);
  node(c, "n2", 10, BAL_NODE_ONLINE);
  svc(c, "bg", "n1", 5.5);
  svc(c, "s", "n1", e.value);
  bal_params_t p;
  bal_params_init(&p);
  bal_plan_t *pl = plan(c, &p);
  ck_assert_uint_eq(bal_plan_nmoves(pl), 1);
  ck_assert_str_eq(dest(pl, c, "s"), "n2");
  bal_plan_free(pl);
  bal_cluster_free(c);
}
END_TEST

/* ---- a failure under Pacemaker's declared utilization -------------------- */

START_TEST(failover_room_under_declared_utilization) {
  /* The integration case: Pacemaker's own numbers decide too. x (6) needs
   * n3 after mid (3) moves to n2; n2's declared room (10 - 5) takes mid. */
  bal_cluster_t *c = bal_cluster_new();
  node(c, "n1", 10, BAL_NODE_OFFLINE);
  node(c, "n2", 10, BAL_NODE_ONLINE);
  node(c, "n3", 10, BAL_NODE_ONLINE);
  int s[4] = {svc(c, "x", NULL, 6), svc(c, "big", "n2", 5),
              svc(c, "mid", "n3", 3), svc(c, "small", "n3", 2)};
  double need[4] = {6, 5, 3, 2};
  int k = bal_cluster_add_attr(c, "cpu");
  for (int n = 0; n < 3; n++)
    bal_node_set_attr(c, n, k, 10);
  for (int i = 0; i < 4; i++)
    bal_service_set_attr(c, s[i], k, need[i]);
  bal_params_t p;
  bal_params_init(&p);
  bal_plan_t *pl = plan(c, &p);
  ck_assert_uint_eq(bal_plan_nunplaced(pl), 0);
  ck_assert_uint_eq(bal_plan_nmoves(pl), 2);
  ck_assert_str_eq(dest(pl, c, "mid"), "n2");
  ck_assert_str_eq(dest(pl, c, "x"), "n3");
  bal_plan_free(pl);
  bal_cluster_free(c);
}
END_TEST

/* ---- Pacemaker XML ------------------------------------------------------- */

static char *slurp(const char *name, size_t *len) {
  char path[1024];
  snprintf(path, sizeof(path), "%s/%s", TEST_DATA, name);
  pm_buf_t b = {0};
  ck_assert_msg(pm_file_read(path, 1 << 24, &b) == 0, "cannot read %s", path);
  *len = b.len;
  return b.data;
}

/* 2026-01-01: after the fixture's expired lifetime. */
#define FIXTURE_NOW ((time_t)1767225600)

static bool banned_on(const struct bal_pcmk *p, const char *rsc,
                      const char *node) {
  int r = bal_pcmk_find_rsc(p, rsc), n = bal_pcmk_find_node(p, node);
  for (size_t i = 0; i + 1 < p->bans.n; i += 2)
    if (p->bans.v[i] == r && p->bans.v[i + 1] == n)
      return true;
  return false;
}

static bool paired(const struct bal_ints *pairs, const struct bal_pcmk *p,
                   const char *a, const char *b) {
  int x = bal_pcmk_find_rsc(p, a), y = bal_pcmk_find_rsc(p, b);
  for (size_t i = 0; i + 1 < pairs->n; i += 2)
    if ((pairs->v[i] == x && pairs->v[i + 1] == y) ||
        (pairs->v[i] == y && pairs->v[i + 1] == x))
      return true;
  return false;
}

static const struct bal_pcmk_rsc *rsc(const struct bal_pcmk *p,
                                      const char *id) {
  int k = bal_pcmk_find_rsc(p, id);
  ck_assert_msg(k >= 0, "no resource %s", id);
  return &p->rscs[k];
}

/* A promotable clone as real Pacemaker tools show it (make-fixture.sh):
 * promoted on n1, unpromoted on n2, a third instance stopped. */
START_TEST(pcmk_promotable_clone) {
  size_t ml, cl;
  char *mon = slurp("promotable-crm_mon.xml", &ml),
       *cib = slurp("promotable-cib.xml", &cl);
  struct bal_pcmk *p = NULL;
  pm_error_t err = {0};
  int r = bal_pcmk_parse(mon, ml, "promotable-crm_mon.xml", cib, cl,
                         "promotable-cib.xml", FIXTURE_NOW, &p, &err);
  char buf[1024];
  ck_assert_msg(r == 0, "%s", pm_error_str(&err, buf, sizeof(buf)));
  const struct bal_pcmk_rsc *db = rsc(p, "db-clone");
  ck_assert(db->clone);
  ck_assert(db->promotable);
  ck_assert_uint_eq(db->instances.n, 2);
  ck_assert_uint_eq(db->promoted.n, 1);
  ck_assert_str_eq(p->nodes[db->promoted.v[0]].name, "n1");
  ck_assert_ptr_nonnull(db->inner);
  ck_assert_str_eq(db->inner[0], "db");
  ck_assert_ptr_null(db->inner[1]);
  ck_assert(!rsc(p, "web")->clone);
  ck_assert(!rsc(p, "web")->promotable);
  bal_pcmk_free(p);
  /* The stock fixture's clone is not promotable and has no promoted
   * instance. */
  free(mon);
  free(cib);
  mon = slurp("crm_mon.xml", &ml);
  cib = slurp("cib.xml", &cl);
  ck_assert_int_eq(bal_pcmk_parse(mon, ml, "crm_mon.xml", cib, cl, "cib.xml",
                                  FIXTURE_NOW, &p, &err),
                   0);
  ck_assert(!rsc(p, "cl")->promotable);
  ck_assert_uint_eq(rsc(p, "cl")->promoted.n, 0);
  ck_assert_str_eq(rsc(p, "cl")->inner[0], "cp");
  bal_pcmk_free(p);
  free(mon);
  free(cib);
}
END_TEST

START_TEST(pcmk_fixture) {
  size_t ml, cl;
  char *mon = slurp("crm_mon.xml", &ml), *cib = slurp("cib.xml", &cl);
  struct bal_pcmk *p = NULL;
  pm_error_t err = {0};
  int r = bal_pcmk_parse(mon, ml, "crm_mon.xml", cib, cl, "cib.xml",
                         FIXTURE_NOW, &p, &err);
  char buf[1024];
  ck_assert_msg(r == 0, "%s", pm_error_str(&err, buf, sizeof(buf)));
  /* Nodes and their states. */
  ck_assert_uint_eq(p->nnodes, 5);
  static const enum bal_node_state want[] = {
      BAL_NODE_ONLINE, BAL_NODE_ONLINE, BAL_NODE_MAINTENANCE, BAL_NODE_STANDBY,
      BAL_NODE_OFFLINE};
  for (int i = 0; i < 5; i++)
    ck_assert_int_eq(p->nodes[i].state, want[i]);
  /* Properties and declared utilization. */
  ck_assert(p->enforce_util);
  ck_assert(!p->maintenance);
  ck_assert_double_eq(p->stickiness, 100);
  ck_assert_uint_eq(p->nattrs, 2);
  ck_assert_str_eq(p->attrs[0], "cpu");
  ck_assert_double_eq(p->nodes[1].util[0], 8);
  ck_assert_double_eq(p->nodes[1].util[1], 16384);
  /* Where things run; a group with its members; the clone fixed. */
  ck_assert_str_eq(rsc(p, "a")->node, "n1");
  const struct bal_pcmk_rsc *g = rsc(p, "g");
  ck_assert_str_eq(g->id, "g");
  ck_assert_str_eq(g->members[0], "g1");
  ck_assert_str_eq(g->members[1], "g2");
  ck_assert_ptr_null(g->members[2]);
  ck_assert_ptr_eq(rsc(p, "g1"), g);
  ck_assert_double_eq(g->util[0], 3); /* 2 + 1 */
  ck_assert(rsc(p, "cl")->clone);
  ck_assert_uint_eq(rsc(p, "cl")->instances.n, 3);
  /* Stopped: s by its target-role, w wanted (banned everywhere but n5). */
  ck_assert_ptr_null(rsc(p, "s")->node);
  ck_assert(!rsc(p, "s")->wanted);
  ck_assert_ptr_null(rsc(p, "w")->node);
  ck_assert(rsc(p, "w")->wanted);
  for (int i = 1; i <= 4; i++) {
    char n[16];
    snprintf(n, sizeof(n), "n%d", i);
    ck_assert(banned_on(p, "w", n));
  }
  ck_assert(!banned_on(p, "w", "n5"));
  /* Constraints. */
  ck_assert(paired(&p->together, p, "v", "a"));
  ck_assert(!paired(&p->together, p, "c", "a")); /* advisory (50) */
  ck_assert(paired(&p->apart, p, "x", "b"));
  ck_assert(banned_on(p, "c", "n2"));
  ck_assert(!banned_on(p, "c", "n1"));
  ck_assert(banned_on(p, "g", "n2")); /* rule on the node attribute rack */
  ck_assert(!banned_on(p, "g", "n1"));
  ck_assert(banned_on(p, "x", "n2")); /* cli-ban */
  ck_assert(banned_on(p, "y", "n4")); /* with the clone: where it is not */
  ck_assert(banned_on(p, "y", "n5"));
  ck_assert(!banned_on(p, "y", "n1"));
  ck_assert_str_eq(rsc(p, "z")->why_fixed, "pinned to n2 by location pin-z");
  ck_assert_str_eq(rsc(p, "b")->why_fixed, "location b-odd: rule not modelled");
  ck_assert_str_eq(rsc(p, "u")->why_fixed, "not managed by Pacemaker");
  ck_assert_ptr_null(rsc(p, "a")->why_fixed);
  /* The expired cli-prefer on a has no effect and is not listed. */
  ck_assert_uint_eq(p->ncli, 0);
  bal_pcmk_free(p);

  /* Before it expired, it was a move someone made. */
  r = bal_pcmk_parse(mon, ml, "crm_mon.xml", cib, cl, "cib.xml",
                     (time_t)1500000000, &p, &err);
  ck_assert_int_eq(r, 0);
  ck_assert_uint_eq(p->ncli, 1);
  ck_assert_str_eq(p->cli[0].rsc, "a");
  ck_assert_str_eq(p->cli[0].node, "n1");
  ck_assert_str_eq(p->cli[0].id, "cli-prefer-a");
  bal_pcmk_free(p);
  free(mon);
  free(cib);
}
END_TEST

START_TEST(pcmk_bad_input) {
  size_t ml, cl, bl;
  char *mon = slurp("crm_mon.xml", &ml), *cib = slurp("cib.xml", &cl);
  struct bal_pcmk *p = NULL;
  pm_error_t err = {0};
  char buf[1024];

  char *bad = slurp("bad/crm_mon-truncated.xml", &bl);
  ck_assert_int_eq(bal_pcmk_parse(bad, bl, "truncated.xml", cib, cl, "cib",
                                  FIXTURE_NOW, &p, &err),
                   -EBADMSG);
  ck_assert_ptr_null(p);
  ck_assert_str_eq(err.file, "truncated.xml");
  ck_assert_uint_eq(err.line, 15);
  ck_assert_ptr_nonnull(strstr(err.msg, "bad XML"));
  ck_assert_ptr_nonnull(strstr(err.text, "<node name=\"n4\""));
  free(bad);

  bad = slurp("bad/crm_mon-noname.xml", &bl);
  ck_assert_int_eq(bal_pcmk_parse(bad, bl, "noname.xml", cib, cl, "cib",
                                  FIXTURE_NOW, &p, &err),
                   -EBADMSG);
  ck_assert_uint_eq(err.line, 4);
  ck_assert_str_eq(err.msg, "node without name or online state");
  ck_assert_ptr_nonnull(strstr(err.text, "<node id=\"2\""));
  ck_assert_ptr_nonnull(strstr(pm_error_str(&err, buf, sizeof(buf)),
                               "noname.xml:4: node without name"));
  free(bad);

  bad = slurp("bad/crm_mon-badattr.xml", &bl);
  ck_assert_int_eq(bal_pcmk_parse(bad, bl, "badattr.xml", cib, cl, "cib",
                                  FIXTURE_NOW, &p, &err),
                   -EBADMSG);
  ck_assert_uint_eq(err.line, 6);
  ck_assert_ptr_nonnull(strstr(err.text, "managed=true"));

  /* The documents swapped: each is refused for what it is not. */
  ck_assert_int_eq(bal_pcmk_parse(cib, cl, "cib-as-mon", mon, ml, "mon",
                                  FIXTURE_NOW, &p, &err),
                   -EBADMSG);
  ck_assert_ptr_nonnull(strstr(err.msg, "not crm_mon --output-as=xml"));
  ck_assert_uint_eq(err.line, 1);
  ck_assert_ptr_nonnull(strstr(err.text, "<cib "));
  ck_assert_int_eq(bal_pcmk_parse(mon, ml, "mon", mon, ml, "mon-as-cib",
                                  FIXTURE_NOW, &p, &err),
                   -EBADMSG);
  ck_assert_ptr_nonnull(strstr(err.msg, "not a CIB"));
  ck_assert_int_eq(
      bal_pcmk_parse("", 0, "empty", cib, cl, "cib", FIXTURE_NOW, &p, &err),
      -EBADMSG);
  ck_assert_str_eq(err.file, "empty");
  free(bad);

  /* A node or a resource listed twice: an error that says so (the pass
   * used to end with status 1 and no word). */
  bad = slurp("bad/crm_mon-dup-node.xml", &bl);
  ck_assert_int_eq(bal_pcmk_parse(bad, bl, "dup-node.xml", cib, cl, "cib",
                                  FIXTURE_NOW, &p, &err),
                   -EBADMSG);
  ck_assert_uint_eq(err.line, 15);
  ck_assert_str_eq(err.msg, "node n2 appears twice");
  free(bad);
  bad = slurp("bad/crm_mon-dup-rsc.xml", &bl);
  ck_assert_int_eq(bal_pcmk_parse(bad, bl, "dup-rsc.xml", cib, cl, "cib",
                                  FIXTURE_NOW, &p, &err),
                   -EBADMSG);
  ck_assert_uint_eq(err.line, 28);
  ck_assert_str_eq(err.msg, "resource id c appears twice");
  free(bad);

  /* Control characters in a reply never reach the log raw. */
  bad = slurp("bad/crm_mon-control.xml", &bl);
  ck_assert_int_eq(bal_pcmk_parse(bad, bl, "control.xml", cib, cl, "cib",
                                  FIXTURE_NOW, &p, &err),
                   -EBADMSG);
  pm_error_str(&err, buf, sizeof(buf));
  for (const char *c = buf; *c; c++)
    ck_assert_msg((unsigned char)*c >= 0x20 && *c != 0x7f,
                  "control character 0x%02x in '%s'", (unsigned char)*c, buf);
  ck_assert_ptr_nonnull(strstr(buf, "n1?[2J?"));
  free(bad);
  free(mon);
  free(cib);
}
END_TEST

/* The lifetimes crm_resource and pcs take are taken. */
START_TEST(config_lifetimes) {
  static const char *const good[] = {
      "PT1H", "PT30M", "P1D", "P1DT12H", "P2W", "PT90S", "P1Y2M3DT4H5M6S"};
  for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
    char text[128];
    snprintf(text, sizeof(text),
             "executor pacemaker {\n  lifetime = \"%s\"\n}\n", good[i]);
    struct bal_conf *c = NULL;
    pm_error_t err = {0};
    ck_assert_msg(bal_conf_load_buf(text, strlen(text), "l.conf", &c, &err) ==
                      0,
                  "%s: %s", good[i], err.msg);
    ck_assert_str_eq(c->exec.lifetime, good[i]);
    bal_conf_free(c);
  }
}
END_TEST

/* Makes the directory dir (a mkdtemp template) and puts dir/name in path. */
static void temp_path(char *dir, const char *name, char *path, size_t len) {
  ck_assert_ptr_nonnull(mkdtemp(dir));
  snprintf(path, len, "%s/%s", dir, name);
}

/* A FIFO where the configuration or an RRD file should be: refused at
 * once (librrd and the configuration reader opened it and waited). */
START_TEST(fifo_config_and_rrd) {
  char dir[] = "/tmp/check_balancer_fifo.XXXXXX", fifo[64];
  temp_path(dir, "fifo", fifo, sizeof(fifo));
  ck_assert_int_eq(mkfifo(fifo, 0600), 0);
  uint64_t t0 = pm_now_ns();
  struct bal_conf *c = NULL;
  pm_error_t err = {0};
  ck_assert_int_eq(bal_conf_load(fifo, &c, &err), -PM_ENOTREG);
  ck_assert_ptr_nonnull(strstr(err.msg, "not a regular file"));
  struct bal_grid g;
  bal_grid_init(&g, 1700000000, 600, 60);
  double out[16];
  time_t last = 0;
  char why[128];
  char *ds[] = {"value", NULL};
  ck_assert_int_eq(
      bal_rrd_read(fifo, NULL, ds, 1, &g, out, &last, NULL, why, sizeof(why)),
      -PM_ENOTREG);
  ck_assert_str_eq(why, "not a regular file");
  ck_assert(isnan(out[0]));
  /* No wait for a writer: well under the 4 s Check allows a test. */
  ck_assert_uint_lt((pm_now_ns() - t0) / 1000000, 2000);
  unlink(fifo);
  rmdir(dir);
}
END_TEST

/* Which hosts may hold a service's file: the directories listed once. A
 * name listed under a host may; one not listed may not; a host without a
 * directory holds none; a template of another shape and a name that spans
 * directories leave every file to be looked at. */
START_TEST(present_scan_lists_hosts_once) {
  char dir[] = "/tmp/check_balancer_present.XXXXXX", path[128];
  ck_assert_ptr_nonnull(mkdtemp(dir));
  static const char *const made[] = {"h1", "h1/processes-a", "h1/processes-b",
                                     "h2", "h2/processes-b", "h2/cpu"};
  for (size_t i = 0; i < sizeof(made) / sizeof(made[0]); i++) {
    snprintf(path, sizeof(path), "%s/%s", dir, made[i]);
    ck_assert_int_eq(mkdir(path, 0700), 0);
  }
  char *hosts[] = {"h1", "h2", "h3", NULL};
  char *names[] = {"a", "b", "c", "x/y", NULL};
  bal_present_t *pr = NULL;
  ck_assert_int_eq(bal_present_scan(dir, "%h/processes-%s/ps_cputime.rrd",
                                    hosts, 3, names, 4, &pr),
                   0);
  ck_assert_ptr_nonnull(pr);
  static const bool want[4][3] = {{true, false, false},
                                  {true, true, false},
                                  {false, false, false},
                                  {true, true, true}};
  for (size_t i = 0; i < 4; i++)
    for (size_t h = 0; h < 3; h++)
      ck_assert_msg(bal_present_may(pr, i, h) == want[i][h], "%s on %s",
                    names[i], hosts[h]);
  bal_present_free(pr);
  /* %s beside another escape in its component: not this shape. */
  ck_assert_int_eq(
      bal_present_scan(dir, "%h/%h-%s/x.rrd", hosts, 3, names, 4, &pr), 0);
  ck_assert_ptr_null(pr);
  ck_assert(bal_present_may(pr, 2, 2));
  for (size_t i = sizeof(made) / sizeof(made[0]); i-- > 0;) {
    snprintf(path, sizeof(path), "%s/%s", dir, made[i]);
    ck_assert_int_eq(rmdir(path), 0);
  }
  rmdir(dir);
}
END_TEST

/* The last update read from the file's header is librrd's. */
START_TEST(rrd_last_from_the_header) {
  char dir[] = "/tmp/check_balancer_last.XXXXXX", path[96];
  temp_path(dir, "x.rrd", path, sizeof(path));
  const char *def[] = {"DS:user:DERIVE:20:0:U", "DS:syst:DERIVE:20:0:U",
                       "RRA:AVERAGE:0.1:1:1200", "RRA:MAX:0.1:7:1235"};
  time_t t = 1700000000;
  ck_assert_int_eq(rrd_create_r(path, 10, t - 600, 4, def), 0);
  char upd[3][48];
  const char *argv[3];
  for (int i = 0; i < 3; i++) {
    snprintf(upd[i], sizeof(upd[i]), "%lld.25:%d:%d",
             (long long)(t - 20 + 10 * i), 1000 * i, 500 * i);
    argv[i] = upd[i];
  }
  ck_assert_int_eq(rrd_update_r(path, NULL, 3, argv), 0);
  struct bal_grid g;
  bal_grid_init(&g, t, 600, 60);
  double out[16];
  time_t last = 0;
  char why[128] = "";
  char *ds[] = {"user", "syst", NULL};
  struct bal_rrd_cost cost = {0};
  ck_assert_int_eq(
      bal_rrd_read(path, NULL, ds, 1, &g, out, &last, &cost, why, sizeof(why)),
      0);
  ck_assert_int_eq(rrd_last_r(path), t);
  ck_assert_int_eq(last, t);
  ck_assert_uint_eq(cost.files, 1);
  unlink(path);
  rmdir(dir);
}
END_TEST

/* ---- the balancer's own RRD row reader ------------------------------------
 */

/* collectd's rrdtool plugin's RRAs at its defaults (StepSize 10, RRARows
 * 1200, five timespans, AVERAGE MIN MAX each). */
#define COLLECTD_RRAS                                                          \
  "RRA:AVERAGE:0.1:1:1200", "RRA:MIN:0.1:1:1200", "RRA:MAX:0.1:1:1200",        \
      "RRA:AVERAGE:0.1:7:1235", "RRA:MIN:0.1:7:1235", "RRA:MAX:0.1:7:1235",    \
      "RRA:AVERAGE:0.1:50:1210", "RRA:MIN:0.1:50:1210", "RRA:MAX:0.1:50:1210", \
      "RRA:AVERAGE:0.1:223:1202", "RRA:MIN:0.1:223:1202",                      \
      "RRA:MAX:0.1:223:1202", "RRA:AVERAGE:0.1:2635:1201",                     \
      "RRA:MIN:0.1:2635:1201", "RRA:MAX:0.1:2635:1201"

/* Files made by librrd: collectd's layouts (GAUGE with one data source,
 * DERIVE with two), and RRAs where librrd's choice is not the obvious one
 * (a MIN of single steps first, a LAST longer than the AVERAGE). hours of
 * 10 s updates end at the last update, T + 3.25 (not on a step): every
 * 37th sample unknown, none for 2 minutes an hour before the end. */
static const struct rrd_case {
  const char *name;
  int hours, nds;
  const char *def[20];
} rrd_cases[] = {
    {"percent", 5, 1, {"DS:value:GAUGE:20:0:100.1", COLLECTD_RRAS}},
    {"ps_cputime",
     5,
     2,
     {"DS:user:DERIVE:20:0:U", "DS:syst:DERIVE:20:0:U", COLLECTD_RRAS}},
    {"choice",
     1,
     2,
     {"DS:a:GAUGE:20:U:U", "DS:b:DERIVE:20:0:U", "RRA:MIN:0.5:1:50",
      "RRA:AVERAGE:0.5:1:60", "RRA:AVERAGE:0.5:6:100", "RRA:LAST:0.5:1:200",
      "RRA:MAX:0.5:30:100"}},
    /* Two RRAs cover the window, two steps as near the one wished: the
     * first is chosen. */
    {"full ties",
     1,
     1,
     {"DS:value:GAUGE:20:U:U", "RRA:AVERAGE:0.5:2:150", "RRA:AVERAGE:0.5:10:30",
      "RRA:AVERAGE:0.5:3:100", "RRA:AVERAGE:0.5:9:34"}},
    /* DDERIVE: librrd writes version 0005. */
    {"version 5",
     1,
     2,
     {"DS:a:GAUGE:20:U:U", "DS:b:DDERIVE:20:0:U", "RRA:AVERAGE:0.5:1:100",
      "RRA:AVERAGE:0.5:5:100"}},
    /* None covers it, two cover as much with steps as near. */
    {"partial ties",
     1,
     1,
     {"DS:value:GAUGE:20:U:U", "RRA:AVERAGE:0.5:2:150",
      "RRA:AVERAGE:0.5:10:30"}},
};
static const time_t rows_t = 1700000000;

static void rrd_make(const struct rrd_case *rc, const char *path) {
  int ndef = 0;
  while (ndef < 20 && rc->def[ndef])
    ndef++;
  time_t t0 = rows_t - rc->hours * 3600;
  const char *argv0[20];
  memcpy(argv0, rc->def, sizeof(argv0));
  ck_assert_int_eq(rrd_create_r(path, 10, t0, ndef, argv0), 0);
  char arg[256][96];
  const char *argv[256];
  int n = 0;
  for (time_t t = t0 + 10; t <= rows_t + 10; t += 10) {
    bool final = t > rows_t;
    if (!final && t > rows_t - 3600 && t <= rows_t - 3480)
      continue;
    long long s = (long long)(t - t0);
    char v[48];
    if (!final && s / 10 % 37 == 0)
      snprintf(v, sizeof(v), "U%s", rc->nds > 1 ? ":U" : "");
    else if (rc->nds > 1)
      snprintf(v, sizeof(v), "%lld:%lld", 3 * s + s % 7, s + s % 3);
    else
      snprintf(v, sizeof(v), "%.3f", 50 + 40 * sin((double)s / 600));
    if (final)
      snprintf(arg[n], sizeof(arg[n]), "%lld.25:%s", (long long)rows_t + 3, v);
    else
      snprintf(arg[n], sizeof(arg[n]), "%lld:%s", (long long)t, v);
    argv[n] = arg[n];
    if (++n == 256 || final) {
      ck_assert_msg(rrd_update_r(path, NULL, n, argv) == 0, "%s",
                    rrd_get_error());
      n = 0;
    }
  }
}

/* Windows around the last update L: start and end offsets, the step
 * wished for. */
static const struct {
  long start, end;
  unsigned long step;
} rrd_windows[] = {
    {-7200 - 43, -43, 1},          /* the pass's: end on a minute */
    {-7200, 0, 1},                 /* up to L itself */
    {-3600, 300, 1},               /* partly past L */
    {3600, 7200, 1},               /* wholly past L */
    {-6 * 3600, -5 * 3600, 1},     /* older than the finest RRA */
    {-3 * 86400, 0, 1},            /* partly before the file */
    {-30 * 86400, -29 * 86400, 1}, /* wholly before the file */
    {-7193, -17, 1},               /* neither on a step */
    {-100, -100, 1},               /* empty */
    {-7200, 0, 60},
    {-7200, 0, 300},
    {-1800, 0, 10},
    {-1800, 0, 60},
    {-86400, 0, 3600},
    {-20000, 0, 60},
    {-12003, -3, 1}, /* from the first row of collectd's finest RRA */
};

static void rrd_rows_equal(const struct bal_rrd_rows *a,
                           const struct bal_rrd_rows *b, const char *what) {
  ck_assert_msg(a->start == b->start && a->end == b->end &&
                    a->step == b->step && a->nds == b->nds,
                "%s: %lld..%lld/%lu x%lu, librrd %lld..%lld/%lu x%lu", what,
                (long long)a->start, (long long)a->end, a->step, a->nds,
                (long long)b->start, (long long)b->end, b->step, b->nds);
  ck_assert_int_eq(a->last, b->last);
  for (unsigned long j = 0; j < a->nds; j++)
    ck_assert_str_eq(a->names[j], b->names[j]);
  size_t n = (size_t)((a->end - a->start) / (time_t)a->step) * a->nds;
  for (size_t i = 0; i < n; i++) {
    double x = a->data[i], y = b->data[i];
    ck_assert_msg(isnan(x) ? isnan(y) : memcmp(&x, &y, sizeof(x)) == 0,
                  "%s: value %zu: %.17g, librrd %.17g", what, i, x, y);
  }
}

/* The rows read with pread are librrd's: same RRA, start, end, step, every
 * value, NAN where NAN; and the pass's resampled series is the same byte
 * for byte. */
START_TEST(rrd_rows_as_librrd) {
  const struct rrd_case *rc = &rrd_cases[_i];
  char dir[] = "/tmp/check_balancer_rows.XXXXXX", path[96], what[160];
  temp_path(dir, "x.rrd", path, sizeof(path));
  rrd_make(rc, path);
  stat_head_t sh;
  FILE *fp = fopen(path, "rb");
  ck_assert(fp && fread(&sh, sizeof(sh), 1, fp) == 1);
  fclose(fp);
  ck_assert_str_eq(sh.version, strstr(rc->name, "version 5") ? "0005" : "0003");
  time_t last = rows_t + 3;
  size_t known = 0;
  for (size_t w = 0; w < sizeof(rrd_windows) / sizeof(rrd_windows[0]); w++) {
    struct bal_rrd_rows mine, ref;
    char why[128] = "";
    time_t start = last + rrd_windows[w].start, end = last + rrd_windows[w].end;
    snprintf(what, sizeof(what), "%s, window %zu", rc->name, w);
    ck_assert_msg(bal_rrd_fetch(path, start, end, rrd_windows[w].step, &mine,
                                why, sizeof(why)) == 0,
                  "%s: %s", what, why);
    ck_assert_msg(bal_rrd_fetch_librrd(path, start, end, rrd_windows[w].step,
                                       &ref, why, sizeof(why)) == 0,
                  "%s: %s", what, why);
    ck_assert(!mine.librrd && ref.librrd);
    rrd_rows_equal(&mine, &ref, what);
    size_t n = (size_t)((mine.end - mine.start) / (time_t)mine.step) * mine.nds;
    for (size_t i = 0; i < n; i++)
      known += !isnan(mine.data[i]);
    bal_rrd_rows_free(&mine);
    bal_rrd_rows_free(&ref);
  }
  ck_assert_uint_gt(known, 200); /* the windows hold data, not only NAN */
  /* The pass's series: grids as patmon-balance makes them. */
  static const struct {
    long now;
    unsigned window, step;
  } grids[] = {{5, 7200, 60}, {100, 3600, 10}, {-4000, 7200, 300}};
  char *sets[3][3] = {{"value", NULL}, {"user", "syst", NULL}, {"a", NULL}};
  char **ds = rc->nds == 1 ? sets[0] : _i == 1 ? sets[1] : sets[2];
  for (size_t k = 0; k < sizeof(grids) / sizeof(grids[0]); k++) {
    struct bal_grid g;
    bal_grid_init(&g, last + grids[k].now, grids[k].window, grids[k].step);
    double out[800], want[800];
    time_t got_last = 0;
    char why[128] = "";
    ck_assert_uint_le(g.n, 800);
    ck_assert_msg(bal_rrd_read(path, NULL, ds, 8, &g, out, &got_last, NULL, why,
                               sizeof(why)) == 0,
                  "%s", why);
    ck_assert_int_eq(got_last, last);
    struct bal_rrd_rows ref;
    time_t start = g.end - (time_t)(g.n * g.step);
    ck_assert_int_eq(
        bal_rrd_fetch_librrd(path, start, g.end, 1, &ref, why, sizeof(why)), 0);
    ck_assert_int_eq(bal_rrd_resample(&ref, ds, 8, &g, want, why, sizeof(why)),
                     0);
    bal_rrd_rows_free(&ref);
    ck_assert_msg(memcmp(out, want, g.n * sizeof(double)) == 0,
                  "%s: grid %zu differs", rc->name, k);
  }
  unlink(path);
  rmdir(dir);
}
END_TEST

/* The resampling onto the grid, by hand: rows before the grid's first cell
 * and after its end left out, a row with an unknown data source left out,
 * a cell of unknown rows NAN, rows coarser than the cells, rows that start
 * inside the grid; a data source the file has not is said. */
START_TEST(rrd_resample_by_hand) {
  struct bal_grid g = {.end = 600, .step = 60, .n = 5}; /* cells from 300 */
  double data[800], out[5];
  char a[] = "a", b[] = "b", *names[] = {a, b};
  char why[64] = "";
  for (int i = 0; i < 40; i++) {
    data[2 * i] = i >= 23 && i <= 28 ? NAN : i;
    data[2 * i + 1] = i == 13 ? NAN : 100;
  }
  struct bal_rrd_rows f = {.start = 250,
                           .end = 650,
                           .step = 10,
                           .nds = 2,
                           .names = names,
                           .data = data};
  char *ab[] = {"a", "b", NULL}, *only_a[] = {"a", NULL}, *z[] = {"z", NULL};
  ck_assert_int_eq(bal_rrd_resample(&f, ab, 2, &g, out, why, sizeof(why)), 0);
  const double want[5] = {1290.0 / 6, 1136.0 / 5, 1434.0 / 6, NAN, 1578.0 / 6};
  for (int c = 0; c < 5; c++)
    ck_assert_msg(isnan(want[c]) ? isnan(out[c]) : out[c] == want[c],
                  "cell %d: %g, want %g", c, out[c], want[c]);
  /* One row per cell at most, the first and last outside. */
  f.start = 230;
  f.end = 650;
  f.step = 70;
  for (int i = 0; i < 6; i++)
    data[2 * i] = 10 * (i + 1);
  ck_assert_int_eq(bal_rrd_resample(&f, only_a, 1, &g, out, why, sizeof(why)),
                   0);
  ck_assert(isnan(out[0]));
  for (int c = 1; c < 5; c++)
    ck_assert_double_eq(out[c], 10 * (c + 1));
  /* Rows of a second from inside the grid on: each cell's first and last
   * rows end on its bounds. */
  for (int i = 0; i < 400; i++)
    data[2 * i] = i;
  f.start = 400;
  f.end = 700;
  f.step = 1;
  ck_assert_int_eq(bal_rrd_resample(&f, only_a, 1, &g, out, why, sizeof(why)),
                   0);
  ck_assert(isnan(out[0]));
  ck_assert_double_eq(out[1], 9.5);
  ck_assert_double_eq(out[2], 49.5);
  ck_assert_double_eq(out[3], 109.5);
  ck_assert_double_eq(out[4], 169.5);
  ck_assert_int_eq(bal_rrd_resample(&f, z, 1, &g, out, why, sizeof(why)),
                   -EBADMSG);
  ck_assert_str_eq(why, "no data source 'z'");
}
END_TEST

/* Copies src's first len bytes to dst, then writes the n bytes of patch at
 * off (none when patch is NULL). */
static void rrd_variant(const char *src, const char *dst, long len, long off,
                        const void *patch, size_t n) {
  FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
  ck_assert(in && out);
  char buf[4096];
  long left = len;
  size_t k;
  while (left > 0 &&
         (k = fread(buf, 1, left < 4096 ? (size_t)left : 4096, in)) > 0) {
    ck_assert_uint_eq(fwrite(buf, 1, k, out), k);
    left -= (long)k;
  }
  if (patch) {
    ck_assert_int_eq(fseek(out, off, SEEK_SET), 0);
    ck_assert_uint_eq(fwrite(patch, 1, n, out), n);
  }
  fclose(in);
  ck_assert_int_eq(fclose(out), 0);
}

/* Files that are cut short or do not add up: the reader leaves them to
 * librrd, which says what is wrong, or says itself where librrd would
 * divide by zero; never a crash or a read past the end (valgrind). */
START_TEST(rrd_rows_bad_files) {
  char dir[] = "/tmp/check_balancer_bad.XXXXXX", path[96], bad[96];
  temp_path(dir, "x.rrd", path, sizeof(path));
  snprintf(bad, sizeof(bad), "%s/bad.rrd", dir);
  rrd_make(&rrd_cases[1], path);
  struct stat st;
  ck_assert_int_eq(stat(path, &st), 0);
  const long nds = 2, nrra = 15;
  long rra0 = (long)(sizeof(stat_head_t) + nds * sizeof(ds_def_t));
  long live = rra0 + nrra * (long)sizeof(rra_def_t);
  long ptr0 = live + (long)(sizeof(live_head_t) + nds * sizeof(pdp_prep_t) +
                            nrra * nds * sizeof(cdp_prep_t));
  long head = ptr0 + nrra * (long)sizeof(rra_ptr_t);
  unsigned long zero = 0, huge = 1UL << 40, far = 5000;
  double other = 1.5;
  static const char *const want_left[] = {"too small", "is not an RRD file",
                                          "can't handle", "architecture"};
  const struct {
    long len, off;
    const void *patch;
    size_t n;
    int fetch;       /* bal_rrd_fetch's result */
    bool read_fails; /* bal_rrd_read's */
    const char *why; /* in its reason */
  } v[] = {
      {0, 0, NULL, 0, 1, true, ""},
      {10, 0, NULL, 0, 1, true, ""},
      {(long)sizeof(stat_head_t) - 1, 0, NULL, 0, 1, true, ""},
      {head - 1, 0, NULL, 0, 1, true, ""},
      {head + 100, 0, NULL, 0, 1, true, want_left[0]},
      {(long)st.st_size - 8, 0, NULL, 0, 1, true, want_left[0]},
      {(long)st.st_size, 0, "XRD", 4, 1, true, want_left[1]},
      {(long)st.st_size, 4, "0009", 5, 1, true, want_left[2]},
      {(long)st.st_size, (long)offsetof(stat_head_t, float_cookie), &other,
       sizeof(other), 1, true, want_left[3]},
      {(long)st.st_size, (long)offsetof(stat_head_t, ds_cnt), &huge,
       sizeof(huge), 1, true, ""},
      {(long)st.st_size, (long)offsetof(stat_head_t, pdp_step), &zero,
       sizeof(zero), -EBADMSG, true, "step of 0"},
      {(long)st.st_size, rra0 + (long)offsetof(rra_def_t, row_cnt), &zero,
       sizeof(zero), -EBADMSG, true, "RRA 0"},
      {(long)st.st_size, rra0 + (long)offsetof(rra_def_t, row_cnt), &huge,
       sizeof(huge), 1, true, want_left[0]},
      /* A ring pointer past its RRA: librrd wraps it and reads. */
      {(long)st.st_size, ptr0, &far, sizeof(far), 1, false, ""},
      {(long)st.st_size, live, &zero, sizeof(zero), 1, true, ""},
  };
  for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
    rrd_variant(path, bad, v[i].len, v[i].off, v[i].patch, v[i].n);
    struct bal_rrd_rows f;
    char why[256] = "";
    time_t end = rows_t - rows_t % 60;
    int r = bal_rrd_fetch(bad, end - 7200, end, 1, &f, why, sizeof(why));
    ck_assert_msg(r == v[i].fetch, "variant %zu: %d (%s)", i, r, why);
    ck_assert_ptr_null(f.data);
    struct bal_grid g;
    bal_grid_init(&g, rows_t, 7200, 60);
    double out[120];
    time_t last = 0;
    char *ds[] = {"user", NULL};
    snprintf(why, sizeof(why), "-");
    r = bal_rrd_read(bad, NULL, ds, 1, &g, out, &last, NULL, why, sizeof(why));
    ck_assert_msg((r < 0) == v[i].read_fails, "variant %zu: %d (%s)", i, r,
                  why);
    if (r < 0)
      ck_assert_msg(strcmp(why, "-") != 0 && *why && strstr(why, v[i].why),
                    "variant %zu: %s", i, why);
  }
  unlink(bad);
  unlink(path);
  rmdir(dir);
}
END_TEST

/* ---- configuration ------------------------------------------------------- */

/* Hook events: the four by default, or those listed (zone: adoptions and
 * returns of zones). */
START_TEST(config_hook_events) {
  struct bal_conf *c = NULL;
  pm_error_t err = {0};
  const char *all = "hook \"h\" {\n  command = {\"true\"}\n}\n";
  ck_assert_int_eq(bal_conf_load_buf(all, strlen(all), "h.conf", &c, &err), 0);
  ck_assert(c->hooks[0].on_plan && c->hooks[0].on_offline &&
            c->hooks[0].on_config && c->hooks[0].on_zone);
  bal_conf_free(c);
  const char *zone =
      "hook \"h\" {\n  command = {\"true\"}\n  on = {\"zone\"}\n}\n";
  ck_assert_int_eq(bal_conf_load_buf(zone, strlen(zone), "h.conf", &c, &err),
                   0);
  ck_assert(!c->hooks[0].on_plan && !c->hooks[0].on_offline &&
            !c->hooks[0].on_config && c->hooks[0].on_zone);
  bal_conf_free(c);
}
END_TEST

START_TEST(config_example_and_defaults) {
  struct bal_conf *c = NULL;
  pm_error_t err = {0};
  char buf[1024];
  int r = bal_conf_load(TEST_SRCDIR "/contrib/balancer/balance.conf", &c, &err);
  ck_assert_msg(r == 0, "%s", pm_error_str(&err, buf, sizeof(buf)));
  ck_assert(!c->execute);
  ck_assert_double_eq(c->threshold, 0.8);
  ck_assert_int_eq(c->estimate, BAL_EST_AUTO);
  ck_assert(!c->publish_utilization);
  ck_assert_double_eq(c->publish_change, 0.2);
  ck_assert_uint_eq(c->publish_max_writes, 20);
  ck_assert_str_eq(c->crm_resource, "crm_resource");
  ck_assert_str_eq(c->exec.type, "pacemaker");
  ck_assert_str_eq(c->exec.move[0], "crm_resource");
  ck_assert_uint_eq(c->nnodes, 1);
  ck_assert_double_eq(c->nodes[0].cap[BAL_MEM], 64.0 * 1073741824);
  ck_assert_double_eq(c->nodes[0].cap[BAL_NET], 1073741824.0);
  ck_assert_str_eq(c->metric[BAL_CPU].svc_ds[1], "syst");
  ck_assert_double_eq(c->metric[BAL_CPU].svc_scale, 1e-6);
  ck_assert_str_eq(c->metric[BAL_MEM].node_ds[0], "value"); /* default */
  ck_assert_uint_eq(c->nhooks, 1);
  ck_assert(c->hooks[0].on_plan && c->hooks[0].on_offline);
  ck_assert(bal_conf_movable(c, "anything"));
  bal_conf_free(c);

  /* An empty file: every default. */
  ck_assert_int_eq(bal_conf_load_buf("", 0, "empty.conf", &c, &err), 0);
  ck_assert_uint_eq(c->interval, 60);
  ck_assert_uint_eq(c->max_moves, 8);
  ck_assert_uint_eq(c->spare_nodes, 0);
  ck_assert_double_eq(c->move_charge, 1.0);
  ck_assert_int_eq(c->failback, BAL_FB_NEVER);
  ck_assert_uint_eq(c->failback_stable, 300);
  ck_assert_uint_eq(c->cooldown, 1800);
  ck_assert_str_eq(c->data_dir, "/var/lib/collectd/rrd");
  ck_assert_str_eq(c->metric[BAL_CPU].node_file, "%h/cpu/percent-active.rrd");
  ck_assert(c->metric[BAL_CPU].node_percent);
  ck_assert_str_eq(c->metric[BAL_MEM].util_attr, "memory");
  ck_assert_double_eq(c->metric[BAL_MEM].util_scale, 1048576);
  ck_assert(c->exec.verify);
  ck_assert_int_eq(c->exec.timeout_ms, 60000);
  bal_conf_free(c);

  const char *txt =
      "services = {\"web-*\", \"db-*\"}\nexclude = {\"db-main\"}\n"
      "executor virsh {}\nsource = \"static\"\n"
      "node \"h1\" { uri = \"qemu+ssh://h1/system\" }\n"
      "service \"web-1\" { node = \"h1\" }\n";
  ck_assert_int_eq(bal_conf_load_buf(txt, strlen(txt), "v.conf", &c, &err), 0);
  ck_assert(bal_conf_movable(c, "web-1"));
  ck_assert(bal_conf_movable(c, "db-2"));
  ck_assert(!bal_conf_movable(c, "db-main"));
  ck_assert(!bal_conf_movable(c, "cache"));
  ck_assert_str_eq(c->exec.move[3], "migrate");
  ck_assert_str_eq(c->svcs[0].node, "h1");
  ck_assert_str_eq(c->zone, ""); /* no zone */
  ck_assert_ptr_null(c->nodes[0].zone);
  bal_conf_free(c);

  /* Zones: this instance's, and a node's (else its node attribute). */
  txt = "zone = \"rack-1\"\nnode \"h1\" { zone = \"rack_2\" }\n"
        "node \"h2\" { cpu = \"4\" }\n";
  ck_assert_int_eq(bal_conf_load_buf(txt, strlen(txt), "z.conf", &c, &err), 0);
  ck_assert_str_eq(c->zone, "rack-1");
  ck_assert_str_eq(c->nodes[0].zone, "rack_2");
  ck_assert_ptr_null(c->nodes[1].zone);
  bal_conf_free(c);
  ck_assert(bal_conf_zone_ok("abcdefghijklmnopqrstuvwxyz012345"));
  ck_assert(!bal_conf_zone_ok("abcdefghijklmnopqrstuvwxyz0123456"));
  ck_assert(!bal_conf_zone_ok(""));
}
END_TEST

/* Each bad configuration: where the error is and what it says. */
static const struct bad_conf {
  const char *text;
  unsigned line;
  const char *msg, *offending;
} bad_confs[] = {
    {"# a comment\nthreshold = 1.5\n", 2, "threshold must be above 0", NULL},
    {"\n\ninterval = 0\n", 3, "interval must be between 1 and 86400", "0"},
    {"spare_nodes = -1\n", 1, "spare_nodes must be between 0 and 1000", "-1"},
    {"\n\nmove_charge = 1.5\n", 3, "move_charge must be between 0 and 1", NULL},
    {"\nfailback = \"sometimes\"\n", 2, "unknown failback", "sometimes"},
    {"estimate = \"magic\"\n", 1, "unknown estimate", "magic"},
    {"\npublish_change = -0.5\n", 2, "publish_change must be between 0", NULL},
    {"publish_max_writes = 0\n", 1, "publish_max_writes must be between 1",
     "0"},
    {"source = \"zookeeper\"\n", 1, "unknown source", "zookeeper"},
    {"x = 1\n\nbogus = 2\n", 1, "no such option 'x'", "x = 1"},
    {"node \"n1\" {\n  cpu = \"8\"\n  memory = \"16Q\"\n}\n", 3,
     "memory capacity is not a number", "16Q"},
    {"executor teleport {\n}\n", 1,
     "unknown executor (known: pacemaker, "
     "pcs, virsh, command)",
     "teleport"},
    {"executor command {\n  timeout = 5\n}\n", 1, "needs a move command", NULL},
    {"executor command {\n  move = {\"mv\", \"%r\", \"%q\"}\n}\n", 2,
     "move: unknown escape '%q'", "%q"},
    {"metric cpu {\n  node = \"%h/%x.rrd\"\n}\n", 2,
     "node: unknown escape '%x'", "%h/%x.rrd"},
    {"metric disk {\n}\n", 1, "unknown metric", "disk"},
    {"hook \"h\" {\n  command = {\"true\"}\n  on = {\"plan\", \"reboot\"}\n}\n",
     3, "unknown event", "reboot"},
    {"source = \"static\"\nservice \"s\" {\n  node = \"ghost\"\n}\n", 3,
     "node ghost is not declared", "ghost"},
    {"executor pacemaker {}\nexecutor pcs {}\n", 2,
     "only one executor may be configured", "pcs"},
    {"threshold = 0.8\nmetric cpu {\n  service_scale = 0\n}\n", 3,
     "service_scale must be above 0", NULL},
    /* Passed --check, then failed in crm_resource at the first move. */
    {"executor pacemaker {\n  lifetime = \"1 hour\"\n}\n", 2,
     "lifetime \"1 hour\" is not an ISO 8601 duration", "1 hour"},
    {"executor pcs {\n  lifetime = \"P1DT\"\n}\n", 2,
     "is not an ISO 8601 duration", "P1DT"},
    /* A comment never closed swallowed the rest without a word. */
    {"threshold = 0.7\n/* off for now\ninterval = 30\n", 2,
     "'/*' is never closed", "/* off for now"},
    {"window = 9\n", 1, "window must be between 10 and", "9"},
    {"\nzone = \"rack 1\"\n", 2, "a zone name is 1-32 of", "rack 1"},
    {"own_resource = \"bal-%n\"\n", 1, "own_resource: unknown escape '%n'",
     "bal-%n"},
    {"node \"n1\" {\n  cpu = \"8\"\n  zone = \"a.b\"\n}\n", 3,
     "node n1: a zone name is 1-32 of", "a.b"},
    {"step = 10\nwindow = 15\n", 2, "window must hold at least two steps",
     "15"},
    {"event_socket = \"run/b.sock\"\n", 1, "must be an absolute path",
     "run/b.sock"},
    {"availability_journal = \"av.journal\"\n", 1,
     "availability_journal must be an absolute path", "av.journal"},
    {"source = \"static\"\nnode \"n\" {\n}\nown_resource = \"b\"\n", 4,
     "own_resource needs source", "b"},
};

START_TEST(config_bad_input) {
  const struct bad_conf *b = &bad_confs[_i];
  struct bal_conf *c = NULL;
  pm_error_t err = {0};
  char buf[1024];
  int r = bal_conf_load_buf(b->text, strlen(b->text), "bad.conf", &c, &err);
  ck_assert_int_eq(r, -EBADMSG);
  ck_assert_ptr_null(c);
  pm_error_str(&err, buf, sizeof(buf));
  ck_assert_msg(strstr(err.msg, b->msg), "case %d: got '%s'", _i, buf);
  ck_assert_msg(err.line == b->line, "case %d: line %u in '%s'", _i, err.line,
                buf);
  ck_assert_str_eq(err.file, "bad.conf");
  if (b->offending)
    ck_assert_msg(strstr(err.text, b->offending), "case %d: text '%s'", _i,
                  err.text);
}
END_TEST

START_TEST(config_include_errors_name_the_file) {
  char dir[] = "/tmp/check_balancer.XXXXXX";
  ck_assert_ptr_nonnull(mkdtemp(dir));
  char main_path[128], inc[128];
  snprintf(main_path, sizeof(main_path), "%s/balance.conf", dir);
  snprintf(inc, sizeof(inc), "%s/nodes.conf", dir);
  FILE *f = fopen(main_path, "w");
  fputs("threshold = 0.75\ninclude \"nodes.conf\"\n", f);
  fclose(f);
  f = fopen(inc, "w");
  fputs("node \"n1\" {\n  cpu = \"8\"\n}\nnode \"n2\" {\n  cpu = \"x8\"\n}\n",
        f);
  fclose(f);
  struct bal_conf *c = NULL;
  pm_error_t err = {0};
  ck_assert_int_eq(bal_conf_load(main_path, &c, &err), -EBADMSG);
  ck_assert_ptr_nonnull(strstr(err.file, "nodes.conf"));
  ck_assert_uint_eq(err.line, 5);
  ck_assert_str_eq(err.text, "x8");
  unlink(inc);
  ck_assert_int_eq(bal_conf_load(main_path, &c, &err), -ENOENT);
  ck_assert_uint_eq(err.line, 2);
  unlink(main_path);
  rmdir(dir);
}
END_TEST

/* ---- templates, state ---------------------------------------------------- */

START_TEST(argv_templates) {
  const struct bal_executor *pcmk = bal_executor_find("pacemaker");
  ck_assert_ptr_nonnull(pcmk);
  ck_assert_ptr_null(bal_executor_find("ssh"));
  char **tpl = bal_argv_dup(pcmk->move);
  const struct bal_kv kv[] = {{'r', "web"},  {'n', "n2"}, {'f', "n1"},
                              {'l', "PT1H"}, {'u', NULL}, {0, NULL}};
  char **argv = NULL;
  char missing = 0;
  ck_assert_int_eq(bal_argv_expand(tpl, kv, &argv, &missing), 0);
  const char *want[] = {"crm_resource", "--move", "--resource",
                        "web",          "--node", "n2",
                        "--lifetime",   "PT1H",   NULL};
  for (int i = 0; want[i]; i++)
    ck_assert_str_eq(argv[i], want[i]);
  ck_assert_ptr_null(argv[8]);
  bal_argv_free(argv);
  bal_argv_free(tpl);
  /* virsh needs the URIs: unknown here, so it refuses and says which. */
  tpl = bal_argv_dup(bal_executor_find("virsh")->move);
  ck_assert_int_eq(bal_argv_expand(tpl, kv, &argv, &missing), -ENOENT);
  ck_assert_int_eq(missing, 'v');
  bal_argv_free(tpl);
  pm_buf_t b = {0};
  ck_assert_int_eq(bal_subst("100%% of %r on %n", kv, &b, NULL), 0);
  ck_assert_str_eq(b.data, "100% of web on n2");
  char *const words[] = {"touch", "a b", "it's", NULL};
  bal_argv_join(words, &b);
  ck_assert_str_eq(b.data, "touch 'a b' 'it's'");
  pm_buf_free(&b);
  /* bal_run: status, output, a missing program, a timeout. */
  pm_buf_t out = {0}, err = {0};
  char *const ok[] = {"echo", "hi", NULL};
  ck_assert_int_eq(bal_run(ok, 5000, &out, &err), 0);
  ck_assert_str_eq(out.data, "hi\n");
  char *const no[] = {"sh", "-c", "echo oops >&2; exit 4", NULL};
  ck_assert_int_eq(bal_run(no, 5000, NULL, &err), -EPROTO);
  ck_assert_str_eq(err.data, "exit status 4: oops");
  char *const gone[] = {"/nonexistent/prog", NULL};
  ck_assert_int_eq(bal_run(gone, 5000, NULL, &err), -ENOENT);
  char *const slow[] = {"sleep", "5", NULL};
  ck_assert_int_eq(bal_run(slow, 100, NULL, &err), -ETIMEDOUT);
  ck_assert_str_eq(err.data, "timed out after 100 ms");
  pm_buf_free(&out);
  pm_buf_free(&err);
}
END_TEST

/* A cluster as crm_mon shows it, by hand: n1 and n2, with st1 the state of
 * n1 (n2 stays online), db and web where on (NULL: stopped). */
static void fb_pass(struct bal_state *st, time_t now, enum bal_node_state st1,
                    const char *db_on, const char *web_on) {
  struct bal_pcmk_node nodes[2] = {{.name = "n1", .state = st1},
                                   {.name = "n2", .state = BAL_NODE_ONLINE}};
  struct bal_pcmk_rsc rscs[2] = {{.id = "db", .node = (char *)db_on},
                                 {.id = "web", .node = (char *)web_on}};
  struct bal_pcmk pc = {.nodes = nodes, .nnodes = 2, .rscs = rscs, .nrscs = 2};
  ck_assert_int_eq(bal_failback_track(st, &pc, now), 0);
  char **off = calloc(2, sizeof(char *));
  if (st1 == BAL_NODE_OFFLINE)
    off[0] = strdup("n1");
  bal_state_set_offline(st, off);
}

/* ---- pattern set digests compared (digest.c) ---- */

#define DA "aaaaaaaaaaaa0000000000000000000000000000000000000000000000000000"
#define DB "bbbbbbbbbbbb1111111111111111111111111111111111111111111111111111"
#define DC "cccccccccccc2222222222222222222222222222222222222222222222222222"

static void compare_ok(const struct bal_node_digest *v, size_t n,
                       struct bal_digest_result *d) {
  ck_assert_int_eq(bal_digest_compare(v, n, d), 0);
}

/* The key is SHA-256 of "NODE DIGEST\n" per minority node (by name), then
 * "majority DIGEST\n"; without a majority, of "NODE DIGEST\n" per node. */
static void want_key(const struct bal_digest_result *d, const char *text) {
  char hex[PM_SHA256_HEX + 1];
  pm_sha256_hex(text, strlen(text), hex);
  ck_assert_str_eq(d->key, hex);
}

START_TEST(digests_majority_and_minority) {
  struct bal_digest_result d;
  /* All three alike: nothing to report. */
  const struct bal_node_digest same[] = {{"n2", DA}, {"n1", DA}, {"n3", DA}};
  compare_ok(same, 3, &d);
  ck_assert_str_eq(d.line,
                   "the 3 nodes publishing a digest agree (aaaaaaaaaaaa)");
  ck_assert_str_eq(d.key, "");
  ck_assert_str_eq(d.first, "-");
  ck_assert_uint_eq(d.sets, 1);
  free(d.line);
  const struct bal_node_digest one[] = {{"n1", DA}};
  compare_ok(one, 1, &d);
  ck_assert_str_eq(d.line,
                   "the 1 node publishing a digest agrees (aaaaaaaaaaaa)");
  ck_assert_str_eq(d.key, "");
  free(d.line);

  /* n3 differs from n1 and n2 (given out of order): named with its
   * digest, then the majority. */
  const struct bal_node_digest minority[] = {
      {"n3", DB}, {"n2", DA}, {"n1", DA}};
  compare_ok(minority, 3, &d);
  ck_assert_str_eq(d.line, "pattern sets differ: n3 has bbbbbbbbbbbb; the "
                           "majority (2 of 3: n1, n2) has aaaaaaaaaaaa");
  ck_assert(d.majority);
  ck_assert_str_eq(d.first, "n3");
  want_key(&d, "n3 " DB "\nmajority " DA "\n");
  char key[PM_SHA256_HEX + 1];
  memcpy(key, d.key, sizeof(key));
  free(d.line);

  /* The same situation in another order: the same key. */
  const struct bal_node_digest again[] = {{"n1", DA}, {"n3", DB}, {"n2", DA}};
  compare_ok(again, 3, &d);
  ck_assert_str_eq(d.key, key);
  free(d.line);

  /* n3 changes again, and n4 joins the minority with its own: new key. */
  const struct bal_node_digest two[] = {
      {"n4", DB}, {"n1", DA}, {"n3", DC}, {"n2", DA}, {"n5", DA}};
  compare_ok(two, 5, &d);
  ck_assert_str_eq(d.line,
                   "pattern sets differ: n3 has cccccccccccc, n4 has "
                   "bbbbbbbbbbbb; the majority (3 of 5: n1, n2, n5) has "
                   "aaaaaaaaaaaa");
  ck_assert_str_eq(d.first, "n3");
  want_key(&d, "n3 " DC "\nn4 " DB "\nmajority " DA "\n");
  ck_assert_str_ne(d.key, key);
  free(d.line);

  /* Two against two: no majority; each digest with its nodes, larger
   * groups first, equal ones by digest. */
  const struct bal_node_digest tie[] = {
      {"n4", DA}, {"n2", DB}, {"n3", DB}, {"n1", DA}};
  compare_ok(tie, 4, &d);
  ck_assert_str_eq(d.line, "pattern sets differ and none has a majority: "
                           "aaaaaaaaaaaa on n1, n4; bbbbbbbbbbbb on n2, n3");
  ck_assert(!d.majority);
  ck_assert_uint_eq(d.sets, 2);
  ck_assert_str_eq(d.first, "n1");
  want_key(&d, "n1 " DA "\nn2 " DB "\nn3 " DB "\nn4 " DA "\n");
  free(d.line);

  /* Nobody: an empty line. */
  compare_ok(NULL, 0, &d);
  ck_assert_str_eq(d.line, "");
  ck_assert_str_eq(d.key, "");
  free(d.line);
}
END_TEST

START_TEST(failback_after_stable_time) {
  enum bal_failback m;
  ck_assert_int_eq(bal_failback_parse("auto", &m), 0);
  ck_assert_int_eq(m, BAL_FB_AUTO);
  ck_assert_int_eq(bal_failback_parse("sometimes", &m), -EINVAL);
  char path[] = "/tmp/check_balancer_fb.XXXXXX";
  int fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  close(fd);
  struct bal_state st = {0};
  /* t 1000: db on n1, web on n2. t 1060: n1 is lost, Pacemaker restarted
   * db on n2: db was lost from n1. */
  fb_pass(&st, 1000, BAL_NODE_ONLINE, "n1", "n2");
  ck_assert_ptr_null(bal_state_get(&st, "db", false)->lost_from);
  fb_pass(&st, 1060, BAL_NODE_OFFLINE, "n2", "n2");
  struct bal_state_rsc *db = bal_state_get(&st, "db", false);
  ck_assert_str_eq(db->lost_from, "n1");
  ck_assert_int_eq(db->lost_at, 1060);
  ck_assert_ptr_null(bal_state_get(&st, "web", false)->lost_from);
  /* The balancer restarts: the state file keeps the loss. */
  ck_assert_int_eq(bal_state_save(path, &st), 0);
  bal_state_free(&st);
  ck_assert_int_eq(bal_state_load(path, &st), 0);
  ck_assert_str_eq(bal_state_get(&st, "db", false)->lost_from, "n1");
  ck_assert_int_eq(bal_state_back_since(&st, "n1"), 0);
  /* t 1200: n1 is back. With failback_stable 300: auto waits until 1500
   * (1499 is 299 s), then moves; manual lists; never does nothing. */
  fb_pass(&st, 1200, BAL_NODE_ONLINE, "n2", "n2");
  time_t back = bal_state_back_since(&st, "n1");
  ck_assert_int_eq(back, 1200);
  ck_assert_int_eq(bal_failback_due(BAL_FB_AUTO, back, 1200, 300), BAL_FB_WAIT);
  ck_assert_int_eq(bal_failback_due(BAL_FB_AUTO, back, 1499, 300), BAL_FB_WAIT);
  ck_assert_int_eq(bal_failback_due(BAL_FB_AUTO, back, 1500, 300), BAL_FB_MOVE);
  ck_assert_int_eq(bal_failback_due(BAL_FB_MANUAL, back, 1499, 300),
                   BAL_FB_WAIT);
  ck_assert_int_eq(bal_failback_due(BAL_FB_MANUAL, back, 1500, 300),
                   BAL_FB_LIST);
  ck_assert_int_eq(bal_failback_due(BAL_FB_NEVER, back, 9999, 300),
                   BAL_FB_NONE);
  /* Online continuously: n1 lost again at 1300 and back at 1400 starts
   * the stable time over. The back time survives a restart. */
  fb_pass(&st, 1300, BAL_NODE_OFFLINE, "n2", "n2");
  ck_assert_int_eq(bal_state_back_since(&st, "n1"), 0);
  ck_assert_int_eq(bal_failback_due(BAL_FB_AUTO, 0, 1500, 300), BAL_FB_WAIT);
  fb_pass(&st, 1400, BAL_NODE_ONLINE, "n2", "n2");
  ck_assert_int_eq(bal_state_save(path, &st), 0);
  bal_state_free(&st);
  ck_assert_int_eq(bal_state_load(path, &st), 0);
  back = bal_state_back_since(&st, "n1");
  ck_assert_int_eq(back, 1400);
  ck_assert_int_eq(bal_failback_due(BAL_FB_AUTO, back, 1500, 300), BAL_FB_WAIT);
  ck_assert_int_eq(bal_failback_due(BAL_FB_AUTO, back, 1700, 300), BAL_FB_MOVE);
  ck_assert_str_eq(bal_state_get(&st, "db", false)->lost_from, "n1");
  /* db runs on n1 again (moved back): the loss is over. */
  fb_pass(&st, 1700, BAL_NODE_ONLINE, "n1", "n2");
  ck_assert_ptr_null(bal_state_get(&st, "db", false)->lost_from);
  bal_state_free(&st);
  unlink(path);
}
END_TEST

START_TEST(failback_only_with_room) {
  bal_params_t p;
  bal_params_init(&p);
  /* db (4) lost from n1, now on n2 (10 cores each); n1 runs x (3). */
  bal_cluster_t *c = bal_cluster_new();
  node(c, "n1", 10, BAL_NODE_ONLINE);
  node(c, "n2", 10, BAL_NODE_ONLINE);
  int db = svc(c, "db", "n2", 4);
  int x = svc(c, "x", "n1", 3);
  /* No home: nothing to do (n2 at 40% is under threshold). */
  bal_plan_t *pl = plan(c, &p);
  ck_assert_uint_eq(bal_plan_nmoves(pl), 0);
  bal_plan_free(pl);
  /* Home n1: 3 + 4 = 70% <= 80%: moved back, not counted as balance. */
  ck_assert_int_eq(bal_service_set_home(c, db, 0), 0);
  p.max_moves = 1;
  pl = plan(c, &p);
  bal_move_t m = only_move(pl);
  ck_assert_int_eq(m.reason, BAL_WHY_FAILBACK);
  ck_assert_str_eq(m.from, "n2");
  ck_assert_str_eq(m.to, "n1");
  ck_assert_str_eq(bal_reason_name(m.reason), "failback");
  ck_assert_double_eq_tol(after(pl, c, "n1"), 0.7, 1e-9);
  bal_plan_free(pl);
  /* x grows to 5: 5 + 4 = 90% > 80%: no room, it waits, and says so. */
  double five[BAL_NDIM] = {5, 0, 0};
  bal_service_set_demand(c, x, five);
  bal_node_set_load(c, 0, five);
  pl = plan(c, &p);
  ck_assert_uint_eq(bal_plan_nmoves(pl), 0);
  ck_assert(has_note(pl, "db (cpu 4.00): fail-back to n1 waits: no room "
                         "there (90% with it, threshold 80%)"));
  bal_plan_free(pl);
  ck_assert_int_eq(bal_service_set_home(c, db, 7), -EINVAL);
  bal_cluster_free(c);
}
END_TEST

START_TEST(state_round_trip) {
  char path[] = "/tmp/check_balancer_state.XXXXXX";
  int fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  close(fd);
  struct bal_state st = {0};
  struct bal_state_rsc *r = bal_state_get(&st, "web", true);
  r->moved = 1700000000;
  r->constraint_to = strdup("n2");
  r->at = strdup("n2");
  r = bal_state_get(&st, "db", true);
  r->moved = 1700000100;
  r->failed = true;
  char **off = calloc(2, sizeof(char *));
  off[0] = strdup("n5");
  bal_state_set_offline(&st, off);
  /* the pattern set differences last reported (bal_digest_result.key) */
  snprintf(st.patterns, sizeof(st.patterns), "%s", DA);
  ck_assert_int_eq(bal_state_save(path, &st), 0);
  bal_state_free(&st);
  ck_assert_int_eq(bal_state_load(path, &st), 0);
  ck_assert_uint_eq(st.n, 2);
  r = bal_state_get(&st, "web", false);
  ck_assert_int_eq(r->moved, 1700000000);
  ck_assert_str_eq(r->constraint_to, "n2");
  ck_assert_str_eq(r->at, "n2");
  ck_assert(!r->failed);
  r = bal_state_get(&st, "db", false);
  ck_assert(r->failed);
  ck_assert_ptr_null(r->constraint_to);
  ck_assert_ptr_null(r->at);
  ck_assert(bal_state_was_offline(&st, "n5"));
  ck_assert(!bal_state_was_offline(&st, "n1"));
  ck_assert_ptr_null(bal_state_get(&st, "none", false));
  ck_assert_str_eq(st.patterns, DA);
  bal_state_free(&st);
  /* A missing file is an empty state; garbage lines are skipped. */
  FILE *f = fopen(path, "w");
  fputs("rsc old 5 0 -\nrsc ok 6 0 - n1\nrsc broken\nnonsense\n", f);
  fclose(f);
  ck_assert_int_eq(bal_state_load(path, &st), 0);
  ck_assert_uint_eq(st.n, 2);
  ck_assert_ptr_null(bal_state_get(&st, "old", false)->at);
  ck_assert_str_eq(bal_state_get(&st, "ok", false)->at, "n1");
  ck_assert_str_eq(st.patterns, ""); /* none reported */
  bal_state_free(&st);
  unlink(path);
  ck_assert_int_eq(bal_state_load(path, &st), 0);
  ck_assert_uint_eq(st.n, 0);
  bal_state_free(&st);
}
END_TEST

/* ---- zone records in the CIB --------------------------------------------- */

/* crm_config as cibadmin --query --scope crm_config prints it: records
 * between Pacemaker's own set and a set that only looks like a record. */
static const char zone_crm_config[] =
    "<crm_config>\n"
    "  <cluster_property_set id=\"cib-bootstrap-options\">\n"
    "    <nvpair id=\"cib-bootstrap-options-stonith-enabled\" "
    "name=\"stonith-enabled\" value=\"false\"/>\n"
    "  </cluster_property_set>\n"
    "  <cluster_property_set id=\"patmon-zone-post.b\">\n"
    "    <nvpair id=\"patmon-zone-post.b-v\" name=\"patmon-zone-post.b\" "
    "value=\"pass=3 spare=1/-/-\"/>\n"
    "  </cluster_property_set>\n"
    "  <cluster_property_set id=\"patmon-zone-req.a.1\">\n"
    "    <nvpair id=\"patmon-zone-req.a.1-v\" name=\"patmon-zone-req.a.1\" "
    "value=\"to=b &quot;x&amp;y&lt;z&gt;\"/>\n"
    "  </cluster_property_set>\n"
    "  <cluster_property_set id=\"patmon-zone-grant.req.a.1\">\n"
    "    <nvpair id=\"other\" name=\"someone-else\" value=\"1\"/>\n"
    "  </cluster_property_set>\n"
    "  <cluster_property_set id=\"patmon-zone-adopt.a.1\">\n"
    "    <nvpair id=\"patmon-zone-adopt.a.1-v\" name=\"patmon-zone-adopt.a.1\" "
    "value=\"by=b since=5\"/>\n"
    "  </cluster_property_set>\n"
    "  <cluster_property_set id=\"patmon-zonex\"/>\n"
    "</crm_config>\n";

START_TEST(zone_records_parse) {
  struct bal_zrecs z;
  pm_error_t err = {0};
  ck_assert_int_eq(bal_zrec_parse(zone_crm_config, strlen(zone_crm_config),
                                  "crm_config", &z, &err),
                   0);
  ck_assert_uint_eq(z.n, 3); /* in the CIB's order */
  ck_assert_str_eq(z.v[0].key, "post.b");
  ck_assert_str_eq(z.v[0].value, "pass=3 spare=1/-/-");
  ck_assert_str_eq(z.v[1].key, "req.a.1");
  ck_assert_str_eq(z.v[1].value, "to=b \"x&y<z>");
  ck_assert_str_eq(z.v[2].key, "adopt.a.1");
  /* The set whose nvpair is not its own is skipped, and said. */
  ck_assert_uint_eq(z.nbad, 1);
  ck_assert_uint_eq(z.bad.line, 12);
  ck_assert_ptr_nonnull(strstr(z.bad.msg, "patmon-zone-grant.req.a.1"));
  ck_assert_ptr_nonnull(strstr(z.bad.msg, "no <nvpair> named as the set"));
  ck_assert_ptr_nonnull(strstr(z.bad.text, "name=\"someone-else\""));
  bal_zrecs_free(&z);
  ck_assert_uint_eq(z.n, 0);
  bal_zrecs_free(NULL);

  /* The whole CIB works as well (the pass's own cibadmin --query). */
  size_t cl;
  char *cib = slurp("cib.xml", &cl);
  ck_assert_int_eq(bal_zrec_parse(cib, cl, "cib.xml", &z, &err), 0);
  ck_assert_uint_eq(z.n, 0);
  bal_zrecs_free(&z);
  free(cib);

  /* Not a CIB, not XML, a truncated answer: refused with the text. */
  static const char not_cib[] = "<pacemaker-result/>";
  ck_assert_int_eq(bal_zrec_parse(not_cib, strlen(not_cib), "mon", &z, &err),
                   -EBADMSG);
  ck_assert_ptr_nonnull(strstr(err.msg, "root element pacemaker-result"));
  bal_zrecs_free(&z);
  ck_assert_int_eq(bal_zrec_parse(zone_crm_config, 300, "cut", &z, &err),
                   -EBADMSG);
  ck_assert_ptr_nonnull(strstr(err.msg, "bad XML"));
  ck_assert_uint_eq(err.line, 6);
  ck_assert_ptr_nonnull(strstr(err.text, "patmon-zone-post.b-v"));
  bal_zrecs_free(&z);

  /* Keys and values out of the format are never written. */
  ck_assert(bal_zrec_key_ok("grant.req.zone-A_1.12"));
  ck_assert(!bal_zrec_key_ok(""));
  ck_assert(!bal_zrec_key_ok("a b"));
  ck_assert(!bal_zrec_key_ok("a/b"));
  char longkey[BAL_ZONE_KEY_MAX + 2];
  memset(longkey, 'k', sizeof(longkey) - 1);
  longkey[sizeof(longkey) - 1] = '\0';
  ck_assert(!bal_zrec_key_ok(longkey));
  longkey[BAL_ZONE_KEY_MAX] = '\0';
  ck_assert(bal_zrec_key_ok(longkey));
  ck_assert(bal_zrec_value_ok(""));
  ck_assert(!bal_zrec_value_ok("two\nlines"));
  ck_assert(!bal_zrec_value_ok("\xc3\xa9"));
  ck_assert_int_eq(
      bal_zrec_write("cibadmin", 1000, BAL_ZREC_SET, "a b", "v", NULL),
      -EINVAL);
  ck_assert_int_eq(
      bal_zrec_write("cibadmin", 1000, BAL_ZREC_CREATE, "k", "tab\there", NULL),
      -EINVAL);
}
END_TEST

/* The store on a CIB file (CIB_file): create-if-absent, overwrite in
 * place, delete, read back in creation order. Run only where cibadmin
 * is installed (see main). */
START_TEST(zone_records_cib_file) {
  char dir[] = "/tmp/check_balancer_zone.XXXXXX", cib[64];
  ck_assert_ptr_nonnull(mkdtemp(dir));
  snprintf(cib, sizeof(cib), "%s/cib.xml", dir);
  FILE *f = fopen(cib, "w");
  ck_assert_ptr_nonnull(f);
  pm_buf_t out = {0}, why = {0};
  char *empty[] = {"cibadmin", "--empty", NULL};
  ck_assert_int_eq(bal_run(empty, 30000, &out, &why), 0);
  fwrite(out.data, 1, out.len, f);
  fclose(f);
  setenv("CIB_file", cib, 1);
  char *nofence[] = {"crm_attribute", "--name", "stonith-enabled",
                     "--update",      "false",  NULL};
  ck_assert_int_eq(bal_run(nofence, 30000, NULL, &why), 0);
  struct bal_zrecs z;
  pm_error_t err = {0};
  const int ms = 30000;

  ck_assert_int_eq(bal_zrec_read("cibadmin", ms, &z, &err), 0);
  ck_assert_uint_eq(z.n, 0);
  bal_zrecs_free(&z);
  ck_assert_int_eq(
      bal_zrec_write("cibadmin", ms, BAL_ZREC_SET, "post.b", "pass=1", &why),
      0);
  ck_assert_int_eq(bal_zrec_write("cibadmin", ms, BAL_ZREC_CREATE, "req.a.1",
                                  "to=b <&\"'>", &why),
                   0);
  /* The second create of a key finds it: someone decided first. */
  ck_assert_int_eq(
      bal_zrec_write("cibadmin", ms, BAL_ZREC_CREATE, "req.a.1", "to=c", &why),
      -EEXIST);
  ck_assert_int_eq(bal_zrec_write("cibadmin", ms, BAL_ZREC_CREATE, "adopt.a.1",
                                  "by=b", &why),
                   0);
  /* Overwriting keeps the record's place. */
  ck_assert_int_eq(
      bal_zrec_write("cibadmin", ms, BAL_ZREC_SET, "post.b", "pass=2", &why),
      0);
  ck_assert_int_eq(bal_zrec_read("cibadmin", ms, &z, &err), 0);
  ck_assert_uint_eq(z.n, 3);
  ck_assert_uint_eq(z.nbad, 0);
  ck_assert_str_eq(z.v[0].key, "post.b");
  ck_assert_str_eq(z.v[0].value, "pass=2");
  ck_assert_str_eq(z.v[1].key, "req.a.1");
  ck_assert_str_eq(z.v[1].value, "to=b <&\"'>");
  ck_assert_str_eq(z.v[2].key, "adopt.a.1");
  bal_zrecs_free(&z);
  /* Delete, twice: absent is no error. */
  ck_assert_int_eq(
      bal_zrec_write("cibadmin", ms, BAL_ZREC_DELETE, "req.a.1", NULL, &why),
      0);
  ck_assert_int_eq(
      bal_zrec_write("cibadmin", ms, BAL_ZREC_DELETE, "req.a.1", NULL, &why),
      0);
  ck_assert_int_eq(bal_zrec_read("cibadmin", ms, &z, &err), 0);
  ck_assert_uint_eq(z.n, 2);
  ck_assert_str_eq(z.v[1].key, "adopt.a.1");
  bal_zrecs_free(&z);
  /* Created again after the delete: a new record, at the end. */
  ck_assert_int_eq(
      bal_zrec_write("cibadmin", ms, BAL_ZREC_CREATE, "req.a.1", "to=c", &why),
      0);
  ck_assert_int_eq(bal_zrec_read("cibadmin", ms, &z, &err), 0);
  ck_assert_uint_eq(z.n, 3);
  ck_assert_str_eq(z.v[2].key, "req.a.1");
  ck_assert_str_eq(z.v[2].value, "to=c");
  bal_zrecs_free(&z);
  /* The records keep the CIB valid. */
  char *verify[] = {"crm_verify", "--xml-file", cib, NULL};
  ck_assert_int_eq(bal_run(verify, ms, NULL, &why), 0);

  /* A CIB that is gone: the command's failure, said. */
  unlink(cib);
  ck_assert_int_lt(bal_zrec_read("cibadmin", ms, &z, &err), 0);
  ck_assert_ptr_nonnull(strstr(err.msg, "cibadmin --query --scope crm_config"));
  bal_zrecs_free(&z);
  unsetenv("CIB_file");
  pm_buf_free(&out);
  pm_buf_free(&why);
  rmdir(dir);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("balancer");
  TCase *tc = tcase_create("planner");
  tcase_add_test(tc, overload_fewest_moves);
  tcase_add_test(tc, quiet_cluster_stays_still);
  tcase_add_test(tc, near_threshold_evened_out);
  tcase_add_test(tc, one_node_over_fewest_moves);
  tcase_add_test(tc, two_at_90_beat_one_at_110);
  tcase_add_test(tc, overload_needs_two_moves);
  tcase_add_test(tc, overload_only_repack);
  tcase_add_test(tc, swap_heavy_for_light);
  tcase_add_test(tc, relief_when_threshold_cannot_be_met);
  tcase_add_test(tc, failover_repack_beats_greedy);
  tcase_add_test(tc, failover_counts_the_move_charge);
  tcase_add_test(tc, failover_evicts_two);
  tcase_add_test(tc, failover_full_repack);
  tcase_add_test(tc, failover_reports_what_cannot_fit);
  tcase_add_test(tc, failover_threshold_where_possible);
  tcase_add_test(tc, groups_bans_and_separation);
  tcase_add_test(tc, standby_and_maintenance);
  tcase_add_test(tc, budget_cooldown_and_unknown);
  tcase_add_test(tc, declared_utilization);
  tcase_add_test(tc, whatif_per_node);
  tcase_add_test(tc, model_rejects_bad_input);
  tcase_add_test(tc, whatif_keeps_spare_nodes);
  tcase_add_test(tc, ha_promoted_never_onto_its_standby);
  tcase_add_test(tc, ha_failover_promotes_the_standby);
  tcase_add_test(tc, ha_whatif_counts_the_promotion);
  tcase_add_test(tc, failover_room_under_declared_utilization);
  suite_add_tcase(s, tc);
  tc = tcase_create("input");
  /* Its tests spawn Pacemaker's tools (crm_simulate, cibadmin on a CIB file):
   * seconds each on a busy machine, more under ASan or valgrind. */
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, pcmk_fixture);
  tcase_add_test(tc, pcmk_promotable_clone);
  tcase_add_test(tc, pcmk_bad_input);
  tcase_add_test(tc, fifo_config_and_rrd);
  tcase_add_test(tc, present_scan_lists_hosts_once);
  tcase_add_test(tc, rrd_last_from_the_header);
  tcase_add_test(tc, config_lifetimes);
  tcase_add_test(tc, config_example_and_defaults);
  tcase_add_test(tc, config_hook_events);
  tcase_add_loop_test(tc, config_bad_input, 0,
                      (int)(sizeof(bad_confs) / sizeof(bad_confs[0])));
  tcase_add_test(tc, config_include_errors_name_the_file);
  tcase_add_test(tc, argv_templates);
  tcase_add_test(tc, state_round_trip);
  tcase_add_test(tc, failback_after_stable_time);
  tcase_add_test(tc, failback_only_with_room);
  tcase_add_test(tc, digests_majority_and_minority);
  tcase_add_test(tc, zone_records_parse);
  /* The store's commands on a CIB file need Pacemaker's tools. */
  char *which[] = {"sh", "-c",
                   "command -v cibadmin && command -v crm_verify && command -v "
                   "crm_attribute",
                   NULL};
  if (bal_run(which, 10000, NULL, NULL) == 0)
    tcase_add_test(tc, zone_records_cib_file);
  else
    fprintf(
        stderr,
        "check_balancer: cibadmin, crm_verify or crm_attribute not found: the "
        "zone store test on a CIB file is not run\n");
  suite_add_tcase(s, tc);
  tc = tcase_create("rrd");
  tcase_set_timeout(tc, 120); /* under valgrind */
  tcase_add_loop_test(tc, rrd_rows_as_librrd, 0,
                      (int)(sizeof(rrd_cases) / sizeof(rrd_cases[0])));
  tcase_add_test(tc, rrd_rows_bad_files);
  tcase_add_test(tc, rrd_resample_by_hand);
  suite_add_tcase(s, tc);
  tc = tcase_create("forecast");
  tcase_add_test(tc, forecast_follows_level_and_trend);
  tcase_add_test(tc, estimate_prefers_the_accurate);
  tcase_add_test(tc, load_model_takes_services_off_the_background);
  tcase_add_test(tc, load_model_upper_and_cut);
  tcase_add_test(tc, load_model_reads_the_forecast_series);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return check_run(suite()); }
