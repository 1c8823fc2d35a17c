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
  int r = bal_rrd_read(path, p->cf->rrdcached, ds, scale, &p->g, v, &last,
                       &p->rrd_cost, why, sizeof(why));
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

/* Service demand per dimension, and node loads. */
int pass_measure(struct pass *p) {
  uint64_t t0 = pm_now_ns();
  const struct bal_conf *cf = p->cf;
  bal_cluster_t *c = p->c;
  size_t nn = bal_cluster_nnodes(c), ns = bal_cluster_nservices(c);
  size_t gn = p->g.n;
  double *node_v = calloc(nn * gn + 1, sizeof(double));
  bool *node_ok = calloc(nn + 1, sizeof(bool));
  bool *whole = calloc(nn + 1, sizeof(bool));
  time_t *cut = calloc(nn + 1, sizeof(time_t));
  double *svc_v = calloc(ns * gn + 1, sizeof(double));
  double *tmp = calloc(gn + 1, sizeof(double));
  double(*load)[BAL_NDIM] = calloc(nn + 1, sizeof(*load));
  double(*var)[BAL_NDIM] = calloc(nn + 1, sizeof(*var));
  double(*dem)[BAL_NDIM] = calloc(ns + 1, sizeof(*dem));
  /* estimate = auto: the estimates' spreads and levels, for the planner */
  double(*spread)[BAL_NDIM] = calloc(ns + 1, sizeof(*spread));
  double(*level)[BAL_NDIM] = malloc((ns + 1) * sizeof(*level));
  double(*level_sd)[BAL_NDIM] = calloc(ns + 1, sizeof(*level_sd));
  double(*nspread)[BAL_NDIM] = calloc(nn + 1, sizeof(*nspread));
  pm_buf_t path = {0};
  /* The primitives whose series make each service's, in one list (service
   * s's first at prim0[s]), for bal_present_scan. */
  size_t *prim0 = calloc(ns + 1, sizeof(size_t)), nprims = 0;
  for (size_t s = 0; prim0 && s < ns; s++)
    for (char *const *pr = p->prims[p->rsc_of_svc[s]]; *pr; pr++)
      nprims++;
  char **prims = calloc(nprims + 1, sizeof(char *));
  bal_present_t *present = NULL;
  int r = 0;
  if (!node_v || !node_ok || !whole || !cut || !svc_v || !tmp || !load ||
      !var || !dem || !spread || !level || !level_sd || !nspread || !prim0 ||
      !prims) {
    r = -ENOMEM;
    goto out;
  }
  nprims = 0;
  for (size_t s = 0; s < ns; s++) {
    prim0[s] = nprims;
    for (char *const *pr = p->prims[p->rsc_of_svc[s]]; *pr; pr++)
      prims[nprims++] = *pr;
  }
  for (size_t s = 0; s < ns; s++)
    for (int d = 0; d < BAL_NDIM; d++)
      level[s][d] = NAN;
  for (int d = 0; d < BAL_NDIM; d++) {
    const struct bal_metric *m = &cf->metric[d];
    bool used = false;
    for (size_t n = 0; n < nn; n++)
      used |= bal_dim_on(&c->nodes[n], d);
    if (!used) { /* no node has a capacity here: nothing to balance */
      for (size_t s = 0; s < ns; s++)
        dem[s][d] = 0;
      for (size_t n = 0; n < nn; n++)
        load[n][d] = NAN;
      continue;
    }
    /* Node series, in the dimension's unit. */
    for (size_t n = 0; n < nn; n++) {
      double cap = c->nodes[n].cap[d];
      node_ok[n] = false;
      load[n][d] = NAN;
      if (!bal_dim_on(&c->nodes[n], d) || !m->node_file[0] ||
          c->nodes[n].state == BAL_NODE_OFFLINE || !pass_reads(p, (int)n))
        continue;
      pm_buf_reset(&path);
      if ((r = series_path(p, m->node_file, p->hosts[n], NULL, &path)) < 0)
        goto out;
      double scale = m->node_scale * (m->node_percent ? cap / 100.0 : 1.0);
      bool fresh;
      char what[300];
      snprintf(what, sizeof(what), "node %s %s", c->nodes[n].name,
               bal_dim_name(d));
      if (read_series(p, path.data, m->node_ds, scale, &node_v[n * gn], &fresh,
                      &cut[n], what, true) == 0 &&
          fresh)
        node_ok[n] = true;
    }
    /* Services: merged over hosts; what each host recorded is taken off
     * that host's background. Only the hosts whose directory lists the
     * service are looked at (the same files are read). */
    bal_present_free(present);
    present = NULL;
    if (m->svc_file[0] &&
        (r = bal_present_scan(cf->data_dir, m->svc_file, p->hosts, nn, prims,
                              nprims, &present)) < 0)
      goto out;
    for (size_t s = 0; s < ns; s++) {
      double *sv = &svc_v[s * gn];
      for (size_t i = 0; i < gn; i++)
        sv[i] = NAN;
      if (!m->svc_file[0]) {
        dem[s][d] = 0; /* no per-service metric: moves do not shift it */
        continue;
      }
      int rsc = p->rsc_of_svc[s], on = bal_service_node(c, (int)s);
      enum bal_ha ha = bal_service_ha(c, (int)s);
      bool fresh_here = false, any = false;
      /* With a zone: the services on the nodes it plans (their series
       * under any host), and the stopped ones if it leads (it places
       * them); another zone's are unknown here, not read. */
      if (on >= 0 ? !pass_reads(p, on) : p->reads && !p->lead) {
        dem[s][d] = NAN;
        continue;
      }
      for (char *const *pr = p->prims[rsc]; *pr; pr++)
        for (size_t n = 0; n < nn; n++) {
          /* A clone instance is what its own node records. */
          if ((ha != BAL_HA_PRIMITIVE && (int)n != on) ||
              !bal_present_may(present, prim0[s] + (size_t)(pr - p->prims[rsc]),
                               n))
            continue;
          pm_buf_reset(&path);
          if ((r = series_path(p, m->svc_file, p->hosts[n], *pr, &path)) < 0)
            goto out;
          bool fresh;
          time_t last;
          if (read_series(p, path.data, m->svc_ds, m->svc_scale, tmp, &fresh,
                          &last, "service", false) < 0)
            continue;
          any = true;
          /* Past its last update a fresh file is not written yet (not 0):
           * the background is unknown there. A stale one has left. */
          if (fresh && last < cut[n])
            cut[n] = last;
          if ((int)n == on && fresh)
            fresh_here = true;
          for (size_t i = 0; i < gn; i++) {
            if (isnan(tmp[i]))
              continue;
            sv[i] = isnan(sv[i]) ? tmp[i] : sv[i] + tmp[i];
            if (node_ok[n])
              node_v[n * gn + i] -= tmp[i];
          }
          /* Where the service starts or stops being recorded here (a
           * DERIVE's first rate is unknown, a grid cell holds part of it)
           * the node counts it and its series may not: the background is
           * unknown in the cells on either side. */
          for (size_t i = 1; node_ok[n] && i < gn; i++)
            if (isnan(tmp[i]) != isnan(tmp[i - 1]))
              node_v[n * gn + i] = node_v[n * gn + i - 1] = NAN;
        }
      const char *name = bal_service_name(c, (int)s);
      dem[s][d] = NAN;
      bool arrived = false;
      if (on >= 0 && c->nodes[on].state != BAL_NODE_OFFLINE && !fresh_here) {
        if (!any && (ha == BAL_HA_CLONE || ha == BAL_HA_UNPROMOTED))
          continue; /* never placed: its load stays background, quietly */
        if (!any) {
          pass_data_note(p, BAL_LOG_WARNING,
                         "service %s %s: no series under host %s (missing)",
                         name, bal_dim_name(d), p->hosts[on]);
          continue;
        }
        /* It has just come here (a failover, a move by hand): until its
         * series here is fresh, its history stands for it. Left out, its
         * new node would look lighter than it is just when it matters. */
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
                       bal_dim_name(d), cf->window);
        continue;
      }
      if (on < 0 || c->nodes[on].state == BAL_NODE_OFFLINE)
        pass_data_note(
            p, BAL_LOG_INFO,
            "service %s %s: not running, planned with its last known "
            "demand %.3g",
            name, bal_dim_name(d), mean);
      else if (arrived)
        pass_data_note(p, BAL_LOG_INFO,
                       "service %s %s: no fresh series under host %s yet, "
                       "planned with its last known demand %.3g",
                       name, bal_dim_name(d), p->hosts[on], mean);
      dem[s][d] = fmax(mean, 0);
      p->dev[s][d] = fmax(upper - mean, 0);
      const bal_est_t *es = &p->est[s][d];
      if (es->which != BAL_NEST) {
        spread[s][d] = es->spread;
        level[s][d] = fmax(es->level, 0);
        level_sd[s][d] = es->level_sd;
      }
    }
    for (size_t n = 0; n < nn; n++)
      for (size_t i = 0; node_ok[n] && i < gn; i++)
        if (p->g.end - (time_t)((gn - 1 - i) * p->g.step) > cut[n])
          node_v[n * gn + i] = NAN;
    /* Node load: background estimate plus the services on it now; a node
     * forecast series (estimate = forecast) already holds its services. */
    for (size_t n = 0; n < nn; n++) {
      whole[n] = false;
      if (!node_ok[n])
        continue;
      double mean, upper;
      double cap = c->nodes[n].cap[d];
      double scale = m->node_scale * (m->node_percent ? cap / 100.0 : 1.0);
      /* With estimate = auto the background is estimated on its own: the
       * node's forecast files hold its services too. */
      bool bg = cf->estimate == BAL_EST_AUTO;
      bal_est_t ne;
      int k =
          estimate(p, bg ? NULL : m->node_forecast, bg ? NULL : m->node_upper,
                   p->hosts[n], NULL, m->node_file, m->node_ds, scale,
                   &node_v[n * gn], &mean, &upper, &whole[n], &ne);
      if (k == 0 && ne.which != BAL_NEST)
        nspread[n][d] = ne.spread;
      if (k < 0) {
        pass_data_note(p, BAL_LOG_WARNING,
                       "node %s %s: no known sample in the last %u s",
                       c->nodes[n].name, bal_dim_name(d), cf->window);
        continue;
      }
      load[n][d] = fmax(mean, 0);
      var[n][d] = (upper - mean) * (upper - mean);
    }
    for (size_t s = 0; s < ns; s++) {
      int on = bal_service_node(c, (int)s);
      if (on < 0 || whole[on] || isnan(load[on][d]) || isnan(dem[s][d]))
        continue;
      load[on][d] += dem[s][d];
      var[on][d] += p->dev[s][d] * p->dev[s][d];
    }
  }
  for (size_t n = 0; n < nn; n++) {
    for (int d = 0; d < BAL_NDIM; d++)
      if (cf->upper && !isnan(load[n][d]))
        load[n][d] += sqrt(var[n][d]);
    bal_node_set_load(c, (int)n, load[n]);
  }
  for (size_t s = 0; s < ns; s++) {
    bal_service_set_demand(c, (int)s, dem[s]);
    bal_service_set_spread(c, (int)s, spread[s]);
    bal_service_set_level(c, (int)s, level[s], level_sd[s]);
  }
  for (size_t n = 0; n < nn; n++)
    bal_node_set_spread(c, (int)n, nspread[n]);
out:
  bal_rrdc_close();
  bal_present_free(present);
  free(prim0);
  free(prims);
  p->measure_ns = pm_now_ns() - t0;
  free(node_v);
  free(node_ok);
  free(whole);
  free(cut);
  free(svc_v);
  free(tmp);
  free(load);
  free(var);
  free(dem);
  free(spread);
  free(level);
  free(level_sd);
  free(nspread);
  pm_buf_free(&path);
  return r;
}
