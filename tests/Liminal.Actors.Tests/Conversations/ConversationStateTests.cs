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

    private static readonly ConversationPolicy Timed = new(KeepOutputsOfFinished: 10) { Lease = TimeSpan.FromSeconds(30), Retention = TimeSpan.FromMinutes(10) };

    /// <summary>Events as the current code writes them: leases, finish and error times, and the forgetting cutoff.</summary>
    private static readonly IConversationEvent[] TimedHistory =
    [
        new MessageReceived("old", 0) { LeaseExpiresAtMillis = 30_000, ForgetsUpToMillis = -600_000 },
        new ProcessingFinished("old") { FinishedAtMillis = 1_000 },
        new MessageReceived("leased", 60_000) { LeaseExpiresAtMillis = 90_000, ForgetsUpToMillis = -540_000 },
        new StepCompleted("leased", 0, [1]) { LeaseExpiresAtMillis = 100_000 },
        new MessageReceived("failed", 70_000) { LeaseExpiresAtMillis = 100_000, ForgetsUpToMillis = -530_000 },
        new ErrorOccurred("failed", "boom") { OccurredAtMillis = 80_000 },
        new MessageLeased("failed", 95_000),
        new MessageReceived("late", 650_000) { LeaseExpiresAtMillis = 680_000, ForgetsUpToMillis = 50_000 },
    ];

    [Fact]
    public void Timed_events_applied_twice_or_restored_from_a_snapshot_give_the_same_decisions()
    {
        var once = Fold(TimedHistory);
        var twice = Fold(TimedHistory.SelectMany(e => new[] { e, e }).ToArray());
        var restored = ConversationState.FromSnapshot(once.ToSnapshot());

        foreach (var state in new[] { once, twice, restored })
        {
            // "old" finished at 1 s and was forgotten by the receive of "late" (cutoff 50 s); the others are anchored at 100 s.
            Assert.Equal(3, state.MessageCount);
            Assert.Equal(new RedeliveryDecision.InProgress(95_000), Decide(state, "failed", nowMillis: 94_999));
            Assert.Equal(new RedeliveryDecision.ResumeFrom(1), Decide(state, "leased", nowMillis: 100_000));
            Assert.Equal(new RedeliveryDecision.Start(), Decide(state, "old", nowMillis: 100_000));
            // "leased" is held until its last lease (100 s) is a retention old.
            Assert.Equal(new RedeliveryDecision.Start(), Decide(state, "leased", nowMillis: 700_000));
        }
        Assert.Equal(once.ToView("x", 8, -1), twice.ToView("x", 8, -1));
        Assert.Equal(once.ToView("x", 8, -1), restored.ToView("x", 8, -1));
    }

    private static object Decide(ConversationState state, string messageId, long nowMillis) =>
        ConversationState.Decide(state, "x", new ReceiveMessage("x", messageId), Timed, nowMillis, lastSequenceNr: 8).Reply;

    [Fact]
    public void The_redelivery_decision_resumes_at_the_first_step_not_completed_and_takes_the_lease()
    {
        // Events as written before leases existed: no delivery holds the message.
        var state = Fold(new MessageReceived("m", 1), new StepCompleted("m", 0, [1]), new StepCompleted("m", 2, [1]));

        var outcome = ConversationState.Decide(state, "x", new ReceiveMessage("x", "m"), Policy, nowMillis: 5, lastSequenceNr: 3);

        Assert.Equal(new RedeliveryDecision.ResumeFrom(1), outcome.Reply);
        Assert.Equal([new MessageLeased("m", 5 + 30_000)], outcome.Events);
        ConversationState.Apply(state, outcome.Events[0]);
        Assert.Equal(new RedeliveryDecision.InProgress(30_005),
            ConversationState.Decide(state, "x", new ReceiveMessage("x", "m"), Policy, nowMillis: 30_004, lastSequenceNr: 4).Reply);
    }

    [Fact]
    public void Finishing_past_the_bound_compacts_the_oldest_finished_outputs_in_the_same_write()
    {
        var state = Fold(
            new MessageReceived("old", 1), new StepCompleted("old", 0, [1]), new ProcessingFinished("old"),
            new MessageReceived("new", 2), new StepCompleted("new", 0, [2]));

        var outcome = ConversationState.Decide(state, "x", new RecordProcessingFinished("x", "new"), new ConversationPolicy(1), 9, lastSequenceNr: 5);

        Assert.Equal(new EventRecorded("x", 7), outcome.Reply);
        Assert.Equal(new ProcessingFinished("new") { FinishedAtMillis = 9 }, outcome.Events[0]);
        Assert.Equal(["old"], Assert.IsType<StepOutputsCompacted>(outcome.Events[1]).CompactedMessageIds);
    }
}
