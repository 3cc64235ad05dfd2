import Collector
import Foundation
import HeartbeatTestSupport
import Protocol
import Sidecar
import Testing

/// What a hostile or careless client can send the sidecar, against real PostgreSQL: no database
/// text (which can quote a row and its secret) reaches a client, a bad query parameter is a 400
/// that costs no pooled connection, tokens are checked as documented.
@Suite("HTTP sidecar: hostile requests and access control", .serialized)
struct HardeningTests {
    static let adminToken = "hardening-admin-token-0123456789"
    static let readToken = "hardening-read-token-0123456789"
    static let admin = ["Authorization": "Bearer \(adminToken)"]

    func object(_ result: HTTPResult) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(result.body)) as? [String: Any], "\(result.text)")
    }

    func createSigned(_ running: RunningSidecar, name: String = "secretive") throws -> (uuid: String, secret: String) {
        let created = try httpRequest(
            port: running.port, "/v1/apps", method: "POST", headers: Self.admin.merging(["Content-Type": "application/json"]) { $1 },
            body: Array(#"{"name":"\#(name)","signed":true}"#.utf8))
        let app = try object(created)
        return (try #require(app["uuid"] as? String), try #require(app["secret"] as? String))
    }

    @Test("a name of 101 graphemes but 202 code points is a 400 in our words; no database text, no secret")
    func combiningCharactersName() async throws {
        try await RunningSidecar.with(adminToken: Self.adminToken) { running in
            let (uuid, secret) = try createSigned(running)
            let name = String(repeating: "e\u{301}", count: 101)
            #expect(name.count == 101 && name.unicodeScalars.count == 202)
            let answer = try httpRequest(
                port: running.port, "/v1/apps/\(uuid)", method: "PATCH", headers: Self.admin,
                body: try JSONSerialization.data(withJSONObject: ["name": name]).map { $0 })
            #expect(answer.status == 400, "\(answer.text)")
            #expect(answer.text.contains("code points"))
            #expect(!answer.text.contains("Failing row") && !answer.text.contains(String(secret.prefix(16))), "\(answer.text)")
        }
    }

    @Test("a value the database refuses is a 409 naming the rule, never PostgreSQL's DETAIL with the row")
    func constraintViolationIsOurs() async throws {
        try await RunningSidecar.with(adminToken: Self.adminToken) { running in
            let (uuid, secret) = try createSigned(running)
            // A rule the API does not know about (an operator's own constraint).
            try running.connection.query("ALTER TABLE application ADD CONSTRAINT no_forbidden_names CHECK (name <> 'forbidden')")
            let answer = try httpRequest(port: running.port, "/v1/apps/\(uuid)", method: "PATCH", headers: Self.admin, body: Array(#"{"name":"forbidden"}"#.utf8))
            #expect(answer.status == 409, "\(answer.text)")
            #expect(try object(answer)["message"] as? String == "the change breaks a rule of the registry (no_forbidden_names)")
            #expect(!answer.text.contains("Failing row") && !answer.text.contains("DETAIL"))
            #expect(!answer.text.lowercased().contains(String(secret.prefix(8))))
            // The pooled connection survived the refusal: the next read answers at once.
            #expect(try httpRequest(port: running.port, "/v1/apps/\(uuid)").status == 200)
        }
    }

    @Test("names with control characters or bidirectional overrides are refused", arguments: [
        "tab\there", "nul\u{0}", "bell\u{7}", "del\u{7F}", "c1\u{85}", "rlo\u{202E}txt.exe", "isolate\u{2066}x",
    ])
    func unsafeNames(name: String) async throws {
        #expect(ApplicationStore.nameProblem(name) != nil)
        #expect(ApplicationStore.nameProblem(String(repeating: "é", count: 200)) == nil)
        #expect(ApplicationStore.nameProblem(String(repeating: "x", count: 201)) != nil)
        #expect(ApplicationStore.nameProblem("") != nil)
    }

    @Test("events?before= outside years 1-9999 is a 400, and the connection pool is none the worse")
    func extremeBefore() async throws {
        try await RunningSidecar.with { running in
            for before in ["-9223372036854775808", "9223372036854775807", "-62135596800000001"] {
                let answer = try httpRequest(port: running.port, "/v1/apps/\(running.application)/events?before=\(before)")
                #expect(answer.status == 400, "\(before): \(answer.status) \(answer.text)")
            }
            #expect(try httpRequest(port: running.port, "/v1/apps/\(running.application)/events?before=0").status == 200)
        }
    }

    @Test("rotate-secret on an unsigned application is a 409 that says to PATCH signed; PATCH signed gives it a secret")
    func rotateUnsigned() async throws {
        try await RunningSidecar.with(adminToken: Self.adminToken) { running in
            let uuid = "\(running.application)"
            let rotate = try httpRequest(port: running.port, "/v1/apps/\(uuid)/rotate-secret", method: "POST", headers: Self.admin)
            #expect(rotate.status == 409)
            let message = try object(rotate)["message"] as? String ?? ""
            #expect(message.contains(#"{"signed": true}"#), "\(message)")
            #expect(try running.connection.query("SELECT secret IS NULL FROM application WHERE uuid = '\(uuid)'") == [["t"]])
            let signed = try httpRequest(port: running.port, "/v1/apps/\(uuid)", method: "PATCH", headers: Self.admin, body: Array(#"{"signed":true}"#.utf8))
            #expect(signed.status == 200)
            let secret = try #require(try object(signed)["secret"] as? String)
            #expect(try running.connection.query("SELECT encode(secret, 'hex') FROM application WHERE uuid = '\(uuid)'") == [[secret]])
            let again = try httpRequest(port: running.port, "/v1/apps/\(uuid)", method: "PATCH", headers: Self.admin, body: Array(#"{"signed":true}"#.utf8))
            #expect(try object(again)["secret"] == nil, "an application already signed keeps its secret")
            let unsigned = try httpRequest(port: running.port, "/v1/apps/\(uuid)", method: "PATCH", headers: Self.admin, body: Array(#"{"signed":false}"#.utf8))
            #expect(try object(unsigned)["signed"] as? Bool == false)
        }
    }

    @Test("the auth scheme is case-insensitive and a 401 names it in WWW-Authenticate")
    func bearerScheme() async throws {
        try await RunningSidecar.with(adminToken: Self.adminToken) { running in
            let lower = try httpRequest(port: running.port, "/v1/apps/\(running.application)/pause", method: "POST", headers: ["Authorization": "bearer \(Self.adminToken)"])
            #expect(lower.status == 200, "\(lower.text)")
            let missing = try httpRequest(port: running.port, "/v1/apps/\(running.application)/pause", method: "POST")
            #expect(missing.status == 401)
            #expect(missing.headers["www-authenticate"] == #"Bearer realm="heartbeat""#)
        }
    }

    @Test("with a read token: reads need it (or the admin token, or the page's cookie); health stays open")
    func readToken() async throws {
        try await RunningSidecar.with(adminToken: Self.adminToken, readToken: Self.readToken) { running in
            let app = "/v1/apps/\(running.application)"
            for path in ["/v1/apps", app, app + "/events", app + "/transitions", "/v1/summary", "/metrics", "/"] {
                let none = try httpRequest(port: running.port, path)
                #expect(none.status == 401, "\(path) without a token")
                #expect(none.headers["www-authenticate"] != nil)
                #expect(try httpRequest(port: running.port, path, headers: ["Authorization": "Bearer wrong-token-0123456789"]).status == 403, "\(path)")
                #expect(try httpRequest(port: running.port, path, headers: ["Authorization": "Bearer \(Self.readToken)"]).status == 200, "\(path)")
                #expect(try httpRequest(port: running.port, path, headers: Self.admin).status == 200, "\(path) with the admin token")
            }
            for path in ["/healthz", "/readyz"] { #expect(try httpRequest(port: running.port, path).status == 200, "\(path)") }
            // The read token does not manage.
            let readerManaging = try httpRequest(port: running.port, app + "/pause", method: "POST", headers: ["Authorization": "Bearer \(Self.readToken)"])
            #expect(readerManaging.status == 403)
            // A browser: ?token= once sets an HttpOnly, SameSite=Strict cookie and drops the token from the address.
            #expect(try httpRequest(port: running.port, "/?token=wrong").status == 403)
            let landing = try httpRequest(port: running.port, "/?token=\(Self.readToken)")
            #expect(landing.status == 303 && landing.headers["location"] == "/")
            let cookie = try #require(landing.headers["set-cookie"])
            #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && !cookie.contains(Self.readToken))
            let pair = String(cookie.split(separator: ";")[0])
            #expect(try httpRequest(port: running.port, "/", headers: ["Cookie": pair]).status == 200)
            #expect(try httpRequest(port: running.port, "/v1/summary", headers: ["Cookie": pair]).status == 200)
            #expect(try httpRequest(port: running.port, "/", headers: ["Cookie": "heartbeat_read=forged"]).status == 401)
        }
    }

    @Test("300 history reads with a different nonce each share one cache entry; the order of known parameters does not matter")
    func cacheKeyIsNormalized() async throws {
        try await RunningSidecar.with { running in
            func metric(_ name: String) throws -> Double {
                let page = try httpRequest(port: running.port, "/metrics").text
                let line = try #require(page.split(separator: "\n").first { $0.hasPrefix(name + " ") })
                return Double(line.split(separator: " ").last!)!
            }
            let path = "/v1/apps/\(running.application)/events"
            let started = Date()
            for nonce in 0..<300 { #expect(try httpRequest(port: running.port, "\(path)?limit=1000&nonce=\(nonce)").status == 200) }
            _ = try httpRequest(port: running.port, "\(path)?nonce=x&limit=1000")
            let seconds = Date().timeIntervalSince(started)
            #expect(try metric("heartbeat_api_cache_entries") == 1)
            // One query per second the reads took (the cache's TTL), not one per nonce.
            let misses = try metric("heartbeat_api_cache_misses_total")
            #expect(misses >= 1 && misses <= seconds.rounded(.up) + 1, "\(misses) misses in \(seconds) s")
        }
    }
}
