/* Weak defaults a program may replace with its own definitions. */
#include <stdio.h>

#include "../calc.h"

__attribute__((weak)) void calc_report_error(const char *where, const char *msg) {
  fprintf(stderr, "calc: %s: %s\n", where, msg);
}

__attribute__((weak)) int calc_precision(void) { return 6; }
