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

    /// <summary>Every message below it was deleted when the snapshot was taken; null in snapshots of partitions that never deleted and have no limits.</summary>
    public long? FirstRetained { get; init; }

    /// <summary>The retention age index (<see cref="PartitionRetention"/>): per segment its last sequence number; null without <c>MaxAge</c>.</summary>
    public long[]? AgeSequenceNrs { get; init; }

    /// <summary>Per age segment, the newest store time (Unix ms) of its messages.</summary>
    public long[]? AgeStoredAtMillis { get; init; }
}
