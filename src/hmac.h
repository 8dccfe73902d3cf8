/*
 * hmac.h - message authentication and digests for the outbox: HMAC-SHA256 of a webhook
 * body (its signature header) and SHA-256 of an idempotency key (a Message-ID, a MIME
 * boundary). Both as lowercase hex. hmac.c is the only file that uses libcrypto.
 */
#ifndef RI_HMAC_H
#define RI_HMAC_H

#include "ri_internal.h"

#define RI_SHA256_HEX 65 /* 64 hex digits and the NUL */

/* HMAC-SHA256 of msg[0..len) under key[0..keylen) into out as 64 hex digits.
 * RI_ERR_INTERNAL if libcrypto fails (out is then ""). */
ri_err ri_hmac_sha256_hex(const void *key, size_t keylen, const void *msg, size_t len,
                          char out[RI_SHA256_HEX]);
/* SHA-256 of data[0..len) into out as 64 hex digits. */
ri_err ri_sha256_hex(const void *data, size_t len, char out[RI_SHA256_HEX]);

#endif /* RI_HMAC_H */
