using System.Text.Json.Serialization;
using Akka.Actor;
using Liminal.Actors.Dedup;

namespace Liminal.Actors.Channels;

/// <summary>Adds a channel at run time.</summary>
public sealed record CreateChannel(ChannelDefinition Definition) : ILiminalMessage;

public sealed record ChannelCreated(string Channel) : ILiminalMessage;

/// <summary>Asks the registry which channels exist.</summary>
public sealed record GetChannels : ILiminalMessage
{
    public static GetChannels Instance { get; } = new();
}

public sealed record ChannelList(string[] Names) : ILiminalMessage
{
    public bool Equals(ChannelList? other) => other is not null && Names.SequenceEqual(other.Names);

    public override int GetHashCode() => Names.Length;
}

/// <summary>A channel request was refused (duplicate or empty name, unreadable schema, partitions &lt; 1, unknown channel).</summary>
public sealed record ChannelRejected(string Channel, string Reason) : ILiminalMessage;

/// <summary>Where a message comes from in a conversation: what it correlates with and what caused it.</summary>
public sealed record CausalContext(string? CorrelationId, string? CausationId);

/// <summary>
/// A published message: JSON payload bytes, who published it, optionally its causal context and its headers (SPEC §2.5:
/// string to string, e.g. the W3C <c>traceparent</c>), stored and delivered with it. Headers are limited by
/// <see cref="Validation.InputRules.MaxHeaders"/> and <see cref="Validation.InputRules.MaxHeadersBytes"/>.
/// </summary>
public sealed record MessageEnvelope(
    byte[] Payload,
    string PublisherId,
    CausalContext? Causal = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyDictionary<string, string>? Headers = null)
{
    public bool Equals(MessageEnvelope? other) =>
        other is not null && PublisherId == other.PublisherId && Equals(Causal, other.Causal)
        && Payload.AsSpan().SequenceEqual(other.Payload) && SameHeaders(Headers, other.Headers);

    public override int GetHashCode() => HashCode.Combine(PublisherId, Causal, Payload.Length, Headers?.Count ?? 0);

    // Left out of the JSON when null: an envelope without headers is the bytes it was before headers existed.
    // No headers and an empty set are the same: the journal and the wire keep only what is there.
    private static bool SameHeaders(IReadOnlyDictionary<string, string>? a, IReadOnlyDictionary<string, string>? b) =>
        (a?.Count ?? 0) == (b?.Count ?? 0)
        && (a is null || a.All(header => b!.TryGetValue(header.Key, out var value) && value == header.Value));
}

/// <summary>Publishes to a channel; with a key, at most once per key.</summary>
public sealed record Publish(string Channel, MessageEnvelope Envelope, string? IdempotencyKey = null) : ILiminalMessage
{
    /// <summary>Chooses the partition by a stable hash; null means partition 0.</summary>
    public string? PartitionKey { get; init; }
}

/// <summary>
/// The publish was handled. <c>Delivered</c> is true iff at least one subscriber was handed the message,
/// <c>DeliveredCount</c> how many. A duplicate key answers with <c>Duplicate</c> and the stored receipt (or
/// <c>InFlight</c> while the first publish of the key is still under way) and is never delivered.
/// </summary>
public sealed record PublishAck(
    string Channel,
    int Partition,
    long? SequenceNr,
    bool Delivered,
    int DeliveredCount,
    bool Duplicate,
    bool InFlight,
    ProcessingReceipt? Receipt) : ILiminalMessage;

/// <summary>Why a publish was refused. New members are only ever appended: the wire carries them as numbers.</summary>
public enum PublishFailure
{
    UnknownChannel,
    SchemaMismatch,
    InvalidKey,
    PersistFailed,
    DeliveryFailed,
    Overloaded,
    /// <summary>The bus is draining for shutdown and takes no new publishes.</summary>
    ShuttingDown,
    /// <summary>The payload is larger than <c>liminal.max-payload-bytes</c>. (The wire carries enums as numbers: append only.)</summary>
    PayloadTooLarge,
}

/// <summary>Stops taking publishes (they get <see cref="PublishFailure.ShuttingDown"/>); answered with <see cref="Drained"/> once every publish in flight has finished.</summary>
public sealed record DrainPublishes : ILiminalMessage
{
    public static DrainPublishes Instance { get; } = new();
}

public sealed record Drained : ILiminalMessage
{
    public static Drained Instance { get; } = new();
}

/// <summary>A typed refusal of a publish; nothing was claimed or persisted for it (or the claim was released).</summary>
public sealed record PublishRejected(string Channel, PublishFailure Reason, string Detail) : ILiminalMessage;

/// <summary>
/// Subscribes an actor. By default every message is told to it at once. With <c>MaxUnacknowledged</c> set, the
/// subscriber gets at most that many messages it has not yet answered with <see cref="DeliveryAck"/> (sent to the
/// <c>Sender</c> of the <see cref="Delivery"/>); up to <c>BufferSize</c> more wait for it, and beyond that the
/// oldest waiting ones are dropped and the subscriber is told which (<see cref="DeliveriesDropped"/>), so a durable
/// channel's subscriber can replay them. A slow subscriber thus never stalls the others or grows memory unbounded.
/// </summary>
public sealed record Subscribe(string Channel, IActorRef Subscriber) : ILiminalMessage
{
    public int? MaxUnacknowledged { get; init; }

    public int BufferSize { get; init; } = 10_000;
}

/// <summary>A bounded subscriber has handled a delivery and can take the next.</summary>
public sealed record DeliveryAck : ILiminalMessage
{
    public static DeliveryAck Instance { get; } = new();
}

/// <summary>Messages a bounded subscriber fell too far behind to receive; replay them from the channel if needed.</summary>
public sealed record DeliveriesDropped(string Channel, int Partition, long? FromSequenceNr, long? ToSequenceNr, int Count) : ILiminalMessage;

public sealed record Subscribed(string Channel) : ILiminalMessage;

public sealed record Unsubscribe(string Channel, IActorRef Subscriber) : ILiminalMessage;

public sealed record Unsubscribed(string Channel) : ILiminalMessage;

/// <summary>What a subscriber receives; <c>SequenceNr</c> is the partition position on a durable channel, null on an ephemeral one.</summary>
/// <remarks>
/// From a durable consumer (<see cref="SubscribeDurable"/>) it also names the <c>Consumer</c> and the delivery
/// <c>Attempt</c> (1 the first time); answer it with <see cref="Ack"/>, <see cref="Nak"/> or <see cref="Term"/>.
/// Neither is on the wire when it has its default, so a plain delivery is the bytes it always was.
/// </remarks>
public sealed record Delivery(string Channel, int Partition, long? SequenceNr, MessageEnvelope Envelope) : ILiminalMessage
{
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Consumer { get; init; }

    [JsonIgnore]
    public int Attempt { get; init; } = 1;

    [JsonInclude]
    [JsonPropertyName("attempt")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    private int? WireAttempt
    {
        get => Attempt == 1 ? null : Attempt;
        init => Attempt = value ?? 1;
    }
}

/// <summary>
/// Streams a durable partition's stored messages from <c>FromSequenceNr</c> (1 or more) to <c>Subscriber</c>, then
/// <see cref="ReplayCompleted"/> (or <see cref="ChannelRejected"/> if reading the journal fails), both to the subscriber.
/// A malformed replay (ephemeral channel, no such partition, <c>FromSequenceNr</c> &lt; 1, no live subscriber) is
/// answered with <see cref="ChannelRejected"/> to its sender.
/// </summary>
public sealed record Replay(string Channel, int Partition, long FromSequenceNr, IActorRef Subscriber) : ILiminalMessage;

/// <summary>
/// A replay is over. <c>LastSequenceNr</c> is the partition's highest stored sequence number when the replay read
/// it (0 for an empty partition): the replay sent every message stored from <c>FromSequenceNr</c> up to it, none when it
/// is below <c>FromSequenceNr</c>. It is never above what is stored, so a consumer that continues after it skips nothing;
/// messages stored after it come live (or by the next replay).
/// </summary>
public sealed record ReplayCompleted(string Channel, int Partition, long LastSequenceNr) : ILiminalMessage;
