#include "dfstls.h"

#include <errno.h>
#include <openssl/err.h>
#include <pthread.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct dfs_tls_context {
    SSL_CTX *ctx;
    int server;
    size_t count;
    size_t key_bytes;
    size_t identity_bytes;
    uint8_t *keys;
    uint8_t *identities;
};

struct dfs_tls {
    SSL *ssl;
    /// Records OpenSSL writes go into a BIO pair (`ssl`'s end) and leave through this end,
    /// many records per send(2) instead of a system call per 16 KiB record.
    BIO *network;
    int fd;
    /// Why the last call failed, kept at once: OpenSSL's error queue belongs to the thread,
    /// and the caller may read it from another.
    char reason[256];
};

static int context_index = -1;
static pthread_once_t context_index_once = PTHREAD_ONCE_INIT;

static void make_context_index(void) { context_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL); }

/// TLS_AES_128_GCM_SHA256: the PSK's hash must be the suite's (SHA-256).
static const unsigned char suite_id[2] = {0x13, 0x01};

static SSL_SESSION *session_for(SSL *ssl, const uint8_t *key, size_t key_bytes) {
    const SSL_CIPHER *cipher = SSL_CIPHER_find(ssl, suite_id);
    if (cipher == NULL) return NULL;
    SSL_SESSION *session = SSL_SESSION_new();
    if (session == NULL) return NULL;
    if (!SSL_SESSION_set1_master_key(session, key, key_bytes) || !SSL_SESSION_set_cipher(session, cipher) ||
        !SSL_SESSION_set_protocol_version(session, TLS1_3_VERSION)) {
        SSL_SESSION_free(session);
        return NULL;
    }
    return session;
}

static int client_session(SSL *ssl, const EVP_MD *md, const unsigned char **id, size_t *id_len, SSL_SESSION **session) {
    dfs_tls_context *context = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), context_index);
    *session = NULL;
    if (context == NULL || context->count == 0) return 0;
    // After a HelloRetryRequest OpenSSL asks again with the suite's hash: ours is SHA-256.
    if (md != NULL && md != EVP_sha256()) return 1;
    SSL_SESSION *made = session_for(ssl, context->keys, context->key_bytes);
    if (made == NULL) return 0;
    *id = context->identities;
    *id_len = context->identity_bytes;
    *session = made;
    return 1;
}

static int server_session(SSL *ssl, const unsigned char *id, size_t id_len, SSL_SESSION **session) {
    dfs_tls_context *context = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), context_index);
    *session = NULL;
    if (context == NULL || id_len != context->identity_bytes) return 1;
    for (size_t index = 0; index < context->count; index++) {
        if (CRYPTO_memcmp(id, context->identities + index * context->identity_bytes, id_len) == 0) {
            *session = session_for(ssl, context->keys + index * context->key_bytes, context->key_bytes);
            return *session == NULL ? 0 : 1;
        }
    }
    // Unknown identity: the handshake goes on without a key, and fails (no certificate).
    return 1;
}

static void describe_errors(char *buffer, size_t size) {
    unsigned long code = ERR_get_error();
    if (code == 0) {
        snprintf(buffer, size, "unknown TLS error");
    } else {
        ERR_error_string_n(code, buffer, size);
    }
    ERR_clear_error();
}

dfs_tls_context *dfs_tls_context_new(int server, const uint8_t *keys, size_t key_bytes, const uint8_t *identities,
                                     size_t identity_bytes, size_t count, char *error, size_t error_size) {
    if (count == 0 || key_bytes == 0 || key_bytes > SSL_MAX_MASTER_KEY_LENGTH || identity_bytes == 0) {
        snprintf(error, error_size, "a TLS context needs at least one key of 1 to %d bytes and an identity",
                 SSL_MAX_MASTER_KEY_LENGTH);
        return NULL;
    }
    pthread_once(&context_index_once, make_context_index);
    if (context_index < 0) {
        describe_errors(error, error_size);
        return NULL;
    }
    dfs_tls_context *context = calloc(1, sizeof *context);
    if (context == NULL) return NULL;
    context->server = server;
    context->count = count;
    context->key_bytes = key_bytes;
    context->identity_bytes = identity_bytes;
    context->keys = malloc(count * key_bytes);
    context->identities = malloc(count * identity_bytes);
    context->ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    if (context->keys == NULL || context->identities == NULL || context->ctx == NULL) {
        describe_errors(error, error_size);
        dfs_tls_context_free(context);
        return NULL;
    }
    memcpy(context->keys, keys, count * key_bytes);
    memcpy(context->identities, identities, count * identity_bytes);
    SSL_CTX *ctx = context->ctx;
    if (!SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) || !SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256") ||
        !SSL_CTX_set_ex_data(ctx, context_index, context)) {
        describe_errors(error, error_size);
        dfs_tls_context_free(context);
        return NULL;
    }
    // A write sends every record of its buffer in one call (or comes back, when the socket
    // is full, to be offered the same bytes again from wherever the caller holds them then);
    // idle sessions give back their buffers. Reads take as many records as one read(2) of
    // the buffer below brings, instead of a record header and a record body apiece.
    SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_read_ahead(ctx, 1);
    SSL_CTX_set_default_read_buffer_len(ctx, 64 * 1024);
    // No session tickets: every connection proves the key again.
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    if (server) {
        SSL_CTX_set_num_tickets(ctx, 0);
        SSL_CTX_set_psk_find_session_callback(ctx, server_session);
    } else {
        SSL_CTX_set_psk_use_session_callback(ctx, client_session);
    }
    return context;
}

void dfs_tls_context_free(dfs_tls_context *context) {
    if (context == NULL) return;
    if (context->ctx != NULL) SSL_CTX_free(context->ctx);
    if (context->keys != NULL) OPENSSL_cleanse(context->keys, context->count * context->key_bytes);
    free(context->keys);
    free(context->identities);
    free(context);
}

dfs_tls *dfs_tls_new(dfs_tls_context *context, int fd) {
    dfs_tls *tls = calloc(1, sizeof *tls);
    if (tls == NULL) return NULL;
    tls->fd = fd;
    BIO *internal = NULL;
    BIO *reader = BIO_new_socket(fd, BIO_NOCLOSE);
    tls->ssl = SSL_new(context->ctx);
    if (tls->ssl == NULL || reader == NULL || !BIO_new_bio_pair(&internal, DFS_TLS_WRITE_BUFFER, &tls->network, 0)) {
        if (tls->ssl != NULL) SSL_free(tls->ssl);
        if (reader != NULL) BIO_free(reader);
        free(tls);
        ERR_clear_error();
        return NULL;
    }
    SSL_set_bio(tls->ssl, reader, internal);
    if (context->server) {
        SSL_set_accept_state(tls->ssl);
    } else {
        SSL_set_connect_state(tls->ssl);
    }
    return tls;
}

void dfs_tls_free(dfs_tls *tls) {
    if (tls == NULL) return;
    SSL_free(tls->ssl);
    BIO_free(tls->network);
    free(tls);
}

/// Sends what OpenSSL has written and the socket takes: 1 when nothing is left, 0 when the
/// socket is full, -1 when it failed (the reason kept).
static int flush_output(dfs_tls *tls) {
    for (;;) {
        char *data = NULL;
        int count = BIO_nread0(tls->network, &data);
        if (count <= 0) return 1;
        ssize_t sent = send(tls->fd, data, (size_t)count, MSG_NOSIGNAL);
        if (sent < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
            snprintf(tls->reason, sizeof tls->reason, "%s", strerror(errno));
            return -1;
        }
        BIO_nread(tls->network, &data, (int)sent);
    }
}

int dfs_tls_flush(dfs_tls *tls) {
    int flushed = flush_output(tls);
    if (flushed < 0) return DFS_TLS_EOF;
    return flushed == 1 ? 1 : DFS_TLS_WANT_WRITE;
}

/// Maps OpenSSL's outcome of a call that returned `result` to the codes above.
static long outcome(dfs_tls *tls, int result) {
    int reason = SSL_get_error(tls->ssl, result);
    switch (reason) {
    case SSL_ERROR_WANT_READ:
        return DFS_TLS_WANT_READ;
    case SSL_ERROR_WANT_WRITE:
        return DFS_TLS_WANT_WRITE;
    case SSL_ERROR_ZERO_RETURN:
        return 0;
    case SSL_ERROR_SYSCALL:
        if (ERR_peek_error() == 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) return DFS_TLS_WANT_READ;
            if (errno == 0) {
                snprintf(tls->reason, sizeof tls->reason, "the connection ended in the middle of the TLS session");
            } else {
                snprintf(tls->reason, sizeof tls->reason, "%s", strerror(errno));
            }
            ERR_clear_error();
            return DFS_TLS_EOF;
        }
        describe_errors(tls->reason, sizeof tls->reason);
        return DFS_TLS_ERROR;
    default:
        describe_errors(tls->reason, sizeof tls->reason);
        return DFS_TLS_ERROR;
    }
}

int dfs_tls_handshake(dfs_tls *tls) {
    int flushed = flush_output(tls);
    if (flushed < 0) return DFS_TLS_EOF;
    if (flushed == 0) return DFS_TLS_WANT_WRITE;
    ERR_clear_error();
    int result = SSL_do_handshake(tls->ssl);
    long code = result == 1 ? 1 : outcome(tls, result);
    // What the step wrote must reach the peer before anything else is waited for.
    flushed = flush_output(tls);
    if (flushed < 0) return DFS_TLS_EOF;
    if (flushed == 0 && (code == 1 || code == DFS_TLS_WANT_READ)) return DFS_TLS_WANT_WRITE;
    return (int)code;
}

long dfs_tls_read(dfs_tls *tls, void *buffer, size_t count) {
    ERR_clear_error();
    size_t read = 0;
    int result = SSL_read_ex(tls->ssl, buffer, count, &read);
    long code = result == 1 ? (long)read : outcome(tls, result);
    // A read may have made OpenSSL answer something (a key update): sent if the socket takes it.
    (void)flush_output(tls);
    return code;
}

long dfs_tls_write(dfs_tls *tls, const void *buffer, size_t count) {
    int flushed = flush_output(tls);
    if (flushed < 0) return DFS_TLS_EOF;
    if (flushed == 0) return DFS_TLS_WANT_WRITE;
    if (count > DFS_TLS_WRITE_MAX) count = DFS_TLS_WRITE_MAX;
    ERR_clear_error();
    size_t written = 0;
    int result = SSL_write_ex(tls->ssl, buffer, count, &written);
    if (result != 1) return outcome(tls, result);
    // Sent now as far as the socket takes it; the rest by the next write or flush.
    if (flush_output(tls) < 0) return DFS_TLS_EOF;
    return (long)written;
}

int dfs_tls_has_pending(dfs_tls *tls) { return SSL_has_pending(tls->ssl); }

void dfs_tls_shutdown(dfs_tls *tls) {
    ERR_clear_error();
    if (SSL_is_init_finished(tls->ssl)) SSL_shutdown(tls->ssl);
    ERR_clear_error();
    flush_output(tls);
}

void dfs_tls_last_error(dfs_tls *tls, char *buffer, size_t size) {
    snprintf(buffer, size, "%s", tls->reason[0] != 0 ? tls->reason : "unknown TLS error");
}
