/* pm_map.c: the string-keyed map of pm_map.h. */
#include "config.h"

#include "pm_map.h"

#include "pm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static bool same(const struct pm_map_slot *s, uint64_t h, const char *key,
                 size_t len) {
  return s->hash == h && strncmp(s->key, key, len) == 0 && s->key[len] == '\0';
}

/* The slot holding key, or the empty slot where it would go. size > 0. */
static struct pm_map_slot *probe(const pm_map_t *m, uint64_t h, const char *key,
                                 size_t len) {
  size_t mask = m->size - 1;
  for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
    struct pm_map_slot *s = &m->slots[i];
    if (!s->key || same(s, h, key, len))
      return s;
  }
}

static int resize(pm_map_t *m, size_t size) {
  struct pm_map_slot *slots = calloc(size, sizeof(*slots));
  if (!slots)
    return -ENOMEM;
  for (size_t i = 0; i < m->size; i++) {
    const struct pm_map_slot *s = &m->slots[i];
    if (!s->key)
      continue;
    size_t j = (size_t)s->hash & (size - 1);
    while (slots[j].key)
      j = (j + 1) & (size - 1);
    slots[j] = *s;
  }
  free(m->slots);
  m->slots = slots;
  m->size = size;
  return 0;
}

int pm_map_setn(pm_map_t *m, const char *key, size_t len, void *val,
                const char **ret_key) {
  uint64_t h = pm_hash(key, len);
  if (m->size) {
    struct pm_map_slot *s = probe(m, h, key, len);
    if (s->key) {
      s->val = val;
      if (ret_key)
        *ret_key = s->key;
      return 0;
    }
  }
  /* At most half full: probe runs stay short. */
  if ((m->n + 1) * 2 > m->size) {
    int r = resize(m, m->size ? m->size * 2 : 16);
    if (r < 0)
      return r;
  }
  char *copy = strndup(key, len);
  if (!copy)
    return -ENOMEM;
  struct pm_map_slot *s = probe(m, h, key, len);
  *s = (struct pm_map_slot){.key = copy, .val = val, .hash = h};
  m->n++;
  if (ret_key)
    *ret_key = copy;
  return 1;
}

int pm_map_set(pm_map_t *m, const char *key, void *val) {
  return pm_map_setn(m, key, strlen(key), val, NULL);
}

void *pm_map_getn(const pm_map_t *m, const char *key, size_t len) {
  if (!m->n)
    return NULL;
  const struct pm_map_slot *s = probe(m, pm_hash(key, len), key, len);
  return s->key ? s->val : NULL;
}

void *pm_map_get(const pm_map_t *m, const char *key) {
  return pm_map_getn(m, key, strlen(key));
}

bool pm_map_has(const pm_map_t *m, const char *key) {
  size_t len = strlen(key);
  return m->n && probe(m, pm_hash(key, len), key, len)->key;
}

void *pm_map_del(pm_map_t *m, const char *key) {
  if (!m->n)
    return NULL;
  size_t len = strlen(key), mask = m->size - 1;
  struct pm_map_slot *s = probe(m, pm_hash(key, len), key, len);
  if (!s->key)
    return NULL;
  void *val = s->val;
  free(s->key);
  m->n--;
  /* Backward shift: pull later members of the probe run into the hole
   * unless their home lies cyclically in (hole, them]. */
  size_t hole = (size_t)(s - m->slots);
  for (size_t i = (hole + 1) & mask; m->slots[i].key; i = (i + 1) & mask) {
    size_t home = (size_t)m->slots[i].hash & mask;
    if (((i - home) & mask) >= ((i - hole) & mask)) {
      m->slots[hole] = m->slots[i];
      hole = i;
    }
  }
  m->slots[hole] = (struct pm_map_slot){0};
  return val;
}

bool pm_map_next(const pm_map_t *m, size_t *iter, const char **ret_key,
                 void **ret_val) {
  for (; *iter < m->size; (*iter)++) {
    const struct pm_map_slot *s = &m->slots[*iter];
    if (!s->key)
      continue;
    if (ret_key)
      *ret_key = s->key;
    if (ret_val)
      *ret_val = s->val;
    (*iter)++;
    return true;
  }
  return false;
}

void pm_map_clear(pm_map_t *m, void (*free_val)(void *)) {
  for (size_t i = 0; i < m->size; i++) {
    struct pm_map_slot *s = &m->slots[i];
    if (!s->key)
      continue;
    if (free_val)
      free_val(s->val);
    free(s->key);
    *s = (struct pm_map_slot){0};
  }
  m->n = 0;
}

void pm_map_free(pm_map_t *m, void (*free_val)(void *)) {
  if (!m)
    return;
  pm_map_clear(m, free_val);
  free(m->slots);
  *m = (pm_map_t){0};
}
