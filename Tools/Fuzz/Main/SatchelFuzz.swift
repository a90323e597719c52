import SatchelFuzzHTTP
import SatchelFuzzKit

/// Fuzz driver of every target, the HTTP one included (SatchelFuzzKit's ``FuzzDriver``).
@main
struct SatchelFuzz {
    static func main() async {
        await FuzzDriver.main(targets: FuzzTarget.allCases, harness: FuzzHTTP.makeHarness(for:))
    }
}
