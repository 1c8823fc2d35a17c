/* engine-metrics.c: service demands and node loads from the RRD tree.
 *
 * Reads each dimension's node and service series onto the pass's grid,
 * and the forecast plugin's series beside them, and hands them to the load
 * model (load-model.c), which reads nothing itself. */
#include "config.h"

#include "engine-internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

/* ---- metrics
 * ----------------------------------------------------------------- */

static int series_path(struct pass *p, const char *tpl, const char *host,
                       const char *svc, pm_buf_t *out) {
  pm_buf_t rel = {0};
  int r = bal_template(tpl, host, svc, NULL, &rel);
  if (r == 0)
    r = pm_buf_printf(out, "%s/%s", p->cf->data_dir, rel.data);
  pm_buf_free(&rel);
  return r;
}

/* Reads one series; *ret_fresh tells whether it was updated within the
 * stale limit. Reports what is wrong when report is set. -ENOENT missing. */
static int read_series(struct pass *p, const char *path, char *const *ds,
                       double scale, double *v, bool *ret_fresh,
                       time_t *ret_last, const char *what, bool report) {
  char why[256] = "";
  time_t last = 0;
  int r = bal_rrd_read(path, p->flush, ds, scale, &p->g, v, &last, &p->rrd_cost,
                       why, sizeof(why));
  *ret_fresh = false;
  if (r < 0) {
    if (report)
      pass_data_note(p, BAL_LOG_WARNING, "%s: %s: %s", what, path, why);
    return r;
  }
  *ret_fresh = p->now - last <= (time_t)p->cf->stale;
  if (ret_last)
    *ret_last = last;
  if (!*ret_fresh && report)
    pass_data_note(p, BAL_LOG_WARNING,
                   "%s: %s: stale (last update %lld s ago, limit %u s)", what,
                   path, (long long)(p->now - last), p->cf->stale);
  return 0;
}

/* Reads a series file next to the measured one (a forecast) into buf
 * (p->g.n cells); false when it is missing, stale or unreadable. */
static bool read_beside(struct pass *p, const char *tpl, const char *host,
                        const char *svc, const char *measured, char *const *ds,
                        double scale, pm_buf_t *path, double *buf) {
  pm_buf_t rel = {0};
  int r = bal_template(tpl, host, svc, measured, &rel);
  pm_buf_reset(path);
  if (r == 0)
    r = pm_buf_printf(path, "%s/%s", p->cf->data_dir, rel.data);
  pm_buf_free(&rel);
  bool fresh = false;
  return r == 0 &&
         read_series(p, path->data, ds, scale, buf, &fresh, NULL, "forecast",
                     false) == 0 &&
         fresh;
}

/* Steps of the planning grid the horizon spans (at least 1). */
static unsigned horizon_steps(const struct pass *p) {
  unsigned h = (p->cf->horizon + p->g.step - 1) / p->g.step;
  return h ? h : 1;
}

/* The forecast plugin's series beside the measured one, for the load
 * model: x->fc and x->up point into buf (2 * p->g.n cells) when their
 * template is set and the file is fresh, else NULL. With estimate =
 * forecast or auto only; with forecast, the upper file only beside a
 * point one (the model uses it only then). path: the point file's. */
static int read_forecasts(struct pass *p, const char *fc_tpl,
                          const char *up_tpl, const char *host, const char *svc,
                          const char *measured_tpl, char *const *ds,
                          double scale, double *buf, struct bal_lm_series *x,
                          pm_buf_t *path) {
  x->fc = x->up = NULL;
  bool forecast = p->cf->estimate == BAL_EST_FORECAST;
  if ((!forecast && p->cf->estimate != BAL_EST_AUTO) ||
      ((!fc_tpl || !*fc_tpl) && (!up_tpl || !*up_tpl)))
    return 0;
  pm_buf_t measured = {0}, other = {0};
  int r = bal_template(measured_tpl, host, svc, NULL, &measured);
  const char *tpl[2] = {fc_tpl, up_tpl};
  const double **dst[2] = {&x->fc, &x->up};
  for (int k = 0; r == 0 && k < 2 && !(k && forecast && !x->fc); k++) {
    double *cells = buf + (size_t)k * p->g.n;
    if (tpl[k] && *tpl[k] &&
        read_beside(p, tpl[k], host, svc, measured.data, ds, scale,
                    k ? &other : path, cells))
      *dst[k] = cells;
  }
  pm_buf_free(&measured);
  pm_buf_free(&other);
  return r;
}

/* What pass_measure reads and derives, for every dimension in turn. */
struct measure {
  struct pass *p;
  size_t nn, ns, gn;
  double *node_v; /* per node, gn samples: its series, less its services' */
  bool *node_ok;  /* its series read and fresh */
  time_t *cut;    /* background unknown past this (a service not written) */
  double *svc_v;  /* per service, gn samples: merged over hosts */
  double *tmp;
  double *fc; /* 2 * gn: the forecast files of the series being estimated */
  double (*load)[BAL_NDIM], (*dem)[BAL_NDIM];
  /* the dimension being measured: the load model's estimates and loads */
  struct bal_lm_est *ne, *se;
  bool *nk, *sk; /* known: the node's background, the service's demand */
  int *on;
  double *dload, *dvar;
  /* estimate = auto: the estimates' spreads and levels, for the planner */
  double (*spread)[BAL_NDIM], (*level)[BAL_NDIM], (*level_sd)[BAL_NDIM];
  double (*nspread)[BAL_NDIM];
  /* The primitives whose series make each service's, in one list (service
   * s's first at prim0[s]), for bal_present_scan. */
  size_t *prim0, nprims;
  char **prims;
  bal_present_t *present; /* for the service template being read */
  pm_buf_t path;
};

/* A series' estimate by the load model, with the forecast files beside it
 * read first (into ms->fc); in est (est->est.which BAL_NEST unless auto
 * chose). */
static int estimate(struct measure *ms, const char *fc_tpl, const char *up_tpl,
                    const char *host, const char *svc, const char *measured_tpl,
                    char *const *ds, double scale, const double *v,
                    struct bal_lm_est *est) {
  struct pass *p = ms->p;
  struct bal_lm_series x = {.v = v};
  pm_buf_t path = {0};
  int r = read_forecasts(p, fc_tpl, up_tpl, host, svc, measured_tpl, ds, scale,
                         ms->fc, &x, &path);
  if (r == 0)
    r = bal_lm_estimate(p->cf, &x, p->g.n, horizon_steps(p), est);
  if (r == 0 && p->cf->estimate == BAL_EST_FORECAST && !est->from_file)
    pass_data_note(p, BAL_LOG_INFO,
                   "no fresh forecast series %s: forecasting from the "
                   "measured samples",
                   path.data ? path.data : fc_tpl);
  pm_buf_free(&path);
  return r;
}

/* Node n's series is read in dimension d. */
static bool node_read(const struct measure *ms, int d, size_t n) {
  const struct pass *p = ms->p;
  const struct bal_node *nd = &p->c->nodes[n];
  return bal_dim_on(nd, d) && p->cf->metric[d].node_file[0] &&
         nd->state != BAL_NODE_OFFLINE && pass_reads(p, (int)n);
}

/* Service s is measured by this pass: with a zone, the services on the
 * nodes it plans (their series under any host), and the stopped ones if it
 * leads (it places them); another zone's are unknown here, not read. */
static bool svc_read(const struct pass *p, size_t s) {
  int on = bal_service_node(p->c, (int)s);
  return on >= 0 ? pass_reads(p, on) : !p->reads || p->lead;
}

/* Service s's series under primitive k of its resource is looked for under
 * host n: a clone instance is what its own node records, and only the
 * hosts whose directory lists it are looked at (the same files are read). */
static bool svc_host(const struct measure *ms, size_t s, size_t k, size_t n) {
  const struct pass *p = ms->p;
  return (bal_service_ha(p->c, (int)s) == BAL_HA_PRIMITIVE ||
          (int)n == bal_service_node(p->c, (int)s)) &&
         bal_present_may(ms->present, ms->prim0[s] + k, n);
}

/* What is done with one file of a dimension (its path in ms->path): node
 * n's, or service s's under host n. */
typedef int (*file_fn)(struct measure *ms, int d, size_t s, size_t n,
                       void *arg);

/* fn on node n's file of dimension d, when it is read. */
static int node_file(struct measure *ms, int d, size_t n, file_fn fn,
                     void *arg) {
  struct pass *p = ms->p;
  if (!node_read(ms, d, n))
    return 0;
  pm_buf_reset(&ms->path);
  int r =
      series_path(p, p->cf->metric[d].node_file, p->hosts[n], NULL, &ms->path);
  return r < 0 ? r : fn(ms, d, SIZE_MAX, n, arg);
}

/* fn on each file of service s in dimension d: under each primitive of
 * its resource, each host that may hold it. */
static int service_files(struct measure *ms, int d, size_t s, file_fn fn,
                         void *arg) {
  struct pass *p = ms->p;
  char *const *pr = p->prims[p->rsc_of_svc[s]];
  int r = 0;
  for (size_t k = 0; r == 0 && pr[k]; k++)
    for (size_t n = 0; r == 0 && n < ms->nn; n++) {
      if (!svc_host(ms, s, k, n))
        continue;
      pm_buf_reset(&ms->path);
      r = series_path(p, p->cf->metric[d].svc_file, p->hosts[n], pr[k],
                      &ms->path);
      if (r == 0)
        r = fn(ms, d, s, n, arg);
    }
  return r;
}

static int queue_file(struct measure *ms, int d, size_t s, size_t n,
                      void *arg) {
  (void)d, (void)s, (void)n, (void)arg;
  return bal_flusher_queue(ms->p->flush, ms->path.data);
}

/* The files of dimension d, queued for rrdcached's flushes in the order
 * they are read (measure_nodes, then measure_service for each service). */
static int measure_queue(struct measure *ms, int d) {
  struct pass *p = ms->p;
  int r = 0;
  for (size_t n = 0; r == 0 && p->flush && n < ms->nn; n++)
    r = node_file(ms, d, n, queue_file, NULL);
  for (size_t s = 0;
       r == 0 && p->flush && p->cf->metric[d].svc_file[0] && s < ms->ns; s++)
    if (svc_read(p, s))
      r = service_files(ms, d, s, queue_file, NULL);
  return r;
}

/* Node n's series of dimension d (in ms->path), in the dimension's unit. */
static int read_node(struct measure *ms, int d, size_t s, size_t n, void *arg) {
  (void)s, (void)arg;
  struct pass *p = ms->p;
  const struct bal_metric *m = &p->cf->metric[d];
  const struct bal_node *nd = &p->c->nodes[n];
  double scale = m->node_scale * (m->node_percent ? nd->cap[d] / 100.0 : 1.0);
  bool fresh;
  char what[300];
  snprintf(what, sizeof(what), "node %s %s", nd->name, bal_dim_name(d));
  if (read_series(p, ms->path.data, m->node_ds, scale, &ms->node_v[n * ms->gn],
                  &fresh, &ms->cut[n], what, true) == 0 &&
      fresh)
    ms->node_ok[n] = true;
  return 0;
}

/* Node series of dimension d. */
static int measure_nodes(struct measure *ms, int d) {
  int r = 0;
  for (size_t n = 0; r == 0 && n < ms->nn; n++) {
    ms->node_ok[n] = false;
    ms->load[n][d] = NAN;
    r = node_file(ms, d, n, read_node, NULL);
  }
  return r;
}

/* Service s's series merged over the hosts that recorded it (sv), and
 * whether some host had a file (any), the one it runs on a fresh one. */
struct svc_merge {
  int on;
  double *sv;
  bool any, here;
};

/* Service s's file under host n (in ms->path) into x's merged series. */
static int read_svc_file(struct measure *ms, int d, size_t s, size_t n,
                         void *arg) {
  (void)s;
  struct svc_merge *x = arg;
  const struct bal_metric *m = &ms->p->cf->metric[d];
  bool fresh;
  time_t last;
  if (read_series(ms->p, ms->path.data, m->svc_ds, m->svc_scale, ms->tmp,
                  &fresh, &last, "service", false) < 0)
    return 0;
  x->any = true;
  /* Past its last update a fresh file is not written yet (not 0): the
   * background is unknown there. A stale one has left. */
  if (fresh && last < ms->cut[n])
    ms->cut[n] = last;
  if ((int)n == x->on && fresh)
    x->here = true;
  bal_lm_take_off(&ms->node_v[n * ms->gn], ms->node_ok[n], ms->tmp, x->sv,
                  ms->gn);
  return 0;
}

/* Service s's estimate (ms->se[s]) kept as its demand in dimension d;
 * arrived: it has no fresh series under its node yet. */
static void keep_service(struct measure *ms, int d, size_t s, bool arrived) {
  struct pass *p = ms->p;
  const struct bal_lm_est *e = &ms->se[s];
  int on = ms->on[s];
  const char *name = bal_service_name(p->c, (int)s);
  if (on < 0 || p->c->nodes[on].state == BAL_NODE_OFFLINE)
    pass_data_note(p, BAL_LOG_INFO,
                   "service %s %s: not running, planned with its last known "
                   "demand %.3g",
                   name, bal_dim_name(d), e->mean);
  else if (arrived)
    pass_data_note(p, BAL_LOG_INFO,
                   "service %s %s: no fresh series under host %s yet, "
                   "planned with its last known demand %.3g",
                   name, bal_dim_name(d), p->hosts[on], e->mean);
  ms->sk[s] = true;
  ms->dem[s][d] = fmax(e->mean, 0);
  p->declared[s][d] = bal_lm_declared(e, &ms->svc_v[s * ms->gn], ms->gn);
  p->est[s][d] = e->est;
  if (e->est.which != BAL_NEST) {
    ms->spread[s][d] = e->est.spread;
    ms->level[s][d] = fmax(e->est.level, 0);
    ms->level_sd[s][d] = e->est.level_sd;
  }
}

/* Service s's demand in dimension d: its series read and estimated. */
static int measure_service(struct measure *ms, int d, size_t s) {
  struct pass *p = ms->p;
  const struct bal_metric *m = &p->cf->metric[d];
  bal_cluster_t *c = p->c;
  double *sv = &ms->svc_v[s * ms->gn];
  for (size_t i = 0; i < ms->gn; i++)
    sv[i] = NAN;
  int on = bal_service_node(c, (int)s);
  ms->on[s] = on;
  ms->sk[s] = false;
  if (!m->svc_file[0]) {
    ms->dem[s][d] = 0; /* no per-service metric: moves do not shift it */
    ms->se[s] = (struct bal_lm_est){.mean = 0, .upper = 0};
    ms->sk[s] = true;
    return 0;
  }
  ms->dem[s][d] = NAN;
  if (!svc_read(p, s))
    return 0;
  struct svc_merge x = {.on = on, .sv = sv};
  int r = service_files(ms, d, s, read_svc_file, &x);
  if (r < 0)
    return r;
  bool here = x.here, any = x.any, arrived = false;
  enum bal_ha ha = bal_service_ha(c, (int)s);
  const char *name = bal_service_name(c, (int)s);
  if (on >= 0 && c->nodes[on].state != BAL_NODE_OFFLINE && !here) {
    if (!any && (ha == BAL_HA_CLONE || ha == BAL_HA_UNPROMOTED))
      return 0; /* never placed: its load stays background, quietly */
    if (!any) {
      pass_data_note(p, BAL_LOG_WARNING,
                     "service %s %s: no series under host %s (missing)", name,
                     bal_dim_name(d), p->hosts[on]);
      return 0;
    }
    /* It has just come here (a failover, a move by hand): until its series
     * here is fresh, its history stands for it. Left out, its new node
     * would look lighter than it is just when it matters. */
    arrived = true;
  }
  struct bal_lm_est *e = &ms->se[s];
  const char *host = on >= 0 ? p->hosts[on] : p->hosts[0];
  r = estimate(ms, m->svc_forecast, m->svc_upper, host, name, m->svc_file,
               m->svc_ds, m->svc_scale, sv, e);
  if (r == -ENOMEM)
    return r;
  if (r < 0) {
    pass_data_note(p, BAL_LOG_WARNING,
                   "service %s %s: no known sample in the last %u s", name,
                   bal_dim_name(d), p->cf->window);
    return 0;
  }
  keep_service(ms, d, s, arrived);
  return 0;
}

/* Node loads of dimension d: each node's background estimated, then the
 * load model's sum with the services on it now. */
static int measure_loads(struct measure *ms, int d) {
  struct pass *p = ms->p;
  const struct bal_conf *cf = p->cf;
  const struct bal_metric *m = &cf->metric[d];
  bal_cluster_t *c = p->c;
  for (size_t n = 0; n < ms->nn; n++) {
    ms->nk[n] = false;
    if (!ms->node_ok[n])
      continue;
    double *bg = &ms->node_v[n * ms->gn];
    bal_lm_cut(bg, &p->g, ms->cut[n]);
    double cap = c->nodes[n].cap[d];
    double scale = m->node_scale * (m->node_percent ? cap / 100.0 : 1.0);
    /* With estimate = auto the background is estimated on its own: the
     * node's forecast files hold its services too. */
    bool alone = cf->estimate == BAL_EST_AUTO;
    int r = estimate(ms, alone ? NULL : m->node_forecast,
                     alone ? NULL : m->node_upper, p->hosts[n], NULL,
                     m->node_file, m->node_ds, scale, bg, &ms->ne[n]);
    if (r == -ENOMEM)
      return r;
    if (r < 0) {
      pass_data_note(p, BAL_LOG_WARNING,
                     "node %s %s: no known sample in the last %u s",
                     c->nodes[n].name, bal_dim_name(d), cf->window);
      continue;
    }
    ms->nk[n] = true;
    if (ms->ne[n].est.which != BAL_NEST)
      ms->nspread[n][d] = ms->ne[n].est.spread;
  }
  bal_lm_loads(ms->ne, ms->nk, ms->nn, ms->on, ms->se, ms->sk, ms->ns,
               cf->upper, ms->dload, ms->dvar);
  for (size_t n = 0; n < ms->nn; n++)
    ms->load[n][d] = ms->dload[n];
  return 0;
}

/* Dimension d: node series, then services (merged over hosts, what each
 * host recorded taken off that host's background), then node loads. */
static int measure_dim(struct measure *ms, int d) {
  struct pass *p = ms->p;
  const struct bal_metric *m = &p->cf->metric[d];
  bool used = false;
  for (size_t n = 0; n < ms->nn; n++)
    used |= bal_dim_on(&p->c->nodes[n], d);
  if (!used) { /* no node has a capacity here: nothing to balance */
    for (size_t s = 0; s < ms->ns; s++)
      ms->dem[s][d] = 0;
    for (size_t n = 0; n < ms->nn; n++)
      ms->load[n][d] = NAN;
    return 0;
  }
  int r = 0;
  /* One listing of the hosts' directories serves every dimension whose
   * service files sit in the same directories. */
  if (m->svc_file[0] && !bal_present_serves(ms->present, m->svc_file)) {
    bal_present_free(ms->present);
    ms->present = NULL;
    r = bal_present_scan(p->cf->data_dir, m->svc_file, p->hosts, ms->nn,
                         ms->prims, ms->nprims, &ms->present);
  }
  if (r == 0)
    r = measure_queue(ms, d);
  if (r == 0)
    r = measure_nodes(ms, d);
  for (size_t s = 0; r == 0 && s < ms->ns; s++)
    r = measure_service(ms, d, s);
  if (r == 0)
    r = measure_loads(ms, d);
  return r;
}

static void measure_free(struct measure *ms) {
  bal_present_free(ms->present);
  free(ms->prim0);
  free(ms->prims);
  free(ms->node_v);
  free(ms->node_ok);
  free(ms->cut);
  free(ms->svc_v);
  free(ms->tmp);
  free(ms->fc);
  free(ms->load);
  free(ms->ne);
  free(ms->se);
  free(ms->nk);
  free(ms->sk);
  free(ms->on);
  free(ms->dload);
  free(ms->dvar);
  free(ms->dem);
  free(ms->spread);
  free(ms->level);
  free(ms->level_sd);
  free(ms->nspread);
  pm_buf_free(&ms->path);
}

static int measure_init(struct measure *ms, struct pass *p) {
  size_t nn = bal_cluster_nnodes(p->c), ns = bal_cluster_nservices(p->c);
  size_t gn = p->g.n;
  *ms = (struct measure){.p = p, .nn = nn, .ns = ns, .gn = gn};
  ms->node_v = calloc(nn * gn + 1, sizeof(double));
  ms->node_ok = calloc(nn + 1, sizeof(bool));
  ms->cut = calloc(nn + 1, sizeof(time_t));
  ms->svc_v = calloc(ns * gn + 1, sizeof(double));
  ms->tmp = calloc(gn + 1, sizeof(double));
  ms->fc = calloc(2 * gn + 1, sizeof(double));
  ms->load = calloc(nn + 1, sizeof(*ms->load));
  ms->ne = calloc(nn + 1, sizeof(*ms->ne));
  ms->se = calloc(ns + 1, sizeof(*ms->se));
  ms->nk = calloc(nn + 1, sizeof(bool));
  ms->sk = calloc(ns + 1, sizeof(bool));
  ms->on = calloc(ns + 1, sizeof(int));
  ms->dload = calloc(nn + 1, sizeof(double));
  ms->dvar = calloc(nn + 1, sizeof(double));
  ms->dem = calloc(ns + 1, sizeof(*ms->dem));
  ms->spread = calloc(ns + 1, sizeof(*ms->spread));
  ms->level = malloc((ns + 1) * sizeof(*ms->level));
  ms->level_sd = calloc(ns + 1, sizeof(*ms->level_sd));
  ms->nspread = calloc(nn + 1, sizeof(*ms->nspread));
  ms->prim0 = calloc(ns + 1, sizeof(size_t));
  for (size_t s = 0; s < ns; s++)
    for (char *const *pr = p->prims[p->rsc_of_svc[s]]; *pr; pr++)
      ms->nprims++;
  ms->prims = calloc(ms->nprims + 1, sizeof(char *));
  if (!ms->node_v || !ms->node_ok || !ms->cut || !ms->svc_v || !ms->tmp ||
      !ms->fc || !ms->load || !ms->dem || !ms->spread || !ms->level ||
      !ms->level_sd || !ms->nspread || !ms->prim0 || !ms->prims || !ms->ne ||
      !ms->se || !ms->nk || !ms->sk || !ms->on || !ms->dload || !ms->dvar)
    return -ENOMEM;
  ms->nprims = 0;
  for (size_t s = 0; s < ns; s++) {
    ms->prim0[s] = ms->nprims;
    for (char *const *pr = p->prims[p->rsc_of_svc[s]]; *pr; pr++)
      ms->prims[ms->nprims++] = *pr;
    for (int d = 0; d < BAL_NDIM; d++)
      ms->level[s][d] = NAN;
  }
  return 0;
}

/* Service demand per dimension, and node loads. */
int pass_measure(struct pass *p) {
  uint64_t t0 = pm_now_ns();
  struct measure ms;
  int r = measure_init(&ms, p);
  if (r == 0 && p->cf->rrdcached && *p->cf->rrdcached)
    r = bal_flusher_new(p->cf->rrdcached, &p->flush);
  for (int d = 0; r == 0 && d < BAL_NDIM; d++)
    r = measure_dim(&ms, d);
  bal_cluster_t *c = p->c;
  for (size_t n = 0; r == 0 && n < ms.nn; n++) {
    bal_node_set_load(c, (int)n, ms.load[n]);
    bal_node_set_spread(c, (int)n, ms.nspread[n]);
  }
  for (size_t s = 0; r == 0 && s < ms.ns; s++) {
    bal_service_set_demand(c, (int)s, ms.dem[s]);
    bal_service_set_spread(c, (int)s, ms.spread[s]);
    bal_service_set_level(c, (int)s, ms.level[s], ms.level_sd[s]);
  }
  bal_flusher_free(p->flush);
  p->flush = NULL;
  measure_free(&ms);
  p->measure_ns = pm_now_ns() - t0;
  return r;
}
