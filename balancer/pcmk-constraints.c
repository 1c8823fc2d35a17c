/* pcmk-constraints.c: location and colocation constraints, with the rules
 * they carry, turned into bans, pins and resources that move together or
 * apart. */
#include "config.h"

#include "pcmk-internal.h"

#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- rules --------------------------------------------------------------- */

enum tri { T_FALSE, T_TRUE, T_UNKNOWN };

static const char *node_attr(const struct bal_pcmk_node *nd, const char *n) {
  for (size_t i = 0; i < nd->nattrs; i++)
    if (strcmp(nd->attr_name[i], n) == 0)
      return nd->attr_val[i];
  return NULL;
}

/* "2026-11-21 09:07:27Z" and the ISO 8601 forms Pacemaker writes. */
static int parse_date(const char *s, time_t *ret) {
  struct tm tm = {0};
  const char *e = strptime(s, "%Y-%m-%d %H:%M:%S", &tm);
  if (!e)
    e = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
  if (!e)
    return -EINVAL;
  if (*e == 'Z')
    e++;
  if (*e)
    return -EINVAL;
  *ret = timegm(&tm);
  return 0;
}

static enum tri eval_date(xmlNode *x, time_t now) {
  const char *op = pm_xml_attr(x, "operation");
  const char *start = pm_xml_attr(x, "start"), *end = pm_xml_attr(x, "end");
  time_t ts = 0, te = 0;
  if (!op)
    return T_UNKNOWN;
  if (strcmp(op, "lt") == 0 && end && parse_date(end, &te) == 0)
    return now < te ? T_TRUE : T_FALSE;
  if (strcmp(op, "gt") == 0 && start && parse_date(start, &ts) == 0)
    return now > ts ? T_TRUE : T_FALSE;
  if (strcmp(op, "in_range") == 0 && (start || end)) {
    if ((start && parse_date(start, &ts) < 0) ||
        (end && parse_date(end, &te) < 0))
      return T_UNKNOWN;
    return (!start || now >= ts) && (!end || now <= te) ? T_TRUE : T_FALSE;
  }
  return T_UNKNOWN;
}

static enum tri eval_expr(xmlNode *x, const struct bal_pcmk_node *nd) {
  const char *a = pm_xml_attr(x, "attribute"),
             *op = pm_xml_attr(x, "operation");
  const char *val = pm_xml_attr(x, "value"), *type = pm_xml_attr(x, "type");
  if (!a || !op || pm_xml_attr(x, "value-source"))
    return T_UNKNOWN;
  const char *have = node_attr(nd, a);
  if (strcmp(op, "defined") == 0)
    return have ? T_TRUE : T_FALSE;
  if (strcmp(op, "not_defined") == 0)
    return have ? T_FALSE : T_TRUE;
  if (!val)
    return T_UNKNOWN;
  if (!have)
    return strcmp(op, "ne") == 0 ? T_TRUE : T_FALSE;
  int cmp;
  bool numeric =
      type && (strcmp(type, "integer") == 0 || strcmp(type, "number") == 0);
  if (type && strcmp(type, "version") == 0)
    return T_UNKNOWN;
  if (numeric) {
    char *e1, *e2;
    double x1 = strtod(have, &e1), x2 = strtod(val, &e2);
    if (*e1 || *e2)
      return T_UNKNOWN;
    cmp = (x1 > x2) - (x1 < x2);
  } else {
    cmp = strcmp(have, val);
  }
  if (strcmp(op, "eq") == 0)
    return cmp == 0 ? T_TRUE : T_FALSE;
  if (strcmp(op, "ne") == 0)
    return cmp != 0 ? T_TRUE : T_FALSE;
  if (strcmp(op, "lt") == 0)
    return cmp < 0 ? T_TRUE : T_FALSE;
  if (strcmp(op, "lte") == 0)
    return cmp <= 0 ? T_TRUE : T_FALSE;
  if (strcmp(op, "gt") == 0)
    return cmp > 0 ? T_TRUE : T_FALSE;
  if (strcmp(op, "gte") == 0)
    return cmp >= 0 ? T_TRUE : T_FALSE;
  return T_UNKNOWN;
}

static enum tri eval_rule(xmlNode *rule, const struct bal_pcmk_node *nd,
                          time_t now, int depth) {
  const char *bop = pm_xml_attr(rule, "boolean-op");
  bool any = bop && strcmp(bop, "or") == 0;
  enum tri acc = any ? T_FALSE : T_TRUE;
  if (depth > 8)
    return T_UNKNOWN;
  for (xmlNode *c = rule->children; c; c = c->next) {
    enum tri t;
    if (pm_xml_is(c, "expression"))
      t = eval_expr(c, nd);
    else if (pm_xml_is(c, "date_expression"))
      t = eval_date(c, now);
    else if (pm_xml_is(c, "rule"))
      t = eval_rule(c, nd, now, depth + 1);
    else if (c->type == XML_ELEMENT_NODE)
      t = T_UNKNOWN; /* rsc_expression, op_expression, ... */
    else
      continue;
    if (any) {
      if (t == T_TRUE)
        return T_TRUE;
      if (t == T_UNKNOWN)
        acc = T_UNKNOWN;
    } else {
      if (t == T_FALSE)
        return T_FALSE;
      if (t == T_UNKNOWN)
        acc = T_UNKNOWN;
    }
  }
  return acc;
}

/* ---- constraints --------------------------------------------------------- */

/* The resources a constraint names: rsc, rsc-pattern or resource sets. */
static int targets(struct bal_pcmk *p, xmlNode *c, const char *key,
                   struct bal_ints *out) {
  const char *id = pm_xml_attr(c, key);
  if (id) {
    int k = bal_pcmk_find_rsc(p, id);
    return k >= 0 ? bal_ints_push(out, k) : 0;
  }
  const char *pat = pm_xml_attr(c, "rsc-pattern");
  if (pat && strcmp(key, "rsc") == 0) {
    regex_t re;
    if (regcomp(&re, pat, REG_EXTENDED | REG_NOSUB) != 0)
      return -EINVAL;
    int r = 0;
    for (size_t i = 0; r == 0 && i < p->nrscs; i++)
      if (regexec(&re, p->rscs[i].id, 0, NULL, 0) == 0)
        r = bal_ints_push(out, (int)i);
    regfree(&re);
    return r;
  }
  return 0;
}

static int set_members(struct bal_pcmk *p, xmlNode *c, struct bal_ints *out) {
  int r = 0;
  for (xmlNode *s = c->children; r == 0 && s; s = s->next) {
    if (!pm_xml_is(s, "resource_set"))
      continue;
    for (xmlNode *ref = s->children; r == 0 && ref; ref = ref->next) {
      const char *id =
          pm_xml_is(ref, "resource_ref") ? pm_xml_attr(ref, "id") : NULL;
      int k = id ? bal_pcmk_find_rsc(p, id) : -1;
      if (k >= 0)
        r = bal_ints_push(out, k);
    }
  }
  return r;
}

static bool role_applies(xmlNode *c, const char *key) {
  const char *role = pm_xml_attr(c, key);
  return !role || strcmp(role, "Started") == 0;
}

/* Location scores: one per (resource, node) summed; cli-prefer constraints
 * are listed for the engine instead. */
struct loc {
  int rsc, node;
  double score;
  const char *id;
};

static int add_loc(struct loc **v, size_t *n, struct loc l) {
  if (pcmk_grow((void **)v, *n, sizeof(**v)) < 0)
    return -ENOMEM;
  (*v)[(*n)++] = l;
  return 0;
}

static int add_cli(struct bal_pcmk *p, const char *id, int rsc,
                   const char *node) {
  if (pcmk_grow((void **)&p->cli, p->ncli, sizeof(*p->cli)) < 0)
    return -ENOMEM;
  struct bal_pcmk_cli *c = &p->cli[p->ncli++];
  c->rsc = strdup(p->rscs[rsc].id);
  c->node = node ? strdup(node) : NULL;
  c->id = strdup(id);
  return c->rsc && c->id && (!node || c->node) ? 0 : -ENOMEM;
}

static int location(struct bal_pcmk *p, xmlNode *c, time_t now,
                    struct loc **locs, size_t *nlocs) {
  struct bal_ints who = {0};
  int r = targets(p, c, "rsc", &who);
  if (r == 0)
    r = set_members(p, c, &who);
  const char *id = pm_xml_attr(c, "id") ? pm_xml_attr(c, "id") : "";
  bool cli_prefer = strncmp(id, "cli-prefer-", 11) == 0;
  if (r < 0 || !who.n || !role_applies(c, "role"))
    goto out;
  const char *node = pm_xml_attr(c, "node");
  double score = 0;
  if (node) {
    if (pcmk_parse_score(pm_xml_attr(c, "score"), &score) < 0) {
      for (size_t i = 0; i < who.n; i++)
        r = pcmk_fix(&p->rscs[who.v[i]],
                     "location %s has a score it cannot read", id);
      goto out;
    }
    int k = bal_pcmk_find_node(p, node);
    for (size_t i = 0; r == 0 && i < who.n; i++) {
      if (cli_prefer)
        r = add_cli(p, id, who.v[i], node);
      else if (k >= 0)
        r = add_loc(locs, nlocs, (struct loc){who.v[i], k, score, id});
    }
    goto out;
  }
  for (xmlNode *rule = c->children; r == 0 && rule; rule = rule->next) {
    if (!pm_xml_is(rule, "rule"))
      continue;
    if (pm_xml_attr(rule, "score-attribute") ||
        pcmk_parse_score(pm_xml_attr(rule, "score"), &score) < 0) {
      for (size_t i = 0; r == 0 && i < who.n; i++)
        r = pcmk_fix(&p->rscs[who.v[i]], "location %s: rule score not modelled",
                     id);
      continue;
    }
    const char *cli_node = NULL;
    for (size_t k = 0; k < p->nnodes; k++) {
      enum tri t = eval_rule(rule, &p->nodes[k], now, 0);
      if (cli_prefer && t == T_TRUE)
        cli_node = p->nodes[k].name;
      if (cli_prefer || t == T_FALSE)
        continue;
      if (t == T_UNKNOWN && score > 0) {
        /* Might pin it: do not move it. */
        for (size_t i = 0; r == 0 && i < who.n; i++)
          r = pcmk_fix(&p->rscs[who.v[i]], "location %s: rule not modelled",
                       id);
        continue;
      }
      /* True, or unknown with a negative score (assumed to apply). */
      for (size_t i = 0; r == 0 && i < who.n; i++)
        r = add_loc(locs, nlocs, (struct loc){who.v[i], (int)k, score, id});
    }
    /* An expired lifetime leaves the constraint without effect. */
    if (cli_prefer && cli_node)
      for (size_t i = 0; r == 0 && i < who.n; i++)
        r = add_cli(p, id, who.v[i], cli_node);
  }
out:
  bal_ints_free(&who);
  return r;
}

static int cmp_loc(const void *a, const void *b) {
  const struct loc *x = a, *y = b;
  if (x->rsc != y->rsc)
    return x->rsc - y->rsc;
  return x->node - y->node;
}

/* Sums the scores per (resource, node): bans and pins. */
static int apply_locations(struct bal_pcmk *p, struct loc *l, size_t n) {
  if (n > 1)
    qsort(l, n, sizeof(*l), cmp_loc);
  int r = 0;
  for (size_t i = 0; r == 0 && i < n;) {
    size_t j = i;
    double sum = 0;
    bool neg_inf = false, pos_inf = false;
    const char *pin = NULL;
    for (; j < n && l[j].rsc == l[i].rsc && l[j].node == l[i].node; j++) {
      if (l[j].score <= -SCORE_INF)
        neg_inf = true;
      else if (l[j].score >= SCORE_INF) {
        pos_inf = true;
        pin = l[j].id;
      } else
        sum += l[j].score;
    }
    if (neg_inf)
      r = bal_ints_push(&p->bans, l[i].rsc) < 0 ||
                  bal_ints_push(&p->bans, l[i].node) < 0
              ? -ENOMEM
              : 0;
    else if (pos_inf)
      r = pcmk_fix(&p->rscs[l[i].rsc], "pinned to %s by location %s",
                   p->nodes[l[i].node].name, pin);
    (void)sum;
    i = j;
  }
  return r;
}

/* A colocation with a clone: bans where the clone has (no) instance. */
static int with_clone(struct bal_pcmk *p, int rsc, int clone, bool together) {
  const struct bal_ints *in = &p->rscs[clone].instances;
  for (size_t k = 0; k < p->nnodes; k++) {
    bool has = false;
    for (size_t i = 0; i < in->n && !has; i++)
      has = in->v[i] == (int)k;
    if (has != together)
      if (bal_ints_push(&p->bans, rsc) < 0 ||
          bal_ints_push(&p->bans, (int)k) < 0)
        return -ENOMEM;
  }
  return 0;
}

static int colocation(struct bal_pcmk *p, xmlNode *c) {
  const char *id = pm_xml_attr(c, "id") ? pm_xml_attr(c, "id") : "";
  double score = 0;
  if (pcmk_parse_score(pm_xml_attr(c, "score"), &score) < 0 ||
      score <= -SCORE_INF + 1 || score >= SCORE_INF - 1)
    ; /* mandatory, or unreadable (treated as mandatory below) */
  else
    return 0; /* advisory: stickiness keeps services in place */
  if (pm_xml_attr(c, "score") &&
      pcmk_parse_score(pm_xml_attr(c, "score"), &score) < 0)
    score = SCORE_INF;
  bool together = score > 0;
  struct bal_ints set = {0};
  int r = set_members(p, c, &set);
  if (r == 0 && set.n) {
    /* Resource sets: all together when positive; negative sets are not
     * modelled, their members stay where they are. */
    for (size_t i = 0; r == 0 && i < set.n; i++) {
      if (p->rscs[set.v[i]].clone)
        continue;
      if (!together)
        r = pcmk_fix(&p->rscs[set.v[i]], "colocation set %s not modelled", id);
      else if (i > 0)
        r = bal_ints_push(&p->together, set.v[0]) < 0 ||
                    bal_ints_push(&p->together, set.v[i]) < 0
                ? -ENOMEM
                : 0;
    }
    bal_ints_free(&set);
    return r;
  }
  bal_ints_free(&set);
  if (!role_applies(c, "rsc-role") || !role_applies(c, "with-rsc-role"))
    return 0;
  const char *a = pm_xml_attr(c, "rsc"), *b = pm_xml_attr(c, "with-rsc");
  int ka = a ? bal_pcmk_find_rsc(p, a) : -1;
  int kb = b ? bal_pcmk_find_rsc(p, b) : -1;
  if (ka < 0 || kb < 0 || ka == kb)
    return 0;
  bool ca = p->rscs[ka].clone, cb = p->rscs[kb].clone;
  if (ca && cb)
    return 0;
  if (cb)
    return with_clone(p, ka, kb, together);
  if (ca)
    return with_clone(p, kb, ka, together);
  struct bal_ints *to = together ? &p->together : &p->apart;
  return bal_ints_push(to, ka) < 0 || bal_ints_push(to, kb) < 0 ? -ENOMEM : 0;
}

int pcmk_parse_constraints(struct bal_pcmk *p, xmlNode *cib, time_t now) {
  xmlNode *cons = pcmk_child(pcmk_child(cib, "configuration"), "constraints");
  struct loc *locs = NULL;
  size_t nlocs = 0;
  int r = 0;
  for (xmlNode *c = cons ? cons->children : NULL; r == 0 && c; c = c->next) {
    if (pm_xml_is(c, "rsc_location"))
      r = location(p, c, now, &locs, &nlocs);
    else if (pm_xml_is(c, "rsc_colocation"))
      r = colocation(p, c);
  }
  if (r == 0)
    r = apply_locations(p, locs, nlocs);
  free(locs);
  return r;
}
