/* pm_conf.h: libconfuse files with `include "file"` and exact file:line errors.
 *
 * libconfuse 3.3 counts a line twice after `#` and `//` comments and only
 * knows `include("file")` relative to the working directory. pm_conf reads the
 * file itself first: it strips comments (keeping line breaks), splices
 * `include "file"` / `include("file")` lines (relative to the including file,
 * globs allowed, sorted; at most 8 deep; cycles refused) and keeps a map from
 * each line it hands to libconfuse back to the file and line it came from.
 * Parsing is serialised by a mutex because libconfuse's lexer is global. */
#ifndef PATMON_PM_CONF_H
#define PATMON_PM_CONF_H

#include "pm.h"

#include <confuse.h>

typedef struct pm_conf pm_conf_t;

/* Parses path with the options opts (and cfg_init flags). On success *ret
 * owns the parsed tree; on failure returns -EBADMSG (bad syntax or unknown
 * option), -ENOENT, -ELOOP (include cycle or depth) or -ENOMEM and fills err
 * with the file, line, offending text and libconfuse's reason. */
int pm_conf_load(const char *path, cfg_opt_t *opts, int flags, pm_conf_t **ret,
                 pm_error_t *err);

/* The same for a buffer; name is used in errors and to resolve includes
 * (relative to its directory). */
int pm_conf_load_buf(const char *buf, size_t len, const char *name,
                     cfg_opt_t *opts, int flags, pm_conf_t **ret,
                     pm_error_t *err);

/* The parsed tree; valid until pm_conf_free(). */
cfg_t *pm_conf_cfg(const pm_conf_t *c);

/* The source position of the title line of section kind `sec_name` titled
 * `title` (the first one), or of the top of the file when title is NULL. */
void pm_conf_section_pos(const pm_conf_t *c, const char *sec_name,
                         const char *title, const char **ret_file,
                         unsigned *ret_line);

/* Where `needle` first appears at or after the title line of that section
 * (for example the text of a list value): fills *ret_file and *ret_line.
 * Falls back to the section's own position when it is not found verbatim. */
void pm_conf_locate(const pm_conf_t *c, const char *sec_name, const char *title,
                    const char *needle, const char **ret_file,
                    unsigned *ret_line);

void pm_conf_free(pm_conf_t *c);

#endif
