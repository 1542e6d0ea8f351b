#define _GNU_SOURCE
#include <unistd.h>
#include "csystem.h"

int dfs_syncfs(int fd) {
    return syncfs(fd);
}
