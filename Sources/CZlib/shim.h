#ifndef SATCHEL_CZLIB_SHIM_H
#define SATCHEL_CZLIB_SHIM_H
#include <zlib.h>

/* deflateInit2/inflateInit are macros; Swift sees these wrappers instead. */
static inline int satchel_deflateInit2(z_streamp strm, int level, int windowBits) {
    return deflateInit2_(strm, level, Z_DEFLATED, windowBits, 8, Z_DEFAULT_STRATEGY,
                         ZLIB_VERSION, (int)sizeof(z_stream));
}

static inline int satchel_inflateInit2(z_streamp strm, int windowBits) {
    return inflateInit2_(strm, windowBits, ZLIB_VERSION, (int)sizeof(z_stream));
}
#endif
