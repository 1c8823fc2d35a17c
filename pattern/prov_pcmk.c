/* prov_pcmk.c: Pacemaker resources active on this node.
 *
 * Where resources run comes from `crm_mon -1 --output-as=xml`, their
 * parameters from the CIB (`cibadmin -Q`); both honour CIB_file. Keys: RSC,
 * AGENT (class:provider:type), ROLE, GROUP (the group or clone around it),
 * PARAM{name}, plus NODE. The local node is opts->node, else the pattern
 * file's `node`, else `crm_node -n`, else the host name. */
#include "config.h"

#include "internal.h"
#include "pm_xml.h"

#include <errno.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>

static xmlNode *find_primitive(xmlNode *n, const char *id) {
  for (; n; n = n->next) {
    if (n->type != XML_ELEMENT_NODE)
      continue;
    if (pm_xml_is(n, "primitive")) {
      const char *pid = pm_xml_attr(n, "id");
      if (pid && strcmp(pid, id) == 0)
        return n;
    }
    if (pm_xml_is(n, "status"))
      continue; /* operation history, no configuration */
    xmlNode *hit = find_primitive(n->children, id);
    if (hit)
      return hit;
  }
  return NULL;
}

static int add_params(pat_inventory_t *inv, xmlNode *prim) {
  int r = 0;
  for (xmlNode *set = prim ? prim->children : NULL; r == 0 && set;
       set = set->next) {
    if (!pm_xml_is(set, "instance_attributes"))
      continue;
    for (xmlNode *nv = set->children; r == 0 && nv; nv = nv->next) {
      const char *name =
          pm_xml_is(nv, "nvpair") ? pm_xml_attr(nv, "name") : NULL;
      const char *value = name ? pm_xml_attr(nv, "value") : NULL;
      if (!value)
        continue;
      char key[300];
      snprintf(key, sizeof(key), "PARAM{%s}", name);
      r = pat_inv_prop(inv, key, value, true);
    }
  }
  return r;
}

static bool runs_on(xmlNode *rsc, const char *node) {
  const char *active = pm_xml_attr(rsc, "active");
  if (!active || strcmp(active, "true") != 0)
    return false;
  for (xmlNode *n = rsc->children; n; n = n->next)
    if (pm_xml_is(n, "node") && pm_xml_attr(n, "name") &&
        strcmp(pm_xml_attr(n, "name"), node) == 0)
      return true;
  return false;
}

struct walk {
  pat_inventory_t *inv;
  xmlNode *cib_root;
  const char *node;
  const struct pat_rsc_event *ev; /* what HA events said since */
  size_t nev;
  bool *here; /* per event: crm_mon runs it here */
};

/* The event about resource id (crm_mon's id, "id:N" for a clone instance
 * matches "id:N" or "id"), or NULL. */
static const struct pat_rsc_event *event_for(const struct walk *w,
                                             const char *id, size_t *ret_i) {
  size_t base = strcspn(id, ":");
  for (size_t i = 0; i < w->nev; i++) {
    const char *e = w->ev[i].rsc;
    if (strcmp(e, id) == 0 ||
        (strlen(e) == base && strncmp(e, id, base) == 0)) {
      *ret_i = i;
      return &w->ev[i];
    }
  }
  return NULL;
}

/* Walks crm_mon's <resources>; group is the enclosing group/clone id. */
static int walk(const struct walk *w, xmlNode *n, const char *group) {
  int r = 0;
  pat_inventory_t *inv = w->inv;
  for (; r == 0 && n; n = n->next) {
    if (pm_xml_is(n, "group") || pm_xml_is(n, "clone") ||
        pm_xml_is(n, "bundle")) {
      r = walk(w, n->children, pm_xml_attr(n, "id"));
      continue;
    }
    const char *id = pm_xml_attr(n, "id");
    if (!pm_xml_is(n, "resource") || !id || !*id)
      continue;
    bool here = runs_on(n, w->node);
    size_t k;
    const struct pat_rsc_event *ev = event_for(w, id, &k);
    if (ev && w->here)
      w->here[k] = here;
    /* An event is this node's own word and may be newer than the CIB. */
    if (ev ? !ev->started : !here)
      continue;
    /* Anonymous clone instances may be shown as "id:N". */
    char base[256];
    snprintf(base, sizeof(base), "%s", id);
    base[strcspn(base, ":")] = '\0';
    const char *agent = pm_xml_attr(n, "resource_agent");
    const char *role = here ? pm_xml_attr(n, "role") : "Started";
    const char *node = w->node;
    r = pat_inv_begin(inv, PAT_RESOURCE, base, base, 0, true);
    if (r == 0)
      r = pat_inv_prop(inv, "RSC", base, true);
    if (r == 0)
      r = pat_inv_prop(inv, "AGENT", agent ? agent : "", true);
    if (r == 0)
      r = pat_inv_prop(inv, "ROLE", role ? role : "", true);
    if (r == 0)
      r = pat_inv_prop(inv, "GROUP", group ? group : "", true);
    if (r == 0)
      r = pat_inv_prop(inv, "NODE", node, true);
    /* A systemd resource runs as a unit: its processes are in the unit's
     * cgroup, /system.slice/TYPE.service unless the unit says otherwise. */
    if (r == 0 && agent && strncmp(agent, "systemd:", 8) == 0 && agent[8]) {
      char cg[300];
      snprintf(cg, sizeof(cg), "/system.slice/%s%s", agent + 8,
               strchr(agent + 8, '.') ? "" : ".service");
      r = pat_inv_prop(inv, "CGROUP", cg, true);
    }
    if (r == 0 && w->cib_root)
      r = add_params(inv, find_primitive(w->cib_root, base));
    if (r == 0)
      r = pat_inv_end(inv);
    else
      pat_inv_abort(inv);
  }
  return r;
}

static xmlDoc *read_xml(const char *text, size_t len) {
  if (!text || len == 0 || len > INT32_MAX)
    return NULL;
  return xmlReadMemory(text, (int)len, "pacemaker.xml", NULL,
                       XML_PARSE_NONET | XML_PARSE_NOBLANKS |
                           XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
}

int pat_parse_crm_mon(pat_inventory_t *inv, const char *mon, size_t len,
                      const char *cib, size_t cib_len, const char *node,
                      const struct pat_rsc_event *ev, size_t nev,
                      bool *ret_here) {
  xmlDoc *doc = read_xml(mon, len);
  xmlDoc *cdoc = read_xml(cib, cib_len);
  int r = 0;
  if (!doc) {
    r = pat_inv_note(inv, PAT_RESOURCE, "crm_mon printed no valid XML");
    goto out;
  }
  if (cib && !cdoc)
    r = pat_inv_note(inv, PAT_RESOURCE,
                     "the CIB is not valid XML: resource parameters unknown");
  struct walk w = {.inv = inv,
                   .cib_root = cdoc ? xmlDocGetRootElement(cdoc) : NULL,
                   .node = node,
                   .ev = ev,
                   .nev = nev,
                   .here = ret_here};
  for (size_t i = 0; ret_here && i < nev; i++)
    ret_here[i] = false; /* not in crm_mon at all */
  xmlNode *root = xmlDocGetRootElement(doc);
  for (xmlNode *n = root ? root->children : NULL; r == 0 && n; n = n->next)
    if (pm_xml_is(n, "resources"))
      r = walk(&w, n->children, NULL);
out:
  xmlFreeDoc(doc);
  xmlFreeDoc(cdoc);
  return r;
}

/* Pacemaker tools asked for XML report failures in it:
 * <status code=".." message=".."><errors><error>text</error>... */
static void xml_failure(const pm_buf_t *out, char *buf, size_t len) {
  xmlDoc *doc = read_xml(out->data, out->len);
  xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
  buf[0] = '\0';
  for (xmlNode *st = root ? root->children : NULL; st; st = st->next) {
    if (!pm_xml_is(st, "status"))
      continue;
    const char *msg = pm_xml_attr(st, "message");
    const char *detail = NULL;
    if (msg && strcmp(msg, "OK") == 0)
      msg = NULL; /* crm_mon says OK and lists errors */
    for (xmlNode *es = st->children; es && !detail; es = es->next)
      for (xmlNode *e = pm_xml_is(es, "errors") ? es->children : NULL;
           e && !detail; e = e->next)
        if (pm_xml_is(e, "error") && e->children && e->children->content)
          detail = (const char *)e->children->content;
    snprintf(buf, len, "%s%s%s", msg ? msg : "", msg && detail ? ": " : "",
             detail ? detail : "");
  }
  xmlFreeDoc(doc);
}

/* A command and what it gave. */
struct job {
  char *const *argv;
  int timeout_ms;
  pm_buf_t out, err;
  int status;
  int r;
};

static void *run_job(void *arg) {
  struct job *j = arg;
  j->r = pm_spawn(j->argv, j->timeout_ms, &j->out, &j->err, &j->status);
  return NULL;
}

/* The job's result; a note on the class explains failures. */
static int judge(pat_inventory_t *inv, struct job *j) {
  int r = j->r;
  if (r == 0 && !(WIFEXITED(j->status) && WEXITSTATUS(j->status) == 0)) {
    char why[300];
    xml_failure(&j->out, why, sizeof(why));
    if (!why[0] && j->err.data)
      snprintf(why, sizeof(why), "%.*s", (int)strcspn(j->err.data, "\n"),
               j->err.data);
    pat_inv_note(inv, PAT_RESOURCE,
                 "%s failed (status %d)%s%s: resource patterns expand to "
                 "nothing",
                 j->argv[0], WIFEXITED(j->status) ? WEXITSTATUS(j->status) : -1,
                 why[0] ? ": " : "", why);
    r = -EIO;
  } else if (r < 0) {
    pat_inv_note(inv, PAT_RESOURCE, "cannot run %s: %s", j->argv[0],
                 r == -ENOENT  ? "not installed"
                 : r == -EFBIG ? "its output is larger than 16 MiB"
                               : strerror(-r));
  }
  return r;
}

static void job_free(struct job *j) {
  pm_buf_free(&j->out);
  pm_buf_free(&j->err);
}

static void local_node(const pat_scan_opts_t *o, int timeout_ms, char *buf,
                       size_t len) {
  const char *given = o->node   ? o->node
                      : o->want ? pat_set_node(o->want)
                                : NULL;
  if (given) {
    snprintf(buf, len, "%s", given);
    return;
  }
  pm_buf_t out = {0};
  int status;
  char *argv[] = {"crm_node", "-n", NULL};
  if (pm_spawn(argv, timeout_ms, &out, NULL, &status) == 0 &&
      WIFEXITED(status) && WEXITSTATUS(status) == 0 && out.data &&
      out.data[0] != '\n' && out.data[0]) {
    snprintf(buf, len, "%.*s", (int)strcspn(out.data, "\n"), out.data);
  } else {
    struct utsname u;
    uname(&u);
    snprintf(buf, len, "%s", u.nodename);
  }
  pm_buf_free(&out);
}

/* ---- what a monitor keeps between listings ---- */

/* At most this many events are remembered (one per resource): the oldest
 * goes first. */
#define MAX_EVENTS 4096

int pat_pcmk_event(struct pat_pcmk_cache *c, const char *rsc, bool started) {
  if (!rsc || !*rsc)
    return -EINVAL;
  size_t i = 0;
  while (i < c->ev.n && strcmp(c->ev.v[i].rsc, rsc) != 0)
    i++;
  if (i == c->ev.n) {
    char *copy = strdup(rsc);
    if (!copy)
      return -ENOMEM;
    if (c->ev.n == MAX_EVENTS) {
      free(c->ev.v[0].rsc);
      memmove(c->ev.v, c->ev.v + 1, --c->ev.n * sizeof(*c->ev.v));
      i--;
    } else {
      if (pm_vec_reserve(&c->ev, 1) < 0) {
        free(copy);
        return -ENOMEM;
      }
    }
    *pm_vec_push(&c->ev) = (struct pat_rsc_event){.rsc = copy};
  }
  c->ev.v[i].started = started;
  c->ev.v[i].at_ns = pm_now_ns();
  c->cached_only = true;
  return 0;
}

void pat_pcmk_settle(struct pat_pcmk_cache *c, const bool *here, uint64_t now) {
  size_t k = 0;
  for (size_t i = 0; i < c->ev.n; i++) {
    bool agreed = here[i] == c->ev.v[i].started;
    bool old =
        now - c->ev.v[i].at_ns > (uint64_t)PAT_EVENT_GRACE_S * 1000000000;
    if (agreed || old)
      free(c->ev.v[i].rsc);
    else
      c->ev.v[k++] = c->ev.v[i];
  }
  c->ev.n = k;
}

void pat_pcmk_cache_free(struct pat_pcmk_cache *c) {
  if (!c)
    return;
  for (size_t i = 0; i < c->ev.n; i++)
    free(c->ev.v[i].rsc);
  pm_vec_free(&c->ev);
  pm_buf_free(&c->mon);
  pm_buf_free(&c->cib);
  *c = (struct pat_pcmk_cache){0};
}

/* With a cache whose events are news, the last output with them applied:
 * no command runs. Else crm_mon and cibadmin, their output kept. */
int pat_prov_pcmk(pat_inventory_t *inv, const pat_scan_opts_t *o,
                  unsigned classes) {
  struct pat_pcmk_cache *c = o->pcmk;
  if (c && c->cached_only && c->mon.len) {
    c->cached_only = false;
    return pat_parse_crm_mon(inv, c->mon.data, c->mon.len,
                             c->cib.len ? c->cib.data : NULL, c->cib.len,
                             c->node, c->ev.v, c->ev.n, NULL);
  }
  if (c)
    c->cached_only = false;
  int timeout = o->timeout_ms > 0 ? o->timeout_ms : 10000;
  char node[256];
  bool *here = NULL;
  char *mon_argv[] = {"crm_mon", "-1", "--output-as=xml", NULL};
  char *cib_argv[] = {"cibadmin", "-Q", NULL};
  /* Both at once: each takes a tool's start and an IPC round trip. */
  struct job mj = {.argv = mon_argv, .timeout_ms = timeout};
  struct job cj = {.argv = cib_argv, .timeout_ms = timeout};
  pthread_t t;
  bool apart = pthread_create(&t, NULL, run_job, &cj) == 0;
  run_job(&mj);
  if (apart)
    pthread_join(t, NULL);
  else
    run_job(&cj);
  pm_buf_t *mon = &mj.out, *cib = &cj.out;
  int r = judge(inv, &mj);
  if (r == -ENOMEM)
    goto out;
  if (r < 0) {
    r = 0; /* no cluster here: the note says why */
    goto out;
  }
  if (!strstr(mon->data ? mon->data : "", "<resources")) {
    /* crm_mon may exit 0 and report trouble only inside its XML. */
    char why[300];
    xml_failure(mon, why, sizeof(why));
    r = pat_inv_note(inv, PAT_RESOURCE,
                     "crm_mon listed no resources%s%s: resource patterns "
                     "expand to nothing",
                     why[0] ? ": " : "", why);
    goto out;
  }
  if (judge(inv, &cj) < 0)
    pm_buf_reset(cib);
  local_node(o, timeout, node, sizeof(node));
  if (c && c->ev.n && !(here = calloc(c->ev.n, sizeof(*here)))) {
    r = -ENOMEM;
    goto out;
  }
  r = pat_parse_crm_mon(inv, mon->data, mon->len, cib->len ? cib->data : NULL,
                        cib->len, node, c ? c->ev.v : NULL, c ? c->ev.n : 0,
                        here);
  if (r == 0 && c) {
    if (here)
      pat_pcmk_settle(c, here, pm_now_ns());
    pm_buf_free(&c->mon);
    pm_buf_free(&c->cib);
    c->mon = *mon;
    c->cib = *cib;
    *mon = *cib = (pm_buf_t){0};
    snprintf(c->node, sizeof(c->node), "%s", node);
  }
out:
  free(here);
  job_free(&mj);
  job_free(&cj);
  return r;
}
