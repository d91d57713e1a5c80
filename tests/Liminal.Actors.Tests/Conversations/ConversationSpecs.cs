using Akka.Actor;
using Liminal.Actors.Conversations;
using Liminal.Actors.Tests.TestSupport;
using Liminal.Actors.Validation;

namespace Liminal.Actors.Tests.Conversations;

public sealed class ConversationSpecs : LiminalTestKit
{
    private IActorRef StartConversations(LiminalSettings? settings = null) =>
        LiminalBus.Start(Sys, settings ?? DefaultSettings).Conversations;

    private long Rows(string conversationId) => JournalRows($"conversation-{conversationId}");

    [Fact]
    public void A_message_never_seen_is_Start_with_one_event_persisted()
    {
        var conversations = StartConversations();

        Ask<RedeliveryDecision.Start>(conversations, new ReceiveMessage("c1", "m1"));

        Assert.Equal(1, Rows("c1"));
        var state = Ask<ConversationSnapshot>(conversations, new GetConversationState("c1"));
        Assert.Equal(["m1"], state.Received);
        Assert.Equal(1, state.LastSequenceNr);
    }

    [Fact]
    public void A_finished_message_is_skipped_with_nothing_persisted_even_after_an_error()
    {
        var conversations = StartConversations();
        Ask<RedeliveryDecision.Start>(conversations, new ReceiveMessage("c", "m"));
        Ask<EventRecorded>(conversations, new RecordError("c", "m", "timeout talking to the warehouse"));
        Ask<EventRecorded>(conversations, new RecordProcessingFinished("c", "m"));
        var rows = Rows("c");

        Ask<RedeliveryDecision.Skip>(conversations, new ReceiveMessage("c", "m"));

        Assert.Equal(rows, Rows("c"));
    }

    [Fact]
    public void Received_started_and_errored_messages_resume_after_their_last_completed_step_once_no_delivery_holds_them()
    {
        var conversations = StartConversations();
        Ask<RedeliveryDecision.Start>(conversations, new ReceiveMessage("c", "received"));
        Ask<RedeliveryDecision.Start>(conversations, new ReceiveMessage("c", "in-progress"));
        Ask<EventRecorded>(conversations, new RecordProcessingStarted("c", "in-progress"));
        Ask<EventRecorded>(conversations, new RecordStepCompleted("c", "in-progress", 0, [1]));
        Ask<EventRecorded>(conversations, new RecordStepCompleted("c", "in-progress", 1, [2]));
        Ask<RedeliveryDecision.Start>(conversations, new ReceiveMessage("c", "errored"));
        Ask<EventRecorded>(conversations, new RecordStepCompleted("c", "errored", 0, [3]));
        Ask<EventRecorded>(conversations, new RecordError("c", "errored", "boom"));
        Clock.Advance(DefaultSettings.ConversationLease);   // the leases of the first deliveries ran out
        var rows = Rows("c");

        Assert.Equal(new RedeliveryDecision.ResumeFrom(0), Ask<RedeliveryDecision>(conversations, new ReceiveMessage("c", "received")));
        Assert.Equal(new RedeliveryDecision.ResumeFrom(2), Ask<RedeliveryDecision>(conversations, new ReceiveMessage("c", "in-progress")));
        Assert.Equal(new RedeliveryDecision.ResumeFrom(1), Ask<RedeliveryDecision>(conversations, new ReceiveMessage("c", "errored")));
        // Each resume took the lease (one event each), so a second delivery of the same message waits.
        Assert.Equal(rows + 3, Rows("c"));
        var leaseEnd = Clock.GetUtcNow().Add(DefaultSettings.ConversationLease).ToUnixTimeMilliseconds();
        Assert.Equal(new RedeliveryDecision.InProgress(leaseEnd), Ask<RedeliveryDecision>(conversations, new ReceiveMessage("c", "errored")));
    }

    [Fact]
    public void Every_record_answers_EventRecorded_with_its_sequence_number_and_shows_in_the_state()
    {
        var conversations = StartConversations();
        Ask<RedeliveryDecision.Start>(conversations, new ReceiveMessage("c", "m"));

        Assert.Equal(new EventRecorded("c", 2), Ask<EventRecorded>(conversations, new RecordProcessingStarted("c", "m")));
        Assert.Equal(new EventRecorded("c", 3), Ask<EventRecorded>(conversations, new RecordStepCompleted("c", "m", 0, [10])));
        Assert.Equal(new EventRecorded("c", 4), Ask<EventRecorded>(conversations, new RecordStepCompleted("c", "m", 0, [11])));
        Assert.Equal(new EventRecorded("c", 5), Ask<EventRecorded>(conversations, new RecordError("c", "m", "first")));
        Assert.Equal(new EventRecorded("c", 6), Ask<EventRecorded>(conversations, new RecordError("c", "m", "latest")));
        var inProgress = Ask<ConversationSnapshot>(conversations, new GetConversationState("c"));
        Assert.Equal(["m"], inProgress.InProgress);
        Assert.Equal([new CompletedStep("m", 0, [11])], inProgress.CompletedSteps);   // same step again overwrote
        Assert.Equal([new MessageError("m", "latest")], inProgress.Errored);          // latest error wins

        Assert.Equal(new EventRecorded("c", 7), Ask<EventRecorded>(conversations, new RecordProcessingFinished("c", "m")));
        var finished = Ask<ConversationSnapshot>(conversations, new GetConversationState("c"));
        Assert.Empty(finished.InProgress);
        Assert.Equal(["m"], finished.Finished);
        Assert.Equal(7, finished.LastSequenceNr);
        Assert.Equal(7, Rows("c"));
    }

    [Fact]
    public void Bad_requests_are_rejected_with_a_reason_and_nothing_is_persisted()
    {
        var conversations = StartConversations();
        Ask<RedeliveryDecision.Start>(conversations, new ReceiveMessage("c", "m"));

        Assert.Equal(ConversationRejections.NotReceived, Ask<ConversationRejected>(conversations, new RecordProcessingStarted("c", "ghost")).Reason);
        Assert.Equal(ConversationRejections.NotReceived, Ask<ConversationRejected>(conversations, new RecordStepCompleted("c", "ghost", 0, [1])).Reason);
        Assert.Equal(ConversationRejections.NotReceived, Ask<ConversationRejected>(conversations, new RecordProcessingFinished("c", "ghost")).Reason);
        Assert.Equal(ConversationRejections.NotReceived, Ask<ConversationRejected>(conversations, new RecordError("c", "ghost", "x")).Reason);
        Assert.Equal(ConversationRejections.NegativeStepIndex, Ask<ConversationRejected>(conversations, new RecordStepCompleted("c", "m", -1, [1])).Reason);
        Assert.Equal(ConversationRejections.InvalidOutput, Ask<ConversationRejected>(conversations, new RecordStepCompleted("c", "m", 0, null!)).Reason);
        Assert.Equal(ConversationRejections.EmptyError, Ask<ConversationRejected>(conversations, new RecordError("c", "m", "")).Reason);
        Assert.Equal(ConversationRejections.InvalidMessageId, Ask<ConversationRejected>(conversations, new ReceiveMessage("c", "")).Reason);
        Assert.Equal(ConversationRejections.InvalidConversationId, Ask<ConversationRejected>(conversations, new ReceiveMessage("", "m")).Reason);
        Assert.Equal(ConversationRejections.InvalidConversationId,
            Ask<ConversationRejected>(conversations, new ReceiveMessage(new string('c', InputRules.ConversationId.MaxLength + 1), "m")).Reason);

        Assert.Equal(1, JournalRows("conversation-"));
        // The conversation still serves the next request.
        Assert.Equal(new EventRecorded("c", 2), Ask<EventRecorded>(conversations, new RecordProcessingStarted("c", "m")));
    }

    [Fact]
    public void Finished_messages_beyond_the_configured_bound_drop_their_step_outputs_but_stay_finished()
    {
        var conversations = StartConversations(DefaultSettings with { ConversationKeepOutputsOfFinished = 2 });
        foreach (var id in new[] { "m1", "m2", "m3" })
        {
            Ask<RedeliveryDecision.Start>(conversations, new ReceiveMessage("c", id));
            Ask<EventRecorded>(conversations, new RecordStepCompleted("c", id, 0, [1]));
            Ask<EventRecorded>(conversations, new RecordProcessingFinished("c", id));
        }

        var state = Ask<ConversationSnapshot>(conversations, new GetConversationState("c"));
        Assert.Equal(["m1", "m2", "m3"], state.Finished);
        Assert.Equal(["m2", "m3"], state.CompletedSteps.Select(s => s.MessageId));
        Ask<RedeliveryDecision.Skip>(conversations, new ReceiveMessage("c", "m1"));
    }

    [Fact]
    public void Conversations_are_independent_logs()
    {
        var conversations = StartConversations();
        Ask<RedeliveryDecision.Start>(conversations, new ReceiveMessage("a", "m"));
        Ask<EventRecorded>(conversations, new RecordProcessingFinished("a", "m"));

        Ask<RedeliveryDecision.Start>(conversations, new ReceiveMessage("b", "m"));
        Assert.Equal(2, Rows("a"));
        Assert.Equal(1, Rows("b"));
    }
}
