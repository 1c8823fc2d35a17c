/* balance.h: what the files of t/bench/balance share: trace sets (real CPU
 * demand of services, step by step, with their history), the demand
 * estimates patmon plans with, and the simulation of one day under one
 * balancing policy. */
#ifndef PATMON_BENCH_BALANCE_H
#define PATMON_BENCH_BALANCE_H

#include "balancer.h"

#include <stdbool.h>
#include <stddef.h>

#define STEP_MIN 5 /* minutes per step (300 s traces) */

/* One day of services: demand in cores per step, with the steps before it
 * (NAN where unknown) for forecasters and for policies that look back. */
struct trace_set {
  char label[96];
  size_t n;  /* services */
  int steps; /* simulated steps (288) */
  int hist;  /* history steps before step 0 */
  double *v; /* n x (hist + steps) */
  char **name;
  /* Filled by traces_estimate(): what patmon plans with at decision point
   * t (after step t, for step t + 1), per service. */
  struct est_cell *est; /* n x steps, NULL until computed */
};

struct est_cell {
  float value, spread, level, level_sd;
  unsigned char which, bursty;
};

/* Demand of service i at step t (-hist <= t < steps). */
static inline double demand(const struct trace_set *ts, size_t i, int t) {
  return ts->v[i * (size_t)(ts->hist + ts->steps) + (size_t)(ts->hist + t)];
}

static inline const struct est_cell *est_at(const struct trace_set *ts,
                                            size_t i, int t) {
  return &ts->est[i * (size_t)ts->steps + (size_t)t];
}

void traces_free(struct trace_set *ts);
/* Mean over the simulated steps of the summed demand (cores). */
double traces_mean_total(const struct trace_set *ts);

/* The PlanetLab day in dir: one file per VM, 288 integers (% of a core).
 * No history. -errno, or -EBADMSG with a message on stderr. */
int traces_planetlab(const char *dir, struct trace_set *ret);

/* The Bitbrains month in dir (NNN.csv.gz): one series per VM of demand in
 * cores = CPU cores x CPU usage [%] / 100 per 300-s slot of UTC days from
 * 2013-08-31 (rows with 0 cores are missing; a slot with two rows takes
 * their mean). */
struct bitbrains {
  size_t nvm;
  char **name;
  int nslots; /* 30 days of 288 */
  double *v;  /* nvm x nslots, NAN where no row */
};
int bitbrains_load(const char *dir, struct bitbrains *ret);
void bitbrains_free(struct bitbrains *b);
/* Day d (1 = 2013-09-01) as a trace set: every VM with a sample that day,
 * gaps filled with the last sample before (the first of the day at its
 * start); history: the day before, unfilled. */
int bitbrains_day(const struct bitbrains *b, int d, struct trace_set *ret);
/* Days first..first+ndays-1 as one day of nvm x ndays services (each VM-day
 * a service, history its VM's day before). */
int bitbrains_days(const struct bitbrains *b, int first, int ndays,
                   struct trace_set *ret);

/* Estimator settings of the simulated patmon. */
struct est_cfg {
  unsigned window;    /* steps of history read (the daemon's window) */
  unsigned fc_window; /* the forecast plugin's window, refit period */
  unsigned fc_refit;
  bal_est_params_t p;
  bool fixed_smooth; /* plan on the smoother alone (the old behaviour) */
};

/* Computes ts->est: the forecast plugin's predictions (forecast/ library,
 * run over history and day) and bal_estimate_auto per service and step.
 * Estimator usage counts go to used[BAL_NEST] (may be NULL). */
int traces_estimate(struct trace_set *ts, const struct est_cfg *ec,
                    unsigned long used[BAL_NEST]);

/* ---- simulation ------------------------------------------------------------
 */

enum policy {
  P_NONE,
  P_STATIC_PEAK,
  P_STATIC_MEAN, /* oracle: knows the day's mean */
  P_REACTIVE,
  P_TUNED,
  P_TUNED_CD,
  P_PATMON,
  P_PERFECT, /* oracle: patmon fed the next step's demand */
  P_CLAIRVOYANT,
  NPOL,
  P_ZONES = NPOL /* patmon, one instance per zone (balance-zones.c) */
};
extern const char *const pol_name[NPOL];
extern const bool pol_oracle[NPOL];

struct sim_cfg {
  int nodes;
  double cap;        /* cores per node */
  double move_cost;  /* fraction of a moved service's demand its source
                      * still carries for the step of the move */
  bool publish;      /* patmon publishes its demands as utilization */
  unsigned cooldown; /* steps (patmon and the tuned rule with cooldown) */
  unsigned budget;   /* patmon's max_moves */
  double plan_cost;  /* patmon's move_cost (bal_params_t) */
  double near_weight, spread_scale; /* and the rest of its bal_params_t */
  double z;
  int verbose;
  /* Zones (--zones K): node n is in zone n * zones / nodes; a move between
   * zones charges its source for cross_cost steps instead of one. */
  int zones;
  double cross_cost;
  /* The instance of zone dead_zone is down during steps [dead_from,
   * dead_to) (P_ZONES; -1: none); every policy counts the overload of that
   * zone's nodes over the window. */
  int dead_zone, dead_from, dead_to;
  int dead_ref;   /* policies without adoption: "adopted" counts from it */
  bool dead_kill; /* P_ZONES: the instance is down (else only counted) */
};

struct result {
  double over80, over100; /* node-minutes */
  double unserved;        /* core-minutes of demand of stopped services */
  long moves;
  /* failure run */
  int dead;
  long stopped, stopped_end, survivors_over, pcmk_over, fail_moves;
  long pcmk_stopped; /* left stopped by Pacemaker's own placement */
  /* survivors above capacity at the step after the failure only with the
   * dead node's services they took: put there by the failover */
  long survivors_pushed;
  double over100_after, over80_after, unserved_after;
  int packing;     /* 1: first-fit decreasing packs the survivors, 0: not */
  int orphans_fit; /* 1: it packs the dead node's services alone into the
                    * survivors' room, nothing else moved */
  /* zones */
  long cross_moves;          /* moves between zones */
  double plan_s, plan_max_s; /* planning time summed and the longest, per
                              * planner pass (per zone instance for
                              * P_ZONES) */
  long plan_passes;
  long granted, refused;      /* cross-zone requests */
  double dead_over80;         /* node-minutes above 80% of dead_zone's nodes in
                               * [dead_from, dead_to) */
  double dead_over80_adopted; /* the same from the adoption on */
  int adopted_at;             /* step of the adoption, -1 none */
};

/* Runs one policy over the day with start placement seed; fail_at >= 0
 * kills the policy's busiest node after that step. */
int sim_run(const struct sim_cfg *cf, const struct trace_set *ts,
            enum policy pol, unsigned long long seed, int fail_at,
            struct result *res);

/* One simulated day under one policy (balance-sim.c). */
struct sim {
  const struct sim_cfg *cf;
  const struct trace_set *ts;
  enum policy pol;
  int nn;
  size_t ns;
  int *where;       /* node per service, -1 stopped */
  int *moved;       /* step of the last move (cooldowns), -1 never */
  int *charge;      /* node carrying the move's cost during the next step */
  int *charge_left; /* steps it still carries it */
  bool *dead;
  double *load; /* per node: summed demand of the step decided on */
  long moves;
  double *decl; /* declared utilization (static policies, publish) */
  bool *orphan; /* the failure run: the services the dead node ran */
  double decl_cap;
  struct result *res;
  struct zones *zs; /* P_ZONES: the instances and their records */
};

/* Moves service i to node m at the decision after step t (counted, its
 * source charged; cross_cost steps when it leaves its zone). */
void sim_move(struct sim *s, size_t i, int m, int t);
/* The cluster patmon plans on after step t (estimates, or with perfect
 * the next step's true demand), services named as in the trace set and
 * nodes "nodeNNNN". */
int sim_cluster(struct sim *s, int t, bool perfect, bal_cluster_t **ret);
/* The planner's parameters of the simulated patmon. */
void sim_params(const struct sim_cfg *cf, bal_params_t *p);

/* P_ZONES (balance-zones.c): one zone instance per zone plans after step
 * t over the records they share; zones_free at the end of the run. */
int zones_step(struct sim *s, int t);
/* ts copies times over (service names suffixed ~k), estimates included. */
int traces_replicate(const struct trace_set *ts, int copies,
                     struct trace_set *ret);
void zones_free(struct sim *s);

/* Zone of node n under cf (0 without zones). */
static inline int zone_of_node(const struct sim_cfg *cf, int n) {
  return cf->zones > 0 ? (int)((long)n * cf->zones / cf->nodes) : 0;
}

/* The step of the highest summed demand. */
int peak_step(const struct trace_set *ts);

#endif
