/* A side module needing symbols that no module defines. */
extern int nowhere_data;
extern int nowhere_func(int);
int bad(void) { return nowhere_func(nowhere_data); }
