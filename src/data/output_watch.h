/* output_watch.h - a Processing job's outputs with S3UploadMode Continuous: each file is
 * uploaded as soon as it is closed after writing (or moved into the folder) while the job
 * runs, and whatever is left when it ends, as the service does.
 *
 * One watcher thread follows every host's folder of every output with inotify, recursively:
 * a new subfolder is watched as it appears, and what it already holds is uploaded; so are
 * the files a folder holds when it is added.  The thread never blocks the caller (the job's
 * supervisor): it takes no signal, and the caller waits for nothing but a short lock.  An
 * upload that fails while the job runs does not stop the thread; the file is tried again at
 * the end, and the report tells the first such failure.  When inotify's queue overflows, the
 * folders are walked again.
 *
 * At stop, once the thread has ended, a last pass does what EndOfJob does (proc_outputs.h:
 * keys, merge, links left out, report), uploading only what the destination does not hold
 * yet as it is now.  So a name several hosts wrote ends with the copy of the host last in
 * natural order, as with EndOfJob, whichever host closed it last; while the job runs each
 * close wins in turn, as on the service.
 *
 * While the job runs, a file is opened below its host's folder without following any link,
 * and uploaded from that open file: a link the job puts in its place is never followed.
 *
 *   struct output_watch *w;
 *   output_watch_start(&w, err);
 *   output_watch_add(w, "train", "algo-1", dir1, "s3://bucket/out", err);   each host
 *   ...                                                                      the job runs
 *   output_watch_stop(w, &report, err);                                      after its end
 */
#ifndef SR_DATA_OUTPUT_WATCH_H
#define SR_DATA_OUTPUT_WATCH_H

struct output_watch;
struct sr_error;
struct strv;

/* A watcher with nothing to watch yet, its thread started. */
int output_watch_start(struct output_watch **ret, struct sr_error *err);

/* Watch `host`'s folder `dir` of output `name` (as struct proc_output_src has them), for
 * `uri` (as proc_output_export takes it).  Every host of an output gives the same uri
 * (another is -EINVAL); a host given twice is -EEXIST.  A folder missing now is not
 * watched: what it holds at stop goes then.  Returns at once: the thread walks the folder. */
int output_watch_add(struct output_watch *w, const char *name, const char *host, const char *dir,
		     const char *uri, struct sr_error *err);

/* Stop the thread (an upload under way to S3 is dropped, leaving no object, and done by the
 * last pass; a copy into a local folder finishes first), then upload everything the
 * destinations do not hold as it is now.  Call it once
 * nothing runs in the hosts any more.  To `report`, per output, proc_output_export's lines,
 * the first ending "(N uploaded while the job ran)", and a line for the first upload that
 * failed while it ran.  Every output is tried; the first error is returned.  Frees `w`
 * (NULL is fine). */
int output_watch_stop(struct output_watch *w, struct strv *report, struct sr_error *err);

#endif
