/* The data every section reads, generated before any section registers. */
#include <math.h>

#include "stats.h"
#include "samples.h"

double heights[N_SAMPLES], weights[N_SAMPLES], waits[N_SAMPLES];

__attribute__((constructor(120))) static void generate(void) {
  struct rng r;
  rng_seed(&r, 20240521);
  for (int i = 0; i < N_SAMPLES; i++) {
    heights[i] = rng_normal(&r, 170, 9);
    weights[i] = 0.9 * heights[i] - 85 + rng_normal(&r, 0, 6);
    waits[i] = rng_exponential(&r, 0.25);
  }
}
