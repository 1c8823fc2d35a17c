/* batch.c: coalescing events into batches on an explicit clock, feeding
 * socket datagrams into them, and the one-line summary of a batch. */
#include "config.h"

#include "internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Bytes of a dropped message quoted in first_dropped. */
#define EXCERPT_MAX 48

void hp_co_init(hp_coalesce_t *c, int debounce_ms, int max_delay_ms) {
  memset(c, 0, sizeof(*c));
  c->debounce_ns = (uint64_t)debounce_ms * 1000000u;
  c->max_delay_ns = (uint64_t)max_delay_ms * 1000000u;
}

static void touch(hp_coalesce_t *c, uint64_t now_ns) {
  if (!c->open) {
    c->open = true;
    c->b.first_ns = now_ns;
  }
  c->b.last_ns = now_ns;
}

static bool same_item(const hp_event_t *a, const hp_event_t *b) {
  return a->kind == b->kind && a->action == b->action &&
         strcmp(a->name, b->name) == 0;
}

void hp_co_add(hp_coalesce_t *c, uint64_t now_ns, const hp_event_t *ev) {
  hp_batch_t *b = &c->b;
  touch(c, now_ns);
  b->kinds |= ev->kind;
  b->events++;
  for (unsigned i = 0; i < b->nitems; i++)
    if (same_item(&b->items[i], ev))
      return;
  if (b->nitems == HP_BATCH_ITEMS) {
    b->unlisted++;
    return;
  }
  hp_event_t *it = &b->items[b->nitems++];
  it->kind = ev->kind;
  it->action = ev->action;
  snprintf(it->name, sizeof(it->name), "%s", ev->name);
}

void hp_co_drop(hp_coalesce_t *c, uint64_t now_ns, const char *why,
                const char *msg, size_t len) {
  hp_batch_t *b = &c->b;
  touch(c, now_ns);
  if (b->dropped++ > 0)
    return;
  /* Only printable ASCII is quoted: the excerpt ends up in a log line. */
  char ex[EXCERPT_MAX + 1];
  size_t n = len < EXCERPT_MAX ? len : EXCERPT_MAX;
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)msg[i];
    ex[i] = ch >= 0x20 && ch < 0x7f && ch != '"' ? (char)ch : '?';
  }
  ex[n] = '\0';
  snprintf(b->first_dropped, sizeof(b->first_dropped), "%s: \"%s\"%s", why, ex,
           len > n ? "..." : "");
}

void hp_co_datagram(hp_coalesce_t *c, uint64_t now_ns, const char *data,
                    size_t len, size_t full_len) {
  char why[HP_WHY_MAX];
  if (full_len > HP_DGRAM_MAX) {
    snprintf(why, sizeof(why), "datagram too long (%zu > %d bytes)", full_len,
             HP_DGRAM_MAX);
    hp_co_drop(c, now_ns, why, data, len);
    return;
  }
  unsigned messages = 0;
  for (size_t pos = 0; pos < len;) {
    const char *nl = memchr(data + pos, '\n', len - pos);
    size_t end = nl ? (size_t)(nl - data) + 1 : len;
    const char *line = data + pos;
    size_t n = end - pos;
    pos = end;
    size_t blanks = 0;
    while (blanks < n && line[blanks] && strchr(" \t\r\n", line[blanks]))
      blanks++;
    if (blanks == n)
      continue;
    messages++;
    hp_event_t ev;
    if (hp_parse_message(line, n, &ev, why, sizeof(why)) == 0)
      hp_co_add(c, now_ns, &ev);
    else
      hp_co_drop(c, now_ns, why, line, n);
  }
  if (messages == 0)
    hp_co_drop(c, now_ns, "empty datagram", data, len);
}

uint64_t hp_co_deadline(const hp_coalesce_t *c) {
  if (!c->open)
    return UINT64_MAX;
  uint64_t quiet_ns = c->debounce_ns;
  if (c->b.events + c->b.dropped >= HP_STORM_EVENTS)
    quiet_ns = c->debounce_ns * HP_STORM_QUIET < c->max_delay_ns
                   ? c->debounce_ns * HP_STORM_QUIET
                   : c->max_delay_ns;
  uint64_t quiet = c->b.last_ns + quiet_ns;
  uint64_t latest = c->b.first_ns + c->max_delay_ns;
  return quiet < latest ? quiet : latest;
}

int hp_co_take(hp_coalesce_t *c, uint64_t now_ns, hp_batch_t *ret) {
  if (!c->open || now_ns < hp_co_deadline(c))
    return 0;
  *ret = c->b;
  memset(&c->b, 0, sizeof(c->b));
  c->open = false;
  return 1;
}

/* Appends to buf like snprintf and keeps the total it would need in *n. */
static void put(char *buf, size_t len, size_t *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void put(char *buf, size_t len, size_t *n, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int k =
      vsnprintf(*n < len ? buf + *n : NULL, *n < len ? len - *n : 0, fmt, ap);
  va_end(ap);
  if (k > 0)
    *n += (size_t)k;
}

int hp_batch_format(const hp_batch_t *b, char *buf, size_t len) {
  size_t n = 0;
  if (len)
    buf[0] = '\0';
  put(buf, len, &n, "%u event%s", b->events, b->events == 1 ? "" : "s");
  const char *sep = " (";
  for (unsigned k = 1; k && k <= HP_NODE; k <<= 1)
    if (b->kinds & k) {
      put(buf, len, &n, "%s%s", sep, hp_kind_name(k));
      sep = ", ";
    }
  if (*sep == ',')
    put(buf, len, &n, ")");
  sep = ": ";
  for (unsigned i = 0; i < b->nitems; i++) {
    const hp_event_t *it = &b->items[i];
    const char *act = hp_action_name(it->action);
    put(buf, len, &n, "%s%s%s%s%s%s", sep, hp_kind_name(it->kind),
        *act ? " " : "", act, *it->name ? " " : "", it->name);
    sep = ", ";
  }
  if (b->unlisted)
    put(buf, len, &n, "%s+%u more", sep, b->unlisted);
  if (b->dropped)
    put(buf, len, &n, "; %u dropped, first: %s", b->dropped, b->first_dropped);
  return n > INT32_MAX ? -EOVERFLOW : (int)n;
}

void hp_drops_init(hp_drops_t *d, int interval_ms) {
  memset(d, 0, sizeof(*d));
  d->interval_ns = (uint64_t)(interval_ms > 0 ? interval_ms : 60000) * 1000000u;
}

bool hp_drops_report(hp_drops_t *d, const hp_batch_t *b, uint64_t now_ns,
                     char *buf, size_t len) {
  if (b && b->dropped) {
    if (d->pending == 0) {
      d->since_ns = now_ns;
      snprintf(d->first, sizeof(d->first), "%s", b->first_dropped);
    }
    d->pending += b->dropped;
  }
  bool quiet = !d->said || now_ns - d->last_ns >= d->interval_ns;
  if (d->pending == 0 || !quiet)
    return false;
  /* A first drop after a quiet interval is news: said at once, alone. */
  if (!d->said || d->since_ns - d->last_ns >= d->interval_ns)
    snprintf(buf, len, "%u dropped, first: %s", d->pending, d->first);
  else
    snprintf(buf, len, "%u dropped in the last %.0f s, first: %s", d->pending,
             (double)(now_ns - d->last_ns) / 1e9, d->first);
  d->last_ns = now_ns;
  d->said = true;
  d->pending = 0;
  return true;
}
