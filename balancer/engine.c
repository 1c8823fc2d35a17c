/* engine.c: one pass of patmon-balance.
 *
 * inventory (crm_mon + CIB, or the configuration) -> metrics (RRD) ->
 * cluster model -> plan -> verify (crm_simulate) -> act -> clear stale
 * constraints -> what-if -> publish, notify, remember. */
#include "config.h"

#include "engine-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

void bal_elog(bal_engine_t *e, enum bal_log_level l, const char *fmt, ...) {
  if (!e->log)
    return;
  pm_buf_t b = {0};
  va_list ap;
  va_start(ap, fmt);
  int r = pm_buf_vprintf(&b, fmt, ap);
  va_end(ap);
  /* Messages quote crm_mon, cibadmin and executors' output: no control
   * character reaches a terminal or syslog raw. */
  if (r == 0)
    e->log(e->log_ud, l, pm_printable(b.data));
  pm_buf_free(&b);
}

int bal_engine_new(const char *path, bal_engine_t **ret, pm_error_t *err) {
  bal_engine_t *e = calloc(1, sizeof(*e));
  if (!e || !(e->path = strdup(path))) {
    free(e);
    return -ENOMEM;
  }
  e->lock_fd = -1;
  e->role = BAL_ROLE_UNKNOWN;
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
  engine_avail_close(e);
  bal_conf_free(e->conf);
  free(e->path);
  free(e->node);
  free(e->role_where);
  free(e->zone);
  bal_zone_free(e->zcore);
  bal_argv_free(e->offline);
  for (size_t i = 0; i < e->noff_seen; i++)
    free(e->off_seen[i].node);
  free(e->off_seen);
  bal_argv_free(e->tell.nodes);
  pm_buf_free(&e->tell.done);
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
  engine_avail_close(e); /* availability_journal may have changed */
  free(e->node);         /* node_name may have changed */
  e->node = NULL;
  return 0;
}

unsigned bal_engine_interval(const bal_engine_t *e) {
  return e->conf->interval;
}

const char *bal_engine_event_socket(const bal_engine_t *e,
                                    const char **ret_group) {
  if (ret_group)
    *ret_group =
        e->conf->event_socket_group[0] ? e->conf->event_socket_group : NULL;
  return e->conf->event_socket[0] ? e->conf->event_socket : NULL;
}

const char *bal_engine_availability_journal(const bal_engine_t *e) {
  return e->conf->avail_journal[0] ? e->conf->avail_journal : NULL;
}

int bal_engine_role(const bal_engine_t *e) { return e->role; }

bool bal_engine_leads(const bal_engine_t *e) {
  return !bal_engine_zone(e) || e->lead;
}

bool bal_engine_saw_offline(const bal_engine_t *e, const char *node) {
  for (char **n = e->offline; n && *n; n++)
    if (strcmp(*n, node) == 0)
      return true;
  return false;
}

int bal_engine_lock(bal_engine_t *e) {
  char buf[4096];
  const char *path = engine_zone_path(e, e->conf->lock_file, buf, sizeof(buf));
  if (!path)
    return -ENAMETOOLONG;
  if (!*path)
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
    bal_elog(e, BAL_LOG_DEBUG, "lock file %s: cannot write the pid", path);
  e->lock_fd = fd;
  return 0;
}

bool pass_reads(const struct pass *p, int n) {
  return !p->reads || (n >= 0 && p->reads[n]);
}

bool pass_acting(const struct pass *p) {
  return p->cf->execute && !(p->flags & BAL_PASS_DRY_RUN) && !p->hold &&
         !p->passive;
}

bool pass_side_effects(const struct pass *p) {
  return !(p->flags & BAL_PASS_DRY_RUN) && !p->passive;
}

void pass_data_note(struct pass *p, enum bal_log_level l, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void pass_data_note(struct pass *p, enum bal_log_level l, const char *fmt,
                    ...) {
  pm_buf_t b = {0};
  va_list ap;
  va_start(ap, fmt);
  int r = pm_buf_vprintf(&b, fmt, ap);
  va_end(ap);
  if (r == 0) {
    bal_elog(p->e, l, "%s", b.data);
    pm_buf_printf(&p->data_notes, "  %s\n", b.data);
  }
  pm_buf_free(&b);
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
  free(p->declared);
  free(p->est);
  bal_cluster_free(p->c);
  bal_pcmk_free(p->pc);
  pm_buf_free(&p->cib);
  pm_buf_free(&p->mon);
  pm_buf_free(&p->data_notes);
  pm_buf_free(&p->failback);
  pm_buf_free(&p->patterns);
  pm_buf_free(&p->done);
  free(p->node_zone);
  bal_zrecs_free(&p->zrecs);
  free(p->reads);
  pm_buf_free(&p->zone_done);
  bal_argv_free(p->went_offline);
  bal_state_free(&p->st);
}

/* Waits until Pacemaker has nothing left to do: crm_simulate on the live
 * CIB plans no action (crm_resource --wait checks every 2 s, too slowly
 * here), asked every 100 ms, for the executor's timeout at most. */
static void wait_idle(bal_engine_t *e) {
  const struct bal_conf *cf = e->conf;
  const struct bal_executor *ex = bal_executor_find(cf->exec.type);
  if (cf->source != BAL_SRC_PACEMAKER || !ex || !ex->pacemaker)
    return;
  char *argv[] = {cf->crm_simulate, "--live-check", "--simulate",
                  "--output-as=xml", NULL};
  uint64_t end = pm_now_ns() + (uint64_t)cf->exec.timeout_ms * 1000000;
  pm_buf_t out = {0};
  for (;;) {
    pm_buf_reset(&out);
    if (bal_run(argv, cf->cmd_timeout_ms, &out, NULL) < 0 || !out.data ||
        !strstr(out.data, "<rsc_action "))
      break;
    if (pm_now_ns() > end) {
      bal_elog(e, BAL_LOG_WARNING,
               "Pacemaker still has actions to run after %d s: planning "
               "all the same",
               cf->exec.timeout_ms / 1000);
      break;
    }
    struct timespec ts = {.tv_nsec = 100000000};
    nanosleep(&ts, NULL);
  }
  pm_buf_free(&out);
}

/* While the cluster settles after a loss: what the pass found, in one
 * line (the moves follow in their own lines). */
static void log_settling(struct pass *p) {
  pm_buf_t b = {0};
  for (size_t n = 0; n < bal_cluster_nnodes(p->c); n++) {
    double before, after;
    if (bal_node_state(p->c, (int)n) == BAL_NODE_OFFLINE ||
        !pass_reads(p, (int)n) ||
        bal_plan_node_util(p->plan, (int)n, &before, &after) < 0)
      continue;
    pm_buf_printf(&b, "%s%s %.0f%%", b.len ? ", " : "",
                  bal_node_name(p->c, (int)n), 100 * before);
  }
  bal_elog(p->e, BAL_LOG_INFO, "settling: %s; %zu stopped, %zu move(s) planned",
           b.data ? b.data : "no node", bal_plan_nunplaced(p->plan) + 0,
           bal_plan_nmoves(p->plan));
  pm_buf_free(&b);
}

/* Remembers the nodes offline in this pass (bal_engine_saw_offline). */
static void keep_offline(struct pass *p) {
  char **v = calloc(p->pc->nnodes + 1, sizeof(char *));
  size_t n = 0;
  for (size_t i = 0; v && i < p->pc->nnodes; i++)
    if (p->pc->nodes[i].state == BAL_NODE_OFFLINE &&
        !(v[n++] = strdup(p->pc->nodes[i].name))) {
      bal_argv_free(v);
      v = NULL;
    }
  if (!v)
    return; /* the previous list stays: the daemon retries a little longer */
  bal_argv_free(p->e->offline);
  p->e->offline = v;
}

/* Where a pass's time went, in the debug log (monotonic clock; t[]: the
 * start, then the ends of the inventory, the model, the plan, the what-if
 * and the pass). */
static void log_timings(const struct pass *p, const uint64_t t[6]) {
  double s[5];
  for (int i = 0; i < 5; i++)
    s[i] = t[i + 1] >= t[i] ? (double)(t[i + 1] - t[i]) / 1e9 : 0;
  const struct bal_rrd_cost *rc = &p->rrd_cost;
  double fl = (double)rc->flush_ns / 1e9, rd = (double)rc->read_ns / 1e9;
  bal_elog(p->e, BAL_LOG_DEBUG,
           "pass took %.3f s: inventory %.3f s, model %.3f s (%zu RRD files: "
           "rrdcached flush %.3f s, read %.3f s; estimates %.3f s), "
           "plan %.3f s, what-if %.3f s, the rest %.3f s",
           (double)(t[5] - t[0]) / 1e9, s[0], s[1], rc->files, fl, rd,
           (double)p->measure_ns / 1e9 - fl - rd, s[2], s[3], s[4]);
}

/* The plan of pass p: the zone core's with a zone, else the planner's; a
 * plan crm_simulate refuses is planned again (up to three times, once by
 * zone), and held (p->hold) when it could not be checked. */
static int pass_plan(struct pass *p, bool zoned) {
  const struct bal_conf *cf = p->cf;
  bal_params_init(&p->params);
  p->params.threshold = cf->threshold;
  p->params.max_moves = cf->max_moves;
  p->params.swaps = cf->swaps;
  p->params.repack = cf->repack;
  p->params.spare_nodes = cf->spare_nodes;
  p->params.move_charge = cf->move_charge;
  bool can_verify = cf->source == BAL_SRC_PACEMAKER &&
                    strcmp(cf->exec.type, "pacemaker") == 0 && cf->exec.verify;
  bool verified = !can_verify;
  /* With a zone, the zone core plans; once a pass, as it decides grants
   * and requests for everybody (a plan Pacemaker would not take is held,
   * planned again next pass). */
  for (int round = 0; round < 3; round++) {
    bal_plan_free(p->plan);
    p->plan = NULL;
    int r = zoned ? pass_zone_plan(p)
                  : bal_plan_compute(p->c, &p->params, &p->plan);
    if (r < 0)
      return r;
    if (!can_verify)
      break;
    int k = pass_verify(p);
    if (k == -ENOMEM)
      return k;
    if (k == 0) {
      verified = true;
      break;
    }
    if (k < 0 || zoned)
      break; /* crm_simulate failed (said above), or planned by zone */
  }
  if (zoned)
    pass_zone_end(p);
  if (!verified && bal_plan_nmoves(p->plan)) {
    bal_elog(p->e, BAL_LOG_ERR,
             "the plan could not be checked with crm_simulate: "
             "nothing is moved this pass");
    p->hold = true;
  }
  return 0;
}

/* After planning: the warnings, --explain, the moves (or what they would
 * be), and what a pass with side effects tells, publishes and saves. */
static void pass_report_act(struct pass *p, const int *ok, const double *wu,
                            const char *state_file) {
  bal_engine_t *e = p->e;
  const struct bal_conf *cf = p->cf;
  size_t nn = bal_cluster_nnodes(p->c);
  for (size_t n = 0; n < nn; n++)
    if (ok[n] == 0 && pass_reads(p, (int)n))
      bal_elog(e, BAL_LOG_WARNING,
               "what-if: the failure of %s could not be absorbed now",
               bal_node_name(p->c, (int)n));
  for (size_t i = 0; i < bal_plan_nnotes(p->plan); i++)
    bal_elog(e, BAL_LOG_WARNING, "%s", bal_plan_note(p->plan, i));
  if (p->explain)
    pass_explain(p, ok, wu);
  if (p->flags & BAL_PASS_SETTLING)
    log_settling(p);
  if (pass_acting(p)) {
    pass_execute(p);
    pass_clear_constraints(p);
    e->acted = p->executed > 0;
  } else {
    for (size_t i = 0; i < bal_plan_nmoves(p->plan); i++) {
      bal_move_t m;
      bal_plan_move(p->plan, i, &m);
      bal_elog(e, BAL_LOG_INFO, "would move %s %s -> %s: %s", m.services[0],
               m.from ? m.from : "(stopped)", m.to, m.why);
    }
  }
  if (pass_side_effects(p)) {
    pass_tell(p);
    pass_publish(p, ok, wu);
    if (cf->publish_utilization && cf->source == BAL_SRC_PACEMAKER)
      pass_publish_utilization(p);
    int k = bal_state_save(state_file, &p->st);
    if (k < 0)
      bal_elog(e, BAL_LOG_WARNING, "state file %s: %s", state_file,
               strerror(-k));
  }
}

int bal_engine_pass(bal_engine_t *e, unsigned flags, pm_buf_t *explain_out) {
  const struct bal_conf *cf = e->conf;
  uint64_t t[6] = {pm_now_ns()};
  struct pass p = {.e = e,
                   .cf = cf,
                   .flags = flags,
                   .now = time(NULL),
                   .explain = explain_out};
  int *ok = NULL;
  double *wu = NULL;
  char state_buf[4096];
  const char *state_file =
      engine_zone_path(e, cf->state_file, state_buf, sizeof(state_buf));
  if (!state_file)
    return -ENAMETOOLONG;
  int r = bal_state_load(state_file, &p.st);
  if (r < 0) {
    bal_elog(e, BAL_LOG_WARNING, "state file %s: %s (starting afresh)",
             state_file, pm_strerror(r));
    p.st = (struct bal_state){0};
  }
  /* While the cluster settles after a loss, the pass after one that acted
   * lets Pacemaker carry that out first: a resource on its way would
   * look stopped. The first pass does not wait: Pacemaker's own recovery
   * and ours run side by side, ours wins where they differ. */
  if (flags & BAL_PASS_SETTLING && !(flags & BAL_PASS_DRY_RUN) && e->acted)
    wait_idle(e);
  e->acted = false;
  r = cf->source == BAL_SRC_PACEMAKER ? pass_inventory_pacemaker(&p)
                                      : pass_inventory_static(&p);
  if (r < 0)
    goto out;
  t[1] = pm_now_ns();
  keep_offline(&p);
  pass_role(&p);
  /* With a zone, step 1 of the zone core says who leads: the duties done
   * once for the cluster are the leader's. In maintenance mode nothing is
   * planned and no zone record read: the last pass's leader stays. */
  bool zoned = bal_engine_zone(e) != NULL;
  if (zoned && !p.pc->maintenance && (r = pass_zone_begin(&p)) < 0)
    goto out;
  if (zoned && !p.pc->maintenance)
    e->lead = bal_zone_leader(e->zcore);
  p.lead = !zoned || e->lead;
  if (p.lead)
    pass_availability(&p);
  if (p.pc->maintenance) {
    bal_elog(e, BAL_LOG_NOTICE,
             "the cluster is in maintenance mode (or stop-all-resources): "
             "nothing to do");
    if (explain_out)
      pm_buf_puts(explain_out, "cluster in maintenance mode: no plan\n");
    r = 0;
    goto out;
  }
  pass_patterns(&p);
  pass_failback_track(&p);
  pass_offline_events(&p);
  if ((r = pass_build_model(&p)) < 0 || (r = pass_failback(&p)) < 0) {
    bal_elog(e, BAL_LOG_ERR, "cannot build the cluster model: %s",
             r == -EEXIST ? "a node or service is listed twice" : strerror(-r));
    goto out;
  }
  t[2] = pm_now_ns();
  if ((r = pass_plan(&p, zoned)) < 0)
    goto out;
  t[3] = pm_now_ns();
  size_t nn = bal_cluster_nnodes(p.c);
  ok = calloc(nn + 1, sizeof(int));
  wu = calloc(nn + 1, sizeof(double));
  if (!ok || !wu) {
    r = -ENOMEM;
    goto out;
  }
  if ((r = bal_whatif_all(p.c, &p.params, ok, wu)) < 0)
    goto out;
  t[4] = pm_now_ns();
  pass_report_act(&p, ok, wu, state_file);
  r = (int)bal_plan_nmoves(p.plan);
  t[5] = pm_now_ns();
  log_timings(&p, t);
out:
  free(ok);
  free(wu);
  pass_free(&p);
  return r;
}
