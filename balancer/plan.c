/* plan.c: the planner.
 *
 * Services that must run together form a unit (groups, mandatory
 * colocations); the planner moves units. It works on a copy of the node
 * loads: every move goes through do_move(), which keeps the loads, the
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

#include "internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EPS 1e-9

struct unit {
  int root;           /* representative service */
  int first, count;   /* members in w->members[first..first+count) */
  double d[BAL_NDIM]; /* demand, NAN when unknown */
  double attr[BAL_MAX_ATTRS];
  double size;    /* normalised, for ordering */
  int node, orig; /* planned and original node */
  bool fixed, cooldown, homeless, unknown;
  struct bal_ints bans;  /* nodes, sorted */
  struct bal_ints apart; /* units it may not share a node with */
};

struct rec { /* one step of the move log */
  int unit, from, to;
  enum bal_reason why;
  int other;       /* swap partner or the unit room was made for */
  double src_util; /* source utilisation before the step */
  double dst_before, dst_after;
};

struct work {
  const bal_cluster_t *c;
  bal_params_t p;
  size_t nn, nu;
  double (*load)[BAL_NDIM];
  double (*used)[BAL_MAX_ATTRS]; /* declared need placed per node */
  bool *target;
  struct unit *u;
  int *members;
  int *unit_of;        /* per service */
  struct bal_ints *on; /* units per node */
  struct rec *log;
  size_t nlog, caplog;
  unsigned budget;
  unsigned long work; /* search steps spent */
  double avgcap[BAL_NDIM];
  struct bal_ints unplaced;
  pm_buf_t notes; /* NUL-separated sentences */
  size_t nnotes;
  int oom;
};

struct plan_move {
  int unit, from, to;
  enum bal_reason why;
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
    [BAL_WHY_OVERLOAD] = "overload",
    [BAL_WHY_SWAP] = "swap",
    [BAL_WHY_FAILOVER] = "failover",
    [BAL_WHY_ROOM] = "make-room",
};

const char *bal_reason_name(enum bal_reason r) {
  return (unsigned)r <= BAL_WHY_ROOM ? reason_names[r] : "?";
}

void bal_params_init(bal_params_t *p) {
  *p = (bal_params_t){.threshold = 0.8,
                      .max_moves = 8,
                      .swaps = true,
                      .repack = true,
                      .search_limit = 200000};
}

/* ---- notes --------------------------------------------------------------- */

static void note(struct work *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void note(struct work *w, const char *fmt, ...) {
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

static double util_of(const struct work *w, int n) {
  const struct bal_node *nd = &w->c->nodes[n];
  double u = 0;
  for (int d = 0; d < BAL_NDIM; d++)
    if (bal_dim_on(nd, d))
      u = fmax(u, w->load[n][d] / nd->cap[d]);
  return u;
}

/* Utilisation of n with unit x added and unit y (or -1) taken away. */
static double util_with(const struct work *w, int n, int x, int y) {
  const struct bal_node *nd = &w->c->nodes[n];
  double u = 0;
  for (int d = 0; d < BAL_NDIM; d++) {
    if (!bal_dim_on(nd, d))
      continue;
    double l = w->load[n][d] + (x >= 0 ? w->u[x].d[d] : 0) -
               (y >= 0 ? w->u[y].d[d] : 0);
    u = fmax(u, l / nd->cap[d]);
  }
  return u;
}

static bool banned(const struct unit *x, int n) {
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
static bool permitted(const struct work *w, int x, int n, int y) {
  const struct unit *ux = &w->u[x];
  if (!w->target[n] || banned(ux, n))
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

static bool allowed(const struct work *w, int x, int n, int y) {
  return permitted(w, x, n, y) && declared_room(w, x, n, y);
}

/* Whether x fits on n under limit (a fraction of capacity). */
static bool fits(const struct work *w, int x, int n, int y, double limit) {
  if (n == w->u[x].node || !allowed(w, x, n, y))
    return false;
  return util_with(w, n, x, y) <= limit + EPS;
}

enum pick { PICK_LOWEST, PICK_TIGHTEST };

/* The node (not skip) where x fits under limit: with the lowest resulting
 * utilisation, or the tightest fit. -1 when none. */
static int best_target(struct work *w, int x, double limit, int skip,
                       enum pick how) {
  int best = -1;
  double bu = 0;
  for (size_t n = 0; n < w->nn; n++) {
    w->work++;
    if ((int)n == skip || !fits(w, x, (int)n, -1, limit))
      continue;
    double u = util_with(w, (int)n, x, -1);
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
  if (from >= 0) {
    for (int d = 0; d < BAL_NDIM; d++)
      w->load[from][d] -= ux->d[d];
    for (size_t a = 0; a < w->c->nattrs; a++)
      if (ux->attr[a] > 0)
        w->used[from][a] -= ux->attr[a];
    list_remove(&w->on[from], x);
  }
  if (to >= 0) {
    for (int d = 0; d < BAL_NDIM; d++)
      w->load[to][d] += ux->d[d];
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
static int src_of(const struct work *w, int x) {
  const struct unit *ux = &w->u[x];
  return ux->homeless && ux->node == ux->orig ? -1 : ux->node;
}

static void do_move(struct work *w, int x, int to, enum bal_reason why,
                    int other) {
  if (w->nlog == w->caplog) {
    size_t cap = w->caplog ? w->caplog * 2 : 64;
    struct rec *l = realloc(w->log, cap * sizeof(*l));
    if (!l) {
      w->oom = 1;
      return;
    }
    w->log = l;
    w->caplog = cap;
  }
  int from = w->u[x].node, src = src_of(w, x);
  struct rec *r = &w->log[w->nlog++];
  *r = (struct rec){.unit = x,
                    .from = from,
                    .to = to,
                    .why = why,
                    .other = other,
                    .src_util = src >= 0 ? util_of(w, src) : NAN,
                    .dst_before = to >= 0 ? util_of(w, to) : NAN};
  shift(w, x, src, to);
  r->dst_after = to >= 0 ? util_of(w, to) : NAN;
  if (why == BAL_WHY_OVERLOAD || why == BAL_WHY_SWAP)
    w->budget = w->budget > 0 ? w->budget - 1 : 0;
}

static void rollback(struct work *w, size_t mark) {
  while (w->nlog > mark) {
    struct rec *r = &w->log[--w->nlog];
    struct unit *ux = &w->u[r->unit];
    int to = ux->homeless && r->from == ux->orig ? -1 : r->from;
    shift(w, r->unit, r->to, to);
    ux->node = r->from;
    if (r->why == BAL_WHY_OVERLOAD || r->why == BAL_WHY_SWAP)
      w->budget++;
  }
}

/* ---- building the work state --------------------------------------------- */

static int cmp_int(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  return (x > y) - (x < y);
}

static void work_free(struct work *w) {
  for (size_t i = 0; i < w->nu; i++) {
    bal_ints_free(&w->u[i].bans);
    bal_ints_free(&w->u[i].apart);
  }
  for (size_t n = 0; w->on && n < w->nn; n++)
    bal_ints_free(&w->on[n]);
  free(w->load);
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

static int work_init(struct work *w, const bal_cluster_t *c,
                     const bal_params_t *p) {
  const size_t nn = c->nnodes, ns = c->nsvcs;
  *w = (struct work){.c = c, .p = *p, .nn = nn};
  w->budget = p->max_moves ? p->max_moves : UINT32_MAX;
  w->load = calloc(nn + 1, sizeof(*w->load));
  w->used = calloc(nn + 1, sizeof(*w->used));
  w->target = calloc(nn + 1, sizeof(*w->target));
  w->on = calloc(nn + 1, sizeof(*w->on));
  w->u = calloc(ns + 1, sizeof(*w->u));
  w->members = calloc(ns + 1, sizeof(*w->members));
  w->unit_of = calloc(ns + 1, sizeof(*w->unit_of));
  if (!w->load || !w->used || !w->target || !w->on || !w->u || !w->members ||
      !w->unit_of)
    return -ENOMEM;

  int ncap[BAL_NDIM] = {0};
  for (size_t n = 0; n < nn; n++) {
    const struct bal_node *nd = &c->nodes[n];
    memcpy(w->load[n], nd->load, sizeof(w->load[n]));
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
      for (int d = 0; d < BAL_NDIM; d++)
        x->d[d] = k ? x->d[d] + s->demand[d] : s->demand[d];
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
    if (x->bans.n > 1)
      qsort(x->bans.v, x->bans.n, sizeof(int), cmp_int);
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
    if (!x->homeless)
      for (size_t a = 0; a < c->nattrs; a++)
        if (x->attr[a] > 0)
          w->used[x->node][a] += x->attr[a];
  }
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
  return 0;
}

/* ---- naming for notes ---------------------------------------------------- */

static const char *uname(const struct work *w, int x) {
  return w->c->svcs[w->u[x].root].name;
}

static const char *nname(const struct work *w, int n) {
  return n >= 0 ? w->c->nodes[n].name : "(none)";
}

/* "cpu 1.20" for the dimensions the unit uses. */
static void fmt_demand(const struct work *w, int x, char *buf, size_t len) {
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

/* ---- failover
 * ------------------------------------------------------------------ */

static int cmp_size_desc(const void *a, const void *b, void *ctx) {
  const struct work *w = ctx;
  double x = w->u[*(const int *)a].size, y = w->u[*(const int *)b].size;
  if (x != y)
    return x < y ? 1 : -1;
  return cmp_int(a, b);
}

/* qsort_r with the work state. */
static void sort_units(struct work *w, int *v, size_t n) {
  if (n > 1)
    qsort_r(v, n, sizeof(int), cmp_size_desc, w);
}

/* Places x under threshold if possible, else under capacity. */
static bool place_greedy(struct work *w, int x, enum bal_reason why,
                         int other) {
  int t = best_target(w, x, w->p.threshold, -1, PICK_LOWEST);
  if (t < 0)
    t = best_target(w, x, 1.0, -1, PICK_LOWEST);
  if (t < 0)
    return false;
  do_move(w, x, t, why, other);
  return true;
}

/* Whether unit v may be moved to make room (the failover of another). */
static bool can_evict(const struct work *w, int v) {
  const struct unit *uv = &w->u[v];
  return !uv->fixed && !uv->unknown && !uv->homeless;
}

/* Where v can go to make room (not m): under threshold if possible. */
static int room_target(struct work *w, int v, int m) {
  int k = best_target(w, v, w->p.threshold, m, PICK_LOWEST);
  return k >= 0 ? k : best_target(w, v, 1.0, m, PICK_LOWEST);
}

/* Evictable units on m, smallest first, into cand. */
static size_t evictable_on(struct work *w, int m, int *cand) {
  size_t nc = 0;
  for (size_t i = 0; i < w->on[m].n; i++)
    if (can_evict(w, w->on[m].v[i]))
      cand[nc++] = w->on[m].v[i];
  sort_units(w, cand, nc);
  for (size_t i = 0; i < nc / 2; i++) {
    int t = cand[i];
    cand[i] = cand[nc - 1 - i];
    cand[nc - 1 - i] = t;
  }
  return nc;
}

/* Frees room for x by moving one running unit off some node m, choosing
 * among all (m, unit) pairs the one whose worst resulting utilisation (of m
 * with x, and of the unit's new node) is lowest; failing that, two units off
 * one node. Then places x on m. Bounded by search_limit steps. */
static bool make_room(struct work *w, int x) {
  unsigned long stop = w->work + w->p.search_limit;
  int *cand = malloc((w->nu + 1) * sizeof(*cand));
  bool ok = false;
  if (!cand) {
    w->oom = 1;
    return false;
  }
  int best_m = -1, best_v = -1, best_k = -1;
  double best_score = INFINITY;
  for (size_t m = 0; m < w->nn && w->work < stop; m++) {
    if (!permitted(w, x, (int)m, -1))
      continue;
    size_t nc = evictable_on(w, (int)m, cand);
    for (size_t i = 0; i < nc && w->work < stop; i++) {
      int v = cand[i];
      /* m must fit x once v is gone. */
      if (!allowed(w, x, (int)m, v) || util_with(w, (int)m, x, v) > 1.0 + EPS)
        continue;
      int k = room_target(w, v, (int)m);
      if (k < 0)
        continue;
      double score = fmax(util_with(w, (int)m, x, v), util_with(w, k, v, -1));
      if (score < best_score - EPS) {
        best_score = score;
        best_m = (int)m;
        best_v = v;
        best_k = k;
      }
    }
  }
  if (best_m >= 0) {
    do_move(w, best_v, best_k, BAL_WHY_ROOM, x);
    do_move(w, x, best_m, BAL_WHY_FAILOVER, -1);
    ok = true;
  }
  for (size_t m = 0; !ok && m < w->nn && w->work < stop; m++) {
    if (!permitted(w, x, (int)m, -1))
      continue;
    size_t nc = evictable_on(w, (int)m, cand);
    for (size_t i = 0; i < nc && !ok && w->work < stop; i++) {
      size_t mark = w->nlog;
      int k = room_target(w, cand[i], (int)m);
      if (k < 0)
        continue;
      do_move(w, cand[i], k, BAL_WHY_ROOM, x);
      for (size_t j = i + 1; j < nc && w->work < stop; j++) {
        if (fits(w, x, (int)m, -1, 1.0))
          break;
        size_t mark2 = w->nlog;
        int k2 = room_target(w, cand[j], (int)m);
        if (k2 < 0)
          continue;
        do_move(w, cand[j], k2, BAL_WHY_ROOM, x);
        if (!fits(w, x, (int)m, -1, 1.0))
          rollback(w, mark2);
      }
      if (fits(w, x, (int)m, -1, 1.0)) {
        do_move(w, x, (int)m, BAL_WHY_FAILOVER, -1);
        ok = true;
      } else {
        rollback(w, mark);
      }
    }
  }
  free(cand);
  return ok;
}

/* Lifts every evictable unit and the unplaced ones, and puts them back in
 * decreasing size, each on its own node when it still fits there (sticky)
 * or on the tightest fit. */
static bool repack(struct work *w, bool sticky) {
  size_t mark = w->nlog, n = 0;
  int *v = malloc((w->nu + 1) * sizeof(*v));
  if (!v) {
    w->oom = 1;
    return false;
  }
  for (size_t i = 0; i < w->nu; i++) {
    struct unit *x = &w->u[i];
    if (can_evict(w, (int)i) && x->node >= 0 && w->target[x->node])
      v[n++] = (int)i;
  }
  for (size_t i = 0; i < w->unplaced.n; i++)
    v[n++] = w->unplaced.v[i];
  sort_units(w, v, n);
  for (size_t i = 0; i < n; i++)
    if (w->u[v[i]].node >= 0 && src_of(w, v[i]) >= 0)
      do_move(w, v[i], -1, BAL_WHY_ROOM, -1);
  bool ok = true;
  for (size_t i = 0; ok && i < n; i++) {
    struct unit *x = &w->u[v[i]];
    int home = x->homeless ? -1 : x->orig;
    int t = -1;
    if (sticky && home >= 0 && fits(w, v[i], home, -1, 1.0))
      t = home;
    if (t < 0)
      t = best_target(w, v[i], 1.0, -1, PICK_TIGHTEST);
    if (t < 0)
      ok = false;
    else
      do_move(w, v[i], t, x->homeless ? BAL_WHY_FAILOVER : BAL_WHY_ROOM, -1);
  }
  free(v);
  if (!ok)
    rollback(w, mark);
  return ok;
}

/* Why x cannot be placed, as a note. */
static void explain_unplaced(struct work *w, int x, const char *cause) {
  const struct unit *ux = &w->u[x];
  char dem[128];
  fmt_demand(w, x, dem, sizeof(dem));
  if (ux->unknown) {
    note(w,
         "%s (%s) not placed: its demand is unknown (missing or stale "
         "metrics)",
         uname(w, x), cause);
    return;
  }
  /* Room on the nodes it may use, and the proof that no packing exists:
   * in some dimension all online nodes together lack the room. */
  size_t nallowed = 0;
  int best = -1;
  double room = 0;
  for (size_t n = 0; n < w->nn; n++) {
    if (!permitted(w, x, (int)n, -1))
      continue;
    nallowed++;
    const struct bal_node *nd = &w->c->nodes[n];
    double r = INFINITY;
    for (int d = 0; d < BAL_NDIM; d++)
      if (bal_dim_on(nd, d) && ux->d[d] > 0)
        r = fmin(r, (nd->cap[d] - w->load[n][d]) / w->avgcap[d]);
    if (best < 0 || r > room) {
      best = (int)n;
      room = r;
    }
  }
  if (!nallowed) {
    note(w,
         "%s (%s) not placed: no online node may take it (bans, "
         "colocations, standby, maintenance or Pacemaker utilization)",
         uname(w, x), cause);
    return;
  }
  const char *lack = NULL;
  for (int d = 0; d < BAL_NDIM && !lack; d++) {
    double free_d = 0;
    for (size_t n = 0; n < w->nn; n++)
      if (w->target[n] && bal_dim_on(&w->c->nodes[n], d))
        free_d += fmax(0, w->c->nodes[n].cap[d] - w->load[n][d]);
    if (ux->d[d] > free_d + EPS)
      lack = bal_dim_name(d);
  }
  char proof[160];
  if (lack)
    snprintf(proof, sizeof(proof),
             "no packing exists: all online nodes together lack the %s", lack);
  else
    snprintf(proof, sizeof(proof), "%s",
             w->p.repack ? "no repacking found within the search limit"
                         : "repacking is disabled");
  note(w,
       "%s (%s, needs %s) not placed: the most free room on a node it may "
       "use is %.0f%% of an average node (%s); %s",
       uname(w, x), cause, dem, 100 * fmax(room, 0), nname(w, best), proof);
}

/* Places the units v (homeless, or lifted off a failing node): greedily,
 * then by making room, then by a whole repack. What stays unplaced ends in
 * w->unplaced, units of unknown demand last (they are never placed). */
static void absorb(struct work *w, int *v, size_t n) {
  struct bal_ints unknown = {0};
  sort_units(w, v, n);
  for (size_t i = 0; i < n; i++) {
    struct bal_ints *to = w->u[v[i]].unknown ? &unknown : &w->unplaced;
    if (to == &unknown || !place_greedy(w, v[i], BAL_WHY_FAILOVER, -1))
      if (bal_ints_push(to, v[i]) < 0)
        w->oom = 1;
  }
  if (w->p.repack && w->unplaced.n) {
    struct bal_ints left = {0};
    for (size_t i = 0; i < w->unplaced.n; i++)
      if (!make_room(w, w->unplaced.v[i]))
        if (bal_ints_push(&left, w->unplaced.v[i]) < 0)
          w->oom = 1;
    bal_ints_free(&w->unplaced);
    w->unplaced = left;
    if (w->unplaced.n && (repack(w, true) || repack(w, false)))
      w->unplaced.n = 0;
  }
  for (size_t i = 0; i < unknown.n; i++)
    if (bal_ints_push(&w->unplaced, unknown.v[i]) < 0)
      w->oom = 1;
  bal_ints_free(&unknown);
}

static void failover(struct work *w) {
  int *v = malloc((w->nu + 1) * sizeof(*v));
  if (!v) {
    w->oom = 1;
    return;
  }
  size_t n = 0;
  for (size_t i = 0; i < w->nu; i++) {
    struct unit *x = &w->u[i];
    if (!x->homeless)
      continue;
    if (x->fixed) {
      const char *why = w->c->svcs[x->root].why_fixed;
      note(w, "%s is not running and is left alone: %s", uname(w, (int)i),
           why ? why : "fixed");
      continue;
    }
    v[n++] = (int)i;
  }
  absorb(w, v, n);
  free(v);
  for (size_t i = 0; i < w->unplaced.n; i++) {
    int x = w->unplaced.v[i];
    int o = w->u[x].orig;
    char cause[160];
    if (o >= 0)
      snprintf(cause, sizeof(cause), "was on %s, now offline", nname(w, o));
    else
      snprintf(cause, sizeof(cause), "stopped");
    explain_unplaced(w, x, cause);
  }
}

/* ---- overload ------------------------------------------------------------ */

static bool can_balance(const struct work *w, int x) {
  const struct unit *ux = &w->u[x];
  return !ux->fixed && !ux->cooldown && !ux->unknown && !ux->homeless;
}

/* Whether moving x off n alone brings n under threshold. */
static bool covers(const struct work *w, int n, int x) {
  return util_with(w, n, -1, x) <= w->p.threshold + EPS;
}

static bool try_single(struct work *w, int n, int *cand, size_t nc) {
  /* cand is sorted by decreasing size: the smallest covering unit first. */
  for (size_t i = nc; i-- > 0;) {
    int x = cand[i];
    if (!covers(w, n, x))
      continue;
    int t = best_target(w, x, w->p.threshold, n, PICK_LOWEST);
    if (t >= 0) {
      do_move(w, x, t, BAL_WHY_OVERLOAD, -1);
      return true;
    }
  }
  /* None covers and fits: the largest that fits makes progress. */
  for (size_t i = 0; i < nc; i++) {
    int x = cand[i];
    int t = best_target(w, x, w->p.threshold, n, PICK_LOWEST);
    if (t >= 0) {
      do_move(w, x, t, BAL_WHY_OVERLOAD, -1);
      return true;
    }
  }
  return false;
}

/* A heavy unit h of n for a lighter unit l of another node m, when both end
 * under threshold. Targets are tried from the least loaded. */
static bool try_swap(struct work *w, int n, int *cand, size_t nc) {
  int *order = malloc((w->nn + 1) * sizeof(*order));
  if (!order) {
    w->oom = 1;
    return false;
  }
  size_t no = 0;
  for (size_t m = 0; m < w->nn; m++)
    if ((int)m != n && w->target[m])
      order[no++] = (int)m;
  /* Selection of the 32 least loaded nodes is enough. */
  size_t lim = no < 32 ? no : 32;
  for (size_t i = 0; i < lim; i++)
    for (size_t j = i + 1; j < no; j++)
      if (util_of(w, order[j]) < util_of(w, order[i])) {
        int t = order[i];
        order[i] = order[j];
        order[j] = t;
      }
  bool ok = false;
  for (size_t i = 0; !ok && i < nc && i < 16; i++) {
    int h = cand[i];
    for (size_t k = 0; !ok && k < lim; k++) {
      int m = order[k];
      if (banned(&w->u[h], m))
        continue;
      int best = -1;
      struct bal_ints *l = &w->on[m];
      for (size_t j = 0; j < l->n; j++) {
        int x = l->v[j];
        w->work++;
        if (!can_balance(w, x) || w->u[x].size >= w->u[h].size)
          continue;
        if (!allowed(w, h, m, x) || !allowed(w, x, n, h))
          continue;
        /* Both nodes end under threshold. */
        double un = 0, um = 0;
        const struct bal_node *a = &w->c->nodes[n], *b = &w->c->nodes[m];
        for (int d = 0; d < BAL_NDIM; d++) {
          double dd = w->u[h].d[d] - w->u[x].d[d];
          if (bal_dim_on(a, d))
            un = fmax(un, (w->load[n][d] - dd) / a->cap[d]);
          if (bal_dim_on(b, d))
            um = fmax(um, (w->load[m][d] + dd) / b->cap[d]);
        }
        if (un > w->p.threshold + EPS || um > w->p.threshold + EPS)
          continue;
        if (best < 0 || w->u[x].size < w->u[best].size)
          best = x;
      }
      if (best >= 0) {
        do_move(w, h, m, BAL_WHY_SWAP, best);
        do_move(w, best, n, BAL_WHY_SWAP, h);
        ok = true;
      }
    }
  }
  free(order);
  return ok;
}

/* When nothing brings n under threshold: the move (or, budget allowing, the
 * heavy-for-light swap) that lowers the higher of the two nodes'
 * utilisation most, if by at least RELIEF and within capacity. Evens out a
 * cluster above threshold on average (after a failure) instead of leaving
 * its worst node at the edge. */
#define RELIEF 0.02

static bool try_relief(struct work *w, int n, int *cand, size_t nc) {
  double best = util_of(w, n) - RELIEF;
  int bx = -1, bt = -1, bl = -1;
  const struct bal_node *a = &w->c->nodes[n];
  for (size_t i = 0; i < nc; i++) {
    int x = cand[i];
    double src = util_with(w, n, -1, x);
    for (size_t m = 0; m < w->nn; m++) {
      if ((int)m == n || !w->target[m])
        continue;
      w->work++;
      double dst = util_with(w, (int)m, x, -1);
      if (allowed(w, x, (int)m, -1) && dst <= 1.0 + EPS &&
          fmax(src, dst) < best - EPS) {
        best = fmax(src, dst);
        bx = x;
        bt = (int)m;
        bl = -1;
      }
      if (w->budget < 2 || !w->p.swaps)
        continue;
      const struct bal_node *b = &w->c->nodes[m];
      for (size_t j = 0; j < w->on[m].n; j++) {
        int l = w->on[m].v[j];
        if (!can_balance(w, l) || w->u[l].size >= w->u[x].size ||
            !allowed(w, x, (int)m, l) || !allowed(w, l, n, x))
          continue;
        double un = 0, um = 0;
        for (int d = 0; d < BAL_NDIM; d++) {
          double dd = w->u[x].d[d] - w->u[l].d[d];
          if (bal_dim_on(a, d))
            un = fmax(un, (w->load[n][d] - dd) / a->cap[d]);
          if (bal_dim_on(b, d))
            um = fmax(um, (w->load[m][d] + dd) / b->cap[d]);
        }
        if (um <= 1.0 + EPS && fmax(un, um) < best - EPS) {
          best = fmax(un, um);
          bx = x;
          bt = (int)m;
          bl = l;
        }
      }
    }
  }
  if (bx < 0)
    return false;
  if (bl < 0) {
    do_move(w, bx, bt, BAL_WHY_OVERLOAD, -1);
  } else {
    do_move(w, bx, bt, BAL_WHY_SWAP, bl);
    do_move(w, bl, n, BAL_WHY_SWAP, bx);
  }
  return true;
}

static int cmp_util_desc(const void *a, const void *b, void *ctx) {
  const struct work *w = ctx;
  double x = util_of(w, *(const int *)a), y = util_of(w, *(const int *)b);
  if (x != y)
    return x < y ? 1 : -1;
  return cmp_int(a, b);
}

static void fix_overloads(struct work *w) {
  int *over = malloc((w->nn + 1) * sizeof(*over));
  int *cand = malloc((w->nu + 1) * sizeof(*cand));
  if (!over || !cand) {
    w->oom = 1;
    goto out;
  }
  size_t no = 0;
  for (size_t n = 0; n < w->nn; n++)
    if (w->c->nodes[n].state == BAL_NODE_ONLINE && w->target[n] &&
        util_of(w, (int)n) > w->p.threshold + EPS)
      over[no++] = (int)n;
  if (no > 1)
    qsort_r(over, no, sizeof(int), cmp_util_desc, w);
  for (size_t i = 0; i < no; i++) {
    int n = over[i];
    double start = util_of(w, n);
    const char *stuck = NULL;
    while (util_of(w, n) > w->p.threshold + EPS) {
      if (w->budget == 0) {
        stuck = "the move budget of this pass is spent";
        break;
      }
      size_t nc = 0;
      for (size_t j = 0; j < w->on[n].n; j++)
        if (can_balance(w, w->on[n].v[j]))
          cand[nc++] = w->on[n].v[j];
      if (!nc) {
        stuck = "nothing on it may move (fixed, cooling down or unknown)";
        break;
      }
      sort_units(w, cand, nc);
      if (try_single(w, n, cand, nc))
        continue;
      if (w->p.swaps && w->budget >= 2 && try_swap(w, n, cand, nc))
        continue;
      if (try_relief(w, n, cand, nc))
        continue;
      stuck = "no service on it fits on another node under threshold";
      break;
    }
    if (stuck)
      note(w, "%s stays at %.0f%% (forecast %.0f%%, threshold %.0f%%): %s",
           nname(w, n), 100 * util_of(w, n), 100 * start, 100 * w->p.threshold,
           stuck);
  }
out:
  free(over);
  free(cand);
}

/* ---- the plan
 * ------------------------------------------------------------------ */

static void why_text(const struct work *w, const struct rec *r, pm_buf_t *b) {
  char dem[128];
  fmt_demand(w, r->unit, dem, sizeof(dem));
  const char *src = nname(w, w->u[r->unit].orig);
  switch (r->why) {
  case BAL_WHY_OVERLOAD:
    pm_buf_printf(b,
                  "%s forecast %.0f%% > %.0f%%: %s (%s) to %s (%.0f%% -> "
                  "%.0f%%)",
                  src, 100 * r->src_util, 100 * w->p.threshold,
                  uname(w, r->unit), dem, nname(w, r->to), 100 * r->dst_before,
                  100 * r->dst_after);
    if (r->dst_after > w->p.threshold + EPS)
      pm_buf_puts(b, "; no node has room under the threshold: this evens "
                     "out the load");
    break;
  case BAL_WHY_SWAP:
    pm_buf_printf(b, "swap with %s: %s (%s) from %s (%.0f%%) to %s",
                  uname(w, r->other), uname(w, r->unit), dem, src,
                  100 * r->src_util, nname(w, r->to));
    break;
  case BAL_WHY_FAILOVER:
    if (w->u[r->unit].orig >= 0)
      pm_buf_printf(b, "%s is offline: %s (%s) to %s (%.0f%% -> %.0f%%)", src,
                    uname(w, r->unit), dem, nname(w, r->to),
                    100 * r->dst_before, 100 * r->dst_after);
    else
      pm_buf_printf(b, "%s is stopped: placed on %s (%s, %.0f%% -> %.0f%%)",
                    uname(w, r->unit), nname(w, r->to), dem,
                    100 * r->dst_before, 100 * r->dst_after);
    break;
  case BAL_WHY_ROOM:
    if (r->other >= 0)
      pm_buf_printf(b, "makes room on %s for %s: %s (%s) to %s", src,
                    uname(w, r->other), uname(w, r->unit), dem,
                    nname(w, r->to));
    else
      pm_buf_printf(b, "repack to fit failed services: %s (%s) from %s to %s",
                    uname(w, r->unit), dem, src, nname(w, r->to));
    break;
  }
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
    p->before[n] = bal_node_util(w->c, (int)n);
    p->after[n] = w->target[n] ? util_of(w, (int)n) : p->before[n];
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
    if (last[xi] < 0 || x->node == x->orig || x->node < 0) {
      last[xi] = -1;
      continue;
    }
    struct rec rc = w->log[last[xi]];
    last[xi] = -1;
    if (x->homeless)
      rc.why = BAL_WHY_FAILOVER;
    struct plan_move *m = &p->moves[p->nmoves];
    *m = (struct plan_move){
        .unit = xi, .from = x->orig, .to = x->node, .why = rc.why};
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
  int r = work_init(&w, c, p);
  if (r == 0) {
    failover(&w);
    fix_overloads(&w);
    r = w.oom ? -ENOMEM : finish(&w, ret);
  }
  work_free(&w);
  return r;
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
                      .why = m->why_text};
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

/* The failure of node on a built work state, undone before returning. */
static int whatif_one(struct work *w, int node, double *ret_util) {
  size_t mark = w->nlog, n = 0;
  int r = 0;
  struct bal_ints *on = &w->on[node];
  int *v = malloc((on->n + 1) * sizeof(*v));
  if (!v)
    return -ENOMEM;
  for (size_t i = 0; i < on->n; i++) {
    v[n++] = on->v[i];
    if (w->u[on->v[i]].unknown)
      r = -ENODATA;
  }
  bool was_target = w->target[node];
  w->target[node] = false;
  if (r == 0) {
    for (size_t i = 0; i < n; i++)
      do_move(w, v[i], -1, BAL_WHY_FAILOVER, -1);
    absorb(w, v, n);
  }
  free(v);
  double worst = 0;
  for (size_t m = 0; m < w->nn; m++)
    if (w->target[m])
      worst = fmax(worst, util_of(w, (int)m));
  if (ret_util)
    *ret_util = r == -ENODATA ? NAN : worst;
  if (r == 0)
    r = w->oom ? -ENOMEM : w->unplaced.n == 0;
  w->unplaced.n = 0;
  rollback(w, mark);
  w->target[node] = was_target;
  return r;
}

int bal_whatif(const bal_cluster_t *c, const bal_params_t *p, int node,
               double *ret_util) {
  struct work w;
  if (!c || !p || node < 0 || (size_t)node >= c->nnodes)
    return -EINVAL;
  int r = work_init(&w, c, p);
  if (r == 0)
    r = whatif_one(&w, node, ret_util);
  work_free(&w);
  return r;
}

int bal_whatif_all(const bal_cluster_t *c, const bal_params_t *p, int *ret_ok,
                   double *ret_util) {
  struct work w;
  if (!c || !p || !ret_ok || !ret_util)
    return -EINVAL;
  int r = work_init(&w, c, p);
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
  work_free(&w);
  return r;
}
