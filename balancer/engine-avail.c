/* engine-avail.c: the availability journal's one writer is the active
 * decision-maker. Each pass reconciles the journal with the crm_mon output
 * it read (what changed since: resource starts and stops, failures, nodes
 * whose alert did not reach us); node alerts from the event socket are
 * recorded at once with the time they arrived (bal_engine_avail_event);
 * those that came while no instance listened are taken from event_spool
 * first. A standby instance or a dry run writes nothing. */
#include "config.h"

#include "engine-internal.h"

#include "avail/avail.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* Records the node alerts patmon-alert spooled while no one listened
 * (event_spool), before anything newer. */
static void take_spool(bal_engine_t *e) {
  const char *path = e->conf->event_spool;
  if (!path[0])
    return;
  av_load_t ld = {0};
  pm_error_t err = {0};
  char buf[1024];
  int r = av_journal_take_spool(e->avail, path, &ld, &err);
  if (r < 0)
    bal_elog(e, BAL_LOG_ERR, "availability journal: event_spool: %s",
             pm_error_str(&err, buf, sizeof(buf)));
  if (ld.skipped)
    bal_elog(e, BAL_LOG_WARNING, "event_spool: %u line(s) skipped, first: %s",
             ld.skipped, pm_error_str(&ld.first, buf, sizeof(buf)));
  if (r > 0)
    bal_elog(e, BAL_LOG_INFO,
             "availability journal: %d node alert(s) taken from %s", r, path);
}

/* Opens the journal on first use and takes the spool; false when there is
 * no journal to write. */
static bool journal(bal_engine_t *e) {
  const char *path = e->conf->avail_journal;
  if (!e->avail && path[0]) {
    av_load_t ld;
    pm_error_t err = {0};
    char buf[1024];
    if (av_journal_open(path, &e->avail, &ld, &err) < 0) {
      bal_elog(e, BAL_LOG_ERR, "availability journal: %s",
               pm_error_str(&err, buf, sizeof(buf)));
      return false;
    }
    if (ld.skipped)
      bal_elog(e, BAL_LOG_WARNING,
               "availability journal: %u line(s) skipped, first: %s",
               ld.skipped, pm_error_str(&ld.first, buf, sizeof(buf)));
    bal_elog(e, BAL_LOG_INFO, "availability journal %s: %u events", path,
             ld.events);
  }
  if (e->avail)
    take_spool(e);
  return e->avail != NULL;
}

void pass_availability(struct pass *p) {
  bal_engine_t *e = p->e;
  if (!p->lead || p->passive || !pass_side_effects(p) || !p->mon.data ||
      !journal(e))
    return;
  pm_error_t err = {0};
  char buf[1024];
  int r = av_journal_reconcile(e->avail, p->mon.data, p->mon.len, p->cib.data,
                               p->cib.len, "crm_mon", pm_wall_ms(), &err);
  if (r < 0)
    bal_elog(e, BAL_LOG_ERR, "availability journal: %s",
             r == -EBADMSG ? pm_error_str(&err, buf, sizeof(buf))
                           : strerror(-r));
  else if (r > 0)
    bal_elog(e, BAL_LOG_INFO,
             "availability journal: %d change(s) found in crm_mon", r);
}

int bal_engine_avail_event(bal_engine_t *e, bool lost, bool fenced,
                           const char *node, int64_t t_ms) {
  if (e->role != BAL_ROLE_ACTIVE || !bal_engine_leads(e) || !journal(e))
    return 0;
  av_event_t ev = {.t_ms = t_ms,
                   .action = fenced ? AV_FENCED
                             : lost ? AV_LOST
                                    : AV_MEMBER};
  if (strlen(node) > AV_NAME_MAX)
    return -EINVAL;
  strcpy(ev.name, node);
  return av_journal_add(e->avail, &ev);
}

/* The windows published, and the values of each row: availability per
 * window, then failures, MTTF and MTTR over the longest. */
static const struct {
  const char *suffix;
  int64_t ms;
} windows[] = {
    {"24h", AV_DAY_MS}, {"7d", 7 * AV_DAY_MS}, {"30d", 30 * AV_DAY_MS}};
#define NWIN (sizeof(windows) / sizeof(windows[0]))

/* A value for PUTVAL: "U" when undefined. */
static void val(char *buf, size_t len, double v) {
  if (isnan(v))
    snprintf(buf, len, "U");
  else
    snprintf(buf, len, "%.6g", v);
}

/* A node's latest loss in the window: its outage and its services'
 * recovery, in seconds ("U" while open, or without a loss). */
static void publish_loss(const av_report_t *r, const char *node, const char *id,
                         long long t, unsigned iv, pm_buf_t *cmds) {
  const av_loss_t *l, *last = NULL;
  size_t n = av_report_losses(r, &l);
  for (size_t i = 0; i < n; i++)
    if (strcmp(l[i].node, node) == 0)
      last = &l[i];
  char o[32], rc[32];
  val(o, sizeof(o),
      last && last->outage_ms >= 0 ? (double)last->outage_ms / 1000 : NAN);
  val(rc, sizeof(rc),
      last && last->recovery_ms >= 0 ? (double)last->recovery_ms / 1000 : NAN);
  pm_buf_printf(cmds,
                "PUTVAL \"%s/duration-outage_last\" interval=%u %lld:%s\n"
                "PUTVAL \"%s/duration-recovery_last\" interval=%u %lld:%s\n",
                id, iv, t, o, id, iv, t, rc);
}

void pass_avail_publish(struct pass *p, const char *host, long long t,
                        unsigned iv, pm_buf_t *cmds) {
  bal_engine_t *e = p->e;
  if (!e->avail || p->passive)
    return;
  size_t n;
  const av_event_t *ev = av_journal_events(e->avail, &n);
  int64_t now = pm_wall_ms();
  av_report_t *rep[NWIN] = {NULL};
  for (size_t w = 0; w < NWIN; w++)
    if (av_report_new(ev, n, now - windows[w].ms, now, &rep[w]) < 0)
      goto out;
  const av_report_t *last = rep[NWIN - 1];
  for (size_t i = 0; i < av_report_count(last); i++) {
    const av_figures_t *f = av_report_get(last, i);
    /* An identifier's parts cannot hold these. */
    if (strpbrk(f->name, "/\"\\"))
      continue;
    char id[AV_NAME_MAX + 300], v[32];
    snprintf(id, sizeof(id), "%s/availability-%s_%s", host,
             f->kind == AV_NODE ? "node" : "resource", f->name);
    for (size_t w = 0; w < NWIN; w++) {
      const av_figures_t *g = av_report_find(rep[w], f->kind, f->name);
      val(v, sizeof(v), g ? 100 * g->availability : NAN);
      pm_buf_printf(cmds, "PUTVAL \"%s/percent-%s\" interval=%u %lld:%s\n", id,
                    windows[w].suffix, iv, t, v);
    }
    pm_buf_printf(cmds,
                  "PUTVAL \"%s/count-failures_30d\" interval=%u %lld:%u\n"
                  "PUTVAL \"%s/gauge-state\" interval=%u %lld:%d\n",
                  id, iv, t, f->failures, id, iv, t, (int)f->state);
    val(v, sizeof(v), f->mttf_s);
    pm_buf_printf(cmds, "PUTVAL \"%s/duration-mttf_30d\" interval=%u %lld:%s\n",
                  id, iv, t, v);
    val(v, sizeof(v), f->mttr_s);
    pm_buf_printf(cmds, "PUTVAL \"%s/duration-mttr_30d\" interval=%u %lld:%s\n",
                  id, iv, t, v);
    if (f->kind == AV_NODE)
      publish_loss(last, f->name, id, t, iv, cmds);
  }
out:
  for (size_t w = 0; w < NWIN; w++)
    av_report_free(rep[w]);
}

void engine_avail_close(bal_engine_t *e) {
  av_journal_free(e->avail);
  e->avail = NULL;
}
