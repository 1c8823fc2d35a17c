/* pcmk-status.c: where resources run and what state nodes are in, from
 * crm_mon --output-as=xml or crm_simulate's revised status. */
#include "config.h"

#include "pcmk-internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- status: crm_mon, or crm_simulate's revised status ------------------- */

static int parse_nodes(struct bal_pcmk *p, xmlNode *nodes, const char *file,
                       pm_error_t *err) {
  for (xmlNode *n = nodes ? nodes->children : NULL; n; n = n->next) {
    if (!pm_xml_is(n, "node"))
      continue;
    const char *name = pm_xml_attr(n, "name"),
               *online = pm_xml_attr(n, "online");
    if (!name || !*name || !online)
      return pcmk_bad_element(err, file, n,
                              "node without name or online state");
    if (bal_pcmk_find_node(p, name) >= 0)
      return pcmk_bad_element(err, file, n, "node %s appears twice", name);
    if (pcmk_grow((void **)&p->nodes, p->nnodes, sizeof(*p->nodes)) < 0)
      return -ENOMEM;
    struct bal_pcmk_node *nd = &p->nodes[p->nnodes];
    *nd = (struct bal_pcmk_node){0};
    for (size_t a = 0; a < BAL_MAX_ATTRS; a++)
      nd->util[a] = NAN;
    if (!(nd->name = strdup(name)))
      return -ENOMEM;
    p->nnodes++;
    if (strcmp(online, "true") != 0 || pcmk_attr_true(n, "unclean"))
      nd->state = BAL_NODE_OFFLINE;
    else if (pcmk_attr_true(n, "maintenance"))
      nd->state = BAL_NODE_MAINTENANCE;
    else if (pcmk_attr_true(n, "standby") || pcmk_attr_true(n, "shutdown") ||
             pcmk_attr_true(n, "pending"))
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
  return pcmk_attr_true(r, "active") ? where : NULL;
}

static int status_primitive(struct bal_pcmk *p, xmlNode *x, const char *file,
                            pm_error_t *err) {
  const char *id = pm_xml_attr(x, "id");
  if (!id || !*id)
    return pcmk_bad_element(err, file, x, "resource without id");
  if (pcmk_attr_true(x, "orphaned"))
    return 0;
  struct bal_pcmk_rsc *r = pcmk_add_rsc(p, id);
  if (!r)
    return pcmk_add_failed(err, file, x, id);
  const char *on = running_on(x, &r->multi);
  if (on && !(r->node = strdup(on)))
    return -ENOMEM;
  r->managed = !pm_xml_attr(x, "managed") || pcmk_attr_true(x, "managed");
  r->failed = pcmk_attr_true(x, "failed") || pcmk_attr_true(x, "blocked");
  const char *tr = pm_xml_attr(x, "target_role");
  r->wanted = !tr || strcasecmp(tr, "Stopped") != 0;
  return 0;
}

static int status_group(struct bal_pcmk *p, xmlNode *g, const char *file,
                        pm_error_t *err) {
  const char *id = pm_xml_attr(g, "id");
  if (!id || !*id)
    return pcmk_bad_element(err, file, g, "group without id");
  struct bal_pcmk_rsc *r = pcmk_add_rsc(p, id);
  if (!r)
    return pcmk_add_failed(err, file, g, id);
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
      return pcmk_bad_element(err, file, c, "group member without id");
    if (bal_map_get(&p->rsc_ix, mid) >= 0 ||
        bal_map_get(&p->member_ix, mid) >= 0)
      return pcmk_bad_element(err, file, c, "resource id %s appears twice",
                              mid);
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
    if (pm_xml_attr(c, "managed") && !pcmk_attr_true(c, "managed"))
      r->managed = false;
    if (pcmk_attr_true(c, "failed") || pcmk_attr_true(c, "blocked"))
      r->failed = true;
  }
  r = &p->rscs[ri];
  if (pm_xml_attr(g, "managed") && !pcmk_attr_true(g, "managed"))
    r->managed = false;
  r->wanted = !pcmk_attr_true(g, "disabled");
  if (where && !(r->node = strdup(where)))
    return -ENOMEM;
  if (apart)
    return pcmk_fix(r, "its members run on different nodes");
  if (running && running < n)
    return pcmk_fix(r, "only %zu of its %zu members run", running, n);
  return 0;
}

/* Adds id, without a clone's ":N" suffix, to the NULL-terminated list *v
 * unless there. */
static int add_inner(char ***v, const char *id) {
  size_t len = strcspn(id, ":"), n = 0;
  for (; *v && (*v)[n]; n++)
    if (strlen((*v)[n]) == len && strncmp((*v)[n], id, len) == 0)
      return 0;
  char *inner = strndup(id, len);
  if (!inner)
    return -ENOMEM;
  int r = pm_strv_push(v, &n, inner);
  free(inner);
  return r;
}

/* Whether a status role is the promoted one (Pacemaker 2.1, and before). */
static bool role_promoted(xmlNode *r) {
  const char *role = pm_xml_attr(r, "role");
  return role && (strcmp(role, "Promoted") == 0 || strcmp(role, "Master") == 0);
}

/* Clones and bundles are never moved; their instances (nodes, roles) are
 * remembered for colocations with them and the HA modes. */
static int status_clone(struct bal_pcmk *p, xmlNode *x, const char *file,
                        pm_error_t *err) {
  const char *id = pm_xml_attr(x, "id");
  if (!id || !*id)
    return pcmk_bad_element(err, file, x, "clone without id");
  struct bal_pcmk_rsc *r = pcmk_add_rsc(p, id);
  if (!r)
    return pcmk_add_failed(err, file, x, id);
  size_t ri = p->nrscs - 1;
  r->clone = true;
  r->wanted = false;
  r->promotable = pcmk_attr_true(x, "multi_state");
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
      if (k >= 0 && role_promoted(c) &&
          bal_ints_push(&p->rscs[ri].promoted, k) < 0)
        return -ENOMEM;
      if (pm_xml_is(c, "resource") && pm_xml_attr(c, "id") &&
          add_inner(&p->rscs[ri].inner, pm_xml_attr(c, "id")) < 0)
        return -ENOMEM;
      if (c->children && sp < 16)
        stack[sp++] = c->children;
    }
  }
  return pcmk_fix(&p->rscs[ri], "clones and bundles are not moved");
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
int pcmk_parse_status(struct bal_pcmk *p, xmlNode *parent, const char *file,
                      pm_error_t *err) {
  xmlNode *nodes = pcmk_child(parent, "nodes"),
          *res = pcmk_child(parent, "resources");
  if (!nodes)
    return pcmk_bad_element(err, file, parent,
                            "no <nodes> in the cluster status");
  int r = parse_nodes(p, nodes, file, err);
  return r < 0 ? r : parse_resources(p, res, file, err);
}
