/* proc_outputs.h - a Processing job's outputs with S3UploadMode EndOfJob: once the program
 * has ended (Completed, Failed or Stopped alike), every host's folder of an output (its
 * LocalPath under /opt/ml/processing/) is uploaded to the output's S3Uri, as the service does.
 * Continuous mode is output_watch.h, which ends with the same pass.
 *
 * Hosts merge: a file's key is S3Uri + "/" + its path below the host's folder ("s3://b/p" and
 * "s3://b/p/" both mean the prefix "p/"), so hosts writing distinct names fill one prefix.
 * A name several hosts wrote is uploaded once, from the host last in the natural order of
 * host names (algo-10 after algo-9, whatever the order of `srcs`): what exporting the hosts
 * one after the other, algo-1 first, would leave, without uploading the others' copies only
 * to overwrite them.  The report names such names.
 *
 * Only regular files go.  Symbolic links are not followed, wherever they are below the
 * host's folder or if the folder itself is one, and the report names them; FIFOs, sockets
 * and devices are left out.  S3Uri may also be a local folder (file:///path or /path): each
 * file is copied there through a temp file and a rename, folders made as needed, nothing
 * removed.
 *
 *   struct proc_output_src srcs[] = {{"algo-1", dir1}, {"algo-2", dir2}};
 *   proc_output_export("train", "s3://bucket/out", srcs, 2, &report, err);
 */
#ifndef SR_DATA_PROC_OUTPUTS_H
#define SR_DATA_PROC_OUTPUTS_H

#include <stddef.h>

struct sr_error;
struct strv;

/* One host's folder of an output. */
struct proc_output_src {
	const char *host; /* "algo-1" */
	/* As sagerun sees it: <job>/hosts/algo-1/opt_ml/processing/output/train.  Trusted up to
	 * its last name (make it so that no link lies on the way, as checkpoints_host_dir
	 * does); from there down no link is followed. */
	const char *dir;
};

/* Upload output `name`'s files of every host in `srcs[0..n-1]` to `uri`.  A missing folder
 * (a host that never started) is skipped, an empty one adds nothing.  Files are read by
 * name: call this once nothing runs in the hosts any more.
 *
 * To `report`: "output 'train': 6 files, 35 bytes from 3 hosts to s3://bucket/out", then a
 * line naming the first names several hosts wrote and whose copy was kept, and one naming
 * the links left out, when there are.  An error names the output, the host, the file and
 * where it was going (never a credential), with a hint; the files stay in the hosts'
 * folders. */
int proc_output_export(const char *name, const char *uri, const struct proc_output_src *srcs,
		       size_t n, struct strv *report, struct sr_error *err);

#endif
