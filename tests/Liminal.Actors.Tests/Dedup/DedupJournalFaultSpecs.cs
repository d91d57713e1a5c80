using Akka.Actor;
using Akka.Persistence;
using Liminal.Actors.Dedup;
using Liminal.Actors.Tests.TestSupport;

namespace Liminal.Actors.Tests.Dedup;

/// <summary>Journal write failures, injected by Akka.Persistence.TestKit's fault-injecting journal.</summary>
public sealed class DedupJournalFaultSpecs : FaultInjectionTestKit
{
    [Fact]
    public async Task A_failed_write_answers_PersistFailed_and_the_same_key_is_claimable_once_the_fault_clears()
    {
        var dedup = LiminalBus.Start(Sys, DefaultSettings with { DedupShards = 1 }).Dedup;
        dedup.Tell(new ClaimOrGet("before-the-fault"));
        ExpectMsg<DedupDecision.Claimed>();

        await Journal.OnWrite.Fail();
        var claimers = Enumerable.Range(0, 5).Select(_ => CreateTestProbe()).ToList();
        foreach (var (claimer, i) in claimers.Select((c, i) => (c, i)))
            dedup.Tell(new ClaimOrGet($"k{i}"), claimer.Ref);

        // Every claim of the failed batch gets a typed failure, none is left waiting.
        foreach (var claimer in claimers)
            Assert.Equal(DedupRejection.PersistFailed, claimer.ExpectMsg<DedupRejected>().Reason);

        await Journal.OnWrite.Pass();
        dedup.Tell(new ClaimOrGet("k0"));
        ExpectMsg<DedupDecision.Claimed>();
        // The restarted shard recovered what was durable before the fault.
        dedup.Tell(new LookupKey("before-the-fault"));
        Assert.IsType<DedupDecision.InFlight>(ExpectMsg<KeyStatus>().Decision);
    }

    [Fact]
    public async Task A_failed_completion_leaves_the_key_in_flight_and_can_be_retried()
    {
        var dedup = LiminalBus.Start(Sys, DefaultSettings with { DedupShards = 1 }).Dedup;
        var receipt = new ProcessingReceipt([42]);
        dedup.Tell(new ClaimOrGet("k"));
        ExpectMsg<DedupDecision.Claimed>();

        await Journal.OnWrite.Fail();
        dedup.Tell(new CompleteReceipt("k", receipt));
        Assert.Equal(DedupRejection.PersistFailed, ExpectMsg<DedupRejected>().Reason);

        await Journal.OnWrite.Pass();
        dedup.Tell(new LookupKey("k"));
        Assert.IsType<DedupDecision.InFlight>(ExpectMsg<KeyStatus>().Decision);
        dedup.Tell(new CompleteReceipt("k", receipt));
        ExpectMsg(new ReceiptStored("k"));
    }
}
