/* gmond.c: value lists as gmond metrics. The class table (classes.c) names
 * each metric and says how its value comes from a data source; this file
 * applies it, keeping what rates need between reads. */
#include "config.h"

#include "reading.h"

#include "pm_map.h"
#include "pm_vec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The node's own values, named as gmond's cpu and load modules name theirs,
 * so a forecast of them sits next to the measured metric. */
static const struct pat_gmond_desc node_metrics[] = {
    {"load_one", "load", "load", NULL, 0, PAT_GM_GAUGE, 0, " "},
    {"load_five", "load", "load", NULL, 1, PAT_GM_GAUGE, 0, " "},
    {"load_fifteen", "load", "load", NULL, 2, PAT_GM_GAUGE, 0, " "},
    {"cpu_user", "cpu", "percent", "user", 0, PAT_GM_GAUGE, 0, "%"},
    {"cpu_nice", "cpu", "percent", "nice", 0, PAT_GM_GAUGE, 0, "%"},
    {"cpu_system", "cpu", "percent", "system", 0, PAT_GM_GAUGE, 0, "%"},
    {"cpu_idle", "cpu", "percent", "idle", 0, PAT_GM_GAUGE, 0, "%"},
    {"cpu_wio", "cpu", "percent", "wait", 0, PAT_GM_GAUGE, 0, "%"},
    {"cpu_intr", "cpu", "percent", "interrupt", 0, PAT_GM_GAUGE, 0, "%"},
    {"cpu_sintr", "cpu", "percent", "softirq", 0, PAT_GM_GAUGE, 0, "%"},
    {"cpu_steal", "cpu", "percent", "steal", 0, PAT_GM_GAUGE, 0, "%"},
    {NULL, NULL, NULL, NULL, 0, PAT_GM_GAUGE, 0, NULL}};

/* One metric made so far. */
struct gstate {
  char *name;
  char *instance; /* NULL for node metrics (never retired) */
  pat_class_t cls;
  bool primed;    /* a counter's previous value is known */
  bool announced; /* a value was marked announce, at announced_t */
  bool clashed;   /* another entry's metric had this name (counted) */
  int64_t prev;
  double prev_t, announced_t;
};

struct rd_gmond {
  pm_map_t states; /* metric name -> struct gstate */
  unsigned primed;
  unsigned announce_every;
  unsigned clashes;                     /* new clashes since taken */
  char clash[PAT_GMETRIC_NAME_MAX * 3]; /* the first of them */
};

static void gstate_free(void *p) {
  struct gstate *s = p;
  if (!s)
    return;
  free(s->name);
  free(s->instance);
  free(s);
}

int rd_gmond_new(unsigned announce_every, rd_gmond_t **ret) {
  rd_gmond_t *g = calloc(1, sizeof(*g));
  if (!g)
    return -ENOMEM;
  g->announce_every = announce_every ? announce_every : 1;
  *ret = g;
  return 0;
}

void rd_gmond_free(rd_gmond_t *g) {
  if (!g)
    return;
  pm_map_free(&g->states, gstate_free);
  free(g);
}

size_t rd_gmond_count(const rd_gmond_t *g) { return g->states.n; }

unsigned rd_gmond_take_primed(rd_gmond_t *g) {
  unsigned n = g->primed;
  g->primed = 0;
  return n;
}

/* The state of name, made when new. */
static struct gstate *lookup(rd_gmond_t *g, const char *name,
                             const pat_entry_t *en) {
  struct gstate *s = pm_map_get(&g->states, name);
  if (s)
    return s;
  struct gstate *n = calloc(1, sizeof(*n));
  if (!n || !(n->name = strdup(name)) ||
      (en && !(n->instance = strdup(en->instance)))) {
    gstate_free(n);
    return NULL;
  }
  n->cls = en ? en->cls : PAT_NCLASSES;
  if (pm_map_set(&g->states, name, n) < 0) {
    gstate_free(n);
    return NULL;
  }
  return n;
}

static bool same(const char *a, const char *b) {
  return strcmp(a ? a : "", b ? b : "") == 0;
}

static bool describes(const struct pat_gmond_desc *m, const char *plugin,
                      const rd_value_t *v) {
  return m->ds < v->nvalues && strcmp(m->type, v->type) == 0 &&
         same(m->tinst, v->type_instance) &&
         strcmp(m->plugin ? m->plugin : plugin, v->plugin) == 0;
}

/* Two entries' metrics with one name (`rsc_a_vol_reads` is resource a's
 * volume and resource a_vol's reads; `:` and `_` both give `_`): the
 * entry that made it first keeps it, the other's is not sent. Counted once
 * per name until it is retired. */
static bool held_by_other(const struct gstate *s, const pat_entry_t *en) {
  return en && (!s->instance || s->cls != en->cls ||
                strcmp(s->instance, en->instance) != 0);
}

static void describe_holder(const struct gstate *s, char *buf, size_t len) {
  snprintf(buf, len, "%s%s%s",
           s->instance ? pat_class_name(s->cls) : "the node",
           s->instance ? " " : "", s->instance ? s->instance : "");
}

static void clash(rd_gmond_t *g, struct gstate *s, const pat_entry_t *en,
                  const char *name) {
  if (s->clashed)
    return;
  s->clashed = true;
  if (g->clashes++ == 0) {
    char holder[PAT_GMETRIC_NAME_MAX];
    describe_holder(s, holder, sizeof(holder));
    snprintf(g->clash, sizeof(g->clash), "%s of %s %s is %s's already", name,
             pat_class_name(en->cls), en->instance, holder);
  }
}

unsigned rd_gmond_take_clashes(rd_gmond_t *g, char *first, size_t len) {
  unsigned n = g->clashes;
  if (n && len)
    snprintf(first, len, "%s", g->clash);
  g->clashes = 0;
  return n;
}

/* The value of metric m from v, or false when it only primed a counter. */
static bool value_of(rd_gmond_t *g, struct gstate *s,
                     const struct pat_gmond_desc *m, const rd_value_t *v,
                     double now, double interval, double *ret) {
  if (m->conv == PAT_GM_GAUGE || !v->derive) {
    *ret = v->derive ? (double)v->counter[m->ds] : v->gauge[m->ds];
    return true;
  }
  int64_t cur = v->counter[m->ds];
  bool ok = s->primed && cur >= s->prev && now > s->prev_t;
  if (ok)
    *ret = m->conv == PAT_GM_RATE
               ? (double)(cur - s->prev) / (now - s->prev_t)
               : (double)(cur - s->prev) / (interval > 0 ? interval : 1);
  else
    g->primed++;
  s->primed = true;
  s->prev = cur;
  s->prev_t = now;
  return ok;
}

int rd_gmond_convert(rd_gmond_t *g, const rd_value_t *v, double now,
                     double interval, rd_gmetric_fn fn, void *ud) {
  const pat_entry_t *en = v->entry;
  const struct pat_class_desc *d = en ? pat_class_desc(en->cls) : NULL;
  if (en && !d)
    return 0;
  if (en && en->interval > 0)
    interval = en->interval;
  char name[PAT_GMETRIC_NAME_MAX + 1];
  int count = 0;
  for (unsigned gi = 0; d ? d->groups[gi].name != NULL : gi == 0; gi++) {
    const struct pat_gmond_desc *list = d ? d->groups[gi].gmond : node_metrics;
    for (const struct pat_gmond_desc *m = list; m->suffix; m++) {
      if (!describes(m, d ? d->plugin : m->plugin, v))
        continue;
      pat_gmond_name(en, m->suffix, name, sizeof(name));
      struct gstate *s = lookup(g, name, en);
      if (!s)
        return -ENOMEM;
      if (held_by_other(s, en)) {
        clash(g, s, en, name);
        continue;
      }
      double x;
      if (!value_of(g, s, m, v, now, interval, &x))
        continue;
      rd_gmetric_t gm = {.name = name,
                         .suffix = m->suffix,
                         .value = x * (m->scale != 0 ? m->scale : 1),
                         .units = m->units,
                         .group = d ? d->gmond_group : m->plugin,
                         .entry = en,
                         .interval = (int)(interval + 0.5)};
      /* 5% slack: reads due every interval come a little early or late. */
      gm.announce = !s->announced || now - s->announced_t >=
                                         (g->announce_every - 0.05) * interval;
      if (gm.announce) {
        s->announced = true;
        s->announced_t = now;
      }
      int r = fn(&gm, ud);
      if (r < 0)
        return r;
      count++;
    }
  }
  return count;
}

/* ---- retiring metrics of entries that went away ---- */

/* "class/instance": the key of an entry among those that stay. */
static void entry_key(char *buf, size_t len, pat_class_t cls,
                      const char *instance) {
  snprintf(buf, len, "%u/%s", (unsigned)cls, instance);
}

int rd_gmond_retire(rd_gmond_t *g, const pat_entries_t *e, pat_gname_fn fn,
                    void *ud) {
  pm_map_t stay = {0};
  PM_VEC(struct gstate *) gone = {0};
  char key[PAT_NAME_MAX + 16];
  int r = 0;
  for (size_t i = 0; r >= 0 && e && i < pat_entries_count(e); i++) {
    const pat_entry_t *en = pat_entries_at(e, i);
    entry_key(key, sizeof(key), en->cls, en->instance);
    r = pm_map_set(&stay, key, NULL);
  }
  size_t it = 0;
  struct gstate *s;
  while (r >= 0 && pm_map_next(&g->states, &it, NULL, (void **)&s)) {
    if (!s->instance)
      continue; /* node metrics belong to no entry */
    entry_key(key, sizeof(key), s->cls, s->instance);
    if (pm_map_has(&stay, key))
      continue;
    struct gstate **slot = pm_vec_push(&gone);
    if (slot)
      *slot = s;
    else
      r = -ENOMEM;
  }
  for (size_t i = 0; r >= 0 && i < gone.n; i++) {
    s = gone.v[i];
    pm_map_del(&g->states, s->name);
    if (fn)
      fn(s->name, ud);
    gstate_free(s);
  }
  int n = r < 0 ? r : (int)gone.n;
  pm_vec_free(&gone);
  pm_map_free(&stay, NULL);
  return n;
}
