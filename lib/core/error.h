#ifndef FLEETGATE_ERROR_H
#define FLEETGATE_ERROR_H

/*
 * Errors of the library.
 *
 * Every fallible function returns 0 on success or one of the negative codes
 * below, after recording a message that names what failed (the file, ref,
 * URL, ...). The message is per thread, like libgit2's git_error_last(): read
 * it with fg_error_message() right after the failing call.
 *
 * A verdict is not an error: an invalid fleet file or a refused push is a
 * result returned through an out-parameter, and the call returns 0.
 */

enum fg_error_code {
	FG_OK = 0,
	FG_ERROR = -1,      /* generic failure */
	FG_ENOTFOUND = -2,  /* file, ref, object, device... does not exist */
	FG_EINVAL = -3,     /* bad argument or malformed input */
	FG_EIO = -4,        /* the system said no (open, read, write, rename) */
	FG_EGIT = -5,       /* libgit2 reported an error */
	FG_ELIMIT = -6,     /* an input is over one of our caps */
	FG_EHTTP = -7,      /* the server answered with an unexpected status */
	FG_ENET = -8,       /* connection refused, dropped, TLS failure */
	FG_ETIMEOUT = -9,   /* the deadline passed */
	FG_EAUTH = -10,     /* credentials missing or refused */
	FG_ENOADDON = -11,  /* the server lacks the add-on a call needs */
};

/* Record a message for the current thread and return `code`. */
int fg_error_set(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prefix the current message with more context ("loading fleet.yaml: ...")
 * and return `code`. */
int fg_error_wrap(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The last message recorded on this thread; "" when none. Never NULL. */
const char *fg_error_message(void);

void fg_error_clear(void);

#endif
