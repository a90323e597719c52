import ArgumentParser

public struct SatchelCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "satchel",
        abstract: "Offline-first storage and sync for patient-portal secure messaging."
    )
    public init() {}
    public func run() async throws {}
}
