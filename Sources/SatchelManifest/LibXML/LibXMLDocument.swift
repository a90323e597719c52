import CLibXML2

/// Owns one parsed `xmlDoc` and frees it in `deinit` (`xmlFreeDoc`). No pointer leaves this type:
/// callers get the root's namespace and a ``ManifestElement`` tree.
final class LibXMLDocument {
    let doc: xmlDocPtr

    init(taking doc: xmlDocPtr) { self.doc = doc }

    deinit { xmlFreeDoc(doc) }

    /// Refuses what the SAX guards can't see on their own: a DOCTYPE that slipped through, a
    /// declared encoding other than UTF-8, a missing root.
    func checkProlog() throws(ManifestError) {
        if doc.pointee.intSubset != nil || doc.pointee.extSubset != nil {
            throw ManifestError(.doctype, "DOCTYPE is not allowed in a manifest", line: 1)
        }
        if let declared = LibXML.string(doc.pointee.encoding),
           declared.uppercased() != "UTF-8", declared.uppercased() != "UTF8" {
            throw ManifestError(.encoding, "declared encoding \(declared) is not UTF-8", line: 1)
        }
        if xmlDocGetRootElement(doc) == nil {
            throw ManifestError(.malformed, "document has no root element", line: 1)
        }
    }

    private var root: xmlNodePtr { xmlDocGetRootElement(doc)! }

    /// Local name, namespace URI and position of the root element (for the vocabulary check, which
    /// runs before schema validation).
    var rootIdentity: (name: String, namespace: String?, line: Int, column: Int) {
        let node = root
        return (LibXML.string(node.pointee.name) ?? "",
                node.pointee.ns.flatMap { LibXML.string($0.pointee.href) },
                Int(xmlGetLineNo(node)), Int(bitPattern: node.pointee._private))
    }

    /// Converts the tree to ``ManifestElement``s, refusing entity references and processing
    /// instructions wherever they are (belt and braces: the SAX guards already stop at them).
    func rootElement() throws(ManifestError) -> ManifestElement {
        try Self.convert(root)
    }

    private static func convert(_ node: xmlNodePtr) throws(ManifestError) -> ManifestElement {
        let line = Int(xmlGetLineNo(node))
        let column = Int(bitPattern: node.pointee._private)
        var element = ManifestElement(
            name: LibXML.string(node.pointee.name) ?? "",
            namespace: node.pointee.ns.flatMap { LibXML.string($0.pointee.href) },
            line: max(line, 0), column: column)
        var attr = node.pointee.properties
        while let a = attr {
            var value = ""
            var child = a.pointee.children
            while let c = child {
                guard c.pointee.type == XML_TEXT_NODE else {
                    throw ManifestError(.entity, "entity reference in attribute of <\(element.name)>",
                                        line: line, column: column)
                }
                value += LibXML.string(c.pointee.content) ?? ""
                child = c.pointee.next
            }
            element.attributes.append(.init(
                name: LibXML.string(a.pointee.name) ?? "",
                namespace: a.pointee.ns.flatMap { LibXML.string($0.pointee.href) },
                value: value))
            attr = a.pointee.next
        }
        var child = node.pointee.children
        while let c = child {
            switch c.pointee.type {
            case XML_ELEMENT_NODE:
                element.children.append(try convert(c))
            case XML_TEXT_NODE, XML_CDATA_SECTION_NODE:
                element.text += LibXML.string(c.pointee.content) ?? ""
            case XML_COMMENT_NODE:
                break
            case XML_ENTITY_REF_NODE, XML_ENTITY_NODE:
                throw ManifestError(.entity, "entity reference inside <\(element.name)>",
                                    line: line, column: column)
            default:
                throw ManifestError(.forbiddenNode, "unexpected node kind inside <\(element.name)>",
                                    line: line, column: column)
            }
            child = c.pointee.next
        }
        return element
    }
}
