/* internal.h: what the files of balancer/ share; not installed. */
#ifndef PATMON_BALANCER_INTERNAL_H
#define PATMON_BALANCER_INTERNAL_H

#include "balancer.h"
#include "pm_conf.h"

#include <math.h>
#include <stdint.h>
#include <time.h>

#define BAL_MAX_ATTRS 8

/* A string -> index map (open addressing, owned keys). */
struct bal_map {
  char **keys;
  int *vals;
  size_t cap, len;
};
int bal_map_put(struct bal_map *m, const char *key, int val);
int bal_map_get(const struct bal_map *m, const char *key);
void bal_map_free(struct bal_map *m);

/* A growable array of int. */
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
  double attr[BAL_MAX_ATTRS]; /* declared capacity, NAN when absent */
  enum bal_node_state state;
};

struct bal_service {
  char *name;
  int node;
  double demand[BAL_NDIM];
  double attr[BAL_MAX_ATTRS]; /* declared need, NAN when absent */
  unsigned flags;
  char *why_fixed;
  struct bal_ints bans;
  int colo; /* union-find parent for bal_service_colocate */
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
  BAL_EST_FORECAST, /* the forecast series the forecast plugin writes */
  BAL_EST_SELF,     /* bal_forecast on the measured window */
};

enum bal_source { BAL_SRC_PACEMAKER, BAL_SRC_STATIC };

/* How one dimension is measured for nodes and services. Templates expand
 * %h (host), %s (service), %% under the data directory. */
struct bal_metric {
  char *node_file;
  char *node_ds[4]; /* summed; NULL-terminated */
  double node_scale;
  bool node_percent; /* value is a percentage of the node's capacity */
  char *svc_file;
  char *svc_ds[4];
  double svc_scale;
  char *node_forecast; /* forecast series templates (%h, %s, %S suffix) */
  char *svc_forecast;
  char *forecast_ds;
  char *upper_ds;
  char *util_attr; /* Pacemaker utilization attribute for capacity */
  double util_scale;
};

struct bal_node_conf {
  char *name;
  char *host; /* host name in the RRD tree (default: name) */
  double cap[BAL_NDIM];
  char *uri; /* for virsh: the libvirt URI of the node */
};

struct bal_svc_conf { /* static inventory */
  char *name;
  char *node;
};

struct bal_exec_conf {
  char *type;   /* executor table row */
  char **move;  /* argv templates, NULL-terminated */
  char **place; /* for a service of a failed node */
  char **clear; /* removes what a move left behind */
  char *lifetime;
  int timeout_ms;
  bool verify;
};

struct bal_hook {
  char *name;
  char **argv;
  bool on_plan, on_offline;
};

struct bal_conf {
  char *path;
  bool execute;
  unsigned interval;
  double threshold;
  unsigned max_moves;
  unsigned cooldown;
  bool swaps, repack;
  enum bal_estimate estimate;
  bool upper;
  double z;
  unsigned horizon; /* seconds */
  unsigned window;  /* seconds of history read */
  unsigned stale;   /* seconds after which a series is stale */
  char *data_dir;
  enum bal_source source;
  char **services; /* globs of movable services, NULL-terminated */
  char **exclude;
  char *state_file, *journal, *lock_file, *unixsock, *publish_host;
  char *crm_mon, *cibadmin, *crm_simulate;
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
/* Whether a service name is movable under the services/exclude globs. */
bool bal_conf_movable(const struct bal_conf *c, const char *name);
const struct bal_node_conf *bal_conf_node(const struct bal_conf *c,
                                          const char *name);

/* ---- Pacemaker ------------------------------------------------------------
 */

/* What the CIB and crm_mon say, before metrics are known. */
struct bal_pcmk_rsc {
  char *id;       /* primitive or group id: what a move names */
  char *node;     /* where it runs, NULL when stopped */
  char **members; /* primitives of a group (NULL-terminated), else NULL */
  bool managed, failed, wanted, clone, multi;
  char *why_fixed; /* set when Pacemaker would refuse to move it */
  double util[BAL_MAX_ATTRS];
};

struct bal_pcmk_node {
  char *name;
  enum bal_node_state state;
  double util[BAL_MAX_ATTRS];
};

struct bal_pcmk_ban {
  int rsc;
  char *node;
};

struct bal_pcmk_cli { /* a cli-prefer constraint in the CIB */
  char *rsc, *node;
};

struct bal_pcmk {
  struct bal_pcmk_node *nodes;
  size_t nnodes;
  struct bal_pcmk_rsc *rscs;
  size_t nrscs;
  struct bal_ints together; /* pairs of rsc indexes */
  struct bal_ints apart;
  struct bal_pcmk_ban *bans;
  size_t nbans;
  struct bal_pcmk_cli *cli;
  size_t ncli;
  char *attrs[BAL_MAX_ATTRS];
  size_t nattrs;
  bool enforce_util; /* placement-strategy is not "default" */
  bool maintenance;  /* cluster-wide maintenance-mode or stop-all */
  double stickiness; /* resource-stickiness default */
};

/* Parses crm_mon --output-as=xml (status) and cibadmin -Q (config) output.
 * name_mon and name_cib are used in errors. -EBADMSG on bad XML or an
 * unexpected document, with err filled (file:line and the offending text). */
int bal_pcmk_parse(const char *mon, size_t mon_len, const char *name_mon,
                   const char *cib, size_t cib_len, const char *name_cib,
                   struct bal_pcmk **ret, pm_error_t *err);
void bal_pcmk_free(struct bal_pcmk *p);
int bal_pcmk_find_rsc(const struct bal_pcmk *p, const char *id);

/* Adds to cib (a whole CIB document) a location constraint per move like
 * crm_resource --move would, runs crm_simulate on it and reports where each
 * resource would run: ret_nodes[i] for rscs[i] (NULL: stopped; caller frees
 * each and the array). */
int bal_pcmk_simulate(const char *crm_simulate, int timeout_ms, const char *cib,
                      size_t cib_len, const char *const *rsc,
                      const char *const *node, size_t nmoves, char ***ret_where,
                      size_t *ret_n, char ***ret_ids, pm_error_t *err);

/* ---- metrics ----------------------------------------------------------------
 */

enum bal_series_status {
  BAL_SERIES_OK,
  BAL_SERIES_MISSING, /* no file */
  BAL_SERIES_STALE,   /* last update older than the stale limit */
  BAL_SERIES_EMPTY,   /* no known sample in the window */
  BAL_SERIES_ERROR,   /* unreadable, or the data source is absent */
};

struct bal_series {
  enum bal_series_status status;
  double value;     /* the planning value (NAN unless OK) */
  double last;      /* the last known sample */
  time_t last_time; /* its time */
  char path[1024];
  char msg[256];
};

/* Reads a series from file (DS names summed, scaled) over the configured
 * window, judges freshness against now and computes the planning value by
 * the configured estimate. fc_file (may be NULL) is the forecast series. */
int bal_series_read(const struct bal_conf *cf, const char *file,
                    char *const *ds, double scale, const char *fc_file,
                    time_t now, struct bal_series *ret);
/* Expands a template (%h host, %s service, %%) into out. */
int bal_template(const char *tpl, const char *host, const char *svc, char *out,
                 size_t len);

/* ---- executors
 * --------------------------------------------------------------- */

enum bal_action { BAL_ACT_MOVE, BAL_ACT_PLACE, BAL_ACT_CLEAR };

struct bal_executor {
  const char *name;
  const char *const *move; /* default argv templates */
  const char *const *place;
  const char *const *clear;
  bool needs_uri; /* %u must expand (virsh) */
};
const struct bal_executor *bal_executor_find(const char *name);
extern const struct bal_executor bal_executors[];

/* Fills argv (malloc'd strings, NULL-terminated) from a template: %r the
 * resource, %n the target node, %f the source node, %u the target node's
 * URI, %l the lifetime, %% a percent sign. A word that expands to nothing
 * because its value is unknown is dropped when it is only that token. */
int bal_argv_expand(const char *const *tpl, const char *rsc, const char *node,
                    const char *from, const char *uri, const char *lifetime,
                    char ***ret_argv);
void bal_argv_free(char **argv);

/* ---- state (cooldowns, constraints created) and journal ----------------- */

struct bal_state_rsc {
  char *rsc;
  time_t moved;        /* last move executed or attempted */
  bool failed;         /* the last attempt failed */
  char *constraint_to; /* node of a constraint we created, or NULL */
};

struct bal_state {
  struct bal_state_rsc *rsc;
  size_t n;
  char **offline; /* nodes seen offline at the last pass */
  size_t noffline;
};

int bal_state_load(const char *path, struct bal_state *st);
int bal_state_save(const char *path, const struct bal_state *st);
struct bal_state_rsc *bal_state_get(struct bal_state *st, const char *rsc,
                                    bool create);
void bal_state_free(struct bal_state *st);

#endif
