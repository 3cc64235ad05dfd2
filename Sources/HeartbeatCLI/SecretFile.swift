import Foundation

/// Secrets read from files, so they stay out of `/proc/<pid>/cmdline` and the environment, where
/// other local users and crash reporters can read them.
enum SecretFile {
    /// The file's contents without trailing white space (a newline from `echo` or an editor).
    /// A missing, unreadable or empty file is a ``UsageError`` naming `setting`.
    static func read(_ path: String, setting: String) throws -> String {
        guard let contents = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw UsageError("\(setting): cannot read '\(path)'")
        }
        var text = Substring(contents)
        while let last = text.last, last.isWhitespace { text = text.dropLast() }
        guard !text.isEmpty else { throw UsageError("\(setting): '\(path)' is empty") }
        return String(text)
    }
}
