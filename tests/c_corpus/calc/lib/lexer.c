#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "../calc.h"

void lex_init(struct lexer *lx, const char *src) {
  lx->src = src;
  lx->pos = 0;
  lex_next(lx);
}

static int is_op_char(char c) { return strchr("+-*/%^<>!=", c) != NULL && c != '\0'; }

static void lex_name(struct lexer *lx) {
  struct token *t = &lx->cur;
  int n = 0;
  while (isalnum((unsigned char)lx->src[lx->pos]) || lx->src[lx->pos] == '_') {
    if (n < (int)sizeof t->text - 1) t->text[n++] = lx->src[lx->pos];
    lx->pos++;
  }
  t->text[n] = '\0';
  t->kind = strcmp(t->text, "def") == 0 ? TOK_DEF : TOK_NAME;
}

static void lex_number(struct lexer *lx) {
  char *end;
  lx->cur.num = strtod(lx->src + lx->pos, &end);
  lx->cur.kind = TOK_NUM;
  lx->pos = (int)(end - lx->src);
}

static void lex_op(struct lexer *lx) {
  struct token *t = &lx->cur;
  char c = lx->src[lx->pos], d = lx->src[lx->pos + 1];
  t->text[0] = c;
  t->text[1] = '\0';
  lx->pos++;
  if (d == '=' && strchr("<>!=", c) != NULL) {
    t->text[1] = '=';
    t->text[2] = '\0';
    lx->pos++;
  } else if (c == '=') {
    t->kind = TOK_ASSIGN;
    return;
  } else if (c == '!') {
    t->kind = TOK_ERROR;
    return;
  }
  t->kind = TOK_OP;
}

void lex_next(struct lexer *lx) {
  while (isspace((unsigned char)lx->src[lx->pos])) lx->pos++;
  struct token *t = &lx->cur;
  t->pos = lx->pos;
  t->text[0] = '\0';
  char c = lx->src[lx->pos];
  if (c == '\0') { t->kind = TOK_END; return; }
  if (isalpha((unsigned char)c) || c == '_') { lex_name(lx); return; }
  if (isdigit((unsigned char)c) || (c == '.' && isdigit((unsigned char)lx->src[lx->pos + 1]))) {
    lex_number(lx);
    return;
  }
  if (is_op_char(c)) { lex_op(lx); return; }
  lx->pos++;
  switch (c) {
    case '(': t->kind = TOK_LPAREN; break;
    case ')': t->kind = TOK_RPAREN; break;
    case ',': t->kind = TOK_COMMA; break;
    case ';': t->kind = TOK_SEMI; break;
    default: t->kind = TOK_ERROR; t->text[0] = c; t->text[1] = '\0'; break;
  }
}
