using Liminal.Actors.Entities;
using Liminal.Actors.Offsets;
using Liminal.Actors.Tests.Attacks;
using Liminal.Actors.Tests.TestSupport;

namespace Liminal.Actors.Tests.Offsets;

/// <summary>An idle offsets record is passivated by its region, and nothing sent to it is lost meanwhile.</summary>
public sealed class OffsetsPassivationSpecs : FaultInjectionTestKit
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task An_offsets_record_passivated_while_its_commit_is_in_flight_answers_every_request_and_keeps_the_commit()
    {
        var idleTimeout = TimeSpan.FromMilliseconds(200);
        var offsets = LiminalBus.StartOffsets(Sys, DefaultSettings with { OffsetsIdleTimeout = idleTimeout });
        Ask<OffsetCommitted>(offsets, new CommitOffset("billing", "orders-0", 5));

        // Hold the next write, then let it pass (not fail): a slow database.
        var held = new HeldJournalMessage(m => m.Payload is OffsetAdvanced { Offset: 10 });
        await Journal.OnWrite.SetInterceptorAsync(held);
        var commit = CreateTestProbe();
        var behindCommit = CreateTestProbe();
        offsets.Tell(new CommitOffset("billing", "orders-0", 10), commit.Ref);
        offsets.Tell(new GetOffset("billing", "orders-0"), behindCommit.Ref);   // waits for the write of its stream
        await held.Held.Task.WaitAsync(Patience);

        // Nothing more reaches the record for its whole idle timeout: the region passivates it, write in flight.
        Clock.Advance(idleTimeout);
        AwaitAssert(() => Assert.Equal(new EntityStats(1, 1), Ask<EntityStats>(offsets, GetEntityStats.Instance)), Patience);
        var readDuring = CreateTestProbe();
        var commitDuring = CreateTestProbe();
        offsets.Tell(new GetOffset("billing", "orders-0"), readDuring.Ref);
        offsets.Tell(new CommitOffset("billing", "orders-0", 12), commitDuring.Ref);
        held.Release();

        commit.ExpectMsg(new OffsetCommitted("billing", "orders-0", 10), Patience);
        behindCommit.ExpectMsg(new CurrentOffset("billing", "orders-0", 10), Patience);
        // Buffered while the record stopped, answered by its next incarnation, which replayed the held commit.
        readDuring.ExpectMsg(new CurrentOffset("billing", "orders-0", 10), Patience);
        commitDuring.ExpectMsg(new OffsetCommitted("billing", "orders-0", 12), Patience);
        foreach (var probe in new[] { commit, behindCommit, readDuring, commitDuring })
            probe.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        Assert.Equal(new CurrentOffset("billing", "orders-0", 12), Ask<CurrentOffset>(offsets, new GetOffset("billing", "orders-0")));
    }
}
