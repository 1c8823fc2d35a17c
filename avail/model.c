/* model.c: the availability state machine and the report (see avail.h for
 * what counts as up, a failure and a repair). */
#include "config.h"

#include "internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const struct {
  av_action_t action;
  av_kind_t kind;
  const char *name;
} actions[] = {
    {AV_LOST, AV_NODE, "lost"},
    {AV_MEMBER, AV_NODE, "member"},
    {AV_FENCED, AV_NODE, "fenced"},
    {AV_START, AV_RESOURCE, "start"},
    {AV_STOP, AV_RESOURCE, "stop"},
    {AV_FAIL, AV_RESOURCE, "fail"},
    {AV_PROMOTE, AV_RESOURCE, "promote"},
    {AV_DEMOTE, AV_RESOURCE, "demote"},
    {AV_TO_STANDBY, AV_NODE, "standby"},
    {AV_TO_MAINTENANCE, AV_NODE, "maintenance"},
};

static const char *const states[] = {
    [AV_UNKNOWN] = "unknown",         [AV_ONLINE] = "online",
    [AV_OFFLINE] = "offline",         [AV_STARTED] = "started",
    [AV_PROMOTED] = "promoted",       [AV_STOPPED] = "stopped",
    [AV_FAILED] = "failed",           [AV_STANDBY] = "standby",
    [AV_MAINTENANCE] = "maintenance",
};

av_kind_t av_action_kind(av_action_t a) {
  for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
    if (actions[i].action == a)
      return actions[i].kind;
  return 0;
}

const char *av_action_name(av_action_t a) {
  for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
    if (actions[i].action == a)
      return actions[i].name;
  return "?";
}

const char *av_state_name(av_state_t s) {
  return (unsigned)s < sizeof(states) / sizeof(states[0]) ? states[s] : "?";
}

bool av_name_ok(const char *name, size_t len) {
  if (len == 0 || len > AV_NAME_MAX)
    return false;
  for (size_t i = 0; i < len; i++)
    if ((unsigned char)name[i] <= 0x20 || name[i] == 0x7f)
      return false;
  return true;
}

struct av_subject *av_model_find(const struct av_model *m, av_kind_t kind,
                                 const char *name) {
  for (size_t i = 0; i < m->n; i++)
    if (m->s[i].fig.kind == kind && strcmp(m->s[i].fig.name, name) == 0)
      return &m->s[i];
  return NULL;
}

static struct av_subject *get(struct av_model *m, av_kind_t kind,
                              const char *name) {
  struct av_subject *s = av_model_find(m, kind, name);
  if (s)
    return s;
  struct av_subject *v = pm_vec_grow(m->s, &m->cap, m->n + 1, sizeof(*v));
  if (!v)
    return NULL;
  m->s = v;
  s = &v[m->n];
  *s = (struct av_subject){.fig = {.kind = kind, .name = strdup(name)}};
  if (!s->fig.name)
    return NULL;
  m->n++;
  return s;
}

static bool is_up(av_state_t st) {
  return st == AV_ONLINE || st == AV_STARTED || st == AV_PROMOTED ||
         st == AV_STANDBY || st == AV_MAINTENANCE;
}

/* Adds the time of s's current state up to t, inside the window. */
static void account(const struct av_model *m, struct av_subject *s, int64_t t) {
  int64_t a = s->fig.since_ms > m->lo ? s->fig.since_ms : m->lo;
  int64_t b = t < m->hi ? t : m->hi;
  if (s->fig.state == AV_UNKNOWN || b <= a)
    return;
  if (is_up(s->fig.state))
    s->fig.up_ms += b - a;
  else if (s->fig.state == AV_FAILED ||
           (s->fig.state == AV_OFFLINE && s->down_counts))
    s->fig.repair_ms += b - a;
}

static void set_state(struct av_model *m, struct av_subject *s, av_state_t st,
                      int64_t t) {
  account(m, s, t);
  bool failure = (st == AV_FAILED && s->fig.state != AV_FAILED) ||
                 (st == AV_OFFLINE && is_up(s->fig.state));
  if (failure && t >= m->lo && t <= m->hi)
    s->fig.failures++;
  if (st == AV_OFFLINE)
    s->down_counts = is_up(s->fig.state);
  s->fig.state = st;
  s->fig.since_ms = t;
}

enum cause { RUN, STOP, FAIL };

/* A resource the loss (1 + index) failed runs again at t. */
static void recovered(struct av_model *m, size_t loss, int64_t t) {
  struct av_loss_rec *l = &m->losses[loss - 1];
  if (l->pending > 0 && --l->pending == 0)
    l->loss.recovery_ms = t - l->loss.t_ms;
}

/* The resource's state from its instances after an event of cause. */
static void settle(struct av_model *m, struct av_subject *s, enum cause c,
                   int64_t t) {
  av_state_t st;
  if (s->ninst > 0) {
    st = AV_STARTED;
    for (size_t i = 0; i < s->ninst; i++)
      if (s->inst[i].promoted)
        st = AV_PROMOTED;
  } else if (c == STOP) {
    st = s->fig.state == AV_FAILED ? AV_FAILED : AV_STOPPED;
  } else {
    st = AV_FAILED;
  }
  if (st != s->fig.state && s->loss && is_up(st)) {
    recovered(m, s->loss, t);
    s->loss = 0;
  }
  if (st != s->fig.state)
    set_state(m, s, st, t);
}

static struct av_inst *inst_find(struct av_subject *s, const char *node) {
  for (size_t i = 0; i < s->ninst; i++)
    if (strcmp(s->inst[i].node, node) == 0)
      return &s->inst[i];
  return NULL;
}

/* Removes the instances on node ("": all). Returns how many. */
static size_t inst_remove(struct av_subject *s, const char *node) {
  size_t removed = 0;
  for (size_t i = 0; i < s->ninst;) {
    if (*node && strcmp(s->inst[i].node, node) != 0) {
      i++;
      continue;
    }
    free(s->inst[i].node);
    s->inst[i] = s->inst[--s->ninst];
    removed++;
  }
  return removed;
}

static int inst_add(struct av_subject *s, const char *node, bool promoted) {
  struct av_inst *v =
      pm_vec_grow(s->inst, &s->instcap, s->ninst + 1, sizeof(*v));
  if (!v)
    return -ENOMEM;
  s->inst = v;
  if (!(v[s->ninst].node = strdup(node)))
    return -ENOMEM;
  s->inst[s->ninst++].promoted = promoted;
  return 0;
}

static int apply_node(struct av_model *m, const av_event_t *ev, int64_t t) {
  struct av_subject *s = get(m, AV_NODE, ev->name);
  if (!s)
    return -ENOMEM;
  av_state_t to = ev->action == AV_MEMBER           ? AV_ONLINE
                  : ev->action == AV_TO_STANDBY     ? AV_STANDBY
                  : ev->action == AV_TO_MAINTENANCE ? AV_MAINTENANCE
                                                    : AV_OFFLINE;
  if (to != AV_OFFLINE) {
    if (s->fig.state == to)
      return 0;
    if (s->loss) { /* back: its outage is over */
      struct av_loss_rec *l = &m->losses[s->loss - 1];
      l->loss.outage_ms = t - l->loss.t_ms;
      s->loss = 0;
    }
    set_state(m, s, to, t);
    s->told = !ev->reconciled;
    return 1;
  }
  if (s->fig.state == AV_OFFLINE) {
    /* Fenced after its loss: the loss is marked, once. */
    if (ev->action != AV_FENCED || !s->loss ||
        m->losses[s->loss - 1].loss.fenced)
      return 0;
    m->losses[s->loss - 1].loss.fenced = true;
    return 1;
  }
  bool was_up = is_up(s->fig.state);
  set_state(m, s, AV_OFFLINE, t);
  s->told = !ev->reconciled;
  size_t loss = 0;
  if (was_up) {
    struct av_loss_rec *v =
        pm_vec_grow(m->losses, &m->caplosses, m->nlosses + 1, sizeof(*v));
    if (!v)
      return -ENOMEM;
    m->losses = v;
    v[m->nlosses] =
        (struct av_loss_rec){.loss = {.node = s->fig.name,
                                      .t_ms = t,
                                      .fenced = ev->action == AV_FENCED,
                                      .outage_ms = -1}};
    loss = s->loss = ++m->nlosses;
  }
  /* Its instances are gone with it; the resources it ran last wait for
   * their recovery. */
  for (size_t i = 0; i < m->n; i++) {
    struct av_subject *r = &m->s[i];
    if (r->fig.kind != AV_RESOURCE || inst_remove(r, ev->name) == 0)
      continue;
    bool was_failed = r->fig.state == AV_FAILED;
    settle(m, r, FAIL, t);
    if (loss && !was_failed && r->fig.state == AV_FAILED) {
      struct av_loss_rec *l = &m->losses[loss - 1];
      r->loss = loss;
      l->loss.failed++;
      l->pending++;
      l->loss.recovery_ms = -1;
    }
  }
  return 1;
}

static int apply_resource(struct av_model *m, const av_event_t *ev, int64_t t) {
  struct av_subject *s = get(m, AV_RESOURCE, ev->name);
  if (!s)
    return -ENOMEM;
  struct av_inst *in = *ev->node ? inst_find(s, ev->node) : NULL;
  switch (ev->action) {
  case AV_START:
  case AV_PROMOTE:
  case AV_DEMOTE: {
    bool promoted = ev->action == AV_PROMOTE;
    if (!*ev->node)
      return 0; /* running, but where? nothing to count */
    if (in && (ev->action == AV_START || in->promoted == promoted))
      return 0;
    if (in)
      in->promoted = promoted;
    else if (inst_add(s, ev->node, promoted) < 0)
      return -ENOMEM;
    settle(m, s, RUN, t);
    return 1;
  }
  case AV_STOP:
    if (inst_remove(s, ev->node) == 0) {
      if (s->fig.state != AV_UNKNOWN)
        return 0;
      set_state(m, s, AV_STOPPED, t);
      return 1;
    }
    settle(m, s, STOP, t);
    return 1;
  case AV_FAIL:
    if (inst_remove(s, ev->node) == 0 &&
        (s->ninst > 0 || s->fig.state == AV_FAILED))
      return 0;
    settle(m, s, FAIL, t);
    return 1;
  default:
    return 0;
  }
}

int av_model_apply(struct av_model *m, const av_event_t *ev) {
  int64_t t = ev->t_ms > m->last_t ? ev->t_ms : m->last_t;
  m->last_t = t;
  return av_action_kind(ev->action) == AV_NODE ? apply_node(m, ev, t)
                                               : apply_resource(m, ev, t);
}

void av_model_close(struct av_model *m, int64_t t) {
  for (size_t i = 0; i < m->n; i++)
    account(m, &m->s[i], t);
}

void av_model_free(struct av_model *m) {
  for (size_t i = 0; i < m->n; i++) {
    inst_remove(&m->s[i], "");
    free(m->s[i].inst);
    free((char *)m->s[i].fig.name);
  }
  free(m->s);
  free(m->losses);
  *m = (struct av_model){0};
}

/* ---- report ------------------------------------------------------------- */

struct av_report {
  struct av_model m;
  av_figures_t *rows;
  size_t n;
  av_loss_t *losses; /* inside the window */
  size_t nlosses;
};

static void finish(av_figures_t *f) {
  double up = (double)f->up_ms / 1000, rep = (double)f->repair_ms / 1000;
  f->mttf_s = f->failures ? up / f->failures : NAN;
  f->mttr_s = f->failures ? rep / f->failures : NAN;
  f->availability = up + rep > 0 ? up / (up + rep) : NAN;
}

/* An event's place: by time, then by its index (a stable order). */
struct place {
  int64_t t;
  size_t i;
};

static int by_place(const void *a, const void *b) {
  const struct place *x = a, *y = b;
  return x->t != y->t ? (x->t > y->t) - (x->t < y->t)
                      : (x->i > y->i) - (x->i < y->i);
}

int av_report_new(const av_event_t *events, size_t n, int64_t since_ms,
                  int64_t now_ms, av_report_t **ret) {
  if (since_ms > now_ms)
    return -EINVAL;
  av_report_t *r = calloc(1, sizeof(*r));
  if (!r)
    return -ENOMEM;
  r->m = (struct av_model){.lo = since_ms, .hi = now_ms, .last_t = INT64_MIN};
  /* In time order: a change the CIB dates may be recorded after an alert
   * that came later (the pass that saw it came after the alert); equal
   * times keep the journal's order. */
  struct place *order = malloc((n + 1) * sizeof(*order));
  if (!order) {
    free(r);
    return -ENOMEM;
  }
  for (size_t i = 0; i < n; i++)
    order[i] = (struct place){.t = events[i].t_ms, .i = i};
  qsort(order, n, sizeof(*order), by_place);
  int err = 0;
  for (size_t i = 0; i < n && err >= 0; i++)
    if (order[i].t <= now_ms)
      err = av_model_apply(&r->m, &events[order[i].i]);
  free(order);
  if (err >= 0 && (!(r->rows = calloc(r->m.n + 1, sizeof(*r->rows))) ||
                   !(r->losses = calloc(r->m.nlosses + 1, sizeof(*r->losses)))))
    err = -ENOMEM;
  if (err < 0) {
    av_report_free(r);
    return err;
  }
  av_model_close(&r->m, now_ms);
  for (av_kind_t k = AV_NODE; k <= AV_RESOURCE; k++)
    for (size_t i = 0; i < r->m.n; i++)
      if (r->m.s[i].fig.kind == k) {
        r->rows[r->n] = r->m.s[i].fig;
        finish(&r->rows[r->n++]);
      }
  for (size_t i = 0; i < r->m.nlosses; i++)
    if (r->m.losses[i].loss.t_ms >= since_ms)
      r->losses[r->nlosses++] = r->m.losses[i].loss;
  *ret = r;
  return 0;
}

void av_report_free(av_report_t *r) {
  if (!r)
    return;
  av_model_free(&r->m);
  free(r->rows);
  free(r->losses);
  free(r);
}

size_t av_report_count(const av_report_t *r) { return r->n; }

size_t av_report_losses(const av_report_t *r, const av_loss_t **ret) {
  *ret = r->losses;
  return r->nlosses;
}

const av_figures_t *av_report_get(const av_report_t *r, size_t i) {
  return i < r->n ? &r->rows[i] : NULL;
}

const av_figures_t *av_report_find(const av_report_t *r, av_kind_t kind,
                                   const char *name) {
  for (size_t i = 0; i < r->n; i++)
    if (r->rows[i].kind == kind && strcmp(r->rows[i].name, name) == 0)
      return &r->rows[i];
  return NULL;
}

/* ---- durations and the table ------------------------------------------- */

int av_parse_duration(const char *s, int64_t *ret_ms) {
  static const struct {
    char unit;
    int64_t ms;
  } units[] = {{'s', 1000}, {'m', 60000}, {'h', AV_HOUR_MS}, {'d', AV_DAY_MS}};
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno || end == s || v <= 0 || end[0] == '\0' || end[1] != '\0' ||
      !(*s >= '0' && *s <= '9'))
    return -EINVAL;
  for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
    if (*end == units[i].unit) {
      if (v > INT64_MAX / units[i].ms)
        return -EINVAL;
      *ret_ms = v * units[i].ms;
      return 0;
    }
  return -EINVAL;
}

/* A duration in seconds for the table, two units at most; "-" for NaN. */
static void fmt_dur(char *buf, size_t len, double s) {
  if (isnan(s)) {
    snprintf(buf, len, "-");
    return;
  }
  long long t = (long long)(s + 0.5);
  if (s < 60)
    snprintf(buf, len, "%.1fs", s);
  else if (t < 3600)
    snprintf(buf, len, "%lldm%02llds", t / 60, t % 60);
  else if (t < 86400)
    snprintf(buf, len, "%lldh%02lldm", t / 3600, t % 3600 / 60);
  else
    snprintf(buf, len, "%lldd%02lldh", t / 86400, t % 86400 / 3600);
}

/* Milliseconds as seconds with one decimal; "-" for -1 (still open). */
static void secs_str(char *buf, size_t len, int64_t ms) {
  if (ms < 0)
    snprintf(buf, len, "-");
  else
    snprintf(buf, len, "%.1f", (double)ms / 1000);
}

int av_report_format(const av_report_t *r, pm_buf_t *out) {
  pm_buf_printf(out, "%-8s %-24s %-9s %8s %10s %10s %9s\n", "KIND", "NAME",
                "STATE", "FAILURES", "MTTF", "MTTR", "AVAIL%");
  for (size_t i = 0; i < r->n; i++) {
    const av_figures_t *f = &r->rows[i];
    char mttf[32], mttr[32], avail[32];
    fmt_dur(mttf, sizeof(mttf), f->mttf_s);
    fmt_dur(mttr, sizeof(mttr), f->mttr_s);
    if (isnan(f->availability))
      snprintf(avail, sizeof(avail), "-");
    else
      snprintf(avail, sizeof(avail), "%.3f", 100 * f->availability);
    pm_buf_printf(out, "%-8s %-24s %-9s %8u %10s %10s %9s\n",
                  f->kind == AV_NODE ? "node" : "resource", f->name,
                  av_state_name(f->state), f->failures, mttf, mttr, avail);
  }
  if (r->nlosses)
    pm_buf_printf(out, "\n%-24s %-23s %-6s %9s %11s %6s\n", "NODE LOST",
                  "AT (UTC)", "FENCED", "OUTAGE(s)", "RECOVERY(s)", "FAILED");
  for (size_t i = 0; i < r->nlosses; i++) {
    const av_loss_t *l = &r->losses[i];
    char at[32], outage[32], recovery[32];
    time_t secs = (time_t)(l->t_ms / 1000);
    struct tm tm;
    if (!gmtime_r(&secs, &tm) ||
        !strftime(at, sizeof(at), "%Y-%m-%d %H:%M:%S", &tm))
      snprintf(at, sizeof(at), "?");
    secs_str(outage, sizeof(outage), l->outage_ms);
    secs_str(recovery, sizeof(recovery), l->recovery_ms);
    pm_buf_printf(out, "%-24s %s.%03d %-6s %9s %11s %6u\n", l->node, at,
                  (int)(l->t_ms % 1000), l->fenced ? "yes" : "no", outage,
                  recovery, l->failed);
  }
  return out->err ? -ENOMEM : 0;
}
