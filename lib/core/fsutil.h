#ifndef FLEETGATE_FSUTIL_H
#define FLEETGATE_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

/* Files fleetgate writes itself (hooks, verdicts, the spool): created
 * whole or not at all. */

/* Create `dir` and its parent if missing (two levels: enough for
 * $GIT_DIR/fleetgate/<x>). */
int fs_mkdirs(const char *dir, mode_t mode);

/* Write `len` bytes to `path` through a temporary file in the same folder,
 * fsync'd, with `mode`, then renamed over `path`. */
int fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode);

/* "<gitdir>/fleetgate/<sub>" (gitdir with or without its trailing '/'). */
char *fs_state_dir(const char *gitdir, const char *sub);

#endif
