/* pm_vec.h: the one growing array of patmon.
 *
 * A vector is any struct with a typed pointer v, a length n and a capacity
 * cap, declared with PM_VEC(type); zero-initialise it ({0}). Elements are
 * reached as vec.v[i] for i < vec.n, with the compiler checking their type.
 * Growth doubles the capacity; a failed growth leaves the vector unchanged.
 * The vector owns its storage, not what its elements point to: free those
 * first, then call pm_vec_free(). Nothing here logs. */
#ifndef PATMON_PM_VEC_H
#define PATMON_PM_VEC_H

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define PM_VEC(type)                                                           \
  struct {                                                                     \
    type *v;                                                                   \
    size_t n, cap;                                                             \
  }

/* Returns storage for at least need elements of size bytes: p itself when
 * *cap suffices, else a larger block (p's content kept, *cap updated), or
 * NULL with errno ENOMEM (p untouched and still owned by the caller). The
 * macros below use it; call it directly only for an array whose fields are
 * part of a public struct and keep their own names. */
void *pm_vec_grow(void *p, size_t *cap, size_t need, size_t size);

/* Makes room for n more elements: 0 or -ENOMEM (vector unchanged). */
#define pm_vec_reserve(vec, extra)                                             \
  __extension__({                                                              \
    __typeof__(vec) pm_v_ = (vec);                                             \
    void *pm_p_ = pm_vec_grow(pm_v_->v, &pm_v_->cap, pm_v_->n + (extra),       \
                              sizeof(*pm_v_->v));                              \
    pm_p_ ? (pm_v_->v = pm_p_, 0) : -ENOMEM;                                   \
  })

/* Appends one zero-filled element and returns a pointer to it, or NULL when
 * memory runs out (vector unchanged). The pointer is valid until the next
 * growth. */
#define pm_vec_push(vec)                                                       \
  __extension__({                                                              \
    __typeof__(vec) pm_v_ = (vec);                                             \
    void *pm_p_ =                                                              \
        pm_vec_grow(pm_v_->v, &pm_v_->cap, pm_v_->n + 1, sizeof(*pm_v_->v));   \
    __typeof__(pm_v_->v) pm_e_ = NULL;                                         \
    if (pm_p_) {                                                               \
      pm_v_->v = pm_p_;                                                        \
      pm_e_ = &pm_v_->v[pm_v_->n++];                                           \
      memset(pm_e_, 0, sizeof(*pm_e_));                                        \
    }                                                                          \
    pm_e_;                                                                     \
  })

/* Releases the storage and leaves the vector empty; a NULL vec is a no-op. */
#define pm_vec_free(vec)                                                       \
  do {                                                                         \
    __typeof__(vec) pm_v_ = (vec);                                             \
    if (pm_v_) {                                                               \
      free(pm_v_->v);                                                          \
      pm_v_->v = NULL;                                                         \
      pm_v_->n = pm_v_->cap = 0;                                               \
    }                                                                          \
  } while (0)

/* Appends a copy of s to *list, a NULL-ended array of *n strings (NULL and
 * 0 for an empty one): 0, or -ENOMEM with the list as it was (still
 * NULL-ended; it may have moved). For lists handed on as char **. */
int pm_strv_push(char ***list, size_t *n, const char *s);

#endif
