using Akka.Actor;
using Liminal.Actors.Conversations;
using Liminal.Actors.Tests.TestSupport;

namespace Liminal.Actors.Tests.Conversations;

/// <summary>Kill-and-recover on SQLite on disk: the conversation replays to the same state and the same decisions.</summary>
public sealed class ConversationRecoverySpecs : LiminalTestKit
{
    /// <summary>A finished message (with an earlier error), a partial one, an errored one and a merely received one.</summary>
    private void WriteMixedConversation(IActorRef conversations)
    {
        Ask<RedeliveryDecision.Start>(conversations, new ReceiveMessage("orders", "finished"));
        Ask<EventRecorded>(conversations, new RecordProcessingStarted("orders", "finished"));
        Ask<EventRecorded>(conversations, new RecordError("orders", "finished", "retry me"));
        Ask<EventRecorded>(conversations, new RecordStepCompleted("orders", "finished", 0, [1]));
        Ask<EventRecorded>(conversations, new RecordProcessingFinished("orders", "finished"));
        Ask<RedeliveryDecision.Start>(conversations, new ReceiveMessage("orders", "partial"));
        Ask<EventRecorded>(conversations, new RecordProcessingStarted("orders", "partial"));
        Ask<EventRecorded>(conversations, new RecordStepCompleted("orders", "partial", 0, [2]));
        Ask<EventRecorded>(conversations, new RecordStepCompleted("orders", "partial", 1, [3]));
        Ask<RedeliveryDecision.Start>(conversations, new ReceiveMessage("orders", "errored"));
        Ask<EventRecorded>(conversations, new RecordError("orders", "errored", "downstream 503"));
        Ask<RedeliveryDecision.Start>(conversations, new ReceiveMessage("orders", "received"));
    }

    private void AssertIdenticalAfterRestart(IActorRef conversationsBefore, LiminalSettings settings)
    {
        var before = Ask<ConversationSnapshot>(conversationsBefore, new GetConversationState("orders"));
        Assert.Equal(12, before.LastSequenceNr);
        Shutdown(Sys);

        var restarted = StartSystemOnSameDatabase();
        try
        {
            var conversations = LiminalBus.Start(restarted, settings).Conversations;
            var probe = CreateTestProbe(restarted);

            Assert.Equal(before, Ask<ConversationSnapshot>(conversations, new GetConversationState("orders"), probe));
            Assert.Equal(new RedeliveryDecision.Skip(), Ask<RedeliveryDecision>(conversations, new ReceiveMessage("orders", "finished"), probe));
            // The leases recorded before the restart still hold; the error ended that message's lease.
            var leaseEnd = Clock.GetUtcNow().Add(settings.ConversationLease).ToUnixTimeMilliseconds();
            Assert.Equal(new RedeliveryDecision.InProgress(leaseEnd), Ask<RedeliveryDecision>(conversations, new ReceiveMessage("orders", "partial"), probe));
            Assert.Equal(new RedeliveryDecision.InProgress(leaseEnd), Ask<RedeliveryDecision>(conversations, new ReceiveMessage("orders", "received"), probe));
            Assert.Equal(new RedeliveryDecision.ResumeFrom(0), Ask<RedeliveryDecision>(conversations, new ReceiveMessage("orders", "errored"), probe));
            Clock.Advance(settings.ConversationLease);
            Assert.Equal(new RedeliveryDecision.ResumeFrom(2), Ask<RedeliveryDecision>(conversations, new ReceiveMessage("orders", "partial"), probe));
            Assert.Equal(new RedeliveryDecision.ResumeFrom(0), Ask<RedeliveryDecision>(conversations, new ReceiveMessage("orders", "received"), probe));
            // The log continues after the last stored event (and the three leases the resumes took).
            Assert.Equal(new EventRecorded("orders", 16), Ask<EventRecorded>(conversations, new RecordProcessingFinished("orders", "partial"), probe));
        }
        finally
        {
            Shutdown(restarted);
        }
    }

    [Fact]
    public void A_conversation_replays_from_the_SQLite_file_to_an_identical_snapshot_and_decisions()
    {
        var conversations = LiminalBus.Start(Sys, DefaultSettings).Conversations;
        WriteMixedConversation(conversations);

        AssertIdenticalAfterRestart(conversations, DefaultSettings);
    }

    [Fact]
    public void A_conversation_recovers_from_a_snapshot_plus_later_events_to_the_same_state()
    {
        var settings = DefaultSettings with { SnapshotEvery = 5 };
        var conversations = LiminalBus.Start(Sys, settings).Conversations;
        WriteMixedConversation(conversations);
        AwaitAssert(() => Assert.Equal(10, LatestSnapshotSequenceNr("conversation-orders")));

        // Events behind the snapshot may be deleted: the snapshot alone must carry them.
        DeleteJournalRows("conversation-orders", 10);

        AssertIdenticalAfterRestart(conversations, settings);
    }
}
