/* fuzz_untar.c - artifacts_unpack(), what extracts a job's sourcedir.tar.gz into its code
 * folder: the input is the tarball (plain or compressed: libarchive guesses).
 *
 * The destination is an empty folder for an input of odd length, else missing, so that both
 * ways artifacts_unpack() undoes a refused tarball are taken.  Beyond no crash and no leak,
 * after every input, whether it was refused or not:
 * - nothing was written beside the destination: the sandbox around it holds the tarball and
 *   the destination only;
 * - a refused tarball leaves the destination as it was: empty, or gone when unpack made it;
 * - nothing in the destination leads out of it: every entry, resolved as the kernel resolves
 *   it (each symlink followed, a missing part taken by its name), stays inside at every step;
 * - only files, folders and symlinks were made, none set-uid, set-gid or sticky.
 * Any breach aborts, so libFuzzer keeps the tarball (docs/fuzzing.md).
 */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/artifacts.h"
#include "fuzz.h"
#include "util/error.h"
#include "util/fs.h"

#define HOPS_MAX 40 /* the kernel's MAXSYMLINKS: past it, open() fails with ELOOP */

static char box[PATH_MAX];	    /* <tmp>/sagerun-fuzz-untar.XXXXXX, realpath'ed */
static char tarball[PATH_MAX + 32]; /* <box>/in.tar */
static char dest[PATH_MAX + 32];    /* <box>/dest */

static void remove_box(void)
{
	(void)fs_rm_rf(box, NULL);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");
	char made[PATH_MAX];

	(void)argc;
	(void)argv;
	snprintf(made, sizeof(made), "%s/sagerun-fuzz-untar.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	FUZZ_CHECK(mkdtemp(made), "mkdtemp '%s': %s", made, strerror(errno));
	/* prefixes are compared below: no symlink in the way (/tmp -> /private/tmp) */
	FUZZ_CHECK(realpath(made, box), "realpath '%s': %s", made, strerror(errno));
	snprintf(tarball, sizeof(tarball), "%s/in.tar", box);
	snprintf(dest, sizeof(dest), "%s/dest", box);
	atexit(remove_box);
	return 0;
}

static bool inside(const char *path)
{
	size_t n = strlen(dest);

	return !strncmp(path, dest, n) && (path[n] == '\0' || path[n] == '/');
}

/* Follow `path` (absolute, in dest) as the kernel would, checking every step stays in dest;
 * a part that does not exist is taken by its name, so a dangling link is judged too. */
static void check_resolves_inside(const char *path)
{
	char cur[PATH_MAX * 2], rest[PATH_MAX * 4], target[PATH_MAX];
	int hops = 0;

	snprintf(cur, sizeof(cur), "%s", dest);
	FUZZ_CHECK(strlen(path + strlen(dest)) < sizeof(rest), "'%s' too long", path);
	snprintf(rest, sizeof(rest), "%s", path + strlen(dest));
	while (rest[0]) {
		char *part = rest + strspn(rest, "/"), *end = strchrnul(part, '/');
		size_t len = (size_t)(end - part);
		struct stat st;
		ssize_t n;

		if (len == 0)
			break;
		if (len == 1 && part[0] == '.') {
			memmove(rest, end, strlen(end) + 1);
			continue;
		}
		if (len == 2 && part[0] == '.' && part[1] == '.') {
			*strrchr(cur, '/') = '\0';
			if (!cur[0])
				strcpy(cur, "/");
		} else {
			FUZZ_CHECK(strlen(cur) + 1 + len < sizeof(cur), "'%s' too long", path);
			snprintf(cur + strlen(cur), sizeof(cur) - strlen(cur), "/%.*s", (int)len,
				 part);
		}
		memmove(rest, end, strlen(end) + 1);
		FUZZ_CHECK(inside(cur), "'%s' leads out of the destination, to '%s'", path, cur);
		if (lstat(cur, &st) < 0 || !S_ISLNK(st.st_mode))
			continue;
		if (++hops > HOPS_MAX)
			return; /* ELOOP: the kernel goes nowhere either */
		n = readlink(cur, target, sizeof(target) - 1);
		FUZZ_CHECK(n >= 0, "readlink '%s': %s", cur, strerror(errno));
		target[n] = '\0';
		FUZZ_CHECK(strlen(target) + 1 + strlen(rest) < sizeof(rest), "'%s' too long", path);
		memmove(rest + n + 1, rest, strlen(rest) + 1);
		memcpy(rest, target, (size_t)n);
		rest[n] = '/';
		if (target[0] == '/')
			strcpy(cur, "/");
		else
			*strrchr(cur, '/') = '\0';
	}
	FUZZ_CHECK(inside(cur), "'%s' leads out of the destination, to '%s'", path, cur);
}

static int check_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)type;
	(void)ftw;
	FUZZ_CHECK(S_ISREG(st->st_mode) || S_ISDIR(st->st_mode) || S_ISLNK(st->st_mode),
		   "'%s' is of mode %o", path, st->st_mode);
	FUZZ_CHECK(S_ISLNK(st->st_mode) || !(st->st_mode & 07000), "'%s' has mode %o", path,
		   st->st_mode & 07777);
	check_resolves_inside(path);
	/* a folder extracted without rwx for us (0000 is allowed) is still walked and removed
	 * when this runs as a user, not root */
	if (S_ISDIR(st->st_mode) && (st->st_mode & 0700) != 0700)
		FUZZ_CHECK(chmod(path, (st->st_mode & 07777) | 0700) == 0, "chmod '%s': %s", path,
			   strerror(errno));
	return 0;
}

/* The sandbox holds the tarball and dest, nothing else: "../x" would land beside dest. */
static void check_box(void)
{
	DIR *d = opendir(box);
	struct dirent *de;

	FUZZ_CHECK(d, "opendir '%s': %s", box, strerror(errno));
	while ((de = readdir(d)))
		FUZZ_CHECK(!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
			       !strcmp(de->d_name, "in.tar") || !strcmp(de->d_name, "dest"),
			   "'%s' written beside the destination", de->d_name);
	closedir(d);
}

/* How many entries folder `path` holds, or -1 when it is not there. */
static int count_entries(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int n = 0;

	if (!d) {
		FUZZ_CHECK(errno == ENOENT, "opendir '%s': %s", path, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)))
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sr_error err = {0};
	bool made = size % 2;
	int r = fs_write_fresh(tarball, data, size, 0644, &err);

	FUZZ_CHECK(r == 0, "%s", err.msg);
	FUZZ_CHECK(!made || mkdir(dest, 0755) == 0, "mkdir '%s': %s", dest, strerror(errno));
	r = artifacts_unpack(tarball, dest, &err);
	FUZZ_CHECK(r == 0 || (r == err.code && err.msg[0]), "returned %d, error %d '%s'", r,
		   err.code, err.msg);
	check_box();
	if (r < 0) {
		int n = count_entries(dest);

		FUZZ_CHECK(made ? n == 0 : n == -1, "refused (%s), and '%s' %s", err.msg, dest,
			   n < 0 ? "is gone" : "is not empty");
	} else {
		FUZZ_CHECK(nftw(dest, check_entry, 16, FTW_PHYS) == 0, "walk '%s': %s", dest,
			   strerror(errno));
	}
	r = fs_rm_rf(dest, &err);
	FUZZ_CHECK(r == 0, "%s", err.msg);
	return 0;
}
