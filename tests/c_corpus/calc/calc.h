/* calc: a small expression language (numbers, variables, + - * / % ^,
   comparisons, function calls, assignments, `def` of one-line functions). */
#ifndef CALC_H
#define CALC_H

#include <stddef.h>

enum tok_kind {
  TOK_END, TOK_NUM, TOK_NAME, TOK_OP, TOK_LPAREN, TOK_RPAREN, TOK_COMMA, TOK_ASSIGN,
  TOK_SEMI, TOK_DEF, TOK_ERROR
};

struct token {
  enum tok_kind kind;
  double num;
  char text[32];
  int pos;
};

struct lexer {
  const char *src;
  int pos;
  struct token cur;
};

void lex_init(struct lexer *lx, const char *src);
void lex_next(struct lexer *lx);

enum node_kind { N_NUM, N_VAR, N_NEG, N_BIN, N_CALL, N_ASSIGN, N_COND };

struct node {
  enum node_kind kind;
  double num;
  char op[3];
  char name[32];
  struct node *kids[4];
  int nkids;
};

struct node *parse_statement(struct lexer *lx, char *err, size_t errlen);
void free_node(struct node *n);
int count_nodes(const struct node *n);

#define MAX_ARGS 4
typedef double (*builtin_fn)(const double *args, int nargs);

struct builtin {
  const char *name;
  int min_args, max_args;
  builtin_fn fn;
};

void register_builtin(const char *name, int min_args, int max_args, builtin_fn fn);
const struct builtin *find_builtin(const char *name);
int builtin_count(void);
void for_each_builtin(void (*visit)(const struct builtin *, void *), void *ctx);

/* user functions: `def f(x, y) = expr` */
int define_function(const char *name, int nparams, char params[][32], struct node *body);
int call_user_function(const char *name, const double *args, int nargs, double *out);

/* variables */
int env_get(const char *name, double *out);
void env_set(const char *name, double value);
int env_count(void);
void env_dump(void);

double eval(const struct node *n, int *ok);

/* Hooks: the library has weak defaults, a program may replace them. */
void calc_report_error(const char *where, const char *msg);
int calc_precision(void);

#endif
