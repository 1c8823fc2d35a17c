/* internal.h: the state machine shared by the journal and the report. */
#ifndef PATMON_AVAIL_INTERNAL_H
#define PATMON_AVAIL_INTERNAL_H

#include "avail.h"
#include "pm_vec.h"

#include <sys/types.h>

/* A resource instance: where it runs. */
struct av_inst {
  char *node;
  bool promoted;
};

/* A node loss, and how many of the resources it failed still do not run. */
struct av_loss_rec {
  av_loss_t loss; /* node: owned by the node's subject */
  unsigned pending;
};

struct av_subject {
  av_figures_t fig; /* name owned here; state and since are the live ones */
  bool down_counts; /* nodes: offline after being online (a repair) */
  bool told;        /* nodes: the last change came from an alert */
  size_t loss;      /* nodes: 1 + its open loss in av_model.losses, or 0;
                       resources: 1 + the loss that failed it, while failed */
  struct av_inst *inst;
  size_t ninst, instcap;
};

/* Subjects and their figures while events are applied in order; time is
 * counted inside [lo, hi] only. Zero-initialise, then set lo and hi. */
struct av_model {
  struct av_subject *s;
  size_t n, cap;
  struct av_loss_rec *losses; /* every node loss, in order */
  size_t nlosses, caplosses;
  int64_t last_t; /* the latest time applied (times never go back) */
  int64_t lo, hi;
};

struct av_journal {
  char *path;
  int fd;
  off_t size; /* bytes known good: the file ends at a line's end */
  av_event_t *ev;
  size_t n, cap;
  struct av_model live; /* the state after every recorded event */
};

/* Applies ev (valid). Returns 1 when it changed a state, 0 when not, or
 * -ENOMEM (the model is then only fit for av_model_free). */
int av_model_apply(struct av_model *m, const av_event_t *ev);
/* Counts every open interval up to t (the end of the window). */
void av_model_close(struct av_model *m, int64_t t);
struct av_subject *av_model_find(const struct av_model *m, av_kind_t kind,
                                 const char *name);
/* Frees what m holds and zeroes it. */
void av_model_free(struct av_model *m);
/* Whether name is a valid node or resource name (len bytes). */
bool av_name_ok(const char *name, size_t len);

#endif
