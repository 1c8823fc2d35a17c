/* digest.c: do the nodes watch alike? Their pattern set digests (the node
 * attribute patmon-pattern-digest, see pattern.h) compared. Pure: no
 * command runs, nothing is logged. */
#include "config.h"

#include "internal.h"
#include "pm_sha256.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Digests are shown by their first 12 hex digits: enough to tell them
 * apart by eye, short enough for a log line. */
#define SHOWN 12

struct group {
  const char *digest;
  size_t n;
};

static int by_name(const void *a, const void *b) {
  const struct bal_node_digest *x = a, *y = b;
  return strcmp(x->node, y->node);
}

/* Largest group first; equal sizes by digest, so the text is stable. */
static int by_size(const void *a, const void *b) {
  const struct group *x = a, *y = b;
  if (x->n != y->n)
    return x->n < y->n ? 1 : -1;
  return strcmp(x->digest, y->digest);
}

/* ", n1, n2" for the nodes of group g. */
static int put_nodes(pm_buf_t *b, const struct bal_node_digest *v, size_t n,
                     const char *digest) {
  int r = 0;
  bool first = true;
  for (size_t i = 0; r == 0 && i < n; i++)
    if (strcmp(v[i].digest, digest) == 0) {
      r = pm_buf_printf(b, "%s%s", first ? "" : ", ", v[i].node);
      first = false;
    }
  return r;
}

int bal_digest_compare(const struct bal_node_digest *nodes, size_t n,
                       struct bal_digest_result *ret) {
  struct bal_node_digest *v = calloc(n ? n : 1, sizeof(*v));
  struct group *g = calloc(n ? n : 1, sizeof(*g));
  pm_buf_t line = {0}, key = {0};
  size_t ng = 0;
  int r = v && g ? 0 : -ENOMEM;
  if (r < 0)
    goto out;
  if (n)
    memcpy(v, nodes, n * sizeof(*v));
  qsort(v, n, sizeof(*v), by_name);
  for (size_t i = 0; i < n; i++) {
    size_t k = 0;
    while (k < ng && strcmp(g[k].digest, v[i].digest) != 0)
      k++;
    if (k == ng)
      g[ng++] = (struct group){.digest = v[i].digest};
    g[k].n++;
  }
  qsort(g, ng, sizeof(*g), by_size);
  *ret = (struct bal_digest_result){.nodes = n, .sets = ng, .first = "-"};
  if (ng == 1)
    r = pm_buf_printf(&line,
                      "the %zu node%s publishing a digest agree%s (%.*s)", n,
                      n == 1 ? "" : "s", n == 1 ? "s" : "", SHOWN, g[0].digest);
  else if (ng > 1 && g[0].n > g[1].n) {
    /* A majority: each other node by name, with its digest. */
    ret->majority = true;
    r = pm_buf_puts(&line, "pattern sets differ: ");
    bool first = true;
    for (size_t i = 0; r == 0 && i < n; i++) {
      if (strcmp(v[i].digest, g[0].digest) == 0)
        continue;
      if (first)
        ret->first = v[i].node;
      r = pm_buf_printf(&line, "%s%s has %.*s", first ? "" : ", ", v[i].node,
                        SHOWN, v[i].digest);
      if (r == 0)
        r = pm_buf_printf(&key, "%s %s\n", v[i].node, v[i].digest);
      first = false;
    }
    if (r == 0)
      r = pm_buf_printf(&line, "; the majority (%zu of %zu: ", g[0].n, n);
    if (r == 0)
      r = put_nodes(&line, v, n, g[0].digest);
    if (r == 0)
      r = pm_buf_printf(&line, ") has %.*s", SHOWN, g[0].digest);
    if (r == 0)
      r = pm_buf_printf(&key, "majority %s\n", g[0].digest);
  } else if (ng > 1) {
    ret->first = v[0].node;
    r = pm_buf_puts(&line, "pattern sets differ and none has a majority:");
    for (size_t k = 0; r == 0 && k < ng; k++) {
      r = pm_buf_printf(&line, "%s %.*s on ", k ? ";" : "", SHOWN, g[k].digest);
      if (r == 0)
        r = put_nodes(&line, v, n, g[k].digest);
    }
    for (size_t i = 0; r == 0 && i < n; i++)
      r = pm_buf_printf(&key, "%s %s\n", v[i].node, v[i].digest);
  }
  if (r < 0)
    goto out;
  if (key.len)
    pm_sha256_hex(key.data, key.len, ret->key);
  ret->line = line.data ? line.data : strdup("");
  line.data = NULL;
  if (!ret->line)
    r = -ENOMEM;
out:
  free(v);
  free(g);
  pm_buf_free(&line);
  pm_buf_free(&key);
  return r;
}
