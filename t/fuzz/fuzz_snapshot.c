/* libFuzzer harness for the snapshot loader (JSON reader, inventory
 * building), then expansion with a fixed pattern set and a save. */
#include "config.h"

#include "pattern.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static pat_set_t *set;

static const char patterns[] =
    "pattern \"d\" { class = disk  match = { \"KERNEL=~(s)d.*\", "
    "\"ATTRS{vendor}!=X*\" }  name = \"%1-$env{ID_SERIAL}-$attr{size}\" }\n"
    "pattern \"p\" { class = partition }\n"
    "pattern \"n\" { class = nic  exclude = { \"NAME==lo\" } }\n"
    "pattern \"m\" { class = mount  match = { \"MOUNT==/*\" } }\n"
    "pattern \"proc\" { class = process  match = { \"COMM=~(.*)\" } name = "
    "\"%1\" }\n"
    "pattern \"u\" { class = unit }\n"
    "pattern \"r\" { class = resource  name = \"$param{directory}\" }\n";

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  pm_error_t err;
  if (pat_set_parse(patterns, strlen(patterns), "fuzz.conf", &set, &err) < 0)
    abort();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  pat_inventory_t *inv = NULL;
  pm_error_t err;
  if (pat_inventory_load_buf((const char *)data, size, "fuzz.json", &inv,
                             &err) < 0)
    return 0;
  pat_entries_t *e = NULL;
  pm_buf_t explain = {0}, out = {0};
  if (pat_expand(set, inv, &explain, &e) == 0) {
    pat_entries_format(e, PAT_FORMAT_JSON, NULL, &out);
    pat_entries_format(e, PAT_FORMAT_COLLECTD, NULL, &out);
    pat_entries_free(e);
  }
  pat_inventory_save(inv, &out);
  pm_buf_free(&explain);
  pm_buf_free(&out);
  pat_inventory_free(inv);
  return 0;
}
