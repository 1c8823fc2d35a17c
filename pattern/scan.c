/* scan.c: list this machine's objects, one provider per row. */
#include "config.h"

#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

static const struct {
  unsigned classes;
  int (*list)(pat_inventory_t *inv, const pat_scan_opts_t *o, unsigned classes);
} providers[] = {
    {1u << PAT_DISK | 1u << PAT_PARTITION | 1u << PAT_NIC, pat_prov_udev},
    {1u << PAT_MOUNT, pat_prov_mount},
    {1u << PAT_PROCESS, pat_prov_proc},
    {1u << PAT_UNIT, pat_prov_unit},
    {1u << PAT_RESOURCE, pat_prov_pcmk},
};

unsigned pat_provider_classes(pat_class_t cls) {
  for (size_t i = 0; i < sizeof(providers) / sizeof(providers[0]); i++)
    if (providers[i].classes & 1u << cls)
      return providers[i].classes;
  return 0;
}

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
  for (size_t i = 0; r == 0 && i < sizeof(providers) / sizeof(providers[0]);
       i++)
    if (classes & providers[i].classes)
      r = providers[i].list(inv, &o, classes & providers[i].classes);
  if (r < 0) {
    pat_inventory_free(inv);
    return r;
  }
  inv->scanned = classes;
  pat_inv_finish(inv);
  *ret = inv;
  return 0;
}
