/* Precedence climbing over the lexer's tokens; the tree is malloc'ed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../calc.h"

struct parser {
  struct lexer *lx;
  char *err;
  size_t errlen;
  int failed;
};

static struct node *parse_expr(struct parser *p, int min_prec);

static struct node *new_node(enum node_kind kind) {
  struct node *n = calloc(1, sizeof *n);
  if (n == NULL) abort();
  n->kind = kind;
  return n;
}

void free_node(struct node *n) {
  if (n == NULL) return;
  for (int i = 0; i < n->nkids; i++) free_node(n->kids[i]);
  free(n);
}

int count_nodes(const struct node *n) {
  if (n == NULL) return 0;
  int total = 1;
  for (int i = 0; i < n->nkids; i++) total += count_nodes(n->kids[i]);
  return total;
}

static void fail(struct parser *p, const char *what) {
  if (p->failed) return;
  p->failed = 1;
  snprintf(p->err, p->errlen, "at column %d: %s", p->lx->cur.pos + 1, what);
}

static int precedence(const char *op) {
  static const struct { const char *op; int prec; } table[] = {
    {"==", 1}, {"!=", 1}, {"<", 2}, {"<=", 2}, {">", 2}, {">=", 2},
    {"+", 3}, {"-", 3}, {"*", 4}, {"/", 4}, {"%", 4}, {"^", 6},
  };
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
    if (strcmp(table[i].op, op) == 0) return table[i].prec;
  return -1;
}

static struct node *parse_call(struct parser *p, const char *name) {
  struct node *n = new_node(N_CALL);
  strncpy(n->name, name, sizeof n->name - 1);
  lex_next(p->lx);  /* ( */
  if (p->lx->cur.kind == TOK_RPAREN) { lex_next(p->lx); return n; }
  for (;;) {
    if (n->nkids == MAX_ARGS) { fail(p, "too many arguments"); return n; }
    n->kids[n->nkids++] = parse_expr(p, 1);
    if (p->failed) return n;
    if (p->lx->cur.kind == TOK_COMMA) { lex_next(p->lx); continue; }
    if (p->lx->cur.kind == TOK_RPAREN) { lex_next(p->lx); return n; }
    fail(p, "expected ',' or ')'");
    return n;
  }
}

static struct node *parse_primary(struct parser *p) {
  struct token t = p->lx->cur;
  switch (t.kind) {
    case TOK_NUM: {
      struct node *n = new_node(N_NUM);
      n->num = t.num;
      lex_next(p->lx);
      return n;
    }
    case TOK_NAME: {
      lex_next(p->lx);
      if (p->lx->cur.kind == TOK_LPAREN) return parse_call(p, t.text);
      struct node *n = new_node(N_VAR);
      strncpy(n->name, t.text, sizeof n->name - 1);
      return n;
    }
    case TOK_LPAREN: {
      lex_next(p->lx);
      struct node *n = parse_expr(p, 1);
      if (p->lx->cur.kind != TOK_RPAREN) fail(p, "expected ')'");
      else lex_next(p->lx);
      return n;
    }
    case TOK_OP:
      if (strcmp(t.text, "-") == 0) {
        lex_next(p->lx);
        struct node *n = new_node(N_NEG);
        n->kids[n->nkids++] = parse_expr(p, 5);
        return n;
      }
      /* fall through */
    default:
      fail(p, "expected a number, a name or '('");
      return new_node(N_NUM);
  }
}

static struct node *parse_expr(struct parser *p, int min_prec) {
  struct node *lhs = parse_primary(p);
  while (!p->failed && p->lx->cur.kind == TOK_OP) {
    int prec = precedence(p->lx->cur.text);
    if (prec < min_prec) break;
    struct node *n = new_node(N_BIN);
    strcpy(n->op, p->lx->cur.text);
    lex_next(p->lx);
    n->kids[0] = lhs;
    n->kids[1] = parse_expr(p, n->op[0] == '^' ? prec : prec + 1);  /* ^ is right-assoc */
    n->nkids = 2;
    lhs = n;
  }
  return lhs;
}

static struct node *parse_def(struct parser *p) {
  lex_next(p->lx);
  if (p->lx->cur.kind != TOK_NAME) { fail(p, "expected a function name"); return NULL; }
  char name[32], params[MAX_ARGS][32];
  int nparams = 0;
  strcpy(name, p->lx->cur.text);
  lex_next(p->lx);
  if (p->lx->cur.kind != TOK_LPAREN) { fail(p, "expected '('"); return NULL; }
  lex_next(p->lx);
  while (p->lx->cur.kind == TOK_NAME && nparams < MAX_ARGS) {
    strcpy(params[nparams++], p->lx->cur.text);
    lex_next(p->lx);
    if (p->lx->cur.kind == TOK_COMMA) lex_next(p->lx);
  }
  if (p->lx->cur.kind != TOK_RPAREN) { fail(p, "expected ')'"); return NULL; }
  lex_next(p->lx);
  if (p->lx->cur.kind != TOK_ASSIGN) { fail(p, "expected '='"); return NULL; }
  lex_next(p->lx);
  struct node *body = parse_expr(p, 1);
  if (p->failed) { free_node(body); return NULL; }
  define_function(name, nparams, params, body);
  struct node *n = new_node(N_NUM);
  n->num = nparams;
  strcpy(n->name, name);  /* a named number: "defined NAME/ARITY" */
  return n;
}

struct node *parse_statement(struct lexer *lx, char *err, size_t errlen) {
  struct parser p = {lx, err, errlen, 0};
  struct node *n;
  if (lx->cur.kind == TOK_DEF) {
    n = parse_def(&p);
  } else if (lx->cur.kind == TOK_NAME) {
    struct lexer save = *lx;
    char name[32];
    strcpy(name, lx->cur.text);
    lex_next(lx);
    if (lx->cur.kind == TOK_ASSIGN) {
      lex_next(lx);
      n = new_node(N_ASSIGN);
      strcpy(n->name, name);
      n->kids[n->nkids++] = parse_expr(&p, 1);
    } else {
      *lx = save;
      n = parse_expr(&p, 1);
    }
  } else {
    n = parse_expr(&p, 1);
  }
  if (!p.failed && lx->cur.kind != TOK_SEMI && lx->cur.kind != TOK_END)
    fail(&p, "unexpected input after the expression");
  if (p.failed) {
    free_node(n);
    while (lx->cur.kind != TOK_SEMI && lx->cur.kind != TOK_END) lex_next(lx);
    n = NULL;
  }
  if (lx->cur.kind == TOK_SEMI) lex_next(lx);
  return n;
}
