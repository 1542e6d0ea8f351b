#ifndef DFS_CSQLITE_SHIM_H
#define DFS_CSQLITE_SHIM_H
#include <sqlite3.h>

/// SQLITE_TRANSIENT is a macro of a cast function pointer, which Swift cannot import.
static inline sqlite3_destructor_type dfs_sqlite_transient(void) {
    return SQLITE_TRANSIENT;
}
#endif
