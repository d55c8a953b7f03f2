/* dlfcn.h for programs run by irld's hosts (`irld run`): the dynamic loader
 * provides these functions as imports from module "env" (docs/dynamic.md).
 * The flag values are musl's. */
#ifndef IRLD_DLFCN_H
#define IRLD_DLFCN_H

#ifdef __cplusplus
extern "C" {
#endif

#define RTLD_LAZY 1
#define RTLD_NOW 2
#define RTLD_NOLOAD 4
#define RTLD_GLOBAL 256
#define RTLD_LOCAL 0
#define RTLD_DEFAULT ((void *)0)

__attribute__((import_module("env"), import_name("dlopen")))
void *dlopen(const char *file, int mode);
__attribute__((import_module("env"), import_name("dlsym")))
void *dlsym(void *handle, const char *name);
__attribute__((import_module("env"), import_name("dlclose")))
int dlclose(void *handle);
__attribute__((import_module("env"), import_name("dlerror")))
char *dlerror(void);

#ifdef __cplusplus
}
#endif

#endif
