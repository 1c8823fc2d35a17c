/* engine-act.c: checking a plan with crm_simulate, then acting on it. */
#include "config.h"

#include "engine-internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

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
int pass_verify(struct pass *p) {
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
    bal_elog(p->e, BAL_LOG_ERR, "verify: %s",
             pm_error_str(&err, buf, sizeof(buf)));
    goto out;
  }
  for (size_t i = 0; i < nm; i++) {
    bal_move_t m;
    bal_plan_move(p->plan, i, &m);
    int k = bal_pcmk_find_rsc(sim, m.services[0]);
    const char *where = k >= 0 ? sim->rscs[k].node : NULL;
    if (where && strcmp(where, m.to) == 0)
      continue;
    bal_elog(
        p->e, BAL_LOG_WARNING,
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
      bal_elog(p->e, BAL_LOG_WARNING,
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

/* Runs one action for rsc; logs and journals it. 0, 1 when the service runs
 * where it was to go already (no constraint was left), or a negative
 * errno. */
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
    bal_elog(
        p->e, BAL_LOG_ERR,
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
  int status;
  r = bal_run_exit(argv, cf->exec.timeout_ms, NULL, &err, &status);
  const struct bal_executor *ex = bal_executor_find(cf->exec.type);
  if (r == -EPROTO && ex && ex->already && status == ex->already &&
      strcmp(what, "clear") != 0) {
    bal_elog(p->e, BAL_LOG_NOTICE,
             "%s %s %s -> %s: it runs there already (the cluster placed it "
             "first) [%s]",
             what, rsc, from ? from : "-", to ? to : "-", cmd.data);
    bal_journal(cf->journal, p->now, "%s %s %s -> %s: there already", what, rsc,
                from ? from : "-", to ? to : "-");
    r = 1;
  } else if (r == 0) {
    bal_elog(p->e, BAL_LOG_NOTICE, "%s %s %s -> %s: %s [%s]", what, rsc,
             from ? from : "-", to ? to : "-", why, cmd.data);
    bal_journal(cf->journal, p->now, "%s %s %s -> %s: %s", what, rsc,
                from ? from : "-", to ? to : "-", why);
  } else {
    bal_elog(p->e, BAL_LOG_ERR, "%s %s %s -> %s failed: %s [%s]", what, rsc,
             from ? from : "-", to ? to : "-", err.data ? err.data : "",
             cmd.data);
    bal_journal(cf->journal, p->now, "%s-failed %s %s -> %s: %s", what, rsc,
                from ? from : "-", to ? to : "-", err.data ? err.data : "");
  }
  pm_buf_free(&cmd);
  pm_buf_free(&err);
  bal_argv_free(argv);
  return r;
}

void pass_execute(struct pass *p) {
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
      if (r >= 0) {
        free(st->at);
        st->at = strdup(m.to);
      }
      if (r >= 0)
        p->executed++;
      else
        p->failed++;
      /* For the hooks: what was done, in a few words. */
      const char *sep = p->done.len ? "; " : "";
      if (r < 0)
        pm_buf_printf(&p->done, "%scould not move %s to %s", sep, m.services[k],
                      m.to);
      else if (r == 1)
        pm_buf_printf(&p->done, "%s%s already on %s", sep, m.services[k], m.to);
      else if (!place)
        pm_buf_printf(&p->done, "%smoved %s %s -> %s", sep, m.services[k],
                      m.from, m.to);
      else
        pm_buf_printf(&p->done, "%splaced %s%s%s%s on %s", sep, m.services[k],
                      m.from ? " (from " : "", m.from ? m.from : "",
                      m.from ? ")" : "", m.to);
    }
  }
}

/* Clears the constraints our moves left behind once they did their job:
 * the resource runs where we sent it (or elsewhere: then the constraint is
 * stale) and the cluster keeps resources where they are (stickiness). */
void pass_clear_constraints(struct pass *p) {
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
      bal_elog(p->e, BAL_LOG_INFO,
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
