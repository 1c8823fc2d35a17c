/* engine-failback.c: fail-back policies applied to a pass (failback.c
 * keeps the history in the state file). */
#include "config.h"

#include "engine-internal.h"

#include <errno.h>
#include <string.h>

void pass_failback_track(struct pass *p) {
  if (bal_failback_track(&p->st, p->pc, p->now) < 0)
    bal_elog(p->e, BAL_LOG_WARNING,
             "fail-back: out of memory tracking lost resources");
}

/* The policy of resource k: its patmon-failback meta attribute, else the
 * configuration's. */
static enum bal_failback policy(struct pass *p, int k) {
  const char *v = p->pc->rscs[k].failback;
  enum bal_failback m = p->cf->failback;
  if (v && bal_failback_parse(v, &m) < 0) {
    pass_data_note(p, BAL_LOG_WARNING,
                   "resource %s: meta attribute patmon-failback=\"%s\" is "
                   "not auto, manual or never: taken as never",
                   p->pc->rscs[k].id, v);
    m = BAL_FB_NEVER;
  }
  return m;
}

int pass_failback(struct pass *p) {
  const struct bal_conf *cf = p->cf;
  int r = 0;
  for (size_t i = 0; r == 0 && i < p->st.n; i++) {
    struct bal_state_rsc *s = &p->st.rsc[i];
    if (!s->lost_from)
      continue;
    int k = bal_map_get(&p->pc->rsc_ix, s->rsc);
    int svc = k >= 0 ? p->svc_of_rsc[k] : -1;
    int home = bal_cluster_find_node(p->c, s->lost_from);
    /* Not running: failover places it; gone from the cluster: nothing. */
    if (svc < 0 || home < 0 || bal_service_node(p->c, svc) < 0)
      continue;
    enum bal_failback m = policy(p, k);
    time_t back = bal_state_back_since(&p->st, s->lost_from);
    enum bal_fb_action a =
        bal_failback_due(m, back, p->now, cf->failback_stable);
    const char *on = bal_node_name(p->c, bal_service_node(p->c, svc));
    switch (a) {
    case BAL_FB_NONE:
      break;
    case BAL_FB_WAIT:
      if (back > 0)
        r = pm_buf_printf(&p->failback,
                          "failback: %s (%s) waits: %s online for %lld of "
                          "%u s\n",
                          s->rsc, bal_failback_name(m), s->lost_from,
                          (long long)(p->now - back), cf->failback_stable);
      else
        r = pm_buf_printf(&p->failback,
                          "failback: %s (%s) waits: %s is not online\n", s->rsc,
                          bal_failback_name(m), s->lost_from);
      break;
    case BAL_FB_LIST:
      r = pm_buf_printf(&p->failback,
                        "failback: %s (manual) could return from %s to %s "
                        "(online for %lld s)\n",
                        s->rsc, on, s->lost_from, (long long)(p->now - back));
      if (r == 0 && !s->listed && pass_side_effects(p)) {
        bal_journal(cf->journal, p->now,
                    "failback manual %s: could return from %s to %s", s->rsc,
                    on, s->lost_from);
        bal_elog(p->e, BAL_LOG_NOTICE,
                 "fail-back (manual): %s could return from %s to %s", s->rsc,
                 on, s->lost_from);
        s->listed = true;
      }
      break;
    case BAL_FB_MOVE:
      r = bal_service_set_home(p->c, svc, home);
      break;
    }
  }
  return r < 0 ? -ENOMEM : 0;
}
