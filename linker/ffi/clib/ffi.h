/* ffi.h: libffi 3.4's C API for wasm32, as irld provides it.
 *
 * The types, constants and functions are libffi's (same names, same layout
 * of ffi_type, ffi_cif and ffi_closure as libffi's wasm32 port), so code
 * written for libffi compiles unchanged.  The implementation (libffi.a,
 * found by `irld link -lffi`) has no code per signature: ffi_prep_cif
 * looks the signature up in a table the linker generates for the
 * signatures the program declares (see irld_ffi.h, docs/ffi.md).
 */
#ifndef LIBFFI_H
#define LIBFFI_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LIBFFI_TARGET_H 1
#define FFI_WASM32_IRLD 1

/* libffi's declaration decorations, for code that spells them out. */
#ifndef FFI_API
#define FFI_API
#endif
#ifndef FFI_EXTERN
#define FFI_EXTERN extern FFI_API
#endif

/* ---- target (libffi's wasm32 ffitarget.h) ---- */
typedef unsigned long ffi_arg;
typedef signed long ffi_sarg;
typedef void (*ffi_fp)(void);

typedef enum ffi_abi {
  FFI_FIRST_ABI = 0,
  FFI_WASM32,
  FFI_WASM32_EMSCRIPTEN,
  FFI_LAST_ABI,
  FFI_DEFAULT_ABI = FFI_WASM32
} ffi_abi;

#define FFI_CLOSURES 1
#define FFI_GO_CLOSURES 0
#define FFI_TRAMPOLINE_SIZE 4
#define FFI_NATIVE_RAW_API 0
#define FFI_TARGET_SPECIFIC_VARIADIC 1
#define FFI_EXTRA_CIF_FIELDS unsigned int nfixedargs

/* ---- type codes ---- */
#define FFI_TYPE_VOID 0
#define FFI_TYPE_INT 1
#define FFI_TYPE_FLOAT 2
#define FFI_TYPE_DOUBLE 3
#define FFI_TYPE_LONGDOUBLE 4
#define FFI_TYPE_UINT8 5
#define FFI_TYPE_SINT8 6
#define FFI_TYPE_UINT16 7
#define FFI_TYPE_SINT16 8
#define FFI_TYPE_UINT32 9
#define FFI_TYPE_SINT32 10
#define FFI_TYPE_UINT64 11
#define FFI_TYPE_SINT64 12
#define FFI_TYPE_STRUCT 13
#define FFI_TYPE_POINTER 14
#define FFI_TYPE_COMPLEX 15
#define FFI_TYPE_LAST FFI_TYPE_COMPLEX

#define FFI_SIZEOF_ARG 4
#define FFI_SIZEOF_JAVA_RAW FFI_SIZEOF_ARG

typedef struct _ffi_type {
  size_t size;
  unsigned short alignment;
  unsigned short type;
  struct _ffi_type **elements;
} ffi_type;

extern ffi_type ffi_type_void;
extern ffi_type ffi_type_uint8;
extern ffi_type ffi_type_sint8;
extern ffi_type ffi_type_uint16;
extern ffi_type ffi_type_sint16;
extern ffi_type ffi_type_uint32;
extern ffi_type ffi_type_sint32;
extern ffi_type ffi_type_uint64;
extern ffi_type ffi_type_sint64;
extern ffi_type ffi_type_float;
extern ffi_type ffi_type_double;
extern ffi_type ffi_type_longdouble;
extern ffi_type ffi_type_pointer;

/* wasm32: char 8, short 16, int and long 32, long long 64 bits. */
#define ffi_type_uchar ffi_type_uint8
#define ffi_type_schar ffi_type_sint8
#define ffi_type_ushort ffi_type_uint16
#define ffi_type_sshort ffi_type_sint16
#define ffi_type_uint ffi_type_uint32
#define ffi_type_sint ffi_type_sint32
#define ffi_type_ulong ffi_type_uint32
#define ffi_type_slong ffi_type_sint32

typedef enum {
  FFI_OK = 0,
  FFI_BAD_TYPEDEF,
  FFI_BAD_ABI,
  FFI_BAD_ARGTYPE
} ffi_status;

typedef struct {
  ffi_abi abi;
  unsigned nargs;
  ffi_type **arg_types;
  ffi_type *rtype;
  unsigned bytes;   /* bytes of the argument values */
  unsigned flags;   /* irld: the linker's id of the signature, 0 when undeclared */
  FFI_EXTRA_CIF_FIELDS;
} ffi_cif;

ffi_status ffi_prep_cif(ffi_cif *cif, ffi_abi abi, unsigned int nargs,
                        ffi_type *rtype, ffi_type **atypes);
ffi_status ffi_prep_cif_var(ffi_cif *cif, ffi_abi abi, unsigned int nfixedargs,
                            unsigned int ntotalargs, ffi_type *rtype,
                            ffi_type **atypes);
void ffi_call(ffi_cif *cif, void (*fn)(void), void *rvalue, void **avalue);
ffi_status ffi_get_struct_offsets(ffi_abi abi, ffi_type *struct_type,
                                  size_t *offsets);

/* ---- closures ---- */
typedef struct {
  char tramp[FFI_TRAMPOLINE_SIZE];   /* irld: the code pointer (a table index) */
  ffi_cif *cif;
  void (*fun)(ffi_cif *, void *, void **, void *);
  void *user_data;
} ffi_closure;

void *ffi_closure_alloc(size_t size, void **code);
void ffi_closure_free(void *closure);
ffi_status ffi_prep_closure(ffi_closure *closure, ffi_cif *cif,
                            void (*fun)(ffi_cif *, void *, void **, void *),
                            void *user_data);
ffi_status ffi_prep_closure_loc(ffi_closure *closure, ffi_cif *cif,
                                void (*fun)(ffi_cif *, void *, void **, void *),
                                void *user_data, void *codeloc);
/* libffi-wasm's (GHC's) allocate-and-prepare in one step. */
ffi_status ffi_alloc_prep_closure(ffi_closure **pclosure, ffi_cif *cif,
                                  void (*fun)(ffi_cif *, void *, void **, void *),
                                  void *user_data, void **code);

#define FFI_FN(f) ((void (*)(void))(f))

#ifdef __cplusplus
}
#endif

#include "irld_ffi.h"

#endif /* LIBFFI_H */
