/* events.c: patmon-balance's event socket (see events.h). */
#include "config.h"

#include "events.h"

#include "hotplug/hotplug.h"
#include "pm.h"
#include "pm_vec.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Node names kept between two takes at most: a cluster has fewer nodes. */
#define MAX_LOST 1024

struct bal_events {
  hp_watch_t *w;
  pthread_t thread, wake;
  pthread_mutex_t lock; /* guards the news and stop */
  bal_events_news_t news;
  size_t nlost;
  bool stop;
};

static bool stopping(bal_events_t *ev) {
  pthread_mutex_lock(&ev->lock);
  bool s = ev->stop;
  pthread_mutex_unlock(&ev->lock);
  return s;
}

/* When the batch began, in wall-clock milliseconds. */
static int64_t batch_wall_ms(const hp_batch_t *b) {
  int64_t now = pm_wall_ms();
  uint64_t mono = pm_now_ns();
  return now -
         (int64_t)((mono > b->first_ns ? mono - b->first_ns : 0) / 1000000);
}

/* Keeps one node event with its time (MAX_LOST at most between takes). */
static void keep(bal_events_news_t *n, const hp_event_t *it, int64_t t_ms) {
  if (n->nnodes == MAX_LOST)
    return;
  struct bal_node_news *v =
      pm_vec_grow(n->nodes, &n->capnodes, n->nnodes + 1, sizeof(*v));
  if (!v)
    return;
  n->nodes = v;
  if ((v[n->nnodes].node = strdup(it->name))) {
    v[n->nnodes].lost = it->action != HP_ACT_MEMBER;
    v[n->nnodes].fenced = it->action == HP_ACT_FENCED;
    v[n->nnodes++].t_ms = t_ms;
  }
}

/* Adds a batch's node events to the news. True when there is news. */
static bool add(bal_events_t *ev, const hp_batch_t *b) {
  bool news = false;
  int64_t t_ms = batch_wall_ms(b);
  pthread_mutex_lock(&ev->lock);
  bal_events_news_t *n = &ev->news;
  for (unsigned i = 0; i < b->nitems; i++) {
    const hp_event_t *it = &b->items[i];
    if (it->kind != HP_NODE)
      continue;
    news = true;
    keep(n, it, t_ms);
    if (it->action == HP_ACT_MEMBER) {
      n->joined++;
      continue;
    }
    bool known = false;
    for (size_t k = 0; k < ev->nlost && !known; k++)
      known = strcmp(n->lost[k], it->name) == 0;
    if (known || ev->nlost == MAX_LOST)
      continue;
    pm_strv_push(&n->lost, &ev->nlost, it->name); /* else: not listed */
  }
  /* Node events beyond the listed items: a replan all the same. */
  if (b->unlisted && b->kinds & HP_NODE)
    news = true;
  if (b->dropped) {
    news = true;
    if (!n->dropped)
      snprintf(n->first_dropped, sizeof(n->first_dropped), "%s",
               b->first_dropped);
    n->dropped += b->dropped;
  }
  pthread_mutex_unlock(&ev->lock);
  return news;
}

static void *run(void *arg) {
  bal_events_t *ev = arg;
  hp_batch_t *b = malloc(sizeof(*b));
  while (b && !stopping(ev)) {
    int r = hp_watch_next(ev->w, -1, b);
    if (r == HP_NEXT_BATCH && add(ev, b))
      pthread_kill(ev->wake, SIGUSR1);
    else if (r < 0 && r != -EINTR)
      break; /* the socket is gone: the daemon's interval stays */
  }
  free(b);
  return NULL;
}

int bal_events_start(const char *path, const char *group, pthread_t wake,
                     bal_events_t **ret, char *why, size_t whylen) {
  bal_events_t *ev = calloc(1, sizeof(*ev));
  if (!ev)
    return -ENOMEM;
  pthread_mutex_init(&ev->lock, NULL);
  ev->wake = wake;
  /* Node events need no coalescing: 10 ms of quiet end a batch. */
  hp_config_t cfg = {.sources = HP_SRC_SOCKET,
                     .socket_path = path,
                     .socket_group = group,
                     .debounce_ms = 10,
                     .max_delay_ms = 100};
  int r = hp_watch_new(&cfg, &ev->w, why, whylen);
  if (r == 0 && (r = -pthread_create(&ev->thread, NULL, run, ev)) < 0) {
    snprintf(why, why ? whylen : 0, "cannot start a thread");
    hp_watch_free(ev->w);
  }
  if (r < 0) {
    pthread_mutex_destroy(&ev->lock);
    free(ev);
    return r;
  }
  *ret = ev;
  return 0;
}

void bal_events_take(bal_events_t *ev, bal_events_news_t *ret) {
  pthread_mutex_lock(&ev->lock);
  *ret = ev->news;
  ev->news = (bal_events_news_t){0};
  ev->nlost = 0;
  pthread_mutex_unlock(&ev->lock);
}

void bal_events_news_free(bal_events_news_t *n) {
  for (char **p = n->lost; p && *p; p++)
    free(*p);
  free(n->lost);
  for (size_t i = 0; i < n->nnodes; i++)
    free(n->nodes[i].node);
  free(n->nodes);
  *n = (bal_events_news_t){0};
}

void bal_events_stop(bal_events_t *ev) {
  if (!ev)
    return;
  pthread_mutex_lock(&ev->lock);
  ev->stop = true;
  pthread_mutex_unlock(&ev->lock);
  hp_watch_wake(ev->w);
  pthread_join(ev->thread, NULL);
  hp_watch_free(ev->w);
  bal_events_news_free(&ev->news);
  pthread_mutex_destroy(&ev->lock);
  free(ev);
}
