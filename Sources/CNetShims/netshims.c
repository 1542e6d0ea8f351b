#define _GNU_SOURCE
#include "netshims.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <unistd.h>

int dfs_epoll_watching(int fd, int for_output) {
    int watcher = epoll_create1(EPOLL_CLOEXEC);
    if (watcher < 0) return -1;
    struct epoll_event event = { .events = for_output ? EPOLLOUT : EPOLLIN, .data = { .fd = fd } };
    if (epoll_ctl(watcher, EPOLL_CTL_ADD, fd, &event) != 0) {
        int saved = errno;
        close(watcher);
        errno = saved;
        return -1;
    }
    return watcher;
}

int dfs_accept_nonblocking(int fd, struct sockaddr *address, socklen_t *length) {
    return accept4(fd, address, length, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

int dfs_reserve_space(int fd, long long length) {
    return fallocate(fd, 0, 0, (off_t)length);
}

int dfs_start_writeback(int fd, long long offset, long long length) {
    return sync_file_range(fd, (off_t)offset, (off_t)length, SYNC_FILE_RANGE_WRITE);
}
