import Protocol

/// The applications a load run speaks for, derived from a seed so that a registration step and
/// the load generator agree without sharing a file: application `i`'s UUID (and, when signed, its
/// secret) are the `i`-th draws of SplitMix64 seeded with `seed`, in the order UUID then secret.
/// `heartbeat load --print-apps` prints the list for registration.
struct LoadPlan {
    /// One application of the plan.
    struct Application {
        let uuid: ApplicationUUID
        let secret: ApplicationSecret?
    }

    let applications: [Application]

    init(count: Int, seed: UInt64, signed: Bool) {
        var generator = SplitMix64(seed: seed)
        applications = (0..<count).map { _ in
            let uuid = ApplicationUUID.random(using: &generator)
            let secret = signed
                ? ApplicationSecret(bytes: (0..<4).flatMap { _ in withUnsafeBytes(of: (generator.next() as UInt64).bigEndian, Array.init) })
                : nil
            return Application(uuid: uuid, secret: secret)
        }
    }
}
