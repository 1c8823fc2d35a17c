/* pm_xml.h: the two libxml2 lookups every Pacemaker parser needs. Header
 * only, so libpm itself does not link libxml2; include it where libxml2 is
 * already in use. */
#ifndef PATMON_PM_XML_H
#define PATMON_PM_XML_H

#include <libxml/tree.h>
#include <stdbool.h>
#include <string.h>

/* Whether n is the element `name`. NULL is no element. */
static inline bool pm_xml_is(const xmlNode *n, const char *name) {
  return n && n->type == XML_ELEMENT_NODE &&
         strcmp((const char *)n->name, name) == 0;
}

/* An attribute's value, owned by the document; NULL when absent. */
static inline const char *pm_xml_attr(const xmlNode *n, const char *name) {
  for (const xmlAttr *a = n->properties; a; a = a->next)
    if (strcmp((const char *)a->name, name) == 0 && a->children &&
        a->children->type == XML_TEXT_NODE)
      return (const char *)a->children->content;
  return NULL;
}

#endif
