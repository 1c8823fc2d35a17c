/* pcmk.c: what Pacemaker says, from crm_mon --output-as=xml (where things
 * run, node states) and the CIB from cibadmin -Q (constraints, groups,
 * utilization, properties).
 *
 * The model is conservative: a constraint it cannot evaluate makes the
 * resources it names fixed rather than risk a move Pacemaker would refuse
 * or undo. Locations: -INFINITY bans the node; +INFINITY (not a
 * cli-prefer constraint, which the engine judges) pins the resource;
 * finite scores are preferences stickiness outweighs, and are ignored.
 * Colocations: INFINITY moves both as one, -INFINITY keeps them apart;
 * with a clone they become bans of the nodes without (or with) an
 * instance. */
#include "config.h"

#include "internal.h"
#include "pm_xml.h"

#include <errno.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SCORE_INF 1000000.0

/* ---- XML helpers --------------------------------------------------------- */

static bool attr_true(xmlNode *n, const char *name) {
  const char *v = pm_xml_attr(n, name);
  return v && (strcmp(v, "true") == 0 || strcmp(v, "on") == 0 ||
               strcmp(v, "yes") == 0 || strcmp(v, "1") == 0);
}

static xmlNode *child(xmlNode *n, const char *name) {
  for (xmlNode *c = n ? n->children : NULL; c; c = c->next)
    if (pm_xml_is(c, name))
      return c;
  return NULL;
}

/* The source line of n as offending text: "<node id="1">" and so on. */
static void element_text(xmlNode *n, char *buf, size_t len) {
  size_t o = (size_t)snprintf(buf, len, "<%s", (const char *)n->name);
  for (xmlAttr *a = n->properties; a && o < len; a = a->next) {
    const char *v = a->children && a->children->content
                        ? (const char *)a->children->content
                        : "";
    o += (size_t)snprintf(buf + o, len - o, " %s=\"%s\"", (const char *)a->name,
                          v);
  }
  if (o < len)
    snprintf(buf + o, len - o, ">");
}

static int bad_element(pm_error_t *err, const char *file, xmlNode *n,
                       const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int bad_element(pm_error_t *err, const char *file, xmlNode *n,
                       const char *fmt, ...) {
  char text[256], msg[400];
  element_text(n, text, sizeof(text));
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  pm_error_set(err, file, (unsigned)xmlGetLineNo(n), text, "%s", msg);
  return -EBADMSG;
}

/* Parses a document; on bad XML fills err with the line, libxml2's reason
 * and the text of that line. */
static xmlDoc *read_xml(const char *buf, size_t len, const char *name,
                        pm_error_t *err) {
  if (len > INT32_MAX) {
    pm_error_set(err, name, 0, NULL, "document too large");
    return NULL;
  }
  xmlResetLastError();
  xmlDoc *doc = xmlReadMemory(buf, (int)len, name, NULL,
                              XML_PARSE_NONET | XML_PARSE_NOERROR |
                                  XML_PARSE_NOWARNING | XML_PARSE_NOBLANKS);
  if (doc && xmlDocGetRootElement(doc))
    return doc;
  const xmlError *e = xmlGetLastError();
  unsigned line = e && e->line > 0 ? (unsigned)e->line : 0;
  char text[256] = "";
  const char *p = buf, *end = buf + len;
  for (unsigned l = 1; line && l < line && p < end; l++) {
    p = memchr(p, '\n', (size_t)(end - p));
    p = p ? p + 1 : end;
  }
  if (line && p < end) {
    size_t n = 0;
    while (p + n < end && p[n] != '\n' && n < sizeof(text) - 1)
      n++;
    snprintf(text, sizeof(text), "%.*s", (int)n, p);
  }
  char msg[300];
  snprintf(msg, sizeof(msg), "%s",
           e && e->message ? e->message : "not an XML document");
  size_t ml = strlen(msg);
  while (ml && (msg[ml - 1] == '\n' || msg[ml - 1] == ' '))
    msg[--ml] = '\0';
  pm_error_set(err, name, line, text[0] ? text : NULL, "bad XML: %s", msg);
  xmlFreeDoc(doc);
  return NULL;
}

/* ---- building
 * ---------------------------------------------------------------- */

void bal_pcmk_free(struct bal_pcmk *p) {
  if (!p)
    return;
  for (size_t i = 0; i < p->nnodes; i++) {
    free(p->nodes[i].name);
    for (size_t k = 0; k < p->nodes[i].nattrs; k++) {
      free(p->nodes[i].attr_name[k]);
      free(p->nodes[i].attr_val[k]);
    }
    free(p->nodes[i].attr_name);
    free(p->nodes[i].attr_val);
  }
  free(p->nodes);
  for (size_t i = 0; i < p->nrscs; i++) {
    struct bal_pcmk_rsc *r = &p->rscs[i];
    free(r->id);
    free(r->node);
    bal_argv_free(r->members);
    free(r->why_fixed);
    bal_ints_free(&r->instances);
  }
  free(p->rscs);
  bal_ints_free(&p->together);
  bal_ints_free(&p->apart);
  bal_ints_free(&p->bans);
  for (size_t i = 0; i < p->ncli; i++) {
    free(p->cli[i].rsc);
    free(p->cli[i].node);
    free(p->cli[i].id);
  }
  free(p->cli);
  for (size_t i = 0; i < p->nattrs; i++)
    free(p->attrs[i]);
  bal_map_free(&p->rsc_ix);
  bal_map_free(&p->member_ix);
  free(p);
}

int bal_pcmk_find_rsc(const struct bal_pcmk *p, const char *id) {
  int i = bal_map_get(&p->rsc_ix, id);
  return i >= 0 ? i : bal_map_get(&p->member_ix, id);
}

int bal_pcmk_find_node(const struct bal_pcmk *p, const char *name) {
  for (size_t i = 0; i < p->nnodes; i++)
    if (strcmp(p->nodes[i].name, name) == 0)
      return (int)i;
  return -1;
}

/* Room for element n of an array that doubles at each power of two. */
static int grow(void **v, size_t n, size_t size) {
  if (n & (n - 1)) /* not a power of two: room left */
    return 0;
  void *q = realloc(*v, (n ? n * 2 : 1) * size);
  if (!q)
    return -ENOMEM;
  *v = q;
  return 0;
}

static struct bal_pcmk_rsc *add_rsc(struct bal_pcmk *p, const char *id) {
  if (grow((void **)&p->rscs, p->nrscs, sizeof(*p->rscs)) < 0)
    return NULL;
  struct bal_pcmk_rsc *r = &p->rscs[p->nrscs];
  *r = (struct bal_pcmk_rsc){.managed = true, .wanted = true};
  for (size_t a = 0; a < BAL_MAX_ATTRS; a++)
    r->util[a] = NAN;
  if (!(r->id = strdup(id)) || bal_map_put(&p->rsc_ix, id, (int)p->nrscs) < 0) {
    free(r->id);
    return NULL;
  }
  p->nrscs++;
  return r;
}

static int fix(struct bal_pcmk_rsc *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int fix(struct bal_pcmk_rsc *r, const char *fmt, ...) {
  if (r->why_fixed)
    return 0; /* the first reason stays */
  pm_buf_t b = {0};
  va_list ap;
  va_start(ap, fmt);
  int k = pm_buf_vprintf(&b, fmt, ap);
  va_end(ap);
  if (k < 0)
    return k;
  r->why_fixed = b.data;
  return 0;
}

/* ---- status: crm_mon, or crm_simulate's revised status ------------------- */

static int parse_nodes(struct bal_pcmk *p, xmlNode *nodes, const char *file,
                       pm_error_t *err) {
  for (xmlNode *n = nodes ? nodes->children : NULL; n; n = n->next) {
    if (!pm_xml_is(n, "node"))
      continue;
    const char *name = pm_xml_attr(n, "name"),
               *online = pm_xml_attr(n, "online");
    if (!name || !*name || !online)
      return bad_element(err, file, n, "node without name or online state");
    if (grow((void **)&p->nodes, p->nnodes, sizeof(*p->nodes)) < 0)
      return -ENOMEM;
    struct bal_pcmk_node *nd = &p->nodes[p->nnodes];
    *nd = (struct bal_pcmk_node){0};
    for (size_t a = 0; a < BAL_MAX_ATTRS; a++)
      nd->util[a] = NAN;
    if (!(nd->name = strdup(name)))
      return -ENOMEM;
    p->nnodes++;
    if (strcmp(online, "true") != 0 || attr_true(n, "unclean"))
      nd->state = BAL_NODE_OFFLINE;
    else if (attr_true(n, "maintenance"))
      nd->state = BAL_NODE_MAINTENANCE;
    else if (attr_true(n, "standby") || attr_true(n, "shutdown") ||
             attr_true(n, "pending"))
      nd->state = BAL_NODE_STANDBY;
    else
      nd->state = BAL_NODE_ONLINE;
  }
  return 0;
}

/* Where a status <resource> runs: its one node, NULL when stopped; sets
 * *multi when it runs on several. */
static const char *running_on(xmlNode *r, bool *multi) {
  const char *where = NULL;
  int count = 0;
  for (xmlNode *c = r->children; c; c = c->next)
    if (pm_xml_is(c, "node") && pm_xml_attr(c, "name")) {
      where = pm_xml_attr(c, "name");
      count++;
    }
  if (count > 1)
    *multi = true;
  return attr_true(r, "active") ? where : NULL;
}

static int status_primitive(struct bal_pcmk *p, xmlNode *x, const char *file,
                            pm_error_t *err) {
  const char *id = pm_xml_attr(x, "id");
  if (!id || !*id)
    return bad_element(err, file, x, "resource without id");
  if (attr_true(x, "orphaned"))
    return 0;
  struct bal_pcmk_rsc *r = add_rsc(p, id);
  if (!r)
    return -ENOMEM;
  const char *on = running_on(x, &r->multi);
  if (on && !(r->node = strdup(on)))
    return -ENOMEM;
  r->managed = !pm_xml_attr(x, "managed") || attr_true(x, "managed");
  r->failed = attr_true(x, "failed") || attr_true(x, "blocked");
  const char *tr = pm_xml_attr(x, "target_role");
  r->wanted = !tr || strcasecmp(tr, "Stopped") != 0;
  return 0;
}

static int status_group(struct bal_pcmk *p, xmlNode *g, const char *file,
                        pm_error_t *err) {
  const char *id = pm_xml_attr(g, "id");
  if (!id || !*id)
    return bad_element(err, file, g, "group without id");
  struct bal_pcmk_rsc *r = add_rsc(p, id);
  if (!r)
    return -ENOMEM;
  size_t ri = p->nrscs - 1, n = 0, running = 0;
  for (xmlNode *c = g->children; c; c = c->next)
    n += pm_xml_is(c, "resource");
  char **members = calloc(n + 1, sizeof(char *));
  if (!members)
    return -ENOMEM;
  p->rscs[ri].members = members;
  n = 0;
  const char *where = NULL;
  bool apart = false;
  for (xmlNode *c = g->children; c; c = c->next) {
    if (!pm_xml_is(c, "resource"))
      continue;
    const char *mid = pm_xml_attr(c, "id");
    if (!mid || !*mid)
      return bad_element(err, file, c, "group member without id");
    if (!(members[n++] = strdup(mid)) ||
        bal_map_put(&p->member_ix, mid, (int)ri) < 0)
      return -ENOMEM;
    r = &p->rscs[ri];
    const char *on = running_on(c, &r->multi);
    if (on) {
      running++;
      if (where && strcmp(where, on) != 0)
        apart = true;
      where = on;
    }
    if (pm_xml_attr(c, "managed") && !attr_true(c, "managed"))
      r->managed = false;
    if (attr_true(c, "failed") || attr_true(c, "blocked"))
      r->failed = true;
  }
  r = &p->rscs[ri];
  if (pm_xml_attr(g, "managed") && !attr_true(g, "managed"))
    r->managed = false;
  r->wanted = !attr_true(g, "disabled");
  if (where && !(r->node = strdup(where)))
    return -ENOMEM;
  if (apart)
    return fix(r, "its members run on different nodes");
  if (running && running < n)
    return fix(r, "only %zu of its %zu members run", running, n);
  return 0;
}

/* Clones and bundles are never moved; their instances are remembered for
 * colocations with them. */
static int status_clone(struct bal_pcmk *p, xmlNode *x, const char *file,
                        pm_error_t *err) {
  const char *id = pm_xml_attr(x, "id");
  if (!id || !*id)
    return bad_element(err, file, x, "clone without id");
  struct bal_pcmk_rsc *r = add_rsc(p, id);
  if (!r)
    return -ENOMEM;
  size_t ri = p->nrscs - 1;
  r->clone = true;
  r->wanted = false;
  /* Instances at any depth (bundles nest replicas). */
  xmlNode *stack[16];
  int sp = 0;
  stack[sp++] = x->children;
  while (sp > 0) {
    xmlNode *c = stack[--sp];
    for (; c; c = c->next) {
      if (!pm_xml_is(c, "resource") && !pm_xml_is(c, "replica") &&
          !pm_xml_is(c, "group"))
        continue;
      if (pm_xml_attr(c, "id") && !pm_xml_is(c, "replica"))
        bal_map_put(&p->member_ix, pm_xml_attr(c, "id"), (int)ri);
      bool multi = false;
      const char *on = pm_xml_is(c, "resource") ? running_on(c, &multi) : NULL;
      int k = on ? bal_pcmk_find_node(p, on) : -1;
      if (k >= 0 && bal_ints_push(&p->rscs[ri].instances, k) < 0)
        return -ENOMEM;
      if (c->children && sp < 16)
        stack[sp++] = c->children;
    }
  }
  return fix(&p->rscs[ri], "clones and bundles are not moved");
}

static int parse_resources(struct bal_pcmk *p, xmlNode *res, const char *file,
                           pm_error_t *err) {
  int r = 0;
  for (xmlNode *c = res ? res->children : NULL; r == 0 && c; c = c->next) {
    if (pm_xml_is(c, "resource"))
      r = status_primitive(p, c, file, err);
    else if (pm_xml_is(c, "group"))
      r = status_group(p, c, file, err);
    else if (pm_xml_is(c, "clone") || pm_xml_is(c, "bundle"))
      r = status_clone(p, c, file, err);
  }
  return r;
}

/* Reads nodes and resources under parent (a crm_mon result or a
 * revised_cluster_status). */
static int parse_status(struct bal_pcmk *p, xmlNode *parent, const char *file,
                        pm_error_t *err) {
  xmlNode *nodes = child(parent, "nodes"), *res = child(parent, "resources");
  if (!nodes)
    return bad_element(err, file, parent, "no <nodes> in the cluster status");
  int r = parse_nodes(p, nodes, file, err);
  return r < 0 ? r : parse_resources(p, res, file, err);
}

/* ---- configuration: the CIB ---------------------------------------------- */

/* A score: "INFINITY", "+INFINITY", "-INFINITY", an integer. */
static int parse_score(const char *s, double *ret) {
  if (!s)
    return -EINVAL;
  const char *v = *s == '+' ? s + 1 : s;
  if (strcasecmp(v, "INFINITY") == 0) {
    *ret = SCORE_INF;
    return 0;
  }
  if (strcasecmp(s, "-INFINITY") == 0) {
    *ret = -SCORE_INF;
    return 0;
  }
  char *end;
  long long x = strtoll(s, &end, 10);
  if (end == s || *end)
    return -EINVAL;
  *ret = x >= SCORE_INF ? SCORE_INF : x <= -SCORE_INF ? -SCORE_INF : (double)x;
  return 0;
}

/* Value of nvpair `name` under any <nvset> child of n. */
static const char *nvpair(xmlNode *n, const char *set, const char *name) {
  for (xmlNode *s = n ? n->children : NULL; s; s = s->next) {
    if (!pm_xml_is(s, set))
      continue;
    for (xmlNode *nv = s->children; nv; nv = nv->next)
      if (pm_xml_is(nv, "nvpair") && pm_xml_attr(nv, "name") &&
          strcmp(pm_xml_attr(nv, "name"), name) == 0)
        return pm_xml_attr(nv, "value");
  }
  return NULL;
}

static int attr_index(struct bal_pcmk *p, const char *name) {
  for (size_t i = 0; i < p->nattrs; i++)
    if (strcmp(p->attrs[i], name) == 0)
      return (int)i;
  if (p->nattrs == BAL_MAX_ATTRS)
    return -E2BIG;
  if (!(p->attrs[p->nattrs] = strdup(name)))
    return -ENOMEM;
  return (int)p->nattrs++;
}

/* Adds the numeric <utilization> nvpairs of n into util[]. */
static int read_util(struct bal_pcmk *p, xmlNode *n, double *util) {
  for (xmlNode *s = n->children; s; s = s->next) {
    if (!pm_xml_is(s, "utilization"))
      continue;
    for (xmlNode *nv = s->children; nv; nv = nv->next) {
      const char *name = pm_xml_attr(nv, "name"),
                 *val = pm_xml_attr(nv, "value");
      if (!pm_xml_is(nv, "nvpair") || !name || !val)
        continue;
      char *end;
      double v = strtod(val, &end);
      if (end == val || *end)
        continue;
      int k = attr_index(p, name);
      if (k == -ENOMEM)
        return k;
      if (k >= 0)
        util[k] = (isnan(util[k]) ? 0 : util[k]) + v;
    }
  }
  return 0;
}

static int add_node_attr(struct bal_pcmk_node *nd, const char *name,
                         const char *val) {
  if (grow((void **)&nd->attr_name, nd->nattrs, sizeof(char *)) < 0 ||
      grow((void **)&nd->attr_val, nd->nattrs, sizeof(char *)) < 0)
    return -ENOMEM;
  nd->attr_name[nd->nattrs] = strdup(name);
  nd->attr_val[nd->nattrs] = strdup(val);
  nd->nattrs++;
  return nd->attr_name[nd->nattrs - 1] && nd->attr_val[nd->nattrs - 1]
             ? 0
             : -ENOMEM;
}

static int read_node_attrs(struct bal_pcmk_node *nd, xmlNode *n) {
  for (xmlNode *s = n->children; s; s = s->next) {
    if (!pm_xml_is(s, "instance_attributes"))
      continue;
    for (xmlNode *nv = s->children; nv; nv = nv->next)
      if (pm_xml_is(nv, "nvpair") && pm_xml_attr(nv, "name") &&
          pm_xml_attr(nv, "value") &&
          add_node_attr(nd, pm_xml_attr(nv, "name"), pm_xml_attr(nv, "value")) <
              0)
        return -ENOMEM;
  }
  return 0;
}

static int parse_cib_nodes(struct bal_pcmk *p, xmlNode *cib) {
  xmlNode *conf = child(cib, "configuration");
  int r = 0;
  for (xmlNode *n = child(conf, "nodes") ? child(conf, "nodes")->children
                                         : NULL;
       r == 0 && n; n = n->next) {
    const char *uname = pm_xml_is(n, "node") ? pm_xml_attr(n, "uname") : NULL;
    int k = uname ? bal_pcmk_find_node(p, uname) : -1;
    if (k < 0)
      continue;
    struct bal_pcmk_node *nd = &p->nodes[k];
    if ((r = read_util(p, n, nd->util)) == 0)
      r = read_node_attrs(nd, n);
    if (r == 0 && pm_xml_attr(n, "id"))
      r = add_node_attr(nd, "#id", pm_xml_attr(n, "id"));
  }
  /* Transient attributes live in the status section. */
  for (xmlNode *ns = child(child(cib, "status"), "node_state"); r == 0 && ns;
       ns = ns->next) {
    const char *uname =
        pm_xml_is(ns, "node_state") ? pm_xml_attr(ns, "uname") : NULL;
    int k = uname ? bal_pcmk_find_node(p, uname) : -1;
    xmlNode *ta = child(ns, "transient_attributes");
    if (k >= 0 && ta)
      r = read_node_attrs(&p->nodes[k], ta);
  }
  for (size_t i = 0; r == 0 && i < p->nnodes; i++) {
    r = add_node_attr(&p->nodes[i], "#uname", p->nodes[i].name);
    if (r == 0)
      r = add_node_attr(&p->nodes[i], "#kind", "cluster");
  }
  return r;
}

/* Meta attributes and utilization of resources (primitives, groups and
 * their members). */
static int parse_cib_resources(struct bal_pcmk *p, xmlNode *cib) {
  xmlNode *res = child(child(cib, "configuration"), "resources");
  int r = 0;
  for (xmlNode *x = res ? res->children : NULL; r == 0 && x; x = x->next) {
    if (!pm_xml_is(x, "primitive") && !pm_xml_is(x, "group"))
      continue;
    const char *id = pm_xml_attr(x, "id");
    int k = id ? bal_map_get(&p->rsc_ix, id) : -1;
    if (k < 0)
      continue;
    struct bal_pcmk_rsc *rs = &p->rscs[k];
    const char *managed = nvpair(x, "meta_attributes", "is-managed");
    if (managed && strcmp(managed, "false") == 0)
      rs->managed = false;
    const char *tr = nvpair(x, "meta_attributes", "target-role");
    if (tr && strcasecmp(tr, "Stopped") == 0)
      rs->wanted = false;
    r = read_util(p, x, rs->util);
    for (xmlNode *m = x->children; r == 0 && m; m = m->next)
      if (pm_xml_is(m, "primitive")) {
        r = read_util(p, m, rs->util);
        const char *mm = nvpair(m, "meta_attributes", "is-managed");
        if (mm && strcmp(mm, "false") == 0)
          rs->managed = false;
      }
  }
  return r;
}

static int parse_properties(struct bal_pcmk *p, xmlNode *cib) {
  xmlNode *conf = child(cib, "configuration");
  xmlNode *crm = child(conf, "crm_config");
  const char *ps = nvpair(crm, "cluster_property_set", "placement-strategy");
  p->enforce_util = ps && strcmp(ps, "default") != 0;
  const char *mm = nvpair(crm, "cluster_property_set", "maintenance-mode");
  const char *sa = nvpair(crm, "cluster_property_set", "stop-all-resources");
  p->maintenance =
      (mm && strcmp(mm, "true") == 0) || (sa && strcmp(sa, "true") == 0);
  const char *st = nvpair(child(conf, "rsc_defaults"), "meta_attributes",
                          "resource-stickiness");
  if (!st)
    st = nvpair(crm, "cluster_property_set", "default-resource-stickiness");
  double v = 0;
  p->stickiness = st && parse_score(st, &v) == 0 ? v : 0;
  return 0;
}

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
  if (grow((void **)v, *n, sizeof(**v)) < 0)
    return -ENOMEM;
  (*v)[(*n)++] = l;
  return 0;
}

static int add_cli(struct bal_pcmk *p, const char *id, int rsc,
                   const char *node) {
  if (grow((void **)&p->cli, p->ncli, sizeof(*p->cli)) < 0)
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
    if (parse_score(pm_xml_attr(c, "score"), &score) < 0) {
      for (size_t i = 0; i < who.n; i++)
        r = fix(&p->rscs[who.v[i]], "location %s has a score it cannot read",
                id);
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
        parse_score(pm_xml_attr(rule, "score"), &score) < 0) {
      for (size_t i = 0; r == 0 && i < who.n; i++)
        r = fix(&p->rscs[who.v[i]], "location %s: rule score not modelled", id);
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
          r = fix(&p->rscs[who.v[i]], "location %s: rule not modelled", id);
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
      r = fix(&p->rscs[l[i].rsc], "pinned to %s by location %s",
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
  if (parse_score(pm_xml_attr(c, "score"), &score) < 0 ||
      score <= -SCORE_INF + 1 || score >= SCORE_INF - 1)
    ; /* mandatory, or unreadable (treated as mandatory below) */
  else
    return 0; /* advisory: stickiness keeps services in place */
  if (pm_xml_attr(c, "score") &&
      parse_score(pm_xml_attr(c, "score"), &score) < 0)
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
        r = fix(&p->rscs[set.v[i]], "colocation set %s not modelled", id);
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

static int parse_constraints(struct bal_pcmk *p, xmlNode *cib, time_t now) {
  xmlNode *cons = child(child(cib, "configuration"), "constraints");
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

/* ---- entry points -------------------------------------------------------- */

int bal_pcmk_parse(const char *mon, size_t mon_len, const char *name_mon,
                   const char *cib, size_t cib_len, const char *name_cib,
                   time_t now, struct bal_pcmk **ret, pm_error_t *err) {
  struct bal_pcmk *p = calloc(1, sizeof(*p));
  xmlDoc *dm = NULL, *dc = NULL;
  int r = -EBADMSG;
  if (!p)
    return -ENOMEM;
  if (!(dm = read_xml(mon, mon_len, name_mon, err)))
    goto out;
  xmlNode *root = xmlDocGetRootElement(dm);
  if (!pm_xml_is(root, "pacemaker-result")) {
    r = bad_element(err, name_mon, root,
                    "not crm_mon --output-as=xml output (root element %s)",
                    (const char *)root->name);
    goto out;
  }
  if ((r = parse_status(p, root, name_mon, err)) < 0)
    goto out;
  r = -EBADMSG;
  if (!(dc = read_xml(cib, cib_len, name_cib, err)))
    goto out;
  xmlNode *croot = xmlDocGetRootElement(dc);
  if (!pm_xml_is(croot, "cib") || !child(croot, "configuration")) {
    r = bad_element(err, name_cib, croot,
                    "not a CIB (cibadmin -Q output): root element %s without "
                    "<configuration>",
                    (const char *)croot->name);
    goto out;
  }
  if ((r = parse_properties(p, croot)) < 0 ||
      (r = parse_cib_nodes(p, croot)) < 0 ||
      (r = parse_cib_resources(p, croot)) < 0 ||
      (r = parse_constraints(p, croot, now)) < 0)
    goto out;
  for (size_t i = 0; r == 0 && i < p->nrscs; i++) {
    struct bal_pcmk_rsc *rs = &p->rscs[i];
    if (!rs->managed)
      r = fix(rs, "not managed by Pacemaker");
    else if (rs->failed)
      r = fix(rs, "failed or blocked (needs a cleanup first)");
    else if (rs->multi)
      r = fix(rs, "active on more than one node");
  }
out:
  xmlFreeDoc(dm);
  xmlFreeDoc(dc);
  if (r < 0) {
    if (r == -ENOMEM)
      pm_error_set(err, name_mon, 0, NULL, "out of memory");
    bal_pcmk_free(p);
    return r;
  }
  *ret = p;
  return 0;
}

/* ---- verification with crm_simulate -------------------------------------- */

/* Adds <rsc_location id="patmon-verify-N" rsc=R node=N score=INFINITY>
 * for each move, like crm_resource --move does. */
static int add_moves(xmlDoc *doc, const char *const *rsc,
                     const char *const *node, size_t n) {
  xmlNode *root = xmlDocGetRootElement(doc);
  xmlNode *cons = child(child(root, "configuration"), "constraints");
  if (!cons)
    return -EBADMSG;
  for (size_t i = 0; i < n; i++) {
    /* An older move of the same resource would tie with ours. */
    for (xmlNode *c = cons->children, *next; c; c = next) {
      next = c->next;
      const char *id =
          pm_xml_is(c, "rsc_location") ? pm_xml_attr(c, "id") : NULL;
      if (id && strncmp(id, "cli-prefer-", 11) == 0 && pm_xml_attr(c, "rsc") &&
          strcmp(pm_xml_attr(c, "rsc"), rsc[i]) == 0) {
        xmlUnlinkNode(c);
        xmlFreeNode(c);
      }
    }
    char id[64];
    snprintf(id, sizeof(id), "patmon-verify-%zu", i);
    xmlNode *l = xmlNewChild(cons, NULL, BAD_CAST "rsc_location", NULL);
    if (!l || !xmlNewProp(l, BAD_CAST "id", BAD_CAST id) ||
        !xmlNewProp(l, BAD_CAST "rsc", BAD_CAST rsc[i]) ||
        !xmlNewProp(l, BAD_CAST "node", BAD_CAST node[i]) ||
        !xmlNewProp(l, BAD_CAST "score", BAD_CAST "INFINITY"))
      return -ENOMEM;
  }
  return 0;
}

int bal_pcmk_simulate(const char *crm_simulate, int timeout_ms, const char *cib,
                      size_t cib_len, const char *const *rsc,
                      const char *const *node, size_t nmoves,
                      struct bal_pcmk **ret, pm_error_t *err) {
  char path[] = "/tmp/patmon-balance-cib.XXXXXX";
  int fd = -1, r;
  xmlDoc *doc = read_xml(cib, cib_len, "CIB", err);
  pm_buf_t out = {0}, errb = {0};
  xmlChar *mem = NULL;
  xmlDoc *res = NULL;
  if (!doc)
    return -EBADMSG;
  if ((r = add_moves(doc, rsc, node, nmoves)) < 0) {
    pm_error_set(err, "CIB", 0, NULL, "no <constraints> to add moves to");
    goto out;
  }
  int len = 0;
  xmlDocDumpMemory(doc, &mem, &len);
  if (!mem) {
    r = -ENOMEM;
    goto out;
  }
  fd = mkstemp(path);
  if (fd < 0) {
    r = -errno;
    pm_error_set(err, path, 0, NULL, "cannot create: %s", strerror(-r));
    goto out;
  }
  for (size_t off = 0; off < (size_t)len;) {
    ssize_t w = write(fd, mem + off, (size_t)len - off);
    if (w < 0) {
      r = -errno;
      pm_error_set(err, path, 0, NULL, "cannot write: %s", strerror(-r));
      goto out;
    }
    off += (size_t)w;
  }
  char *argv[] = {(char *)crm_simulate, "--xml-file",      path,
                  "--simulate",         "--output-as=xml", NULL};
  r = bal_run(argv, timeout_ms, &out, &errb);
  if (r < 0) {
    pm_error_set(err, crm_simulate, 0, NULL, "crm_simulate failed: %s",
                 errb.data);
    goto out;
  }
  if (!(res =
            read_xml(out.data ? out.data : "", out.len, "crm_simulate", err))) {
    r = -EBADMSG;
    goto out;
  }
  xmlNode *rev = child(xmlDocGetRootElement(res), "revised_cluster_status");
  if (!rev) {
    r = bad_element(err, "crm_simulate", xmlDocGetRootElement(res),
                    "no <revised_cluster_status> in crm_simulate output");
    goto out;
  }
  struct bal_pcmk *p = calloc(1, sizeof(*p));
  if (!p) {
    r = -ENOMEM;
    goto out;
  }
  r = parse_status(p, rev, "crm_simulate", err);
  if (r < 0)
    bal_pcmk_free(p);
  else
    *ret = p;
out:
  if (fd >= 0) {
    close(fd);
    unlink(path);
  }
  xmlFree(mem);
  xmlFreeDoc(doc);
  xmlFreeDoc(res);
  pm_buf_free(&out);
  pm_buf_free(&errb);
  return r;
}
