/* plan-failover.c: placing the units of offline nodes and stopped units:
 * greedily, then by making room, then by a whole repack. */
#include "config.h"

#include "plan-internal.h"

#include <stdio.h>
#include <stdlib.h>

/* ---- failover
 * ------------------------------------------------------------------ */

static int cmp_size_desc(const void *a, const void *b, void *ctx) {
  const struct work *w = ctx;
  double x = w->u[*(const int *)a].size, y = w->u[*(const int *)b].size;
  if (x != y)
    return x < y ? 1 : -1;
  return plan_cmp_int(a, b);
}

/* qsort_r with the work state. */
void plan_sort_units(struct work *w, int *v, size_t n) {
  if (n > 1)
    qsort_r(v, n, sizeof(int), cmp_size_desc, w);
}

/* Places x under threshold if possible, else under lim. */
static bool place_greedy(struct work *w, int x, double lim) {
  int t = plan_best_target(w, x, w->p.threshold, -1, PICK_LOWEST);
  if (t < 0 && lim > w->p.threshold)
    t = plan_best_target(w, x, lim, -1, PICK_LOWEST);
  if (t < 0)
    return false;
  plan_do_move(w, x, t, BAL_WHY_FAILOVER, -1);
  return true;
}

/* Whether unit v may be moved to make room (the failover of another). */
static bool can_evict(const struct work *w, int v) {
  const struct unit *uv = &w->u[v];
  return !uv->fixed && !uv->unknown && !uv->homeless;
}

/* Where v can go to make room (not m): under threshold if possible, else
 * under lim. */
static int room_target(struct work *w, int v, int m, double lim) {
  int k = plan_best_target(w, v, w->p.threshold, m, PICK_LOWEST);
  return k >= 0 || lim <= w->p.threshold
             ? k
             : plan_best_target(w, v, lim, m, PICK_LOWEST);
}

/* Evictable units on m, smallest first, into cand. */
static size_t evictable_on(struct work *w, int m, int *cand) {
  size_t nc = 0;
  for (size_t i = 0; i < w->on[m].n; i++)
    if (can_evict(w, w->on[m].v[i]))
      cand[nc++] = w->on[m].v[i];
  plan_sort_units(w, cand, nc);
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
 * one node. Then places x on m. Everything stays under lim (a fraction of
 * capacity). Bounded by search_limit steps. */
static bool make_room(struct work *w, int x, double lim) {
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
    if (!plan_permitted(w, x, (int)m, -1))
      continue;
    size_t nc = evictable_on(w, (int)m, cand);
    for (size_t i = 0; i < nc && w->work < stop; i++) {
      int v = cand[i];
      /* m must fit x once v is gone. */
      if (!plan_allowed(w, x, (int)m, v) ||
          plan_util_with(w, (int)m, x, v) > lim + EPS)
        continue;
      int k = room_target(w, v, (int)m, lim);
      if (k < 0)
        continue;
      double score =
          fmax(plan_util_with(w, (int)m, x, v), plan_util_with(w, k, v, -1));
      if (score < best_score - EPS) {
        best_score = score;
        best_m = (int)m;
        best_v = v;
        best_k = k;
      }
    }
  }
  if (best_m >= 0) {
    plan_do_move(w, best_v, best_k, BAL_WHY_ROOM, x);
    plan_do_move(w, x, best_m, BAL_WHY_FAILOVER, -1);
    ok = true;
  }
  for (size_t m = 0; !ok && m < w->nn && w->work < stop; m++) {
    if (!plan_permitted(w, x, (int)m, -1))
      continue;
    size_t nc = evictable_on(w, (int)m, cand);
    for (size_t i = 0; i < nc && !ok && w->work < stop; i++) {
      size_t mark = w->nlog;
      int k = room_target(w, cand[i], (int)m, lim);
      if (k < 0)
        continue;
      plan_do_move(w, cand[i], k, BAL_WHY_ROOM, x);
      for (size_t j = i + 1; j < nc && w->work < stop; j++) {
        if (plan_fits(w, x, (int)m, -1, lim))
          break;
        size_t mark2 = w->nlog;
        int k2 = room_target(w, cand[j], (int)m, lim);
        if (k2 < 0)
          continue;
        plan_do_move(w, cand[j], k2, BAL_WHY_ROOM, x);
        if (!plan_fits(w, x, (int)m, -1, lim))
          plan_rollback(w, mark2);
      }
      if (plan_fits(w, x, (int)m, -1, lim)) {
        plan_do_move(w, x, (int)m, BAL_WHY_FAILOVER, -1);
        ok = true;
      } else {
        plan_rollback(w, mark);
      }
    }
  }
  free(cand);
  return ok;
}

/* Lifts every evictable unit and the unplaced ones, and puts them back in
 * decreasing size under lim, each on its own node when it still fits there
 * (sticky) or on the tightest fit. */
static bool repack(struct work *w, bool sticky, double lim) {
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
  plan_sort_units(w, v, n);
  for (size_t i = 0; i < n; i++)
    if (w->u[v[i]].node >= 0 && plan_src_of(w, v[i]) >= 0)
      plan_do_move(w, v[i], -1, BAL_WHY_ROOM, -1);
  bool ok = true;
  for (size_t i = 0; ok && i < n; i++) {
    struct unit *x = &w->u[v[i]];
    int home = x->homeless ? -1 : x->orig;
    int t = -1;
    if (sticky && home >= 0 && plan_fits(w, v[i], home, -1, lim))
      t = home;
    if (t < 0)
      t = plan_best_target(w, v[i], lim, -1, PICK_TIGHTEST);
    if (t < 0)
      ok = false;
    else
      plan_do_move(w, v[i], t, x->homeless ? BAL_WHY_FAILOVER : BAL_WHY_ROOM,
                   -1);
  }
  free(v);
  if (!ok)
    plan_rollback(w, mark);
  return ok;
}

/* Why x cannot be placed, as a note. */
static void explain_unplaced(struct work *w, int x, const char *cause) {
  const struct unit *ux = &w->u[x];
  char dem[128];
  plan_fmt_demand(w, x, dem, sizeof(dem));
  if (ux->unknown) {
    plan_note(w,
              "%s (%s) not placed: its demand is unknown (missing or stale "
              "metrics)",
              plan_uname(w, x), cause);
    return;
  }
  /* Room on the nodes it may use, and the proof that no packing exists:
   * in some dimension all online nodes together lack the room. */
  size_t nallowed = 0;
  int best = -1;
  double room = 0;
  for (size_t n = 0; n < w->nn; n++) {
    if (!plan_permitted(w, x, (int)n, -1))
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
    plan_note(w,
              "%s (%s) not placed: no online node may take it (bans, "
              "colocations, standby, maintenance or Pacemaker utilization)",
              plan_uname(w, x), cause);
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
  plan_note(w,
            "%s (%s, needs %s) not placed: the most free room on a node it may "
            "use is %.0f%% of an average node (%s); %s",
            plan_uname(w, x), cause, dem, 100 * fmax(room, 0),
            plan_nname(w, best), proof);
}

/* One attempt to place the units v (of known demand) under lim: greedily,
 * then by making room, then by a whole repack. What stays unplaced ends
 * in w->unplaced. */
static void absorb_under(struct work *w, const int *v, size_t n, double lim) {
  for (size_t i = 0; i < n; i++)
    if (!place_greedy(w, v[i], lim) && bal_ints_push(&w->unplaced, v[i]) < 0)
      w->oom = 1;
  if (w->p.repack && w->unplaced.n) {
    struct bal_ints left = {0};
    for (size_t i = 0; i < w->unplaced.n; i++)
      if (!make_room(w, w->unplaced.v[i], lim))
        if (bal_ints_push(&left, w->unplaced.v[i]) < 0)
          w->oom = 1;
    bal_ints_free(&w->unplaced);
    w->unplaced = left;
    if (w->unplaced.n && (repack(w, true, lim) || repack(w, false, lim)))
      w->unplaced.n = 0;
  }
}

/* The attempts, the first that places everything wins: everything under
 * threshold, then under capacity, both with the move charge on the
 * sources of running units moved to make room (they still carry them
 * while they move); then under capacity without it. */
static const struct {
  bool at_threshold, charged;
} attempts[] = {{true, true}, {false, true}, {false, false}};

void plan_absorb(struct work *w, int *v, size_t n) {
  struct bal_ints unknown = {0};
  int *known = malloc((n + 1) * sizeof(*known));
  size_t nk = 0;
  if (!known) {
    w->oom = 1;
    return;
  }
  plan_sort_units(w, v, n);
  for (size_t i = 0; i < n; i++)
    if (!w->u[v[i]].unknown)
      known[nk++] = v[i];
    else if (bal_ints_push(&unknown, v[i]) < 0)
      w->oom = 1;
  size_t na = sizeof(attempts) / sizeof(attempts[0]);
  for (size_t a = 0; a < na; a++) {
    size_t mark = w->nlog;
    w->charged = attempts[a].charged;
    absorb_under(w, known, nk, attempts[a].at_threshold ? w->p.threshold : 1.0);
    if (!w->unplaced.n || a + 1 == na)
      break;
    plan_rollback(w, mark);
    w->unplaced.n = 0;
  }
  w->charged = false;
  free(known);
  for (size_t i = 0; i < unknown.n; i++)
    if (bal_ints_push(&w->unplaced, unknown.v[i]) < 0)
      w->oom = 1;
  bal_ints_free(&unknown);
}

void plan_failback(struct work *w) {
  for (size_t i = 0; i < w->nu; i++) {
    struct unit *x = &w->u[i];
    int h = w->c->svcs[x->root].home;
    if (h < 0 || x->node == h || x->homeless || x->node < 0)
      continue;
    if (x->fixed || x->unknown) {
      plan_note(w, "%s: fail-back to %s waits: %s", plan_uname(w, (int)i),
                plan_nname(w, h),
                x->unknown ? "its demand is unknown" : "it may not move");
      continue;
    }
    if (!plan_fits(w, (int)i, h, -1, w->p.threshold)) {
      char dem[128];
      plan_fmt_demand(w, (int)i, dem, sizeof(dem));
      plan_note(w,
                "%s (%s): fail-back to %s waits: %s (%.0f%% with it, "
                "threshold %.0f%%)",
                plan_uname(w, (int)i), dem, plan_nname(w, h),
                plan_permitted(w, (int)i, h, -1) ? "no room there"
                                                 : "it may not run there now",
                100 * plan_util_with(w, h, (int)i, -1), 100 * w->p.threshold);
      continue;
    }
    plan_do_move(w, (int)i, h, BAL_WHY_FAILBACK, -1);
    x->cooldown = true; /* not moved away again by this plan */
  }
}

int plan_promote(struct work *w, int x) {
  const struct unit *ux = &w->u[x];
  int best = -1;
  double bu = 0;
  for (size_t i = 0; ux->ha == BAL_HA_PROMOTED && i < ux->standbys.n; i++) {
    int sb = ux->standbys.v[i], n = w->u[sb].node;
    if (n < 0 || !w->target[n] || plan_banned(ux, n))
      continue;
    double u = plan_util_with(w, n, x, sb);
    if (best < 0 || u < bu - EPS) {
      best = sb;
      bu = u;
    }
  }
  if (best < 0)
    return -1;
  int n = w->u[best].node;
  plan_do_move(w, best, -1, BAL_WHY_FAILOVER, x);
  plan_do_move(w, x, n, BAL_WHY_FAILOVER, best);
  return n;
}

void plan_failover(struct work *w) {
  int *v = malloc((w->nu + 1) * sizeof(*v));
  if (!v) {
    w->oom = 1;
    return;
  }
  size_t n = 0;
  for (size_t i = 0; i < w->nu; i++) {
    struct unit *x = &w->u[i];
    if (!x->homeless || x->ha == BAL_HA_CLONE || x->ha == BAL_HA_UNPROMOTED)
      continue; /* the other instances carry on */
    double before = 0;
    for (size_t k = 0; x->ha == BAL_HA_PROMOTED && k < x->standbys.n; k++) {
      int sn = w->u[x->standbys.v[k]].node;
      if (sn >= 0)
        before = fmax(before, plan_util_of(w, sn));
    }
    int pn = plan_promote(w, (int)i);
    if (pn >= 0) {
      /* The HA stack promotes; nothing to move, nor to move again. */
      x->promotion = x->fixed = true;
      plan_note(w,
                "%s: %s is offline: its standby on %s is promoted (the "
                "HA stack does it; %.0f%% -> %.0f%%)",
                plan_uname(w, (int)i), plan_nname(w, x->orig),
                plan_nname(w, pn), 100 * before, 100 * plan_util_of(w, pn));
      continue;
    }
    if (x->fixed) {
      const char *why = w->c->svcs[x->root].why_fixed;
      plan_note(w, "%s is not running and is left alone: %s",
                plan_uname(w, (int)i), why ? why : "fixed");
      continue;
    }
    v[n++] = (int)i;
  }
  plan_absorb(w, v, n);
  free(v);
  for (size_t i = 0; i < w->unplaced.n; i++) {
    int x = w->unplaced.v[i];
    int o = w->u[x].orig;
    char cause[160];
    if (o >= 0)
      snprintf(cause, sizeof(cause), "was on %s, now offline",
               plan_nname(w, o));
    else
      snprintf(cause, sizeof(cause), "stopped");
    explain_unplaced(w, x, cause);
  }
}
