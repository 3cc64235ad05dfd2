import Atomics

/// One immutable value, swapped whole when a newer one is published: readers on any thread load
/// the current one without locking and never see a half-built one (the registry snapshot, the
/// monitor's liveness view).
public final class AtomicHolder<Value: AtomicReference & Sendable>: Sendable where Value._AtomicBase == Value {
    private let current: ManagedAtomic<Value>

    public init(_ initial: Value) {
        current = ManagedAtomic(initial)
    }

    /// The value in force.
    public var value: Value { current.load(ordering: .acquiring) }

    /// Puts `value` in force.
    public func publish(_ value: Value) {
        current.store(value, ordering: .releasing)
    }
}
