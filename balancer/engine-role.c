/* engine-role.c: one decision-maker, and telling the admin once.
 *
 * A lock file keeps two instances on one node apart, but nodes do not share
 * /run (and should not share a lock over the network). With own_resource
 * set, the instance Pacemaker runs as that resource is the decision-maker:
 * a pass acts only on the node crm_mon shows it running on. Any other
 * instance (started by hand, a leftover of a failover) plans, reports and
 * says why it does not act. Hooks run from that one instance, once per node
 * gone offline, with what the pass did about it. */
#include "config.h"

#include "engine-internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

/* This node's name as Pacemaker knows it: node_name, else crm_node -n,
 * else the host name. Asked once per configuration. */
static const char *local_node(struct pass *p) {
  bal_engine_t *e = p->e;
  if (e->node)
    return e->node;
  const char *name = p->cf->node_name;
  pm_buf_t out = {0};
  struct utsname u;
  if (!name[0]) {
    char *argv[] = {"crm_node", "-n", NULL};
    if (bal_run(argv, p->cf->cmd_timeout_ms, &out, NULL) == 0 && out.data &&
        out.data[0] && out.data[0] != '\n') {
      out.data[strcspn(out.data, "\n")] = '\0';
      name = out.data;
    } else if (uname(&u) == 0) {
      name = u.nodename;
    }
  }
  e->node = strdup(name);
  pm_buf_free(&out);
  return e->node ? e->node : "";
}

void pass_role(struct pass *p) {
  bal_engine_t *e = p->e;
  char buf[256];
  const char *own = engine_own_resource(e, buf, sizeof(buf));
  if (!own) {
    if (e->role != BAL_ROLE_STANDBY)
      bal_elog(e, BAL_LOG_ERR,
               "own_resource %s names the zone (%%z), but this instance has "
               "none (--zone): not acting",
               p->cf->own_resource);
    e->role = BAL_ROLE_STANDBY;
    p->passive = true;
    return;
  }
  if (!own[0] || !p->pc) {
    e->role = BAL_ROLE_ACTIVE;
    return;
  }
  const char *me = local_node(p);
  int k = bal_pcmk_find_rsc(p->pc, own);
  const char *on = k >= 0 ? p->pc->rscs[k].node : NULL;
  int role = k < 0                 ? BAL_ROLE_STANDBY
             : !on                 ? BAL_ROLE_WAITING
             : strcmp(on, me) == 0 ? BAL_ROLE_ACTIVE
                                   : BAL_ROLE_STANDBY;
  p->passive = role != BAL_ROLE_ACTIVE;
  bool same_where = (!on && !e->role_where) ||
                    (on && e->role_where && strcmp(on, e->role_where) == 0);
  if (role != e->role || !same_where) {
    if (role == BAL_ROLE_ACTIVE)
      bal_elog(e, BAL_LOG_NOTICE,
               "the active decision-maker: %s runs here (%s)", own, me);
    else if (k < 0)
      bal_elog(e, BAL_LOG_ERR,
               "own_resource %s is not a resource of this cluster: not "
               "acting",
               own);
    else if (!on)
      bal_elog(e, BAL_LOG_NOTICE,
               "%s runs nowhere yet: not acting until it runs here", own);
    else
      bal_elog(e, BAL_LOG_NOTICE,
               "not the active decision-maker: %s runs on %s, this is %s; "
               "planning only",
               own, on, me);
  }
  e->role = role;
  free(e->role_where);
  e->role_where = on ? strdup(on) : NULL;
}

/* Tells the hooks of the nodes gone offline since the last telling, with
 * what was done since. */
static void tell_offline(bal_engine_t *e, const struct bal_conf *cf,
                         const char *idle, size_t left) {
  struct bal_tell *t = &e->tell;
  for (char **n = t->nodes; n && *n; n++) {
    pm_buf_t msg = {0};
    pm_buf_printf(&msg, "node %s is offline; %s", *n,
                  t->done.len ? t->done.data : idle);
    if (left)
      pm_buf_printf(&msg, "; %zu service(s) left stopped, see the journal",
                    left);
    if (msg.data)
      bal_run_hooks(e, cf, false, false, *n, t->executed, msg.data);
    pm_buf_free(&msg);
  }
  bal_argv_free(t->nodes);
  pm_buf_free(&t->done);
  *t = (struct bal_tell){0};
}

/* Whether every wanted service runs and no online node is above capacity,
 * as the pass found the cluster (before its own moves). */
static bool within_capacity(struct pass *p) {
  for (size_t s = 0; s < bal_cluster_nservices(p->c); s++) {
    int n = bal_service_node(p->c, (int)s);
    enum bal_ha ha = bal_service_ha(p->c, (int)s);
    if (ha == BAL_HA_CLONE || ha == BAL_HA_UNPROMOTED)
      continue; /* the other instances carry on */
    if (n < 0 || bal_node_state(p->c, n) == BAL_NODE_OFFLINE)
      return false;
  }
  for (size_t n = 0; n < bal_cluster_nnodes(p->c); n++) {
    double before, after;
    if (bal_node_state(p->c, (int)n) == BAL_NODE_OFFLINE ||
        !pass_reads(p, (int)n))
      continue;
    if (bal_plan_node_util(p->plan, (int)n, &before, &after) < 0 ||
        !(before <= 1.0))
      return false;
  }
  return true;
}

bool bal_engine_settling(const bal_engine_t *e) { return e->tell.nodes; }

void bal_engine_tell(bal_engine_t *e) {
  if (e->tell.nodes)
    tell_offline(e, e->conf, "no move needed", 0);
}

void pass_tell(struct pass *p) {
  const struct bal_conf *cf = p->cf;
  bal_engine_t *e = p->e;
  struct bal_tell *t = &e->tell;
  const char *done = p->done.len ? p->done.data : NULL;
  /* What this pass adds to the nodes waiting to be told of. */
  size_t n = 0;
  while (t->nodes && t->nodes[n])
    n++;
  for (char **g = p->went_offline; g && *g; g++)
    if (pm_strv_push(&t->nodes, &n, *g) < 0)
      break;
  bool waiting = n > 0;
  if (waiting && done)
    pm_buf_printf(&t->done, "%s%s", t->done.len ? "; " : "", done);
  if (waiting)
    t->executed += p->executed;
  /* While the cluster settles after a loss (the HA stack recovers in
   * parallel, a pass may leave work for the next), the telling waits for
   * a pass that finds every service running and no node above capacity
   * (or nothing to do). */
  bool settled = !(p->flags & BAL_PASS_SETTLING) || !bal_plan_nmoves(p->plan) ||
                 within_capacity(p);
  if (waiting && settled)
    tell_offline(e, cf,
                 pass_acting(p) ? "no move needed"
                 : p->hold      ? "the plan could not be verified, nothing "
                                  "was moved"
                                : "nothing was moved (execute = false)",
                 bal_plan_nunplaced(p->plan));
  /* Hooks told (or to be told) of a node know the plan too: told once. */
  if (p->executed) {
    pm_buf_t msg = {0};
    pm_buf_printf(&msg, "patmon-balance moved %zu service(s), %zu failed: %s",
                  p->executed, p->failed, done ? done : "see the journal");
    if (msg.data)
      bal_run_hooks(e, cf, true, waiting, NULL, p->executed, msg.data);
    pm_buf_free(&msg);
  }
}
