using System.Diagnostics;
using Akka.Actor;
using Liminal.Actors.Tracing;

namespace Liminal.Actors.Conversations;

/// <summary>One processing step: from the previous step's output (or the message's input) to this step's output.</summary>
public delegate Task<byte[]> ConversationStep(byte[] input, CancellationToken cancellationToken);

/// <summary>How a <see cref="StepRunner.RunAsync"/> ended.</summary>
public abstract record StepRunOutcome
{
    private StepRunOutcome() { }

    /// <summary>Every step is done and the message is recorded finished; <c>StepsRun</c> counts the steps run this time.</summary>
    public sealed record Finished(byte[] Output, int StepsRun) : StepRunOutcome;

    /// <summary>The message was finished before: nothing ran.</summary>
    public sealed record Skipped : StepRunOutcome;

    /// <summary>
    /// Another delivery of the message is running it (its lease runs until <c>LeaseExpiresAtMillis</c> on the bus
    /// clock): nothing ran. Redeliver after that time; if that runner died, the redelivery resumes where it stopped.
    /// </summary>
    public sealed record InProgress(long LeaseExpiresAtMillis) : StepRunOutcome;

    /// <summary>A step threw; its error is recorded and a redelivery resumes at that step.</summary>
    public sealed record Failed(int StepIndex, string Error) : StepRunOutcome;

    /// <summary>The conversation refused a request (invalid ids, or the journal failed).</summary>
    public sealed record Rejected(ConversationRejected Rejection) : StepRunOutcome;
}

/// <summary>
/// Runs a message's steps exactly once on top of a conversation's records: asks for the redelivery decision,
/// runs only the steps not yet completed (feeding a resumed step the stored output of the step before, read with
/// <see cref="GetStepOutput"/>), records each step's output as it completes, and records finish (or the error).
/// While it runs, the conversation's lease (renewed by each record) makes a second delivery of the same message
/// answer <see cref="StepRunOutcome.InProgress"/> without running anything; a step that runs longer than
/// <c>liminal.conversations.lease</c> lets a redelivery resume meanwhile. A step's side effect runs again only if the
/// process died after the side effect and before its output was durable, so steps should be idempotent for that
/// window. Participant actors call it and pipe the outcome to themselves.
/// </summary>
/// <example>
/// <code>
/// var runner = new StepRunner(bus.Conversations);
/// runner.RunAsync("order-42", messageId, payload, [ReserveStock, ChargeCard, Ship]).PipeTo(Self);
/// </code>
/// </example>
public sealed class StepRunner(IActorRef conversations, TimeSpan? requestTimeout = null)
{
    private readonly TimeSpan _timeout = requestTimeout ?? TimeSpan.FromSeconds(30);

    /// <remarks>
    /// Traced as a span <c>run steps</c>, a child of the caller's current
    /// activity (e.g. <see cref="LiminalTracing.StartProcessing"/> of the delivery that carried the message), with a
    /// child span <c>step {index}</c> per step run.
    /// </remarks>
    public async Task<StepRunOutcome> RunAsync(
        string conversationId, string messageId, byte[] input, IReadOnlyList<ConversationStep> steps,
        CancellationToken cancellationToken = default)
    {
        using var span = LiminalTracing.Source.StartActivity("run steps", ActivityKind.Internal);
        span?.SetTag("liminal.conversation_id", conversationId);
        span?.SetTag("liminal.message_id", messageId);
        var outcome = await RunStepsAsync(conversationId, messageId, input, steps, cancellationToken);
        span?.SetTag("liminal.outcome", outcome.GetType().Name);
        if (outcome is StepRunOutcome.Failed or StepRunOutcome.Rejected)
            span?.SetStatus(ActivityStatusCode.Error, outcome.ToString());
        return outcome;
    }

    private async Task<StepRunOutcome> RunStepsAsync(
        string conversationId, string messageId, byte[] input, IReadOnlyList<ConversationStep> steps, CancellationToken cancellationToken)
    {
        var decision = await AskAsync(new ReceiveMessage(conversationId, messageId), cancellationToken);
        int first;
        switch (decision)
        {
            case RedeliveryDecision.Skip:
                return new StepRunOutcome.Skipped();
            case RedeliveryDecision.Start:
                first = 0;
                if (await RecordAsync(new RecordProcessingStarted(conversationId, messageId), cancellationToken) is { } notStarted)
                    return notStarted;
                break;
            case RedeliveryDecision.InProgress running:
                return new StepRunOutcome.InProgress(running.LeaseExpiresAtMillis);
            case RedeliveryDecision.ResumeFrom resume:
                first = resume.StepIndex;
                if (first == 0)
                {
                    // The process may have died between receiving the message and recording its start.
                    if (await RecordAsync(new RecordProcessingStarted(conversationId, messageId), cancellationToken) is { } notRestarted)
                        return notRestarted;
                }
                else
                {
                    // Only the input of the first step to run, not the whole conversation (which may not fit a frame).
                    switch (await AskAsync(new GetStepOutput(conversationId, messageId, first - 1), cancellationToken))
                    {
                        case StepOutput { Output: { } stored }:
                            input = stored;
                            break;
                        case ConversationRejected rejected:
                            return new StepRunOutcome.Rejected(rejected);
                        case var other:
                            throw new InvalidOperationException(
                                $"Conversation {conversationId} resumes {messageId} after step {first - 1} but holds no output for it: {other}");
                    }
                }
                break;
            case ConversationRejected rejected:
                return new StepRunOutcome.Rejected(rejected);
            default:
                throw new InvalidOperationException($"Unexpected answer to ReceiveMessage: {decision}");
        }

        var output = input;
        for (var index = first; index < steps.Count; index++)
        {
            using var stepSpan = LiminalTracing.Source.StartActivity($"step {index}", ActivityKind.Internal);
            stepSpan?.SetTag("liminal.step_index", index);
            try
            {
                output = await steps[index](output, cancellationToken);
            }
            catch (Exception error) when (error is not OperationCanceledException)
            {
                var message = $"step {index}: {error.GetType().Name}: {error.Message}";
                stepSpan?.SetStatus(ActivityStatusCode.Error, message);
                return await RecordAsync(new RecordError(conversationId, messageId, message), cancellationToken)
                       ?? new StepRunOutcome.Failed(index, message);
            }
            if (await RecordAsync(new RecordStepCompleted(conversationId, messageId, index, output), cancellationToken) is { } notRecorded)
                return notRecorded;
        }

        return await RecordAsync(new RecordProcessingFinished(conversationId, messageId), cancellationToken)
               ?? new StepRunOutcome.Finished(output, Math.Max(0, steps.Count - first));
    }

    /// <summary>Null when the event is durable, else the rejection as an outcome.</summary>
    private async Task<StepRunOutcome?> RecordAsync(IConversationCommand record, CancellationToken cancellationToken) =>
        await AskAsync(record, cancellationToken) switch
        {
            EventRecorded => null,
            ConversationRejected rejected => new StepRunOutcome.Rejected(rejected),
            var other => throw new InvalidOperationException($"Unexpected answer to {record.GetType().Name}: {other}"),
        };

    private Task<object> AskAsync(IConversationCommand request, CancellationToken cancellationToken) =>
        conversations.Ask<object>(request, _timeout, cancellationToken);
}
