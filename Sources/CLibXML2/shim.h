#ifndef SATCHEL_CLIBXML2_SHIM_H
#define SATCHEL_CLIBXML2_SHIM_H
/* Debian's libxml2 is built with ICU; its encoding.h pulls <unicode/ucnv.h>, which clashes
 * with Foundation's private ICU module. Satchel never uses libxml2's ICU conversions. */
#include <libxml/xmlversion.h>
#undef LIBXML_ICU_ENABLED
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlschemas.h>
#include <libxml/xmlsave.h>
#include <libxml/xmlwriter.h>
#include <libxml/HTMLparser.h>
#include <libxml/parserInternals.h>

/* xmlFree is a mutable global function pointer (a Swift 6 error to touch directly). */
static inline void satchel_xmlFree(void *p) { xmlFree(p); }

/* xmlParserVersion is a macro. */
static inline const char *satchel_xmlParserVersion(void) { return xmlParserVersion; }

/* XML_SAX2_MAGIC (0xDEEDBEAF) does not import as a typed constant. A SAX handler must carry it for
 * libxml2 to route errors to the handler's serror instead of the process-global error handler. */
static inline unsigned int satchel_saxMagic(void) { return XML_SAX2_MAGIC; }

/* Bytes the parser holds but has not consumed yet (input->end - input->cur). */
static inline long satchel_parserPending(xmlParserCtxtPtr ctxt) {
    if (ctxt == NULL || ctxt->input == NULL || ctxt->input->cur == NULL || ctxt->input->end == NULL) return 0;
    return (long)(ctxt->input->end - ctxt->input->cur);
}

/* Bytes in the parser's input buffer: consumed but not yet dropped, plus pending. */
static inline long satchel_parserHeld(xmlParserCtxtPtr ctxt) {
    if (ctxt == NULL || ctxt->input == NULL || ctxt->input->base == NULL || ctxt->input->end == NULL) return 0;
    return (long)(ctxt->input->end - ctxt->input->base);
}

/* Drops consumed input from the parser's buffer (the HTML push parser of libxml2 2.9 never does
 * so by itself) and restarts the parser's token lookahead from the current position, whose saved
 * offset (checkIndex) a shrink would invalidate. */
static inline void satchel_parserShrink(xmlParserCtxtPtr ctxt) {
    if (ctxt == NULL || ctxt->input == NULL || ctxt->input->buf == NULL) return;
    if (ctxt->input->cur - ctxt->input->base > 4096) xmlParserInputShrink(ctxt->input);
    ctxt->checkIndex = 0;
}

/* Removes the element the parser has just pushed from its name stack, so that the stack (and the
 * memory it takes) stops growing: used from a startElement callback beyond the depth cap. */
static inline void satchel_htmlPopJustPushed(xmlParserCtxtPtr ctxt) {
    if (ctxt == NULL || ctxt->nameNr <= 1) return;
    ctxt->nameNr--;
    ctxt->nameTab[ctxt->nameNr] = NULL;
    ctxt->name = ctxt->nameTab[ctxt->nameNr - 1];
}

/* Renames the bottom of the name stack to a name no end tag can spell (it contains a space), so
 * that no `</...>` in the input can close it and send the push parser to its epilog state, where
 * libxml2 2.9 ignores everything that follows. */
static inline int satchel_htmlPinRoot(xmlParserCtxtPtr ctxt, const char *name) {
    if (ctxt == NULL || ctxt->nameNr != 1 || ctxt->dict == NULL) return 0;
    const xmlChar *interned = xmlDictLookup(ctxt->dict, (const xmlChar *)name, -1);
    if (interned == NULL) return 0;
    ctxt->nameTab[0] = interned;
    ctxt->name = interned;
    return 1;
}
/* Whether libxml2 2.9's push parser is in the raw text of <script> or <style> with all its input
 * consumed (state CONTENT, or END_TAG entered wrongly: see LibXMLHTMLPushParser.parse) and the
 * next input, `next` (`count` bytes), starts with `</` that does not end that element by libxml2's
 * rule in recovery mode (`</` then the element's name, any case). Then the `<` must not be handed
 * to the parser. Returns 1 if so, else 0. */
static inline int satchel_htmlRawTextFalseEndTag(xmlParserCtxtPtr ctxt, const char *next, long count) {
    if (ctxt == NULL || ctxt->name == NULL || ctxt->input == NULL) return 0;
    if (count < 2 || next[0] != '<' || next[1] != '/') return 0;
    if (ctxt->instate != XML_PARSER_CONTENT && ctxt->instate != XML_PARSER_END_TAG) return 0;
    if (!xmlStrEqual(ctxt->name, BAD_CAST "script") && !xmlStrEqual(ctxt->name, BAD_CAST "style")) return 0;
    if (ctxt->input->cur == NULL || ctxt->input->end == NULL || ctxt->input->end != ctxt->input->cur) return 0;
    long length = (long)xmlStrlen(ctxt->name);
    if (count - 2 >= length && xmlStrncasecmp(ctxt->name, (const xmlChar *)next + 2, (int)length) == 0) return 0;
    return 1;
}
#endif
