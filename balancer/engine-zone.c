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
  bal_zone_free(e->zcore); /* made again for the zone at the next pass */
  e->zcore = NULL;
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

/* The distinct zones of nn nodes (zone[n] each) into out (room for nn),
 * in the order they are first met; their number. */
static size_t distinct_zones(const char *const *zone, size_t nn,
                             const char **out) {
  size_t nz = 0;
  for (size_t n = 0; n < nn; n++) {
    size_t k = 0;
    while (k < nz && strcmp(out[k], zone[n]) != 0)
      k++;
    if (k == nz)
      out[nz++] = zone[n];
  }
  return nz;
}

/* Zone by zone, the nodes of each, in the order zones are first met. */
static void explain_members(const struct pass *p, pm_buf_t *b) {
  size_t nn = bal_cluster_nnodes(p->c);
  const char **zone = p->node_zone ? NULL : calloc(nn + 1, sizeof(*zone));
  const char **zones = calloc(nn + 1, sizeof(*zones));
  const char *const *of = p->node_zone ? p->node_zone : zone;
  if ((!p->node_zone && !zone) || !zones) {
    free(zone);
    free(zones);
    return;
  }
  for (size_t n = 0; zone && n < nn; n++)
    zone[n] = pass_node_zone(p, bal_node_name(p->c, (int)n));
  size_t nz = distinct_zones(of, nn, zones);
  for (size_t i = 0; i < nz; i++) {
    pm_buf_printf(b, "zone %s:", zones[i]);
    for (size_t n = 0; n < nn; n++)
      if (strcmp(of[n], zones[i]) == 0)
        pm_buf_printf(b, " %s", bal_node_name(p->c, (int)n));
    pm_buf_puts(b, "\n");
  }
  free(zone);
  free(zones);
}

void pass_explain_zones(struct pass *p, pm_buf_t *b) {
  const char *mine = bal_engine_zone(p->e);
  /* The records this pass read; without a zone, those in the CIB read for
   * the inventory (a static source reads none then). */
  struct bal_zrecs parsed = {0};
  const struct bal_zrecs *z = &p->zrecs;
  pm_error_t err = {0};
  int r = 0;
  if (!p->zrecs_read) {
    z = &parsed;
    r = p->cib.len
            ? bal_zrec_parse(p->cib.data, p->cib.len, "cibadmin", &parsed, &err)
            : -ENODATA;
  }
  bool zoned = mine || (r == 0 && z->n);
  for (size_t n = 0; !zoned && n < bal_cluster_nnodes(p->c); n++)
    zoned = strcmp(pass_node_zone(p, bal_node_name(p->c, (int)n)),
                   BAL_ZONE_DEFAULT) != 0;
  if (zoned) {
    pm_buf_printf(b, "this instance's zone: %s\n",
                  mine ? mine : "none (plans every zone)");
    explain_members(p, b);
  }
  if (r == 0 && z->n) {
    pm_buf_printf(b, "zone records in the CIB (%zu, in their order):\n", z->n);
    for (size_t i = 0; i < z->n; i++)
      pm_buf_printf(b, "  %s = %s\n", z->v[i].key, z->v[i].value);
  }
  if (r == 0 && z->nbad) {
    char buf[1024];
    pm_buf_printf(b, "zone records skipped: %u, first: %s\n", z->nbad,
                  pm_error_str(&z->bad, buf, sizeof(buf)));
  }
  bal_zone_t *zc = p->e->zcore;
  if (mine && zc && p->node_zone) {
    pm_buf_puts(b, "zones planned by this instance:");
    for (size_t i = 0; i < bal_zone_nplanned(zc); i++)
      pm_buf_printf(b, " %s", bal_zone_planned(zc, i));
    pm_buf_puts(b, bal_zone_nplanned(zc) ? "\n" : " none\n");
    pm_buf_t nr = {0};
    for (size_t n = 0; p->reads && n < bal_cluster_nnodes(p->c); n++)
      if (!p->reads[n])
        pm_buf_printf(&nr, " %s", bal_node_name(p->c, (int)n));
    if (nr.len)
      pm_buf_printf(b, "not read (other zones' nodes, planned there):%s\n",
                    nr.data);
    pm_buf_free(&nr);
    bal_zone_stats_t st;
    bal_zone_stats(zc, &st);
    pm_buf_printf(b,
                  "zone pass: %u surplus unit(s), %u requested, %u request(s) "
                  "granted, %u refused, %u cross-zone move(s)\n",
                  st.surplus, st.requested, st.granted, st.refused, st.cross);
  }
  if (p->zone_done.len)
    pm_buf_printf(b, "zone records this pass:\n%s", p->zone_done.data);
  bal_zrecs_free(&parsed);
}

/* ---- planning by zone ---------------------------------------------------- */

/* The core's operations as the record store's. */
static const enum bal_zrec_op zrec_op[] = {
    [BAL_ZONE_SET] = BAL_ZREC_SET,
    [BAL_ZONE_CREATE] = BAL_ZREC_CREATE,
    [BAL_ZONE_DELETE] = BAL_ZREC_DELETE,
};
static const char *const zop_name[] = {
    [BAL_ZONE_SET] = "set",
    [BAL_ZONE_CREATE] = "create",
    [BAL_ZONE_DELETE] = "delete",
};

/* An adoption written (CREATE adopt.X.K) or its end (SET of adopt.X.K
 * with ended=): journaled, logged and told to the hooks, once (a CREATE
 * succeeds once; the core sets an ended adoption once). */
static void zone_event(struct pass *p, const bal_zone_action_t *a) {
  static const char pre[] = "adopt.";
  if (strncmp(a->key, pre, sizeof(pre) - 1) != 0)
    return;
  const char *x = a->key + sizeof(pre) - 1;
  const char *dot = strrchr(x, '.');
  bool adopt = a->op == BAL_ZONE_CREATE;
  if (!dot ||
      (!adopt && !(a->op == BAL_ZONE_SET && strstr(a->value, " ended="))))
    return;
  char zone[BAL_ZONE_NAME_MAX + 1], msg[256];
  snprintf(zone, sizeof(zone), "%.*s", (int)(dot - x), x);
  const char *me = bal_engine_zone(p->e);
  if (adopt)
    snprintf(msg, sizeof(msg),
             "zone %s adopted by zone %s's instance: its instance is silent",
             zone, me);
  else
    snprintf(msg, sizeof(msg),
             "zone %s returned to its own instance (adopted by zone %s's)",
             zone, me);
  bal_elog(p->e, BAL_LOG_NOTICE, "%s", msg);
  bal_journal(p->cf->journal, p->now, "%s", msg);
  bal_run_zone_hooks(p->e, p->cf, zone, msg);
}

/* Writes the core's actions from the first on and reports each result:
 * -EROFS for all in a dry run or on a standby instance. */
static void write_actions(struct pass *p, size_t first) {
  bal_zone_t *z = p->e->zcore;
  bool ro = !pass_side_effects(p);
  for (size_t i = first; i < bal_zone_nactions(z); i++) {
    bal_zone_action_t a;
    if (bal_zone_action(z, i, &a) < 0)
      continue;
    int r = -EROFS;
    pm_buf_t err = {0};
    if (!ro)
      r = bal_zrec_write(p->cf->cibadmin, p->cf->cmd_timeout_ms, zrec_op[a.op],
                         a.key, a.value, &err);
    if (r < 0 && r != -EROFS && r != -EEXIST)
      bal_elog(p->e, BAL_LOG_WARNING, "zone record %s: cannot %s it: %s", a.key,
               zop_name[a.op], err.data ? err.data : pm_strerror(r));
    pm_buf_free(&err);
    bal_zone_written(z, i, r);
    if (r == 0)
      zone_event(p, &a);
    pm_buf_printf(&p->zone_done, "  %s %s%s%s: %s\n", zop_name[a.op], a.key,
                  a.op == BAL_ZONE_DELETE ? "" : " = ",
                  a.op == BAL_ZONE_DELETE ? "" : a.value,
                  r == 0         ? "written"
                  : r == -EROFS  ? "not written (dry run or standby)"
                  : r == -EEXIST ? "exists: another instance decided first"
                                 : "not written");
  }
}

int pass_zone_begin(struct pass *p) {
  const struct bal_conf *cf = p->cf;
  bal_engine_t *e = p->e;
  size_t nn = p->pc->nnodes;
  const char **zones = calloc(nn + 1, sizeof(*zones));
  p->node_zone = calloc(nn + 1, sizeof(*p->node_zone));
  if (!zones || !p->node_zone) {
    free(zones);
    return -ENOMEM;
  }
  for (size_t n = 0; n < nn; n++) /* c's nodes are pc's, in pc's order */
    p->node_zone[n] = pass_node_zone(p, p->pc->nodes[n].name);
  size_t nz = distinct_zones(p->node_zone, nn, zones);
  struct bal_zrecs *zr = &p->zrecs;
  pm_error_t err = {0};
  int r = p->cib.len
              ? bal_zrec_parse(p->cib.data, p->cib.len, "cibadmin", zr, &err)
              : bal_zrec_read(cf->cibadmin, cf->cmd_timeout_ms, zr, &err);
  p->zrecs_read = r == 0;
  bal_record_t *rec = NULL;
  if (r == 0 && !(rec = calloc(zr->n + 1, sizeof(*rec))))
    r = -ENOMEM;
  if (r < 0 && r != -ENOMEM) {
    char buf[1024];
    bal_elog(e, BAL_LOG_ERR, "zone records: %s: no zone planning this pass",
             pm_error_str(&err, buf, sizeof(buf)));
  }
  for (size_t i = 0; r == 0 && i < zr->n; i++)
    rec[i] = (bal_record_t){zr->v[i].key, zr->v[i].value};
  if (e->zcore && strcmp(bal_zone_name(e->zcore), bal_engine_zone(e)) != 0) {
    bal_zone_free(e->zcore); /* a reload changed the zone */
    e->zcore = NULL;
  }
  /* Made once; a reload's interval reaches it (silence is counted in
   * intervals). */
  bal_zone_params_t zp;
  bal_zone_params_init(&zp);
  zp.interval = cf->interval;
  if (r == 0 && !e->zcore &&
      !(e->zcore = bal_zone_new(bal_engine_zone(e), &zp)))
    r = -errno;
  else if (r == 0)
    r = bal_zone_set_params(e->zcore, &zp);
  const char *bad = NULL;
  if (r == 0)
    r = bal_zone_begin(e->zcore, rec, zr->n, zones, nz, (int64_t)p->now, &bad);
  if (r == -EINVAL) {
    bal_elog(e, BAL_LOG_WARNING,
             "zone record %s does not read as its key says: ignored",
             bad ? bad : "?");
    r = 0;
  }
  if (r == 0)
    write_actions(p, 0);
  p->zone_acts = r == 0 ? bal_zone_nactions(e->zcore) : 0;
  /* What this pass reads: the nodes of the zones it plans. */
  if (r == 0 && !(p->reads = calloc(nn + 1, sizeof(*p->reads))))
    r = -ENOMEM;
  for (size_t n = 0; r == 0 && n < nn; n++)
    for (size_t i = 0; i < bal_zone_nplanned(e->zcore); i++)
      if (strcmp(p->node_zone[n], bal_zone_planned(e->zcore, i)) == 0)
        p->reads[n] = true;
  free(rec);
  free(zones);
  return r;
}

int pass_zone_plan(struct pass *p) {
  bal_zone_t *z = p->e->zcore;
  int r = bal_zone_plan(z, p->c, p->node_zone, &p->params);
  size_t nx = bal_zone_ncross(z);
  bal_move_t *x = calloc(nx + 1, sizeof(*x));
  if (r == 0 && !x)
    r = -ENOMEM;
  for (size_t i = 0; r == 0 && i < nx; i++)
    r = bal_zone_cross(z, i, &x[i]);
  if (r == 0)
    r = bal_plan_rebase(bal_zone_local(z), x, nx, p->c, &p->params, &p->plan);
  free(x);
  if (r < 0)
    bal_elog(p->e, BAL_LOG_ERR, "zone planning: %s", pm_strerror(r));
  return r;
}

void pass_zone_end(struct pass *p) {
  bal_zone_t *z = p->e->zcore;
  write_actions(p, p->zone_acts);
  bal_zone_stats_t st;
  bal_zone_stats(z, &st);
  if (st.requested || st.granted || st.refused || st.cross)
    bal_elog(p->e, BAL_LOG_INFO,
             "zone %s: %u unit(s) requested from other zones, %u request(s) "
             "granted, %u refused, %u unit(s) moving across zones",
             bal_zone_name(z), st.requested, st.granted, st.refused, st.cross);
}
