/* irld_ffi.h: declare the C signatures a program calls through libffi.
 *
 * irld generates the code of ffi_call and of closures at link time, for the
 * signatures it knows then.  IRLD_FFI_SIGNATURE records one in the object's
 * custom section "irld.ffi_signatures" (one line of text, the syntax of
 * `irld link --ffi-signatures FILE`, docs/ffi.md), which the linker reads:
 *
 *     IRLD_FFI_SIGNATURE(double, (int, float));
 *     IRLD_FFI_SIGNATURE(struct { int, double }, (struct { char, char }, ...));
 *
 * Use it at file scope, once per signature (repeats are harmless).  Types
 * are C's scalar types (char, unsigned short, int, long long, float,
 * double, long double, any pointer `T *`, int8_t ... uint64_t, size_t),
 * libffi's names (sint32, uint8, pointer, longdouble, ...), and structs
 * written as `struct { T, T, ... }`.  In a variadic signature, the types
 * after `...` are those of one call (ffi_prep_cif_var's), already promoted.
 */
#ifndef IRLD_FFI_H
#define IRLD_FFI_H

#define IRLD_FFI__STR(...) #__VA_ARGS__
#define IRLD_FFI__QUOTE(s) IRLD_FFI__STR(s)

#if defined(__wasm__)
#define IRLD_FFI_SIGNATURE(...)                                               \
  __asm__(".section .custom_section.irld.ffi_signatures,\"\",@\n"          \
          ".ascii " IRLD_FFI__QUOTE(IRLD_FFI__STR(__VA_ARGS__)) "\n"         \
          ".ascii \"\\n\"\n"                                                  \
          ".text\n")
#else
#define IRLD_FFI_SIGNATURE(...) struct irld_ffi__unused
#endif

#endif /* IRLD_FFI_H */
