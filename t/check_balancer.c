/* Unit tests for balancer/: planner on hand-made clusters, forecasts,
 * configuration and Pacemaker XML parsing (good and bad input). */
#include "config.h"

#include "internal.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef TEST_DATA
#define TEST_DATA "t/data/balancer"
#endif

/* ---- building clusters ------------------------------------------------- */

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

/* ---- planner ------------------------------------------------------------- */

START_TEST(overload_fewest_moves) {
  /* n1 is forecast at 90% of 10 cores: one move of the smallest service
   * that covers the 1-core excess (c, 2 cores) to the least loaded node. */
  bal_cluster_t *c = bal_cluster_new();
  node(c, "n1", 10, BAL_NODE_ONLINE);
  node(c, "n2", 10, BAL_NODE_ONLINE);
  node(c, "n3", 10, BAL_NODE_ONLINE);
  svc(c, "a", "n1", 4);
  svc(c, "b", "n1", 3);
  svc(c, "c", "n1", 2);
  svc(c, "d", "n2", 5);
  svc(c, "e", "n3", 3);
  bal_params_t p;
  bal_params_init(&p);
  bal_plan_t *pl = plan(c, &p);
  ck_assert_uint_eq(bal_plan_nmoves(pl), 1);
  bal_move_t m;
  bal_plan_move(pl, 0, &m);
  ck_assert_uint_eq(m.nservices, 1);
  ck_assert_str_eq(m.services[0], "c");
  ck_assert_str_eq(m.from, "n1");
  ck_assert_str_eq(m.to, "n3");
  ck_assert_int_eq(m.reason, BAL_WHY_OVERLOAD);
  ck_assert_ptr_nonnull(strstr(m.why, "n1 forecast 90% > 80%"));
  ck_assert_double_eq_tol(after(pl, c, "n1"), 0.7, 1e-9);
  ck_assert_double_eq_tol(after(pl, c, "n3"), 0.5, 1e-9);
  ck_assert_uint_eq(bal_plan_nnotes(pl), 0);
  /* Applied, the cluster is balanced: a second plan does nothing. */
  ck_assert_int_eq(bal_plan_apply(pl, c), 0);
  bal_plan_free(pl);
  pl = plan(c, &p);
  ck_assert_uint_eq(bal_plan_nmoves(pl), 0);
  bal_plan_free(pl);
  bal_cluster_free(c);
}
END_TEST

START_TEST(overload_needs_two_moves) {
  /* n1 at 95%: no single service covers the 1.5-core excess, so the largest
   * that fits goes first, then the smallest covering one. */
  bal_cluster_t *c = bal_cluster_new();
  node(c, "n1", 10, BAL_NODE_ONLINE);
  node(c, "n2", 10, BAL_NODE_ONLINE);
  node(c, "n3", 10, BAL_NODE_ONLINE);
  for (int i = 0; i < 10; i++) {
    char name[8];
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

START_TEST(swap_heavy_for_light) {
  /* Two nodes: n1 {5, 4} at 90%, n2 {3, 3} at 60%. Moving 4 or 5 to n2
   * overloads n2; the fix is swapping a (5) with one 3. */
  bal_cluster_t *c = bal_cluster_new();
  node(c, "n1", 10, BAL_NODE_ONLINE);
  node(c, "n2", 10, BAL_NODE_ONLINE);
  svc(c, "a", "n1", 5);
  svc(c, "b", "n1", 4);
  svc(c, "c", "n2", 3);
  svc(c, "d", "n2", 3);
  bal_params_t p;
  bal_params_init(&p);
  bal_plan_t *pl = plan(c, &p);
  ck_assert_uint_eq(bal_plan_nmoves(pl), 2);
  ck_assert_str_eq(dest(pl, c, "a"), "n2");
  ck_assert_str_eq(dest(pl, c, "b"), "n1");
  const char *light = strcmp(dest(pl, c, "c"), "n1") == 0 ? "c" : "d";
  ck_assert_str_eq(dest(pl, c, light), "n1");
  bal_move_t m;
  bal_plan_move(pl, 0, &m);
  ck_assert_int_eq(m.reason, BAL_WHY_SWAP);
  ck_assert_double_eq_tol(after(pl, c, "n1"), 0.7, 1e-9);
  ck_assert_double_eq_tol(after(pl, c, "n2"), 0.8, 1e-9);
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

START_TEST(failover_repack_beats_greedy) {
  /* n1 fails with x (6 cores). n2 runs 5, n3 runs 3 + 2: 5 cores free on
   * each, so a greedy pass (Pacemaker's utilization strategies) leaves x
   * stopped. Moving mid (3) to n2 makes room on n3 and leaves both
   * survivors at 80% (moving small would leave n3 at 90%). */
  bal_cluster_t *c = bal_cluster_new();
  node(c, "n1", 10, BAL_NODE_OFFLINE);
  node(c, "n2", 10, BAL_NODE_ONLINE);
  node(c, "n3", 10, BAL_NODE_ONLINE);
  svc(c, "x", "n1", 6);
  svc(c, "big", "n2", 5);
  svc(c, "mid", "n3", 3);
  svc(c, "small", "n3", 2);
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
    char n[4];
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
    char name[8];
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
  bal_cluster_t *c = bal_cluster_new();
  node(c, "n1", 10, BAL_NODE_ONLINE);
  node(c, "n2", 10, BAL_NODE_ONLINE);
  node(c, "n3", 10, BAL_NODE_ONLINE);
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
  ck_assert_uint_eq(bal_plan_nmoves(pl), 1);
  bal_move_t m;
  bal_plan_move(pl, 0, &m);
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
  bal_cluster_t *c = bal_cluster_new();
  node(c, "n1", 10, BAL_NODE_ONLINE);
  node(c, "n2", 10, BAL_NODE_ONLINE);
  node(c, "n3", 10, BAL_NODE_ONLINE);
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
  bal_cluster_t *c = bal_cluster_new();
  node(c, "n1", 10, BAL_NODE_ONLINE);
  node(c, "n2", 10, BAL_NODE_ONLINE);
  node(c, "n3", 10, BAL_NODE_ONLINE);
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

static Suite *suite(void) {
  Suite *s = suite_create("balancer");
  TCase *tc = tcase_create("planner");
  tcase_add_test(tc, overload_fewest_moves);
  tcase_add_test(tc, overload_needs_two_moves);
  tcase_add_test(tc, swap_heavy_for_light);
  tcase_add_test(tc, failover_repack_beats_greedy);
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
  suite_add_tcase(s, tc);
  tc = tcase_create("forecast");
  tcase_add_test(tc, forecast_follows_level_and_trend);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
