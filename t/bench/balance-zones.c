/* balance-zones.c: patmon in zones (balance --zones K).
 *
 * One instance of the zone core (balancer/zone.h) per zone, run in zone
 * order after each step over one record array with the CIB's semantics:
 * creation order, SET, CREATE if absent (else -EEXIST), DELETE. Each
 * instance sees the records as the instances before it in the step left
 * them. Its clock is the step's end (300 s a step) and its interval one
 * step. The moves of all instances are made after the last one planned:
 * they ran at the same time on the same measurements. An instance that is
 * down (cf->dead_zone, steps [dead_from, dead_to)) is freed and started
 * afresh when it returns, as a restarted daemon would be. */
#include "config.h"

#include "balance.h"
#include "pm_vec.h"
#include "zone.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct zones {
  int k;
  bal_zone_t **inst;
  char (*name)[16];
  const char **zone_names;
  const char **node_zone;
  bal_zone_params_t zp;
  PM_VEC(bal_record_t) rec; /* the records, in creation order (owned) */
};

struct zmove {
  size_t svc;
  int to;
  bool failover;
};
typedef PM_VEC(struct zmove) zmoves_t;

static int store_find(const struct zones *zs, const char *key) {
  for (size_t i = 0; i < zs->rec.n; i++)
    if (strcmp(zs->rec.v[i].key, key) == 0)
      return (int)i;
  return -1;
}

static void rec_free(bal_record_t *r) {
  free((char *)r->key);
  free((char *)r->value);
}

/* Writes one action: 0, -EEXIST (CREATE of an existing key), -ENOMEM. */
static int store_write(struct zones *zs, const bal_zone_action_t *a) {
  int i = store_find(zs, a->key);
  if (a->op == BAL_ZONE_DELETE) {
    if (i >= 0) {
      rec_free(&zs->rec.v[i]);
      memmove(&zs->rec.v[i], &zs->rec.v[i + 1],
              (zs->rec.n - (size_t)i - 1) * sizeof(bal_record_t));
      zs->rec.n--;
    }
    return 0;
  }
  if (i >= 0 && a->op == BAL_ZONE_CREATE)
    return -EEXIST;
  char *v = strdup(a->value);
  bal_record_t *r = !v ? NULL : i >= 0 ? &zs->rec.v[i] : pm_vec_push(&zs->rec);
  if (!r || (i < 0 && !(r->key = strdup(a->key)))) {
    free(v);
    if (r)
      zs->rec.n--;
    return -ENOMEM;
  }
  free((char *)r->value);
  r->value = v;
  return 0;
}

void zones_free(struct sim *s) {
  struct zones *zs = s->zs;
  if (!zs)
    return;
  for (int i = 0; i < zs->k; i++)
    bal_zone_free(zs->inst[i]);
  for (size_t i = 0; i < zs->rec.n; i++)
    rec_free(&zs->rec.v[i]);
  pm_vec_free(&zs->rec);
  free(zs->inst);
  free(zs->name);
  free(zs->zone_names);
  free(zs->node_zone);
  free(zs);
  s->zs = NULL;
}

static int zones_init(struct sim *s) {
  const struct sim_cfg *cf = s->cf;
  struct zones *zs = calloc(1, sizeof(*zs));
  if (!zs)
    return -ENOMEM;
  s->zs = zs;
  zs->k = cf->zones;
  zs->inst = calloc((size_t)zs->k, sizeof(*zs->inst));
  zs->name = calloc((size_t)zs->k, sizeof(*zs->name));
  zs->zone_names = calloc((size_t)zs->k, sizeof(char *));
  zs->node_zone = calloc((size_t)s->nn, sizeof(char *));
  if (!zs->inst || !zs->name || !zs->zone_names || !zs->node_zone)
    return -ENOMEM;
  bal_zone_params_init(&zs->zp);
  zs->zp.interval = STEP_MIN * 60;
  zs->zp.cross_cost = cf->cross_cost;
  for (int i = 0; i < zs->k; i++) {
    snprintf(zs->name[i], sizeof(zs->name[i]), "z%02d", i);
    zs->zone_names[i] = zs->name[i];
  }
  for (int n = 0; n < s->nn; n++)
    zs->node_zone[n] = zs->name[zone_of_node(cf, n)];
  return 0;
}

/* Writes actions from..end of instance z, noting an adoption of the dead
 * zone. */
static int write_actions(struct sim *s, bal_zone_t *z, size_t from, int t) {
  struct zones *zs = s->zs;
  for (size_t i = from; i < bal_zone_nactions(z); i++) {
    bal_zone_action_t a;
    bal_zone_action(z, i, &a);
    int rc = store_write(zs, &a);
    if (rc == -ENOMEM)
      return rc;
    bal_zone_written(z, i, rc);
    char dead[32];
    if (s->cf->dead_zone >= 0 && rc == 0 && a.op == BAL_ZONE_CREATE &&
        s->res->adopted_at < 0) {
      snprintf(dead, sizeof(dead), "adopt.%s.",
               zs->name[s->cf->dead_zone % zs->k]);
      if (strncmp(a.key, dead, strlen(dead)) == 0)
        s->res->adopted_at = t;
    }
  }
  return 0;
}

/* Appends move m (c's names) to the list. */
static int collect(const bal_cluster_t *c, const bal_move_t *m, zmoves_t *v) {
  for (size_t j = 0; j < m->nservices; j++) {
    int i = bal_cluster_find_service(c, m->services[j]);
    int to = bal_cluster_find_node(c, m->to);
    if (i < 0 || to < 0)
      return -EINVAL;
    struct zmove *x = pm_vec_push(v);
    if (!x)
      return -ENOMEM;
    *x = (struct zmove){(size_t)i, to, m->reason == BAL_WHY_FAILOVER};
  }
  return 0;
}

/* One pass of zone k's instance at now (step t) on cluster c: both steps,
 * its actions written, its moves appended to mv. A dead instance is freed
 * (and started afresh when it returns). */
static int zone_pass(struct sim *s, int k, int t, int64_t now,
                     const bal_cluster_t *c, const bal_params_t *p,
                     zmoves_t *mv) {
  const struct sim_cfg *cf = s->cf;
  struct zones *zs = s->zs;
  if (cf->dead_kill && k == cf->dead_zone && t >= cf->dead_from &&
      t < cf->dead_to) {
    bal_zone_free(zs->inst[k]);
    zs->inst[k] = NULL;
    return 0;
  }
  if (!zs->inst[k] && !(zs->inst[k] = bal_zone_new(zs->name[k], &zs->zp)))
    return -errno;
  bal_zone_t *z = zs->inst[k];
  uint64_t t0 = pm_now_ns();
  const char *bad = NULL;
  int r = bal_zone_begin(z, zs->rec.v, zs->rec.n, zs->zone_names, (size_t)zs->k,
                         now, &bad);
  if (r < 0) {
    fprintf(stderr, "zone %s: record %s: %s\n", zs->name[k], bad ? bad : "?",
            strerror(-r));
    return r;
  }
  uint64_t t1 = pm_now_ns();
  r = write_actions(s, z, 0, t);
  size_t mark = bal_zone_nactions(z);
  uint64_t t2 = pm_now_ns();
  if (r == 0)
    r = bal_zone_plan(z, c, zs->node_zone, p);
  double dt = (double)(t1 - t0 + pm_now_ns() - t2) / 1e9;
  s->res->plan_s += dt;
  s->res->plan_max_s = fmax(s->res->plan_max_s, dt);
  s->res->plan_passes++;
  if (r == 0)
    r = write_actions(s, z, mark, t);
  const bal_plan_t *lp = bal_zone_local(z);
  for (size_t i = 0; r == 0 && lp && i < bal_plan_nmoves(lp); i++) {
    bal_move_t m;
    bal_plan_move(lp, i, &m);
    r = collect(c, &m, mv);
  }
  for (size_t i = 0; r == 0 && i < bal_zone_ncross(z); i++) {
    bal_move_t m;
    bal_zone_cross(z, i, &m);
    r = collect(c, &m, mv);
  }
  return r;
}

/* Zone k's counts of this step into the results (and, -v -v, stderr). */
static void zone_count(struct sim *s, int k, int t) {
  bal_zone_t *z = s->zs->inst[k];
  if (!z)
    return;
  bal_zone_stats_t st;
  bal_zone_stats(z, &st);
  s->res->granted += st.granted;
  s->res->refused += st.refused;
  if (s->cf->verbose > 1 && (st.surplus || st.requested || st.cross))
    fprintf(stderr,
            "  t=%d %s: surplus %u requested %u granted %u refused %u "
            "cross %u\n",
            t, s->zs->name[k], st.surplus, st.requested, st.granted, st.refused,
            st.cross);
}

int zones_step(struct sim *s, int t) {
  int r = s->zs ? 0 : zones_init(s);
  bal_cluster_t *c = NULL;
  if (r == 0)
    r = sim_cluster(s, t, false, &c);
  bal_params_t p;
  sim_params(s->cf, &p);
  int64_t now = (int64_t)(t + 1) * STEP_MIN * 60;
  zmoves_t mv = {0};
  for (int k = 0; r == 0 && k < s->zs->k; k++) {
    r = zone_pass(s, k, t, now, c, &p, &mv);
    if (r == 0)
      zone_count(s, k, t);
  }
  for (size_t i = 0; r == 0 && i < mv.n; i++) {
    sim_move(s, mv.v[i].svc, mv.v[i].to, t);
    if (mv.v[i].failover)
      s->moved[mv.v[i].svc] = -1;
  }
  pm_vec_free(&mv);
  bal_cluster_free(c);
  return r;
}

int traces_replicate(const struct trace_set *ts, int copies,
                     struct trace_set *ret) {
  size_t len = (size_t)(ts->hist + ts->steps), n = ts->n * (size_t)copies;
  struct trace_set x = {.n = n, .steps = ts->steps, .hist = ts->hist};
  snprintf(x.label, sizeof(x.label), "%s", ts->label);
  x.v = malloc(n * len * sizeof(double));
  x.name = calloc(n, sizeof(char *));
  x.est = ts->est ? malloc(n * (size_t)ts->steps * sizeof(*x.est)) : NULL;
  if (!x.v || !x.name || (ts->est && !x.est)) {
    traces_free(&x);
    return -ENOMEM;
  }
  for (int k = 0; k < copies; k++)
    for (size_t i = 0; i < ts->n; i++) {
      size_t j = (size_t)k * ts->n + i;
      memcpy(&x.v[j * len], &ts->v[i * len], len * sizeof(double));
      if (x.est)
        memcpy(&x.est[j * (size_t)ts->steps], &ts->est[i * (size_t)ts->steps],
               (size_t)ts->steps * sizeof(*x.est));
      char name[160];
      snprintf(name, sizeof(name), "%s~%d", ts->name[i], k);
      if (!(x.name[j] = strdup(name))) {
        traces_free(&x);
        return -ENOMEM;
      }
    }
  *ret = x;
  return 0;
}
