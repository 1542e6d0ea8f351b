#ifndef DFS_NETSHIMS_H
#define DFS_NETSHIMS_H
/// The Linux calls the Glibc module does not export, each a thin C wrapper: epoll and
/// accept4 for DFSNet's sockets, fallocate and sync_file_range for DFSSystem's files.
/// (Named for its first use, the network; it serves the whole system-call layer.)
#include <sys/socket.h>

/// A close-on-exec epoll instance that watches `fd`, level-triggered, for input
/// (`for_output` 0) or for room to write (`for_output` 1). The instance is readable exactly
/// while `fd` is ready that way, has an error or has hung up, but it never reports a hang-up
/// itself. Returns the new descriptor, or -1 with errno set.
int dfs_epoll_watching(int fd, int for_output);

/// accept4(2) with SOCK_NONBLOCK | SOCK_CLOEXEC, which the Glibc module does not export.
int dfs_accept_nonblocking(int fd, struct sockaddr *address, socklen_t *length);

/// fallocate(2) with mode 0: reserves `length` bytes from 0 without writing them. Returns 0,
/// or -1 with errno set (EOPNOTSUPP where the file system cannot; glibc's posix_fallocate
/// would then write zeros instead, which this never does).
int dfs_reserve_space(int fd, long long length);

/// sync_file_range(2) with SYNC_FILE_RANGE_WRITE: starts writing the range's dirty pages to
/// the device without waiting for them and without flushing the device's cache, so it makes
/// nothing durable. Returns 0, or -1 with errno set.
int dfs_start_writeback(int fd, long long offset, long long length);
#endif
