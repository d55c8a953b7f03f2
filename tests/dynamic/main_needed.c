/* A main module that needs side.so.wasm (dylink.0 needed list). */
#include "io.h"
int host_value = 7;
int main_helper(int x) { return x * 10; }
extern int side_add(int, int);
extern int side_counter;
extern int side_call(int (*)(int), int);
static int triple(int x) { return 3 * x; }
void _start(void) {
  put("side_add="); put_int(side_add(1, 2)); put("\n");
  put("side_counter="); put_int(side_counter); put("\n");
  put("side_call="); put_int(side_call(triple, 5)); put("\n");
}
