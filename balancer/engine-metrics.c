/* engine-metrics.c: service demands and node loads from the RRD tree.
 *
 * Load model: a node's planning load is the estimate of its background
 * (the node series minus every service series recorded under that host,
 * sample by sample) plus the estimates of the services running on it now,
 * each service's series merged over the hosts it ran on. Moves therefore
 * shift load without waiting for node series to catch up. With upper = true
 * the deviations (upper bound minus estimate) are added in quadrature. */
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

/* The last known value of a series file (read like the measured one), or
 * NAN when it is missing, stale or empty. */
static double last_of(struct pass *p, const char *tpl, const char *host,
                      const char *svc, const char *measured, char *const *ds,
                      double scale, pm_buf_t *path) {
  double v = NAN;
  double *buf = calloc(p->g.n + 1, sizeof(double));
  if (buf && read_beside(p, tpl, host, svc, measured, ds, scale, path, buf))
    for (size_t i = 0; i < p->g.n; i++)
      if (!isnan(buf[i]))
        v = buf[i];
  free(buf);
  return v;
}

/* Steps of the planning grid the horizon spans (at least 1). */
static unsigned horizon_steps(const struct pass *p) {
  unsigned h = (p->cf->horizon + p->g.step - 1) / p->g.step;
  return h ? h : 1;
}

/* estimate = auto: the estimator that has been most accurate for this
 * series (bal_estimate_auto) among the smoother, the last sample, a high
 * quantile, the window's mean and, when their files are fresh, the forecast
 * plugin's point and upper series. The plugin stamps a forecast with the
 * time of the sample it was made from: moved horizon steps on, onto the
 * cell it predicts. */
static int estimate_auto(struct pass *p, const char *fc_tpl, const char *up_tpl,
                         const char *host, const char *svc,
                         const char *measured_tpl, char *const *ds,
                         double scale, const double *v, bal_est_t *ret) {
  size_t n = p->g.n, h = horizon_steps(p);
  double *fc = malloc((3 * (n + h) + 1) * sizeof(double));
  pm_buf_t measured = {0}, path = {0};
  int r = fc ? bal_template(measured_tpl, host, svc, NULL, &measured) : -ENOMEM;
  double *up = fc + n + h, *buf = up + n + h;
  const double *given[2] = {NULL, NULL};
  const char *tpl[2] = {fc_tpl, up_tpl};
  double *dst[2] = {fc, up};
  for (int k = 0; r == 0 && k < 2; k++) {
    if (!tpl[k] || !*tpl[k] ||
        !read_beside(p, tpl[k], host, svc, measured.data, ds, scale, &path,
                     buf))
      continue;
    for (size_t i = 0; i < n + h; i++)
      dst[k][i] = i >= h ? buf[i - h] : NAN;
    given[k] = dst[k];
  }
  if (r == 0) {
    bal_est_params_t ep;
    bal_est_params_init(&ep);
    ep.horizon = (unsigned)h;
    r = bal_estimate_auto(v, n, given[0], given[1], &ep, ret);
  }
  free(fc);
  pm_buf_free(&measured);
  pm_buf_free(&path);
  return r;
}

/* A series' planning value and upper bound. With estimate = forecast, the
 * forecast plugin's files next to the measured one (*ret_file set), with
 * estimate = auto the estimator that has been right (*ret_est, its spread
 * left to the planner: upper = mean), else (or when they are missing) the
 * configured estimate of the measured samples v. ret_est->which is BAL_NEST
 * unless auto chose. */
static int estimate(struct pass *p, const char *fc_tpl, const char *up_tpl,
                    const char *host, const char *svc, const char *measured_tpl,
                    char *const *ds, double scale, const double *v,
                    double *mean, double *upper, bool *ret_file,
                    bal_est_t *ret_est) {
  *ret_file = false;
  ret_est->which = BAL_NEST;
  if (p->cf->estimate == BAL_EST_AUTO) {
    int r = estimate_auto(p, fc_tpl, up_tpl, host, svc, measured_tpl, ds, scale,
                          v, ret_est);
    if (r == 0)
      *mean = *upper = ret_est->value;
    return r;
  }
  if (p->cf->estimate == BAL_EST_FORECAST) {
    pm_buf_t measured = {0}, path = {0};
    int r = bal_template(measured_tpl, host, svc, NULL, &measured);
    double m =
        r == 0 ? last_of(p, fc_tpl, host, svc, measured.data, ds, scale, &path)
               : NAN;
    if (!isnan(m)) {
      double u = last_of(p, up_tpl, host, svc, measured.data, ds, scale, &path);
      *mean = m;
      *upper = isnan(u) ? m : fmax(u, m);
      *ret_file = true;
    } else if (r == 0) {
      pass_data_note(
          p, BAL_LOG_INFO,
          "no fresh forecast series %s: forecasting from the measured "
          "samples",
          path.data ? path.data : fc_tpl);
    }
    pm_buf_free(&measured);
    pm_buf_free(&path);
    if (*ret_file)
      return 0;
  }
  return bal_estimate(p->cf, v, p->g.n, mean, upper);
}

/* What pass_measure reads and derives, for every dimension in turn. */
struct measure {
  struct pass *p;
  size_t nn, ns, gn;
  double *node_v; /* per node, gn samples: its series, less its services' */
  bool *node_ok;  /* its series read and fresh */
  bool *whole;    /* its load from a forecast file (holds its services) */
  time_t *cut;    /* background unknown past this (a service not written) */
  double *svc_v;  /* per service, gn samples: merged over hosts */
  double *tmp;
  double (*load)[BAL_NDIM], (*var)[BAL_NDIM], (*dem)[BAL_NDIM];
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

/* Adds service s's series under host n (tmp) to its merged series sv, and
 * takes it off n's background. */
static void take_off(struct measure *ms, size_t n, double *sv) {
  size_t gn = ms->gn;
  double *nv = &ms->node_v[n * gn];
  for (size_t i = 0; i < gn; i++) {
    if (isnan(ms->tmp[i]))
      continue;
    sv[i] = isnan(sv[i]) ? ms->tmp[i] : sv[i] + ms->tmp[i];
    if (ms->node_ok[n])
      nv[i] -= ms->tmp[i];
  }
  /* Where the service starts or stops being recorded here (a DERIVE's
   * first rate is unknown, a grid cell holds part of it) the node counts
   * it and its series may not: the background is unknown in the cells on
   * either side. */
  for (size_t i = 1; ms->node_ok[n] && i < gn; i++)
    if (isnan(ms->tmp[i]) != isnan(ms->tmp[i - 1]))
      nv[i] = nv[i - 1] = NAN;
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
  take_off(ms, n, x->sv);
  return 0;
}

/* Service s's demand in dimension d: its series read and estimated. */
static int measure_service(struct measure *ms, int d, size_t s) {
  struct pass *p = ms->p;
  const struct bal_metric *m = &p->cf->metric[d];
  bal_cluster_t *c = p->c;
  double *sv = &ms->svc_v[s * ms->gn];
  for (size_t i = 0; i < ms->gn; i++)
    sv[i] = NAN;
  if (!m->svc_file[0]) {
    ms->dem[s][d] = 0; /* no per-service metric: moves do not shift it */
    return 0;
  }
  ms->dem[s][d] = NAN;
  if (!svc_read(p, s))
    return 0;
  int on = bal_service_node(c, (int)s);
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
  double mean, upper;
  bool from_file;
  const char *host = on >= 0 ? p->hosts[on] : p->hosts[0];
  if (estimate(p, m->svc_forecast, m->svc_upper, host, name, m->svc_file,
               m->svc_ds, m->svc_scale, sv, &mean, &upper, &from_file,
               &p->est[s][d]) < 0) {
    pass_data_note(p, BAL_LOG_WARNING,
                   "service %s %s: no known sample in the last %u s", name,
                   bal_dim_name(d), p->cf->window);
    return 0;
  }
  if (on < 0 || c->nodes[on].state == BAL_NODE_OFFLINE)
    pass_data_note(p, BAL_LOG_INFO,
                   "service %s %s: not running, planned with its last known "
                   "demand %.3g",
                   name, bal_dim_name(d), mean);
  else if (arrived)
    pass_data_note(p, BAL_LOG_INFO,
                   "service %s %s: no fresh series under host %s yet, "
                   "planned with its last known demand %.3g",
                   name, bal_dim_name(d), p->hosts[on], mean);
  ms->dem[s][d] = fmax(mean, 0);
  p->dev[s][d] = fmax(upper - mean, 0);
  const bal_est_t *es = &p->est[s][d];
  if (es->which != BAL_NEST) {
    ms->spread[s][d] = es->spread;
    ms->level[s][d] = fmax(es->level, 0);
    ms->level_sd[s][d] = es->level_sd;
  }
  return 0;
}

/* Node loads of dimension d: the background estimate plus the services on
 * each node now; a node forecast series (estimate = forecast) already holds
 * its services. */
static void measure_loads(struct measure *ms, int d) {
  struct pass *p = ms->p;
  const struct bal_conf *cf = p->cf;
  const struct bal_metric *m = &cf->metric[d];
  bal_cluster_t *c = p->c;
  size_t gn = ms->gn;
  for (size_t n = 0; n < ms->nn; n++)
    for (size_t i = 0; ms->node_ok[n] && i < gn; i++)
      if (p->g.end - (time_t)((gn - 1 - i) * p->g.step) > ms->cut[n])
        ms->node_v[n * gn + i] = NAN;
  for (size_t n = 0; n < ms->nn; n++) {
    ms->whole[n] = false;
    if (!ms->node_ok[n])
      continue;
    double mean, upper;
    double cap = c->nodes[n].cap[d];
    double scale = m->node_scale * (m->node_percent ? cap / 100.0 : 1.0);
    /* With estimate = auto the background is estimated on its own: the
     * node's forecast files hold its services too. */
    bool bg = cf->estimate == BAL_EST_AUTO;
    bal_est_t ne;
    int k = estimate(p, bg ? NULL : m->node_forecast, bg ? NULL : m->node_upper,
                     p->hosts[n], NULL, m->node_file, m->node_ds, scale,
                     &ms->node_v[n * gn], &mean, &upper, &ms->whole[n], &ne);
    if (k == 0 && ne.which != BAL_NEST)
      ms->nspread[n][d] = ne.spread;
    if (k < 0) {
      pass_data_note(p, BAL_LOG_WARNING,
                     "node %s %s: no known sample in the last %u s",
                     c->nodes[n].name, bal_dim_name(d), cf->window);
      continue;
    }
    ms->load[n][d] = fmax(mean, 0);
    ms->var[n][d] = (upper - mean) * (upper - mean);
  }
  for (size_t s = 0; s < ms->ns; s++) {
    int on = bal_service_node(c, (int)s);
    if (on < 0 || ms->whole[on] || isnan(ms->load[on][d]) ||
        isnan(ms->dem[s][d]))
      continue;
    ms->load[on][d] += ms->dem[s][d];
    ms->var[on][d] += p->dev[s][d] * p->dev[s][d];
  }
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
    measure_loads(ms, d);
  return r;
}

static void measure_free(struct measure *ms) {
  bal_present_free(ms->present);
  free(ms->prim0);
  free(ms->prims);
  free(ms->node_v);
  free(ms->node_ok);
  free(ms->whole);
  free(ms->cut);
  free(ms->svc_v);
  free(ms->tmp);
  free(ms->load);
  free(ms->var);
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
  ms->whole = calloc(nn + 1, sizeof(bool));
  ms->cut = calloc(nn + 1, sizeof(time_t));
  ms->svc_v = calloc(ns * gn + 1, sizeof(double));
  ms->tmp = calloc(gn + 1, sizeof(double));
  ms->load = calloc(nn + 1, sizeof(*ms->load));
  ms->var = calloc(nn + 1, sizeof(*ms->var));
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
  if (!ms->node_v || !ms->node_ok || !ms->whole || !ms->cut || !ms->svc_v ||
      !ms->tmp || !ms->load || !ms->var || !ms->dem || !ms->spread ||
      !ms->level || !ms->level_sd || !ms->nspread || !ms->prim0 || !ms->prims)
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
    for (int d = 0; d < BAL_NDIM; d++)
      if (p->cf->upper && !isnan(ms.load[n][d]))
        ms.load[n][d] += sqrt(ms.var[n][d]);
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
