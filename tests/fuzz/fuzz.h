/*
 * fuzz.h - the libFuzzer entry point that every tests/fuzz/fuzz_<input>.c defines.
 * Built with clang -fsanitize=fuzzer for fuzzing, or linked with replay.c, whose
 * main() feeds corpus files through it, for replay with any compiler.
 */
#ifndef RI_FUZZ_H
#define RI_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif /* RI_FUZZ_H */
