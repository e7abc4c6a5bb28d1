// Adler-32 with an SSSE3 path (the vectorisation used by Chromium's zlib:
// 32-byte blocks, psadbw for the byte sum, pmaddubsw with descending taps for
// the weighted sum) and a scalar fallback equivalent to zlib's.
#include "adler32.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <tmmintrin.h>
#define WRAPGEN_X86 1
#endif

namespace wrapgen {
namespace {

constexpr uint32_t kBase = 65521;  // largest prime below 2^16
constexpr size_t kNmax = 5552;     // most bytes before s2 can overflow 32 bits

#ifdef WRAPGEN_X86
__attribute__((target("ssse3"))) uint32_t adler32_ssse3(uint32_t adler, const unsigned char *buf, size_t len) {
    uint32_t s1 = (adler & 0xffff) % kBase;
    uint32_t s2 = (adler >> 16) % kBase;
    constexpr size_t kBlock = 32;
    size_t blocks = len / kBlock;
    len -= blocks * kBlock;

    const __m128i tap1 = _mm_setr_epi8(32, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17);
    const __m128i tap2 = _mm_setr_epi8(16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1);
    const __m128i zero = _mm_setzero_si128();
    const __m128i ones = _mm_set1_epi16(1);

    while (blocks) {
        size_t n = kNmax / kBlock;
        if (n > blocks) n = blocks;
        blocks -= n;

        __m128i v_ps = _mm_set_epi32(0, 0, 0, static_cast<int>(s1 * n));
        __m128i v_s2 = _mm_set_epi32(0, 0, 0, static_cast<int>(s2));
        __m128i v_s1 = _mm_setzero_si128();
        do {
            const __m128i bytes1 = _mm_loadu_si128(reinterpret_cast<const __m128i *>(buf));
            const __m128i bytes2 = _mm_loadu_si128(reinterpret_cast<const __m128i *>(buf + 16));
            v_ps = _mm_add_epi32(v_ps, v_s1);
            v_s1 = _mm_add_epi32(v_s1, _mm_sad_epu8(bytes1, zero));
            v_s2 = _mm_add_epi32(v_s2, _mm_madd_epi16(_mm_maddubs_epi16(bytes1, tap1), ones));
            v_s1 = _mm_add_epi32(v_s1, _mm_sad_epu8(bytes2, zero));
            v_s2 = _mm_add_epi32(v_s2, _mm_madd_epi16(_mm_maddubs_epi16(bytes2, tap2), ones));
            buf += kBlock;
        } while (--n);
        v_s2 = _mm_add_epi32(v_s2, _mm_slli_epi32(v_ps, 5));

        v_s1 = _mm_add_epi32(v_s1, _mm_shuffle_epi32(v_s1, _MM_SHUFFLE(2, 3, 0, 1)));
        v_s1 = _mm_add_epi32(v_s1, _mm_shuffle_epi32(v_s1, _MM_SHUFFLE(1, 0, 3, 2)));
        s1 += static_cast<uint32_t>(_mm_cvtsi128_si32(v_s1));
        v_s2 = _mm_add_epi32(v_s2, _mm_shuffle_epi32(v_s2, _MM_SHUFFLE(2, 3, 0, 1)));
        v_s2 = _mm_add_epi32(v_s2, _mm_shuffle_epi32(v_s2, _MM_SHUFFLE(1, 0, 3, 2)));
        s2 = static_cast<uint32_t>(_mm_cvtsi128_si32(v_s2));
        s1 %= kBase;
        s2 %= kBase;
    }
    while (len--) {
        s1 += *buf++;
        s2 += s1;
    }
    s1 %= kBase;
    s2 %= kBase;
    return s1 | (s2 << 16);
}

bool cpu_has_ssse3() {
    static const bool has = __builtin_cpu_supports("ssse3");
    return has;
}
#endif

}  // namespace

uint32_t adler32_scalar(uint32_t adler, const void *data, size_t len) noexcept {
    auto buf = static_cast<const unsigned char *>(data);
    uint32_t s1 = (adler & 0xffff) % kBase;
    uint32_t s2 = (adler >> 16) % kBase;
    while (len) {
        size_t n = len < kNmax ? len : kNmax;
        len -= n;
        while (n >= 8) {
            s1 += buf[0]; s2 += s1; s1 += buf[1]; s2 += s1;
            s1 += buf[2]; s2 += s1; s1 += buf[3]; s2 += s1;
            s1 += buf[4]; s2 += s1; s1 += buf[5]; s2 += s1;
            s1 += buf[6]; s2 += s1; s1 += buf[7]; s2 += s1;
            buf += 8;
            n -= 8;
        }
        while (n--) {
            s1 += *buf++;
            s2 += s1;
        }
        s1 %= kBase;
        s2 %= kBase;
    }
    return s1 | (s2 << 16);
}

bool adler32_simd_available() noexcept {
#ifdef WRAPGEN_X86
    return cpu_has_ssse3();
#else
    return false;
#endif
}

uint32_t adler32(uint32_t adler, const void *buf, size_t len) noexcept {
#ifdef WRAPGEN_X86
    if (cpu_has_ssse3()) return adler32_ssse3(adler, static_cast<const unsigned char *>(buf), len);
#endif
    return adler32_scalar(adler, buf, len);
}

}  // namespace wrapgen
