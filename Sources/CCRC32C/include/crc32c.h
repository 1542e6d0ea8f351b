#ifndef DFS_CRC32C_H
#define DFS_CRC32C_H
#include <stddef.h>
#include <stdint.h>

/// Extends a CRC32C (Castagnoli) over `length` bytes. Start with crc = 0.
/// Uses the SSE4.2 crc32 instruction when the CPU has it, else slicing-by-8 tables.
uint32_t dfs_crc32c_extend(uint32_t crc, const void *bytes, size_t length);

/// The same, always with the portable table code; for tests and CPUs without SSE4.2.
uint32_t dfs_crc32c_extend_portable(uint32_t crc, const void *bytes, size_t length);

/// The CRC32C of A followed by B, from crc1 = CRC32C(A), crc2 = CRC32C(B) and B's length.
uint32_t dfs_crc32c_combine(uint32_t crc1, uint32_t crc2, size_t length2);

/// 1 when the hardware instruction is used, else 0.
int dfs_crc32c_hardware_available(void);
#endif
