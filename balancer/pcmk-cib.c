/* pcmk-cib.c: the CIB's configuration: properties, nodes (attributes,
 * utilization) and resources (meta attributes, utilization). */
#include "config.h"

#include "pcmk-internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- configuration: the CIB ---------------------------------------------- */

/* A score: "INFINITY", "+INFINITY", "-INFINITY", an integer. */
int pcmk_parse_score(const char *s, double *ret) {
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
  if (pcmk_grow((void **)&nd->attr_name, nd->nattrs, sizeof(char *)) < 0 ||
      pcmk_grow((void **)&nd->attr_val, nd->nattrs, sizeof(char *)) < 0)
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

int pcmk_parse_cib_nodes(struct bal_pcmk *p, xmlNode *cib) {
  xmlNode *conf = pcmk_child(cib, "configuration");
  int r = 0;
  for (xmlNode *n = pcmk_child(conf, "nodes")
                        ? pcmk_child(conf, "nodes")->children
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
  for (xmlNode *ns = pcmk_child(pcmk_child(cib, "status"), "node_state");
       r == 0 && ns; ns = ns->next) {
    const char *uname =
        pm_xml_is(ns, "node_state") ? pm_xml_attr(ns, "uname") : NULL;
    int k = uname ? bal_pcmk_find_node(p, uname) : -1;
    xmlNode *ta = pcmk_child(ns, "transient_attributes");
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
int pcmk_parse_cib_resources(struct bal_pcmk *p, xmlNode *cib) {
  xmlNode *res = pcmk_child(pcmk_child(cib, "configuration"), "resources");
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
    const char *fb = nvpair(x, "meta_attributes", "patmon-failback");
    if (fb && !(rs->failback = strdup(fb)))
      return -ENOMEM;
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

int pcmk_parse_properties(struct bal_pcmk *p, xmlNode *cib) {
  xmlNode *conf = pcmk_child(cib, "configuration");
  xmlNode *crm = pcmk_child(conf, "crm_config");
  const char *ps = nvpair(crm, "cluster_property_set", "placement-strategy");
  p->enforce_util = ps && strcmp(ps, "default") != 0;
  const char *mm = nvpair(crm, "cluster_property_set", "maintenance-mode");
  const char *sa = nvpair(crm, "cluster_property_set", "stop-all-resources");
  p->maintenance =
      (mm && strcmp(mm, "true") == 0) || (sa && strcmp(sa, "true") == 0);
  const char *st = nvpair(pcmk_child(conf, "rsc_defaults"), "meta_attributes",
                          "resource-stickiness");
  if (!st)
    st = nvpair(crm, "cluster_property_set", "default-resource-stickiness");
  double v = 0;
  p->stickiness = st && pcmk_parse_score(st, &v) == 0 ? v : 0;
  return 0;
}
