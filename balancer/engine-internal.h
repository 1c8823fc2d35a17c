/* engine-internal.h: what the files of one balancer pass share (engine.c,
 * engine-model.c, engine-metrics.c, engine-act.c, engine-report.c); not
 * installed. */
#ifndef PATMON_BALANCER_ENGINE_INTERNAL_H
#define PATMON_BALANCER_ENGINE_INTERNAL_H

#include "internal.h"
#include "zone.h"

/* Nodes gone offline whose hooks have not run yet, and what was done since
 * (engine-role.c). */
struct bal_tell {
  char **nodes; /* NULL-terminated, or NULL */
  pm_buf_t done;
  size_t executed;
};

struct bal_engine {
  char *path;
  struct bal_conf *conf;
  bal_log_fn log;
  void *log_ud;
  int lock_fd;
  char *node;       /* this node's name, once asked (engine-role.c) */
  int role;         /* the last pass's, see bal_engine_role */
  char *role_where; /* where own_resource ran then (changes are logged) */
  char **offline;   /* nodes offline at the last pass, NULL-terminated */
  struct bal_tell tell;
  bool acted; /* the last pass ran moves (the next may find them under way) */
  struct av_journal *avail; /* the availability journal, once opened */
  char *zone; /* --zone (bal_engine_set_zone), else the configuration's */
  bal_zone_t *zcore; /* the zone core of this instance's zone, once used */
  bool lead;         /* with a zone: the last pass led (bal_zone_leader) */
  /* With a zone: the nodes offline, when this instance first saw each so,
   * and whether their loss was told (by it, or by the leader of then), once
   * off_init. */
  struct bal_off {
    char *node;
    time_t seen;
    bool told;
  } * off_seen;
  size_t noff_seen;
  bool off_init;
};

/* engine-zone.c: a file of this instance: base, or with a zone
 * "base.ZONE" in buf (the instances of several zones may share a node);
 * base when it is "" (none). NULL when buf is too small. */
const char *engine_zone_path(const bal_engine_t *e, const char *base, char *buf,
                             size_t len);

/* own_resource with %z as this instance's zone (one resource per zone),
 * in buf when expanded. NULL when it names %z without a zone, or buf is
 * too small. */
const char *engine_own_resource(const bal_engine_t *e, char *buf, size_t len);

/* Logs through the hook the engine's caller set (nothing without one). */
void bal_elog(bal_engine_t *e, enum bal_log_level l, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- one pass: the working set ------------------------------------------- */

struct series_file { /* a service's series under one host */
  int prim, node;
  double *v;
};

struct pass {
  bal_engine_t *e;
  const struct bal_conf *cf;
  unsigned flags;
  time_t now;
  pm_buf_t *explain;
  struct bal_pcmk *pc;
  pm_buf_t cib;
  pm_buf_t mon; /* crm_mon's XML (source = pacemaker) */
  struct bal_state st;
  bal_cluster_t *c;
  struct bal_grid g;
  char **hosts;                 /* per node */
  int *svc_of_rsc;              /* pcmk rsc -> service (-1) */
  int *rsc_of_svc;              /* service -> pcmk rsc */
  char ***prims;                /* per rsc: the primitive ids its demand sums */
  double (*declared)[BAL_NDIM]; /* per service: publish_utilization's
                                 * value (bal_lm_declared), NAN unknown */
  bal_est_t (*est)[BAL_NDIM];   /* per service: estimate = auto's choice
                                 * (which = BAL_NEST: none) */
  bal_plan_t *plan;
  bal_params_t params;
  size_t executed, failed;
  bool hold;              /* the plan could not be verified: do not act */
  bool passive;           /* not the active decision-maker: plan only */
  bool lead;              /* does the duties done once for the cluster (no
                           * zone, or this instance leads the zones) */
  pm_buf_t data_notes;    /* missing or stale series, for --explain */
  char **went_offline;    /* nodes offline since the last pass */
  pm_buf_t failback;      /* fail-back waiting or listed, for --explain */
  pm_buf_t patterns;      /* the nodes' pattern sets compared, for --explain */
  pm_buf_t done;          /* what this pass did, one "; "-separated list */
  const char **node_zone; /* per node of c: its zone (with --zone) */
  struct bal_zrecs zrecs; /* the zone records read (with --zone) */
  bool zrecs_read;        /* zrecs holds what pass_zone_begin read */
  bool *reads;            /* per node of c: read (pass_reads); NULL: all */
  size_t zone_acts;       /* zone actions written before bal_zone_plan */
  pm_buf_t zone_done;     /* the zone records written, for --explain */
  struct bal_rrd_cost rrd_cost; /* in bal_rrd_read: flush, read */
  bal_flusher_t *flush;         /* rrdcached's flushes, in pass_measure */
  uint64_t measure_ns;          /* in pass_measure: reading and estimating */
};

/* Whether node n's series are read this pass, and what is known of it
 * published: every node without a zone; with one, the nodes of the zones
 * this instance plans (its own and those it adopted). */
bool pass_reads(const struct pass *p, int n);
/* Whether this pass acts on its plan (execute = true, not a dry run, the
 * plan verified). */
bool pass_acting(const struct pass *p);
/* Whether this pass may change anything outside (not a dry run). */
bool pass_side_effects(const struct pass *p);
/* Logs a problem with the data and keeps it for --explain. */
void pass_data_note(struct pass *p, enum bal_log_level l, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- engine-model.c ------------------------------------------------------ */

/* Reads the cluster state with crm_mon and cibadmin into p->pc. */
int pass_inventory_pacemaker(struct pass *p);
/* source = static: the configuration's nodes (online) and services. */
int pass_inventory_static(struct pass *p);
/* Nodes that went offline since the last pass: journaled now, told to the
 * hooks once the pass has acted (pass_tell), by the leader only (p->lead;
 * with zones a new leader tells the losses it did not tell, as the old
 * leader may have gone with its node). Records the offline nodes in the
 * state (fail-back) in every instance. */
void pass_offline_events(struct pass *p);
/* Builds p->c from p->pc and the configuration, then measures it. */
int pass_build_model(struct pass *p);

/* ---- engine-failback.c --------------------------------------------------- */

/* Tracks in p->st what failed nodes lost and when they came back (before
 * pass_offline_events updates the offline list). */
void pass_failback_track(struct pass *p);
/* For each resource a failed node lost, by its policy (patmon-failback,
 * else failback): auto, once the node has been online for failback_stable
 * seconds, gives it that node as its home (the planner moves it back if it
 * fits); manual lists it (--explain, and the moves journal once); the
 * waits are listed too. 0 or -ENOMEM. */
int pass_failback(struct pass *p);

/* ---- engine-digest.c ----------------------------------------------------- */

/* Compares the pattern set digests the online nodes published (node
 * attribute BAL_DIGEST_ATTR) for --explain; the active instance (with
 * zones: the leader) reports a difference from the majority once per
 * change (log, config hooks), and once when all agree again. */
void pass_patterns(struct pass *p);

/* ---- engine-metrics.c ---------------------------------------------------- */

/* Service demand per dimension, and node loads. */
int pass_measure(struct pass *p);

/* ---- engine-role.c ------------------------------------------------------- */

/* Whether this instance is the one decision-maker (own_resource runs on
 * this node): sets p->passive and the engine's role, and logs changes. */
void pass_role(struct pass *p);
/* Runs the hooks: once per node gone offline, with what was done about it
 * (with BAL_PASS_SETTLING, what the passes did until one had nothing to
 * do), else once for an executed plan. */
void pass_tell(struct pass *p);

/* ---- engine-avail.c ------------------------------------------------------ */

/* The active instance (with zones: the leader) records in the
 * availability journal what crm_mon shows changed since the journal's
 * last event. */
void pass_availability(struct pass *p);
/* Adds the availability figures (per node and resource: percent-24h,
 * percent-7d, percent-30d, count-failures_30d, duration-mttf_30d,
 * duration-mttr_30d, gauge-state) to the PUTVAL commands of a pass. */
void pass_avail_publish(struct pass *p, const char *host, long long t,
                        unsigned iv, pm_buf_t *cmds);
/* Closes the journal (bal_engine_free, a reload). */
void engine_avail_close(bal_engine_t *e);

/* ---- engine-act.c -------------------------------------------------------- */

/* Runs crm_simulate with the plan's moves. Bans the targets Pacemaker would
 * refuse and returns 1 (replan), 0 when the plan holds, or < 0. */
int pass_verify(struct pass *p);
/* Runs the plan's moves; records them in the state. */
void pass_execute(struct pass *p);
/* Clears the constraints our moves left behind once they did their job. */
void pass_clear_constraints(struct pass *p);

/* ---- engine-report.c ----------------------------------------------------- */

/* Writes the --explain report; ok and wu are bal_whatif_all's. */
void pass_explain(struct pass *p, const int *ok, const double *wu);
/* engine-zone.c: the zone of a node: its node section's zone, else its
 * Pacemaker node attribute zone, else "default". */
const char *pass_node_zone(const struct pass *p, const char *node);
/* The zones and their nodes, and the zone records in the CIB the pass
 * read, when zones are in use. */
void pass_explain_zones(struct pass *p, pm_buf_t *b);
/* With a zone (--zone), the zone core plans instead of the planner. Step
 * 1, on p->pc before the model is built: reads the zone records from the
 * pass's CIB, gives the core the zones of the nodes, writes its actions
 * (adoptions: journaled, told to the hooks); then bal_zone_leader says
 * whether this instance leads. 0, or a negative errno (logged). */
int pass_zone_begin(struct pass *p);
/* Step 2: the core plans the zones this instance plans; p->plan becomes
 * its local plan followed by the cross-zone moves, on p->c. */
int pass_zone_plan(struct pass *p);
/* Writes the core's step 2 actions (grants, requests, post): nothing in a
 * dry run or by a standby instance (the core decides again next pass). */
void pass_zone_end(struct pass *p);
/* Sends the pass's figures to collectd's unixsock (when configured). */
void pass_publish(struct pass *p, const int *ok, const double *wu);

/* ---- engine-utilization.c ------------------------------------------------ */

/* publish_utilization: writes the planning demands and capacities that
 * changed materially as Pacemaker utilization attributes (at most
 * publish_max_writes a pass); logs what it wrote. */
void pass_publish_utilization(struct pass *p);

#endif
