namespace Liminal.Actors.Conversations;

/// <summary>What a conversation decides by, besides its state.</summary>
public sealed record ConversationPolicy(int KeepOutputsOfFinished)
{
    /// <summary>The largest step output and error text (<c>liminal.max-payload-bytes</c>): a conversation's state must cross Akka.Remote.</summary>
    public int MaxOutputBytes { get; init; } = Validation.InputRules.DefaultMaxPayloadBytes;
}

/// <summary>What a command decided: the one reply, and the events that must be durable before it is sent.</summary>
public sealed record ConversationOutcome(object Reply, IReadOnlyList<IConversationEvent> Events)
{
    public static ConversationOutcome ReplyOnly(object reply) => new(reply, []);
}

/// <summary>
/// The state of one conversation: <see cref="Decide"/> is a pure function of it, <see cref="Apply"/> folds an
/// event into it in place (mutable for the same reason as the dedup shard's state: it is folded twice).
/// </summary>
public sealed class ConversationState
{
    private readonly Dictionary<string, MessageProgress> _messages = new(StringComparer.Ordinal);
    // Finished messages that still hold step outputs, oldest finish first: the compaction order.
    private readonly LinkedList<string> _finishedWithOutputs = new();
    private readonly Dictionary<string, LinkedListNode<string>> _finishedNodes = new(StringComparer.Ordinal);

    public int MessageCount => _messages.Count;

    public static ConversationOutcome Decide(
        ConversationState state, string conversationId, IConversationCommand command, ConversationPolicy policy,
        long nowMillis, long lastSequenceNr)
    {
        if (command is GetConversationState)
            return ConversationOutcome.ReplyOnly(state.ToView(conversationId, lastSequenceNr));

        if (Validation.RequestValidation.Conversation(command, policy.MaxOutputBytes) is { } invalid)
            return ConversationOutcome.ReplyOnly(invalid with { ConversationId = conversationId });
        var messageId = MessageIdOf(command);

        state._messages.TryGetValue(messageId, out var progress);
        if (command is ReceiveMessage)
        {
            return progress switch
            {
                { Finished: true } => ConversationOutcome.ReplyOnly(new RedeliveryDecision.Skip()),
                { } seen => ConversationOutcome.ReplyOnly(new RedeliveryDecision.ResumeFrom(seen.FirstIncompleteStep())),
                null => new ConversationOutcome(new RedeliveryDecision.Start(), [new MessageReceived(messageId, nowMillis)]),
            };
        }

        if (progress is null)
            return Reject(conversationId, messageId, ConversationRejections.NotReceived, $"message '{messageId}' was never received");

        IReadOnlyList<IConversationEvent> events = command switch
        {
            RecordProcessingStarted => [new ProcessingStarted(messageId)],
            RecordStepCompleted step => [new StepCompleted(messageId, step.StepIndex, step.Output)],
            RecordError error => [new ErrorOccurred(messageId, error.Error)],
            RecordProcessingFinished => state.FinishWithCompaction(messageId, progress, policy),
            _ => throw new ArgumentException($"Not a conversation command: {command.GetType().Name}", nameof(command)),
        };

        return new ConversationOutcome(new EventRecorded(conversationId, lastSequenceNr + events.Count), events);
    }

    /// <summary>The message a command is about; empty for <see cref="GetConversationState"/>.</summary>
    public static string MessageIdOf(IConversationCommand command) => command switch
    {
        ReceiveMessage c => c.MessageId,
        RecordProcessingStarted c => c.MessageId,
        RecordStepCompleted c => c.MessageId,
        RecordProcessingFinished c => c.MessageId,
        RecordError c => c.MessageId,
        _ => string.Empty,
    };

    private static ConversationOutcome Reject(string conversationId, string? messageId, string reason, string detail) =>
        ConversationOutcome.ReplyOnly(new ConversationRejected(conversationId, messageId ?? string.Empty, reason) { Detail = detail });

    /// <summary>Finishing a message may push the oldest finished messages' outputs past the configured bound.</summary>
    private IReadOnlyList<IConversationEvent> FinishWithCompaction(string messageId, MessageProgress progress, ConversationPolicy policy)
    {
        var order = _finishedWithOutputs.AsEnumerable();
        if (progress.Steps.Count > 0 && !_finishedNodes.ContainsKey(messageId))
            order = order.Append(messageId);
        var holding = order.ToList();
        var excess = holding.Count - policy.KeepOutputsOfFinished;
        return excess <= 0
            ? [new ProcessingFinished(messageId)]
            : [new ProcessingFinished(messageId), new StepOutputsCompacted(messageId, holding.Take(excess).ToArray())];
    }

    /// <summary>Folds one event into <paramref name="state"/> (in place) and returns it. Applying an event twice changes nothing.</summary>
    public static ConversationState Apply(ConversationState state, IConversationEvent @event)
    {
        if (@event is MessageReceived received)
        {
            state._messages.TryAdd(received.MessageId, new MessageProgress(received.ReceivedAtMillis));
            return state;
        }
        if (@event is StepOutputsCompacted compacted)
        {
            foreach (var id in compacted.CompactedMessageIds)
                state.Compact(id);
            return state;
        }
        if (!state._messages.TryGetValue(@event.MessageId, out var progress))
            return state;

        switch (@event)
        {
            case ProcessingStarted:
                progress.Started = true;
                break;
            case StepCompleted step:
                progress.Steps[step.StepIndex] = step.Output;
                break;
            case ErrorOccurred error:
                progress.Error = error.Error;
                break;
            case ProcessingFinished finished:
                progress.Finished = true;
                if (progress.Steps.Count > 0 && !state._finishedNodes.ContainsKey(finished.MessageId))
                    state._finishedNodes[finished.MessageId] = state._finishedWithOutputs.AddLast(finished.MessageId);
                break;
        }
        return state;
    }

    private void Compact(string messageId)
    {
        if (_messages.TryGetValue(messageId, out var progress))
            progress.Steps.Clear();
        if (_finishedNodes.Remove(messageId, out var node))
            _finishedWithOutputs.Remove(node);
    }

    /// <summary>The public view of the state.</summary>
    public ConversationSnapshot ToView(string conversationId, long lastSequenceNr)
    {
        var ordered = _messages.OrderBy(m => m.Key, StringComparer.Ordinal).ToList();
        return new ConversationSnapshot(
            conversationId,
            ordered.Select(m => m.Key).ToArray(),
            ordered.Where(m => m.Value is { Started: true, Finished: false }).Select(m => m.Key).ToArray(),
            ordered.Where(m => m.Value.Finished).Select(m => m.Key).ToArray(),
            ordered.Where(m => m.Value.Error is not null).Select(m => new MessageError(m.Key, m.Value.Error!)).ToArray(),
            ordered.SelectMany(m => m.Value.Steps.Select(s => new CompletedStep(m.Key, s.Key, s.Value))).ToArray(),
            lastSequenceNr);
    }

    public ConversationStateSnapshot ToSnapshot() =>
        new(_messages.Select(m => new MessageProgressSnapshot(
                m.Key, m.Value.ReceivedAtMillis, m.Value.Started, m.Value.Finished, m.Value.Error,
                m.Value.Steps.Select(s => new CompletedStep(m.Key, s.Key, s.Value)).ToArray())).ToArray(),
            _finishedWithOutputs.ToArray());

    public static ConversationState FromSnapshot(ConversationStateSnapshot snapshot)
    {
        var state = new ConversationState();
        foreach (var m in snapshot.Messages)
        {
            var progress = new MessageProgress(m.ReceivedAtMillis) { Started = m.Started, Finished = m.Finished, Error = m.Error };
            foreach (var step in m.Steps)
                progress.Steps[step.StepIndex] = step.Output;
            state._messages[m.MessageId] = progress;
        }
        foreach (var id in snapshot.FinishedWithOutputs)
            state._finishedNodes[id] = state._finishedWithOutputs.AddLast(id);
        return state;
    }

    /// <summary>An independent copy sharing nothing mutable.</summary>
    private sealed class MessageProgress(long receivedAtMillis)
    {
        public long ReceivedAtMillis { get; } = receivedAtMillis;
        public bool Started { get; set; }
        public bool Finished { get; set; }
        public string? Error { get; set; }
        public SortedDictionary<int, byte[]> Steps { get; } = [];

        /// <summary>Steps run in order, so the first gap is where processing must continue.</summary>
        public int FirstIncompleteStep()
        {
            var next = 0;
            while (Steps.ContainsKey(next))
                next++;
            return next;
        }
    }
}
