/* engine-zone.c: the zones the nodes belong to, and what --explain says of
 * them and of the zone records in the CIB (pcmk-zone.c). */
#include "config.h"

#include "engine-internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int bal_engine_set_zone(bal_engine_t *e, const char *zone) {
  char *z = NULL;
  if (zone && (!bal_conf_zone_ok(zone) || !(z = strdup(zone))))
    return bal_conf_zone_ok(zone) ? -ENOMEM : -EINVAL;
  free(e->zone);
  e->zone = z;
  return 0;
}

const char *bal_engine_zone(const bal_engine_t *e) {
  if (e->zone)
    return e->zone;
  return e->conf->zone[0] ? e->conf->zone : NULL;
}

const char *engine_zone_path(const bal_engine_t *e, const char *base, char *buf,
                             size_t len) {
  const char *z = bal_engine_zone(e);
  if (!z || !base[0])
    return base;
  int n = snprintf(buf, len, "%s.%s", base, z);
  return n >= 0 && (size_t)n < len ? buf : NULL;
}

const char *engine_own_resource(const bal_engine_t *e, char *buf, size_t len) {
  const char *own = e->conf->own_resource;
  if (!strchr(own, '%'))
    return own;
  const struct bal_kv kv[] = {{'z', bal_engine_zone(e)}, {0, NULL}};
  pm_buf_t b = {0};
  int r = bal_subst(own, kv, &b, NULL);
  bool fits = r == 0 && b.len < len;
  if (fits)
    memcpy(buf, b.data, b.len + 1);
  pm_buf_free(&b);
  return fits ? buf : NULL;
}

const char *pass_node_zone(const struct pass *p, const char *node) {
  const struct bal_node_conf *nc = bal_conf_node(p->cf, node);
  if (nc && nc->zone)
    return nc->zone;
  int k = p->pc ? bal_pcmk_find_node(p->pc, node) : -1;
  if (k >= 0) {
    const struct bal_pcmk_node *n = &p->pc->nodes[k];
    for (size_t i = 0; i < n->nattrs; i++)
      if (strcmp(n->attr_name[i], "zone") == 0 &&
          bal_conf_zone_ok(n->attr_val[i]))
        return n->attr_val[i];
  }
  return BAL_ZONE_DEFAULT;
}

/* Zone by zone, the nodes of each, in the order zones are first met. */
static void explain_members(const struct pass *p, pm_buf_t *b) {
  size_t nn = bal_cluster_nnodes(p->c);
  const char **zone = calloc(nn + 1, sizeof(*zone));
  if (!zone)
    return;
  for (size_t n = 0; n < nn; n++)
    zone[n] = pass_node_zone(p, bal_node_name(p->c, (int)n));
  for (size_t n = 0; n < nn; n++) {
    bool first = true;
    for (size_t k = 0; k < n && first; k++)
      first = strcmp(zone[k], zone[n]) != 0;
    if (!first)
      continue;
    pm_buf_printf(b, "zone %s:", zone[n]);
    for (size_t k = n; k < nn; k++)
      if (strcmp(zone[k], zone[n]) == 0)
        pm_buf_printf(b, " %s", bal_node_name(p->c, (int)k));
    pm_buf_puts(b, "\n");
  }
  free(zone);
}

void pass_explain_zones(struct pass *p, pm_buf_t *b) {
  const char *mine = bal_engine_zone(p->e);
  struct bal_zrecs z = {0};
  pm_error_t err = {0};
  int r = p->cib.len
              ? bal_zrec_parse(p->cib.data, p->cib.len, "cibadmin", &z, &err)
              : -ENODATA;
  bool zoned = mine || (r == 0 && z.n);
  for (size_t n = 0; !zoned && n < bal_cluster_nnodes(p->c); n++)
    zoned = strcmp(pass_node_zone(p, bal_node_name(p->c, (int)n)),
                   BAL_ZONE_DEFAULT) != 0;
  if (zoned) {
    pm_buf_printf(b, "this instance's zone: %s\n",
                  mine ? mine : "none (plans every zone)");
    explain_members(p, b);
  }
  if (r == 0 && z.n) {
    pm_buf_printf(b, "zone records in the CIB (%zu, in their order):\n", z.n);
    for (size_t i = 0; i < z.n; i++)
      pm_buf_printf(b, "  %s = %s\n", z.v[i].key, z.v[i].value);
  }
  if (r == 0 && z.nbad) {
    char buf[1024];
    pm_buf_printf(b, "zone records skipped: %u, first: %s\n", z.nbad,
                  pm_error_str(&z.bad, buf, sizeof(buf)));
  }
  bal_zrecs_free(&z);
}
