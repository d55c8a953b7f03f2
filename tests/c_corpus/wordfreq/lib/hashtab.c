/* Open addressing with linear probing; the table doubles at 3/4 load. */
#include <stdlib.h>
#include <string.h>

#include "../wordfreq.h"

__attribute__((weak)) unsigned default_hash(const char *key) {
  unsigned h = 2166136261u;                  /* FNV-1a */
  for (; *key; key++) h = (h ^ (unsigned char)*key) * 16777619u;
  return h;
}

int default_eq(const char *a, const char *b) { return strcmp(a, b) == 0; }

void table_init(struct table *t, size_t cap, hash_fn hash, eq_fn eq) {
  t->slots = calloc(cap, sizeof *t->slots);
  if (t->slots == NULL) abort();
  t->cap = cap;
  t->len = 0;
  t->hash = hash != NULL ? hash : default_hash;
  t->eq = eq != NULL ? eq : default_eq;
  t->probes = 0;
}

static struct entry *probe(struct table *t, const char *key) {
  size_t i = t->hash(key) & (t->cap - 1);
  for (;;) {
    t->probes++;
    struct entry *e = &t->slots[i];
    if (e->key == NULL || t->eq(e->key, key)) return e;
    i = (i + 1) & (t->cap - 1);
  }
}

static void grow(struct table *t) {
  struct entry *old = t->slots;
  size_t oldcap = t->cap;
  t->slots = calloc(oldcap * 2, sizeof *t->slots);
  if (t->slots == NULL) abort();
  t->cap = oldcap * 2;
  for (size_t i = 0; i < oldcap; i++)
    if (old[i].key != NULL) *probe(t, old[i].key) = old[i];
  free(old);
}

struct entry *table_find(struct table *t, const char *key) {
  struct entry *e = probe(t, key);
  return e->key != NULL ? e : NULL;
}

struct entry *table_add(struct table *t, const char *key, int position) {
  if ((t->len + 1) * 4 > t->cap * 3) grow(t);
  struct entry *e = probe(t, key);
  if (e->key == NULL) {
    e->key = xstrndup(key, strlen(key));
    e->first_seen = position;
    t->len++;
  }
  e->count++;
  return e;
}

void table_free(struct table *t) {
  for (size_t i = 0; i < t->cap; i++) free(t->slots[i].key);
  free(t->slots);
  t->slots = NULL;
  t->cap = t->len = 0;
}

struct entry **table_sorted(const struct table *t, int (*cmp)(const void *, const void *)) {
  struct entry **out = malloc((t->len + 1) * sizeof *out);
  if (out == NULL) abort();
  size_t n = 0;
  for (size_t i = 0; i < t->cap; i++)
    if (t->slots[i].key != NULL) out[n++] = &t->slots[i];
  qsort(out, n, sizeof *out, cmp);
  out[n] = NULL;
  return out;
}
