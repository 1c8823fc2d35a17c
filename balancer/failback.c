/* failback.c: which resources a failed node lost, when that node is back,
 * and what each fail-back policy does about it. Pure: the state is the
 * caller's (persisted in the state file). */
#include "config.h"

#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const fb_names[] = {
    [BAL_FB_NEVER] = "never",
    [BAL_FB_MANUAL] = "manual",
    [BAL_FB_AUTO] = "auto",
};

int bal_failback_parse(const char *s, enum bal_failback *ret) {
  for (size_t i = 0; s && i < sizeof(fb_names) / sizeof(fb_names[0]); i++)
    if (strcmp(s, fb_names[i]) == 0) {
      *ret = (enum bal_failback)i;
      return 0;
    }
  return -EINVAL;
}

const char *bal_failback_name(enum bal_failback m) {
  return (unsigned)m <= BAL_FB_AUTO ? fb_names[m] : "?";
}

enum bal_fb_action bal_failback_due(enum bal_failback m, time_t back,
                                    time_t now, unsigned stable) {
  if (m == BAL_FB_NEVER)
    return BAL_FB_NONE;
  if (back <= 0 || now < back || (unsigned long long)(now - back) < stable)
    return BAL_FB_WAIT;
  return m == BAL_FB_AUTO ? BAL_FB_MOVE : BAL_FB_LIST;
}

time_t bal_state_back_since(const struct bal_state *st, const char *node) {
  for (size_t i = 0; i < st->nback; i++)
    if (strcmp(st->back[i].node, node) == 0)
      return st->back[i].since;
  return 0;
}

static void back_drop(struct bal_state *st, const char *node) {
  for (size_t i = 0; i < st->nback; i++)
    if (strcmp(st->back[i].node, node) == 0) {
      free(st->back[i].node);
      st->back[i] = st->back[--st->nback];
      return;
    }
}

static int back_set(struct bal_state *st, const char *node, time_t since) {
  back_drop(st, node);
  return bal_state_add_back(st, node, since);
}

static int set_str(char **dst, const char *s) {
  char *c = s ? strdup(s) : NULL;
  if (s && !c)
    return -ENOMEM;
  free(*dst);
  *dst = c;
  return 0;
}

int bal_failback_track(struct bal_state *st, const struct bal_pcmk *pc,
                       time_t now) {
  int r = 0;
  for (size_t i = 0; r == 0 && i < pc->nnodes; i++) {
    const char *name = pc->nodes[i].name;
    if (pc->nodes[i].state == BAL_NODE_OFFLINE)
      back_drop(st, name);
    else if (bal_state_was_offline(st, name))
      r = back_set(st, name, now);
  }
  /* Lost: its seen node is offline now. */
  for (size_t i = 0; r == 0 && i < st->n; i++) {
    struct bal_state_rsc *s = &st->rsc[i];
    int k = s->seen ? bal_pcmk_find_node(pc, s->seen) : -1;
    if (k < 0 || pc->nodes[k].state != BAL_NODE_OFFLINE)
      continue;
    if (!s->lost_from || strcmp(s->lost_from, s->seen) != 0) {
      r = set_str(&s->lost_from, s->seen);
      s->lost_at = now;
      s->listed = false;
    }
  }
  /* Seen: where each resource runs now, on a node not offline; back home
   * ends the loss. */
  for (size_t i = 0; r == 0 && i < pc->nrscs; i++) {
    const struct bal_pcmk_rsc *rs = &pc->rscs[i];
    int k = rs->node ? bal_pcmk_find_node(pc, rs->node) : -1;
    if (rs->clone || k < 0 || pc->nodes[k].state == BAL_NODE_OFFLINE)
      continue;
    struct bal_state_rsc *s = bal_state_get(st, rs->id, true);
    if (!s)
      return -ENOMEM;
    if (!s->seen || strcmp(s->seen, rs->node) != 0)
      r = set_str(&s->seen, rs->node);
    if (r == 0 && s->lost_from && strcmp(s->lost_from, rs->node) == 0) {
      r = set_str(&s->lost_from, NULL);
      s->lost_at = 0;
      s->listed = false;
    }
  }
  return r;
}
