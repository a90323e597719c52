// Manifest throughput: canonical writes and hardened reads (parse + XSD validation + typed decode)
// per second, for a typical message manifest and a 10,000-patient directory.
//
//   swift build -c release --scratch-path .build-xml
//   .build-xml/release/ManifestBench [seconds-per-measurement]
import Foundation
import SatchelManifest
import SatchelStore

let secondsPerRun = CommandLine.arguments.count > 1 ? Double(CommandLine.arguments[1]) ?? 1 : 1

func objectID(_ n: Int) -> ObjectID {
    ObjectID.compute(kind: .blob, payload: Array("object \(n)".utf8))
}

let message = MessageManifest(
    id: "m-01HX3Q9W2K", thread: "t-01HX3Q9V7Z",
    author: .init(id: "s-ada", kind: .staff), sent: Timestamp("2026-05-01T10:00:00.125Z")!,
    recipients: (1...10).map { "u-\(1000 + $0)" }, toStaff: ["s-ben", "s-cho"],
    subject: "Your lab results from April 28 & next steps",
    body: BodyReference(object: objectID(0), format: .rich, length: 2_345),
    attachments: [
        AttachmentReference(name: "lab-results.pdf", mediaType: "application/pdf", size: 182_734, object: objectID(1), sha256: objectID(1).hex),
        AttachmentReference(name: "x-ray front.jpg", mediaType: "image/jpeg", size: 2_348_122, object: objectID(2), sha256: objectID(2).hex),
        AttachmentReference(name: "instructions.txt", mediaType: "text/plain; charset=utf-8", size: 4_312, object: objectID(3), sha256: objectID(3).hex),
    ])

func directory(patients: Int) -> Directory {
    var d = Directory(settings: .init(
        defaultAllowReplies: true, labels: [.init(key: "patient", value: "Client")],
        notificationTemplates: [.init(id: "default", channel: .email, text: "You have a new secure message: {{link}}"),
                                .init(id: "default-sms", channel: .sms, text: "New secure message: {{link}}")],
        messageTemplates: [.init(id: "labs", subject: "Your lab results", body: "Your results are ready.\nPlease log in.")]))
    d.staff = (0..<50).map { .init(id: "s\($0)", name: "Staff Member \($0)", permissions: $0 % 5 == 0 ? [.sendBulkPortalMessage] : []) }
    d.distributionLists = (0..<5).map { l in .init(id: "list\(l)", name: "List \(l)", members: (0..<8).map { "s\(l * 8 + $0)" }) }
    for p in 0..<patients {
        d.patients.append(.init(id: "p\(p)", name: "Patient Number \(p)", status: p % 7 == 0 ? .discharged : .active,
                                email: "patient\(p)@example.org", cell: p % 3 == 0 ? "+1555\(100_000 + p)" : nil,
                                portalAccess: p % 11 != 0))
        d.portalUsers.append(.init(id: "u\(p)", patient: "p\(p)", role: .patient, active: true, name: "Patient Number \(p)"))
        if p % 4 == 0 {
            d.portalUsers.append(.init(id: "u\(p)r", patient: "p\(p)", role: .authorizedRepresentative,
                                       active: p % 8 == 0, name: "Representative of \(p)"))
        }
    }
    return d
}

/// Runs `body` repeatedly for about `secondsPerRun`, three times; returns the median rate per second.
func rate(_ body: () throws -> Void) rethrows -> Double {
    var rates: [Double] = []
    for _ in 0..<3 {
        var count = 0
        let start = DispatchTime.now().uptimeNanoseconds
        var elapsed = 0.0
        repeat {
            try body()
            count += 1
            elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        } while elapsed < secondsPerRun
        rates.append(Double(count) / elapsed)
    }
    return rates.sorted()[1]
}

func report<M: Manifest>(_ label: String, _ value: M) throws {
    let bytes = try value.encoded()
    guard try M.decode(bytes) == value else { fatalError("round trip failed for \(label)") }
    let write = try rate { _ = try value.encoded() }
    let writeHash = try rate { _ = try value.objectID() }
    let untrusted = try rate { _ = try M.decode(bytes, trust: .untrusted) }
    let trusted = try rate { _ = try M.decode(bytes, trust: .trusted) }
    let mb = Double(bytes.count) / 1e6
    func row(_ what: String, _ r: Double) -> String {
        String(format: "| %@ | %@ | %.0f/s | %.1f MB/s |", label, what, r, r * mb)
    }
    print(String(format: "%@: %d bytes canonical", label, bytes.count))
    print(row("write (canonical encode)", write))
    print(row("write + ObjectID (SHA-256)", writeHash))
    print(row("read untrusted (parse + XSD + decode)", untrusted))
    print(row("read trusted (parse + decode)", trusted))
}

print("| manifest | operation | rate | throughput |")
print("|---|---|---|---|")
try report("message (10 recipients, 3 attachments)", message)
try report("directory (10,000 patients, 12,500 portal users)", directory(patients: 10_000))
