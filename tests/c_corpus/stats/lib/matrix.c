/* Row-major dense matrices; inverse by Gauss-Jordan with partial pivoting. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../stats.h"

struct matrix *mat_new(int rows, int cols) {
  struct matrix *m = malloc(sizeof *m);
  if (m == NULL) abort();
  m->rows = rows;
  m->cols = cols;
  m->v = calloc((size_t)rows * (size_t)cols, sizeof *m->v);
  if (m->v == NULL) abort();
  return m;
}

void mat_free(struct matrix *m) {
  if (m == NULL) return;
  free(m->v);
  free(m);
}

double *mat_at(struct matrix *m, int r, int c) { return &m->v[r * m->cols + c]; }

static double get(const struct matrix *m, int r, int c) { return m->v[r * m->cols + c]; }

struct matrix *mat_mul(const struct matrix *a, const struct matrix *b) {
  if (a->cols != b->rows) return NULL;
  struct matrix *m = mat_new(a->rows, b->cols);
  for (int i = 0; i < a->rows; i++)
    for (int k = 0; k < a->cols; k++) {
      double aik = get(a, i, k);
      for (int j = 0; j < b->cols; j++) *mat_at(m, i, j) += aik * get(b, k, j);
    }
  return m;
}

struct matrix *mat_transpose(const struct matrix *m) {
  struct matrix *t = mat_new(m->cols, m->rows);
  for (int i = 0; i < m->rows; i++)
    for (int j = 0; j < m->cols; j++) *mat_at(t, j, i) = get(m, i, j);
  return t;
}

struct matrix *mat_map(const struct matrix *m, double (*f)(double)) {
  struct matrix *out = mat_new(m->rows, m->cols);
  for (int i = 0; i < m->rows * m->cols; i++) out->v[i] = f(m->v[i]);
  return out;
}

static void swap_rows(struct matrix *m, int a, int b) {
  if (a == b) return;
  size_t bytes = (size_t)m->cols * sizeof *m->v;
  double *tmp = malloc(bytes);
  if (tmp == NULL) abort();
  memcpy(tmp, mat_at(m, a, 0), bytes);
  memcpy(mat_at(m, a, 0), mat_at(m, b, 0), bytes);
  memcpy(mat_at(m, b, 0), tmp, bytes);
  free(tmp);
}

struct matrix *mat_inverse(const struct matrix *src, double *det) {
  int n = src->rows;
  if (n != src->cols) return NULL;
  struct matrix *a = mat_new(n, n), *inv = mat_new(n, n);
  memcpy(a->v, src->v, (size_t)n * (size_t)n * sizeof *a->v);
  for (int i = 0; i < n; i++) *mat_at(inv, i, i) = 1;
  *det = 1;
  for (int col = 0; col < n; col++) {
    int pivot = col;
    for (int r = col + 1; r < n; r++)
      if (fabs(get(a, r, col)) > fabs(get(a, pivot, col))) pivot = r;
    if (fabs(get(a, pivot, col)) < 1e-12) {
      *det = 0;
      mat_free(a);
      mat_free(inv);
      return NULL;
    }
    if (pivot != col) *det = -*det;
    swap_rows(a, pivot, col);
    swap_rows(inv, pivot, col);
    double p = get(a, col, col);
    *det *= p;
    for (int j = 0; j < n; j++) {
      *mat_at(a, col, j) /= p;
      *mat_at(inv, col, j) /= p;
    }
    for (int r = 0; r < n; r++) {
      if (r == col) continue;
      double f = get(a, r, col);
      for (int j = 0; j < n; j++) {
        *mat_at(a, r, j) -= f * get(a, col, j);
        *mat_at(inv, r, j) -= f * get(inv, col, j);
      }
    }
  }
  mat_free(a);
  return inv;
}

double mat_trace(const struct matrix *m) {
  double t = 0;
  for (int i = 0; i < m->rows && i < m->cols; i++) t += get(m, i, i);
  return t;
}

double mat_frobenius(const struct matrix *m) {
  double s = 0;
  for (int i = 0; i < m->rows * m->cols; i++) s += m->v[i] * m->v[i];
  return sqrt(s);
}

void mat_print(const char *name, const struct matrix *m) {
  printf("%s (%dx%d):\n", name, m->rows, m->cols);
  for (int i = 0; i < m->rows; i++) {
    printf("  [");
    for (int j = 0; j < m->cols; j++) {
      double v = get(m, i, j);
      if (fabs(v) < 5e-13) v = 0;  /* no "-0.0000" from rounding noise */
      printf(" %*.*f", stats_digits + 5, stats_digits, v);
    }
    printf(" ]\n");
  }
}
