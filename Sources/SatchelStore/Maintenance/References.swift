/// How the store finds the objects a manifest points at without knowing any vocabulary: every
/// manifest names the objects it depends on by writing their IDs as `sha256:<64 hex>`. Scanning
/// for that token is conservative (a mention keeps an object alive), which is what gc wants.
public enum References {
    /// Object IDs written in `payload` as `sha256:<64 lowercase hex>`.
    public static func scan(_ payload: [UInt8]) -> [ObjectID] {
        let prefix = Array("sha256:".utf8)
        var found: [ObjectID] = []
        var i = 0
        let end = payload.count - prefix.count - 64
        guard end >= 0 else { return [] }
        while i <= end {
            if payload[i] == 0x73, payload[(i)..<(i + prefix.count)].elementsEqual(prefix) {
                let hexStart = i + prefix.count
                let hex = payload[hexStart..<(hexStart + 64)]
                if hex.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }),
                   let id = ObjectID(hex: String(decoding: hex, as: UTF8.self)) {
                    found.append(id)
                    i = hexStart + 64
                    continue
                }
            }
            i += 1
        }
        return found
    }
}
