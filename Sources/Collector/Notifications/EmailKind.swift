import Foundation

/// `email`: one plain-text message per notification over SMTP (libcurl): the title as the
/// subject, the body as the text. STARTTLS is used when the server offers it (`tls: required`
/// refuses a server that does not; `smtps://` is TLS from the start); AUTH with `username` and the
/// channel's secret as the password.
public enum EmailKind: NotificationKind {
    public static let name = "email"
    /// `smtp_url` (smtp://host:587 or smtps://host:465), `from`, `to` (comma-separated).
    public static let requiredSettings = ["smtp_url", "from", "to"]
    /// `username` (AUTH, with the secret as password); `tls`: `opportunistic` (default) or `required`.
    public static let optionalSettings = ["username", "tls"]
    public static let secretMeaning = "the SMTP password, with settings.username"

    public static func validate(_ channel: NotificationChannel) throws(NotificationChannel.Invalid) {
        let url = channel.settings["smtp_url"] ?? ""
        guard url.hasPrefix("smtp://") || url.hasPrefix("smtps://"), !url.contains(where: \.isWhitespace) else {
            throw NotificationChannel.Invalid(field: "settings.smtp_url", message: "an smtp:// or smtps:// URL")
        }
        guard isAddress(channel.settings["from"] ?? "") else {
            throw NotificationChannel.Invalid(field: "settings.from", message: "one address, like heartbeat@example.com")
        }
        let recipients = recipients(channel)
        guard !recipients.isEmpty, recipients.count <= 50, recipients.allSatisfy(isAddress) else {
            throw NotificationChannel.Invalid(field: "settings.to", message: "1 to 50 comma-separated addresses")
        }
        if let tls = channel.settings["tls"], !["opportunistic", "required"].contains(tls) {
            throw NotificationChannel.Invalid(field: "settings.tls", message: "opportunistic or required")
        }
        if channel.secret != nil, channel.settings["username"] == nil {
            throw NotificationChannel.Invalid(field: "settings.username", message: "required with a secret (the SMTP password)")
        }
    }

    /// A bare address: something@domain, without spaces, angle brackets or line breaks.
    static func isAddress(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        return parts.count == 2 && !parts[0].isEmpty && parts[1].contains(".") && text.utf8.count <= 254
            && !text.contains { $0.isWhitespace || $0 == "<" || $0 == ">" || $0 == "," || $0.isNewline }
    }

    static func recipients(_ channel: NotificationChannel) -> [String] {
        (channel.settings["to"] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// A header value on one line; non-ASCII as an RFC 2047 encoded word.
    static func headerText(_ text: String) -> String {
        let line = text.map { $0.isNewline ? " " : String($0) }.joined()
        guard line.utf8.contains(where: { $0 >= 0x80 }) else { return line }
        return "=?UTF-8?B?" + Data(line.utf8).base64EncodedString() + "?="
    }

    public static func message(for notification: OutgoingNotification) -> OutboundMessage? {
        let channel = notification.channel
        let from = channel.settings["from"] ?? ""
        let recipients = recipients(channel)
        let date = MailDate.rfc5322(seconds: notification.nowMicros / 1_000_000)
        let domain = from.split(separator: "@").last.map(String.init) ?? "heartbeat"
        var text = notification.body.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n")
        if !text.hasSuffix("\r\n") { text += "\r\n" }
        let headers = [
            "From: \(from)",
            "To: \(recipients.joined(separator: ", "))",
            "Subject: \(headerText(notification.title))",
            "Date: \(date)",
            "Message-ID: <heartbeat-\(notification.deliveryID)@\(domain)>",
            "X-Heartbeat-Delivery: \(notification.deliveryID)",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: 8bit",
        ]
        return .email(EmailMessage(
            serverURL: channel.settings["smtp_url"] ?? "", from: from, recipients: recipients, username: channel.settings["username"],
            password: channel.secret, requireTLS: channel.settings["tls"] == "required",
            message: Array((headers.joined(separator: "\r\n") + "\r\n\r\n" + text).utf8)))
    }
}

/// Dates as mail headers write them (RFC 5322: `Tue, 01 Dec 2026 20:26:24 +0000`).
enum MailDate {
    static func rfc5322(seconds: Int64) -> String {
        let days = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let day = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let civil = CivilCalendar.civilFromDays(day)
        let second = seconds - day * 86_400
        func two(_ value: Int64) -> String { CivilCalendar.zeroPadded(value, 2) }
        return "\(days[Int(((day % 7) + 7) % 7)]), \(two(civil.day)) \(months[Int(civil.month) - 1]) \(civil.year) "
            + "\(two(second / 3_600)):\(two(second / 60 % 60)):\(two(second % 60)) +0000"
    }
}
