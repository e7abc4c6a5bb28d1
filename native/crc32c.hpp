// CRC-32C (Castagnoli), as used by iSCSI, ext4 and GridFTP checksum lists.
#pragma once
#include <cstddef>
#include <cstdint>

namespace wrapgen {

// Continue a CRC-32C over buf; start with crc = 0. Uses SSE4.2 when the CPU has it.
uint32_t crc32c(uint32_t crc, const void *buf, size_t len) noexcept;
// The portable slicing-by-8 table path, exposed so tests can compare both paths.
uint32_t crc32c_table(uint32_t crc, const void *buf, size_t len) noexcept;
bool crc32c_hardware_available() noexcept;

}  // namespace wrapgen
