#ifndef SATCHEL_CFUZZDRIVER_H
#define SATCHEL_CFUZZDRIVER_H
#include <stddef.h>
#include <stdint.h>

/// libFuzzer's driver, for programs with their own main (LLVM's libFuzzer documentation,
/// "Using libFuzzer as a library"). Defined only when linked with -sanitize=fuzzer; the Swift
/// side references it only under the SATCHEL_LIBFUZZER compilation condition.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
