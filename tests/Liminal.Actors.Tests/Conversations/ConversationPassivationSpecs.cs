using Akka.Actor;
using Liminal.Actors.Conversations;
using Liminal.Actors.Entities;
using Liminal.Actors.Tests.TestSupport;

namespace Liminal.Actors.Tests.Conversations;

public sealed class ConversationPassivationSpecs : LiminalTestKit
{
    [Fact]
    public void A_thousand_idle_conversations_all_passivate_and_come_back_by_replay()
    {
        var conversations = LiminalBus.Start(Sys, DefaultSettings with { ConversationIdleTimeout = TimeSpan.FromMilliseconds(500) }).Conversations;
        var ids = Enumerable.Range(0, 1000).Select(i => $"conversation-{i}").ToList();
        foreach (var id in ids)
            conversations.Tell(new ReceiveMessage(id, "m"), TestActor);
        foreach (var _ in ids)
            ExpectMsg<RedeliveryDecision.Start>(TimeSpan.FromSeconds(30));

        // Idleness is measured on the bus clock; the region's sweep (real time) finds them all idle.
        Clock.Advance(TimeSpan.FromMilliseconds(500));
        AwaitAssert(() =>
        {
            conversations.Tell(GetEntityStats.Instance, TestActor);
            Assert.Equal(new EntityStats(0, 0), ExpectMsg<EntityStats>());
        }, TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(200));

        // Each comes back by replay with what it had recorded, the lease of its first delivery included.
        foreach (var id in ids.Take(50))
            Assert.IsType<RedeliveryDecision.InProgress>(Ask<RedeliveryDecision>(conversations, new ReceiveMessage(id, "m")));
        Clock.Advance(DefaultSettings.ConversationLease);
        foreach (var id in ids.Take(50))
            Assert.Equal(new RedeliveryDecision.ResumeFrom(0), Ask<RedeliveryDecision>(conversations, new ReceiveMessage(id, "m")));
    }

    [Fact]
    public async Task A_conversation_that_keeps_receiving_requests_stays_up_while_one_that_receives_none_is_passivated()
    {
        var idleTimeout = TimeSpan.FromSeconds(1);
        var conversations = LiminalBus.Start(Sys, DefaultSettings with { ConversationIdleTimeout = idleTimeout }).Conversations;
        Ask<RedeliveryDecision.Start>(conversations, new ReceiveMessage("busy", "m"));
        Ask<RedeliveryDecision.Start>(conversations, new ReceiveMessage("idle", "m"));
        var idleState = Ask<ConversationSnapshot>(conversations, new GetConversationState("idle"));
        var busy = await IncarnationOf(conversations, "busy");
        var idle = await IncarnationOf(conversations, "idle");
        var watcher = CreateTestProbe();
        watcher.Watch(idle);

        // Two idle timeouts on the bus clock, in steps of half of one with a request to the busy one after each:
        // it is never a whole timeout without a request, however late the region's sweep runs.
        for (var step = 0; step < 4; step++)
        {
            Clock.Advance(idleTimeout / 2);
            Ask<EventRecorded>(conversations, new RecordStepCompleted("busy", "m", step, [(byte)step]));
        }

        watcher.ExpectTerminated(idle, TimeSpan.FromSeconds(10));
        AwaitAssert(() => Assert.Equal(new EntityStats(1, 0), Ask<EntityStats>(conversations, GetEntityStats.Instance)),
            TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(100));
        // Still the incarnation it started as: a busy conversation passivated by the same sweep would have had this
        // request buffered for its next incarnation, under a new actor.
        Ask<EventRecorded>(conversations, new RecordStepCompleted("busy", "m", 4, [4]));
        Assert.Equal(busy, await IncarnationOf(conversations, "busy"));
        // The idle one comes back by replay with what it had recorded, its lease included.
        Assert.Equal(idleState, Ask<ConversationSnapshot>(conversations, new GetConversationState("idle")));
        Assert.IsType<RedeliveryDecision.InProgress>(Ask<RedeliveryDecision>(conversations, new ReceiveMessage("idle", "m")));
    }

    private Task<IActorRef> IncarnationOf(IActorRef conversations, string id) =>
        Sys.ActorSelection(conversations.Path / id).ResolveOne(TimeSpan.FromSeconds(10));
}
