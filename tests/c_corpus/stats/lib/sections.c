#include <stdio.h>

#include "../stats.h"

#define MAX_SECTIONS 16

static struct { const char *name; section_fn fn; } sections[MAX_SECTIONS];
static int nsections;

void add_section(const char *name, section_fn fn) {
  if (nsections < MAX_SECTIONS) {
    sections[nsections].name = name;
    sections[nsections].fn = fn;
    nsections++;
  }
}

int run_sections(void) {
  for (int i = 0; i < nsections; i++) {
    printf("== %d. %s ==\n", i + 1, sections[i].name);
    sections[i].fn();
  }
  return nsections;
}
