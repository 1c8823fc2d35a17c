/* standin-systemd: a stand-in for systemd's D-Bus manager, for tests only.
 *
 * systemd cannot run as PID 1 on the test machines, so this program owns
 * org.freedesktop.systemd1 on the bus in DBUS_SYSTEM_BUS_ADDRESS and answers
 * what patmon asks of systemd: Manager.ListUnits and each unit's
 * ControlGroup. Units come from a file of lines "name state substate
 * [cgroup]". Prints "ready" once the name is owned; exits on SIGTERM. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>

#define UNIT_PREFIX "/org/freedesktop/systemd1/unit"

struct unit {
  char name[256], state[64], sub[64], cgroup[512];
};

static struct unit units[256];
static size_t nunits;

static int load(const char *path) {
  FILE *f = fopen(path, "r");
  char line[1024];
  if (!f)
    return -errno;
  while (nunits < 256 && fgets(line, sizeof(line), f)) {
    struct unit *u = &units[nunits];
    int n = sscanf(line, "%255s %63s %63s %511s", u->name, u->state, u->sub,
                   u->cgroup);
    if (n >= 3)
      nunits++;
  }
  fclose(f);
  return 0;
}

static int list_units(sd_bus_message *m, void *userdata, sd_bus_error *error) {
  sd_bus_message *reply = NULL;
  int r = sd_bus_message_new_method_return(m, &reply);
  if (r >= 0)
    r = sd_bus_message_open_container(reply, 'a', "(ssssssouso)");
  for (size_t i = 0; r >= 0 && i < nunits; i++) {
    char *path = NULL;
    r = sd_bus_path_encode(UNIT_PREFIX, units[i].name, &path);
    if (r >= 0)
      r = sd_bus_message_append(reply, "(ssssssouso)", units[i].name,
                                "stand-in unit", "loaded", units[i].state,
                                units[i].sub, "", path, 0u, "", "/");
    free(path);
  }
  if (r >= 0)
    r = sd_bus_message_close_container(reply);
  if (r >= 0)
    r = sd_bus_send(NULL, reply, NULL);
  sd_bus_message_unref(reply);
  return r;
}

static int get_cgroup(sd_bus *bus, const char *path, const char *interface,
                      const char *property, sd_bus_message *reply,
                      void *userdata, sd_bus_error *error) {
  char *name = NULL;
  const char *cg = "";
  if (sd_bus_path_decode(path, UNIT_PREFIX, &name) > 0)
    for (size_t i = 0; i < nunits; i++)
      if (strcmp(units[i].name, name) == 0)
        cg = units[i].cgroup;
  free(name);
  return sd_bus_message_append(reply, "s", cg);
}

static const sd_bus_vtable manager_vtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_METHOD("ListUnits", "", "a(ssssssouso)", list_units,
                  SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_VTABLE_END};

static const sd_bus_vtable unit_vtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_PROPERTY("ControlGroup", "s", get_cgroup, 0,
                    SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_VTABLE_END};

static const char *const unit_ifaces[] = {
    "org.freedesktop.systemd1.Service", "org.freedesktop.systemd1.Scope",
    "org.freedesktop.systemd1.Slice",   "org.freedesktop.systemd1.Socket",
    "org.freedesktop.systemd1.Mount",   "org.freedesktop.systemd1.Swap"};

static volatile sig_atomic_t stop;
static void on_term(int sig) { stop = 1; }

int main(int argc, char **argv) {
  sd_bus *bus = NULL;
  int r;
  if (argc != 2) {
    fprintf(stderr, "usage: standin-systemd UNITS-FILE\n");
    return 2;
  }
  if ((r = load(argv[1])) < 0) {
    fprintf(stderr, "standin-systemd: %s: %s\n", argv[1], strerror(-r));
    return 1;
  }
  signal(SIGTERM, on_term);
  r = sd_bus_open_system(&bus);
  if (r >= 0)
    r = sd_bus_add_object_vtable(bus, NULL, "/org/freedesktop/systemd1",
                                 "org.freedesktop.systemd1.Manager",
                                 manager_vtable, NULL);
  for (size_t i = 0; r >= 0 && i < sizeof(unit_ifaces) / sizeof(unit_ifaces[0]);
       i++)
    r = sd_bus_add_fallback_vtable(bus, NULL, UNIT_PREFIX, unit_ifaces[i],
                                   unit_vtable, NULL, NULL);
  if (r >= 0)
    r = sd_bus_request_name(bus, "org.freedesktop.systemd1", 0);
  if (r < 0) {
    fprintf(stderr, "standin-systemd: %s\n", strerror(-r));
    sd_bus_unref(bus);
    return 1;
  }
  printf("ready\n");
  fflush(stdout);
  while (!stop) {
    r = sd_bus_process(bus, NULL);
    if (r < 0)
      break;
    if (r == 0)
      sd_bus_wait(bus, 200000);
  }
  sd_bus_flush_close_unref(bus);
  return 0;
}
