// CRC-32C with a hardware path (SSE4.2 crc32 instruction, three interleaved
// streams recombined with zero-shift tables, after Mark Adler's crc32c.c) and
// a slicing-by-8 table fallback.
#include "crc32c.hpp"

#include <cstring>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the slicing-by-8 path assumes a little-endian host"
#endif

#if defined(__x86_64__) || defined(__i386__)
#include <nmmintrin.h>
#define WRAPGEN_X86 1
#endif

namespace wrapgen {
namespace {

constexpr uint32_t kPoly = 0x82f63b78u;  // reflected Castagnoli polynomial

struct Tables {
    uint32_t slice[8][256];
    // Operators that append LONG or SHORT zero bytes to a CRC register; they
    // let three independent hardware streams be combined into one CRC.
    uint32_t long_shift[4][256];
    uint32_t short_shift[4][256];
    Tables();
};

constexpr size_t kLong = 8192;
constexpr size_t kShort = 256;

uint32_t gf2_times(const uint32_t *mat, uint32_t vec) {
    uint32_t sum = 0;
    while (vec) {
        if (vec & 1) sum ^= *mat;
        vec >>= 1;
        ++mat;
    }
    return sum;
}

void gf2_square(uint32_t *square, const uint32_t *mat) {
    for (int n = 0; n < 32; ++n) square[n] = gf2_times(mat, mat[n]);
}

// Operator for appending len (a power of two) zero bytes.
void zeros_op(uint32_t *even, size_t len) {
    uint32_t odd[32];
    odd[0] = kPoly;
    uint32_t row = 1;
    for (int n = 1; n < 32; ++n) {
        odd[n] = row;
        row <<= 1;
    }
    gf2_square(even, odd);  // two zero bits
    gf2_square(odd, even);  // four zero bits
    do {
        gf2_square(even, odd);
        len >>= 1;
        if (len == 0) return;
        gf2_square(odd, even);
        len >>= 1;
    } while (len);
    std::memcpy(even, odd, sizeof(odd));
}

void zeros_table(uint32_t table[4][256], size_t len) {
    uint32_t op[32];
    zeros_op(op, len);
    for (uint32_t n = 0; n < 256; ++n) {
        table[0][n] = gf2_times(op, n);
        table[1][n] = gf2_times(op, n << 8);
        table[2][n] = gf2_times(op, n << 16);
        table[3][n] = gf2_times(op, n << 24);
    }
}

Tables::Tables() {
    for (uint32_t n = 0; n < 256; ++n) {
        uint32_t crc = n;
        for (int k = 0; k < 8; ++k) crc = (crc & 1) ? (crc >> 1) ^ kPoly : crc >> 1;
        slice[0][n] = crc;
    }
    for (uint32_t n = 0; n < 256; ++n) {
        uint32_t crc = slice[0][n];
        for (int k = 1; k < 8; ++k) {
            crc = slice[0][crc & 0xff] ^ (crc >> 8);
            slice[k][n] = crc;
        }
    }
    zeros_table(long_shift, kLong);
    zeros_table(short_shift, kShort);
}

const Tables &tables() {
    static const Tables t;  // built once, thread-safe (C++11 magic statics), read-only after
    return t;
}

inline uint32_t shift(const uint32_t table[4][256], uint32_t crc) {
    return table[0][crc & 0xff] ^ table[1][(crc >> 8) & 0xff] ^ table[2][(crc >> 16) & 0xff] ^
           table[3][crc >> 24];
}

inline uint64_t load64(const unsigned char *p) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    return v;  // little-endian hosts only, as are all targets of the hardware path
}

#ifdef WRAPGEN_X86
// Consume whole 3*Block chunks as three independent CRC streams, then merge them
// by shifting each partial CRC over Block zero bytes (shift_table) and xoring.
template <size_t Block>
__attribute__((target("sse4.2"))) inline uint64_t crc32c_sse42_interleaved(uint64_t crc0, const unsigned char *&next,
                                                                          size_t &len,
                                                                          const uint32_t shift_table[4][256]) {
    while (len >= Block * 3) {
        uint64_t crc1 = 0, crc2 = 0;
        const unsigned char *end = next + Block;
        do {
            crc0 = _mm_crc32_u64(crc0, load64(next));
            crc1 = _mm_crc32_u64(crc1, load64(next + Block));
            crc2 = _mm_crc32_u64(crc2, load64(next + 2 * Block));
            next += 8;
        } while (next < end);
        crc0 = shift(shift_table, static_cast<uint32_t>(crc0)) ^ crc1;
        crc0 = shift(shift_table, static_cast<uint32_t>(crc0)) ^ crc2;
        next += 2 * Block;
        len -= 3 * Block;
    }
    return crc0;
}

__attribute__((target("sse4.2"))) uint32_t crc32c_sse42(uint32_t crc, const void *buf, size_t len) {
    const Tables &t = tables();
    auto next = static_cast<const unsigned char *>(buf);
    uint64_t crc0 = crc ^ 0xffffffffu;
    while (len && (reinterpret_cast<uintptr_t>(next) & 7) != 0) {
        crc0 = _mm_crc32_u8(static_cast<uint32_t>(crc0), *next++);
        --len;
    }
    // Three streams hide the instruction's 3-cycle latency.
    crc0 = crc32c_sse42_interleaved<kLong>(crc0, next, len, t.long_shift);
    crc0 = crc32c_sse42_interleaved<kShort>(crc0, next, len, t.short_shift);
    while (len >= 8) {
        crc0 = _mm_crc32_u64(crc0, load64(next));
        next += 8;
        len -= 8;
    }
    while (len) {
        crc0 = _mm_crc32_u8(static_cast<uint32_t>(crc0), *next++);
        --len;
    }
    return static_cast<uint32_t>(crc0) ^ 0xffffffffu;
}

bool cpu_has_sse42() {
    static const bool has = __builtin_cpu_supports("sse4.2");
    return has;
}
#endif

}  // namespace

uint32_t crc32c_table(uint32_t crc, const void *buf, size_t len) noexcept {
    const Tables &t = tables();
    auto next = static_cast<const unsigned char *>(buf);
    uint32_t c = crc ^ 0xffffffffu;
    while (len && (reinterpret_cast<uintptr_t>(next) & 7) != 0) {
        c = t.slice[0][(c ^ *next++) & 0xff] ^ (c >> 8);
        --len;
    }
    while (len >= 8) {
        uint64_t word = c ^ load64(next);
        c = t.slice[7][word & 0xff] ^ t.slice[6][(word >> 8) & 0xff] ^ t.slice[5][(word >> 16) & 0xff] ^
            t.slice[4][(word >> 24) & 0xff] ^ t.slice[3][(word >> 32) & 0xff] ^
            t.slice[2][(word >> 40) & 0xff] ^ t.slice[1][(word >> 48) & 0xff] ^ t.slice[0][word >> 56];
        next += 8;
        len -= 8;
    }
    while (len) {
        c = t.slice[0][(c ^ *next++) & 0xff] ^ (c >> 8);
        --len;
    }
    return c ^ 0xffffffffu;
}

bool crc32c_hardware_available() noexcept {
#ifdef WRAPGEN_X86
    return cpu_has_sse42();
#else
    return false;
#endif
}

uint32_t crc32c(uint32_t crc, const void *buf, size_t len) noexcept {
#ifdef WRAPGEN_X86
    if (cpu_has_sse42()) return crc32c_sse42(crc, buf, len);
#endif
    return crc32c_table(crc, buf, len);
}

}  // namespace wrapgen
