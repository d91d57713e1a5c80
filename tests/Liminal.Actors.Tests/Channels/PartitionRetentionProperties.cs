using CsCheck;
using Liminal.Actors.Channels;

namespace Liminal.Actors.Tests.Channels;

/// <summary>
/// A partition's retention (<see cref="PartitionRetention"/>) driven by random runs of appends, clock advances, purges
/// and deletes that succeed or fail, against a model of the log: no delete ever removes a message the limits keep (newer
/// than <c>MaxAge</c>, among the newest <c>MaxMessages</c>, after the last purge), no delete is larger than its chunk, and
/// once the deletes are drained exactly what the limits give up is gone (at least that part which does not depend on a
/// coarsened age index); a copy restored from its snapshot state ends where the original does.
/// </summary>
public sealed class PartitionRetentionProperties
{
    private abstract record Step
    {
        public sealed record Append(int Count, int AdvanceMillis) : Step;
        public sealed record Advance(int Millis) : Step;
        public sealed record Delete(int Times, bool Fail) : Step;
        public sealed record Purge : Step;
    }

    private static readonly Gen<Step> Steps = Gen.Frequency(
        (5, Gen.Select(Gen.Int[1, 6], Gen.Int[0, 3_000]).Select((n, ms) => (Step)new Step.Append(n, ms))),
        (2, Gen.Int[0, 8_000].Select(ms => (Step)new Step.Advance(ms))),
        (4, Gen.Select(Gen.Int[1, 4], Gen.Bool).Select((times, fail) => (Step)new Step.Delete(times, fail))),
        (1, Gen.Const((Step)new Step.Purge())));

    private static readonly Gen<(RetentionLimits Limits, long Chunk, int MaxSegments)> Settings = Gen.Select(
        Gen.Int[0, 10_000], Gen.Long[0, 20], Gen.Long[1, 7], Gen.OneOf(Gen.Int[2, 6], Gen.Const(100_000)))
        .Select((age, max, chunk, segments) => (new RetentionLimits(age > 0 ? TimeSpan.FromMilliseconds(age) : null, max > 0 ? max : null), chunk, segments));

    [Fact]
    public void Retention_deletes_what_the_limits_give_up_and_nothing_they_keep_across_random_runs_and_restarts()
    {
        Gen.Select(Settings, Steps.Array[0, 60]).Sample((settings, steps) =>
        {
            var run = new Run(settings.Limits, settings.Chunk, settings.MaxSegments);
            foreach (var step in steps)
                run.Do(step);
            run.DrainAndCheck();
        }, iter: 3_000);
    }

    [Fact]
    public void Nothing_is_deleted_after_a_restart_from_a_snapshot_until_the_journal_says_where_the_log_starts()
    {
        var retention = new PartitionRetention(new RetentionLimits(null, 2));
        // A snapshot at 10 that had deleted up to 4; a purge afterwards may have deleted more.
        retention.Restore(10, 5, null, 0);

        Assert.Equal((5L, 10L), retention.Recovered(10, firstReplayed: 11, snapshotSequenceNr: 10));
        Assert.Null(retention.NextDelete(0));
        retention.FirstRetainedFound(11);
        Assert.Equal(11, retention.FirstRetained);
        // 11, 12 and 13 are stored: MaxMessages 2 gives up 11 alone.
        retention.Appended(12, 0);
        retention.Appended(13, 0);
        Assert.Equal(11, retention.NextDelete(0));
        Assert.Equal(1, retention.Deleted(11));
    }

    [Fact]
    public void A_restart_without_a_snapshot_knows_where_the_log_starts_from_the_first_replayed_message()
    {
        var purged = new PartitionRetention(RetentionLimits.None);
        Assert.Null(purged.Recovered(7, firstReplayed: null, snapshotSequenceNr: null));
        Assert.Equal(8, purged.FirstRetained);

        var trimmed = new PartitionRetention(RetentionLimits.None);
        Assert.Null(trimmed.Recovered(7, firstReplayed: 5, snapshotSequenceNr: null));
        Assert.Equal(5, trimmed.FirstRetained);
        Assert.Equal(8, trimmed.Purge());
        Assert.Equal(7, trimmed.NextDelete(0));
    }

    private sealed class Run(RetentionLimits limits, long chunk, int maxSegments)
    {
        private readonly PartitionRetention _retention = new(limits, chunk, maxSegments);
        private readonly List<long> _storedAt = [0];   // by sequence number; index 0 unused
        private long _now = 1_000_000;
        private long _purgeTo;
        private long _deletedTotal;

        private long Last => _storedAt.Count - 1;

        public void Do(Step step)
        {
            switch (step)
            {
                case Step.Append append:
                    for (var i = 0; i < append.Count; i++)
                    {
                        _storedAt.Add(_now);
                        _retention.Appended(Last, _now);
                    }
                    _now += append.AdvanceMillis;
                    break;
                case Step.Advance advance:
                    _now += advance.Millis;
                    break;
                case Step.Purge:
                    Assert.Equal(Last + 1, _retention.Purge());
                    _purgeTo = Last;
                    break;
                case Step.Delete delete:
                    for (var i = 0; i < delete.Times; i++)
                        DeleteOnce(delete.Fail && i == 0);
                    break;
            }
        }

        private bool DeleteOnce(bool fail)
        {
            var first = _retention.FirstRetained;
            if (_retention.NextDelete(_now) is not { } to)
                return false;
            Assert.InRange(to, first, Math.Min(Last, first - 1 + chunk));
            Assert.Null(_retention.NextDelete(_now));   // one delete in flight at most
            for (var sequenceNr = first; sequenceNr <= to; sequenceNr++)
                Assert.True(MayGo(sequenceNr), $"message {sequenceNr} (stored {_storedAt[(int)sequenceNr]}, now {_now}) is kept by {limits}, last {Last}");
            if (fail)
            {
                _retention.DeleteFailed();
                return true;
            }
            _deletedTotal += _retention.Deleted(to);
            Assert.Equal(to + 1, _retention.FirstRetained);
            Assert.Equal(_retention.FirstRetained - 1, _deletedTotal);
            return true;
        }

        private bool MayGo(long sequenceNr) =>
            sequenceNr <= _purgeTo
            || (limits.MaxMessages is { } max && sequenceNr <= Last - max)
            || (limits.MaxAge is { } age && _storedAt[(int)sequenceNr] < _now - (long)age.TotalMilliseconds);

        public void DrainAndCheck()
        {
            while (DeleteOnce(fail: false))
            {
            }
            var floor = _retention.FirstRetained - 1;
            var countFloor = Math.Max(_purgeTo, limits.MaxMessages is { } max ? Math.Max(0, Last - max) : 0);
            Assert.True(floor >= countFloor, $"deleted up to {floor}, the purge and MaxMessages give up {countFloor}");
            // With every message in a segment of its own time the age index is exact: the prefix older than MaxAge goes too.
            var ageFloor = 0L;
            while (limits.MaxAge is { } age && ageFloor < Last && _storedAt[(int)ageFloor + 1] < _now - (long)age.TotalMilliseconds)
                ageFloor++;
            if (maxSegments >= _storedAt.Count)
                Assert.Equal(Math.Max(countFloor, ageFloor), floor);

            // What a restart from a snapshot of this state recovers, once the journal says where the log starts: the same.
            var restored = new PartitionRetention(limits, chunk, maxSegments);
            restored.Restore(Last, _retention.FirstRetained, limits.MaxAge is null ? null : _retention.Ages.ToList(), _now);
            if (restored.Recovered(Last, null, Last) is not null)
                restored.FirstRetainedFound(_retention.FirstRetained);
            Assert.True(restored.Known);
            Assert.Equal(_retention.FirstRetained, restored.FirstRetained);
            Assert.Null(restored.NextDelete(_now));
        }
    }
}
