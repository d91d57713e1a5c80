using Liminal.Actors.Dedup;
using Liminal.Actors.Tests.TestSupport;

namespace Liminal.Actors.Tests.Attacks;

/// <summary>
/// Kill-and-recover on SQLite on disk with a snapshot after (almost) every packed write, capacity evictions and a
/// sweep racing with claims: every key answers the same after restart as before.
/// </summary>
public sealed class SnapshotRestartAttacks : LiminalTestKit
{
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(5)]
    public void Packed_writes_with_evictions_and_sweeps_recover_to_the_same_decisions(int snapshotEvery)
    {
        var settings = DefaultSettings with
        {
            DedupShards = 1,
            SnapshotEvery = snapshotEvery,
            DedupMaxKeysPerShard = 8,
            DedupTtl = TimeSpan.FromMinutes(10),
        };
        var dedup = LiminalBus.Start(Sys, settings).Dedup;
        var probe = CreateTestProbe();
        var keys = new List<string>();
        var sent = 0;
        void Send(object request, string? key)
        {
            dedup.Tell(request, probe.Ref);
            sent++;
            if (key is not null)
                keys.Add(key);
        }

        for (var i = 0; i < 3; i++)
            Send(new ClaimOrGet($"inflight-{i}"), $"inflight-{i}");
        for (var i = 0; i < 20; i++)
            Send(new ClaimOrComplete($"old-{i}", new ProcessingReceipt([(byte)i])), $"old-{i}");
        for (var i = 0; i < sent; i++)
            probe.ExpectMsg<object>();
        sent = 0;

        Clock.Advance(TimeSpan.FromMinutes(5));
        for (var i = 0; i < 40; i++)
        {
            Send(new ClaimOrComplete($"new-{i}", new ProcessingReceipt([(byte)i])), $"new-{i}");
            if (i % 7 == 0)
                Send(new ClaimOrGet($"claim-{i}"), $"claim-{i}");
            if (i % 7 == 1)
                Send(new CompleteReceipt($"claim-{i - 1}", new ProcessingReceipt([9])), null);
            if (i == 20)
            {
                Clock.Advance(TimeSpan.FromMinutes(6));   // the first in-flight claims and old keys expire
                Send(SweepExpired.Instance, null);
            }
        }
        var replies = new List<object>();
        for (var i = 0; i < sent; i++)
            replies.Add(probe.ExpectMsg<object>());
        Assert.DoesNotContain(replies, r => r is DedupRejected { Reason: DedupRejection.PersistFailed });

        var before = keys.ToDictionary(k => k, k => Ask<KeyStatus>(dedup, new LookupKey(k), probe).Decision);
        AwaitAssert(() => Assert.True(LatestSnapshotSequenceNr("dedup-default-0") > 0));

        Shutdown(Sys);
        var restarted = StartSystemOnSameDatabase();
        try
        {
            var again = LiminalBus.Start(restarted, settings).Dedup;
            var probe2 = CreateTestProbe(restarted);
            foreach (var key in keys)
            {
                again.Tell(new LookupKey(key), probe2.Ref);
                Assert.Equal((key, before[key]), (key, probe2.ExpectMsg<KeyStatus>().Decision));
            }
        }
        finally
        {
            Shutdown(restarted);
        }
    }
}
