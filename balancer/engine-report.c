/* engine-report.c: --explain, values published to collectd, hooks. */
#include "config.h"

#include "engine-internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* ---- reporting ----------------------------------------------------------- */

static void fmt_pct(pm_buf_t *b, double u) {
  if (isnan(u))
    pm_buf_puts(b, "   ?");
  else
    pm_buf_printf(b, "%3.0f%%", 100 * u);
}

/* estimate = auto: which estimator a series is planned on, and why (the
 * root mean square error of each over the window). */
static void explain_estimate(pm_buf_t *b, const char *svc, int d,
                             const bal_est_t *e) {
  if (e->which == BAL_NEST)
    return;
  pm_buf_printf(b, "estimate: %s %s: %s %.3g", svc, bal_dim_name(d),
                bal_estimator_name(e->which), e->value);
  if (e->bursty)
    pm_buf_printf(b, " (bursty: %.3g + past misses)", e->point);
  pm_buf_printf(b, ", spread %.3g; error over %u steps:", e->spread, e->nerr);
  for (int k = 0; k < BAL_NEST; k++)
    if (!isnan(e->rmse[k]))
      pm_buf_printf(b, " %s %.3g", bal_estimator_name((enum bal_estimator)k),
                    e->rmse[k]);
  pm_buf_puts(b, "\n");
}

/* The HA mode of each resource that is not a primitive or group
 * (active/standby). */
static void explain_ha(struct pass *p, pm_buf_t *b) {
  const struct bal_pcmk *pc = p->pc;
  for (size_t i = 0; pc && p->cf->source == BAL_SRC_PACEMAKER && i < pc->nrscs;
       i++) {
    const struct bal_pcmk_rsc *rs = &pc->rscs[i];
    if (!rs->clone)
      continue;
    pm_buf_printf(b, "ha: %s: %s", rs->id,
                  rs->promotable ? "promotable clone (primary/standby)"
                                 : "clone (active/active)");
    const char *sep = ": ";
    for (int pass = 0; pass < 2; pass++)
      for (size_t k = 0; k < rs->instances.n; k++) {
        int n = rs->instances.v[k];
        bool pr = false, dup = false;
        for (size_t j = 0; j < rs->promoted.n; j++)
          pr = pr || rs->promoted.v[j] == n;
        for (size_t j = 0; j < k; j++)
          dup = dup || rs->instances.v[j] == n;
        if (dup || (rs->promotable && pr != (pass == 0)) ||
            (!rs->promotable && pass == 1))
          continue;
        pm_buf_printf(b, "%s%s%s", sep, pc->nodes[n].name,
                      !rs->promotable ? ""
                      : pr            ? " (promoted)"
                                      : " (standby)");
        sep = ", ";
      }
    pm_buf_puts(b, sep[0] == ':' ? ": not running\n" : "\n");
  }
}

void pass_explain(struct pass *p, const int *ok, const double *wu) {
  pm_buf_t *b = p->explain;
  bal_cluster_t *c = p->c;
  static const char *const states[] = {"online", "standby", "maintenance",
                                       "offline"};
  pm_buf_printf(b,
                "patmon-balance: %zu nodes, %zu services; estimate %s%s, "
                "horizon %u s, threshold %.0f%%, %s\n",
                bal_cluster_nnodes(c), bal_cluster_nservices(c),
                (const char *const[]){"latest", "average", "forecast", "self",
                                      "auto"}[p->cf->estimate],
                p->cf->upper ? " (upper bound)" : "", p->cf->horizon,
                100 * p->cf->threshold,
                pass_acting(p) ? "executing"
                : p->hold      ? "held: the plan could not be verified"
                : p->passive   ? "not the active decision-maker: planning only"
                               : "dry run");
  if (p->cf->spare_nodes)
    pm_buf_printf(b,
                  "spare nodes %u: a failure is absorbable only if the "
                  "survivors keep the capacity of their %u largest free\n",
                  p->cf->spare_nodes, p->cf->spare_nodes);
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
  pass_explain_zones(p, b);
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
  for (size_t s = 0; p->est && s < bal_cluster_nservices(c); s++)
    for (int d = 0; d < BAL_NDIM; d++)
      explain_estimate(b, bal_service_name(c, (int)s), d, &p->est[s][d]);
  for (size_t s = 0; s < bal_cluster_nservices(c); s++)
    if (c->svcs[s].flags & BAL_SVC_FIXED && c->svcs[s].why_fixed)
      pm_buf_printf(b, "fixed: %s: %s\n", c->svcs[s].name,
                    c->svcs[s].why_fixed);
  explain_ha(p, b);
  if (p->failback.len)
    pm_buf_puts(b, p->failback.data);
  if (p->patterns.len)
    pm_buf_puts(b, p->patterns.data);
  if (p->data_notes.len)
    pm_buf_printf(b, "data:\n%s", p->data_notes.data);
}

void pass_publish(struct pass *p, const int *ok, const double *wu) {
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
    if (!pass_reads(p, (int)n))
      continue; /* another zone's instance publishes it */
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
  /* The values of the whole cluster: the leader's (with zones, its
   * pass's figures). */
  if (p->lead)
    pm_buf_printf(
        &cmds,
        "PUTVAL \"%s/balancer/count-plan_moves\" interval=%u "
        "%lld:%zu\n"
        "PUTVAL \"%s/balancer/count-executed_moves\" interval=%u "
        "%lld:%zu\n"
        "PUTVAL \"%s/balancer/count-failed_moves\" interval=%u "
        "%lld:%zu\n"
        "PUTVAL \"%s/balancer/count-unplaced\" interval=%u %lld:%zu\n"
        "PUTVAL \"%s/balancer/count-whatif_unabsorbable\" interval=%u "
        "%lld:%zu\n",
        host, iv, t, bal_plan_nmoves(p->plan), host, iv, t, p->executed, host,
        iv, t, p->failed, host, iv, t, bal_plan_nunplaced(p->plan), host, iv, t,
        unabsorbable);
  if (p->lead && isfinite(min_head))
    pm_buf_printf(&cmds,
                  "PUTVAL \"%s/balancer/gauge-headroom\" interval=%u "
                  "%lld:%.3f\n",
                  host, iv, t, min_head);
  if (p->lead)
    pass_avail_publish(p, host, t, iv, &cmds);
  if (cmds.len && bal_putval(cf->unixsock, &cmds, &err) < 0)
    bal_elog(p->e, BAL_LOG_WARNING, "publishing to %s: %s", cf->unixsock,
             err.data ? err.data : "failed");
  pm_buf_free(&cmds);
  pm_buf_free(&err);
}

enum hook_event { EV_PLAN, EV_OFFLINE, EV_CONFIG, EV_ZONE };

static bool hook_wants(const struct bal_hook *h, enum hook_event ev,
                       bool told) {
  switch (ev) {
  case EV_PLAN:
    return h->on_plan && !(told && h->on_offline);
  case EV_OFFLINE:
    return h->on_offline;
  case EV_CONFIG:
    return h->on_config;
  case EV_ZONE:
    return h->on_zone;
  }
  return false;
}

static void run_hooks(bal_engine_t *e, const struct bal_conf *cf,
                      enum hook_event ev, bool told, const char *node,
                      size_t count, const char *msg) {
  static const char *const names[] = {"plan", "offline", "config", "zone"};
  char host[256] = "";
  gethostname(host, sizeof(host) - 1);
  char cnt[32];
  snprintf(cnt, sizeof(cnt), "%zu", count);
  const struct bal_kv kv[] = {{'e', names[ev]}, {'n', node ? node : "-"},
                              {'c', cnt},       {'m', msg},
                              {'h', host},      {0, NULL}};
  for (size_t i = 0; i < cf->nhooks; i++) {
    const struct bal_hook *h = &cf->hooks[i];
    if (!hook_wants(h, ev, told))
      continue;
    char **argv = NULL;
    pm_buf_t err = {0};
    int r = bal_argv_expand(h->argv, kv, &argv, NULL);
    if (r == 0)
      r = bal_run(argv, cf->cmd_timeout_ms, NULL, &err);
    if (r < 0)
      bal_elog(e, BAL_LOG_ERR, "hook %s failed: %s", h->name,
               err.data ? err.data : strerror(-r));
    else
      bal_elog(e, BAL_LOG_INFO, "hook %s ran", h->name);
    pm_buf_free(&err);
    bal_argv_free(argv);
  }
}

void bal_run_hooks(bal_engine_t *e, const struct bal_conf *cf, bool plan,
                   bool told, const char *node, size_t count, const char *msg) {
  run_hooks(e, cf, plan ? EV_PLAN : EV_OFFLINE, told, node, count, msg);
}

void bal_run_config_hooks(bal_engine_t *e, const struct bal_conf *cf,
                          const char *node, const char *msg) {
  run_hooks(e, cf, EV_CONFIG, false, node, 0, msg);
}

void bal_run_zone_hooks(bal_engine_t *e, const struct bal_conf *cf,
                        const char *zone, const char *msg) {
  run_hooks(e, cf, EV_ZONE, false, zone, 0, msg);
}
