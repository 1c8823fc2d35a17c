/* avail.h: availability accounting. Cluster events (a node lost or back, a
 * resource started, stopped, failed, promoted or demoted on a node, a node
 * fenced), each with its wall time, go into an append-only journal file;
 * pure functions turn the recorded events into figures per node and per
 * resource: current state, failures, MTTF, MTTR and availability, over all
 * the history or over a window (the last 24 h, 7 d, 30 d).
 *
 * What is counted (the same rules for the whole history and for a window):
 *
 *   Nodes. A node is up while online (after "member"), in standby or in
 *   maintenance included. A failure is a node that leaves while up ("lost",
 *   or "fenced"): every loss counts, a clean
 *   shutdown too, since Pacemaker's alerts cannot tell them apart. Its repair
 *   runs from the loss to the next "member". A node first seen offline is
 *   neither up nor under repair (its time is not counted) until it joins.
 *
 *   Resources (a primitive; a clone's instances are one resource, named
 *   without their ":N"). A resource is up while it runs (started or
 *   promoted) on at least one node. A failure is an entry into the failed
 *   state: a failed operation ("fail": a monitor, start or stop that did not
 *   succeed) or the loss of the node of its last running instance, so that
 *   it runs nowhere. Losing one instance while another still runs is not a
 *   failure of the resource. The repair runs from the failure to the next
 *   start anywhere (a recovery stop in between does not end it). A planned
 *   stop (a "stop" while it runs, as in a move or a disable) is neither up
 *   nor repair time, and is not a failure.
 *
 *   Time before a subject's first event is unknown and not counted. An
 *   interval still open at the end (up now, or under repair now) counts up to
 *   the end of the window ("now"). In a window [since, now], intervals are cut
 *   at its edges and a failure counts when its time is inside it. So:
 *     MTTF = up time / failures, MTTR = repair time / failures (both
 *     undefined, NaN, without a failure), availability = up / (up + repair)
 *     = MTTF / (MTTF + MTTR); NaN when neither up nor repair time is known.
 *
 * Duplicates. An event that changes nothing (a node lost that is already
 * offline, a start where the resource already runs) is not recorded, nor is
 * an exact copy (same time, action and names) of a recorded event: a
 * duplicated alert is never counted twice. The journal's live state takes
 * events in the order recorded, a time that goes backwards (a clock step, a
 * late alert) as the latest time seen; a report takes them in time order
 * (equal times in the order recorded), since a change the CIB dates can be
 * recorded after an alert that came later.
 *
 * The journal file: one event per line, "MS ACTION NAME [NODE] [reconciled]"
 * (MS: milliseconds since the epoch; ACTION "node lost|member|fenced|
 * standby|maintenance" or
 * "resource start|stop|fail|promote|demote"; NODE: a resource event's node,
 * "-" when unknown); lines starting with '#' are comments. Each append is one
 * write() followed by fdatasync(). A last line without its newline (torn by a
 * crash) is ignored, reported and cut off; another bad line is skipped and
 * reported; neither stops the journal from opening.
 *
 * Conventions: functions return 0 (or a count) or a negative errno; nothing
 * here logs. Output parameters are written only on success. One writer per
 * journal file; a journal object is not locked (one thread at a time). */
#ifndef PATMON_AVAIL_H
#define PATMON_AVAIL_H

#include "pm.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AV_NAME_MAX 255 /* node and resource names, NUL excluded */
#define AV_HOUR_MS INT64_C(3600000)
#define AV_DAY_MS (24 * AV_HOUR_MS)
/* How long a node alert stands against crm_mon (see av_journal_reconcile). */
#define AV_ALERT_LEAD_MS INT64_C(30000)

typedef enum av_kind { AV_NODE = 1, AV_RESOURCE } av_kind_t;

typedef enum av_action {
  AV_LOST = 1, /* node events */
  AV_MEMBER,
  AV_FENCED,
  AV_START, /* resource events, on a node */
  AV_STOP,
  AV_FAIL,
  AV_PROMOTE,
  AV_DEMOTE,
  AV_TO_STANDBY, /* node events: online, but takes no resources */
  AV_TO_MAINTENANCE,
} av_action_t;

typedef enum av_state {
  AV_UNKNOWN = 0,
  AV_ONLINE, /* nodes */
  AV_OFFLINE,
  AV_STARTED, /* resources: runs, not promoted anywhere */
  AV_PROMOTED,
  AV_STOPPED,
  AV_FAILED,
  AV_STANDBY, /* nodes: online (up) in standby or maintenance */
  AV_MAINTENANCE,
} av_state_t;

typedef struct av_event {
  int64_t t_ms; /* wall time, milliseconds since the epoch */
  av_action_t action;
  bool reconciled; /* found by av_journal_reconcile: t_ms is when it was
                      noticed, the change happened before */
  char name[AV_NAME_MAX + 1]; /* node, or resource without ":N" */
  char node[AV_NAME_MAX + 1]; /* resource events: where; "" when unknown */
} av_event_t;

/* "node" or "resource" for an action. */
av_kind_t av_action_kind(av_action_t a);
/* "lost", "start", ...; "?" for anything else. */
const char *av_action_name(av_action_t a);
/* "online", "failed", ...; "unknown" for AV_UNKNOWN. */
const char *av_state_name(av_state_t s);

/* Parses one journal line (len bytes, no newline). 0 with *ret filled, or
 * -EBADMSG with the reason in why (may be NULL). A resource name's ":N"
 * clone suffix is dropped. */
int av_event_parse(const char *line, size_t len, av_event_t *ret, char *why,
                   size_t whylen);
/* Formats ev as a journal line with its newline, like snprintf; -EINVAL
 * when ev is not valid (unknown action, bad name). */
int av_event_format(const av_event_t *ev, char *buf, size_t len);

typedef struct av_journal av_journal_t;

/* What opening a journal found. */
typedef struct av_load {
  unsigned events;  /* events read */
  unsigned skipped; /* bad lines skipped, the torn one included */
  bool torn;        /* the last line had no newline and was cut off */
  pm_error_t first; /* the first bad line: file, line, text, reason */
} av_load_t;

/* Opens (creating it, mode 0644, when missing) the journal at path and reads
 * it. A torn last line is cut off so the next append starts a line; bad
 * lines are skipped; both are described in *ret_load (may be NULL). On
 * error (cannot open, read or cut) returns a negative errno with the reason
 * in err and writes nothing. The caller frees the journal with
 * av_journal_free. */
int av_journal_open(const char *path, av_journal_t **ret, av_load_t *ret_load,
                    pm_error_t *err);
/* Reads the journal at path without opening it for writing (a report):
 * a torn last line is reported but not cut off; a missing file is
 * -ENOENT. On success *ret holds the events (the caller frees it with
 * free()) and *ret_n their number. */
int av_journal_load(const char *path, av_event_t **ret, size_t *ret_n,
                    av_load_t *ret_load, pm_error_t *err);
/* Closes the journal. NULL is a no-op. */
void av_journal_free(av_journal_t *j);

/* Records ev when it changes a state (see "Duplicates" above): appends its
 * line, fdatasync()s, and returns 1; returns 0 when it changes nothing.
 * -EINVAL for an invalid event; another negative errno when the write
 * failed, and then neither the file (cut back) nor the journal changed. */
int av_journal_add(av_journal_t *j, const av_event_t *ev);

/* Brings the journal in line with the cluster's current state: xml (len
 * bytes) is the output of `crm_mon --output-as=xml` (file names it in
 * errors). For each node and resource instance whose state differs from the
 * journal's, records the event that explains it, marked reconciled: a node
 * seen offline that was online is lost; an instance no longer running is
 * stopped, or failed when crm_mon says so; a resource running nowhere that
 * crm_mon shows failed is a new failure only when the CIB has a failed
 * operation later than its last event; a resource never seen before is
 * started (or stopped) without a failure. A node whose state an alert (an
 * event not reconciled) set less than AV_ALERT_LEAD_MS before now_ms is left
 * alone: corosync tells a loss or a return before crm_mon shows it. The
 * time is now_ms, except for a resource event that the CIB (cib, cib_len
 * bytes: `cibadmin --query`; may be NULL) dates: when the latest operation
 * that explains it (a start or migrate_from, promote, stop or migrate_to,
 * or a failed one) ended: last-rc-change (when it began, cut to whole
 * seconds) plus half a second plus exec-time, within +-0.5 s (now_ms when
 * that half second passes it), when later than the resource's last event
 * and not later than now_ms. A CIB
 * that cannot be read only loses those times. Returns the number of events
 * recorded, or -EBADMSG with err filled for bad XML, or another negative errno
 * (the events recorded so far stay). */
int av_journal_reconcile(av_journal_t *j, const char *xml, size_t len,
                         const char *cib, size_t cib_len, const char *file,
                         int64_t now_ms, pm_error_t *err);

/* The spool: node alerts that reached no balancer. patmon-alert appends an
 * alert there, as a journal line with Pacemaker's time of the alert, when
 * no one listens on the event socket (the balancer's node died and the
 * balancer is not yet running elsewhere); the next active instance takes
 * the spool before it reconciles, so a node loss it would otherwise only
 * learn from crm_mon keeps its time, and so do the resource restarts that
 * followed it.
 *
 * av_spool_append appends ev's line to path (created mode 0660) with one
 * write() and an fdatasync(). 0, or a negative errno: -EFBIG when the
 * spool already holds AV_SPOOL_MAX bytes (no balancer takes it: a node
 * whose local spool no instance reads grows by one line per node alert). */
#define AV_SPOOL_MAX (1 << 20)
int av_spool_append(const char *path, const av_event_t *ev);
/* Moves the spool at path aside (path.taking; one left by a crash is taken
 * first), records its events in time order as alerts, and removes it.
 * Events not later than the journal's latest one are stale and skipped
 * (alerts no instance took while another went on recording); duplicates
 * are not counted twice (see av_journal_add). Bad lines are skipped and
 * described in *ret_load (may be NULL). Returns the number of events
 * recorded (0 as well when there is no spool), or a negative errno with
 * err filled. */
int av_journal_take_spool(av_journal_t *j, const char *path,
                          av_load_t *ret_load, pm_error_t *err);

/* The recorded events, in the order recorded; valid until the next add. */
const av_event_t *av_journal_events(const av_journal_t *j, size_t *ret_n);

/* Figures for one node or resource over a window. */
typedef struct av_figures {
  av_kind_t kind;
  const char *name; /* owned by the report */
  av_state_t state; /* at the end of the window */
  int64_t since_ms; /* when that state began (clamped as above) */
  unsigned failures;
  int64_t up_ms, repair_ms;
  double mttf_s, mttr_s, availability; /* NaN when undefined */
} av_figures_t;

/* One loss of a node (see "Node losses" above av_report_losses). */
typedef struct av_loss {
  const char *node; /* owned by the report */
  int64_t t_ms;     /* when it left: "lost", or "fenced" when that came first */
  bool fenced;      /* a "fenced" event came while it was down */
  unsigned failed;  /* resources its loss failed (it ran their last instance) */
  int64_t outage_ms;   /* to its next "member"; -1 while it is down */
  int64_t recovery_ms; /* to when all those resources ran again; 0 when
                          none failed; -1 while one does not run */
} av_loss_t;

typedef struct av_report av_report_t;

/* Figures for every node and resource named in events[0..n), over the
 * window [since_ms, now_ms] (since_ms INT64_MIN: all the history); events
 * after now_ms are ignored. Pure: depends on its arguments only. Returns 0
 * with *ret owned by the caller (av_report_free), or -ENOMEM / -EINVAL
 * (since_ms > now_ms). */
int av_report_new(const av_event_t *events, size_t n, int64_t since_ms,
                  int64_t now_ms, av_report_t **ret);
void av_report_free(av_report_t *r);
/* Rows: nodes first, then resources, each in order of first appearance. */
size_t av_report_count(const av_report_t *r);
const av_figures_t *av_report_get(const av_report_t *r, size_t i);
/* The row of name, NULL when the events never name it. */
const av_figures_t *av_report_find(const av_report_t *r, av_kind_t kind,
                                   const char *name);

/* Node losses. Per loss of a node that was up: its outage, from the loss
 * to its next "member" (the node's repair time for that failure), and the
 * recovery of its services, from the loss to the moment every resource
 * the loss failed (those whose last running instance was there) has
 * started again somewhere: the longest of their repairs. The detection
 * itself (from the node's death to corosync's "lost") happens before the
 * first event and cannot be measured from events. "fenced" after a loss
 * marks it (recorded once per loss); "fenced" of an up node is the loss.
 *
 * The losses with t_ms inside the report's window, in time order; *ret
 * points into the report. */
size_t av_report_losses(const av_report_t *r, const av_loss_t **ret);

/* Parses a window length: a number followed by s, m, h or d ("30d",
 * "24h"). 0 with *ret_ms, or -EINVAL. */
int av_parse_duration(const char *s, int64_t *ret_ms);

/* Appends the report as a table to out, one row per node and resource:
 * kind, name, state, failures, MTTF, MTTR and availability (in percent,
 * three decimals), "-" where undefined; durations as "1d02h", "3h04m",
 * "5m06s" or "7.2s". Then, when the window holds node losses, one row per
 * loss: node, when (UTC, milliseconds), fenced, outage and recovery in
 * seconds with one decimal ("-" while open), resources failed. 0, or
 * -ENOMEM. */
int av_report_format(const av_report_t *r, pm_buf_t *out);

#endif
