/* scan.c: list this machine's objects with the providers the class table
 * names. */
#include "config.h"

#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

int pat_inventory_scan(const pat_scan_opts_t *opts, pat_inventory_t **ret) {
  pat_scan_opts_t o = opts ? *opts : (pat_scan_opts_t){0};
  unsigned classes = o.classes ? o.classes & PAT_ALL_CLASSES : PAT_ALL_CLASSES;
  pat_inventory_t *inv = pat_inventory_new();
  struct utsname u;
  int r = 0;
  if (!inv)
    return -ENOMEM;
  if (uname(&u) == 0 && !(inv->host = strdup(u.nodename)))
    r = -ENOMEM;
  /* each provider once, for all the classes asked for that it lists */
  for (unsigned c = 0, done = 0; r == 0 && c < PAT_NCLASSES; c++) {
    unsigned mine = classes & pat_provider_classes((pat_class_t)c);
    if (mine & 1u << c && !(done & mine)) {
      r = pat_class_desc((pat_class_t)c)->provider(inv, &o, mine);
      done |= mine;
    }
  }
  if (r < 0) {
    pat_inventory_free(inv);
    return r;
  }
  inv->scanned = classes;
  pat_inv_finish(inv);
  *ret = inv;
  return 0;
}
