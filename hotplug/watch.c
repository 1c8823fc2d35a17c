/* watch.c: the sources of a watch in one poll set, and the loop that feeds
 * them into the batch being gathered. */
#include "config.h"

#include "internal.h"
#include "pm.h"

#include <errno.h>
#include <fcntl.h>
#include <libudev.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define UDEV_CONTROL "/run/udev/control"
/* Messages taken from one source before the others get their turn. */
#define DRAIN_MAX 64
/* Kernel buffer for the netlink monitor, so a burst is not lost. */
#define UDEV_RCVBUF (4 << 20)

/* The device classes followed, and the kind each one reports. */
static const struct {
  const char *subsystem;
  unsigned kind;
} udev_classes[] = {
    {.subsystem = "block", .kind = HP_DEVICE},
    {.subsystem = "net", .kind = HP_NET},
};

/* Kernel actions; anything else (change, bind, online...) is a change. */
static const struct {
  const char *name;
  hp_action_t action;
} udev_actions[] = {
    {"add", HP_ACT_ADD},
    {"remove", HP_ACT_REMOVE},
    {"move", HP_ACT_MOVE},
};

#define N_ELEM(a) (sizeof(a) / sizeof((a)[0]))

struct hp_watch {
  struct udev *udev;
  struct udev_monitor *mon;
  const char *udev_kind;
  int mount_fd, sock_fd, wake_fd;
  char *socket_path;
  dev_t sock_dev;
  ino_t sock_ino;
  hp_coalesce_t co;
  char dgram[HP_DGRAM_MAX + 1];
};

int hp_config_check(const hp_config_t *cfg, hp_config_t *ret, char *why,
                    size_t whylen) {
  hp_config_t c = *cfg;
  const unsigned all = HP_SRC_UDEV | HP_SRC_MOUNTS | HP_SRC_SOCKET;
  if (c.sources == 0 || (c.sources & ~all)) {
    hp_why(why, whylen, "sources must be a non-empty set of HP_SRC_* bits");
    return -EINVAL;
  }
  if (!(c.sources & HP_SRC_SOCKET) != !c.socket_path) {
    hp_why(why, whylen, "socket_path goes with HP_SRC_SOCKET, and only there");
    return -EINVAL;
  }
  if (c.debounce_ms == 0)
    c.debounce_ms = HP_DEFAULT_DEBOUNCE_MS;
  if (c.max_delay_ms == 0)
    c.max_delay_ms = c.debounce_ms > HP_DEFAULT_MAX_DELAY_MS
                         ? c.debounce_ms
                         : HP_DEFAULT_MAX_DELAY_MS;
  if (c.debounce_ms < 0 || c.debounce_ms > HP_MAX_DEBOUNCE_MS) {
    hp_why(why, whylen, "debounce_ms %d out of range (1 to %d)", c.debounce_ms,
           HP_MAX_DEBOUNCE_MS);
    return -EINVAL;
  }
  if (c.max_delay_ms < c.debounce_ms || c.max_delay_ms > HP_MAX_MAX_DELAY_MS) {
    hp_why(why, whylen, "max_delay_ms %d out of range (%d to %d)",
           c.max_delay_ms, c.debounce_ms, HP_MAX_MAX_DELAY_MS);
    return -EINVAL;
  }
  *ret = c;
  return 0;
}

int hp_config_validate(const hp_config_t *cfg, char *why, size_t whylen) {
  hp_config_t c;
  int r = hp_config_check(cfg, &c, why, whylen);
  if (r < 0)
    return r;
  if (c.socket_path && c.socket_path[0] != '/') {
    hp_why(why, whylen, "socket path %s is not absolute", c.socket_path);
    return -EINVAL;
  }
  gid_t gid;
  if (c.socket_group && (r = hp_lookup_group(c.socket_group, &gid)) < 0) {
    hp_why(why, whylen, "socket group %s: %s", c.socket_group,
           r == -ENOENT ? "no such group" : strerror(-r));
    return r;
  }
  return 0;
}

const char *hp_udev_monitor_name(const char *control_path) {
  return access(control_path, F_OK) == 0 ? "udev" : "kernel";
}

static int open_udev(hp_watch_t *w, char *why, size_t whylen) {
  w->udev = udev_new();
  if (!w->udev) {
    hp_why(why, whylen, "udev_new failed");
    return errno ? -errno : -ENOMEM;
  }
  w->udev_kind = hp_udev_monitor_name(UDEV_CONTROL);
  w->mon = udev_monitor_new_from_netlink(w->udev, w->udev_kind);
  if (!w->mon) {
    hp_why(why, whylen, "cannot open the %s netlink monitor", w->udev_kind);
    return errno ? -errno : -ENOMEM;
  }
  int r = 0;
  for (size_t i = 0; i < N_ELEM(udev_classes) && r >= 0; i++)
    r = udev_monitor_filter_add_match_subsystem_devtype(
        w->mon, udev_classes[i].subsystem, NULL);
  /* Best effort: a smaller buffer only means an earlier overflow rescan. */
  if (r >= 0)
    (void)udev_monitor_set_receive_buffer_size(w->mon, UDEV_RCVBUF);
  if (r >= 0)
    r = udev_monitor_enable_receiving(w->mon);
  if (r < 0)
    hp_why(why, whylen, "cannot listen to the %s netlink monitor: %s",
           w->udev_kind, strerror(-r));
  return r;
}

int hp_watch_new(const hp_config_t *cfg, hp_watch_t **ret, char *why,
                 size_t whylen) {
  hp_watch_t *w = NULL;
  hp_config_t c;
  int r = hp_config_check(cfg, &c, why, whylen);
  if (r < 0)
    return r;
  w = calloc(1, sizeof(*w));
  if (!w)
    return -ENOMEM;
  w->mount_fd = w->sock_fd = -1;
  hp_co_init(&w->co, c.debounce_ms, c.max_delay_ms);
  w->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (w->wake_fd < 0) {
    r = -errno;
    hp_why(why, whylen, "eventfd: %s", strerror(-r));
    goto out;
  }
  if (c.sources & HP_SRC_UDEV) {
    r = open_udev(w, why, whylen);
    if (r < 0)
      goto out;
  }
  if (c.sources & HP_SRC_MOUNTS) {
    /* Opened now: its poll reports changes made after this point only. */
    w->mount_fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
    if (w->mount_fd < 0) {
      r = -errno;
      hp_why(why, whylen, "/proc/self/mountinfo: %s", strerror(-r));
      goto out;
    }
  }
  if (c.sources & HP_SRC_SOCKET) {
    w->socket_path = strdup(c.socket_path);
    if (!w->socket_path) {
      r = -ENOMEM;
      goto out;
    }
    r = hp_socket_open(c.socket_path, c.socket_group, &w->sock_fd, &w->sock_dev,
                       &w->sock_ino, why, whylen);
    if (r < 0)
      goto out;
  }
  *ret = w;
  w = NULL;
  r = 0;
out:
  hp_watch_free(w);
  return r;
}

void hp_watch_free(hp_watch_t *w) {
  if (!w)
    return;
  if (w->sock_fd >= 0) {
    hp_socket_remove(w->socket_path, w->sock_dev, w->sock_ino);
    close(w->sock_fd);
  }
  free(w->socket_path);
  if (w->mount_fd >= 0)
    close(w->mount_fd);
  if (w->wake_fd >= 0)
    close(w->wake_fd);
  udev_monitor_unref(w->mon);
  udev_unref(w->udev);
  free(w);
}

const char *hp_watch_udev_kind(const hp_watch_t *w) { return w->udev_kind; }

int hp_watch_wake(hp_watch_t *w) {
  uint64_t one = 1;
  if (write(w->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
    return -errno;
  return 0;
}

static void add_simple(hp_watch_t *w, uint64_t now, unsigned kind,
                       const char *name) {
  hp_event_t ev = {.kind = kind, .action = HP_ACT_NONE};
  snprintf(ev.name, sizeof(ev.name), "%s", name);
  hp_co_add(&w->co, now, &ev);
}

static void add_device(hp_watch_t *w, uint64_t now, struct udev_device *d) {
  const char *subsystem = udev_device_get_subsystem(d);
  const char *action = udev_device_get_action(d);
  const char *name = udev_device_get_sysname(d);
  hp_event_t ev = {.kind = 0, .action = HP_ACT_CHANGE};
  for (size_t i = 0; subsystem && i < N_ELEM(udev_classes); i++)
    if (strcmp(subsystem, udev_classes[i].subsystem) == 0)
      ev.kind = udev_classes[i].kind;
  if (!ev.kind)
    return;
  for (size_t i = 0; action && i < N_ELEM(udev_actions); i++)
    if (strcmp(action, udev_actions[i].name) == 0)
      ev.action = udev_actions[i].action;
  snprintf(ev.name, sizeof(ev.name), "%s", name ? name : "");
  hp_co_add(&w->co, now, &ev);
}

static void drain_udev(hp_watch_t *w, uint64_t now) {
  for (int i = 0; i < DRAIN_MAX; i++) {
    errno = 0;
    struct udev_device *d = udev_monitor_receive_device(w->mon);
    if (d) {
      add_device(w, now, d);
      udev_device_unref(d);
      continue;
    }
    /* The kernel dropped messages for us: what they said is unknown. */
    if (errno == ENOBUFS) {
      add_simple(w, now, HP_RESCAN, "udev events lost");
      continue;
    }
    return;
  }
}

static int drain_socket(hp_watch_t *w, uint64_t now) {
  for (int i = 0; i < DRAIN_MAX; i++) {
    ssize_t n =
        recv(w->sock_fd, w->dgram, HP_DGRAM_MAX + 1, MSG_DONTWAIT | MSG_TRUNC);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
    size_t got = (size_t)n > HP_DGRAM_MAX ? HP_DGRAM_MAX : (size_t)n;
    hp_co_datagram(&w->co, now, w->dgram, got, (size_t)n);
  }
  return 0;
}

int hp_watch_next(hp_watch_t *w, int timeout_ms, hp_batch_t *ret) {
  enum { P_WAKE, P_UDEV, P_MOUNT, P_SOCK, P_N };
  struct pollfd pfd[P_N] = {
      [P_WAKE] = {.fd = w->wake_fd, .events = POLLIN},
      [P_UDEV] = {.fd = w->mon ? udev_monitor_get_fd(w->mon) : -1,
                  .events = POLLIN},
      [P_MOUNT] = {.fd = w->mount_fd, .events = POLLPRI},
      [P_SOCK] = {.fd = w->sock_fd, .events = POLLIN},
  };
  uint64_t now = pm_now_ns();
  uint64_t until =
      timeout_ms < 0 ? UINT64_MAX : now + (uint64_t)timeout_ms * 1000000u;
  bool polled = false;
  for (;;) {
    if (hp_co_take(&w->co, now, ret))
      return HP_NEXT_BATCH;
    if (polled && now >= until)
      return HP_NEXT_TIMEOUT;
    uint64_t due = hp_co_deadline(&w->co);
    if (until < due)
      due = until;
    struct timespec ts = {0, 0};
    if (due != UINT64_MAX && due > now) {
      ts.tv_sec = (time_t)((due - now) / 1000000000u);
      ts.tv_nsec = (long)((due - now) % 1000000000u);
    }
    int n = ppoll(pfd, P_N, due == UINT64_MAX ? NULL : &ts, NULL);
    polled = true;
    if (n < 0 && errno != EINTR)
      return -errno;
    now = pm_now_ns();
    if (n <= 0)
      continue;
    for (int i = 0; i < P_N; i++)
      if (pfd[i].revents & POLLNVAL)
        return -EBADF;
    /* A batch that fell due while we slept is closed before what woke us is
     * read: that goes to the next batch, so no batch outlasts max_delay. */
    bool due_now = hp_co_take(&w->co, now, ret);
    if (pfd[P_UDEV].revents)
      drain_udev(w, now);
    if (pfd[P_MOUNT].revents & (POLLPRI | POLLERR))
      add_simple(w, now, HP_MOUNT, "");
    int r = pfd[P_SOCK].revents ? drain_socket(w, now) : 0;
    /* A wake-up stays pending for the next call. */
    if (due_now)
      return HP_NEXT_BATCH;
    if (r < 0)
      return r;
    if (pfd[P_WAKE].revents) {
      uint64_t count;
      if (read(w->wake_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
        return -errno;
      return HP_NEXT_WOKEN;
    }
  }
}
