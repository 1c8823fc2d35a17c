/* crm.c: reconciling the journal with crm_mon --output-as=xml. */
#include "config.h"

#include "internal.h"
#include "pm_xml.h"

#include <errno.h>
#include <libxml/parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One running instance crm_mon lists, or a resource running nowhere
 * (node NULL). */
struct seen {
  const char *rsc; /* owned by the document; ":N" still there */
  const char *node;
  bool promoted, failed;
};

struct seen_list {
  struct seen *v;
  size_t n, cap;
};

static bool attr_true(const xmlNode *n, const char *name) {
  const char *v = pm_xml_attr(n, name);
  return v && strcmp(v, "true") == 0;
}

static int seen_add(struct seen_list *l, struct seen s) {
  struct seen *e = pm_vec_push(l);
  if (!e)
    return -ENOMEM;
  *e = s;
  return 0;
}

/* Every <resource> under x, at any depth (groups, clones, bundles). */
static int collect(xmlNode *x, struct seen_list *l, int depth) {
  for (xmlNode *c = x->children; c; c = c->next) {
    if (!pm_xml_is(c, "resource")) {
      if (c->type == XML_ELEMENT_NODE && depth < 8) {
        int r = collect(c, l, depth + 1);
        if (r < 0)
          return r;
      }
      continue;
    }
    const char *id = pm_xml_attr(c, "id");
    if (!id || !av_name_ok(id, strlen(id)) || attr_true(c, "orphaned"))
      continue;
    const char *role = pm_xml_attr(c, "role");
    struct seen s = {.rsc = id,
                     .promoted = role && (strcmp(role, "Promoted") == 0 ||
                                          strcmp(role, "Master") == 0),
                     .failed = attr_true(c, "failed")};
    bool any = false;
    for (xmlNode *n = c->children; attr_true(c, "active") && n; n = n->next) {
      const char *nn = pm_xml_is(n, "node") ? pm_xml_attr(n, "name") : NULL;
      if (!nn || !av_name_ok(nn, strlen(nn)))
        continue;
      s.node = nn;
      any = true;
      if (seen_add(l, s) < 0)
        return -ENOMEM;
    }
    s.node = NULL;
    if (!any && seen_add(l, s) < 0)
      return -ENOMEM;
  }
  return 0;
}

/* One operation in the CIB's status section: when it last changed. */
struct op {
  const char *rsc, *node, *task; /* owned by the CIB document */
  int rc;
  bool probe; /* a one-time monitor: "not running" (7) is an answer */
  int64_t t_ms;
};

struct op_list {
  struct op *v;
  size_t n, cap;
};

static xmlNode *child(xmlNode *x, const char *name) {
  for (xmlNode *c = x ? x->children : NULL; c; c = c->next)
    if (pm_xml_is(c, name))
      return c;
  return NULL;
}

/* The operations of cib/status/node_state/lrm/lrm_resources/lrm_resource. */
static int history(xmlDoc *cib, struct op_list *l) {
  xmlNode *root = cib ? xmlDocGetRootElement(cib) : NULL;
  for (xmlNode *ns = child(child(root, "status"), "node_state"); ns;
       ns = ns->next) {
    const char *node =
        pm_xml_is(ns, "node_state") ? pm_xml_attr(ns, "uname") : NULL;
    xmlNode *rs =
        node ? child(child(child(ns, "lrm"), "lrm_resources"), "lrm_resource")
             : NULL;
    for (; rs; rs = rs->next) {
      const char *rsc =
          pm_xml_is(rs, "lrm_resource") ? pm_xml_attr(rs, "id") : NULL;
      for (xmlNode *o = rsc ? rs->children : NULL; o; o = o->next) {
        const char *task = pm_xml_is(o, "lrm_rsc_op")
                               ? pm_xml_attr(o, "operation")
                               : NULL,
                   *rc = task ? pm_xml_attr(o, "rc-code") : NULL,
                   *when = rc ? pm_xml_attr(o, "last-rc-change") : NULL,
                   *iv = pm_xml_attr(o, "interval"),
                   *exec = pm_xml_attr(o, "exec-time");
        char *end;
        long long t = when ? strtoll(when, &end, 10) : 0;
        if (!when || *end || t <= 0 || t > INT64_MAX / 1000)
          continue;
        struct op *e = pm_vec_push(l);
        if (!e)
          return -ENOMEM;
        /* It ran from last-rc-change, a time cut to whole seconds: from
         * half a second later on average; the error is within +-0.5 s. */
        *e = (struct op){.rsc = rsc,
                         .node = node,
                         .task = task,
                         .rc = atoi(rc),
                         .probe = !iv || strcmp(iv, "0") == 0,
                         .t_ms = t * 1000 + 500 + (exec ? atoi(exec) : 0)};
      }
    }
  }
  return 0;
}

static void strip(char *dst, const char *id);

/* Whether op explains action a. */
static bool explains(const struct op *o, av_action_t a) {
  switch (a) {
  case AV_START:
    return o->rc == 0 && (strcmp(o->task, "start") == 0 ||
                          strcmp(o->task, "migrate_from") == 0);
  case AV_PROMOTE:
    return o->rc == 0 && strcmp(o->task, "promote") == 0;
  case AV_STOP:
    return o->rc == 0 &&
           (strcmp(o->task, "stop") == 0 || strcmp(o->task, "migrate_to") == 0);
  case AV_FAIL:
    return !(o->rc == 0 || o->rc == 8 || (o->rc == 7 && o->probe));
  default:
    return false;
  }
}

/* When a happened to name on node (NULL: any): the end of the latest
 * operation that explains it, later than after and not after now;
 * INT64_MIN when none does. */
static int64_t when(const struct op_list *l, const char *name, const char *node,
                    av_action_t a, int64_t after, int64_t now) {
  int64_t best = INT64_MIN;
  char rn[AV_NAME_MAX + 1];
  for (size_t i = 0; i < l->n; i++) {
    const struct op *o = &l->v[i];
    /* The half second added may pass now: an operation that ended just
     * now. */
    int64_t t = o->t_ms > now && o->t_ms - 500 <= now ? now : o->t_ms;
    if (t <= after || t > now || t <= best ||
        (node && strcmp(o->node, node) != 0) || !explains(o, a))
      continue;
    strip(rn, o->rsc);
    if (strcmp(rn, name) == 0)
      best = t;
  }
  return best;
}

static int64_t dated(int64_t t, int64_t now) {
  return t == INT64_MIN ? now : t;
}

static void strip(char *dst, const char *id) {
  av_event_t ev;
  char line[2 * AV_NAME_MAX + 32];
  snprintf(line, sizeof(line), "0 resource start %s -", id);
  if (av_event_parse(line, strlen(line), &ev, NULL, 0) == 0)
    snprintf(dst, AV_NAME_MAX + 1, "%s", ev.name);
  else
    *dst = '\0';
}

static int record(av_journal_t *j, av_action_t a, const char *name,
                  const char *node, int64_t now, int *count) {
  av_event_t ev = {.t_ms = now, .action = a, .reconciled = true};
  snprintf(ev.name, sizeof(ev.name), "%s", name);
  snprintf(ev.node, sizeof(ev.node), "%s", node ? node : "");
  int r = av_journal_add(j, &ev);
  if (r > 0)
    (*count)++;
  return r < 0 ? r : 0;
}

static int nodes(av_journal_t *j, xmlNode *nodes, int64_t now, int *count) {
  for (xmlNode *n = nodes->children; n; n = n->next) {
    const char *name = pm_xml_is(n, "node") ? pm_xml_attr(n, "name") : NULL;
    if (!name || !av_name_ok(name, strlen(name)))
      continue;
    bool online = attr_true(n, "online") && !attr_true(n, "unclean");
    av_action_t a = !online                       ? AV_LOST
                    : attr_true(n, "maintenance") ? AV_TO_MAINTENANCE
                    : attr_true(n, "standby")     ? AV_TO_STANDBY
                                                  : AV_MEMBER;
    /* An alert is ahead of crm_mon: corosync tells a node's loss or
     * return before the DC records it (a join takes seconds). Within
     * AV_ALERT_LEAD_MS of an alert, crm_mon does not contradict it. */
    const struct av_subject *s = av_model_find(&j->live, AV_NODE, name);
    if (s && s->told && now - s->fig.since_ms < AV_ALERT_LEAD_MS)
      continue;
    /* av_journal_add records it only when the state differs. */
    int r = record(j, a, name, NULL, now, count);
    if (r < 0)
      return r;
  }
  return 0;
}

/* Whether an alert lost node less than AV_ALERT_LEAD_MS before now:
 * crm_mon may still list what ran there (the DC has not recorded the loss
 * yet), which is not running. */
static bool held_offline(const struct av_model *live, const char *node,
                         int64_t now) {
  const struct av_subject *s = av_model_find(live, AV_NODE, node);
  return s && s->told && s->fig.state == AV_OFFLINE &&
         now - s->fig.since_ms < AV_ALERT_LEAD_MS;
}

/* One resource: the instances crm_mon lists against the journal's. */
static int resource(av_journal_t *j, struct av_model *live,
                    const struct seen_list *l, const struct op_list *ops,
                    const char *name, int64_t now, int *count) {
  char rn[AV_NAME_MAX + 1];
  bool failed = false, runs = false;
  int r = 0;
  for (size_t i = 0; i < l->n; i++) {
    strip(rn, l->v[i].rsc);
    if (strcmp(rn, name) == 0) {
      failed |= l->v[i].failed;
      runs |= l->v[i].node && !held_offline(live, l->v[i].node, now);
    }
  }
  /* Instances the journal has and crm_mon does not: copy the names first,
   * recording changes the journal's list. */
  struct av_subject *s = av_model_find(live, AV_RESOURCE, name);
  int64_t after = s && s->fig.state != AV_UNKNOWN ? s->fig.since_ms : INT64_MIN;
  size_t ngone = 0;
  char **gone = s && s->ninst ? calloc(s->ninst, sizeof(char *)) : NULL;
  if (s && s->ninst && !gone)
    return -ENOMEM;
  for (size_t k = 0; s && k < s->ninst; k++) {
    bool there = false;
    for (size_t i = 0; i < l->n && !there; i++) {
      strip(rn, l->v[i].rsc);
      there = l->v[i].node && strcmp(rn, name) == 0 &&
              strcmp(l->v[i].node, s->inst[k].node) == 0;
    }
    if (!there && !(gone[ngone++] = strdup(s->inst[k].node)))
      r = -ENOMEM;
  }
  av_action_t a = failed ? AV_FAIL : AV_STOP;
  for (size_t k = 0; k < ngone && r == 0; k++)
    r = record(j, a, name, gone[k],
               dated(when(ops, name, gone[k], a, after, now), now), count);
  for (size_t k = 0; k < ngone; k++)
    free(gone[k]);
  free(gone);
  for (size_t i = 0; i < l->n && r == 0; i++) {
    strip(rn, l->v[i].rsc);
    av_action_t up = l->v[i].promoted ? AV_PROMOTE : AV_START;
    if (l->v[i].node && strcmp(rn, name) == 0 &&
        !held_offline(live, l->v[i].node, now))
      r = record(j, up, name, l->v[i].node,
                 dated(when(ops, name, l->v[i].node, up, after, now), now),
                 count);
  }
  int64_t t;
  if (r == 0 && !runs) {
    s = av_model_find(live, AV_RESOURCE, name);
    if (!s || s->fig.state == AV_UNKNOWN)
      r = record(j, AV_STOP, name, NULL, now, count);
    else if (failed && s->fig.state != AV_FAILED &&
             (t = when(ops, name, NULL, AV_FAIL, after, now)) != INT64_MIN)
      r = record(j, AV_FAIL, name, NULL, t, count); /* a new failure only */
  }
  return r;
}

int av_journal_reconcile(av_journal_t *j, const char *xml, size_t len,
                         const char *cib, size_t cib_len, const char *file,
                         int64_t now_ms, pm_error_t *err) {
  if (len > INT32_MAX || cib_len > INT32_MAX)
    return -EFBIG;
  xmlDoc *doc =
      xmlReadMemory(xml, (int)len, file, NULL,
                    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
  struct seen_list l = {0};
  struct op_list ops = {0};
  /* A CIB that cannot be read only costs the operations' times. */
  xmlDoc *cdoc = cib ? xmlReadMemory(cib, (int)cib_len, "cib", NULL,
                                     XML_PARSE_NONET | XML_PARSE_NOERROR |
                                         XML_PARSE_NOWARNING)
                     : NULL;
  int count = 0, r = 0;
  xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL, *nd = NULL,
          *res = NULL;
  for (xmlNode *c = root ? root->children : NULL; c; c = c->next) {
    if (pm_xml_is(c, "nodes"))
      nd = c;
    else if (pm_xml_is(c, "resources"))
      res = c;
  }
  if (!nd) {
    const xmlError *e = xmlGetLastError();
    pm_error_set(err, file, doc ? 0 : (e ? (unsigned)e->line : 0), NULL, "%s",
                 doc ? "no <nodes> in crm_mon's output"
                     : "not XML (crm_mon --output-as=xml expected)");
    r = -EBADMSG;
    goto out;
  }
  struct av_model *live = &j->live;
  if ((r = history(cdoc, &ops)) < 0 || (r = nodes(j, nd, now_ms, &count)) < 0 ||
      (res && (r = collect(res, &l, 0)) < 0))
    goto out;
  char rn[AV_NAME_MAX + 1];
  for (size_t i = 0; i < l.n && r == 0; i++) {
    strip(rn, l.v[i].rsc);
    bool first = true; /* each resource once */
    for (size_t k = 0; k < i && first; k++) {
      char other[AV_NAME_MAX + 1];
      strip(other, l.v[k].rsc);
      first = strcmp(other, rn) != 0;
    }
    if (first && *rn)
      r = resource(j, live, &l, &ops, rn, now_ms, &count);
  }
out:
  free(l.v);
  free(ops.v);
  xmlFreeDoc(doc);
  xmlFreeDoc(cdoc);
  return r < 0 ? r : count;
}
