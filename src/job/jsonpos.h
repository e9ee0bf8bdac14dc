/* jsonpos.h - where a value sits in JSON text, for `FILE:LINE:COL: Path: message` errors.
 *
 * jansson parses text into values that forget where they came from, so a problem found after
 * parsing ("InstanceCount must be at least 1") could not say where it is.  This tiny tokenizer
 * re-reads the original text along a path of object keys and array indexes and returns the
 * line and column, counted the way jansson counts them for syntax errors: both from 1, columns
 * in Unicode characters (a tab is one column).
 *
 * Positions point at the VALUE of a member (its first character: '{', '[', '"', a digit...),
 * because most messages are about the value ("got 0").  Messages about the member itself
 * (an unknown or ignored field) ask for JSONPOS_KEY: the opening quote of its key.
 *
 * The text must already have been parsed by jansson: on text it cannot follow, jsonpos reports
 * "not found" rather than guess.  With duplicate keys the first wins (specs are loaded with
 * JSON_REJECT_DUPLICATES, so there are none).
 */
#ifndef SR_JOB_JSONPOS_H
#define SR_JOB_JSONPOS_H

#include <stddef.h>

/* Deep enough for every object sagerun models: InputDataConfig[i].DataSource.S3DataSource.X
 * is five levels. */
#define JSONPOS_DEPTH_MAX 8

struct jsonpos_seg {
	const char *key; /* borrowed; NULL for an array index */
	size_t index;
};

struct jsonpos_path {
	struct jsonpos_seg seg[JSONPOS_DEPTH_MAX];
	size_t n;
};

enum jsonpos_what {
	JSONPOS_VALUE, /* the value of the last segment */
	JSONPOS_KEY,   /* the key of the last segment (for an array item: the item itself) */
};

/* Pushing beyond JSONPOS_DEPTH_MAX is a bug in the caller and aborts. */
void jsonpos_push_key(struct jsonpos_path *path, const char *key);
void jsonpos_push_index(struct jsonpos_path *path, size_t index);
void jsonpos_pop(struct jsonpos_path *path);

/* Line and column of the value (or key) at `path`; an empty path is the top-level value.
 * Returns 0, or -ENOENT when the path is not in the text (or the text is not valid JSON). */
int jsonpos_find(const char *text, size_t len, const struct jsonpos_path *path,
		 enum jsonpos_what what, int *ret_line, int *ret_col);

/* "InputDataConfig[1].ChannelName"; keys that are not plain words are written as
 * ["a key"], very long keys are shortened with "...".  The top level is "".  Caller frees. */
char *jsonpos_path_str(const struct jsonpos_path *path);

/* "origin:LINE:COL: Path" (no ": Path" at the top level; no ":LINE:COL" when the path is not
 * found), the prefix of every message about a spec value.  Caller frees. */
char *jsonpos_where(const char *text, size_t len, const char *origin,
		    const struct jsonpos_path *path, enum jsonpos_what what);

#endif
