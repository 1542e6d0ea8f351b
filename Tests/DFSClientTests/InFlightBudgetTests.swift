import Testing

@testable import DFSClient

/// The counting semaphore that bounds how many blocks an upload sends at once (and how much
/// a tree copy has in flight).
@Suite struct InFlightBudgetTests {
    /// Order in which waiters got their units.
    actor Order {
        var names: [String] = []
        func add(_ name: String) { names.append(name) }
    }

    @Test func takersBeyondTheCapacityWaitAndAreServedInArrivalOrder() async throws {
        let budget = InFlightBudget(capacity: 2)
        await budget.acquire(1)
        await budget.acquire(1)
        let order = Order()
        let first = Task {
            await budget.acquire(1)
            await order.add("first")
        }
        // The second taker comes once the first is queued, so the arrival order is known.
        try await eventuallyTrue { await budget.waiterCount == 1 }
        let second = Task {
            await budget.acquire(1)
            await order.add("second")
        }
        try await eventuallyTrue { await budget.waiterCount == 2 }
        #expect(await order.names.isEmpty)
        await budget.release(1)
        await first.value
        #expect(await order.names == ["first"])
        #expect(await budget.waiterCount == 1)
        await budget.release(1)
        await second.value
        #expect(await order.names == ["first", "second"])
    }

    @Test func aHeavyTakerWaitsForEnoughUnitsAndLaterOnesQueueBehindIt() async throws {
        let budget = InFlightBudget(capacity: 3)
        await budget.acquire(2)
        let heavy = Task { await budget.acquire(3) }
        try await eventuallyTrue { await budget.waiterCount == 1 }
        // One unit is free, but the light taker must not pass the heavy one waiting first.
        let light = Task { await budget.acquire(1) }
        try await eventuallyTrue { await budget.waiterCount == 2 }
        await budget.release(2)
        await heavy.value
        #expect(await budget.waiterCount == 1)
        await budget.release(3)
        await light.value
        #expect(await budget.waiterCount == 0)
    }

    /// Polls `condition` until it holds, failing after 10 s.
    func eventuallyTrue(_ condition: () async -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while await !condition() {
            guard ContinuousClock.now < deadline else {
                Issue.record("condition did not hold within 10 s")
                return
            }
            try await Task.sleep(for: .milliseconds(5))
        }
    }
}
