import Synchronization

/// What a sender did with the records it was given. Sending never throws into the caller: every
/// record is either sent or counted here under the reason it was not.
public struct SendStatistics: Hashable, Sendable, CustomStringConvertible {
    /// Records handed to the kernel.
    public var recordsSent: UInt64 = 0
    /// Datagrams handed to the kernel (each holds 1 to 16 records).
    public var datagramsSent: UInt64 = 0
    /// Records dropped because no address was known yet (name not resolved, or resolution failed).
    public var recordsUnresolved: UInt64 = 0
    /// Records dropped because the socket's send buffer was full (the call would have blocked).
    public var recordsDroppedBusy: UInt64 = 0
    /// Records the kernel refused (unreachable network, collector port closed, …).
    public var recordsFailed: UInt64 = 0
    /// Name resolutions that found no usable address.
    public var resolutionFailures: UInt64 = 0
    /// The `errno` of the latest failed send or resolution, 0 if none.
    public var lastErrorNumber: Int32 = 0

    /// All counters at zero.
    public init() {}

    /// Records given to the sender: sent plus every kind of drop.
    public var recordsGiven: UInt64 { recordsSent + recordsUnresolved + recordsDroppedBusy + recordsFailed }

    public var description: String {
        "sent \(recordsSent), unresolved \(recordsUnresolved), busy \(recordsDroppedBusy), failed \(recordsFailed), resolution failures \(resolutionFailures)"
    }
}

/// Lock-free counters behind ``SendStatistics``, shared by the threads that send.
final class SendCounters: Sendable {
    private let sent = Atomic<UInt64>(0)
    private let datagrams = Atomic<UInt64>(0)
    private let unresolved = Atomic<UInt64>(0)
    private let busy = Atomic<UInt64>(0)
    private let failed = Atomic<UInt64>(0)
    private let resolutionFailures = Atomic<UInt64>(0)
    private let lastError = Atomic<Int32>(0)

    func record(_ outcome: SendOutcome, records: Int, datagrams datagramCount: Int = 1) {
        let count = UInt64(records)
        switch outcome {
        case .sent:
            sent.add(count, ordering: .relaxed)
            datagrams.add(UInt64(datagramCount), ordering: .relaxed)
        case .unresolved: unresolved.add(count, ordering: .relaxed)
        case .busy: busy.add(count, ordering: .relaxed)
        case .failed(let error):
            failed.add(count, ordering: .relaxed)
            lastError.store(error, ordering: .relaxed)
        }
    }

    func resolutionFailed(_ error: Int32) {
        resolutionFailures.add(1, ordering: .relaxed)
        lastError.store(error, ordering: .relaxed)
    }

    var snapshot: SendStatistics {
        var statistics = SendStatistics()
        statistics.recordsSent = sent.load(ordering: .relaxed)
        statistics.datagramsSent = datagrams.load(ordering: .relaxed)
        statistics.recordsUnresolved = unresolved.load(ordering: .relaxed)
        statistics.recordsDroppedBusy = busy.load(ordering: .relaxed)
        statistics.recordsFailed = failed.load(ordering: .relaxed)
        statistics.resolutionFailures = resolutionFailures.load(ordering: .relaxed)
        statistics.lastErrorNumber = lastError.load(ordering: .relaxed)
        return statistics
    }
}

/// What became of one send.
enum SendOutcome: Equatable {
    case sent
    case unresolved
    case busy
    case failed(Int32)
}
