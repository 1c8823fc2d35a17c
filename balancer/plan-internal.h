/* plan-internal.h: what the planner's files share (plan.c, plan-work.c,
 * plan-failover.c, plan-overload.c); not installed. */
#ifndef PATMON_BALANCER_PLAN_INTERNAL_H
#define PATMON_BALANCER_PLAN_INTERNAL_H

#include "internal.h"

#define EPS 1e-9

struct unit {
  int root;            /* representative service */
  int first, count;    /* members in w->members[first..first+count) */
  double d[BAL_NDIM];  /* demand, NAN when unknown */
  double s2[BAL_NDIM]; /* variance of the demand (spreads squared) */
  double ld[BAL_NDIM], ls2[BAL_NDIM]; /* over the placement horizon */
  double attr[BAL_MAX_ATTRS];
  double size;    /* normalised, for ordering */
  int node, orig; /* planned and original node */
  bool fixed, cooldown, homeless, unknown;
  bool promotion;        /* failover promoted its standby (a note, no move) */
  enum bal_ha ha;        /* of its representative service */
  struct bal_ints bans;  /* nodes, sorted */
  struct bal_ints apart; /* units it may not share a node with */
  struct bal_ints standbys; /* BAL_HA_PROMOTED: its unpromoted instances */
};

struct rec { /* one step of the move log */
  int unit, from, to;
  enum bal_reason why;
  int other;       /* swap partner or the unit room was made for */
  double src_util; /* source utilisation before the step */
  double dst_before, dst_after;
  double gain; /* expected overload removed (balance moves), else NAN */
};

struct work {
  const bal_cluster_t *c;
  bal_params_t p;
  size_t nn, nu;
  double (*load)[BAL_NDIM];
  double (*var)[BAL_NDIM]; /* variance of each node's load */
  double (*lload)[BAL_NDIM], (*lvar)[BAL_NDIM]; /* over the horizon */
  /* move_charge x the demand of running units planned off each node: what
   * it still carries while they move; counted in its forecast when
   * charged (failover) */
  double (*charge)[BAL_NDIM];
  bool charged;
  double *before;                /* forecast utilisation before the plan */
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

/* ---- plan-work.c --------------------------------------------------------- */

/* Appends a sentence to the plan's notes (what it could not do). */
void plan_note(struct work *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Forecast load of n in dimension d (planned load + z standard
 * deviations) with unit x (or -1) added and unit y (or -1) taken away. */
double plan_load_of(const struct work *w, int n, int d, int x, int y);
/* Forecast utilisation of n: max over balanced dimensions of (planned
 * load + z standard deviations) / capacity; while w->charged, the load
 * includes the move charge of the running units planned off n. */
double plan_util_of(const struct work *w, int n);
/* The same with unit x (or -1) added and unit y (or -1) taken away. */
double plan_util_with(const struct work *w, int n, int x, int y);
/* Expected overload of n with x (or -1) added and y (or -1) taken away:
 * for its load at the next step (with the move charge of the running units
 * planned off n, y's included) and over the placement horizon (weighed
 * near_weight and 1 - near_weight), each taken as normal around its mean
 * with its variance widened by spread_scale, the probability of being
 * above threshold x capacity plus the expected excess there as a fraction
 * of capacity, and the same again for capacity itself (so one node at
 * 110% scores more than two at 90%), summed over balanced dimensions. */
double plan_risk(const struct work *w, int n, int x, int y);
/* Whether n's forecast crosses threshold x capacity in some balanced
 * dimension, with its uncertainty (load plus z standard deviations): at
 * the next step (util: plan_util_of(w, n), which the caller has) or, when
 * the horizon has weight, over the placement horizon. Such nodes are
 * relieved by balance moves; nodes only near it (plan_forecast_near) are
 * evened out at a higher cost; the others stay still. */
bool plan_forecast_over(const struct work *w, int n, double util);
/* The same with k x z standard deviations, at the next step or over the
 * placement horizon: whether n's forecast may cross threshold. */
bool plan_forecast_near(const struct work *w, int n, double k);
/* Whether node n is among x's bans. */
bool plan_banned(const struct unit *x, int n);
/* Whether unit x may run on n at all (a target, not banned, no unit it
 * must avoid there), with unit y (or -1) leaving n at the same time. */
bool plan_permitted(const struct work *w, int x, int n, int y);
/* plan_permitted, and the declared capacities of n (Pacemaker utilization)
 * leave room for x with y (or -1) leaving. */
bool plan_allowed(const struct work *w, int x, int n, int y);
/* Whether x fits on n under limit (a fraction of capacity). */
bool plan_fits(const struct work *w, int x, int n, int y, double limit);

enum pick { PICK_LOWEST, PICK_TIGHTEST };
/* The node (not skip) where x fits under limit: with the lowest resulting
 * utilisation, or the tightest fit. -1 when none. */
int plan_best_target(struct work *w, int x, double limit, int skip,
                     enum pick how);

/* A unit that is homeless sits on its offline node (or none) without load
 * there: moving it only adds load to the target. Its source, else -1. */
int plan_src_of(const struct work *w, int x);
/* Moves unit x to node to (-1: off every node), logged with why and other
 * (a swap partner or the unit room is made for, else -1); balance moves
 * spend the budget. */
void plan_do_move(struct work *w, int x, int to, enum bal_reason why,
                  int other);
/* Undoes the log back to mark (a value of w->nlog). */
void plan_rollback(struct work *w, size_t mark);

/* qsort comparison of ints. */
int plan_cmp_int(const void *a, const void *b);
/* Builds the work state of c: units, loads, constraints. 0 or -ENOMEM;
 * plan_work_free in both cases. */
int plan_work_init(struct work *w, const bal_cluster_t *c,
                   const bal_params_t *p);
void plan_work_free(struct work *w);

/* Names for notes: unit x's representative service, node n ("(none)"). */
const char *plan_uname(const struct work *w, int x);
const char *plan_nname(const struct work *w, int n);
/* "cpu 1.20" for the dimensions unit x uses. */
void plan_fmt_demand(const struct work *w, int x, char *buf, size_t len);

/* ---- plan-failover.c ----------------------------------------------------- */

/* Sorts units v by decreasing size. */
void plan_sort_units(struct work *w, int *v, size_t n);
/* Places the units v (homeless, or lifted off a failing node): greedily,
 * then by making room, then by a whole repack; all under threshold if that
 * can be done, else under capacity, both counting the move charge on the
 * sources of moved running units, else under capacity without it. What
 * stays unplaced ends in w->unplaced, units of unknown demand last (they
 * are never placed). */
void plan_absorb(struct work *w, int *v, size_t n);
/* Unit x, promoted, lost its node: counts the promotion of its standby
 * on a target node (the lowest utilisation afterwards; whatever the room,
 * as the HA stack promotes by itself): the standby goes off its node and
 * x onto it. Returns that node, -1 (nothing done) when x is not promoted
 * or has no standby on a target node. */
int plan_promote(struct work *w, int x);
/* Places the units of offline nodes and the stopped ones (a promoted
 * instance by the promotion of its standby; clone and unpromoted
 * instances are left to the others); notes why any stays unplaced. */
void plan_failover(struct work *w);

/* Moves units whose representative service has a home (fail-back) back
 * there when it is a target, permitted, and they fit under threshold;
 * notes why one waits. */
void plan_failback(struct work *w);

/* ---- plan-overload.c ----------------------------------------------------- */

/* Brings nodes above threshold under it within the move budget; notes the
 * nodes it leaves above. */
void plan_fix_overloads(struct work *w);

#endif
