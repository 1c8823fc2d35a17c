/* zone.h: zones, one balancer instance per zone trading surplus and spare
 * capacity through shared records (part of libbalancer).
 *
 * Each node belongs to a zone. The instance of zone Z plans Z exactly as
 * the planner plans a cluster (bal_plan_compute on Z's nodes and the
 * services running there), then:
 *   - posts what it could not place (its surplus: units left on nodes above
 *     threshold after the local plan, and services it could not start) and
 *     the capacity it has left under threshold (its spare);
 *   - requests spare from other zones for its surplus, only for units whose
 *     relief is worth cross_cost local moves;
 *   - grants the requests addressed to it first come, first served in the
 *     order the records were created: each grant reserves what it gives, a
 *     request that no longer fits is refused;
 *   - moves its units to the nodes named by the grants it received;
 *   - adopts a zone whose instance posted nothing for silent_intervals
 *     intervals when it is the live instance with the lowest zone name, and
 *     plans it as its own until that zone's instance posts again, following
 *     the grants that instance received while their room is reserved
 *     (silent_intervals + 1 intervals from the grant).
 *
 * The shared state (the seam with the daemon, which keeps it in the CIB) is
 * an ordered array of records (key, value), in creation order. A pass
 * returns actions: SET (overwrite a record this instance owns), DELETE (of
 * a record it owns) or CREATE (create if absent; the writer reports
 * -EEXIST when it exists). Every
 * CREATE decides something once for everybody: when it comes back -EEXIST,
 * someone else decided first and the core follows the recorded decision
 * at its next pass. The core reads no clock (time is given, seconds), no
 * file and no CIB, and does not log.
 *
 * Keys are [A-Za-z0-9._-], at most 64 characters; values one line of
 * printable ASCII, at most 1,024 characters. Zone names are [A-Za-z0-9_-],
 * at most 32 characters. Numbers are %.6g; "-" is an unknown or unbalanced
 * dimension; a demand or spare is cpu/memory/net (cores, bytes, bytes/s).
 * A unit is the services that move together (a colocation set), their
 * names joined by '+'. Records do not pile up: the requester DELETEs
 * req.A.N and its grant once it followed the answer or gave up waiting
 * (silent_intervals), and any req.A.N or grant.req.A.N of its zone that
 * it no longer waits for (an instance that restarted forgets its
 * requests: their answers are not followed).
 *
 *   post.Z      SET by Z's instance each pass:
 *               "pass=N t=T spare=C/M/N max=C/M/N plans=Z[,X...]
 *                surplus=UNIT@C/M/N[,...] [more=K]"
 *               spare: summed over the nodes it plans, threshold x capacity
 *               less the load after its plan and its reservations (>= 0);
 *               max: the largest of one node; plans: its zone and the zones
 *               it adopted; surplus: what it could not place (K more did
 *               not fit in the value). Liveness is judged by pass changing,
 *               on the reader's clock (no clock agreement needed).
 *   req.A.N     CREATE by A's instance (N = 1, 2, ... per zone A):
 *               "to=B pass=P t=T units=UNIT@C/M/N[,...]"
 *               asks the instance of zone B for room for these units.
 *   grant.req.A.N  CREATE by B's instance, once per request, in the order
 *               the requests were recorded:
 *               "ok by=B t=T nodes=NODE[,...]" (one node per unit, in the
 *               request's order: A moves the units there), or
 *               "refused by=B t=T why=WORD" (nofit, noroom, unknown, stale).
 *   adopt.Z.K   CREATE by the adopter B of the silent zone Z (K = 1, 2, ...
 *               one per adoption): "by=B since=T"; SET by B when Z's instance
 *               posts again (its return): "by=B since=T ended=T2". Z's
 *               instance plans nothing while an adoption of Z is open and
 *               its adopter is live: it posts and waits for the end. */
#ifndef PATMON_BALANCER_ZONE_H
#define PATMON_BALANCER_ZONE_H

#include "balancer.h"

#include <stdint.h>

#define BAL_ZONE_KEY_MAX 64
#define BAL_ZONE_VALUE_MAX 1024
#define BAL_ZONE_NAME_MAX 32

typedef struct bal_record {
  const char *key;
  const char *value;
} bal_record_t;

enum bal_zone_op {
  BAL_ZONE_SET,    /* overwrite (a record this instance owns) */
  BAL_ZONE_CREATE, /* create if absent, else -EEXIST */
  BAL_ZONE_DELETE, /* remove if present (value ""); absent is no error */
};

typedef struct bal_zone_action {
  enum bal_zone_op op;
  const char *key;
  const char *value;
} bal_zone_action_t;

typedef struct bal_zone_params {
  unsigned interval;         /* seconds between passes (60) */
  unsigned silent_intervals; /* silent this long: adopted (2) */
  double cross_cost;         /* a cross-zone move costs this many local
                              * moves (5): a unit is requested only when
                              * its relief beats cross_cost x move_cost */
  unsigned max_requests;     /* requests created a pass at most (4) */
} bal_zone_params_t;

void bal_zone_params_init(bal_zone_params_t *p);

typedef struct bal_zone bal_zone_t;

/* The instance of zone name. NULL with errno EINVAL for a bad name,
 * ENOMEM. */
bal_zone_t *bal_zone_new(const char *name, const bal_zone_params_t *p);
void bal_zone_free(bal_zone_t *z);
/* New parameters (a reload: interval), from the next step on; what the
 * instance remembers stays. -EINVAL (the old ones stay). */
int bal_zone_set_params(bal_zone_t *z, const bal_zone_params_t *p);
const char *bal_zone_name(const bal_zone_t *z);

/* A pass, in two steps. Step 1 reads the records (rec[0..nrec-1] in
 * creation order; copied) at now (seconds, the caller's clock; never
 * decreasing) for the zones in zones[0..nzones-1] (every zone a node
 * carries), and decides adoptions: its actions (CREATE adopt.*, SET of an
 * ended adoption) are to be written now and each reported with
 * bal_zone_written. -EINVAL on a record that does not parse as its key
 * says (the pass goes on without it: its key is in *ret_bad when ret_bad
 * is not NULL), -ENOMEM. Actions from an earlier step are dropped. */
int bal_zone_begin(bal_zone_t *z, const bal_record_t *rec, size_t nrec,
                   const char *const *zones, size_t nzones, int64_t now,
                   const char **ret_bad);

/* Step 2: plans the zones this instance plans now (its own unless it is
 * adopted and waits, and those it adopted) on c, the whole cluster, with
 * node_zone[n] the zone of node n (NULL: in no zone, never planned), and
 * appends its actions: grants, requests, its post. The local plan and the
 * cross-zone moves are then read below. Services that run nowhere are
 * planned by the instance of their home node's zone, or, without a home,
 * by the live instance of the lowest zone name. -EINVAL, -ENOMEM, or the
 * planner's error. */
int bal_zone_plan(bal_zone_t *z, const bal_cluster_t *c,
                  const char *const *node_zone, const bal_params_t *p);

size_t bal_zone_nactions(const bal_zone_t *z);
/* Fills *ret (valid until the next step or bal_zone_free); -ERANGE. */
int bal_zone_action(const bal_zone_t *z, size_t i, bal_zone_action_t *ret);
/* The writer's result for action i: 0, or -EEXIST for a CREATE whose key
 * existed (another instance decided first: the core drops its own decision
 * and follows the record), or another negative errno (not written: it is
 * decided again next pass). An adoption claim that did not succeed is not
 * planned at step 2. -ERANGE. */
int bal_zone_written(bal_zone_t *z, size_t i, int rc);

/* The plan of the zones planned at step 2 (NULL before; owned by z, valid
 * until the next step), on bal_zone_cluster: find c's indices by name. */
const bal_plan_t *bal_zone_local(const bal_zone_t *z);
/* The cluster the local plan was computed on: c restricted to the nodes
 * of the planned zones and their services (the plan's node and service
 * indices are its). NULL before step 2. */
const bal_cluster_t *bal_zone_cluster(const bal_zone_t *z);
/* Cross-zone moves granted to this instance: each unit moves to the node
 * the grant named (reason BAL_WHY_GRANT). */
size_t bal_zone_ncross(const bal_zone_t *z);
int bal_zone_cross(const bal_zone_t *z, size_t i, bal_move_t *ret);

/* The zones this instance plans after step 1 (its own first, unless it
 * waits for the end of its adoption). */
size_t bal_zone_nplanned(const bal_zone_t *z);
const char *bal_zone_planned(const bal_zone_t *z, size_t i);

/* Whether this instance leads after step 1: its zone has the lowest name
 * among the zones judged live (its own always is) and it does not wait for
 * the end of its adoption. When the leader's instance falls silent the
 * next lowest leads within silent_intervals; an instance that starts (or
 * returns) leads from its first pass (or from the end of its adoption),
 * the one it replaces stops at its next pass. The daemon gives the leader
 * the duties done once for the whole cluster. false before step 1. */
bool bal_zone_leader(const bal_zone_t *z);

/* What step 2 found: units left over after the local plan, units
 * requested, requests granted and refused (by this instance), units moved
 * across zones. */
typedef struct bal_zone_stats {
  unsigned surplus, requested, granted, refused, cross;
} bal_zone_stats_t;
void bal_zone_stats(const bal_zone_t *z, bal_zone_stats_t *ret);

#endif
