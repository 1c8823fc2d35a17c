/* hotplug.h: the events that should make patmon re-expand its patterns.
 *
 * A watch multiplexes up to three sources in one poll set: the udev netlink
 * monitor (block and net devices), changes of /proc/self/mountinfo, and the
 * event socket that the HA stack (contrib/pacemaker/patmon-alert) writes to.
 * Events are coalesced into batches: a batch ends after debounce_ms without a
 * new event, and a storm still yields one batch every max_delay_ms at most.
 * Memory is bounded whatever arrives.
 *
 * Conventions: functions return 0 (or a count) or a negative errno; nothing
 * here logs. Output parameters are written only on success. */
#ifndef PATMON_HOTPLUG_H
#define PATMON_HOTPLUG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Sources a watch listens to (hp_config_t.sources). */
#define HP_SRC_UDEV 0x1u   /* block and net devices, via libudev */
#define HP_SRC_MOUNTS 0x2u /* the caller's mount table */
#define HP_SRC_SOCKET 0x4u /* the event socket at socket_path */

/* Kinds of event (one per event, OR-ed in hp_batch_t.kinds). */
#define HP_DEVICE 0x01u   /* a block device appeared, went or changed */
#define HP_NET 0x02u      /* a network interface appeared, went or changed */
#define HP_MOUNT 0x04u    /* the mount table changed */
#define HP_RESOURCE 0x08u /* an HA resource started, stopped or migrated */
#define HP_VOLUME 0x10u   /* a data volume was added or removed */
#define HP_RESCAN 0x20u   /* rescan everything (asked for, or events lost) */
#define HP_NODE 0x40u     /* a cluster node was lost or became a member */

/* Limits of the socket grammar, in bytes, terminating NUL excluded. */
#define HP_NAME_MAX 255   /* resource name */
#define HP_PATH_MAX 1024  /* volume path */
#define HP_DGRAM_MAX 4096 /* one datagram (one or more lines) */
/* Reasons and the first dropped message, NUL included. */
#define HP_WHY_MAX 192
/* Distinct events listed per batch (the rest are only counted). */
#define HP_BATCH_ITEMS 16

typedef enum hp_action {
  HP_ACT_NONE = 0, /* rescan, mount table change */
  HP_ACT_ADD,
  HP_ACT_REMOVE,
  HP_ACT_CHANGE,
  HP_ACT_MOVE, /* a device renamed */
  HP_ACT_START,
  HP_ACT_STOP,
  HP_ACT_MIGRATE,
  HP_ACT_LOST,   /* a node left the cluster's membership */
  HP_ACT_MEMBER, /* a node (re)joined it */
  HP_ACT_FENCED, /* a node was fenced (it is gone, if it was not already) */
} hp_action_t;

/* One event. name is a resource name, a volume path, a node name, a
 * device's kernel name (sda, eth0) or empty (rescan, mount table change). */
typedef struct hp_event {
  unsigned kind; /* one HP_* kind */
  hp_action_t action;
  char name[HP_PATH_MAX + 1];
} hp_event_t;

/* What the hosts (the collectd plugin, the gmond module) use by default:
 * a quick answer to a lone event, and a storm of a second or two coalesced
 * into one re-expansion (measured with t/bench/storm: 5,000 events in one
 * second, 1 re-expansion; at 500 ms, 3). */
#define HP_HOST_DEBOUNCE_MS 20
#define HP_HOST_MAX_DELAY_MS 2000

typedef struct hp_config {
  unsigned sources;         /* HP_SRC_* bits, at least one */
  const char *socket_path;  /* absolute; required with HP_SRC_SOCKET only */
  const char *socket_group; /* group allowed to send (e.g. "haclient"),
                               NULL: the caller's group */
  int debounce_ms;  /* quiet time that ends a batch; 0: 150; max 60000 */
  int max_delay_ms; /* a batch is due this long after its first event at
                       the latest; 0: 1000; >= debounce_ms, max 600000 */
} hp_config_t;

/* What happened since the previous batch. kinds may be 0 when the batch only
 * reports dropped messages: log those, re-expand only when kinds != 0. */
typedef struct hp_batch {
  unsigned kinds;    /* OR of the kinds seen */
  unsigned events;   /* valid events coalesced */
  unsigned dropped;  /* malformed or oversized socket messages */
  unsigned unlisted; /* events whose distinct item did not fit in items */
  unsigned nitems;
  uint64_t first_ns, last_ns;     /* CLOCK_MONOTONIC times of the first and last
                                     event or drop */
  char first_dropped[HP_WHY_MAX]; /* why, and an excerpt; "" when none */
  hp_event_t items[HP_BATCH_ITEMS]; /* distinct events, in arrival order */
} hp_batch_t;

typedef struct hp_watch hp_watch_t;

/* Opens the sources of cfg. The event socket is bound mode 0660, owned by the
 * caller (root) and socket_group, without a moment where others could
 * connect. A stale socket file (nobody bound) is replaced; a live one fails
 * with -EADDRINUSE, any other file with -EEXIST, both left untouched. The
 * socket's directory is created (mode 0755) when it alone is missing.
 * The udev source uses the "udev" monitor when udevd runs (/run/udev/control
 * exists), else the "kernel" one. On error returns a negative errno, writes
 * the reason to why (may be NULL) and leaves *ret untouched. The caller owns
 * the watch and frees it with hp_watch_free(). */
int hp_watch_new(const hp_config_t *cfg, hp_watch_t **ret, char *why,
                 size_t whylen);

/* Checks cfg as hp_watch_new would, without opening anything: the options,
 * an absolute socket path, a socket group that exists. For a host's
 * configuration step, so that a mistake stops it there. 0, or a negative
 * errno (-EINVAL, -ENOENT for an unknown group) with the reason in why. */
int hp_config_validate(const hp_config_t *cfg, char *why, size_t whylen);

/* Closes the sources and removes the socket file if it is still ours. Call it
 * only once no thread is inside hp_watch_next(). NULL is a no-op. */
void hp_watch_free(hp_watch_t *w);

/* "udev" or "kernel": the netlink monitor in use; NULL without HP_SRC_UDEV. */
const char *hp_watch_udev_kind(const hp_watch_t *w);

#define HP_NEXT_TIMEOUT 0
#define HP_NEXT_BATCH 1
#define HP_NEXT_WOKEN 2

/* Waits up to timeout_ms (-1: no limit, 0: do not block) for a batch.
 * Returns HP_NEXT_BATCH with *ret filled, HP_NEXT_TIMEOUT, HP_NEXT_WOKEN after
 * hp_watch_wake(), or a negative errno. Events still inside their debounce
 * window stay pending for the next call. One thread at a time. */
int hp_watch_next(hp_watch_t *w, int timeout_ms, hp_batch_t *ret);

/* Makes the current or, failing that, the next hp_watch_next() return
 * HP_NEXT_WOKEN (wake-ups do not accumulate). Safe from any thread and from a
 * signal handler, as long as w is not freed meanwhile. */
int hp_watch_wake(hp_watch_t *w);

/* Parses one socket message: msg holds len bytes (not NUL-terminated; one
 * trailing "\n" or "\r\n" allowed). Grammar, fields separated by blanks:
 *   resource start|stop|migrate NAME   NAME: a Pacemaker id, [A-Za-z_] then
 *                                      [A-Za-z0-9_.-] (bytes >= 0x80 count as
 *                                      letters), optionally ":N" (a clone
 *                                      instance); at most HP_NAME_MAX bytes
 *   volume add|remove PATH             PATH: absolute and canonical (no "//",
 *                                      "." or ".." component, no trailing
 *                                      "/"), no control character, at most
 *                                      HP_PATH_MAX bytes; may hold spaces
 *   node lost|member|fenced NODE       NODE: a cluster node's name,
 *                                      [A-Za-z0-9_.-] (bytes >= 0x80 count
 *                                      as letters), at most HP_NAME_MAX bytes
 *   rescan
 * Returns 0 and fills *ret, -EMSGSIZE when a field is too long or
 * -EBADMSG when malformed; then the reason (without the input) is in why (may
 * be NULL) and *ret is untouched. */
int hp_parse_message(const char *msg, size_t len, hp_event_t *ret, char *why,
                     size_t whylen);

/* Writes the message for ev, newline included, like snprintf: returns the
 * length it needs, or -EINVAL when ev is not a valid socket message. */
int hp_format_message(const hp_event_t *ev, char *buf, size_t len);

/* Sends one datagram of len bytes (e.g. made by hp_format_message) to the
 * event socket at path, as a sender that must lose nothing and must not
 * hang does (the Pacemaker alert agent): while the receiver's queue is full
 * it waits for room, up to wait_ms in all, and backs off when the kernel is
 * short of memory. Returns 0 when sent, or a negative errno: -ENOENT or
 * -ECONNREFUSED (no socket, or nobody bound to it), -EAGAIN (still full
 * after wait_ms), -EACCES (the socket's mode or group), ... */
int hp_send(const char *path, const char *msg, size_t len, int wait_ms);

/* One log line for b ("3 events (net, resource): net add veth0, ...; 2
 * dropped, first: ..."), like snprintf. */
int hp_batch_format(const hp_batch_t *b, char *buf, size_t len);

/* Reports of dropped socket messages for a host's log: a sender that keeps
 * sending bad datagrams must not write a log line each time. The first
 * drop after a quiet period is reported at once; later ones are summed and
 * reported at most once per interval. Zero-initialise, then hp_drops_init. */
typedef struct hp_drops {
  uint64_t interval_ns;
  uint64_t last_ns;  /* when the last line was due */
  bool said;         /* a line was due before */
  uint64_t since_ns; /* first drop not reported yet */
  unsigned pending;  /* drops not reported yet */
  char first[HP_WHY_MAX];
} hp_drops_t;

/* interval_ms: the least time between two lines (0: 60000). */
void hp_drops_init(hp_drops_t *d, int interval_ms);
/* Counts the drops of b (may be NULL: nothing new, only a report that fell
 * due) at now_ns (CLOCK_MONOTONIC). Returns true with one line in buf
 * ("3 dropped in the last 60 s, first: ...") when a report is due. */
bool hp_drops_report(hp_drops_t *d, const hp_batch_t *b, uint64_t now_ns,
                     char *buf, size_t len);

/* "device", "net", ... for one kind bit; "?" for anything else. */
const char *hp_kind_name(unsigned kind);
/* "add", "start", ...; "" for HP_ACT_NONE. */
const char *hp_action_name(hp_action_t action);

#endif
