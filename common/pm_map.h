/* pm_map.h: the one string-keyed map of patmon.
 *
 * An open-addressing hash table (FNV-1a, linear probing, deletion by
 * backward shift so no tombstones pile up) from NUL-free strings to void *
 * values. Zero-initialise it ({0}). The map copies each key it stores and
 * frees the copy when the entry goes; it never frees values except through
 * the destructor given to pm_map_free(). Not thread-safe: the owner locks.
 * Functions return 0, 1 or a negative errno; nothing here logs. */
#ifndef PATMON_PM_MAP_H
#define PATMON_PM_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pm_map_slot {
  char *key; /* NULL: empty slot */
  void *val;
  uint64_t hash;
};

typedef struct pm_map {
  struct pm_map_slot *slots; /* private */
  size_t size;               /* private: a power of two, or 0 */
  size_t n;                  /* number of entries (read-only) */
} pm_map_t;

/* Stores val under the first len bytes of key (which hold no NUL). Returns
 * 1 when the key is new, 0 when it was there (its value is replaced), or
 * -ENOMEM (map unchanged). When ret_key is non-NULL it receives the map's own
 * copy of the key, valid until the entry is deleted or the map freed. */
int pm_map_setn(pm_map_t *m, const char *key, size_t len, void *val,
                const char **ret_key);
int pm_map_set(pm_map_t *m, const char *key, void *val);

/* The value stored under key, or NULL (also for a NULL value: use
 * pm_map_has to tell them apart). */
void *pm_map_getn(const pm_map_t *m, const char *key, size_t len);
void *pm_map_get(const pm_map_t *m, const char *key);
bool pm_map_has(const pm_map_t *m, const char *key);

/* Removes key and returns its value (NULL when it was absent). Other entries
 * may move, so an iteration must not delete as it goes. */
void *pm_map_del(pm_map_t *m, const char *key);

/* Iterates: start with *iter = 0; returns true with the next entry's key and
 * value (either out pointer may be NULL) until all were seen. Setting values
 * while iterating is fine; adding or deleting entries is not. */
bool pm_map_next(const pm_map_t *m, size_t *iter, const char **ret_key,
                 void **ret_val);

/* Removes every entry (calling free_val on each value when non-NULL), keeps
 * the slots for reuse. */
void pm_map_clear(pm_map_t *m, void (*free_val)(void *));
/* Like pm_map_clear, then releases the slots; the map is left empty and
 * reusable. A NULL m is a no-op. */
void pm_map_free(pm_map_t *m, void (*free_val)(void *));

#endif
