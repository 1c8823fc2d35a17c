/* internal.h: what the hotplug/ files share and the unit tests reach into. */
#ifndef PATMON_HOTPLUG_INTERNAL_H
#define PATMON_HOTPLUG_INTERNAL_H

#include "hotplug.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define HP_DEFAULT_DEBOUNCE_MS 150
#define HP_DEFAULT_MAX_DELAY_MS 1000
#define HP_MAX_DEBOUNCE_MS 60000
#define HP_MAX_MAX_DELAY_MS 600000
/* A batch of this many events is a storm: it ends only after a quiet spell
 * STORM_QUIET times the debounce (within max_delay all the same), so that a
 * sender descheduled for a moment on a busy machine does not split it. */
#define HP_STORM_EVENTS 64
#define HP_STORM_QUIET 10

/* The batch being gathered, on an explicit clock so tests can drive it. */
typedef struct hp_coalesce {
  uint64_t debounce_ns, max_delay_ns;
  bool open;
  hp_batch_t b;
} hp_coalesce_t;

void hp_co_init(hp_coalesce_t *c, int debounce_ms, int max_delay_ms);
/* Counts ev and lists it unless an equal item is listed already. */
void hp_co_add(hp_coalesce_t *c, uint64_t now_ns, const hp_event_t *ev);
/* Counts a dropped message; the first one's reason and an excerpt of msg
 * (len bytes, any content) are kept. */
void hp_co_drop(hp_coalesce_t *c, uint64_t now_ns, const char *why,
                const char *msg, size_t len);
/* Feeds one datagram of full_len bytes, of which the first len are in data
 * (less when it was truncated on receipt): each line is an event or a drop. */
void hp_co_datagram(hp_coalesce_t *c, uint64_t now_ns, const char *data,
                    size_t len, size_t full_len);
/* When the open batch is due; UINT64_MAX when none is open. */
uint64_t hp_co_deadline(const hp_coalesce_t *c);
/* Moves the batch to *ret and returns 1 when one is due at now_ns, else 0. */
int hp_co_take(hp_coalesce_t *c, uint64_t now_ns, hp_batch_t *ret);

/* Checks cfg, fills in defaults; 0 or -EINVAL with why. */
int hp_config_check(const hp_config_t *cfg, hp_config_t *ret, char *why,
                    size_t whylen);

/* The event socket: binds path (see hp_watch_new) and returns the fd in
 * *ret_fd and the identity of the file in *ret_dev and *ret_ino. */
int hp_socket_open(const char *path, const char *group, int *ret_fd,
                   dev_t *ret_dev, ino_t *ret_ino, char *why, size_t whylen);
/* The id of group (a name) in *ret; -ENOENT when there is no such group,
 * another negative errno when the group database cannot be read. */
int hp_lookup_group(const char *group, gid_t *ret);
/* Unlinks path if it still is the file created by hp_socket_open. */
void hp_socket_remove(const char *path, dev_t dev, ino_t ino);

/* "udev" when udevd runs (control_path exists), else "kernel". */
const char *hp_udev_monitor_name(const char *control_path);

/* snprintf into why when why is not NULL. */
void hp_why(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
