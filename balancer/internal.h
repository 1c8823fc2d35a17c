/* internal.h: what the files of balancer/ share; not installed. */
#ifndef PATMON_BALANCER_INTERNAL_H
#define PATMON_BALANCER_INTERNAL_H

#include "balancer.h"
#include "pm_conf.h"
#include "pm_map.h"
#include "pm_sha256.h"
#include "pm_vec.h"

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/wait.h>
#include <time.h>

#define BAL_MAX_ATTRS 8

/* A string -> index map: common's pm_map holding index + 1 (so that a
 * stored 0 is not a missing key). */
struct bal_map {
  pm_map_t m;
};
int bal_map_put(struct bal_map *m, const char *key, int val);
int bal_map_get(const struct bal_map *m, const char *key);
void bal_map_free(struct bal_map *m);

/* A growable array of int: a pm_vec (v, n, cap), grown by pm_vec_push. */
struct bal_ints {
  int *v;
  size_t n, cap;
};
int bal_ints_push(struct bal_ints *a, int x);
void bal_ints_free(struct bal_ints *a);

struct bal_node {
  char *name;
  double cap[BAL_NDIM];
  double load[BAL_NDIM];
  double spread[BAL_NDIM]; /* of the load besides the services' */
  double level[BAL_NDIM];  /* load over the placement horizon (NAN: load) */
  double level_sd[BAL_NDIM];
  double attr[BAL_MAX_ATTRS]; /* declared capacity, NAN when absent */
  enum bal_node_state state;
};

struct bal_service {
  char *name;
  int node;
  double demand[BAL_NDIM];
  double spread[BAL_NDIM]; /* standard deviation of the demand */
  double level[BAL_NDIM];  /* demand over the placement horizon (NAN:
                            * demand) */
  double level_sd[BAL_NDIM];
  double attr[BAL_MAX_ATTRS]; /* declared need, NAN when absent */
  unsigned flags;
  char *why_fixed;
  struct bal_ints bans;
  int colo; /* union-find parent for bal_service_colocate */
  enum bal_ha ha;
  int primary; /* BAL_HA_UNPROMOTED: the promoted instance's service */
  int home;    /* fail-back target, -1: none */
};

struct bal_cluster {
  struct bal_node *nodes;
  size_t nnodes, capnodes;
  struct bal_service *svcs;
  size_t nsvcs, capsvcs;
  struct bal_ints sep; /* pairs (a, b) of services kept apart */
  char *attrs[BAL_MAX_ATTRS];
  size_t nattrs;
  struct bal_map node_ix, svc_ix;
};

/* Root of s's colocation set. */
int bal_colo_root(const bal_cluster_t *c, int s);
/* Whether dimension d is balanced on node n. */
static inline int bal_dim_on(const struct bal_node *n, int d) {
  return n->cap[d] > 0 && isfinite(n->cap[d]);
}

/* ---- forecasting --------------------------------------------------------- */

/* The same as bal_forecast with the smoothing constants it chose. */
int bal_forecast_fit(const double *x, size_t n, unsigned h, double z,
                     double *ret_mean, double *ret_upper, double *ret_alpha);

/* ---- configuration ------------------------------------------------------- */

enum bal_estimate {
  BAL_EST_LATEST,   /* the last sample */
  BAL_EST_AVERAGE,  /* mean of the window */
  BAL_EST_FORECAST, /* the forecast plugin's series (else self) */
  BAL_EST_SELF,     /* bal_forecast on the measured window */
  BAL_EST_AUTO,     /* per series, the estimator that has been right */
};

enum bal_source { BAL_SRC_PACEMAKER, BAL_SRC_STATIC };

/* Fail-back policy of a resource (see failback.c). */
enum bal_failback { BAL_FB_NEVER, BAL_FB_MANUAL, BAL_FB_AUTO };

/* How one dimension is measured. Templates under data_dir: %h host, %s
 * service; forecast templates also %P (plugin directory) and %T (type file
 * stem) of the measured series. Forecast files hold the measured series'
 * data sources, read with the same scale. */
struct bal_metric {
  char *node_file;
  char *node_ds[4]; /* summed; NULL-terminated */
  double node_scale;
  bool node_percent; /* value is a percentage of the node's capacity */
  char *svc_file;    /* "" when services have no series in this dimension */
  char *svc_ds[4];
  double svc_scale;
  char *node_forecast, *node_upper; /* point forecast, upper bound */
  char *svc_forecast, *svc_upper;
  char *util_attr; /* Pacemaker utilization attribute for the capacity */
  double util_scale;
};

struct bal_node_conf {
  char *name;
  char *host; /* host name in the RRD tree (default: host_format) */
  double cap[BAL_NDIM];
  char *uri;  /* libvirt URI of the node (virsh executor) */
  char *zone; /* its zone (NULL: the node attribute zone decides) */
};

struct bal_svc_conf { /* source = static */
  char *name;
  char *node;
};

struct bal_exec_conf {
  char *type;   /* a row of bal_executors */
  char **move;  /* argv templates, NULL-terminated */
  char **place; /* a service of a failed node, or a stopped one */
  char **clear; /* removes what a move left behind */
  char *lifetime;
  int timeout_ms;
  bool verify;
};

struct bal_hook {
  char *name;
  char **argv;
  bool on_plan, on_offline, on_config, on_zone;
};

struct bal_conf {
  bool execute;
  unsigned interval;
  double threshold;
  unsigned max_moves;
  unsigned spare_nodes;       /* N+M: nodes' worth kept free by the what-if */
  double move_charge;         /* share of a moved service its source keeps */
  enum bal_failback failback; /* the default; a resource's patmon-failback
                               * meta attribute overrides it */
  unsigned failback_stable;   /* seconds a returned node stays online first */
  unsigned cooldown;
  bool swaps, repack;
  enum bal_estimate estimate;
  bool upper;
  double z;
  unsigned horizon; /* seconds */
  unsigned window;  /* seconds of history read */
  unsigned step;    /* seconds per sample of the planning grid */
  unsigned stale;   /* seconds after which a series is stale */
  char *data_dir, *host_format;
  enum bal_source source;
  char **services; /* globs of movable services, NULL-terminated */
  char **exclude;
  char *state_file, *journal, *lock_file, *unixsock, *publish_host;
  char *rrdcached;    /* flush each file here first ("": read directly) */
  char *own_resource; /* the Pacemaker resource running this balancer */
  char *node_name;    /* this node's name ("": crm_node -n, else uname) */
  char *zone;         /* this instance's zone ("": none; --zone wins) */
  char *event_socket, *event_socket_group; /* node events (daemon) */
  char *avail_journal; /* the availability journal ("": none) */
  char *event_spool;   /* node alerts no one heard ("": none) */
  char *crm_mon, *cibadmin, *crm_simulate, *crm_resource, *crm_attribute;
  bool publish_utilization;    /* demands and capacities to Pacemaker */
  double publish_change;       /* relative change worth a write (0.2) */
  unsigned publish_max_writes; /* attribute writes a pass at most (20) */
  int cmd_timeout_ms;
  struct bal_metric metric[BAL_NDIM];
  struct bal_node_conf *nodes;
  size_t nnodes;
  struct bal_svc_conf *svcs;
  size_t nsvcs;
  struct bal_exec_conf exec;
  struct bal_hook *hooks;
  size_t nhooks;
};

int bal_conf_load(const char *path, struct bal_conf **ret, pm_error_t *err);
int bal_conf_load_buf(const char *buf, size_t len, const char *name,
                      struct bal_conf **ret, pm_error_t *err);
void bal_conf_free(struct bal_conf *c);
/* The zone of a node without one (zones, see zone records below). */
#define BAL_ZONE_DEFAULT "default"
#define BAL_CONF_ZONE_MAX 32
/* Whether name is 1-32 characters of [A-Za-z0-9_-] (a zone's name goes
 * into record keys). */
bool bal_conf_zone_ok(const char *name);
/* Whether a service name is movable under the services/exclude globs. */
bool bal_conf_movable(const struct bal_conf *c, const char *name);
const struct bal_node_conf *bal_conf_node(const struct bal_conf *c,
                                          const char *name);

/* ---- templates and commands ---------------------------------------------- */

struct bal_kv {
  char key;
  const char *val;
};

/* Expands %x escapes from kv (terminated by key 0) and %% into out.
 * -ENOENT when an escape has no value (NULL or empty); *ret_missing (may be
 * NULL) names it. */
int bal_subst(const char *tpl, const struct bal_kv *kv, pm_buf_t *out,
              char *ret_missing);
/* The same for each word of an argv template: *ret_argv is a new
 * NULL-terminated vector (bal_argv_free). */
int bal_argv_expand(char *const *tpl, const struct bal_kv *kv, char ***ret_argv,
                    char *ret_missing);
char **bal_argv_dup(const char *const *v);
void bal_argv_free(char **argv);
/* A shell-like rendering for logs (never executed). */
void bal_argv_join(char *const *argv, pm_buf_t *out);
/* Runs argv with a timeout, its output in out (may be NULL); 0 on exit
 * status 0, else a negative errno (-EPROTO for a failure status) and a
 * one-line reason in err_text (may be NULL). */
int bal_run(char *const *argv, int timeout_ms, pm_buf_t *out,
            pm_buf_t *err_text);
/* The same; *ret_exit (may be NULL) receives the exit status when the
 * command ran and exited, else -1. */
int bal_run_exit(char *const *argv, int timeout_ms, pm_buf_t *out,
                 pm_buf_t *err_text, int *ret_exit);

struct bal_executor {
  const char *name;
  const char *const *move; /* default argv templates */
  const char *const *place;
  const char *const *clear;
  bool constraints; /* moves leave constraints that clear removes */
  bool pacemaker;   /* acts through Pacemaker: crm_simulate -L tells when
                       it has nothing left to do */
  int already;      /* exit status of a move to where the service runs already
                       (the HA stack got there first); 0: none */
};
extern const struct bal_executor bal_executors[];
const struct bal_executor *bal_executor_find(const char *name);

/* ---- Pacemaker ----------------------------------------------------------- */

struct bal_pcmk_rsc {
  char *id;       /* primitive, group or clone id: what a move names */
  char *node;     /* where it runs, NULL when stopped */
  char **members; /* primitives of a group (NULL-terminated), else NULL */
  bool managed, failed, wanted, clone, multi;
  char *why_fixed;            /* set when Pacemaker would refuse a move */
  double util[BAL_MAX_ATTRS]; /* declared utilization, NAN when absent */
  char *failback;             /* its patmon-failback meta attribute, or NULL */
  struct bal_ints instances;  /* clones: nodes with an instance */
  bool promotable;            /* clones: promotable (multi_state) */
  struct bal_ints promoted;   /* promotable: nodes of promoted instances */
  char **inner; /* clones: their primitives' ids (NULL-terminated) */
};

struct bal_pcmk_node {
  char *name;
  enum bal_node_state state;
  double util[BAL_MAX_ATTRS];
  char **attr_name, **attr_val; /* for rules: #uname, #id, attributes */
  size_t nattrs;
};

struct bal_pcmk_cli { /* a cli-prefer constraint (crm_resource --move) */
  char *rsc, *node, *id;
};

struct bal_pcmk {
  struct bal_pcmk_node *nodes;
  size_t nnodes;
  struct bal_pcmk_rsc *rscs;
  size_t nrscs;
  struct bal_ints together; /* pairs of rsc indexes */
  struct bal_ints apart;    /* pairs of rsc indexes */
  struct bal_ints bans;     /* pairs (rsc, node) */
  struct bal_pcmk_cli *cli;
  size_t ncli;
  char *attrs[BAL_MAX_ATTRS]; /* utilization attribute names */
  size_t nattrs;
  bool enforce_util; /* placement-strategy is not "default" */
  bool maintenance;  /* maintenance-mode or stop-all-resources */
  double stickiness; /* resource-stickiness default */
  struct bal_map rsc_ix, member_ix;
};

/* Parses crm_mon --output-as=xml (status) and cibadmin -Q (configuration)
 * output; name_mon and name_cib name them in errors; now evaluates date
 * rules. -EBADMSG on bad XML or an unexpected document, with err filled
 * (file:line and the offending text). */
int bal_pcmk_parse(const char *mon, size_t mon_len, const char *name_mon,
                   const char *cib, size_t cib_len, const char *name_cib,
                   time_t now, struct bal_pcmk **ret, pm_error_t *err);
void bal_pcmk_free(struct bal_pcmk *p);
/* A resource, group or clone by id (group members map to their group). */
int bal_pcmk_find_rsc(const struct bal_pcmk *p, const char *id);
int bal_pcmk_find_node(const struct bal_pcmk *p, const char *name);

/* Adds to the CIB a location constraint per move (rsc[i] to node[i], as
 * crm_resource --move does), runs crm_simulate on it and returns the
 * revised status: where each resource would run. */
int bal_pcmk_simulate(const char *crm_simulate, int timeout_ms, const char *cib,
                      size_t cib_len, const char *const *rsc,
                      const char *const *node, size_t nmoves,
                      struct bal_pcmk **ret, pm_error_t *err);

/* ---- zone records in the CIB (pcmk-zone.c) -------------------------------
 *
 * The zones' shared state (zone.h's records) kept in the CIB: each record
 * is its own <cluster_property_set id="patmon-zone-KEY"> in crm_config
 * holding one <nvpair name="patmon-zone-KEY" value="VALUE">. crm_config
 * because cibadmin --create refuses an id its section already holds (exit
 * 108, CRM_EX_EXISTS) atomically on the DC: one create-if-absent for the
 * whole cluster; node attributes cannot be created that way. Pacemaker
 * ignores cluster options it does not know; a set keeps the CIB's order
 * (creation order) when its value is modified. */

#define BAL_ZREC_PREFIX "patmon-zone-"
/* Keys and values are the zone core's records (zone.h: BAL_ZONE_KEY_MAX,
 * BAL_ZONE_VALUE_MAX). */

enum bal_zrec_op {
  BAL_ZREC_SET,    /* cibadmin --modify --allow-create: overwrite */
  BAL_ZREC_CREATE, /* cibadmin --create: -EEXIST when the key exists */
  BAL_ZREC_DELETE, /* cibadmin --delete: absent is no error */
};

struct bal_zrec {
  char *key, *value;
};

/* The records read from the CIB, in its order. A malformed record (a set
 * without its nvpair, a key or value out of the format) is skipped and
 * counted in nbad; the first is described in bad. */
struct bal_zrecs {
  struct bal_zrec *v;
  size_t n;
  unsigned nbad;
  pm_error_t bad;
};

/* Whether key is 1-64 characters of [A-Za-z0-9._-]; whether value is at
 * most 1,024 printable ASCII characters (one line). */
bool bal_zrec_key_ok(const char *key);
bool bal_zrec_value_ok(const char *value);
/* Reads the records from cibadmin --query output (the whole CIB, or
 * --scope crm_config) named name in messages. -EBADMSG with err for a
 * document that is not XML or neither, -ENOMEM. On success *ret (which
 * the caller frees with bal_zrecs_free, also after an error) holds them. */
int bal_zrec_parse(const char *xml, size_t len, const char *name,
                   struct bal_zrecs *ret, pm_error_t *err);
/* The same from `cibadmin --query --scope crm_config` (one call; CIB_file
 * is honoured as by every Pacemaker tool). A command that fails: its
 * negative errno (bal_run_exit) with its reason in err. */
int bal_zrec_read(const char *cibadmin, int timeout_ms, struct bal_zrecs *ret,
                  pm_error_t *err);
/* Writes one record (value ignored for DELETE): 0, -EEXIST for a CREATE
 * of a key that exists, -EINVAL for a key or value out of the format
 * (nothing run), else the command's error with a one-line reason in
 * err_text (may be NULL). */
int bal_zrec_write(const char *cibadmin, int timeout_ms, enum bal_zrec_op op,
                   const char *key, const char *value, pm_buf_t *err_text);
/* Frees the records and empties z; NULL is a no-op. */
void bal_zrecs_free(struct bal_zrecs *z);

/* ---- plans from parts (plan.c) ------------------------------------------- */

/* The plan on c of part's moves (a plan computed on a part of c, e.g. by
 * the zone core: bal_zone_local; may be NULL) followed by extra[0..nextra-1]
 * (the cross-zone moves), matched by names: node loads and utilisations
 * as bal_plan_compute reckons them on c, the moves keep their reasons and
 * texts, part's notes and unplaced count are kept. -ENOENT for a service
 * or node c does not have, -EINVAL, -ENOMEM. */
int bal_plan_rebase(const bal_plan_t *part, const bal_move_t *extra,
                    size_t nextra, const bal_cluster_t *c,
                    const bal_params_t *p, bal_plan_t **ret);

/* ---- metrics ------------------------------------------------------------- */

/* The planning grid: n samples of step seconds ending at end. */
struct bal_grid {
  time_t end;
  unsigned step;
  size_t n;
};
void bal_grid_init(struct bal_grid *g, time_t now, unsigned window,
                   unsigned step);

/* Time spent in bal_rrd_read (monotonic clock), for the debug log. */
struct bal_rrd_cost {
  uint64_t flush_ns, read_ns;
  size_t files; /* regular files found */
};
/* rrdcached flushes for a pass (rrdc.c). Over a unix socket ("unix:PATH"
 * or "/PATH") the flushes of queued files are kept in flight ahead of the
 * reads, several at a time; another address goes through librrd's client,
 * one file at a time. Not thread-safe. */
typedef struct bal_flusher bal_flusher_t;
/* A flusher for the daemon at addr (as rrdtool takes it); connects when
 * first needed. 0 or -ENOMEM. */
int bal_flusher_new(const char *addr, bal_flusher_t **ret);
/* Queues path, a file the pass will read, in reading order (a path queued
 * again keeps its place). 0 or -ENOMEM. */
int bal_flusher_queue(bal_flusher_t *f, const char *path);
/* Returns once path has been flushed (queued first if it was not): 0, or a
 * negative errno with the daemon's address and answer (or the connection's
 * failure) in why. A path already answered is not asked again. */
int bal_flusher_wait(bal_flusher_t *f, const char *path, char *why,
                     size_t why_len);
/* Closes the connections (librrd's too, if it was used); NULL is a no-op. */
void bal_flusher_free(bal_flusher_t *f);

/* Reads the DS ds (summed, times scale) of an RRD file onto the grid (out:
 * g->n values, NAN where unknown) and its last update time. With a flusher
 * (NULL: read the file as it is) the file is flushed from rrdcached first.
 * Adds its time to *cost (may be NULL). -ENOENT when missing; else a
 * negative errno with the reason in why (the daemon's address and answer
 * when the flush failed: the file is not read then). */
int bal_rrd_read(const char *path, bal_flusher_t *flush, char *const *ds,
                 double scale, const struct bal_grid *g, double *out,
                 time_t *ret_last, struct bal_rrd_cost *cost, char *why,
                 size_t why_len);
/* The rows of an RRD file's window as rrd_fetch_r(path, "AVERAGE", &start,
 * &end, &step, ...) returns them: start and end aligned to step, (end -
 * start) / step rows of nds values (NAN where unknown), row i covering
 * (start + i*step, start + (i+1)*step]; last: the file's last update. */
struct bal_rrd_rows {
  time_t start, end, last;
  unsigned long step, nds;
  char **names;
  double *data;
  bool librrd; /* names and data are librrd's */
};
/* Reads the window [start, end] (step: the one wished for) of path with
 * pread, under librrd's shared lock: the same rows rrd_fetch_r returns
 * (rrd-read.c). 0 with *ret filled (free with bal_rrd_rows_free); 1 when
 * the file is left to librrd (another version or architecture, a header
 * that does not add up, a short file, the lock held: nothing allocated);
 * -EBADMSG with the reason in why for a header librrd would divide by zero
 * on; -ENOMEM. */
int bal_rrd_fetch(const char *path, time_t start, time_t end,
                  unsigned long step, struct bal_rrd_rows *ret, char *why,
                  size_t why_len);
/* The same through librrd (rrd_last_r where the header does not say the
 * last update, rrd_fetch_r). 0, or -EIO with librrd's reason in why;
 * ret->last is set once known, even when the fetch fails. */
int bal_rrd_fetch_librrd(const char *path, time_t start, time_t end,
                         unsigned long step, struct bal_rrd_rows *ret,
                         char *why, size_t why_len);
/* Frees f's rows and names; f may be NULL or empty. */
void bal_rrd_rows_free(struct bal_rrd_rows *f);
/* Resamples f's rows onto g (the sum of the data sources ds, times scale;
 * each cell the mean of the rows inside it, NAN where none is known) into
 * out[0..g->n-1]. 0; -EBADMSG with why for a data source f has not. */
int bal_rrd_resample(const struct bal_rrd_rows *f, char *const *ds,
                     double scale, const struct bal_grid *g, double *out,
                     char *why, size_t why_len);
/* Which hosts may hold a file of a service series template, for a set of
 * names (services or primitives): read each host's directory once instead
 * of looking for every name under every host (20 million lookups at 1,000
 * nodes and 20,000 services). With tpl's %s in one path component and no
 * other escape in it (collectd's "%h/processes-%s/..."), the directory
 * above it is listed per host; a name whose component is not listed there
 * has no file under that host. Any other shape, a directory that cannot be
 * listed for another reason than its absence, or a name that does not fit
 * leave "may" true, so the files are looked at one by one as before.
 * *ret is NULL (every pair may) for another shape. 0 or -ENOMEM. */
typedef struct bal_present bal_present_t;
int bal_present_scan(const char *data_dir, const char *tpl, char *const *hosts,
                     size_t nhosts, char *const *names, size_t nnames,
                     bal_present_t **ret);
/* Whether host may hold name's file (true for a NULL set). */
bool bal_present_may(const bal_present_t *pr, size_t name, size_t host);
/* Whether pr, scanned for another template, answers for tpl too (the same
 * directories listed for the same component: collectd's ps_cputime and
 * ps_rss files of a process sit in one directory). */
bool bal_present_serves(const bal_present_t *pr, const char *tpl);
void bal_present_free(bal_present_t *pr);
/* Expands a series template (%h, %s, and %P %T from measured). */
int bal_template(const char *tpl, const char *host, const char *svc,
                 const char *measured, pm_buf_t *out);

/* ---- the load model (load-model.c): pure, on arrays ------------------------
 *
 * A node's planning load is the estimate of its background (its series
 * less the series of every service recorded under that host) plus the
 * estimates of the services running on it now, each service's series
 * merged over the hosts it ran on; with upper, plus the deviations (upper
 * bound minus estimate) added in quadrature. Series are on one grid
 * (struct bal_grid), NAN where unknown. */

/* Adds a service's series recorded under one host (here) to its merged
 * series, and takes it off that host's background bg when bg is known. On
 * either side of a cell where the service starts or stops being recorded
 * there, the background is unknown (NAN). */
void bal_lm_take_off(double *bg, bool bg_known, const double *here,
                     double *merged, size_t gn);
/* The background is unknown in the cells after cut (the last update of a
 * fresh service file under that host: its samples are not written yet). */
void bal_lm_cut(double *bg, const struct bal_grid *g, time_t cut);

/* The configured estimate (latest, average, self forecast) of v[0..n-1]
 * and its upper bound. -ENODATA when no sample is known. */
int bal_estimate(const struct bal_conf *cf, const double *v, size_t n,
                 double *ret_mean, double *ret_upper);

/* One series: its samples (gn cells) and, when their files are fresh, the
 * forecast plugin's point and upper series on the same grid, each cell
 * stamped with the time of the sample it was made from (NULL: none). */
struct bal_lm_series {
  const double *v, *fc, *up;
};
struct bal_lm_est {
  double mean, upper; /* planning value and its upper bound */
  bool from_file;     /* estimate = forecast: the plugin's last values */
  bal_est_t est;      /* estimate = auto: its choice (else which BAL_NEST) */
};
/* A series' planning value, h steps ahead: estimate = auto chooses the
 * estimator that has been right (upper = mean, its spread in est),
 * estimate = forecast takes the plugin's last values, else (or without
 * them) bal_estimate. -ENODATA when nothing is known, -ENOMEM. */
int bal_lm_estimate(const struct bal_conf *cf, const struct bal_lm_series *x,
                    size_t gn, unsigned h, struct bal_lm_est *out);
/* What publish_utilization declares for a service of estimate e and
 * series v: the estimate, never under its last known sample (Pacemaker
 * places by it when a node dies, before any pass: a service restarts with
 * the demand it has, not the one it is forecast to fall to). */
double bal_lm_declared(const struct bal_lm_est *e, const double *v, size_t gn);
/* Node loads and variances (nn each; NAN for a node whose background is not
 * known) from the nodes' background estimates and those of the services,
 * service s running on node on[s] (-1: none) and counted when svc_known. A
 * node estimate from_file already holds its services. */
void bal_lm_loads(const struct bal_lm_est *node, const bool *node_known,
                  size_t nn, const int *on, const struct bal_lm_est *svc,
                  const bool *svc_known, size_t ns, bool upper, double *load,
                  double *var);

/* ---- state, journal, publishing ------------------------------------------ */

struct bal_state_rsc {
  char *rsc;
  time_t moved;        /* last move executed or attempted */
  bool failed;         /* the last attempt failed */
  char *constraint_to; /* node of a constraint our move left, or NULL */
  char *at;            /* where our last successful move put it, or NULL */
  bool this_pass;      /* moved by the current pass (not saved) */
  char *seen;          /* the online node it last ran on, or NULL */
  char *lost_from;     /* the node it ran on when that failed, or NULL */
  time_t lost_at;      /* when that pass saw the node offline */
  bool listed;         /* fail-back manual: journaled once */
};

struct bal_state_back { /* a node online again after a failure */
  char *node;
  time_t since; /* the pass that first saw it online again */
};

struct bal_state {
  /* the pattern set differences last reported (bal_digest_result's key),
   * "" when none */
  char patterns[PM_SHA256_HEX + 1];
  struct bal_state_rsc *rsc;
  size_t n, cap;
  pm_map_t ix;    /* resource name -> index in rsc + 1 */
  char **offline; /* nodes offline at the last pass, NULL-terminated */
  struct bal_state_back *back;
  size_t nback, back_cap;
};

/* A missing file is an empty state. */
int bal_state_load(const char *path, struct bal_state *st);
int bal_state_save(const char *path, const struct bal_state *st);
struct bal_state_rsc *bal_state_get(struct bal_state *st, const char *rsc,
                                    bool create);
/* Takes ownership of nodes. */
int bal_state_set_offline(struct bal_state *st, char **nodes);
bool bal_state_was_offline(const struct bal_state *st, const char *node);
/* Appends "node back online since": 0 or -ENOMEM (state unchanged). */
int bal_state_add_back(struct bal_state *st, const char *node, time_t since);
void bal_state_free(struct bal_state *st);

/* ---- configuration consistency (digest.c) ---------------------------------
 */

/* The node attribute each node's pattern plugin sets to its pattern set
 * digest (pattern.h's PAT_DIGEST_ATTR: the balancer does not link the
 * pattern library). */
#define BAL_DIGEST_ATTR "patmon-pattern-digest"

/* A node and the pattern set digest it published. */
struct bal_node_digest {
  const char *node, *digest;
};

struct bal_digest_result {
  size_t nodes;  /* nodes compared */
  size_t sets;   /* distinct digests among them */
  bool majority; /* sets > 1 and one digest is held by more nodes than any
                    other: the others are the minority */
  /* What differs, as a SHA-256 in hex of the minority's nodes and digests
   * and the majority's digest (or, without a majority, of every node's):
   * the same text while nothing changes, "" when all agree (or fewer than
   * two digests to compare). */
  char key[PM_SHA256_HEX + 1];
  char *line; /* for the log and --explain (malloc'd; "" for no node) */
  /* the first minority node by name (without a majority: the first node),
   * one of the caller's strings; "-" when all agree */
  const char *first;
};

/* Compares the digests of n nodes (each node once). With a majority the
 * line names each minority node and its digest, then the majority; without
 * one, each digest and its nodes. Nodes are named in order, digests by
 * their first 12 hex digits. 0, or -ENOMEM (nothing to free). */
int bal_digest_compare(const struct bal_node_digest *nodes, size_t n,
                       struct bal_digest_result *ret);

/* ---- fail-back ------------------------------------------------------------
 */

/* "never", "manual", "auto"; -EINVAL for anything else. */
int bal_failback_parse(const char *s, enum bal_failback *ret);
const char *bal_failback_name(enum bal_failback m);

enum bal_fb_action {
  BAL_FB_NONE, /* never: Pacemaker's stickiness keeps it where it is */
  BAL_FB_WAIT, /* auto: the node is not online for the stable time yet */
  BAL_FB_LIST, /* manual: listed (--explain, the moves journal) */
  BAL_FB_MOVE, /* auto: move it back when it fits */
};
/* What to do now with a resource lost from a node that has been online
 * continuously since back (0: it is not online). Pure. */
enum bal_fb_action bal_failback_due(enum bal_failback m, time_t back,
                                    time_t now, unsigned stable);
/* Updates st from the cluster as pc shows it at now: a node online again
 * after a failure gets a back time (kept while it stays online, dropped
 * when it goes offline); a resource whose seen node is offline now was
 * lost from it (kept until it runs there again); every running resource's
 * seen node. Call before bal_state_set_offline with this pass's nodes.
 * 0 or -ENOMEM. */
int bal_failback_track(struct bal_state *st, const struct bal_pcmk *pc,
                       time_t now);
/* When node came back (0: not back, or never failed). */
time_t bal_state_back_since(const struct bal_state *st, const char *node);

/* Appends "ISO-time text" to the journal (no-op without a path). */
int bal_journal(const char *path, time_t now, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Sends the PUTVAL lines of cmds to collectd's unixsock. */
int bal_putval(const char *sock, const pm_buf_t *cmds, pm_buf_t *err);
/* Runs the hooks for an executed plan (plan) or a node going offline. With
 * plan and told, the hooks that take offline events too are skipped: this
 * pass told them already. */
void bal_run_hooks(bal_engine_t *e, const struct bal_conf *cf, bool plan,
                   bool told, const char *node, size_t count, const char *msg);
/* Runs the hooks that take config events (pattern sets that differ, or
 * agree again): %e "config", %n the first node that differs or "-". */
void bal_run_config_hooks(bal_engine_t *e, const struct bal_conf *cf,
                          const char *node, const char *msg);
/* Runs the hooks that take zone events (a zone adopted, or returned to
 * its own instance): %e "zone", %n the zone. */
void bal_run_zone_hooks(bal_engine_t *e, const struct bal_conf *cf,
                        const char *zone, const char *msg);

#endif
