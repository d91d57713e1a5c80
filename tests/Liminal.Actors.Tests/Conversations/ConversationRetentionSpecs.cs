using Akka.Actor;
using Liminal.Actors.Conversations;
using Liminal.Actors.Tests.TestSupport;

namespace Liminal.Actors.Tests.Conversations;

/// <summary>
/// SPEC §2.3's retention: a conversation remembers a message for <c>liminal.conversations.retention</c> (the redelivery
/// horizon); redelivered after that it is new, and it leaves the conversation's memory and snapshots.
/// </summary>
public sealed class ConversationRetentionSpecs : LiminalTestKit
{
    private static readonly TimeSpan Retention = TimeSpan.FromDays(7);
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Millisecond = TimeSpan.FromMilliseconds(1);

    private LiminalSettings Settings => DefaultSettings with { ConversationRetention = Retention, ConversationLease = Lease };

    private IActorRef StartConversations(LiminalSettings? settings = null) => LiminalBus.Start(Sys, settings ?? Settings).Conversations;

    [Fact]
    public void A_finished_message_is_skipped_for_the_retention_after_it_finished_and_is_new_after_that()
    {
        var conversations = StartConversations();
        Ask<RedeliveryDecision.Start>(conversations, new ReceiveMessage("c", "m"));
        Ask<EventRecorded>(conversations, new RecordStepCompleted("c", "m", 0, [1]));
        Clock.Advance(TimeSpan.FromMinutes(5));
        Ask<EventRecorded>(conversations, new RecordProcessingFinished("c", "m"));

        Clock.Advance(Retention - Millisecond);
        Assert.Equal(new RedeliveryDecision.Skip(), Ask<RedeliveryDecision>(conversations, new ReceiveMessage("c", "m")));
        Assert.Equal(["m"], Ask<ConversationSnapshot>(conversations, new GetConversationState("c")).Finished);

        Clock.Advance(Millisecond);
        Assert.Equal(new RedeliveryDecision.Start(), Ask<RedeliveryDecision>(conversations, new ReceiveMessage("c", "m")));
        var state = Ask<ConversationSnapshot>(conversations, new GetConversationState("c"));
        Assert.Equal(["m"], state.Received);
        Assert.Empty(state.Finished);
        Assert.Empty(state.CompletedSteps);
    }

    [Fact]
    public void An_unfinished_message_is_forgotten_a_retention_after_its_last_lease_ran_out()
    {
        var conversations = StartConversations();
        Ask<RedeliveryDecision.Start>(conversations, new ReceiveMessage("c", "abandoned"));
        Clock.Advance(TimeSpan.FromSeconds(10));
        Ask<EventRecorded>(conversations, new RecordStepCompleted("c", "abandoned", 0, [1]));   // lease to 10 s + 30 s

        Clock.Advance(Lease + Retention - Millisecond);
        Assert.Equal(["abandoned"], Ask<ConversationSnapshot>(conversations, new GetConversationState("c")).Received);
        Assert.Equal(new StepOutput("c", "abandoned", 0, [1]), Ask<StepOutput>(conversations, new GetStepOutput("c", "abandoned", 0)));

        Clock.Advance(Millisecond);
        Assert.Empty(Ask<ConversationSnapshot>(conversations, new GetConversationState("c")).Received);
        Assert.Equal(ConversationRejections.NotReceived,
            Ask<ConversationRejected>(conversations, new RecordStepCompleted("c", "abandoned", 1, [2])).Reason);
        Assert.Equal(new RedeliveryDecision.Start(), Ask<RedeliveryDecision>(conversations, new ReceiveMessage("c", "abandoned")));
    }

    [Theory]
    [InlineData(10_000)]   // recovery replays the events
    [InlineData(1)]        // recovery reads the snapshot taken after the last write
    public void Messages_past_the_retention_leave_with_the_next_new_message_and_a_restart_recovers_the_same(int snapshotEvery)
    {
        var settings = Settings with { SnapshotEvery = snapshotEvery };
        var conversations = StartConversations(settings);
        foreach (var id in new[] { "old-1", "old-2" })
        {
            Ask<RedeliveryDecision.Start>(conversations, new ReceiveMessage("c", id));
            Ask<EventRecorded>(conversations, new RecordProcessingFinished("c", id));
        }
        Clock.Advance(TimeSpan.FromDays(3));
        Ask<RedeliveryDecision.Start>(conversations, new ReceiveMessage("c", "recent"));
        Ask<EventRecorded>(conversations, new RecordProcessingFinished("c", "recent"));
        Clock.Advance(TimeSpan.FromDays(5));   // the old ones are 8 days old, "recent" 5

        Ask<RedeliveryDecision.Start>(conversations, new ReceiveMessage("c", "new"));
        var before = Ask<ConversationSnapshot>(conversations, new GetConversationState("c"));
        Assert.Equal(["new", "recent"], before.Received);
        if (snapshotEvery == 1)
            AwaitAssert(() => Assert.Equal(before.LastSequenceNr, LatestSnapshotSequenceNr("conversation-c")));
        Shutdown(Sys);

        var restarted = StartSystemOnSameDatabase();
        try
        {
            var recovered = LiminalBus.Start(restarted, settings).Conversations;
            var probe = CreateTestProbe(restarted);
            Assert.Equal(before, Ask<ConversationSnapshot>(recovered, new GetConversationState("c"), probe));
            Assert.Equal(new RedeliveryDecision.Skip(), Ask<RedeliveryDecision>(recovered, new ReceiveMessage("c", "recent"), probe));
            Assert.Equal(new RedeliveryDecision.Start(), Ask<RedeliveryDecision>(recovered, new ReceiveMessage("c", "old-1"), probe));
        }
        finally
        {
            Shutdown(restarted);
        }
    }
}
