/* A small legacy byte-codec API in the style of zlib and friends: typedef'd byte and length types,
   const input buffers, a capacity passed in and the length written passed back through a pointer. */
#ifndef BYTES_H
#define BYTES_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BYTES_OK 0
#define BYTES_BUF_ERROR (-5)  /* the output buffer is too small */
#define BYTES_DATA_ERROR (-3) /* the input is not a valid stream */

typedef unsigned char Byte;
typedef Byte *bytebuf;
typedef unsigned long ulen;

/* Run-length encode src (srclen bytes) as (count, byte) pairs into dst, whose capacity is *dstlen; on return
   *dstlen is the number of bytes written. */
int rle_encode(bytebuf dst, ulen *dstlen, const Byte *src, ulen srclen);

/* The inverse of rle_encode. */
int rle_decode(bytebuf dst, ulen *dstlen, const Byte *src, ulen srclen);

/* Adler-32 of n bytes. */
uint32_t adler32_of(const unsigned char *data, size_t n);

/* How many flags are set. */
int count_set(const bool *flags, int n);

/* Sum of n 16-bit samples, widened. */
int64_t sum16(const int16_t *samples, int n);

/* Fill cap bytes of out with value: trusts cap, as legacy code does (the spec must tie it to out's size). */
void fill_bytes(unsigned char *out, size_t cap, unsigned char value);

/* How many calls so far; reset by passing a count to set (the counter is passed back). */
void call_count(size_t *count);

/* An opaque handle, as C libraries keep their state: not something Python can pass as it is. */
typedef struct codec_state *codec_handle;
int codec_reset(codec_handle h);

#endif
