/* events.h: patmon-balance's event socket. Pacemaker runs patmon-alert for
 * node alerts on every member; on the balancer's node it sends "node lost
 * NODE" and "node member NODE" here, and the daemon replans at once instead
 * of at its next interval.
 *
 * A thread waits on the socket (the hotplug library's, so the grammar and
 * the socket's permissions are the pattern plugin's) and wakes the daemon's
 * main thread with SIGUSR1, which that thread must block and wait for. Part
 * of the patmon-balance program, not of libbalancer. */
#ifndef PATMON_BALANCER_EVENTS_H
#define PATMON_BALANCER_EVENTS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct bal_events bal_events_t;

/* What arrived since the last bal_events_take. */
typedef struct bal_events_news {
  char **lost;     /* names of nodes lost, NULL-terminated; caller frees
                      each and the vector */
  unsigned joined; /* "node member" events */
  /* Every node event in arrival order, with the wall time (ms) its batch
   * began, for the availability journal; caller frees each node and the
   * vector. */
  struct bal_node_news {
    char *node;
    bool lost;   /* lost or fenced; else member */
    bool fenced; /* fenced */
    int64_t t_ms;
  } * nodes;
  size_t nnodes, capnodes; /* capnodes: the storage's size */
  unsigned dropped;
  char first_dropped[192]; /* why, and an excerpt; "" when none */
} bal_events_news_t;

/* Binds the socket at path (mode 0660, group group, NULL: ours) and starts
 * the thread, which signals wake (SIGUSR1) on news. On error returns a
 * negative errno with the reason in why (may be NULL). */
int bal_events_start(const char *path, const char *group, pthread_t wake,
                     bal_events_t **ret, char *why, size_t whylen);
/* Moves what arrived into *ret; the caller frees it with
 * bal_events_news_free. */
void bal_events_take(bal_events_t *ev, bal_events_news_t *ret);
void bal_events_news_free(bal_events_news_t *n);
/* Stops the thread and removes the socket. NULL is a no-op. */
void bal_events_stop(bal_events_t *ev);

#endif
