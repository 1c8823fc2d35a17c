/* plan.c: the planner.
 *
 * Services that must run together form a unit (groups, mandatory
 * colocations); the planner moves units. It works on a copy of the node
 * loads: every move goes through plan_do_move(), which keeps the loads, the
 * per-node unit lists and a log that can be rolled back (what-if and failed
 * repacks undo their tries). The log is condensed into one move per unit at
 * the end.
 *
 * Order of work: place the units of offline nodes and stopped units
 * (failover: under threshold where possible, else under capacity; when a
 * greedy pass finds no room, move a running unit to make room, then try a
 * whole repack); then bring overloaded nodes under threshold with the fewest
 * moves (a covering single move, else the largest that fits, else a
 * heavy-for-light swap) within the move budget. */
#include "config.h"

#include "plan-internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct plan_move {
  int unit, from, to;
  enum bal_reason why;
  double gain; /* of the balance step that placed it; NAN: failover */
  char **names;
  size_t nnames;
  char *why_text;
};

struct bal_plan {
  struct plan_move *moves;
  size_t nmoves;
  char **notes;
  size_t nnotes, nunplaced;
  size_t nn;
  double *before, *after;
  double (*load_after)[BAL_NDIM];
  int **svc_of_move; /* member service indexes per move */
  char **node_names;
};

static const char *const reason_names[] = {
    [BAL_WHY_OVERLOAD] = "overload", [BAL_WHY_SWAP] = "swap",
    [BAL_WHY_FAILOVER] = "failover", [BAL_WHY_ROOM] = "make-room",
    [BAL_WHY_FAILBACK] = "failback", [BAL_WHY_GRANT] = "grant",
    [BAL_WHY_EVEN] = "even-out",
};

const char *bal_reason_name(enum bal_reason r) {
  return (unsigned)r <= BAL_WHY_EVEN ? reason_names[r] : "?";
}

void bal_params_init(bal_params_t *p) {
  *p = (bal_params_t){.threshold = 0.8,
                      .max_moves = 8,
                      .swaps = true,
                      .repack = true,
                      .search_limit = 200000,
                      .z = 1.0,
                      .move_cost = 0.01,
                      .near_weight = 0.3,
                      .spread_scale = 1.5,
                      .move_charge = 1.0};
}

/* ---- the plan
 * ------------------------------------------------------------------ */

static void why_text(const struct work *w, const struct rec *r, pm_buf_t *b) {
  char dem[128];
  plan_fmt_demand(w, r->unit, dem, sizeof(dem));
  const char *src = plan_nname(w, w->u[r->unit].orig);
  switch (r->why) {
  case BAL_WHY_OVERLOAD:
  case BAL_WHY_EVEN:
    pm_buf_printf(
        b,
        "%s forecast %.0f%%%s%.0f%%: %s (%s) to %s (%.0f%% -> "
        "%.0f%%)",
        src, 100 * r->src_util, r->why == BAL_WHY_EVEN ? ", may cross " : " > ",
        100 * w->p.threshold, plan_uname(w, r->unit), dem, plan_nname(w, r->to),
        100 * r->dst_before, 100 * r->dst_after);
    if (r->why == BAL_WHY_OVERLOAD && r->dst_after > w->p.threshold + EPS)
      pm_buf_puts(b, "; no node has room under the threshold: this evens "
                     "out the load");
    break;
  case BAL_WHY_SWAP:
    pm_buf_printf(b, "swap with %s: %s (%s) from %s (%.0f%%) to %s",
                  plan_uname(w, r->other), plan_uname(w, r->unit), dem, src,
                  100 * r->src_util, plan_nname(w, r->to));
    break;
  case BAL_WHY_FAILOVER:
    if (w->u[r->unit].orig >= 0)
      pm_buf_printf(b, "%s is offline: %s (%s) to %s (%.0f%% -> %.0f%%)", src,
                    plan_uname(w, r->unit), dem, plan_nname(w, r->to),
                    100 * r->dst_before, 100 * r->dst_after);
    else
      pm_buf_printf(b, "%s is stopped: placed on %s (%s, %.0f%% -> %.0f%%)",
                    plan_uname(w, r->unit), plan_nname(w, r->to), dem,
                    100 * r->dst_before, 100 * r->dst_after);
    break;
  case BAL_WHY_ROOM:
    if (r->other >= 0)
      pm_buf_printf(b, "makes room on %s for %s: %s (%s) to %s", src,
                    plan_uname(w, r->other), plan_uname(w, r->unit), dem,
                    plan_nname(w, r->to));
    else
      pm_buf_printf(b, "repack to fit failed services: %s (%s) from %s to %s",
                    plan_uname(w, r->unit), dem, src, plan_nname(w, r->to));
    break;
  case BAL_WHY_FAILBACK:
    pm_buf_printf(b, "fail-back: %s (%s) returns to %s (%.0f%% -> %.0f%%)",
                  plan_uname(w, r->unit), dem, plan_nname(w, r->to),
                  100 * r->dst_before, 100 * r->dst_after);
    break;
  case BAL_WHY_GRANT: /* zone.c's, replayed by bal_plan_rebase */
    pm_buf_printf(b,
                  "granted by another zone: %s (%s) to %s (%.0f%% -> "
                  "%.0f%%)",
                  plan_uname(w, r->unit), dem, plan_nname(w, r->to),
                  100 * r->dst_before, 100 * r->dst_after);
    break;
  }
  if (!isnan(r->gain))
    pm_buf_printf(b, "; gain %.3f a move", r->gain);
}

void bal_plan_free(bal_plan_t *p) {
  if (!p)
    return;
  for (size_t i = 0; i < p->nmoves; i++) {
    for (size_t k = 0; k < p->moves[i].nnames; k++)
      free(p->moves[i].names[k]);
    free(p->moves[i].names);
    free(p->moves[i].why_text);
    free(p->svc_of_move[i]);
  }
  for (size_t i = 0; i < p->nnotes; i++)
    free(p->notes[i]);
  for (size_t i = 0; i < p->nn; i++)
    free(p->node_names[i]);
  free(p->node_names);
  free(p->moves);
  free(p->svc_of_move);
  free(p->notes);
  free(p->before);
  free(p->after);
  free(p->load_after);
  free(p);
}

/* Condenses the log: one move per unit that ends elsewhere, described by
 * its first step, in the order of those first steps. */
static int finish(struct work *w, bal_plan_t **ret) {
  bal_plan_t *p = calloc(1, sizeof(*p));
  int r = -ENOMEM;
  pm_buf_t b = {0};
  if (!p)
    return -ENOMEM;
  p->nn = w->nn;
  p->before = calloc(w->nn + 1, sizeof(double));
  p->after = calloc(w->nn + 1, sizeof(double));
  p->load_after = calloc(w->nn + 1, sizeof(*p->load_after));
  p->node_names = calloc(w->nn + 1, sizeof(char *));
  p->moves = calloc(w->nlog + 1, sizeof(*p->moves));
  p->svc_of_move = calloc(w->nlog + 1, sizeof(int *));
  p->notes = calloc(w->nnotes + 1, sizeof(char *));
  if (!p->before || !p->after || !p->load_after || !p->node_names ||
      !p->moves || !p->svc_of_move || !p->notes)
    goto out;
  for (size_t n = 0; n < w->nn; n++) {
    p->before[n] = isnan(bal_node_util(w->c, (int)n)) ? NAN : w->before[n];
    p->after[n] = w->target[n] ? plan_util_of(w, (int)n) : p->before[n];
    memcpy(p->load_after[n], w->load[n], sizeof(p->load_after[n]));
    if (!(p->node_names[n] = strdup(w->c->nodes[n].name)))
      goto out;
  }
  /* The last step of each unit says where it ends; units in the order of
   * their first step. */
  int *last = malloc((w->nu + 1) * sizeof(*last));
  if (!last)
    goto out;
  for (size_t i = 0; i < w->nu; i++)
    last[i] = -1;
  for (size_t i = 0; i < w->nlog; i++)
    last[w->log[i].unit] = (int)i;
  for (size_t i = 0; i < w->nlog; i++) {
    int xi = w->log[i].unit;
    struct unit *x = &w->u[xi];
    if (last[xi] < 0 || x->node == x->orig || x->node < 0 || x->promotion) {
      last[xi] = -1;
      continue;
    }
    struct rec rc = w->log[last[xi]];
    last[xi] = -1;
    if (x->homeless) {
      rc.why = BAL_WHY_FAILOVER;
      rc.gain = NAN;
    }
    struct plan_move *m = &p->moves[p->nmoves];
    *m = (struct plan_move){.unit = xi,
                            .from = x->orig,
                            .to = x->node,
                            .why = rc.why,
                            .gain = rc.gain};
    m->names = calloc((size_t)x->count + 1, sizeof(char *));
    p->svc_of_move[p->nmoves] = calloc((size_t)x->count + 1, sizeof(int));
    p->nmoves++;
    if (!m->names || !p->svc_of_move[p->nmoves - 1]) {
      free(last);
      goto out;
    }
    for (int k = 0; k < x->count; k++) {
      int s = w->members[x->first + k];
      p->svc_of_move[p->nmoves - 1][k] = s;
      if (!(m->names[m->nnames++] = strdup(w->c->svcs[s].name))) {
        free(last);
        goto out;
      }
    }
    pm_buf_reset(&b);
    why_text(w, &rc, &b);
    if (!b.data || !(m->why_text = strdup(b.data))) {
      free(last);
      goto out;
    }
  }
  free(last);
  const char *s = w->notes.data;
  for (size_t i = 0; i < w->nnotes; i++) {
    if (!(p->notes[i] = strdup(s)))
      goto out;
    p->nnotes++;
    s += strlen(s) + 1;
  }
  p->nunplaced = w->unplaced.n;
  r = w->oom ? -ENOMEM : 0;
out:
  pm_buf_free(&b);
  if (r < 0) {
    bal_plan_free(p);
    return r;
  }
  *ret = p;
  return 0;
}

int bal_plan_compute(const bal_cluster_t *c, const bal_params_t *p,
                     bal_plan_t **ret) {
  struct work w;
  if (!c || !p || !ret || !(p->threshold > 0) || p->threshold > 1)
    return -EINVAL;
  int r = plan_work_init(&w, c, p);
  if (r == 0) {
    plan_failover(&w);
    plan_failback(&w);
    plan_fix_overloads(&w);
    r = w.oom ? -ENOMEM : finish(&w, ret);
  }
  plan_work_free(&w);
  return r;
}

/* Moves the unit of m's first service to m's node on w (logged with m's
 * reason). -ENOENT for a service or node w's cluster does not have. */
static int replay(struct work *w, const bal_move_t *m) {
  int s = m->nservices ? bal_cluster_find_service(w->c, m->services[0]) : -1;
  int to = bal_cluster_find_node(w->c, m->to);
  if (s < 0 || to < 0)
    return -ENOENT;
  plan_do_move(w, w->unit_of[s], to, m->reason, -1);
  return w->oom ? -ENOMEM : 0;
}

/* The move of q that moves service name, or NULL. */
static const bal_move_t *move_of(const bal_move_t *q, size_t n,
                                 const char *name) {
  for (size_t i = 0; i < n; i++)
    for (size_t k = 0; k < q[i].nservices; k++)
      if (strcmp(q[i].services[k], name) == 0)
        return &q[i];
  return NULL;
}

int bal_plan_rebase(const bal_plan_t *part, const bal_move_t *extra,
                    size_t nextra, const bal_cluster_t *c,
                    const bal_params_t *p, bal_plan_t **ret) {
  if (!c || !p || !ret || (nextra && !extra))
    return -EINVAL;
  size_t nm = (part ? part->nmoves : 0) + nextra;
  bal_move_t *q = calloc(nm + 1, sizeof(*q));
  if (!q)
    return -ENOMEM;
  for (size_t i = 0; part && i < part->nmoves; i++)
    bal_plan_move(part, i, &q[i]);
  for (size_t i = 0; i < nextra; i++)
    q[nm - nextra + i] = extra[i];
  struct work w;
  bal_plan_t *out = NULL;
  int r = plan_work_init(&w, c, p);
  for (size_t i = 0; r == 0 && i < nm; i++)
    r = replay(&w, &q[i]);
  if (r == 0)
    r = finish(&w, &out);
  /* The moves keep what their planner said of them. */
  for (size_t i = 0; r == 0 && i < out->nmoves; i++) {
    struct plan_move *m = &out->moves[i];
    const bal_move_t *o = move_of(q, nm, m->names[0]);
    char *t = o && o->why ? strdup(o->why) : NULL;
    if (!o || (o->why && !t)) {
      r = o ? -ENOMEM : -ENOENT;
      break;
    }
    free(m->why_text);
    m->why_text = t ? t : strdup("");
    m->why = o->reason;
    m->gain = o->gain;
    if (!m->why_text)
      r = -ENOMEM;
  }
  for (size_t i = 0; r == 0 && part && i < part->nnotes; i++) {
    char **v = realloc(out->notes, (out->nnotes + 2) * sizeof(char *));
    if (!v || !(v[out->nnotes] = strdup(part->notes[i]))) {
      if (v)
        out->notes = v;
      r = -ENOMEM;
      break;
    }
    out->notes = v;
    out->nnotes++;
  }
  if (r == 0 && part)
    out->nunplaced = part->nunplaced;
  plan_work_free(&w);
  free(q);
  if (r < 0) {
    bal_plan_free(out);
    return r;
  }
  *ret = out;
  return 0;
}

size_t bal_plan_nmoves(const bal_plan_t *p) { return p->nmoves; }

int bal_plan_move(const bal_plan_t *p, size_t i, bal_move_t *ret) {
  if (i >= p->nmoves)
    return -ERANGE;
  const struct plan_move *m = &p->moves[i];
  *ret = (bal_move_t){.services = (const char *const *)m->names,
                      .nservices = m->nnames,
                      .from = m->from >= 0 ? p->node_names[m->from] : NULL,
                      .to = p->node_names[m->to],
                      .reason = m->why,
                      .why = m->why_text,
                      .gain = m->gain};
  return 0;
}

size_t bal_plan_nnotes(const bal_plan_t *p) { return p->nnotes; }

const char *bal_plan_note(const bal_plan_t *p, size_t i) {
  return i < p->nnotes ? p->notes[i] : NULL;
}

size_t bal_plan_nunplaced(const bal_plan_t *p) { return p->nunplaced; }

int bal_plan_node_util(const bal_plan_t *p, int node, double *ret_before,
                       double *ret_after) {
  if (node < 0 || (size_t)node >= p->nn)
    return -ERANGE;
  if (ret_before)
    *ret_before = p->before[node];
  if (ret_after)
    *ret_after = p->after[node];
  return 0;
}

int bal_plan_node_load(const bal_plan_t *p, int node, double ret[BAL_NDIM]) {
  if (node < 0 || (size_t)node >= p->nn)
    return -ERANGE;
  memcpy(ret, p->load_after[node], sizeof(p->load_after[node]));
  return 0;
}

int bal_plan_apply(const bal_plan_t *p, bal_cluster_t *c) {
  if (c->nnodes != p->nn)
    return -EINVAL;
  for (size_t i = 0; i < p->nmoves; i++)
    for (size_t k = 0; k < p->moves[i].nnames; k++) {
      int s = p->svc_of_move[i][k];
      if ((size_t)s >= c->nsvcs)
        return -EINVAL;
      c->svcs[s].node = p->moves[i].to;
    }
  for (size_t n = 0; n < p->nn; n++)
    if (c->nodes[n].state == BAL_NODE_ONLINE)
      memcpy(c->nodes[n].load, p->load_after[n], sizeof(c->nodes[n].load));
  return 0;
}

/* Whether the survivors (targets) keep spare_nodes nodes' worth of
 * capacity free: in each balanced dimension, their free capacity summed
 * is at least the capacity of their spare_nodes largest. */
static bool spare_kept(const struct work *w) {
  unsigned m = w->p.spare_nodes;
  if (!m)
    return true;
  double *caps = malloc((w->nn + 1) * sizeof(*caps));
  if (!caps)
    return false;
  bool ok = true;
  for (int d = 0; ok && d < BAL_NDIM; d++) {
    size_t k = 0;
    double free_cap = 0;
    for (size_t n = 0; n < w->nn; n++) {
      const struct bal_node *nd = &w->c->nodes[n];
      if (!w->target[n] || !bal_dim_on(nd, d))
        continue;
      caps[k++] = nd->cap[d];
      free_cap += nd->cap[d] - plan_load_of(w, (int)n, d, -1, -1);
    }
    if (!k)
      continue; /* not balanced anywhere */
    /* The m largest: a partial selection, m is small. */
    double reserve = 0;
    for (unsigned i = 0; i < m; i++) {
      size_t best = k;
      for (size_t j = 0; j < k; j++)
        if (caps[j] >= 0 && (best == k || caps[j] > caps[best]))
          best = j;
      if (best == k) {
        reserve = INFINITY; /* fewer survivors than spares */
        break;
      }
      reserve += caps[best];
      caps[best] = -1;
    }
    ok = free_cap >= reserve - EPS * fmax(1, reserve);
  }
  free(caps);
  return ok;
}

/* The failure of node on a built work state, undone before returning. */
static int whatif_one(struct work *w, int node, double *ret_util) {
  size_t mark = w->nlog, n = 0;
  int r = 0;
  bool over = false;
  struct bal_ints *on = &w->on[node];
  int *v = malloc((on->n + 1) * sizeof(*v));
  if (!v)
    return -ENOMEM;
  for (size_t i = 0; i < on->n; i++) {
    const struct unit *x = &w->u[on->v[i]];
    v[n++] = on->v[i];
    /* Clone and unpromoted instances are not restarted: what they
     * demand does not matter. */
    if (x->unknown && x->ha != BAL_HA_CLONE && x->ha != BAL_HA_UNPROMOTED)
      r = -ENODATA;
  }
  bool was_target = w->target[node];
  w->target[node] = false;
  if (r == 0) {
    for (size_t i = 0; i < n; i++)
      plan_do_move(w, v[i], -1, BAL_WHY_FAILOVER, -1);
    /* What must restart elsewhere: not clone or unpromoted instances (the
     * others carry on), nor a promoted one whose standby is promoted. */
    size_t k = 0, np = 0;
    int *pn = malloc((n + 1) * sizeof(*pn));
    if (!pn)
      w->oom = 1;
    for (size_t i = 0; pn && i < n; i++) {
      enum bal_ha ha = w->u[v[i]].ha;
      if (ha == BAL_HA_CLONE || ha == BAL_HA_UNPROMOTED)
        continue;
      if ((pn[np] = plan_promote(w, v[i])) >= 0)
        np++;
      else
        v[k++] = v[i];
    }
    plan_absorb(w, v, k);
    /* A promotion is counted whatever the room: over capacity, the
     * failure is not absorbed. */
    for (size_t i = 0; i < np; i++)
      if (plan_util_of(w, pn[i]) > 1.0 + EPS)
        over = true;
    free(pn);
  }
  free(v);
  double worst = 0;
  for (size_t m = 0; m < w->nn; m++)
    if (w->target[m])
      worst = fmax(worst, plan_util_of(w, (int)m));
  if (ret_util)
    *ret_util = r == -ENODATA ? NAN : worst;
  if (r == 0)
    r = w->oom ? -ENOMEM : w->unplaced.n == 0 && !over && spare_kept(w);
  w->unplaced.n = 0;
  plan_rollback(w, mark);
  w->target[node] = was_target;
  return r;
}

int bal_whatif(const bal_cluster_t *c, const bal_params_t *p, int node,
               double *ret_util) {
  struct work w;
  if (!c || !p || node < 0 || (size_t)node >= c->nnodes)
    return -EINVAL;
  int r = plan_work_init(&w, c, p);
  if (r == 0)
    r = whatif_one(&w, node, ret_util);
  plan_work_free(&w);
  return r;
}

int bal_whatif_all(const bal_cluster_t *c, const bal_params_t *p, int *ret_ok,
                   double *ret_util) {
  struct work w;
  if (!c || !p || !ret_ok || !ret_util)
    return -EINVAL;
  int r = plan_work_init(&w, c, p);
  for (size_t n = 0; r == 0 && n < c->nnodes; n++) {
    if (c->nodes[n].state != BAL_NODE_ONLINE) {
      ret_ok[n] = -EINVAL;
      ret_util[n] = NAN;
      continue;
    }
    int k = whatif_one(&w, (int)n, &ret_util[n]);
    if (k == -ENOMEM)
      r = k;
    ret_ok[n] = k;
  }
  plan_work_free(&w);
  return r;
}
