using Liminal.Actors.Persistence;

namespace Liminal.Actors.Conversations;

/// <summary>What a conversation decides by, besides its state.</summary>
public sealed record ConversationPolicy(int KeepOutputsOfFinished)
{
    /// <summary>How long a delivery holds a message after receiving it or recording for it (<c>liminal.conversations.lease</c>).</summary>
    public TimeSpan Lease { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long a message is remembered after it finished (or, unfinished, after its last lease ended or its last
    /// error): the redelivery horizon (<c>liminal.conversations.retention</c>).
    /// </summary>
    public TimeSpan Retention { get; init; } = TimeSpan.FromDays(7);

    internal long LeaseExpiry(long nowMillis) => nowMillis + (long)Lease.TotalMilliseconds;

    /// <summary>Messages whose retention anchor is at or before this time are forgotten.</summary>
    internal long ForgetsUpTo(long nowMillis) => nowMillis - (long)Retention.TotalMilliseconds;

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
    // Every message by its retention anchor, oldest first: what the next receive forgets.
    private readonly RetentionIndex _byAnchor = new();

    /// <summary>Message ids held in memory (those past the retention stay until the next new message is received).</summary>
    public int MessageCount => _messages.Count;

    public static ConversationOutcome Decide(
        ConversationState state, string conversationId, IConversationCommand command, ConversationPolicy policy,
        long nowMillis, long lastSequenceNr)
    {
        var forgetsUpTo = policy.ForgetsUpTo(nowMillis);
        if (command is GetConversationState)
            return ConversationOutcome.ReplyOnly(state.ToView(conversationId, lastSequenceNr, forgetsUpTo));

        if (Validation.RequestValidation.Conversation(command, policy.MaxOutputBytes) is { } invalid)
            return ConversationOutcome.ReplyOnly(invalid with { ConversationId = conversationId });
        var messageId = IConversationCommand.MessageIdOf(command);

        // A message past the retention is answered as never seen, also before the next receive drops it.
        var progress = state._messages.GetValueOrDefault(messageId) is { } known && known.RetainedFromMillis > forgetsUpTo ? known : null;
        if (command is ReceiveMessage)
        {
            return progress switch
            {
                { Finished: true } => ConversationOutcome.ReplyOnly(new RedeliveryDecision.Skip()),
                { LeaseExpiresAtMillis: { } held } when held > nowMillis => ConversationOutcome.ReplyOnly(new RedeliveryDecision.InProgress(held)),
                // The lease is taken durably, so a redelivery racing this one (or following a crash of the bus) sees it.
                { } seen => new ConversationOutcome(new RedeliveryDecision.ResumeFrom(seen.FirstIncompleteStep()),
                    [new MessageLeased(messageId, policy.LeaseExpiry(nowMillis))]),
                null => new ConversationOutcome(new RedeliveryDecision.Start(), [new MessageReceived(messageId, nowMillis)
                {
                    LeaseExpiresAtMillis = policy.LeaseExpiry(nowMillis),
                    ForgetsUpToMillis = forgetsUpTo,
                }]),
            };
        }

        if (progress is null)
            return Reject(conversationId, messageId, ConversationRejections.NotReceived, $"message '{messageId}' was never received");

        if (command is GetStepOutput get)
            return get.StepIndex < 0
                ? Reject(conversationId, messageId, ConversationRejections.NegativeStepIndex, $"step index {get.StepIndex} is negative")
                : ConversationOutcome.ReplyOnly(new StepOutput(conversationId, messageId, get.StepIndex, progress.Steps.GetValueOrDefault(get.StepIndex)));

        // Each record renews the lease of the delivery that makes it; an error or the finish ends it. Malformed
        // records were refused above (RequestValidation).
        var lease = policy.LeaseExpiry(nowMillis);
        IReadOnlyList<IConversationEvent> events = command switch
        {
            RecordProcessingStarted => [new ProcessingStarted(messageId) { LeaseExpiresAtMillis = lease }],
            RecordStepCompleted step => [new StepCompleted(messageId, step.StepIndex, step.Output) { LeaseExpiresAtMillis = lease }],
            RecordError error => [new ErrorOccurred(messageId, error.Error) { OccurredAtMillis = nowMillis }],
            RecordProcessingFinished => state.FinishWithCompaction(messageId, progress, policy, nowMillis),
            _ => throw new ArgumentException($"Not a conversation command: {command.GetType().Name}", nameof(command)),
        };

        return new ConversationOutcome(new EventRecorded(conversationId, lastSequenceNr + events.Count), events);
    }

    private static ConversationOutcome Reject(string conversationId, string? messageId, string reason, string detail) =>
        ConversationOutcome.ReplyOnly(new ConversationRejected(conversationId, messageId ?? string.Empty, reason) { Detail = detail });

    /// <summary>Finishing a message may push the oldest finished messages' outputs past the configured bound.</summary>
    private IReadOnlyList<IConversationEvent> FinishWithCompaction(string messageId, MessageProgress progress, ConversationPolicy policy, long nowMillis)
    {
        var finished = new ProcessingFinished(messageId) { FinishedAtMillis = nowMillis };
        var order = _finishedWithOutputs.AsEnumerable();
        if (progress.Steps.Count > 0 && !_finishedNodes.ContainsKey(messageId))
            order = order.Append(messageId);
        var holding = order.ToList();
        var excess = holding.Count - policy.KeepOutputsOfFinished;
        return excess <= 0
            ? [finished]
            : [finished, new StepOutputsCompacted(messageId, holding.Take(excess).ToArray())];
    }

    /// <summary>Folds one event into <paramref name="state"/> (in place) and returns it. Applying an event twice changes nothing.</summary>
    public static ConversationState Apply(ConversationState state, IConversationEvent @event)
    {
        if (@event is MessageReceived received)
        {
            if (received.ForgetsUpToMillis is { } cutoff)
                state.ForgetUpTo(cutoff);
            if (!state._messages.ContainsKey(received.MessageId))
            {
                var added = new MessageProgress(received.MessageId, received.ReceivedAtMillis);
                state._messages.Add(received.MessageId, added);
                state._byAnchor.Add(added.MessageId, added.RetainedFromMillis);
                state.Renew(added, received.LeaseExpiresAtMillis);
            }
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
            case ProcessingStarted started:
                progress.Started = true;
                state.Renew(progress, started.LeaseExpiresAtMillis);
                break;
            case StepCompleted step:
                progress.Steps[step.StepIndex] = step.Output;
                state.Renew(progress, step.LeaseExpiresAtMillis);
                break;
            case MessageLeased leased:
                state.Renew(progress, leased.LeaseExpiresAtMillis);
                break;
            case ErrorOccurred error:
                progress.Error = error.Error;
                progress.LeaseExpiresAtMillis = null;
                if (!progress.Finished && error.OccurredAtMillis is { } occurredAt)
                    state.MoveAnchor(progress, Math.Max(progress.RetainedFromMillis, occurredAt));
                break;
            case ProcessingFinished finished:
                progress.Finished = true;
                progress.LeaseExpiresAtMillis = null;
                if (finished.FinishedAtMillis is { } finishedAt)
                    state.MoveAnchor(progress, finishedAt);
                if (progress.Steps.Count > 0 && !state._finishedNodes.ContainsKey(finished.MessageId))
                    state._finishedNodes[finished.MessageId] = state._finishedWithOutputs.AddLast(finished.MessageId);
                break;
        }
        return state;
    }

    /// <summary>An unfinished message's lease runs to <paramref name="leaseExpiresAtMillis"/>, and it is retained at least that long.</summary>
    private void Renew(MessageProgress progress, long? leaseExpiresAtMillis)
    {
        if (leaseExpiresAtMillis is not { } expiry || progress.Finished)
            return;
        progress.LeaseExpiresAtMillis = expiry;
        MoveAnchor(progress, Math.Max(progress.RetainedFromMillis, expiry));
    }

    private void MoveAnchor(MessageProgress progress, long anchor)
    {
        _byAnchor.Move(progress.MessageId, progress.RetainedFromMillis, anchor);
        progress.RetainedFromMillis = anchor;
    }

    /// <summary>Drops every message anchored at or before <paramref name="cutoff"/>: ids, steps, errors, compaction order.</summary>
    private void ForgetUpTo(long cutoff) =>
        _byAnchor.RemoveUpTo(cutoff, messageId =>
        {
            _messages.Remove(messageId);
            if (_finishedNodes.Remove(messageId, out var node))
                _finishedWithOutputs.Remove(node);
        });

    private void Compact(string messageId)
    {
        if (_messages.TryGetValue(messageId, out var progress))
            progress.Steps.Clear();
        if (_finishedNodes.Remove(messageId, out var node))
            _finishedWithOutputs.Remove(node);
    }

    /// <summary>The public view of the state: the messages anchored after <paramref name="forgetsUpToMillis"/>.</summary>
    public ConversationSnapshot ToView(string conversationId, long lastSequenceNr, long forgetsUpToMillis = long.MinValue)
    {
        var ordered = _messages.Where(m => m.Value.RetainedFromMillis > forgetsUpToMillis).OrderBy(m => m.Key, StringComparer.Ordinal).ToList();
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
                m.Value.Steps.Select(s => new CompletedStep(m.Key, s.Key, s.Value)).ToArray())
            {
                LeaseExpiresAtMillis = m.Value.LeaseExpiresAtMillis,
                RetainedFromMillis = m.Value.RetainedFromMillis,
            }).ToArray(),
            _finishedWithOutputs.ToArray());

    public static ConversationState FromSnapshot(ConversationStateSnapshot snapshot)
    {
        var state = new ConversationState();
        foreach (var m in snapshot.Messages)
        {
            var progress = new MessageProgress(m.MessageId, m.ReceivedAtMillis)
            {
                Started = m.Started,
                Finished = m.Finished,
                Error = m.Error,
                LeaseExpiresAtMillis = m.LeaseExpiresAtMillis,
                RetainedFromMillis = m.RetainedFromMillis ?? m.ReceivedAtMillis,
            };
            foreach (var step in m.Steps)
                progress.Steps[step.StepIndex] = step.Output;
            state._messages[m.MessageId] = progress;
            state._byAnchor.Add(m.MessageId, progress.RetainedFromMillis);
        }
        foreach (var id in snapshot.FinishedWithOutputs)
            state._finishedNodes[id] = state._finishedWithOutputs.AddLast(id);
        return state;
    }

    private sealed class MessageProgress(string messageId, long receivedAtMillis)
    {
        public string MessageId { get; } = messageId;
        public long ReceivedAtMillis { get; } = receivedAtMillis;

        /// <summary>Null when no delivery holds the message (never leased, ended by an error or the finish).</summary>
        public long? LeaseExpiresAtMillis { get; set; }

        /// <summary>
        /// The retention anchor: the finish time of a finished message; else the latest of its receive time, lease
        /// expiries and error times. The message is forgotten once this is a retention in the past.
        /// </summary>
        public long RetainedFromMillis { get; set; } = receivedAtMillis;
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

