#ifndef DFS_CLIBPQ_SHIM_H
#define DFS_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#endif
