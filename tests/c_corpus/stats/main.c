/* stats: run the report sections the constructors registered; the exit
   status is the number of sections. */
#include <stdio.h>

#include "stats.h"

/* Replaces the library's weak default of 3 digits. */
int stats_digits = 4;

int main(void) {
  printf("stats: %d digits\n", stats_digits);
  int n = run_sections();
  printf("%d sections\n", n);
  return n;
}
