/* stats: dense matrices and descriptive statistics over generated samples. */
#ifndef STATS_H
#define STATS_H

#include <stddef.h>

struct matrix { int rows, cols; double *v; };

struct matrix *mat_new(int rows, int cols);
void mat_free(struct matrix *m);
double *mat_at(struct matrix *m, int r, int c);
struct matrix *mat_mul(const struct matrix *a, const struct matrix *b);
struct matrix *mat_transpose(const struct matrix *m);
struct matrix *mat_inverse(const struct matrix *m, double *det);
struct matrix *mat_map(const struct matrix *m, double (*f)(double));
void mat_print(const char *name, const struct matrix *m);
double mat_trace(const struct matrix *m);
double mat_frobenius(const struct matrix *m);

struct summary { double mean, stddev, min, max, median, p90, skew; size_t n; };
void summarize(const double *xs, size_t n, struct summary *out);
double correlation(const double *xs, const double *ys, size_t n);
void linear_fit(const double *xs, const double *ys, size_t n, double *slope, double *icept);
void histogram(const double *xs, size_t n, double lo, double hi, int bins, int *counts);

struct rng { unsigned long long s; };
void rng_seed(struct rng *r, unsigned long long seed);
double rng_uniform(struct rng *r);
double rng_normal(struct rng *r, double mean, double sd);
double rng_exponential(struct rng *r, double rate);

/* printed digits: the library's weak default, a program may define its own */
extern int stats_digits;

/* sections of the report, registered by constructors in priority order */
typedef void (*section_fn)(void);
void add_section(const char *name, section_fn fn);
int run_sections(void);

#endif
