import Foundation
import Synchronization
import SatchelStore

/// A progress bar on stderr, drawn only when stdout is a terminal (scripts and `--json` see
/// nothing), redrawn at most ten times a second, erased when done.
final class TerminalProgress: Sendable {
    private let enabled: Bool
    /// When the bar was last drawn, and whether it is on screen.
    private let state = Mutex<(last: Date, drawn: Bool)>((.distantPast, false))

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
        state.withLock { state in
            let now = Date()
            let finished = event.total.map { event.completed >= $0 } ?? false
            guard finished || now.timeIntervalSince(state.last) > 0.1 else { return }
            state = (now, true)
            FileHandle.standardError.write(Data(("\r\u{1B}[K" + Self.render(event)).utf8))
        }
    }

    func done() {
        guard enabled else { return }
        state.withLock { state in
            guard state.drawn else { return }
            FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
        }
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
