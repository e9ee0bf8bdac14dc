#include "s3/xml.h"

#include <errno.h>
#include <expat.h>
#include <string.h>

#include "util/xalloc.h"

#define DEPTH_MAX 16

struct walk {
	XML_Parser p;
	char *names[DEPTH_MAX];
	int depth;
	char *text;
	size_t len, cap;
	int r;
	int (*cb)(void *, const char *, const char *, const char *);
	void *ctx;
};

/* "http://s3.amazonaws.com/doc/2006-03-01/ ListBucketResult" -> "ListBucketResult" */
static const char *local(const char *name)
{
	const char *sp = strrchr(name, ' ');

	return sp ? sp + 1 : name;
}

static void on_start(void *data, const char *name, const char **attrs)
{
	struct walk *w = data;

	(void)attrs;
	if (w->depth < DEPTH_MAX)
		w->names[w->depth] = xstrdup(local(name));
	w->depth++;
	w->len = 0;
}

static void on_end(void *data, const char *name)
{
	struct walk *w = data;
	const char *parent =
	    w->depth >= 2 && w->depth - 2 < DEPTH_MAX ? w->names[w->depth - 2] : "";

	(void)name;
	xgrow(&w->text, &w->cap, w->len + 1, 1);
	w->text[w->len] = '\0';
	if (w->r >= 0 && w->depth <= DEPTH_MAX) {
		w->r = w->cb(w->ctx, parent, w->names[w->depth - 1], w->text);
		if (w->r < 0)
			XML_StopParser(w->p, XML_FALSE);
	}
	w->depth--;
	if (w->depth < DEPTH_MAX) {
		free(w->names[w->depth]);
		w->names[w->depth] = NULL;
	}
	w->len = 0;
}

static void on_text(void *data, const char *s, int n)
{
	struct walk *w = data;

	xgrow(&w->text, &w->cap, w->len + (size_t)n + 1, 1);
	memcpy(w->text + w->len, s, (size_t)n);
	w->len += (size_t)n;
}

int s3_xml_walk(const char *xml, size_t len,
		int (*cb)(void *ctx, const char *parent, const char *name, const char *text),
		void *ctx)
{
	struct walk w = {.cb = cb, .ctx = ctx};
	enum XML_Status st;

	w.p = XML_ParserCreateNS(NULL, ' ');
	if (!w.p)
		return -ENOMEM;
	XML_SetUserData(w.p, &w);
	XML_SetElementHandler(w.p, on_start, on_end);
	XML_SetCharacterDataHandler(w.p, on_text);
	st = XML_Parse(w.p, xml, (int)len, XML_TRUE);
	for (int i = 0; i < DEPTH_MAX; i++)
		free(w.names[i]);
	free(w.text);
	XML_ParserFree(w.p);
	if (w.r < 0)
		return w.r;
	return st == XML_STATUS_OK ? 0 : -EBADMSG;
}
