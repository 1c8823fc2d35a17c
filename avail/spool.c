/* spool.c: node alerts that reached no balancer. patmon-alert appends them
 * to a spool file when no one listens on the event socket (the balancer is
 * being restarted elsewhere after its node died); the next active instance
 * takes them into its journal with the alerts' own times. */
#include "config.h"

#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int av_spool_append(const char *path, const av_event_t *ev) {
  char line[2 * AV_NAME_MAX + 64];
  int len = av_event_format(ev, line, sizeof(line));
  if (len < 0)
    return len;
  if ((size_t)len >= sizeof(line))
    return -EINVAL;
  int fd =
      open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0660);
  if (fd < 0)
    return -errno;
  struct stat st;
  int r = fstat(fd, &st) < 0 ? -errno : st.st_size >= AV_SPOOL_MAX ? -EFBIG : 0;
  /* One write() of one line: appends from several agents do not mix. */
  if (r == 0)
    r = pm_write_all(fd, line, (size_t)len);
  if (r == 0 && fdatasync(fd) < 0)
    r = -errno;
  if (close(fd) < 0 && r == 0)
    r = -errno;
  return r;
}

static int by_time(const void *a, const void *b) {
  const av_event_t *x = a, *y = b;
  return (x->t_ms > y->t_ms) - (x->t_ms < y->t_ms);
}

int av_journal_take_spool(av_journal_t *j, const char *path,
                          av_load_t *ret_load, pm_error_t *err) {
  size_t plen = strlen(path);
  char *taking = malloc(plen + sizeof(".taking"));
  if (!taking)
    return -ENOMEM;
  memcpy(taking, path, plen);
  memcpy(taking + plen, ".taking", sizeof(".taking"));
  /* A .taking left by a crash holds older alerts: take it first; the
   * journal does not count twice what it already has. */
  int r = 0;
  if (access(taking, F_OK) < 0 && rename(path, taking) < 0) {
    r = errno == ENOENT ? 0 : -errno;
    if (r < 0)
      pm_error_set(err, path, 0, NULL, "cannot take: %s", pm_strerror(r));
    free(taking);
    return r;
  }
  av_event_t *ev = NULL;
  size_t n = 0;
  av_load_t ld = {0};
  if ((r = av_journal_load(taking, &ev, &n, &ld, err)) < 0) {
    free(taking);
    return r;
  }
  /* Agents on several nodes may append out of order. Alerts not later than
   * the journal's latest event are stale (a node's spool that no instance
   * took while another node's balancer went on recording): taken, they
   * would be dated at that latest time and count a change that is over. */
  qsort(ev, n, sizeof(*ev), by_time);
  int64_t latest = j->live.last_t;
  int count = 0;
  for (size_t i = 0; i < n && r >= 0; i++) {
    if (ev[i].t_ms <= latest)
      continue;
    ev[i].reconciled = false; /* an alert, told at its time */
    if ((r = av_journal_add(j, &ev[i])) > 0)
      count++;
  }
  if (r >= 0 && unlink(taking) < 0 && errno != ENOENT) {
    r = -errno;
    pm_error_set(err, taking, 0, NULL, "cannot remove: %s", pm_strerror(r));
  }
  free(ev);
  free(taking);
  if (r < 0)
    return r;
  if (ret_load)
    *ret_load = ld;
  return count;
}
