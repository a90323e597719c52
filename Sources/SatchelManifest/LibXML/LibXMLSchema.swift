import CLibXML2
import Foundation
import Synchronization

/// One compiled XSD (`xmlSchemaParse`), freed in `deinit` (`xmlSchemaFree`). A compiled schema is
/// read-only and shared between threads; each validation gets its own validation context.
final class LibXMLSchema: @unchecked Sendable {
    private let schema: xmlSchemaPtr
    let vocabulary: String

    /// Compiles a schema from memory (`xmlSchemaNewMemParserCtxt`), so libxml2 opens no file and
    /// no URL. Satchel's schemas import nothing.
    init(xsd: [UInt8], vocabulary: String) throws(ManifestError) {
        LibXML.initialize()
        self.vocabulary = vocabulary
        let collector = ErrorCollector(vocabulary: vocabulary)
        let compiled: xmlSchemaPtr? = xsd.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { chars in
                guard let pctxt = xmlSchemaNewMemParserCtxt(chars.baseAddress, Int32(chars.count)) else {
                    return nil
                }
                defer { xmlSchemaFreeParserCtxt(pctxt) }
                xmlSchemaSetParserStructuredErrors(pctxt, ErrorCollector.callback,
                                                   Unmanaged.passUnretained(collector).toOpaque())
                return xmlSchemaParse(pctxt)
            }
        }
        guard let compiled else {
            throw ManifestError(.internal, "bundled schema for \(vocabulary) does not compile: "
                                + (collector.first?.message ?? "unknown error"))
        }
        schema = compiled
    }

    deinit { xmlSchemaFree(schema) }

    /// `xmlSchemaValidateDoc` with errors collected on this validation context only.
    func validate(_ document: LibXMLDocument) throws(ManifestError) {
        guard let vctxt = xmlSchemaNewValidCtxt(schema) else {
            throw ManifestError(.internal, "libxml2 could not create a schema validation context")
        }
        defer { xmlSchemaFreeValidCtxt(vctxt) }
        let collector = ErrorCollector(vocabulary: vocabulary)
        xmlSchemaSetValidStructuredErrors(vctxt, ErrorCollector.callback,
                                          Unmanaged.passUnretained(collector).toOpaque())
        let rc = withExtendedLifetime(collector) { xmlSchemaValidateDoc(vctxt, document.doc) }
        if let first = collector.first { throw first }
        if rc != 0 {
            throw ManifestError(.schema, "not a valid \(vocabulary) manifest (libxml2 status \(rc))")
        }
    }

    /// Keeps the first error of one schema parse or validation.
    private final class ErrorCollector {
        let vocabulary: String
        var first: ManifestError?
        init(vocabulary: String) { self.vocabulary = vocabulary }

        static let callback: xmlStructuredErrorFunc = { userData, error in
            guard let userData, let error, error.pointee.level.rawValue >= XML_ERR_ERROR.rawValue else { return }
            let collector = Unmanaged<ErrorCollector>.fromOpaque(userData).takeUnretainedValue()
            if collector.first == nil {
                collector.first = LibXMLErrors.schemaError(error.pointee, vocabulary: collector.vocabulary)
            }
        }
    }
}

/// Compiled schemas by vocabulary, loaded from the package resources on first use.
final class SchemaRegistry: Sendable {
    static let shared = SchemaRegistry()
    private let compiled = Mutex<[String: LibXMLSchema]>([:])

    /// The schema of `vocabulary` at `version` (default: the version this build writes).
    func schema(for vocabulary: Vocabulary, version: Int? = nil) throws(ManifestError) -> LibXMLSchema {
        let version = version ?? vocabulary.version
        let key = vocabulary.namespace(version: version)
        return try compiled.withLock { (compiled) throws(ManifestError) -> LibXMLSchema in
            if let schema = compiled[key] { return schema }
            let schema = try LibXMLSchema(xsd: try Self.resource(vocabulary, version: version), vocabulary: vocabulary.rawValue)
            compiled[key] = schema
            return schema
        }
    }

    /// The schema text shipped in `Schemas/` (see ``Vocabulary/schemaFileName(version:)``).
    static func resource(_ vocabulary: Vocabulary, version: Int? = nil) throws(ManifestError) -> [UInt8] {
        let name = vocabulary.schemaFileName(version: version ?? vocabulary.version)
        guard let url = Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Schemas"),
              let data = try? Data(contentsOf: url) else {
            throw ManifestError(.internal, "bundled schema Schemas/\(name) is missing")
        }
        return [UInt8](data)
    }
}
