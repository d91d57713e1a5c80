using Akka.Actor;
using Liminal.Actors.Dedup;
using Liminal.Actors.Tests.TestSupport;

namespace Liminal.Actors.Tests.Dedup;

/// <summary>Kill-and-recover on SQLite on disk: a new actor system on the same file answers the same decisions.</summary>
public sealed class DedupRecoverySpecs : LiminalTestKit
{
    private static readonly ProcessingReceipt ReceiptA = new("a-done"u8.ToArray());
    private static readonly ProcessingReceipt ReceiptC = new("c-done"u8.ToArray());

    /// <summary>Writes one key in each state: completed, in flight, claimed-and-completed, released.</summary>
    private long WriteKeysInEveryState(IActorRef dedup)
    {
        var probe = CreateTestProbe();
        Ask<DedupDecision.Claimed>(dedup, new ClaimOrGet("a"), probe);
        Ask<ReceiptStored>(dedup, new CompleteReceipt("a", ReceiptA), probe);
        var claimedAt = Clock.GetUtcNow().ToUnixTimeMilliseconds();
        Ask<DedupDecision.Claimed>(dedup, new ClaimOrGet("b"), probe);
        Ask<IdempotencyResult.New>(dedup, new ClaimOrComplete("c", ReceiptC), probe);
        Ask<DedupDecision.Claimed>(dedup, new ClaimOrGet("d"), probe);
        Ask<ClaimReleased>(dedup, new ReleaseClaim("d"), probe);
        return claimedAt;
    }

    private void AssertSameDecisionsAfterRestart(LiminalSettings settings, long claimedAtOfB)
    {
        Shutdown(Sys);
        var restarted = StartSystemOnSameDatabase();
        try
        {
            var dedup = LiminalBus.Start(restarted, settings).Dedup;
            var probe = CreateTestProbe(restarted);

            Assert.Equal(new DedupDecision.Completed(ReceiptA), Ask<DedupDecision>(dedup, new ClaimOrGet("a"), probe));
            Assert.Equal(new DedupDecision.InFlight(claimedAtOfB), Ask<DedupDecision>(dedup, new ClaimOrGet("b"), probe));
            Assert.Equal(new IdempotencyResult.Duplicate(ReceiptC), Ask<IdempotencyResult>(dedup, new ClaimOrComplete("c", ReceiptA), probe));
            Assert.Equal(DedupRejection.ReceiptMismatch, Ask<DedupRejected>(dedup, new CompleteReceipt("a", ReceiptC), probe).Reason);
            Assert.Equal(new ReceiptStored("b"), Ask<ReceiptStored>(dedup, new CompleteReceipt("b", ReceiptA), probe));
            Assert.Equal(new DedupDecision.Claimed(), Ask<DedupDecision>(dedup, new ClaimOrGet("d"), probe));
        }
        finally
        {
            Shutdown(restarted);
        }
    }

    [Fact]
    public void Claims_and_receipts_survive_termination_and_replay_from_the_SQLite_file()
    {
        var settings = DefaultSettings;
        var claimedAtOfB = WriteKeysInEveryState(LiminalBus.Start(Sys, settings).Dedup);

        AssertSameDecisionsAfterRestart(settings, claimedAtOfB);
    }

    [Fact]
    public void Recovery_from_a_snapshot_plus_later_events_gives_the_same_decisions()
    {
        // One shard, a snapshot every 4 events: the 6 events below leave a snapshot at 4 and 2 events after it.
        var settings = DefaultSettings with { DedupShards = 1, SnapshotEvery = 4 };
        var claimedAtOfB = WriteKeysInEveryState(LiminalBus.Start(Sys, settings).Dedup);
        AwaitAssert(() => Assert.Equal(4, LatestSnapshotSequenceNr("dedup-default-0")));
        Assert.Equal(6, JournalRows("dedup-default-0"));

        // Only the snapshot can now tell what the first 4 events said.
        DeleteJournalRows("dedup-default-0", 4);

        AssertSameDecisionsAfterRestart(settings, claimedAtOfB);
    }

    [Fact]
    public void Only_the_newest_snapshot_is_kept_and_journal_events_are_not_deleted()
    {
        var settings = DefaultSettings with { DedupShards = 1, SnapshotEvery = 2 };
        var claimedAtOfB = WriteKeysInEveryState(LiminalBus.Start(Sys, settings).Dedup);

        AwaitAssert(() =>
        {
            Assert.Equal(6, LatestSnapshotSequenceNr("dedup-default-0"));
            Assert.Equal(1, SnapshotRows("dedup-default-0"));
        });
        Assert.Equal(6, JournalRows("dedup-default-0"));
        AssertSameDecisionsAfterRestart(settings, claimedAtOfB);
    }

    [Fact]
    public void Claims_written_together_in_one_journal_row_all_survive_a_restart()
    {
        // One shard and 200 claims sent at once: while the first write is under way the rest pile up and go to
        // the journal packed together, so there are far fewer rows than claims.
        var rows = SendConcurrentlyAndCheckAfterRestart(DefaultSettings with { DedupShards = 1 }, 200, takesSnapshot: false);
        Assert.InRange(rows, 1, 100);
    }

    [Fact]
    public void Every_one_of_200_concurrent_claims_survives_a_restart_when_snapshots_fall_among_packed_writes()
    {
        // A snapshot every 4 events (at least as many as the shard holds keys): taken while group commits of many
        // claims land, so a snapshot stamped in the middle of a packed row would lose the rest of that row.
        SendConcurrentlyAndCheckAfterRestart(DefaultSettings with { DedupShards = 1, SnapshotEvery = 4 }, 200, takesSnapshot: true);
    }

    [Fact]
    public void Every_one_of_10400_acknowledged_ClaimOrComplete_keys_survives_a_restart_at_the_default_snapshot_interval()
    {
        // The default interval (10,000 events) on one shard: the snapshot lands among the packed group commits.
        SendConcurrentlyAndCheckAfterRestart(DefaultSettings with { DedupShards = 1 }, 10_400, takesSnapshot: true, onlyClaimOrComplete: true);
    }

    /// <summary>
    /// Sends <paramref name="count"/> claims at once (every key ending in 7, or all with <paramref name="onlyClaimOrComplete"/>,
    /// as <see cref="ClaimOrComplete"/> with a receipt of its own), restarts on the same file and checks every
    /// acknowledged key answers as acknowledged. Returns the journal rows the shard wrote.
    /// </summary>
    private long SendConcurrentlyAndCheckAfterRestart(LiminalSettings settings, int count, bool takesSnapshot, bool onlyClaimOrComplete = false)
    {
        var dedup = LiminalBus.Start(Sys, settings).Dedup;
        var probe = CreateTestProbe();
        // The shard has recovered: one still recovering is handed at most liminal.entities.buffer-size requests.
        dedup.Tell(new LookupKey("warm-up"), probe);
        probe.ExpectMsg<KeyStatus>(TimeSpan.FromSeconds(30));
        var keys = Enumerable.Range(0, count).Select(i => $"packed-{i}").ToArray();
        bool Completes(string key) => onlyClaimOrComplete || key.EndsWith('7');
        ProcessingReceipt ReceiptOf(string key) => new(System.Text.Encoding.UTF8.GetBytes("done-" + key));
        foreach (var key in keys)
            dedup.Tell(Completes(key) ? new ClaimOrComplete(key, ReceiptOf(key)) : new ClaimOrGet(key), probe);
        for (var i = 0; i < keys.Length; i++)
            probe.ExpectMsg<object>(reply => reply is DedupDecision.Claimed or IdempotencyResult.New, TimeSpan.FromSeconds(30));
        var rows = JournalRows("dedup-default-0");
        if (takesSnapshot)
            AwaitAssert(() => Assert.True(LatestSnapshotSequenceNr("dedup-default-0") > 0, "no snapshot was taken"));

        Shutdown(Sys);
        var restarted = StartSystemOnSameDatabase();
        try
        {
            var recovered = LiminalBus.Start(restarted, settings).Dedup;
            var restartedProbe = CreateTestProbe(restarted);
            recovered.Tell(new LookupKey("warm-up"), restartedProbe);
            restartedProbe.ExpectMsg<KeyStatus>(TimeSpan.FromSeconds(30));
            foreach (var key in keys)
                recovered.Tell(new LookupKey(key), restartedProbe);
            var lost = new List<string>();
            foreach (var key in keys)
            {
                var status = restartedProbe.ExpectMsg<KeyStatus>(TimeSpan.FromSeconds(30));
                var expected = Completes(status.Key) ? new DedupDecision.Completed(ReceiptOf(status.Key)) : (DedupDecision?)null;
                if (expected is null ? status.Decision is not DedupDecision.InFlight : !expected.Equals(status.Decision))
                    lost.Add(status.Key);
            }
            Assert.True(lost.Count == 0, $"{lost.Count} of {keys.Length} acknowledged keys lost after the restart, e.g. {string.Join(", ", lost.Take(5))}");
        }
        finally
        {
            Shutdown(restarted);
        }
        return rows;
    }
}
