/* prov_udev.c: disks, partitions and NICs through libudev enumeration.
 *
 * Keys: KERNEL, SUBSYSTEM, DEVTYPE, DRIVER, NAME (NICs), ENV{prop} for every
 * udev property, ATTR{file} for sysfs attributes of the device, and one
 * parent level per ancestor carrying its ATTR{file} (for ATTRS). Without
 * udevd the properties are the kernel's only (no ID_*). A live scan reads
 * only the attributes the patterns use; a snapshot reads every one that can
 * be read, subdirectories included (queue/rotational). */
#include "config.h"

#include "internal.h"

#include <errno.h>
#include <libudev.h>
#include <stdio.h>
#include <string.h>

static const struct {
  const char *subsystem;
  unsigned classes; /* which of our classes this subsystem feeds */
} sources[] = {
    {"block", 1u << PAT_DISK | 1u << PAT_PARTITION},
    {"net", 1u << PAT_NIC},
};

/* Values as udev compares them (a page at most; libudev already dropped
 * the trailing newline). A value that cannot be read is left out: no
 * condition on it holds. */
static bool keep(const char *v) { return strlen(v) <= PAT_ATTR_MAX; }

static int add_attr(pat_inventory_t *inv, struct udev_device *dev,
                    const char *name) {
  const char *v = udev_device_get_sysattr_value(dev, name);
  if (!v || !keep(v))
    return 0;
  char key[300];
  snprintf(key, sizeof(key), "ATTR{%s}", name);
  return pat_inv_prop(inv, key, v, true);
}

/* ATTR{x} for one device level: what the patterns of cls read, or all. */
static int add_attrs(pat_inventory_t *inv, struct udev_device *dev,
                     const pat_scan_opts_t *o, pat_class_t cls) {
  int r = 0;
  if (o->want) {
    for (size_t i = 0; r == 0 && i < o->want->want[cls].n; i++) {
      const char *k = o->want->want[cls].v[i];
      size_t kl = strlen(k);
      if (strncmp(k, "ATTR{", 5) == 0 && k[kl - 1] == '}') {
        char name[300];
        snprintf(name, sizeof(name), "%.*s", (int)(kl - 6), k + 5);
        r = add_attr(inv, dev, name);
      }
    }
    return r;
  }
  /* libudev lists subdirectories' attributes too (queue/rotational). */
  struct udev_list_entry *e;
  udev_list_entry_foreach(e, udev_device_get_sysattr_list_entry(dev)) {
    if (r == 0)
      r = add_attr(inv, dev, udev_list_entry_get_name(e));
  }
  return r;
}

static int add_device(pat_inventory_t *inv, struct udev_device *dev,
                      const pat_scan_opts_t *o, unsigned classes) {
  const char *subsys = udev_device_get_subsystem(dev);
  const char *devtype = udev_device_get_devtype(dev);
  const char *sysname = udev_device_get_sysname(dev);
  pat_class_t cls;
  if (!subsys || !sysname)
    return 0;
  if (strcmp(subsys, "net") == 0)
    cls = PAT_NIC;
  else if (devtype && strcmp(devtype, "partition") == 0)
    cls = PAT_PARTITION;
  else if (devtype && strcmp(devtype, "disk") == 0)
    cls = PAT_DISK;
  else
    return 0;
  if (!(classes & 1u << cls))
    return 0;
  const char *devnode = udev_device_get_devnode(dev);
  const char *object = cls == PAT_NIC ? sysname
                       : devnode      ? devnode
                                      : udev_device_get_syspath(dev);
  const char *driver = udev_device_get_driver(dev);

  int r = pat_inv_begin(inv, cls, sysname, object, 0, true);
  if (r == 0)
    r = pat_inv_prop(inv, "KERNEL", sysname, true);
  if (r == 0)
    r = pat_inv_prop(inv, "SUBSYSTEM", subsys, true);
  if (r == 0)
    r = pat_inv_prop(inv, "DEVTYPE", devtype ? devtype : "", true);
  if (r == 0)
    r = pat_inv_prop(inv, "DRIVER", driver ? driver : "", true);
  if (r == 0 && cls == PAT_NIC)
    r = pat_inv_prop(inv, "NAME", sysname, true);
  struct udev_list_entry *e;
  udev_list_entry_foreach(e, udev_device_get_properties_list_entry(dev)) {
    char key[300];
    snprintf(key, sizeof(key), "ENV{%s}", udev_list_entry_get_name(e));
    const char *v = udev_list_entry_get_value(e);
    if (r == 0)
      r = pat_inv_prop(inv, key, v ? v : "", true);
  }
  if (r == 0)
    r = add_attrs(inv, dev, o, cls);
  for (struct udev_device *p = udev_device_get_parent(dev); r == 0 && p;
       p = udev_device_get_parent(p)) {
    r = pat_inv_level(inv);
    if (r == -E2BIG) {
      r = 0; /* deeper than any real device tree; the rest is ignored */
      break;
    }
    if (r == 0)
      r = add_attrs(inv, p, o, cls);
  }
  if (r < 0) {
    pat_inv_abort(inv);
    return r;
  }
  return pat_inv_end(inv);
}

int pat_prov_udev(pat_inventory_t *inv, const pat_scan_opts_t *o,
                  unsigned classes) {
  struct udev *udev = udev_new();
  int r = 0;
  if (!udev)
    return -ENOMEM;
  for (size_t s = 0; r == 0 && s < sizeof(sources) / sizeof(sources[0]); s++) {
    if (!(classes & sources[s].classes))
      continue;
    struct udev_enumerate *en = udev_enumerate_new(udev);
    if (!en) {
      r = -ENOMEM;
      break;
    }
    udev_enumerate_add_match_subsystem(en, sources[s].subsystem);
    r = udev_enumerate_scan_devices(en);
    struct udev_list_entry *e;
    udev_list_entry_foreach(e, udev_enumerate_get_list_entry(en)) {
      if (r < 0)
        break;
      struct udev_device *dev =
          udev_device_new_from_syspath(udev, udev_list_entry_get_name(e));
      if (!dev)
        continue; /* removed while we looked */
      r = add_device(inv, dev, o, classes);
      udev_device_unref(dev);
    }
    udev_enumerate_unref(en);
  }
  udev_unref(udev);
  return r;
}
