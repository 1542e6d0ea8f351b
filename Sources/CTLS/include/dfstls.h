#ifndef DFS_TLS_H
#define DFS_TLS_H

#include <stddef.h>
#include <stdint.h>

/// Plaintext bytes one dfs_tls_write takes at most, and the ciphertext buffer that holds
/// them as records until the socket takes them.
#define DFS_TLS_WRITE_MAX (64 * 1024)
#define DFS_TLS_WRITE_BUFFER (DFS_TLS_WRITE_MAX + 16 * 1024)

/// TLS 1.3 with an external pre-shared key (RFC 8446 section 2.2, OpenSSL's PSK session
/// callbacks): no certificates; both sides prove they hold the key inside a handshake that
/// also runs an (EC)DHE exchange, so every session has keys of its own.
typedef struct dfs_tls_context dfs_tls_context;
typedef struct dfs_tls dfs_tls;

enum {
    DFS_TLS_WANT_READ = -2,
    DFS_TLS_WANT_WRITE = -3,
    DFS_TLS_ERROR = -1,
    /// The peer closed the TCP connection without a TLS close_notify.
    DFS_TLS_EOF = -4,
};

/// A context for one side. `keys` holds `count` keys of `key_bytes` bytes each, with their
/// `identity_bytes`-byte identities: a client offers the first; a server accepts any.
/// NULL on failure, with a reason in `error`.
dfs_tls_context *dfs_tls_context_new(int server, const uint8_t *keys, size_t key_bytes, const uint8_t *identities,
                                     size_t identity_bytes, size_t count, char *error, size_t error_size);
void dfs_tls_context_free(dfs_tls_context *context);

/// A session over the connected, non-blocking socket `fd` (which stays the caller's).
dfs_tls *dfs_tls_new(dfs_tls_context *context, int fd);
void dfs_tls_free(dfs_tls *tls);

/// 1 when the handshake is done; DFS_TLS_WANT_READ or _WANT_WRITE; DFS_TLS_ERROR or DFS_TLS_EOF.
int dfs_tls_handshake(dfs_tls *tls);
/// Bytes read (> 0); 0 at the peer's close_notify; or one of the negative codes.
long dfs_tls_read(dfs_tls *tls, void *buffer, size_t count);
/// Bytes taken (> 0: all of them, up to DFS_TLS_WRITE_MAX); or a negative code. Records are
/// sent as far as the socket takes them; dfs_tls_flush sends the rest.
long dfs_tls_write(dfs_tls *tls, const void *buffer, size_t count);
/// 1 when everything written has been sent; DFS_TLS_WANT_WRITE while the socket is full;
/// DFS_TLS_EOF when it failed.
int dfs_tls_flush(dfs_tls *tls);
/// 1 when the session holds bytes read from the socket but not yet returned by dfs_tls_read.
int dfs_tls_has_pending(dfs_tls *tls);
/// Sends close_notify if the socket takes it at once; never waits.
void dfs_tls_shutdown(dfs_tls *tls);
/// The reason for the last DFS_TLS_ERROR or DFS_TLS_EOF of this session, as text.
void dfs_tls_last_error(dfs_tls *tls, char *buffer, size_t size);

#endif
