/* set.c: a thread-safe set of named sources, their refit queue and the
 * eviction of idle ones. */
#include "config.h"

#include "forecast.h"
#include "pm.h"
#include "pm_map.h"
#include "pm_vec.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct fc_source {
  fc_source_t *next_due; /* refit queue (queue lock) */
  fc_set_t *set;
  pthread_mutex_t lock; /* everything below */
  bool wanted, queued;
  size_t n;
  double last, interval;
  size_t bytes;
  char *key;
  unsigned char *user;
  fc_series_t *series[];
};

struct fc_set {
  fc_params_t p;
  size_t user_size;
  pthread_mutex_t lock; /* the table */
  pm_map_t sources;     /* key -> fc_source_t */
  size_t nsources, nignored, bytes;
  pthread_mutex_t queue_lock;
  fc_source_t *due;
};

static void source_free(fc_source_t *src) {
  for (size_t i = 0; i < src->n; i++)
    fc_series_free(src->series[i]);
  pthread_mutex_destroy(&src->lock);
  free(src);
}

static void source_free_any(void *src) { source_free(src); }

/* One block: the struct, the series pointers, the key, the user bytes. */
static fc_source_t *source_new(fc_set_t *set, const char *key, size_t n,
                               const fc_kind_t *kinds) {
  size_t head = sizeof(fc_source_t) + n * sizeof(fc_series_t *);
  size_t klen = strlen(key) + 1;
  size_t user = (klen + 15) / 16 * 16;
  size_t bytes = head + user + n * set->user_size;
  fc_source_t *src = calloc(1, bytes);
  if (!src)
    return NULL;
  src->set = set;
  src->key = (char *)src + head;
  memcpy(src->key, key, klen);
  src->user = (unsigned char *)src + head + user;
  src->bytes = bytes;
  pthread_mutex_init(&src->lock, NULL);
  src->wanted = kinds != NULL;
  for (; kinds && src->n < n; src->n++) {
    if (!(src->series[src->n] = fc_series_new(&set->p, kinds[src->n]))) {
      source_free(src);
      return NULL;
    }
    src->bytes += fc_series_size(src->series[src->n]);
  }
  return src;
}

fc_set_t *fc_set_new(const fc_params_t *p, size_t user_size) {
  if (fc_params_check(p, NULL) < 0) {
    errno = EINVAL;
    return NULL;
  }
  fc_set_t *set = calloc(1, sizeof(*set));
  if (!set)
    return NULL;
  set->p = *p;
  set->user_size = (user_size + 15) / 16 * 16;
  pthread_mutex_init(&set->lock, NULL);
  pthread_mutex_init(&set->queue_lock, NULL);
  return set;
}

void fc_set_free(fc_set_t *set) {
  if (!set)
    return;
  pm_map_free(&set->sources, source_free_any);
  pthread_mutex_destroy(&set->lock);
  pthread_mutex_destroy(&set->queue_lock);
  free(set);
}

int fc_set_acquire(fc_set_t *set, const char *key, double t, double interval,
                   size_t n, const fc_kind_t *kinds, fc_want_fn want, void *ctx,
                   fc_source_t **ret) {
  if (n == 0 || n > FC_SOURCE_MAX)
    return -EINVAL;
  pthread_mutex_lock(&set->lock);
  fc_source_t *src = pm_map_get(&set->sources, key);
  if (!src) {
    bool wanted = want(ctx);
    if (!(src = source_new(set, key, n, wanted ? kinds : NULL)) ||
        pm_map_set(&set->sources, key, src) < 0) {
      if (src)
        source_free(src);
      pthread_mutex_unlock(&set->lock);
      return -ENOMEM;
    }
    /* The map's copy of the key is counted with the source. */
    src->bytes += strlen(key) + 1;
    set->bytes += src->bytes;
    if (wanted)
      set->nsources++;
    else
      set->nignored++;
  }
  pthread_mutex_lock(&src->lock);
  pthread_mutex_unlock(&set->lock);
  src->last = t;
  src->interval = interval;
  if (!src->wanted || src->n != n) {
    int r = src->wanted ? -EINVAL : 0;
    pthread_mutex_unlock(&src->lock);
    return r;
  }
  *ret = src;
  return 1;
}

void fc_source_release(fc_source_t *src) { pthread_mutex_unlock(&src->lock); }

int fc_source_observe(fc_source_t *src, double t, double interval,
                      const fc_raw_t *values) {
  int fed = 0;
  for (size_t i = 0; i < src->n; i++)
    fed |= fc_series_observe(src->series[i], t, interval, values[i]) == 1;
  /* Series of a source are fed together, so they fall due together. */
  if (fc_series_refit_due(src->series[0]) && !src->queued) {
    fc_set_t *set = src->set;
    pthread_mutex_lock(&set->queue_lock);
    src->next_due = set->due;
    set->due = src;
    src->queued = true;
    pthread_mutex_unlock(&set->queue_lock);
  }
  return fed;
}

int fc_source_forecast(const fc_source_t *src, size_t i, double *mean,
                       double *lower, double *upper) {
  if (i >= src->n)
    return -EINVAL;
  return fc_series_forecast(src->series[i], mean, lower, upper);
}

const char *fc_source_key(const fc_source_t *src) { return src->key; }

void *fc_source_data(fc_source_t *src, size_t i) {
  return src->user + i * src->set->user_size;
}

/* Queued sources are never evicted (fc_set_evict skips them), so the
 * detached queue holds valid pointers until each is dequeued. */
int fc_set_refit(fc_set_t *set, fc_model_t *m) {
  pthread_mutex_lock(&set->queue_lock);
  fc_source_t *src = set->due;
  set->due = NULL;
  pthread_mutex_unlock(&set->queue_lock);
  int refitted = 0;
  for (fc_source_t *next; src; src = next) {
    pthread_mutex_lock(&set->queue_lock);
    next = src->next_due;
    pthread_mutex_unlock(&set->queue_lock);
    for (size_t i = 0; i < src->n; i++) {
      pthread_mutex_lock(&src->lock);
      fc_model_load(m, src->series[i]);
      pthread_mutex_unlock(&src->lock);
      if (fc_model_fit(m) < 0)
        continue;
      pthread_mutex_lock(&src->lock);
      refitted += fc_series_install(src->series[i], m) == 0;
      pthread_mutex_unlock(&src->lock);
    }
    /* Dequeued only now, so that fc_set_evict() leaves src alone until
     * here; a due point reached meanwhile is queued by the next sample. */
    pthread_mutex_lock(&src->lock);
    src->queued = false;
    pthread_mutex_unlock(&src->lock);
  }
  return refitted;
}

size_t fc_set_evict(fc_set_t *set, double now) {
  double span = set->p.window > 10 ? set->p.window : 10;
  PM_VEC(fc_source_t *) idle = {0};
  pthread_mutex_lock(&set->lock);
  size_t it = 0;
  void *p;
  while (pm_map_next(&set->sources, &it, NULL, &p)) {
    fc_source_t *src = p;
    pthread_mutex_lock(&src->lock);
    bool gone = !src->queued && now - src->last > span * src->interval;
    pthread_mutex_unlock(&src->lock);
    fc_source_t **slot = gone ? pm_vec_push(&idle) : NULL;
    if (slot)
      *slot = src; /* without memory it stays until the next eviction */
  }
  for (size_t i = 0; i < idle.n; i++) {
    fc_source_t *src = idle.v[i];
    pm_map_del(&set->sources, src->key);
    set->bytes -= src->bytes;
    if (src->wanted)
      set->nsources--;
    else
      set->nignored--;
    source_free(src);
  }
  pthread_mutex_unlock(&set->lock);
  size_t removed = idle.n;
  pm_vec_free(&idle);
  return removed;
}

void fc_set_stats(fc_set_t *set, size_t *ret_sources, size_t *ret_ignored,
                  size_t *ret_bytes) {
  pthread_mutex_lock(&set->lock);
  *ret_sources = set->nsources;
  *ret_ignored = set->nignored;
  *ret_bytes = set->bytes + sizeof(*set) +
               set->sources.size * sizeof(struct pm_map_slot);
  pthread_mutex_unlock(&set->lock);
}
