/*
 * fleetpki's DTLS 1.2 server plumbing: OpenSSL (the copy Node's binary exports) driven through
 * memory, one datagram in and the datagrams it produces out. No socket, no timer, no policy:
 * JavaScript owns the UDP socket, the retransmission and deadline timers, the cookie secret and
 * every trust decision. This file only moves bytes and asks OpenSSL.
 *
 * Datagram boundaries: DTLS must see one datagram per read and write (RFC 6347 §4.1.1), so
 * reads go through a memory BIO fed one datagram at a time, and writes through a tiny BIO that
 * keeps each BIO_write as its own datagram.
 */
#include <node_api.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <string.h>

/* Bounds: datagrams one call may produce (a flight is a handful), cookies accepted per call. */
#define MAX_OUT_DATAGRAMS 32
#define MAX_COOKIES 2
#define MAX_COOKIE_LEN 32
#define MAX_PSK_LEN 64
#define MAX_PSK_IDENTITY 128
#define MAX_DATAGRAM 16384
/* Data MTU: keeps every flight fragment inside an IPv6 minimum-MTU path (RFC 6347 §4.1.1.1). */
#define DTLS_DATA_MTU 1200

typedef struct {
  SSL *ssl;
  unsigned char *out[MAX_OUT_DATAGRAMS];
  size_t out_len[MAX_OUT_DATAGRAMS];
  int out_count;
  unsigned char cookies[MAX_COOKIES][MAX_COOKIE_LEN];
  unsigned int cookie_len[MAX_COOKIES];
  int cookie_count;
  unsigned char psk[MAX_PSK_LEN];
  unsigned int psk_len;
  char psk_identity[MAX_PSK_IDENTITY + 1];
  int psk_set;
} session_t;

static BIO_METHOD *datagram_method = NULL;

#define CHECK(call)                                                      \
  do {                                                                   \
    if ((call) != napi_ok) {                                             \
      napi_throw_error(env, "DTLS_NAPI", "N-API call failed: " #call);   \
      return NULL;                                                       \
    }                                                                    \
  } while (0)

/* ---- the write BIO: each write is one datagram ---- */

static int datagram_write(BIO *bio, const char *data, int len) {
  session_t *s = BIO_get_data(bio);
  if (s == NULL || len <= 0) return len;
  /* Over the bound the datagram is dropped; DTLS retransmission recovers a lost flight. */
  if (s->out_count >= MAX_OUT_DATAGRAMS) return len;
  unsigned char *copy = malloc((size_t)len);
  if (copy == NULL) return -1;
  memcpy(copy, data, (size_t)len);
  s->out[s->out_count] = copy;
  s->out_len[s->out_count] = (size_t)len;
  s->out_count++;
  return len;
}

static long datagram_ctrl(BIO *bio, int cmd, long num, void *ptr) {
  (void)bio;
  (void)num;
  (void)ptr;
  switch (cmd) {
    case BIO_CTRL_FLUSH:
      return 1;
    default:
      return 0;
  }
}

static int datagram_create(BIO *bio) {
  BIO_set_init(bio, 1);
  return 1;
}

static void free_out(session_t *s) {
  for (int i = 0; i < s->out_count; i++) free(s->out[i]);
  s->out_count = 0;
}

/* ---- OpenSSL callbacks: they read what JavaScript decided ---- */

static int generate_cookie(SSL *ssl, unsigned char *cookie, unsigned int *len) {
  session_t *s = SSL_get_app_data(ssl);
  if (s == NULL || s->cookie_count == 0) return 0;
  memcpy(cookie, s->cookies[0], s->cookie_len[0]);
  *len = s->cookie_len[0];
  return 1;
}

static int verify_cookie(SSL *ssl, const unsigned char *cookie, unsigned int len) {
  session_t *s = SSL_get_app_data(ssl);
  if (s == NULL) return 0;
  for (int i = 0; i < s->cookie_count; i++) {
    if (len == s->cookie_len[i] && CRYPTO_memcmp(cookie, s->cookies[i], len) == 0) return 1;
  }
  return 0;
}

static unsigned int psk_for_identity(SSL *ssl, const char *identity, unsigned char *psk, unsigned int max_len) {
  session_t *s = SSL_get_app_data(ssl);
  if (s == NULL || !s->psk_set || identity == NULL) return 0;
  if (strcmp(identity, s->psk_identity) != 0 || s->psk_len > max_len) return 0;
  memcpy(psk, s->psk, s->psk_len);
  return s->psk_len;
}

/* The trust decision is made in JavaScript from the chain the client sent; OpenSSL still checks
 * the CertificateVerify signature, which is the proof the client holds the leaf's key. */
/*
 * OpenSSL 3.2 and later put the CCM_8 suites (64-bit tag) below security level 1, so the default
 * level would drop Golioth's ECDHE-ECDSA-AES128-CCM8 and PSK-AES128-CCM8, which constrained
 * devices use (RFC 7925 §4.1 names TLS_PSK_WITH_AES_128_CCM_8 as the IoT profile's mandatory
 * suite). This callback admits exactly those suites and leaves every other decision (key sizes,
 * signature algorithms, other ciphers) to OpenSSL's default at the default level.
 */
static int (*default_security_callback)(const SSL *, const SSL_CTX *, int, int, int, void *, void *);

static int allow_ccm8_suites(const SSL *ssl, const SSL_CTX *ctx, int op, int bits, int nid, void *other, void *ex) {
  if ((op & SSL_SECOP_OTHER_TYPE) == SSL_SECOP_OTHER_CIPHER && other != NULL) {
    const SSL_CIPHER *cipher = other;
    uint32_t id = SSL_CIPHER_get_id(cipher) & 0xffff;
    /* RFC 7251 / RFC 6655: TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8 (0xC0AE), TLS_PSK_WITH_AES_128_CCM_8 (0xC0A8). */
    if (id == 0xC0AE || id == 0xC0A8) return 1;
  }
  return default_security_callback(ssl, ctx, op, bits, nid, other, ex);
}

static int accept_any_chain(int ok, X509_STORE_CTX *ctx) {
  (void)ok;
  (void)ctx;
  return 1;
}

/* ---- helpers ---- */

static void free_session(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  session_t *s = data;
  if (s->ssl != NULL) SSL_free(s->ssl);
  free_out(s);
  OPENSSL_cleanse(s->psk, sizeof s->psk);
  free(s);
}

static void free_context(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  SSL_CTX_free(data);
}

static session_t *session_arg(napi_env env, napi_value value) {
  void *data = NULL;
  if (napi_get_value_external(env, value, &data) != napi_ok || data == NULL) {
    napi_throw_type_error(env, "DTLS_ARGUMENT", "expected a DTLS session");
    return NULL;
  }
  session_t *s = data;
  if (s->ssl == NULL) {
    napi_throw_error(env, "DTLS_FREED", "the DTLS session was freed");
    return NULL;
  }
  return s;
}

static int buffer_arg(napi_env env, napi_value value, void **data, size_t *len) {
  bool is_buffer = false;
  if (napi_is_buffer(env, value, &is_buffer) != napi_ok || !is_buffer || napi_get_buffer_info(env, value, data, len) != napi_ok) {
    napi_throw_type_error(env, "DTLS_ARGUMENT", "expected a Buffer");
    return 0;
  }
  return 1;
}

/* The result of one call: { out: Buffer[], data: Buffer[], state, reason, alert }. */
static napi_value result_object(napi_env env, session_t *s, napi_value data, const char *state, unsigned long err) {
  /* The addon runs on Node's own OpenSSL, whose error queue is per thread: an error left there
   * would be read by the next crypto call of the JavaScript (Node 24 fails createPrivateKey
   * with a stale "no shared cipher"). `err` was taken from the queue; nothing else is needed. */
  ERR_clear_error();
  napi_value result, out, value;
  CHECK(napi_create_object(env, &result));
  CHECK(napi_create_array_with_length(env, (size_t)s->out_count, &out));
  for (int i = 0; i < s->out_count; i++) {
    CHECK(napi_create_buffer_copy(env, s->out_len[i], s->out[i], NULL, &value));
    CHECK(napi_set_element(env, out, (uint32_t)i, value));
  }
  free_out(s);
  CHECK(napi_set_named_property(env, result, "out", out));
  if (data == NULL) CHECK(napi_create_array(env, &data));
  CHECK(napi_set_named_property(env, result, "data", data));
  CHECK(napi_create_string_utf8(env, state, NAPI_AUTO_LENGTH, &value));
  CHECK(napi_set_named_property(env, result, "state", value));
  CHECK(napi_create_uint32(env, (uint32_t)ERR_GET_REASON(err), &value));
  CHECK(napi_set_named_property(env, result, "reason", value));
  const char *text = err != 0 ? ERR_reason_error_string(err) : NULL;
  CHECK(napi_create_string_utf8(env, text != NULL ? text : "", NAPI_AUTO_LENGTH, &value));
  CHECK(napi_set_named_property(env, result, "reasonText", value));
  return result;
}

/* ---- exported functions ---- */

/* createContext(certChainPem: Buffer, keyPem: Buffer, cipherList: string, client?: boolean)
 * The client role exists for the load generator of `npm run bench:coap` and for tests. */
static napi_value create_context(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  void *cert_pem, *key_pem;
  size_t cert_len, key_len;
  char ciphers[1024];
  size_t ciphers_len;
  if (argc < 3 || !buffer_arg(env, argv[0], &cert_pem, &cert_len) || !buffer_arg(env, argv[1], &key_pem, &key_len)) return NULL;
  CHECK(napi_get_value_string_utf8(env, argv[2], ciphers, sizeof ciphers, &ciphers_len));
  bool client = false;
  if (argc >= 4) CHECK(napi_get_value_bool(env, argv[3], &client));

  SSL_CTX *ctx = SSL_CTX_new(client ? DTLS_client_method() : DTLS_server_method());
  if (ctx == NULL) {
    napi_throw_error(env, "DTLS_CONTEXT", "SSL_CTX_new failed");
    return NULL;
  }
  if (default_security_callback == NULL) default_security_callback = SSL_CTX_get_security_callback(ctx);
  SSL_CTX_set_security_callback(ctx, allow_ccm8_suites);
  int ok = SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION) && SSL_CTX_set_max_proto_version(ctx, DTLS1_2_VERSION) &&
           SSL_CTX_set_cipher_list(ctx, ciphers);
  BIO *bio = BIO_new_mem_buf(cert_pem, (int)cert_len);
  X509 *leaf = bio != NULL ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
  ok = ok && leaf != NULL && SSL_CTX_use_certificate(ctx, leaf);
  X509_free(leaf);
  while (ok) {
    X509 *extra = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    if (extra == NULL) break;
    if (!SSL_CTX_add0_chain_cert(ctx, extra)) {
      X509_free(extra);
      ok = 0;
    }
  }
  BIO_free(bio);
  ERR_clear_error(); /* the end of the PEM bundle is reported as an error */
  BIO *key_bio = BIO_new_mem_buf(key_pem, (int)key_len);
  EVP_PKEY *key = key_bio != NULL ? PEM_read_bio_PrivateKey(key_bio, NULL, NULL, NULL) : NULL;
  ok = ok && key != NULL && SSL_CTX_use_PrivateKey(ctx, key) && SSL_CTX_check_private_key(ctx);
  EVP_PKEY_free(key);
  BIO_free(key_bio);
  if (!ok) {
    SSL_CTX_free(ctx);
    ERR_clear_error();
    napi_throw_error(env, "DTLS_CONTEXT", "the server certificate, key or cipher list was refused by OpenSSL");
    return NULL;
  }
  /* Every connection is a full handshake that authenticates the device afresh: a resumed session
   * carries no client chain (as on the HTTPS gateway). No renegotiation either: a peer must not
   * swap its identity inside a session. */
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_QUERY_MTU);
  SSL_CTX_set_read_ahead(ctx, 1);
  if (!client) {
    SSL_CTX_set_options(ctx, SSL_OP_COOKIE_EXCHANGE);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, accept_any_chain);
    SSL_CTX_set_cookie_generate_cb(ctx, generate_cookie);
    SSL_CTX_set_cookie_verify_cb(ctx, verify_cookie);
    SSL_CTX_set_psk_server_callback(ctx, psk_for_identity);
  }

  napi_value external;
  if (napi_create_external(env, ctx, free_context, NULL, &external) != napi_ok) {
    SSL_CTX_free(ctx);
    napi_throw_error(env, "DTLS_NAPI", "napi_create_external failed");
    return NULL;
  }
  return external;
}

/* createSession(context) */
static napi_value create_session(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  void *ctx = NULL;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || napi_get_value_external(env, argv[0], &ctx) != napi_ok || ctx == NULL) {
    napi_throw_type_error(env, "DTLS_ARGUMENT", "expected a DTLS context");
    return NULL;
  }
  session_t *s = calloc(1, sizeof *s);
  if (s == NULL) {
    napi_throw_error(env, "DTLS_MEMORY", "out of memory");
    return NULL;
  }
  s->ssl = SSL_new(ctx);
  BIO *rbio = BIO_new(BIO_s_mem());
  BIO *wbio = BIO_new(datagram_method);
  if (s->ssl == NULL || rbio == NULL || wbio == NULL) {
    BIO_free(rbio);
    BIO_free(wbio);
    if (s->ssl != NULL) SSL_free(s->ssl);
    free(s);
    napi_throw_error(env, "DTLS_MEMORY", "SSL_new failed");
    return NULL;
  }
  BIO_set_mem_eof_return(rbio, -1);
  BIO_set_data(wbio, s);
  SSL_set_bio(s->ssl, rbio, wbio);
  SSL_set_app_data(s->ssl, s);
  SSL_set_mtu(s->ssl, DTLS_DATA_MTU);
  SSL_set_accept_state(s->ssl);
  napi_value external;
  if (napi_create_external(env, s, free_session, NULL, &external) != napi_ok) {
    free_session(env, s, NULL);
    napi_throw_error(env, "DTLS_NAPI", "napi_create_external failed");
    return NULL;
  }
  return external;
}

/* Runs the handshake or reads application data, after input or a timer. */
static napi_value drive(napi_env env, session_t *s) {
  ERR_clear_error();
  if (!SSL_is_init_finished(s->ssl)) {
    int rc = SSL_do_handshake(s->ssl);
    if (rc <= 0) {
      int code = SSL_get_error(s->ssl, rc);
      if (code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE) return result_object(env, s, NULL, "handshaking", 0);
      return result_object(env, s, NULL, "failed", ERR_peek_last_error());
    }
  }
  napi_value data, value;
  CHECK(napi_create_array(env, &data));
  uint32_t count = 0;
  unsigned char buf[MAX_DATAGRAM];
  /* Bound: one datagram holds at most a few records; stop after MAX_OUT_DATAGRAMS reads. */
  for (int i = 0; i < MAX_OUT_DATAGRAMS; i++) {
    int n = SSL_read(s->ssl, buf, sizeof buf);
    if (n > 0) {
      CHECK(napi_create_buffer_copy(env, (size_t)n, buf, NULL, &value));
      CHECK(napi_set_element(env, data, count++, value));
      continue;
    }
    int code = SSL_get_error(s->ssl, n);
    if (code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE) break;
    if (code == SSL_ERROR_ZERO_RETURN) return result_object(env, s, data, "closed", 0);
    return result_object(env, s, data, "failed", ERR_peek_last_error());
  }
  return result_object(env, s, data, "established", 0);
}

/*
 * listen(session, datagram, cookies: Buffer[]) — RFC 6347 §4.2.1: a ClientHello without a valid
 * cookie gets a HelloVerifyRequest and no state is kept (the session object is reused for the next
 * datagram). With a valid cookie the handshake goes on in this session: state "handshaking".
 */
static napi_value listen_datagram(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3) {
    napi_throw_type_error(env, "DTLS_ARGUMENT", "listen(session, datagram, cookies)");
    return NULL;
  }
  session_t *s = session_arg(env, argv[0]);
  void *packet;
  size_t packet_len;
  if (s == NULL || !buffer_arg(env, argv[1], &packet, &packet_len)) return NULL;
  uint32_t cookies = 0;
  CHECK(napi_get_array_length(env, argv[2], &cookies));
  s->cookie_count = 0;
  for (uint32_t i = 0; i < cookies && i < MAX_COOKIES; i++) {
    napi_value item;
    void *cookie;
    size_t cookie_len;
    CHECK(napi_get_element(env, argv[2], i, &item));
    if (!buffer_arg(env, item, &cookie, &cookie_len)) return NULL;
    if (cookie_len == 0 || cookie_len > MAX_COOKIE_LEN) {
      napi_throw_range_error(env, "DTLS_ARGUMENT", "a cookie is 1 to 32 bytes");
      return NULL;
    }
    memcpy(s->cookies[i], cookie, cookie_len);
    s->cookie_len[i] = (unsigned int)cookie_len;
    s->cookie_count++;
  }
  if (packet_len == 0 || packet_len > MAX_DATAGRAM) return result_object(env, s, NULL, "listening", 0);
  BIO *rbio = SSL_get_rbio(s->ssl);
  (void)BIO_reset(rbio);
  BIO_write(rbio, packet, (int)packet_len);
  BIO_ADDR *peer = BIO_ADDR_new();
  ERR_clear_error();
  int rc = peer != NULL ? DTLSv1_listen(s->ssl, peer) : -1;
  BIO_ADDR_free(peer);
  (void)BIO_reset(rbio); /* whatever DTLSv1_listen did not take is dropped, not kept */
  if (rc <= 0) return result_object(env, s, NULL, "listening", 0);
  return drive(env, s);
}

/* connect(session): the client role's first flight (ClientHello) */
static napi_value connect_session(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  session_t *s = argc >= 1 ? session_arg(env, argv[0]) : NULL;
  if (s == NULL) return NULL;
  SSL_set_connect_state(s->ssl);
  return drive(env, s);
}

/* feed(session, datagram) */
static napi_value feed(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2) {
    napi_throw_type_error(env, "DTLS_ARGUMENT", "feed(session, datagram)");
    return NULL;
  }
  session_t *s = session_arg(env, argv[0]);
  void *packet;
  size_t packet_len;
  if (s == NULL || !buffer_arg(env, argv[1], &packet, &packet_len)) return NULL;
  if (packet_len > MAX_DATAGRAM) return result_object(env, s, NULL, SSL_is_init_finished(s->ssl) ? "established" : "handshaking", 0);
  BIO *rbio = SSL_get_rbio(s->ssl);
  (void)BIO_reset(rbio);
  if (packet_len > 0) BIO_write(rbio, packet, (int)packet_len);
  napi_value result = drive(env, s);
  (void)BIO_reset(rbio);
  return result;
}

/* write(session, plaintext) -> { out } */
static napi_value write_data(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  session_t *s = argc >= 2 ? session_arg(env, argv[0]) : NULL;
  void *data;
  size_t len;
  if (s == NULL || !buffer_arg(env, argv[1], &data, &len)) return NULL;
  ERR_clear_error();
  if (!SSL_is_init_finished(s->ssl) || len == 0 || len > MAX_DATAGRAM) return result_object(env, s, NULL, "failed", 0);
  int n = SSL_write(s->ssl, data, (int)len);
  return result_object(env, s, NULL, n == (int)len ? "established" : "failed", n > 0 ? 0 : ERR_peek_last_error());
}

/* timeout(session) -> milliseconds until OpenSSL wants its retransmission timer, or -1 */
static napi_value timeout_ms(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], value;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  session_t *s = argc >= 1 ? session_arg(env, argv[0]) : NULL;
  if (s == NULL) return NULL;
  struct timeval tv;
  double ms = DTLSv1_get_timeout(s->ssl, &tv) == 1 ? (double)tv.tv_sec * 1000.0 + (double)tv.tv_usec / 1000.0 : -1.0;
  CHECK(napi_create_double(env, ms, &value));
  return value;
}

/* handleTimeout(session) -> { out }: RFC 6347 §4.2.4 retransmission of the last flight */
static napi_value handle_timeout(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  session_t *s = argc >= 1 ? session_arg(env, argv[0]) : NULL;
  if (s == NULL) return NULL;
  ERR_clear_error();
  int rc = DTLSv1_handle_timeout(s->ssl);
  return result_object(env, s, NULL, rc < 0 ? "failed" : "handshaking", rc < 0 ? ERR_peek_last_error() : 0);
}

/* shutdown(session) -> { out }: a close_notify alert */
static napi_value shutdown_session(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  session_t *s = argc >= 1 ? session_arg(env, argv[0]) : NULL;
  if (s == NULL) return NULL;
  ERR_clear_error();
  if (SSL_is_init_finished(s->ssl)) (void)SSL_shutdown(s->ssl);
  ERR_clear_error();
  return result_object(env, s, NULL, "closed", 0);
}

/* free(session): releases OpenSSL's state now rather than at garbage collection */
static napi_value free_now(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  void *data = NULL;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc >= 1 && napi_get_value_external(env, argv[0], &data) == napi_ok && data != NULL) {
    session_t *s = data;
    if (s->ssl != NULL) SSL_free(s->ssl);
    s->ssl = NULL;
    free_out(s);
    OPENSSL_cleanse(s->psk, sizeof s->psk);
  }
  return NULL;
}

/* peerChain(session) -> Buffer[] (DER, leaf first, exactly as the client sent them) */
static napi_value peer_chain(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], chain, value;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  session_t *s = argc >= 1 ? session_arg(env, argv[0]) : NULL;
  if (s == NULL) return NULL;
  CHECK(napi_create_array(env, &chain));
  uint32_t count = 0;
  X509 *leaf = SSL_get0_peer_certificate(s->ssl);
  /* On a server the stack holds the certificates after the leaf (SSL_get_peer_cert_chain(3)). */
  STACK_OF(X509) *rest = SSL_get_peer_cert_chain(s->ssl);
  int n = rest != NULL ? sk_X509_num(rest) : 0;
  for (int i = -1; i < n && count < 8; i++) {
    X509 *cert = i < 0 ? leaf : sk_X509_value(rest, i);
    if (cert == NULL) continue;
    if (i >= 0 && leaf != NULL && X509_cmp(cert, leaf) == 0) continue;
    unsigned char *der = NULL;
    int len = i2d_X509(cert, &der);
    if (len <= 0) continue;
    napi_status status = napi_create_buffer_copy(env, (size_t)len, der, NULL, &value);
    OPENSSL_free(der);
    CHECK(status);
    CHECK(napi_set_element(env, chain, count++, value));
  }
  return chain;
}

/* pendingKeyExchange(session) -> "psk" | "ecdhe" | "" (the suite chosen in ServerHello) */
static napi_value pending_key_exchange(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], value;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  session_t *s = argc >= 1 ? session_arg(env, argv[0]) : NULL;
  if (s == NULL) return NULL;
  const SSL_CIPHER *cipher = SSL_get_pending_cipher(s->ssl);
  if (cipher == NULL) cipher = SSL_get_current_cipher(s->ssl);
  int kx = cipher != NULL ? SSL_CIPHER_get_kx_nid(cipher) : NID_undef;
  const char *kind = kx == NID_kx_psk ? "psk" : kx == NID_kx_ecdhe ? "ecdhe" : "";
  CHECK(napi_create_string_utf8(env, kind, NAPI_AUTO_LENGTH, &value));
  return value;
}

/* setPsk(session, identity: string, key: Buffer | null): the key JavaScript found for the identity */
static napi_value set_psk(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  session_t *s = argc >= 3 ? session_arg(env, argv[0]) : NULL;
  if (s == NULL) return NULL;
  size_t len = 0;
  CHECK(napi_get_value_string_utf8(env, argv[1], s->psk_identity, sizeof s->psk_identity, &len));
  napi_valuetype type;
  CHECK(napi_typeof(env, argv[2], &type));
  s->psk_set = 0;
  if (type == napi_null) return NULL;
  void *key;
  size_t key_len;
  if (!buffer_arg(env, argv[2], &key, &key_len)) return NULL;
  if (key_len == 0 || key_len > MAX_PSK_LEN) {
    napi_throw_range_error(env, "DTLS_ARGUMENT", "a pre-shared key is 1 to 64 bytes");
    return NULL;
  }
  memcpy(s->psk, key, key_len);
  s->psk_len = (unsigned int)key_len;
  s->psk_set = 1;
  return NULL;
}

/* info(session) -> { cipher, pskIdentity } */
static napi_value session_info(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result, value;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  session_t *s = argc >= 1 ? session_arg(env, argv[0]) : NULL;
  if (s == NULL) return NULL;
  CHECK(napi_create_object(env, &result));
  const SSL_CIPHER *cipher = SSL_get_current_cipher(s->ssl);
  CHECK(napi_create_string_utf8(env, cipher != NULL ? SSL_CIPHER_get_name(cipher) : "", NAPI_AUTO_LENGTH, &value));
  CHECK(napi_set_named_property(env, result, "cipher", value));
  const char *identity = SSL_get_psk_identity(s->ssl);
  if (identity != NULL) CHECK(napi_create_string_utf8(env, identity, NAPI_AUTO_LENGTH, &value));
  else CHECK(napi_get_null(env, &value));
  CHECK(napi_set_named_property(env, result, "pskIdentity", value));
  CHECK(napi_get_boolean(env, SSL_get_extms_support(s->ssl) == 1, &value));
  CHECK(napi_set_named_property(env, result, "extendedMasterSecret", value));
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  if (datagram_method == NULL) {
    datagram_method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "fleetpki datagrams");
    if (datagram_method == NULL || !BIO_meth_set_write(datagram_method, datagram_write) ||
        !BIO_meth_set_ctrl(datagram_method, datagram_ctrl) || !BIO_meth_set_create(datagram_method, datagram_create)) {
      napi_throw_error(env, "DTLS_INIT", "cannot create the datagram BIO method");
      return NULL;
    }
  }
  napi_property_descriptor props[] = {
      {"createContext", NULL, create_context, NULL, NULL, NULL, napi_default, NULL},
      {"createSession", NULL, create_session, NULL, NULL, NULL, napi_default, NULL},
      {"listen", NULL, listen_datagram, NULL, NULL, NULL, napi_default, NULL},
      {"feed", NULL, feed, NULL, NULL, NULL, napi_default, NULL},
      {"connect", NULL, connect_session, NULL, NULL, NULL, napi_default, NULL},
      {"write", NULL, write_data, NULL, NULL, NULL, napi_default, NULL},
      {"timeout", NULL, timeout_ms, NULL, NULL, NULL, napi_default, NULL},
      {"handleTimeout", NULL, handle_timeout, NULL, NULL, NULL, napi_default, NULL},
      {"shutdown", NULL, shutdown_session, NULL, NULL, NULL, napi_default, NULL},
      {"free", NULL, free_now, NULL, NULL, NULL, napi_default, NULL},
      {"peerChain", NULL, peer_chain, NULL, NULL, NULL, napi_default, NULL},
      {"pendingKeyExchange", NULL, pending_key_exchange, NULL, NULL, NULL, napi_default, NULL},
      {"setPsk", NULL, set_psk, NULL, NULL, NULL, napi_default, NULL},
      {"info", NULL, session_info, NULL, NULL, NULL, napi_default, NULL},
  };
  CHECK(napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  napi_value reason;
  CHECK(napi_create_uint32(env, SSL_R_BAD_SIGNATURE, &reason));
  CHECK(napi_set_named_property(env, exports, "REASON_BAD_SIGNATURE", reason));
  CHECK(napi_create_uint32(env, SSL_R_PSK_IDENTITY_NOT_FOUND, &reason));
  CHECK(napi_set_named_property(env, exports, "REASON_PSK_IDENTITY_NOT_FOUND", reason));
  CHECK(napi_create_uint32(env, SSL_R_DIGEST_CHECK_FAILED, &reason));
  CHECK(napi_set_named_property(env, exports, "REASON_DIGEST_CHECK_FAILED", reason));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
