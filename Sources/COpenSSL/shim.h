// OpenSSL (Debian: libssl-dev) for vpopmaild's TLS listener.
#include <openssl/ssl.h>
#include <openssl/err.h>

static inline long vpop_ssl_ctx_min_tls12(SSL_CTX *ctx) { return SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION); }
