/* inventory.c: the objects of a machine, compact and sorted.
 *
 * Keys ("KERNEL", "ENV{ID_BUS}", ...) are interned once per inventory; each
 * object keeps its properties sorted by key id, so a condition looks its
 * key up by binary search. Strings live in an arena or, for a loaded
 * snapshot, in the snapshot's own text. */
#include "config.h"

#include "internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_CHUNK (64u << 10)

struct pat_arena_chunk {
  struct pat_arena_chunk *next;
  size_t size;
  max_align_t data[];
};

void *pat_arena_alloc(struct pat_arena *a, size_t n) {
  n = (n + 15) & ~(size_t)15;
  if (!a->head || a->used + n > a->size) {
    size_t size = n > ARENA_CHUNK / 4 ? n : ARENA_CHUNK;
    struct pat_arena_chunk *c = malloc(sizeof(*c) + size);
    if (!c)
      return NULL;
    c->size = size;
    if (size == n && a->head) {
      /* A big block goes behind the current chunk, which stays in use. */
      c->next = a->head->next;
      a->head->next = c;
      return c->data;
    }
    c->next = a->head;
    a->head = c;
    a->used = 0;
    a->size = size;
  }
  void *p = (char *)a->head->data + a->used;
  a->used += n;
  return p;
}

char *pat_arena_strndup(struct pat_arena *a, const char *s, size_t n) {
  char *p = pat_arena_alloc(a, n + 1);
  if (p) {
    memcpy(p, s, n);
    /* The padding up to the allocation's 16 bytes too: PCRE2's JIT reads
     * a subject by words, past its NUL (valgrind would see it). */
    memset(p + n, 0, ((n + 16) & ~(size_t)15) - n);
  }
  return p;
}

char *pat_arena_strdup(struct pat_arena *a, const char *s) {
  return pat_arena_strndup(a, s, strlen(s));
}

void pat_arena_free(struct pat_arena *a) {
  struct pat_arena_chunk *c = a->head;
  while (c) {
    struct pat_arena_chunk *n = c->next;
    free(c);
    c = n;
  }
  *a = (struct pat_arena){0};
}

pat_inventory_t *pat_inventory_new(void) {
  return calloc(1, sizeof(pat_inventory_t));
}

static uint32_t find_key(const pat_inventory_t *inv, const char *name,
                         size_t len) {
  uintptr_t id = (uintptr_t)pm_map_getn(&inv->key_ids, name, len);
  return id ? (uint32_t)(id - 1) : PAT_NO_KEY;
}

uint32_t pat_inv_intern(pat_inventory_t *inv, const char *name, size_t len) {
  uint32_t id = find_key(inv, name, len);
  if (id != PAT_NO_KEY)
    return id;
  if (inv->keys.n >= PAT_NO_KEY - 1 || pm_vec_reserve(&inv->keys, 1) < 0)
    return PAT_NO_KEY;
  id = (uint32_t)inv->keys.n;
  const char *copy;
  if (pm_map_setn(&inv->key_ids, name, len, (void *)(uintptr_t)(id + 1),
                  &copy) < 0)
    return PAT_NO_KEY;
  *pm_vec_push(&inv->keys) = (struct pat_key){.name = copy, .next = PAT_NO_KEY};
  return id;
}

uint32_t pat_inv_intern_after(pat_inventory_t *inv, uint32_t prev,
                              const char *name, size_t len) {
  if (prev != PAT_NO_KEY) {
    uint32_t guess = inv->keys.v[prev].next;
    if (guess != PAT_NO_KEY &&
        strncmp(inv->keys.v[guess].name, name, len) == 0 &&
        inv->keys.v[guess].name[len] == '\0')
      return guess;
  }
  uint32_t id = pat_inv_intern(inv, name, len);
  if (prev != PAT_NO_KEY && id != PAT_NO_KEY)
    inv->keys.v[prev].next = id;
  return id;
}

uint32_t pat_inv_key(const pat_inventory_t *inv, const char *name) {
  return find_key(inv, name, strlen(name));
}

int pat_inv_begin(pat_inventory_t *inv, pat_class_t cls, const char *name,
                  const char *object, int pid, bool copy) {
  if (inv->building)
    pat_inv_abort(inv);
  if (pm_vec_reserve(&inv->objs, 1) < 0)
    return -ENOMEM;
  struct pat_obj *o = &inv->objs.v[inv->objs.n];
  *o = (struct pat_obj){.cls = (uint8_t)cls, .pid = pid};
  o->name = copy ? pat_arena_strdup(&inv->arena, name) : name;
  o->object = copy ? pat_arena_strdup(&inv->arena, object) : object;
  if (!o->name || !o->object)
    return -ENOMEM;
  inv->tmp.n = 0;
  inv->nlevels = 0;
  inv->building = true;
  return 0;
}

int pat_inv_prop_id(pat_inventory_t *inv, uint32_t key, const char *val,
                    bool copy) {
  if (!inv->building || key == PAT_NO_KEY)
    return key == PAT_NO_KEY ? -ENOMEM : -EINVAL;
  const char *v = copy ? pat_arena_strdup(&inv->arena, val) : val;
  if (!v || pm_vec_reserve(&inv->tmp, 1) < 0)
    return -ENOMEM;
  uint32_t seq = (uint32_t)inv->tmp.n;
  *pm_vec_push(&inv->tmp) = (struct pat_prop){.val = v, .key = key, .seq = seq};
  return 0;
}

int pat_inv_prop(pat_inventory_t *inv, const char *key, const char *val,
                 bool copy) {
  return pat_inv_prop_id(inv, pat_inv_intern(inv, key, strlen(key)), val, copy);
}

int pat_inv_level(pat_inventory_t *inv) {
  if (!inv->building)
    return -EINVAL;
  if (inv->nlevels >= sizeof(inv->level_start) / sizeof(inv->level_start[0]))
    return -E2BIG;
  inv->level_start[inv->nlevels++] = (uint32_t)inv->tmp.n;
  return 0;
}

static int cmp_prop(const void *a, const void *b) {
  const struct pat_prop *x = a, *y = b;
  if (x->key != y->key)
    return x->key < y->key ? -1 : 1;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Copies tmp[from, to) into the arena as one sorted level; for a repeated
 * key the last value wins. */
static int make_level(pat_inventory_t *inv, uint32_t from, uint32_t to,
                      struct pat_level *lv) {
  uint32_t n = to - from;
  *lv = (struct pat_level){0};
  if (n == 0)
    return 0;
  struct pat_prop *p = pat_arena_alloc(&inv->arena, n * sizeof(*p));
  if (!p)
    return -ENOMEM;
  memcpy(p, inv->tmp.v + from, n * sizeof(*p));
  /* Insertion sort: objects list their keys in much the same order, so
   * the ids arrive nearly sorted and this is close to one pass. */
  for (uint32_t i = 1; i < n; i++) {
    struct pat_prop v = p[i];
    uint32_t j = i;
    while (j > 0 && cmp_prop(&p[j - 1], &v) > 0) {
      p[j] = p[j - 1];
      j--;
    }
    p[j] = v;
  }
  uint32_t m = 0;
  for (uint32_t i = 0; i < n; i++) {
    if (m > 0 && p[m - 1].key == p[i].key)
      m--; /* a later value of the same key replaces the earlier one */
    p[m++] = p[i];
  }
  lv->props = p;
  lv->nprops = m;
  return 0;
}

int pat_inv_end(pat_inventory_t *inv) {
  if (!inv->building)
    return -EINVAL;
  struct pat_obj *o = &inv->objs.v[inv->objs.n];
  uint32_t ntmp = (uint32_t)inv->tmp.n;
  uint32_t self_end = inv->nlevels ? inv->level_start[0] : ntmp;
  int r = make_level(inv, 0, self_end, &o->self);
  if (r == 0 && inv->nlevels) {
    o->parents =
        pat_arena_alloc(&inv->arena, inv->nlevels * sizeof(*o->parents));
    if (!o->parents)
      r = -ENOMEM;
    for (uint32_t l = 0; r == 0 && l < inv->nlevels; l++) {
      uint32_t end = l + 1 < inv->nlevels ? inv->level_start[l + 1] : ntmp;
      r = make_level(inv, inv->level_start[l], end, &o->parents[l]);
    }
    o->nparents = inv->nlevels;
  }
  inv->building = false;
  if (r == 0)
    inv->objs.n++;
  return r;
}

void pat_inv_abort(pat_inventory_t *inv) { inv->building = false; }

int pat_inv_note(pat_inventory_t *inv, pat_class_t cls, const char *fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  free(inv->notes[cls]);
  inv->notes[cls] = strdup(buf);
  return inv->notes[cls] ? 0 : -ENOMEM;
}

static int cmp_obj(const void *a, const void *b) {
  const struct pat_obj *x = a, *y = b;
  if (x->cls != y->cls)
    return x->cls < y->cls ? -1 : 1;
  int c = strverscmp(x->name, y->name);
  if (c)
    return c;
  c = strcmp(x->object, y->object);
  if (c)
    return c;
  return x->pid < y->pid ? -1 : x->pid > y->pid;
}

void pat_inv_finish(pat_inventory_t *inv) {
  if (inv->building)
    pat_inv_abort(inv);
  if (inv->objs.n > 1)
    qsort(inv->objs.v, inv->objs.n, sizeof(*inv->objs.v), cmp_obj);
  size_t i = 0;
  for (unsigned c = 0; c <= PAT_NCLASSES; c++) {
    while (i < inv->objs.n && inv->objs.v[i].cls < c)
      i++;
    inv->cls_start[c] = i;
  }
  inv->cls_start[PAT_NCLASSES] = inv->objs.n;
  pm_vec_free(&inv->tmp);
}

const char *pat_obj_get(const struct pat_level *lv, uint32_t key) {
  uint32_t lo = 0, hi = lv->nprops;
  while (lo < hi) {
    uint32_t mid = (lo + hi) / 2;
    uint32_t k = lv->props[mid].key;
    if (k == key)
      return lv->props[mid].val;
    if (k < key)
      lo = mid + 1;
    else
      hi = mid;
  }
  return NULL;
}

size_t pat_inventory_count(const pat_inventory_t *inv) { return inv->objs.n; }

const char *pat_inventory_note(const pat_inventory_t *inv, pat_class_t cls) {
  return (unsigned)cls < PAT_NCLASSES ? inv->notes[cls] : NULL;
}

void pat_inventory_free(pat_inventory_t *inv) {
  if (!inv)
    return;
  pat_arena_free(&inv->arena);
  for (unsigned c = 0; c < PAT_NCLASSES; c++)
    free(inv->notes[c]);
  free(inv->host);
  free(inv->buf);
  pm_vec_free(&inv->keys);
  pm_map_free(&inv->key_ids, NULL);
  pm_vec_free(&inv->objs);
  pm_vec_free(&inv->tmp);
  free(inv);
}
