/* plan-overload.c: bringing nodes forecast above threshold under it within
 * the move budget. */
#include "config.h"

#include "plan-internal.h"

#include <stdlib.h>

/* ---- overload ------------------------------------------------------------ */

static bool can_balance(const struct work *w, int x) {
  const struct unit *ux = &w->u[x];
  return !ux->fixed && !ux->cooldown && !ux->unknown && !ux->homeless;
}

/* Whether moving x off n alone brings n under threshold. */
static bool covers(const struct work *w, int n, int x) {
  return plan_util_with(w, n, -1, x) <= w->p.threshold + EPS;
}

static bool try_single(struct work *w, int n, int *cand, size_t nc) {
  /* cand is sorted by decreasing size: the smallest covering unit first. */
  for (size_t i = nc; i-- > 0;) {
    int x = cand[i];
    if (!covers(w, n, x))
      continue;
    int t = plan_best_target(w, x, w->p.threshold, n, PICK_LOWEST);
    if (t >= 0) {
      plan_do_move(w, x, t, BAL_WHY_OVERLOAD, -1);
      return true;
    }
  }
  /* None covers and fits: the largest that fits makes progress. */
  for (size_t i = 0; i < nc; i++) {
    int x = cand[i];
    int t = plan_best_target(w, x, w->p.threshold, n, PICK_LOWEST);
    if (t >= 0) {
      plan_do_move(w, x, t, BAL_WHY_OVERLOAD, -1);
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
      if (plan_util_of(w, order[j]) < plan_util_of(w, order[i])) {
        int t = order[i];
        order[i] = order[j];
        order[j] = t;
      }
  bool ok = false;
  for (size_t i = 0; !ok && i < nc && i < 16; i++) {
    int h = cand[i];
    for (size_t k = 0; !ok && k < lim; k++) {
      int m = order[k];
      if (plan_banned(&w->u[h], m))
        continue;
      int best = -1;
      struct bal_ints *l = &w->on[m];
      for (size_t j = 0; j < l->n; j++) {
        int x = l->v[j];
        w->work++;
        if (!can_balance(w, x) || w->u[x].size >= w->u[h].size)
          continue;
        if (!plan_allowed(w, h, m, x) || !plan_allowed(w, x, n, h))
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
        plan_do_move(w, h, m, BAL_WHY_SWAP, best);
        plan_do_move(w, best, n, BAL_WHY_SWAP, h);
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
  double best = plan_util_of(w, n) - RELIEF;
  int bx = -1, bt = -1, bl = -1;
  const struct bal_node *a = &w->c->nodes[n];
  for (size_t i = 0; i < nc; i++) {
    int x = cand[i];
    double src = plan_util_with(w, n, -1, x);
    for (size_t m = 0; m < w->nn; m++) {
      if ((int)m == n || !w->target[m])
        continue;
      w->work++;
      double dst = plan_util_with(w, (int)m, x, -1);
      if (plan_allowed(w, x, (int)m, -1) && dst <= 1.0 + EPS &&
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
            !plan_allowed(w, x, (int)m, l) || !plan_allowed(w, l, n, x))
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
    plan_do_move(w, bx, bt, BAL_WHY_OVERLOAD, -1);
  } else {
    plan_do_move(w, bx, bt, BAL_WHY_SWAP, bl);
    plan_do_move(w, bl, n, BAL_WHY_SWAP, bx);
  }
  return true;
}

static int cmp_util_desc(const void *a, const void *b, void *ctx) {
  const struct work *w = ctx;
  double x = plan_util_of(w, *(const int *)a),
         y = plan_util_of(w, *(const int *)b);
  if (x != y)
    return x < y ? 1 : -1;
  return plan_cmp_int(a, b);
}

void plan_fix_overloads(struct work *w) {
  int *over = malloc((w->nn + 1) * sizeof(*over));
  int *cand = malloc((w->nu + 1) * sizeof(*cand));
  if (!over || !cand) {
    w->oom = 1;
    goto out;
  }
  size_t no = 0;
  for (size_t n = 0; n < w->nn; n++)
    if (w->c->nodes[n].state == BAL_NODE_ONLINE && w->target[n] &&
        plan_util_of(w, (int)n) > w->p.threshold + EPS)
      over[no++] = (int)n;
  if (no > 1)
    qsort_r(over, no, sizeof(int), cmp_util_desc, w);
  for (size_t i = 0; i < no; i++) {
    int n = over[i];
    double start = plan_util_of(w, n);
    const char *stuck = NULL;
    while (plan_util_of(w, n) > w->p.threshold + EPS) {
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
      plan_sort_units(w, cand, nc);
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
      plan_note(w, "%s stays at %.0f%% (forecast %.0f%%, threshold %.0f%%): %s",
                plan_nname(w, n), 100 * plan_util_of(w, n), 100 * start,
                100 * w->p.threshold, stuck);
  }
out:
  free(over);
  free(cand);
}
