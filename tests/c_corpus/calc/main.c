/* calc: run the embedded script, print each result, list the builtins and
   variables; the exit status is the number of statements that failed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calc.h"

extern const char calc_script[];

static int errors;

/* Replaces the library's weak default: errors go to stdout, counted. */
void calc_report_error(const char *where, const char *msg) {
  errors++;
  printf("  error %d (%s): %s\n", errors, where, msg);
}

static double b_fact(const double *a, int n) {
  (void)n;
  double r = 1;
  for (int i = 2; i <= (int)a[0]; i++) r *= i;
  return r;
}

static double b_fib(const double *a, int n) {
  (void)n;
  long long x = 0, y = 1;
  for (int i = 0; i < (int)a[0]; i++) {
    long long t = x + y;
    x = y;
    y = t;
  }
  return (double)x;
}

/* After the library's math (101) and statistics (150) constructors. */
__attribute__((constructor(200))) static void register_program_builtins(void) {
  register_builtin("fact", 1, 1, b_fact);
  register_builtin("fib", 1, 1, b_fib);
}

static int registered_before_main = -1;
__attribute__((constructor)) static void note_builtins(void) {
  registered_before_main = builtin_count();
}

struct listing { char line[256]; int len; };

static void list_builtin(const struct builtin *b, void *ctx) {
  struct listing *l = ctx;
  int n = snprintf(l->line + l->len, sizeof l->line - (size_t)l->len, "%s%s/%d",
                   l->len ? " " : "", b->name, b->max_args);
  if (n > 0) l->len += n;
}

int main(void) {
  struct lexer lx;
  char err[128];
  int statement = 0;
  printf("calc: %d builtins registered before main\n", registered_before_main);
  lex_init(&lx, calc_script);
  while (lx.cur.kind != TOK_END) {
    statement++;
    int start = lx.cur.pos;
    err[0] = '\0';
    struct node *n = parse_statement(&lx, err, sizeof err);
    int end = lx.cur.kind == TOK_END ? (int)strlen(calc_script) : lx.cur.pos;
    while (end > start && strchr(" \n;", calc_script[end - 1]) != NULL) end--;
    printf("[%2d] %.*s\n", statement, end - start, calc_script + start);
    if (n == NULL) {
      calc_report_error("parse", err);
      continue;
    }
    if (n->kind == N_NUM && n->name[0] != '\0') {
      printf("     defined %s/%d\n", n->name, (int)n->num);
      free(n);
      continue;
    }
    int ok = 1;
    double v = eval(n, &ok);
    if (ok) printf("     = %.*g   (%d nodes)\n", calc_precision(), v, count_nodes(n));
    free_node(n);
  }
  struct listing l = {{0}, 0};
  for_each_builtin(list_builtin, &l);
  printf("builtins: %s\n", l.line);
  printf("variables (%d):\n", env_count());
  env_dump();
  printf("%d statements, %d errors\n", statement, errors);
  return errors;
}
