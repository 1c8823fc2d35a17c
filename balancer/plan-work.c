/* plan-work.c: the planner's work state: units, loads, fitting, the move
 * log that can be rolled back, notes and names for them. */
#include "config.h"

#include "plan-internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- notes --------------------------------------------------------------- */

void plan_note(struct work *w, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int r = pm_buf_vprintf(&w->notes, fmt, ap);
  va_end(ap);
  if (r == 0)
    r = pm_buf_putc(&w->notes, '\0');
  if (r < 0)
    w->oom = 1;
  else
    w->nnotes++;
}

/* ---- utilisation and fitting --------------------------------------------- */

/* Whether moving x off n leaves n its move charge: x runs on n now. */
static bool charges(const struct work *w, int x, int n) {
  return !w->u[x].homeless && w->u[x].orig == n;
}

/* plan_load_of with z standard deviations. */
static double load_z(const struct work *w, int n, int d, int x, int y,
                     double z) {
  double l =
      w->load[n][d] + (x >= 0 ? w->u[x].d[d] : 0) - (y >= 0 ? w->u[y].d[d] : 0);
  if (w->charged) {
    double c = w->p.move_charge;
    l += w->charge[n][d] - (x >= 0 && charges(w, x, n) ? c * w->u[x].d[d] : 0) +
         (y >= 0 && charges(w, y, n) ? c * w->u[y].d[d] : 0);
  }
  if (z > 0) {
    double v = w->var[n][d] + (x >= 0 ? w->u[x].s2[d] : 0) -
               (y >= 0 ? w->u[y].s2[d] : 0);
    if (v > 0)
      l += z * sqrt(v);
  }
  return l;
}

double plan_load_of(const struct work *w, int n, int d, int x, int y) {
  return load_z(w, n, d, x, y, w->p.z);
}

double plan_util_of(const struct work *w, int n) {
  return plan_util_with(w, n, -1, -1);
}

double plan_util_with(const struct work *w, int n, int x, int y) {
  const struct bal_node *nd = &w->c->nodes[n];
  double u = 0;
  for (int d = 0; d < BAL_NDIM; d++)
    if (bal_dim_on(nd, d))
      u = fmax(u, plan_load_of(w, n, d, x, y) / nd->cap[d]);
  return u;
}

/* Crossing capacity counts this many times more than crossing threshold:
 * besides being above threshold, the node then has demand it cannot
 * serve. With 1, one node at 110% (and another at 70%) scores 2.4, two
 * nodes at 90% 2.2, so the search prefers the two. */
#define SEVERITY 1.0

/* P(L > t) + E[(L - t)+] / cap for L normal with mean m and variance v:
 * how likely the load is to cross t, plus by how much. */
static double crossing(double m, double v, double t, double cap) {
  if (!(v > 1e-18))
    return m > t ? 1 + (m - t) / cap : 0;
  double s = sqrt(v), k = (t - m) / s;
  if (k > 8)
    return 0;
  double pdf = exp(-0.5 * k * k) * 0.3989422804014327;
  double tail = 0.5 * erfc(k * M_SQRT1_2);
  return tail + fmax(0, s * pdf + (m - t) * tail) / cap;
}

/* The crossing of threshold a, plus SEVERITY x that of capacity. */
static double overload(double m, double v, double a, double cap) {
  return crossing(m, v, a, cap) + SEVERITY * crossing(m, v, cap, cap);
}

double plan_risk(const struct work *w, int n, int x, int y) {
  const struct bal_node *nd = &w->c->nodes[n];
  const struct unit *ux = x >= 0 ? &w->u[x] : NULL,
                    *uy = y >= 0 ? &w->u[y] : NULL;
  double k2 = w->p.spread_scale * w->p.spread_scale, wn = w->p.near_weight;
  double r = 0;
  for (int d = 0; d < BAL_NDIM; d++) {
    if (!bal_dim_on(nd, d))
      continue;
    double a = w->p.threshold * nd->cap[d], cap = nd->cap[d];
    double m = w->load[n][d] + (ux ? ux->d[d] : 0) - (uy ? uy->d[d] : 0);
    double v = w->var[n][d] + (ux ? ux->s2[d] : 0) - (uy ? uy->s2[d] : 0);
    /* At the next step n still carries the move charge of what leaves. */
    double c = w->p.move_charge;
    double nm = m + w->charge[n][d] +
                (uy && charges(w, y, n) ? c * uy->d[d] : 0) -
                (ux && charges(w, x, n) ? c * ux->d[d] : 0);
    double lm = w->lload[n][d] + (ux ? ux->ld[d] : 0) - (uy ? uy->ld[d] : 0);
    double lv = w->lvar[n][d] + (ux ? ux->ls2[d] : 0) - (uy ? uy->ls2[d] : 0);
    if (wn > 0)
      r += wn * overload(nm, k2 * v, a, cap);
    if (wn < 1)
      r += (1 - wn) * overload(lm, k2 * lv, a, cap);
  }
  return r;
}

/* Whether n's load over the placement horizon plus z standard deviations
 * crosses threshold in some balanced dimension (never when the horizon has
 * no weight). */
static bool horizon_over(const struct work *w, int n, double z) {
  const struct bal_node *nd = &w->c->nodes[n];
  if (!(w->p.near_weight < 1))
    return false;
  for (int d = 0; d < BAL_NDIM; d++) {
    if (!bal_dim_on(nd, d))
      continue;
    double l = w->lload[n][d];
    if (z > 0 && w->lvar[n][d] > 0)
      l += z * sqrt(w->lvar[n][d]);
    if (l > w->p.threshold * nd->cap[d] + EPS * nd->cap[d])
      return true;
  }
  return false;
}

bool plan_forecast_over(const struct work *w, int n, double util) {
  return util > w->p.threshold + EPS || horizon_over(w, n, w->p.z);
}

bool plan_forecast_near(const struct work *w, int n, double k) {
  const struct bal_node *nd = &w->c->nodes[n];
  double z = k * w->p.z;
  for (int d = 0; d < BAL_NDIM; d++) {
    double lim = w->p.threshold * nd->cap[d] + EPS * nd->cap[d];
    if (bal_dim_on(nd, d) && load_z(w, n, d, -1, -1, z) > lim)
      return true;
  }
  return horizon_over(w, n, z);
}

bool plan_banned(const struct unit *x, int n) {
  int lo = 0, hi = (int)x->bans.n - 1;
  while (lo <= hi) {
    int mid = (lo + hi) / 2;
    if (x->bans.v[mid] == n)
      return true;
    if (x->bans.v[mid] < n)
      lo = mid + 1;
    else
      hi = mid - 1;
  }
  return false;
}

/* Whether unit x may run on n at all (a target, not banned, no unit it
 * must avoid there), with unit y (or -1) leaving n at the same time. */
bool plan_permitted(const struct work *w, int x, int n, int y) {
  const struct unit *ux = &w->u[x];
  if (!w->target[n] || plan_banned(ux, n))
    return false;
  for (size_t i = 0; i < ux->apart.n; i++) {
    int o = ux->apart.v[i];
    if (o != y && w->u[o].node == n)
      return false;
  }
  return true;
}

/* Whether the declared capacities of n (Pacemaker utilization) leave room
 * for x, with y (or -1) leaving. */
static bool declared_room(const struct work *w, int x, int n, int y) {
  const struct bal_node *nd = &w->c->nodes[n];
  for (size_t a = 0; a < w->c->nattrs; a++) {
    double need = w->u[x].attr[a];
    if (!(need > 0))
      continue;
    double have = isnan(nd->attr[a]) ? 0 : nd->attr[a];
    double used =
        w->used[n][a] - (y >= 0 && w->u[y].attr[a] > 0 ? w->u[y].attr[a] : 0);
    if (used + need > have + EPS)
      return false;
  }
  return true;
}

bool plan_allowed(const struct work *w, int x, int n, int y) {
  return plan_permitted(w, x, n, y) && declared_room(w, x, n, y);
}

/* Whether x fits on n under limit (a fraction of capacity). */
bool plan_fits(const struct work *w, int x, int n, int y, double limit) {
  if (n == w->u[x].node || !plan_allowed(w, x, n, y))
    return false;
  return plan_util_with(w, n, x, y) <= limit + EPS;
}

/* The node (not skip) where x fits under limit: with the lowest resulting
 * utilisation, or the tightest fit. -1 when none. */
int plan_best_target(struct work *w, int x, double limit, int skip,
                     enum pick how) {
  int best = -1;
  double bu = 0;
  for (size_t n = 0; n < w->nn; n++) {
    w->work++;
    /* plan_fits, its utilisation kept for the choice (the what-if of every
     * node spent half its time working it out twice). */
    if ((int)n == skip || (int)n == w->u[x].node ||
        !plan_allowed(w, x, (int)n, -1))
      continue;
    double u = plan_util_with(w, (int)n, x, -1);
    if (u > limit + EPS)
      continue;
    if (best < 0 || (how == PICK_LOWEST ? u < bu - EPS : u > bu + EPS)) {
      best = (int)n;
      bu = u;
    }
  }
  return best;
}

/* ---- moves and the log --------------------------------------------------- */

static void list_remove(struct bal_ints *l, int x) {
  for (size_t i = 0; i < l->n; i++)
    if (l->v[i] == x) {
      l->v[i] = l->v[--l->n];
      return;
    }
}

static void shift(struct work *w, int x, int from, int to) {
  struct unit *ux = &w->u[x];
  if (!ux->homeless && from != to && (from == ux->orig || to == ux->orig)) {
    double c = from == ux->orig ? w->p.move_charge : -w->p.move_charge;
    for (int d = 0; d < BAL_NDIM; d++)
      if (!isnan(ux->d[d]))
        w->charge[ux->orig][d] += c * ux->d[d];
  }
  if (from >= 0) {
    for (int d = 0; d < BAL_NDIM; d++) {
      w->load[from][d] -= ux->d[d];
      w->var[from][d] = fmax(0, w->var[from][d] - ux->s2[d]);
      w->lload[from][d] -= ux->ld[d];
      w->lvar[from][d] = fmax(0, w->lvar[from][d] - ux->ls2[d]);
    }
    for (size_t a = 0; a < w->c->nattrs; a++)
      if (ux->attr[a] > 0)
        w->used[from][a] -= ux->attr[a];
    list_remove(&w->on[from], x);
  }
  if (to >= 0) {
    for (int d = 0; d < BAL_NDIM; d++) {
      w->load[to][d] += ux->d[d];
      w->var[to][d] += ux->s2[d];
      w->lload[to][d] += ux->ld[d];
      w->lvar[to][d] += ux->ls2[d];
    }
    for (size_t a = 0; a < w->c->nattrs; a++)
      if (ux->attr[a] > 0)
        w->used[to][a] += ux->attr[a];
    if (bal_ints_push(&w->on[to], x) < 0)
      w->oom = 1;
  }
  ux->node = to;
}

/* A unit that is homeless sits on its offline node (or none) without load
 * there: moving it only adds load to the target. */
int plan_src_of(const struct work *w, int x) {
  const struct unit *ux = &w->u[x];
  return ux->homeless && ux->node == ux->orig ? -1 : ux->node;
}

/* Balance moves spend the budget; failover, room, fail-back and grants do
 * not. */
static bool spends_budget(enum bal_reason why) {
  return why == BAL_WHY_OVERLOAD || why == BAL_WHY_SWAP || why == BAL_WHY_EVEN;
}

void plan_do_move(struct work *w, int x, int to, enum bal_reason why,
                  int other) {
  struct rec *l = pm_vec_grow(w->log, &w->caplog, w->nlog + 1, sizeof(*l));
  if (!l) {
    w->oom = 1;
    return;
  }
  w->log = l;
  int from = w->u[x].node, src = plan_src_of(w, x);
  struct rec *r = &w->log[w->nlog++];
  *r = (struct rec){.unit = x,
                    .from = from,
                    .to = to,
                    .why = why,
                    .other = other,
                    .src_util = src >= 0 ? plan_util_of(w, src) : NAN,
                    .dst_before = to >= 0 ? plan_util_of(w, to) : NAN,
                    .gain = NAN};
  shift(w, x, src, to);
  r->dst_after = to >= 0 ? plan_util_of(w, to) : NAN;
  if (spends_budget(why))
    w->budget = w->budget > 0 ? w->budget - 1 : 0;
}

void plan_rollback(struct work *w, size_t mark) {
  while (w->nlog > mark) {
    struct rec *r = &w->log[--w->nlog];
    struct unit *ux = &w->u[r->unit];
    int to = ux->homeless && r->from == ux->orig ? -1 : r->from;
    shift(w, r->unit, r->to, to);
    ux->node = r->from;
    if (spends_budget(r->why))
      w->budget++;
  }
}

/* ---- building the work state --------------------------------------------- */

int plan_cmp_int(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  return (x > y) - (x < y);
}

void plan_work_free(struct work *w) {
  for (size_t i = 0; i < w->nu; i++) {
    bal_ints_free(&w->u[i].bans);
    bal_ints_free(&w->u[i].apart);
    bal_ints_free(&w->u[i].standbys);
  }
  for (size_t n = 0; w->on && n < w->nn; n++)
    bal_ints_free(&w->on[n]);
  free(w->load);
  free(w->var);
  free(w->lload);
  free(w->lvar);
  free(w->charge);
  free(w->before);
  free(w->used);
  free(w->target);
  free(w->u);
  free(w->members);
  free(w->unit_of);
  free(w->on);
  free(w->log);
  bal_ints_free(&w->unplaced);
  pm_buf_free(&w->notes);
}

static bool node_known(const struct bal_node *n) {
  for (int d = 0; d < BAL_NDIM; d++)
    if (bal_dim_on(n, d) && isnan(n->load[d]))
      return false;
  return true;
}

int plan_work_init(struct work *w, const bal_cluster_t *c,
                   const bal_params_t *p) {
  const size_t nn = c->nnodes, ns = c->nsvcs;
  *w = (struct work){.c = c, .p = *p, .nn = nn};
  w->budget = p->max_moves ? p->max_moves : UINT32_MAX;
  w->load = calloc(nn + 1, sizeof(*w->load));
  w->var = calloc(nn + 1, sizeof(*w->var));
  w->lload = calloc(nn + 1, sizeof(*w->lload));
  w->lvar = calloc(nn + 1, sizeof(*w->lvar));
  w->charge = calloc(nn + 1, sizeof(*w->charge));
  w->before = calloc(nn + 1, sizeof(*w->before));
  w->used = calloc(nn + 1, sizeof(*w->used));
  w->target = calloc(nn + 1, sizeof(*w->target));
  w->on = calloc(nn + 1, sizeof(*w->on));
  w->u = calloc(ns + 1, sizeof(*w->u));
  w->members = calloc(ns + 1, sizeof(*w->members));
  w->unit_of = calloc(ns + 1, sizeof(*w->unit_of));
  if (!w->load || !w->var || !w->lload || !w->lvar || !w->charge ||
      !w->before || !w->used || !w->target || !w->on || !w->u || !w->members ||
      !w->unit_of)
    return -ENOMEM;

  int ncap[BAL_NDIM] = {0};
  for (size_t n = 0; n < nn; n++) {
    const struct bal_node *nd = &c->nodes[n];
    memcpy(w->load[n], nd->load, sizeof(w->load[n]));
    for (int d = 0; d < BAL_NDIM; d++) {
      w->var[n][d] = nd->spread[d] * nd->spread[d];
      bool lvl = !isnan(nd->level[d]);
      w->lload[n][d] = lvl ? nd->level[d] : nd->load[d];
      w->lvar[n][d] = lvl ? nd->level_sd[d] * nd->level_sd[d] : w->var[n][d];
    }
    w->target[n] = nd->state == BAL_NODE_ONLINE && node_known(nd);
    for (int d = 0; d < BAL_NDIM; d++)
      if (bal_dim_on(nd, d)) {
        w->avgcap[d] += nd->cap[d];
        ncap[d]++;
      }
  }
  for (int d = 0; d < BAL_NDIM; d++)
    w->avgcap[d] = ncap[d] ? w->avgcap[d] / ncap[d] : 1;

  /* Units: one per colocation root (the lowest index of its set, so roots
   * come first), members stored contiguously. */
  int *root_of = calloc(ns + 1, sizeof(*root_of));
  int *count = calloc(ns + 1, sizeof(*count));
  if (!root_of || !count) {
    free(root_of);
    free(count);
    return -ENOMEM;
  }
  for (size_t s = 0; s < ns; s++)
    count[root_of[s] = bal_colo_root(c, (int)s)]++;
  size_t pos = 0;
  for (size_t s = 0; s < ns; s++) {
    if (root_of[s] != (int)s)
      continue;
    w->u[w->nu] = (struct unit){.root = (int)s, .first = (int)pos, .node = -2};
    pos += (size_t)count[s];
    count[s] = (int)w->nu++; /* from here on: the root's unit */
  }
  for (size_t s = 0; s < ns; s++) {
    struct unit *x = &w->u[count[root_of[s]]];
    w->members[x->first + x->count++] = (int)s;
    w->unit_of[s] = count[root_of[s]];
  }
  free(root_of);
  free(count);

  for (size_t i = 0; i < w->nu; i++) {
    struct unit *x = &w->u[i];
    for (size_t a = 0; a < BAL_MAX_ATTRS; a++)
      x->attr[a] = NAN;
    for (int k = 0; k < x->count; k++) {
      const struct bal_service *s = &c->svcs[w->members[x->first + k]];
      if (x->node == -2)
        x->node = s->node;
      else if (x->node != s->node)
        x->fixed = true; /* members apart: let the HA stack settle it */
      for (int d = 0; d < BAL_NDIM; d++) {
        x->d[d] = k ? x->d[d] + s->demand[d] : s->demand[d];
        x->s2[d] += s->spread[d] * s->spread[d];
        bool lvl = !isnan(s->level[d]);
        x->ld[d] += lvl ? s->level[d] : s->demand[d];
        x->ls2[d] +=
            lvl ? s->level_sd[d] * s->level_sd[d] : s->spread[d] * s->spread[d];
      }
      for (size_t a = 0; a < c->nattrs; a++)
        if (!isnan(s->attr[a]))
          x->attr[a] = (isnan(x->attr[a]) ? 0 : x->attr[a]) + s->attr[a];
      if (s->flags & BAL_SVC_FIXED)
        x->fixed = true;
      if (s->flags & BAL_SVC_COOLDOWN)
        x->cooldown = true;
      for (size_t b = 0; b < s->bans.n; b++)
        if (bal_ints_push(&x->bans, s->bans.v[b]) < 0)
          return -ENOMEM;
    }
    x->ha = c->svcs[x->root].ha;
    if (x->ha == BAL_HA_CLONE || x->ha == BAL_HA_UNPROMOTED)
      x->fixed = true; /* the HA stack places instances */
    if (x->bans.n > 1)
      qsort(x->bans.v, x->bans.n, sizeof(int), plan_cmp_int);
    x->orig = x->node;
    double sz = 0;
    for (int d = 0; d < BAL_NDIM; d++) {
      if (isnan(x->d[d]))
        x->unknown = true;
      else
        sz = fmax(sz, x->d[d] / w->avgcap[d]);
    }
    x->size = sz;
    x->homeless = x->node < 0 || c->nodes[x->node].state == BAL_NODE_OFFLINE;
    if (!x->homeless && bal_ints_push(&w->on[x->node], (int)i) < 0)
      return -ENOMEM;
    if (!x->homeless) {
      for (size_t a = 0; a < c->nattrs; a++)
        if (x->attr[a] > 0)
          w->used[x->node][a] += x->attr[a];
      for (int d = 0; d < BAL_NDIM; d++) {
        w->var[x->node][d] += x->s2[d];
        w->lvar[x->node][d] += x->ls2[d];
        /* (a unit of unknown demand leaves the node's load as measured) */
        if (isnan(w->c->nodes[x->node].level[d]) && !isnan(x->ld[d] - x->d[d]))
          w->lload[x->node][d] += x->ld[d] - x->d[d];
      }
    }
  }
  for (size_t n = 0; n < nn; n++)
    w->before[n] = plan_util_of(w, (int)n);
  for (size_t i = 0; i + 1 < c->sep.n; i += 2) {
    int a = w->unit_of[c->sep.v[i]], b = w->unit_of[c->sep.v[i + 1]];
    if (a == b) {
      w->u[a].fixed = true; /* contradictory constraints */
      continue;
    }
    if (bal_ints_push(&w->u[a].apart, b) < 0 ||
        bal_ints_push(&w->u[b].apart, a) < 0)
      return -ENOMEM;
  }
  /* A promoted instance and its standbys: never on one node. */
  for (size_t s = 0; s < ns; s++) {
    const struct bal_service *sv = &c->svcs[s];
    if (sv->ha != BAL_HA_UNPROMOTED || sv->primary < 0)
      continue;
    int a = w->unit_of[sv->primary], b = w->unit_of[s];
    if (a == b || w->u[a].ha != BAL_HA_PROMOTED)
      continue;
    if (bal_ints_push(&w->u[a].standbys, b) < 0 ||
        bal_ints_push(&w->u[a].apart, b) < 0 ||
        bal_ints_push(&w->u[b].apart, a) < 0)
      return -ENOMEM;
  }
  return 0;
}

/* ---- naming for notes ---------------------------------------------------- */

const char *plan_uname(const struct work *w, int x) {
  return w->c->svcs[w->u[x].root].name;
}

const char *plan_nname(const struct work *w, int n) {
  return n >= 0 ? w->c->nodes[n].name : "(none)";
}

/* "cpu 1.20" for the dimensions the unit uses. */
void plan_fmt_demand(const struct work *w, int x, char *buf, size_t len) {
  size_t o = 0;
  buf[0] = '\0';
  for (int d = 0; d < BAL_NDIM && o < len; d++) {
    double v = w->u[x].d[d];
    if (!(v > 0))
      continue;
    if (d == BAL_CPU)
      o += (size_t)snprintf(buf + o, len - o, "%scpu %.2f", o ? ", " : "", v);
    else
      o += (size_t)snprintf(buf + o, len - o, "%s%s %.0f MiB%s", o ? ", " : "",
                            bal_dim_name(d), v / 1048576.0,
                            d == BAL_NET ? "/s" : "");
  }
  if (!buf[0])
    snprintf(buf, len, "no measured demand");
}
