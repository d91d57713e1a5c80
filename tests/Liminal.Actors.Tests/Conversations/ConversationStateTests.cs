using Liminal.Actors.Conversations;

namespace Liminal.Actors.Tests.Conversations;

/// <summary>The pure decision and fold of a conversation.</summary>
public sealed class ConversationStateTests
{
    private static readonly ConversationPolicy Policy = new(KeepOutputsOfFinished: 10);

    private static ConversationState Fold(params IConversationEvent[] events) =>
        events.Aggregate(new ConversationState(), ConversationState.Apply);

    private static readonly IConversationEvent[] History =
    [
        new MessageReceived("a", 1), new ProcessingStarted("a"), new StepCompleted("a", 0, [1]), new StepCompleted("a", 1, [2]),
        new ErrorOccurred("a", "first"), new ErrorOccurred("a", "second"), new ProcessingFinished("a"),
        new MessageReceived("b", 2), new StepCompleted("b", 0, [3]), new ProcessingFinished("b"), new StepOutputsCompacted("b", ["a"]),
        new MessageReceived("c", 3), new StepCompleted("c", 0, [4]), new StepCompleted("c", 0, [5]),
    ];

    [Fact]
    public void Applying_every_event_twice_gives_the_same_state_as_once()
    {
        var once = Fold(History).ToView("x", 0);
        var twice = Fold(History.SelectMany(e => new[] { e, e }).ToArray()).ToView("x", 0);

        Assert.Equal(once, twice);
        Assert.Equal([new CompletedStep("b", 0, [3]), new CompletedStep("c", 0, [5])], once.CompletedSteps);
        Assert.Equal([new MessageError("a", "second")], once.Errored);
    }

    [Fact]
    public void A_snapshot_restores_the_same_view()
    {
        var state = Fold(History);

        Assert.Equal(state.ToView("x", 14), ConversationState.FromSnapshot(state.ToSnapshot()).ToView("x", 14));
    }

    [Fact]
    public void The_redelivery_decision_resumes_at_the_first_step_not_completed()
    {
        var state = Fold(new MessageReceived("m", 1), new StepCompleted("m", 0, [1]), new StepCompleted("m", 2, [1]));

        var outcome = ConversationState.Decide(state, "x", new ReceiveMessage("x", "m"), Policy, nowMillis: 5, lastSequenceNr: 3);

        Assert.Equal(new RedeliveryDecision.ResumeFrom(1), outcome.Reply);
        Assert.Empty(outcome.Events);
    }

    [Fact]
    public void Finishing_past_the_bound_compacts_the_oldest_finished_outputs_in_the_same_write()
    {
        var state = Fold(
            new MessageReceived("old", 1), new StepCompleted("old", 0, [1]), new ProcessingFinished("old"),
            new MessageReceived("new", 2), new StepCompleted("new", 0, [2]));

        var outcome = ConversationState.Decide(state, "x", new RecordProcessingFinished("x", "new"), new ConversationPolicy(1), 9, lastSequenceNr: 5);

        Assert.Equal(new EventRecorded("x", 7), outcome.Reply);
        Assert.Equal(new ProcessingFinished("new"), outcome.Events[0]);
        Assert.Equal(["old"], Assert.IsType<StepOutputsCompacted>(outcome.Events[1]).CompactedMessageIds);
    }
}
