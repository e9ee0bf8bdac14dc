/* entry.c - the argv that runs the user's entry point, as the toolkit's ProcessRunner builds it
 * (reference §2.6-2.7).
 */
#include "contract/contract.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/error.h"
#include "util/strv.h"
#include "util/xalloc.h"

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

/* True when the kernel can exec the file itself: a "#!" line or an ELF binary.  An unreadable
 * file is left for exec to judge. */
static bool has_exec_magic(const char *path)
{
	char magic[4];
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	ssize_t n;

	if (fd < 0)
		return true;
	n = read(fd, magic, sizeof(magic));
	close(fd);
	return (n >= 2 && !memcmp(magic, "#!", 2)) || (n == 4 && !memcmp(magic, "\177ELF", 4));
}

/* The toolkit chmods COMMAND entry points to 0777 before running them (§2.6), so a script that
 * lost its x bit in an upload still runs there.  We only add the x bits, which is enough. */
static int make_executable(const char *path, const char *code_dir, const char *entry, mode_t mode,
			   struct sr_error *err)
{
	int e;

	if (access(path, X_OK) == 0)
		return 0;
	if (chmod(path, mode | S_IXUSR | S_IXGRP | S_IXOTH) == 0 && access(path, X_OK) == 0)
		return 0;
	e = errno;
	sr_err_errno(err, e, "entry point '%s' in '%s' is not executable", entry, code_dir);
	/* a noexec mount says EACCES even after a successful chmod */
	sr_err_hint(err,
		    "run 'chmod +x %s', or name it *.py or *.sh to run it with python3 or /bin/sh "
		    "(and check the folder is not on a noexec mount)",
		    path);
	return -e;
}

enum contract_entry_type contract_entry_type(const char *code_dir, const char *entry)
{
	_cleanup_free_ char *setup = xasprintf("%s/setup.py", code_dir);

	if (ends_with(entry, ".sh"))
		return CONTRACT_ENTRY_COMMAND;
	if (access(setup, F_OK) == 0)
		return CONTRACT_ENTRY_PYTHON_PACKAGE;
	if (ends_with(entry, ".py"))
		return CONTRACT_ENTRY_PYTHON_PROGRAM;
	return CONTRACT_ENTRY_COMMAND;
}

int contract_entry_argv(const char *code_dir, const char *entry, const struct strv *args,
			struct strv *argv, struct sr_error *err)
{
	enum contract_entry_type type;
	_cleanup_free_ char *path = NULL;
	struct stat st;
	int r;

	if (!entry || !*entry) {
		sr_err(err, -EINVAL, "no entry point to run");
		sr_err_hint(err, "set SAGEMAKER_PROGRAM, or the hyperparameter sagemaker_program "
				 "(sagerun train --entry-point FILE)");
		return -EINVAL;
	}
	/* os.path.join(code_dir, entry): an absolute entry stands on its own */
	path = entry[0] == '/' ? xstrdup(entry) : xasprintf("%s/%s", code_dir, entry);
	if (stat(path, &st) < 0) {
		int e = errno;

		if (e != ENOENT)
			return sr_err_errno(err, e, "entry point '%s' in '%s'", entry, code_dir);
		sr_err(err, -ENOENT, "entry point '%s' not found in '%s'", entry, code_dir);
		sr_err_hint(err, "check the entry point name and that the source folder was copied "
				 "into the code folder");
		return -ENOENT;
	}
	if (!S_ISREG(st.st_mode))
		return sr_err(err, -EINVAL, "entry point '%s' in '%s' is not a regular file", entry,
			      code_dir);

	type = contract_entry_type(code_dir, entry);
	if (type == CONTRACT_ENTRY_PYTHON_PACKAGE) {
		/* [python, -m, module]: the package is installed (pip install .) first. */
		_cleanup_free_ char *module = xstrdup(entry);

		if (ends_with(module, ".py"))
			module[strlen(module) - 3] = '\0';
		strv_push(argv, "python3");
		strv_push(argv, "-m");
		strv_push(argv, module);
	} else if (type == CONTRACT_ENTRY_PYTHON_PROGRAM) {
		/* [python, entry] from cwd /opt/ml/code: sys.argv[0] is the name as given. */
		strv_push(argv, "python3");
		strv_push(argv, entry[0] == '/' ? path : entry);
	} else {
		/* The toolkit chmods a COMMAND and runs `/bin/sh -c "./entry args"`: the kernel
		 * honours the script's #! line, and sh runs a file without one itself (ENOEXEC).
		 * The same without a shell: exec it when it has a #! line or is a binary, else
		 * /bin/sh runs it. */
		if (has_exec_magic(path)) {
			r = make_executable(path, code_dir, entry, st.st_mode & 07777, err);
			if (r < 0)
				return r;
		} else {
			strv_push(argv, "/bin/sh");
		}
		strv_push(argv, path);
	}
	for (size_t i = 0; args && i < args->n; i++)
		strv_push(argv, args->v[i]);
	return 0;
}
