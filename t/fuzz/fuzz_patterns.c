/* libFuzzer harness for the pattern-file parser (pm_conf + libconfuse +
 * conditions and templates), then expansion in every format against a small
 * fixed inventory, so matching and names see the fuzzed patterns too.
 * Run: see README ("Fuzzing"). */
#include "config.h"

#include "pattern.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static pat_inventory_t *inv;

static const char snapshot[] =
    "{\"patmon_snapshot\": 1, \"classes\": [\"disk\", \"partition\", \"nic\", "
    "\"mount\", \"process\", \"unit\", \"resource\"], \"objects\": ["
    "{\"class\": \"disk\", \"name\": \"sda\", \"object\": \"/dev/sda\", "
    " \"props\": {\"KERNEL\": \"sda\", \"ENV{ID_BUS}\": \"scsi\", "
    "\"ENV{ID_SERIAL}\": \"WD 123\", \"ATTR{size}\": \"100\"},"
    " \"parents\": [{\"ATTR{vendor}\": \"ATA\"}, {\"ATTR{model}\": \"X\"}]},"
    "{\"class\": \"partition\", \"name\": \"sda1\", \"props\": {\"KERNEL\": "
    "\"sda1\"}},"
    "{\"class\": \"nic\", \"name\": \"eth0\", \"props\": {\"NAME\": \"eth0\", "
    "\"ATTR{operstate}\": \"up\"}},"
    "{\"class\": \"mount\", \"name\": \"srv\", \"object\": \"/srv\", "
    "\"props\": {\"MOUNT\": \"/srv\", \"FSTYPE\": \"xfs\"}},"
    "{\"class\": \"process\", \"name\": \"nginx\", \"object\": \"5\", \"pid\": "
    "5,"
    " \"props\": {\"COMM\": \"nginx\", \"CMDLINE\": \"nginx: master\"}},"
    "{\"class\": \"process\", \"name\": \"nginx\", \"object\": \"6\", \"pid\": "
    "6,"
    " \"props\": {\"COMM\": \"nginx\", \"CMDLINE\": \"nginx: worker\"}},"
    "{\"class\": \"unit\", \"name\": \"a.service\", \"props\": {\"UNIT\": "
    "\"a.service\", \"STATE\": \"active\", \"CGROUP\": "
    "\"/system.slice/a.service\"}},"
    "{\"class\": \"resource\", \"name\": \"fs\", \"props\": {\"RSC\": \"fs\", "
    "\"AGENT\": \"ocf:heartbeat:Filesystem\", \"PARAM{directory}\": "
    "\"/srv\"}}]}";

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  pm_error_t err;
  if (pat_inventory_load_buf(snapshot, strlen(snapshot), "fuzz.json", &inv,
                             &err) < 0)
    abort();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* Includes resolve next to "fuzz.conf" in a directory that does not
   * exist; absolute ones could reach /proc files that block, so inputs
   * naming an absolute include are skipped. */
  if (memmem(data, size, "include", 7) && memchr(data, '/', size))
    return 0;
  pat_set_t *set = NULL;
  pm_error_t err;
  if (pat_set_parse((const char *)data, size, "/nonexistent-fuzz/fuzz.conf",
                    &set, &err) < 0) {
    char buf[1200];
    pm_error_str(&err, buf, sizeof(buf));
    return 0;
  }
  pat_entries_t *e = NULL;
  pm_buf_t explain = {0}, out = {0};
  if (pat_expand(set, inv, &explain, &e) == 0) {
    for (int f = PAT_FORMAT_LIST; f <= PAT_FORMAT_GMOND; f++)
      pat_entries_format(e, (pat_format_t)f, "fuzz.conf", &out);
    pat_entries_free(e);
  }
  pm_buf_free(&explain);
  pm_buf_free(&out);
  pat_set_free(set);
  return 0;
}
