/* wordfreq: count the words of embedded texts with a generic hash table. */
#ifndef WORDFREQ_H
#define WORDFREQ_H

#include <stddef.h>

typedef unsigned (*hash_fn)(const char *key);
typedef int (*eq_fn)(const char *a, const char *b);

struct entry {
  char *key;
  long count;
  int first_seen;
};

struct table {
  struct entry *slots;
  size_t cap, len;
  hash_fn hash;
  eq_fn eq;
  long probes;
};

void table_init(struct table *t, size_t cap, hash_fn hash, eq_fn eq);
struct entry *table_find(struct table *t, const char *key);
struct entry *table_add(struct table *t, const char *key, int position);
void table_free(struct table *t);
struct entry **table_sorted(const struct table *t, int (*cmp)(const void *, const void *));

/* The library's default hash; weak, so a program may supply its own. */
unsigned default_hash(const char *key);
int default_eq(const char *a, const char *b);

/* Tokens: lower-cased words of letters, digits and inner apostrophes. */
typedef void (*word_sink)(const char *word, size_t len, void *ctx);
size_t for_each_word(const char *text, word_sink sink, void *ctx);
char *xstrndup(const char *s, size_t n);

int by_count_then_word(const void *a, const void *b);
int by_length_then_word(const void *a, const void *b);
int by_first_seen(const void *a, const void *b);

/* stop words, filled by a constructor */
int is_stop_word(const char *w);
int stop_word_count(void);

struct text { const char *title; const char *body; };
extern const struct text texts[];
extern const int text_count;

#endif
