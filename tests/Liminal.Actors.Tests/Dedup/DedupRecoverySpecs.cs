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
        var settings = DefaultSettings with { DedupShards = 1 };
        var dedup = LiminalBus.Start(Sys, settings).Dedup;
        var probe = CreateTestProbe();
        var keys = Enumerable.Range(0, 200).Select(i => $"packed-{i}").ToArray();
        foreach (var key in keys)
            dedup.Tell(key.EndsWith('7') ? new ClaimOrComplete(key, ReceiptA) : new ClaimOrGet(key), probe);
        for (var i = 0; i < keys.Length; i++)
            probe.ExpectMsg<object>(reply => reply is DedupDecision.Claimed or IdempotencyResult.New);
        Assert.InRange(JournalRows("dedup-default-0"), 1, keys.Length / 2);

        Shutdown(Sys);
        var restarted = StartSystemOnSameDatabase();
        try
        {
            var recovered = LiminalBus.Start(restarted, settings).Dedup;
            var restartedProbe = CreateTestProbe(restarted);
            foreach (var key in keys)
            {
                var decision = Ask<KeyStatus>(recovered, new LookupKey(key), restartedProbe).Decision;
                if (key.EndsWith('7'))
                    Assert.Equal(new DedupDecision.Completed(ReceiptA), decision);
                else
                    Assert.IsType<DedupDecision.InFlight>(decision);
            }
        }
        finally
        {
            Shutdown(restarted);
        }
    }
}
