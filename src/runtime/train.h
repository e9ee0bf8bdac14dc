/* train.h - `sagerun container train`: what sagemaker-training-toolkit's `train` does inside
 * a training container (reference §2.1-2.7, 2.13), in C, for any image.
 *
 *   1. read the three <base>/input/config files as the service writes them (base:
 * SAGEMAKER_BASE_DIR, else /opt/ml);
 *   2. compute the toolkit's environment with the contract module (SM_*, PYTHONPATH, ...);
 *   3. fetch the user's code (sagemaker_submit_directory: a folder, a file, file:// or s3://
 *      sourcedir.tar.gz) into <base>/code when that folder is empty, refusing archive entries
 *      that would leave it;
 *   4. install it as the toolkit does by entry point type: *.sh is a COMMAND;
 *      with setup.py in the code folder a PYTHON_PACKAGE (`python3 -m pip install .`, plus
 *      `-r requirements.txt`, then run as `python3 -m <module>`); *.py a PYTHON_PROGRAM
 *      (`python3 -m pip install -r requirements.txt` when there is one); anything else a COMMAND;
 *   5. run it in <base>/code with the hyperparameters as command-line arguments, in a process
 *      group of its own; SIGTERM and SIGINT go to that whole group; its stderr passes through
 *      and its last lines are kept for the failure message.  A stop (SIGTERM, SIGINT) ends
 *      with 128 + the signal and no failure file, as the toolkit dies of it;
 *   6. success: an empty <base>/output/success, exit 0.  Failure: <base>/output/failure, unless
 *      the program wrote one, with the toolkit's message
 *          ExecuteUserScriptError:
 *          ExitCode 2
 *          ErrorMessage "<last lines of stderr>"
 *          Command "python3 train.py --epochs 2"
 *      (InstallRequirementsError / InstallModuleError when the install failed), exit 1.
 */
#ifndef SR_RUNTIME_TRAIN_H
#define SR_RUNTIME_TRAIN_H

struct sr_error;

struct rt_train_opts {
	const char *base_dir; /* NULL: $SAGEMAKER_BASE_DIR, else /opt/ml */
	int log_fd;	      /* sagerun's own lines */
	int err_fd;	      /* where the program's stderr passes through */
};

/* Returns the container's exit code: 0, or 1 once output/failure is written.  < 0 only when
 * not even the failure file could be written (err says why). */
int rt_train(const struct rt_train_opts *o, struct sr_error *err);

#endif
