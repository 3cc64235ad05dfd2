/// When a lane tries again to record its batch's outcomes after PostgreSQL refused the write (a
/// connection refused for too many clients, a restart, a dropped link). The messages are already
/// sent: a mark that waited for the rows' lease to run out would hold every later notification of
/// those applications on that channel for up to a minute, and then send the batch a second time.
/// So the lane tries again after 0.1 s, doubling to 2 s, for as long as ``budgetSeconds`` allows —
/// a third of the lease, which the rows still hold (their lease was renewed at most a third of it
/// before the sending ended). After that the rows keep their leases and are sent again when they
/// run out, with the same dedupe ids.
struct OutcomeMarkRetry {
    /// How long after the first failure the lane keeps trying.
    let budgetSeconds: Double

    /// The lease of claimed rows, seconds: the budget is a third of it.
    init(leaseSeconds: Int) {
        budgetSeconds = Double(leaseSeconds) / 3
    }

    /// The wait before the next try after `failures` failed tries (1 or more), `elapsedSeconds`
    /// after the first one failed; nil when the budget would be spent before it ends.
    func delay(afterFailures failures: Int, elapsedSeconds: Double) -> Double? {
        let wait = min(0.1 * Double(1 << min(max(failures - 1, 0), 5)), 2)
        return elapsedSeconds + wait <= budgetSeconds ? wait : nil
    }
}
