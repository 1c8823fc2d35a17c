/* balance-sim.c: one day of a cluster under one balancing policy.
 *
 * Step t: every node carries the demand of the services it runs during t,
 * plus, for each service moved at the decision before t, move_cost times
 * its demand on the node it left (a live migration costs its source for a
 * step). Stopped services' demand is unserved. After step t each policy
 * sees the demands of steps <= t (never later ones, except the oracles) and
 * decides where services run during t + 1.
 *
 * A failure kills the policy's busiest node after step fail_at. Pacemaker
 * restarts its services first, by its own placement strategy (default:
 * the node with the fewest resources; the static policies and patmon with
 * publish_utilization declare utilization, so Pacemaker's balanced
 * strategy places them by those numbers and leaves stopped what does not
 * fit); then the policy takes its decision as at any other step. */
#include "config.h"

#include "balance.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TRIGGER 0.8 /* the threshold every result counts above */

const char *const pol_name[NPOL] = {
    [P_NONE] = "no balancing",
    [P_STATIC_PEAK] = "static by peak",
    [P_STATIC_MEAN] = "static by mean*",
    [P_REACTIVE] = "reactive 80%",
    [P_TUNED] = "tuned 80/70",
    [P_TUNED_CD] = "tuned 75/60+cd",
    [P_PATMON] = "patmon",
    [P_PERFECT] = "patmon perfect*",
    [P_CLAIRVOYANT] = "clairvoyant*",
};

const bool pol_oracle[NPOL] = {
    [P_STATIC_MEAN] = true, [P_PERFECT] = true, [P_CLAIRVOYANT] = true};

/* xorshift: the same shuffle on every machine. */
static unsigned long long rng_state;
static unsigned rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (unsigned)(rng_state >> 11);
}

static int cmp_desc_by(const void *a, const void *b, void *ctx) {
  const double *key = ctx;
  double x = key[*(const size_t *)a], y = key[*(const size_t *)b];
  if (x != y)
    return x < y ? 1 : -1;
  return (*(const size_t *)a > *(const size_t *)b) -
         (*(const size_t *)a < *(const size_t *)b);
}

/* Loads by the demand of step t (what a policy sees after step t). */
static void loads_at(struct sim *s, int t) {
  for (int n = 0; n < s->nn; n++)
    s->load[n] = 0;
  for (size_t i = 0; i < s->ns; i++)
    if (s->where[i] >= 0)
      s->load[s->where[i]] += demand(s->ts, i, t);
}

void sim_move(struct sim *s, size_t i, int m, int t) {
  int from = s->where[i];
  if (from == m)
    return;
  bool cross = from >= 0 && zone_of_node(s->cf, from) != zone_of_node(s->cf, m);
  if (from >= 0 && !s->dead[from] && s->cf->move_cost > 0) {
    s->charge[i] = from;
    s->charge_left[i] = cross ? (int)lround(fmax(1, s->cf->cross_cost)) : 1;
  }
  if (cross && s->res)
    s->res->cross_moves++;
  s->where[i] = m;
  s->moved[i] = t;
  s->moves++;
}

static void place_by_count(struct sim *s, unsigned long long seed) {
  size_t *order = malloc(s->ns * sizeof(*order));
  for (size_t i = 0; i < s->ns; i++)
    order[i] = i;
  rng_state = seed * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = s->ns; i > 1; i--) {
    size_t j = rnd() % i, x = order[i - 1];
    order[i - 1] = order[j];
    order[j] = x;
  }
  for (size_t k = 0; k < s->ns; k++)
    s->where[order[k]] = (int)(k % (size_t)s->nn);
  free(order);
}

/* Pacemaker's balanced strategy on declared numbers: in decreasing order,
 * each service to the live node with the most free declared capacity, if
 * it fits there; else it stays stopped. Returns how many stayed stopped. */
static long place_declared(struct sim *s, size_t *svc, size_t n, int t) {
  double *used = calloc((size_t)s->nn, sizeof(*used));
  for (size_t i = 0; i < s->ns; i++)
    if (s->where[i] >= 0)
      used[s->where[i]] += s->decl[i];
  qsort_r(svc, n, sizeof(size_t), cmp_desc_by, s->decl);
  long stopped = 0;
  for (size_t k = 0; k < n; k++) {
    size_t i = svc[k];
    int best = -1;
    for (int m = 0; m < s->nn; m++)
      if (!s->dead[m] && (best < 0 || used[m] < used[best]))
        best = m;
    if (best >= 0 && used[best] + s->decl[i] <= s->decl_cap + 1e-9) {
      if (t >= 0)
        sim_move(s, i, best, t);
      else
        s->where[i] = best;
      used[best] += s->decl[i];
    } else {
      s->where[i] = -1;
      stopped++;
    }
  }
  free(used);
  return stopped;
}

/* Static placements: by the peak of the day before (the day's own where
 * there is no history: then an oracle), or by the day's mean (an oracle).
 * Peaks do not fit the real capacity (they never coincide): the declared
 * node capacity is overcommitted just enough for all to start. */
static void place_static(struct sim *s, bool by_mean) {
  const struct trace_set *ts = s->ts;
  s->decl = calloc(s->ns, sizeof(double));
  double sum = 0;
  for (size_t i = 0; i < s->ns; i++) {
    double v = 0, known = 0;
    for (int t = -ts->hist; t < 0 && !by_mean; t++)
      if (!isnan(demand(ts, i, t))) {
        v = fmax(v, demand(ts, i, t));
        known++;
      }
    if (by_mean) {
      for (int t = 0; t < ts->steps; t++)
        v += demand(ts, i, t) / ts->steps;
    } else if (!known) {
      for (int t = 0; t < ts->steps; t++)
        v = fmax(v, demand(ts, i, t));
    }
    s->decl[i] = v;
    sum += v;
  }
  size_t *all = malloc(s->ns * sizeof(size_t));
  for (size_t i = 0; i < s->ns; i++)
    all[i] = i;
  for (double over = fmax(1.0, sum / (s->nn * s->cf->cap));; over *= 1.01) {
    s->decl_cap = s->cf->cap * over;
    for (size_t i = 0; i < s->ns; i++)
      s->where[i] = -1;
    if (place_declared(s, all, s->ns, -1) == 0)
      break;
  }
  free(all);
}

/* ---- reactive rules ------------------------------------------------------ */

struct rule {
  double trigger, target;
  bool smallest_cover; /* else the largest that fits */
  unsigned cooldown;
};

static const struct rule rules[NPOL] = {
    [P_REACTIVE] = {0.8, 0.8, false, 0},
    [P_TUNED] = {0.8, 0.7, true, 0},
    [P_TUNED_CD] = {0.75, 0.6, true, 1}, /* cooldown: the patmon's */
};

/* The least loaded live node but n where d stays within lim. */
static int least_loaded(const struct sim *s, int n, double d, double lim) {
  int best = -1;
  for (int m = 0; m < s->nn; m++)
    if (m != n && !s->dead[m] && s->load[m] + d <= lim &&
        (best < 0 || s->load[m] < s->load[best]))
      best = m;
  return best;
}

/* Samples of step t decide. Stopped services are restarted first. */
static void reactive_step(struct sim *s, const struct rule *ru, int t) {
  const double cap = s->cf->cap, lim = ru->target * cap;
  unsigned cd = ru->cooldown ? s->cf->cooldown : 0;
  loads_at(s, t);
  for (size_t i = 0; i < s->ns; i++) {
    if (s->where[i] >= 0)
      continue;
    double d = demand(s->ts, i, t);
    int best = least_loaded(s, -1, d, cap);
    if (best >= 0) {
      sim_move(s, i, best, t);
      s->load[best] += d;
    }
  }
  for (int n = 0; n < s->nn; n++) {
    if (s->dead[n] || s->load[n] <= ru->trigger * cap)
      continue;
    while (s->load[n] > lim) {
      size_t pick = s->ns;
      int to = -1;
      double pd = -1;
      bool covered = false;
      for (size_t i = 0; i < s->ns; i++) {
        if (s->where[i] != n ||
            (cd && s->moved[i] >= 0 && t - s->moved[i] < (int)cd))
          continue;
        double d = demand(s->ts, i, t);
        bool covers = ru->smallest_cover && s->load[n] - d <= lim;
        /* Covering ones first, the smallest of them; else the largest. */
        if (covered && (!covers || d >= pd))
          continue;
        if (!covered && !covers && d <= pd)
          continue;
        int m = least_loaded(s, n, d, lim);
        if (m < 0)
          continue;
        pick = i;
        to = m;
        pd = d;
        covered = covers;
      }
      if (pick == s->ns)
        break;
      sim_move(s, pick, to, t);
      s->load[n] -= pd;
      s->load[to] += pd;
    }
  }
}

/* ---- patmon ----------------------------------------------------------------
 */

/* Plans with libbalancer on demand estimates for step t + 1: patmon's own
 * (ts->est), or (perfect) the same with only the next step's demand
 * replaced by the truth: its spread 0, the horizon levels, their spreads,
 * the weights and z as patmon has them. */
int sim_cluster(struct sim *s, int t, bool perfect, bal_cluster_t **ret) {
  const struct sim_cfg *cf = s->cf;
  bal_cluster_t *c = bal_cluster_new();
  double *sum = calloc((size_t)s->nn, sizeof(double));
  int r = c && sum ? 0 : -ENOMEM;
  for (int n = 0; r >= 0 && n < s->nn; n++) {
    char name[32];
    snprintf(name, sizeof(name), "node%04d", n);
    double cap[BAL_NDIM] = {cf->cap, NAN, NAN};
    r = bal_cluster_add_node(c, name, cap,
                             s->dead[n] ? BAL_NODE_OFFLINE : BAL_NODE_ONLINE);
  }
  for (size_t i = 0; r >= 0 && i < s->ns; i++) {
    const struct est_cell *e = est_at(s->ts, i, t);
    double v = e->value, sd = e->spread, lv = e->level, lsd = e->level_sd;
    if (perfect) {
      v = demand(s->ts, i, t + 1);
      sd = 0;
    }
    int n = s->where[i];
    if (n >= 0 && !s->dead[n])
      sum[n] += v;
    double dem[BAL_NDIM] = {v, 0, 0}, spr[BAL_NDIM] = {sd, 0, 0};
    int k = bal_cluster_add_service(c, s->ts->name[i], n, dem);
    if (k < 0) {
      r = k;
      break;
    }
    bal_service_set_spread(c, k, spr);
    if (!isnan(lv) && cf->near_weight < 1) {
      double lev[BAL_NDIM] = {lv, 0, 0}, lsp[BAL_NDIM] = {lsd, 0, 0};
      bal_service_set_level(c, k, lev, lsp);
    }
    if (s->moved[i] >= 0 && t - s->moved[i] < (int)cf->cooldown)
      bal_service_set_flags(c, k, BAL_SVC_COOLDOWN, NULL);
  }
  for (int n = 0; r >= 0 && n < s->nn; n++) {
    double l[BAL_NDIM] = {sum[n], 0, 0};
    bal_node_set_load(c, n, l);
  }
  free(sum);
  if (r < 0) {
    bal_cluster_free(c);
    return r;
  }
  *ret = c;
  return 0;
}

void sim_params(const struct sim_cfg *cf, bal_params_t *p) {
  bal_params_init(p);
  p->threshold = TRIGGER;
  p->max_moves = cf->budget;
  p->z = cf->z;
  p->move_cost = cf->plan_cost;
  p->near_weight = cf->near_weight;
  p->spread_scale = cf->spread_scale;
  p->move_charge = cf->move_cost;
}

static int patmon_step(struct sim *s, int t, bool perfect) {
  const struct sim_cfg *cf = s->cf;
  bal_cluster_t *c = NULL;
  int r = sim_cluster(s, t, perfect, &c);
  bal_plan_t *plan = NULL;
  if (r >= 0) {
    bal_params_t p;
    sim_params(cf, &p);
    int64_t t0 = pm_now_ns();
    r = bal_plan_compute(c, &p, &plan);
    double dt = (double)(pm_now_ns() - t0) / 1e9;
    s->res->plan_s += dt;
    s->res->plan_max_s = fmax(s->res->plan_max_s, dt);
    s->res->plan_passes++;
  }
  for (size_t k = 0; r >= 0 && k < bal_plan_nmoves(plan); k++) {
    bal_move_t m;
    bal_plan_move(plan, k, &m);
    for (size_t j = 0; j < m.nservices; j++) {
      int i = bal_cluster_find_service(c, m.services[j]);
      sim_move(s, (size_t)i, bal_cluster_find_node(c, m.to), t);
      if (m.reason == BAL_WHY_FAILOVER) /* no cooldown, as the daemon */
        s->moved[i] = -1;
    }
  }
  if (plan && cf->verbose > 1)
    for (size_t k = 0; k < bal_plan_nnotes(plan); k++)
      fprintf(stderr, "  t=%d note: %s\n", t, bal_plan_note(plan, k));
  /* What the plan could not place stays stopped. */
  for (size_t i = 0; i < s->ns; i++)
    if (s->where[i] >= 0 && s->dead[s->where[i]])
      s->where[i] = -1;
  /* publish_utilization: Pacemaker sees the planning demands, never under
   * the last sample (bal_lm_declared). */
  if (s->decl && !perfect)
    for (size_t i = 0; i < s->ns; i++)
      s->decl[i] = fmax(est_at(s->ts, i, t)->value, demand(s->ts, i, t));
  bal_plan_free(plan);
  bal_cluster_free(c);
  return r < 0 ? r : 0;
}

/* ---- the clairvoyant bound ---------------------------------------------- */

/* Every service re-placed for step t + 1 on its true demand by first-fit
 * decreasing into the live nodes at the threshold; what does not fit goes
 * first-fit at capacity, then to the least loaded node. Moves are free. */
static void clairvoyant_step(struct sim *s, int t) {
  size_t *v = malloc(s->ns * sizeof(size_t));
  double *key = malloc(s->ns * sizeof(double));
  for (size_t i = 0; i < s->ns; i++) {
    v[i] = i;
    key[i] = demand(s->ts, i, t + 1);
  }
  qsort_r(v, s->ns, sizeof(size_t), cmp_desc_by, key);
  for (int n = 0; n < s->nn; n++)
    s->load[n] = 0;
  for (size_t k = 0; k < s->ns; k++) {
    size_t i = v[k];
    int put = -1;
    for (int pass = 0; pass < 2 && put < 0; pass++) {
      double lim = (pass ? 1.0 : TRIGGER) * s->cf->cap;
      for (int m = 0; m < s->nn && put < 0; m++)
        if (!s->dead[m] && s->load[m] + key[i] <= lim * (1 - 1e-9))
          put = m;
    }
    if (put < 0)
      put = least_loaded(s, -1, key[i], INFINITY);
    if (s->where[i] != put) {
      s->where[i] = put;
      s->moves++;
    }
    s->load[put] += key[i];
  }
  free(v);
  free(key);
}

/* ---- failures --------------------------------------------------------------
 */

/* Whether first-fit decreasing packs the services v[0..n-1] (sorted here by
 * key, their demand) into the live nodes' capacity above what they use. */
static bool ffd_packs(const struct sim *s, size_t *v, size_t n,
                      const double *key, double *used) {
  qsort_r(v, n, sizeof(size_t), cmp_desc_by, (void *)key);
  for (size_t k = 0; k < n; k++) {
    bool put = false;
    for (int m = 0; !put && m < s->nn; m++)
      if (!s->dead[m] && used[m] + key[v[k]] <= s->cf->cap) {
        used[m] += key[v[k]];
        put = true;
      }
    if (!put)
      return false;
  }
  return true;
}

/* Whether first-fit decreasing packs, by true demand at step t, every
 * service into the live nodes (a packing exists when it succeeds), or with
 * orphans only the dead node's services (svc[0..n-1]) into the room the
 * survivors have, nothing else moved: the best a failover that moves no
 * running service can do. 1, 0 or -ENOMEM. */
static int packs(const struct sim *s, int t, bool orphans, const size_t *svc,
                 size_t n) {
  size_t *v = malloc((s->ns + 1) * sizeof(size_t));
  double *key = calloc(s->ns + 1, sizeof(double));
  double *used = calloc((size_t)s->nn, sizeof(double));
  int ok = v && key && used ? 0 : -ENOMEM;
  for (size_t i = 0; ok == 0 && i < s->ns; i++) {
    key[i] = demand(s->ts, i, t);
    if (!orphans)
      v[i] = i;
    else if (s->where[i] >= 0 && !s->dead[s->where[i]])
      used[s->where[i]] += key[i];
  }
  for (size_t k = 0; ok == 0 && orphans && k < n; k++)
    v[k] = svc[k];
  if (ok == 0)
    ok = ffd_packs(s, v, orphans ? n : s->ns, key, used);
  free(v);
  free(key);
  free(used);
  return ok;
}

/* Pacemaker's default strategy: each to the node with the fewest
 * resources. */
static void place_default(struct sim *s, const size_t *svc, size_t n, int t) {
  int *count = calloc((size_t)s->nn, sizeof(int));
  for (size_t i = 0; i < s->ns; i++)
    if (s->where[i] >= 0 && !s->dead[s->where[i]])
      count[s->where[i]]++;
  for (size_t k = 0; k < n; k++) {
    int best = -1;
    for (int m = 0; m < s->nn; m++)
      if (!s->dead[m] && (best < 0 || count[m] < count[best]))
        best = m;
    sim_move(s, svc[k], best, t);
    count[best]++;
  }
  free(count);
}

static int decide(struct sim *s, int t) {
  switch (s->pol) {
  case P_REACTIVE:
  case P_TUNED:
  case P_TUNED_CD:
    reactive_step(s, &rules[s->pol], t);
    return 0;
  case P_PATMON:
  case P_PERFECT:
    return patmon_step(s, t, s->pol == P_PERFECT);
  case P_CLAIRVOYANT:
    clairvoyant_step(s, t);
    return 0;
  case P_ZONES:
    return zones_step(s, t);
  default:
    return 0;
  }
}

static int fail(struct sim *s, int t, struct result *res) {
  loads_at(s, t);
  int dead = 0;
  for (int n = 1; n < s->nn; n++)
    if (s->load[n] > s->load[dead])
      dead = n;
  res->dead = dead;
  s->dead[dead] = true;
  res->packing = packs(s, t + 1, false, NULL, 0);
  size_t *homeless = malloc(s->ns * sizeof(size_t));
  size_t nh = 0;
  s->orphan = calloc(s->ns, sizeof(bool));
  if (!homeless || !s->orphan) {
    free(homeless);
    return -ENOMEM;
  }
  for (size_t i = 0; i < s->ns; i++)
    if (s->where[i] == dead) {
      homeless[nh++] = i;
      s->orphan[i] = true;
    }
  res->orphans_fit = packs(s, t + 1, true, homeless, nh);
  if (res->orphans_fit < 0) {
    free(homeless);
    return res->orphans_fit;
  }
  long before = s->moves;
  if (s->pol != P_CLAIRVOYANT) {
    bool declared = s->pol == P_STATIC_PEAK || s->pol == P_STATIC_MEAN ||
                    (s->pol == P_PATMON && s->cf->publish);
    if (declared) {
      if (s->pol == P_PATMON)
        s->decl_cap = s->cf->cap;
      res->pcmk_stopped = place_declared(s, homeless, nh, t);
    } else {
      place_default(s, homeless, nh, t);
    }
  }
  /* Survivors above capacity under Pacemaker's own placement. */
  loads_at(s, t + 1);
  for (int n = 0; n < s->nn; n++)
    res->pcmk_over += !s->dead[n] && s->load[n] > s->cf->cap;
  int r = decide(s, t);
  res->fail_moves = s->moves - before;
  for (size_t i = 0; i < s->ns; i++)
    res->stopped += s->where[i] < 0;
  free(homeless);
  return r;
}

int sim_run(const struct sim_cfg *cf, const struct trace_set *ts,
            enum policy pol, unsigned long long seed, int fail_at,
            struct result *res) {
  struct sim s = {.cf = cf, .ts = ts, .pol = pol, .nn = cf->nodes, .ns = ts->n};
  s.where = calloc(s.ns, sizeof(int));
  s.moved = calloc(s.ns, sizeof(int));
  s.charge = calloc(s.ns, sizeof(int));
  s.charge_left = calloc(s.ns, sizeof(int));
  s.res = res;
  s.dead = calloc((size_t)s.nn, sizeof(bool));
  s.load = calloc((size_t)s.nn, sizeof(double));
  int r = s.where && s.moved && s.charge && s.charge_left && s.dead && s.load
              ? 0
              : -ENOMEM;
  for (size_t i = 0; i < s.ns; i++) {
    s.moved[i] = -1;
    s.charge[i] = -1;
  }
  *res = (struct result){
      .dead = -1, .packing = -1, .orphans_fit = -1, .adopted_at = -1};
  if (r == 0 && (pol == P_STATIC_PEAK || pol == P_STATIC_MEAN))
    place_static(&s, pol == P_STATIC_MEAN);
  else if (r == 0)
    place_by_count(&s, seed);
  if (r == 0 && pol == P_PATMON && cf->publish)
    s.decl = calloc(s.ns, sizeof(double));
  double *cost = calloc((size_t)s.nn, sizeof(double));
  double *took = calloc((size_t)s.nn, sizeof(double));
  if (!cost || !took)
    r = -ENOMEM;
  for (int t = 0; r == 0 && t < ts->steps; t++) {
    for (int n = 0; n < s.nn; n++)
      s.load[n] = cost[n] = took[n] = 0;
    for (size_t i = 0; i < s.ns; i++) {
      double d = demand(ts, i, t);
      if (s.where[i] >= 0 && s.orphan && s.orphan[i])
        took[s.where[i]] += d;
      if (s.where[i] >= 0)
        s.load[s.where[i]] += d;
      else {
        res->unserved += d * STEP_MIN;
        if (fail_at >= 0 && t > fail_at)
          res->unserved_after += d * STEP_MIN;
      }
      if (s.charge[i] >= 0)
        cost[s.charge[i]] += cf->move_cost * d;
      if (--s.charge_left[i] <= 0)
        s.charge[i] = -1;
    }
    for (int n = 0; n < s.nn; n++) {
      if (s.dead[n])
        continue;
      double u = (s.load[n] + cost[n]) / cf->cap;
      if (u > TRIGGER && zone_of_node(cf, n) == cf->dead_zone &&
          t >= cf->dead_from && t < cf->dead_to) {
        res->dead_over80 += STEP_MIN;
        int from = res->adopted_at >= 0 ? res->adopted_at : cf->dead_ref;
        if (from >= 0 && t > from)
          res->dead_over80_adopted += STEP_MIN;
      }
      if (u > TRIGGER) {
        res->over80 += STEP_MIN;
        if (fail_at >= 0 && t > fail_at)
          res->over80_after += STEP_MIN;
      }
      if (u > 1.0) {
        res->over100 += STEP_MIN;
        if (fail_at >= 0 && t > fail_at)
          res->over100_after += STEP_MIN;
        if (fail_at >= 0 && t == fail_at + 1) {
          res->survivors_over++;
          res->survivors_pushed +=
              (s.load[n] + cost[n] - took[n]) / cf->cap <= 1.0;
        }
      }
    }
    if (t == ts->steps - 1)
      break;
    if (t == fail_at)
      r = fail(&s, t, res);
    else
      r = decide(&s, t);
  }
  if (fail_at >= 0)
    for (size_t i = 0; i < s.ns; i++)
      res->stopped_end += s.where[i] < 0;
  res->moves = s.moves;
  free(cost);
  free(took);
  free(s.orphan);
  free(s.where);
  free(s.moved);
  free(s.charge);
  free(s.charge_left);
  zones_free(&s);
  free(s.dead);
  free(s.load);
  free(s.decl);
  return r;
}

int peak_step(const struct trace_set *ts) {
  int best = 0;
  double bv = -1;
  for (int t = 0; t < ts->steps; t++) {
    double sum = 0;
    for (size_t i = 0; i < ts->n; i++)
      sum += demand(ts, i, t);
    if (sum > bv) {
      bv = sum;
      best = t;
    }
  }
  return best;
}
