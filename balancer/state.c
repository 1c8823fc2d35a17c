/* state.c: what the balancer remembers between passes, one line each:
 *
 *   rsc ID MOVED FAILED CONSTRAINT|- AT|-     a move: its time, whether it
 *                                              failed, the node of the
 *                                              constraint it left, the node
 *                                              it put the service on
 *   offline NODE                               seen offline last pass
 *
 * Unknown or malformed lines are skipped: the state only tunes cooldowns
 * and clean-up, losing it is harmless. */
#include "config.h"

#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void bal_state_free(struct bal_state *st) {
  for (size_t i = 0; i < st->n; i++) {
    free(st->rsc[i].rsc);
    free(st->rsc[i].constraint_to);
    free(st->rsc[i].at);
  }
  free(st->rsc);
  bal_argv_free(st->offline);
  *st = (struct bal_state){0};
}

struct bal_state_rsc *bal_state_get(struct bal_state *st, const char *rsc,
                                    bool create) {
  for (size_t i = 0; i < st->n; i++)
    if (strcmp(st->rsc[i].rsc, rsc) == 0)
      return &st->rsc[i];
  if (!create)
    return NULL;
  struct bal_state_rsc *v = realloc(st->rsc, (st->n + 1) * sizeof(*v));
  if (!v)
    return NULL;
  st->rsc = v;
  v[st->n] = (struct bal_state_rsc){.rsc = strdup(rsc)};
  if (!v[st->n].rsc)
    return NULL;
  return &v[st->n++];
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
    } else if (sscanf(line, "offline %511s", node) == 1) {
      char **o = realloc(off, (noff + 2) * sizeof(char *));
      if (!o || !(o[noff] = strdup(node))) {
        off = o ? o : off;
        r = -ENOMEM;
        break;
      }
      off = o;
      off[++noff] = NULL;
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
                          "CONSTRAINT AT, offline NODE\n");
  for (size_t i = 0; r == 0 && i < st->n; i++) {
    const struct bal_state_rsc *s = &st->rsc[i];
    if (!token_ok(s->rsc))
      continue;
    r = pm_buf_printf(&b, "rsc %s %lld %d %s %s\n", s->rsc, (long long)s->moved,
                      s->failed ? 1 : 0,
                      token_ok(s->constraint_to) ? s->constraint_to : "-",
                      token_ok(s->at) ? s->at : "-");
  }
  for (char **p = st->offline; r == 0 && p && *p; p++)
    if (token_ok(*p))
      r = pm_buf_printf(&b, "offline %s\n", *p);
  if (r == 0) {
    r = pm_file_replace(path, b.data, b.len, 0644);
    r = r > 0 ? 0 : r;
  }
  pm_buf_free(&b);
  return r;
}
