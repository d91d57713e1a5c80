using System.Text.Json.Serialization;
using Liminal.Actors.Persistence;

namespace Liminal.Actors.Channels;

/// <summary>A message stored in a durable channel partition; its sequence number is its position.</summary>
public sealed record MessageAppended(byte[] Payload, string PublisherId, string? CorrelationId, string? CausationId) : ILiminalEvent
{
    /// <summary>The publish's idempotency key: the partition's key window is rebuilt from the log by it.</summary>
    public string? IdempotencyKey { get; init; }

    /// <summary>When the partition stored it (Unix ms); null in messages written before the window existed.</summary>
    public long? StoredAtMillis { get; init; }

    /// <summary>The envelope's headers (e.g. <c>traceparent</c>); null in messages without any, and in those written before headers existed.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyDictionary<string, string>? Headers { get; init; }

    public static MessageAppended From(MessageEnvelope envelope, string? idempotencyKey, long storedAtMillis) =>
        new(envelope.Payload, envelope.PublisherId, envelope.Causal?.CorrelationId, envelope.Causal?.CausationId)
        {
            IdempotencyKey = idempotencyKey,
            StoredAtMillis = storedAtMillis,
            Headers = envelope.Headers is { Count: > 0 } headers ? headers : null,
        };

    public MessageEnvelope ToEnvelope() =>
        new(Payload, PublisherId, CorrelationId is null && CausationId is null ? null : new CausalContext(CorrelationId, CausationId), Headers);
}

/// <summary>
/// A partition's key window, oldest first, as parallel columns (the messages themselves are the log, never in a
/// snapshot). Recovery loads it and replays the messages stored after it.
/// </summary>
public sealed record ChannelPartitionSnapshot(string[] Keys, long[] SequenceNrs, long[] StoredAtMillis) : ILiminalSnapshot
{
    /// <summary>Those of <c>Keys</c> first stored here by a version before the window, routed here still (see <see cref="LegacyKeysRecovered"/>).</summary>
    public string[]? LegacyKeys { get; init; }
}
