/* engine-utilization.c: publish_utilization, patmon's numbers for
 * Pacemaker's own scheduler.
 *
 * Each pass compares every primitive's planning demand (never under its
 * last sample: bal_lm_declared) and every node's capacity, in the metric's
 * utilization unit (value / utilization_scale, rounded: Pacemaker's
 * utilization values are integers), with the utilization attribute the CIB
 * holds now. A value is written only when it
 * changed materially (by more than publish_change of the larger of the two,
 * and by at least one unit), the largest changes first and at most
 * publish_max_writes a pass: the CIB sees a bounded trickle, never a storm,
 * and a node that dies finds Pacemaker placing by recent real load before
 * any balancer pass. Groups and clones are left alone (Pacemaker sums a
 * group's members; patmon measures the group as one). */
#include "config.h"

#include "engine-internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct change {
  int rsc;  /* pcmk resource, or -1 for a node */
  int node; /* pcmk node when rsc < 0 */
  int dim;
  double from, to; /* NAN from: not set yet */
  double size;     /* how material: relative change (INFINITY: new) */
};

static int cmp_size_desc(const void *a, const void *b) {
  const struct change *x = a, *y = b;
  if (x->size != y->size)
    return x->size < y->size ? 1 : -1;
  return x->rsc != y->rsc ? (x->rsc < y->rsc ? -1 : 1)
                          : (x->node < y->node ? -1 : x->node > y->node);
}

/* Index of the utilization attribute name among the CIB's, or -1. */
static int attr_index(const struct bal_pcmk *pc, const char *name) {
  for (size_t a = 0; a < pc->nattrs; a++)
    if (strcmp(pc->attrs[a], name) == 0)
      return (int)a;
  return -1;
}

/* Records a change from cur (NAN: absent) to the value v (in the metric's
 * own unit) when it is material. */
static void consider(const struct bal_conf *cf, struct change *out, size_t *n,
                     int rsc, int node, int d, double cur, double v) {
  if (isnan(v) || v < 0)
    return;
  double to = round(v / cf->metric[d].util_scale);
  if (!isnan(cur)) {
    double diff = fabs(to - cur);
    if (diff < 1 || diff <= cf->publish_change * fmax(to, cur))
      return;
  }
  out[(*n)++] = (struct change){
      .rsc = rsc,
      .node = node,
      .dim = d,
      .from = cur,
      .to = to,
      .size = isnan(cur) ? INFINITY : fabs(to - cur) / fmax(1, fmax(to, cur))};
}

/* Writes one value with crm_resource or crm_attribute (argument vectors,
 * no shell); logs and journals it. */
static int write_one(struct pass *p, const struct change *ch) {
  const struct bal_conf *cf = p->cf;
  const char *attr = cf->metric[ch->dim].util_attr;
  char val[32];
  snprintf(val, sizeof(val), "%.0f", ch->to);
  const char *who =
      ch->rsc >= 0 ? p->pc->rscs[ch->rsc].id : p->pc->nodes[ch->node].name;
  char *rsc_argv[] = {cf->crm_resource,
                      "--resource",
                      (char *)who,
                      "--utilization",
                      "--set-parameter",
                      (char *)attr,
                      "--parameter-value",
                      val,
                      NULL};
  char *node_argv[] = {cf->crm_attribute, "--node", (char *)who,
                       "--utilization",   "--name", (char *)attr,
                       "--update",        val,      NULL};
  pm_buf_t err = {0};
  int r = bal_run(ch->rsc >= 0 ? rsc_argv : node_argv, cf->cmd_timeout_ms, NULL,
                  &err);
  char from[32] = "unset";
  if (!isnan(ch->from))
    snprintf(from, sizeof(from), "%.0f", ch->from);
  if (r == 0) {
    bal_elog(p->e, BAL_LOG_INFO, "utilization %s %s %s: %s -> %s",
             ch->rsc >= 0 ? "resource" : "node", who, attr, from, val);
    bal_journal(cf->journal, p->now, "utilization %s %s: %s -> %s", who, attr,
                from, val);
  } else {
    bal_elog(p->e, BAL_LOG_ERR, "utilization %s %s: writing %s failed: %s", who,
             attr, val, err.data ? err.data : strerror(-r));
  }
  pm_buf_free(&err);
  return r;
}

void pass_publish_utilization(struct pass *p) {
  const struct bal_conf *cf = p->cf;
  const struct bal_pcmk *pc = p->pc;
  bal_cluster_t *c = p->c;
  size_t cap = (pc->nrscs + pc->nnodes) * BAL_NDIM + 1, n = 0;
  struct change *ch = calloc(cap, sizeof(*ch));
  if (!ch) {
    bal_elog(p->e, BAL_LOG_ERR, "utilization: out of memory");
    return;
  }
  for (int d = 0; d < BAL_NDIM; d++) {
    const char *attr = cf->metric[d].util_attr;
    if (!attr[0])
      continue;
    int a = attr_index(pc, attr);
    bool used = false; /* a dimension no node has a capacity in: none */
    for (size_t k = 0; k < bal_cluster_nnodes(c); k++)
      used |= bal_dim_on(&c->nodes[k], d);
    if (!used)
      continue;
    for (size_t i = 0; i < pc->nrscs; i++) {
      const struct bal_pcmk_rsc *rs = &pc->rscs[i];
      int s = p->svc_of_rsc[i];
      if (s < 0 || rs->members || rs->clone || !cf->metric[d].svc_file[0])
        continue;
      consider(cf, ch, &n, (int)i, -1, d, a >= 0 ? rs->util[a] : NAN,
               p->declared[s][d]);
    }
    for (size_t k = 0; k < pc->nnodes; k++) {
      int nd = bal_cluster_find_node(c, pc->nodes[k].name);
      if (nd < 0 || !pass_reads(p, nd))
        continue; /* (with zones: another zone's instance writes it) */
      consider(cf, ch, &n, -1, (int)k, d, a >= 0 ? pc->nodes[k].util[a] : NAN,
               c->nodes[nd].cap[d]);
    }
  }
  qsort(ch, n, sizeof(*ch), cmp_size_desc);
  size_t written = 0, failed = 0;
  for (size_t i = 0; i < n; i++) {
    const char *what = "left for a later pass";
    if (written + failed < cf->publish_max_writes) {
      bool ok = write_one(p, &ch[i]) == 0;
      written += ok;
      failed += !ok;
      what = ok ? "written" : "FAILED";
    }
    if (p->explain) {
      pm_buf_printf(
          p->explain,
          "utilization: %s %s %s: ", ch[i].rsc >= 0 ? "resource" : "node",
          ch[i].rsc >= 0 ? pc->rscs[ch[i].rsc].id : pc->nodes[ch[i].node].name,
          cf->metric[ch[i].dim].util_attr);
      if (isnan(ch[i].from))
        pm_buf_puts(p->explain, "unset");
      else
        pm_buf_printf(p->explain, "%.0f", ch[i].from);
      pm_buf_printf(p->explain, " -> %.0f %s\n", ch[i].to, what);
    }
  }
  if (p->explain)
    pm_buf_printf(p->explain,
                  "utilization: %zu material change(s), %zu written, %zu "
                  "failed (at most %u a pass, change > %.0f%%)\n",
                  n, written, failed, cf->publish_max_writes,
                  100 * cf->publish_change);
  free(ch);
}
