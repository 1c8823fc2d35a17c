/* forecast-args.h: command-line options for the fields of fc_params_t,
 * shared by t/forecast-offline and t/bench/forecast-bench. */
#ifndef PATMON_FORECAST_ARGS_H
#define PATMON_FORECAST_ARGS_H

#include "forecast.h"

#include <getopt.h>
#include <stdlib.h>

/* Entries of a struct option table. */
#define FC_ARGS_OPTIONS                                                        \
  {"window", required_argument, 0, 'w'},                                       \
      {"horizon", required_argument, 0, 'h'},                                  \
      {"refit-every", required_argument, 0, 'r'},                              \
      {"model", required_argument, 0, 'm'}, {                                  \
    "coverage", required_argument, 0, 'c'                                      \
  }

/* Applies option c with argument arg to p: 1 when c is one of
 * FC_ARGS_OPTIONS, 0 when it is not, -1 for an unknown model (the other
 * values are checked by fc_params_check). */
static inline int fc_args_apply(int c, const char *arg, fc_params_t *p) {
  switch (c) {
  case 'w':
    p->window = (unsigned)atoi(arg);
    return 1;
  case 'h':
    p->horizon = (unsigned)atoi(arg);
    return 1;
  case 'r':
    p->refit_every = (unsigned)atoi(arg);
    return 1;
  case 'm':
    return fc_family_parse(arg, &p->family) == 0 ? 1 : -1;
  case 'c':
    p->coverage = atof(arg);
    return 1;
  default:
    return 0;
  }
}

#endif
