/* message.c: the event socket grammar (parse and format) and the names of
 * kinds and actions. Pure: no I/O, so the fuzzer and the alert agent use it
 * without the rest of the library. */
#include "config.h"

#include "internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum hp_arg { ARG_NONE, ARG_NAME, ARG_PATH, ARG_NODE };

/* One row per message: the first word, the second (NULL: none), what it
 * means and what argument follows. */
static const struct hp_verb {
  const char *type;
  const char *verb;
  unsigned kind;
  hp_action_t action;
  enum hp_arg arg;
} verbs[] = {
    {.type = "resource",
     .verb = "start",
     .kind = HP_RESOURCE,
     .action = HP_ACT_START,
     .arg = ARG_NAME},
    {.type = "resource",
     .verb = "stop",
     .kind = HP_RESOURCE,
     .action = HP_ACT_STOP,
     .arg = ARG_NAME},
    {.type = "resource",
     .verb = "migrate",
     .kind = HP_RESOURCE,
     .action = HP_ACT_MIGRATE,
     .arg = ARG_NAME},
    {.type = "volume",
     .verb = "add",
     .kind = HP_VOLUME,
     .action = HP_ACT_ADD,
     .arg = ARG_PATH},
    {.type = "volume",
     .verb = "remove",
     .kind = HP_VOLUME,
     .action = HP_ACT_REMOVE,
     .arg = ARG_PATH},
    {.type = "node",
     .verb = "lost",
     .kind = HP_NODE,
     .action = HP_ACT_LOST,
     .arg = ARG_NODE},
    {.type = "node",
     .verb = "member",
     .kind = HP_NODE,
     .action = HP_ACT_MEMBER,
     .arg = ARG_NODE},
    {.type = "node",
     .verb = "fenced",
     .kind = HP_NODE,
     .action = HP_ACT_FENCED,
     .arg = ARG_NODE},
    {.type = "rescan",
     .kind = HP_RESCAN,
     .action = HP_ACT_NONE,
     .arg = ARG_NONE},
};

#define N_VERBS (sizeof(verbs) / sizeof(verbs[0]))

static const struct {
  unsigned kind;
  const char *name;
} kind_names[] = {
    {HP_DEVICE, "device"},     {HP_NET, "net"},       {HP_MOUNT, "mount"},
    {HP_RESOURCE, "resource"}, {HP_VOLUME, "volume"}, {HP_RESCAN, "rescan"},
    {HP_NODE, "node"},
};

static const char *const action_names[] = {
    [HP_ACT_NONE] = "",         [HP_ACT_ADD] = "add",
    [HP_ACT_REMOVE] = "remove", [HP_ACT_CHANGE] = "change",
    [HP_ACT_MOVE] = "move",     [HP_ACT_START] = "start",
    [HP_ACT_STOP] = "stop",     [HP_ACT_MIGRATE] = "migrate",
    [HP_ACT_LOST] = "lost",     [HP_ACT_MEMBER] = "member",
    [HP_ACT_FENCED] = "fenced",
};

void hp_why(char *why, size_t whylen, const char *fmt, ...) {
  if (!why || whylen == 0)
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, whylen, fmt, ap);
  va_end(ap);
}

const char *hp_kind_name(unsigned kind) {
  for (size_t i = 0; i < sizeof(kind_names) / sizeof(kind_names[0]); i++)
    if (kind_names[i].kind == kind)
      return kind_names[i].name;
  return "?";
}

const char *hp_action_name(hp_action_t action) {
  if ((unsigned)action >= sizeof(action_names) / sizeof(action_names[0]))
    return "?";
  return action_names[action];
}

static bool is_blank(char c) { return c == ' ' || c == '\t'; }

/* A field: [p, p + n). */
typedef struct field {
  const char *p;
  size_t n;
} field_t;

static bool field_is(field_t f, const char *word) {
  return f.n == strlen(word) && memcmp(f.p, word, f.n) == 0;
}

/* Cuts the next blank-separated word off *rest. */
static field_t next_word(field_t *rest) {
  while (rest->n && is_blank(*rest->p)) {
    rest->p++;
    rest->n--;
  }
  field_t w = {rest->p, 0};
  while (w.n < rest->n && !is_blank(w.p[w.n]))
    w.n++;
  rest->p += w.n;
  rest->n -= w.n;
  return w;
}

static bool name_char(unsigned char c, bool first) {
  if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c >= 0x80)
    return true;
  return !first && ((c >= '0' && c <= '9') || c == '.' || c == '-');
}

/* A Pacemaker id (an XML NCName, non-ASCII bytes taken as letters), with an
 * optional ":N" clone instance suffix. */
static int check_name(field_t f, char *why, size_t whylen) {
  if (f.n == 0) {
    hp_why(why, whylen, "resource name missing");
    return -EBADMSG;
  }
  if (f.n > HP_NAME_MAX) {
    hp_why(why, whylen, "resource name too long (%zu > %d bytes)", f.n,
           HP_NAME_MAX);
    return -EMSGSIZE;
  }
  const unsigned char *s = (const unsigned char *)f.p;
  size_t i = 0;
  for (; i < f.n && s[i] != ':'; i++)
    if (!name_char(s[i], i == 0))
      goto bad;
  if (i < f.n) {
    size_t digits = 0;
    for (i++; i < f.n && s[i] >= '0' && s[i] <= '9'; i++)
      digits++;
    if (digits == 0 || i < f.n)
      goto bad;
  }
  return 0;
bad:
  hp_why(why, whylen, "bad character in resource name at byte %zu", i + 1);
  return -EBADMSG;
}

/* A node name: a host name, or what corosync.conf's nodelist calls it. */
static int check_node(field_t f, char *why, size_t whylen) {
  if (f.n == 0) {
    hp_why(why, whylen, "node name missing");
    return -EBADMSG;
  }
  if (f.n > HP_NAME_MAX) {
    hp_why(why, whylen, "node name too long (%zu > %d bytes)", f.n,
           HP_NAME_MAX);
    return -EMSGSIZE;
  }
  for (size_t i = 0; i < f.n; i++)
    if (!name_char((unsigned char)f.p[i], false)) {
      hp_why(why, whylen, "bad character in node name at byte %zu", i + 1);
      return -EBADMSG;
    }
  return 0;
}

static int check_path(field_t f, char *why, size_t whylen) {
  if (f.n == 0) {
    hp_why(why, whylen, "volume path missing");
    return -EBADMSG;
  }
  if (f.n > HP_PATH_MAX) {
    hp_why(why, whylen, "volume path too long (%zu > %d bytes)", f.n,
           HP_PATH_MAX);
    return -EMSGSIZE;
  }
  if (f.p[0] != '/') {
    hp_why(why, whylen, "volume path not absolute");
    return -EBADMSG;
  }
  if (f.n == 1)
    return 0;
  /* Each component after a '/' must be non-empty and not "." or "..". */
  for (size_t i = 0; i < f.n;) {
    size_t j = i + 1;
    while (j < f.n && f.p[j] != '/')
      j++;
    field_t c = {f.p + i + 1, j - i - 1};
    if (c.n == 0 || field_is(c, ".") || field_is(c, "..")) {
      hp_why(why, whylen,
             "volume path not canonical (\"//\", \".\", "
             "\"..\" or a trailing \"/\")");
      return -EBADMSG;
    }
    i = j;
  }
  return 0;
}

int hp_parse_message(const char *msg, size_t len, hp_event_t *ret, char *why,
                     size_t whylen) {
  if (len > HP_DGRAM_MAX) {
    hp_why(why, whylen, "message too long (%zu > %d bytes)", len, HP_DGRAM_MAX);
    return -EMSGSIZE;
  }
  field_t rest = {msg, len};
  if (rest.n && rest.p[rest.n - 1] == '\n')
    rest.n--;
  if (rest.n && rest.p[rest.n - 1] == '\r')
    rest.n--;
  for (size_t i = 0; i < rest.n; i++) {
    unsigned char c = (unsigned char)rest.p[i];
    if ((c < 0x20 && c != '\t') || c == 0x7f) {
      hp_why(why, whylen, "control character at byte %zu", i + 1);
      return -EBADMSG;
    }
  }
  while (rest.n && is_blank(rest.p[rest.n - 1]))
    rest.n--;

  field_t type = next_word(&rest);
  const struct hp_verb *v = NULL;
  bool type_known = false;
  field_t verb = {NULL, 0};
  for (size_t i = 0; i < N_VERBS && !v; i++) {
    if (!field_is(type, verbs[i].type))
      continue;
    if (!type_known && verbs[i].verb)
      verb = next_word(&rest);
    type_known = true;
    if (!verbs[i].verb || field_is(verb, verbs[i].verb))
      v = &verbs[i];
  }
  if (!type_known) {
    hp_why(why, whylen, "%s",
           type.n ? "unknown message type" : "empty message");
    return -EBADMSG;
  }
  if (!v) {
    hp_why(why, whylen, "%s action for %.*s", verb.n ? "unknown" : "missing",
           (int)type.n, type.p);
    return -EBADMSG;
  }

  while (rest.n && is_blank(*rest.p)) {
    rest.p++;
    rest.n--;
  }
  int r = 0;
  switch (v->arg) {
  case ARG_NONE:
    if (rest.n) {
      hp_why(why, whylen, "unexpected text after %s", v->type);
      r = -EBADMSG;
    }
    break;
  case ARG_NAME:
  case ARG_NODE: {
    field_t after = rest;
    field_t name = next_word(&after);
    if (after.n) {
      hp_why(why, whylen, "unexpected text after %s name", v->type);
      return -EBADMSG;
    }
    r = v->arg == ARG_NAME ? check_name(name, why, whylen)
                           : check_node(name, why, whylen);
    break;
  }
  case ARG_PATH:
    r = check_path(rest, why, whylen);
    break;
  }
  if (r < 0)
    return r;
  ret->kind = v->kind;
  ret->action = v->action;
  memcpy(ret->name, rest.p, rest.n);
  ret->name[rest.n] = '\0';
  return 0;
}

int hp_format_message(const hp_event_t *ev, char *buf, size_t len) {
  const struct hp_verb *v = NULL;
  for (size_t i = 0; i < N_VERBS && !v; i++)
    if (verbs[i].kind == ev->kind && verbs[i].action == ev->action)
      v = &verbs[i];
  if (!v)
    return -EINVAL;
  char line[HP_DGRAM_MAX + 1];
  size_t nlen = strnlen(ev->name, sizeof(ev->name));
  int n = snprintf(line, sizeof(line), "%s%s%s%s%.*s\n", v->type,
                   v->verb ? " " : "", v->verb ? v->verb : "",
                   v->arg != ARG_NONE ? " " : "", (int)nlen, ev->name);
  hp_event_t check;
  if (n < 0 || (size_t)n >= sizeof(line) ||
      hp_parse_message(line, (size_t)n, &check, NULL, 0) < 0 ||
      strlen(check.name) != nlen || memcmp(check.name, ev->name, nlen) != 0)
    return -EINVAL;
  return snprintf(buf, len, "%s", line);
}
