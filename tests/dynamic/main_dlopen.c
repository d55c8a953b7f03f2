/* A main module that loads side.so.wasm with dlopen at run time. */
#include "io.h"
#include <dlfcn.h>
int host_value = 7;
int main_helper(int x) { return x * 10; }
static int triple(int x) { return 3 * x; }
void _start(void) {
  void *missing = dlopen("nosuch.so.wasm", RTLD_NOW);
  put("missing="); put_int(missing != 0); put(" "); put(dlerror()); put("\n");
  void *h = dlopen("side.so.wasm", RTLD_NOW);
  if (!h) { put(dlerror()); put("\n"); proc_exit(1); }
  int (*add)(int, int) = (int (*)(int, int))dlsym(h, "side_add");
  int *counter = (int *)dlsym(h, "side_counter");
  int (*call)(int (*)(int), int) = (int (*)(int (*)(int), int))dlsym(h, "side_call");
  put("side_add="); put_int(add(1, 2)); put("\n");
  put("side_counter="); put_int(*counter); put("\n");
  put("side_call="); put_int(call(triple, 5)); put("\n");
  put("same_fn="); put_int(dlsym(h, "side_add") == (void *)add); put("\n");
  put("nosym="); put_int(dlsym(h, "nope") != 0); put(" "); put(dlerror()); put("\n");
  put("noerror="); put_int(dlerror() != 0); put("\n");
  put("again="); put_int(dlopen("side.so.wasm", RTLD_NOW) == h); put("\n");
  put("close="); put_int(dlclose(h)); put_int(dlclose(h)); put("\n");
  put("closed="); put_int(dlsym(h, "side_add") != 0); put("\n");
}
