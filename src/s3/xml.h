/* xml.h - the little XML S3 answers with (ListBucketResult, Error, multipart results), read
 * with expat. */
#ifndef SR_S3_XML_H
#define SR_S3_XML_H

#include <stddef.h>

/* Calls `cb` at the end of every element with the name of its parent, its own name and its
 * text (leading and trailing whitespace kept, entities decoded).  Namespaces are ignored.
 * 0, or -EBADMSG when the document is not well-formed, or what `cb` returned (< 0 stops). */
int s3_xml_walk(const char *xml, size_t len,
		int (*cb)(void *ctx, const char *parent, const char *name, const char *text),
		void *ctx);

#endif
