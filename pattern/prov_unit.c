/* prov_unit.c: systemd units through sd-bus ListUnits.
 *
 * Keys: UNIT, STATE (ActiveState), SUBSTATE; active units of a type that has
 * a cgroup also carry CGROUP. Only loaded units exist for systemd, so a
 * passive HA node expands a unit pattern to nothing, which is normal. No
 * system bus or no systemd on it is not an error: the class stays empty and
 * says why in its note. DBUS_SYSTEM_BUS_ADDRESS is honoured (tests point it
 * at a stand-in). */
#include "config.h"

#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>

#define SD_DEST "org.freedesktop.systemd1"
#define SD_PATH "/org/freedesktop/systemd1"
#define SD_MANAGER "org.freedesktop.systemd1.Manager"

/* Unit types with a ControlGroup property, and the interface holding it. */
static const struct {
  const char *suffix;
  const char *iface;
} cgroup_ifaces[] = {
    {".service", "org.freedesktop.systemd1.Service"},
    {".scope", "org.freedesktop.systemd1.Scope"},
    {".slice", "org.freedesktop.systemd1.Slice"},
    {".socket", "org.freedesktop.systemd1.Socket"},
    {".mount", "org.freedesktop.systemd1.Mount"},
    {".swap", "org.freedesktop.systemd1.Swap"},
};

static const char *cgroup_iface(const char *unit) {
  size_t ul = strlen(unit);
  for (size_t i = 0; i < sizeof(cgroup_ifaces) / sizeof(cgroup_ifaces[0]);
       i++) {
    size_t sl = strlen(cgroup_ifaces[i].suffix);
    if (ul > sl && strcmp(unit + ul - sl, cgroup_ifaces[i].suffix) == 0)
      return cgroup_ifaces[i].iface;
  }
  return NULL;
}

static int add_unit(pat_inventory_t *inv, sd_bus *bus, const char *name,
                    const char *active, const char *sub, const char *path) {
  int r = pat_inv_begin(inv, PAT_UNIT, name, name, 0, true);
  if (r == 0)
    r = pat_inv_prop(inv, "UNIT", name, true);
  if (r == 0)
    r = pat_inv_prop(inv, "STATE", active, true);
  if (r == 0)
    r = pat_inv_prop(inv, "SUBSTATE", sub, true);
  const char *iface = cgroup_iface(name);
  if (r == 0 && iface && strcmp(active, "active") == 0) {
    char *cg = NULL;
    sd_bus_error e = SD_BUS_ERROR_NULL;
    if (sd_bus_get_property_string(bus, SD_DEST, path, iface, "ControlGroup",
                                   &e, &cg) >= 0 &&
        cg && *cg)
      r = pat_inv_prop(inv, "CGROUP", cg, true);
    free(cg);
    sd_bus_error_free(&e);
  }
  if (r < 0) {
    pat_inv_abort(inv);
    return r;
  }
  return pat_inv_end(inv);
}

int pat_prov_unit(pat_inventory_t *inv, const pat_scan_opts_t *o,
                  unsigned classes) {
  sd_bus *bus = NULL;
  sd_bus_message *reply = NULL;
  sd_bus_error e = SD_BUS_ERROR_NULL;
  int r = sd_bus_open_system(&bus);
  if (r < 0) {
    r = pat_inv_note(
        inv, PAT_UNIT, "no system bus (%s)%s: unit patterns expand to nothing",
        strerror(-r), sd_booted() > 0 ? "" : "; systemd is not running here");
    goto out;
  }
  sd_bus_set_method_call_timeout(
      bus, (uint64_t)(o->timeout_ms > 0 ? o->timeout_ms : 10000) * 1000u);
  r = sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MANAGER, "ListUnits", &e,
                         &reply, NULL);
  if (r < 0) {
    bool absent = sd_bus_error_has_names(&e, SD_BUS_ERROR_SERVICE_UNKNOWN,
                                         SD_BUS_ERROR_NAME_HAS_NO_OWNER);
    r = pat_inv_note(inv, PAT_UNIT, "%s: unit patterns expand to nothing",
                     absent ? "systemd is not running (no " SD_DEST
                              " on the system bus)"
                            : (e.message ? e.message : strerror(-r)));
    goto out;
  }
  r = sd_bus_message_enter_container(reply, SD_BUS_TYPE_ARRAY, "(ssssssouso)");
  while (r >= 0) {
    const char *name, *desc, *load, *active, *sub, *follow, *path, *jtype,
        *jpath;
    uint32_t jid;
    r = sd_bus_message_read(reply, "(ssssssouso)", &name, &desc, &load, &active,
                            &sub, &follow, &path, &jid, &jtype, &jpath);
    if (r <= 0)
      break;
    r = add_unit(inv, bus, name, active, sub, path);
  }
  if (r == -ENOMEM)
    goto out;
  if (r < 0)
    r = pat_inv_note(inv, PAT_UNIT, "bad ListUnits reply: %s", strerror(-r));
out:
  sd_bus_error_free(&e);
  sd_bus_message_unref(reply);
  sd_bus_flush_close_unref(bus);
  return r < 0 ? r : 0;
}
