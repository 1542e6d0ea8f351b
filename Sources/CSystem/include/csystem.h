#ifndef DFS_CSYSTEM_H
#define DFS_CSYSTEM_H

/// syncfs(2): writes back every dirty page and inode of the file system holding `fd`, with
/// one journal commit and one disk flush. Glibc declares it only under _GNU_SOURCE, which
/// Swift's Glibc module does not see.
int dfs_syncfs(int fd);
#endif
