/* fuzz_hpmsg: libFuzzer harness for the event socket grammar. The input is
 * one message for hp_parse_message (a valid one must survive a trip through
 * hp_format_message) and one datagram for the coalescer, whose batch must
 * hold something and summarise without overflow. */
#include "config.h"

#include "hotplug/internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_message(const char *msg, size_t size) {
  static hp_event_t ev, back;
  char why[HP_WHY_MAX] = "";
  if (hp_parse_message(msg, size, &ev, why, sizeof(why)) < 0) {
    if (why[0] == '\0')
      abort(); /* every refusal says why */
    return;
  }
  char line[HP_DGRAM_MAX + 1];
  int n = hp_format_message(&ev, line, sizeof(line));
  if (n <= 0 || (size_t)n >= sizeof(line) ||
      hp_parse_message(line, (size_t)n, &back, NULL, 0) < 0 ||
      back.kind != ev.kind || back.action != ev.action ||
      strcmp(back.name, ev.name) != 0)
    abort();
}

static void check_datagram(const char *msg, size_t size) {
  static hp_coalesce_t co;
  static hp_batch_t b;
  hp_co_init(&co, 1, 1);
  hp_co_datagram(&co, 0, msg, size > HP_DGRAM_MAX ? HP_DGRAM_MAX : size, size);
  /* A datagram is always an event or a drop, so a batch is due. */
  if (hp_co_take(&co, 1000000, &b) != 1 || b.events + b.dropped == 0 ||
      b.nitems > HP_BATCH_ITEMS)
    abort();
  char out[256];
  int n = hp_batch_format(&b, out, sizeof(out));
  if (n < 0 || strlen(out) >= sizeof(out))
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  check_message((const char *)data, size);
  check_datagram((const char *)data, size);
  return 0;
}
