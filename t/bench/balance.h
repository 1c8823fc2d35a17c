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
  NPOL
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
};

struct result {
  double over80, over100; /* node-minutes */
  double unserved;        /* core-minutes of demand of stopped services */
  long moves;
  /* failure run */
  int dead;
  long stopped, stopped_end, survivors_over, pcmk_over, fail_moves;
  long pcmk_stopped; /* left stopped by Pacemaker's own placement */
  double over100_after, over80_after, unserved_after;
  int packing; /* 1: first-fit decreasing packs the survivors, 0: not */
};

/* Runs one policy over the day with start placement seed; fail_at >= 0
 * kills the policy's busiest node after that step. */
int sim_run(const struct sim_cfg *cf, const struct trace_set *ts,
            enum policy pol, unsigned long long seed, int fail_at,
            struct result *res);

/* The step of the highest summed demand. */
int peak_step(const struct trace_set *ts);

#endif
