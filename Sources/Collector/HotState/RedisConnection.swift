import CHiredis

#if canImport(Glibc)
import Glibc
#endif

/// A failure reported by Redis or hiredis.
public struct RedisError: Error, CustomStringConvertible {
    /// What was being done ("connect", "command", …).
    public let operation: String
    /// The server's or hiredis's message.
    public let message: String

    public init(operation: String, message: String) {
        self.operation = operation
        self.message = message
    }

    public var description: String { "Redis \(operation) failed: \(message)" }
}

/// A Redis reply, copied out of hiredis's reply tree.
public enum RedisReply: Equatable, Sendable {
    case status(String)
    case error(String)
    case integer(Int64)
    case bulk([UInt8])
    case null
    case array([RedisReply])

    /// The reply as text, for status and bulk replies.
    public var text: String? {
        switch self {
        case .status(let text): text
        case .bulk(let bytes): String(decoding: bytes, as: UTF8.self)
        default: nil
        }
    }
}

/// One blocking hiredis connection, used from one thread at a time. Commands go out with
/// `redisAppendCommandArgv` (Swift cannot call hiredis's variadic functions) and replies are read
/// with `redisGetReply`, which also makes pipelining possible.
public final class RedisConnection {
    private let context: UnsafeMutablePointer<redisContext>

    /// hiredis writes with `write()`, so a write to a Redis that went away raises SIGPIPE, whose
    /// default action ends the process. Ignored once per process, before the first connection: the
    /// write then fails with EPIPE, which is reported as an error and answered by reconnecting.
    /// (`heartbeat run` restores the default for the jobs it starts.)
    private static let brokenPipeIgnored: Void = {
        _ = signal(SIGPIPE, SIG_IGN)
    }()

    /// Connects to `host`:`port`, waiting at most `timeoutMillis` for the connection and, after
    /// that, for each reply (a hung server is an error, never a thread blocked for good).
    public init(host: String, port: Int, timeoutMillis: Int = 2_000) throws(RedisError) {
        _ = Self.brokenPipeIgnored
        let timeout = timeval(tv_sec: timeoutMillis / 1000, tv_usec: (timeoutMillis % 1000) * 1000)
        guard let context = redisConnectWithTimeout(host, Int32(port), timeout) else {
            throw RedisError(operation: "connect", message: "hiredis could not allocate a context")
        }
        guard context.pointee.err == 0 else {
            let message = Self.contextError(context)
            redisFree(context)
            throw RedisError(operation: "connect", message: "\(host):\(port): \(message)")
        }
        redisSetTimeout(context, timeout)
        // Keep the reply buffer however large a reply made it: by default hiredis frees a drained
        // buffer over 16 KiB, and a hot-state round reads megabytes of stream entries, so every
        // round paid for mapping, faulting in and unmapping it again.
        context.pointee.reader.pointee.maxbuf = 0
        self.context = context
    }

    /// Connects to a `redis://[[user]:password@]host:port[/db]` URL, authenticating first when it
    /// carries a password.
    public convenience init(url: String) throws(RedisError) {
        guard let endpoint = RedisURL(url) else {
            throw RedisError(operation: "connect", message: "not a redis://[[USER]:PASSWORD@]HOST:PORT[/DB] URL: \(RedisURL.redacted(url))")
        }
        try self.init(host: endpoint.host, port: endpoint.port)
        if let password = endpoint.password {
            let reply = try command(endpoint.user.map { ["AUTH", $0, password] } ?? ["AUTH", password])
            if case .error(let message) = reply {
                throw RedisError(operation: "authenticate", message: message)
            }
        }
        if endpoint.database != 0 {
            let reply = try command(["SELECT", String(endpoint.database)])
            if case .error(let message) = reply {
                throw RedisError(operation: "select database \(endpoint.database)", message: message)
            }
        }
    }

    deinit {
        redisFree(context)
    }

    /// Sends one command and waits for its reply. A Redis error reply is returned as
    /// ``RedisReply/error(_:)``; a broken connection throws.
    public func command(_ arguments: [String]) throws(RedisError) -> RedisReply {
        try append(arguments)
        return try readReply()
    }

    /// Queues one command in the output buffer without waiting (pipelining); read its reply later
    /// with ``readReply()``, in order.
    public func append(_ arguments: [String]) throws(RedisError) {
        try append(bytes: arguments.map { Array($0.utf8) })
    }

    /// Queues one command whose arguments are raw bytes (binary values, e.g. packed arrays).
    public func append(bytes: [[UInt8]]) throws(RedisError) {
        let status: Int32 = withCStringArray(bytes) { pointers, lengths in
            redisAppendCommandArgv(context, Int32(bytes.count), pointers, lengths)
        }
        guard status == REDIS_OK else {
            throw RedisError(operation: "command", message: Self.contextError(context))
        }
    }

    /// Queues one command already in the wire protocol (see ``RESPWriter``).
    func appendFormatted(_ command: [UInt8]) throws(RedisError) {
        let status = command.withUnsafeBytes { raw in
            redisAppendFormattedCommand(context, raw.baseAddress!.assumingMemoryBound(to: CChar.self), raw.count)
        }
        guard status == REDIS_OK else {
            throw RedisError(operation: "command", message: Self.contextError(context))
        }
    }

    /// Writes the queued commands to the socket now (blocking until all are written), so a long
    /// pipeline goes out a piece at a time: hiredis's output buffer stays as small as one command
    /// instead of growing to the whole pipeline and being freed after it.
    func flush() throws(RedisError) {
        var done: Int32 = 0
        while done == 0 {
            guard redisBufferWrite(context, &done) == REDIS_OK else {
                throw RedisError(operation: "write", message: Self.contextError(context))
            }
        }
    }

    /// Reads the next reply (flushing queued commands first).
    public func readReply() throws(RedisError) -> RedisReply {
        var raw: UnsafeMutableRawPointer?
        guard redisGetReply(context, &raw) == REDIS_OK, let raw else {
            throw RedisError(operation: "reply", message: Self.contextError(context))
        }
        defer { freeReplyObject(raw) }
        return Self.copy(raw.assumingMemoryBound(to: redisReply.self))
    }

    private func withCStringArray<Result>(
        _ arguments: [[UInt8]],
        _ body: (UnsafeMutablePointer<UnsafePointer<CChar>?>, UnsafePointer<Int>) -> Result
    ) -> Result {
        var pointers = [UnsafePointer<CChar>?]()
        var lengths = [Int]()
        let storage = arguments.map { argument -> UnsafeMutablePointer<CChar> in
            let pointer = UnsafeMutablePointer<CChar>.allocate(capacity: max(argument.count, 1))
            argument.withUnsafeBytes { bytes in
                UnsafeMutableRawPointer(pointer).copyMemory(from: bytes.baseAddress ?? UnsafeRawPointer(pointer), byteCount: argument.count)
            }
            pointers.append(UnsafePointer(pointer))
            lengths.append(argument.count)
            return pointer
        }
        defer { storage.forEach { $0.deallocate() } }
        return pointers.withUnsafeMutableBufferPointer { pointerBuffer in
            lengths.withUnsafeBufferPointer { lengthBuffer in
                body(pointerBuffer.baseAddress!, lengthBuffer.baseAddress!)
            }
        }
    }

    private static func copy(_ reply: UnsafeMutablePointer<redisReply>) -> RedisReply {
        let value = reply.pointee
        switch value.type {
        case REDIS_REPLY_STATUS: return .status(string(value))
        case REDIS_REPLY_ERROR: return .error(string(value))
        case REDIS_REPLY_INTEGER: return .integer(Int64(value.integer))
        case REDIS_REPLY_STRING:
            return .bulk(Array(UnsafeRawBufferPointer(start: value.str, count: Int(value.len))))
        case REDIS_REPLY_ARRAY:
            return .array((0..<Int(value.elements)).map { copy(value.element[$0]!) })
        default: return .null
        }
    }

    private static func string(_ reply: redisReply) -> String {
        String(decoding: UnsafeRawBufferPointer(start: reply.str, count: Int(reply.len)), as: UTF8.self)
    }

    private static func contextError(_ context: UnsafeMutablePointer<redisContext>) -> String {
        withUnsafeBytes(of: context.pointee.errstr) { bytes in
            String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
    }
}
