using Liminal.Actors.Dedup;
using Liminal.Actors.Tests.TestSupport;

namespace Liminal.Actors.Tests.Attacks;

/// <summary>
/// "Validate every id, key and payload where it enters: well-formed Unicode" (CONVENTIONS, learned the hard way). A key
/// with a lone surrogate is either refused as InvalidKey or remembered exactly; it must never be accepted and then
/// come back from the journal as a different key (a second Claimed for the same key = a duplicate delivery).
/// </summary>
public sealed class KeyEncodingAttacks : LiminalTestKit
{
    [Fact]
    public void A_key_with_a_lone_surrogate_is_refused_or_survives_a_restart_unchanged()
    {
        const string key = "order-\uD800";
        var settings = DefaultSettings with { DedupShards = 1 };
        var dedup = LiminalBus.Start(Sys, settings).Dedup;
        var first = Ask<object>(dedup, new ClaimOrComplete(key, new ProcessingReceipt([1])));
        if (first is DedupRejected { Reason: DedupRejection.InvalidKey })
            return;
        Assert.IsType<IdempotencyResult.New>(first);

        Shutdown(Sys);
        var restarted = StartSystemOnSameDatabase();
        try
        {
            var again = LiminalBus.Start(restarted, settings).Dedup;
            var probe = CreateTestProbe(restarted);
            again.Tell(new ClaimOrComplete(key, new ProcessingReceipt([2])), probe.Ref);
            Assert.Equal(new IdempotencyResult.Duplicate(new ProcessingReceipt([1])), probe.ExpectMsg<IdempotencyResult>());
        }
        finally
        {
            Shutdown(restarted);
        }
    }
}
