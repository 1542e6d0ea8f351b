#include "crc32c.h"

#include <string.h>

// CRC32C, reflected polynomial 0x82F63B78 (iSCSI, ext4, Btrfs).
static uint32_t table[8][256];
static int table_ready = 0;

static void build_table(void) {
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t crc = n;
        for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
        table[0][n] = crc;
    }
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t crc = table[0][n];
        for (int k = 1; k < 8; k++) {
            crc = table[0][crc & 0xff] ^ (crc >> 8);
            table[k][n] = crc;
        }
    }
    __atomic_store_n(&table_ready, 1, __ATOMIC_RELEASE);
}

uint32_t dfs_crc32c_extend_portable(uint32_t crc, const void *bytes, size_t length) {
    if (!__atomic_load_n(&table_ready, __ATOMIC_ACQUIRE)) build_table();
    const uint8_t *p = (const uint8_t *)bytes;
    crc = ~crc;
    while (length >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        word ^= crc;
        crc = table[7][word & 0xff] ^ table[6][(word >> 8) & 0xff] ^ table[5][(word >> 16) & 0xff] ^
              table[4][(word >> 24) & 0xff] ^ table[3][(word >> 32) & 0xff] ^ table[2][(word >> 40) & 0xff] ^
              table[1][(word >> 48) & 0xff] ^ table[0][word >> 56];
        p += 8;
        length -= 8;
    }
    while (length--) crc = table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

// Combining: the CRC of A followed by B from the CRCs of A and B and B's length, by
// multiplying in GF(2) modulo the polynomial (the method of zlib's crc32_combine).
#define POLY 0x82F63B78u

// a * b modulo the polynomial, both reflected.
static uint32_t multmodp(uint32_t a, uint32_t b) {
    uint32_t m = 1u << 31, p = 0;
    for (;;) {
        if (a & m) {
            p ^= b;
            if ((a & (m - 1)) == 0) break;
        }
        m >>= 1;
        b = (b & 1) ? (b >> 1) ^ POLY : b >> 1;
    }
    return p;
}

// x^(2^k) modulo the polynomial, for k = 0..31.
static uint32_t x2n_table[32];

__attribute__((constructor)) static void build_x2n_table(void) {
    uint32_t p = 1u << 30;  // x^1
    x2n_table[0] = p;
    for (int n = 1; n < 32; n++) x2n_table[n] = p = multmodp(p, p);
}

// x^(n * 2^k) modulo the polynomial.
static uint32_t x2nmodp(size_t n, unsigned k) {
    uint32_t p = 1u << 31;  // x^0
    while (n) {
        if (n & 1) p = multmodp(x2n_table[k & 31], p);
        n >>= 1;
        k++;
    }
    return p;
}

uint32_t dfs_crc32c_combine(uint32_t crc1, uint32_t crc2, size_t length2) {
    return multmodp(x2nmodp(length2, 3), crc1) ^ crc2;
}

#if defined(__x86_64__)
#include <cpuid.h>

// Below this, one stream; above, three interleaved streams hide the instruction's latency
// (one result every cycle instead of every three) and are joined by combining.
#define INTERLEAVE_MIN 4096

__attribute__((target("sse4.2"))) static uint32_t extend_hardware(uint32_t crc, const void *bytes, size_t length) {
    const uint8_t *p = (const uint8_t *)bytes;
    if (length >= INTERLEAVE_MIN) {
        size_t part = (length / 3) & ~(size_t)7;
        const uint8_t *a = p, *b = p + part, *c = p + 2 * part;
        uint64_t ca = ~crc, cb = 0xFFFFFFFFu, cc = 0xFFFFFFFFu;
        for (size_t i = 0; i < part; i += 8) {
            uint64_t wa, wb, wc;
            memcpy(&wa, a + i, 8);
            memcpy(&wb, b + i, 8);
            memcpy(&wc, c + i, 8);
            ca = __builtin_ia32_crc32di(ca, wa);
            cb = __builtin_ia32_crc32di(cb, wb);
            cc = __builtin_ia32_crc32di(cc, wc);
        }
        crc = dfs_crc32c_combine(~(uint32_t)ca, ~(uint32_t)cb, part);
        crc = dfs_crc32c_combine(crc, ~(uint32_t)cc, part);
        p += 3 * part;
        length -= 3 * part;
    }
    uint64_t crc64 = ~crc;
    while (length >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        crc64 = __builtin_ia32_crc32di(crc64, word);
        p += 8;
        length -= 8;
    }
    uint32_t crc32 = (uint32_t)crc64;
    while (length--) crc32 = __builtin_ia32_crc32qi(crc32, *p++);
    return ~crc32;
}

int dfs_crc32c_hardware_available(void) {
    unsigned int eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return 0;
    return (ecx & bit_SSE4_2) != 0;
}

uint32_t dfs_crc32c_extend(uint32_t crc, const void *bytes, size_t length) {
    static int hardware = -1;
    if (hardware < 0) hardware = dfs_crc32c_hardware_available();
    return hardware ? extend_hardware(crc, bytes, length) : dfs_crc32c_extend_portable(crc, bytes, length);
}
#else
int dfs_crc32c_hardware_available(void) { return 0; }

uint32_t dfs_crc32c_extend(uint32_t crc, const void *bytes, size_t length) {
    return dfs_crc32c_extend_portable(crc, bytes, length);
}
#endif
