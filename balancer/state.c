/* state.c: what the balancer remembers between passes, one line each:
 *
 *   rsc ID MOVED FAILED CONSTRAINT|- AT|-     a move: its time, whether it
 *                                              failed, the node of the
 *                                              constraint it left, the node
 *                                              it put the service on
 *   offline NODE                               seen offline last pass
 *   home ID SEEN|- LOST|- LOST_AT LISTED       fail-back: the online node
 *                                              it last ran on, the node it
 *                                              was lost from and when, and
 *                                              whether manual listed it
 *   back NODE SINCE                            online again since SINCE
 *   patterns KEY                               the pattern set differences
 *                                              last reported (absent: none)
 *
 * Unknown or malformed lines are skipped: the state only tunes cooldowns
 * and clean-up, losing it is harmless. */
#include "config.h"

#include "internal.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void bal_state_free(struct bal_state *st) {
  for (size_t i = 0; i < st->n; i++) {
    free(st->rsc[i].rsc);
    free(st->rsc[i].constraint_to);
    free(st->rsc[i].at);
    free(st->rsc[i].seen);
    free(st->rsc[i].lost_from);
  }
  for (size_t i = 0; i < st->nback; i++)
    free(st->back[i].node);
  free(st->back);
  free(st->rsc);
  bal_map_free(&st->ix);
  bal_argv_free(st->offline);
  *st = (struct bal_state){0};
}

struct bal_state_rsc *bal_state_get(struct bal_state *st, const char *rsc,
                                    bool create) {
  /* By the index: a linear search per service was quadratic, a second
   * of a 20,000-service pass. */
  int k = bal_map_get(&st->ix, rsc);
  if (k >= 0)
    return &st->rsc[k];
  if (!create || st->n >= INT_MAX - 1)
    return NULL;
  struct bal_state_rsc *v =
      pm_vec_grow(st->rsc, &st->cap, st->n + 1, sizeof(*v));
  if (!v)
    return NULL;
  st->rsc = v;
  v[st->n] = (struct bal_state_rsc){.rsc = strdup(rsc)};
  if (!v[st->n].rsc || bal_map_put(&st->ix, rsc, (int)st->n) < 0) {
    free(v[st->n].rsc);
    return NULL;
  }
  return &v[st->n++];
}

int bal_state_add_back(struct bal_state *st, const char *node, time_t since) {
  struct bal_state_back *v =
      pm_vec_grow(st->back, &st->back_cap, st->nback + 1, sizeof(*v));
  if (!v)
    return -ENOMEM;
  st->back = v;
  if (!(v[st->nback].node = strdup(node)))
    return -ENOMEM;
  v[st->nback++].since = since;
  return 0;
}

int bal_state_set_offline(struct bal_state *st, char **nodes) {
  bal_argv_free(st->offline);
  st->offline = nodes;
  return 0;
}

bool bal_state_was_offline(const struct bal_state *st, const char *node) {
  for (char **p = st->offline; p && *p; p++)
    if (strcmp(*p, node) == 0)
      return true;
  return false;
}

static bool token_ok(const char *s) { return s && *s && !strchr(s, ' '); }

int bal_state_load(const char *path, struct bal_state *st) {
  pm_buf_t b = {0};
  *st = (struct bal_state){0};
  int r = pm_file_read(path, 64u << 20, &b);
  if (r == -ENOENT) {
    pm_buf_free(&b);
    return 0;
  }
  if (r < 0) {
    pm_buf_free(&b);
    return r;
  }
  size_t noff = 0;
  char **off = calloc(1, sizeof(char *));
  char *save = NULL;
  for (char *line = b.data ? strtok_r(b.data, "\n", &save) : NULL;
       r == 0 && line; line = strtok_r(NULL, "\n", &save)) {
    char id[512], node[512], at[512] = "-";
    long long moved;
    int failed;
    if (sscanf(line, "rsc %511s %lld %d %511s %511s", id, &moved, &failed, node,
               at) >= 4) {
      struct bal_state_rsc *s = bal_state_get(st, id, true);
      if (!s) {
        r = -ENOMEM;
        break;
      }
      s->moved = (time_t)moved;
      s->failed = failed != 0;
      free(s->constraint_to);
      free(s->at);
      s->constraint_to = strcmp(node, "-") ? strdup(node) : NULL;
      s->at = strcmp(at, "-") ? strdup(at) : NULL;
    } else if (sscanf(line, "home %511s %511s %511s %lld %d", id, node, at,
                      &moved, &failed) == 5) {
      struct bal_state_rsc *s = bal_state_get(st, id, true);
      if (!s) {
        r = -ENOMEM;
        break;
      }
      free(s->seen);
      free(s->lost_from);
      s->seen = strcmp(node, "-") ? strdup(node) : NULL;
      s->lost_from = strcmp(at, "-") ? strdup(at) : NULL;
      s->lost_at = (time_t)moved;
      s->listed = failed != 0;
    } else if (sscanf(line, "patterns %64s", st->patterns) == 1) {
      continue;
    } else if (sscanf(line, "back %511s %lld", node, &moved) == 2) {
      if ((r = bal_state_add_back(st, node, (time_t)moved)) < 0)
        break;
    } else if (sscanf(line, "offline %511s", node) == 1) {
      if ((r = pm_strv_push(&off, &noff, node)) < 0)
        break;
    }
  }
  if (off)
    off[noff] = NULL;
  st->offline = off;
  pm_buf_free(&b);
  if (r < 0)
    bal_state_free(st);
  return r;
}

int bal_state_save(const char *path, const struct bal_state *st) {
  pm_buf_t b = {0};
  int r = pm_buf_puts(&b, "# patmon-balance state: rsc ID MOVED FAILED "
                          "CONSTRAINT AT, offline NODE, home ID SEEN LOST "
                          "LOST_AT LISTED, back NODE SINCE, patterns KEY\n");
  for (size_t i = 0; r == 0 && i < st->n; i++) {
    const struct bal_state_rsc *s = &st->rsc[i];
    if (!token_ok(s->rsc))
      continue;
    r = pm_buf_printf(&b, "rsc %s %lld %d %s %s\n", s->rsc, (long long)s->moved,
                      s->failed ? 1 : 0,
                      token_ok(s->constraint_to) ? s->constraint_to : "-",
                      token_ok(s->at) ? s->at : "-");
  }
  for (size_t i = 0; r == 0 && i < st->n; i++) {
    const struct bal_state_rsc *s = &st->rsc[i];
    if (token_ok(s->rsc) && (token_ok(s->seen) || token_ok(s->lost_from)))
      r = pm_buf_printf(&b, "home %s %s %s %lld %d\n", s->rsc,
                        token_ok(s->seen) ? s->seen : "-",
                        token_ok(s->lost_from) ? s->lost_from : "-",
                        (long long)s->lost_at, s->listed ? 1 : 0);
  }
  for (char **p = st->offline; r == 0 && p && *p; p++)
    if (token_ok(*p))
      r = pm_buf_printf(&b, "offline %s\n", *p);
  for (size_t i = 0; r == 0 && i < st->nback; i++)
    if (token_ok(st->back[i].node))
      r = pm_buf_printf(&b, "back %s %lld\n", st->back[i].node,
                        (long long)st->back[i].since);
  if (r == 0 && token_ok(st->patterns))
    r = pm_buf_printf(&b, "patterns %s\n", st->patterns);
  if (r == 0) {
    r = pm_file_replace(path, b.data, b.len, 0644);
    r = r > 0 ? 0 : r;
  }
  pm_buf_free(&b);
  return r;
}
