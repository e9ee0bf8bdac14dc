/* gunzip.h - one gzip file decompressed into another, for channels with CompressionType Gzip. */
#ifndef SR_DATA_GUNZIP_H
#define SR_DATA_GUNZIP_H

struct sr_error;

/* Decompress `src` into `dest` through a temp file in dest's folder (dest appears only when
 * complete, mode 0444).  Data that is not gzip is refused (-EILSEQ), naming `label`. */
int gunzip_file(const char *src, const char *dest, const char *label, struct sr_error *err);

#endif
