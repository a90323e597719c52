import SatchelFuzzKit

/// Fuzz driver of the targets that need no server (builds without SwiftNIO and Hummingbird).
@main
struct SatchelFuzzOffline {
    static func main() async {
        await FuzzDriver.main(targets: FuzzTarget.offline) { try $0.makeHarness() }
    }
}
