#include "core/hmac.h"

#include "core/alloc.h"
#include "core/error.h"
#include "core/fsutil.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *hmac_key_path(const char *gitdir)
{
	return fs_state_dir(gitdir, "digest.key");
}

int hmac_key_load(struct hmac_key *key, const char *gitdir, int clone)
{
	unsigned char buf[HMAC_KEY_LEN + 1];
	char *path = hmac_key_path(gitdir);
	struct stat st;
	ssize_t n = 0;
	int fd = -1, rc = 0;

	memset(key, 0, sizeof(*key));
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT) {
		size_t end = strlen(gitdir);

		while (end > 1 && gitdir[end - 1] == '/')
			end--;
		if (clone)
			rc = fg_error_set(FG_ENOTFOUND,
					  "the configuration digest key %s does not exist: copy the git server's (<repo>.git/fleetgate/digest.key) there, mode 600",
					  path);
		else
			rc = fg_error_set(FG_ENOTFOUND,
					  "the configuration digest key %s does not exist: run 'fleetgate install --repo %.*s' to make it",
					  path, (int)end, gitdir);
		goto done;
	}
	if (fd < 0) {
		rc = fg_error_set(FG_EIO, "configuration digest key %s: %s", path, strerror(errno));
		goto done;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || (st.st_mode & 077)) {
		rc = fg_error_set(FG_EINVAL,
				  "the configuration digest key %s is not a file readable by its owner only (mode %03o): chmod 600 it",
				  path, (unsigned)(st.st_mode & 0777));
		goto done;
	}
	n = read(fd, buf, sizeof(buf));
	if (n != HMAC_KEY_LEN) {
		rc = fg_error_set(FG_EINVAL, "the configuration digest key %s is not %d bytes long",
				  path, HMAC_KEY_LEN);
		goto done;
	}
	memcpy(key->bytes, buf, HMAC_KEY_LEN);
done:
	explicit_bzero(buf, sizeof(buf));
	if (fd >= 0)
		close(fd);
	free(path);
	return rc;
}

int hmac_key_create(const char *gitdir, int *created)
{
	unsigned char bytes[HMAC_KEY_LEN];
	char *path = hmac_key_path(gitdir), *dir = fs_state_dir(gitdir, ""), *tmp = NULL;
	int fd = -1, rc = 0;

	*created = 0;
	if (access(path, F_OK) == 0)
		goto done;
	dir[strlen(dir) - 1] = '\0'; /* the trailing '/' */
	rc = fs_mkdirs(dir, 0700);
	if (rc)
		goto done;
	if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
		rc = fg_error_set(FG_ERROR, "making %s: no random bytes from the system", path);
		goto done;
	}
	/* written beside it, then linked: a key is whole or absent, and link()
	 * never replaces one that appeared meanwhile */
	tmp = fg_asprintf("%s.%ld.tmp", path, (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, bytes, sizeof(bytes)) != (ssize_t)sizeof(bytes) || fsync(fd)) {
		rc = fg_error_set(FG_EIO, "%s: %s", tmp, strerror(errno));
		goto done;
	}
	if (link(tmp, path)) {
		if (errno != EEXIST)
			rc = fg_error_set(FG_EIO, "%s: %s", path, strerror(errno));
		goto done;
	}
	*created = 1;
done:
	explicit_bzero(bytes, sizeof(bytes));
	if (fd >= 0)
		close(fd);
	if (tmp)
		unlink(tmp);
	free(tmp);
	free(dir);
	free(path);
	return rc;
}

void hmac_key_wipe(struct hmac_key *key)
{
	explicit_bzero(key, sizeof(*key));
}

int hmac_sha256_hex(const struct hmac_key *key, const void *data, size_t len, char *hex)
{
	static const char digits[] = "0123456789abcdef";
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;

	hex[0] = '\0';
	if (!HMAC(EVP_sha256(), key->bytes, HMAC_KEY_LEN, data, len, mac, &n) || n * 2 != HMAC_HEX_LEN)
		return fg_error_set(FG_ERROR, "computing a configuration digest: libcrypto's HMAC-SHA256 failed");
	for (i = 0; i < n; i++) {
		hex[2 * i] = digits[mac[i] >> 4];
		hex[2 * i + 1] = digits[mac[i] & 15];
	}
	hex[HMAC_HEX_LEN] = '\0';
	explicit_bzero(mac, sizeof(mac));
	return 0;
}

int hash_blob_hex(const void *data, size_t len, char *hex)
{
	static const char digits[] = "0123456789abcdef";
	EVP_MD_CTX *ctx = NULL;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;
	char head[32];
	int rc = 0, hn;

	hex[0] = '\0';
	hn = snprintf(head, sizeof(head), "blob %zu", len);
	ctx = EVP_MD_CTX_new();
	/* the NUL that ends "blob <len>" is part of what git hashes */
	if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) ||
	    !EVP_DigestUpdate(ctx, head, (size_t)hn + 1) || !EVP_DigestUpdate(ctx, data, len) ||
	    !EVP_DigestFinal_ex(ctx, md, &n) || n * 2 != HASH_BLOB_HEX_LEN) {
		rc = fg_error_set(FG_ERROR, "naming a file: libcrypto's SHA-1 failed");
		goto done;
	}
	for (i = 0; i < n; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[HASH_BLOB_HEX_LEN] = '\0';
done:
	EVP_MD_CTX_free(ctx);
	return rc;
}

char *base64_encode(const void *data, size_t len)
{
	/* 4 bytes for every 3 started, and the NUL EVP_EncodeBlock writes */
	unsigned char *out = fg_malloc(4 * ((len + 2) / 3) + 1);
	const unsigned char *p = data;
	size_t done = 0, at = 0;

	out[0] = '\0';
	/* EVP_EncodeBlock takes an int: whole chunks of a multiple of 3 bytes
	 * join into the encoding of the whole */
	while (done < len) {
		size_t k = len - done > (3u << 20) ? (3u << 20) : len - done;

		at += (size_t)EVP_EncodeBlock(out + at, p + done, (int)k);
		done += k;
	}
	return (char *)out;
}
