/* pcmk-internal.h: what the files reading Pacemaker's XML share (pcmk.c,
 * pcmk-status.c, pcmk-cib.c, pcmk-constraints.c, pcmk-simulate.c); not
 * installed. */
#ifndef PATMON_BALANCER_PCMK_INTERNAL_H
#define PATMON_BALANCER_PCMK_INTERNAL_H

#include "internal.h"
#include "pm_xml.h"

#include <libxml/parser.h>
#include <libxml/tree.h>

#define SCORE_INF 1000000.0

/* ---- pcmk.c: XML helpers and building ------------------------------------ */

/* Whether attribute name of n is a Pacemaker true ("true", "on", "yes",
 * "1"). */
bool pcmk_attr_true(xmlNode *n, const char *name);
/* The first child element of n (may be NULL) called name, else NULL. */
xmlNode *pcmk_child(xmlNode *n, const char *name);
/* Fills err with file, n's line and n as offending text; -EBADMSG. */
int pcmk_bad_element(pm_error_t *err, const char *file, xmlNode *n,
                     const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Parses a document; on bad XML fills err with the line, libxml2's reason
 * and the text of that line, and returns NULL. */
xmlDoc *pcmk_read_xml(const char *buf, size_t len, const char *name,
                      pm_error_t *err);
/* Room for element n of an array that doubles at each power of two. */
int pcmk_grow(void **v, size_t n, size_t size);
/* A new resource id (utilization unknown), indexed. NULL with errno
 * EEXIST when the id is a resource or group member already (crm_mon output
 * that lists it twice), ENOMEM without memory. */
struct bal_pcmk_rsc *pcmk_add_rsc(struct bal_pcmk *p, const char *id);
/* The error for pcmk_add_rsc's NULL on element x: -EBADMSG (with err) for a
 * duplicate id, else -ENOMEM. */
int pcmk_add_failed(pm_error_t *err, const char *file, xmlNode *x,
                    const char *id);
/* Marks r fixed with the reason (the first one given stays). */
int pcmk_fix(struct bal_pcmk_rsc *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- pcmk-status.c ------------------------------------------------------- */

/* Reads nodes and resources under parent (a crm_mon result or a
 * revised_cluster_status). */
int pcmk_parse_status(struct bal_pcmk *p, xmlNode *parent, const char *file,
                      pm_error_t *err);

/* ---- pcmk-cib.c ---------------------------------------------------------- */

/* A score: "INFINITY", "+INFINITY", "-INFINITY", an integer. */
int pcmk_parse_score(const char *s, double *ret);
/* Cluster properties: maintenance, placement strategy, stickiness. */
int pcmk_parse_properties(struct bal_pcmk *p, xmlNode *cib);
/* Node attributes and utilization. */
int pcmk_parse_cib_nodes(struct bal_pcmk *p, xmlNode *cib);
/* Meta attributes and utilization of resources (primitives, groups and
 * their members). */
int pcmk_parse_cib_resources(struct bal_pcmk *p, xmlNode *cib);

/* ---- pcmk-constraints.c -------------------------------------------------- */

/* Location and colocation constraints (rules evaluated at now). */
int pcmk_parse_constraints(struct bal_pcmk *p, xmlNode *cib, time_t now);

#endif
