/* balancer.h: patmon's load balancer core (cluster model, planner, engine).
 *
 * A cluster is nodes with a capacity per dimension and a planning load
 * (usually a forecast), and services with a demand, placed on nodes. The
 * planner moves the fewest services to bring every node under threshold x
 * capacity, places the services of failed nodes so no survivor exceeds its
 * capacity, and answers "could this node's failure be absorbed now".
 *
 * Units: cpu in cores, memory in bytes, net in bytes per second. A value that
 * is not known is NAN, never 0.
 *
 * Conventions: functions return 0 (or a count or index) or a negative errno;
 * constructors return NULL with errno set; *_free(NULL) is a no-op; nothing
 * here logs (the engine calls the log hook its caller set). */
#ifndef PATMON_BALANCER_H
#define PATMON_BALANCER_H

#include "pm.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum bal_dim { BAL_CPU, BAL_MEM, BAL_NET, BAL_NDIM };

/* Name of a dimension ("cpu", "memory", "net"). */
const char *bal_dim_name(enum bal_dim d);

enum bal_node_state {
  BAL_NODE_ONLINE,
  BAL_NODE_STANDBY,     /* keeps what it runs, takes nothing new */
  BAL_NODE_MAINTENANCE, /* left alone: nothing moved off or onto it */
  BAL_NODE_OFFLINE,     /* its services must be placed elsewhere */
};

/* Service flags. */
enum {
  BAL_SVC_FIXED = 1u << 0,    /* never moved (unmanaged, pinned, unknown) */
  BAL_SVC_COOLDOWN = 1u << 1, /* moved recently: not moved for balance */
};

/* ---- cluster model ------------------------------------------------------- */

typedef struct bal_cluster bal_cluster_t;

bal_cluster_t *bal_cluster_new(void);
void bal_cluster_free(bal_cluster_t *c);

/* Adds a node; cap[d] <= 0 or NAN means the dimension is not balanced on it.
 * Returns the node's index or -EEXIST, -EINVAL, -ENOMEM. Its load starts
 * unknown (NAN). */
int bal_cluster_add_node(bal_cluster_t *c, const char *name,
                         const double cap[BAL_NDIM], enum bal_node_state st);
/* The node's planning load per dimension: everything running on it,
 * services and the rest (NAN where unknown). */
int bal_node_set_load(bal_cluster_t *c, int node, const double load[BAL_NDIM]);
int bal_node_set_state(bal_cluster_t *c, int node, enum bal_node_state st);
/* How far (one standard deviation per dimension) the node's actual load
 * may stray from its planning load, besides what its services' spreads
 * say: the error of its background's estimate. 0 unless set; -EINVAL for
 * a negative or non-finite value. */
int bal_node_set_spread(bal_cluster_t *c, int node, const double sd[BAL_NDIM]);
/* The node's load over the placement horizon (the hours a placement lasts):
 * its mean level, everything on it included, and the standard deviation of
 * its background (as bal_node_set_spread), which the balance search weighs
 * besides the next step (see near_weight). NAN: the planning load, with
 * each service's level in place of its demand. */
int bal_node_set_level(bal_cluster_t *c, int node, const double mean[BAL_NDIM],
                       const double sd[BAL_NDIM]);

/* Adds a service running on node (-1: not running but wanted, for example
 * left stopped by the HA stack). Returns its index or a negative errno. */
int bal_cluster_add_service(bal_cluster_t *c, const char *name, int node,
                            const double demand[BAL_NDIM]);
int bal_service_set_demand(bal_cluster_t *c, int svc,
                           const double demand[BAL_NDIM]);
/* The standard deviation of the service's actual demand around its
 * planning demand (the error of its estimate); 0 unless set. The planner
 * adds spreads in quadrature (independent errors). */
int bal_service_set_spread(bal_cluster_t *c, int svc,
                           const double sd[BAL_NDIM]);
/* The service's demand over the placement horizon (its recent mean level
 * and variability); NAN: its planning demand and spread. */
int bal_service_set_level(bal_cluster_t *c, int svc,
                          const double mean[BAL_NDIM],
                          const double sd[BAL_NDIM]);
/* Sets flags; why (may be NULL) says why a service is fixed, for reports. */
int bal_service_set_flags(bal_cluster_t *c, int svc, unsigned flags,
                          const char *why);
/* The service may never run on node (a ban, a -INFINITY location). */
int bal_service_ban(bal_cluster_t *c, int svc, int node);
/* a and b always run on the same node and move as one (a group, a
 * mandatory colocation). */
int bal_service_colocate(bal_cluster_t *c, int a, int b);
/* a and b never share a node (a -INFINITY colocation). */
int bal_service_separate(bal_cluster_t *c, int a, int b);

/* How the HA stack keeps a service available. */
enum bal_ha {
  BAL_HA_PRIMITIVE,  /* active/standby: one instance, restarted elsewhere
                      * when its node fails (primitives, groups: default) */
  BAL_HA_CLONE,      /* an instance of a clone (active/active) */
  BAL_HA_PROMOTED,   /* the promoted (primary) instance of a promotable
                      * clone */
  BAL_HA_UNPROMOTED, /* an unpromoted (standby) instance of one */
};
/* "primitive", "clone", "promoted", "unpromoted". */
const char *bal_ha_name(enum bal_ha m);
/* Sets svc's HA mode; primary is, for BAL_HA_UNPROMOTED, the service of
 * the promoted instance it stands by for (-1: none runs), else -1.
 * -EINVAL otherwise. The planner never moves clone and unpromoted
 * instances (the HA stack places them) and never restarts them elsewhere
 * when their node fails: the other instances carry on. A promoted
 * instance never goes to the node of one of its standbys; when its node
 * fails, failover and what-if count the promotion of the standby on an
 * online node (that node takes the promoted demand in place of the
 * standby's; the least loaded such node afterwards), not a restart. */
int bal_service_set_ha(bal_cluster_t *c, int svc, enum bal_ha mode,
                       int primary);
enum bal_ha bal_service_ha(const bal_cluster_t *c, int svc);

/* The node svc should return to (fail-back), -1: none. The planner moves
 * it back, after failover and before balance moves, when node is online
 * and allowed, and svc fits there under threshold; otherwise it notes why
 * it waits. Not counted against max_moves. */
int bal_service_set_home(bal_cluster_t *c, int svc, int node);

/* Hard capacities the HA stack enforces by itself (Pacemaker utilization
 * attributes under a placement strategy other than "default"): a node may
 * not receive a service whose declared need exceeds what is declared free.
 * Returns the attribute's index. A node without a value has capacity 0. */
int bal_cluster_add_attr(bal_cluster_t *c, const char *name);
int bal_node_set_attr(bal_cluster_t *c, int node, int attr, double v);
int bal_service_set_attr(bal_cluster_t *c, int svc, int attr, double v);

int bal_cluster_find_node(const bal_cluster_t *c, const char *name);
int bal_cluster_find_service(const bal_cluster_t *c, const char *name);
size_t bal_cluster_nnodes(const bal_cluster_t *c);
size_t bal_cluster_nservices(const bal_cluster_t *c);
const char *bal_node_name(const bal_cluster_t *c, int node);
const char *bal_service_name(const bal_cluster_t *c, int svc);
int bal_service_node(const bal_cluster_t *c, int svc);
enum bal_node_state bal_node_state(const bal_cluster_t *c, int node);
/* max over balanced dimensions of load / capacity; NAN when unknown. */
double bal_node_util(const bal_cluster_t *c, int node);

/* ---- planner ------------------------------------------------------------- */

typedef struct bal_params {
  double threshold;      /* fraction of capacity to stay under (0.8) */
  unsigned max_moves;    /* balance moves per pass, 0: unlimited (8) */
  bool swaps;            /* allow heavy-for-light swaps (true) */
  bool repack;           /* move running services to fit failed ones */
  unsigned search_limit; /* work bound of the repack search (200000) */
  double z;              /* a node's forecast is its load plus z spreads (1) */
  double move_cost;      /* what one balance move must gain: expected
                          * overload removed: a node above threshold
                          * counts 1 plus its excess as a fraction of
                          * capacity, above capacity again (0.01) */
  double near_weight;    /* weight of the next step against the placement
                          * horizon in the expected overload (0.3) */
  double spread_scale;   /* spreads widened by this for heavier tails than
                          * normal (1.5) */
  unsigned spare_nodes;  /* N+M: what-if keeps this many nodes' worth of
                          * capacity free (0), see bal_whatif */
  double move_charge;    /* fraction of a moved running service's demand
                          * its source still carries at the next step,
                          * while it moves (1: a live migration); failover
                          * and the next step's overload count it (1) */
} bal_params_t;

void bal_params_init(bal_params_t *p);

enum bal_reason {
  BAL_WHY_OVERLOAD, /* off a node forecast above threshold */
  BAL_WHY_SWAP,     /* half of a heavy-for-light swap */
  BAL_WHY_FAILOVER, /* a service of a failed node, or one left stopped */
  BAL_WHY_ROOM,     /* a running service moved to make room for one */
  BAL_WHY_FAILBACK, /* back to the node it ran on before that failed */
  BAL_WHY_GRANT,    /* to another zone's node, granted by its instance
                     * (zone.h) */
  BAL_WHY_EVEN,     /* off a node under threshold whose forecast, with its
                     * spread, may still cross it */
};
const char *bal_reason_name(enum bal_reason r);

typedef struct bal_move {
  const char *const *services; /* what moves together, nservices names */
  size_t nservices;
  const char *from; /* NULL when it is not running */
  const char *to;
  enum bal_reason reason;
  const char *why; /* one human sentence */
  double gain;     /* balance moves: the expected overload (nodes above
                    * threshold, plus the excess in capacities) the step
                    * removed per move, net of the move cost; NAN for
                    * failover */
} bal_move_t;

typedef struct bal_plan bal_plan_t;

/* Computes a plan for c as it is now: first the services of offline nodes
 * and stopped services (failover), then overloads within max_moves. The plan
 * copies every name it reports; c is not changed. */
int bal_plan_compute(const bal_cluster_t *c, const bal_params_t *p,
                     bal_plan_t **ret);
void bal_plan_free(bal_plan_t *p);

size_t bal_plan_nmoves(const bal_plan_t *p);
/* Fills *ret (pointers valid until bal_plan_free). -ERANGE past the end. */
int bal_plan_move(const bal_plan_t *p, size_t i, bal_move_t *ret);
/* What the plan could not do, one sentence each: services that cannot be
 * placed and why, nodes left above threshold and why. */
size_t bal_plan_nnotes(const bal_plan_t *p);
const char *bal_plan_note(const bal_plan_t *p, size_t i);
/* Services that stay stopped after the plan. */
size_t bal_plan_nunplaced(const bal_plan_t *p);

/* Utilisation (see bal_node_util) of node before and after the plan. */
int bal_plan_node_util(const bal_plan_t *p, int node, double *ret_before,
                       double *ret_after);
/* Per-dimension planning load of node after the plan. */
int bal_plan_node_load(const bal_plan_t *p, int node, double ret[BAL_NDIM]);

/* Applies the plan's moves to c (service placement and node loads). */
int bal_plan_apply(const bal_plan_t *p, bal_cluster_t *c);

/* Whether the failure of node could be absorbed now: its services placed on
 * the others (moving running ones if needed) with none above capacity, and
 * with spare_nodes = M, the survivors' free capacity (capacity less the
 * forecast load, summed over them) still at least the capacity of their M
 * largest in every balanced dimension: M more nodes could fail, however
 * large. Survivors are the online nodes with a known load.
 * *ret_util is the highest utilisation of a survivor afterwards (NAN when
 * a demand is unknown, then -ENODATA). Returns 1 absorbable, 0 not. */
int bal_whatif(const bal_cluster_t *c, const bal_params_t *p, int node,
               double *ret_util);

/* bal_whatif for every node at once: ret_ok[n] (1, 0 or a negative errno,
 * -EINVAL for a node that is not online) and ret_util[n], arrays of
 * bal_cluster_nnodes(c). */
int bal_whatif_all(const bal_cluster_t *c, const bal_params_t *p, int *ret_ok,
                   double *ret_util);

/* ---- forecasting from measured samples ----------------------------------- */

/* Forecasts a series h steps ahead by exponential smoothing with a damped
 * trend fitted on x[0..n-1] (NAN samples skipped). *ret_mean is the point
 * forecast (the highest of steps 1..h), *ret_upper its upper bound at z
 * standard deviations of the one-step errors. -ENODATA with fewer than 2
 * known samples. */
int bal_forecast(const double *x, size_t n, unsigned h, double z,
                 double *ret_mean, double *ret_upper);

/* The smoother's predictions over the window: path[j + h] is the forecast
 * made h steps before cell j + h (NAN before the first known sample), the
 * constants fitted on all of x; path[n - 1 + h] is bal_forecast's point
 * forecast. path has n + h cells. -ENODATA with fewer than 2 known samples
 * (path all NAN). */
int bal_forecast_path(const double *x, size_t n, unsigned h, double *path);

/* ---- demand estimates: per series, the estimator that has been right --- */

enum bal_estimator {
  BAL_E_FORECAST, /* the forecast plugin's point forecast */
  BAL_E_UPPER,    /* the upper bound of its prediction interval */
  BAL_E_SMOOTH,   /* damped-trend smoothing of the window (bal_forecast) */
  BAL_E_LAST,     /* the last sample */
  BAL_E_QUANTILE, /* a high quantile of the recent samples */
  BAL_E_AVERAGE,  /* the mean of the window */
  BAL_NEST
};
/* "forecast", "forecast-upper", "smooth", "last", "quantile", "average". */
const char *bal_estimator_name(enum bal_estimator e);

typedef struct bal_est_params {
  unsigned horizon;      /* steps ahead planned for (1) */
  unsigned qwindow;      /* samples the quantile estimator reads (12) */
  double quantile;       /* and its level (0.9) */
  double burst;          /* bursty: the worst miss above burst x the root
                          * mean square error (3; 0: never) */
  double burst_quantile; /* bursty series add this quantile of their
                          * errors (0.8) */
  unsigned min_errors;   /* errors scored before an estimator counts (6) */
} bal_est_params_t;

void bal_est_params_init(bal_est_params_t *p);

typedef struct bal_est {
  enum bal_estimator which; /* the estimator chosen */
  double value;             /* what to plan with */
  double point;             /* the chosen estimator's prediction */
  double spread;            /* root mean square of its errors around value */
  bool bursty;              /* value is point raised by past upward misses */
  unsigned nerr;            /* errors the choice rests on */
  double level, level_sd;   /* mean and standard deviation of the window:
                             * the demand over the placement horizon */
  double rmse[BAL_NEST];    /* root mean square error each; NAN: none */
} bal_est_t;

/* Chooses for the series x[0..n-1] (oldest first, one sample a step, NAN
 * unknown) the estimator whose predictions horizon steps ahead had the
 * smallest root mean square error over the window, and predicts with it.
 * fc and fc_upper (NULL when absent) are the forecast plugin's predictions
 * aligned on the cells they predict: n + horizon values, the last horizon
 * of them for the steps to come. An estimator counts once min_errors of
 * its predictions were scored and it predicts now; else the last sample is
 * used. Pure. -ENODATA when no sample is known, -EINVAL, -ENOMEM. */
int bal_estimate_auto(const double *x, size_t n, const double *fc,
                      const double *fc_upper, const bal_est_params_t *p,
                      bal_est_t *ret);

/* ---- engine: one pass of patmon-balance ---------------------------------- */

typedef struct bal_engine bal_engine_t;

enum bal_log_level {
  BAL_LOG_ERR,
  BAL_LOG_WARNING,
  BAL_LOG_NOTICE,
  BAL_LOG_INFO,
  BAL_LOG_DEBUG
};
typedef void (*bal_log_fn)(void *ud, enum bal_log_level lvl, const char *msg);

/* Loads the configuration at path. On a bad file returns -EBADMSG (or the
 * errno of the failure) and fills err with file, line and offending text. */
int bal_engine_new(const char *path, bal_engine_t **ret, pm_error_t *err);
void bal_engine_free(bal_engine_t *e);
void bal_engine_set_log(bal_engine_t *e, bal_log_fn fn, void *ud);
/* Re-reads the configuration; on error the old one stays in force. */
int bal_engine_reload(bal_engine_t *e, pm_error_t *err);
/* This instance's zone (patmon-balance --zone): name, or NULL for the
 * configuration's zone option; it outlasts reloads. -EINVAL for a name
 * that is not 1-32 of [A-Za-z0-9_-], -ENOMEM. */
int bal_engine_set_zone(bal_engine_t *e, const char *zone);
/* This instance's zone, NULL when it has none. */
const char *bal_engine_zone(const bal_engine_t *e);
/* Whether this instance does the duties done once for the whole cluster:
 * the offline journal and hooks, node events and the availability
 * journal, pattern reports, publishing, the event socket. Always without
 * a zone; with one, when its last pass found it the leader of the zones
 * (the live instance of the lowest zone name, see zone.h). */
bool bal_engine_leads(const bal_engine_t *e);
/* Seconds between passes in daemon mode. */
unsigned bal_engine_interval(const bal_engine_t *e);
/* Takes the configured lock file (one active decision-maker). -EWOULDBLOCK
 * when another instance holds it. Released by bal_engine_free. */
int bal_engine_lock(bal_engine_t *e);

/* The configured event socket for node events (NULL: none) and the group
 * allowed to send to it (NULL: the caller's). */
const char *bal_engine_event_socket(const bal_engine_t *e,
                                    const char **ret_group);

/* The configured availability journal (NULL: none). */
const char *bal_engine_availability_journal(const bal_engine_t *e);
/* Records a node alert (fenced, else lost, else member) at t_ms (wall
 * time, ms) in the availability journal, when this instance is the active
 * decision-maker and a journal is configured. 1 when recorded, 0 when not (a
 * duplicate, no change, not active, no journal), or a negative errno. */
int bal_engine_avail_event(bal_engine_t *e, bool lost, bool fenced,
                           const char *node, int64_t t_ms);

/* What the last pass found this instance to be. With own_resource set,
 * only the instance on the node where Pacemaker runs that resource acts;
 * the others plan and report, and change nothing (no moves, journal,
 * hooks, state or publishing). */
enum {
  BAL_ROLE_UNKNOWN = -1, /* no pass yet */
  BAL_ROLE_STANDBY = 0,  /* own_resource runs elsewhere, or is not known */
  BAL_ROLE_ACTIVE = 1,   /* own_resource runs here, or none is set */
  BAL_ROLE_WAITING = 2,  /* own_resource runs nowhere (starting) */
};
int bal_engine_role(const bal_engine_t *e);
/* Whether the last pass saw node offline (the daemon waits for the cluster
 * to agree with a "node lost" event). */
bool bal_engine_saw_offline(const bal_engine_t *e, const char *node);

enum {
  BAL_PASS_DRY_RUN = 1u << 0,  /* plan and report, change nothing */
  BAL_PASS_EXPLAIN = 1u << 1,  /* write each move's reason and utilisation */
  BAL_PASS_SETTLING = 1u << 2, /* a node was lost a moment ago: after a
                                  pass that moved, the next first waits for
                                  Pacemaker to carry that out; the hooks
                                  for the node wait for a pass that finds
                                  all running within capacity, then tell
                                  all that was done */
};
/* Whether hooks wait for a settled pass (BAL_PASS_SETTLING). */
bool bal_engine_settling(const bal_engine_t *e);
/* Runs the hooks still waiting for a settled pass (at exit). */
void bal_engine_tell(bal_engine_t *e);
/* One pass: read cluster state and metrics, plan, act (unless dry run or the
 * configuration lacks execute = true), journal, notify, publish. The
 * explanation goes to explain when non-NULL. Returns the number of moves
 * planned, or a negative errno when the pass could not plan. */
int bal_engine_pass(bal_engine_t *e, unsigned flags, pm_buf_t *explain);

#endif
