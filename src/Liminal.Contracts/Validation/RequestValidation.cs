using Liminal.Actors.Channels;
using Liminal.Actors.Conversations;
using Liminal.Actors.Dedup;
using Liminal.Actors.Offsets;

namespace Liminal.Actors.Validation;

/// <summary>
/// The typed rejection of a malformed request to one of the bus's four actors, from the rules of
/// <see cref="InputRules"/>; null when the request is well-formed (whether it is then accepted is the bus's decision:
/// an unknown channel, a schema, a stored offset). The actors call it where a request enters, the entities again
/// (they may be hosted without the local parents, e.g. by a shard region), and <c>Liminal.Client</c> before sending:
/// a request Akka.Remote would drop as too large for a frame is answered, typed, instead of never.
/// </summary>
public static class RequestValidation
{
    /// <summary>The typed rejection of any public request, or null; <paramref name="maxPayloadBytes"/> is <c>liminal.max-payload-bytes</c>.</summary>
    public static object? Reject(object request, int maxPayloadBytes) => request switch
    {
        IDedupKeyCommand command => Dedup(command),
        IConversationCommand command => Conversation(command, maxPayloadBytes),
        IOffsetsCommand command => Offsets(command),
        Publish publish => Publish(publish, maxPayloadBytes),
        Subscribe subscribe => Subscribe(subscribe),
        Unsubscribe unsubscribe => InputRules.ChannelName.Problem(unsubscribe.Channel) is { } problem
            ? new ChannelRejected(unsubscribe.Channel ?? string.Empty, problem)
            : null,
        Replay replay => Replay(replay),
        SubscribeDurable subscribe => SubscribeDurable(subscribe),
        IConsumerSettlement settlement => Settlement(settlement),
        GetConsumerInfo info => ConsumerNamed(info.Channel, info.Consumer),
        DeleteConsumer delete => ConsumerNamed(delete.Channel, delete.Consumer),
        PurgeChannel purge => InputRules.ChannelName.Problem(purge.Channel) is { } purgeProblem
            ? new ChannelRejected(purge.Channel ?? string.Empty, purgeProblem)
            : null,
        RedriveDeadLetter redrive => InputRules.ChannelName.Problem(redrive.DeadLetterChannel) is { } redriveProblem
            ? new PublishRejected(redrive.DeadLetterChannel ?? string.Empty, PublishFailure.UnknownChannel, redriveProblem)
            : redrive.SequenceNr < 1
                ? new PublishRejected(redrive.DeadLetterChannel!, PublishFailure.SchemaMismatch, $"sequence number {redrive.SequenceNr} must be at least 1")
                : null,
        CreateChannel create => ChannelDefinitionProblems(create.Definition).ToList() is { Count: > 0 } problems
            ? new ChannelRejected(create.Definition?.Name ?? string.Empty, string.Join("; ", problems))
            : null,
        _ => null,
    };

    /// <summary>Every problem with a definition's name and partitions (the schema file is checked when loaded).</summary>
    public static IEnumerable<string> ChannelDefinitionProblems(ChannelDefinition? definition)
    {
        if (definition is null)
        {
            yield return "channel definition missing";
            yield break;
        }
        if (InputRules.ChannelName.Problem(definition.Name) is { } nameProblem)
            yield return nameProblem;
        else if (definition.Name.Length > InputRules.MaxDefinedChannelName)
            yield return $"channel name is longer than {InputRules.MaxDefinedChannelName} characters";
        else if (definition.Name.EndsWith(".dlq", StringComparison.Ordinal))
            yield return $"channel '{definition.Name}': the suffix .dlq is reserved for dead-letter channels";
        if (definition.SchemaPath is { } path && InputRules.SchemaPath.Problem(path) is { } pathProblem)
            yield return pathProblem;
        if (definition.Partitions is < 1 or > InputRules.MaxPartitions)
            yield return $"channel '{definition.Name}': partitions {definition.Partitions} must be 1 to {InputRules.MaxPartitions}";
        if (definition.MaxAge is { } maxAge && maxAge < TimeSpan.FromMilliseconds(1))
            yield return $"channel '{definition.Name}': max-age {maxAge} must be at least 1 ms";
        if (definition.MaxMessagesPerPartition is < 1)
            yield return $"channel '{definition.Name}': max-messages-per-partition {definition.MaxMessagesPerPartition} must be at least 1";
        // Nothing of an ephemeral channel is stored, so there is nothing to retain or delete.
        if (!definition.Durable && (definition.MaxAge is not null || definition.MaxMessagesPerPartition is not null))
            yield return $"channel '{definition.Name}': max-age and max-messages-per-partition need a durable channel";
    }

    /// <summary>The key (and the owners) of a dedup request, and the receipt it stores.</summary>
    public static DedupRejected? Dedup(IDedupKeyCommand command)
    {
        var key = command.Key ?? string.Empty;
        var keyProblem = InputRules.IdempotencyKey.Problem(command.Key) ?? command switch
        {
            ClaimOrGet claim => OwnerProblem(claim.Owner),
            ReleaseClaim release => OwnerProblem(release.Owner),
            TakeOverClaim takeOver => OwnerProblem(takeOver.FromOwner) ?? OwnerProblem(takeOver.ToOwner),
            _ => null,
        };
        if (keyProblem is not null)
            return new DedupRejected(key, DedupRejection.InvalidKey) { Detail = keyProblem };
        var receiptProblem = command switch
        {
            CompleteReceipt complete => InputRules.ReceiptProblem(complete.Receipt),
            ClaimOrComplete complete => InputRules.ReceiptProblem(complete.Receipt),
            _ => null,
        };
        return receiptProblem is null ? null : new DedupRejected(key, DedupRejection.InvalidReceipt) { Detail = receiptProblem };
    }

    // An owner is optional (a claim without one); one that is given is stored with the claim.
    private static string? OwnerProblem(string? owner) => owner is null ? null : InputRules.Owner.Problem(owner);

    /// <summary>The conversation id, the message id and what a record carries (step index, output, error).</summary>
    public static ConversationRejected? Conversation(IConversationCommand command, int maxPayloadBytes)
    {
        var conversationId = command.ConversationId ?? string.Empty;
        var messageId = IConversationCommand.MessageIdOf(command) ?? string.Empty;
        ConversationRejected Rejected(string reason, string detail) => new(conversationId, messageId, reason) { Detail = detail };

        if (InputRules.ConversationId.Problem(command.ConversationId) is { } idProblem)
            return Rejected(ConversationRejections.InvalidConversationId, idProblem);
        if (command is GetConversationState)
            return null;
        if (InputRules.MessageId.Problem(IConversationCommand.MessageIdOf(command)) is { } messageProblem)
            return Rejected(ConversationRejections.InvalidMessageId, messageProblem);
        return command switch
        {
            RecordStepCompleted { StepIndex: < 0 } step => Rejected(ConversationRejections.NegativeStepIndex, $"step index {step.StepIndex} is negative"),
            RecordStepCompleted step when InputRules.PayloadProblem("step output", step.Output, maxPayloadBytes) is { } problem =>
                Rejected(ConversationRejections.InvalidOutput, problem),
            RecordError { Error: null or "" } => Rejected(ConversationRejections.EmptyError, "an error must say what went wrong"),
            RecordError error when InputRules.ErrorText(maxPayloadBytes).Problem(error.Error) is { } problem =>
                Rejected(ConversationRejections.InvalidError, problem),
            _ => null,
        };
    }

    /// <summary>The consumer or pipeline name, the stream or event id, and the offset.</summary>
    public static OffsetRequestRejected? Offsets(IOffsetsCommand command)
    {
        var problem = InputRules.ConsumerName.Problem(command.Owner) ?? command switch
        {
            CommitOffset commit => InputRules.StreamName.Problem(commit.Stream) ?? (commit.Offset < 0 ? $"offset {commit.Offset} is negative" : null),
            GetOffset get => InputRules.StreamName.Problem(get.Stream),
            RecordProcessed processed => InputRules.EventId.Problem(processed.EventId),
            WasProcessed processed => InputRules.EventId.Problem(processed.EventId),
            _ => null,
        };
        return problem is null ? null : new OffsetRequestRejected(command.Owner ?? string.Empty, problem);
    }

    /// <summary>
    /// Everything about a publish that needs no channel: its channel name, its envelope (payload present and within
    /// <paramref name="maxPayloadBytes"/>, the ids and headers stored with it) and its keys. The channel then checks its schema.
    /// </summary>
    public static PublishRejected? Publish(Publish publish, int maxPayloadBytes)
    {
        var channel = publish.Channel ?? string.Empty;
        PublishRejected Rejected(PublishFailure reason, string detail) => new(channel, reason, detail);

        if (InputRules.ChannelName.Problem(publish.Channel) is { } nameProblem)
            return Rejected(PublishFailure.UnknownChannel, nameProblem);
        if (publish.Envelope is not { } envelope)
            return Rejected(PublishFailure.SchemaMismatch, "envelope is missing");
        if (InputRules.PayloadProblem("payload", envelope.Payload, maxPayloadBytes) is { } payloadProblem)
            return Rejected(envelope.Payload is null ? PublishFailure.SchemaMismatch : PublishFailure.PayloadTooLarge, payloadProblem);
        // Stored with the message: an id that does not round-trip through UTF-8 would come back from a replay as another.
        var envelopeProblem = InputRules.PublisherId.Problem(envelope.PublisherId)
                              ?? (envelope.Causal?.CorrelationId is { } correlation ? InputRules.CorrelationId.Problem(correlation) : null)
                              ?? (envelope.Causal?.CausationId is { } causation ? InputRules.CausationId.Problem(causation) : null)
                              ?? InputRules.HeadersProblem(envelope.Headers);
        if (envelopeProblem is not null)
            return Rejected(PublishFailure.SchemaMismatch, envelopeProblem);
        var keyProblem = (publish.IdempotencyKey is { } key ? InputRules.IdempotencyKey.Problem(key) : null)
                         ?? (publish.PartitionKey is { } partitionKey ? InputRules.PartitionKey.Problem(partitionKey) : null);
        return keyProblem is null ? null : Rejected(PublishFailure.InvalidKey, keyProblem);
    }

    /// <summary>The channel name, a live subscriber, and a bound of at least 1 when one is asked for.</summary>
    public static ChannelRejected? Subscribe(Subscribe subscribe)
    {
        var problem = InputRules.ChannelName.Problem(subscribe.Channel)
                      ?? InputRules.SubscriberProblem(subscribe.Subscriber)
                      ?? (subscribe.MaxUnacknowledged is < 1 ? $"max unacknowledged {subscribe.MaxUnacknowledged} must be at least 1" : null)
                      ?? (subscribe.BufferSize < 0 ? $"buffer size {subscribe.BufferSize} must not be negative" : null);
        return problem is null ? null : new ChannelRejected(subscribe.Channel ?? string.Empty, problem);
    }

    /// <summary>The channel name, a partition and position that can exist (sequence numbers start at 1), a live subscriber.</summary>
    public static ChannelRejected? Replay(Replay replay)
    {
        var problem = InputRules.ChannelName.Problem(replay.Channel)
                      ?? (replay.Partition < 0 ? $"partition {replay.Partition} is negative" : null)
                      ?? (replay.FromSequenceNr < 1 ? $"replay starts at a sequence number of 1 or more, not {replay.FromSequenceNr}" : null)
                      ?? InputRules.SubscriberProblem(replay.Subscriber);
        return problem is null ? null : new ChannelRejected(replay.Channel ?? string.Empty, problem);
    }

    /// <summary>
    /// A durable subscribe's names, subscriber and limits (SPEC §2.6: each at least 1); the filter's grammar and the
    /// channel's kind are checked by the bus.
    /// </summary>
    public static ChannelRejected? SubscribeDurable(SubscribeDurable subscribe)
    {
        var options = subscribe.Options;
        var problem = InputRules.ChannelName.Problem(subscribe.Channel)
                      ?? InputRules.DurableConsumerName.Problem(subscribe.Consumer)
                      ?? InputRules.SubscriberProblem(subscribe.Subscriber)
                      ?? (options is null ? "consumer options are missing" : null)
                      ?? (options!.MaxAckPending is < 1 or > MaxAckPendingLimit ? $"max ack pending {options.MaxAckPending} must be 1 to {MaxAckPendingLimit}" : null)
                      ?? (options.AckWait < TimeSpan.FromMilliseconds(1) || options.AckWait > TimeSpan.FromDays(1) ? $"ack wait {options.AckWait} must be 1 ms to 1 day" : null)
                      ?? (options.MaxDeliver < 1 ? $"max deliver {options.MaxDeliver} must be at least 1" : null)
                      ?? (options.DeliverFrom switch
                      {
                          null => "deliver-from is missing",
                          DeliverFrom.Sequence { SequenceNr: < 1 } sequence => $"deliver-from sequence number {sequence.SequenceNr} must be at least 1",
                          _ => null,
                      })
                      ?? (options.Filter is { } filter ? InputRules.TermReason.Problem(filter) : null)
                      ?? (options.DeadLetterChannel is { } deadLetters ? InputRules.ChannelName.Problem(deadLetters) : null);
        return problem is null ? null : new ChannelRejected(subscribe.Channel ?? string.Empty, problem);
    }

    /// <summary>The most messages a durable consumer may have out per partition (its bodies are held in memory).</summary>
    public const int MaxAckPendingLimit = 100_000;

    /// <summary>The names and position of an <see cref="Ack"/>, <see cref="Nak"/> or <see cref="Term"/>, a Nak's delay, a Term's reason.</summary>
    public static AckRejected? Settlement(IConsumerSettlement settlement)
    {
        var problem = InputRules.ChannelName.Problem(settlement.Channel)
                      ?? InputRules.DurableConsumerName.Problem(settlement.Consumer)
                      ?? (settlement.Partition < 0 ? $"partition {settlement.Partition} is negative" : null)
                      ?? (settlement.SequenceNr < 1 ? $"sequence number {settlement.SequenceNr} must be at least 1" : null)
                      ?? settlement switch
                      {
                          Nak { Delay: { } delay } when delay < TimeSpan.Zero => $"delay {delay} is negative",
                          Term term => InputRules.TermReason.Problem(term.Reason ?? string.Empty),
                          _ => null,
                      };
        return problem is null ? null : AckRejected.For(settlement, problem);
    }

    private static ChannelRejected? ConsumerNamed(string? channel, string? consumer)
    {
        var problem = InputRules.ChannelName.Problem(channel) ?? InputRules.DurableConsumerName.Problem(consumer);
        return problem is null ? null : new ChannelRejected(channel ?? string.Empty, problem);
    }
}
