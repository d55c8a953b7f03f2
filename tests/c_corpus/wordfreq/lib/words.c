#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "../wordfreq.h"

char *xstrndup(const char *s, size_t n) {
  char *p = malloc(n + 1);
  if (p == NULL) abort();
  memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

size_t for_each_word(const char *text, word_sink sink, void *ctx) {
  char word[64];
  size_t count = 0;
  const char *p = text;
  while (*p) {
    while (*p && !isalnum((unsigned char)*p)) p++;
    size_t n = 0;
    while (*p && (isalnum((unsigned char)*p) ||
                  (*p == '\'' && n > 0 && isalpha((unsigned char)p[1])))) {
      if (n < sizeof word - 1) word[n++] = (char)tolower((unsigned char)*p);
      p++;
    }
    if (n == 0) continue;
    word[n] = '\0';
    sink(word, n, ctx);
    count++;
  }
  return count;
}
