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

/* xmlFree is a mutable global function pointer (a Swift 6 error to touch directly). */
static inline void satchel_xmlFree(void *p) { xmlFree(p); }

/* xmlParserVersion is a macro. */
static inline const char *satchel_xmlParserVersion(void) { return xmlParserVersion; }
#endif
