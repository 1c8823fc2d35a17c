/* engine-model.c: what the cluster is (crm_mon and the CIB, or the
 * configuration) and the cluster model the planner works on. */
#include "config.h"

#include "engine-internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- inventory ----------------------------------------------------------- */

static int run_capture(struct pass *p, char *const *argv, pm_buf_t *out) {
  pm_buf_t err = {0};
  int r = bal_run(argv, p->cf->cmd_timeout_ms, out, &err);
  if (r < 0)
    bal_elog(p->e, BAL_LOG_ERR, "%s failed: %s", argv[0],
             err.data ? err.data : "");
  pm_buf_free(&err);
  return r;
}

struct capture {
  struct pass *p;
  char **argv;
  pm_buf_t *out, err;
  int r;
};

static void *capture(void *arg) {
  struct capture *c = arg;
  c->r = bal_run(c->argv, c->p->cf->cmd_timeout_ms, c->out, &c->err);
  return NULL;
}

int pass_inventory_pacemaker(struct pass *p) {
  pm_buf_t mon = {0};
  char *mon_argv[] = {p->cf->crm_mon, "--one-shot", "--output-as=xml", NULL};
  char *cib_argv[] = {p->cf->cibadmin, "--query", NULL};
  /* Both at once: each is mostly a tool's start and an IPC round trip, and
   * after a lost node every tenth of a second counts. */
  struct capture cc = {.p = p, .argv = cib_argv, .out = &p->cib};
  pthread_t t;
  bool apart = pthread_create(&t, NULL, capture, &cc) == 0;
  int r = run_capture(p, mon_argv, &mon);
  if (apart)
    pthread_join(t, NULL);
  else
    capture(&cc);
  if (r == 0 && cc.r < 0) {
    bal_elog(p->e, BAL_LOG_ERR, "%s failed: %s", cib_argv[0],
             cc.err.data ? cc.err.data : "");
    r = cc.r;
  }
  pm_buf_free(&cc.err);
  if (r == 0) {
    pm_error_t err = {0};
    r = bal_pcmk_parse(mon.data ? mon.data : "", mon.len, "crm_mon",
                       p->cib.data ? p->cib.data : "", p->cib.len, "cibadmin",
                       p->now, &p->pc, &err);
    if (r < 0) {
      char buf[1024];
      bal_elog(p->e, BAL_LOG_ERR, "cannot read the cluster state: %s",
               pm_error_str(&err, buf, sizeof(buf)));
    }
  }
  if (r == 0)
    p->mon = mon; /* for the availability journal */
  else
    pm_buf_free(&mon);
  return r;
}

/* source = static: the configuration's nodes (online) and services. */
int pass_inventory_static(struct pass *p) {
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

/* With a zone, what this instance knows of node (offline now): *o from
 * its last pass, else first seen now, told when the state file (written
 * by every instance) had it offline at its first pass. A leader takes a
 * loss it saw over LEAD_TOLD intervals ago as told by the leader of then
 * (live then, as it led); a more recent one it tells itself, as that
 * leader may have gone with the node or before its pass. A leader falls
 * silent at most 4 intervals after its last pass (2 silent intervals, a
 * pass of the reader each side); 2 more for slow passes on a busy node. */
#define LEAD_TOLD 6
static bool zone_told(const struct pass *p, const char *node,
                      struct bal_off *o) {
  const bal_engine_t *e = p->e;
  for (size_t i = 0; i < e->noff_seen; i++)
    if (strcmp(e->off_seen[i].node, node) == 0) {
      *o = e->off_seen[i];
      if (!o->told && p->now - o->seen >= LEAD_TOLD * (time_t)p->cf->interval)
        o->told = true;
      return o->told;
    }
  *o = (struct bal_off){.seen = p->now,
                        .told = !e->off_init &&
                                bal_state_was_offline(&p->st, node)};
  return o->told;
}

void pass_offline_events(struct pass *p) {
  size_t n = 0, k = 0, nt = 0;
  bal_engine_t *e = p->e;
  bool zoned = bal_engine_zone(e) != NULL;
  char **now_off = calloc(p->pc->nnodes + 1, sizeof(char *));
  char **went = calloc(p->pc->nnodes + 1, sizeof(char *));
  struct bal_off *seen = zoned ? calloc(p->pc->nnodes + 1, sizeof(*seen)) : 0;
  if (!now_off || !went || (zoned && !seen)) {
    free(now_off);
    free(went);
    free(seen);
    return;
  }
  for (size_t i = 0; i < p->pc->nnodes; i++) {
    const char *name = p->pc->nodes[i].name;
    if (p->pc->nodes[i].state != BAL_NODE_OFFLINE)
      continue;
    now_off[n++] = strdup(name);
    struct bal_off o = {0};
    bool told =
        zoned ? zone_told(p, name, &o) : bal_state_was_offline(&p->st, name);
    if (!told && p->lead) {
      bal_elog(e, BAL_LOG_WARNING, "node %s is offline", name);
      if (pass_side_effects(p)) {
        bal_journal(p->cf->journal, p->now, "offline %s", name);
        went[k++] = strdup(name);
        o.told = true;
      }
    }
    if (seen && (o.node = strdup(name)))
      seen[nt++] = o;
  }
  bal_state_set_offline(&p->st, now_off);
  p->went_offline = went;
  if (seen) {
    for (size_t i = 0; i < e->noff_seen; i++)
      free(e->off_seen[i].node);
    free(e->off_seen);
    e->off_seen = seen;
    e->noff_seen = nt;
    e->off_init = true;
  }
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

/* Whether node k is in v. */
static bool has_node(const struct bal_ints *v, size_t upto, int k) {
  for (size_t i = 0; i < upto && i < v->n; i++)
    if (v->v[i] == k)
      return true;
  return false;
}

/* The running instances of clone i as services named "ID@NODE" (no
 * Pacemaker id holds '@'), one per node, fixed: the HA stack places them.
 * Promoted instances first, so the unpromoted ones name theirs. */
static int add_instances(struct pass *p, size_t i) {
  const struct bal_pcmk_rsc *rs = &p->pc->rscs[i];
  const struct bal_ints *in = &rs->instances;
  static const char *const inner_none[] = {NULL};
  if (!(p->prims[i] = bal_argv_dup(rs->inner ? (const char *const *)rs->inner
                                             : inner_none)))
    return -ENOMEM;
  int primary = -1;
  pm_buf_t name = {0};
  int r = 0;
  for (int pass = 0; r == 0 && pass < 2; pass++)
    for (size_t k = 0; r == 0 && k < in->n; k++) {
      int n = in->v[k];
      bool promoted = rs->promotable && has_node(&rs->promoted, SIZE_MAX, n);
      if (has_node(in, k, n) || promoted != (pass == 0))
        continue;
      pm_buf_reset(&name);
      if (pm_buf_printf(&name, "%s@%s", rs->id, p->pc->nodes[n].name) < 0)
        r = -ENOMEM;
      int s = r < 0 ? r : bal_cluster_add_service(p->c, name.data, n, NULL);
      if (s < 0) {
        r = s;
        break;
      }
      p->rsc_of_svc[s] = (int)i;
      enum bal_ha ha = !rs->promotable ? BAL_HA_CLONE
                       : promoted      ? BAL_HA_PROMOTED
                                       : BAL_HA_UNPROMOTED;
      if (ha == BAL_HA_PROMOTED && primary < 0)
        primary = s;
      r = bal_service_set_ha(p->c, s, ha,
                             ha == BAL_HA_UNPROMOTED ? primary : -1);
      if (r == 0)
        r = bal_service_set_flags(
            p->c, s, BAL_SVC_FIXED,
            ha == BAL_HA_CLONE
                ? "a clone instance (active/active): the HA stack places "
                  "it; if its node fails the others carry on"
            : ha == BAL_HA_PROMOTED
                ? "the promoted instance of a promotable clone: the HA stack "
                  "promotes a standby if its node fails"
                : "an unpromoted (standby) instance of a promotable clone: "
                  "the HA stack places it");
    }
  pm_buf_free(&name);
  return r;
}

int pass_build_model(struct pass *p) {
  const struct bal_conf *cf = p->cf;
  struct bal_pcmk *pc = p->pc;
  char own_buf[256];
  const char *own = engine_own_resource(p->e, own_buf, sizeof(own_buf));
  int r = 0;
  if (!(p->c = bal_cluster_new()))
    return -ENOMEM;
  size_t ns = pc->nrscs; /* services at most: resources and instances */
  for (size_t i = 0; i < pc->nrscs; i++)
    ns += pc->rscs[i].instances.n;
  p->hosts = calloc(pc->nnodes + 1, sizeof(char *));
  p->svc_of_rsc = calloc(pc->nrscs + 1, sizeof(int));
  p->rsc_of_svc = calloc(ns + 1, sizeof(int));
  p->prims = calloc(pc->nrscs + 1, sizeof(char **));
  p->declared = calloc(ns + 1, sizeof(*p->declared));
  p->est = calloc(ns + 1, sizeof(*p->est));
  if (!p->hosts || !p->svc_of_rsc || !p->rsc_of_svc || !p->prims ||
      !p->declared || !p->est)
    return -ENOMEM;
  for (size_t i = 0; i < ns; i++)
    for (int d = 0; d < BAL_NDIM; d++) {
      p->est[i][d].which = BAL_NEST;
      p->declared[i][d] = NAN;
    }
  pm_buf_t b = {0};
  for (size_t i = 0; r == 0 && i < pc->nnodes; i++) {
    double cap[BAL_NDIM];
    for (int d = 0; d < BAL_NDIM; d++)
      cap[d] = node_cap(p, (int)i, d);
    if (isnan(cap[BAL_CPU]) && isnan(cap[BAL_MEM]) && isnan(cap[BAL_NET]))
      pass_data_note(p, BAL_LOG_WARNING,
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
    if (rs->clone && cf->source == BAL_SRC_PACEMAKER) {
      if ((r = add_instances(p, i)) < 0)
        return r;
      continue;
    }
    /* The balancer itself is no service to balance: its CPU is part of
     * its node's background. */
    if (rs->clone || !rs->wanted || (own && own[0] && strcmp(rs->id, own) == 0))
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
  return pass_measure(p);
}
