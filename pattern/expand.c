/* expand.c: patterns x inventory -> entries.
 *
 * Each object walks the patterns of its class in file order and goes to the
 * first one whose match conditions all hold and whose exclude conditions
 * all fail. Processes with the same instance name under one pattern form
 * one entry. Instance names are unique per collectd plugin: on a clash the
 * first entry (file order, then name order) keeps the name and later ones
 * get the object's own name (or, for process groups, the pattern's) added. */
#include "config.h"

#include "internal.h"

#include "pm_map.h"

#include <errno.h>
#include <locale.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NO_PATTERN UINT32_MAX

static locale_t c_locale;
static void make_c_locale(void) {
  c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

/* The C locale as a locale_t (0 when it cannot be made). */
static locale_t pat_c_locale(void) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, make_c_locale);
  return c_locale;
}
#define EXPLAIN_VALUE_MAX 60

/* Where a resource agent keeps its data volume. */
static const struct {
  const char *agent;
  const char *device, *dir, *vg;
} volume_params[] = {
    {"ocf:heartbeat:Filesystem", "PARAM{device}", "PARAM{directory}", NULL},
    {"ocf:heartbeat:LVM-activate", NULL, NULL, "PARAM{vgname}"},
    {"ocf:heartbeat:LVM", NULL, NULL, "PARAM{volgrpname}"},
};

struct capture {
  const char *s;
  size_t len;
};

/* Per-pattern key ids, resolved against this inventory. */
struct pat_keys {
  uint32_t *match, *exclude, *segs;
};

/* One matched object before grouping and renames. */
struct raw {
  uint32_t pattern;
  uint32_t obj;
  char *instance;
  const char **from_k, **from_v;
  size_t nfrom;
};

struct ctx {
  const pat_set_t *set;
  const pat_inventory_t *const *invs; /* by class */
  struct pat_keys *keys;
  pcre2_match_data *md;
  struct capture caps[PAT_MAX_CAPTURES + 1];
  PM_VEC(struct raw) raws;
  pat_entries_t *out;
  pm_buf_t *explain;
  pm_buf_t obj_lines;
  pcre2_match_context *mctx; /* PCRE2's limits */
  /* the last condition that could not be evaluated, for --explain */
  const struct pat_cond *gave_up;
  char gave_up_why[120];
};

static uint32_t *resolve(const pat_inventory_t *inv, const struct pat_cond *c,
                         size_t n) {
  uint32_t *ids = calloc(n ? n : 1, sizeof(*ids));
  for (size_t i = 0; ids && i < n; i++)
    ids[i] = inv ? pat_inv_key(inv, c[i].key) : PAT_NO_KEY;
  return ids;
}

static int resolve_keys(struct ctx *x) {
  x->keys = calloc(x->set->npats ? x->set->npats : 1, sizeof(*x->keys));
  if (!x->keys)
    return -ENOMEM;
  for (size_t i = 0; i < x->set->npats; i++) {
    const struct pat_pattern *p = &x->set->pats[i];
    const pat_inventory_t *inv = x->invs[p->cls];
    struct pat_keys *k = &x->keys[i];
    k->match = resolve(inv, p->match, p->nmatch);
    k->exclude = resolve(inv, p->exclude, p->nexclude);
    k->segs = calloc(p->tmpl.segs.n ? p->tmpl.segs.n : 1, sizeof(*k->segs));
    if (!k->match || !k->exclude || !k->segs)
      return -ENOMEM;
    for (size_t s = 0; s < p->tmpl.segs.n; s++)
      k->segs[s] = p->tmpl.segs.v[s].kind == PAT_SEG_KEY && inv
                       ? pat_inv_key(inv, p->tmpl.segs.v[s].text)
                       : PAT_NO_KEY;
  }
  return 0;
}

static const char *value_at(const struct pat_level *lv, uint32_t key) {
  const char *v = key == PAT_NO_KEY ? NULL : pat_obj_get(lv, key);
  return v ? v : "";
}

/* The value c compares on level lv, as udev compares it: NULL when c cannot
 * hold there (an attribute that is missing or unreadable), "" for any other
 * missing value. Attribute values lose trailing white space (into buf)
 * unless c's glob ends in some. */
static const char *cond_value(const struct pat_cond *c, uint32_t key,
                              const struct pat_level *lv, char *buf,
                              size_t len) {
  const char *v = key == PAT_NO_KEY ? NULL : pat_obj_get(lv, key);
  if (!c->attr)
    return v ? v : "";
  if (!v || c->keep_ws)
    return v;
  size_t n = strlen(v), m = n;
  while (m > 0 && strchr(" \t\n\r", v[m - 1]))
    m--;
  if (m == n)
    return v;
  if (m >= len)
    m = len - 1;
  memcpy(buf, v, m);
  buf[m] = '\0';
  return buf;
}

/* A condition PCRE2 gave up on (match or depth limit): it does not hold,
 * the entries count it and keep the first one. */
static void gave_up(struct ctx *x, const struct pat_cond *c,
                    const struct pat_obj *o, int rc) {
  char why[100];
  pcre2_get_error_message(rc, (PCRE2_UCHAR *)why, sizeof(why));
  x->gave_up = c;
  snprintf(x->gave_up_why, sizeof(x->gave_up_why), "%s", why);
  if (x->out->match_errors++ == 0)
    pm_error_set(&x->out->match_err, c->file, c->line, c->text,
                 "regex gave up on %s of %s %s (%s): it does not hold there",
                 c->key, pat_class_name((pat_class_t)o->cls), o->name, why);
}

/* Does c hold for this one level of o? Stores captures of a matching
 * regex. */
static bool test(struct ctx *x, const struct pat_cond *c, uint32_t key,
                 const struct pat_obj *o, const struct pat_level *lv) {
  char buf[PAT_ATTR_MAX + 1];
  const char *v = cond_value(c, key, lv, buf, sizeof(buf));
  bool m;
  if (!v)
    return false;
  if (c->kind == PAT_COND_GLOB) {
    m = pat_glob_match(c, v);
  } else {
    int rc = (c->jit ? pcre2_jit_match : pcre2_match)(
        c->re, (PCRE2_SPTR)v, strlen(v), 0, 0, x->md, x->mctx);
    if (rc < 0 && rc != PCRE2_ERROR_NOMATCH) {
      gave_up(x, c, o, rc);
      return false;
    }
    m = rc >= 0;
    if (m && c->ncaptures) {
      PCRE2_SIZE *ov = pcre2_get_ovector_pointer(x->md);
      uint32_t pairs = pcre2_get_ovector_count(x->md);
      for (unsigned g = 1; g <= c->ncaptures && g < pairs; g++) {
        unsigned slot = c->capture_base + g;
        if (slot > PAT_MAX_CAPTURES)
          break;
        if (ov[2 * g] == PCRE2_UNSET)
          x->caps[slot] = (struct capture){"", 0};
        else
          x->caps[slot] =
              (struct capture){v + ov[2 * g], ov[2 * g + 1] - ov[2 * g]};
      }
    }
  }
  return m != c->negate;
}

/* ATTRS holds when it holds on some level: the device or a parent that has
 * the attribute (with != too: udev never matches a missing attribute). */
static bool holds(struct ctx *x, const struct pat_cond *c, uint32_t key,
                  const struct pat_obj *o) {
  if (!c->any_level)
    return test(x, c, key, o, &o->self);
  for (uint32_t l = 0; l <= o->nparents; l++)
    if (test(x, c, key, o, l == 0 ? &o->self : &o->parents[l - 1]))
      return true;
  return false;
}

/* As in udev rules, the ATTRS conditions of `match` (== and !=) must all
 * hold on one and the same device (the object or one parent). */
static bool attrs_together(struct ctx *x, const struct pat_pattern *p,
                           const uint32_t *keys, const struct pat_obj *o) {
  for (uint32_t l = 0; l <= o->nparents; l++) {
    const struct pat_level *lv = l == 0 ? &o->self : &o->parents[l - 1];
    bool all = true;
    for (size_t i = 0; all && i < p->nmatch; i++)
      if (p->match[i].any_level)
        all = test(x, &p->match[i], keys[i], o, lv);
    if (all)
      return true;
  }
  return false;
}

/* Index of the first failing match condition, or -1 when all hold. */
static long first_failing(struct ctx *x, size_t pi, const struct pat_obj *o) {
  const struct pat_pattern *p = &x->set->pats[pi];
  const uint32_t *keys = x->keys[pi].match;
  bool attrs_done = false;
  for (size_t i = 0; i < p->nmatch; i++) {
    const struct pat_cond *c = &p->match[i];
    if (c->any_level) {
      if (attrs_done)
        continue;
      attrs_done = true;
      if (!attrs_together(x, p, keys, o))
        return (long)i;
      continue;
    }
    if (!holds(x, c, keys[i], o))
      return (long)i;
  }
  return -1;
}

static long first_exclude(struct ctx *x, size_t pi, const struct pat_obj *o) {
  const struct pat_pattern *p = &x->set->pats[pi];
  for (size_t i = 0; i < p->nexclude; i++)
    if (holds(x, &p->exclude[i], x->keys[pi].exclude[i], o))
      return (long)i;
  return -1;
}

/* ---- explain ---- */

static void put_value(pm_buf_t *b, const char *v) {
  size_t n = strlen(v);
  pm_buf_putc(b, '"');
  for (size_t i = 0; i < n && i < EXPLAIN_VALUE_MAX; i++)
    pm_buf_putc(b, (unsigned char)v[i] < 0x20 ? '?' : v[i]);
  pm_buf_puts(b, n > EXPLAIN_VALUE_MAX ? "...\"" : "\"");
}

/* "COND (KEY="value")"; for ATTRS the value on each level that has it. */
static void explain_cond(pm_buf_t *b, const struct pat_cond *c, uint32_t key,
                         const struct pat_obj *o) {
  pm_buf_printf(b, "%s (", c->text);
  if (!c->any_level) {
    if (c->attr && (key == PAT_NO_KEY || !pat_obj_get(&o->self, key))) {
      pm_buf_printf(b, "%s missing)", c->key);
      return;
    }
    pm_buf_printf(b, "%s=", c->key);
    put_value(b, value_at(&o->self, key));
    pm_buf_putc(b, ')');
    return;
  }
  unsigned shown = 0;
  for (uint32_t l = 0; l <= o->nparents; l++) {
    const struct pat_level *lv = l == 0 ? &o->self : &o->parents[l - 1];
    const char *v = key == PAT_NO_KEY ? NULL : pat_obj_get(lv, key);
    if (!v)
      continue;
    pm_buf_puts(b, shown++ ? "; " : "");
    if (l == 0)
      pm_buf_printf(b, "ATTRS%s=", c->key + 4);
    else
      pm_buf_printf(b, "parent %u: ATTRS%s=", l, c->key + 4);
    put_value(b, v);
  }
  if (!shown)
    pm_buf_printf(b, "ATTRS%s missing on the device and its %u parent%s",
                  c->key + 4, o->nparents, o->nparents == 1 ? "" : "s");
  pm_buf_putc(b, ')');
}

static void explain_pattern(struct ctx *x, size_t pi, const struct pat_obj *o,
                            long failed, long excluded, uint32_t taken) {
  pm_buf_t *b = &x->obj_lines;
  const struct pat_pattern *p = &x->set->pats[pi];
  pm_buf_printf(b, "  %s: ", p->name);
  if (failed >= 0) {
    explain_cond(b, &p->match[failed], x->keys[pi].match[failed], o);
    if (x->gave_up == &p->match[failed])
      pm_buf_printf(b, " gave up: %s\n", x->gave_up_why);
    else
      pm_buf_puts(b, " does not hold\n");
  } else if (excluded >= 0) {
    pm_buf_puts(b, "excluded by ");
    explain_cond(b, &p->exclude[excluded], x->keys[pi].exclude[excluded], o);
    pm_buf_putc(b, '\n');
  } else if (taken != pi) {
    pm_buf_printf(b, "matches too, but \"%s\" comes first\n",
                  x->set->pats[taken].name);
  } else {
    pm_buf_puts(b, p->nmatch ? "matched: " : "matched (no conditions)");
    for (size_t i = 0; i < p->nmatch; i++) {
      pm_buf_puts(b, i ? "; " : "");
      explain_cond(b, &p->match[i], x->keys[pi].match[i], o);
    }
    pm_buf_putc(b, '\n');
  }
}

/* ---- names ---- */

static int add_from(struct ctx *x, struct raw *r, const char *k, const char *v,
                    size_t vlen) {
  const char **nk =
      pat_arena_alloc(&x->out->arena, (r->nfrom + 1) * sizeof(*nk));
  const char **nv =
      pat_arena_alloc(&x->out->arena, (r->nfrom + 1) * sizeof(*nv));
  const char *kc = pat_arena_strdup(&x->out->arena, k);
  const char *vc = pat_arena_strndup(&x->out->arena, v, vlen);
  if (!nk || !nv || !kc || !vc)
    return -ENOMEM;
  if (r->nfrom) {
    memcpy(nk, r->from_k, r->nfrom * sizeof(*nk));
    memcpy(nv, r->from_v, r->nfrom * sizeof(*nv));
  }
  nk[r->nfrom] = kc;
  nv[r->nfrom] = vc;
  r->from_k = nk;
  r->from_v = nv;
  r->nfrom++;
  return 0;
}

/* Renders p's name for o into r->instance (and r->from). A template value
 * that is missing or empty makes the whole name fall back to %k. */
static int render(struct ctx *x, size_t pi, const struct pat_obj *o,
                  struct raw *r) {
  const struct pat_pattern *p = &x->set->pats[pi];
  pm_buf_t name = {0};
  bool missing = false;
  int rc = 0;
  for (size_t s = 0; p->has_tmpl && !missing && s < p->tmpl.segs.n; s++) {
    const struct pat_seg *seg = &p->tmpl.segs.v[s];
    const char *v = NULL;
    size_t vl = 0;
    char key[8];
    switch (seg->kind) {
    case PAT_SEG_LIT:
      pm_buf_puts(&name, seg->text);
      continue;
    case PAT_SEG_KERNEL:
      v = o->name, vl = strlen(v);
      rc = add_from(x, r, "%k", v, vl);
      break;
    case PAT_SEG_CAPTURE:
      v = x->caps[seg->capture].s, vl = x->caps[seg->capture].len;
      snprintf(key, sizeof(key), "%%%u", seg->capture);
      rc = v ? add_from(x, r, key, v, vl) : 0;
      break;
    case PAT_SEG_KEY:
      v = value_at(&o->self, x->keys[pi].segs[s]), vl = strlen(v);
      rc = add_from(x, r, seg->text, v, vl);
      break;
    }
    if (rc < 0)
      break;
    if (!v || vl == 0)
      missing = true;
    else
      pm_buf_append(&name, v, vl);
  }
  char clean[PAT_NAME_MAX + 1];
  if (rc == 0 && (!p->has_tmpl || missing)) {
    r->nfrom = 0;
    rc = add_from(x, r, "%k", o->name, strlen(o->name));
    pat_sanitize(o->name, clean, sizeof(clean));
  } else if (rc == 0) {
    pat_sanitize(name.data ? name.data : "", clean, sizeof(clean));
  }
  pm_buf_free(&name);
  if (rc < 0)
    return rc;
  r->instance = pat_arena_strdup(&x->out->arena, clean);
  return r->instance ? 0 : -ENOMEM;
}

/* The inventory holding the objects of pattern pi's class. */
static const pat_inventory_t *inv_of(const struct ctx *x, uint32_t pi) {
  return x->invs[x->set->pats[pi].cls];
}

static int add_raw(struct ctx *x, uint32_t pi, uint32_t oi) {
  if (pm_vec_reserve(&x->raws, 1) < 0)
    return -ENOMEM;
  struct raw *r = &x->raws.v[x->raws.n];
  *r = (struct raw){.pattern = pi, .obj = oi};
  int rc = render(x, pi, &inv_of(x, pi)->objs.v[oi], r);
  if (rc == 0)
    x->raws.n++;
  return rc;
}

/* ---- the walk ---- */

static int expand_object(struct ctx *x, const pat_inventory_t *inv,
                         const uint32_t *pats, size_t npats, uint32_t oi) {
  const struct pat_obj *o = &inv->objs.v[oi];
  uint32_t taken = NO_PATTERN;
  int rc = 0;
  for (size_t k = 0; rc == 0 && k < npats; k++) {
    uint32_t pi = pats[k];
    memset(x->caps, 0, sizeof(x->caps));
    x->gave_up = NULL;
    long failed = first_failing(x, pi, o);
    long excluded = failed < 0 ? first_exclude(x, pi, o) : -1;
    if (failed < 0 && excluded < 0 && taken == NO_PATTERN) {
      taken = pi;
      rc = add_raw(x, pi, oi);
    }
    if (x->explain)
      explain_pattern(x, pi, o, failed, excluded, taken);
    else if (taken != NO_PATTERN)
      break;
  }
  if (x->explain && rc == 0) {
    pm_buf_printf(x->explain,
                  "%s %s (%s): ", pat_class_name((pat_class_t)o->cls), o->name,
                  o->object);
    if (taken == NO_PATTERN)
      pm_buf_puts(x->explain, "no pattern\n");
    else
      pm_buf_printf(x->explain, "pattern \"%s\", instance \"%s\"\n",
                    x->set->pats[taken].name,
                    x->raws.v[x->raws.n - 1].instance);
    pm_buf_append(x->explain, x->obj_lines.data, x->obj_lines.len);
    pm_buf_reset(&x->obj_lines);
  }
  return rc;
}

static int walk(struct ctx *x) {
  uint32_t *pats = malloc((x->set->npats ? x->set->npats : 1) * sizeof(*pats));
  int rc = 0;
  if (!pats)
    return -ENOMEM;
  for (unsigned c = 0; rc == 0 && c < PAT_NCLASSES; c++) {
    size_t n = 0;
    for (size_t i = 0; i < x->set->npats; i++)
      if (x->set->pats[i].cls == c)
        pats[n++] = (uint32_t)i;
    if (n == 0)
      continue;
    const pat_inventory_t *inv = x->invs[c];
    size_t from = inv ? inv->cls_start[c] : 0,
           to = inv ? inv->cls_start[c + 1] : 0;
    if (x->explain) {
      const char *note = inv ? inv->notes[c] : NULL;
      if (!inv || !(inv->scanned & 1u << c))
        pm_buf_printf(x->explain, "%s: not listed in this inventory\n",
                      pat_class_name((pat_class_t)c));
      else if (from == to || note)
        pm_buf_printf(x->explain, "%s: %zu object%s%s%s\n",
                      pat_class_name((pat_class_t)c), to - from,
                      to - from == 1 ? "" : "s", note ? "; " : "",
                      note ? note : "");
    }
    for (size_t oi = from; rc == 0 && oi < to; oi++)
      rc = expand_object(x, inv, pats, n, (uint32_t)oi);
  }
  free(pats);
  return rc;
}

/* ---- entries ---- */

static int cmp_group(const void *a, const void *b, void *arg) {
  const struct raw *x = a, *y = b;
  const pat_inventory_t *inv = inv_of(arg, x->pattern);
  if (x->pattern != y->pattern)
    return x->pattern < y->pattern ? -1 : 1;
  int c = strcmp(x->instance, y->instance);
  if (c)
    return c;
  return inv->objs.v[x->obj].pid < inv->objs.v[y->obj].pid ? -1 : 1;
}

static int new_entry(struct ctx *x, struct pat_entry_rec **ret) {
  pat_entries_t *e = x->out;
  struct pat_entry_rec *r =
      pm_vec_grow(e->recs, &e->cap, e->n + 1, sizeof(*e->recs));
  if (!r)
    return -ENOMEM;
  e->recs = r;
  *ret = &e->recs[e->n++];
  **ret = (struct pat_entry_rec){0};
  return 0;
}

static const char *obj_prop(const pat_inventory_t *inv, const struct pat_obj *o,
                            const char *key) {
  uint32_t k = pat_inv_key(inv, key);
  return k == PAT_NO_KEY ? NULL : pat_obj_get(&o->self, k);
}

static int fill_entry(struct ctx *x, struct pat_entry_rec *rec,
                      const struct raw *r, size_t nmembers) {
  struct pat_arena *a = &x->out->arena;
  const struct pat_pattern *p = &x->set->pats[r->pattern];
  const pat_inventory_t *inv = inv_of(x, r->pattern);
  const struct pat_obj *o = &inv->objs.v[r->obj];
  pat_entry_t *e = &rec->pub;
  e->cls = p->cls;
  e->instance = r->instance;
  /* The entries outlive the set (a reload frees it while readers still
   * hold these entries): the name is copied. */
  e->pattern = pat_arena_strdup(a, p->name);
  if (!e->pattern)
    return -ENOMEM;
  e->pattern_index = r->pattern;
  e->kernel = pat_arena_strdup(a, o->name);
  e->metrics = p->metrics;
  e->interval = p->interval;
  e->nfrom = r->nfrom;
  e->from_keys = r->from_k;
  e->from_values = r->from_v;
  if (!e->kernel)
    return -ENOMEM;
  if (p->cls == PAT_PROCESS) {
    int *pids = pat_arena_alloc(a, nmembers * sizeof(*pids));
    const char **cmds = pat_arena_alloc(a, nmembers * sizeof(*cmds));
    pm_buf_t ids = {0};
    if (!pids || !cmds)
      return -ENOMEM;
    for (size_t m = 0; m < nmembers; m++) {
      const struct pat_obj *mo = &inv->objs.v[r[m].obj];
      pids[m] = mo->pid;
      pm_buf_printf(&ids, "%s%d", m ? " " : "", mo->pid);
      const char *cmd = obj_prop(inv, mo, "CMDLINE");
      if (!cmd || !*cmd)
        cmd = mo->name; /* kernel threads: collectd matches the name */
      size_t k;
      for (k = 0; k < rec->ncmdlines && strcmp(cmds[k], cmd) != 0; k++)
        ;
      if (k == rec->ncmdlines &&
          !(cmds[rec->ncmdlines++] = pat_arena_strdup(a, cmd)))
        return -ENOMEM;
    }
    e->pids = pids;
    e->npids = nmembers;
    rec->cmdlines = cmds;
    e->object = pat_arena_strdup(a, ids.data ? ids.data : "");
    pm_buf_free(&ids);
    return e->object ? 0 : -ENOMEM;
  }
  e->object = pat_arena_strdup(a, o->object);
  if (!e->object)
    return -ENOMEM;
  if (p->cls == PAT_UNIT || p->cls == PAT_RESOURCE) {
    const char *cg = obj_prop(inv, o, "CGROUP");
    if (cg && !(e->cgroup = pat_arena_strdup(a, cg)))
      return -ENOMEM;
  }
  if (p->cls == PAT_RESOURCE) {
    const char *agent = obj_prop(inv, o, "AGENT");
    for (size_t i = 0;
         agent && i < sizeof(volume_params) / sizeof(volume_params[0]); i++) {
      if (strcmp(agent, volume_params[i].agent) != 0)
        continue;
      const char *dev = volume_params[i].device
                            ? obj_prop(inv, o, volume_params[i].device)
                            : NULL;
      const char *dir =
          volume_params[i].dir ? obj_prop(inv, o, volume_params[i].dir) : NULL;
      const char *vg =
          volume_params[i].vg ? obj_prop(inv, o, volume_params[i].vg) : NULL;
      if ((dev && !(e->volume_device = pat_arena_strdup(a, dev))) ||
          (dir && !(e->volume_dir = pat_arena_strdup(a, dir))) ||
          (vg && !(e->volume_vg = pat_arena_strdup(a, vg))))
        return -ENOMEM;
    }
  }
  return 0;
}

static int build_entries(struct ctx *x) {
  if (x->raws.n > 1)
    qsort_r(x->raws.v, x->raws.n, sizeof(*x->raws.v), cmp_group, x);
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < x->raws.n;) {
    size_t n = 1;
    if (x->set->pats[x->raws.v[i].pattern].cls == PAT_PROCESS)
      while (i + n < x->raws.n &&
             x->raws.v[i + n].pattern == x->raws.v[i].pattern &&
             strcmp(x->raws.v[i + n].instance, x->raws.v[i].instance) == 0)
        n++;
    struct pat_entry_rec *rec;
    rc = new_entry(x, &rec);
    if (rc == 0)
      rc = fill_entry(x, rec, &x->raws.v[i], n);
    i += n;
  }
  return rc;
}

/* ---- unique names ---- */

/* Adds "plugin/instance" to the names taken: 0 when new, 1 when taken,
 * -ENOMEM. */
static int name_add(pm_map_t *taken, const char *plugin, const char *inst) {
  char key[PAT_NAME_MAX + 64];
  snprintf(key, sizeof(key), "%s/%s", plugin, inst);
  int r = pm_map_set(taken, key, NULL);
  return r < 0 ? r : !r;
}

static int cmp_entry(const void *a, const void *b) {
  const pat_entry_t *x = &((const struct pat_entry_rec *)a)->pub;
  const pat_entry_t *y = &((const struct pat_entry_rec *)b)->pub;
  if (x->pattern_index != y->pattern_index)
    return x->pattern_index < y->pattern_index ? -1 : 1;
  int c = strverscmp(x->instance, y->instance);
  return c ? c : strverscmp(x->kernel, y->kernel);
}

static int unique_names(struct ctx *x) {
  pat_entries_t *e = x->out;
  pm_map_t taken = {0};
  int rc = 0;
  if (e->n > 1)
    qsort(e->recs, e->n, sizeof(*e->recs), cmp_entry);
  for (size_t i = 0; rc == 0 && i < e->n; i++) {
    pat_entry_t *en = &e->recs[i].pub;
    const char *plugin = pat_class_plugin(en->cls);
    rc = name_add(&taken, plugin, en->instance);
    if (rc <= 0)
      continue;
    /* The tail (-suffix, then -suffix-N) always survives: the head is
     * shortened to make room, so each N gives a new name and this ends. */
    char sfx[41], tail[64], clean[PAT_NAME_MAX + 1];
    pat_sanitize(en->cls == PAT_PROCESS ? en->pattern : en->kernel, sfx,
                 sizeof(sfx));
    for (unsigned n = 1; rc == 1; n++) {
      if (n == 1)
        snprintf(tail, sizeof(tail), "-%s", sfx);
      else
        snprintf(tail, sizeof(tail), "-%s-%u", sfx, n);
      int room = PAT_NAME_MAX - (int)strlen(tail);
      snprintf(clean, sizeof(clean), "%.*s%s", room, en->instance, tail);
      rc = name_add(&taken, plugin, clean);
    }
    if (rc == 0) {
      if (x->explain)
        pm_buf_printf(x->explain,
                      "%s %s: instance \"%s\" is taken in plugin %s; renamed "
                      "to \"%s\"\n",
                      pat_class_name(en->cls), en->kernel, en->instance, plugin,
                      clean);
      en->instance = pat_arena_strdup(&e->arena, clean);
      if (!en->instance)
        rc = -ENOMEM;
    }
  }
  pm_map_free(&taken, NULL);
  if (rc == 0 && e->n > 1)
    qsort(e->recs, e->n, sizeof(*e->recs), cmp_entry);
  return rc;
}

/* Entries per pattern; a pattern that found nothing is usually a typo or a
 * class this node does not have. */
static void explain_summary(struct ctx *x) {
  pm_buf_t *b = x->explain;
  pm_buf_printf(b, "%zu entr%s from %zu pattern%s\n", x->out->n,
                x->out->n == 1 ? "y" : "ies", x->set->npats,
                x->set->npats == 1 ? "" : "s");
  for (size_t p = 0; p < x->set->npats; p++) {
    size_t n = 0;
    for (size_t i = 0; i < x->out->n; i++)
      n += x->out->recs[i].pub.pattern_index == p;
    pm_buf_printf(b, "  %s: %zu entr%s%s\n", x->set->pats[p].name, n,
                  n == 1 ? "y" : "ies", n ? "" : " (matched nothing)");
  }
}

int pat_expand(const pat_set_t *set, const pat_inventory_t *inv,
               pm_buf_t *explain, pat_entries_t **ret) {
  const pat_inventory_t *invs[PAT_NCLASSES];
  for (unsigned c = 0; c < PAT_NCLASSES; c++)
    invs[c] = inv;
  return pat_expand_invs(set, invs, explain, ret);
}

int pat_expand_invs(const pat_set_t *set,
                    const pat_inventory_t *const invs[PAT_NCLASSES],
                    pm_buf_t *explain, pat_entries_t **ret) {
  struct ctx x = {.set = set, .invs = invs, .explain = explain};
  int rc = -ENOMEM;
  x.out = calloc(1, sizeof(*x.out));
  if (!x.out)
    goto out;
  x.out->refs = 1;
  x.md = pcre2_match_data_create(PAT_MAX_CAPTURES + 1, NULL);
  x.mctx = pcre2_match_context_create(NULL);
  if (!x.md || !x.mctx)
    goto out;
  /* A regex that backtracks catastrophically on some value gives up
   * instead of taking minutes (PCRE2's default match limit is 10^7 per
   * value); the JIT has its own bounded stack. */
  pcre2_set_match_limit(x.mctx, PAT_MATCH_LIMIT);
  pcre2_set_depth_limit(x.mctx, PAT_DEPTH_LIMIT);
  /* fnmatch(3)'s classes and ranges as udev sees them, whatever locale the
   * host set. */
  locale_t c_loc = pat_c_locale();
  locale_t old_loc = c_loc ? uselocale(c_loc) : (locale_t)0;
  rc = resolve_keys(&x);
  if (rc == 0)
    rc = walk(&x);
  if (rc == 0)
    rc = build_entries(&x);
  if (rc == 0)
    rc = unique_names(&x);
  if (rc == 0 && explain)
    explain_summary(&x);
  if (old_loc)
    uselocale(old_loc);
out:
  for (size_t i = 0; x.keys && i < set->npats; i++) {
    free(x.keys[i].match);
    free(x.keys[i].exclude);
    free(x.keys[i].segs);
  }
  free(x.keys);
  pm_vec_free(&x.raws);
  pm_buf_free(&x.obj_lines);
  pcre2_match_data_free(x.md);
  pcre2_match_context_free(x.mctx);
  if (rc < 0) {
    pat_entries_free(x.out);
    return rc;
  }
  *ret = x.out;
  return 0;
}

size_t pat_entries_count(const pat_entries_t *e) { return e ? e->n : 0; }

unsigned pat_entries_errors(const pat_entries_t *e, pm_error_t *ret) {
  if (!e)
    return 0;
  if (ret && e->match_errors)
    *ret = e->match_err;
  return e->match_errors;
}

int pat_entries_get(const pat_entries_t *e, size_t i, pat_entry_t *ret) {
  if (!e || i >= e->n)
    return -ERANGE;
  *ret = e->recs[i].pub;
  return 0;
}

const pat_entry_t *pat_entries_at(const pat_entries_t *e, size_t i) {
  return e && i < e->n ? &e->recs[i].pub : NULL;
}

pat_entries_t *pat_entries_ref(pat_entries_t *e) {
  if (e)
    __atomic_add_fetch(&e->refs, 1, __ATOMIC_RELAXED);
  return e;
}

void pat_entries_free(pat_entries_t *e) {
  if (!e || __atomic_sub_fetch(&e->refs, 1, __ATOMIC_ACQ_REL) > 0)
    return;
  pat_arena_free(&e->arena);
  free(e->recs);
  free(e);
}

static bool same_entry(const pat_entry_t *a, const pat_entry_t *b) {
  return a->cls == b->cls && strcmp(a->instance, b->instance) == 0;
}

/* Entry sets are small enough (thousands) and sorted alike that a merge
 * would save little; this stays obviously right. */
static size_t count_missing(const pat_entries_t *a, const pat_entries_t *b) {
  size_t n = 0;
  for (size_t i = 0; i < a->n; i++) {
    bool found = false;
    for (size_t j = 0; j < b->n && !found; j++)
      found = same_entry(&a->recs[i].pub, &b->recs[j].pub);
    n += !found;
  }
  return n;
}

void pat_entries_diff(const pat_entries_t *a, const pat_entries_t *b,
                      size_t *ret_gone, size_t *ret_new) {
  *ret_gone = a && b ? count_missing(a, b) : a ? a->n : 0;
  *ret_new = a && b ? count_missing(b, a) : b ? b->n : 0;
}
