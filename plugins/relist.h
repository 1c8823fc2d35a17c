/* relist.h: which pattern classes a batch of hotplug events makes a host
 * shell list again (the collectd plugin and the gmond module). */
#ifndef PATMON_PLUGINS_RELIST_H
#define PATMON_PLUGINS_RELIST_H

#include "hotplug/hotplug.h"
#include "pattern.h"

/* The classes to list again for the kinds (HP_* bits) of a batch. A
 * resource brings its data volume (mount, disk); a volume may belong to a
 * resource. */
static inline unsigned pm_relist_classes(unsigned kinds) {
  static const struct {
    unsigned kind, classes;
  } relist[] = {
      {HP_DEVICE, 1u << PAT_DISK | 1u << PAT_PARTITION},
      {HP_NET, 1u << PAT_NIC},
      {HP_MOUNT, 1u << PAT_MOUNT},
      {HP_RESOURCE, 1u << PAT_RESOURCE | 1u << PAT_UNIT | 1u << PAT_MOUNT |
                        1u << PAT_DISK | 1u << PAT_PARTITION},
      {HP_VOLUME, 1u << PAT_MOUNT | 1u << PAT_DISK | 1u << PAT_PARTITION |
                      1u << PAT_RESOURCE},
      {HP_RESCAN, PAT_ALL_CLASSES},
  };
  unsigned classes = 0;
  for (size_t i = 0; i < sizeof(relist) / sizeof(relist[0]); i++)
    if (kinds & relist[i].kind)
      classes |= relist[i].classes;
  return classes;
}

/* Tells the monitor what the batch says about resources starting and
 * stopping here, so that its next refresh follows them at once (see
 * pat_monitor_resource_event). Events beyond the batch's listed items, or
 * that cannot be recorded, are followed by the listing alone. */
static inline void pm_relist_resources(pat_monitor_t *m, const hp_batch_t *b) {
  for (unsigned i = 0; i < b->nitems; i++) {
    const hp_event_t *ev = &b->items[i];
    if (ev->kind == HP_RESOURCE &&
        (ev->action == HP_ACT_START || ev->action == HP_ACT_STOP))
      pat_monitor_resource_event(m, ev->name, ev->action == HP_ACT_START);
  }
}

#endif
