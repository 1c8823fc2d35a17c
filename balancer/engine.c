/* engine.c: one pass of patmon-balance.
 *
 * inventory (crm_mon + CIB, or the configuration) -> metrics (RRD) ->
 * cluster model -> plan -> verify (crm_simulate) -> act -> clear stale
 * constraints -> what-if -> publish, notify, remember.
 *
 * Load model: a node's planning load is the estimate of its background
 * (the node series minus every service series recorded under that host,
 * sample by sample) plus the estimates of the services running on it now,
 * each service's series merged over the hosts it ran on. Moves therefore
 * shift load without waiting for node series to catch up. With upper = true
 * the deviations (upper bound minus estimate) are added in quadrature. */
#include "config.h"

#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

struct bal_engine {
  char *path;
  struct bal_conf *conf;
  bal_log_fn log;
  void *log_ud;
  int lock_fd;
};

static void elog(bal_engine_t *e, enum bal_log_level l, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void elog(bal_engine_t *e, enum bal_log_level l, const char *fmt, ...) {
  if (!e->log)
    return;
  pm_buf_t b = {0};
  va_list ap;
  va_start(ap, fmt);
  int r = pm_buf_vprintf(&b, fmt, ap);
  va_end(ap);
  if (r == 0)
    e->log(e->log_ud, l, b.data);
  pm_buf_free(&b);
}

int bal_engine_new(const char *path, bal_engine_t **ret, pm_error_t *err) {
  bal_engine_t *e = calloc(1, sizeof(*e));
  if (!e || !(e->path = strdup(path))) {
    free(e);
    return -ENOMEM;
  }
  e->lock_fd = -1;
  int r = bal_conf_load(path, &e->conf, err);
  if (r < 0) {
    bal_engine_free(e);
    return r;
  }
  *ret = e;
  return 0;
}

void bal_engine_free(bal_engine_t *e) {
  if (!e)
    return;
  if (e->lock_fd >= 0)
    close(e->lock_fd);
  bal_conf_free(e->conf);
  free(e->path);
  free(e);
}

void bal_engine_set_log(bal_engine_t *e, bal_log_fn fn, void *ud) {
  e->log = fn;
  e->log_ud = ud;
}

int bal_engine_reload(bal_engine_t *e, pm_error_t *err) {
  struct bal_conf *c = NULL;
  int r = bal_conf_load(e->path, &c, err);
  if (r < 0)
    return r;
  bal_conf_free(e->conf);
  e->conf = c;
  return 0;
}

unsigned bal_engine_interval(const bal_engine_t *e) {
  return e->conf->interval;
}

int bal_engine_lock(bal_engine_t *e) {
  const char *path = e->conf->lock_file;
  if (!path || !*path)
    return 0;
  if (e->lock_fd >= 0)
    return 0;
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    return -errno;
  if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
    int r = errno == EWOULDBLOCK ? -EWOULDBLOCK : -errno;
    close(fd);
    return r;
  }
  char pid[32];
  int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
  /* The pid is informative only: a failure to write it does not matter. */
  if (ftruncate(fd, 0) == 0 && write(fd, pid, (size_t)n) != n)
    elog(e, BAL_LOG_DEBUG, "lock file %s: cannot write the pid", path);
  e->lock_fd = fd;
  return 0;
}

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
  struct bal_state st;
  bal_cluster_t *c;
  struct bal_grid g;
  char **hosts;            /* per node */
  int *svc_of_rsc;         /* pcmk rsc -> service (-1) */
  int *rsc_of_svc;         /* service -> pcmk rsc */
  char ***prims;           /* per rsc: the primitive ids its demand sums */
  double (*dev)[BAL_NDIM]; /* per service: upper - estimate */
  bal_plan_t *plan;
  bal_params_t params;
  size_t executed, failed;
  bool hold;           /* the plan could not be verified: do not act */
  pm_buf_t data_notes; /* missing or stale series, for --explain */
};

static bool acting(const struct pass *p) {
  return p->cf->execute && !(p->flags & BAL_PASS_DRY_RUN) && !p->hold;
}

static bool side_effects(const struct pass *p) {
  return !(p->flags & BAL_PASS_DRY_RUN);
}

static void data_note(struct pass *p, enum bal_log_level l, const char *fmt,
                      ...) __attribute__((format(printf, 3, 4)));
static void data_note(struct pass *p, enum bal_log_level l, const char *fmt,
                      ...) {
  pm_buf_t b = {0};
  va_list ap;
  va_start(ap, fmt);
  int r = pm_buf_vprintf(&b, fmt, ap);
  va_end(ap);
  if (r == 0) {
    elog(p->e, l, "%s", b.data);
    pm_buf_printf(&p->data_notes, "  %s\n", b.data);
  }
  pm_buf_free(&b);
}

/* ---- inventory ----------------------------------------------------------- */

static int run_capture(struct pass *p, char *const *argv, pm_buf_t *out) {
  pm_buf_t err = {0};
  int r = bal_run(argv, p->cf->cmd_timeout_ms, out, &err);
  if (r < 0)
    elog(p->e, BAL_LOG_ERR, "%s failed: %s", argv[0], err.data);
  pm_buf_free(&err);
  return r;
}

static int inventory_pacemaker(struct pass *p) {
  pm_buf_t mon = {0};
  char *mon_argv[] = {p->cf->crm_mon, "--one-shot", "--output-as=xml", NULL};
  char *cib_argv[] = {p->cf->cibadmin, "--query", NULL};
  int r = run_capture(p, mon_argv, &mon);
  if (r == 0)
    r = run_capture(p, cib_argv, &p->cib);
  if (r == 0) {
    pm_error_t err = {0};
    r = bal_pcmk_parse(mon.data ? mon.data : "", mon.len, "crm_mon",
                       p->cib.data ? p->cib.data : "", p->cib.len, "cibadmin",
                       p->now, &p->pc, &err);
    if (r < 0) {
      char buf[1024];
      elog(p->e, BAL_LOG_ERR, "cannot read the cluster state: %s",
           pm_error_str(&err, buf, sizeof(buf)));
    }
  }
  pm_buf_free(&mon);
  return r;
}

/* source = static: the configuration's nodes (online) and services. */
static int inventory_static(struct pass *p) {
  const struct bal_conf *cf = p->cf;
  struct bal_pcmk *pc = calloc(1, sizeof(*pc));
  if (!pc)
    return -ENOMEM;
  p->pc = pc;
  pc->nodes = calloc(cf->nnodes + 1, sizeof(*pc->nodes));
  pc->rscs = calloc(cf->nsvcs + 1, sizeof(*pc->rscs));
  if (!pc->nodes || !pc->rscs)
    return -ENOMEM;
  for (size_t i = 0; i < cf->nnodes; i++) {
    struct bal_pcmk_node *n = &pc->nodes[pc->nnodes++];
    n->state = BAL_NODE_ONLINE;
    for (size_t a = 0; a < BAL_MAX_ATTRS; a++)
      n->util[a] = NAN;
    if (!(n->name = strdup(cf->nodes[i].name)))
      return -ENOMEM;
  }
  for (size_t i = 0; i < cf->nsvcs; i++) {
    struct bal_pcmk_rsc *r = &pc->rscs[pc->nrscs];
    *r = (struct bal_pcmk_rsc){.managed = true, .wanted = true};
    for (size_t a = 0; a < BAL_MAX_ATTRS; a++)
      r->util[a] = NAN;
    /* Where our last move put it, else where the configuration says. */
    struct bal_state_rsc *st = bal_state_get(&p->st, cf->svcs[i].name, false);
    const char *on =
        st && st->at && bal_conf_node(cf, st->at) ? st->at : cf->svcs[i].node;
    r->id = strdup(cf->svcs[i].name);
    r->node = on ? strdup(on) : NULL;
    if (!r->id || (on && !r->node) ||
        bal_map_put(&pc->rsc_ix, r->id, (int)pc->nrscs) < 0)
      return -ENOMEM;
    pc->nrscs++;
  }
  return 0;
}

/* Nodes that went offline since the last pass: journal and hooks. */
static void offline_events(struct pass *p) {
  size_t n = 0;
  char **now_off = calloc(p->pc->nnodes + 1, sizeof(char *));
  if (!now_off)
    return;
  for (size_t i = 0; i < p->pc->nnodes; i++) {
    const char *name = p->pc->nodes[i].name;
    if (p->pc->nodes[i].state != BAL_NODE_OFFLINE)
      continue;
    now_off[n++] = strdup(name);
    if (bal_state_was_offline(&p->st, name))
      continue;
    elog(p->e, BAL_LOG_WARNING, "node %s is offline", name);
    if (!side_effects(p))
      continue;
    bal_journal(p->cf->journal, p->now, "offline %s", name);
    char msg[256];
    snprintf(msg, sizeof(msg), "node %s is offline", name);
    bal_run_hooks(p->e, p->cf, false, name, 0, msg);
  }
  bal_state_set_offline(&p->st, now_off);
}

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
  int r = bal_rrd_read(path, ds, scale, &p->g, v, &last, why, sizeof(why));
  *ret_fresh = false;
  if (r < 0) {
    if (report)
      data_note(p, BAL_LOG_WARNING, "%s: %s: %s", what, path, why);
    return r;
  }
  *ret_fresh = p->now - last <= (time_t)p->cf->stale;
  if (ret_last)
    *ret_last = last;
  if (!*ret_fresh && report)
    data_note(p, BAL_LOG_WARNING,
              "%s: %s: stale (last update %lld s ago, limit %u s)", what, path,
              (long long)(p->now - last), p->cf->stale);
  return 0;
}

/* The last known value of a series file (read like the measured one), or
 * NAN when it is missing, stale or empty. */
static double last_of(struct pass *p, const char *tpl, const char *host,
                      const char *svc, const char *measured, char *const *ds,
                      double scale, pm_buf_t *path) {
  pm_buf_t rel = {0};
  double v = NAN;
  double *buf = calloc(p->g.n + 1, sizeof(double));
  int r = bal_template(tpl, host, svc, measured, &rel);
  pm_buf_reset(path);
  if (r == 0)
    r = pm_buf_printf(path, "%s/%s", p->cf->data_dir, rel.data);
  bool fresh = false;
  if (r == 0 && buf &&
      read_series(p, path->data, ds, scale, buf, &fresh, NULL, "forecast",
                  false) == 0 &&
      fresh)
    for (size_t i = 0; i < p->g.n; i++)
      if (!isnan(buf[i]))
        v = buf[i];
  free(buf);
  pm_buf_free(&rel);
  return v;
}

/* A series' planning value and upper bound. With estimate = forecast, the
 * forecast plugin's files next to the measured one (*ret_file set), else
 * (or when they are missing) the configured estimate of the measured
 * samples v. */
static int estimate(struct pass *p, const char *fc_tpl, const char *up_tpl,
                    const char *host, const char *svc, const char *measured_tpl,
                    char *const *ds, double scale, const double *v,
                    double *mean, double *upper, bool *ret_file) {
  *ret_file = false;
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
      data_note(p, BAL_LOG_INFO,
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
static int measure(struct pass *p) {
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
  pm_buf_t path = {0};
  int r = 0;
  if (!node_v || !node_ok || !whole || !cut || !svc_v || !tmp || !load ||
      !var || !dem) {
    r = -ENOMEM;
    goto out;
  }
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
          c->nodes[n].state == BAL_NODE_OFFLINE)
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
     * that host's background. */
    for (size_t s = 0; s < ns; s++) {
      double *sv = &svc_v[s * gn];
      for (size_t i = 0; i < gn; i++)
        sv[i] = NAN;
      if (!m->svc_file[0]) {
        dem[s][d] = 0; /* no per-service metric: moves do not shift it */
        continue;
      }
      int rsc = p->rsc_of_svc[s], on = bal_service_node(c, (int)s);
      bool fresh_here = false, any = false;
      for (char *const *pr = p->prims[rsc]; *pr; pr++)
        for (size_t n = 0; n < nn; n++) {
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
      if (on >= 0 && c->nodes[on].state != BAL_NODE_OFFLINE && !fresh_here) {
        data_note(p, BAL_LOG_WARNING,
                  "service %s %s: no fresh series under host %s (%s)", name,
                  bal_dim_name(d), p->hosts[on],
                  any ? "only old or elsewhere" : "missing");
        continue;
      }
      double mean, upper;
      bool from_file;
      const char *host = on >= 0 ? p->hosts[on] : p->hosts[0];
      if (estimate(p, m->svc_forecast, m->svc_upper, host, name, m->svc_file,
                   m->svc_ds, m->svc_scale, sv, &mean, &upper,
                   &from_file) < 0) {
        data_note(p, BAL_LOG_WARNING,
                  "service %s %s: no known sample in the last %u s", name,
                  bal_dim_name(d), cf->window);
        continue;
      }
      if (on < 0 || c->nodes[on].state == BAL_NODE_OFFLINE)
        data_note(p, BAL_LOG_INFO,
                  "service %s %s: not running, planned with its last known "
                  "demand %.3g",
                  name, bal_dim_name(d), mean);
      dem[s][d] = fmax(mean, 0);
      p->dev[s][d] = fmax(upper - mean, 0);
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
      int k = estimate(p, m->node_forecast, m->node_upper, p->hosts[n], NULL,
                       m->node_file, m->node_ds, scale, &node_v[n * gn], &mean,
                       &upper, &whole[n]);
      if (k < 0) {
        data_note(p, BAL_LOG_WARNING,
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
  for (size_t s = 0; s < ns; s++)
    bal_service_set_demand(c, (int)s, dem[s]);
out:
  free(node_v);
  free(node_ok);
  free(whole);
  free(cut);
  free(svc_v);
  free(tmp);
  free(load);
  free(var);
  free(dem);
  pm_buf_free(&path);
  return r;
}

/* ---- the model ----------------------------------------------------------- */

static double node_cap(struct pass *p, int pn, int d) {
  const struct bal_conf *cf = p->cf;
  const struct bal_node_conf *nc = bal_conf_node(cf, p->pc->nodes[pn].name);
  if (nc && !isnan(nc->cap[d]))
    return nc->cap[d];
  const char *ua = cf->metric[d].util_attr;
  for (size_t a = 0; ua[0] && a < p->pc->nattrs; a++)
    if (strcmp(p->pc->attrs[a], ua) == 0 && !isnan(p->pc->nodes[pn].util[a]))
      return p->pc->nodes[pn].util[a] * cf->metric[d].util_scale;
  return NAN;
}

/* Whether the cli-prefer constraint on rsc is one we created. */
static bool ours(struct pass *p, const char *rsc) {
  struct bal_state_rsc *s = bal_state_get(&p->st, rsc, false);
  return s && s->constraint_to;
}

static int build_model(struct pass *p) {
  const struct bal_conf *cf = p->cf;
  struct bal_pcmk *pc = p->pc;
  int r = 0;
  if (!(p->c = bal_cluster_new()))
    return -ENOMEM;
  p->hosts = calloc(pc->nnodes + 1, sizeof(char *));
  p->svc_of_rsc = calloc(pc->nrscs + 1, sizeof(int));
  p->rsc_of_svc = calloc(pc->nrscs + 1, sizeof(int));
  p->prims = calloc(pc->nrscs + 1, sizeof(char **));
  p->dev = calloc(pc->nrscs + 1, sizeof(*p->dev));
  if (!p->hosts || !p->svc_of_rsc || !p->rsc_of_svc || !p->prims || !p->dev)
    return -ENOMEM;
  pm_buf_t b = {0};
  for (size_t i = 0; r == 0 && i < pc->nnodes; i++) {
    double cap[BAL_NDIM];
    for (int d = 0; d < BAL_NDIM; d++)
      cap[d] = node_cap(p, (int)i, d);
    if (isnan(cap[BAL_CPU]) && isnan(cap[BAL_MEM]) && isnan(cap[BAL_NET]))
      data_note(p, BAL_LOG_WARNING,
                "node %s: no capacity (node section or Pacemaker "
                "utilization): neither source nor target",
                pc->nodes[i].name);
    r = bal_cluster_add_node(p->c, pc->nodes[i].name, cap, pc->nodes[i].state);
    const struct bal_node_conf *nc = bal_conf_node(cf, pc->nodes[i].name);
    const struct bal_kv kv[] = {{'n', pc->nodes[i].name}, {0, NULL}};
    if (r >= 0 && nc && nc->host)
      r = (p->hosts[i] = strdup(nc->host)) ? 0 : -ENOMEM;
    else if (r >= 0 && (r = bal_subst(cf->host_format, kv, &b, NULL)) == 0)
      r = (p->hosts[i] = strdup(b.data)) ? 0 : -ENOMEM;
  }
  pm_buf_free(&b);
  if (r < 0)
    return r;
  for (size_t i = 0; i < pc->nrscs; i++) {
    struct bal_pcmk_rsc *rs = &pc->rscs[i];
    p->svc_of_rsc[i] = -1;
    if (rs->clone || !rs->wanted)
      continue;
    int node = rs->node ? bal_cluster_find_node(p->c, rs->node) : -1;
    int s = bal_cluster_add_service(p->c, rs->id, node, NULL);
    if (s < 0)
      return s;
    p->svc_of_rsc[i] = s;
    p->rsc_of_svc[s] = (int)i;
    if (!rs->members) {
      const char *one[] = {rs->id, NULL};
      if (!(p->prims[i] = bal_argv_dup(one)))
        return -ENOMEM;
    } else if (!(p->prims[i] = bal_argv_dup((const char *const *)rs->members)))
      return -ENOMEM;
    /* Why it may not move. */
    const char *why = rs->why_fixed;
    char buf[512];
    if (!why && !bal_conf_movable(cf, rs->id))
      why = "not matched by services (or excluded) in the configuration";
    for (size_t k = 0; !why && k < pc->ncli; k++)
      if (strcmp(pc->cli[k].rsc, rs->id) == 0 && !ours(p, rs->id)) {
        snprintf(buf, sizeof(buf), "moved by hand (constraint %s)",
                 pc->cli[k].id);
        why = buf;
      }
    struct bal_state_rsc *st = bal_state_get(&p->st, rs->id, false);
    unsigned flags = 0;
    if (!why && st && st->failed && p->now - st->moved < (time_t)cf->cooldown) {
      snprintf(buf, sizeof(buf),
               "its last move failed %lld s ago: not retried before the "
               "cooldown (%u s) ends",
               (long long)(p->now - st->moved), cf->cooldown);
      why = buf;
    }
    if (why)
      flags |= BAL_SVC_FIXED;
    else if (st && p->now - st->moved < (time_t)cf->cooldown)
      flags |= BAL_SVC_COOLDOWN;
    if ((r = bal_service_set_flags(p->c, s, flags, why)) < 0)
      return r;
  }
  /* Constraints. */
  for (size_t i = 0; i + 1 < pc->together.n; i += 2) {
    int a = p->svc_of_rsc[pc->together.v[i]],
        b2 = p->svc_of_rsc[pc->together.v[i + 1]];
    if (a >= 0 && b2 >= 0)
      bal_service_colocate(p->c, a, b2);
  }
  for (size_t i = 0; i + 1 < pc->apart.n; i += 2) {
    int a = p->svc_of_rsc[pc->apart.v[i]],
        b2 = p->svc_of_rsc[pc->apart.v[i + 1]];
    if (a >= 0 && b2 >= 0)
      bal_service_separate(p->c, a, b2);
  }
  for (size_t i = 0; i + 1 < pc->bans.n; i += 2) {
    int s = p->svc_of_rsc[pc->bans.v[i]];
    if (s >= 0)
      bal_service_ban(p->c, s, pc->bans.v[i + 1]);
  }
  if (pc->enforce_util)
    for (size_t a = 0; a < pc->nattrs; a++) {
      int k = bal_cluster_add_attr(p->c, pc->attrs[a]);
      if (k < 0)
        return k;
      for (size_t n = 0; n < pc->nnodes; n++)
        bal_node_set_attr(p->c, (int)n, k, pc->nodes[n].util[a]);
      for (size_t i = 0; i < pc->nrscs; i++)
        if (p->svc_of_rsc[i] >= 0)
          bal_service_set_attr(p->c, p->svc_of_rsc[i], k, pc->rscs[i].util[a]);
    }
  bal_grid_init(&p->g, p->now, cf->window, cf->step);
  return measure(p);
}

/* ---- verification -------------------------------------------------------- */

/* Every resource id a move names (the members of its unit). */
static size_t move_ids(const bal_move_t *m, const char **ids, size_t max) {
  size_t n = 0;
  for (size_t k = 0; k < m->nservices && n < max; k++)
    ids[n++] = m->services[k];
  return n;
}

/* Runs crm_simulate with the plan's moves. Bans the targets Pacemaker would
 * refuse and returns 1 (replan), 0 when the plan holds, or < 0. */
static int verify(struct pass *p) {
  size_t nm = bal_plan_nmoves(p->plan), n = 0;
  if (!nm)
    return 0;
  const char **rsc = calloc(nm * 64 + 1, sizeof(char *));
  const char **node = calloc(nm * 64 + 1, sizeof(char *));
  if (!rsc || !node) {
    free(rsc);
    free(node);
    return -ENOMEM;
  }
  for (size_t i = 0; i < nm; i++) {
    bal_move_t m;
    bal_plan_move(p->plan, i, &m);
    size_t k = move_ids(&m, rsc + n, 64);
    for (size_t j = 0; j < k; j++)
      node[n + j] = m.to;
    n += k;
  }
  struct bal_pcmk *sim = NULL;
  pm_error_t err = {0};
  int r = bal_pcmk_simulate(p->cf->crm_simulate, p->cf->exec.timeout_ms,
                            p->cib.data, p->cib.len, rsc, node, n, &sim, &err);
  if (r < 0) {
    char buf[1024];
    elog(p->e, BAL_LOG_ERR, "verify: %s", pm_error_str(&err, buf, sizeof(buf)));
    goto out;
  }
  for (size_t i = 0; i < nm; i++) {
    bal_move_t m;
    bal_plan_move(p->plan, i, &m);
    int k = bal_pcmk_find_rsc(sim, m.services[0]);
    const char *where = k >= 0 ? sim->rscs[k].node : NULL;
    if (where && strcmp(where, m.to) == 0)
      continue;
    elog(p->e, BAL_LOG_WARNING,
         "verify: Pacemaker would not run %s on %s (crm_simulate puts it %s "
         "%s): planning again without that target",
         m.services[0], m.to, where ? "on" : "nowhere", where ? where : "");
    int s = bal_cluster_find_service(p->c, m.services[0]);
    bal_service_ban(p->c, s, bal_cluster_find_node(p->c, m.to));
    r = 1;
  }
  /* Side effects: Pacemaker moving what the plan does not. */
  for (size_t i = 0; r == 0 && i < sim->nrscs; i++) {
    const struct bal_pcmk_rsc *after = &sim->rscs[i];
    int k = bal_map_get(&p->pc->rsc_ix, after->id);
    if (k < 0 || p->pc->rscs[k].clone)
      continue;
    const char *before = p->pc->rscs[k].node;
    bool planned = false;
    for (size_t j = 0; j < n && !planned; j++)
      planned = strcmp(rsc[j], after->id) == 0;
    if (!planned && before && after->node && strcmp(before, after->node))
      elog(p->e, BAL_LOG_WARNING,
           "verify: Pacemaker would also move %s from %s to %s (is "
           "resource-stickiness 0?)",
           after->id, before, after->node);
  }
out:
  bal_pcmk_free(sim);
  free(rsc);
  free(node);
  return r;
}

/* ---- acting -------------------------------------------------------------- */

static const char *node_uri(const struct bal_conf *cf, const char *node) {
  const struct bal_node_conf *nc = node ? bal_conf_node(cf, node) : NULL;
  return nc ? nc->uri : NULL;
}

/* Runs one action for rsc; logs and journals it. 0 or a negative errno. */
static int act(struct pass *p, char **tpl, const char *what, const char *rsc,
               const char *from, const char *to, const char *why) {
  const struct bal_conf *cf = p->cf;
  const struct bal_kv kv[] = {{'r', rsc},
                              {'n', to},
                              {'f', from},
                              {'u', node_uri(cf, to)},
                              {'v', node_uri(cf, from)},
                              {'l', cf->exec.lifetime},
                              {0, NULL}};
  char **argv = NULL, missing = 0;
  int r = bal_argv_expand(tpl, kv, &argv, &missing);
  if (r == -ENOENT) {
    elog(p->e, BAL_LOG_ERR,
         "%s %s: the %s command needs %%%c, which is not known here (a node "
         "without uri?)",
         what, rsc, cf->exec.type, missing);
    bal_journal(cf->journal, p->now, "%s-failed %s %s -> %s: missing %%%c",
                what, rsc, from ? from : "-", to ? to : "-", missing);
    return r;
  }
  if (r < 0)
    return r;
  pm_buf_t cmd = {0}, err = {0};
  bal_argv_join(argv, &cmd);
  r = bal_run(argv, cf->exec.timeout_ms, NULL, &err);
  if (r == 0) {
    elog(p->e, BAL_LOG_NOTICE, "%s %s %s -> %s: %s [%s]", what, rsc,
         from ? from : "-", to ? to : "-", why, cmd.data);
    bal_journal(cf->journal, p->now, "%s %s %s -> %s: %s", what, rsc,
                from ? from : "-", to ? to : "-", why);
  } else {
    elog(p->e, BAL_LOG_ERR, "%s %s %s -> %s failed: %s [%s]", what, rsc,
         from ? from : "-", to ? to : "-", err.data ? err.data : "", cmd.data);
    bal_journal(cf->journal, p->now, "%s-failed %s %s -> %s: %s", what, rsc,
                from ? from : "-", to ? to : "-", err.data ? err.data : "");
  }
  pm_buf_free(&cmd);
  pm_buf_free(&err);
  bal_argv_free(argv);
  return r;
}

static void execute(struct pass *p) {
  const struct bal_conf *cf = p->cf;
  const struct bal_executor *ex = bal_executor_find(cf->exec.type);
  for (size_t i = 0; i < bal_plan_nmoves(p->plan); i++) {
    bal_move_t m;
    bal_plan_move(p->plan, i, &m);
    int from_n = m.from ? bal_cluster_find_node(p->c, m.from) : -1;
    bool place = from_n < 0 || bal_node_state(p->c, from_n) == BAL_NODE_OFFLINE;
    for (size_t k = 0; k < m.nservices; k++) {
      int r = act(p, place ? cf->exec.place : cf->exec.move,
                  place ? "place" : "move", m.services[k],
                  place ? NULL : m.from, m.to, m.why);
      struct bal_state_rsc *st = bal_state_get(&p->st, m.services[k], true);
      if (!st)
        continue;
      /* A failover placement starts no cooldown: the next passes may even
       * out what an emergency placed. A failed action always does, so it
       * is not retried in a loop. */
      if (!place || r < 0)
        st->moved = p->now;
      st->this_pass = true;
      st->failed = r < 0;
      free(st->constraint_to);
      st->constraint_to = r == 0 && ex && ex->constraints ? strdup(m.to) : NULL;
      if (r == 0) {
        free(st->at);
        st->at = strdup(m.to);
      }
      if (r == 0)
        p->executed++;
      else
        p->failed++;
    }
  }
}

/* Clears the constraints our moves left behind once they did their job:
 * the resource runs where we sent it (or elsewhere: then the constraint is
 * stale) and the cluster keeps resources where they are (stickiness). */
static void clear_constraints(struct pass *p) {
  const struct bal_conf *cf = p->cf;
  if (!cf->exec.clear || !cf->exec.clear[0])
    return;
  for (size_t i = 0; i < p->st.n; i++) {
    struct bal_state_rsc *st = &p->st.rsc[i];
    if (!st->constraint_to || st->this_pass)
      continue;
    int k = bal_map_get(&p->pc->rsc_ix, st->rsc);
    if (k < 0) { /* gone from the cluster */
      free(st->constraint_to);
      st->constraint_to = NULL;
      continue;
    }
    const char *on = p->pc->rscs[k].node;
    if (!on)
      continue; /* not running: the constraint may still be needed */
    if (strcmp(on, st->constraint_to) == 0 && p->pc->stickiness <= 0) {
      elog(p->e, BAL_LOG_INFO,
           "keeping the constraint on %s: resource-stickiness is 0, "
           "clearing it could move it back (it expires after %s)",
           st->rsc, cf->exec.lifetime);
      continue;
    }
    if (act(p, cf->exec.clear, "clear", st->rsc, NULL, st->constraint_to,
            strcmp(on, st->constraint_to) == 0
                ? "the move is done"
                : "stale: it runs elsewhere") == 0) {
      free(st->constraint_to);
      st->constraint_to = NULL;
    }
  }
}

/* ---- reporting ----------------------------------------------------------- */

static void fmt_pct(pm_buf_t *b, double u) {
  if (isnan(u))
    pm_buf_puts(b, "   ?");
  else
    pm_buf_printf(b, "%3.0f%%", 100 * u);
}

static void explain(struct pass *p, const int *ok, const double *wu) {
  pm_buf_t *b = p->explain;
  bal_cluster_t *c = p->c;
  static const char *const states[] = {"online", "standby", "maintenance",
                                       "offline"};
  pm_buf_printf(b,
                "patmon-balance: %zu nodes, %zu services; estimate %s%s, "
                "horizon %u s, threshold %.0f%%, %s\n",
                bal_cluster_nnodes(c), bal_cluster_nservices(c),
                (const char *const[]){"latest", "average", "forecast",
                                      "self"}[p->cf->estimate],
                p->cf->upper ? " (upper bound)" : "", p->cf->horizon,
                100 * p->cf->threshold,
                acting(p) ? "executing"
                : p->hold ? "held: the plan could not be verified"
                          : "dry run");
  pm_buf_printf(b, "%-16s %-11s %-22s %-13s %s\n", "node", "state",
                "cpu cores (plan/cap)", "util now->plan", "if it fails");
  for (size_t n = 0; n < bal_cluster_nnodes(c); n++) {
    double before, after, ld[BAL_NDIM];
    bal_plan_node_util(p->plan, (int)n, &before, &after);
    bal_plan_node_load(p->plan, (int)n, ld);
    char cpu[64];
    double cap = c->nodes[n].cap[BAL_CPU];
    if (isnan(ld[BAL_CPU]) || isnan(cap))
      snprintf(cpu, sizeof(cpu), "?");
    else
      snprintf(cpu, sizeof(cpu), "%.2f/%.2f", ld[BAL_CPU], cap);
    pm_buf_printf(b, "%-16s %-11s %-22s ", bal_node_name(c, (int)n),
                  states[bal_node_state(c, (int)n)], cpu);
    fmt_pct(b, before);
    pm_buf_puts(b, " -> ");
    fmt_pct(b, after);
    if (ok[n] == 1)
      pm_buf_printf(b, "   absorbable (worst survivor %.0f%%)\n", 100 * wu[n]);
    else if (ok[n] == 0)
      pm_buf_puts(b, "   NOT absorbable\n");
    else if (ok[n] == -ENODATA)
      pm_buf_puts(b, "   unknown (demand missing)\n");
    else
      pm_buf_puts(b, "   -\n");
  }
  for (size_t i = 0; i < bal_plan_nmoves(p->plan); i++) {
    bal_move_t m;
    bal_plan_move(p->plan, i, &m);
    pm_buf_printf(b, "move %zu [%s]: ", i + 1, bal_reason_name(m.reason));
    for (size_t k = 0; k < m.nservices; k++)
      pm_buf_printf(b, "%s%s", k ? "+" : "", m.services[k]);
    pm_buf_printf(b, " %s -> %s: %s\n", m.from ? m.from : "(stopped)", m.to,
                  m.why);
  }
  if (!bal_plan_nmoves(p->plan))
    pm_buf_puts(b, "no move needed\n");
  for (size_t i = 0; i < bal_plan_nnotes(p->plan); i++)
    pm_buf_printf(b, "note: %s\n", bal_plan_note(p->plan, i));
  for (size_t s = 0; s < bal_cluster_nservices(c); s++)
    if (c->svcs[s].flags & BAL_SVC_FIXED && c->svcs[s].why_fixed)
      pm_buf_printf(b, "fixed: %s: %s\n", c->svcs[s].name,
                    c->svcs[s].why_fixed);
  if (p->data_notes.len)
    pm_buf_printf(b, "data:\n%s", p->data_notes.data);
}

static void publish(struct pass *p, const int *ok, const double *wu) {
  const struct bal_conf *cf = p->cf;
  if (!cf->unixsock[0])
    return;
  char host[256];
  if (cf->publish_host[0])
    snprintf(host, sizeof(host), "%s", cf->publish_host);
  else if (gethostname(host, sizeof(host)) < 0)
    snprintf(host, sizeof(host), "localhost");
  host[sizeof(host) - 1] = '\0';
  pm_buf_t cmds = {0}, err = {0};
  long long t = (long long)p->now;
  unsigned iv = cf->interval;
  size_t unabsorbable = 0;
  double min_head = INFINITY;
  for (size_t n = 0; n < bal_cluster_nnodes(p->c); n++) {
    const char *name = bal_node_name(p->c, (int)n);
    double before, after;
    bal_plan_node_util(p->plan, (int)n, &before, &after);
    if (!isnan(after) && bal_node_state(p->c, (int)n) == BAL_NODE_ONLINE) {
      double head = 100 * (cf->threshold - after);
      min_head = fmin(min_head, head);
      pm_buf_printf(&cmds,
                    "PUTVAL \"%s/balancer-%s/gauge-headroom\" interval=%u "
                    "%lld:%.3f\n",
                    host, name, iv, t, head);
    }
    if (ok[n] == 0 || ok[n] == 1) {
      unabsorbable += ok[n] == 0;
      pm_buf_printf(&cmds,
                    "PUTVAL \"%s/balancer-%s/gauge-whatif_absorbable\" "
                    "interval=%u %lld:%d\n",
                    host, name, iv, t, ok[n]);
      pm_buf_printf(&cmds,
                    "PUTVAL \"%s/balancer-%s/gauge-whatif_util\" interval=%u "
                    "%lld:%.3f\n",
                    host, name, iv, t, 100 * wu[n]);
    }
  }
  pm_buf_printf(&cmds,
                "PUTVAL \"%s/balancer/count-plan_moves\" interval=%u "
                "%lld:%zu\n"
                "PUTVAL \"%s/balancer/count-executed_moves\" interval=%u "
                "%lld:%zu\n"
                "PUTVAL \"%s/balancer/count-failed_moves\" interval=%u "
                "%lld:%zu\n"
                "PUTVAL \"%s/balancer/count-unplaced\" interval=%u %lld:%zu\n"
                "PUTVAL \"%s/balancer/count-whatif_unabsorbable\" interval=%u "
                "%lld:%zu\n",
                host, iv, t, bal_plan_nmoves(p->plan), host, iv, t, p->executed,
                host, iv, t, p->failed, host, iv, t,
                bal_plan_nunplaced(p->plan), host, iv, t, unabsorbable);
  if (isfinite(min_head))
    pm_buf_printf(&cmds,
                  "PUTVAL \"%s/balancer/gauge-headroom\" interval=%u "
                  "%lld:%.3f\n",
                  host, iv, t, min_head);
  if (bal_putval(cf->unixsock, &cmds, &err) < 0)
    elog(p->e, BAL_LOG_WARNING, "publishing to %s: %s", cf->unixsock,
         err.data ? err.data : "failed");
  pm_buf_free(&cmds);
  pm_buf_free(&err);
}

void bal_run_hooks(bal_engine_t *e, const struct bal_conf *cf, bool plan,
                   const char *node, size_t count, const char *msg) {
  char host[256] = "";
  gethostname(host, sizeof(host) - 1);
  char cnt[32];
  snprintf(cnt, sizeof(cnt), "%zu", count);
  const struct bal_kv kv[] = {{'e', plan ? "plan" : "offline"},
                              {'n', node ? node : "-"},
                              {'c', cnt},
                              {'m', msg},
                              {'h', host},
                              {0, NULL}};
  for (size_t i = 0; i < cf->nhooks; i++) {
    const struct bal_hook *h = &cf->hooks[i];
    if (plan ? !h->on_plan : !h->on_offline)
      continue;
    char **argv = NULL;
    pm_buf_t err = {0};
    int r = bal_argv_expand(h->argv, kv, &argv, NULL);
    if (r == 0)
      r = bal_run(argv, cf->cmd_timeout_ms, NULL, &err);
    if (r < 0)
      elog(e, BAL_LOG_ERR, "hook %s failed: %s", h->name,
           err.data ? err.data : strerror(-r));
    else
      elog(e, BAL_LOG_INFO, "hook %s ran", h->name);
    pm_buf_free(&err);
    bal_argv_free(argv);
  }
}

/* ---- the pass
 * ---------------------------------------------------------------- */

static void pass_free(struct pass *p) {
  bal_plan_free(p->plan);
  for (size_t i = 0; p->prims && p->pc && i < p->pc->nrscs; i++)
    bal_argv_free(p->prims[i]);
  free(p->prims);
  for (size_t i = 0; p->hosts && p->pc && i < p->pc->nnodes; i++)
    free(p->hosts[i]);
  free(p->hosts);
  free(p->svc_of_rsc);
  free(p->rsc_of_svc);
  free(p->dev);
  bal_cluster_free(p->c);
  bal_pcmk_free(p->pc);
  pm_buf_free(&p->cib);
  pm_buf_free(&p->data_notes);
  bal_state_free(&p->st);
}

int bal_engine_pass(bal_engine_t *e, unsigned flags, pm_buf_t *explain_out) {
  const struct bal_conf *cf = e->conf;
  struct pass p = {.e = e,
                   .cf = cf,
                   .flags = flags,
                   .now = time(NULL),
                   .explain = explain_out};
  int *ok = NULL;
  double *wu = NULL;
  int r = bal_state_load(cf->state_file, &p.st);
  if (r < 0) {
    elog(e, BAL_LOG_WARNING, "state file %s: %s (starting afresh)",
         cf->state_file, strerror(-r));
    p.st = (struct bal_state){0};
  }
  r = cf->source == BAL_SRC_PACEMAKER ? inventory_pacemaker(&p)
                                      : inventory_static(&p);
  if (r < 0)
    goto out;
  if (p.pc->maintenance) {
    elog(e, BAL_LOG_NOTICE,
         "the cluster is in maintenance mode (or stop-all-resources): "
         "nothing to do");
    if (explain_out)
      pm_buf_puts(explain_out, "cluster in maintenance mode: no plan\n");
    r = 0;
    goto out;
  }
  offline_events(&p);
  if ((r = build_model(&p)) < 0)
    goto out;
  bal_params_init(&p.params);
  p.params.threshold = cf->threshold;
  p.params.max_moves = cf->max_moves;
  p.params.swaps = cf->swaps;
  p.params.repack = cf->repack;
  bool can_verify = cf->source == BAL_SRC_PACEMAKER &&
                    strcmp(cf->exec.type, "pacemaker") == 0 && cf->exec.verify;
  bool verified = !can_verify;
  for (int round = 0; round < 3; round++) {
    bal_plan_free(p.plan);
    p.plan = NULL;
    if ((r = bal_plan_compute(p.c, &p.params, &p.plan)) < 0)
      goto out;
    if (!can_verify)
      break;
    int k = verify(&p);
    if (k == -ENOMEM) {
      r = k;
      goto out;
    }
    if (k == 0) {
      verified = true;
      break;
    }
    if (k < 0)
      break; /* crm_simulate failed: said above */
  }
  if (!verified && bal_plan_nmoves(p.plan)) {
    elog(e, BAL_LOG_ERR,
         "the plan could not be checked with crm_simulate: "
         "nothing is moved this pass");
    p.hold = true;
  }
  size_t nn = bal_cluster_nnodes(p.c);
  ok = calloc(nn + 1, sizeof(int));
  wu = calloc(nn + 1, sizeof(double));
  if (!ok || !wu) {
    r = -ENOMEM;
    goto out;
  }
  if ((r = bal_whatif_all(p.c, &p.params, ok, wu)) < 0)
    goto out;
  for (size_t n = 0; n < nn; n++)
    if (ok[n] == 0)
      elog(e, BAL_LOG_WARNING,
           "what-if: the failure of %s could not be absorbed now",
           bal_node_name(p.c, (int)n));
  for (size_t i = 0; i < bal_plan_nnotes(p.plan); i++)
    elog(e, BAL_LOG_WARNING, "%s", bal_plan_note(p.plan, i));
  if (explain_out)
    explain(&p, ok, wu);
  if (acting(&p)) {
    execute(&p);
    clear_constraints(&p);
    if (p.executed) {
      char msg[256];
      snprintf(msg, sizeof(msg),
               "patmon-balance moved %zu service(s), %zu "
               "failed; see the journal",
               p.executed, p.failed);
      bal_run_hooks(e, cf, true, NULL, p.executed, msg);
    }
  } else {
    for (size_t i = 0; i < bal_plan_nmoves(p.plan); i++) {
      bal_move_t m;
      bal_plan_move(p.plan, i, &m);
      elog(e, BAL_LOG_INFO, "would move %s %s -> %s: %s", m.services[0],
           m.from ? m.from : "(stopped)", m.to, m.why);
    }
  }
  if (side_effects(&p)) {
    publish(&p, ok, wu);
    int k = bal_state_save(cf->state_file, &p.st);
    if (k < 0)
      elog(e, BAL_LOG_WARNING, "state file %s: %s", cf->state_file,
           strerror(-k));
  }
  r = (int)bal_plan_nmoves(p.plan);
out:
  free(ok);
  free(wu);
  pass_free(&p);
  return r;
}
