#include <string.h>

#include "../wordfreq.h"

int by_count_then_word(const void *a, const void *b) {
  const struct entry *x = *(const struct entry *const *)a, *y = *(const struct entry *const *)b;
  if (x->count != y->count) return x->count > y->count ? -1 : 1;
  return strcmp(x->key, y->key);
}

int by_length_then_word(const void *a, const void *b) {
  const struct entry *x = *(const struct entry *const *)a, *y = *(const struct entry *const *)b;
  size_t lx = strlen(x->key), ly = strlen(y->key);
  if (lx != ly) return lx > ly ? -1 : 1;
  return strcmp(x->key, y->key);
}

int by_first_seen(const void *a, const void *b) {
  const struct entry *x = *(const struct entry *const *)a, *y = *(const struct entry *const *)b;
  return x->first_seen - y->first_seen;
}
