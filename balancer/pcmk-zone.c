/* pcmk-zone.c: the zones' records in the CIB (see internal.h): one
 * <cluster_property_set id="patmon-zone-KEY"> in crm_config per record,
 * read in the CIB's order, written with cibadmin (argument vectors, no
 * shell). */
#include "config.h"

#include "pcmk-internal.h"
#include "zone.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* cibadmin's exit status when a create finds the id in its section
 * (CRM_EX_EXISTS). */
#define CIBADMIN_EXISTS 108

bool bal_zrec_key_ok(const char *key) {
  size_t n = key ? strlen(key) : 0;
  if (n == 0 || n > BAL_ZONE_KEY_MAX)
    return false;
  for (size_t i = 0; i < n; i++) {
    char c = key[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
      return false;
  }
  return true;
}

bool bal_zrec_value_ok(const char *value) {
  if (!value)
    return false;
  size_t n = 0;
  for (; value[n]; n++)
    if (value[n] < 0x20 || value[n] > 0x7e)
      return false;
  return n <= BAL_ZONE_VALUE_MAX;
}

void bal_zrecs_free(struct bal_zrecs *z) {
  if (!z)
    return;
  for (size_t i = 0; i < z->n; i++) {
    free(z->v[i].key);
    free(z->v[i].value);
  }
  free(z->v);
  *z = (struct bal_zrecs){0};
}

/* The record of set s, or why it is not one (-EBADMSG, counted and the
 * first described in z->bad). */
static int add_record(struct bal_zrecs *z, xmlNode *s, const char *name) {
  const char *id = pm_xml_attr(s, "id");
  const char *key = id + strlen(BAL_ZREC_PREFIX);
  const char *why = NULL;
  xmlNode *nv = pcmk_child(s, "nvpair");
  const char *vname = nv ? pm_xml_attr(nv, "name") : NULL;
  const char *value = nv ? pm_xml_attr(nv, "value") : NULL;
  if (!bal_zrec_key_ok(key))
    why = "the key after " BAL_ZREC_PREFIX " is not 1-64 of [A-Za-z0-9._-]";
  else if (!nv || !vname || strcmp(vname, id) != 0)
    why = "no <nvpair> named as the set";
  else if (!value)
    why = "its <nvpair> has no value";
  else if (!bal_zrec_value_ok(value))
    why = "its value is not one line of at most 1024 printable characters";
  if (why) {
    if (z->nbad++ == 0)
      pcmk_bad_element(&z->bad, name, nv && bal_zrec_key_ok(key) ? nv : s,
                       "zone record %s: %s", id, why);
    return 0;
  }
  if (pcmk_grow((void **)&z->v, z->n, sizeof(*z->v)) < 0)
    return -ENOMEM;
  struct bal_zrec *r = &z->v[z->n];
  r->key = strdup(key);
  r->value = strdup(value);
  if (!r->key || !r->value) {
    free(r->key);
    free(r->value);
    return -ENOMEM;
  }
  z->n++;
  return 0;
}

int bal_zrec_parse(const char *xml, size_t len, const char *name,
                   struct bal_zrecs *ret, pm_error_t *err) {
  *ret = (struct bal_zrecs){0};
  xmlDoc *doc = pcmk_read_xml(xml, len, name, err);
  if (!doc)
    return -EBADMSG;
  xmlNode *root = xmlDocGetRootElement(doc), *crm = NULL;
  int r = 0;
  if (pm_xml_is(root, "crm_config"))
    crm = root;
  else if (pm_xml_is(root, "cib") && pcmk_child(root, "configuration"))
    crm = pcmk_child(pcmk_child(root, "configuration"), "crm_config");
  else
    r = pcmk_bad_element(err, name, root,
                         "not a CIB or its crm_config (cibadmin --query "
                         "output): root element %s",
                         (const char *)root->name);
  for (xmlNode *s = crm ? crm->children : NULL; r == 0 && s; s = s->next) {
    const char *id = pm_xml_attr(s, "id");
    if (pm_xml_is(s, "cluster_property_set") && id &&
        strncmp(id, BAL_ZREC_PREFIX, strlen(BAL_ZREC_PREFIX)) == 0)
      r = add_record(ret, s, name);
  }
  xmlFreeDoc(doc);
  if (r == -ENOMEM)
    pm_error_set(err, name, 0, NULL, "out of memory");
  return r;
}

int bal_zrec_read(const char *cibadmin, int timeout_ms, struct bal_zrecs *ret,
                  pm_error_t *err) {
  char *argv[] = {(char *)cibadmin, "--query", "--scope", "crm_config", NULL};
  pm_buf_t out = {0}, why = {0};
  *ret = (struct bal_zrecs){0};
  int r = bal_run(argv, timeout_ms, &out, &why);
  if (r < 0)
    pm_error_set(err, cibadmin, 0, NULL, "%s --query --scope crm_config: %s",
                 cibadmin, why.data ? why.data : strerror(-r));
  else
    r = bal_zrec_parse(out.data ? out.data : "", out.len,
                       "cibadmin --query --scope crm_config", ret, err);
  pm_buf_free(&out);
  pm_buf_free(&why);
  return r;
}

/* s with the five XML special characters as entities. */
static int xml_escaped(pm_buf_t *b, const char *s) {
  static const char *const entity[128] = {
      ['&'] = "&amp;",  ['<'] = "&lt;",    ['>'] = "&gt;",
      ['"'] = "&quot;", ['\''] = "&apos;",
  };
  int r = 0;
  for (; r == 0 && *s; s++) {
    unsigned char c = (unsigned char)*s;
    r = c < 128 && entity[c] ? pm_buf_puts(b, entity[c]) : pm_buf_putc(b, *s);
  }
  return r;
}

int bal_zrec_write(const char *cibadmin, int timeout_ms, enum bal_zrec_op op,
                   const char *key, const char *value, pm_buf_t *err_text) {
  if (!bal_zrec_key_ok(key) ||
      (op != BAL_ZREC_DELETE && !bal_zrec_value_ok(value)))
    return -EINVAL;
  pm_buf_t xml = {0};
  int r = pm_buf_printf(
      &xml, "<cluster_property_set id=\"" BAL_ZREC_PREFIX "%s\"", key);
  if (r == 0 && op != BAL_ZREC_DELETE) {
    r = pm_buf_printf(&xml,
                      "><nvpair id=\"" BAL_ZREC_PREFIX
                      "%s-v\" name=\"" BAL_ZREC_PREFIX "%s\" value=\"",
                      key, key);
    if (r == 0)
      r = xml_escaped(&xml, value);
    if (r == 0)
      r = pm_buf_puts(&xml, "\"/></cluster_property_set>");
  } else if (r == 0) {
    r = pm_buf_puts(&xml, "/>");
  }
  if (r < 0) {
    pm_buf_free(&xml);
    return -ENOMEM;
  }
  static const char *const verb[] = {
      [BAL_ZREC_SET] = "--modify",
      [BAL_ZREC_CREATE] = "--create",
      [BAL_ZREC_DELETE] = "--delete",
  };
  char *argv[8];
  size_t n = 0;
  argv[n++] = (char *)cibadmin;
  argv[n++] = (char *)verb[op];
  if (op == BAL_ZREC_SET)
    argv[n++] = "--allow-create";
  argv[n++] = "--scope";
  argv[n++] = "crm_config";
  argv[n++] = "--xml-text";
  argv[n++] = xml.data;
  argv[n] = NULL;
  int code = -1;
  r = bal_run_exit(argv, timeout_ms, NULL, err_text, &code);
  if (r == -EPROTO && op == BAL_ZREC_CREATE && code == CIBADMIN_EXISTS)
    r = -EEXIST;
  pm_buf_free(&xml);
  return r;
}
