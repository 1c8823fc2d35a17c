/* cluster.c: the cluster model the planner works on. */
#include "config.h"

#include "internal.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

static const char *const dim_names[BAL_NDIM] = {
    [BAL_CPU] = "cpu", [BAL_MEM] = "memory", [BAL_NET] = "net"};

const char *bal_dim_name(enum bal_dim d) {
  return (unsigned)d < BAL_NDIM ? dim_names[d] : "?";
}

/* ---- small containers ---------------------------------------------------- */

int bal_map_put(struct bal_map *m, const char *key, int val) {
  if (!key || val < 0 || val == INT_MAX)
    return -EINVAL;
  return pm_map_set(&m->m, key, (void *)(intptr_t)(val + 1));
}

int bal_map_get(const struct bal_map *m, const char *key) {
  intptr_t v = key ? (intptr_t)pm_map_get(&m->m, key) : 0;
  return v ? (int)(v - 1) : -ENOENT;
}

void bal_map_free(struct bal_map *m) { pm_map_free(&m->m, NULL); }

int bal_ints_push(struct bal_ints *a, int x) {
  int *slot = pm_vec_push(a);
  if (!slot)
    return -ENOMEM;
  *slot = x;
  return 0;
}

void bal_ints_free(struct bal_ints *a) { pm_vec_free(a); }

/* ---- model --------------------------------------------------------------- */

bal_cluster_t *bal_cluster_new(void) {
  return calloc(1, sizeof(bal_cluster_t));
}

void bal_cluster_free(bal_cluster_t *c) {
  if (!c)
    return;
  for (size_t i = 0; i < c->nnodes; i++)
    free(c->nodes[i].name);
  for (size_t i = 0; i < c->nsvcs; i++) {
    free(c->svcs[i].name);
    free(c->svcs[i].why_fixed);
    bal_ints_free(&c->svcs[i].bans);
  }
  for (size_t i = 0; i < c->nattrs; i++)
    free(c->attrs[i]);
  free(c->nodes);
  free(c->svcs);
  bal_ints_free(&c->sep);
  bal_map_free(&c->node_ix);
  bal_map_free(&c->svc_ix);
  free(c);
}

int bal_cluster_add_node(bal_cluster_t *c, const char *name,
                         const double cap[BAL_NDIM], enum bal_node_state st) {
  if (!name || !*name || (unsigned)st > BAL_NODE_OFFLINE)
    return -EINVAL;
  if (bal_map_get(&c->node_ix, name) >= 0)
    return -EEXIST;
  void *grown =
      pm_vec_grow(c->nodes, &c->capnodes, c->nnodes + 1, sizeof(*c->nodes));
  if (!grown)
    return -ENOMEM;
  c->nodes = grown;
  struct bal_node *n = &c->nodes[c->nnodes];
  *n = (struct bal_node){.state = st};
  n->name = strdup(name);
  if (!n->name)
    return -ENOMEM;
  for (int d = 0; d < BAL_NDIM; d++) {
    n->cap[d] = cap ? cap[d] : NAN;
    n->load[d] = n->level[d] = NAN;
  }
  for (int a = 0; a < BAL_MAX_ATTRS; a++)
    n->attr[a] = NAN;
  if (bal_map_put(&c->node_ix, name, (int)c->nnodes) < 0) {
    free(n->name);
    return -ENOMEM;
  }
  return (int)c->nnodes++;
}

static struct bal_node *node_at(const bal_cluster_t *c, int i) {
  return i >= 0 && (size_t)i < c->nnodes ? &c->nodes[i] : NULL;
}

static struct bal_service *svc_at(const bal_cluster_t *c, int i) {
  return i >= 0 && (size_t)i < c->nsvcs ? &c->svcs[i] : NULL;
}

int bal_node_set_load(bal_cluster_t *c, int node, const double load[BAL_NDIM]) {
  struct bal_node *n = node_at(c, node);
  if (!n)
    return -EINVAL;
  memcpy(n->load, load, sizeof(n->load));
  return 0;
}

/* Spreads are standard deviations: finite and not negative. */
static int set_spread(double dst[BAL_NDIM], const double sd[BAL_NDIM]) {
  for (int d = 0; d < BAL_NDIM; d++)
    if (!(sd[d] >= 0) || !isfinite(sd[d]))
      return -EINVAL;
  memcpy(dst, sd, BAL_NDIM * sizeof(double));
  return 0;
}

int bal_node_set_spread(bal_cluster_t *c, int node, const double sd[BAL_NDIM]) {
  struct bal_node *n = node_at(c, node);
  return n ? set_spread(n->spread, sd) : -EINVAL;
}

int bal_service_set_spread(bal_cluster_t *c, int svc,
                           const double sd[BAL_NDIM]) {
  struct bal_service *s = svc_at(c, svc);
  return s ? set_spread(s->spread, sd) : -EINVAL;
}

/* A level with its spread: every mean finite or NAN (not known), every
 * spread finite and not negative. */
static int set_level(double lv[BAL_NDIM], double sd_out[BAL_NDIM],
                     const double mean[BAL_NDIM], const double sd[BAL_NDIM]) {
  for (int d = 0; d < BAL_NDIM; d++)
    if (isinf(mean[d]) || !(sd[d] >= 0) || !isfinite(sd[d]))
      return -EINVAL;
  memcpy(lv, mean, BAL_NDIM * sizeof(double));
  memcpy(sd_out, sd, BAL_NDIM * sizeof(double));
  return 0;
}

int bal_node_set_level(bal_cluster_t *c, int node, const double mean[BAL_NDIM],
                       const double sd[BAL_NDIM]) {
  struct bal_node *n = node_at(c, node);
  return n ? set_level(n->level, n->level_sd, mean, sd) : -EINVAL;
}

int bal_service_set_level(bal_cluster_t *c, int svc,
                          const double mean[BAL_NDIM],
                          const double sd[BAL_NDIM]) {
  struct bal_service *s = svc_at(c, svc);
  return s ? set_level(s->level, s->level_sd, mean, sd) : -EINVAL;
}

int bal_node_set_state(bal_cluster_t *c, int node, enum bal_node_state st) {
  struct bal_node *n = node_at(c, node);
  if (!n || (unsigned)st > BAL_NODE_OFFLINE)
    return -EINVAL;
  n->state = st;
  return 0;
}

int bal_cluster_add_service(bal_cluster_t *c, const char *name, int node,
                            const double demand[BAL_NDIM]) {
  if (!name || !*name || node < -1 || node >= (int)c->nnodes)
    return -EINVAL;
  if (bal_map_get(&c->svc_ix, name) >= 0)
    return -EEXIST;
  void *grown =
      pm_vec_grow(c->svcs, &c->capsvcs, c->nsvcs + 1, sizeof(*c->svcs));
  if (!grown)
    return -ENOMEM;
  c->svcs = grown;
  struct bal_service *s = &c->svcs[c->nsvcs];
  *s = (struct bal_service){
      .node = node, .colo = (int)c->nsvcs, .primary = -1, .home = -1};
  s->name = strdup(name);
  if (!s->name)
    return -ENOMEM;
  for (int d = 0; d < BAL_NDIM; d++) {
    s->demand[d] = demand ? demand[d] : NAN;
    s->level[d] = NAN;
  }
  for (int a = 0; a < BAL_MAX_ATTRS; a++)
    s->attr[a] = NAN;
  if (bal_map_put(&c->svc_ix, name, (int)c->nsvcs) < 0) {
    free(s->name);
    return -ENOMEM;
  }
  return (int)c->nsvcs++;
}

int bal_service_set_demand(bal_cluster_t *c, int svc,
                           const double demand[BAL_NDIM]) {
  struct bal_service *s = svc_at(c, svc);
  if (!s)
    return -EINVAL;
  memcpy(s->demand, demand, sizeof(s->demand));
  return 0;
}

const char *bal_ha_name(enum bal_ha m) {
  static const char *const names[] = {
      [BAL_HA_PRIMITIVE] = "primitive",
      [BAL_HA_CLONE] = "clone",
      [BAL_HA_PROMOTED] = "promoted",
      [BAL_HA_UNPROMOTED] = "unpromoted",
  };
  return (unsigned)m <= BAL_HA_UNPROMOTED ? names[m] : "?";
}

int bal_service_set_ha(bal_cluster_t *c, int svc, enum bal_ha mode,
                       int primary) {
  struct bal_service *s = svc_at(c, svc);
  if (!s || (unsigned)mode > BAL_HA_UNPROMOTED || primary == svc ||
      primary < -1 || primary >= (int)c->nsvcs ||
      (primary >= 0 && mode != BAL_HA_UNPROMOTED))
    return -EINVAL;
  s->ha = mode;
  s->primary = primary;
  return 0;
}

int bal_service_set_home(bal_cluster_t *c, int svc, int node) {
  struct bal_service *s = svc_at(c, svc);
  if (!s || node < -1 || node >= (int)c->nnodes)
    return -EINVAL;
  s->home = node;
  return 0;
}

enum bal_ha bal_service_ha(const bal_cluster_t *c, int svc) {
  return svc >= 0 && (size_t)svc < c->nsvcs ? c->svcs[svc].ha
                                            : BAL_HA_PRIMITIVE;
}

int bal_service_set_flags(bal_cluster_t *c, int svc, unsigned flags,
                          const char *why) {
  struct bal_service *s = svc_at(c, svc);
  if (!s)
    return -EINVAL;
  char *w = why ? strdup(why) : NULL;
  if (why && !w)
    return -ENOMEM;
  free(s->why_fixed);
  s->why_fixed = w;
  s->flags = flags;
  return 0;
}

int bal_service_ban(bal_cluster_t *c, int svc, int node) {
  struct bal_service *s = svc_at(c, svc);
  if (!s || !node_at(c, node))
    return -EINVAL;
  for (size_t i = 0; i < s->bans.n; i++)
    if (s->bans.v[i] == node)
      return 0;
  return bal_ints_push(&s->bans, node);
}

int bal_colo_root(const bal_cluster_t *c, int s) {
  while (c->svcs[s].colo != s)
    s = c->svcs[s].colo;
  return s;
}

/* Points every service on the path from s straight at root. */
static void compress(bal_cluster_t *c, int s, int root) {
  while (c->svcs[s].colo != s) {
    int next = c->svcs[s].colo;
    c->svcs[s].colo = root;
    s = next;
  }
}

int bal_service_colocate(bal_cluster_t *c, int a, int b) {
  if (!svc_at(c, a) || !svc_at(c, b))
    return -EINVAL;
  int ra = bal_colo_root(c, a), rb = bal_colo_root(c, b);
  compress(c, a, ra);
  compress(c, b, rb);
  /* The lower index becomes the root so the result does not depend on the
   * order of the calls. */
  if (ra < rb)
    c->svcs[rb].colo = ra;
  else
    c->svcs[ra].colo = rb;
  return 0;
}

int bal_service_separate(bal_cluster_t *c, int a, int b) {
  if (!svc_at(c, a) || !svc_at(c, b) || a == b)
    return -EINVAL;
  int r = bal_ints_push(&c->sep, a);
  return r < 0 ? r : bal_ints_push(&c->sep, b);
}

int bal_cluster_add_attr(bal_cluster_t *c, const char *name) {
  for (size_t i = 0; i < c->nattrs; i++)
    if (strcmp(c->attrs[i], name) == 0)
      return (int)i;
  if (c->nattrs == BAL_MAX_ATTRS)
    return -E2BIG;
  c->attrs[c->nattrs] = strdup(name);
  if (!c->attrs[c->nattrs])
    return -ENOMEM;
  return (int)c->nattrs++;
}

int bal_node_set_attr(bal_cluster_t *c, int node, int attr, double v) {
  struct bal_node *n = node_at(c, node);
  if (!n || attr < 0 || (size_t)attr >= c->nattrs)
    return -EINVAL;
  n->attr[attr] = v;
  return 0;
}

int bal_service_set_attr(bal_cluster_t *c, int svc, int attr, double v) {
  struct bal_service *s = svc_at(c, svc);
  if (!s || attr < 0 || (size_t)attr >= c->nattrs)
    return -EINVAL;
  s->attr[attr] = v;
  return 0;
}

int bal_cluster_find_node(const bal_cluster_t *c, const char *name) {
  return bal_map_get(&c->node_ix, name);
}

int bal_cluster_find_service(const bal_cluster_t *c, const char *name) {
  return bal_map_get(&c->svc_ix, name);
}

size_t bal_cluster_nnodes(const bal_cluster_t *c) { return c->nnodes; }
size_t bal_cluster_nservices(const bal_cluster_t *c) { return c->nsvcs; }

const char *bal_node_name(const bal_cluster_t *c, int node) {
  struct bal_node *n = node_at(c, node);
  return n ? n->name : NULL;
}

const char *bal_service_name(const bal_cluster_t *c, int svc) {
  struct bal_service *s = svc_at(c, svc);
  return s ? s->name : NULL;
}

int bal_service_node(const bal_cluster_t *c, int svc) {
  struct bal_service *s = svc_at(c, svc);
  return s ? s->node : -EINVAL;
}

enum bal_node_state bal_node_state(const bal_cluster_t *c, int node) {
  struct bal_node *n = node_at(c, node);
  return n ? n->state : BAL_NODE_OFFLINE;
}

double bal_node_util(const bal_cluster_t *c, int node) {
  struct bal_node *n = node_at(c, node);
  if (!n)
    return NAN;
  double u = 0;
  int any = 0;
  for (int d = 0; d < BAL_NDIM; d++) {
    if (!bal_dim_on(n, d))
      continue;
    if (isnan(n->load[d]))
      return NAN;
    any = 1;
    u = fmax(u, n->load[d] / n->cap[d]);
  }
  return any ? u : NAN;
}
