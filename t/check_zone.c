/* Unit tests for balancer/zone.c: zone instances trading surplus and spare
 * through an in-memory record store with the CIB's create-if-absent. */
#include "config.h"

#include "check_run.h"
#include "internal.h"
#include "zone.h"

#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the record store: creation order, SET and CREATE -------------------- */

#define MAXREC 64

struct store {
  char *key[MAXREC], *value[MAXREC];
  size_t n;
};

static int store_find(const struct store *s, const char *key) {
  for (size_t i = 0; i < s->n; i++)
    if (strcmp(s->key[i], key) == 0)
      return (int)i;
  return -1;
}

static int store_write(struct store *s, enum bal_zone_op op, const char *key,
                       const char *value) {
  int i = store_find(s, key);
  if (op == BAL_ZONE_DELETE) {
    if (i >= 0) { /* keeps the creation order of the rest */
      free(s->key[i]);
      free(s->value[i]);
      memmove(&s->key[i], &s->key[i + 1], (s->n - i - 1) * sizeof(char *));
      memmove(&s->value[i], &s->value[i + 1], (s->n - i - 1) * sizeof(char *));
      s->n--;
    }
    return 0;
  }
  if (i >= 0 && op == BAL_ZONE_CREATE)
    return -EEXIST;
  if (i >= 0) {
    free(s->value[i]);
    s->value[i] = strdup(value);
    return 0;
  }
  ck_assert_uint_lt(s->n, MAXREC);
  s->key[s->n] = strdup(key);
  s->value[s->n++] = strdup(value);
  return 0;
}

static const char *store_get(const struct store *s, const char *key) {
  int i = store_find(s, key);
  return i >= 0 ? s->value[i] : NULL;
}

static void store_free(struct store *s) {
  for (size_t i = 0; i < s->n; i++) {
    free(s->key[i]);
    free(s->value[i]);
  }
  s->n = 0;
}

/* Writes actions from..end; checks every key and value keeps the seam's
 * limits. */
static void write_actions(bal_zone_t *z, struct store *s, size_t from) {
  for (size_t i = from; i < bal_zone_nactions(z); i++) {
    bal_zone_action_t a;
    ck_assert_int_eq(bal_zone_action(z, i, &a), 0);
    ck_assert_uint_le(strlen(a.key), BAL_ZONE_KEY_MAX);
    ck_assert_uint_le(strlen(a.value), BAL_ZONE_VALUE_MAX);
    for (const char *p = a.key; *p; p++)
      ck_assert(strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                       "0123456789._-",
                       *p));
    ck_assert_int_eq(
        bal_zone_written(z, i, store_write(s, a.op, a.key, a.value)), 0);
  }
}

/* ---- a cluster in zones -------------------------------------------------- */

struct world {
  bal_cluster_t *c;
  const char *zone_of[16];
  const char *zones[8];
  size_t nzones;
  bal_params_t p;
};

/* Builds w from two lists: nodes "name=zone:cores ..." and services
 * "name=node:cores ..." (cpu only); a node's load is its services'. */
static void world_init(struct world *w, const char *nodes, const char *svcs) {
  memset(w, 0, sizeof(*w));
  w->c = bal_cluster_new();
  ck_assert_ptr_nonnull(w->c);
  bal_params_init(&w->p);
  static char zone[16][16];
  char name[32], where[32];
  double v, sum[16] = {0};
  int len;
  for (const char *p = nodes;
       sscanf(p, " %31[^=]=%15[^:]:%lf%n", name, zone[bal_cluster_nnodes(w->c)],
              &v, &len) == 3;
       p += len) {
    double cp[BAL_NDIM] = {v, NAN, NAN};
    int n = bal_cluster_add_node(w->c, name, cp, BAL_NODE_ONLINE);
    ck_assert_int_ge(n, 0);
    w->zone_of[n] = zone[n];
    size_t k = 0;
    while (k < w->nzones && strcmp(w->zones[k], zone[n]) != 0)
      k++;
    if (k == w->nzones)
      w->zones[w->nzones++] = zone[n];
  }
  for (const char *p = svcs;
       sscanf(p, " %31[^=]=%31[^:]:%lf%n", name, where, &v, &len) == 3;
       p += len) {
    int n = bal_cluster_find_node(w->c, where);
    double d[BAL_NDIM] = {v, 0, 0};
    ck_assert_int_ge(n, 0);
    ck_assert_int_ge(bal_cluster_add_service(w->c, name, n, d), 0);
    sum[n] += v;
  }
  for (size_t n = 0; n < bal_cluster_nnodes(w->c); n++) {
    double l[BAL_NDIM] = {sum[n], 0, 0};
    ck_assert_int_eq(bal_node_set_load(w->c, (int)n, l), 0);
  }
}

/* Frees the world, the store and the n instances z. */
static void finish(struct world *w, struct store *s, bal_zone_t **z, size_t n) {
  for (size_t i = 0; i < n; i++)
    bal_zone_free(z[i]);
  store_free(s);
  bal_cluster_free(w->c);
}

/* One pass of zone instance z at now: both steps, all actions written. */
static void pass(bal_zone_t *z, struct store *s, struct world *w, int64_t now) {
  bal_record_t rec[MAXREC];
  for (size_t i = 0; i < s->n; i++)
    rec[i] = (bal_record_t){s->key[i], s->value[i]};
  ck_assert_int_eq(bal_zone_begin(z, rec, s->n, w->zones, w->nzones, now, NULL),
                   0);
  write_actions(z, s, 0);
  size_t mark = bal_zone_nactions(z);
  ck_assert_int_eq(bal_zone_plan(z, w->c, w->zone_of, &w->p), 0);
  write_actions(z, s, mark);
}

/* The core's default parameters with interval iv. */
static bal_zone_params_t zparams(unsigned iv) {
  bal_zone_params_t zp;
  bal_zone_params_init(&zp);
  zp.interval = iv;
  return zp;
}

static bool cross_to(const bal_zone_t *z, const char *svc, const char *to) {
  for (size_t i = 0; i < bal_zone_ncross(z); i++) {
    bal_move_t m;
    ck_assert_int_eq(bal_zone_cross(z, i, &m), 0);
    ck_assert_int_eq(m.reason, BAL_WHY_GRANT);
    if (strcmp(m.services[0], svc) == 0 && strcmp(m.to, to) == 0)
      return true;
  }
  return false;
}

/* Zones A and C each have one node at 90% that cannot shed locally (one
 * node a zone); zone B has room for one 3-core unit under 80%, not two. */
static void two_requesters(struct world *w) {
  world_init(w, "a1=A:10 b1=B:10 c1=C:10",
             "a-small=a1:3 a-big=a1:6 b-x=b1:4 c-small=c1:3 c-big=c1:6");
}

/* ---- tests ----------------------------------------------------------------
 */

/* The daemon acts on the whole cluster: the local plan (on the planned
 * zones' nodes) and the cross-zone moves become one plan on c's indices,
 * the moves as the core described them, the loads as the planner counts. */
START_TEST(local_plan_rebased_on_the_cluster) {
  struct world w;
  world_init(&w, "b1=B:10 a1=A:10 a2=A:10", "x=a1:5 y=a1:4 z=b1:1");
  struct store s = {0};
  bal_zone_t *a = bal_zone_new("A", NULL);
  pass(a, &s, &w, 0);
  const bal_plan_t *lp = bal_zone_local(a);
  const bal_cluster_t *sub = bal_zone_cluster(a);
  ck_assert_uint_eq(bal_cluster_nnodes(sub), 2);
  ck_assert_uint_eq(bal_plan_nmoves(lp), 1);
  bal_plan_t *pl = NULL;
  ck_assert_int_eq(bal_plan_rebase(lp, NULL, 0, w.c, &w.p, &pl), 0);
  ck_assert_uint_eq(bal_plan_nmoves(pl), 1);
  bal_move_t m, m0;
  bal_plan_move(lp, 0, &m0);
  bal_plan_move(pl, 0, &m);
  ck_assert_str_eq(m.services[0], m0.services[0]);
  ck_assert_str_eq(m.to, "a2");
  ck_assert_str_eq(m.from, "a1");
  ck_assert_str_eq(m.why, m0.why);
  ck_assert_int_eq(m.reason, m0.reason);
  for (const char *const *n = (const char *const[]){"a1", "a2", NULL}; *n;
       n++) {
    double b0, a0, b1, a1;
    bal_plan_node_util(lp, bal_cluster_find_node(sub, *n), &b0, &a0);
    bal_plan_node_util(pl, bal_cluster_find_node(w.c, *n), &b1, &a1);
    ck_assert_double_eq_tol(b0, b1, 1e-9);
    ck_assert_double_eq_tol(a0, a1, 1e-9);
  }
  double b, af;
  bal_plan_node_util(pl, 0, &b, &af); /* b1: outside the zone, unchanged */
  ck_assert_double_eq_tol(b, 0.1, 1e-9);
  ck_assert_double_eq_tol(af, 0.1, 1e-9);
  /* A move naming what c does not have is refused, nothing made. */
  const char *ghost[] = {"ghost"};
  bal_move_t g = {.services = ghost, .nservices = 1, .to = "b1"};
  pl = (bal_plan_free(pl), NULL);
  ck_assert_int_eq(bal_plan_rebase(NULL, &g, 1, w.c, &w.p, &pl), -ENOENT);
  ck_assert_ptr_null(pl);
  finish(&w, &s, (bal_zone_t *[]){a}, 1);
}
END_TEST

/* A granted cross-zone move lands in the plan with its reason and text;
 * the loads of both ends change. */
START_TEST(cross_move_rebased_on_the_cluster) {
  struct world w;
  two_requesters(&w);
  struct store s = {0};
  bal_zone_t *b = bal_zone_new("B", NULL), *c = bal_zone_new("C", NULL);
  pass(b, &s, &w, 0);
  pass(c, &s, &w, 0);
  pass(b, &s, &w, 60);
  pass(c, &s, &w, 120);
  ck_assert_uint_eq(bal_zone_ncross(c), 1);
  bal_move_t x;
  ck_assert_int_eq(bal_zone_cross(c, 0, &x), 0);
  bal_plan_t *pl = NULL;
  ck_assert_int_eq(bal_plan_rebase(bal_zone_local(c), &x, 1, w.c, &w.p, &pl),
                   0);
  ck_assert_uint_eq(bal_plan_nmoves(pl), 1);
  bal_move_t m;
  bal_plan_move(pl, 0, &m);
  ck_assert_str_eq(m.services[0], "c-small");
  ck_assert_str_eq(m.from, "c1");
  ck_assert_str_eq(m.to, "b1");
  ck_assert_int_eq(m.reason, BAL_WHY_GRANT);
  ck_assert_str_eq(m.why, x.why);
  double bb, ba, cb, ca;
  bal_plan_node_util(pl, bal_cluster_find_node(w.c, "b1"), &bb, &ba);
  bal_plan_node_util(pl, bal_cluster_find_node(w.c, "c1"), &cb, &ca);
  ck_assert_double_eq_tol(bb, 0.4, 1e-9);
  ck_assert_double_eq_tol(ba, 0.7, 1e-9);
  ck_assert_double_eq_tol(cb, 0.9, 1e-9);
  ck_assert_double_eq_tol(ca, 0.6, 1e-9);
  bal_plan_free(pl);
  finish(&w, &s, (bal_zone_t *[]){b, c}, 2);
}
END_TEST

START_TEST(grant_order_first_recorded_wins) {
  struct world w;
  two_requesters(&w);
  struct store s = {0};
  bal_zone_t *a = bal_zone_new("A", NULL), *b = bal_zone_new("B", NULL),
             *c = bal_zone_new("C", NULL);
  ck_assert_ptr_nonnull(a);
  /* Pass 1: A sees no spare yet; C, after B, asks for it. */
  pass(a, &s, &w, 0);
  pass(b, &s, &w, 0);
  pass(c, &s, &w, 0);
  ck_assert_ptr_null(store_get(&s, "req.A.1"));
  ck_assert_ptr_nonnull(strstr(store_get(&s, "post.B"), "spare=4/"));
  ck_assert_ptr_nonnull(strstr(store_get(&s, "post.A"), "surplus=a-small@3/"));
  ck_assert_str_eq(store_get(&s, "req.C.1"), "to=B pass=1 t=0 "
                                             "units=c-small@3/0/0");
  /* Pass 2: A asks for the same spare; B decides in the order recorded. */
  pass(a, &s, &w, 60);
  ck_assert_ptr_nonnull(store_get(&s, "req.A.1"));
  ck_assert_int_lt(store_find(&s, "req.C.1"), store_find(&s, "req.A.1"));
  pass(b, &s, &w, 60);
  ck_assert_str_eq(store_get(&s, "grant.req.C.1"), "ok by=B t=60 nodes=b1");
  ck_assert_str_eq(store_get(&s, "grant.req.A.1"),
                   "refused by=B t=60 why=nofit");
  bal_zone_stats_t st;
  bal_zone_stats(b, &st);
  ck_assert_uint_eq(st.granted, 1);
  ck_assert_uint_eq(st.refused, 1);
  /* The grant reserved B's spare: its post shows what is left. */
  ck_assert_ptr_nonnull(strstr(store_get(&s, "post.B"), "spare=1/"));
  /* Pass 3: C moves its unit to b1; A does not. */
  pass(c, &s, &w, 120);
  pass(a, &s, &w, 120);
  ck_assert(cross_to(c, "c-small", "b1"));
  ck_assert_uint_eq(bal_zone_ncross(a), 0);
  /* A refusal is done with at once; a grant once its unit is there. */
  ck_assert_ptr_null(store_get(&s, "req.A.1"));
  ck_assert_ptr_null(store_get(&s, "grant.req.A.1"));
  ck_assert_ptr_nonnull(store_get(&s, "grant.req.C.1"));
  bal_zone_stats(c, &st);
  ck_assert_uint_eq(st.cross, 1);
  /* The move was carried out: C's next pass deletes its request. */
  bal_cluster_free(w.c);
  world_init(&w, "a1=A:10 b1=B:10 c1=C:10",
             "a-small=a1:3 a-big=a1:6 b-x=b1:4 c-small=b1:3 c-big=c1:6");
  pass(c, &s, &w, 180);
  ck_assert_uint_eq(bal_zone_ncross(c), 0);
  ck_assert_ptr_null(store_get(&s, "req.C.1"));
  ck_assert_ptr_null(store_get(&s, "grant.req.C.1"));
  finish(&w, &s, (bal_zone_t *[]){a, b, c}, 3);
}
END_TEST

START_TEST(refused_when_larger_than_spare) {
  struct world w;
  two_requesters(&w);
  struct store s = {0};
  bal_zone_t *b = bal_zone_new("B", NULL);
  pass(b, &s, &w, 0);
  /* A request for 5 cores where 4 are left under threshold. */
  store_write(&s, BAL_ZONE_CREATE, "req.A.1",
              "to=B pass=1 t=0 units=a-small+a-big@5/0/0");
  store_write(&s, BAL_ZONE_CREATE, "req.A.2",
              "to=B pass=1 t=0 units=a-small@3/0/0");
  pass(b, &s, &w, 60);
  ck_assert_str_eq(store_get(&s, "grant.req.A.1"),
                   "refused by=B t=60 why=nofit");
  /* The refusal took nothing: the next request still fits. */
  ck_assert_str_eq(store_get(&s, "grant.req.A.2"), "ok by=B t=60 nodes=b1");
  /* A request whose first unit fits and second does not is refused whole
   * and reserves nothing. */
  store_write(&s, BAL_ZONE_CREATE, "req.C.1",
              "to=B pass=1 t=60 units=c-small@0.5/0/0,c-big@6/0/0");
  pass(b, &s, &w, 70);
  ck_assert_str_eq(store_get(&s, "grant.req.C.1"),
                   "refused by=B t=70 why=nofit");
  pass(b, &s, &w, 80);
  ck_assert_ptr_nonnull(strstr(store_get(&s, "post.B"), "spare=1/"));
  /* A request naming a service that does not exist is refused. */
  store_write(&s, BAL_ZONE_CREATE, "req.A.3",
              "to=B pass=2 t=60 units=ghost@1/0/0");
  pass(b, &s, &w, 100);
  ck_assert_str_eq(store_get(&s, "grant.req.A.3"),
                   "refused by=B t=100 why=unknown");
  /* A's instance starts: it waits for none of these and deletes them. */
  bal_zone_t *a = bal_zone_new("A", NULL);
  pass(a, &s, &w, 110);
  ck_assert_ptr_null(store_get(&s, "req.A.3"));
  ck_assert_ptr_null(store_get(&s, "grant.req.A.3"));
  ck_assert_ptr_null(store_get(&s, "req.A.1"));
  bal_zone_free(a);
  finish(&w, &s, (bal_zone_t *[]){b}, 1);
}
END_TEST

/* B's grant of A's request comes back -EEXIST: someone decided first
 * (here a refusal). B drops its reservation and follows the record: C's
 * later request for the same spare is granted, and A never moves. */
START_TEST(create_exists_follows_the_record) {
  struct world w;
  two_requesters(&w);
  struct store s = {0};
  bal_zone_t *a = bal_zone_new("A", NULL), *b = bal_zone_new("B", NULL),
             *c = bal_zone_new("C", NULL);
  pass(c, &s, &w, 0);
  pass(a, &s, &w, 0);
  pass(b, &s, &w, 0);
  pass(a, &s, &w, 30);
  ck_assert_ptr_nonnull(store_get(&s, "req.A.1"));
  /* B reads, another writer decides, then B writes. */
  bal_record_t rec[MAXREC];
  for (size_t i = 0; i < s.n; i++)
    rec[i] = (bal_record_t){s.key[i], s.value[i]};
  ck_assert_int_eq(bal_zone_begin(b, rec, s.n, w.zones, w.nzones, 30, NULL), 0);
  write_actions(b, &s, 0);
  size_t mark = bal_zone_nactions(b);
  ck_assert_int_eq(bal_zone_plan(b, w.c, w.zone_of, &w.p), 0);
  store_write(&s, BAL_ZONE_CREATE, "grant.req.A.1",
              "refused by=B t=59 why=nofit");
  bool saw = false;
  for (size_t i = mark; i < bal_zone_nactions(b); i++) {
    bal_zone_action_t act;
    bal_zone_action(b, i, &act);
    int rc = store_write(&s, act.op, act.key, act.value);
    if (strcmp(act.key, "grant.req.A.1") == 0) {
      ck_assert_str_eq(act.value, "ok by=B t=30 nodes=b1");
      ck_assert_int_eq(rc, -EEXIST);
      saw = true;
    }
    bal_zone_written(b, i, rc);
  }
  ck_assert(saw);
  bal_zone_stats_t st;
  bal_zone_stats(b, &st);
  ck_assert_uint_eq(st.granted, 0);
  /* A follows the recorded refusal; C asks for the same spare and gets it
   * (B's post, written before the conflict, still showed it reserved). */
  ck_assert_ptr_nonnull(strstr(store_get(&s, "post.B"), "spare=1/"));
  pass(a, &s, &w, 60);
  ck_assert_uint_eq(bal_zone_ncross(a), 0);
  pass(b, &s, &w, 60);
  ck_assert_ptr_nonnull(strstr(store_get(&s, "post.B"), "spare=4/"));
  pass(c, &s, &w, 90);
  ck_assert_ptr_nonnull(store_get(&s, "req.C.1"));
  pass(b, &s, &w, 90);
  ck_assert_str_eq(store_get(&s, "grant.req.C.1"), "ok by=B t=90 nodes=b1");
  finish(&w, &s, (bal_zone_t *[]){a, b, c}, 3);
}
END_TEST

/* Zone A: a1 at 90% and a2 empty; zone B: b1. A's instance stops after
 * its pass at 60: B adopts A after two silent intervals and plans it (a1
 * relieved onto a2); A's instance returns at 300, waits while B's
 * adoption is open, B ends it, and A plans again. */
START_TEST(adoption_after_two_silent_intervals_and_return) {
  struct world w;
  world_init(&w, "a1=A:10 a2=A:10 b1=B:10", "a-1=a1:3 a-2=a1:6 b-1=b1:2");
  struct store s = {0};
  bal_zone_params_t zp;
  bal_zone_params_init(&zp);
  ck_assert_uint_eq(zp.silent_intervals, 2);
  ck_assert_double_eq(zp.cross_cost, 5);
  zp.interval = 60;
  bal_zone_t *a = bal_zone_new("A", &zp), *b = bal_zone_new("B", &zp);
  /* A's instance runs with a planner that makes no move (budget 1, with
   * a move cost no relief beats): a1 stays overloaded. */
  bal_params_t none = w.p;
  none.move_cost = 1e9;
  struct world wa = w;
  wa.p = none;
  for (int64_t t = 0; t <= 60; t += 60) {
    pass(a, &s, &wa, t);
    pass(b, &s, &w, t);
    ck_assert_uint_eq(bal_zone_nplanned(b), 1);
  }
  /* A silent: at 120 one interval, at 180 two: adopted. */
  pass(b, &s, &w, 120);
  ck_assert_uint_eq(bal_zone_nplanned(b), 1);
  ck_assert_ptr_null(store_get(&s, "adopt.A.1"));
  pass(b, &s, &w, 180);
  ck_assert_str_eq(store_get(&s, "adopt.A.1"), "by=B since=180");
  ck_assert_uint_eq(bal_zone_nplanned(b), 2);
  ck_assert_str_eq(bal_zone_planned(b, 0), "B");
  ck_assert_str_eq(bal_zone_planned(b, 1), "A");
  ck_assert_ptr_nonnull(strstr(store_get(&s, "post.B"), "plans=B,A"));
  /* B planned a1 as its own: a move off it. */
  const bal_plan_t *lp = bal_zone_local(b);
  ck_assert_ptr_nonnull(lp);
  ck_assert_uint_ge(bal_plan_nmoves(lp), 1);
  bal_move_t m;
  bal_plan_move(lp, 0, &m);
  ck_assert_str_eq(m.from, "a1");
  /* Still adopted while A is silent; no second claim. */
  pass(b, &s, &w, 240);
  ck_assert_uint_eq(bal_zone_nplanned(b), 2);
  ck_assert_ptr_null(store_get(&s, "adopt.A.2"));
  /* A's instance returns (a new process): it waits for B. */
  bal_zone_free(a);
  a = bal_zone_new("A", &zp);
  pass(a, &s, &wa, 300);
  ck_assert_uint_eq(bal_zone_nplanned(a), 0);
  ck_assert_ptr_null(bal_zone_local(a));
  ck_assert_ptr_nonnull(strstr(store_get(&s, "post.A"), "pass=3 "));
  pass(b, &s, &w, 300);
  ck_assert_str_eq(store_get(&s, "adopt.A.1"), "by=B since=180 ended=300");
  ck_assert_uint_eq(bal_zone_nplanned(b), 1);
  pass(a, &s, &wa, 360);
  ck_assert_uint_eq(bal_zone_nplanned(a), 1);
  ck_assert_str_eq(bal_zone_planned(a, 0), "A");
  /* A second silence is a second adoption. */
  pass(b, &s, &w, 420);
  pass(b, &s, &w, 480);
  pass(b, &s, &w, 540);
  ck_assert_str_eq(store_get(&s, "adopt.A.2"), "by=B since=540");
  finish(&w, &s, (bal_zone_t *[]){a, b}, 2);
}
END_TEST

/* Two instances claim the same silent zone (C and B each saw themselves
 * as the lowest live one): the one whose CREATE comes back -EEXIST does
 * not plan it. */
START_TEST(adoption_claim_lost) {
  struct world w;
  world_init(&w, "a1=A:10 c1=C:10", "a-1=a1:3");
  struct store s = {0};
  bal_zone_t *c = bal_zone_new("C", NULL);
  pass(c, &s, &w, 0);
  pass(c, &s, &w, 60);
  store_write(&s, BAL_ZONE_CREATE, "adopt.A.1", "by=B since=100");
  bal_record_t rec[MAXREC];
  /* C read the records before B's claim. */
  for (size_t i = 0; i + 1 < s.n; i++)
    rec[i] = (bal_record_t){s.key[i], s.value[i]};
  ck_assert_int_eq(
      bal_zone_begin(c, rec, s.n - 1, w.zones, w.nzones, 120, NULL), 0);
  ck_assert_uint_eq(bal_zone_nactions(c), 1);
  bal_zone_action_t act;
  bal_zone_action(c, 0, &act);
  ck_assert_str_eq(act.key, "adopt.A.1");
  ck_assert_int_eq(act.op, BAL_ZONE_CREATE);
  ck_assert_int_eq(bal_zone_written(c, 0, -EEXIST), 0);
  ck_assert_uint_eq(bal_zone_nplanned(c), 1);
  ck_assert_int_eq(bal_zone_plan(c, w.c, w.zone_of, &w.p), 0);
  ck_assert_ptr_nonnull(bal_zone_cluster(c));
  ck_assert_int_ge(bal_cluster_find_node(bal_zone_cluster(c), "c1"), 0);
  ck_assert_int_lt(bal_cluster_find_node(bal_zone_cluster(c), "a1"), 0);
  finish(&w, &s, (bal_zone_t *[]){c}, 1);
}
END_TEST

/* A grant is followed pass after pass while its unit is not there (the
 * plan was held, or the move failed), not while a move of it may be under
 * way (cooling down); given up silent_intervals after it was first
 * followed. */
START_TEST(grant_followed_until_arrival) {
  struct world w;
  two_requesters(&w);
  struct store s = {0};
  bal_zone_params_t zp = zparams(60);
  bal_zone_t *b = bal_zone_new("B", &zp), *c = bal_zone_new("C", &zp);
  pass(b, &s, &w, 0);
  pass(c, &s, &w, 0);
  ck_assert_ptr_nonnull(store_get(&s, "req.C.1"));
  pass(b, &s, &w, 30);
  ck_assert_str_eq(store_get(&s, "grant.req.C.1"), "ok by=B t=30 nodes=b1");
  /* Followed at 60; held: planned again at 90. */
  pass(c, &s, &w, 60);
  ck_assert(cross_to(c, "c-small", "b1"));
  pass(c, &s, &w, 90);
  ck_assert(cross_to(c, "c-small", "b1"));
  ck_assert_ptr_nonnull(store_get(&s, "req.C.1"));
  /* Moved, Pacemaker not done yet (cooling down): not planned twice. */
  int cs = bal_cluster_find_service(w.c, "c-small");
  ck_assert_int_eq(bal_service_set_flags(w.c, cs, BAL_SVC_COOLDOWN, NULL), 0);
  pass(c, &s, &w, 120);
  ck_assert_uint_eq(bal_zone_ncross(c), 0);
  ck_assert_ptr_nonnull(store_get(&s, "grant.req.C.1"));
  /* B stays live: C adopting B would plan B's node itself. */
  pass(b, &s, &w, 150);
  /* Never there: given up two intervals after 60; not asked again of B
   * in the same pass (the request is gone, its unit may be asked later). */
  pass(c, &s, &w, 179);
  ck_assert_ptr_nonnull(store_get(&s, "req.C.1"));
  pass(c, &s, &w, 180);
  ck_assert_uint_eq(bal_zone_ncross(c), 0);
  ck_assert_ptr_null(store_get(&s, "req.C.1"));
  ck_assert_ptr_null(store_get(&s, "grant.req.C.1"));
  finish(&w, &s, (bal_zone_t *[]){b, c}, 2);
}
END_TEST

/* New parameters (a reload's interval) count from the next step on; the
 * instance keeps what it knew (A's last post). */
START_TEST(new_interval_reaches_the_core) {
  struct world w;
  world_init(&w, "a1=A:10 b1=B:10", "a-1=a1:2 b-1=b1:2");
  struct store s = {0};
  bal_zone_params_t zp = zparams(600);
  bal_zone_t *a = bal_zone_new("A", &zp), *b = bal_zone_new("B", &zp);
  pass(a, &s, &w, 0);
  pass(b, &s, &w, 0);
  pass(b, &s, &w, 100);
  ck_assert_ptr_null(store_get(&s, "adopt.A.1"));
  zp.interval = 0;
  ck_assert_int_eq(bal_zone_set_params(b, &zp), -EINVAL);
  zp.interval = 30;
  ck_assert_int_eq(bal_zone_set_params(b, &zp), 0);
  pass(b, &s, &w, 160);
  ck_assert_str_eq(store_get(&s, "adopt.A.1"), "by=B since=160");
  finish(&w, &s, (bal_zone_t *[]){a, b}, 2);
}
END_TEST

/* One leader: the live instance of the lowest zone, not while it waits
 * for the end of its adoption; the next lowest once it is silent. */
START_TEST(leader_lowest_live_zone) {
  struct world w;
  world_init(&w, "a1=A:10 b1=B:10 c1=C:10", "a-1=a1:2 b-1=b1:2 c-1=c1:2");
  struct store s = {0};
  bal_zone_params_t zp = zparams(60);
  bal_zone_t *z[3] = {bal_zone_new("A", &zp), bal_zone_new("B", &zp),
                      bal_zone_new("C", &zp)};
  ck_assert(!bal_zone_leader(z[1]));
  for (int64_t t = 0; t <= 60; t += 60)
    for (int i = 0; i < 3; i++) {
      pass(z[i], &s, &w, t);
      ck_assert_int_eq(bal_zone_leader(z[i]), i == 0);
    }
  /* A silent: still the leader for B and C at 120, not at 180. */
  pass(z[1], &s, &w, 120);
  pass(z[2], &s, &w, 120);
  ck_assert(!bal_zone_leader(z[1]) && !bal_zone_leader(z[2]));
  pass(z[1], &s, &w, 180);
  pass(z[2], &s, &w, 180);
  ck_assert(bal_zone_leader(z[1]) && !bal_zone_leader(z[2]));
  ck_assert_ptr_nonnull(store_get(&s, "adopt.A.1"));
  /* A's instance returns: it waits, B ends the adoption and hands over. */
  bal_zone_free(z[0]);
  z[0] = bal_zone_new("A", &zp);
  pass(z[0], &s, &w, 240);
  ck_assert(!bal_zone_leader(z[0]));
  pass(z[1], &s, &w, 240);
  ck_assert(!bal_zone_leader(z[1]));
  pass(z[0], &s, &w, 300);
  pass(z[2], &s, &w, 300);
  ck_assert(bal_zone_leader(z[0]) && !bal_zone_leader(z[2]));
  finish(&w, &s, z, 3);
}
END_TEST

START_TEST(bad_names_and_records) {
  errno = 0;
  ck_assert_ptr_null(bal_zone_new("a.b", NULL));
  ck_assert_int_eq(errno, EINVAL);
  ck_assert_ptr_null(bal_zone_new("", NULL));
  ck_assert_ptr_null(bal_zone_new("a234567890123456789012345678901234", NULL));
  bal_zone_t *z = bal_zone_new("A", NULL);
  bal_record_t rec[] = {{"post.B", "pass=x"},
                        {"post.C", "pass=1 t=0 "
                                   "spare=1/-/- "
                                   "max=1/-/-"}};
  const char *bad = NULL;
  ck_assert_int_eq(bal_zone_begin(z, rec, 2, NULL, 0, 0, &bad), -EINVAL);
  ck_assert_str_eq(bad, "post.B");
  bal_zone_action_t a;
  ck_assert_int_eq(bal_zone_action(z, 0, &a), -ERANGE);
  ck_assert_int_eq(bal_zone_written(z, 3, 0), -ERANGE);
  bal_zone_free(z);
  bal_zone_free(NULL);
}
END_TEST

/* The cross-zone cost gates requests: 34 units of 0.25 cores keep a1 at
 * 85%; moving one relieves 2.5% of a node, not worth 5 local moves of
 * move cost 0.01 (0.05), worth 1 (0.01): then the two that bring it under
 * are asked for. And a unit a node of its own zone could take is left to
 * the local planner, even when it did not move it. */
START_TEST(cross_cost_gates_requests) {
  char svcs[1024] = "";
  for (int i = 0; i < 34; i++)
    snprintf(svcs + strlen(svcs), sizeof(svcs) - strlen(svcs), "u%02d=a1:0.25 ",
             i);
  struct world w;
  world_init(&w, "a1=A:10 b1=B:10", svcs);
  struct store s = {0};
  bal_zone_params_t zp;
  bal_zone_params_init(&zp);
  bal_zone_t *b = bal_zone_new("B", &zp), *a = bal_zone_new("A", &zp);
  pass(b, &s, &w, 0);
  pass(a, &s, &w, 0);
  ck_assert_ptr_nonnull(strstr(store_get(&s, "post.A"), "surplus="));
  ck_assert_ptr_null(strstr(store_get(&s, "post.A"), "@"));
  ck_assert_ptr_null(store_get(&s, "req.A.1"));
  bal_zone_free(a);
  zp.cross_cost = 1;
  a = bal_zone_new("A", &zp);
  pass(a, &s, &w, 60);
  const char *q = store_get(&s, "req.A.1");
  ck_assert_ptr_nonnull(q);
  ck_assert_ptr_nonnull(strstr(q, "to=B "));
  ck_assert_ptr_nonnull(strstr(q, "@0.25/0/0,u"));
  ck_assert_ptr_null(strstr(strstr(q, ",") + 1, ","));
  finish(&w, &s, (bal_zone_t *[]){a, b}, 2);

  world_init(&w, "a1=A:10 a2=A:10 b1=B:10", "x=a1:3 y=a1:6 z=a2:4");
  w.p.move_cost = 1e9; /* the local planner moves nothing */
  b = bal_zone_new("B", NULL);
  a = bal_zone_new("A", NULL);
  pass(b, &s, &w, 0);
  pass(a, &s, &w, 0);
  ck_assert_ptr_null(store_get(&s, "req.A.1"));
  ck_assert_uint_eq(bal_plan_nmoves(bal_zone_local(a)), 0);
  finish(&w, &s, (bal_zone_t *[]){a, b}, 2);
}
END_TEST

/* Service names may hold '@' (the Bitbrains traces' do): the last '@' of
 * a unit starts its demand. */
START_TEST(names_with_at_sign) {
  struct world w;
  world_init(&w, "a1=A:10 b1=B:10", "x@1=a1:3 y@2=a1:6");
  struct store s = {0};
  bal_zone_t *a = bal_zone_new("A", NULL), *b = bal_zone_new("B", NULL);
  pass(b, &s, &w, 0);
  pass(a, &s, &w, 0);
  ck_assert_str_eq(store_get(&s, "req.A.1"), "to=B pass=1 t=0 units=x@1@3/0/0");
  pass(b, &s, &w, 60);
  ck_assert_str_eq(store_get(&s, "grant.req.A.1"), "ok by=B t=60 nodes=b1");
  pass(a, &s, &w, 60);
  ck_assert(cross_to(a, "x@1", "b1"));
  finish(&w, &s, (bal_zone_t *[]){a, b}, 2);
}
END_TEST

/* An adopted zone is planned as its own: with its own move budget. */
START_TEST(adopted_zone_keeps_its_budget) {
  struct world w;
  world_init(&w, "a1=A:10 a2=A:10 b1=B:10 b2=B:10",
             "a-1=a1:3 a-2=a1:6 b-1=b1:3 b-2=b1:6");
  w.p.max_moves = 1;
  struct store s = {0};
  bal_zone_t *b = bal_zone_new("B", NULL);
  pass(b, &s, &w, 0);
  ck_assert_uint_eq(bal_plan_nmoves(bal_zone_local(b)), 1);
  pass(b, &s, &w, 120);
  ck_assert_uint_eq(bal_zone_nplanned(b), 2);
  ck_assert_uint_eq(bal_plan_nmoves(bal_zone_local(b)), 2);
  finish(&w, &s, (bal_zone_t *[]){b}, 1);
}
END_TEST

/* Every move of local plan lp stays in its zone (node names start with
 * their zone's letter, lower case). */
static void moves_stay_in_zone(const bal_plan_t *lp) {
  for (size_t i = 0; lp && i < bal_plan_nmoves(lp); i++) {
    bal_move_t m;
    bal_plan_move(lp, i, &m);
    ck_assert_int_eq(m.from[0], m.to[0]);
  }
}

/* An adopted zone is planned apart from the adopter's own (the adoption
 * changes who plans, not how): B adopts A; a1 at 90% sheds onto a2 while
 * a2 has room, though B's empty nodes have more; when a2 is full too, the
 * unit goes to B's nodes as a cross-zone move, as a grant from B would
 * have brought it. */
START_TEST(adopted_zone_planned_apart) {
  struct world w;
  world_init(&w, "a1=A:10 a2=A:10 b1=B:10 b2=B:10",
             "a-1=a1:3 a-2=a1:6 a-3=a2:4");
  struct store s = {0};
  bal_zone_t *b = bal_zone_new("B", NULL);
  pass(b, &s, &w, 0);
  pass(b, &s, &w, 120);
  ck_assert_uint_eq(bal_zone_nplanned(b), 2);
  ck_assert_uint_ge(bal_plan_nmoves(bal_zone_local(b)), 1);
  moves_stay_in_zone(bal_zone_local(b));
  ck_assert_uint_eq(bal_zone_ncross(b), 0);
  finish(&w, &s, (bal_zone_t *[]){b}, 1);

  world_init(&w, "a1=A:10 a2=A:10 b1=B:10 b2=B:10",
             "a-1=a1:3 a-2=a1:6 a-3=a2:7");
  s = (struct store){0};
  b = bal_zone_new("B", NULL);
  pass(b, &s, &w, 0);
  pass(b, &s, &w, 120);
  ck_assert_uint_eq(bal_zone_nplanned(b), 2);
  moves_stay_in_zone(bal_zone_local(b));
  ck_assert_uint_eq(bal_zone_ncross(b), 1);
  ck_assert(cross_to(b, "a-1", "b1"));
  bal_zone_stats_t st;
  bal_zone_stats(b, &st);
  ck_assert_uint_eq(st.cross, 1);
  ck_assert_uint_eq(st.surplus, 0);
  ck_assert_ptr_null(store_get(&s, "req.B.1"));
  finish(&w, &s, (bal_zone_t *[]){b}, 1);
}
END_TEST

/* A stopped service is zone A's surplus when A cannot place it, unless it
 * or a service colocated with it is fixed (excluded, pinned): the local
 * planner leaves it alone, and so does the trade. */
START_TEST(stopped_fixed_is_no_surplus) {
  struct world w;
  world_init(&w, "a1=A:10 b1=B:10", "a-1=a1:3");
  double d8[BAL_NDIM] = {8, 0, 0}, d2[BAL_NDIM] = {2, 0, 0};
  int loose = bal_cluster_add_service(w.c, "loose", -1, d8);
  int fixed = bal_cluster_add_service(w.c, "fixed", -1, d2);
  ck_assert_int_ge(loose, 0);
  ck_assert_int_ge(fixed, 0);
  ck_assert_int_eq(bal_service_set_flags(w.c, fixed, BAL_SVC_FIXED, "excluded"),
                   0);
  struct store s = {0};
  bal_zone_t *a = bal_zone_new("A", NULL);
  pass(a, &s, &w, 0);
  const char *post = store_get(&s, "post.A");
  ck_assert_ptr_nonnull(post);
  ck_assert_ptr_nonnull(strstr(post, "loose@8/"));
  ck_assert_ptr_null(strstr(post, "fixed@"));
  finish(&w, &s, (bal_zone_t *[]){a}, 1);
  /* The same when the fixed one is a member of the stopped unit. */
  world_init(&w, "a1=A:10 b1=B:10", "a-1=a1:3");
  loose = bal_cluster_add_service(w.c, "loose", -1, d8);
  fixed = bal_cluster_add_service(w.c, "fixed", -1, d2);
  ck_assert_int_eq(bal_service_colocate(w.c, fixed, loose), 0);
  ck_assert_int_eq(bal_service_set_flags(w.c, fixed, BAL_SVC_FIXED, "excluded"),
                   0);
  s = (struct store){0};
  a = bal_zone_new("A", NULL);
  pass(a, &s, &w, 0);
  post = store_get(&s, "post.A");
  ck_assert_ptr_nonnull(post);
  ck_assert_ptr_null(strstr(post, "loose"));
  ck_assert_ptr_null(strstr(post, "fixed"));
  finish(&w, &s, (bal_zone_t *[]){a}, 1);
}
END_TEST

/* B adopts A. A's surplus may go onto B's nodes (a grant from B would have
 * taken it), but B's own surplus does not go onto A's nodes: B holds them
 * for a zone whose instance is down, and asks C like any zone would. */
START_TEST(adopter_keeps_its_surplus_off_the_adopted_zone) {
  struct world w;
  world_init(&w, "a1=A:10 b1=B:10 c1=C:10", "b-small=b1:3 b-big=b1:6 c-x=c1:2");
  struct store s = {0};
  bal_zone_t *b = bal_zone_new("B", NULL), *c = bal_zone_new("C", NULL);
  pass(b, &s, &w, 0);
  pass(c, &s, &w, 0);
  pass(b, &s, &w, 120);
  ck_assert_str_eq(store_get(&s, "adopt.A.1"), "by=B since=120");
  ck_assert_uint_eq(bal_zone_nplanned(b), 2);
  ck_assert_uint_eq(bal_zone_ncross(b), 0);
  ck_assert_ptr_nonnull(strstr(store_get(&s, "req.B.1"), "to=C "));
  ck_assert_ptr_nonnull(strstr(store_get(&s, "req.B.1"), "units=b-small@3/"));
  finish(&w, &s, (bal_zone_t *[]){b, c}, 2);
}
END_TEST

/* A's instance asked C for room and C granted it, then A's instance died
 * before following the grant: B adopts zone A and follows the grant while
 * C still holds the room (the reservation outlasts the silence), then
 * deletes the request and grant once the unit arrived. When A's instance
 * is back, B lets A's trades go. */
START_TEST(adopter_follows_the_silent_zones_grant) {
  struct world w;
  const char *nodes = "a1=A:10 b1=B:10 c1=C:10";
  world_init(&w, nodes, "a-small=a1:3 a-big=a1:6 b-x=b1:7.5 c-x=c1:4");
  struct store s = {0};
  bal_zone_t *a = bal_zone_new("A", NULL), *b = bal_zone_new("B", NULL),
             *c = bal_zone_new("C", NULL);
  for (int64_t t = 0; t <= 60; t += 60) {
    pass(a, &s, &w, t);
    pass(b, &s, &w, t);
    pass(c, &s, &w, t);
  }
  ck_assert_str_eq(store_get(&s, "req.A.1"),
                   "to=C pass=2 t=60 units=a-small@3/0/0");
  ck_assert_str_eq(store_get(&s, "grant.req.A.1"), "ok by=C t=60 nodes=c1");
  /* A's instance dies; B adopts zone A at its second silent interval. */
  bal_zone_free(a);
  pass(b, &s, &w, 120);
  ck_assert_uint_eq(bal_zone_ncross(b), 0);
  ck_assert_ptr_null(store_get(&s, "adopt.A.1"));
  pass(c, &s, &w, 120);
  pass(b, &s, &w, 180);
  ck_assert_str_eq(store_get(&s, "adopt.A.1"), "by=B since=180");
  ck_assert(cross_to(b, "a-small", "c1"));
  bal_move_t m;
  ck_assert_int_eq(bal_zone_cross(b, 0, &m), 0);
  ck_assert_str_eq(m.why, "zone C granted room on c1 (req.A.1)");
  ck_assert_ptr_null(store_get(&s, "req.B.1"));
  /* C still counts the room it granted. */
  pass(c, &s, &w, 180);
  ck_assert_ptr_nonnull(strstr(store_get(&s, "post.C"), "spare=1/"));
  /* The unit arrived: B deletes A's request and C's grant. */
  bal_cluster_free(w.c);
  world_init(&w, nodes, "a-small=c1:3 a-big=a1:6 b-x=b1:7.5 c-x=c1:4");
  pass(b, &s, &w, 240);
  ck_assert_uint_eq(bal_zone_ncross(b), 0);
  ck_assert_ptr_null(store_get(&s, "req.A.1"));
  ck_assert_ptr_null(store_get(&s, "grant.req.A.1"));
  finish(&w, &s, (bal_zone_t *[]){b, c}, 2);

  /* Once A's instance is back, B no longer follows A's grants. */
  world_init(&w, nodes, "a-small=a1:3 a-big=a1:6 b-x=b1:7.5 c-x=c1:4");
  s = (struct store){0};
  a = bal_zone_new("A", NULL);
  b = bal_zone_new("B", NULL);
  c = bal_zone_new("C", NULL);
  for (int64_t t = 0; t <= 60; t += 60) {
    pass(a, &s, &w, t);
    pass(b, &s, &w, t);
    pass(c, &s, &w, t);
  }
  bal_zone_free(a);
  pass(b, &s, &w, 180);
  ck_assert(cross_to(b, "a-small", "c1"));
  a = bal_zone_new("A", NULL);
  pass(a, &s, &w, 200);
  pass(b, &s, &w, 220);
  ck_assert_str_eq(store_get(&s, "adopt.A.1"), "by=B since=180 ended=220");
  ck_assert_uint_eq(bal_zone_ncross(b), 0);
  finish(&w, &s, (bal_zone_t *[]){a, b, c}, 3);
}
END_TEST

int main(void) {
  const TTest *const tests[] = {
      stopped_fixed_is_no_surplus,
      grant_order_first_recorded_wins,
      refused_when_larger_than_spare,
      create_exists_follows_the_record,
      adoption_after_two_silent_intervals_and_return,
      adoption_claim_lost,
      leader_lowest_live_zone,
      grant_followed_until_arrival,
      new_interval_reaches_the_core,
      bad_names_and_records,
      cross_cost_gates_requests,
      names_with_at_sign,
      adopted_zone_keeps_its_budget,
      local_plan_rebased_on_the_cluster,
      cross_move_rebased_on_the_cluster,
      adopted_zone_planned_apart,
      adopter_follows_the_silent_zones_grant,
      adopter_keeps_its_surplus_off_the_adopted_zone,
  };
  Suite *s = suite_create("zone");
  TCase *tc = tcase_create("core");
  for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
    tcase_add_test(tc, tests[i]);
  suite_add_tcase(s, tc);
  return check_run(s);
}
