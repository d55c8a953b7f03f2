#include <math.h>
#include <stdio.h>

#include "stats.h"
#include "samples.h"

static double square(double x) { return x * x; }

/* The 3x3 covariance matrix of (height, weight, wait) and its inverse. */
static void covariance(void) {
  struct matrix *x = mat_new(N_SAMPLES, 3);
  const double *cols[3] = {heights, weights, waits};
  for (int c = 0; c < 3; c++) {
    double mean = 0;
    for (int i = 0; i < N_SAMPLES; i++) mean += cols[c][i];
    mean /= N_SAMPLES;
    for (int i = 0; i < N_SAMPLES; i++) *mat_at(x, i, c) = cols[c][i] - mean;
  }
  struct matrix *xt = mat_transpose(x);
  struct matrix *cov = mat_mul(xt, x);
  for (int i = 0; i < 9; i++) cov->v[i] /= N_SAMPLES - 1;
  mat_print("covariance", cov);
  double det;
  struct matrix *inv = mat_inverse(cov, &det);
  printf("det = %.*e\n", stats_digits, det);
  mat_print("inverse", inv);
  struct matrix *id = mat_mul(cov, inv);
  mat_print("covariance * inverse", id);
  struct matrix *sq = mat_map(cov, square);
  printf("trace = %.*f, frobenius = %.*f, sum of squares = %.*f\n", stats_digits,
         mat_trace(cov), stats_digits, mat_frobenius(cov), stats_digits,
         mat_frobenius(sq) > 0 ? mat_trace(mat_mul(cov, cov)) : 0.0);
  mat_free(sq);
  mat_free(id);
  mat_free(inv);
  mat_free(cov);
  mat_free(xt);
  mat_free(x);
}

/* A Hilbert matrix is badly conditioned: its inverse has large integers. */
static void hilbert(void) {
  for (int n = 2; n <= 5; n++) {
    struct matrix *h = mat_new(n, n);
    for (int i = 0; i < n; i++)
      for (int j = 0; j < n; j++) *mat_at(h, i, j) = 1.0 / (i + j + 1);
    double det;
    struct matrix *inv = mat_inverse(h, &det);
    double maxabs = 0;
    for (int i = 0; i < n * n; i++) maxabs = fmax(maxabs, fabs(inv->v[i]));
    printf("hilbert(%d): det = %.*e, largest inverse entry = %.0f\n", n, stats_digits, det,
           round(maxabs));
    mat_free(inv);
    mat_free(h);
  }
  struct matrix *singular = mat_new(2, 2);
  *mat_at(singular, 0, 0) = 1;
  *mat_at(singular, 0, 1) = 2;
  *mat_at(singular, 1, 0) = 2;
  *mat_at(singular, 1, 1) = 4;
  double det;
  printf("singular: %s\n", mat_inverse(singular, &det) == NULL ? "no inverse" : "inverted?");
  mat_free(singular);
}

/* Priority 210: after the distribution sections (205), whatever the link order. */
__attribute__((constructor(210))) static void register_matrix(void) {
  add_section("covariance", covariance);
  add_section("hilbert", hilbert);
}
