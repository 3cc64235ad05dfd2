import Collector
import Testing

@Suite("Uptime from transitions: exact, with pauses, new time and window edges")
struct UptimeTests {
    static let hour: Int64 = 3_600_000_000
    static let day: Int64 = 86_400_000_000
    /// 2026-12-01T00:00:00Z.
    static let midnight: Int64 = 1_796_083_200_000_000

    func change(_ hours: Double, _ to: LivenessStatus) -> Uptime.Change {
        Uptime.Change(atMicros: Self.midnight + Int64(hours * Double(Self.hour)), to: to)
    }

    @Test("down 1 h of a 10 h window that was up: 90 %; late counts as up")
    func simple() {
        let changes = [change(2, .late), change(2.5, .down), change(3.5, .up)]
        let uptime = Uptime.over(fromMicros: Self.midnight, toMicros: Self.midnight + 10 * Self.hour, statusAtStart: .up, changes: changes)
        #expect(uptime.downMicros == Self.hour && uptime.lateMicros == Self.hour / 2 && uptime.upMicros == 8 * Self.hour + Self.hour / 2)
        #expect(uptime.ratio == 0.9)
    }

    @Test("paused and new time do not count: down 1 h of 5 counted hours is 80 %")
    func pausesAndNew() {
        // New until 2 h (never heard from), up, paused 4-8 h, down 9-10 h, up again.
        let changes = [change(2, .up), change(4, .paused), change(8, .up), change(9, .down), change(10, .up)]
        let uptime = Uptime.over(fromMicros: Self.midnight, toMicros: Self.midnight + 11 * Self.hour, statusAtStart: .new, changes: changes)
        #expect(uptime.newMicros == 2 * Self.hour && uptime.pausedMicros == 4 * Self.hour)
        #expect(uptime.countedMicros == 5 * Self.hour && uptime.downMicros == Self.hour)
        #expect(uptime.ratio == 0.8)
        let paused = Uptime.over(fromMicros: Self.midnight + 5 * Self.hour, toMicros: Self.midnight + 7 * Self.hour, statusAtStart: .paused, changes: [])
        #expect(paused.ratio == nil, "nothing counted: no figure, not 100 %")
    }

    @Test("window edges: the status at the start carries in, changes outside the window are ignored, a change at the start counts from it")
    func edges() {
        let changes = [change(1, .down), change(5, .up), change(30, .down)]
        // From 3 h (down since 1 h) to 6 h: down 2 h, up 1 h.
        let inside = Uptime.over(fromMicros: Self.midnight + 3 * Self.hour, toMicros: Self.midnight + 6 * Self.hour, statusAtStart: .down, changes: changes)
        #expect(inside.downMicros == 2 * Self.hour && inside.upMicros == Self.hour)
        // A change exactly at the start is the status at the start.
        let atStart = Uptime.over(fromMicros: Self.midnight + 5 * Self.hour, toMicros: Self.midnight + 6 * Self.hour, statusAtStart: .up, changes: changes)
        #expect(atStart.upMicros == Self.hour && atStart.downMicros == 0)
        // A change exactly at the end belongs to the next window.
        let atEnd = Uptime.over(fromMicros: Self.midnight + 29 * Self.hour, toMicros: Self.midnight + 30 * Self.hour, statusAtStart: .up, changes: changes)
        #expect(atEnd.upMicros == Self.hour && atEnd.downMicros == 0)
    }

    @Test("daily series: each UTC day clipped to the window, the status carried across midnight, sums equal to the whole window")
    func daily() {
        // From 18:00 on day 0 to 06:00 on day 3; down from 22:00 on day 0 to 02:00 on day 1, paused all of day 2.
        let changes = [change(22, .down), change(26, .up), change(48, .paused), change(72, .up)]
        let from = Self.midnight + 18 * Self.hour, to = Self.midnight + 3 * Self.day + 6 * Self.hour
        let days = Uptime.daily(fromMicros: from, toMicros: to, statusAtStart: .up, changes: changes)
        #expect(days.map(\.dayStartMicros) == (0..<4).map { Self.midnight + Int64($0) * Self.day })
        #expect(days.map(\.uptime.downMicros) == [2 * Self.hour, 2 * Self.hour, 0, 0])
        #expect(days.map(\.uptime.countedMicros) == [6 * Self.hour, 24 * Self.hour, 0, 6 * Self.hour])
        #expect(days[2].uptime.ratio == nil && days[2].uptime.pausedMicros == Self.day)
        let whole = Uptime.over(fromMicros: from, toMicros: to, statusAtStart: .up, changes: changes)
        #expect(days.reduce(0) { $0 + $1.uptime.downMicros } == whole.downMicros)
        #expect(days.reduce(0) { $0 + $1.uptime.countedMicros + $1.uptime.pausedMicros } == to - from)
    }

    @Test("daily series from changes that begin before its window: the earlier ones set the status it starts in, as over() takes them")
    func dailyFromEarlierChanges() {
        // Down from 06:00 on day 0 until 12:00 on day 1; the series starts at midnight of day 1.
        let changes = [change(6, .down), change(36, .up)]
        let from = Self.midnight + Self.day, to = Self.midnight + 2 * Self.day
        let days = Uptime.daily(fromMicros: from, toMicros: to, statusAtStart: .up, changes: changes)
        #expect(days.count == 1 && days[0].uptime.downMicros == 12 * Self.hour, "down from midnight until noon")
        #expect(days[0].uptime == Uptime.over(fromMicros: from, toMicros: to, statusAtStart: .up, changes: changes))
    }
}

@Suite("Records and loss per minute from merged rollups")
struct RollupSeriesTests {
    typealias Row = RollupSeries.Row

    @Test("each minute is a window of its own: gaps are lost in their minute, the lookback gives the highest number before, instances add up, rows outside are ignored")
    func perMinute() {
        let rows = [
            // Instance 1: 1-10 in the lookback; minute 0 brings 11-20 less 2; minute 1 nothing; minute 2 brings 21-30.
            Row(instance: 1, minute: 99, records: 10, sequenced: 10, seqMin: 1, seqMax: 10),
            Row(instance: 1, minute: 100, records: 8, sequenced: 8, seqMin: 11, seqMax: 20),
            Row(instance: 1, minute: 102, records: 10, sequenced: 10, seqMin: 21, seqMax: 30),
            // Instance 2 is new in minute 1: counts from its lowest number; it also sent 3 pings (no sequence).
            Row(instance: 2, minute: 101, records: 8, sequenced: 5, seqMin: 50, seqMax: 55),
            // A number that arrives after a higher one (20 came in minute 0): lost in minute 0, not again here.
            Row(instance: 1, minute: 103, records: 1, sequenced: 1, seqMin: 19, seqMax: 19),
            // After the window: ignored.
            Row(instance: 1, minute: 104, records: 5, sequenced: 5, seqMin: 31, seqMax: 35),
        ]
        let minutes = RollupSeries.perMinute(rows.reversed(), fromMinute: 100, toMinute: 104)
        #expect(minutes == [
            RollupSeries.Minute(records: 8, lost: 2), RollupSeries.Minute(records: 8, lost: 1), RollupSeries.Minute(records: 10, lost: 0),
            RollupSeries.Minute(records: 1, lost: 0),
        ])
        #expect(RollupSeries.perMinute([], fromMinute: 5, toMinute: 8) == [RollupSeries.Minute](repeating: RollupSeries.Minute(), count: 3))
    }
}
