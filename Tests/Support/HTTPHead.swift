import Foundation

/// The head of an HTTP/1.1 message as the tests' client and webhook receiver read it.
struct HTTPHead {
    /// The request or status line.
    let firstLine: String
    /// Header fields, names lowercased.
    let fields: [String: String]
    /// Where the body starts in the bytes parsed.
    let bodyStart: Int

    /// Parses `data` up to its blank line; nil while that line has not arrived.
    init?(_ data: [UInt8]) {
        guard data.count >= 4,
            let end = (0...(data.count - 4)).first(where: { data[$0] == 13 && data[$0 + 1] == 10 && data[$0 + 2] == 13 && data[$0 + 3] == 10 })
        else { return nil }
        let lines = String(decoding: data[0..<end], as: UTF8.self).components(separatedBy: "\r\n")
        var fields = [String: String]()
        for line in lines.dropFirst() {
            if let colon = line.firstIndex(of: ":") {
                fields[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        firstLine = lines[0]
        self.fields = fields
        bodyStart = end + 4
    }

    /// `Content-Length`, 0 when absent.
    var contentLength: Int { fields["content-length"].flatMap { Int($0) } ?? 0 }
}
