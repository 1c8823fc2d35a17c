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

#include "pcmk-internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- XML helpers --------------------------------------------------------- */

bool pcmk_attr_true(xmlNode *n, const char *name) {
  const char *v = pm_xml_attr(n, name);
  return v && (strcmp(v, "true") == 0 || strcmp(v, "on") == 0 ||
               strcmp(v, "yes") == 0 || strcmp(v, "1") == 0);
}

xmlNode *pcmk_child(xmlNode *n, const char *name) {
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

int pcmk_bad_element(pm_error_t *err, const char *file, xmlNode *n,
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
xmlDoc *pcmk_read_xml(const char *buf, size_t len, const char *name,
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
    free(r->failback);
    bal_ints_free(&r->promoted);
    bal_argv_free(r->inner);
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
int pcmk_grow(void **v, size_t n, size_t size) {
  if (n & (n - 1)) /* not a power of two: room left */
    return 0;
  size_t cap = n; /* full: the array keeps no capacity of its own */
  void *q = pm_vec_grow(*v, &cap, n + 1, size);
  if (!q)
    return -ENOMEM;
  *v = q;
  return 0;
}

struct bal_pcmk_rsc *pcmk_add_rsc(struct bal_pcmk *p, const char *id) {
  if (bal_map_get(&p->rsc_ix, id) >= 0 || bal_map_get(&p->member_ix, id) >= 0) {
    errno = EEXIST;
    return NULL;
  }
  if (pcmk_grow((void **)&p->rscs, p->nrscs, sizeof(*p->rscs)) < 0) {
    errno = ENOMEM;
    return NULL;
  }
  struct bal_pcmk_rsc *r = &p->rscs[p->nrscs];
  *r = (struct bal_pcmk_rsc){.managed = true, .wanted = true};
  for (size_t a = 0; a < BAL_MAX_ATTRS; a++)
    r->util[a] = NAN;
  if (!(r->id = strdup(id)) || bal_map_put(&p->rsc_ix, id, (int)p->nrscs) < 0) {
    free(r->id);
    errno = ENOMEM;
    return NULL;
  }
  p->nrscs++;
  return r;
}

int pcmk_add_failed(pm_error_t *err, const char *file, xmlNode *x,
                    const char *id) {
  if (errno != EEXIST)
    return -ENOMEM;
  return pcmk_bad_element(err, file, x, "resource id %s appears twice", id);
}

int pcmk_fix(struct bal_pcmk_rsc *r, const char *fmt, ...) {
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

/* ---- entry points -------------------------------------------------------- */

int bal_pcmk_parse(const char *mon, size_t mon_len, const char *name_mon,
                   const char *cib, size_t cib_len, const char *name_cib,
                   time_t now, struct bal_pcmk **ret, pm_error_t *err) {
  struct bal_pcmk *p = calloc(1, sizeof(*p));
  xmlDoc *dm = NULL, *dc = NULL;
  int r = -EBADMSG;
  if (!p)
    return -ENOMEM;
  if (!(dm = pcmk_read_xml(mon, mon_len, name_mon, err)))
    goto out;
  xmlNode *root = xmlDocGetRootElement(dm);
  if (!pm_xml_is(root, "pacemaker-result")) {
    r = pcmk_bad_element(err, name_mon, root,
                         "not crm_mon --output-as=xml output (root element %s)",
                         (const char *)root->name);
    goto out;
  }
  if ((r = pcmk_parse_status(p, root, name_mon, err)) < 0)
    goto out;
  r = -EBADMSG;
  if (!(dc = pcmk_read_xml(cib, cib_len, name_cib, err)))
    goto out;
  xmlNode *croot = xmlDocGetRootElement(dc);
  if (!pm_xml_is(croot, "cib") || !pcmk_child(croot, "configuration")) {
    r = pcmk_bad_element(
        err, name_cib, croot,
        "not a CIB (cibadmin -Q output): root element %s without "
        "<configuration>",
        (const char *)croot->name);
    goto out;
  }
  if ((r = pcmk_parse_properties(p, croot)) < 0 ||
      (r = pcmk_parse_cib_nodes(p, croot)) < 0 ||
      (r = pcmk_parse_cib_resources(p, croot)) < 0 ||
      (r = pcmk_parse_constraints(p, croot, now)) < 0)
    goto out;
  for (size_t i = 0; r == 0 && i < p->nrscs; i++) {
    struct bal_pcmk_rsc *rs = &p->rscs[i];
    if (!rs->managed)
      r = pcmk_fix(rs, "not managed by Pacemaker");
    else if (rs->failed)
      r = pcmk_fix(rs, "failed or blocked (needs a cleanup first)");
    else if (rs->multi)
      r = pcmk_fix(rs, "active on more than one node");
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
