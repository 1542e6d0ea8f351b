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

#if defined(__x86_64__)
#include <cpuid.h>

__attribute__((target("sse4.2"))) static uint32_t extend_hardware(uint32_t crc, const void *bytes, size_t length) {
    const uint8_t *p = (const uint8_t *)bytes;
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
