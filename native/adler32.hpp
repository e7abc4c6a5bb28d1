// Adler-32 (RFC 1950), the checksum GridFTP and dCache list as ADLER32.
#pragma once
#include <cstddef>
#include <cstdint>

namespace wrapgen {

// Continue an Adler-32 over buf; start with adler = 1. Uses SSSE3 when the CPU has it.
uint32_t adler32(uint32_t adler, const void *buf, size_t len) noexcept;
// The portable scalar path, exposed so tests can compare both paths.
uint32_t adler32_scalar(uint32_t adler, const void *buf, size_t len) noexcept;
bool adler32_simd_available() noexcept;

}  // namespace wrapgen
