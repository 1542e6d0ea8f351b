// libfuse3's low-level (inode-based) API, at the version whose structures dfs fills in:
// 3.4 gives fuse_session_receive_buf/fuse_session_process_buf for a reader loop of our own,
// readdirplus, copy_file_range and the init capabilities dfs asks for.
#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>
// Extended attributes (not in Swift's Glibc module): the mount keeps its notes on the
// files it stages as attributes of those files.
#include <sys/xattr.h>
// mallopt: the mount process limits glibc's malloc arenas (see Mount.limitMallocArenas).
#include <malloc.h>
