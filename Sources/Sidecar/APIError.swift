import Foundation
import Hummingbird

/// Every 4xx/5xx the sidecar sends: `{"error": code, "message": …}` with a stable code.
struct APIError: Error, HTTPResponseError {
    let status: HTTPResponse.Status
    let code: String
    let message: String
    /// `Retry-After` (seconds) for a 503 that will pass, or a 429.
    var retryAfterSeconds: Int?
    /// `Allow` for a 405: the methods the path takes.
    var allow: [String] = []

    init(status: HTTPResponse.Status, code: String, message: String, retryAfterSeconds: Int? = nil, allow: [String] = []) {
        self.status = status
        self.code = code
        self.message = message
        self.retryAfterSeconds = retryAfterSeconds
        self.allow = allow
    }

    static func badRequest(_ message: String) -> APIError { APIError(status: .badRequest, code: "bad_request", message: message) }
    static func notFound(_ message: String = "no such resource") -> APIError { APIError(status: .notFound, code: "not_found", message: message) }
    static let unauthorized = APIError(status: .unauthorized, code: "unauthorized", message: "an admin bearer token is required (Authorization: Bearer …)")
    static let forbidden = APIError(status: .forbidden, code: "forbidden", message: "the admin token is not valid")
    static let unauthorizedRead = APIError(
        status: .unauthorized, code: "unauthorized", message: "a read token is required (Authorization: Bearer …, or open the status page once with ?token=…)")
    static let forbiddenRead = APIError(status: .forbidden, code: "forbidden", message: "the token is neither the read token nor the admin token")
    static func tooLarge(_ limit: Int) -> APIError { APIError(status: .contentTooLarge, code: "too_large", message: "the body exceeds \(limit) bytes") }
    static func unavailable(_ message: String) -> APIError { APIError(status: .serviceUnavailable, code: "unavailable", message: message) }
    static func internalError(_ message: String) -> APIError { APIError(status: .internalServerError, code: "internal", message: message) }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        let body = (try? JSONSerialization.data(withJSONObject: ["error": code, "message": message], options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        var headers: HTTPFields = [.contentType: "application/json", .cacheControl: "no-store"]
        // RFC 9110 section 11.6.1: a 401 names the scheme the client should use.
        if status == .unauthorized { headers[.wwwAuthenticate] = #"Bearer realm="heartbeat""# }
        if let retryAfterSeconds { headers[.retryAfter] = String(retryAfterSeconds) }
        if !allow.isEmpty { headers[.allow] = allow.joined(separator: ", ") }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}

/// Turns every error a handler (or the router) throws into an ``APIError`` body: unknown routes
/// and methods, oversized bodies, and anything unexpected (500, logged nowhere else).
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The routes, for telling an unknown path (404) from a method the path does not take (405).
    let routes: RouteTable

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            throw error
        } catch let error as HTTPError {
            switch error.status {
            case .notFound:
                let allowed = routes.methods(for: request.uri.path)
                guard allowed.isEmpty else {
                    throw APIError(
                        status: .methodNotAllowed, code: "method_not_allowed", message: "\(request.method) is not allowed on \(request.uri.path)",
                        allow: allowed)
                }
                throw APIError.notFound("no route for \(request.method) \(request.uri.path)")
            case .methodNotAllowed: throw APIError(status: .methodNotAllowed, code: "method_not_allowed", message: "\(request.method) is not allowed on \(request.uri.path)")
            case .contentTooLarge: throw APIError(status: .contentTooLarge, code: "too_large", message: "the body is too large")
            default: throw APIError(status: error.status, code: "http_\(error.status.code)", message: error.body ?? error.status.reasonPhrase)
            }
        } catch {
            throw APIError.internalError("\(error)")
        }
    }
}
