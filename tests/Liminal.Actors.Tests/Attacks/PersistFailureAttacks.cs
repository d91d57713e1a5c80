using Akka.Actor;
using Liminal.Actors.Conversations;
using Liminal.Actors.Dedup;
using Liminal.Actors.Entities;
using Liminal.Actors.Tests.TestSupport;

namespace Liminal.Actors.Tests.Attacks;

/// <summary>
/// A failed journal write (outcome unknown) stops the entity; every command owed a reply must get exactly one —
/// the write's own, the ones packed behind it, the ones waiting for it, and the ones still in the mailbox — and the
/// recovered entity must agree with every reply that was given.
/// </summary>
public sealed class PersistFailureAttacks : FaultInjectionTestKit
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Every_request_to_a_dedup_shard_whose_packed_write_fails_gets_exactly_one_reply_and_recovery_agrees()
    {
        var dedup = LiminalBus.Start(Sys, DefaultSettings with
        {
            DedupShards = 1,
            Entities = DefaultSettings.Entities with { MinBackoff = TimeSpan.FromMilliseconds(50) },
        }).Dedup;
        Ask<KeyStatus>(dedup, new LookupKey("warm-up"));

        var gated = new GatedFirstWrite(p => p is KeyClaimed { Key: "k1" }, reject: false);
        await Journal.OnWrite.SetInterceptorAsync(gated);
        var requests = new List<(object Request, Akka.TestKit.TestProbe Probe)>
        {
            (new ClaimOrGet("k1"), CreateTestProbe()),                      // the write that fails
            (new ClaimOrGet("k2"), CreateTestProbe()),                      // packed behind it
            (new ClaimOrComplete("k3", new ProcessingReceipt([3])), CreateTestProbe()),
            (new ClaimOrGet("k1"), CreateTestProbe()),                      // waits for k1
            (new LookupKey("k2"), CreateTestProbe()),                       // waits behind the waiting one
            (SweepExpired.Instance, CreateTestProbe()),                        // barrier
        };
        foreach (var (request, probe) in requests)
            dedup.Tell(request, probe.Ref);
        await gated.Held.Task.WaitAsync(Patience);
        // More requests race with the failure: some reach the dying shard's mailbox.
        var late = Enumerable.Range(0, 20).Select(i => ((object)new ClaimOrGet($"late-{i}"), CreateTestProbe())).ToList();
        foreach (var (request, probe) in late.Take(10))
            dedup.Tell(request, probe.Ref);
        gated.Gate.SetResult();
        foreach (var (request, probe) in late.Skip(10))
            dedup.Tell(request, probe.Ref);
        requests.AddRange(late);

        var replies = requests.Select(r => (r.Request, Reply: r.Probe.ExpectMsg<object>(Patience))).ToList();
        foreach (var (_, probe) in requests)
            probe.ExpectNoMsg(TimeSpan.FromMilliseconds(300));

        // The recovered shard agrees with every definite answer.
        foreach (var (request, reply) in replies)
        {
            var key = request switch { ClaimOrGet c => c.Key, ClaimOrComplete c => c.Key, _ => null };
            if (key is null || reply is DedupRejected or SweepFailed)
                continue;
            var status = Ask<KeyStatus>(dedup, new LookupKey(key));
            Assert.True(status.Decision is not null, $"{request} was answered {reply} but the recovered shard has no entry for {key}");
        }
        Assert.Equal(DedupRejection.PersistFailed, Assert.IsType<DedupRejected>(replies[0].Reply).Reason);
        // The failed write was not stored (the test journal threw before storing it): k1 can be claimed now.
        Assert.IsType<DedupDecision.Claimed>(Ask<DedupDecision>(dedup, new ClaimOrGet("k1")));
    }

    [Fact]
    public async Task A_conversation_that_passivates_while_its_write_is_held_answers_once_and_keeps_what_it_wrote()
    {
        var settings = new ConversationSettings(new ConversationPolicy(1_000), TimeSpan.FromMilliseconds(200), 1_000, Clock);
        var region = Sys.ActorOf(ConversationRegion.Props(settings, DefaultSettings.Entities));
        Ask<RedeliveryDecision.Start>(region, new ReceiveMessage("c", "m0"));

        // Hold the write, then let it pass (not fail): a slow database.
        var holdOnly = new HoldFirst();
        await Journal.OnWrite.SetInterceptorAsync(holdOnly);
        var first = CreateTestProbe();
        var waiting = CreateTestProbe();
        var other = CreateTestProbe();
        region.Tell(new ReceiveMessage("c", "m1"), first.Ref);
        region.Tell(new ReceiveMessage("c", "m1"), waiting.Ref);
        region.Tell(new RecordProcessingStarted("c", "m0"), other.Ref);
        await holdOnly.Held.Task.WaitAsync(Patience);
        // The write outlives the idle timeout: the region passivates the conversation while it is in flight.
        Clock.Advance(TimeSpan.FromMilliseconds(200));
        AwaitAssert(() => Assert.Equal(1, Ask<EntityStats>(region, new GetEntityStats()).Away), Patience);
        var afterPassivation = CreateTestProbe();
        region.Tell(new GetConversationState("c"), afterPassivation.Ref);
        holdOnly.Release.SetResult();

        first.ExpectMsg<RedeliveryDecision.Start>(Patience);
        // The first receive holds the message's lease: the second delivery must not process it too.
        Assert.IsType<RedeliveryDecision.InProgress>(waiting.ExpectMsg<RedeliveryDecision>(Patience));
        other.ExpectMsg<EventRecorded>(Patience);
        var state = afterPassivation.ExpectMsg<ConversationSnapshot>(Patience);
        Assert.Contains("m1", state.Received);
        foreach (var probe in new[] { first, waiting, other, afterPassivation })
            probe.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
    }

    /// <summary>Holds the first matching write until released, then stores it.</summary>
    private sealed class HoldFirst : Akka.Persistence.TestKit.IJournalInterceptor
    {
        private int _taken;

        public TaskCompletionSource Held { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async Task InterceptAsync(Akka.Persistence.IPersistentRepresentation message)
        {
            if (message.Payload is not MessageReceived { MessageId: "m1" } || Interlocked.Exchange(ref _taken, 1) == 1)
                return;
            Held.TrySetResult();
            await Release.Task;
        }
    }
}
