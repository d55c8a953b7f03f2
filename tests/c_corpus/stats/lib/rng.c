/* splitmix64 seeding an xorshift64* generator; Box-Muller for normals. */
#include <math.h>

#include "../stats.h"

void rng_seed(struct rng *r, unsigned long long seed) {
  unsigned long long z = seed + 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  r->s = (z ^ (z >> 31)) | 1;
}

static unsigned long long next(struct rng *r) {
  r->s ^= r->s >> 12;
  r->s ^= r->s << 25;
  r->s ^= r->s >> 27;
  return r->s * 2685821657736338717ull;
}

double rng_uniform(struct rng *r) { return (double)(next(r) >> 11) * 0x1.0p-53; }

double rng_normal(struct rng *r, double mean, double sd) {
  double u1 = rng_uniform(r), u2 = rng_uniform(r);
  if (u1 < 1e-300) u1 = 1e-300;
  return mean + sd * sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

double rng_exponential(struct rng *r, double rate) { return -log1p(-rng_uniform(r)) / rate; }
