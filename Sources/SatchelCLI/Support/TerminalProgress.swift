import Foundation
import SatchelStore

/// A progress bar on stderr, drawn only when stdout is a terminal (scripts and `--json` see
/// nothing), redrawn at most ten times a second, erased when done.
final class TerminalProgress: @unchecked Sendable {
    private let enabled: Bool
    private let lock = NSLock()
    private var last = Date.distantPast
    private var drawn = false

    init(json: Bool) {
        enabled = !json && isatty(1) == 1 && isatty(2) == 1
    }

    /// A handler to pass to the engine.
    var handler: ProgressHandler? {
        guard enabled else { return nil }
        return { @Sendable [self] event in self.update(event) }
    }

    func update(_ event: ProgressEvent) {
        guard enabled else { return }
        lock.lock()
        defer { lock.unlock() }
        let now = Date()
        let finished = event.total.map { event.completed >= $0 } ?? false
        guard finished || now.timeIntervalSince(last) > 0.1 else { return }
        last = now
        drawn = true
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + Self.render(event)).utf8))
    }

    func done() {
        guard enabled, drawn else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }

    static func render(_ event: ProgressEvent, width: Int = 28) -> String {
        let amount: (UInt64) -> String = { event.unit == .bytes ? Output.bytes($0) : String($0) }
        guard let total = event.total, total > 0 else {
            return "\(event.phase): \(amount(event.completed))"
        }
        let fraction = min(1, Double(event.completed) / Double(total))
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
        return "\(event.phase) \(bar) \(Int(fraction * 100))% (\(amount(event.completed))/\(amount(total)))"
    }
}
