#ifndef FLEETGATE_HMAC_H
#define FLEETGATE_HMAC_H

#include <stddef.h>

/*
 * The key of the configuration digest (the Mender tag fleetgate_config):
 * the digest is an HMAC-SHA256 under a key only the git server holds, so
 * that whoever reads Mender's inventory cannot test guesses of a secret in
 * a device's configuration against it. The key is 32 random bytes in
 * <gitdir>/fleetgate/digest.key (mode 600), made by `fleetgate install`
 * and never replaced: a new key makes every recorded digest differ, and
 * every device's configuration is then set again once.
 *
 * This file is the adapter of libcrypto (OpenSSL); nothing else includes
 * its headers.
 */

#define HMAC_KEY_LEN 32
#define HMAC_HEX_LEN 64

struct hmac_key {
	unsigned char bytes[HMAC_KEY_LEN];
};

/* "<gitdir>/fleetgate/digest.key", malloc'd. */
char *hmac_key_path(const char *gitdir);

/* Read the key of the repository at `gitdir`. FG_ENOTFOUND when there is
 * none: the message names the file and what makes it (`fleetgate install`
 * on the server's bare repository; in a `clone`, a copy of the server's
 * key, since a key of its own would make every digest differ from the
 * server's). FG_EINVAL when it is readable by group or others, or not
 * exactly 32 bytes. Wipe it with hmac_key_wipe() after use. */
int hmac_key_load(struct hmac_key *key, const char *gitdir, int clone);

/* Make the key of the repository at `gitdir` when it has none: 32 bytes
 * from the system's random source, written whole or not at all, mode 600.
 * An existing key is never touched (*created = 0). */
int hmac_key_create(const char *gitdir, int *created);

void hmac_key_wipe(struct hmac_key *key);

/* HMAC-SHA256 of `data` under `key`, as lowercase hex into `hex`
 * (HMAC_HEX_LEN + 1 bytes). FG_ERROR when libcrypto fails (it allocates). */
int hmac_sha256_hex(const struct hmac_key *key, const void *data, size_t len, char *hex);

/* The id git gives a blob of these `len` bytes (SHA-1 of "blob <len>", a NUL
 * and the bytes) as lowercase hex into `hex` (41 bytes): a short, stable
 * name for a file, not a secret. FG_ERROR when libcrypto fails. */
#define HASH_BLOB_HEX_LEN 40
int hash_blob_hex(const void *data, size_t len, char *hex);

/* Base64 (RFC 4648, with padding) of `len` bytes, malloc'd, through
 * libcrypto's EVP_EncodeBlock. The caller wipes it when it held a secret. */
char *base64_encode(const void *data, size_t len);

#endif
