/* pm_vec.c: growth for the vectors of pm_vec.h. */
#include "config.h"

#include "pm_vec.h"

#include <errno.h>
#include <stdint.h>

void *pm_vec_grow(void *p, size_t *cap, size_t need, size_t size) {
  if (need <= *cap && p)
    return p;
  size_t c = *cap ? *cap : 8;
  while (c < need) {
    if (c > SIZE_MAX / 2) {
      errno = ENOMEM;
      return NULL;
    }
    c *= 2;
  }
  if (c > SIZE_MAX / size) {
    errno = ENOMEM;
    return NULL;
  }
  void *q = realloc(p, c * size);
  if (!q)
    return NULL;
  *cap = c;
  return q;
}

int pm_strv_push(char ***list, size_t *n, const char *s) {
  char **v = realloc(*list, (*n + 2) * sizeof(*v));
  if (!v)
    return -ENOMEM;
  *list = v;
  if (!(v[*n] = strdup(s)))
    return -ENOMEM;
  v[++*n] = NULL;
  return 0;
}
