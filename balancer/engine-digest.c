/* engine-digest.c: the nodes' pattern sets compared in a pass (digest.c
 * compares; this reads the node attributes, explains and reports). */
#include "config.h"

#include "engine-internal.h"

#include <stdlib.h>
#include <string.h>

static const char *node_attr(const struct bal_pcmk_node *nd, const char *name) {
  for (size_t i = 0; i < nd->nattrs; i++)
    if (strcmp(nd->attr_name[i], name) == 0)
      return nd->attr_val[i];
  return NULL;
}

/* Reports once per change: the key of what was reported last is kept in
 * the state file, so a restart or a --once pass does not say it again. */
static void report(struct pass *p, const struct bal_digest_result *d) {
  char *st = p->st.patterns;
  if (strcmp(d->key, st) == 0)
    return;
  if (d->key[0]) {
    bal_elog(p->e, BAL_LOG_WARNING, "%s", d->line);
    bal_run_config_hooks(p->e, p->cf, d->first, d->line);
  } else {
    pm_buf_t msg = {0};
    if (pm_buf_printf(&msg, "pattern sets agree again: %s", d->line) == 0) {
      bal_elog(p->e, BAL_LOG_NOTICE, "%s", msg.data);
      bal_run_config_hooks(p->e, p->cf, "-", msg.data);
    }
    pm_buf_free(&msg);
  }
  memcpy(st, d->key, sizeof(p->st.patterns));
}

void pass_patterns(struct pass *p) {
  const struct bal_pcmk *pc = p->pc;
  struct bal_node_digest *v = calloc(pc->nnodes + 1, sizeof(*v));
  struct bal_digest_result d = {0};
  pm_buf_t missing = {0};
  size_t n = 0;
  if (!v)
    goto fail;
  for (size_t i = 0; i < pc->nnodes; i++) {
    const struct bal_pcmk_node *nd = &pc->nodes[i];
    const char *dg = node_attr(nd, BAL_DIGEST_ATTR);
    if (nd->state == BAL_NODE_OFFLINE)
      continue;
    if (dg && *dg)
      v[n++] = (struct bal_node_digest){.node = nd->name, .digest = dg};
    else if (pm_buf_printf(&missing, "%s%s", missing.len ? ", " : "",
                           nd->name) < 0)
      goto fail;
  }
  if (n == 0) {
    free(v);
    pm_buf_free(&missing);
    return; /* no node runs the pattern plugin with Pacemaker */
  }
  if (bal_digest_compare(v, n, &d) < 0)
    goto fail;
  pm_buf_printf(&p->patterns, "patterns: %s\n", d.line);
  if (missing.len)
    pm_buf_printf(&p->patterns, "patterns: no digest from %s\n", missing.data);
  if (pass_side_effects(p) && p->lead)
    report(p, &d);
  free(v);
  free(d.line);
  pm_buf_free(&missing);
  return;
fail:
  bal_elog(p->e, BAL_LOG_WARNING,
           "pattern sets: out of memory comparing the nodes' digests");
  free(v);
  free(d.line);
  pm_buf_free(&missing);
}
