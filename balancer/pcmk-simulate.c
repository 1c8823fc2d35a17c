/* pcmk-simulate.c: checking planned moves with crm_simulate. */
#include "config.h"

#include "pcmk-internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- verification with crm_simulate -------------------------------------- */

/* Adds <rsc_location id="patmon-verify-N" rsc=R node=N score=INFINITY>
 * for each move, like crm_resource --move does. */
static int add_moves(xmlDoc *doc, const char *const *rsc,
                     const char *const *node, size_t n) {
  xmlNode *root = xmlDocGetRootElement(doc);
  xmlNode *cons = pcmk_child(pcmk_child(root, "configuration"), "constraints");
  if (!cons)
    return -EBADMSG;
  for (size_t i = 0; i < n; i++) {
    /* An older move of the same resource would tie with ours. */
    for (xmlNode *c = cons->children, *next; c; c = next) {
      next = c->next;
      const char *id =
          pm_xml_is(c, "rsc_location") ? pm_xml_attr(c, "id") : NULL;
      if (id && strncmp(id, "cli-prefer-", 11) == 0 && pm_xml_attr(c, "rsc") &&
          strcmp(pm_xml_attr(c, "rsc"), rsc[i]) == 0) {
        xmlUnlinkNode(c);
        xmlFreeNode(c);
      }
    }
    char id[64];
    snprintf(id, sizeof(id), "patmon-verify-%zu", i);
    xmlNode *l = xmlNewChild(cons, NULL, BAD_CAST "rsc_location", NULL);
    if (!l || !xmlNewProp(l, BAD_CAST "id", BAD_CAST id) ||
        !xmlNewProp(l, BAD_CAST "rsc", BAD_CAST rsc[i]) ||
        !xmlNewProp(l, BAD_CAST "node", BAD_CAST node[i]) ||
        !xmlNewProp(l, BAD_CAST "score", BAD_CAST "INFINITY"))
      return -ENOMEM;
  }
  return 0;
}

int bal_pcmk_simulate(const char *crm_simulate, int timeout_ms, const char *cib,
                      size_t cib_len, const char *const *rsc,
                      const char *const *node, size_t nmoves,
                      struct bal_pcmk **ret, pm_error_t *err) {
  char path[] = "/tmp/patmon-balance-cib.XXXXXX";
  int fd = -1, r;
  xmlDoc *doc = pcmk_read_xml(cib, cib_len, "CIB", err);
  pm_buf_t out = {0}, errb = {0};
  xmlChar *mem = NULL;
  xmlDoc *res = NULL;
  if (!doc)
    return -EBADMSG;
  if ((r = add_moves(doc, rsc, node, nmoves)) < 0) {
    pm_error_set(err, "CIB", 0, NULL, "no <constraints> to add moves to");
    goto out;
  }
  int len = 0;
  xmlDocDumpMemory(doc, &mem, &len);
  if (!mem) {
    r = -ENOMEM;
    goto out;
  }
  fd = mkstemp(path);
  if (fd < 0) {
    r = -errno;
    pm_error_set(err, path, 0, NULL, "cannot create: %s", strerror(-r));
    goto out;
  }
  for (size_t off = 0; off < (size_t)len;) {
    ssize_t w = write(fd, mem + off, (size_t)len - off);
    if (w < 0) {
      r = -errno;
      pm_error_set(err, path, 0, NULL, "cannot write: %s", strerror(-r));
      goto out;
    }
    off += (size_t)w;
  }
  char *argv[] = {(char *)crm_simulate, "--xml-file",      path,
                  "--simulate",         "--output-as=xml", NULL};
  r = bal_run(argv, timeout_ms, &out, &errb);
  if (r < 0) {
    pm_error_set(err, crm_simulate, 0, NULL, "crm_simulate failed: %s",
                 errb.data);
    goto out;
  }
  if (!(res = pcmk_read_xml(out.data ? out.data : "", out.len, "crm_simulate",
                            err))) {
    r = -EBADMSG;
    goto out;
  }
  xmlNode *rev =
      pcmk_child(xmlDocGetRootElement(res), "revised_cluster_status");
  if (!rev) {
    r = pcmk_bad_element(err, "crm_simulate", xmlDocGetRootElement(res),
                         "no <revised_cluster_status> in crm_simulate output");
    goto out;
  }
  struct bal_pcmk *p = calloc(1, sizeof(*p));
  if (!p) {
    r = -ENOMEM;
    goto out;
  }
  r = pcmk_parse_status(p, rev, "crm_simulate", err);
  if (r < 0)
    bal_pcmk_free(p);
  else
    *ret = p;
out:
  if (fd >= 0) {
    close(fd);
    unlink(path);
  }
  xmlFree(mem);
  xmlFreeDoc(doc);
  xmlFreeDoc(res);
  pm_buf_free(&out);
  pm_buf_free(&errb);
  return r;
}
