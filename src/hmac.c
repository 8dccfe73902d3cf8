/*
 * hmac.c - the libcrypto adapter: HMAC-SHA256 and SHA-256 as lowercase hex.
 *
 * The outbox signs each webhook body with the channel's secret (the receiver recomputes
 * the HMAC over the exact bytes it got and compares) and hashes idempotency keys into
 * the Message-ID and MIME boundary of e-mails. One-shot calls only: nothing to free.
 */
#include "hmac.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

static void to_hex(const unsigned char *md, unsigned n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (unsigned i = 0; i < n; i++) {
        out[2 * i] = digits[md[i] >> 4];
        out[2 * i + 1] = digits[md[i] & 15];
    }
    out[2 * n] = '\0';
}

ri_err ri_hmac_sha256_hex(const void *key, size_t keylen, const void *msg, size_t len,
                          char out[RI_SHA256_HEX])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    out[0] = '\0';
    if (keylen > INT32_MAX)
        return RI_ERR_TOOBIG;
    if (!HMAC(EVP_sha256(), key, (int)keylen, msg, len, md, &n) || n != SHA256_DIGEST_LENGTH)
        return RI_ERR_INTERNAL;
    to_hex(md, n, out);
    return RI_OK;
}

ri_err ri_sha256_hex(const void *data, size_t len, char out[RI_SHA256_HEX])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    out[0] = '\0';
    if (!SHA256(data, len, md))
        return RI_ERR_INTERNAL;
    to_hex(md, SHA256_DIGEST_LENGTH, out);
    return RI_OK;
}
