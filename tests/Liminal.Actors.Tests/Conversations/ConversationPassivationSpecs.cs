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
}
