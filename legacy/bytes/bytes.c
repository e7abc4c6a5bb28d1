/* Implementation of bytes.h: a run-length codec, Adler-32, flag counting and a deliberately trusting fill. */
#include "bytes.h"

int rle_encode(bytebuf dst, ulen *dstlen, const Byte *src, ulen srclen) {
    ulen cap = *dstlen, out = 0, i = 0;
    while (i < srclen) {
        Byte b = src[i];
        ulen run = 1;
        while (i + run < srclen && src[i + run] == b && run < 255) run++;
        if (out + 2 > cap) {
            *dstlen = out;
            return BYTES_BUF_ERROR;
        }
        dst[out++] = (Byte)run;
        dst[out++] = b;
        i += run;
    }
    *dstlen = out;
    return BYTES_OK;
}

int rle_decode(bytebuf dst, ulen *dstlen, const Byte *src, ulen srclen) {
    ulen cap = *dstlen, out = 0;
    if (srclen % 2) return BYTES_DATA_ERROR;
    for (ulen i = 0; i < srclen; i += 2) {
        if (src[i] == 0) return BYTES_DATA_ERROR;
        if (out + src[i] > cap) {
            *dstlen = out;
            return BYTES_BUF_ERROR;
        }
        for (Byte k = 0; k < src[i]; k++) dst[out++] = src[i + 1];
    }
    *dstlen = out;
    return BYTES_OK;
}

uint32_t adler32_of(const unsigned char *data, size_t n) {
    uint32_t a = 1, b = 0;
    for (size_t i = 0; i < n; i++) {
        a = (a + data[i]) % 65521u;
        b = (b + a) % 65521u;
    }
    return (b << 16) | a;
}

int count_set(const bool *flags, int n) {
    int c = 0;
    for (int i = 0; i < n; i++) c += flags[i] ? 1 : 0;
    return c;
}

int64_t sum16(const int16_t *samples, int n) {
    int64_t s = 0;
    for (int i = 0; i < n; i++) s += samples[i];
    return s;
}

void fill_bytes(unsigned char *out, size_t cap, unsigned char value) {
    for (size_t i = 0; i < cap; i++) out[i] = value;
}

static size_t calls = 0;

void call_count(size_t *count) {
    calls = *count ? *count : calls + 1;
    *count = calls;
}

struct codec_state {
    int level;
};

int codec_reset(codec_handle h) {
    if (!h) return BYTES_DATA_ERROR;
    h->level = 0;
    return BYTES_OK;
}
